//! First start. Route: `/setup`. Requires: no account exists yet (404 afterwards).
//! Server functions: `setup_needed`, `create_first_account`.

use leptos::{prelude::*, server_fn::ServerFn};
use leptos_meta::Title;

use tally_core::forms::{new_password_errors, required, NewAccountInput};

use super::{form_error, not_found::NotFoundPage};
use crate::{
    api::setup::{setup_needed, CreateFirstAccount},
    components::{
        field::Field,
        form::{form_action, Form},
        live_errors::LiveErrors,
        password_meter::PasswordMeter,
    },
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
    let create = form_action::<CreateFirstAccount>();
    let value = create.value();
    let setup_code = RwSignal::new(String::new());
    let company_name = RwSignal::new(String::new());
    let first_name = RwSignal::new(String::new());
    let last_name = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let input = move || NewAccountInput {
        company_name: company_name.get(),
        first_name: first_name.get(),
        last_name: last_name.get(),
        email: email.get(),
    };
    // Core's rules as typed, with the network off; the server checks them again, and the code
    // and the password's strength besides.
    let errors = LiveErrors::new(move || {
        let mut e = input().parse().err().unwrap_or_default();
        required(&mut e, "setup_code", &setup_code.get(), "set-up code");
        e.merge(new_password_errors("password", &password.get(), None));
        e
    });
    errors.follow(value);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !errors.submit() || create.pending().get_untracked() {
            return;
        }
        create.dispatch(CreateFirstAccount {
            setup_code: setup_code.get_untracked(),
            company_name: company_name.get_untracked(),
            first_name: first_name.get_untracked(),
            last_name: last_name.get_untracked(),
            email: email.get_untracked(),
            password: password.get_untracked(),
        });
    };
    view! {
        <Title text="Set up Tally" />
        <main class="centered-page">
            <h1>"Set up Tally"</h1>
            <p>"Create your organisation's account and your own administrator. You'll have the Administrator With Billing role and can invite others afterwards."</p>
            <Form to=CreateFirstAccount::url() class="card form" on_submit=submit>
                <Field name="setup_code" label="Set-up code" autocomplete="one-time-code" required=true value=setup_code
                    hint="Printed in the server's log when it first started, and saved in the file setup-code in its data folder."
                    error=errors.error("setup_code") on_input=errors.typed(setup_code, "setup_code") on_blur=errors.touch("setup_code") />
                <Field name="company_name" label="Company name" autocomplete="organization" required=true value=company_name
                    error=errors.error("company_name") on_input=errors.typed(company_name, "company_name") on_blur=errors.touch("company_name") />
                <Field name="first_name" label="Your first name" autocomplete="given-name" required=true value=first_name
                    error=errors.error("first_name") on_input=errors.typed(first_name, "first_name") on_blur=errors.touch("first_name") />
                <Field name="last_name" label="Your last name" autocomplete="family-name" required=true value=last_name
                    error=errors.error("last_name") on_input=errors.typed(last_name, "last_name") on_blur=errors.touch("last_name") />
                <Field name="email" label="Your email" kind="email" autocomplete="email" required=true value=email
                    error=errors.error("email") on_input=errors.typed(email, "email") on_blur=errors.touch("email") />
                <Field name="password" label="Choose a password" kind="password" autocomplete="new-password" required=true value=password
                    error=errors.error("password") on_input=errors.typed(password, "password") on_blur=errors.touch("password") />
                <PasswordMeter password=password known_words=vec![] />
                <p class="form-error" role="alert">{form_error(value)}</p>
                <button type="submit" class="primary" disabled=move || create.pending().get()>"Create account"</button>
            </Form>
        </main>
    }
}
