//! The API keys page's server functions (Manage API keys: the Owner): the keys, making one
//! (its whole key in the answer, the only time it is shown) and revoking one, each change
//! with a fresh check.

use leptos::prelude::*;
use tally_core::views::operator::{ApiKeyRow, CreatedApiKey};

#[cfg(feature = "ssr")]
use crate::auth::services;
use crate::error::AppError;

/// The Owner's page of API keys.
pub const API_KEYS_PATH: &str = "/operator/api-keys";

#[cfg(feature = "ssr")]
fn owner() -> Result<tally_core::actor::OperatorActor, AppError> {
    crate::auth::require_operator(tally_core::operators::OperatorAction::ManageApiKeys)
}

/// Every API key, the newest first, revoked ones too (never a key itself).
#[server(endpoint = "operator/api-keys/list")]
pub async fn list_api_keys() -> Result<Vec<ApiKeyRow>, AppError> {
    Ok(services()?.api_keys.list(&owner()?).await?)
}

/// Makes a key with a name and the scopes ticked (one argument per scope, as a checkbox
/// sends it: present when ticked). The answer holds the whole key.
#[server(endpoint = "operator/api-keys/create")]
#[allow(clippy::too_many_arguments)]
pub async fn create_api_key(
    name: String,
    #[server(default)] accounts_read: Option<String>,
    #[server(default)] accounts_write: Option<String>,
    #[server(default)] users_read: Option<String>,
    #[server(default)] users_write: Option<String>,
    #[server(default)] invoices_read: Option<String>,
    #[server(default)] credit_notes_write: Option<String>,
) -> Result<CreatedApiKey, AppError> {
    use tally_core::api_keys::{ApiScope, NewApiKeyInput};
    let owner = owner()?;
    let ticked = [
        (ApiScope::AccountsRead, accounts_read),
        (ApiScope::AccountsWrite, accounts_write),
        (ApiScope::UsersRead, users_read),
        (ApiScope::UsersWrite, users_write),
        (ApiScope::InvoicesRead, invoices_read),
        (ApiScope::CreditNotesWrite, credit_notes_write),
    ];
    let input = NewApiKeyInput {
        name,
        scopes: ticked
            .into_iter()
            .filter(|(_, on)| on.is_some())
            .map(|(s, _)| s.code().to_owned())
            .collect(),
    };
    Ok(services()?.api_keys.create(&owner, &input).await?)
}

/// Revokes a key: every call with it is refused from now on.
#[server(endpoint = "operator/api-keys/revoke")]
pub async fn revoke_api_key(key_id: String) -> Result<(), AppError> {
    Ok(services()?.api_keys.revoke(&owner()?, &key_id).await?)
}
