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
