//! The Users page's server functions: View users to list, Manage users to change.

use leptos::prelude::*;
use tally_core::views::users::UserPage;
#[cfg(feature = "ssr")]
use tally_core::{forms::NewUserInput, roles::Action};

#[cfg(feature = "ssr")]
use crate::auth::{require, services};
use crate::error::AppError;

/// Refuses a search box's text holding a card number: it is refused, not searched for.
#[cfg(feature = "ssr")]
pub(crate) fn searchable(search: &str) -> Result<String, AppError> {
    if tally_core::card_in_text::contains_card_number(search) {
        return Err(AppError::field(
            "search",
            tally_core::card_in_text::CARD_IN_TEXT,
        ));
    }
    Ok(search.trim().to_string())
}

/// Users whose name or email contains `search`, by last name; `page` counts from 1.
#[server(endpoint = "users/list")]
pub async fn list_users(
    #[server(default)] search: String,
    #[server(default)] page: u32,
) -> Result<UserPage, AppError> {
    let actor = require(Action::ViewUsers)?;
    let search = searchable(&search)?;
    Ok(services()?.users.list(&actor, &search, page.max(1)).await?)
}

/// Adds a user; returns its id.
#[server(endpoint = "users/create")]
pub async fn create_user(
    first_name: String,
    last_name: String,
    email: String,
) -> Result<String, AppError> {
    let actor = require(Action::ManageUsers)?;
    let user = NewUserInput {
        first_name,
        last_name,
        email,
    }
    .parse()?;
    Ok(services()?.users.create(&actor, &user).await?)
}

/// Changes a user's name and email.
#[server(endpoint = "users/update")]
pub async fn update_user(
    id: String,
    first_name: String,
    last_name: String,
    email: String,
) -> Result<(), AppError> {
    let actor = require(Action::ManageUsers)?;
    let user = NewUserInput {
        first_name,
        last_name,
        email,
    }
    .parse()?;
    Ok(services()?.users.update(&actor, &id, &user).await?)
}

/// Suspends (`suspended = true`) or unsuspends a user. Suspended users are still billable.
#[server(endpoint = "users/set-suspended")]
pub async fn set_user_suspended(id: String, suspended: bool) -> Result<(), AppError> {
    let actor = require(Action::ManageUsers)?;
    Ok(services()?
        .users
        .set_suspended(&actor, &id, suspended)
        .await?)
}

/// Deletes a user.
#[server(endpoint = "users/delete")]
pub async fn delete_user(id: String) -> Result<(), AppError> {
    let actor = require(Action::ManageUsers)?;
    Ok(services()?.users.delete(&actor, &id).await?)
}

/// Imports users from CSV text: all rows, or none and every bad row with its reason (422).
/// Returns how many were added.
#[server(endpoint = "users/import")]
pub async fn import_users(csv: String) -> Result<u64, AppError> {
    let actor = require(Action::ManageUsers)?;
    let (users, bad_rows) =
        tally_core::csv::check_users_csv(&csv).map_err(AppError::ImportRejected)?;
    Ok(services()?.users.import(&actor, &users, bad_rows).await?)
}
