//! Leases (owner of `scheduler_leases`): of several servers on one database, the one holding a
//! named lease does that work; a lease its holder stops renewing runs out, and another server
//! takes the work over.

use std::future::Future;

use super::{
    context::Context,
    error::{ResultExt, ServiceError},
};

/// How long a lease lasts without renewal, and how often its holder renews it.
pub const LEASE_MILLIS: i64 = 60_000;
const RENEW_EVERY: std::time::Duration = std::time::Duration::from_secs(15);

/// One process's leases, under a name of its own.
#[derive(Clone)]
pub struct Leases {
    ctx: Context,
    holder: String,
}

impl Leases {
    pub fn new(ctx: Context) -> Self {
        let holder = format!("{}-{}", std::process::id(), super::crypto::short_random());
        Self { ctx, holder }
    }

    /// Takes the lease `name` if nobody holds it (or its holder let it run out).
    pub async fn take(&self, name: &str) -> Result<bool, ServiceError> {
        let now = self.ctx.now();
        let taken = sqlx::query(
            "INSERT INTO scheduler_leases (name, holder, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
             WHERE scheduler_leases.expires_at <= $4",
        )
        .bind(name)
        .bind(&self.holder)
        .bind(now + LEASE_MILLIS)
        .bind(now)
        .execute(self.ctx.db.pool())
        .await
        .context("taking a scheduler lease")?;
        Ok(taken.rows_affected() == 1)
    }

    /// Runs `work`, renewing the lease `name` until it is done.
    pub async fn holding<T>(
        &self,
        name: &str,
        work: impl Future<Output = Result<T, ServiceError>>,
    ) -> Result<T, ServiceError> {
        let mut work = std::pin::pin!(work);
        let mut renew = tokio::time::interval(RENEW_EVERY);
        renew.tick().await;
        loop {
            tokio::select! {
                done = &mut work => return done,
                _ = renew.tick() => {
                    sqlx::query("UPDATE scheduler_leases SET expires_at = $1 WHERE name = $2 AND holder = $3")
                        .bind(self.ctx.now() + LEASE_MILLIS)
                        .bind(name)
                        .bind(&self.holder)
                        .execute(self.ctx.db.pool())
                        .await
                        .context("renewing a scheduler lease")?;
                }
            }
        }
    }

    /// Lets the lease `name` go at once.
    pub async fn release(&self, name: &str) -> Result<(), ServiceError> {
        sqlx::query("UPDATE scheduler_leases SET expires_at = 0 WHERE name = $1 AND holder = $2")
            .bind(name)
            .bind(&self.holder)
            .execute(self.ctx.db.pool())
            .await
            .context("releasing a scheduler lease")?;
        Ok(())
    }
}
