//! Stored codes: the short strings a database column holds for an enum (`admin_billing`,
//! `past_due`, …), and the one rule for a code no variant has.
//!
//! Every enum that is stored has `code()` and `from_code()`, and, through [`stored_code!`],
//! `TryFrom<String>`: a row decodes straight into the enum (`#[sqlx(try_from = "String")]` on
//! the server), and a code nobody writes — another version's, or a hand edit — fails the
//! decode with an [`UnknownCode`] that names the column's kind and the code. The server turns
//! every such failure into one unexpected error, logged with a reference.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A stored code that names no variant of its enum.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownCode {
    /// What the code is for ("role", "invoice status").
    pub kind: &'static str,
    pub code: String,
}

impl fmt::Display for UnknownCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown {} code {:?}", self.kind, self.code)
    }
}

impl std::error::Error for UnknownCode {}

/// Gives an enum with `code(self) -> &'static str` and `from_code(&str) -> Option<Self>` its
/// `TryFrom<String>` for decoding stored rows, refusing an unknown code with [`UnknownCode`].
#[macro_export]
macro_rules! stored_code {
    ($ty:ty, $kind:literal) => {
        impl ::std::convert::TryFrom<String> for $ty {
            type Error = $crate::codes::UnknownCode;

            fn try_from(code: String) -> Result<Self, Self::Error> {
                <$ty>::from_code(&code).ok_or($crate::codes::UnknownCode { kind: $kind, code })
            }
        }
    };
}

stored_code!(crate::roles::Role, "role");
stored_code!(crate::roles::AdminStatus, "administrator status");
stored_code!(crate::account_status::AccountStatus, "account status");
stored_code!(crate::operators::OperatorRole, "operator role");
stored_code!(crate::audit::AuditKind, "audit event kind");
stored_code!(crate::card::Brand, "card brand");
stored_code!(crate::forms::Shell, "shell");
stored_code!(crate::billing::InvoiceStatus, "invoice status");
stored_code!(crate::money::Currency, "currency");
stored_code!(UserStatus, "user status");
stored_code!(RunStatus, "command run status");
stored_code!(LinkKind, "link kind");
stored_code!(IntentStatus, "intent status");
stored_code!(
    crate::views::billing::CreditSettlement,
    "credit note settlement"
);

/// Whether a user (a seat) is in use. Suspended users are billable too.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum UserStatus {
    Active,
    /// Cannot sign in to the product, still a seat.
    Suspended,
    /// Deactivated by the account's identity provider (SCIM `active: false`): kept so the
    /// provider can reactivate them, but no longer a seat from that moment.
    Deactivated,
}

impl UserStatus {
    pub fn code(self) -> &'static str {
        match self {
            UserStatus::Active => "active",
            UserStatus::Suspended => "suspended",
            UserStatus::Deactivated => "deactivated",
        }
    }

    /// Whether the user takes a seat (is billed for).
    pub fn is_seat(self) -> bool {
        self != UserStatus::Deactivated
    }

    pub fn from_code(code: &str) -> Option<Self> {
        [Self::Active, Self::Suspended, Self::Deactivated]
            .into_iter()
            .find(|s| s.code() == code)
    }
}

/// Where a command's run stands. Devices run commands outside the portal: the portal records
/// a run as queued, and the system that executes it on the devices moves the same row on to
/// running, then succeeded or failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
}

impl RunStatus {
    pub fn code(self) -> &'static str {
        match self {
            RunStatus::Queued => "queued",
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        [Self::Queued, Self::Running, Self::Succeeded, Self::Failed]
            .into_iter()
            .find(|s| s.code() == code)
    }
}

/// Where a set-up or a payment stands with the processor (Stripe's intent statuses, which
/// the sandbox uses too).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntentStatus {
    RequiresPaymentMethod,
    RequiresConfirmation,
    RequiresAction,
    Processing,
    RequiresCapture,
    Canceled,
    Succeeded,
}

impl IntentStatus {
    /// Whether a payment in this state is settled: paid (`true`), failed (`false`), or still
    /// under way (`None`).
    pub fn settled(self) -> Option<bool> {
        match self {
            IntentStatus::Succeeded | IntentStatus::Processing | IntentStatus::RequiresCapture => {
                Some(true)
            }
            IntentStatus::RequiresPaymentMethod | IntentStatus::Canceled => Some(false),
            IntentStatus::RequiresConfirmation | IntentStatus::RequiresAction => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            IntentStatus::RequiresPaymentMethod => "requires_payment_method",
            IntentStatus::RequiresConfirmation => "requires_confirmation",
            IntentStatus::RequiresAction => "requires_action",
            IntentStatus::Processing => "processing",
            IntentStatus::RequiresCapture => "requires_capture",
            IntentStatus::Canceled => "canceled",
            IntentStatus::Succeeded => "succeeded",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        [
            IntentStatus::RequiresPaymentMethod,
            IntentStatus::RequiresConfirmation,
            IntentStatus::RequiresAction,
            IntentStatus::Processing,
            IntentStatus::RequiresCapture,
            IntentStatus::Canceled,
            IntentStatus::Succeeded,
        ]
        .into_iter()
        .find(|s| s.code() == code)
    }
}

/// Which kind of emailed one-time link.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LinkKind {
    Invitation,
    Reset,
}

impl LinkKind {
    pub fn code(self) -> &'static str {
        match self {
            LinkKind::Invitation => "invitation",
            LinkKind::Reset => "reset",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        [Self::Invitation, Self::Reset]
            .into_iter()
            .find(|k| k.code() == code)
    }

    /// The path a link of this kind opens, before its token.
    pub fn path(self) -> &'static str {
        match self {
            LinkKind::Invitation => "/invitation/",
            LinkKind::Reset => "/reset-password/",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{billing::InvoiceStatus, roles::Role};

    #[test]
    fn a_known_code_decodes_and_an_unknown_one_is_named_in_the_error() {
        assert_eq!(
            Role::try_from("admin_billing".to_string()),
            Ok(Role::AdministratorWithBilling)
        );
        let e = InvoiceStatus::try_from("refunded".to_string()).unwrap_err();
        assert_eq!(e.to_string(), r#"unknown invoice status code "refunded""#);
        assert_eq!(LinkKind::try_from("reset".to_string()), Ok(LinkKind::Reset));
        assert!(UserStatus::try_from("Active".to_string()).is_err());
    }

    #[test]
    fn every_code_decodes_to_its_own_variant() {
        use RunStatus::*;
        for s in [Queued, Running, Succeeded, Failed] {
            assert_eq!(RunStatus::try_from(s.code().to_string()), Ok(s));
        }
        for s in [UserStatus::Active, UserStatus::Suspended] {
            assert_eq!(UserStatus::try_from(s.code().to_string()), Ok(s));
        }
        for k in [LinkKind::Invitation, LinkKind::Reset] {
            assert_eq!(LinkKind::try_from(k.code().to_string()), Ok(k));
        }
    }
}
