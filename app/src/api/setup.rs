//! First start: create the first account and its first administrator.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// The set-up form as typed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetupInput {
    /// The one-time code the server printed in its log at first start (and wrote to its data
    /// folder): only whoever runs the server can set it up.
    pub setup_code: String,
    pub company_name: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub password: String,
}

/// True while Tally has no account yet.
#[server(endpoint = "setup/needed")]
pub async fn setup_needed() -> Result<bool, AppError> {
    crate::ports::services()?.auth.setup_needed().await
}

/// Creates the account and its Administrator With Billing, signs them in and goes to `/`.
/// Needs the set-up code; refused (404) once any account exists.
#[server(endpoint = "setup/create")]
pub async fn create_first_account(
    #[server(default)] setup_code: String,
    company_name: String,
    first_name: String,
    last_name: String,
    email: String,
    password: String,
) -> Result<(), AppError> {
    let services = crate::ports::services()?;
    let input = SetupInput {
        setup_code,
        company_name,
        first_name,
        last_name,
        email,
        password,
    };
    let session = services.auth.setup(&crate::auth::visitor(), input).await?;
    for cookie in &session.set_cookies {
        set_cookie(cookie);
    }
    leptos_axum::redirect("/");
    Ok(())
}

/// Adds a `Set-Cookie` header to the response.
#[cfg(feature = "ssr")]
pub(crate) fn set_cookie(cookie: &str) {
    if let (Some(res), Ok(value)) = (
        use_context::<leptos_axum::ResponseOptions>(),
        http::HeaderValue::from_str(cookie),
    ) {
        res.append_header(http::header::SET_COOKIE, value);
    }
}
