//! The one error type that crosses the wire from server functions to the browser.

use leptos::server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};
use serde::{Deserialize, Serialize};
use tally_core::forms::FieldErrors;

/// What went wrong, as the browser sees it. Each variant's HTTP status is noted; internal
/// errors carry only a reference id — the cause is in the server's log under that id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// 422: input failed validation; messages keyed by field.
    #[error("Please correct the highlighted fields.")]
    Validation(FieldErrors),
    /// 422: an import was refused as a whole; every bad row with its reason.
    #[error("Nothing was imported: {} rows need fixing.", .0.len())]
    ImportRejected(Vec<tally_core::csv::RowError>),
    /// 401: no valid session.
    #[error("Please sign in again.")]
    Unauthenticated,
    /// 403: the role may not do this.
    #[error("You don't have access to this.")]
    Forbidden,
    /// 403: the change needs a second step (or the password, for someone without one) within
    /// the last 10 minutes; the page asks for it in place and tries again.
    #[error("Confirm it's you to make this change.")]
    FreshCheckRequired,
    /// 403: the account requires two-step verification, and the caller must set it up
    /// before doing anything else.
    #[error("Your organisation requires two-step verification. Set it up in Account settings to continue.")]
    TwoStepSetupRequired,
    /// 403: the account is suspended or closed, and that allows less (the message says what).
    #[error("{0}")]
    AccountStanding(String),
    /// 404: nothing with that id in the caller's account.
    #[error("That no longer exists.")]
    NotFound,
    /// 409: a rule or a concurrent change prevents it; the message says which.
    #[error("{0}")]
    Conflict(String),
    /// 402: the payment processor declined.
    #[error("{0}")]
    Declined(String),
    /// 429: too many attempts; the message says when to try again, and so does the response's
    /// `Retry-After` header (seconds).
    #[error("{message}")]
    TooManyRequests { message: String, retry_after: u64 },
    /// 503: the server is too busy to take this now (its password line is full); the
    /// response's `Retry-After` says when to try again (seconds).
    #[error("Tally is busy right now. Try again in a few seconds.")]
    Busy { retry_after: u64 },
    /// 400: the request could not be read. Carries no detail: parser messages can quote input,
    /// and input may be a card number.
    #[error("The request was not understood. Reload the page and try again.")]
    BadRequest,
    /// 500: something broke on the server.
    #[error("Something went wrong on our side (reference {0}). Please try again.")]
    Internal(String),
    /// The request never got an answer (network down) or the answer was unreadable.
    #[error("We couldn't reach the server. Check your connection and try again. ({0})")]
    Transport(String),
}

impl AppError {
    /// The HTTP status the server answers with.
    pub fn status(&self) -> u16 {
        match self {
            AppError::Validation(_) | AppError::ImportRejected(_) => 422,
            AppError::Unauthenticated => 401,
            AppError::Forbidden
            | AppError::FreshCheckRequired
            | AppError::TwoStepSetupRequired
            | AppError::AccountStanding(_) => 403,
            AppError::NotFound => 404,
            AppError::Conflict(_) => 409,
            AppError::Declined(_) => 402,
            AppError::TooManyRequests { .. } => 429,
            AppError::Busy { .. } => 503,
            AppError::BadRequest => 400,
            AppError::Internal(_) | AppError::Transport(_) => 500,
        }
    }

    /// When to try again, in seconds, for a refusal that says so (429, 503).
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            AppError::TooManyRequests { retry_after, .. } | AppError::Busy { retry_after } => {
                Some(*retry_after)
            }
            _ => None,
        }
    }

    /// A validation error on one field.
    pub fn field(field: &str, message: impl ToString) -> Self {
        let mut e = FieldErrors::new();
        e.add(field, message);
        AppError::Validation(e)
    }

    /// The field errors, if this is a validation error.
    pub fn field_errors(&self) -> Option<&FieldErrors> {
        match self {
            AppError::Validation(e) => Some(e),
            _ => None,
        }
    }
}

/// Field errors from a `core` parse: the form's validation failed.
impl From<FieldErrors> for AppError {
    fn from(errors: FieldErrors) -> Self {
        AppError::Validation(errors)
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    /// Every error a server function answers with is written here, once: so here, and only
    /// here, the response gets the status the error stands for.
    fn ser(&self) -> leptos::server_fn::Bytes {
        #[cfg(feature = "ssr")]
        if let Some(res) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
            res.set_status(
                http::StatusCode::from_u16(self.status())
                    .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR),
            );
            if let Some(retry_after) = self.retry_after() {
                res.insert_header(
                    http::header::RETRY_AFTER,
                    http::HeaderValue::from(retry_after),
                );
            }
        }
        <Self::Encoder as leptos::server_fn::Encodes<Self>>::encode(self)
            .unwrap_or_else(|_| leptos::server_fn::Bytes::from_static(b"\"BadRequest\""))
    }

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Request(e) | ServerFnErrorErr::Response(e) => AppError::Transport(e),
            // On the server, a deserialization error is about the request's arguments, and the
            // parser's message may quote what was sent (it could be a card number): drop it.
            ServerFnErrorErr::Deserialization(_) if cfg!(feature = "ssr") => AppError::BadRequest,
            ServerFnErrorErr::Deserialization(e) | ServerFnErrorErr::Serialization(e) => {
                AppError::Transport(e)
            }
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_) => AppError::BadRequest,
            other => AppError::Internal(other.to_string()),
        }
    }
}

/// The one conversion from what a service says to what the browser sees. Unexpected errors
/// are logged there, once, with their context, their chain of causes and a reference id;
/// the browser gets the id and nothing of the cause (it may name tables, or quote input).
#[cfg(feature = "ssr")]
impl From<tally_services::platform::error::ServiceError> for AppError {
    fn from(e: tally_services::platform::error::ServiceError) -> Self {
        use tally_services::platform::error::{log_unexpected, ServiceError};
        match e {
            ServiceError::NotFound => AppError::NotFound,
            ServiceError::Unauthenticated => AppError::Unauthenticated,
            ServiceError::Forbidden => AppError::Forbidden,
            ServiceError::FreshCheckRequired => AppError::FreshCheckRequired,
            ServiceError::TwoStepSetupRequired => AppError::TwoStepSetupRequired,
            ServiceError::Conflict(reason) => AppError::Conflict(reason),
            ServiceError::Invalid(fields) => AppError::Validation(fields),
            ServiceError::ImportRefused(rows) => AppError::ImportRejected(rows),
            ServiceError::Declined(message) => AppError::Declined(message),
            ServiceError::Throttled {
                message,
                retry_after,
            } => AppError::TooManyRequests {
                message,
                retry_after,
            },
            ServiceError::Busy { retry_after } => AppError::Busy { retry_after },
            ServiceError::Unexpected { context, source } => {
                AppError::Internal(log_unexpected(context, &*source))
            }
        }
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;
    use tally_services::platform::error::{ResultExt, ServiceError};

    #[test]
    fn an_unexpected_error_reaches_the_browser_as_a_reference_only() {
        let failed: Result<(), std::io::Error> =
            Err(std::io::Error::other("table admins is locked"));
        let e = failed.context("reading the administrators").unwrap_err();
        assert_eq!(
            e.to_string(),
            "reading the administrators: table admins is locked"
        );
        match AppError::from(e) {
            AppError::Internal(reference) => {
                assert_eq!(reference.len(), 8);
                assert!(!reference.contains("admins"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_case_keeps_its_meaning_on_the_wire() {
        assert_eq!(AppError::from(ServiceError::NotFound).status(), 404);
        assert_eq!(AppError::from(ServiceError::Forbidden).status(), 403);
        assert_eq!(
            AppError::from(ServiceError::Conflict("no".into())).status(),
            409
        );
        assert_eq!(
            AppError::from(ServiceError::field("email", "Enter an email.")).status(),
            422
        );
        assert_eq!(
            AppError::from(ServiceError::ImportRefused(Vec::new())).status(),
            422
        );
        assert_eq!(
            AppError::from(ServiceError::Declined("no".into())).status(),
            402
        );
        assert_eq!(
            AppError::from(ServiceError::Throttled {
                message: "wait".into(),
                retry_after: 60
            })
            .status(),
            429
        );
        assert_eq!(
            AppError::from(ServiceError::Busy { retry_after: 2 }).status(),
            503
        );
        assert_eq!(
            AppError::from(ServiceError::invariant("x", "y")).status(),
            500
        );
    }
}
