//! `POST /webhooks/stripe`: the processor telling what became of payments. The billing
//! service checks the signature and applies the event once; refusals are logged without the
//! body.

use axum::{extract::State, http::HeaderMap, http::StatusCode};
use tally_services::billing::gateway::stripe::events::Refused;

use super::AppState;

pub async fn stripe(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> StatusCode {
    let Some(events) = &state.services.stripe_events else {
        return StatusCode::NOT_FOUND;
    };
    let signature = headers
        .get("Stripe-Signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    match events.receive(signature, &body).await {
        Ok((id, kind, applied)) => {
            tracing::info!(event = %id, kind = %kind, applied, "webhook event");
            StatusCode::OK
        }
        Err(Refused::Signature) => {
            tracing::warn!(
                signed = !signature.is_empty(),
                bytes = body.len(),
                "webhook refused: missing, wrong or expired signature"
            );
            StatusCode::BAD_REQUEST
        }
        Err(Refused::NotAnEvent) => {
            tracing::warn!(bytes = body.len(), "webhook refused: not an event");
            StatusCode::BAD_REQUEST
        }
        Err(Refused::Failed(e)) => {
            tracing::error!(error = %e, "webhook event not applied; the processor will send it again");
            StatusCode::INTERNAL_SERVER_ERROR
        }
    }
}
