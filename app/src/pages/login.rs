//! Sign-in. Route: `/login`. Requires: nothing. Server functions: `sign_in`.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::{field_error, form_error};
use crate::{api::account::SignIn, components::field::Field};

/// Email and password; every failure reads "Email or password is incorrect."
#[component]
pub fn LoginPage() -> impl IntoView {
    let sign_in = ServerAction::<SignIn>::new();
    let value = sign_in.value();
    let next = move || use_query_map().with(|q| q.get("next")).unwrap_or_default();
    view! {
        <Title text="Sign in" />
        <main class="centered-page narrow">
            <h1>"Sign in to Tally"</h1>
            <ActionForm action=sign_in attr:class="card form" attr:novalidate=true>
                <input type="hidden" name="next" prop:value=next />
                <Field name="email" label="Email" kind="email" autocomplete="username" required=true error=field_error(value, "email") />
                <Field name="password" label="Password" kind="password" autocomplete="current-password" required=true error=field_error(value, "password") />
                <p class="form-error" role="alert">{form_error(value)}</p>
                <button type="submit" class="primary" disabled=move || sign_in.pending().get()>"Sign in"</button>
            </ActionForm>
            <p><a href="/forgot-password">"Forgot your password?"</a></p>
        </main>
    }
}
