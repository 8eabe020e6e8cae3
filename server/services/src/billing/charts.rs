//! The Billing page's charts, drawn here as SVG so they read without scripts and add nothing
//! to the browser's code: this month's user count day by day against the free users and the
//! peak, and the last 12 months' peaks and charges. The page puts a table of the same figures
//! beside each for screen readers; the pictures themselves are hidden from them.

use std::fmt::Write;

use tally_core::{billing::BillingMonth, views::billing::MonthCharge};

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 36.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 18.0;
const BOTTOM: f64 = 28.0;

/// Text for SVG: `<`, `>`, `&` and quotes escaped.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A scale's top: a round number at or above `max` (at least 5), and its tick step.
fn scale(max: u64) -> (u64, u64) {
    let max = max.max(5);
    let step = match max {
        0..=10 => 2,
        11..=25 => 5,
        26..=50 => 10,
        51..=100 => 20,
        101..=250 => 50,
        251..=500 => 100,
        _ => 10u64.pow((max as f64).log10().floor() as u32),
    };
    (max.div_ceil(step) * step, step)
}

fn open(out: &mut String, class: &str) {
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart {class}" viewBox="0 0 {WIDTH} {HEIGHT}" preserveAspectRatio="xMidYMid meet" aria-hidden="true" focusable="false">"#
    );
}

/// The y axis's grid lines and labels up to `top`; returns the y of a count.
fn axis(out: &mut String, top: u64, step: u64) -> impl Fn(u64) -> f64 {
    let plot = HEIGHT - TOP - BOTTOM;
    let y = move |v: u64| TOP + plot - plot * (v as f64) / (top as f64);
    let mut v = 0;
    while v <= top {
        let _ = write!(
            out,
            r#"<line class="grid" x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}"/><text class="tick" x="{}" y="{:.1}" text-anchor="end">{v}</text>"#,
            WIDTH - RIGHT,
            LEFT - 6.0,
            y(v) + 4.0,
            y = y(v),
        );
        v += step;
    }
    y
}

/// This month, day by day: a bar for each day so far (its largest user count), the free users
/// as a dashed line and the peak so far as a line with its figure; the days to come are empty.
pub fn month_svg(month: BillingMonth, daily: &[u64], free_users: u64) -> String {
    let days = month
        .last_day()
        .format("%d")
        .to_string()
        .parse::<u64>()
        .unwrap_or(31);
    let peak = daily.iter().copied().max().unwrap_or(0);
    let (top, step) = scale(peak.max(free_users) + 1);
    let mut out = String::new();
    open(&mut out, "chart-month");
    let y = axis(&mut out, top, step);
    let slot = (WIDTH - LEFT - RIGHT) / days as f64;
    for (i, users) in daily.iter().enumerate() {
        let x = LEFT + slot * i as f64 + slot * 0.15;
        let _ = write!(
            out,
            r#"<rect class="bar" x="{x:.1}" y="{:.1}" width="{:.1}" height="{:.1}"/>"#,
            y(*users),
            slot * 0.7,
            y(0) - y(*users)
        );
    }
    for day in (1..=days).filter(|d| *d == 1 || d % 5 == 0) {
        let x = LEFT + slot * (day as f64 - 0.5);
        let _ = write!(
            out,
            r#"<text class="tick" x="{x:.1}" y="{:.1}" text-anchor="middle">{day}</text>"#,
            HEIGHT - BOTTOM + 16.0
        );
    }
    let _ = write!(
        out,
        r#"<line class="free" x1="{LEFT}" x2="{}" y1="{fy:.1}" y2="{fy:.1}"/><text class="label" x="{}" y="{:.1}" text-anchor="end">{free_users} free</text>"#,
        WIDTH - RIGHT,
        WIDTH - RIGHT - 4.0,
        y(free_users) - 4.0,
        fy = y(free_users),
    );
    if !daily.is_empty() {
        let _ = write!(
            out,
            r#"<line class="peak" x1="{LEFT}" x2="{}" y1="{py:.1}" y2="{py:.1}"/><text class="label peak-label" x="{}" y="{:.1}">Peak so far {peak}</text>"#,
            WIDTH - RIGHT,
            LEFT + 4.0,
            y(peak) - 4.0,
            py = y(peak),
        );
    }
    out.push_str("</svg>");
    out
}

/// The last months' invoices: a bar per month's peak, its charge above it, the free users as
/// a dashed line.
pub fn year_svg(months: &[MonthCharge], free_users: u64) -> String {
    let peak = months.iter().map(|m| m.peak_users).max().unwrap_or(0);
    let (top, step) = scale(peak.max(free_users) + 1);
    let mut out = String::new();
    open(&mut out, "chart-year");
    let y = axis(&mut out, top, step);
    let slot = (WIDTH - LEFT - RIGHT) / 12.0;
    for (i, m) in months.iter().enumerate() {
        let x = LEFT + slot * i as f64;
        let label = BillingMonth::parse(&m.month)
            .map(|b| b.first_day().format("%b %y").to_string())
            .unwrap_or_else(|| m.month.clone());
        let _ = write!(
            out,
            r#"<rect class="bar" x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}"/><text class="amount" x="{:.1}" y="{:.1}" text-anchor="middle">{}</text><text class="tick" x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            x + slot * 0.2,
            y(m.peak_users),
            slot * 0.6,
            y(0) - y(m.peak_users),
            x + slot * 0.5,
            y(m.peak_users) - 4.0,
            esc(&m.amount.to_string()),
            x + slot * 0.5,
            HEIGHT - BOTTOM + 16.0,
            esc(&label),
        );
    }
    let _ = write!(
        out,
        r#"<line class="free" x1="{LEFT}" x2="{}" y1="{fy:.1}" y2="{fy:.1}"/>"#,
        WIDTH - RIGHT,
        fy = y(free_users),
    );
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_are_round_and_above_the_data() {
        assert_eq!(scale(0), (6, 2));
        assert_eq!(scale(11), (15, 5));
        assert_eq!(scale(38), (40, 10));
        assert_eq!(scale(1234), (2000, 1000));
    }

    #[test]
    fn the_month_chart_has_a_bar_per_day_so_far_and_marks_the_free_users_and_the_peak() {
        let month = BillingMonth::new(2026, 11).unwrap();
        let svg = month_svg(month, &[12, 15, 37, 20], 10);
        assert_eq!(svg.matches("class=\"bar\"").count(), 4);
        assert!(svg.contains(">10 free<") && svg.contains(">Peak so far 37<"));
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(
            svg.contains("aria-hidden=\"true\""),
            "the table beside it is what is read"
        );
    }

    #[test]
    fn the_year_chart_labels_each_month_with_its_charge() {
        let months = vec![
            MonthCharge {
                month: "2026-09".into(),
                peak_users: 8,
                amount: tally_core::money::Money::usd(0),
            },
            MonthCharge {
                month: "2026-10".into(),
                peak_users: 37,
                amount: tally_core::money::Money::usd(13_500),
            },
        ];
        let svg = year_svg(&months, 10);
        assert!(svg.contains(">$135.00<") && svg.contains(">$0.00<"));
        assert!(svg.contains(">Oct 26<") && svg.contains(">Sep 26<"));
    }
}
