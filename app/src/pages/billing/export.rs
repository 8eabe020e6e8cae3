//! The Billing page's "Download invoices" card: the invoices and credit notes made between two
//! dates, as a ZIP of their PDFs with a CSV listing them (`GET /billing/export`, which the
//! browser downloads itself). The dates are checked by core as they are typed.

use leptos::prelude::*;
use tally_core::export::ExportRangeInput;

use crate::components::{field::Field, form::Form, live_errors::LiveErrors};

/// Where the form sends its dates.
pub const EXPORT_PATH: &str = "/billing/export";

#[component]
pub(super) fn DownloadInvoices() -> impl IntoView {
    let input = RwSignal::new(ExportRangeInput::default());
    let errors = LiveErrors::new(move || input.with(|i| i.parse().err().unwrap_or_default()));
    let from = Signal::derive(move || input.with(|i| i.from.clone()));
    let to = Signal::derive(move || input.with(|i| i.to.clone()));
    let set_from = Callback::new(move |v: String| {
        input.update(|i| i.from = v);
        errors.edited("from");
    });
    let set_to = Callback::new(move |v: String| {
        input.update(|i| i.to = v);
        errors.edited("to");
    });
    // Valid dates: the browser sends the form and downloads the answer.
    let submit = move |ev: leptos::ev::SubmitEvent| {
        if !errors.submit() {
            ev.prevent_default();
        }
    };
    view! {
        <section class="card" aria-labelledby="export-title">
            <h2 id="export-title">"Download invoices"</h2>
            <p class="field-hint">"Every invoice and credit note made between two dates: a ZIP of their PDFs with a spreadsheet (CSV) listing them, for your bookkeeping."</p>
            <Form to=EXPORT_PATH method="get" class="form" on_submit=submit>
                <Field name="from" label="From" kind="date" required=true value=from
                    error=errors.error("from") on_input=set_from on_blur=errors.touch("from") />
                <Field name="to" label="To" kind="date" required=true value=to
                    error=errors.error("to") on_input=set_to on_blur=errors.touch("to") />
                <button type="submit" class="primary">"Download ZIP"</button>
            </Form>
        </section>
    }
}
