//! The HTTP surface: the router shared by `main` and the integration tests, and the state
//! every handler reaches.
//!
//! A request's path: `middleware` (security headers, cross-origin and other-host refusal, the
//! client's address and the caller's `Actor` from the session) → a server function of
//! `tally_app::api` (who is calling, may they, is the input valid) → a service of
//! `tally_services` (SQL, the gateway) → back, a `ServiceError` becoming an `AppError` whose
//! status is set when it is written. Plain routes here call the services the same way.

pub mod card_guard;
pub mod metrics;
pub mod middleware;
pub mod pdf;
pub mod plain_forms;
pub mod public_pages;
pub mod sandbox;
pub mod scim;
pub mod v1;
pub mod webhooks;

use std::sync::Arc;

use axum::{
    extract::{FromRef, State},
    http::StatusCode,
    middleware::{from_fn, from_fn_with_state},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tally_app::{error::AppError, shell, App};
use tally_services::Services;

/// Everything a request handler may need, behind one `Arc`: every request clones the state
/// several times (each middleware, each extractor).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// What [`AppState`] shares; its fields are reached through `AppState` itself.
pub struct Shared {
    pub services: Services,
    pub leptos: LeptosOptions,
}

impl AppState {
    pub fn new(services: Services) -> Self {
        let settings = &services.ctx.settings;
        let leptos = LeptosOptions::builder()
            .output_name("tally")
            .hash_files(assets_are_hashed())
            .site_root(settings.site_root.display().to_string())
            .site_pkg_dir("pkg")
            .site_addr(settings.listen_addr)
            .build();
        Self(Arc::new(Shared { services, leptos }))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos.clone()
    }
}

/// Whether cargo-leptos gave the site's JS, wasm and CSS hashed names: it then lists them in
/// `hash.txt` beside the server binary. Test binaries have none and link the plain names.
fn assets_are_hashed() -> bool {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("hash.txt")))
        .is_some_and(|file| file.is_file())
}

/// The app's routes, walked once per process.
///
/// Walking them sets a process-wide flag in leptos_server that makes any resource first polled
/// meanwhile wait forever (leptos-rs/leptos#4773). A second router built while a first one
/// serves pages (several test servers in one process, say) would hang those pages' renders, so
/// the walk happens once, before anything in the process can serve.
fn route_list() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> =
        std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// The whole router: health check, metrics, the visitor's pages, the processor's webhooks
/// (or the sandbox processor's API), the invoice PDF, server functions, pages and static files.
pub fn build_router(state: AppState) -> Router {
    let routes = route_list();
    let services = state.services.clone();
    let context = move || {
        provide_context(services.clone());
        leptos::nonce::provide_nonce();
    };
    let shell_options = state.leptos.clone();
    let draw = {
        let options = state.leptos.clone();
        let context = context.clone();
        let render = leptos_axum::render_app_async_with_context(
            move || {
                context();
                provide_context(options.clone());
            },
            {
                let options = state.leptos.clone();
                move || shell(options.clone())
            },
        );
        let draw: plain_forms::DrawPage = Arc::new(move |req| render(req));
        draw
    };
    let mut router = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics::scrape))
        .route("/billing/invoices/{id}/pdf", get(pdf::invoice_document))
        .route("/billing/invoices/{id}/xml", get(pdf::invoice_xml))
        .route("/billing/credit-notes/{id}/xml", get(pdf::credit_note_xml))
        .route("/billing/export", get(pdf::export))
        .route(
            "/billing/credit-notes/{id}/pdf",
            get(pdf::credit_note_document),
        )
        .route("/webhooks/stripe", post(webhooks::stripe))
        // The visitor's pages: plain HTML, no wasm.
        .route(
            "/login",
            get(public_pages::sign_in).post(public_pages::sign_in_submit),
        )
        .route(
            "/forgot-password",
            get(public_pages::forgot).post(public_pages::forgot_submit),
        )
        .route(
            "/reset-password/{token}",
            get(public_pages::reset).post(public_pages::reset_submit),
        );
    // The REST API for the seller's systems, with its OpenAPI document.
    router = router.merge(v1::router(&state));
    // SCIM provisioning for each customer account's identity provider.
    router = router.merge(scim::router(&state));
    if state.services.sandbox.is_some() {
        router = router.route(
            "/sandbox/v1/setup_intents/{id}/confirm",
            post(sandbox::confirm_setup),
        );
    }
    router
        .leptos_routes_with_context(&state, routes, context.clone(), move || {
            shell(shell_options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(context, shell))
        .layer(from_fn(middleware::keep_reactive_owner))
        // Inside the plain-form handler, so a plain form refused here gets its page back.
        .layer(from_fn_with_state(
            state.clone(),
            card_guard::refuse_card_numbers,
        ))
        .layer(from_fn_with_state(draw, plain_forms::answer))
        .layer(from_fn(metrics::track))
        .layer(from_fn_with_state(
            state.clone(),
            middleware::resolve_session,
        ))
        .layer(from_fn_with_state(
            state.clone(),
            middleware::refuse_cross_origin,
        ))
        .layer(from_fn_with_state(
            state.clone(),
            middleware::refuse_other_hosts,
        ))
        .layer(from_fn_with_state(
            state.clone(),
            middleware::security_headers,
        ))
        // A request's span names its method and path, never its query string: a search box
        // or a link's query may carry what must not reach a log.
        .layer(
            tower_http::trace::TraceLayer::new_for_http().make_span_with(
                |req: &axum::http::Request<axum::body::Body>| {
                    let id = req
                        .extensions()
                        .get::<middleware::RequestId>()
                        .map(|r| r.0.as_str())
                        .unwrap_or("");
                    tracing::info_span!("request", method = %req.method(), path = %middleware::loggable_path(req.uri().path()), request_id = %id)
                },
            ),
        )
        .layer(from_fn(middleware::request_id))
        .with_state(state)
}

/// An error outside a server function (a plain route), answered with the status the error
/// stands for and, like a server function's, the error as JSON.
pub fn error_response(error: AppError) -> Response {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, Json(error)).into_response()
}

/// `GET /healthz`: 200 when the database answers a query, 503 otherwise.
async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    let db = &state.services.ctx.db;
    let database = db.backend().display_name();
    match db.ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(serde_json::json!({ "status": "ok", "database": database })),
        ),
        Err(e) => {
            tracing::error!(error = %e, "health check: database unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({ "status": "unavailable", "database": database })),
            )
        }
    }
}
