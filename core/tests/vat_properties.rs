//! Property tests of tax on invoices: the amounts add up to the cent, the tax is the rate's
//! share rounded once, credit never takes an invoice below zero, and the rules decide as
//! `docs/tax.md` says for every seller and customer.

use proptest::prelude::*;
use tally_core::{
    billing::Plan,
    money::{Currency, Money},
    tax_id::TaxId,
    vat::{
        is_eu, parse_registrations, registrations_text, tax_on, InvoiceAmounts, SellerTax,
        TaxCategory, TaxRegistration, Treatment, EU_STANDARD_RATES,
    },
};

fn country() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(
            EU_STANDARD_RATES
                .iter()
                .map(|(c, _)| *c)
                .collect::<Vec<_>>()
        ),
        proptest::sample::select(vec!["US", "GB", "CH", "NO", "AU", "CA", "IN", "JP"]),
    ]
    .prop_map(str::to_string)
}

fn seller() -> impl Strategy<Value = SellerTax> {
    (
        country(),
        proptest::collection::vec((country(), 0u32..=3000), 0..6),
        any::<bool>(),
    )
        .prop_map(|(home, regs, oss)| {
            let mut registrations: Vec<TaxRegistration> = Vec::new();
            for (country, rate_bp) in regs {
                if !registrations.iter().any(|r| r.country == country) {
                    registrations.push(TaxRegistration { country, rate_bp });
                }
            }
            SellerTax {
                home,
                registrations,
                oss,
            }
        })
}

/// A valid VAT number of some EU member states, and a few IDs that are not EU VAT numbers.
fn tax_id() -> impl Strategy<Value = Option<TaxId>> {
    proptest::sample::select(vec![
        None,
        Some(("DE136695976", "DE")),
        Some(("FR40303265045", "FR")),
        Some(("ATU13585627", "AT")),
        Some(("EL094259216", "GR")),
        Some(("GB980780684", "GB")),
        Some(("91-1144442", "US")),
    ])
    .prop_map(|t| t.map(|(id, c)| TaxId::parse(id, c).unwrap().unwrap()))
}

fn currency() -> impl Strategy<Value = Currency> {
    proptest::sample::select(Currency::ALL.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// In every currency, to its minor unit (the cent; the yen).
    #[test]
    fn amounts_add_up_to_the_minor_unit_in_every_currency(
        net in 0i64..=1_000_000_000_000,
        rate_bp in 0u32..=5000,
        credit in 0i64..=2_000_000_000_000,
        taxed in any::<bool>(),
        currency in currency(),
    ) {
        let treatment = Treatment { category: TaxCategory::Standard, rate_bp };
        let money = |minor| Money::new(minor, currency);
        let a = InvoiceAmounts::of(money(net), taxed.then_some(&treatment), money(credit)).unwrap();
        for m in [a.net, a.tax, a.gross, a.credit_applied, a.due] {
            prop_assert_eq!(m.currency(), currency);
        }
        prop_assert_eq!(a.net.minor(), net);
        prop_assert_eq!(a.gross.minor(), a.net.minor() + a.tax.minor());
        prop_assert_eq!(a.due.minor(), a.gross.minor() - a.credit_applied.minor());
        prop_assert!(a.due.minor() >= 0);
        prop_assert_eq!(a.credit_applied.minor(), credit.min(a.gross.minor()));
        if !taxed {
            prop_assert_eq!(a.tax, money(0));
        }
        // The tax is the rate's exact share, rounded once: never more than half a cent off.
        let exact = i128::from(net) * i128::from(if taxed { rate_bp } else { 0 });
        let off = (i128::from(a.tax.minor()) * 10_000 - exact).abs();
        prop_assert!(off <= 5_000, "{} off by {} / 10000 cent", a.tax.minor(), off);
    }

    #[test]
    fn credit_in_another_currency_is_never_taken_off(net in 0i64..=1_000_000, credit in 1i64..=1_000_000, x in currency(), y in currency()) {
        prop_assume!(x != y);
        prop_assert_eq!(InvoiceAmounts::of(Money::new(net, x), None, Money::new(credit, y)), None);
    }

    #[test]
    fn tax_grows_with_the_net(net in 0i64..=1_000_000_000, more in 0i64..=1_000_000, rate_bp in 0u32..=5000) {
        let t = |n| tax_on(Money::usd(n), rate_bp).unwrap();
        prop_assert!(t(net) <= t(net + more));
    }

    #[test]
    fn an_invoice_on_a_plan_adds_up_in_every_currency(
        price in 0i64..=1_000_000,
        free in 0u64..=100,
        peak in 0u64..=100_000,
        rate_bp in 0u32..=5000,
        currency in currency(),
    ) {
        let plan = Plan { price_per_user: Money::new(price, currency), free_users: free, billing_day: 1 };
        let net = plan.invoice_amount(peak).unwrap();
        let t = Treatment { category: TaxCategory::Standard, rate_bp };
        let a = InvoiceAmounts::of(net, Some(&t), Money::zero(currency)).unwrap();
        prop_assert_eq!(a.due.currency(), currency);
        prop_assert_eq!(a.net.minor(), price * peak.saturating_sub(free) as i64);
        prop_assert_eq!(a.due, a.gross);
    }

    #[test]
    fn the_rules_decide_as_documented(s in seller(), customer in country(), id in tax_id()) {
        let t = s.treatment(Some(&customer), id.as_ref());
        let registered = |c: &str| s.registrations.iter().find(|r| r.country == c).map(|r| r.rate_bp);
        let Some(t) = t else {
            prop_assert!(s.registrations.is_empty());
            return Ok(());
        };
        prop_assert!(!s.registrations.is_empty());
        let eu_business = id.as_ref().and_then(TaxId::eu_vat_country).is_some_and(|c| c != s.home);
        match t.category {
            TaxCategory::ReverseCharge => {
                prop_assert_eq!(t.rate_bp, 0);
                prop_assert!(is_eu(&customer) && customer != s.home && eu_business);
            }
            TaxCategory::OutsideScope => {
                prop_assert_eq!(t.rate_bp, 0);
                prop_assert!(customer != s.home);
                prop_assert_eq!(registered(&customer), None);
            }
            TaxCategory::Standard => {
                if customer == s.home {
                    prop_assert_eq!(t.rate_bp, registered(&customer).unwrap_or(0));
                } else if !is_eu(&customer) {
                    prop_assert_eq!(Some(t.rate_bp), registered(&customer));
                } else {
                    prop_assert!(!eu_business);
                    let oss_rate = EU_STANDARD_RATES.iter().find(|(c, _)| *c == customer).map(|(_, r)| *r);
                    let expected = if s.oss { oss_rate } else { None }
                        .or(registered(&customer))
                        .or(registered(&s.home));
                    prop_assert_eq!(Some(t.rate_bp), expected);
                }
            }
        }
    }

    #[test]
    fn registrations_read_back_as_shown(s in seller()) {
        let text = registrations_text(&s.registrations);
        prop_assert_eq!(parse_registrations(&text).unwrap(), s.registrations);
    }

    #[test]
    fn registrations_never_panic(text in "\\PC{0,60}") {
        let _ = parse_registrations(&text);
    }
}
