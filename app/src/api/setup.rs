//! First start: create the first account and its first administrator.

use leptos::prelude::*;
#[cfg(feature = "ssr")]
use tally_core::forms::NewAccountInput;

#[cfg(feature = "ssr")]
use crate::auth::{go_on, services, visitor};
use crate::error::AppError;

/// True while Tally has no account yet.
#[server(endpoint = "setup/needed")]
pub async fn setup_needed() -> Result<bool, AppError> {
    Ok(services()?.setup.setup_needed().await?)
}

/// Creates the account and its Administrator With Billing, signs them in and goes to `/`.
/// Needs the set-up code (the server printed it in its log at first start and wrote it to
/// its data folder); refused (404) once any account exists.
#[server(endpoint = "setup/create")]
pub async fn create_first_account(
    #[server(default)] setup_code: String,
    company_name: String,
    first_name: String,
    last_name: String,
    email: String,
    password: String,
) -> Result<(), AppError> {
    let account = NewAccountInput {
        company_name,
        first_name,
        last_name,
        email,
    };
    let signed_in = services()?
        .setup
        .setup(&visitor(), &setup_code, &account, &password)
        .await?;
    go_on(&signed_in, None);
    Ok(())
}
