//! The HTTP surface: the router shared by `main` and the integration tests, and the state
//! every handler reaches.
//!
//! A request's path: `middleware` (security headers, cross-origin refusal, the client's
//! address and session) → a server function of `tally_app::api` (who is calling, may they,
//! is the input valid) → `ports` (the app's port, implemented here) → a service (SQL) → back
//! through `ports`, which turns server types into the app's page structs and a
//! `ServiceError` into an `AppError`, whose status is set when it is written.

pub mod middleware;
pub mod public_pages;

use std::sync::Arc;

use axum::{
    extract::{FromRef, Path, State},
    http::{header, StatusCode},
    middleware::{from_fn, from_fn_with_state},
    response::{IntoResponse, Response},
    routing::get,
    Extension, Json, Router,
};
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tally_app::{auth::SessionContext, error::AppError, ports::Services, shell, App};
use tally_core::{billing::RetrySchedule, roles::Action};

use crate::{
    auth::{sessions::Sessions, Auth},
    billing_run::BillingRun,
    charges::Charging,
    clock::Clock,
    config::{GatewaySettings, Settings},
    context::{Context, Parts},
    db::Database,
    gateway::{PaymentGateway, SandboxGateway},
    invoice_pdf,
    invoices::Invoices,
    mail::Mailer,
    outbox::Outbox,
    passwords::Passwords,
    ports,
    scheduler::Scheduler,
    secrets::Keys,
    stripe::StripeGateway,
};

/// Everything a request handler may need, behind one `Arc`: every request clones the state
/// several times (each middleware, each extractor), and one reference count is cheaper than
/// the dozens inside the services.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// What [`AppState`] shares; its fields are reached through `AppState` itself.
pub struct Shared {
    pub ctx: Context,
    pub leptos: LeptosOptions,
    /// The app's ports, for its server functions.
    pub services: Services,
    pub sessions: Sessions,
    pub invoices: Invoices,
    pub billing_run: BillingRun,
    pub charging: Charging,
    pub scheduler: Scheduler,
    /// The Stripe gateway, for its webhooks, when it is the one in use.
    pub stripe: Option<StripeGateway>,
}

impl AppState {
    /// Wires the services with the payment gateway the settings name (`TALLY_GATEWAY`).
    pub fn new(
        settings: Settings,
        db: Database,
        clock: Arc<dyn Clock>,
        mailer: Mailer,
        keys: Keys,
    ) -> Self {
        let gateway: Arc<dyn PaymentGateway> = match &settings.gateway {
            GatewaySettings::Sandbox => Arc::new(SandboxGateway::new(db.clone())),
            GatewaySettings::Stripe(stripe) => {
                Arc::new(StripeGateway::new(stripe.clone(), db.clone()))
            }
        };
        Self::with_gateway(settings, db, clock, mailer, keys, gateway)
    }

    /// The same with another payment gateway (a real processor, or a test's own sandbox).
    pub fn with_gateway(
        settings: Settings,
        db: Database,
        clock: Arc<dyn Clock>,
        mailer: Mailer,
        keys: Keys,
        gateway: Arc<dyn PaymentGateway>,
    ) -> Self {
        let leptos = LeptosOptions::builder()
            .output_name("tally")
            .hash_files(assets_are_hashed())
            .site_root(settings.site_root.display().to_string())
            .site_pkg_dir("pkg")
            .site_addr(settings.listen_addr)
            .build();
        let outbox = Outbox::new(db.clone(), clock.clone(), mailer);
        let ctx = Context::new(Parts {
            db,
            clock,
            outbox,
            settings: Arc::new(settings),
            gateway,
            passwords: Passwords::per_core(),
            keys,
        });
        let charging = Charging::new(ctx.clone(), RetrySchedule::default());
        let billing_run = BillingRun::new(ctx.clone(), charging.clone());
        let scheduler = Scheduler::new(ctx.clone(), billing_run.clone(), charging.clone());
        let auth = Auth::new(ctx.clone());
        let services = ports::build(&ctx, &auth, &charging);
        let stripe = match &ctx.settings.gateway {
            GatewaySettings::Stripe(s) => Some(StripeGateway::new(s.clone(), ctx.db.clone())),
            GatewaySettings::Sandbox => None,
        };
        Self(Arc::new(Shared {
            stripe,
            sessions: auth.sessions().clone(),
            invoices: Invoices::new(ctx.clone()),
            ctx,
            leptos,
            services,
            billing_run,
            charging,
            scheduler,
        }))
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

/// The whole router: health check, server functions, pages and static files.
pub fn build_router(state: AppState) -> Router {
    let routes = route_list();
    let services = state.services.clone();
    let context = move || {
        provide_context(services.clone());
        leptos::nonce::provide_nonce();
    };
    let shell_options = state.leptos.clone();
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(crate::metrics::scrape))
        .route("/billing/invoices/{id}/pdf", get(invoice_document))
        .route(
            "/webhooks/stripe",
            axum::routing::post(crate::stripe::webhook),
        )
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
        )
        .leptos_routes_with_context(&state, routes, context.clone(), move || {
            shell(shell_options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(context, shell))
        .layer(from_fn(middleware::keep_reactive_owner))
        .layer(from_fn(crate::metrics::track))
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
                    tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
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

/// `GET /billing/invoices/{id}/pdf`: the invoice as a PDF download, for roles that may view
/// billing, from the caller's account only (404 otherwise).
async fn invoice_document(
    State(state): State<AppState>,
    Path(id): Path<String>,
    session: Option<Extension<SessionContext>>,
) -> Response {
    let Some(Extension(session)) = session else {
        return error_response(AppError::Unauthenticated);
    };
    if !session.admin.may(Action::ViewBilling) {
        return error_response(AppError::Forbidden);
    }
    let invoice = match state.invoices.get(&session.admin.account_id, &id).await {
        Ok(invoice) => invoice,
        Err(e) => return error_response(e.into()),
    };
    let name = format!(
        "attachment; filename=\"tally-invoice-{}.pdf\"",
        invoice.number
    );
    match tokio::task::spawn_blocking(move || invoice_pdf::render(&invoice)).await {
        Ok(pdf) => (
            [
                (header::CONTENT_TYPE, "application/pdf".to_string()),
                (header::CONTENT_DISPOSITION, name),
                (header::CACHE_CONTROL, "no-store".to_string()),
            ],
            pdf,
        )
            .into_response(),
        Err(e) => error_response(AppError::Internal(crate::error::log_unexpected(
            "rendering an invoice PDF",
            &e,
        ))),
    }
}

/// `GET /healthz`: 200 when the database answers a query, 503 otherwise.
async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    let db = &state.ctx.db;
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
