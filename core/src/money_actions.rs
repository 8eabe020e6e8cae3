//! The seller's money actions on an invoice, as a Finance operator types them: marking it paid
//! by other means, voiding it, and crediting it whole or in part. The same rules in the
//! browser, as the fields are typed, and on the server; which action an invoice allows by its
//! status is decided here too, so the console offers only what the server will do.

use serde::{Deserialize, Serialize};

use crate::{billing::InvoiceStatus, contact::required_text, forms::FieldErrors, money::Money};

/// The longest reason or reference kept.
pub const MAX_REASON: usize = 500;
pub const MAX_REFERENCE: usize = 100;

/// What an operator can do to an invoice in its status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum InvoiceAction {
    /// Charge the card on file now, instead of waiting for the next retry.
    RetryNow,
    /// Record a payment made otherwise (a bank transfer), with its reference.
    MarkPaid,
    /// Cancel an unpaid invoice: nothing is owed for it any more.
    Void,
    /// A credit note against a paid invoice: refunded to the card it was paid with, or kept
    /// as a credit balance for the next invoices.
    CreditNote,
    /// Make the invoice again with the account's billing details as they are now (a new name,
    /// address or tax ID, and the tax that follows), cancelling the original with a credit
    /// note: what was paid for it is taken off the correction, which is charged for the rest.
    Correct,
}

impl InvoiceAction {
    /// Whether an invoice in `status`, with `creditable` cents not yet credited, allows it.
    pub fn allowed(self, status: InvoiceStatus, creditable_cents: i64) -> bool {
        use InvoiceStatus as S;
        match self {
            InvoiceAction::RetryNow => matches!(status, S::Failed | S::PastDue),
            InvoiceAction::MarkPaid | InvoiceAction::Void => {
                matches!(status, S::Open | S::Failed | S::PastDue | S::ActionRequired)
            }
            InvoiceAction::CreditNote => status == S::Paid && creditable_cents > 0,
            // The rest of what a correction needs is the invoice's (`permits`).
            InvoiceAction::Correct => {
                matches!(status, S::Paid | S::Zero | S::Open | S::Failed | S::PastDue)
            }
        }
    }

    /// Whether `invoice` allows it now (a correction needs more than the status: see
    /// [`Invoice::correctable`]).
    pub fn permits(self, invoice: &crate::views::billing::Invoice) -> bool {
        match self {
            InvoiceAction::Correct => invoice.correctable(),
            _ => self.allowed(invoice.status, invoice.creditable().minor()),
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            InvoiceAction::RetryNow => "Retry the charge now",
            InvoiceAction::MarkPaid => "Mark paid",
            InvoiceAction::Void => "Void",
            InvoiceAction::CreditNote => "Issue a credit note",
            InvoiceAction::Correct => "Correct",
        }
    }

    /// Why an invoice in `status` does not allow it, as the operator reads it.
    pub fn refusal(self, number: &str, status: InvoiceStatus) -> String {
        match self {
            InvoiceAction::RetryNow => format!(
                "Invoice {number} is {}: only a failed charge can be retried.",
                status.label().to_lowercase()
            ),
            InvoiceAction::MarkPaid | InvoiceAction::Void => format!(
                "Invoice {number} is {}: only an unpaid invoice can be.",
                status.label().to_lowercase()
            ),
            InvoiceAction::CreditNote if status == InvoiceStatus::Paid => {
                format!("Invoice {number} is credited in full already.")
            }
            InvoiceAction::CreditNote => format!(
                "Invoice {number} is {}: only a paid invoice can be credited. Void an unpaid one instead.",
                status.label().to_lowercase()
            ),
            InvoiceAction::Correct => format!(
                "Invoice {number} is {}: it cannot be corrected.",
                status.label().to_lowercase()
            ),
        }
    }
}

/// A reason the customer reads (voids and credit notes): required, at most 500 characters.
pub fn reason(input: &str) -> Result<String, String> {
    required_text(input, "reason", MAX_REASON).map_err(|e| match e {
        crate::contact::TextError::Required(_) => {
            "Say why: the account's billing contact reads it.".to_string()
        }
        e => e.to_string(),
    })
}

/// A payment's reference (the bank transfer's), as on the bank statement.
pub fn payment_reference(input: &str) -> Result<String, String> {
    required_text(input, "payment reference", MAX_REFERENCE).map_err(|e| match e {
        crate::contact::TextError::Required(_) => {
            "Enter the transfer's reference, as on the bank statement.".to_string()
        }
        e => e.to_string(),
    })
}

/// A credit note as typed: the whole of what is left to credit, or an amount; and a reason.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditNoteInput {
    /// Credit everything not credited yet (the amount is then ignored).
    pub whole: bool,
    /// A decimal amount such as `12.50`.
    pub amount: String,
    pub reason: String,
}

/// A credit note's amount and reason, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreditNote {
    pub amount: Money,
    pub reason: String,
}

impl CreditNoteInput {
    /// Checks both fields (`amount`, `reason`) against what is left to credit on the invoice.
    pub fn parse(&self, creditable: Money) -> Result<CreditNote, FieldErrors> {
        let mut e = FieldErrors::new();
        let amount = if self.whole {
            Some(creditable)
        } else {
            e.check("amount", credit_amount(&self.amount, creditable))
        };
        let reason = e.check("reason", reason(&self.reason));
        match (amount, reason) {
            (Some(amount), Some(reason)) if e.is_empty() => Ok(CreditNote { amount, reason }),
            _ => Err(e),
        }
    }
}

/// A partial credit's amount: more than nothing, at most what is left to credit.
pub fn credit_amount(input: &str, creditable: Money) -> Result<Money, String> {
    let input = input.trim();
    if input.is_empty() {
        return Err(format!(
            "Enter the amount to credit, at most {creditable}, or credit the whole invoice."
        ));
    }
    let currency = creditable.currency();
    let example = if currency.minor_units() == 0 {
        "1250"
    } else {
        "12.50"
    };
    match Money::parse_typed(input, currency, example)? {
        m if !m.is_positive() => Err(format!(
            "Enter an amount of more than {}.",
            Money::zero(currency)
        )),
        m if m > creditable => Err(format!(
            "At most {creditable} is left to credit on this invoice."
        )),
        m => Ok(m),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn each_status_allows_only_what_makes_sense() {
        use InvoiceAction as A;
        use InvoiceStatus as S;
        assert!(A::RetryNow.allowed(S::Failed, 0));
        assert!(A::RetryNow.allowed(S::PastDue, 0));
        assert!(!A::RetryNow.allowed(S::Paid, 0));
        assert!(!A::RetryNow.allowed(S::ActionRequired, 0));
        for s in [S::Open, S::Failed, S::PastDue, S::ActionRequired] {
            assert!(A::MarkPaid.allowed(s, 0) && A::Void.allowed(s, 0), "{s:?}");
            assert!(!A::CreditNote.allowed(s, 100), "{s:?}");
        }
        for s in [S::Paid, S::Zero, S::Void] {
            assert!(
                !A::MarkPaid.allowed(s, 0) && !A::Void.allowed(s, 0),
                "{s:?}"
            );
        }
        assert!(A::CreditNote.allowed(S::Paid, 1));
        assert!(!A::CreditNote.allowed(S::Paid, 0));
        assert_eq!(
            A::Void.refusal("2026-11-0001", S::Paid),
            "Invoice 2026-11-0001 is paid: only an unpaid invoice can be."
        );
        assert_eq!(
            A::CreditNote.refusal("2026-11-0001", S::Paid),
            "Invoice 2026-11-0001 is credited in full already."
        );
    }

    #[test]
    fn a_credit_note_is_whole_or_a_part_with_a_reason() {
        let left = Money::usd(4500);
        let whole = CreditNoteInput {
            whole: true,
            amount: "garbage, ignored".into(),
            reason: "Service outage".into(),
        };
        assert_eq!(whole.parse(left).unwrap().amount, left);
        let part = CreditNoteInput {
            whole: false,
            amount: "$12.50".into(),
            reason: " Two users removed late ".into(),
        };
        let note = part.parse(left).unwrap();
        assert_eq!(note.amount, Money::usd(1250));
        assert_eq!(note.reason, "Two users removed late");

        let bad = CreditNoteInput {
            whole: false,
            amount: "45.01".into(),
            reason: "".into(),
        };
        let e = bad.parse(left).unwrap_err();
        assert_eq!(
            e.get("amount"),
            Some("At most $45.00 is left to credit on this invoice.")
        );
        assert_eq!(
            e.get("reason"),
            Some("Say why: the account's billing contact reads it.")
        );
        for (typed, message) in [
            (
                "",
                "Enter the amount to credit, at most $45.00, or credit the whole invoice.",
            ),
            ("0", "Enter an amount of more than $0.00."),
            (
                "1.234",
                "Enter an amount such as 12.50: digits, with at most 2 decimals.",
            ),
        ] {
            assert_eq!(
                credit_amount(typed, left).unwrap_err(),
                message,
                "{typed:?}"
            );
        }
    }

    #[test]
    fn a_reference_is_required_and_never_a_card_number() {
        assert_eq!(
            payment_reference(" ").unwrap_err(),
            "Enter the transfer's reference, as on the bank statement."
        );
        assert_eq!(
            payment_reference(" SEPA 2026/118 ").unwrap(),
            "SEPA 2026/118"
        );
        assert!(payment_reference("4242 4242 4242 4242").is_err()); // test number
    }

    proptest! {
        #[test]
        fn an_accepted_amount_is_never_more_than_what_is_left(left in 1i64..10_000_000, cents in 0i64..20_000_000) {
            let typed = format!("{}.{:02}", cents / 100, cents % 100);
            match credit_amount(&typed, Money::usd(left)) {
                Ok(m) => prop_assert!(m.minor() > 0 && m.minor() <= left && m.minor() == cents),
                Err(_) => prop_assert!(cents == 0 || cents > left),
            }
        }
    }
}

#[cfg(test)]
mod correction_tests {
    use super::InvoiceAction;
    use crate::{billing::InvoiceStatus as S, money::Currency, views::billing::Invoice};

    fn invoice(status: S, amount: i64, credit_applied: i64) -> Invoice {
        Invoice {
            id: "i".into(),
            number: "INV-2026-000007".into(),
            month: "2026-10".into(),
            peak_users: 12,
            free_users: 10,
            currency: Currency::Eur,
            price_per_user_cents: 500,
            amount_cents: amount,
            status,
            company_name: "Acme".into(),
            created_at: 0,
            paid_at: None,
            billed_to: None,
            seller: None,
            references: None,
            card_label: None,
            credit_applied_cents: credit_applied,
            tax_cents: 0,
            tax_rate_bp: 0,
            tax_category: None,
            credited_cents: 0,
            payment_reference: None,
            void_reason: None,
            corrects: None,
            corrected_by: None,
            peak_reached_on: None,
        }
    }

    #[test]
    fn an_invoice_is_corrected_once_whole_and_only_when_something_was_billed() {
        // Paid, unpaid, or paid by credit (nothing left to charge): each can be corrected.
        for (status, amount, credit) in [
            (S::Paid, 1000, 0),
            (S::Open, 1000, 0),
            (S::Failed, 600, 400),
            (S::PastDue, 1000, 0),
            (S::Zero, 0, 1000),
        ] {
            let i = invoice(status, amount, credit);
            assert!(InvoiceAction::Correct.permits(&i), "{status:?}");
            assert_eq!(i.correction_refusal(), None);
        }
        let refused = |i: Invoice| i.correction_refusal().expect("refused");
        assert_eq!(
            refused(invoice(S::Void, 1000, 0)),
            "Invoice INV-2026-000007 is void: nothing is owed for it, so there is nothing to correct."
        );
        assert_eq!(
            refused(invoice(S::Zero, 0, 0)),
            "Invoice INV-2026-000007 is for \u{20ac}0.00: there is nothing to correct."
        );
        assert!(refused(invoice(S::ActionRequired, 1000, 0))
            .contains("waits for the cardholder's bank"));
        let mut credited = invoice(S::Paid, 1000, 0);
        credited.credited_cents = 250;
        assert_eq!(
            refused(credited),
            "Invoice INV-2026-000007 has \u{20ac}2.50 credited already: a correction cancels a whole invoice, so only one never credited can be corrected."
        );
        let mut corrected = invoice(S::Paid, 1000, 0);
        corrected.corrected_by = Some("INV-2026-000009".into());
        assert!(!InvoiceAction::Correct.permits(&corrected));
        assert_eq!(
            refused(corrected.clone()),
            "Invoice INV-2026-000007 is corrected already, by invoice INV-2026-000009: correct that one instead."
        );
        assert_eq!(
            corrected.settlement().as_deref(),
            Some("Corrected by invoice INV-2026-000009")
        );
        // A correction can itself be corrected, and says what it corrects.
        let mut correction = invoice(S::Paid, 1000, 0);
        correction.corrects = Some("INV-2026-000001".into());
        assert!(InvoiceAction::Correct.permits(&correction));
        assert_eq!(
            correction.settlement().as_deref(),
            Some("Corrects invoice INV-2026-000001")
        );
        assert_eq!(S::from_code("corrected").map(S::label), Some("Corrected"));
    }
}
