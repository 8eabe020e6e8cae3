//! `tally --demo`: on an empty database, seeds a demo account with an administrator of every
//! role, 14 users, billing information and a sandbox card, dated four months back, and prints
//! how to sign in, so a newcomer can look around at once. The billing scheduler's catch-up at
//! start then invoices the months since, so there is an invoice history too.

use tally_core::roles::{Role, ALL_ROLES};

use crate::{
    clock::Clock,
    crypto::{hash_password, new_id, new_token},
    db::Database,
};

/// What was seeded, to print.
pub struct DemoLogins {
    pub password: String,
    pub admins: Vec<(Role, String)>,
}

/// Seeds the demo account unless any account exists; returns the sign-in details it made.
pub async fn seed(db: &Database, clock: &dyn Clock) -> Result<Option<DemoLogins>, sqlx::Error> {
    let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts")
        .fetch_one(db.pool())
        .await?;
    if existing > 0 {
        return Ok(None);
    }
    // One random password for every demo administrator, printed once.
    let password = format!("demo {} tally", &new_token()[..10]);
    let hash = hash_password(&password);
    let now = clock.now_millis();
    // Four months back: the scheduler's catch-up invoices the months since.
    let since = now - 120 * 86_400_000;
    let account_id = new_id(now);
    let mut tx = db.pool().begin().await?;
    sqlx::query("INSERT INTO setup_done (id, created_at) VALUES (1, $1)")
        .bind(now)
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO accounts (id, name, created_at) VALUES ($1, 'Demo Company', $2)")
        .bind(&account_id)
        .bind(since)
        .execute(&mut *tx)
        .await?;
    let mut admins = Vec::new();
    for (i, role) in ALL_ROLES.into_iter().enumerate() {
        let email = format!("{}@demo.tally.test", role.code().replace('_', "-"));
        let (first, last) = DEMO_NAMES[i % DEMO_NAMES.len()];
        sqlx::query(
            "INSERT INTO admins (id, account_id, email, email_key, first_name, last_name, role, status, password_hash, created_at, updated_at) \
             VALUES ($1, $2, $3, $3, $4, $5, $6, 'active', $7, $8, $8)",
        )
        .bind(new_id(now))
        .bind(&account_id)
        .bind(&email)
        .bind(first)
        .bind(last)
        .bind(role.code())
        .bind(&hash)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        admins.push((role, email));
    }
    // 12 users from the start, 2 more a month later: some months cost more than others.
    for i in 0..14_i64 {
        let at = if i < 12 {
            since
        } else {
            since + 30 * 86_400_000
        };
        let (first, last) = DEMO_NAMES[(i as usize) % DEMO_NAMES.len()];
        let email = format!("user{}@demo.tally.test", i + 1);
        sqlx::query(
            "INSERT INTO users (id, account_id, first_name, last_name, email, email_key, status, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $7)",
        )
        .bind(new_id(now))
        .bind(&account_id)
        .bind(first)
        .bind(last)
        .bind(&email)
        .bind(if i == 13 { "suspended" } else { "active" })
        .bind(at)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO user_count_changes (id, account_id, at, delta) VALUES ($1, $2, $3, 1)",
        )
        .bind(new_id(now))
        .bind(&account_id)
        .bind(at)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query(
        "INSERT INTO billing_info (account_id, company_name, contact_name, contact_email, country, line1, city, region, postal_code, updated_at) \
         VALUES ($1, 'Demo Company', 'Ada Okafor', 'billing@demo.tally.test', 'US', '1 Market St', 'San Francisco', 'CA', '94105', $2)",
    )
    .bind(&account_id)
    .bind(since)
    .execute(&mut *tx)
    .await?;
    // What the sandbox would have kept of its always-succeeding test card.
    sqlx::query(
        "INSERT INTO payment_methods (account_id, gateway_token, brand, last4, exp_month, exp_year, cardholder_name, \
         country, line1, city, region, postal_code, fingerprint, saved_at) \
         VALUES ($1, $2, 'visa', '4242', 12, $3, 'Ada Okafor', 'US', '1 Market St', 'San Francisco', 'CA', '94105', 'demo', $4)",
    )
    .bind(&account_id)
    .bind(format!("tok_sandbox_{}", new_id(now)))
    .bind(i64::from(chrono::Datelike::year(&clock.today())) + 3)
    .bind(since)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(DemoLogins { password, admins }))
}

const DEMO_NAMES: [(&str, &str); 7] = [
    ("Ada", "Okafor"),
    ("Ben", "Ruiz"),
    ("Chen", "Wei"),
    ("Dana", "Kovač"),
    ("Eli", "Haddad"),
    ("Fay", "Nguyen"),
    ("Gus", "Lindqvist"),
];
