//! The payment processor seam (spec §6): tokenize a card, charge a token with an idempotency
//! key. [`SandboxGateway`] is the embedded default, like a processor's test mode; a real
//! processor is another implementation of [`PaymentGateway`] and nothing else changes.

use tally_core::{
    forms::{NewCard, PaymentInfo},
    money::Money,
};

use crate::db::Database;

/// Why the processor refused a card or a charge. The messages are shown to the person paying.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decline {
    CardDeclined,
    InsufficientFunds,
    ExpiredCard,
    IncorrectCvc,
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
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("declined: {0:?}")]
    Declined(Decline),
    /// The processor could not be reached or failed; nothing happened.
    #[error("payment processor unavailable: {0}")]
    Unavailable(String),
}

/// What the processor gives back for a card: the only handle Tally keeps to charge it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CardToken(pub String);

/// A successful charge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChargeReceipt {
    pub id: String,
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
    /// How many charges a billing run keeps in flight at once: a real processor answers in
    /// hundreds of milliseconds, so several at a time.
    fn charges_at_once(&self) -> usize {
        8
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
        Ok(CardToken(format!("{prefix}{}", crate::crypto::new_id())))
    }

    async fn charge(
        &self,
        token: &CardToken,
        amount: Money,
        idempotency_key: &str,
    ) -> Result<ChargeReceipt, GatewayError> {
        if token.0.starts_with(FAILING_TOKEN_PREFIX) {
            return Err(GatewayError::Declined(Decline::CardDeclined));
        }
        let unavailable = |e: sqlx::Error| GatewayError::Unavailable(e.to_string());
        let new: Option<String> = sqlx::query_scalar(
            "INSERT INTO sandbox_charges (idempotency_key, charge_id, amount_cents, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (idempotency_key) DO NOTHING RETURNING charge_id",
        )
        .bind(idempotency_key)
        .bind(format!("ch_sandbox_{}", crate::crypto::new_id()))
        .bind(amount.cents())
        .bind(chrono::Utc::now().timestamp_millis())
        .fetch_optional(self.db.pool())
        .await
        .map_err(unavailable)?;
        let id = match new {
            Some(id) => id,
            // A repeat: the first charge's receipt.
            None => sqlx::query_scalar(
                "SELECT charge_id FROM sandbox_charges WHERE idempotency_key = $1",
            )
            .bind(idempotency_key)
            .fetch_one(self.db.pool())
            .await
            .map_err(unavailable)?,
        };
        Ok(ChargeReceipt { id })
    }

    /// One at a time: the sandbox's charges are rows in the same database, and SQLite takes
    /// one writer at a time anyway (several would only wait on its lock).
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
}
