//! One's own account: emailed links, the password rule's verdict, and the audit log.

use serde::{Deserialize, Serialize};

/// Events per page of the audit log.
pub const AUDIT_PAGE_SIZE: u32 = 50;

/// What an emailed link is worth.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LinkState {
    Valid,
    Expired,
    Used,
    Unknown,
}

/// A link's state and, while it is valid, whose it is (for the page's greeting and the
/// password check's known words).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkInfo {
    pub state: LinkState,
    pub email: Option<String>,
    pub first_name: Option<String>,
}

/// The password rule's verdict, for the strength meter: the same check the server enforces.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordCheck {
    pub score: u8,
    pub label: String,
    pub problem: Option<String>,
}

/// Filters for the audit log; blank fields filter nothing. Dates are `YYYY-MM-DD` (UTC),
/// both inclusive.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuditFilter {
    pub kind: String,
    pub actor: String,
    pub from: String,
    pub to: String,
    /// 1-based.
    pub page: u32,
}

/// One audit event as listed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: String,
    /// UTC, `YYYY-MM-DD HH:MM:SS`.
    pub at: String,
    pub kind: String,
    pub actor: String,
    pub target: String,
    pub ip: String,
    pub detail: String,
}

/// A page of the audit log, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    pub page: u32,
    pub page_count: u32,
    pub total: u64,
    /// Every kind of event, for the filter.
    pub kinds: Vec<String>,
}
