//! Signing in and out, the second step of a sign-in, and invitation and reset links. The
//! sign-in, forgot-password and reset pages are the server's plain pages, which call the same
//! services; these are their endpoints for the app.

use leptos::{prelude::*, server_fn::codec::Json};
use tally_core::{
    codes::LinkKind,
    views::{account::LinkInfo, two_step::PasskeyRequest},
};
use webauthn_rs_proto::PublicKeyCredential;

#[cfg(feature = "ssr")]
use crate::auth::{
    go_on, pending_sign_in, require_session, services, session_key, set_cookie, visitor,
};
use crate::error::AppError;

/// Signs in and goes to `next` (a local path) or `/`, by way of the second step when the
/// administrator has one. Every failure gets the same message.
#[server(endpoint = "account/sign-in")]
pub async fn sign_in(
    email: String,
    password: String,
    #[server(default)] next: Option<String>,
) -> Result<(), AppError> {
    let signed_in = services()?
        .sign_ins
        .sign_in(&visitor(), &email, &password)
        .await?;
    go_on(&signed_in, next.as_deref());
    Ok(())
}

/// Ends this session. The menu then loads the sign-in page itself, with a full page load
/// that drops everything the signed-in pages held; a redirect here would add a second,
/// client-side navigation racing that one.
#[server(endpoint = "account/sign-out")]
pub async fn sign_out() -> Result<(), AppError> {
    if let (Ok(actor), Some(session)) = (require_session(), session_key()) {
        let clear = services()?.sign_ins.sign_out(&actor, &session).await;
        set_cookie(&clear);
    }
    Ok(())
}

/// Ends every other session of the signed-in administrator (and any half-done sign-in of
/// theirs); this one stays. How many sessions ended.
#[server(endpoint = "account/sign-out-others")]
pub async fn sign_out_other_sessions() -> Result<u64, AppError> {
    let actor = require_session()?;
    Ok(services()?.sign_ins.sign_out_others(&actor).await?)
}

/// Asks for a password-reset email. Answers the same whether or not the address exists.
#[server(endpoint = "account/request-reset")]
pub async fn request_password_reset(email: String) -> Result<(), AppError> {
    Ok(services()?
        .sign_ins
        .request_reset(&visitor(), &email)
        .await?)
}

/// Reads what an invitation or reset link is worth, without using it.
#[server(endpoint = "account/inspect-link")]
pub async fn inspect_link(kind: LinkKind, token: String) -> Result<LinkInfo, AppError> {
    Ok(services()?.sign_ins.inspect_link(kind, &token).await?)
}

/// Uses an invitation or reset link to set a password; signs in and goes to `/` (by way of
/// the second step for someone who has one).
#[server(endpoint = "account/set-password")]
pub async fn set_password_from_link(
    kind: LinkKind,
    token: String,
    password: String,
    /// The password typed again (checked in the browser too).
    #[server(default)]
    confirm_password: Option<String>,
) -> Result<(), AppError> {
    crate::auth::typed_twice(&password, confirm_password.as_deref())?;
    let signed_in = services()?
        .sign_ins
        .complete_link(&visitor(), kind, &token, &password)
        .await?;
    go_on(&signed_in, None);
    Ok(())
}

/// The second step of a sign-in with a code (authenticator or recovery); then goes to `next`.
#[server(endpoint = "account/second-step")]
pub async fn second_step(
    code: String,
    #[server(default)] next: Option<String>,
) -> Result<(), AppError> {
    use tally_services::identity::sign_in::Proof;
    let pending = pending_sign_in().ok_or(AppError::Unauthenticated)?;
    let signed_in = services()?
        .sign_ins
        .second_step(&visitor(), &pending, &Proof::Code(code))
        .await?;
    go_on(&signed_in, next.as_deref());
    Ok(())
}

/// Starts the second step of a sign-in with a passkey.
#[server(endpoint = "account/second-step-passkey-options")]
pub async fn second_step_passkey_options() -> Result<PasskeyRequest, AppError> {
    let pending = pending_sign_in().ok_or(AppError::Unauthenticated)?;
    Ok(services()?
        .sign_ins
        .second_step_passkey_options(&visitor(), &pending)
        .await?)
}

/// Finishes the second step of a sign-in with a passkey's answer.
#[server(endpoint = "account/second-step-passkey", input = Json)]
pub async fn second_step_passkey(
    ceremony: String,
    credential: PublicKeyCredential,
) -> Result<(), AppError> {
    use tally_services::identity::sign_in::Proof;
    let pending = pending_sign_in().ok_or(AppError::Unauthenticated)?;
    let proof = Proof::Passkey {
        ceremony,
        credential: Box::new(credential),
    };
    let signed_in = services()?
        .sign_ins
        .second_step(&visitor(), &pending, &proof)
        .await?;
    for cookie in &signed_in.cookies {
        set_cookie(cookie);
    }
    Ok(())
}
