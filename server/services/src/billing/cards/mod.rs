//! The card on file (owner of `payment_methods` and `payment_method_submissions`): one card per
//! account, replaced, never removed. The browser confirms a card with the payment processor
//! (Stripe, or the embedded sandbox) and Tally keeps what the processor says of it: a token,
//! the brand, the last 4 digits, the expiry and a keyed fingerprint. Card numbers and security
//! codes never reach Tally's services.

pub mod expiry;

use std::{collections::HashMap, sync::Arc};

use sqlx::{Any, Executor};
use tally_core::{
    actor::Actor,
    audit::AuditKind,
    card::Brand,
    forms::{BillingInfo, PaymentInfo, PaymentInfoInput},
    views::billing::{card_label, CardSummary, ConfirmedCard, Processor, WaitingPayment},
};

use super::{
    gateway::{GatewayError, PaymentGateway},
    info::{self, Contact},
    invoices::{self, charging::Charging},
    AddressRow,
};
use crate::platform::db::Code;
use crate::{
    identity::accounts::admins,
    platform::{
        audit::Event,
        context::Context,
        error::{ResultExt, ServiceError},
        mail::emails,
        work::Work,
    },
};

/// The card on file as stored.
#[derive(sqlx::FromRow)]
struct CardRow {
    #[sqlx(try_from = "Code<Brand>")]
    brand: Brand,
    last4: String,
    exp_month: i64,
    exp_year: i64,
    cardholder_name: String,
    saved_at: i64,
    saved_by: Option<String>,
    #[sqlx(flatten)]
    address: AddressRow,
}

/// The account's card on file, with who saved it (their email, while they are an
/// administrator).
pub async fn card_on_file(
    pool: &sqlx::AnyPool,
    account_id: &str,
) -> Result<Option<CardSummary>, ServiceError> {
    let row: Option<CardRow> = sqlx::query_as(
        "SELECT brand, last4, exp_month, exp_year, cardholder_name, saved_at, saved_by, \
         country, line1, line2, city, region, postal_code FROM payment_methods WHERE account_id = $1",
    )
    .bind(account_id)
    .fetch_optional(pool)
    .await
    .context("reading the card on file")?;
    let Some(r) = row else { return Ok(None) };
    let saved_by = match &r.saved_by {
        Some(id) => admins::by_id(pool, id).await?.map(|a| a.email),
        None => None,
    };
    let broken = |what: &str| ServiceError::invariant("reading the card on file", what.to_string());
    Ok(Some(CardSummary {
        brand: r.brand,
        last4: r.last4,
        exp_month: u32::try_from(r.exp_month).map_err(|_| broken("a negative month"))?,
        exp_year: i32::try_from(r.exp_year).map_err(|_| broken("a year out of range"))?,
        cardholder_name: r.cardholder_name,
        address: r.address.into(),
        saved_at: r.saved_at,
        saved_by,
    }))
}

/// The cards on file of the accounts whose ids lie between `first` and `last`: each one's
/// token with the processor and how it reads ("Visa •••• 4242").
pub async fn tokens_between<'e, E>(
    exec: E,
    first: &str,
    last: &str,
) -> Result<HashMap<String, (String, String)>, ServiceError>
where
    E: Executor<'e, Database = Any>,
{
    let rows: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT account_id, gateway_token, brand, last4 FROM payment_methods \
         WHERE account_id >= $1 AND account_id <= $2",
    )
    .bind(first)
    .bind(last)
    .fetch_all(exec)
    .await
    .context("reading the cards on file")?;
    rows.into_iter()
        .map(|(account, token, brand, last4)| {
            let brand = Brand::try_from(brand).context("reading the cards on file")?;
            Ok((account, (token, card_label(brand, &last4))))
        })
        .collect()
}

/// A card to keep on file: what the processor confirmed of it, whose it is, and who saved it.
pub struct CardToKeep<'a> {
    /// The processor's token for charging it.
    pub token: &'a str,
    /// The keyed fingerprint (`Keys::card_fingerprint`).
    pub fingerprint: &'a str,
    pub brand: Brand,
    pub last4: &'a str,
    pub exp_month: u32,
    pub exp_year: i32,
    pub holder: &'a PaymentInfo,
    /// The administrator who saved it (`None` for the demo's seed).
    pub saved_by: Option<&'a str>,
    pub saved_at: i64,
}

impl CardToKeep<'_> {
    /// "Visa •••• 4242".
    fn label(&self) -> String {
        card_label(self.brand, self.last4)
    }
}

/// Makes `card` the account's card on file, in `conn`.
async fn keep<'e, E>(exec: E, account_id: &str, card: &CardToKeep<'_>) -> Result<(), ServiceError>
where
    E: Executor<'e, Database = Any>,
{
    let a = &card.holder.address;
    sqlx::query(
        "INSERT INTO payment_methods (account_id, gateway_token, brand, last4, exp_month, exp_year, cardholder_name, \
         country, line1, line2, city, region, postal_code, fingerprint, saved_by, saved_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
         ON CONFLICT (account_id) DO UPDATE SET gateway_token = excluded.gateway_token, brand = excluded.brand, \
         last4 = excluded.last4, exp_month = excluded.exp_month, exp_year = excluded.exp_year, \
         cardholder_name = excluded.cardholder_name, country = excluded.country, line1 = excluded.line1, \
         line2 = excluded.line2, city = excluded.city, region = excluded.region, postal_code = excluded.postal_code, \
         fingerprint = excluded.fingerprint, saved_by = excluded.saved_by, saved_at = excluded.saved_at, \
         expiry_warned_for = NULL",
    )
    .bind(account_id)
    .bind(card.token)
    .bind(card.brand.code())
    .bind(card.last4)
    .bind(i64::from(card.exp_month))
    .bind(i64::from(card.exp_year))
    .bind(&card.holder.cardholder_name)
    .bind(&a.country)
    .bind(&a.line1)
    .bind(&a.line2)
    .bind(&a.city)
    .bind(&a.region)
    .bind(&a.postal_code)
    .bind(card.fingerprint)
    .bind(card.saved_by)
    .bind(card.saved_at)
    .execute(exec)
    .await
    .context("writing the card on file")?;
    Ok(())
}

/// A card on file as the processor would have kept it (the demo's seed), in `conn`.
pub async fn seed(
    conn: &mut sqlx::AnyConnection,
    account_id: &str,
    card: &CardToKeep<'_>,
) -> Result<(), ServiceError> {
    keep(conn, account_id, card).await
}

/// Where "payment method changed" goes: the billing contact and every active billing
/// administrator, each address once.
fn change_recipients(
    contact: Option<&Contact>,
    billing_admins: &[admins::BillingAdmin],
) -> Vec<String> {
    let mut to: Vec<String> = contact.map(|c| c.email.clone()).into_iter().collect();
    for a in billing_admins {
        if !to.iter().any(|t| t.eq_ignore_ascii_case(&a.email)) {
            to.push(a.email.clone());
        }
    }
    to
}

/// Saving the card on file.
#[derive(Clone)]
pub struct PaymentMethods {
    ctx: Context,
    gateway: Arc<dyn PaymentGateway>,
    charging: Charging,
}

impl PaymentMethods {
    pub fn new(ctx: Context, gateway: Arc<dyn PaymentGateway>, charging: Charging) -> Self {
        Self {
            ctx,
            gateway,
            charging,
        }
    }

    /// The caller's account's card, if one was saved.
    pub async fn get(&self, actor: &Actor) -> Result<Option<CardSummary>, ServiceError> {
        card_on_file(self.ctx.db.pool(), &actor.account_id).await
    }

    /// Where the browser confirms cards.
    pub fn processor(&self) -> Processor {
        self.gateway.processor()
    }

    /// The processor's origin when the browser confirms cards with another site (for the
    /// pages' `connect-src`); `None` for the sandbox, on this site.
    pub fn processor_origin(&self) -> Option<String> {
        url::Url::parse(&self.gateway.processor().api_base)
            .ok()
            .map(|u| u.origin().ascii_serialization())
    }

    /// Whether a submit with this idempotency key was saved already.
    async fn submitted(&self, account_id: &str, key: &str) -> Result<bool, ServiceError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM payment_method_submissions WHERE account_id = $1 AND idempotency_key = $2",
        )
        .bind(account_id)
        .bind(key)
        .fetch_one(self.ctx.db.pool())
        .await
        .context("checking a payment method submission")?;
        Ok(n > 0)
    }

    /// What an earlier submit with the same key saved.
    async fn saved_before(&self, account_id: &str) -> Result<CardSummary, ServiceError> {
        card_on_file(self.ctx.db.pool(), account_id)
            .await?
            .ok_or_else(|| {
                ServiceError::invariant(
                    "repeating a submission",
                    "a recorded submission has no card",
                )
            })
    }

    /// Begins saving a card: the processor's set-up, whose client secret the browser confirms
    /// the card with. Nothing is saved yet.
    pub async fn begin_setup(&self, actor: &Actor) -> Result<String, ServiceError> {
        self.ctx.require_fresh(actor)?;
        match self.gateway.begin_setup(&actor.account_id).await {
            Ok(start) => Ok(start.client_secret),
            Err(e) => Err(e).context("starting a card set-up with the payment processor"),
        }
    }

    /// The bank's page for a set-up of the actor's account that waits for the cardholder, if
    /// the processor has one; the cardholder comes back to the payments page.
    pub async fn setup_bank_page(
        &self,
        actor: &Actor,
        setup_id: &str,
    ) -> Result<Option<String>, ServiceError> {
        let back = self.ctx.link("/billing/payment");
        match self
            .gateway
            .setup_bank_page(&actor.account_id, setup_id, &back)
            .await
        {
            Ok(page) => Ok(page),
            Err(GatewayError::NotFound) => Err(ServiceError::NotFound),
            Err(e) => Err(e).context("asking the processor for the bank's page"),
        }
    }

    /// Saves a card the browser confirmed with the processor (set-up `setup_id`): the payment
    /// information is parsed with core again, the card is read back from the processor, and
    /// what the browser said of it (brand, last 4, expiry) must agree. Then it replaces the
    /// card on file, tells the billing contact and billing administrators, and charges what is
    /// unpaid. The same `idempotency_key` twice saves once.
    pub async fn confirm_setup(
        &self,
        actor: &Actor,
        payment: &PaymentInfoInput,
        setup_id: &str,
        claimed: &ConfirmedCard,
        idempotency_key: &str,
    ) -> Result<CardSummary, ServiceError> {
        self.ctx.require_fresh(actor)?;
        let account = actor.account_id.as_str();
        // A repeat of a submit that succeeded: answer with what it saved, do nothing again.
        if self.submitted(account, idempotency_key).await? {
            return self.saved_before(account).await;
        }
        let info = info::read(self.ctx.db.pool(), account).await?;
        let holder = payment
            .parse(info.as_ref().map(|i| &i.address))
            .map_err(ServiceError::Invalid)?;
        let card = match self.gateway.finish_setup(account, setup_id).await {
            Ok(c) => c,
            Err(GatewayError::Declined(d)) => {
                return Err(ServiceError::Declined(d.message().into()))
            }
            Err(GatewayError::NotFound) => return Err(ServiceError::NotFound),
            Err(e) => return Err(e).context("checking a card set-up with the payment processor"),
        };
        let Some(brand) =
            Brand::from_code(&card.brand).filter(|b| self.ctx.settings.accepted_brands.accepts(*b))
        else {
            return Err(ServiceError::Declined(
                "This card's brand is not accepted here. Use another card.".into(),
            ));
        };
        if claimed.brand != brand
            || claimed.last4 != card.last4
            || claimed.exp_month != card.exp_month
            || claimed.exp_year != card.exp_year
        {
            return Err(ServiceError::Conflict(
                "The card the processor confirmed is not the one typed. Type the card again."
                    .into(),
            ));
        }
        let fingerprint = self
            .ctx
            .keys
            .card_fingerprint(card.fingerprint.as_deref().unwrap_or(card.token.0.as_str()));
        let card = CardToKeep {
            token: &card.token.0,
            fingerprint: &fingerprint,
            brand,
            last4: &card.last4,
            exp_month: card.exp_month,
            exp_year: card.exp_year,
            holder: &holder,
            saved_by: Some(&actor.id),
            saved_at: self.ctx.now(),
        };
        self.store(actor, &card, info.as_ref(), idempotency_key)
            .await
    }

    /// Replaces the card on file with `card`, once per `idempotency_key`; emails, audits and
    /// charges what is unpaid. Answers with the card on file as the Billing page reads it.
    async fn store(
        &self,
        actor: &Actor,
        card: &CardToKeep<'_>,
        info: Option<&BillingInfo>,
        idempotency_key: &str,
    ) -> Result<CardSummary, ServiceError> {
        let account = actor.account_id.as_str();
        let mut work = self.ctx.begin("saving a card").await?;
        let first = sqlx::query(
            "INSERT INTO payment_method_submissions (account_id, idempotency_key, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (account_id, idempotency_key) DO NOTHING",
        )
        .bind(account)
        .bind(idempotency_key)
        .bind(card.saved_at)
        .execute(work.tx())
        .await
        .context("recording a payment method submission")?;
        if first.rows_affected() == 0 {
            // The same submit raced this one and won; keep what it saved (this one rolls back).
            drop(work);
            return self.saved_before(account).await;
        }
        keep(work.tx(), account, card).await?;
        let expiry = tally_core::expiry::label(card.exp_month, card.exp_year);
        work.audit(Event::by(
            actor,
            AuditKind::PaymentMethodChanged,
            card.label(),
            format!("expires {expiry}"),
        ));
        self.change_notices(&mut work, actor, card, info).await?;
        // The card and its notices are saved: a delivery that fails is the outbox's to retry.
        work.commit().await?;
        // A new card: invoices that failed or are past due are charged again now.
        if let Err(e) = self.charging.charge_unpaid(account).await {
            tracing::error!(error = %e, "charging unpaid invoices after a new card");
        }
        self.saved_before(account).await
    }

    /// Adds the change notice (last 4 only) to the card's own unit of work, with an audit
    /// event for each message.
    async fn change_notices(
        &self,
        work: &mut Work,
        actor: &Actor,
        card: &CardToKeep<'_>,
        info: Option<&BillingInfo>,
    ) -> Result<(), ServiceError> {
        let billing_admins = admins::billing_admins(work.tx(), &actor.account_id).await?;
        let contact = info.map(|i| Contact {
            name: i.contact_name.clone(),
            email: i.contact_email.to_string(),
            stand_in: false,
        });
        let (name, label) = (actor.full_name(), card.label());
        let expiry = tally_core::expiry::label(card.exp_month, card.exp_year);
        let change = emails::CardChange {
            saved_by_name: &name,
            saved_by_email: &actor.email,
            account_name: &actor.account_name,
            card: &label,
            expiry: &expiry,
            cardholder: &card.holder.cardholder_name,
        };
        for to in change_recipients(contact.as_ref(), &billing_admins) {
            work.mail(emails::payment_method_changed(&to, &change));
            let mut event = Event::by(actor, AuditKind::PaymentMethodEmailSent, to, label.clone());
            event.ip = None;
            work.audit(event);
        }
        Ok(())
    }

    /// An invoice of the actor's account whose payment may wait for the cardholder's bank;
    /// with `check`, the processor is asked first and its answer recorded (a success pays the
    /// invoice, a failure puts it back on the retry schedule).
    pub async fn payment_to_confirm(
        &self,
        actor: &Actor,
        number: &str,
        check: bool,
    ) -> Result<WaitingPayment, ServiceError> {
        let pool = self.ctx.db.pool();
        let mut invoice = invoices::by_number(pool, &actor.account_id, number).await?;
        // One question to the processor: what became of the payment, and the bank's page.
        let mut answer = None;
        if invoice.status == tally_core::billing::InvoiceStatus::ActionRequired {
            if let Some(pi) = invoice.charge_id.clone() {
                let back = self.ctx.link(&format!("/billing/authenticate/{number}"));
                let a = match self.gateway.payment_authentication(&pi, Some(&back)).await {
                    Ok(a) => a,
                    Err(e) => return Err(e).context("asking the processor about a payment"),
                };
                match a.status.settled() {
                    Some(ok) if check => {
                        // The invoice's own current payment: its attempt is the current one.
                        self.charging
                            .settle_payment(&invoice.id, &pi, None, ok)
                            .await?;
                        invoice = invoices::by_number(pool, &actor.account_id, number).await?;
                    }
                    _ => answer = Some(a),
                }
            }
        }
        let waiting = invoice.status == tally_core::billing::InvoiceStatus::ActionRequired;
        let (client_secret, redirect_url) = match answer.filter(|_| waiting) {
            Some(a) => (Some(a.client_secret), a.redirect_url),
            None => (None, None),
        };
        Ok(WaitingPayment {
            number: number.to_string(),
            amount: tally_core::money::Money::new(invoice.amount_cents, invoice.currency)
                .to_string(),
            status: invoice.status.label().to_string(),
            waiting,
            payment_id: if waiting { invoice.charge_id } else { None },
            client_secret,
            redirect_url,
            processor: self.gateway.processor(),
        })
    }
}
