//! The Administrators page, and the invitations the Overview lists.

use serde::{Deserialize, Serialize};

use crate::roles::{AdminStatus, Role};

/// Administrators shown per page.
pub const ADMINS_PER_PAGE: u32 = 50;

/// One row of the Administrators page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminSummary {
    pub id: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub role: Role,
    pub status: AdminStatus,
    /// A Command Runner With Billing bound to no command.
    pub billing_only: bool,
    pub receives_invoices: bool,
    /// Their address is the billing contact's (Billing Information), where invoices go.
    pub billing_contact: bool,
    /// They have two-step verification (an authenticator app or a passkey).
    pub two_step: bool,
    /// The row is the signed-in administrator.
    pub is_you: bool,
}

/// One page of the account's administrators matching a search.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminPage {
    pub admins: Vec<AdminSummary>,
    pub matching: u64,
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
}

/// An administrator invited and not signed in yet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingInvitation {
    pub name: String,
    pub email: String,
    pub role: Role,
    /// The newest link still works.
    pub link_valid: bool,
}
