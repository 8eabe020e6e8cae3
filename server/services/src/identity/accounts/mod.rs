//! Accounts, their administrators and their sessions: the `accounts` and `setup_done` tables
//! here, `admins` in [`admins`], `sessions` and `pending_sign_ins` in [`sessions`]. One owner
//! for the three because every request reads them together, in one statement
//! ([`sessions::Sessions::resolve`]).

pub mod admins;
pub mod sessions;

use std::collections::HashMap;

use sqlx::{Any, AnyConnection, Executor};

use tally_core::account_status::AccountStatus;

use crate::platform::{
    db::{Backend, Code, ROWS_PER_STATEMENT},
    error::{ResultExt, ServiceError},
};

/// True while no account exists and set-up has not begun (first start).
pub async fn setup_needed(pool: &sqlx::AnyPool) -> Result<bool, ServiceError> {
    let n: i64 = sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM accounts) + (SELECT COUNT(*) FROM setup_done)",
    )
    .fetch_one(pool)
    .await
    .context("checking whether set-up is needed")?;
    Ok(n == 0)
}

/// Sets the account's standing from `from` to `status`, in `conn`, with why; a closed account
/// keeps when it closed. False when there is no such account, or its standing is no longer
/// `from` (another operator, or another server's scheduler, changed it first).
pub async fn set_status(
    conn: &mut AnyConnection,
    id: &str,
    from: AccountStatus,
    status: AccountStatus,
    reason: Option<&str>,
    now: i64,
) -> Result<bool, ServiceError> {
    let closed_at = (status == AccountStatus::Closed).then_some(now);
    let done = sqlx::query(
        "UPDATE accounts SET status = $1, status_reason = $2, status_changed_at = $3, \
         closed_at = COALESCE($4, closed_at) WHERE id = $5 AND status = $6",
    )
    .bind(status.code())
    .bind(reason)
    .bind(now)
    .bind(closed_at)
    .bind(id)
    .bind(from.code())
    .execute(conn)
    .await
    .context("changing an account's standing")?;
    Ok(done.rows_affected() == 1)
}

/// The ids of the suspended accounts (nothing is charged to them).
pub async fn suspended(
    pool: &sqlx::AnyPool,
) -> Result<std::collections::HashSet<String>, ServiceError> {
    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM accounts WHERE status = $1")
        .bind(AccountStatus::Suspended.code())
        .fetch_all(pool)
        .await
        .context("reading the suspended accounts")?;
    Ok(ids.into_iter().collect())
}

/// An account as the console shows it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct AccountRow {
    pub id: String,
    pub name: String,
    pub created_at: i64,
    #[sqlx(try_from = "i64")]
    pub past_due: I64Flag,
    #[sqlx(try_from = "Code<AccountStatus>")]
    pub status: AccountStatus,
    pub status_reason: Option<String>,
}

/// A flag read as the integer both databases give for `CASE … THEN 1 ELSE 0`.
#[derive(Clone, Copy, Debug)]
pub struct I64Flag(pub bool);

impl From<i64> for I64Flag {
    fn from(n: i64) -> Self {
        I64Flag(n != 0)
    }
}

/// The account `id`, if there is one.
pub async fn by_id(pool: &sqlx::AnyPool, id: &str) -> Result<Option<AccountRow>, ServiceError> {
    sqlx::query_as(
        "SELECT id, name, created_at, CAST(CASE WHEN past_due THEN 1 ELSE 0 END AS BIGINT) AS past_due, status, status_reason \
         FROM accounts WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await
    .context("reading an account")
}

/// Up to `limit` accounts in id order (the order they were made) after `after`.
pub async fn page_after(
    pool: &sqlx::AnyPool,
    after: &str,
    limit: u32,
) -> Result<Vec<AccountRow>, ServiceError> {
    sqlx::query_as(
        "SELECT id, name, created_at, CAST(CASE WHEN past_due THEN 1 ELSE 0 END AS BIGINT) AS past_due, status, status_reason \
         FROM accounts WHERE id > $1 ORDER BY id LIMIT $2",
    )
    .bind(after)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await
    .context("reading a page of accounts")
}

/// Creates an account in `exec`.
pub async fn insert<'e, E>(
    exec: E,
    id: &str,
    name: &str,
    created_at: i64,
) -> Result<(), ServiceError>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query("INSERT INTO accounts (id, name, created_at) VALUES ($1, $2, $3)")
        .bind(id)
        .bind(name)
        .bind(created_at)
        .execute(exec)
        .await
        .context("creating an account")?;
    Ok(())
}

/// Serialises every administrator change of an account, in `conn`: a write first, so SQLite
/// takes its write lock now (not at a later upgrade) and PostgreSQL locks the account's row.
pub async fn lock_administrators(
    conn: &mut AnyConnection,
    account_id: &str,
) -> Result<(), ServiceError> {
    sqlx::query("UPDATE accounts SET admin_version = admin_version + 1 WHERE id = $1")
        .bind(account_id)
        .execute(conn)
        .await
        .context("locking the account's administrators")?;
    Ok(())
}

/// Whether the account requires two-step verification of every administrator.
pub async fn two_step_required(
    pool: &sqlx::AnyPool,
    account_id: &str,
) -> Result<bool, ServiceError> {
    let required: i64 = sqlx::query_scalar(
        "SELECT CAST(CASE WHEN require_two_step THEN 1 ELSE 0 END AS BIGINT) FROM accounts WHERE id = $1",
    )
    .bind(account_id)
    .fetch_one(pool)
    .await
    .context("reading the two-step policy")?;
    Ok(required != 0)
}

/// Sets the account's two-step policy, in `conn`.
pub async fn set_two_step_required(
    conn: &mut AnyConnection,
    account_id: &str,
    required: bool,
) -> Result<(), ServiceError> {
    sqlx::query("UPDATE accounts SET require_two_step = $1 WHERE id = $2")
        .bind(required)
        .bind(account_id)
        .execute(conn)
        .await
        .context("setting the two-step policy")?;
    Ok(())
}

/// The credit balances of the accounts with ids from `first` to `last` that have one (the
/// billing run takes them off their invoices).
pub async fn credit_balances(
    pool: &sqlx::AnyPool,
    first: &str,
    last: &str,
) -> Result<std::collections::HashMap<String, i64>, ServiceError> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT id, credit_balance_cents FROM accounts WHERE id >= $1 AND id <= $2 AND credit_balance_cents > 0",
    )
    .bind(first)
    .bind(last)
    .fetch_all(pool)
    .await
    .context("reading credit balances")?;
    Ok(rows.into_iter().collect())
}

/// The account's credit balance.
pub async fn credit_balance(pool: &sqlx::AnyPool, account_id: &str) -> Result<i64, ServiceError> {
    let balance: Option<i64> =
        sqlx::query_scalar("SELECT credit_balance_cents FROM accounts WHERE id = $1")
            .bind(account_id)
            .fetch_optional(pool)
            .await
            .context("reading a credit balance")?;
    Ok(balance.unwrap_or(0))
}

/// The account's credit balance as `conn`'s transaction sees it.
pub async fn credit_balance_in(
    conn: &mut AnyConnection,
    account_id: &str,
) -> Result<i64, ServiceError> {
    let balance: Option<i64> =
        sqlx::query_scalar("SELECT credit_balance_cents FROM accounts WHERE id = $1")
            .bind(account_id)
            .fetch_optional(conn)
            .await
            .context("reading a credit balance")?;
    Ok(balance.unwrap_or(0))
}

/// Adds `cents` to the account's credit balance, in `conn` (a credit note kept as credit).
pub async fn add_credit(
    conn: &mut AnyConnection,
    account_id: &str,
    cents: i64,
) -> Result<(), ServiceError> {
    sqlx::query(
        "UPDATE accounts SET credit_balance_cents = credit_balance_cents + $1 WHERE id = $2",
    )
    .bind(cents)
    .bind(account_id)
    .execute(conn)
    .await
    .context("adding to a credit balance")?;
    Ok(())
}

/// Takes `cents` of the account's credit balance, in `conn` (an invoice used it); never below
/// nothing: a balance another run took meanwhile fails the transaction.
pub async fn take_credit(
    conn: &mut AnyConnection,
    account_id: &str,
    cents: i64,
) -> Result<(), ServiceError> {
    let done = sqlx::query(
        "UPDATE accounts SET credit_balance_cents = credit_balance_cents - $1 WHERE id = $2 AND credit_balance_cents >= $1",
    )
    .bind(cents)
    .bind(account_id)
    .execute(conn)
    .await
    .context("taking from a credit balance")?;
    if done.rows_affected() != 1 {
        return Err(ServiceError::invariant(
            "taking from a credit balance",
            "the balance changed while the invoice was made",
        ));
    }
    Ok(())
}

/// Whether the account is past due (its last invoice could not be charged after every retry).
pub async fn past_due(pool: &sqlx::AnyPool, account_id: &str) -> Result<bool, ServiceError> {
    let past_due: i64 = sqlx::query_scalar(
        "SELECT CAST(CASE WHEN past_due THEN 1 ELSE 0 END AS BIGINT) FROM accounts WHERE id = $1",
    )
    .bind(account_id)
    .fetch_one(pool)
    .await
    .context("reading whether the account is past due")?;
    Ok(past_due != 0)
}

/// Marks each of the accounts past due or not, in `conn` (charging knows which have an
/// invoice past due).
pub async fn set_past_due(
    conn: &mut AnyConnection,
    accounts: &[(String, bool)],
) -> Result<(), ServiceError> {
    for due in [true, false] {
        let ids: Vec<&str> = accounts
            .iter()
            .filter(|(_, past_due)| *past_due == due)
            .map(|(id, _)| id.as_str())
            .collect();
        for batch in ids.chunks(ROWS_PER_STATEMENT) {
            let marks = Backend::of(conn);
            let sql = format!(
                "UPDATE accounts SET past_due = {} WHERE id IN ({})",
                marks.marks_from(1, 1),
                marks.marks_from(2, batch.len())
            );
            let mut q = sqlx::query(&sql).bind(due);
            for id in batch {
                q = q.bind(*id);
            }
            q.execute(&mut *conn)
                .await
                .context("updating past-due accounts")?;
        }
    }
    Ok(())
}

/// An account a billing run looks at.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Billable {
    pub id: String,
    pub name: String,
}

/// The accounts to bill for the month from `start` to `end` (UTC milliseconds): made before
/// its end and not closed before its start, in id order.
pub async fn created_before(
    pool: &sqlx::AnyPool,
    start: i64,
    end: i64,
) -> Result<Vec<Billable>, ServiceError> {
    use futures::TryStreamExt;
    sqlx::query_as(
        "SELECT id, name FROM accounts WHERE created_at < $1 AND (closed_at IS NULL OR closed_at >= $2) ORDER BY id",
    )
        .bind(end)
        .bind(start)
        .fetch(pool) // row by row: 100,000 raw rows at once would double a run's memory
        .try_collect()
        .await
        .context("reading the accounts to bill")
}

/// How many of `ids` [`created_before`] lists for `start..end`.
pub async fn count_created_before_among(
    pool: &sqlx::AnyPool,
    ids: &[&str],
    start: i64,
    end: i64,
) -> Result<usize, ServiceError> {
    let mut n = 0;
    for batch in ids.chunks(ROWS_PER_STATEMENT) {
        // `$N` throughout: both engines read it as parameter N.
        let marks: Vec<String> = (3..3 + batch.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT COUNT(*) FROM accounts WHERE created_at < $1 AND (closed_at IS NULL OR closed_at >= $2) AND id IN ({})",
            marks.join(", ")
        );
        let mut q = sqlx::query_scalar::<_, i64>(&sql).bind(end).bind(start);
        for id in batch {
            q = q.bind(*id);
        }
        n += q
            .fetch_one(pool)
            .await
            .context("counting the accounts to bill")?
            .max(0) as usize;
    }
    Ok(n)
}

/// When the oldest account was created (UTC milliseconds), if there is one.
pub async fn first_created(pool: &sqlx::AnyPool) -> Result<Option<i64>, ServiceError> {
    sqlx::query_scalar("SELECT MIN(created_at) FROM accounts")
        .fetch_one(pool)
        .await
        .context("reading the oldest account")
}

/// How many accounts [`created_before`] lists for `start..end`: made before its end and not
/// closed before its start.
pub async fn count_created_before(
    pool: &sqlx::AnyPool,
    start: i64,
    end: i64,
) -> Result<usize, ServiceError> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM accounts WHERE created_at < $1 AND (closed_at IS NULL OR closed_at >= $2)",
    )
    .bind(end)
    .bind(start)
    .fetch_one(pool)
    .await
    .context("counting the accounts to bill")?;
    Ok(n.max(0) as usize)
}

/// The names of the accounts whose ids lie between `first` and `last`.
pub async fn names_between<'e, E>(
    exec: E,
    first: &str,
    last: &str,
) -> Result<HashMap<String, String>, ServiceError>
where
    E: Executor<'e, Database = Any>,
{
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT id, name FROM accounts WHERE id >= $1 AND id <= $2")
            .bind(first)
            .bind(last)
            .fetch_all(exec)
            .await
            .context("reading account names")?;
    Ok(rows.into_iter().collect())
}
