//! Two-step verification: one's own (Account settings), the second step of a sign-in, the
//! fresh check ("confirm it's you") the most sensitive changes need, and the account's policy.
//! Passkey ceremonies cross the wire as the WebAuthn messages of `webauthn-rs-proto`.

use leptos::{prelude::*, server_fn::codec::Json};
use serde::{Deserialize, Serialize};
#[cfg(feature = "ssr")]
use tally_core::roles::Action;
use webauthn_rs_proto::{
    CreationChallengeResponse, PublicKeyCredential, RegisterPublicKeyCredential,
    RequestChallengeResponse,
};

#[cfg(feature = "ssr")]
use crate::api::setup::set_cookie;
use crate::error::AppError;

/// A passkey as listed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeySummary {
    pub id: String,
    pub name: String,
    /// UTC milliseconds.
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// One's two-step verification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TwoStepStatus {
    pub app: bool,
    pub passkeys: Vec<PasskeySummary>,
    pub recovery_codes_left: u32,
    /// The account requires it of every administrator.
    pub required: bool,
    /// Passkeys work at this portal's address.
    pub passkeys_available: bool,
}

impl TwoStepStatus {
    /// Whether one has any second step.
    pub fn on(&self) -> bool {
        self.app || !self.passkeys.is_empty()
    }
}

/// What enrolling an authenticator app shows, once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppEnrolment {
    /// The key to type into the app, in groups of four.
    pub key: String,
    /// The QR code to scan, as an SVG document.
    pub qr_svg: String,
}

/// A passkey registration to make in the browser.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PasskeyCreation {
    pub ceremony: String,
    pub options: CreationChallengeResponse,
}

/// A passkey proof to make in the browser.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PasskeyRequest {
    pub ceremony: String,
    pub options: RequestChallengeResponse,
}

/// One's two-step verification (also while the account requires it and it is not set up).
#[server(endpoint = "two-step/status")]
pub async fn get_two_step_status() -> Result<TwoStepStatus, AppError> {
    let actor = crate::auth::require_session()?;
    crate::ports::services()?.two_step.status(&actor).await
}

/// Starts setting up an authenticator app: its QR code and key, shown this once.
#[server(endpoint = "two-step/start-app")]
pub async fn start_app() -> Result<AppEnrolment, AppError> {
    let actor = crate::auth::require_session()?;
    crate::ports::services()?.two_step.start_app(&actor).await
}

/// Turns the app on with a code from it; returns new recovery codes (shown once) when one
/// had none.
#[server(endpoint = "two-step/confirm-app")]
pub async fn confirm_app(code: String) -> Result<Vec<String>, AppError> {
    let actor = crate::auth::require_session()?;
    crate::ports::services()?
        .two_step
        .confirm_app(&actor, code)
        .await
}

/// Removes one's authenticator app (needs a fresh check).
#[server(endpoint = "two-step/remove-app")]
pub async fn remove_app() -> Result<(), AppError> {
    let actor = crate::auth::require_signed_in()?;
    crate::ports::services()?.two_step.remove_app(&actor).await
}

/// Ten new recovery codes, replacing the old ones (needs a fresh check).
#[server(endpoint = "two-step/recovery-codes")]
pub async fn new_recovery_codes() -> Result<Vec<String>, AppError> {
    let actor = crate::auth::require_signed_in()?;
    crate::ports::services()?
        .two_step
        .new_recovery_codes(&actor)
        .await
}

/// Starts registering a passkey called `name`.
#[server(endpoint = "two-step/passkey-options")]
pub async fn passkey_options(name: String) -> Result<PasskeyCreation, AppError> {
    let actor = crate::auth::require_session()?;
    crate::ports::services()?
        .two_step
        .passkey_options(&actor, name)
        .await
}

/// Finishes registering a passkey with the authenticator's answer; returns new recovery
/// codes (shown once) when one had none.
#[server(endpoint = "two-step/add-passkey", input = Json)]
pub async fn add_passkey(
    ceremony: String,
    credential: RegisterPublicKeyCredential,
) -> Result<Vec<String>, AppError> {
    let actor = crate::auth::require_session()?;
    crate::ports::services()?
        .two_step
        .add_passkey(&actor, ceremony, credential)
        .await
}

/// Removes one of one's passkeys (needs a fresh check).
#[server(endpoint = "two-step/remove-passkey")]
pub async fn remove_passkey(id: String) -> Result<(), AppError> {
    let actor = crate::auth::require_signed_in()?;
    crate::ports::services()?
        .two_step
        .remove_passkey(&actor, id)
        .await
}

/// "Confirm it's you" with an authenticator code, a recovery code, or (for someone without
/// a second step) the password: the session may then make sensitive changes for 10 minutes.
#[server(endpoint = "two-step/confirm")]
pub async fn confirm_identity(
    #[server(default)] code: String,
    #[server(default)] password: String,
) -> Result<(), AppError> {
    let actor = crate::auth::require_session()?;
    let session = crate::auth::session().ok_or(AppError::Unauthenticated)?;
    crate::ports::services()?
        .two_step
        .confirm(&actor, &session, code, password)
        .await
}

/// Starts "confirm it's you" with a passkey.
#[server(endpoint = "two-step/confirm-passkey-options")]
pub async fn confirm_passkey_options() -> Result<PasskeyRequest, AppError> {
    let actor = crate::auth::require_session()?;
    crate::ports::services()?
        .two_step
        .confirm_passkey_options(&actor)
        .await
}

/// Finishes "confirm it's you" with a passkey's answer.
#[server(endpoint = "two-step/confirm-passkey", input = Json)]
pub async fn confirm_passkey(
    ceremony: String,
    credential: PublicKeyCredential,
) -> Result<(), AppError> {
    let actor = crate::auth::require_session()?;
    let session = crate::auth::session().ok_or(AppError::Unauthenticated)?;
    crate::ports::services()?
        .two_step
        .confirm_passkey(&actor, &session, ceremony, credential)
        .await
}

/// Requires two-step verification of every administrator of the account, or not (needs a
/// fresh check).
#[server(endpoint = "two-step/policy")]
pub async fn set_two_step_policy(required: bool) -> Result<(), AppError> {
    let actor = crate::auth::require(Action::SetTwoStepPolicy)?;
    crate::ports::services()?
        .two_step
        .set_policy(&actor, required)
        .await
}

/// Ends another administrator's two-step verification, their device lost (Manage
/// administrators; needs a fresh check).
#[server(endpoint = "admins/reset-two-step")]
pub async fn reset_two_step(id: String) -> Result<(), AppError> {
    let actor = crate::auth::require(Action::ManageAdministrators)?;
    crate::ports::services()?
        .two_step
        .reset_for(&actor, id)
        .await
}

/// The second step of a sign-in with a code (authenticator or recovery); then goes to `next`.
#[server(endpoint = "account/second-step")]
pub async fn second_step(
    code: String,
    #[server(default)] next: Option<String>,
) -> Result<(), AppError> {
    let pending = crate::auth::pending_sign_in().ok_or(AppError::Unauthenticated)?;
    let session = crate::ports::services()?
        .auth
        .second_step(&crate::auth::visitor(), &pending, code)
        .await?;
    for cookie in &session.set_cookies {
        set_cookie(cookie);
    }
    leptos_axum::redirect(&crate::api::account::safe_next(next.as_deref()));
    Ok(())
}

/// Starts the second step of a sign-in with a passkey.
#[server(endpoint = "account/second-step-passkey-options")]
pub async fn second_step_passkey_options() -> Result<PasskeyRequest, AppError> {
    let pending = crate::auth::pending_sign_in().ok_or(AppError::Unauthenticated)?;
    crate::ports::services()?
        .auth
        .second_step_passkey_options(&pending)
        .await
}

/// Finishes the second step of a sign-in with a passkey's answer.
#[server(endpoint = "account/second-step-passkey", input = Json)]
pub async fn second_step_passkey(
    ceremony: String,
    credential: PublicKeyCredential,
) -> Result<(), AppError> {
    let pending = crate::auth::pending_sign_in().ok_or(AppError::Unauthenticated)?;
    let session = crate::ports::services()?
        .auth
        .second_step_passkey(&crate::auth::visitor(), &pending, ceremony, credential)
        .await?;
    for cookie in &session.set_cookies {
        set_cookie(cookie);
    }
    Ok(())
}
