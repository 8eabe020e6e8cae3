//! Invoices as the Billing page reads them: this month's projection, the history, one
//! invoice, a copy by email, and the "email invoices to me" opt-in. Every query is scoped to
//! the caller's account. The billing run (`billing_run`) makes them.

use tally_app::api::invoices::INVOICES_PER_PAGE;
use tally_core::{
    audit::AuditKind,
    billing::{daily_peaks, next_charge_date, peak_users, BillingMonth, CountChange, Plan},
    expiry::Expiry,
    money::Money,
    roles::Role,
    NaiveDate,
};

use crate::{
    actor::Actor,
    audit::{record, record_many, Event},
    billing_info,
    charts::MonthBar,
    context::Context,
    db::offset,
    emails,
    error::{Context as _, ServiceError},
    mail::Email,
    payment_method::{card_on_file, SavedCard},
    throttle,
};

/// An invoice as stored.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct Invoice {
    pub id: String,
    pub number: String,
    /// `YYYY-MM`.
    pub month: String,
    pub peak_users: i64,
    pub free_users: i64,
    pub price_per_user_cents: i64,
    pub amount_cents: i64,
    /// open, paid, failed, past_due, action_required (waiting for the cardholder's bank) or
    /// zero.
    pub status: String,
    pub company_name: String,
    pub created_at: i64,
    pub paid_at: Option<i64>,
    /// Whom it is made out to, one line each, as it was when it was made.
    pub billed_to: Option<String>,
    /// The card it was to be charged to when it was made ("Visa •••• 4242").
    pub card_label: Option<String>,
}

impl Invoice {
    /// How the invoice's status reads.
    pub fn status_label(&self) -> &'static str {
        tally_core::billing::invoice_status_label(&self.status)
    }
}

const COLUMNS: &str = "id, number, month, peak_users, free_users, price_per_user_cents, amount_cents, status, company_name, created_at, paid_at, billed_to, card_label";

/// The Billing page's summary of the month so far.
#[derive(Clone, Debug)]
pub struct Overview {
    pub price_per_user_cents: i64,
    pub free_users: u64,
    /// Users now (active and suspended).
    pub users_now: u64,
    /// The largest user count of this month so far.
    pub peak_so_far: u64,
    /// What this month would cost if the peak stayed where it is.
    pub projected_cents: i64,
    /// This month, `YYYY-MM`.
    pub month: String,
    pub next_charge_date: NaiveDate,
    pub card: Option<SavedCard>,
    pub card_expires_before_charge: bool,
    /// The billing contact: the billing information's, or the administrator standing in
    /// while there is none.
    pub contact_name: Option<String>,
    pub contact_email: Option<String>,
    /// Billing information was saved (else the Overview and Billing pages say so).
    pub has_billing_info: bool,
    /// Billing admins who opted in to invoice emails.
    pub opted_in: Vec<String>,
    /// The caller gets invoices by email.
    pub caller_opted_in: bool,
    pub past_due: bool,
    /// The largest user count of each day of this month so far.
    pub daily: Vec<u64>,
    /// The last 12 invoices, oldest first.
    pub months: Vec<MonthBar>,
}

/// A page of invoices and how many there are.
#[derive(Clone, Debug)]
pub struct InvoiceListing {
    pub invoices: Vec<Invoice>,
    pub total: u64,
}

#[derive(sqlx::FromRow)]
struct OptInRow {
    id: String,
    email: String,
    role: String,
    opted: i64,
}

/// The essentials of an invoice in a few lines, for its emails' text.
pub fn summary_lines(invoice: &Invoice) -> Vec<String> {
    let money = |cents: i64| Money::from_cents(cents).to_string();
    let billable = (invoice.peak_users - invoice.free_users).max(0);
    let mut lines = vec![
        format!("Invoice: {}", invoice.number),
        format!(
            "Billing period: {}",
            crate::invoice_pdf::period(&invoice.month)
        ),
        format!(
            "Peak users: {}, of which {} free",
            invoice.peak_users, invoice.free_users
        ),
        format!(
            "{billable} \u{d7} {} = {}",
            money(invoice.price_per_user_cents),
            money(invoice.amount_cents)
        ),
        format!("Total: {}", money(invoice.amount_cents)),
    ];
    lines.push(match (&invoice.card_label, invoice.amount_cents) {
        (_, 0) => "Nothing is due.".to_string(),
        (Some(card), _) => format!("Charged to {card}."),
        (None, _) => "It is charged to the card on file.".to_string(),
    });
    lines
}

/// The emails of an invoice, one to each of `to`: the monthly one, or (`copy`) a copy asked
/// for; each with the invoice as a PDF (`pdf`, from [`crate::invoice_pdf::render`]).
pub fn invoice_emails(
    ctx: &Context,
    invoice: &Invoice,
    pdf: &[u8],
    to: &[String],
    copy: bool,
) -> Vec<Email> {
    let lines = summary_lines(invoice);
    let month_label = BillingMonth::parse(&invoice.month)
        .map_or_else(|| invoice.month.clone(), BillingMonth::label);
    let url = ctx.link(&format!("/billing/invoices/{}", invoice.id));
    to.iter()
        .map(|recipient| {
            emails::invoice(
                recipient,
                &invoice.number,
                &month_label,
                &lines,
                &url,
                copy,
                pdf.to_vec(),
            )
        })
        .collect()
}

/// Renders invoices' PDFs on the blocking pool (CPU work), in order.
pub async fn render_pdfs(invoices: Vec<Invoice>) -> Result<Vec<(Invoice, Vec<u8>)>, ServiceError> {
    tokio::task::spawn_blocking(move || {
        invoices
            .into_iter()
            .map(|i| {
                let pdf = crate::invoice_pdf::render(&i);
                (i, pdf)
            })
            .collect()
    })
    .await
    .map_err(|e| ServiceError::invariant("rendering invoice PDFs", e.to_string()))
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

    /// One invoice of the account, or not found.
    pub async fn get(&self, account_id: &str, id: &str) -> Result<Invoice, ServiceError> {
        sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM invoices WHERE id = $1 AND account_id = $2"
        ))
        .bind(id)
        .bind(account_id)
        .fetch_optional(self.ctx.db.pool())
        .await
        .context("reading an invoice")?
        .ok_or(ServiceError::NotFound)
    }

    /// This month so far: users, peak, projection, the card, who gets invoices.
    pub async fn overview(&self, actor: &Actor) -> Result<Overview, ServiceError> {
        let pool = self.ctx.db.pool();
        let account = actor.account_id.as_str();
        let today = self.ctx.clock.today();
        let month = BillingMonth::containing(today);
        // The count at the month's opening instant as one change, then the month's own
        // changes: the same peak as the whole history, read through the (account, at) index
        // without the account's older history.
        let opening_at = month.start_millis();
        let opening: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(delta), 0) AS BIGINT) FROM user_count_changes \
             WHERE account_id = $1 AND at <= $2",
        )
        .bind(account)
        .bind(opening_at)
        .fetch_one(pool)
        .await
        .context("summing the user count at the month's start")?;
        let since_opening: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT at, delta FROM user_count_changes WHERE account_id = $1 AND at > $2",
        )
        .bind(account)
        .bind(opening_at)
        .fetch_all(pool)
        .await
        .context("reading this month's user count changes")?;
        let changes: Vec<CountChange> = std::iter::once((opening_at, opening))
            .chain(since_opening)
            .map(|(at_millis, delta)| CountChange { at_millis, delta })
            .collect();
        let users_now = changes.iter().map(|c| c.delta).sum::<i64>().max(0) as u64;
        let peak = peak_users(&changes, month);
        let daily = daily_peaks(&changes, month, today);
        let mut months: Vec<MonthBar> = sqlx::query_as::<_, (String, i64, i64)>(
            "SELECT month, peak_users, amount_cents FROM invoices WHERE account_id = $1 ORDER BY month DESC LIMIT 12",
        )
        .bind(account)
        .fetch_all(pool)
        .await
        .context("reading the last months' invoices")?
        .into_iter()
        .map(|(month, peak, amount)| MonthBar {
            month,
            peak_users: peak.max(0) as u64,
            amount_cents: amount,
        })
        .collect();
        months.reverse();
        let plan = Plan::per_user(self.ctx.settings.price_per_user);
        let info = billing_info::read(pool, account).await?;
        let contact = billing_info::contact(pool, account).await?;
        let card = card_on_file(pool, account).await?;
        let next_charge = next_charge_date(today);
        let card_expires_before_charge = card.as_ref().is_some_and(|c| {
            Expiry::from_parts(c.exp_year, c.exp_month)
                .is_some_and(|e| e.expires_before(next_charge))
        });
        let admins: Vec<OptInRow> = sqlx::query_as(
            "SELECT id, email, role, CAST(CASE WHEN receives_invoices THEN 1 ELSE 0 END AS BIGINT) AS opted \
             FROM admins WHERE account_id = $1 AND status = 'active' ORDER BY created_at, id",
        )
        .bind(account)
        .fetch_all(pool)
        .await
        .context("reading invoice recipients")?;
        let mut opted_in = Vec::new();
        let mut caller_opted_in = false;
        for a in admins {
            if a.opted != 0 && Role::from_code(&a.role).is_some_and(Role::has_billing) {
                caller_opted_in |= a.id == actor.id;
                opted_in.push(a.email);
            }
        }
        let past_due: i64 = sqlx::query_scalar(
            "SELECT CAST(CASE WHEN past_due THEN 1 ELSE 0 END AS BIGINT) FROM accounts WHERE id = $1",
        )
        .bind(account)
        .fetch_one(pool)
        .await
        .context("reading whether the account is past due")?;
        Ok(Overview {
            price_per_user_cents: plan.price_per_user.cents(),
            free_users: plan.free_users,
            users_now,
            peak_so_far: peak,
            projected_cents: plan.invoice_amount(peak).map_or(i64::MAX, Money::cents),
            month: month.to_string(),
            next_charge_date: next_charge,
            card,
            card_expires_before_charge,
            contact_name: contact.as_ref().map(|c| c.name.clone()),
            contact_email: contact.as_ref().map(|c| c.email.clone()),
            has_billing_info: info.is_some(),
            opted_in,
            caller_opted_in,
            past_due: past_due != 0,
            daily,
            months,
        })
    }

    /// The invoice history, newest first; `page` counts from 1.
    pub async fn list(&self, actor: &Actor, page: u32) -> Result<InvoiceListing, ServiceError> {
        let pool = self.ctx.db.pool();
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM invoices WHERE account_id = $1")
            .bind(&actor.account_id)
            .fetch_one(pool)
            .await
            .context("counting invoices")?;
        let invoices: Vec<Invoice> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM invoices WHERE account_id = $1 ORDER BY month DESC LIMIT $2 OFFSET $3"
        ))
        .bind(&actor.account_id)
        .bind(i64::from(INVOICES_PER_PAGE))
        .bind(offset(page, INVOICES_PER_PAGE))
        .fetch_all(pool)
        .await
        .context("reading a page of invoices")?;
        Ok(InvoiceListing {
            invoices,
            total: total.max(0) as u64,
        })
    }

    /// Emails a copy of an invoice to the account's billing contact (billing requests are
    /// answered to the billing contact, not to whoever asks); returns that address.
    pub async fn request_copy(&self, actor: &Actor, id: &str) -> Result<String, ServiceError> {
        let invoice = self.get(&actor.account_id, id).await?;
        throttle::check(
            &self.ctx,
            throttle::INVOICE_COPY_PER_ACCOUNT,
            &actor.account_id,
        )
        .await?;
        let pool = self.ctx.db.pool();
        let Some(contact) = billing_info::contact(pool, &actor.account_id).await? else {
            return Err(ServiceError::Conflict(
                "There is no billing contact to send it to. Add one under Payments → Billing Information.".into(),
            ));
        };
        let to = contact.email;
        let (invoice, pdf) = render_pdfs(vec![invoice])
            .await?
            .pop()
            .expect("one PDF per invoice");
        let email = invoice_emails(&self.ctx, &invoice, &pdf, std::slice::from_ref(&to), true)
            .pop()
            .expect("one email per recipient");
        let now = self.ctx.now();
        let mut tx = pool.begin().await.context("sending an invoice copy")?;
        let message = self
            .ctx
            .outbox
            .queue(&mut *tx, &email)
            .await
            .context("queueing an invoice copy")?;
        let emailed = Event::system(&actor.account_id, &to, invoice.number.clone());
        let requested = Event::by(actor, &invoice.number, format!("sent to {to}"));
        record_many(
            &mut tx,
            now,
            &[
                (AuditKind::InvoiceEmailed, emailed),
                (AuditKind::InvoiceCopyRequested, requested),
            ],
        )
        .await
        .context("auditing an invoice copy")?;
        tx.commit().await.context("saving an invoice copy")?;
        self.ctx.outbox.deliver_queued(&message).await;
        Ok(to)
    }

    /// "Also email invoices to me", for the caller.
    pub async fn set_receive(&self, actor: &Actor, on: bool) -> Result<(), ServiceError> {
        let now = self.ctx.now();
        let mut tx = self
            .ctx
            .db
            .pool()
            .begin()
            .await
            .context("changing the invoice opt-in")?;
        sqlx::query("UPDATE admins SET receives_invoices = $1 WHERE id = $2 AND account_id = $3")
            .bind(on)
            .bind(&actor.id)
            .bind(&actor.account_id)
            .execute(&mut *tx)
            .await
            .context("saving the invoice opt-in")?;
        let detail = if on {
            "receives invoices"
        } else {
            "no longer receives invoices"
        };
        record(
            &mut *tx,
            now,
            AuditKind::InvoiceRecipientChanged,
            Event::by(actor, &actor.email, detail.into()),
        )
        .await
        .context("auditing the invoice opt-in")?;
        tx.commit().await.context("saving the invoice opt-in")
    }
}
