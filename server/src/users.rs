//! Users (seats) of an account. Adding or deleting a user writes a +1 or −1 into
//! `user_count_changes` in the same transaction, stamped with the same instant, so a month's
//! peak is computed from an exact history. Every query is scoped to the caller's account.

use tally_app::api::users::USERS_PER_PAGE;
use tally_core::{audit::AuditKind, csv::RowError, forms::NewUser};

use crate::{
    actor::Actor,
    audit::{record, Event},
    context::Context,
    db::{contains, list_counts, offset, search_text},
    error::{Context as _, ServiceError},
};

const DUPLICATE: &str = "A user with this email already exists.";

/// A user as listed.
#[derive(Clone, Debug)]
pub struct UserListItem {
    pub id: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub suspended: bool,
}

/// A page of users and the counts around it.
#[derive(Clone, Debug)]
pub struct UserListing {
    pub users: Vec<UserListItem>,
    pub matching: u64,
    /// Every user of the account, active or suspended (all are billable).
    pub total: u64,
}

/// One row of the list query: the counts, and a user unless the page is empty.
#[derive(sqlx::FromRow)]
struct ListRow {
    total: i64,
    matching: i64,
    id: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
    status: Option<String>,
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

/// Records a change of the user count in the caller's transaction.
async fn count_change(
    tx: &mut sqlx::AnyConnection,
    ctx: &Context,
    account_id: &str,
    at: i64,
    delta: i64,
) -> Result<(), ServiceError> {
    sqlx::query(
        "INSERT INTO user_count_changes (id, account_id, at, delta) VALUES ($1, $2, $3, $4)",
    )
    .bind(ctx.new_id())
    .bind(account_id)
    .bind(at)
    .bind(delta)
    .execute(tx)
    .await
    .context("recording a change of the user count")?;
    Ok(())
}

/// The user's email, if the user is in the account.
async fn email_of(
    tx: &mut sqlx::AnyConnection,
    account_id: &str,
    id: &str,
) -> Result<String, ServiceError> {
    sqlx::query_scalar("SELECT email FROM users WHERE id = $1 AND account_id = $2")
        .bind(id)
        .bind(account_id)
        .fetch_optional(tx)
        .await
        .context("reading a user")?
        .ok_or(ServiceError::NotFound)
}

/// Users of the caller's account.
#[derive(Clone)]
pub struct Users {
    ctx: Context,
}

impl Users {
    pub fn new(ctx: Context) -> Self {
        Self { ctx }
    }

    /// Users whose name or email contains `search`, by last name; `page` counts from 1.
    pub async fn list(
        &self,
        actor: &Actor,
        search: &str,
        page: u32,
    ) -> Result<UserListing, ServiceError> {
        // Text within the first or the last name is within "first last" too.
        let search_matches = contains(&["LOWER(first_name || ' ' || last_name)", "email_key"], 2);
        // One query: both counts in one pass over the account's users, joined to the page,
        // so the counts come back (with no user) when the page is empty.
        let rows: Vec<ListRow> = sqlx::query_as(&format!(
            "SELECT c.total, c.matching, p.id, p.first_name, p.last_name, p.email, p.status \
             FROM (SELECT COUNT(*) AS total, \
                          COALESCE(SUM(CASE WHEN {search_matches} THEN 1 ELSE 0 END), 0) AS matching \
                   FROM users WHERE account_id = $1) c \
             LEFT JOIN (SELECT id, first_name, last_name, email, status FROM users \
                        WHERE account_id = $1 AND {search_matches} \
                        ORDER BY last_name, first_name, id LIMIT $3 OFFSET $4) p ON 1 = 1 \
             ORDER BY p.last_name, p.first_name, p.id"
        ))
        .bind(&actor.account_id)
        .bind(search_text(search))
        .bind(i64::from(USERS_PER_PAGE))
        .bind(offset(page, USERS_PER_PAGE))
        .fetch_all(self.ctx.db.pool())
        .await
        .context("reading a page of users")?;
        let (total, matching) = list_counts(rows.first().map(|r| (r.total, r.matching)));
        let users = rows
            .into_iter()
            .filter_map(|r| {
                Some(UserListItem {
                    id: r.id?,
                    first_name: r.first_name?,
                    last_name: r.last_name?,
                    email: r.email?,
                    suspended: r.status? == "suspended",
                })
            })
            .collect();
        Ok(UserListing {
            users,
            matching,
            total,
        })
    }

    /// Adds a user; returns its id.
    pub async fn create(&self, actor: &Actor, user: &NewUser) -> Result<String, ServiceError> {
        let now = self.ctx.now();
        let id = self.ctx.new_id();
        let mut tx = self.ctx.db.pool().begin().await.context("adding a user")?;
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
        .context("inserting a user")?;
        if inserted.rows_affected() == 0 {
            return Err(ServiceError::field("email", DUPLICATE));
        }
        count_change(&mut tx, &self.ctx, &actor.account_id, now, 1).await?;
        record(
            &mut *tx,
            now,
            AuditKind::UserCreated,
            Event::by(actor, user.email.as_str(), String::new()),
        )
        .await
        .context("auditing a new user")?;
        tx.commit().await.context("saving a new user")?;
        Ok(id)
    }

    /// Changes a user's name and email.
    pub async fn update(
        &self,
        actor: &Actor,
        id: &str,
        user: &NewUser,
    ) -> Result<(), ServiceError> {
        let now = self.ctx.now();
        let mut tx = self
            .ctx
            .db
            .pool()
            .begin()
            .await
            .context("changing a user")?;
        let before = email_of(&mut tx, &actor.account_id, id).await?;
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
            Err(e) if is_unique_violation(&e) => {
                return Err(ServiceError::field("email", DUPLICATE))
            }
            r => {
                r.context("updating a user")?;
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
            Event::by(actor, user.email.as_str(), detail),
        )
        .await
        .context("auditing a user change")?;
        tx.commit().await.context("saving a user change")
    }

    /// Suspends or unsuspends a user. Suspended users are still billable.
    pub async fn set_suspended(
        &self,
        actor: &Actor,
        id: &str,
        suspended: bool,
    ) -> Result<(), ServiceError> {
        let now = self.ctx.now();
        let mut tx = self
            .ctx
            .db
            .pool()
            .begin()
            .await
            .context("suspending a user")?;
        let email = email_of(&mut tx, &actor.account_id, id).await?;
        sqlx::query(
            "UPDATE users SET status = $1, updated_at = $2 WHERE id = $3 AND account_id = $4",
        )
        .bind(if suspended { "suspended" } else { "active" })
        .bind(now)
        .bind(id)
        .bind(&actor.account_id)
        .execute(&mut *tx)
        .await
        .context("changing a user's status")?;
        let kind = if suspended {
            AuditKind::UserSuspended
        } else {
            AuditKind::UserUnsuspended
        };
        record(&mut *tx, now, kind, Event::by(actor, &email, String::new()))
            .await
            .context("auditing a user's status")?;
        tx.commit().await.context("saving a user's status")
    }

    /// Deletes a user.
    pub async fn delete(&self, actor: &Actor, id: &str) -> Result<(), ServiceError> {
        let now = self.ctx.now();
        let mut tx = self
            .ctx
            .db
            .pool()
            .begin()
            .await
            .context("deleting a user")?;
        let email = email_of(&mut tx, &actor.account_id, id).await?;
        let deleted = sqlx::query("DELETE FROM users WHERE id = $1 AND account_id = $2")
            .bind(id)
            .bind(&actor.account_id)
            .execute(&mut *tx)
            .await
            .context("deleting a user")?;
        if deleted.rows_affected() == 1 {
            count_change(&mut tx, &self.ctx, &actor.account_id, now, -1).await?;
        }
        record(
            &mut *tx,
            now,
            AuditKind::UserDeleted,
            Event::by(actor, &email, String::new()),
        )
        .await
        .context("auditing a deleted user")?;
        tx.commit().await.context("saving a deleted user")
    }

    /// Adds every user or none. `bad_rows` are rows core refused already; an address already in
    /// the account refuses its row too, and every refused row is returned together.
    pub async fn import(
        &self,
        actor: &Actor,
        users: &[(usize, NewUser)],
        mut bad_rows: Vec<RowError>,
    ) -> Result<u64, ServiceError> {
        let now = self.ctx.now();
        let mut tx = self
            .ctx
            .db
            .pool()
            .begin()
            .await
            .context("importing users")?;
        let existing: Vec<String> =
            sqlx::query_scalar("SELECT email_key FROM users WHERE account_id = $1")
                .bind(&actor.account_id)
                .fetch_all(&mut *tx)
                .await
                .context("reading the account's user addresses")?;
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
            return Err(ServiceError::ImportRefused(bad_rows));
        }
        for (_, user) in users {
            let inserted = sqlx::query(
                "INSERT INTO users (id, account_id, first_name, last_name, email, email_key, status, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, 'active', $7, $7)",
            )
            .bind(self.ctx.new_id())
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
                    return Err(ServiceError::Conflict(
                        "Someone added users while the file was imported. Nothing was imported; try again.".into(),
                    ))
                }
                r => {
                    r.context("inserting an imported user")?;
                }
            }
        }
        let n = users.len() as i64;
        count_change(&mut tx, &self.ctx, &actor.account_id, now, n).await?;
        record(
            &mut *tx,
            now,
            AuditKind::UsersImported,
            Event::by(actor, "CSV import", format!("{n} users added")),
        )
        .await
        .context("auditing an import")?;
        tx.commit().await.context("saving an import")?;
        Ok(n as u64)
    }
}
