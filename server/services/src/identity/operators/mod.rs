//! The seller's staff (owner of `operators`, `operator_sessions` and
//! `operator_pending_sign_ins`): operators, their sign-in and their sessions. An operator is
//! not an administrator of any customer account — a table, a cookie, a sign-in and roles of
//! their own (`tally_core::operators`) — and a second step is mandatory for them: until they
//! have one, setting it up is all their session allows. The sign-in follows the customers'
//! rules (docs/security.md): the same throttles, lockout and second-step count, with the same
//! factors (`two_step`, under the operator's id).

pub mod invitations;
pub mod rows;
pub mod sessions;

use tally_core::{
    actor::{OperatorActor, Visitor},
    audit::AuditKind,
    contact::Email,
    forms::NameInput,
    operators::OperatorRole,
    password,
    roles::AdminStatus,
    views::{
        account::{LinkInfo, LinkState},
        two_step::PasskeyRequest,
    },
};

use self::{
    rows::{NewOperatorRow, Operator},
    sessions::{OperatorSessionKey, OperatorSessions, PendingOperatorSignIn},
};
use super::{
    accounts::sessions::SetCookie,
    lockout::Guarded,
    password_step::{self, Signers},
    passwords::Passwords,
    sign_in::{Proof, SignedIn},
    throttle,
    two_step::{self, Factor, TwoStep},
};
use crate::platform::{
    audit::{self, Event},
    context::Context,
    error::ServiceError,
    work::Work,
};

/// Operators: adding them, signing them in and out.
#[derive(Clone)]
pub struct Operators {
    ctx: Context,
    passwords: Passwords,
    two_step: TwoStep,
    pub sessions: OperatorSessions,
}

/// What a new operator is: checked by core's rules.
pub struct NewOperator<'a> {
    pub email: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub role: OperatorRole,
}

impl Operators {
    pub fn new(ctx: Context, passwords: Passwords, two_step: TwoStep) -> Self {
        Self {
            sessions: OperatorSessions::new(ctx.clone()),
            ctx,
            passwords,
            two_step,
        }
    }

    /// Adds an active operator with `password` in `work` (set-up's first Owner, the demo):
    /// the address, the names and the password are held to core's rules; the password is
    /// hashed before. Returns the operator's id; an address another operator has is refused
    /// beside the email field.
    pub async fn add_with_password(
        &self,
        work: &mut Work,
        new: &NewOperator<'_>,
        password_hash: &str,
    ) -> Result<String, ServiceError> {
        let email = Email::parse(new.email).map_err(|e| ServiceError::field("email", e))?;
        let (first, last) = NameInput {
            first_name: new.first_name.to_string(),
            last_name: new.last_name.to_string(),
        }
        .parse()
        .map_err(ServiceError::Invalid)?;
        let id = self.ctx.new_id();
        let now = work.now();
        let row = NewOperatorRow {
            id: &id,
            email: &email,
            first_name: &first,
            last_name: &last,
            role: new.role,
            password_hash: Some(password_hash),
            now,
        };
        if !rows::insert(work.tx(), &row).await? {
            return Err(ServiceError::field(
                "email",
                "Another operator already uses this email address.",
            ));
        }
        work.audit(Event {
            actor_id: Some(id.clone()),
            actor_email: Some(email.to_string()),
            target: Some(email.to_string()),
            detail: format!("role {}", new.role.display_name()),
            ..Event::new(AuditKind::OperatorAdded)
        });
        Ok(id)
    }

    /// Whether `password` may be a new operator's: the rule, with their own details counting
    /// against it. The message when it may not.
    pub async fn password_verdict(
        &self,
        new: &NewOperator<'_>,
        password: &str,
    ) -> Result<Result<(), String>, ServiceError> {
        if password.chars().count() > password::MAX_PASSWORD_CHARS {
            return Ok(Err(format!(
                "Passwords can be at most {} characters.",
                password::MAX_PASSWORD_CHARS
            )));
        }
        let known = [new.email, new.first_name, new.last_name];
        Ok(self
            .passwords
            .strength(password, &known)
            .await?
            .verdict
            .map_err(|e| e.to_string()))
    }

    /// Hashes a new operator's password after checking it with the rule.
    pub async fn hash_new_password(
        &self,
        new: &NewOperator<'_>,
        password: &str,
    ) -> Result<String, ServiceError> {
        self.password_verdict(new, password)
            .await?
            .map_err(|e| ServiceError::field("password", e))?;
        self.hash_checked_password(password).await
    }

    /// Hashes a password [`Self::password_verdict`] has passed.
    pub async fn hash_checked_password(&self, password: &str) -> Result<String, ServiceError> {
        self.passwords.hash(password).await
    }

    /// Adds an invited operator (no password yet) and their invitation link in `work`; the
    /// operator's id and the link's URL. An address another operator has is refused beside
    /// the email field.
    pub async fn add_invited(
        &self,
        work: &mut Work,
        new: &tally_core::operators::NewOperator,
    ) -> Result<(String, String), ServiceError> {
        let id = self.ctx.new_id();
        let row = NewOperatorRow {
            id: &id,
            email: &new.email,
            first_name: &new.first_name,
            last_name: &new.last_name,
            role: new.role,
            password_hash: None,
            now: work.now(),
        };
        if !rows::insert(work.tx(), &row).await? {
            return Err(ServiceError::field(
                "email",
                "Another operator already uses this email address.",
            ));
        }
        let url = invitations::issue(&self.ctx, work.tx(), &id).await?;
        Ok((id, url))
    }

    /// What an operator's invitation link is worth, without using it.
    pub async fn inspect_invitation(&self, token: &str) -> Result<LinkInfo, ServiceError> {
        let pool = self.ctx.db.pool();
        let Some(link) = invitations::find(pool, token).await? else {
            return Ok(LinkInfo {
                state: LinkState::Unknown,
                email: None,
                first_name: None,
            });
        };
        let state = link.state(self.ctx.now());
        let operator = match state {
            LinkState::Valid => rows::by_id(pool, &link.operator_id)
                .await?
                .filter(|o| o.status == AdminStatus::Invited),
            _ => None,
        };
        Ok(LinkInfo {
            state: if state == LinkState::Valid && operator.is_none() {
                LinkState::Used
            } else {
                state
            },
            email: operator.as_ref().map(|o| o.email.clone()),
            first_name: operator.map(|o| o.first_name),
        })
    }

    /// Uses an invitation to set the operator's password (held to the rule, with their own
    /// details counting against it) and signs them in to a session that may only set up their
    /// second step, mandatory for operators.
    pub async fn accept_invitation(
        &self,
        visitor: &Visitor,
        token: &str,
        password: &str,
    ) -> Result<SignedIn, ServiceError> {
        let gone = || {
            ServiceError::Conflict(
                "This link is no longer valid. Ask the Owner who invited you to send the invitation again."
                    .into(),
            )
        };
        let pool = self.ctx.db.pool();
        // Read before the transaction: hashing takes a while and holds no lock.
        let link = invitations::find(pool, token).await?.ok_or_else(gone)?;
        let operator = rows::by_id(pool, &link.operator_id)
            .await?
            .ok_or_else(gone)?;
        let now = self.ctx.now();
        if link.state(now) != LinkState::Valid || operator.status != AdminStatus::Invited {
            return Err(gone());
        }
        let new = NewOperator {
            email: &operator.email,
            first_name: &operator.first_name,
            last_name: &operator.last_name,
            role: operator.role,
        };
        let hash = self.hash_new_password(&new, password).await?;
        let mut work = self.ctx.begin("accepting an operator's invitation").await?;
        // Both conditional on the state as it is now: single use, and never reactivating an
        // operator suspended meanwhile.
        if !invitations::claim(work.tx(), token, now).await?
            || !rows::accept(work.tx(), &operator.id, &hash, now).await?
        {
            return Err(gone());
        }
        work.audit(Event {
            actor_id: Some(operator.id.clone()),
            actor_email: Some(operator.email.clone()),
            target: Some(operator.email.clone()),
            ..Event::visitor(visitor, AuditKind::InvitationAccepted, "operator")
        });
        let cookie = self
            .sessions
            .start(work.tx(), &operator.id, visitor.ip.as_deref(), None)
            .await?;
        work.commit().await?;
        Ok(SignedIn {
            cookies: vec![cookie],
            second_step: false,
        })
    }

    /// Audits a failed operator sign-in (no account's: the seller's).
    async fn sign_in_failed(
        &self,
        visitor: &Visitor,
        email: &str,
        operator: Option<&Operator>,
        detail: &str,
    ) -> Result<(), ServiceError> {
        audit::record(
            &self.ctx,
            Event {
                actor_id: operator.map(|o| o.id.clone()),
                actor_email: Some(email.to_string()),
                ..Event::visitor(
                    visitor,
                    AuditKind::SignInFailed,
                    format!("operator: {detail}"),
                )
            },
        )
        .await
    }

    /// An operator's sign-in: the same throttles, lockout and single message as the
    /// customers'. With a second step the password opens only the second step; without one
    /// (a new operator) the session may only set one up.
    pub async fn sign_in(
        &self,
        visitor: &Visitor,
        email: &str,
        password: &str,
    ) -> Result<SignedIn, ServiceError> {
        let operator =
            password_step::check_password(self, &self.passwords, visitor, email, password).await?;
        let pool = self.ctx.db.pool();
        let settings = &self.ctx.settings;
        if two_step::has_second_step(pool, &operator.id).await? {
            rows::LOCKOUT
                .refund_attempt(pool, &operator.id, settings.lockout_failures)
                .await?;
            let cookie = self.sessions.start_pending(&operator.id).await?;
            return Ok(SignedIn {
                cookies: vec![cookie],
                second_step: true,
            });
        }
        let mut work = self.ctx.begin("signing an operator in").await?;
        rows::LOCKOUT
            .clear_failures(work.tx(), &operator.id, false)
            .await?;
        work.audit(self.signed_in_event(&operator, visitor, "password; second step to set up"));
        let cookie = self
            .sessions
            .start(work.tx(), &operator.id, visitor.ip.as_deref(), None)
            .await?;
        work.commit().await?;
        Ok(SignedIn {
            cookies: vec![cookie],
            second_step: false,
        })
    }

    fn signed_in_event(&self, operator: &Operator, visitor: &Visitor, detail: &str) -> Event {
        Event {
            actor_id: Some(operator.id.clone()),
            actor_email: Some(operator.email.clone()),
            ..Event::visitor(visitor, AuditKind::SignIn, format!("operator: {detail}"))
        }
    }

    /// Checks an operator's second factor, counted as the customers' are: the lockout, and
    /// the second step's own count (the owner told at 5, closed at 20). The factor, or the
    /// refusal to give.
    async fn check_second_step(
        &self,
        visitor: &Visitor,
        operator: &Operator,
        proof: &Proof,
    ) -> Result<Factor, ServiceError> {
        let pool = self.ctx.db.pool();
        let wrong = || {
            ServiceError::field(
                "code",
                "That didn't work. Check the code (or use a recovery code) and try again.",
            )
        };
        if !rows::LOCKOUT.reserve(&self.ctx, &operator.id).await? {
            return Err(wrong());
        }
        let Some(failures) = rows::LOCKOUT
            .reserve_second_step(pool, &operator.id, two_step::CLOSED_AFTER_FAILURES)
            .await?
        else {
            return Err(two_step::closed());
        };
        let factor = self
            .two_step
            .check_second_factor(&operator.id, &operator.email, proof)
            .await?;
        match factor {
            Some(factor) => {
                rows::LOCKOUT
                    .clear_failures(pool, &operator.id, true)
                    .await?;
                Ok(factor)
            }
            None => {
                let event = Event {
                    actor_id: Some(operator.id.clone()),
                    actor_email: Some(operator.email.clone()),
                    ..Event::visitor(
                        visitor,
                        AuditKind::SecondStepFailed,
                        "operator: wrong code or passkey",
                    )
                };
                audit::record(&self.ctx, event).await?;
                self.two_step
                    .told_failures_of(&operator.email, None, &operator.id, failures)
                    .await?;
                Err(wrong())
            }
        }
    }

    /// An active operator by id, else the caller is not signed in.
    async fn active(&self, id: &str) -> Result<Operator, ServiceError> {
        rows::by_id(self.ctx.db.pool(), id)
            .await?
            .filter(|o| o.status == AdminStatus::Active)
            .ok_or(ServiceError::Unauthenticated)
    }

    /// "Confirm it's you" for an operator: a second step makes the session fresh for the
    /// changes that need it.
    pub async fn confirm(
        &self,
        operator: &OperatorActor,
        proof: &Proof,
    ) -> Result<(), ServiceError> {
        let visitor = Visitor {
            ip: operator.ip.clone(),
        };
        throttle::sign_in_address(&self.ctx, &visitor).await?;
        let row = self.active(&operator.id).await?;
        let factor = self.check_second_step(&visitor, &row, proof).await?;
        self.sessions.verified(&operator.session).await?;
        if let Factor::RecoveryCode(left) = factor {
            let what = format!("A recovery code was used to confirm it's you; {left} are left.");
            self.two_step
                .tell_operator(&row.email, &row.id, &what)
                .await?;
        }
        Ok(())
    }

    /// Starts an operator's second step with a passkey.
    pub async fn second_step_passkey_options(
        &self,
        visitor: &Visitor,
        pending: &PendingOperatorSignIn,
    ) -> Result<PasskeyRequest, ServiceError> {
        throttle::sign_in_address(&self.ctx, visitor).await?;
        self.two_step
            .start_passkey_authentication(&pending.operator_id)
            .await
    }

    /// Starts "confirm it's you" with a passkey, for an operator.
    pub async fn confirm_passkey_options(
        &self,
        operator: &OperatorActor,
    ) -> Result<PasskeyRequest, ServiceError> {
        let visitor = Visitor {
            ip: operator.ip.clone(),
        };
        throttle::sign_in_address(&self.ctx, &visitor).await?;
        self.two_step
            .start_passkey_authentication(&operator.id)
            .await
    }

    /// An operator's second step: a code (app or recovery) or a passkey, counted as the
    /// customers' are (the lockout, and the second step's own count that closes it at 20).
    pub async fn second_step(
        &self,
        visitor: &Visitor,
        pending: &PendingOperatorSignIn,
        proof: &Proof,
    ) -> Result<SignedIn, ServiceError> {
        throttle::sign_in_address(&self.ctx, visitor).await?;
        let operator = self.active(&pending.operator_id).await?;
        let factor = self.check_second_step(visitor, &operator, proof).await?;
        let mut work = self.ctx.begin("signing an operator in").await?;
        sessions::end_pending(work.tx(), &pending.hash).await?;
        let detail = format!("second step: {}", factor.describe());
        work.audit(self.signed_in_event(&operator, visitor, &detail));
        let cookie = self
            .sessions
            .start(work.tx(), &operator.id, visitor.ip.as_deref(), None)
            .await?;
        work.commit().await?;
        if let Factor::RecoveryCode(left) = factor {
            let what = format!("A recovery code was used to sign in; {left} are left.");
            self.two_step
                .tell_operator(&operator.email, &operator.id, &what)
                .await?;
        }
        Ok(SignedIn {
            cookies: vec![cookie, self.sessions.clear_pending_cookie()],
            second_step: false,
        })
    }

    /// Ends an operator's session; the cookie that clears it goes whatever the database says.
    pub async fn sign_out(
        &self,
        operator: &OperatorActor,
        session: &OperatorSessionKey,
    ) -> SetCookie {
        let ended = async {
            self.sessions.end(&session.0).await?;
            audit::record(
                &self.ctx,
                Event::by_operator(
                    operator,
                    AuditKind::SignOut,
                    operator.email.as_str(),
                    "operator",
                ),
            )
            .await
        };
        if let Err(e) = ended.await {
            crate::platform::error::log_unexpected("signing an operator out", &e);
        }
        self.sessions.clear_cookie()
    }
}

impl Signers for Operators {
    type Who = Operator;
    const LOCKOUT: Guarded = rows::LOCKOUT;
    const SCOPE: &'static str = "operator_sign_in_address";

    fn context(&self) -> &Context {
        &self.ctx
    }

    async fn find(&self, email: &str) -> Result<Option<Operator>, ServiceError> {
        rows::by_email(self.ctx.db.pool(), email).await
    }

    fn id(operator: &Operator) -> &str {
        &operator.id
    }

    fn active_hash(operator: &Operator) -> Option<String> {
        operator
            .password_hash
            .clone()
            .filter(|_| operator.status == AdminStatus::Active)
    }

    async fn failed(
        &self,
        visitor: &Visitor,
        email: &str,
        operator: Option<&Operator>,
        detail: &str,
    ) -> Result<(), ServiceError> {
        self.sign_in_failed(visitor, email, operator, detail).await
    }
}
