//! Users (seats) of an account. Adding or deleting a user writes a +1 or −1 into
//! `user_count_changes` in the same transaction, stamped with the same instant, so a month's
//! peak is computed from an exact history. Every query is scoped to the caller's account.

use sqlx::Row;
use tally_app::{
    api::users::{UserPage, UserSummary, USERS_PER_PAGE},
    auth::CurrentAdmin,
    error::AppError,
    ports::UserService,
};
use tally_core::{audit::AuditKind, csv::RowError, forms::NewUser};

use crate::{
    audit::{record, Event},
    auth::{internal, Auth},
    crypto::new_id,
    db::{contains, list_counts, search_text},
};

pub struct Users {
    pub auth: Auth,
}

const DUPLICATE: &str = "A user with this email already exists.";

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

/// Records a change of the user count in the caller's transaction.
async fn count_change(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    account_id: &str,
    at: i64,
    delta: i64,
) -> Result<(), AppError> {
    sqlx::query(
        "INSERT INTO user_count_changes (id, account_id, at, delta) VALUES ($1, $2, $3, $4)",
    )
    .bind(new_id())
    .bind(account_id)
    .bind(at)
    .bind(delta)
    .execute(&mut **tx)
    .await
    .map_err(internal)?;
    Ok(())
}

impl Users {
    /// The user's email, if the user is in the caller's account.
    async fn email_of(
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        account_id: &str,
        id: &str,
    ) -> Result<String, AppError> {
        sqlx::query_scalar("SELECT email FROM users WHERE id = $1 AND account_id = $2")
            .bind(id)
            .bind(account_id)
            .fetch_optional(&mut **tx)
            .await
            .map_err(internal)?
            .ok_or(AppError::NotFound)
    }
}

#[async_trait::async_trait]
impl UserService for Users {
    async fn list(
        &self,
        actor: &CurrentAdmin,
        search: String,
        page: u32,
    ) -> Result<UserPage, AppError> {
        let pool = self.auth.db.pool();
        let pattern = search_text(&search);
        // Text within the first or the last name is within "first last" too.
        let search_matches = contains(&["LOWER(first_name || ' ' || last_name)", "email_key"], 2);
        let filter = format!("account_id = $1 AND {search_matches}");
        // One query: both counts in one pass over the account's users, joined to the page,
        // so the counts come back (with no user) when the page is empty.
        let rows = sqlx::query(&format!(
            "SELECT c.total, c.matching, p.id, p.first_name, p.last_name, p.email, p.status \
             FROM (SELECT COUNT(*) AS total, \
                          COALESCE(SUM(CASE WHEN {search_matches} THEN 1 ELSE 0 END), 0) AS matching \
                   FROM users WHERE account_id = $1) c \
             LEFT JOIN (SELECT id, first_name, last_name, email, status FROM users WHERE {filter} \
                        ORDER BY last_name, first_name, id LIMIT $3 OFFSET $4) p ON 1 = 1 \
             ORDER BY p.last_name, p.first_name, p.id"
        ))
        .bind(&actor.account_id)
        .bind(&pattern)
        .bind(i64::from(USERS_PER_PAGE))
        .bind(i64::from(page.saturating_sub(1)) * i64::from(USERS_PER_PAGE))
        .fetch_all(pool)
        .await
        .map_err(internal)?;
        let (total, matching) = list_counts(&rows);
        Ok(UserPage {
            users: rows
                .iter()
                .filter_map(|r| Some((r.get::<Option<String>, _>("id")?, r)))
                .map(|(id, r)| UserSummary {
                    id,
                    first_name: r.get("first_name"),
                    last_name: r.get("last_name"),
                    email: r.get("email"),
                    suspended: r.get::<String, _>("status") == "suspended",
                })
                .collect(),
            matching,
            total,
            page,
            per_page: USERS_PER_PAGE,
        })
    }

    async fn create(
        &self,
        actor: &CurrentAdmin,
        user: NewUser,
        ip: Option<String>,
    ) -> Result<String, AppError> {
        let now = self.auth.clock.now_millis();
        let id = new_id();
        let mut tx = self.auth.db.pool().begin().await.map_err(internal)?;
        let inserted = sqlx::query(
            "INSERT INTO users (id, account_id, first_name, last_name, email, email_key, status, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 'active', $7, $7) ON CONFLICT (account_id, email_key) DO NOTHING",
        )
        .bind(&id)
        .bind(&actor.account_id)
        .bind(&user.first_name)
        .bind(&user.last_name)
        .bind(user.email.as_str())
        .bind(user.email.normalized_key())
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(internal)?;
        if inserted.rows_affected() == 0 {
            return Err(AppError::field("email", DUPLICATE));
        }
        count_change(&mut tx, &actor.account_id, now, 1).await?;
        record(
            &mut *tx,
            now,
            AuditKind::UserCreated,
            Event::by(actor, user.email.as_str(), ip.as_deref(), String::new()),
        )
        .await
        .map_err(internal)?;
        tx.commit().await.map_err(internal)?;
        Ok(id)
    }

    async fn update(
        &self,
        actor: &CurrentAdmin,
        id: &str,
        user: NewUser,
        ip: Option<String>,
    ) -> Result<(), AppError> {
        let now = self.auth.clock.now_millis();
        let mut tx = self.auth.db.pool().begin().await.map_err(internal)?;
        let before = Self::email_of(&mut tx, &actor.account_id, id).await?;
        let result = sqlx::query(
            "UPDATE users SET first_name = $1, last_name = $2, email = $3, email_key = $4, updated_at = $5 \
             WHERE id = $6 AND account_id = $7",
        )
        .bind(&user.first_name)
        .bind(&user.last_name)
        .bind(user.email.as_str())
        .bind(user.email.normalized_key())
        .bind(now)
        .bind(id)
        .bind(&actor.account_id)
        .execute(&mut *tx)
        .await;
        match result {
            Err(e) if is_unique_violation(&e) => return Err(AppError::field("email", DUPLICATE)),
            r => {
                r.map_err(internal)?;
            }
        }
        let detail = if before == user.email.as_str() {
            String::new()
        } else {
            format!("email was {before}")
        };
        record(
            &mut *tx,
            now,
            AuditKind::UserUpdated,
            Event::by(actor, user.email.as_str(), ip.as_deref(), detail),
        )
        .await
        .map_err(internal)?;
        tx.commit().await.map_err(internal)
    }

    async fn set_suspended(
        &self,
        actor: &CurrentAdmin,
        id: &str,
        suspended: bool,
        ip: Option<String>,
    ) -> Result<(), AppError> {
        let now = self.auth.clock.now_millis();
        let mut tx = self.auth.db.pool().begin().await.map_err(internal)?;
        let email = Self::email_of(&mut tx, &actor.account_id, id).await?;
        sqlx::query(
            "UPDATE users SET status = $1, updated_at = $2 WHERE id = $3 AND account_id = $4",
        )
        .bind(if suspended { "suspended" } else { "active" })
        .bind(now)
        .bind(id)
        .bind(&actor.account_id)
        .execute(&mut *tx)
        .await
        .map_err(internal)?;
        let kind = if suspended {
            AuditKind::UserSuspended
        } else {
            AuditKind::UserUnsuspended
        };
        record(
            &mut *tx,
            now,
            kind,
            Event::by(actor, &email, ip.as_deref(), String::new()),
        )
        .await
        .map_err(internal)?;
        tx.commit().await.map_err(internal)
    }

    async fn delete(
        &self,
        actor: &CurrentAdmin,
        id: &str,
        ip: Option<String>,
    ) -> Result<(), AppError> {
        let now = self.auth.clock.now_millis();
        let mut tx = self.auth.db.pool().begin().await.map_err(internal)?;
        let email = Self::email_of(&mut tx, &actor.account_id, id).await?;
        let deleted = sqlx::query("DELETE FROM users WHERE id = $1 AND account_id = $2")
            .bind(id)
            .bind(&actor.account_id)
            .execute(&mut *tx)
            .await
            .map_err(internal)?;
        if deleted.rows_affected() == 1 {
            count_change(&mut tx, &actor.account_id, now, -1).await?;
        }
        record(
            &mut *tx,
            now,
            AuditKind::UserDeleted,
            Event::by(actor, &email, ip.as_deref(), String::new()),
        )
        .await
        .map_err(internal)?;
        tx.commit().await.map_err(internal)
    }

    async fn import(
        &self,
        actor: &CurrentAdmin,
        users: Vec<(usize, NewUser)>,
        mut bad_rows: Vec<RowError>,
        ip: Option<String>,
    ) -> Result<u64, AppError> {
        let now = self.auth.clock.now_millis();
        let mut tx = self.auth.db.pool().begin().await.map_err(internal)?;
        let existing: Vec<String> =
            sqlx::query_scalar("SELECT email_key FROM users WHERE account_id = $1")
                .bind(&actor.account_id)
                .fetch_all(&mut *tx)
                .await
                .map_err(internal)?;
        let existing: std::collections::HashSet<String> = existing.into_iter().collect();
        bad_rows.extend(
            users
                .iter()
                .filter(|(_, u)| existing.contains(&u.email.normalized_key()))
                .map(|(line, _)| RowError {
                    line: *line,
                    reason: DUPLICATE.into(),
                }),
        );
        if !bad_rows.is_empty() {
            bad_rows.sort_by_key(|r| r.line);
            return Err(AppError::ImportRejected(bad_rows));
        }
        for (_, user) in &users {
            let inserted = sqlx::query(
                "INSERT INTO users (id, account_id, first_name, last_name, email, email_key, status, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, 'active', $7, $7)",
            )
            .bind(new_id())
            .bind(&actor.account_id)
            .bind(&user.first_name)
            .bind(&user.last_name)
            .bind(user.email.as_str())
            .bind(user.email.normalized_key())
            .bind(now)
            .execute(&mut *tx)
            .await;
            match inserted {
                // Added by someone else since the check: refuse the whole file, as for any bad row.
                Err(e) if is_unique_violation(&e) => {
                    return Err(AppError::Conflict(
                        "Someone added users while the file was imported. Nothing was imported; try again.".into(),
                    ))
                }
                r => {
                    r.map_err(internal)?;
                }
            }
        }
        let n = users.len() as i64;
        count_change(&mut tx, &actor.account_id, now, n).await?;
        record(
            &mut *tx,
            now,
            AuditKind::UsersImported,
            Event::by(
                actor,
                "CSV import",
                ip.as_deref(),
                format!("{n} users added"),
            ),
        )
        .await
        .map_err(internal)?;
        tx.commit().await.map_err(internal)?;
        Ok(n as u64)
    }
}
