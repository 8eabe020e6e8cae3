//! Tally's server: it remembers (database) and talks to the world (HTTP, later email and the
//! payment gateway). `main.rs` only loads settings and calls [`run`]; tests call
//! [`build_router`] on a state of their own.

pub mod admins;
pub mod audit;
pub mod audit_log;
pub mod auth;
pub mod billing;
pub mod clock;
pub mod commands;
pub mod config;
pub mod crypto;
pub mod db;
pub mod demo;
pub mod gateway;
pub mod http;
pub mod invoices;
pub mod invoicing;
pub mod mail;
pub mod middleware;
pub mod outbox;
pub mod services;
pub mod telemetry;
pub mod users;

use std::net::SocketAddr;

pub use config::Settings;
pub use http::{build_router, AppState};

/// Why the server could not start; `main` prints it as one line and exits non-zero.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("configuration: {0}")]
    Config(#[from] config::ConfigError),
    #[error("database: {0}")]
    Database(#[from] db::DbError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("server: {0}")]
    Serve(std::io::Error),
    #[error("mail: {0}")]
    Mail(#[from] mail::MailError),
}

/// Connects, migrates, serves until SIGINT/SIGTERM, then drains in-flight requests. With
/// `demo`, an empty database is first seeded with a demo account.
pub async fn run(settings: Settings, demo: bool) -> Result<(), StartError> {
    let db = db::Database::connect(&settings.database_url).await?;
    db.migrate().await?;
    if demo {
        match demo::seed(&db, &clock::SystemClock)
            .await
            .map_err(db::DbError::Query)?
        {
            Some(logins) => {
                println!(
                    "Demo account seeded. Sign in at {}/login with any of:",
                    settings.public_url
                );
                for (role, email) in &logins.admins {
                    println!("  {email:<44} {}", role.display_name());
                }
                println!("Password for all of them: {}", logins.password);
            }
            None => println!("--demo: the database already has an account; nothing was seeded."),
        }
    }
    let state = AppState::new(
        settings.clone(),
        db,
        std::sync::Arc::new(clock::SystemClock),
        mail::Mailer::from_settings(&settings)?,
    );
    let router = build_router(state.clone());
    if settings.billing_scheduler {
        tokio::spawn(billing_scheduler(state.invoicing.clone()));
    }
    tokio::spawn(mail_worker(state.outbox.clone()));
    let listener = tokio::net::TcpListener::bind(settings.listen_addr)
        .await
        .map_err(|source| StartError::Bind {
            addr: settings.listen_addr,
            source,
        })?;
    let local = listener.local_addr().map_err(StartError::Serve)?;
    tracing::info!(addr = %local, database = state.db.backend().display_name(), "listening");
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .map_err(StartError::Serve)?;
    state.db.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Invoices every account for the previous month once a month has ended (catching up on any
/// month missed while no server ran), and retries failed charges when due. Checks every ten
/// minutes; each check is cheap when there is nothing to do.
async fn billing_scheduler(invoicing: invoicing::Invoicing) {
    every(600, "billing scheduler", move || {
        let invoicing = invoicing.clone();
        async move { invoicing.tick().await }
    })
    .await
}

/// Delivers queued mail whose earlier delivery failed, when its retry is due.
async fn mail_worker(outbox: outbox::Outbox) {
    every(30, "mail outbox worker", move || {
        let outbox = outbox.clone();
        async move { outbox.deliver_due().await }
    })
    .await
}

/// Runs `task` every `seconds`, forever, logging its failures under `what`.
async fn every<F, Fut, T, E>(seconds: u64, what: &'static str, task: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
    E: std::fmt::Display,
{
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(seconds));
    loop {
        tick.tick().await;
        if let Err(e) = task().await {
            tracing::error!(error = %e, "{what}");
        }
    }
}

/// `tally bill --month YYYY-MM`: the same run the scheduler makes, for one month, then exit.
pub async fn bill(
    settings: Settings,
    month: tally_core::billing::BillingMonth,
) -> Result<invoicing::RunReport, String> {
    let db = db::Database::connect(&settings.database_url)
        .await
        .map_err(|e| e.to_string())?;
    db.migrate().await.map_err(|e| e.to_string())?;
    let mailer = mail::Mailer::from_settings(&settings).map_err(|e| e.to_string())?;
    let state = AppState::new(
        settings,
        db,
        std::sync::Arc::new(clock::SystemClock),
        mailer,
    );
    let report = state
        .invoicing
        .run_month(month)
        .await
        .map_err(|e| e.to_string())?;
    state.db.close().await;
    Ok(report)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received; finishing in-flight requests");
}
