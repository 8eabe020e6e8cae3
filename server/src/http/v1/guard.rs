//! What every `/v1` operation goes through before its handler: the key (found, not revoked),
//! its rate (a bucket per key on each server, with the `RateLimit` headers of the IETF draft
//! on every answer), and for a POST sent with an `Idempotency-Key`, the first answer again.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Instant,
};

use axum::{
    body::{to_bytes, Body},
    extract::{Request, State},
    http::{header, HeaderMap, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use sha2::{Digest, Sha256};
use tally_services::seller::api_keys::{ApiCaller, Idempotent};

use super::problem::Problem;
use crate::http::AppState;

/// The largest request body the API reads (a bulk list of users fits many times over).
pub const BODY_LIMIT: usize = 8 * 1024 * 1024;

/// Each key's bucket on this server: `rate` requests a second, up to twice that at once.
#[derive(Clone)]
pub struct RateLimits {
    rate: f64,
    buckets: Arc<Mutex<HashMap<String, (f64, Instant)>>>,
}

impl RateLimits {
    pub fn new(per_second: i64) -> Self {
        RateLimits {
            rate: per_second.max(1) as f64,
            buckets: Arc::default(),
        }
    }

    /// Takes one request from `key`'s bucket: the requests left, or how many seconds until
    /// one is.
    fn take(&self, key: &str) -> Result<u64, u64> {
        let now = Instant::now();
        let capacity = self.rate * 2.0;
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (tokens, last) = buckets.entry(key.to_owned()).or_insert((capacity, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * self.rate).min(capacity);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(tokens.floor() as u64)
        } else {
            Err(((1.0 - *tokens) / self.rate).ceil().max(1.0) as u64)
        }
    }

    fn headers(&self, headers: &mut HeaderMap, remaining: u64, reset: u64) {
        let policy = format!("\"per-key\";q={};w=1", self.rate as u64);
        let now = format!("\"per-key\";r={remaining};t={reset}");
        for (name, value) in [("ratelimit-policy", policy), ("ratelimit", now)] {
            if let Ok(v) = HeaderValue::from_str(&value) {
                headers.insert(name, v);
            }
        }
    }
}

/// The key a request came with, its rate, then the operation.
pub async fn authenticate(
    State((state, limits)): State<(AppState, RateLimits)>,
    mut req: Request,
    next: Next,
) -> Response {
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(|v| v.trim().to_owned());
    let Some(presented) = presented else {
        return Problem::unauthenticated("Send an API key as `Authorization: Bearer tly_…`.")
            .into_response();
    };
    let caller = match state.services.api_keys.authenticate(&presented).await {
        Ok(Some(caller)) => caller,
        Ok(None) => {
            return Problem::unauthenticated("This API key is not valid, or it has been revoked.")
                .into_response()
        }
        Err(e) => return Problem::from(e).into_response(),
    };
    match limits.take(&caller.key_id) {
        Ok(remaining) => {
            req.extensions_mut().insert(caller);
            let mut response = next.run(req).await;
            limits.headers(response.headers_mut(), remaining, 1);
            response
        }
        Err(wait) => {
            let mut response = Problem::too_many_requests(wait).into_response();
            limits.headers(response.headers_mut(), 0, wait);
            response
        }
    }
}

/// A POST with an `Idempotency-Key`: the first answer to that key and request again for 24
/// hours; with another request, 422; while the first is still being answered, 409.
pub async fn idempotency(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let Some(key) = req.headers().get("idempotency-key").cloned() else {
        return next.run(req).await;
    };
    let key = match key.to_str() {
        Ok(k) if !k.trim().is_empty() && k.len() <= 255 => k.trim().to_owned(),
        _ => {
            return Problem::bad_request(
                "An Idempotency-Key is 1 to 255 visible characters, e.g. a UUID.",
            )
            .into_response()
        }
    };
    let Some(caller) = req.extensions().get::<ApiCaller>().cloned() else {
        return next.run(req).await;
    };
    let (parts, body) = req.into_parts();
    let bytes = match to_bytes(body, BODY_LIMIT).await {
        Ok(b) => b,
        Err(_) => return Problem::bad_request("The request body is too large.").into_response(),
    };
    let mut hash = Sha256::new();
    hash.update(parts.uri.path().as_bytes());
    hash.update(b"\n");
    hash.update(parts.uri.query().unwrap_or("").as_bytes());
    hash.update(b"\n");
    hash.update(&bytes);
    let request_hash = hex::encode(hash.finalize());
    let keys = &state.services.api_keys;
    match keys.idempotent(&caller, &key, &request_hash).await {
        Err(e) => Problem::from(e).into_response(),
        Ok(Idempotent::OtherRequest) => Problem::idempotency_reused().into_response(),
        Ok(Idempotent::InProgress) => Problem::idempotency_in_progress().into_response(),
        Ok(Idempotent::Again { status, body }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            let kind = if status.is_success() {
                "application/json"
            } else {
                "application/problem+json"
            };
            let mut response = (status, body).into_response();
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
            response
                .headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            response
        }
        Ok(Idempotent::First) => {
            let response = next
                .run(Request::from_parts(parts, Body::from(bytes)))
                .await;
            let (parts, body) = response.into_parts();
            let bytes = to_bytes(body, BODY_LIMIT).await.unwrap_or_default();
            let answer = (!parts.status.is_server_error()).then(|| {
                (
                    parts.status.as_u16(),
                    String::from_utf8_lossy(&bytes).into_owned(),
                )
            });
            let kept = keys
                .remember(
                    &caller,
                    &key,
                    answer.as_ref().map(|(s, b)| (*s, b.as_str())),
                )
                .await;
            if let Err(e) = kept {
                return Problem::from(e).into_response();
            }
            Response::from_parts(parts, Body::from(bytes))
        }
    }
}
