//! Asking for a password reset. Route: `/forgot-password`. Requires: nothing.
//! Server functions: `request_password_reset`.

use leptos::prelude::*;
use leptos_meta::Title;

use super::{field_error, form_error};
use crate::{api::account::RequestPasswordReset, components::field::Field};

/// Answers the same whether or not the address belongs to someone.
#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    let request = ServerAction::<RequestPasswordReset>::new();
    let value = request.value();
    let sent = move || matches!(value.get(), Some(Ok(())));
    view! {
        <Title text="Reset your password" />
        <main class="centered-page narrow">
            <h1>"Reset your password"</h1>
            <Show
                when=sent
                fallback=move || view! {
                    <p>"Enter the email you sign in with. We'll send a link to choose a new password."</p>
                    <ActionForm action=request attr:class="card form" attr:novalidate=true>
                        <Field name="email" label="Email" kind="email" autocomplete="username" required=true error=field_error(value, "email") />
                        <p class="form-error" role="alert">{form_error(value)}</p>
                        <button type="submit" class="primary">"Send the link"</button>
                    </ActionForm>
                }
            >
                <p role="status" class="card">"If an administrator signs in with that address, we've sent them a link. It works once and expires in 30 minutes."</p>
            </Show>
            <p><a href="/login">"Back to sign in"</a></p>
        </main>
    }
}
