//! The `operators` table: the seller's staff, their roles, states and passwords, and the
//! counts that hold back guessing (the lockout's, and the second step's own). Every statement
//! on it is here.

use sqlx::{Any, Executor};
use tally_core::{contact::Email, operators::OperatorRole, roles::AdminStatus};

use crate::identity::lockout::Guarded;
use crate::platform::{
    db::Code,
    error::{ResultExt, ServiceError},
};

/// An operator as sign-in and the console see them. Their state is an administrator's
/// (`invited`, `active`, `suspended`).
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Operator {
    pub id: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    #[sqlx(try_from = "Code<OperatorRole>")]
    pub role: OperatorRole,
    #[sqlx(try_from = "Code<AdminStatus>")]
    pub status: AdminStatus,
    pub password_hash: Option<String>,
}

const OPERATOR: &str = "id, email, first_name, last_name, role, status, password_hash";

/// The operator signing in with `email` (any case), whatever their state.
pub async fn by_email(pool: &sqlx::AnyPool, email: &str) -> Result<Option<Operator>, ServiceError> {
    sqlx::query_as(&format!(
        "SELECT {OPERATOR} FROM operators WHERE email_key = $1"
    ))
    .bind(email.to_lowercase())
    .fetch_optional(pool)
    .await
    .context("looking up an operator by email")
}

/// An operator by id.
pub async fn by_id<'e, E>(exec: E, id: &str) -> Result<Option<Operator>, ServiceError>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query_as(&format!("SELECT {OPERATOR} FROM operators WHERE id = $1"))
        .bind(id)
        .fetch_optional(exec)
        .await
        .context("reading an operator")
}

/// A new operator's row.
pub struct NewOperatorRow<'a> {
    pub id: &'a str,
    pub email: &'a Email,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub role: OperatorRole,
    /// Active with a password (set-up, a seed), or invited with none.
    pub password_hash: Option<&'a str>,
    pub now: i64,
}

/// Inserts an operator in `exec`; false when the address is another operator's.
pub async fn insert<'e, E>(exec: E, op: &NewOperatorRow<'_>) -> Result<bool, ServiceError>
where
    E: Executor<'e, Database = Any>,
{
    let status = match op.password_hash {
        Some(_) => AdminStatus::Active,
        None => AdminStatus::Invited,
    };
    let inserted = sqlx::query(
        "INSERT INTO operators (id, email, email_key, first_name, last_name, role, status, password_hash, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) ON CONFLICT (email_key) DO NOTHING",
    )
    .bind(op.id)
    .bind(op.email.as_str())
    .bind(op.email.normalized_key())
    .bind(op.first_name)
    .bind(op.last_name)
    .bind(op.role.code())
    .bind(status.code())
    .bind(op.password_hash)
    .bind(op.now)
    .execute(exec)
    .await
    .context("inserting an operator")?;
    Ok(inserted.rows_affected() == 1)
}

/// The operators' lockout and second-step count ([`Guarded`], on this table).
pub const LOCKOUT: Guarded = Guarded::of("operators");
