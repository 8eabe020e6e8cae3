//! SCIM 2.0 (RFC 7643/7644) under `/scim/v2`, one tenant per customer account: the account's
//! identity provider presents a token its administrators made on the Users page
//! (`Authorization: Bearer scim_…`) and reaches that account's users, and nothing else. The
//! users are the Users page's own (docs/scim.md); the discovery endpoints say what is
//! supported. Answers are `application/scim+json`; errors are SCIM error messages.

mod discovery;
mod users;

use axum::{
    extract::{Request, State},
    http::{header, HeaderValue, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
    routing::{get, post},
    Router,
};
use serde_json::{json, Value};
use tally_core::actor::{Actor, Visitor};

use super::AppState;

/// Where the SCIM endpoints live.
pub const BASE: &str = "/scim/v2";

const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const CONTENT_TYPE: &str = "application/scim+json";

/// A SCIM error message (RFC 7644 §3.12).
#[derive(Debug)]
pub struct ScimError {
    status: StatusCode,
    scim_type: Option<&'static str>,
    detail: String,
}

impl ScimError {
    pub fn new(
        status: StatusCode,
        scim_type: Option<&'static str>,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            status,
            scim_type,
            detail: detail.into(),
        }
    }

    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            None,
            "Nothing here: no such resource in this account.",
        )
    }

    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some("invalidValue"), detail)
    }

    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some("invalidSyntax"), detail)
    }
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.as_u16().to_string(),
            "detail": self.detail,
        });
        if let Some(t) = self.scim_type {
            body["scimType"] = json!(t);
        }
        let mut res = scim_json(self.status, &body);
        if self.status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"scim\""),
            );
        }
        res
    }
}

impl From<tally_services::platform::error::ServiceError> for ScimError {
    fn from(e: tally_services::platform::error::ServiceError) -> Self {
        use tally_services::platform::error::ServiceError as E;
        match e {
            E::NotFound => Self::not_found(),
            E::Forbidden | E::FreshCheckRequired | E::TwoStepSetupRequired => {
                Self::new(StatusCode::FORBIDDEN, None, "This token may not do this.")
            }
            // A rule the write breaks (the account's user limit, a change meanwhile): no
            // scimType, which would tell the identity provider the user exists already (that
            // is ScimRefusal::Uniqueness).
            E::Conflict(why) => Self::new(StatusCode::CONFLICT, None, why),
            E::Invalid(errors) => Self::invalid_value(
                errors
                    .iter()
                    .map(|(f, m)| format!("{f}: {m}"))
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            other => {
                let reference = tally_services::platform::crypto::short_random();
                tracing::error!(error = %other, reference = %reference, "SCIM request failed");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    None,
                    format!("Something went wrong on our side (reference {reference})."),
                )
            }
        }
    }
}

/// A JSON answer with SCIM's content type.
pub fn scim_json(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE))],
        body.to_string(),
    )
        .into_response()
}

/// The account a request's token acts in, as the identity provider.
#[derive(Clone)]
pub struct Provider(pub Actor);

/// Finds the token the request came with; anything else is refused with 401.
async fn authenticate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .unwrap_or("")
        .to_owned();
    let ip = req.extensions().get::<Visitor>().and_then(|v| v.ip.clone());
    match state.services.scim.authenticate(&token, ip).await {
        Ok(Some(actor)) => {
            req.extensions_mut().insert(Provider(actor));
            next.run(req).await
        }
        Ok(None) => ScimError::new(
            StatusCode::UNAUTHORIZED,
            None,
            "Send a SCIM token made on the account's Users page as `Authorization: Bearer scim_…`; this one is missing, unknown or revoked.",
        )
        .into_response(),
        Err(e) => ScimError::from(e).into_response(),
    }
}

/// Only GET: what the discovery endpoints answer to anything else.
async fn method_not_allowed() -> ScimError {
    ScimError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        None,
        "This endpoint answers GET only.",
    )
}

/// The SCIM routes behind their token.
pub fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .route(
            "/scim/v2/ServiceProviderConfig",
            get(discovery::service_provider_config).fallback(method_not_allowed),
        )
        .route(
            "/scim/v2/ResourceTypes",
            get(discovery::resource_types).fallback(method_not_allowed),
        )
        .route(
            "/scim/v2/ResourceTypes/{id}",
            get(discovery::resource_type).fallback(method_not_allowed),
        )
        .route(
            "/scim/v2/Schemas",
            get(discovery::schemas).fallback(method_not_allowed),
        )
        .route(
            "/scim/v2/Schemas/{id}",
            get(discovery::schema).fallback(method_not_allowed),
        )
        .route("/scim/v2/Users", get(users::list).post(users::create))
        .route("/scim/v2/Users/.search", post(users::search))
        .route(
            "/scim/v2/Users/{id}",
            get(users::get)
                .put(users::replace)
                .patch(users::patch)
                .delete(users::delete),
        )
        // Users are the only resource type, so searching every type is searching them.
        .route("/scim/v2/.search", post(users::search))
        .route(
            "/scim/v2/{*rest}",
            axum::routing::any(|| async { ScimError::not_found() }),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            authenticate,
        ))
        // An identity provider's body is a user or a patch: small.
        .layer(axum::extract::DefaultBodyLimit::max(256 * 1024))
}

/// The public address of `path` under the SCIM base, for `meta.location`.
pub fn location(state: &AppState, path: &str) -> String {
    format!("{}{BASE}{path}", state.services.ctx.settings.public_url)
}

/// A request body read as JSON, refused as a SCIM error when it is not.
pub fn body_json(bytes: &[u8]) -> Result<Value, ScimError> {
    serde_json::from_slice(bytes)
        .map_err(|e| ScimError::invalid_syntax(format!("The body is not JSON: {e}.")))
}

/// The list message around `resources`.
pub fn list_response(total: u64, start_index: u64, resources: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_SCHEMA],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}
