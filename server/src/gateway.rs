//! The payment processor seam (spec §6): tokenize a card, charge a token with an idempotency
//! key. [`SandboxGateway`] is the embedded default, like a processor's test mode: it stands
//! for the processor's side of the world, so it keeps its own clock (the machine's) rather
//! than Tally's.

use tally_core::{
    forms::{NewCard, PaymentInfo},
    money::Money,
};

use std::collections::HashMap;

use futures::{stream, StreamExt};

use crate::db::{Backend, Database, ROWS_PER_STATEMENT};

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
}

/// Where the browser confirms a card with the processor itself, when the gateway works so.
#[derive(Clone, Debug)]
pub struct BrowserProcessor {
    pub publishable_key: String,
    pub api_base: String,
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
    pub status: String,
    /// Where the processor sends the cardholder to authenticate, when it says.
    pub redirect_url: Option<String>,
}

fn not_this_gateway() -> GatewayError {
    GatewayError::Unavailable("not done by this payment gateway".into())
}

/// What the processor gives back for a card: the only handle Tally keeps to charge it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CardToken(pub String);

/// A successful charge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChargeReceipt {
    pub id: String,
}

/// One charge of a billing run: `amount` to `token`, at most once per `idempotency_key`.
#[derive(Clone, Debug)]
pub struct ChargeRequest {
    pub token: CardToken,
    pub amount: Money,
    pub idempotency_key: String,
    /// The invoice charged, kept with the processor's payment where the gateway records it.
    pub invoice_id: Option<String>,
}

#[async_trait::async_trait]
pub trait PaymentGateway: Send + Sync {
    /// Exchanges a card for a token; the card itself is forgotten once this returns.
    async fn tokenize(
        &self,
        card: &NewCard,
        holder: &PaymentInfo,
    ) -> Result<CardToken, GatewayError>;
    /// Charges `amount` to `token`. The same `idempotency_key` never charges twice: a repeat
    /// returns the first receipt.
    async fn charge(
        &self,
        token: &CardToken,
        amount: Money,
        idempotency_key: &str,
    ) -> Result<ChargeReceipt, GatewayError>;
    /// Makes each of `requests`, answering in their order. By default [`Self::charge`] for
    /// each, [`Self::charges_at_once`] of them in flight. A processor that takes many charges
    /// in one call overrides this; each request still stands on its own idempotency key.
    async fn charge_many(
        &self,
        requests: &[ChargeRequest],
    ) -> Vec<Result<ChargeReceipt, GatewayError>> {
        // The calls made first: a closure inside the stream trips rustc's `Send` check
        // (rust-lang/rust#102211).
        let calls: Vec<_> = requests
            .iter()
            .map(|r| self.charge(&r.token, r.amount, &r.idempotency_key))
            .collect();
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
    /// `Some` when cards are confirmed by the browser with the processor (the server then
    /// never takes a card number); `None` for gateways that tokenize on the server.
    fn browser_processor(&self) -> Option<BrowserProcessor> {
        None
    }
    /// Begins a card set-up for the browser to confirm.
    async fn begin_setup(&self, _account_id: &str) -> Result<SetupStart, GatewayError> {
        Err(not_this_gateway())
    }
    /// Checks with the processor a set-up the browser confirmed, for this account.
    async fn finish_setup(
        &self,
        _account_id: &str,
        _setup_id: &str,
    ) -> Result<ProcessorCard, GatewayError> {
        Err(not_this_gateway())
    }
    /// A payment that needs the cardholder's authentication, for the page that completes it.
    /// With `return_url`, the processor is asked for the bank's page (that sends the
    /// cardholder back there) when it has not given one yet.
    async fn payment_authentication(
        &self,
        _payment_id: &str,
        _return_url: Option<&str>,
    ) -> Result<PaymentAuthentication, GatewayError> {
        Err(not_this_gateway())
    }
    /// The bank's page for a card set-up of this account waiting for the cardholder, if the
    /// processor has one (sending the cardholder back to `return_url`).
    async fn setup_bank_page(
        &self,
        _account_id: &str,
        _setup_id: &str,
        _return_url: &str,
    ) -> Result<Option<String>, GatewayError> {
        Ok(None)
    }
}

/// The processor's documented test numbers (spec §6), plus one that saves but fails to charge.
const DECLINED: &str = "4000000000000002"; // sandbox test number
const INSUFFICIENT_FUNDS: &str = "4000000000009995"; // sandbox test number
const EXPIRED: &str = "4000000000000069"; // sandbox test number
const INCORRECT_CVC: &str = "4000000000000127"; // sandbox test number
/// Saves fine; every charge to it is declined (for failed-charge retries).
pub const SANDBOX_CHARGE_FAILS: &str = "4000000000000341"; // sandbox test number
const FAILING_TOKEN_PREFIX: &str = "tok_sandbox_fails_";

/// A processor's test mode: any valid card tokenizes, the test numbers above decline, and
/// charges are kept per idempotency key in the `sandbox_charges` table — the processor's side
/// of the world, shared by every server process and surviving a killed one — so a repeat never
/// charges twice.
#[derive(Clone)]
pub struct SandboxGateway {
    db: Database,
}

impl SandboxGateway {
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    /// Records `requests` in one transaction, each key once; returns every key's charge id,
    /// the first one for a key charged before.
    async fn record_charges(
        &self,
        requests: &[&ChargeRequest],
    ) -> Result<HashMap<String, String>, sqlx::Error> {
        let mut receipts = HashMap::with_capacity(requests.len());
        if requests.is_empty() {
            return Ok(receipts);
        }
        let now = chrono::Utc::now().timestamp_millis();
        let mut tx = self.db.pool().begin().await?;
        let backend = Backend::of(&tx);
        for batch in requests.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO sandbox_charges (idempotency_key, charge_id, amount_cents, created_at) VALUES {} \
                 ON CONFLICT (idempotency_key) DO NOTHING RETURNING idempotency_key, charge_id",
                backend.values_list(batch.len(), 4)
            );
            let mut q = sqlx::query_as::<_, (String, String)>(&sql);
            for r in batch {
                q = q
                    .bind(&r.idempotency_key)
                    .bind(format!("ch_sandbox_{}", crate::crypto::new_id(now)))
                    .bind(r.amount.cents())
                    .bind(now);
            }
            receipts.extend(q.fetch_all(&mut *tx).await?);
            // Repeats: the first charge's receipt.
            let repeats: Vec<&str> = batch
                .iter()
                .map(|r| r.idempotency_key.as_str())
                .filter(|k| !receipts.contains_key(*k))
                .collect();
            if !repeats.is_empty() {
                let sql = format!(
                    "SELECT idempotency_key, charge_id FROM sandbox_charges WHERE idempotency_key IN ({})",
                    backend.marks_from(1, repeats.len())
                );
                let mut q = sqlx::query_as::<_, (String, String)>(&sql);
                for k in &repeats {
                    q = q.bind(*k);
                }
                receipts.extend(q.fetch_all(&mut *tx).await?);
            }
        }
        tx.commit().await?;
        Ok(receipts)
    }

    /// How many charges really happened under `idempotency_key` (0 or 1).
    pub async fn charges_made(&self, idempotency_key: &str) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("SELECT COUNT(*) FROM sandbox_charges WHERE idempotency_key = $1")
            .bind(idempotency_key)
            .fetch_one(self.db.pool())
            .await
    }
}

#[async_trait::async_trait]
impl PaymentGateway for SandboxGateway {
    async fn tokenize(
        &self,
        card: &NewCard,
        _holder: &PaymentInfo,
    ) -> Result<CardToken, GatewayError> {
        let decline = match card.number.expose_digits() {
            DECLINED => Some(Decline::CardDeclined),
            INSUFFICIENT_FUNDS => Some(Decline::InsufficientFunds),
            EXPIRED => Some(Decline::ExpiredCard),
            INCORRECT_CVC => Some(Decline::IncorrectCvc),
            _ => None,
        };
        if let Some(d) = decline {
            return Err(GatewayError::Declined(d));
        }
        let prefix = if card.number.expose_digits() == SANDBOX_CHARGE_FAILS {
            FAILING_TOKEN_PREFIX
        } else {
            "tok_sandbox_"
        };
        let now = chrono::Utc::now().timestamp_millis();
        Ok(CardToken(format!("{prefix}{}", crate::crypto::new_id(now))))
    }

    async fn charge(
        &self,
        token: &CardToken,
        amount: Money,
        idempotency_key: &str,
    ) -> Result<ChargeReceipt, GatewayError> {
        let request = ChargeRequest {
            token: token.clone(),
            amount,
            idempotency_key: idempotency_key.to_string(),
            invoice_id: None,
        };
        let mut answers = self.charge_many(std::slice::from_ref(&request)).await;
        answers.pop().expect("one answer per request")
    }

    /// The whole batch in one transaction: its charges all happen or, if the process dies
    /// first, none do, and a rerun with the same keys then charges them once.
    async fn charge_many(
        &self,
        requests: &[ChargeRequest],
    ) -> Vec<Result<ChargeReceipt, GatewayError>> {
        let fails = |r: &ChargeRequest| r.token.0.starts_with(FAILING_TOKEN_PREFIX);
        let payable: Vec<&ChargeRequest> = requests.iter().filter(|r| !fails(r)).collect();
        let receipts = match self.record_charges(&payable).await {
            Ok(receipts) => receipts,
            Err(e) => {
                let e = GatewayError::Unavailable(e.to_string());
                return requests.iter().map(|_| Err(e.clone())).collect();
            }
        };
        requests
            .iter()
            .map(|r| match receipts.get(r.idempotency_key.as_str()) {
                _ if fails(r) => Err(GatewayError::Declined(Decline::CardDeclined)),
                Some(id) => Ok(ChargeReceipt { id: id.clone() }),
                None => Err(GatewayError::Unavailable(
                    "the sandbox lost a charge".into(),
                )),
            })
            .collect()
    }

    /// One at a time when charged singly: the sandbox's charges are rows in the same
    /// database, and SQLite takes one writer at a time anyway.
    fn charges_at_once(&self) -> usize {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tally_core::{address::Address, card::AcceptedBrands, forms::CardInput, NaiveDate};

    fn card(number: &str) -> NewCard {
        CardInput {
            number: number.into(),
            expiry: "12/30".into(),
            cvc: "123".into(),
        }
        .parse(
            &AcceptedBrands::default(),
            NaiveDate::from_ymd_opt(2026, 11, 26).unwrap(),
        )
        .unwrap()
    }

    fn holder() -> PaymentInfo {
        PaymentInfo {
            cardholder_name: "Ann Lee".into(),
            address: Address {
                country: "US".into(),
                line1: "1 Main St".into(),
                line2: None,
                city: "Springfield".into(),
                region: Some("IL".into()),
                postal_code: "62701".into(),
            },
        }
    }

    async fn sandbox() -> SandboxGateway {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/sandbox.db?mode=rwc", dir.path().display());
        std::mem::forget(dir); // the file lives as long as the test process
        let db = Database::connect(&url).await.unwrap();
        db.migrate().await.unwrap();
        SandboxGateway::new(db)
    }

    #[tokio::test]
    async fn test_numbers_decline_with_their_reason_and_others_tokenize() {
        let g = sandbox().await;
        for (number, reason) in [
            ("4000 0000 0000 0002", Decline::CardDeclined), // test number
            ("4000 0000 0000 9995", Decline::InsufficientFunds), // test number
            ("4000 0000 0000 0069", Decline::ExpiredCard),  // test number
            ("4000 0000 0000 0127", Decline::IncorrectCvc), // test number
        ] {
            match g.tokenize(&card(number), &holder()).await {
                Err(GatewayError::Declined(d)) => assert_eq!(d, reason),
                other => panic!("{number}: {other:?}"),
            }
        }
        let token = g
            .tokenize(&card("4242 4242 4242 4242"), &holder())
            .await
            .unwrap(); // test number
        assert!(token.0.starts_with("tok_sandbox_"));
        assert!(!token.0.contains("4242"));
    }

    #[tokio::test]
    async fn the_same_idempotency_key_charges_once() {
        let g = sandbox().await;
        let token = g
            .tokenize(&card("4242424242424242"), &holder())
            .await
            .unwrap(); // test number
        let a = g
            .charge(&token, Money::from_cents(1000), "inv-1")
            .await
            .unwrap();
        let b = g
            .charge(&token, Money::from_cents(1000), "inv-1")
            .await
            .unwrap();
        assert_eq!(a, b);
        assert_eq!(g.charges_made("inv-1").await.unwrap(), 1);
        assert_eq!(g.charges_made("inv-2").await.unwrap(), 0);
        let failing = g
            .tokenize(&card(SANDBOX_CHARGE_FAILS), &holder())
            .await
            .unwrap();
        assert!(matches!(
            g.charge(&failing, Money::from_cents(1000), "inv-3").await,
            Err(GatewayError::Declined(Decline::CardDeclined))
        ));
        assert_eq!(g.charges_made("inv-3").await.unwrap(), 0);
    }

    #[tokio::test]
    async fn a_batch_answers_in_order_and_charges_each_key_once() {
        let g = sandbox().await;
        let token = g
            .tokenize(&card("4242424242424242"), &holder())
            .await
            .unwrap(); // test number
        let failing = g
            .tokenize(&card(SANDBOX_CHARGE_FAILS), &holder())
            .await
            .unwrap();
        let before = g
            .charge(&token, Money::from_cents(500), "key-7")
            .await
            .unwrap();
        // Past one statement's rows, with a key charged before, a key twice in the batch
        // (in different statements) and cards that fail.
        let keys: Vec<String> = (0..450)
            .map(|i| format!("key-{}", if i == 420 { 3 } else { i }))
            .collect();
        let requests: Vec<ChargeRequest> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| ChargeRequest {
                token: if i % 100 == 50 {
                    failing.clone()
                } else {
                    token.clone()
                },
                amount: Money::from_cents(1000),
                idempotency_key: k.clone(),
                invoice_id: None,
            })
            .collect();
        let answers = g.charge_many(&requests).await;
        assert_eq!(answers.len(), 450);
        for (i, a) in answers.iter().enumerate() {
            if i % 100 == 50 {
                assert!(matches!(
                    a,
                    Err(GatewayError::Declined(Decline::CardDeclined))
                ));
                assert_eq!(g.charges_made(&keys[i]).await.unwrap(), 0);
            } else {
                assert!(a.is_ok(), "{i}: {a:?}");
                assert_eq!(g.charges_made(&keys[i]).await.unwrap(), 1, "{i}");
            }
        }
        assert_eq!(answers[7].as_ref().unwrap(), &before);
        assert_eq!(answers[420].as_ref().unwrap(), answers[3].as_ref().unwrap());
        // The same batch again charges nothing more and gives the same receipts.
        let again = g.charge_many(&requests).await;
        for (a, b) in answers.iter().zip(&again) {
            assert_eq!(a.as_ref().ok(), b.as_ref().ok());
        }
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sandbox_charges")
            .fetch_one(g.db.pool())
            .await
            .unwrap();
        assert_eq!(total, 450 - 4 - 1); // less the four failing cards and the repeated key
    }

    /// A processor charged one call at a time, some answering faster than others.
    struct Slow {
        in_flight: std::sync::atomic::AtomicUsize,
        most: std::sync::atomic::AtomicUsize,
    }

    #[async_trait::async_trait]
    impl PaymentGateway for Slow {
        async fn tokenize(&self, _: &NewCard, _: &PaymentInfo) -> Result<CardToken, GatewayError> {
            Err(GatewayError::Unavailable("not used".into()))
        }
        async fn charge(
            &self,
            _: &CardToken,
            _: Money,
            key: &str,
        ) -> Result<ChargeReceipt, GatewayError> {
            use std::sync::atomic::Ordering::SeqCst;
            let now = self.in_flight.fetch_add(1, SeqCst) + 1;
            self.most.fetch_max(now, SeqCst);
            let n: u64 = key.parse().unwrap();
            tokio::time::sleep(std::time::Duration::from_millis((n * 7) % 11)).await;
            self.in_flight.fetch_sub(1, SeqCst);
            Ok(ChargeReceipt {
                id: format!("ch-{key}"),
            })
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
                amount: Money::from_cents(100),
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
}
