//! Money in integer minor units (cents). No floating point anywhere near it.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An amount in US cents. Arithmetic is checked: an overflow is `None`, never a wrap.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Money(i64);

impl Money {
    pub const ZERO: Money = Money(0);

    pub const fn from_cents(cents: i64) -> Self {
        Self(cents)
    }

    pub const fn cents(self) -> i64 {
        self.0
    }

    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }

    pub fn checked_sub(self, other: Money) -> Option<Money> {
        self.0.checked_sub(other.0).map(Money)
    }

    /// This amount times a count (e.g. price per user × billable users).
    pub fn checked_mul(self, count: u64) -> Option<Money> {
        i64::try_from(count)
            .ok()
            .and_then(|n| self.0.checked_mul(n))
            .map(Money)
    }

    /// Sum of amounts; `None` on overflow.
    pub fn checked_sum(amounts: impl IntoIterator<Item = Money>) -> Option<Money> {
        amounts
            .into_iter()
            .try_fold(Money::ZERO, Money::checked_add)
    }

    /// The amount as machines exchange it: a plain decimal, `"1234.56"`, `"-1.00"` (the REST
    /// API and webhooks).
    pub fn decimal(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        format!("{sign}{}.{:02}", abs / 100, abs % 100)
    }

    /// Parses a decimal amount such as `12`, `12.5` or `1,234.56` (no sign, at most 2
    /// decimals), e.g. a price typed by an operator.
    pub fn parse_dollars(input: &str) -> Option<Money> {
        let s: String = input.trim().trim_start_matches('$').replace(',', "");
        let (whole, frac) = s.split_once('.').unwrap_or((&s, ""));
        if whole.is_empty() && frac.is_empty()
            || !whole.chars().all(|c| c.is_ascii_digit())
            || !frac.chars().all(|c| c.is_ascii_digit())
            || frac.len() > 2
        {
            return None;
        }
        let whole: i64 = if whole.is_empty() {
            0
        } else {
            whole.parse().ok()?
        };
        let frac: i64 = match frac.len() {
            0 => 0,
            1 => frac.parse::<i64>().ok()? * 10,
            _ => frac.parse().ok()?,
        };
        whole.checked_mul(100)?.checked_add(frac).map(Money)
    }
}

impl fmt::Display for Money {
    /// `$1,234.56`; negative amounts as `-$1.00`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let dollars = (abs / 100).to_string();
        let mut grouped = String::with_capacity(dollars.len() + dollars.len() / 3);
        for (i, c) in dollars.chars().enumerate() {
            if i > 0 && (dollars.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(c);
        }
        write!(f, "{sign}${grouped}.{:02}", abs % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn display_groups_thousands_and_keeps_two_decimals() {
        assert_eq!(Money::from_cents(0).to_string(), "$0.00");
        assert_eq!(Money::from_cents(5).to_string(), "$0.05");
        assert_eq!(Money::from_cents(123_456).to_string(), "$1,234.56");
        assert_eq!(Money::from_cents(100_000_000).to_string(), "$1,000,000.00");
        assert_eq!(Money::from_cents(-100).to_string(), "-$1.00");
        assert_eq!(
            Money::from_cents(i64::MIN).to_string(),
            "-$92,233,720,368,547,758.08"
        );
    }

    #[test]
    fn decimal_is_plain_with_two_places() {
        assert_eq!(Money::from_cents(123_456).decimal(), "1234.56");
        assert_eq!(Money::from_cents(5).decimal(), "0.05");
        assert_eq!(Money::from_cents(-100).decimal(), "-1.00");
        assert_eq!(
            Money::from_cents(i64::MIN).decimal(),
            "-92233720368547758.08"
        );
    }

    #[test]
    fn overflow_is_none_not_a_wrap() {
        assert_eq!(
            Money::from_cents(i64::MAX).checked_add(Money::from_cents(1)),
            None
        );
        assert_eq!(Money::from_cents(i64::MAX).checked_mul(2), None);
        assert_eq!(Money::from_cents(1).checked_mul(u64::MAX), None);
    }

    #[test]
    fn dollars_parse_to_cents() {
        assert_eq!(Money::parse_dollars("12"), Some(Money::from_cents(1200)));
        assert_eq!(
            Money::parse_dollars("$1,234.5"),
            Some(Money::from_cents(123_450))
        );
        assert_eq!(Money::parse_dollars("0.07"), Some(Money::from_cents(7)));
        assert_eq!(Money::parse_dollars("1.234"), None);
        assert_eq!(Money::parse_dollars("-1"), None);
        assert_eq!(Money::parse_dollars(""), None);
    }

    proptest! {
        #[test]
        fn a_decimal_parses_back_to_its_amount(cents in 0i64..1_000_000_000_000) {
            prop_assert_eq!(Money::parse_dollars(&Money::from_cents(cents).decimal()), Some(Money::from_cents(cents)));
        }

        #[test]
        fn sums_add_up(amounts in proptest::collection::vec(0i64..1_000_000_000, 0..50)) {
            let total = Money::checked_sum(amounts.iter().copied().map(Money::from_cents)).unwrap();
            prop_assert_eq!(total.cents(), amounts.iter().sum::<i64>());
        }

        #[test]
        fn multiplication_is_repeated_addition(cents in 0i64..100_000, n in 0u64..200) {
            let by_mul = Money::from_cents(cents).checked_mul(n).unwrap();
            let by_sum = Money::checked_sum((0..n).map(|_| Money::from_cents(cents))).unwrap();
            prop_assert_eq!(by_mul, by_sum);
        }

        #[test]
        fn display_then_parse_round_trips(cents in 0i64..10_000_000_000_000) {
            let m = Money::from_cents(cents);
            prop_assert_eq!(Money::parse_dollars(&m.to_string()), Some(m));
        }
    }
}
