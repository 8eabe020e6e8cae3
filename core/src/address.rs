//! Postal addresses and postal codes by country (docs/validation.md).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::country::{is_country, subdivisions};

/// Why a postal code is refused for its country.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PostalCodeError {
    Required,
    TooLong,
    /// It holds what looks like a card number (see `card_in_text`).
    CardNumber,
    Us,
    Ca,
    Gb,
}

impl fmt::Display for PostalCodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Required => "Enter a postal code.",
            Self::TooLong => "Postal codes can be at most 16 characters.",
            Self::CardNumber => crate::card_in_text::CARD_IN_TEXT,
            Self::Us => "Enter a ZIP code like 12345 or 12345-6789.",
            Self::Ca => "Enter a postal code like A1A 1A1.",
            Self::Gb => "Enter a postcode like SW1A 1AA.",
        })
    }
}

/// Parses a postal code for `country`, returning it in the country's canonical form:
/// US `12345` or `12345-6789`; CA `A1A 1A1`; GB postcode `SW1A 1AA`; elsewhere non-blank and
/// at most 16 characters.
pub fn postal_code(country: &str, input: &str) -> Result<String, PostalCodeError> {
    let s = input.trim();
    if s.is_empty() {
        return Err(PostalCodeError::Required);
    }
    if crate::card_in_text::contains_card_number(s) {
        return Err(PostalCodeError::CardNumber);
    }
    match country {
        "US" => {
            let b = s.as_bytes();
            let five = |p: &[u8]| p.len() == 5 && p.iter().all(u8::is_ascii_digit);
            let ok = five(b)
                || b.len() == 10
                    && five(&b[..5])
                    && b[5] == b'-'
                    && b[6..].iter().all(u8::is_ascii_digit);
            ok.then(|| s.to_string()).ok_or(PostalCodeError::Us)
        }
        "CA" => {
            let compact: String = s
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect::<String>()
                .to_uppercase();
            if !compact.is_ascii() {
                return Err(PostalCodeError::Ca);
            }
            let c: Vec<char> = compact.chars().collect();
            // Letters D, F, I, O, Q, U never appear; W and Z never start a code.
            let letter = |ch: char| ch.is_ascii_uppercase() && !"DFIOQU".contains(ch);
            let ok = c.len() == 6
                && letter(c[0])
                && !"WZ".contains(c[0])
                && c[1].is_ascii_digit()
                && letter(c[2])
                && c[3].is_ascii_digit()
                && letter(c[4])
                && c[5].is_ascii_digit();
            ok.then(|| format!("{} {}", &compact[..3], &compact[3..]))
                .ok_or(PostalCodeError::Ca)
        }
        "GB" => {
            let compact: String = s
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect::<String>()
                .to_uppercase();
            if !compact.is_ascii() {
                return Err(PostalCodeError::Gb);
            }
            if compact == "GIR0AA" {
                return Ok("GIR 0AA".into());
            }
            let n = compact.len();
            if !(5..=7).contains(&n) {
                return Err(PostalCodeError::Gb);
            }
            let (outward, inward) = compact.split_at(n - 3);
            let i: Vec<char> = inward.chars().collect();
            let inward_ok =
                i[0].is_ascii_digit() && i[1].is_ascii_uppercase() && i[2].is_ascii_uppercase();
            let o: Vec<char> = outward.chars().collect();
            // Outward codes: A9, A99, AA9, AA99, A9A, AA9A.
            let outward_ok = match o.as_slice() {
                [a, d] => a.is_ascii_uppercase() && d.is_ascii_digit(),
                [a, b, c] => {
                    a.is_ascii_uppercase()
                        && (b.is_ascii_digit() && (c.is_ascii_digit() || c.is_ascii_uppercase())
                            || b.is_ascii_uppercase() && c.is_ascii_digit())
                }
                [a, b, c, d] => {
                    a.is_ascii_uppercase()
                        && b.is_ascii_uppercase()
                        && c.is_ascii_digit()
                        && (d.is_ascii_digit() || d.is_ascii_uppercase())
                }
                _ => false,
            };
            (inward_ok && outward_ok)
                .then(|| format!("{outward} {inward}"))
                .ok_or(PostalCodeError::Gb)
        }
        _ => {
            if s.chars().count() > 16 {
                Err(PostalCodeError::TooLong)
            } else {
                Ok(s.to_string())
            }
        }
    }
}

/// A postal address whose parts have been checked for its country.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    pub country: String,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    /// State or province code, for countries that use them; otherwise `None`.
    pub region: Option<String>,
    pub postal_code: String,
}

impl Address {
    /// The address as a document prints it: the street lines, the place (city, region, postal
    /// code), the country's name.
    pub fn printed_lines(&self) -> Vec<String> {
        let mut lines = vec![self.line1.clone()];
        lines.extend(self.line2.clone().filter(|l| !l.is_empty()));
        let place: Vec<&str> = [
            Some(&self.city),
            self.region.as_ref(),
            Some(&self.postal_code),
        ]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .filter(|p| !p.is_empty())
        .collect();
        if !place.is_empty() {
            lines.push(place.join(" "));
        }
        lines.push(
            crate::country::country_name(&self.country)
                .map_or_else(|| self.country.clone(), str::to_string),
        );
        lines
    }
}

/// Raw address fields as they cross the wire.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressInput {
    pub country: String,
    pub line1: String,
    pub line2: String,
    pub city: String,
    pub region: String,
    pub postal_code: String,
}

impl From<&Address> for AddressInput {
    fn from(a: &Address) -> Self {
        Self {
            country: a.country.clone(),
            line1: a.line1.clone(),
            line2: a.line2.clone().unwrap_or_default(),
            city: a.city.clone(),
            region: a.region.clone().unwrap_or_default(),
            postal_code: a.postal_code.clone(),
        }
    }
}

/// Messages for each address field, in the order the form shows them.
pub fn country_error(country: &str) -> Option<&'static str> {
    if country.trim().is_empty() {
        Some("Choose a country.")
    } else if !is_country(country.trim()) {
        Some("Choose a country from the list.")
    } else {
        None
    }
}

/// Checks the state or province against the country's list; `Ok(None)` where the country
/// uses none.
pub fn region(country: &str, input: &str) -> Result<Option<String>, &'static str> {
    if crate::card_in_text::contains_card_number(input) {
        return Err(crate::card_in_text::CARD_IN_TEXT);
    }
    let Some(list) = subdivisions(country) else {
        return Ok(None);
    };
    let code = input.trim().to_uppercase();
    if code.is_empty() {
        return Err(match country {
            "CA" => "Choose a province or territory.",
            _ => "Choose a state.",
        });
    }
    if list.iter().any(|(c, _)| *c == code) {
        Ok(Some(code))
    } else {
        Err("Choose one from the list.")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn us_zip_codes() {
        assert_eq!(postal_code("US", "94105"), Ok("94105".into()));
        assert_eq!(postal_code("US", " 94105-1234 "), Ok("94105-1234".into()));
        for bad in ["9410", "941051", "94105-123", "9410A", "94105 1234"] {
            assert_eq!(postal_code("US", bad), Err(PostalCodeError::Us), "{bad}");
        }
    }

    #[test]
    fn canadian_postal_codes_are_normalised() {
        assert_eq!(postal_code("CA", "k1a0b1"), Ok("K1A 0B1".into()));
        assert_eq!(postal_code("CA", "M5V 3L9"), Ok("M5V 3L9".into()));
        for bad in ["K1A0B", "W1A 0B1", "D1A 0B1", "K1O 0B1", "123 456"] {
            assert_eq!(postal_code("CA", bad), Err(PostalCodeError::Ca), "{bad}");
        }
    }

    #[test]
    fn uk_postcodes_in_every_outward_shape() {
        for (input, want) in [
            ("sw1a1aa", "SW1A 1AA"),
            ("M1 1AE", "M1 1AE"),
            ("B33 8TH", "B33 8TH"),
            ("CR2 6XH", "CR2 6XH"),
            ("DN55 1PT", "DN55 1PT"),
            ("W1A 0AX", "W1A 0AX"),
            ("EC1A 1BB", "EC1A 1BB"),
            ("GIR 0AA", "GIR 0AA"),
        ] {
            assert_eq!(postal_code("GB", input), Ok(want.into()), "{input}");
        }
        for bad in ["SW1A", "1AA 1AA", "SW1A 1A", "SW1A 11A", "ABCDE 1AA"] {
            assert_eq!(postal_code("GB", bad), Err(PostalCodeError::Gb), "{bad}");
        }
    }

    #[test]
    fn other_countries_need_something_short() {
        assert_eq!(postal_code("FR", "75001"), Ok("75001".into()));
        assert_eq!(postal_code("FR", " "), Err(PostalCodeError::Required));
        assert_eq!(
            postal_code("DE", &"1".repeat(17)),
            Err(PostalCodeError::TooLong)
        );
    }

    #[test]
    fn regions_follow_the_country() {
        assert_eq!(region("US", "ca"), Ok(Some("CA".into())));
        assert_eq!(region("US", ""), Err("Choose a state."));
        assert_eq!(region("CA", "XX"), Err("Choose one from the list."));
        assert_eq!(region("FR", "anything"), Ok(None));
    }

    proptest! {
        #[test]
        fn postal_codes_never_panic(country in "[A-Z]{2}", s in "\\PC*") {
            let _ = postal_code(&country, &s);
            let _ = postal_code("GB", &s);
            let _ = postal_code("CA", &s);
            let _ = postal_code("US", &s);
        }

        #[test]
        fn canonical_postal_codes_are_stable(s in "[A-Z][0-9][A-Z] ?[0-9][A-Z][0-9]") {
            if let Ok(c) = postal_code("CA", &s) {
                prop_assert_eq!(postal_code("CA", &c), Ok(c.clone()));
            }
        }
    }
}
