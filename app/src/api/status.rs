//! The start page's status, and the Overview's System section.

use leptos::prelude::*;
use tally_core::views::system::{ServerStatus, SystemStatus};

#[cfg(feature = "ssr")]
use crate::auth::{require, services};
use crate::error::AppError;

/// Reads the version and checks the database. Public: reveals no account data.
#[server(endpoint = "status/get")]
pub async fn get_server_status() -> Result<ServerStatus, AppError> {
    let database = services()?.status.database().await?;
    Ok(ServerStatus {
        version: env!("CARGO_PKG_VERSION").to_string(),
        database: database.to_string(),
    })
}

/// The System section's facts. Requires: Administrator With Billing.
#[server(endpoint = "status/system")]
pub async fn get_system_status() -> Result<SystemStatus, AppError> {
    require(tally_core::roles::Action::ViewSystem)?;
    Ok(services()?.status.system())
}
