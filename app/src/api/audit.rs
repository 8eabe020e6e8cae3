//! The Audit log page's server function (View the audit log).

use leptos::prelude::*;
#[cfg(feature = "ssr")]
use tally_core::roles::Action;
use tally_core::views::account::{AuditFilter, AuditPage};

#[cfg(feature = "ssr")]
use crate::auth::{require, services};
use crate::error::AppError;

/// The caller's account's audit events matching `filter`, newest first.
#[server(endpoint = "audit/list")]
pub async fn list_audit_events(filter: AuditFilter) -> Result<AuditPage, AppError> {
    let actor = require(Action::ViewAuditLog)?;
    Ok(services()?.audit.list(&actor, &filter).await?)
}
