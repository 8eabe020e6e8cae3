//! The payment method on file: one card per account, replaced, never removed (spec §6). Card
//! numbers and security codes pass through here on their way to the gateway and go nowhere
//! else: not to the database, a log line, an email or an error.

use sqlx::{Any, AnyConnection, Executor};
use tally_core::{
    address::Address,
    audit::AuditKind,
    card::Brand,
    contact::Email,
    forms::{CardInput, FieldErrors, PaymentInfoInput},
    roles::{AdminStatus, Role},
};

use crate::{
    actor::Actor,
    audit::{record, Event},
    billing_info::{self, AddressRow, ADDRESS_COLUMNS},
    charges::Charging,
    context::Context,
    emails,
    error::{Context as _, ServiceError},
    gateway::GatewayError,
};

/// What the browser says of a card it confirmed with the processor; checked against the
/// processor's own answer before anything is saved.
#[derive(Clone, Debug)]
pub struct ClaimedCard {
    pub brand: Brand,
    pub last4: String,
    pub exp_month: u32,
    pub exp_year: i32,
}

/// What the account keeps of its card: never the number or the security code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SavedCard {
    pub brand: Brand,
    pub last4: String,
    pub exp_month: u32,
    pub exp_year: i32,
    pub cardholder_name: String,
    pub address: Address,
    /// UTC milliseconds.
    pub saved_at: i64,
    pub saved_by: Option<String>,
}

impl SavedCard {
    /// "Visa •••• 4242".
    pub fn label(&self) -> String {
        format!("{} •••• {}", self.brand.display_name(), self.last4)
    }

    /// "12/30".
    pub fn expiry_label(&self) -> String {
        format!("{:02}/{:02}", self.exp_month, self.exp_year % 100)
    }
}

#[derive(sqlx::FromRow)]
struct CardRow {
    brand: String,
    last4: String,
    exp_month: i64,
    exp_year: i64,
    cardholder_name: String,
    saved_at: i64,
    saved_by: Option<String>,
    #[sqlx(flatten)]
    address: AddressRow,
}

/// The account's card on file, read in `exec`.
pub async fn card_on_file<'e, E>(
    exec: E,
    account_id: &str,
) -> Result<Option<SavedCard>, ServiceError>
where
    E: Executor<'e, Database = Any>,
{
    let row: Option<CardRow> = sqlx::query_as(
        "SELECT p.brand, p.last4, p.exp_month, p.exp_year, p.cardholder_name, p.saved_at, a.email AS saved_by, \
         p.country, p.line1, p.line2, p.city, p.region, p.postal_code \
         FROM payment_methods p LEFT JOIN admins a ON a.id = p.saved_by WHERE p.account_id = $1",
    )
    .bind(account_id)
    .fetch_optional(exec)
    .await
    .context("reading the card on file")?;
    let Some(r) = row else { return Ok(None) };
    let broken = |what: String| ServiceError::invariant("reading the card on file", what);
    Ok(Some(SavedCard {
        brand: Brand::from_code(&r.brand)
            .ok_or_else(|| broken(format!("unknown card brand {:?}", r.brand)))?,
        last4: r.last4,
        exp_month: u32::try_from(r.exp_month).map_err(|_| broken("a negative month".into()))?,
        exp_year: i32::try_from(r.exp_year).map_err(|_| broken("a year out of range".into()))?,
        cardholder_name: r.cardholder_name,
        address: r.address.into(),
        saved_at: r.saved_at,
        saved_by: r.saved_by,
    }))
}

#[derive(sqlx::FromRow)]
struct RecipientRow {
    email: String,
    role: String,
}

/// Where "payment method changed" goes: the billing contact and every active billing
/// administrator, each address once.
async fn change_recipients(
    conn: &mut AnyConnection,
    account_id: &str,
    contact: Option<&Email>,
) -> Result<Vec<String>, ServiceError> {
    let rows: Vec<RecipientRow> = sqlx::query_as(
        "SELECT email, role FROM admins WHERE account_id = $1 AND status = $2 ORDER BY created_at",
    )
    .bind(account_id)
    .bind(AdminStatus::Active.code())
    .fetch_all(conn)
    .await
    .context("reading who is told of a new card")?;
    let mut to: Vec<String> = contact.map(|c| c.to_string()).into_iter().collect();
    for r in rows {
        let billing = Role::from_code(&r.role).is_some_and(Role::has_billing);
        if billing && !to.iter().any(|t| t.eq_ignore_ascii_case(&r.email)) {
            to.push(r.email);
        }
    }
    Ok(to)
}

/// Saving the card on file.
#[derive(Clone)]
pub struct PaymentMethods {
    ctx: Context,
    charging: Charging,
}

impl PaymentMethods {
    pub fn new(ctx: Context, charging: Charging) -> Self {
        Self { ctx, charging }
    }

    /// The caller's account's card, if one was saved.
    pub async fn get(&self, actor: &Actor) -> Result<Option<SavedCard>, ServiceError> {
        card_on_file(self.ctx.db.pool(), &actor.account_id).await
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
    async fn saved_before(&self, account_id: &str) -> Result<SavedCard, ServiceError> {
        card_on_file(self.ctx.db.pool(), account_id)
            .await?
            .ok_or_else(|| {
                ServiceError::invariant(
                    "repeating a submission",
                    "a recorded submission has no card",
                )
            })
    }

    /// "Submit Payment Method": parses the payment information and card with core again,
    /// tokenizes through the gateway, replaces the card on file, emails the billing contact
    /// and billing administrators, audits, and charges what is unpaid. The same
    /// `idempotency_key` twice saves once.
    pub async fn submit(
        &self,
        actor: &Actor,
        payment: &PaymentInfoInput,
        card: CardInput,
        idempotency_key: &str,
    ) -> Result<SavedCard, ServiceError> {
        self.ctx.require_fresh(actor)?;
        let account = actor.account_id.as_str();
        // A repeat of a submit that succeeded: answer with what it saved, do nothing again.
        if self.submitted(account, idempotency_key).await? {
            return self.saved_before(account).await;
        }

        // Everything is checked again here, with the same rules the browser ran.
        let info = billing_info::read(self.ctx.db.pool(), account).await?;
        let mut errors = FieldErrors::new();
        let holder = payment
            .parse(info.as_ref().map(|i| &i.address))
            .map_err(|e| errors.merge(e))
            .ok();
        let new_card = card
            .parse(&self.ctx.settings.accepted_brands, self.ctx.clock.today())
            .map_err(|e| errors.merge(e))
            .ok();
        drop(card);
        let (Some(holder), Some(new_card)) = (holder, new_card) else {
            return Err(ServiceError::Invalid(errors));
        };

        let token = match self.ctx.gateway.tokenize(&new_card, &holder).await {
            Ok(t) => t,
            Err(GatewayError::Declined(d)) => {
                return Err(ServiceError::Declined(d.message().into()))
            }
            Err(e) => return Err(e).context("tokenizing a card with the payment processor"),
        };
        let fingerprint = self
            .ctx
            .keys
            .card_fingerprint(new_card.number.expose_digits());
        let saved = SavedCard {
            brand: new_card.number.brand(),
            last4: new_card.number.last4().to_string(),
            exp_month: new_card.expiry.month(),
            exp_year: new_card.expiry.year(),
            cardholder_name: holder.cardholder_name.clone(),
            address: holder.address.clone(),
            saved_at: self.ctx.now(),
            saved_by: Some(actor.email.clone()),
        };
        drop(new_card);
        self.store(
            actor,
            saved,
            &token.0,
            &fingerprint,
            info.as_ref(),
            idempotency_key,
        )
        .await
    }

    /// Begins saving a card with a processor the browser confirms it with: the set-up's
    /// client secret. Nothing is saved yet.
    pub async fn begin_setup(&self, actor: &Actor) -> Result<String, ServiceError> {
        self.ctx.require_fresh(actor)?;
        match self.ctx.gateway.begin_setup(&actor.account_id).await {
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
            .ctx
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
    /// what the browser said of it (brand, last 4, expiry) must agree. The same
    /// `idempotency_key` twice saves once.
    pub async fn confirm_setup(
        &self,
        actor: &Actor,
        payment: &PaymentInfoInput,
        setup_id: &str,
        claimed: &ClaimedCard,
        idempotency_key: &str,
    ) -> Result<SavedCard, ServiceError> {
        self.ctx.require_fresh(actor)?;
        let account = actor.account_id.as_str();
        if self.submitted(account, idempotency_key).await? {
            return self.saved_before(account).await;
        }
        let info = billing_info::read(self.ctx.db.pool(), account).await?;
        let holder = payment
            .parse(info.as_ref().map(|i| &i.address))
            .map_err(ServiceError::Invalid)?;
        let card = match self.ctx.gateway.finish_setup(account, setup_id).await {
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
        let saved = SavedCard {
            brand,
            last4: card.last4,
            exp_month: card.exp_month,
            exp_year: card.exp_year,
            cardholder_name: holder.cardholder_name.clone(),
            address: holder.address.clone(),
            saved_at: self.ctx.now(),
            saved_by: Some(actor.email.clone()),
        };
        self.store(
            actor,
            saved,
            &card.token.0,
            &fingerprint,
            info.as_ref(),
            idempotency_key,
        )
        .await
    }

    /// Replaces the card on file with `saved` (the processor's `token`), once per
    /// `idempotency_key`; emails, audits and charges what is unpaid.
    async fn store(
        &self,
        actor: &Actor,
        saved: SavedCard,
        token: &str,
        fingerprint: &str,
        info: Option<&tally_core::forms::BillingInfo>,
        idempotency_key: &str,
    ) -> Result<SavedCard, ServiceError> {
        let account = actor.account_id.as_str();
        let now = saved.saved_at;
        let mut tx = self.ctx.db.pool().begin().await.context("saving a card")?;
        let first = sqlx::query(
            "INSERT INTO payment_method_submissions (account_id, idempotency_key, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (account_id, idempotency_key) DO NOTHING",
        )
        .bind(account)
        .bind(idempotency_key)
        .bind(now)
        .execute(&mut *tx)
        .await
        .context("recording a payment method submission")?;
        if first.rows_affected() == 0 {
            // The same submit raced this one and won; keep what it saved.
            tx.rollback()
                .await
                .context("abandoning a repeated submission")?;
            return self.saved_before(account).await;
        }
        let a = &saved.address;
        sqlx::query(&format!(
            "INSERT INTO payment_methods (account_id, gateway_token, brand, last4, exp_month, exp_year, cardholder_name, {ADDRESS_COLUMNS}, fingerprint, saved_by, saved_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
             ON CONFLICT (account_id) DO UPDATE SET gateway_token = excluded.gateway_token, brand = excluded.brand, \
             last4 = excluded.last4, exp_month = excluded.exp_month, exp_year = excluded.exp_year, \
             cardholder_name = excluded.cardholder_name, country = excluded.country, line1 = excluded.line1, \
             line2 = excluded.line2, city = excluded.city, region = excluded.region, postal_code = excluded.postal_code, \
             fingerprint = excluded.fingerprint, saved_by = excluded.saved_by, saved_at = excluded.saved_at, \
             expiry_warned_for = NULL"
        ))
        .bind(account)
        .bind(token)
        .bind(saved.brand.code())
        .bind(&saved.last4)
        .bind(i64::from(saved.exp_month))
        .bind(i64::from(saved.exp_year))
        .bind(&saved.cardholder_name)
        .bind(&a.country)
        .bind(&a.line1)
        .bind(&a.line2)
        .bind(&a.city)
        .bind(&a.region)
        .bind(&a.postal_code)
        .bind(fingerprint)
        .bind(&actor.id)
        .bind(now)
        .execute(&mut *tx)
        .await
        .context("writing the card on file")?;
        record(
            &mut *tx,
            now,
            AuditKind::PaymentMethodChanged,
            Event::by(
                actor,
                &saved.label(),
                format!("expires {}", saved.expiry_label()),
            ),
        )
        .await
        .context("auditing a new card")?;
        let notices = self
            .queue_change_notice(&mut tx, actor, &saved, info.map(|i| &i.contact_email))
            .await?;
        tx.commit().await.context("saving a card")?;
        // The card and its notices are saved: a delivery that fails is the outbox's to retry.
        for id in notices {
            self.ctx.outbox.deliver_queued(&id).await;
        }
        // A new card: invoices that failed or are past due are charged again now.
        if let Err(e) = self.charging.charge_unpaid(account).await {
            tracing::error!(error = %e, "charging unpaid invoices after a new card");
        }
        Ok(saved)
    }

    /// Queues the change notice (last 4 only) in the card's own transaction, audits each
    /// message, and returns their outbox ids for delivery once the card is committed.
    async fn queue_change_notice(
        &self,
        conn: &mut AnyConnection,
        actor: &Actor,
        card: &SavedCard,
        contact: Option<&Email>,
    ) -> Result<Vec<String>, ServiceError> {
        let recipients = change_recipients(&mut *conn, &actor.account_id, contact).await?;
        let now = self.ctx.now();
        let (name, label, expiry) = (actor.full_name(), card.label(), card.expiry_label());
        let change = emails::CardChange {
            saved_by_name: &name,
            saved_by_email: &actor.email,
            account_name: &actor.account_name,
            card: &label,
            expiry: &expiry,
            cardholder: &card.cardholder_name,
        };
        let mut ids = Vec::with_capacity(recipients.len());
        for to in recipients {
            let mail = emails::payment_method_changed(&to, &change);
            ids.push(
                self.ctx
                    .outbox
                    .queue(&mut *conn, &mail)
                    .await
                    .context("queueing a card change notice")?,
            );
            let mut event = Event::by(actor, &to, label.clone());
            event.ip = None;
            record(&mut *conn, now, AuditKind::PaymentMethodEmailSent, event)
                .await
                .context("auditing a card change notice")?;
        }
        Ok(ids)
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
        let read = || async {
            let row: Option<(String, i64, String, Option<String>)> = sqlx::query_as(
                "SELECT id, amount_cents, status, charge_id FROM invoices WHERE account_id = $1 AND number = $2",
            )
            .bind(&actor.account_id)
            .bind(number)
            .fetch_optional(self.ctx.db.pool())
            .await
            .context("reading an invoice to confirm")?;
            row.ok_or(ServiceError::NotFound)
        };
        let (id, amount, mut status, mut payment) = read().await?;
        // One question to the processor: what became of the payment, and the bank's page.
        let mut answer = None;
        if status == "action_required" {
            if let Some(pi) = payment.clone() {
                let back = self.ctx.link(&format!("/billing/authenticate/{number}"));
                let a = match self
                    .ctx
                    .gateway
                    .payment_authentication(&pi, Some(&back))
                    .await
                {
                    Ok(a) => a,
                    Err(e) => return Err(e).context("asking the processor about a payment"),
                };
                let settled = match a.status.as_str() {
                    "succeeded" | "processing" => Some(true),
                    "requires_payment_method" | "canceled" => Some(false),
                    _ => None,
                };
                match settled {
                    Some(ok) if check => {
                        self.charging.settle_payment(&id, &pi, ok).await?;
                        (_, _, status, payment) = read().await?;
                    }
                    _ => answer = Some(a),
                }
            }
        }
        let waiting = status == "action_required";
        let (client_secret, redirect_url) = match answer.filter(|_| waiting) {
            Some(a) => (Some(a.client_secret), a.redirect_url),
            None => (None, None),
        };
        Ok(WaitingPayment {
            number: number.to_string(),
            amount: tally_core::money::Money::from_cents(amount).to_string(),
            status: tally_core::billing::invoice_status_label(&status).to_string(),
            waiting,
            payment_id: if waiting { payment } else { None },
            client_secret,
            redirect_url,
        })
    }
}

/// An invoice's payment as the confirmation page shows it.
pub struct WaitingPayment {
    pub number: String,
    pub amount: String,
    pub status: String,
    pub waiting: bool,
    pub payment_id: Option<String>,
    pub client_secret: Option<String>,
    pub redirect_url: Option<String>,
}
