//! One's own account. Route: `/account`. Requires: a session (also one that must set up
//! two-step verification first). Server functions: `update_name`, `change_password`,
//! `check_password`, and two-step verification's (`two_step`).

mod two_step;

use leptos::prelude::*;
use leptos_meta::Title;

use super::{field_error, form_error};
use crate::{
    api::account::{ChangePassword, UpdateName},
    auth::CurrentAdmin,
    components::{field::Field, layout::SignedIn, password_meter::PasswordMeter},
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
fn AccountForms(admin: CurrentAdmin) -> impl IntoView {
    if admin.must_set_up_two_step {
        return view! {
            <Title text="Set up two-step verification" />
            <h1>"Set up two-step verification"</h1>
            <p class="warning" role="alert">"Your organisation requires two-step verification of every administrator. Set it up below to continue."</p>
        }
        .into_any();
    }
    let rename = ServerAction::<UpdateName>::new();
    let renamed = rename.value();
    let change = ServerAction::<ChangePassword>::new();
    let changed = change.value();
    let new_password = RwSignal::new(String::new());
    let first = admin.first_name.clone();
    let last = admin.last_name.clone();
    view! {
        <Title text="Account settings" />
        <h1>"Account settings"</h1>
        <section class="card" aria-labelledby="name-heading">
            <h2 id="name-heading">"Your name"</h2>
            <ActionForm action=rename attr:class="form" attr:novalidate=true>
                <Field name="first_name" label="First name" autocomplete="given-name" required=true value=first error=field_error(renamed, "first_name") />
                <Field name="last_name" label="Last name" autocomplete="family-name" required=true value=last error=field_error(renamed, "last_name") />
                <p class="form-error" role="alert">{form_error(renamed)}</p>
                <p role="status">{move || matches!(renamed.get(), Some(Ok(()))).then_some("Your name is saved.")}</p>
                <button type="submit" class="primary">"Save name"</button>
            </ActionForm>
        </section>
        <section class="card" aria-labelledby="password-heading">
            <h2 id="password-heading">"Password"</h2>
            <p>"Changing your password signs you out everywhere else."</p>
            <ActionForm action=change attr:class="form" attr:novalidate=true>
                <input type="email" name="username" value=admin.email.clone() autocomplete="username" hidden=true readonly=true aria-hidden="true" tabindex="-1" />
                <Field name="current_password" label="Current password" kind="password" autocomplete="current-password" required=true error=field_error(changed, "current_password") />
                <Field name="new_password" label="New password" kind="password" autocomplete="new-password" required=true
                    error=field_error(changed, "new_password") on_input=Callback::new(move |v| new_password.set(v)) />
                <PasswordMeter password=new_password known_words=vec![admin.email.clone(), admin.first_name.clone(), admin.last_name.clone()] />
                <p class="form-error" role="alert">{form_error(changed)}</p>
                <p role="status">{move || matches!(changed.get(), Some(Ok(()))).then_some("Your password is changed. Other sessions have ended.")}</p>
                <button type="submit" class="primary">"Change password"</button>
            </ActionForm>
        </section>
    }
    .into_any()
}
