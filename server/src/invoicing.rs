//! The monthly billing run (spec §5): one invoice per account and month, charged through the
//! payment gateway, retried on the schedule, emailed.
//!
//! A run works through the accounts in chunks of [`CHUNK`], each chunk in one transaction, so
//! a run over 100,000 accounts is a few hundred transactions rather than a million statements
//! each committed on its own:
//! 1. **Invoice** the accounts that have no invoice for the month yet. The database sums each
//!    account's user-count history before the month into its opening count and returns the
//!    month's own changes; core's `peak_users` decides the peak. Each new invoice's emails are
//!    queued in the outbox in the transaction that creates it.
//! 2. **Charge** the month's open invoices: the gateway is called for each (a few at once), then
//!    the outcomes are recorded in one transaction, with the payment-failed emails.
//! 3. **Deliver** the queued mail.
//!
//! Safe to repeat, to interrupt at any point and to run in several processes at once:
//! - the invoice is an `INSERT … ON CONFLICT (account_id, month) DO NOTHING`, and its emails
//!   are queued only when that insert made it, in the same transaction: once, never lost;
//! - each charge attempt's idempotency key is derived from the invoice and the attempt number,
//!   and the number only moves on once the attempt's outcome is recorded, so a process killed
//!   after the gateway charged and before it recorded retries with the same key and the
//!   gateway answers with the first charge instead of charging again;
//! - outcomes are recorded with `WHERE attempts = <n − 1>`, so of two processes that tried the
//!   same attempt only one records it (and queues its email).

use std::{collections::HashMap, sync::Arc};

use chrono::Datelike;
use futures::TryStreamExt;
use sqlx::{AnyConnection, Row};
use tally_core::{
    audit::AuditKind,
    billing::{
        date_of_millis, date_start_millis, next_charge_date, peak_users, AfterFailure,
        BillingMonth, CountChange, Plan, RetrySchedule,
    },
    card::Brand,
    expiry::Expiry,
    money::Money,
    roles::Role,
    NaiveDate,
};

use crate::{
    audit::{record, record_many, Event},
    auth::Auth,
    crypto::new_id,
    db::{Backend, ROWS_PER_STATEMENT},
    gateway::{CardToken, ChargeReceipt, ChargeRequest, GatewayError, PaymentGateway},
    mail::{link_email, paragraph_email, Email},
};

/// Accounts (or invoices) per transaction in a run.
const CHUNK: usize = 500;

#[derive(Debug, thiserror::Error)]
pub enum BillingError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("{0} has not ended yet; only past months can be invoiced")]
    MonthNotOver(String),
}

/// What one run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunReport {
    pub month: String,
    pub accounts: u64,
    pub invoices_created: u64,
    pub charged: u64,
    pub failed: u64,
    pub mail_sent: u64,
}

#[derive(Clone)]
pub struct Invoicing {
    pub auth: Auth,
    pub gateway: Arc<dyn PaymentGateway>,
    pub retry: RetrySchedule,
}

/// One invoice, as the run needs it.
struct Invoice {
    id: String,
    account_id: String,
    number: String,
    month: String,
    amount: Money,
    attempts: i64,
    first_failure_at: Option<i64>,
}

fn invoice_of(r: &sqlx::any::AnyRow) -> Invoice {
    Invoice {
        id: r.get("id"),
        account_id: r.get("account_id"),
        number: r.get("number"),
        month: r.get("month"),
        amount: Money::from_cents(r.get("amount_cents")),
        attempts: r.get("attempts"),
        first_failure_at: r.get("first_failure_at"),
    }
}

const INVOICE_COLUMNS: &str =
    "i.id, i.account_id, i.number, i.month, i.amount_cents, i.attempts, i.first_failure_at";

/// An account to invoice, with the billing information its invoice keeps.
struct ToInvoice {
    id: String,
    name: String,
    company: Option<String>,
    contact: Option<String>,
}

/// An invoice to charge, with the card and the billing contact the charge needs.
struct ToCharge {
    invoice: Invoice,
    token: Option<String>,
    contact: Option<String>,
}

/// A charge attempt whose outcome this process recorded.
struct Attempt<'a> {
    due: &'a ToCharge,
    /// 1 for the first attempt.
    number: i64,
    /// The charge's id, or why it failed.
    outcome: Result<String, String>,
    /// After a failure with retries left: the day of the next one.
    next_attempt: Option<NaiveDate>,
}

/// The email telling the billing contact that an attempt failed, and what happens next.
fn failure_email(a: &Attempt<'_>) -> Option<Email> {
    let (Err(reason), Some(to)) = (&a.outcome, &a.due.contact) else {
        return None;
    };
    let invoice = &a.due.invoice;
    let what_next = match a.next_attempt {
        Some(day) => format!("We'll try again on {}.", day.format("%B %-d, %Y")),
        None => "That was the last try: the account is now past due. Saving a new card in Tally charges the invoice again.".into(),
    };
    let text = format!(
        "We couldn't charge {} for invoice {} ({}), attempt {}: {reason} {what_next} To update the card, open Payments in Tally.",
        invoice.amount, invoice.number, invoice.month, a.number
    );
    Some(paragraph_email(
        to,
        &format!("Payment failed for Tally invoice {}", invoice.number),
        &[&text],
    ))
}

/// What charging some invoices did: the attempts this process recorded, and the
/// payment-failed emails it queued.
#[derive(Default)]
struct Charges {
    paid: u64,
    failed: u64,
    mail: Vec<String>,
}

/// Which invoices to charge.
enum Due<'a> {
    /// A month's invoices not charged yet.
    Month(&'a str),
    /// Failed invoices whose retry is due by this time.
    RetriesBy(i64),
    /// An account's failed and past-due invoices (a new card was saved).
    Unpaid(&'a str),
}

/// The invoice's number: its month and the end of its account's id (the random part; the
/// start is the account's creation time).
fn invoice_number(month: BillingMonth, account_id: &str) -> String {
    let alnum: Vec<char> = account_id
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    let short: String = alnum[alnum.len().saturating_sub(6)..].iter().collect();
    format!("{month}-{}", short.to_uppercase())
}

/// The audit event of an invoice emailed to `to`.
fn emailed<'a>(invoice: &'a Invoice, to: &'a str) -> (AuditKind, Event<'a>) {
    (
        AuditKind::InvoiceEmailed,
        Event {
            account_id: Some(&invoice.account_id),
            target: Some(to),
            detail: invoice.number.clone(),
            ..Default::default()
        },
    )
}

/// Who gets an invoice: the billing contact, then the opted-in billing admins; each once.
fn recipients(contact: Option<&str>, opted_in: Option<&Vec<String>>) -> Vec<String> {
    let mut to: Vec<String> = contact.map(str::to_string).into_iter().collect();
    for email in opted_in.into_iter().flatten() {
        if !to.iter().any(|t| t.eq_ignore_ascii_case(email)) {
            to.push(email.clone());
        }
    }
    to
}

/// An attempt's outcome from the gateway's answer: the charge's id, or why it failed; `None`
/// when the processor could not be reached (not an attempt: the next run tries again).
fn outcome(
    answer: Result<ChargeReceipt, GatewayError>,
    number: &str,
) -> Option<Result<String, String>> {
    match answer {
        Ok(receipt) => Some(Ok(receipt.id)),
        Err(GatewayError::Declined(d)) => Some(Err(d.message().to_string())),
        Err(e @ GatewayError::Unavailable(_)) => {
            tracing::warn!(error = %e, invoice = %number, "charge not attempted");
            None
        }
    }
}

impl Invoicing {
    fn now(&self) -> i64 {
        self.auth.clock.now_millis()
    }

    fn plan(&self) -> Plan {
        Plan::per_user(self.auth.settings.price_per_user)
    }

    /// Invoices every account for `month` (which must be over), charges what is still to
    /// charge for that month, and delivers the mail. Repeating it changes nothing that is done.
    pub async fn run_month(&self, month: BillingMonth) -> Result<RunReport, BillingError> {
        let now = self.now();
        if month.end_millis() > now {
            return Err(BillingError::MonthNotOver(month.to_string()));
        }
        let pool = self.auth.db.pool();
        let accounts: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM accounts WHERE created_at < $1")
                .bind(month.end_millis())
                .fetch_one(pool)
                .await?;
        let to_invoice: Vec<ToInvoice> = sqlx::query(
            "SELECT a.id, a.name, b.company_name, b.contact_email FROM accounts a \
             LEFT JOIN billing_info b ON b.account_id = a.id \
             WHERE a.created_at < $1 AND NOT EXISTS \
             (SELECT 1 FROM invoices i WHERE i.account_id = a.id AND i.month = $2) ORDER BY a.id",
        )
        .bind(month.end_millis())
        .bind(month.to_string())
        .fetch(pool) // row by row: 100,000 raw rows at once would double the run's memory
        .map_ok(|r| ToInvoice {
            id: r.get("id"),
            name: r.get("name"),
            company: r.get("company_name"),
            contact: r.get("contact_email"),
        })
        .try_collect()
        .await?;
        record(
            pool,
            now,
            AuditKind::BillingRun,
            Event {
                detail: format!(
                    "{month}: {accounts} accounts, {} to invoice",
                    to_invoice.len()
                ),
                ..Default::default()
            },
        )
        .await?;
        let mut report = RunReport {
            month: month.to_string(),
            accounts: u64::try_from(accounts).unwrap_or(0),
            ..Default::default()
        };
        let started = std::time::Instant::now();
        // The emails go out while the run goes on: each chunk's invoice emails once its
        // transaction commits, the payment-failed ones once theirs does. Writing files or
        // talking to an SMTP server waits on the system; invoicing and charging on the
        // database and the gateway.
        let (finished, mail) = self.deliver_while_running();
        let run = async {
            for chunk in to_invoice.chunks(CHUNK) {
                report.invoices_created += self.invoice_chunk(chunk, month).await?;
            }
            let invoiced = started.elapsed();
            let charges = self.charge(Due::Month(&month.to_string())).await?;
            report.charged = charges.paid;
            report.failed = charges.failed;
            Ok::<_, BillingError>(invoiced)
        };
        let ran = run.await;
        let charged = started.elapsed();
        let _ = finished.send(true);
        let sent_meanwhile = match mail.await {
            Ok(Ok(sent)) => sent,
            Ok(Err(e)) => {
                tracing::error!(error = %e, "mail delivery during the run failed; the rest goes now");
                0
            }
            Err(e) => {
                tracing::error!(error = %e, "mail delivery during the run stopped; the rest goes now");
                0
            }
        };
        let invoiced = ran?;
        // Whatever the pass during the run left (none, unless it failed).
        report.mail_sent = (sent_meanwhile + self.auth.outbox.deliver_due().await?) as u64;
        tracing::info!(
            month = %month,
            invoice_ms = invoiced.as_millis() as u64,
            charge_ms = (charged - invoiced).as_millis() as u64,
            mail_ms = (started.elapsed() - charged).as_millis() as u64,
            "billing run timings"
        );
        Ok(report)
    }

    /// Delivers due mail over and over, until told the run has finished and one last pass
    /// finds nothing more; returns how many messages it sent.
    fn deliver_while_running(
        &self,
    ) -> (
        tokio::sync::watch::Sender<bool>,
        tokio::task::JoinHandle<Result<usize, sqlx::Error>>,
    ) {
        let (finished, mut told) = tokio::sync::watch::channel(false);
        let outbox = self.auth.outbox.clone();
        let mail = tokio::spawn(async move {
            let mut sent = 0;
            loop {
                let last = *told.borrow_and_update();
                let n = outbox.deliver_due().await?;
                sent += n;
                if last {
                    return Ok(sent);
                }
                if n == 0 {
                    // Nothing due yet: wait for the next chunk, or the end of the run.
                    let pause = std::time::Duration::from_millis(20);
                    if let Ok(Err(_)) = tokio::time::timeout(pause, told.changed()).await {
                        return Ok(sent); // the run was dropped; the mail worker takes the rest
                    }
                }
            }
        });
        (finished, mail)
    }

    /// Invoices a chunk of accounts (in the database's order of their ids) and queues the
    /// invoices' emails, in one transaction; returns how many invoices it made.
    async fn invoice_chunk(
        &self,
        accounts: &[ToInvoice],
        month: BillingMonth,
    ) -> Result<u64, BillingError> {
        let pool = self.auth.db.pool();
        let (Some(first), Some(last)) = (accounts.first(), accounts.last()) else {
            return Ok(0);
        };
        let (start, end) = (month.start_millis(), month.end_millis());
        // Everything up to the month's opening instant (which core counts as the opening)
        // becomes one change at that instant; the month's own changes come as they are. Both
        // queries go account by account, so the index on (account_id, at) finds each
        // account's rows instead of the chunk's whole history being read twice.
        let mut history: HashMap<String, Vec<CountChange>> = HashMap::new();
        let opening: Vec<(String, Option<i64>)> = sqlx::query_as(
            "SELECT a.id, CAST((SELECT SUM(c.delta) FROM user_count_changes c \
             WHERE c.account_id = a.id AND c.at <= $3) AS BIGINT) \
             FROM accounts a WHERE a.id >= $1 AND a.id <= $2",
        )
        .bind(&first.id)
        .bind(&last.id)
        .bind(start)
        .fetch_all(pool)
        .await?;
        for (account, delta) in opening {
            if let Some(delta) = delta {
                history.entry(account).or_default().push(CountChange {
                    at_millis: start,
                    delta,
                });
            }
        }
        // CROSS JOIN keeps SQLite's order: accounts first, then each one's month by index.
        let changes: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT c.account_id, c.at, c.delta FROM accounts a CROSS JOIN user_count_changes c \
             WHERE a.id >= $1 AND a.id <= $2 AND c.account_id = a.id AND c.at > $3 AND c.at < $4",
        )
        .bind(&first.id)
        .bind(&last.id)
        .bind(start)
        .bind(end)
        .fetch_all(pool)
        .await?;
        for (account, at_millis, delta) in changes {
            history
                .entry(account)
                .or_default()
                .push(CountChange { at_millis, delta });
        }
        let opted_in = self.opted_in(&first.id, &last.id).await?;
        let plan = self.plan();
        let now = self.now();
        let candidates: Vec<(Invoice, u64, &ToInvoice)> = accounts
            .iter()
            .map(|account| {
                let peak = peak_users(
                    history.get(&account.id).map_or(&[][..], Vec::as_slice),
                    month,
                );
                let amount = plan
                    .invoice_amount(peak)
                    .unwrap_or(Money::from_cents(i64::MAX));
                let invoice = Invoice {
                    id: new_id(),
                    account_id: account.id.clone(),
                    number: invoice_number(month, &account.id),
                    month: month.to_string(),
                    amount,
                    attempts: 0,
                    first_failure_at: None,
                };
                (invoice, peak, account)
            })
            .collect();
        let mut tx = pool.begin().await?;
        // The invoices first (so SQLite takes its write lock at once); those another run made
        // already are skipped, and only the ones made here get their emails.
        let mut made = std::collections::HashSet::new();
        for batch in candidates.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO invoices (id, account_id, number, month, peak_users, free_users, price_per_user_cents, amount_cents, status, \
                 company_name, contact_email, created_at, emailed_at) VALUES {} \
                 ON CONFLICT (account_id, month) DO NOTHING RETURNING id",
                Backend::of(&tx).values_list(batch.len(), 13)
            );
            let mut q = sqlx::query_scalar::<_, String>(&sql);
            for (invoice, peak, account) in batch {
                q = q
                    .bind(&invoice.id)
                    .bind(&invoice.account_id)
                    .bind(&invoice.number)
                    .bind(&invoice.month)
                    .bind(*peak as i64)
                    .bind(plan.free_users as i64)
                    .bind(plan.price_per_user.cents())
                    .bind(invoice.amount.cents())
                    .bind(if invoice.amount.cents() == 0 {
                        "zero"
                    } else {
                        "open"
                    })
                    .bind(account.company.as_deref().unwrap_or(&account.name))
                    .bind(account.contact.as_deref())
                    .bind(now)
                    .bind(now);
            }
            made.extend(q.fetch_all(&mut *tx).await?);
        }
        let made: Vec<_> = candidates
            .iter()
            .filter(|(invoice, _, _)| made.contains(&invoice.id))
            .map(|(invoice, peak, account)| {
                let to = recipients(account.contact.as_deref(), opted_in.get(&account.id));
                (invoice, peak, to)
            })
            .collect();
        let mut events = Vec::new();
        let mut emails = Vec::new();
        for (invoice, peak, to) in &made {
            events.push((
                AuditKind::InvoiceCreated,
                Event {
                    account_id: Some(&invoice.account_id),
                    target: Some(&invoice.number),
                    detail: format!("{month}: peak {peak} users, {}", invoice.amount),
                    ..Default::default()
                },
            ));
            for recipient in to {
                emails.push(self.invoice_email(invoice, recipient, false));
                events.push(emailed(invoice, recipient));
            }
        }
        self.auth.outbox.queue_many(&mut tx, &emails).await?;
        record_many(&mut tx, now, &events).await?;
        tx.commit().await?;
        Ok(made.len() as u64)
    }

    /// The active billing admins who opted in to invoices, for the accounts whose ids lie
    /// between `first` and `last`, oldest first.
    async fn opted_in(
        &self,
        first: &str,
        last: &str,
    ) -> Result<HashMap<String, Vec<String>>, BillingError> {
        let rows = sqlx::query(
            "SELECT account_id, email, role FROM admins WHERE account_id >= $1 AND account_id <= $2 \
             AND status = 'active' AND receives_invoices = TRUE ORDER BY account_id, created_at",
        )
        .bind(first)
        .bind(last)
        .fetch_all(self.auth.db.pool())
        .await?;
        let mut by_account: HashMap<String, Vec<String>> = HashMap::new();
        for r in rows {
            if Role::from_code(&r.get::<String, _>("role")).is_some_and(Role::has_billing) {
                by_account
                    .entry(r.get("account_id"))
                    .or_default()
                    .push(r.get("email"));
            }
        }
        Ok(by_account)
    }

    /// The invoice's email to `to`, or the copy a billing admin asked for.
    fn invoice_email(&self, invoice: &Invoice, to: &str, copy: bool) -> Email {
        let url = format!(
            "{}/billing/invoices/{}",
            self.auth.settings.public_url, invoice.id
        );
        let subject = if copy {
            format!("Copy of your Tally invoice {}", invoice.number)
        } else {
            format!(
                "Your Tally invoice {} for {}",
                invoice.number, invoice.month
            )
        };
        let body = format!(
            "Invoice {} for {}: {}.{}",
            invoice.number,
            invoice.month,
            invoice.amount,
            if invoice.amount.cents() > 0 {
                " It is charged to the payment method on file."
            } else {
                " Nothing is due."
            }
        );
        link_email(
            to,
            &subject,
            &body,
            "View or download the invoice",
            &url,
            "Keep this email for your records.",
        )
    }

    /// Charges the invoices `due` selects, a chunk at a time; returns (paid, failed) among the
    /// attempts this call recorded.
    async fn charge(&self, due: Due<'_>) -> Result<Charges, BillingError> {
        let filter = match due {
            Due::Month(_) => "i.month = $1 AND i.status = 'open'",
            Due::RetriesBy(_) => "i.status = 'failed' AND i.next_attempt_at <= $1",
            Due::Unpaid(_) => "i.account_id = $1 AND i.status IN ('failed', 'past_due')",
        };
        let sql = format!(
            "SELECT {INVOICE_COLUMNS}, p.gateway_token, b.contact_email FROM invoices i \
             LEFT JOIN payment_methods p ON p.account_id = i.account_id \
             LEFT JOIN billing_info b ON b.account_id = i.account_id \
             WHERE {filter} AND i.amount_cents > 0 ORDER BY i.account_id, i.month"
        );
        let q = sqlx::query(&sql);
        let q = match due {
            Due::Month(month) => q.bind(month),
            Due::RetriesBy(at) => q.bind(at),
            Due::Unpaid(account) => q.bind(account),
        };
        let due: Vec<ToCharge> = q
            .fetch(self.auth.db.pool())
            .map_ok(|r| ToCharge {
                invoice: invoice_of(&r),
                token: r.get("gateway_token"),
                contact: r.get("contact_email"),
            })
            .try_collect()
            .await?;
        let mut all = Charges::default();
        for chunk in due.chunks(CHUNK) {
            let c = self.charge_chunk(chunk).await?;
            all.paid += c.paid;
            all.failed += c.failed;
            all.mail.extend(c.mail);
        }
        Ok(all)
    }

    /// One attempt for each invoice of the chunk: the gateway first, a few calls at once, with
    /// no transaction open; then every outcome recorded in one transaction.
    async fn charge_chunk(&self, due: &[ToCharge]) -> Result<Charges, BillingError> {
        let requests: Vec<ChargeRequest> = due
            .iter()
            .filter_map(|d| {
                Some(ChargeRequest {
                    token: CardToken(d.token.clone()?),
                    amount: d.invoice.amount,
                    idempotency_key: format!(
                        "invoice-{}-attempt-{}",
                        d.invoice.id,
                        d.invoice.attempts + 1
                    ),
                })
            })
            .collect();
        let mut answers = self.gateway.charge_many(&requests).await.into_iter();
        let outcomes: Vec<Option<Result<String, String>>> = due
            .iter()
            .map(|d| match d.token {
                None => Some(Err("There is no payment method on file.".into())),
                Some(_) => outcome(
                    answers.next().expect("one answer per request"),
                    &d.invoice.number,
                ),
            })
            .collect();
        let now = self.now();
        let mut tx = self.auth.db.pool().begin().await?;
        let mut recorded = Vec::new();
        for (d, outcome) in due.iter().zip(outcomes) {
            let Some(outcome) = outcome else { continue };
            if let Some(a) = self.record_outcome(&mut tx, d, outcome, now).await? {
                recorded.push(a);
            }
        }
        let mail = self.record_attempts(&mut tx, &recorded, now).await?;
        tx.commit().await?;
        let paid = recorded.iter().filter(|a| a.outcome.is_ok()).count() as u64;
        Ok(Charges {
            paid,
            failed: recorded.len() as u64 - paid,
            mail,
        })
    }

    /// Moves the invoice on by one attempt's outcome, on `conn`: paid, failed with its retry
    /// date, or past due. `None` when another process recorded this attempt first.
    async fn record_outcome<'a>(
        &self,
        conn: &mut AnyConnection,
        due: &'a ToCharge,
        outcome: Result<String, String>,
        now: i64,
    ) -> Result<Option<Attempt<'a>>, BillingError> {
        let invoice = &due.invoice;
        let number = invoice.attempts + 1;
        let mut next_attempt = None;
        let recorded = match &outcome {
            Ok(charge_id) => sqlx::query(
                "UPDATE invoices SET status = 'paid', charge_id = $1, paid_at = $2, attempts = $3, next_attempt_at = NULL \
                 WHERE id = $4 AND attempts = $5 AND status IN ('open', 'failed', 'past_due')",
            )
            .bind(charge_id)
            .bind(now)
            .bind(number)
            .bind(&invoice.id)
            .bind(invoice.attempts)
            .execute(&mut *conn)
            .await?,
            Err(_) => {
                let first_failure = invoice.first_failure_at.unwrap_or(now);
                let first_day = date_of_millis(first_failure).expect("a representable date");
                let status = match self.retry.after_failure(first_day, number as u32) {
                    AfterFailure::RetryOn(day) => {
                        next_attempt = Some(day);
                        "failed"
                    }
                    AfterFailure::PastDue => "past_due",
                };
                sqlx::query(
                    "UPDATE invoices SET status = $1, attempts = $2, first_failure_at = $3, next_attempt_at = $4 \
                     WHERE id = $5 AND attempts = $6 AND status IN ('open', 'failed', 'past_due')",
                )
                .bind(status)
                .bind(number)
                .bind(first_failure)
                .bind(next_attempt.map(date_start_millis))
                .bind(&invoice.id)
                .bind(invoice.attempts)
                .execute(&mut *conn)
                .await?
            }
        };
        Ok((recorded.rows_affected() == 1).then_some(Attempt {
            due,
            number,
            outcome,
            next_attempt,
        }))
    }

    /// Writes what goes with the recorded attempts, in a few statements for the chunk: the
    /// attempts themselves, the accounts' past-due flags, the audit events and the emails to
    /// the billing contacts about failures, whose ids it returns.
    async fn record_attempts(
        &self,
        conn: &mut AnyConnection,
        recorded: &[Attempt<'_>],
        now: i64,
    ) -> Result<Vec<String>, BillingError> {
        for batch in recorded.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO charge_attempts (id, invoice_id, account_id, attempt, at, outcome, message) VALUES {}",
                Backend::of(conn).values_list(batch.len(), 7)
            );
            let mut q = sqlx::query(&sql);
            for a in batch {
                q = q
                    .bind(new_id())
                    .bind(&a.due.invoice.id)
                    .bind(&a.due.invoice.account_id)
                    .bind(a.number)
                    .bind(now)
                    .bind(if a.outcome.is_ok() {
                        "succeeded"
                    } else {
                        "failed"
                    })
                    .bind(a.outcome.as_ref().err().map_or("", String::as_str));
            }
            q.execute(&mut *conn).await?;
            // Past due while any invoice is; a success can clear it.
            let sql = format!(
                "UPDATE accounts SET past_due = EXISTS \
                 (SELECT 1 FROM invoices i WHERE i.account_id = accounts.id AND i.status = 'past_due') \
                 WHERE id IN ({})",
                Backend::of(conn).marks_from(1, batch.len())
            );
            let mut q = sqlx::query(&sql);
            for a in batch {
                q = q.bind(&a.due.invoice.account_id);
            }
            q.execute(&mut *conn).await?;
        }
        let events: Vec<_> = recorded
            .iter()
            .map(|a| {
                let invoice = &a.due.invoice;
                let (kind, detail) = match &a.outcome {
                    Ok(_) => (
                        AuditKind::ChargeSucceeded,
                        format!("{} charged (attempt {})", invoice.amount, a.number),
                    ),
                    Err(reason) => (
                        AuditKind::ChargeFailed,
                        format!("attempt {}: {reason}", a.number),
                    ),
                };
                let event = Event {
                    account_id: Some(&invoice.account_id),
                    target: Some(&invoice.number),
                    detail,
                    ..Default::default()
                };
                (kind, event)
            })
            .collect();
        record_many(conn, now, &events).await?;
        let emails: Vec<Email> = recorded.iter().filter_map(failure_email).collect();
        Ok(self.auth.outbox.queue_many(conn, &emails).await?)
    }

    /// Delivers messages just queued and committed (a failure is left to the worker).
    async fn deliver(&self, ids: &[String]) {
        for id in ids {
            self.auth.outbox.deliver_queued(id).await;
        }
    }

    /// Charges the failed invoices whose retry is due (the scheduler calls this); returns how
    /// many attempts were recorded.
    pub async fn retry_due(&self) -> Result<u64, BillingError> {
        let charges = self.charge(Due::RetriesBy(self.now())).await?;
        self.deliver(&charges.mail).await;
        Ok(charges.paid + charges.failed)
    }

    /// A new card: charge the account's unpaid invoices now (failed or past due).
    pub async fn charge_unpaid(&self, account_id: &str) -> Result<(), BillingError> {
        let charges = self.charge(Due::Unpaid(account_id)).await?;
        // Only what this charge queued: a card saved in a request does not work through the
        // outbox's backlog (the worker does).
        self.deliver(&charges.mail).await;
        Ok(())
    }

    /// Emails a copy of an invoice to the account's billing contact (a billing admin asked).
    /// `None` when the account has no such invoice; `Some("")` when it has no billing contact.
    pub async fn send_copy(
        &self,
        account_id: &str,
        invoice_id: &str,
    ) -> Result<Option<String>, BillingError> {
        let pool = self.auth.db.pool();
        let Some(row) = sqlx::query(&format!(
            "SELECT {INVOICE_COLUMNS}, b.contact_email FROM invoices i \
             LEFT JOIN billing_info b ON b.account_id = i.account_id WHERE i.id = $1 AND i.account_id = $2"
        ))
        .bind(invoice_id)
        .bind(account_id)
        .fetch_optional(pool)
        .await?
        else {
            return Ok(None);
        };
        let Some(to) = row.get::<Option<String>, _>("contact_email") else {
            return Ok(Some(String::new()));
        };
        let invoice = invoice_of(&row);
        let mut tx = pool.begin().await?;
        let id = self
            .auth
            .outbox
            .queue(&mut *tx, &self.invoice_email(&invoice, &to, true))
            .await?;
        record_many(&mut tx, self.now(), &[emailed(&invoice, &to)]).await?;
        tx.commit().await?;
        self.deliver(&[id]).await;
        Ok(Some(to))
    }

    /// Every month that has ended since the first account was created and is not invoiced for
    /// every account: what a server that was down missed. Oldest first.
    pub async fn months_to_catch_up(&self) -> Result<Vec<BillingMonth>, BillingError> {
        let pool = self.auth.db.pool();
        let first: Option<i64> = sqlx::query_scalar("SELECT MIN(created_at) FROM accounts")
            .fetch_one(pool)
            .await?;
        let Some(first) = first.and_then(date_of_millis) else {
            return Ok(Vec::new());
        };
        let today = self.auth.clock.today();
        let current = BillingMonth::containing(today);
        let mut month = BillingMonth::containing(first);
        let mut due = Vec::new();
        while month < current {
            let missing: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM accounts a WHERE a.created_at < $1 AND NOT EXISTS \
                 (SELECT 1 FROM invoices i WHERE i.account_id = a.id AND i.month = $2 AND i.status <> 'open')",
            )
            .bind(month.end_millis())
            .bind(month.to_string())
            .fetch_one(pool)
            .await?;
            if missing > 0 {
                due.push(month);
            }
            month = month.next();
        }
        Ok(due)
    }

    /// Tells each billing contact whose card on file expires before the next charge, once
    /// per card and charge date (spec §8); returns how many were told.
    pub async fn warn_expiring_cards(&self) -> Result<u64, BillingError> {
        let charge = next_charge_date(self.auth.clock.today());
        let charge_key = charge.to_string();
        // Exact in SQL too: a card is good to the end of its month, so it expires before a
        // charge exactly when its month comes before the charge's.
        let months = |year: i32, month: u32| i64::from(year) * 12 + i64::from(month);
        let rows = sqlx::query(
            "SELECT p.account_id, p.brand, p.last4, p.exp_month, p.exp_year, b.contact_email, b.company_name \
             FROM payment_methods p JOIN billing_info b ON b.account_id = p.account_id \
             WHERE p.exp_year * 12 + p.exp_month < $1 \
             AND (p.expiry_warned_for IS NULL OR p.expiry_warned_for <> $2) ORDER BY p.account_id",
        )
        .bind(months(charge.year(), charge.month()))
        .bind(&charge_key)
        .fetch_all(self.auth.db.pool())
        .await?;
        let mut warned = 0;
        for chunk in rows.chunks(CHUNK) {
            let now = self.now();
            let mut tx = self.auth.db.pool().begin().await?;
            let mut told = Vec::new();
            for r in chunk {
                let account: String = r.get("account_id");
                let expiry = Expiry::from_parts(
                    r.get::<i64, _>("exp_year") as i32,
                    r.get::<i64, _>("exp_month") as u32,
                );
                let Some(expiry) = expiry.filter(|e| e.expires_before(charge)) else {
                    continue;
                };
                let claimed = sqlx::query(
                    "UPDATE payment_methods SET expiry_warned_for = $1 WHERE account_id = $2 \
                     AND (expiry_warned_for IS NULL OR expiry_warned_for <> $1)",
                )
                .bind(&charge_key)
                .bind(&account)
                .execute(&mut *tx)
                .await?;
                if claimed.rows_affected() == 1 {
                    told.push((account, expiry, r));
                }
            }
            let emails: Vec<Email> = told
                .iter()
                .map(|(_, expiry, r)| {
                    let card = format!(
                        "{} •••• {}",
                        Brand::from_code(&r.get::<String, _>("brand"))
                            .map_or("Card", Brand::display_name),
                        r.get::<String, _>("last4")
                    );
                    let text = format!(
                        "The card on file for {} ({card}) expires at the end of {}, before the next charge on {}. \
                         To keep paying without interruption, save a new card: open Payments in Tally, or {}/billing/payment",
                        r.get::<String, _>("company_name"),
                        expiry.last_valid_day().format("%B %Y"),
                        charge.format("%B %-d, %Y"),
                        self.auth.settings.public_url
                    );
                    paragraph_email(
                        &r.get::<String, _>("contact_email"),
                        "Your card on file expires before the next Tally charge",
                        &[&text],
                    )
                })
                .collect();
            let events: Vec<_> = told
                .iter()
                .zip(&emails)
                .map(|((account, _, _), email)| {
                    let event = Event {
                        account_id: Some(account.as_str()),
                        target: Some(email.to.as_str()),
                        detail: format!("next charge {charge_key}"),
                        ..Default::default()
                    };
                    (AuditKind::CardExpiryWarned, event)
                })
                .collect();
            self.auth.outbox.queue_many(&mut tx, &emails).await?;
            record_many(&mut tx, now, &events).await?;
            tx.commit().await?;
            warned += told.len() as u64;
        }
        Ok(warned)
    }

    /// The scheduler's work: catch up on months that ended, then due retries.
    pub async fn tick(&self) -> Result<(), BillingError> {
        for month in self.months_to_catch_up().await? {
            let report = self.run_month(month).await?;
            tracing::info!(?report, "billing run");
        }
        self.retry_due().await?;
        self.warn_expiring_cards().await?;
        self.auth.outbox.deliver_due().await?;
        Ok(())
    }
}
