//! Two-step verification: one's own (Account settings), the fresh check ("confirm it's you")
//! the most sensitive changes need, and the account's policy. Passkey ceremonies cross the
//! wire as the WebAuthn messages of `webauthn-rs-proto`.

use leptos::{prelude::*, server_fn::codec::Json};
#[cfg(feature = "ssr")]
use tally_core::roles::Action;
use tally_core::views::two_step::{AppEnrolment, PasskeyCreation, PasskeyRequest, TwoStepStatus};
use webauthn_rs_proto::{PublicKeyCredential, RegisterPublicKeyCredential};

#[cfg(feature = "ssr")]
use crate::auth::{require, require_session, require_signed_in, services, session_key};
use crate::error::AppError;

/// One's two-step verification (also while the account requires it and it is not set up).
#[server(endpoint = "two-step/status")]
pub async fn get_two_step_status() -> Result<TwoStepStatus, AppError> {
    let actor = require_session()?;
    Ok(services()?.two_step.status(&actor).await?)
}

/// Starts setting up an authenticator app: its QR code and key, shown this once.
#[server(endpoint = "two-step/start-app")]
pub async fn start_app() -> Result<AppEnrolment, AppError> {
    let actor = require_session()?;
    Ok(services()?.two_step.start_app(&actor).await?)
}

/// Turns the app on with a code from it; returns new recovery codes (shown once) when one
/// had none.
#[server(endpoint = "two-step/confirm-app")]
pub async fn confirm_app(code: String) -> Result<Vec<String>, AppError> {
    let actor = require_session()?;
    Ok(services()?.two_step.confirm_app(&actor, &code).await?)
}

/// Removes one's authenticator app (needs a fresh check).
#[server(endpoint = "two-step/remove-app")]
pub async fn remove_app() -> Result<(), AppError> {
    let actor = require_signed_in()?;
    Ok(services()?.two_step.remove_app(&actor).await?)
}

/// Ten new recovery codes, replacing the old ones (needs a fresh check).
#[server(endpoint = "two-step/recovery-codes")]
pub async fn new_recovery_codes() -> Result<Vec<String>, AppError> {
    let actor = require_signed_in()?;
    Ok(services()?
        .two_step
        .regenerate_recovery_codes(&actor)
        .await?)
}

/// Starts registering a passkey called `name`.
#[server(endpoint = "two-step/passkey-options")]
pub async fn passkey_options(name: String) -> Result<PasskeyCreation, AppError> {
    let actor = require_session()?;
    Ok(services()?
        .two_step
        .start_passkey_registration(&actor, &name)
        .await?)
}

/// Finishes registering a passkey with the authenticator's answer; returns new recovery
/// codes (shown once) when one had none.
#[server(endpoint = "two-step/add-passkey", input = Json)]
pub async fn add_passkey(
    ceremony: String,
    credential: RegisterPublicKeyCredential,
) -> Result<Vec<String>, AppError> {
    let actor = require_session()?;
    Ok(services()?
        .two_step
        .finish_passkey_registration(&actor, &ceremony, &credential)
        .await?)
}

/// Removes one of one's passkeys (needs a fresh check).
#[server(endpoint = "two-step/remove-passkey")]
pub async fn remove_passkey(id: String) -> Result<(), AppError> {
    let actor = require_signed_in()?;
    Ok(services()?.two_step.remove_passkey(&actor, &id).await?)
}

/// "Confirm it's you" with an authenticator code, a recovery code, or (for someone without
/// a second step) the password: the session may then make sensitive changes for 10 minutes.
#[server(endpoint = "two-step/confirm")]
pub async fn confirm_identity(
    #[server(default)] code: String,
    #[server(default)] password: String,
) -> Result<(), AppError> {
    use tally_services::identity::sign_in::Proof;
    let actor = require_session()?;
    let session = session_key().ok_or(AppError::Unauthenticated)?;
    let proof = if code.trim().is_empty() {
        Proof::Password(password)
    } else {
        Proof::Code(code)
    };
    Ok(services()?
        .sign_ins
        .confirm(&actor, &session, &proof)
        .await?)
}

/// Starts "confirm it's you" with a passkey.
#[server(endpoint = "two-step/confirm-passkey-options")]
pub async fn confirm_passkey_options() -> Result<PasskeyRequest, AppError> {
    let actor = require_session()?;
    Ok(services()?.sign_ins.confirm_passkey_options(&actor).await?)
}

/// Finishes "confirm it's you" with a passkey's answer.
#[server(endpoint = "two-step/confirm-passkey", input = Json)]
pub async fn confirm_passkey(
    ceremony: String,
    credential: PublicKeyCredential,
) -> Result<(), AppError> {
    use tally_services::identity::sign_in::Proof;
    let actor = require_session()?;
    let session = session_key().ok_or(AppError::Unauthenticated)?;
    let proof = Proof::Passkey {
        ceremony,
        credential: Box::new(credential),
    };
    Ok(services()?
        .sign_ins
        .confirm(&actor, &session, &proof)
        .await?)
}

/// Requires two-step verification of every administrator of the account, or not (needs a
/// fresh check).
#[server(endpoint = "two-step/policy")]
pub async fn set_two_step_policy(required: bool) -> Result<(), AppError> {
    let actor = require(Action::SetTwoStepPolicy)?;
    Ok(services()?.two_step.set_policy(&actor, required).await?)
}
