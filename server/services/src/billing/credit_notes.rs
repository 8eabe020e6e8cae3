//! Credit notes (owner of `credit_notes` and `document_series`): numbered documents crediting
//! part or all of a paid invoice, refunded to the card it was paid with or kept as the
//! account's credit balance. The seller's staff issue them (`seller::money`); the account's
//! billing administrators read them beside the invoices and download their PDF.
//!
//! Numbers come from one unbroken series per year (`CN-2026-000007`), taken in the
//! transaction that makes the note: a note rolled back gives its number back.

use std::sync::Arc;

use sqlx::AnyConnection;
use tally_core::{
    actor::Actor,
    audit::AuditKind,
    billing::date_of_millis,
    locale::Locale,
    money::{Currency, Money},
    vat::Treatment,
    views::billing::{CreditNote, CreditSettlement, Invoice},
};

use super::{
    einvoice::{self, Document, Parties},
    gateway::{GatewayError, PaymentGateway, RefundRequest},
    info,
    invoices::{
        self,
        pdf::{self, Line},
        Rendered,
    },
};
use crate::{
    identity::accounts,
    platform::{
        audit::Event,
        context::Context,
        db::Code,
        error::{ResultExt, ServiceError},
        i18n::{Arg, Words},
        mail::emails,
        work::Work,
    },
};

#[derive(sqlx::FromRow)]
struct CreditNoteRow {
    id: String,
    number: String,
    invoice_id: String,
    invoice_number: String,
    #[sqlx(try_from = "Code<Currency>")]
    currency: Currency,
    amount_cents: i64,
    reason: String,
    #[sqlx(try_from = "Code<CreditSettlement>")]
    settlement: CreditSettlement,
    refund_failure: Option<String>,
    refund_id: Option<String>,
    company_name: String,
    billed_to: Option<String>,
    created_at: i64,
}

impl From<CreditNoteRow> for CreditNote {
    fn from(r: CreditNoteRow) -> Self {
        CreditNote {
            id: r.id,
            number: r.number,
            invoice_id: r.invoice_id,
            invoice_number: r.invoice_number,
            currency: r.currency,
            amount_cents: r.amount_cents,
            reason: r.reason,
            settlement: r.settlement,
            refund_failure: r.refund_failure,
            refund_id: r.refund_id,
            company_name: r.company_name,
            billed_to: r.billed_to,
            created_at: r.created_at,
        }
    }
}

const COLUMNS: &str = "id, number, invoice_id, invoice_number, currency, amount_cents, reason, settlement, refund_failure, refund_id, company_name, billed_to, created_at";

/// The next number of `prefix`'s series for `year` (`CN-2026-000007`), taken in `conn`.
pub async fn next_number(
    conn: &mut AnyConnection,
    prefix: &str,
    year: i32,
) -> Result<String, ServiceError> {
    Ok(take_numbers(conn, prefix, year, 1).await?.remove(0))
}

/// The next `count` numbers of `prefix`'s series for `year` (`INV-2026-000123`, …), in order,
/// taken in `conn`: the series' row stays locked until the transaction ends, so documents made
/// at once by several servers take consecutive numbers one transaction after the other, and a
/// transaction that rolls back (or a process killed in it) gives its numbers back.
pub async fn take_numbers(
    conn: &mut AnyConnection,
    prefix: &str,
    year: i32,
    count: usize,
) -> Result<Vec<String>, ServiceError> {
    if count == 0 {
        return Ok(Vec::new());
    }
    let series = format!("{prefix}-{year}");
    let count = i64::try_from(count).unwrap_or(i64::MAX);
    let last: i64 = sqlx::query_scalar(
        "INSERT INTO document_series (series, last_number) VALUES ($1, $2) \
         ON CONFLICT (series) DO UPDATE SET last_number = document_series.last_number + $2 \
         RETURNING last_number",
    )
    .bind(&series)
    .bind(count)
    .fetch_one(conn)
    .await
    .context("numbering documents")?;
    Ok((last - count + 1..=last)
        .map(|n| format!("{series}-{n:06}"))
        .collect())
}

/// A credit note to record.
pub struct NewCreditNote<'a> {
    pub id: &'a str,
    pub account_id: &'a str,
    pub invoice_id: &'a str,
    pub invoice_number: &'a str,
    pub company_name: &'a str,
    pub billed_to: Option<&'a str>,
    pub amount: Money,
    pub reason: &'a str,
    pub settlement: CreditSettlement,
    /// The charge to refund, for a note refunded to the card.
    pub charge_id: Option<&'a str>,
    /// The operator who issued it (their email).
    pub created_by: &'a str,
}

/// Records a credit note with the next number of the series, in `conn`; returns it.
pub async fn insert(
    conn: &mut AnyConnection,
    note: &NewCreditNote<'_>,
    now: i64,
) -> Result<CreditNote, ServiceError> {
    let year = date_of_millis(now).map_or(1970, |d| {
        use tally_core::Datelike;
        d.year()
    });
    let number = next_number(conn, "CN", year).await?;
    sqlx::query(
        "INSERT INTO credit_notes (id, account_id, invoice_id, number, invoice_number, company_name, billed_to, \
         amount_cents, reason, settlement, charge_id, created_by, created_at, currency) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(note.id)
    .bind(note.account_id)
    .bind(note.invoice_id)
    .bind(&number)
    .bind(note.invoice_number)
    .bind(note.company_name)
    .bind(note.billed_to)
    .bind(note.amount.minor())
    .bind(note.reason)
    .bind(note.settlement.code())
    .bind(note.charge_id)
    .bind(note.created_by)
    .bind(now)
    .bind(note.amount.currency().code())
    .execute(conn)
    .await
    .context("recording a credit note")?;
    Ok(CreditNote {
        id: note.id.to_string(),
        number,
        invoice_id: note.invoice_id.to_string(),
        invoice_number: note.invoice_number.to_string(),
        currency: note.amount.currency(),
        amount_cents: note.amount.minor(),
        reason: note.reason.to_string(),
        settlement: note.settlement,
        refund_failure: None,
        refund_id: None,
        company_name: note.company_name.to_string(),
        billed_to: note.billed_to.map(str::to_string),
        created_at: now,
    })
}

/// Every credit note of the account, newest first.
pub async fn list(pool: &sqlx::AnyPool, account_id: &str) -> Result<Vec<CreditNote>, ServiceError> {
    let rows: Vec<CreditNoteRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM credit_notes WHERE account_id = $1 ORDER BY created_at DESC, number DESC"
    ))
    .bind(account_id)
    .fetch_all(pool)
    .await
    .context("reading credit notes")?;
    Ok(rows.into_iter().map(CreditNote::from).collect())
}

/// One credit note of the account, or not found.
pub async fn get(
    pool: &sqlx::AnyPool,
    account_id: &str,
    id: &str,
) -> Result<CreditNote, ServiceError> {
    let row: Option<CreditNoteRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM credit_notes WHERE id = $1 AND account_id = $2"
    ))
    .bind(id)
    .bind(account_id)
    .fetch_optional(pool)
    .await
    .context("reading a credit note")?;
    row.map(CreditNote::from).ok_or(ServiceError::NotFound)
}

/// A refund the processor has not answered yet.
#[derive(sqlx::FromRow)]
pub struct PendingRefund {
    pub id: String,
    pub account_id: String,
    pub charge_id: String,
    pub amount_cents: i64,
    #[sqlx(try_from = "Code<Currency>")]
    pub currency: Currency,
}

/// The credit notes whose refund is still to be made (at most `limit`, oldest first).
pub async fn pending_refunds(
    pool: &sqlx::AnyPool,
    account_id: Option<&str>,
    limit: i64,
) -> Result<Vec<PendingRefund>, ServiceError> {
    let one = if account_id.is_some() {
        "AND account_id = $3"
    } else {
        ""
    };
    let sql = format!(
        "SELECT id, account_id, charge_id, amount_cents, currency FROM credit_notes \
         WHERE settlement = $1 AND charge_id IS NOT NULL {one} ORDER BY created_at LIMIT $2"
    );
    let mut q = sqlx::query_as(&sql)
        .bind(CreditSettlement::RefundPending.code())
        .bind(limit);
    if let Some(account) = account_id {
        q = q.bind(account);
    }
    q.fetch_all(pool).await.context("reading refunds to make")
}

/// Records a pending refund's outcome in `conn`: refunded (the processor's refund id), or
/// refused (why; the amount is then kept as credit). `false` when another process recorded
/// it first.
pub async fn settle_refund(
    conn: &mut AnyConnection,
    id: &str,
    outcome: Result<&str, &str>,
    now: i64,
) -> Result<bool, ServiceError> {
    let (settlement, refund_id, failure, refunded_at) = match outcome {
        Ok(refund_id) => (CreditSettlement::Refunded, Some(refund_id), None, Some(now)),
        Err(why) => (CreditSettlement::Balance, None, Some(why), None),
    };
    let done = sqlx::query(
        "UPDATE credit_notes SET settlement = $1, refund_id = $2, refund_failure = $3, refunded_at = $4 \
         WHERE id = $5 AND settlement = $6",
    )
    .bind(settlement.code())
    .bind(refund_id)
    .bind(failure)
    .bind(refunded_at)
    .bind(id)
    .bind(CreditSettlement::RefundPending.code())
    .execute(conn)
    .await
    .context("recording a refund")?;
    Ok(done.rows_affected() == 1)
}

/// What was refunded to cards from `from` to `to` (UTC milliseconds), in each currency, for
/// the revenue page.
pub async fn refunded_between(
    pool: &sqlx::AnyPool,
    from: i64,
    to: i64,
) -> Result<Vec<(Currency, i64)>, ServiceError> {
    let rows: Vec<(Code<Currency>, i64)> = sqlx::query_as(
        "SELECT currency, CAST(SUM(amount_cents) AS BIGINT) FROM credit_notes \
         WHERE refunded_at >= $1 AND refunded_at < $2 GROUP BY currency",
    )
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await
    .context("reading a month's refunds")?;
    Ok(rows.into_iter().map(|(c, n)| (c.0, n)).collect())
}

/// The credit note's lines, top to bottom, in `w`'s language (also what its email repeats):
/// with its invoice's VAT (`treatment`), the share of it the amount gives back.
pub fn lines(note: &CreditNote, treatment: Option<&Treatment>, w: Words) -> Vec<Line> {
    let issued = w.date_of_millis(note.created_at);
    let mut lines: Vec<Line> = vec![
        (
            true,
            20.0,
            w.say("credit-note-title", &[("number", Arg::from(&note.number))]),
        ),
        (
            false,
            11.0,
            w.say("doc-issued", &[("date", Arg::from(&issued))]),
        ),
        (
            false,
            11.0,
            w.say(
                "credit-note-for",
                &[("invoice", Arg::from(&note.invoice_number))],
            ),
        ),
        (false, 8.0, String::new()),
        (true, 12.0, w.word("credit-note-credited-to")),
    ];
    match note.billed_to.as_deref().filter(|b| !b.trim().is_empty()) {
        Some(billed_to) => lines.extend(billed_to.lines().map(|l| (false, 11.0, l.to_string()))),
        None => lines.push((false, 11.0, note.company_name.clone())),
    }
    lines.extend([
        (false, 8.0, String::new()),
        (
            false,
            12.0,
            w.say("credit-note-reason", &[("reason", Arg::from(&note.reason))]),
        ),
        (
            true,
            14.0,
            w.say(
                "credit-note-credited",
                &[("amount", Arg::from(&w.money(note.amount())))],
            ),
        ),
    ]);
    if let Some(t) = treatment {
        let (net, tax) = einvoice::split_gross(note.amount(), t.rate_bp);
        lines.push((
            false,
            12.0,
            w.say(
                "credit-note-split",
                &[
                    ("net", Arg::from(&w.money(net))),
                    ("label", Arg::from(&pdf::tax_label(w, t))),
                    ("tax", Arg::from(&w.money(tax))),
                ],
            ),
        ));
    }
    lines.push((false, 12.0, settlement(note, w)));
    lines.extend(pdf::footer(w));
    lines
}

/// Where the credit note's money went, in `w`'s language.
fn settlement(note: &CreditNote, w: Words) -> String {
    match (&note.refund_failure, note.settlement) {
        (Some(why), _) => w.say("credit-refund-failed", &[("why", Arg::from(why))]),
        (None, CreditSettlement::RefundPending) => w.word("credit-refund-pending"),
        (None, CreditSettlement::Refunded) => w.word("credit-refunded"),
        (None, CreditSettlement::Balance) => w.word("credit-balance"),
    }
}

/// The credit note's documents, rendered on the blocking pool: its one-page PDF in each of
/// `languages` (Factur-X, with its CII inside, when the parties are known) and its UBL
/// e-invoice (none then). The VAT it gives back is its invoice's rate's share of it.
pub async fn render(
    note: &CreditNote,
    invoice: &Invoice,
    parties: Option<Parties>,
    languages: Vec<Locale>,
) -> Result<Rendered, ServiceError> {
    let treatment = invoice.tax_treatment();
    let pages: Vec<(Locale, String, Vec<Line>)> = languages
        .into_iter()
        .map(|l| {
            let w = Words(l);
            let title = w.say("credit-note-title", &[("number", Arg::from(&note.number))]);
            (l, title, lines(note, treatment.as_ref(), w))
        })
        .collect();
    let document = parties.map(|p| Document::of_credit_note(note, invoice, p));
    tokio::task::spawn_blocking(move || {
        let cii = document.as_ref().map(einvoice::cii);
        Rendered {
            pdfs: pages
                .into_iter()
                .map(|(l, title, lines)| (l, pdf::document(&title, lines, cii.as_deref())))
                .collect(),
            ubl: document.as_ref().map(einvoice::ubl),
        }
    })
    .await
    .map_err(|e| ServiceError::invariant("rendering a credit note", e.to_string()))
}

/// A credit note's documents in `languages`, with its invoice's parties.
async fn rendered(
    pool: &sqlx::AnyPool,
    account_id: &str,
    note: &CreditNote,
    languages: Vec<Locale>,
) -> Result<Rendered, ServiceError> {
    let invoice = invoices::get(pool, account_id, &note.invoice_id).await?;
    let parties = invoices::parties_of(pool, account_id, &[invoice.id.as_str()])
        .await?
        .remove(&invoice.id);
    render(note, &invoice, parties, languages).await
}

/// How many pending refunds the scheduler asks the processor about in one go.
const REFUNDS_PER_SWEEP: i64 = 100;

/// Refunds of credit notes to the card: asked of the processor with the note's own
/// idempotency key, and asked again (the same key) while the processor has not answered.
#[derive(Clone)]
pub struct Refunds {
    ctx: Context,
    gateway: Arc<dyn PaymentGateway>,
}

impl Refunds {
    pub fn new(ctx: Context, gateway: Arc<dyn PaymentGateway>) -> Self {
        Self { ctx, gateway }
    }

    /// Asks the processor for a pending note's refund and records the answer; a processor
    /// that cannot be reached leaves it pending.
    pub async fn refund(
        &self,
        account_id: &str,
        note_id: &str,
        charge_id: &str,
        amount: Money,
    ) -> Result<(), ServiceError> {
        let answer = self
            .gateway
            .refund(&RefundRequest {
                charge_id: charge_id.to_string(),
                amount,
                idempotency_key: format!("credit-note-{note_id}"),
                credit_note_id: note_id.to_string(),
            })
            .await;
        let outcome = match &answer {
            Ok(receipt) => Ok(receipt.id.as_str()),
            Err(GatewayError::Unavailable(e)) => {
                tracing::warn!(error = %e, credit_note = %note_id, "refund not made yet; the scheduler asks again");
                return Ok(());
            }
            Err(GatewayError::Refused(why)) => Err(why.clone()),
            Err(e) => Err(e.to_string()),
        };
        let mut work = self.ctx.begin("recording a refund").await?;
        let now = work.now();
        let failure = outcome.as_ref().err().map(String::as_str);
        let settled = settle_refund(
            work.tx(),
            note_id,
            outcome.as_deref().map_err(String::as_str),
            now,
        )
        .await?;
        if !settled {
            return Ok(()); // another process recorded it
        }
        if failure.is_some() {
            accounts::add_credit(work.tx(), account_id, amount.minor()).await?;
        }
        let note = get(self.ctx.db.pool(), account_id, note_id).await?;
        let note = CreditNote {
            settlement: if failure.is_some() {
                CreditSettlement::Balance
            } else {
                CreditSettlement::Refunded
            },
            refund_failure: failure.map(str::to_string),
            refund_id: outcome.as_ref().ok().map(|id| id.to_string()),
            ..note
        };
        work.audit(Event::system(
            AuditKind::CreditNoteRefunded,
            account_id,
            note.number.as_str(),
            match failure {
                None => format!("{} refunded to the card", note.amount()),
                Some(why) => format!("refund refused ({why}): kept as credit"),
            },
        ));
        self.email_note(&mut work, account_id, &note).await?;
        work.commit().await
    }

    /// Asks the processor again for every refund still pending (the scheduler calls this);
    /// returns how many it asked about.
    pub async fn refund_pending(&self) -> Result<u64, ServiceError> {
        let pending = pending_refunds(self.ctx.db.pool(), None, REFUNDS_PER_SWEEP).await?;
        for p in &pending {
            self.refund(
                &p.account_id,
                &p.id,
                &p.charge_id,
                Money::new(p.amount_cents, p.currency),
            )
            .await?;
        }
        Ok(pending.len() as u64)
    }

    /// Queues the credit note's email, its PDF attached, to the billing contact.
    pub async fn email_note(
        &self,
        work: &mut Work,
        account_id: &str,
        note: &CreditNote,
    ) -> Result<(), ServiceError> {
        let pool = self.ctx.db.pool();
        let each: Vec<String> = info::contact(pool, account_id)
            .await?
            .map(|c| c.email)
            .into_iter()
            .collect();
        let contacts = info::contact_lines(
            pool,
            account_id,
            tally_core::billing_contacts::Subscription::Invoices,
            &each,
        )
        .await?;
        if each.is_empty() && contacts.messages.is_empty() {
            return Ok(());
        }
        let documents = rendered(pool, account_id, note, contacts.languages()).await?;
        // What the email says in short: the document's lines, less its title, its VAT share
        // and its footer.
        let summary = |w: Words| -> Vec<String> {
            lines(note, None, w)
                .into_iter()
                .skip(1)
                .map(|(_, _, text)| text)
                .filter(|t| !t.is_empty())
                .collect()
        };
        let url = self.ctx.link("/billing");
        let mail = info::addressed_mail(&each, &contacts, |to, w| {
            emails::credit_note(
                to,
                w,
                &note.number,
                &note.invoice_number,
                &summary(w),
                &url,
                documents.pdf(w.0),
                documents.ubl.clone(),
            )
        });
        for m in mail {
            work.audit(Event::system(
                AuditKind::MoneyNoticeEmailed,
                account_id,
                m.to.as_str(),
                note.number.as_str(),
            ));
            work.mail(m.about(super::invoices::invoice_topic(&note.invoice_id)));
        }
        Ok(())
    }
}

/// The credit notes as the account's billing administrators read them.
#[derive(Clone)]
pub struct CreditNotes {
    ctx: Context,
}

impl CreditNotes {
    pub fn new(ctx: Context) -> Self {
        Self { ctx }
    }

    /// Credit notes of the caller's account numbered before `before` (all without one),
    /// newest first, at most `limit`. Numbers sort as they were given (`CN-2026-000007`).
    pub async fn page_before(
        &self,
        actor: &Actor,
        before: Option<&str>,
        limit: u32,
    ) -> Result<Vec<CreditNote>, ServiceError> {
        let after = if before.is_some() {
            "AND number < $3"
        } else {
            ""
        };
        let sql = format!(
            "SELECT {COLUMNS} FROM credit_notes WHERE account_id = $1 {after} ORDER BY number DESC LIMIT $2"
        );
        let mut query = sqlx::query_as::<_, CreditNoteRow>(&sql)
            .bind(&actor.account_id)
            .bind(i64::from(limit));
        if let Some(before) = before {
            query = query.bind(before);
        }
        let rows = query
            .fetch_all(self.ctx.db.pool())
            .await
            .context("reading a page of credit notes")?;
        Ok(rows.into_iter().map(CreditNote::from).collect())
    }

    /// One credit note of the caller's account, or not found.
    pub async fn get(&self, actor: &Actor, id: &str) -> Result<CreditNote, ServiceError> {
        get(self.ctx.db.pool(), &actor.account_id, id).await
    }

    /// One credit note of the caller's account as a PDF: its number and the bytes.
    pub async fn pdf(&self, actor: &Actor, id: &str) -> Result<(String, Vec<u8>), ServiceError> {
        let pool = self.ctx.db.pool();
        let note = get(pool, &actor.account_id, id).await?;
        let language = info::language(pool, &actor.account_id).await?;
        let documents = rendered(pool, &actor.account_id, &note, vec![language]).await?;
        Ok((note.number, documents.into_pdf()))
    }

    /// One credit note of the caller's account as a UBL e-invoice: its number and the XML.
    /// Not found before the seller is set up.
    pub async fn ubl(&self, actor: &Actor, id: &str) -> Result<(String, String), ServiceError> {
        let pool = self.ctx.db.pool();
        let note = get(pool, &actor.account_id, id).await?;
        let documents = rendered(pool, &actor.account_id, &note, vec![Locale::En]).await?;
        Ok((note.number, documents.ubl.ok_or(ServiceError::NotFound)?))
    }
}
