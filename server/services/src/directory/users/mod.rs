//! Users (seats) of an account (owner of `users`, `user_count_changes` and `seat_caps`).
//! Adding or deleting a user writes a +1 or −1 into `user_count_changes` in the same
//! transaction, stamped with the same instant, so a month's peak is computed from an exact
//! history. Every query is scoped to the caller's account.
//!
//! An account may limit its users (`seat_caps`, set by its Administrators With Billing). Every
//! way of adding seats counts them through [`count_change`], which then holds the limit: with
//! the new users written, it counts the account's seats and refuses the transaction when they
//! are over. On PostgreSQL it first locks the limit's row, so transactions adding users to one
//! account count one after another, each seeing the ones before; SQLite runs one writer at a
//! time already.

use std::collections::HashMap;

use sqlx::{Any, AnyConnection, Executor};
use tally_core::{
    actor::Actor,
    audit::AuditKind,
    billing::CountChange,
    codes::UserStatus,
    csv::RowError,
    forms::NewUser,
    seat_cap::SeatCap,
    views::users::{UserPage, UserSummary, USERS_PER_PAGE},
    webhooks::WebhookEvent,
};

use crate::platform::{
    audit::Event,
    context::Context,
    db::{contains, list_counts, offset, search_text, Backend, Database, ROWS_PER_STATEMENT},
    error::{ResultExt, ServiceError},
    webhooks::Hook,
    work::Work,
};

pub mod scim;

const DUPLICATE: &str = "A user with this email already exists.";

/// Tells the webhook endpoints that want `users.changed` what happened to the account's users
/// (`created`, `deleted`, `synced`…, and the user's id when it was one). No count: counting
/// would cost every change a read of all the account's users, and `GET /v1/accounts/{id}/usage`
/// answers it.
fn users_changed(work: &mut Work, account_id: &str, change: &str, user_id: Option<&str>) {
    work.hook(Hook::new(
        WebhookEvent::UsersChanged,
        serde_json::json!({
            "account_id": account_id,
            "change": change,
            "user_id": user_id,
        }),
    ));
}

const DUPLICATE_EXTERNAL_ID: &str = "A user with this external ID already exists.";

/// A user as the API shows one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserRecord {
    pub id: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub external_id: Option<String>,
    /// The identity provider's name for the user (SCIM `userName`); their address without one.
    pub user_name: String,
    pub status: UserStatus,
    /// UTC milliseconds.
    pub created_at: i64,
    pub updated_at: i64,
}

const RECORD_COLUMNS: &str = "id, first_name, last_name, email, external_id, COALESCE(user_name, email) AS user_name, status, created_at, updated_at";

#[derive(sqlx::FromRow)]
struct RecordRow {
    id: String,
    first_name: String,
    last_name: String,
    email: String,
    external_id: Option<String>,
    user_name: String,
    status: String,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<RecordRow> for UserRecord {
    type Error = ServiceError;

    fn try_from(r: RecordRow) -> Result<Self, ServiceError> {
        Ok(UserRecord {
            status: UserStatus::try_from(r.status).context("reading a user")?,
            id: r.id,
            first_name: r.first_name,
            last_name: r.last_name,
            email: r.email,
            external_id: r.external_id,
            user_name: r.user_name,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// A user as a sync finds it.
#[derive(sqlx::FromRow)]
struct Existing {
    id: String,
    email_key: String,
    external_id: Option<String>,
    first_name: String,
    last_name: String,
    email: String,
    status: String,
}

/// What a sync did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyncReport {
    pub added: u64,
    pub changed: u64,
    pub removed: u64,
    pub users_now: u64,
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

/// One user of the account, on `exec` (the pool, or a change's transaction), or not found.
async fn record<'e, E>(exec: E, account_id: &str, id: &str) -> Result<UserRecord, ServiceError>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query_as::<_, RecordRow>(&format!(
        "SELECT {RECORD_COLUMNS} FROM users WHERE account_id = $1 AND id = $2"
    ))
    .bind(account_id)
    .bind(id)
    .fetch_optional(exec)
    .await
    .context("reading a user")?
    .ok_or(ServiceError::NotFound)?
    .try_into()
}

/// Records a change of the user count in the caller's transaction.
async fn count_change(
    tx: &mut AnyConnection,
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
    .execute(&mut *tx)
    .await
    .context("recording a change of the user count")?;
    if delta > 0 {
        hold_cap(tx, account_id, delta.unsigned_abs()).await?;
    }
    Ok(())
}

/// Refuses, in `tx`, seats just added (`added`) beyond the account's limit, if it has one.
async fn hold_cap(
    tx: &mut AnyConnection,
    account_id: &str,
    added: u64,
) -> Result<(), ServiceError> {
    let lock = match Backend::of(tx) {
        Backend::Postgres => " FOR UPDATE",
        Backend::Sqlite => "",
    };
    let cap: Option<i64> = sqlx::query_scalar(&format!(
        "SELECT cap FROM seat_caps WHERE account_id = $1{lock}"
    ))
    .bind(account_id)
    .fetch_optional(&mut *tx)
    .await
    .context("reading the account's user limit")?;
    let Some(cap) = cap else {
        return Ok(());
    };
    let seats = seats(&mut *tx, account_id).await?;
    if seats > cap {
        return Err(ServiceError::Conflict(tally_core::seat_cap::refusal(
            cap.unsigned_abs(),
            added,
            seats.unsigned_abs(),
        )));
    }
    Ok(())
}

/// How many seats the account has: its users but those the identity provider deactivated.
async fn seats<'e, E>(exec: E, account_id: &str) -> Result<i64, ServiceError>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE account_id = $1 AND status <> $2")
        .bind(account_id)
        .bind(UserStatus::Deactivated.code())
        .fetch_one(exec)
        .await
        .context("counting the account's users")
}

/// The user's email, if the user is in the account.
async fn email_of(
    tx: &mut AnyConnection,
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
    ) -> Result<UserPage, ServiceError> {
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
        let mut users = Vec::with_capacity(rows.len());
        for r in rows {
            let (Some(id), Some(first_name), Some(last_name), Some(email), Some(status)) =
                (r.id, r.first_name, r.last_name, r.email, r.status)
            else {
                continue;
            };
            let status = UserStatus::try_from(status).context("reading a page of users")?;
            users.push(UserSummary {
                id,
                first_name,
                last_name,
                email,
                suspended: status == UserStatus::Suspended,
                deactivated: status == UserStatus::Deactivated,
            });
        }
        Ok(UserPage {
            users,
            matching,
            total,
            page,
            per_page: USERS_PER_PAGE,
        })
    }

    /// Adds a user; returns its id.
    pub async fn create(&self, actor: &Actor, user: &NewUser) -> Result<String, ServiceError> {
        self.create_with(actor, user, None).await
    }

    /// Adds a user with the seller's own id for it (the API); returns its id.
    pub async fn create_with(
        &self,
        actor: &Actor,
        user: &NewUser,
        external_id: Option<&str>,
    ) -> Result<String, ServiceError> {
        let id = self.ctx.new_id();
        let mut work = self.ctx.begin("adding a user").await?;
        let now = work.now();
        let inserted = insert_with(
            work.tx(),
            &id,
            &actor.account_id,
            user,
            external_id,
            UserStatus::Active,
            now,
        )
        .await;
        match inserted {
            Ok(true) => {}
            Ok(false) => return Err(ServiceError::field("email", DUPLICATE)),
            Err(e) if is_unique_violation(&e) => {
                return Err(ServiceError::field("external_id", DUPLICATE_EXTERNAL_ID))
            }
            Err(e) => return Err(e).context("inserting a user"),
        }
        count_change(work.tx(), &self.ctx, &actor.account_id, now, 1).await?;
        work.audit(Event::by(
            actor,
            AuditKind::UserCreated,
            user.email.as_str(),
            "",
        ));
        users_changed(&mut work, &actor.account_id, "created", Some(&id));
        work.commit().await?;
        Ok(id)
    }

    /// Changes a user's name and email.
    pub async fn update(
        &self,
        actor: &Actor,
        id: &str,
        user: &NewUser,
    ) -> Result<(), ServiceError> {
        self.update_with(actor, id, user, None).await
    }

    /// Changes a user's name and email, and with `Some` their external id too (`Some(None)`
    /// removes it).
    pub async fn update_with(
        &self,
        actor: &Actor,
        id: &str,
        user: &NewUser,
        external_id: Option<Option<&str>>,
    ) -> Result<(), ServiceError> {
        let mut work = self.ctx.begin("changing a user").await?;
        let now = work.now();
        let before = email_of(work.tx(), &actor.account_id, id).await?;
        let result = update_row(work.tx(), &actor.account_id, id, user, external_id, now).await;
        match result {
            Err(e) if is_unique_violation(&e) => {
                let taken_external = match external_id.flatten() {
                    Some(x) => sqlx::query_scalar::<_, String>(
                        "SELECT id FROM users WHERE account_id = $1 AND external_id = $2 AND id <> $3",
                    )
                    .bind(&actor.account_id)
                    .bind(x)
                    .bind(id)
                    .fetch_optional(self.ctx.db.pool())
                    .await
                    .context("reading a user")?
                    .is_some(),
                    None => false,
                };
                return Err(if taken_external {
                    ServiceError::field("external_id", DUPLICATE_EXTERNAL_ID)
                } else {
                    ServiceError::field("email", DUPLICATE)
                });
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
        work.audit(Event::by(
            actor,
            AuditKind::UserUpdated,
            user.email.as_str(),
            detail,
        ));
        users_changed(&mut work, &actor.account_id, "updated", Some(id));
        work.commit().await
    }

    /// Suspends or unsuspends a user. Suspended users are still billable.
    pub async fn set_suspended(
        &self,
        actor: &Actor,
        id: &str,
        suspended: bool,
    ) -> Result<(), ServiceError> {
        let mut work = self.ctx.begin("suspending a user").await?;
        let now = work.now();
        let email = email_of(work.tx(), &actor.account_id, id).await?;
        let current: String =
            sqlx::query_scalar("SELECT status FROM users WHERE id = $1 AND account_id = $2")
                .bind(id)
                .bind(&actor.account_id)
                .fetch_one(work.tx())
                .await
                .context("reading a user")?;
        if current == UserStatus::Deactivated.code() {
            return Err(ServiceError::Conflict(format!(
                "{email} was deactivated by the account's identity provider; it reactivates them."
            )));
        }
        let (status, kind) = if suspended {
            (UserStatus::Suspended, AuditKind::UserSuspended)
        } else {
            (UserStatus::Active, AuditKind::UserUnsuspended)
        };
        sqlx::query(
            "UPDATE users SET status = $1, updated_at = $2 WHERE id = $3 AND account_id = $4",
        )
        .bind(status.code())
        .bind(now)
        .bind(id)
        .bind(&actor.account_id)
        .execute(work.tx())
        .await
        .context("changing a user's status")?;
        work.audit(Event::by(actor, kind, email, ""));
        let change = if suspended {
            "suspended"
        } else {
            "unsuspended"
        };
        users_changed(&mut work, &actor.account_id, change, Some(id));
        work.commit().await
    }

    /// Deletes a user.
    pub async fn delete(&self, actor: &Actor, id: &str) -> Result<(), ServiceError> {
        let mut work = self.ctx.begin("deleting a user").await?;
        let now = work.now();
        let email = email_of(work.tx(), &actor.account_id, id).await?;
        // A user the identity provider deactivated is no seat: its deletion changes no count.
        let status: Option<String> = sqlx::query_scalar(
            "DELETE FROM users WHERE id = $1 AND account_id = $2 RETURNING status",
        )
        .bind(id)
        .bind(&actor.account_id)
        .fetch_optional(work.tx())
        .await
        .context("deleting a user")?;
        if status.is_some_and(|s| s != UserStatus::Deactivated.code()) {
            count_change(work.tx(), &self.ctx, &actor.account_id, now, -1).await?;
        }
        work.audit(Event::by(actor, AuditKind::UserDeleted, email, ""));
        users_changed(&mut work, &actor.account_id, "deleted", Some(id));
        work.commit().await
    }

    /// One user of the caller's account.
    pub async fn get(&self, actor: &Actor, id: &str) -> Result<UserRecord, ServiceError> {
        record(self.ctx.db.pool(), &actor.account_id, id).await
    }

    /// Up to `limit` users of the caller's account in the order they were added, after the
    /// user `after` (from the first without one).
    pub async fn page_after(
        &self,
        actor: &Actor,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<UserRecord>, ServiceError> {
        let rows: Vec<RecordRow> = sqlx::query_as(&format!(
            "SELECT {RECORD_COLUMNS} FROM users WHERE account_id = $1 AND id > $2 ORDER BY id LIMIT $3"
        ))
        .bind(&actor.account_id)
        .bind(after.unwrap_or(""))
        .bind(i64::from(limit))
        .fetch_all(self.ctx.db.pool())
        .await
        .context("reading a page of users")?;
        rows.into_iter().map(UserRecord::try_from).collect()
    }

    /// Makes the caller's account's users exactly `wanted`, in one transaction: a user is
    /// the same one when its external id is (or, sent without one, its address), and is
    /// changed where its name or address differs; every other user is deleted, and the rest
    /// added. The additions and deletions are one instant's changes, so replacing users does
    /// not raise the month's peak. `wanted` must name each address and external id once
    /// (`core` checks it before).
    pub async fn sync(
        &self,
        actor: &Actor,
        wanted: &[(NewUser, Option<String>)],
    ) -> Result<SyncReport, ServiceError> {
        let mut work = self.ctx.begin("syncing users").await?;
        let now = work.now();
        let account = actor.account_id.as_str();
        // The account's users, locked for the transaction where the database can.
        let existing: Vec<Existing> = sqlx::query_as(
            "SELECT id, email_key, external_id, first_name, last_name, email, status FROM users WHERE account_id = $1",
        )
        .bind(account)
        .fetch_all(work.tx())
        .await
        .context("reading the account's users")?;
        let by_external: HashMap<&str, usize> = existing
            .iter()
            .enumerate()
            .filter_map(|(i, u)| u.external_id.as_deref().map(|x| (x, i)))
            .collect();
        let by_email: HashMap<&str, usize> = existing
            .iter()
            .enumerate()
            .map(|(i, u)| (u.email_key.as_str(), i))
            .collect();
        let mut kept = vec![false; existing.len()];
        let mut changes = Vec::new();
        let mut additions = Vec::new();
        // Users the identity provider deactivated that the seller's list names: seats again.
        let mut reactivated = Vec::new();
        for (user, external) in wanted {
            let key = user.email.normalized_key();
            let found = match external.as_deref() {
                Some(x) => by_external.get(x).copied(),
                None => by_email.get(key.as_str()).copied(),
            };
            match found {
                Some(i) if !kept[i] => {
                    kept[i] = true;
                    let u = &existing[i];
                    if u.status == UserStatus::Deactivated.code() {
                        reactivated.push(u.id.as_str());
                    }
                    if u.first_name != user.first_name
                        || u.last_name != user.last_name
                        || u.email != user.email.as_str()
                    {
                        changes.push((u.id.clone(), user));
                    }
                }
                _ => additions.push((user, external.as_deref())),
            }
        }
        let removed: Vec<&str> = existing
            .iter()
            .zip(&kept)
            .filter(|(_, k)| !**k)
            .map(|(u, _)| u.id.as_str())
            .collect();
        let removed_seats = existing
            .iter()
            .zip(&kept)
            .filter(|(u, k)| !**k && u.status != UserStatus::Deactivated.code())
            .count() as i64;
        let marks = self.ctx.db.backend();
        for batch in removed.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "DELETE FROM users WHERE account_id = {} AND id IN ({})",
                marks.marks_from(1, 1),
                marks.marks_from(2, batch.len())
            );
            let mut q = sqlx::query(&sql).bind(account);
            for id in batch {
                q = q.bind(*id);
            }
            q.execute(work.tx())
                .await
                .context("deleting synced-away users")?;
        }
        for batch in reactivated.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "UPDATE users SET status = {}, updated_at = {} WHERE account_id = {} AND id IN ({})",
                marks.marks_from(1, 1),
                marks.marks_from(2, 1),
                marks.marks_from(3, 1),
                marks.marks_from(4, batch.len())
            );
            let mut q = sqlx::query(&sql)
                .bind(UserStatus::Active.code())
                .bind(now)
                .bind(account);
            for id in batch {
                q = q.bind(*id);
            }
            q.execute(work.tx())
                .await
                .context("reactivating synced users")?;
        }
        let taken = |e: &sqlx::Error| is_unique_violation(e);
        for (id, user) in &changes {
            let changed = update_row(work.tx(), account, id, user, None, now).await;
            match changed {
                Err(e) if taken(&e) => return Err(ServiceError::Conflict(format!(
                    "{} is the address of another user kept in the list; change one of them in a sync of its own first.",
                    user.email.as_str()
                ))),
                r => {
                    r.context("changing a synced user")?;
                }
            }
        }
        for batch in additions.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO users (id, account_id, first_name, last_name, email, email_key, status, created_at, updated_at, external_id) VALUES {}",
                marks.values_list(batch.len(), 10)
            );
            let mut q = sqlx::query(&sql);
            for (user, external) in batch {
                q = q
                    .bind(self.ctx.new_id())
                    .bind(account)
                    .bind(&user.first_name)
                    .bind(&user.last_name)
                    .bind(user.email.as_str())
                    .bind(user.email.normalized_key())
                    .bind(UserStatus::Active.code())
                    .bind(now)
                    .bind(now)
                    .bind(*external);
            }
            match q.execute(work.tx()).await {
                Err(e) if taken(&e) => return Err(ServiceError::Conflict(
                    "A user in the list has the address of another user of the account kept by its external id; send each person once.".into(),
                )),
                r => {
                    r.context("adding synced users")?;
                }
            }
        }
        let report = SyncReport {
            added: additions.len() as u64,
            // A user reactivated and renamed at once is one change.
            changed: {
                let renamed: std::collections::HashSet<&str> =
                    changes.iter().map(|(id, _)| id.as_str()).collect();
                (changes.len()
                    + reactivated
                        .iter()
                        .filter(|id| !renamed.contains(*id))
                        .count()) as u64
            },
            removed: removed.len() as u64,
            users_now: wanted.len() as u64,
        };
        let seats_added = (additions.len() + reactivated.len()) as i64;
        if seats_added > 0 {
            count_change(work.tx(), &self.ctx, account, now, seats_added).await?;
        }
        if removed_seats > 0 {
            count_change(work.tx(), &self.ctx, account, now, -removed_seats).await?;
        }
        work.audit(Event::by(
            actor,
            AuditKind::UsersSynced,
            "the seller's list",
            format!(
                "{} added, {} changed, {} removed; {} users now",
                report.added, report.changed, report.removed, report.users_now
            ),
        ));
        if report.added + report.changed + report.removed > 0 {
            users_changed(&mut work, account, "synced", None);
        }
        work.commit().await?;
        Ok(report)
    }

    /// The account's limit on its users, if any, and how many it has now (the Billing page).
    pub async fn seat_cap(&self, actor: &Actor) -> Result<SeatCap, ServiceError> {
        let pool = self.ctx.db.pool();
        let cap: Option<i64> =
            sqlx::query_scalar("SELECT cap FROM seat_caps WHERE account_id = $1")
                .bind(&actor.account_id)
                .fetch_optional(pool)
                .await
                .context("reading the account's user limit")?;
        Ok(SeatCap {
            cap: cap.map(i64::unsigned_abs),
            users: seats(pool, &actor.account_id).await?.unsigned_abs(),
        })
    }

    /// Sets the account's limit on its users (`None`: no limit); not below the users it has.
    pub async fn set_seat_cap(&self, actor: &Actor, cap: Option<u64>) -> Result<(), ServiceError> {
        let mut work = self.ctx.begin("setting the user limit").await?;
        let now = work.now();
        let account = actor.account_id.as_str();
        match cap {
            // Written first: on PostgreSQL the row is then locked, so users added meanwhile are
            // counted here or held to the new limit there.
            Some(cap) => {
                sqlx::query(
                    "INSERT INTO seat_caps (account_id, cap, updated_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (account_id) DO UPDATE SET cap = excluded.cap, updated_at = excluded.updated_at",
                )
                .bind(account)
                .bind(i64::try_from(cap).unwrap_or(i64::MAX))
                .bind(now)
                .execute(work.tx())
                .await
                .context("saving the user limit")?;
                let users = seats(work.tx(), account).await?.unsigned_abs();
                if let Some(refusal) = tally_core::seat_cap::below_users(cap, users) {
                    return Err(ServiceError::field("seat_cap", refusal));
                }
            }
            None => {
                sqlx::query("DELETE FROM seat_caps WHERE account_id = $1")
                    .bind(account)
                    .execute(work.tx())
                    .await
                    .context("removing the user limit")?;
            }
        }
        work.audit(Event::by(
            actor,
            AuditKind::SeatCapChanged,
            "user limit",
            match cap {
                Some(cap) => format!("at most {cap} users"),
                None => "no limit".to_string(),
            },
        ));
        work.commit().await
    }

    /// Adds every user or none. `bad_rows` are rows core refused already; an address already in
    /// the account refuses its row too, and every refused row is returned together.
    pub async fn import(
        &self,
        actor: &Actor,
        users: &[(usize, NewUser)],
        mut bad_rows: Vec<RowError>,
    ) -> Result<u64, ServiceError> {
        let mut work = self.ctx.begin("importing users").await?;
        let now = work.now();
        let existing: Vec<String> =
            sqlx::query_scalar("SELECT email_key FROM users WHERE account_id = $1")
                .bind(&actor.account_id)
                .fetch_all(work.tx())
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
            let id = self.ctx.new_id();
            let inserted = insert(
                work.tx(),
                &id,
                &actor.account_id,
                user,
                UserStatus::Active,
                now,
            )
            .await
            .context("inserting an imported user")?;
            if !inserted {
                // Added by someone else since the check: refuse the whole file, as for any bad row.
                return Err(ServiceError::Conflict(
                    "Someone added users while the file was imported. Nothing was imported; try again.".into(),
                ));
            }
        }
        let n = users.len() as i64;
        count_change(work.tx(), &self.ctx, &actor.account_id, now, n).await?;
        work.audit(Event::by(
            actor,
            AuditKind::UsersImported,
            "CSV import",
            format!("{n} users added"),
        ));
        users_changed(&mut work, &actor.account_id, "imported", None);
        work.commit().await?;
        Ok(n as u64)
    }
}

/// Writes a user's name and address (and with `Some`, their external id) in `tx`.
async fn update_row(
    tx: &mut AnyConnection,
    account_id: &str,
    id: &str,
    user: &NewUser,
    external_id: Option<Option<&str>>,
    now: i64,
) -> Result<sqlx::any::AnyQueryResult, sqlx::Error> {
    let set_external = if external_id.is_some() {
        ", external_id = $8"
    } else {
        ""
    };
    let sql = format!(
        "UPDATE users SET first_name = $1, last_name = $2, email = $3, email_key = $4, updated_at = $5{set_external} \
         WHERE id = $6 AND account_id = $7"
    );
    let mut query = sqlx::query(&sql)
        .bind(&user.first_name)
        .bind(&user.last_name)
        .bind(user.email.as_str())
        .bind(user.email.normalized_key())
        .bind(now)
        .bind(id)
        .bind(account_id);
    if let Some(external_id) = external_id {
        query = query.bind(external_id);
    }
    query.execute(tx).await
}

/// Inserts a user (without its count change); false when the account has a user with this
/// address already.
async fn insert<'e, E>(
    exec: E,
    id: &str,
    account_id: &str,
    user: &NewUser,
    status: UserStatus,
    at: i64,
) -> Result<bool, sqlx::Error>
where
    E: Executor<'e, Database = Any>,
{
    insert_with(exec, id, account_id, user, None, status, at).await
}

/// [`insert`], with the seller's own id for the user. An external id the account has already
/// is an error (a unique violation), unlike an address.
async fn insert_with<'e, E>(
    exec: E,
    id: &str,
    account_id: &str,
    user: &NewUser,
    external_id: Option<&str>,
    status: UserStatus,
    at: i64,
) -> Result<bool, sqlx::Error>
where
    E: Executor<'e, Database = Any>,
{
    let inserted = sqlx::query(
        "INSERT INTO users (id, account_id, first_name, last_name, email, email_key, status, created_at, updated_at, external_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9) ON CONFLICT (account_id, email_key) DO NOTHING",
    )
    .bind(id)
    .bind(account_id)
    .bind(&user.first_name)
    .bind(&user.last_name)
    .bind(user.email.as_str())
    .bind(user.email.normalized_key())
    .bind(status.code())
    .bind(at)
    .bind(external_id)
    .execute(exec)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

/// A user as it was at `at` (the demo's seed), with its count change, in `conn`.
pub async fn seed(
    conn: &mut AnyConnection,
    ctx: &Context,
    account_id: &str,
    user: &NewUser,
    status: UserStatus,
    at: i64,
) -> Result<(), ServiceError> {
    let inserted = insert(&mut *conn, &ctx.new_id(), account_id, user, status, at)
        .await
        .context("seeding a user")?;
    if !inserted {
        return Err(ServiceError::invariant(
            "seeding a user",
            "the address is taken",
        ));
    }
    count_change(conn, ctx, account_id, at, 1).await
}

/// The account's user count changes from the instant `opening_at` on: the count at that
/// instant as one change, then each change after it. The same peak as the whole history, read
/// through the (account, at) index without the account's older history.
pub async fn history_since(
    pool: &sqlx::AnyPool,
    account_id: &str,
    opening_at: i64,
) -> Result<Vec<CountChange>, ServiceError> {
    let opening: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(delta), 0) AS BIGINT) FROM user_count_changes \
         WHERE account_id = $1 AND at <= $2",
    )
    .bind(account_id)
    .bind(opening_at)
    .fetch_one(pool)
    .await
    .context("summing the user count at the month's start")?;
    let since: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT at, delta FROM user_count_changes WHERE account_id = $1 AND at > $2",
    )
    .bind(account_id)
    .bind(opening_at)
    .fetch_all(pool)
    .await
    .context("reading this month's user count changes")?;
    Ok(std::iter::once((opening_at, opening))
        .chain(since)
        .map(|(at_millis, delta)| CountChange { at_millis, delta })
        .collect())
}

/// Each of the accounts' histories for the span from `start` to `end` (a month): the count at
/// `start` as one change, then the span's own changes. Accounts with no change ever are absent.
pub async fn histories(
    db: &Database,
    account_ids: &[&str],
    start: i64,
    end: i64,
) -> Result<HashMap<String, Vec<CountChange>>, ServiceError> {
    let mut history: HashMap<String, Vec<CountChange>> = HashMap::new();
    if account_ids.is_empty() {
        return Ok(history);
    }
    let (pool, marks) = (db.pool(), db.backend());
    // The accounts by value: the index on (account_id, at) finds each one's rows instead of
    // the chunk's whole history being read.
    let ids = marks.marks_from(2, account_ids.len());
    let opening_sql = format!(
        "SELECT account_id, CAST(SUM(delta) AS BIGINT) FROM user_count_changes \
         WHERE at <= {} AND account_id IN ({ids}) GROUP BY account_id",
        marks.marks_from(1, 1)
    );
    let mut q = sqlx::query_as::<_, (String, i64)>(&opening_sql).bind(start);
    for id in account_ids {
        q = q.bind(*id);
    }
    for (account, delta) in q
        .fetch_all(pool)
        .await
        .context("summing opening user counts")?
    {
        history.entry(account).or_default().push(CountChange {
            at_millis: start,
            delta,
        });
    }
    let ids = marks.marks_from(3, account_ids.len());
    let changes_sql = format!(
        "SELECT account_id, at, delta FROM user_count_changes \
         WHERE at > {} AND at < {} AND account_id IN ({ids})",
        marks.marks_from(1, 1),
        marks.marks_from(2, 1)
    );
    let mut q = sqlx::query_as::<_, (String, i64, i64)>(&changes_sql)
        .bind(start)
        .bind(end);
    for id in account_ids {
        q = q.bind(*id);
    }
    let changes = q
        .fetch_all(pool)
        .await
        .context("reading the month's user count changes")?;
    for (account, at_millis, delta) in changes {
        history
            .entry(account)
            .or_default()
            .push(CountChange { at_millis, delta });
    }
    Ok(history)
}
