//! First start: make the seller (the company running Tally) and its first operator.

// Set-up's function takes one argument per field of its plain form, which posts them flat.
#![allow(clippy::too_many_arguments)]

use leptos::prelude::*;
#[cfg(feature = "ssr")]
use tally_core::{
    address::AddressInput,
    seller::{NewSellerInput, PlanInput, SellerInput},
};

#[cfg(feature = "ssr")]
use crate::auth::{services, set_cookie, visitor};
use crate::error::AppError;

/// The seller's details from the fields of set-up's form and the settings page's, which post
/// them flat, one argument each.
#[cfg(feature = "ssr")]
pub(crate) fn seller_input(
    legal_name: String,
    contact_email: String,
    country: String,
    line1: String,
    line2: String,
    city: String,
    region: String,
    postal_code: String,
    tax_id: String,
    plan: PlanInput,
) -> SellerInput {
    SellerInput {
        legal_name,
        contact_email,
        address: AddressInput {
            country,
            line1,
            line2,
            city,
            region,
            postal_code,
        },
        tax_id,
        plan,
    }
}

/// True while Tally has no seller yet: `/setup` is open (with the set-up code).
#[server(endpoint = "setup/needed")]
pub async fn setup_needed() -> Result<bool, AppError> {
    Ok(services()?.setup.setup_needed().await?)
}

/// True on a brand-new installation, which `/` sends to set-up.
#[server(endpoint = "setup/first-start")]
pub async fn first_start() -> Result<bool, AppError> {
    Ok(services()?.setup.first_start().await?)
}

/// Makes the seller and its first operator (an Owner), signs them in and goes to the
/// console, where their second step is set up first. Needs the set-up code (the server
/// printed it in its log at first start and wrote it to its data folder); refused (404) once
/// the seller exists.
#[server(endpoint = "setup/create")]
pub async fn set_up_seller(
    #[server(default)] setup_code: String,
    legal_name: String,
    contact_email: String,
    country: String,
    line1: String,
    #[server(default)] line2: String,
    city: String,
    #[server(default)] region: String,
    postal_code: String,
    #[server(default)] tax_id: String,
    /// The plan's currency's code; blank: US dollars.
    #[server(default)]
    currency: String,
    price_per_user: String,
    free_users: String,
    /// Blank: the 1st.
    #[server(default)]
    billing_day: String,
    first_name: String,
    last_name: String,
    email: String,
    password: String,
) -> Result<(), AppError> {
    let input = NewSellerInput {
        seller: seller_input(
            legal_name,
            contact_email,
            country,
            line1,
            line2,
            city,
            region,
            postal_code,
            tax_id,
            PlanInput {
                currency,
                price_per_user,
                free_users,
                billing_day,
            },
        ),
        first_name,
        last_name,
        email,
    };
    let signed_in = services()?
        .setup
        .setup(&visitor(), &setup_code, &input, &password)
        .await?;
    for cookie in &signed_in.cookies {
        set_cookie(cookie);
    }
    leptos_axum::redirect(crate::api::operator::TWO_STEP_PATH);
    Ok(())
}
