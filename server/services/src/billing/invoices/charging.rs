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

use std::sync::Arc;

use futures::TryStreamExt;
use serde_json::json;
use sqlx::AnyConnection;
use tally_core::{
    audit::AuditKind,
    billing::{date_of_millis, date_start_millis, AfterFailure, InvoiceStatus, RetrySchedule},
    billing_contacts::Subscription,
    money::{Currency, Money},
    webhooks::WebhookEvent,
    NaiveDate,
};

use super::run::CHUNK;
use crate::platform::db::Code;
use crate::{
    billing::{
        cards,
        gateway::{CardToken, ChargeReceipt, ChargeRequest, Decline, GatewayError, PaymentGateway},
        info, settings,
    },
    identity::accounts,
    platform::{
        audit::Event,
        context::Context,
        db::{Backend, ROWS_PER_STATEMENT},
        error::{ResultExt, ServiceError},
        mail::{emails, Mail},
        metrics,
        webhooks::invoice_hook,
        work::Work,
    },
};

/// What an attempt waiting for the cardholder's bank says, in the attempts list and the audit.
pub const AUTHENTICATION_NEEDED: &str =
    "the card's bank asks the cardholder to confirm this payment";

/// How a charge attempt ended, as `charge_attempts.outcome` keeps it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AttemptOutcome {
    Succeeded,
    Failed,
    ActionRequired,
}

impl AttemptOutcome {
    fn code(self) -> &'static str {
        match self {
            AttemptOutcome::Succeeded => "succeeded",
            AttemptOutcome::Failed => "failed",
            AttemptOutcome::ActionRequired => "action_required",
        }
    }
}

/// An invoice to charge.
#[derive(sqlx::FromRow)]
struct ToCharge {
    id: String,
    account_id: String,
    number: String,
    month: String,
    amount_cents: i64,
    #[sqlx(try_from = "Code<Currency>")]
    currency: Currency,
    attempts: i64,
    first_failure_at: Option<i64>,
}

impl ToCharge {
    fn amount(&self) -> Money {
        Money::new(self.amount_cents, self.currency)
    }
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

/// The emails telling each of `to` (the billing contact and the billing administrators who
/// opted in to invoices) that an attempt failed, and what happens next.
fn failure_emails(
    a: &Attempt<'_>,
    to: &[String],
    contacts: &info::Lines,
    ctx: &Context,
) -> Vec<Mail> {
    let invoice = a.due;
    let facts = emails::InvoiceFacts {
        number: &invoice.number,
        month: &invoice.month,
        amount: invoice.amount(),
    };
    let reason = match &a.outcome {
        Outcome::Paid(_) => return Vec::new(),
        Outcome::NeedsAuthentication(_) => {
            let link = ctx.link(&format!("/billing/authenticate/{}", invoice.number));
            return info::addressed_mail(to, contacts, |to, w| {
                emails::authentication_needed(to, w, &facts, &link)
            });
        }
        Outcome::Failed(reason) => reason,
    };
    let failed = emails::FailedCharge {
        invoice: &facts,
        attempt: a.number,
        reason,
        next_attempt: a.next_attempt,
    };
    info::addressed_mail(to, contacts, |to, w| emails::payment_failed(to, w, &failed))
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
    /// An account's invoice of a month not charged yet (its last, when it closes).
    Account(&'a str, &'a str),
    /// One failed or past-due invoice of an account, now (the seller's staff asked).
    Invoice(&'a str, &'a str),
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
        Err(
            e @ (GatewayError::Unavailable(_) | GatewayError::NotFound | GatewayError::Refused(_)),
        ) => {
            tracing::warn!(error = %e, invoice = %number, "charge not attempted");
            None
        }
    }
}

/// The statuses as bound parameters `$first…` of a statement.
fn status_marks(first: usize, statuses: &[InvoiceStatus]) -> String {
    (0..statuses.len())
        .map(|i| format!("${}", first + i))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Charges invoices, retrying failed charges on the seller's schedule
/// ([`settings`](crate::billing::settings); 1, 3 and 7 days unless set).
#[derive(Clone)]
pub struct Charging {
    ctx: Context,
    gateway: Arc<dyn PaymentGateway>,
}

impl Charging {
    pub fn new(ctx: Context, gateway: Arc<dyn PaymentGateway>) -> Self {
        Self { ctx, gateway }
    }

    /// The retry schedule in force.
    async fn schedule(&self) -> Result<RetrySchedule, ServiceError> {
        Ok(settings::read(self.ctx.db.pool()).await?.retry)
    }

    /// Charges the invoices `due` selects, a chunk at a time.
    pub async fn charge(&self, due: Due<'_>) -> Result<Charges, ServiceError> {
        let (filter, statuses): (String, &[InvoiceStatus]) = match due {
            Due::Month(_) => (
                format!(
                    "month = $1 AND status IN ({})",
                    status_marks(2, &[InvoiceStatus::Open])
                ),
                &[InvoiceStatus::Open],
            ),
            Due::RetriesBy(_) => (
                format!(
                    "next_attempt_at <= $1 AND status IN ({})",
                    status_marks(2, &[InvoiceStatus::Failed])
                ),
                &[InvoiceStatus::Failed],
            ),
            Due::Unpaid(_) => {
                const UNPAID: [InvoiceStatus; 3] = [
                    InvoiceStatus::Failed,
                    InvoiceStatus::PastDue,
                    InvoiceStatus::ActionRequired,
                ];
                (
                    format!(
                        "account_id = $1 AND status IN ({})",
                        status_marks(2, &UNPAID)
                    ),
                    &UNPAID,
                )
            }
            Due::Account(..) => (
                format!(
                    "account_id = $1 AND month = $2 AND status IN ({})",
                    status_marks(3, &[InvoiceStatus::Open])
                ),
                &[InvoiceStatus::Open],
            ),
            Due::Invoice(..) => {
                const RETRYABLE: [InvoiceStatus; 2] =
                    [InvoiceStatus::Failed, InvoiceStatus::PastDue];
                (
                    format!(
                        "account_id = $1 AND id = $2 AND status IN ({})",
                        status_marks(3, &RETRYABLE)
                    ),
                    &RETRYABLE,
                )
            }
        };
        let sql = format!(
            "SELECT id, account_id, number, month, amount_cents, currency, attempts, first_failure_at FROM invoices \
             WHERE {filter} AND amount_cents > 0 ORDER BY account_id, month"
        );
        let q = sqlx::query_as::<_, ToCharge>(&sql);
        // A suspended account's billing administrators can still pay (a new card), and the
        // seller's staff can retry a charge; nothing else charges it.
        let paying = matches!(due, Due::Unpaid(_) | Due::Invoice(..));
        let mut q = match due {
            Due::Month(month) => q.bind(month),
            Due::RetriesBy(at) => q.bind(at),
            Due::Unpaid(account) => q.bind(account),
            Due::Account(account, month) => q.bind(account).bind(month),
            Due::Invoice(account, id) => q.bind(account).bind(id),
        };
        for status in statuses {
            q = q.bind(status.code());
        }
        let mut due: Vec<ToCharge> = q
            .fetch(self.ctx.db.pool())
            .try_collect()
            .await
            .context("reading the invoices to charge")?;
        if !paying {
            let suspended = accounts::suspended(self.ctx.db.pool()).await?;
            due.retain(|d| !suspended.contains(&d.account_id));
        }
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
        let (Some(first), Some(last)) = (due.first(), due.last()) else {
            return Ok(Charges::default());
        };
        let pool = self.ctx.db.pool();
        let cards = cards::tokens_between(pool, &first.account_id, &last.account_id).await?;
        let token = |d: &ToCharge| cards.get(&d.account_id).map(|(token, _)| token.clone());
        let requests: Vec<ChargeRequest> = due
            .iter()
            .filter_map(|d| {
                Some(ChargeRequest {
                    token: CardToken(token(d)?),
                    amount: d.amount(),
                    idempotency_key: format!("invoice-{}-attempt-{}", d.id, d.attempts + 1),
                    invoice_id: Some(d.id.clone()),
                })
            })
            .collect();
        let mut answers = self.gateway.charge_many(&requests).await.into_iter();
        let outcomes: Vec<Option<Outcome>> = due
            .iter()
            .map(|d| match token(d) {
                None => Some(Outcome::Failed(
                    "There is no payment method on file.".into(),
                )),
                Some(_) => outcome(answers.next().expect("one answer per request"), &d.number),
            })
            .collect();
        let billing = info::chunk(pool, &first.account_id, &last.account_id).await?;
        let retry = self.schedule().await?;
        let mut work = self.ctx.begin("recording charges").await?;
        let now = work.now();
        let mut recorded = Vec::new();
        for (d, outcome) in due.iter().zip(outcomes) {
            let Some(outcome) = outcome else { continue };
            if let Some(a) = Self::record_outcome(work.tx(), &retry, d, outcome, now).await? {
                recorded.push(a);
            }
        }
        self.record_attempts(&mut work, &recorded, &billing, now)
            .await?;
        let mail = work.commit_queued().await?.into_ids();
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
        conn: &mut AnyConnection,
        retry: &RetrySchedule,
        due: &'a ToCharge,
        outcome: Outcome,
        now: i64,
    ) -> Result<Option<Attempt<'a>>, ServiceError> {
        let number = due.attempts + 1;
        let mut next_attempt = None;
        // $1 the new status, $2 this attempt, $3 the invoice, $4 the attempts before it, then
        // the statuses a charge may move an invoice on from, then what the outcome sets.
        let statuses = InvoiceStatus::CHARGEABLE;
        let extra = 5 + statuses.len();
        let (status, sets) = match &outcome {
            // The schedule waits: no retry date until the cardholder has answered their bank.
            Outcome::NeedsAuthentication(_) => (
                InvoiceStatus::ActionRequired,
                format!("charge_id = ${extra}, next_attempt_at = NULL"),
            ),
            Outcome::Paid(_) => (
                InvoiceStatus::Paid,
                format!(
                    "charge_id = ${extra}, paid_at = ${}, next_attempt_at = NULL",
                    extra + 1
                ),
            ),
            Outcome::Failed(_) => {
                let first_failure = due.first_failure_at.unwrap_or(now);
                let first_day = date_of_millis(first_failure).ok_or_else(|| {
                    ServiceError::invariant("recording a failed charge", "a date out of range")
                })?;
                let status = match retry.after_failure(first_day, number as u32) {
                    AfterFailure::RetryOn(day) => {
                        next_attempt = Some(day);
                        InvoiceStatus::Failed
                    }
                    AfterFailure::PastDue => InvoiceStatus::PastDue,
                };
                (
                    status,
                    format!(
                        "first_failure_at = ${extra}, next_attempt_at = ${}",
                        extra + 1
                    ),
                )
            }
        };
        let sql = format!(
            "UPDATE invoices SET status = $1, attempts = $2, {sets} \
             WHERE id = $3 AND attempts = $4 AND status IN ({})",
            status_marks(5, &statuses)
        );
        let mut q = sqlx::query(&sql)
            .bind(status.code())
            .bind(number)
            .bind(&due.id)
            .bind(due.attempts);
        for s in statuses {
            q = q.bind(s.code());
        }
        q = match &outcome {
            Outcome::NeedsAuthentication(payment) => q.bind(payment.clone()),
            Outcome::Paid(charge_id) => q.bind(charge_id.clone()).bind(now),
            Outcome::Failed(_) => q
                .bind(due.first_failure_at.unwrap_or(now))
                .bind(next_attempt.map(date_start_millis)),
        };
        let recorded = q
            .execute(&mut *conn)
            .await
            .context("recording a charge attempt's outcome")?;
        Ok((recorded.rows_affected() == 1).then_some(Attempt {
            due,
            number,
            outcome,
            next_attempt,
        }))
    }

    /// Which of `accounts` have an invoice past due, read in `conn`.
    pub(crate) async fn past_due_accounts(
        conn: &mut AnyConnection,
        accounts: &[&str],
    ) -> Result<Vec<(String, bool)>, ServiceError> {
        let mut result = Vec::with_capacity(accounts.len());
        for batch in accounts.chunks(ROWS_PER_STATEMENT) {
            let marks = Backend::of(conn);
            let sql = format!(
                "SELECT DISTINCT account_id FROM invoices WHERE status = {} AND account_id IN ({})",
                marks.marks_from(1, 1),
                marks.marks_from(2, batch.len())
            );
            let mut q = sqlx::query_scalar::<_, String>(&sql).bind(InvoiceStatus::PastDue.code());
            for id in batch {
                q = q.bind(*id);
            }
            let due: Vec<String> = q
                .fetch_all(&mut *conn)
                .await
                .context("reading past-due invoices")?;
            result.extend(
                batch
                    .iter()
                    .map(|id| (id.to_string(), due.iter().any(|d| d == id))),
            );
        }
        Ok(result)
    }

    /// Records what goes with the recorded attempts, in a few statements for the chunk: the
    /// attempts themselves, the accounts' past-due flags, and (in `work`) the audit events and
    /// the emails to the billing contacts about failures.
    async fn record_attempts(
        &self,
        work: &mut Work,
        recorded: &[Attempt<'_>],
        billing: &info::Chunk,
        now: i64,
    ) -> Result<(), ServiceError> {
        for batch in recorded.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO charge_attempts (id, invoice_id, account_id, attempt, at, outcome, message) VALUES {}",
                Backend::of(work.tx()).values_list(batch.len(), 7)
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
                        Outcome::Paid(_) => AttemptOutcome::Succeeded.code(),
                        Outcome::Failed(_) => AttemptOutcome::Failed.code(),
                        Outcome::NeedsAuthentication(_) => AttemptOutcome::ActionRequired.code(),
                    })
                    .bind(match &a.outcome {
                        Outcome::Failed(reason) => reason.as_str(),
                        Outcome::NeedsAuthentication(_) => AUTHENTICATION_NEEDED,
                        Outcome::Paid(_) => "",
                    });
            }
            q.execute(work.tx())
                .await
                .context("recording charge attempts")?;
        }
        // Past due while any invoice is; a success can clear it.
        let mut touched: Vec<&str> = recorded.iter().map(|a| a.due.account_id.as_str()).collect();
        touched.dedup();
        let flags = Self::past_due_accounts(work.tx(), &touched).await?;
        accounts::set_past_due(work.tx(), &flags).await?;
        for a in recorded {
            let invoice = a.due;
            metrics::charge(a.outcome.is_paid());
            let (kind, detail) = match &a.outcome {
                Outcome::Paid(_) => (
                    AuditKind::ChargeSucceeded,
                    format!("{} charged (attempt {})", invoice.amount(), a.number),
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
            work.audit(Event::system(
                kind,
                invoice.account_id.as_str(),
                invoice.number.as_str(),
                detail,
            ));
            let (event, more) = match &a.outcome {
                Outcome::Paid(_) => (WebhookEvent::InvoicePaid, json!({ "attempt": a.number })),
                Outcome::Failed(reason) => (
                    WebhookEvent::InvoicePaymentFailed,
                    json!({
                        "attempt": a.number,
                        "reason": reason,
                        "next_attempt_on": a.next_attempt.map(|d| d.to_string()),
                    }),
                ),
                Outcome::NeedsAuthentication(_) => (
                    WebhookEvent::InvoiceActionRequired,
                    json!({ "attempt": a.number }),
                ),
            };
            work.hook(invoice_hook(
                event,
                &invoice.account_id,
                &invoice.id,
                &invoice.number,
                invoice.amount(),
                more,
            ));
        }
        for a in recorded {
            let to = billing.recipients(&a.due.account_id);
            let contacts = billing.contact_lines(&a.due.account_id, Subscription::PaymentProblems);
            for email in failure_emails(a, &to, &contacts, &self.ctx) {
                work.audit(Event::system(
                    AuditKind::PaymentFailedEmailed,
                    a.due.account_id.as_str(),
                    email.to.as_str(),
                    a.due.number.as_str(),
                ));
                work.mail(email.about(super::invoice_topic(&a.due.id)));
            }
        }
        Ok(())
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

    /// One failed or past-due invoice charged now (the seller's staff asked); whether an
    /// attempt was recorded (not when the processor could not be reached).
    pub async fn retry_now(
        &self,
        account_id: &str,
        invoice_id: &str,
    ) -> Result<bool, ServiceError> {
        let charges = self.charge(Due::Invoice(account_id, invoice_id)).await?;
        self.deliver(&charges.mail).await;
        Ok(charges.paid + charges.failed > 0)
    }

    /// Charges the account's invoices of `month` not charged yet, now (a correction).
    pub async fn charge_month(&self, account_id: &str, month: &str) -> Result<(), ServiceError> {
        let charges = self.charge(Due::Account(account_id, month)).await?;
        self.deliver(&charges.mail).await;
        Ok(())
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
    ///
    /// `attempt_paid` is the attempt the payment was made for (`None`: the invoice's current
    /// payment, read from the invoice itself). A payment of an earlier attempt
    /// than the invoice's current one — a processor's event that arrives late, after the
    /// schedule moved on — changes nothing: its failure is old news, and its success (money
    /// taken twice, if the current attempt succeeds too) is logged for the seller to
    /// reconcile at the processor rather than applied over the current attempt.
    pub async fn settle_payment(
        &self,
        invoice_id: &str,
        payment_id: &str,
        attempt_paid: Option<i64>,
        succeeded: bool,
    ) -> Result<bool, ServiceError> {
        #[derive(sqlx::FromRow)]
        struct Settling {
            account_id: String,
            number: String,
            amount_cents: i64,
            #[sqlx(try_from = "Code<Currency>")]
            currency: Currency,
            attempts: i64,
            #[sqlx(try_from = "Code<InvoiceStatus>")]
            status: InvoiceStatus,
            first_failure_at: Option<i64>,
        }
        let retry = self.schedule().await?;
        let mut work = self.ctx.begin("settling a payment").await?;
        let now = work.now();
        let row: Option<Settling> = sqlx::query_as(
            "SELECT account_id, number, amount_cents, currency, attempts, status, first_failure_at FROM invoices WHERE id = $1",
        )
        .bind(invoice_id)
        .fetch_optional(work.tx())
        .await
        .context("reading a settled invoice")?;
        let Some(row) = row else {
            return Ok(false);
        };
        let waiting = row.status == InvoiceStatus::ActionRequired;
        // Waiting for authentication, the attempt is already counted; otherwise (a run that
        // died before recording) this is the next one.
        let attempt = if waiting {
            row.attempts
        } else {
            row.attempts + 1
        };
        if attempt_paid.is_some_and(|paid| paid != attempt) {
            if succeeded {
                tracing::warn!(
                    invoice = %row.number,
                    payment = %payment_id,
                    attempt = attempt_paid.unwrap_or_default(),
                    current_attempt = attempt,
                    "a payment of an earlier attempt succeeded late; the invoice follows its current attempt: check the processor for a second payment"
                );
            }
            return Ok(false);
        }
        let chargeable = status_marks(6, &InvoiceStatus::CHARGEABLE);
        let (outcome, message, kind, detail) = if succeeded {
            let sql = format!(
                "UPDATE invoices SET status = $1, charge_id = $2, paid_at = $3, attempts = $4, next_attempt_at = NULL \
                 WHERE id = $5 AND status IN ({chargeable})"
            );
            let mut q = sqlx::query(&sql)
                .bind(InvoiceStatus::Paid.code())
                .bind(payment_id)
                .bind(now)
                .bind(attempt)
                .bind(invoice_id);
            for s in InvoiceStatus::CHARGEABLE {
                q = q.bind(s.code());
            }
            let done = q
                .execute(work.tx())
                .await
                .context("recording a settled payment")?;
            if done.rows_affected() == 0 {
                return Ok(false);
            }
            (
                AttemptOutcome::Succeeded,
                String::new(),
                AuditKind::ChargeSucceeded,
                format!("payment confirmed (attempt {attempt})"),
            )
        } else {
            if !waiting {
                return Ok(false);
            }
            let first = row.first_failure_at.unwrap_or(now);
            let first_day = date_of_millis(first).ok_or_else(|| {
                ServiceError::invariant("settling a payment", "a date out of range")
            })?;
            let (status, next) = match retry.after_failure(first_day, attempt as u32) {
                AfterFailure::RetryOn(day) => (InvoiceStatus::Failed, Some(date_start_millis(day))),
                AfterFailure::PastDue => (InvoiceStatus::PastDue, None),
            };
            let done = sqlx::query(
                "UPDATE invoices SET status = $1, first_failure_at = $2, next_attempt_at = $3 \
                 WHERE id = $4 AND status = $5",
            )
            .bind(status.code())
            .bind(first)
            .bind(next)
            .bind(invoice_id)
            .bind(InvoiceStatus::ActionRequired.code())
            .execute(work.tx())
            .await
            .context("recording an unconfirmed payment")?;
            if done.rows_affected() == 0 {
                return Ok(false);
            }
            let reason = Decline::NotConfirmed.message();
            (
                AttemptOutcome::Failed,
                reason.to_string(),
                AuditKind::ChargeFailed,
                format!("attempt {attempt}: {reason}"),
            )
        };
        // The attempt waiting for authentication has its row: its outcome is now known.
        if waiting {
            sqlx::query(
                "UPDATE charge_attempts SET at = $1, outcome = $2, message = $3 \
                 WHERE invoice_id = $4 AND attempt = $5 AND account_id = $6",
            )
            .bind(now)
            .bind(outcome.code())
            .bind(&message)
            .bind(invoice_id)
            .bind(attempt)
            .bind(&row.account_id)
            .execute(work.tx())
            .await
            .context("recording a settled attempt")?;
        } else {
            sqlx::query(
                "INSERT INTO charge_attempts (id, invoice_id, account_id, attempt, at, outcome, message) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(self.ctx.new_id())
            .bind(invoice_id)
            .bind(&row.account_id)
            .bind(attempt)
            .bind(now)
            .bind(outcome.code())
            .bind(&message)
            .execute(work.tx())
            .await
            .context("recording a settled attempt")?;
        }
        let flags = Self::past_due_accounts(work.tx(), &[row.account_id.as_str()]).await?;
        accounts::set_past_due(work.tx(), &flags).await?;
        metrics::charge(succeeded);
        work.audit(Event::system(
            kind,
            row.account_id.as_str(),
            row.number.as_str(),
            detail,
        ));
        let (event, more) = if succeeded {
            (WebhookEvent::InvoicePaid, json!({ "attempt": attempt }))
        } else {
            (
                WebhookEvent::InvoicePaymentFailed,
                json!({ "attempt": attempt, "reason": message }),
            )
        };
        work.hook(invoice_hook(
            event,
            &row.account_id,
            invoice_id,
            &row.number,
            Money::new(row.amount_cents, row.currency),
            more,
        ));
        work.commit().await?;
        Ok(true)
    }
}
