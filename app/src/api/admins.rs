//! Administrators of the caller's account.

use leptos::prelude::*;
#[cfg(feature = "ssr")]
use tally_core::{forms::NewAdminInput, roles::Action};

use crate::error::AppError;

/// "+ Create Admin": an invited administrator who gets an email with a link to set a
/// password. Requires Manage administrators. Returns the new administrator's id.
#[server(endpoint = "admins/create")]
pub async fn create_admin(
    first_name: String,
    last_name: String,
    email: String,
    role: String,
) -> Result<String, AppError> {
    let actor = crate::auth::require(Action::ManageAdministrators)?;
    let new = match (NewAdminInput {
        first_name,
        last_name,
        email,
        role,
    })
    .parse()
    {
        Ok(n) => n,
        Err(e) => return Err(AppError::Validation(e)),
    };
    let services = crate::ports::services()?;
    services.admins.create(&actor, new).await
}

/// One row of the Administrators page.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AdminSummary {
    pub id: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub role: tally_core::roles::Role,
    pub status: tally_core::roles::AdminStatus,
    /// A Command Runner With Billing bound to no command.
    pub billing_only: bool,
    pub receives_invoices: bool,
    /// Their address is the billing contact's (Billing Information), where invoices go.
    pub billing_contact: bool,
    /// They have two-step verification (an authenticator app or a passkey).
    pub two_step: bool,
    /// The row is the signed-in administrator.
    pub is_you: bool,
}

/// Administrators shown per page.
pub const ADMINS_PER_PAGE: u32 = 50;

/// One page of the account's administrators matching a search.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AdminPage {
    pub admins: Vec<AdminSummary>,
    pub matching: u64,
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
}

/// The account's administrators whose name or email contains `search`, oldest first;
/// `page` counts from 1. Requires View administrators.
#[server(endpoint = "admins/list")]
pub async fn list_admins(
    #[server(default)] search: String,
    #[server(default)] page: u32,
) -> Result<AdminPage, AppError> {
    let actor = crate::auth::require(Action::ViewAdministrators)?;
    // A card number is refused, not searched for.
    if tally_core::card_in_text::contains_card_number(&search) {
        return Err(AppError::field(
            "search",
            tally_core::card_in_text::CARD_IN_TEXT,
        ));
    }
    let services = crate::ports::services()?;
    services
        .admins
        .list(&actor, search.trim().to_string(), page.max(1))
        .await
}

/// Runs one change through the server's rules; shared by the change endpoints below.
#[cfg(feature = "ssr")]
async fn change(id: String, change: tally_core::roles::AdminChange) -> Result<(), AppError> {
    let actor = crate::auth::require(Action::ManageAdministrators)?;
    let services = crate::ports::services()?;
    services.admins.change(&actor, &id, change).await
}

/// Gives an administrator another role. Requires Manage administrators; refused (409) if it
/// would leave the account without an active billing administrator, or for oneself.
#[server(endpoint = "admins/set-role")]
pub async fn set_admin_role(id: String, role: String) -> Result<(), AppError> {
    let Some(role) = tally_core::roles::Role::from_code(role.trim()) else {
        return Err(AppError::field("role", "Choose a role."));
    };
    change(id, tally_core::roles::AdminChange::SetRole(role)).await
}

/// Suspends an administrator and ends their sessions.
#[server(endpoint = "admins/suspend")]
pub async fn suspend_admin(id: String) -> Result<(), AppError> {
    change(id, tally_core::roles::AdminChange::Suspend).await
}

/// Lets a suspended administrator sign in again.
#[server(endpoint = "admins/unsuspend")]
pub async fn unsuspend_admin(id: String) -> Result<(), AppError> {
    change(id, tally_core::roles::AdminChange::Unsuspend).await
}

/// Deletes an administrator (their audit history stays).
#[server(endpoint = "admins/delete")]
pub async fn delete_admin(id: String) -> Result<(), AppError> {
    change(id, tally_core::roles::AdminChange::Delete).await
}

/// Emails a fresh invitation link to an administrator still invited. Requires Manage
/// administrators; 404 for another account's administrator, 409 once they have accepted.
#[server(endpoint = "admins/resend-invitation")]
pub async fn resend_invitation(id: String) -> Result<(), AppError> {
    let actor = crate::auth::require(Action::ManageAdministrators)?;
    let services = crate::ports::services()?;
    services.admins.resend_invitation(&actor, &id).await
}
