//! The monthly billing run (spec §5): one invoice per account and month, charged through the
//! payment gateway (`charges`), emailed.
//!
//! A run works through the accounts in chunks of [`CHUNK`], each chunk in one transaction, so
//! a run over 100,000 accounts is a few hundred transactions rather than a million statements
//! each committed on its own:
//! 1. **Invoice** the accounts that have no invoice for the month yet. The database sums each
//!    account's user-count history before the month into its opening count and returns the
//!    month's own changes; core's `peak_users` decides the peak. Each new invoice's emails are
//!    queued in the outbox in the transaction that creates it.
//! 2. **Charge** the month's open invoices (`charges`).
//! 3. **Deliver** the queued mail, while the run goes on.
//!
//! Safe to repeat, to interrupt at any point and to run in several processes at once: the
//! invoice is an `INSERT … ON CONFLICT (account_id, month) DO NOTHING`, and its emails are
//! queued only when that insert made it, in the same transaction: once, never lost. Charging
//! explains its own guarantees.

use std::collections::HashMap;

use futures::TryStreamExt;
use tally_core::{
    audit::AuditKind,
    billing::{date_of_millis, peak_users, BillingMonth, CountChange, Plan},
    money::Money,
    roles::Role,
};

use crate::{
    audit::{record, record_many, Event},
    charges::{Charging, Due},
    context::Context,
    db::{Backend, ROWS_PER_STATEMENT},
    error::{Context as _, ServiceError},
    invoices::invoice_email,
};

/// Accounts (or invoices) per transaction in a run.
pub const CHUNK: usize = 500;

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

/// An account to invoice, with the billing information its invoice keeps.
#[derive(sqlx::FromRow)]
struct ToInvoice {
    id: String,
    name: String,
    company_name: Option<String>,
    contact_email: Option<String>,
}

/// An administrator who opted in to invoices.
#[derive(sqlx::FromRow)]
struct OptedIn {
    account_id: String,
    email: String,
    role: String,
}

/// An invoice about to be made.
struct NewInvoice<'a> {
    id: String,
    number: String,
    peak: u64,
    amount: Money,
    account: &'a ToInvoice,
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

/// Makes a month's invoices and has them charged.
#[derive(Clone)]
pub struct BillingRun {
    ctx: Context,
    charging: Charging,
}

impl BillingRun {
    pub fn new(ctx: Context, charging: Charging) -> Self {
        Self { ctx, charging }
    }

    fn plan(&self) -> Plan {
        Plan::per_user(self.ctx.settings.price_per_user)
    }

    /// Invoices every account for `month` (which must be over), charges what is still to
    /// charge for that month, and delivers the mail. Repeating it changes nothing that is done.
    pub async fn run_month(&self, month: BillingMonth) -> Result<RunReport, ServiceError> {
        let now = self.ctx.now();
        if month.end_millis() > now {
            return Err(ServiceError::Conflict(format!(
                "{month} has not ended yet; only past months can be invoiced"
            )));
        }
        let pool = self.ctx.db.pool();
        let accounts: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM accounts WHERE created_at < $1")
                .bind(month.end_millis())
                .fetch_one(pool)
                .await
                .context("counting the accounts to bill")?;
        let to_invoice: Vec<ToInvoice> = sqlx::query_as(
            "SELECT a.id, a.name, b.company_name, b.contact_email FROM accounts a \
             LEFT JOIN billing_info b ON b.account_id = a.id \
             WHERE a.created_at < $1 AND NOT EXISTS \
             (SELECT 1 FROM invoices i WHERE i.account_id = a.id AND i.month = $2) ORDER BY a.id",
        )
        .bind(month.end_millis())
        .bind(month.to_string())
        .fetch(pool) // row by row: 100,000 raw rows at once would double the run's memory
        .try_collect()
        .await
        .context("reading the accounts to invoice")?;
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
        .await
        .context("auditing a billing run")?;
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
            let charges = self.charging.charge(Due::Month(&month.to_string())).await?;
            report.charged = charges.paid;
            report.failed = charges.failed;
            Ok::<_, ServiceError>(invoiced)
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
        let rest = self
            .ctx
            .outbox
            .deliver_due()
            .await
            .context("delivering a billing run's mail")?;
        report.mail_sent = (sent_meanwhile + rest) as u64;
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
        let outbox = self.ctx.outbox.clone();
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

    /// Each account's history for `month` in one chunk of accounts (ids from `first` to
    /// `last`): the count at the month's opening instant as one change, then the month's own.
    async fn histories(
        &self,
        first: &str,
        last: &str,
        month: BillingMonth,
    ) -> Result<HashMap<String, Vec<CountChange>>, ServiceError> {
        let pool = self.ctx.db.pool();
        let (start, end) = (month.start_millis(), month.end_millis());
        // Both queries go account by account, so the index on (account_id, at) finds each
        // account's rows instead of the chunk's whole history being read twice.
        let mut history: HashMap<String, Vec<CountChange>> = HashMap::new();
        let opening: Vec<(String, Option<i64>)> = sqlx::query_as(
            "SELECT a.id, CAST((SELECT SUM(c.delta) FROM user_count_changes c \
             WHERE c.account_id = a.id AND c.at <= $3) AS BIGINT) \
             FROM accounts a WHERE a.id >= $1 AND a.id <= $2",
        )
        .bind(first)
        .bind(last)
        .bind(start)
        .fetch_all(pool)
        .await
        .context("summing opening user counts")?;
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
        .bind(first)
        .bind(last)
        .bind(start)
        .bind(end)
        .fetch_all(pool)
        .await
        .context("reading the month's user count changes")?;
        for (account, at_millis, delta) in changes {
            history
                .entry(account)
                .or_default()
                .push(CountChange { at_millis, delta });
        }
        Ok(history)
    }

    /// Invoices a chunk of accounts (in the database's order of their ids) and queues the
    /// invoices' emails, in one transaction; returns how many invoices it made.
    async fn invoice_chunk(
        &self,
        accounts: &[ToInvoice],
        month: BillingMonth,
    ) -> Result<u64, ServiceError> {
        let (Some(first), Some(last)) = (accounts.first(), accounts.last()) else {
            return Ok(0);
        };
        let history = self.histories(&first.id, &last.id, month).await?;
        let opted_in = self.opted_in(&first.id, &last.id).await?;
        let plan = self.plan();
        let now = self.ctx.now();
        let candidates: Vec<NewInvoice> = accounts
            .iter()
            .map(|account| {
                let peak = peak_users(
                    history.get(&account.id).map_or(&[][..], Vec::as_slice),
                    month,
                );
                NewInvoice {
                    id: self.ctx.new_id(),
                    number: invoice_number(month, &account.id),
                    peak,
                    amount: plan
                        .invoice_amount(peak)
                        .unwrap_or(Money::from_cents(i64::MAX)),
                    account,
                }
            })
            .collect();
        let month_text = month.to_string();
        let mut tx = self
            .ctx
            .db
            .pool()
            .begin()
            .await
            .context("invoicing a chunk")?;
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
            for invoice in batch {
                let account = invoice.account;
                q = q
                    .bind(&invoice.id)
                    .bind(&account.id)
                    .bind(&invoice.number)
                    .bind(&month_text)
                    .bind(invoice.peak as i64)
                    .bind(plan.free_users as i64)
                    .bind(plan.price_per_user.cents())
                    .bind(invoice.amount.cents())
                    .bind(if invoice.amount.cents() == 0 {
                        "zero"
                    } else {
                        "open"
                    })
                    .bind(account.company_name.as_deref().unwrap_or(&account.name))
                    .bind(account.contact_email.as_deref())
                    .bind(now)
                    .bind(now);
            }
            made.extend(q.fetch_all(&mut *tx).await.context("inserting invoices")?);
        }
        let made: Vec<(&NewInvoice, Vec<String>)> = candidates
            .iter()
            .filter(|invoice| made.contains(&invoice.id))
            .map(|invoice| {
                let account = invoice.account;
                let to = recipients(account.contact_email.as_deref(), opted_in.get(&account.id));
                (invoice, to)
            })
            .collect();
        let mut events = Vec::new();
        let mut emails = Vec::new();
        for (invoice, to) in &made {
            let account = &invoice.account.id;
            events.push((
                AuditKind::InvoiceCreated,
                Event::system(
                    account,
                    &invoice.number,
                    format!("{month}: peak {} users, {}", invoice.peak, invoice.amount),
                ),
            ));
            for recipient in to {
                emails.push(invoice_email(
                    &self.ctx,
                    &invoice.id,
                    &invoice.number,
                    &month_text,
                    invoice.amount,
                    recipient,
                    false,
                ));
                events.push((
                    AuditKind::InvoiceEmailed,
                    Event::system(account, recipient, invoice.number.clone()),
                ));
            }
        }
        self.ctx
            .outbox
            .queue_many(&mut tx, &emails)
            .await
            .context("queueing invoice emails")?;
        record_many(&mut tx, now, &events)
            .await
            .context("auditing invoices")?;
        tx.commit().await.context("saving a chunk of invoices")?;
        Ok(made.len() as u64)
    }

    /// The active billing admins who opted in to invoices, for the accounts whose ids lie
    /// between `first` and `last`, oldest first.
    async fn opted_in(
        &self,
        first: &str,
        last: &str,
    ) -> Result<HashMap<String, Vec<String>>, ServiceError> {
        let rows: Vec<OptedIn> = sqlx::query_as(
            "SELECT account_id, email, role FROM admins WHERE account_id >= $1 AND account_id <= $2 \
             AND status = 'active' AND receives_invoices = TRUE ORDER BY account_id, created_at",
        )
        .bind(first)
        .bind(last)
        .fetch_all(self.ctx.db.pool())
        .await
        .context("reading invoice opt-ins")?;
        let mut by_account: HashMap<String, Vec<String>> = HashMap::new();
        for r in rows {
            if Role::from_code(&r.role).is_some_and(Role::has_billing) {
                by_account.entry(r.account_id).or_default().push(r.email);
            }
        }
        Ok(by_account)
    }

    /// Every month that has ended since the first account was created and is not invoiced for
    /// every account: what a server that was down missed. Oldest first.
    pub async fn months_to_catch_up(&self) -> Result<Vec<BillingMonth>, ServiceError> {
        let pool = self.ctx.db.pool();
        let first: Option<i64> = sqlx::query_scalar("SELECT MIN(created_at) FROM accounts")
            .fetch_one(pool)
            .await
            .context("reading the oldest account")?;
        let Some(first) = first.and_then(date_of_millis) else {
            return Ok(Vec::new());
        };
        let current = BillingMonth::containing(self.ctx.clock.today());
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
            .await
            .context("finding months to catch up on")?;
            if missing > 0 {
                due.push(month);
            }
            month = month.next();
        }
        Ok(due)
    }
}
