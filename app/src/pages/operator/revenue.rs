//! The seller's revenue. Route: `/operator`. Requires: an operator (any role).
//! Server function: `get_revenue`. Every figure is read from the invoices themselves; how each
//! is counted is said on the page.

use leptos::prelude::*;
use leptos_meta::Title;
use tally_core::{money::Money, views::operator::Revenue};

use super::frame::OperatorSignedIn;
use crate::{
    api::operator::{get_revenue, CONSOLE_PATH},
    error::AppError,
};

fn money(cents: i64) -> String {
    Money::from_cents(cents).to_string()
}

#[component]
pub fn RevenuePage() -> impl IntoView {
    let revenue = Resource::new(|| (), |_| get_revenue());
    view! {
        <OperatorSignedIn children=move |_| view! { <RevenueView revenue=revenue /> } />
    }
}

#[component]
fn RevenueView(revenue: Resource<Result<Revenue, AppError>>) -> impl IntoView {
    view! {
        <Title text="Revenue" />
        <h1>"Revenue"</h1>
        <Suspense fallback=|| view! { <p>"Loading the figures…"</p> }>
            {move || Suspend::new(async move {
                match revenue.await {
                    Err(e) => view! { <p role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(r) => view! { <Figures r=r.clone() /><Months r=r.clone() /><MostPastDue r=r /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Figures(r: Revenue) -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="now-title">
            <h2 id="now-title">"Now"</h2>
            <dl class="facts">
                <dt>"Monthly recurring revenue"</dt><dd id="mrr">{money(r.mrr_cents)}</dd>
                <dt>"Past due"</dt><dd id="past-due">{money(r.past_due_cents)}</dd>
                <dt>"Accounts"</dt>
                <dd id="accounts-by-status">{format!("{} active, {} suspended, {} closed", r.active, r.suspended, r.closed)}</dd>
            </dl>
            <p class="field-hint">"Recurring revenue is what the last month invoiced came to. Past due is every invoice charged and not paid: failed and waiting for a retry, past all retries, or waiting for the cardholder's bank."</p>
        </section>
    }
}

#[component]
fn Months(r: Revenue) -> impl IntoView {
    let rows = r
        .months
        .into_iter()
        .rev()
        .map(|m| {
            view! {
                <tr>
                    <th scope="row">{m.month}</th>
                    <td data-label="Invoiced">{money(m.invoiced_cents)}</td>
                    <td data-label="Collected">{money(m.collected_cents)}</td>
                    <td data-label="Users billed">{m.users_billed}</td>
                    <td data-label="Accounts invoiced">{m.accounts_invoiced}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="card" aria-labelledby="months-title">
            <h2 id="months-title">"The last 12 months"</h2>
            <p class="field-hint">"Invoiced: the invoices for that month. Collected: what was paid during that month, whichever month it was for."</p>
            <div class="table-wrap stacked">
                <table>
                    <caption class="visually-hidden">"Invoiced and collected, month by month, newest first"</caption>
                    <thead><tr>
                        <th scope="col">"Month"</th><th scope="col">"Invoiced"</th><th scope="col">"Collected"</th>
                        <th scope="col">"Users billed"</th><th scope="col">"Accounts invoiced"</th>
                    </tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        </section>
    }
}

#[component]
fn MostPastDue(r: Revenue) -> impl IntoView {
    if r.most_past_due.is_empty() {
        return view! {
            <section class="card" aria-labelledby="due-title">
                <h2 id="due-title">"Most past due"</h2>
                <p>"No account owes anything."</p>
            </section>
        }
        .into_any();
    }
    let rows = r
        .most_past_due
        .into_iter()
        .map(|a| {
            view! {
                <tr>
                    <th scope="row"><a href=format!("{CONSOLE_PATH}/{}", a.id)>{a.name}</a></th>
                    <td data-label="Unpaid">{money(a.due_cents)}</td>
                    <td data-label="Oldest unpaid month">{a.oldest_month}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="card" aria-labelledby="due-title">
            <h2 id="due-title">"Most past due"</h2>
            <div class="table-wrap stacked">
                <table>
                    <caption class="visually-hidden">"The accounts with the most unpaid"</caption>
                    <thead><tr><th scope="col">"Company"</th><th scope="col">"Unpaid"</th><th scope="col">"Oldest unpaid month"</th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        </section>
    }
    .into_any()
}
