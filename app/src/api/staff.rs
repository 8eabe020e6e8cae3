//! The operators page's server functions (Manage operators: the Owner): the seller's staff,
//! inviting them, sending an invitation again, and changing a role, a standing or a second
//! step (each change with a fresh check). And the two an invited operator uses, signed in to
//! nothing yet: what their invitation link is worth, and setting their password with it.

use leptos::prelude::*;
use tally_core::views::{account::LinkInfo, operator::OperatorListRow};

#[cfg(feature = "ssr")]
use crate::auth::{services, set_cookie, visitor};
use crate::error::AppError;

/// The Owner's page of operators.
pub const OPERATORS_PATH: &str = "/operator/operators";

#[cfg(feature = "ssr")]
fn owner() -> Result<tally_core::actor::OperatorActor, AppError> {
    crate::auth::require_operator(tally_core::operators::OperatorAction::ManageOperators)
}

/// Every operator of the seller.
#[server(endpoint = "operator/operators/list")]
pub async fn list_operators() -> Result<Vec<OperatorListRow>, AppError> {
    Ok(services()?.staff.list(&owner()?).await?)
}

/// Invites an operator with a role; they are emailed a link to set their password. Their id.
#[server(endpoint = "operator/operators/invite")]
pub async fn invite_operator(
    first_name: String,
    last_name: String,
    email: String,
    role: String,
) -> Result<String, AppError> {
    use tally_core::operators::NewOperatorInput;
    let owner = owner()?;
    let input = NewOperatorInput {
        first_name,
        last_name,
        email,
        role,
    };
    Ok(services()?.staff.invite(&owner, &input).await?)
}

/// Emails an invited operator a new link; earlier ones stop working.
#[server(endpoint = "operator/operators/resend-invitation")]
pub async fn resend_operator_invitation(operator_id: String) -> Result<(), AppError> {
    Ok(services()?
        .staff
        .resend_invitation(&owner()?, &operator_id)
        .await?)
}

#[cfg(feature = "ssr")]
async fn change(
    operator_id: &str,
    change: tally_core::operators::OperatorChange,
) -> Result<(), AppError> {
    Ok(services()?
        .staff
        .change(&owner()?, operator_id, change)
        .await?)
}

/// Gives an operator another role (a role's code).
#[server(endpoint = "operator/operators/set-role")]
pub async fn set_operator_role(operator_id: String, role: String) -> Result<(), AppError> {
    use tally_core::operators::{OperatorChange, OperatorRole};
    owner()?;
    let role = OperatorRole::from_code(role.trim())
        .ok_or_else(|| AppError::field("role", "Choose a role."))?;
    change(&operator_id, OperatorChange::Role(role)).await
}

/// Suspends an operator: they can no longer sign in, and their sessions end.
#[server(endpoint = "operator/operators/suspend")]
pub async fn suspend_operator(operator_id: String) -> Result<(), AppError> {
    change(&operator_id, tally_core::operators::OperatorChange::Suspend).await
}

/// Makes a suspended operator able to sign in again.
#[server(endpoint = "operator/operators/reactivate")]
pub async fn reactivate_operator(operator_id: String) -> Result<(), AppError> {
    change(
        &operator_id,
        tally_core::operators::OperatorChange::Reactivate,
    )
    .await
}

/// Removes an operator's second steps on their request (a lost device); they set one up at
/// their next sign-in.
#[server(endpoint = "operator/operators/reset-two-step")]
pub async fn reset_operator_two_step(operator_id: String) -> Result<(), AppError> {
    change(
        &operator_id,
        tally_core::operators::OperatorChange::ResetTwoStep,
    )
    .await
}

/// What an operator's invitation link is worth, without using it.
#[server(endpoint = "operator/invitation/inspect")]
pub async fn inspect_operator_invitation(token: String) -> Result<LinkInfo, AppError> {
    Ok(services()?.operators.inspect_invitation(&token).await?)
}

/// Sets an invited operator's password with their link and signs them in, to set up their
/// second step (mandatory for operators) before anything else.
#[server(endpoint = "operator/invitation/accept")]
pub async fn accept_operator_invitation(
    token: String,
    password: String,
    /// The password typed again (checked in the browser too).
    #[server(default)]
    confirm_password: Option<String>,
) -> Result<(), AppError> {
    crate::auth::typed_twice(&password, confirm_password.as_deref())?;
    let signed_in = services()?
        .operators
        .accept_invitation(&visitor(), &token, &password)
        .await?;
    for cookie in &signed_in.cookies {
        set_cookie(cookie);
    }
    leptos_axum::redirect(crate::api::operator::TWO_STEP_PATH);
    Ok(())
}
