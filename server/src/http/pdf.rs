//! `GET /billing/invoices/{id}/pdf` and `GET /billing/credit-notes/{id}/pdf`: an invoice or a
//! credit note as a PDF download (Factur-X: its CII inside); `…/xml`: as a UBL e-invoice; `GET /billing/export?from=…&to=…`: those made between two
//! dates as a ZIP with a CSV.

use axum::{
    extract::{Path, Query, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Extension,
};
use tally_app::error::AppError;
use tally_core::{
    actor::Actor,
    export::{ExportRange, ExportRangeInput},
    roles::Action,
};

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

/// The invoice as a UBL e-invoice (EN 16931), on the same terms as its PDF.
pub async fn invoice_xml(
    State(state): State<AppState>,
    Path(id): Path<String>,
    actor: Option<Extension<Actor>>,
) -> Response {
    match billing_reader(actor) {
        Ok(actor) => xml_download("invoice", state.services.invoices.ubl(&actor, &id).await),
        Err(e) => error_response(e),
    }
}

/// A credit note as a UBL e-invoice (EN 16931), on the same terms as its PDF.
pub async fn credit_note_xml(
    State(state): State<AppState>,
    Path(id): Path<String>,
    actor: Option<Extension<Actor>>,
) -> Response {
    match billing_reader(actor) {
        Ok(actor) => xml_download(
            "credit-note",
            state.services.credit_notes.ubl(&actor, &id).await,
        ),
        Err(e) => error_response(e),
    }
}

/// A document's e-invoice as a download named `tally-<kind>-<number>.xml`.
fn xml_download(
    kind: &str,
    document: Result<(String, String), tally_services::platform::error::ServiceError>,
) -> Response {
    match document {
        Ok((number, xml)) => attachment(
            "application/xml",
            &format!("tally-{kind}-{number}.xml"),
            xml.into_bytes(),
        ),
        Err(e) => error_response(e.into()),
    }
}

/// The Billing page's "Download invoices" form: a plain `GET`, so the browser downloads the
/// ZIP itself. A range core refuses is answered with the messages (a page with a way back,
/// for a browser that sent the form before the page was live; JSON otherwise).
pub async fn export(
    State(state): State<AppState>,
    Query(range): Query<ExportRangeInput>,
    headers: HeaderMap,
    actor: Option<Extension<Actor>>,
) -> Response {
    let actor = match billing_reader(actor) {
        Ok(actor) => actor,
        Err(e) => return error_response(e),
    };
    let refused = |e: AppError| {
        let wants_page = headers
            .get(header::ACCEPT)
            .and_then(|a| a.to_str().ok())
            .is_some_and(|a| a.contains("text/html"));
        match (&e, wants_page) {
            (AppError::Validation(fields), true) => refused_page(&state, fields),
            _ => error_response(e),
        }
    };
    let range: ExportRange = match range.parse() {
        Ok(r) => r,
        Err(fields) => return refused(AppError::Validation(fields)),
    };
    match state.services.invoices.export(&actor, &range).await {
        Ok(zip) => attachment("application/zip", &range.file_name(), zip),
        Err(e) => refused(e.into()),
    }
}

/// A short page with the messages of a refused download and the way back to Billing.
fn refused_page(state: &AppState, fields: &tally_core::forms::FieldErrors) -> Response {
    let content = maud::html! {
        h1 { "The invoices could not be downloaded" }
        ul { @for (_, message) in fields.iter() { li { (message) } } }
        p { a href="/billing" { "Back to Billing" } }
    };
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        axum::response::Html(
            super::public_pages::page(state, "Download invoices", content).into_string(),
        ),
    )
        .into_response()
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
        Ok((number, pdf)) => attachment(
            "application/pdf",
            &format!("tally-{kind}-{number}.pdf"),
            pdf,
        ),
        Err(e) => error_response(e.into()),
    }
}

/// `bytes` as a download named `file_name`, never cached.
fn attachment(content_type: &str, file_name: &str, bytes: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file_name}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        bytes,
    )
        .into_response()
}
