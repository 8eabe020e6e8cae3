//! Database sessions: a random cookie value whose SHA-256 is the row's key, with idle and
//! absolute timeouts (spec §7). The cookie is built and read with the `cookie` crate.

use cookie::{time::Duration, Cookie, SameSite};
use sqlx::{Any, Executor};
use tally_core::roles::{AdminStatus, Role};

use crate::{
    context::Context,
    crypto::{new_token, token_hash},
    error::{Context as _, ServiceError},
};

/// The cookie that carries the session's random value.
pub const SESSION_COOKIE: &str = "tally_session";

/// A `Set-Cookie` header value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetCookie(pub String);

/// A live session and whose it is.
#[derive(Clone, Debug)]
pub struct LiveSession {
    /// The session's id hash, to end this session on sign-out.
    pub hash: String,
    pub admin_id: String,
    pub account_id: String,
    pub account_name: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub role: Role,
    /// The account's last invoice could not be charged after every retry.
    pub account_past_due: bool,
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    created_at: i64,
    last_seen_at: i64,
    admin_id: String,
    account_id: String,
    email: String,
    first_name: String,
    last_name: String,
    role: String,
    status: String,
    account_name: String,
    past_due: i64,
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

    /// The `Set-Cookie` value for a new session's `token`.
    fn cookie(&self, token: &str) -> SetCookie {
        let cookie = Cookie::build((SESSION_COOKIE, token.to_string()))
            .path("/")
            .http_only(true)
            .same_site(SameSite::Strict)
            .secure(self.secure())
            .max_age(Duration::minutes(
                self.ctx.settings.session_absolute_minutes,
            ));
        SetCookie(cookie.build().to_string())
    }

    /// The `Set-Cookie` value that removes the session cookie.
    pub fn clear_cookie(&self) -> SetCookie {
        let cookie = Cookie::build((SESSION_COOKIE, ""))
            .path("/")
            .http_only(true)
            .same_site(SameSite::Strict)
            .secure(self.secure())
            .max_age(Duration::ZERO);
        SetCookie(cookie.build().to_string())
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
        let token = new_token();
        let now = self.ctx.now();
        sqlx::query(
            "INSERT INTO sessions (id_hash, admin_id, account_id, created_at, last_seen_at, ip) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(token_hash(&token))
        .bind(admin_id)
        .bind(account_id)
        .bind(now)
        .bind(now)
        .bind(ip)
        .execute(exec)
        .await
        .context("starting a session")?;
        Ok(self.cookie(&token))
    }

    /// The live session a cookie value stands for, ending it if it timed out. A database
    /// that does not answer is an error, not "signed out".
    pub async fn resolve(&self, token: &str) -> Result<Option<LiveSession>, ServiceError> {
        let hash = token_hash(token);
        let row: Option<SessionRow> = sqlx::query_as(
            "SELECT s.created_at, s.last_seen_at, a.id AS admin_id, a.account_id, a.email, a.first_name, a.last_name, \
             a.role, a.status, c.name AS account_name, CAST(CASE WHEN c.past_due THEN 1 ELSE 0 END AS BIGINT) AS past_due \
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
        let role = Role::from_code(&row.role);
        if !idle_ok || !absolute_ok || row.status != AdminStatus::Active.code() || role.is_none() {
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
        Ok(Some(LiveSession {
            hash,
            admin_id: row.admin_id,
            account_id: row.account_id,
            account_name: row.account_name,
            email: row.email,
            first_name: row.first_name,
            last_name: row.last_name,
            role: role.expect("checked above"),
            account_past_due: row.past_due != 0,
        }))
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

/// Ends every session of an administrator, in `exec` (suspension, deletion, a new password).
pub async fn end_all<'e, E>(exec: E, admin_id: &str) -> Result<(), ServiceError>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query("DELETE FROM sessions WHERE admin_id = $1")
        .bind(admin_id)
        .execute(exec)
        .await
        .context("ending an administrator's sessions")?;
    Ok(())
}

/// The session cookie's value in a request's `Cookie` headers.
pub fn cookie_value<'a>(headers: impl IntoIterator<Item = &'a str>) -> Option<String> {
    headers
        .into_iter()
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == SESSION_COOKIE)
        .map(|c| c.value().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_found_among_others() {
        assert_eq!(
            cookie_value(["a=1; tally_session=abc; b=2"]),
            Some("abc".into())
        );
        assert_eq!(
            cookie_value(["a=1", "tally_session=xyz"]),
            Some("xyz".into())
        );
        assert_eq!(cookie_value(["tally_sessionx=1; a=2"]), None);
        assert_eq!(cookie_value(["garbage"]), None);
    }
}
