//! What can go wrong in a service, and the one place where that becomes what the browser sees.
//!
//! Services return [`ServiceError`]: a handful of cases a person can act on (not found,
//! forbidden, a conflict with its reason, invalid input, a declined card, too many attempts)
//! and one case nobody can — [`ServiceError::Unexpected`], which carries the underlying error
//! and what was being done. `From<ServiceError> for AppError` below is the only conversion: it
//! logs an unexpected error with its context under a fresh reference id and hands the browser
//! only that id. The HTTP status then follows from the `AppError` alone, when the server
//! function's answer is written (`AppError::status`, applied in `tally_app::error`).

use tally_app::error::AppError;
use tally_core::{csv::RowError, forms::FieldErrors};

/// Any error that can be the cause of an unexpected failure.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a service could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// No valid session or half-done sign-in (401).
    #[error("unauthenticated")]
    Unauthenticated,
    /// Nothing with that id in the caller's account (404).
    #[error("not found")]
    NotFound,
    /// The caller may not do this, as things are now (403).
    #[error("forbidden")]
    Forbidden,
    /// A rule or a concurrent change prevents it; the reason is shown as it is (409).
    #[error("{0}")]
    Conflict(String),
    /// The input is not acceptable; messages keyed by field (422).
    #[error("invalid input: {0:?}")]
    Invalid(FieldErrors),
    /// An import refused as a whole: every bad row with its reason (422).
    #[error("import refused: {} rows", .0.len())]
    ImportRefused(Vec<RowError>),
    /// The payment processor refused the card; the message is for the person paying (402).
    #[error("{0}")]
    Declined(String),
    /// The change needs the person to prove it is them again (a second step, or their
    /// password where they have none) within the last 10 minutes (403).
    #[error("a fresh check is required")]
    FreshCheckRequired,
    /// The account requires two-step verification and this administrator has none yet: they
    /// may only set it up (403).
    #[error("two-step verification must be set up first")]
    TwoStepSetupRequired,
    /// Too many attempts; the message says when to try again, `retry_after` in seconds (429).
    #[error("{message}")]
    Throttled { message: String, retry_after: u64 },
    /// Something that should not fail did: the database, the disk, a broken invariant (500).
    #[error("{context}: {source}")]
    Unexpected {
        /// What was being done, e.g. "reading the users page".
        context: &'static str,
        #[source]
        source: BoxError,
    },
}

impl ServiceError {
    /// A validation error on one field.
    pub fn field(field: &str, message: impl ToString) -> Self {
        let mut errors = FieldErrors::new();
        errors.add(field, message);
        Self::Invalid(errors)
    }

    /// `Ok` when `errors` is empty, else all of them as one error.
    pub fn unless_any(errors: FieldErrors) -> Result<(), Self> {
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Self::Invalid(errors))
        }
    }

    /// A broken invariant (a value in the database that no code writes, say).
    pub fn invariant(context: &'static str, what: impl Into<String>) -> Self {
        Self::Unexpected {
            context,
            source: what.into().into(),
        }
    }
}

/// `.context("what was being done")` on any fallible result: its error becomes
/// [`ServiceError::Unexpected`] naming the operation, so the log says which query failed.
pub trait Context<T> {
    fn context(self, what: &'static str) -> Result<T, ServiceError>;
}

impl<T, E: Into<BoxError>> Context<T> for Result<T, E> {
    fn context(self, what: &'static str) -> Result<T, ServiceError> {
        self.map_err(|e| ServiceError::Unexpected {
            context: what,
            source: e.into(),
        })
    }
}

/// The one conversion to the wire type. Unexpected errors are logged here, once, with their
/// context, their chain of causes and a reference id; the browser gets the id and nothing of
/// the cause (it may name tables, or quote input).
impl From<ServiceError> for AppError {
    fn from(e: ServiceError) -> Self {
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
            ServiceError::Unexpected { context, source } => {
                AppError::Internal(log_unexpected(context, &*source))
            }
        }
    }
}

/// Logs an unexpected failure of `operation` under a reference id, which it returns: the
/// request's id inside a request (its other log lines carry it too), else a new one.
pub fn log_unexpected(operation: &str, error: &(dyn std::error::Error + 'static)) -> String {
    let reference =
        crate::telemetry::current_request_id().unwrap_or_else(crate::crypto::short_random);
    let mut causes = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        causes.push_str(": ");
        causes.push_str(&cause.to_string());
        source = cause.source();
    }
    tracing::error!(reference = %reference, operation, error = %causes, "unexpected error");
    reference
}

#[cfg(test)]
mod tests {
    use super::*;

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
            AppError::from(ServiceError::invariant("x", "y")).status(),
            500
        );
    }
}
