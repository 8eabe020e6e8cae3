//! Billing rules (docs/roles.md, "Rules about billing"): calendar months in UTC, the month's peak user count, the invoice
//! amount and the schedule for retrying failed charges.

use std::fmt;

use chrono::{Datelike, Days, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::money::Money;

/// Users every account gets free each month.
pub const FREE_USERS: u64 = 10;

/// The standard billing day (a month is invoiced on the 1st of the next) and the latest a
/// plan can choose: every month has a 28th.
pub const FIRST_BILLING_DAY: u32 = 1;
pub const LAST_BILLING_DAY: u32 = 28;

/// The last day of a month.
pub fn last_day_of_month(year: i32, month: u32) -> NaiveDate {
    let (ny, nm) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    NaiveDate::from_ymd_opt(ny, nm, 1)
        .and_then(|d| d.pred_opt())
        .expect("a valid month")
}

/// A calendar month in UTC — the unit Tally bills in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct BillingMonth {
    year: i32,
    month: u32,
}

impl BillingMonth {
    /// `None` unless `month` is 1–12.
    pub fn new(year: i32, month: u32) -> Option<Self> {
        (1..=12).contains(&month).then_some(Self { year, month })
    }

    /// The month a date falls in.
    pub fn containing(date: NaiveDate) -> Self {
        Self {
            year: date.year(),
            month: date.month(),
        }
    }

    /// Parses `YYYY-MM`, as the billing subcommand takes it.
    pub fn parse(s: &str) -> Option<Self> {
        let (y, m) = s.trim().split_once('-')?;
        if y.len() != 4 || m.len() != 2 {
            return None;
        }
        Self::new(y.parse().ok()?, m.parse().ok()?)
    }

    pub fn year(self) -> i32 {
        self.year
    }

    pub fn month(self) -> u32 {
        self.month
    }

    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).expect("a valid month")
    }

    pub fn last_day(self) -> NaiveDate {
        last_day_of_month(self.year, self.month)
    }

    pub fn next(self) -> Self {
        if self.month == 12 {
            Self {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Self {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    pub fn previous(self) -> Self {
        if self.month == 1 {
            Self {
                year: self.year - 1,
                month: 12,
            }
        } else {
            Self {
                year: self.year,
                month: self.month - 1,
            }
        }
    }

    /// The month's first instant, in milliseconds since the Unix epoch (UTC).
    pub fn start_millis(self) -> i64 {
        date_start_millis(self.first_day())
    }

    /// The next month's first instant: this month is `start_millis()..end_millis()`.
    pub fn end_millis(self) -> i64 {
        self.next().start_millis()
    }

    /// The day this month is invoiced and charged on the standard billing day: the 1st of the
    /// next month.
    pub fn charge_date(self) -> NaiveDate {
        self.charge_date_on(FIRST_BILLING_DAY)
    }

    /// The day this month is invoiced and charged by a plan whose billing day is `day`
    /// (1–[`LAST_BILLING_DAY`], clamped): that day of the next month. The month's users are
    /// counted through its last day whatever the billing day; the day only says when the bill
    /// for them is made.
    pub fn charge_date_on(self, day: u32) -> NaiveDate {
        let day = day.clamp(FIRST_BILLING_DAY, LAST_BILLING_DAY);
        self.next()
            .first_day()
            .checked_add_days(Days::new(u64::from(day - 1)))
            .expect("date in range")
    }

    /// A month name people read, e.g. "November 2026".
    pub fn label(self) -> String {
        crate::locale::Locale::En.month_year(self.year, self.month)
    }
}

impl fmt::Display for BillingMonth {
    /// `YYYY-MM`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// Milliseconds since the epoch at 00:00 UTC of `date`.
pub fn date_start_millis(date: NaiveDate) -> i64 {
    date.and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_utc()
        .timestamp_millis()
}

/// The UTC date of an instant given in milliseconds since the epoch.
pub fn date_of_millis(millis: i64) -> Option<NaiveDate> {
    chrono::DateTime::from_timestamp_millis(millis).map(|t| t.date_naive())
}

/// The next charge date seen from `today`: the 1st of next month.
pub fn next_charge_date(today: NaiveDate) -> NaiveDate {
    BillingMonth::containing(today).charge_date()
}

/// The next charge date of an account seen from `today`, when last month's plan bills on
/// `last_month_day` and this month's on `this_month_day`: last month's charge while its day
/// is still to come, else this month's.
pub fn next_charge_date_on(
    today: NaiveDate,
    last_month_day: u32,
    this_month_day: u32,
) -> NaiveDate {
    let month = BillingMonth::containing(today);
    let last = month.previous().charge_date_on(last_month_day);
    if last > today {
        last
    } else {
        month.charge_date_on(this_month_day)
    }
}

/// A change in an account's user count at an instant: +1 for a user added, −1 for a user
/// deleted. Suspending or unsuspending changes nothing: suspended users are billable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountChange {
    pub at_millis: i64,
    pub delta: i64,
}

/// The largest number of users that existed at any instant of `month`.
///
/// `changes` is the account's whole history in any order. Changes at the same instant are
/// applied together before the count is read, so a delete and an add at one instant do not
/// make a momentary extra user. The count when the month opens counts too, so a month with
/// no changes peaks at its opening count. Counts below zero (a corrupt history) read as zero.
pub fn peak_users(changes: &[CountChange], month: BillingMonth) -> u64 {
    // One reading of a history, with the changes that set the peak: the estimate's.
    crate::estimate::explain_peak(changes, month).peak
}

/// The largest number of users on each day of `month` from its 1st to `through` (UTC days;
/// `through` is clamped to the month): what the Billing page charts. Each day's figure is the
/// peak of that day alone, read as [`peak_users`] reads a month, so the largest of them is the
/// month's peak so far.
pub fn daily_peaks(changes: &[CountChange], month: BillingMonth, through: NaiveDate) -> Vec<u64> {
    let last = through.min(month.last_day());
    let mut sorted: Vec<CountChange> = changes.to_vec();
    sorted.sort_by_key(|c| c.at_millis);
    let mut peaks = Vec::new();
    let (mut count, mut i) = (0i64, 0usize);
    let mut day = month.first_day();
    while day <= last {
        let start = date_start_millis(day);
        let end = start + 86_400_000;
        while i < sorted.len() && sorted[i].at_millis <= start {
            count += sorted[i].delta;
            i += 1;
        }
        let mut peak = count;
        while i < sorted.len() && sorted[i].at_millis < end {
            let at = sorted[i].at_millis;
            while i < sorted.len() && sorted[i].at_millis == at {
                count += sorted[i].delta;
                i += 1;
            }
            peak = peak.max(count);
        }
        peaks.push(u64::try_from(peak).unwrap_or(0));
        match day.succ_opt() {
            Some(next) => day = next,
            None => break,
        }
    }
    peaks
}

/// A day of the month as people write it: "1st", "2nd", "3rd", "15th", "22nd".
pub fn ordinal_day(day: u32) -> String {
    let suffix = match (day % 10, day % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{day}{suffix}")
}

/// When a plan's months are billed, in one sentence: "Each month is invoiced and charged on
/// the 15th of the next."
pub fn billing_day_sentence(day: u32) -> String {
    format!(
        "Each month is invoiced and charged on the {} of the next.",
        ordinal_day(day)
    )
}

/// A plan in words: "$5.00 per user per month; the first 10 users are free; each month is
/// invoiced on the 15th of the next".
pub fn plan_sentence(plan: &Plan) -> String {
    format!(
        "{} per user per month; the first {} users are free; each month is invoiced on the {} of the next",
        plan.price_per_user,
        plan.free_users,
        ordinal_day(plan.billing_day)
    )
}

/// "1 user", "14 users".
fn users(n: u64) -> String {
    if n == 1 {
        "1 user".to_string()
    } else {
        format!("{n} users")
    }
}

/// This month's peak and what it means for the bill, for the Overview: "This month's peak: 14
/// users: 10 free, 4 billed." or "This month's peak: 8 users, within the 10 free."
pub fn peak_sentence(peak: u64, free: u64) -> String {
    let users = users(peak);
    if peak <= free {
        format!("This month's peak: {users}, within the {free} free.")
    } else {
        format!(
            "This month's peak: {users}: {free} free, {} billed.",
            peak - free
        )
    }
}

/// How this month's projected charge comes about, in one sentence: "Peak so far 37 users − 10
/// free = 27 × $5.00 = $135.00", or, within the free users, that nothing is due.
pub fn projection_sentence(peak: u64, plan: &Plan) -> String {
    if peak <= plan.free_users {
        return format!(
            "Peak so far {}, within the {} free: nothing to pay.",
            users(peak),
            plan.free_users
        );
    }
    let billable = plan.billable_users(peak);
    match plan.invoice_amount(peak) {
        Some(amount) => format!(
            "Peak so far {} \u{2212} {} free = {billable} \u{d7} {} = {amount}",
            users(peak),
            plan.free_users,
            plan.price_per_user
        ),
        None => format!("Peak so far {}.", users(peak)),
    }
}

/// An account's price: a monthly amount per user beyond the free ones, and the day of the
/// next month each month is invoiced and charged on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub price_per_user: Money,
    pub free_users: u64,
    /// 1–[`LAST_BILLING_DAY`].
    #[serde(default = "first_billing_day")]
    pub billing_day: u32,
}

fn first_billing_day() -> u32 {
    FIRST_BILLING_DAY
}

impl Plan {
    /// The standard plan at `price_per_user`, with [`FREE_USERS`] free users, billed on the 1st.
    pub fn per_user(price_per_user: Money) -> Self {
        Self {
            price_per_user,
            free_users: FREE_USERS,
            billing_day: FIRST_BILLING_DAY,
        }
    }

    /// The day `month` is invoiced and charged on this plan.
    pub fn charge_date(&self, month: BillingMonth) -> NaiveDate {
        month.charge_date_on(self.billing_day)
    }

    /// Users billed for a month that peaked at `peak`.
    pub fn billable_users(&self, peak: u64) -> u64 {
        peak.saturating_sub(self.free_users)
    }

    /// `max(0, peak − free) × price`; `None` only on overflow.
    pub fn invoice_amount(&self, peak: u64) -> Option<Money> {
        self.price_per_user.checked_mul(self.billable_users(peak))
    }
}

/// When to try a failed charge again: after 1, 3 and 7 days.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetrySchedule {
    /// Days after the first failed attempt, ascending.
    pub days_after_first_failure: Vec<u32>,
}

impl Default for RetrySchedule {
    fn default() -> Self {
        Self {
            days_after_first_failure: vec![1, 3, 7],
        }
    }
}

/// What follows a failed charge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AfterFailure {
    /// Try again on this date.
    RetryOn(NaiveDate),
    /// Retries are used up: the account is past due until a charge succeeds.
    PastDue,
}

impl RetrySchedule {
    /// Decides what follows when attempt number `failed_attempts` (1 = the first charge)
    /// has just failed, the first of them on `first_failure`.
    pub fn after_failure(&self, first_failure: NaiveDate, failed_attempts: u32) -> AfterFailure {
        let retries_done = failed_attempts.saturating_sub(1) as usize;
        match self.days_after_first_failure.get(retries_done) {
            Some(&days) => AfterFailure::RetryOn(
                first_failure
                    .checked_add_days(Days::new(u64::from(days)))
                    .expect("date in range"),
            ),
            None => AfterFailure::PastDue,
        }
    }

    /// Attempts in all, the first charge included.
    pub fn max_attempts(&self) -> u32 {
        self.days_after_first_failure.len() as u32 + 1
    }
}

/// Where an invoice stands. Stored as its code; moved on only by the billing run and charging.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceStatus {
    /// Made, not charged yet.
    Open,
    Paid,
    /// Nothing to charge (the peak stayed within the free users).
    Zero,
    /// A charge failed; retried on the schedule.
    Failed,
    /// Every retry failed.
    PastDue,
    /// The card's bank asks the cardholder to confirm the payment.
    ActionRequired,
    /// Cancelled by the seller while unpaid: nothing is owed for it.
    Void,
    /// Replaced while unpaid by an invoice with the account's current billing details, and
    /// cancelled by a credit note: nothing is owed for it, its correction is charged instead.
    Corrected,
}

impl InvoiceStatus {
    pub const ALL: [InvoiceStatus; 8] = [
        InvoiceStatus::Open,
        InvoiceStatus::Paid,
        InvoiceStatus::Zero,
        InvoiceStatus::Failed,
        InvoiceStatus::PastDue,
        InvoiceStatus::ActionRequired,
        InvoiceStatus::Void,
        InvoiceStatus::Corrected,
    ];

    /// The statuses a charge may still move on: what is unpaid and not waiting for nothing.
    pub const CHARGEABLE: [InvoiceStatus; 4] = [
        InvoiceStatus::Open,
        InvoiceStatus::Failed,
        InvoiceStatus::PastDue,
        InvoiceStatus::ActionRequired,
    ];

    pub fn code(self) -> &'static str {
        match self {
            InvoiceStatus::Open => "open",
            InvoiceStatus::Paid => "paid",
            InvoiceStatus::Zero => "zero",
            InvoiceStatus::Failed => "failed",
            InvoiceStatus::PastDue => "past_due",
            InvoiceStatus::ActionRequired => "action_required",
            InvoiceStatus::Void => "void",
            InvoiceStatus::Corrected => "corrected",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }

    /// How the status reads, on its page, in the Billing list, in emails and on its PDF: one
    /// wording for the server and the browser.
    pub fn label(self) -> &'static str {
        match self {
            InvoiceStatus::Paid => "Paid",
            InvoiceStatus::Zero => "Nothing due",
            InvoiceStatus::Failed => "Payment failed, retrying",
            InvoiceStatus::PastDue => "Past due",
            InvoiceStatus::ActionRequired => "Authentication needed",
            InvoiceStatus::Open => "Due",
            InvoiceStatus::Void => "Void",
            InvoiceStatus::Corrected => "Corrected",
        }
    }
}

#[cfg(test)]
mod status_label_tests {
    use super::InvoiceStatus;

    fn label(code: &str) -> &'static str {
        InvoiceStatus::from_code(code).unwrap().label()
    }

    #[test]
    fn each_stored_status_has_its_wording() {
        assert_eq!(label("paid"), "Paid");
        assert_eq!(label("zero"), "Nothing due");
        assert_eq!(label("failed"), "Payment failed, retrying");
        assert_eq!(label("past_due"), "Past due");
        assert_eq!(label("action_required"), "Authentication needed");
        assert_eq!(label("open"), "Due");
        assert_eq!(label("void"), "Void");
        assert_eq!(label("corrected"), "Corrected");
        // Any other code is no status: rows are decoded through `from_code`, which refuses it.
        assert_eq!(InvoiceStatus::from_code("refunded"), None);
    }
}

#[cfg(test)]
mod projection_tests {
    use super::*;

    #[test]
    fn the_projection_explains_itself() {
        assert_eq!(
            peak_sentence(14, 10),
            "This month's peak: 14 users: 10 free, 4 billed."
        );
        assert_eq!(
            peak_sentence(8, 10),
            "This month's peak: 8 users, within the 10 free."
        );
        assert_eq!(
            peak_sentence(1, 10),
            "This month's peak: 1 user, within the 10 free."
        );
        assert_eq!(
            peak_sentence(0, 0),
            "This month's peak: 0 users, within the 0 free."
        );
        let plan = Plan::per_user(Money::usd(500));
        assert_eq!(
            projection_sentence(37, &plan),
            "Peak so far 37 users \u{2212} 10 free = 27 \u{d7} $5.00 = $135.00"
        );
        assert_eq!(
            projection_sentence(1, &plan),
            "Peak so far 1 user, within the 10 free: nothing to pay."
        );
        assert_eq!(
            projection_sentence(10, &plan),
            "Peak so far 10 users, within the 10 free: nothing to pay."
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn nov() -> BillingMonth {
        BillingMonth::new(2026, 11).unwrap()
    }

    fn at(date: (i32, u32, u32), h: u32) -> i64 {
        NaiveDate::from_ymd_opt(date.0, date.1, date.2)
            .unwrap()
            .and_hms_opt(h, 0, 0)
            .unwrap()
            .and_utc()
            .timestamp_millis()
    }

    fn add(at_millis: i64) -> CountChange {
        CountChange {
            at_millis,
            delta: 1,
        }
    }

    fn del(at_millis: i64) -> CountChange {
        CountChange {
            at_millis,
            delta: -1,
        }
    }

    #[test]
    fn month_arithmetic_wraps_years() {
        let dec = BillingMonth::new(2026, 12).unwrap();
        assert_eq!(dec.next(), BillingMonth::new(2027, 1).unwrap());
        assert_eq!(BillingMonth::new(2027, 1).unwrap().previous(), dec);
        assert_eq!(
            dec.charge_date(),
            NaiveDate::from_ymd_opt(2027, 1, 1).unwrap()
        );
        assert_eq!(BillingMonth::new(2028, 2).unwrap().last_day().day(), 29);
        assert_eq!(BillingMonth::new(2026, 2).unwrap().last_day().day(), 28);
        assert_eq!(nov().to_string(), "2026-11");
        assert_eq!(BillingMonth::parse("2026-11"), Some(nov()));
        assert_eq!(BillingMonth::parse("2026-13"), None);
        assert_eq!(nov().label(), "November 2026");
        assert_eq!(
            next_charge_date(NaiveDate::from_ymd_opt(2026, 11, 26).unwrap()),
            NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
        );
    }

    #[test]
    fn a_plan_bills_each_month_on_its_day_of_the_next() {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        let dec = BillingMonth::new(2026, 12).unwrap();
        assert_eq!(nov().charge_date_on(15), d(2026, 12, 15));
        assert_eq!(dec.charge_date_on(28), d(2027, 1, 28));
        // Out of range days are held to 1–28, so February has each of them.
        assert_eq!(dec.charge_date_on(0), d(2027, 1, 1));
        assert_eq!(
            BillingMonth::new(2027, 1).unwrap().charge_date_on(31),
            d(2027, 2, 28)
        );
        let plan = Plan {
            billing_day: 15,
            ..Plan::per_user(Money::usd(500))
        };
        assert_eq!(plan.charge_date(nov()), d(2026, 12, 15));
        // November's charge on the 15th is still to come on December 6, and has been made on
        // the 15th: then December's, on its own plan's day.
        assert_eq!(next_charge_date_on(d(2026, 12, 6), 15, 20), d(2026, 12, 15));
        assert_eq!(next_charge_date_on(d(2026, 12, 15), 15, 20), d(2027, 1, 20));
        assert_eq!(
            next_charge_date_on(d(2026, 12, 1), 1, 1),
            next_charge_date(d(2026, 12, 1))
        );
        let days: Vec<String> = [1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 28]
            .map(ordinal_day)
            .into();
        assert_eq!(
            days,
            ["1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "23rd", "28th"]
        );
        assert_eq!(
            plan_sentence(&plan),
            "$5.00 per user per month; the first 10 users are free; each month is invoiced on the 15th of the next"
        );
        assert_eq!(
            billing_day_sentence(15),
            "Each month is invoiced and charged on the 15th of the next."
        );
    }

    #[test]
    fn peak_counts_users_that_existed_at_the_month_boundaries() {
        // 12 users before the month; one deleted at the very first instant of November.
        let mut changes: Vec<_> = (0..12).map(|i| add(at((2026, 10, 1), i))).collect();
        changes.push(del(nov().start_millis()));
        // The opening count is read after changes at the opening instant.
        assert_eq!(peak_users(&changes, nov()), 11);
        // A user added at the first instant of December belongs to December.
        changes.push(add(nov().end_millis()));
        assert_eq!(peak_users(&changes, nov()), 11);
        // A user added in the last millisecond of November counts.
        changes.push(add(nov().end_millis() - 1));
        assert_eq!(peak_users(&changes, nov()), 12);
    }

    #[test]
    fn a_delete_and_an_add_at_the_same_instant_do_not_raise_the_peak() {
        let t = at((2026, 11, 5), 9);
        let mut changes: Vec<_> = (0..11).map(|i| add(at((2026, 10, 1), i))).collect();
        changes.push(add(t));
        changes.push(del(t));
        assert_eq!(peak_users(&changes, nov()), 11);
        // Order in the slice does not matter.
        changes.reverse();
        assert_eq!(peak_users(&changes, nov()), 11);
    }

    #[test]
    fn a_user_added_and_deleted_within_the_month_still_counts() {
        let mut changes: Vec<_> = (0..10).map(|i| add(at((2026, 10, 1), i))).collect();
        changes.push(add(at((2026, 11, 3), 1)));
        changes.push(del(at((2026, 11, 3), 2)));
        assert_eq!(peak_users(&changes, nov()), 11);
    }

    #[test]
    fn an_account_created_mid_month_and_an_empty_month() {
        assert_eq!(peak_users(&[], nov()), 0);
        let changes: Vec<_> = (0..15).map(|i| add(at((2026, 11, 20), i))).collect();
        assert_eq!(peak_users(&changes, nov()), 15);
        assert_eq!(peak_users(&changes, nov().previous()), 0);
        assert_eq!(peak_users(&changes, nov().next()), 15);
    }

    #[test]
    fn the_first_ten_users_are_free() {
        let plan = Plan::per_user(Money::usd(300));
        assert_eq!(plan.invoice_amount(0), Some(Money::usd(0)));
        assert_eq!(plan.invoice_amount(10), Some(Money::usd(0)));
        assert_eq!(plan.invoice_amount(11), Some(Money::usd(300)));
        assert_eq!(plan.invoice_amount(25), Some(Money::usd(4_500)));
    }

    #[test]
    fn retries_after_one_three_and_seven_days_then_past_due() {
        let s = RetrySchedule::default();
        let d = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let on = |day| AfterFailure::RetryOn(NaiveDate::from_ymd_opt(2026, 12, day).unwrap());
        assert_eq!(s.after_failure(d, 1), on(2));
        assert_eq!(s.after_failure(d, 2), on(4));
        assert_eq!(s.after_failure(d, 3), on(8));
        assert_eq!(s.after_failure(d, 4), AfterFailure::PastDue);
        assert_eq!(s.max_attempts(), 4);
    }

    fn history() -> impl Strategy<Value = Vec<CountChange>> {
        // Instants from September to January around November 2026, adds before deletes
        // kept valid (the count never goes below zero) by construction below.
        let lo = BillingMonth::new(2026, 9).unwrap().start_millis();
        let hi = BillingMonth::new(2027, 1).unwrap().end_millis();
        proptest::collection::vec((lo..hi, any::<bool>()), 0..200).prop_map(|mut v| {
            v.sort();
            let mut count = 0i64;
            v.into_iter()
                .map(|(t, is_add)| {
                    let delta = if is_add || count == 0 { 1 } else { -1 };
                    count += delta;
                    CountChange {
                        at_millis: t,
                        delta,
                    }
                })
                .collect()
        })
    }

    proptest! {
        #[test]
        fn the_next_charge_is_never_before_today_nor_a_month_and_more_away(
            days in 0u64..4000, last in 1u32..=28, this in 1u32..=28,
        ) {
            let today = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap() + Days::new(days);
            let next = next_charge_date_on(today, last, this);
            prop_assert!(next > today);
            prop_assert!(next <= today + Days::new(59));
            prop_assert!(next == BillingMonth::containing(today).previous().charge_date_on(last)
                || next == BillingMonth::containing(today).charge_date_on(this));
        }

        #[test]
        fn peak_is_between_the_closing_count_and_everyone_ever_created(changes in history()) {
            let month = nov();
            let peak = peak_users(&changes, month);
            let closing: i64 = changes.iter().filter(|c| c.at_millis < month.end_millis()).map(|c| c.delta).sum();
            let created = changes.iter().filter(|c| c.delta > 0 && c.at_millis < month.end_millis()).count() as u64;
            prop_assert!(peak >= closing.max(0) as u64);
            prop_assert!(peak <= created);
        }

        #[test]
        fn peak_does_not_depend_on_input_order(mut changes in history(), seed in any::<u64>()) {
            let want = peak_users(&changes, nov());
            let n = changes.len();
            if n > 1 {
                for i in 0..n {
                    let j = (seed as usize).wrapping_mul(i + 7) % n;
                    changes.swap(i, j);
                }
            }
            prop_assert_eq!(peak_users(&changes, nov()), want);
        }

        #[test]
        fn invoice_is_price_times_users_past_ten(peak in 0u64..100_000, cents in 0i64..100_000) {
            let plan = Plan::per_user(Money::usd(cents));
            let want = cents * (peak.saturating_sub(10) as i64);
            prop_assert_eq!(plan.invoice_amount(peak), Some(Money::usd(want)));
        }

        #[test]
        fn month_bounds_tile_time(year in 1971i32..2200, month in 1u32..=12) {
            let m = BillingMonth::new(year, month).unwrap();
            prop_assert_eq!(m.end_millis(), m.next().start_millis());
            prop_assert_eq!(date_of_millis(m.start_millis()), Some(m.first_day()));
            prop_assert_eq!(date_of_millis(m.end_millis() - 1), Some(m.last_day()));
        }
    }
}
