//! The Billing page's "Spend alerts" card: an amount for the month and the percentages of it
//! at which this month's estimate raises an alert, with a forecast alert; each fires once a
//! month to the billing contacts who subscribe to spend alerts, and shows on the Overview.
//! Server functions: `get_spend_alerts`, `save_spend_alerts` (Administrators With Billing).

use leptos::{prelude::*, server_fn::ServerFn};
use tally_core::{
    forms::FieldErrors,
    spend_alerts::{parse_thresholds, SpendAlertsInput},
};

use crate::{
    api::billing::{get_spend_alerts, save_spend_alerts, SaveSpendAlerts},
    components::{
        field::Field,
        form::{echo, Form},
        live_errors::LiveErrors,
    },
    error::AppError,
};

#[component]
pub(super) fn SpendAlertsCard() -> impl IntoView {
    let saved = Resource::new(|| (), |_| get_spend_alerts());
    view! {
        <section class="card" aria-labelledby="spend-alerts-title">
            <h2 id="spend-alerts-title">"Spend alerts"</h2>
            <p class="field-hint">"An amount for the month and the shares of it at which this month's estimate alerts the billing contacts who receive spend alerts. Each alert is sent once a month and shows on the Overview."</p>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match saved.await {
                        Err(e) => view! { <p role="alert">{e.to_string()}</p> }.into_any(),
                        Ok(start) => view! { <SpendAlertsForm start=start /> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn SpendAlertsForm(start: SpendAlertsInput) -> impl IntoView {
    // Drawn again after a refused plain post: what was sent, the box too.
    let start = match echo().filter(|e| e.action == SaveSpendAlerts::url()) {
        Some(e) => SpendAlertsInput {
            budget: e.value("alert_budget").unwrap_or_default().to_string(),
            thresholds: e.value("alert_thresholds").unwrap_or_default().to_string(),
            forecast: e.value("alert_forecast").is_some(),
        },
        None => start,
    };
    let input = RwSignal::new(start);
    // The amount's shape is checked on the server, in the account's currency; the
    // percentages here as typed.
    let errors = LiveErrors::new(move || {
        let mut e = FieldErrors::new();
        input.with(|i| {
            if !i.budget.trim().is_empty() {
                e.check("alert_thresholds", parse_thresholds(&i.thresholds));
            }
        });
        e
    });
    let busy = RwSignal::new(false);
    let said = RwSignal::new(None::<Result<String, String>>);
    if let Some(refusal) = errors.from_echo(SaveSpendAlerts::url()) {
        said.set(Some(Err(refusal.to_string())));
    }
    let forecast = NodeRef::<leptos::html::Input>::new();
    let text = move |f: fn(&SpendAlertsInput) -> &String| {
        Signal::derive(move || input.with(|i| f(i).clone()))
    };
    let set = move |name: &'static str, f: fn(&mut SpendAlertsInput, String)| {
        Callback::new(move |v: String| {
            input.update(|i| f(i, v));
            errors.edited(name);
        })
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        said.set(None);
        if !errors.submit() || busy.get_untracked() {
            return;
        }
        busy.set(true);
        let i = input.get_untracked();
        let on = forecast.get_untracked().is_some_and(|el| el.checked());
        leptos::task::spawn_local(async move {
            let blank = i.budget.trim().is_empty();
            let result = save_spend_alerts(
                i.budget.clone(),
                i.thresholds.clone(),
                if on { "on".into() } else { String::new() },
            )
            .await;
            busy.set(false);
            match result {
                Ok(()) => said.set(Some(Ok(if blank {
                    "Saved: no spend alerts.".to_string()
                } else {
                    format!(
                        "Saved: alerts at {} % of {}.",
                        i.thresholds,
                        i.budget.trim()
                    )
                }))),
                Err(AppError::Validation(fields)) => errors.set_server(fields),
                Err(e) => said.set(Some(Err(e.to_string()))),
            }
        });
    };
    let checked = input.with_untracked(|i| i.forecast);
    view! {
        <Form to=SaveSpendAlerts::url() class="form" on_submit=submit>
            <Field name="alert_budget" label="Amount for the month (blank for no alerts)" autocomplete="off"
                value=text(|i| &i.budget) error=errors.error("alert_budget")
                on_input=set("alert_budget", |i, v| i.budget = v) on_blur=errors.touch("alert_budget") />
            <Field name="alert_thresholds" label="Alert at these percentages" autocomplete="off"
                hint="Up to five, such as 50, 80, 100."
                value=text(|i| &i.thresholds) error=errors.error("alert_thresholds")
                on_input=set("alert_thresholds", |i, v| i.thresholds = v) on_blur=errors.touch("alert_thresholds") />
            <div class="field checkbox-field">
                <input type="checkbox" id="alert_forecast" name="alert_forecast" value="on" checked=checked node_ref=forecast />
                <label for="alert_forecast">"Also alert when this month is on track to pass the amount"</label>
            </div>
            <p class="form-said" aria-live="polite" class:form-error=move || matches!(said.get(), Some(Err(_)))>
                {move || said.get().map(|s| s.unwrap_or_else(|e| e))}
            </p>
            <button type="submit" class="primary" disabled=move || busy.get()>"Save the alerts"</button>
        </Form>
    }
}
