//! A customer account's standing with the seller: active, suspended (by the seller's staff,
//! or after too long past due), or closed. What its administrators may still do in each: a
//! suspended account's billing administrators can still pay; a closed account is read-only.

use serde::{Deserialize, Serialize};

use crate::roles::Action;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AccountStatus {
    #[default]
    Active,
    /// Nothing works but paying; no charge is made.
    Suspended,
    /// Billed for the last time; its data kept and read-only.
    Closed,
}

pub const ALL_ACCOUNT_STATUSES: [AccountStatus; 3] = [
    AccountStatus::Active,
    AccountStatus::Suspended,
    AccountStatus::Closed,
];

impl AccountStatus {
    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            AccountStatus::Active => "active",
            AccountStatus::Suspended => "suspended",
            AccountStatus::Closed => "closed",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        ALL_ACCOUNT_STATUSES.into_iter().find(|s| s.code() == code)
    }

    pub fn label(self) -> &'static str {
        match self {
            AccountStatus::Active => "Active",
            AccountStatus::Suspended => "Suspended",
            AccountStatus::Closed => "Closed",
        }
    }
}

/// What a customer administrator is shown of their account's standing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StandingView {
    pub status: AccountStatus,
    /// Why the seller suspended or closed it.
    pub reason: Option<String>,
    /// Whom to ask: the seller's name and contact email, once it is set up.
    pub seller_name: Option<String>,
    pub seller_email: Option<String>,
}

/// Whether an account in `status` lets its administrators do `action` (their role must
/// allow it too): everything while active; paying (and reading about it) while suspended;
/// reading while closed.
pub fn status_allows(status: AccountStatus, action: Action) -> bool {
    match status {
        AccountStatus::Active => true,
        AccountStatus::Suspended => matches!(
            action,
            Action::ViewBilling
                | Action::ManagePaymentMethod
                | Action::ReceiveInvoiceEmails
                | Action::RequestInvoiceCopy
        ),
        AccountStatus::Closed => matches!(
            action,
            Action::ViewBilling
                | Action::RequestInvoiceCopy
                | Action::ViewAdministrators
                | Action::ViewUsers
                | Action::ViewAuditLog
                | Action::ViewSystem
        ),
    }
}

/// What an administrator is told when their account's standing refuses `action`.
pub fn refusal(status: AccountStatus) -> &'static str {
    match status {
        AccountStatus::Active => "",
        AccountStatus::Suspended => {
            "This account is suspended: only its billing administrators can pay what is due. Contact the company that provides your service."
        }
        AccountStatus::Closed => "This account is closed: it can be read, not changed.",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::roles::ALL_ACTIONS;

    #[test]
    fn an_active_account_allows_all_a_suspended_one_paying_a_closed_one_reading() {
        for action in ALL_ACTIONS {
            assert!(status_allows(AccountStatus::Active, action));
        }
        assert!(status_allows(
            AccountStatus::Suspended,
            Action::ManagePaymentMethod
        ));
        assert!(!status_allows(AccountStatus::Suspended, Action::ViewUsers));
        assert!(!status_allows(
            AccountStatus::Suspended,
            Action::ManageUsers
        ));
        assert!(status_allows(AccountStatus::Closed, Action::ViewUsers));
        for change in [
            Action::ManagePaymentMethod,
            Action::ManageUsers,
            Action::ManageAdministrators,
            Action::ManageCommands,
            Action::RunBoundCommands,
            Action::SetTwoStepPolicy,
            Action::ReceiveInvoiceEmails,
        ] {
            assert!(!status_allows(AccountStatus::Closed, change), "{change:?}");
        }
    }

    #[test]
    fn codes_round_trip() {
        for s in ALL_ACCOUNT_STATUSES {
            assert_eq!(AccountStatus::from_code(s.code()), Some(s));
        }
    }
}
