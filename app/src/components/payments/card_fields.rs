//! The card window's fields: number (grouped as typed, brand shown), expiry (MM/YY) and
//! security code (named and sized for the brand). Never pre-filled.

use leptos::prelude::*;
use tally_core::{
    card::{self, cvc_typing_state, AcceptedBrands},
    expiry,
    forms::{CardInput, FieldErrors},
    NaiveDate,
};

use crate::components::live_errors::LiveErrors;

/// What the fields hold, and what the window reads of them.
#[derive(Clone, Copy)]
pub(super) struct CardTyped {
    pub number: RwSignal<String>,
    pub expiry: RwSignal<String>,
    pub cvc: RwSignal<String>,
    /// The brand, as soon as only one is still possible.
    pub brand: Memo<Option<card::Brand>>,
}

impl CardTyped {
    /// Empty fields, and the brand read from the number as it is typed.
    pub fn new(accepted: &AcceptedBrands) -> Self {
        let number = RwSignal::new(String::new());
        let accepted = accepted.clone();
        CardTyped {
            number,
            expiry: RwSignal::new(String::new()),
            cvc: RwSignal::new(String::new()),
            brand: Memo::new(move |_| number.with(|n| card::typing_state(n, &accepted).1)),
        }
    }

    /// What was typed, for core to read.
    pub fn input(self) -> CardInput {
        CardInput {
            number: self.number.get_untracked(),
            expiry: self.expiry.get_untracked(),
            cvc: self.cvc.get_untracked(),
        }
    }

    /// Core's messages while typing: the whole card checked, and (at once) what can no
    /// longer become valid.
    pub fn errors(self, accepted: AcceptedBrands, today: NaiveDate) -> LiveErrors {
        let whole = accepted.clone();
        LiveErrors::with_immediate(
            move || {
                let card = CardInput {
                    number: self.number.get(),
                    expiry: self.expiry.get(),
                    cvc: self.cvc.get(),
                };
                card.parse(&whole, today).err().unwrap_or_default()
            },
            move || {
                let mut e = FieldErrors::new();
                let number = self.number.with(|n| card::typing_state(n, &accepted).0);
                if let Some(err) = number.error_while_typing() {
                    e.add("card_number", err);
                }
                let expiry = self.expiry.with(|x| expiry::typing_state(x, today).0);
                if let Some(err) = expiry.error_while_typing() {
                    e.add("expiry", err);
                }
                let cvc = self.cvc.with(|c| cvc_typing_state(c, self.brand.get()));
                if let Some(err) = cvc.error_while_typing() {
                    e.add("cvc", err);
                }
                e
            },
        )
    }

    /// Whether the expiry typed so far is before `day`.
    pub fn expires_before(self, day: NaiveDate, today: NaiveDate) -> bool {
        self.expiry
            .with(|x| expiry::typing_state(x, today).1)
            .is_some_and(|e| e.expires_before(day))
    }
}

/// `ids` for `aria-describedby`: the field's hint, and its message while it has one.
fn described(
    errors: LiveErrors,
    field: &'static str,
    hint: &'static str,
) -> impl Fn() -> String + Send + Sync + 'static {
    move || {
        let mut ids = vec![hint.to_string()];
        if errors.error(field).get().is_some() {
            ids.push(format!("{field}-error"));
        }
        ids.join(" ")
    }
}

#[component]
pub(super) fn CardFields(
    typed: CardTyped,
    errors: LiveErrors,
    number_input: NodeRef<leptos::html::Input>,
) -> impl IntoView {
    let CardTyped { cvc, brand, .. } = typed;
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
            typed.number.set(formatted);
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
                tally_core::expiry::format_for_typing(&raw)
            };
            if value != raw {
                el.set_value(&value);
            }
            typed.expiry.set(value);
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = ev;
        errors.edited("expiry");
    };
    view! {
        <div class="field" class:field-invalid=move || errors.error("card_number").get().is_some()>
            <label for="card_number">"Card number"</label>
            <div class="card-number-row">
                <input id="card_number" name="card_number" type="text" inputmode="numeric"
                    autocomplete="cc-number" spellcheck="false" maxlength="23"
                    node_ref=number_input
                    aria-invalid=move || errors.error("card_number").get().is_some().then_some("true")
                    aria-describedby=described(errors, "card_number", "card_number-brand")
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
                    aria-describedby=described(errors, "expiry", "expiry-hint")
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
                    aria-describedby=described(errors, "cvc", "cvc-hint")
                    on:input=move |ev| { cvc.set(event_target_value(&ev)); errors.edited("cvc"); }
                    on:blur=move |_| errors.touch("cvc").run(()) />
                <p class="field-error" id="cvc-error" aria-live="polite">{move || errors.error("cvc").get()}</p>
            </div>
        </div>
    }
}
