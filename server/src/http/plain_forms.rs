//! Plain form posts: a form of the app sent before its page is live, or with scripts off
//! (`tally_app::components::form`). Such a post goes to the form's server function like the
//! app's own calls do, but a person is looking at the answer, so it is answered as a page:
//!
//! - success: a 303 to where the function sends the person (its redirect), else back to the
//!   page the form was on — with the cookies the function set;
//! - refusal: that page drawn again by the server, with the refusal and what was typed (never
//!   a password) in an `Echo` the form's fields read, under the refusal's status.
//!
//! A browser's own form post accepts `text/html`; the app's calls accept only their encoding,
//! and go straight through.

use std::{future::Future, pin::Pin, sync::Arc};

use axum::{
    body::{to_bytes, Body},
    extract::{Request, State},
    http::{header, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};
use tally_app::{
    components::form::{Echo, DONE_FIELD, PAGE_FIELD},
    error::AppError,
};
use tally_core::redirect::safe_next;

use super::middleware::owner_follows;

/// Draws a page of the app for a request (Leptos's renderer, with the router's context).
pub type DrawPage =
    Arc<dyn Fn(Request) -> Pin<Box<dyn Future<Output = Response> + Send>> + Send + Sync>;

/// The largest plain form read: the forms are a few short fields.
const MAX_FORM_BYTES: usize = 64 * 1024;

fn is_plain_form_post(req: &Request) -> bool {
    let header_has = |name: header::HeaderName, what: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains(what))
    };
    req.method() == Method::POST
        && req.uri().path().starts_with("/api/")
        && header_has(header::ACCEPT, "text/html")
        && header_has(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
}

/// The middleware: plain form posts are answered as pages, everything else goes through.
pub async fn answer(State(draw): State<DrawPage>, req: Request, next: Next) -> Response {
    if !is_plain_form_post(&req) {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_FORM_BYTES).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let fields: Vec<(String, String)> = form_urlencoded::parse(&bytes).into_owned().collect();
    let field = |wanted: &str| {
        fields
            .iter()
            .find(|(name, _)| name == wanted)
            .map(|(_, path)| safe_next(Some(path)))
    };
    let page = field(PAGE_FIELD).unwrap_or_else(|| "/".to_string());
    let done = field(DONE_FIELD).unwrap_or_else(|| page.clone());

    let mut call = Request::from_parts(parts.clone(), Body::from(bytes));
    call.headers_mut()
        .insert(header::ACCEPT, HeaderValue::from_static("application/json"));
    let answer = next.run(call).await;
    let cookies: Vec<HeaderValue> = answer
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .cloned()
        .collect();

    let mut res = if answer.status().is_success() {
        let to = answer
            .headers()
            .get(header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .map(|l| safe_next(Some(l)))
            .unwrap_or(done);
        Redirect::to(&to).into_response()
    } else {
        let status = answer.status();
        let body = to_bytes(answer.into_body(), MAX_FORM_BYTES)
            .await
            .unwrap_or_default();
        let error = serde_json::from_slice::<AppError>(&body).unwrap_or_else(|_| {
            tracing::warn!(%status, "a plain form's server function answered with no error");
            AppError::Internal(String::new())
        });
        let echo = Echo::new(parts.uri.path(), fields, error);
        draw_again(&draw, parts, &page, echo).await
    };
    for cookie in cookies {
        res.headers_mut().append(header::SET_COOKIE, cookie);
    }
    res
}

/// The page `page` drawn for the person who sent the refused post, with its echo, under the
/// refusal's status. Never cached: it shows what was typed.
async fn draw_again(
    draw: &DrawPage,
    mut parts: axum::http::request::Parts,
    page: &str,
    echo: Echo,
) -> Response {
    let status = StatusCode::from_u16(echo.error.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let retry_after = echo.error.retry_after();
    parts.method = Method::GET;
    parts.uri = page
        .parse()
        .unwrap_or_else(|_| axum::http::Uri::from_static("/"));
    parts.headers.remove(header::CONTENT_TYPE);
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.extensions.insert(echo);
    let mut res = owner_follows(draw(Request::from_parts(parts, Body::empty()))).await;
    if res.status().is_success() {
        *res.status_mut() = status;
    }
    let headers = res.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(seconds) = retry_after {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    res
}
