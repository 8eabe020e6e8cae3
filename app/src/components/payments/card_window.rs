//! The card window: number (grouped as typed, brand shown), expiry (MM/YY) and security code
//! (named and sized for the brand), then Submit Payment Method. Never pre-filled; what is typed
//! here goes only to the server function, which tokenizes it and keeps the last 4.

use leptos::prelude::*;
use tally_core::{
    billing::next_charge_date,
    card::{self, cvc_typing_state, AcceptedBrands},
    expiry,
    forms::{CardInput, FieldErrors},
};

use super::{billing_tab::focus_first_invalid, processor, Flow};
use crate::{
    api::billing::{
        begin_card_setup, card_setup_bank_page, confirm_card_setup, submit_payment_method,
        CardSummary, ConfirmedCard, Processor,
    },
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
            .unwrap_or_else(|_| format!("{}", js_sys_now()))
    }
    #[cfg(not(feature = "hydrate"))]
    String::new()
}

#[cfg(feature = "hydrate")]
fn js_sys_now() -> f64 {
    window().performance().map(|p| p.now()).unwrap_or_default()
}

/// A card set-up waiting for the cardholder's bank.
#[derive(Clone, Debug)]
struct BankStep {
    processor: Processor,
    client_secret: String,
    /// The bank's page, when the processor gives one.
    redirect_url: Option<String>,
    card: ConfirmedCard,
}

/// Sends the card to the processor (the browser build only: the server never renders this
/// step).
async fn confirm_with_processor(
    processor: &Processor,
    client_secret: &str,
    card: &tally_core::forms::NewCard,
    name: &str,
) -> Result<processor::IntentAnswer, String> {
    #[cfg(feature = "hydrate")]
    {
        let card = processor::CardForProcessor {
            digits: card.number.expose_digits(),
            exp_month: card.expiry.month(),
            exp_year: card.expiry.year(),
            cvc: card.cvc.expose(),
            name,
        };
        processor::confirm_setup(processor, client_secret, &card).await
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (processor, client_secret, card, name);
        Err("The card window runs in the browser.".into())
    }
}

/// The cardholder's answer for a set-up waiting for their bank.
async fn answer_bank_step(
    step: &BankStep,
    confirmed: bool,
) -> Result<processor::IntentAnswer, String> {
    #[cfg(feature = "hydrate")]
    {
        processor::answer_setup(&step.processor, &step.client_secret, confirmed).await
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (&step.processor, confirmed);
        Err("The card window runs in the browser.".into())
    }
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
    let accepted_for_submit = accepted.clone();
    let next_charge = next_charge_date(today);
    let number = RwSignal::new(String::new());
    let expiry_text = RwSignal::new(String::new());
    let cvc = RwSignal::new(String::new());
    let key = StoredValue::new(new_key());

    let brand = {
        let accepted = accepted.clone();
        Memo::new(move |_| number.with(|n| card::typing_state(n, &accepted).1))
    };
    let typed = move || CardInput {
        number: number.get(),
        expiry: expiry_text.get(),
        cvc: cvc.get(),
    };
    let accepted_list = format!(
        "We accept {}.",
        accepted
            .brands()
            .iter()
            .map(|b| b.display_name())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let errors = {
        let accepted_full = accepted.clone();
        LiveErrors::with_immediate(
            move || {
                typed()
                    .parse(&accepted_full, today)
                    .err()
                    .unwrap_or_default()
            },
            move || {
                let mut e = FieldErrors::new();
                if let Some(err) = number.with(|n| {
                    card::typing_state(n, &accepted)
                        .0
                        .error_while_typing()
                        .cloned()
                }) {
                    e.add("card_number", err);
                }
                if let Some(err) = expiry_text.with(|x| {
                    expiry::typing_state(x, today)
                        .0
                        .error_while_typing()
                        .cloned()
                }) {
                    e.add("expiry", err);
                }
                if let Some(err) = cvc.with(|c| {
                    cvc_typing_state(c, brand.get())
                        .error_while_typing()
                        .cloned()
                }) {
                    e.add("cvc", err);
                }
                e
            },
        )
    };
    let expires_before_charge = move || {
        expiry_text
            .with(|x| expiry::typing_state(x, today).1)
            .is_some_and(|e| e.expires_before(next_charge))
    };
    let cvc_label = move || match brand.get() {
        Some(b) => format!("Security code ({})", b.security_code_name()),
        None => "Security code".to_string(),
    };
    let cvc_hint = move || match brand.get() {
        Some(b) => b.security_code_hint().to_string(),
        None => "3 digits on the back of the card; 4 on the front for American Express".to_string(),
    };
    let cvc_len = move || brand.get().map_or(4, |b| b.security_code_length());

    let on_number = move |ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        {
            let el: web_sys::HtmlInputElement = event_target(&ev);
            let raw = el.value();
            let caret = el
                .selection_start()
                .ok()
                .flatten()
                .map_or(raw.len(), |c| c as usize);
            let (formatted, at) = card::format_for_typing(&raw, caret);
            if formatted != raw {
                el.set_value(&formatted);
                let _ = el.set_selection_range(at as u32, at as u32);
            }
            number.set(formatted);
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = ev;
        errors.edited("card_number");
    };
    let on_expiry = move |ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            let el: web_sys::HtmlInputElement = event_target(&ev);
            let raw = el.value();
            let deleting = ev
                .dyn_ref::<web_sys::InputEvent>()
                .is_some_and(|i| i.input_type().starts_with("delete"));
            let value = if deleting {
                raw.clone()
            } else {
                expiry::format_for_typing(&raw)
            };
            if value != raw {
                el.set_value(&value);
            }
            expiry_text.set(value);
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = ev;
        errors.edited("expiry");
    };

    let busy = RwSignal::new(false);
    let failure = RwSignal::new(None::<String>);
    // A set-up the card's bank asks the cardholder to confirm (the processor's gateway).
    let bank_step = RwSignal::new(None::<BankStep>);
    let form = NodeRef::<leptos::html::Form>::new();
    let handle = move |result: Result<CardSummary, AppError>| match result {
        Ok(saved) => {
            let label = saved.label();
            flow.settings.update(|s| s.card = Some(saved));
            flow.saved_notice
                .set(Some(format!("Your card is saved: {label}.")));
            on_saved.run(());
        }
        Err(AppError::Validation(fields)) => {
            // Card fields show beside themselves; anything else was checked on the
            // previous tab, so it is listed here with a way back.
            let others: Vec<String> = fields
                .iter()
                .filter(|(f, _)| !CARD_FIELDS.contains(f))
                .map(|(_, m)| m.to_string())
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
        Err(e) => failure.set(Some(e.to_string())),
    };
    // With the processor's gateway: the set-up the processor confirmed, saved in Tally.
    let finish = move |client_secret: String, card: ConfirmedCard| {
        let payment = flow.payment.get_untracked();
        busy.set(true);
        leptos::task::spawn_local(async move {
            let setup = processor::setup_id(&client_secret).to_string();
            let result = fresh_check::run(fresh, || {
                confirm_card_setup(
                    payment.clone(),
                    setup.clone(),
                    card.clone(),
                    key.get_value(),
                )
            })
            .await;
            busy.set(false);
            handle(result);
        });
    };
    let submit = {
        let accepted = accepted_for_submit;
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            if busy.get_untracked() {
                return;
            }
            failure.set(None);
            bank_step.set(None);
            if !errors.submit() {
                focus_first_invalid(form);
                return;
            }
            let payment = flow.payment.get_untracked();
            let card = CardInput {
                number: number.get_untracked(),
                expiry: expiry_text.get_untracked(),
                cvc: cvc.get_untracked(),
            };
            busy.set(true);
            match flow.settings.with_untracked(|s| s.processor.clone()) {
                None => leptos::task::spawn_local(async move {
                    let result = fresh_check::run(fresh, || {
                        submit_payment_method(payment.clone(), card.clone(), key.get_value())
                    })
                    .await;
                    busy.set(false);
                    handle(result);
                }),
                Some(processor) => {
                    let Ok(parsed) = card.parse(&accepted, today) else {
                        busy.set(false);
                        return;
                    };
                    let confirmed = ConfirmedCard {
                        brand: parsed.number.brand(),
                        last4: parsed.number.last4().to_string(),
                        exp_month: parsed.expiry.month(),
                        exp_year: parsed.expiry.year(),
                    };
                    let name = payment.cardholder_name.clone();
                    leptos::task::spawn_local(async move {
                        let secret = match fresh_check::run(fresh, begin_card_setup).await {
                            Ok(s) => s,
                            Err(e) => {
                                busy.set(false);
                                failure.set(Some(e.to_string()));
                                return;
                            }
                        };
                        let answer =
                            confirm_with_processor(&processor, &secret, &parsed, &name).await;
                        drop(parsed);
                        busy.set(false);
                        match answer {
                            Ok(a) if a.status.as_deref() == Some("succeeded") => {
                                finish(secret, confirmed)
                            }
                            Ok(a) if a.status.as_deref() == Some("requires_action") => {
                                // The bank's page, from the processor's answer or, when it
                                // names none, from the processor through the server.
                                let redirect_url = match a.redirect_url() {
                                    Some(url) => Some(url),
                                    None => card_setup_bank_page(
                                        processor::setup_id(&secret).to_string(),
                                    )
                                    .await
                                    .ok()
                                    .flatten(),
                                };
                                bank_step.set(Some(BankStep {
                                    processor,
                                    client_secret: secret,
                                    redirect_url,
                                    card: confirmed,
                                }))
                            }
                            Ok(a) => failure.set(Some(a.refusal())),
                            Err(message) => failure.set(Some(message)),
                        }
                    });
                }
            }
        }
    };
    // The cardholder's answer to their bank, in this window.
    let answer_bank = move |confirmed: bool| {
        let Some(step) = bank_step.get_untracked() else {
            return;
        };
        busy.set(true);
        leptos::task::spawn_local(async move {
            let answer = answer_bank_step(&step, confirmed).await;
            busy.set(false);
            bank_step.set(None);
            match answer {
                Ok(a) if confirmed && a.status.as_deref() == Some("succeeded") => {
                    finish(step.client_secret, step.card)
                }
                Ok(_) => failure.set(Some(
                    "Your bank did not confirm this card. Try again, or use another card.".into(),
                )),
                Err(message) => failure.set(Some(message)),
            }
        });
    };

    let described = move |field: &'static str, extra: &'static str| {
        move || {
            let mut ids = vec![extra.to_string()];
            if errors.error(field).get().is_some() {
                ids.push(format!("{field}-error"));
            }
            ids.join(" ")
        }
    };
    view! {
        <form class="form card-window" novalidate node_ref=form on:submit=submit>
            <div class="modal-head">
                <h2 id="card-title">"Card"</h2>
                <button type="button" class="icon-button" aria-label="Close the card window" on:click=move |_| on_back.run(())>"×"</button>
            </div>
            <p class="field-hint">{accepted_list}</p>
            <div class="field" class:field-invalid=move || errors.error("card_number").get().is_some()>
                <label for="card_number">"Card number"</label>
                <div class="card-number-row">
                    <input id="card_number" name="card_number" type="text" inputmode="numeric"
                        autocomplete="cc-number" spellcheck="false" maxlength="23"
                        node_ref=number_input
                        aria-invalid=move || errors.error("card_number").get().is_some().then_some("true")
                        aria-describedby=described("card_number", "card_number-brand")
                        on:input=on_number on:blur=move |_| errors.touch("card_number").run(()) />
                    <span class="card-brand" id="card_number-brand" aria-live="polite">
                        {move || brand.get().map(|b| b.display_name())}
                    </span>
                </div>
                <p class="field-error" id="card_number-error" aria-live="polite">{move || errors.error("card_number").get()}</p>
            </div>
            <div class="field-row">
                <div class="field" class:field-invalid=move || errors.error("expiry").get().is_some()>
                    <label for="expiry">"Expiration date"</label>
                    <p class="field-hint" id="expiry-hint">"MM/YY"</p>
                    <input id="expiry" name="expiry" type="text" inputmode="numeric" autocomplete="cc-exp"
                        placeholder="MM/YY" maxlength="7" spellcheck="false"
                        aria-invalid=move || errors.error("expiry").get().is_some().then_some("true")
                        aria-describedby=described("expiry", "expiry-hint")
                        on:input=on_expiry on:blur=move |_| errors.touch("expiry").run(()) />
                    <p class="field-error" id="expiry-error" aria-live="polite">{move || errors.error("expiry").get()}</p>
                </div>
                <div class="field" class:field-invalid=move || errors.error("cvc").get().is_some()>
                    <label for="cvc">{cvc_label}</label>
                    <p class="field-hint" id="cvc-hint">{cvc_hint}</p>
                    <input id="cvc" name="cvc" type="text" inputmode="numeric" autocomplete="cc-csc"
                        spellcheck="false" maxlength=move || cvc_len().to_string()
                        class=move || format!("cvc-{}", cvc_len())
                        aria-invalid=move || errors.error("cvc").get().is_some().then_some("true")
                        aria-describedby=described("cvc", "cvc-hint")
                        on:input=move |ev| { cvc.set(event_target_value(&ev)); errors.edited("cvc"); }
                        on:blur=move |_| errors.touch("cvc").run(()) />
                    <p class="field-error" id="cvc-error" aria-live="polite">{move || errors.error("cvc").get()}</p>
                </div>
            </div>
            {move || expires_before_charge().then(|| view! {
                <p class="warning">{format!(
                    "This card expires before the next charge on {}. You can save it, but it will need replacing by then.",
                    next_charge.format("%B %-d, %Y")
                )}</p>
            })}
            {move || bank_step.get().map(|step| view! {
                <div class="bank-step" role="group" aria-labelledby="bank-step-title">
                    <h3 id="bank-step-title">"Your bank asks you to confirm this card"</h3>
                    <p>"Nothing is charged now. Confirming lets Tally charge this card for your invoices."</p>
                    {match step.redirect_url.clone() {
                        // A live processor: the bank's own page, then the processor's word.
                        Some(url) => {
                            let step = step.clone();
                            view! {
                                <p><a href=url target="_blank" rel="noopener">"Open your bank's page"</a>" (a new tab), answer there, then come back here."</p>
                                <div class="dialog-buttons">
                                    <button type="button" class="primary" disabled=move || busy.get()
                                        on:click=move |_| {
                                            bank_step.set(None);
                                            finish(step.client_secret.clone(), step.card.clone());
                                        }>"I have answered my bank"</button>
                                </div>
                            }.into_any()
                        }
                        // The processor's test mode: the bank's question, answered here.
                        None => view! {
                            <div class="dialog-buttons">
                                <button type="button" class="primary" disabled=move || busy.get()
                                    on:click=move |_| answer_bank(true)>"Confirm with my bank"</button>
                                <button type="button" disabled=move || busy.get()
                                    on:click=move |_| answer_bank(false)>"Cancel"</button>
                            </div>
                        }.into_any(),
                    }}
                </div>
            })}
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
