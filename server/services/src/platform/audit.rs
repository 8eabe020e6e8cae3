//! The audit log (owner of `audit_events`): recording events (in the transaction of the change
//! they describe, through [`super::work::Work`]) and reading them for the Audit log page,
//! filtered, paginated, newest first, always scoped to the caller's account.

use sqlx::{Any, AnyConnection, Executor};
use tally_core::{
    actor::{Actor, Visitor},
    audit::{AuditKind, ALL_AUDIT_KINDS},
    billing::date_start_millis,
    forms::FieldErrors,
    roles::Action,
    views::account::{AuditEntry, AuditFilter, AuditPage, AUDIT_PAGE_SIZE},
    NaiveDate,
};

use super::{
    context::Context,
    db::{contains, offset, search_text, Backend, ROWS_PER_STATEMENT},
    error::{ResultExt, ServiceError},
};
use crate::platform::db::Code;

/// One event to record.
#[derive(Clone, Debug)]
pub struct Event {
    pub kind: AuditKind,
    pub account_id: Option<String>,
    pub actor_id: Option<String>,
    pub actor_email: Option<String>,
    pub target: Option<String>,
    pub ip: Option<String>,
    pub detail: String,
}

impl Event {
    /// An event of `kind` about nothing in particular yet; fill in what is known.
    pub fn new(kind: AuditKind) -> Self {
        Self {
            kind,
            account_id: None,
            actor_id: None,
            actor_email: None,
            target: None,
            ip: None,
            detail: String::new(),
        }
    }

    /// An operator's action on `target`: the seller's staff, in no account's name (an action
    /// on an account names the account itself).
    pub fn by_operator(
        operator: &tally_core::actor::OperatorActor,
        kind: AuditKind,
        target: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            actor_id: Some(operator.id.clone()),
            // In an account's log beside its administrators' actions: said to be the seller's.
            actor_email: Some(format!("{} (the seller's staff)", operator.email)),
            target: Some(target.into()),
            ip: operator.ip.clone(),
            detail: detail.into(),
            ..Self::new(kind)
        }
    }

    /// An administrator's action on `target`.
    pub fn by(
        actor: &Actor,
        kind: AuditKind,
        target: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            account_id: Some(actor.account_id.clone()),
            actor_id: Some(actor.id.clone()),
            actor_email: Some(actor.email.clone()),
            target: Some(target.into()),
            ip: actor.ip.clone(),
            detail: detail.into(),
            ..Self::new(kind)
        }
    }

    /// An administrator's own doing, on nothing else (signing in, renaming oneself).
    pub fn own(actor: &Actor, kind: AuditKind, detail: impl Into<String>) -> Self {
        Self {
            target: None,
            ..Self::by(actor, kind, "", detail)
        }
    }

    /// Someone not signed in, from their address.
    pub fn visitor(visitor: &Visitor, kind: AuditKind, detail: impl Into<String>) -> Self {
        Self {
            ip: visitor.ip.clone(),
            detail: detail.into(),
            ..Self::new(kind)
        }
    }

    /// Something that happened to an account with nobody acting (a billing run, say).
    pub fn system(
        kind: AuditKind,
        account_id: impl Into<String>,
        target: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            account_id: Some(account_id.into()),
            target: Some(target.into()),
            detail: detail.into(),
            ..Self::new(kind)
        }
    }
}

const COLUMNS: &str =
    "id, account_id, at, kind, actor_id, actor_email, target, ip, detail, created_at";

/// Records many events at `now` on `conn` in a few multi-row statements (a billing run writes
/// thousands).
pub async fn record_many(
    ctx: &Context,
    conn: &mut AnyConnection,
    now: i64,
    events: &[Event],
) -> Result<(), sqlx::Error> {
    for batch in events.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO audit_events ({COLUMNS}) VALUES {}",
            Backend::of(conn).values_list(batch.len(), 10)
        );
        let mut q = sqlx::query(&sql);
        for e in batch {
            q = q
                .bind(ctx.ids.new_id(now))
                .bind(e.account_id.as_deref())
                .bind(now)
                .bind(e.kind.code())
                .bind(e.actor_id.as_deref())
                .bind(e.actor_email.as_deref())
                .bind(e.target.as_deref())
                .bind(e.ip.as_deref())
                .bind(e.detail.as_str())
                .bind(now);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Records one event now, on its own (an attempt that changed nothing else: a failed
/// sign-in, a sign-out).
pub async fn record(ctx: &Context, event: Event) -> Result<(), ServiceError> {
    record_on(ctx, ctx.db.pool(), event).await
}

/// Records one event now in whatever transaction or pool `exec` is.
pub async fn record_on<'e, E>(ctx: &Context, exec: E, event: Event) -> Result<(), ServiceError>
where
    E: Executor<'e, Database = Any>,
{
    let now = ctx.now();
    sqlx::query(&format!(
        "INSERT INTO audit_events ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    ))
    .bind(ctx.ids.new_id(now))
    .bind(event.account_id)
    .bind(now)
    .bind(event.kind.code())
    .bind(event.actor_id)
    .bind(event.actor_email)
    .bind(event.target)
    .bind(event.ip)
    .bind(event.detail)
    .bind(now)
    .execute(exec)
    .await
    .context("recording an audit event")?;
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
    let id = &super::crypto::token_hash(key)[..32];
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
struct AuditRow {
    id: String,
    at: i64,
    #[sqlx(try_from = "Code<AuditKind>")]
    kind: AuditKind,
    actor_email: Option<String>,
    target: Option<String>,
    ip: Option<String>,
    detail: String,
}

impl From<AuditRow> for AuditEntry {
    fn from(e: AuditRow) -> Self {
        AuditEntry {
            id: e.id,
            at: chrono::DateTime::from_timestamp_millis(e.at)
                .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                .unwrap_or_default(),
            kind: e.kind.label().to_string(),
            // An event nobody did says what did it: "the billing run", "the scheduler".
            actor: e
                .actor_email
                .filter(|a| !a.is_empty())
                .unwrap_or_else(|| e.kind.system_actor().to_string()),
            target: e.target.unwrap_or_default(),
            ip: e.ip.unwrap_or_default(),
            detail: e.detail,
        }
    }
}

/// The filters of the Audit log page, checked.
struct Filter {
    /// The kinds asked for; empty for every kind.
    kinds: Vec<AuditKind>,
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
        let kinds = match f.kind.trim() {
            "" => Vec::new(),
            // "billing" stands for every billing kind.
            tally_core::audit::BILLING_EVENTS => ALL_AUDIT_KINDS
                .into_iter()
                .filter(|k| k.is_billing())
                .collect(),
            k => match AuditKind::from_code(k) {
                Some(kind) => vec![kind],
                None => {
                    errors.add("kind", "Choose a kind from the list.");
                    Vec::new()
                }
            },
        };
        if !errors.is_empty() {
            return Err(ServiceError::Invalid(errors));
        }
        Ok(Self {
            kinds,
            actor: search_text(&f.actor),
            from,
            until,
        })
    }
}

/// The newest `n` events of an account, every kind (the console's account page).
pub async fn latest(
    pool: &sqlx::AnyPool,
    account_id: &str,
    n: u32,
) -> Result<Vec<AuditEntry>, ServiceError> {
    let rows: Vec<AuditRow> = sqlx::query_as(
        "SELECT id, at, kind, actor_email, target, ip, detail FROM audit_events WHERE account_id = $1 \
         ORDER BY at DESC, id DESC LIMIT $2",
    )
    .bind(account_id)
    .bind(i64::from(n))
    .fetch_all(pool)
    .await
    .context("reading an account's latest audit events")?;
    Ok(rows.into_iter().map(AuditEntry::from).collect())
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
    /// the end gives the last page. Billing events (invoices, charges, the card, billing
    /// information) only for roles that may view billing: for the others they are not in the
    /// log at all, nor among its kinds.
    pub async fn list(
        &self,
        actor: &Actor,
        filter: &AuditFilter,
    ) -> Result<AuditPage, ServiceError> {
        let mut f = Filter::parse(filter)?;
        let sees_billing = actor.may(Action::ViewBilling);
        if !sees_billing {
            if f.kinds.iter().any(|k| k.is_billing()) {
                let mut e = FieldErrors::new();
                e.add("kind", "Choose a kind from the list.");
                return Err(ServiceError::Invalid(e));
            }
            if f.kinds.is_empty() {
                f.kinds = ALL_AUDIT_KINDS
                    .into_iter()
                    .filter(|k| !k.is_billing())
                    .collect();
            }
        }
        // Every filter is a bound parameter; unused ones are NULL or empty and pass. The
        // kinds asked for follow the fixed ones, then the page's bounds.
        let kinds: Vec<String> = (0..f.kinds.len()).map(|i| format!("${}", 5 + i)).collect();
        let kind_matches = if kinds.is_empty() {
            String::new()
        } else {
            format!(" AND kind IN ({})", kinds.join(", "))
        };
        let matches = format!(
            "account_id = $1 AND {} AND ($3 IS NULL OR at >= $3) AND ($4 IS NULL OR at < $4){kind_matches}",
            contains(&["LOWER(COALESCE(actor_email, ''))"], 2)
        );
        fn bind_filter<'q>(
            sql: &'q str,
            account_id: &'q str,
            f: &'q Filter,
        ) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>> {
            let mut q = sqlx::query(sql)
                .bind(account_id)
                .bind(f.actor.as_str())
                .bind(f.from)
                .bind(f.until);
            for kind in &f.kinds {
                q = q.bind(kind.code());
            }
            q
        }
        let count_sql = format!("SELECT COUNT(*) FROM audit_events WHERE {matches}");
        let total: i64 = bind_filter(&count_sql, &actor.account_id, &f)
            .fetch_one(self.ctx.db.pool())
            .await
            .and_then(|row| sqlx::Row::try_get(&row, 0))
            .context("counting audit events")?;
        let total = total.max(0) as u64;
        let page_count = total.div_ceil(u64::from(AUDIT_PAGE_SIZE)).max(1) as u32;
        let page = filter.page.clamp(1, page_count);
        let bounds = 5 + f.kinds.len();
        let page_sql = format!(
            "SELECT id, at, kind, actor_email, target, ip, detail FROM audit_events WHERE {matches} \
             ORDER BY at DESC, id DESC LIMIT ${bounds} OFFSET ${}",
            bounds + 1
        );
        let entries: Vec<AuditRow> = bind_filter(&page_sql, &actor.account_id, &f)
            .bind(i64::from(AUDIT_PAGE_SIZE))
            .bind(offset(page, AUDIT_PAGE_SIZE))
            .fetch_all(self.ctx.db.pool())
            .await
            .and_then(|rows| rows.iter().map(sqlx::FromRow::from_row).collect())
            .context("reading a page of audit events")?;
        Ok(AuditPage {
            entries: entries.into_iter().map(AuditEntry::from).collect(),
            page,
            page_count,
            total,
            kinds: ALL_AUDIT_KINDS
                .iter()
                .filter(|k| sees_billing || !k.is_billing())
                .map(|k| k.code().to_string())
                .collect(),
        })
    }
}
