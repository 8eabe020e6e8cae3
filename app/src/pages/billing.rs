//! The Billing page. Route: `/billing`; one invoice, printable: `/billing/invoices/:id`.
//! Requires: View billing (the two With Billing roles). Server functions:
//! `get_billing_overview`, `list_invoices`, `get_invoice`, `request_invoice_copy`,
//! `set_receive_invoices`; the PDF is `GET /billing/invoices/:id/pdf`.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use tally_core::{
    money::Money,
    roles::Action,
    views::billing::{BillingOverview, Invoice as InvoiceSummary, InvoicePage as Invoices},
};

use crate::{
    api::billing::{
        get_billing_overview, get_invoice, list_invoices, request_invoice_copy,
        set_receive_invoices,
    },
    components::pager::Pager,
    components::{billing_notices::BillingNotices, layout::SignedIn, payments::PaymentsDialog},
    error::AppError,
};

fn money(cents: i64) -> String {
    Money::from_cents(cents).to_string()
}

#[component]
pub fn BillingPage() -> impl IntoView {
    // Loaded outside the sign-in check's <Suspense>, which would create (and fetch) them again
    // on each of its passes; see AdministratorsPage.
    let reload = RwSignal::new(0u32);
    let overview = Resource::new(move || reload.get(), |_| get_billing_overview());
    let page = RwSignal::new(1u32);
    let invoices = Resource::new(move || page.get(), list_invoices);
    view! {
        <SignedIn action=Action::ViewBilling children=move |_| view! {
            <Billing reload=reload overview=overview page=page invoices=invoices />
        } />
    }
}

#[component]
fn Billing(
    reload: RwSignal<u32>,
    overview: Resource<Result<BillingOverview, AppError>>,
    page: RwSignal<u32>,
    invoices: Resource<Result<Invoices, AppError>>,
) -> impl IntoView {
    let notice = RwSignal::new(None::<String>);
    view! {
        <Title text="Billing" />
        <h1>"Billing"</h1>
        <p class="notice" role="status">{move || notice.get()}</p>
        <Transition fallback=|| view! { <p>"Loading billing…"</p> }>
            {move || Suspend::new(async move {
                match overview.await {
                    Err(e) => view! { <p role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(o) => view! { <Overview o=o reload=reload notice=notice /> }.into_any(),
                }
            })}
        </Transition>
        <h2>"Invoices"</h2>
        <Transition fallback=|| view! { <p>"Loading invoices…"</p> }>
            {move || Suspend::new(async move {
                match invoices.await {
                    Err(e) => view! { <p role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(p) if p.invoices.is_empty() => view! { <p>"No invoices yet. The first arrives on the 1st of next month."</p> }.into_any(),
                    Ok(p) => {
                        let pages = p.total.div_ceil(u64::from(p.per_page)).max(1) as u32;
                        view! {
                            <InvoiceTable invoices=p.invoices notice=notice />
                            <Pager page=page current=p.page pages=pages label="Pages of invoices" back="Newer" forward="Older" />
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

#[component]
fn Overview(
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
    let plan = tally_core::billing::Plan {
        price_per_user: Money::from_cents(o.price_per_user_cents),
        free_users: o.free_users,
    };
    let projection = tally_core::billing::projection_sentence(o.peak_so_far, &plan);
    view! {
        <BillingNotices o=o.clone() />
        <div class="cards">
            <section class="card" aria-labelledby="plan-title">
                <h2 id="plan-title">"This month"</h2>
                <dl class="facts">
                    <dt>"Price"</dt><dd>{format!("{} per user per month; the first {} users are free", money(o.price_per_user_cents), o.free_users)}</dd>
                    <dt>"Users now"</dt><dd>{o.users_now}</dd>
                    <dt>"Peak so far"</dt><dd id="peak-so-far">{o.peak_so_far}</dd>
                    <dt>"Projected charge"</dt><dd id="projected-charge">{format!("{} ({billable} × {})", money(o.projected_cents), money(o.price_per_user_cents))}</dd>
                    <dt>"Next charge"</dt><dd>{o.next_charge_date.format("%B %-d, %Y").to_string()}</dd>
                </dl>
                <p class="projection" id="projection">{projection}</p>
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
                    <td class="number">{money(m.amount_cents)}</td>
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

#[component]
fn InvoiceTable(invoices: Vec<InvoiceSummary>, notice: RwSignal<Option<String>>) -> impl IntoView {
    let rows = invoices
        .into_iter()
        .map(|i| {
            let id = i.id.clone();
            let number = i.number.clone();
            let copy = move |_| {
                let id = id.clone();
                leptos::task::spawn_local(async move {
                    notice.set(Some(match request_invoice_copy(id).await {
                        Ok(to) => format!("A copy is on its way to the billing contact, {to}."),
                        Err(e) => e.to_string(),
                    }));
                });
            };
            view! {
                <tr>
                    <th scope="row"><a href=format!("/billing/invoices/{}", i.id)>{i.number.clone()}</a></th>
                    <td>{i.month.clone()}</td>
                    <td>{i.peak_users}</td>
                    <td class="number">{money(i.amount_cents)}</td>
                    <td>{i.status_label()}</td>
                    <td class="row-actions">
                        <a href=format!("/billing/invoices/{}/pdf", i.id) download aria-label=format!("Download invoice {} as PDF", i.number)>"PDF"</a>
                        <button type="button" aria-label=format!("Email a copy of invoice {number} to the billing contact") on:click=copy>"Email a copy"</button>
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-wrap">
            <table>
                <caption class="visually-hidden">"Invoices, newest first"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Invoice"</th>
                        <th scope="col">"Month"</th>
                        <th scope="col">"Peak users"</th>
                        <th scope="col">"Amount"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col">"Actions"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}

/// One invoice, laid out to print (the frame around it is hidden when printing).
#[component]
pub fn InvoicePage() -> impl IntoView {
    let params = use_params_map();
    let invoice = Resource::new(
        move || params.with(|p| p.get("id").unwrap_or_default()),
        get_invoice,
    );
    view! { <SignedIn action=Action::ViewBilling children=move |_| view! { <InvoiceView invoice=invoice /> } /> }
}

#[component]
fn InvoiceView(invoice: Resource<Result<InvoiceSummary, AppError>>) -> impl IntoView {
    view! {
        <Suspense fallback=|| view! { <p>"Loading the invoice…"</p> }>
            {move || Suspend::new(async move {
                match invoice.await {
                    Err(e) => view! { <Title text="Invoice" /><h1>"Invoice"</h1><p role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(i) => {
                        let billable = i.peak_users.saturating_sub(i.free_users);
                        let title = format!("Invoice {}", i.number);
                        view! {
                            <Title text=title.clone() />
                            <article class="invoice">
                                <h1>{title}</h1>
                                <dl class="facts">
                                    <dt>"Billed to"</dt><dd>{i.company_name.clone()}</dd>
                                    <dt>"Period"</dt><dd>{i.month.clone()}</dd>
                                    <dt>"Status"</dt><dd>{i.status_label()}</dd>
                                </dl>
                                <table>
                                    <caption class="visually-hidden">"Charges"</caption>
                                    <thead><tr><th scope="col">"Item"</th><th scope="col" class="number">"Amount"</th></tr></thead>
                                    <tbody>
                                        <tr>
                                            <td>{format!("{} billable users ({} peak − {} free) × {}", billable, i.peak_users, i.free_users, money(i.price_per_user_cents))}</td>
                                            <td class="number">{money(i.amount_cents)}</td>
                                        </tr>
                                        <tr><th scope="row">"Total"</th><td class="number"><strong>{money(i.amount_cents)}</strong></td></tr>
                                    </tbody>
                                </table>
                                <p class="no-print">
                                    <a href=format!("/billing/invoices/{}/pdf", i.id) download>"Download PDF"</a>
                                    " · "
                                    <a href="/billing">"Back to billing"</a>
                                </p>
                            </article>
                        }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}
