//! Writing and reading the audit log.

use sqlx::{Any, AnyConnection, Executor};
use tally_core::audit::AuditKind;

use crate::{
    crypto::new_id,
    db::{Backend, ROWS_PER_STATEMENT},
};

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
    /// An administrator's action on `target`, from `ip`.
    pub fn by(
        actor: &'a tally_app::auth::CurrentAdmin,
        target: &'a str,
        ip: Option<&'a str>,
        detail: String,
    ) -> Self {
        Self {
            account_id: Some(&actor.account_id),
            actor_id: Some(&actor.id),
            actor_email: Some(&actor.email),
            target: Some(target),
            ip,
            detail,
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
                .bind(new_id())
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
    .bind(new_id())
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
