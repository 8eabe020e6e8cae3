//! The Billing page. Route: `/billing`. Requires: View billing (the two With Billing roles).
//! Server functions: `get_billing_overview`, `list_invoices`, `request_invoice_copy`,
//! `set_receive_invoices`, `get_invoice_fields`, `save_invoice_fields`, `get_seat_cap`,
//! `save_seat_cap`, `list_billing_contacts`, `save_billing_contact`,
//! `remove_billing_contact`; each invoice's PDF is `GET /billing/invoices/:id/pdf`, its page
//! is [`super::invoice`]; each credit note's PDF is `GET /billing/credit-notes/:id/pdf`; those
//! made between two dates download as a ZIP from `GET /billing/export?from=…&to=…`.

mod contacts;
mod export;
mod overview;
mod peak;
mod references;
mod seat_cap;
mod spend_alerts;

use leptos::prelude::*;
use leptos_meta::Title;
use tally_core::{
    roles::Action,
    views::billing::{
        BillingOverview, CreditNote, Invoice as InvoiceSummary, InvoicePage as Invoices,
        MailDelivery,
    },
};

use crate::{
    api::billing::{get_billing_overview, list_invoices, request_invoice_copy},
    components::layout::SignedIn,
    components::pager::Pager,
    error::AppError,
};
use contacts::ContactsCard;
use export::DownloadInvoices;
use overview::Overview;
use references::InvoiceReferences;
use seat_cap::SeatCapCard;
use spend_alerts::SpendAlertsCard;

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
        <div class="cards">
            <ContactsCard />
            <InvoiceReferences />
            <SeatCapCard />
            <SpendAlertsCard />
            <DownloadInvoices />
        </div>
        <h2>"Invoices"</h2>
        <Transition fallback=|| view! { <p>"Loading invoices…"</p> }>
            {move || Suspend::new(async move {
                match invoices.await {
                    Err(e) => view! { <p role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(p) if p.invoices.is_empty() => view! { <p>"No invoices yet. The first arrives on the 1st of next month."</p> }.into_any(),
                    Ok(p) => {
                        let pages = p.total.div_ceil(u64::from(p.per_page)).max(1) as u32;
                        let notes = (!p.credit_notes.is_empty()).then(|| view! {
                            <h2>"Credit notes"</h2>
                            <CreditNoteTable notes=p.credit_notes />
                        });
                        view! {
                            <InvoiceTable invoices=p.invoices deliveries=p.deliveries notice=notice />
                            <Pager page=page current=p.page pages=pages label="Pages of invoices" back="Newer" forward="Older" />
                            {notes}
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

#[component]
fn InvoiceTable(
    invoices: Vec<InvoiceSummary>,
    deliveries: std::collections::BTreeMap<String, Vec<MailDelivery>>,
    notice: RwSignal<Option<String>>,
) -> impl IntoView {
    let rows = invoices
        .into_iter()
        .map(|i| {
            let sent = deliveries
                .get(&i.id)
                .map(|list| {
                    list.iter()
                        .map(|d| view! { <li>{format!("{} \u{2014} {}", d.recipients(), d.status_label())}</li> })
                        .collect_view()
                })
                .map(|items| view! { <ul class="deliveries">{items}</ul> }.into_any())
                .unwrap_or_else(|| view! { <span>"Not emailed"</span> }.into_any());
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
                    <td class="number">{i.amount().to_string()}</td>
                    <td>{i.status_label()}{i.settlement().map(|s| format!(" · {s}"))}</td>
                    <td>{sent}</td>
                    <td class="row-actions">
                        <a href=format!("/billing/invoices/{}/pdf", i.id) download aria-label=format!("Download invoice {} as PDF", i.number)>"PDF"</a>
                        <a href=format!("/billing/invoices/{}/xml", i.id) download aria-label=format!("Download invoice {} as XML, an e-invoice", i.number)>"XML"</a>
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
                        <th scope="col">"Emailed to"</th>
                        <th scope="col">"Actions"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}

/// The account's credit notes, each with where its money went and its PDF.
#[component]
fn CreditNoteTable(notes: Vec<CreditNote>) -> impl IntoView {
    let rows = notes
        .into_iter()
        .map(|n| {
            view! {
                <tr>
                    <th scope="row">{n.number.clone()}</th>
                    <td>{n.invoice_number.clone()}</td>
                    <td class="number">{n.amount().to_string()}</td>
                    <td>{n.reason.clone()}</td>
                    <td>{n.settlement_sentence()}</td>
                    <td class="row-actions">
                        <a href=format!("/billing/credit-notes/{}/pdf", n.id) download aria-label=format!("Download credit note {} as PDF", n.number)>"PDF"</a>
                        <a href=format!("/billing/credit-notes/{}/xml", n.id) download aria-label=format!("Download credit note {} as XML, an e-invoice", n.number)>"XML"</a>
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-wrap">
            <table>
                <caption class="visually-hidden">"Credit notes, newest first"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Credit note"</th>
                        <th scope="col">"Invoice"</th>
                        <th scope="col">"Amount"</th>
                        <th scope="col">"Reason"</th>
                        <th scope="col">"Where it went"</th>
                        <th scope="col">"Actions"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}
