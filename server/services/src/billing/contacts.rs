//! An account's billing contacts (owner of `billing_contacts`): up to ten people who receive
//! the billing messages they subscribe to, on the To or Cc line, whether or not they are
//! administrators. Its Administrators With Billing manage them; every change is audited.
//! The billing run, charging and the seller's money actions address each message to the
//! contacts subscribed to its kind ([`lines`]), beside the billing information's contact and
//! the administrators who opted in.

use std::collections::HashMap;

use sqlx::{Any, Executor};
use tally_core::{
    actor::Actor,
    audit::AuditKind,
    billing_contacts::{
        can_hold, recipients, subscriptions_of, subscriptions_text, Addressed, BillingContact,
        Line, NewContact, Subscription,
    },
    locale::Locale,
};

use crate::platform::{
    audit::Event,
    context::Context,
    db::Backend,
    error::{ResultExt, ServiceError},
};

/// A contact row: id, account, name, email, line, subscriptions, language.
type ContactRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
);

const COLUMNS: &str = "id, account_id, name, email, line, subscriptions, language";

fn contact_of((id, _, name, email, line, subscriptions, language): ContactRow) -> BillingContact {
    BillingContact {
        id,
        name,
        email,
        line: Line::from_code(&line).unwrap_or_default(),
        subscriptions: subscriptions_of(&subscriptions),
        language: language.as_deref().and_then(Locale::from_code),
    }
}

/// The account's contacts, in the order they were added, read in `exec`.
pub async fn of_account<'e, E>(
    exec: E,
    account_id: &str,
) -> Result<Vec<BillingContact>, ServiceError>
where
    E: Executor<'e, Database = Any>,
{
    let rows: Vec<ContactRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM billing_contacts WHERE account_id = $1 ORDER BY created_at, id"
    ))
    .bind(account_id)
    .fetch_all(exec)
    .await
    .context("reading the billing contacts")?;
    Ok(rows.into_iter().map(contact_of).collect())
}

/// The contacts of the accounts whose ids lie between `first` and `last` (a chunk of the
/// billing run), by account.
pub async fn between(
    pool: &sqlx::AnyPool,
    first: &str,
    last: &str,
) -> Result<HashMap<String, Vec<BillingContact>>, ServiceError> {
    let rows: Vec<ContactRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM billing_contacts WHERE account_id >= $1 AND account_id <= $2 ORDER BY created_at, id"
    ))
    .bind(first)
    .bind(last)
    .fetch_all(pool)
    .await
    .context("reading a chunk's billing contacts")?;
    let mut by_account: HashMap<String, Vec<BillingContact>> = HashMap::new();
    for row in rows {
        by_account
            .entry(row.1.clone())
            .or_default()
            .push(contact_of(row));
    }
    Ok(by_account)
}

/// The messages of `kind` to the contacts, one per language (`account`'s for those who chose
/// none), leaving out the addresses in `already` (who get their own message).
pub fn lines(
    contacts: &[BillingContact],
    kind: Subscription,
    already: &[String],
    account: Locale,
) -> Vec<Addressed> {
    let others: Vec<BillingContact> = contacts
        .iter()
        .filter(|c| !already.iter().any(|a| a.eq_ignore_ascii_case(&c.email)))
        .cloned()
        .collect();
    recipients(&others, kind, account)
}

/// "Ann Accounts <ap@globex.test> (Cc; Invoices and credit notes, Receipts)": a contact as the
/// audit log records it, with the language they chose, if any ("…; in Deutsch").
fn described(c: &NewContact) -> String {
    let subs: Vec<&str> = c.subscriptions.iter().map(|s| s.label()).collect();
    format!(
        "{} <{}> ({}; {}{})",
        c.name,
        c.email.as_str(),
        c.line.label(),
        subs.join(", "),
        c.language
            .map_or_else(String::new, |l| format!("; in {}", l.name()))
    )
}

/// Managing an account's billing contacts.
#[derive(Clone)]
pub struct BillingContacts {
    ctx: Context,
}

impl BillingContacts {
    pub fn new(ctx: Context) -> Self {
        Self { ctx }
    }

    /// The caller's account's contacts.
    pub async fn list(&self, actor: &Actor) -> Result<Vec<BillingContact>, ServiceError> {
        of_account(self.ctx.db.pool(), &actor.account_id).await
    }

    /// Adds `contact`, or (with `editing`, one of the account's contacts) changes that one.
    /// At most ten, one address once; refused in words beside the email field.
    pub async fn save(
        &self,
        actor: &Actor,
        editing: Option<&str>,
        contact: &NewContact,
    ) -> Result<BillingContact, ServiceError> {
        let mut work = self.ctx.begin("saving a billing contact").await?;
        let now = work.now();
        let account = actor.account_id.as_str();
        // On PostgreSQL the account's contacts are locked, so two additions at once are
        // counted one after the other.
        let lock = match Backend::of(work.tx()) {
            Backend::Postgres => " FOR UPDATE",
            Backend::Sqlite => "",
        };
        sqlx::query(&format!(
            "SELECT id FROM billing_contacts WHERE account_id = $1{lock}"
        ))
        .bind(account)
        .execute(work.tx())
        .await
        .context("locking the billing contacts")?;
        let saved = of_account(work.tx(), account).await?;
        if let Some(id) = editing {
            if !saved.iter().any(|c| c.id == id) {
                return Err(ServiceError::NotFound);
            }
        }
        if let Err(refused) = can_hold(&saved, &contact.email, editing) {
            return Err(ServiceError::field("contact_email", refused));
        }
        let id = match editing {
            Some(id) => {
                sqlx::query(
                    "UPDATE billing_contacts SET name = $1, email = $2, email_key = $3, line = $4, subscriptions = $5, \
                     language = $8 WHERE id = $6 AND account_id = $7",
                )
                .bind(&contact.name)
                .bind(contact.email.as_str())
                .bind(contact.email.normalized_key())
                .bind(contact.line.code())
                .bind(subscriptions_text(&contact.subscriptions))
                .bind(id)
                .bind(account)
                .bind(contact.language.map(Locale::code))
                .execute(work.tx())
                .await
                .context("changing a billing contact")?;
                id.to_string()
            }
            None => {
                let id = self.ctx.new_id();
                sqlx::query(
                    "INSERT INTO billing_contacts (id, account_id, name, email, email_key, line, subscriptions, created_at, language) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(&id)
                .bind(account)
                .bind(&contact.name)
                .bind(contact.email.as_str())
                .bind(contact.email.normalized_key())
                .bind(contact.line.code())
                .bind(subscriptions_text(&contact.subscriptions))
                .bind(now)
                .bind(contact.language.map(Locale::code))
                .execute(work.tx())
                .await
                .context("adding a billing contact")?;
                id
            }
        };
        work.audit(Event::by(
            actor,
            AuditKind::BillingContactsChanged,
            contact.email.as_str(),
            format!(
                "{} {}",
                if editing.is_some() {
                    "changed:"
                } else {
                    "added:"
                },
                described(contact)
            ),
        ));
        work.commit().await?;
        Ok(BillingContact {
            id,
            name: contact.name.clone(),
            email: contact.email.as_str().to_string(),
            line: contact.line,
            subscriptions: contact.subscriptions.clone(),
            language: contact.language,
        })
    }

    /// Removes one of the account's contacts.
    pub async fn remove(&self, actor: &Actor, id: &str) -> Result<(), ServiceError> {
        let mut work = self.ctx.begin("removing a billing contact").await?;
        let email: Option<String> = sqlx::query_scalar(
            "DELETE FROM billing_contacts WHERE id = $1 AND account_id = $2 RETURNING email",
        )
        .bind(id)
        .bind(&actor.account_id)
        .fetch_optional(work.tx())
        .await
        .context("removing a billing contact")?;
        let Some(email) = email else {
            return Err(ServiceError::NotFound);
        };
        work.audit(Event::by(
            actor,
            AuditKind::BillingContactsChanged,
            email.as_str(),
            "removed",
        ));
        work.commit().await
    }
}
