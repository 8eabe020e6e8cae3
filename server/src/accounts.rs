//! The first start: while no account exists, `/setup` creates the organisation's account and
//! its first administrator (an Administrator With Billing), and signs them in.

use tally_core::{
    audit::AuditKind,
    forms::{NewAccount, NewAccountInput},
    password,
    roles::Role,
};

use crate::{
    actor::Visitor,
    audit::Event,
    auth::{sessions::SetCookie, Auth},
    context::Context,
    error::{Context as _, ServiceError},
};

/// Set-up of the first account.
#[derive(Clone)]
pub struct Accounts {
    ctx: Context,
    auth: Auth,
}

impl Accounts {
    pub fn new(ctx: Context, auth: Auth) -> Self {
        Self { ctx, auth }
    }

    /// True while no account exists (first start).
    pub async fn setup_needed(&self) -> Result<bool, ServiceError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts")
            .fetch_one(self.ctx.db.pool())
            .await
            .context("checking whether set-up is needed")?;
        Ok(n == 0)
    }

    /// Creates the first account and its Administrator With Billing, and signs them in.
    /// Refused (not found) once any account exists.
    pub async fn setup(
        &self,
        visitor: &Visitor,
        input: &NewAccountInput,
        password: &str,
    ) -> Result<SetCookie, ServiceError> {
        let parsed = input.parse();
        let mut errors = parsed.as_ref().err().cloned().unwrap_or_default();
        let words = [
            input.email.as_str(),
            input.first_name.as_str(),
            input.last_name.as_str(),
        ];
        errors.check("password", password::strength(password, &words).verdict);
        ServiceError::unless_any(errors)?;
        let NewAccount {
            company_name,
            first_name,
            last_name,
            email,
        } = parsed.map_err(ServiceError::Invalid)?;
        // Before the slow hash: a set-up that cannot happen any more costs nothing.
        if !self.setup_needed().await? {
            return Err(ServiceError::NotFound);
        }
        let hash = self.ctx.passwords.hash(password).await?;
        let now = self.ctx.now();
        let mut tx = self.ctx.db.pool().begin().await.context("setting up")?;
        // Only the very first account may be created here; the check and the insert share the
        // transaction, and the unique email catches a race between two set-ups.
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts")
            .fetch_one(&mut *tx)
            .await
            .context("checking for accounts during set-up")?;
        if n > 0 {
            return Err(ServiceError::NotFound);
        }
        let account_id = self.ctx.new_id();
        let admin_id = self.ctx.new_id();
        sqlx::query("INSERT INTO accounts (id, name, created_at) VALUES ($1, $2, $3)")
            .bind(&account_id)
            .bind(&company_name)
            .bind(now)
            .execute(&mut *tx)
            .await
            .context("creating the first account")?;
        crate::admins::insert_first(
            &mut *tx,
            &crate::admins::FirstAdmin {
                id: &admin_id,
                account_id: &account_id,
                email: &email,
                first_name: &first_name,
                last_name: &last_name,
                role: Role::AdministratorWithBilling,
                password_hash: &hash,
                now,
            },
        )
        .await?;
        let event = Event {
            account_id: Some(&account_id),
            actor_id: Some(&admin_id),
            actor_email: Some(email.as_str()),
            target: Some(&company_name),
            ip: visitor.ip.as_deref(),
            detail: "first account set up".into(),
        };
        self.auth
            .finish_sign_in(tx, AuditKind::AccountCreated, event)
            .await
    }
}
