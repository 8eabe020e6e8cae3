//! Each customer account's plan (owner of `account_plans`): the price per user beyond the free
//! ones and the billing day, by the month it starts. A month is billed on one plan throughout: a change made during
//! a month starts with the next one. An account with no plan row is on the server's standard
//! plan (`TALLY_PRICE_PER_USER_CENTS`, the article's 10 free users).

use std::collections::{HashMap, HashSet};

use chrono::{Datelike, NaiveDate};

use sqlx::{Any, Executor};
use tally_core::{
    billing::{BillingMonth, Plan, FIRST_BILLING_DAY, LAST_BILLING_DAY},
    money::{Currency, Money},
};

use crate::platform::{
    db::Code,
    error::{ResultExt, ServiceError},
};

/// A plan row's price, free users, billing day and currency.
type PlanRow = (i64, i64, i64, Code<Currency>);

/// The plan columns, in [`PlanRow`]'s order, of `account_plans` as `p`.
const PLAN_COLUMNS: &str = "p.price_per_user_cents, p.free_users, p.billing_day, p.currency";

fn plan_of((price_per_user_cents, free_users, billing_day, currency): PlanRow) -> Plan {
    Plan {
        price_per_user: Money::new(price_per_user_cents, currency.0),
        free_users: u64::try_from(free_users).unwrap_or(0),
        billing_day: u32::try_from(billing_day).unwrap_or(FIRST_BILLING_DAY),
    }
}

/// Sets `account_id`'s plan from `from` on, in `exec` (replacing a change already set for
/// that month).
pub async fn set<'e, E>(
    exec: E,
    account_id: &str,
    from: BillingMonth,
    plan: &Plan,
    now: i64,
) -> Result<(), ServiceError>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query(
        "INSERT INTO account_plans (account_id, from_month, price_per_user_cents, free_users, billing_day, created_at, currency) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (account_id, from_month) DO UPDATE SET \
         price_per_user_cents = excluded.price_per_user_cents, free_users = excluded.free_users, \
         billing_day = excluded.billing_day, created_at = excluded.created_at, currency = excluded.currency",
    )
    .bind(account_id)
    .bind(from.to_string())
    .bind(plan.price_per_user.minor())
    .bind(i64::try_from(plan.free_users).unwrap_or(i64::MAX))
    .bind(i64::from(plan.billing_day))
    .bind(now)
    .bind(plan.price_per_user.currency().code())
    .execute(exec)
    .await
    .context("setting an account's plan")?;
    Ok(())
}

/// The plan `account_id` is billed on for `month`, or `standard` without one.
pub async fn for_month(
    pool: &sqlx::AnyPool,
    account_id: &str,
    month: BillingMonth,
    standard: Plan,
) -> Result<Plan, ServiceError> {
    let row: Option<PlanRow> = sqlx::query_as(&format!(
        "SELECT {PLAN_COLUMNS} FROM account_plans p \
         WHERE p.account_id = $1 AND p.from_month <= $2 ORDER BY p.from_month DESC LIMIT 1"
    ))
    .bind(account_id)
    .bind(month.to_string())
    .fetch_optional(pool)
    .await
    .context("reading an account's plan")?;
    Ok(row.map_or(standard, plan_of))
}

/// A change set for a month after `month`: the month it starts, and the plan.
pub async fn next_change(
    pool: &sqlx::AnyPool,
    account_id: &str,
    month: BillingMonth,
) -> Result<Option<(String, Plan)>, ServiceError> {
    let row: Option<(String, i64, i64, i64, Code<Currency>)> = sqlx::query_as(&format!(
        "SELECT p.from_month, {PLAN_COLUMNS} FROM account_plans p \
         WHERE p.account_id = $1 AND p.from_month > $2 ORDER BY p.from_month LIMIT 1"
    ))
    .bind(account_id)
    .bind(month.to_string())
    .fetch_optional(pool)
    .await
    .context("reading an account's next plan")?;
    Ok(row.map(|(from, p, f, d, c)| (from, plan_of((p, f, d, c)))))
}

/// The plans for `month` of the accounts whose ids are between `first` and `last` (a chunk
/// of the billing run), by account; accounts without one are not in the map.
pub async fn chunk(
    pool: &sqlx::AnyPool,
    first: &str,
    last: &str,
    month: BillingMonth,
) -> Result<HashMap<String, Plan>, ServiceError> {
    let rows: Vec<(String, i64, i64, i64, Code<Currency>)> = sqlx::query_as(&format!(
        "SELECT p.account_id, {PLAN_COLUMNS} FROM account_plans p \
         WHERE p.account_id BETWEEN $1 AND $2 AND p.from_month = \
         (SELECT MAX(q.from_month) FROM account_plans q WHERE q.account_id = p.account_id AND q.from_month <= $3)"
    ))
    .bind(first)
    .bind(last)
    .bind(month.to_string())
    .fetch_all(pool)
    .await
    .context("reading a chunk's plans")?;
    Ok(rows
        .into_iter()
        .map(|(id, p, f, d, c)| (id, plan_of((p, f, d, c))))
        .collect())
}

/// The plans for `month` of the accounts `ids` (a page of the console's list), by account;
/// accounts without one are not in the map. One statement per 500 accounts.
pub async fn of_accounts(
    pool: &sqlx::AnyPool,
    ids: &[&str],
    month: BillingMonth,
) -> Result<HashMap<String, Plan>, ServiceError> {
    let mut plans = HashMap::with_capacity(ids.len());
    for batch in ids.chunks(500) {
        // `$N` throughout: both engines read it as parameter N.
        let marks: Vec<String> = (2..2 + batch.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT p.account_id, {PLAN_COLUMNS} FROM account_plans p \
             WHERE p.account_id IN ({}) AND p.from_month = (SELECT MAX(q.from_month) FROM account_plans q \
             WHERE q.account_id = p.account_id AND q.from_month <= $1)",
            marks.join(", ")
        );
        let mut q = sqlx::query_as::<_, (String, i64, i64, i64, Code<Currency>)>(&sql)
            .bind(month.to_string());
        for id in batch {
            q = q.bind(*id);
        }
        let rows = q.fetch_all(pool).await.context("reading a page's plans")?;
        plans.extend(
            rows.into_iter()
                .map(|(id, p, f, d, c)| (id, plan_of((p, f, d, c)))),
        );
    }
    Ok(plans)
}

/// The accounts whose plan for `month` bills it on a day still to come on `today`: those the
/// run leaves for that day (if they have no invoice for it yet — a closing account's last is
/// made at once). None once the month's latest possible billing day has come.
pub async fn billed_later(
    pool: &sqlx::AnyPool,
    month: BillingMonth,
    today: NaiveDate,
) -> Result<HashSet<String>, ServiceError> {
    if today >= month.charge_date_on(LAST_BILLING_DAY) {
        return Ok(HashSet::new());
    }
    // Before the month's charge dates begin every day is still to come.
    let day = if today < month.charge_date_on(FIRST_BILLING_DAY) {
        0
    } else {
        i64::from(today.day())
    };
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT p.account_id FROM account_plans p WHERE p.billing_day > $1 \
         AND p.from_month = (SELECT MAX(q.from_month) FROM account_plans q \
             WHERE q.account_id = p.account_id AND q.from_month <= $2)",
    )
    .bind(day)
    .bind(month.to_string())
    .fetch_all(pool)
    .await
    .context("reading the accounts whose billing day is to come")?;
    Ok(ids.into_iter().collect())
}
