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
    #[server(default)] invoice_language: String,
) -> Result<(), AppError> {
    let actor = require(Action::ManagePaymentMethod)?;
    let input = tally_core::invoice_fields::InvoiceFieldsInput {
        language: invoice_language,
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

/// The account's billing contacts (the Billing page).
#[server(endpoint = "billing/contacts")]
pub async fn list_billing_contacts(
) -> Result<Vec<tally_core::billing_contacts::BillingContact>, AppError> {
    let actor = require(Action::ViewBilling)?;
    Ok(services()?.billing_contacts.list(&actor).await?)
}

/// Adds a billing contact, or (with `id`) changes one, held to core's rules: a name, one email
/// address not already a contact, To or Cc, and at least one kind of message (each a checkbox:
/// `invoices`, `receipts`, `payment_problems`, `spend_alerts`); at most ten (Administrators
/// With Billing).
#[server(endpoint = "billing/save-contact")]
pub async fn save_billing_contact(
    #[server(default)] id: String,
    #[server(default)] contact_name: String,
    #[server(default)] contact_email: String,
    #[server(default)] contact_line: String,
    #[server(default)] invoices: String,
    #[server(default)] receipts: String,
    #[server(default)] payment_problems: String,
    #[server(default)] spend_alerts: String,
    #[server(default)] contact_language: String,
) -> Result<tally_core::billing_contacts::BillingContact, AppError> {
    use tally_core::billing_contacts::{ContactInput, Subscription};
    let actor = require(Action::ManagePaymentMethod)?;
    let ticked = |v: &str| !v.is_empty() && v != "false" && v != "off";
    let subscriptions: Vec<&str> = [
        (Subscription::Invoices, &invoices),
        (Subscription::Receipts, &receipts),
        (Subscription::PaymentProblems, &payment_problems),
        (Subscription::SpendAlerts, &spend_alerts),
    ]
    .into_iter()
    .filter(|(_, v)| ticked(v))
    .map(|(s, _)| s.code())
    .collect();
    let contact = ContactInput {
        name: contact_name,
        email: contact_email,
        line: contact_line,
        subscriptions: subscriptions.join(","),
        language: contact_language,
    }
    .parse()?;
    let editing = (!id.is_empty()).then_some(id.as_str());
    Ok(services()?
        .billing_contacts
        .save(&actor, editing, &contact)
        .await?)
}

/// Removes one of the account's billing contacts (Administrators With Billing).
#[server(endpoint = "billing/remove-contact")]
pub async fn remove_billing_contact(id: String) -> Result<(), AppError> {
    let actor = require(Action::ManagePaymentMethod)?;
    Ok(services()?.billing_contacts.remove(&actor, &id).await?)
}

/// The account's spend alerts as the form starts from: the amount, the percentages and the
/// forecast box (blank when none are set), with the account's currency.
#[server(endpoint = "billing/spend-alerts")]
pub async fn get_spend_alerts() -> Result<tally_core::spend_alerts::SpendAlertsInput, AppError> {
    let actor = require(Action::ViewBilling)?;
    let saved = services()?.spend_alerts.get(&actor).await?;
    Ok(match saved {
        Some(a) => tally_core::spend_alerts::SpendAlertsInput {
            budget: a.budget.decimal(),
            thresholds: a
                .thresholds
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            forecast: a.forecast,
        },
        None => Default::default(),
    })
}

/// Sets the account's spend alerts (a blank amount removes them), held to core's rules, in
/// the account's currency (Administrators With Billing).
#[server(endpoint = "billing/save-spend-alerts")]
pub async fn save_spend_alerts(
    #[server(default)] alert_budget: String,
    #[server(default)] alert_thresholds: String,
    #[server(default)] alert_forecast: String,
) -> Result<(), AppError> {
    let actor = require(Action::ManagePaymentMethod)?;
    let typed = tally_core::spend_alerts::SpendAlertsInput {
        budget: alert_budget,
        thresholds: alert_thresholds,
        forecast: !alert_forecast.is_empty() && alert_forecast != "false",
    };
    Ok(services()?.spend_alerts.save_typed(&actor, &typed).await?)
}
