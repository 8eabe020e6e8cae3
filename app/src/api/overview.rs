//! The Overview: the account at a glance, each part only for roles that may see it.

use leptos::prelude::*;
use tally_core::views::overview::AccountGlance;

use crate::error::AppError;

/// The caller's account at a glance.
#[server(endpoint = "overview")]
pub async fn get_account_glance() -> Result<AccountGlance, AppError> {
    use tally_core::{
        roles::Action,
        views::{
            account::AuditFilter,
            overview::{LATEST_EVENTS, OVERVIEW_INVITATIONS},
        },
    };
    let actor = crate::auth::require_signed_in()?;
    let services = crate::auth::services()?;
    let may = |a: Action| actor.may(a);
    let users = if may(Action::ViewUsers) {
        Some(services.users.list(&actor, "", 1).await?.total)
    } else {
        None
    };
    let billing = if may(Action::ViewBilling) {
        Some(services.invoices.overview(&actor).await?)
    } else {
        None
    };
    // The oldest few by name and the rest counted: an account with hundreds waiting would
    // otherwise send them all with every Overview.
    let (invitations, invitations_waiting) = if may(Action::ViewAdministrators) {
        let mut all = services.administrators.pending_invitations(&actor).await?;
        let waiting = all.len() as u64;
        all.truncate(OVERVIEW_INVITATIONS);
        (Some(all), Some(waiting))
    } else {
        (None, None)
    };
    let latest_events = if may(Action::ViewAuditLog) {
        let filter = AuditFilter {
            page: 1,
            ..AuditFilter::default()
        };
        let mut page = services.audit.list(&actor, &filter).await?;
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
    let system = may(Action::ViewSystem).then(|| services.status.system());
    Ok(AccountGlance {
        users,
        billing,
        invitations,
        invitations_waiting,
        latest_events,
        runnable_commands,
        system,
    })
}
