//! First start. Route: `/setup`. Requires: no account exists yet (404 afterwards).
//! Server functions: `setup_needed`, `create_first_account`.

use leptos::prelude::*;
use leptos_meta::Title;

use super::{field_error, form_error, not_found::NotFoundPage};
use crate::{
    api::setup::{setup_needed, CreateFirstAccount},
    components::{field::Field, password_meter::PasswordMeter},
};

/// Creates the first account and its Administrator With Billing.
#[component]
pub fn SetupPage() -> impl IntoView {
    let needed = Resource::new(|| (), |_| setup_needed());
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match needed.await {
                    Ok(true) => view! { <SetupForm /> }.into_any(),
                    _ => view! { <NotFoundPage /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn SetupForm() -> impl IntoView {
    let create = ServerAction::<CreateFirstAccount>::new();
    let value = create.value();
    let password = RwSignal::new(String::new());
    view! {
        <Title text="Set up Tally" />
        <main class="centered-page">
            <h1>"Set up Tally"</h1>
            <p>"Create your organisation's account and your own administrator. You'll have the Administrator With Billing role and can invite others afterwards."</p>
            <ActionForm action=create attr:class="card form" attr:novalidate=true>
                <Field name="setup_code" label="Set-up code" autocomplete="one-time-code" required=true
                    hint="Printed in the server's log when it first started, and saved in the file setup-code in its data folder."
                    error=field_error(value, "setup_code") />
                <Field name="company_name" label="Company name" autocomplete="organization" required=true error=field_error(value, "company_name") />
                <Field name="first_name" label="Your first name" autocomplete="given-name" required=true error=field_error(value, "first_name") />
                <Field name="last_name" label="Your last name" autocomplete="family-name" required=true error=field_error(value, "last_name") />
                <Field name="email" label="Your email" kind="email" autocomplete="email" required=true error=field_error(value, "email") />
                <Field name="password" label="Choose a password" kind="password" autocomplete="new-password" required=true
                    error=field_error(value, "password") on_input=Callback::new(move |v| password.set(v)) />
                <PasswordMeter password=password known_words=vec![] />
                <p class="form-error" role="alert">{form_error(value)}</p>
                <button type="submit" class="primary" disabled=move || create.pending().get()>"Create account"</button>
            </ActionForm>
        </main>
    }
}
