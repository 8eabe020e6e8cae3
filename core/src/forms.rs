//! Form-level parsing: raw `…Input` (plain strings from the browser) into validated `New…`
//! values, collecting every field's error at once. The browser runs these as people type and
//! the server runs them again on submit: one function, one set of messages.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::{
    address::{country_error, postal_code, region, Address, AddressInput},
    card::{AcceptedBrands, CardNumber, Cvc},
    contact::{cardholder_name, optional_text, required_text, Email, Phone},
    expiry::Expiry,
    roles::Role,
    tax_id::TaxId,
};

/// Messages keyed by field name (the form control's `name`). Empty means valid.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldErrors(BTreeMap<String, String>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `message` for `field`, keeping the first message if there already is one.
    pub fn add(&mut self, field: impl Into<String>, message: impl ToString) {
        self.0
            .entry(field.into())
            .or_insert_with(|| message.to_string());
    }

    /// Runs a field parser, recording its error and returning its value.
    pub fn check<T, E: ToString>(&mut self, field: &str, result: Result<T, E>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.add(field, e);
                None
            }
        }
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).map(String::as_str)
    }

    /// Adds every message of `other` (keeping a field's first message).
    pub fn merge(&mut self, other: FieldErrors) {
        for (field, message) in other.0 {
            self.add(field, message);
        }
    }

    /// Forgets `field`'s message (the user has changed that field since).
    pub fn remove(&mut self, field: &str) {
        self.0.remove(field);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// `Ok(value)` when no field failed, else every error.
    pub(crate) fn finish<T>(self, value: Option<T>) -> Result<T, FieldErrors> {
        match value {
            Some(v) if self.is_empty() => Ok(v),
            _ => Err(self),
        }
    }
}

/// Parses an address whose fields are named `{prefix}country`, `{prefix}line1`, ….
pub fn parse_address(
    input: &AddressInput,
    prefix: &str,
    errors: &mut FieldErrors,
) -> Option<Address> {
    let f = |name: &str| format!("{prefix}{name}");
    let country = input.country.trim().to_uppercase();
    if let Some(msg) = country_error(&country) {
        errors.add(f("country"), msg);
    }
    let line1 = errors.check(
        &f("line1"),
        required_text(&input.line1, "street address", 200),
    );
    let line2 = errors.check(
        &f("line2"),
        optional_text(&input.line2, "second address line", 200),
    );
    let city = errors.check(&f("city"), required_text(&input.city, "city", 100));
    let (region, postal) = if country_error(&country).is_none() {
        (
            errors.check(&f("region"), region(&country, &input.region)),
            errors.check(&f("postal_code"), postal_code(&country, &input.postal_code)),
        )
    } else {
        (None, None)
    };
    Some(Address {
        country,
        line1: line1?,
        line2: line2?,
        city: city?,
        region: region?,
        postal_code: postal?,
    })
}

/// The Billing Information tab as typed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillingInfoInput {
    pub company_name: String,
    pub contact_name: String,
    pub contact_email: String,
    pub contact_phone: String,
    pub address: AddressInput,
    pub tax_id: String,
}

/// Validated billing information: who is billed, and where invoices go.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillingInfo {
    pub company_name: String,
    pub contact_name: String,
    /// The billing contact: invoices and billing answers go here.
    pub contact_email: Email,
    pub contact_phone: Option<Phone>,
    pub address: Address,
    /// Checked for the address's country (or the prefix typed); stored in its normal form.
    pub tax_id: Option<TaxId>,
}

impl BillingInfoInput {
    pub fn parse(&self) -> Result<BillingInfo, FieldErrors> {
        let mut e = FieldErrors::new();
        let company_name = e.check(
            "company_name",
            required_text(&self.company_name, "company name", 200),
        );
        let contact_name = e.check(
            "contact_name",
            required_text(&self.contact_name, "billing contact's name", 200),
        );
        let contact_email = e.check("contact_email", Email::parse(&self.contact_email));
        let contact_phone = e.check("contact_phone", Phone::parse_optional(&self.contact_phone));
        let address = parse_address(&self.address, "", &mut e);
        let tax_id = e.check(
            "tax_id",
            TaxId::parse(&self.tax_id, self.address.country.trim()),
        );
        let value = (|| {
            Some(BillingInfo {
                company_name: company_name?,
                contact_name: contact_name?,
                contact_email: contact_email?,
                contact_phone: contact_phone?,
                address: address?,
                tax_id: tax_id?,
            })
        })();
        e.finish(value)
    }
}

impl From<&BillingInfo> for BillingInfoInput {
    fn from(b: &BillingInfo) -> Self {
        Self {
            company_name: b.company_name.clone(),
            contact_name: b.contact_name.clone(),
            contact_email: b.contact_email.to_string(),
            contact_phone: b
                .contact_phone
                .as_ref()
                .map(|p| p.as_str().to_string())
                .unwrap_or_default(),
            address: AddressInput::from(&b.address),
            tax_id: b.tax_id.as_ref().map(TaxId::official).unwrap_or_default(),
        }
    }
}

/// The Payment Information tab as typed: the cardholder and the card's billing address.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentInfoInput {
    pub cardholder_name: String,
    /// "Same as billing information": the card's address is the billing address.
    pub same_as_billing: bool,
    /// Fields named `card_country`, `card_line1`, … in the form.
    pub address: AddressInput,
}

/// Validated cardholder and card billing address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentInfo {
    pub cardholder_name: String,
    pub address: Address,
}

impl PaymentInfoInput {
    /// With `same_as_billing`, the card's address is `billing_address` (which must exist).
    pub fn parse(&self, billing_address: Option<&Address>) -> Result<PaymentInfo, FieldErrors> {
        let mut e = FieldErrors::new();
        let name = e.check("cardholder_name", cardholder_name(&self.cardholder_name));
        let address = if self.same_as_billing {
            match billing_address {
                Some(a) => Some(a.clone()),
                None => {
                    e.add(
                        "same_as_billing",
                        "Save the billing information first, or enter the card's address.",
                    );
                    None
                }
            }
        } else {
            parse_address(&self.address, "card_", &mut e)
        };
        let value = (|| {
            Some(PaymentInfo {
                cardholder_name: name?,
                address: address?,
            })
        })();
        e.finish(value)
    }
}

/// The card window as typed. Holds the full number and code: it has no `Serialize`-free
/// variant because it must cross the wire once, from the browser to the server function, and
/// its `Debug` is masked so it never reaches a log.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardInput {
    pub number: String,
    pub expiry: String,
    pub cvc: String,
}

impl std::fmt::Debug for CardInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CardInput { number: •••, expiry: •••, cvc: ••• }")
    }
}

/// A card ready for the payment gateway. Never stored: only its token, brand, last 4 and
/// expiry are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewCard {
    pub number: CardNumber,
    pub expiry: Expiry,
    pub cvc: Cvc,
}

impl CardInput {
    pub fn parse(
        &self,
        accepted: &AcceptedBrands,
        today: NaiveDate,
    ) -> Result<NewCard, FieldErrors> {
        let mut e = FieldErrors::new();
        let number = e.check("card_number", CardNumber::parse(&self.number, accepted));
        let brand = number
            .as_ref()
            .map(CardNumber::brand)
            .or_else(|| crate::card::detect_brand(&self.number));
        let expiry = e.check("expiry", Expiry::parse(&self.expiry, today));
        let cvc = e.check("cvc", Cvc::parse(&self.cvc, brand));
        let value = (|| {
            Some(NewCard {
                number: number?,
                expiry: expiry?,
                cvc: cvc?,
            })
        })();
        e.finish(value)
    }
}

/// First name, last name and email, the fields every person form shares.
pub(crate) fn person(
    e: &mut FieldErrors,
    first_name: &str,
    last_name: &str,
    email: &str,
) -> (Option<String>, Option<String>, Option<Email>) {
    (
        e.check("first_name", required_text(first_name, "first name", 100)),
        e.check("last_name", required_text(last_name, "last name", 100)),
        e.check("email", Email::parse(email)),
    )
}

/// First start's form as typed: the organisation and its first administrator. The password
/// is checked apart (`password`), because its strength estimate runs only on the server.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAccountInput {
    pub company_name: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
}

/// A validated first account and its owner.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAccount {
    pub company_name: String,
    pub first_name: String,
    pub last_name: String,
    pub email: Email,
}

impl NewAccountInput {
    pub fn parse(&self) -> Result<NewAccount, FieldErrors> {
        let mut e = FieldErrors::new();
        let company_name = e.check(
            "company_name",
            required_text(&self.company_name, "company name", 200),
        );
        let (first_name, last_name, email) =
            person(&mut e, &self.first_name, &self.last_name, &self.email);
        let value = (|| {
            Some(NewAccount {
                company_name: company_name?,
                first_name: first_name?,
                last_name: last_name?,
                email: email?,
            })
        })();
        e.finish(value)
    }
}

/// One's own name as typed (Account settings).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NameInput {
    pub first_name: String,
    pub last_name: String,
}

impl NameInput {
    /// The trimmed first and last name.
    pub fn parse(&self) -> Result<(String, String), FieldErrors> {
        let mut e = FieldErrors::new();
        let first = e.check(
            "first_name",
            required_text(&self.first_name, "first name", 100),
        );
        let last = e.check(
            "last_name",
            required_text(&self.last_name, "last name", 100),
        );
        e.finish(first.zip(last))
    }
}

/// The checks of a new password that need no server: its length, and, when it is typed twice,
/// that both match. (Its strength is estimated on the server, against the person's own words.)
pub fn new_password_errors(
    field: &str,
    password: &str,
    confirm: Option<(&str, &str)>,
) -> FieldErrors {
    let mut e = FieldErrors::new();
    e.check(field, crate::password::check_length(password));
    if let Some((confirm_field, again)) = confirm {
        if again.is_empty() {
            e.add(confirm_field, "Type the new password again.");
        } else if again != password {
            e.add(confirm_field, "The two passwords don't match.");
        }
    }
    e
}

/// A required field with nothing typed in it: "Enter the {what}."
pub fn required(e: &mut FieldErrors, field: &str, value: &str, what: &'static str) {
    if value.trim().is_empty() {
        e.add(field, crate::contact::TextError::Required(what));
    }
}

/// "+ Create Admin" as typed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAdminInput {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    /// A [`Role::code`].
    pub role: String,
}

/// A validated new administrator (they get an invitation to set a password).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAdmin {
    pub first_name: String,
    pub last_name: String,
    pub email: Email,
    pub role: Role,
}

impl NewAdminInput {
    pub fn parse(&self) -> Result<NewAdmin, FieldErrors> {
        let mut e = FieldErrors::new();
        let (first_name, last_name, email) =
            person(&mut e, &self.first_name, &self.last_name, &self.email);
        let role = e.check(
            "role",
            Role::from_code(self.role.trim()).ok_or("Choose a role."),
        );
        let value = (|| {
            Some(NewAdmin {
                first_name: first_name?,
                last_name: last_name?,
                email: email?,
                role: role?,
            })
        })();
        e.finish(value)
    }
}

/// A user (seat) as typed, on the Users page or in a CSV row.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewUserInput {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
}

/// The seller's own id for a user (the API's and SCIM's `externalId`): kept as sent, trimmed;
/// blank is none.
pub fn external_id(text: &str) -> Result<Option<String>, &'static str> {
    let text = text.trim();
    if text.is_empty() {
        Ok(None)
    } else if text.chars().count() > 255 {
        Err("Use at most 255 characters.")
    } else if text.chars().any(char::is_control) {
        Err("Use no control characters (tabs, line breaks).")
    } else {
        Ok(Some(text.to_owned()))
    }
}

/// A validated user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewUser {
    pub first_name: String,
    pub last_name: String,
    pub email: Email,
}

impl NewUserInput {
    pub fn parse(&self) -> Result<NewUser, FieldErrors> {
        let mut e = FieldErrors::new();
        let (first_name, last_name, email) =
            person(&mut e, &self.first_name, &self.last_name, &self.email);
        let value = (|| {
            Some(NewUser {
                first_name: first_name?,
                last_name: last_name?,
                email: email?,
            })
        })();
        e.finish(value)
    }
}

/// The shells a saved command can run in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Shell {
    Bash,
    PowerShell,
    Zsh,
}

impl Shell {
    pub const ALL: [Shell; 3] = [Shell::Bash, Shell::PowerShell, Shell::Zsh];

    pub fn code(self) -> &'static str {
        match self {
            Shell::Bash => "bash",
            Shell::PowerShell => "powershell",
            Shell::Zsh => "zsh",
        }
    }

    pub fn display_name(self) -> &'static str {
        match self {
            Shell::Bash => "Bash",
            Shell::PowerShell => "PowerShell",
            Shell::Zsh => "zsh",
        }
    }

    pub fn from_code(code: &str) -> Option<Shell> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }
}

/// Longest script a command may hold.
pub const MAX_SCRIPT_BYTES: usize = 64 * 1024;

/// A saved command as typed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewCommandInput {
    pub name: String,
    /// A [`Shell::code`].
    pub shell: String,
    pub script: String,
    pub description: String,
}

/// A validated command.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewCommand {
    pub name: String,
    pub shell: Shell,
    pub script: String,
    pub description: Option<String>,
}

impl NewCommandInput {
    pub fn parse(&self) -> Result<NewCommand, FieldErrors> {
        let mut e = FieldErrors::new();
        let name = e.check("name", required_text(&self.name, "command name", 100));
        let shell = e.check(
            "shell",
            Shell::from_code(self.shell.trim()).ok_or("Choose a shell."),
        );
        let script = if self.script.trim().is_empty() {
            e.add("script", "Enter the script to run.");
            None
        } else if self.script.len() > MAX_SCRIPT_BYTES {
            e.add("script", "Scripts can be at most 64 KB.");
            None
        } else {
            // Scripts keep their exact text (indentation matters); only line endings are unified.
            Some(self.script.replace("\r\n", "\n"))
        };
        let description = e.check(
            "description",
            optional_text(&self.description, "description", 500),
        );
        let value = (|| {
            Some(NewCommand {
                name: name?,
                shell: shell?,
                script: script?,
                description: description?,
            })
        })();
        e.finish(value)
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn an_external_id_is_kept_as_sent_within_its_limits() {
        assert_eq!(super::external_id("  crm-42 "), Ok(Some("crm-42".into())));
        assert_eq!(super::external_id("   "), Ok(None));
        assert_eq!(
            super::external_id(&"x".repeat(255)).map(|x| x.map(|s| s.len())),
            Ok(Some(255))
        );
        assert_eq!(
            super::external_id(&"x".repeat(256)),
            Err("Use at most 255 characters.")
        );
        assert!(super::external_id("a\tb").is_err());
    }
    #[test]
    fn a_new_password_offline_checks_length_and_match() {
        let e = super::new_password_errors("password", "short", Some(("confirm", "")));
        assert_eq!(e.get("password"), Some("Use at least 12 characters."));
        assert_eq!(e.get("confirm"), Some("Type the new password again."));
        let long = "a long enough passphrase";
        let e = super::new_password_errors("password", long, Some(("confirm", "a long enough")));
        assert_eq!(e.get("password"), None);
        assert_eq!(e.get("confirm"), Some("The two passwords don't match."));
        assert!(super::new_password_errors("password", long, Some(("confirm", long))).is_empty());
        assert!(super::new_password_errors("password", long, None).is_empty());
    }

    #[test]
    fn a_name_is_required_and_trimmed() {
        let n = super::NameInput {
            first_name: " Ann ".into(),
            last_name: "".into(),
        };
        let e = n.parse().unwrap_err();
        assert_eq!(e.get("last_name"), Some("Enter the last name."));
        assert_eq!(e.get("first_name"), None);
        let n = super::NameInput {
            first_name: " Ann ".into(),
            last_name: "Lee".into(),
        };
        assert_eq!(n.parse().unwrap(), ("Ann".to_string(), "Lee".to_string()));
    }

    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 26).unwrap()
    }

    fn us_address() -> AddressInput {
        AddressInput {
            country: "US".into(),
            line1: "1 Market St".into(),
            line2: String::new(),
            city: "San Francisco".into(),
            region: "CA".into(),
            postal_code: "94105".into(),
        }
    }

    #[test]
    fn valid_billing_information_parses() {
        let input = BillingInfoInput {
            company_name: "Acme".into(),
            contact_name: "Ann Lee".into(),
            contact_email: "Ann@Acme.COM".into(),
            contact_phone: "+1 555 123 4567".into(),
            address: us_address(),
            tax_id: String::new(),
        };
        let info = input.parse().unwrap();
        assert_eq!(info.contact_email.as_str(), "Ann@acme.com");
        assert_eq!(info.tax_id, None);
        // Showing it again for an update round-trips.
        assert_eq!(BillingInfoInput::from(&info).parse().unwrap(), info);
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let input = BillingInfoInput {
            address: AddressInput {
                country: "US".into(),
                postal_code: "ABC".into(),
                ..Default::default()
            },
            contact_email: "nope".into(),
            contact_phone: "call me".into(),
            ..Default::default()
        };
        let e = input.parse().unwrap_err();
        for field in [
            "company_name",
            "contact_name",
            "contact_email",
            "contact_phone",
            "line1",
            "city",
            "region",
            "postal_code",
        ] {
            assert!(e.get(field).is_some(), "{field} missing from {e:?}");
        }
        assert_eq!(
            e.get("postal_code"),
            Some("Enter a ZIP code like 12345 or 12345-6789.")
        );
        assert_eq!(e.get("tax_id"), None);
    }

    #[test]
    fn payment_information_can_reuse_the_billing_address() {
        let billing = parse_address(&us_address(), "", &mut FieldErrors::new()).unwrap();
        let input = PaymentInfoInput {
            cardholder_name: "Ann Lee".into(),
            same_as_billing: true,
            address: AddressInput::default(),
        };
        assert_eq!(input.parse(Some(&billing)).unwrap().address, billing);
        assert!(input
            .parse(None)
            .unwrap_err()
            .get("same_as_billing")
            .is_some());
        let own = PaymentInfoInput {
            same_as_billing: false,
            ..input
        };
        let e = own.parse(Some(&billing)).unwrap_err();
        assert!(e.get("card_country").is_some() && e.get("card_line1").is_some());
    }

    #[test]
    fn the_card_window_reports_each_field() {
        let ok = CardInput {
            number: "4242 4242 4242 4242".into(),
            expiry: "12/28".into(),
            cvc: "123".into(),
        };
        let card = ok.parse(&AcceptedBrands::default(), today()).unwrap();
        assert_eq!(card.number.last4(), "4242");
        let bad = CardInput {
            number: "4242 4242".into(),
            expiry: "10/26".into(),
            cvc: "12".into(),
        };
        let e = bad.parse(&AcceptedBrands::default(), today()).unwrap_err();
        assert_eq!(
            e.get("card_number"),
            Some("Your card number is incomplete.")
        );
        assert_eq!(
            e.get("expiry"),
            Some("Your card's expiration date is in the past.")
        );
        assert_eq!(
            e.get("cvc"),
            Some("Your card's security code is incomplete.")
        );
        // An Amex wants four digits.
        let amex = CardInput {
            number: "3782 822463 10005".into(),
            expiry: "12/28".into(),
            cvc: "123".into(),
        };
        assert_eq!(
            amex.parse(&AcceptedBrands::default(), today())
                .unwrap_err()
                .get("cvc"),
            Some("Your card's security code is incomplete.")
        );
    }

    #[test]
    fn card_input_debug_never_shows_the_number() {
        let input = CardInput {
            number: "4242424242424242".into(),
            expiry: "12/28".into(),
            cvc: "987".into(),
        };
        let shown = format!("{input:?}");
        assert!(!shown.contains("4242") && !shown.contains("987"));
    }

    #[test]
    fn the_first_account_form_reports_every_field() {
        let e = NewAccountInput::default().parse().unwrap_err();
        for f in ["company_name", "first_name", "last_name", "email"] {
            assert!(e.get(f).is_some(), "{f}");
        }
        let ok = NewAccountInput {
            company_name: " Acme ".into(),
            first_name: "Ann".into(),
            last_name: "Lee".into(),
            email: "Ann@ACME.test".into(),
        }
        .parse()
        .unwrap();
        assert_eq!(ok.company_name, "Acme");
        assert_eq!(ok.email.as_str(), "Ann@acme.test");
    }

    #[test]
    fn new_admin_user_and_command_forms() {
        let admin = NewAdminInput {
            first_name: "Bo".into(),
            last_name: "Chen".into(),
            email: "bo@x.io".into(),
            role: "command_runner_billing".into(),
        };
        assert_eq!(admin.parse().unwrap().role, Role::CommandRunnerWithBilling);
        let e = NewAdminInput {
            role: "root".into(),
            ..Default::default()
        }
        .parse()
        .unwrap_err();
        assert_eq!(e.len(), 4);
        assert_eq!(e.get("role"), Some("Choose a role."));

        let user = NewUserInput {
            first_name: "A".into(),
            last_name: "B".into(),
            email: "a@b.co".into(),
        };
        assert!(user.parse().is_ok());
        assert_eq!(NewUserInput::default().parse().unwrap_err().len(), 3);

        let cmd = NewCommandInput {
            name: "Restart".into(),
            shell: "bash".into(),
            script: "  systemctl restart x\r\n".into(),
            description: String::new(),
        };
        let c = cmd.parse().unwrap();
        assert_eq!(c.script, "  systemctl restart x\n");
        assert_eq!(c.shell, Shell::Bash);
        let e = NewCommandInput {
            shell: "fish".into(),
            ..Default::default()
        }
        .parse()
        .unwrap_err();
        assert_eq!(e.get("shell"), Some("Choose a shell."));
        assert_eq!(e.get("script"), Some("Enter the script to run."));
    }
}
