//! The API's errors: RFC 9457 problem details (`application/problem+json`), each with the
//! field that failed where one did, in the words the pages use (the same `core` rules).

use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use tally_core::{api_keys::ApiScope, forms::FieldErrors};
use tally_services::platform::error::{log_unexpected, ServiceError};
use utoipa::{
    openapi::{
        path::{Operation, Parameter, ParameterIn},
        schema::{ObjectBuilder, Type},
        Content, Header, OpenApi as Document, Ref, RefOr, Required, Response as DocResponse,
    },
    ToSchema,
};

/// A problem, as RFC 9457 writes one.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// What kind of problem, a URI: `urn:tally:problem:invalid` and the like.
    #[serde(rename = "type")]
    pub kind: String,
    /// The kind in a few words.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong this time, for a person.
    pub detail: String,
    /// The fields that failed, each with its message (validation problems only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldProblem>,
    /// Seconds to wait before trying again (too many requests, busy).
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

/// One field that failed.
#[derive(Debug, Serialize, ToSchema)]
pub struct FieldProblem {
    /// The field's name in the request: `email`, `plan.price_per_user`, `limit`.
    pub field: String,
    pub detail: String,
}

impl Problem {
    fn new(status: StatusCode, kind: &str, title: &str, detail: impl Into<String>) -> Self {
        Problem {
            kind: format!("urn:tally:problem:{kind}"),
            title: title.into(),
            status: status.as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
            retry_after: None,
        }
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "bad-request",
            "Bad request",
            detail,
        )
    }

    pub fn unauthenticated(detail: &str) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "Unauthenticated",
            detail,
        )
    }

    pub fn missing_scope(scope: ApiScope) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "missing-scope",
            "Missing scope",
            format!(
                "This API key does not have the {} scope. An Owner can make a key with it in the operator console.",
                scope.code()
            ),
        )
    }

    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not-found",
            "Not found",
            "There is nothing here with this id.",
        )
    }

    pub fn too_many_requests(retry_after: u64) -> Self {
        Problem {
            retry_after: Some(retry_after),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too-many-requests",
                "Too many requests",
                format!("This API key has made too many requests; try again in {retry_after} s."),
            )
        }
    }

    pub fn idempotency_reused() -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency-key-reused",
            "Idempotency-Key reused",
            "This Idempotency-Key was sent before with another request; use a new key for a new request.",
        )
    }

    pub fn idempotency_in_progress() -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "idempotency-key-in-progress",
            "Request in progress",
            "The first request with this Idempotency-Key is still being answered; send it again in a moment.",
        )
    }

    /// Validation: every field that failed.
    pub fn invalid(errors: &FieldErrors, prefix: &str) -> Self {
        let mut problem = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            "Invalid request",
            "Some fields are not valid; each is named with its message.",
        );
        problem.errors = errors
            .iter()
            .map(|(field, detail)| FieldProblem {
                field: format!("{prefix}{field}"),
                detail: detail.into(),
            })
            .collect();
        problem
    }

    pub fn invalid_field(field: &str, detail: &str) -> Self {
        let mut errors = FieldErrors::new();
        errors.add(field, detail);
        Self::invalid(&errors, "")
    }
}

impl From<ServiceError> for Problem {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::NotFound => Self::not_found(),
            ServiceError::Unauthenticated => {
                Self::unauthenticated("This API key is not valid, or it has been revoked.")
            }
            ServiceError::Forbidden
            | ServiceError::FreshCheckRequired
            | ServiceError::TwoStepSetupRequired => Self::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "Forbidden",
                "This API key may not do this.",
            ),
            ServiceError::Conflict(reason) => {
                Self::new(StatusCode::CONFLICT, "conflict", "Conflict", reason)
            }
            ServiceError::Invalid(errors) => Self::invalid(&errors, ""),
            ServiceError::ImportRefused(rows) => {
                let mut errors = FieldErrors::new();
                for row in rows {
                    errors.add(format!("users[{}]", row.line), row.reason);
                }
                Self::invalid(&errors, "")
            }
            ServiceError::Declined(message) => Self::new(
                StatusCode::PAYMENT_REQUIRED,
                "declined",
                "Payment declined",
                message,
            ),
            ServiceError::Throttled {
                message,
                retry_after,
            } => Problem {
                retry_after: Some(retry_after),
                ..Self::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too-many-requests",
                    "Too many requests",
                    message,
                )
            },
            ServiceError::Busy { retry_after } => Problem {
                retry_after: Some(retry_after),
                ..Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "busy",
                    "Busy",
                    "The server is busy; try again shortly.",
                )
            },
            ServiceError::Unexpected { context, source } => {
                let reference = log_unexpected(context, &*source);
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "Internal error",
                    format!("Something went wrong on our side (reference {reference})."),
                )
            }
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        let retry_after = self.retry_after;
        let mut response = (status, axum::Json(self)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(seconds) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// Adds the errors every operation may answer with to the document: what the key and the
/// request can get wrong, by what the operation takes.
pub fn document_errors(document: &mut Document) {
    let problem = |description: &str| {
        RefOr::T(
            DocResponse::builder()
                .description(description)
                .content(
                    "application/problem+json",
                    Content::new(Some(Ref::from_schema_name("Problem"))),
                )
                .build(),
        )
    };
    let seconds = ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(1))
        .build();
    for (path, item) in document.paths.paths.iter_mut() {
        let has_id = path.contains('{');
        let operations: [(&mut Option<Operation>, bool, bool); 5] = [
            (&mut item.get, false, false),
            (&mut item.post, true, true),
            (&mut item.put, true, false),
            (&mut item.patch, true, false),
            (&mut item.delete, true, false),
        ];
        for (operation, changes, post) in operations {
            let Some(operation) = operation else { continue };
            let takes_input = operation.request_body.is_some()
                || operation.parameters.as_ref().is_some_and(|p| !p.is_empty());
            let mut add = |status: &str, description: &str| {
                operation
                    .responses
                    .responses
                    .entry(status.into())
                    .or_insert_with(|| problem(description));
            };
            if takes_input {
                add(
                    "400",
                    "The request cannot be read (not JSON, or not this shape).",
                );
                add(
                    "422",
                    "A field is not valid; `errors` names each with its message.",
                );
            }
            add("401", "No API key, or one that is not valid or revoked.");
            add(
                "403",
                "The key does not have the scope this operation needs.",
            );
            if has_id {
                add("404", "There is nothing with this id.");
            }
            if changes {
                add(
                    "409",
                    "The thing's state does not allow this now (a closed account, say).",
                );
            }
            operation.responses.responses.insert(
                "429".into(),
                RefOr::T(
                    DocResponse::builder()
                        .description("Too many requests with this key; `Retry-After` says when to try again.")
                        .header("Retry-After", Header::new(seconds.clone()))
                        .content(
                            "application/problem+json",
                            Content::new(Some(Ref::from_schema_name("Problem"))),
                        )
                        .build(),
                ),
            );
            if post {
                let parameters = operation.parameters.get_or_insert_with(Vec::new);
                parameters.push(RefOr::T(
                    Parameter::builder()
                        .name("Idempotency-Key")
                        .parameter_in(ParameterIn::Header)
                        .required(Required::False)
                        .description(Some(
                            "Any unique text (a UUID, say): sent again with the same request within \
                             24 hours, it gets the first answer again instead of doing it twice.",
                        ))
                        .schema(Some(
                            ObjectBuilder::new()
                                .schema_type(Type::String)
                                .min_length(Some(1))
                                .max_length(Some(255)),
                        ))
                        .build(),
                ));
            }
        }
    }
}
