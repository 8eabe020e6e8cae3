//! The seller's money actions on a customer account's invoices (Finance and Owner, each with a
//! fresh check): retry a failed charge now, record a payment made by bank transfer, void an
//! unpaid invoice, and issue a credit note. Each is audited in the account's log as done by
//! the seller's staff and emailed to the account's billing contact.
//!
//! A credit note against an invoice paid by card is refunded to that card through the payment
//! gateway; against one paid otherwise it is kept as a credit balance, taken off the account's
//! next invoices. The note (its number, the invoice's credited amount) is recorded first, as
//! "refund pending"; the processor is asked with the note's own idempotency key; the answer is
//! recorded after. A process that dies in between leaves the note pending, and the scheduler
//! asks again with the same key (so the card is refunded once). A processor that refuses the
//! refund for good leaves the note standing, its amount kept as credit instead.

use tally_core::{
    actor::OperatorActor,
    audit::AuditKind,
    billing::InvoiceStatus,
    billing_contacts::Subscription,
    money_actions::{payment_reference, reason, CreditNoteInput, InvoiceAction},
    operators::OperatorAction,
    views::billing::{CreditNote, CreditSettlement, Invoice},
    webhooks::WebhookEvent,
};

use super::{customers::allowed, profile};
use crate::{
    billing::{
        credit_notes::{self, NewCreditNote, Refunds},
        info,
        invoices::{self, charging::Charging, corrections},
    },
    identity::accounts::{self, AccountRow},
    platform::{
        audit::Event,
        context::Context,
        error::ServiceError,
        mail::{
            emails::{self, Settled},
            Mail,
        },
        webhooks::{invoice_hook, Hook},
        work::Work,
    },
};

/// The money actions.
#[derive(Clone)]
pub struct MoneyActions {
    ctx: Context,
    refunds: Refunds,
    charging: Charging,
}

impl MoneyActions {
    pub fn new(ctx: Context, refunds: Refunds, charging: Charging) -> Self {
        Self {
            ctx,
            refunds,
            charging,
        }
    }

    /// The account and its invoice, if the operator may act on money (fresh) and the invoice
    /// allows `action`.
    async fn invoice_for(
        &self,
        operator: &OperatorActor,
        account_id: &str,
        invoice_id: &str,
        action: InvoiceAction,
    ) -> Result<(AccountRow, Invoice), ServiceError> {
        allowed(operator, OperatorAction::MoneyActions)?;
        if !operator.is_fresh(self.ctx.now()) {
            return Err(ServiceError::FreshCheckRequired);
        }
        let (account, invoice) = self.read(operator, account_id, invoice_id).await?;
        self.may_act(operator, &invoice, action)?;
        Ok((account, invoice))
    }

    /// The account and its invoice, for an operator allowed money actions.
    async fn read(
        &self,
        operator: &OperatorActor,
        account_id: &str,
        invoice_id: &str,
    ) -> Result<(AccountRow, Invoice), ServiceError> {
        allowed(operator, OperatorAction::MoneyActions)?;
        let pool = self.ctx.db.pool();
        let account = accounts::by_id(pool, account_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let invoice = invoices::get(pool, &account.id, invoice_id).await?;
        Ok((account, invoice))
    }

    /// Whether `action` may be taken on `invoice` now: a fresh check, and an invoice in a
    /// state that allows it.
    fn may_act(
        &self,
        operator: &OperatorActor,
        invoice: &Invoice,
        action: InvoiceAction,
    ) -> Result<(), ServiceError> {
        if !operator.is_fresh(self.ctx.now()) {
            return Err(ServiceError::FreshCheckRequired);
        }
        if !action.permits(invoice) {
            return Err(ServiceError::Conflict(match action {
                InvoiceAction::Correct => invoice
                    .correction_refusal()
                    .unwrap_or_else(|| action.refusal(&invoice.number, invoice.status)),
                _ => action.refusal(&invoice.number, invoice.status),
            }));
        }
        Ok(())
    }

    /// Charges a failed or past-due invoice now; returns the invoice as it then stands (the
    /// charge's failure is emailed as every failed charge is; a success is emailed here).
    pub async fn retry_now(
        &self,
        operator: &OperatorActor,
        account_id: &str,
        invoice_id: &str,
    ) -> Result<Invoice, ServiceError> {
        let (account, invoice) = self
            .invoice_for(operator, account_id, invoice_id, InvoiceAction::RetryNow)
            .await?;
        let attempted = self.charging.retry_now(&account.id, &invoice.id).await?;
        if !attempted {
            return Err(ServiceError::Conflict(
                "The payment processor could not be reached. Nothing was charged; try again in a little while.".into(),
            ));
        }
        let after = invoices::get(self.ctx.db.pool(), &account.id, &invoice.id).await?;
        let paid = after.status == tally_core::billing::InvoiceStatus::Paid;
        let mut work = self.ctx.begin("recording a retried charge").await?;
        work.audit(Event {
            account_id: Some(account.id.clone()),
            ..Event::by_operator(
                operator,
                AuditKind::ChargeRetried,
                invoice.number.as_str(),
                format!("retried at once: {}", after.status.label().to_lowercase()),
            )
        });
        if paid {
            let what = Settled::Charged {
                amount: invoice.amount(),
            };
            self.notify(
                &mut work,
                &account,
                &invoice.number,
                &what,
                Subscription::Receipts,
            )
            .await?;
        }
        work.commit().await?;
        Ok(after)
    }

    /// Records an unpaid invoice as paid by bank transfer, with the transfer's reference.
    pub async fn mark_paid(
        &self,
        operator: &OperatorActor,
        account_id: &str,
        invoice_id: &str,
        reference: &str,
    ) -> Result<(), ServiceError> {
        let reference =
            payment_reference(reference).map_err(|e| ServiceError::field("reference", e))?;
        let (account, invoice) = self
            .invoice_for(operator, account_id, invoice_id, InvoiceAction::MarkPaid)
            .await?;
        let what = Settled::Transfer {
            amount: invoice.amount(),
            reference: &reference,
        };
        self.settle(
            operator,
            &account,
            &invoice,
            Ok(&reference),
            AuditKind::InvoiceMarkedPaid,
            &format!("paid by bank transfer, reference {reference}"),
            &what,
        )
        .await
    }

    /// Voids an unpaid invoice, with the reason the billing contact reads.
    pub async fn void(
        &self,
        operator: &OperatorActor,
        account_id: &str,
        invoice_id: &str,
        why: &str,
    ) -> Result<(), ServiceError> {
        let why = reason(why).map_err(|e| ServiceError::field("reason", e))?;
        let (account, invoice) = self
            .invoice_for(operator, account_id, invoice_id, InvoiceAction::Void)
            .await?;
        let what = Settled::Voided {
            amount: invoice.amount(),
            reason: &why,
        };
        self.settle(
            operator,
            &account,
            &invoice,
            Err(&why),
            AuditKind::InvoiceVoided,
            &why,
            &what,
        )
        .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn settle(
        &self,
        operator: &OperatorActor,
        account: &AccountRow,
        invoice: &Invoice,
        paid: Result<&str, &str>,
        kind: AuditKind,
        detail: &str,
        what: &Settled<'_>,
    ) -> Result<(), ServiceError> {
        let mut work = self.ctx.begin("settling an invoice").await?;
        let now = work.now();
        if !invoices::settle_otherwise(work.tx(), &account.id, &invoice.id, paid, now).await? {
            return Err(ServiceError::Conflict(format!(
                "Invoice {} changed meanwhile (a charge went through?). Reload to see it.",
                invoice.number
            )));
        }
        work.audit(Event {
            account_id: Some(account.id.clone()),
            ..Event::by_operator(operator, kind, invoice.number.as_str(), detail)
        });
        if let Ok(reference) = paid {
            work.hook(invoice_hook(
                WebhookEvent::InvoicePaid,
                &account.id,
                &invoice.id,
                &invoice.number,
                invoice.amount(),
                serde_json::json!({ "payment_reference": reference }),
            ));
        }
        // A payment recorded is a receipt; a void is news of the invoice.
        let kind = if paid.is_ok() {
            Subscription::Receipts
        } else {
            Subscription::Invoices
        };
        self.notify(&mut work, account, &invoice.number, what, kind)
            .await?;
        work.commit().await
    }

    /// Issues a credit note against a paid invoice: refunded to the card it was paid with, or
    /// kept as credit when it was paid otherwise. Returns the note as it then stands (a refund
    /// the processor has not answered stays pending, and the scheduler asks again).
    pub async fn credit_note(
        &self,
        operator: &OperatorActor,
        account_id: &str,
        invoice_id: &str,
        input: &CreditNoteInput,
    ) -> Result<CreditNote, ServiceError> {
        let pool = self.ctx.db.pool();
        let (account, invoice) = self.read(operator, account_id, invoice_id).await?;
        // The fields first: a mistyped amount is told before anything else.
        let note = input
            .parse(invoice.creditable())
            .map_err(ServiceError::Invalid)?;
        self.may_act(operator, &invoice, InvoiceAction::CreditNote)?;
        let charge = invoices::charge_of(pool, &account.id, &invoice.id).await?;
        let settlement = match charge {
            Some(_) => CreditSettlement::RefundPending,
            None => CreditSettlement::Balance,
        };
        let mut work = self.ctx.begin("issuing a credit note").await?;
        let now = work.now();
        if !invoices::add_credited(work.tx(), &account.id, &invoice.id, note.amount.minor()).await?
        {
            return Err(ServiceError::Conflict(format!(
                "Invoice {} was credited meanwhile: at most {} is left. Reload to see it.",
                invoice.number,
                invoice.creditable()
            )));
        }
        let id = self.ctx.new_id();
        let created = credit_notes::insert(
            work.tx(),
            &NewCreditNote {
                id: &id,
                account_id: &account.id,
                invoice_id: &invoice.id,
                invoice_number: &invoice.number,
                company_name: &invoice.company_name,
                billed_to: invoice.billed_to.as_deref(),
                amount: note.amount,
                reason: &note.reason,
                settlement,
                charge_id: charge.as_deref(),
                created_by: operator.email.as_str(),
            },
            now,
        )
        .await?;
        work.audit(Event {
            account_id: Some(account.id.clone()),
            ..Event::by_operator(
                operator,
                AuditKind::CreditNoteIssued,
                created.number.as_str(),
                format!(
                    "{} against invoice {}: {}",
                    created.amount(),
                    invoice.number,
                    note.reason
                ),
            )
        });
        work.hook(Hook::new(
            WebhookEvent::CreditNoteCreated,
            serde_json::json!({
                "account_id": account.id,
                "credit_note_id": created.id,
                "credit_note_number": created.number,
                "invoice_id": invoice.id,
                "invoice_number": invoice.number,
                "amount": created.amount().decimal(),
                "currency": created.currency.code(),
                "settlement": settlement.code(),
            }),
        ));
        if settlement == CreditSettlement::Balance {
            accounts::add_credit(work.tx(), &account.id, note.amount.minor()).await?;
            self.refunds
                .email_note(&mut work, &account.id, &created)
                .await?;
        }
        work.commit().await?;
        if let Some(charge) = charge {
            self.refunds
                .refund(&account.id, &id, &charge, note.amount)
                .await?;
        }
        credit_notes::get(pool, &account.id, &id).await
    }

    /// Corrects an invoice: makes it again with the account's billing details as they are now,
    /// numbered next in the series, and cancels the original with a credit note for its whole
    /// amount (see [`corrections`]). The correction is emailed as every invoice is, the credit
    /// note as every credit note is; what the credit balance does not cover is charged to the
    /// card on file now. Returns the correction as it then stands.
    pub async fn correct(
        &self,
        operator: &OperatorActor,
        account_id: &str,
        invoice_id: &str,
        why: &str,
    ) -> Result<Invoice, ServiceError> {
        let (account, original) = self.read(operator, account_id, invoice_id).await?;
        let why = reason(why).map_err(|e| ServiceError::field("reason", e))?;
        self.may_act(operator, &original, InvoiceAction::Correct)?;
        let mut work = self.ctx.begin("correcting an invoice").await?;
        let made = corrections::correct(
            &self.ctx,
            &mut work,
            &account,
            &original,
            &why,
            operator.email.as_str(),
        )
        .await?;
        let (invoice, note) = (&made.invoice, &made.note);
        work.audit(Event {
            account_id: Some(account.id.clone()),
            ..Event::by_operator(
                operator,
                AuditKind::InvoiceCorrected,
                original.number.as_str(),
                format!(
                    "corrected by invoice {} ({}), cancelled by credit note {} ({}): {why}",
                    invoice.number,
                    invoice.amount(),
                    note.number,
                    note.amount()
                ),
            )
        });
        work.hook(Hook::new(
            WebhookEvent::CreditNoteCreated,
            serde_json::json!({
                "account_id": account.id,
                "credit_note_id": note.id,
                "credit_note_number": note.number,
                "invoice_id": original.id,
                "invoice_number": original.number,
                "amount": note.amount().decimal(),
                "currency": note.currency.code(),
                "settlement": note.settlement.code(),
            }),
        ));
        let mut corrects = serde_json::Map::new();
        corrects.insert("corrects_invoice_id".into(), original.id.clone().into());
        corrects.insert(
            "corrects_invoice_number".into(),
            original.number.clone().into(),
        );
        invoices::announce(
            &self.ctx,
            &mut work,
            &account.id,
            invoice,
            &made.documents,
            &made.recipients,
            &made.contacts,
            format!(
                "correction of invoice {}: peak {} users, {}",
                original.number,
                invoice.peak_users,
                invoice.amount()
            ),
            corrects,
        );
        self.refunds
            .email_note(&mut work, &account.id, note)
            .await?;
        work.commit().await?;
        if invoice.status == InvoiceStatus::Open {
            self.charging
                .charge_month(&account.id, &invoice.month)
                .await?;
        }
        invoices::get(self.ctx.db.pool(), &account.id, &invoice.id).await
    }

    /// Queues a money action's notice to the billing contact.
    async fn notify(
        &self,
        work: &mut Work,
        account: &AccountRow,
        number: &str,
        what: &Settled<'_>,
        kind: Subscription,
    ) -> Result<(), ServiceError> {
        let pool = self.ctx.db.pool();
        let contact = info::contact(pool, &account.id).await?;
        let each: Vec<String> = contact.iter().map(|c| c.email.clone()).collect();
        let contacts = info::contact_lines(pool, &account.id, kind, &each).await?;
        let seller = profile::details(pool).await?;
        let (name, email) = seller
            .as_ref()
            .map_or(("the company that runs Tally", ""), |s| {
                (s.legal_name.as_str(), s.contact_email.as_str())
            });
        let mail: Vec<Mail> = info::addressed_mail(&each, &contacts, |to, w| {
            emails::invoice_settled(to, w, number, what, name, email)
        });
        for m in mail {
            work.audit(Event::system(
                AuditKind::MoneyNoticeEmailed,
                account.id.as_str(),
                m.to.as_str(),
                number,
            ));
            work.mail(m);
        }
        Ok(())
    }
}
