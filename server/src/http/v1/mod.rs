//! The REST API under `/v1`, for the seller's own systems (docs/api.md): customer accounts,
//! their users and usage, invoices and credit notes. A call presents an API key
//! (`Authorization: Bearer tly_…`) made by an Owner operator in the console; each endpoint
//! needs one scope of the key's. The handlers
//! call the services as the console does, with the key acting as the seller
//! ([`tally_core::actor::OperatorActor::api_key`]), so every change is audited as done by
//! that key.
//!
//! The OpenAPI 3.1 document at `/v1/openapi.json` is made from the handlers' `utoipa::path`
//! attributes and the types below, never written by hand; errors are RFC 9457 problem details.

pub mod accounts;
pub mod credit_notes;
pub mod guard;
pub mod invoices;
pub mod problem;
pub mod users;

use std::sync::Arc;

use axum::{
    extract::{FromRequest, FromRequestParts, Request},
    http::{header, request::Parts, HeaderValue},
    response::IntoResponse,
    routing::get,
    Router,
};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use tally_core::{actor::OperatorActor, api_keys::ApiScope};
use tally_services::seller::api_keys::ApiCaller;
use utoipa::{
    openapi::{
        security::{Http, HttpAuthScheme, SecurityScheme},
        OpenApi as Document,
    },
    IntoParams, Modify, OpenApi, ToSchema,
};
use utoipa_axum::router::OpenApiRouter;

use super::AppState;
use problem::Problem;

/// The most items one page of a list holds.
pub const PAGE_MAX: u32 = 100;
const PAGE_DEFAULT: u32 = 20;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tally API",
        description = "Customer accounts, their users and usage, invoices and credit notes, for the seller's own systems. \
Every call needs an API key made by an Owner in the operator console, sent as \
`Authorization: Bearer tly_…`; each operation names the scope it needs. Errors are RFC 9457 \
problem details (`application/problem+json`), naming the field that failed where one did. \
Lists are pages in the order things were made: pass a page's `next_cursor` as `cursor` for \
the next one.",
        license(name = "MIT", identifier = "MIT")
    ),
    modifiers(&Security),
    components(schemas(Problem, problem::FieldProblem)),
    tags(
        (name = "Accounts", description = "The seller's customer accounts: their plans and standing."),
        (name = "Users", description = "An account's users, the seats it is billed for."),
        (name = "Invoices", description = "An account's invoices, one a month, and their PDFs."),
        (name = "Credit notes", description = "Documents crediting part or all of a paid invoice, refunded or kept as credit."),
    )
)]
struct ApiDoc;

/// The bearer key, declared once for every operation.
struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut Document) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut bearer = Http::new(HttpAuthScheme::Bearer);
        bearer.description = Some("An API key, `tly_` and 32 letters and digits.".into());
        components.add_security_scheme("api_key", SecurityScheme::Http(bearer));
    }
}

/// The API's operations, each with its part of the document.
fn operations() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(utoipa_axum::routes!(accounts::list, accounts::create))
        .routes(utoipa_axum::routes!(accounts::get))
        .routes(utoipa_axum::routes!(accounts::set_plan))
        .routes(utoipa_axum::routes!(accounts::suspend))
        .routes(utoipa_axum::routes!(accounts::reactivate))
        .routes(utoipa_axum::routes!(accounts::close))
        .routes(utoipa_axum::routes!(accounts::usage))
        .routes(utoipa_axum::routes!(
            users::list,
            users::create,
            users::sync
        ))
        .routes(utoipa_axum::routes!(
            users::get,
            users::update,
            users::delete
        ))
        .routes(utoipa_axum::routes!(invoices::list))
        .routes(utoipa_axum::routes!(invoices::get))
        .routes(utoipa_axum::routes!(invoices::pdf))
        .routes(utoipa_axum::routes!(credit_notes::create))
        .routes(utoipa_axum::routes!(credit_notes::correct))
        .routes(utoipa_axum::routes!(credit_notes::list))
        .routes(utoipa_axum::routes!(credit_notes::get))
        .routes(utoipa_axum::routes!(credit_notes::pdf))
}

/// The API's document: the operations', and the errors each may answer with.
pub fn document() -> Document {
    let mut document = operations().into_openapi();
    problem::document_errors(&mut document);
    document
}

/// The API's routes behind their key, rate and idempotency, and its document.
pub fn router(state: &AppState) -> Router<AppState> {
    let (operations, _) = operations().split_for_parts();
    let json: Arc<str> = document()
        .to_pretty_json()
        .expect("the API document serialises")
        .into();
    let limits = guard::RateLimits::new(state.services.ctx.settings.api_rate_limit);
    operations
        // A whole account's users in one sync is more than axum's 2 MB default.
        .route_layer(axum::extract::DefaultBodyLimit::max(guard::BODY_LIMIT))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::idempotency,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            (state.clone(), limits),
            guard::authenticate,
        ))
        .route(
            "/v1/openapi.json",
            get(move || {
                let json = json.clone();
                async move {
                    (
                        [(
                            header::CONTENT_TYPE,
                            HeaderValue::from_static("application/json"),
                        )],
                        json.to_string(),
                    )
                }
            }),
        )
        // Nothing else under /v1: a problem, not the app's page.
        .route(
            "/v1/{*rest}",
            axum::routing::any(|| async { Problem::not_found().into_response() }),
        )
}

/// The key a call came with, found and not revoked.
pub struct Key {
    pub caller: ApiCaller,
    pub operator: OperatorActor,
}

impl Key {
    /// The key, if it has `scope`.
    pub fn needs(&self, scope: ApiScope) -> Result<&OperatorActor, Problem> {
        if self.caller.scopes.contains(&scope) {
            Ok(&self.operator)
        } else {
            Err(Problem::missing_scope(scope))
        }
    }
}

impl FromRequestParts<AppState> for Key {
    type Rejection = Problem;

    /// The key [`guard::authenticate`] found for this request.
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let caller = parts
            .extensions
            .get::<ApiCaller>()
            .cloned()
            .ok_or_else(|| {
                Problem::unauthenticated("Send an API key as `Authorization: Bearer tly_…`.")
            })?;
        let ip = parts
            .extensions
            .get::<tally_core::actor::Visitor>()
            .and_then(|v| v.ip.clone());
        let operator = caller.operator(ip, state.services.ctx.now());
        Ok(Key { caller, operator })
    }
}

/// A JSON body, refused as a problem (not axum's plain text) when it does not parse.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Problem> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Body(value)),
            Err(rejection) => Err(Problem::bad_request(rejection.body_text())),
        }
    }
}

/// A query string, refused as a problem when it does not parse.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Query(value)),
            Err(rejection) => Err(Problem::bad_request(rejection.body_text())),
        }
    }
}

/// Where a page of a list starts, and how long it is.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// The `next_cursor` of the page before; the first page without one.
    #[param(max_length = 64)]
    pub cursor: Option<String>,
    /// How many items, 1 to 100 (20 without one).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

impl PageQuery {
    /// The page's length and start, checked.
    pub fn checked(&self) -> Result<(u32, Option<&str>), Problem> {
        let limit = self.limit.unwrap_or(PAGE_DEFAULT);
        if !(1..=PAGE_MAX).contains(&limit) {
            return Err(Problem::invalid_field(
                "limit",
                &format!("Ask for 1 to {PAGE_MAX} items."),
            ));
        }
        let cursor = self.cursor.as_deref().filter(|c| !c.is_empty());
        if cursor.is_some_and(|c| c.len() > 64) {
            return Err(Problem::invalid_field(
                "cursor",
                "This cursor is not one a list gave.",
            ));
        }
        Ok((limit, cursor))
    }
}

/// A page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub data: Vec<T>,
    /// Whether there are more items after these.
    pub has_more: bool,
    /// What to pass as `cursor` for the next page; null on the last.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// `items` read with one more than `limit` asked for: the extra one says there is more.
    pub fn of(mut items: Vec<T>, limit: u32, id: impl Fn(&T) -> String) -> Self {
        let has_more = items.len() > limit as usize;
        items.truncate(limit as usize);
        let next_cursor = if has_more { items.last().map(id) } else { None };
        Page {
            data: items,
            has_more,
            next_cursor,
        }
    }
}

/// UTC milliseconds as RFC 3339, to the second.
pub fn timestamp(millis: i64) -> String {
    chrono::DateTime::from_timestamp_millis(millis)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
