//! Validation while the user types (docs/validation.md): core's parser runs on every change; a field's
//! message shows once the field has been left or the form submitted, and stays live after.
//! The server's answer (which checks the same rules, and more, like a taken email) is shown
//! until that field is edited again. Nothing typed is ever cleared by an error.

use std::collections::BTreeSet;

use leptos::prelude::*;
use tally_core::forms::FieldErrors;

use crate::error::AppError;

#[derive(Clone, Copy)]
pub struct LiveErrors {
    touched: RwSignal<BTreeSet<&'static str>>,
    submitted: RwSignal<bool>,
    server: RwSignal<FieldErrors>,
    local: Memo<FieldErrors>,
    /// Errors shown at once, touched or not: values that can no longer become valid.
    immediate: Memo<FieldErrors>,
    /// What a refused plain post sent (the page was drawn again with it): a field handing that
    /// value to its signal when the page hydrates is not an edit, and keeps the server's message.
    echoed: StoredValue<Vec<(String, String)>>,
}

impl LiveErrors {
    /// `check` runs core's parser on the current values; empty means valid.
    pub fn new(check: impl Fn() -> FieldErrors + Send + Sync + 'static) -> Self {
        Self {
            touched: RwSignal::new(BTreeSet::new()),
            submitted: RwSignal::new(false),
            server: RwSignal::new(FieldErrors::new()),
            local: Memo::new(move |_| check()),
            immediate: Memo::new(|_| FieldErrors::new()),
            echoed: StoredValue::new(Vec::new()),
        }
    }

    /// Like [`LiveErrors::new`], with `immediate` naming the fields whose value can no longer
    /// become valid, however much more is typed (a card number failing its brand's rules).
    pub fn with_immediate(
        check: impl Fn() -> FieldErrors + Send + Sync + 'static,
        immediate: impl Fn() -> FieldErrors + Send + Sync + 'static,
    ) -> Self {
        Self {
            immediate: Memo::new(move |_| immediate()),
            ..Self::new(check)
        }
    }

    /// The message to show next to `field` now, if any.
    pub fn error(self, field: &'static str) -> Signal<Option<String>> {
        Signal::derive(move || {
            if let Some(m) = self.server.with(|s| s.get(field).map(str::to_string)) {
                return Some(m);
            }
            if let Some(m) = self.immediate.with(|s| s.get(field).map(str::to_string)) {
                return Some(m);
            }
            let shown = self.submitted.get() || self.touched.with(|t| t.contains(field));
            shown
                .then(|| self.local.with(|l| l.get(field).map(str::to_string)))
                .flatten()
        })
    }

    /// Call when `field` loses focus.
    pub fn touch(self, field: &'static str) -> Callback<()> {
        Callback::new(move |_| {
            self.touched.update(|t| {
                t.insert(field);
            })
        })
    }

    /// Call when `field` changes: the server's old verdict on it no longer applies.
    pub fn edited(self, field: &'static str) {
        if self.server.with_untracked(|s| s.get(field).is_some()) {
            self.server.update(|s| s.remove(field));
        }
    }

    /// Call when `field` changes to `value`: like [`LiveErrors::edited`], except for the value a
    /// refused plain post sent, which the field hands over as the page goes live.
    pub fn changed(self, field: &'static str, value: &str) {
        let echoed = self
            .echoed
            .with_value(|e| e.iter().any(|(n, sent)| n == field && sent == value));
        if !echoed {
            self.edited(field);
        }
    }

    /// For a form that posts to `action` without a `ServerAction` (a dialog's): shows the
    /// refusal the page was drawn with, if it was this form's. Returns a refusal that is about
    /// no field, for the form to show.
    pub fn from_echo(self, action: &str) -> Option<AppError> {
        let echo = crate::components::form::echo().filter(|e| e.action == action)?;
        match echo.error {
            AppError::Validation(f) => {
                self.server.set(f);
                self.echoed.set_value(echo.values);
                None
            }
            other => Some(other),
        }
    }

    /// Marks the form submitted; true when core finds nothing wrong, so it may be sent.
    pub fn submit(self) -> bool {
        self.submitted.set(true);
        self.local.with_untracked(FieldErrors::is_empty)
    }

    /// Forgets that the form was submitted and which fields were left (a fresh start).
    pub fn reset(self) {
        self.submitted.set(false);
        self.touched.set(BTreeSet::new());
        self.server.set(FieldErrors::new());
    }

    /// Shows the server's field messages.
    pub fn set_server(self, errors: FieldErrors) {
        self.server.set(errors);
    }

    /// Shows the field messages of each answer of a server action — at once for the answer it
    /// already has (a refused plain post the page is drawn again with: on the server, effects
    /// never run), then for each new one.
    pub fn follow<T, S>(self, value: S)
    where
        T: 'static,
        S: With<Value = Option<Result<T, AppError>>>
            + WithUntracked<Value = Option<Result<T, AppError>>>
            + Send
            + Sync
            + 'static,
    {
        let drawn_with = value.with_untracked(|v| match v {
            Some(Err(AppError::Validation(f))) => Some(f.clone()),
            _ => None,
        });
        if let Some(f) = drawn_with {
            self.server.set(f);
            if let Some(echo) = crate::components::form::echo() {
                self.echoed.set_value(echo.values);
            }
        }
        Effect::new(move |_| {
            let fields = value.with(|v| match v {
                Some(Err(AppError::Validation(f))) => Some(f.clone()),
                _ => None,
            });
            if let Some(f) = fields {
                self.set_server(f);
            }
        });
    }

    /// A field's `on_input`: stores what was typed in `signal` and forgets the server's verdict
    /// on it.
    pub fn typed(self, signal: RwSignal<String>, field: &'static str) -> Callback<String> {
        Callback::new(move |v: String| {
            self.changed(field, &v);
            signal.set(v);
        })
    }
}
