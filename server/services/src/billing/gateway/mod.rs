//! The payment processor seam: set up a card (begun by the server, confirmed by the browser
//! with the processor, checked and kept by the server) and charge it with an idempotency key.
//! Two processors stand behind it: [`sandbox::SandboxGateway`], the embedded default (a
//! processor's test mode, inside Tally), and [`stripe::StripeGateway`].

pub mod sandbox;
pub mod stripe;

use futures::{stream, StreamExt};
use tally_core::{codes::IntentStatus, money::Money, views::billing::Processor};

/// Why the processor refused a card or a charge. The messages are shown to the person paying.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decline {
    CardDeclined,
    InsufficientFunds,
    ExpiredCard,
    IncorrectCvc,
    /// The processor or the bank failed to process it; worth trying again later.
    ProcessingError,
    /// The card's set-up was not confirmed (authentication failed or was cancelled).
    NotConfirmed,
}

impl Decline {
    pub fn message(self) -> &'static str {
        match self {
            Decline::CardDeclined => {
                "Your card was declined. Try another card, or ask your bank why."
            }
            Decline::InsufficientFunds => "Your card has insufficient funds. Try another card.",
            Decline::ExpiredCard => {
                "Your card has expired. Check the expiration date or use another card."
            }
            Decline::IncorrectCvc => "Your card's security code is incorrect.",
            Decline::ProcessingError => {
                "Your card's bank could not process the payment. Try again in a little while."
            }
            Decline::NotConfirmed => {
                "Your bank did not confirm this card. Try again, or use another card."
            }
        }
    }

    /// The processor's code for it (Stripe's `decline_code`, or its `code`).
    pub fn code(self) -> &'static str {
        match self {
            Decline::CardDeclined => "card_declined",
            Decline::InsufficientFunds => "insufficient_funds",
            Decline::ExpiredCard => "expired_card",
            Decline::IncorrectCvc => "incorrect_cvc",
            Decline::ProcessingError => "processing_error",
            Decline::NotConfirmed => "setup_intent_authentication_failure",
        }
    }

    /// Tally's decline for one of the processor's codes.
    pub fn from_code(code: &str) -> Option<Decline> {
        Some(match code {
            "card_declined"
            | "generic_decline"
            | "do_not_honor"
            | "fraudulent"
            | "lost_card"
            | "stolen_card"
            | "payment_intent_authentication_failure" => Decline::CardDeclined,
            "insufficient_funds" => Decline::InsufficientFunds,
            "expired_card" => Decline::ExpiredCard,
            "incorrect_cvc" | "invalid_cvc" => Decline::IncorrectCvc,
            "processing_error" => Decline::ProcessingError,
            "setup_intent_authentication_failure" => Decline::NotConfirmed,
            _ => return None,
        })
    }
}

#[derive(Clone, Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("declined: {0:?}")]
    Declined(Decline),
    /// The processor could not be reached or failed; nothing happened.
    #[error("payment processor unavailable: {0}")]
    Unavailable(String),
    /// The cardholder's bank asks them to confirm this payment (3-D Secure); the payment's id.
    #[error("the payment needs the cardholder's authentication")]
    NeedsAuthentication(String),
    /// No such set-up or payment for this account.
    #[error("not found at the processor for this account")]
    NotFound,
    /// The processor refused the request for good (a refund of more than was charged, of a
    /// charge that failed); its words.
    #[error("refused by the processor: {0}")]
    Refused(String),
}

/// A card set-up begun for the browser to confirm.
#[derive(Clone, Debug)]
pub struct SetupStart {
    pub client_secret: String,
}

/// A card the processor confirmed, as the processor describes it.
#[derive(Clone, Debug)]
pub struct ProcessorCard {
    pub token: CardToken,
    /// The processor's brand name (`visa`, `mastercard`, `amex`…).
    pub brand: String,
    pub last4: String,
    pub exp_month: u32,
    pub exp_year: i32,
    /// The processor's own fingerprint of the number, if it gives one.
    pub fingerprint: Option<String>,
}

/// A payment waiting for the cardholder's authentication.
#[derive(Clone, Debug)]
pub struct PaymentAuthentication {
    pub client_secret: String,
    pub status: IntentStatus,
    /// Where the processor sends the cardholder to authenticate, when it says.
    pub redirect_url: Option<String>,
}

/// What the processor gives back for a card: the only handle Tally keeps to charge it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CardToken(pub String);

/// A successful charge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChargeReceipt {
    pub id: String,
}

/// One charge: `amount` to `token`, at most once per `idempotency_key`.
#[derive(Clone, Debug)]
pub struct ChargeRequest {
    pub token: CardToken,
    pub amount: Money,
    pub idempotency_key: String,
    /// The invoice charged, kept with the processor's payment where the gateway records it.
    pub invoice_id: Option<String>,
}

/// A refund of `amount` of the charge `charge_id` (the [`ChargeReceipt`]'s id), at most once
/// per `idempotency_key`.
#[derive(Clone, Debug)]
pub struct RefundRequest {
    pub charge_id: String,
    pub amount: Money,
    pub idempotency_key: String,
    /// The credit note it is for, kept with the processor's refund.
    pub credit_note_id: String,
}

/// A refund the processor made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefundReceipt {
    pub id: String,
}

/// A payment processor: cards are set up (the browser confirms them with the processor, the
/// server checks them) and charged.
#[async_trait::async_trait]
pub trait PaymentGateway: Send + Sync {
    /// Where the browser confirms cards: the processor's API and its publishable key.
    fn processor(&self) -> Processor;
    /// Begins a card set-up for the account, for the browser to confirm.
    async fn begin_setup(&self, account_id: &str) -> Result<SetupStart, GatewayError>;
    /// The card of a set-up the browser confirmed, checked with the processor: `NotFound` for
    /// another account's, a decline for one not confirmed.
    async fn finish_setup(
        &self,
        account_id: &str,
        setup_id: &str,
    ) -> Result<ProcessorCard, GatewayError>;
    /// The bank's page for a set-up of this account waiting for the cardholder, if the
    /// processor has one (sending the cardholder back to `return_url`).
    async fn setup_bank_page(
        &self,
        account_id: &str,
        setup_id: &str,
        return_url: &str,
    ) -> Result<Option<String>, GatewayError>;
    /// Charges `request.amount` to `request.token`. The same idempotency key never charges
    /// twice: a repeat returns the first receipt.
    async fn charge(&self, request: &ChargeRequest) -> Result<ChargeReceipt, GatewayError>;
    /// Makes each of `requests`, answering in their order: [`Self::charge`] for each,
    /// [`Self::charges_at_once`] of them in flight, unless the processor takes many at once.
    async fn charge_many(
        &self,
        requests: &[ChargeRequest],
    ) -> Vec<Result<ChargeReceipt, GatewayError>> {
        // The calls made first: a closure inside the stream trips rustc's `Send` check
        // (rust-lang/rust#102211).
        let calls: Vec<_> = requests.iter().map(|r| self.charge(r)).collect();
        stream::iter(calls)
            .buffered(self.charges_at_once())
            .collect()
            .await
    }
    /// How many charges a billing run keeps in flight at once: a real processor answers in
    /// hundreds of milliseconds, so several at a time.
    fn charges_at_once(&self) -> usize {
        8
    }
    /// Refunds part or all of a charge to the card it was made to. The same idempotency key
    /// never refunds twice: a repeat returns the first refund.
    async fn refund(&self, request: &RefundRequest) -> Result<RefundReceipt, GatewayError>;
    /// A payment that needs the cardholder's authentication, for the page that completes it.
    /// With `return_url`, the processor is asked for the bank's page (that sends the
    /// cardholder back there) when it has not given one yet.
    async fn payment_authentication(
        &self,
        payment_id: &str,
        return_url: Option<&str>,
    ) -> Result<PaymentAuthentication, GatewayError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A processor charged one call at a time, some answering faster than others.
    struct Slow {
        in_flight: std::sync::atomic::AtomicUsize,
        most: std::sync::atomic::AtomicUsize,
    }

    #[async_trait::async_trait]
    impl PaymentGateway for Slow {
        fn processor(&self) -> Processor {
            Processor {
                publishable_key: "pk_slow".into(),
                api_base: "/slow".into(),
            }
        }
        async fn begin_setup(&self, _: &str) -> Result<SetupStart, GatewayError> {
            Err(GatewayError::Unavailable("not used".into()))
        }
        async fn finish_setup(&self, _: &str, _: &str) -> Result<ProcessorCard, GatewayError> {
            Err(GatewayError::NotFound)
        }
        async fn setup_bank_page(
            &self,
            _: &str,
            _: &str,
            _: &str,
        ) -> Result<Option<String>, GatewayError> {
            Ok(None)
        }
        async fn charge(&self, request: &ChargeRequest) -> Result<ChargeReceipt, GatewayError> {
            use std::sync::atomic::Ordering::SeqCst;
            let now = self.in_flight.fetch_add(1, SeqCst) + 1;
            self.most.fetch_max(now, SeqCst);
            let key = &request.idempotency_key;
            let n: u64 = key.parse().unwrap();
            tokio::time::sleep(std::time::Duration::from_millis((n * 7) % 11)).await;
            self.in_flight.fetch_sub(1, SeqCst);
            Ok(ChargeReceipt {
                id: format!("ch-{key}"),
            })
        }
        async fn refund(&self, _: &RefundRequest) -> Result<RefundReceipt, GatewayError> {
            Err(GatewayError::NotFound)
        }
        async fn payment_authentication(
            &self,
            _: &str,
            _: Option<&str>,
        ) -> Result<PaymentAuthentication, GatewayError> {
            Err(GatewayError::NotFound)
        }
    }

    #[tokio::test]
    async fn by_default_a_batch_is_single_charges_a_few_at_once_answered_in_order() {
        let g = Slow {
            in_flight: 0.into(),
            most: 0.into(),
        };
        let requests: Vec<ChargeRequest> = (0..40)
            .map(|i| ChargeRequest {
                token: CardToken("tok".into()),
                amount: Money::usd(100),
                idempotency_key: i.to_string(),
                invoice_id: None,
            })
            .collect();
        let answers = g.charge_many(&requests).await;
        let ids: Vec<String> = answers.into_iter().map(|a| a.unwrap().id).collect();
        let expected: Vec<String> = (0..40).map(|i| format!("ch-{i}")).collect();
        assert_eq!(ids, expected);
        let most = g.most.load(std::sync::atomic::Ordering::SeqCst);
        assert!(most > 1 && most <= g.charges_at_once(), "{most} in flight");
    }

    #[test]
    fn decline_codes_map_to_tallys_reasons() {
        assert_eq!(
            Decline::from_code("card_declined"),
            Some(Decline::CardDeclined)
        );
        assert_eq!(
            Decline::from_code("insufficient_funds"),
            Some(Decline::InsufficientFunds)
        );
        assert_eq!(
            Decline::from_code("expired_card"),
            Some(Decline::ExpiredCard)
        );
        assert_eq!(
            Decline::from_code("incorrect_cvc"),
            Some(Decline::IncorrectCvc)
        );
        assert_eq!(
            Decline::from_code("processing_error"),
            Some(Decline::ProcessingError)
        );
        assert_eq!(Decline::from_code("rate_limit"), None);
        for d in [
            Decline::CardDeclined,
            Decline::InsufficientFunds,
            Decline::ExpiredCard,
            Decline::IncorrectCvc,
            Decline::ProcessingError,
            Decline::NotConfirmed,
        ] {
            assert_eq!(Decline::from_code(d.code()), Some(d), "{d:?}");
        }
    }
}
