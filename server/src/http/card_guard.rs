//! With a real processor (the Stripe gateway), Tally's server has no use for a card number:
//! the card window sends the card to the processor directly. So before a server function's
//! arguments are parsed — before any parser, log line or error message could hold one — a
//! request whose fields carry what looks like a card number (core's rule,
//! `tally_core::card_in_text`) is refused with 422 and the rule's message beside the field.
//! Command scripts (code, which may hold any number), passwords (never kept, only hashed)
//! and the processor's and passkeys' own tokens are not looked at.
//!
//! With the sandbox the server is the processor's imitation too and receives the card on
//! `/sandbox/v1/…`; every free-text field then refuses card numbers when its value is read,
//! as with any gateway.

use axum::{
    body::{to_bytes, Body},
    extract::{Request, State},
    http::{header, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use tally_app::error::AppError;
use tally_core::card_in_text::{contains_card_number, CARD_IN_TEXT};
use tally_services::platform::config::GatewaySettings;

use crate::http::AppState;

/// The most a server function's arguments may weigh (axum's own default limit).
const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// Fields whose values are not free text a person types, or are never kept: not looked at.
fn exempt(field: &str) -> bool {
    field == "script"
        || field.contains("password")
        || [
            "credential",
            "ceremony",
            "client_secret",
            "setup_intent",
            "idempotency_key",
            "token",
        ]
        .contains(&field)
}

/// A field's own name: `info[company_name]` is `company_name`.
fn own_name(key: &str) -> &str {
    key.trim_end_matches(']').rsplit('[').next().unwrap_or(key)
}

/// The first field of a form-encoded body that holds a card number.
fn in_form(body: &[u8]) -> Option<String> {
    form_urlencoded::parse(body).find_map(|(key, value)| {
        let name = own_name(&key);
        (!exempt(name) && contains_card_number(&value)).then(|| name.to_string())
    })
}

/// The first string of a JSON value that holds a card number, by its key ("" at the top).
fn in_json(value: &serde_json::Value, key: &str) -> Option<String> {
    use serde_json::Value;
    if exempt(key) {
        return None;
    }
    match value {
        Value::String(s) => contains_card_number(s).then(|| key.to_string()),
        Value::Array(items) => items.iter().find_map(|v| in_json(v, key)),
        Value::Object(map) => map.iter().find_map(|(k, v)| in_json(v, k)),
        _ => None,
    }
}

/// The middleware (on with the Stripe gateway): refuses a server function's request that
/// carries a card number, before anything parses it.
pub async fn refuse_card_numbers(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let stripe = matches!(
        state.services.ctx.settings.gateway,
        GatewaySettings::Stripe(_)
    );
    if !stripe || req.method() != Method::POST || !req.uri().path().starts_with("/api/") {
        return next.run(req).await;
    }
    let json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let (parts, body) = req.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_BODY_BYTES).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let found = if json {
        // Not JSON after all: the server function refuses it as it would.
        serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|v| in_json(&v, ""))
    } else {
        in_form(&bytes)
    };
    if let Some(field) = found {
        tracing::warn!(path = %parts.uri.path(), %field, "a card number was refused before it was read");
        let field = if field.is_empty() { "form" } else { &field };
        return super::error_response(AppError::field(field, CARD_IN_TEXT));
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_card_number_is_found_in_any_field_but_the_exempt_ones() {
        let card = "4111111111111111"; // test number (Visa's published one)
        let spaced = format!(
            "{} {} {} {}",
            &card[..4],
            &card[4..8],
            &card[8..12],
            &card[12..]
        );
        let form = |body: String| in_form(body.as_bytes());
        assert_eq!(
            form(format!(
                "first_name=Ann&last_name={}",
                spaced.replace(' ', "+")
            ))
            .as_deref(),
            Some("last_name")
        );
        assert_eq!(
            form(format!(
                "info%5Bcompany_name%5D={}",
                spaced.replace(' ', "-")
            ))
            .as_deref(),
            Some("company_name")
        );
        assert_eq!(form(format!("name=Backup&script=echo+{card}")), None);
        assert_eq!(form(format!("password={card}")), None);
        assert_eq!(in_form(b"first_name=Ann&last_name=Lee"), None);
        let body = serde_json::json!({ "info": { "company_name": "Acme", "address": { "line1": spaced } } });
        assert_eq!(in_json(&body, "").as_deref(), Some("line1"));
        let body = serde_json::json!({ "ceremony": "x", "credential": { "id": card } });
        assert_eq!(in_json(&body, ""), None);
        let body = serde_json::json!({ "known_words": ["ann", card] });
        assert_eq!(in_json(&body, "").as_deref(), Some("known_words"));
    }
}
