//! The edge between the app and the services: the app's ports (`tally_app::ports`),
//! implemented by wrapping each service. Here, and only here, the app's caller becomes an
//! [`Actor`], the services' own types become the app's page structs, and a `ServiceError`
//! becomes an `AppError` (`?` uses the one `From` in `error`).

use std::sync::Arc;

use async_trait::async_trait;
use tally_app::{
    api::{
        account::{AuditEntry, AuditFilter, AuditPage, TokenInfo, TokenKind, TokenState},
        admins::{AdminPage, AdminSummary, ADMINS_PER_PAGE},
        billing::{
            BillingSettings, CardSummary, ConfirmedCard, Processor,
            WaitingPayment as PageWaitingPayment,
        },
        commands::{self as wire, CommandList, RunPage, RunRecord, RUNS_PER_PAGE},
        invoices::{BillingOverview, InvoicePage, InvoiceSummary, MonthCharge, INVOICES_PER_PAGE},
        setup::SetupInput,
        status::{BackupEntry, SystemStatus},
        two_step::{AppEnrolment, PasskeyCreation, PasskeyRequest, PasskeySummary, TwoStepStatus},
        users::{UserPage, UserSummary, USERS_PER_PAGE},
    },
    auth::{self as caller, PendingSignIn, SessionContext},
    error::AppError,
    ports::{
        AdminService, AuditService, AuthService, BillingService, CommandService, InvoiceService,
        NewSession, Services, StatusService, TwoStepService, UserService,
    },
};
use tally_core::{
    audit::{AuditKind, ALL_AUDIT_KINDS},
    csv::RowError,
    forms::{
        BillingInfo, CardInput, NewAccountInput, NewAdmin, NewCommand, NewUser, PaymentInfoInput,
    },
    roles::{Action, AdminChange},
};

use crate::{
    accounts::Accounts,
    actor::{Actor, Visitor},
    admins::Admins,
    audit::AuditLog,
    auth::{
        links::{LinkKind, LinkState},
        sessions::{PendingSession, SetCookie},
        Auth, Proof, SignedIn,
    },
    billing_info::BillingInformation,
    charges::Charging,
    commands::Commands,
    context::Context,
    error::{Context as _, ServiceError},
    invoices::{Invoice, Invoices},
    payment_method::{PaymentMethods, SavedCard},
    profile::Profile,
    two_step::TwoStep,
    users::Users,
};

/// Every port the app's server functions reach through context.
pub fn build(ctx: &Context, auth: &Auth, charging: &Charging) -> Services {
    Services {
        status: Arc::new(StatusPort(ctx.clone())),
        auth: Arc::new(AuthPort {
            auth: auth.clone(),
            accounts: Accounts::new(ctx.clone(), auth.clone()),
            profile: Profile::new(ctx.clone(), auth.clone()),
        }),
        audit: Arc::new(AuditPort(AuditLog::new(ctx.clone()))),
        admins: Arc::new(AdminsPort(Admins::new(ctx.clone()))),
        billing: Arc::new(BillingPort {
            ctx: ctx.clone(),
            info: BillingInformation::new(ctx.clone()),
            cards: PaymentMethods::new(ctx.clone(), charging.clone()),
        }),
        users: Arc::new(UsersPort(Users::new(ctx.clone()))),
        invoices: Arc::new(InvoicesPort(Invoices::new(ctx.clone()))),
        commands: Arc::new(CommandsPort(Commands::new(ctx.clone()))),
        two_step: Arc::new(TwoStepPort { auth: auth.clone() }),
        processor_origin: match &ctx.settings.gateway {
            crate::config::GatewaySettings::Stripe(s) => Some(s.api_origin()),
            crate::config::GatewaySettings::Sandbox => None,
        },
    }
}

fn session(cookie: SetCookie) -> NewSession {
    NewSession {
        set_cookies: vec![cookie.0],
        second_step: false,
    }
}

fn signed_in(outcome: SignedIn) -> NewSession {
    match outcome {
        SignedIn::Session(cookie) => session(cookie),
        SignedIn::SecondStep(pending) => NewSession {
            set_cookies: vec![pending.0],
            second_step: true,
        },
    }
}

impl From<SavedCard> for CardSummary {
    fn from(c: SavedCard) -> Self {
        CardSummary {
            brand: c.brand,
            last4: c.last4,
            exp_month: c.exp_month,
            exp_year: c.exp_year,
            cardholder_name: c.cardholder_name,
            address: c.address,
            saved_at: c.saved_at,
            saved_by: c.saved_by,
        }
    }
}

impl From<Invoice> for InvoiceSummary {
    fn from(i: Invoice) -> Self {
        InvoiceSummary {
            id: i.id,
            number: i.number,
            month: i.month,
            peak_users: i.peak_users.max(0) as u64,
            free_users: i.free_users.max(0) as u64,
            price_per_user_cents: i.price_per_user_cents,
            amount_cents: i.amount_cents,
            status: i.status,
            company_name: i.company_name,
            created_at: i.created_at,
            paid_at: i.paid_at,
        }
    }
}

fn link_kind(kind: TokenKind) -> LinkKind {
    match kind {
        TokenKind::Invitation => LinkKind::Invitation,
        TokenKind::Reset => LinkKind::Reset,
    }
}

struct StatusPort(Context);

#[async_trait]
impl StatusService for StatusPort {
    async fn database(&self) -> Result<String, AppError> {
        let db = &self.0.db;
        db.ping().await.context("checking the database")?;
        Ok(db.backend().display_name().to_string())
    }

    async fn system(&self, actor: &caller::Actor) -> Result<SystemStatus, AppError> {
        if !tally_core::roles::allows(Actor::from(actor).role, Action::ViewSystem) {
            return Err(AppError::Forbidden);
        }
        let settings = &self.0.settings;
        let sqlite = self.0.db.backend() == crate::db::Backend::Sqlite;
        let backups = crate::backup::list_daily(&settings.data_dir)
            .into_iter()
            .map(|b| BackupEntry {
                day: b.day.format("%Y-%m-%d").to_string(),
                bytes: b.bytes,
            })
            .collect();
        Ok(SystemStatus {
            database: self.0.db.backend().display_name().to_string(),
            daily_backups: sqlite && settings.backup_keep > 0,
            keep: settings.backup_keep,
            backups,
        })
    }
}

struct AuthPort {
    auth: Auth,
    accounts: Accounts,
    profile: Profile,
}

impl AuthPort {
    /// A session's cookie, and the half-done sign-in's cleared.
    fn after_second_step(&self, cookie: SetCookie) -> NewSession {
        NewSession {
            set_cookies: vec![cookie.0, self.auth.sessions().clear_pending_cookie().0],
            second_step: false,
        }
    }
}

fn pending_of(p: &PendingSignIn) -> PendingSession {
    PendingSession {
        hash: p.token_hash.clone(),
        admin_id: p.admin_id.clone(),
    }
}

struct TwoStepPort {
    auth: Auth,
}

impl TwoStepPort {
    fn service(&self) -> &TwoStep {
        self.auth.two_step()
    }
}

#[async_trait]
impl TwoStepService for TwoStepPort {
    async fn status(&self, actor: &caller::Actor) -> Result<TwoStepStatus, AppError> {
        let s = self.service().status(&Actor::from(actor)).await?;
        Ok(TwoStepStatus {
            app: s.app,
            passkeys: s
                .passkeys
                .into_iter()
                .map(|p| PasskeySummary {
                    id: p.id,
                    name: p.name,
                    created_at: p.created_at,
                    last_used_at: p.last_used_at,
                })
                .collect(),
            recovery_codes_left: s.recovery_codes_left as u32,
            required: s.required,
            passkeys_available: s.passkeys_available,
        })
    }

    async fn start_app(&self, actor: &caller::Actor) -> Result<AppEnrolment, AppError> {
        let e = self.service().start_app(&Actor::from(actor)).await?;
        Ok(AppEnrolment {
            key: e.key,
            qr_svg: e.qr_svg,
        })
    }

    async fn confirm_app(
        &self,
        actor: &caller::Actor,
        code: String,
    ) -> Result<Vec<String>, AppError> {
        Ok(self
            .service()
            .confirm_app(&Actor::from(actor), &code)
            .await?)
    }

    async fn remove_app(&self, actor: &caller::Actor) -> Result<(), AppError> {
        Ok(self.service().remove_app(&Actor::from(actor)).await?)
    }

    async fn new_recovery_codes(&self, actor: &caller::Actor) -> Result<Vec<String>, AppError> {
        Ok(self
            .service()
            .regenerate_recovery_codes(&Actor::from(actor))
            .await?)
    }

    async fn passkey_options(
        &self,
        actor: &caller::Actor,
        name: String,
    ) -> Result<PasskeyCreation, AppError> {
        let (ceremony, options) = self
            .service()
            .start_passkey_registration(&Actor::from(actor), &name)
            .await?;
        Ok(PasskeyCreation { ceremony, options })
    }

    async fn add_passkey(
        &self,
        actor: &caller::Actor,
        ceremony: String,
        credential: webauthn_rs::prelude::RegisterPublicKeyCredential,
    ) -> Result<Vec<String>, AppError> {
        Ok(self
            .service()
            .finish_passkey_registration(&Actor::from(actor), &ceremony, &credential)
            .await?)
    }

    async fn remove_passkey(&self, actor: &caller::Actor, id: String) -> Result<(), AppError> {
        Ok(self
            .service()
            .remove_passkey(&Actor::from(actor), &id)
            .await?)
    }

    async fn confirm(
        &self,
        actor: &caller::Actor,
        session: &SessionContext,
        code: String,
        password: String,
    ) -> Result<(), AppError> {
        let proof = if code.trim().is_empty() {
            Proof::Password(password)
        } else {
            Proof::Code(code)
        };
        Ok(self
            .auth
            .confirm(&Actor::from(actor), &session.session_hash, &proof)
            .await?)
    }

    async fn confirm_passkey_options(
        &self,
        actor: &caller::Actor,
    ) -> Result<PasskeyRequest, AppError> {
        let (ceremony, options) = self
            .service()
            .start_passkey_authentication(&actor.admin.id)
            .await?;
        Ok(PasskeyRequest { ceremony, options })
    }

    async fn confirm_passkey(
        &self,
        actor: &caller::Actor,
        session: &SessionContext,
        ceremony: String,
        credential: webauthn_rs::prelude::PublicKeyCredential,
    ) -> Result<(), AppError> {
        let proof = Proof::Passkey {
            ceremony,
            credential: Box::new(credential),
        };
        Ok(self
            .auth
            .confirm(&Actor::from(actor), &session.session_hash, &proof)
            .await?)
    }

    async fn set_policy(&self, actor: &caller::Actor, required: bool) -> Result<(), AppError> {
        Ok(self
            .service()
            .set_policy(&Actor::from(actor), required)
            .await?)
    }

    async fn reset_for(&self, actor: &caller::Actor, target_id: String) -> Result<(), AppError> {
        Ok(self
            .service()
            .reset_for(&Actor::from(actor), &target_id)
            .await?)
    }
}

#[async_trait]
impl AuthService for AuthPort {
    async fn setup_needed(&self) -> Result<bool, AppError> {
        Ok(self.accounts.setup_needed().await?)
    }

    async fn setup(
        &self,
        visitor: &caller::Visitor,
        input: SetupInput,
    ) -> Result<NewSession, AppError> {
        let account = NewAccountInput {
            company_name: input.company_name,
            first_name: input.first_name,
            last_name: input.last_name,
            email: input.email,
        };
        let cookie = self
            .accounts
            .setup(
                &Visitor::from(visitor),
                &input.setup_code,
                &account,
                &input.password,
            )
            .await?;
        Ok(session(cookie))
    }

    async fn sign_in(
        &self,
        visitor: &caller::Visitor,
        email: String,
        password: String,
    ) -> Result<NewSession, AppError> {
        let outcome = self
            .auth
            .sign_in(&Visitor::from(visitor), &email, &password)
            .await?;
        Ok(signed_in(outcome))
    }

    async fn sign_out(&self, actor: &caller::Actor, session: &SessionContext) -> String {
        match self
            .auth
            .sign_out(&Actor::from(actor), &session.session_hash)
            .await
        {
            Ok(cookie) => cookie.0,
            Err(e) => {
                // The cookie goes anyway: signing out must always end the browser's session.
                let _ = AppError::from(e);
                self.auth.sessions().clear_cookie().0
            }
        }
    }

    async fn request_reset(
        &self,
        visitor: &caller::Visitor,
        email: String,
    ) -> Result<(), AppError> {
        Ok(self
            .auth
            .request_reset(&Visitor::from(visitor), &email)
            .await?)
    }

    async fn inspect_token(&self, kind: TokenKind, token: String) -> Result<TokenInfo, AppError> {
        let info = self.auth.inspect_link(link_kind(kind), &token).await?;
        Ok(TokenInfo {
            state: match info.state {
                LinkState::Valid => TokenState::Valid,
                LinkState::Expired => TokenState::Expired,
                LinkState::Used => TokenState::Used,
                LinkState::Unknown => TokenState::Unknown,
            },
            email: info.email,
            first_name: info.first_name,
        })
    }

    async fn complete_token(
        &self,
        visitor: &caller::Visitor,
        kind: TokenKind,
        token: String,
        password: String,
    ) -> Result<NewSession, AppError> {
        let outcome = self
            .auth
            .complete_link(&Visitor::from(visitor), link_kind(kind), &token, &password)
            .await?;
        Ok(signed_in(outcome))
    }

    async fn second_step(
        &self,
        visitor: &caller::Visitor,
        pending: &PendingSignIn,
        code: String,
    ) -> Result<NewSession, AppError> {
        let cookie = self
            .auth
            .second_step(
                &Visitor::from(visitor),
                &pending_of(pending),
                &Proof::Code(code),
            )
            .await?;
        Ok(self.after_second_step(cookie))
    }

    async fn second_step_passkey_options(
        &self,
        pending: &PendingSignIn,
    ) -> Result<PasskeyRequest, AppError> {
        let (ceremony, options) = self
            .auth
            .second_step_passkey_options(&pending_of(pending))
            .await?;
        Ok(PasskeyRequest { ceremony, options })
    }

    async fn second_step_passkey(
        &self,
        visitor: &caller::Visitor,
        pending: &PendingSignIn,
        ceremony: String,
        credential: webauthn_rs::prelude::PublicKeyCredential,
    ) -> Result<NewSession, AppError> {
        let proof = Proof::Passkey {
            ceremony,
            credential: Box::new(credential),
        };
        let cookie = self
            .auth
            .second_step(&Visitor::from(visitor), &pending_of(pending), &proof)
            .await?;
        Ok(self.after_second_step(cookie))
    }

    async fn change_password(
        &self,
        actor: &caller::Actor,
        current: String,
        new: String,
    ) -> Result<NewSession, AppError> {
        let cookie = self
            .profile
            .change_password(&Actor::from(actor), &current, &new)
            .await?;
        Ok(session(cookie))
    }

    async fn update_name(
        &self,
        actor: &caller::Actor,
        first_name: String,
        last_name: String,
    ) -> Result<(), AppError> {
        Ok(self
            .profile
            .update_name(&Actor::from(actor), &first_name, &last_name)
            .await?)
    }
}

struct AuditPort(AuditLog);

#[async_trait]
impl AuditService for AuditPort {
    async fn list(
        &self,
        actor: &caller::Actor,
        filter: AuditFilter,
    ) -> Result<AuditPage, AppError> {
        let listing = self.0.list(&Actor::from(actor), &filter).await?;
        let entries = listing
            .entries
            .into_iter()
            .map(|e| AuditEntry {
                id: e.id,
                at: chrono::DateTime::from_timestamp_millis(e.at)
                    .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                    .unwrap_or_default(),
                kind: AuditKind::from_code(&e.kind)
                    .map(|k| k.label().to_string())
                    .unwrap_or(e.kind),
                actor: e.actor_email.unwrap_or_default(),
                target: e.target.unwrap_or_default(),
                ip: e.ip.unwrap_or_default(),
                detail: e.detail,
            })
            .collect();
        Ok(AuditPage {
            entries,
            page: listing.page,
            page_count: listing.page_count,
            total: listing.total,
            kinds: ALL_AUDIT_KINDS
                .iter()
                .map(|k| k.code().to_string())
                .collect(),
        })
    }
}

struct AdminsPort(Admins);

#[async_trait]
impl AdminService for AdminsPort {
    async fn create(&self, actor: &caller::Actor, new: NewAdmin) -> Result<String, AppError> {
        Ok(self.0.create(&Actor::from(actor), &new).await?)
    }

    async fn list(
        &self,
        actor: &caller::Actor,
        search: String,
        page: u32,
    ) -> Result<AdminPage, AppError> {
        let listing = self.0.list(&Actor::from(actor), &search, page).await?;
        let admins = listing
            .admins
            .into_iter()
            .map(|a| AdminSummary {
                is_you: a.id == actor.admin.id,
                id: a.id,
                first_name: a.first_name,
                last_name: a.last_name,
                email: a.email,
                role: a.role,
                status: a.status,
                billing_only: a.billing_only,
                receives_invoices: a.receives_invoices,
                billing_contact: a.billing_contact,
                two_step: a.two_step,
            })
            .collect();
        Ok(AdminPage {
            admins,
            matching: listing.matching,
            total: listing.total,
            page,
            per_page: ADMINS_PER_PAGE,
        })
    }

    async fn change(
        &self,
        actor: &caller::Actor,
        target_id: &str,
        change: AdminChange,
    ) -> Result<(), AppError> {
        Ok(self
            .0
            .change(&Actor::from(actor), target_id, change)
            .await?)
    }

    async fn resend_invitation(
        &self,
        actor: &caller::Actor,
        target_id: &str,
    ) -> Result<(), AppError> {
        Ok(self
            .0
            .resend_invitation(&Actor::from(actor), target_id)
            .await?)
    }

    async fn invitations(
        &self,
        actor: &caller::Actor,
    ) -> Result<Vec<tally_app::api::overview::PendingInvitation>, AppError> {
        let pending = self.0.pending_invitations(&Actor::from(actor)).await?;
        pending
            .into_iter()
            .map(|p| {
                let role = tally_core::roles::Role::from_code(&p.role).ok_or_else(|| {
                    ServiceError::invariant("listing invitations", "an unknown role is stored")
                })?;
                Ok(tally_app::api::overview::PendingInvitation {
                    name: format!("{} {}", p.first_name, p.last_name),
                    email: p.email,
                    role,
                    link_valid: p.expires_at.is_some(),
                })
            })
            .collect()
    }
}

struct BillingPort {
    ctx: Context,
    info: BillingInformation,
    cards: PaymentMethods,
}

#[async_trait]
impl BillingService for BillingPort {
    async fn settings(&self, actor: &caller::Actor) -> Result<BillingSettings, AppError> {
        let actor = Actor::from(actor);
        Ok(BillingSettings {
            info: self.info.get(&actor).await?,
            card: self.cards.get(&actor).await?.map(CardSummary::from),
            accepted_brands: self.ctx.settings.accepted_brands.brands().to_vec(),
            today: self.ctx.clock.today(),
            processor: self.ctx.gateway.browser_processor().map(|p| Processor {
                publishable_key: p.publishable_key,
                api_base: p.api_base,
            }),
        })
    }

    async fn save_info(
        &self,
        actor: &caller::Actor,
        info: BillingInfo,
    ) -> Result<BillingInfo, AppError> {
        self.info.save(&Actor::from(actor), &info).await?;
        Ok(info)
    }

    async fn submit_payment_method(
        &self,
        actor: &caller::Actor,
        payment: PaymentInfoInput,
        card: CardInput,
        idempotency_key: String,
    ) -> Result<CardSummary, AppError> {
        let saved = self
            .cards
            .submit(&Actor::from(actor), &payment, card, &idempotency_key)
            .await?;
        Ok(saved.into())
    }

    async fn begin_card_setup(&self, actor: &caller::Actor) -> Result<String, AppError> {
        Ok(self.cards.begin_setup(&Actor::from(actor)).await?)
    }

    async fn card_setup_bank_page(
        &self,
        actor: &caller::Actor,
        setup_intent: String,
    ) -> Result<Option<String>, AppError> {
        Ok(self
            .cards
            .setup_bank_page(&Actor::from(actor), &setup_intent)
            .await?)
    }

    async fn confirm_card_setup(
        &self,
        actor: &caller::Actor,
        payment: PaymentInfoInput,
        setup_intent: String,
        card: ConfirmedCard,
        idempotency_key: String,
    ) -> Result<CardSummary, AppError> {
        let claimed = crate::payment_method::ClaimedCard {
            brand: card.brand,
            last4: card.last4,
            exp_month: card.exp_month,
            exp_year: card.exp_year,
        };
        let saved = self
            .cards
            .confirm_setup(
                &Actor::from(actor),
                &payment,
                &setup_intent,
                &claimed,
                &idempotency_key,
            )
            .await?;
        Ok(saved.into())
    }

    async fn payment_to_confirm(
        &self,
        actor: &caller::Actor,
        number: String,
        check: bool,
    ) -> Result<PageWaitingPayment, AppError> {
        let p = self
            .cards
            .payment_to_confirm(&Actor::from(actor), &number, check)
            .await?;
        Ok(PageWaitingPayment {
            number: p.number,
            amount: p.amount,
            status: p.status,
            waiting: p.waiting,
            payment_id: p.payment_id,
            client_secret: p.client_secret,
            redirect_url: p.redirect_url,
            processor: self.ctx.gateway.browser_processor().map(|p| Processor {
                publishable_key: p.publishable_key,
                api_base: p.api_base,
            }),
        })
    }
}

struct UsersPort(Users);

#[async_trait]
impl UserService for UsersPort {
    async fn list(
        &self,
        actor: &caller::Actor,
        search: String,
        page: u32,
    ) -> Result<UserPage, AppError> {
        let listing = self.0.list(&Actor::from(actor), &search, page).await?;
        Ok(UserPage {
            users: listing
                .users
                .into_iter()
                .map(|u| UserSummary {
                    id: u.id,
                    first_name: u.first_name,
                    last_name: u.last_name,
                    email: u.email,
                    suspended: u.suspended,
                })
                .collect(),
            matching: listing.matching,
            total: listing.total,
            page,
            per_page: USERS_PER_PAGE,
        })
    }

    async fn create(&self, actor: &caller::Actor, user: NewUser) -> Result<String, AppError> {
        Ok(self.0.create(&Actor::from(actor), &user).await?)
    }

    async fn update(&self, actor: &caller::Actor, id: &str, user: NewUser) -> Result<(), AppError> {
        Ok(self.0.update(&Actor::from(actor), id, &user).await?)
    }

    async fn set_suspended(
        &self,
        actor: &caller::Actor,
        id: &str,
        suspended: bool,
    ) -> Result<(), AppError> {
        Ok(self
            .0
            .set_suspended(&Actor::from(actor), id, suspended)
            .await?)
    }

    async fn delete(&self, actor: &caller::Actor, id: &str) -> Result<(), AppError> {
        Ok(self.0.delete(&Actor::from(actor), id).await?)
    }

    async fn import(
        &self,
        actor: &caller::Actor,
        users: Vec<(usize, NewUser)>,
        bad_rows: Vec<RowError>,
    ) -> Result<u64, AppError> {
        Ok(self.0.import(&Actor::from(actor), &users, bad_rows).await?)
    }
}

struct InvoicesPort(Invoices);

#[async_trait]
impl InvoiceService for InvoicesPort {
    async fn overview(&self, actor: &caller::Actor) -> Result<BillingOverview, AppError> {
        let o = self.0.overview(&Actor::from(actor)).await?;
        let month = tally_core::billing::BillingMonth::parse(&o.month).ok_or_else(|| {
            ServiceError::invariant("drawing the month's chart", "the month does not parse")
        })?;
        let month_chart = crate::charts::month_svg(month, &o.daily, o.free_users);
        Ok(BillingOverview {
            price_per_user_cents: o.price_per_user_cents,
            free_users: o.free_users,
            users_now: o.users_now,
            peak_so_far: o.peak_so_far,
            projected_cents: o.projected_cents,
            month: o.month,
            next_charge_date: o.next_charge_date,
            card: o.card.map(CardSummary::from),
            card_expires_before_charge: o.card_expires_before_charge,
            contact_name: o.contact_name,
            contact_email: o.contact_email,
            has_billing_info: o.has_billing_info,
            opted_in: o.opted_in,
            me_opted_in: o.caller_opted_in,
            past_due: o.past_due,
            month_chart,
            year_chart: crate::charts::year_svg(&o.months, o.free_users),
            daily_peaks: o.daily,
            history: o
                .months
                .into_iter()
                .map(|m| MonthCharge {
                    month: m.month,
                    peak_users: m.peak_users,
                    amount_cents: m.amount_cents,
                })
                .collect(),
        })
    }

    async fn list(&self, actor: &caller::Actor, page: u32) -> Result<InvoicePage, AppError> {
        let listing = self.0.list(&Actor::from(actor), page).await?;
        Ok(InvoicePage {
            invoices: listing
                .invoices
                .into_iter()
                .map(InvoiceSummary::from)
                .collect(),
            total: listing.total,
            page,
            per_page: INVOICES_PER_PAGE,
        })
    }

    async fn get(&self, actor: &caller::Actor, id: &str) -> Result<InvoiceSummary, AppError> {
        Ok(self.0.get(&actor.admin.account_id, id).await?.into())
    }

    async fn request_copy(&self, actor: &caller::Actor, id: &str) -> Result<String, AppError> {
        Ok(self.0.request_copy(&Actor::from(actor), id).await?)
    }

    async fn set_receive(&self, actor: &caller::Actor, on: bool) -> Result<(), AppError> {
        Ok(self.0.set_receive(&Actor::from(actor), on).await?)
    }
}

struct CommandsPort(Commands);

fn run_record(r: crate::commands::Run) -> RunRecord {
    RunRecord {
        id: r.id,
        admin_email: r.admin_email,
        at: r.created_at,
        status: r.status,
    }
}

#[async_trait]
impl CommandService for CommandsPort {
    async fn list(&self, actor: &caller::Actor) -> Result<CommandList, AppError> {
        let listing = self.0.list(&Actor::from(actor)).await?;
        let commands = listing
            .commands
            .into_iter()
            .map(|c| wire::CommandSummary {
                id: c.id,
                name: c.name,
                shell: c.shell,
                script: c.script,
                description: c.description,
                runners: c
                    .runners
                    .into_iter()
                    .map(|r| wire::Runner {
                        name: format!("{} {}", r.first_name, r.last_name),
                        admin_id: r.admin_id,
                        email: r.email,
                    })
                    .collect(),
                bound_to_me: c.bound_to_caller,
            })
            .collect();
        let candidates = listing
            .candidates
            .into_iter()
            .map(|c| wire::Candidate {
                admin_id: c.admin_id,
                name: c.name,
                email: c.email,
                role: c.role,
                billing_only: c.billing_only,
            })
            .collect();
        Ok(CommandList {
            commands,
            manage: listing.manage,
            candidates,
        })
    }

    async fn create(&self, actor: &caller::Actor, command: NewCommand) -> Result<String, AppError> {
        Ok(self.0.create(&Actor::from(actor), &command).await?)
    }

    async fn update(
        &self,
        actor: &caller::Actor,
        id: &str,
        command: NewCommand,
    ) -> Result<(), AppError> {
        Ok(self.0.update(&Actor::from(actor), id, &command).await?)
    }

    async fn delete(&self, actor: &caller::Actor, id: &str) -> Result<(), AppError> {
        Ok(self.0.delete(&Actor::from(actor), id).await?)
    }

    async fn bind(
        &self,
        actor: &caller::Actor,
        command_id: &str,
        admin_id: &str,
        confirm: bool,
    ) -> Result<(), AppError> {
        Ok(self
            .0
            .bind(&Actor::from(actor), command_id, admin_id, confirm)
            .await?)
    }

    async fn unbind(
        &self,
        actor: &caller::Actor,
        command_id: &str,
        admin_id: &str,
    ) -> Result<(), AppError> {
        Ok(self
            .0
            .unbind(&Actor::from(actor), command_id, admin_id)
            .await?)
    }

    async fn run(&self, actor: &caller::Actor, id: &str) -> Result<RunRecord, AppError> {
        Ok(run_record(self.0.run(&Actor::from(actor), id).await?))
    }

    async fn runs(&self, actor: &caller::Actor, id: &str, page: u32) -> Result<RunPage, AppError> {
        let listing = self.0.runs(&Actor::from(actor), id, page).await?;
        Ok(RunPage {
            runs: listing.runs.into_iter().map(run_record).collect(),
            total: listing.total,
            page,
            per_page: RUNS_PER_PAGE,
        })
    }
}
