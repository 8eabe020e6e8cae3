//! The seller's revenue. Route: `/operator`. Requires: an operator (any role).
//! Server function: `get_revenue`. Every figure is read from the invoices themselves; how each
//! is counted is said on the page. Each currency has its own figures: amounts in different
//! currencies are never added up.

use leptos::prelude::*;
use leptos_meta::Title;
use tally_core::views::operator::{CurrencyRevenue, Revenue};

use super::frame::OperatorSignedIn;
use crate::{
    api::operator::{get_revenue, CONSOLE_PATH},
    error::AppError,
};

/// One currency's part of the page: the ids' suffix (none for US dollars, whose ids came
/// first) and the headings' ("", or " in Euro" once there are several).
#[derive(Clone)]
struct Part {
    r: CurrencyRevenue,
    id: String,
    heading: String,
}

impl Part {
    fn money(&self, minor: i64) -> String {
        self.r.money(minor).to_string()
    }
}

fn parts(revenue: &Revenue) -> Vec<Part> {
    let several = revenue.currencies.len() > 1;
    revenue
        .currencies
        .iter()
        .map(|r| Part {
            id: match r.currency {
                tally_core::money::Currency::Usd => String::new(),
                c => format!("-{}", c.code().to_lowercase()),
            },
            heading: if several {
                format!(" in {} ({})", r.currency.name(), r.currency.code())
            } else {
                String::new()
            },
            r: r.clone(),
        })
        .collect()
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
                    Ok(r) => {
                        let standings = format!("{} active, {} suspended, {} closed", r.active, r.suspended, r.closed);
                        view! {
                            <p id="accounts-by-status">"Accounts: "{standings}</p>
                            {parts(&r).into_iter().map(|p| view! {
                                <Figures p=p.clone() /><Months p=p.clone() /><MostPastDue p=p />
                            }).collect_view()}
                        }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}

#[component]
fn Figures(p: Part) -> impl IntoView {
    let title = format!("now-title{}", p.id);
    let labelledby = title.clone();
    view! {
        <section class="card" aria-labelledby=labelledby.clone()>
            <h2 id=title>{format!("Now{}", p.heading)}</h2>
            <dl class="facts">
                <dt>"Monthly recurring revenue"</dt><dd id=format!("mrr{}", p.id)>{p.money(p.r.mrr_cents)}</dd>
                <dt>"Past due"</dt><dd id=format!("past-due{}", p.id)>{p.money(p.r.past_due_cents)}</dd>
            </dl>
            <p class="field-hint">"Recurring revenue is what the last month invoiced came to. Past due is every invoice charged and not paid: failed and waiting for a retry, past all retries, or waiting for the cardholder's bank."</p>
        </section>
    }
}

#[component]
fn Months(p: Part) -> impl IntoView {
    let rows =
        p.r.months
            .iter()
            .rev()
            .map(|m| {
                view! {
                    <tr>
                        <th scope="row">{m.month.clone()}</th>
                        <td data-label="Invoiced">{p.money(m.invoiced_cents)}</td>
                        <td data-label="Collected">{p.money(m.collected_cents)}</td>
                        <td data-label="Users billed">{m.users_billed}</td>
                        <td data-label="Accounts invoiced">{m.accounts_invoiced}</td>
                    </tr>
                }
            })
            .collect_view();
    let title = format!("months-title{}", p.id);
    let labelledby = title.clone();
    view! {
        <section class="card" aria-labelledby=labelledby.clone()>
            <h2 id=title>{format!("The last 12 months{}", p.heading)}</h2>
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
fn MostPastDue(p: Part) -> impl IntoView {
    let title = format!("due-title{}", p.id);
    let labelledby = title.clone();
    if p.r.most_past_due.is_empty() {
        return view! {
            <section class="card" aria-labelledby=labelledby.clone()>
                <h2 id=title>{format!("Most past due{}", p.heading)}</h2>
                <p>"No account owes anything."</p>
            </section>
        }
        .into_any();
    }
    let rows =
        p.r.most_past_due
            .into_iter()
            .map(|a| {
                view! {
                    <tr>
                        <th scope="row"><a href=format!("{CONSOLE_PATH}/{}", a.id)>{a.name}</a></th>
                        <td data-label="Unpaid">{a.due.to_string()}</td>
                        <td data-label="Oldest unpaid month">{a.oldest_month}</td>
                    </tr>
                }
            })
            .collect_view();
    view! {
        <section class="card" aria-labelledby=labelledby.clone()>
            <h2 id=title>{format!("Most past due{}", p.heading)}</h2>
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
