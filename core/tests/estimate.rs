//! The estimate is the invoice: with random histories of users added and removed, and plans
//! changed during the month (for the next), the Billing page's estimate on any day equals, to the minor unit,
//! the invoice a run on the month's last day makes when nothing changes after that day; the
//! what-if's answer equals the invoice of the history with its change made; and the peak's
//! explanation agrees with the peak.

use proptest::prelude::*;
use tally_core::{
    billing::{daily_peaks, date_start_millis, peak_users, BillingMonth, CountChange, Plan},
    estimate::{explain_peak, month_amounts, what_if, WhatIfChange},
    money::{Currency, Money},
    vat::{TaxCategory, Treatment},
    NaiveDate,
};

const DAY: i64 = 86_400_000;

fn month() -> BillingMonth {
    BillingMonth::new(2026, 10).unwrap()
}

/// A history: 0–30 users before the month, then changes from five days before it to five
/// after, at random instants (several may share one).
fn history() -> impl Strategy<Value = Vec<CountChange>> {
    (
        0i64..30,
        proptest::collection::vec(
            (
                0i64..41 * DAY,
                prop_oneof![Just(1i64), Just(-1i64), Just(4i64), Just(-2i64)],
            ),
            0..80,
        ),
    )
        .prop_map(|(opening, changes)| {
            let origin = month().start_millis() - 5 * DAY;
            let mut h = vec![CountChange {
                at_millis: origin - 1,
                delta: opening,
            }];
            // Histories never go below zero users: a removal needs a user.
            let mut sorted = changes;
            sorted.sort_by_key(|c| c.0);
            let mut count = opening;
            for (at, delta) in sorted {
                if count + delta >= 0 {
                    count += delta;
                    h.push(CountChange {
                        at_millis: origin + at,
                        delta,
                    });
                }
            }
            h
        })
}

fn currency() -> impl Strategy<Value = Currency> {
    prop_oneof![
        Just(Currency::Usd),
        Just(Currency::Eur),
        Just(Currency::Gbp),
        Just(Currency::Chf),
        Just(Currency::Jpy)
    ]
}

fn treatment() -> impl Strategy<Value = Option<Treatment>> {
    prop_oneof![
        Just(None),
        (0u32..=2700).prop_map(|rate_bp| Some(Treatment {
            category: TaxCategory::Standard,
            rate_bp
        })),
        Just(Some(Treatment {
            category: TaxCategory::ReverseCharge,
            rate_bp: 0
        })),
    ]
}

/// The plan the month began on, then plans the seller sets during it, each on a day: as in
/// Tally, a change made during a month starts with the next one.
fn plans(c: Currency) -> impl Strategy<Value = Vec<(u32, Plan)>> {
    proptest::collection::vec((1u32..=31, 0i64..100_000, 0u64..15, 1u32..=28), 1..4).prop_map(
        move |mut v| {
            v.sort_by_key(|p| p.0);
            v.into_iter()
                .map(|(day, price, free, billing_day)| {
                    (
                        day,
                        Plan {
                            price_per_user: Money::new(price, c),
                            free_users: free,
                            billing_day,
                        },
                    )
                })
                .collect()
        },
    )
}

/// Next month's plan as known at the end of `day`: the last set during the month by then, or
/// the month's own.
fn next_plan_known_on(plans: &[(u32, Plan)], day: u32) -> Plan {
    plans[1..]
        .iter()
        .rev()
        .find(|(set_on, _)| *set_on <= day)
        .unwrap_or(&plans[0])
        .1
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// On any day, the estimate (the peak so far as the Billing page reads it, from the day
    /// by day peaks, on the month's plan) equals the invoice a run on the last day makes (the
    /// month's peak of the whole history), whenever no user changes after that day, whatever
    /// plans are set during the month (they start with the next). And what the page projects
    /// for next month, with the plan set for it so far, is next month's invoice if nothing
    /// changes after that day.
    #[test]
    fn the_estimate_is_the_invoice(
        h in history(),
        c in currency(),
        p in plans(Currency::Usd),
        t in treatment(),
        today in 1u32..=31,
    ) {
        let m = month();
        let p: Vec<(u32, Plan)> = p.into_iter().map(|(d, plan)| (d, Plan { price_per_user: Money::new(plan.price_per_user.minor(), c), ..plan })).collect();
        let day = NaiveDate::from_ymd_opt(2026, 10, today).unwrap();
        let end_of_today = date_start_millis(day) + DAY;
        // Nothing happens after today: the run sees the same history.
        let so_far: Vec<CountChange> = h.iter().copied().filter(|x| x.at_millis < end_of_today).collect();
        let this_month = p[0].1;
        // The plans set so far: nothing is set after today either (the first was set before
        // the month began).
        let p: Vec<(u32, Plan)> = std::iter::once(p[0]).chain(p[1..].iter().copied().filter(|(d, _)| *d <= today)).collect();

        let peak_so_far = daily_peaks(&so_far, m, day).into_iter().max().unwrap_or(0);
        let users_now = so_far.iter().map(|x| x.delta).sum::<i64>().max(0) as u64;
        let zero = Money::zero(c);
        let estimate = month_amounts(&this_month, peak_so_far, t.as_ref(), zero);
        let invoice = month_amounts(&this_month, peak_users(&so_far, m), t.as_ref(), zero);
        prop_assert_eq!(estimate, invoice);
        if let Some(a) = invoice {
            // The invoice adds up: net = billable × price, gross = net + tax, nothing negative.
            prop_assert_eq!(a.net, this_month.price_per_user.checked_mul(this_month.billable_users(peak_users(&so_far, m))).unwrap());
            prop_assert_eq!(a.gross.minor(), a.net.minor() + a.tax.minor());
            prop_assert!(a.tax.minor() >= 0 && a.due == a.gross);
        }
        // Next month, as the what-if projects it with no change, on the plan set for it.
        let next = what_if(users_now, peak_so_far, WhatIfChange::Add(0), &this_month, &next_plan_known_on(&p, today), t.as_ref());
        prop_assert_eq!(next.this_month, invoice);
        prop_assert_eq!(next.next_month, month_amounts(&next_plan_known_on(&p, 31), peak_users(&so_far, m.next()), t.as_ref(), zero));
    }

    /// The what-if's answer is the invoice of the history with its change made today: this
    /// month's, and next month's if nothing else changes.
    #[test]
    fn what_if_is_the_invoice_of_the_change(
        h in history(),
        c in currency(),
        price in 0i64..100_000,
        next_price in 0i64..100_000,
        t in treatment(),
        today in 1u32..=31,
        add in any::<bool>(),
        n in 1u64..40,
    ) {
        let m = month();
        let plan = Plan { price_per_user: Money::new(price, c), free_users: 10, billing_day: 1 };
        let next_plan = Plan { price_per_user: Money::new(next_price, c), free_users: 5, billing_day: 3 };
        let day = NaiveDate::from_ymd_opt(2026, 10, today).unwrap();
        // The what-if is asked at noon today, after everything so far.
        let now = date_start_millis(day) + DAY / 2;
        let so_far: Vec<CountChange> = h.iter().copied().filter(|x| x.at_millis < now).collect();
        let users_now = so_far.iter().map(|x| x.delta).sum::<i64>().max(0) as u64;
        let peak_so_far = peak_users(&so_far, m);
        let change = if add {
            WhatIfChange::Add(n)
        } else {
            match WhatIfChange::parse("remove", &n.to_string(), users_now) {
                Ok(c) => c,
                Err(_) => return Ok(()),
            }
        };
        let answer = what_if(users_now, peak_so_far, change, &plan, &next_plan, t.as_ref());
        let delta = if add { n as i64 } else { -(n as i64) };
        let with_change = [&so_far[..], &[CountChange { at_millis: now, delta }]].concat();
        let zero = Money::zero(c);
        prop_assert_eq!(answer.peak, peak_users(&with_change, m));
        prop_assert_eq!(answer.this_month, month_amounts(&plan, peak_users(&with_change, m), t.as_ref(), zero));
        prop_assert_eq!(answer.next_month, month_amounts(&next_plan, peak_users(&with_change, m.next()), t.as_ref(), zero));
    }

    /// The explanation's peak is the largest day's; its steps climb to it, each higher than any count
    /// before it in the month; it was reached on the day of the last.
    #[test]
    fn the_peak_explained_is_the_peak(h in history()) {
        let m = month();
        let e = explain_peak(&h, m);
        // The day-by-day reading is a separate one: its largest day is the peak.
        let days = daily_peaks(&h, m, m.last_day());
        prop_assert_eq!(e.peak, days.iter().copied().max().unwrap_or(0));
        let mut high = e.opening;
        for s in &e.steps {
            prop_assert!(s.users > high, "{:?} after {}", s, high);
            prop_assert!(s.at_millis > m.start_millis() && s.at_millis < m.end_millis());
            high = s.users;
        }
        prop_assert_eq!(high, e.peak);
        let first_day_at_peak = days.iter().position(|&d| d == e.peak).unwrap() as u32 + 1;
        prop_assert_eq!(e.reached_on, NaiveDate::from_ymd_opt(2026, 10, first_day_at_peak).unwrap());
    }
}
