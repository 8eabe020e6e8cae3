//! The operators' sign-in. Routes: `/operator/login` (email and password) and
//! `/operator/login/two-step` (the second step, mandatory for operators). Server functions:
//! `operator_sign_in`, `operator_second_step`, `operator_second_step_passkey_options`,
//! `operator_second_step_passkey`. Not the customers' sign-in: another page,
//! another cookie, another table.

use leptos::{prelude::*, server_fn::ServerFn};
use leptos_meta::Title;

use crate::{
    api::operator::{
        operator_second_step_passkey, operator_second_step_passkey_options, OperatorSecondStep,
        OperatorSignIn, CONSOLE_PATH, SIGN_IN_PATH,
    },
    components::{
        field::Field,
        form::{form_action, Form},
        passkeys::UsePasskey,
    },
    pages::{field_error, form_error},
};

#[component]
pub fn OperatorSignInPage() -> impl IntoView {
    let sign_in = form_action::<OperatorSignIn>();
    let value = sign_in.value();
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if sign_in.pending().get_untracked() {
            return;
        }
        sign_in.dispatch(OperatorSignIn {
            email: email.get_untracked(),
            password: password.get_untracked(),
        });
    };
    view! {
        <Title text="Operator sign-in" />
        <main class="centered-page">
            <h1>"Sign in to the operator console"</h1>
            <p>"For the staff of the company that runs Tally. Customer administrators sign in at "<a href="/login" rel="external">"the customer sign-in"</a>"."</p>
            <Form to=OperatorSignIn::url() class="card form" on_submit=submit>
                <Field name="email" label="Email" kind="email" autocomplete="username" required=true value=email
                    error=field_error(value, "email") on_input=Callback::new(move |v| email.set(v)) />
                <Field name="password" label="Password" kind="password" autocomplete="current-password" required=true value=password
                    error=field_error(value, "password") on_input=Callback::new(move |v| password.set(v)) />
                <p class="form-error" role="alert">{form_error(value)}</p>
                <button type="submit" class="primary" disabled=move || sign_in.pending().get()>"Sign in"</button>
            </Form>
        </main>
    }
}

#[component]
pub fn OperatorSecondStepPage() -> impl IntoView {
    let verify = form_action::<OperatorSecondStep>();
    let value = verify.value();
    let code = RwSignal::new(String::new());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if verify.pending().get_untracked() {
            return;
        }
        verify.dispatch(OperatorSecondStep {
            code: code.get_untracked(),
        });
    };
    view! {
        <Title text="Operator two-step verification" />
        <main class="centered-page">
            <h1>"Two-step verification"</h1>
            <p>"Your password is right. Now enter the 6-digit code from your authenticator app, or one of your recovery codes — or use a passkey."</p>
            <Form to=OperatorSecondStep::url() class="card form" on_submit=submit>
                <Field name="code" label="Code" autocomplete="one-time-code" required=true value=code
                    error=field_error(value, "code") on_input=Callback::new(move |v| code.set(v)) />
                <p class="form-error" role="alert">{form_error(value)}</p>
                <button type="submit" class="primary" disabled=move || verify.pending().get()>"Verify"</button>
            </Form>
            <UsePasskey next=|| CONSOLE_PATH.to_string()
                options=operator_second_step_passkey_options finish=operator_second_step_passkey />
            <p><a href=SIGN_IN_PATH>"Start again"</a>" (the step is open for 5 minutes)."</p>
        </main>
    }
}
