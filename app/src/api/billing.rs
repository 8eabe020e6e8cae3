//! The Billing page and an invoice's page: the plan, this month's peak and projection, the
//! card, who gets invoices, and the invoice history. View billing for all of it; Receive
//! invoice emails and Request an invoice copy for the two actions.

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
