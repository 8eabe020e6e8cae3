//! The Billing page, an invoice, and the Billing & Payments modal. Card data here is only what
//! the account keeps of its card: never the number or the security code.

use serde::{Deserialize, Serialize};

use crate::{
    address::Address,
    billing::InvoiceStatus,
    card::Brand,
    forms::BillingInfo,
    money::{Currency, Money},
    NaiveDate,
};

/// Invoices shown per page.
pub const INVOICES_PER_PAGE: u32 = 12;

/// The card on file, as the account keeps it.
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
    /// Who saved it (their email), while they are an administrator.
    pub saved_by: Option<String>,
}

impl CardSummary {
    /// "Visa •••• 4242".
    pub fn label(&self) -> String {
        card_label(self.brand, &self.last4)
    }

    /// "12/30".
    pub fn expiry_label(&self) -> String {
        crate::expiry::label(self.exp_month, self.exp_year)
    }
}

/// "Visa •••• 4242": how a card reads wherever it is named.
pub fn card_label(brand: Brand, last4: &str) -> String {
    format!("{} •••• {}", brand.display_name(), last4)
}

/// The payment processor the browser confirms cards with (the card goes there, never to
/// Tally's server).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Processor {
    /// The processor's publishable key (meant for browsers).
    pub publishable_key: String,
    /// The processor's API: `https://api.stripe.com`, or the sandbox's path on this site.
    pub api_base: String,
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
    pub processor: Processor,
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
    /// How the invoice's status reads: "Authentication needed", "Paid", …
    pub status: String,
    /// Whether it still waits for the cardholder.
    pub waiting: bool,
    /// The payment's id and client secret with the processor, while it waits.
    pub payment_id: Option<String>,
    pub client_secret: Option<String>,
    /// The bank's page, when the processor gives one.
    pub redirect_url: Option<String>,
    pub processor: Processor,
}

/// A plan that starts with a later month.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanChange {
    /// The first month on it, `YYYY-MM`.
    pub from_month: String,
    #[serde(default)]
    pub currency: Currency,
    pub price_per_user_cents: i64,
    pub free_users: u64,
    /// The day of the following month each month on it is invoiced.
    pub billing_day: u32,
}

impl PlanChange {
    /// The plan itself.
    pub fn plan(&self) -> crate::billing::Plan {
        crate::billing::Plan {
            price_per_user: Money::new(self.price_per_user_cents, self.currency),
            free_users: self.free_users,
            billing_day: self.billing_day,
        }
    }

    /// `plan`, from `from_month` on.
    pub fn of(from_month: String, plan: &crate::billing::Plan) -> Self {
        Self {
            from_month,
            currency: plan.price_per_user.currency(),
            price_per_user_cents: plan.price_per_user.minor(),
            free_users: plan.free_users,
            billing_day: plan.billing_day,
        }
    }
}

/// The Billing page's summary of the month so far.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillingOverview {
    /// The plan's currency: every amount of the page is in it.
    #[serde(default)]
    pub currency: Currency,
    pub price_per_user_cents: i64,
    pub free_users: u64,
    /// The day of the next month this month is invoiced and charged on.
    pub billing_day: u32,
    /// A plan the seller has set for a later month, if any.
    pub next_plan: Option<PlanChange>,
    /// Users now (active and suspended).
    pub users_now: u64,
    /// The largest user count of this month so far.
    pub peak_so_far: u64,
    /// The UTC day it was first reached.
    pub peak_reached_on: NaiveDate,
    /// Users when the month opened.
    pub opening_users: u64,
    /// The last changes that set the peak (each took the count higher than ever before in the
    /// month), oldest first, and how many earlier ones are left out.
    pub peak_steps: Vec<crate::estimate::PeakStep>,
    pub earlier_peak_steps: usize,
    /// What this month would cost if the peak stayed where it is, tax included: the invoice
    /// a billing run would make now (before any credit).
    pub projected_cents: i64,
    /// The tax in it.
    pub projected_tax_cents: i64,
    /// How the account's invoices are taxed now; none when the seller charges no tax.
    pub tax: Option<crate::vat::Treatment>,
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
    /// Credit the seller gave, to be taken off the next invoices.
    pub credit_balance_cents: i64,
    /// The largest user count of each day of this month so far (the 1st first).
    pub daily_peaks: Vec<u64>,
    /// The spend alerts fired this month, what each said, oldest first.
    #[serde(default)]
    pub spend_alerts_fired: Vec<String>,
    /// The last 12 invoices, oldest first.
    pub history: Vec<MonthCharge>,
    /// This month day by day, drawn on the server (SVG; hidden from screen readers, who get
    /// the table of `daily_peaks`).
    pub month_chart: String,
    /// The last 12 months' peaks and charges, drawn on the server (SVG).
    pub year_chart: String,
}

impl BillingOverview {
    /// This month's plan.
    pub fn plan(&self) -> crate::billing::Plan {
        crate::billing::Plan {
            price_per_user: self.money(self.price_per_user_cents),
            free_users: self.free_users,
            billing_day: self.billing_day,
        }
    }

    /// Next month's plan: the change set for it, or this month's.
    pub fn next_month_plan(&self) -> crate::billing::Plan {
        let next = crate::billing::BillingMonth::parse(&self.month).map(|m| m.next().to_string());
        match &self.next_plan {
            Some(change) if Some(&change.from_month) == next.as_ref() => change.plan(),
            _ => self.plan(),
        }
    }

    /// An amount of the page, in minor units of its currency.
    pub fn money(&self, minor: i64) -> Money {
        Money::new(minor, self.currency)
    }
}

/// A month's invoice as the Billing page's chart and table show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonthCharge {
    /// `YYYY-MM`.
    pub month: String,
    pub peak_users: u64,
    pub amount: Money,
}

/// An invoice: its page, its line in the history, its emails and its PDF.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invoice {
    pub id: String,
    pub number: String,
    /// `YYYY-MM`.
    pub month: String,
    pub peak_users: u64,
    pub free_users: u64,
    /// The currency of its every amount.
    #[serde(default)]
    pub currency: Currency,
    pub price_per_user_cents: i64,
    pub amount_cents: i64,
    pub status: InvoiceStatus,
    pub company_name: String,
    /// UTC milliseconds.
    pub created_at: i64,
    pub paid_at: Option<i64>,
    /// Whom it is made out to, one line each, as it was when it was made.
    pub billed_to: Option<String>,
    /// Who made it out — the seller's name, address and tax ID, one line each — as they were
    /// when it was made (none on invoices from before the seller's details were kept on them).
    #[serde(default)]
    pub seller: Option<String>,
    /// The account's PO number and fields of its own, one line each (`PO number: 4500012345`),
    /// as they were when it was made.
    #[serde(default)]
    pub references: Option<String>,
    /// The card it was to be charged to when it was made ("Visa •••• 4242").
    pub card_label: Option<String>,
    /// The account's credit balance taken off it when it was made (the amount is what was
    /// left to pay).
    pub credit_applied_cents: i64,
    /// The VAT it bears (in the amount), at `tax_rate_bp` basis points.
    #[serde(default)]
    pub tax_cents: i64,
    #[serde(default)]
    pub tax_rate_bp: u32,
    /// How it is taxed; none on invoices that bear no tax (the seller registered nowhere, or
    /// made before tax was charged).
    #[serde(default)]
    pub tax_category: Option<crate::vat::TaxCategory>,
    /// Credited by credit notes so far.
    pub credited_cents: i64,
    /// Paid otherwise than by card: the payment's reference (a bank transfer's).
    pub payment_reference: Option<String>,
    /// Why the seller voided it.
    pub void_reason: Option<String>,
    /// The number of the invoice it corrects (it was made again with the account's billing
    /// details as they are now, and the original cancelled by a credit note).
    #[serde(default)]
    pub corrects: Option<String>,
    /// The number of the invoice that corrects it.
    #[serde(default)]
    pub corrected_by: Option<String>,
    /// The UTC day the month's peak was first reached; unknown for invoices made before
    /// Tally kept it.
    #[serde(default)]
    pub peak_reached_on: Option<NaiveDate>,
}

impl Invoice {
    pub fn status_label(&self) -> &'static str {
        self.status.label()
    }

    /// Users charged for: the peak less the free ones.
    pub fn billable_users(&self) -> u64 {
        self.peak_users.saturating_sub(self.free_users)
    }

    pub fn amount(&self) -> Money {
        self.money(self.amount_cents)
    }

    /// One of its amounts, in minor units of its currency.
    pub fn money(&self, minor: i64) -> Money {
        Money::new(minor, self.currency)
    }

    /// The users' cost and the tax on it, before any credit.
    pub fn gross_cents(&self) -> i64 {
        self.amount_cents.saturating_add(self.credit_applied_cents)
    }

    /// The users' cost, before tax.
    pub fn net_cents(&self) -> i64 {
        self.gross_cents().saturating_sub(self.tax_cents)
    }

    /// How it is taxed, when it is.
    pub fn tax_treatment(&self) -> Option<crate::vat::Treatment> {
        self.tax_category.map(|category| crate::vat::Treatment {
            category,
            rate_bp: self.tax_rate_bp,
        })
    }

    /// What a credit note can still credit: what was paid for it, less what is credited.
    pub fn creditable(&self) -> Money {
        if self.status == InvoiceStatus::Paid {
            self.money((self.amount_cents - self.credited_cents).max(0))
        } else {
            self.money(0)
        }
    }

    /// Whether it can be corrected: made again with the account's current billing details,
    /// and itself cancelled by a credit note.
    pub fn correctable(&self) -> bool {
        self.correction_refusal().is_none()
    }

    /// Why it cannot be corrected, as the seller's staff read it; `None` when it can.
    pub fn correction_refusal(&self) -> Option<String> {
        use InvoiceStatus as S;
        let number = &self.number;
        if let Some(by) = &self.corrected_by {
            return Some(format!(
                "Invoice {number} is corrected already, by invoice {by}: correct that one instead."
            ));
        }
        match self.status {
            S::Void | S::Corrected => {
                return Some(format!(
                    "Invoice {number} is {}: nothing is owed for it, so there is nothing to correct.",
                    self.status.label().to_lowercase()
                ))
            }
            S::ActionRequired => {
                return Some(format!(
                    "Invoice {number} waits for the cardholder's bank to confirm its payment: correct it once that is settled."
                ))
            }
            S::Paid | S::Zero | S::Open | S::Failed | S::PastDue => {}
        }
        if self.credited_cents > 0 {
            return Some(format!(
                "Invoice {number} has {} credited already: a correction cancels a whole invoice, so only one never credited can be corrected.",
                self.money(self.credited_cents)
            ));
        }
        if self.gross_cents() <= 0 {
            return Some(format!(
                "Invoice {number} is for {}: there is nothing to correct.",
                self.money(0)
            ));
        }
        None
    }

    /// How it was settled, when otherwise than by card: "Paid by bank transfer (SEPA-118)",
    /// "Voided: duplicate", "Corrected by invoice INV-2026-000012".
    pub fn settlement(&self) -> Option<String> {
        if let Some(number) = &self.corrected_by {
            return Some(format!("Corrected by invoice {number}"));
        }
        if let Some(number) = &self.corrects {
            return Some(format!("Corrects invoice {number}"));
        }
        if let Some(reason) = &self.void_reason {
            return Some(format!("Voided: {reason}"));
        }
        self.payment_reference
            .as_ref()
            .map(|r| format!("Paid by bank transfer (reference {r})"))
    }
}

/// Where a credit note's money goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CreditSettlement {
    /// Back to the card the invoice was paid with; the processor has not answered yet.
    RefundPending,
    /// Refunded to the card.
    Refunded,
    /// Kept as a credit balance, taken off the account's next invoices.
    Balance,
}

impl CreditSettlement {
    pub const ALL: [CreditSettlement; 3] = [
        CreditSettlement::RefundPending,
        CreditSettlement::Refunded,
        CreditSettlement::Balance,
    ];

    pub fn code(self) -> &'static str {
        match self {
            CreditSettlement::RefundPending => "refund_pending",
            CreditSettlement::Refunded => "refunded",
            CreditSettlement::Balance => "balance",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }

    pub fn label(self) -> &'static str {
        match self {
            CreditSettlement::RefundPending => "Refund to the card under way",
            CreditSettlement::Refunded => "Refunded to the card",
            CreditSettlement::Balance => "Credit balance for the next invoices",
        }
    }
}

/// A credit note: a numbered document crediting (part of) a paid invoice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditNote {
    pub id: String,
    /// `CN-2026-000007`: one unbroken series per seller.
    pub number: String,
    pub invoice_id: String,
    pub invoice_number: String,
    /// Its invoice's currency.
    #[serde(default)]
    pub currency: Currency,
    pub amount_cents: i64,
    pub reason: String,
    pub settlement: CreditSettlement,
    /// Why the refund to the card did not go through (the amount then went to the balance).
    pub refund_failure: Option<String>,
    /// The processor's refund id.
    pub refund_id: Option<String>,
    pub company_name: String,
    /// Whom the invoice was made out to, as on the invoice.
    pub billed_to: Option<String>,
    /// UTC milliseconds.
    pub created_at: i64,
}

impl CreditNote {
    pub fn amount(&self) -> Money {
        Money::new(self.amount_cents, self.currency)
    }

    /// Where the money went, in a sentence.
    pub fn settlement_sentence(&self) -> String {
        match (&self.refund_failure, self.settlement) {
            (Some(why), _) => format!(
                "The refund to the card did not go through ({why}), so the amount is kept as a credit balance for the next invoices."
            ),
            (None, s) => format!("{}.", s.label()),
        }
    }
}

/// A page of the invoice history, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoicePage {
    pub invoices: Vec<Invoice>,
    /// The messages about each invoice on the page (by its id), oldest first: to whom each
    /// went and whether it arrived.
    #[serde(default)]
    pub deliveries: std::collections::BTreeMap<String, Vec<MailDelivery>>,
    /// Every credit note of the account, newest first.
    pub credit_notes: Vec<CreditNote>,
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
}

/// One message about an invoice, as the Billing page reports its delivery.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailDelivery {
    /// Its To line (addresses, comma-separated) and Cc line.
    pub to: String,
    pub cc: Vec<String>,
    pub status: DeliveryStatus,
}

/// Where a message stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeliveryStatus {
    /// Waiting for its first attempt.
    Queued,
    /// Accepted by the mail server (or written to the outbox folder), at this time (UTC ms).
    Sent(i64),
    /// An attempt failed with this error; it is tried again.
    Retrying(String),
    /// Given up after its last attempt, with this error.
    Failed(String),
}

impl MailDelivery {
    /// "ap@globex.test; Cc: cfo@globex.test": who it went to.
    pub fn recipients(&self) -> String {
        if self.cc.is_empty() {
            self.to.clone()
        } else {
            format!("{}; Cc: {}", self.to, self.cc.join(", "))
        }
    }

    /// "sent", "retrying: connection refused", "failed: mailbox unavailable".
    pub fn status_label(&self) -> String {
        match &self.status {
            DeliveryStatus::Queued => "queued".into(),
            DeliveryStatus::Sent(_) => "sent".into(),
            DeliveryStatus::Retrying(e) => format!("retrying: {e}"),
            DeliveryStatus::Failed(e) => format!("failed: {e}"),
        }
    }
}
