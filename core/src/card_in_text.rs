//! Card numbers stay in the card window: finding one typed into any other field.
//!
//! A person may paste a card number where it does not belong — the cardholder's name, a tax
//! id, a command's description. Whatever a field keeps ends up in the database, in emails, in
//! the audit log and on invoices, where a full card number must never be (PCI DSS 3.3, 3.4).
//! So every free-text field Tally takes from a person runs [`no_card_number`]: text holding a
//! run of 13 to 19 digits — written together or split by spaces, dashes or dots — that passes
//! the Luhn check is refused. Command scripts are code and are not checked (a script may hold
//! any number); the card window's own fields are checked by `card`.
//!
//! Luhn passes for one digit string in ten, so a long number that is not a card (a phone
//! number with its country code, an order number) is refused one time in ten when it has 13
//! to 19 digits; longer or shorter runs never are.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::card::luhn_valid;

/// The fewest and most digits of a card number of any network.
const CARD_DIGITS: std::ops::RangeInclusive<usize> = 13..=19;

/// The message for a field that holds a card number.
pub const CARD_IN_TEXT: &str =
    "This looks like a card number. Enter card details only in the card window.";

/// Text held what looks like a card number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardNumberInText;

impl fmt::Display for CardNumberInText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(CARD_IN_TEXT)
    }
}

impl std::error::Error for CardNumberInText {}

/// The value of a decimal digit as people type it: ASCII, or the full-width digits some
/// keyboards produce (which would otherwise slip a number past the check).
fn digit(c: char) -> Option<u8> {
    match c {
        '0'..='9' => Some(c as u8 - b'0'),
        '\u{ff10}'..='\u{ff19}' => Some((u32::from(c) - 0xff10) as u8),
        _ => None,
    }
}

/// Characters people put between a card number's groups: spaces of every width, dashes of
/// every length, dots.
fn separator(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t' | '-' | '.' | '\u{a0}' | '\u{2007}' | '\u{2009}' | '\u{202f}' | '\u{2010}'
            ..='\u{2015}' | '\u{2212}' | '\u{ff0d}' | '\u{ff0e}'
    )
}

/// Whether `chars` starts with a UUID as systems write one: 8-4-4-4-12 hexadecimal digits
/// joined by dashes.
fn starts_with_uuid(chars: &[char]) -> bool {
    const SHAPE: &[u8] = b"hhhhhhhh-hhhh-hhhh-hhhh-hhhhhhhhhhhh";
    chars.len() >= SHAPE.len()
        && SHAPE.iter().zip(chars).all(|(want, c)| match want {
            b'-' => *c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Whether `chars` starts with a UUID as Tally writes its ids: 32 hexadecimal digits, no dashes.
fn starts_with_simple_uuid(chars: &[char]) -> bool {
    chars.len() >= 32 && chars[..32].iter().all(char::is_ascii_hexdigit)
}

/// `text` with every UUID blanked out. An identifier a system generated (an identity
/// provider's id for a user, say) is not a number a person typed: its digits, grouped 8-4-4,
/// pass Luhn as often as any, but no one writes a card number in a UUID's shape.
fn without_uuids(text: &str) -> Vec<char> {
    let mut chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        // Only at the start of a token: a UUID is not the tail of a longer hex string.
        let at_start = i == 0 || !chars[i - 1].is_ascii_hexdigit();
        let ends_at = |end: usize| {
            chars
                .get(end)
                .is_none_or(|c| !c.is_ascii_hexdigit() && *c != '-')
        };
        // A dashed UUID (36 characters), or one of Tally's own ids (32 hex digits, one token):
        // its digits between letters may pass Luhn, as an invoice's id once did.
        let len = if at_start && starts_with_uuid(&chars[i..]) && ends_at(i + 36) {
            36
        } else if at_start && starts_with_simple_uuid(&chars[i..]) && ends_at(i + 32) {
            32
        } else {
            0
        };
        if len > 0 {
            chars[i..i + len].fill('x');
            i += len;
        } else {
            i += 1;
        }
    }
    chars
}

/// The groups of digits of each run in `text`: a run is digits joined by separators only;
/// anything else (a letter, a slash, the end) ends it. UUIDs are left out.
fn runs(text: &str) -> Vec<Vec<Vec<u8>>> {
    let mut runs = Vec::new();
    let mut groups: Vec<Vec<u8>> = Vec::new();
    let mut group: Vec<u8> = Vec::new();
    for c in without_uuids(text) {
        if let Some(d) = digit(c) {
            group.push(d);
        } else if separator(c) {
            if !group.is_empty() {
                groups.push(std::mem::take(&mut group));
            }
        } else {
            if !group.is_empty() {
                groups.push(std::mem::take(&mut group));
            }
            if !groups.is_empty() {
                runs.push(std::mem::take(&mut groups));
            }
        }
    }
    if !group.is_empty() {
        groups.push(group);
    }
    if !groups.is_empty() {
        runs.push(groups);
    }
    runs
}

/// Whether `text` holds what looks like a card number: in some run of digits, a sequence of
/// whole consecutive groups with 13 to 19 digits in all that passes Luhn.
///
/// Whole groups, so that a number followed by its expiry or code ("4111 1111 1111 1111 123")
/// is still found, while a 20-digit order number written in one piece is not a card number.
pub fn contains_card_number(text: &str) -> bool {
    runs(text).iter().any(|groups| {
        (0..groups.len()).any(|first| {
            let mut digits: Vec<u8> = Vec::with_capacity(*CARD_DIGITS.end());
            for group in &groups[first..] {
                digits.extend_from_slice(group);
                if digits.len() > *CARD_DIGITS.end() {
                    return false;
                }
                if CARD_DIGITS.contains(&digits.len()) && luhn_valid(&digits) {
                    return true;
                }
            }
            false
        })
    })
}

/// The rule every free-text field runs: refused when it holds a card number.
pub fn no_card_number(text: &str) -> Result<(), CardNumberInText> {
    if contains_card_number(text) {
        Err(CardNumberInText)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tallys_own_ids_are_not_card_numbers() {
        // A UUID v7 in its simple form whose digits between letters pass Luhn: 4111 1111 1111
        // 1111 inside an id is an id.
        let id = "019af1c2e4111111111111111d0a9b3c"; // test number inside an id
        assert_eq!(id.len(), 32);
        assert!(contains_card_number("4111111111111111")); // test number
        assert!(!contains_card_number(id));
        assert!(!contains_card_number(&format!("invoice {id}, please")));
        // Not when the hex is only part of a longer token, nor a card beside the id.
        assert!(contains_card_number(&format!("{id}0 4111 1111 1111 1111"))); // test number
        assert!(contains_card_number(&format!("{id} 4111 1111 1111 1111"))); // test number
    }

    #[test]
    fn a_uuid_is_not_a_card_number_but_a_card_beside_one_is() {
        // Digits grouped 8-4-4 pass Luhn (12345678-1234-4129 does); in a UUID they are an id.
        let uuid = "12345678-1234-4129-8abc-def012345678";
        assert!(contains_card_number("12345678-1234-4129"));
        assert!(!contains_card_number(uuid));
        assert!(!contains_card_number(&format!("{uuid}@{uuid}.com")));
        assert!(!contains_card_number(&uuid.to_uppercase()));
        // Not when it is only part of something longer, nor next to a card number.
        assert!(contains_card_number(&format!("{uuid}0-1234-4129")));
        assert!(contains_card_number(&format!("{uuid} 4111 1111 1111 1111"))); // test number
        assert!(contains_card_number(&format!("4111111111111111 {uuid}"))); // test number
    }

    #[test]
    fn a_card_number_is_found_however_it_is_written() {
        for text in [
            "4111111111111111",                 // test number
            "4111 1111 1111 1111",              // test number
            "4111-1111-1111-1111",              // test number
            "4111.1111.1111.1111",              // test number
            "Pat 4111-1111-1111-1111 Lee",      // test number
            "card: 4111 1111 1111 1111 123",    // test number, then a code
            "exp 12/30 4111111111111111",       // test number
            "3782 822463 10005",                // Amex test number, 15 digits
            "3056 9309 0259 04",                // Diners test number, 14 digits
            "６０１１１１１１１１１１１１１７", // Discover test number in full-width digits
            "4111 - 1111 - 1111 - 1111",        // test number
        ] {
            assert!(contains_card_number(text), "{text}");
            assert_eq!(no_card_number(text), Err(CardNumberInText));
        }
    }

    #[test]
    fn other_numbers_pass_as_text() {
        for text in [
            "4111111111111112",             // a test number one digit off: Luhn fails
            "12345678901234567890",         // an order number of 20 digits
            "+1 (555) 123-4567",            // a phone number
            "+44 20 7946 0958",             // a phone number
            "DE 123456789",                 // a VAT id
            "Suite 4111, 1111 Main Street", // digits split by a comma
            "2026-11-30",                   // a date
            "",
        ] {
            assert!(!contains_card_number(text), "{text}");
            assert_eq!(no_card_number(text), Ok(()));
        }
        assert_eq!(
            no_card_number("4111111111111111").unwrap_err().to_string(), // test number
            "This looks like a card number. Enter card details only in the card window."
        );
    }
}
