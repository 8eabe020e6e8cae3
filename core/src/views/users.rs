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
