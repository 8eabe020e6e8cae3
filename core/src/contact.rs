//! Names, email addresses and phone numbers (tax IDs are `tax_id`'s).

use std::fmt;

use serde::{Deserialize, Serialize};

/// Longest email address SMTP carries (RFC 5321).
pub const MAX_EMAIL_LEN: usize = 254;

/// A single email address: trimmed, the domain lower-cased.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Email(String);

/// Why an email address is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EmailError {
    Required,
    TooLong,
    Invalid,
    /// Holds what looks like a card number ([`crate::card_in_text`]).
    CardNumber,
}

impl fmt::Display for EmailError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Required => "Enter an email address.",
            Self::TooLong => "Email addresses can be at most 254 characters.",
            Self::Invalid => "Enter a single email address, like name@example.com.",
            Self::CardNumber => crate::card_in_text::CARD_IN_TEXT,
        })
    }
}

impl Email {
    /// Parses one address. Refuses lists, display names, spaces and domains without a dot.
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(EmailError::Required);
        }
        if s.chars().count() > MAX_EMAIL_LEN {
            return Err(EmailError::TooLong);
        }
        // Before anything else looks at it: an address is not where a card number belongs,
        // and this one is about to be saved, audited or sent to.
        if crate::card_in_text::contains_card_number(s) {
            return Err(EmailError::CardNumber);
        }
        let (local, domain) = s.rsplit_once('@').ok_or(EmailError::Invalid)?;
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .chars()
                .all(|c| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
        let domain = domain.to_lowercase();
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars().all(|c| c.is_alphanumeric() || c == '-')
            })
            && labels
                .last()
                .is_some_and(|tld| tld.len() >= 2 && !tld.chars().all(|c| c.is_ascii_digit()));
        if !local_ok || !domain_ok {
            return Err(EmailError::Invalid);
        }
        Ok(Self(format!("{local}@{domain}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key for "same address": the whole address lower-cased (Tally treats addresses as
    /// case-insensitive, as people do).
    pub fn normalized_key(&self) -> String {
        self.0.to_lowercase()
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a name is refused. `what` is the field's wording ("first name", "company name").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TextError {
    Required(&'static str),
    TooLong(&'static str, usize),
    DigitsOnly(&'static str),
    /// It holds what looks like a card number (see `card_in_text`).
    CardNumber,
}

impl fmt::Display for TextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Required(what) => write!(f, "Enter the {what}."),
            Self::TooLong(what, max) => write!(f, "The {what} can be at most {max} characters."),
            Self::DigitsOnly(what) => write!(f, "The {what} can't be only digits."),
            Self::CardNumber => f.write_str(crate::card_in_text::CARD_IN_TEXT),
        }
    }
}

/// Trimmed, required text of at most `max` characters, without control characters, and
/// without a card number in it (every free-text field Tally keeps goes through here).
pub fn required_text(input: &str, what: &'static str, max: usize) -> Result<String, TextError> {
    let s: String = input.trim().chars().filter(|c| !c.is_control()).collect();
    if s.is_empty() {
        return Err(TextError::Required(what));
    }
    if s.chars().count() > max {
        return Err(TextError::TooLong(what, max));
    }
    crate::card_in_text::no_card_number(&s).map_err(|_| TextError::CardNumber)?;
    Ok(s)
}

/// Like [`required_text`] but blank means "none".
pub fn optional_text(
    input: &str,
    what: &'static str,
    max: usize,
) -> Result<Option<String>, TextError> {
    if input.trim().is_empty() {
        return Ok(None);
    }
    required_text(input, what, max).map(Some)
}

/// The name on a card: required, at most 255 characters, no card number, and not only digits,
/// spaces, dashes and dots (a number typed in the wrong field, whether or not it passes Luhn).
pub fn cardholder_name(input: &str) -> Result<String, TextError> {
    const WHAT: &str = "name on the card";
    let s = required_text(input, WHAT, 255)?;
    if s.chars()
        .all(|c| c.is_ascii_digit() || c.is_whitespace() || c == '-' || c == '.')
    {
        return Err(TextError::DigitsOnly(WHAT));
    }
    Ok(s)
}

/// A phone number: lenient about format, but no letters and 7–15 digits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Phone(String);

/// Why a phone number is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PhoneError {
    Letters,
    Invalid,
    /// It holds what looks like a card number (see `card_in_text`).
    CardNumber,
}

impl fmt::Display for PhoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Letters => "Phone numbers can't contain letters.",
            Self::Invalid => "Enter a phone number of 7 to 15 digits, like +1 555 123 4567.",
            Self::CardNumber => crate::card_in_text::CARD_IN_TEXT,
        })
    }
}

impl Phone {
    /// Parses an optional number: blank is `Ok(None)`.
    pub fn parse_optional(input: &str) -> Result<Option<Self>, PhoneError> {
        let s = input.trim();
        if s.is_empty() {
            return Ok(None);
        }
        if crate::card_in_text::contains_card_number(s) {
            return Err(PhoneError::CardNumber);
        }
        if s.chars().any(char::is_alphabetic) {
            return Err(PhoneError::Letters);
        }
        let allowed = |c: char| c.is_ascii_digit() || " +-().\u{a0}/".contains(c);
        let plus_ok = s.chars().skip(1).all(|c| c != '+');
        let digits = s.chars().filter(char::is_ascii_digit).count();
        if !s.chars().all(allowed) || !plus_ok || !(7..=15).contains(&digits) {
            return Err(PhoneError::Invalid);
        }
        Ok(Some(Self(
            s.split_whitespace().collect::<Vec<_>>().join(" "),
        )))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn emails_are_trimmed_and_their_domain_lower_cased() {
        assert_eq!(
            Email::parse("  Ann.Lee@Example.COM ").unwrap().as_str(),
            "Ann.Lee@example.com"
        );
        assert_eq!(
            Email::parse("a+tag@sub.example.co.uk").unwrap().as_str(),
            "a+tag@sub.example.co.uk"
        );
    }

    #[test]
    fn emails_that_are_not_one_address_are_refused() {
        for bad in [
            "ann",
            "ann@",
            "@example.com",
            "ann@example",
            "ann@@example.com",
            "ann lee@example.com",
            "ann@example.com, bob@example.com",
            "ann@example.com;bob@example.com",
            "<ann@example.com>",
            "Ann <ann@example.com>",
            "ann@exa mple.com",
            ".ann@example.com",
            "ann..lee@example.com",
            "ann@-example.com",
            "ann@example.123",
        ] {
            assert_eq!(Email::parse(bad), Err(EmailError::Invalid), "{bad}");
        }
        assert_eq!(Email::parse("  "), Err(EmailError::Required));
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(Email::parse(&long), Err(EmailError::TooLong));
    }

    #[test]
    fn an_email_address_holding_a_card_number_is_refused_first() {
        let card = "4111 1111 1111 1111"; // test number (Visa's published one)
        let together = card.replace(' ', "");
        for typed in [
            format!("{together}@example.com"),
            format!("ann.{}@example.com", card.replace(' ', "-")),
            format!("{card}@example.com"),
            format!("ann@{together}.example.com"),
        ] {
            assert_eq!(Email::parse(&typed), Err(EmailError::CardNumber), "{typed}");
            assert_eq!(
                EmailError::CardNumber.to_string(),
                crate::card_in_text::CARD_IN_TEXT
            );
        }
        // Numbers that are not cards are addresses like any other.
        let luhn_fails = format!("{}2", &together[..15]);
        assert!(Email::parse(&format!("{luhn_fails}@example.com")).is_ok());
        assert!(Email::parse("ann.2026@example.com").is_ok());
    }

    #[test]
    fn cardholder_names() {
        assert_eq!(cardholder_name("  Ann Lee "), Ok("Ann Lee".into()));
        assert_eq!(
            cardholder_name(""),
            Err(TextError::Required("name on the card"))
        );
        assert_eq!(
            cardholder_name("4242 4242"),
            Err(TextError::DigitsOnly("name on the card"))
        );
        // Digits, dashes and dots only: refused whatever Luhn says.
        assert_eq!(
            cardholder_name("4242-4242.42"),
            Err(TextError::DigitsOnly("name on the card"))
        );
        // A card number anywhere in it: refused with the card window's message.
        assert_eq!(
            cardholder_name("4111-1111-1111-1111"), // test number
            Err(TextError::CardNumber)
        );
        assert_eq!(
            cardholder_name("Pat 4111 1111 1111 1111"), // test number
            Err(TextError::CardNumber)
        );
        assert!(cardholder_name(&"a".repeat(256)).is_err());
        assert!(cardholder_name(&"a".repeat(255)).is_ok());
        assert_eq!(
            TextError::Required("name on the card").to_string(),
            "Enter the name on the card."
        );
    }

    #[test]
    fn phones_are_lenient_but_have_no_letters() {
        assert_eq!(Phone::parse_optional(""), Ok(None));
        assert!(Phone::parse_optional("+1 (555) 123-4567")
            .unwrap()
            .is_some());
        assert!(Phone::parse_optional("020 7946 0958").unwrap().is_some());
        assert_eq!(
            Phone::parse_optional("555-CALL-NOW"),
            Err(PhoneError::Letters)
        );
        assert_eq!(Phone::parse_optional("12345"), Err(PhoneError::Invalid));
        assert_eq!(Phone::parse_optional("1+2345678"), Err(PhoneError::Invalid));
    }

    #[test]
    fn a_phone_is_not_where_a_card_number_goes() {
        assert_eq!(
            Phone::parse_optional("4111-1111-1111-1111"), // test number
            Err(PhoneError::CardNumber)
        );
    }

    proptest! {
        #[test]
        fn parsers_never_panic(s in "\\PC*") {
            let _ = Email::parse(&s);
            let _ = Phone::parse_optional(&s);
            let _ = cardholder_name(&s);
        }

        #[test]
        fn a_parsed_email_parses_to_itself(local in "[a-z0-9]{1,20}", domain in "[a-z]{1,20}\\.[a-z]{2,6}") {
            prop_assume!(!crate::card_in_text::contains_card_number(&local));
            let e = Email::parse(&format!("{local}@{domain}")).unwrap();
            prop_assert_eq!(Email::parse(e.as_str()).unwrap(), e);
        }
    }
}
