//! Operators' sessions (owner of `operator_sessions` and `operator_pending_sign_ins`): as the
//! customers' — a random cookie value whose SHA-256 is the row's key, idle and absolute
//! timeouts, `__Host-` behind https — under cookies and in tables of their own, so an operator
//! session is never a customer session and no customer cookie opens an operator page.

use cookie::time::Duration;
use sqlx::{Any, AnyConnection, Executor};
use tally_core::{actor::OperatorActor, operators::OperatorRole, roles::AdminStatus};

use crate::{
    identity::{
        accounts::sessions::{Sessions, SetCookie},
        two_step,
    },
    platform::{
        context::Context,
        crypto::{new_token, token_hash},
        db::Code,
        error::{ResultExt, ServiceError},
    },
};

/// The cookie of an operator's session.
pub const OPERATOR_COOKIE: &str = "tally_operator";
/// The cookie of an operator's half-done sign-in.
pub const OPERATOR_PENDING_COOKIE: &str = "tally_operator_pending";

/// Which operator session a request carries (its id's hash): kept apart from a customer
/// session's key in the request, as the sessions are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OperatorSessionKey(pub String);

/// An operator's sign-in half done: the password was right, the second step is to come.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingOperatorSignIn {
    pub hash: String,
    pub operator_id: String,
}

#[derive(sqlx::FromRow)]
struct OperatorSessionRow {
    created_at: i64,
    last_seen_at: i64,
    verified_at: i64,
    operator_id: String,
    email: String,
    first_name: String,
    last_name: String,
    #[sqlx(try_from = "Code<OperatorRole>")]
    role: OperatorRole,
    #[sqlx(try_from = "Code<AdminStatus>")]
    status: AdminStatus,
}

/// Operator sessions: start, resolve, end.
#[derive(Clone)]
pub struct OperatorSessions {
    ctx: Context,
    cookies: Sessions,
}

impl OperatorSessions {
    pub fn new(ctx: Context) -> Self {
        Self {
            cookies: Sessions::new(ctx.clone()),
            ctx,
        }
    }

    /// The name of the cookie `base` here (`__Host-` behind https).
    pub fn cookie_name(&self, base: &'static str) -> String {
        self.cookies.cookie_name(base)
    }

    /// Starts a session for `operator_id` in `exec`, proven at `verified_at` (now when
    /// `None`); returns its cookie.
    pub async fn start<'e, E>(
        &self,
        exec: E,
        operator_id: &str,
        ip: Option<&str>,
        verified_at: Option<i64>,
    ) -> Result<SetCookie, ServiceError>
    where
        E: Executor<'e, Database = Any>,
    {
        let token = new_token();
        let now = self.ctx.now();
        sqlx::query(
            "INSERT INTO operator_sessions (id_hash, operator_id, created_at, last_seen_at, ip, verified_at) VALUES ($1, $2, $3, $3, $4, $5)",
        )
        .bind(token_hash(&token))
        .bind(operator_id)
        .bind(now)
        .bind(ip)
        .bind(verified_at.unwrap_or(now).min(now))
        .execute(exec)
        .await
        .context("starting an operator session")?;
        Ok(self.cookies.cookie(
            OPERATOR_COOKIE,
            &token,
            Duration::minutes(self.ctx.settings.session_absolute_minutes),
        ))
    }

    /// The operator an operator cookie stands for, calling from `ip`; ends the session when
    /// it timed out or its operator is no longer active.
    pub async fn resolve(
        &self,
        token: &str,
        ip: Option<String>,
    ) -> Result<Option<(OperatorActor, OperatorSessionKey)>, ServiceError> {
        let hash = token_hash(token);
        let pool = self.ctx.db.pool();
        let row: Option<OperatorSessionRow> = sqlx::query_as(
            "SELECT s.created_at, s.last_seen_at, s.verified_at, o.id AS operator_id, o.email, o.first_name, \
             o.last_name, o.role, o.status FROM operator_sessions s JOIN operators o ON o.id = s.operator_id \
             WHERE s.id_hash = $1",
        )
        .bind(&hash)
        .fetch_optional(pool)
        .await
        .context("looking up an operator session")?;
        let Some(row) = row else { return Ok(None) };
        let now = self.ctx.now();
        let settings = &self.ctx.settings;
        let idle_ok = now - row.last_seen_at <= settings.session_idle_minutes * 60_000;
        let absolute_ok = now - row.created_at <= settings.session_absolute_minutes * 60_000;
        if !idle_ok || !absolute_ok || row.status != AdminStatus::Active {
            self.end(&hash).await?;
            return Ok(None);
        }
        if now - row.last_seen_at > 30_000 {
            sqlx::query("UPDATE operator_sessions SET last_seen_at = $1 WHERE id_hash = $2")
                .bind(now)
                .bind(&hash)
                .execute(pool)
                .await
                .context("touching an operator session")?;
        }
        // Mandatory for operators: until they have one, setting it up is all they may do.
        let must_set_up_two_step = !two_step::has_second_step(pool, &row.operator_id).await?;
        let operator = OperatorActor {
            id: row.operator_id,
            email: row.email,
            first_name: row.first_name,
            last_name: row.last_name,
            role: row.role,
            must_set_up_two_step,
            ip,
            verified_at: row.verified_at,
            session: hash.clone(),
        };
        Ok(Some((operator, OperatorSessionKey(hash))))
    }

    /// Ends one operator session.
    pub async fn end(&self, hash: &str) -> Result<(), ServiceError> {
        sqlx::query("DELETE FROM operator_sessions WHERE id_hash = $1")
            .bind(hash)
            .execute(self.ctx.db.pool())
            .await
            .context("ending an operator session")?;
        Ok(())
    }

    /// Records that this session's operator proved it is them just now.
    pub async fn verified(&self, hash: &str) -> Result<(), ServiceError> {
        sqlx::query("UPDATE operator_sessions SET verified_at = $1 WHERE id_hash = $2")
            .bind(self.ctx.now())
            .bind(hash)
            .execute(self.ctx.db.pool())
            .await
            .context("recording an operator's fresh check")?;
        Ok(())
    }

    /// The `Set-Cookie` value that removes the operator session cookie.
    pub fn clear_cookie(&self) -> SetCookie {
        self.cookies.cookie(OPERATOR_COOKIE, "", Duration::ZERO)
    }

    /// The `Set-Cookie` value that removes the operator's half-done sign-in cookie.
    pub fn clear_pending_cookie(&self) -> SetCookie {
        self.cookies
            .cookie(OPERATOR_PENDING_COOKIE, "", Duration::ZERO)
    }

    /// Starts an operator's half-done sign-in (5 minutes); returns its cookie.
    pub async fn start_pending(&self, operator_id: &str) -> Result<SetCookie, ServiceError> {
        let token = new_token();
        let now = self.ctx.now();
        let pool = self.ctx.db.pool();
        sqlx::query(
            "DELETE FROM operator_pending_sign_ins WHERE expires_at < $1 OR operator_id = $2",
        )
        .bind(now)
        .bind(operator_id)
        .execute(pool)
        .await
        .context("clearing operators' half-done sign-ins")?;
        sqlx::query(
            "INSERT INTO operator_pending_sign_ins (token_hash, operator_id, expires_at, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash(&token))
        .bind(operator_id)
        .bind(now + two_step::CEREMONY_MILLIS)
        .bind(now)
        .execute(pool)
        .await
        .context("starting an operator's half-done sign-in")?;
        Ok(self
            .cookies
            .cookie(OPERATOR_PENDING_COOKIE, &token, Duration::minutes(5)))
    }

    /// The half-done sign-in an operator's pending cookie stands for, if not expired.
    pub async fn resolve_pending(
        &self,
        token: &str,
    ) -> Result<Option<PendingOperatorSignIn>, ServiceError> {
        let hash = token_hash(token);
        let operator: Option<String> = sqlx::query_scalar(
            "SELECT operator_id FROM operator_pending_sign_ins WHERE token_hash = $1 AND expires_at > $2",
        )
        .bind(&hash)
        .bind(self.ctx.now())
        .fetch_optional(self.ctx.db.pool())
        .await
        .context("looking up an operator's half-done sign-in")?;
        Ok(operator.map(|operator_id| PendingOperatorSignIn { hash, operator_id }))
    }
}

/// Ends an operator's half-done sign-in, in `exec` (its second step succeeded).
pub async fn end_pending<'e, E>(exec: E, hash: &str) -> Result<(), ServiceError>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query("DELETE FROM operator_pending_sign_ins WHERE token_hash = $1")
        .bind(hash)
        .execute(exec)
        .await
        .context("ending an operator's half-done sign-in")?;
    Ok(())
}

/// Ends every session of an operator but `keep` (a hash; "" ends them all), and every
/// half-done sign-in of theirs, in `conn`. How many sessions ended.
pub async fn end_others(
    conn: &mut AnyConnection,
    operator_id: &str,
    keep: &str,
) -> Result<u64, ServiceError> {
    let ended =
        sqlx::query("DELETE FROM operator_sessions WHERE operator_id = $1 AND id_hash <> $2")
            .bind(operator_id)
            .bind(keep)
            .execute(&mut *conn)
            .await
            .context("ending an operator's sessions")?;
    sqlx::query("DELETE FROM operator_pending_sign_ins WHERE operator_id = $1")
        .bind(operator_id)
        .execute(&mut *conn)
        .await
        .context("ending an operator's half-done sign-ins")?;
    Ok(ended.rows_affected())
}
