//! Each ended month's figures as the revenue page adds them up (owner of
//! `invoice_month_figures`): kept once added up, so the page reads a year of 100,000 accounts'
//! invoices as a few rows. A kept figure is read only while nothing changed the month since:
//! invoicing a month or voiding one of its invoices counts a change in the same transaction
//! ([`changed`]), and a figure is kept with the count of changes read before it was added up.
//! A month's payments and refunds are recorded when they happen, so an ended month's
//! collected amount no longer changes.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use sqlx::{Any, Executor};
use tally_core::money::Currency;

use crate::platform::error::{ResultExt, ServiceError};

/// A month's figures in one currency.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figures {
    pub invoiced_cents: i64,
    pub users_billed: i64,
    pub accounts_invoiced: i64,
    pub collected_cents: i64,
}

/// A month's figures, in each currency it had any in.
pub type MonthFigures = BTreeMap<Currency, Figures>;

/// What is kept of `months`: the figures still good, and for every month the count of
/// changes so far (0 for a month never changed), to keep a newly added-up figure with.
/// Figures kept before currencies (no `figures_json`) are not good.
pub async fn kept(
    pool: &sqlx::AnyPool,
    months: &[String],
) -> Result<(HashMap<String, MonthFigures>, HashMap<String, i64>), ServiceError> {
    if months.is_empty() {
        return Ok(Default::default());
    }
    let marks: Vec<String> = (1..=months.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT month, changes, computed_changes, figures_json \
         FROM invoice_month_figures WHERE month IN ({})",
        marks.join(", ")
    );
    let mut q = sqlx::query_as::<_, (String, i64, Option<i64>, Option<String>)>(&sql);
    for m in months {
        q = q.bind(m);
    }
    let rows = q
        .fetch_all(pool)
        .await
        .context("reading the months' kept figures")?;
    let mut good = HashMap::new();
    let mut changes = HashMap::new();
    for (month, n, computed, json) in rows {
        let figures = json.and_then(|j| serde_json::from_str::<MonthFigures>(&j).ok());
        if let (true, Some(figures)) = (computed == Some(n), figures) {
            good.insert(month.clone(), figures);
        }
        changes.insert(month, n);
    }
    Ok((good, changes))
}

/// Keeps `figures` of `month`, added up after its count of changes was `seen`: a change made
/// meanwhile leaves them unread.
pub async fn keep(
    pool: &sqlx::AnyPool,
    month: &str,
    seen: i64,
    figures: &MonthFigures,
) -> Result<(), ServiceError> {
    let json = serde_json::to_string(figures)
        .map_err(|e| ServiceError::invariant("keeping a month's figures", e.to_string()))?;
    sqlx::query(
        "INSERT INTO invoice_month_figures (month, changes, computed_changes, figures_json) \
         VALUES ($1, $2, $2, $3) ON CONFLICT (month) DO UPDATE SET computed_changes = excluded.computed_changes, \
         figures_json = excluded.figures_json \
         WHERE invoice_month_figures.changes = excluded.changes",
    )
    .bind(month)
    .bind(seen)
    .bind(json)
    .execute(pool)
    .await
    .context("keeping a month's figures")?;
    Ok(())
}

/// Counts a change to `month`'s invoices, in `exec`: the transaction that makes the change.
pub async fn changed<'e, E>(exec: E, month: &str) -> Result<(), ServiceError>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query(
        "INSERT INTO invoice_month_figures (month, changes) VALUES ($1, 1) \
         ON CONFLICT (month) DO UPDATE SET changes = invoice_month_figures.changes + 1",
    )
    .bind(month)
    .execute(exec)
    .await
    .context("counting a change to a month's invoices")?;
    Ok(())
}
