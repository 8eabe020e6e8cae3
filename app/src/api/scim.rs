//! The Users page's identity provider section (Manage users): the account's SCIM tokens,
//! making one (its whole token in the answer, the only time it is shown; with a fresh check)
//! and revoking one.

use leptos::prelude::*;
#[cfg(feature = "ssr")]
use tally_core::roles::Action;
use tally_core::views::users::{CreatedScimToken, ScimSettings};

#[cfg(feature = "ssr")]
use crate::auth::{require, services};
use crate::error::AppError;

/// The SCIM base URL and the account's tokens, the newest first, revoked ones too (never a
/// token itself).
#[server(endpoint = "users/scim-tokens/list")]
pub async fn list_scim_tokens() -> Result<ScimSettings, AppError> {
    let actor = require(Action::ManageUsers)?;
    let services = services()?;
    Ok(ScimSettings {
        base_url: format!("{}/scim/v2", services.ctx.settings.public_url),
        tokens: services.scim.tokens(&actor).await?,
    })
}

/// Makes a token for the account's identity provider; the answer holds the whole token.
#[server(endpoint = "users/scim-tokens/create")]
pub async fn create_scim_token() -> Result<CreatedScimToken, AppError> {
    let actor = require(Action::ManageUsers)?;
    Ok(services()?.scim.create_token(&actor).await?)
}

/// Revokes a token: the identity provider's calls with it are refused from now on.
#[server(endpoint = "users/scim-tokens/revoke")]
pub async fn revoke_scim_token(token_id: String) -> Result<(), AppError> {
    let actor = require(Action::ManageUsers)?;
    Ok(services()?.scim.revoke_token(&actor, &token_id).await?)
}
