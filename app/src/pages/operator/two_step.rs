//! An operator's own two-step verification. Route: `/operator/two-step`. The one console page
//! open before a second step is set up: an operator's session may do nothing else until then.
//! Server functions: `operator_two_step_status`, `operator_start_app`, `operator_confirm_app`,
//! `operator_passkey_options`, `operator_add_passkey`, `operator_remove_passkey`.

use leptos::{prelude::*, server_fn::ServerFn};
use leptos_meta::Title;
use tally_core::views::two_step::AppEnrolment;

use super::frame::OperatorSignedIn;
use crate::{
    api::operator::{
        operator_add_passkey, operator_confirm_app, operator_passkey_options,
        operator_remove_passkey, operator_start_app, operator_two_step_status, OperatorAddPasskey,
        OperatorConfirmApp, CONSOLE_PATH,
    },
    error::AppError,
    pages::account::two_step::{AppEnrolmentForm, Passkeys, RecoveryCodes},
};

#[component]
pub fn OperatorTwoStepPage() -> impl IntoView {
    view! {
        <OperatorSignedIn sets_up_two_step=true children=move |_| view! { <TwoStep /> } />
    }
}

#[component]
fn TwoStep() -> impl IntoView {
    let reload = RwSignal::new(0u32);
    let status = Resource::new(move || reload.get(), |_| operator_two_step_status());
    let notice = RwSignal::new(None::<Result<String, String>>);
    let codes = RwSignal::new(Vec::<String>::new());
    let changed = Callback::new(move |result: Result<String, AppError>| match result {
        Ok(done) => {
            notice.set(Some(Ok(done)));
            reload.update(|n| *n += 1);
        }
        Err(e) => notice.set(Some(Err(e.to_string()))),
    });
    let enrolment = RwSignal::new(None::<AppEnrolment>);
    let busy = RwSignal::new(false);
    let start = move |_| {
        busy.set(true);
        leptos::task::spawn_local(async move {
            match operator_start_app().await {
                Ok(e) => enrolment.set(Some(e)),
                Err(e) => changed.run(Err(e)),
            }
            busy.set(false);
        });
    };
    view! {
        <Title text="Your two-step verification" />
        <h1>"Your two-step verification"</h1>
        <p>"Operators sign in with a password and a second step: a code from an authenticator app, or a passkey. The console opens once it is set up, and asks for a code again before changes that matter if it has been more than 10 minutes."</p>
        <p class="notice" role="status" class:notice-error=move || matches!(notice.get(), Some(Err(_)))>
            {move || notice.get().map(|n| n.unwrap_or_else(|e| e))}
        </p>
        <RecoveryCodes codes=codes />
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match status.await {
                    Err(e) => view! { <p role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(s) => {
                        let on = s.on();
                        let app = if s.app {
                            view! {
                                <h2 id="app-heading">"Authenticator app"</h2>
                                <p>"On. Codes come from the app you set up."</p>
                            }.into_any()
                        } else {
                            view! {
                                <h2 id="app-heading">"Set up an authenticator app"</h2>
                                <Show when=move || enrolment.with(Option::is_none)>
                                    <button type="button" class="primary" on:click=start disabled=move || busy.get()>"Set up an authenticator app"</button>
                                </Show>
                                {move || enrolment.get().map(|e| view! {
                                    <AppEnrolmentForm enrolment=e codes=codes changed=changed
                                        to=OperatorConfirmApp::url() confirm=operator_confirm_app />
                                })}
                            }.into_any()
                        };
                        let left = s.recovery_codes_left;
                        view! {
                            <section class="card" aria-labelledby="app-heading">{app}</section>
                            <section class="card" aria-label="Passkeys">
                                <Passkeys status=s codes=codes changed=changed to=OperatorAddPasskey::url()
                                    options=operator_passkey_options add=operator_add_passkey remove=operator_remove_passkey />
                            </section>
                            {on.then(|| view! {
                                <p>{format!("{left} of 10 recovery codes left.")}</p>
                                <p><a href=CONSOLE_PATH rel="external">"Go to the customer accounts"</a></p>
                            })}
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}
