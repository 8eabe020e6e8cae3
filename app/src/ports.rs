//! What the app needs from the server, as traits the server implements.
//!
//! The app never imports the server crate: the server builds a [`Services`] value at start and
//! provides it as context to every request, and server functions take it from there.

use std::sync::Arc;

use leptos::prelude::*;

use crate::{
    api::two_step::{AppEnrolment, PasskeyCreation, PasskeyRequest, TwoStepStatus},
    api::{
        account::{AuditFilter, AuditPage, TokenInfo, TokenKind},
        setup::SetupInput,
    },
    auth::{Actor, PendingSignIn, SessionContext, Visitor},
    error::AppError,
};

/// The server's services, one field per area.
#[derive(Clone)]
pub struct Services {
    pub status: Arc<dyn StatusService>,
    pub auth: Arc<dyn AuthService>,
    pub audit: Arc<dyn AuditService>,
    pub admins: Arc<dyn AdminService>,
    pub billing: Arc<dyn BillingService>,
    pub users: Arc<dyn UserService>,
    pub invoices: Arc<dyn InvoiceService>,
    pub commands: Arc<dyn CommandService>,
    pub two_step: Arc<dyn TwoStepService>,
    /// The payment processor's API origin when the browser talks to it (for the pages'
    /// `connect-src`).
    pub processor_origin: Option<String>,
}

/// Fetches the services from the request's context.
pub fn services() -> Result<Services, AppError> {
    use_context::<Services>()
        .ok_or_else(|| AppError::Internal("server services are missing from context".into()))
}

/// Health of the server's dependencies.
#[async_trait::async_trait]
pub trait StatusService: Send + Sync {
    /// Runs a trivial query; returns the database's display name ("SQLite", "PostgreSQL").
    async fn database(&self) -> Result<String, AppError>;
    /// The System section: the database and its daily backups (Administrator With Billing).
    async fn system(&self, actor: &Actor) -> Result<crate::api::status::SystemStatus, AppError>;
}

/// A sign-in that went through: the cookies to set, and whether the second step is still
/// to come (the cookie is then a half-done sign-in's, not a session's).
#[derive(Clone, Debug)]
pub struct NewSession {
    pub set_cookies: Vec<String>,
    pub second_step: bool,
}

/// Accounts, sign-in, sessions, invitations and resets.
#[async_trait::async_trait]
pub trait AuthService: Send + Sync {
    /// True while no account exists (first start).
    async fn setup_needed(&self) -> Result<bool, AppError>;
    /// Creates the first account and its Administrator With Billing, and signs them in.
    async fn setup(&self, visitor: &Visitor, input: SetupInput) -> Result<NewSession, AppError>;
    /// Checks a password with lockout and throttling; the same error for every failure.
    async fn sign_in(
        &self,
        visitor: &Visitor,
        email: String,
        password: String,
    ) -> Result<NewSession, AppError>;
    /// Ends one session; returns the cookie that clears it.
    async fn sign_out(&self, actor: &Actor, session: &SessionContext) -> String;
    /// Emails a reset link if the address belongs to an active administrator; silent otherwise.
    async fn request_reset(&self, visitor: &Visitor, email: String) -> Result<(), AppError>;
    /// What an invitation or reset link is worth, without using it.
    async fn inspect_token(&self, kind: TokenKind, token: String) -> Result<TokenInfo, AppError>;
    /// Uses an invitation or reset link to set a password, and signs in.
    async fn complete_token(
        &self,
        visitor: &Visitor,
        kind: TokenKind,
        token: String,
        password: String,
    ) -> Result<NewSession, AppError>;
    /// The second step of a sign-in with an authenticator or recovery code.
    async fn second_step(
        &self,
        visitor: &Visitor,
        pending: &PendingSignIn,
        code: String,
    ) -> Result<NewSession, AppError>;
    /// Starts the second step of a sign-in with a passkey.
    async fn second_step_passkey_options(
        &self,
        pending: &PendingSignIn,
    ) -> Result<PasskeyRequest, AppError>;
    /// Finishes the second step of a sign-in with a passkey's answer.
    async fn second_step_passkey(
        &self,
        visitor: &Visitor,
        pending: &PendingSignIn,
        ceremony: String,
        credential: webauthn_rs_proto::PublicKeyCredential,
    ) -> Result<NewSession, AppError>;
    /// Changes one's own password (current one required); ends every other session.
    async fn change_password(
        &self,
        actor: &Actor,
        current: String,
        new: String,
    ) -> Result<NewSession, AppError>;
    /// Changes one's own name.
    async fn update_name(
        &self,
        actor: &Actor,
        first_name: String,
        last_name: String,
    ) -> Result<(), AppError>;
}

/// Administrators of the caller's account.
#[async_trait::async_trait]
pub trait AdminService: Send + Sync {
    /// Creates an invited administrator and emails them an invitation; returns their id.
    async fn create(
        &self,
        actor: &Actor,
        new: tally_core::forms::NewAdmin,
    ) -> Result<String, AppError>;
    /// One page of the caller's account's administrators matching `search`.
    async fn list(
        &self,
        actor: &Actor,
        search: String,
        page: u32,
    ) -> Result<crate::api::admins::AdminPage, AppError>;
    /// Applies a role change, suspension or deletion under the account's rules, atomically.
    async fn change(
        &self,
        actor: &Actor,
        target_id: &str,
        change: tally_core::roles::AdminChange,
    ) -> Result<(), AppError>;
    /// Emails a new invitation link to an administrator who has not accepted yet; earlier
    /// links stop working.
    async fn resend_invitation(&self, actor: &Actor, target_id: &str) -> Result<(), AppError>;
    /// The administrators invited and not signed in yet, oldest first.
    async fn invitations(
        &self,
        actor: &Actor,
    ) -> Result<Vec<crate::api::overview::PendingInvitation>, AppError>;
}

/// The audit log.
#[async_trait::async_trait]
pub trait AuditService: Send + Sync {
    async fn list(&self, actor: &Actor, filter: AuditFilter) -> Result<AuditPage, AppError>;
}

/// Billing information and the payment method (spec §3 modal, §6).
#[async_trait::async_trait]
pub trait BillingService: Send + Sync {
    async fn settings(
        &self,
        actor: &Actor,
    ) -> Result<crate::api::billing::BillingSettings, AppError>;
    /// Saves validated billing information (audited).
    async fn save_info(
        &self,
        actor: &Actor,
        info: tally_core::forms::BillingInfo,
    ) -> Result<tally_core::forms::BillingInfo, AppError>;
    /// Parses the payment information and card with core, tokenizes through the gateway,
    /// replaces the card on file, emails the billing contact and billing admins, audits.
    async fn submit_payment_method(
        &self,
        actor: &Actor,
        payment: tally_core::forms::PaymentInfoInput,
        card: tally_core::forms::CardInput,
        idempotency_key: String,
    ) -> Result<crate::api::billing::CardSummary, AppError>;
    /// Begins a card set-up with the processor; its client secret.
    async fn begin_card_setup(&self, actor: &Actor) -> Result<String, AppError>;
    /// The bank's page for a set-up waiting for the cardholder, if the processor has one.
    async fn card_setup_bank_page(
        &self,
        actor: &Actor,
        setup_intent: String,
    ) -> Result<Option<String>, AppError>;
    /// Saves a card the browser confirmed with the processor, checked with the processor.
    async fn confirm_card_setup(
        &self,
        actor: &Actor,
        payment: tally_core::forms::PaymentInfoInput,
        setup_intent: String,
        card: crate::api::billing::ConfirmedCard,
        idempotency_key: String,
    ) -> Result<crate::api::billing::CardSummary, AppError>;
    /// An invoice waiting for the cardholder's authentication; with `check`, asks the
    /// processor first and records what it says.
    async fn payment_to_confirm(
        &self,
        actor: &Actor,
        number: String,
        check: bool,
    ) -> Result<crate::api::billing::WaitingPayment, AppError>;
}

/// Users (seats). Every change that alters the count is recorded with it, atomically.
#[async_trait::async_trait]
pub trait UserService: Send + Sync {
    async fn list(
        &self,
        actor: &Actor,
        search: String,
        page: u32,
    ) -> Result<crate::api::users::UserPage, AppError>;
    async fn create(
        &self,
        actor: &Actor,
        user: tally_core::forms::NewUser,
    ) -> Result<String, AppError>;
    async fn update(
        &self,
        actor: &Actor,
        id: &str,
        user: tally_core::forms::NewUser,
    ) -> Result<(), AppError>;
    async fn set_suspended(&self, actor: &Actor, id: &str, suspended: bool)
        -> Result<(), AppError>;
    async fn delete(&self, actor: &Actor, id: &str) -> Result<(), AppError>;
    /// Adds every user or none. `bad_rows` are rows core refused already; an address already in
    /// the account refuses its row too, and every refused row is returned together.
    async fn import(
        &self,
        actor: &Actor,
        users: Vec<(usize, tally_core::forms::NewUser)>,
        bad_rows: Vec<tally_core::csv::RowError>,
    ) -> Result<u64, AppError>;
}

/// The Billing page's data and actions.
#[async_trait::async_trait]
pub trait InvoiceService: Send + Sync {
    async fn overview(
        &self,
        actor: &Actor,
    ) -> Result<crate::api::invoices::BillingOverview, AppError>;
    async fn list(
        &self,
        actor: &Actor,
        page: u32,
    ) -> Result<crate::api::invoices::InvoicePage, AppError>;
    async fn get(
        &self,
        actor: &Actor,
        id: &str,
    ) -> Result<crate::api::invoices::InvoiceSummary, AppError>;
    /// Emails a copy to the billing contact; returns that address.
    async fn request_copy(&self, actor: &Actor, id: &str) -> Result<String, AppError>;
    async fn set_receive(&self, actor: &Actor, on: bool) -> Result<(), AppError>;
}

/// Saved commands, runner bindings and runs.
#[async_trait::async_trait]
pub trait CommandService: Send + Sync {
    async fn list(&self, actor: &Actor) -> Result<crate::api::commands::CommandList, AppError>;
    async fn create(
        &self,
        actor: &Actor,
        command: tally_core::forms::NewCommand,
    ) -> Result<String, AppError>;
    async fn update(
        &self,
        actor: &Actor,
        id: &str,
        command: tally_core::forms::NewCommand,
    ) -> Result<(), AppError>;
    async fn delete(&self, actor: &Actor, id: &str) -> Result<(), AppError>;
    async fn bind(
        &self,
        actor: &Actor,
        command_id: &str,
        admin_id: &str,
        confirm: bool,
    ) -> Result<(), AppError>;
    async fn unbind(&self, actor: &Actor, command_id: &str, admin_id: &str)
        -> Result<(), AppError>;
    async fn run(
        &self,
        actor: &Actor,
        id: &str,
    ) -> Result<crate::api::commands::RunRecord, AppError>;
    async fn runs(
        &self,
        actor: &Actor,
        id: &str,
        page: u32,
    ) -> Result<crate::api::commands::RunPage, AppError>;
}

/// Two-step verification: one's own, the fresh check, the account's policy.
#[async_trait::async_trait]
pub trait TwoStepService: Send + Sync {
    async fn status(&self, actor: &Actor) -> Result<TwoStepStatus, AppError>;
    async fn start_app(&self, actor: &Actor) -> Result<AppEnrolment, AppError>;
    async fn confirm_app(&self, actor: &Actor, code: String) -> Result<Vec<String>, AppError>;
    async fn remove_app(&self, actor: &Actor) -> Result<(), AppError>;
    async fn new_recovery_codes(&self, actor: &Actor) -> Result<Vec<String>, AppError>;
    async fn passkey_options(
        &self,
        actor: &Actor,
        name: String,
    ) -> Result<PasskeyCreation, AppError>;
    async fn add_passkey(
        &self,
        actor: &Actor,
        ceremony: String,
        credential: webauthn_rs_proto::RegisterPublicKeyCredential,
    ) -> Result<Vec<String>, AppError>;
    async fn remove_passkey(&self, actor: &Actor, id: String) -> Result<(), AppError>;
    /// "Confirm it's you" with a code or, for someone without a second step, the password.
    async fn confirm(
        &self,
        actor: &Actor,
        session: &SessionContext,
        code: String,
        password: String,
    ) -> Result<(), AppError>;
    async fn confirm_passkey_options(&self, actor: &Actor) -> Result<PasskeyRequest, AppError>;
    async fn confirm_passkey(
        &self,
        actor: &Actor,
        session: &SessionContext,
        ceremony: String,
        credential: webauthn_rs_proto::PublicKeyCredential,
    ) -> Result<(), AppError>;
    async fn set_policy(&self, actor: &Actor, required: bool) -> Result<(), AppError>;
    async fn reset_for(&self, actor: &Actor, target_id: String) -> Result<(), AppError>;
}
