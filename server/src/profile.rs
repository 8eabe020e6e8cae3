//! One's own account settings: name and password.

use tally_core::{
    audit::AuditKind,
    forms::{FieldErrors, NameInput},
    password,
};

use crate::{
    actor::Actor,
    audit::{record, Event},
    auth::{
        links,
        sessions::{self, SetCookie},
        Auth,
    },
    context::Context,
    error::{Context as _, ServiceError},
    throttle,
};

/// The signed-in administrator's own settings.
#[derive(Clone)]
pub struct Profile {
    ctx: Context,
    auth: Auth,
}

impl Profile {
    pub fn new(ctx: Context, auth: Auth) -> Self {
        Self { ctx, auth }
    }

    /// Changes one's own password (the current one required); ends every session, this one
    /// included, and starts a new one.
    pub async fn change_password(
        &self,
        actor: &Actor,
        current: &str,
        new: &str,
    ) -> Result<SetCookie, ServiceError> {
        throttle::check(&self.ctx, throttle::PASSWORD_CHANGE_PER_ADMIN, &actor.id).await?;
        // Nobody's password is longer: refused before the slow check of the current one.
        if current.chars().count() > password::MAX_PASSWORD_CHARS {
            return Err(ServiceError::field(
                "current_password",
                "Your current password is incorrect.",
            ));
        }
        password::strength(new, &[&actor.email, &actor.first_name, &actor.last_name])
            .verdict
            .map_err(|e| ServiceError::field("new_password", e))?;
        let hash: Option<String> = sqlx::query_scalar(
            "SELECT password_hash FROM admins WHERE id = $1 AND account_id = $2",
        )
        .bind(&actor.id)
        .bind(&actor.account_id)
        .fetch_optional(self.ctx.db.pool())
        .await
        .context("reading a password hash")?
        .flatten();
        let mut errors = FieldErrors::new();
        let matches = match hash {
            Some(h) => self.ctx.passwords.verify(current, &h).await?,
            None => false,
        };
        if !matches {
            errors.add("current_password", "Your current password is incorrect.");
        }
        errors.check(
            "new_password",
            password::strength(new, &[&actor.email, &actor.first_name, &actor.last_name]).verdict,
        );
        ServiceError::unless_any(errors)?;
        let new_hash = self.ctx.passwords.hash(new).await?;
        let now = self.ctx.now();
        let mut tx = self
            .ctx
            .db
            .pool()
            .begin()
            .await
            .context("changing a password")?;
        crate::admins::set_password(&mut *tx, &actor.id, &new_hash, now).await?;
        sessions::end_all(&mut *tx, &actor.id).await?;
        links::end_resets(&mut *tx, &actor.id, now).await?;
        let event = Event {
            account_id: Some(&actor.account_id),
            actor_id: Some(&actor.id),
            actor_email: Some(&actor.email),
            ip: actor.ip.as_deref(),
            detail: "every session ended".into(),
            ..Default::default()
        };
        self.auth
            .finish_sign_in(tx, AuditKind::PasswordChanged, event)
            .await
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
        let now = self.ctx.now();
        let mut tx = self
            .ctx
            .db
            .pool()
            .begin()
            .await
            .context("renaming oneself")?;
        sqlx::query(
            "UPDATE admins SET first_name = $1, last_name = $2, updated_at = $3 WHERE id = $4 AND account_id = $5",
        )
        .bind(&first)
        .bind(&last)
        .bind(now)
        .bind(&actor.id)
        .bind(&actor.account_id)
        .execute(&mut *tx)
        .await
        .context("saving one's own name")?;
        record(
            &mut *tx,
            now,
            AuditKind::NameChanged,
            Event {
                account_id: Some(&actor.account_id),
                actor_id: Some(&actor.id),
                actor_email: Some(&actor.email),
                ip: actor.ip.as_deref(),
                detail: format!("{} → {first} {last}", actor.full_name()),
                ..Default::default()
            },
        )
        .await
        .context("auditing a name change")?;
        tx.commit().await.context("saving one's own name")
    }
}
