//! The server's background work: the billing scheduler (catch up on ended months, retry
//! charges when due, warn of expiring cards) and the mail worker (deliver what is due).

use std::future::Future;

use crate::{
    billing_run::BillingRun, card_expiry, charges::Charging, context::Context, error::ServiceError,
    outbox::Outbox,
};

/// The billing scheduler's work, one pass.
#[derive(Clone)]
pub struct Scheduler {
    ctx: Context,
    run: BillingRun,
    charging: Charging,
}

impl Scheduler {
    pub fn new(ctx: Context, run: BillingRun, charging: Charging) -> Self {
        Self { ctx, run, charging }
    }

    /// Catches up on months that ended, then due retries, expiry warnings and mail.
    pub async fn tick(&self) -> Result<(), ServiceError> {
        for month in self.run.months_to_catch_up().await? {
            let report = self.run.run_month(month).await?;
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

/// Invoices every account for the previous month once a month has ended (catching up on any
/// month missed while no server ran), and retries failed charges when due. Checks every ten
/// minutes; each check is cheap when there is nothing to do.
pub async fn billing_loop(scheduler: Scheduler) {
    every(600, "billing scheduler", move || {
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
