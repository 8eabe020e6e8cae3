//! The kinds of events the audit log records (docs/pages.md).

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
    /// The card on file expires before the next charge, and the billing contact was told.
    CardExpiryWarned,
    UserCreated,
    UserUpdated,
    UserSuspended,
    UserUnsuspended,
    UserDeleted,
    UsersImported,
    BillingRun,
    InvoiceCreated,
    ChargeSucceeded,
    ChargeFailed,
    InvoiceEmailed,
    /// A charge failed and the billing contact (and opted-in billing admins) were told.
    PaymentFailedEmailed,
    InvoiceCopyRequested,
    InvoiceRecipientChanged,
    CommandCreated,
    CommandUpdated,
    CommandDeleted,
    RunnerBound,
    RunnerUnbound,
    CommandRun,
    TwoStepEnabled,
    TwoStepDisabled,
    PasskeyAdded,
    PasskeyRemoved,
    RecoveryCodeUsed,
    RecoveryCodesRegenerated,
    TwoStepReset,
    TwoStepPolicyChanged,
    SecondStepFailed,
    /// One of the seller's operators was added (set-up's first Owner, or an invitation).
    OperatorAdded,
    /// Set-up made the seller and its first operator.
    SellerSetUp,
    /// The seller's staff set an account's plan for the months ahead.
    PlanChanged,
    /// The seller's staff suspended the account.
    AccountSuspended,
    /// The seller's staff made a suspended account active again.
    AccountReactivated,
    /// The seller's staff closed the account.
    AccountClosed,
    /// The seller's staff retried a failed charge at once.
    ChargeRetried,
    /// The seller's staff recorded an invoice as paid otherwise (a bank transfer).
    InvoiceMarkedPaid,
    /// The seller's staff voided an unpaid invoice.
    InvoiceVoided,
    /// The seller's staff issued a credit note against a paid invoice.
    CreditNoteIssued,
    /// The seller's staff corrected an invoice: made it again with the account's billing
    /// details as they are now, cancelling the original with a credit note.
    InvoiceCorrected,
    /// An Administrator With Billing set, changed or removed the account's limit on its users.
    SeatCapChanged,
    /// An Administrator With Billing added, changed or removed one of the account's billing
    /// contacts.
    BillingContactsChanged,
    /// An Administrator With Billing set, changed or removed the account's spend alerts.
    SpendAlertsChanged,
    /// A spend alert fired: a threshold of the month's amount was reached, or the month is on
    /// track to pass it.
    SpendAlertFired,
    /// A credit note's refund to the card went through, or was refused and kept as credit.
    CreditNoteRefunded,
    /// A credit note, or the notice of another money action, was emailed to the billing contact.
    MoneyNoticeEmailed,
    /// The seller's Owner changed its details, default plan, retries or automatic suspension.
    SellerSettingsChanged,
    /// The seller's Owner gave an operator another role.
    OperatorRoleChanged,
    /// The seller's Owner suspended an operator.
    OperatorSuspended,
    /// The seller's Owner made a suspended operator active again.
    OperatorReactivated,
    /// The seller's Owner made an API key for the seller's systems.
    ApiKeyCreated,
    /// The seller's systems made the account's users exactly a list they sent (the API).
    UsersSynced,
    /// The seller's Owner revoked an API key.
    ApiKeyRevoked,
    /// The seller's Owner registered a webhook endpoint.
    WebhookEndpointAdded,
    /// The seller's Owner removed a webhook endpoint.
    WebhookEndpointRemoved,
    /// The seller's Owner sent a webhook delivery again.
    WebhookRedelivered,
    /// The account's identity provider deactivated a user (SCIM): no longer a seat.
    UserDeactivated,
    /// The account's identity provider made a deactivated user active again: a seat again.
    UserReactivated,
    /// An administrator made a SCIM token for the account's identity provider.
    ScimTokenCreated,
    /// An administrator revoked a SCIM token.
    ScimTokenRevoked,
}

pub const ALL_AUDIT_KINDS: [AuditKind; 79] = [
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
    AuditKind::CardExpiryWarned,
    AuditKind::UserCreated,
    AuditKind::UserUpdated,
    AuditKind::UserSuspended,
    AuditKind::UserUnsuspended,
    AuditKind::UserDeleted,
    AuditKind::UsersImported,
    AuditKind::BillingRun,
    AuditKind::InvoiceCreated,
    AuditKind::ChargeSucceeded,
    AuditKind::ChargeFailed,
    AuditKind::InvoiceEmailed,
    AuditKind::PaymentFailedEmailed,
    AuditKind::InvoiceCopyRequested,
    AuditKind::InvoiceRecipientChanged,
    AuditKind::CommandCreated,
    AuditKind::CommandUpdated,
    AuditKind::CommandDeleted,
    AuditKind::RunnerBound,
    AuditKind::RunnerUnbound,
    AuditKind::CommandRun,
    AuditKind::TwoStepEnabled,
    AuditKind::TwoStepDisabled,
    AuditKind::PasskeyAdded,
    AuditKind::PasskeyRemoved,
    AuditKind::RecoveryCodeUsed,
    AuditKind::RecoveryCodesRegenerated,
    AuditKind::TwoStepReset,
    AuditKind::TwoStepPolicyChanged,
    AuditKind::SecondStepFailed,
    AuditKind::OperatorAdded,
    AuditKind::SellerSetUp,
    AuditKind::PlanChanged,
    AuditKind::AccountSuspended,
    AuditKind::AccountReactivated,
    AuditKind::AccountClosed,
    AuditKind::ChargeRetried,
    AuditKind::InvoiceMarkedPaid,
    AuditKind::InvoiceVoided,
    AuditKind::CreditNoteIssued,
    AuditKind::InvoiceCorrected,
    AuditKind::SeatCapChanged,
    AuditKind::BillingContactsChanged,
    AuditKind::SpendAlertsChanged,
    AuditKind::SpendAlertFired,
    AuditKind::CreditNoteRefunded,
    AuditKind::MoneyNoticeEmailed,
    AuditKind::SellerSettingsChanged,
    AuditKind::OperatorRoleChanged,
    AuditKind::OperatorSuspended,
    AuditKind::OperatorReactivated,
    AuditKind::ApiKeyCreated,
    AuditKind::ApiKeyRevoked,
    AuditKind::UsersSynced,
    AuditKind::WebhookEndpointAdded,
    AuditKind::WebhookEndpointRemoved,
    AuditKind::WebhookRedelivered,
    AuditKind::UserDeactivated,
    AuditKind::UserReactivated,
    AuditKind::ScimTokenCreated,
    AuditKind::ScimTokenRevoked,
];

/// The Audit log filter's value for every billing event at once ([`AuditKind::is_billing`]).
pub const BILLING_EVENTS: &str = "billing";

impl AuditKind {
    /// Who did it, for an event no person did: the billing run (invoices, charges and their
    /// emails), the scheduler (card reminders, refunds, notices, automatic suspension), or
    /// Tally itself.
    pub fn system_actor(self) -> &'static str {
        match self {
            AuditKind::BillingRun
            | AuditKind::InvoiceCreated
            | AuditKind::ChargeSucceeded
            | AuditKind::ChargeFailed
            | AuditKind::InvoiceEmailed
            | AuditKind::PaymentFailedEmailed => "the billing run",
            AuditKind::CardExpiryWarned
            | AuditKind::CreditNoteRefunded
            | AuditKind::MoneyNoticeEmailed
            | AuditKind::AccountSuspended => "the scheduler",
            _ => "Tally",
        }
    }

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
            AuditKind::CardExpiryWarned => "card_expiry_warned",
            AuditKind::UserCreated => "user_created",
            AuditKind::UserUpdated => "user_updated",
            AuditKind::UserSuspended => "user_suspended",
            AuditKind::UserUnsuspended => "user_unsuspended",
            AuditKind::UserDeleted => "user_deleted",
            AuditKind::UsersImported => "users_imported",
            AuditKind::BillingRun => "billing_run",
            AuditKind::InvoiceCreated => "invoice_created",
            AuditKind::ChargeSucceeded => "charge_succeeded",
            AuditKind::ChargeFailed => "charge_failed",
            AuditKind::InvoiceEmailed => "invoice_emailed",
            AuditKind::PaymentFailedEmailed => "payment_failed_emailed",
            AuditKind::InvoiceCopyRequested => "invoice_copy_requested",
            AuditKind::InvoiceRecipientChanged => "invoice_recipient_changed",
            AuditKind::CommandCreated => "command_created",
            AuditKind::CommandUpdated => "command_updated",
            AuditKind::CommandDeleted => "command_deleted",
            AuditKind::RunnerBound => "runner_bound",
            AuditKind::RunnerUnbound => "runner_unbound",
            AuditKind::CommandRun => "command_run",
            AuditKind::TwoStepEnabled => "two_step_enabled",
            AuditKind::TwoStepDisabled => "two_step_disabled",
            AuditKind::PasskeyAdded => "passkey_added",
            AuditKind::PasskeyRemoved => "passkey_removed",
            AuditKind::RecoveryCodeUsed => "recovery_code_used",
            AuditKind::RecoveryCodesRegenerated => "recovery_codes_regenerated",
            AuditKind::TwoStepReset => "two_step_reset",
            AuditKind::TwoStepPolicyChanged => "two_step_policy_changed",
            AuditKind::SecondStepFailed => "second_step_failed",
            AuditKind::OperatorAdded => "operator_added",
            AuditKind::SellerSetUp => "seller_set_up",
            AuditKind::PlanChanged => "plan_changed",
            AuditKind::AccountSuspended => "account_suspended",
            AuditKind::AccountReactivated => "account_reactivated",
            AuditKind::AccountClosed => "account_closed",
            AuditKind::ChargeRetried => "charge_retried",
            AuditKind::InvoiceMarkedPaid => "invoice_marked_paid",
            AuditKind::InvoiceVoided => "invoice_voided",
            AuditKind::CreditNoteIssued => "credit_note_issued",
            AuditKind::InvoiceCorrected => "invoice_corrected",
            AuditKind::SeatCapChanged => "seat_cap_changed",
            AuditKind::BillingContactsChanged => "billing_contacts_changed",
            AuditKind::SpendAlertsChanged => "spend_alerts_changed",
            AuditKind::SpendAlertFired => "spend_alert_fired",
            AuditKind::CreditNoteRefunded => "credit_note_refunded",
            AuditKind::MoneyNoticeEmailed => "money_notice_emailed",
            AuditKind::SellerSettingsChanged => "seller_settings_changed",
            AuditKind::OperatorRoleChanged => "operator_role_changed",
            AuditKind::OperatorSuspended => "operator_suspended",
            AuditKind::OperatorReactivated => "operator_reactivated",
            AuditKind::ApiKeyCreated => "api_key_created",
            AuditKind::ApiKeyRevoked => "api_key_revoked",
            AuditKind::UsersSynced => "users_synced",
            AuditKind::WebhookEndpointAdded => "webhook_endpoint_added",
            AuditKind::WebhookEndpointRemoved => "webhook_endpoint_removed",
            AuditKind::WebhookRedelivered => "webhook_redelivered",
            AuditKind::UserDeactivated => "user_deactivated",
            AuditKind::UserReactivated => "user_reactivated",
            AuditKind::ScimTokenCreated => "scim_token_created",
            AuditKind::ScimTokenRevoked => "scim_token_revoked",
        }
    }

    /// Whether the event is about billing: runs, invoices, charges and their retries, and the
    /// emails they send, the card and the billing information.
    pub fn is_billing(self) -> bool {
        matches!(
            self,
            AuditKind::BillingInfoChanged
                | AuditKind::PaymentMethodChanged
                | AuditKind::PaymentMethodEmailSent
                | AuditKind::CardExpiryWarned
                | AuditKind::BillingRun
                | AuditKind::InvoiceCreated
                | AuditKind::ChargeSucceeded
                | AuditKind::ChargeFailed
                | AuditKind::InvoiceEmailed
                | AuditKind::PaymentFailedEmailed
                | AuditKind::InvoiceCopyRequested
                | AuditKind::InvoiceRecipientChanged
                | AuditKind::PlanChanged
                | AuditKind::ChargeRetried
                | AuditKind::InvoiceMarkedPaid
                | AuditKind::InvoiceVoided
                | AuditKind::CreditNoteIssued
                | AuditKind::InvoiceCorrected
                | AuditKind::SeatCapChanged
                | AuditKind::BillingContactsChanged
                | AuditKind::SpendAlertsChanged
                | AuditKind::SpendAlertFired
                | AuditKind::CreditNoteRefunded
                | AuditKind::MoneyNoticeEmailed
        )
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
            AuditKind::CardExpiryWarned => "Card expiry warning sent",
            AuditKind::UserCreated => "User added",
            AuditKind::UserUpdated => "User changed",
            AuditKind::UserSuspended => "User suspended",
            AuditKind::UserUnsuspended => "User unsuspended",
            AuditKind::UserDeleted => "User deleted",
            AuditKind::UsersImported => "Users imported",
            AuditKind::BillingRun => "Billing run",
            AuditKind::InvoiceCreated => "Invoice created",
            AuditKind::ChargeSucceeded => "Charge succeeded",
            AuditKind::ChargeFailed => "Charge failed",
            AuditKind::InvoiceEmailed => "Invoice emailed",
            AuditKind::PaymentFailedEmailed => "Payment failure emailed",
            AuditKind::InvoiceCopyRequested => "Invoice copy requested",
            AuditKind::InvoiceRecipientChanged => "Invoice emails opt-in changed",
            AuditKind::CommandCreated => "Command created",
            AuditKind::CommandUpdated => "Command changed",
            AuditKind::CommandDeleted => "Command deleted",
            AuditKind::RunnerBound => "Runner bound",
            AuditKind::RunnerUnbound => "Runner unbound",
            AuditKind::CommandRun => "Command run",
            AuditKind::TwoStepEnabled => "Two-step verification turned on",
            AuditKind::TwoStepDisabled => "Authenticator app removed",
            AuditKind::PasskeyAdded => "Passkey added",
            AuditKind::PasskeyRemoved => "Passkey removed",
            AuditKind::RecoveryCodeUsed => "Recovery code used",
            AuditKind::RecoveryCodesRegenerated => "Recovery codes made anew",
            AuditKind::TwoStepReset => "Two-step verification reset",
            AuditKind::TwoStepPolicyChanged => "Two-step policy changed",
            AuditKind::SecondStepFailed => "Failed second step",
            AuditKind::OperatorAdded => "Operator added",
            AuditKind::SellerSetUp => "Seller set up",
            AuditKind::PlanChanged => "Plan changed",
            AuditKind::AccountSuspended => "Account suspended",
            AuditKind::AccountReactivated => "Account reactivated",
            AuditKind::AccountClosed => "Account closed",
            AuditKind::ChargeRetried => "Charge retried by the seller",
            AuditKind::InvoiceMarkedPaid => "Invoice marked paid",
            AuditKind::InvoiceVoided => "Invoice voided",
            AuditKind::CreditNoteIssued => "Credit note issued",
            AuditKind::InvoiceCorrected => "Invoice corrected",
            AuditKind::SeatCapChanged => "User limit changed",
            AuditKind::BillingContactsChanged => "Billing contacts changed",
            AuditKind::SpendAlertsChanged => "Spend alerts changed",
            AuditKind::SpendAlertFired => "Spend alert",
            AuditKind::CreditNoteRefunded => "Credit note refunded",
            AuditKind::MoneyNoticeEmailed => "Billing notice emailed",
            AuditKind::SellerSettingsChanged => "Seller settings changed",
            AuditKind::OperatorRoleChanged => "Operator role changed",
            AuditKind::OperatorSuspended => "Operator suspended",
            AuditKind::OperatorReactivated => "Operator reactivated",
            AuditKind::ApiKeyCreated => "API key created",
            AuditKind::ApiKeyRevoked => "API key revoked",
            AuditKind::UsersSynced => "Users synced",
            AuditKind::WebhookEndpointAdded => "Webhook endpoint added",
            AuditKind::WebhookEndpointRemoved => "Webhook endpoint removed",
            AuditKind::WebhookRedelivered => "Webhook sent again",
            AuditKind::UserDeactivated => "User deactivated",
            AuditKind::UserReactivated => "User reactivated",
            AuditKind::ScimTokenCreated => "SCIM token created",
            AuditKind::ScimTokenRevoked => "SCIM token revoked",
        }
    }
}

#[cfg(test)]
mod system_actor_tests {
    use super::AuditKind;

    #[test]
    fn an_event_nobody_did_names_what_did_it() {
        assert_eq!(AuditKind::InvoiceCreated.system_actor(), "the billing run");
        assert_eq!(AuditKind::ChargeFailed.system_actor(), "the billing run");
        assert_eq!(AuditKind::CardExpiryWarned.system_actor(), "the scheduler");
        assert_eq!(AuditKind::AccountSuspended.system_actor(), "the scheduler");
        assert_eq!(AuditKind::SignIn.system_actor(), "Tally");
    }
}
