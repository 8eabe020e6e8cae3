//! Request middleware: client address and session resolution, cross-origin refusal for
//! data-changing requests, a page's reactive owner kept with its task, and the security
//! headers docs/security.md lists.

use std::{
    future::Future,
    net::SocketAddr,
    pin::Pin,
    task::{Context, Poll},
};

use axum::{
    body::Body,
    extract::{ConnectInfo, State},
    http::{header, HeaderValue, Method, Request, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use leptos::prelude::Owner;
use tally_app::error::AppError;
use tally_core::actor::Visitor;
use tally_services::{
    identity::{
        accounts::sessions::{cookie_value, PENDING_COOKIE, SESSION_COOKIE},
        operators::sessions::{OPERATOR_COOKIE, OPERATOR_PENDING_COOKIE},
    },
    platform::error::ServiceError,
};

use crate::http::AppState;

/// The client's address: with `hops` proxies of one's own in front, the `hops`-th address of
/// `X-Forwarded-For` from the right, every line of the header joined in order (a proxy may
/// add a line rather than extend one); else, or when that entry is missing or no address,
/// the peer's. Entries left of it were written by the client and are never believed.
pub fn client_address(peer: Option<String>, forwarded: &[&str], hops: u32) -> Option<String> {
    if hops == 0 {
        return peer;
    }
    let entries: Vec<&str> = forwarded
        .iter()
        .flat_map(|line| line.split(','))
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .collect();
    let chosen = entries
        .len()
        .checked_sub(hops as usize)
        .and_then(|i| entries.get(i))
        .and_then(|e| e.parse::<std::net::IpAddr>().ok());
    chosen.map(|ip| ip.to_string()).or(peer)
}

/// Attaches the client as a `Visitor` (their address) and, for a live session cookie, the
/// caller's `Actor` and the session's key; for a half-done sign-in's cookie, that sign-in.
/// The caller's address is [`client_address`]'s.
///
/// When the session cannot be looked up (the database is gone), the request is answered
/// 503 with a reference id, never served as if signed out.
pub async fn resolve_session(
    State(state): State<AppState>,
    mut req: Request<Body>,
    next: Next,
) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string());
    let settings = &state.services.ctx.settings;
    let forwarded: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let visitor = Visitor {
        ip: client_address(peer, &forwarded, settings.trust_proxy),
    };
    let cookies: Vec<String> = req
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_string))
        .collect();
    let api = req.uri().path().starts_with("/api/");
    let sessions = &state.services.sessions;
    let session_cookie = sessions.cookie_name(SESSION_COOKIE);
    if let Some(token) = cookie_value(cookies.iter().map(String::as_str), &session_cookie) {
        match sessions.resolve(&token, visitor.ip.clone()).await {
            Ok(Some((actor, key))) => {
                req.extensions_mut().insert(actor);
                req.extensions_mut().insert(key);
            }
            Ok(None) => {}
            Err(e) => return unavailable(api, e),
        }
    }
    let pending_cookie = sessions.cookie_name(PENDING_COOKIE);
    if let Some(token) = cookie_value(cookies.iter().map(String::as_str), &pending_cookie) {
        match sessions.resolve_pending(&token).await {
            Ok(Some(pending)) => {
                req.extensions_mut().insert(pending);
            }
            Ok(None) => {}
            Err(e) => return unavailable(api, e),
        }
    }
    // The seller's staff: their own cookies, resolved to an operator, never to an Actor.
    let operators = &state.services.operators.sessions;
    let operator_cookie = operators.cookie_name(OPERATOR_COOKIE);
    if let Some(token) = cookie_value(cookies.iter().map(String::as_str), &operator_cookie) {
        match operators.resolve(&token, visitor.ip.clone()).await {
            Ok(Some((operator, key))) => {
                req.extensions_mut().insert(operator);
                req.extensions_mut().insert(key);
            }
            Ok(None) => {}
            Err(e) => return unavailable(api, e),
        }
    }
    let operator_pending = operators.cookie_name(OPERATOR_PENDING_COOKIE);
    if let Some(token) = cookie_value(cookies.iter().map(String::as_str), &operator_pending) {
        match operators.resolve_pending(&token).await {
            Ok(Some(pending)) => {
                req.extensions_mut().insert(pending);
            }
            Ok(None) => {}
            Err(e) => return unavailable(api, e),
        }
    }
    req.extensions_mut().insert(visitor);
    next.run(req).await
}

/// 503 for a request whose session could not be read: the error logged under a reference,
/// the reference in the answer — JSON for a server function, as its errors are; a short page
/// for a page load.
fn unavailable(server_function: bool, e: ServiceError) -> Response {
    let error = AppError::from(e);
    let status = StatusCode::SERVICE_UNAVAILABLE;
    if server_function {
        return (status, axum::Json(error)).into_response();
    }
    let reference = match &error {
        AppError::Internal(reference) => reference.as_str(),
        _ => "",
    };
    let page = maud::html! {
        (maud::DOCTYPE)
        html lang="en" {
            head { meta charset="utf-8"; title { "Tally is unavailable" } }
            body {
                main {
                    h1 { "Tally is unavailable" }
                    p { "Tally can't reach its database right now. Try again in a minute (reference " (reference) ")." }
                }
            }
        }
    };
    (status, axum::response::Html(page.into_string())).into_response()
}

/// Refuses (421) a request for a host that is not the portal's own (`TALLY_PUBLIC_URL`'s, or
/// any loopback name when that is loopback): a page on another site whose name was made to
/// point at the server (DNS rebinding) gets nothing. `/healthz` answers any host, for load
/// balancers that check a server by its address.
pub async fn refuse_other_hosts(
    State(state): State<AppState>,
    req: Request<Body>,
    next: Next,
) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| req.uri().authority().map(|a| a.to_string()));
    let served = host
        .as_deref()
        .is_some_and(|h| state.services.ctx.settings.serves_host(h));
    if !served && req.uri().path() != "/healthz" {
        tracing::warn!(?host, path = %loggable_path(req.uri().path()), "request for another host refused");
        return (
            StatusCode::MISDIRECTED_REQUEST,
            "This server does not answer for that host name.",
        )
            .into_response();
    }
    next.run(req).await
}

/// Refuses data-changing requests that a browser marks as coming from another site: by
/// `Sec-Fetch-Site`, or failing that by `Origin`. Requests with neither header come from
/// programs, not browsers, and carry no ambient cookie risk.
pub async fn refuse_cross_origin(
    State(state): State<AppState>,
    req: Request<Body>,
    next: Next,
) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe {
        let headers = req.headers();
        let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
        let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
        let cross = match (fetch_site, origin) {
            (Some(site), _) => !matches!(site, "same-origin" | "none"),
            (None, Some(origin)) => {
                let own = origin.trim_end_matches('/') == state.services.ctx.settings.public_url
                    || host.is_some_and(|h| {
                        origin == format!("http://{h}") || origin == format!("https://{h}")
                    });
                !own
            }
            (None, None) => false,
        };
        if cross {
            tracing::warn!(method = %req.method(), path = %loggable_path(req.uri().path()), ?origin, ?fetch_site, "cross-origin request refused");
            return (
                StatusCode::FORBIDDEN,
                "Cross-origin requests are not allowed.",
            )
                .into_response();
        }
    }
    next.run(req).await
}

/// Carries Leptos's thread-local "current owner" with the request's task when tokio moves the
/// task to another thread, and gives each thread back its own afterwards.
///
/// Leptos 0.8 (`leptos_integration_utils` `from_app`) sets a page's root owner as the thread's
/// current owner, awaits the render, and then reads the split-wasm manifest and the nonce
/// through the thread's current owner, outside any `owner.with`. When the render had waited
/// on the database, the task often resumed on the other worker thread, whose current owner
/// belonged to another request or to none: the lookup failed and the page went out without
/// the preload links of its wasm chunks (docs/performance.md has how often).
/// Server functions, under `/api/`, do not read the thread's owner, and go straight through.
pub async fn keep_reactive_owner(req: Request<Body>, next: Next) -> Response {
    if req.uri().path().starts_with("/api/") {
        return next.run(req).await;
    }
    OwnerFollowsTask {
        inner: Box::pin(next.run(req)),
        owner: None,
    }
    .await
}

/// `render` with Leptos's current owner following its task across threads (as
/// [`keep_reactive_owner`] does for a page's request): for a page drawn outside the router.
pub fn owner_follows<F: Future>(render: F) -> impl Future<Output = F::Output> {
    OwnerFollowsTask {
        inner: Box::pin(render),
        owner: None,
    }
}

struct OwnerFollowsTask<F> {
    inner: Pin<Box<F>>,
    /// The current owner this task left on its thread when it last returned.
    owner: Option<Owner>,
}

impl<F: Future> Future for OwnerFollowsTask<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = &mut *self;
        let threads_own = Owner::current();
        if let Some(owner) = &this.owner {
            owner.set();
        }
        let poll = this.inner.as_mut().poll(cx);
        let left = Owner::current();
        match threads_own {
            Some(owner) => owner.set(),
            None => {
                if let Some(owner) = left.clone() {
                    owner.unset();
                }
            }
        }
        this.owner = left;
        poll
    }
}

/// The policy for responses that set none of their own (JSON, static files, errors).
/// Pages set a stricter one with a per-response nonce for Leptos' hydration script.
pub const DEFAULT_CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
    style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
    object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Adds the security headers every response carries, and `no-store` to pages and data; and
/// HSTS when the portal's public address is https.
pub async fn security_headers(
    State(state): State<AppState>,
    req: Request<Body>,
    next: Next,
) -> Response {
    let https = state
        .services
        .ctx
        .settings
        .public_url
        .starts_with("https://");
    let path = req.uri().path();
    // A hashed name changes with its content, so its copy never goes stale.
    let static_cache = if is_hashed_asset(path) {
        Some("public, max-age=31536000, immutable")
    } else if path.starts_with("/pkg/") || path == "/favicon.svg" {
        Some("no-cache")
    } else {
        None
    };
    let mut res = next.run(req).await;
    let ok = res.status().is_success();
    let h = res.headers_mut();
    let mut set = |name: header::HeaderName, value: &'static str| {
        if !h.contains_key(&name) {
            h.insert(name, HeaderValue::from_static(value));
        }
    };
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::REFERRER_POLICY, "same-origin");
    set(header::X_FRAME_OPTIONS, "DENY");
    set(header::CONTENT_SECURITY_POLICY, DEFAULT_CSP);
    if https {
        set(
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=63072000; includeSubDomains",
        );
    }
    match static_cache {
        None => set(header::CACHE_CONTROL, "no-store"),
        Some(value) if ok => set(header::CACHE_CONTROL, value),
        Some(_) => {}
    }
    res
}

/// `/pkg/tally.<hash>.wasm` and the like: a name with a content hash (cargo-leptos writes
/// 22 URL-safe base64 characters of an MD5) between its stem and extension.
pub fn is_hashed_asset(path: &str) -> bool {
    let Some(name) = path.strip_prefix("/pkg/") else {
        return false;
    };
    let parts: Vec<&str> = name.split('.').collect();
    parts.len() == 3
        && parts[1].len() >= 16
        && parts[1]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

#[cfg(test)]
mod tests {
    use super::is_hashed_asset;

    #[test]
    fn only_content_hashed_package_files_count_as_hashed() {
        assert!(is_hashed_asset("/pkg/tally.Zx3kP0_qR-8vY2mN4bW7cA.wasm"));
        assert!(is_hashed_asset("/pkg/tally.Zx3kP0_qR-8vY2mN4bW7cA.css"));
        // With split wasm: the loader and the chunks.
        assert!(is_hashed_asset(
            "/pkg/__wasm_split.JzKxdk7_kqRV4qu2PmYqFg.js"
        ));
        assert!(is_hashed_asset("/pkg/chunk_10.0K2L63TSmrW7onWu-0HRtQ.wasm"));
        assert!(is_hashed_asset(
            "/pkg/split___billing_route_view_5948787967485500767.q7vEER-JbhWsd0_qPXAaaw.wasm"
        ));
        assert!(!is_hashed_asset("/pkg/__wasm_split_manifest.json"));
        assert!(!is_hashed_asset("/pkg/tally.wasm"));
        assert!(!is_hashed_asset("/pkg/tally_bg.wasm"));
        assert!(!is_hashed_asset("/pkg/tally.short.js"));
        assert!(!is_hashed_asset("/favicon.svg"));
        assert!(!is_hashed_asset("/pkg/tally.Zx3kP0/qR-8vY2mN4bW7cA.js"));
    }
}

/// A request's id (see `telemetry::REQUEST_ID`), kept in its extensions for the request span.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// Gives each request an id: in its extensions (the trace span reads it), in scope for the
/// error references made while serving it, and in the answer's `X-Request-Id`.
pub async fn request_id(mut req: axum::extract::Request, next: Next) -> Response {
    let id = tally_services::platform::crypto::request_id();
    req.extensions_mut().insert(RequestId(id.clone()));
    let mut res = tally_services::platform::telemetry::REQUEST_ID
        .scope(id.clone(), next.run(req))
        .await;
    if let Ok(value) = axum::http::HeaderValue::from_str(&id) {
        res.headers_mut().insert("x-request-id", value);
    }
    res
}

/// A path as the logs may hold it: the token of an invitation or reset link (a password's
/// worth while it is valid) is replaced by `***`.
pub fn loggable_path(path: &str) -> String {
    let mut out = Vec::new();
    let mut secret_next = false;
    for segment in path.split('/') {
        if secret_next && !segment.is_empty() {
            out.push("***");
        } else {
            out.push(segment);
        }
        secret_next = matches!(segment, "invitation" | "reset-password");
    }
    out.join("/")
}

#[cfg(test)]
mod client_address_tests {
    use super::client_address;

    fn peer() -> Option<String> {
        Some("10.0.0.9".into())
    }

    #[test]
    fn the_configured_hop_from_the_right_of_every_line_joined() {
        // Without proxies of one's own the header is the client's to write: ignored.
        assert_eq!(client_address(peer(), &["203.0.113.7"], 0), peer());
        // One load balancer: the last entry, what it saw.
        assert_eq!(
            client_address(peer(), &["1.1.1.1, 203.0.113.7"], 1).as_deref(),
            Some("203.0.113.7")
        );
        // Two proxies, one of which added a header line of its own: the lines are one list.
        let lines = ["6.6.6.6, 198.51.100.4", "192.0.2.10"];
        assert_eq!(
            client_address(peer(), &lines, 2).as_deref(),
            Some("198.51.100.4")
        );
        assert_eq!(
            client_address(peer(), &lines, 1).as_deref(),
            Some("192.0.2.10")
        );
        // A forged entry on the left never wins, however many are sent.
        let forged = ["9.9.9.9, 8.8.8.8, 7.7.7.7, 198.51.100.4, 192.0.2.10"];
        assert_eq!(
            client_address(peer(), &forged, 2).as_deref(),
            Some("198.51.100.4")
        );
        // Too few entries, or not an address: the peer's.
        assert_eq!(client_address(peer(), &["192.0.2.10"], 2), peer());
        assert_eq!(client_address(peer(), &["unknown"], 1), peer());
        assert_eq!(client_address(peer(), &[], 1), peer());
        // IPv6 is written the one way.
        assert_eq!(
            client_address(peer(), &["2001:DB8::0:1"], 1).as_deref(),
            Some("2001:db8::1")
        );
    }
}

#[cfg(test)]
mod loggable_path_tests {
    use super::loggable_path;

    #[test]
    fn link_tokens_never_reach_a_log() {
        assert_eq!(loggable_path("/invitation/abcDEF123"), "/invitation/***");
        assert_eq!(
            loggable_path("/reset-password/abc/more"),
            "/reset-password/***/more"
        );
        assert_eq!(loggable_path("/users"), "/users");
        assert_eq!(loggable_path("/invitation/"), "/invitation/");
        assert_eq!(
            loggable_path("/api/account/set-password"),
            "/api/account/set-password"
        );
    }
}
