//! One invoice, printable. Route: `/billing/invoices/:id`. Requires: View billing.
//! Server function: `get_invoice`; the PDF is `GET /billing/invoices/:id/pdf`.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use tally_core::{roles::Action, views::billing::Invoice as InvoiceSummary};

use crate::{api::billing::get_invoice, components::layout::SignedIn, error::AppError};

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
                        let title = match &i.corrects {
                            Some(_) => format!("Corrected invoice {}", i.number),
                            None => format!("Invoice {}", i.number),
                        };
                        view! {
                            <Title text=title.clone() />
                            <article class="invoice">
                                <h1>{title}</h1>
                                <dl class="facts">
                                    {i.seller.clone().map(|s| view! { <dt>"From"</dt><dd>{lines(&s)}</dd> })}
                                    <dt>"Billed to"</dt><dd>{lines(i.billed_to.as_deref().unwrap_or(&i.company_name))}</dd>
                                    {i.references.clone().map(|r| view! { <dt>"References"</dt><dd>{lines(&r)}</dd> })}
                                    <dt>"Period"</dt><dd>{i.month.clone()}</dd>
                                    <dt>"Status"</dt><dd>{i.status_label()}{i.settlement().map(|s| format!(" · {s}"))}</dd>
                                </dl>
                                <table>
                                    <caption class="visually-hidden">"Charges"</caption>
                                    <thead><tr><th scope="col">"Item"</th><th scope="col" class="number">"Amount"</th></tr></thead>
                                    <tbody>
                                        <tr>
                                            <td>{format!("{} billable users ({} peak − {} free) × {}", billable, i.peak_users, i.free_users, i.money(i.price_per_user_cents))}</td>
                                            <td class="number">{i.money(i.net_cents()).to_string()}</td>
                                        </tr>
                                        {i.tax_treatment().map(|t| view! {
                                            <tr><td>{t.label()}</td><td class="number">{i.money(i.tax_cents).to_string()}</td></tr>
                                        })}
                                        {(i.credit_applied_cents > 0).then(|| view! {
                                            <tr><td>"Credit balance applied"</td><td class="number">{format!("−{}", i.money(i.credit_applied_cents))}</td></tr>
                                        })}
                                        <tr><th scope="row">"Total"</th><td class="number"><strong>{i.money(i.amount_cents).to_string()}</strong></td></tr>
                                    </tbody>
                                </table>
                                <p id="invoice-peak">{tally_core::estimate::peak_statement(i.peak_users, i.peak_reached_on, i.free_users)}</p>
                                {i.tax_treatment().and_then(|t| t.note()).map(|n| view! { <p class="tax-note">{n}</p> })}
                                <p class="no-print">
                                    <a href=format!("/billing/invoices/{}/pdf", i.id) download>"Download PDF"</a>
                                    " · "
                                    <a href=format!("/billing/invoices/{}/xml", i.id) download>"Download e-invoice (XML)"</a>
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

/// A block of lines (an address, the references), a line break between each.
fn lines(text: &str) -> impl IntoView {
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    let last = lines.len().saturating_sub(1);
    lines
        .into_iter()
        .enumerate()
        .map(|(n, line)| view! { {line}{(n < last).then(|| view! { <br /> })} })
        .collect_view()
}
