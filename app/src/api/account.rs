//! One's own account: who one is, one's name and password, and the password rule's verdict.

use leptos::prelude::*;
use tally_core::{actor::Actor, views::account::PasswordCheck};

#[cfg(feature = "ssr")]
use crate::auth::{current_actor, require_signed_in, services, set_cookie, typed_twice};
use crate::error::AppError;

/// The signed-in administrator, or `None`.
#[server(endpoint = "account/me")]
pub async fn get_current_admin() -> Result<Option<Actor>, AppError> {
    Ok(current_actor())
}

/// The caller's account's standing with the seller: why it is suspended or closed, and whom
/// to ask (every administrator, whatever the standing).
#[server(endpoint = "account/standing")]
pub async fn get_account_standing() -> Result<tally_core::account_status::StandingView, AppError> {
    let actor = crate::auth::require_session()?;
    Ok(crate::auth::services()?.standing.of(&actor).await?)
}

/// Scores a candidate password with the server's rule. `known_words` are the person's own
/// details (name, email), which make a password weaker.
#[server(endpoint = "account/check-password")]
pub async fn check_password(
    password: String,
    #[server(default)] known_words: Vec<String>,
) -> Result<PasswordCheck, AppError> {
    let words: Vec<&str> = known_words.iter().map(String::as_str).collect();
    let s = services()?
        .profile
        .check_password(&crate::auth::visitor(), &password, &words)
        .await?;
    Ok(PasswordCheck {
        score: s.score,
        label: s.label().to_string(),
        problem: s.verdict.err().map(|e| e.to_string()),
    })
}

/// Changes one's own password; every other session of this administrator ends.
#[server(endpoint = "account/change-password")]
pub async fn change_password(
    current_password: String,
    new_password: String,
    /// The new password typed again (checked in the browser too).
    #[server(default)]
    confirm_password: Option<String>,
) -> Result<(), AppError> {
    let actor = require_signed_in()?;
    typed_twice(&new_password, confirm_password.as_deref())?;
    let signed_in = services()?
        .profile
        .change_password(&actor, &current_password, &new_password)
        .await?;
    for cookie in &signed_in.cookies {
        set_cookie(cookie);
    }
    Ok(())
}

/// Changes one's own name.
#[server(endpoint = "account/update-name")]
pub async fn update_name(first_name: String, last_name: String) -> Result<(), AppError> {
    let actor = require_signed_in()?;
    Ok(services()?
        .profile
        .update_name(&actor, &first_name, &last_name)
        .await?)
}
