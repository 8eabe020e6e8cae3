//! The signed-in start page. Route: `/`. Requires: a session (visitors go to `/login`, or to
//! `/setup` on first start). Server functions: `get_current_admin`, `setup_needed`.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;

use tally_core::roles::Action;

use crate::{
    api::setup::setup_needed,
    auth::CurrentAdmin,
    components::{layout::SignedIn, payments::PaymentsDialog},
};

/// `/billing/payment`: the overview with the Billing & Payments modal open (billing roles;
/// others get the no-access page). It opens once the page is live in the browser.
#[component]
pub fn PaymentsPage() -> impl IntoView {
    view! {
        <SignedIn action=Action::ManagePaymentMethod children=|admin| view! {
            <OpenPayments />
            <Welcome admin=admin />
        } />
    }
}

#[component]
fn OpenPayments() -> impl IntoView {
    if let Some(dialog) = use_context::<PaymentsDialog>() {
        Effect::new(move |_| dialog.0.set(true));
    }
}

#[component]
fn Welcome(admin: CurrentAdmin) -> impl IntoView {
    view! {
        <Title text="Overview" />
        <h1>"Overview"</h1>
        <p>"Welcome, "{admin.first_name.clone()}". You're signed in to "<strong>{admin.account_name.clone()}</strong>" as "{admin.role.display_name()}"."</p>
    }
}

/// Sends a brand-new installation to set-up, everyone else through the sign-in guard.
#[component]
pub fn OverviewPage() -> impl IntoView {
    let needed = Resource::new(|| (), |_| setup_needed());
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                if matches!(needed.await, Ok(true)) {
                    view! { <Redirect path="/setup" /> }.into_any()
                } else {
                    view! {
                        <SignedIn children=|admin| view! { <Welcome admin=admin /> } />
                    }.into_any()
                }
            })}
        </Suspense>
    }
}
