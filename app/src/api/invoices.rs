//! The Billing page: the plan, this month's peak and projection, the card, who gets invoices,
//! and the invoice history. View billing for all of it; Receive invoice emails and Request an
//! invoice copy for the two actions.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
#[cfg(feature = "ssr")]
use tally_core::roles::Action;
use tally_core::NaiveDate;

use crate::api::billing::CardSummary;
use crate::error::AppError;

/// Invoices shown per page.
pub const INVOICES_PER_PAGE: u32 = 12;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillingOverview {
    pub price_per_user_cents: i64,
    pub free_users: u64,
    /// Users now (active and suspended).
    pub users_now: u64,
    /// The largest user count of this month so far.
    pub peak_so_far: u64,
    /// What this month would cost if the peak stayed where it is.
    pub projected_cents: i64,
    /// This month, `YYYY-MM`.
    pub month: String,
    pub next_charge_date: NaiveDate,
    pub card: Option<CardSummary>,
    /// The card's expiry falls before the next charge date.
    pub card_expires_before_charge: bool,
    /// The billing contact: the billing information's, or the first billing administrator
    /// standing in while none is saved.
    pub contact_name: Option<String>,
    pub contact_email: Option<String>,
    /// Billing information was saved.
    pub has_billing_info: bool,
    /// Billing admins who opted in to invoice emails.
    pub opted_in: Vec<String>,
    /// The signed-in administrator gets invoices by email.
    pub me_opted_in: bool,
    pub past_due: bool,
    /// The largest user count of each day of this month so far (the 1st first).
    pub daily_peaks: Vec<u64>,
    /// The last 12 invoices, oldest first.
    pub history: Vec<MonthCharge>,
    /// This month day by day, drawn on the server (SVG; hidden from screen readers, who get
    /// the table of `daily_peaks`).
    pub month_chart: String,
    /// The last 12 months' peaks and charges, drawn on the server (SVG).
    pub year_chart: String,
}

/// A month's invoice as the Billing page's chart and table show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonthCharge {
    /// `YYYY-MM`.
    pub month: String,
    pub peak_users: u64,
    pub amount_cents: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceSummary {
    pub id: String,
    pub number: String,
    pub month: String,
    pub peak_users: u64,
    pub free_users: u64,
    pub price_per_user_cents: i64,
    pub amount_cents: i64,
    /// open, paid, failed, past_due or zero.
    pub status: String,
    pub company_name: String,
    pub created_at: i64,
    pub paid_at: Option<i64>,
}

impl InvoiceSummary {
    pub fn status_label(&self) -> &'static str {
        tally_core::billing::invoice_status_label(&self.status)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoicePage {
    pub invoices: Vec<InvoiceSummary>,
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
}

#[server(endpoint = "billing/overview")]
pub async fn get_billing_overview() -> Result<BillingOverview, AppError> {
    let actor = crate::auth::require(Action::ViewBilling)?;
    let services = crate::ports::services()?;
    services.invoices.overview(&actor).await
}

/// The invoice history, newest first; `page` counts from 1.
#[server(endpoint = "billing/invoices")]
pub async fn list_invoices(#[server(default)] page: u32) -> Result<InvoicePage, AppError> {
    let actor = crate::auth::require(Action::ViewBilling)?;
    let services = crate::ports::services()?;
    services.invoices.list(&actor, page.max(1)).await
}

#[server(endpoint = "billing/invoice")]
pub async fn get_invoice(id: String) -> Result<InvoiceSummary, AppError> {
    let actor = crate::auth::require(Action::ViewBilling)?;
    let services = crate::ports::services()?;
    services.invoices.get(&actor, &id).await
}

/// Emails a copy of an invoice to the billing contact (not to the one asking); returns where it went.
#[server(endpoint = "billing/request-copy")]
pub async fn request_invoice_copy(id: String) -> Result<String, AppError> {
    let actor = crate::auth::require(Action::RequestInvoiceCopy)?;
    let services = crate::ports::services()?;
    services.invoices.request_copy(&actor, &id).await
}

/// "Also email invoices to me", for the signed-in billing administrator.
#[server(endpoint = "billing/receive-invoices")]
pub async fn set_receive_invoices(on: bool) -> Result<(), AppError> {
    let actor = crate::auth::require(Action::ReceiveInvoiceEmails)?;
    let services = crate::ports::services()?;
    services.invoices.set_receive(&actor, on).await
}
