//! Public status of the server, shown on the start page.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// What the start page shows about the running server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerStatus {
    pub version: String,
    /// "SQLite" or "PostgreSQL".
    pub database: String,
}

/// Reads the version and checks the database. Public: reveals no account data.
#[server(endpoint = "status/get")]
pub async fn get_server_status() -> Result<ServerStatus, AppError> {
    let services = crate::ports::services()?;
    let database = services.status.database().await?;
    Ok(ServerStatus {
        version: env!("CARGO_PKG_VERSION").to_string(),
        database,
    })
}

/// The System section: what keeps the data safe. Nothing in it names an account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemStatus {
    /// "SQLite" or "PostgreSQL".
    pub database: String,
    /// Whether Tally takes the daily backups itself (the embedded database); on PostgreSQL
    /// they are the operator's, with pg_dump.
    pub daily_backups: bool,
    /// How many daily backups are kept (0: daily backups are off).
    pub keep: u32,
    /// The daily backups there are, newest first.
    pub backups: Vec<BackupEntry>,
}

/// One daily backup.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupEntry {
    /// `YYYY-MM-DD`, the day it was taken (UTC).
    pub day: String,
    pub bytes: u64,
}

/// The System section's facts. Requires: Administrator With Billing.
#[server(endpoint = "status/system")]
pub async fn get_system_status() -> Result<SystemStatus, AppError> {
    let actor = crate::auth::require(tally_core::roles::Action::ViewSystem)?;
    crate::ports::services()?.status.system(&actor).await
}
