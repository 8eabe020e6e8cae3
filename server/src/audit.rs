//! The audit log: recording events (in the transaction of the change they describe) and
//! reading them for the Audit log page, filtered, paginated, newest first, always scoped to
//! the caller's account.

use sqlx::{Any, AnyConnection, Executor};
use tally_app::api::account::AuditFilter;
use tally_core::{audit::AuditKind, billing::date_start_millis, forms::FieldErrors, NaiveDate};

use crate::{
    actor::Actor,
    context::Context,
    crypto::new_id,
    db::{contains, offset, search_text, Backend, ROWS_PER_STATEMENT},
    error::{Context as _, ServiceError},
};

/// Events per page of the Audit log.
pub const PAGE_SIZE: u32 = 50;

/// One event to record.
#[derive(Clone, Debug, Default)]
pub struct Event<'a> {
    pub account_id: Option<&'a str>,
    pub actor_id: Option<&'a str>,
    pub actor_email: Option<&'a str>,
    pub target: Option<&'a str>,
    pub ip: Option<&'a str>,
    pub detail: String,
}

impl<'a> Event<'a> {
    /// An administrator's action on `target`.
    pub fn by(actor: &'a Actor, target: &'a str, detail: String) -> Self {
        Self {
            account_id: Some(&actor.account_id),
            actor_id: Some(&actor.id),
            actor_email: Some(&actor.email),
            target: Some(target),
            ip: actor.ip.as_deref(),
            detail,
        }
    }

    /// Something that happened to an account with nobody acting (a billing run, say).
    pub fn system(account_id: &'a str, target: &'a str, detail: String) -> Self {
        Self {
            account_id: Some(account_id),
            target: Some(target),
            detail,
            ..Default::default()
        }
    }
}

/// Records many events at `now` on `conn` in a few multi-row statements (a billing run writes
/// thousands).
pub async fn record_many(
    conn: &mut AnyConnection,
    now: i64,
    events: &[(AuditKind, Event<'_>)],
) -> Result<(), sqlx::Error> {
    for batch in events.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO audit_events (id, account_id, at, kind, actor_id, actor_email, target, ip, detail, created_at) VALUES {}",
            Backend::of(conn).values_list(batch.len(), 10)
        );
        let mut q = sqlx::query(&sql);
        for (kind, e) in batch {
            q = q
                .bind(new_id(now))
                .bind(e.account_id)
                .bind(now)
                .bind(kind.code())
                .bind(e.actor_id)
                .bind(e.actor_email)
                .bind(e.target)
                .bind(e.ip)
                .bind(e.detail.as_str())
                .bind(now);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Records `kind` at `now` in whatever transaction or pool `exec` is.
pub async fn record<'e, E>(
    exec: E,
    now: i64,
    kind: AuditKind,
    event: Event<'_>,
) -> Result<(), sqlx::Error>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query(
        "INSERT INTO audit_events (id, account_id, at, kind, actor_id, actor_email, target, ip, detail, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(new_id(now))
    .bind(event.account_id)
    .bind(now)
    .bind(kind.code())
    .bind(event.actor_id)
    .bind(event.actor_email)
    .bind(event.target)
    .bind(event.ip)
    .bind(event.detail)
    .bind(now)
    .execute(exec)
    .await?;
    Ok(())
}

/// Records that `refused` attempts from `ip` were refused in the throttle window `key`
/// (scope, address and window start): one event per key, whose count goes up with every
/// further attempt, so a flood adds one row however large what it typed.
///
/// Concurrent refusals finish in any order, so a write only ever raises the count. The
/// details differ only in the number's digits: a longer detail, or an equally long one that
/// sorts later, holds the larger count (the same comparison on SQLite and PostgreSQL).
pub async fn record_throttled(
    pool: &sqlx::AnyPool,
    now: i64,
    key: &str,
    ip: &str,
    refused: i64,
) -> Result<(), sqlx::Error> {
    let id = &crate::crypto::token_hash(key)[..32];
    sqlx::query(
        "INSERT INTO audit_events (id, account_id, at, kind, actor_id, actor_email, target, ip, detail, created_at) \
         VALUES ($1, NULL, $2, $3, NULL, NULL, NULL, $4, $5, $2) \
         ON CONFLICT (id) DO UPDATE SET detail = excluded.detail \
         WHERE LENGTH(excluded.detail) > LENGTH(audit_events.detail) \
         OR (LENGTH(excluded.detail) = LENGTH(audit_events.detail) AND excluded.detail > audit_events.detail)",
    )
    .bind(id)
    .bind(now)
    .bind(AuditKind::SignInFailed.code())
    .bind(ip)
    .bind(format!(
        "throttled: {refused} attempts refused from this address this minute"
    ))
    .execute(pool)
    .await?;
    Ok(())
}

/// One event as stored.
#[derive(Debug, sqlx::FromRow)]
pub struct AuditRow {
    pub id: String,
    pub at: i64,
    pub kind: String,
    pub actor_email: Option<String>,
    pub target: Option<String>,
    pub ip: Option<String>,
    pub detail: String,
}

/// A page of the log and where it stands.
#[derive(Debug)]
pub struct AuditListing {
    pub entries: Vec<AuditRow>,
    pub page: u32,
    pub page_count: u32,
    pub total: u64,
}

/// The filters of the Audit log page, checked.
struct Filter {
    kind: Option<&'static str>,
    actor: String,
    from: Option<i64>,
    /// Exclusive: the start of the day after the last one asked for.
    until: Option<i64>,
}

impl Filter {
    fn parse(f: &AuditFilter) -> Result<Self, ServiceError> {
        let mut errors = FieldErrors::new();
        // A card number is refused, not searched for.
        if tally_core::card_in_text::contains_card_number(&f.actor) {
            errors.add("actor", tally_core::card_in_text::CARD_IN_TEXT);
        }
        let mut date = |s: &str, field: &str| -> Option<i64> {
            let s = s.trim();
            if s.is_empty() {
                return None;
            }
            let day = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
            if day.is_none() {
                errors.add(field, "Enter a date as YYYY-MM-DD.");
            }
            day.map(date_start_millis)
        };
        let from = date(&f.from, "from");
        let until = date(&f.to, "to").map(|t| t + 86_400_000);
        let kind = match f.kind.trim() {
            "" => None,
            tally_core::audit::BILLING_EVENTS => Some(tally_core::audit::BILLING_EVENTS),
            k => match AuditKind::from_code(k) {
                Some(kind) => Some(kind.code()),
                None => {
                    errors.add("kind", "Choose a kind from the list.");
                    None
                }
            },
        };
        if !errors.is_empty() {
            return Err(ServiceError::Invalid(errors));
        }
        Ok(Self {
            kind,
            actor: search_text(&f.actor),
            from,
            until,
        })
    }
}

/// Reads the audit log.
#[derive(Clone)]
pub struct AuditLog {
    ctx: Context,
}

impl AuditLog {
    pub fn new(ctx: Context) -> Self {
        Self { ctx }
    }

    /// One page of the caller's account's events matching `filter`, newest first. A page past
    /// the end gives the last page.
    pub async fn list(
        &self,
        actor: &Actor,
        filter: &AuditFilter,
    ) -> Result<AuditListing, ServiceError> {
        let f = Filter::parse(filter)?;
        // Every filter is a bound parameter; unused ones are NULL or empty and pass.
        // "billing" stands for every billing kind; the codes are the enum's own.
        let billing_kinds = tally_core::audit::ALL_AUDIT_KINDS
            .into_iter()
            .filter(|k| k.is_billing())
            .map(|k| format!("'{}'", k.code()))
            .collect::<Vec<_>>()
            .join(", ");
        let matches = format!(
            "account_id = $1 AND ($2 IS NULL OR kind = $2 OR ($2 = '{}' AND kind IN ({billing_kinds}))) AND {} \
             AND ($4 IS NULL OR at >= $4) AND ($5 IS NULL OR at < $5)",
            tally_core::audit::BILLING_EVENTS,
            contains(&["LOWER(COALESCE(actor_email, ''))"], 3)
        );
        let total: i64 = sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM audit_events WHERE {matches}"
        ))
        .bind(&actor.account_id)
        .bind(f.kind)
        .bind(&f.actor)
        .bind(f.from)
        .bind(f.until)
        .fetch_one(self.ctx.db.pool())
        .await
        .context("counting audit events")?;
        let total = total.max(0) as u64;
        let page_count = total.div_ceil(u64::from(PAGE_SIZE)).max(1) as u32;
        let page = filter.page.clamp(1, page_count);
        let entries = sqlx::query_as::<_, AuditRow>(&format!(
            "SELECT id, at, kind, actor_email, target, ip, detail FROM audit_events WHERE {matches} \
             ORDER BY at DESC, id DESC LIMIT $6 OFFSET $7"
        ))
        .bind(&actor.account_id)
        .bind(f.kind)
        .bind(&f.actor)
        .bind(f.from)
        .bind(f.until)
        .bind(i64::from(PAGE_SIZE))
        .bind(offset(page, PAGE_SIZE))
        .fetch_all(self.ctx.db.pool())
        .await
        .context("reading a page of audit events")?;
        Ok(AuditListing {
            entries,
            page,
            page_count,
            total,
        })
    }
}
