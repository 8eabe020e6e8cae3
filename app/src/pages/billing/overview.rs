//! The Billing page's summary: this month's plan and projection, the card on file, who
//! receives invoices, and the two charts.

use leptos::prelude::*;
use tally_core::views::billing::BillingOverview;

use super::peak::{PeakCard, WhatIfCard};
use crate::{
    api::billing::set_receive_invoices,
    components::{billing_notices::BillingNotices, payments::PaymentsDialog},
};

#[component]
pub(super) fn Overview(
    o: BillingOverview,
    reload: RwSignal<u32>,
    notice: RwSignal<Option<String>>,
) -> impl IntoView {
    let payments = use_context::<PaymentsDialog>();
    let open_payments = move |_| {
        if let Some(p) = payments {
            p.0.set(true);
        }
    };
    let me_opted_in = o.me_opted_in;
    let toggle = move |ev: leptos::ev::Event| {
        let on = event_target_checked(&ev);
        leptos::task::spawn_local(async move {
            match set_receive_invoices(on).await {
                Ok(()) => {
                    notice.set(Some(if on {
                        "Invoices will be emailed to you too.".into()
                    } else {
                        "Invoices will no longer be emailed to you.".into()
                    }));
                    reload.update(|n| *n += 1);
                }
                Err(e) => notice.set(Some(e.to_string())),
            }
        });
    };
    let billable = o.peak_so_far.saturating_sub(o.free_users);
    let plan = o.plan();
    let projection = tally_core::billing::projection_sentence(o.peak_so_far, &plan);
    view! {
        <BillingNotices o=o.clone() />
        <div class="cards">
            <section class="card" aria-labelledby="plan-title">
                <h2 id="plan-title">"This month"</h2>
                <dl class="facts">
                    <dt>"Price"</dt><dd>{format!("{} per user per month; the first {} users are free", o.money(o.price_per_user_cents), o.free_users)}</dd>
                    <dt>"Users now"</dt><dd id="users-now">{o.users_now}</dd>
                    <dt>"Peak so far"</dt><dd id="peak-so-far">{o.peak_so_far}</dd>
                    <dt>"Projected charge"</dt><dd id="projected-charge">{match o.tax {
                        Some(t) => format!(
                            "{} ({billable} × {} + {} {})",
                            o.money(o.projected_cents), o.money(o.price_per_user_cents), t.label(), o.money(o.projected_tax_cents)
                        ),
                        None => format!("{} ({billable} × {})", o.money(o.projected_cents), o.money(o.price_per_user_cents)),
                    }}</dd>
                    <dt>"Next charge"</dt><dd id="next-charge">{o.next_charge_date.format("%B %-d, %Y").to_string()}</dd>
                </dl>
                <p class="projection" id="projection">{projection}</p>
                {o.tax.and_then(|t| t.note()).map(|n| view! { <p id="tax-note">{n}</p> })}
                <p id="billing-day">{tally_core::billing::billing_day_sentence(o.billing_day)}</p>
                {o.next_plan.clone().map(|n| view! {
                    <p class="next-plan" id="next-plan">{format!(
                        "From {}: {}.",
                        month_name(&n.from_month), tally_core::billing::plan_sentence(&n.plan())
                    )}</p>
                })}
                {(o.credit_balance_cents > 0).then(|| view! {
                    <p id="credit-balance">{format!(
                        "Credit balance: {}, taken off your next invoices.",
                        o.money(o.credit_balance_cents)
                    )}</p>
                })}
            </section>
            <section class="card" aria-labelledby="card-title">
                <h2 id="card-title">"Payment method"</h2>
                {match o.card.clone() {
                    Some(c) => view! {
                        <p>{c.label()}" · expires "{c.expiry_label()}<br />{c.cardholder_name.clone()}</p>
                    }.into_any(),
                    None => view! { <p>"No card on file yet."</p> }.into_any(),
                }}
                {o.card_expires_before_charge.then(|| view! {
                    <p class="warning">"This card expires before the next charge. Update it to avoid a failed payment."</p>
                })}
                <button type="button" on:click=open_payments>{if o.card.is_some() { "Update payment method" } else { "Add a payment method" }}</button>
            </section>
            <section class="card" aria-labelledby="recipients-title">
                <h2 id="recipients-title">"Invoice recipients"</h2>
                <p>
                    "Billing contact: "
                    {match (o.contact_name.clone(), o.contact_email.clone()) {
                        (Some(n), Some(e)) => format!("{n} ({e})"),
                        _ => "none yet — add one under Payments → Billing Information.".to_string(),
                    }}
                </p>
                {(!o.opted_in.is_empty()).then(|| view! { <p>"Also: "{o.opted_in.join(", ")}</p> })}
                <div class="field checkbox-field">
                    <input type="checkbox" id="receive-invoices" prop:checked=me_opted_in on:change=toggle />
                    <label for="receive-invoices">"Also email invoices to me"</label>
                </div>
            </section>
        </div>
        <div class="cards">
            <PeakCard o=o.clone() />
            <WhatIfCard o=o.clone() />
        </div>
        <Charts o=o />
    }
}

/// The two charts, drawn by the server, each with the table a screen reader reads instead.
#[component]
fn Charts(o: BillingOverview) -> impl IntoView {
    let month = tally_core::billing::BillingMonth::parse(&o.month);
    let month_name = month.map(|m| m.label()).unwrap_or_else(|| o.month.clone());
    let peak = o.peak_so_far;
    let days = o
        .daily_peaks
        .iter()
        .enumerate()
        .map(|(i, users)| {
            let day = month
                .and_then(|m| tally_core::Datelike::with_day(&m.first_day(), i as u32 + 1))
                .map(|d| d.format("%B %-d").to_string())
                .unwrap_or_default();
            view! { <tr><th scope="row">{day}</th><td class="number">{*users}</td></tr> }
        })
        .collect_view();
    let months = o
        .history
        .iter()
        .map(|m| {
            let name = tally_core::billing::BillingMonth::parse(&m.month)
                .map(|b| b.label())
                .unwrap_or_else(|| m.month.clone());
            view! {
                <tr>
                    <th scope="row">{name}</th>
                    <td class="number">{m.peak_users}</td>
                    <td class="number">{m.amount.to_string()}</td>
                </tr>
            }
        })
        .collect_view();
    let has_history = !o.history.is_empty();
    view! {
        <div class="cards charts">
            <section class="card" aria-labelledby="month-chart-title">
                <h2 id="month-chart-title">{format!("Users in {month_name}, day by day")}</h2>
                <p class="chart-key">{format!("Peak so far {peak}; the first {} users are free.", o.free_users)}</p>
                <div class="chart-box" id="month-chart" inner_html=o.month_chart.clone()></div>
                <table class="visually-hidden">
                    <caption>{format!("Largest number of users each day of {month_name} so far")}</caption>
                    <thead><tr><th scope="col">"Day"</th><th scope="col">"Users"</th></tr></thead>
                    <tbody>{days}</tbody>
                </table>
            </section>
            <section class="card" aria-labelledby="year-chart-title">
                <h2 id="year-chart-title">"The last 12 months"</h2>
                {if has_history {
                    view! {
                        <p class="chart-key">"Each month's peak users, with its charge."</p>
                        <div class="chart-box" id="year-chart" inner_html=o.year_chart.clone()></div>
                        <table class="visually-hidden">
                            <caption>"Peak users and charge of each invoiced month"</caption>
                            <thead><tr><th scope="col">"Month"</th><th scope="col">"Peak users"</th><th scope="col">"Charge"</th></tr></thead>
                            <tbody>{months}</tbody>
                        </table>
                    }.into_any()
                } else {
                    view! { <p>"No invoices yet: each month appears here once it is invoiced."</p> }.into_any()
                }}
            </section>
        </div>
    }
}

/// `2026-12` as "December 2026".
fn month_name(month: &str) -> String {
    tally_core::NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d")
        .map(|d| d.format("%B %Y").to_string())
        .unwrap_or_else(|_| month.to_string())
}
