//! Accounts, sign-in with lockout and per-address throttling, database sessions with idle and
//! absolute timeouts, invitation and reset links. Implements the app's `AuthService`.

use std::sync::Arc;

use sqlx::Row;
use tally_app::{
    api::{
        account::{TokenInfo, TokenKind, TokenState},
        setup::SetupInput,
    },
    auth::{CurrentAdmin, SessionContext},
    error::AppError,
    ports::{AuthService, NewSession},
};
use tally_core::{
    audit::AuditKind,
    contact::{required_text, Email},
    forms::{FieldErrors, NewAccountInput},
    password,
    roles::{AdminStatus, Role},
};

use crate::{
    audit::{record, Event},
    clock::Clock,
    config::Settings,
    crypto::{dummy_hash, hash_password, new_id, new_token, token_hash, verify_password},
    db::Database,
    mail::link_email,
    outbox::Outbox,
};

/// The cookie that carries the session's random value.
pub const SESSION_COOKIE: &str = "tally_session";
/// The one message for every failed sign-in.
pub const SIGN_IN_FAILED: &str = "Email or password is incorrect.";

/// The auth service: database, clock, mail outbox and the settings it needs.
#[derive(Clone)]
pub struct Auth {
    pub db: Database,
    pub clock: Arc<dyn Clock>,
    pub outbox: Outbox,
    pub settings: Arc<Settings>,
}

pub(crate) fn internal(e: impl std::fmt::Display) -> AppError {
    let reference = crate::crypto::short_random();
    tracing::error!(reference = %reference, error = %e, "internal error");
    AppError::Internal(reference)
}

impl Auth {
    fn minutes(m: i64) -> i64 {
        m * 60_000
    }

    /// The `Set-Cookie` value for a new session.
    fn session_cookie(&self, token: &str) -> String {
        let secure = if self.settings.public_url.starts_with("https://") {
            "; Secure"
        } else {
            ""
        };
        format!(
            "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
            self.settings.session_absolute_minutes * 60
        )
    }

    /// The `Set-Cookie` value that removes the session cookie.
    pub fn clear_cookie(&self) -> String {
        let secure = if self.settings.public_url.starts_with("https://") {
            "; Secure"
        } else {
            ""
        };
        format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}")
    }

    /// Starts a session for `admin_id` (a new random id every time: ids rotate at sign-in).
    async fn start_session<'e, E>(
        &self,
        exec: E,
        admin_id: &str,
        account_id: &str,
        ip: Option<&str>,
    ) -> Result<NewSession, AppError>
    where
        E: sqlx::Executor<'e, Database = sqlx::Any>,
    {
        let token = new_token();
        let now = self.clock.now_millis();
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
        .map_err(internal)?;
        Ok(NewSession {
            set_cookie: self.session_cookie(&token),
        })
    }

    /// How every successful sign-in ends (password, set-up, link, password change): audit
    /// `kind`, start a session for the event's actor, commit — all in the caller's transaction.
    async fn finish_sign_in(
        &self,
        mut tx: sqlx::Transaction<'static, sqlx::Any>,
        now: i64,
        kind: AuditKind,
        event: Event<'_>,
    ) -> Result<NewSession, AppError> {
        let (Some(admin_id), Some(account_id), ip) = (event.actor_id, event.account_id, event.ip)
        else {
            return Err(internal(
                "a sign-in event names no administrator or account",
            ));
        };
        record(&mut *tx, now, kind, event).await.map_err(internal)?;
        let session = self
            .start_session(&mut *tx, admin_id, account_id, ip)
            .await?;
        tx.commit().await.map_err(internal)?;
        Ok(session)
    }

    /// Resolves a cookie value to a live session, ending it if it timed out.
    pub async fn resolve_session(&self, token: &str) -> Option<SessionContext> {
        let hash = token_hash(token);
        let row = sqlx::query(
            "SELECT s.created_at, s.last_seen_at, a.id, a.account_id, a.email, a.first_name, a.last_name, a.role, a.status, c.name AS account_name, \
             CAST(CASE WHEN c.past_due THEN 1 ELSE 0 END AS BIGINT) AS past_due \
             FROM sessions s JOIN admins a ON a.id = s.admin_id JOIN accounts c ON c.id = a.account_id WHERE s.id_hash = $1",
        )
        .bind(&hash)
        .fetch_optional(self.db.pool())
        .await
        .ok()??;
        let now = self.clock.now_millis();
        let created: i64 = row.get("created_at");
        let last_seen: i64 = row.get("last_seen_at");
        let status: String = row.get("status");
        let idle_ok = now - last_seen <= Self::minutes(self.settings.session_idle_minutes);
        let absolute_ok = now - created <= Self::minutes(self.settings.session_absolute_minutes);
        if !idle_ok || !absolute_ok || status != AdminStatus::Active.code() {
            let _ = sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
                .bind(&hash)
                .execute(self.db.pool())
                .await;
            return None;
        }
        // Touch at most every 30 s: enough precision for a 15-minute idle timeout.
        if now - last_seen > 30_000 {
            let _ = sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id_hash = $2")
                .bind(now)
                .bind(&hash)
                .execute(self.db.pool())
                .await;
        }
        let role: String = row.get("role");
        Some(SessionContext {
            admin: CurrentAdmin {
                id: row.get("id"),
                account_id: row.get("account_id"),
                account_name: row.get("account_name"),
                email: row.get("email"),
                first_name: row.get("first_name"),
                last_name: row.get("last_name"),
                role: Role::from_code(&role)?,
                account_past_due: row.get::<i64, _>("past_due") != 0,
            },
            session_hash: hash,
        })
    }

    /// Counts this attempt against the client address; `false` once it is over the limit.
    async fn throttle_allows(&self, ip: Option<&str>) -> Result<bool, AppError> {
        let Some(ip) = ip else { return Ok(true) };
        let now = self.clock.now_millis();
        let window = now - now.rem_euclid(60_000);
        let attempts: i64 = sqlx::query_scalar(
            "INSERT INTO sign_in_throttle (ip, window_start, attempts, created_at) VALUES ($1, $2, 1, $3) \
             ON CONFLICT (ip, window_start) DO UPDATE SET attempts = sign_in_throttle.attempts + 1 RETURNING attempts",
        )
        .bind(ip)
        .bind(window)
        .bind(now)
        .fetch_one(self.db.pool())
        .await
        .map_err(internal)?;
        // Old windows are useless; clear them now and then.
        if attempts == 1 {
            let _ = sqlx::query("DELETE FROM sign_in_throttle WHERE window_start < $1")
                .bind(window - 3_600_000)
                .execute(self.db.pool())
                .await;
        }
        Ok(attempts <= self.settings.sign_in_attempts_per_ip_minute)
    }

    /// Creates an invitation link for an invited administrator and emails it.
    pub async fn send_invitation(
        &self,
        admin_id: &str,
        account_id: &str,
        email: &str,
        invited_by: &str,
    ) -> Result<(), AppError> {
        let token = new_token();
        let now = self.clock.now_millis();
        // The link and its message are saved together: no link without its email.
        let mut tx = self.db.pool().begin().await.map_err(internal)?;
        sqlx::query(
            "INSERT INTO one_time_tokens (token_hash, kind, admin_id, account_id, expires_at, created_at) VALUES ($1, 'invitation', $2, $3, $4, $5)",
        )
        .bind(token_hash(&token))
        .bind(admin_id)
        .bind(account_id)
        .bind(now + Self::minutes(self.settings.invitation_hours * 60))
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(internal)?;
        let url = format!("{}/invitation/{token}", self.settings.public_url);
        let mail = link_email(
            email,
            "You're invited to Tally",
            &format!("{invited_by} invited you to administer your organisation's account in Tally. Set your password to get started; the link works once and expires in {} hours.", self.settings.invitation_hours),
            "Set your password",
            &url,
            "If you weren't expecting this, you can ignore this email.",
        );
        self.queue_and_deliver(tx, &mail).await
    }

    /// Queues `mail` in `tx`, commits, and delivers it; a failed delivery stays queued for the
    /// outbox worker, so only a database failure is an error here.
    async fn queue_and_deliver(
        &self,
        mut tx: sqlx::Transaction<'static, sqlx::Any>,
        mail: &crate::mail::Email,
    ) -> Result<(), AppError> {
        let id = self.outbox.queue(&mut *tx, mail).await.map_err(internal)?;
        tx.commit().await.map_err(internal)?;
        self.outbox.deliver_queued(&id).await;
        Ok(())
    }

    fn field_error(field: &str, msg: impl ToString) -> AppError {
        AppError::field(field, msg)
    }
}

#[async_trait::async_trait]
impl AuthService for Auth {
    async fn setup_needed(&self) -> Result<bool, AppError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts")
            .fetch_one(self.db.pool())
            .await
            .map_err(internal)?;
        Ok(n == 0)
    }

    async fn setup(&self, input: SetupInput, ip: Option<String>) -> Result<NewSession, AppError> {
        let parsed = NewAccountInput {
            company_name: input.company_name.clone(),
            first_name: input.first_name.clone(),
            last_name: input.last_name.clone(),
            email: input.email.clone(),
        }
        .parse();
        let mut e = parsed.as_ref().err().cloned().unwrap_or_default();
        let words = [
            input.email.as_str(),
            input.first_name.as_str(),
            input.last_name.as_str(),
        ];
        e.check(
            "password",
            password::strength(&input.password, &words).verdict,
        );
        let account = match parsed {
            Ok(a) if e.is_empty() => a,
            _ => return Err(AppError::Validation(e)),
        };
        let (company, first, last, email) = (
            account.company_name,
            account.first_name,
            account.last_name,
            account.email,
        );
        let hash = hash_password(&input.password);
        let now = self.clock.now_millis();
        let mut tx = self.db.pool().begin().await.map_err(internal)?;
        // Only the very first account may be created here; the check and the insert share the
        // transaction, and the unique email catches a race between two set-ups.
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts")
            .fetch_one(&mut *tx)
            .await
            .map_err(internal)?;
        if n > 0 {
            return Err(AppError::NotFound);
        }
        let account_id = new_id();
        let admin_id = new_id();
        sqlx::query("INSERT INTO accounts (id, name, created_at) VALUES ($1, $2, $3)")
            .bind(&account_id)
            .bind(&company)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(internal)?;
        sqlx::query(
            "INSERT INTO admins (id, account_id, email, email_key, first_name, last_name, role, status, password_hash, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'active', $8, $9, $9)",
        )
        .bind(&admin_id)
        .bind(&account_id)
        .bind(email.as_str())
        .bind(email.normalized_key())
        .bind(&first)
        .bind(&last)
        .bind(Role::AdministratorWithBilling.code())
        .bind(&hash)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(internal)?;
        self.finish_sign_in(
            tx,
            now,
            AuditKind::AccountCreated,
            Event {
                account_id: Some(&account_id),
                actor_id: Some(&admin_id),
                actor_email: Some(email.as_str()),
                target: Some(&company),
                ip: ip.as_deref(),
                detail: "first account set up".into(),
            },
        )
        .await
    }

    async fn sign_in(
        &self,
        email: String,
        password: String,
        ip: Option<String>,
    ) -> Result<NewSession, AppError> {
        let failed = || {
            AppError::Validation({
                let mut e = FieldErrors::new();
                e.add("password", SIGN_IN_FAILED);
                e
            })
        };
        if !self.throttle_allows(ip.as_deref()).await? {
            record(
                self.db.pool(),
                self.clock.now_millis(),
                AuditKind::SignInFailed,
                Event {
                    actor_email: Some(email.trim()),
                    ip: ip.as_deref(),
                    detail: "throttled: too many attempts from this address".into(),
                    ..Default::default()
                },
            )
            .await
            .map_err(internal)?;
            return Err(AppError::TooManyRequests(
                "Too many sign-in attempts from your network. Wait a minute and try again.".into(),
            ));
        }
        let key = email.trim().to_lowercase();
        let now = self.clock.now_millis();
        let row = sqlx::query(
            "SELECT id, account_id, email, status, password_hash FROM admins WHERE email_key = $1",
        )
        .bind(&key)
        .fetch_optional(self.db.pool())
        .await
        .map_err(internal)?;
        let audit_failure =
            |account: Option<String>, actor: Option<String>, detail: &'static str| {
                let ip = ip.clone();
                let email = email.trim().to_string();
                async move {
                    record(
                        self.db.pool(),
                        now,
                        AuditKind::SignInFailed,
                        Event {
                            account_id: account.as_deref(),
                            actor_id: actor.as_deref(),
                            actor_email: Some(&email),
                            ip: ip.as_deref(),
                            detail: detail.into(),
                            ..Default::default()
                        },
                    )
                    .await
                    .map_err(internal)
                }
            };
        let Some(row) = row else {
            verify_password(&password, dummy_hash());
            audit_failure(None, None, "unknown email").await?;
            return Err(failed());
        };
        let admin_id: String = row.get("id");
        let account_id: String = row.get("account_id");
        let status: String = row.get("status");
        let hash: Option<String> = row.get("password_hash");
        let Some(hash) = hash.filter(|_| status == AdminStatus::Active.code()) else {
            verify_password(&password, dummy_hash());
            audit_failure(Some(account_id), Some(admin_id), "administrator not active").await?;
            return Err(failed());
        };
        // Reserve this attempt before verifying: one atomic update per attempt, refused while
        // locked, so however many attempts race, at most `max` verifications happen per lock.
        let max = self.settings.lockout_failures;
        let reserved = sqlx::query(
            "UPDATE admins SET \
               failed_sign_ins = CASE WHEN locked_until IS NOT NULL AND locked_until <= $2 THEN 1 ELSE failed_sign_ins + 1 END, \
               locked_until = CASE \
                 WHEN (CASE WHEN locked_until IS NOT NULL AND locked_until <= $2 THEN 1 ELSE failed_sign_ins + 1 END) >= $3 THEN $4 \
                 WHEN locked_until IS NOT NULL AND locked_until <= $2 THEN NULL \
                 ELSE locked_until END \
             WHERE id = $1 AND (locked_until IS NULL OR locked_until <= $2)",
        )
        .bind(&admin_id)
        .bind(now)
        .bind(max)
        .bind(now + Self::minutes(self.settings.lockout_minutes))
        .execute(self.db.pool())
        .await
        .map_err(internal)?;
        if reserved.rows_affected() == 0 {
            verify_password(&password, dummy_hash());
            audit_failure(Some(account_id), Some(admin_id), "locked").await?;
            return Err(failed());
        }
        if !verify_password(&password, &hash) {
            audit_failure(Some(account_id), Some(admin_id), "wrong password").await?;
            return Err(failed());
        }
        let mut tx = self.db.pool().begin().await.map_err(internal)?;
        sqlx::query("UPDATE admins SET failed_sign_ins = 0, locked_until = NULL WHERE id = $1")
            .bind(&admin_id)
            .execute(&mut *tx)
            .await
            .map_err(internal)?;
        let email: String = row.get("email");
        self.finish_sign_in(
            tx,
            now,
            AuditKind::SignIn,
            Event {
                account_id: Some(&account_id),
                actor_id: Some(&admin_id),
                actor_email: Some(&email),
                ip: ip.as_deref(),
                ..Default::default()
            },
        )
        .await
    }

    async fn sign_out(
        &self,
        admin: &CurrentAdmin,
        session_hash: &str,
        ip: Option<String>,
    ) -> String {
        let now = self.clock.now_millis();
        let _ = sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(session_hash)
            .execute(self.db.pool())
            .await;
        let _ = record(
            self.db.pool(),
            now,
            AuditKind::SignOut,
            Event {
                account_id: Some(&admin.account_id),
                actor_id: Some(&admin.id),
                actor_email: Some(&admin.email),
                ip: ip.as_deref(),
                ..Default::default()
            },
        )
        .await;
        self.clear_cookie()
    }

    async fn request_reset(&self, email: String, ip: Option<String>) -> Result<(), AppError> {
        let parsed = Email::parse(&email).map_err(|e| Self::field_error("email", e))?;
        let now = self.clock.now_millis();
        let row = sqlx::query(
            "SELECT id, account_id, email FROM admins WHERE email_key = $1 AND status = 'active'",
        )
        .bind(parsed.normalized_key())
        .fetch_optional(self.db.pool())
        .await
        .map_err(internal)?;
        let Some(row) = row else {
            // Same answer, same audit shape; nothing is sent.
            record(
                self.db.pool(),
                now,
                AuditKind::PasswordResetRequested,
                Event {
                    actor_email: Some(parsed.as_str()),
                    ip: ip.as_deref(),
                    detail: "no active administrator with this address".into(),
                    ..Default::default()
                },
            )
            .await
            .map_err(internal)?;
            return Ok(());
        };
        let admin_id: String = row.get("id");
        let account_id: String = row.get("account_id");
        let to: String = row.get("email");
        let token = new_token();
        let mut tx = self.db.pool().begin().await.map_err(internal)?;
        sqlx::query(
            "INSERT INTO one_time_tokens (token_hash, kind, admin_id, account_id, expires_at, created_at) VALUES ($1, 'reset', $2, $3, $4, $5)",
        )
        .bind(token_hash(&token))
        .bind(&admin_id)
        .bind(&account_id)
        .bind(now + Self::minutes(self.settings.reset_minutes))
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(internal)?;
        record(
            &mut *tx,
            now,
            AuditKind::PasswordResetRequested,
            Event {
                account_id: Some(&account_id),
                actor_id: Some(&admin_id),
                actor_email: Some(&to),
                ip: ip.as_deref(),
                ..Default::default()
            },
        )
        .await
        .map_err(internal)?;
        let url = format!("{}/reset-password/{token}", self.settings.public_url);
        let mail = link_email(
            &to,
            "Reset your Tally password",
            &format!("Someone asked to reset the password of your Tally administrator account. The link works once and expires in {} minutes.", self.settings.reset_minutes),
            "Choose a new password",
            &url,
            "If it wasn't you, ignore this email: your password stays as it is.",
        );
        self.queue_and_deliver(tx, &mail).await
    }

    async fn inspect_token(&self, kind: TokenKind, token: String) -> Result<TokenInfo, AppError> {
        let kind_code = match kind {
            TokenKind::Invitation => "invitation",
            TokenKind::Reset => "reset",
        };
        let row = sqlx::query(
            "SELECT t.expires_at, t.used_at, a.email, a.first_name FROM one_time_tokens t JOIN admins a ON a.id = t.admin_id \
             WHERE t.token_hash = $1 AND t.kind = $2",
        )
        .bind(token_hash(&token))
        .bind(kind_code)
        .fetch_optional(self.db.pool())
        .await
        .map_err(internal)?;
        let Some(row) = row else {
            return Ok(TokenInfo {
                state: TokenState::Unknown,
                email: None,
                first_name: None,
            });
        };
        let used: Option<i64> = row.get("used_at");
        let expires: i64 = row.get("expires_at");
        let state = if used.is_some() {
            TokenState::Used
        } else if expires <= self.clock.now_millis() {
            TokenState::Expired
        } else {
            TokenState::Valid
        };
        let valid = state == TokenState::Valid;
        Ok(TokenInfo {
            state,
            email: valid.then(|| row.get("email")),
            first_name: valid.then(|| row.get("first_name")),
        })
    }

    async fn complete_token(
        &self,
        kind: TokenKind,
        token: String,
        new_password: String,
        ip: Option<String>,
    ) -> Result<NewSession, AppError> {
        let kind_code = match kind {
            TokenKind::Invitation => "invitation",
            TokenKind::Reset => "reset",
        };
        let now = self.clock.now_millis();
        let hash = token_hash(&token);
        let mut tx = self.db.pool().begin().await.map_err(internal)?;
        let row = sqlx::query(
            "SELECT t.admin_id, t.account_id, t.expires_at, t.used_at, a.email, a.first_name, a.last_name, a.status \
             FROM one_time_tokens t JOIN admins a ON a.id = t.admin_id WHERE t.token_hash = $1 AND t.kind = $2",
        )
        .bind(&hash)
        .bind(kind_code)
        .fetch_optional(&mut *tx)
        .await
        .map_err(internal)?;
        let gone = || AppError::Conflict("This link is no longer valid. Ask for a new one.".into());
        let Some(row) = row else { return Err(gone()) };
        let used: Option<i64> = row.get("used_at");
        let expires: i64 = row.get("expires_at");
        let status: String = row.get("status");
        if used.is_some() || expires <= now || status == AdminStatus::Suspended.code() {
            return Err(gone());
        }
        let email: String = row.get("email");
        let first: String = row.get("first_name");
        let last: String = row.get("last_name");
        if let Err(e) = password::strength(&new_password, &[&email, &first, &last]).verdict {
            return Err(Self::field_error("password", e));
        }
        // Single use even when two requests race: only one update finds it unused.
        let claimed = sqlx::query(
            "UPDATE one_time_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL",
        )
        .bind(now)
        .bind(&hash)
        .execute(&mut *tx)
        .await
        .map_err(internal)?;
        if claimed.rows_affected() != 1 {
            return Err(gone());
        }
        let admin_id: String = row.get("admin_id");
        let account_id: String = row.get("account_id");
        sqlx::query(
            "UPDATE admins SET password_hash = $1, status = 'active', failed_sign_ins = 0, locked_until = NULL, updated_at = $2 WHERE id = $3",
        )
        .bind(hash_password(&new_password))
        .bind(now)
        .bind(&admin_id)
        .execute(&mut *tx)
        .await
        .map_err(internal)?;
        // A new password ends every session the old one opened.
        sqlx::query("DELETE FROM sessions WHERE admin_id = $1")
            .bind(&admin_id)
            .execute(&mut *tx)
            .await
            .map_err(internal)?;
        let audit_kind = match kind {
            TokenKind::Invitation => AuditKind::InvitationAccepted,
            TokenKind::Reset => AuditKind::PasswordReset,
        };
        self.finish_sign_in(
            tx,
            now,
            audit_kind,
            Event {
                account_id: Some(&account_id),
                actor_id: Some(&admin_id),
                actor_email: Some(&email),
                ip: ip.as_deref(),
                ..Default::default()
            },
        )
        .await
    }

    async fn change_password(
        &self,
        admin: &CurrentAdmin,
        current: String,
        new: String,
        ip: Option<String>,
    ) -> Result<NewSession, AppError> {
        let hash: Option<String> = sqlx::query_scalar(
            "SELECT password_hash FROM admins WHERE id = $1 AND account_id = $2",
        )
        .bind(&admin.id)
        .bind(&admin.account_id)
        .fetch_optional(self.db.pool())
        .await
        .map_err(internal)?
        .flatten();
        let mut e = FieldErrors::new();
        if !hash.is_some_and(|h| verify_password(&current, &h)) {
            e.add("current_password", "Your current password is incorrect.");
        }
        e.check(
            "new_password",
            password::strength(&new, &[&admin.email, &admin.first_name, &admin.last_name]).verdict,
        );
        if !e.is_empty() {
            return Err(AppError::Validation(e));
        }
        let now = self.clock.now_millis();
        let mut tx = self.db.pool().begin().await.map_err(internal)?;
        sqlx::query("UPDATE admins SET password_hash = $1, updated_at = $2 WHERE id = $3")
            .bind(hash_password(&new))
            .bind(now)
            .bind(&admin.id)
            .execute(&mut *tx)
            .await
            .map_err(internal)?;
        sqlx::query("DELETE FROM sessions WHERE admin_id = $1")
            .bind(&admin.id)
            .execute(&mut *tx)
            .await
            .map_err(internal)?;
        self.finish_sign_in(
            tx,
            now,
            AuditKind::PasswordChanged,
            Event {
                account_id: Some(&admin.account_id),
                actor_id: Some(&admin.id),
                actor_email: Some(&admin.email),
                ip: ip.as_deref(),
                detail: "every session ended".into(),
                ..Default::default()
            },
        )
        .await
    }

    async fn update_name(
        &self,
        admin: &CurrentAdmin,
        first_name: String,
        last_name: String,
    ) -> Result<(), AppError> {
        let mut e = FieldErrors::new();
        let first = e.check("first_name", required_text(&first_name, "first name", 100));
        let last = e.check("last_name", required_text(&last_name, "last name", 100));
        let (Some(first), Some(last)) = (first, last) else {
            return Err(AppError::Validation(e));
        };
        let now = self.clock.now_millis();
        let mut tx = self.db.pool().begin().await.map_err(internal)?;
        sqlx::query("UPDATE admins SET first_name = $1, last_name = $2, updated_at = $3 WHERE id = $4 AND account_id = $5")
            .bind(&first)
            .bind(&last)
            .bind(now)
            .bind(&admin.id)
            .bind(&admin.account_id)
            .execute(&mut *tx)
            .await
            .map_err(internal)?;
        record(
            &mut *tx,
            now,
            AuditKind::NameChanged,
            Event {
                account_id: Some(&admin.account_id),
                actor_id: Some(&admin.id),
                actor_email: Some(&admin.email),
                detail: format!("{} → {first} {last}", admin.full_name()),
                ..Default::default()
            },
        )
        .await
        .map_err(internal)?;
        tx.commit().await.map_err(internal)
    }
}
