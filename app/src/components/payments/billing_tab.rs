//! Step 1, Billing Information: the company, the billing contact (where invoices go) and the
//! address; Next saves it and moves to Payment Information.

use leptos::{prelude::*, server_fn::ServerFn};
use tally_core::{address::AddressInput, forms::BillingInfoInput};

use super::Flow;
use crate::{
    api::payments::{save_billing_info, SaveBillingInfo},
    components::{
        address::{AddressFields, COMPANY},
        field::Field,
        form::Form,
        fresh_check,
        live_errors::LiveErrors,
        tax_id_field::TaxIdField,
    },
    error::AppError,
};

#[component]
pub(super) fn BillingTab(flow: Flow, on_next: Callback<()>) -> impl IntoView {
    let fresh = fresh_check::use_fresh_check();
    let info = flow.info;
    let errors = LiveErrors::new(move || info.with(|i| i.parse().err().unwrap_or_default()));
    let address = RwSignal::new(info.get_untracked().address);
    // The address fields edit their own signal; keep the form's copy in step.
    Effect::new(move |_| {
        let a: AddressInput = address.get();
        info.update(|i| i.address = a);
    });
    let text = move |get: fn(&BillingInfoInput) -> &String| {
        Signal::derive(move || info.with(|i| get(i).clone()))
    };
    let set = move |field: &'static str, put: fn(&mut BillingInfoInput, String)| {
        Callback::new(move |v: String| {
            info.update(|i| put(i, v));
            errors.edited(field);
        })
    };
    let busy = RwSignal::new(false);
    let failure = RwSignal::new(None::<String>);
    let form = NodeRef::<leptos::html::Form>::new();
    let next = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        failure.set(None);
        if !errors.submit() {
            focus_first_invalid(form);
            return;
        }
        let typed = info.get_untracked();
        // Unchanged since it was saved: nothing to send.
        let saved = flow.settings.with_untracked(|s| s.info.clone());
        if typed.parse().ok() == saved {
            on_next.run(());
            return;
        }
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result = fresh_check::run(fresh, || save_billing_info(typed.clone())).await;
            busy.set(false);
            match result {
                Ok(saved) => {
                    flow.settings.update(|s| s.info = Some(saved));
                    on_next.run(());
                }
                Err(AppError::Validation(fields)) => {
                    errors.set_server(fields);
                    focus_first_invalid(form);
                }
                Err(e) => failure.set(Some(e.to_string())),
            }
        });
    };
    view! {
        <Form to=SaveBillingInfo::url() class="form" node_ref=form on_submit=next live_only=true>
            <Field name="company_name" label="Company name" autocomplete="organization" required=true
                value=text(|i| &i.company_name) error=errors.error("company_name")
                on_input=set("company_name", |i, v| i.company_name = v) on_blur=errors.touch("company_name") />
            <fieldset class="group">
                <legend>"Billing contact"</legend>
                <p class="field-hint">"Invoices and answers to billing questions go to this person."</p>
                <Field name="contact_name" label="Name" autocomplete="name" required=true
                    value=text(|i| &i.contact_name) error=errors.error("contact_name")
                    on_input=set("contact_name", |i, v| i.contact_name = v) on_blur=errors.touch("contact_name") />
                <Field name="contact_email" label="Email" kind="email" autocomplete="email" required=true
                    value=text(|i| &i.contact_email) error=errors.error("contact_email")
                    on_input=set("contact_email", |i, v| i.contact_email = v) on_blur=errors.touch("contact_email") />
                <Field name="contact_phone" label="Phone (optional)" kind="tel" autocomplete="tel"
                    value=text(|i| &i.contact_phone) error=errors.error("contact_phone")
                    on_input=set("contact_phone", |i, v| i.contact_phone = v) on_blur=errors.touch("contact_phone") />
            </fieldset>
            <fieldset class="group">
                <legend>"Company address"</legend>
                <AddressFields names=&COMPANY value=address errors=errors />
            </fieldset>
            <TaxIdField value=text(|i| &i.tax_id) country=Signal::derive(move || address.with(|a| a.country.clone()))
                error=errors.error("tax_id") on_input=set("tax_id", |i, v| i.tax_id = v) on_blur=errors.touch("tax_id")
                hint="Your VAT number, GSTIN, ABN or EIN, as it should appear on your invoices." />
            <p class="form-error" role="alert">{move || failure.get()}</p>
            <div class="dialog-buttons">
                <button type="submit" class="primary" disabled=move || busy.get()>"Next"</button>
            </div>
        </Form>
    }
}

/// Moves focus to the first field marked invalid, once the marks are drawn.
pub(super) fn focus_first_invalid(form: NodeRef<leptos::html::Form>) {
    #[cfg(feature = "hydrate")]
    request_animation_frame(move || {
        use wasm_bindgen::JsCast;
        if let Some(el) = form
            .get_untracked()
            .and_then(|f| f.query_selector("[aria-invalid=true]").ok().flatten())
            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
        {
            let _ = el.focus();
        }
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = form;
}
