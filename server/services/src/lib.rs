//! Tally's services: what the app's server functions, the server's HTTP routes and the
//! command line call to get anything done. In folders by domain, each importing only those
//! before it (a test in `tests/layers.rs` holds them to it):
//!
//! `platform` ← `identity` ← `directory` ← `billing` ← `seller`
//!
//! A service takes the caller as one [`tally_core::actor::Actor`] (the seller's own staff, in
//! the operator console, as a [`tally_core::actor::OperatorActor`]), answers with the shapes the
//! browser sees (`tally_core::views`) or its own types, and fails with
//! [`platform::error::ServiceError`]. docs/architecture.md walks through it.

pub mod billing;
pub mod directory;
pub mod identity;
pub mod platform;
pub mod seller;

use std::sync::Arc;

use billing::{
    alerts::SpendAlertChecks,
    cards::PaymentMethods,
    contacts::BillingContacts,
    credit_notes::{CreditNotes, Refunds},
    gateway::{
        sandbox::SandboxGateway, stripe::events::StripeEvents, stripe::StripeGateway,
        PaymentGateway,
    },
    info::BillingInformation,
    invoices::{charging::Charging, run::BillingRun, Invoices},
    scheduler::Scheduler,
};
use directory::{
    administrators::Administrators,
    commands::Commands,
    users::{scim::Scim, Users},
};
use identity::{
    accounts::sessions::Sessions, operators::Operators, passwords::Passwords, profile::Profile,
    sign_in::SignIns, two_step::TwoStep,
};
use platform::{audit::AuditLog, config::GatewaySettings, context::Context, status::Status};
use seller::{
    account_admins::AccountAdministrators, api_keys::ApiKeys, customers::Customers,
    money::MoneyActions, revenue::RevenueFigures, settings::SellerSettingsService, setup::Setup,
    staff::OperatorStaff, standing::Standing, webhooks::Webhooks,
};

/// Every service, wired once at start; cheap to clone. The server puts it in each request's
/// context, where server functions take it.
#[derive(Clone)]
pub struct Services(Arc<All>);

/// The services, reached through [`Services`] itself.
pub struct All {
    pub ctx: Context,
    pub status: Status,
    pub audit: AuditLog,
    pub sessions: Sessions,
    pub sign_ins: SignIns,
    pub setup: Setup,
    pub profile: Profile,
    pub two_step: TwoStep,
    /// The seller's staff: their sign-in and sessions.
    pub operators: Operators,
    /// The seller's customer accounts, for the console.
    pub customers: Customers,
    /// Suspending, reactivating and closing them.
    pub standing: Standing,
    /// Retrying charges, recording transfers, voiding invoices, credit notes.
    pub money: MoneyActions,
    /// The seller's settings page: its details, default plan, retries, automatic suspension.
    pub settings: SellerSettingsService,
    /// The seller's operators as its Owner manages them.
    pub staff: OperatorStaff,
    /// Helping a customer account's administrators: invitations, two-step resets.
    pub account_admins: AccountAdministrators,
    /// The seller's revenue figures.
    pub revenue: RevenueFigures,
    /// API keys for the seller's systems: made by the Owner, checked on every API call.
    pub api_keys: ApiKeys,
    pub administrators: Administrators,
    pub users: Users,
    pub commands: Commands,
    pub billing_info: BillingInformation,
    /// The people an account's billing messages go to, beside its billing contact.
    pub billing_contacts: BillingContacts,
    /// Spend alerts: set by an account's billing administrators, checked every minute.
    pub spend_alerts: SpendAlertChecks,
    pub cards: PaymentMethods,
    pub invoices: Invoices,
    /// Credit notes as the account's billing administrators read them.
    pub credit_notes: CreditNotes,
    pub charging: Charging,
    pub billing_run: BillingRun,
    pub scheduler: Scheduler,
    /// The sandbox processor, when it is the gateway (the server serves its API).
    pub sandbox: Option<SandboxGateway>,
    /// The Stripe gateway's webhooks, when it is the gateway.
    pub stripe_events: Option<StripeEvents>,
    /// The seller's webhook endpoints and the worker that sends their deliveries.
    pub webhooks: Webhooks,
    /// The account's identity provider: its tokens and its view of the users (SCIM).
    pub scim: Scim,
}

impl Services {
    /// The services with the payment gateway the settings name (`TALLY_GATEWAY`).
    pub fn new(ctx: Context) -> Self {
        match &ctx.settings.gateway {
            GatewaySettings::Sandbox => {
                let sandbox = SandboxGateway::new(ctx.clone());
                Self::wire(ctx, Arc::new(sandbox.clone()), Some(sandbox), None)
            }
            GatewaySettings::Stripe(settings) => {
                let stripe = StripeGateway::new(settings.clone(), ctx.clone());
                Self::wire(ctx, Arc::new(stripe.clone()), None, Some(stripe))
            }
        }
    }

    /// The services with another payment gateway (a test's own).
    pub fn with_gateway(ctx: Context, gateway: Arc<dyn PaymentGateway>) -> Self {
        Self::wire(ctx, gateway, None, None)
    }

    fn wire(
        ctx: Context,
        gateway: Arc<dyn PaymentGateway>,
        sandbox: Option<SandboxGateway>,
        stripe: Option<StripeGateway>,
    ) -> Self {
        let passwords = Passwords::per_core();
        let two_step = TwoStep::new(ctx.clone());
        let sign_ins = SignIns::new(ctx.clone(), passwords.clone(), two_step.clone());
        let charging = Charging::new(ctx.clone(), gateway.clone());
        let billing_run = BillingRun::new(ctx.clone(), charging.clone());
        let refunds = Refunds::new(ctx.clone(), gateway.clone());
        let operators = Operators::new(ctx.clone(), passwords.clone(), two_step.clone());
        // One for the console's actions and the scheduler's automatic suspension alike.
        let standing = Standing::new(ctx.clone(), billing_run.clone());
        Self(Arc::new(All {
            status: Status::new(ctx.clone()),
            audit: AuditLog::new(ctx.clone()),
            sessions: Sessions::new(ctx.clone()),
            profile: Profile::new(ctx.clone(), passwords.clone(), sign_ins.clone()),
            setup: Setup::new(ctx.clone(), operators.clone()),
            staff: OperatorStaff::new(ctx.clone(), operators.clone()),
            operators,
            customers: Customers::new(ctx.clone()),
            account_admins: AccountAdministrators::new(ctx.clone()),
            money: MoneyActions::new(ctx.clone(), refunds.clone(), charging.clone()),
            revenue: RevenueFigures::new(ctx.clone()),
            api_keys: ApiKeys::new(ctx.clone()),
            webhooks: Webhooks::new(ctx.clone()),
            sign_ins,
            two_step,
            administrators: Administrators::new(ctx.clone()),
            users: Users::new(ctx.clone()),
            scim: Scim::new(ctx.clone()),
            commands: Commands::new(ctx.clone()),
            billing_info: BillingInformation::new(ctx.clone()),
            billing_contacts: BillingContacts::new(ctx.clone()),
            spend_alerts: SpendAlertChecks::new(ctx.clone()),
            cards: PaymentMethods::new(ctx.clone(), gateway, charging.clone()),
            invoices: Invoices::new(ctx.clone()),
            scheduler: Scheduler::new(
                ctx.clone(),
                billing_run.clone(),
                charging.clone(),
                refunds.clone(),
            )
            .with_after_pass(Arc::new(standing.clone())),
            standing,
            settings: SellerSettingsService::new(ctx.clone()),
            stripe_events: stripe.map(|s| StripeEvents::new(ctx.clone(), s, charging.clone())),
            billing_run,
            credit_notes: CreditNotes::new(ctx.clone()),
            charging,
            sandbox,
            ctx,
        }))
    }
}

impl std::ops::Deref for Services {
    type Target = All;

    fn deref(&self) -> &All {
        &self.0
    }
}
