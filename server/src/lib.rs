//! Tally's server: HTTP (the router, its middleware, the visitor's plain pages, the
//! processor's webhooks, the sandbox processor's API, the invoice PDF) and the command line.
//! Everything else is the services' (`tally-services`). `main.rs` parses the command line
//! and calls [`run`], [`bill`] or the [`cli`] commands; tests call [`build_router`] on a state
//! of their own. docs/architecture.md walks through it.

pub mod cli;
pub mod http;

use std::{net::SocketAddr, sync::Arc};

pub use http::{build_router, AppState};
use tally_services::{
    platform::{
        backup, clock,
        config::Settings,
        context::Context,
        db,
        error::ServiceError,
        mail::{self, Mailer},
        secrets,
    },
    Services,
};

/// Why the server could not start; `main` prints it as one line and exits non-zero.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
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
    Service(#[from] ServiceError),
    #[error("secret key: {0}")]
    Keys(#[from] secrets::KeyError),
    #[error("data folder: {0}")]
    Folder(#[from] backup::BackupError),
}

/// Connects, migrates, loads the keys and wires the services every command runs on.
async fn start(settings: Settings) -> Result<Services, StartError> {
    // A data folder made by an older Tally, or copied in, becomes private like a new one.
    for dir in [&settings.data_dir, &settings.backup_dir] {
        match tally_services::platform::files::make_private(dir) {
            Ok(0) => {}
            Ok(n) => {
                tracing::warn!(folder = %dir.display(), changed = n, "made files in the data folder readable by this account only")
            }
            Err(e) => {
                tracing::warn!(folder = %dir.display(), error = %e, "could not make the data folder private")
            }
        }
    }
    let db = db::Database::connect(&settings.database_url).await?;
    db.migrate().await?;
    let keys = secrets::load_for(&settings, &db).await?;
    let mailer = Mailer::from_settings(&settings)?;
    let ctx = Context::build(settings, db, Arc::new(clock::SystemClock), mailer, keys);
    let services = Services::new(ctx);
    // Invoices name their issuer as the seller's details say: given once to a database from
    // before billing kept that copy (set-up and the settings keep it current).
    tally_services::seller::profile::publish_issuer(services.ctx.db.pool(), services.ctx.now())
        .await?;
    // Secrets an earlier version sealed bound to no row are bound to theirs, once.
    let bound = services.two_step.bind_unbound_secrets().await?;
    if bound > 0 {
        tracing::info!(
            secrets = bound,
            "authenticator secrets sealed again, each for its row"
        );
    }
    Ok(services)
}

/// Serves until SIGINT/SIGTERM, then drains in-flight requests. With `demo`, an empty
/// database is first seeded with a demo account.
pub async fn run(settings: Settings, demo: bool) -> Result<(), StartError> {
    // Held until the process ends: `tally restore` waits for no one to hold it.
    let _folder = backup::hold_data_folder(&settings.data_dir)?;
    let services = start(settings).await?;
    let ctx = services.ctx.clone();
    if demo {
        match cli::demo::seed(&services).await? {
            Some(logins) => {
                println!(
                    "Demo account seeded. Sign in at {}/login with any of:",
                    ctx.settings.public_url
                );
                for (role, email) in &logins.admins {
                    println!("  {email:<44} {}", role.display_name());
                }
                println!(
                    "The seller's operators sign in at {}/operator/login (each sets up two-step verification first):",
                    ctx.settings.public_url
                );
                for (role, email) in &logins.operators {
                    println!("  {email:<44} {}", role.display_name());
                }
                println!("Password for all of them: {}", logins.password);
            }
            None => println!(
                "--demo: Tally is already set up (a seller or an account exists); nothing was seeded."
            ),
        }
    }
    if let Some(code) = services.setup.prepare_setup_code().await? {
        // At warn level, so it shows however quiet the log is set.
        tracing::warn!(
            "Tally is not set up yet: open {}/setup and enter the set-up code {code} (also in {})",
            ctx.settings.public_url,
            ctx.settings
                .data_dir
                .join(tally_services::seller::setup::SETUP_CODE_FILE)
                .display()
        );
    }
    let router = build_router(AppState::new(services.clone()));
    let scheduler = ctx
        .settings
        .billing_scheduler
        .then(|| tokio::spawn(services.scheduler.clone().work()));
    let mail_worker = tokio::spawn(ctx.outbox.clone().work());
    tokio::spawn(services.webhooks.deliverer().work());
    if ctx.settings.billing_scheduler {
        tokio::spawn(services.spend_alerts.clone().work());
    }
    tokio::spawn(backup::daily_loop(ctx.clone()));
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
    // Nothing delivers any more; the messages this process had claimed go back to the queue
    // at once (another server, or the next start, sends them).
    for task in scheduler.into_iter().chain([mail_worker]) {
        task.abort();
        let _ = task.await;
    }
    match ctx.outbox.release_claims().await {
        Ok(0) => {}
        Ok(n) => tracing::info!(messages = n, "mail claims given back"),
        Err(e) => tracing::error!(error = %e, "giving back mail claims"),
    }
    ctx.db.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// `tally rotate-secret`: a new secret key, and the database's keys sealed again under it.
/// With the key file, the file is replaced; with `TALLY_SECRET_KEY`, the new key is returned
/// for the operator to set (the old one no longer opens the database).
///
/// With `data_key` (`--data-key`), first a new data key too, and everything the old one
/// sealed (the authenticator apps' secrets) sealed again under it, in one transaction; the
/// number sealed again is returned. Servers running with the old data key must restart.
pub async fn rotate_secret(
    settings: Settings,
    data_key: bool,
) -> Result<(secrets::Rotated, Option<u64>), StartError> {
    let _folder = backup::hold_data_folder(&settings.data_dir)?;
    let db = db::Database::connect(&settings.database_url).await?;
    db.migrate().await?;
    let resealed = if data_key {
        let keys = secrets::load_for(&settings, &db).await?;
        let mut tx = db.pool().begin().await.map_err(secrets::KeyError::from)?;
        let new = secrets::replace_data_key(&mut tx, &keys).await?;
        let n = tally_services::identity::two_step::reseal_app_secrets(
            &mut tx,
            keys.data(),
            &new,
            false,
        )
        .await?;
        tx.commit().await.map_err(secrets::KeyError::from)?;
        Some(n)
    } else {
        None
    };
    let rotated = secrets::rotate_configured(&settings, &db).await?;
    db.close().await;
    Ok((rotated, resealed))
}

/// `tally bill --month YYYY-MM`: the same run the scheduler makes, for one month.
pub async fn bill(
    settings: Settings,
    month: tally_core::billing::BillingMonth,
) -> Result<tally_services::billing::invoices::run::RunReport, StartError> {
    let _folder = backup::hold_data_folder(&settings.data_dir)?;
    let services = start(settings).await?;
    let report = services.billing_run.run_month(month).await?;
    services.ctx.db.close().await;
    Ok(report)
}

/// `tally api-key`: makes an API key from the command line (whoever runs it on the server is
/// trusted as the seller's Owner), audited as made by the command line. The whole key.
pub async fn make_api_key(
    settings: Settings,
    name: String,
    scopes: Vec<String>,
) -> Result<Result<String, tally_core::forms::FieldErrors>, StartError> {
    let _folder = backup::hold_data_folder(&settings.data_dir)?;
    let services = start(settings).await?;
    let now = services.ctx.now();
    let command_line = tally_core::actor::OperatorActor {
        id: "command-line".into(),
        email: "the command line".into(),
        first_name: "The".into(),
        last_name: "command line".into(),
        role: tally_core::operators::OperatorRole::Owner,
        must_set_up_two_step: false,
        ip: None,
        verified_at: now,
        session: String::new(),
    };
    let input = tally_core::api_keys::NewApiKeyInput { name, scopes };
    let made = match services.api_keys.create(&command_line, &input).await {
        Ok(made) => Ok(made.key),
        Err(tally_services::platform::error::ServiceError::Invalid(errors)) => Err(errors),
        Err(e) => return Err(e.into()),
    };
    services.ctx.db.close().await;
    Ok(made)
}

/// Makes a SCIM token for the customer account `account_id` and returns it (shown this once),
/// as one of its administrators does on its Users page.
pub async fn make_scim_token(settings: Settings, account_id: String) -> Result<String, StartError> {
    let _folder = backup::hold_data_folder(&settings.data_dir)?;
    let services = start(settings).await?;
    let made = async {
        let actor = services.scim.command_line(&account_id).await?;
        services.scim.create_token(&actor).await
    }
    .await;
    services.ctx.db.close().await;
    Ok(made?.token)
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
