//! Payment card numbers and security codes: brand by prefix, length per brand, Luhn, the
//! accepted-brands policy, grouping while typing, and types that never leak the digits.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::typing::Typing;

/// A card network, detected from the number's leading digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Brand {
    Visa,
    Mastercard,
    Amex,
    Discover,
    Diners,
    Jcb,
    UnionPay,
}

/// Every brand, in display order.
pub const ALL_BRANDS: [Brand; 7] = [
    Brand::Visa,
    Brand::Mastercard,
    Brand::Amex,
    Brand::Discover,
    Brand::Diners,
    Brand::Jcb,
    Brand::UnionPay,
];

/// The longest card number of any brand.
pub const MAX_CARD_DIGITS: usize = 19;

/// A range of leading digits: numbers whose first `len` digits lie in `lo..=hi`.
struct PrefixRange {
    lo: u32,
    hi: u32,
    len: usize,
}

/// `range!(lo, hi, len)`: a struct literal, so the tables below are `'static` constants.
macro_rules! range {
    ($lo:expr, $hi:expr, $len:expr) => {
        PrefixRange {
            lo: $lo,
            hi: $hi,
            len: $len,
        }
    };
}

impl Brand {
    /// The name printed on cards and receipts.
    pub fn display_name(self) -> &'static str {
        match self {
            Brand::Visa => "Visa",
            Brand::Mastercard => "Mastercard",
            Brand::Amex => "American Express",
            Brand::Discover => "Discover",
            Brand::Diners => "Diners Club",
            Brand::Jcb => "JCB",
            Brand::UnionPay => "UnionPay",
        }
    }

    /// A stable lower-case identifier for storage and the wire.
    pub fn code(self) -> &'static str {
        match self {
            Brand::Visa => "visa",
            Brand::Mastercard => "mastercard",
            Brand::Amex => "amex",
            Brand::Discover => "discover",
            Brand::Diners => "diners",
            Brand::Jcb => "jcb",
            Brand::UnionPay => "unionpay",
        }
    }

    /// The inverse of [`Brand::code`].
    pub fn from_code(code: &str) -> Option<Brand> {
        ALL_BRANDS.into_iter().find(|b| b.code() == code)
    }

    fn prefixes(self) -> &'static [PrefixRange] {
        match self {
            Brand::Visa => &[range!(4, 4, 1)],
            Brand::Mastercard => &[range!(51, 55, 2), range!(2221, 2720, 4)],
            Brand::Amex => &[range!(34, 34, 2), range!(37, 37, 2)],
            Brand::Discover => &[
                range!(6011, 6011, 4),
                range!(644, 649, 3),
                range!(65, 65, 2),
            ],
            Brand::Diners => &[
                range!(300, 305, 3),
                range!(36, 36, 2),
                range!(38, 38, 2),
                range!(39, 39, 2),
            ],
            Brand::Jcb => &[range!(3528, 3589, 4)],
            Brand::UnionPay => &[range!(62, 62, 2)],
        }
    }

    /// The number lengths this brand issues, ascending.
    pub fn lengths(self) -> &'static [usize] {
        match self {
            Brand::Visa => &[16, 18, 19],
            Brand::Mastercard => &[16],
            Brand::Amex => &[15],
            Brand::Discover => &[16, 19],
            Brand::Diners => &[14, 16, 19],
            Brand::Jcb => &[16, 17, 18, 19],
            Brand::UnionPay => &[14, 15, 16, 17, 18, 19],
        }
    }

    fn max_length(self) -> usize {
        *self.lengths().last().expect("every brand has a length")
    }

    /// Digits in this brand's security code: 4 for American Express, 3 otherwise.
    pub fn security_code_length(self) -> usize {
        match self {
            Brand::Amex => 4,
            _ => 3,
        }
    }

    /// What the brand calls its security code, for the field's label.
    pub fn security_code_name(self) -> &'static str {
        match self {
            Brand::Visa => "CVV",
            Brand::Mastercard => "CVC",
            Brand::Amex => "CID",
            Brand::Discover => "CID",
            Brand::Diners => "CVV",
            Brand::Jcb => "CAV",
            Brand::UnionPay => "CVN",
        }
    }

    /// Where the code is printed, to help people find it.
    pub fn security_code_hint(self) -> &'static str {
        match self {
            Brand::Amex => "4 digits on the front of the card",
            _ => "3 digits on the back of the card",
        }
    }

    /// Group sizes for showing a number of `len` digits: Amex 4-6-5, 14-digit Diners 4-6-4,
    /// otherwise groups of four.
    fn groups(self, len: usize) -> &'static [usize] {
        match (self, len) {
            (Brand::Amex, _) => &[4, 6, 5],
            (Brand::Diners, 14) => &[4, 6, 4],
            _ => &[4, 4, 4, 4, 3],
        }
    }
}

impl fmt::Display for Brand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.display_name())
    }
}

/// Whether some number starting with `digits` falls in `r`.
fn prefix_matches(digits: &[u8], r: &PrefixRange) -> bool {
    let n = digits.len().min(r.len);
    if n == 0 {
        return true;
    }
    let value = digits[..n]
        .iter()
        .fold(0u32, |acc, d| acc * 10 + u32::from(*d));
    let scale = 10u32.pow((r.len - n) as u32);
    // Compare the typed digits with the range truncated to as many digits.
    value >= r.lo / scale && value <= r.hi / scale
}

/// Brands a number beginning with `digits` could still belong to.
fn possible_brands(digits: &[u8]) -> Vec<Brand> {
    ALL_BRANDS
        .into_iter()
        .filter(|b| b.prefixes().iter().any(|r| prefix_matches(digits, r)))
        .collect()
}

/// The brand of a (possibly partial) number, as soon as only one brand is still possible:
/// `2`, `23` and `270` can only be Mastercard, `358` only JCB, while `3` could be three.
pub fn detect_brand(input: &str) -> Option<Brand> {
    let digits = normalize(input).ok()?;
    if digits.is_empty() {
        return None;
    }
    match possible_brands(&digits).as_slice() {
        [only] => Some(*only),
        _ => None,
    }
}

/// Digits of `input` with spaces and dashes removed, or `Err(())` if anything else is in it.
fn normalize(input: &str) -> Result<Vec<u8>, ()> {
    let mut digits = Vec::with_capacity(MAX_CARD_DIGITS);
    for c in input.chars() {
        match c {
            '0'..='9' => digits.push(c as u8 - b'0'),
            ' ' | '-' | '\u{a0}' => {}
            _ => return Err(()),
        }
    }
    Ok(digits)
}

/// The Luhn (mod 10) checksum every card number carries.
pub fn luhn_valid(digits: &[u8]) -> bool {
    if digits.is_empty() {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// The brands this account takes. Spec default: Visa, Mastercard, Amex, Discover.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcceptedBrands(Vec<Brand>);

impl Default for AcceptedBrands {
    fn default() -> Self {
        Self(vec![
            Brand::Visa,
            Brand::Mastercard,
            Brand::Amex,
            Brand::Discover,
        ])
    }
}

impl AcceptedBrands {
    /// Accepts exactly `brands`.
    pub fn new(brands: impl IntoIterator<Item = Brand>) -> Self {
        let mut v: Vec<Brand> = brands.into_iter().collect();
        v.sort();
        v.dedup();
        Self(v)
    }

    /// Every brand Tally can detect.
    pub fn all() -> Self {
        Self(ALL_BRANDS.to_vec())
    }

    /// Reads a comma-separated list of brand codes (`visa,mastercard`), e.g. from configuration.
    pub fn parse_list(list: &str) -> Result<Self, String> {
        let brands = list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|code| {
                Brand::from_code(code).ok_or_else(|| format!("unknown card brand {code:?}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if brands.is_empty() {
            return Err("at least one card brand must be accepted".into());
        }
        Ok(Self::new(brands))
    }

    pub fn accepts(&self, brand: Brand) -> bool {
        self.0.contains(&brand)
    }

    pub fn brands(&self) -> &[Brand] {
        &self.0
    }
}

/// Why a card number is refused. The `Display` text is what the person reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CardNumberError {
    Required,
    Incomplete,
    Invalid,
    Unaccepted(Brand),
}

impl fmt::Display for CardNumberError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Required => f.write_str("Enter your card number."),
            Self::Incomplete => f.write_str("Your card number is incomplete."),
            Self::Invalid => f.write_str("Your card number is invalid."),
            Self::Unaccepted(b) => write!(f, "We don't accept {b} cards."),
        }
    }
}

/// A complete, Luhn-valid card number of an accepted brand.
///
/// Its `Debug` shows only the brand and last four digits, and it cannot be serialized, so it
/// cannot slip into a log line, a database row or a response by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct CardNumber {
    digits: String,
    brand: Brand,
}

impl CardNumber {
    /// Parses a number as typed (spaces and dashes allowed) for an account accepting `accepted`:
    /// what a person is told when they leave the field or submit.
    ///
    /// A number whose length is complete for its brand and that fails Luhn is *invalid* here,
    /// even when a longer number of that brand could still pass (a Visa of 16 digits, say):
    /// more typing might still make it valid, so nothing shows while typing, but after it a
    /// person is told to check the digits, not to look for a missing one.
    pub fn parse(input: &str, accepted: &AcceptedBrands) -> Result<Self, CardNumberError> {
        match typing_state(input, accepted) {
            (Typing::Complete, Some(brand)) => {
                let digits = normalize(input).map_err(|()| CardNumberError::Invalid)?;
                Ok(Self {
                    digits: digits.iter().map(|d| char::from(b'0' + d)).collect(),
                    brand,
                })
            }
            (Typing::Empty, _) => Err(CardNumberError::Required),
            (Typing::Invalid(e), _) => Err(e),
            (_, Some(brand))
                if normalize(input)
                    .is_ok_and(|d| brand.lengths().contains(&d.len()) && !luhn_valid(&d)) =>
            {
                Err(CardNumberError::Invalid)
            }
            _ => Err(CardNumberError::Incomplete),
        }
    }

    pub fn brand(&self) -> Brand {
        self.brand
    }

    /// The last four digits, the only part that may be shown or stored.
    pub fn last4(&self) -> &str {
        &self.digits[self.digits.len() - 4..]
    }

    /// The full number, for the payment gateway and the keyed fingerprint only.
    pub fn expose_digits(&self) -> &str {
        &self.digits
    }
}

impl fmt::Debug for CardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CardNumber({} ••••{})", self.brand.code(), self.last4())
    }
}

/// Where a number stands while it is typed, and its brand once known.
pub fn typing_state(
    input: &str,
    accepted: &AcceptedBrands,
) -> (Typing<CardNumberError>, Option<Brand>) {
    let Ok(digits) = normalize(input) else {
        return (Typing::Invalid(CardNumberError::Invalid), None);
    };
    if digits.is_empty() {
        return (Typing::Empty, None);
    }
    let candidates = possible_brands(&digits);
    let brand = detect_brand(input);
    if candidates.is_empty() {
        return (Typing::Invalid(CardNumberError::Invalid), None);
    }
    if let Some(b) = brand {
        if !accepted.accepts(b) {
            return (Typing::Invalid(CardNumberError::Unaccepted(b)), Some(b));
        }
    }
    let len = digits.len();
    let max_len = candidates.iter().map(|b| b.max_length()).max().unwrap_or(0);
    if len > max_len {
        return (Typing::Invalid(CardNumberError::Invalid), brand);
    }
    match brand {
        Some(b) if b.lengths().contains(&len) => {
            if luhn_valid(&digits) {
                (Typing::Complete, Some(b))
            } else if b.lengths().iter().any(|&l| l > len) {
                (Typing::Incomplete, Some(b))
            } else {
                (Typing::Invalid(CardNumberError::Invalid), Some(b))
            }
        }
        _ => (Typing::Incomplete, brand),
    }
}

/// A number as shown while typing — digits in the brand's groups — and where the caret goes.
///
/// `caret` is a char offset into `input`; the returned offset sits after the same number of
/// digits in the formatted text, so typing or deleting in the middle keeps the caret in place.
/// Characters other than digits, spaces and dashes are dropped; digits past 19 are dropped.
pub fn format_for_typing(input: &str, caret: usize) -> (String, usize) {
    let mut digits = Vec::with_capacity(MAX_CARD_DIGITS);
    let mut digits_before_caret = 0;
    for (i, c) in input.chars().enumerate() {
        if let Some(d) = c.to_digit(10) {
            if digits.len() < MAX_CARD_DIGITS {
                digits.push(d as u8);
                if i < caret {
                    digits_before_caret += 1;
                }
            }
        }
    }
    let brand = {
        let s: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
        detect_brand(&s)
    };
    let groups = brand.map_or(&[4, 4, 4, 4, 3][..], |b| b.groups(digits.len()));
    let mut out = String::with_capacity(digits.len() + 4);
    let mut new_caret = 0;
    let mut group = 0;
    let mut in_group = 0;
    for (i, d) in digits.iter().enumerate() {
        if in_group == groups.get(group).copied().unwrap_or(usize::MAX) {
            out.push(' ');
            group += 1;
            in_group = 0;
        }
        out.push(char::from(b'0' + d));
        in_group += 1;
        if i + 1 == digits_before_caret {
            new_caret = out.chars().count();
        }
    }
    (out, new_caret)
}

/// Why a security code is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CvcError {
    Required,
    Incomplete,
    Invalid,
}

impl fmt::Display for CvcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Required => "Enter your card's security code.",
            Self::Incomplete => "Your card's security code is incomplete.",
            Self::Invalid => "Your card's security code is invalid.",
        })
    }
}

/// A security code of the right length for its card's brand. Never stored, never logged:
/// `Debug` prints a mask and there is no `Serialize`.
#[derive(Clone, PartialEq, Eq)]
pub struct Cvc(String);

impl Cvc {
    /// Parses a code for a card of `brand` (3 digits, 4 for American Express). Without a brand
    /// (the number is not valid yet), 3 or 4 digits pass.
    pub fn parse(input: &str, brand: Option<Brand>) -> Result<Self, CvcError> {
        match cvc_typing_state(input, brand) {
            Typing::Complete => Ok(Self(input.trim().to_string())),
            Typing::Empty => Err(CvcError::Required),
            Typing::Incomplete => Err(CvcError::Incomplete),
            Typing::Invalid(e) => Err(e),
        }
    }

    /// The code, for the payment gateway only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Cvc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Cvc(•••)")
    }
}

/// Where a security code stands while it is typed.
pub fn cvc_typing_state(input: &str, brand: Option<Brand>) -> Typing<CvcError> {
    let s = input.trim();
    if s.is_empty() {
        return Typing::Empty;
    }
    if !s.chars().all(|c| c.is_ascii_digit()) {
        return Typing::Invalid(CvcError::Invalid);
    }
    let (min, max) = match brand {
        Some(b) => (b.security_code_length(), b.security_code_length()),
        None => (3, 4),
    };
    match s.len() {
        n if n < min => Typing::Incomplete,
        n if n > max => Typing::Invalid(CvcError::Invalid),
        _ => Typing::Complete,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept_all() -> AcceptedBrands {
        AcceptedBrands::all()
    }

    /// Published test numbers of each brand (processors' test-mode documentation).
    const TEST_NUMBERS: &[(&str, Brand)] = &[
        ("4242 4242 4242 4242", Brand::Visa),
        ("4000 0566 5566 5556", Brand::Visa),
        ("4111 1111 1111 1111", Brand::Visa),
        ("5555 5555 5555 4444", Brand::Mastercard),
        ("2223 0031 2200 3222", Brand::Mastercard),
        ("5200 8282 8282 8210", Brand::Mastercard),
        ("3782 822463 10005", Brand::Amex),
        ("3714 496353 98431", Brand::Amex),
        ("6011 1111 1111 1117", Brand::Discover),
        ("6011 0009 9013 9424", Brand::Discover),
        ("6445 6445 6445 6445", Brand::Discover),
        ("3056 9300 0902 0004", Brand::Diners),
        ("3622 720627 1667", Brand::Diners),
        ("3566 0020 2036 0505", Brand::Jcb),
        ("6200 0000 0000 0005", Brand::UnionPay),
        ("6205 5000 0000 0000 004", Brand::UnionPay),
    ];

    #[test]
    fn published_test_numbers_are_accepted_with_their_brand() {
        for (n, brand) in TEST_NUMBERS {
            let card = CardNumber::parse(n, &accept_all()).unwrap_or_else(|e| panic!("{n}: {e}"));
            assert_eq!(card.brand(), *brand, "{n}");
            assert_eq!(
                card.last4(),
                &n.replace(' ', "")[n.replace(' ', "").len() - 4..]
            );
        }
    }

    #[test]
    fn sandbox_decline_numbers_are_valid_visa_numbers() {
        for n in [
            "4000000000000002",
            "4000000000009995",
            "4000000000000069",
            "4000000000000127",
        ] {
            assert_eq!(
                CardNumber::parse(n, &AcceptedBrands::default())
                    .unwrap()
                    .brand(),
                Brand::Visa
            );
        }
    }

    #[test]
    fn default_policy_refuses_other_brands_by_name() {
        let policy = AcceptedBrands::default();
        assert_eq!(
            CardNumber::parse("3566 0020 2036 0505", &policy),
            Err(CardNumberError::Unaccepted(Brand::Jcb))
        );
        assert_eq!(
            CardNumberError::Unaccepted(Brand::Diners).to_string(),
            "We don't accept Diners Club cards."
        );
        assert_eq!(
            CardNumber::parse("6200 0000 0000 0005", &policy)
                .unwrap_err()
                .to_string(),
            "We don't accept UnionPay cards."
        );
    }

    #[test]
    fn near_misses_get_the_right_message() {
        let p = accept_all();
        assert_eq!(CardNumber::parse("", &p), Err(CardNumberError::Required));
        assert_eq!(CardNumber::parse("   ", &p), Err(CardNumberError::Required));
        assert_eq!(
            CardNumber::parse("4242 4242 4242 424", &p),
            Err(CardNumberError::Incomplete)
        );
        // A Visa of 16 digits failing Luhn: complete for Visa, so "invalid" once the field
        // is left or the form submitted, though 18 or 19 digits could still make it valid
        // (so nothing shows while typing: see `typing_tells_incomplete_from_hopeless`).
        assert_eq!(
            CardNumber::parse("4242 4242 4242 4241", &p),
            Err(CardNumberError::Invalid)
        );
        assert_eq!(
            CardNumber::parse("4242 4242 4242 4241", &p)
                .unwrap_err()
                .to_string(),
            "Your card number is invalid."
        );
        // 17 digits is no Visa length: still incomplete.
        assert_eq!(
            CardNumber::parse("4242 4242 4242 4241 1", &p),
            Err(CardNumberError::Incomplete)
        );
        assert_eq!(
            CardNumber::parse("5555 5555 5555 4445", &p),
            Err(CardNumberError::Invalid)
        );
        assert_eq!(
            CardNumber::parse("3782 822463 10006", &p),
            Err(CardNumberError::Invalid)
        );
        assert_eq!(
            CardNumber::parse("1234 5678 9012 3456", &p),
            Err(CardNumberError::Invalid)
        );
        assert_eq!(
            CardNumber::parse("4242-4242-4242-424x", &p),
            Err(CardNumberError::Invalid)
        );
        assert_eq!(
            CardNumber::parse("4242 4242 4242 4242 4242", &p),
            Err(CardNumberError::Invalid)
        );
        assert_eq!(
            CardNumberError::Incomplete.to_string(),
            "Your card number is incomplete."
        );
    }

    #[test]
    fn brand_ranges_follow_the_spec_edges() {
        let cases = [
            ("51", Some(Brand::Mastercard)),
            ("55", Some(Brand::Mastercard)),
            ("56", None),
            ("2221", Some(Brand::Mastercard)),
            ("2720", Some(Brand::Mastercard)),
            ("2721", None),
            ("2220", None),
            ("34", Some(Brand::Amex)),
            ("37", Some(Brand::Amex)),
            ("6011", Some(Brand::Discover)),
            ("644", Some(Brand::Discover)),
            ("649", Some(Brand::Discover)),
            ("65", Some(Brand::Discover)),
            ("300", Some(Brand::Diners)),
            ("305", Some(Brand::Diners)),
            ("306", None),
            ("36", Some(Brand::Diners)),
            ("38", Some(Brand::Diners)),
            ("39", Some(Brand::Diners)),
            ("3528", Some(Brand::Jcb)),
            ("3589", Some(Brand::Jcb)),
            ("3590", None),
            ("62", Some(Brand::UnionPay)),
            ("4", Some(Brand::Visa)),
            ("3", None),
            // As soon as only one brand is still possible.
            ("2", Some(Brand::Mastercard)),
            ("23", Some(Brand::Mastercard)),
            ("270", Some(Brand::Mastercard)),
            ("5", Some(Brand::Mastercard)),
            ("35", Some(Brand::Jcb)),
            ("358", Some(Brand::Jcb)),
            ("30", Some(Brand::Diners)),
            ("6", None),
            ("1", None),
        ];
        for (prefix, brand) in cases {
            assert_eq!(detect_brand(prefix), brand, "{prefix}");
        }
    }

    #[test]
    fn typing_tells_incomplete_from_hopeless() {
        let p = AcceptedBrands::default();
        assert_eq!(typing_state("", &p).0, Typing::Empty);
        assert_eq!(typing_state("4", &p).0, Typing::Incomplete);
        assert_eq!(typing_state("3", &p).0, Typing::Incomplete);
        assert_eq!(
            typing_state("1", &p).0,
            Typing::Invalid(CardNumberError::Invalid)
        );
        assert_eq!(
            typing_state("3528", &p).0,
            Typing::Invalid(CardNumberError::Unaccepted(Brand::Jcb))
        );
        assert_eq!(
            typing_state("4242 4242 4242 4242", &p),
            (Typing::Complete, Some(Brand::Visa))
        );
        assert_eq!(
            typing_state("3782 822463 1000", &p),
            (Typing::Incomplete, Some(Brand::Amex))
        );
        // While typing, a 16-digit Visa failing Luhn may still become a valid 19-digit one.
        assert_eq!(
            typing_state("4242 4242 4242 4241", &p),
            (Typing::Incomplete, Some(Brand::Visa))
        );
    }

    #[test]
    fn grouping_follows_the_brand() {
        let amex_test_number = "378282246310005"; // American Express's published test number
        assert_eq!(
            format_for_typing("4242424242424242", 16).0,
            "4242 4242 4242 4242"
        );
        assert_eq!(
            format_for_typing(amex_test_number, 15).0,
            "3782 822463 10005"
        );
        assert_eq!(
            format_for_typing("36227206271667", 14).0,
            "3622 720627 1667"
        );
        assert_eq!(
            format_for_typing("6205500000000000004", 19).0,
            "6205 5000 0000 0000 004"
        );
        assert_eq!(format_for_typing("42a42", 5).0, "4242");
    }

    #[test]
    fn the_caret_stays_after_the_same_digit() {
        // Typed a "9" after the 4th digit of "4242 4242": caret was at 5 in "42429 4242".
        let (text, caret) = format_for_typing("42429 4242", 5);
        assert_eq!(text, "4242 9424 2");
        assert_eq!(&text[..caret], "4242 9");
        // Caret at the start stays at the start.
        assert_eq!(format_for_typing("4242", 0).1, 0);
    }

    #[test]
    fn sensitive_values_are_masked_in_debug() {
        let card = CardNumber::parse("4242424242424242", &accept_all()).unwrap();
        let shown = format!("{card:?}");
        assert_eq!(shown, "CardNumber(visa ••••4242)");
        let cvc = Cvc::parse("123", Some(Brand::Visa)).unwrap();
        assert!(!format!("{cvc:?}").contains("123"));
    }

    #[test]
    fn security_code_length_follows_the_brand() {
        assert!(Cvc::parse("1234", Some(Brand::Amex)).is_ok());
        assert_eq!(
            Cvc::parse("123", Some(Brand::Amex)),
            Err(CvcError::Incomplete)
        );
        assert!(Cvc::parse("123", Some(Brand::Visa)).is_ok());
        assert_eq!(
            Cvc::parse("1234", Some(Brand::Visa)),
            Err(CvcError::Invalid)
        );
        assert_eq!(Cvc::parse("12a", Some(Brand::Visa)), Err(CvcError::Invalid));
        assert_eq!(Cvc::parse("", None), Err(CvcError::Required));
        assert_eq!(
            CvcError::Incomplete.to_string(),
            "Your card's security code is incomplete."
        );
    }

    #[test]
    fn accepted_brands_parse_from_configuration() {
        let p = AcceptedBrands::parse_list("visa, amex").unwrap();
        assert!(p.accepts(Brand::Visa) && p.accepts(Brand::Amex) && !p.accepts(Brand::Discover));
        assert!(AcceptedBrands::parse_list("visa,bogus").is_err());
        assert!(AcceptedBrands::parse_list("").is_err());
    }
}
