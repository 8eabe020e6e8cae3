//! Billing information and the payment method on file. Every query is scoped to the caller's
//! account. Card numbers and security codes pass through here on their way to the gateway and
//! go nowhere else: not to the database, a log line, an email or an error (spec §6).

use std::sync::Arc;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use sqlx::{any::AnyRow, Row};
use tally_app::{
    api::billing::{BillingSettings, CardSummary},
    auth::CurrentAdmin,
    error::AppError,
    ports::BillingService,
};
use tally_core::{
    address::Address,
    audit::AuditKind,
    card::Brand,
    contact::{Email, Phone},
    forms::{BillingInfo, CardInput, FieldErrors, PaymentInfoInput},
    roles::{AdminStatus, Role},
};
use tokio::sync::OnceCell;

use crate::{
    audit::{record, Event},
    auth::{internal, Auth},
    crypto::new_token,
    gateway::{GatewayError, PaymentGateway},
    invoicing::Invoicing,
    mail::paragraph_email,
};

#[derive(Clone)]
pub struct Billing {
    pub auth: Auth,
    pub gateway: Arc<dyn PaymentGateway>,
    pub invoicing: Invoicing,
    fingerprint_key: Arc<OnceCell<Vec<u8>>>,
}

const ADDRESS_COLUMNS: &str = "country, line1, line2, city, region, postal_code";

impl Billing {
    pub fn new(auth: Auth, gateway: Arc<dyn PaymentGateway>, invoicing: Invoicing) -> Self {
        Self {
            auth,
            gateway,
            invoicing,
            fingerprint_key: Arc::new(OnceCell::new()),
        }
    }

    /// The key of card fingerprints: made once, kept in the database so replicas share it.
    async fn fingerprint_key(&self) -> Result<&[u8], AppError> {
        self.fingerprint_key
            .get_or_try_init(|| async {
                let pool = self.auth.db.pool();
                sqlx::query(
                    "INSERT INTO server_secrets (name, value) VALUES ('card_fingerprint_key', $1) \
                     ON CONFLICT (name) DO NOTHING",
                )
                .bind(new_token())
                .execute(pool)
                .await
                .map_err(internal)?;
                let key: String = sqlx::query_scalar(
                    "SELECT value FROM server_secrets WHERE name = 'card_fingerprint_key'",
                )
                .fetch_one(pool)
                .await
                .map_err(internal)?;
                Ok::<_, AppError>(key.into_bytes())
            })
            .await
            .map(Vec::as_slice)
    }

    async fn fingerprint(&self, digits: &str) -> Result<String, AppError> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(self.fingerprint_key().await?).map_err(internal)?;
        mac.update(digits.as_bytes());
        Ok(hex::encode(mac.finalize().into_bytes()))
    }

    async fn info(&self, account_id: &str) -> Result<Option<BillingInfo>, AppError> {
        let row = sqlx::query(&format!(
            "SELECT company_name, contact_name, contact_email, contact_phone, tax_id, {ADDRESS_COLUMNS} \
             FROM billing_info WHERE account_id = $1"
        ))
        .bind(account_id)
        .fetch_optional(self.auth.db.pool())
        .await
        .map_err(internal)?;
        row.map(|r| {
            Ok(BillingInfo {
                company_name: r.get("company_name"),
                contact_name: r.get("contact_name"),
                contact_email: Email::parse(&r.get::<String, _>("contact_email"))
                    .map_err(internal)?,
                contact_phone: Phone::parse_optional(
                    &r.get::<Option<String>, _>("contact_phone")
                        .unwrap_or_default(),
                )
                .map_err(internal)?,
                address: address_of(&r),
                tax_id: r.get("tax_id"),
            })
        })
        .transpose()
    }

    async fn card(&self, account_id: &str) -> Result<Option<CardSummary>, AppError> {
        let row = sqlx::query(
            "SELECT p.brand, p.last4, p.exp_month, p.exp_year, p.cardholder_name, p.saved_at, a.email AS saved_by, \
             p.country, p.line1, p.line2, p.city, p.region, p.postal_code \
             FROM payment_methods p LEFT JOIN admins a ON a.id = p.saved_by WHERE p.account_id = $1",
        )
        .bind(account_id)
        .fetch_optional(self.auth.db.pool())
        .await
        .map_err(internal)?;
        row.map(|r| {
            Ok(CardSummary {
                brand: Brand::from_code(&r.get::<String, _>("brand"))
                    .ok_or_else(|| internal("unknown card brand in database"))?,
                last4: r.get("last4"),
                exp_month: u32::try_from(r.get::<i64, _>("exp_month")).map_err(internal)?,
                exp_year: i32::try_from(r.get::<i64, _>("exp_year")).map_err(internal)?,
                cardholder_name: r.get("cardholder_name"),
                address: address_of(&r),
                saved_at: r.get("saved_at"),
                saved_by: r.get("saved_by"),
            })
        })
        .transpose()
    }

    /// Where "payment method changed" goes: the billing contact and every active billing
    /// administrator, each address once.
    async fn change_recipients(
        tx: &mut sqlx::AnyConnection,
        account_id: &str,
        contact: Option<&Email>,
    ) -> Result<Vec<String>, AppError> {
        let rows = sqlx::query("SELECT email, role FROM admins WHERE account_id = $1 AND status = $2 ORDER BY created_at")
            .bind(account_id)
            .bind(AdminStatus::Active.code())
            .fetch_all(&mut *tx)
            .await
            .map_err(internal)?;
        let mut to: Vec<String> = contact.map(|c| c.to_string()).into_iter().collect();
        for r in rows {
            let billing =
                Role::from_code(&r.get::<String, _>("role")).is_some_and(Role::has_billing);
            let email: String = r.get("email");
            if billing && !to.iter().any(|t| t.eq_ignore_ascii_case(&email)) {
                to.push(email);
            }
        }
        Ok(to)
    }

    /// Queues the change notice (last 4 only) in the card's own transaction, audits each
    /// message, and returns their outbox ids for delivery once the card is committed.
    async fn queue_change_notice(
        &self,
        tx: &mut sqlx::AnyConnection,
        actor: &CurrentAdmin,
        card: &CardSummary,
        contact: Option<&Email>,
    ) -> Result<Vec<String>, AppError> {
        let recipients = Self::change_recipients(&mut *tx, &actor.account_id, contact).await?;
        let now = self.auth.clock.now_millis();
        let intro = format!(
            "{} ({}) saved a new payment method for {}: {}, expires {}, cardholder {}. It replaces the previous card and will be charged for the next invoices.",
            actor.full_name(),
            actor.email,
            actor.account_name,
            card.label(),
            card.expiry_label(),
            card.cardholder_name,
        );
        let outro = "If you didn't expect this change, sign in to Tally and check the payment method, or contact your administrator.";
        let mut ids = Vec::with_capacity(recipients.len());
        for to in recipients {
            let mail = paragraph_email(&to, "Your payment method was changed", &[&intro, outro]);
            ids.push(
                self.auth
                    .outbox
                    .queue(&mut *tx, &mail)
                    .await
                    .map_err(internal)?,
            );
            record(
                &mut *tx,
                now,
                AuditKind::PaymentMethodEmailSent,
                Event::by(actor, &to, None, card.label()),
            )
            .await
            .map_err(internal)?;
        }
        Ok(ids)
    }
}

fn address_of(r: &AnyRow) -> Address {
    Address {
        country: r.get("country"),
        line1: r.get("line1"),
        line2: r.get("line2"),
        city: r.get("city"),
        region: r.get("region"),
        postal_code: r.get("postal_code"),
    }
}

#[async_trait::async_trait]
impl BillingService for Billing {
    async fn settings(&self, actor: &CurrentAdmin) -> Result<BillingSettings, AppError> {
        Ok(BillingSettings {
            info: self.info(&actor.account_id).await?,
            card: self.card(&actor.account_id).await?,
            accepted_brands: self.auth.settings.accepted_brands.brands().to_vec(),
            today: self.auth.clock.today(),
        })
    }

    async fn save_info(
        &self,
        actor: &CurrentAdmin,
        info: BillingInfo,
        ip: Option<String>,
    ) -> Result<BillingInfo, AppError> {
        let now = self.auth.clock.now_millis();
        let a = &info.address;
        let mut tx = self.auth.db.pool().begin().await.map_err(internal)?;
        sqlx::query(&format!(
            "INSERT INTO billing_info (account_id, company_name, contact_name, contact_email, contact_phone, tax_id, {ADDRESS_COLUMNS}, updated_by, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
             ON CONFLICT (account_id) DO UPDATE SET company_name = excluded.company_name, contact_name = excluded.contact_name, \
             contact_email = excluded.contact_email, contact_phone = excluded.contact_phone, tax_id = excluded.tax_id, \
             country = excluded.country, line1 = excluded.line1, line2 = excluded.line2, city = excluded.city, \
             region = excluded.region, postal_code = excluded.postal_code, updated_by = excluded.updated_by, updated_at = excluded.updated_at"
        ))
        .bind(&actor.account_id)
        .bind(&info.company_name)
        .bind(&info.contact_name)
        .bind(info.contact_email.as_str())
        .bind(info.contact_phone.as_ref().map(|p| p.as_str().to_string()))
        .bind(&info.tax_id)
        .bind(&a.country)
        .bind(&a.line1)
        .bind(&a.line2)
        .bind(&a.city)
        .bind(&a.region)
        .bind(&a.postal_code)
        .bind(&actor.id)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(internal)?;
        record(
            &mut *tx,
            now,
            AuditKind::BillingInfoChanged,
            Event::by(
                actor,
                &info.company_name,
                ip.as_deref(),
                format!("billing contact {}", info.contact_email),
            ),
        )
        .await
        .map_err(internal)?;
        tx.commit().await.map_err(internal)?;
        Ok(info)
    }

    async fn submit_payment_method(
        &self,
        actor: &CurrentAdmin,
        payment: PaymentInfoInput,
        card: CardInput,
        idempotency_key: String,
        ip: Option<String>,
    ) -> Result<CardSummary, AppError> {
        let account = actor.account_id.as_str();
        let pool = self.auth.db.pool();
        let already = |key: &str| {
            sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM payment_method_submissions WHERE account_id = $1 AND idempotency_key = $2",
            )
            .bind(account)
            .bind(key.to_string())
            .fetch_one(pool)
        };
        // A repeat of a submit that succeeded: answer with what it saved, do nothing again.
        if already(&idempotency_key).await.map_err(internal)? > 0 {
            return self
                .card(account)
                .await?
                .ok_or_else(|| internal("a recorded submission has no card"));
        }

        // Everything is checked again here, with the same rules the browser ran.
        let info = self.info(account).await?;
        let mut errors = FieldErrors::new();
        let holder = payment
            .parse(info.as_ref().map(|i| &i.address))
            .map_err(|e| errors.merge(e))
            .ok();
        let new_card = card
            .parse(&self.auth.settings.accepted_brands, self.auth.clock.today())
            .map_err(|e| errors.merge(e))
            .ok();
        drop(card);
        let (Some(holder), Some(new_card)) = (holder, new_card) else {
            return Err(AppError::Validation(errors));
        };

        let token = match self.gateway.tokenize(&new_card, &holder).await {
            Ok(t) => t,
            Err(GatewayError::Declined(d)) => return Err(AppError::Declined(d.message().into())),
            Err(e @ GatewayError::Unavailable(_)) => return Err(internal(e)),
        };
        let fingerprint = self.fingerprint(new_card.number.expose_digits()).await?;
        let summary = CardSummary {
            brand: new_card.number.brand(),
            last4: new_card.number.last4().to_string(),
            exp_month: new_card.expiry.month(),
            exp_year: new_card.expiry.year(),
            cardholder_name: holder.cardholder_name.clone(),
            address: holder.address.clone(),
            saved_at: self.auth.clock.now_millis(),
            saved_by: Some(actor.email.clone()),
        };
        drop(new_card);

        let now = summary.saved_at;
        let mut tx = pool.begin().await.map_err(internal)?;
        let first = sqlx::query(
            "INSERT INTO payment_method_submissions (account_id, idempotency_key, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (account_id, idempotency_key) DO NOTHING",
        )
        .bind(account)
        .bind(&idempotency_key)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(internal)?;
        if first.rows_affected() == 0 {
            // The same submit raced this one and won; keep what it saved.
            tx.rollback().await.map_err(internal)?;
            return self
                .card(account)
                .await?
                .ok_or_else(|| internal("a recorded submission has no card"));
        }
        let a = &summary.address;
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
        .bind(&token.0)
        .bind(summary.brand.code())
        .bind(&summary.last4)
        .bind(i64::from(summary.exp_month))
        .bind(i64::from(summary.exp_year))
        .bind(&summary.cardholder_name)
        .bind(&a.country)
        .bind(&a.line1)
        .bind(&a.line2)
        .bind(&a.city)
        .bind(&a.region)
        .bind(&a.postal_code)
        .bind(&fingerprint)
        .bind(&actor.id)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(internal)?;
        record(
            &mut *tx,
            now,
            AuditKind::PaymentMethodChanged,
            Event::by(
                actor,
                &summary.label(),
                ip.as_deref(),
                format!("expires {}", summary.expiry_label()),
            ),
        )
        .await
        .map_err(internal)?;
        let notices = self
            .queue_change_notice(
                &mut tx,
                actor,
                &summary,
                info.as_ref().map(|i| &i.contact_email),
            )
            .await?;
        tx.commit().await.map_err(internal)?;
        // The card and its notices are saved: a delivery that fails is the outbox's to retry.
        for id in notices {
            self.auth.outbox.deliver_queued(&id).await;
        }
        // A new card: invoices that failed or are past due are charged again now.
        if let Err(e) = self.invoicing.charge_unpaid(account).await {
            tracing::error!(error = %e, "charging unpaid invoices after a new card");
        }
        Ok(summary)
    }
}
