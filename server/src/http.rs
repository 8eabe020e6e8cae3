//! The HTTP surface: the router shared by `main` and the integration tests.

use std::sync::Arc;

use axum::{
    extract::{FromRef, State},
    http::StatusCode,
    middleware::{from_fn, from_fn_with_state},
    response::IntoResponse,
    routing::get,
    Json, Router,
};
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tally_app::{ports::Services, shell, App};
use tally_core::billing::RetrySchedule;

use crate::{
    auth::Auth,
    clock::Clock,
    config::Settings,
    db::Database,
    gateway::{PaymentGateway, SandboxGateway},
    invoicing::Invoicing,
    mail::Mailer,
    middleware,
    outbox::Outbox,
    services,
};

/// Everything a request handler may need, behind one `Arc`: every request clones the state
/// several times (each middleware, each extractor), and one reference count is cheaper than
/// the dozens inside the services.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// What [`AppState`] shares; its fields are reached through `AppState` itself.
pub struct Shared {
    pub settings: Arc<Settings>,
    pub db: Database,
    pub clock: Arc<dyn Clock>,
    pub outbox: Outbox,
    pub auth: Auth,
    pub leptos: LeptosOptions,
    pub services: Services,
    pub gateway: Arc<dyn PaymentGateway>,
    pub invoicing: Invoicing,
}

impl AppState {
    /// Wires the services the app's server functions use, with the sandbox payment gateway.
    pub fn new(settings: Settings, db: Database, clock: Arc<dyn Clock>, mailer: Mailer) -> Self {
        Self::with_gateway(
            settings,
            db.clone(),
            clock,
            mailer,
            Arc::new(SandboxGateway::new(db.clone())),
        )
    }

    /// The same with another payment gateway (a real processor, or a test's own sandbox).
    pub fn with_gateway(
        settings: Settings,
        db: Database,
        clock: Arc<dyn Clock>,
        mailer: Mailer,
        gateway: Arc<dyn PaymentGateway>,
    ) -> Self {
        let leptos = LeptosOptions::builder()
            .output_name("tally")
            .hash_files(assets_are_hashed())
            .site_root(settings.site_root.display().to_string())
            .site_pkg_dir("pkg")
            .site_addr(settings.listen_addr)
            .build();
        let settings = Arc::new(settings);
        let outbox = Outbox::new(db.clone(), clock.clone(), mailer);
        let auth = Auth {
            db: db.clone(),
            clock: clock.clone(),
            outbox: outbox.clone(),
            settings: settings.clone(),
        };
        let invoicing = Invoicing {
            auth: auth.clone(),
            gateway: gateway.clone(),
            retry: RetrySchedule::default(),
        };
        let services = services::build(&db, &auth, gateway.clone(), invoicing.clone());
        Self(Arc::new(Shared {
            settings,
            db,
            clock,
            outbox,
            auth,
            leptos,
            services,
            gateway,
            invoicing,
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
        .route("/billing/invoices/{id}/pdf", get(invoice_pdf))
        .leptos_routes_with_context(&state, routes, context.clone(), move || {
            shell(shell_options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(context, shell))
        .layer(from_fn(middleware::keep_reactive_owner))
        .layer(from_fn_with_state(
            state.clone(),
            middleware::resolve_session,
        ))
        .layer(from_fn_with_state(
            state.clone(),
            middleware::refuse_cross_origin,
        ))
        .layer(from_fn(middleware::security_headers))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// `GET /billing/invoices/{id}/pdf`: the invoice as a PDF download, for roles that may view
/// billing, from the caller's account only (404 otherwise).
async fn invoice_pdf(
    State(state): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<String>,
    session: Option<axum::Extension<tally_app::auth::SessionContext>>,
) -> axum::response::Response {
    use axum::http::header;
    let Some(axum::Extension(session)) = session else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    if !session.admin.may(tally_core::roles::Action::ViewBilling) {
        return StatusCode::FORBIDDEN.into_response();
    }
    match crate::invoices::find_invoice(&state.db, &session.admin.account_id, &id).await {
        Ok(invoice) => (
            [
                (header::CONTENT_TYPE, "application/pdf".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!(
                        "attachment; filename=\"tally-invoice-{}.pdf\"",
                        invoice.number
                    ),
                ),
                (header::CACHE_CONTROL, "no-store".to_string()),
            ],
            crate::invoices::invoice_pdf(&invoice),
        )
            .into_response(),
        Err(tally_app::error::AppError::NotFound) => StatusCode::NOT_FOUND.into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// `GET /healthz`: 200 when the database answers a query, 503 otherwise.
async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    let database = state.db.backend().display_name();
    match state.db.ping().await {
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
