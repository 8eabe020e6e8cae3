//! Corrections: an invoice made again with the account's billing details as they are now (a
//! new name, address or tax ID, and the tax that follows from them), in the same month, with
//! the next number of the series. The original stays as it was issued, cancelled by a credit
//! note for its whole amount; the two invoices name each other.
//!
//! The money follows the documents. What was paid for the original (by card, transfer or credit
//! balance) becomes credit, which the correction takes off its total like any invoice does; the
//! correction is charged for the rest, or leaves the difference as credit. An original still
//! unpaid is owed no more (status `corrected`, never charged again); only the credit balance it
//! had taken returns.

use tally_core::{
    billing::{date_of_millis, InvoiceStatus, Plan},
    views::billing::{CreditNote, CreditSettlement, Invoice},
    Datelike,
};

use super::{charging::Charging, figures, run, Rendered};
use crate::{
    billing::{
        cards,
        credit_notes::{self, NewCreditNote},
        einvoice::{self, Parties},
        info, settings,
    },
    identity::accounts::{self, AccountRow, Billable},
    platform::{
        context::Context,
        error::{ResultExt, ServiceError},
        work::Work,
    },
};
use tally_core::estimate::month_amounts;

/// A correction as made: the new invoice, the credit note that cancels the original, the new
/// invoice's documents, and who gets invoices.
pub struct Correction {
    pub invoice: Invoice,
    pub note: CreditNote,
    pub documents: Rendered,
    pub recipients: Vec<String>,
    /// The message to the billing contacts who subscribe to invoices.
    pub contacts: info::Lines,
}

/// Corrects `original` (read before, as the staff saw it) in `work`, with `reason` for the
/// credit note; `Conflict` when the invoice changed meanwhile (paid, corrected, credited).
pub async fn correct(
    ctx: &Context,
    work: &mut Work,
    account: &AccountRow,
    original: &Invoice,
    reason: &str,
    created_by: &str,
) -> Result<Correction, ServiceError> {
    if let Some(refusal) = original.correction_refusal() {
        return Err(ServiceError::Conflict(refusal));
    }
    let pool = ctx.db.pool();
    let billing = info::chunk(pool, &account.id, &account.id).await?;
    let cards = cards::tokens_between(pool, &account.id, &account.id).await?;
    let seller = settings::issuer(pool).await?;
    let tax = settings::read(pool).await?.tax;
    let issuer = settings::issuer_party(pool).await?;
    let info = billing.info.get(&account.id);
    let treatment = tax.treatment_for(info);
    // The same users at the same price as the original: only who is billed, and so the tax,
    // may differ.
    let plan = Plan {
        price_per_user: original.money(original.price_per_user_cents),
        free_users: original.free_users,
        billing_day: 1,
    };
    let net = plan
        .invoice_amount(original.peak_users)
        .ok_or_else(|| ServiceError::invariant("correcting an invoice", "the amount overflows"))?;
    let unpaid = InvoiceStatus::CHARGEABLE.contains(&original.status);
    let gross = original.gross_cents();
    let now = work.now();

    // The series' next number first (as the run takes it, before the rows others wait for).
    let year = date_of_millis(now).map_or(1970, |d| d.year());
    let number = credit_notes::take_numbers(work.tx(), run::INVOICE_SERIES, year, 1)
        .await?
        .pop()
        .ok_or_else(|| ServiceError::invariant("correcting an invoice", "no number taken"))?;
    // The original, only as it was read: corrected once, never after a payment or a credit
    // note came meanwhile.
    let marked = sqlx::query(
        "UPDATE invoices SET status = $1, credited_cents = $2, corrected_by = $3, next_attempt_at = NULL \
         WHERE id = $4 AND account_id = $5 AND status = $6 AND credited_cents = 0 AND corrected_by IS NULL",
    )
    .bind(if unpaid { InvoiceStatus::Corrected } else { original.status }.code())
    .bind(gross)
    .bind(&number)
    .bind(&original.id)
    .bind(&account.id)
    .bind(original.status.code())
    .execute(work.tx())
    .await
    .context("marking an invoice corrected")?;
    if marked.rows_affected() != 1 {
        return Err(ServiceError::Conflict(format!(
            "Invoice {} changed meanwhile (a charge went through, or it was corrected or credited). Reload to see it.",
            original.number
        )));
    }

    // The credit note cancels the whole original. What was paid for it becomes credit; of one
    // unpaid, only the credit balance it had taken.
    let returned = if unpaid {
        original.credit_applied_cents
    } else {
        gross
    };
    if returned > 0 {
        accounts::add_credit(work.tx(), &account.id, returned).await?;
    }
    let why = if unpaid {
        format!(
            "Cancels unpaid invoice {}, corrected by invoice {number}: {reason}",
            original.number
        )
    } else {
        format!("Corrected by invoice {number}: {reason}")
    };
    let note = credit_notes::insert(
        work.tx(),
        &NewCreditNote {
            id: &ctx.new_id(),
            account_id: &account.id,
            invoice_id: &original.id,
            invoice_number: &original.number,
            company_name: &original.company_name,
            billed_to: original.billed_to.as_deref(),
            amount: original.money(gross),
            reason: &why,
            settlement: CreditSettlement::Balance,
            charge_id: None,
            created_by,
        },
        now,
    )
    .await?;

    // The correction takes the credit as any invoice does.
    let balance = accounts::credit_balance_in(work.tx(), &account.id).await?;
    let amounts = month_amounts(
        &plan,
        original.peak_users,
        treatment.as_ref(),
        net.with_minor(balance),
    )
    .ok_or_else(|| ServiceError::invariant("correcting an invoice", "the amount overflows"))?;
    let billable = Billable {
        id: account.id.clone(),
        name: account.name.clone(),
    };
    let id = ctx.new_id();
    let invoice = Invoice {
        id: id.clone(),
        number: number.clone(),
        month: original.month.clone(),
        peak_users: original.peak_users,
        free_users: original.free_users,
        currency: original.currency,
        price_per_user_cents: original.price_per_user_cents,
        amount_cents: amounts.due.minor(),
        status: if amounts.due.is_zero() {
            InvoiceStatus::Zero
        } else {
            InvoiceStatus::Open
        },
        company_name: info.map_or_else(|| account.name.clone(), |i| i.company_name.clone()),
        created_at: now,
        paid_at: None,
        billed_to: Some(run::billed_to(&billable, &billing)),
        seller,
        references: billing
            .fields
            .get(&account.id)
            .filter(|f| !f.is_empty())
            .map(|f| f.printed_lines().join("\n")),
        card_label: cards.get(&account.id).map(|(_, label)| label.clone()),
        credit_applied_cents: amounts.credit_applied.minor(),
        credited_cents: 0,
        payment_reference: None,
        void_reason: None,
        tax_cents: amounts.tax.minor(),
        tax_rate_bp: treatment.map_or(0, |t| t.rate_bp),
        tax_category: treatment.map(|t| t.category),
        corrects: Some(original.number.clone()),
        corrected_by: None,
        peak_reached_on: original.peak_reached_on,
    };
    let parties = issuer.map(|seller| {
        let buyer = einvoice::buyer(&account.name, info, &seller.address.country);
        Parties { seller, buyer }
    });
    let parties_json = parties.as_ref().and_then(|p| serde_json::to_string(p).ok());
    let sql = format!(
        "INSERT INTO invoices ({}, corrects, corrects_number) VALUES ({}) RETURNING id",
        super::NEW_COLUMNS,
        (1..=super::NEW_COLUMN_COUNT + 2)
            .map(|n| format!("${n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    super::bind_new(
        sqlx::query_scalar::<_, String>(&sql),
        &invoice,
        &account.id,
        billing.contacts.get(&account.id).map(|c| c.email.as_str()),
        parties_json,
    )
    .bind(&original.id)
    .bind(&original.number)
    .fetch_one(work.tx())
    .await
    .context("inserting a corrected invoice")?;
    if invoice.credit_applied_cents > 0 {
        accounts::take_credit(work.tx(), &account.id, invoice.credit_applied_cents).await?;
    }
    // The month's figures are added up again; an original no longer owed may lift the
    // account's past-due flag.
    figures::changed(work.tx(), &invoice.month).await?;
    if unpaid {
        let flags = Charging::past_due_accounts(work.tx(), &[account.id.as_str()]).await?;
        accounts::set_past_due(work.tx(), &flags).await?;
    }
    let contacts = billing.contact_lines(
        &account.id,
        tally_core::billing_contacts::Subscription::Invoices,
    );
    let documents = super::render_documents(vec![(invoice.clone(), parties, contacts.languages())])
        .await?
        .pop()
        .map(|(_, d)| d)
        .ok_or_else(|| ServiceError::invariant("correcting an invoice", "no documents"))?;
    Ok(Correction {
        invoice,
        note,
        documents,
        recipients: billing.recipients(&account.id),
        contacts,
    })
}
