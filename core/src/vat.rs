//! Value added tax on invoices: which rate an invoice bears, given where the seller is
//! registered and who the customer is, and how the tax is rounded. The billing run and the
//! Billing page's estimate both come here ([`InvoiceAmounts::of`]), so the estimate is the
//! invoice to the cent.
//!
//! The rules, in order (`docs/tax.md` says the same for people):
//! 1. A seller registered nowhere charges no tax: invoices carry none, as before.
//! 2. A customer in the seller's own country pays the rate the seller registered there.
//! 3. A business in another EU member state whose EU VAT number checks out pays 0 %: the
//!    customer accounts for the VAT (reverse charge, Article 196 of Directive 2006/112/EC).
//! 4. Anyone else in the EU (a consumer, a business without a VAT number) pays, where the
//!    seller registered for the One-Stop Shop, the standard rate of the customer's country
//!    from [`EU_STANDARD_RATES`]; else the rate of the seller's registration in that country;
//!    else the seller's own rate.
//! 5. Outside the EU: the rate of the seller's registration in the customer's country, else
//!    0 %, outside the scope of EU VAT.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{country::country_name, money::Money, tax_id::TaxId};

/// The standard VAT rate of each EU member state, in basis points (1900 = 19 %), as in force
/// in 2026. One-Stop Shop invoices charge the customer's country's rate from here.
pub const EU_STANDARD_RATES: &[(&str, u32)] = &[
    ("AT", 2000),
    ("BE", 2100),
    ("BG", 2000),
    ("CY", 1900),
    ("CZ", 2100),
    ("DE", 1900),
    ("DK", 2500),
    ("EE", 2400),
    ("ES", 2100),
    ("FI", 2550),
    ("FR", 2000),
    ("GR", 2400),
    ("HR", 2500),
    ("HU", 2700),
    ("IE", 2300),
    ("IT", 2200),
    ("LT", 2100),
    ("LU", 1700),
    ("LV", 2100),
    ("MT", 1800),
    ("NL", 2100),
    ("PL", 2300),
    ("PT", 2300),
    ("RO", 2100),
    ("SE", 2500),
    ("SI", 2200),
    ("SK", 2300),
];

/// The most registrations a seller keeps.
pub const MAX_REGISTRATIONS: usize = 60;
/// The highest rate a registration may have, in basis points (50 %).
pub const MAX_RATE_BP: u32 = 5000;

/// Whether `country` (ISO 3166 alpha-2) is an EU member state.
pub fn is_eu(country: &str) -> bool {
    eu_standard_rate(country).is_some()
}

/// The standard VAT rate of an EU member state, in basis points.
pub fn eu_standard_rate(country: &str) -> Option<u32> {
    EU_STANDARD_RATES
        .iter()
        .find(|(c, _)| *c == country)
        .map(|(_, r)| *r)
}

/// A rate in basis points as people write it: `19 %`, `25.5 %`, `8.1 %`, `0 %`.
pub fn rate_label(rate_bp: u32) -> String {
    let whole = rate_bp / 100;
    match rate_bp % 100 {
        0 => format!("{whole} %"),
        f if f % 10 == 0 => format!("{whole}.{} %", f / 10),
        f => format!("{whole}.{f:02} %"),
    }
}

/// A rate in basis points as EN 16931 writes a percentage: `19`, `25.5`, `8.1`, `0`.
pub fn rate_decimal(rate_bp: u32) -> String {
    rate_label(rate_bp).trim_end_matches(" %").to_string()
}

/// Where the seller charges VAT: a country and the rate it charges there.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxRegistration {
    pub country: String,
    pub rate_bp: u32,
}

impl fmt::Display for TaxRegistration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.country, rate_label(self.rate_bp))
    }
}

/// How the seller stands for tax: its own country, where it is registered, and whether it
/// declares its EU consumers' VAT through the One-Stop Shop.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SellerTax {
    /// The seller's country (its address's).
    pub home: String,
    pub registrations: Vec<TaxRegistration>,
    pub oss: bool,
}

impl SellerTax {
    fn rate_in(&self, country: &str) -> Option<u32> {
        self.registrations
            .iter()
            .find(|r| r.country == country)
            .map(|r| r.rate_bp)
    }

    /// The tax an invoice to the customer of `info` (its billing information; none: unknown)
    /// bears: its address's country and its tax ID decide. The billing run and the estimate
    /// both ask this.
    pub fn treatment_for(&self, info: Option<&crate::forms::BillingInfo>) -> Option<Treatment> {
        self.treatment(
            info.map(|i| i.address.country.as_str()),
            info.and_then(|i| i.tax_id.as_ref()),
        )
    }

    /// The tax an invoice to a customer in `country` (its billing address's; `None` when
    /// unknown) with `tax_id` bears; `None` when the seller charges no tax at all.
    pub fn treatment(&self, country: Option<&str>, tax_id: Option<&TaxId>) -> Option<Treatment> {
        if self.registrations.is_empty() {
            return None;
        }
        let standard = |rate_bp| Treatment {
            category: TaxCategory::Standard,
            rate_bp,
        };
        // An unknown country is treated as the seller's own.
        let country = country.filter(|c| !c.is_empty()).unwrap_or(&self.home);
        if country == self.home {
            return Some(standard(self.rate_in(country).unwrap_or(0)));
        }
        if is_eu(country) {
            let business = tax_id
                .and_then(TaxId::eu_vat_country)
                .is_some_and(|c| c != self.home && is_eu(c));
            if business {
                return Some(Treatment {
                    category: TaxCategory::ReverseCharge,
                    rate_bp: 0,
                });
            }
            let rate = if self.oss {
                eu_standard_rate(country)
            } else {
                None
            }
            .or_else(|| self.rate_in(country))
            .or_else(|| self.rate_in(&self.home));
            return Some(match rate {
                Some(rate) => standard(rate),
                None => Treatment {
                    category: TaxCategory::OutsideScope,
                    rate_bp: 0,
                },
            });
        }
        Some(match self.rate_in(country) {
            Some(rate) => standard(rate),
            None => Treatment {
                category: TaxCategory::OutsideScope,
                rate_bp: 0,
            },
        })
    }
}

/// How an invoice is taxed: the EN 16931 VAT category and the rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Treatment {
    pub category: TaxCategory,
    /// Basis points: 1900 is 19 %.
    pub rate_bp: u32,
}

impl Treatment {
    /// What the invoice says about its tax under the totals, if anything.
    pub fn note(&self) -> Option<&'static str> {
        self.category.note()
    }

    /// "VAT 19 %", "VAT 0 % (reverse charge)", "VAT 0 % (outside the scope of EU VAT)".
    pub fn label(&self) -> String {
        match self.category {
            TaxCategory::Standard => format!("VAT {}", rate_label(self.rate_bp)),
            TaxCategory::ReverseCharge => "VAT 0 % (reverse charge)".into(),
            TaxCategory::OutsideScope => "VAT 0 % (outside the scope of EU VAT)".into(),
        }
    }
}

/// The EN 16931 VAT categories Tally's invoices use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TaxCategory {
    /// `S`: the standard rate of a country the seller is registered in.
    Standard,
    /// `AE`: VAT reverse charge; the customer accounts for it.
    ReverseCharge,
    /// `O`: not subject to VAT (outside the scope of EU VAT).
    OutsideScope,
}

impl TaxCategory {
    /// The UNCL 5305 code EN 16931 uses.
    pub fn code(self) -> &'static str {
        match self {
            Self::Standard => "S",
            Self::ReverseCharge => "AE",
            Self::OutsideScope => "O",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        [Self::Standard, Self::ReverseCharge, Self::OutsideScope]
            .into_iter()
            .find(|c| c.code() == code)
    }

    /// The words an invoice of this category must carry.
    pub fn note(self) -> Option<&'static str> {
        match self {
            Self::Standard => None,
            Self::ReverseCharge => Some(
                "Reverse charge: the customer accounts for the VAT (Article 196, Directive 2006/112/EC).",
            ),
            Self::OutsideScope => Some("Outside the scope of EU VAT."),
        }
    }
}

/// The tax on `net` at `rate_bp`, rounded to the currency's minor unit (the cent; the yen),
/// halves away from zero: 19 % of 0.50 is 0.095, charged as 0.10; 10 % of ¥15 is ¥2. `None`
/// on overflow.
pub fn tax_on(net: Money, rate_bp: u32) -> Option<Money> {
    let product = i128::from(net.minor()) * i128::from(rate_bp);
    let half = 5_000 * product.signum();
    let minor = (product + half) / 10_000;
    i64::try_from(minor).ok().map(|m| net.with_minor(m))
}

/// An invoice's amounts: what the users cost, the tax on it, their sum, the credit taken
/// off and what is left to pay.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceAmounts {
    pub net: Money,
    pub tax: Money,
    pub gross: Money,
    pub credit_applied: Money,
    pub due: Money,
}

impl InvoiceAmounts {
    /// The amounts of an invoice for `net` under `treatment` (none: no tax), with up to
    /// `credit` (the account's balance) taken off the gross. `None` on overflow, or when the
    /// credit is in another currency than the net.
    pub fn of(net: Money, treatment: Option<&Treatment>, credit: Money) -> Option<Self> {
        if credit.currency() != net.currency() {
            return None;
        }
        let tax = match treatment {
            Some(t) => tax_on(net, t.rate_bp)?,
            None => Money::zero(net.currency()),
        };
        let gross = net.checked_add(tax)?;
        let credit_applied = net.with_minor(credit.minor().clamp(0, gross.minor().max(0)));
        Some(Self {
            net,
            tax,
            gross,
            credit_applied,
            due: gross.checked_sub(credit_applied)?,
        })
    }
}

/// The seller's registrations as typed: one per line or separated by commas, a country (its
/// code or name) and a rate (`DE 19 %`, `France 20`, `CH 8.1%`); an EU country's rate may be
/// left out for its standard rate.
pub fn parse_registrations(input: &str) -> Result<Vec<TaxRegistration>, String> {
    let mut found: Vec<TaxRegistration> = Vec::new();
    for item in input
        .split(['\n', ',', ';'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let registration = parse_registration(item)?;
        if found.iter().any(|r| r.country == registration.country) {
            return Err(format!(
                "{} is listed twice; keep one rate per country.",
                name_of(&registration.country)
            ));
        }
        found.push(registration);
    }
    if found.len() > MAX_REGISTRATIONS {
        return Err(format!(
            "List at most {MAX_REGISTRATIONS} countries (this has {}).",
            found.len()
        ));
    }
    Ok(found)
}

fn name_of(code: &str) -> &str {
    country_name(code).unwrap_or(code)
}

fn parse_registration(item: &str) -> Result<TaxRegistration, String> {
    let starts_rate = item
        .char_indices()
        .find(|(_, c)| c.is_ascii_digit())
        .map_or(item.len(), |(i, _)| i);
    let (place, rate) = item.split_at(starts_rate);
    let place = place.trim();
    let country = crate::country::COUNTRIES
        .iter()
        .find(|(code, name)| {
            code.eq_ignore_ascii_case(place)
                || name.eq_ignore_ascii_case(place)
                || (place.eq_ignore_ascii_case("EL") && *code == "GR")
        })
        .map(|(code, _)| *code)
        .ok_or_else(|| {
            if place.is_empty() {
                format!("Start \u{201c}{item}\u{201d} with a country, such as DE 19 %.")
            } else {
                format!(
                    "\u{201c}{place}\u{201d} is not a country: use its two-letter code or its name, such as DE 19 %."
                )
            }
        })?;
    let rate = rate.trim().trim_end_matches('%').trim();
    let rate_bp = if rate.is_empty() {
        eu_standard_rate(country).ok_or_else(|| {
            format!(
                "Add the rate you charge in {}, such as {country} 20 %.",
                name_of(country)
            )
        })?
    } else {
        parse_rate(rate).ok_or_else(|| {
            format!(
                "\u{201c}{rate}\u{201d} is not a rate for {}: write a percentage with up to 2 decimals, such as 19 or 8.1.",
                name_of(country)
            )
        })?
    };
    if rate_bp > MAX_RATE_BP {
        return Err(format!(
            "{} for {} is more than any VAT rate; write a percentage such as 19.",
            rate_label(rate_bp),
            name_of(country)
        ));
    }
    Ok(TaxRegistration {
        country: country.to_string(),
        rate_bp,
    })
}

/// `19`, `8.1`, `25.50` → basis points.
fn parse_rate(rate: &str) -> Option<u32> {
    let (whole, frac) = rate.split_once('.').unwrap_or((rate, ""));
    if whole.is_empty()
        || whole.len() > 3
        || frac.len() > 2
        || !whole
            .bytes()
            .chain(frac.bytes())
            .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let whole: u32 = whole.parse().ok()?;
    let frac: u32 = format!("{frac:0<2}").parse().ok()?;
    Some(whole * 100 + frac)
}

/// The registrations as the settings form shows them: `DE 19 %, FR 20 %`.
pub fn registrations_text(registrations: &[TaxRegistration]) -> String {
    registrations
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seller(home: &str, regs: &[(&str, u32)], oss: bool) -> SellerTax {
        SellerTax {
            home: home.into(),
            registrations: regs
                .iter()
                .map(|(c, r)| TaxRegistration {
                    country: (*c).into(),
                    rate_bp: *r,
                })
                .collect(),
            oss,
        }
    }

    fn id(s: &str, country: &str) -> TaxId {
        TaxId::parse(s, country).unwrap().unwrap()
    }

    fn standard(rate_bp: u32) -> Option<Treatment> {
        Some(Treatment {
            category: TaxCategory::Standard,
            rate_bp,
        })
    }

    const REVERSE: Option<Treatment> = Some(Treatment {
        category: TaxCategory::ReverseCharge,
        rate_bp: 0,
    });
    const OUTSIDE: Option<Treatment> = Some(Treatment {
        category: TaxCategory::OutsideScope,
        rate_bp: 0,
    });

    #[test]
    fn a_seller_registered_nowhere_charges_no_tax() {
        let s = seller("DE", &[], false);
        assert_eq!(s.treatment(Some("DE"), None), None);
        assert_eq!(s.treatment(Some("US"), None), None);
    }

    #[test]
    fn a_customer_at_home_pays_the_home_rate_with_or_without_a_vat_number() {
        let s = seller("DE", &[("DE", 1900)], false);
        assert_eq!(s.treatment(Some("DE"), None), standard(1900));
        assert_eq!(
            s.treatment(Some("DE"), Some(&id("DE136695976", "DE"))),
            standard(1900)
        );
        // An unknown country counts as the seller's.
        assert_eq!(s.treatment(None, None), standard(1900));
    }

    #[test]
    fn an_eu_business_elsewhere_is_reverse_charged() {
        let s = seller("FR", &[("FR", 2000)], true);
        let t = s.treatment(Some("DE"), Some(&id("DE136695976", "DE")));
        assert_eq!(t, REVERSE);
        assert!(t.unwrap().note().unwrap().contains("Article 196"));
        // Greece's VAT numbers start EL.
        assert_eq!(
            s.treatment(Some("GR"), Some(&id("EL094259216", "GR"))),
            REVERSE
        );
    }

    #[test]
    fn an_eu_consumer_pays_the_sellers_rate_or_their_own_under_oss() {
        let s = seller("DE", &[("DE", 1900)], false);
        assert_eq!(s.treatment(Some("FR"), None), standard(1900));
        // A tax ID that is not an EU VAT number does not make a business here.
        assert_eq!(
            s.treatment(Some("FR"), Some(&TaxId::stored("123"))),
            standard(1900)
        );
        let oss = seller("DE", &[("DE", 1900)], true);
        assert_eq!(oss.treatment(Some("FR"), None), standard(2000));
        assert_eq!(oss.treatment(Some("FI"), None), standard(2550));
        // Registered in the customer's country without OSS: that registration's rate.
        let fr = seller("DE", &[("DE", 1900), ("FR", 2000)], false);
        assert_eq!(fr.treatment(Some("FR"), None), standard(2000));
    }

    #[test]
    fn outside_the_eu_no_vat_unless_registered_there() {
        let s = seller("DE", &[("DE", 1900), ("CH", 810)], true);
        assert_eq!(s.treatment(Some("US"), None), OUTSIDE);
        assert_eq!(
            s.treatment(Some("GB"), Some(&id("GB980780684", "GB"))),
            OUTSIDE
        );
        assert_eq!(s.treatment(Some("CH"), None), standard(810));
        assert_eq!(
            OUTSIDE.unwrap().note(),
            Some("Outside the scope of EU VAT.")
        );
    }

    #[test]
    fn tax_rounds_halves_away_from_zero() {
        let t = |cents, bp| tax_on(Money::usd(cents), bp).unwrap().minor();
        assert_eq!(t(50, 1900), 10); // 9.5 cents
        assert_eq!(t(1000, 1900), 190);
        assert_eq!(t(999, 1900), 190); // 189.81
        assert_eq!(t(26, 1900), 5); // 4.94
        assert_eq!(t(-50, 1900), -10);
        assert_eq!(t(12345, 0), 0);
        assert_eq!(t(100, 2550), 26); // 25.5
        assert_eq!(t(i64::MAX, 5000), i64::MAX / 2 + 1);
    }

    #[test]
    fn credit_comes_off_the_gross() {
        let rc = Treatment {
            category: TaxCategory::Standard,
            rate_bp: 1900,
        };
        let a = InvoiceAmounts::of(Money::usd(10_000), Some(&rc), Money::usd(500)).unwrap();
        assert_eq!(
            (a.net.minor(), a.tax.minor(), a.gross.minor()),
            (10_000, 1_900, 11_900)
        );
        assert_eq!((a.credit_applied.minor(), a.due.minor()), (500, 11_400));
        let all = InvoiceAmounts::of(Money::usd(100), Some(&rc), Money::usd(500)).unwrap();
        assert_eq!((all.credit_applied.minor(), all.due.minor()), (119, 0));
        let none = InvoiceAmounts::of(Money::usd(100), None, Money::usd(0)).unwrap();
        assert_eq!((none.tax.minor(), none.due.minor()), (0, 100));
    }

    #[test]
    fn registrations_read_leniently() {
        let r = parse_registrations("DE 19 %\nfrance 20, CH 8.1%; fi").unwrap();
        assert_eq!(
            registrations_text(&r),
            "DE 19 %, FR 20 %, CH 8.1 %, FI 25.5 %"
        );
        assert_eq!(parse_registrations("  ").unwrap(), vec![]);
        assert_eq!(
            parse_registrations("EL 24").unwrap()[0].country,
            "GR".to_string()
        );
        let back = parse_registrations(&registrations_text(&r)).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn registrations_say_what_is_wrong() {
        assert_eq!(
            parse_registrations("Atlantis 10").unwrap_err(),
            "\u{201c}Atlantis\u{201d} is not a country: use its two-letter code or its name, such as DE 19 %."
        );
        assert_eq!(
            parse_registrations("US").unwrap_err(),
            "Add the rate you charge in United States, such as US 20 %."
        );
        assert_eq!(
            parse_registrations("DE 19, de 7").unwrap_err(),
            "Germany is listed twice; keep one rate per country."
        );
        assert!(parse_registrations("DE 19.555")
            .unwrap_err()
            .contains("up to 2 decimals"));
        assert!(parse_registrations("DE 190")
            .unwrap_err()
            .contains("more than any VAT rate"));
        assert!(parse_registrations("19")
            .unwrap_err()
            .starts_with("Start \u{201c}19\u{201d} with a country"));
    }

    #[test]
    fn rates_print_as_people_write_them() {
        assert_eq!(rate_label(1900), "19 %");
        assert_eq!(rate_label(2550), "25.5 %");
        assert_eq!(rate_label(810), "8.1 %");
        assert_eq!(rate_label(1025), "10.25 %");
        assert_eq!(rate_decimal(2550), "25.5");
        assert_eq!(rate_decimal(0), "0");
    }

    #[test]
    fn the_rates_table_is_the_member_states() {
        assert_eq!(EU_STANDARD_RATES.len(), 27);
        assert!(EU_STANDARD_RATES.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(!is_eu("GB") && !is_eu("CH") && !is_eu("NO"));
    }
}
