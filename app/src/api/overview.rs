//! The Overview: the account at a glance, each part only for roles that may see it.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{
    api::{account::AuditEntry, invoices::BillingOverview},
    error::AppError,
};

/// An administrator invited and not signed in yet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingInvitation {
    pub name: String,
    pub email: String,
    pub role: tally_core::roles::Role,
    /// The newest link still works.
    pub link_valid: bool,
}

/// What the Overview shows; a part the caller's role may not see is `None`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountGlance {
    /// Users now, active and suspended (View users).
    pub users: Option<u64>,
    /// This month, the card, the billing contact (View billing): the Billing page's figures.
    pub billing: Option<BillingOverview>,
    /// Invitations not accepted yet (View administrators).
    pub invitations: Option<Vec<PendingInvitation>>,
    /// The five latest audit events (View the audit log).
    pub latest_events: Option<Vec<AuditEntry>>,
    /// Commands the caller may run (Run bound commands), when they cannot see them all.
    pub runnable_commands: Option<usize>,
    /// The database and its daily backups (the System section).
    pub system: Option<crate::api::status::SystemStatus>,
}

/// Events the Overview lists.
pub const LATEST_EVENTS: usize = 5;

/// The caller's account at a glance.
#[server(endpoint = "overview")]
pub async fn get_account_glance() -> Result<AccountGlance, AppError> {
    use tally_core::roles::Action;
    let actor = crate::auth::require_signed_in()?;
    let services = crate::ports::services()?;
    let may = |a: Action| actor.admin.may(a);
    let users = if may(Action::ViewUsers) {
        Some(services.users.list(&actor, String::new(), 1).await?.total)
    } else {
        None
    };
    let billing = if may(Action::ViewBilling) {
        Some(services.invoices.overview(&actor).await?)
    } else {
        None
    };
    let invitations = if may(Action::ViewAdministrators) {
        Some(services.admins.invitations(&actor).await?)
    } else {
        None
    };
    let latest_events = if may(Action::ViewAuditLog) {
        let filter = crate::api::account::AuditFilter {
            kind: String::new(),
            actor: String::new(),
            from: String::new(),
            to: String::new(),
            page: 1,
        };
        let mut page = services.audit.list(&actor, filter).await?;
        page.entries.truncate(LATEST_EVENTS);
        Some(page.entries)
    } else {
        None
    };
    let runnable_commands = if may(Action::RunBoundCommands) && !may(Action::ManageCommands) {
        Some(services.commands.list(&actor).await?.commands.len())
    } else {
        None
    };
    let system = if may(Action::ViewSystem) {
        Some(services.status.system(&actor).await?)
    } else {
        None
    };
    Ok(AccountGlance {
        users,
        billing,
        invitations,
        latest_events,
        runnable_commands,
        system,
    })
}
