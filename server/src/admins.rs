//! Administrators of an account: creation and invitations. Every query is scoped to the
//! caller's account.

use tally_app::{auth::CurrentAdmin, error::AppError, ports::AdminService};
use tally_core::{audit::AuditKind, forms::NewAdmin};

use crate::{
    audit::{record, Event},
    auth::Auth,
    crypto::new_id,
};

pub struct Admins {
    pub auth: Auth,
}

#[async_trait::async_trait]
impl AdminService for Admins {
    async fn create(
        &self,
        actor: &CurrentAdmin,
        new: NewAdmin,
        ip: Option<String>,
    ) -> Result<String, AppError> {
        let db = &self.auth.db;
        let now = self.auth.clock.now_millis();
        let id = new_id();
        let mut tx = db
            .pool()
            .begin()
            .await
            .map_err(|e| AppError::Internal(e.to_string()))?;
        let inserted = sqlx::query(
            "INSERT INTO admins (id, account_id, email, email_key, first_name, last_name, role, status, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'invited', $8, $8) ON CONFLICT (email_key) DO NOTHING",
        )
        .bind(&id)
        .bind(&actor.account_id)
        .bind(new.email.as_str())
        .bind(new.email.normalized_key())
        .bind(&new.first_name)
        .bind(&new.last_name)
        .bind(new.role.code())
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
        if inserted.rows_affected() == 0 {
            return Err(AppError::field(
                "email",
                "An administrator with this email already exists.",
            ));
        }
        record(
            &mut *tx,
            now,
            AuditKind::AdminCreated,
            Event {
                account_id: Some(&actor.account_id),
                actor_id: Some(&actor.id),
                actor_email: Some(&actor.email),
                target: Some(new.email.as_str()),
                ip: ip.as_deref(),
                detail: format!("role {}", new.role.display_name()),
            },
        )
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
        tx.commit()
            .await
            .map_err(|e| AppError::Internal(e.to_string()))?;
        self.auth
            .send_invitation(
                &id,
                &actor.account_id,
                new.email.as_str(),
                &actor.full_name(),
            )
            .await?;
        record(
            db.pool(),
            now,
            AuditKind::InvitationSent,
            Event {
                account_id: Some(&actor.account_id),
                actor_id: Some(&actor.id),
                actor_email: Some(&actor.email),
                target: Some(new.email.as_str()),
                ip: ip.as_deref(),
                ..Default::default()
            },
        )
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
        Ok(id)
    }
}
