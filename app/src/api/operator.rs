//! The operator console's server functions (the seller's staff): signing in — with the
//! second step that is mandatory for operators — and out, who one is, and setting up one's
//! own second step. Each takes the operator from the operator session only: a customer
//! session is refused (401) here, as an operator session is at every customer function.

use leptos::prelude::*;
use tally_core::{
    actor::OperatorActor,
    views::two_step::{AppEnrolment, TwoStepStatus},
};

#[cfg(feature = "ssr")]
use crate::auth::{
    current_operator, operator_session_key, pending_operator_sign_in, require_operator_session,
    services, set_cookie, visitor,
};
use crate::error::AppError;

/// The signed-in operator, or `None`.
#[server(endpoint = "operator/me")]
pub async fn get_current_operator() -> Result<Option<OperatorActor>, AppError> {
    Ok(current_operator())
}

/// An operator's sign-in with email and password: on to the console, or to the second step.
#[server(endpoint = "operator/sign-in")]
pub async fn operator_sign_in(email: String, password: String) -> Result<bool, AppError> {
    let signed_in = services()?
        .operators
        .sign_in(&visitor(), &email, &password)
        .await?;
    for cookie in &signed_in.cookies {
        set_cookie(cookie);
    }
    Ok(signed_in.second_step)
}

/// An operator's second step with a code (authenticator app or recovery code).
#[server(endpoint = "operator/second-step")]
pub async fn operator_second_step(code: String) -> Result<(), AppError> {
    use tally_services::identity::sign_in::Proof;
    let pending = pending_operator_sign_in().ok_or(AppError::Unauthenticated)?;
    let signed_in = services()?
        .operators
        .second_step(&visitor(), &pending, &Proof::Code(code))
        .await?;
    for cookie in &signed_in.cookies {
        set_cookie(cookie);
    }
    Ok(())
}

/// Ends the operator's session.
#[server(endpoint = "operator/sign-out")]
pub async fn operator_sign_out() -> Result<(), AppError> {
    if let (Some(operator), Some(key)) = (current_operator(), operator_session_key()) {
        let clear = services()?.operators.sign_out(&operator, &key).await;
        set_cookie(&clear);
    }
    Ok(())
}

/// The operator's own second steps (also before one is set up).
#[server(endpoint = "operator/two-step/status")]
pub async fn operator_two_step_status() -> Result<TwoStepStatus, AppError> {
    let operator = require_operator_session()?;
    Ok(services()?.two_step.status(&operator).await?)
}

/// Starts setting up the operator's authenticator app (fresh check).
#[server(endpoint = "operator/two-step/start-app")]
pub async fn operator_start_app() -> Result<AppEnrolment, AppError> {
    let operator = require_operator_session()?;
    Ok(services()?.two_step.start_app(&operator).await?)
}

/// Turns the operator's app on with a code from it; the recovery codes, shown once.
#[server(endpoint = "operator/two-step/confirm-app")]
pub async fn operator_confirm_app(code: String) -> Result<Vec<String>, AppError> {
    let operator = require_operator_session()?;
    Ok(services()?.two_step.confirm_app(&operator, &code).await?)
}
