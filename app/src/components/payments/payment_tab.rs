//! Step 2, Payment Information: the cardholder and the card's billing address (or "same as
//! billing information"); Enter card opens the card window. Nothing is sent yet.

use leptos::prelude::*;

use super::{billing_tab::focus_first_invalid, Flow};
use crate::components::{
    address::{AddressFields, CARD},
    field::Field,
    form::Form,
    live_errors::LiveErrors,
};

#[component]
pub(super) fn PaymentTab(flow: Flow, on_enter_card: Callback<()>) -> impl IntoView {
    let payment = flow.payment;
    let billing_address = move || {
        flow.settings
            .with(|s| s.info.as_ref().map(|i| i.address.clone()))
    };
    let errors = LiveErrors::new(move || {
        let billing = billing_address();
        payment.with(|p| p.parse(billing.as_ref()).err().unwrap_or_default())
    });
    let address = RwSignal::new(payment.get_untracked().address);
    Effect::new(move |_| {
        let a = address.get();
        payment.update(|p| p.address = a);
    });
    let same = Signal::derive(move || payment.with(|p| p.same_as_billing));
    let form = NodeRef::<leptos::html::Form>::new();
    let enter_card = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if errors.submit() {
            on_enter_card.run(());
        } else {
            focus_first_invalid(form);
        }
    };
    view! {
        <Form to="/billing" class="form" node_ref=form on_submit=enter_card live_only=true>
            <Field name="cardholder_name" label="Cardholder name" autocomplete="cc-name" required=true
                hint="As printed on the card."
                value=Signal::derive(move || payment.with(|p| p.cardholder_name.clone()))
                error=errors.error("cardholder_name")
                on_input=Callback::new(move |v: String| {
                    payment.update(|p| p.cardholder_name = v);
                    errors.edited("cardholder_name");
                })
                on_blur=errors.touch("cardholder_name") />
            <div class="field checkbox-field" class:field-invalid=move || errors.error("same_as_billing").get().is_some()>
                <input type="checkbox" id="same_as_billing" name="same_as_billing"
                    prop:checked=move || same.get()
                    aria-describedby="same_as_billing-error"
                    on:change=move |ev| {
                        let checked = event_target_checked(&ev);
                        payment.update(|p| p.same_as_billing = checked);
                        errors.edited("same_as_billing");
                    } />
                <label for="same_as_billing">"The card's billing address is the same as the billing information"</label>
                <p class="field-error" id="same_as_billing-error" aria-live="polite">{move || errors.error("same_as_billing").get()}</p>
            </div>
            {move || (!same.get()).then(|| view! {
                <fieldset class="group">
                    <legend>"Card's billing address"</legend>
                    <AddressFields names=&CARD value=address errors=errors />
                </fieldset>
            })}
            <div class="dialog-buttons">
                <button type="submit" class="primary">"Enter card"</button>
            </div>
        </Form>
    }
}
