//! A plan's fields — its currency, the price per user a month, the free users and the billing
//! day — checked by core's rules as they are typed (set-up's default plan, a new account's, a
//! plan change).

use leptos::prelude::*;
use tally_core::{money::Currency, seller::PlanInput};

use crate::components::{
    field::{Field, SelectField},
    live_errors::LiveErrors,
};

/// A plan's fields, checked by core as they are typed.
#[component]
pub fn PlanFields(
    plan: RwSignal<PlanInput>,
    errors: LiveErrors,
    #[prop(default = "Plan")] legend: &'static str,
) -> impl IntoView {
    let text =
        move |get: fn(&PlanInput) -> &String| Signal::derive(move || plan.with(|p| get(p).clone()));
    let set = move |field: &'static str, put: fn(&mut PlanInput, String)| {
        Callback::new(move |v: String| {
            errors.changed(field, &v);
            plan.update(|p| put(p, v));
        })
    };
    let currencies: Vec<(String, String)> = Currency::ALL
        .iter()
        .map(|c| (c.code().to_string(), format!("{} ({})", c.name(), c.code())))
        .collect();
    // The price's label names the currency chosen: "Price per user per month (EUR)".
    let price_label = Signal::derive(move || {
        let code = plan.with(|p| Currency::parse(&p.currency).map_or("USD", Currency::code));
        format!("Price per user per month ({code})")
    });
    view! {
        <fieldset class="group">
            <legend>{legend}</legend>
            <SelectField name="currency" label="Currency" options=currencies
                value=text(|p| &p.currency) error=errors.error("currency")
                on_change=set("currency", |p, v| p.currency = v) on_blur=errors.touch("currency") />
            <Field name="price_per_user" label=price_label autocomplete="off" required=true
                value=text(|p| &p.price_per_user) error=errors.error("price_per_user")
                on_input=set("price_per_user", |p, v| p.price_per_user = v) on_blur=errors.touch("price_per_user") />
            <Field name="free_users" label="Free users each month" autocomplete="off" required=true
                value=text(|p| &p.free_users) error=errors.error("free_users")
                on_input=set("free_users", |p, v| p.free_users = v) on_blur=errors.touch("free_users") />
            <Field name="billing_day" label="Billing day" autocomplete="off"
                hint="The day of the next month each month's users are invoiced and charged: 1 to 28. Blank is the 1st."
                value=text(|p| &p.billing_day) error=errors.error("billing_day")
                on_input=set("billing_day", |p, v| p.billing_day = v) on_blur=errors.touch("billing_day") />
        </fieldset>
    }
}
