//! The Billing page and an invoice's page: the plan, this month's peak and projection, the
//! card, who gets invoices, and the invoice history. View billing for all of it; Receive
//! invoice emails and Request an invoice copy for the two actions; Manage the payment method
//! for the invoices' PO number and fields (one argument per form field).
#![allow(clippy::too_many_arguments)]

use leptos::prelude::*;
#[cfg(feature = "ssr")]
use tally_core::roles::Action;
use tally_core::views::billing::{BillingOverview, Invoice, InvoicePage};

#[cfg(feature = "ssr")]
use crate::auth::{require, services};
use crate::error::AppError;

#[server(endpoint = "billing/overview")]
pub async fn get_billing_overview() -> Result<BillingOverview, AppError> {
    let actor = require(Action::ViewBilling)?;
    Ok(services()?.invoices.overview(&actor).await?)
}

/// The invoice history, newest first; `page` counts from 1.
#[server(endpoint = "billing/invoices")]
pub async fn list_invoices(#[server(default)] page: u32) -> Result<InvoicePage, AppError> {
    let actor = require(Action::ViewBilling)?;
    Ok(services()?.invoices.list(&actor, page.max(1)).await?)
}

#[server(endpoint = "billing/invoice")]
pub async fn get_invoice(id: String) -> Result<Invoice, AppError> {
    let actor = require(Action::ViewBilling)?;
    Ok(services()?.invoices.get(&actor, &id).await?)
}

/// Emails a copy of an invoice to the billing contact (not to the one asking); returns where
/// it went.
#[server(endpoint = "billing/request-copy")]
pub async fn request_invoice_copy(id: String) -> Result<String, AppError> {
    let actor = require(Action::RequestInvoiceCopy)?;
    Ok(services()?.invoices.request_copy(&actor, &id).await?)
}

/// "Also email invoices to me", for the signed-in billing administrator.
#[server(endpoint = "billing/receive-invoices")]
pub async fn set_receive_invoices(on: bool) -> Result<(), AppError> {
    let actor = require(Action::ReceiveInvoiceEmails)?;
    Ok(services()?.invoices.set_receive(&actor, on).await?)
}

/// The PO number and fields of its own the account's invoices print, as the form starts from.
#[server(endpoint = "billing/invoice-fields")]
pub async fn get_invoice_fields() -> Result<tally_core::invoice_fields::InvoiceFieldsInput, AppError>
{
    let actor = require(Action::ViewBilling)?;
    let saved = services()?.billing_info.invoice_fields(&actor).await?;
    Ok((&saved).into())
}

/// Saves the PO number and up to five name/value fields printed on the account's invoices from
/// now on (a fresh check). Blank pairs are left out; each field is held to core's rules.
#[server(endpoint = "billing/save-invoice-fields")]
pub async fn save_invoice_fields(
    #[server(default)] po_number: String,
    #[server(default)] name1: String,
    #[server(default)] value1: String,
    #[server(default)] name2: String,
    #[server(default)] value2: String,
    #[server(default)] name3: String,
    #[server(default)] value3: String,
    #[server(default)] name4: String,
    #[server(default)] value4: String,
    #[server(default)] name5: String,
    #[server(default)] value5: String,
) -> Result<(), AppError> {
    let actor = require(Action::ManagePaymentMethod)?;
    let input = tally_core::invoice_fields::InvoiceFieldsInput {
        po_number,
        custom: vec![
            (name1, value1),
            (name2, value2),
            (name3, value3),
            (name4, value4),
            (name5, value5),
        ],
    };
    let fields = input.parse()?;
    services()?
        .billing_info
        .save_invoice_fields(&actor, &fields)
        .await?;
    Ok(())
}

/// The account's limit on its users, if any, and how many it has (the Billing page).
#[server(endpoint = "billing/seat-cap")]
pub async fn get_seat_cap() -> Result<tally_core::seat_cap::SeatCap, AppError> {
    let actor = require(Action::ViewBilling)?;
    Ok(services()?.users.seat_cap(&actor).await?)
}

/// Sets the account's limit on its users (blank: none), held to core's rules and not below
/// the users it has (Administrators With Billing).
#[server(endpoint = "billing/save-seat-cap")]
pub async fn save_seat_cap(#[server(default)] seat_cap: String) -> Result<(), AppError> {
    let actor = require(Action::ManagePaymentMethod)?;
    let cap = tally_core::seat_cap::parse(&seat_cap).map_err(|e| AppError::field("seat_cap", e))?;
    Ok(services()?.users.set_seat_cap(&actor, cap).await?)
}
