//! A billing administrator's download of their documents: the invoices and credit notes made
//! between two dates, as a ZIP of their PDFs and one CSV. The range as typed, checked here for
//! the browser and the server alike.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::forms::FieldErrors;

/// The longest range one download covers: ten years of monthly invoices.
pub const MAX_EXPORT_DAYS: i64 = 3_660;

/// The form as typed: two dates, `YYYY-MM-DD` (a date field's value).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ExportRangeInput {
    pub from: String,
    pub to: String,
}

/// Checked: documents made on `from` through `to`, both days included.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportRange {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

fn date(input: &str, which: &str) -> Result<NaiveDate, String> {
    let s = input.trim();
    if s.is_empty() {
        return Err(format!("Enter the {which} date."));
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| "Enter a date such as 2026-01-31.".to_string())
}

impl ExportRangeInput {
    pub fn parse(&self) -> Result<ExportRange, FieldErrors> {
        let mut e = FieldErrors::new();
        let from = e.check("from", date(&self.from, "first"));
        let to = e.check("to", date(&self.to, "last"));
        let range = from.zip(to).map(|(from, to)| ExportRange { from, to });
        if let Some(r) = range {
            if r.to < r.from {
                e.add("to", "The last date can't be before the first.");
            } else if (r.to - r.from).num_days() >= MAX_EXPORT_DAYS {
                e.add("to", "Choose at most ten years at a time.");
            }
        }
        e.finish(range)
    }
}

impl ExportRange {
    /// The download's file name: `tally-invoices-2026-01-01-to-2026-12-31.zip`.
    pub fn file_name(&self) -> String {
        format!("tally-invoices-{}-to-{}.zip", self.from, self.to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(from: &str, to: &str) -> Result<ExportRange, FieldErrors> {
        ExportRangeInput {
            from: from.into(),
            to: to.into(),
        }
        .parse()
    }

    #[test]
    fn a_range_is_two_dates_in_order_at_most_ten_years_apart() {
        let r = typed("2026-01-01", "2026-12-31").unwrap();
        assert_eq!(r.file_name(), "tally-invoices-2026-01-01-to-2026-12-31.zip");
        assert!(typed("2026-05-05", "2026-05-05").is_ok(), "one day");
        let e = typed("", "31/12/2026").unwrap_err();
        assert_eq!(e.get("from"), Some("Enter the first date."));
        assert_eq!(e.get("to"), Some("Enter a date such as 2026-01-31."));
        let e = typed("2026-02-01", "2026-01-31").unwrap_err();
        assert_eq!(
            e.get("to"),
            Some("The last date can't be before the first.")
        );
        let e = typed("2000-01-01", "2026-01-01").unwrap_err();
        assert_eq!(e.get("to"), Some("Choose at most ten years at a time."));
    }
}
