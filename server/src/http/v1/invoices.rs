//! `/v1/accounts/{account_id}/invoices`: an account's invoices, newest month first, one by
//! one, and each as its PDF.

use axum::{
    extract::{Path, State},
    http::header,
    response::{IntoResponse, Response},
    Json,
};
use serde::{Deserialize, Serialize};
use tally_core::{api_keys::ApiScope, billing::BillingMonth, views::billing::Invoice as View};
use utoipa::ToSchema;

use super::{accounts::AccountPath, problem::Problem, timestamp, Key, Page, PageQuery, Query};
use crate::http::AppState;

/// An invoice: one an account's month.
#[derive(Debug, Serialize, ToSchema)]
pub struct Invoice {
    pub id: String,
    /// Its number, as printed.
    pub number: String,
    /// The month it bills, `YYYY-MM`.
    pub month: String,
    pub status: InvoiceStatus,
    /// The most users at once that month, and how many of them were free.
    pub peak_users: u64,
    pub free_users: u64,
    /// The day (UTC, `YYYY-MM-DD`) the peak was first reached; absent on invoices made before
    /// Tally kept it.
    #[schema(example = "2026-10-05", format = Date)]
    pub peak_reached_on: Option<String>,
    /// Decimal amounts in `currency`: the price of each user beyond the free ones, what the
    /// users cost (`net`), the VAT on it (`tax`), the credit balance taken off, what was left
    /// to pay, and what credit notes have credited since.
    #[schema(example = "5.00")]
    pub price_per_user: String,
    pub net: String,
    pub tax: String,
    /// The VAT rate as a percentage (`"19"`, `"25.5"`) and its EN 16931 category: `S`
    /// (standard), `AE` (reverse charge), `O` (outside the scope of EU VAT); both absent on an
    /// invoice that bears no tax.
    #[schema(example = "19")]
    pub tax_rate: Option<String>,
    #[schema(example = "S")]
    pub tax_category: Option<String>,
    pub credit_applied: String,
    pub amount: String,
    pub credited: String,
    #[schema(example = "USD")]
    pub currency: String,
    /// RFC 3339.
    pub created_at: String,
    pub paid_at: Option<String>,
    /// A payment made otherwise than by card: its reference.
    pub payment_reference: Option<String>,
    /// Why the seller voided it.
    pub void_reason: Option<String>,
    /// The number of the invoice this one corrects (made again with the account's billing
    /// details as they were then; that one is cancelled by a credit note).
    pub corrects: Option<String>,
    /// The number of the invoice that corrects this one.
    pub corrected_by: Option<String>,
}

/// Where an invoice stands.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceStatus {
    Open,
    Paid,
    /// Nothing to pay: the peak stayed within the free users.
    Zero,
    /// A charge failed; it is retried.
    Failed,
    /// Every retry failed.
    PastDue,
    /// The cardholder's bank asks them to confirm the payment.
    ActionRequired,
    Void,
    /// Corrected while unpaid: cancelled by a credit note, its correction is owed instead.
    Corrected,
}

impl From<View> for Invoice {
    fn from(v: View) -> Self {
        use tally_core::billing::InvoiceStatus as S;
        Invoice {
            status: match v.status {
                S::Open => InvoiceStatus::Open,
                S::Paid => InvoiceStatus::Paid,
                S::Zero => InvoiceStatus::Zero,
                S::Failed => InvoiceStatus::Failed,
                S::PastDue => InvoiceStatus::PastDue,
                S::ActionRequired => InvoiceStatus::ActionRequired,
                S::Void => InvoiceStatus::Void,
                S::Corrected => InvoiceStatus::Corrected,
            },
            price_per_user: v.money(v.price_per_user_cents).decimal(),
            net: v.money(v.net_cents()).decimal(),
            tax: v.money(v.tax_cents).decimal(),
            tax_rate: v
                .tax_category
                .map(|_| tally_core::vat::rate_decimal(v.tax_rate_bp)),
            tax_category: v.tax_category.map(|c| c.code().to_string()),
            credit_applied: v.money(v.credit_applied_cents).decimal(),
            amount: v.money(v.amount_cents).decimal(),
            credited: v.money(v.credited_cents).decimal(),
            currency: v.currency.code().into(),
            created_at: timestamp(v.created_at),
            paid_at: v.paid_at.map(timestamp),
            id: v.id,
            number: v.number,
            month: v.month,
            peak_users: v.peak_users,
            free_users: v.free_users,
            peak_reached_on: v.peak_reached_on.map(|d| d.format("%Y-%m-%d").to_string()),
            payment_reference: v.payment_reference,
            void_reason: v.void_reason,
            corrects: v.corrects,
            corrected_by: v.corrected_by,
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct InvoicePath {
    /// The account's id.
    #[param(max_length = 64)]
    pub account_id: String,
    /// The invoice's id.
    #[param(max_length = 64)]
    pub invoice_id: String,
}

/// The account `account_id` as a key with `invoices:read` reads its billing documents.
pub(super) async fn reader(
    state: &AppState,
    key: &Key,
    account_id: &str,
) -> Result<tally_core::actor::Actor, Problem> {
    let operator = key.needs(ApiScope::InvoicesRead)?;
    Ok(state
        .services
        .customers
        .acting_in(operator, account_id, false)
        .await?)
}

/// List the account's invoices, the newest month first.
#[utoipa::path(get, path = "/v1/accounts/{account_id}/invoices", tag = "Invoices", operation_id = "listInvoices",
    params(AccountPath, PageQuery),
    security(("api_key" = ["invoices:read"])),
    responses((status = 200, description = "A page of invoices.", body = Page<Invoice>)))]
pub async fn list(
    State(state): State<AppState>,
    key: Key,
    Path(path): Path<AccountPath>,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<Invoice>>, Problem> {
    let actor = reader(&state, &key, &path.account_id).await?;
    let (limit, cursor) = page.checked()?;
    // The cursor is the last invoice's month and, since a corrected month has more than one
    // invoice, when it was made and its number ("2026-11:1764547200000:INV-2026-000012"; a
    // month alone, as lists gave before, is still read).
    let cursor = match cursor {
        None => None,
        Some(c) => {
            let mut parts = c.splitn(3, ':');
            let month = parts.next().unwrap_or_default();
            let made = match parts.next() {
                None => Some(i64::MIN),
                Some(m) => m.parse::<i64>().ok(),
            };
            let number = parts.next().unwrap_or_default();
            match (BillingMonth::parse(month), made) {
                (Some(_), Some(made)) => Some((month, made, number)),
                _ => {
                    return Err(Problem::invalid_field(
                        "cursor",
                        "This cursor is not one a list gave.",
                    ))
                }
            }
        }
    };
    let rows = state
        .services
        .invoices
        .page_before(&actor, cursor, limit + 1)
        .await?;
    let page = Page::of(rows, limit, |i| {
        format!("{}:{}:{}", i.month, i.created_at, i.number)
    });
    Ok(Json(Page {
        data: page.data.into_iter().map(Invoice::from).collect(),
        has_more: page.has_more,
        next_cursor: page.next_cursor,
    }))
}

/// Read one invoice.
#[utoipa::path(get, path = "/v1/accounts/{account_id}/invoices/{invoice_id}", tag = "Invoices", operation_id = "getInvoice",
    params(InvoicePath),
    security(("api_key" = ["invoices:read"])),
    responses((status = 200, description = "The invoice.", body = Invoice)))]
pub async fn get(
    State(state): State<AppState>,
    key: Key,
    Path(path): Path<InvoicePath>,
) -> Result<Json<Invoice>, Problem> {
    let actor = reader(&state, &key, &path.account_id).await?;
    let invoice = state
        .services
        .invoices
        .get(&actor, &path.invoice_id)
        .await?;
    Ok(Json(invoice.into()))
}

/// The invoice as the PDF its billing contact receives.
#[utoipa::path(get, path = "/v1/accounts/{account_id}/invoices/{invoice_id}/pdf", tag = "Invoices", operation_id = "getInvoicePdf",
    params(InvoicePath),
    security(("api_key" = ["invoices:read"])),
    responses((status = 200, description = "The PDF.", content_type = "application/pdf", body = Vec<u8>)))]
pub async fn pdf(
    State(state): State<AppState>,
    key: Key,
    Path(path): Path<InvoicePath>,
) -> Result<Response, Problem> {
    let actor = reader(&state, &key, &path.account_id).await?;
    let (number, pdf) = state
        .services
        .invoices
        .pdf(&actor, &path.invoice_id)
        .await?;
    Ok(pdf_response(&format!("tally-invoice-{number}.pdf"), pdf))
}

/// A PDF to download as `filename`.
pub(super) fn pdf_response(filename: &str, pdf: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        pdf,
    )
        .into_response()
}
