//! Sessions (owner of `sessions` and `pending_sign_ins`): a random cookie value whose SHA-256
//! is the row's key, with idle and absolute timeouts. The cookie is built and read with the
//! `cookie` crate.

use cookie::{time::Duration, Cookie, SameSite};
use sqlx::{Any, AnyConnection, Executor};
use tally_core::{
    account_status::AccountStatus,
    actor::Actor,
    roles::{AdminStatus, Role},
};

use crate::platform::db::Code;
use crate::{
    identity::two_step,
    platform::{
        context::Context,
        crypto::{new_token, token_hash},
        error::{ResultExt, ServiceError},
    },
};

/// The cookie that carries the session's random value.
pub const SESSION_COOKIE: &str = "tally_session";
/// The cookie of a half-done sign-in (password right, second step to come).
pub const PENDING_COOKIE: &str = "tally_pending";

/// A `Set-Cookie` header value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetCookie(pub String);

/// Which session a request carries: its id's hash, to end it (sign-out) or mark it proven
/// (a fresh check). The session middleware puts it beside the request's [`Actor`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionKey(pub String);

/// A sign-in half done: the password was right, the second step is still to come. Grants
/// nothing but the second step, for 5 minutes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingSignIn {
    /// The pending cookie's hash.
    pub hash: String,
    pub admin_id: String,
}

/// A session with whose it is, in one row: read on every request.
#[derive(sqlx::FromRow)]
struct SessionRow {
    created_at: i64,
    last_seen_at: i64,
    verified_at: i64,
    admin_id: String,
    account_id: String,
    email: String,
    first_name: String,
    last_name: String,
    #[sqlx(try_from = "Code<Role>")]
    role: Role,
    #[sqlx(try_from = "Code<AdminStatus>")]
    status: AdminStatus,
    account_name: String,
    past_due: i64,
    #[sqlx(try_from = "Code<AccountStatus>")]
    account_status: AccountStatus,
    two_step_required: i64,
}

/// Sessions: start, resolve, end.
#[derive(Clone)]
pub struct Sessions {
    ctx: Context,
}

impl Sessions {
    pub fn new(ctx: Context) -> Self {
        Self { ctx }
    }

    fn secure(&self) -> bool {
        self.ctx.settings.public_url.starts_with("https://")
    }

    /// The name `base` (a `*_COOKIE`) has here: `__Host-` before it behind https, so the
    /// browser takes the cookie only from this very host, sent over TLS, for every path (a
    /// sibling subdomain or a plain-http page cannot plant or overwrite it).
    pub fn cookie_name(&self, base: &'static str) -> String {
        if self.secure() {
            format!("__Host-{base}")
        } else {
            base.to_string()
        }
    }

    /// A `Set-Cookie` value: HttpOnly, SameSite=Strict, Path=/, and behind https Secure with
    /// the `__Host-` name.
    pub(crate) fn cookie(&self, base: &'static str, value: &str, max_age: Duration) -> SetCookie {
        let cookie = Cookie::build((self.cookie_name(base), value.to_string()))
            .path("/")
            .http_only(true)
            .same_site(SameSite::Strict)
            .secure(self.secure())
            .max_age(max_age);
        SetCookie(cookie.build().to_string())
    }

    /// The `Set-Cookie` value that removes the session cookie.
    pub fn clear_cookie(&self) -> SetCookie {
        self.cookie(SESSION_COOKIE, "", Duration::ZERO)
    }

    /// The `Set-Cookie` value that removes a half-done sign-in's cookie.
    pub fn clear_pending_cookie(&self) -> SetCookie {
        self.cookie(PENDING_COOKIE, "", Duration::ZERO)
    }

    /// Starts a half-done sign-in for `admin_id`, valid for 5 minutes; returns its cookie.
    pub async fn start_pending(
        &self,
        admin_id: &str,
        account_id: &str,
    ) -> Result<SetCookie, ServiceError> {
        let token = new_token();
        let now = self.ctx.now();
        let pool = self.ctx.db.pool();
        sqlx::query("DELETE FROM pending_sign_ins WHERE expires_at < $1 OR admin_id = $2")
            .bind(now)
            .bind(admin_id)
            .execute(pool)
            .await
            .context("clearing half-done sign-ins")?;
        sqlx::query(
            "INSERT INTO pending_sign_ins (token_hash, admin_id, account_id, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash(&token))
        .bind(admin_id)
        .bind(account_id)
        .bind(now + two_step::CEREMONY_MILLIS)
        .bind(now)
        .execute(pool)
        .await
        .context("starting a half-done sign-in")?;
        Ok(self.cookie(PENDING_COOKIE, &token, Duration::minutes(5)))
    }

    /// The half-done sign-in a pending cookie stands for, if it has not expired.
    pub async fn resolve_pending(
        &self,
        token: &str,
    ) -> Result<Option<PendingSignIn>, ServiceError> {
        let hash = token_hash(token);
        let admin: Option<String> = sqlx::query_scalar(
            "SELECT admin_id FROM pending_sign_ins WHERE token_hash = $1 AND expires_at > $2",
        )
        .bind(&hash)
        .bind(self.ctx.now())
        .fetch_optional(self.ctx.db.pool())
        .await
        .context("looking up a half-done sign-in")?;
        Ok(admin.map(|admin_id| PendingSignIn { hash, admin_id }))
    }

    /// Ends a half-done sign-in, in `exec`.
    pub async fn end_pending<'e, E>(&self, exec: E, hash: &str) -> Result<(), ServiceError>
    where
        E: Executor<'e, Database = Any>,
    {
        sqlx::query("DELETE FROM pending_sign_ins WHERE token_hash = $1")
            .bind(hash)
            .execute(exec)
            .await
            .context("ending a half-done sign-in")?;
        Ok(())
    }

    /// Records that this session's administrator proved it is them just now.
    pub async fn verified(&self, hash: &str) -> Result<(), ServiceError> {
        sqlx::query("UPDATE sessions SET verified_at = $1 WHERE id_hash = $2")
            .bind(self.ctx.now())
            .bind(hash)
            .execute(self.ctx.db.pool())
            .await
            .context("recording a fresh check")?;
        Ok(())
    }

    /// Starts a session for `admin_id` in `exec` (a new random id every time: ids rotate at
    /// sign-in); returns its cookie.
    pub async fn start<'e, E>(
        &self,
        exec: E,
        admin_id: &str,
        account_id: &str,
        ip: Option<&str>,
    ) -> Result<SetCookie, ServiceError>
    where
        E: Executor<'e, Database = Any>,
    {
        self.start_verified_at(exec, admin_id, account_id, ip, None)
            .await
    }

    /// Like [`Sessions::start`], the session proven at `verified_at` rather than now: a
    /// session replacing another (after a password change) is no fresher than it was.
    pub async fn start_verified_at<'e, E>(
        &self,
        exec: E,
        admin_id: &str,
        account_id: &str,
        ip: Option<&str>,
        verified_at: Option<i64>,
    ) -> Result<SetCookie, ServiceError>
    where
        E: Executor<'e, Database = Any>,
    {
        let token = new_token();
        let now = self.ctx.now();
        // Signing in proves it is them: the session starts verified.
        sqlx::query(
            "INSERT INTO sessions (id_hash, admin_id, account_id, created_at, last_seen_at, ip, verified_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(token_hash(&token))
        .bind(admin_id)
        .bind(account_id)
        .bind(now)
        .bind(now)
        .bind(ip)
        .bind(verified_at.unwrap_or(now).min(now))
        .execute(exec)
        .await
        .context("starting a session")?;
        Ok(self.cookie(
            SESSION_COOKIE,
            &token,
            Duration::minutes(self.ctx.settings.session_absolute_minutes),
        ))
    }

    /// Who the session a cookie value stands for is, calling from `ip`, ending the session if
    /// it timed out or its administrator is no longer active. A database that does not answer
    /// is an error, not "signed out".
    pub async fn resolve(
        &self,
        token: &str,
        ip: Option<String>,
    ) -> Result<Option<(Actor, SessionKey)>, ServiceError> {
        let hash = token_hash(token);
        let row: Option<SessionRow> = sqlx::query_as(
            "SELECT s.created_at, s.last_seen_at, s.verified_at, a.id AS admin_id, a.account_id, a.email, a.first_name, a.last_name, \
             a.role, a.status, c.name AS account_name, CAST(CASE WHEN c.past_due THEN 1 ELSE 0 END AS BIGINT) AS past_due, \
             c.status AS account_status, CAST(CASE WHEN c.require_two_step THEN 1 ELSE 0 END AS BIGINT) AS two_step_required \
             FROM sessions s JOIN admins a ON a.id = s.admin_id JOIN accounts c ON c.id = a.account_id WHERE s.id_hash = $1",
        )
        .bind(&hash)
        .fetch_optional(self.ctx.db.pool())
        .await
        .context("looking up a session")?;
        let Some(row) = row else { return Ok(None) };
        let now = self.ctx.now();
        let settings = &self.ctx.settings;
        let idle_ok = now - row.last_seen_at <= settings.session_idle_minutes * 60_000;
        let absolute_ok = now - row.created_at <= settings.session_absolute_minutes * 60_000;
        if !idle_ok || !absolute_ok || row.status != AdminStatus::Active {
            self.end(&hash).await?;
            return Ok(None);
        }
        // Touch at most every 30 s: enough precision for a 15-minute idle timeout.
        if now - row.last_seen_at > 30_000 {
            sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id_hash = $2")
                .bind(now)
                .bind(&hash)
                .execute(self.ctx.db.pool())
                .await
                .context("touching a session")?;
        }
        // Asked only where the account requires a second step.
        let must_set_up_two_step = row.two_step_required != 0
            && !two_step::has_second_step(self.ctx.db.pool(), &row.admin_id).await?;
        let actor = Actor {
            id: row.admin_id,
            account_id: row.account_id,
            account_name: row.account_name,
            email: row.email,
            first_name: row.first_name,
            last_name: row.last_name,
            role: row.role,
            account_past_due: row.past_due != 0,
            account_status: row.account_status,
            must_set_up_two_step,
            ip,
            verified_at: row.verified_at,
            session: hash.clone(),
        };
        Ok(Some((actor, SessionKey(hash))))
    }

    /// Ends one session.
    pub async fn end(&self, hash: &str) -> Result<(), ServiceError> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(hash)
            .execute(self.ctx.db.pool())
            .await
            .context("ending a session")?;
        Ok(())
    }
}

/// Ends every session and half-done sign-in of an administrator, in `conn` (suspension,
/// deletion, a new password, a reset of their two-step verification).
pub async fn end_all(conn: &mut AnyConnection, admin_id: &str) -> Result<(), ServiceError> {
    end_others(conn, admin_id, "").await.map(|_| ())
}

/// Ends every session of an administrator but the one whose hash is `keep`, and every
/// half-done sign-in of theirs, in `conn`: a change to how they sign in (a password, a
/// second step added or removed) leaves only the session that made it. Returns how many
/// sessions ended.
pub async fn end_others(
    conn: &mut AnyConnection,
    admin_id: &str,
    keep: &str,
) -> Result<u64, ServiceError> {
    let ended = sqlx::query("DELETE FROM sessions WHERE admin_id = $1 AND id_hash <> $2")
        .bind(admin_id)
        .bind(keep)
        .execute(&mut *conn)
        .await
        .context("ending an administrator's sessions")?;
    sqlx::query("DELETE FROM pending_sign_ins WHERE admin_id = $1")
        .bind(admin_id)
        .execute(&mut *conn)
        .await
        .context("ending an administrator's half-done sign-ins")?;
    Ok(ended.rows_affected())
}

/// The value of the cookie `name` in a request's `Cookie` headers.
pub fn cookie_value<'a>(headers: impl IntoIterator<Item = &'a str>, name: &str) -> Option<String> {
    headers
        .into_iter()
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let s = SESSION_COOKIE;
        assert_eq!(
            cookie_value(["a=1; tally_session=abc; b=2"], s),
            Some("abc".into())
        );
        assert_eq!(
            cookie_value(["a=1", "tally_session=xyz"], s),
            Some("xyz".into())
        );
        assert_eq!(cookie_value(["tally_sessionx=1; a=2"], s), None);
        assert_eq!(cookie_value(["garbage"], s), None);
        assert_eq!(
            cookie_value(["tally_session=1; tally_pending=2"], PENDING_COOKIE),
            Some("2".into())
        );
    }
}
