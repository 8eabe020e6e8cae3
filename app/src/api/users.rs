//! Users (seats) of the caller's account: View users to list, Manage users to change.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
#[cfg(feature = "ssr")]
use tally_core::{forms::NewUserInput, roles::Action};

use crate::error::AppError;

/// Users shown per page.
pub const USERS_PER_PAGE: u32 = 50;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSummary {
    pub id: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub suspended: bool,
}

/// One page of users matching a search, and how many match in all.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserPage {
    pub users: Vec<UserSummary>,
    pub matching: u64,
    /// Every user of the account, active or suspended (all are billable).
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
}

/// Users whose name or email contains `search`, by last name; `page` counts from 1.
#[server(endpoint = "users/list")]
pub async fn list_users(
    #[server(default)] search: String,
    #[server(default)] page: u32,
) -> Result<UserPage, AppError> {
    let actor = crate::auth::require(Action::ViewUsers)?;
    // A card number is refused, not searched for.
    if tally_core::card_in_text::contains_card_number(&search) {
        return Err(AppError::field(
            "search",
            tally_core::card_in_text::CARD_IN_TEXT,
        ));
    }
    let services = crate::ports::services()?;
    services
        .users
        .list(&actor, search.trim().to_string(), page.max(1))
        .await
}

/// Adds a user; returns its id.
#[server(endpoint = "users/create")]
pub async fn create_user(
    first_name: String,
    last_name: String,
    email: String,
) -> Result<String, AppError> {
    let actor = crate::auth::require(Action::ManageUsers)?;
    let user = match (NewUserInput {
        first_name,
        last_name,
        email,
    })
    .parse()
    {
        Ok(u) => u,
        Err(e) => return Err(AppError::Validation(e)),
    };
    let services = crate::ports::services()?;
    services.users.create(&actor, user).await
}

/// Changes a user's name and email.
#[server(endpoint = "users/update")]
pub async fn update_user(
    id: String,
    first_name: String,
    last_name: String,
    email: String,
) -> Result<(), AppError> {
    let actor = crate::auth::require(Action::ManageUsers)?;
    let user = match (NewUserInput {
        first_name,
        last_name,
        email,
    })
    .parse()
    {
        Ok(u) => u,
        Err(e) => return Err(AppError::Validation(e)),
    };
    let services = crate::ports::services()?;
    services.users.update(&actor, &id, user).await
}

/// Suspends (`suspended = true`) or unsuspends a user. Suspended users are still billable.
#[server(endpoint = "users/set-suspended")]
pub async fn set_user_suspended(id: String, suspended: bool) -> Result<(), AppError> {
    let actor = crate::auth::require(Action::ManageUsers)?;
    let services = crate::ports::services()?;
    services.users.set_suspended(&actor, &id, suspended).await
}

/// Deletes a user.
#[server(endpoint = "users/delete")]
pub async fn delete_user(id: String) -> Result<(), AppError> {
    let actor = crate::auth::require(Action::ManageUsers)?;
    let services = crate::ports::services()?;
    services.users.delete(&actor, &id).await
}

/// Imports users from CSV text: all rows, or none and every bad row with its reason (422).
/// Returns how many were added.
#[server(endpoint = "users/import")]
pub async fn import_users(csv: String) -> Result<u64, AppError> {
    let actor = crate::auth::require(Action::ManageUsers)?;
    let (users, bad_rows) = match tally_core::csv::check_users_csv(&csv) {
        Ok(checked) => checked,
        Err(rows) => return Err(AppError::ImportRejected(rows)),
    };
    let services = crate::ports::services()?;
    services.users.import(&actor, users, bad_rows).await
}
