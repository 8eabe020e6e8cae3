//! The `admins` table: who may sign in to an account, with which role, in which state, with
//! which password, and whether they opted in to invoices. Every statement on it is here;
//! the services (sign-in, the Administrators page, billing) call these functions.

use sqlx::{Any, AnyConnection, Executor};
use tally_core::{
    contact::Email,
    roles::{AdminStatus, Role, ALL_ROLES},
};

use crate::identity::lockout::Guarded;
use crate::platform::db::Code;
use crate::platform::{
    db::{contains, list_counts, offset, search_text},
    error::{ResultExt, ServiceError},
};

/// The roles that include billing, bound as parameters `$first…` of a statement.
fn billing_roles() -> Vec<Role> {
    ALL_ROLES.into_iter().filter(|r| r.has_billing()).collect()
}

/// `$first, $first+1, …` for the billing roles.
fn billing_role_marks(first: usize) -> String {
    (0..billing_roles().len())
        .map(|i| format!("${}", first + i))
        .collect::<Vec<_>>()
        .join(", ")
}

/// An administrator as the rules and the flows that check a password see them.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Admin {
    pub id: String,
    pub account_id: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    #[sqlx(try_from = "Code<Role>")]
    pub role: Role,
    #[sqlx(try_from = "Code<AdminStatus>")]
    pub status: AdminStatus,
    pub password_hash: Option<String>,
}

impl Admin {
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }
}

const ADMIN: &str = "id, account_id, email, first_name, last_name, role, status, password_hash";

/// The administrator signing in with `email` (any case), whatever their state.
pub async fn by_email(pool: &sqlx::AnyPool, email: &str) -> Result<Option<Admin>, ServiceError> {
    sqlx::query_as(&format!("SELECT {ADMIN} FROM admins WHERE email_key = $1"))
        .bind(email.to_lowercase())
        .fetch_optional(pool)
        .await
        .context("looking up an administrator by email")
}

/// An administrator by id, whatever their account (flows that start from a link or a
/// half-done sign-in, which name the administrator).
pub async fn by_id<'e, E>(exec: E, id: &str) -> Result<Option<Admin>, ServiceError>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query_as(&format!("SELECT {ADMIN} FROM admins WHERE id = $1"))
        .bind(id)
        .fetch_optional(exec)
        .await
        .context("reading an administrator")
}

/// An administrator of `account_id`, or not found.
pub async fn in_account<'e, E>(exec: E, account_id: &str, id: &str) -> Result<Admin, ServiceError>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query_as(&format!(
        "SELECT {ADMIN} FROM admins WHERE id = $1 AND account_id = $2"
    ))
    .bind(id)
    .bind(account_id)
    .fetch_optional(exec)
    .await
    .context("reading an administrator")?
    .ok_or(ServiceError::NotFound)
}

/// The account's administrators, oldest first (the rules of a change read them all, in the
/// change's transaction).
pub async fn of_account(
    conn: &mut AnyConnection,
    account_id: &str,
) -> Result<Vec<Admin>, ServiceError> {
    sqlx::query_as(&format!(
        "SELECT {ADMIN} FROM admins WHERE account_id = $1 ORDER BY created_at, id"
    ))
    .bind(account_id)
    .fetch_all(conn)
    .await
    .context("reading the account's administrators")
}

/// The account's administrators by name.
pub async fn by_name(pool: &sqlx::AnyPool, account_id: &str) -> Result<Vec<Admin>, ServiceError> {
    sqlx::query_as(&format!(
        "SELECT {ADMIN} FROM admins WHERE account_id = $1 ORDER BY last_name, first_name, id"
    ))
    .bind(account_id)
    .fetch_all(pool)
    .await
    .context("reading the account's administrators")
}

/// The administrators invited and not signed in yet, oldest first.
pub async fn invited(pool: &sqlx::AnyPool, account_id: &str) -> Result<Vec<Admin>, ServiceError> {
    sqlx::query_as(&format!(
        "SELECT {ADMIN} FROM admins WHERE account_id = $1 AND status = $2 ORDER BY created_at, id"
    ))
    .bind(account_id)
    .bind(AdminStatus::Invited.code())
    .fetch_all(pool)
    .await
    .context("reading pending invitations")
}

/// A new administrator's row.
pub struct NewAdminRow<'a> {
    pub id: &'a str,
    pub account_id: &'a str,
    pub email: &'a Email,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub role: Role,
    /// Active with a password (set-up, a seed), or invited with none.
    pub password_hash: Option<&'a str>,
    pub now: i64,
}

/// Inserts an administrator in `exec`; false when the address is another administrator's.
pub async fn insert<'e, E>(exec: E, admin: &NewAdminRow<'_>) -> Result<bool, ServiceError>
where
    E: Executor<'e, Database = Any>,
{
    let status = match admin.password_hash {
        Some(_) => AdminStatus::Active,
        None => AdminStatus::Invited,
    };
    let inserted = sqlx::query(
        "INSERT INTO admins (id, account_id, email, email_key, first_name, last_name, role, status, password_hash, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) ON CONFLICT (email_key) DO NOTHING",
    )
    .bind(admin.id)
    .bind(admin.account_id)
    .bind(admin.email.as_str())
    .bind(admin.email.normalized_key())
    .bind(admin.first_name)
    .bind(admin.last_name)
    .bind(admin.role.code())
    .bind(status.code())
    .bind(admin.password_hash)
    .bind(admin.now)
    .execute(exec)
    .await
    .context("inserting an administrator")?;
    Ok(inserted.rows_affected() == 1)
}

/// The administrators' lockout and second-step count ([`Guarded`], on this table).
pub const LOCKOUT: Guarded = Guarded::of("admins");

/// Saves one's own new password hash, in `exec`.
pub async fn set_password<'e, E>(
    exec: E,
    id: &str,
    hash: &str,
    now: i64,
) -> Result<(), ServiceError>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query("UPDATE admins SET password_hash = $1, updated_at = $2 WHERE id = $3")
        .bind(hash)
        .bind(now)
        .bind(id)
        .execute(exec)
        .await
        .context("saving a password")?;
    Ok(())
}

/// Saves the password set through an invitation or reset link, in `exec`: the administrator
/// becomes active and any lockout ends — unless they are suspended, which only another
/// administrator undoes. False when they are (the row is checked as it is at this moment).
pub async fn set_password_from_link<'e, E>(
    exec: E,
    id: &str,
    hash: &str,
    now: i64,
) -> Result<bool, ServiceError>
where
    E: Executor<'e, Database = Any>,
{
    let updated = sqlx::query(
        "UPDATE admins SET password_hash = $1, status = $2, failed_sign_ins = 0, locked_until = NULL, updated_at = $3 \
         WHERE id = $4 AND status <> $5",
    )
    .bind(hash)
    .bind(AdminStatus::Active.code())
    .bind(now)
    .bind(id)
    .bind(AdminStatus::Suspended.code())
    .execute(exec)
    .await
    .context("saving a password from a link")?;
    Ok(updated.rows_affected() == 1)
}

/// Renames an administrator of `account_id`, in `exec`.
pub async fn set_name<'e, E>(
    exec: E,
    account_id: &str,
    id: &str,
    first_name: &str,
    last_name: &str,
    now: i64,
) -> Result<(), ServiceError>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query(
        "UPDATE admins SET first_name = $1, last_name = $2, updated_at = $3 WHERE id = $4 AND account_id = $5",
    )
    .bind(first_name)
    .bind(last_name)
    .bind(now)
    .bind(id)
    .bind(account_id)
    .execute(exec)
    .await
    .context("saving a name")?;
    Ok(())
}

/// Gives an administrator of `account_id` another role, in `conn`.
pub async fn set_role(
    conn: &mut AnyConnection,
    account_id: &str,
    id: &str,
    role: Role,
    now: i64,
) -> Result<(), ServiceError> {
    sqlx::query("UPDATE admins SET role = $1, updated_at = $2 WHERE id = $3 AND account_id = $4")
        .bind(role.code())
        .bind(now)
        .bind(id)
        .bind(account_id)
        .execute(conn)
        .await
        .context("changing an administrator's role")?;
    Ok(())
}

/// Suspends an administrator of `account_id`, in `conn`.
pub async fn suspend(
    conn: &mut AnyConnection,
    account_id: &str,
    id: &str,
    now: i64,
) -> Result<(), ServiceError> {
    sqlx::query("UPDATE admins SET status = $1, updated_at = $2 WHERE id = $3 AND account_id = $4")
        .bind(AdminStatus::Suspended.code())
        .bind(now)
        .bind(id)
        .bind(account_id)
        .execute(conn)
        .await
        .context("suspending an administrator")?;
    Ok(())
}

/// Lets a suspended administrator of `account_id` in again, in `conn`: active, or invited
/// again when they never set a password.
pub async fn unsuspend(
    conn: &mut AnyConnection,
    account_id: &str,
    id: &str,
    now: i64,
) -> Result<(), ServiceError> {
    sqlx::query(
        "UPDATE admins SET status = CASE WHEN password_hash IS NULL THEN $1 ELSE $2 END, \
         updated_at = $3 WHERE id = $4 AND account_id = $5",
    )
    .bind(AdminStatus::Invited.code())
    .bind(AdminStatus::Active.code())
    .bind(now)
    .bind(id)
    .bind(account_id)
    .execute(conn)
    .await
    .context("unsuspending an administrator")?;
    Ok(())
}

/// Deletes an administrator of `account_id`, in `conn`.
pub async fn delete(
    conn: &mut AnyConnection,
    account_id: &str,
    id: &str,
) -> Result<(), ServiceError> {
    sqlx::query("DELETE FROM admins WHERE id = $1 AND account_id = $2")
        .bind(id)
        .bind(account_id)
        .execute(conn)
        .await
        .context("deleting an administrator")?;
    Ok(())
}

/// Sets whether an administrator of `account_id` gets invoices by email, in `exec`; true when
/// that changed something.
pub async fn set_receives_invoices<'e, E>(
    exec: E,
    account_id: &str,
    id: &str,
    on: bool,
) -> Result<bool, ServiceError>
where
    E: Executor<'e, Database = Any>,
{
    let changed = sqlx::query(
        "UPDATE admins SET receives_invoices = $1 WHERE id = $2 AND account_id = $3 AND receives_invoices <> $1",
    )
    .bind(on)
    .bind(id)
    .bind(account_id)
    .execute(exec)
    .await
    .context("saving the invoice opt-in")?;
    Ok(changed.rows_affected() == 1)
}

/// An administrator as the Administrators page lists them, before the page adds what other
/// modules know (bindings, second steps, the billing contact).
#[derive(Debug, sqlx::FromRow)]
pub struct Listed {
    pub id: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    #[sqlx(try_from = "Code<Role>")]
    pub role: Role,
    #[sqlx(try_from = "Code<AdminStatus>")]
    pub status: AdminStatus,
    /// Opted in to invoices (counts only for an active billing administrator).
    pub receives_invoices: i64,
}

/// One row of a list page with the page's counts; an empty page is one row with the counts
/// and no administrator.
#[derive(sqlx::FromRow)]
struct PageRow {
    total: i64,
    matching: i64,
    id: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
    role: Option<String>,
    status: Option<String>,
    receives_invoices: Option<i64>,
}

/// One page of an account's administrators whose name or email contains `search`, oldest
/// first, with how many there are and how many match.
pub async fn page(
    pool: &sqlx::AnyPool,
    account_id: &str,
    search: &str,
    page: u32,
    per_page: u32,
) -> Result<(Vec<Listed>, u64, u64), ServiceError> {
    let search_matches = contains(
        &["LOWER(a.first_name || ' ' || a.last_name)", "a.email_key"],
        2,
    );
    // One query: both counts in one pass over the account's administrators, joined to the
    // page, so the counts come back (with no administrator) when the page is empty.
    let rows: Vec<PageRow> = sqlx::query_as(&format!(
        "SELECT c.total, c.matching, p.id, p.first_name, p.last_name, p.email, p.role, p.status, p.receives_invoices \
         FROM (SELECT COUNT(*) AS total, \
                      COALESCE(SUM(CASE WHEN {search_matches} THEN 1 ELSE 0 END), 0) AS matching \
               FROM admins a WHERE a.account_id = $1) c \
         LEFT JOIN (SELECT a.id, a.first_name, a.last_name, a.email, a.role, a.status, a.created_at, \
                    CAST(CASE WHEN a.receives_invoices THEN 1 ELSE 0 END AS BIGINT) AS receives_invoices \
                    FROM admins a \
                    WHERE a.account_id = $1 AND {search_matches} ORDER BY a.created_at, a.id LIMIT $3 OFFSET $4) p ON 1 = 1 \
         ORDER BY p.created_at, p.id"
    ))
    .bind(account_id)
    .bind(search_text(search))
    .bind(i64::from(per_page))
    .bind(offset(page, per_page))
    .fetch_all(pool)
    .await
    .context("reading a page of administrators")?;
    let (total, matching) = list_counts(rows.first().map(|r| (r.total, r.matching)));
    let mut admins = Vec::with_capacity(rows.len());
    for a in rows {
        let (Some(id), Some(first_name), Some(last_name), Some(email), Some(role), Some(status)) =
            (a.id, a.first_name, a.last_name, a.email, a.role, a.status)
        else {
            continue;
        };
        admins.push(Listed {
            id,
            first_name,
            last_name,
            email,
            role: Role::try_from(role).context("reading a page of administrators")?,
            status: AdminStatus::try_from(status).context("reading a page of administrators")?,
            receives_invoices: a.receives_invoices.unwrap_or(0),
        });
    }
    Ok((admins, total, matching))
}

/// An active administrator with a billing role, as billing addresses them.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct BillingAdmin {
    pub id: String,
    pub account_id: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    /// Opted in to invoices ("Also email invoices to me").
    pub receives_invoices: i64,
}

impl BillingAdmin {
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }

    pub fn opted_in(&self) -> bool {
        self.receives_invoices != 0
    }
}

/// The active billing administrators of the accounts whose ids lie between `first` and
/// `last` (a chunk of a run, in id order), each account's oldest first. The first of an
/// account stands in as its billing contact while it has no billing information.
pub async fn billing_admins_between<'e, E>(
    exec: E,
    first: &str,
    last: &str,
) -> Result<Vec<BillingAdmin>, ServiceError>
where
    E: Executor<'e, Database = Any>,
{
    let sql = format!(
        "SELECT id, account_id, email, first_name, last_name, \
         CAST(CASE WHEN receives_invoices THEN 1 ELSE 0 END AS BIGINT) AS receives_invoices \
         FROM admins WHERE account_id >= $1 AND account_id <= $2 AND status = $3 AND role IN ({}) \
         ORDER BY account_id, created_at, id",
        billing_role_marks(4)
    );
    let mut q = sqlx::query_as(&sql)
        .bind(first)
        .bind(last)
        .bind(AdminStatus::Active.code());
    for role in billing_roles() {
        q = q.bind(role.code());
    }
    q.fetch_all(exec)
        .await
        .context("reading the billing administrators")
}

/// The active billing administrators of one account, oldest first.
pub async fn billing_admins<'e, E>(
    exec: E,
    account_id: &str,
) -> Result<Vec<BillingAdmin>, ServiceError>
where
    E: Executor<'e, Database = Any>,
{
    billing_admins_between(exec, account_id, account_id).await
}
