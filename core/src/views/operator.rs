//! What the operator console's server functions answer with: customer accounts as the
//! seller's staff see them.

use serde::{Deserialize, Serialize};

use crate::{
    account_status::AccountStatus,
    money::{Currency, Money},
    roles::{AdminStatus, Role},
    views::{
        account::AuditEntry,
        billing::{CardSummary, CreditNote, Invoice, PlanChange},
    },
};

/// One customer account in the console's list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerAccountRow {
    pub id: String,
    pub name: String,
    /// UTC milliseconds.
    pub created_at: i64,
    /// Administrators, invited ones included.
    pub administrators: u32,
    /// Users (seats) now, suspended ones included.
    pub users: u32,
    /// The last invoice could not be charged after every retry.
    pub past_due: bool,
    pub card_on_file: bool,
    pub status: AccountStatus,
    /// This month's peak so far, and what it comes to on the account's plan.
    pub peak_this_month: u64,
    /// The currency of its plan, and of the amounts here.
    #[serde(default)]
    pub currency: Currency,
    pub estimate_cents: i64,
    /// What its last invoice came to (its monthly revenue).
    pub monthly_revenue_cents: i64,
    /// Invoices made and not paid: due, failed, past due or waiting for the bank.
    pub amount_due_cents: i64,
}

/// How the console's list of accounts is ordered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum AccountOrder {
    /// By company name, A to Z.
    #[default]
    Name,
    /// Newest first.
    Newest,
}

/// One page of customer accounts matching a search and filters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerAccountPage {
    pub accounts: Vec<CustomerAccountRow>,
    /// How many accounts match the search and filters.
    pub matching: u64,
    /// How many accounts there are.
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
}

/// One administrator of a customer account, as the console lists them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountAdministrator {
    pub id: String,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub status: AdminStatus,
    /// Whether they sign in with a second step (an app or a passkey).
    pub two_step: bool,
}

/// A customer account's page in the console.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerAccountDetail {
    pub id: String,
    pub name: String,
    /// UTC milliseconds.
    pub created_at: i64,
    pub past_due: bool,
    pub status: AccountStatus,
    /// Why it was suspended or closed.
    pub status_reason: Option<String>,
    /// Users now (active and suspended).
    pub users_now: u64,
    /// This month's plan: its currency (that of every amount here), price and free users.
    #[serde(default)]
    pub currency: Currency,
    pub price_per_user_cents: i64,
    pub free_users: u64,
    /// The day of the next month this month is invoiced and charged on.
    pub billing_day: u32,
    /// A plan set for a later month.
    pub next_plan: Option<PlanChange>,
    pub card: Option<CardSummary>,
    pub administrators: Vec<AccountAdministrator>,
    /// The newest invoices (at most 12).
    pub invoices: Vec<Invoice>,
    /// Every credit note, newest first.
    pub credit_notes: Vec<CreditNote>,
    /// The newest charge attempts (at most 20), with the processor's ids.
    pub charges: Vec<ChargeRow>,
    /// This month day by day: the most users each day so far, and the chart of it (SVG drawn
    /// by the server).
    pub daily_peaks: Vec<u64>,
    pub month_chart: String,
    /// Credit to be taken off the next invoices.
    pub credit_balance_cents: i64,
    /// The newest events of the account's audit log (at most 20), the seller's staff's among them.
    pub audit: Vec<AuditEntry>,
}

impl CustomerAccountDetail {
    /// This month's plan.
    pub fn plan(&self) -> crate::billing::Plan {
        crate::billing::Plan {
            price_per_user: self.money(self.price_per_user_cents),
            free_users: self.free_users,
            billing_day: self.billing_day,
        }
    }

    /// An amount of the account's, in minor units of its currency.
    pub fn money(&self, minor: i64) -> Money {
        Money::new(minor, self.currency)
    }
}

impl CustomerAccountRow {
    /// An amount of the account's, in minor units of its currency.
    pub fn money(&self, minor: i64) -> Money {
        Money::new(minor, self.currency)
    }
}

/// One charge attempt of an account's invoice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChargeRow {
    pub invoice_number: String,
    /// 1 for the first.
    pub attempt: i64,
    /// UTC milliseconds.
    pub at: i64,
    /// "Succeeded", "Failed", "Waiting for the bank".
    pub outcome: String,
    /// Why it failed, as the person paying read it.
    pub message: String,
    /// The processor's payment, for a charge that went through or waits for the bank.
    pub processor_id: Option<String>,
}

/// One month of the seller's revenue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevenueMonth {
    /// `YYYY-MM`.
    pub month: String,
    /// What that month's invoices came to (its recurring revenue).
    pub invoiced_cents: i64,
    /// What was paid during that month, whatever month it was for.
    pub collected_cents: i64,
    /// Users billed for that month: each invoice's peak beyond its free users.
    pub users_billed: u64,
    /// Accounts invoiced for that month.
    pub accounts_invoiced: u64,
}

/// An account with invoices charged and not paid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PastDueAccount {
    pub id: String,
    pub name: String,
    pub due: Money,
    /// The month of its oldest unpaid invoice, `YYYY-MM`.
    pub oldest_month: String,
}

/// The revenue in one currency: amounts of different currencies are never added up.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrencyRevenue {
    pub currency: Currency,
    /// Monthly recurring revenue now: what the last month invoiced came to.
    pub mrr_cents: i64,
    /// The last 12 months, oldest first (the month under way is not one: it is not invoiced).
    pub months: Vec<RevenueMonth>,
    /// Charged and not paid (failed, past due, or waiting for the bank).
    pub past_due_cents: i64,
    /// The accounts with the most unpaid, most first (at most 10).
    pub most_past_due: Vec<PastDueAccount>,
}

impl CurrencyRevenue {
    /// One of its amounts, in minor units of its currency.
    pub fn money(&self, minor: i64) -> Money {
        Money::new(minor, self.currency)
    }
}

/// The console's revenue page: every figure from the invoices themselves, in each currency
/// the seller bills in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revenue {
    /// US dollars first, then every other currency invoiced in the last 12 months or owed.
    pub currencies: Vec<CurrencyRevenue>,
    /// Accounts by standing: active, suspended, closed.
    pub active: u64,
    pub suspended: u64,
    pub closed: u64,
}

/// One of the seller's operators, as the Owner's operators page lists them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorListRow {
    pub id: String,
    pub name: String,
    pub email: String,
    pub role: crate::operators::OperatorRole,
    pub status: AdminStatus,
    /// Whether they have a second step (an app or a passkey).
    pub two_step: bool,
    /// When their newest invitation link stops working, while one is unused and valid.
    pub invitation_expires_at: Option<i64>,
    /// When one of their sessions was last seen, UTC milliseconds.
    pub last_seen_at: Option<i64>,
    /// The operator looking at the page.
    pub is_you: bool,
}

/// One API key, as the Owner's API keys page lists it (never the key itself).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyRow {
    pub id: String,
    pub name: String,
    /// The key's first characters, `tly_` and eight more.
    pub visible: String,
    pub scopes: Vec<crate::api_keys::ApiScope>,
    /// Who made it (an operator's name) and when, UTC milliseconds.
    pub created_by: String,
    pub created_at: i64,
    /// When a call last used it, to the minute.
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// A key just made: the whole key, shown this once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedApiKey {
    pub key: String,
    pub row: ApiKeyRow,
}

/// A webhook endpoint, as the Owner's Webhooks page lists it (never its secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookEndpointRow {
    pub id: String,
    pub url: String,
    pub events: Vec<crate::webhooks::WebhookEvent>,
    /// Who registered it (an operator's name) and when, UTC milliseconds.
    pub created_by: String,
    pub created_at: i64,
    /// Removed: nothing more is sent to it.
    pub disabled_at: Option<i64>,
    /// Deliveries still being retried, and deliveries given up after every retry.
    pub retrying: u64,
    pub failed: u64,
}

/// An endpoint just registered: its signing secret, shown this once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedWebhook {
    /// `whsec_` and the key in base64, as Standard Webhooks libraries take it.
    pub secret: String,
    pub row: WebhookEndpointRow,
}

/// One event sent (or being sent) to an endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookDeliveryRow {
    /// The `webhook-id` every attempt carries.
    pub id: String,
    pub event: String,
    pub created_at: i64,
    pub attempts: u32,
    /// The endpoint's HTTP status at the last attempt; `None` when it gave none (no
    /// connection, a timeout), with `last_error` saying what happened.
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    pub last_attempt_at: Option<i64>,
    pub next_attempt_at: Option<i64>,
    pub delivered_at: Option<i64>,
}

impl WebhookDeliveryRow {
    /// Where it stands, in a word or two.
    pub fn state(&self) -> &'static str {
        match (self.next_attempt_at, self.delivered_at) {
            (Some(_), _) if self.attempts == 0 => "Queued",
            (Some(_), _) => "Retrying",
            (None, Some(_)) => "Delivered",
            (None, None) => "Failed",
        }
    }
}

/// A moment as the console's delivery lists show it: `2026-12-06 09:41 UTC` (the same on the
/// server and in the browser).
pub fn utc_minute(millis: i64) -> String {
    chrono::DateTime::from_timestamp_millis(millis)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}
