//! The kinds of events the audit log records (spec §3).

use serde::{Deserialize, Serialize};

/// Something worth recording: who did what, when, from where.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AuditKind {
    AccountCreated,
    SignIn,
    SignInFailed,
    SignOut,
    PasswordResetRequested,
    PasswordReset,
    InvitationAccepted,
    PasswordChanged,
    NameChanged,
    AdminCreated,
    InvitationSent,
    AdminRoleChanged,
    AdminSuspended,
    AdminUnsuspended,
    AdminDeleted,
    BillingInfoChanged,
    PaymentMethodChanged,
    /// A "payment method changed" notice was emailed.
    PaymentMethodEmailSent,
}

pub const ALL_AUDIT_KINDS: [AuditKind; 18] = [
    AuditKind::AccountCreated,
    AuditKind::SignIn,
    AuditKind::SignInFailed,
    AuditKind::SignOut,
    AuditKind::PasswordResetRequested,
    AuditKind::PasswordReset,
    AuditKind::InvitationAccepted,
    AuditKind::PasswordChanged,
    AuditKind::NameChanged,
    AuditKind::AdminCreated,
    AuditKind::InvitationSent,
    AuditKind::AdminRoleChanged,
    AuditKind::AdminSuspended,
    AuditKind::AdminUnsuspended,
    AuditKind::AdminDeleted,
    AuditKind::BillingInfoChanged,
    AuditKind::PaymentMethodChanged,
    AuditKind::PaymentMethodEmailSent,
];

impl AuditKind {
    pub fn code(self) -> &'static str {
        match self {
            AuditKind::AccountCreated => "account_created",
            AuditKind::SignIn => "sign_in",
            AuditKind::SignInFailed => "sign_in_failed",
            AuditKind::SignOut => "sign_out",
            AuditKind::PasswordResetRequested => "password_reset_requested",
            AuditKind::PasswordReset => "password_reset",
            AuditKind::InvitationAccepted => "invitation_accepted",
            AuditKind::PasswordChanged => "password_changed",
            AuditKind::NameChanged => "name_changed",
            AuditKind::AdminCreated => "admin_created",
            AuditKind::InvitationSent => "invitation_sent",
            AuditKind::AdminRoleChanged => "admin_role_changed",
            AuditKind::AdminSuspended => "admin_suspended",
            AuditKind::AdminUnsuspended => "admin_unsuspended",
            AuditKind::AdminDeleted => "admin_deleted",
            AuditKind::BillingInfoChanged => "billing_info_changed",
            AuditKind::PaymentMethodChanged => "payment_method_changed",
            AuditKind::PaymentMethodEmailSent => "payment_method_email_sent",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        ALL_AUDIT_KINDS.into_iter().find(|k| k.code() == code)
    }

    pub fn label(self) -> &'static str {
        match self {
            AuditKind::AccountCreated => "Account created",
            AuditKind::SignIn => "Signed in",
            AuditKind::SignInFailed => "Failed sign-in",
            AuditKind::SignOut => "Signed out",
            AuditKind::PasswordResetRequested => "Password reset requested",
            AuditKind::PasswordReset => "Password reset",
            AuditKind::InvitationAccepted => "Invitation accepted",
            AuditKind::PasswordChanged => "Password changed",
            AuditKind::NameChanged => "Name changed",
            AuditKind::AdminCreated => "Administrator created",
            AuditKind::InvitationSent => "Invitation sent",
            AuditKind::AdminRoleChanged => "Administrator role changed",
            AuditKind::AdminSuspended => "Administrator suspended",
            AuditKind::AdminUnsuspended => "Administrator unsuspended",
            AuditKind::AdminDeleted => "Administrator deleted",
            AuditKind::BillingInfoChanged => "Billing information changed",
            AuditKind::PaymentMethodChanged => "Payment method changed",
            AuditKind::PaymentMethodEmailSent => "Payment method email sent",
        }
    }
}
