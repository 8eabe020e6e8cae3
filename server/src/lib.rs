//! Tally's server: it remembers (the database) and talks to the world (HTTP, email, the
//! payment gateway). `main.rs` parses the command line and calls [`run`] or [`bill`]; tests
//! call [`build_router`] on a state of their own. docs/architecture.md walks through it.

// Who asks, what they share, what can fail.
pub mod actor;
pub mod context;
pub mod error;

// Plumbing: configuration, storage, time, ids, passwords, mail, the processor, HTTP.
pub mod clock;
pub mod config;
pub mod crypto;
pub mod db;
pub mod emails;
pub mod gateway;
pub mod http;
pub mod mail;
pub mod metrics;
pub mod outbox;
pub mod passwords;
pub mod ports;
pub mod secrets;
pub mod stripe;
pub mod telemetry;
pub mod throttle;
pub mod two_step;

// The services, one per area of the product.
pub mod accounts;
pub mod admins;
pub mod audit;
pub mod auth;
pub mod backup;
pub mod billing_info;
pub mod check;
pub mod commands;
pub mod payment_method;
pub mod profile;
pub mod users;

// Invoices and the monthly billing.
pub mod billing_run;
pub mod card_expiry;
pub mod charges;
pub mod charts;
pub mod invoice_pdf;
pub mod invoices;
pub mod scheduler;

pub mod demo;

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
    #[error("{0}")]
    Service(#[from] error::ServiceError),
    #[error("secret key: {0}")]
    Keys(#[from] secrets::KeyError),
    #[error("data folder: {0}")]
    Folder(#[from] backup::BackupError),
}

/// Connects, migrates, and builds the state every command runs on.
async fn start(settings: Settings) -> Result<AppState, StartError> {
    let db = db::Database::connect(&settings.database_url).await?;
    db.migrate().await?;
    let keys = secrets::load_for(&settings, &db).await?;
    let mailer = mail::Mailer::from_settings(&settings)?;
    Ok(AppState::new(
        settings,
        db,
        std::sync::Arc::new(clock::SystemClock),
        mailer,
        keys,
    ))
}

/// Serves until SIGINT/SIGTERM, then drains in-flight requests. With `demo`, an empty
/// database is first seeded with a demo account.
pub async fn run(settings: Settings, demo: bool) -> Result<(), StartError> {
    // Held until the process ends: `tally restore` waits for no one to hold it.
    let _folder = backup::hold_data_folder(&settings.data_dir)?;
    let state = start(settings).await?;
    let ctx = state.ctx.clone();
    if demo {
        match demo::seed(&ctx.db, &clock::SystemClock)
            .await
            .map_err(db::DbError::Query)?
        {
            Some(logins) => {
                println!(
                    "Demo account seeded. Sign in at {}/login with any of:",
                    ctx.settings.public_url
                );
                for (role, email) in &logins.admins {
                    println!("  {email:<44} {}", role.display_name());
                }
                println!("Password for all of them: {}", logins.password);
            }
            None => println!("--demo: the database already has an account; nothing was seeded."),
        }
    }
    let accounts = accounts::Accounts::new(ctx.clone(), auth::Auth::new(ctx.clone()));
    if let Some(code) = accounts.prepare_setup_code().await? {
        // At warn level, so it shows however quiet the log is set.
        tracing::warn!(
            "Tally is not set up yet: open {}/setup and enter the set-up code {code} (also in {})",
            ctx.settings.public_url,
            ctx.settings
                .data_dir
                .join(accounts::SETUP_CODE_FILE)
                .display()
        );
    }
    let router = build_router(state.clone());
    if ctx.settings.billing_scheduler {
        tokio::spawn(scheduler::billing_loop(state.scheduler.clone()));
    }
    tokio::spawn(scheduler::mail_loop(ctx.outbox.clone()));
    tokio::spawn(backup::daily_loop(ctx.settings.as_ref().clone()));
    let addr = ctx.settings.listen_addr;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Bind { addr, source })?;
    let local = listener.local_addr().map_err(StartError::Serve)?;
    tracing::info!(addr = %local, database = ctx.db.backend().display_name(), "listening");
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .map_err(StartError::Serve)?;
    ctx.db.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// `tally rotate-secret`: a new secret key, and the database's keys sealed again under it.
/// With the key file, the file is replaced; with `TALLY_SECRET_KEY`, the new key is returned
/// for the operator to set (the old one no longer opens the database).
pub async fn rotate_secret(settings: Settings) -> Result<secrets::Rotated, StartError> {
    let _folder = backup::hold_data_folder(&settings.data_dir)?;
    let db = db::Database::connect(&settings.database_url).await?;
    db.migrate().await?;
    let rotated = secrets::rotate_configured(&settings, &db).await?;
    db.close().await;
    Ok(rotated)
}

/// `tally bill --month YYYY-MM`: the same run the scheduler makes, for one month.
pub async fn bill(
    settings: Settings,
    month: tally_core::billing::BillingMonth,
) -> Result<billing_run::RunReport, StartError> {
    let _folder = backup::hold_data_folder(&settings.data_dir)?;
    let state = start(settings).await?;
    let report = state.billing_run.run_month(month).await?;
    state.ctx.db.close().await;
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
