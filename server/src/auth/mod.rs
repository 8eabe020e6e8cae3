//! Signing in and out, and invitation and reset links: the password check with lockout and
//! per-address throttling (spec §7), sessions, and one-time links. Set-up of the first
//! account is in `accounts`, one's own name and password in `profile`.

pub mod links;
pub mod sessions;

use tally_core::{audit::AuditKind, contact::Email, password, roles::AdminStatus};

use crate::{
    actor::{Actor, Visitor},
    audit::{record, Event},
    context::Context,
    emails,
    error::{Context as _, ServiceError},
};

use self::{
    links::{LinkKind, LinkRow, LinkState},
    sessions::{Sessions, SetCookie},
};

/// The one message for every failed sign-in.
pub const SIGN_IN_FAILED: &str = "Email or password is incorrect.";

/// An administrator as sign-in sees them.
#[derive(sqlx::FromRow)]
struct Credentials {
    id: String,
    account_id: String,
    email: String,
    status: String,
    password_hash: Option<String>,
}

/// A reset link's addressee.
#[derive(sqlx::FromRow)]
struct ResetTarget {
    id: String,
    account_id: String,
    email: String,
}

/// What an unused link is worth, and whose it is while it is valid.
#[derive(Debug)]
pub struct LinkInfo {
    pub state: LinkState,
    pub email: Option<String>,
    pub first_name: Option<String>,
}

/// Sign-in, sign-out and one-time links.
#[derive(Clone)]
pub struct Auth {
    ctx: Context,
    sessions: Sessions,
}

impl Auth {
    pub fn new(ctx: Context) -> Self {
        let sessions = Sessions::new(ctx.clone());
        Self { ctx, sessions }
    }

    pub fn sessions(&self) -> &Sessions {
        &self.sessions
    }

    /// Counts this attempt against the client address; `false` once it is over the limit.
    async fn throttle_allows(&self, ip: Option<&str>) -> Result<bool, ServiceError> {
        let Some(ip) = ip else { return Ok(true) };
        let pool = self.ctx.db.pool();
        let now = self.ctx.now();
        let window = now - now.rem_euclid(60_000);
        let attempts: i64 = sqlx::query_scalar(
            "INSERT INTO sign_in_throttle (ip, window_start, attempts, created_at) VALUES ($1, $2, 1, $3) \
             ON CONFLICT (ip, window_start) DO UPDATE SET attempts = sign_in_throttle.attempts + 1 RETURNING attempts",
        )
        .bind(ip)
        .bind(window)
        .bind(now)
        .fetch_one(pool)
        .await
        .context("counting a sign-in attempt")?;
        // Old windows are useless; clear them now and then.
        if attempts == 1 {
            sqlx::query("DELETE FROM sign_in_throttle WHERE window_start < $1")
                .bind(window - 3_600_000)
                .execute(pool)
                .await
                .context("clearing old sign-in counts")?;
        }
        Ok(attempts <= self.ctx.settings.sign_in_attempts_per_ip_minute)
    }

    /// Audits a failed sign-in.
    async fn sign_in_failed(
        &self,
        visitor: &Visitor,
        email: &str,
        admin: Option<&Credentials>,
        detail: &str,
    ) -> Result<(), ServiceError> {
        record(
            self.ctx.db.pool(),
            self.ctx.now(),
            AuditKind::SignInFailed,
            Event {
                account_id: admin.map(|a| a.account_id.as_str()),
                actor_id: admin.map(|a| a.id.as_str()),
                actor_email: Some(email),
                ip: visitor.ip.as_deref(),
                detail: detail.into(),
                ..Default::default()
            },
        )
        .await
        .context("auditing a failed sign-in")
    }

    /// Checks a password with lockout and throttling, and starts a session. Every failure
    /// gets the same answer, in about the same time.
    pub async fn sign_in(
        &self,
        visitor: &Visitor,
        email: &str,
        password: &str,
    ) -> Result<SetCookie, ServiceError> {
        let failed = || ServiceError::field("password", SIGN_IN_FAILED);
        let email = email.trim();
        if !self.throttle_allows(visitor.ip.as_deref()).await? {
            self.sign_in_failed(
                visitor,
                email,
                None,
                "throttled: too many attempts from this address",
            )
            .await?;
            return Err(ServiceError::Throttled(
                "Too many sign-in attempts from your network. Wait a minute and try again.".into(),
            ));
        }
        let now = self.ctx.now();
        let pool = self.ctx.db.pool();
        let admin: Option<Credentials> = sqlx::query_as(
            "SELECT id, account_id, email, status, password_hash FROM admins WHERE email_key = $1",
        )
        .bind(email.to_lowercase())
        .fetch_optional(pool)
        .await
        .context("looking up an administrator to sign in")?;
        let Some(admin) = admin else {
            self.ctx.passwords.verify_nothing(password).await?;
            self.sign_in_failed(visitor, email, None, "unknown email")
                .await?;
            return Err(failed());
        };
        let hash = admin
            .password_hash
            .clone()
            .filter(|_| admin.status == AdminStatus::Active.code());
        let Some(hash) = hash else {
            self.ctx.passwords.verify_nothing(password).await?;
            self.sign_in_failed(visitor, email, Some(&admin), "administrator not active")
                .await?;
            return Err(failed());
        };
        // Reserve this attempt before verifying: one atomic update per attempt, refused while
        // locked, so however many attempts race, at most `max` verifications happen per lock.
        let settings = &self.ctx.settings;
        let reserved = sqlx::query(
            "UPDATE admins SET \
               failed_sign_ins = CASE WHEN locked_until IS NOT NULL AND locked_until <= $2 THEN 1 ELSE failed_sign_ins + 1 END, \
               locked_until = CASE \
                 WHEN (CASE WHEN locked_until IS NOT NULL AND locked_until <= $2 THEN 1 ELSE failed_sign_ins + 1 END) >= $3 THEN $4 \
                 WHEN locked_until IS NOT NULL AND locked_until <= $2 THEN NULL \
                 ELSE locked_until END \
             WHERE id = $1 AND (locked_until IS NULL OR locked_until <= $2)",
        )
        .bind(&admin.id)
        .bind(now)
        .bind(settings.lockout_failures)
        .bind(now + settings.lockout_minutes * 60_000)
        .execute(pool)
        .await
        .context("reserving a sign-in attempt")?;
        if reserved.rows_affected() == 0 {
            self.ctx.passwords.verify_nothing(password).await?;
            self.sign_in_failed(visitor, email, Some(&admin), "locked")
                .await?;
            return Err(failed());
        }
        if !self.ctx.passwords.verify(password, &hash).await? {
            self.sign_in_failed(visitor, email, Some(&admin), "wrong password")
                .await?;
            return Err(failed());
        }
        let mut tx = pool.begin().await.context("signing in")?;
        sqlx::query("UPDATE admins SET failed_sign_ins = 0, locked_until = NULL WHERE id = $1")
            .bind(&admin.id)
            .execute(&mut *tx)
            .await
            .context("clearing failed sign-ins")?;
        let event = Event {
            account_id: Some(&admin.account_id),
            actor_id: Some(&admin.id),
            actor_email: Some(&admin.email),
            ip: visitor.ip.as_deref(),
            ..Default::default()
        };
        self.finish_sign_in(tx, AuditKind::SignIn, event).await
    }

    /// How every successful sign-in ends (password, set-up, link, password change): audit
    /// `kind`, start a session for the event's actor, commit — all in the caller's transaction.
    pub async fn finish_sign_in(
        &self,
        mut tx: sqlx::Transaction<'static, sqlx::Any>,
        kind: AuditKind,
        event: Event<'_>,
    ) -> Result<SetCookie, ServiceError> {
        let (Some(admin_id), Some(account_id)) = (event.actor_id, event.account_id) else {
            return Err(ServiceError::invariant(
                "starting a session",
                "the sign-in event names no administrator or account",
            ));
        };
        let ip = event.ip;
        record(&mut *tx, self.ctx.now(), kind, event.clone())
            .await
            .context("auditing a sign-in")?;
        let cookie = self
            .sessions
            .start(&mut *tx, admin_id, account_id, ip)
            .await?;
        tx.commit().await.context("saving a new session")?;
        Ok(cookie)
    }

    /// Ends one session and audits it; returns the cookie that clears it.
    pub async fn sign_out(
        &self,
        actor: &Actor,
        session_hash: &str,
    ) -> Result<SetCookie, ServiceError> {
        self.sessions.end(session_hash).await?;
        record(
            self.ctx.db.pool(),
            self.ctx.now(),
            AuditKind::SignOut,
            Event {
                account_id: Some(&actor.account_id),
                actor_id: Some(&actor.id),
                actor_email: Some(&actor.email),
                ip: actor.ip.as_deref(),
                ..Default::default()
            },
        )
        .await
        .context("auditing a sign-out")?;
        Ok(self.sessions.clear_cookie())
    }

    /// Emails a reset link if the address belongs to an active administrator; answers the
    /// same (and audits the same shape) otherwise.
    pub async fn request_reset(&self, visitor: &Visitor, email: &str) -> Result<(), ServiceError> {
        let email = Email::parse(email).map_err(|e| ServiceError::field("email", e))?;
        let now = self.ctx.now();
        let pool = self.ctx.db.pool();
        let target: Option<ResetTarget> = sqlx::query_as(
            "SELECT id, account_id, email FROM admins WHERE email_key = $1 AND status = 'active'",
        )
        .bind(email.normalized_key())
        .fetch_optional(pool)
        .await
        .context("looking up an administrator to reset")?;
        let Some(target) = target else {
            // Same answer, same audit shape; nothing is sent.
            return record(
                pool,
                now,
                AuditKind::PasswordResetRequested,
                Event {
                    actor_email: Some(email.as_str()),
                    ip: visitor.ip.as_deref(),
                    detail: "no active administrator with this address".into(),
                    ..Default::default()
                },
            )
            .await
            .context("auditing a reset request");
        };
        let minutes = self.ctx.settings.reset_minutes;
        let mut tx = pool.begin().await.context("requesting a reset")?;
        let url = links::issue(
            &self.ctx,
            &mut *tx,
            LinkKind::Reset,
            &target.id,
            &target.account_id,
            minutes,
        )
        .await?;
        record(
            &mut *tx,
            now,
            AuditKind::PasswordResetRequested,
            Event {
                account_id: Some(&target.account_id),
                actor_id: Some(&target.id),
                actor_email: Some(&target.email),
                ip: visitor.ip.as_deref(),
                ..Default::default()
            },
        )
        .await
        .context("auditing a reset request")?;
        let id = self
            .ctx
            .outbox
            .queue(
                &mut *tx,
                &emails::password_reset(&target.email, &url, minutes),
            )
            .await
            .context("queueing a reset email")?;
        tx.commit().await.context("saving a reset link")?;
        self.ctx.outbox.deliver_queued(&id).await;
        Ok(())
    }

    /// What a link is worth, without using it.
    pub async fn inspect_link(
        &self,
        kind: LinkKind,
        token: &str,
    ) -> Result<LinkInfo, ServiceError> {
        let link = links::find(self.ctx.db.pool(), kind, token).await?;
        let Some(link) = link else {
            return Ok(LinkInfo {
                state: LinkState::Unknown,
                email: None,
                first_name: None,
            });
        };
        let state = link.state(self.ctx.now());
        let valid = state == LinkState::Valid;
        Ok(LinkInfo {
            state,
            email: valid.then_some(link.email),
            first_name: valid.then_some(link.first_name),
        })
    }

    /// Uses an invitation or reset link to set a password, ends every older session, and
    /// signs in.
    pub async fn complete_link(
        &self,
        visitor: &Visitor,
        kind: LinkKind,
        token: &str,
        new_password: &str,
    ) -> Result<SetCookie, ServiceError> {
        let gone =
            || ServiceError::Conflict("This link is no longer valid. Ask for a new one.".into());
        // Checked before the transaction: hashing takes a while and holds no lock.
        let link: LinkRow = links::find(self.ctx.db.pool(), kind, token)
            .await?
            .ok_or_else(gone)?;
        let now = self.ctx.now();
        if link.state(now) != LinkState::Valid || link.status == AdminStatus::Suspended.code() {
            return Err(gone());
        }
        password::strength(
            new_password,
            &[&link.email, &link.first_name, &link.last_name],
        )
        .verdict
        .map_err(|e| ServiceError::field("password", e))?;
        let hash = self.ctx.passwords.hash(new_password).await?;
        let mut tx = self.ctx.db.pool().begin().await.context("using a link")?;
        if !links::claim(&mut *tx, token, now).await? {
            return Err(gone());
        }
        crate::admins::set_password(&mut *tx, &link.admin_id, &hash, now, true).await?;
        // A new password ends every session the old one opened.
        sessions::end_all(&mut *tx, &link.admin_id).await?;
        let audit_kind = match kind {
            LinkKind::Invitation => AuditKind::InvitationAccepted,
            LinkKind::Reset => AuditKind::PasswordReset,
        };
        let event = Event {
            account_id: Some(&link.account_id),
            actor_id: Some(&link.admin_id),
            actor_email: Some(&link.email),
            ip: visitor.ip.as_deref(),
            ..Default::default()
        };
        self.finish_sign_in(tx, audit_kind, event).await
    }
}
