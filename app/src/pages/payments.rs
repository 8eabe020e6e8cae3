//! The Billing & Payments modal by URL. Route: `/billing/payment`. Requires: Manage payment
//! method (the With Billing roles; others get the no-access page). Server functions: those of
//! the modal (`components::payments`).

use leptos::prelude::*;
use tally_core::roles::Action;

use crate::{
    components::{layout::SignedIn, payments::PaymentsDialog},
    pages::overview::{new_glance, Welcome},
};

/// The overview with the Billing & Payments modal open (billing roles;
/// others get the no-access page). It opens once the page is live in the browser.
#[component]
pub fn PaymentsPage() -> impl IntoView {
    let glance = new_glance();
    view! {
        <SignedIn action=Action::ManagePaymentMethod children=move |admin| view! {
            <OpenPayments />
            <Welcome admin=admin glance=glance />
        } />
    }
}

#[component]
fn OpenPayments() -> impl IntoView {
    if let Some(dialog) = use_context::<PaymentsDialog>() {
        Effect::new(move |_| dialog.0.set(true));
    }
}
