//! Administrators of an account: creation and invitations. Every query is scoped to the
//! caller's account.

use sqlx::Row;
use tally_app::{
    api::admins::{AdminPage, AdminSummary, ADMINS_PER_PAGE},
    auth::CurrentAdmin,
    error::AppError,
    ports::AdminService,
};
use tally_core::{
    audit::AuditKind,
    forms::NewAdmin,
    roles::{
        allows, check_admin_change, is_billing_only, Action, AdminChange, AdminFacts,
        AdminRuleError, AdminStatus, Role,
    },
};

use crate::{
    audit::{record, Event},
    auth::{internal, Auth},
    crypto::new_id,
    db::{contains, list_counts, search_text},
};

pub struct Admins {
    pub auth: Auth,
}

#[async_trait::async_trait]
impl AdminService for Admins {
    async fn create(
        &self,
        actor: &CurrentAdmin,
        new: NewAdmin,
        ip: Option<String>,
    ) -> Result<String, AppError> {
        let db = &self.auth.db;
        let now = self.auth.clock.now_millis();
        let id = new_id();
        let mut tx = db.pool().begin().await.map_err(internal)?;
        let inserted = sqlx::query(
            "INSERT INTO admins (id, account_id, email, email_key, first_name, last_name, role, status, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'invited', $8, $8) ON CONFLICT (email_key) DO NOTHING",
        )
        .bind(&id)
        .bind(&actor.account_id)
        .bind(new.email.as_str())
        .bind(new.email.normalized_key())
        .bind(&new.first_name)
        .bind(&new.last_name)
        .bind(new.role.code())
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(internal)?;
        if inserted.rows_affected() == 0 {
            return Err(AppError::field(
                "email",
                "An administrator with this email already exists.",
            ));
        }
        record(
            &mut *tx,
            now,
            AuditKind::AdminCreated,
            Event::by(
                actor,
                new.email.as_str(),
                ip.as_deref(),
                format!("role {}", new.role.display_name()),
            ),
        )
        .await
        .map_err(internal)?;
        tx.commit().await.map_err(internal)?;
        self.auth
            .send_invitation(
                &id,
                &actor.account_id,
                new.email.as_str(),
                &actor.full_name(),
            )
            .await?;
        record(
            db.pool(),
            now,
            AuditKind::InvitationSent,
            Event::by(actor, new.email.as_str(), ip.as_deref(), String::new()),
        )
        .await
        .map_err(internal)?;
        Ok(id)
    }

    async fn list(
        &self,
        actor: &CurrentAdmin,
        search: String,
        page: u32,
    ) -> Result<AdminPage, AppError> {
        let pool = self.auth.db.pool();
        let pattern = search_text(&search);
        let search_matches = contains(
            &["LOWER(a.first_name || ' ' || a.last_name)", "a.email_key"],
            2,
        );
        let filter = format!("a.account_id = $1 AND {search_matches}");
        // One query: both counts in one pass over the account's administrators, joined to the
        // page, so the counts come back (with no administrator) when the page is empty.
        let rows = sqlx::query(&format!(
            "SELECT c.total, c.matching, p.* \
             FROM (SELECT COUNT(*) AS total, \
                          COALESCE(SUM(CASE WHEN {search_matches} THEN 1 ELSE 0 END), 0) AS matching \
                   FROM admins a WHERE a.account_id = $1) c \
             LEFT JOIN (SELECT a.id, a.first_name, a.last_name, a.email, a.role, a.status, a.created_at, \
                        CAST(CASE WHEN a.receives_invoices THEN 1 ELSE 0 END AS BIGINT) AS receives_invoices, \
                        CAST(CASE WHEN b.account_id IS NULL THEN 0 ELSE 1 END AS BIGINT) AS billing_contact, \
                        (SELECT COUNT(*) FROM command_runners r WHERE r.admin_id = a.id) AS bound \
                        FROM admins a LEFT JOIN billing_info b ON b.account_id = a.account_id AND LOWER(b.contact_email) = a.email_key \
                        WHERE {filter} ORDER BY a.created_at, a.id LIMIT $3 OFFSET $4) p ON 1 = 1 \
             ORDER BY p.created_at, p.id"
        ))
        .bind(&actor.account_id)
        .bind(&pattern)
        .bind(i64::from(ADMINS_PER_PAGE))
        .bind(i64::from(page.saturating_sub(1)) * i64::from(ADMINS_PER_PAGE))
        .fetch_all(pool)
        .await
        .map_err(internal)?;
        let (total, matching) = list_counts(&rows);
        let admins = rows
            .iter()
            .filter_map(|r| Some((r.get::<Option<String>, _>("id")?, r)))
            .map(|(id, r)| {
                let role = Role::from_code(r.get::<String, _>("role").as_str())
                    .ok_or_else(|| internal("unknown role in database"))?;
                let status = AdminStatus::from_code(r.get::<String, _>("status").as_str())
                    .ok_or_else(|| internal("unknown status in database"))?;
                Ok(AdminSummary {
                    is_you: id == actor.id,
                    id,
                    first_name: r.get("first_name"),
                    last_name: r.get("last_name"),
                    email: r.get("email"),
                    role,
                    status,
                    billing_only: is_billing_only(role, r.get::<i64, _>("bound").max(0) as usize),
                    receives_invoices: r.get::<i64, _>("receives_invoices") != 0,
                    billing_contact: r.get::<i64, _>("billing_contact") != 0,
                })
            })
            .collect::<Result<Vec<_>, AppError>>()?;
        Ok(AdminPage {
            admins,
            matching,
            total,
            page,
            per_page: ADMINS_PER_PAGE,
        })
    }

    async fn change(
        &self,
        actor: &CurrentAdmin,
        target_id: &str,
        change: AdminChange,
        ip: Option<String>,
    ) -> Result<(), AppError> {
        let now = self.auth.clock.now_millis();
        let mut tx = self.auth.db.pool().begin().await.map_err(internal)?;
        // Serialise every administrator change of this account: a write first, so SQLite takes
        // its write lock now (not at a later upgrade) and PostgreSQL locks the account row.
        sqlx::query("UPDATE accounts SET admin_version = admin_version + 1 WHERE id = $1")
            .bind(&actor.account_id)
            .execute(&mut *tx)
            .await
            .map_err(internal)?;
        let rows = sqlx::query("SELECT id, email, role, status FROM admins WHERE account_id = $1")
            .bind(&actor.account_id)
            .fetch_all(&mut *tx)
            .await
            .map_err(internal)?;
        let mut facts = Vec::with_capacity(rows.len());
        let mut target_email = None;
        let mut target_role = None;
        for r in &rows {
            let id: String = r.get("id");
            let role = Role::from_code(r.get::<String, _>("role").as_str())
                .ok_or_else(|| internal("unknown role"))?;
            let status = AdminStatus::from_code(r.get::<String, _>("status").as_str())
                .ok_or_else(|| internal("unknown status"))?;
            if id == target_id {
                target_email = Some(r.get::<String, _>("email"));
                target_role = Some(role);
            }
            // The actor's role as it is now, not as it was when their request began: a change
            // that committed a moment ago may have taken their permission away.
            if id == actor.id
                && (status != AdminStatus::Active || !allows(role, Action::ManageAdministrators))
            {
                return Err(AppError::Forbidden);
            }
            facts.push(AdminFacts { id, role, status });
        }
        if !facts.iter().any(|f| f.id == actor.id) {
            return Err(AppError::Forbidden);
        }
        let (Some(target_email), Some(before)) = (target_email, target_role) else {
            return Err(AppError::NotFound);
        };
        check_admin_change(&facts, &actor.id, &target_id.to_string(), change).map_err(
            |e| match e {
                AdminRuleError::UnknownAdmin => AppError::NotFound,
                other => AppError::Conflict(other.to_string()),
            },
        )?;
        let account = actor.account_id.as_str();
        let (query, kind, detail) = match change {
            AdminChange::SetRole(role) => (
                sqlx::query("UPDATE admins SET role = $1, updated_at = $2 WHERE id = $3 AND account_id = $4")
                    .bind(role.code()),
                AuditKind::AdminRoleChanged,
                format!("{} → {}", before.display_name(), role.display_name()),
            ),
            AdminChange::Suspend => (
                sqlx::query("UPDATE admins SET status = 'suspended', updated_at = $1 WHERE id = $2 AND account_id = $3"),
                AuditKind::AdminSuspended,
                format!("role {}", before.display_name()),
            ),
            AdminChange::Unsuspend => (
                // Someone suspended before accepting their invitation is invited again.
                sqlx::query(
                    "UPDATE admins SET status = CASE WHEN password_hash IS NULL THEN 'invited' ELSE 'active' END, \
                     updated_at = $1 WHERE id = $2 AND account_id = $3",
                ),
                AuditKind::AdminUnsuspended,
                format!("role {}", before.display_name()),
            ),
            AdminChange::Delete => (
                sqlx::query("DELETE FROM admins WHERE id = $1 AND account_id = $2"),
                AuditKind::AdminDeleted,
                format!("role {}", before.display_name()),
            ),
        };
        let query = if change == AdminChange::Delete {
            query
        } else {
            query.bind(now)
        };
        query
            .bind(target_id)
            .bind(account)
            .execute(&mut *tx)
            .await
            .map_err(internal)?;
        if matches!(change, AdminChange::Suspend | AdminChange::Delete) {
            sqlx::query("DELETE FROM sessions WHERE admin_id = $1")
                .bind(target_id)
                .execute(&mut *tx)
                .await
                .map_err(internal)?;
        }
        record(
            &mut *tx,
            now,
            kind,
            Event::by(actor, &target_email, ip.as_deref(), detail),
        )
        .await
        .map_err(internal)?;
        tx.commit().await.map_err(internal)
    }

    async fn resend_invitation(
        &self,
        actor: &CurrentAdmin,
        target_id: &str,
        ip: Option<String>,
    ) -> Result<(), AppError> {
        let db = &self.auth.db;
        let now = self.auth.clock.now_millis();
        let row = sqlx::query("SELECT email, status FROM admins WHERE id = $1 AND account_id = $2")
            .bind(target_id)
            .bind(&actor.account_id)
            .fetch_optional(db.pool())
            .await
            .map_err(internal)?
            .ok_or(AppError::NotFound)?;
        let email: String = row.get("email");
        if row.get::<String, _>("status") != AdminStatus::Invited.code() {
            return Err(AppError::Conflict(
                "This administrator has already set a password or is suspended, so there is no invitation to resend. \
                 If they forgot their password, they can reset it from the sign-in page."
                    .into(),
            ));
        }
        // Only the newest link works: earlier ones are expired now, and their page says what to do.
        sqlx::query(
            "UPDATE one_time_tokens SET expires_at = $1 \
             WHERE admin_id = $2 AND account_id = $3 AND kind = 'invitation' AND used_at IS NULL AND expires_at > $1",
        )
        .bind(now)
        .bind(target_id)
        .bind(&actor.account_id)
        .execute(db.pool())
        .await
        .map_err(internal)?;
        self.auth
            .send_invitation(target_id, &actor.account_id, &email, &actor.full_name())
            .await?;
        record(
            db.pool(),
            now,
            AuditKind::InvitationSent,
            Event::by(actor, &email, ip.as_deref(), "resent".into()),
        )
        .await
        .map_err(internal)
    }
}
