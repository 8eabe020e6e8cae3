//! The monthly billing run: one invoice per account and month, charged through the payment
//! gateway ([`super::charging`]), emailed.
//!
//! A run works through the accounts in chunks of [`CHUNK`], each chunk in one transaction, so
//! a run over 100,000 accounts is a few hundred transactions rather than a million statements
//! each committed on its own:
//! 1. **Invoice** the accounts that have no invoice for the month yet. Each account's
//!    user-count history before the month is summed into its opening count and the month's
//!    own changes are read; core's `explain_peak` decides the peak and the day it was reached, and
//!    `month_amounts` what it costs (as for the Billing page's estimate). Each new invoice's emails are
//!    queued in the outbox in the transaction that creates it.
//! 2. **Charge** the month's open invoices ([`super::charging`]).
//! 3. **Deliver** the queued mail, while the run goes on.
//!
//! Safe to repeat, to interrupt at any point and to run in several processes at once: the
//! invoice is an `INSERT … ON CONFLICT (account_id, month) DO NOTHING`, and its emails are
//! queued only when that insert made it, in the same transaction: once, never lost. Charging
//! explains its own guarantees.

use std::collections::{HashMap, HashSet};

use tally_core::{
    audit::AuditKind,
    billing::{date_of_millis, BillingMonth, InvoiceStatus, Plan},
    billing_contacts::Subscription,
    estimate::{explain_peak, month_amounts},
    views::billing::Invoice,
    Datelike, NaiveDate,
};

use super::charging::{Charging, Due};
use crate::{
    billing::{
        cards, credit_notes,
        einvoice::{self, Parties},
        info, plans,
    },
    directory::users,
    identity::accounts::{self, Billable},
    platform::{
        audit::{self, Event},
        context::Context,
        db::{Backend, ROWS_PER_STATEMENT},
        error::{ResultExt, ServiceError},
        metrics,
    },
};

/// Accounts (or invoices) per transaction in a run.
pub const CHUNK: usize = 500;

/// What one run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunReport {
    pub month: String,
    pub accounts: u64,
    pub invoices_created: u64,
    /// Accounts whose plan bills the month on a day still to come, left for then.
    pub waiting: u64,
    pub charged: u64,
    pub failed: u64,
    pub mail_sent: u64,
}

/// Whom an invoice is made out to, one line each: the company, the billing contact, the
/// address and the tax id, as far as they are known.
pub(super) fn billed_to(account: &Billable, billing: &info::Chunk) -> String {
    let info = billing.info.get(&account.id);
    let company = info.map_or(account.name.as_str(), |i| i.company_name.as_str());
    let mut lines = vec![company.to_string()];
    match (info, billing.contacts.get(&account.id)) {
        (Some(i), _) => lines.push(format!("{} <{}>", i.contact_name, i.contact_email)),
        (None, Some(contact)) => lines.push(contact.email.clone()),
        (None, None) => {}
    }
    if let Some(i) = info {
        lines.extend(i.address.printed_lines());
        lines.extend(
            i.tax_id
                .as_ref()
                .map(|t| format!("Tax ID: {}", t.official())),
        );
    }
    lines.join("\n")
}

/// Invoices are numbered `INV-<year>-<n>` in one series per year of issue (`INV-2026-000123`);
/// those made before keep the numbers they had (month and account: `2026-10-A1B2C3`).
pub const INVOICE_SERIES: &str = "INV";

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

    /// The last invoice of an account being closed: the month so far, on its plan, made and
    /// charged now (a suspended account's charge waits, as every other's does). The month's
    /// run, later, finds it made.
    pub async fn final_invoice(&self, account: &Billable) -> Result<(), ServiceError> {
        let month = BillingMonth::containing(self.ctx.clock.today());
        self.invoice_chunk(std::slice::from_ref(account), month)
            .await?;
        self.charging
            .charge(Due::Account(&account.id, &month.to_string()))
            .await?;
        // No run's delivery loop sends this invoice's email: the mail worker does, now rather
        // than at its next round.
        self.ctx.outbox.wake_worker();
        Ok(())
    }

    /// Invoices every account for `month` (which must be over) whose billing day has come,
    /// charges what is still to charge for that month, and delivers the mail. Repeating it
    /// changes nothing that is done; the accounts whose day is still to come wait for it.
    pub async fn run_month(&self, month: BillingMonth) -> Result<RunReport, ServiceError> {
        let now = self.ctx.now();
        if month.end_millis() > now {
            return Err(ServiceError::Conflict(format!(
                "{month} has not ended yet; only past months can be invoiced"
            )));
        }
        let pool = self.ctx.db.pool();
        let all = accounts::created_before(pool, month.start_millis(), month.end_millis()).await?;
        let invoiced = super::invoiced_accounts(pool, month, false).await?;
        let billed_later = plans::billed_later(pool, month, self.ctx.clock.today()).await?;
        let accounts = all.len();
        let (waiting, to_invoice): (Vec<Billable>, Vec<Billable>) = all
            .into_iter()
            .filter(|a| !invoiced.contains(&a.id))
            .partition(|a| billed_later.contains(&a.id));
        let later = if waiting.is_empty() {
            String::new()
        } else {
            format!(", {} on a later billing day", waiting.len())
        };
        audit::record(
            &self.ctx,
            Event {
                detail: format!(
                    "{month}: {accounts} accounts, {} to invoice{later}",
                    to_invoice.len()
                ),
                ..Event::new(AuditKind::BillingRun)
            },
        )
        .await?;
        let mut report = RunReport {
            month: month.to_string(),
            accounts: accounts as u64,
            waiting: waiting.len() as u64,
            ..Default::default()
        };
        let started = std::time::Instant::now();
        // The emails go out while the run goes on: each chunk's invoice emails once its
        // transaction commits, the payment-failed ones once theirs does. Writing files or
        // talking to an SMTP server waits on the system; invoicing and charging on the
        // database and the gateway.
        let (finished, mail) = self.deliver_while_running();
        // The month's figures kept for the revenue page are to be added up again: counted as
        // changed before the first invoice and after the last, so a figure added up while the
        // run goes on is never read once it has ended.
        let month_key = month.to_string();
        let changed = || super::figures::changed(pool, &month_key);
        let run = async {
            changed().await?;
            for chunk in to_invoice.chunks(CHUNK) {
                report.invoices_created += self.invoice_chunk(chunk, month).await?;
            }
            changed().await?;
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
        let invoiced = ran.inspect_err(|_| metrics::billing_run(false, report.invoices_created))?;
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
        metrics::billing_phase("invoice", invoiced);
        metrics::billing_phase("charge", charged - invoiced);
        metrics::billing_phase("mail", started.elapsed() - charged);
        metrics::billing_run(true, report.invoices_created);
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

    /// Invoices a chunk of accounts (in the order of their ids) and queues the invoices'
    /// emails, each with its PDF, in one transaction; returns how many invoices it made.
    async fn invoice_chunk(
        &self,
        chunk: &[Billable],
        month: BillingMonth,
    ) -> Result<u64, ServiceError> {
        let (Some(first), Some(last)) = (chunk.first(), chunk.last()) else {
            return Ok(0);
        };
        let pool = self.ctx.db.pool();
        let ids: Vec<&str> = chunk.iter().map(|a| a.id.as_str()).collect();
        let history =
            users::histories(&self.ctx.db, &ids, month.start_millis(), month.end_millis()).await?;
        let billing = info::chunk(pool, &first.id, &last.id).await?;
        let cards = cards::tokens_between(pool, &first.id, &last.id).await?;
        let standard = self.plan();
        let plans = plans::chunk(pool, &first.id, &last.id, month).await?;
        let credit = accounts::credit_balances(pool, &first.id, &last.id).await?;
        let seller = super::super::settings::issuer(pool).await?;
        let tax = super::super::settings::read(pool).await?.tax;
        // Both parties as the e-invoices name them, kept with each invoice (none before the
        // seller is set up).
        let issuer = super::super::settings::issuer_party(pool).await?;
        let mut parties: HashMap<String, Parties> = HashMap::new();
        let now = self.ctx.now();
        let month_text = month.to_string();
        let mut candidates: Vec<(Invoice, &Billable)> = chunk
            .iter()
            .map(|account| {
                let plan = plans.get(&account.id).copied().unwrap_or(standard);
                let explained = explain_peak(
                    history.get(&account.id).map_or(&[][..], Vec::as_slice),
                    month,
                );
                let peak = explained.peak;
                let info = billing.info.get(&account.id);
                let treatment = tax.treatment_for(info);
                // The tax is added to what the users cost; the credit the seller gave comes
                // off the sum first, as far as it goes.
                // The estimate on the Billing page is this same function of the peak.
                let amounts = month_amounts(
                    &plan,
                    peak,
                    treatment.as_ref(),
                    // The balance is in the account's currency, which is its plan's: a
                    // plan's currency cannot change once invoiced.
                    plan.price_per_user
                        .with_minor(credit.get(&account.id).copied().unwrap_or(0)),
                )
                .ok_or_else(|| {
                    ServiceError::invariant("invoicing an account", "the amount overflows")
                })?;
                let amount = amounts.due;
                let applied = amounts.credit_applied.minor();
                let id = self.ctx.new_id();
                if let Some(seller) = &issuer {
                    let buyer = einvoice::buyer(&account.name, info, &seller.address.country);
                    parties.insert(
                        id.clone(),
                        Parties {
                            seller: seller.clone(),
                            buyer,
                        },
                    );
                }
                let invoice = Invoice {
                    // Until it is made: the series' next number is taken once it is.
                    number: id.clone(),
                    id,
                    month: month_text.clone(),
                    peak_users: peak,
                    free_users: plan.free_users,
                    currency: amount.currency(),
                    price_per_user_cents: plan.price_per_user.minor(),
                    amount_cents: amount.minor(),
                    status: if amount.is_zero() {
                        InvoiceStatus::Zero
                    } else {
                        InvoiceStatus::Open
                    },
                    company_name: billing
                        .info
                        .get(&account.id)
                        .map_or_else(|| account.name.clone(), |i| i.company_name.clone()),
                    created_at: now,
                    paid_at: None,
                    billed_to: Some(billed_to(account, &billing)),
                    seller: seller.clone(),
                    references: billing
                        .fields
                        .get(&account.id)
                        .filter(|f| !f.is_empty())
                        .map(|f| f.printed_lines().join("\n")),
                    card_label: cards.get(&account.id).map(|(_, label)| label.clone()),
                    credit_applied_cents: applied,
                    credited_cents: 0,
                    payment_reference: None,
                    void_reason: None,
                    tax_cents: amounts.tax.minor(),
                    tax_rate_bp: treatment.map_or(0, |t| t.rate_bp),
                    tax_category: treatment.map(|t| t.category),
                    corrects: None,
                    corrected_by: None,
                    peak_reached_on: Some(explained.reached_on),
                };
                Ok((invoice, account))
            })
            .collect::<Result<_, ServiceError>>()?;
        let mut work = self.ctx.begin("invoicing a chunk").await?;
        // The invoices first (so SQLite takes its write lock at once); those another run made
        // already are skipped, and only the ones made here get their emails.
        let mut made = HashSet::new();
        for batch in candidates.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO invoices ({}) VALUES {} \
                 ON CONFLICT (account_id, month) WHERE corrects IS NULL DO NOTHING RETURNING id",
                super::NEW_COLUMNS,
                Backend::of(work.tx()).values_list(batch.len(), super::NEW_COLUMN_COUNT)
            );
            let mut q = sqlx::query_scalar::<_, String>(&sql);
            for (i, account) in batch {
                q = super::bind_new(
                    q,
                    i,
                    &account.id,
                    billing.contacts.get(&account.id).map(|c| c.email.as_str()),
                    parties
                        .get(&i.id)
                        .and_then(|p| serde_json::to_string(p).ok()),
                );
            }
            made.extend(q.fetch_all(work.tx()).await.context("inserting invoices")?);
        }
        // The invoices made here take the series' next numbers, in the order of their
        // accounts, before anything else this transaction writes (so transactions that wait for
        // the series' row hold nothing another one needs).
        let year = date_of_millis(now).map_or(1970, |d| d.year());
        let mut numbers = credit_notes::take_numbers(work.tx(), INVOICE_SERIES, year, made.len())
            .await?
            .into_iter();
        for (invoice, _) in candidates.iter_mut().filter(|(i, _)| made.contains(&i.id)) {
            invoice.number = numbers.next().ok_or_else(|| {
                ServiceError::invariant("numbering invoices", "fewer numbers than invoices")
            })?;
        }
        let numbered: Vec<&Invoice> = candidates
            .iter()
            .map(|(i, _)| i)
            .filter(|i| made.contains(&i.id))
            .collect();
        for batch in numbered.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "UPDATE invoices SET number = v.column2 FROM (VALUES {}) AS v WHERE invoices.id = v.column1",
                Backend::of(work.tx()).values_list(batch.len(), 2)
            );
            let mut q = sqlx::query(&sql);
            for i in batch {
                q = q.bind(&i.id).bind(&i.number);
            }
            q.execute(work.tx()).await.context("numbering invoices")?;
        }
        let made: Vec<&(Invoice, &Billable)> = candidates
            .iter()
            .filter(|(invoice, _)| made.contains(&invoice.id))
            .collect();
        // What the invoices made here took of their accounts' credit.
        for (invoice, account) in &made {
            if invoice.credit_applied_cents > 0 {
                accounts::take_credit(work.tx(), &account.id, invoice.credit_applied_cents).await?;
            }
        }
        // Each invoice's PDF once, on the blocking pool, for all its recipients.
        // Each account's billing contacts who receive invoices, once: their languages decide
        // which PDFs are rendered (the account's and each one a contact chose).
        let contacts: Vec<info::Lines> = made
            .iter()
            .map(|(_, account)| billing.contact_lines(&account.id, Subscription::Invoices))
            .collect();
        let rendered = super::render_documents(
            made.iter()
                .zip(&contacts)
                .map(|((invoice, _), lines)| {
                    (
                        invoice.clone(),
                        parties.remove(&invoice.id),
                        lines.languages(),
                    )
                })
                .collect(),
        )
        .await?;
        for (((_, account), (invoice, documents)), contacts) in
            made.iter().zip(&rendered).zip(&contacts)
        {
            let to = billing.recipients(&account.id);
            super::announce(
                &self.ctx,
                &mut work,
                &account.id,
                invoice,
                documents,
                &to,
                contacts,
                format!(
                    "billing run for {month}: peak {} users, {}",
                    invoice.peak_users,
                    invoice.amount()
                ),
                serde_json::Map::new(),
            );
        }
        // The run's own delivery loop sends them while the run goes on.
        let _ = work.commit_queued().await?.into_ids();
        Ok(made.len() as u64)
    }

    /// How many accounts billed for `month` are not invoiced for it and wait for a billing day
    /// still to come on `today`.
    async fn waiting(&self, month: BillingMonth, today: NaiveDate) -> Result<usize, ServiceError> {
        let pool = self.ctx.db.pool();
        let later = plans::billed_later(pool, month, today).await?;
        if later.is_empty() {
            return Ok(0);
        }
        let invoiced = super::invoiced_accounts(pool, month, false).await?;
        let ids: Vec<&str> = later
            .iter()
            .filter(|id| !invoiced.contains(*id))
            .map(String::as_str)
            .collect();
        accounts::count_created_before_among(pool, &ids, month.start_millis(), month.end_millis())
            .await
    }

    /// Every month that has ended since the first account was created and is not invoiced
    /// (or its invoice not charged) for every account whose billing day for it has come: what
    /// is due today, and what a server that was down missed. Oldest first.
    pub async fn months_to_catch_up(&self) -> Result<Vec<BillingMonth>, ServiceError> {
        let pool = self.ctx.db.pool();
        let Some(first) = accounts::first_created(pool)
            .await?
            .and_then(date_of_millis)
        else {
            return Ok(Vec::new());
        };
        let today = self.ctx.clock.today();
        let current = BillingMonth::containing(today);
        let mut month = BillingMonth::containing(first);
        let mut due = Vec::new();
        while month < current {
            let accounts =
                accounts::count_created_before(pool, month.start_millis(), month.end_millis())
                    .await?;
            let settled = super::invoiced_accounts(pool, month, true).await?.len();
            if settled < accounts && settled + self.waiting(month, today).await? < accounts {
                due.push(month);
            }
            month = month.next();
        }
        Ok(due)
    }
}
