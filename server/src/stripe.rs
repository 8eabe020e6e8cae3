//! The Stripe gateway: cards are confirmed by the browser directly with the processor (a
//! SetupIntent), so a card number never reaches Tally's server; invoices are charged with one
//! off-session PaymentIntent per attempt.
//!
//! A charge is safe against a process killed at any point, without trusting the processor's
//! `Idempotency-Key` (it is sent, but a Stripe-compatible test server may ignore it):
//! 1. a row for the attempt's key is written before the processor is asked;
//! 2. the PaymentIntent is created and confirmed at once, tagged with the key in its metadata;
//! 3. its id is written to the row before the answer is used.
//!
//! A rerun that finds the row with an id reads that intent instead of making another; one that
//! finds the row without an id (killed between 2 and 3) looks the intent up by its metadata
//! first. Either way the attempt has one PaymentIntent on the processor.

use std::time::Duration;

use futures::{stream, StreamExt};
use serde_json::Value;
use tally_core::money::Money;

use crate::{
    config::StripeSettings,
    db::Database,
    gateway::{
        BrowserProcessor, CardToken, ChargeReceipt, ChargeRequest, Decline, GatewayError,
        PaymentAuthentication, PaymentGateway, ProcessorCard, SetupStart,
    },
};

/// How long one call to the processor may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// How many pages of 100 intents a recovery looks through for a lost intent.
const RECOVERY_PAGES: usize = 50;

/// What the processor answered when it refused a call.
#[derive(Debug)]
enum ApiError {
    /// An HTTP error with Stripe's error object.
    Refused {
        status: u16,
        code: Option<String>,
        decline_code: Option<String>,
        /// The intent the error is about, when the processor says.
        payment_intent: Option<Value>,
    },
    /// Not reached, or an answer that is not Stripe's.
    Network(String),
}

impl ApiError {
    /// The decline this refusal means, if it is one.
    fn decline(&self) -> Option<Decline> {
        let ApiError::Refused {
            code, decline_code, ..
        } = self
        else {
            return None;
        };
        decline_code
            .as_deref()
            .and_then(decline_of)
            .or_else(|| code.as_deref().and_then(decline_of))
    }

    fn into_gateway(self, doing: &str) -> GatewayError {
        match self.decline() {
            Some(d) => GatewayError::Declined(d),
            None => GatewayError::Unavailable(format!("{doing}: {}", self.describe())),
        }
    }

    /// For logs: the status and code, never a body.
    fn describe(&self) -> String {
        match self {
            ApiError::Refused { status, code, .. } => {
                format!("HTTP {status} ({})", code.as_deref().unwrap_or("no code"))
            }
            ApiError::Network(e) => e.clone(),
        }
    }
}

/// Tally's decline for one of the processor's codes.
pub fn decline_of(code: &str) -> Option<Decline> {
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
        _ => return None,
    })
}

/// The processor's card token: the customer and the payment method, `cus_…/pm_…`.
fn split_token(token: &CardToken) -> Option<(&str, &str)> {
    let (customer, method) = token.0.split_once('/')?;
    (customer.starts_with("cus_") && !method.is_empty()).then_some((customer, method))
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, k| v.get(k))?.as_str()
}

/// The Stripe payment gateway.
#[derive(Clone)]
pub struct StripeGateway {
    http: reqwest::Client,
    settings: StripeSettings,
    db: Database,
}

impl StripeGateway {
    pub fn new(settings: StripeSettings, db: Database) -> Self {
        let http = reqwest::Client::builder()
            .timeout(CALL_TIMEOUT)
            .user_agent(concat!("tally/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("an HTTP client");
        Self { http, settings, db }
    }

    async fn answer(response: reqwest::Result<reqwest::Response>) -> Result<Value, ApiError> {
        let response = response.map_err(|e| ApiError::Network(e.without_url().to_string()))?;
        let status = response.status();
        let body: Value = response
            .json()
            .await
            .map_err(|e| ApiError::Network(format!("HTTP {status}: {}", e.without_url())))?;
        if status.is_success() {
            return Ok(body);
        }
        let error = body.get("error").cloned().unwrap_or(Value::Null);
        Err(ApiError::Refused {
            status: status.as_u16(),
            code: str_at(&error, &["code"]).map(str::to_string),
            decline_code: str_at(&error, &["decline_code"]).map(str::to_string),
            payment_intent: error.get("payment_intent").cloned(),
        })
    }

    async fn post(
        &self,
        path: &str,
        form: &[(&str, String)],
        idempotency_key: Option<&str>,
    ) -> Result<Value, ApiError> {
        let mut request = self
            .http
            .post(format!("{}{path}", self.settings.api_base))
            .bearer_auth(&self.settings.secret_key)
            .form(form);
        if let Some(key) = idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        Self::answer(request.send().await).await
    }

    async fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Value, ApiError> {
        let request = self
            .http
            .get(format!("{}{path}", self.settings.api_base))
            .bearer_auth(&self.settings.secret_key)
            .query(query);
        Self::answer(request.send().await).await
    }

    /// The account's customer on the processor, if it has one yet.
    async fn known_customer(&self, account_id: &str) -> Result<Option<String>, GatewayError> {
        sqlx::query_scalar("SELECT customer_id FROM stripe_customers WHERE account_id = $1")
            .bind(account_id)
            .fetch_optional(self.db.pool())
            .await
            .map_err(|e| GatewayError::Unavailable(format!("database: {e}")))
    }

    /// The account's customer on the processor, made on first use (one per account).
    pub async fn customer_for(&self, account_id: &str) -> Result<String, GatewayError> {
        let db_error = |e: sqlx::Error| GatewayError::Unavailable(format!("database: {e}"));
        if let Some(id) = self.known_customer(account_id).await? {
            return Ok(id);
        }
        let customer = self
            .post(
                "/v1/customers",
                &[("metadata[tally_account]", account_id.to_string())],
                Some(&format!("tally-customer-{account_id}")),
            )
            .await
            .map_err(|e| e.into_gateway("creating a customer"))?;
        let id = str_at(&customer, &["id"])
            .ok_or_else(|| GatewayError::Unavailable("a customer without an id".into()))?;
        // Two first saves at once: the first row stays, and both use it.
        sqlx::query(
            "INSERT INTO stripe_customers (account_id, customer_id, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (account_id) DO NOTHING",
        )
        .bind(account_id)
        .bind(id)
        .bind(chrono::Utc::now().timestamp_millis())
        .execute(self.db.pool())
        .await
        .map_err(db_error)?;
        sqlx::query_scalar("SELECT customer_id FROM stripe_customers WHERE account_id = $1")
            .bind(account_id)
            .fetch_one(self.db.pool())
            .await
            .map_err(db_error)
    }

    /// Charges one request: see the module's comment for why each step is where it is.
    async fn charge_request(&self, r: &ChargeRequest) -> Result<ChargeReceipt, GatewayError> {
        let Some((customer, method)) = split_token(&r.token) else {
            return Err(GatewayError::Declined(Decline::CardDeclined));
        };
        let db_error = |e: sqlx::Error| GatewayError::Unavailable(format!("database: {e}"));
        let key = r.idempotency_key.as_str();
        let fresh = sqlx::query(
            "INSERT INTO stripe_payment_intents (idempotency_key, invoice_id, customer_id, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (idempotency_key) DO NOTHING",
        )
        .bind(key)
        .bind(&r.invoice_id)
        .bind(customer)
        .bind(chrono::Utc::now().timestamp_millis())
        .execute(self.db.pool())
        .await
        .map_err(db_error)?
        .rows_affected()
            == 1;
        if !fresh {
            let known: Option<String> = sqlx::query_scalar(
                "SELECT payment_intent_id FROM stripe_payment_intents WHERE idempotency_key = $1",
            )
            .bind(key)
            .fetch_one(self.db.pool())
            .await
            .map_err(db_error)?;
            let intent = match known {
                Some(id) => Some(
                    self.get(&format!("/v1/payment_intents/{id}"), &[])
                        .await
                        .map_err(|e| e.into_gateway("reading a payment"))?,
                ),
                None => self.find_intent(customer, key).await?,
            };
            if let Some(intent) = intent {
                self.remember(key, &intent).await?;
                return intent_outcome(&intent);
            }
        }
        let form = [
            ("amount", r.amount.cents().to_string()),
            ("currency", "usd".to_string()),
            ("customer", customer.to_string()),
            ("payment_method", method.to_string()),
            ("confirm", "true".to_string()),
            ("off_session", "true".to_string()),
            ("metadata[tally_key]", key.to_string()),
            (
                "metadata[tally_invoice]",
                r.invoice_id.clone().unwrap_or_default(),
            ),
        ];
        match self.post("/v1/payment_intents", &form, Some(key)).await {
            Ok(intent) => {
                self.remember(key, &intent).await?;
                intent_outcome(&intent)
            }
            Err(e) => {
                if let ApiError::Refused {
                    payment_intent: Some(intent),
                    ..
                } = &e
                {
                    self.remember(key, intent).await?;
                    if str_at(intent, &["status"]) == Some("requires_action") {
                        return intent_outcome(intent);
                    }
                }
                Err(e.into_gateway("charging"))
            }
        }
    }

    /// Writes the intent's id to its attempt's row (before its answer is used).
    async fn remember(&self, key: &str, intent: &Value) -> Result<(), GatewayError> {
        let Some(id) = str_at(intent, &["id"]) else {
            return Ok(());
        };
        sqlx::query(
            "UPDATE stripe_payment_intents SET payment_intent_id = $1 WHERE idempotency_key = $2",
        )
        .bind(id)
        .bind(key)
        .execute(self.db.pool())
        .await
        .map_err(|e| GatewayError::Unavailable(format!("database: {e}")))?;
        Ok(())
    }

    /// An intent made for `key` whose id was never written (the process died first), found by
    /// its metadata among the customer's intents. Where the processor does not filter by
    /// customer, the whole list is read, newest pages first where it sorts so.
    async fn find_intent(&self, customer: &str, key: &str) -> Result<Option<Value>, GatewayError> {
        let mut by_customer = true;
        let mut after: Option<String> = None;
        let mut pages = 0;
        while pages < RECOVERY_PAGES {
            let mut query = vec![("limit", "100".to_string())];
            if by_customer {
                query.push(("customer", customer.to_string()));
            }
            if let Some(a) = &after {
                query.push(("starting_after", a.clone()));
            }
            let page = match self.get("/v1/payment_intents", &query).await {
                Ok(p) => p,
                Err(ApiError::Refused { status: 400, .. }) if by_customer => {
                    by_customer = false;
                    continue;
                }
                Err(e) => return Err(e.into_gateway("looking for a payment")),
            };
            pages += 1;
            let data = page
                .get("data")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if let Some(found) = data
                .iter()
                .find(|pi| str_at(pi, &["metadata", "tally_key"]) == Some(key))
            {
                return Ok(Some(found.clone()));
            }
            let more = page.get("has_more").and_then(Value::as_bool) == Some(true);
            match data.last().and_then(|pi| str_at(pi, &["id"])) {
                Some(last) if more => after = Some(last.to_string()),
                _ => return Ok(None),
            }
        }
        tracing::warn!(
            key,
            "a lost payment was not found in the processor's recent list"
        );
        Ok(None)
    }

    /// The intent and its invoice, for a webhook's event: `None` when Tally did not make it.
    pub async fn invoice_of_intent(
        &self,
        payment_intent_id: &str,
    ) -> Result<Option<String>, sqlx::Error> {
        sqlx::query_scalar(
            "SELECT invoice_id FROM stripe_payment_intents WHERE payment_intent_id = $1",
        )
        .bind(payment_intent_id)
        .fetch_optional(self.db.pool())
        .await
        .map(Option::flatten)
    }

    pub fn webhook_secret(&self) -> &str {
        &self.settings.webhook_secret
    }
}

/// A charge's outcome from its PaymentIntent.
fn intent_outcome(intent: &Value) -> Result<ChargeReceipt, GatewayError> {
    let id = str_at(intent, &["id"]).unwrap_or_default().to_string();
    match str_at(intent, &["status"]) {
        Some("succeeded") | Some("processing") | Some("requires_capture") => {
            Ok(ChargeReceipt { id })
        }
        Some("requires_action") => Err(GatewayError::NeedsAuthentication(id)),
        _ => {
            let code = str_at(intent, &["last_payment_error", "decline_code"])
                .or_else(|| str_at(intent, &["last_payment_error", "code"]));
            Err(GatewayError::Declined(
                code.and_then(decline_of).unwrap_or(Decline::CardDeclined),
            ))
        }
    }
}

#[async_trait::async_trait]
impl PaymentGateway for StripeGateway {
    async fn tokenize(
        &self,
        _card: &tally_core::forms::NewCard,
        _holder: &tally_core::forms::PaymentInfo,
    ) -> Result<CardToken, GatewayError> {
        // With this gateway the server never takes a card number.
        Err(GatewayError::Unavailable(
            "cards are confirmed with the processor from the browser".into(),
        ))
    }

    async fn charge(
        &self,
        token: &CardToken,
        amount: Money,
        idempotency_key: &str,
    ) -> Result<ChargeReceipt, GatewayError> {
        self.charge_request(&ChargeRequest {
            token: token.clone(),
            amount,
            idempotency_key: idempotency_key.to_string(),
            invoice_id: None,
        })
        .await
    }

    async fn charge_many(
        &self,
        requests: &[ChargeRequest],
    ) -> Vec<Result<ChargeReceipt, GatewayError>> {
        let calls: Vec<_> = requests.iter().map(|r| self.charge_request(r)).collect();
        stream::iter(calls)
            .buffered(self.charges_at_once())
            .collect()
            .await
    }

    fn browser_processor(&self) -> Option<BrowserProcessor> {
        Some(BrowserProcessor {
            publishable_key: self.settings.publishable_key.clone(),
            api_base: self.settings.api_base.clone(),
        })
    }

    async fn begin_setup(&self, account_id: &str) -> Result<SetupStart, GatewayError> {
        let customer = self.customer_for(account_id).await?;
        let intent = self
            .post(
                "/v1/setup_intents",
                &[
                    ("customer", customer),
                    ("usage", "off_session".into()),
                    ("payment_method_types[0]", "card".into()),
                    ("metadata[tally_account]", account_id.to_string()),
                ],
                None,
            )
            .await
            .map_err(|e| e.into_gateway("starting a card set-up"))?;
        let secret = str_at(&intent, &["client_secret"])
            .ok_or_else(|| GatewayError::Unavailable("a set-up without a secret".into()))?;
        Ok(SetupStart {
            client_secret: secret.to_string(),
        })
    }

    async fn finish_setup(
        &self,
        account_id: &str,
        setup_id: &str,
    ) -> Result<ProcessorCard, GatewayError> {
        let refused = |why: &str| GatewayError::Unavailable(format!("a card set-up {why}"));
        let intent = self.own_setup(account_id, setup_id).await?;
        // `own_setup` checked that this is the account's customer.
        let customer = str_at(&intent, &["customer"])
            .unwrap_or_default()
            .to_string();
        if str_at(&intent, &["status"]) != Some("succeeded") {
            return Err(GatewayError::Declined(Decline::NotConfirmed));
        }
        let method_id = str_at(&intent, &["payment_method"])
            .ok_or_else(|| refused("without a payment method"))?
            .to_string();
        let method = self
            .get(&format!("/v1/payment_methods/{method_id}"), &[])
            .await
            .map_err(|e| e.into_gateway("reading a payment method"))?;
        if str_at(&method, &["customer"]).is_none() {
            // A processor that did not attach the card with the set-up.
            self.post(
                &format!("/v1/payment_methods/{method_id}/attach"),
                &[("customer", customer.clone())],
                None,
            )
            .await
            .map_err(|e| e.into_gateway("attaching a card"))?;
        }
        let card = method
            .get("card")
            .ok_or_else(|| refused("that is not a card"))?;
        let number = |k: &str| card.get(k).and_then(Value::as_i64);
        let (Some(brand), Some(last4), Some(exp_month), Some(exp_year)) = (
            str_at(card, &["brand"]),
            str_at(card, &["last4"]),
            number("exp_month"),
            number("exp_year"),
        ) else {
            return Err(refused("with an incomplete card"));
        };
        Ok(ProcessorCard {
            token: CardToken(format!("{customer}/{method_id}")),
            brand: brand.to_string(),
            last4: last4.to_string(),
            exp_month: exp_month as u32,
            exp_year: exp_year as i32,
            fingerprint: str_at(card, &["fingerprint"]).map(str::to_string),
        })
    }

    async fn payment_authentication(
        &self,
        payment_id: &str,
        return_url: Option<&str>,
    ) -> Result<PaymentAuthentication, GatewayError> {
        let intent = self
            .get(&format!("/v1/payment_intents/{payment_id}"), &[])
            .await
            .map_err(|e| e.into_gateway("reading a payment"))?;
        let redirect_url = match return_url {
            Some(back) => {
                self.bank_page("payment_intents", payment_id, &intent, back)
                    .await
            }
            None => redirect_of(&intent),
        };
        Ok(PaymentAuthentication {
            client_secret: str_at(&intent, &["client_secret"])
                .unwrap_or_default()
                .to_string(),
            status: str_at(&intent, &["status"]).unwrap_or_default().to_string(),
            redirect_url,
        })
    }

    async fn setup_bank_page(
        &self,
        account_id: &str,
        setup_id: &str,
        return_url: &str,
    ) -> Result<Option<String>, GatewayError> {
        let intent = self.own_setup(account_id, setup_id).await?;
        Ok(self
            .bank_page("setup_intents", setup_id, &intent, return_url)
            .await)
    }
}

/// For `tally check`: one harmless read with the secret key (the newest customer, if any).
pub async fn check_key(settings: &StripeSettings) -> Result<(), String> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;
    let answer = http
        .get(format!("{}/v1/customers", settings.api_base))
        .bearer_auth(&settings.secret_key)
        .query(&[("limit", "1")])
        .send()
        .await
        .map_err(|e| {
            format!(
                "{} cannot be reached: {}",
                settings.api_base,
                e.without_url()
            )
        })?;
    match answer.status().as_u16() {
        200 => Ok(()),
        401 => Err(format!("{} refuses the secret key", settings.api_base)),
        status => Err(format!("{} answered HTTP {status}", settings.api_base)),
    }
}

/// The bank's page an intent's next action sends the cardholder to, if it is one.
fn redirect_of(intent: &Value) -> Option<String> {
    str_at(intent, &["next_action", "redirect_to_url", "url"]).map(str::to_string)
}

impl StripeGateway {
    /// A set-up of this account's customer (`NotFound` for anything else).
    async fn own_setup(&self, account_id: &str, setup_id: &str) -> Result<Value, GatewayError> {
        if !setup_id.starts_with("seti_")
            || !setup_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(GatewayError::NotFound);
        }
        // Only an account that began a set-up has a customer; asking makes none.
        let Some(customer) = self.known_customer(account_id).await? else {
            return Err(GatewayError::NotFound);
        };
        let intent = match self
            .get(&format!("/v1/setup_intents/{setup_id}"), &[])
            .await
        {
            Ok(i) => i,
            Err(ApiError::Refused { status: 404, .. }) => return Err(GatewayError::NotFound),
            Err(e) => return Err(e.into_gateway("reading a card set-up")),
        };
        // Another account's set-up is as good as none.
        if str_at(&intent, &["customer"]) != Some(customer.as_str()) {
            return Err(GatewayError::NotFound);
        }
        Ok(intent)
    }

    /// The bank's page for an intent waiting for the cardholder: the one it names, or the one
    /// the processor gives when the intent is confirmed again with `return_url` (Stripe's
    /// answer without its browser library). `None` where the processor gives none (a test
    /// server: its own step is then taken in the window).
    async fn bank_page(
        &self,
        kind: &str,
        id: &str,
        intent: &Value,
        return_url: &str,
    ) -> Option<String> {
        if let Some(url) = redirect_of(intent) {
            return Some(url);
        }
        if str_at(intent, &["status"]) != Some("requires_action") {
            return None;
        }
        match self
            .post(
                &format!("/v1/{kind}/{id}/confirm"),
                &[("return_url", return_url.to_string())],
                None,
            )
            .await
        {
            Ok(again) => redirect_of(&again),
            Err(e) => {
                tracing::info!(error = %e.describe(), "the processor gave no bank page; the in-window step remains");
                None
            }
        }
    }
}

/// How old a webhook's signature may be (Stripe's own libraries use the same 5 minutes).
const WEBHOOK_TOLERANCE_SECS: i64 = 300;

/// `POST /webhooks/stripe`: the processor telling what became of payments. The signature is
/// checked first; an event is applied once by its id (a second delivery is acknowledged and
/// changes nothing). Refusals are logged without the body.
pub async fn webhook(
    axum::extract::State(state): axum::extract::State<crate::http::AppState>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> axum::http::StatusCode {
    use axum::http::StatusCode;
    let Some(stripe) = &state.stripe else {
        return StatusCode::NOT_FOUND;
    };
    let signature = headers
        .get("Stripe-Signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let now = chrono::Utc::now().timestamp();
    if !signature_is_valid(
        signature,
        &body,
        stripe.webhook_secret(),
        now,
        WEBHOOK_TOLERANCE_SECS,
    ) {
        tracing::warn!(
            signed = !signature.is_empty(),
            bytes = body.len(),
            "webhook refused: missing, wrong or expired signature"
        );
        return StatusCode::BAD_REQUEST;
    }
    let Ok(event) = serde_json::from_slice::<Value>(&body) else {
        tracing::warn!(bytes = body.len(), "webhook refused: not JSON");
        return StatusCode::BAD_REQUEST;
    };
    let (Some(id), Some(kind)) = (str_at(&event, &["id"]), str_at(&event, &["type"])) else {
        tracing::warn!("webhook refused: an event without id or type");
        return StatusCode::BAD_REQUEST;
    };
    match apply_event(&state, stripe, id, kind, &event).await {
        Ok(applied) => {
            tracing::info!(event = id, kind, applied, "webhook event");
            StatusCode::OK
        }
        Err(e) => {
            tracing::error!(event = id, kind, error = %e, "webhook event not applied; the processor will send it again");
            StatusCode::INTERNAL_SERVER_ERROR
        }
    }
}

/// Applies one event unless it was applied before; returns whether it changed anything.
async fn apply_event(
    state: &crate::http::AppState,
    stripe: &StripeGateway,
    id: &str,
    kind: &str,
    event: &Value,
) -> Result<bool, crate::error::ServiceError> {
    use crate::error::Context as _;
    let pool = state.ctx.db.pool();
    let seen: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM stripe_events WHERE event_id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .context("reading webhook events")?;
    if seen > 0 {
        return Ok(false);
    }
    let object = event.get("data").and_then(|d| d.get("object"));
    let intent = object.and_then(|o| str_at(o, &["id"]));
    let changed = match (kind, intent) {
        ("payment_intent.succeeded" | "payment_intent.payment_failed", Some(intent)) => {
            match stripe
                .invoice_of_intent(intent)
                .await
                .context("finding a payment's invoice")?
            {
                Some(invoice) => {
                    state
                        .charging
                        .settle_payment(&invoice, intent, kind == "payment_intent.succeeded")
                        .await?
                }
                // Not a payment Tally made (or not recorded yet: the run reads it itself).
                None => false,
            }
        }
        // The card window saves the card once the processor has confirmed it; the event only
        // confirms what was saved.
        ("setup_intent.succeeded", _) => false,
        _ => false,
    };
    // Applying is idempotent, so a second delivery racing this one changes nothing either.
    sqlx::query(
        "INSERT INTO stripe_events (event_id, type, received_at) VALUES ($1, $2, $3) \
         ON CONFLICT (event_id) DO NOTHING",
    )
    .bind(id)
    .bind(kind)
    .bind(state.ctx.now())
    .execute(pool)
    .await
    .context("recording a webhook event")?;
    Ok(changed)
}

/// Checks a webhook's `Stripe-Signature` header (`t=<unix seconds>,v1=<hex HMAC-SHA256 of
/// "t.body">`) against the secret, within `tolerance_secs` of `now_secs`.
pub fn signature_is_valid(
    header: &str,
    body: &[u8],
    secret: &str,
    now_secs: i64,
    tolerance_secs: i64,
) -> bool {
    use hmac::{Hmac, Mac};
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", s)) => signatures.extend(hex::decode(s).ok()),
            _ => {}
        }
    }
    let Some(t) = timestamp else { return false };
    if (now_secs - t).abs() > tolerance_secs {
        return false;
    }
    signatures.iter().any(|sig| {
        let mut mac =
            Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
        mac.update(t.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.verify_slice(sig).is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(secret: &str, t: i64, body: &[u8]) -> String {
        use hmac::{Hmac, Mac};
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{t}.").as_bytes());
        mac.update(body);
        format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
    }

    #[test]
    fn signatures_are_checked_for_secret_body_and_age() {
        let body = br#"{"id":"evt_1"}"#;
        let header = sign("whsec_abc", 1_000, body);
        assert!(signature_is_valid(&header, body, "whsec_abc", 1_000, 300));
        assert!(signature_is_valid(&header, body, "whsec_abc", 1_299, 300));
        assert!(!signature_is_valid(&header, body, "whsec_abc", 1_301, 300));
        assert!(!signature_is_valid(
            &header,
            body,
            "whsec_other",
            1_000,
            300
        ));
        assert!(!signature_is_valid(
            &header,
            br#"{"id":"evt_2"}"#,
            "whsec_abc",
            1_000,
            300
        ));
        assert!(!signature_is_valid("", body, "whsec_abc", 1_000, 300));
        assert!(!signature_is_valid("t=1000", body, "whsec_abc", 1_000, 300));
        // Several v1 signatures (a secret being rolled): any one that matches will do.
        let two = format!("{},v1=00ff", sign("whsec_abc", 1_000, body));
        assert!(signature_is_valid(&two, body, "whsec_abc", 1_000, 300));
    }

    #[test]
    fn decline_codes_map_to_tallys_reasons() {
        assert_eq!(decline_of("card_declined"), Some(Decline::CardDeclined));
        assert_eq!(
            decline_of("insufficient_funds"),
            Some(Decline::InsufficientFunds)
        );
        assert_eq!(decline_of("expired_card"), Some(Decline::ExpiredCard));
        assert_eq!(decline_of("incorrect_cvc"), Some(Decline::IncorrectCvc));
        assert_eq!(
            decline_of("processing_error"),
            Some(Decline::ProcessingError)
        );
        assert_eq!(decline_of("rate_limit"), None);
        let refused = ApiError::Refused {
            status: 402,
            code: Some("card_declined".into()),
            decline_code: Some("insufficient_funds".into()),
            payment_intent: None,
        };
        assert_eq!(refused.decline(), Some(Decline::InsufficientFunds));
    }

    /// The answer Stripe itself gives to a confirm with `return_url` (localstripe, the test
    /// server, takes no `return_url`, so this branch is checked against a stand-in that answers
    /// the way Stripe's API reference shows).
    #[tokio::test]
    async fn a_live_processor_s_bank_page_is_asked_for_with_the_return_address() {
        use axum::{extract::Form, routing::post, Json, Router};
        use std::collections::HashMap;
        let app = Router::new().route(
            "/v1/setup_intents/{id}/confirm",
            post(|Form(form): Form<HashMap<String, String>>| async move {
                let back = form.get("return_url").cloned().unwrap_or_default();
                Json(serde_json::json!({
                    "status": "requires_action",
                    "next_action": { "type": "redirect_to_url",
                                     "redirect_to_url": { "url": format!("https://bank.test/3ds?back={back}"), "return_url": back } }
                }))
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/t.db?mode=rwc", dir.path().display());
        let db = Database::connect(&url).await.unwrap();
        let gw = StripeGateway::new(
            StripeSettings {
                secret_key: "sk_test_x".into(),
                publishable_key: "pk_test_x".into(),
                webhook_secret: "whsec_x".into(),
                api_base: base,
            },
            db,
        );
        let waiting = serde_json::json!({ "status": "requires_action",
            "next_action": { "type": "use_stripe_sdk", "use_stripe_sdk": {} } });
        let page = gw
            .bank_page(
                "setup_intents",
                "seti_1",
                &waiting,
                "http://tally.test/billing/payment",
            )
            .await;
        assert_eq!(
            page.as_deref(),
            Some("https://bank.test/3ds?back=http://tally.test/billing/payment")
        );
        // An intent that already names the page, or waits for nothing, asks nothing.
        let named = serde_json::json!({ "status": "requires_action",
            "next_action": { "redirect_to_url": { "url": "https://bank.test/named" } } });
        assert_eq!(
            gw.bank_page("setup_intents", "seti_1", &named, "x")
                .await
                .as_deref(),
            Some("https://bank.test/named")
        );
        let done = serde_json::json!({ "status": "succeeded" });
        assert_eq!(
            gw.bank_page("setup_intents", "seti_1", &done, "x").await,
            None
        );
    }

    #[test]
    fn intents_give_their_outcome() {
        let v = |s: &str| serde_json::from_str::<Value>(s).unwrap();
        assert!(intent_outcome(&v(r#"{"id":"pi_1","status":"succeeded"}"#)).is_ok());
        assert!(matches!(
            intent_outcome(&v(r#"{"id":"pi_1","status":"requires_action"}"#)),
            Err(GatewayError::NeedsAuthentication(id)) if id == "pi_1"
        ));
        assert!(matches!(
            intent_outcome(&v(
                r#"{"id":"pi_1","status":"requires_payment_method","last_payment_error":{"code":"expired_card"}}"#
            )),
            Err(GatewayError::Declined(Decline::ExpiredCard))
        ));
    }
}
