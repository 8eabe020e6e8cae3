//! The account's two-step verification policy, above the list.

use leptos::{prelude::*, server_fn::ServerFn};

use super::AdminsState;
use crate::{
    api::two_step::{get_two_step_status, set_two_step_policy, SetTwoStepPolicy},
    components::{form::Form, fresh_check},
};

/// "Require two-step verification for every administrator", for the roles that set it.
#[component]
pub(super) fn TwoStepPolicy(state: AdminsState) -> impl IntoView {
    let fresh = fresh_check::use_fresh_check();
    let status = Resource::new(|| (), |_| get_two_step_status());
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let required = status.await.map(|s| s.required).unwrap_or(false);
                let checked = RwSignal::new(required);
                let save = move |ev: leptos::ev::SubmitEvent| {
                    ev.prevent_default();
                    let on = checked.get_untracked();
                    let done = if on {
                        "Two-step verification is now required of every administrator."
                    } else {
                        "Two-step verification is no longer required."
                    };
                    state.perform(done.to_string(), fresh_check::run(fresh, move || set_two_step_policy(on)));
                };
                view! {
                    <Form to=SetTwoStepPolicy::url() class="policy card" on_submit=save live_only=true>
                        <div class="field checkbox-field">
                            <input type="checkbox" id="require-two-step" aria-describedby="require-two-step-hint" prop:checked=move || checked.get()
                                on:change=move |ev| checked.set(event_target_checked(&ev)) />
                            <label for="require-two-step">"Require two-step verification for every administrator"</label>
                        </div>
                        <p class="field-hint" id="require-two-step-hint">"Administrators without it are sent to set it up at their next sign-in and can do nothing else until it is done."</p>
                        <button type="submit" disabled=move || state.busy.get()>"Save policy"</button>
                    </Form>
                }
            })}
        </Suspense>
    }
}
