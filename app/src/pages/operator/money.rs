//! A customer account's invoices and credit notes in the console, with the money actions for
//! those who may take them (Finance, Owner; the server checks again, with a fresh check):
//! retry a failed charge now, mark an invoice paid by bank transfer, void an unpaid one, and
//! issue a credit note, and correct an invoice with the account's current billing details.
//! Server functions: `retry_invoice_charge`, `mark_invoice_paid`, `void_invoice`,
//! `issue_credit_note`, `correct_invoice`.

use leptos::{prelude::*, server_fn::ServerFn};
use tally_core::{
    forms::FieldErrors,
    money_actions::{credit_amount, payment_reference, reason, InvoiceAction},
    views::{billing::Invoice, operator::CustomerAccountDetail},
};

use crate::{
    api::operator::{
        correct_invoice, issue_credit_note, mark_invoice_paid, retry_invoice_charge, void_invoice,
        IssueCreditNote,
    },
    components::{field::Field, form::Form, fresh_check, live_errors::LiveErrors},
    error::AppError,
};

/// The actions, in the order their buttons show.
const ACTIONS: [InvoiceAction; 5] = [
    InvoiceAction::RetryNow,
    InvoiceAction::MarkPaid,
    InvoiceAction::Void,
    InvoiceAction::CreditNote,
    InvoiceAction::Correct,
];

/// The invoices, newest first, each with the actions its status allows.
#[component]
pub fn Invoices(
    a: CustomerAccountDetail,
    act: bool,
    reload: RwSignal<u32>,
    /// What the last action said (kept by the page across the reload that follows it).
    notice: RwSignal<Option<String>>,
) -> impl IntoView {
    let chosen = RwSignal::new(None::<(Invoice, InvoiceAction)>);
    if a.invoices.is_empty() {
        return view! {
            <section class="card" aria-labelledby="invoices-title">
                <h2 id="invoices-title">"Invoices"</h2>
                <p>"None yet: the first is made when its first month ends."</p>
            </section>
        }
        .into_any();
    }
    let account_id = StoredValue::new(a.id.clone());
    let rows = a
        .invoices
        .into_iter()
        .map(|i| {
            let status = match i.settlement() {
                Some(s) => format!("{} · {s}", i.status_label()),
                None => i.status_label().to_string(),
            };
            let credited = (i.credited_cents > 0)
                .then(|| format!(" · {} credited", i.money(i.credited_cents)));
            let buttons = act.then(|| {
                ACTIONS
                    .into_iter()
                    .filter(|action| action.permits(&i))
                    .map(|action| {
                        let invoice = i.clone();
                        let label = format!("{} — invoice {}", action.label(), i.number);
                        view! {
                            <button type="button" class="link" aria-label=label
                                on:click=move |_| { notice.set(None); chosen.set(Some((invoice.clone(), action))); }>
                                {action.label()}
                            </button>
                        }
                    })
                    .collect_view()
            });
            view! {
                <tr>
                    <th scope="row">{i.number.clone()}</th>
                    <td data-label="Month">{i.month.clone()}</td>
                    <td data-label="Users billed">{format!("{} of {}", i.billable_users(), i.peak_users)}</td>
                    <td data-label="Amount">{i.amount().to_string()}</td>
                    <td data-label="Status">{status}{credited}</td>
                    {act.then(|| view! { <td data-label="Actions"><div class="row-actions">{buttons}</div></td> })}
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="card" aria-labelledby="invoices-title">
            <h2 id="invoices-title">"Invoices"</h2>
            <p class="notice" role="status">{move || notice.get()}</p>
            <div class="table-wrap stacked">
                <table>
                    <caption class="visually-hidden">"The account's latest invoices, newest first"</caption>
                    <thead><tr>
                        <th scope="col">"Number"</th><th scope="col">"Month"</th><th scope="col">"Users billed"</th>
                        <th scope="col">"Amount"</th><th scope="col">"Status"</th>
                        {act.then(|| view! { <th scope="col">"Actions"</th> })}
                    </tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
            {move || chosen.get().map(|(invoice, action)| view! {
                <MoneyActionForm account_id=account_id.get_value() invoice=invoice action=action
                    done=Callback::new(move |said: Option<String>| {
                        chosen.set(None);
                        if let Some(said) = said {
                            notice.set(Some(said));
                            reload.update(|n| *n += 1);
                        }
                    }) />
            })}
        </section>
    }
    .into_any()
}

/// One money action on one invoice: its fields, checked as typed, and its button.
#[component]
fn MoneyActionForm(
    account_id: String,
    invoice: Invoice,
    action: InvoiceAction,
    /// With what to say when it was done; `None` when cancelled.
    done: Callback<Option<String>>,
) -> impl IntoView {
    let fresh = fresh_check::use_fresh_check();
    let creditable = invoice.creditable();
    let whole = RwSignal::new(false);
    let amount = RwSignal::new(String::new());
    let text = RwSignal::new(String::new());
    let errors = LiveErrors::new(move || {
        let mut e = FieldErrors::new();
        match action {
            InvoiceAction::MarkPaid => {
                e.check("reference", payment_reference(&text.get()));
            }
            InvoiceAction::Void => {
                e.check("void_reason", reason(&text.get()));
            }
            InvoiceAction::Correct => {
                e.check("correct_reason", reason(&text.get()));
            }
            InvoiceAction::CreditNote => {
                if !whole.get() {
                    e.check("credit_amount", credit_amount(&amount.get(), creditable));
                }
                e.check("credit_reason", reason(&text.get()));
            }
            InvoiceAction::RetryNow => {}
        }
        e
    });
    let failure = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let ids = StoredValue::new((account_id, invoice.id.clone()));
    let number = invoice.number.clone();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !errors.submit() || busy.get_untracked() {
            return;
        }
        busy.set(true);
        failure.set(None);
        let (account, id) = ids.get_value();
        let (whole, amount, text) = (
            whole.get_untracked(),
            amount.get_untracked(),
            text.get_untracked(),
        );
        let number = number.clone();
        leptos::task::spawn_local(async move {
            let result = fresh_check::run(fresh, || {
                let (account, id, amount, text) =
                    (account.clone(), id.clone(), amount.clone(), text.clone());
                let number = number.clone();
                async move {
                    Ok(match action {
                        InvoiceAction::RetryNow => {
                            let after = retry_invoice_charge(account, id).await?;
                            format!(
                                "Invoice {number} was charged again: {}.",
                                after.status_label().to_lowercase()
                            )
                        }
                        InvoiceAction::MarkPaid => {
                            mark_invoice_paid(account, id, text).await?;
                            format!("Invoice {number} is marked paid by bank transfer.")
                        }
                        InvoiceAction::Void => {
                            void_invoice(account, id, text).await?;
                            format!("Invoice {number} is void.")
                        }
                        InvoiceAction::Correct => {
                            let made = correct_invoice(account, id, text).await?;
                            format!(
                                "Invoice {number} is corrected by invoice {}: {}, {}.",
                                made.number,
                                made.amount(),
                                made.status_label().to_lowercase()
                            )
                        }
                        InvoiceAction::CreditNote => {
                            let note = issue_credit_note(account, id, whole, amount, text).await?;
                            format!(
                                "Credit note {} for {}: {}",
                                note.number,
                                note.amount(),
                                note.settlement_sentence()
                            )
                        }
                    })
                }
            })
            .await;
            busy.set(false);
            match result {
                Ok(said) => done.run(Some(said)),
                Err(AppError::Validation(fields)) => {
                    let mut named = FieldErrors::new();
                    for (field, message) in fields.iter() {
                        let field = match (action, field) {
                            (InvoiceAction::CreditNote, "amount") => "credit_amount",
                            (InvoiceAction::CreditNote, _) => "credit_reason",
                            (InvoiceAction::Void, _) => "void_reason",
                            (InvoiceAction::Correct, _) => "correct_reason",
                            _ => "reference",
                        };
                        named.add(field, message);
                    }
                    errors.set_server(named);
                }
                Err(e) => failure.set(Some(e.to_string())),
            }
        });
    };
    let title = match action {
        InvoiceAction::RetryNow => format!("Retry the charge of invoice {}", invoice.number),
        InvoiceAction::MarkPaid => format!("Mark invoice {} paid by bank transfer", invoice.number),
        InvoiceAction::Void => format!("Void invoice {}", invoice.number),
        InvoiceAction::CreditNote => format!("Credit note for invoice {}", invoice.number),
        InvoiceAction::Correct => format!("Correct invoice {}", invoice.number),
    };
    let explain = match action {
        InvoiceAction::RetryNow => format!(
            "The card on file is charged {} now. The billing contact is emailed the outcome.",
            invoice.amount()
        ),
        InvoiceAction::MarkPaid => format!(
            "Records that {} arrived by bank transfer: the invoice is paid, and no more charges are tried.",
            invoice.amount()
        ),
        InvoiceAction::Void => format!(
            "Nothing will be owed or charged for its {}. The billing contact reads the reason.",
            invoice.amount()
        ),
        InvoiceAction::CreditNote => format!(
            "Up to {creditable} can be credited. Paid by card, it is refunded to the card; otherwise it is kept as credit for the next invoices."
        ),
        InvoiceAction::Correct => format!(
            "A new invoice for the same users and month is made with the account's billing details as they are now (name, address, tax ID, and the tax that follows), and this one is cancelled by a credit note for {}. {} Both are emailed to the billing contact.",
            invoice.money(invoice.gross_cents()),
            if invoice.status == tally_core::billing::InvoiceStatus::Paid || invoice.amount_cents == 0 {
                "What was paid for it is taken off the new invoice, and the card on file is charged any difference."
            } else {
                "It is no longer owed: the new invoice is charged to the card on file instead."
            }
        ),
    };
    let fields = match action {
        InvoiceAction::RetryNow => ().into_any(),
        InvoiceAction::MarkPaid => view! {
            <Field name="reference" label="Transfer reference" autocomplete="off" required=true
                value=Signal::derive(move || text.get()) error=errors.error("reference")
                on_input=errors.typed(text, "reference") on_blur=errors.touch("reference") />
        }
        .into_any(),
        InvoiceAction::Correct => view! {
            <Field name="correct_reason" label="Reason (the billing contact reads it)" autocomplete="off" required=true
                value=Signal::derive(move || text.get()) error=errors.error("correct_reason")
                on_input=errors.typed(text, "correct_reason") on_blur=errors.touch("correct_reason") />
        }
        .into_any(),
        InvoiceAction::Void => view! {
            <Field name="void_reason" label="Reason (the billing contact reads it)" autocomplete="off" required=true
                value=Signal::derive(move || text.get()) error=errors.error("void_reason")
                on_input=errors.typed(text, "void_reason") on_blur=errors.touch("void_reason") />
        }
        .into_any(),
        InvoiceAction::CreditNote => view! {
            <div class="field">
                <label>
                    <input type="checkbox" id="credit_whole" prop:checked=move || whole.get()
                        on:change=move |ev| { whole.set(event_target_checked(&ev)); errors.edited("credit_amount"); } />
                    {format!(" Credit the whole invoice ({creditable})")}
                </label>
            </div>
            <Show when=move || !whole.get()>
                <Field name="credit_amount" label="Amount to credit" autocomplete="off" hint="e.g. 12.50"
                    value=Signal::derive(move || amount.get()) error=errors.error("credit_amount")
                    on_input=errors.typed(amount, "credit_amount") on_blur=errors.touch("credit_amount") />
            </Show>
            <Field name="credit_reason" label="Reason (the billing contact reads it)" autocomplete="off" required=true
                value=Signal::derive(move || text.get()) error=errors.error("credit_reason")
                on_input=errors.typed(text, "credit_reason") on_blur=errors.touch("credit_reason") />
        }
        .into_any(),
    };
    let button = match action {
        InvoiceAction::RetryNow => format!("Charge {} now", invoice.amount()),
        InvoiceAction::MarkPaid => "Mark paid".to_string(),
        InvoiceAction::Void => "Void the invoice".to_string(),
        InvoiceAction::CreditNote => "Issue the credit note".to_string(),
        InvoiceAction::Correct => "Correct the invoice".to_string(),
    };
    view! {
        <section class="money-action" aria-labelledby="money-action-title">
            <h3 id="money-action-title">{title}</h3>
            <p>{explain}</p>
            <p class="notice notice-error" role="alert">{move || failure.get()}</p>
            <Form to=IssueCreditNote::url() class="form" on_submit=submit live_only=true>
                {fields}
                <div class="actions">
                    <button type="submit" class="primary" disabled=move || busy.get()>{button}</button>
                    <button type="button" on:click=move |_| done.run(None)>"Cancel"</button>
                </div>
            </Form>
        </section>
    }
}

/// The account's credit notes, newest first, and its credit balance.
#[component]
pub fn CreditNotes(a: CustomerAccountDetail) -> impl IntoView {
    let balance = (a.credit_balance_cents > 0).then(|| {
        view! { <p id="credit-balance">"Credit balance for the next invoices: "{a.money(a.credit_balance_cents).to_string()}</p> }
    });
    let rows_empty = a.credit_notes.is_empty();
    let rows = a
        .credit_notes
        .into_iter()
        .map(|n| {
            view! {
                <tr>
                    <th scope="row">{n.number.clone()}</th>
                    <td data-label="Invoice">{n.invoice_number.clone()}</td>
                    <td data-label="Amount">{n.amount().to_string()}</td>
                    <td data-label="Reason">{n.reason.clone()}</td>
                    <td data-label="Settlement">{n.settlement_sentence()}{n.refund_id.clone().map(|id| format!(" ({id})"))}</td>
                </tr>
            }
        })
        .collect_view();
    let none = rows_empty.then(|| view! { <p>"None."</p> });
    view! {
        <section class="card" aria-labelledby="credit-notes-title">
            <h2 id="credit-notes-title">"Credit notes"</h2>
            {balance}
            {none}
            <div class="table-wrap stacked" hidden=rows_empty>
                <table>
                    <caption class="visually-hidden">"The account's credit notes, newest first"</caption>
                    <thead><tr><th scope="col">"Number"</th><th scope="col">"Invoice"</th><th scope="col">"Amount"</th><th scope="col">"Reason"</th><th scope="col">"Where it went"</th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        </section>
    }
}
