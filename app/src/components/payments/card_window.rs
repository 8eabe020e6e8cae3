//! The card window: the card's fields ([`CardFields`]), then Submit Payment Method. What is
//! typed here goes to the payment processor only ([`card_flow`]); Tally's server keeps what
//! the processor confirmed, with the last 4 digits.

use leptos::prelude::*;
use tally_core::{
    billing::next_charge_date,
    card::{self, cvc_typing_state, AcceptedBrands},
    expiry,
    forms::{CardInput, FieldErrors},
};

use super::{
    bank_step::BankQuestion,
    billing_tab::focus_first_invalid,
    card_fields::{CardFields, CardTyped},
    card_flow::{self, BankStep, Failure, Saved},
    Flow,
};
use crate::{
    components::{fresh_check, live_errors::LiveErrors},
    error::AppError,
};

const CARD_FIELDS: [&str; 3] = ["card_number", "expiry", "cvc"];

/// A fresh idempotency key for this card window: a double submit or a retry after a lost
/// answer reuses it, so the server saves once.
fn new_key() -> String {
    #[cfg(feature = "hydrate")]
    {
        window()
            .crypto()
            .map(|c| c.random_uuid())
            .unwrap_or_else(|_| {
                format!(
                    "{}",
                    window().performance().map(|p| p.now()).unwrap_or_default()
                )
            })
    }
    #[cfg(not(feature = "hydrate"))]
    String::new()
}

/// Core's messages while typing: the whole card checked, and (at once) what can no longer
/// become valid.
fn card_errors(
    typed: CardTyped,
    accepted: AcceptedBrands,
    today: tally_core::NaiveDate,
) -> LiveErrors {
    let whole = accepted.clone();
    LiveErrors::with_immediate(
        move || {
            let card = CardInput {
                number: typed.number.get(),
                expiry: typed.expiry.get(),
                cvc: typed.cvc.get(),
            };
            card.parse(&whole, today).err().unwrap_or_default()
        },
        move || {
            let mut e = FieldErrors::new();
            let number = typed.number.with(|n| card::typing_state(n, &accepted).0);
            if let Some(err) = number.error_while_typing() {
                e.add("card_number", err);
            }
            let expiry = typed.expiry.with(|x| expiry::typing_state(x, today).0);
            if let Some(err) = expiry.error_while_typing() {
                e.add("expiry", err);
            }
            let cvc = typed.cvc.with(|c| cvc_typing_state(c, typed.brand.get()));
            if let Some(err) = cvc.error_while_typing() {
                e.add("cvc", err);
            }
            e
        },
    )
}

#[component]
pub(super) fn CardWindow(
    flow: Flow,
    on_back: Callback<()>,
    on_saved: Callback<()>,
) -> impl IntoView {
    let fresh = fresh_check::use_fresh_check();
    // The window is a dialog of its own: the focus starts on the card number.
    let number_input = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        if let Some(input) = number_input.get() {
            request_animation_frame(move || {
                let _ = input.focus();
            });
        }
    });
    let (brands, today) = flow
        .settings
        .with_untracked(|s| (s.accepted_brands.clone(), s.today));
    let accepted = AcceptedBrands::new(brands);
    let next_charge = next_charge_date(today);
    let number = RwSignal::new(String::new());
    let brand = {
        let accepted = accepted.clone();
        Memo::new(move |_| number.with(|n| card::typing_state(n, &accepted).1))
    };
    let typed = CardTyped {
        number,
        expiry: RwSignal::new(String::new()),
        cvc: RwSignal::new(String::new()),
        brand,
    };
    let errors = card_errors(typed, accepted.clone(), today);
    let accepted_list = format!(
        "We accept {}.",
        accepted
            .brands()
            .iter()
            .map(|b| b.display_name())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let expires_before_charge = move || {
        typed
            .expiry
            .with(|x| expiry::typing_state(x, today).1)
            .is_some_and(|e| e.expires_before(next_charge))
    };
    let key = StoredValue::new(new_key());
    let (busy, failure) = (RwSignal::new(false), RwSignal::new(None::<String>));
    let bank_step = RwSignal::new(None::<BankStep>);
    let form = NodeRef::<leptos::html::Form>::new();
    let done = move |result: Result<Saved, Failure>| match result {
        Ok(Saved::Card(saved)) => {
            let label = saved.label();
            flow.settings.update(|s| s.card = Some(saved));
            flow.saved_notice
                .set(Some(format!("Your card is saved: {label}.")));
            on_saved.run(());
        }
        Ok(Saved::Bank(step)) => bank_step.set(Some(step)),
        Err(Failure::Refused(AppError::Validation(fields))) => {
            // Card fields show beside themselves; anything else was checked on the previous
            // tab, so it is listed here with a way back.
            let others: Vec<&str> = fields
                .iter()
                .filter(|(f, _)| !CARD_FIELDS.contains(f))
                .map(|(_, m)| m)
                .collect();
            if !others.is_empty() {
                failure.set(Some(format!(
                    "Check the payment information: {}",
                    others.join(" ")
                )));
            }
            errors.set_server(fields);
            focus_first_invalid(form);
        }
        Err(Failure::Refused(e)) => failure.set(Some(e.to_string())),
        Err(Failure::Unreachable(message)) => failure.set(Some(message)),
    };
    let run = move |work: std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Saved, Failure>>>,
    >| {
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result = work.await;
            busy.set(false);
            done(result);
        });
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        failure.set(None);
        bank_step.set(None);
        let card = CardInput {
            number: number.get_untracked(),
            expiry: typed.expiry.get_untracked(),
            cvc: typed.cvc.get_untracked(),
        };
        let (true, Ok(card)) = (errors.submit(), card.parse(&accepted, today)) else {
            focus_first_invalid(form);
            return;
        };
        let (processor, payment) = (
            flow.settings.with_untracked(|s| s.processor.clone()),
            flow.payment.get_untracked(),
        );
        run(Box::pin(card_flow::save(
            fresh,
            processor,
            payment,
            card,
            key.get_value(),
        )));
    };
    // The bank answered on its own page, or here: the server saves what the processor says.
    let finish = move |step: BankStep| {
        let payment = flow.payment.get_untracked();
        run(Box::pin(async move {
            Ok(Saved::Card(
                card_flow::finish(
                    fresh,
                    payment,
                    step.client_secret,
                    step.card,
                    key.get_value(),
                )
                .await?,
            ))
        }));
    };
    let answered = Callback::new(move |()| {
        if let Some(step) = bank_step.get_untracked() {
            bank_step.set(None);
            finish(step);
        }
    });
    let answer = Callback::new(move |confirmed: bool| {
        let Some(step) = bank_step.get_untracked() else {
            return;
        };
        bank_step.set(None);
        run(Box::pin(async move {
            match card_flow::answer_bank(&step, confirmed).await {
                Ok(true) => Ok(Saved::Card(
                    card_flow::finish(
                        fresh,
                        flow.payment.get_untracked(),
                        step.client_secret,
                        step.card,
                        key.get_value(),
                    )
                    .await?,
                )),
                Ok(false) => Err(Failure::Unreachable(
                    "Your bank did not confirm this card. Try again, or use another card.".into(),
                )),
                Err(message) => Err(Failure::Unreachable(message)),
            }
        }));
    });
    view! {
        <form class="form card-window" novalidate node_ref=form on:submit=submit>
            <div class="modal-head">
                <h2 id="card-title">"Card"</h2>
                <button type="button" class="icon-button" aria-label="Close the card window" on:click=move |_| on_back.run(())>"×"</button>
            </div>
            <p class="field-hint">{accepted_list}</p>
            <CardFields typed=typed errors=errors number_input=number_input />
            {move || expires_before_charge().then(|| view! {
                <p class="warning">{format!(
                    "This card expires before the next charge on {}. You can save it, but it will need replacing by then.",
                    next_charge.format("%B %-d, %Y")
                )}</p>
            })}
            {move || bank_step.get().map(|step| view! { <BankQuestion step=step busy=busy on_answered=answered on_answer=answer /> })}
            <p class="form-error" role="alert">{move || failure.get()}</p>
            <div class="dialog-buttons">
                <button type="submit" class="primary" disabled=move || busy.get()>
                    {move || if busy.get() { "Saving…" } else { "Submit Payment Method" }}
                </button>
                <button type="button" on:click=move |_| on_back.run(())>"Back"</button>
            </div>
        </form>
    }
}
