//! The sandbox processor, the embedded default: a processor's test mode, inside Tally (owner
//! of `sandbox_setup_intents`, `sandbox_charges` and `sandbox_refunds`, the processor's side
//! of the world).
//!
//! It works as a real processor does, so the card window has one flow: the server begins a
//! set-up, the browser confirms the card with the processor (here at `/sandbox`, with the
//! same requests Stripe's API takes — [`SandboxGateway::confirm_setup`]), and the server reads
//! back what was confirmed. Any valid card is confirmed; the documented test numbers decline
//! with their reason. Charges are kept per idempotency key, shared by every server process and
//! surviving a killed one, so a repeat never charges twice.

use std::collections::HashMap;

use tally_core::{
    codes::IntentStatus,
    forms::{CardInput, FieldErrors},
    processor::{IntentAnswer, ProcessorError},
    views::billing::Processor,
};

use super::{
    CardToken, ChargeReceipt, ChargeRequest, Decline, GatewayError, PaymentAuthentication,
    PaymentGateway, ProcessorCard, RefundReceipt, RefundRequest, SetupStart,
};
use crate::platform::{
    context::Context,
    crypto::{new_token, token_hash},
    db::{Backend, Code, ROWS_PER_STATEMENT},
};

/// The documented test numbers: each declines its set-up with its reason.
const DECLINED: &str = "4000000000000002"; // sandbox test number
const INSUFFICIENT_FUNDS: &str = "4000000000009995"; // sandbox test number
const EXPIRED: &str = "4000000000000069"; // sandbox test number
const INCORRECT_CVC: &str = "4000000000000127"; // sandbox test number
/// Sets up fine; every charge to it is declined (for failed-charge retries).
pub const SANDBOX_CHARGE_FAILS: &str = "4000000000000341"; // sandbox test number
const FAILING_TOKEN_PREFIX: &str = "tok_sandbox_fails_";

/// Where the browser reaches the sandbox: a path on Tally's own site.
pub const API_BASE: &str = "/sandbox";

/// A card as the browser sends it to confirm a set-up (Stripe's form fields).
#[derive(Clone, serde::Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    pub client_secret: String,
    #[serde(rename = "payment_method_data[card][number]", default)]
    pub number: String,
    #[serde(rename = "payment_method_data[card][exp_month]", default)]
    pub exp_month: String,
    #[serde(rename = "payment_method_data[card][exp_year]", default)]
    pub exp_year: String,
    #[serde(rename = "payment_method_data[card][cvc]", default)]
    pub cvc: String,
}

impl std::fmt::Debug for ConfirmForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConfirmForm(•••)")
    }
}

/// The HTTP status the sandbox's answer goes with, as Stripe's: 402 for a refused card, 400
/// for a request that is wrong.
pub fn http_status(answer: &IntentAnswer) -> u16 {
    match &answer.error {
        None => 200,
        Some(e) if e.kind.as_deref() == Some("card_error") => 402,
        Some(_) => 400,
    }
}

/// A set-up, as the sandbox answers the browser.
fn setup_intent(id: &str, status: IntentStatus) -> IntentAnswer {
    IntentAnswer {
        id: Some(id.to_string()),
        object: Some("setup_intent".into()),
        status: Some(status),
        ..IntentAnswer::default()
    }
}

/// A refused card, with the field it is about when it is one.
fn refused(
    code: &str,
    decline: Option<Decline>,
    param: Option<&str>,
    message: &str,
) -> IntentAnswer {
    IntentAnswer {
        error: Some(ProcessorError {
            kind: Some("card_error".into()),
            code: Some(code.into()),
            decline_code: decline.map(|d| d.code().into()),
            param: param.map(Into::into),
            message: Some(message.into()),
        }),
        ..IntentAnswer::default()
    }
}

fn invalid_request(message: &str) -> IntentAnswer {
    IntentAnswer {
        error: Some(ProcessorError {
            kind: Some("invalid_request_error".into()),
            code: Some("resource_missing".into()),
            message: Some(message.into()),
            ..ProcessorError::default()
        }),
        ..IntentAnswer::default()
    }
}

/// The sandbox's refusal of a card core finds not valid: the first field at fault, with
/// core's words and Stripe's code and parameter.
fn invalid_card(errors: &FieldErrors) -> IntentAnswer {
    for (field, code, param) in [
        ("card_number", "invalid_number", "number"),
        ("expiry", "invalid_expiry_month", "exp_month"),
        ("cvc", "invalid_cvc", "cvc"),
    ] {
        if let Some(message) = errors.get(field) {
            return refused(code, None, Some(param), message);
        }
    }
    refused(
        "invalid_number",
        None,
        Some("number"),
        "Your card number is invalid.",
    )
}

/// A set-up as stored.
#[derive(sqlx::FromRow)]
struct SetupRow {
    account_id: String,
    secret_hash: String,
    #[sqlx(try_from = "Code<IntentStatus>")]
    status: IntentStatus,
    last_error: Option<String>,
    token: Option<String>,
    brand: Option<String>,
    last4: Option<String>,
    exp_month: Option<i64>,
    exp_year: Option<i64>,
    fingerprint: Option<String>,
}

/// The sandbox processor.
#[derive(Clone)]
pub struct SandboxGateway {
    ctx: Context,
}

impl SandboxGateway {
    pub fn new(ctx: Context) -> Self {
        Self { ctx }
    }

    async fn setup(&self, id: &str) -> Result<Option<SetupRow>, sqlx::Error> {
        sqlx::query_as(
            "SELECT account_id, secret_hash, status, last_error, token, brand, last4, exp_month, exp_year, fingerprint \
             FROM sandbox_setup_intents WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.ctx.db.pool())
        .await
    }

    /// `POST /sandbox/v1/setup_intents/{id}/confirm`: the browser confirms a set-up with a
    /// card. The card is checked as core checks it in the card window, the test numbers
    /// decline, and what is kept of an accepted card is the processor's: a token, the brand,
    /// the last 4 digits, the expiry and a keyed fingerprint.
    pub async fn confirm_setup(&self, id: &str, form: ConfirmForm) -> IntentAnswer {
        let setup = match self.setup(id).await {
            Ok(Some(s)) if secret_matches(&s.secret_hash, id, &form.client_secret) => s,
            Ok(_) => return invalid_request("No such setup intent."),
            Err(e) => {
                tracing::error!(error = %e, "sandbox: reading a set-up");
                return invalid_request("The sandbox could not read the set-up.");
            }
        };
        if setup.status == IntentStatus::Succeeded {
            return setup_intent(id, setup.status);
        }
        let expiry = format!("{:0>2}/{}", form.exp_month.trim(), form.exp_year.trim());
        let card = CardInput {
            number: form.number,
            expiry,
            cvc: form.cvc,
        };
        let parsed = card.parse(&self.ctx.settings.accepted_brands, self.ctx.clock.today());
        drop(card);
        let card = match parsed {
            Ok(card) => card,
            Err(errors) => return invalid_card(&errors),
        };
        let digits = card.number.expose_digits();
        let decline = match digits {
            DECLINED => Some(Decline::CardDeclined),
            INSUFFICIENT_FUNDS => Some(Decline::InsufficientFunds),
            EXPIRED => Some(Decline::ExpiredCard),
            INCORRECT_CVC => Some(Decline::IncorrectCvc),
            _ => None,
        };
        if let Some(d) = decline {
            let recorded = sqlx::query(
                "UPDATE sandbox_setup_intents SET last_error = $1 WHERE id = $2 AND status = $3",
            )
            .bind(d.code())
            .bind(id)
            .bind(IntentStatus::RequiresPaymentMethod.code())
            .execute(self.ctx.db.pool())
            .await;
            if let Err(e) = recorded {
                tracing::error!(error = %e, "sandbox: recording a decline");
            }
            return refused("card_declined", Some(d), None, d.message());
        }
        let prefix = if digits == SANDBOX_CHARGE_FAILS {
            FAILING_TOKEN_PREFIX
        } else {
            "tok_sandbox_"
        };
        let token = format!("{prefix}{}", self.ctx.new_id());
        let fingerprint = self.ctx.keys.card_fingerprint(digits);
        let saved = sqlx::query(
            "UPDATE sandbox_setup_intents SET status = $1, last_error = NULL, token = $2, brand = $3, last4 = $4, \
             exp_month = $5, exp_year = $6, fingerprint = $7 WHERE id = $8 AND status = $9",
        )
        .bind(IntentStatus::Succeeded.code())
        .bind(&token)
        .bind(card.number.brand().code())
        .bind(card.number.last4())
        .bind(i64::from(card.expiry.month()))
        .bind(i64::from(card.expiry.year()))
        .bind(&fingerprint)
        .bind(id)
        .bind(IntentStatus::RequiresPaymentMethod.code())
        .execute(self.ctx.db.pool())
        .await;
        drop(card);
        match saved {
            Ok(_) => setup_intent(id, IntentStatus::Succeeded),
            Err(e) => {
                tracing::error!(error = %e, "sandbox: saving a set-up");
                let d = Decline::ProcessingError;
                refused(d.code(), None, None, d.message())
            }
        }
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
        let now = self.ctx.now();
        let mut tx = self.ctx.db.pool().begin().await?;
        let backend = Backend::of(&tx);
        for batch in requests.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO sandbox_charges (idempotency_key, charge_id, amount_cents, created_at, currency) VALUES {} \
                 ON CONFLICT (idempotency_key) DO NOTHING RETURNING idempotency_key, charge_id",
                backend.values_list(batch.len(), 5)
            );
            let mut q = sqlx::query_as::<_, (String, String)>(&sql);
            for r in batch {
                q = q
                    .bind(&r.idempotency_key)
                    .bind(format!("ch_sandbox_{}", self.ctx.ids.new_id(now)))
                    .bind(r.amount.minor())
                    .bind(now)
                    .bind(r.amount.currency().code());
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

    /// Records a refund, once per key, in one transaction that first checks the charge and
    /// what is refunded of it already (as a processor does).
    async fn record_refund(
        &self,
        r: &RefundRequest,
    ) -> Result<Result<RefundReceipt, GatewayError>, sqlx::Error> {
        let now = self.ctx.now();
        let mut tx = self.ctx.db.pool().begin().await?;
        // Refunds of one charge are written one at a time: the charge's row is the lock, taken
        // first (SQLite's write lock too, before anything is read).
        let charged: Option<(i64, String)> = sqlx::query_as(
            "UPDATE sandbox_charges SET amount_cents = amount_cents WHERE charge_id = $1 RETURNING amount_cents, currency",
        )
        .bind(&r.charge_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((charged, currency)) = charged else {
            return Ok(Err(GatewayError::NotFound));
        };
        if currency != r.amount.currency().code() {
            return Ok(Err(GatewayError::Refused(format!(
                "the charge was in {currency}, the refund is in {}",
                r.amount.currency()
            ))));
        }
        let known: Option<String> =
            sqlx::query_scalar("SELECT refund_id FROM sandbox_refunds WHERE idempotency_key = $1")
                .bind(&r.idempotency_key)
                .fetch_optional(&mut *tx)
                .await?;
        if let Some(id) = known {
            return Ok(Ok(RefundReceipt { id }));
        }
        let refunded: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(amount_cents), 0) AS BIGINT) FROM sandbox_refunds WHERE charge_id = $1",
        )
        .bind(&r.charge_id)
        .fetch_one(&mut *tx)
        .await?;
        if r.amount.minor() <= 0 || refunded + r.amount.minor() > charged {
            return Ok(Err(GatewayError::Refused(format!(
                "a refund of {} is more than is left of the charge",
                r.amount
            ))));
        }
        let id = format!("re_sandbox_{}", self.ctx.ids.new_id(now));
        sqlx::query(
            "INSERT INTO sandbox_refunds (idempotency_key, refund_id, charge_id, amount_cents, created_at, currency) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&r.idempotency_key)
        .bind(&id)
        .bind(&r.charge_id)
        .bind(r.amount.minor())
        .bind(now)
        .bind(r.amount.currency().code())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Ok(RefundReceipt { id }))
    }

    /// How much was refunded of a charge (for tests and the demo).
    pub async fn refunded(&self, charge_id: &str) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(amount_cents), 0) AS BIGINT) FROM sandbox_refunds WHERE charge_id = $1",
        )
        .bind(charge_id)
        .fetch_one(self.ctx.db.pool())
        .await
    }

    /// The amount charged under `idempotency_key`, in minor units, and its currency's code
    /// (for tests).
    pub async fn charged(
        &self,
        idempotency_key: &str,
    ) -> Result<Option<(i64, String)>, sqlx::Error> {
        sqlx::query_as(
            "SELECT amount_cents, currency FROM sandbox_charges WHERE idempotency_key = $1",
        )
        .bind(idempotency_key)
        .fetch_optional(self.ctx.db.pool())
        .await
    }

    /// How many charges really happened under `idempotency_key` (0 or 1).
    pub async fn charges_made(&self, idempotency_key: &str) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("SELECT COUNT(*) FROM sandbox_charges WHERE idempotency_key = $1")
            .bind(idempotency_key)
            .fetch_one(self.ctx.db.pool())
            .await
    }
}

/// Whether `client_secret` is the set-up `id`'s: `<id>_secret_<token>` with the token whose
/// hash was kept, compared in constant time.
fn secret_matches(hash: &str, id: &str, client_secret: &str) -> bool {
    use subtle::ConstantTimeEq;
    client_secret.starts_with(&format!("{id}_secret_"))
        && token_hash(client_secret)
            .as_bytes()
            .ct_eq(hash.as_bytes())
            .into()
}

#[async_trait::async_trait]
impl PaymentGateway for SandboxGateway {
    fn processor(&self) -> Processor {
        Processor {
            publishable_key: "pk_sandbox".into(),
            api_base: API_BASE.into(),
        }
    }

    async fn begin_setup(&self, account_id: &str) -> Result<SetupStart, GatewayError> {
        let id = format!("seti_sb{}", self.ctx.new_id());
        let client_secret = format!("{id}_secret_{}", new_token());
        sqlx::query(
            "INSERT INTO sandbox_setup_intents (id, account_id, secret_hash, status, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&id)
        .bind(account_id)
        .bind(token_hash(&client_secret))
        .bind(IntentStatus::RequiresPaymentMethod.code())
        .bind(self.ctx.now())
        .execute(self.ctx.db.pool())
        .await
        .map_err(|e| GatewayError::Unavailable(format!("sandbox: {e}")))?;
        Ok(SetupStart { client_secret })
    }

    async fn finish_setup(
        &self,
        account_id: &str,
        setup_id: &str,
    ) -> Result<ProcessorCard, GatewayError> {
        let setup = self
            .setup(setup_id)
            .await
            .map_err(|e| GatewayError::Unavailable(format!("sandbox: {e}")))?
            // Another account's set-up is as good as none.
            .filter(|s| s.account_id == account_id)
            .ok_or(GatewayError::NotFound)?;
        if setup.status != IntentStatus::Succeeded {
            let decline = setup.last_error.as_deref().and_then(Decline::from_code);
            return Err(GatewayError::Declined(
                decline.unwrap_or(Decline::NotConfirmed),
            ));
        }
        let incomplete = || GatewayError::Unavailable("sandbox: a set-up without its card".into());
        Ok(ProcessorCard {
            token: CardToken(setup.token.ok_or_else(incomplete)?),
            brand: setup.brand.ok_or_else(incomplete)?,
            last4: setup.last4.ok_or_else(incomplete)?,
            exp_month: setup
                .exp_month
                .and_then(|m| u32::try_from(m).ok())
                .ok_or_else(incomplete)?,
            exp_year: setup
                .exp_year
                .and_then(|y| i32::try_from(y).ok())
                .ok_or_else(incomplete)?,
            fingerprint: setup.fingerprint,
        })
    }

    /// The sandbox's bank never asks the cardholder anything.
    async fn setup_bank_page(
        &self,
        _account_id: &str,
        _setup_id: &str,
        _return_url: &str,
    ) -> Result<Option<String>, GatewayError> {
        Ok(None)
    }

    async fn charge(&self, request: &ChargeRequest) -> Result<ChargeReceipt, GatewayError> {
        let mut answers = self.charge_many(std::slice::from_ref(request)).await;
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

    async fn refund(&self, request: &RefundRequest) -> Result<RefundReceipt, GatewayError> {
        self.record_refund(request)
            .await
            .unwrap_or_else(|e| Err(GatewayError::Unavailable(e.to_string())))
    }

    /// No sandbox payment ever waits for the cardholder's bank.
    async fn payment_authentication(
        &self,
        _payment_id: &str,
        _return_url: Option<&str>,
    ) -> Result<PaymentAuthentication, GatewayError> {
        Err(GatewayError::NotFound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tally_core::money::Money;

    async fn sandbox() -> SandboxGateway {
        let dir = tempfile::tempdir().unwrap();
        let ctx = crate::platform::context::for_tests(dir.path()).await;
        std::mem::forget(dir); // the files live as long as the test process
        sqlx::query("INSERT INTO accounts (id, name, created_at) VALUES ('acct', 'Acme', 0)")
            .execute(ctx.db.pool())
            .await
            .unwrap();
        SandboxGateway::new(ctx)
    }

    fn card(number: &str) -> ConfirmForm {
        ConfirmForm {
            client_secret: String::new(),
            number: number.into(),
            exp_month: "12".into(),
            exp_year: "2030".into(),
            cvc: "123".into(),
        }
    }

    /// A set-up confirmed with `number`: its token, or the sandbox's refusal.
    async fn set_up(g: &SandboxGateway, number: &str) -> Result<CardToken, ProcessorError> {
        let start = g.begin_setup("acct").await.unwrap();
        let id = tally_core::processor::intent_id(&start.client_secret).to_string();
        let form = ConfirmForm {
            client_secret: start.client_secret,
            ..card(number)
        };
        match g.confirm_setup(&id, form).await.error {
            None => Ok(g.finish_setup("acct", &id).await.unwrap().token),
            Some(refused) => Err(refused),
        }
    }

    fn request(token: &CardToken, cents: i64, key: &str) -> ChargeRequest {
        ChargeRequest {
            token: token.clone(),
            amount: Money::usd(cents),
            idempotency_key: key.into(),
            invoice_id: None,
        }
    }

    #[tokio::test]
    async fn a_refund_is_made_once_per_key_and_never_beyond_the_charge() {
        let g = sandbox().await;
        let token = set_up(&g, "4242 4242 4242 4242").await.unwrap(); // test number
        let charge = g.charge(&request(&token, 1000, "inv-1")).await.unwrap();
        let refund = |cents: i64, key: &str| RefundRequest {
            charge_id: charge.id.clone(),
            amount: Money::usd(cents),
            idempotency_key: key.into(),
            credit_note_id: key.into(),
        };
        let first = g.refund(&refund(400, "cn-1")).await.unwrap();
        assert!(first.id.starts_with("re_sandbox_"));
        assert_eq!(
            g.refund(&refund(400, "cn-1")).await.unwrap(),
            first,
            "a repeat"
        );
        assert_eq!(g.refunded(&charge.id).await.unwrap(), 400);
        assert!(matches!(
            g.refund(&refund(601, "cn-2")).await,
            Err(GatewayError::Refused(_))
        ));
        g.refund(&refund(600, "cn-3")).await.unwrap();
        assert_eq!(g.refunded(&charge.id).await.unwrap(), 1000);
        let unknown = RefundRequest {
            charge_id: "ch_sandbox_none".into(),
            ..refund(1, "cn-4")
        };
        assert!(matches!(
            g.refund(&unknown).await,
            Err(GatewayError::NotFound)
        ));
    }

    #[tokio::test]
    async fn test_numbers_decline_with_their_reason_and_others_set_up() {
        let g = sandbox().await;
        for (number, reason) in [
            ("4000 0000 0000 0002", Decline::CardDeclined), // test number
            ("4000 0000 0000 9995", Decline::InsufficientFunds), // test number
            ("4000 0000 0000 0069", Decline::ExpiredCard),  // test number
            ("4000 0000 0000 0127", Decline::IncorrectCvc), // test number
        ] {
            match set_up(&g, number).await {
                Err(error) => {
                    assert_eq!(error.decline_code.as_deref(), Some(reason.code()));
                    assert_eq!(error.message.as_deref(), Some(reason.message()));
                }
                other => panic!("{number}: {other:?}"),
            }
        }
        let token = set_up(&g, "4242 4242 4242 4242").await.unwrap(); // test number
        assert!(token.0.starts_with("tok_sandbox_"));
        assert!(!token.0.contains("4242"));
    }

    #[tokio::test]
    async fn a_set_up_confirms_only_with_its_secret_and_only_for_its_account() {
        let g = sandbox().await;
        let start = g.begin_setup("acct").await.unwrap();
        let id = tally_core::processor::intent_id(&start.client_secret).to_string();
        let wrong = ConfirmForm {
            client_secret: format!("{id}_secret_guess"),
            ..card("4242424242424242") // test number
        };
        assert_eq!(http_status(&g.confirm_setup(&id, wrong).await), 400);
        // Not confirmed yet: nothing to keep.
        assert!(matches!(
            g.finish_setup("acct", &id).await,
            Err(GatewayError::Declined(Decline::NotConfirmed))
        ));
        let right = ConfirmForm {
            client_secret: start.client_secret,
            ..card("4242424242424242") // test number
        };
        assert_eq!(http_status(&g.confirm_setup(&id, right).await), 200);
        assert!(matches!(
            g.finish_setup("another", &id).await,
            Err(GatewayError::NotFound)
        ));
        let kept = g.finish_setup("acct", &id).await.unwrap();
        assert_eq!((kept.brand.as_str(), kept.last4.as_str()), ("visa", "4242"));
        assert_eq!(kept.fingerprint.map(|f| f.len()), Some(64));
    }

    #[tokio::test]
    async fn a_card_core_refuses_is_refused_with_cores_words_and_the_field() {
        let g = sandbox().await;
        match set_up(&g, "4242 4242 4242 4241").await {
            // test number failing Luhn
            Err(error) => {
                assert_eq!(error.param.as_deref(), Some("number"));
                let message = error.message.unwrap_or_default();
                assert!(!message.contains("4241"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn the_same_idempotency_key_charges_once() {
        let g = sandbox().await;
        let token = set_up(&g, "4242424242424242").await.unwrap(); // test number
        let a = g.charge(&request(&token, 1000, "inv-1")).await.unwrap();
        let b = g.charge(&request(&token, 1000, "inv-1")).await.unwrap();
        assert_eq!(a, b);
        assert_eq!(g.charges_made("inv-1").await.unwrap(), 1);
        assert_eq!(g.charges_made("inv-2").await.unwrap(), 0);
        let failing = set_up(&g, SANDBOX_CHARGE_FAILS).await.unwrap();
        assert!(matches!(
            g.charge(&request(&failing, 1000, "inv-3")).await,
            Err(GatewayError::Declined(Decline::CardDeclined))
        ));
        assert_eq!(g.charges_made("inv-3").await.unwrap(), 0);
    }

    #[tokio::test]
    async fn a_batch_answers_in_order_and_charges_each_key_once() {
        let g = sandbox().await;
        let token = set_up(&g, "4242424242424242").await.unwrap(); // test number
        let failing = set_up(&g, SANDBOX_CHARGE_FAILS).await.unwrap();
        let before = g.charge(&request(&token, 500, "key-7")).await.unwrap();
        // Past one statement's rows, with a key charged before, a key twice in the batch
        // (in different statements) and cards that fail.
        let keys: Vec<String> = (0..450)
            .map(|i| format!("key-{}", if i == 420 { 3 } else { i }))
            .collect();
        let requests: Vec<ChargeRequest> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| {
                let card = if i % 100 == 50 { &failing } else { &token };
                request(card, 1000, k)
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
            .fetch_one(g.ctx.db.pool())
            .await
            .unwrap();
        assert_eq!(total, 450 - 4 - 1); // less the four failing cards and the repeated key
    }
}
