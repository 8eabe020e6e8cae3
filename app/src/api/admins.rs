//! Administrators of the caller's account.

use leptos::prelude::*;
#[cfg(feature = "ssr")]
use tally_core::{forms::NewAdminInput, roles::Action};

#[cfg(feature = "ssr")]
use crate::error::fail;
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
        Err(e) => return fail(AppError::Validation(e)),
    };
    let services = crate::ports::services()?;
    match services
        .admins
        .create(&actor, new, crate::auth::client_ip())
        .await
    {
        Ok(id) => Ok(id),
        Err(e) => fail(e),
    }
}
