//! Tax IDs checked offline, the same way in the browser and on the server.
//!
//! A scheme is known for every EU member state's VAT number (Greece's prefix is `EL`),
//! Northern Ireland's (`XI`), the UK's VAT number, the Swiss UID, the Norwegian organisation
//! number, the Australian ABN, the Canadian business number, the Indian GSTIN and the US EIN.
//! Each is checked for its shape and, where the country publishes one, its check digits.
//!
//! What a person types is read leniently: spaces, dots, dashes, slashes and brackets are
//! dropped, letters are upper-cased, and the country prefix is optional (the billing address's
//! country says which scheme applies when there is none). One normal form is stored — the
//! scheme's prefix and the number, e.g. `DE136695976`, `AU51824753556` — and the official
//! form is printed (`GB 980 7806 84`, `CHE-116.281.710 MWST`, `51 824 753 556`).
//! In a country without a known scheme the ID is kept as typed, checked only for its length.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The longest tax ID kept for a country Tally has no scheme for.
pub const MAX_OTHER_LEN: usize = 32;

/// Why a tax ID is refused. Its `Display` is the message shown beside the field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaxIdError {
    /// Letters where the scheme has only digits.
    NotDigits { scheme: &'static str, after: String },
    /// The wrong number of digits.
    Length {
        scheme: &'static str,
        got: usize,
        wanted: &'static str,
    },
    /// The right characters in the wrong places (or a part the scheme rules out).
    Shape {
        scheme: &'static str,
        form: &'static str,
    },
    /// The check digits do not match the rest: a typing mistake.
    CheckDigits { scheme: &'static str },
    /// An ID for a country without a scheme, longer than [`MAX_OTHER_LEN`].
    TooLong,
    /// It holds what looks like a card number.
    CardNumber,
}

impl fmt::Display for TaxIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotDigits { scheme, after } if after.is_empty() => {
                write!(f, "{} has only digits.", capital(scheme))
            }
            Self::NotDigits { scheme, after } => {
                write!(f, "{} has only digits after {after}.", capital(scheme))
            }
            Self::Length {
                scheme,
                got,
                wanted,
            } => {
                let digits = if *got == 1 { "digit" } else { "digits" };
                write!(f, "This has {got} {digits}; {scheme} has {wanted}.")
            }
            Self::Shape { scheme, form } => write!(f, "{} is {form}.", capital(scheme)),
            Self::CheckDigits { .. } => f.write_str(
                "The check digits don't match the rest of the number: look for a mistyped digit.",
            ),
            Self::TooLong => write!(f, "The tax ID can be at most {MAX_OTHER_LEN} characters."),
            Self::CardNumber => f.write_str(crate::card_in_text::CARD_IN_TEXT),
        }
    }
}

fn capital(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|first| first.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// What a scheme's number looks like after its prefix.
#[derive(Clone, Copy, Debug)]
enum Body {
    /// Only digits, of one of these lengths (`wanted` says them in words).
    Digits {
        lengths: &'static [usize],
        wanted: &'static str,
    },
    /// Letters and digits in set places; `form` says how.
    Mixed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    Valid,
    Shape,
    CheckDigits,
}

/// A country's tax ID scheme.
#[derive(Debug)]
pub struct Scheme {
    /// The prefix of the stored form (the VAT prefix where there is one).
    pub prefix: &'static str,
    /// The ISO 3166 country whose address picks this scheme when no prefix is typed.
    pub country: &'static str,
    /// With its article: "a German VAT number".
    pub name: &'static str,
    /// The shape, for messages: "DE followed by 9 digits".
    pub form: &'static str,
    /// Whether this is an EU member state's VAT number (the reverse charge needs one).
    pub eu_vat: bool,
    /// Whether the prefix is printed and may be typed from any country's address.
    prefixed: bool,
    body: Body,
    check: fn(&str) -> Verdict,
    official: fn(&Scheme, &str) -> String,
    /// What is checked, for the table in `docs/`.
    pub checks: &'static str,
}

const fn digits(lengths: &'static [usize], wanted: &'static str) -> Body {
    Body::Digits { lengths, wanted }
}

macro_rules! vat {
    ($prefix:literal, $country:literal, $name:literal, $form:literal, $body:expr, $check:expr, $checks:literal) => {
        Scheme {
            prefix: $prefix,
            country: $country,
            name: $name,
            form: $form,
            eu_vat: true,
            prefixed: true,
            body: $body,
            check: $check,
            official: prefix_and_body,
            checks: $checks,
        }
    };
}

/// Every scheme, EU member states first (by prefix), then the others.
pub const SCHEMES: &[Scheme] = &[
    vat!("AT", "AT", "an Austrian VAT number", "ATU followed by 8 digits", Body::Mixed, at, "U and 8 digits; check digit"),
    vat!("BE", "BE", "a Belgian VAT number", "BE followed by 10 digits starting with 0 or 1", digits(&[9, 10], "10"), be, "10 digits (an old 9-digit one gets its 0), starting 0 or 1; check digits (97-modulus)"),
    vat!("BG", "BG", "a Bulgarian VAT number", "BG followed by 9 or 10 digits", digits(&[9, 10], "9 or 10"), bg, "9 digits (companies) or 10 (people); check digit"),
    vat!("CY", "CY", "a Cypriot VAT number", "CY followed by 8 digits and a letter", Body::Mixed, cy, "8 digits (not starting 12) and a check letter"),
    vat!("CZ", "CZ", "a Czech VAT number", "CZ followed by 8, 9 or 10 digits", digits(&[8, 9, 10], "8, 9 or 10"), cz, "8 digits (companies, check digit, not starting 9); 9 starting 6 (check digit); other 9 and 10 digits (birth numbers: date, and the check digit of 10)"),
    vat!("DE", "DE", "a German VAT number", "DE followed by 9 digits, the first not 0", digits(&[9], "9"), de, "9 digits, not starting 0; check digit (ISO 7064 MOD 11,10)"),
    vat!("DK", "DK", "a Danish VAT number", "DK followed by 8 digits, the first not 0", digits(&[8], "8"), dk, "8 digits, not starting 0; weighted sum divisible by 11"),
    vat!("EE", "EE", "an Estonian VAT number", "EE followed by 9 digits", digits(&[9], "9"), ee, "9 digits; check digit"),
    vat!("EL", "GR", "a Greek VAT number", "EL followed by 9 digits", digits(&[8, 9], "9"), el, "9 digits (an old 8-digit one gets its 0); check digit"),
    vat!("ES", "ES", "a Spanish VAT number", "ES followed by a letter or digit, 7 digits and a letter or digit", Body::Mixed, es, "NIF (8 digits and letter), NIE (X, Y or Z, 7 digits, letter), K/L/M and CIF (letter, 7 digits, check digit or letter); check character"),
    vat!("FI", "FI", "a Finnish VAT number", "FI followed by 8 digits", digits(&[8], "8"), fi, "8 digits; check digit"),
    vat!("FR", "FR", "a French VAT number", "FR followed by 2 check characters and the 9-digit SIREN", Body::Mixed, fr, "2 check characters (digits or letters) and the SIREN (Luhn); numeric check digits verified (97-modulus), alphabetic ones by their formula"),
    vat!("HR", "HR", "a Croatian VAT number", "HR followed by 11 digits", digits(&[11], "11"), hr, "11 digits (OIB); check digit (ISO 7064 MOD 11,10)"),
    vat!("HU", "HU", "a Hungarian VAT number", "HU followed by 8 digits", digits(&[8], "8"), hu, "8 digits; check digit"),
    vat!("IE", "IE", "an Irish VAT number", "IE followed by 7 digits and 1 or 2 letters", Body::Mixed, ie, "7 digits and a check letter (and a second letter A–I or W), or the old form digit, letter, 5 digits, letter; check letter"),
    vat!("IT", "IT", "an Italian VAT number", "IT followed by 11 digits", digits(&[11], "11"), it, "11 digits; office code 001–100, 120, 121, 888 or 999; check digit (Luhn)"),
    vat!("LT", "LT", "a Lithuanian VAT number", "LT followed by 9 or 12 digits", digits(&[9, 12], "9 or 12"), lt, "9 digits (8th is 1) or 12 digits (11th is 1); check digit"),
    vat!("LU", "LU", "a Luxembourg VAT number", "LU followed by 8 digits", digits(&[8], "8"), lu, "8 digits; check digits (89-modulus)"),
    vat!("LV", "LV", "a Latvian VAT number", "LV followed by 11 digits", digits(&[11], "11"), lv, "11 digits; companies (first digit above 3): weighted sum; people: date of birth and check digit"),
    vat!("MT", "MT", "a Maltese VAT number", "MT followed by 8 digits, the first not 0", digits(&[8], "8"), mt, "8 digits, not starting 0; weighted sum divisible by 37"),
    vat!("NL", "NL", "a Dutch VAT number", "NL followed by 9 digits, B and 2 digits", Body::Mixed, nl, "9 digits, B, 2 digits; check digit (11-test) or, for sole traders, 97-modulus over the whole number"),
    vat!("PL", "PL", "a Polish VAT number", "PL followed by 10 digits", digits(&[10], "10"), pl, "10 digits; check digit"),
    vat!("PT", "PT", "a Portuguese VAT number", "PT followed by 9 digits, the first not 0", digits(&[9], "9"), pt, "9 digits, not starting 0; check digit"),
    vat!("RO", "RO", "a Romanian VAT number", "RO followed by 2 to 10 digits, the first not 0, or a 13-digit personal number", digits(&[2, 3, 4, 5, 6, 7, 8, 9, 10, 13], "2 to 10 (13 for a person)"), ro, "2 to 10 digits, not starting 0, check digit; or a person's 13-digit CNP: date of birth and check digit"),
    vat!("SE", "SE", "a Swedish VAT number", "SE followed by 12 digits ending in 01", digits(&[12], "12"), se, "12 digits ending 01; the first 10 pass Luhn"),
    vat!("SI", "SI", "a Slovenian VAT number", "SI followed by 8 digits, the first not 0", digits(&[8], "8"), si, "8 digits, not starting 0; check digit"),
    vat!("SK", "SK", "a Slovak VAT number", "SK followed by 10 digits, the first not 0 and the third 2, 3, 4, 7, 8 or 9", digits(&[10], "10"), sk, "10 digits, not starting 0, third digit 2, 3, 4, 7, 8 or 9, divisible by 11; or a person's birth number (date, divisible by 11)"),
    Scheme {
        prefix: "XI",
        country: "",
        name: "a Northern Ireland VAT number",
        form: "XI followed by 9 or 12 digits",
        eu_vat: true,
        prefixed: true,
        body: Body::Mixed,
        check: gb,
        official: gb_official,
        checks: "as the UK's, with the prefix XI",
    },
    Scheme {
        prefix: "GB",
        country: "GB",
        name: "a UK VAT number",
        form: "GB followed by 9 or 12 digits (or GD or HA and 3 digits)",
        eu_vat: false,
        prefixed: true,
        body: Body::Mixed,
        check: gb,
        official: gb_official,
        checks: "9 digits (12 for a branch): check digits (97-modulus, old and new series); government departments GD000–GD499, health authorities HA500–HA999",
    },
    Scheme {
        prefix: "CHE",
        country: "CH",
        name: "a Swiss UID",
        form: "CHE followed by 9 digits",
        eu_vat: false,
        prefixed: true,
        body: digits(&[9], "9"),
        check: ch,
        official: ch_official,
        checks: "CHE and 9 digits (MWST, TVA, IVA or TPV after it allowed); check digit",
    },
    Scheme {
        prefix: "NO",
        country: "NO",
        name: "a Norwegian organisation number",
        form: "9 digits (NO before them and MVA after them allowed)",
        eu_vat: false,
        prefixed: true,
        body: digits(&[9], "9"),
        check: no,
        official: no_official,
        checks: "9 digits (NO … MVA allowed); check digit",
    },
    Scheme {
        prefix: "AU",
        country: "AU",
        name: "an Australian ABN",
        form: "11 digits",
        eu_vat: false,
        prefixed: false,
        body: digits(&[11], "11"),
        check: au,
        official: au_official,
        checks: "11 digits; weighted sum divisible by 89",
    },
    Scheme {
        prefix: "CA",
        country: "CA",
        name: "a Canadian business number",
        form: "9 digits, optionally followed by a program (RT, RP, RC, RM, RR or RZ) and 4 digits",
        eu_vat: false,
        prefixed: false,
        body: Body::Mixed,
        check: ca,
        official: ca_official,
        checks: "9 digits (Luhn), and a program account RT/RP/RC/RM/RR/RZ with 4 digits if given",
    },
    Scheme {
        prefix: "IN",
        country: "IN",
        name: "an Indian GSTIN",
        form: "15 characters: a 2-digit state code, the 10-character PAN, an entity code, a letter and a check character",
        eu_vat: false,
        prefixed: false,
        body: Body::Mixed,
        check: gstin,
        official: bare,
        checks: "state code 01–38, 97 or 99; PAN shape (5 letters, the 4th a holder type, 4 digits, a letter); check character (mod 36)",
    },
    Scheme {
        prefix: "US",
        country: "US",
        name: "a US EIN",
        form: "9 digits, as 12-3456789, whose first two are a prefix the IRS assigns (never 00, 07, 08, 09, 17, 18, 19, 28, 29, 49, 69, 70, 78, 79, 89, 96 or 97)",
        eu_vat: false,
        prefixed: false,
        body: digits(&[9], "9"),
        check: ein,
        official: ein_official,
        checks: "9 digits; the first two a prefix the IRS assigns (no check digit exists)",
    },
];

impl Scheme {
    /// The name without its article, capitalised: "German VAT number", "Swiss UID".
    pub fn title(&self) -> String {
        capital(self.name.split_once(' ').map_or(self.name, |(_, n)| n))
    }
}

/// The scheme used in `country` (ISO 3166 alpha-2), if Tally knows one.
pub fn scheme_for_country(country: &str) -> Option<&'static Scheme> {
    SCHEMES.iter().find(|s| s.country == country)
}

fn scheme_for_prefix(prefix: &str) -> Option<&'static Scheme> {
    SCHEMES.iter().find(|s| s.prefix == prefix)
}

/// A checked tax ID (or, in a country without a scheme, one kept as typed).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TaxId {
    scheme: Option<&'static str>,
    /// The number after the prefix, compact (or the whole ID as typed, without a scheme).
    body: String,
}

/// Crosses the wire (and is stored) as its normal form.
impl Serialize for TaxId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.normal())
    }
}

impl<'de> Deserialize<'de> for TaxId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(|s| TaxId::stored(&s))
    }
}

impl TaxId {
    /// Reads what a person typed for a company whose address is in `country`. `Ok(None)` when
    /// blank.
    pub fn parse(input: &str, country: &str) -> Result<Option<TaxId>, TaxIdError> {
        let typed = input.trim();
        if typed.is_empty() {
            return Ok(None);
        }
        if crate::card_in_text::contains_card_number(typed) {
            return Err(TaxIdError::CardNumber);
        }
        let compact = compact(typed);
        let home = scheme_for_country(country);
        // The home scheme's own prefix, typed or not.
        if let Some(home) = home {
            if let Some(rest) = strip_prefix(home, &compact) {
                return check(home, rest).map(Some);
            }
        }
        // Another scheme's prefix: a company may hold a number from elsewhere (and a person
        // with a Northern Ireland address types XI). Only when the home scheme does not read it.
        let home_reads = home.is_some_and(|h| check(h, &compact).is_ok());
        if !home_reads {
            let other = SCHEMES
                .iter()
                .filter(|s| s.prefixed && Some(s.prefix) != home.map(|h| h.prefix))
                .find_map(|s| strip_prefix(s, &compact).map(|rest| (s, rest)));
            if let Some((scheme, rest)) = other {
                return check(scheme, rest).map(Some);
            }
        }
        match home {
            Some(home) => check(home, &compact).map(Some),
            None if typed.chars().count() > MAX_OTHER_LEN => Err(TaxIdError::TooLong),
            None => Ok(Some(TaxId {
                scheme: None,
                body: typed.split_whitespace().collect::<Vec<_>>().join(" "),
            })),
        }
    }

    /// Reads a stored normal form. Never fails: what no scheme reads is kept as it is.
    pub fn stored(normal: &str) -> TaxId {
        SCHEMES
            .iter()
            .filter(|s| normal.starts_with(s.prefix))
            .find_map(|s| check(s, &normal[s.prefix.len()..]).ok())
            .unwrap_or_else(|| TaxId {
                scheme: None,
                body: normal.to_string(),
            })
    }

    /// The form that is stored: the scheme's prefix and the compact number.
    pub fn normal(&self) -> String {
        match self.scheme() {
            Some(s) => format!("{}{}", s.prefix, self.body),
            None => self.body.clone(),
        }
    }

    /// The form printed on invoices and shown in the field.
    pub fn official(&self) -> String {
        match self.scheme() {
            Some(s) => (s.official)(s, &self.body),
            None => self.body.clone(),
        }
    }

    pub fn scheme(&self) -> Option<&'static Scheme> {
        self.scheme.and_then(scheme_for_prefix)
    }

    /// The member state of an EU VAT number (`GR` for Greece's `EL`, `XI` for Northern
    /// Ireland's); `None` for any other ID.
    pub fn eu_vat_country(&self) -> Option<&'static str> {
        self.scheme().filter(|s| s.eu_vat).map(|s| match s.prefix {
            "EL" => "GR",
            p => p,
        })
    }
}

impl fmt::Display for TaxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.official())
    }
}

/// Upper-cased, without the separators people type.
fn compact(typed: &str) -> String {
    typed
        .chars()
        .filter(|c| !c.is_whitespace() && !"-./,()_:".contains(*c))
        .flat_map(char::to_uppercase)
        .collect()
}

fn strip_prefix<'a>(scheme: &Scheme, compact: &'a str) -> Option<&'a str> {
    if scheme.prefix == "CHE" {
        return compact.strip_prefix("CHE");
    }
    compact.strip_prefix(scheme.prefix)
}

/// Checks the number after the prefix against its scheme.
fn check(scheme: &'static Scheme, rest: &str) -> Result<TaxId, TaxIdError> {
    let body = match scheme.prefix {
        // Suffixes that belong to the printed form, not the number.
        "CHE" => ["MWST", "TVA", "IVA", "TPV"]
            .iter()
            .find_map(|s| rest.strip_suffix(s))
            .unwrap_or(rest),
        "NO" => rest.strip_suffix("MVA").unwrap_or(rest),
        _ => rest,
    };
    if matches!(scheme.body, Body::Mixed)
        && !body
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'+' || c == b'*')
    {
        return Err(TaxIdError::Shape {
            scheme: scheme.name,
            form: scheme.form,
        });
    }
    if let Body::Digits { lengths, wanted } = scheme.body {
        if !body.chars().all(|c| c.is_ascii_digit()) {
            return Err(TaxIdError::NotDigits {
                scheme: scheme.name,
                after: if scheme.prefixed {
                    scheme.prefix.to_string()
                } else {
                    String::new()
                },
            });
        }
        if !lengths.contains(&body.len()) {
            return Err(TaxIdError::Length {
                scheme: scheme.name,
                got: body.len(),
                wanted,
            });
        }
    }
    let body = match scheme.prefix {
        "BE" if body.len() == 9 => format!("0{body}"),
        "EL" if body.len() == 8 => format!("0{body}"),
        // Leading zeros of the Dutch number may be left out.
        "NL" if body.len() < 12 && body.len() > 3 && body.as_bytes()[body.len() - 3] == b'B' => {
            format!("{:0>12}", body)
        }
        _ => body.to_string(),
    };
    match (scheme.check)(&body) {
        Verdict::Valid => Ok(TaxId {
            scheme: Some(scheme.prefix),
            body,
        }),
        Verdict::Shape => Err(mixed_length(scheme, &body).unwrap_or(TaxIdError::Shape {
            scheme: scheme.name,
            form: scheme.form,
        })),
        Verdict::CheckDigits => Err(TaxIdError::CheckDigits {
            scheme: scheme.name,
        }),
    }
}

/// For the schemes of letters and digits, a count of digits says more than the shape when
/// only the number of digits is off.
fn mixed_length(scheme: &Scheme, body: &str) -> Option<TaxIdError> {
    let (digits, wanted, lengths): (&str, &'static str, &[usize]) = match scheme.prefix {
        "AT" => (body.strip_prefix('U')?, "8 after the U", &[8]),
        "GB" | "XI" => (body, "9 (12 for a branch)", &[9, 12]),
        _ => return None,
    };
    (all_digits(digits) && !lengths.contains(&digits.len())).then_some(TaxIdError::Length {
        scheme: scheme.name,
        got: digits.len(),
        wanted,
    })
}

// ----- Official forms -------------------------------------------------------------------------

fn prefix_and_body(s: &Scheme, body: &str) -> String {
    format!("{}{body}", s.prefix)
}

fn bare(_: &Scheme, body: &str) -> String {
    body.to_string()
}

fn gb_official(s: &Scheme, b: &str) -> String {
    match b.len() {
        9 => format!("{} {} {} {}", s.prefix, &b[..3], &b[3..7], &b[7..]),
        12 => format!(
            "{} {} {} {} {}",
            s.prefix,
            &b[..3],
            &b[3..7],
            &b[7..9],
            &b[9..]
        ),
        _ => format!("{}{b}", s.prefix),
    }
}

fn ch_official(_: &Scheme, b: &str) -> String {
    format!("CHE-{}.{}.{} MWST", &b[..3], &b[3..6], &b[6..])
}

fn no_official(_: &Scheme, b: &str) -> String {
    format!("NO {} {} {} MVA", &b[..3], &b[3..6], &b[6..])
}

fn au_official(_: &Scheme, b: &str) -> String {
    format!("{} {} {} {}", &b[..2], &b[2..5], &b[5..8], &b[8..])
}

fn ca_official(_: &Scheme, b: &str) -> String {
    if b.len() > 9 {
        format!("{} {}", &b[..9], &b[9..])
    } else {
        b.to_string()
    }
}

fn ein_official(_: &Scheme, b: &str) -> String {
    format!("{}-{}", &b[..2], &b[2..])
}

// ----- Check digits, each country's published rule ------------------------------------------

fn nums(s: &str) -> Vec<u32> {
    s.bytes().map(|b| u32::from(b.wrapping_sub(b'0'))).collect()
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn weighted(d: &[u32], weights: &[u32]) -> u32 {
    d.iter().zip(weights).map(|(d, w)| d * w).sum()
}

fn verdict(ok: bool) -> Verdict {
    if ok {
        Verdict::Valid
    } else {
        Verdict::CheckDigits
    }
}

/// The Luhn sum of `d` when its last digit is the check digit: valid when it is 0 mod 10.
fn luhn(d: &[u32]) -> u32 {
    d.iter()
        .rev()
        .enumerate()
        .map(|(i, &x)| {
            if i % 2 == 1 {
                let y = x * 2;
                y / 10 + y % 10
            } else {
                x
            }
        })
        .sum::<u32>()
        % 10
}

/// ISO 7064 MOD 11,10 (Germany, Croatia).
fn mod_11_10(d: &[u32]) -> bool {
    let (last, rest) = d.split_last().expect("checked lengths");
    let mut product = 10;
    for &x in rest {
        let sum = match (x + product) % 10 {
            0 => 10,
            s => s,
        };
        product = (2 * sum) % 11;
    }
    (11 - product) % 10 == *last
}

fn at(b: &str) -> Verdict {
    let Some(n) = b
        .strip_prefix('U')
        .filter(|n| n.len() == 8 && all_digits(n))
    else {
        return Verdict::Shape;
    };
    let d = nums(n);
    let sum: u32 = d[..7]
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            if i % 2 == 1 {
                (2 * x) / 10 + (2 * x) % 10
            } else {
                x
            }
        })
        .sum();
    verdict((10 - (sum + 4) % 10) % 10 == d[7])
}

fn be(b: &str) -> Verdict {
    if !b.starts_with(['0', '1']) {
        return Verdict::Shape;
    }
    let head: u64 = b[..8].parse().expect("digits");
    let check: u64 = b[8..].parse().expect("digits");
    verdict(97 - head % 97 == check)
}

fn bg(b: &str) -> Verdict {
    let d = nums(b);
    if d.len() == 9 {
        let mut s = weighted(&d[..8], &[1, 2, 3, 4, 5, 6, 7, 8]) % 11;
        if s == 10 {
            s = weighted(&d[..8], &[3, 4, 5, 6, 7, 8, 9, 10]) % 11;
        }
        return verdict(s % 10 == d[8]);
    }
    // A person's EGN starts with the date of birth (month + 20 before 1900, + 40 from 2000).
    let (yy, mm, dd) = (d[0] * 10 + d[1], d[2] * 10 + d[3], d[4] * 10 + d[5]);
    let (year, month) = match mm {
        41.. => (2000 + yy, mm - 40),
        21.. => (1800 + yy, mm - 20),
        _ => (1900 + yy, mm),
    };
    let born = chrono::NaiveDate::from_ymd_opt(year as i32, month, dd).is_some();
    let person = born && weighted(&d[..9], &[2, 4, 8, 5, 10, 9, 7, 3, 6]) % 11 % 10 == d[9];
    let foreigner = weighted(&d[..9], &[21, 19, 17, 13, 11, 9, 7, 3, 1]) % 10 == d[9];
    let other = match 11 - weighted(&d[..9], &[4, 3, 2, 7, 6, 5, 4, 3, 2]) % 11 {
        11 => d[9] == 0,
        10 => false,
        c => c == d[9],
    };
    verdict(person || foreigner || other)
}

fn cy(b: &str) -> Verdict {
    let (n, letter) = b.split_at(b.len().min(8));
    if n.len() != 8
        || !all_digits(n)
        || letter.len() != 1
        || !letter.as_bytes()[0].is_ascii_uppercase()
    {
        return Verdict::Shape;
    }
    if n.starts_with("12") {
        return Verdict::Shape;
    }
    const ODD: [u32; 10] = [1, 0, 5, 7, 9, 13, 15, 17, 19, 21];
    let sum: u32 = nums(n)
        .iter()
        .enumerate()
        .map(|(i, &x)| if i % 2 == 0 { ODD[x as usize] } else { x })
        .sum();
    verdict(u32::from(letter.as_bytes()[0] - b'A') == sum % 26)
}

fn cz(b: &str) -> Verdict {
    let d = nums(b);
    match d.len() {
        8 => {
            if d[0] == 9 {
                return Verdict::Shape;
            }
            let s = weighted(&d[..7], &[8, 7, 6, 5, 4, 3, 2]);
            let c = (11 - s % 11) % 11;
            verdict((if c == 0 { 1 } else { c }) % 10 == d[7])
        }
        9 if d[0] == 6 => {
            let s = weighted(&d[1..8], &[8, 7, 6, 5, 4, 3, 2]) % 11;
            verdict((s + 8) % 10 == d[8])
        }
        _ => cz_birth_number(b),
    }
}

/// A Czech birth number (rodné číslo): a date (month + 50 for women, + 20 or + 70 for extra
/// numbers since 2004); 9 digits only before 1954; 10 digits divisible by 11 (old rule:
/// remainder 10 with a final 0).
fn cz_birth_number(b: &str) -> Verdict {
    let yy: i32 = b[..2].parse().expect("digits");
    let month: u32 = b[2..4].parse::<u32>().expect("digits") % 50 % 20;
    let day: u32 = b[4..6].parse().expect("digits");
    let mut year = 1900 + yy;
    if b.len() == 9 {
        if year >= 1980 {
            year -= 100;
        }
        if year > 1953 {
            return Verdict::Shape;
        }
    } else if year < 1954 {
        year += 100;
    }
    if chrono::NaiveDate::from_ymd_opt(year, month, day).is_none() {
        return Verdict::Shape;
    }
    if b.len() == 10 {
        let head: u64 = b[..9].parse().expect("digits");
        return verdict((head % 11 % 10) as u32 == nums(&b[9..])[0]);
    }
    Verdict::Valid
}

fn de(b: &str) -> Verdict {
    if b.starts_with('0') {
        return Verdict::Shape;
    }
    verdict(mod_11_10(&nums(b)))
}

fn dk(b: &str) -> Verdict {
    if b.starts_with('0') {
        return Verdict::Shape;
    }
    verdict(weighted(&nums(b), &[2, 7, 6, 5, 4, 3, 2, 1]).is_multiple_of(11))
}

fn ee(b: &str) -> Verdict {
    verdict(weighted(&nums(b), &[3, 7, 1, 3, 7, 1, 3, 7, 1]).is_multiple_of(10))
}

fn el(b: &str) -> Verdict {
    let d = nums(b);
    let sum = d[..8].iter().fold(0u32, |acc, &x| acc * 2 + x);
    verdict(sum * 2 % 11 % 10 == d[8])
}

fn es(b: &str) -> Verdict {
    const DNI: &[u8; 23] = b"TRWAGMYFPDXBNJZSQVHLCKE";
    let bytes = b.as_bytes();
    if b.len() != 9 || !all_digits(&b[1..8]) {
        return Verdict::Shape;
    }
    let (first, last) = (bytes[0], bytes[8]);
    let dni_letter = |n: &str| DNI[(n.parse::<u32>().expect("digits") % 23) as usize];
    match first {
        b'0'..=b'9' => {
            if !all_digits(&b[..8]) || !last.is_ascii_uppercase() {
                return Verdict::Shape;
            }
            verdict(dni_letter(&b[..8]) == last)
        }
        b'X' | b'Y' | b'Z' => {
            let n = format!("{}{}", first - b'X', &b[1..8]);
            verdict(last.is_ascii_uppercase() && dni_letter(&n) == last)
        }
        b'K' | b'L' | b'M' => verdict(last.is_ascii_uppercase() && dni_letter(&b[1..8]) == last),
        b'A'..=b'H' | b'J' | b'N' | b'P' | b'Q' | b'R' | b'S' | b'U' | b'V' | b'W' => {
            let sum = luhn(&[nums(&b[1..8]), vec![0]].concat());
            let check = (10 - sum) % 10;
            let letter = b"JABCDEFGHI"[check as usize];
            verdict(u32::from(last.wrapping_sub(b'0')) == check || last == letter)
        }
        _ => Verdict::Shape,
    }
}

fn fi(b: &str) -> Verdict {
    verdict(weighted(&nums(b), &[7, 9, 10, 5, 8, 4, 2, 1]).is_multiple_of(11))
}

fn fr(b: &str) -> Verdict {
    const ALPHABET: &str = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    if b.len() != 11 || !all_digits(&b[2..]) || !b[..2].chars().all(|c| ALPHABET.contains(c)) {
        return Verdict::Shape;
    }
    let siren = &b[2..];
    // SIRENs of bodies without one start 000 and carry no Luhn digit.
    if !siren.starts_with("000") && luhn(&nums(siren)) != 0 {
        return Verdict::CheckDigits;
    }
    let n: u64 = siren.parse().expect("digits");
    if all_digits(&b[..2]) {
        let key: u64 = b[..2].parse().expect("digits");
        return verdict(key == (n * 100 + 12) % 97);
    }
    let index = |c: char| ALPHABET.find(c).expect("checked") as i64;
    let mut c = b.chars();
    let (c0, c1) = (c.next().expect("len"), c.next().expect("len"));
    let check = if c0.is_ascii_digit() {
        index(c0) * 24 + index(c1) - 10
    } else {
        index(c0) * 34 + index(c1) - 100
    };
    verdict((n as i64 + 1 + check / 11) % 11 == check % 11)
}

fn hr(b: &str) -> Verdict {
    verdict(mod_11_10(&nums(b)))
}

fn hu(b: &str) -> Verdict {
    verdict(weighted(&nums(b), &[9, 7, 3, 1, 9, 7, 3, 1]).is_multiple_of(10))
}

fn ie(b: &str) -> Verdict {
    const LETTERS: &[u8; 23] = b"WABCDEFGHIJKLMNOPQRSTUV";
    let bytes = b.as_bytes();
    if !(8..=9).contains(&b.len())
        || !bytes[0].is_ascii_digit()
        || !all_digits(&b[2..7])
        || !bytes[7..].iter().all(|c| LETTERS.contains(c))
    {
        return Verdict::Shape;
    }
    let position = |c: u8| LETTERS.iter().position(|&l| l == c).expect("checked") as u32;
    let check = |seven: &str, second: Option<u8>| {
        let s = weighted(&nums(seven), &[8, 7, 6, 5, 4, 3, 2]) + 9 * second.map_or(0, position);
        LETTERS[(s % 23) as usize]
    };
    if all_digits(&b[..7]) {
        return verdict(bytes[7] == check(&b[..7], bytes.get(8).copied()));
    }
    if b.len() == 8 && (bytes[1].is_ascii_uppercase() || bytes[1] == b'+' || bytes[1] == b'*') {
        // The old form: digit, letter, five digits, letter — moved into the new one.
        let seven = format!("0{}{}", &b[2..7], &b[..1]);
        return verdict(bytes[7] == check(&seven, None));
    }
    Verdict::Shape
}

fn it(b: &str) -> Verdict {
    let office: u32 = b[7..10].parse().expect("digits");
    if b[..7] == *"0000000" || !(matches!(office, 1..=100 | 120 | 121 | 888 | 999)) {
        return Verdict::Shape;
    }
    verdict(luhn(&nums(b)) == 0)
}

fn lt(b: &str) -> Verdict {
    let d = nums(b);
    if (d.len() == 9 && d[7] != 1) || (d.len() == 12 && d[10] != 1) {
        return Verdict::Shape;
    }
    let (last, rest) = d.split_last().expect("len");
    let sum = |shift: usize| -> u32 {
        rest.iter()
            .enumerate()
            .map(|(i, &x)| (1 + ((i + shift) % 9) as u32) * x)
            .sum()
    };
    let mut c = sum(0) % 11;
    if c == 10 {
        c = sum(2) % 11;
    }
    verdict(c % 10 == *last)
}

fn lu(b: &str) -> Verdict {
    let head: u32 = b[..6].parse().expect("digits");
    let check: u32 = b[6..].parse().expect("digits");
    verdict(head % 89 == check)
}

fn lv(b: &str) -> Verdict {
    let d = nums(b);
    if d[0] > 3 {
        return verdict(weighted(&d, &[9, 1, 4, 8, 3, 10, 2, 5, 7, 6, 1]) % 11 == 3);
    }
    if !b.starts_with("32") {
        let day: u32 = b[..2].parse().expect("digits");
        let month: u32 = b[2..4].parse().expect("digits");
        let year = 1800 + 100 * d[6] as i32 + b[4..6].parse::<i32>().expect("digits");
        if chrono::NaiveDate::from_ymd_opt(year, month, day).is_none() {
            return Verdict::Shape;
        }
    }
    let c = (1 + weighted(&d[..10], &[10, 5, 8, 4, 2, 1, 6, 3, 7, 9])) % 11 % 10;
    verdict(c == d[10])
}

fn mt(b: &str) -> Verdict {
    if b.starts_with('0') {
        return Verdict::Shape;
    }
    verdict(weighted(&nums(b), &[3, 4, 6, 7, 8, 9, 10, 1]).is_multiple_of(37))
}

fn nl(b: &str) -> Verdict {
    let bytes = b.as_bytes();
    if b.len() != 12 || !all_digits(&b[..9]) || bytes[9] != b'B' || !all_digits(&b[10..]) {
        return Verdict::Shape;
    }
    if b[..9] == *"000000000" || b[10..] == *"00" {
        return Verdict::Shape;
    }
    let d = nums(&b[..9]);
    let eleven = (weighted(&d[..8], &[9, 8, 7, 6, 5, 4, 3, 2]) + 11 * 11 - d[8]).is_multiple_of(11);
    // Sole traders' numbers (since 2020): ISO 7064 MOD 97-10 over "NL" + the number, letters
    // as numbers (N = 23, L = 21, B = 11).
    let whole = format!("2321{}11{}", &b[..9], &b[10..]);
    let ninety_seven = whole
        .bytes()
        .fold(0u32, |acc, c| (acc * 10 + u32::from(c - b'0')) % 97)
        == 1;
    verdict(eleven || ninety_seven)
}

fn pl(b: &str) -> Verdict {
    let d = nums(b);
    let s = weighted(&d[..9], &[6, 5, 7, 2, 3, 4, 5, 6, 7]) % 11;
    verdict(s == d[9])
}

fn pt(b: &str) -> Verdict {
    if b.starts_with('0') {
        return Verdict::Shape;
    }
    let d = nums(b);
    let s = weighted(&d[..8], &[9, 8, 7, 6, 5, 4, 3, 2]);
    verdict((11 - s % 11) % 11 % 10 == d[8])
}

fn ro(b: &str) -> Verdict {
    if b.len() == 13 {
        return ro_person(b);
    }
    if b.starts_with('0') {
        return Verdict::Shape;
    }
    let d = nums(b);
    let (last, rest) = d.split_last().expect("len");
    let padded: Vec<u32> = std::iter::repeat_n(0, 9 - rest.len())
        .chain(rest.iter().copied())
        .collect();
    let c = 10 * weighted(&padded, &[7, 5, 3, 2, 1, 7, 5, 3, 2]) % 11 % 10;
    verdict(c == *last)
}

/// A Romanian personal number (CNP): sex and century, date of birth, county, serial, check.
fn ro_person(b: &str) -> Verdict {
    let d = nums(b);
    let century = match d[0] {
        1 | 2 => 1900,
        3 | 4 => 1800,
        5 | 6 => 2000,
        7..=9 => 1900,
        _ => return Verdict::Shape,
    };
    let year = century + (d[1] * 10 + d[2]) as i32;
    let (month, day) = (d[3] * 10 + d[4], d[5] * 10 + d[6]);
    if chrono::NaiveDate::from_ymd_opt(year, month, day).is_none() {
        return Verdict::Shape;
    }
    let c = match weighted(&d[..12], &[2, 7, 9, 1, 4, 6, 3, 5, 8, 2, 7, 9]) % 11 {
        10 => 1,
        c => c,
    };
    verdict(c == d[12])
}

fn se(b: &str) -> Verdict {
    if !b.ends_with("01") {
        return Verdict::Shape;
    }
    verdict(luhn(&nums(&b[..10])) == 0)
}

fn si(b: &str) -> Verdict {
    if b.starts_with('0') {
        return Verdict::Shape;
    }
    let d = nums(b);
    let c = match 11 - weighted(&d[..7], &[8, 7, 6, 5, 4, 3, 2]) % 11 {
        10 => 0,
        11 => return Verdict::CheckDigits,
        c => c,
    };
    verdict(c == d[7])
}

fn sk(b: &str) -> Verdict {
    // A person's birth number (rodné číslo, as the Czech one) is accepted too.
    if cz_birth_number(b) == Verdict::Valid {
        return Verdict::Valid;
    }
    let d = nums(b);
    if d[0] == 0 || ![2, 3, 4, 7, 8, 9].contains(&d[2]) {
        return Verdict::Shape;
    }
    let n: u64 = b.parse().expect("digits");
    verdict(n.is_multiple_of(11))
}

fn gb(b: &str) -> Verdict {
    if let Some(n) = b.strip_prefix("GD").or_else(|| b.strip_prefix("HA")) {
        if n.len() != 3 || !all_digits(n) {
            return Verdict::Shape;
        }
        let n: u32 = n.parse().expect("digits");
        return if (b.starts_with("GD") && n < 500) || (b.starts_with("HA") && n >= 500) {
            Verdict::Valid
        } else {
            Verdict::Shape
        };
    }
    if !all_digits(b) || !(b.len() == 9 || b.len() == 12) {
        return Verdict::Shape;
    }
    let d = nums(&b[..9]);
    let sum = weighted(&d, &[8, 7, 6, 5, 4, 3, 2, 10, 1]) % 97;
    // The new series (from 2010) adds 55: remainders 42 and 55 are valid there.
    let new_series = b[..3].parse::<u32>().expect("digits") >= 100;
    verdict(sum == 0 || (new_series && (sum == 42 || sum == 55)))
}

/// Mod-11 with weights, where 11 is 0 and 10 cannot occur (Swiss UID, Norwegian org number).
fn mod_11(d: &[u32], weights: &[u32]) -> Verdict {
    let (last, rest) = d.split_last().expect("len");
    match 11 - weighted(rest, weights) % 11 {
        11 => verdict(*last == 0),
        10 => Verdict::CheckDigits,
        c => verdict(c == *last),
    }
}

fn ch(b: &str) -> Verdict {
    mod_11(&nums(b), &[5, 4, 3, 2, 7, 6, 5, 4])
}

fn no(b: &str) -> Verdict {
    mod_11(&nums(b), &[3, 2, 7, 6, 5, 4, 3, 2])
}

fn au(b: &str) -> Verdict {
    let mut d = nums(b);
    if d[0] == 0 {
        return Verdict::Shape;
    }
    d[0] -= 1;
    verdict(weighted(&d, &[10, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19]).is_multiple_of(89))
}

fn ca(b: &str) -> Verdict {
    let (bn, program) = b.split_at(b.len().min(9));
    if bn.len() != 9 || !all_digits(bn) {
        return Verdict::Shape;
    }
    if !program.is_empty() {
        let known = ["RT", "RP", "RC", "RM", "RR", "RZ"]
            .iter()
            .any(|p| program.starts_with(p));
        if program.len() != 6 || !known || !all_digits(&program[2..]) {
            return Verdict::Shape;
        }
    }
    verdict(luhn(&nums(bn)) == 0)
}

fn gstin(b: &str) -> Verdict {
    const CHARS: &str = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let bytes = b.as_bytes();
    let shape = b.len() == 15
        && all_digits(&b[..2])
        && bytes[2..7].iter().all(u8::is_ascii_uppercase)
        // The PAN's fourth letter says what kind of holder it is.
        && b"ABCFGHJKLPT".contains(&bytes[5])
        && all_digits(&b[7..11])
        && bytes[11].is_ascii_uppercase()
        && bytes[12..].iter().all(|c| CHARS.as_bytes().contains(c))
        && bytes[12] != b'0';
    if !shape {
        return Verdict::Shape;
    }
    let state: u32 = b[..2].parse().expect("digits");
    if !matches!(state, 1..=38 | 97 | 99) {
        return Verdict::Shape;
    }
    let value = |c: char| CHARS.find(c).expect("checked") as u32;
    let sum: u32 = b[..14]
        .chars()
        .enumerate()
        .map(|(i, c)| {
            let v = value(c) * if i % 2 == 0 { 1 } else { 2 };
            v / 36 + v % 36
        })
        .sum();
    let check = (36 - sum % 36) % 36;
    verdict(CHARS.as_bytes()[check as usize] == bytes[14])
}

fn ein(b: &str) -> Verdict {
    const UNASSIGNED: [&str; 17] = [
        "00", "07", "08", "09", "17", "18", "19", "28", "29", "49", "69", "70", "78", "79", "89",
        "96", "97",
    ];
    if UNASSIGNED.contains(&&b[..2]) {
        Verdict::Shape
    } else {
        Verdict::Valid
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parsed(typed: &str, country: &str) -> TaxId {
        TaxId::parse(typed, country).unwrap().unwrap()
    }

    fn message(typed: &str, country: &str) -> String {
        TaxId::parse(typed, country).unwrap_err().to_string()
    }

    #[test]
    fn a_german_number_with_a_digit_missing_or_mistyped_says_what_is_wrong() {
        assert_eq!(
            message("DE 13669597", "DE"),
            "This has 8 digits; a German VAT number has 9."
        );
        assert_eq!(
            message("DE136695977", "DE"),
            "The check digits don't match the rest of the number: look for a mistyped digit."
        );
        assert_eq!(
            message("DE 1366959A6", "DE"),
            "A German VAT number has only digits after DE."
        );
        assert_eq!(
            message("DE 036695976", "DE"),
            "A German VAT number is DE followed by 9 digits, the first not 0."
        );
    }

    #[test]
    fn the_usual_spellings_give_one_normal_form() {
        for typed in [
            "DE136695976",
            "de 136 695 976",
            "DE-136.695.976",
            "136695976",
            " DE 136695976 ",
        ] {
            let id = parsed(typed, "DE");
            assert_eq!(id.normal(), "DE136695976", "{typed}");
            assert_eq!(id.official(), "DE136695976");
            assert_eq!(id.eu_vat_country(), Some("DE"));
        }
        assert_eq!(parsed("EL 094259216", "GR").eu_vat_country(), Some("GR"));
        assert_eq!(parsed("BE 428.759.497", "BE").normal(), "BE0428759497");
    }

    #[test]
    fn the_official_forms_are_printed() {
        assert_eq!(parsed("GB980780684", "GB").official(), "GB 980 7806 84");
        assert_eq!(
            parsed("che101415551", "CH").official(),
            "CHE-101.415.551 MWST"
        );
        assert_eq!(
            parsed("965920358MVA", "NO").official(),
            "NO 965 920 358 MVA"
        );
        assert_eq!(parsed("51824753556", "AU").official(), "51 824 753 556");
        assert_eq!(
            parsed("100007780rc0001", "CA").official(),
            "100007780 RC0001"
        );
        assert_eq!(parsed("911144442", "US").official(), "91-1144442");
        assert_eq!(
            parsed("27aapfu0939f1zv", "IN").official(),
            "27AAPFU0939F1ZV"
        );
    }

    #[test]
    fn a_prefix_picks_the_scheme_whatever_the_address() {
        // An Austrian number for a company whose address is in Germany, a German one in the US.
        assert_eq!(parsed("ATU13585627", "DE").normal(), "ATU13585627");
        assert_eq!(parsed("DE136695976", "US").eu_vat_country(), Some("DE"));
        // Northern Ireland: XI from a UK address is an EU VAT number; GB is not.
        assert_eq!(parsed("XI 980 7806 84", "GB").eu_vat_country(), Some("XI"));
        assert_eq!(parsed("GB 980 7806 84", "GB").eu_vat_country(), None);
        // Numbers without a prefix take the address's scheme, even when they start like one.
        assert_eq!(parsed("DE 136695976", "FR").normal(), "DE136695976");
    }

    #[test]
    fn a_country_without_a_scheme_keeps_the_id_as_typed() {
        let id = parsed("  12.345.678/0001-95 ", "BR");
        assert_eq!(
            (id.normal(), id.official()),
            ("12.345.678/0001-95".into(), "12.345.678/0001-95".into())
        );
        assert_eq!(id.scheme().map(|s| s.prefix), None);
        assert_eq!(TaxId::stored("12.345.678/0001-95"), id);
        assert_eq!(
            TaxId::parse(&"x".repeat(33), "BR"),
            Err(TaxIdError::TooLong)
        );
        assert_eq!(TaxId::parse("  ", "DE"), Ok(None));
    }

    #[test]
    fn a_card_number_is_refused_in_any_country() {
        for country in ["DE", "BR", ""] {
            assert_eq!(
                TaxId::parse("4111 1111 1111 1111", country), // test number
                Err(TaxIdError::CardNumber)
            );
        }
    }

    #[test]
    fn every_scheme_is_for_a_country_or_northern_ireland_and_says_what_it_checks() {
        for s in SCHEMES {
            assert!(s.country.len() == 2 || s.prefix == "XI", "{}", s.prefix);
            assert!(!s.checks.is_empty() && !s.form.is_empty());
            assert!(s.name.starts_with("a ") || s.name.starts_with("an "));
        }
        assert_eq!(
            SCHEMES.iter().filter(|s| s.eu_vat).count(),
            28,
            "27 member states and XI"
        );
    }

    /// Schemes whose check digits catch every single mistyped digit.
    const CATCHES_EVERY_TYPO: &[(&str, usize)] = &[
        ("DE", 9),
        ("HR", 11),
        ("IT", 11),
        ("DK", 8),
        ("FI", 8),
        ("HU", 8),
        ("EE", 9),
        ("MT", 8),
        ("PL", 10),
        ("BE", 10),
        ("LU", 8),
        ("AU", 11),
        ("CHE", 9),
        ("NO", 9),
    ];

    proptest! {
        #[test]
        fn parsing_never_panics(typed in "\\PC{0,40}", country in "[A-Z]{2}") {
            let _ = TaxId::parse(&typed, &country);
            let _ = TaxId::stored(&typed);
        }

        #[test]
        fn any_number_in_any_scheme_parses_or_says_why(digits in "[0-9]{1,14}", i in 0..SCHEMES.len()) {
            let s = &SCHEMES[i];
            match TaxId::parse(&format!("{}{digits}", s.prefix), s.country) {
                Ok(Some(id)) => {
                    prop_assert_eq!(TaxId::stored(&id.normal()), id.clone());
                    prop_assert_eq!(TaxId::parse(&id.official(), s.country), Ok(Some(id)));
                }
                Ok(None) => prop_assert!(false, "blank"),
                Err(e) => prop_assert!(!e.to_string().is_empty()),
            }
        }

        #[test]
        fn one_mistyped_digit_is_caught(seed in "[0-9]{14}", pick in 0..CATCHES_EVERY_TYPO.len(), at in 0usize..14, by in 1u8..10) {
            let (prefix, len) = CATCHES_EVERY_TYPO[pick];
            let scheme = scheme_for_prefix(prefix).unwrap();
            // The first valid number with this start (the check digit tried 0 to 9).
            let head = &seed[..len - 1];
            let valid = (0..10).map(|c| format!("{head}{c}")).find(|n| check(scheme, n).is_ok());
            // Some starts have no valid number (a check digit of 10, a part the scheme rules out).
            let Some(valid) = valid else { return Ok(()) };
            let at = at % len;
            let mut typo = valid.clone().into_bytes();
            typo[at] = b'0' + (typo[at] - b'0' + by) % 10;
            let typo = String::from_utf8(typo).unwrap();
            prop_assert!(check(scheme, &typo).is_err(), "{} {} passed as {}", prefix, typo, valid);
        }
    }
}
