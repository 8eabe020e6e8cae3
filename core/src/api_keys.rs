//! API keys: how the seller's own systems call Tally's REST API under `/v1` (docs/api.md).
//! An Owner operator makes a key in the console with the scopes it needs; the key is shown
//! once, kept only as a hash, and known afterwards by its visible prefix. Every call checks the
//! scope its endpoint needs, here, in one exhaustive table.

use serde::{Deserialize, Serialize};

use crate::forms::FieldErrors;

/// What a key may do. Each endpoint of the API needs exactly one scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ApiScope {
    AccountsRead,
    AccountsWrite,
    UsersRead,
    UsersWrite,
    InvoicesRead,
    CreditNotesWrite,
}

/// Every scope, in the order the console lists them.
pub const ALL_API_SCOPES: [ApiScope; 6] = [
    ApiScope::AccountsRead,
    ApiScope::AccountsWrite,
    ApiScope::UsersRead,
    ApiScope::UsersWrite,
    ApiScope::InvoicesRead,
    ApiScope::CreditNotesWrite,
];

/// The longest name a key may have.
pub const API_KEY_NAME_MAX: usize = 60;

/// Every key starts with this, so a key found in a log or a repository is recognised as one.
pub const API_KEY_PREFIX: &str = "tly_";

/// How many characters of a key stay visible after it is made (the prefix and eight more).
pub const API_KEY_VISIBLE: usize = API_KEY_PREFIX.len() + 8;

impl ApiScope {
    /// The scope as written on the wire and in the OpenAPI document, `accounts:read`.
    pub fn code(self) -> &'static str {
        match self {
            ApiScope::AccountsRead => "accounts:read",
            ApiScope::AccountsWrite => "accounts:write",
            ApiScope::UsersRead => "users:read",
            ApiScope::UsersWrite => "users:write",
            ApiScope::InvoicesRead => "invoices:read",
            ApiScope::CreditNotesWrite => "credit_notes:write",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        ALL_API_SCOPES.into_iter().find(|s| s.code() == code)
    }

    /// One line for the console's checkbox.
    pub fn description(self) -> &'static str {
        match self {
            ApiScope::AccountsRead => "See customer accounts, their plans and usage.",
            ApiScope::AccountsWrite => {
                "Create customer accounts, change their plans, suspend, reactivate and close them."
            }
            ApiScope::UsersRead => "See an account's users.",
            ApiScope::UsersWrite => "Add, change and remove an account's users.",
            ApiScope::InvoicesRead => "See invoices and credit notes, and their PDFs.",
            ApiScope::CreditNotesWrite => "Issue credit notes.",
        }
    }
}

/// Scopes as stored: their codes, space-separated, in [`ALL_API_SCOPES`] order.
pub fn scopes_text(scopes: &[ApiScope]) -> String {
    ALL_API_SCOPES
        .into_iter()
        .filter(|s| scopes.contains(s))
        .map(ApiScope::code)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Scopes read back from [`scopes_text`]; an unknown code is left out.
pub fn scopes_of(text: &str) -> Vec<ApiScope> {
    text.split_whitespace()
        .filter_map(ApiScope::from_code)
        .collect()
}

/// The console's "Create API key" form as typed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewApiKeyInput {
    pub name: String,
    /// [`ApiScope::code`]s.
    pub scopes: Vec<String>,
}

/// A validated new key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewApiKey {
    pub name: String,
    pub scopes: Vec<ApiScope>,
}

impl NewApiKeyInput {
    pub fn parse(&self) -> Result<NewApiKey, FieldErrors> {
        let mut e = FieldErrors::new();
        let name = self.name.trim();
        let name = if name.is_empty() {
            e.add(
                "name",
                "Name the key after the system that uses it, e.g. \"CRM sync\".",
            );
            None
        } else if name.chars().count() > API_KEY_NAME_MAX {
            e.add(
                "name",
                format!("Use at most {API_KEY_NAME_MAX} characters."),
            );
            None
        } else {
            Some(name.to_owned())
        };
        let mut scopes = Vec::new();
        for code in &self.scopes {
            match ApiScope::from_code(code.trim()) {
                Some(s) if !scopes.contains(&s) => scopes.push(s),
                Some(_) => {}
                None => e.add("scopes", format!("There is no scope \"{}\".", code.trim())),
            }
        }
        if scopes.is_empty() {
            e.add("scopes", "Choose at least one scope.");
        }
        scopes.sort();
        let value = name.map(|name| NewApiKey { name, scopes });
        e.finish(value)
    }
}

/// Whether `text` looks like a key at all: the prefix and 32 letters or digits after it.
/// Anything else is refused before the database is asked.
pub fn looks_like_key(text: &str) -> bool {
    text.strip_prefix(API_KEY_PREFIX)
        .is_some_and(|rest| rest.len() == 32 && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// The visible part of a key: its first [`API_KEY_VISIBLE`] characters.
pub fn visible_part(key: &str) -> &str {
    key.get(..API_KEY_VISIBLE).unwrap_or(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn input(name: &str, scopes: &[&str]) -> NewApiKeyInput {
        NewApiKeyInput {
            name: name.into(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn a_key_needs_a_name_and_a_known_scope() {
        let ok = input(
            "  CRM sync ",
            &["users:write", "accounts:read", "users:write"],
        )
        .parse()
        .unwrap();
        assert_eq!(ok.name, "CRM sync");
        assert_eq!(ok.scopes, [ApiScope::AccountsRead, ApiScope::UsersWrite]);
        let e = input("", &[]).parse().unwrap_err();
        assert_eq!(
            e.get("name"),
            Some("Name the key after the system that uses it, e.g. \"CRM sync\".")
        );
        assert_eq!(e.get("scopes"), Some("Choose at least one scope."));
        let e = input(&"x".repeat(61), &["users:delete"])
            .parse()
            .unwrap_err();
        assert_eq!(e.get("name"), Some("Use at most 60 characters."));
        assert_eq!(e.get("scopes"), Some("There is no scope \"users:delete\"."));
    }

    #[test]
    fn only_the_keys_shape_is_looked_up() {
        let key = format!("tly_{}", "aB3".repeat(10) + "xy");
        assert!(looks_like_key(&key));
        assert_eq!(visible_part(&key), "tly_aB3aB3aB");
        assert!(!looks_like_key("tly_short"));
        assert!(!looks_like_key(&format!("sk_{}", "a".repeat(32))));
        assert!(!looks_like_key(&format!("tly_{}!", "a".repeat(31))));
    }

    proptest! {
        #[test]
        fn stored_scopes_read_back_as_chosen(mask in 0u8..64) {
            let chosen: Vec<ApiScope> = ALL_API_SCOPES
                .into_iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, s)| s)
                .collect();
            prop_assert_eq!(scopes_of(&scopes_text(&chosen)), chosen);
        }
    }
}
