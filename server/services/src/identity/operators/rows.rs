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

/// Every operator, with when one of their sessions was last seen: the Owner's list.
pub async fn all(pool: &sqlx::AnyPool) -> Result<Vec<(Operator, Option<i64>)>, ServiceError> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        operator: Operator,
        last_seen_at: Option<i64>,
    }
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {OPERATOR}, (SELECT MAX(s.last_seen_at) FROM operator_sessions s WHERE s.operator_id = operators.id) AS last_seen_at \
         FROM operators ORDER BY email_key"
    ))
    .fetch_all(pool)
    .await
    .context("listing operators")?;
    Ok(rows
        .into_iter()
        .map(|r| (r.operator, r.last_seen_at))
        .collect())
}

/// The active Owners' ids, read in `conn`, the transaction of a change that could remove
/// one. Their rows are written first, a change of nothing: that takes SQLite's write lock
/// before the read, and locks the rows on PostgreSQL until the transaction ends, so two Owners
/// demoting each other at once cannot both succeed.
pub async fn lock_active_owners(
    conn: &mut sqlx::AnyConnection,
) -> Result<Vec<String>, ServiceError> {
    sqlx::query("UPDATE operators SET updated_at = updated_at WHERE role = $1 AND status = $2")
        .bind(OperatorRole::Owner.code())
        .bind(AdminStatus::Active.code())
        .execute(&mut *conn)
        .await
        .context("locking the active Owners")?;
    sqlx::query_scalar("SELECT id FROM operators WHERE role = $1 AND status = $2 ORDER BY id")
        .bind(OperatorRole::Owner.code())
        .bind(AdminStatus::Active.code())
        .fetch_all(&mut *conn)
        .await
        .context("reading the active Owners")
}

/// Sets an operator's role in `exec`.
pub async fn set_role<'e, E>(
    exec: E,
    id: &str,
    role: OperatorRole,
    now: i64,
) -> Result<(), ServiceError>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query("UPDATE operators SET role = $1, updated_at = $2 WHERE id = $3")
        .bind(role.code())
        .bind(now)
        .bind(id)
        .execute(exec)
        .await
        .context("changing an operator's role")?;
    Ok(())
}

/// Sets an operator's state in `exec`.
pub async fn set_status<'e, E>(
    exec: E,
    id: &str,
    status: AdminStatus,
    now: i64,
) -> Result<(), ServiceError>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query("UPDATE operators SET status = $1, updated_at = $2 WHERE id = $3")
        .bind(status.code())
        .bind(now)
        .bind(id)
        .execute(exec)
        .await
        .context("changing an operator's state")?;
    Ok(())
}

/// Gives an invited operator their password and makes them active, in `exec`; false when
/// they are no longer invited (suspended meanwhile, or already active).
pub async fn accept<'e, E>(
    exec: E,
    id: &str,
    password_hash: &str,
    now: i64,
) -> Result<bool, ServiceError>
where
    E: Executor<'e, Database = Any>,
{
    let done = sqlx::query(
        "UPDATE operators SET password_hash = $1, status = $2, failed_sign_ins = 0, locked_until = NULL, updated_at = $3 \
         WHERE id = $4 AND status = $5",
    )
    .bind(password_hash)
    .bind(AdminStatus::Active.code())
    .bind(now)
    .bind(id)
    .bind(AdminStatus::Invited.code())
    .execute(exec)
    .await
    .context("activating an invited operator")?;
    Ok(done.rows_affected() == 1)
}
