//! Stripe's API as Tally uses it: a few calls, and the processor's objects as typed structs
//! (the fields Tally reads; others are ignored).

use std::{collections::HashMap, time::Duration};

use serde::{de::DeserializeOwned, Deserialize};
use tally_core::{
    codes::IntentStatus,
    processor::{NextAction, ProcessorError},
};

use crate::{
    billing::gateway::{Decline, GatewayError},
    platform::config::StripeSettings,
};

/// How long one call to the processor may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone, Debug, Deserialize)]
pub struct Customer {
    pub id: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct SetupIntent {
    pub id: String,
    pub status: IntentStatus,
    pub client_secret: Option<String>,
    pub customer: Option<String>,
    pub payment_method: Option<String>,
    pub next_action: Option<NextAction>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct PaymentIntent {
    pub id: String,
    pub status: IntentStatus,
    pub client_secret: Option<String>,
    #[serde(default)]
    pub metadata: HashMap<String, String>,
    pub last_payment_error: Option<PaymentError>,
    pub next_action: Option<NextAction>,
}

impl PaymentIntent {
    /// The decline its last error names, if it names one.
    pub fn decline(&self) -> Option<Decline> {
        let e = self.last_payment_error.as_ref()?;
        e.decline_code
            .as_deref()
            .or(e.code.as_deref())
            .and_then(Decline::from_code)
    }
}

#[derive(Clone, Debug, Deserialize)]
pub struct PaymentError {
    pub code: Option<String>,
    pub decline_code: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct PaymentMethod {
    pub customer: Option<String>,
    pub card: Option<Card>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Card {
    pub brand: String,
    pub last4: String,
    pub exp_month: u32,
    pub exp_year: i32,
    pub fingerprint: Option<String>,
}

/// A page of a list.
#[derive(Clone, Debug, Deserialize)]
pub struct List<T> {
    pub data: Vec<T>,
    #[serde(default)]
    pub has_more: bool,
}

/// A webhook's event: what it is and which object it is about.
#[derive(Clone, Debug, Deserialize)]
pub struct WebhookEvent {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub data: Option<EventData>,
}

impl WebhookEvent {
    /// The id of the object the event is about.
    pub fn object_id(&self) -> Option<&str> {
        self.data.as_ref()?.object.id.as_deref()
    }
}

#[derive(Clone, Debug, Deserialize)]
pub struct EventData {
    pub object: EventObject,
}

#[derive(Clone, Debug, Deserialize)]
pub struct EventObject {
    pub id: Option<String>,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorObject,
}

#[derive(Deserialize)]
struct ErrorObject {
    #[serde(flatten)]
    error: ProcessorError,
    /// The intent the error is about, when the processor says.
    payment_intent: Option<serde_json::Value>,
}

/// What the processor answered when it refused a call.
#[derive(Debug)]
pub enum ApiError {
    /// An HTTP error with Stripe's error object.
    Refused {
        status: u16,
        code: Option<String>,
        decline_code: Option<String>,
        /// The intent the error is about, when the processor says.
        payment_intent: Option<Box<PaymentIntent>>,
    },
    /// Not reached, or an answer that is not Stripe's.
    Network(String),
}

impl ApiError {
    /// The decline this refusal means, if it is one.
    pub fn decline(&self) -> Option<Decline> {
        let ApiError::Refused {
            code, decline_code, ..
        } = self
        else {
            return None;
        };
        decline_code
            .as_deref()
            .and_then(Decline::from_code)
            .or_else(|| code.as_deref().and_then(Decline::from_code))
    }

    pub fn into_gateway(self, doing: &str) -> GatewayError {
        match self.decline() {
            Some(d) => GatewayError::Declined(d),
            None => GatewayError::Unavailable(format!("{doing}: {}", self.describe())),
        }
    }

    /// For logs: the status and code, never a body.
    pub fn describe(&self) -> String {
        match self {
            ApiError::Refused { status, code, .. } => {
                format!("HTTP {status} ({})", code.as_deref().unwrap_or("no code"))
            }
            ApiError::Network(e) => e.clone(),
        }
    }
}

/// Calls to the processor with the secret key.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    settings: StripeSettings,
}

impl Client {
    pub fn new(settings: StripeSettings) -> Self {
        let http = reqwest::Client::builder()
            .timeout(CALL_TIMEOUT)
            .user_agent(concat!("tally/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("an HTTP client");
        Self { http, settings }
    }

    pub fn settings(&self) -> &StripeSettings {
        &self.settings
    }

    async fn answer<T: DeserializeOwned>(
        response: reqwest::Result<reqwest::Response>,
    ) -> Result<T, ApiError> {
        let response = response.map_err(|e| ApiError::Network(e.without_url().to_string()))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| ApiError::Network(format!("HTTP {status}: {}", e.without_url())))?;
        if status.is_success() {
            return serde_json::from_slice(&body).map_err(|e| {
                ApiError::Network(format!("HTTP {status}: an answer Tally cannot read ({e})"))
            });
        }
        let error = serde_json::from_slice::<ErrorBody>(&body)
            .ok()
            .map(|b| b.error);
        Err(ApiError::Refused {
            status: status.as_u16(),
            code: error.as_ref().and_then(|e| e.error.code.clone()),
            decline_code: error.as_ref().and_then(|e| e.error.decline_code.clone()),
            payment_intent: error
                .and_then(|e| e.payment_intent)
                .and_then(|v| serde_json::from_value(v).ok())
                .map(Box::new),
        })
    }

    pub async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        form: &[(&str, String)],
        idempotency_key: Option<&str>,
    ) -> Result<T, ApiError> {
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

    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, ApiError> {
        let request = self
            .http
            .get(format!("{}{path}", self.settings.api_base))
            .bearer_auth(&self.settings.secret_key)
            .query(query);
        Self::answer(request.send().await).await
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
