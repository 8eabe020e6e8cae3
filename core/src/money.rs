//! Money in integer minor units of its currency (cents, pence, rappen — yen have none). No
//! floating point anywhere near it, and no sum of two currencies: every amount carries its
//! currency, and adding or comparing amounts in different ones gives `None`.

use std::{cmp::Ordering, fmt};

use serde::{Deserialize, Serialize};

/// The currencies a plan can bill in (ISO 4217).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub enum Currency {
    #[default]
    Usd,
    Eur,
    Gbp,
    Chf,
    Jpy,
}

impl Currency {
    pub const ALL: [Currency; 5] = [
        Currency::Usd,
        Currency::Eur,
        Currency::Gbp,
        Currency::Chf,
        Currency::Jpy,
    ];

    /// The ISO 4217 code, `"EUR"`.
    pub const fn code(self) -> &'static str {
        match self {
            Currency::Usd => "USD",
            Currency::Eur => "EUR",
            Currency::Gbp => "GBP",
            Currency::Chf => "CHF",
            Currency::Jpy => "JPY",
        }
    }

    /// The currency of a stored code (exactly its ISO 4217 code).
    pub fn from_code(code: &str) -> Option<Currency> {
        Currency::ALL.into_iter().find(|c| c.code() == code)
    }

    /// The currency of an ISO 4217 code, in any case.
    pub fn parse(code: &str) -> Option<Currency> {
        let code = code.trim();
        Currency::ALL
            .into_iter()
            .find(|c| c.code().eq_ignore_ascii_case(code))
    }

    /// Its name in English, for a choice: "Euro".
    pub const fn name(self) -> &'static str {
        match self {
            Currency::Usd => "US dollar",
            Currency::Eur => "Euro",
            Currency::Gbp => "Pound sterling",
            Currency::Chf => "Swiss franc",
            Currency::Jpy => "Japanese yen",
        }
    }

    /// ISO 4217's minor unit: digits after the decimal point (the yen has none).
    pub const fn minor_units(self) -> u32 {
        match self {
            Currency::Jpy => 0,
            _ => 2,
        }
    }

    /// Minor units in one major unit: 100, or 1 for the yen.
    pub const fn scale(self) -> i64 {
        10i64.pow(self.minor_units())
    }

    /// What comes before an amount: `$`, `€`, `£`, `¥`, or the code and a space (`CHF `).
    const fn prefix(self) -> &'static str {
        match self {
            Currency::Usd => "$",
            Currency::Eur => "\u{20ac}",
            Currency::Gbp => "\u{a3}",
            Currency::Chf => "CHF\u{a0}",
            Currency::Jpy => "\u{a5}",
        }
    }

    /// The highest price per user a plan may have: a million minor units (10,000.00, or
    /// ¥1,000,000).
    pub const fn max_price_per_user(self) -> Money {
        Money::new(1_000_000, self)
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// An amount in minor units of its currency. Arithmetic is checked: an overflow, or two
/// currencies, is `None`, never a wrap or a meaningless sum. It has no default: every amount
/// says its currency.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    minor: i64,
    currency: Currency,
}

/// Amounts compare only within one currency: a euro amount is neither more nor less than a
/// dollar one.
impl PartialOrd for Money {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        (self.currency == other.currency).then(|| self.minor.cmp(&other.minor))
    }
}

impl Money {
    pub const fn new(minor: i64, currency: Currency) -> Self {
        Self { minor, currency }
    }

    /// Nothing, in `currency`.
    pub const fn zero(currency: Currency) -> Self {
        Self::new(0, currency)
    }

    /// US cents: the amounts of tests and of the dollar-only world before currencies.
    pub const fn usd(cents: i64) -> Self {
        Self::new(cents, Currency::Usd)
    }

    /// The amount in minor units (cents; yen for the yen).
    pub const fn minor(self) -> i64 {
        self.minor
    }

    pub const fn currency(self) -> Currency {
        self.currency
    }

    /// Another amount in this one's currency: `minor` minor units of it.
    pub const fn with_minor(self, minor: i64) -> Self {
        Self::new(minor, self.currency)
    }

    pub const fn is_zero(self) -> bool {
        self.minor == 0
    }

    pub const fn is_positive(self) -> bool {
        self.minor > 0
    }

    pub fn checked_add(self, other: Money) -> Option<Money> {
        if self.currency != other.currency {
            return None;
        }
        self.minor
            .checked_add(other.minor)
            .map(|m| self.with_minor(m))
    }

    pub fn checked_sub(self, other: Money) -> Option<Money> {
        if self.currency != other.currency {
            return None;
        }
        self.minor
            .checked_sub(other.minor)
            .map(|m| self.with_minor(m))
    }

    /// This amount times a count (e.g. price per user × billable users).
    pub fn checked_mul(self, count: u64) -> Option<Money> {
        i64::try_from(count)
            .ok()
            .and_then(|n| self.minor.checked_mul(n))
            .map(|m| self.with_minor(m))
    }

    /// Sum of amounts in `currency`; `None` on overflow or an amount in another currency.
    pub fn checked_sum(
        currency: Currency,
        amounts: impl IntoIterator<Item = Money>,
    ) -> Option<Money> {
        amounts
            .into_iter()
            .try_fold(Money::zero(currency), Money::checked_add)
    }

    /// The larger of two amounts in one currency (`None` across currencies).
    pub fn max(self, other: Money) -> Option<Money> {
        Some(if self.partial_cmp(&other)? == Ordering::Less {
            other
        } else {
            self
        })
    }

    /// The amount as machines exchange it: a plain decimal with the currency's minor digits,
    /// `"1234.56"`, `"-1.00"`, `"1235"` (the REST API, webhooks, e-invoices).
    pub fn decimal(self) -> String {
        let sign = if self.minor < 0 { "-" } else { "" };
        let (whole, frac) = self.parts();
        match self.currency.minor_units() {
            0 => format!("{sign}{whole}"),
            d => format!("{sign}{whole}.{frac:0width$}", width = d as usize),
        }
    }

    /// Major and minor parts of the absolute amount.
    pub(crate) fn parts(self) -> (u64, u64) {
        let abs = self.minor.unsigned_abs();
        let scale = self.currency.scale() as u64;
        (abs / scale, abs % scale)
    }

    /// An amount typed in `currency`, or what is wrong with it, with `example` as the shape
    /// to follow: "Enter an amount such as 12.50: digits, with at most 2 decimals.", or for
    /// the yen "Enter a whole amount such as 500: Japanese yen has no decimals."
    pub fn parse_typed(input: &str, currency: Currency, example: &str) -> Result<Money, String> {
        Money::parse(input, currency).ok_or_else(|| match currency.minor_units() {
            0 => format!(
                "Enter a whole amount such as {example}: {} has no decimals.",
                currency.name()
            ),
            digits => {
                format!(
                    "Enter an amount such as {example}: digits, with at most {digits} decimals."
                )
            }
        })
    }

    /// Parses an amount typed in `currency`, such as `12`, `12.5`, `1,234.56`, `€12` or
    /// `CHF 12.50` (no sign, at most the currency's minor digits: none for the yen).
    pub fn parse(input: &str, currency: Currency) -> Option<Money> {
        let s = input.trim();
        let s = s
            .strip_prefix(currency.prefix().trim_end_matches('\u{a0}'))
            .or_else(|| s.strip_prefix(currency.code()))
            .unwrap_or(s);
        let s: String = s.trim().replace(',', "");
        let (whole, frac) = s.split_once('.').unwrap_or((&s, ""));
        let digits = currency.minor_units() as usize;
        if whole.is_empty() && frac.is_empty()
            || !whole.chars().all(|c| c.is_ascii_digit())
            || !frac.chars().all(|c| c.is_ascii_digit())
            || frac.len() > digits
            || (digits == 0 && s.contains('.'))
        {
            return None;
        }
        let whole: i64 = if whole.is_empty() {
            0
        } else {
            whole.parse().ok()?
        };
        let frac: i64 = if frac.is_empty() {
            0
        } else {
            frac.parse::<i64>().ok()? * 10i64.pow((digits - frac.len()) as u32)
        };
        whole
            .checked_mul(currency.scale())?
            .checked_add(frac)
            .map(|m| Money::new(m, currency))
    }
}

impl fmt::Display for Money {
    /// `$1,234.56`, `€1,234.56`, `£1,234.56`, `CHF 1,234.56`, `¥1,235`; negative amounts as
    /// `-$1.00`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.minor < 0 { "-" } else { "" };
        let (whole, frac) = self.parts();
        let whole = whole.to_string();
        let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
        for (i, c) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(c);
        }
        write!(f, "{sign}{}{grouped}", self.currency.prefix())?;
        match self.currency.minor_units() {
            0 => Ok(()),
            d => write!(f, ".{frac:0width$}", width = d as usize),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn display_groups_thousands_and_keeps_the_currencys_decimals() {
        assert_eq!(Money::usd(0).to_string(), "$0.00");
        assert_eq!(Money::usd(5).to_string(), "$0.05");
        assert_eq!(Money::usd(123_456).to_string(), "$1,234.56");
        assert_eq!(Money::usd(100_000_000).to_string(), "$1,000,000.00");
        assert_eq!(Money::usd(-100).to_string(), "-$1.00");
        assert_eq!(
            Money::usd(i64::MIN).to_string(),
            "-$92,233,720,368,547,758.08"
        );
        assert_eq!(
            Money::new(123_456, Currency::Eur).to_string(),
            "\u{20ac}1,234.56"
        );
        assert_eq!(
            Money::new(123_456, Currency::Gbp).to_string(),
            "\u{a3}1,234.56"
        );
        assert_eq!(
            Money::new(123_456, Currency::Chf).to_string(),
            "CHF\u{a0}1,234.56"
        );
        assert_eq!(
            Money::new(123_456, Currency::Jpy).to_string(),
            "\u{a5}123,456"
        );
        assert_eq!(Money::new(-5, Currency::Jpy).to_string(), "-\u{a5}5");
    }

    #[test]
    fn decimal_is_plain_with_the_currencys_places() {
        assert_eq!(Money::usd(123_456).decimal(), "1234.56");
        assert_eq!(Money::usd(5).decimal(), "0.05");
        assert_eq!(Money::usd(-100).decimal(), "-1.00");
        assert_eq!(Money::usd(i64::MIN).decimal(), "-92233720368547758.08");
        assert_eq!(Money::new(123_456, Currency::Jpy).decimal(), "123456");
        assert_eq!(Money::new(7, Currency::Chf).decimal(), "0.07");
    }

    #[test]
    fn iso_4217_codes_and_minor_units() {
        let units: Vec<(&str, u32)> = Currency::ALL
            .iter()
            .map(|c| (c.code(), c.minor_units()))
            .collect();
        assert_eq!(
            units,
            [("USD", 2), ("EUR", 2), ("GBP", 2), ("CHF", 2), ("JPY", 0)]
        );
        for c in Currency::ALL {
            assert_eq!(Currency::parse(&c.code().to_lowercase()), Some(c));
        }
        assert_eq!(Currency::parse("XXX"), None);
    }

    #[test]
    fn two_currencies_are_never_added_or_compared() {
        let eur = Money::new(100, Currency::Eur);
        let usd = Money::usd(100);
        assert_eq!(eur.checked_add(usd), None);
        assert_eq!(eur.checked_sub(usd), None);
        assert_eq!(eur.partial_cmp(&usd), None);
        assert_ne!(eur, usd);
        assert_eq!(Money::checked_sum(Currency::Eur, [eur, usd]), None);
        assert_eq!(
            Money::checked_sum(Currency::Eur, [eur, eur]),
            Some(eur.with_minor(200))
        );
        assert_eq!(eur.max(usd), None);
    }

    #[test]
    fn overflow_is_none_not_a_wrap() {
        assert_eq!(Money::usd(i64::MAX).checked_add(Money::usd(1)), None);
        assert_eq!(Money::usd(i64::MAX).checked_mul(2), None);
        assert_eq!(Money::usd(1).checked_mul(u64::MAX), None);
    }

    #[test]
    fn typed_amounts_parse_to_minor_units() {
        let usd = |s| Money::parse(s, Currency::Usd);
        assert_eq!(usd("12"), Some(Money::usd(1200)));
        assert_eq!(usd("$1,234.5"), Some(Money::usd(123_450)));
        assert_eq!(usd("0.07"), Some(Money::usd(7)));
        assert_eq!(usd("1.234"), None);
        assert_eq!(usd("-1"), None);
        assert_eq!(usd(""), None);
        assert_eq!(
            Money::parse("CHF 12.50", Currency::Chf),
            Some(Money::new(1250, Currency::Chf))
        );
        assert_eq!(
            Money::parse("\u{20ac}3", Currency::Eur),
            Some(Money::new(300, Currency::Eur))
        );
        assert_eq!(
            Money::parse("1,500", Currency::Jpy),
            Some(Money::new(1500, Currency::Jpy))
        );
        assert_eq!(Money::parse("15.5", Currency::Jpy), None);
        assert_eq!(Money::parse("15.", Currency::Jpy), None);
    }

    #[test]
    fn a_typed_amount_that_does_not_parse_says_what_the_currency_takes() {
        assert_eq!(
            Money::parse_typed("12.345", Currency::Eur, "12.50"),
            Err("Enter an amount such as 12.50: digits, with at most 2 decimals.".into())
        );
        assert_eq!(
            Money::parse_typed("12.5", Currency::Jpy, "500"),
            Err("Enter a whole amount such as 500: Japanese yen has no decimals.".into())
        );
        assert_eq!(
            Money::parse_typed("12.5", Currency::Gbp, "12.50"),
            Ok(Money::new(1250, Currency::Gbp))
        );
    }

    fn any_currency() -> impl Strategy<Value = Currency> {
        proptest::sample::select(Currency::ALL.to_vec())
    }

    proptest! {
        #[test]
        fn a_decimal_parses_back_to_its_amount(minor in 0i64..1_000_000_000_000, c in any_currency()) {
            let m = Money::new(minor, c);
            prop_assert_eq!(Money::parse(&m.decimal(), c), Some(m));
        }

        #[test]
        fn sums_add_up(amounts in proptest::collection::vec(0i64..1_000_000_000, 0..50), c in any_currency()) {
            let total = Money::checked_sum(c, amounts.iter().map(|&a| Money::new(a, c))).unwrap();
            prop_assert_eq!(total, Money::new(amounts.iter().sum::<i64>(), c));
        }

        #[test]
        fn multiplication_is_repeated_addition(minor in 0i64..100_000, n in 0u64..200, c in any_currency()) {
            let by_mul = Money::new(minor, c).checked_mul(n).unwrap();
            let by_sum = Money::checked_sum(c, (0..n).map(|_| Money::new(minor, c))).unwrap();
            prop_assert_eq!(by_mul, by_sum);
        }

        #[test]
        fn display_then_parse_round_trips(minor in 0i64..10_000_000_000_000, c in any_currency()) {
            let m = Money::new(minor, c);
            prop_assert_eq!(Money::parse(&m.to_string().replace('\u{a0}', " "), c), Some(m));
        }

        #[test]
        fn amounts_in_different_currencies_never_mix(a in 0i64..1_000_000, b in 0i64..1_000_000, x in any_currency(), y in any_currency()) {
            prop_assume!(x != y);
            prop_assert_eq!(Money::new(a, x).checked_add(Money::new(b, y)), None);
            prop_assert_eq!(Money::new(a, x).partial_cmp(&Money::new(b, y)), None);
        }
    }
}
