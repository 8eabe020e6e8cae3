//! The languages Tally writes its billing documents in (invoices, credit notes and the
//! messages about them), and how each writes dates, numbers and money. The words themselves
//! live in Fluent files on the server; what is here is the part that is arithmetic and
//! shared with the browser (which shows the language a contact chose).

use std::fmt;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::money::{Currency, Money};

/// A language of billing documents.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Locale {
    #[default]
    En,
    De,
    Fr,
}

/// U+202F, the narrow no-break space French groups thousands with.
const NARROW_NBSP: char = '\u{202f}';
/// U+00A0, the no-break space between an amount and its currency.
const NBSP: char = '\u{a0}';

impl Locale {
    pub const ALL: [Locale; 3] = [Locale::En, Locale::De, Locale::Fr];

    /// The stored and posted code: `en`, `de`, `fr` (a BCP 47 language tag).
    pub const fn code(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::De => "de",
            Locale::Fr => "fr",
        }
    }

    /// The language by its code, in any case; `None` for one Tally does not write.
    pub fn from_code(code: &str) -> Option<Self> {
        let code = code.trim();
        Self::ALL
            .into_iter()
            .find(|l| l.code().eq_ignore_ascii_case(code))
    }

    /// The language's name in itself, as a list of languages shows it.
    pub const fn name(self) -> &'static str {
        match self {
            Locale::En => "English",
            Locale::De => "Deutsch",
            Locale::Fr => "Fran\u{e7}ais",
        }
    }

    /// `1,234` · `1.234` · `1 234` (narrow no-break space).
    pub fn number(self, n: i64) -> String {
        let digits = n.unsigned_abs().to_string();
        let sign = if n < 0 { "-" } else { "" };
        format!("{sign}{}", self.grouped(&digits))
    }

    /// `2.5` · `2,5`: a decimal with `places` places.
    pub fn decimal(self, x: f64, places: usize) -> String {
        let s = format!("{x:.places$}");
        match self {
            Locale::En => s,
            Locale::De | Locale::Fr => s.replace('.', ","),
        }
    }

    fn grouped(self, digits: &str) -> String {
        let separator = match self {
            Locale::En => ',',
            Locale::De => '.',
            Locale::Fr => NARROW_NBSP,
        };
        let mut out = String::with_capacity(digits.len() + digits.len() / 3 * 3);
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(separator);
            }
            out.push(c);
        }
        out
    }

    /// An amount as the language writes it: `€1,234.56` · `1.234,56 €` · `1 234,56 €`; the
    /// yen without decimals. English keeps [`Money`]'s own form.
    pub fn money(self, amount: Money) -> String {
        if self == Locale::En {
            return amount.to_string();
        }
        let currency = amount.currency();
        let (whole, frac) = amount.parts();
        let sign = if amount.minor() < 0 { "-" } else { "" };
        let mut number = self.grouped(&whole.to_string());
        let places = currency.minor_units() as usize;
        if places > 0 {
            number.push(',');
            number.push_str(&format!("{frac:0places$}"));
        }
        format!("{sign}{number}{NBSP}{}", self.symbol(currency))
    }

    /// The currency's sign after an amount, as the language's readers know it.
    fn symbol(self, currency: Currency) -> &'static str {
        match (self, currency) {
            (_, Currency::Eur) => "\u{20ac}",
            (_, Currency::Chf) => "CHF",
            (Locale::Fr, Currency::Usd) => "$US",
            (_, Currency::Usd) => "$",
            (Locale::Fr, Currency::Gbp) => "\u{a3}GB",
            (_, Currency::Gbp) => "\u{a3}",
            (Locale::Fr, Currency::Jpy) => "JPY",
            (_, Currency::Jpy) => "\u{a5}",
        }
    }

    /// The name of a month (1–12): `November` · `November` · `novembre`.
    pub fn month_name(self, month: u32) -> &'static str {
        const EN: [&str; 12] = [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ];
        const DE: [&str; 12] = [
            "Januar",
            "Februar",
            "M\u{e4}rz",
            "April",
            "Mai",
            "Juni",
            "Juli",
            "August",
            "September",
            "Oktober",
            "November",
            "Dezember",
        ];
        const FR: [&str; 12] = [
            "janvier",
            "f\u{e9}vrier",
            "mars",
            "avril",
            "mai",
            "juin",
            "juillet",
            "ao\u{fb}t",
            "septembre",
            "octobre",
            "novembre",
            "d\u{e9}cembre",
        ];
        let names = match self {
            Locale::En => &EN,
            Locale::De => &DE,
            Locale::Fr => &FR,
        };
        names[(month.clamp(1, 12) - 1) as usize]
    }

    /// `November 2026` · `November 2026` · `novembre 2026`.
    pub fn month_year(self, year: i32, month: u32) -> String {
        format!("{} {year}", self.month_name(month))
    }

    /// `December 14` · `14. Dezember` · `14 décembre` (`1er décembre` on the first).
    pub fn day_month(self, day: NaiveDate) -> String {
        let month = self.month_name(day.month());
        match self {
            Locale::En => format!("{month} {}", day.day()),
            Locale::De => format!("{}. {month}", day.day()),
            Locale::Fr => format!("{} {month}", french_day(day.day())),
        }
    }

    /// `December 14, 2026` · `14. Dezember 2026` · `14 décembre 2026`.
    pub fn date(self, day: NaiveDate) -> String {
        match self {
            Locale::En => format!("{}, {}", self.day_month(day), day.year()),
            Locale::De | Locale::Fr => format!("{} {}", self.day_month(day), day.year()),
        }
    }

    /// A month's days: `1–30 November 2026` · `1.–30. November 2026` · `1er–30 novembre 2026`.
    pub fn period(self, first: NaiveDate, last: NaiveDate) -> String {
        let month = self.month_year(last.year(), last.month());
        match self {
            Locale::En => format!("{}\u{2013}{} {month}", first.day(), last.day()),
            Locale::De => format!("{}.\u{2013}{}. {month}", first.day(), last.day()),
            Locale::Fr => format!("{}\u{2013}{} {month}", french_day(first.day()), last.day()),
        }
    }
}

/// French writes the first of the month as an ordinal: `1er`.
fn french_day(day: u32) -> String {
    if day == 1 {
        "1er".into()
    } else {
        day.to_string()
    }
}

impl fmt::Display for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn money_reads_as_each_language_writes_it() {
        let eur = Money::new(123_456, Currency::Eur);
        assert_eq!(Locale::En.money(eur), "\u{20ac}1,234.56");
        assert_eq!(Locale::De.money(eur), "1.234,56\u{a0}\u{20ac}");
        assert_eq!(Locale::Fr.money(eur), "1\u{202f}234,56\u{a0}\u{20ac}");
        assert_eq!(
            Locale::De.money(Money::new(-500, Currency::Usd)),
            "-5,00\u{a0}$"
        );
        assert_eq!(
            Locale::Fr.money(Money::new(1_234_567, Currency::Jpy)),
            "1\u{202f}234\u{202f}567\u{a0}JPY"
        );
        assert_eq!(
            Locale::De.money(Money::new(7, Currency::Chf)),
            "0,07\u{a0}CHF"
        );
        assert_eq!(
            Locale::Fr.money(Money::new(100_000, Currency::Gbp)),
            "1\u{202f}000,00\u{a0}\u{a3}GB"
        );
        assert_eq!(Locale::De.number(1_234_567), "1.234.567");
        assert_eq!(Locale::En.number(-1_000), "-1,000");
        assert_eq!(Locale::Fr.decimal(2.0, 1), "2,0");
    }

    #[test]
    fn dates_read_as_each_language_writes_them() {
        let d = day(2026, 12, 14);
        assert_eq!(Locale::En.date(d), "December 14, 2026");
        assert_eq!(Locale::De.date(d), "14. Dezember 2026");
        assert_eq!(Locale::Fr.date(d), "14 d\u{e9}cembre 2026");
        assert_eq!(Locale::Fr.date(day(2027, 3, 1)), "1er mars 2027");
        assert_eq!(Locale::De.day_month(day(2027, 3, 1)), "1. M\u{e4}rz");
        assert_eq!(
            Locale::De.period(day(2026, 11, 1), day(2026, 11, 30)),
            "1.\u{2013}30. November 2026"
        );
        assert_eq!(
            Locale::En.period(day(2026, 2, 1), day(2026, 2, 28)),
            "1\u{2013}28 February 2026"
        );
        assert_eq!(Locale::from_code(" DE "), Some(Locale::De));
        assert_eq!(Locale::from_code("es"), None);
    }

    proptest! {
        /// Whatever the language, an amount's digits are the amount's: taking out the
        /// grouping and the sign and reading the decimal comma gives [`Money`]'s own digits.
        #[test]
        fn every_language_writes_the_same_amount(minor in -10_000_000_000i64..10_000_000_000, c in 0usize..5) {
            let currency = Currency::ALL[c];
            let amount = Money::new(minor, currency);
            let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
            let english = digits(&Locale::En.money(amount));
            for locale in [Locale::De, Locale::Fr] {
                let written = locale.money(amount);
                prop_assert_eq!(digits(&written), english.clone());
                prop_assert_eq!(written.starts_with('-'), minor < 0);
                prop_assert_eq!(written.contains(','), currency.minor_units() > 0);
            }
        }
    }
}
