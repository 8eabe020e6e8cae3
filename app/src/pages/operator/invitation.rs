//! An invited operator sets their password. Route: `/operator/invitation/:token`. Requires: a
//! valid operator invitation link (a customer's link is not one). Server functions:
//! `inspect_operator_invitation`, `accept_operator_invitation`, `check_password`. Then on to
//! setting up their second step, which operators must have.

use leptos::{prelude::*, server_fn::ServerFn};
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use tally_core::{forms::new_password_errors, views::account::LinkState};

use crate::{
    api::{
        operator::SIGN_IN_PATH,
        staff::{inspect_operator_invitation, AcceptOperatorInvitation},
    },
    components::{
        form::{form_action, Form},
        live_errors::LiveErrors,
    },
    pages::{form_error, set_password::NewPasswordFields},
};

#[component]
pub fn OperatorInvitationPage() -> impl IntoView {
    let token = move || {
        use_params_map()
            .with(|p| p.get("token"))
            .unwrap_or_default()
    };
    let info = Resource::new(token, inspect_operator_invitation);
    view! {
        <Title text="Set your password" />
        <main class="centered-page narrow">
            <h1>"Set your password"</h1>
            <Suspense fallback=|| view! { <p>"Checking your link…"</p> }>
                {move || Suspend::new(async move {
                    match info.await {
                        Ok(i) if i.state == LinkState::Valid => view! {
                            <PasswordForm token=token() email=i.email.unwrap_or_default() first_name=i.first_name.unwrap_or_default() />
                        }.into_any(),
                        Ok(i) => {
                            let what = match i.state {
                                LinkState::Expired => "This link has expired.",
                                LinkState::Used => "This link has already been used.",
                                _ => "This link isn't valid.",
                            };
                            view! {
                                <div class="card" role="alert">
                                    <p><strong>{what}</strong></p>
                                    <p>"Invitations work once and expire after 72 hours. Ask an Owner of the operator console to send it again. If you already set your password, "<a href=SIGN_IN_PATH>"sign in"</a>"."</p>
                                </div>
                            }.into_any()
                        }
                        Err(e) => view! { <p role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </main>
    }
}

#[component]
fn PasswordForm(token: String, email: String, first_name: String) -> impl IntoView {
    let action = form_action::<AcceptOperatorInvitation>();
    let value = action.value();
    let password = RwSignal::new(String::new());
    let confirm = RwSignal::new(String::new());
    let errors = LiveErrors::new(move || {
        new_password_errors(
            "password",
            &password.get(),
            Some(("confirm_password", &confirm.get())),
        )
    });
    errors.follow(value);
    let token_field = token.clone();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !errors.submit() || action.pending().get_untracked() {
            return;
        }
        action.dispatch(AcceptOperatorInvitation {
            token: token.clone(),
            password: password.get_untracked(),
            confirm_password: Some(confirm.get_untracked()),
        });
    };
    view! {
        <p>{format!("Welcome, {first_name}.")}" You'll sign in to the operator console as "<strong>{email.clone()}</strong>"; after your password, you set up two-step verification."</p>
        <Form to=AcceptOperatorInvitation::url() class="card form" on_submit=submit>
            <input type="hidden" name="token" value=token_field />
            <NewPasswordFields email=email first_name=first_name password=password confirm=confirm errors=errors />
            <p class="form-error" role="alert">{form_error(value)}</p>
            <button type="submit" class="primary" disabled=move || action.pending().get()>"Save password and continue"</button>
        </Form>
    }
}
