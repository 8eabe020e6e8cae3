//! Spend alerts: an amount the account's Administrators With Billing set for a month, and the
//! shares of it (50 %, 80 %, 100 %…) at which this month's estimate raises an alert, with a
//! forecast alert when the month so far is on track to pass the amount before it ends. Each
//! fires once per month, to the billing contacts who subscribe to spend alerts, and shows on
//! the Overview. The estimate is [`crate::estimate::month_amounts`]'s, as the invoice's.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::{
    billing::{BillingMonth, Plan},
    estimate::month_amounts,
    forms::FieldErrors,
    money::{Currency, Money},
    vat::Treatment,
};

/// The most thresholds an account sets.
pub const MAX_THRESHOLDS: usize = 5;
/// The highest threshold, in percent of the amount.
pub const MAX_PERCENT: u32 = 500;
/// The code a forecast alert is kept under beside the thresholds' percentages.
pub const FORECAST: u32 = 0;

/// An account's spend alerts, as saved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpendAlerts {
    /// The month's amount the thresholds are shares of, tax included (as the estimate).
    pub budget: Money,
    /// Percentages of it, ascending, each once.
    pub thresholds: Vec<u32>,
    /// Alert when the month so far is on track to pass the amount before it ends.
    pub forecast: bool,
}

/// The form, as typed: the amount, the thresholds (`50, 80, 100`), and the forecast box.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpendAlertsInput {
    pub budget: String,
    pub thresholds: String,
    pub forecast: bool,
}

impl SpendAlertsInput {
    /// The alerts in `currency` (the account's), or each field's message.
    pub fn parse(&self, currency: Currency) -> Result<SpendAlerts, FieldErrors> {
        let mut errors = FieldErrors::new();
        let budget = match Money::parse_typed(&self.budget, currency, "500") {
            Ok(m) if m.minor() > 0 => Some(m),
            Ok(_) => {
                errors.add("alert_budget", "Enter an amount above zero.");
                None
            }
            Err(e) => {
                errors.add("alert_budget", e);
                None
            }
        };
        let thresholds = errors.check("alert_thresholds", parse_thresholds(&self.thresholds));
        match (budget, thresholds) {
            (Some(budget), Some(thresholds)) => Ok(SpendAlerts {
                budget,
                thresholds,
                forecast: self.forecast,
            }),
            _ => Err(errors),
        }
    }
}

/// Thresholds as typed: percentages separated by commas or spaces, each with or without `%`
/// ("50, 80, 100 %"), from 1 to [`MAX_PERCENT`], at most [`MAX_THRESHOLDS`]; sorted, each once.
pub fn parse_thresholds(input: &str) -> Result<Vec<u32>, String> {
    let mut found: Vec<u32> = Vec::new();
    for item in input
        .split([',', ' ', ';'])
        .map(|s| s.trim().trim_end_matches('%').trim())
        .filter(|s| !s.is_empty())
    {
        match item.parse::<u32>() {
            Ok(p) if (1..=MAX_PERCENT).contains(&p) => {
                if !found.contains(&p) {
                    found.push(p);
                }
            }
            _ => {
                return Err(format!(
                    "\u{201c}{item}\u{201d} is not a share of the amount: enter whole percentages from 1 to {MAX_PERCENT}, such as 50, 80, 100."
                ))
            }
        }
    }
    if found.is_empty() {
        return Err("Enter at least one percentage, such as 50, 80, 100.".into());
    }
    if found.len() > MAX_THRESHOLDS {
        return Err(format!(
            "Enter at most {MAX_THRESHOLDS} percentages (this has {}).",
            found.len()
        ));
    }
    found.sort_unstable();
    Ok(found)
}

impl SpendAlerts {
    /// The amount at `percent` of the budget, rounded up to the minor unit (an alert at 80 %
    /// of €10.01 fires at €8.01, not before).
    pub fn at(&self, percent: u32) -> Money {
        let minor = i128::from(self.budget.minor()) * i128::from(percent);
        let up = (minor + 99) / 100;
        self.budget
            .with_minor(i64::try_from(up).unwrap_or(i64::MAX))
    }

    /// The thresholds `estimate` has reached.
    pub fn crossed(&self, estimate: Money) -> Vec<u32> {
        self.thresholds
            .iter()
            .copied()
            .filter(|&p| estimate.currency() == self.budget.currency() && estimate >= self.at(p))
            .collect()
    }

    /// "50 %, 80 % and 100 % of €500.00".
    pub fn summary(&self) -> String {
        let list: Vec<String> = self.thresholds.iter().map(|p| format!("{p} %")).collect();
        let shares = match list.split_last() {
            Some((last, [])) => last.clone(),
            Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
            None => String::new(),
        };
        format!("{shares} of {}", self.budget)
    }
}

/// What an alert says: "This month's estimate, €412.00, has reached 80 % of your €500.00."
pub fn threshold_sentence(percent: u32, estimate: Money, budget: Money) -> String {
    format!("This month's estimate, {estimate}, has reached {percent} % of your {budget}.")
}

/// The day of `month` the estimate would reach the budget if users kept being added at the
/// month's pace so far, when that day is still to come this month: the forecast alert.
///
/// The pace is the users added less removed since the month opened, per day so far
/// (`today` counts as a whole day). The estimate on each later day is the month's invoice at
/// the larger of the peak so far and the count projected for that day. None when the estimate
/// has reached the budget already (a threshold says so), the count is not growing, or the
/// projection stays under the budget to the month's end.
#[allow(clippy::too_many_arguments)]
pub fn forecast_day(
    month: BillingMonth,
    today: NaiveDate,
    opening_users: u64,
    users_now: u64,
    peak_so_far: u64,
    plan: &Plan,
    treatment: Option<&Treatment>,
    budget: Money,
) -> Option<NaiveDate> {
    let zero = Money::zero(budget.currency());
    let estimate = |peak: u64| month_amounts(plan, peak, treatment, zero).map(|a| a.gross);
    if estimate(peak_so_far)? >= budget || users_now <= opening_users {
        return None;
    }
    let days_so_far = f64::from(today.day());
    let pace = (users_now - opening_users) as f64 / days_so_far;
    let mut day = today.succ_opt()?;
    while day <= month.last_day() {
        let ahead = f64::from(day.day() - today.day());
        let projected = users_now + (pace * ahead).floor() as u64;
        if estimate(peak_so_far.max(projected))? >= budget {
            return Some(day);
        }
        day = day.succ_opt()?;
    }
    None
}

/// The forecast alert: "At this month's pace (1.5 users a day), the estimate will pass your
/// €500.00 by December 20."
pub fn forecast_sentence(day: NaiveDate, budget: Money, users_per_day: f64) -> String {
    format!(
        "At this month's pace ({users_per_day:.1} users a day), the estimate will pass your {budget} by {}.",
        day.format("%B %-d")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur(minor: i64) -> Money {
        Money::new(minor, Currency::Eur)
    }

    #[test]
    fn the_form_is_checked_field_by_field() {
        let ok = SpendAlertsInput {
            budget: "500".into(),
            thresholds: "100, 50 %,80%".into(),
            forecast: true,
        }
        .parse(Currency::Eur)
        .unwrap();
        assert_eq!(
            (ok.budget, ok.thresholds.clone(), ok.forecast),
            (eur(50_000), vec![50, 80, 100], true)
        );
        assert_eq!(ok.summary(), "50 %, 80 % and 100 % of €500.00");
        let bad = SpendAlertsInput {
            budget: "0".into(),
            thresholds: "80, lots".into(),
            forecast: false,
        }
        .parse(Currency::Eur)
        .unwrap_err();
        assert_eq!(bad.get("alert_budget"), Some("Enter an amount above zero."));
        assert_eq!(
            bad.get("alert_thresholds"),
            Some("\u{201c}lots\u{201d} is not a share of the amount: enter whole percentages from 1 to 500, such as 50, 80, 100.")
        );
        assert_eq!(
            parse_thresholds(""),
            Err("Enter at least one percentage, such as 50, 80, 100.".into())
        );
        assert_eq!(
            parse_thresholds("10 20 30 40 50 60"),
            Err("Enter at most 5 percentages (this has 6).".into())
        );
        assert_eq!(parse_thresholds("80, 80"), Ok(vec![80]));
    }

    #[test]
    fn thresholds_are_reached_at_their_share_rounded_up() {
        let a = SpendAlerts {
            budget: eur(1001),
            thresholds: vec![50, 80, 100],
            forecast: false,
        };
        assert_eq!(a.at(80), eur(801));
        assert_eq!(a.crossed(eur(800)), vec![50]);
        assert_eq!(a.crossed(eur(801)), vec![50, 80]);
        assert_eq!(a.crossed(eur(5000)), vec![50, 80, 100]);
        assert_eq!(
            a.crossed(Money::new(5000, Currency::Usd)),
            Vec::<u32>::new(),
            "another currency"
        );
        assert_eq!(
            threshold_sentence(80, eur(801), eur(1001)),
            "This month's estimate, €8.01, has reached 80 % of your €10.01."
        );
    }

    #[test]
    fn the_forecast_projects_the_months_pace() {
        let month = BillingMonth::new(2026, 12).unwrap();
        let plan = Plan {
            price_per_user: eur(500),
            free_users: 10,
            billing_day: 1,
        };
        let day = |d| NaiveDate::from_ymd_opt(2026, 12, d).unwrap();
        // Opened at 10, 20 on the 10th: a user a day; €100 is 20 billed users, 30 in all,
        // reached 10 days on, on the 20th.
        assert_eq!(
            forecast_day(month, day(10), 10, 20, 20, &plan, None, eur(10_000)),
            Some(day(20))
        );
        // Not growing, or already past, or not before the month ends: no forecast.
        assert_eq!(
            forecast_day(month, day(10), 20, 20, 20, &plan, None, eur(10_000)),
            None
        );
        assert_eq!(
            forecast_day(month, day(10), 10, 20, 40, &plan, None, eur(10_000)),
            None
        );
        assert_eq!(
            forecast_day(month, day(10), 10, 20, 20, &plan, None, eur(100_000)),
            None
        );
        assert_eq!(
            forecast_sentence(day(20), eur(10_000), 1.0),
            "At this month's pace (1.0 users a day), the estimate will pass your €100.00 by December 20."
        );
    }
}
