//! The Administrators page's server functions. Viewing needs View administrators; every
//! change needs Manage administrators, and the account's rules (checked by the service).

use leptos::prelude::*;
use tally_core::views::admins::AdminPage;
#[cfg(feature = "ssr")]
use tally_core::{
    forms::NewAdminInput,
    roles::{Action, AdminChange, Role},
};

#[cfg(feature = "ssr")]
use crate::auth::{require, services};
use crate::error::AppError;

/// "+ Create Admin": an invited administrator who gets an email with a link to set a
/// password. Returns the new administrator's id.
#[server(endpoint = "admins/create")]
pub async fn create_admin(
    first_name: String,
    last_name: String,
    email: String,
    /// Absent from a plain form when no role is chosen: then core says to choose one.
    #[server(default)]
    role: String,
) -> Result<String, AppError> {
    let actor = require(Action::ManageAdministrators)?;
    let new = NewAdminInput {
        first_name,
        last_name,
        email,
        role,
    }
    .parse()?;
    Ok(services()?.administrators.create(&actor, &new).await?)
}

/// The account's administrators whose name or email contains `search`, oldest first;
/// `page` counts from 1. The billing contact's row is marked.
#[server(endpoint = "admins/list")]
pub async fn list_admins(
    #[server(default)] search: String,
    #[server(default)] page: u32,
) -> Result<AdminPage, AppError> {
    let actor = require(Action::ViewAdministrators)?;
    let search = crate::api::users::searchable(&search)?;
    let services = services()?;
    let contact = services.billing_info.contact_email(&actor).await?;
    Ok(services
        .administrators
        .list(&actor, &search, page.max(1), contact.as_deref())
        .await?)
}

/// Runs one change through the account's rules; shared by the change endpoints below.
#[cfg(feature = "ssr")]
async fn change(id: String, change: AdminChange) -> Result<(), AppError> {
    let actor = require(Action::ManageAdministrators)?;
    Ok(services()?
        .administrators
        .change(&actor, &id, change)
        .await?)
}

/// Gives an administrator another role; refused (409) if it would leave the account without
/// an active billing administrator, or for oneself.
#[server(endpoint = "admins/set-role")]
pub async fn set_admin_role(id: String, role: String) -> Result<(), AppError> {
    let Some(role) = Role::from_code(role.trim()) else {
        return Err(AppError::field("role", "Choose a role."));
    };
    change(id, AdminChange::SetRole(role)).await
}

/// Suspends an administrator and ends their sessions.
#[server(endpoint = "admins/suspend")]
pub async fn suspend_admin(id: String) -> Result<(), AppError> {
    change(id, AdminChange::Suspend).await
}

/// Lets a suspended administrator sign in again.
#[server(endpoint = "admins/unsuspend")]
pub async fn unsuspend_admin(id: String) -> Result<(), AppError> {
    change(id, AdminChange::Unsuspend).await
}

/// Deletes an administrator (their audit history stays).
#[server(endpoint = "admins/delete")]
pub async fn delete_admin(id: String) -> Result<(), AppError> {
    change(id, AdminChange::Delete).await
}

/// Emails a fresh invitation link to an administrator still invited: 404 for another
/// account's administrator, 409 once they have accepted.
#[server(endpoint = "admins/resend-invitation")]
pub async fn resend_invitation(id: String) -> Result<(), AppError> {
    let actor = require(Action::ManageAdministrators)?;
    Ok(services()?
        .administrators
        .resend_invitation(&actor, &id)
        .await?)
}

/// Ends another administrator's two-step verification, their device lost (needs a fresh
/// check).
#[server(endpoint = "admins/reset-two-step")]
pub async fn reset_two_step(id: String) -> Result<(), AppError> {
    let actor = require(Action::ManageAdministrators)?;
    Ok(services()?.two_step.reset_for(&actor, &id).await?)
}
