//! `GET /billing/invoices/{id}/pdf`: an invoice as a PDF download.

use axum::{
    extract::{Path, State},
    http::header,
    response::{IntoResponse, Response},
    Extension,
};
use tally_app::error::AppError;
use tally_core::{actor::Actor, roles::Action};

use super::{error_response, AppState};

/// The invoice as a PDF, for roles that may view billing, from the caller's account only (404
/// otherwise).
pub async fn invoice_document(
    State(state): State<AppState>,
    Path(id): Path<String>,
    actor: Option<Extension<Actor>>,
) -> Response {
    let Some(Extension(actor)) = actor else {
        return error_response(AppError::Unauthenticated);
    };
    if actor.must_set_up_two_step {
        return error_response(AppError::TwoStepSetupRequired);
    }
    if !actor.may(Action::ViewBilling) {
        return error_response(AppError::Forbidden);
    }
    match state.services.invoices.pdf(&actor, &id).await {
        Ok((number, pdf)) => (
            [
                (header::CONTENT_TYPE, "application/pdf".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"tally-invoice-{number}.pdf\""),
                ),
                (header::CACHE_CONTROL, "no-store".to_string()),
            ],
            pdf,
        )
            .into_response(),
        Err(e) => error_response(e.into()),
    }
}
