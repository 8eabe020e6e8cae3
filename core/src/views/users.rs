//! The Users page.

use serde::{Deserialize, Serialize};

/// Users shown per page.
pub const USERS_PER_PAGE: u32 = 50;

/// A user (a seat) as listed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSummary {
    pub id: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub suspended: bool,
    /// Deactivated by the identity provider: listed, but not a seat.
    #[serde(default)]
    pub deactivated: bool,
}

/// One page of users matching a search, and how many match in all.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserPage {
    pub users: Vec<UserSummary>,
    pub matching: u64,
    /// Every user of the account, active or suspended (all are billable).
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
}

/// One SCIM token of the account, as the Users page's identity provider section lists it
/// (never the token itself).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScimTokenRow {
    pub id: String,
    /// The token's first characters, `scim_` and eight more.
    pub visible: String,
    /// Who made it (an administrator's name) and when, UTC milliseconds.
    pub created_by: String,
    pub created_at: i64,
    /// When the identity provider last used it, to the minute.
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// A token just made: the whole token, shown this once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedScimToken {
    pub token: String,
    pub row: ScimTokenRow,
}

/// The Users page's identity provider section: where the provider connects, and the tokens.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScimSettings {
    /// The SCIM base URL to give the identity provider (`https://…/scim/v2`).
    pub base_url: String,
    pub tokens: Vec<ScimTokenRow>,
}
