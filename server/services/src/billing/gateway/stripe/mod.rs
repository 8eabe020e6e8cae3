//! The Stripe gateway (owner of `stripe_customers`, `stripe_payment_intents` and, in
//! [`events`], `stripe_events`): cards are confirmed by the browser directly with the
//! processor (a SetupIntent), so a card number never reaches Tally's server; invoices are
//! charged with one off-session PaymentIntent per attempt.
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

pub mod api;
pub mod events;

use tally_core::{codes::IntentStatus, processor::NextAction, views::billing::Processor};

use self::api::{ApiError, Client, Customer, List, PaymentIntent, PaymentMethod, SetupIntent};

use super::{
    CardToken, ChargeReceipt, ChargeRequest, Decline, GatewayError, PaymentAuthentication,
    PaymentGateway, ProcessorCard, RefundReceipt, RefundRequest, SetupStart,
};
use crate::platform::{config::StripeSettings, context::Context};

/// How many pages of 100 intents a recovery looks through for a lost intent.
const RECOVERY_PAGES: usize = 50;

/// The processor's card token: the customer and the payment method, `cus_…/pm_…`.
fn split_token(token: &CardToken) -> Option<(&str, &str)> {
    let (customer, method) = token.0.split_once('/')?;
    (customer.starts_with("cus_") && !method.is_empty()).then_some((customer, method))
}

fn database(e: sqlx::Error) -> GatewayError {
    GatewayError::Unavailable(format!("database: {e}"))
}

/// The Stripe payment gateway.
#[derive(Clone)]
pub struct StripeGateway {
    client: Client,
    ctx: Context,
}

impl StripeGateway {
    pub fn new(settings: StripeSettings, ctx: Context) -> Self {
        Self {
            client: Client::new(settings),
            ctx,
        }
    }

    /// The account's customer on the processor, if it has one yet.
    async fn known_customer(&self, account_id: &str) -> Result<Option<String>, GatewayError> {
        sqlx::query_scalar("SELECT customer_id FROM stripe_customers WHERE account_id = $1")
            .bind(account_id)
            .fetch_optional(self.ctx.db.pool())
            .await
            .map_err(database)
    }

    /// The account's customer on the processor, made on first use (one per account).
    pub async fn customer_for(&self, account_id: &str) -> Result<String, GatewayError> {
        if let Some(id) = self.known_customer(account_id).await? {
            return Ok(id);
        }
        let customer: Customer = self
            .client
            .post(
                "/v1/customers",
                &[("metadata[tally_account]", account_id.to_string())],
                Some(&format!("tally-customer-{account_id}")),
            )
            .await
            .map_err(|e| e.into_gateway("creating a customer"))?;
        // Two first saves at once: the first row stays, and both use it.
        sqlx::query(
            "INSERT INTO stripe_customers (account_id, customer_id, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (account_id) DO NOTHING",
        )
        .bind(account_id)
        .bind(&customer.id)
        .bind(self.ctx.now())
        .execute(self.ctx.db.pool())
        .await
        .map_err(database)?;
        sqlx::query_scalar("SELECT customer_id FROM stripe_customers WHERE account_id = $1")
            .bind(account_id)
            .fetch_one(self.ctx.db.pool())
            .await
            .map_err(database)
    }

    /// Charges one request: see the module's comment for why each step is where it is.
    async fn charge_request(&self, r: &ChargeRequest) -> Result<ChargeReceipt, GatewayError> {
        let Some((customer, method)) = split_token(&r.token) else {
            return Err(GatewayError::Declined(Decline::CardDeclined));
        };
        let key = r.idempotency_key.as_str();
        let pool = self.ctx.db.pool();
        let fresh = sqlx::query(
            "INSERT INTO stripe_payment_intents (idempotency_key, invoice_id, customer_id, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (idempotency_key) DO NOTHING",
        )
        .bind(key)
        .bind(&r.invoice_id)
        .bind(customer)
        .bind(self.ctx.now())
        .execute(pool)
        .await
        .map_err(database)?
        .rows_affected()
            == 1;
        if !fresh {
            let known: Option<String> = sqlx::query_scalar(
                "SELECT payment_intent_id FROM stripe_payment_intents WHERE idempotency_key = $1",
            )
            .bind(key)
            .fetch_one(pool)
            .await
            .map_err(database)?;
            let intent = match known {
                Some(id) => Some(
                    self.client
                        .get::<PaymentIntent>(&format!("/v1/payment_intents/{id}"), &[])
                        .await
                        .map_err(|e| e.into_gateway("reading a payment"))?,
                ),
                None => self.find_intent(customer, key).await?,
            };
            if let Some(intent) = intent {
                self.remember(key, &intent.id).await?;
                return intent_outcome(&intent);
            }
        }
        let form = [
            // Minor units of the currency, as Stripe counts them (yen for the yen).
            ("amount", r.amount.minor().to_string()),
            ("currency", r.amount.currency().code().to_lowercase()),
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
        match self
            .client
            .post::<PaymentIntent>("/v1/payment_intents", &form, Some(key))
            .await
        {
            Ok(intent) => {
                self.remember(key, &intent.id).await?;
                intent_outcome(&intent)
            }
            Err(e) => {
                if let ApiError::Refused {
                    payment_intent: Some(intent),
                    ..
                } = &e
                {
                    self.remember(key, &intent.id).await?;
                    if intent.status == IntentStatus::RequiresAction {
                        return intent_outcome(intent);
                    }
                }
                Err(e.into_gateway("charging"))
            }
        }
    }

    /// Writes the intent's id to its attempt's row (before its answer is used).
    async fn remember(&self, key: &str, intent_id: &str) -> Result<(), GatewayError> {
        sqlx::query(
            "UPDATE stripe_payment_intents SET payment_intent_id = $1 WHERE idempotency_key = $2",
        )
        .bind(intent_id)
        .bind(key)
        .execute(self.ctx.db.pool())
        .await
        .map_err(database)?;
        Ok(())
    }

    /// An intent made for `key` whose id was never written (the process died first), found by
    /// its metadata among the customer's intents. Where the processor does not filter by
    /// customer, the whole list is read, newest pages first where it sorts so.
    async fn find_intent(
        &self,
        customer: &str,
        key: &str,
    ) -> Result<Option<PaymentIntent>, GatewayError> {
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
            let page: List<PaymentIntent> =
                match self.client.get("/v1/payment_intents", &query).await {
                    Ok(p) => p,
                    Err(ApiError::Refused { status: 400, .. }) if by_customer => {
                        by_customer = false;
                        continue;
                    }
                    Err(e) => return Err(e.into_gateway("looking for a payment")),
                };
            pages += 1;
            let last = page.data.last().map(|pi| pi.id.clone());
            if let Some(found) = page
                .data
                .into_iter()
                .find(|pi| pi.metadata.get("tally_key").map(String::as_str) == Some(key))
            {
                return Ok(Some(found));
            }
            match last {
                Some(last) if page.has_more => after = Some(last),
                _ => return Ok(None),
            }
        }
        tracing::warn!(
            key,
            "a lost payment was not found in the processor's recent list"
        );
        Ok(None)
    }

    /// The invoice and the attempt a payment Tally made was for: its idempotency key is
    /// `invoice-<id>-attempt-<n>`. `None` for a payment Tally did not make (or has not
    /// recorded yet).
    pub async fn attempt_of_intent(
        &self,
        payment_intent_id: &str,
    ) -> Result<Option<(String, i64)>, sqlx::Error> {
        let row: Option<(Option<String>, String)> = sqlx::query_as(
            "SELECT invoice_id, idempotency_key FROM stripe_payment_intents WHERE payment_intent_id = $1",
        )
        .bind(payment_intent_id)
        .fetch_optional(self.ctx.db.pool())
        .await?;
        Ok(row.and_then(|(invoice, key)| {
            let attempt = key.rsplit_once("-attempt-")?.1.parse().ok()?;
            Some((invoice?, attempt))
        }))
    }

    /// A set-up of this account's customer (`NotFound` for anything else).
    async fn own_setup(
        &self,
        account_id: &str,
        setup_id: &str,
    ) -> Result<SetupIntent, GatewayError> {
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
        let intent: SetupIntent = match self
            .client
            .get(&format!("/v1/setup_intents/{setup_id}"), &[])
            .await
        {
            Ok(i) => i,
            Err(ApiError::Refused { status: 404, .. }) => return Err(GatewayError::NotFound),
            Err(e) => return Err(e.into_gateway("reading a card set-up")),
        };
        // Another account's set-up is as good as none.
        if intent.customer.as_deref() != Some(customer.as_str()) {
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
        status: IntentStatus,
        next_action: Option<&NextAction>,
        return_url: &str,
    ) -> Option<String> {
        if let Some(url) = next_action.and_then(NextAction::redirect_url) {
            return Some(url);
        }
        if status != IntentStatus::RequiresAction {
            return None;
        }
        #[derive(serde::Deserialize)]
        struct Confirmed {
            next_action: Option<NextAction>,
        }
        match self
            .client
            .post::<Confirmed>(
                &format!("/v1/{kind}/{id}/confirm"),
                &[("return_url", return_url.to_string())],
                None,
            )
            .await
        {
            Ok(again) => again
                .next_action
                .as_ref()
                .and_then(NextAction::redirect_url),
            Err(e) => {
                tracing::info!(error = %e.describe(), "the processor gave no bank page; the in-window step remains");
                None
            }
        }
    }
}

/// A charge's outcome from its PaymentIntent.
fn intent_outcome(intent: &PaymentIntent) -> Result<ChargeReceipt, GatewayError> {
    match intent.status {
        IntentStatus::Succeeded | IntentStatus::Processing | IntentStatus::RequiresCapture => {
            Ok(ChargeReceipt {
                id: intent.id.clone(),
            })
        }
        IntentStatus::RequiresAction => Err(GatewayError::NeedsAuthentication(intent.id.clone())),
        IntentStatus::RequiresPaymentMethod
        | IntentStatus::RequiresConfirmation
        | IntentStatus::Canceled => Err(GatewayError::Declined(
            intent.decline().unwrap_or(Decline::CardDeclined),
        )),
    }
}

#[async_trait::async_trait]
impl PaymentGateway for StripeGateway {
    fn processor(&self) -> Processor {
        let settings = self.client.settings();
        Processor {
            publishable_key: settings.publishable_key.clone(),
            api_base: settings.api_base.clone(),
        }
    }

    async fn begin_setup(&self, account_id: &str) -> Result<SetupStart, GatewayError> {
        let customer = self.customer_for(account_id).await?;
        let intent: SetupIntent = self
            .client
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
        let client_secret = intent
            .client_secret
            .ok_or_else(|| GatewayError::Unavailable("a set-up without a secret".into()))?;
        Ok(SetupStart { client_secret })
    }

    async fn finish_setup(
        &self,
        account_id: &str,
        setup_id: &str,
    ) -> Result<ProcessorCard, GatewayError> {
        let refused = |why: &str| GatewayError::Unavailable(format!("a card set-up {why}"));
        let intent = self.own_setup(account_id, setup_id).await?;
        // `own_setup` checked that this is the account's customer.
        let customer = intent.customer.clone().unwrap_or_default();
        if intent.status != IntentStatus::Succeeded {
            return Err(GatewayError::Declined(Decline::NotConfirmed));
        }
        let method_id = intent
            .payment_method
            .ok_or_else(|| refused("without a payment method"))?;
        let method: PaymentMethod = self
            .client
            .get(&format!("/v1/payment_methods/{method_id}"), &[])
            .await
            .map_err(|e| e.into_gateway("reading a payment method"))?;
        if method.customer.is_none() {
            // A processor that did not attach the card with the set-up.
            self.client
                .post::<serde::de::IgnoredAny>(
                    &format!("/v1/payment_methods/{method_id}/attach"),
                    &[("customer", customer.clone())],
                    None,
                )
                .await
                .map_err(|e| e.into_gateway("attaching a card"))?;
        }
        let card = method.card.ok_or_else(|| refused("that is not a card"))?;
        Ok(ProcessorCard {
            token: CardToken(format!("{customer}/{method_id}")),
            brand: card.brand,
            last4: card.last4,
            exp_month: card.exp_month,
            exp_year: card.exp_year,
            fingerprint: card.fingerprint,
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
            .bank_page(
                "setup_intents",
                setup_id,
                intent.status,
                intent.next_action.as_ref(),
                return_url,
            )
            .await)
    }

    async fn charge(&self, request: &ChargeRequest) -> Result<ChargeReceipt, GatewayError> {
        self.charge_request(request).await
    }

    /// A Refund of the payment (a PaymentIntent, or an older Charge), tagged with the credit
    /// note. A refusal in the 4xx range (not 409 or 429, which are worth repeating) is final.
    async fn refund(&self, r: &RefundRequest) -> Result<RefundReceipt, GatewayError> {
        #[derive(serde::Deserialize)]
        struct Refund {
            id: String,
            #[serde(default)]
            status: Option<String>,
        }
        let of = if r.charge_id.starts_with("ch_") {
            "charge"
        } else {
            "payment_intent"
        };
        let form = [
            (of, r.charge_id.clone()),
            ("amount", r.amount.minor().to_string()),
            ("metadata[tally_credit_note]", r.credit_note_id.clone()),
        ];
        match self
            .client
            .post::<Refund>("/v1/refunds", &form, Some(&r.idempotency_key))
            .await
        {
            Ok(refund) if matches!(refund.status.as_deref(), Some("failed" | "canceled")) => Err(
                GatewayError::Refused(format!("the refund {} failed", refund.id)),
            ),
            Ok(refund) => Ok(RefundReceipt { id: refund.id }),
            Err(ApiError::Refused { status, code, .. })
                if (400..500).contains(&status) && status != 409 && status != 429 =>
            {
                Err(GatewayError::Refused(
                    code.unwrap_or_else(|| format!("HTTP {status} to a refund")),
                ))
            }
            Err(e) => Err(GatewayError::Unavailable(format!(
                "refunding a payment: {}",
                e.describe()
            ))),
        }
    }

    async fn payment_authentication(
        &self,
        payment_id: &str,
        return_url: Option<&str>,
    ) -> Result<PaymentAuthentication, GatewayError> {
        let intent: PaymentIntent = self
            .client
            .get(&format!("/v1/payment_intents/{payment_id}"), &[])
            .await
            .map_err(|e| e.into_gateway("reading a payment"))?;
        let redirect_url = match return_url {
            Some(back) => {
                self.bank_page(
                    "payment_intents",
                    payment_id,
                    intent.status,
                    intent.next_action.as_ref(),
                    back,
                )
                .await
            }
            None => intent
                .next_action
                .as_ref()
                .and_then(NextAction::redirect_url),
        };
        Ok(PaymentAuthentication {
            client_secret: intent.client_secret.unwrap_or_default(),
            status: intent.status,
            redirect_url,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_names_its_decline() {
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
        let ctx = crate::platform::context::for_tests(dir.path()).await;
        let gw = StripeGateway::new(
            StripeSettings {
                secret_key: "sk_test_x".into(),
                publishable_key: "pk_test_x".into(),
                webhook_secret: "whsec_x".into(),
                api_base: base,
            },
            ctx,
        );
        let page = gw
            .bank_page(
                "setup_intents",
                "seti_1",
                IntentStatus::RequiresAction,
                None,
                "http://tally.test/billing/payment",
            )
            .await;
        assert_eq!(
            page.as_deref(),
            Some("https://bank.test/3ds?back=http://tally.test/billing/payment")
        );
        // An intent that already names the page, or waits for nothing, asks nothing.
        let named: NextAction = serde_json::from_value(serde_json::json!({
            "redirect_to_url": { "url": "https://bank.test/named" } }))
        .unwrap();
        assert_eq!(
            gw.bank_page(
                "setup_intents",
                "seti_1",
                IntentStatus::RequiresAction,
                Some(&named),
                "x"
            )
            .await
            .as_deref(),
            Some("https://bank.test/named")
        );
        assert_eq!(
            gw.bank_page(
                "setup_intents",
                "seti_1",
                IntentStatus::Succeeded,
                None,
                "x"
            )
            .await,
            None
        );
    }

    #[test]
    fn intents_give_their_outcome() {
        let v = |s: &str| serde_json::from_str::<PaymentIntent>(s).unwrap();
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
