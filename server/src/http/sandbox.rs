//! The sandbox processor's API, served while it is the gateway: the card window confirms a
//! card set-up here as it would with Stripe's. The form it takes holds a card; nothing of it
//! is logged (the request's span names only the method and path).

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    Form, Json,
};
use tally_services::billing::gateway::sandbox::{http_status, ConfirmForm};

use super::AppState;

/// `POST /sandbox/v1/setup_intents/{id}/confirm`.
pub async fn confirm_setup(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: Result<Form<ConfirmForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    // A form that does not read is refused without quoting it (it may hold a card number).
    let (Some(sandbox), Ok(Form(form))) = (&state.services.sandbox, form) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let answer = sandbox.confirm_setup(&id, form).await;
    let status = StatusCode::from_u16(http_status(&answer)).unwrap_or(StatusCode::BAD_REQUEST);
    (status, Json(answer)).into_response()
}
