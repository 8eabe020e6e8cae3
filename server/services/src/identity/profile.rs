//! One's own account settings: name and password.

use tally_core::{
    actor::{Actor, Visitor},
    audit::AuditKind,
    forms::{FieldErrors, NameInput},
    password,
};

use super::{
    accounts::{admins, sessions},
    links,
    passwords::Passwords,
    sign_in::{SignIns, SignedIn},
    throttle, two_step,
};
use crate::platform::{audit::Event, context::Context, error::ServiceError, mail::emails};

/// The signed-in administrator's own settings.
#[derive(Clone)]
pub struct Profile {
    ctx: Context,
    passwords: Passwords,
    sign_ins: SignIns,
}

impl Profile {
    pub fn new(ctx: Context, passwords: Passwords, sign_ins: SignIns) -> Self {
        Self {
            ctx,
            passwords,
            sign_ins,
        }
    }

    /// The password rule's verdict on a candidate, for the strength meter (also before
    /// sign-in: set-up, invitation and reset pages). Throttled per client address, run on the
    /// password threads; `known_words` are the person's own details.
    pub async fn check_password(
        &self,
        visitor: &Visitor,
        candidate: &str,
        known_words: &[&str],
    ) -> Result<password::Strength, ServiceError> {
        if let Some(ip) = &visitor.ip {
            throttle::check(
                &self.ctx,
                throttle::CHECK_PASSWORD_PER_IP,
                &throttle::network(ip),
            )
            .await?;
        }
        self.passwords.strength(candidate, known_words).await
    }

    /// Changes one's own password (the current one required); ends every session, this one
    /// included, and starts a new one.
    pub async fn change_password(
        &self,
        actor: &Actor,
        current: &str,
        new: &str,
    ) -> Result<SignedIn, ServiceError> {
        throttle::check(&self.ctx, throttle::PASSWORD_CHANGE_PER_ADMIN, &actor.id).await?;
        // The current password proves nothing the session's holder may not know (a browser
        // remembers it): with a second step, that proof is asked for too, as for every
        // sensitive change.
        if two_step::has_second_step(self.ctx.db.pool(), &actor.id).await? {
            self.ctx.require_fresh(actor)?;
        }
        // Nobody's password is longer: refused before the slow check of the current one.
        if current.chars().count() > password::MAX_PASSWORD_CHARS {
            return Err(ServiceError::field(
                "current_password",
                "Your current password is incorrect.",
            ));
        }
        let known = [
            actor.email.as_str(),
            actor.first_name.as_str(),
            actor.last_name.as_str(),
        ];
        let strength = self.passwords.strength(new, &known).await?;
        strength
            .verdict
            .clone()
            .map_err(|e| ServiceError::field("new_password", e))?;
        let admin = admins::in_account(self.ctx.db.pool(), &actor.account_id, &actor.id).await?;
        let mut errors = FieldErrors::new();
        let matches = match &admin.password_hash {
            Some(h) => self.passwords.verify(current, h).await?,
            None => false,
        };
        if !matches {
            errors.add("current_password", "Your current password is incorrect.");
        }
        errors.check("new_password", strength.verdict);
        ServiceError::unless_any(errors)?;
        let new_hash = self.passwords.hash(new).await?;
        let mut work = self.ctx.begin("changing a password").await?;
        let now = work.now();
        admins::set_password(work.tx(), &actor.id, &new_hash, now).await?;
        sessions::end_all(work.tx(), &actor.id).await?;
        links::end_resets(work.tx(), &actor.id, now).await?;
        let event = Event::own(actor, AuditKind::PasswordChanged, "every session ended");
        let visitor = Visitor {
            ip: actor.ip.clone(),
        };
        work.mail(emails::password_changed(
            &admin.email,
            "in Account settings",
        ));
        // The replacement session is no fresher than the one the change was made in.
        let cookie = self
            .sign_ins
            .replace_session(work, &admin, &visitor, event, Some(actor.verified_at))
            .await?;
        Ok(SignedIn {
            cookies: vec![cookie],
            second_step: false,
        })
    }

    /// Changes one's own name.
    pub async fn update_name(
        &self,
        actor: &Actor,
        first_name: &str,
        last_name: &str,
    ) -> Result<(), ServiceError> {
        let (first, last) = NameInput {
            first_name: first_name.to_string(),
            last_name: last_name.to_string(),
        }
        .parse()
        .map_err(ServiceError::Invalid)?;
        let mut work = self.ctx.begin("renaming oneself").await?;
        let now = work.now();
        admins::set_name(work.tx(), &actor.account_id, &actor.id, &first, &last, now).await?;
        work.audit(Event::own(
            actor,
            AuditKind::NameChanged,
            format!("{} → {first} {last}", actor.full_name()),
        ));
        work.commit().await
    }
}
