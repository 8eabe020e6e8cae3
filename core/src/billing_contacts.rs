//! An account's billing contacts: up to [`MAX_CONTACTS`] people (none of them need be an
//! administrator) who receive the billing messages they subscribe to, on the message's To or
//! Cc line. Validated here, as typed in the browser and again on the server.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{
    contact::{required_text, Email},
    forms::FieldErrors,
    locale::Locale,
};

/// The most contacts an account keeps.
pub const MAX_CONTACTS: usize = 10;
/// The longest name.
pub const MAX_NAME: usize = 100;

/// A kind of billing message a contact may subscribe to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Subscription {
    /// Invoices and credit notes, with their documents.
    Invoices,
    /// Word that an invoice is paid.
    Receipts,
    /// A declined charge, a payment waiting for the cardholder's bank, a card about to expire.
    PaymentProblems,
    /// This month's spending crossing a threshold.
    SpendAlerts,
}

impl Subscription {
    pub const ALL: [Subscription; 4] = [
        Self::Invoices,
        Self::Receipts,
        Self::PaymentProblems,
        Self::SpendAlerts,
    ];

    /// The stored and posted code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Invoices => "invoices",
            Self::Receipts => "receipts",
            Self::PaymentProblems => "payment_problems",
            Self::SpendAlerts => "spend_alerts",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }

    /// What the form and the list call it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Invoices => "Invoices and credit notes",
            Self::Receipts => "Receipts",
            Self::PaymentProblems => "Payment problems",
            Self::SpendAlerts => "Spend alerts",
        }
    }
}

/// Which line of the message a contact is on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Line {
    #[default]
    To,
    Cc,
}

impl Line {
    pub fn code(self) -> &'static str {
        match self {
            Self::To => "to",
            Self::Cc => "cc",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "to" => Some(Self::To),
            "cc" => Some(Self::Cc),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::To => "To",
            Self::Cc => "Cc",
        }
    }
}

/// A contact as saved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillingContact {
    pub id: String,
    pub name: String,
    pub email: String,
    pub line: Line,
    /// In [`Subscription::ALL`]'s order.
    pub subscriptions: Vec<Subscription>,
    /// The language of the messages and documents they get; `None`: the account's.
    #[serde(default)]
    pub language: Option<Locale>,
}

impl BillingContact {
    /// "Invoices and credit notes, Receipts", or "Nothing yet".
    pub fn subscriptions_label(&self) -> String {
        if self.subscriptions.is_empty() {
            return "Nothing yet".into();
        }
        self.subscriptions
            .iter()
            .map(|s| s.label())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Subscribed to `kind`.
    pub fn gets(&self, kind: Subscription) -> bool {
        self.subscriptions.contains(&kind)
    }
}

/// The subscriptions as stored: their codes, comma-separated, in [`Subscription::ALL`]'s order.
pub fn subscriptions_text(subscriptions: &[Subscription]) -> String {
    Subscription::ALL
        .into_iter()
        .filter(|s| subscriptions.contains(s))
        .map(Subscription::code)
        .collect::<Vec<_>>()
        .join(",")
}

/// The inverse of [`subscriptions_text`]; unknown codes are left out.
pub fn subscriptions_of(text: &str) -> Vec<Subscription> {
    let listed: Vec<&str> = text.split(',').map(str::trim).collect();
    Subscription::ALL
        .into_iter()
        .filter(|s| listed.contains(&s.code()))
        .collect()
}

/// A contact as typed (its errors keyed by the posted fields: `contact_name`, `contact_email`,
/// `contact_line`, and `contact_subscriptions` for the boxes; subscriptions comma-separated).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactInput {
    pub name: String,
    pub email: String,
    pub line: String,
    pub subscriptions: String,
    /// A language's code (`contact_language`); blank for the account's.
    #[serde(default)]
    pub language: String,
}

/// A contact ready to save.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewContact {
    pub name: String,
    pub email: Email,
    pub line: Line,
    pub subscriptions: Vec<Subscription>,
    pub language: Option<Locale>,
}

/// Why a list of contacts cannot take one more, or this one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListError {
    Full,
    Duplicate(String),
}

impl fmt::Display for ListError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full => write!(
                f,
                "An account can have at most {MAX_CONTACTS} billing contacts: remove one first."
            ),
            Self::Duplicate(email) => write!(f, "{email} is already a billing contact."),
        }
    }
}

impl ContactInput {
    /// Checks every field; each message is for the field it names.
    pub fn parse(&self) -> Result<NewContact, FieldErrors> {
        let mut errors = FieldErrors::new();
        let name = errors.check(
            "contact_name",
            required_text(&self.name, "contact's name", MAX_NAME),
        );
        let email = errors.check("contact_email", Email::parse(&self.email));
        let line = match Line::from_code(self.line.trim()) {
            Some(l) => Some(l),
            None if self.line.trim().is_empty() => Some(Line::To),
            None => {
                errors.add("contact_line", "Choose To or Cc.");
                None
            }
        };
        let listed: Vec<&str> = self
            .subscriptions
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        if let Some(bad) = listed.iter().find(|c| Subscription::from_code(c).is_none()) {
            errors.add(
                "contact_subscriptions",
                format!("\u{201c}{bad}\u{201d} is not a kind of billing message."),
            );
        }
        let subscriptions = subscriptions_of(&self.subscriptions);
        if subscriptions.is_empty() && errors.get("contact_subscriptions").is_none() {
            errors.add(
                "contact_subscriptions",
                "Choose at least one kind of message for this contact.",
            );
        }
        let language = match self.language.trim() {
            "" => Some(None),
            code => Locale::from_code(code).map(Some),
        };
        if language.is_none() {
            errors.add(
                "contact_language",
                crate::invoice_fields::language_refusal(),
            );
        }
        match (name, email, line, language) {
            (Some(name), Some(email), Some(line), Some(language)) if errors.is_empty() => {
                Ok(NewContact {
                    name,
                    email,
                    line,
                    subscriptions,
                    language,
                })
            }
            _ => Err(errors),
        }
    }
}

/// Whether `saved` (the account's contacts) can take `email` as a contact: as a new one, or as
/// the contact `editing` changed. Addresses compare without regard to case.
pub fn can_hold(
    saved: &[BillingContact],
    email: &Email,
    editing: Option<&str>,
) -> Result<(), ListError> {
    let key = email.normalized_key();
    let others = saved.iter().filter(|c| Some(c.id.as_str()) != editing);
    if others
        .clone()
        .any(|c| Email::parse(&c.email).is_ok_and(|e| e.normalized_key() == key))
    {
        return Err(ListError::Duplicate(email.as_str().to_string()));
    }
    if editing.is_none() && saved.len() >= MAX_CONTACTS {
        return Err(ListError::Full);
    }
    Ok(())
}

/// One message to billing contacts: its language, and the addresses on its To and Cc lines.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Addressed {
    pub locale: Locale,
    pub to: Vec<String>,
    pub cc: Vec<String>,
}

/// The messages of `kind` to the contacts subscribed to it: one per language (a contact
/// without one reads `account`'s), in the order the languages first appear, each with its
/// To and Cc lines in the contacts' order. A message with only Cc contacts puts them on the
/// To line (a message needs one).
pub fn recipients(
    contacts: &[BillingContact],
    kind: Subscription,
    account: Locale,
) -> Vec<Addressed> {
    let mut messages: Vec<Addressed> = Vec::new();
    for c in contacts.iter().filter(|c| c.gets(kind)) {
        let locale = c.language.unwrap_or(account);
        let at = match messages.iter().position(|m| m.locale == locale) {
            Some(at) => at,
            None => {
                messages.push(Addressed {
                    locale,
                    ..Addressed::default()
                });
                messages.len() - 1
            }
        };
        let m = &mut messages[at];
        match c.line {
            Line::To => m.to.push(c.email.clone()),
            Line::Cc => m.cc.push(c.email.clone()),
        }
    }
    for m in &mut messages {
        if m.to.is_empty() {
            std::mem::swap(&mut m.to, &mut m.cc);
        }
    }
    messages
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(name: &str, email: &str, line: &str, subs: &str) -> ContactInput {
        ContactInput {
            name: name.into(),
            email: email.into(),
            line: line.into(),
            subscriptions: subs.into(),
            language: String::new(),
        }
    }

    fn saved(id: &str, email: &str, line: Line, subs: &[Subscription]) -> BillingContact {
        BillingContact {
            id: id.into(),
            name: "N".into(),
            email: email.into(),
            line,
            subscriptions: subs.to_vec(),
            language: None,
        }
    }

    #[test]
    fn a_contact_is_checked_field_by_field() {
        let ok = input(
            " Ann Accounts ",
            "AP@Globex.test",
            "cc",
            "receipts,invoices",
        )
        .parse()
        .unwrap();
        assert_eq!(ok.name, "Ann Accounts");
        assert_eq!(ok.line, Line::Cc);
        assert_eq!(
            ok.subscriptions,
            vec![Subscription::Invoices, Subscription::Receipts]
        );
        let bad = input("", "nope", "bcc", "").parse().unwrap_err();
        assert_eq!(bad.get("contact_name"), Some("Enter the contact's name."));
        assert_eq!(
            bad.get("contact_email"),
            Some("Enter a single email address, like name@example.com.")
        );
        assert_eq!(bad.get("contact_line"), Some("Choose To or Cc."));
        assert_eq!(
            bad.get("contact_subscriptions"),
            Some("Choose at least one kind of message for this contact.")
        );
        let odd = input("A", "a@b.test", "", "invoices,faxes")
            .parse()
            .unwrap_err();
        assert_eq!(
            odd.get("contact_subscriptions"),
            Some("\u{201c}faxes\u{201d} is not a kind of billing message.")
        );
        assert_eq!(
            input("A", "a@b.test", "", "spend_alerts")
                .parse()
                .unwrap()
                .line,
            Line::To
        );
    }

    #[test]
    fn at_most_ten_and_no_address_twice() {
        let ten: Vec<BillingContact> = (0..10)
            .map(|i| {
                saved(
                    &format!("c{i}"),
                    &format!("p{i}@x.test"),
                    Line::To,
                    &[Subscription::Invoices],
                )
            })
            .collect();
        let new = Email::parse("new@x.test").unwrap();
        assert_eq!(can_hold(&ten, &new, None), Err(ListError::Full));
        assert_eq!(
            ListError::Full.to_string(),
            "An account can have at most 10 billing contacts: remove one first."
        );
        assert_eq!(
            can_hold(&ten, &new, Some("c3")),
            Ok(()),
            "an edit is not an addition"
        );
        let again = Email::parse("P1@X.test").unwrap();
        assert_eq!(
            can_hold(&ten[..5], &again, None).unwrap_err().to_string(),
            "P1@x.test is already a billing contact."
        );
        assert_eq!(
            can_hold(&ten[..5], &again, Some("c1")),
            Ok(()),
            "its own address"
        );
    }

    #[test]
    fn each_language_gets_a_message_of_its_own() {
        use Subscription::*;
        let mut german = saved("b", "b@x.test", Line::Cc, &[Invoices]);
        german.language = Some(Locale::De);
        let mut english = saved("c", "c@x.test", Line::Cc, &[Invoices]);
        english.language = Some(Locale::En);
        let list = [
            saved("a", "a@x.test", Line::To, &[Invoices]),
            german,
            english,
        ];
        // The account writes French: the contact without a language reads it.
        let messages = recipients(&list, Invoices, Locale::Fr);
        let lines: Vec<(Locale, Vec<String>, Vec<String>)> = messages
            .into_iter()
            .map(|m| (m.locale, m.to, m.cc))
            .collect();
        assert_eq!(
            lines,
            vec![
                (Locale::Fr, vec!["a@x.test".into()], vec![]),
                (Locale::De, vec!["b@x.test".into()], vec![]),
                (Locale::En, vec!["c@x.test".into()], vec![]),
            ]
        );
        let typed = ContactInput {
            language: "fr".into(),
            ..input("A", "a@b.test", "to", "invoices")
        };
        assert_eq!(typed.parse().unwrap().language, Some(Locale::Fr));
        let odd = ContactInput {
            language: "xx".into(),
            ..typed
        };
        assert!(odd.parse().unwrap_err().get("contact_language").is_some());
    }

    #[test]
    fn each_message_goes_to_its_subscribers_on_their_line() {
        use Subscription::*;
        let list = [
            saved("a", "a@x.test", Line::To, &[Invoices, Receipts]),
            saved("b", "b@x.test", Line::Cc, &[Invoices, PaymentProblems]),
            saved("c", "c@x.test", Line::To, &[SpendAlerts]),
        ];
        let one = |to: &[&str], cc: &[&str]| {
            vec![Addressed {
                locale: Locale::En,
                to: to.iter().map(|s| s.to_string()).collect(),
                cc: cc.iter().map(|s| s.to_string()).collect(),
            }]
        };
        assert_eq!(
            recipients(&list, Invoices, Locale::En),
            one(&["a@x.test"], &["b@x.test"])
        );
        assert_eq!(
            recipients(&list, PaymentProblems, Locale::En),
            one(&["b@x.test"], &[]),
            "a Cc alone goes on To"
        );
        assert_eq!(
            recipients(&list, SpendAlerts, Locale::En),
            one(&["c@x.test"], &[])
        );
        assert_eq!(recipients(&[], Receipts, Locale::En), vec![]);
        assert_eq!(
            subscriptions_of(&subscriptions_text(&[SpendAlerts, Invoices])),
            vec![Invoices, SpendAlerts]
        );
    }
}
