//! Warnings that the card on file expires before the next charge (spec §8): one email to the
//! billing contact per card and charge date, however often the scheduler asks.

use chrono::Datelike;
use tally_core::{audit::AuditKind, billing::next_charge_date, card::Brand, expiry::Expiry};

use crate::{
    audit::{record_many, Event},
    billing_run::CHUNK,
    context::Context,
    emails,
    error::{Context as _, ServiceError},
    mail::Email,
};

/// A card that expires before the next charge, with where to say so.
#[derive(sqlx::FromRow)]
struct Expiring {
    account_id: String,
    brand: String,
    last4: String,
    exp_month: i64,
    exp_year: i64,
    contact_email: String,
    company_name: String,
}

/// Tells each billing contact whose card on file expires before the next charge, once per
/// card and charge date; returns how many were told.
pub async fn warn_expiring_cards(ctx: &Context) -> Result<u64, ServiceError> {
    let charge = next_charge_date(ctx.clock.today());
    let charge_key = charge.to_string();
    // Exact in SQL too: a card is good to the end of its month, so it expires before a
    // charge exactly when its month comes before the charge's.
    let months = |year: i32, month: u32| i64::from(year) * 12 + i64::from(month);
    let rows: Vec<Expiring> = sqlx::query_as(&format!(
        "SELECT * FROM (SELECT p.account_id, p.brand, p.last4, p.exp_month, p.exp_year, \
         {} AS contact_email, COALESCE(b.company_name, a.name) AS company_name \
         FROM payment_methods p JOIN accounts a ON a.id = p.account_id \
         LEFT JOIN billing_info b ON b.account_id = p.account_id \
         WHERE p.exp_year * 12 + p.exp_month < $1 \
         AND (p.expiry_warned_for IS NULL OR p.expiry_warned_for <> $2)) e \
         WHERE e.contact_email IS NOT NULL ORDER BY e.account_id",
        crate::billing_info::contact_email_sql("p.account_id")
    ))
    .bind(months(charge.year(), charge.month()))
    .bind(&charge_key)
    .fetch_all(ctx.db.pool())
    .await
    .context("reading cards that expire before the next charge")?;
    let mut warned = 0;
    for chunk in rows.chunks(CHUNK) {
        let now = ctx.now();
        let mut tx = ctx
            .db
            .pool()
            .begin()
            .await
            .context("warning of expiring cards")?;
        let mut told = Vec::new();
        for card in chunk {
            let expiry = Expiry::from_parts(card.exp_year as i32, card.exp_month as u32);
            let Some(expiry) = expiry.filter(|e| e.expires_before(charge)) else {
                continue;
            };
            let claimed = sqlx::query(
                "UPDATE payment_methods SET expiry_warned_for = $1 WHERE account_id = $2 \
                 AND (expiry_warned_for IS NULL OR expiry_warned_for <> $1)",
            )
            .bind(&charge_key)
            .bind(&card.account_id)
            .execute(&mut *tx)
            .await
            .context("claiming an expiry warning")?;
            if claimed.rows_affected() == 1 {
                told.push((card, expiry));
            }
        }
        let messages: Vec<Email> = told
            .iter()
            .map(|(card, expiry)| {
                let label = format!(
                    "{} •••• {}",
                    Brand::from_code(&card.brand).map_or("Card", Brand::display_name),
                    card.last4
                );
                emails::card_expiring(
                    &card.contact_email,
                    &emails::ExpiringCard {
                        company: &card.company_name,
                        card: &label,
                        last_month: expiry.last_valid_day().format("%B %Y").to_string(),
                        next_charge: charge.format("%B %-d, %Y").to_string(),
                        url: ctx.link("/billing/payment"),
                    },
                )
            })
            .collect();
        let events: Vec<_> = told
            .iter()
            .map(|(card, _)| {
                (
                    AuditKind::CardExpiryWarned,
                    Event::system(
                        &card.account_id,
                        &card.contact_email,
                        format!("next charge {charge_key}"),
                    ),
                )
            })
            .collect();
        ctx.outbox
            .queue_many(&mut tx, &messages)
            .await
            .context("queueing expiry warnings")?;
        record_many(&mut tx, now, &events)
            .await
            .context("auditing expiry warnings")?;
        tx.commit().await.context("saving expiry warnings")?;
        warned += told.len() as u64;
    }
    Ok(warned)
}
