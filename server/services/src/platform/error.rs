//! What can go wrong in a service.
//!
//! Services return [`ServiceError`]: a handful of cases a person can act on (not found,
//! forbidden, a conflict with its reason, invalid input, a declined card, too many attempts)
//! and one case nobody can — [`ServiceError::Unexpected`], which carries the underlying error
//! and what was being done. The app's one `From<ServiceError> for AppError` turns it into what
//! the browser sees, logging an unexpected error here ([`log_unexpected`]) under a reference
//! id and handing the browser only that id.

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
    /// The server's line for slow work (password hashing) is full; `retry_after` in seconds
    /// (503).
    #[error("busy")]
    Busy { retry_after: u64 },
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
pub trait ResultExt<T> {
    fn context(self, what: &'static str) -> Result<T, ServiceError>;
}

impl<T, E: Into<BoxError>> ResultExt<T> for Result<T, E> {
    fn context(self, what: &'static str) -> Result<T, ServiceError> {
        self.map_err(|e| ServiceError::Unexpected {
            context: what,
            source: e.into(),
        })
    }
}

/// Logs an unexpected failure of `operation` under a reference id, which it returns: the
/// request's id inside a request (its other log lines carry it too), else a new one.
pub fn log_unexpected(operation: &str, error: &(dyn std::error::Error + 'static)) -> String {
    let reference =
        super::telemetry::current_request_id().unwrap_or_else(super::crypto::short_random);
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
    fn an_unexpected_error_says_what_was_being_done_and_why() {
        let failed: Result<(), std::io::Error> =
            Err(std::io::Error::other("table admins is locked"));
        let e = failed.context("reading the administrators").unwrap_err();
        assert_eq!(
            e.to_string(),
            "reading the administrators: table admins is locked"
        );
        let reference = log_unexpected("reading the administrators", &e);
        assert_eq!(reference.len(), 8);
        assert!(!reference.contains("admins"));
    }
}
