//! The billing scheduler: catch up on ended months, retry charges when due, warn of expiring
//! cards, deliver what that queued. Several servers may all run it: each month's run is taken
//! by whichever server takes its lease first.

use crate::{
    billing::{
        cards::expiry,
        credit_notes::Refunds,
        invoices::{charging::Charging, run::BillingRun},
    },
    platform::{
        context::Context,
        error::{ResultExt, ServiceError},
        leases::Leases,
    },
};

/// Work of a later domain the scheduler does at the end of each pass (the seller's automatic
/// suspension of accounts long unpaid), without billing depending on that domain.
#[async_trait::async_trait]
pub trait AfterPass: Send + Sync {
    async fn after_pass(&self) -> Result<(), ServiceError>;
}

/// The billing scheduler's work, one pass.
#[derive(Clone)]
pub struct Scheduler {
    after: Option<std::sync::Arc<dyn AfterPass>>,
    ctx: Context,
    run: BillingRun,
    charging: Charging,
    refunds: Refunds,
    leases: Leases,
}

impl Scheduler {
    pub fn new(ctx: Context, run: BillingRun, charging: Charging, refunds: Refunds) -> Self {
        Self {
            after: None,
            leases: Leases::new(ctx.clone()),
            ctx,
            run,
            charging,
            refunds,
        }
    }

    /// With `after` done at the end of each pass.
    pub fn with_after_pass(mut self, after: std::sync::Arc<dyn AfterPass>) -> Self {
        self.after = Some(after);
        self
    }

    /// Catches up on months that ended, then due retries, expiry warnings and mail. With
    /// several servers, each month's run is taken by whichever takes its lease first; the
    /// others skip it (and take it over if that server dies and its lease runs out).
    pub async fn tick(&self) -> Result<(), ServiceError> {
        for month in self.run.months_to_catch_up().await? {
            let name = format!("billing-run:{month}");
            if !self.leases.take(&name).await? {
                tracing::info!(%month, "another server is running this month's billing");
                continue;
            }
            // Taken: still to do? A server that finished it a moment ago has released it.
            let ran = if self.run.months_to_catch_up().await?.contains(&month) {
                self.leases.holding(&name, self.run.run_month(month)).await
            } else {
                Ok(Default::default())
            };
            self.leases.release(&name).await?;
            let report = ran?;
            tracing::info!(?report, "billing run");
        }
        self.charging.retry_due().await?;
        self.refunds.refund_pending().await?;
        if let Some(after) = &self.after {
            after.after_pass().await?;
        }
        expiry::warn_expiring_cards(&self.ctx).await?;
        self.ctx
            .outbox
            .deliver_due()
            .await
            .context("delivering mail after a scheduler pass")?;
        Ok(())
    }

    /// Invoices every account for the previous month once a month has ended (catching up on
    /// any month missed while no server ran), and retries failed charges when due. Checks
    /// every ten minutes (`TALLY_SCHEDULER_SECONDS`); each check is cheap when there is
    /// nothing to do. Runs until the process ends.
    pub async fn work(self) {
        let seconds = self.ctx.settings.scheduler_seconds;
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(seconds));
        loop {
            tick.tick().await;
            if let Err(e) = self.tick().await {
                tracing::error!(error = %e, "billing scheduler");
            }
        }
    }
}
