//! Confirming a payment with the card's bank. Route: `/billing/authenticate/:number`, the link
//! in the "confirm the payment" email. Requires: Manage payment method (the With Billing
//! roles). Server functions: `payment_to_confirm`, `payment_confirmed`.
//!
//! An off-session charge the bank wants the cardholder to confirm (3-D Secure) waits here:
//! the cardholder answers the bank, then Tally asks the processor and pays the invoice once it
//! says the payment succeeded.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use tally_core::{
    roles::Action,
    views::billing::{Processor, WaitingPayment},
};

use crate::{
    api::payments::{payment_confirmed, payment_to_confirm},
    components::layout::SignedIn,
};

#[component]
pub fn ConfirmPaymentPage() -> impl IntoView {
    let params = use_params_map();
    let payment = Resource::new(
        move || params.with(|p| p.get("number").unwrap_or_default()),
        payment_to_confirm,
    );
    view! {
        <SignedIn action=Action::ManagePaymentMethod children=move |_| view! {
            <Title text="Confirm a payment" />
            <h1>"Confirm a payment"</h1>
            <Suspense fallback=|| view! { <p>"Loading the payment…"</p> }>
                {move || Suspend::new(async move {
                    match payment.await {
                        Err(e) => view! { <p role="alert">{e.to_string()}</p> }.into_any(),
                        Ok(p) => view! { <Confirm payment=p /> }.into_any(),
                    }
                })}
            </Suspense>
        } />
    }
}

#[component]
fn Confirm(payment: WaitingPayment) -> impl IntoView {
    let state = RwSignal::new(payment);
    let busy = RwSignal::new(false);
    let failure = RwSignal::new(None::<String>);
    let answer = move |confirmed: bool| {
        let p = state.get_untracked();
        let Some(secret) = p.client_secret.clone() else {
            return;
        };
        let processor = p.processor.clone();
        busy.set(true);
        failure.set(None);
        leptos::task::spawn_local(async move {
            let asked = answer_bank(&processor, &secret, confirmed).await;
            if let Err(message) = asked {
                failure.set(Some(message));
            }
            // Whatever the bank said, the processor has the last word.
            match payment_confirmed(p.number.clone()).await {
                Ok(now) => state.set(now),
                Err(e) => failure.set(Some(e.to_string())),
            }
            busy.set(false);
        });
    };
    // After the bank's own page: only the processor's word.
    let check = move || {
        let number = state.with_untracked(|p| p.number.clone());
        busy.set(true);
        failure.set(None);
        leptos::task::spawn_local(async move {
            match payment_confirmed(number).await {
                Ok(now) => state.set(now),
                Err(e) => failure.set(Some(e.to_string())),
            }
            busy.set(false);
        });
    };
    view! {
        <section class="card" aria-labelledby="payment-title">
            <h2 id="payment-title">{move || format!("Invoice {}", state.with(|p| p.number.clone()))}</h2>
            <dl class="facts">
                <dt>"Amount"</dt><dd>{move || state.with(|p| p.amount.clone())}</dd>
                <dt>"Status"</dt><dd id="payment-status">{move || state.with(|p| p.status.clone())}</dd>
            </dl>
            {move || if state.with(|p| p.waiting) {
                view! {
                    <p>"The bank of the card on file asks the cardholder to confirm this payment. Nothing is charged until it is confirmed."</p>
                    {match state.with(|p| p.redirect_url.clone()) {
                        // A live processor: the bank's own page, then the processor's word.
                        Some(url) => view! {
                            <p><a href=url target="_blank" rel="noopener">"Open your bank's page"</a>" (a new tab), answer there, then come back here."</p>
                            <div class="dialog-buttons">
                                <button type="button" class="primary" disabled=move || busy.get()
                                    on:click=move |_| check()>"I have answered my bank"</button>
                            </div>
                        }.into_any(),
                        // The processor's test mode: the bank's question, answered here.
                        None => view! {
                            <div class="dialog-buttons">
                                <button type="button" class="primary" disabled=move || busy.get()
                                    on:click=move |_| answer(true)>"Confirm the payment with my bank"</button>
                                <button type="button" disabled=move || busy.get()
                                    on:click=move |_| answer(false)>"Decline"</button>
                            </div>
                        }.into_any(),
                    }}
                }.into_any()
            } else {
                view! { <p role="status">"Nothing is waiting for confirmation on this invoice."</p> }.into_any()
            }}
            <p class="form-error" role="alert">{move || failure.get()}</p>
            <p><a href="/billing">"Back to billing"</a></p>
        </section>
    }
}

async fn answer_bank(
    processor: &Processor,
    client_secret: &str,
    confirmed: bool,
) -> Result<(), String> {
    #[cfg(feature = "hydrate")]
    {
        use crate::components::payments::processor;
        let answer = processor::answer_payment(processor, client_secret, confirmed).await?;
        match answer.error {
            Some(_) => Err(answer.refusal()),
            None => Ok(()),
        }
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (processor, client_secret, confirmed);
        Err("the page runs in the browser".to_string())
    }
}
