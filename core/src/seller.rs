//! The seller: the company that runs Tally and is paid by its customer accounts. Its details
//! as typed at set-up (and later in its settings), and a plan as typed by an operator — the
//! same rules in the browser as the fields are typed and on the server.

use serde::{Deserialize, Serialize};

use crate::{
    address::{Address, AddressInput},
    billing::{Plan, RetrySchedule, FIRST_BILLING_DAY, FREE_USERS, LAST_BILLING_DAY},
    contact::{required_text, Email},
    forms::{parse_address, person, FieldErrors},
    money::{Currency, Money},
    tax_id::TaxId,
    vat::{parse_registrations, registrations_text, SellerTax, TaxRegistration},
};

/// The most free users a plan can give.
pub const MAX_FREE_USERS: u64 = 1_000_000;

/// A plan as typed: the currency's code (blank: US dollars), the price per user as a decimal
/// amount in it, the free users as a count, the billing day as a day of the month (blank: the
/// 1st).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanInput {
    #[serde(default)]
    pub currency: String,
    pub price_per_user: String,
    pub free_users: String,
    #[serde(default)]
    pub billing_day: String,
}

impl Default for PlanInput {
    /// The article's plan: $5.00 a user beyond the first 10.
    fn default() -> Self {
        Self::from(&Plan::per_user(Money::usd(500)))
    }
}

impl From<&Plan> for PlanInput {
    fn from(plan: &Plan) -> Self {
        Self {
            currency: plan.price_per_user.currency().code().to_string(),
            price_per_user: plan.price_per_user.decimal(),
            free_users: plan.free_users.to_string(),
            billing_day: plan.billing_day.to_string(),
        }
    }
}

impl PlanInput {
    /// Checks the fields into `e` (named `currency`, `price_per_user`, `free_users` and
    /// `billing_day`).
    pub fn check(&self, e: &mut FieldErrors) -> Option<Plan> {
        let currency = e.check("currency", currency(&self.currency));
        // A price is still checked when the currency is not: as dollars.
        let price = e.check(
            "price_per_user",
            price_per_user(&self.price_per_user, currency.unwrap_or_default()),
        );
        currency?;
        let free = e.check("free_users", free_users(&self.free_users));
        let day = e.check("billing_day", billing_day(&self.billing_day));
        Some(Plan {
            price_per_user: price?,
            free_users: free?,
            billing_day: day?,
        })
    }

    pub fn parse(&self) -> Result<Plan, FieldErrors> {
        let mut e = FieldErrors::new();
        let plan = self.check(&mut e);
        match plan {
            Some(p) if e.is_empty() => Ok(p),
            _ => Err(e),
        }
    }
}

/// A plan's currency by its code; blank is US dollars.
pub fn currency(input: &str) -> Result<Currency, String> {
    if input.trim().is_empty() {
        return Ok(Currency::Usd);
    }
    Currency::parse(input).ok_or_else(|| {
        let codes: Vec<&str> = Currency::ALL.iter().map(|c| c.code()).collect();
        format!(
            "Choose one of the currencies Tally bills in: {}.",
            codes.join(", ")
        )
    })
}

/// A monthly price per user in `currency`, e.g. `5`, `5.00`, `$12.50` or `¥500`.
pub fn price_per_user(input: &str, currency: Currency) -> Result<Money, String> {
    let input = input.trim();
    let example = Money::new(5 * currency.scale(), currency).decimal();
    let example = if currency == Currency::Jpy {
        "500".to_string()
    } else {
        example
    };
    if input.is_empty() {
        return Err(format!("Enter the monthly price per user, e.g. {example}."));
    }
    let max = currency.max_price_per_user();
    match Money::parse_typed(input, currency, &example)? {
        m if m > max => Err(format!("A user can cost at most {max} a month.")),
        m => Ok(m),
    }
}

/// How many users a month are free, e.g. `10`.
pub fn free_users(input: &str) -> Result<u64, String> {
    let input = input.trim();
    if input.is_empty() {
        return Err(format!(
            "Enter how many users are free each month ({FREE_USERS} in the standard plan)."
        ));
    }
    match input.parse::<u64>() {
        Ok(n) if n <= MAX_FREE_USERS => Ok(n),
        Ok(_) => Err(format!("At most {MAX_FREE_USERS} users can be free.")),
        Err(_) => Err("Enter a whole number of users, such as 10.".into()),
    }
}

/// The day of the month a month is invoiced and charged on, e.g. `15`; blank for the 1st.
pub fn billing_day(input: &str) -> Result<u32, String> {
    let input = input.trim();
    let input = input
        .strip_suffix("st")
        .or_else(|| input.strip_suffix("nd"))
        .or_else(|| input.strip_suffix("rd"))
        .or_else(|| input.strip_suffix("th"))
        .unwrap_or(input)
        .trim_end();
    if input.is_empty() {
        return Ok(FIRST_BILLING_DAY);
    }
    match input.parse::<u32>() {
        Ok(day) if (FIRST_BILLING_DAY..=LAST_BILLING_DAY).contains(&day) => Ok(day),
        Ok(_) => Err(format!(
            "Choose a day from {FIRST_BILLING_DAY} to {LAST_BILLING_DAY}: every month has them."
        )),
        Err(_) => Err("Enter a day of the month as a number, such as 15.".into()),
    }
}

/// The seller's details as typed: printed on invoices and in emails.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SellerInput {
    pub legal_name: String,
    pub contact_email: String,
    pub address: AddressInput,
    /// The seller's own VAT number or other tax ID, printed on its invoices.
    #[serde(default)]
    pub tax_id: String,
    pub plan: PlanInput,
}

/// The seller's details, checked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SellerDetails {
    pub legal_name: String,
    pub contact_email: Email,
    pub address: Address,
    pub tax_id: Option<TaxId>,
    /// The plan a new customer account starts on.
    pub default_plan: Plan,
}

impl SellerDetails {
    /// Who issues the invoices, as they print it: the legal name, the address and the tax ID,
    /// one line each.
    pub fn invoice_header(&self) -> String {
        let mut lines = vec![self.legal_name.clone()];
        lines.extend(self.address.printed_lines());
        lines.extend(
            self.tax_id
                .as_ref()
                .map(|t| format!("Tax ID: {}", t.official())),
        );
        lines.join("\n")
    }
}

impl SellerInput {
    /// Checks every field into `e` (`legal_name`, `contact_email`, the address's fields
    /// unprefixed, `price_per_user`, `free_users`).
    pub fn check(&self, e: &mut FieldErrors) -> Option<SellerDetails> {
        let legal_name = e.check(
            "legal_name",
            required_text(&self.legal_name, "legal name", 200),
        );
        let contact_email = e.check("contact_email", Email::parse(&self.contact_email));
        let address = parse_address(&self.address, "", e);
        let tax_id = e.check(
            "tax_id",
            TaxId::parse(&self.tax_id, self.address.country.trim()),
        );
        let plan = self.plan.check(e);
        Some(SellerDetails {
            legal_name: legal_name?,
            contact_email: contact_email?,
            address: address?,
            tax_id: tax_id?,
            default_plan: plan?,
        })
    }
}

/// The most retries a schedule holds, and the latest day after the first failure one falls on.
pub const MAX_RETRIES: usize = 6;
pub const MAX_RETRY_DAY: u32 = 60;
/// The longest an account can be past due before it is suspended automatically.
pub const MAX_AUTO_SUSPEND_DAYS: u32 = 365;

/// The seller's settings page as typed: its details and default plan, the retry schedule of
/// failed charges, and automatic suspension (blank: off).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsInput {
    pub seller: SellerInput,
    /// Days after the first failed charge to try again, e.g. `1, 3, 7`.
    pub retry_days: String,
    /// Days an invoice may stay unpaid after its first failed charge before the account is
    /// suspended; blank for never.
    pub auto_suspend_days: String,
    /// Where the seller charges VAT, e.g. `DE 19 %, FR 20 %` (blank: nowhere, no tax).
    #[serde(default)]
    pub tax_registrations: String,
    /// The seller declares its EU consumers' VAT through the One-Stop Shop.
    #[serde(default)]
    pub oss: bool,
}

/// The seller's settings, checked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SellerSettings {
    pub details: SellerDetails,
    pub retry: RetrySchedule,
    pub auto_suspend_after_days: Option<u32>,
    pub tax_registrations: Vec<TaxRegistration>,
    pub oss: bool,
}

impl SellerSettings {
    /// How the seller stands for tax: its address's country and its registrations.
    pub fn tax(&self) -> SellerTax {
        SellerTax {
            home: self.details.address.country.clone(),
            registrations: self.tax_registrations.clone(),
            oss: self.oss,
        }
    }
}

impl From<&SellerSettings> for SettingsInput {
    fn from(s: &SellerSettings) -> Self {
        let d = &s.details;
        Self {
            seller: SellerInput {
                legal_name: d.legal_name.clone(),
                contact_email: d.contact_email.to_string(),
                address: AddressInput::from(&d.address),
                tax_id: d.tax_id.as_ref().map(TaxId::official).unwrap_or_default(),
                plan: PlanInput::from(&d.default_plan),
            },
            retry_days: s
                .retry
                .days_after_first_failure
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            auto_suspend_days: s
                .auto_suspend_after_days
                .map_or_else(String::new, |d| d.to_string()),
            tax_registrations: registrations_text(&s.tax_registrations),
            oss: s.oss,
        }
    }
}

impl SettingsInput {
    /// Checks every field (the seller's as [`SellerInput::check`], `retry_days`,
    /// `auto_suspend_days`).
    pub fn parse(&self) -> Result<SellerSettings, FieldErrors> {
        let mut e = FieldErrors::new();
        let details = self.seller.check(&mut e);
        let retry = e.check("retry_days", retry_days(&self.retry_days));
        let auto = e.check(
            "auto_suspend_days",
            auto_suspend_days(&self.auto_suspend_days),
        );
        let registrations = e.check(
            "tax_registrations",
            parse_registrations(&self.tax_registrations),
        );
        // An invoice that charges VAT carries the seller's VAT number.
        if registrations.as_ref().is_some_and(|r| !r.is_empty())
            && self.seller.tax_id.trim().is_empty()
        {
            e.add(
                "tax_id",
                "Enter your VAT number: invoices that charge VAT must carry it.",
            );
        }
        match (details, retry, auto, registrations) {
            (
                Some(details),
                Some(retry),
                Some(auto_suspend_after_days),
                Some(tax_registrations),
            ) if e.is_empty() => Ok(SellerSettings {
                details,
                retry,
                auto_suspend_after_days,
                tax_registrations,
                oss: self.oss,
            }),
            _ => Err(e),
        }
    }
}

/// A retry schedule as typed: days after the first failed charge, ascending, e.g. `1, 3, 7`.
pub fn retry_days(input: &str) -> Result<RetrySchedule, String> {
    let parts: Vec<&str> = input
        .split([',', ' ', ';'])
        .filter(|p| !p.is_empty())
        .collect();
    if parts.is_empty() {
        return Err("Enter the days to try a failed charge again, such as 1, 3, 7.".into());
    }
    let mut days = Vec::with_capacity(parts.len());
    for p in parts {
        match p.parse::<u32>() {
            Ok(d) if (1..=MAX_RETRY_DAY).contains(&d) => days.push(d),
            _ => {
                return Err(format!(
                    "Each day is a whole number from 1 to {MAX_RETRY_DAY}, such as 1, 3, 7."
                ))
            }
        }
    }
    if days.windows(2).any(|w| w[0] >= w[1]) {
        return Err(
            "List the days in order, each later than the one before, such as 1, 3, 7.".into(),
        );
    }
    if days.len() > MAX_RETRIES {
        return Err(format!("At most {MAX_RETRIES} retries."));
    }
    Ok(RetrySchedule {
        days_after_first_failure: days,
    })
}

/// Days past due before automatic suspension: blank for never.
pub fn auto_suspend_days(input: &str) -> Result<Option<u32>, String> {
    let input = input.trim();
    if input.is_empty() {
        return Ok(None);
    }
    match input.parse::<u32>() {
        Ok(d) if (1..=MAX_AUTO_SUSPEND_DAYS).contains(&d) => Ok(Some(d)),
        _ => Err(format!(
            "Enter a number of days from 1 to {MAX_AUTO_SUSPEND_DAYS}, or leave it blank to never suspend automatically."
        )),
    }
}

/// First start's form as typed: the seller and its first operator (an Owner). The password
/// is checked apart, as at every other form that chooses one.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewSellerInput {
    pub seller: SellerInput,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
}

/// The seller and its first operator, checked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewSeller {
    pub seller: SellerDetails,
    pub first_name: String,
    pub last_name: String,
    pub email: Email,
}

impl NewSellerInput {
    pub fn parse(&self) -> Result<NewSeller, FieldErrors> {
        let mut e = FieldErrors::new();
        let seller = self.seller.check(&mut e);
        let (first_name, last_name, email) =
            person(&mut e, &self.first_name, &self.last_name, &self.email);
        let value = (|| {
            Some(NewSeller {
                seller: seller?,
                first_name: first_name?,
                last_name: last_name?,
                email: email?,
            })
        })();
        match value {
            Some(v) if e.is_empty() => Ok(v),
            _ => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn filled() -> NewSellerInput {
        NewSellerInput {
            seller: SellerInput {
                legal_name: "Tally Seller Ltd".into(),
                contact_email: "billing@seller.test".into(),
                address: AddressInput {
                    country: "US".into(),
                    line1: "1 Market St".into(),
                    line2: String::new(),
                    city: "San Francisco".into(),
                    region: "CA".into(),
                    postal_code: "94105".into(),
                },
                tax_id: "12-3456789".into(),
                plan: PlanInput::default(),
            },
            first_name: "Olive".into(),
            last_name: "Ng".into(),
            email: "olive@seller.test".into(),
        }
    }

    #[test]
    fn settings_read_back_as_written_and_each_field_says_what_is_wrong() {
        let settings = SettingsInput {
            seller: filled().seller,
            retry_days: "1, 3; 7".into(),
            auto_suspend_days: "".into(),
            tax_registrations: "de\nFrance 20 %".into(),
            oss: true,
        };
        let mut untaxed = settings.clone();
        untaxed.seller.tax_id = String::new();
        assert_eq!(
            untaxed.parse().unwrap_err().get("tax_id"),
            Some("Enter your VAT number: invoices that charge VAT must carry it.")
        );
        let settings = settings.parse().unwrap();
        assert_eq!(settings.retry.days_after_first_failure, [1, 3, 7]);
        assert_eq!(settings.auto_suspend_after_days, None);
        assert_eq!(settings.tax().home, settings.details.address.country);
        assert!(settings.tax().oss);
        let again = SettingsInput::from(&settings);
        assert_eq!(
            (
                again.retry_days.as_str(),
                again.auto_suspend_days.as_str(),
                again.tax_registrations.as_str()
            ),
            ("1, 3, 7", "", "DE 19 %, FR 20 %")
        );
        assert_eq!(again.parse().unwrap(), settings);
        for (typed, message) in [
            (
                "",
                "Enter the days to try a failed charge again, such as 1, 3, 7.",
            ),
            (
                "1, 0",
                "Each day is a whole number from 1 to 60, such as 1, 3, 7.",
            ),
            (
                "3, 1",
                "List the days in order, each later than the one before, such as 1, 3, 7.",
            ),
            ("1,2,3,4,5,6,7", "At most 6 retries."),
        ] {
            assert_eq!(retry_days(typed).unwrap_err(), message, "{typed:?}");
        }
        assert_eq!(auto_suspend_days(" 30 ").unwrap(), Some(30));
        assert!(auto_suspend_days("0").is_err() && auto_suspend_days("366").is_err());
    }

    #[test]
    fn a_filled_form_makes_the_seller_on_the_articles_plan() {
        let new = filled().parse().unwrap();
        assert_eq!(new.seller.default_plan, Plan::per_user(Money::usd(500)));
        assert_eq!(new.email.as_str(), "olive@seller.test");
        let tax_id = new.seller.tax_id.expect("an EIN for a US address");
        assert_eq!(
            (tax_id.normal(), tax_id.official()),
            ("US123456789".into(), "12-3456789".into())
        );
    }

    #[test]
    fn the_sellers_tax_id_is_checked_for_its_address() {
        let mut typed = filled();
        typed.seller.tax_id = "DE 136 695 977".into();
        let e = typed.parse().unwrap_err();
        assert_eq!(
            e.get("tax_id"),
            Some("The check digits don't match the rest of the number: look for a mistyped digit.")
        );
        typed.seller.tax_id = "07-1234567".into();
        assert!(
            typed.parse().unwrap_err().get("tax_id").is_some(),
            "07 is not an IRS prefix"
        );
    }

    #[test]
    fn every_missing_field_is_named_at_once() {
        let e = NewSellerInput {
            seller: SellerInput {
                plan: PlanInput {
                    currency: String::new(),
                    price_per_user: String::new(),
                    free_users: String::new(),
                    billing_day: String::new(),
                },
                ..SellerInput::default()
            },
            ..NewSellerInput::default()
        }
        .parse()
        .unwrap_err();
        for field in [
            "legal_name",
            "contact_email",
            "country",
            "line1",
            "city",
            "price_per_user",
            "free_users",
            "first_name",
            "last_name",
            "email",
        ] {
            assert!(e.get(field).is_some(), "{field} has no message");
        }
    }

    #[test]
    fn prices_and_free_users_say_what_is_wrong() {
        let usd = |s| price_per_user(s, Currency::Usd);
        assert_eq!(usd(" $12.5 "), Ok(Money::usd(1250)));
        assert_eq!(usd("0"), Ok(Money::usd(0)));
        assert!(usd("5.001").unwrap_err().contains("2 decimals"));
        assert!(usd("-5").is_err());
        assert!(usd("10000.01").unwrap_err().contains("$10,000.00"));
        assert_eq!(
            price_per_user("€4.50", Currency::Eur),
            Ok(Money::new(450, Currency::Eur))
        );
        assert_eq!(
            price_per_user("500", Currency::Jpy),
            Ok(Money::new(500, Currency::Jpy))
        );
        assert_eq!(
            price_per_user("5.50", Currency::Jpy).unwrap_err(),
            "Enter a whole amount such as 500: Japanese yen has no decimals."
        );
        assert!(price_per_user("1000001", Currency::Jpy)
            .unwrap_err()
            .contains("\u{a5}1,000,000"));
        assert_eq!(currency(""), Ok(Currency::Usd));
        assert_eq!(currency("eur"), Ok(Currency::Eur));
        assert_eq!(
            currency("AUD").unwrap_err(),
            "Choose one of the currencies Tally bills in: USD, EUR, GBP, CHF, JPY."
        );
        assert_eq!(free_users("0"), Ok(0));
        assert!(free_users("ten").unwrap_err().contains("whole number"));
        assert!(free_users("1000001").is_err());
    }

    #[test]
    fn a_billing_day_is_a_day_every_month_has() {
        assert_eq!(billing_day(""), Ok(1));
        assert_eq!(billing_day(" 15 "), Ok(15));
        assert_eq!(billing_day("28th"), Ok(28));
        assert_eq!(billing_day("2nd"), Ok(2));
        assert_eq!(
            billing_day("29").unwrap_err(),
            "Choose a day from 1 to 28: every month has them."
        );
        assert!(billing_day("0").is_err());
        assert_eq!(
            billing_day("mid-month").unwrap_err(),
            "Enter a day of the month as a number, such as 15."
        );
        let e = PlanInput {
            billing_day: "31".into(),
            ..PlanInput::default()
        }
        .parse()
        .unwrap_err();
        assert!(e.get("billing_day").is_some());
    }

    proptest! {
        #[test]
        fn a_plan_reads_back_as_written(
            minor in 0i64..=1_000_000, free in 0u64..=MAX_FREE_USERS, day in 1u32..=28,
            currency in proptest::sample::select(Currency::ALL.to_vec()),
        ) {
            let plan = Plan { price_per_user: Money::new(minor, currency), free_users: free, billing_day: day };
            prop_assert_eq!(PlanInput::from(&plan).parse(), Ok(plan));
        }
    }
}
