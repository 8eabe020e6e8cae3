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
    throttle,
};

use self::{
    links::{LinkKind, LinkRow, LinkState},
    sessions::{PendingSession, Sessions, SetCookie},
};
use crate::two_step::{Factor, TwoStep};

/// The one message for every failed sign-in.
pub const SIGN_IN_FAILED: &str = "Email or password is incorrect.";

/// The longest email address (RFC 5321's path limit); longer input is refused unread.
pub const MAX_EMAIL: usize = 254;

/// How a sign-in with the right password ended.
#[derive(Debug)]
pub enum SignedIn {
    /// Signed in: the session's cookie.
    Session(SetCookie),
    /// The second step is still to come: the half-done sign-in's cookie.
    SecondStep(SetCookie),
}

/// What proves it is someone, for a second step or a fresh check.
#[derive(Debug)]
pub enum Proof {
    /// An authenticator app's code or a recovery code.
    Code(String),
    /// A passkey's answer to the ceremony `ceremony`.
    Passkey {
        ceremony: String,
        credential: Box<webauthn_rs::prelude::PublicKeyCredential>,
    },
    /// The password (a fresh check, for someone without a second step).
    Password(String),
}

/// Whom a proof is checked for.
#[derive(sqlx::FromRow)]
struct ProofTarget {
    id: String,
    account_id: String,
    email: String,
    first_name: String,
    last_name: String,
    role: String,
    password_hash: Option<String>,
}

impl ProofTarget {
    fn as_actor(&self, ip: Option<String>) -> Actor {
        Actor {
            id: self.id.clone(),
            account_id: self.account_id.clone(),
            account_name: String::new(),
            email: self.email.clone(),
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            role: tally_core::roles::Role::from_code(&self.role)
                .unwrap_or(tally_core::roles::Role::ReadOnly),
            ip,
            verified_at: 0,
        }
    }
}

/// Clears an administrator's failed attempts, in `exec` (a whole sign-in succeeded).
async fn clear_failures<'e, E>(exec: E, admin_id: &str) -> Result<(), ServiceError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query("UPDATE admins SET failed_sign_ins = 0, locked_until = NULL WHERE id = $1")
        .bind(admin_id)
        .execute(exec)
        .await
        .context("clearing failed sign-ins")?;
    Ok(())
}

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
    two_step: TwoStep,
}

impl Auth {
    pub fn new(ctx: Context) -> Self {
        let sessions = Sessions::new(ctx.clone());
        let two_step = TwoStep::new(ctx.clone());
        Self {
            ctx,
            sessions,
            two_step,
        }
    }

    pub fn two_step(&self) -> &TwoStep {
        &self.two_step
    }

    pub fn sessions(&self) -> &Sessions {
        &self.sessions
    }

    /// Records a refused attempt from a throttled address: one audit event per address and
    /// window (see [`crate::audit::record_throttled`]).
    async fn audit_throttled(
        &self,
        visitor: &Visitor,
        limit: throttle::Limit,
        counted: throttle::Counted,
    ) -> Result<(), ServiceError> {
        let ip = visitor.ip.as_deref().unwrap_or("unknown");
        let key = format!("{}/{ip}/{}", limit.scope, counted.window_start);
        crate::audit::record_throttled(
            self.ctx.db.pool(),
            self.ctx.now(),
            &key,
            ip,
            counted.attempts - limit.attempts,
        )
        .await
        .context("auditing throttled sign-ins")
    }

    /// Audits a failed sign-in.
    async fn sign_in_failed(
        &self,
        visitor: &Visitor,
        email: &str,
        admin: Option<&Credentials>,
        detail: &str,
    ) -> Result<(), ServiceError> {
        crate::metrics::sign_in(match detail {
            "too long" => "too_long",
            "unknown email" => "unknown_email",
            "administrator not active" => "inactive",
            "locked" => "locked",
            _ => "wrong_password",
        });
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
    ) -> Result<SignedIn, ServiceError> {
        let failed = || ServiceError::field("password", SIGN_IN_FAILED);
        let email = email.trim();
        if let Some(ip) = &visitor.ip {
            let per_ip = throttle::sign_in_per_ip(self.ctx.settings.sign_in_attempts_per_ip_minute);
            let counted = throttle::count(&self.ctx, per_ip, ip).await?;
            if counted.attempts > per_ip.attempts {
                crate::metrics::sign_in("throttled");
                self.audit_throttled(visitor, per_ip, counted).await?;
                return Err(throttle::refusal(&self.ctx, per_ip, counted).await);
            }
        }
        // No address is longer, no password may be: refused before any other work, and only
        // what an address can be is kept of it.
        if email.chars().count() > MAX_EMAIL
            || password.chars().count() > password::MAX_PASSWORD_CHARS
        {
            self.sign_in_failed(visitor, &throttle::subject(email), None, "too long")
                .await?;
            return Err(failed());
        }
        throttle::check(
            &self.ctx,
            throttle::SIGN_IN_PER_ADDRESS,
            &throttle::subject(email),
        )
        .await
        .inspect_err(|_| crate::metrics::sign_in("throttled"))?;
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
        if !self.reserve_attempt(&admin.id, now).await? {
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
        // With a second step, the password only opens the door to it: its attempt is given
        // back, but the count is cleared only when the whole sign-in succeeds, so the
        // password cannot reset the count of wrong codes.
        if crate::two_step::has_second_step(pool, &admin.id).await? {
            self.refund_attempt(&admin.id).await?;
            let cookie = self
                .sessions
                .start_pending(&admin.id, &admin.account_id)
                .await?;
            crate::metrics::sign_in("second_step");
            return Ok(SignedIn::SecondStep(cookie));
        }
        let mut tx = pool.begin().await.context("signing in")?;
        clear_failures(&mut *tx, &admin.id).await?;
        let event = Event {
            account_id: Some(&admin.account_id),
            actor_id: Some(&admin.id),
            actor_email: Some(&admin.email),
            ip: visitor.ip.as_deref(),
            ..Default::default()
        };
        let cookie = self.finish_sign_in(tx, AuditKind::SignIn, event).await?;
        crate::metrics::sign_in("session");
        Ok(SignedIn::Session(cookie))
    }

    /// Reserves one attempt (a password, a second step) against an administrator's lockout:
    /// one atomic update per attempt, refused while locked, so however many attempts race, at
    /// most `max` are checked per lock. False while locked.
    async fn reserve_attempt(&self, admin_id: &str, now: i64) -> Result<bool, ServiceError> {
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
        .bind(admin_id)
        .bind(now)
        .bind(settings.lockout_failures)
        .bind(now + settings.lockout_minutes * 60_000)
        .execute(self.ctx.db.pool())
        .await
        .context("reserving a sign-in attempt")?;
        Ok(reserved.rows_affected() == 1)
    }

    /// Gives back an attempt [`Self::reserve_attempt`] took for a right password that only
    /// opened the second step (and the lock, if that attempt was the one that set it).
    async fn refund_attempt(&self, admin_id: &str) -> Result<(), ServiceError> {
        sqlx::query(
            "UPDATE admins SET failed_sign_ins = failed_sign_ins - 1, \
               locked_until = CASE WHEN failed_sign_ins - 1 < $2 THEN NULL ELSE locked_until END \
             WHERE id = $1 AND failed_sign_ins > 0",
        )
        .bind(admin_id)
        .bind(self.ctx.settings.lockout_failures)
        .execute(self.ctx.db.pool())
        .await
        .context("giving back a sign-in attempt")?;
        Ok(())
    }

    /// Checks a second step or (for someone without one) a password for `admin`; wrong ones
    /// count toward the same lockout as wrong passwords. The factor used, or `None`.
    async fn check_proof(
        &self,
        admin: &ProofTarget,
        proof: &Proof,
        allow_password: bool,
    ) -> Result<Option<Factor>, ServiceError> {
        let now = self.ctx.now();
        if !self.reserve_attempt(&admin.id, now).await? {
            return Ok(None);
        }
        let factor = match proof {
            Proof::Code(code) => {
                self.two_step
                    .check_code(&admin.id, &admin.email, code)
                    .await?
            }
            Proof::Passkey {
                ceremony,
                credential,
            } => {
                self.two_step
                    .finish_passkey_authentication(&admin.id, ceremony, credential)
                    .await?
            }
            Proof::Password(password) if allow_password => {
                if password.chars().count() > password::MAX_PASSWORD_CHARS {
                    None
                } else {
                    match &admin.password_hash {
                        Some(h) if self.ctx.passwords.verify(password, h).await? => {
                            Some(Factor::Password)
                        }
                        _ => None,
                    }
                }
            }
            Proof::Password(_) => None,
        };
        if factor.is_some() {
            clear_failures(self.ctx.db.pool(), &admin.id).await?;
        }
        Ok(factor)
    }

    /// Reads who a proof is for.
    async fn proof_target(&self, admin_id: &str) -> Result<ProofTarget, ServiceError> {
        sqlx::query_as(
            "SELECT id, account_id, email, first_name, last_name, role, password_hash FROM admins WHERE id = $1 AND status = 'active'",
        )
        .bind(admin_id)
        .fetch_optional(self.ctx.db.pool())
        .await
        .context("reading an administrator")?
        .ok_or(ServiceError::Unauthenticated)
    }

    /// The second step of a sign-in: an authenticator code, a recovery code or a passkey.
    /// Ends the half-done sign-in and starts a session; wrong codes count toward the lockout.
    pub async fn second_step(
        &self,
        visitor: &Visitor,
        pending: &PendingSession,
        proof: &Proof,
    ) -> Result<SetCookie, ServiceError> {
        let admin = self.proof_target(&pending.admin_id).await?;
        let Some(factor) = self.check_proof(&admin, proof, false).await? else {
            record(
                self.ctx.db.pool(),
                self.ctx.now(),
                AuditKind::SecondStepFailed,
                Event {
                    account_id: Some(&admin.account_id),
                    actor_id: Some(&admin.id),
                    actor_email: Some(&admin.email),
                    ip: visitor.ip.as_deref(),
                    detail: "wrong code or passkey".into(),
                    ..Default::default()
                },
            )
            .await
            .context("auditing a failed second step")?;
            return Err(ServiceError::field(
                "code",
                "That didn't work. Check the code (or use a recovery code) and try again.",
            ));
        };
        let mut tx = self.ctx.db.pool().begin().await.context("signing in")?;
        self.sessions.end_pending(&mut *tx, &pending.hash).await?;
        let detail = format!("second step: {}", factor.describe());
        let event = Event {
            account_id: Some(&admin.account_id),
            actor_id: Some(&admin.id),
            actor_email: Some(&admin.email),
            ip: visitor.ip.as_deref(),
            detail,
            ..Default::default()
        };
        let cookie = self.finish_sign_in(tx, AuditKind::SignIn, event).await?;
        if let Factor::RecoveryCode(left) = factor {
            self.two_step
                .told_recovery_code_used(&admin.as_actor(visitor.ip.clone()), left)
                .await?;
        }
        Ok(cookie)
    }

    /// Starts a passkey proof for a half-done sign-in.
    pub async fn second_step_passkey_options(
        &self,
        pending: &PendingSession,
    ) -> Result<(String, webauthn_rs::prelude::RequestChallengeResponse), ServiceError> {
        self.two_step
            .start_passkey_authentication(&pending.admin_id)
            .await
    }

    /// "Confirm it's you": a second step, or the password for someone without one, makes the
    /// session fresh for the changes that need it. Wrong ones count toward the lockout.
    pub async fn confirm(
        &self,
        actor: &Actor,
        session_hash: &str,
        proof: &Proof,
    ) -> Result<(), ServiceError> {
        let admin = self.proof_target(&actor.id).await?;
        let has_second = crate::two_step::has_second_step(self.ctx.db.pool(), &actor.id).await?;
        let Some(factor) = self.check_proof(&admin, proof, !has_second).await? else {
            let field = if has_second { "code" } else { "password" };
            return Err(ServiceError::field(field, "That didn't work. Try again."));
        };
        self.sessions.verified(session_hash).await?;
        if let Factor::RecoveryCode(left) = factor {
            self.two_step.told_recovery_code_used(actor, left).await?;
        }
        Ok(())
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
    /// same, in the same time, otherwise: the link and its email are saved and the outbox
    /// worker delivers it, so no answer waits on the mail server. Throttled per network and
    /// per address, so nobody can flood a person with reset emails.
    pub async fn request_reset(&self, visitor: &Visitor, email: &str) -> Result<(), ServiceError> {
        if let Some(ip) = &visitor.ip {
            throttle::check(&self.ctx, throttle::RESET_PER_IP, ip).await?;
        }
        let email = Email::parse(email).map_err(|e| ServiceError::field("email", e))?;
        throttle::check(
            &self.ctx,
            throttle::RESET_PER_ADDRESS,
            &email.normalized_key(),
        )
        .await?;
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
        self.ctx
            .outbox
            .queue(
                &mut *tx,
                &emails::password_reset(&target.email, &url, minutes),
            )
            .await
            .context("queueing a reset email")?;
        tx.commit().await.context("saving a reset link")?;
        self.ctx.outbox.wake_worker();
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
    /// signs in — after the second step, for someone who has one: a reset link by email
    /// alone never opens an account that needs more.
    pub async fn complete_link(
        &self,
        visitor: &Visitor,
        kind: LinkKind,
        token: &str,
        new_password: &str,
    ) -> Result<SignedIn, ServiceError> {
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
        if new_password.chars().count() > password::MAX_PASSWORD_CHARS {
            return Err(ServiceError::field(
                "password",
                format!(
                    "Passwords can be at most {} characters.",
                    password::MAX_PASSWORD_CHARS
                ),
            ));
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
        // Never reactivates someone suspended meanwhile: the update is conditional on the
        // status as it is now, not as it was read above.
        if !crate::admins::set_password_from_link(&mut *tx, &link.admin_id, &hash, now).await? {
            return Err(gone());
        }
        // A new password ends every session the old one opened, and every other reset link.
        sessions::end_all(&mut *tx, &link.admin_id).await?;
        links::end_resets(&mut *tx, &link.admin_id, now).await?;
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
        if crate::two_step::has_second_step(&mut *tx, &link.admin_id).await? {
            record(&mut *tx, now, audit_kind, event)
                .await
                .context("auditing a link's use")?;
            tx.commit().await.context("using a link")?;
            let cookie = self
                .sessions
                .start_pending(&link.admin_id, &link.account_id)
                .await?;
            return Ok(SignedIn::SecondStep(cookie));
        }
        let cookie = self.finish_sign_in(tx, audit_kind, event).await?;
        Ok(SignedIn::Session(cookie))
    }
}
