//! The Overview: the account at a glance, each part only for roles that may see it.

use serde::{Deserialize, Serialize};

use super::{
    account::AuditEntry, admins::PendingInvitation, billing::BillingOverview, system::SystemStatus,
};

/// Events the Overview lists.
pub const LATEST_EVENTS: usize = 5;
/// Pending invitations the Overview names; the rest are counted (the Administrators page
/// lists them all).
pub const OVERVIEW_INVITATIONS: usize = 5;

/// What the Overview shows; a part the caller's role may not see is `None`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountGlance {
    /// Users now, active and suspended (View users).
    pub users: Option<u64>,
    /// This month, the card, the billing contact (View billing): the Billing page's figures.
    pub billing: Option<BillingOverview>,
    /// The oldest [`OVERVIEW_INVITATIONS`] invitations not accepted yet (View
    /// administrators).
    pub invitations: Option<Vec<PendingInvitation>>,
    /// How many invitations wait in all.
    #[serde(default)]
    pub invitations_waiting: Option<u64>,
    /// The five latest audit events (View the audit log).
    pub latest_events: Option<Vec<AuditEntry>>,
    /// Commands the caller may run (Run bound commands), when they cannot see them all.
    pub runnable_commands: Option<usize>,
    /// The database and its daily backups (the System section).
    pub system: Option<SystemStatus>,
}
