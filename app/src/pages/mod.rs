//! One page per file; page-private parts live in a folder beside their page.

pub mod account;
pub mod administrators;
pub mod audit;
pub mod billing;
pub mod commands;
pub mod confirm_payment;
pub mod identity_provider;
pub mod invoice;
pub mod not_found;
pub mod operator;
pub mod overview;
pub mod payments;
pub mod second_step;
pub mod set_password;
pub mod setup;
pub mod status;
pub mod users;

use leptos::prelude::*;

use crate::error::AppError;

/// The message for `field` in a server action's last result, if it failed validation there.
pub(crate) fn field_error<T, S>(value: S, field: &'static str) -> Signal<Option<String>>
where
    T: 'static,
    S: With<Value = Option<Result<T, AppError>>> + Send + Sync + 'static,
{
    Signal::derive(move || {
        value.with(|v| match v {
            Some(Err(e)) => e
                .field_errors()
                .and_then(|f| f.get(field))
                .map(str::to_string),
            _ => None,
        })
    })
}

/// A form-level message for errors that are not about one field.
pub(crate) fn form_error<T, S>(value: S) -> Signal<Option<String>>
where
    T: 'static,
    S: With<Value = Option<Result<T, AppError>>> + Send + Sync + 'static,
{
    Signal::derive(move || {
        value.with(|v| match v {
            Some(Err(AppError::Validation(_))) | Some(Ok(_)) | None => None,
            Some(Err(e)) => Some(e.to_string()),
        })
    })
}
