//! Property tests across the parsers: they never panic, spacing never matters, Luhn catches
//! every single-digit change, and formatting round-trips.

use proptest::prelude::*;
use tally_core::{
    card::{self, AcceptedBrands, CardNumber, Cvc},
    expiry::{self, Expiry},
    NaiveDate,
};

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 26).unwrap()
}

/// The Luhn check digit that completes `body`.
fn check_digit(body: &[u8]) -> u8 {
    for d in 0..10u8 {
        let mut v = body.to_vec();
        v.push(d);
        if card::luhn_valid(&v) {
            return d;
        }
    }
    unreachable!()
}

/// Valid numbers of every brand and length: a real prefix, random middle, Luhn check digit.
fn valid_number() -> impl Strategy<Value = String> {
    let shapes: Vec<(&str, usize)> = vec![
        ("4", 16),
        ("4", 19),
        ("51", 16),
        ("55", 16),
        ("2221", 16),
        ("2720", 16),
        ("34", 15),
        ("37", 15),
        ("6011", 16),
        ("6011", 19),
        ("644", 16),
        ("65", 19),
        ("300", 14),
        ("36", 14),
        ("38", 16),
        ("3528", 16),
        ("3589", 19),
        ("62", 16),
        ("62", 19),
    ];
    proptest::sample::select(shapes).prop_flat_map(|(prefix, len)| {
        proptest::collection::vec(0u8..10, len - prefix.len() - 1).prop_map(move |middle| {
            let mut digits: Vec<u8> = prefix.bytes().map(|b| b - b'0').collect();
            digits.extend(middle);
            let c = check_digit(&digits);
            digits.push(c);
            digits
                .iter()
                .map(|d| char::from(b'0' + d))
                .collect::<String>()
        })
    })
}

/// `s` with spaces or dashes inserted at random places.
fn sprinkle(s: &str, seps: &[(usize, bool)]) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        for (at, dash) in seps {
            if *at == i {
                out.push(if *dash { '-' } else { ' ' });
            }
        }
        out.push(c);
    }
    out
}

proptest! {
    #[test]
    fn parsers_never_panic_on_any_string(s in "\\PC{0,40}", caret in 0usize..60) {
        let all = AcceptedBrands::all();
        let _ = CardNumber::parse(&s, &all);
        let _ = card::typing_state(&s, &all);
        let _ = card::detect_brand(&s);
        let _ = card::format_for_typing(&s, caret);
        let _ = Cvc::parse(&s, card::detect_brand(&s));
        let _ = Expiry::parse(&s, today());
        let _ = expiry::format_for_typing(&s);
    }

    #[test]
    fn digit_strings_never_panic_either(s in "[0-9 /-]{0,30}") {
        let _ = CardNumber::parse(&s, &AcceptedBrands::all());
        let _ = Expiry::parse(&s, today());
    }

    #[test]
    fn every_generated_valid_number_parses(n in valid_number()) {
        let c = CardNumber::parse(&n, &AcceptedBrands::all());
        prop_assert!(c.is_ok(), "{} -> {:?}", n, c);
    }

    #[test]
    fn spaces_and_dashes_do_not_change_the_result(
        n in valid_number(),
        seps in proptest::collection::vec((0usize..20, any::<bool>()), 0..6),
    ) {
        let all = AcceptedBrands::all();
        let plain = CardNumber::parse(&n, &all).unwrap();
        let spaced = CardNumber::parse(&sprinkle(&n, &seps), &all).unwrap();
        prop_assert_eq!(plain, spaced);
    }

    #[test]
    fn changing_any_single_digit_breaks_luhn(n in valid_number(), pos in 0usize..19, bump in 1u8..10) {
        let mut digits: Vec<u8> = n.bytes().map(|b| b - b'0').collect();
        let i = pos % digits.len();
        digits[i] = (digits[i] + bump) % 10;
        prop_assert!(!card::luhn_valid(&digits));
    }

    #[test]
    fn formatting_then_parsing_round_trips(n in valid_number()) {
        let all = AcceptedBrands::all();
        let (shown, caret) = card::format_for_typing(&n, n.len());
        prop_assert_eq!(caret, shown.chars().count());
        prop_assert_eq!(CardNumber::parse(&shown, &all).unwrap(), CardNumber::parse(&n, &all).unwrap());
        // Formatting is idempotent.
        prop_assert_eq!(card::format_for_typing(&shown, caret).0, shown);
    }

    #[test]
    fn expiry_display_parses_back(month in 1u32..=12, years_ahead in 0i32..=19) {
        let year = 2027 + years_ahead.min(18);
        let e = Expiry::from_parts(year, month).unwrap();
        prop_assert_eq!(Expiry::parse(&e.to_string(), today()), Ok(e));
        prop_assert_eq!(Expiry::parse(&format!("{:02}/{}", month, year), today()), Ok(e));
    }
}

/// A Luhn-valid digit string of `len` digits from `body` (as many digits as it takes), and a
/// near miss: the same with a wrong check digit.
fn card_and_near_miss(body: &[u8], len: usize) -> (Vec<u8>, Vec<u8>) {
    let mut digits = body[..len - 1].to_vec();
    let check = check_digit(&digits);
    let mut miss = digits.clone();
    miss.push((check + 1 + body[len] % 9) % 10);
    digits.push(check);
    (digits, miss)
}

fn text_of(digits: &[u8]) -> String {
    digits.iter().map(|d| char::from(b'0' + d)).collect()
}

/// `digits` split into groups of `size` joined by `sep`.
fn grouped(digits: &[u8], size: usize, sep: &str) -> String {
    digits
        .chunks(size)
        .map(text_of)
        .collect::<Vec<_>>()
        .join(sep)
}

proptest! {
    /// Every length a card number has, written together or in groups with any separator,
    /// anywhere in text: found.
    #[test]
    fn a_card_number_in_text_is_found_at_every_length_with_every_separator(
        body in proptest::collection::vec(0u8..10, 20),
        len in 13usize..=19,
        size in 3usize..=6,
        sep in prop::sample::select(vec!["", " ", "-", ".", " - ", "\u{a0}", "–"]),
        before in "[A-Za-z ,:]{0,12}",
        after in "[A-Za-z ,:/]{0,12}",
    ) {
        let (card, _) = card_and_near_miss(&body, len);
        let text = format!("{before} {} {after}", grouped(&card, size, sep));
        prop_assert!(tally_core::card_in_text::contains_card_number(&text), "{}", text);
    }

    /// The same number with a wrong check digit is ordinary text (split in two halves, so no
    /// shorter run of whole groups has 13 digits).
    #[test]
    fn a_luhn_near_miss_passes_as_text(
        body in proptest::collection::vec(0u8..10, 20),
        len in 13usize..=19,
        sep in prop::sample::select(vec!["", " ", "-", "."]),
        before in "[A-Za-z ,:]{0,12}",
    ) {
        let (_, miss) = card_and_near_miss(&body, len);
        let text = format!("{before} {}", grouped(&miss, len.div_ceil(2), sep));
        prop_assert!(!tally_core::card_in_text::contains_card_number(&text), "{}", text);
    }

    /// Longer digit strings (an order number) and shorter ones (phone numbers, dates, amounts)
    /// are never card numbers, Luhn or not.
    #[test]
    fn longer_and_shorter_digit_strings_are_not_card_numbers(
        long in proptest::collection::vec(0u8..10, 20..40),
        short in proptest::collection::vec(proptest::collection::vec(0u8..10, 1..=4), 1..=3),
        before in "[A-Za-z ]{0,8}",
    ) {
        let order = format!("{before}Order {}", text_of(&long));
        prop_assert!(!tally_core::card_in_text::contains_card_number(&order), "{}", order);
        // At most 12 digits in groups: "+1 555 123 4567", "2026-11-30".
        let phone = format!("+{}", short.iter().map(|g| text_of(g)).collect::<Vec<_>>().join(" "));
        prop_assert!(!tally_core::card_in_text::contains_card_number(&phone), "{}", phone);
    }

    #[test]
    fn the_finder_never_panics(s in "\\PC*") {
        let _ = tally_core::card_in_text::contains_card_number(&s);
    }
}

proptest! {
    /// The Billing page's day-by-day chart agrees with the invoice: over the whole month the
    /// largest daily peak is the month's peak, and up to any day it is the peak so far.
    #[test]
    fn daily_peaks_agree_with_the_months_peak(
        changes in proptest::collection::vec((0i64..40 * 86_400_000, prop_oneof![Just(1i64), Just(-1i64), Just(3i64)]), 0..60),
        cut in 1u32..31,
    ) {
        use tally_core::billing::{daily_peaks, peak_users, BillingMonth, CountChange};
        let month = BillingMonth::new(2026, 10).unwrap();
        // From five days before the month to five after; opening with 5 users.
        let origin = month.start_millis() - 5 * 86_400_000;
        let mut history = vec![CountChange { at_millis: origin - 1, delta: 5 }];
        history.extend(changes.iter().map(|(at, delta)| CountChange { at_millis: origin + at, delta: *delta }));
        let days = daily_peaks(&history, month, month.last_day());
        prop_assert_eq!(days.len(), 31);
        prop_assert_eq!(days.iter().copied().max().unwrap(), peak_users(&history, month));
        // Cut at the end of day `cut`: the changes after it do not exist yet.
        let through = NaiveDate::from_ymd_opt(2026, 10, cut).unwrap();
        let end = tally_core::billing::date_start_millis(through) + 86_400_000;
        let so_far: Vec<CountChange> = history.iter().copied().filter(|c| c.at_millis < end).collect();
        let partial = daily_peaks(&so_far, month, through);
        prop_assert_eq!(partial.len(), cut as usize);
        prop_assert_eq!(&partial[..], &days[..cut as usize]);
        prop_assert_eq!(partial.iter().copied().max().unwrap(), peak_users(&so_far, month));
    }
}
