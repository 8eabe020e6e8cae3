//! The seller's settings page's server functions (Owner): its details, default plan, retry
//! schedule, automatic suspension and where it charges VAT. The form's fields are its arguments, one each.
#![allow(clippy::too_many_arguments)]

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::auth::services;
use crate::error::AppError;

/// Where the Owner changes the seller's settings.
pub const SETTINGS_PATH: &str = "/operator/settings";

/// The seller's settings as the form starts from (Owner).
#[server(endpoint = "operator/settings/get")]
pub async fn get_seller_settings() -> Result<tally_core::seller::SettingsInput, AppError> {
    use tally_core::operators::OperatorAction;
    let operator = crate::auth::require_operator(OperatorAction::ManageSellerSettings)?;
    Ok(services()?.settings.get(&operator).await?)
}

/// Saves the seller's details, default plan, retry schedule and automatic suspension (Owner; a
/// fresh check). Each field is held to core's rules, the same as the form's.
#[server(endpoint = "operator/settings/save")]
pub async fn save_seller_settings(
    legal_name: String,
    contact_email: String,
    #[server(default)] country: String,
    #[server(default)] line1: String,
    #[server(default)] line2: String,
    #[server(default)] city: String,
    #[server(default)] region: String,
    #[server(default)] postal_code: String,
    #[server(default)] tax_id: String,
    /// The default plan's currency's code; blank: US dollars.
    #[server(default)]
    currency: String,
    price_per_user: String,
    free_users: String,
    /// Blank: the 1st.
    #[server(default)]
    billing_day: String,
    retry_days: String,
    #[server(default)] auto_suspend_days: String,
    /// Where the seller charges VAT: `DE 19 %, FR 20 %`; blank for nowhere.
    #[server(default)]
    tax_registrations: String,
    /// Registered for the One-Stop Shop.
    #[server(default)]
    oss: bool,
) -> Result<(), AppError> {
    use tally_core::{operators::OperatorAction, seller::SettingsInput};
    let operator = crate::auth::require_operator(OperatorAction::ManageSellerSettings)?;
    let input = SettingsInput {
        seller: crate::api::setup::seller_input(
            legal_name,
            contact_email,
            country,
            line1,
            line2,
            city,
            region,
            postal_code,
            tax_id,
            tally_core::seller::PlanInput {
                currency,
                price_per_user,
                free_users,
                billing_day,
            },
        ),
        retry_days,
        auto_suspend_days,
        tax_registrations,
        oss,
    };
    Ok(services()?.settings.save(&operator, &input).await?)
}
