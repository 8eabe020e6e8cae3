//! The Billing page's "On your invoices" card: the PO number and up to five fields of the
//! account's own (a name and a value each), printed on every invoice made after they are saved,
//! and the language its invoices, credit notes and billing emails are written in.
//! Server functions: `get_invoice_fields`, `save_invoice_fields` (a fresh check).

use leptos::{prelude::*, server_fn::ServerFn};
use tally_core::invoice_fields::{InvoiceFieldsInput, MAX_CUSTOM_FIELDS};

use crate::{
    api::billing::{get_invoice_fields, save_invoice_fields, SaveInvoiceFields},
    components::{
        field::{Field, SelectField},
        form::Form,
        fresh_check,
        live_errors::LiveErrors,
    },
    error::AppError,
};

const NAMES: [&str; MAX_CUSTOM_FIELDS] = ["name1", "name2", "name3", "name4", "name5"];
const VALUES: [&str; MAX_CUSTOM_FIELDS] = ["value1", "value2", "value3", "value4", "value5"];

#[component]
pub(super) fn InvoiceReferences() -> impl IntoView {
    let saved = Resource::new(|| (), |_| get_invoice_fields());
    view! {
        <section class="card" aria-labelledby="references-title">
            <h2 id="references-title">"On your invoices"</h2>
            <p class="field-hint">"A purchase order number and up to five fields of your own, such as a cost centre, printed on every invoice from the next one on, and the language of your invoices and billing emails."</p>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match saved.await {
                        Err(e) => view! { <p role="alert">{e.to_string()}</p> }.into_any(),
                        Ok(start) => view! { <ReferencesForm start=start /> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn ReferencesForm(start: InvoiceFieldsInput) -> impl IntoView {
    let fresh = fresh_check::use_fresh_check();
    let mut start = start;
    start.custom.resize(MAX_CUSTOM_FIELDS, Default::default());
    let input = RwSignal::new(start);
    let errors = LiveErrors::new(move || input.with(|i| i.parse().err().unwrap_or_default()));
    let busy = RwSignal::new(false);
    let said = RwSignal::new(None::<Result<String, String>>);
    let po = Signal::derive(move || input.with(|i| i.po_number.clone()));
    let set_po = Callback::new(move |v: String| {
        input.update(|i| i.po_number = v);
        errors.edited("po_number");
    });
    let language = Signal::derive(move || input.with(|i| i.language.clone()));
    let set_language = Callback::new(move |v: String| {
        input.update(|i| i.language = v);
        errors.edited("invoice_language");
    });
    let pairs = (0..MAX_CUSTOM_FIELDS)
        .map(|n| {
            let name = Signal::derive(move || input.with(|i| i.custom[n].0.clone()));
            let value = Signal::derive(move || input.with(|i| i.custom[n].1.clone()));
            let set_name = Callback::new(move |v: String| {
                input.update(|i| i.custom[n].0 = v);
                errors.edited(NAMES[n]);
            });
            let set_value = Callback::new(move |v: String| {
                input.update(|i| i.custom[n].1 = v);
                errors.edited(VALUES[n]);
            });
            view! {
                <fieldset class="group pair">
                    <legend>{format!("Field {}", n + 1)}</legend>
                    <Field name=NAMES[n] label=format!("Field {} name", n + 1) value=name
                        error=errors.error(NAMES[n]) on_input=set_name on_blur=errors.touch(NAMES[n]) />
                    <Field name=VALUES[n] label=format!("Field {} value", n + 1) value=value
                        error=errors.error(VALUES[n]) on_input=set_value on_blur=errors.touch(VALUES[n]) />
                </fieldset>
            }
        })
        .collect_view();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        said.set(None);
        if !errors.submit() || busy.get_untracked() {
            return;
        }
        busy.set(true);
        let typed = input.get_untracked();
        leptos::task::spawn_local(async move {
            let result = fresh_check::run(fresh, || {
                let t = typed.clone();
                let pair = |n: usize| t.custom.get(n).cloned().unwrap_or_default();
                let [(n1, v1), (n2, v2), (n3, v3), (n4, v4), (n5, v5)] =
                    [pair(0), pair(1), pair(2), pair(3), pair(4)];
                save_invoice_fields(
                    t.po_number,
                    n1,
                    v1,
                    n2,
                    v2,
                    n3,
                    v3,
                    n4,
                    v4,
                    n5,
                    v5,
                    t.language,
                )
            })
            .await;
            busy.set(false);
            match result {
                Ok(()) => said.set(Some(Ok("Saved: the next invoice prints these.".into()))),
                Err(AppError::Validation(fields)) => errors.set_server(fields),
                Err(e) => said.set(Some(Err(e.to_string()))),
            }
        });
    };
    view! {
        <Form to=SaveInvoiceFields::url() class="form" on_submit=submit>
            <Field name="po_number" label="PO number (optional)" autocomplete="off" value=po
                error=errors.error("po_number") on_input=set_po on_blur=errors.touch("po_number") />
            {pairs}
            <SelectField name="invoice_language" label="Language of invoices and billing emails"
                options=super::contacts::language_options("")
                value=language error=errors.error("invoice_language") on_change=set_language />
            <p class="form-said" aria-live="polite" class:form-error=move || matches!(said.get(), Some(Err(_)))>
                {move || said.get().map(|s| s.unwrap_or_else(|e| e))}
            </p>
            <button type="submit" class="primary" disabled=move || busy.get()>"Save invoice details"</button>
        </Form>
    }
}
