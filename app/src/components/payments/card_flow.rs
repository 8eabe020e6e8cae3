//! Saving a card, one flow for every processor: the server begins a set-up, the browser
//! confirms the card with the processor, and the server saves what the processor confirmed.
//! The card's bank may ask the cardholder to confirm it first ([`BankStep`]).

use tally_core::{
    codes::IntentStatus,
    forms::NewCard,
    processor::{intent_id, IntentAnswer},
    views::billing::{CardSummary, ConfirmedCard, Processor},
};

use super::processor;
use crate::{
    api::payments::{begin_card_setup, card_setup_bank_page, confirm_card_setup},
    components::fresh_check::{self, FreshCheck},
    error::AppError,
};

/// A card set-up waiting for the cardholder's bank.
#[derive(Clone, Debug)]
pub(super) struct BankStep {
    pub processor: Processor,
    pub client_secret: String,
    /// The bank's page, when the processor gives one.
    pub redirect_url: Option<String>,
    pub card: ConfirmedCard,
}

/// Why a card was not saved: the server's (or the processor's refusal, as the window shows
/// it), or the processor could not be asked (said as it is).
pub(super) enum Failure {
    Refused(AppError),
    Unreachable(String),
}

impl From<AppError> for Failure {
    fn from(e: AppError) -> Self {
        Failure::Refused(e)
    }
}

/// Where saving a card got to.
pub(super) enum Saved {
    Card(CardSummary),
    /// The bank asks the cardholder first.
    Bank(BankStep),
}

/// What the server is told of the card: what core read from what was typed.
fn confirmed(card: &NewCard) -> ConfirmedCard {
    ConfirmedCard {
        brand: card.number.brand(),
        last4: card.number.last4().to_string(),
        exp_month: card.expiry.month(),
        exp_year: card.expiry.year(),
    }
}

/// Sends the card to the processor (the browser build only: the server never takes this
/// step).
async fn confirm_with_processor(
    processor: &Processor,
    client_secret: &str,
    card: &NewCard,
    name: &str,
) -> Result<IntentAnswer, String> {
    #[cfg(feature = "hydrate")]
    {
        let card = processor::CardForProcessor {
            digits: card.number.expose_digits(),
            exp_month: card.expiry.month(),
            exp_year: card.expiry.year(),
            cvc: card.cvc.expose(),
            name,
        };
        processor::confirm_setup(processor, client_secret, &card).await
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (processor, client_secret, card, name);
        Err("The card window runs in the browser.".into())
    }
}

/// Saves `card` for `payment`'s cardholder: begins the set-up (asking the person to confirm
/// it is them first, when the server wants that), confirms the card with the processor, then
/// has the server save it — or stops at the bank's question.
pub(super) async fn save(
    fresh: Option<FreshCheck>,
    processor: Processor,
    payment: tally_core::forms::PaymentInfoInput,
    card: NewCard,
    key: String,
) -> Result<Saved, Failure> {
    let secret = fresh_check::run(fresh, begin_card_setup).await?;
    let name = payment.cardholder_name.clone();
    let claimed = confirmed(&card);
    let answer = confirm_with_processor(&processor, &secret, &card, &name).await;
    drop(card);
    let answer = answer.map_err(Failure::Unreachable)?;
    match answer.status {
        Some(IntentStatus::Succeeded) => Ok(Saved::Card(
            finish(fresh, payment, secret, claimed, key).await?,
        )),
        Some(IntentStatus::RequiresAction) => {
            // The bank's page, from the processor's answer or, when it names none, from the
            // processor through the server.
            let redirect_url = match answer.redirect_url() {
                Some(url) => Some(url),
                None => card_setup_bank_page(intent_id(&secret).to_string())
                    .await
                    .ok()
                    .flatten(),
            };
            Ok(Saved::Bank(BankStep {
                processor,
                client_secret: secret,
                redirect_url,
                card: claimed,
            }))
        }
        _ => Err(Failure::Refused(processor::refusal_error(answer))),
    }
}

/// Has the server save the set-up the processor confirmed.
pub(super) async fn finish(
    fresh: Option<FreshCheck>,
    payment: tally_core::forms::PaymentInfoInput,
    client_secret: String,
    card: ConfirmedCard,
    key: String,
) -> Result<CardSummary, AppError> {
    let setup = intent_id(&client_secret).to_string();
    fresh_check::run(fresh, || {
        confirm_card_setup(payment.clone(), setup.clone(), card.clone(), key.clone())
    })
    .await
}

/// The cardholder's answer for a set-up waiting for their bank, given in the window (the
/// processor's test mode): whether the processor then confirmed it.
pub(super) async fn answer_bank(step: &BankStep, confirmed: bool) -> Result<bool, String> {
    #[cfg(feature = "hydrate")]
    {
        let a = processor::answer_setup(&step.processor, &step.client_secret, confirmed).await?;
        Ok(confirmed && a.status == Some(IntentStatus::Succeeded))
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (&step.processor, confirmed);
        Err("The card window runs in the browser.".into())
    }
}
