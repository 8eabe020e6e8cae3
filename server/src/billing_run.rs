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
};

use crate::{
    audit::{record, record_many, Event},
    billing_info,
    charges::{Charging, Due},
    context::Context,
    db::{Backend, ROWS_PER_STATEMENT},
    error::{Context as _, ServiceError},
    invoices::{self, Invoice},
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

/// An account to invoice, with the billing information and card its invoice keeps.
#[derive(sqlx::FromRow)]
struct ToInvoice {
    id: String,
    name: String,
    company_name: Option<String>,
    contact_name: Option<String>,
    contact_email: Option<String>,
    line1: Option<String>,
    line2: Option<String>,
    city: Option<String>,
    region: Option<String>,
    postal_code: Option<String>,
    country: Option<String>,
    tax_id: Option<String>,
    brand: Option<String>,
    last4: Option<String>,
}

impl ToInvoice {
    /// Whom the invoice is made out to, one line each: the company, the billing contact, the
    /// address and the tax id, as far as they are known.
    fn billed_to(&self) -> String {
        let company = self.company_name.as_deref().unwrap_or(&self.name);
        let mut lines = vec![company.to_string()];
        match (&self.contact_name, &self.contact_email) {
            (Some(name), Some(email)) => lines.push(format!("{name} <{email}>")),
            (None, Some(email)) => lines.push(email.clone()),
            _ => {}
        }
        lines.extend(self.line1.clone());
        lines.extend(self.line2.clone().filter(|l| !l.is_empty()));
        let place: Vec<&str> = [&self.city, &self.region, &self.postal_code]
            .into_iter()
            .filter_map(|p| p.as_deref().filter(|p| !p.is_empty()))
            .collect();
        if !place.is_empty() {
            lines.push(place.join(" "));
        }
        lines.extend(self.country.as_deref().map(|c| {
            tally_core::country::country_name(c).map_or_else(|| c.to_string(), str::to_string)
        }));
        lines.extend(
            self.tax_id
                .as_deref()
                .filter(|t| !t.is_empty())
                .map(|t| format!("Tax ID: {t}")),
        );
        lines.join("\n")
    }

    /// The card on file, "Visa •••• 4242".
    fn card_label(&self) -> Option<String> {
        let (brand, last4) = (self.brand.as_deref()?, self.last4.as_deref()?);
        let name = tally_core::card::Brand::from_code(brand).map_or(brand, |b| b.display_name());
        Some(format!("{name} \u{2022}\u{2022}\u{2022}\u{2022} {last4}"))
    }
}

/// An invoice about to be made, and its account.
struct NewInvoice<'a> {
    invoice: Invoice,
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
        // The billing contact is the billing information's, or the administrator standing in
        // for it while there is none: every invoice has somebody to go to.
        let to_invoice: Vec<ToInvoice> = sqlx::query_as(&format!(
            "SELECT a.id, a.name, b.company_name, b.contact_name, {} AS contact_email, \
             b.line1, b.line2, b.city, b.region, b.postal_code, b.country, b.tax_id, p.brand, p.last4 \
             FROM accounts a \
             LEFT JOIN billing_info b ON b.account_id = a.id \
             LEFT JOIN payment_methods p ON p.account_id = a.id \
             WHERE a.created_at < $1 AND NOT EXISTS \
             (SELECT 1 FROM invoices i WHERE i.account_id = a.id AND i.month = $2) ORDER BY a.id",
            billing_info::contact_email_sql("a.id")
        ))
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
        let invoiced =
            ran.inspect_err(|_| crate::metrics::billing_run(false, report.invoices_created))?;
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
        crate::metrics::billing_phase("invoice", invoiced);
        crate::metrics::billing_phase("charge", charged - invoiced);
        crate::metrics::billing_phase("mail", started.elapsed() - charged);
        crate::metrics::billing_run(true, report.invoices_created);
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
    /// invoices' emails, each with its PDF, in one transaction; returns how many invoices it
    /// made.
    async fn invoice_chunk(
        &self,
        accounts: &[ToInvoice],
        month: BillingMonth,
    ) -> Result<u64, ServiceError> {
        let (Some(first), Some(last)) = (accounts.first(), accounts.last()) else {
            return Ok(0);
        };
        let history = self.histories(&first.id, &last.id, month).await?;
        let opted_in =
            billing_info::opted_in_between(self.ctx.db.pool(), &first.id, &last.id).await?;
        let plan = self.plan();
        let now = self.ctx.now();
        let month_text = month.to_string();
        let candidates: Vec<NewInvoice> = accounts
            .iter()
            .map(|account| {
                let peak = peak_users(
                    history.get(&account.id).map_or(&[][..], Vec::as_slice),
                    month,
                );
                let amount = plan
                    .invoice_amount(peak)
                    .unwrap_or(Money::from_cents(i64::MAX));
                NewInvoice {
                    invoice: Invoice {
                        id: self.ctx.new_id(),
                        number: invoice_number(month, &account.id),
                        month: month_text.clone(),
                        peak_users: peak as i64,
                        free_users: plan.free_users as i64,
                        price_per_user_cents: plan.price_per_user.cents(),
                        amount_cents: amount.cents(),
                        status: if amount.cents() == 0 { "zero" } else { "open" }.into(),
                        company_name: account
                            .company_name
                            .clone()
                            .unwrap_or_else(|| account.name.clone()),
                        created_at: now,
                        paid_at: None,
                        billed_to: Some(account.billed_to()),
                        card_label: account.card_label(),
                    },
                    account,
                }
            })
            .collect();
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
                 company_name, contact_email, created_at, emailed_at, billed_to, card_label) VALUES {} \
                 ON CONFLICT (account_id, month) DO NOTHING RETURNING id",
                Backend::of(&tx).values_list(batch.len(), 15)
            );
            let mut q = sqlx::query_scalar::<_, String>(&sql);
            for new in batch {
                let (i, account) = (&new.invoice, new.account);
                q = q
                    .bind(&i.id)
                    .bind(&account.id)
                    .bind(&i.number)
                    .bind(&i.month)
                    .bind(i.peak_users)
                    .bind(i.free_users)
                    .bind(i.price_per_user_cents)
                    .bind(i.amount_cents)
                    .bind(&i.status)
                    .bind(&i.company_name)
                    .bind(account.contact_email.as_deref())
                    .bind(now)
                    .bind(now)
                    .bind(i.billed_to.as_deref())
                    .bind(i.card_label.as_deref());
            }
            made.extend(q.fetch_all(&mut *tx).await.context("inserting invoices")?);
        }
        let made: Vec<&NewInvoice> = candidates
            .iter()
            .filter(|new| made.contains(&new.invoice.id))
            .collect();
        // Each invoice's PDF once, on the blocking pool, for all its recipients.
        let rendered =
            invoices::render_pdfs(made.iter().map(|new| new.invoice.clone()).collect()).await?;
        let recipients: Vec<Vec<String>> = made
            .iter()
            .map(|new| {
                billing_info::recipients(
                    new.account.contact_email.as_deref(),
                    opted_in.get(&new.account.id),
                )
            })
            .collect();
        let mut events = Vec::new();
        let mut emails = Vec::new();
        for ((new, (invoice, pdf)), to) in made.iter().zip(&rendered).zip(&recipients) {
            let account = &new.account.id;
            events.push((
                AuditKind::InvoiceCreated,
                Event::system(
                    account,
                    &invoice.number,
                    format!(
                        "billing run for {month}: peak {} users, {}",
                        invoice.peak_users,
                        Money::from_cents(invoice.amount_cents)
                    ),
                ),
            ));
            for recipient in to {
                events.push((
                    AuditKind::InvoiceEmailed,
                    Event::system(account, recipient, invoice.number.clone()),
                ));
            }
            emails.extend(invoices::invoice_emails(&self.ctx, invoice, pdf, to, false));
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
