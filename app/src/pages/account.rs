//! One's own account. Route: `/account`. Requires: a session (also one that must set up
//! two-step verification first). Server functions: `update_name`, `change_password`,
//! `check_password`, and two-step verification's (`two_step`).

pub(crate) mod two_step;

use leptos::{prelude::*, server_fn::ServerFn};
use leptos_meta::Title;

use tally_core::forms::{new_password_errors, FieldErrors, NameInput};

use super::form_error;
use tally_core::actor::Actor;

use crate::{
    api::{
        account::{change_password, ChangePassword, UpdateName},
        sign_in::SignOutOtherSessions,
    },
    components::{
        field::Field,
        form::{form_action, Form},
        fresh_check,
        layout::SignedIn,
        live_errors::LiveErrors,
        password_meter::PasswordMeter,
    },
};

#[component]
pub fn AccountPage() -> impl IntoView {
    view! {
        <SignedIn sets_up_two_step=true children=|admin| view! {
            <AccountForms admin=admin.clone() />
            <two_step::TwoStepSection admin=admin />
        } />
    }
}

#[component]
fn AccountForms(admin: Actor) -> impl IntoView {
    if admin.must_set_up_two_step {
        return view! {
            <Title text="Set up two-step verification" />
            <h1>"Set up two-step verification"</h1>
            <p class="warning" role="alert">"Your organisation requires two-step verification of every administrator. Set it up below to continue."</p>
        }
        .into_any();
    }
    view! {
        <Title text="Account settings" />
        <h1>"Account settings"</h1>
        <NameForm admin=admin.clone() />
        <PasswordForm admin />
        <SessionsForm />
    }
    .into_any()
}

/// One's own name, checked by core as typed.
#[component]
fn NameForm(admin: Actor) -> impl IntoView {
    let rename = form_action::<UpdateName>();
    let renamed = rename.value();
    let first_name = RwSignal::new(admin.first_name.clone());
    let last_name = RwSignal::new(admin.last_name.clone());
    let input = move || NameInput {
        first_name: first_name.get(),
        last_name: last_name.get(),
    };
    let errors = LiveErrors::new(move || input().parse().err().unwrap_or_default());
    errors.follow(renamed);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !errors.submit() || rename.pending().get_untracked() {
            return;
        }
        rename.dispatch(UpdateName {
            first_name: first_name.get_untracked(),
            last_name: last_name.get_untracked(),
        });
    };
    view! {
        <section class="card" aria-labelledby="name-heading">
            <h2 id="name-heading">"Your name"</h2>
            <Form to=UpdateName::url() class="form" on_submit=submit>
                <Field name="first_name" label="First name" autocomplete="given-name" required=true value=first_name
                    error=errors.error("first_name") on_input=errors.typed(first_name, "first_name") on_blur=errors.touch("first_name") />
                <Field name="last_name" label="Last name" autocomplete="family-name" required=true value=last_name
                    error=errors.error("last_name") on_input=errors.typed(last_name, "last_name") on_blur=errors.touch("last_name") />
                <p class="form-error" role="alert">{form_error(renamed)}</p>
                <p role="status">{move || matches!(renamed.get(), Some(Ok(()))).then_some("Your name is saved.")}</p>
                <button type="submit" class="primary">"Save name"</button>
            </Form>
        </section>
    }
}

/// A new password: length and match checked offline, strength and the current one by the
/// server. The fields empty themselves once it is changed.
#[component]
fn PasswordForm(admin: Actor) -> impl IntoView {
    let change = form_action::<ChangePassword>();
    let changed = change.value();
    let current = RwSignal::new(String::new());
    let new_password = RwSignal::new(String::new());
    let confirm = RwSignal::new(String::new());
    let errors = LiveErrors::new(move || {
        let mut e = FieldErrors::new();
        if current.with(String::is_empty) {
            e.add("current_password", "Enter your current password.");
        }
        e.merge(new_password_errors(
            "new_password",
            &new_password.get(),
            Some(("confirm_password", &confirm.get())),
        ));
        e
    });
    errors.follow(changed);
    Effect::new(move |_| {
        if matches!(changed.get(), Some(Ok(()))) {
            for field in [current, new_password, confirm] {
                field.set(String::new());
            }
            errors.reset();
        }
    });
    // With a second step, a change more than 10 minutes after the last proof asks for one
    // in place (the password alone is what a borrowed session might have remembered).
    let fresh = fresh_check::use_fresh_check();
    let busy = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !errors.submit() || busy.get_untracked() {
            return;
        }
        let (current_password, new_password, confirm_password) = (
            current.get_untracked(),
            new_password.get_untracked(),
            confirm.get_untracked(),
        );
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result = fresh_check::run(fresh, || {
                change_password(
                    current_password.clone(),
                    new_password.clone(),
                    Some(confirm_password.clone()),
                )
            })
            .await;
            busy.set(false);
            changed.set(Some(result));
        });
    };
    view! {
        <section class="card" aria-labelledby="password-heading">
            <h2 id="password-heading">"Password"</h2>
            <p>"Changing your password signs you out everywhere else."</p>
            <Form to=ChangePassword::url() class="form" on_submit=submit>
                <input type="email" name="username" value=admin.email.clone() autocomplete="username" hidden=true readonly=true aria-hidden="true" tabindex="-1" />
                <Field name="current_password" label="Current password" kind="password" autocomplete="current-password" required=true value=current
                    error=errors.error("current_password") on_input=errors.typed(current, "current_password") on_blur=errors.touch("current_password") />
                <Field name="new_password" label="New password" kind="password" autocomplete="new-password" required=true value=new_password
                    error=errors.error("new_password") on_input=errors.typed(new_password, "new_password") on_blur=errors.touch("new_password") />
                <PasswordMeter password=new_password known_words=vec![admin.email.clone(), admin.first_name.clone(), admin.last_name.clone()] />
                <Field name="confirm_password" label="Type the new password again" kind="password" autocomplete="new-password" required=true value=confirm
                    error=errors.error("confirm_password") on_input=errors.typed(confirm, "confirm_password") on_blur=errors.touch("confirm_password") />
                <p class="form-error" role="alert">{form_error(changed)}</p>
                <p role="status">{move || matches!(changed.get(), Some(Ok(()))).then_some("Your password is changed. Other sessions have ended.")}</p>
                <button type="submit" class="primary" disabled=move || busy.get()>"Change password"</button>
            </Form>
        </section>
    }
}

/// "Sign out other sessions": every session but this one ends (a browser left signed in
/// elsewhere, a session someone else may hold).
#[component]
fn SessionsForm() -> impl IntoView {
    let sign_out = form_action::<SignOutOtherSessions>();
    let ended = sign_out.value();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !sign_out.pending().get_untracked() {
            sign_out.dispatch(SignOutOtherSessions {});
        }
    };
    let said = move || match ended.get() {
        Some(Ok(0)) => Some("You had no other session.".to_string()),
        Some(Ok(1)) => Some("1 other session has ended.".to_string()),
        Some(Ok(n)) => Some(format!("{n} other sessions have ended.")),
        _ => None,
    };
    view! {
        <section class="card" aria-labelledby="sessions-heading">
            <h2 id="sessions-heading">"Sessions"</h2>
            <p>"Signed in on another computer, or not sure? End every session but this one; anyone signed in there must sign in again."</p>
            <Form to=SignOutOtherSessions::url() class="form" on_submit=submit>
                <p class="form-error" role="alert">{form_error(ended)}</p>
                <p role="status">{said}</p>
                <button type="submit" disabled=move || sign_out.pending().get()>"Sign out other sessions"</button>
            </Form>
        </section>
    }
}
