//! The seller's settings. Route: `/operator/settings`. Requires: Manage seller settings (the
//! Owner; the server checks again, with a fresh check). Server functions:
//! `get_seller_settings`, `save_seller_settings`.

use leptos::{prelude::*, server_fn::ServerFn};
use leptos_meta::Title;
use tally_core::{
    address::AddressInput,
    operators::OperatorAction,
    seller::{PlanInput, SettingsInput},
};

use super::frame::OperatorSignedIn;
use crate::{
    api::settings::{get_seller_settings, save_seller_settings, SaveSellerSettings},
    components::{
        field::Field, form::Form, fresh_check, live_errors::LiveErrors, seller_fields::SellerFields,
    },
    error::AppError,
};

#[component]
pub fn SellerSettingsPage() -> impl IntoView {
    let saved = Resource::new(|| (), |_| get_seller_settings());
    view! {
        <OperatorSignedIn action=OperatorAction::ManageSellerSettings children=move |_| view! {
            <Title text="Settings" />
            <h1>"Settings"</h1>
            <Suspense fallback=|| view! { <p>"Loading the settings…"</p> }>
                {move || Suspend::new(async move {
                    match saved.await {
                        Err(e) => view! { <p role="alert">{e.to_string()}</p> }.into_any(),
                        Ok(s) => view! { <SettingsForm start=s /> }.into_any(),
                    }
                })}
            </Suspense>
        } />
    }
}

#[component]
fn SettingsForm(start: SettingsInput) -> impl IntoView {
    let fresh = fresh_check::use_fresh_check();
    let input = RwSignal::new(start.clone());
    let address = RwSignal::new(start.seller.address.clone());
    let plan = RwSignal::new(start.seller.plan.clone());
    let errors = LiveErrors::new(move || {
        let mut typed = input.get();
        typed.seller.address = address.get();
        typed.seller.plan = plan.get();
        typed.parse().err().unwrap_or_default()
    });
    let notice = RwSignal::new(None::<Result<String, String>>);
    let busy = RwSignal::new(false);
    let text = move |get: fn(&SettingsInput) -> &String| {
        Signal::derive(move || input.with(|i| get(i).clone()))
    };
    let set = move |field: &'static str, put: fn(&mut SettingsInput, String)| {
        Callback::new(move |v: String| {
            input.update(|i| put(i, v));
            errors.edited(field);
        })
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !errors.submit() || busy.get_untracked() {
            return;
        }
        busy.set(true);
        notice.set(None);
        let (i, a, p) = (
            input.get_untracked(),
            address.get_untracked(),
            plan.get_untracked(),
        );
        leptos::task::spawn_local(async move {
            let result = fresh_check::run(fresh, || {
                let (i, a, p): (SettingsInput, AddressInput, PlanInput) =
                    (i.clone(), a.clone(), p.clone());
                save_seller_settings(
                    i.seller.legal_name,
                    i.seller.contact_email,
                    a.country,
                    a.line1,
                    a.line2,
                    a.city,
                    a.region,
                    a.postal_code,
                    i.seller.tax_id,
                    p.currency,
                    p.price_per_user,
                    p.free_users,
                    p.billing_day,
                    i.retry_days,
                    i.auto_suspend_days,
                    i.tax_registrations,
                    i.oss,
                )
            })
            .await;
            busy.set(false);
            match result {
                Ok(()) => notice.set(Some(Ok("The settings are saved.".into()))),
                Err(AppError::Validation(fields)) => errors.set_server(fields),
                Err(e) => notice.set(Some(Err(e.to_string()))),
            }
        });
    };
    view! {
        <p class="notice" role="status" class:notice-error=move || matches!(notice.get(), Some(Err(_)))>
            {move || notice.get().map(|n| n.unwrap_or_else(|e| e))}
        </p>
        <Form to=SaveSellerSettings::url() class="card form" on_submit=submit live_only=true>
            <SellerFields legal_name=text(|i| &i.seller.legal_name) contact_email=text(|i| &i.seller.contact_email)
                on_legal_name=set("legal_name", |i, v| i.seller.legal_name = v)
                on_contact_email=set("contact_email", |i, v| i.seller.contact_email = v)
                tax_id=text(|i| &i.seller.tax_id) on_tax_id=set("tax_id", |i, v| i.seller.tax_id = v)
                address=address plan=plan errors=errors />
            <fieldset class="group">
                <legend>"Failed charges"</legend>
                <Field name="retry_days" label="Try again after these days" autocomplete="off" required=true
                    hint="Days after the first failed charge, in order, e.g. 1, 3, 7. After the last, the account is past due."
                    value=text(|i| &i.retry_days) error=errors.error("retry_days")
                    on_input=set("retry_days", |i, v| i.retry_days = v) on_blur=errors.touch("retry_days") />
                <Field name="auto_suspend_days" label="Suspend an account automatically after this many days unpaid" autocomplete="off"
                    hint="Counted from the first failed charge of an invoice still unpaid. Leave blank to never suspend automatically."
                    value=text(|i| &i.auto_suspend_days) error=errors.error("auto_suspend_days")
                    on_input=set("auto_suspend_days", |i, v| i.auto_suspend_days = v) on_blur=errors.touch("auto_suspend_days") />
            </fieldset>
            <fieldset class="group">
                <legend>"VAT"</legend>
                <Field name="tax_registrations" label="Countries where you charge VAT, with the rate" autocomplete="off"
                    hint="E.g. DE 19 %, FR 20 %. An EU country's standard rate may be left out. Blank: you charge no VAT, and invoices carry none."
                    value=text(|i| &i.tax_registrations) error=errors.error("tax_registrations")
                    on_input=set("tax_registrations", |i, v| i.tax_registrations = v) on_blur=errors.touch("tax_registrations") />
                <div class="field checkbox-field">
                    <input type="checkbox" id="oss" name="oss" aria-describedby="oss-hint"
                        prop:checked=move || input.with(|i| i.oss)
                        on:change=move |ev| input.update(|i| i.oss = event_target_checked(&ev)) />
                    <label for="oss">"Registered for the One-Stop Shop (OSS)"</label>
                </div>
                <p class="field-hint" id="oss-hint">"EU consumers, and businesses without a VAT number, then pay their own country's standard rate. Without it they pay yours."</p>
            </fieldset>
            <button type="submit" class="primary" disabled=move || busy.get()>"Save settings"</button>
        </Form>
    }
}
