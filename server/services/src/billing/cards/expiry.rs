//! Warnings that the card on file expires before the next charge: one email to the billing
//! contact, and one per language to the billing contacts who receive payment problems, per
//! card and charge date, however often the scheduler asks.

use chrono::Datelike;
use tally_core::{
    audit::AuditKind, billing::next_charge_date, billing_contacts::Subscription, card::Brand,
    expiry::Expiry, views::billing::card_label,
};

use crate::platform::db::Code;
use crate::{
    billing::{info, invoices::run::CHUNK},
    identity::accounts,
    platform::{
        audit::Event,
        context::Context,
        error::{ResultExt, ServiceError},
        mail::emails,
    },
};

/// A card that expires before the next charge.
#[derive(sqlx::FromRow)]
struct Expiring {
    account_id: String,
    #[sqlx(try_from = "Code<Brand>")]
    brand: Brand,
    last4: String,
    exp_month: i64,
    exp_year: i64,
}

/// Tells each billing contact whose card on file expires before the next charge, once per
/// card and charge date; returns how many were told.
pub async fn warn_expiring_cards(ctx: &Context) -> Result<u64, ServiceError> {
    let charge = next_charge_date(ctx.clock.today());
    let charge_key = charge.to_string();
    // Exact in SQL too: a card is good to the end of its month, so it expires before a
    // charge exactly when its month comes before the charge's.
    let months = |year: i32, month: u32| i64::from(year) * 12 + i64::from(month);
    let pool = ctx.db.pool();
    let rows: Vec<Expiring> = sqlx::query_as(
        "SELECT account_id, brand, last4, exp_month, exp_year FROM payment_methods \
         WHERE exp_year * 12 + exp_month < $1 \
         AND (expiry_warned_for IS NULL OR expiry_warned_for <> $2) ORDER BY account_id",
    )
    .bind(months(charge.year(), charge.month()))
    .bind(&charge_key)
    .fetch_all(pool)
    .await
    .context("reading cards that expire before the next charge")?;
    let mut warned = 0;
    for chunk in rows.chunks(CHUNK) {
        let (Some(first), Some(last)) = (chunk.first(), chunk.last()) else {
            continue;
        };
        let billing = info::chunk(pool, &first.account_id, &last.account_id).await?;
        let names = accounts::names_between(pool, &first.account_id, &last.account_id).await?;
        let mut work = ctx.begin("warning of expiring cards").await?;
        for card in chunk {
            let expiry = Expiry::from_parts(card.exp_year as i32, card.exp_month as u32);
            let Some(expiry) = expiry.filter(|e| e.expires_before(charge)) else {
                continue;
            };
            let Some(contact) = billing.contacts.get(&card.account_id) else {
                continue;
            };
            let claimed = sqlx::query(
                "UPDATE payment_methods SET expiry_warned_for = $1 WHERE account_id = $2 \
                 AND (expiry_warned_for IS NULL OR expiry_warned_for <> $1)",
            )
            .bind(&charge_key)
            .bind(&card.account_id)
            .execute(work.tx())
            .await
            .context("claiming an expiry warning")?;
            if claimed.rows_affected() != 1 {
                continue;
            }
            let company = billing
                .info
                .get(&card.account_id)
                .map(|i| i.company_name.clone())
                .or_else(|| names.get(&card.account_id).cloned())
                .unwrap_or_default();
            let expiring = emails::ExpiringCard {
                company: &company,
                card: &card_label(card.brand, &card.last4),
                last_day: expiry.last_valid_day(),
                next_charge: charge,
                url: ctx.link("/billing/payment"),
            };
            let each = [contact.email.clone()];
            let contacts = billing.contact_lines(&card.account_id, Subscription::PaymentProblems);
            for mail in info::addressed_mail(&each, &contacts, |to, w| {
                emails::card_expiring(to, w, &expiring)
            }) {
                work.audit(Event::system(
                    AuditKind::CardExpiryWarned,
                    card.account_id.as_str(),
                    mail.to.as_str(),
                    format!("next charge {charge_key}"),
                ));
                work.mail(mail);
            }
            warned += 1;
        }
        // The scheduler's pass delivers them after (and the worker, should that fail).
        work.commit_queued().await?.wake_worker();
    }
    Ok(warned)
}
