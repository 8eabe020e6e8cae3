//! The card window's calls to the payment processor, from the browser: the card goes from
//! here to the processor (Stripe's API, or the sandbox's, which takes the same requests) with
//! the publishable key and the set-up's client secret, and never to Tally's server functions.
//! Only the set-up's id, and the brand, last 4 and expiry core read from what was typed, go to
//! Tally's server function, which checks them with the processor.

use tally_core::{forms::FieldErrors, processor::IntentAnswer};
#[cfg(feature = "hydrate")]
use tally_core::{processor::intent_id, views::billing::Processor};

use crate::error::AppError;

/// A refusal as the card window shows it: beside the card's field it is about, or as the
/// form's message (a declined card).
pub fn refusal_error(answer: IntentAnswer) -> AppError {
    let message = answer.refusal();
    let field = match answer.error.and_then(|e| e.param).as_deref() {
        Some("number") => Some("card_number"),
        Some("exp_month" | "exp_year") => Some("expiry"),
        Some("cvc") => Some("cvc"),
        _ => None,
    };
    match field {
        Some(field) => {
            let mut errors = FieldErrors::new();
            errors.add(field, message);
            AppError::Validation(errors)
        }
        None => AppError::Declined(message),
    }
}

/// A card as the processor takes it.
#[cfg(feature = "hydrate")]
pub struct CardForProcessor<'a> {
    pub digits: &'a str,
    pub exp_month: u32,
    pub exp_year: i32,
    pub cvc: &'a str,
    pub name: &'a str,
}

#[cfg(feature = "hydrate")]
async fn post(url: &str, pairs: &[(&str, &str)]) -> Result<IntentAnswer, String> {
    let form = web_sys::UrlSearchParams::new().map_err(|_| "the browser cannot build a form")?;
    for (k, v) in pairs {
        form.append(k, v);
    }
    let body: String = form.to_string().into();
    let response = gloo_net::http::Request::post(url)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body)
        .map_err(|_| "the browser cannot send the card".to_string())?
        .send()
        .await
        .map_err(|_| {
            "The payment processor could not be reached. Check your connection and try again."
                .to_string()
        })?;
    response
        .json::<IntentAnswer>()
        .await
        .map_err(|_| "The payment processor gave an answer Tally cannot read.".to_string())
}

/// Confirms a set-up with a new card.
#[cfg(feature = "hydrate")]
pub async fn confirm_setup(
    processor: &Processor,
    client_secret: &str,
    card: &CardForProcessor<'_>,
) -> Result<IntentAnswer, String> {
    let url = format!(
        "{}/v1/setup_intents/{}/confirm",
        processor.api_base,
        intent_id(client_secret)
    );
    let (month, year) = (card.exp_month.to_string(), card.exp_year.to_string());
    post(
        &url,
        &[
            ("key", &processor.publishable_key),
            ("client_secret", client_secret),
            ("payment_method_data[type]", "card"),
            ("payment_method_data[card][number]", card.digits),
            ("payment_method_data[card][exp_month]", &month),
            ("payment_method_data[card][exp_year]", &year),
            ("payment_method_data[card][cvc]", card.cvc),
            ("payment_method_data[billing_details][name]", card.name),
        ],
    )
    .await
}

/// The bank's answer for a set-up waiting for it, given in this window: `confirmed` confirms
/// the set-up again (the processor then finishes it, as its own browser library does in test
/// mode), otherwise cancels it.
#[cfg(feature = "hydrate")]
pub async fn answer_setup(
    processor: &Processor,
    client_secret: &str,
    confirmed: bool,
) -> Result<IntentAnswer, String> {
    let url = format!(
        "{}/v1/setup_intents/{}/{}",
        processor.api_base,
        intent_id(client_secret),
        if confirmed { "confirm" } else { "cancel" }
    );
    post(
        &url,
        &[
            ("key", &processor.publishable_key),
            ("client_secret", client_secret),
        ],
    )
    .await
}

/// The cardholder's answer to their bank for a payment waiting for it, given on Tally's
/// confirmation page (the processor's test-mode authentication).
#[cfg(feature = "hydrate")]
pub async fn answer_payment(
    processor: &Processor,
    client_secret: &str,
    confirmed: bool,
) -> Result<IntentAnswer, String> {
    let url = format!(
        "{}/v1/payment_intents/{}/_authenticate?success={confirmed}",
        processor.api_base,
        intent_id(client_secret),
    );
    post(
        &url,
        &[
            ("key", &processor.publishable_key),
            ("client_secret", client_secret),
        ],
    )
    .await
}
