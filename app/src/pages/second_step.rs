//! The second step of a sign-in. Route: `/login/two-step`. Requires: a half-done sign-in (the
//! password was right, within the last 5 minutes). Server functions: `second_step`,
//! `second_step_passkey_options`, `second_step_passkey`.

use leptos::{prelude::*, server_fn::ServerFn};
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::{field_error, form_error};
use crate::{
    api::sign_in::{second_step_passkey, second_step_passkey_options, SecondStep},
    components::{
        field::Field,
        form::{form_action, Form},
        passkeys::UsePasskey,
    },
};

#[component]
pub fn SecondStepPage() -> impl IntoView {
    let verify = form_action::<SecondStep>();
    let value = verify.value();
    let query = use_query_map();
    let next = move || query.with(|q| q.get("next")).unwrap_or_default();
    let code = RwSignal::new(String::new());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if verify.pending().get_untracked() {
            return;
        }
        verify.dispatch(SecondStep {
            code: code.get_untracked(),
            next: Some(next()),
        });
    };
    view! {
        <Title text="Two-step verification" />
        <main class="centered-page">
            <h1>"Two-step verification"</h1>
            <p>"Your password is right. Now enter the 6-digit code from your authenticator app, or one of your recovery codes — or use a passkey."</p>
            <Form to=SecondStep::url() class="card form" on_submit=submit>
                <input type="hidden" name="next" value=next() />
                <Field name="code" label="Code" autocomplete="one-time-code" required=true value=code
                    error=field_error(value, "code") on_input=Callback::new(move |v| code.set(v)) />
                <p class="form-error" role="alert">{form_error(value)}</p>
                <button type="submit" class="primary" disabled=move || verify.pending().get()>"Verify"</button>
            </Form>
            <UsePasskey next=move || tally_core::redirect::safe_next(Some(&next()))
                options=second_step_passkey_options finish=second_step_passkey />
            <p><a href="/login" rel="external">"Start again"</a>" (the step is open for 5 minutes)."</p>
        </main>
    }
}
