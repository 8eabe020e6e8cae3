//! The seller's details as set-up and the settings page ask for them: its legal name and the
//! contact email its customers write to, its address, and the plan new customer accounts
//! start on.

use leptos::prelude::*;
use tally_core::{address::AddressInput, seller::PlanInput};

use crate::components::{
    address::{AddressFields, COMPANY},
    field::Field,
    live_errors::LiveErrors,
    plan_fields::PlanFields,
    tax_id_field::TaxIdField,
};

/// "Your company" and "Default plan for new customer accounts", each field checked by `errors`.
#[component]
pub fn SellerFields(
    #[prop(into)] legal_name: Signal<String>,
    #[prop(into)] contact_email: Signal<String>,
    on_legal_name: Callback<String>,
    on_contact_email: Callback<String>,
    #[prop(into)] tax_id: Signal<String>,
    on_tax_id: Callback<String>,
    address: RwSignal<AddressInput>,
    plan: RwSignal<PlanInput>,
    errors: LiveErrors,
) -> impl IntoView {
    view! {
        <fieldset class="group">
            <legend>"Your company"</legend>
            <p class="field-hint">"Printed on every invoice and email your customers receive."</p>
            <Field name="legal_name" label="Legal name" autocomplete="organization" required=true value=legal_name
                error=errors.error("legal_name") on_input=on_legal_name on_blur=errors.touch("legal_name") />
            <Field name="contact_email" label="Contact email for customers" kind="email" autocomplete="email" required=true
                value=contact_email error=errors.error("contact_email") on_input=on_contact_email on_blur=errors.touch("contact_email") />
            <AddressFields names=&COMPANY value=address errors=errors />
            <TaxIdField value=tax_id country=Signal::derive(move || address.with(|a| a.country.clone()))
                error=errors.error("tax_id") on_input=on_tax_id on_blur=errors.touch("tax_id")
                hint="Your VAT number, UID, ABN or other tax ID, printed on every invoice." />
        </fieldset>
        <PlanFields plan=plan errors=errors legend="Default plan for new customer accounts" />
    }
}
