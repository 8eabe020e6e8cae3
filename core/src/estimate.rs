//! What a month costs and why: the one function that turns a month's peak into an invoice's
//! amounts ([`month_amounts`], used by the billing run, the Billing page's estimate and its
//! what-if alike), where the peak came from ([`explain_peak`]), and what it would be if users
//! were added or removed today ([`what_if`], computed in the browser without a request).
//!
//! `docs/peak-and-estimate.md` explains the same for people, with a worked example.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::{
    billing::{date_of_millis, BillingMonth, CountChange, Plan},
    money::Money,
    vat::{InvoiceAmounts, Treatment},
};

/// What a month that peaked at `peak` costs on `plan`, taxed under `treatment` (none: no
/// tax), with up to `credit` taken off: `max(0, peak − free) × price`, then the tax, then the
/// credit. The billing run's invoice, the estimate and the what-if all come from here, so they
/// agree to the minor unit. `None` on overflow or when the credit's currency is not the plan's.
pub fn month_amounts(
    plan: &Plan,
    peak: u64,
    treatment: Option<&Treatment>,
    credit: Money,
) -> Option<InvoiceAmounts> {
    plan.invoice_amount(peak)
        .and_then(|net| InvoiceAmounts::of(net, treatment, credit))
}

/// One of the changes that set a month's peak: an instant at which the account had more users
/// than at any earlier instant of the month.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeakStep {
    /// UTC milliseconds.
    pub at_millis: i64,
    /// Users added less users removed at that instant (a file import adds many at once).
    pub change: i64,
    /// Users right after it.
    pub users: u64,
}

/// Where a month's peak comes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeakExplained {
    /// The largest number of users at any instant of the month (as [`crate::billing::peak_users`]).
    pub peak: u64,
    /// Users when the month opened.
    pub opening: u64,
    /// The UTC day the peak was first reached: the month's 1st when it opened at its peak.
    pub reached_on: NaiveDate,
    /// Each instant that took the count higher than ever before in the month, in order; the
    /// last reached the peak. Empty when the month opened at its peak.
    pub steps: Vec<PeakStep>,
}

impl PeakStep {
    /// When it happened, as the Billing page lists it: "December 3, 14:02 UTC".
    pub fn when(&self) -> String {
        chrono::DateTime::from_timestamp_millis(self.at_millis)
            .map(|t| t.format("%B %-d, %H:%M UTC").to_string())
            .unwrap_or_default()
    }
}

impl PeakExplained {
    /// The last `n` steps, and how many earlier ones were left out: what a page lists.
    pub fn last_steps(&self, n: usize) -> (&[PeakStep], usize) {
        let skip = self.steps.len().saturating_sub(n);
        (&self.steps[skip..], skip)
    }
}

/// The peak of `month` and the changes that set it. `changes` is the account's history in any
/// order, read exactly as [`crate::billing::peak_users`] reads it: changes at one instant
/// count together, and the count at the opening instant is the month's first.
pub fn explain_peak(changes: &[CountChange], month: BillingMonth) -> PeakExplained {
    let (start, end) = (month.start_millis(), month.end_millis());
    let mut sorted: Vec<CountChange> = changes
        .iter()
        .copied()
        .filter(|c| c.at_millis < end)
        .collect();
    sorted.sort_by_key(|c| c.at_millis);
    let clamp = |n: i64| u64::try_from(n).unwrap_or(0);

    let mut count: i64 = 0;
    let mut i = 0;
    while i < sorted.len() && sorted[i].at_millis <= start {
        count += sorted[i].delta;
        i += 1;
    }
    let opening = clamp(count);
    let mut high = count;
    let mut steps = Vec::new();
    while i < sorted.len() {
        let at = sorted[i].at_millis;
        let before = count;
        while i < sorted.len() && sorted[i].at_millis == at {
            count += sorted[i].delta;
            i += 1;
        }
        // A count below zero (a corrupt history) reads as zero, as the peak does.
        if count > high && count > 0 {
            steps.push(PeakStep {
                at_millis: at,
                change: count - before,
                users: clamp(count),
            });
            high = count;
        }
    }
    let reached_on = steps
        .last()
        .and_then(|s| date_of_millis(s.at_millis))
        .unwrap_or_else(|| month.first_day());
    PeakExplained {
        peak: steps.last().map_or(opening, |s| s.users),
        opening,
        reached_on,
        steps,
    }
}

/// "1 user", "14 users".
fn users(n: u64) -> String {
    if n == 1 {
        "1 user".to_string()
    } else {
        format!("{n} users")
    }
}

/// The peak in one sentence, as the Billing page and every invoice state it: "Peak: 14 users,
/// first reached on December 3; 4 users billed after the 10 free." `reached_on` is unknown for
/// invoices made before Tally kept it.
pub fn peak_statement(peak: u64, reached_on: Option<NaiveDate>, free: u64) -> String {
    let when = reached_on.map_or_else(String::new, |day| {
        format!(", first reached on {}", day.format("%B %-d"))
    });
    if peak <= free {
        format!(
            "Peak: {}{when}; within the {free} free, nothing billed.",
            users(peak)
        )
    } else {
        format!(
            "Peak: {}{when}; {} billed after the {free} free.",
            users(peak),
            users(peak - free)
        )
    }
}

/// The most users a what-if may add or remove at once.
pub const MAX_WHAT_IF: u64 = 1_000_000;

/// Adding or removing users today, as the what-if asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WhatIfChange {
    Add(u64),
    Remove(u64),
}

impl WhatIfChange {
    /// The change from the what-if's two fields: `direction` is `add` or `remove`, `count` a
    /// whole number from 1 up, and no more than `users_now` to remove. The message says what
    /// is wrong, next to the count.
    pub fn parse(direction: &str, count: &str, users_now: u64) -> Result<Self, String> {
        let count = count.trim();
        if count.is_empty() {
            return Err("Enter how many users.".into());
        }
        let n: u64 = match count.parse() {
            Ok(n) if (1..=MAX_WHAT_IF).contains(&n) => n,
            _ => return Err("Enter a whole number of users from 1 to 1,000,000.".into()),
        };
        match direction {
            "remove" if n > users_now => Err(format!(
                "The account has {} now: remove at most {users_now}.",
                users(users_now)
            )),
            "remove" => Ok(Self::Remove(n)),
            _ => Ok(Self::Add(n)),
        }
    }

    fn delta(self) -> i64 {
        match self {
            Self::Add(n) => i64::try_from(n).unwrap_or(i64::MAX),
            Self::Remove(n) => -i64::try_from(n).unwrap_or(i64::MAX),
        }
    }
}

/// What the month would come to after a [`WhatIfChange`] today, if nothing else changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WhatIf {
    /// Users right after the change.
    pub users_after: u64,
    /// This month's peak then: removing users never lowers it.
    pub peak: u64,
    /// This month's invoice then (before credit).
    pub this_month: Option<InvoiceAmounts>,
    /// Next month's, were it to stay at `users_after` throughout.
    pub next_month: Option<InvoiceAmounts>,
}

/// This month's peak and invoice, and next month's, after `change` today: the peak so far
/// stays, and the count after the change may raise it. `plan` is this month's, `next_plan`
/// next month's; both taxed under `treatment`, as the billing run would.
pub fn what_if(
    users_now: u64,
    peak_so_far: u64,
    change: WhatIfChange,
    plan: &Plan,
    next_plan: &Plan,
    treatment: Option<&Treatment>,
) -> WhatIf {
    let now = i64::try_from(users_now).unwrap_or(i64::MAX);
    let users_after = u64::try_from(now.saturating_add(change.delta())).unwrap_or(0);
    let peak = peak_so_far.max(users_after);
    let zero = |p: &Plan| Money::zero(p.price_per_user.currency());
    WhatIf {
        users_after,
        peak,
        this_month: month_amounts(plan, peak, treatment, zero(plan)),
        next_month: month_amounts(next_plan, users_after, treatment, zero(next_plan)),
    }
}

/// The what-if's answer in sentences, as the Billing page shows it (the same words with or
/// without the browser's script). `estimate_now` is this month's estimate before the change.
pub fn what_if_sentences(
    change: WhatIfChange,
    result: &WhatIf,
    peak_so_far: u64,
    estimate_now: Option<Money>,
) -> Vec<String> {
    let money = |a: Option<InvoiceAmounts>| {
        a.map_or_else(
            || "more than can be shown".to_string(),
            |a| a.gross.to_string(),
        )
    };
    let now = estimate_now.map_or_else(|| "more than can be shown".to_string(), |m| m.to_string());
    let mut said = Vec::new();
    match change {
        WhatIfChange::Add(n) => {
            said.push(format!(
                "Adding {} today would make {}.",
                users(n),
                users(result.users_after)
            ));
            if result.peak > peak_so_far {
                said.push(format!(
                    "This month's peak would rise from {peak_so_far} to {}, and its estimate from {now} to {}.",
                    result.peak,
                    money(result.this_month)
                ));
            } else {
                said.push(format!(
                    "This month's peak would stay {peak_so_far}, and its estimate {now}."
                ));
            }
        }
        WhatIfChange::Remove(n) => {
            said.push(format!(
                "Removing {} today would leave {}.",
                users(n),
                users(result.users_after)
            ));
            said.push(format!(
                "This month's peak would stay {peak_so_far} and its estimate {now}: users removed after the peak do not lower it."
            ));
        }
    }
    said.push(format!(
        "Next month, with {} throughout: {}.",
        users(result.users_after),
        money(result.next_month)
    ));
    said
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::billing::{date_start_millis, peak_users};
    use crate::money::{Currency, Money};
    use crate::vat::TaxCategory;

    fn day(d: u32) -> i64 {
        date_start_millis(NaiveDate::from_ymd_opt(2026, 12, d).unwrap())
    }

    fn change(at_millis: i64, delta: i64) -> CountChange {
        CountChange { at_millis, delta }
    }

    #[test]
    fn the_peak_is_explained_by_the_changes_that_set_it() {
        let month = BillingMonth::new(2026, 12).unwrap();
        let history = [
            change(day(1), 12),
            change(day(2) + 3_600_000, 3),
            change(day(4), -4),
            change(day(9), 2),
            change(day(9) + 1000, 2),
            // A delete and an add at one instant make no momentary extra user.
            change(day(12), -1),
            change(day(12), 1),
        ];
        let e = explain_peak(&history, month);
        assert_eq!(e.peak, peak_users(&history, month));
        assert_eq!((e.opening, e.peak), (12, 15));
        assert_eq!(e.reached_on, NaiveDate::from_ymd_opt(2026, 12, 2).unwrap());
        assert_eq!(
            e.steps,
            vec![PeakStep {
                at_millis: day(2) + 3_600_000,
                change: 3,
                users: 15
            }]
        );
        let later = [&history[..], &[change(day(20), 5)]].concat();
        let e = explain_peak(&later, month);
        assert_eq!((e.peak, e.steps.len()), (20, 2));
        assert_eq!(e.reached_on, NaiveDate::from_ymd_opt(2026, 12, 20).unwrap());
        assert_eq!(e.last_steps(1), (&e.steps[1..], 1));
    }

    #[test]
    fn a_month_that_opened_at_its_peak_has_no_steps() {
        let month = BillingMonth::new(2026, 12).unwrap();
        let e = explain_peak(&[change(day(1) - 5, 7), change(day(3), -2)], month);
        assert_eq!((e.peak, e.opening, e.steps.len()), (7, 7, 0));
        assert_eq!(e.reached_on, month.first_day());
        assert_eq!(
            peak_statement(e.peak, Some(e.reached_on), 10),
            "Peak: 7 users, first reached on December 1; within the 10 free, nothing billed."
        );
    }

    #[test]
    fn statements_read_right() {
        let dec3 = NaiveDate::from_ymd_opt(2026, 12, 3);
        assert_eq!(
            peak_statement(14, dec3, 10),
            "Peak: 14 users, first reached on December 3; 4 users billed after the 10 free."
        );
        assert_eq!(
            peak_statement(11, dec3, 10),
            "Peak: 11 users, first reached on December 3; 1 user billed after the 10 free."
        );
        assert_eq!(
            peak_statement(11, None, 10),
            "Peak: 11 users; 1 user billed after the 10 free."
        );
    }

    fn plan(cents: i64, currency: Currency) -> Plan {
        Plan {
            price_per_user: Money::new(cents, currency),
            free_users: 10,
            billing_day: 1,
        }
    }

    #[test]
    fn what_if_adds_to_the_peak_and_never_removes_from_it() {
        let p = plan(500, Currency::Eur);
        let vat = Treatment {
            category: TaxCategory::Standard,
            rate_bp: 1900,
        };
        let add = what_if(12, 15, WhatIfChange::Add(5), &p, &p, Some(&vat));
        assert_eq!((add.users_after, add.peak), (17, 17));
        // 7 × €5.00 = €35.00, + 19 % = €41.65.
        assert_eq!(
            add.this_month.unwrap().gross,
            Money::new(4165, Currency::Eur)
        );
        let small = what_if(12, 15, WhatIfChange::Add(2), &p, &p, Some(&vat));
        assert_eq!(small.peak, 15, "14 stays under the 15 already reached");
        let remove = what_if(12, 15, WhatIfChange::Remove(4), &p, &p, None);
        assert_eq!((remove.users_after, remove.peak), (8, 15));
        assert_eq!(remove.next_month.unwrap().gross, Money::zero(Currency::Eur));
        let said = what_if_sentences(
            WhatIfChange::Add(5),
            &add,
            15,
            Some(Money::new(2975, Currency::Eur)),
        );
        assert_eq!(
            said,
            vec![
                "Adding 5 users today would make 17 users.".to_string(),
                "This month's peak would rise from 15 to 17, and its estimate from €29.75 to €41.65.".into(),
                "Next month, with 17 users throughout: €41.65.".into(),
            ]
        );
    }

    #[test]
    fn what_if_counts_are_checked() {
        assert_eq!(
            WhatIfChange::parse("add", " 3 ", 12),
            Ok(WhatIfChange::Add(3))
        );
        assert_eq!(
            WhatIfChange::parse("remove", "12", 12),
            Ok(WhatIfChange::Remove(12))
        );
        assert_eq!(
            WhatIfChange::parse("remove", "13", 12),
            Err("The account has 12 users now: remove at most 12.".into())
        );
        assert_eq!(
            WhatIfChange::parse("add", "", 12),
            Err("Enter how many users.".into())
        );
        for bad in ["0", "-1", "2.5", "x", "1000001"] {
            assert_eq!(
                WhatIfChange::parse("add", bad, 12),
                Err("Enter a whole number of users from 1 to 1,000,000.".into()),
                "{bad}"
            );
        }
    }

    /// The worked example of `docs/peak-and-estimate.md`, word for word.
    #[test]
    fn the_documented_example() {
        let month = BillingMonth::new(2026, 12).unwrap();
        let at = |d: u32, h: i64, m: i64| day(d) + (h * 60 + m) * 60_000;
        let history = [
            change(day(1) - 1, 8),
            change(at(3, 9, 12), 5),
            change(at(3, 15, 40), -2),
            change(at(9, 11, 5), 1),
            change(at(14, 16, 30), 2),
            change(at(20, 10, 0), -4),
        ];
        let e = explain_peak(&history, month);
        assert_eq!((e.opening, e.peak), (8, 14));
        assert_eq!(
            e.steps
                .iter()
                .map(|s| (s.when(), s.change, s.users))
                .collect::<Vec<_>>(),
            vec![
                ("December 3, 09:12 UTC".to_string(), 5, 13),
                ("December 14, 16:30 UTC".to_string(), 2, 14)
            ]
        );
        assert_eq!(
            peak_statement(e.peak, Some(e.reached_on), 10),
            "Peak: 14 users, first reached on December 14; 4 users billed after the 10 free."
        );
        let p = plan(500, Currency::Usd);
        let vat = Treatment {
            category: TaxCategory::Standard,
            rate_bp: 1900,
        };
        let now = month_amounts(&p, e.peak, Some(&vat), Money::zero(Currency::Usd)).unwrap();
        assert_eq!(
            (now.net.minor(), now.tax.minor(), now.gross.minor()),
            (2000, 380, 2380)
        );
        let remove = what_if(10, 14, WhatIfChange::Remove(2), &p, &p, Some(&vat));
        assert_eq!(
            what_if_sentences(WhatIfChange::Remove(2), &remove, 14, Some(now.gross)),
            vec![
                "Removing 2 users today would leave 8 users.",
                "This month's peak would stay 14 and its estimate $23.80: users removed after the peak do not lower it.",
                "Next month, with 8 users throughout: $0.00.",
            ]
        );
        let add = what_if(10, 14, WhatIfChange::Add(5), &p, &p, Some(&vat));
        assert_eq!(
            what_if_sentences(WhatIfChange::Add(5), &add, 14, Some(now.gross)),
            vec![
                "Adding 5 users today would make 15 users.",
                "This month's peak would rise from 14 to 15, and its estimate from $23.80 to $29.75.",
                "Next month, with 15 users throughout: $29.75.",
            ]
        );
    }
}
