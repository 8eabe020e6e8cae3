//! `tally --demo`: on an empty database, seeds a demo account with an administrator of every
//! role and prints how to sign in, so a newcomer can look around at once.

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
    let account_id = new_id();
    let mut tx = db.pool().begin().await?;
    sqlx::query("INSERT INTO accounts (id, name, created_at) VALUES ($1, 'Demo Company', $2)")
        .bind(&account_id)
        .bind(now)
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
        .bind(new_id())
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
