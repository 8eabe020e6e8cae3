//! The payment processor's objects, as its API writes them (Stripe's shapes; the sandbox
//! answers in the same ones). The card window reads them in the browser, the sandbox writes
//! them, and the Stripe client reads them on the server. Only the fields Tally uses.

use serde::{Deserialize, Serialize};

use crate::codes::IntentStatus;

/// What the processor answers about a set-up or a payment: the intent, or (on a refusal)
/// `error` alone.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntentAnswer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `setup_intent` or `payment_intent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<IntentStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_action: Option<NextAction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ProcessorError>,
}

impl IntentAnswer {
    /// The bank's page, when the processor sends the cardholder to one.
    pub fn redirect_url(&self) -> Option<String> {
        self.next_action.as_ref()?.redirect_url()
    }

    /// The processor's own words for a refusal, or a plain one.
    pub fn refusal(&self) -> String {
        self.error
            .as_ref()
            .and_then(|e| e.message.clone())
            .unwrap_or_else(|| "The payment processor refused this card.".into())
    }
}

/// What the cardholder must do next for an intent to go on.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NextAction {
    #[serde(default)]
    pub redirect_to_url: Option<RedirectToUrl>,
}

impl NextAction {
    /// The bank's page it sends the cardholder to, if it is one.
    pub fn redirect_url(&self) -> Option<String> {
        self.redirect_to_url.as_ref()?.url.clone()
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedirectToUrl {
    #[serde(default)]
    pub url: Option<String>,
}

/// The processor's error object.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessorError {
    /// `card_error` for a refused card, `invalid_request_error` for a request that is wrong.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decline_code: Option<String>,
    /// The card's field the refusal is about: `number`, `exp_month`, `exp_year` or `cvc`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub param: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The set-up's or payment's id, from its client secret (`seti_…_secret_…`).
pub fn intent_id(client_secret: &str) -> &str {
    client_secret.split("_secret_").next().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_reads_as_the_processor_writes_it_and_back() {
        let text = r#"{"id":"seti_1","object":"setup_intent","status":"requires_action","next_action":{"type":"redirect_to_url","redirect_to_url":{"url":"https://bank.test/3ds","return_url":null}}}"#;
        let a: IntentAnswer = serde_json::from_str(text).unwrap();
        assert_eq!(a.status, Some(IntentStatus::RequiresAction));
        assert_eq!(a.redirect_url().as_deref(), Some("https://bank.test/3ds"));
        let refused: IntentAnswer = serde_json::from_str(
            r#"{"error":{"type":"card_error","code":"incorrect_number","param":"number","message":"Your card number is incorrect."}}"#,
        )
        .unwrap();
        assert_eq!(refused.status, None);
        assert_eq!(refused.refusal(), "Your card number is incorrect.");
        assert_eq!(
            serde_json::to_string(&refused).unwrap(),
            r#"{"error":{"type":"card_error","code":"incorrect_number","param":"number","message":"Your card number is incorrect."}}"#
        );
        assert_eq!(intent_id("seti_1_secret_abc"), "seti_1");
    }
}
