//! Webhooks: the seller's systems hear about payments, accounts and users as they happen. An
//! Owner registers an endpoint in the console (an HTTPS address and the events it wants); each
//! event is sent to it signed as the Standard Webhooks specification says, retried over about
//! a day until it answers 2xx. What is decided here: the events, the form's rules, and the
//! retry schedule.

use serde::{Deserialize, Serialize};

use crate::forms::FieldErrors;

/// Something that happened which a seller's system may want to hear about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum WebhookEvent {
    AccountCreated,
    AccountSuspended,
    AccountClosed,
    UsersChanged,
    InvoiceCreated,
    InvoicePaid,
    InvoicePaymentFailed,
    InvoiceActionRequired,
    CreditNoteCreated,
}

/// Every event, in the order the console lists them.
pub const ALL_WEBHOOK_EVENTS: [WebhookEvent; 9] = [
    WebhookEvent::AccountCreated,
    WebhookEvent::AccountSuspended,
    WebhookEvent::AccountClosed,
    WebhookEvent::UsersChanged,
    WebhookEvent::InvoiceCreated,
    WebhookEvent::InvoicePaid,
    WebhookEvent::InvoicePaymentFailed,
    WebhookEvent::InvoiceActionRequired,
    WebhookEvent::CreditNoteCreated,
];

/// The longest address an endpoint may have.
pub const WEBHOOK_URL_MAX: usize = 2000;

/// Seconds to wait after the n-th failed attempt; after `RETRY_SECONDS.len() + 1` failed
/// attempts (about 27 hours in all) a delivery is given up. The schedule the Standard
/// Webhooks specification suggests.
pub const RETRY_SECONDS: [i64; 7] = [5, 300, 1800, 7200, 18_000, 36_000, 36_000];

/// When a delivery that failed its `attempts`-th attempt at `now` (UTC milliseconds) is tried
/// again, or `None` when that was the last.
pub fn next_attempt(attempts: u32, now: i64) -> Option<i64> {
    let i = usize::try_from(attempts).ok()?.checked_sub(1)?;
    RETRY_SECONDS.get(i).map(|s| now + s * 1000)
}

impl WebhookEvent {
    /// The event's type as sent in the payload and the form: `invoice.paid`.
    pub fn code(self) -> &'static str {
        match self {
            WebhookEvent::AccountCreated => "account.created",
            WebhookEvent::AccountSuspended => "account.suspended",
            WebhookEvent::AccountClosed => "account.closed",
            WebhookEvent::UsersChanged => "users.changed",
            WebhookEvent::InvoiceCreated => "invoice.created",
            WebhookEvent::InvoicePaid => "invoice.paid",
            WebhookEvent::InvoicePaymentFailed => "invoice.payment_failed",
            WebhookEvent::InvoiceActionRequired => "invoice.action_required",
            WebhookEvent::CreditNoteCreated => "credit_note.created",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        ALL_WEBHOOK_EVENTS.into_iter().find(|e| e.code() == code)
    }

    /// One line for the console's checkbox.
    pub fn description(self) -> &'static str {
        match self {
            WebhookEvent::AccountCreated => "A customer account was created.",
            WebhookEvent::AccountSuspended => {
                "An account was suspended, by the seller or for an unpaid invoice."
            }
            WebhookEvent::AccountClosed => "An account was closed.",
            WebhookEvent::UsersChanged => "An account's users were added, changed or removed.",
            WebhookEvent::InvoiceCreated => "A month's invoice was made.",
            WebhookEvent::InvoicePaid => "An invoice was paid.",
            WebhookEvent::InvoicePaymentFailed => "A charge for an invoice failed.",
            WebhookEvent::InvoiceActionRequired => {
                "The cardholder's bank asks them to confirm a payment."
            }
            WebhookEvent::CreditNoteCreated => "A credit note was issued.",
        }
    }
}

/// Events as stored: their codes, space-separated, in [`ALL_WEBHOOK_EVENTS`] order.
pub fn events_text(events: &[WebhookEvent]) -> String {
    ALL_WEBHOOK_EVENTS
        .into_iter()
        .filter(|e| events.contains(e))
        .map(WebhookEvent::code)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Events read back from [`events_text`]; an unknown code is left out.
pub fn events_of(text: &str) -> Vec<WebhookEvent> {
    text.split_whitespace()
        .filter_map(WebhookEvent::from_code)
        .collect()
}

/// The console's "Add endpoint" form as typed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewWebhookInput {
    pub url: String,
    /// [`WebhookEvent::code`]s.
    pub events: Vec<String>,
}

/// A validated new endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewWebhook {
    pub url: String,
    pub events: Vec<WebhookEvent>,
}

impl NewWebhookInput {
    /// Checks the address (HTTPS, or plain HTTP where the installation allows it) and the
    /// events.
    pub fn parse(&self, allow_http: bool) -> Result<NewWebhook, FieldErrors> {
        let mut e = FieldErrors::new();
        let url = e.check("url", webhook_url(&self.url, allow_http));
        let mut events = Vec::new();
        for code in &self.events {
            match WebhookEvent::from_code(code.trim()) {
                Some(ev) if !events.contains(&ev) => events.push(ev),
                Some(_) => {}
                None => e.add("events", format!("There is no event \"{}\".", code.trim())),
            }
        }
        if events.is_empty() {
            e.add("events", "Choose at least one event.");
        }
        events.sort();
        e.finish(url.map(|url| NewWebhook { url, events }))
    }
}

/// An endpoint's address: `https://` and a host, no spaces, no password in it.
pub fn webhook_url(input: &str, allow_http: bool) -> Result<String, String> {
    let url = input.trim();
    if url.is_empty() {
        return Err("Enter the address your system receives events at, e.g. https://example.com/tally/events.".into());
    }
    if url.len() > WEBHOOK_URL_MAX {
        return Err(format!(
            "Use an address of at most {WEBHOOK_URL_MAX} characters."
        ));
    }
    let lower = url.to_ascii_lowercase();
    let rest = if let Some(rest) = lower.strip_prefix("https://") {
        rest
    } else if let Some(rest) = lower.strip_prefix("http://") {
        if !allow_http {
            return Err("Use an https:// address: events carry your customers' data.".into());
        }
        rest
    } else {
        return Err("Enter an address starting with https://.".into());
    };
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("An address has no spaces.".into());
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err("Leave the user name and password out of the address.".into());
    }
    let host = authority
        .rsplit_once(':')
        .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
        .map_or(authority, |(host, _)| host);
    if host.is_empty() || host.starts_with('.') {
        return Err(
            "Enter the address with its host name, e.g. https://example.com/tally/events.".into(),
        );
    }
    Ok(url.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn input(url: &str, events: &[&str]) -> NewWebhookInput {
        NewWebhookInput {
            url: url.into(),
            events: events.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn an_endpoint_needs_an_https_address_and_a_known_event() {
        let ok = input(
            " https://crm.example.com/hooks/tally ",
            &["invoice.paid", "account.created", "invoice.paid"],
        )
        .parse(false)
        .unwrap();
        assert_eq!(ok.url, "https://crm.example.com/hooks/tally");
        assert_eq!(
            ok.events,
            [WebhookEvent::AccountCreated, WebhookEvent::InvoicePaid]
        );
        let e = input("", &[]).parse(false).unwrap_err();
        assert!(e.get("url").unwrap().starts_with("Enter the address"));
        assert_eq!(e.get("events"), Some("Choose at least one event."));
        let e = input("http://crm.example.com/h", &["invoice.refunded"])
            .parse(false)
            .unwrap_err();
        assert_eq!(
            e.get("url"),
            Some("Use an https:// address: events carry your customers' data.")
        );
        assert_eq!(
            e.get("events"),
            Some("There is no event \"invoice.refunded\".")
        );
        assert!(input("http://127.0.0.1:9000/h", &["invoice.paid"])
            .parse(true)
            .is_ok());
    }

    #[test]
    fn an_address_is_checked_for_its_shape() {
        for (bad, why) in [
            (
                "ftp://example.com",
                "Enter an address starting with https://.",
            ),
            (
                "example.com/hook",
                "Enter an address starting with https://.",
            ),
            (
                "https://",
                "Enter the address with its host name, e.g. https://example.com/tally/events.",
            ),
            (
                "https:///path",
                "Enter the address with its host name, e.g. https://example.com/tally/events.",
            ),
            ("https://a b.com", "An address has no spaces."),
            (
                "https://user:pw@example.com/h",
                "Leave the user name and password out of the address.",
            ),
        ] {
            assert_eq!(webhook_url(bad, false).unwrap_err(), why, "{bad}");
        }
        assert!(webhook_url(&format!("https://e.com/{}", "a".repeat(2000)), false).is_err());
        assert_eq!(
            webhook_url("HTTPS://Example.com:8443/h?x=1", false).unwrap(),
            "HTTPS://Example.com:8443/h?x=1"
        );
    }

    #[test]
    fn retries_last_about_a_day_then_stop() {
        assert_eq!(next_attempt(1, 0), Some(5_000));
        assert_eq!(next_attempt(0, 0), None);
        let total: i64 = RETRY_SECONDS.iter().sum();
        assert!((24 * 3600..30 * 3600).contains(&total), "{total}");
        assert_eq!(next_attempt(RETRY_SECONDS.len() as u32 + 1, 0), None);
    }

    proptest! {
        #[test]
        fn stored_events_read_back_as_chosen(mask in 0u16..512) {
            let chosen: Vec<WebhookEvent> = ALL_WEBHOOK_EVENTS
                .into_iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, s)| s)
                .collect();
            prop_assert_eq!(events_of(&events_text(&chosen)), chosen);
        }

        #[test]
        fn every_later_attempt_waits_at_least_as_long(a in 1u32..8) {
            let (x, y) = (next_attempt(a, 0), next_attempt(a + 1, 0));
            if let (Some(x), Some(y)) = (x, y) {
                prop_assert!(y >= x);
            }
        }
    }
}
