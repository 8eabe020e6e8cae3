//! The tax ID field of the billing information and of the seller's details: checked as typed
//! by core's `tax_id` for the address's country, with a line saying which number that is.

use leptos::prelude::*;

use super::field::Field;

#[component]
pub fn TaxIdField(
    #[prop(into)] value: Signal<String>,
    /// The address's country (ISO code), which picks the scheme when no prefix is typed.
    #[prop(into)]
    country: Signal<String>,
    #[prop(into)] error: Signal<Option<String>>,
    on_input: Callback<String>,
    on_blur: Callback<()>,
    hint: &'static str,
) -> impl IntoView {
    let checked_as = move || {
        country.with(|c| {
            tally_core::tax_id::scheme_for_country(c).map(|s| format!("{}: {}.", s.title(), s.form))
        })
    };
    view! {
        <Field name="tax_id" label="Tax ID (optional)" hint=hint value=value error=error
            on_input=on_input on_blur=on_blur />
        <p class="field-hint tax-id-scheme">{checked_as}</p>
    }
}
