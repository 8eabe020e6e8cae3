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

use super::{billing_tab::focus_first_invalid, Flow};
use crate::{
    api::billing::submit_payment_method,
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
    let form = NodeRef::<leptos::html::Form>::new();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        failure.set(None);
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
        leptos::task::spawn_local(async move {
            let result = fresh_check::run(fresh, || {
                submit_payment_method(payment.clone(), card.clone(), key.get_value())
            })
            .await;
            busy.set(false);
            match result {
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
