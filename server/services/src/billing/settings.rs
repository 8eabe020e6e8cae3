//! The seller's billing settings (owner of `billing_settings`): the retry schedule of failed
//! charges, automatic suspension after days unpaid, and where the seller charges VAT. Without a
//! saved row, the standard schedule, no automatic suspension and no tax.

use sqlx::AnyConnection;
use tally_core::{
    billing::RetrySchedule,
    seller::SellerDetails,
    tax_id::TaxId,
    vat::{SellerTax, TaxRegistration},
};

use super::einvoice::Party;
use crate::platform::error::{ResultExt, ServiceError};

/// What billing follows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BillingSettings {
    pub retry: RetrySchedule,
    pub auto_suspend_after_days: Option<u32>,
    /// The seller's tax registrations, applied to every invoice made.
    pub tax: SellerTax,
}

/// Registrations as stored: `DE:1900,FR:2000`.
fn registrations_column(registrations: &[TaxRegistration]) -> String {
    registrations
        .iter()
        .map(|r| format!("{}:{}", r.country, r.rate_bp))
        .collect::<Vec<_>>()
        .join(",")
}

fn registrations_of(column: &str) -> Vec<TaxRegistration> {
    column
        .split(',')
        .filter_map(|r| {
            let (country, rate) = r.split_once(':')?;
            Some(TaxRegistration {
                country: country.to_string(),
                rate_bp: rate.parse().ok()?,
            })
        })
        .collect()
}

/// The settings in force.
pub async fn read<'e, E>(exec: E) -> Result<BillingSettings, ServiceError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let row: Option<(String, Option<i64>, String, String, i64)> = sqlx::query_as(
        "SELECT retry_days, auto_suspend_days, tax_home, tax_registrations, \
         CAST(CASE WHEN tax_oss THEN 1 ELSE 0 END AS BIGINT) FROM billing_settings WHERE id = 1",
    )
    .fetch_optional(exec)
    .await
    .context("reading the billing settings")?;
    let Some((days, auto, home, registrations, oss)) = row else {
        return Ok(BillingSettings::default());
    };
    let days: Vec<u32> = days
        .split(',')
        .filter_map(|d| d.trim().parse().ok())
        .collect();
    Ok(BillingSettings {
        retry: if days.is_empty() {
            RetrySchedule::default()
        } else {
            RetrySchedule {
                days_after_first_failure: days,
            }
        },
        auto_suspend_after_days: auto.and_then(|d| u32::try_from(d).ok()),
        tax: SellerTax {
            home,
            registrations: registrations_of(&registrations),
            oss: oss != 0,
        },
    })
}

/// Saves the settings, in `conn`.
pub async fn save(
    conn: &mut AnyConnection,
    settings: &BillingSettings,
    now: i64,
) -> Result<(), ServiceError> {
    let days = settings
        .retry
        .days_after_first_failure
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",");
    sqlx::query(
        "INSERT INTO billing_settings (id, retry_days, auto_suspend_days, updated_at, tax_home, tax_registrations, tax_oss) \
         VALUES (1, $1, $2, $3, $4, $5, $6) \
         ON CONFLICT (id) DO UPDATE SET retry_days = $1, auto_suspend_days = $2, updated_at = $3, \
         tax_home = $4, tax_registrations = $5, tax_oss = $6",
    )
    .bind(days)
    .bind(settings.auto_suspend_after_days.map(i64::from))
    .bind(now)
    .bind(&settings.tax.home)
    .bind(registrations_column(&settings.tax.registrations))
    .bind(settings.tax.oss)
    .execute(conn)
    .await
    .context("saving the billing settings")?;
    Ok(())
}

/// Who issues the invoices, as they print it (`SellerDetails::invoice_header`): the seller's
/// domain keeps it current ([`set_issuer`]); `None` before set-up.
pub async fn issuer<'e, E>(exec: E) -> Result<Option<String>, ServiceError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let issuer: Option<Option<String>> =
        sqlx::query_scalar("SELECT issuer FROM billing_settings WHERE id = 1")
            .fetch_optional(exec)
            .await
            .context("reading who issues the invoices")?;
    Ok(issuer.flatten())
}

/// Who issues the invoices, as e-invoices name them; `None` before set-up (and on a database
/// from before it was kept, until the next start publishes it).
pub async fn issuer_party<'e, E>(exec: E) -> Result<Option<Party>, ServiceError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let party: Option<Option<String>> =
        sqlx::query_scalar("SELECT issuer_party FROM billing_settings WHERE id = 1")
            .fetch_optional(exec)
            .await
            .context("reading who issues the invoices")?;
    party
        .flatten()
        .map(|p| {
            serde_json::from_str(&p)
                .map_err(|e| ServiceError::invariant("reading the invoices' issuer", e.to_string()))
        })
        .transpose()
}

/// Records who issues the invoices from now on, as they print it and as e-invoices name it,
/// in `conn` (the settings row is made with the standard schedule if there is none yet).
pub async fn set_issuer(
    conn: &mut AnyConnection,
    seller: &SellerDetails,
    now: i64,
) -> Result<(), ServiceError> {
    let party = Party {
        name: seller.legal_name.clone(),
        address: seller.address.clone(),
        tax_id: seller.tax_id.as_ref().map(TaxId::normal),
    };
    let party = serde_json::to_string(&party)
        .map_err(|e| ServiceError::invariant("recording the invoices' issuer", e.to_string()))?;
    sqlx::query(
        "INSERT INTO billing_settings (id, retry_days, auto_suspend_days, updated_at, issuer, issuer_party) VALUES (1, '', NULL, $1, $2, $3) \
         ON CONFLICT (id) DO UPDATE SET issuer = $2, issuer_party = $3",
    )
    .bind(now)
    .bind(seller.invoice_header())
    .bind(party)
    .execute(conn)
    .await
    .context("recording who issues the invoices")?;
    Ok(())
}
