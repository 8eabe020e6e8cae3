//! The card window: the card's fields ([`CardFields`]), then Submit Payment Method. What is
//! typed here goes to the payment processor only ([`card_flow`]); Tally's server keeps what
//! the processor confirmed, with the last 4 digits.

use std::{future::Future, pin::Pin};

use leptos::{html, prelude::*};
use tally_core::{billing::next_charge_date, card::AcceptedBrands, forms::NewCard};

use super::{
    bank_step::BankQuestion,
    billing_tab::focus_first_invalid,
    card_fields::{CardFields, CardTyped},
    card_flow::{self, BankStep, Failure, Saved},
    Flow,
};
use crate::{
    components::{
        form::Form,
        fresh_check::{self, FreshCheck},
        live_errors::LiveErrors,
    },
    error::AppError,
};

const CARD_FIELDS: [&str; 3] = ["card_number", "expiry", "cvc"];

#[component]
pub(super) fn CardWindow(
    flow: Flow,
    on_back: Callback<()>,
    on_saved: Callback<()>,
) -> impl IntoView {
    // The window is a dialog of its own: the focus starts on the card number.
    let number_input = NodeRef::<html::Input>::new();
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
    let typed = CardTyped::new(&accepted);
    let errors = typed.errors(accepted.clone(), today);
    let accepted_list = format!(
        "We accept {}.",
        accepted
            .brands()
            .iter()
            .map(|b| b.display_name())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let saving = Saving::new(flow, on_saved, errors);
    let Saving {
        busy,
        failure,
        bank_step,
        form,
        ..
    } = saving;
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        failure.set(None);
        bank_step.set(None);
        let (true, Ok(card)) = (errors.submit(), typed.input().parse(&accepted, today)) else {
            focus_first_invalid(form);
            return;
        };
        saving.save(card);
    };
    let answered = Callback::new(move |()| saving.bank_answered());
    let answer = Callback::new(move |confirmed: bool| saving.answer_bank(confirmed));
    view! {
        <Form to="/billing" class="form card-window" node_ref=form on_submit=submit live_only=true>
            <div class="modal-head">
                <h2 id="card-title">"Card"</h2>
                <button type="button" class="icon-button" aria-label="Close the card window" on:click=move |_| on_back.run(())>"×"</button>
            </div>
            <p class="field-hint">{accepted_list}</p>
            <CardFields typed=typed errors=errors number_input=number_input />
            {move || typed.expires_before(next_charge, today).then(|| view! {
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
        </Form>
    }
}

type SaveFuture = Pin<Box<dyn Future<Output = Result<Saved, Failure>>>>;

/// Saving the card typed in the window: the request under way, its failure, and the bank's
/// question when the card's bank asks one.
#[derive(Clone, Copy)]
struct Saving {
    flow: Flow,
    on_saved: Callback<()>,
    fresh: Option<FreshCheck>,
    errors: LiveErrors,
    /// This window's idempotency key: a double submit or a retry after a lost answer reuses
    /// it, so the server saves once.
    key: StoredValue<String>,
    busy: RwSignal<bool>,
    failure: RwSignal<Option<String>>,
    bank_step: RwSignal<Option<BankStep>>,
    form: NodeRef<html::Form>,
}

impl Saving {
    fn new(flow: Flow, on_saved: Callback<()>, errors: LiveErrors) -> Self {
        Self {
            flow,
            on_saved,
            fresh: fresh_check::use_fresh_check(),
            errors,
            key: StoredValue::new(new_key()),
            busy: RwSignal::new(false),
            failure: RwSignal::new(None),
            bank_step: RwSignal::new(None),
            form: NodeRef::new(),
        }
    }

    /// Confirms `card` with the processor and has the server save it.
    fn save(self, card: NewCard) {
        let (processor, payment) = (
            self.flow.settings.with_untracked(|s| s.processor.clone()),
            self.flow.payment.get_untracked(),
        );
        let key = self.key.get_value();
        self.run(Box::pin(card_flow::save(
            self.fresh, processor, payment, card, key,
        )));
    }

    /// The bank answered on its own page: the server saves what the processor says.
    fn bank_answered(self) {
        if let Some(step) = self.bank_step.get_untracked() {
            self.bank_step.set(None);
            self.run(Box::pin(self.finish(step)));
        }
    }

    /// The cardholder answered their bank in this window.
    fn answer_bank(self, confirmed: bool) {
        let Some(step) = self.bank_step.get_untracked() else {
            return;
        };
        self.bank_step.set(None);
        self.run(Box::pin(async move {
            match card_flow::answer_bank(&step, confirmed).await {
                Ok(true) => self.finish(step).await,
                Ok(false) => Err(Failure::Unreachable(
                    "Your bank did not confirm this card. Try again, or use another card.".into(),
                )),
                Err(message) => Err(Failure::Unreachable(message)),
            }
        }));
    }

    async fn finish(self, step: BankStep) -> Result<Saved, Failure> {
        let payment = self.flow.payment.get_untracked();
        let key = self.key.get_value();
        let saved =
            card_flow::finish(self.fresh, payment, step.client_secret, step.card, key).await?;
        Ok(Saved::Card(saved))
    }

    fn run(self, work: SaveFuture) {
        self.busy.set(true);
        leptos::task::spawn_local(async move {
            let result = work.await;
            self.busy.set(false);
            self.done(result);
        });
    }

    fn done(self, result: Result<Saved, Failure>) {
        match result {
            Ok(Saved::Card(saved)) => {
                let label = saved.label();
                self.flow.settings.update(|s| s.card = Some(saved));
                self.flow
                    .saved_notice
                    .set(Some(format!("Your card is saved: {label}.")));
                self.on_saved.run(());
            }
            Ok(Saved::Bank(step)) => self.bank_step.set(Some(step)),
            Err(Failure::Refused(AppError::Validation(fields))) => {
                // Card fields show beside themselves; anything else was checked on the
                // previous tab, so it is listed here with a way back.
                let others: Vec<&str> = fields
                    .iter()
                    .filter(|(f, _)| !CARD_FIELDS.contains(f))
                    .map(|(_, m)| m)
                    .collect();
                if !others.is_empty() {
                    self.failure.set(Some(format!(
                        "Check the payment information: {}",
                        others.join(" ")
                    )));
                }
                self.errors.set_server(fields);
                focus_first_invalid(self.form);
            }
            Err(Failure::Refused(e)) => self.failure.set(Some(e.to_string())),
            Err(Failure::Unreachable(message)) => self.failure.set(Some(message)),
        }
    }
}

/// A fresh idempotency key for a card window.
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
