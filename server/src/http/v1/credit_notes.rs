//! `/v1/accounts/{account_id}/credit_notes`: an account's credit notes, newest first, one by
//! one and each as its PDF; and a new one against a paid invoice, refunded to the card it was
//! paid with or kept as the account's credit.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::Response,
    Json,
};
use serde::{Deserialize, Serialize};
use tally_core::{
    api_keys::ApiScope,
    money_actions::CreditNoteInput,
    views::billing::{CreditNote as View, CreditSettlement},
};
use utoipa::ToSchema;

use super::{
    accounts::AccountPath,
    invoices::{pdf_response, reader, Invoice, InvoicePath},
    problem::Problem,
    timestamp, Body, Key, Page, PageQuery, Query,
};
use crate::http::AppState;

/// A credit note: a numbered document crediting part or all of a paid invoice.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreditNote {
    pub id: String,
    /// Its number, one unbroken series for the seller: `CN-2026-000007`.
    pub number: String,
    /// The invoice it credits.
    pub invoice_id: String,
    pub invoice_number: String,
    /// A decimal amount in `currency`.
    #[schema(example = "12.50")]
    pub amount: String,
    #[schema(example = "USD")]
    pub currency: String,
    pub reason: String,
    pub settlement: Settlement,
    /// Why the refund to the card did not go through (the amount then went to the balance).
    pub refund_failure: Option<String>,
    /// RFC 3339.
    pub created_at: String,
}

/// Where a credit note's money goes.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Settlement {
    /// Back to the card the invoice was paid with; the processor has not answered yet.
    RefundPending,
    /// Refunded to the card.
    Refunded,
    /// Kept as a credit balance, taken off the account's next invoices.
    Balance,
}

impl From<View> for CreditNote {
    fn from(v: View) -> Self {
        CreditNote {
            amount: v.amount().decimal(),
            currency: v.currency.code().into(),
            settlement: match v.settlement {
                CreditSettlement::RefundPending => Settlement::RefundPending,
                CreditSettlement::Refunded => Settlement::Refunded,
                CreditSettlement::Balance => Settlement::Balance,
            },
            created_at: timestamp(v.created_at),
            id: v.id,
            number: v.number,
            invoice_id: v.invoice_id,
            invoice_number: v.invoice_number,
            reason: v.reason,
            refund_failure: v.refund_failure,
        }
    }
}

/// A credit note to make.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCreditNote {
    /// A decimal amount, at most what is left to credit on the invoice (`"12.50"`). Leave it
    /// out to credit everything not credited yet.
    #[schema(example = "12.50", max_length = 32)]
    pub amount: Option<String>,
    /// Why, as the account's billing contact reads it on the note.
    #[schema(example = "Two users counted twice in November", max_length = 500)]
    pub reason: String,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct CreditNotePath {
    /// The account's id.
    #[param(max_length = 64)]
    pub account_id: String,
    /// The credit note's id.
    #[param(max_length = 64)]
    pub credit_note_id: String,
}

/// List the account's credit notes, the newest first.
#[utoipa::path(get, path = "/v1/accounts/{account_id}/credit_notes", tag = "Credit notes", operation_id = "listCreditNotes",
    params(AccountPath, PageQuery),
    security(("api_key" = ["invoices:read"])),
    responses((status = 200, description = "A page of credit notes.", body = Page<CreditNote>)))]
pub async fn list(
    State(state): State<AppState>,
    key: Key,
    Path(path): Path<AccountPath>,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<CreditNote>>, Problem> {
    let actor = reader(&state, &key, &path.account_id).await?;
    let (limit, cursor) = page.checked()?;
    let rows = state
        .services
        .credit_notes
        .page_before(&actor, cursor, limit + 1)
        .await?;
    let page = Page::of(rows, limit, |n| n.number.clone());
    Ok(Json(Page {
        data: page.data.into_iter().map(CreditNote::from).collect(),
        has_more: page.has_more,
        next_cursor: page.next_cursor,
    }))
}

/// Read one credit note.
#[utoipa::path(get, path = "/v1/accounts/{account_id}/credit_notes/{credit_note_id}", tag = "Credit notes", operation_id = "getCreditNote",
    params(CreditNotePath),
    security(("api_key" = ["invoices:read"])),
    responses((status = 200, description = "The credit note.", body = CreditNote)))]
pub async fn get(
    State(state): State<AppState>,
    key: Key,
    Path(path): Path<CreditNotePath>,
) -> Result<Json<CreditNote>, Problem> {
    let actor = reader(&state, &key, &path.account_id).await?;
    let note = state
        .services
        .credit_notes
        .get(&actor, &path.credit_note_id)
        .await?;
    Ok(Json(note.into()))
}

/// The credit note as the PDF its billing contact receives.
#[utoipa::path(get, path = "/v1/accounts/{account_id}/credit_notes/{credit_note_id}/pdf", tag = "Credit notes", operation_id = "getCreditNotePdf",
    params(CreditNotePath),
    security(("api_key" = ["invoices:read"])),
    responses((status = 200, description = "The PDF.", content_type = "application/pdf", body = Vec<u8>)))]
pub async fn pdf(
    State(state): State<AppState>,
    key: Key,
    Path(path): Path<CreditNotePath>,
) -> Result<Response, Problem> {
    let actor = reader(&state, &key, &path.account_id).await?;
    let (number, pdf) = state
        .services
        .credit_notes
        .pdf(&actor, &path.credit_note_id)
        .await?;
    Ok(pdf_response(
        &format!("tally-credit-note-{number}.pdf"),
        pdf,
    ))
}

/// Credit part or all of a paid invoice. Paid by card, the amount is refunded to that card
/// (`settlement` is `refund_pending` until the processor answers); paid otherwise, it is kept
/// as the account's credit balance, taken off its next invoices. The billing contact is
/// emailed the note.
#[utoipa::path(post, path = "/v1/accounts/{account_id}/invoices/{invoice_id}/credit_notes", tag = "Credit notes", operation_id = "createCreditNote",
    params(InvoicePath),
    request_body = NewCreditNote,
    security(("api_key" = ["credit_notes:write"])),
    responses((status = 201, description = "The credit note, as it then stands.", body = CreditNote)))]
pub async fn create(
    State(state): State<AppState>,
    key: Key,
    Path(path): Path<InvoicePath>,
    Body(body): Body<NewCreditNote>,
) -> Result<(StatusCode, Json<CreditNote>), Problem> {
    let operator = key.needs(ApiScope::CreditNotesWrite)?;
    let input = CreditNoteInput {
        whole: body.amount.is_none(),
        amount: body.amount.unwrap_or_default(),
        reason: body.reason,
    };
    let note = state
        .services
        .money
        .credit_note(operator, &path.account_id, &path.invoice_id, &input)
        .await?;
    Ok((StatusCode::CREATED, Json(note.into())))
}

/// A correction to make.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCorrection {
    /// Why, as the account's billing contact reads it on the credit note.
    #[schema(example = "VAT ID added after the invoice was made", max_length = 500)]
    pub reason: String,
}

/// Correct an invoice: it is made again, for the same users and month, with the account's
/// billing details as they are now (name, address, tax ID, and the tax that follows), numbered
/// next in the series; the original is cancelled by a credit note for its whole amount. What
/// was paid for the original is taken off the correction, and the card on file is charged the
/// rest; an original still unpaid is no longer owed. Both documents are emailed. Not for an
/// invoice voided, credited or corrected already.
#[utoipa::path(post, path = "/v1/accounts/{account_id}/invoices/{invoice_id}/corrections", tag = "Invoices", operation_id = "correctInvoice",
    params(InvoicePath),
    request_body = NewCorrection,
    security(("api_key" = ["credit_notes:write"])),
    responses((status = 201, description = "The correction, as it then stands.", body = Invoice)))]
pub async fn correct(
    State(state): State<AppState>,
    key: Key,
    Path(path): Path<InvoicePath>,
    Body(body): Body<NewCorrection>,
) -> Result<(StatusCode, Json<Invoice>), Problem> {
    let operator = key.needs(ApiScope::CreditNotesWrite)?;
    let made = state
        .services
        .money
        .correct(operator, &path.account_id, &path.invoice_id, &body.reason)
        .await?;
    Ok((StatusCode::CREATED, Json(made.into())))
}
