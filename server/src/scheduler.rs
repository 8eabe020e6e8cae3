//! The server's background work: the billing scheduler (catch up on ended months, retry
//! charges when due, warn of expiring cards) and the mail worker (deliver what is due).

use std::future::Future;

use crate::{
    billing_run::BillingRun, card_expiry, charges::Charging, context::Context, error::ServiceError,
    outbox::Outbox,
};

/// How long a billing run's lease lasts without renewal, and how often its holder renews it.
pub const LEASE_MILLIS: i64 = 60_000;
const RENEW_EVERY: std::time::Duration = std::time::Duration::from_secs(15);

/// The billing scheduler's work, one pass.
#[derive(Clone)]
pub struct Scheduler {
    ctx: Context,
    run: BillingRun,
    charging: Charging,
    /// This scheduler's name in the leases it holds.
    holder: String,
}

impl Scheduler {
    pub fn new(ctx: Context, run: BillingRun, charging: Charging) -> Self {
        let holder = format!("{}-{}", std::process::id(), crate::crypto::short_random());
        Self {
            ctx,
            run,
            charging,
            holder,
        }
    }

    /// Catches up on months that ended, then due retries, expiry warnings and mail. With
    /// several servers, each month's run is taken by whichever takes its lease first; the
    /// others skip it (and take it over if that server dies and its lease runs out).
    pub async fn tick(&self) -> Result<(), ServiceError> {
        for month in self.run.months_to_catch_up().await? {
            let name = format!("billing-run:{month}");
            if !self.take_lease(&name).await? {
                tracing::info!(%month, "another server is running this month's billing");
                continue;
            }
            // Taken: still to do? A server that finished it a moment ago has released it.
            let ran = if self.run.months_to_catch_up().await?.contains(&month) {
                self.holding(&name, self.run.run_month(month)).await
            } else {
                Ok(Default::default())
            };
            self.release_lease(&name).await?;
            let report = ran?;
            tracing::info!(?report, "billing run");
        }
        self.charging.retry_due().await?;
        card_expiry::warn_expiring_cards(&self.ctx).await?;
        self.ctx
            .outbox
            .deliver_due()
            .await
            .map_err(|e| ServiceError::Unexpected {
                context: "delivering mail after a scheduler pass",
                source: e.into(),
            })?;
        Ok(())
    }
}

impl Scheduler {
    /// Takes the lease `name` if nobody holds it (or its holder let it run out).
    async fn take_lease(&self, name: &str) -> Result<bool, ServiceError> {
        use crate::error::Context as _;
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
    async fn holding<T>(
        &self,
        name: &str,
        work: impl Future<Output = Result<T, ServiceError>>,
    ) -> Result<T, ServiceError> {
        use crate::error::Context as _;
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
    async fn release_lease(&self, name: &str) -> Result<(), ServiceError> {
        use crate::error::Context as _;
        sqlx::query("UPDATE scheduler_leases SET expires_at = 0 WHERE name = $1 AND holder = $2")
            .bind(name)
            .bind(&self.holder)
            .execute(self.ctx.db.pool())
            .await
            .context("releasing a scheduler lease")?;
        Ok(())
    }
}

/// Invoices every account for the previous month once a month has ended (catching up on any
/// month missed while no server ran), and retries failed charges when due. Checks every ten
/// minutes (`TALLY_SCHEDULER_SECONDS`); each check is cheap when there is nothing to do.
pub async fn billing_loop(scheduler: Scheduler) {
    let seconds = scheduler.ctx.settings.scheduler_seconds;
    every(seconds, "billing scheduler", move || {
        let scheduler = scheduler.clone();
        async move { scheduler.tick().await }
    })
    .await
}

/// Delivers queued mail whose earlier delivery failed, when its retry is due, every half
/// minute, and at once when a request hands it mail to send (`Outbox::wake_worker`).
pub async fn mail_loop(outbox: Outbox) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(30));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = outbox.woken() => {}
        }
        if let Err(e) = outbox.deliver_due().await {
            tracing::error!(error = %e, "mail outbox worker");
        }
    }
}

/// Runs `task` every `seconds`, forever, logging its failures under `what`.
async fn every<F, Fut, T, E>(seconds: u64, what: &'static str, task: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: std::fmt::Display,
{
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(seconds));
    loop {
        tick.tick().await;
        if let Err(e) = task().await {
            tracing::error!(error = %e, "{what}");
        }
    }
}
