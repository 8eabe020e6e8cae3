//! Metrics in Prometheus' text format at `/metrics`, off unless `TALLY_METRICS_TOKEN` is set;
//! then a scrape must send `Authorization: Bearer <token>`.
//!
//! Counted as things happen: requests by route, method and status with their latency, server
//! function errors by kind, sign-in outcomes, mail deliveries and failures, billing runs and
//! their phases, charges by result. Read at each scrape: the database pool's connections and
//! the mail waiting in the outbox.

use std::{sync::OnceLock, time::Duration};

use axum::{
    extract::{MatchedPath, Request, State},
    http::{header, HeaderMap, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::http::AppState;

/// Latency buckets, in seconds: 1 ms to 10 s.
const BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The process's recorder, installed on first use (one per process: tests start many apps).
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &BUCKETS)
            .expect("the buckets are not empty")
            .build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed; /metrics stays empty");
        }
        handle
    })
}

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
    handle();
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

/// A sign-in's outcome: `session`, `second_step`, `wrong_password`, `unknown_email`,
/// `inactive`, `locked`, `too_long`, `throttled`.
pub fn sign_in(outcome: &'static str) {
    counter!("tally_sign_ins_total", "outcome" => outcome).increment(1);
}

/// A mail delivery's outcome: `sent`, `retrying`, `abandoned`.
pub fn mail_delivery(outcome: &'static str) {
    counter!("tally_mail_deliveries_total", "outcome" => outcome).increment(1);
}

/// A charge's result: `succeeded` or `failed`.
pub fn charge(succeeded: bool) {
    let result = if succeeded { "succeeded" } else { "failed" };
    counter!("tally_charges_total", "result" => result).increment(1);
}

/// A billing run's phase took `took`: `invoice`, `charge`, `mail`.
pub fn billing_phase(phase: &'static str, took: Duration) {
    histogram!("tally_billing_run_phase_seconds", "phase" => phase).record(took.as_secs_f64());
}

/// A billing run ended: `completed` or `failed`, with the invoices it made.
pub fn billing_run(completed: bool, invoices_created: u64) {
    let outcome = if completed { "completed" } else { "failed" };
    counter!("tally_billing_runs_total", "outcome" => outcome).increment(1);
    counter!("tally_invoices_created_total").increment(invoices_created);
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
    let Some(token) = state.ctx.settings.metrics_token.as_deref() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if !authorized(&headers, token) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
        )
            .into_response();
    }
    let pool = state.ctx.db.pool();
    let idle = pool.num_idle() as f64;
    gauge!("tally_db_pool_connections", "state" => "idle").set(idle);
    gauge!("tally_db_pool_connections", "state" => "in_use").set(f64::from(pool.size()) - idle);
    match sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL",
    )
    .fetch_one(pool)
    .await
    {
        Ok(n) => gauge!("tally_mail_outbox_pending").set(n as f64),
        Err(e) => tracing::warn!(error = %e, "metrics: cannot count the outbox"),
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle().render(),
    )
        .into_response()
}
