//! Billing information: the company invoices are made out to, the billing contact invoices
//! go to, the address and the tax id. One row per account; every query is scoped to it.

use sqlx::{Any, Executor};
use tally_core::{
    address::Address,
    audit::AuditKind,
    contact::{Email, Phone},
    forms::BillingInfo,
};

use crate::{
    actor::Actor,
    audit::{record, Event},
    context::Context,
    error::{Context as _, ServiceError},
};

/// The address columns shared by `billing_info` and `payment_methods`, in this order.
pub const ADDRESS_COLUMNS: &str = "country, line1, line2, city, region, postal_code";

/// An address as stored.
#[derive(Debug, sqlx::FromRow)]
pub struct AddressRow {
    pub country: String,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub region: Option<String>,
    pub postal_code: String,
}

impl From<AddressRow> for Address {
    fn from(r: AddressRow) -> Self {
        Address {
            country: r.country,
            line1: r.line1,
            line2: r.line2,
            city: r.city,
            region: r.region,
            postal_code: r.postal_code,
        }
    }
}

#[derive(sqlx::FromRow)]
struct InfoRow {
    company_name: String,
    contact_name: String,
    contact_email: String,
    contact_phone: Option<String>,
    tax_id: Option<String>,
    #[sqlx(flatten)]
    address: AddressRow,
}

/// The role codes that include billing, for SQL: `'admin_billing', 'command_runner_billing'`.
pub fn billing_role_codes() -> String {
    tally_core::roles::ALL_ROLES
        .into_iter()
        .filter(|r| r.has_billing())
        .map(|r| format!("'{}'", r.code()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// SQL for the id of the administrator who stands in as the billing contact of the account
/// `account` (an SQL expression) while it has no billing information: its first active
/// administrator with a billing role — set-up's administrator, as long as they are one.
fn stand_in_sql(account: &str) -> String {
    format!(
        "(SELECT si.id FROM admins si WHERE si.account_id = {account} AND si.status = 'active' \
         AND si.role IN ({}) ORDER BY si.created_at, si.id LIMIT 1)",
        billing_role_codes()
    )
}

/// SQL for the address of the billing contact of the account `account` (an SQL expression):
/// the billing information's contact, or while none is saved, the stand-in administrator's.
/// Every account with an active billing administrator has one, so its invoices and notices
/// always reach somebody.
pub fn contact_email_sql(account: &str) -> String {
    format!(
        "COALESCE((SELECT bc.contact_email FROM billing_info bc WHERE bc.account_id = {account}), \
         (SELECT sa.email FROM admins sa WHERE sa.id = {}))",
        stand_in_sql(account)
    )
}

/// The billing contact: who invoices, copies and payment notices go to.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct Contact {
    pub name: String,
    pub email: String,
    /// An administrator standing in because no billing information is saved yet.
    pub stand_in: bool,
}

/// The account's billing contact (see [`contact_email_sql`]), read in `exec`.
pub async fn contact<'e, E>(exec: E, account_id: &str) -> Result<Option<Contact>, ServiceError>
where
    E: Executor<'e, Database = Any>,
{
    #[derive(sqlx::FromRow)]
    struct Row {
        name: String,
        email: String,
        stand_in: i64,
    }
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT b.contact_name AS name, b.contact_email AS email, CAST(0 AS BIGINT) AS stand_in \
         FROM billing_info b WHERE b.account_id = $1 \
         UNION ALL \
         SELECT a.first_name || ' ' || a.last_name AS name, a.email, CAST(1 AS BIGINT) AS stand_in \
         FROM admins a WHERE a.id = {} \
         AND NOT EXISTS (SELECT 1 FROM billing_info b2 WHERE b2.account_id = $1)",
        stand_in_sql("$1")
    ))
    .bind(account_id)
    .fetch_optional(exec)
    .await
    .context("reading the billing contact")?;
    Ok(row.map(|r| Contact {
        name: r.name,
        email: r.email,
        stand_in: r.stand_in != 0,
    }))
}

/// Who gets an account's invoices and payment notices: the billing contact, then the active
/// billing administrators who opted in; each address once.
pub fn recipients(contact: Option<&str>, opted_in: Option<&Vec<String>>) -> Vec<String> {
    let mut to: Vec<String> = contact.map(str::to_string).into_iter().collect();
    for email in opted_in.into_iter().flatten() {
        if !to.iter().any(|t| t.eq_ignore_ascii_case(email)) {
            to.push(email.clone());
        }
    }
    to
}

/// The active billing administrators who opted in to invoices, for the accounts whose ids lie
/// between `first` and `last` (a chunk of a run, in id order), oldest first.
pub async fn opted_in_between<'e, E>(
    exec: E,
    first: &str,
    last: &str,
) -> Result<std::collections::HashMap<String, Vec<String>>, ServiceError>
where
    E: Executor<'e, Database = Any>,
{
    let rows: Vec<(String, String)> = sqlx::query_as(&format!(
        "SELECT account_id, email FROM admins WHERE account_id >= $1 AND account_id <= $2 \
         AND status = 'active' AND receives_invoices = TRUE AND role IN ({}) \
         ORDER BY account_id, created_at, id",
        billing_role_codes()
    ))
    .bind(first)
    .bind(last)
    .fetch_all(exec)
    .await
    .context("reading invoice opt-ins")?;
    let mut by_account: std::collections::HashMap<String, Vec<String>> = Default::default();
    for (account, email) in rows {
        by_account.entry(account).or_default().push(email);
    }
    Ok(by_account)
}

/// The account's billing information, if it was ever saved, read in `exec`.
pub async fn read<'e, E>(exec: E, account_id: &str) -> Result<Option<BillingInfo>, ServiceError>
where
    E: Executor<'e, Database = Any>,
{
    let row: Option<InfoRow> = sqlx::query_as(&format!(
        "SELECT company_name, contact_name, contact_email, contact_phone, tax_id, {ADDRESS_COLUMNS} \
         FROM billing_info WHERE account_id = $1"
    ))
    .bind(account_id)
    .fetch_optional(exec)
    .await
    .context("reading billing information")?;
    let Some(r) = row else { return Ok(None) };
    let broken =
        |what: &str| ServiceError::invariant("reading billing information", what.to_string());
    Ok(Some(BillingInfo {
        company_name: r.company_name,
        contact_name: r.contact_name,
        contact_email: Email::parse(&r.contact_email)
            .map_err(|_| broken("the stored contact email does not parse"))?,
        contact_phone: Phone::parse_optional(r.contact_phone.as_deref().unwrap_or_default())
            .map_err(|_| broken("the stored contact phone does not parse"))?,
        address: r.address.into(),
        tax_id: r.tax_id,
    }))
}

/// Saving billing information.
#[derive(Clone)]
pub struct BillingInformation {
    ctx: Context,
}

impl BillingInformation {
    pub fn new(ctx: Context) -> Self {
        Self { ctx }
    }

    /// The caller's account's billing information, if saved.
    pub async fn get(&self, actor: &Actor) -> Result<Option<BillingInfo>, ServiceError> {
        read(self.ctx.db.pool(), &actor.account_id).await
    }

    /// Saves validated billing information (audited). The billing contact becomes where
    /// invoices go.
    pub async fn save(&self, actor: &Actor, info: &BillingInfo) -> Result<(), ServiceError> {
        self.ctx.require_fresh(actor)?;
        let now = self.ctx.now();
        let a = &info.address;
        let mut tx = self
            .ctx
            .db
            .pool()
            .begin()
            .await
            .context("saving billing information")?;
        sqlx::query(&format!(
            "INSERT INTO billing_info (account_id, company_name, contact_name, contact_email, contact_phone, tax_id, {ADDRESS_COLUMNS}, updated_by, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
             ON CONFLICT (account_id) DO UPDATE SET company_name = excluded.company_name, contact_name = excluded.contact_name, \
             contact_email = excluded.contact_email, contact_phone = excluded.contact_phone, tax_id = excluded.tax_id, \
             country = excluded.country, line1 = excluded.line1, line2 = excluded.line2, city = excluded.city, \
             region = excluded.region, postal_code = excluded.postal_code, updated_by = excluded.updated_by, updated_at = excluded.updated_at"
        ))
        .bind(&actor.account_id)
        .bind(&info.company_name)
        .bind(&info.contact_name)
        .bind(info.contact_email.as_str())
        .bind(info.contact_phone.as_ref().map(|p| p.as_str().to_string()))
        .bind(&info.tax_id)
        .bind(&a.country)
        .bind(&a.line1)
        .bind(&a.line2)
        .bind(&a.city)
        .bind(&a.region)
        .bind(&a.postal_code)
        .bind(&actor.id)
        .bind(now)
        .execute(&mut *tx)
        .await
        .context("writing billing information")?;
        record(
            &mut *tx,
            now,
            AuditKind::BillingInfoChanged,
            Event::by(
                actor,
                &info.company_name,
                format!("billing contact {}", info.contact_email),
            ),
        )
        .await
        .context("auditing billing information")?;
        tx.commit().await.context("saving billing information")
    }
}
