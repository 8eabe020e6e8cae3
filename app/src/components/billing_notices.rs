//! What a billing administrator should fix, said where they look (the Overview and Billing
//! pages): no billing information yet (invoices go to the first billing administrator until
//! there is), no card on file, a card that expires before the next charge. Each notice opens
//! the Billing & Payments modal, which fixes it. Being past due is the frame's banner.

use leptos::prelude::*;

use tally_core::views::billing::BillingOverview;

use crate::components::payments::PaymentsDialog;

#[component]
pub fn BillingNotices(o: BillingOverview) -> impl IntoView {
    let payments = use_context::<PaymentsDialog>();
    let open = move |_| {
        if let Some(p) = payments {
            p.0.set(true);
        }
    };
    let mut notices: Vec<(&'static str, String, &'static str)> = Vec::new();
    if !o.has_billing_info {
        let to = o
            .contact_email
            .clone()
            .map_or_else(String::new, |e| format!(" Until then, invoices go to {e}."));
        notices.push((
            "no-billing-info",
            format!(
                "No billing information yet: add the company's address and a billing contact.{to}"
            ),
            "Add billing information",
        ));
    }
    if o.card.is_none() {
        notices.push((
            "no-card",
            format!(
                "No card on file: the charge on {} will fail without one.",
                o.next_charge_date.format("%B %-d")
            ),
            "Add a card",
        ));
    } else if o.card_expires_before_charge {
        notices.push((
            "card-expiring",
            "The card on file expires before the next charge.".to_string(),
            "Update the card",
        ));
    }
    notices
        .into_iter()
        .map(|(id, text, action)| {
            view! {
                <div class="warning billing-notice" id=id>
                    <p>{text}</p>
                    <button type="button" on:click=open>{action}</button>
                </div>
            }
        })
        .collect_view()
}
