//! Card expiration dates: `MM/YY`, `MM/YYYY` or `MMYY`, checked against a `today` the caller
//! passes (core never reads a clock).

use std::fmt;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::{billing::last_day_of_month, typing::Typing};

/// How far ahead an expiry may be: cards are not issued for longer.
pub const MAX_YEARS_AHEAD: i32 = 19;

/// A card's expiry month; the card is valid through that month's last day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Expiry {
    year: i32,
    month: u32,
}

/// Why an expiry is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExpiryError {
    Required,
    Incomplete,
    InvalidMonth,
    InvalidYear,
    Past,
    Invalid,
}

impl fmt::Display for ExpiryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Required => "Enter your card's expiration date.",
            Self::Incomplete => "Your card's expiration date is incomplete.",
            Self::InvalidMonth => "Your card's expiration month is invalid.",
            Self::InvalidYear => "Your card's expiration year is invalid.",
            Self::Past => "Your card's expiration date is in the past.",
            Self::Invalid => "Enter the expiration date as MM/YY.",
        })
    }
}

impl Expiry {
    /// Builds an expiry from stored parts; `None` if the month is not 1–12.
    pub fn from_parts(year: i32, month: u32) -> Option<Self> {
        (1..=12).contains(&month).then_some(Self { year, month })
    }

    /// Parses what a person typed, refusing months before `today`'s and years more than
    /// [`MAX_YEARS_AHEAD`] ahead.
    pub fn parse(input: &str, today: NaiveDate) -> Result<Self, ExpiryError> {
        match typing_state(input, today) {
            (Typing::Complete, Some(e)) => Ok(e),
            (Typing::Empty, _) => Err(ExpiryError::Required),
            (Typing::Invalid(e), _) => Err(e),
            _ => Err(ExpiryError::Incomplete),
        }
    }

    pub fn year(self) -> i32 {
        self.year
    }

    pub fn month(self) -> u32 {
        self.month
    }

    /// The last day the card can be charged.
    pub fn last_valid_day(self) -> NaiveDate {
        last_day_of_month(self.year, self.month)
    }

    /// Whether a charge on `charge_date` would find the card expired (a warning, not an error).
    pub fn expires_before(self, charge_date: NaiveDate) -> bool {
        self.last_valid_day() < charge_date
    }
}

impl fmt::Display for Expiry {
    /// `MM/YY`, as printed on cards.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&label(self.month, self.year))
    }
}

/// `MM/YY`, as printed on cards, for a stored month and year.
pub fn label(month: u32, year: i32) -> String {
    format!("{month:02}/{:02}", year.rem_euclid(100))
}

/// Where a typed expiry stands, and the expiry once complete.
pub fn typing_state(input: &str, today: NaiveDate) -> (Typing<ExpiryError>, Option<Expiry>) {
    let s: String = input.chars().filter(|c| !c.is_whitespace()).collect();
    if s.is_empty() {
        return (Typing::Empty, None);
    }
    let (month_part, year_part) = match s.split_once(['/', '-']) {
        Some((m, y)) => (m.to_string(), Some(y.to_string())),
        None => {
            if !s.chars().all(|c| c.is_ascii_digit()) {
                return (Typing::Invalid(ExpiryError::Invalid), None);
            }
            if s.len() <= 2 {
                (s.clone(), None)
            } else {
                (s[..2].to_string(), Some(s[2..].to_string()))
            }
        }
    };
    let digits = |p: &str| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit());
    if !digits(&month_part) || month_part.len() > 2 {
        return (Typing::Invalid(ExpiryError::Invalid), None);
    }
    let month: u32 = month_part.parse().unwrap_or(0);
    // "0" may still become "01"–"09"; "1" may become "10"–"12"; anything else is decided.
    if month_part.len() == 2 && !(1..=12).contains(&month)
        || month_part.len() == 1 && year_part.is_some() && month == 0
    {
        return (Typing::Invalid(ExpiryError::InvalidMonth), None);
    }
    let Some(year_part) = year_part else {
        return (Typing::Incomplete, None);
    };
    if year_part.is_empty() {
        return (Typing::Incomplete, None);
    }
    if !digits(&year_part) || year_part.len() > 4 {
        return (Typing::Invalid(ExpiryError::Invalid), None);
    }
    let current = (today.year(), today.month());
    let latest_year = today.year() + MAX_YEARS_AHEAD;
    let year = match year_part.len() {
        1 | 3 => return (Typing::Incomplete, None),
        2 => 2000 + year_part.parse::<i32>().unwrap_or(0),
        _ => year_part.parse::<i32>().unwrap_or(0),
    };
    if year > latest_year {
        return (Typing::Invalid(ExpiryError::InvalidYear), None);
    }
    if (year, month) < current {
        return (Typing::Invalid(ExpiryError::Past), None);
    }
    (Typing::Complete, Some(Expiry { year, month }))
}

/// Inserts the slash after a two-digit month as people type (`12` → `12/`), keeping what
/// they typed otherwise.
pub fn format_for_typing(input: &str) -> String {
    let digits: String = input.chars().filter(char::is_ascii_digit).take(6).collect();
    let has_slash = input.contains('/');
    match digits.len() {
        0 => String::new(),
        1 if !has_slash => digits,
        1 => format!("0{digits}/"),
        2 => format!("{digits}/"),
        _ => format!("{}/{}", &digits[..2], &digits[2..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 26).unwrap()
    }

    #[test]
    fn the_three_formats_parse() {
        let want = Expiry::from_parts(2028, 3).unwrap();
        for s in ["03/28", "03/2028", "0328", " 03 / 28 ", "3/28"] {
            assert_eq!(Expiry::parse(s, today()), Ok(want), "{s}");
        }
    }

    #[test]
    fn this_month_is_fine_last_month_is_past() {
        assert!(Expiry::parse("11/26", today()).is_ok());
        assert_eq!(Expiry::parse("10/26", today()), Err(ExpiryError::Past));
        assert_eq!(
            ExpiryError::Past.to_string(),
            "Your card's expiration date is in the past."
        );
    }

    #[test]
    fn at_most_nineteen_years_ahead() {
        assert!(Expiry::parse("12/2045", today()).is_ok());
        assert_eq!(
            Expiry::parse("01/2046", today()),
            Err(ExpiryError::InvalidYear)
        );
    }

    #[test]
    fn bad_months_and_partial_input() {
        assert_eq!(
            Expiry::parse("13/28", today()),
            Err(ExpiryError::InvalidMonth)
        );
        assert_eq!(
            Expiry::parse("00/28", today()),
            Err(ExpiryError::InvalidMonth)
        );
        assert_eq!(Expiry::parse("1", today()), Err(ExpiryError::Incomplete));
        assert_eq!(Expiry::parse("12/", today()), Err(ExpiryError::Incomplete));
        assert_eq!(Expiry::parse("12/2", today()), Err(ExpiryError::Incomplete));
        assert_eq!(Expiry::parse("ab/cd", today()), Err(ExpiryError::Invalid));
        assert_eq!(Expiry::parse("", today()), Err(ExpiryError::Required));
    }

    #[test]
    fn typing_flags_only_what_cannot_become_valid() {
        assert_eq!(typing_state("1", today()).0, Typing::Incomplete);
        assert_eq!(typing_state("0", today()).0, Typing::Incomplete);
        assert_eq!(
            typing_state("13", today()).0,
            Typing::Invalid(ExpiryError::InvalidMonth)
        );
        assert_eq!(typing_state("12/2", today()).0, Typing::Incomplete);
        assert_eq!(
            typing_state("12/25", today()).0,
            Typing::Invalid(ExpiryError::Past)
        );
    }

    #[test]
    fn a_card_expiring_before_the_charge_date_is_flagged() {
        let e = Expiry::from_parts(2026, 11).unwrap();
        assert_eq!(
            e.last_valid_day(),
            NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()
        );
        assert!(e.expires_before(NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()));
        assert!(!e.expires_before(NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()));
        assert_eq!(e.to_string(), "11/26");
    }

    #[test]
    fn the_slash_is_inserted_while_typing() {
        assert_eq!(format_for_typing("1"), "1");
        assert_eq!(format_for_typing("12"), "12/");
        assert_eq!(format_for_typing("1228"), "12/28");
        assert_eq!(format_for_typing("12/2028"), "12/2028");
    }
}
