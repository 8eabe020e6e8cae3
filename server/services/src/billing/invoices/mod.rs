//! Invoices (owner of `invoices` and `charge_attempts`, with [`run`], which makes them, and
//! [`charging`], which charges them): the Billing page's month so far, the history, one
//! invoice, a copy by email, the "email invoices to me" opt-in, and each invoice's emails and
//! PDF ([`pdf`]). Every query is scoped to the caller's account.

pub mod charging;
pub mod corrections;
pub mod figures;
pub mod font;
pub mod pdf;
pub mod run;

use std::collections::HashSet;

use chrono::NaiveDate;

use sqlx::{Any, Executor};
use tally_core::{
    actor::Actor,
    audit::AuditKind,
    billing::{daily_peaks, next_charge_date_on, BillingMonth, InvoiceStatus, Plan},
    estimate::{explain_peak, month_amounts},
    expiry::Expiry,
    export::ExportRange,
    locale::Locale,
    money::{Currency, Money},
    vat::TaxCategory,
    views::billing::{
        BillingOverview, Invoice, InvoicePage, MailDelivery, MonthCharge, PlanChange,
        INVOICES_PER_PAGE,
    },
};

use super::{
    cards, charts, credit_notes,
    einvoice::{self, Document, Parties},
    info, plans,
};
use crate::platform::db::Code;
use crate::{
    directory::users,
    identity::{
        accounts::{self, admins},
        throttle,
    },
    platform::{
        audit::Event,
        context::Context,
        db::offset,
        error::{ResultExt, ServiceError},
        i18n::{Arg, Words},
        mail::{emails, Mail},
    },
};

/// An invoice as stored.
#[derive(sqlx::FromRow)]
struct InvoiceRow {
    id: String,
    number: String,
    month: String,
    peak_users: i64,
    free_users: i64,
    #[sqlx(try_from = "Code<Currency>")]
    currency: Currency,
    price_per_user_cents: i64,
    amount_cents: i64,
    #[sqlx(try_from = "Code<InvoiceStatus>")]
    status: InvoiceStatus,
    company_name: String,
    created_at: i64,
    paid_at: Option<i64>,
    billed_to: Option<String>,
    seller: Option<String>,
    reference_lines: Option<String>,
    card_label: Option<String>,
    credit_applied_cents: i64,
    credited_cents: i64,
    payment_reference: Option<String>,
    void_reason: Option<String>,
    tax_cents: i64,
    tax_rate_bp: i64,
    tax_category: Option<String>,
    corrects_number: Option<String>,
    corrected_by: Option<String>,
    peak_reached_on: Option<String>,
}

impl From<InvoiceRow> for Invoice {
    fn from(r: InvoiceRow) -> Self {
        Invoice {
            id: r.id,
            number: r.number,
            month: r.month,
            peak_users: r.peak_users.max(0) as u64,
            free_users: r.free_users.max(0) as u64,
            currency: r.currency,
            price_per_user_cents: r.price_per_user_cents,
            amount_cents: r.amount_cents,
            status: r.status,
            company_name: r.company_name,
            created_at: r.created_at,
            paid_at: r.paid_at,
            billed_to: r.billed_to,
            seller: r.seller,
            references: r.reference_lines,
            card_label: r.card_label,
            credit_applied_cents: r.credit_applied_cents,
            credited_cents: r.credited_cents,
            payment_reference: r.payment_reference,
            void_reason: r.void_reason,
            tax_cents: r.tax_cents,
            tax_rate_bp: u32::try_from(r.tax_rate_bp).unwrap_or(0),
            tax_category: r.tax_category.as_deref().and_then(TaxCategory::from_code),
            corrects: r.corrects_number,
            corrected_by: r.corrected_by,
            peak_reached_on: r
                .peak_reached_on
                .and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok()),
        }
    }
}

const COLUMNS: &str = "id, number, month, peak_users, free_users, currency, price_per_user_cents, amount_cents, status, company_name, created_at, paid_at, billed_to, seller, reference_lines, card_label, credit_applied_cents, credited_cents, payment_reference, void_reason, tax_cents, tax_rate_bp, tax_category, corrects_number, corrected_by, peak_reached_on";

/// An account's invoices newest first: by month, then (a corrected month has more than one)
/// by when they were made and their number.
/// How many of the changes that set this month's peak the Billing page lists (the latest).
const PEAK_STEPS_SHOWN: usize = 10;

const NEWEST_FIRST: &str = "month DESC, created_at DESC, number DESC";

/// One invoice of the account, or not found.
pub async fn get<'e, E>(exec: E, account_id: &str, id: &str) -> Result<Invoice, ServiceError>
where
    E: Executor<'e, Database = Any>,
{
    let row: Option<InvoiceRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM invoices WHERE id = $1 AND account_id = $2"
    ))
    .bind(id)
    .bind(account_id)
    .fetch_optional(exec)
    .await
    .context("reading an invoice")?;
    row.map(Invoice::from).ok_or(ServiceError::NotFound)
}

/// The currencies `account_id` has invoices in (one, or none yet).
pub async fn currencies(
    pool: &sqlx::AnyPool,
    account_id: &str,
) -> Result<Vec<Currency>, ServiceError> {
    let rows: Vec<Code<Currency>> =
        sqlx::query_scalar("SELECT DISTINCT currency FROM invoices WHERE account_id = $1")
            .bind(account_id)
            .fetch_all(pool)
            .await
            .context("reading an account's invoice currencies")?;
    Ok(rows.into_iter().map(|c| c.0).collect())
}

/// An invoice's payment, as the page that confirms it with the bank reads it.
#[derive(sqlx::FromRow)]
pub struct Payment {
    pub id: String,
    pub amount_cents: i64,
    #[sqlx(try_from = "Code<Currency>")]
    pub currency: Currency,
    #[sqlx(try_from = "Code<InvoiceStatus>")]
    pub status: InvoiceStatus,
    /// The charge's (or the payment waiting for authentication's) id with the processor.
    pub charge_id: Option<String>,
}

/// The account's invoice `number`'s payment, or not found.
/// The newest `n` invoices of an account (the console's account page).
pub async fn latest(
    pool: &sqlx::AnyPool,
    account_id: &str,
    n: u32,
) -> Result<Vec<Invoice>, ServiceError> {
    let rows: Vec<InvoiceRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM invoices WHERE account_id = $1 ORDER BY {NEWEST_FIRST} LIMIT $2"
    ))
    .bind(account_id)
    .bind(i64::from(n))
    .fetch_all(pool)
    .await
    .context("reading an account's latest invoices")?;
    Ok(rows.into_iter().map(Invoice::from).collect())
}

/// Accounts with an invoice charged and still unpaid since its first failure at or before
/// `before` (UTC milliseconds): each account once, with its oldest such invoice's number.
pub async fn unpaid_since(
    pool: &sqlx::AnyPool,
    before: i64,
) -> Result<Vec<(String, String)>, ServiceError> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT account_id, MIN(number) FROM invoices \
         WHERE status IN ($1, $2, $3) AND first_failure_at <= $4 GROUP BY account_id",
    )
    .bind(InvoiceStatus::Failed.code())
    .bind(InvoiceStatus::PastDue.code())
    .bind(InvoiceStatus::ActionRequired.code())
    .bind(before)
    .fetch_all(pool)
    .await
    .context("reading accounts long unpaid")?;
    Ok(rows)
}

/// For each of `accounts`: what its last invoice came to, and what it owes (invoices made
/// and not paid). Accounts without invoices are left out.
pub async fn money_of(
    pool: &sqlx::AnyPool,
    accounts: &[&str],
) -> Result<std::collections::HashMap<String, (i64, i64)>, ServiceError> {
    let mut found = std::collections::HashMap::new();
    if accounts.is_empty() {
        return Ok(found);
    }
    let unpaid = [
        InvoiceStatus::Open,
        InvoiceStatus::Failed,
        InvoiceStatus::PastDue,
        InvoiceStatus::ActionRequired,
    ];
    let ids: Vec<String> = (0..accounts.len()).map(|i| format!("${}", i + 6)).collect();
    // The last month's invoices together: a paid invoice and its correction add up to what the
    // correction came to; one corrected while unpaid is not owed.
    let sql = format!(
        "SELECT i.account_id, \
         CAST(COALESCE(SUM(CASE WHEN i.month = (SELECT MAX(j.month) FROM invoices j WHERE j.account_id = i.account_id) AND i.status <> $5 THEN i.amount_cents ELSE 0 END), 0) AS BIGINT), \
         CAST(COALESCE(SUM(CASE WHEN i.status IN ($1, $2, $3, $4) THEN i.amount_cents ELSE 0 END), 0) AS BIGINT) \
         FROM invoices i WHERE i.account_id IN ({}) GROUP BY i.account_id",
        ids.join(", ")
    );
    let mut q = sqlx::query_as::<_, (String, i64, i64)>(&sql);
    for s in unpaid {
        q = q.bind(s.code());
    }
    q = q.bind(InvoiceStatus::Corrected.code());
    for a in accounts {
        q = q.bind(*a);
    }
    for (account, last, due) in q
        .fetch_all(pool)
        .await
        .context("reading accounts' revenue and dues")?
    {
        found.insert(account, (last, due));
    }
    Ok(found)
}

/// The account's newest `n` charge attempts, with the processor's payment where there is one
/// (the console's account page).
pub async fn charges(
    pool: &sqlx::AnyPool,
    account_id: &str,
    n: u32,
) -> Result<Vec<tally_core::views::operator::ChargeRow>, ServiceError> {
    let rows: Vec<(String, i64, i64, String, String, Option<String>)> = sqlx::query_as(
        "SELECT i.number, c.attempt, c.at, c.outcome, c.message, i.charge_id FROM charge_attempts c \
         JOIN invoices i ON i.id = c.invoice_id WHERE c.account_id = $1 ORDER BY c.at DESC, c.attempt DESC LIMIT $2",
    )
    .bind(account_id)
    .bind(i64::from(n))
    .fetch_all(pool)
    .await
    .context("reading an account's charges")?;
    Ok(rows
        .into_iter()
        .map(|(invoice_number, attempt, at, outcome, message, charge)| {
            let (label, processor_id) = match outcome.as_str() {
                "succeeded" => ("Succeeded", charge),
                "action_required" => ("Waiting for the bank", charge),
                _ => ("Failed", None),
            };
            tally_core::views::operator::ChargeRow {
                invoice_number,
                attempt,
                at,
                outcome: label.to_string(),
                message,
                processor_id,
            }
        })
        .collect())
}

pub async fn by_number(
    pool: &sqlx::AnyPool,
    account_id: &str,
    number: &str,
) -> Result<Payment, ServiceError> {
    sqlx::query_as(
        "SELECT id, amount_cents, currency, status, charge_id FROM invoices WHERE account_id = $1 AND number = $2",
    )
    .bind(account_id)
    .bind(number)
    .fetch_optional(pool)
    .await
    .context("reading an invoice to confirm")?
    .ok_or(ServiceError::NotFound)
}

/// An invoice's payment with the processor (the charge to refund), if it was paid by card.
pub async fn charge_of(
    pool: &sqlx::AnyPool,
    account_id: &str,
    id: &str,
) -> Result<Option<String>, ServiceError> {
    let charge: Option<Option<String>> = sqlx::query_scalar(
        "SELECT charge_id FROM invoices WHERE id = $1 AND account_id = $2 AND payment_reference IS NULL",
    )
    .bind(id)
    .bind(account_id)
    .fetch_optional(pool)
    .await
    .context("reading an invoice's charge")?;
    Ok(charge.flatten())
}

/// Settles an unpaid invoice otherwise than by card, in `conn`: paid by a bank transfer with
/// its reference, or (`reference` `None`) voided with `void_reason`. `false` when it is no
/// longer unpaid. The account's past-due flag follows.
pub async fn settle_otherwise(
    conn: &mut sqlx::AnyConnection,
    account_id: &str,
    id: &str,
    paid: Result<&str, &str>,
    now: i64,
) -> Result<bool, ServiceError> {
    let unpaid = InvoiceStatus::CHARGEABLE;
    let marks: Vec<String> = (0..unpaid.len()).map(|i| format!("${}", 7 + i)).collect();
    let (status, reference, void_reason, paid_at) = match paid {
        Ok(reference) => (InvoiceStatus::Paid, Some(reference), None, Some(now)),
        Err(reason) => (InvoiceStatus::Void, None, Some(reason), None),
    };
    let sql = format!(
        "UPDATE invoices SET status = $1, payment_reference = $2, void_reason = $3, paid_at = $4, next_attempt_at = NULL \
         WHERE id = $5 AND account_id = $6 AND status IN ({}) RETURNING month",
        marks.join(", ")
    );
    let mut q = sqlx::query_scalar::<_, String>(&sql)
        .bind(status.code())
        .bind(reference)
        .bind(void_reason)
        .bind(paid_at)
        .bind(id)
        .bind(account_id);
    for s in unpaid {
        q = q.bind(s.code());
    }
    let Some(month) = q
        .fetch_optional(&mut *conn)
        .await
        .context("settling an invoice")?
    else {
        return Ok(false);
    };
    // A voided invoice leaves its month's invoiced figure (a payment counts when it is made).
    if status == InvoiceStatus::Void {
        figures::changed(&mut *conn, &month).await?;
    }
    let flags = charging::Charging::past_due_accounts(conn, &[account_id]).await?;
    accounts::set_past_due(conn, &flags).await?;
    Ok(true)
}

/// Adds `cents` to what credit notes credited of a paid invoice, in `conn`; `false` when that
/// would credit more than was paid (or it is not paid).
pub async fn add_credited(
    conn: &mut sqlx::AnyConnection,
    account_id: &str,
    id: &str,
    cents: i64,
) -> Result<bool, ServiceError> {
    let done = sqlx::query(
        "UPDATE invoices SET credited_cents = credited_cents + $1 \
         WHERE id = $2 AND account_id = $3 AND status = $4 AND credited_cents + $1 <= amount_cents",
    )
    .bind(cents)
    .bind(id)
    .bind(account_id)
    .bind(InvoiceStatus::Paid.code())
    .execute(conn)
    .await
    .context("crediting an invoice")?;
    Ok(done.rows_affected() == 1)
}

/// The accounts that have an invoice for `month`; with `settled`, only one no longer open.
pub async fn invoiced_accounts(
    pool: &sqlx::AnyPool,
    month: BillingMonth,
    settled: bool,
) -> Result<HashSet<String>, ServiceError> {
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT account_id FROM invoices WHERE month = $1 AND ($2 = 0 OR status <> $3)",
    )
    .bind(month.to_string())
    .bind(i64::from(settled))
    .bind(InvoiceStatus::Open.code())
    .fetch_all(pool)
    .await
    .context("reading a month's invoices")?;
    Ok(ids.into_iter().collect())
}

/// The essentials of an invoice in a few lines, in `w`'s language, for its emails' text.
pub fn summary_lines(invoice: &Invoice, w: Words) -> Vec<String> {
    let money = |minor: i64| w.money(invoice.money(minor));
    let count = |n: u64| Arg::Count(i64::try_from(n).unwrap_or(i64::MAX));
    let mut lines = vec![w.say("summary-invoice", &[("number", Arg::from(&invoice.number))])];
    lines.extend(
        invoice
            .corrects
            .as_ref()
            .map(|original| w.say("summary-corrects", &[("original", Arg::from(original))])),
    );
    lines.extend([
        w.say(
            "invoice-period",
            &[("period", Arg::from(&w.period(&invoice.month)))],
        ),
        w.say(
            "summary-peak",
            &[
                ("peak", count(invoice.peak_users)),
                ("free", count(invoice.free_users)),
            ],
        ),
        w.say(
            "summary-users",
            &[
                ("billable", count(invoice.billable_users())),
                ("price", Arg::from(&money(invoice.price_per_user_cents))),
                ("net", Arg::from(&money(invoice.net_cents()))),
            ],
        ),
    ]);
    if let Some(treatment) = invoice.tax_treatment() {
        lines.push(w.say(
            "invoice-tax",
            &[
                ("label", Arg::from(&pdf::tax_label(w, &treatment))),
                ("tax", Arg::from(&money(invoice.tax_cents))),
            ],
        ));
        lines.extend(pdf::tax_note(w, &treatment));
    }
    if invoice.credit_applied_cents > 0 {
        lines.push(w.say(
            "invoice-credit-applied",
            &[("credit", Arg::from(&money(invoice.credit_applied_cents)))],
        ));
    }
    lines.push(w.say(
        "invoice-total",
        &[("total", Arg::from(&money(invoice.amount_cents)))],
    ));
    lines.push(match (&invoice.card_label, invoice.amount_cents) {
        (_, 0) => w.word("summary-nothing-due"),
        (Some(card), _) => w.say("summary-charged-to", &[("card", Arg::from(card))]),
        (None, _) => w.word("summary-charged-on-file"),
    });
    lines
}

/// The email of an invoice to `to` in `w`'s language: the monthly one, or (`copy`) a copy
/// asked for; with the invoice's PDF in that language and, when there is one, its UBL
/// e-invoice.
pub fn invoice_email(
    ctx: &Context,
    invoice: &Invoice,
    documents: &Rendered,
    to: &str,
    w: Words,
    copy: bool,
) -> Mail {
    let url = ctx.link(&format!("/billing/invoices/{}", invoice.id));
    emails::invoice(
        to,
        w,
        &invoice.number,
        &invoice.month,
        &summary_lines(invoice, w),
        &url,
        copy,
        (documents.pdf(w.0), documents.ubl.clone()),
    )
}

/// The columns an invoice is made with ([`bind_new`] binds them), by the run and by a
/// correction (which adds what it corrects).
pub(crate) const NEW_COLUMNS: &str = "id, account_id, number, month, peak_users, free_users, price_per_user_cents, amount_cents, status, \
     company_name, contact_email, created_at, emailed_at, billed_to, card_label, credit_applied_cents, seller, reference_lines, \
     tax_cents, tax_rate_bp, tax_category, parties, currency, peak_reached_on";
pub(crate) const NEW_COLUMN_COUNT: usize = 24;

/// Binds a new invoice's [`NEW_COLUMNS`] to `q`, in their order: made and emailed at its
/// `created_at`, with the billing contact's email as it was and both parties as JSON.
pub(crate) fn bind_new<'q>(
    q: sqlx::query::QueryScalar<'q, Any, String, sqlx::any::AnyArguments<'q>>,
    i: &'q Invoice,
    account_id: &'q str,
    contact_email: Option<&'q str>,
    parties: Option<String>,
) -> sqlx::query::QueryScalar<'q, Any, String, sqlx::any::AnyArguments<'q>> {
    q.bind(&i.id)
        .bind(account_id)
        .bind(&i.number)
        .bind(&i.month)
        .bind(i.peak_users as i64)
        .bind(i.free_users as i64)
        .bind(i.price_per_user_cents)
        .bind(i.amount_cents)
        .bind(i.status.code())
        .bind(&i.company_name)
        .bind(contact_email)
        .bind(i.created_at)
        .bind(i.created_at)
        .bind(i.billed_to.as_deref())
        .bind(i.card_label.as_deref())
        .bind(i.credit_applied_cents)
        .bind(i.seller.as_deref())
        .bind(i.references.as_deref())
        .bind(i.tax_cents)
        .bind(i64::from(i.tax_rate_bp))
        .bind(i.tax_category.map(|c| c.code()))
        .bind(parties)
        .bind(i.currency.code())
        .bind(i.peak_reached_on.map(|d| d.format("%Y-%m-%d").to_string()))
}

/// Announces an invoice just made, in `work`: its log entry (`detail`), its `invoice.created`
/// webhook (with `more` fields beside the month, peak, free users and status), and its emails,
/// with its documents, to each of `to`, each logged.
#[allow(clippy::too_many_arguments)]
pub(crate) fn announce(
    ctx: &Context,
    work: &mut crate::platform::work::Work,
    account_id: &str,
    invoice: &Invoice,
    documents: &Rendered,
    to: &[String],
    contacts: &info::Lines,
    detail: String,
    more: serde_json::Map<String, serde_json::Value>,
) {
    work.audit(Event::system(
        AuditKind::InvoiceCreated,
        account_id,
        invoice.number.as_str(),
        detail,
    ));
    let mut fields = serde_json::json!({
        "month": invoice.month,
        "peak_users": invoice.peak_users,
        "peak_reached_on": invoice.peak_reached_on.map(|d| d.format("%Y-%m-%d").to_string()),
        "free_users": invoice.free_users,
        "status": invoice.status.code(),
    });
    if let Some(map) = fields.as_object_mut() {
        map.extend(more);
    }
    work.hook(crate::platform::webhooks::invoice_hook(
        tally_core::webhooks::WebhookEvent::InvoiceCreated,
        account_id,
        &invoice.id,
        &invoice.number,
        invoice.amount(),
        fields,
    ));
    for recipient in to.iter().chain(contacts.addresses()) {
        work.audit(Event::system(
            AuditKind::InvoiceEmailed,
            account_id,
            recipient.as_str(),
            invoice.number.as_str(),
        ));
    }
    let build = |address: &str, w: Words| invoice_email(ctx, invoice, documents, address, w, false);
    for email in info::addressed_mail(to, contacts, build) {
        work.mail(email.about(invoice_topic(&invoice.id)));
    }
}

/// The outbox's topic of an invoice's messages, by which the Billing page finds them.
pub fn invoice_topic(invoice_id: &str) -> String {
    format!("invoice:{invoice_id}")
}

/// An invoice's documents: its PDF in each language asked for — a Factur-X one, with its
/// CII inside, when its parties are known — and its UBL e-invoice (none then).
pub struct Rendered {
    /// The first in the account's language.
    pub pdfs: Vec<(Locale, Vec<u8>)>,
    pub ubl: Option<String>,
}

impl Rendered {
    /// The PDF in `locale`; in the first language rendered when it was not asked for.
    pub fn pdf(&self, locale: Locale) -> Vec<u8> {
        self.pdfs
            .iter()
            .find(|(l, _)| *l == locale)
            .or(self.pdfs.first())
            .map(|(_, pdf)| pdf.clone())
            .unwrap_or_default()
    }

    /// The PDF in the first language rendered (the account's).
    pub fn into_pdf(self) -> Vec<u8> {
        self.pdfs
            .into_iter()
            .next()
            .map(|(_, pdf)| pdf)
            .unwrap_or_default()
    }
}

/// An invoice to render: with its parties, when known, and the languages its PDF is wanted
/// in (the account's first).
pub type ToRender = (Invoice, Option<Parties>, Vec<Locale>);

/// Renders invoices' documents on the blocking pool (CPU work), in order: the PDF once per
/// language asked for, the e-invoices once.
pub async fn render_documents(
    invoices: Vec<ToRender>,
) -> Result<Vec<(Invoice, Rendered)>, ServiceError> {
    tokio::task::spawn_blocking(move || {
        invoices
            .into_iter()
            .map(|(i, parties, languages)| {
                let document = parties.map(|p| Document::of_invoice(&i, p));
                let cii = document.as_ref().map(einvoice::cii);
                let languages = if languages.is_empty() {
                    vec![Locale::En]
                } else {
                    languages
                };
                let rendered = Rendered {
                    pdfs: languages
                        .into_iter()
                        .map(|l| (l, pdf::render(&i, Words(l), cii.as_deref())))
                        .collect(),
                    ubl: document.as_ref().map(einvoice::ubl),
                };
                (i, rendered)
            })
            .collect()
    })
    .await
    .map_err(|e| ServiceError::invariant("rendering invoices", e.to_string()))
}

/// The parties of the account's invoices `ids`: as each invoice kept them, or, for one made
/// before they were kept, as they are now. None of them before the seller is set up.
pub async fn parties_of(
    pool: &sqlx::AnyPool,
    account_id: &str,
    ids: &[&str],
) -> Result<std::collections::HashMap<String, Parties>, ServiceError> {
    let mut found = std::collections::HashMap::new();
    let mut missing = Vec::new();
    for batch in ids.chunks(500) {
        let marks: Vec<String> = (0..batch.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!(
            "SELECT id, parties FROM invoices WHERE account_id = $1 AND id IN ({})",
            marks.join(", ")
        );
        let mut q = sqlx::query_as::<_, (String, Option<String>)>(&sql).bind(account_id);
        for id in batch {
            q = q.bind(*id);
        }
        for (id, parties) in q
            .fetch_all(pool)
            .await
            .context("reading invoices' parties")?
        {
            match parties.and_then(|p| serde_json::from_str::<Parties>(&p).ok()) {
                Some(p) => {
                    found.insert(id, p);
                }
                None => missing.push(id),
            }
        }
    }
    if !missing.is_empty() {
        if let Some(seller) = super::settings::issuer_party(pool).await? {
            let name = accounts::by_id(pool, account_id).await?.map(|a| a.name);
            let info = info::read(pool, account_id).await?;
            let buyer = einvoice::buyer(
                name.as_deref().unwrap_or_default(),
                info.as_ref(),
                &seller.address.country,
            );
            for id in missing {
                found.insert(
                    id,
                    Parties {
                        seller: seller.clone(),
                        buyer: buyer.clone(),
                    },
                );
            }
        }
    }
    Ok(found)
}

/// The most invoices one download holds.
pub const MAX_EXPORT_DOCUMENTS: usize = 1_000;

/// A ZIP of `files` (name, bytes), deflated.
fn zip_of(files: Vec<(String, Vec<u8>)>) -> Result<Vec<u8>, ServiceError> {
    use std::io::Write;
    let broken =
        |e: &dyn std::fmt::Display| ServiceError::invariant("packing invoices", e.to_string());
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in files {
        zip.start_file(name, options).map_err(|e| broken(&e))?;
        zip.write_all(&bytes).map_err(|e| broken(&e))?;
    }
    Ok(zip.finish().map_err(|e| broken(&e))?.into_inner())
}

/// The Billing page's data and actions.
#[derive(Clone)]
pub struct Invoices {
    ctx: Context,
}

impl Invoices {
    pub fn new(ctx: Context) -> Self {
        Self { ctx }
    }

    /// One invoice of the caller's account, or not found.
    pub async fn get(&self, actor: &Actor, id: &str) -> Result<Invoice, ServiceError> {
        get(self.ctx.db.pool(), &actor.account_id, id).await
    }

    /// One invoice of the caller's account as a PDF document: its number and the bytes,
    /// rendered off the request threads.
    pub async fn pdf(&self, actor: &Actor, id: &str) -> Result<(String, Vec<u8>), ServiceError> {
        let (invoice, rendered) = self.rendered(actor, id).await?;
        Ok((invoice.number, rendered.into_pdf()))
    }

    /// One invoice of the caller's account as a UBL e-invoice: its number and the XML. Not
    /// found before the seller is set up (an e-invoice names it).
    pub async fn ubl(&self, actor: &Actor, id: &str) -> Result<(String, String), ServiceError> {
        let (invoice, rendered) = self.rendered(actor, id).await?;
        Ok((invoice.number, rendered.ubl.ok_or(ServiceError::NotFound)?))
    }

    async fn rendered(&self, actor: &Actor, id: &str) -> Result<(Invoice, Rendered), ServiceError> {
        let invoice = self.get(actor, id).await?;
        let mut parties = parties_of(self.ctx.db.pool(), &actor.account_id, &[id]).await?;
        let parties = parties.remove(&invoice.id);
        let language = info::language(self.ctx.db.pool(), &actor.account_id).await?;
        Ok(render_documents(vec![(invoice, parties, vec![language])])
            .await?
            .pop()
            .expect("one document per invoice"))
    }

    /// The invoices and credit notes the caller's account was given from `range.from` through
    /// `range.to`, as a ZIP: `invoices.csv` (one line per document; no cell can run as a
    /// formula), `invoices/<number>.pdf` and `credit-notes/<number>.pdf`. A range holding more
    /// than [`MAX_EXPORT_DOCUMENTS`] invoices is refused beside its last date.
    pub async fn export(
        &self,
        actor: &Actor,
        range: &ExportRange,
    ) -> Result<Vec<u8>, ServiceError> {
        use tally_core::{billing::date_start_millis, csv::line};
        let pool = self.ctx.db.pool();
        let start = date_start_millis(range.from);
        let end = date_start_millis(range.to) + 86_400_000;
        let rows: Vec<InvoiceRow> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM invoices WHERE account_id = $1 AND created_at >= $2 AND created_at < $3 \
             ORDER BY created_at, number LIMIT $4"
        ))
        .bind(&actor.account_id)
        .bind(start)
        .bind(end)
        .bind(MAX_EXPORT_DOCUMENTS as i64 + 1)
        .fetch_all(pool)
        .await
        .context("reading invoices to download")?;
        if rows.len() > MAX_EXPORT_DOCUMENTS {
            return Err(ServiceError::field(
                "to",
                format!("These dates hold more than {MAX_EXPORT_DOCUMENTS} invoices: choose fewer at a time."),
            ));
        }
        let invoices: Vec<Invoice> = rows.into_iter().map(Invoice::from).collect();
        let mut notes = credit_notes::list(pool, &actor.account_id).await?;
        notes.retain(|n| n.created_at >= start && n.created_at < end);
        notes.reverse(); // oldest first, as the invoices
        let day = |millis: i64| {
            tally_core::billing::date_of_millis(millis).map_or_else(String::new, |d| d.to_string())
        };
        let mut csv = line(&[
            "Document",
            "Number",
            "Issued",
            "Month",
            "Billed to",
            "Peak users",
            "Free users",
            "Price per user",
            "Credit applied",
            "Amount",
            "Credited",
            "Status",
            "Paid",
            "For invoice",
            "Reason",
            "References",
            "Net",
            "VAT",
            "VAT rate",
            "VAT category",
            "Currency",
        ]);
        for i in &invoices {
            let money = |minor: i64| i.money(minor).decimal();
            csv.push_str(&line(&[
                "Invoice".to_string(),
                i.number.clone(),
                day(i.created_at),
                i.month.clone(),
                i.company_name.clone(),
                i.peak_users.to_string(),
                i.free_users.to_string(),
                money(i.price_per_user_cents),
                money(i.credit_applied_cents),
                money(i.amount_cents),
                money(i.credited_cents),
                i.settlement()
                    .unwrap_or_else(|| i.status_label().to_string()),
                i.paid_at.map(day).unwrap_or_default(),
                String::new(),
                String::new(),
                i.references.clone().unwrap_or_default().replace('\n', "; "),
                money(i.net_cents()),
                money(i.tax_cents),
                i.tax_treatment()
                    .map(|t| tally_core::vat::rate_label(t.rate_bp))
                    .unwrap_or_default(),
                i.tax_category
                    .map(|c| c.code().to_string())
                    .unwrap_or_default(),
                i.currency.code().to_string(),
            ]));
        }
        for n in &notes {
            csv.push_str(&line(&[
                "Credit note".to_string(),
                n.number.clone(),
                day(n.created_at),
                String::new(),
                n.company_name.clone(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                n.amount().decimal(),
                String::new(),
                n.settlement_sentence(),
                String::new(),
                n.invoice_number.clone(),
                n.reason.clone(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                n.currency.code().to_string(),
            ]));
        }
        let mut files: Vec<(String, Vec<u8>)> = vec![("invoices.csv".into(), csv.into_bytes())];
        let ids: Vec<&str> = invoices.iter().map(|i| i.id.as_str()).collect();
        let mut parties = parties_of(pool, &actor.account_id, &ids).await?;
        let language = info::language(pool, &actor.account_id).await?;
        let with_parties = invoices
            .into_iter()
            .map(|i| {
                let p = parties.get(&i.id).cloned();
                (i, p, vec![language])
            })
            .collect();
        for (invoice, rendered) in render_documents(with_parties).await? {
            let ubl = rendered.ubl.clone();
            files.push((
                format!("invoices/{}.pdf", invoice.number),
                rendered.into_pdf(),
            ));
            if let Some(ubl) = ubl {
                files.push((format!("invoices/{}.xml", invoice.number), ubl.into_bytes()));
            }
        }
        for note in &notes {
            let credited = get(pool, &actor.account_id, &note.invoice_id).await?;
            let p = match parties.remove(&credited.id) {
                Some(p) => Some(p),
                None => parties_of(pool, &actor.account_id, &[credited.id.as_str()])
                    .await?
                    .remove(&credited.id),
            };
            let rendered = credit_notes::render(note, &credited, p, vec![language]).await?;
            let ubl = rendered.ubl.clone();
            files.push((
                format!("credit-notes/{}.pdf", note.number),
                rendered.into_pdf(),
            ));
            if let Some(ubl) = ubl {
                files.push((
                    format!("credit-notes/{}.xml", note.number),
                    ubl.into_bytes(),
                ));
            }
        }
        tokio::task::spawn_blocking(move || zip_of(files))
            .await
            .map_err(|e| ServiceError::invariant("packing invoices", e.to_string()))?
    }

    /// This month so far: users, peak, projection, the card, who gets invoices, and the
    /// charts of the month and of the last 12.
    pub async fn overview(&self, actor: &Actor) -> Result<BillingOverview, ServiceError> {
        let pool = self.ctx.db.pool();
        let account = actor.account_id.as_str();
        let today = self.ctx.clock.today();
        let month = BillingMonth::containing(today);
        let changes = users::history_since(pool, account, month.start_millis()).await?;
        let users_now = changes.iter().map(|c| c.delta).sum::<i64>().max(0) as u64;
        let explained = explain_peak(&changes, month);
        let peak = explained.peak;
        let daily = daily_peaks(&changes, month, today);
        // A corrected month's charge is its invoices' together (what was paid for the original
        // comes off its correction), less an original cancelled unpaid.
        let rows: Vec<(String, i64, i64, Code<Currency>)> = sqlx::query_as(
            "SELECT month, MAX(peak_users), CAST(SUM(amount_cents) AS BIGINT), currency FROM invoices \
             WHERE account_id = $1 AND status <> $2 GROUP BY month, currency ORDER BY month DESC LIMIT 12",
        )
        .bind(account)
        .bind(InvoiceStatus::Corrected.code())
        .fetch_all(pool)
        .await
        .context("reading the last months' invoices")?;
        let mut history: Vec<MonthCharge> = rows
            .into_iter()
            .map(|(month, peak, amount, currency)| MonthCharge {
                month,
                peak_users: peak.max(0) as u64,
                amount: Money::new(amount, currency.0),
            })
            .collect();
        history.reverse();
        let standard = Plan::per_user(self.ctx.settings.price_per_user);
        let plan = plans::for_month(pool, account, month, standard).await?;
        let next_plan = plans::next_change(pool, account, month)
            .await?
            .map(|(from_month, p)| PlanChange::of(from_month, &p));
        let last_plan = plans::for_month(pool, account, month.previous(), standard).await?;
        let billing_info = info::read(pool, account).await?;
        let has_billing_info = billing_info.is_some();
        // The estimate is the invoice a run would make now: the same tax rule, the same sum.
        let treatment = super::settings::read(pool)
            .await?
            .tax
            .treatment_for(billing_info.as_ref());
        let projected = month_amounts(
            &plan,
            peak,
            treatment.as_ref(),
            Money::zero(plan.price_per_user.currency()),
        );
        let (steps, earlier_peak_steps) = explained.last_steps(PEAK_STEPS_SHOWN);
        let contact = info::contact(pool, account).await?;
        let card = cards::card_on_file(pool, account).await?;
        let next_charge = next_charge_date_on(today, last_plan.billing_day, plan.billing_day);
        let card_expires_before_charge = card.as_ref().is_some_and(|c| {
            Expiry::from_parts(c.exp_year, c.exp_month)
                .is_some_and(|e| e.expires_before(next_charge))
        });
        let opted: Vec<admins::BillingAdmin> = admins::billing_admins(pool, account)
            .await?
            .into_iter()
            .filter(admins::BillingAdmin::opted_in)
            .collect();
        Ok(BillingOverview {
            currency: plan.price_per_user.currency(),
            price_per_user_cents: plan.price_per_user.minor(),
            free_users: plan.free_users,
            billing_day: plan.billing_day,
            next_plan,
            users_now,
            peak_so_far: peak,
            peak_reached_on: explained.reached_on,
            opening_users: explained.opening,
            peak_steps: steps.to_vec(),
            earlier_peak_steps,
            projected_cents: projected.map_or(i64::MAX, |a| a.gross.minor()),
            projected_tax_cents: projected.map_or(0, |a| a.tax.minor()),
            tax: treatment,
            month: month.to_string(),
            next_charge_date: next_charge,
            card,
            card_expires_before_charge,
            contact_name: contact.as_ref().map(|c| c.name.clone()),
            contact_email: contact.map(|c| c.email),
            has_billing_info,
            me_opted_in: opted.iter().any(|a| a.id == actor.id),
            opted_in: opted.into_iter().map(|a| a.email).collect(),
            past_due: accounts::past_due(pool, account).await?,
            credit_balance_cents: accounts::credit_balance(pool, account).await?,
            month_chart: charts::month_svg(month, &daily, plan.free_users),
            year_chart: charts::year_svg(&history, plan.free_users),
            daily_peaks: daily,
            spend_alerts_fired: super::alerts::fired(pool, account, month).await?,
            history,
        })
    }

    /// Up to `limit` invoices, newest first, after `before` in that order (the month,
    /// `YYYY-MM`, when the invoice was made, UTC milliseconds, and its number; from the newest
    /// without one): the REST API's list. A month has one invoice, and one more for each
    /// correction.
    pub async fn page_before(
        &self,
        actor: &Actor,
        before: Option<(&str, i64, &str)>,
        limit: u32,
    ) -> Result<Vec<Invoice>, ServiceError> {
        let (month, made, number) = before.unwrap_or(("9999-12", i64::MIN, ""));
        let rows: Vec<InvoiceRow> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM invoices WHERE account_id = $1 \
             AND (month < $2 OR (month = $2 AND (created_at < $3 OR (created_at = $3 AND number < $4)))) \
             ORDER BY {NEWEST_FIRST} LIMIT $5"
        ))
        .bind(&actor.account_id)
        .bind(month)
        .bind(made)
        .bind(number)
        .bind(i64::from(limit))
        .fetch_all(self.ctx.db.pool())
        .await
        .context("reading a page of invoices")?;
        Ok(rows.into_iter().map(Invoice::from).collect())
    }

    /// The invoice history, newest first; `page` counts from 1.
    pub async fn list(&self, actor: &Actor, page: u32) -> Result<InvoicePage, ServiceError> {
        let pool = self.ctx.db.pool();
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM invoices WHERE account_id = $1")
            .bind(&actor.account_id)
            .fetch_one(pool)
            .await
            .context("counting invoices")?;
        let rows: Vec<InvoiceRow> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM invoices WHERE account_id = $1 ORDER BY {NEWEST_FIRST} LIMIT $2 OFFSET $3"
        ))
        .bind(&actor.account_id)
        .bind(i64::from(INVOICES_PER_PAGE))
        .bind(offset(page, INVOICES_PER_PAGE))
        .fetch_all(pool)
        .await
        .context("reading a page of invoices")?;
        let invoices: Vec<Invoice> = rows.into_iter().map(Invoice::from).collect();
        let topics: Vec<String> = invoices.iter().map(|i| invoice_topic(&i.id)).collect();
        let mut deliveries: std::collections::BTreeMap<String, Vec<MailDelivery>> =
            std::collections::BTreeMap::new();
        for (topic, d) in crate::platform::mail::outbox::deliveries(pool, &topics)
            .await
            .context("reading the invoices' deliveries")?
        {
            if let Some(id) = topic.strip_prefix("invoice:") {
                deliveries.entry(id.to_string()).or_default().push(d);
            }
        }
        Ok(InvoicePage {
            invoices,
            deliveries,
            credit_notes: credit_notes::list(pool, &actor.account_id).await?,
            total: total.max(0) as u64,
            page,
            per_page: INVOICES_PER_PAGE,
        })
    }

    /// Emails a copy of an invoice to the account's billing contact (billing requests are
    /// answered to the billing contact, not to whoever asks); returns that address.
    pub async fn request_copy(&self, actor: &Actor, id: &str) -> Result<String, ServiceError> {
        let invoice = self.get(actor, id).await?;
        throttle::check(
            &self.ctx,
            throttle::INVOICE_COPY_PER_ACCOUNT,
            &actor.account_id,
        )
        .await?;
        let Some(contact) = info::contact(self.ctx.db.pool(), &actor.account_id).await? else {
            return Err(ServiceError::Conflict(
                "There is no billing contact to send it to. Add one under Payments → Billing Information.".into(),
            ));
        };
        let to = contact.email;
        let mut parties = parties_of(
            self.ctx.db.pool(),
            &actor.account_id,
            &[invoice.id.as_str()],
        )
        .await?;
        let parties = parties.remove(&invoice.id);
        let language = info::language(self.ctx.db.pool(), &actor.account_id).await?;
        let (invoice, rendered) = render_documents(vec![(invoice, parties, vec![language])])
            .await?
            .pop()
            .expect("one document per invoice");
        let email = invoice_email(&self.ctx, &invoice, &rendered, &to, Words(language), true);
        let mut work = self.ctx.begin("sending an invoice copy").await?;
        work.mail(email);
        work.audit(Event::system(
            AuditKind::InvoiceEmailed,
            actor.account_id.as_str(),
            to.as_str(),
            invoice.number.as_str(),
        ));
        work.audit(Event::by(
            actor,
            AuditKind::InvoiceCopyRequested,
            invoice.number.as_str(),
            format!("sent to {to}"),
        ));
        work.commit().await?;
        Ok(to)
    }

    /// "Also email invoices to me", for the caller.
    pub async fn set_receive(&self, actor: &Actor, on: bool) -> Result<(), ServiceError> {
        let mut work = self.ctx.begin("changing the invoice opt-in").await?;
        admins::set_receives_invoices(work.tx(), &actor.account_id, &actor.id, on).await?;
        let detail = if on {
            "receives invoices"
        } else {
            "no longer receives invoices"
        };
        work.audit(Event::by(
            actor,
            AuditKind::InvoiceRecipientChanged,
            actor.email.as_str(),
            detail,
        ));
        work.commit().await
    }
}
