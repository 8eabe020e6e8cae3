//! `GET /billing/invoices/{id}/pdf` and `GET /billing/credit-notes/{id}/pdf`: an invoice or a
//! credit note as a PDF download.

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
    match billing_reader(actor) {
        Ok(actor) => download("invoice", state.services.invoices.pdf(&actor, &id).await),
        Err(e) => error_response(e),
    }
}

/// A credit note as a PDF, on the same terms as an invoice.
pub async fn credit_note_document(
    State(state): State<AppState>,
    Path(id): Path<String>,
    actor: Option<Extension<Actor>>,
) -> Response {
    match billing_reader(actor) {
        Ok(actor) => download(
            "credit-note",
            state.services.credit_notes.pdf(&actor, &id).await,
        ),
        Err(e) => error_response(e),
    }
}

/// The caller, if signed in with a role that may view billing.
fn billing_reader(actor: Option<Extension<Actor>>) -> Result<Actor, AppError> {
    let Some(Extension(actor)) = actor else {
        return Err(AppError::Unauthenticated);
    };
    if actor.must_set_up_two_step {
        return Err(AppError::TwoStepSetupRequired);
    }
    if !actor.may(Action::ViewBilling) {
        return Err(AppError::Forbidden);
    }
    Ok(actor)
}

/// A document's PDF as a download named `tally-<kind>-<number>.pdf`.
fn download(
    kind: &str,
    document: Result<(String, Vec<u8>), tally_services::platform::error::ServiceError>,
) -> Response {
    match document {
        Ok((number, pdf)) => (
            [
                (header::CONTENT_TYPE, "application/pdf".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"tally-{kind}-{number}.pdf\""),
                ),
                (header::CACHE_CONTROL, "no-store".to_string()),
            ],
            pdf,
        )
            .into_response(),
        Err(e) => error_response(e.into()),
    }
}
