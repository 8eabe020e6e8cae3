//! The seller's revenue, for the console's first page: recurring revenue now and for each of
//! the last 12 months, invoiced against collected, users billed, accounts by standing, what is
//! past due and who owes most. Every figure is read from the invoices themselves, in a few
//! statements over every account (an exception `tests/layers.rs` names).
//!
//! - A month's **invoiced** is the sum of the invoices for that month, voided ones and those
//!   corrected while unpaid left out (an invoice's amount is what was left to pay after any
//!   credit balance, so a paid invoice and its correction add up to the correction's total); the **recurring
//!   revenue now** is the last invoiced month's.
//! - A month's **collected** is the sum of the invoices paid during it (by `paid_at`, UTC, which
//!   only a paid invoice has — by card or by bank transfer), whatever month they were for, less
//!   what credit notes refunded to cards during it.
//! - **Users billed** is each invoice's peak beyond its free users, summed.
//! - **Past due** is every invoice charged and not paid: failed (retries to come), past due
//!   (retries over) and waiting for the cardholder's bank.

use std::collections::BTreeMap;

use tally_core::{
    account_status::AccountStatus,
    actor::OperatorActor,
    billing::{BillingMonth, InvoiceStatus},
    money::{Currency, Money},
    operators::OperatorAction,
    views::operator::{CurrencyRevenue, PastDueAccount, Revenue, RevenueMonth},
};

use super::customers::allowed;
use crate::{
    billing::{
        credit_notes,
        invoices::figures::{self, MonthFigures},
    },
    platform::{
        context::Context,
        db::Code,
        error::{ResultExt, ServiceError},
    },
};

/// How many months the page shows.
pub const MONTHS: usize = 12;
/// How many of the accounts owing most it lists, in each currency.
const MOST_PAST_DUE: usize = 10;

const UNPAID: [InvoiceStatus; 3] = [
    InvoiceStatus::Failed,
    InvoiceStatus::PastDue,
    InvoiceStatus::ActionRequired,
];

#[derive(Clone)]
pub struct RevenueFigures {
    ctx: Context,
}

impl RevenueFigures {
    pub fn new(ctx: Context) -> Self {
        Self { ctx }
    }

    /// A month's figures added up from its invoices, payments and refunds, in each currency,
    /// with the count of the month's changes read before (`seen`, to keep them with).
    async fn add_up(
        &self,
        month: BillingMonth,
        seen: i64,
    ) -> Result<(MonthFigures, i64), ServiceError> {
        let pool = self.ctx.db.pool();
        let invoiced = sqlx::query_as::<_, (Code<Currency>, i64, i64, i64)>(
            "SELECT currency, CAST(COALESCE(SUM(amount_cents), 0) AS BIGINT), \
             CAST(COALESCE(SUM(CASE WHEN peak_users > free_users THEN peak_users - free_users ELSE 0 END), 0) AS BIGINT), \
             COUNT(*) FROM invoices WHERE month = $1 AND status NOT IN ($2, $3) GROUP BY currency",
        )
        .bind(month.to_string())
        .bind(InvoiceStatus::Void.code())
        .bind(InvoiceStatus::Corrected.code())
        .fetch_all(pool);
        // Paid during the month (only a paid invoice has a payment time), less what was
        // refunded during it.
        let paid = sqlx::query_as::<_, (Code<Currency>, i64)>(
            "SELECT currency, CAST(COALESCE(SUM(amount_cents), 0) AS BIGINT) FROM invoices \
             WHERE paid_at >= $1 AND paid_at < $2 GROUP BY currency",
        )
        .bind(month.start_millis())
        .bind(month.end_millis())
        .fetch_all(pool);
        let refunded =
            credit_notes::refunded_between(pool, month.start_millis(), month.end_millis());
        let (invoiced, paid, refunded) = futures::try_join!(
            async { invoiced.await.context("reading a month's invoices") },
            async { paid.await.context("reading a month's payments") },
            refunded,
        )?;
        let mut figures = MonthFigures::new();
        for (currency, cents, users, accounts) in invoiced {
            let f = figures.entry(currency.0).or_default();
            f.invoiced_cents = cents;
            f.users_billed = users;
            f.accounts_invoiced = accounts;
        }
        for (currency, cents) in paid {
            figures.entry(currency.0).or_default().collected_cents += cents;
        }
        for (currency, cents) in refunded {
            figures.entry(currency).or_default().collected_cents -= cents;
        }
        Ok((figures, seen))
    }

    /// The figures as of today (every operator role).
    pub async fn figures(&self, operator: &OperatorActor) -> Result<Revenue, ServiceError> {
        allowed(operator, OperatorAction::ViewConsole)?;
        let pool = self.ctx.db.pool();
        let current = BillingMonth::containing(self.ctx.clock.today());
        let mut months = Vec::with_capacity(MONTHS);
        let mut m = current;
        for _ in 0..MONTHS {
            m = m.previous();
            months.push(m);
        }
        months.reverse();

        // Months that ended before last month keep their figures once added up (a change to
        // one, a run or a void, has them added up again); last month's are read live, since
        // its billing run may still be going on.
        let keys: Vec<String> = months.iter().map(ToString::to_string).collect();
        let settled = &keys[..MONTHS - 1];
        let (kept, changes) = figures::kept(pool, settled).await?;
        let missing: Vec<BillingMonth> = months
            .iter()
            .filter(|m| !kept.contains_key(&m.to_string()))
            .copied()
            .collect();
        let added = futures::future::try_join_all(
            missing
                .iter()
                .map(|m| self.add_up(*m, changes.get(&m.to_string()).copied().unwrap_or(0))),
        )
        .await?;
        let mut by_month: BTreeMap<String, MonthFigures> = kept.into_iter().collect();
        for (m, (f, seen)) in missing.iter().zip(added) {
            let key = m.to_string();
            if settled.contains(&key) {
                figures::keep(pool, &key, seen, &f).await?;
            }
            by_month.insert(key, f);
        }

        let marks = "$1, $2, $3";
        let owed: Vec<(Code<Currency>, i64)> = sqlx::query_as(&format!(
            "SELECT currency, CAST(SUM(amount_cents) AS BIGINT) FROM invoices WHERE status IN ({marks}) GROUP BY currency"
        ))
        .bind(UNPAID[0].code())
        .bind(UNPAID[1].code())
        .bind(UNPAID[2].code())
        .fetch_all(pool)
        .await
        .context("reading what is past due")?;
        // The 10 that owe most in each currency, ranked in the database: the page reads 10
        // rows a currency, however many accounts owe.
        let most: Vec<(String, String, Code<Currency>, i64, String)> = sqlx::query_as(&format!(
            "SELECT account_id, name, currency, due, oldest FROM ( \
               SELECT i.account_id, a.name, i.currency, CAST(SUM(i.amount_cents) AS BIGINT) AS due, MIN(i.month) AS oldest, \
               ROW_NUMBER() OVER (PARTITION BY i.currency ORDER BY SUM(i.amount_cents) DESC, i.account_id) AS place \
               FROM invoices i JOIN accounts a ON a.id = i.account_id WHERE i.status IN ({marks}) \
               GROUP BY i.account_id, a.name, i.currency \
             ) ranked WHERE place <= {MOST_PAST_DUE} ORDER BY due DESC, account_id"
        ))
        .bind(UNPAID[0].code())
        .bind(UNPAID[1].code())
        .bind(UNPAID[2].code())
        .fetch_all(pool)
        .await
        .context("reading the accounts most past due")?;

        // US dollars always (the figures' home before any other currency is billed), then
        // each currency with anything invoiced, collected or owed.
        let mut currencies: Vec<Currency> = vec![Currency::Usd];
        currencies.extend(by_month.values().flat_map(|f| f.keys().copied()));
        currencies.extend(owed.iter().map(|(c, _)| c.0));
        currencies.sort();
        currencies.dedup();
        let by_currency = currencies
            .into_iter()
            .map(|currency| {
                let rows: Vec<RevenueMonth> = keys
                    .iter()
                    .map(|month| {
                        let f = by_month
                            .get(month)
                            .and_then(|f| f.get(&currency))
                            .copied()
                            .unwrap_or_default();
                        RevenueMonth {
                            month: month.clone(),
                            invoiced_cents: f.invoiced_cents,
                            collected_cents: f.collected_cents,
                            users_billed: f.users_billed.max(0) as u64,
                            accounts_invoiced: f.accounts_invoiced.max(0) as u64,
                        }
                    })
                    .collect();
                let mrr_cents = rows
                    .iter()
                    .rev()
                    .find(|r| r.accounts_invoiced > 0)
                    .map_or(0, |r| r.invoiced_cents);
                CurrencyRevenue {
                    currency,
                    mrr_cents,
                    months: rows,
                    past_due_cents: owed
                        .iter()
                        .find(|(c, _)| c.0 == currency)
                        .map_or(0, |(_, n)| *n),
                    most_past_due: most
                        .iter()
                        .filter(|(_, _, c, _, _)| c.0 == currency)
                        .map(|(id, name, _, due, oldest_month)| PastDueAccount {
                            id: id.clone(),
                            name: name.clone(),
                            due: Money::new(*due, currency),
                            oldest_month: oldest_month.clone(),
                        })
                        .collect(),
                }
            })
            .collect();

        let standings: Vec<(String, i64)> =
            sqlx::query_as("SELECT status, COUNT(*) FROM accounts GROUP BY status")
                .fetch_all(pool)
                .await
                .context("counting accounts by standing")?;
        let count = |s: AccountStatus| {
            standings
                .iter()
                .find(|(code, _)| code == s.code())
                .map_or(0, |(_, n)| (*n).max(0) as u64)
        };

        Ok(Revenue {
            currencies: by_currency,
            active: count(AccountStatus::Active),
            suspended: count(AccountStatus::Suspended),
            closed: count(AccountStatus::Closed),
        })
    }
}
