//! Billing information (owner of `billing_info`): the company invoices are made out to, the
//! billing contact invoices go to, the address and the tax id. One row per account; every
//! query is scoped to it. Until it is saved, the account's first active billing administrator
//! stands in as the billing contact, so invoices and notices always reach somebody.

use std::collections::HashMap;

use sqlx::{Any, Executor};
use tally_core::{
    actor::Actor,
    audit::AuditKind,
    billing_contacts::{Addressed, Subscription},
    contact::{Email, Phone},
    forms::BillingInfo,
    invoice_fields::InvoiceFields,
    locale::Locale,
    tax_id::TaxId,
};

use super::AddressRow;
use crate::{
    identity::accounts::admins::{self, BillingAdmin},
    platform::{
        audit::Event,
        context::Context,
        error::{ResultExt, ServiceError},
        i18n::Words,
        mail::Mail,
    },
};

/// Billing information as stored.
#[derive(sqlx::FromRow)]
struct InfoRow {
    account_id: String,
    company_name: String,
    contact_name: String,
    contact_email: String,
    contact_phone: Option<String>,
    tax_id: Option<String>,
    #[sqlx(flatten)]
    address: AddressRow,
}

impl InfoRow {
    fn into_info(self) -> Result<BillingInfo, ServiceError> {
        let broken =
            |what: &str| ServiceError::invariant("reading billing information", what.to_string());
        Ok(BillingInfo {
            company_name: self.company_name,
            contact_name: self.contact_name,
            contact_email: Email::parse(&self.contact_email)
                .map_err(|_| broken("the stored contact email does not parse"))?,
            contact_phone: Phone::parse_optional(self.contact_phone.as_deref().unwrap_or_default())
                .map_err(|_| broken("the stored contact phone does not parse"))?,
            address: self.address.into(),
            tax_id: self.tax_id.as_deref().map(TaxId::stored),
        })
    }
}

const INFO: &str = "account_id, company_name, contact_name, contact_email, contact_phone, tax_id, \
    country, line1, line2, city, region, postal_code";

/// The billing contact: who invoices, copies and payment notices go to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contact {
    pub name: String,
    pub email: String,
    /// An administrator standing in because no billing information is saved yet.
    pub stand_in: bool,
}

impl Contact {
    fn stand_in(admin: &BillingAdmin) -> Self {
        Contact {
            name: admin.full_name(),
            email: admin.email.clone(),
            stand_in: true,
        }
    }
}

/// Who gets an account's invoices and payment notices: the billing contact, then the active
/// billing administrators who opted in; each address once.
pub fn recipients(contact: Option<&str>, opted_in: &[String]) -> Vec<String> {
    let mut to: Vec<String> = contact.map(str::to_string).into_iter().collect();
    for email in opted_in {
        if !to.iter().any(|t| t.eq_ignore_ascii_case(email)) {
            to.push(email.clone());
        }
    }
    to
}

/// The account's billing information, if it was ever saved, read in `exec`.
pub async fn read<'e, E>(exec: E, account_id: &str) -> Result<Option<BillingInfo>, ServiceError>
where
    E: Executor<'e, Database = Any>,
{
    let row: Option<InfoRow> = sqlx::query_as(&format!(
        "SELECT {INFO} FROM billing_info WHERE account_id = $1"
    ))
    .bind(account_id)
    .fetch_optional(exec)
    .await
    .context("reading billing information")?;
    row.map(InfoRow::into_info).transpose()
}

/// The account's billing contact: the billing information's, or the stand-in administrator's.
pub async fn contact(
    pool: &sqlx::AnyPool,
    account_id: &str,
) -> Result<Option<Contact>, ServiceError> {
    if let Some(info) = read(pool, account_id).await? {
        return Ok(Some(Contact {
            name: info.contact_name,
            email: info.contact_email.to_string(),
            stand_in: false,
        }));
    }
    let billing_admins = admins::billing_admins(pool, account_id).await?;
    Ok(billing_admins.first().map(Contact::stand_in))
}

/// Billing facts of a chunk of accounts (ids from `first` to `last`): each one's billing
/// information, its contact, and its billing administrators who opted in to invoices.
#[derive(Default)]
pub struct Chunk {
    pub info: HashMap<String, BillingInfo>,
    /// The PO numbers and fields of their own the accounts want on their invoices.
    pub fields: HashMap<String, InvoiceFields>,
    pub contacts: HashMap<String, Contact>,
    pub opted_in: HashMap<String, Vec<String>>,
    /// The accounts' billing contacts ([`super::contacts`]).
    pub billing_contacts: HashMap<String, Vec<tally_core::billing_contacts::BillingContact>>,
}

impl Chunk {
    /// Who gets the account's invoices and notices, each a message of their own.
    pub fn recipients(&self, account_id: &str) -> Vec<String> {
        recipients(
            self.contacts.get(account_id).map(|c| c.email.as_str()),
            self.opted_in.get(account_id).map_or(&[][..], Vec::as_slice),
        )
    }

    /// The language of the account's documents and billing emails.
    pub fn language(&self, account_id: &str) -> Locale {
        self.fields
            .get(account_id)
            .map(|f| f.language)
            .unwrap_or_default()
    }

    /// The messages of `kind` to the account's billing contacts, one per language (leaving
    /// out those who get [`Chunk::recipients`]' messages).
    pub fn contact_lines(&self, account_id: &str, kind: Subscription) -> Lines {
        let account = self.language(account_id);
        Lines {
            account,
            messages: super::contacts::lines(
                self.billing_contacts
                    .get(account_id)
                    .map_or(&[][..], Vec::as_slice),
                kind,
                &self.recipients(account_id),
                account,
            ),
        }
    }
}

/// Who gets one kind of billing message besides its own recipients (the billing
/// information's contact and the administrators who opted in, who read the account's
/// language): the billing contacts, one message per language with its To and Cc lines.
#[derive(Clone, Debug, Default)]
pub struct Lines {
    /// The account's language.
    pub account: Locale,
    pub messages: Vec<Addressed>,
}

impl Lines {
    /// Every billing contact's address, To and Cc.
    pub fn addresses(&self) -> impl Iterator<Item = &String> {
        self.messages.iter().flat_map(|m| m.to.iter().chain(&m.cc))
    }

    /// The languages the message is written in: the account's first, then the contacts'.
    pub fn languages(&self) -> Vec<Locale> {
        let mut all = vec![self.account];
        for m in &self.messages {
            if !all.contains(&m.locale) {
                all.push(m.locale);
            }
        }
        all
    }
}

/// The messages built by `build` for an address in a language: one to each of `each` in the
/// account's, and one more to the billing contacts of each language on `lines`.
pub fn addressed_mail(
    each: &[String],
    lines: &Lines,
    build: impl Fn(&str, Words) -> Mail,
) -> Vec<Mail> {
    let mut mail: Vec<Mail> = each
        .iter()
        .map(|to| build(to, Words(lines.account)))
        .collect();
    for m in &lines.messages {
        if let Some(first) = m.to.first() {
            mail.push(build(first, Words(m.locale)).addressed(&m.to, &m.cc));
        }
    }
    mail
}

/// The messages of `kind` to the account's billing contacts, read from `pool`, leaving out
/// `already`.
pub async fn contact_lines(
    pool: &sqlx::AnyPool,
    account_id: &str,
    kind: Subscription,
    already: &[String],
) -> Result<Lines, ServiceError> {
    let contacts = super::contacts::of_account(pool, account_id).await?;
    let account = language(pool, account_id).await?;
    Ok(Lines {
        account,
        messages: super::contacts::lines(&contacts, kind, already, account),
    })
}

/// The language of the account's documents and billing emails (English until chosen).
pub async fn language(pool: &sqlx::AnyPool, account_id: &str) -> Result<Locale, ServiceError> {
    Ok(fields(pool, account_id).await?.language)
}

/// Reads [`Chunk`] for the accounts whose ids lie between `first` and `last`.
pub async fn chunk(pool: &sqlx::AnyPool, first: &str, last: &str) -> Result<Chunk, ServiceError> {
    let rows: Vec<InfoRow> = sqlx::query_as(&format!(
        "SELECT {INFO} FROM billing_info WHERE account_id >= $1 AND account_id <= $2"
    ))
    .bind(first)
    .bind(last)
    .fetch_all(pool)
    .await
    .context("reading billing information")?;
    let mut chunk = Chunk::default();
    for row in rows {
        let account = row.account_id.clone();
        let info = row.into_info()?;
        chunk.contacts.insert(
            account.clone(),
            Contact {
                name: info.contact_name.clone(),
                email: info.contact_email.to_string(),
                stand_in: false,
            },
        );
        chunk.info.insert(account, info);
    }
    let rows: Vec<(String, Option<String>, String, String)> = sqlx::query_as(
        "SELECT account_id, po_number, custom, language FROM invoice_fields WHERE account_id >= $1 AND account_id <= $2",
    )
    .bind(first)
    .bind(last)
    .fetch_all(pool)
    .await
    .context("reading invoice fields")?;
    for (account, po_number, custom, language) in rows {
        chunk
            .fields
            .insert(account, fields_of(po_number, &custom, &language)?);
    }
    chunk.billing_contacts = super::contacts::between(pool, first, last).await?;
    for admin in admins::billing_admins_between(pool, first, last).await? {
        chunk
            .contacts
            .entry(admin.account_id.clone())
            .or_insert_with(|| Contact::stand_in(&admin));
        if admin.opted_in() {
            chunk
                .opted_in
                .entry(admin.account_id.clone())
                .or_default()
                .push(admin.email);
        }
    }
    Ok(chunk)
}

fn fields_of(
    po_number: Option<String>,
    custom: &str,
    language: &str,
) -> Result<InvoiceFields, ServiceError> {
    let custom = serde_json::from_str(custom).map_err(|e| {
        ServiceError::invariant("reading invoice fields", format!("stored fields: {e}"))
    })?;
    Ok(InvoiceFields {
        po_number,
        custom,
        language: Locale::from_code(language).unwrap_or_default(),
    })
}

/// The account's PO number and fields of its own, as saved (none yet: empty).
pub async fn fields<'e, E>(exec: E, account_id: &str) -> Result<InvoiceFields, ServiceError>
where
    E: Executor<'e, Database = Any>,
{
    let row: Option<(Option<String>, String, String)> = sqlx::query_as(
        "SELECT po_number, custom, language FROM invoice_fields WHERE account_id = $1",
    )
    .bind(account_id)
    .fetch_optional(exec)
    .await
    .context("reading invoice fields")?;
    row.map_or(Ok(InvoiceFields::default()), |(po, custom, language)| {
        fields_of(po, &custom, &language)
    })
}

/// Saving billing information.
#[derive(Clone)]
pub struct BillingInformation {
    ctx: Context,
}

/// Makes `info` the account's billing information, changed by `updated_by` (an
/// administrator's id; `None` for the demo's seed) at `at`.
async fn write<'e, E>(
    exec: E,
    account_id: &str,
    info: &BillingInfo,
    updated_by: Option<&str>,
    at: i64,
) -> Result<(), ServiceError>
where
    E: Executor<'e, Database = Any>,
{
    let a = &info.address;
    sqlx::query(
        "INSERT INTO billing_info (account_id, company_name, contact_name, contact_email, contact_phone, tax_id, \
         country, line1, line2, city, region, postal_code, updated_by, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
         ON CONFLICT (account_id) DO UPDATE SET company_name = excluded.company_name, contact_name = excluded.contact_name, \
         contact_email = excluded.contact_email, contact_phone = excluded.contact_phone, tax_id = excluded.tax_id, \
         country = excluded.country, line1 = excluded.line1, line2 = excluded.line2, city = excluded.city, \
         region = excluded.region, postal_code = excluded.postal_code, updated_by = excluded.updated_by, updated_at = excluded.updated_at",
    )
    .bind(account_id)
    .bind(&info.company_name)
    .bind(&info.contact_name)
    .bind(info.contact_email.as_str())
    .bind(info.contact_phone.as_ref().map(|p| p.as_str().to_string()))
    .bind(info.tax_id.as_ref().map(TaxId::normal))
    .bind(&a.country)
    .bind(&a.line1)
    .bind(&a.line2)
    .bind(&a.city)
    .bind(&a.region)
    .bind(&a.postal_code)
    .bind(updated_by)
    .bind(at)
    .execute(exec)
    .await
    .context("writing billing information")?;
    Ok(())
}

impl BillingInformation {
    pub fn new(ctx: Context) -> Self {
        Self { ctx }
    }

    /// The caller's account's billing information, if saved.
    pub async fn get(&self, actor: &Actor) -> Result<Option<BillingInfo>, ServiceError> {
        read(self.ctx.db.pool(), &actor.account_id).await
    }

    /// The PO number and fields of its own the caller's account has printed on its invoices.
    pub async fn invoice_fields(&self, actor: &Actor) -> Result<InvoiceFields, ServiceError> {
        fields(self.ctx.db.pool(), &actor.account_id).await
    }

    /// Saves what the caller's account's invoices print from now on (audited); invoices
    /// already made keep what they had.
    pub async fn save_invoice_fields(
        &self,
        actor: &Actor,
        f: &InvoiceFields,
    ) -> Result<(), ServiceError> {
        self.ctx.require_fresh(actor)?;
        let custom = serde_json::to_string(&f.custom)
            .map_err(|e| ServiceError::invariant("saving invoice fields", e.to_string()))?;
        let mut work = self.ctx.begin("saving invoice fields").await?;
        let now = work.now();
        sqlx::query(
            "INSERT INTO invoice_fields (account_id, po_number, custom, updated_at, language) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (account_id) DO UPDATE SET po_number = excluded.po_number, custom = excluded.custom, \
             updated_at = excluded.updated_at, language = excluded.language",
        )
        .bind(&actor.account_id)
        .bind(f.po_number.as_deref())
        .bind(&custom)
        .bind(now)
        .bind(f.language.code())
        .execute(work.tx())
        .await
        .context("saving invoice fields")?;
        let printed = f.printed_lines();
        work.audit(Event::by(
            actor,
            AuditKind::BillingInfoChanged,
            "invoice references",
            format!(
                "{}; documents in {}",
                if printed.is_empty() {
                    "no PO number or fields on invoices".to_string()
                } else {
                    format!("on invoices: {}", printed.join("; "))
                },
                f.language.name()
            ),
        ));
        work.commit().await
    }

    /// The address of the caller's account's billing contact, if it has one.
    pub async fn contact_email(&self, actor: &Actor) -> Result<Option<String>, ServiceError> {
        Ok(contact(self.ctx.db.pool(), &actor.account_id)
            .await?
            .map(|c| c.email))
    }

    /// Saves validated billing information (audited). The billing contact becomes where
    /// invoices go.
    pub async fn save(&self, actor: &Actor, info: &BillingInfo) -> Result<(), ServiceError> {
        self.ctx.require_fresh(actor)?;
        let mut work = self.ctx.begin("saving billing information").await?;
        let now = work.now();
        write(work.tx(), &actor.account_id, info, Some(&actor.id), now).await?;
        work.audit(Event::by(
            actor,
            AuditKind::BillingInfoChanged,
            info.company_name.as_str(),
            format!("billing contact {}", info.contact_email),
        ));
        work.commit().await
    }

    /// Saves billing information as it was on `at` (the demo's seed), in `conn`.
    pub async fn seed(
        conn: &mut sqlx::AnyConnection,
        account_id: &str,
        info: &BillingInfo,
        at: i64,
    ) -> Result<(), ServiceError> {
        write(conn, account_id, info, None, at).await
    }
}
