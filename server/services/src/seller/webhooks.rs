//! The Owner's webhook endpoints (Manage API keys, with a fresh check for a change): register
//! one (its secret shown once), remove it, read its deliveries and send one again. Each change
//! is in the seller's own log. The queue and its worker are `platform::webhooks`.

use tally_core::{
    actor::OperatorActor,
    audit::AuditKind,
    operators::OperatorAction,
    views::operator::{CreatedWebhook, WebhookDeliveryRow, WebhookEndpointRow},
    webhooks::{events_text, NewWebhookInput},
};

use super::customers::allowed;
use crate::platform::{
    audit::Event,
    context::Context,
    error::ServiceError,
    webhooks::{self, Attempt, Deliverer},
};

/// How many of an endpoint's deliveries its page lists, the newest first.
pub const DELIVERIES_LISTED: u32 = 50;

#[derive(Clone)]
pub struct Webhooks {
    ctx: Context,
    deliverer: Deliverer,
}

impl Webhooks {
    pub fn new(ctx: Context) -> Self {
        Self {
            deliverer: Deliverer::new(ctx.clone()),
            ctx,
        }
    }

    /// The worker that sends deliveries, for the server to run.
    pub fn deliverer(&self) -> Deliverer {
        self.deliverer.clone()
    }

    /// Forgets deliveries finished more than 30 days ago (what the worker does hourly).
    pub async fn forget_old(&self) -> Result<u64, ServiceError> {
        self.deliverer.forget_old().await
    }

    /// Makes one attempt of every delivery due now (what the worker does every few seconds).
    pub async fn deliver_due(&self) -> Result<Vec<(String, Attempt)>, ServiceError> {
        self.deliverer.deliver_due().await
    }

    fn owner_fresh(&self, owner: &OperatorActor) -> Result<(), ServiceError> {
        allowed(owner, OperatorAction::ManageApiKeys)?;
        if !owner.is_fresh(self.ctx.now()) {
            return Err(ServiceError::FreshCheckRequired);
        }
        Ok(())
    }

    /// Every endpoint, the newest first, removed ones too.
    pub async fn list(
        &self,
        owner: &OperatorActor,
    ) -> Result<Vec<WebhookEndpointRow>, ServiceError> {
        allowed(owner, OperatorAction::ManageApiKeys)?;
        webhooks::endpoints(self.ctx.db.pool()).await
    }

    /// Registers an endpoint; the answer holds its signing secret, never readable again.
    pub async fn create(
        &self,
        owner: &OperatorActor,
        input: &NewWebhookInput,
    ) -> Result<CreatedWebhook, ServiceError> {
        allowed(owner, OperatorAction::ManageApiKeys)?;
        // An installation served over plain http (this machine, a trusted network) may send
        // to plain http endpoints too; one served over https only to https ones.
        let plain = self.ctx.settings.public_url.starts_with("http://");
        let new = input.parse(plain).map_err(ServiceError::Invalid)?;
        self.owner_fresh(owner)?;
        let id = self.ctx.new_id();
        let mut work = self.ctx.begin("registering a webhook endpoint").await?;
        let now = work.now();
        let secret =
            webhooks::insert_endpoint(&self.ctx, work.tx(), &id, &new, &owner.full_name(), now)
                .await?;
        work.audit(Event::by_operator(
            owner,
            AuditKind::WebhookEndpointAdded,
            new.url.as_str(),
            events_text(&new.events),
        ));
        work.commit().await?;
        let row = WebhookEndpointRow {
            id,
            url: new.url,
            events: new.events,
            created_by: owner.full_name(),
            created_at: now,
            disabled_at: None,
            retrying: 0,
            failed: 0,
        };
        Ok(CreatedWebhook { secret, row })
    }

    /// Removes an endpoint: nothing more is sent to it, and what it still had due is given
    /// up. Removing one already removed changes nothing.
    pub async fn remove(&self, owner: &OperatorActor, id: &str) -> Result<(), ServiceError> {
        self.owner_fresh(owner)?;
        let mut work = self.ctx.begin("removing a webhook endpoint").await?;
        let now = work.now();
        if let Some(url) = webhooks::disable(work.tx(), id, now).await? {
            work.audit(Event::by_operator(
                owner,
                AuditKind::WebhookEndpointRemoved,
                url,
                "",
            ));
        }
        work.commit().await
    }

    /// An endpoint's latest deliveries, the newest first.
    pub async fn deliveries(
        &self,
        owner: &OperatorActor,
        endpoint_id: &str,
    ) -> Result<Vec<WebhookDeliveryRow>, ServiceError> {
        allowed(owner, OperatorAction::ManageApiKeys)?;
        webhooks::deliveries(self.ctx.db.pool(), endpoint_id, DELIVERIES_LISTED).await
    }

    /// Sends a delivery again now (with a new day of retries should it fail).
    pub async fn redeliver(
        &self,
        owner: &OperatorActor,
        endpoint_id: &str,
        delivery_id: &str,
    ) -> Result<(), ServiceError> {
        self.owner_fresh(owner)?;
        let mut work = self.ctx.begin("redelivering a webhook").await?;
        let now = work.now();
        let event = webhooks::redeliver(work.tx(), endpoint_id, delivery_id, now)
            .await?
            .ok_or(ServiceError::NotFound)?;
        work.audit(Event::by_operator(
            owner,
            AuditKind::WebhookRedelivered,
            delivery_id,
            event,
        ));
        work.commit().await?;
        self.ctx.hooks.notify_one();
        Ok(())
    }
}
