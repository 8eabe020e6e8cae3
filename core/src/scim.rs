//! SCIM 2.0 provisioning (RFC 7643/7644): what is decided here, for the server to apply. A
//! customer account's identity provider (Okta, Entra ID, JumpCloud…) keeps the account's
//! users in step with its directory through `/scim/v2`, with a token the account's
//! administrators made. This module knows the token's shape, the filters the Users endpoint
//! understands and how a list is paged.

use serde::{Deserialize, Serialize};

/// Every token starts with this, so one found in a log is recognised as one.
pub const SCIM_TOKEN_PREFIX: &str = "scim_";

/// Letters and digits after the prefix.
pub const SCIM_TOKEN_SECRET_LEN: usize = 40;

/// How many characters of a token stay visible after it is made (the prefix and 8 more).
pub const SCIM_TOKEN_VISIBLE: usize = SCIM_TOKEN_PREFIX.len() + 8;

/// The most users one page of a list holds (`count`), announced in the service provider
/// configuration as `filter.maxResults`.
pub const SCIM_MAX_RESULTS: u32 = 200;

/// The core User schema's URN.
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

/// Whether `text` looks like a token at all; anything else is refused before the database
/// is asked.
pub fn looks_like_token(text: &str) -> bool {
    text.strip_prefix(SCIM_TOKEN_PREFIX).is_some_and(|rest| {
        rest.len() == SCIM_TOKEN_SECRET_LEN && rest.bytes().all(|b| b.is_ascii_alphanumeric())
    })
}

/// The visible part of a token.
pub fn token_visible(token: &str) -> &str {
    token.get(..SCIM_TOKEN_VISIBLE).unwrap_or(token)
}

/// An attribute a filter may compare.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FilterAttribute {
    Id,
    UserName,
    ExternalId,
    Active,
    /// `emails.value`, or `emails` (its value).
    Email,
}

/// The value a filter compares with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FilterValue {
    Text(String),
    Bool(bool),
}

/// A filter the Users list understands: one attribute `eq` one value (what identity providers
/// send to find a user before creating it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filter {
    pub attribute: FilterAttribute,
    pub value: FilterValue,
}

/// Reads `userName eq "ada@example.com"`, `externalId eq "00u1"`, `active eq false`,
/// `emails.value eq "…"` or `id eq "…"` (attribute names and `eq` in any case, optionally
/// prefixed by the User schema's URN). Anything else is refused with the reason, which the
/// server sends as an `invalidFilter` error.
pub fn parse_filter(text: &str) -> Result<Filter, String> {
    let text = text.trim();
    let (path, rest) = text
        .split_once(char::is_whitespace)
        .ok_or_else(|| "A filter is an attribute, an operator and a value, e.g. userName eq \"ada@example.com\".".to_string())?;
    let rest = rest.trim_start();
    let (op, value) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let path = path.to_ascii_lowercase();
    let path = path
        .strip_prefix(&format!("{}:", USER_SCHEMA.to_ascii_lowercase()))
        .unwrap_or(&path);
    let attribute = match path {
        "id" => FilterAttribute::Id,
        "username" => FilterAttribute::UserName,
        "externalid" => FilterAttribute::ExternalId,
        "active" => FilterAttribute::Active,
        "emails" | "emails.value" => FilterAttribute::Email,
        other => {
            return Err(format!(
                "Users can be filtered by userName, externalId, active, emails.value or id, not by {other}."
            ))
        }
    };
    if !op.eq_ignore_ascii_case("eq") {
        return Err(format!(
            "Only the eq operator is supported, not {op}; and no and/or."
        ));
    }
    let value = parse_value(value.trim())?;
    match (attribute, &value) {
        (FilterAttribute::Active, FilterValue::Bool(_)) => {}
        (FilterAttribute::Active, _) => return Err("active is true or false.".into()),
        (_, FilterValue::Bool(_)) => {
            return Err("Compare this attribute with a string in double quotes.".into())
        }
        _ => {}
    }
    Ok(Filter { attribute, value })
}

/// A filter's comparison value: a JSON string, `true` or `false`.
fn parse_value(text: &str) -> Result<FilterValue, String> {
    if text.eq_ignore_ascii_case("true") {
        return Ok(FilterValue::Bool(true));
    }
    if text.eq_ignore_ascii_case("false") {
        return Ok(FilterValue::Bool(false));
    }
    let inner = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .ok_or_else(|| {
            "Put the value in double quotes, e.g. userName eq \"ada@example.com\".".to_string()
        })?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('"') => out.push('"'),
                Some('\\') => out.push('\\'),
                Some('/') => out.push('/'),
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                _ => return Err("The value has an escape JSON does not know.".into()),
            },
            '"' => return Err("Escape a double quote inside the value as \\\".".into()),
            c => out.push(c),
        }
    }
    Ok(FilterValue::Text(out))
}

/// A list's page as asked (`startIndex` counts from 1, `count` how many), made sensible as
/// RFC 7644 §3.4.2.4 says: a start below 1 is 1, a negative count 0, and no more than
/// [`SCIM_MAX_RESULTS`] (the default too). Returns (offset, limit).
pub fn page(start_index: Option<i64>, count: Option<i64>) -> (u64, u32) {
    let start = start_index.unwrap_or(1).max(1);
    let count = count
        .unwrap_or(i64::from(SCIM_MAX_RESULTS))
        .clamp(0, i64::from(SCIM_MAX_RESULTS));
    ((start - 1) as u64, count as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn text(attribute: FilterAttribute, v: &str) -> Filter {
        Filter {
            attribute,
            value: FilterValue::Text(v.into()),
        }
    }

    #[test]
    fn the_filters_identity_providers_send_are_read() {
        assert_eq!(
            parse_filter("userName eq \"ada@example.com\""),
            Ok(text(FilterAttribute::UserName, "ada@example.com"))
        );
        assert_eq!(
            parse_filter("  externalId EQ \"00u1 \\\"x\\\"\" "),
            Ok(text(FilterAttribute::ExternalId, "00u1 \"x\""))
        );
        assert_eq!(
            parse_filter("active eq False"),
            Ok(Filter {
                attribute: FilterAttribute::Active,
                value: FilterValue::Bool(false)
            })
        );
        assert_eq!(
            parse_filter("urn:ietf:params:scim:schemas:core:2.0:User:userName eq \"a\""),
            Ok(text(FilterAttribute::UserName, "a"))
        );
        assert_eq!(
            parse_filter("emails.value eq \"a@b.c\""),
            Ok(text(FilterAttribute::Email, "a@b.c"))
        );
        assert_eq!(
            parse_filter("userName eq \"a b\""),
            Ok(text(FilterAttribute::UserName, "a b"))
        );
    }

    #[test]
    fn other_filters_are_refused_with_the_reason() {
        for (bad, starts) in [
            ("userName", "A filter is"),
            ("title eq \"x\"", "Users can be filtered"),
            ("userName co \"a\"", "Only the eq operator"),
            ("userName eq \"a\" and active eq true", "Put the value"),
            ("userName eq \"a\"b\"", "Escape a double quote"),
            ("userName eq a", "Put the value"),
            ("active eq \"true\"", "active is true or false."),
            ("userName eq true", "Compare this attribute"),
            ("userName eq \"a\\q\"", "The value has an escape"),
        ] {
            let e = parse_filter(bad).unwrap_err();
            assert!(e.starts_with(starts), "{bad}: {e}");
        }
    }

    #[test]
    fn tokens_have_one_shape() {
        let token = format!("scim_{}", "aB3de".repeat(8));
        assert!(looks_like_token(&token));
        assert_eq!(token_visible(&token), "scim_aB3deaB3");
        assert!(!looks_like_token("scim_short"));
        assert!(!looks_like_token(&format!("tly_{}", "a".repeat(40))));
    }

    #[test]
    fn pages_are_made_sensible() {
        assert_eq!(page(None, None), (0, SCIM_MAX_RESULTS));
        assert_eq!(page(Some(0), Some(-5)), (0, 0));
        assert_eq!(page(Some(11), Some(10)), (10, 10));
        assert_eq!(page(Some(1), Some(10_000)), (0, SCIM_MAX_RESULTS));
    }

    proptest! {
        #[test]
        fn any_quoted_user_name_reads_back(name in "[^\"\\\\\\p{Cc}]{0,40}") {
            let f = parse_filter(&format!("userName eq \"{name}\"")).unwrap();
            prop_assert_eq!(f, text(FilterAttribute::UserName, &name));
        }

        #[test]
        fn a_page_never_exceeds_the_maximum(start in any::<i64>(), count in any::<i64>()) {
            let (offset, limit) = page(Some(start), Some(count));
            prop_assert!(limit <= SCIM_MAX_RESULTS);
            prop_assert!(offset < u64::MAX / 2 || start > 0);
        }
    }
}
