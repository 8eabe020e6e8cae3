//! The monthly billing run (spec §5): one invoice per account and month, charged through the
//! payment gateway, retried on the schedule, emailed.
//!
//! Safe to repeat, to interrupt at any point and to run in several processes at once:
//! - the invoice is an `INSERT … ON CONFLICT (account_id, month) DO NOTHING`;
//! - each charge attempt's idempotency key is derived from the invoice and the attempt number,
//!   and the number only moves on once the attempt's outcome is recorded, so a process killed
//!   after the gateway charged and before it recorded retries with the same key and the
//!   gateway answers with the first charge instead of charging again;
//! - outcomes are recorded with `WHERE attempts = <n − 1>`, so of two processes that tried the
//!   same attempt only one records it (and sends its email).
//! - invoice emails are sent, then marked: at least once, never lost.

use std::sync::Arc;

use sqlx::Row;
use tally_core::{
    audit::AuditKind,
    billing::{
        date_of_millis, date_start_millis, peak_users, AfterFailure, BillingMonth, CountChange,
        Plan, RetrySchedule,
    },
    money::Money,
    roles::Role,
};

use crate::{
    audit::{record, Event},
    auth::Auth,
    crypto::new_id,
    gateway::{CardToken, GatewayError, PaymentGateway},
    mail::{html_escape, Email},
};

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
    status: String,
    attempts: i64,
    first_failure_at: Option<i64>,
    emailed: bool,
}

fn invoice_of(r: &sqlx::any::AnyRow) -> Invoice {
    Invoice {
        id: r.get("id"),
        account_id: r.get("account_id"),
        number: r.get("number"),
        month: r.get("month"),
        amount: Money::from_cents(r.get("amount_cents")),
        status: r.get("status"),
        attempts: r.get("attempts"),
        first_failure_at: r.get("first_failure_at"),
        emailed: r.get::<Option<i64>, _>("emailed_at").is_some(),
    }
}

/// How long a claim to send an invoice email holds.
const EMAIL_CLAIM_MILLIS: i64 = 5 * 60_000;

const INVOICE_COLUMNS: &str =
    "id, account_id, number, month, amount_cents, status, attempts, first_failure_at, emailed_at";

impl Invoicing {
    fn now(&self) -> i64 {
        self.auth.clock.now_millis()
    }

    fn plan(&self) -> Plan {
        Plan::per_user(self.auth.settings.price_per_user)
    }

    /// Invoices every account for `month` (which must be over), then charges and emails what is
    /// still to do for that month. Repeating it changes nothing that is done.
    pub async fn run_month(&self, month: BillingMonth) -> Result<RunReport, BillingError> {
        let now = self.now();
        if month.end_millis() > now {
            return Err(BillingError::MonthNotOver(month.to_string()));
        }
        let pool = self.auth.db.pool();
        let mut report = RunReport {
            month: month.to_string(),
            ..Default::default()
        };
        let accounts: Vec<(String, String)> = sqlx::query_as(
            "SELECT id, name FROM accounts WHERE created_at < $1 ORDER BY created_at, id",
        )
        .bind(month.end_millis())
        .fetch_all(pool)
        .await?;
        record(
            pool,
            now,
            AuditKind::BillingRun,
            Event {
                detail: format!("{month}: {} accounts", accounts.len()),
                ..Default::default()
            },
        )
        .await?;
        for (account_id, name) in accounts {
            report.accounts += 1;
            if self.create_invoice(&account_id, &name, month).await? {
                report.invoices_created += 1;
            }
            let row = sqlx::query(&format!(
                "SELECT {INVOICE_COLUMNS} FROM invoices WHERE account_id = $1 AND month = $2"
            ))
            .bind(&account_id)
            .bind(month.to_string())
            .fetch_one(pool)
            .await?;
            let invoice = invoice_of(&row);
            if !invoice.emailed {
                self.email_invoice(&invoice, None).await?;
            }
            if invoice.status == "open" {
                match self.charge(&invoice).await? {
                    Some(true) => report.charged += 1,
                    Some(false) => report.failed += 1,
                    None => {}
                }
            }
        }
        Ok(report)
    }

    /// Creates the account's invoice for `month` unless it exists; true when this call made it.
    async fn create_invoice(
        &self,
        account_id: &str,
        name: &str,
        month: BillingMonth,
    ) -> Result<bool, BillingError> {
        let pool = self.auth.db.pool();
        let changes: Vec<CountChange> = sqlx::query_as::<_, (i64, i64)>(
            "SELECT at, delta FROM user_count_changes WHERE account_id = $1 AND at < $2",
        )
        .bind(account_id)
        .bind(month.end_millis())
        .fetch_all(pool)
        .await?
        .into_iter()
        .map(|(at_millis, delta)| CountChange { at_millis, delta })
        .collect();
        let plan = self.plan();
        let peak = peak_users(&changes, month);
        let amount = plan
            .invoice_amount(peak)
            .unwrap_or(Money::from_cents(i64::MAX));
        let contact: Option<(String, String)> = sqlx::query_as(
            "SELECT company_name, contact_email FROM billing_info WHERE account_id = $1",
        )
        .bind(account_id)
        .fetch_optional(pool)
        .await?;
        let now = self.now();
        let id = new_id();
        let number = format!(
            "{}-{}",
            month,
            &account_id
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .take(6)
                .collect::<String>()
                .to_uppercase()
        );
        let mut tx = pool.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO invoices (id, account_id, number, month, peak_users, free_users, price_per_user_cents, amount_cents, status, \
             company_name, contact_email, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
             ON CONFLICT (account_id, month) DO NOTHING",
        )
        .bind(&id)
        .bind(account_id)
        .bind(&number)
        .bind(month.to_string())
        .bind(peak as i64)
        .bind(plan.free_users as i64)
        .bind(plan.price_per_user.cents())
        .bind(amount.cents())
        .bind(if amount.cents() == 0 { "zero" } else { "open" })
        .bind(contact.as_ref().map_or(name, |c| c.0.as_str()))
        .bind(contact.as_ref().map(|c| c.1.clone()))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            return Ok(false);
        }
        record(
            &mut *tx,
            now,
            AuditKind::InvoiceCreated,
            Event {
                account_id: Some(account_id),
                target: Some(&number),
                detail: format!("{month}: peak {peak} users, {amount}"),
                ..Default::default()
            },
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Who gets an invoice: the billing contact and the billing admins who opted in; each once.
    async fn invoice_recipients(&self, account_id: &str) -> Result<Vec<String>, BillingError> {
        let pool = self.auth.db.pool();
        let mut to: Vec<String> =
            sqlx::query_scalar("SELECT contact_email FROM billing_info WHERE account_id = $1")
                .bind(account_id)
                .fetch_optional(pool)
                .await?
                .into_iter()
                .collect();
        let admins = sqlx::query(
            "SELECT email, role FROM admins WHERE account_id = $1 AND status = 'active' AND receives_invoices = TRUE ORDER BY created_at",
        )
        .bind(account_id)
        .fetch_all(pool)
        .await?;
        for r in admins {
            let email: String = r.get("email");
            let billing =
                Role::from_code(&r.get::<String, _>("role")).is_some_and(Role::has_billing);
            if billing && !to.iter().any(|t| t.eq_ignore_ascii_case(&email)) {
                to.push(email);
            }
        }
        Ok(to)
    }

    /// Emails the invoice (all recipients, or just `only` for a requested copy), then marks it.
    /// A run first claims the sending, so runs in parallel send it once; a claim left by a
    /// process killed mid-send lapses after [`EMAIL_CLAIM_MILLIS`] and a later run sends it.
    async fn email_invoice(
        &self,
        invoice: &Invoice,
        only: Option<&str>,
    ) -> Result<(), BillingError> {
        let pool = self.auth.db.pool();
        if only.is_none() {
            let now = self.now();
            let claimed = sqlx::query(
                "UPDATE invoices SET email_claimed_at = $1 WHERE id = $2 AND emailed_at IS NULL \
                 AND (email_claimed_at IS NULL OR email_claimed_at < $3)",
            )
            .bind(now)
            .bind(&invoice.id)
            .bind(now - EMAIL_CLAIM_MILLIS)
            .execute(pool)
            .await?;
            if claimed.rows_affected() == 0 {
                return Ok(());
            }
        }
        let to = match only {
            Some(one) => vec![one.to_string()],
            None => self.invoice_recipients(&invoice.account_id).await?,
        };
        let url = format!(
            "{}/billing/invoices/{}",
            self.auth.settings.public_url, invoice.id
        );
        let subject = if only.is_some() {
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
        let now = self.now();
        for recipient in &to {
            let mail = Email {
                to: recipient.clone(),
                subject: subject.clone(),
                text: format!("{body}\n\nView or download it: {url}\n\n— Tally\n"),
                html: format!(
                    "<!doctype html><html><body style=\"font-family:system-ui,sans-serif;line-height:1.5\">\
                     <p>{}</p><p><a href=\"{}\">View or download the invoice</a></p><p>— Tally</p></body></html>",
                    html_escape(&body),
                    html_escape(&url)
                ),
            };
            match self.auth.outbox.send(&mail).await {
                Ok(()) => {
                    record(
                        pool,
                        now,
                        AuditKind::InvoiceEmailed,
                        Event {
                            account_id: Some(&invoice.account_id),
                            target: Some(recipient),
                            detail: invoice.number.clone(),
                            ..Default::default()
                        },
                    )
                    .await?;
                }
                Err(e) => {
                    tracing::error!(error = %e, invoice = %invoice.number, "invoice email not queued");
                    if only.is_none() {
                        // Not marked, and the claim is let go: the next run sends it again.
                        sqlx::query("UPDATE invoices SET email_claimed_at = NULL WHERE id = $1")
                            .bind(&invoice.id)
                            .execute(pool)
                            .await?;
                        return Ok(());
                    }
                }
            }
        }
        if only.is_none() {
            sqlx::query("UPDATE invoices SET emailed_at = $1 WHERE id = $2 AND emailed_at IS NULL")
                .bind(now)
                .bind(&invoice.id)
                .execute(pool)
                .await?;
        }
        Ok(())
    }

    /// One charge attempt. `Some(true)` paid, `Some(false)` failed, `None` when another process
    /// recorded this attempt first (or nothing was due).
    async fn charge(&self, invoice: &Invoice) -> Result<Option<bool>, BillingError> {
        let pool = self.auth.db.pool();
        if invoice.amount.cents() <= 0 {
            return Ok(None);
        }
        let attempt = invoice.attempts + 1;
        let key = format!("invoice-{}-attempt-{attempt}", invoice.id);
        let token: Option<String> =
            sqlx::query_scalar("SELECT gateway_token FROM payment_methods WHERE account_id = $1")
                .bind(&invoice.account_id)
                .fetch_optional(pool)
                .await?;
        let outcome = match token {
            None => Err("There is no payment method on file.".to_string()),
            Some(t) => match self
                .gateway
                .charge(&CardToken(t), invoice.amount, &key)
                .await
            {
                Ok(receipt) => Ok(receipt.id),
                Err(GatewayError::Declined(d)) => Err(d.message().to_string()),
                Err(e @ GatewayError::Unavailable(_)) => {
                    // Nothing happened at the processor: not an attempt; the next run tries again.
                    tracing::warn!(error = %e, invoice = %invoice.number, "charge not attempted");
                    return Ok(None);
                }
            },
        };
        let now = self.now();
        let mut tx = pool.begin().await?;
        let (recorded, paid) = match &outcome {
            Ok(charge_id) => {
                let r = sqlx::query(
                    "UPDATE invoices SET status = 'paid', charge_id = $1, paid_at = $2, attempts = $3, next_attempt_at = NULL \
                     WHERE id = $4 AND attempts = $5 AND status IN ('open', 'failed', 'past_due')",
                )
                .bind(charge_id)
                .bind(now)
                .bind(attempt)
                .bind(&invoice.id)
                .bind(invoice.attempts)
                .execute(&mut *tx)
                .await?;
                (r.rows_affected() == 1, true)
            }
            Err(_) => {
                let first_failure = invoice.first_failure_at.unwrap_or(now);
                let first_day = date_of_millis(first_failure).expect("a representable date");
                let (status, next) = match self.retry.after_failure(first_day, attempt as u32) {
                    AfterFailure::RetryOn(day) => ("failed", Some(date_start_millis(day))),
                    AfterFailure::PastDue => ("past_due", None),
                };
                let r = sqlx::query(
                    "UPDATE invoices SET status = $1, attempts = $2, first_failure_at = $3, next_attempt_at = $4 \
                     WHERE id = $5 AND attempts = $6 AND status IN ('open', 'failed', 'past_due')",
                )
                .bind(status)
                .bind(attempt)
                .bind(first_failure)
                .bind(next)
                .bind(&invoice.id)
                .bind(invoice.attempts)
                .execute(&mut *tx)
                .await?;
                (r.rows_affected() == 1, false)
            }
        };
        if !recorded {
            return Ok(None);
        }
        sqlx::query("INSERT INTO charge_attempts (id, invoice_id, account_id, attempt, at, outcome, message) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(new_id())
            .bind(&invoice.id)
            .bind(&invoice.account_id)
            .bind(attempt)
            .bind(now)
            .bind(if paid { "succeeded" } else { "failed" })
            .bind(outcome.as_ref().err().cloned().unwrap_or_default())
            .execute(&mut *tx)
            .await?;
        // Past due while any invoice is; a success can clear it.
        sqlx::query(
            "UPDATE accounts SET past_due = EXISTS (SELECT 1 FROM invoices WHERE account_id = $1 AND status = 'past_due') WHERE id = $1",
        )
        .bind(&invoice.account_id)
        .execute(&mut *tx)
        .await?;
        record(
            &mut *tx,
            now,
            if paid {
                AuditKind::ChargeSucceeded
            } else {
                AuditKind::ChargeFailed
            },
            Event {
                account_id: Some(&invoice.account_id),
                target: Some(&invoice.number),
                detail: match &outcome {
                    Ok(_) => format!("{} charged (attempt {attempt})", invoice.amount),
                    Err(reason) => format!("attempt {attempt}: {reason}"),
                },
                ..Default::default()
            },
        )
        .await?;
        tx.commit().await?;
        if let Err(reason) = outcome {
            self.email_failure(invoice, attempt, &reason).await?;
        }
        Ok(Some(paid))
    }

    /// Tells the billing contact a charge failed, and what happens next.
    async fn email_failure(
        &self,
        invoice: &Invoice,
        attempt: i64,
        reason: &str,
    ) -> Result<(), BillingError> {
        let pool = self.auth.db.pool();
        let contact: Option<String> =
            sqlx::query_scalar("SELECT contact_email FROM billing_info WHERE account_id = $1")
                .bind(&invoice.account_id)
                .fetch_optional(pool)
                .await?;
        let Some(to) = contact else { return Ok(()) };
        let next: Option<i64> =
            sqlx::query_scalar("SELECT next_attempt_at FROM invoices WHERE id = $1")
                .bind(&invoice.id)
                .fetch_one(pool)
                .await?;
        let what_next = match next.and_then(date_of_millis) {
            Some(day) => format!("We'll try again on {}.", day.format("%B %-d, %Y")),
            None => "That was the last try: the account is now past due. Saving a new card in Tally charges the invoice again.".into(),
        };
        let text = format!(
            "We couldn't charge {} for invoice {} ({}), attempt {attempt}: {reason} {what_next} To update the card, open Payments in Tally.",
            invoice.amount, invoice.number, invoice.month
        );
        let mail = Email {
            to,
            subject: format!("Payment failed for Tally invoice {}", invoice.number),
            text: format!("{text}\n\n— Tally\n"),
            html: format!(
                "<!doctype html><html><body style=\"font-family:system-ui,sans-serif;line-height:1.5\"><p>{}</p><p>— Tally</p></body></html>",
                html_escape(&text)
            ),
        };
        if let Err(e) = self.auth.outbox.send(&mail).await {
            tracing::error!(error = %e, invoice = %invoice.number, "payment failed email not queued");
        }
        Ok(())
    }

    /// Charges the failed invoices whose retry is due (the scheduler calls this).
    pub async fn retry_due(&self) -> Result<u64, BillingError> {
        let rows = sqlx::query(&format!(
            "SELECT {INVOICE_COLUMNS} FROM invoices WHERE status = 'failed' AND next_attempt_at <= $1 ORDER BY next_attempt_at"
        ))
        .bind(self.now())
        .fetch_all(self.auth.db.pool())
        .await?;
        let mut n = 0;
        for r in &rows {
            if self.charge(&invoice_of(r)).await?.is_some() {
                n += 1;
            }
        }
        Ok(n)
    }

    /// A new card: charge the account's unpaid invoices now (failed or past due).
    pub async fn charge_unpaid(&self, account_id: &str) -> Result<(), BillingError> {
        let rows = sqlx::query(&format!(
            "SELECT {INVOICE_COLUMNS} FROM invoices WHERE account_id = $1 AND status IN ('failed', 'past_due') ORDER BY month"
        ))
        .bind(account_id)
        .fetch_all(self.auth.db.pool())
        .await?;
        for r in &rows {
            self.charge(&invoice_of(r)).await?;
        }
        Ok(())
    }

    /// Emails a copy of an invoice to the account's billing contact (a billing admin asked).
    pub async fn send_copy(
        &self,
        account_id: &str,
        invoice_id: &str,
    ) -> Result<Option<String>, BillingError> {
        let pool = self.auth.db.pool();
        let Some(row) = sqlx::query(&format!(
            "SELECT {INVOICE_COLUMNS} FROM invoices WHERE id = $1 AND account_id = $2"
        ))
        .bind(invoice_id)
        .bind(account_id)
        .fetch_optional(pool)
        .await?
        else {
            return Ok(None);
        };
        let contact: Option<String> =
            sqlx::query_scalar("SELECT contact_email FROM billing_info WHERE account_id = $1")
                .bind(account_id)
                .fetch_optional(pool)
                .await?;
        let Some(to) = contact else {
            return Ok(Some(String::new()));
        };
        self.email_invoice(&invoice_of(&row), Some(&to)).await?;
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
                 (SELECT 1 FROM invoices i WHERE i.account_id = a.id AND i.month = $2 AND (i.emailed_at IS NOT NULL) \
                  AND i.status <> 'open')",
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

    /// The scheduler's work: catch up on months that ended, then due retries.
    pub async fn tick(&self) -> Result<(), BillingError> {
        for month in self.months_to_catch_up().await? {
            let report = self.run_month(month).await?;
            tracing::info!(?report, "billing run");
        }
        self.retry_due().await?;
        Ok(())
    }
}
