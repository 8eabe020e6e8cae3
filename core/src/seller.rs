//! The seller: the company that runs Tally and is paid by its customer accounts. Its details
//! as typed at set-up (and later in its settings), and a plan as typed by an operator — the
//! same rules in the browser as the fields are typed and on the server.

use serde::{Deserialize, Serialize};

use crate::{
    address::{Address, AddressInput},
    billing::{Plan, FREE_USERS},
    contact::{required_text, Email},
    forms::{parse_address, person, FieldErrors},
    money::Money,
};

/// The most a user can cost a month: a typo's extra zeros are caught, a real price is not.
pub const MAX_PRICE_PER_USER: Money = Money::from_cents(1_000_000);
/// The most free users a plan can give.
pub const MAX_FREE_USERS: u64 = 1_000_000;

/// A plan as typed: the price per user as a decimal amount, the free users as a count.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanInput {
    pub price_per_user: String,
    pub free_users: String,
}

impl Default for PlanInput {
    /// The article's plan: $5.00 a user beyond the first 10.
    fn default() -> Self {
        Self::from(&Plan::per_user(Money::from_cents(500)))
    }
}

impl From<&Plan> for PlanInput {
    fn from(plan: &Plan) -> Self {
        let cents = plan.price_per_user.cents();
        Self {
            price_per_user: format!("{}.{:02}", cents / 100, cents % 100),
            free_users: plan.free_users.to_string(),
        }
    }
}

impl PlanInput {
    /// Checks both fields into `e` (named `price_per_user` and `free_users`).
    pub fn check(&self, e: &mut FieldErrors) -> Option<Plan> {
        let price = e.check("price_per_user", price_per_user(&self.price_per_user));
        let free = e.check("free_users", free_users(&self.free_users));
        Some(Plan {
            price_per_user: price?,
            free_users: free?,
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

/// A monthly price per user, e.g. `5`, `5.00` or `$12.50`.
pub fn price_per_user(input: &str) -> Result<Money, String> {
    let input = input.trim();
    if input.is_empty() {
        return Err("Enter the monthly price per user, e.g. 5.00.".into());
    }
    match Money::parse_dollars(input) {
        None => Err("Enter an amount such as 5.00: digits, with at most 2 decimals.".into()),
        Some(m) if m > MAX_PRICE_PER_USER => Err(format!(
            "A user can cost at most {MAX_PRICE_PER_USER} a month."
        )),
        Some(m) => Ok(m),
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

/// The seller's details as typed: printed on invoices and in emails.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SellerInput {
    pub legal_name: String,
    pub contact_email: String,
    pub address: AddressInput,
    pub plan: PlanInput,
}

/// The seller's details, checked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SellerDetails {
    pub legal_name: String,
    pub contact_email: Email,
    pub address: Address,
    /// The plan a new customer account starts on.
    pub default_plan: Plan,
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
        let plan = self.plan.check(e);
        Some(SellerDetails {
            legal_name: legal_name?,
            contact_email: contact_email?,
            address: address?,
            default_plan: plan?,
        })
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
                plan: PlanInput::default(),
            },
            first_name: "Olive".into(),
            last_name: "Ng".into(),
            email: "olive@seller.test".into(),
        }
    }

    #[test]
    fn a_filled_form_makes_the_seller_on_the_articles_plan() {
        let new = filled().parse().unwrap();
        assert_eq!(
            new.seller.default_plan,
            Plan::per_user(Money::from_cents(500))
        );
        assert_eq!(new.email.as_str(), "olive@seller.test");
    }

    #[test]
    fn every_missing_field_is_named_at_once() {
        let e = NewSellerInput {
            seller: SellerInput {
                plan: PlanInput {
                    price_per_user: String::new(),
                    free_users: String::new(),
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
        assert_eq!(price_per_user(" $12.5 "), Ok(Money::from_cents(1250)));
        assert_eq!(price_per_user("0"), Ok(Money::ZERO));
        assert!(price_per_user("5.001").unwrap_err().contains("2 decimals"));
        assert!(price_per_user("-5").is_err());
        assert!(price_per_user("10000.01")
            .unwrap_err()
            .contains("$10,000.00"));
        assert_eq!(free_users("0"), Ok(0));
        assert!(free_users("ten").unwrap_err().contains("whole number"));
        assert!(free_users("1000001").is_err());
    }

    proptest! {
        #[test]
        fn a_plan_reads_back_as_written(cents in 0i64..=1_000_000, free in 0u64..=MAX_FREE_USERS) {
            let plan = Plan { price_per_user: Money::from_cents(cents), free_users: free };
            prop_assert_eq!(PlanInput::from(&plan).parse(), Ok(plan));
        }
    }
}
