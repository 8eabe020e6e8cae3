//! The processor's webhooks (owner of `stripe_events`): what became of payments Tally made.
//! The signature is checked first; an event is applied once by its id (a second delivery is
//! acknowledged and changes nothing). The HTTP route hands each call here.

use hmac::{Hmac, Mac};

use super::{api::WebhookEvent, StripeGateway};
use crate::{
    billing::invoices::charging::Charging,
    platform::{
        context::Context,
        error::{ResultExt, ServiceError},
    },
};

/// How old a webhook's signature may be (Stripe's own libraries use the same 5 minutes).
const TOLERANCE_SECS: i64 = 300;

/// Why a webhook call was not applied.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    /// The call is not the processor's (400): no, a wrong or an expired signature.
    #[error("missing, wrong or expired signature")]
    Signature,
    /// Signed, but not an event Tally can read (400).
    #[error("not an event")]
    NotAnEvent,
    /// The event could not be applied now; the processor sends it again (500).
    #[error(transparent)]
    Failed(#[from] ServiceError),
}

/// The processor's events, applied.
#[derive(Clone)]
pub struct StripeEvents {
    ctx: Context,
    stripe: StripeGateway,
    charging: Charging,
}

impl StripeEvents {
    pub fn new(ctx: Context, stripe: StripeGateway, charging: Charging) -> Self {
        Self {
            ctx,
            stripe,
            charging,
        }
    }

    /// Checks a webhook call's signature and applies its event unless it was applied before;
    /// returns the event's id and type, and whether it changed anything.
    pub async fn receive(
        &self,
        signature: &str,
        body: &[u8],
    ) -> Result<(String, String, bool), Refused> {
        let now_secs = self.ctx.now() / 1000;
        let secret = &self.stripe.client.settings().webhook_secret;
        if !signature_is_valid(signature, body, secret, now_secs, TOLERANCE_SECS) {
            return Err(Refused::Signature);
        }
        let event: WebhookEvent = serde_json::from_slice(body).map_err(|_| Refused::NotAnEvent)?;
        let changed = self.apply(&event).await?;
        Ok((event.id, event.kind, changed))
    }

    /// Applies one event unless it was applied before; whether it changed anything.
    async fn apply(&self, event: &WebhookEvent) -> Result<bool, ServiceError> {
        let pool = self.ctx.db.pool();
        let seen: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM stripe_events WHERE event_id = $1")
                .bind(&event.id)
                .fetch_one(pool)
                .await
                .context("reading webhook events")?;
        if seen > 0 {
            return Ok(false);
        }
        let changed = match (event.kind.as_str(), event.object_id()) {
            ("payment_intent.succeeded" | "payment_intent.payment_failed", Some(intent)) => {
                match self
                    .stripe
                    .attempt_of_intent(intent)
                    .await
                    .context("finding a payment's invoice")?
                {
                    Some((invoice, attempt)) => {
                        let succeeded = event.kind == "payment_intent.succeeded";
                        self.charging
                            .settle_payment(&invoice, intent, Some(attempt), succeeded)
                            .await?
                    }
                    // Not a payment Tally made (or not recorded yet: the run reads it itself).
                    None => false,
                }
            }
            // The card window saves the card once the processor has confirmed it; a set-up's
            // event only confirms what was saved. Other events are not Tally's concern.
            _ => false,
        };
        // Applying is idempotent, so a second delivery racing this one changes nothing either.
        sqlx::query(
            "INSERT INTO stripe_events (event_id, type, received_at) VALUES ($1, $2, $3) \
             ON CONFLICT (event_id) DO NOTHING",
        )
        .bind(&event.id)
        .bind(&event.kind)
        .bind(self.ctx.now())
        .execute(pool)
        .await
        .context("recording a webhook event")?;
        Ok(changed)
    }
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
}
