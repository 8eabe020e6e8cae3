//! Reading the audit log for the Audit log page: filtered, paginated, newest first, always
//! scoped to the caller's account.

use sqlx::Row;
use tally_app::{
    api::account::{AuditEntry, AuditFilter, AuditPage},
    auth::CurrentAdmin,
    error::AppError,
    ports::AuditService,
};
use tally_core::{
    audit::{AuditKind, ALL_AUDIT_KINDS},
    billing::date_start_millis,
    NaiveDate,
};

use crate::db::{contains, search_text, Database};

pub const PAGE_SIZE: u32 = 50;

pub struct AuditLog {
    pub db: Database,
}

#[async_trait::async_trait]
impl AuditService for AuditLog {
    async fn list(&self, admin: &CurrentAdmin, f: AuditFilter) -> Result<AuditPage, AppError> {
        let date = |s: &str, field: &str| -> Result<Option<i64>, AppError> {
            if s.trim().is_empty() {
                return Ok(None);
            }
            NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
                .map(|d| Some(date_start_millis(d)))
                .map_err(|_| AppError::field(field, "Enter a date as YYYY-MM-DD."))
        };
        let from = date(&f.from, "from")?;
        // "to" is inclusive: up to the start of the next day.
        let to = date(&f.to, "to")?.map(|t| t + 86_400_000);
        let kind = match f.kind.trim() {
            "" => None,
            k => Some(
                AuditKind::from_code(k)
                    .ok_or_else(|| AppError::field("kind", "Choose a kind from the list."))?
                    .code(),
            ),
        };
        let actor = search_text(&f.actor);

        // Every filter is a bound parameter; unused ones are NULL or empty and pass.
        let filter = format!(
            "account_id = $1 AND ($2 IS NULL OR kind = $2) AND {} \
             AND ($4 IS NULL OR at >= $4) AND ($5 IS NULL OR at < $5)",
            contains(&["LOWER(COALESCE(actor_email, ''))"], 3)
        );
        let total: i64 =
            sqlx::query_scalar(&format!("SELECT COUNT(*) FROM audit_events WHERE {filter}"))
                .bind(&admin.account_id)
                .bind(kind)
                .bind(&actor)
                .bind(from)
                .bind(to)
                .fetch_one(self.db.pool())
                .await
                .map_err(|e| AppError::Internal(e.to_string()))?;
        let page_count = ((total as u64).div_ceil(u64::from(PAGE_SIZE))).max(1) as u32;
        let page = f.page.clamp(1, page_count);
        let rows = sqlx::query(&format!(
            "SELECT id, at, kind, actor_email, target, ip, detail FROM audit_events WHERE {filter} \
             ORDER BY at DESC, id DESC LIMIT {PAGE_SIZE} OFFSET {}",
            (page - 1) * PAGE_SIZE
        ))
        .bind(&admin.account_id)
        .bind(kind)
        .bind(&actor)
        .bind(from)
        .bind(to)
        .fetch_all(self.db.pool())
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
        let entries = rows
            .iter()
            .map(|r| {
                let at: i64 = r.get("at");
                let kind: String = r.get("kind");
                AuditEntry {
                    id: r.get("id"),
                    at: chrono::DateTime::from_timestamp_millis(at)
                        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                        .unwrap_or_default(),
                    kind: AuditKind::from_code(&kind)
                        .map(|k| k.label().to_string())
                        .unwrap_or(kind),
                    actor: r
                        .get::<Option<String>, _>("actor_email")
                        .unwrap_or_default(),
                    target: r.get::<Option<String>, _>("target").unwrap_or_default(),
                    ip: r.get::<Option<String>, _>("ip").unwrap_or_default(),
                    detail: r.get("detail"),
                }
            })
            .collect();
        Ok(AuditPage {
            entries,
            page,
            page_count,
            total: total as u64,
            kinds: ALL_AUDIT_KINDS
                .iter()
                .map(|k| k.code().to_string())
                .collect(),
        })
    }
}
