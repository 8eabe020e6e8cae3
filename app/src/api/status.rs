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
