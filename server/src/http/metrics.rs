//! `/metrics` in Prometheus' text format, off unless `TALLY_METRICS_TOKEN` is set; then a
//! scrape must send `Authorization: Bearer <token>`. Requests are counted here, by route,
//! method and status with their latency, and server function errors by kind; the rest is
//! counted where it happens (`tally_services::platform::metrics`).

use axum::{
    extract::{MatchedPath, Request, State},
    http::{header, HeaderMap, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use metrics::{counter, histogram};

use super::AppState;

/// The route a request is counted under: its pattern (`/invoices/{id}`), a server
/// function's own path, or a bounded name for the rest, so labels stay few.
fn route_label(req: &Request) -> String {
    if let Some(matched) = req.extensions().get::<MatchedPath>() {
        let pattern = matched.as_str();
        if !pattern.contains('*') {
            return pattern.to_string();
        }
    }
    let path = req.uri().path();
    if path.starts_with("/api/") {
        // Checked against the status after the answer: an unknown one is not kept by name.
        return path.to_string();
    }
    if path.starts_with("/pkg/") {
        return "/pkg/*".into();
    }
    "(other)".into()
}

/// What kind of error a server function's status says.
fn error_kind(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "bad_request",
        401 => "unauthenticated",
        403 => "forbidden",
        404 => "not_found",
        409 => "conflict",
        413 => "too_large",
        422 => "validation",
        429 => "throttled",
        402 => "payment",
        s if s >= 500 => "internal",
        _ => "other",
    }
}

/// Counts every request and times it.
pub async fn track(req: Request, next: Next) -> Response {
    tally_services::platform::metrics::handle();
    let started = std::time::Instant::now();
    let method = req.method().as_str().to_owned();
    let mut route = route_label(&req);
    let res = next.run(req).await;
    let status = res.status();
    if route.starts_with("/api/") {
        if status == StatusCode::NOT_FOUND {
            route = "/api/(unknown)".into();
        } else if status.is_client_error() || status.is_server_error() {
            counter!("tally_server_fn_errors_total", "function" => route.clone(), "kind" => error_kind(status))
                .increment(1);
        }
    }
    counter!("tally_http_requests_total", "route" => route.clone(), "method" => method.clone(), "status" => status.as_u16().to_string())
        .increment(1);
    histogram!("tally_http_request_duration_seconds", "route" => route, "method" => method)
        .record(started.elapsed().as_secs_f64());
    res
}

/// Whether `headers` carry the bearer token, compared in constant time.
fn authorized(headers: &HeaderMap, token: &str) -> bool {
    use subtle::ConstantTimeEq;
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|given| given.as_bytes().ct_eq(token.as_bytes()).into())
}

/// `GET /metrics`: 404 while metrics are off, 401 without the token, else the text format.
pub async fn scrape(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(token) = state.services.ctx.settings.metrics_token.as_deref() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if !authorized(&headers, token) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
        )
            .into_response();
    }
    let text = tally_services::platform::metrics::render(&state.services.ctx).await;
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}
