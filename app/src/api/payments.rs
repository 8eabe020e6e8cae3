//! The Billing & Payments modal (billing information and the card on file) and the page that
//! completes a payment the card's bank asks the cardholder to confirm. Reading needs View
//! billing; changing needs Manage payment method — the two With Billing roles. Every call is
//! scoped to the caller's account; there are no ids to guess.
//!
//! A card goes from the card window to the payment processor (Stripe, or the embedded
//! sandbox) and never to these functions: they begin the processor's set-up, then save what
//! the processor confirmed.

use leptos::{prelude::*, server_fn::codec::Json};
#[cfg(feature = "ssr")]
use tally_core::roles::Action;
use tally_core::{
    forms::{BillingInfo, BillingInfoInput, PaymentInfoInput},
    views::billing::{BillingSettings, CardSummary, ConfirmedCard, WaitingPayment},
};

#[cfg(feature = "ssr")]
use crate::auth::{require, services};
use crate::error::AppError;

/// The billing information and the card on file, with what the card window needs.
#[server(endpoint = "billing/settings")]
pub async fn get_billing_settings() -> Result<BillingSettings, AppError> {
    let actor = require(Action::ViewBilling)?;
    let services = services()?;
    Ok(BillingSettings {
        info: services.billing_info.get(&actor).await?,
        card: services.cards.get(&actor).await?,
        accepted_brands: services.ctx.settings.accepted_brands.brands().to_vec(),
        today: services.ctx.clock.today(),
        processor: services.cards.processor(),
    })
}

/// Saves the Billing Information tab. The billing contact becomes where invoices go.
#[server(endpoint = "billing/save-info", input = Json)]
pub async fn save_billing_info(info: BillingInfoInput) -> Result<BillingInfo, AppError> {
    let actor = require(Action::ManagePaymentMethod)?;
    let info = info.parse()?;
    services()?.billing_info.save(&actor, &info).await?;
    Ok(info)
}

/// Begins saving a card with the processor: the set-up's client secret, for the browser to
/// confirm the card with the processor directly.
#[server(endpoint = "billing/begin-card-setup")]
pub async fn begin_card_setup() -> Result<String, AppError> {
    let actor = require(Action::ManagePaymentMethod)?;
    Ok(services()?.cards.begin_setup(&actor).await?)
}

/// The bank's page for a card set-up waiting for the cardholder (3-D Secure), when the
/// processor has one; `None` leaves the card window's own step.
#[server(endpoint = "billing/card-setup-bank-page")]
pub async fn card_setup_bank_page(setup_intent: String) -> Result<Option<String>, AppError> {
    let actor = require(Action::ManagePaymentMethod)?;
    if setup_intent.len() > 200 {
        return Err(AppError::NotFound);
    }
    Ok(services()?
        .cards
        .setup_bank_page(&actor, &setup_intent)
        .await?)
}

/// Saves a card the browser confirmed with the processor: only the set-up's id and what the
/// processor said of the card (brand, last 4, expiry) come here, never its number. The same
/// `idempotency_key` twice saves once.
#[server(endpoint = "billing/confirm-card-setup", input = Json)]
pub async fn confirm_card_setup(
    payment: PaymentInfoInput,
    setup_intent: String,
    card: ConfirmedCard,
    idempotency_key: String,
) -> Result<CardSummary, AppError> {
    let actor = require(Action::ManagePaymentMethod)?;
    let key = idempotency_key.trim();
    if key.is_empty() || key.len() > 100 || setup_intent.len() > 200 {
        return Err(AppError::Conflict(
            "This form is out of date. Reload the page and try again.".into(),
        ));
    }
    Ok(services()?
        .cards
        .confirm_setup(&actor, &payment, &setup_intent, &card, key)
        .await?)
}

/// An invoice of the caller's account whose payment waits for the cardholder's bank.
#[server(endpoint = "billing/payment-to-confirm")]
pub async fn payment_to_confirm(number: String) -> Result<WaitingPayment, AppError> {
    let actor = require(Action::ManagePaymentMethod)?;
    Ok(services()?
        .cards
        .payment_to_confirm(&actor, &number, false)
        .await?)
}

/// After the cardholder answered their bank: asks the processor, and pays the invoice if it
/// says the payment succeeded.
#[server(endpoint = "billing/payment-confirmed")]
pub async fn payment_confirmed(number: String) -> Result<WaitingPayment, AppError> {
    let actor = require(Action::ManagePaymentMethod)?;
    Ok(services()?
        .cards
        .payment_to_confirm(&actor, &number, true)
        .await?)
}
