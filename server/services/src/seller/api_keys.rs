//! API keys (owner of `api_keys` and `api_idempotency`): made and revoked by the seller's
//! Owner (Manage API keys, with a fresh check), each change in the seller's own log; looked
//! up, by the hash of the key a call presents, for the REST API under `/v1`; and the first
//! answers to the key's requests sent with an `Idempotency-Key`, kept 24 hours.

use tally_core::{
    actor::OperatorActor,
    api_keys::{
        looks_like_key, scopes_of, scopes_text, visible_part, ApiScope, NewApiKeyInput,
        API_KEY_PREFIX,
    },
    audit::AuditKind,
    operators::OperatorAction,
    views::operator::{ApiKeyRow, CreatedApiKey},
};

use super::customers::allowed;
use crate::platform::{
    audit::Event,
    context::Context,
    crypto::{random_alphanumeric, token_hash},
    error::{ResultExt, ServiceError},
};

/// How often a key's last use is written: a busy key writes at most once a minute.
const LAST_USED_EVERY_MILLIS: i64 = 60_000;

/// How long the first answer to an `Idempotency-Key` is kept.
pub const IDEMPOTENCY_MILLIS: i64 = 24 * 3_600_000;

/// What to do with a request that came with an `Idempotency-Key`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Idempotent {
    /// The first with this key: answer it, then [`ApiKeys::remember`] the answer.
    First,
    /// Answered before: this status and body again.
    Again { status: u16, body: String },
    /// The key came before with another request.
    OtherRequest,
    /// The first request with this key is still being answered.
    InProgress,
}

/// A key a call presented, found and not revoked.
#[derive(Clone, Debug)]
pub struct ApiCaller {
    pub key_id: String,
    pub visible: String,
    pub name: String,
    pub scopes: Vec<ApiScope>,
}

impl ApiCaller {
    /// The key as the services see it: the seller, named after the key.
    pub fn operator(&self, ip: Option<String>, now: i64) -> OperatorActor {
        OperatorActor::api_key(&self.key_id, &self.visible, &self.name, ip, now)
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    name: String,
    visible: String,
    scopes: String,
    created_by: String,
    created_at: i64,
    last_used_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl From<Row> for ApiKeyRow {
    fn from(r: Row) -> Self {
        ApiKeyRow {
            id: r.id,
            name: r.name,
            visible: r.visible,
            scopes: scopes_of(&r.scopes),
            created_by: r.created_by,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
            revoked_at: r.revoked_at,
        }
    }
}

const COLUMNS: &str = "id, name, visible, scopes, created_by, created_at, last_used_at, revoked_at";

#[derive(Clone)]
pub struct ApiKeys {
    ctx: Context,
}

impl ApiKeys {
    pub fn new(ctx: Context) -> Self {
        Self { ctx }
    }

    fn owner_fresh(&self, owner: &OperatorActor) -> Result<(), ServiceError> {
        allowed(owner, OperatorAction::ManageApiKeys)?;
        if !owner.is_fresh(self.ctx.now()) {
            return Err(ServiceError::FreshCheckRequired);
        }
        Ok(())
    }

    /// Every key, the newest first, revoked ones too.
    pub async fn list(&self, owner: &OperatorActor) -> Result<Vec<ApiKeyRow>, ServiceError> {
        allowed(owner, OperatorAction::ManageApiKeys)?;
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM api_keys ORDER BY created_at DESC, id DESC"
        ))
        .fetch_all(self.ctx.db.pool())
        .await
        .context("reading the API keys")?;
        Ok(rows.into_iter().map(ApiKeyRow::from).collect())
    }

    /// Makes a key; the answer holds the whole key, which is never readable again.
    pub async fn create(
        &self,
        owner: &OperatorActor,
        input: &NewApiKeyInput,
    ) -> Result<CreatedApiKey, ServiceError> {
        allowed(owner, OperatorAction::ManageApiKeys)?;
        let new = input.parse().map_err(ServiceError::Invalid)?;
        self.owner_fresh(owner)?;
        let key = format!("{API_KEY_PREFIX}{}", random_alphanumeric(32));
        let row = ApiKeyRow {
            id: self.ctx.new_id(),
            name: new.name,
            visible: visible_part(&key).to_owned(),
            scopes: new.scopes,
            created_by: owner.full_name(),
            created_at: self.ctx.now(),
            last_used_at: None,
            revoked_at: None,
        };
        let mut work = self.ctx.begin("making an API key").await?;
        sqlx::query(
            "INSERT INTO api_keys (id, name, visible, key_hash, scopes, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&row.id)
        .bind(&row.name)
        .bind(&row.visible)
        .bind(token_hash(&key))
        .bind(scopes_text(&row.scopes))
        .bind(&row.created_by)
        .bind(row.created_at)
        .execute(work.tx())
        .await
        .context("making an API key")?;
        work.audit(Event::by_operator(
            owner,
            AuditKind::ApiKeyCreated,
            format!("{} \"{}\"", row.visible, row.name),
            scopes_text(&row.scopes),
        ));
        work.commit().await?;
        Ok(CreatedApiKey { key, row })
    }

    /// Revokes a key: every call with it is refused from now on. Revoking one already revoked
    /// changes nothing.
    pub async fn revoke(&self, owner: &OperatorActor, id: &str) -> Result<(), ServiceError> {
        self.owner_fresh(owner)?;
        let mut work = self.ctx.begin("revoking an API key").await?;
        let now = work.now();
        let row: Row = sqlx::query_as(&format!("SELECT {COLUMNS} FROM api_keys WHERE id = $1"))
            .bind(id)
            .fetch_optional(work.tx())
            .await
            .context("reading an API key")?
            .ok_or(ServiceError::NotFound)?;
        if row.revoked_at.is_some() {
            return Ok(());
        }
        sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(id)
            .execute(work.tx())
            .await
            .context("revoking an API key")?;
        work.audit(Event::by_operator(
            owner,
            AuditKind::ApiKeyRevoked,
            format!("{} \"{}\"", row.visible, row.name),
            "",
        ));
        work.commit().await
    }

    /// The key a call presents, if it is one that works: found by its hash, not revoked. Its
    /// last use is written at most once a minute.
    pub async fn authenticate(&self, key: &str) -> Result<Option<ApiCaller>, ServiceError> {
        if !looks_like_key(key) {
            return Ok(None);
        }
        let pool = self.ctx.db.pool();
        let row: Option<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM api_keys WHERE key_hash = $1"
        ))
        .bind(token_hash(key))
        .fetch_optional(pool)
        .await
        .context("looking up an API key")?;
        let Some(row) = row.filter(|r| r.revoked_at.is_none()) else {
            return Ok(None);
        };
        let now = self.ctx.now();
        if row
            .last_used_at
            .is_none_or(|at| now - at >= LAST_USED_EVERY_MILLIS)
        {
            sqlx::query(
                "UPDATE api_keys SET last_used_at = $1 WHERE id = $2 \
                 AND (last_used_at IS NULL OR last_used_at <= $3)",
            )
            .bind(now)
            .bind(&row.id)
            .bind(now - LAST_USED_EVERY_MILLIS)
            .execute(pool)
            .await
            .context("noting an API key's use")?;
        }
        Ok(Some(ApiCaller {
            key_id: row.id,
            visible: row.visible,
            name: row.name,
            scopes: scopes_of(&row.scopes),
        }))
    }

    /// Claims `idempotency_key` for a request whose method, path and body hash to
    /// `request_hash`, or says what was answered to it (an answer older than 24 hours is
    /// forgotten, and the key is free again).
    pub async fn idempotent(
        &self,
        caller: &ApiCaller,
        idempotency_key: &str,
        request_hash: &str,
    ) -> Result<Idempotent, ServiceError> {
        let pool = self.ctx.db.pool();
        let now = self.ctx.now();
        // Forgotten answers go first, this key's among them.
        sqlx::query("DELETE FROM api_idempotency WHERE created_at < $1")
            .bind(now - IDEMPOTENCY_MILLIS)
            .execute(pool)
            .await
            .context("forgetting old idempotent answers")?;
        let claimed = sqlx::query(
            "INSERT INTO api_idempotency (api_key_id, idempotency_key, request_hash, status, body, created_at) \
             VALUES ($1, $2, $3, 0, '', $4) ON CONFLICT (api_key_id, idempotency_key) DO NOTHING",
        )
        .bind(&caller.key_id)
        .bind(idempotency_key)
        .bind(request_hash)
        .bind(now)
        .execute(pool)
        .await
        .context("claiming an idempotency key")?;
        if claimed.rows_affected() == 1 {
            return Ok(Idempotent::First);
        }
        let row: Option<(String, i64, String)> = sqlx::query_as(
            "SELECT request_hash, status, body FROM api_idempotency \
             WHERE api_key_id = $1 AND idempotency_key = $2",
        )
        .bind(&caller.key_id)
        .bind(idempotency_key)
        .fetch_optional(pool)
        .await
        .context("reading an idempotent answer")?;
        Ok(match row {
            // Forgotten between the two statements: another request is answering it now.
            None => Idempotent::InProgress,
            Some((hash, _, _)) if hash != request_hash => Idempotent::OtherRequest,
            Some((_, 0, _)) => Idempotent::InProgress,
            Some((_, status, body)) => Idempotent::Again {
                status: u16::try_from(status).unwrap_or(500),
                body,
            },
        })
    }

    /// Keeps the answer to the first request with `idempotency_key`; `None` (a failure on
    /// our side) frees the key, so the same request can be tried again.
    pub async fn remember(
        &self,
        caller: &ApiCaller,
        idempotency_key: &str,
        answer: Option<(u16, &str)>,
    ) -> Result<(), ServiceError> {
        let pool = self.ctx.db.pool();
        match answer {
            Some((status, body)) => sqlx::query(
                "UPDATE api_idempotency SET status = $1, body = $2 \
                 WHERE api_key_id = $3 AND idempotency_key = $4",
            )
            .bind(i64::from(status))
            .bind(body)
            .bind(&caller.key_id)
            .bind(idempotency_key)
            .execute(pool)
            .await
            .context("keeping an idempotent answer")?,
            None => sqlx::query(
                "DELETE FROM api_idempotency WHERE api_key_id = $1 AND idempotency_key = $2",
            )
            .bind(&caller.key_id)
            .bind(idempotency_key)
            .execute(pool)
            .await
            .context("freeing an idempotency key")?,
        };
        Ok(())
    }
}
