//! The Billing page's data: overview, invoice history, one invoice, copies, the opt-in; and
//! the invoice PDF. Every query is scoped to the caller's account.

use sqlx::Row;
use tally_app::{
    api::{
        billing::CardSummary,
        invoices::{BillingOverview, InvoicePage, InvoiceSummary, INVOICES_PER_PAGE},
    },
    auth::CurrentAdmin,
    error::AppError,
    ports::{BillingService, InvoiceService},
};
use tally_core::{
    audit::AuditKind,
    billing::{next_charge_date, peak_users, BillingMonth, CountChange, Plan},
    expiry::Expiry,
    money::Money,
    roles::Role,
};

use crate::{
    audit::{record, Event},
    auth::{internal, Auth},
    billing::Billing,
    db::Database,
    invoicing::Invoicing,
};

pub struct Invoices {
    pub auth: Auth,
    pub billing: Billing,
    pub invoicing: Invoicing,
}

const COLUMNS: &str = "id, number, month, peak_users, free_users, price_per_user_cents, amount_cents, status, company_name, created_at, paid_at";

fn summary_of(r: &sqlx::any::AnyRow) -> InvoiceSummary {
    InvoiceSummary {
        id: r.get("id"),
        number: r.get("number"),
        month: r.get("month"),
        peak_users: r.get::<i64, _>("peak_users").max(0) as u64,
        free_users: r.get::<i64, _>("free_users").max(0) as u64,
        price_per_user_cents: r.get("price_per_user_cents"),
        amount_cents: r.get("amount_cents"),
        status: r.get("status"),
        company_name: r.get("company_name"),
        created_at: r.get("created_at"),
        paid_at: r.get("paid_at"),
    }
}

/// One invoice of `account_id`, or 404 (the Billing page and the PDF route).
pub async fn find_invoice(
    db: &Database,
    account_id: &str,
    id: &str,
) -> Result<InvoiceSummary, AppError> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM invoices WHERE id = $1 AND account_id = $2"
    ))
    .bind(id)
    .bind(account_id)
    .fetch_optional(db.pool())
    .await
    .map_err(internal)?
    .map(|r| summary_of(&r))
    .ok_or(AppError::NotFound)
}

#[async_trait::async_trait]
impl InvoiceService for Invoices {
    async fn overview(&self, actor: &CurrentAdmin) -> Result<BillingOverview, AppError> {
        let pool = self.auth.db.pool();
        let account = actor.account_id.as_str();
        let today = self.auth.clock.today();
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
        .map_err(internal)?;
        let since_opening = sqlx::query_as::<_, (i64, i64)>(
            "SELECT at, delta FROM user_count_changes WHERE account_id = $1 AND at > $2",
        )
        .bind(account)
        .bind(opening_at)
        .fetch_all(pool)
        .await
        .map_err(internal)?;
        let changes: Vec<CountChange> = std::iter::once((opening_at, opening))
            .chain(since_opening)
            .map(|(at_millis, delta)| CountChange { at_millis, delta })
            .collect();
        let users_now = changes.iter().map(|c| c.delta).sum::<i64>().max(0) as u64;
        let peak = peak_users(&changes, month);
        let plan = Plan::per_user(self.auth.settings.price_per_user);
        let settings = self.billing.settings(actor).await?;
        let next_charge = next_charge_date(today);
        let card: Option<CardSummary> = settings.card;
        let card_expires_before_charge = card.as_ref().is_some_and(|c| {
            Expiry::from_parts(c.exp_year, c.exp_month)
                .is_some_and(|e| e.expires_before(next_charge))
        });
        let rows = sqlx::query(
            "SELECT id, email, role, CAST(CASE WHEN receives_invoices THEN 1 ELSE 0 END AS BIGINT) AS opted \
             FROM admins WHERE account_id = $1 AND status = 'active' ORDER BY created_at, id",
        )
        .bind(account)
        .fetch_all(pool)
        .await
        .map_err(internal)?;
        let mut opted_in = Vec::new();
        let mut me_opted_in = false;
        for r in rows {
            let billing =
                Role::from_code(&r.get::<String, _>("role")).is_some_and(Role::has_billing);
            if billing && r.get::<i64, _>("opted") != 0 {
                if r.get::<String, _>("id") == actor.id {
                    me_opted_in = true;
                }
                opted_in.push(r.get("email"));
            }
        }
        let past_due: i64 = sqlx::query_scalar(
            "SELECT CAST(CASE WHEN past_due THEN 1 ELSE 0 END AS BIGINT) FROM accounts WHERE id = $1",
        )
        .bind(account)
        .fetch_one(pool)
        .await
        .map_err(internal)?;
        Ok(BillingOverview {
            price_per_user_cents: plan.price_per_user.cents(),
            free_users: plan.free_users,
            users_now,
            peak_so_far: peak,
            projected_cents: plan.invoice_amount(peak).map_or(i64::MAX, Money::cents),
            month: month.to_string(),
            next_charge_date: next_charge,
            card,
            card_expires_before_charge,
            contact_name: settings.info.as_ref().map(|i| i.contact_name.clone()),
            contact_email: settings.info.as_ref().map(|i| i.contact_email.to_string()),
            opted_in,
            me_opted_in,
            past_due: past_due != 0,
        })
    }

    async fn list(&self, actor: &CurrentAdmin, page: u32) -> Result<InvoicePage, AppError> {
        let pool = self.auth.db.pool();
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM invoices WHERE account_id = $1")
            .bind(&actor.account_id)
            .fetch_one(pool)
            .await
            .map_err(internal)?;
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM invoices WHERE account_id = $1 ORDER BY month DESC LIMIT $2 OFFSET $3"
        ))
        .bind(&actor.account_id)
        .bind(i64::from(INVOICES_PER_PAGE))
        .bind(i64::from(page.saturating_sub(1)) * i64::from(INVOICES_PER_PAGE))
        .fetch_all(pool)
        .await
        .map_err(internal)?;
        Ok(InvoicePage {
            invoices: rows.iter().map(summary_of).collect(),
            total: total.max(0) as u64,
            page,
            per_page: INVOICES_PER_PAGE,
        })
    }

    async fn get(&self, actor: &CurrentAdmin, id: &str) -> Result<InvoiceSummary, AppError> {
        find_invoice(&self.auth.db, &actor.account_id, id).await
    }

    async fn request_copy(
        &self,
        actor: &CurrentAdmin,
        id: &str,
        ip: Option<String>,
    ) -> Result<String, AppError> {
        let invoice = find_invoice(&self.auth.db, &actor.account_id, id).await?;
        let to = match self.invoicing.send_copy(&actor.account_id, id).await.map_err(internal)? {
            None => return Err(AppError::NotFound),
            Some(to) if to.is_empty() => {
                return Err(AppError::Conflict(
                    "There is no billing contact to send it to. Add one under Payments → Billing Information.".into(),
                ))
            }
            Some(to) => to,
        };
        record(
            self.auth.db.pool(),
            self.auth.clock.now_millis(),
            AuditKind::InvoiceCopyRequested,
            Event::by(
                actor,
                &invoice.number,
                ip.as_deref(),
                format!("sent to {to}"),
            ),
        )
        .await
        .map_err(internal)?;
        Ok(to)
    }

    async fn set_receive(
        &self,
        actor: &CurrentAdmin,
        on: bool,
        ip: Option<String>,
    ) -> Result<(), AppError> {
        sqlx::query("UPDATE admins SET receives_invoices = $1 WHERE id = $2 AND account_id = $3")
            .bind(on)
            .bind(&actor.id)
            .bind(&actor.account_id)
            .execute(self.auth.db.pool())
            .await
            .map_err(internal)?;
        record(
            self.auth.db.pool(),
            self.auth.clock.now_millis(),
            AuditKind::InvoiceRecipientChanged,
            Event::by(
                actor,
                &actor.email,
                ip.as_deref(),
                if on {
                    "receives invoices".into()
                } else {
                    "no longer receives invoices".into()
                },
            ),
        )
        .await
        .map_err(internal)
    }
}

/// The invoice as a one-page PDF (A4, Helvetica).
pub fn invoice_pdf(invoice: &InvoiceSummary) -> Vec<u8> {
    use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str};

    // Helvetica with WinAnsiEncoding covers Latin-1; anything else prints as "?".
    fn latin1(s: &str) -> Vec<u8> {
        s.chars()
            .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
            .collect()
    }
    let money = |cents: i64| Money::from_cents(cents).to_string();
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let page = Ref::new(3);
    let font = Ref::new(4);
    let bold = Ref::new(5);
    let contents = Ref::new(6);
    let mut pdf = Pdf::new();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree).kids([page]).count(1);
    let mut p = pdf.page(page);
    p.media_box(Rect::new(0.0, 0.0, 595.0, 842.0));
    p.parent(tree);
    p.contents(contents);
    let mut resources = p.resources();
    resources
        .fonts()
        .pair(Name(b"F1"), font)
        .pair(Name(b"F2"), bold);
    resources.finish();
    p.finish();
    pdf.type1_font(font)
        .base_font(Name(b"Helvetica"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.type1_font(bold)
        .base_font(Name(b"Helvetica-Bold"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));

    let billable = invoice.peak_users.saturating_sub(invoice.free_users);
    let lines: Vec<(bool, f32, String)> = vec![
        (true, 20.0, format!("Invoice {}", invoice.number)),
        (false, 12.0, String::new()),
        (false, 12.0, format!("Billed to: {}", invoice.company_name)),
        (false, 12.0, format!("Period: {}", invoice.month)),
        (false, 12.0, String::new()),
        (
            false,
            12.0,
            format!("Peak users in the month: {}", invoice.peak_users),
        ),
        (false, 12.0, format!("Free users: {}", invoice.free_users)),
        (
            false,
            12.0,
            format!(
                "Billable users: {billable} x {}",
                money(invoice.price_per_user_cents)
            ),
        ),
        (false, 12.0, String::new()),
        (
            true,
            14.0,
            format!("Total: {}", money(invoice.amount_cents)),
        ),
        (false, 12.0, format!("Status: {}", invoice.status_label())),
        (false, 12.0, String::new()),
        (false, 10.0, "Tally - admin and billing portal".to_string()),
    ];
    let mut content = Content::new();
    let mut y = 780.0;
    for (is_bold, size, text) in lines {
        content.begin_text();
        content.set_font(Name(if is_bold { b"F2" } else { b"F1" }), size);
        content.next_line(56.0, y);
        content.show(Str(&latin1(&text)));
        content.end_text();
        y -= size + 10.0;
    }
    pdf.stream(contents, &content.finish());
    pdf.finish()
}
