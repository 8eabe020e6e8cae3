//! The seller's details (owner of `sellers`): the one row set-up makes, printed on invoices
//! and emails, with the plan a new customer account starts on.

use sqlx::AnyConnection;
use tally_core::{
    billing::Plan,
    money::{Currency, Money},
    seller::SellerDetails,
    tax_id::TaxId,
};

use crate::{
    billing::{settings, AddressRow},
    platform::{
        db::Code,
        error::{ResultExt, ServiceError},
    },
};

/// True once set-up has made the seller.
pub async fn exists(pool: &sqlx::AnyPool) -> Result<bool, ServiceError> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sellers")
        .fetch_one(pool)
        .await
        .context("checking for the seller")?;
    Ok(n > 0)
}

/// Makes the seller in `conn`: set-up's claim. Of two set-ups at once the second gets
/// `false` (on PostgreSQL it waits for the first to commit; SQLite takes its write lock now).
pub async fn claim(
    conn: &mut AnyConnection,
    seller: &SellerDetails,
    now: i64,
) -> Result<bool, ServiceError> {
    let a = &seller.address;
    let made = sqlx::query(
        "INSERT INTO sellers (id, legal_name, contact_email, country, line1, line2, city, region, postal_code, \
         price_per_user_cents, free_users, billing_day, tax_id, created_at, updated_at, currency) \
         VALUES (1, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $13, $12, $12, $14)",
    )
    .bind(&seller.legal_name)
    .bind(seller.contact_email.as_str())
    .bind(&a.country)
    .bind(&a.line1)
    .bind(&a.line2)
    .bind(&a.city)
    .bind(&a.region)
    .bind(&a.postal_code)
    .bind(seller.default_plan.price_per_user.minor())
    .bind(i64::try_from(seller.default_plan.free_users).unwrap_or(i64::MAX))
    .bind(i64::from(seller.default_plan.billing_day))
    .bind(now)
    .bind(seller.tax_id.as_ref().map(TaxId::normal))
    .bind(seller.default_plan.price_per_user.currency().code())
    .execute(&mut *conn)
    .await;
    match made {
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
        other => {
            other.context("making the seller")?;
            settings::set_issuer(conn, seller, now).await?;
            Ok(true)
        }
    }
}

/// The seller's details, once set up.
pub async fn details(pool: &sqlx::AnyPool) -> Result<Option<SellerDetails>, ServiceError> {
    #[derive(sqlx::FromRow)]
    struct Row {
        legal_name: String,
        contact_email: String,
        #[sqlx(flatten)]
        address: AddressRow,
        price_per_user_cents: i64,
        free_users: i64,
        billing_day: i64,
        tax_id: Option<String>,
        #[sqlx(try_from = "Code<Currency>")]
        currency: Currency,
    }
    let row: Option<Row> = sqlx::query_as(
        "SELECT legal_name, contact_email, country, line1, line2, city, region, postal_code, \
         price_per_user_cents, free_users, billing_day, tax_id, currency FROM sellers WHERE id = 1",
    )
    .fetch_optional(pool)
    .await
    .context("reading the seller")?;
    let Some(r) = row else {
        return Ok(None);
    };
    let contact_email = tally_core::contact::Email::parse(&r.contact_email).map_err(|e| {
        ServiceError::invariant("reading the seller's contact email", e.to_string())
    })?;
    Ok(Some(SellerDetails {
        legal_name: r.legal_name,
        contact_email,
        address: r.address.into(),
        tax_id: r.tax_id.as_deref().map(TaxId::stored),
        default_plan: Plan {
            price_per_user: Money::new(r.price_per_user_cents, r.currency),
            free_users: u64::try_from(r.free_users).unwrap_or(0),
            billing_day: u32::try_from(r.billing_day).unwrap_or(1),
        },
    }))
}

/// Saves the seller's details and default plan, in `conn`; `false` before set-up.
pub async fn save(
    conn: &mut AnyConnection,
    seller: &SellerDetails,
    now: i64,
) -> Result<bool, ServiceError> {
    let a = &seller.address;
    let done = sqlx::query(
        "UPDATE sellers SET legal_name = $1, contact_email = $2, country = $3, line1 = $4, line2 = $5, city = $6, \
         region = $7, postal_code = $8, price_per_user_cents = $9, free_users = $10, billing_day = $11, \
         updated_at = $12, tax_id = $13, currency = $14 WHERE id = 1",
    )
    .bind(&seller.legal_name)
    .bind(seller.contact_email.as_str())
    .bind(&a.country)
    .bind(&a.line1)
    .bind(&a.line2)
    .bind(&a.city)
    .bind(&a.region)
    .bind(&a.postal_code)
    .bind(seller.default_plan.price_per_user.minor())
    .bind(i64::try_from(seller.default_plan.free_users).unwrap_or(i64::MAX))
    .bind(i64::from(seller.default_plan.billing_day))
    .bind(now)
    .bind(seller.tax_id.as_ref().map(TaxId::normal))
    .bind(seller.default_plan.price_per_user.currency().code())
    .execute(&mut *conn)
    .await
    .context("saving the seller's details")?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    settings::set_issuer(conn, seller, now).await?;
    Ok(true)
}

/// Gives billing its copy of who issues the invoices when it has none (at start: a database
/// from before the copy was kept; set-up and every save keep it current after that). One read
/// otherwise; nothing before set-up.
pub async fn publish_issuer(pool: &sqlx::AnyPool, now: i64) -> Result<(), ServiceError> {
    if settings::issuer_party(pool).await?.is_some() {
        return Ok(());
    }
    let Some(seller) = details(pool).await? else {
        return Ok(());
    };
    let mut conn = pool
        .acquire()
        .await
        .context("publishing the invoices' issuer")?;
    settings::set_issuer(&mut conn, &seller, now).await
}
