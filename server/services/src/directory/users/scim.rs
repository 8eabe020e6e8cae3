//! SCIM provisioning of an account's users (owner of `scim_tokens`): the tokens its
//! administrators make for their identity provider (Manage users; shown once, kept hashed,
//! revocable), and the users as the provider sees them — the same rows the Users page shows,
//! each with the provider's `userName` (the address when it has none). A user deactivated by
//! the provider (`active: false`) stays, for the provider to reactivate, but is no longer a
//! seat from that moment: its count change is written in the same transaction, as for a user
//! added or deleted.

use tally_core::{
    account_status::AccountStatus,
    actor::Actor,
    audit::AuditKind,
    codes::UserStatus,
    forms::NewUser,
    roles::{Action, Role},
    scim::{
        looks_like_token, token_visible, Filter, FilterAttribute, FilterValue, SCIM_TOKEN_PREFIX,
        SCIM_TOKEN_SECRET_LEN,
    },
    views::users::{CreatedScimToken, ScimTokenRow},
};

use super::{
    count_change, is_unique_violation, record, users_changed, RecordRow, UserRecord, RECORD_COLUMNS,
};
use crate::{
    identity::accounts,
    platform::{
        audit::Event,
        context::Context,
        crypto::{random_alphanumeric, token_hash},
        error::{ResultExt, ServiceError},
    },
};

/// How often a token's last use is written: at most once a minute.
const LAST_USED_EVERY_MILLIS: i64 = 60_000;

/// A user as the identity provider sends it, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScimUserInput {
    pub user: NewUser,
    pub user_name: String,
    pub external_id: Option<String>,
    pub active: bool,
}

/// Why a SCIM change was refused, as RFC 7644 §3.12 names it.
#[derive(Debug)]
pub enum ScimRefusal {
    /// `uniqueness` (409): the userName, address or externalId is another user's.
    Uniqueness(String),
    /// `mutability` (400): the account is closed.
    Closed,
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    id: String,
    visible: String,
    created_by: String,
    created_at: i64,
    last_used_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl From<TokenRow> for ScimTokenRow {
    fn from(r: TokenRow) -> Self {
        ScimTokenRow {
            id: r.id,
            visible: r.visible,
            created_by: r.created_by,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
            revoked_at: r.revoked_at,
        }
    }
}

/// A token looked up by its hash.
#[derive(sqlx::FromRow)]
struct FoundToken {
    id: String,
    account_id: String,
    visible: String,
    last_used_at: Option<i64>,
    revoked_at: Option<i64>,
}

const TOKEN_COLUMNS: &str = "id, visible, created_by, created_at, last_used_at, revoked_at";

/// The role a token acts with: one that may manage users and nothing of billing or
/// administrators.
const TOKEN_ROLE: Role = Role::HelpDesk;

/// The identity provider's tokens and its view of the users.
#[derive(Clone)]
pub struct Scim {
    ctx: Context,
}

impl Scim {
    pub fn new(ctx: Context) -> Self {
        Self { ctx }
    }

    fn may_manage(actor: &Actor) -> Result<(), ServiceError> {
        if actor.may(Action::ManageUsers) {
            Ok(())
        } else {
            Err(ServiceError::Forbidden)
        }
    }

    /// The account's tokens, the newest first, revoked ones too.
    pub async fn tokens(&self, actor: &Actor) -> Result<Vec<ScimTokenRow>, ServiceError> {
        Self::may_manage(actor)?;
        let rows: Vec<TokenRow> = sqlx::query_as(&format!(
            "SELECT {TOKEN_COLUMNS} FROM scim_tokens WHERE account_id = $1 ORDER BY created_at DESC, id DESC"
        ))
        .bind(&actor.account_id)
        .fetch_all(self.ctx.db.pool())
        .await
        .context("reading SCIM tokens")?;
        Ok(rows.into_iter().map(ScimTokenRow::from).collect())
    }

    /// Makes a token (with a fresh check); the answer holds the whole token, which is never
    /// readable again.
    pub async fn create_token(&self, actor: &Actor) -> Result<CreatedScimToken, ServiceError> {
        Self::may_manage(actor)?;
        self.ctx.require_fresh(actor)?;
        let token = format!(
            "{SCIM_TOKEN_PREFIX}{}",
            random_alphanumeric(SCIM_TOKEN_SECRET_LEN)
        );
        let row = ScimTokenRow {
            id: self.ctx.new_id(),
            visible: token_visible(&token).to_owned(),
            created_by: actor.full_name(),
            created_at: self.ctx.now(),
            last_used_at: None,
            revoked_at: None,
        };
        let mut work = self.ctx.begin("making a SCIM token").await?;
        sqlx::query(
            "INSERT INTO scim_tokens (id, account_id, visible, token_hash, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&row.id)
        .bind(&actor.account_id)
        .bind(&row.visible)
        .bind(token_hash(&token))
        .bind(&row.created_by)
        .bind(row.created_at)
        .execute(work.tx())
        .await
        .context("making a SCIM token")?;
        work.audit(Event::by(
            actor,
            AuditKind::ScimTokenCreated,
            format!("{}…", row.visible),
            "",
        ));
        work.commit().await?;
        Ok(CreatedScimToken { token, row })
    }

    /// Revokes a token of the account: the identity provider's calls with it are refused
    /// from now on. Revoking one already revoked changes nothing.
    pub async fn revoke_token(&self, actor: &Actor, id: &str) -> Result<(), ServiceError> {
        Self::may_manage(actor)?;
        let mut work = self.ctx.begin("revoking a SCIM token").await?;
        let now = work.now();
        let visible: Option<String> = sqlx::query_scalar(
            "UPDATE scim_tokens SET revoked_at = $1 WHERE id = $2 AND account_id = $3 AND revoked_at IS NULL RETURNING visible",
        )
        .bind(now)
        .bind(id)
        .bind(&actor.account_id)
        .fetch_optional(work.tx())
        .await
        .context("revoking a SCIM token")?;
        let Some(visible) = visible else {
            let exists: Option<String> =
                sqlx::query_scalar("SELECT id FROM scim_tokens WHERE id = $1 AND account_id = $2")
                    .bind(id)
                    .bind(&actor.account_id)
                    .fetch_optional(work.tx())
                    .await
                    .context("reading a SCIM token")?;
            return exists.map(|_| ()).ok_or(ServiceError::NotFound);
        };
        work.audit(Event::by(
            actor,
            AuditKind::ScimTokenRevoked,
            format!("{visible}…"),
            "",
        ));
        work.commit().await
    }

    /// The account a token presented with a call acts in, as the identity provider: `None`
    /// for a token that is not one, or is revoked. Its last use is written at most once a
    /// minute.
    pub async fn authenticate(
        &self,
        token: &str,
        ip: Option<String>,
    ) -> Result<Option<Actor>, ServiceError> {
        if !looks_like_token(token) {
            return Ok(None);
        }
        let pool = self.ctx.db.pool();
        let found: Option<FoundToken> = sqlx::query_as(
            "SELECT id, account_id, visible, last_used_at, revoked_at FROM scim_tokens WHERE token_hash = $1",
        )
        .bind(token_hash(token))
        .fetch_optional(pool)
        .await
        .context("looking up a SCIM token")?;
        let Some(FoundToken {
            id,
            account_id,
            visible,
            last_used_at: last_used,
            revoked_at: None,
        }) = found
        else {
            return Ok(None);
        };
        let Some(account) = accounts::by_id(pool, &account_id).await? else {
            return Ok(None);
        };
        let now = self.ctx.now();
        if last_used.is_none_or(|at| now - at >= LAST_USED_EVERY_MILLIS) {
            sqlx::query("UPDATE scim_tokens SET last_used_at = $1 WHERE id = $2")
                .bind(now)
                .bind(&id)
                .execute(pool)
                .await
                .context("noting a SCIM token's use")?;
        }
        Ok(Some(Actor {
            email: format!("SCIM token {visible}… (identity provider)"),
            id,
            account_id: account.id,
            account_name: account.name,
            first_name: "Identity".into(),
            last_name: "provider".into(),
            role: TOKEN_ROLE,
            account_past_due: account.past_due.0,
            account_status: account.status,
            must_set_up_two_step: false,
            ip,
            verified_at: now,
            session: String::new(),
        }))
    }

    /// The account `account_id` as the server's command line acts in it (`tally
    /// scim-token`): allowed to make its tokens, as an administrator who manages users is.
    pub async fn command_line(&self, account_id: &str) -> Result<Actor, ServiceError> {
        let account = accounts::by_id(self.ctx.db.pool(), account_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        Ok(Actor {
            id: "command-line".into(),
            account_id: account.id,
            account_name: account.name,
            email: "the command line".into(),
            first_name: "The".into(),
            last_name: "command line".into(),
            role: Role::Administrator,
            account_past_due: account.past_due.0,
            account_status: account.status,
            must_set_up_two_step: false,
            ip: None,
            verified_at: self.ctx.now(),
            session: String::new(),
        })
    }

    /// One user of the caller's account.
    pub async fn get(&self, actor: &Actor, id: &str) -> Result<UserRecord, ServiceError> {
        record(self.ctx.db.pool(), &actor.account_id, id).await
    }

    /// The account's users matching `filter` (all without one) in the order they were added:
    /// how many match, and `limit` of them from the `offset`-th.
    pub async fn list(
        &self,
        actor: &Actor,
        filter: Option<&Filter>,
        offset: u64,
        limit: u32,
    ) -> Result<(u64, Vec<UserRecord>), ServiceError> {
        let pool = self.ctx.db.pool();
        let (condition, value) = match filter {
            None => ("", None),
            Some(f) => match (&f.attribute, &f.value) {
                (FilterAttribute::Active, FilterValue::Bool(true)) => {
                    (" AND status <> 'deactivated'", None)
                }
                (FilterAttribute::Active, _) => (" AND status = 'deactivated'", None),
                (FilterAttribute::Id, FilterValue::Text(v)) => (" AND id = $2", Some(v.clone())),
                (FilterAttribute::ExternalId, FilterValue::Text(v)) => {
                    (" AND external_id = $2", Some(v.clone()))
                }
                (FilterAttribute::Email, FilterValue::Text(v)) => {
                    (" AND email_key = $2", Some(v.trim().to_lowercase()))
                }
                // userName is not case-exact: found by its own index, or by the address's
                // when the user has none of its own.
                (FilterAttribute::UserName, FilterValue::Text(v)) => (
                    " AND (LOWER(user_name) = $2 OR (user_name IS NULL AND email_key = $2))",
                    Some(v.trim().to_lowercase()),
                ),
                (_, FilterValue::Bool(_)) => (" AND 1 = 0", None),
            },
        };
        let count_sql = format!("SELECT COUNT(*) FROM users WHERE account_id = $1{condition}");
        let mut count = sqlx::query_scalar::<_, i64>(&count_sql).bind(&actor.account_id);
        let next = if value.is_some() { 3 } else { 2 };
        let page_sql = format!(
            "SELECT {RECORD_COLUMNS} FROM users WHERE account_id = $1{condition} ORDER BY id LIMIT ${next} OFFSET ${}",
            next + 1
        );
        let mut page = sqlx::query_as::<_, RecordRow>(&page_sql).bind(&actor.account_id);
        if let Some(v) = &value {
            count = count.bind(v.clone());
            page = page.bind(v.clone());
        }
        let total = count
            .fetch_one(pool)
            .await
            .context("counting users")?
            .max(0) as u64;
        if limit == 0 {
            return Ok((total, Vec::new()));
        }
        let rows = page
            .bind(i64::from(limit))
            .bind(i64::try_from(offset).unwrap_or(i64::MAX))
            .fetch_all(pool)
            .await
            .context("reading a page of users")?;
        Ok((
            total,
            rows.into_iter()
                .map(UserRecord::try_from)
                .collect::<Result<_, _>>()?,
        ))
    }

    fn writable(actor: &Actor) -> Result<(), ScimOrService> {
        Self::may_manage(actor)?;
        if actor.account_status == AccountStatus::Closed {
            return Err(ScimOrService::Refused(ScimRefusal::Closed));
        }
        Ok(())
    }

    /// Adds a user (a seat from now unless it comes deactivated).
    pub async fn create(
        &self,
        actor: &Actor,
        input: &ScimUserInput,
    ) -> Result<UserRecord, ScimOrService> {
        Self::writable(actor)?;
        let id = self.ctx.new_id();
        let status = if input.active {
            UserStatus::Active
        } else {
            UserStatus::Deactivated
        };
        let mut work = self.ctx.begin("provisioning a user").await?;
        let now = work.now();
        let inserted = sqlx::query(
            "INSERT INTO users (id, account_id, first_name, last_name, email, email_key, status, created_at, updated_at, external_id, user_name) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10) ON CONFLICT (account_id, email_key) DO NOTHING",
        )
        .bind(&id)
        .bind(&actor.account_id)
        .bind(&input.user.first_name)
        .bind(&input.user.last_name)
        .bind(input.user.email.as_str())
        .bind(input.user.email.normalized_key())
        .bind(status.code())
        .bind(now)
        .bind(input.external_id.as_deref())
        .bind(&input.user_name)
        .execute(work.tx())
        .await;
        match inserted {
            Ok(r) if r.rows_affected() == 1 => {}
            Ok(_) => return Err(uniqueness("A user with this email already exists.")),
            Err(e) if is_unique_violation(&e) => return Err(taken(&e)),
            Err(e) => {
                Err::<(), _>(e).context("provisioning a user")?;
            }
        }
        if status.is_seat() {
            count_change(work.tx(), &self.ctx, &actor.account_id, now, 1).await?;
        }
        work.audit(Event::by(
            actor,
            AuditKind::UserCreated,
            input.user.email.as_str(),
            if status.is_seat() { "" } else { "deactivated" },
        ));
        users_changed(&mut work, &actor.account_id, "created", Some(&id));
        work.commit().await?;
        Ok(record(self.ctx.db.pool(), &actor.account_id, &id).await?)
    }

    /// Replaces a user's attributes (PUT, and PATCH once applied): deactivating ends its
    /// seat now, reactivating begins one. A user the account's administrators suspended
    /// stays suspended while active.
    pub async fn replace(
        &self,
        actor: &Actor,
        id: &str,
        input: &ScimUserInput,
    ) -> Result<UserRecord, ScimOrService> {
        Self::writable(actor)?;
        let mut work = self.ctx.begin("provisioning a user").await?;
        let now = work.now();
        let before = record(work.tx(), &actor.account_id, id).await?;
        let status = match (input.active, before.status) {
            (false, _) => UserStatus::Deactivated,
            (true, UserStatus::Deactivated) => UserStatus::Active,
            (true, s) => s,
        };
        let updated = sqlx::query(
            "UPDATE users SET first_name = $1, last_name = $2, email = $3, email_key = $4, external_id = $5, user_name = $6, \
             status = $7, updated_at = $8 WHERE id = $9 AND account_id = $10",
        )
        .bind(&input.user.first_name)
        .bind(&input.user.last_name)
        .bind(input.user.email.as_str())
        .bind(input.user.email.normalized_key())
        .bind(input.external_id.as_deref())
        .bind(&input.user_name)
        .bind(status.code())
        .bind(now)
        .bind(id)
        .bind(&actor.account_id)
        .execute(work.tx())
        .await;
        match updated {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => return Err(taken(&e)),
            Err(e) => {
                Err::<(), _>(e).context("provisioning a user")?;
            }
        }
        let email = input.user.email.as_str();
        match (before.status.is_seat(), status.is_seat()) {
            (true, false) => {
                count_change(work.tx(), &self.ctx, &actor.account_id, now, -1).await?;
                work.audit(Event::by(actor, AuditKind::UserDeactivated, email, ""));
            }
            (false, true) => {
                count_change(work.tx(), &self.ctx, &actor.account_id, now, 1).await?;
                work.audit(Event::by(actor, AuditKind::UserReactivated, email, ""));
            }
            _ => {}
        }
        let changed = before.first_name != input.user.first_name
            || before.last_name != input.user.last_name
            || before.email != email
            || before.external_id != input.external_id
            || before.user_name != input.user_name;
        if changed {
            work.audit(Event::by(actor, AuditKind::UserUpdated, email, ""));
        }
        if changed || before.status != status {
            let change = match (before.status.is_seat(), status.is_seat()) {
                (true, false) => "deactivated",
                (false, true) => "reactivated",
                _ => "updated",
            };
            users_changed(&mut work, &actor.account_id, change, Some(id));
        }
        work.commit().await?;
        Ok(record(self.ctx.db.pool(), &actor.account_id, id).await?)
    }

    /// Deletes a user; one still a seat stops being one now.
    pub async fn delete(&self, actor: &Actor, id: &str) -> Result<(), ScimOrService> {
        Self::writable(actor)?;
        let mut work = self.ctx.begin("deprovisioning a user").await?;
        let now = work.now();
        let before = record(work.tx(), &actor.account_id, id).await?;
        sqlx::query("DELETE FROM users WHERE id = $1 AND account_id = $2")
            .bind(id)
            .bind(&actor.account_id)
            .execute(work.tx())
            .await
            .context("deleting a user")?;
        if before.status.is_seat() {
            count_change(work.tx(), &self.ctx, &actor.account_id, now, -1).await?;
        }
        work.audit(Event::by(
            actor,
            AuditKind::UserDeleted,
            before.email.as_str(),
            "",
        ));
        users_changed(&mut work, &actor.account_id, "deleted", Some(id));
        work.commit().await?;
        Ok(())
    }
}

/// A SCIM refusal, or a service error.
#[derive(Debug)]
pub enum ScimOrService {
    Refused(ScimRefusal),
    Service(ServiceError),
}

impl From<ServiceError> for ScimOrService {
    fn from(e: ServiceError) -> Self {
        ScimOrService::Service(e)
    }
}

fn uniqueness(why: &str) -> ScimOrService {
    ScimOrService::Refused(ScimRefusal::Uniqueness(why.into()))
}

/// Which unique value a refused write took: the constraint's name says.
fn taken(e: &sqlx::Error) -> ScimOrService {
    let constraint = match e {
        sqlx::Error::Database(d) => format!("{} {}", d.constraint().unwrap_or(""), d.message()),
        _ => String::new(),
    };
    if constraint.contains("user_name") {
        uniqueness("A user with this userName already exists.")
    } else if constraint.contains("external_id") {
        uniqueness("A user with this externalId already exists.")
    } else {
        uniqueness("A user with this email already exists.")
    }
}
