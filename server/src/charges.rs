//! Charging invoices through the payment gateway: a month's new invoices (the billing run),
//! retries on the schedule (the scheduler), and an account's unpaid invoices when a new card
//! is saved. Failed charges email the billing contact; after the last retry the account is
//! past due.
//!
//! Safe to repeat, to interrupt and to run in several processes at once:
//! - each charge attempt's idempotency key is derived from the invoice and the attempt number,
//!   and the number only moves on once the attempt's outcome is recorded, so a process killed
//!   after the gateway charged and before it recorded retries with the same key and the
//!   gateway answers with the first charge instead of charging again;
//! - outcomes are recorded with `WHERE attempts = <n − 1>`, so of two processes that tried the
//!   same attempt only one records it (and queues its email).

use futures::TryStreamExt;
use sqlx::AnyConnection;
use tally_core::{
    audit::AuditKind,
    billing::{date_of_millis, date_start_millis, AfterFailure, RetrySchedule},
    money::Money,
    NaiveDate,
};

use crate::{
    audit::{record_many, Event},
    billing_info,
    billing_run::CHUNK,
    context::Context,
    db::{Backend, ROWS_PER_STATEMENT},
    emails,
    error::{Context as _, ServiceError},
    gateway::{CardToken, ChargeReceipt, ChargeRequest, GatewayError},
    mail::Email,
};

/// What an attempt waiting for the cardholder's bank says, in the attempts list and the audit.
pub const AUTHENTICATION_NEEDED: &str =
    "the card's bank asks the cardholder to confirm this payment";

/// An invoice to charge, with the card and the billing contact the charge needs.
#[derive(sqlx::FromRow)]
struct ToCharge {
    id: String,
    account_id: String,
    number: String,
    month: String,
    amount_cents: i64,
    attempts: i64,
    first_failure_at: Option<i64>,
    gateway_token: Option<String>,
    contact_email: Option<String>,
}

/// A charge attempt whose outcome this process recorded.
struct Attempt<'a> {
    due: &'a ToCharge,
    /// 1 for the first attempt.
    number: i64,
    /// The charge's id, why it failed, or the payment waiting for authentication.
    outcome: Outcome,
    /// After a failure with retries left: the day of the next one.
    next_attempt: Option<NaiveDate>,
}

/// The emails telling the billing contact (and the billing administrators who opted in to
/// invoices, `opted_in`) that an attempt failed, and what happens next.
fn failure_emails(a: &Attempt<'_>, opted_in: Option<&Vec<String>>, ctx: &Context) -> Vec<Email> {
    let invoice = a.due;
    let amount = Money::from_cents(invoice.amount_cents).to_string();
    let facts = emails::InvoiceFacts {
        number: &invoice.number,
        month: &invoice.month,
        amount: &amount,
        nothing_due: false,
    };
    let reason = match &a.outcome {
        Outcome::Paid(_) => return Vec::new(),
        Outcome::NeedsAuthentication(_) => {
            let link = ctx.link(&format!("/billing/authenticate/{}", invoice.number));
            return billing_info::recipients(invoice.contact_email.as_deref(), opted_in)
                .iter()
                .map(|to| emails::authentication_needed(to, &facts, &link))
                .collect();
        }
        Outcome::Failed(reason) => reason,
    };
    let failed = emails::FailedCharge {
        invoice: &facts,
        attempt: a.number,
        reason,
        next_attempt: a
            .next_attempt
            .map(|day| day.format("%B %-d, %Y").to_string()),
    };
    billing_info::recipients(invoice.contact_email.as_deref(), opted_in)
        .iter()
        .map(|to| emails::payment_failed(to, &failed))
        .collect()
}

/// What charging some invoices did: the attempts this process recorded, and the
/// payment-failed emails it queued.
#[derive(Default)]
pub struct Charges {
    pub paid: u64,
    pub failed: u64,
    pub mail: Vec<String>,
}

/// Which invoices to charge.
pub enum Due<'a> {
    /// A month's invoices not charged yet.
    Month(&'a str),
    /// Failed invoices whose retry is due by this time.
    RetriesBy(i64),
    /// An account's failed and past-due invoices (a new card was saved).
    Unpaid(&'a str),
}

/// What one charge attempt came to.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// The charge's id.
    Paid(String),
    /// Why it failed, as the person paying reads it.
    Failed(String),
    /// The processor's payment, waiting for the cardholder's bank.
    NeedsAuthentication(String),
}

impl Outcome {
    fn is_paid(&self) -> bool {
        matches!(self, Outcome::Paid(_))
    }
}

/// An attempt's outcome from the gateway's answer; `None` when the processor could not be
/// reached (not an attempt: the next run tries again).
fn outcome(answer: Result<ChargeReceipt, GatewayError>, number: &str) -> Option<Outcome> {
    match answer {
        Ok(receipt) => Some(Outcome::Paid(receipt.id)),
        Err(GatewayError::Declined(d)) => Some(Outcome::Failed(d.message().to_string())),
        Err(GatewayError::NeedsAuthentication(id)) => Some(Outcome::NeedsAuthentication(id)),
        Err(e @ (GatewayError::Unavailable(_) | GatewayError::NotFound)) => {
            tracing::warn!(error = %e, invoice = %number, "charge not attempted");
            None
        }
    }
}

/// Charges invoices.
#[derive(Clone)]
pub struct Charging {
    ctx: Context,
    retry: RetrySchedule,
}

impl Charging {
    pub fn new(ctx: Context, retry: RetrySchedule) -> Self {
        Self { ctx, retry }
    }

    /// Charges the invoices `due` selects, a chunk at a time.
    pub async fn charge(&self, due: Due<'_>) -> Result<Charges, ServiceError> {
        let filter = match due {
            Due::Month(_) => "i.month = $1 AND i.status = 'open'",
            Due::RetriesBy(_) => "i.status = 'failed' AND i.next_attempt_at <= $1",
            Due::Unpaid(_) => {
                "i.account_id = $1 AND i.status IN ('failed', 'past_due', 'action_required')"
            }
        };
        let sql = format!(
            "SELECT i.id, i.account_id, i.number, i.month, i.amount_cents, i.attempts, i.first_failure_at, \
             p.gateway_token, {} AS contact_email FROM invoices i \
             LEFT JOIN payment_methods p ON p.account_id = i.account_id \
             WHERE {filter} AND i.amount_cents > 0 ORDER BY i.account_id, i.month",
            billing_info::contact_email_sql("i.account_id")
        );
        let q = sqlx::query_as::<_, ToCharge>(&sql);
        let q = match due {
            Due::Month(month) => q.bind(month),
            Due::RetriesBy(at) => q.bind(at),
            Due::Unpaid(account) => q.bind(account),
        };
        let due: Vec<ToCharge> = q
            .fetch(self.ctx.db.pool())
            .try_collect()
            .await
            .context("reading the invoices to charge")?;
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
    async fn charge_chunk(&self, due: &[ToCharge]) -> Result<Charges, ServiceError> {
        let requests: Vec<ChargeRequest> = due
            .iter()
            .filter_map(|d| {
                Some(ChargeRequest {
                    token: CardToken(d.gateway_token.clone()?),
                    amount: Money::from_cents(d.amount_cents),
                    idempotency_key: format!("invoice-{}-attempt-{}", d.id, d.attempts + 1),
                    invoice_id: Some(d.id.clone()),
                })
            })
            .collect();
        let mut answers = self.ctx.gateway.charge_many(&requests).await.into_iter();
        let outcomes: Vec<Option<Outcome>> = due
            .iter()
            .map(|d| match d.gateway_token {
                None => Some(Outcome::Failed(
                    "There is no payment method on file.".into(),
                )),
                Some(_) => outcome(answers.next().expect("one answer per request"), &d.number),
            })
            .collect();
        let now = self.ctx.now();
        let mut tx = self
            .ctx
            .db
            .pool()
            .begin()
            .await
            .context("recording charges")?;
        let mut recorded = Vec::new();
        for (d, outcome) in due.iter().zip(outcomes) {
            let Some(outcome) = outcome else { continue };
            if let Some(a) = self.record_outcome(&mut tx, d, outcome, now).await? {
                recorded.push(a);
            }
        }
        let opted_in = match (due.first(), due.last()) {
            (Some(first), Some(last)) => {
                billing_info::opted_in_between(
                    self.ctx.db.pool(),
                    &first.account_id,
                    &last.account_id,
                )
                .await?
            }
            _ => Default::default(),
        };
        let mail = self
            .record_attempts(&mut tx, &recorded, &opted_in, now)
            .await?;
        tx.commit().await.context("saving charge outcomes")?;
        let paid = recorded.iter().filter(|a| a.outcome.is_paid()).count() as u64;
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
        outcome: Outcome,
        now: i64,
    ) -> Result<Option<Attempt<'a>>, ServiceError> {
        let number = due.attempts + 1;
        let mut next_attempt = None;
        let recorded = match &outcome {
            // The schedule waits: no retry date until the cardholder has answered their bank.
            Outcome::NeedsAuthentication(payment) => sqlx::query(
                "UPDATE invoices SET status = 'action_required', charge_id = $1, attempts = $2, next_attempt_at = NULL \
                 WHERE id = $3 AND attempts = $4 AND status IN ('open', 'failed', 'past_due', 'action_required')",
            )
            .bind(payment)
            .bind(number)
            .bind(&due.id)
            .bind(due.attempts)
            .execute(&mut *conn)
            .await
            .context("recording a payment that needs authentication")?,
            Outcome::Paid(charge_id) => sqlx::query(
                "UPDATE invoices SET status = 'paid', charge_id = $1, paid_at = $2, attempts = $3, next_attempt_at = NULL \
                 WHERE id = $4 AND attempts = $5 AND status IN ('open', 'failed', 'past_due', 'action_required')",
            )
            .bind(charge_id)
            .bind(now)
            .bind(number)
            .bind(&due.id)
            .bind(due.attempts)
            .execute(&mut *conn)
            .await
            .context("recording a paid invoice")?,
            Outcome::Failed(_) => {
                let first_failure = due.first_failure_at.unwrap_or(now);
                let first_day = date_of_millis(first_failure).ok_or_else(|| {
                    ServiceError::invariant("recording a failed charge", "a date out of range")
                })?;
                let status = match self.retry.after_failure(first_day, number as u32) {
                    AfterFailure::RetryOn(day) => {
                        next_attempt = Some(day);
                        "failed"
                    }
                    AfterFailure::PastDue => "past_due",
                };
                sqlx::query(
                    "UPDATE invoices SET status = $1, attempts = $2, first_failure_at = $3, next_attempt_at = $4 \
                     WHERE id = $5 AND attempts = $6 AND status IN ('open', 'failed', 'past_due', 'action_required')",
                )
                .bind(status)
                .bind(number)
                .bind(first_failure)
                .bind(next_attempt.map(date_start_millis))
                .bind(&due.id)
                .bind(due.attempts)
                .execute(&mut *conn)
                .await
                .context("recording a failed charge")?
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
        opted_in: &std::collections::HashMap<String, Vec<String>>,
        now: i64,
    ) -> Result<Vec<String>, ServiceError> {
        for batch in recorded.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO charge_attempts (id, invoice_id, account_id, attempt, at, outcome, message) VALUES {}",
                Backend::of(conn).values_list(batch.len(), 7)
            );
            let mut q = sqlx::query(&sql);
            for a in batch {
                q = q
                    .bind(self.ctx.new_id())
                    .bind(&a.due.id)
                    .bind(&a.due.account_id)
                    .bind(a.number)
                    .bind(now)
                    .bind(match a.outcome {
                        Outcome::Paid(_) => "succeeded",
                        Outcome::Failed(_) => "failed",
                        Outcome::NeedsAuthentication(_) => "action_required",
                    })
                    .bind(match &a.outcome {
                        Outcome::Failed(reason) => reason.as_str(),
                        Outcome::NeedsAuthentication(_) => AUTHENTICATION_NEEDED,
                        Outcome::Paid(_) => "",
                    });
            }
            q.execute(&mut *conn)
                .await
                .context("recording charge attempts")?;
            // Past due while any invoice is; a success can clear it.
            let sql = format!(
                "UPDATE accounts SET past_due = EXISTS \
                 (SELECT 1 FROM invoices i WHERE i.account_id = accounts.id AND i.status = 'past_due') \
                 WHERE id IN ({})",
                Backend::of(conn).marks_from(1, batch.len())
            );
            let mut q = sqlx::query(&sql);
            for a in batch {
                q = q.bind(&a.due.account_id);
            }
            q.execute(&mut *conn)
                .await
                .context("updating past-due accounts")?;
        }
        let mut events: Vec<_> = recorded
            .iter()
            .map(|a| {
                let invoice = a.due;
                crate::metrics::charge(a.outcome.is_paid());
                let (kind, detail) = match &a.outcome {
                    Outcome::Paid(_) => (
                        AuditKind::ChargeSucceeded,
                        format!(
                            "{} charged (attempt {})",
                            Money::from_cents(invoice.amount_cents),
                            a.number
                        ),
                    ),
                    Outcome::Failed(reason) => (
                        AuditKind::ChargeFailed,
                        format!("attempt {}: {reason}", a.number),
                    ),
                    Outcome::NeedsAuthentication(_) => (
                        AuditKind::ChargeFailed,
                        format!("attempt {}: {AUTHENTICATION_NEEDED}", a.number),
                    ),
                };
                (
                    kind,
                    Event::system(&invoice.account_id, &invoice.number, detail),
                )
            })
            .collect();
        let mut emails: Vec<Email> = Vec::new();
        let mut about = Vec::new();
        for a in recorded {
            for email in failure_emails(a, opted_in.get(&a.due.account_id), &self.ctx) {
                about.push(a.due);
                emails.push(email);
            }
        }
        for (invoice, email) in about.iter().zip(&emails) {
            events.push((
                AuditKind::PaymentFailedEmailed,
                Event::system(&invoice.account_id, &email.to, invoice.number.clone()),
            ));
        }
        record_many(conn, now, &events)
            .await
            .context("auditing charges")?;
        self.ctx
            .outbox
            .queue_many(conn, &emails)
            .await
            .context("queueing payment-failed emails")
    }

    /// Delivers messages just queued and committed (a failure is left to the worker).
    async fn deliver(&self, ids: &[String]) {
        for id in ids {
            self.ctx.outbox.deliver_queued(id).await;
        }
    }

    /// Charges the failed invoices whose retry is due (the scheduler calls this); returns how
    /// many attempts were recorded.
    pub async fn retry_due(&self) -> Result<u64, ServiceError> {
        let charges = self.charge(Due::RetriesBy(self.ctx.now())).await?;
        self.deliver(&charges.mail).await;
        Ok(charges.paid + charges.failed)
    }

    /// A new card: charge the account's unpaid invoices now (failed or past due).
    pub async fn charge_unpaid(&self, account_id: &str) -> Result<(), ServiceError> {
        let charges = self.charge(Due::Unpaid(account_id)).await?;
        // Only what this charge queued: a card saved in a request does not work through the
        // outbox's backlog (the worker does).
        self.deliver(&charges.mail).await;
        Ok(())
    }

    /// Applies what the processor says of a payment Tally made (a webhook, or the page where a
    /// billing admin authenticated it): a success pays its invoice, a failure of one waiting
    /// for authentication puts the invoice on the retry schedule. Returns whether the invoice
    /// changed; a payment already applied changes nothing.
    pub async fn settle_payment(
        &self,
        invoice_id: &str,
        payment_id: &str,
        succeeded: bool,
    ) -> Result<bool, ServiceError> {
        let now = self.ctx.now();
        let mut tx = self
            .ctx
            .db
            .pool()
            .begin()
            .await
            .context("settling a payment")?;
        let row: Option<(String, String, i64, String, Option<i64>)> = sqlx::query_as(
            "SELECT account_id, number, attempts, status, first_failure_at FROM invoices WHERE id = $1",
        )
        .bind(invoice_id)
        .fetch_optional(&mut *tx)
        .await
        .context("reading a settled invoice")?;
        let Some((account_id, number, attempts, status, first_failure)) = row else {
            return Ok(false);
        };
        // Waiting for authentication, the attempt is already counted; otherwise (a run that
        // died before recording) this is the next one.
        let attempt = if status == "action_required" {
            attempts
        } else {
            attempts + 1
        };
        let (outcome, event) = if succeeded {
            let done = sqlx::query(
                "UPDATE invoices SET status = 'paid', charge_id = $1, paid_at = $2, attempts = $3, next_attempt_at = NULL \
                 WHERE id = $4 AND status IN ('open', 'failed', 'past_due', 'action_required')",
            )
            .bind(payment_id)
            .bind(now)
            .bind(attempt)
            .bind(invoice_id)
            .execute(&mut *tx)
            .await
            .context("recording a settled payment")?;
            if done.rows_affected() == 0 {
                return Ok(false);
            }
            (
                ("succeeded", String::new()),
                (
                    AuditKind::ChargeSucceeded,
                    format!("payment confirmed (attempt {attempt})"),
                ),
            )
        } else {
            if status != "action_required" {
                return Ok(false);
            }
            let first = first_failure.unwrap_or(now);
            let first_day = date_of_millis(first).ok_or_else(|| {
                ServiceError::invariant("settling a payment", "a date out of range")
            })?;
            let (status, next) = match self.retry.after_failure(first_day, attempt as u32) {
                AfterFailure::RetryOn(day) => ("failed", Some(date_start_millis(day))),
                AfterFailure::PastDue => ("past_due", None),
            };
            let done = sqlx::query(
                "UPDATE invoices SET status = $1, first_failure_at = $2, next_attempt_at = $3 \
                 WHERE id = $4 AND status = 'action_required'",
            )
            .bind(status)
            .bind(first)
            .bind(next)
            .bind(invoice_id)
            .execute(&mut *tx)
            .await
            .context("recording an unconfirmed payment")?;
            if done.rows_affected() == 0 {
                return Ok(false);
            }
            let reason = crate::gateway::Decline::NotConfirmed.message();
            (
                ("failed", reason.to_string()),
                (
                    AuditKind::ChargeFailed,
                    format!("attempt {attempt}: {reason}"),
                ),
            )
        };
        // The attempt waiting for authentication has its row: its outcome is now known.
        let sql = if status == "action_required" {
            "UPDATE charge_attempts SET at = $5, outcome = $6, message = $7 \
             WHERE invoice_id = $2 AND attempt = $4 AND account_id = $3 AND $1 <> ''"
        } else {
            "INSERT INTO charge_attempts (id, invoice_id, account_id, attempt, at, outcome, message) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)"
        };
        sqlx::query(sql)
            .bind(self.ctx.new_id())
            .bind(invoice_id)
            .bind(&account_id)
            .bind(attempt)
            .bind(now)
            .bind(outcome.0)
            .bind(&outcome.1)
            .execute(&mut *tx)
            .await
            .context("recording a settled attempt")?;
        sqlx::query(
            "UPDATE accounts SET past_due = EXISTS \
             (SELECT 1 FROM invoices i WHERE i.account_id = accounts.id AND i.status = 'past_due') \
             WHERE id = $1",
        )
        .bind(&account_id)
        .execute(&mut *tx)
        .await
        .context("updating a past-due account")?;
        crate::metrics::charge(succeeded);
        record_many(
            &mut tx,
            now,
            &[(event.0, Event::system(&account_id, &number, event.1))],
        )
        .await
        .context("auditing a settled payment")?;
        tx.commit().await.context("settling a payment")?;
        Ok(true)
    }
}
