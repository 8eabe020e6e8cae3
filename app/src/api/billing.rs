//! Billing information and the payment method on file (the Billing & Payments modal).
//! Reading needs View billing; changing needs Manage payment method — the two With Billing
//! roles. Every call is scoped to the caller's account; there are no ids to guess.

use leptos::{prelude::*, server_fn::codec::Json};
use serde::{Deserialize, Serialize};
#[cfg(feature = "ssr")]
use tally_core::roles::Action;
use tally_core::{
    address::Address,
    card::Brand,
    forms::{BillingInfo, BillingInfoInput, CardInput, PaymentInfoInput},
    NaiveDate,
};

use crate::error::AppError;

/// What the account keeps of its card (spec §6): never the number or the security code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardSummary {
    pub brand: Brand,
    pub last4: String,
    pub exp_month: u32,
    pub exp_year: i32,
    pub cardholder_name: String,
    pub address: Address,
    /// UTC milliseconds.
    pub saved_at: i64,
    pub saved_by: Option<String>,
}

impl CardSummary {
    /// "Visa •••• 4242".
    pub fn label(&self) -> String {
        format!("{} •••• {}", self.brand.display_name(), self.last4)
    }

    /// "12/30".
    pub fn expiry_label(&self) -> String {
        format!("{:02}/{:02}", self.exp_month, self.exp_year % 100)
    }
}

/// Everything the modal needs to open.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillingSettings {
    pub info: Option<BillingInfo>,
    pub card: Option<CardSummary>,
    /// The brands this Tally accepts (configurable on the server).
    pub accepted_brands: Vec<Brand>,
    /// The server's date (UTC), so the browser checks expiry against the same day.
    pub today: NaiveDate,
    /// Set when the card is confirmed by the browser with the payment processor itself: the
    /// number then goes there, never to Tally.
    pub processor: Option<Processor>,
}

/// The payment processor the browser confirms cards with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Processor {
    /// The processor's publishable key (meant for browsers).
    pub publishable_key: String,
    /// The processor's API, e.g. `https://api.stripe.com`.
    pub api_base: String,
}

/// What the browser read back from the processor about a card it confirmed there; the server
/// checks it against the processor's own answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfirmedCard {
    pub brand: Brand,
    pub last4: String,
    pub exp_month: u32,
    pub exp_year: i32,
}

/// An invoice whose payment the card's bank asks the cardholder to confirm.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitingPayment {
    pub number: String,
    /// "$25.00".
    pub amount: String,
    /// "Authentication needed", "Paid", "Failed"…
    pub status: String,
    /// Whether it still waits for the cardholder.
    pub waiting: bool,
    /// The payment's id and client secret with the processor, while it waits.
    pub payment_id: Option<String>,
    pub client_secret: Option<String>,
    /// The bank's page, when the processor gives one.
    pub redirect_url: Option<String>,
    pub processor: Option<Processor>,
}

/// The billing information and the card on file.
#[server(endpoint = "billing/settings")]
pub async fn get_billing_settings() -> Result<BillingSettings, AppError> {
    let actor = crate::auth::require(Action::ViewBilling)?;
    let services = crate::ports::services()?;
    services.billing.settings(&actor).await
}

/// Saves the Billing Information tab. The billing contact becomes where invoices go.
#[server(endpoint = "billing/save-info", input = Json)]
pub async fn save_billing_info(info: BillingInfoInput) -> Result<BillingInfo, AppError> {
    let actor = crate::auth::require(Action::ManagePaymentMethod)?;
    let info = match info.parse() {
        Ok(i) => i,
        Err(e) => return Err(AppError::Validation(e)),
    };
    let services = crate::ports::services()?;
    services.billing.save_info(&actor, info).await
}

/// Begins saving a card with the processor: the set-up's client secret, for the browser to
/// confirm the card with the processor directly.
#[server(endpoint = "billing/begin-card-setup")]
pub async fn begin_card_setup() -> Result<String, AppError> {
    let actor = crate::auth::require(Action::ManagePaymentMethod)?;
    let services = crate::ports::services()?;
    services.billing.begin_card_setup(&actor).await
}

/// The bank's page for a card set-up waiting for the cardholder (3-D Secure), when the
/// processor has one; `None` leaves the card window's own step.
#[server(endpoint = "billing/card-setup-bank-page")]
pub async fn card_setup_bank_page(setup_intent: String) -> Result<Option<String>, AppError> {
    let actor = crate::auth::require(Action::ManagePaymentMethod)?;
    if setup_intent.len() > 200 {
        return Err(AppError::NotFound);
    }
    let services = crate::ports::services()?;
    services
        .billing
        .card_setup_bank_page(&actor, setup_intent)
        .await
}

/// Saves a card the browser confirmed with the processor: only the set-up's id and what the
/// processor said of the card (brand, last 4, expiry) come here, never its number.
#[server(endpoint = "billing/confirm-card-setup", input = Json)]
pub async fn confirm_card_setup(
    payment: PaymentInfoInput,
    setup_intent: String,
    card: ConfirmedCard,
    idempotency_key: String,
) -> Result<CardSummary, AppError> {
    let actor = crate::auth::require(Action::ManagePaymentMethod)?;
    let key = idempotency_key.trim().to_string();
    if key.is_empty() || key.len() > 100 || setup_intent.len() > 200 {
        return Err(AppError::Conflict(
            "This form is out of date. Reload the page and try again.".into(),
        ));
    }
    let services = crate::ports::services()?;
    services
        .billing
        .confirm_card_setup(&actor, payment, setup_intent, card, key)
        .await
}

/// An invoice of the caller's account whose payment waits for the cardholder's bank.
#[server(endpoint = "billing/payment-to-confirm")]
pub async fn payment_to_confirm(number: String) -> Result<WaitingPayment, AppError> {
    let actor = crate::auth::require(Action::ManagePaymentMethod)?;
    let services = crate::ports::services()?;
    services
        .billing
        .payment_to_confirm(&actor, number, false)
        .await
}

/// After the cardholder answered their bank: asks the processor, and pays the invoice if it
/// says the payment succeeded.
#[server(endpoint = "billing/payment-confirmed")]
pub async fn payment_confirmed(number: String) -> Result<WaitingPayment, AppError> {
    let actor = crate::auth::require(Action::ManagePaymentMethod)?;
    let services = crate::ports::services()?;
    services
        .billing
        .payment_to_confirm(&actor, number, true)
        .await
}

/// "Submit Payment Method": checks everything again with core, tokenizes the card through the
/// payment gateway and replaces the card on file. The same `idempotency_key` twice saves once.
#[server(endpoint = "billing/submit-payment-method", input = Json)]
pub async fn submit_payment_method(
    payment: PaymentInfoInput,
    card: CardInput,
    idempotency_key: String,
) -> Result<CardSummary, AppError> {
    let actor = crate::auth::require(Action::ManagePaymentMethod)?;
    let key = idempotency_key.trim().to_string();
    if key.is_empty() || key.len() > 100 {
        return Err(AppError::Conflict(
            "This form is out of date. Reload the page and try again.".into(),
        ));
    }
    let services = crate::ports::services()?;
    services
        .billing
        .submit_payment_method(&actor, payment, card, key)
        .await
}
