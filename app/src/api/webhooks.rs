//! The Webhooks page's server functions (Manage API keys: the Owner): the endpoints, adding
//! one (its signing secret in the answer, the only time it is shown), removing one, an
//! endpoint's latest deliveries and sending one again; each change with a fresh check.

// A checkbox per event is an argument per event, in the browser's call as on the server.
#![allow(clippy::too_many_arguments)]

use leptos::prelude::*;
use tally_core::views::operator::{CreatedWebhook, WebhookDeliveryRow, WebhookEndpointRow};

#[cfg(feature = "ssr")]
use crate::auth::services;
use crate::error::AppError;

/// The Owner's page of webhook endpoints.
pub const WEBHOOKS_PATH: &str = "/operator/webhooks";

#[cfg(feature = "ssr")]
fn owner() -> Result<tally_core::actor::OperatorActor, AppError> {
    crate::auth::require_operator(tally_core::operators::OperatorAction::ManageApiKeys)
}

/// A checkbox's form name for an event: `invoice.paid` is `invoice_paid`.
pub fn event_field(event: tally_core::webhooks::WebhookEvent) -> String {
    event.code().replace('.', "_")
}

/// Every endpoint, the newest first, removed ones too (never a secret).
#[server(endpoint = "operator/webhooks/list")]
pub async fn list_webhooks() -> Result<Vec<WebhookEndpointRow>, AppError> {
    Ok(services()?.webhooks.list(&owner()?).await?)
}

/// Registers an endpoint: its address and the events ticked (one argument per event, as a
/// checkbox sends it: present when ticked). The answer holds the signing secret.
#[server(endpoint = "operator/webhooks/create")]
pub async fn create_webhook(
    url: String,
    #[server(default)] account_created: Option<String>,
    #[server(default)] account_suspended: Option<String>,
    #[server(default)] account_closed: Option<String>,
    #[server(default)] users_changed: Option<String>,
    #[server(default)] invoice_created: Option<String>,
    #[server(default)] invoice_paid: Option<String>,
    #[server(default)] invoice_payment_failed: Option<String>,
    #[server(default)] invoice_action_required: Option<String>,
    #[server(default)] credit_note_created: Option<String>,
) -> Result<CreatedWebhook, AppError> {
    use tally_core::webhooks::{NewWebhookInput, WebhookEvent as E};
    let owner = owner()?;
    let ticked = [
        (E::AccountCreated, account_created),
        (E::AccountSuspended, account_suspended),
        (E::AccountClosed, account_closed),
        (E::UsersChanged, users_changed),
        (E::InvoiceCreated, invoice_created),
        (E::InvoicePaid, invoice_paid),
        (E::InvoicePaymentFailed, invoice_payment_failed),
        (E::InvoiceActionRequired, invoice_action_required),
        (E::CreditNoteCreated, credit_note_created),
    ];
    let input = NewWebhookInput {
        url,
        events: ticked
            .into_iter()
            .filter(|(_, on)| on.is_some())
            .map(|(e, _)| e.code().to_owned())
            .collect(),
    };
    Ok(services()?.webhooks.create(&owner, &input).await?)
}

/// Removes an endpoint: nothing more is sent to it.
#[server(endpoint = "operator/webhooks/remove")]
pub async fn remove_webhook(endpoint_id: String) -> Result<(), AppError> {
    Ok(services()?.webhooks.remove(&owner()?, &endpoint_id).await?)
}

/// An endpoint's latest deliveries, the newest first.
#[server(endpoint = "operator/webhooks/deliveries")]
pub async fn webhook_deliveries(endpoint_id: String) -> Result<Vec<WebhookDeliveryRow>, AppError> {
    Ok(services()?
        .webhooks
        .deliveries(&owner()?, &endpoint_id)
        .await?)
}

/// Sends a delivery again now.
#[server(endpoint = "operator/webhooks/redeliver")]
pub async fn redeliver_webhook(endpoint_id: String, delivery_id: String) -> Result<(), AppError> {
    Ok(services()?
        .webhooks
        .redeliver(&owner()?, &endpoint_id, &delivery_id)
        .await?)
}
