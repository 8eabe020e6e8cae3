//! Signing in and out, the second step, the fresh check ("confirm it's you"), and invitation
//! and reset links: the password check with lockout and per-address throttling, sessions, and
//! one-time links. Set-up of the first account is in `setup`, one's own name and password in
//! `profile`.

use tally_core::{
    actor::{Actor, Visitor},
    audit::AuditKind,
    codes::LinkKind,
    contact::Email,
    password,
    roles::AdminStatus,
    views::{
        account::{LinkInfo, LinkState},
        two_step::PasskeyRequest,
    },
};

use super::{
    accounts::{
        admins::{self, Admin},
        sessions::{self, PendingSignIn, SessionKey, Sessions, SetCookie},
    },
    links,
    lockout::Guarded,
    password_step::{self, Signers},
    passwords::Passwords,
    throttle,
    two_step::{self, Factor, TwoStep},
};
use crate::platform::{
    audit::{self, Event},
    context::Context,
    error::ServiceError,
    mail::emails,
    metrics,
    work::Work,
};

/// The one message for every failed sign-in.
pub const SIGN_IN_FAILED: &str = "Email or password is incorrect.";

/// The longest email address (RFC 5321's path limit); longer input is refused unread.
pub const MAX_EMAIL: usize = 254;

/// A sign-in that went through: the cookies to set, and whether the second step is still to
/// come (the cookie is then a half-done sign-in's, not a session's).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedIn {
    pub cookies: Vec<SetCookie>,
    pub second_step: bool,
}

impl SignedIn {
    fn session(cookie: SetCookie) -> Self {
        Self {
            cookies: vec![cookie],
            second_step: false,
        }
    }

    fn second_step(pending: SetCookie) -> Self {
        Self {
            cookies: vec![pending],
            second_step: true,
        }
    }

    /// Where the browser goes next: `next` (a path on this site), by way of the second
    /// step's page while that is still to come.
    pub fn location(&self, next: Option<&str>) -> String {
        tally_core::redirect::after_sign_in(next, self.second_step)
    }
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

/// Sign-in, sign-out and one-time links.
#[derive(Clone)]
pub struct SignIns {
    ctx: Context,
    passwords: Passwords,
    sessions: Sessions,
    two_step: TwoStep,
}

impl SignIns {
    pub fn new(ctx: Context, passwords: Passwords, two_step: TwoStep) -> Self {
        Self {
            sessions: Sessions::new(ctx.clone()),
            ctx,
            passwords,
            two_step,
        }
    }

    /// Audits a failed sign-in (and counts it).
    async fn sign_in_failed(
        &self,
        visitor: &Visitor,
        email: &str,
        admin: Option<&Admin>,
        detail: &str,
    ) -> Result<(), ServiceError> {
        metrics::sign_in(match detail {
            "too long" => "too_long",
            "card number in email" => "card_number",
            "unknown email" => "unknown_email",
            "not active" => "inactive",
            "locked" => "locked",
            _ => "wrong_password",
        });
        audit::record(
            &self.ctx,
            Event {
                account_id: admin.map(|a| a.account_id.clone()),
                actor_id: admin.map(|a| a.id.clone()),
                actor_email: Some(email.to_string()),
                ..Event::visitor(visitor, AuditKind::SignInFailed, detail)
            },
        )
        .await
    }

    /// Checks a password with lockout and throttling ([`password_step::check_password`]),
    /// and starts a session. Every failure gets the same answer, in about the same time.
    pub async fn sign_in(
        &self,
        visitor: &Visitor,
        email: &str,
        password: &str,
    ) -> Result<SignedIn, ServiceError> {
        let admin =
            password_step::check_password(self, &self.passwords, visitor, email, password).await?;
        let pool = self.ctx.db.pool();
        // With a second step, the password only opens the door to it: its attempt is given
        // back, but the count is cleared only when the whole sign-in succeeds, so the
        // password cannot reset the count of wrong codes.
        if two_step::has_second_step(pool, &admin.id).await? {
            admins::LOCKOUT
                .refund_attempt(pool, &admin.id, self.ctx.settings.lockout_failures)
                .await?;
            let cookie = self
                .sessions
                .start_pending(&admin.id, &admin.account_id)
                .await?;
            metrics::sign_in("second_step");
            return Ok(SignedIn::second_step(cookie));
        }
        let mut work = self.ctx.begin("signing in").await?;
        admins::LOCKOUT
            .clear_failures(work.tx(), &admin.id, false)
            .await?;
        let event = event_of(&admin, visitor, AuditKind::SignIn, "");
        let cookie = self.start_session(work, &admin, visitor, event).await?;
        metrics::sign_in("session");
        Ok(SignedIn::session(cookie))
    }

    /// Checks a second step or (for someone without one) a password for `admin`; wrong ones
    /// count toward the same lockout as wrong passwords, and wrong second steps also toward
    /// the second-step count (see [`lockout::Guarded::reserve_second_step`](super::lockout::Guarded::reserve_second_step)): its owner is emailed at
    /// the 5th, and at the 20th the second step closes. The factor used, or `None`.
    async fn check_proof(
        &self,
        admin: &Admin,
        proof: &Proof,
        allow_password: bool,
    ) -> Result<Option<Factor>, ServiceError> {
        let pool = self.ctx.db.pool();
        if !admins::LOCKOUT.reserve(&self.ctx, &admin.id).await? {
            return Ok(None);
        }
        let second_factor = !matches!(proof, Proof::Password(_));
        let counted = if second_factor {
            let n = admins::LOCKOUT
                .reserve_second_step(pool, &admin.id, two_step::CLOSED_AFTER_FAILURES)
                .await?;
            Some(n.ok_or_else(two_step::closed)?)
        } else {
            None
        };
        let factor = match proof {
            Proof::Code(_) | Proof::Passkey { .. } => {
                self.two_step
                    .check_second_factor(&admin.id, &admin.email, proof)
                    .await?
            }
            Proof::Password(password) if allow_password => {
                if password.chars().count() > password::MAX_PASSWORD_CHARS {
                    None
                } else {
                    match &admin.password_hash {
                        Some(h) if self.passwords.verify(password, h).await? => {
                            Some(Factor::Password)
                        }
                        _ => None,
                    }
                }
            }
            Proof::Password(_) => None,
        };
        match (&factor, counted) {
            (Some(_), _) => {
                admins::LOCKOUT
                    .clear_failures(pool, &admin.id, second_factor)
                    .await?;
            }
            (None, Some(failures)) => self.two_step.told_failures(admin, failures).await?,
            (None, None) => {}
        }
        Ok(factor)
    }

    /// Who a proof is for: an active administrator, else the caller is not signed in.
    async fn proof_target(&self, admin_id: &str) -> Result<Admin, ServiceError> {
        admins::by_id(self.ctx.db.pool(), admin_id)
            .await?
            .filter(|a| a.status == AdminStatus::Active)
            .ok_or(ServiceError::Unauthenticated)
    }

    /// The second step of a sign-in: an authenticator code, a recovery code or a passkey.
    /// Ends the half-done sign-in and starts a session; wrong codes count toward the lockout.
    pub async fn second_step(
        &self,
        visitor: &Visitor,
        pending: &PendingSignIn,
        proof: &Proof,
    ) -> Result<SignedIn, ServiceError> {
        throttle::sign_in_address(&self.ctx, visitor).await?;
        let admin = self.proof_target(&pending.admin_id).await?;
        let Some(factor) = self.check_proof(&admin, proof, false).await? else {
            let event = event_of(
                &admin,
                visitor,
                AuditKind::SecondStepFailed,
                "wrong code or passkey",
            );
            audit::record(&self.ctx, event).await?;
            return Err(ServiceError::field(
                "code",
                "That didn't work. Check the code (or use a recovery code) and try again.",
            ));
        };
        let mut work = self.ctx.begin("signing in").await?;
        self.sessions.end_pending(work.tx(), &pending.hash).await?;
        let detail = format!("second step: {}", factor.describe());
        let event = event_of(&admin, visitor, AuditKind::SignIn, detail);
        let cookie = self.start_session(work, &admin, visitor, event).await?;
        if let Factor::RecoveryCode(left) = factor {
            let actor = acting_as(&admin, visitor);
            self.two_step.told_recovery_code_used(&actor, left).await?;
        }
        Ok(SignedIn {
            cookies: vec![cookie, self.sessions.clear_pending_cookie()],
            second_step: false,
        })
    }

    /// Starts a passkey proof for a half-done sign-in.
    pub async fn second_step_passkey_options(
        &self,
        visitor: &Visitor,
        pending: &PendingSignIn,
    ) -> Result<PasskeyRequest, ServiceError> {
        throttle::sign_in_address(&self.ctx, visitor).await?;
        self.two_step
            .start_passkey_authentication(&pending.admin_id)
            .await
    }

    /// "Confirm it's you": a second step, or the password for someone without one, makes the
    /// session fresh for the changes that need it. Wrong ones count toward the lockout.
    pub async fn confirm(
        &self,
        actor: &Actor,
        session: &SessionKey,
        proof: &Proof,
    ) -> Result<(), ServiceError> {
        let admin = self.proof_target(&actor.id).await?;
        let has_second = two_step::has_second_step(self.ctx.db.pool(), &actor.id).await?;
        let Some(factor) = self.check_proof(&admin, proof, !has_second).await? else {
            let field = if has_second { "code" } else { "password" };
            return Err(ServiceError::field(field, "That didn't work. Try again."));
        };
        self.sessions.verified(&session.0).await?;
        if let Factor::RecoveryCode(left) = factor {
            self.two_step.told_recovery_code_used(actor, left).await?;
        }
        Ok(())
    }

    /// Starts "confirm it's you" with one of the caller's passkeys.
    pub async fn confirm_passkey_options(
        &self,
        actor: &Actor,
    ) -> Result<PasskeyRequest, ServiceError> {
        let visitor = Visitor {
            ip: actor.ip.clone(),
        };
        throttle::sign_in_address(&self.ctx, &visitor).await?;
        self.two_step.start_passkey_authentication(&actor.id).await
    }

    /// How every successful sign-in ends (password, set-up, link, password change): record
    /// `event`, start a session for `admin`, commit — all in `work`, the sign-in's unit of
    /// work.
    pub async fn start_session(
        &self,
        work: Work,
        admin: &Admin,
        visitor: &Visitor,
        event: Event,
    ) -> Result<SetCookie, ServiceError> {
        self.replace_session(work, admin, visitor, event, None)
            .await
    }

    /// Like [`SignIns::start_session`], for a session that replaces one proven at
    /// `verified_at` (a password change): the new one is no fresher.
    pub async fn replace_session(
        &self,
        mut work: Work,
        admin: &Admin,
        visitor: &Visitor,
        event: Event,
        verified_at: Option<i64>,
    ) -> Result<SetCookie, ServiceError> {
        work.audit(event);
        let cookie = self
            .sessions
            .start_verified_at(
                work.tx(),
                &admin.id,
                &admin.account_id,
                visitor.ip.as_deref(),
                verified_at,
            )
            .await?;
        work.commit().await?;
        Ok(cookie)
    }

    /// Ends one session and audits it; returns the cookie that clears it. The cookie goes
    /// even when the database does not answer: signing out always ends the browser's session.
    pub async fn sign_out(&self, actor: &Actor, session: &SessionKey) -> SetCookie {
        let ended = async {
            self.sessions.end(&session.0).await?;
            audit::record(&self.ctx, Event::own(actor, AuditKind::SignOut, "")).await
        };
        if let Err(e) = ended.await {
            crate::platform::error::log_unexpected("signing out", &e);
        }
        self.sessions.clear_cookie()
    }

    /// "Sign out other sessions": ends every session of the caller but this one, and any
    /// half-done sign-in of theirs; audited. How many sessions ended.
    pub async fn sign_out_others(&self, actor: &Actor) -> Result<u64, ServiceError> {
        let mut work = self.ctx.begin("signing out other sessions").await?;
        let ended = sessions::end_others(work.tx(), &actor.id, &actor.session).await?;
        let detail = match ended {
            1 => "1 other session ended".to_string(),
            n => format!("{n} other sessions ended"),
        };
        work.audit(Event::own(actor, AuditKind::SignOut, detail));
        work.commit().await?;
        Ok(ended)
    }

    /// Emails a reset link if the address belongs to an active administrator; answers the
    /// same, in the same time, otherwise: the link and its email are saved and the outbox
    /// worker delivers it, so no answer waits on the mail server. Throttled per network and
    /// per address, so nobody can flood a person with reset emails.
    pub async fn request_reset(&self, visitor: &Visitor, email: &str) -> Result<(), ServiceError> {
        if let Some(ip) = &visitor.ip {
            throttle::check(&self.ctx, throttle::RESET_PER_IP, &throttle::network(ip)).await?;
        }
        let email = Email::parse(email).map_err(|e| ServiceError::field("email", e))?;
        throttle::check(
            &self.ctx,
            throttle::RESET_PER_ADDRESS,
            &email.normalized_key(),
        )
        .await?;
        let target = admins::by_email(self.ctx.db.pool(), email.as_str())
            .await?
            .filter(|a| a.status == AdminStatus::Active);
        let Some(target) = target else {
            // Same answer, same audit shape; nothing is sent.
            return audit::record(
                &self.ctx,
                Event {
                    actor_email: Some(email.to_string()),
                    ..Event::visitor(
                        visitor,
                        AuditKind::PasswordResetRequested,
                        "no active administrator with this address",
                    )
                },
            )
            .await;
        };
        let minutes = self.ctx.settings.reset_minutes;
        let mut work = self.ctx.begin("requesting a reset").await?;
        let url = links::issue(
            &self.ctx,
            work.tx(),
            LinkKind::Reset,
            &target.id,
            &target.account_id,
            minutes,
        )
        .await?;
        work.audit(event_of(
            &target,
            visitor,
            AuditKind::PasswordResetRequested,
            "",
        ));
        work.mail(emails::password_reset(&target.email, &url, minutes));
        work.commit_queued().await?.wake_worker();
        Ok(())
    }

    /// What a link is worth, without using it.
    pub async fn inspect_link(
        &self,
        kind: LinkKind,
        token: &str,
    ) -> Result<LinkInfo, ServiceError> {
        let pool = self.ctx.db.pool();
        let Some(link) = links::find(pool, kind, token).await? else {
            return Ok(LinkInfo {
                state: LinkState::Unknown,
                email: None,
                first_name: None,
            });
        };
        let state = link.state(self.ctx.now());
        let admin = match state {
            LinkState::Valid => admins::by_id(pool, &link.admin_id).await?,
            _ => None,
        };
        Ok(LinkInfo {
            state,
            email: admin.as_ref().map(|a| a.email.clone()),
            first_name: admin.map(|a| a.first_name),
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
        let pool = self.ctx.db.pool();
        // Checked before the transaction: hashing takes a while and holds no lock.
        let link = links::find(pool, kind, token).await?.ok_or_else(gone)?;
        let admin = admins::by_id(pool, &link.admin_id)
            .await?
            .ok_or_else(gone)?;
        let now = self.ctx.now();
        if link.state(now) != LinkState::Valid || admin.status == AdminStatus::Suspended {
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
        let known = [
            admin.email.as_str(),
            admin.first_name.as_str(),
            admin.last_name.as_str(),
        ];
        self.passwords
            .strength(new_password, &known)
            .await?
            .verdict
            .map_err(|e| ServiceError::field("password", e))?;
        let hash = self.passwords.hash(new_password).await?;
        let mut work = self.ctx.begin("using a link").await?;
        if !links::claim(work.tx(), token, now).await? {
            return Err(gone());
        }
        // Never reactivates someone suspended meanwhile: the update is conditional on the
        // status as it is now, not as it was read above.
        if !admins::set_password_from_link(work.tx(), &admin.id, &hash, now).await? {
            return Err(gone());
        }
        // A new password ends every session the old one opened, and every other reset link.
        sessions::end_all(work.tx(), &admin.id).await?;
        links::end_resets(work.tx(), &admin.id, now).await?;
        let audit_kind = match kind {
            LinkKind::Invitation => AuditKind::InvitationAccepted,
            LinkKind::Reset => AuditKind::PasswordReset,
        };
        let event = event_of(&admin, visitor, audit_kind, "");
        if kind == LinkKind::Reset {
            work.mail(emails::password_changed(&admin.email, "with a reset link"));
        }
        if two_step::has_second_step(work.tx(), &admin.id).await? {
            work.audit(event);
            work.commit().await?;
            let cookie = self
                .sessions
                .start_pending(&admin.id, &admin.account_id)
                .await?;
            return Ok(SignedIn::second_step(cookie));
        }
        let cookie = self.start_session(work, &admin, visitor, event).await?;
        Ok(SignedIn::session(cookie))
    }
}

impl Signers for SignIns {
    type Who = Admin;
    const LOCKOUT: Guarded = admins::LOCKOUT;
    const SCOPE: &'static str = throttle::SIGN_IN_PER_ADDRESS.scope;

    fn context(&self) -> &Context {
        &self.ctx
    }

    async fn find(&self, email: &str) -> Result<Option<Admin>, ServiceError> {
        admins::by_email(self.ctx.db.pool(), email).await
    }

    fn id(admin: &Admin) -> &str {
        &admin.id
    }

    fn active_hash(admin: &Admin) -> Option<String> {
        admin
            .password_hash
            .clone()
            .filter(|_| admin.status == AdminStatus::Active)
    }

    async fn failed(
        &self,
        visitor: &Visitor,
        email: &str,
        admin: Option<&Admin>,
        detail: &str,
    ) -> Result<(), ServiceError> {
        self.sign_in_failed(visitor, email, admin, detail).await
    }
}

/// The event of `admin` doing `kind` from the visitor's address.
pub fn event_of(
    admin: &Admin,
    visitor: &Visitor,
    kind: AuditKind,
    detail: impl Into<String>,
) -> Event {
    Event {
        account_id: Some(admin.account_id.clone()),
        actor_id: Some(admin.id.clone()),
        actor_email: Some(admin.email.clone()),
        ..Event::visitor(visitor, kind, detail)
    }
}

/// An administrator found by a sign-in, as the one acting (for what they are told).
fn acting_as(admin: &Admin, visitor: &Visitor) -> Actor {
    Actor {
        id: admin.id.clone(),
        account_id: admin.account_id.clone(),
        account_name: String::new(),
        email: admin.email.clone(),
        first_name: admin.first_name.clone(),
        last_name: admin.last_name.clone(),
        role: admin.role,
        account_past_due: false,
        account_status: tally_core::account_status::AccountStatus::Active,
        must_set_up_two_step: false,
        ip: visitor.ip.clone(),
        verified_at: 0,
        session: String::new(),
    }
}
