//! Spend alerts (owner of `spend_alerts` and `spend_alerts_fired`): the amount an account's
//! Administrators With Billing set for a month and the shares of it at which this month's
//! estimate raises an alert, and a forecast alert. [`SpendAlertChecks::check_all`] runs every
//! minute: each threshold the estimate has reached, and the forecast, fires once per account
//! and month (a row of `spend_alerts_fired`, taken with `ON CONFLICT DO NOTHING`, in the
//! transaction that queues its email to the billing contacts who subscribe to spend alerts).

use sqlx::{Any, Executor};
use tally_core::{
    actor::Actor,
    audit::AuditKind,
    billing::BillingMonth,
    billing_contacts::Subscription,
    estimate::{explain_peak, month_amounts},
    money::{Currency, Money},
    spend_alerts::{
        forecast_day, forecast_sentence, parse_thresholds, threshold_sentence, SpendAlerts,
        SpendAlertsInput, FORECAST,
    },
};

use super::{info, plans};
use crate::{
    directory::users,
    platform::{
        audit::Event,
        context::Context,
        db::Code,
        error::{ResultExt, ServiceError},
        i18n::{Arg, Words},
        mail::emails,
    },
};

/// What a spend alert says.
enum Said {
    Threshold {
        percent: u32,
        estimate: Money,
        budget: Money,
    },
    Forecast {
        day: chrono::NaiveDate,
        budget: Money,
        /// Users a day.
        pace: f64,
    },
}

impl Said {
    /// As core words it, for the Overview and the audit log.
    fn english(&self) -> String {
        match *self {
            Said::Threshold {
                percent,
                estimate,
                budget,
            } => threshold_sentence(percent, estimate, budget),
            Said::Forecast { day, budget, pace } => forecast_sentence(day, budget, pace),
        }
    }

    /// In `w`'s language, for the email.
    fn said(&self, w: Words) -> String {
        match *self {
            Said::Threshold {
                percent,
                estimate,
                budget,
            } => w.say(
                "alert-threshold",
                &[
                    ("estimate", Arg::from(&w.money(estimate))),
                    ("percent", Arg::Count(i64::from(percent))),
                    ("budget", Arg::from(&w.money(budget))),
                ],
            ),
            Said::Forecast { day, budget, pace } => w.say(
                "alert-forecast",
                &[
                    ("pace", Arg::from(&w.0.decimal(pace, 1))),
                    ("budget", Arg::from(&w.money(budget))),
                    ("day", Arg::from(&w.0.day_month(day))),
                ],
            ),
        }
    }
}

/// A saved row: account, amount, currency, thresholds, forecast (0 or 1).
type AlertRow = (String, i64, Code<Currency>, String, i64);

fn alerts_of((_, budget, currency, thresholds, forecast): &AlertRow) -> Option<SpendAlerts> {
    Some(SpendAlerts {
        budget: Money::new(*budget, currency.0),
        thresholds: parse_thresholds(thresholds).ok()?,
        forecast: *forecast != 0,
    })
}

/// The account's spend alerts, if set, read in `exec`.
pub async fn of_account<'e, E>(
    exec: E,
    account_id: &str,
) -> Result<Option<SpendAlerts>, ServiceError>
where
    E: Executor<'e, Database = Any>,
{
    let row: Option<AlertRow> = sqlx::query_as(
        "SELECT account_id, budget_cents, currency, thresholds, forecast FROM spend_alerts WHERE account_id = $1",
    )
    .bind(account_id)
    .fetch_optional(exec)
    .await
    .context("reading the spend alerts")?;
    Ok(row.as_ref().and_then(alerts_of))
}

/// What the alerts of `month` said, oldest first: the Overview's list.
pub async fn fired<'e, E>(
    exec: E,
    account_id: &str,
    month: BillingMonth,
) -> Result<Vec<String>, ServiceError>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query_scalar(
        "SELECT said FROM spend_alerts_fired WHERE account_id = $1 AND month = $2 ORDER BY fired_at, threshold",
    )
    .bind(account_id)
    .bind(month.to_string())
    .fetch_all(exec)
    .await
    .context("reading this month's spend alerts")
}

/// Setting an account's spend alerts, and checking every account's.
#[derive(Clone)]
pub struct SpendAlertChecks {
    ctx: Context,
}

impl SpendAlertChecks {
    pub fn new(ctx: Context) -> Self {
        Self { ctx }
    }

    /// The caller's account's alerts, if set.
    pub async fn get(&self, actor: &Actor) -> Result<Option<SpendAlerts>, ServiceError> {
        of_account(self.ctx.db.pool(), &actor.account_id).await
    }

    /// Sets the alerts as typed (a blank amount removes them), in the account's currency.
    pub async fn save_typed(
        &self,
        actor: &Actor,
        typed: &SpendAlertsInput,
    ) -> Result<(), ServiceError> {
        if typed.budget.trim().is_empty() {
            return self.save(actor, None).await;
        }
        let month = BillingMonth::containing(self.ctx.clock.today());
        let standard = tally_core::billing::Plan::per_user(self.ctx.settings.price_per_user);
        let plan = plans::for_month(self.ctx.db.pool(), &actor.account_id, month, standard).await?;
        let alerts = typed
            .parse(plan.price_per_user.currency())
            .map_err(ServiceError::Invalid)?;
        self.save(actor, Some(&alerts)).await
    }

    /// Sets (or, with `None`, removes) the caller's account's alerts; audited.
    pub async fn save(
        &self,
        actor: &Actor,
        alerts: Option<&SpendAlerts>,
    ) -> Result<(), ServiceError> {
        let mut work = self.ctx.begin("saving the spend alerts").await?;
        let now = work.now();
        let account = actor.account_id.as_str();
        match alerts {
            Some(a) => {
                sqlx::query(
                    "INSERT INTO spend_alerts (account_id, budget_cents, currency, thresholds, forecast, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (account_id) DO UPDATE SET \
                     budget_cents = excluded.budget_cents, currency = excluded.currency, thresholds = excluded.thresholds, \
                     forecast = excluded.forecast, updated_at = excluded.updated_at",
                )
                .bind(account)
                .bind(a.budget.minor())
                .bind(a.budget.currency().code())
                .bind(
                    a.thresholds
                        .iter()
                        .map(u32::to_string)
                        .collect::<Vec<_>>()
                        .join(","),
                )
                .bind(i64::from(a.forecast))
                .bind(now)
                .execute(work.tx())
                .await
                .context("saving the spend alerts")?;
            }
            None => {
                sqlx::query("DELETE FROM spend_alerts WHERE account_id = $1")
                    .bind(account)
                    .execute(work.tx())
                    .await
                    .context("removing the spend alerts")?;
            }
        }
        work.audit(Event::by(
            actor,
            AuditKind::SpendAlertsChanged,
            "spend alerts",
            match alerts {
                Some(a) => format!(
                    "at {}{}",
                    a.summary(),
                    if a.forecast { ", with a forecast" } else { "" }
                ),
                None => "none".to_string(),
            },
        ));
        work.commit().await
    }

    /// Checks every account's alerts against this month's estimate; returns how many fired.
    pub async fn check_all(&self) -> Result<u64, ServiceError> {
        let pool = self.ctx.db.pool();
        let rows: Vec<AlertRow> = sqlx::query_as(
            "SELECT account_id, budget_cents, currency, thresholds, forecast FROM spend_alerts ORDER BY account_id",
        )
        .fetch_all(pool)
        .await
        .context("reading the accounts' spend alerts")?;
        if rows.is_empty() {
            return Ok(0);
        }
        // The seller's tax registrations once per pass, not once per account.
        let tax = super::settings::read(pool).await?.tax;
        let mut fired = 0;
        for row in &rows {
            if let Some(alerts) = alerts_of(row) {
                fired += self.check(&row.0, &alerts, &tax).await?;
            }
        }
        Ok(fired)
    }

    /// Fires what `account_id`'s `alerts` owe this month and have not said yet, its tax
    /// decided by the seller's registrations `tax`.
    async fn check(
        &self,
        account_id: &str,
        alerts: &SpendAlerts,
        tax: &tally_core::vat::SellerTax,
    ) -> Result<u64, ServiceError> {
        let pool = self.ctx.db.pool();
        let today = self.ctx.clock.today();
        let month = BillingMonth::containing(today);
        let changes = users::history_since(pool, account_id, month.start_millis()).await?;
        let explained = explain_peak(&changes, month);
        let users_now = changes.iter().map(|c| c.delta).sum::<i64>().max(0) as u64;
        let standard = tally_core::billing::Plan::per_user(self.ctx.settings.price_per_user);
        let plan = plans::for_month(pool, account_id, month, standard).await?;
        let billing = info::read(pool, account_id).await?;
        let treatment = tax.treatment_for(billing.as_ref());
        let zero = Money::zero(plan.price_per_user.currency());
        let Some(estimate) =
            month_amounts(&plan, explained.peak, treatment.as_ref(), zero).map(|a| a.gross)
        else {
            return Ok(0);
        };
        let mut due: Vec<(u32, Said)> = alerts
            .crossed(estimate)
            .into_iter()
            .map(|percent| {
                (
                    percent,
                    Said::Threshold {
                        percent,
                        estimate,
                        budget: alerts.budget,
                    },
                )
            })
            .collect();
        if alerts.forecast {
            if let Some(day) = forecast_day(
                month,
                today,
                explained.opening,
                users_now,
                explained.peak,
                &plan,
                treatment.as_ref(),
                alerts.budget,
            ) {
                let pace = users_now.saturating_sub(explained.opening) as f64
                    / f64::from(chrono::Datelike::day(&today));
                due.push((
                    FORECAST,
                    Said::Forecast {
                        day,
                        budget: alerts.budget,
                        pace,
                    },
                ));
            }
        }
        if due.is_empty() {
            return Ok(0);
        }
        let contacts =
            info::contact_lines(pool, account_id, Subscription::SpendAlerts, &[]).await?;
        let mut work = self.ctx.begin("firing spend alerts").await?;
        let now = work.now();
        let url = self.ctx.link("/billing");
        let mut fired = 0;
        for (threshold, alert) in due {
            // The Overview and the audit log read it in English; each contact, in theirs.
            let said = alert.english();
            // Once per threshold and month, however many servers check at once.
            let new: Option<String> = sqlx::query_scalar(
                "INSERT INTO spend_alerts_fired (account_id, month, threshold, said, fired_at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (account_id, month, threshold) DO NOTHING RETURNING account_id",
            )
            .bind(account_id)
            .bind(month.to_string())
            .bind(i64::from(threshold))
            .bind(&said)
            .bind(now)
            .fetch_optional(work.tx())
            .await
            .context("recording a spend alert")?;
            if new.is_none() {
                continue;
            }
            fired += 1;
            work.audit(Event::system(
                AuditKind::SpendAlertFired,
                account_id,
                if threshold == FORECAST {
                    "forecast".to_string()
                } else {
                    format!("{threshold} %")
                },
                said.clone(),
            ));
            for mail in info::addressed_mail(&[], &contacts, |to, w| {
                emails::spend_alert(to, w, &alert.said(w), &url)
            }) {
                work.mail(mail);
            }
        }
        work.commit().await?;
        Ok(fired)
    }

    /// Checks every minute (`TALLY_SPEND_ALERT_SECONDS`), so an alert fires within a minute
    /// or two of its threshold being reached. Runs until the process ends.
    pub async fn work(self) {
        let seconds = self.ctx.settings.spend_alert_seconds.max(1);
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(seconds));
        loop {
            tick.tick().await;
            if let Err(e) = self.check_all().await {
                tracing::error!(error = %e, "spend alerts");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use tally_core::{locale::Locale, money::Currency};

    use super::*;

    #[test]
    fn an_alert_reads_in_english_as_core_says_it_and_in_each_language_as_its_readers_write() {
        let eur = |minor| Money::new(minor, Currency::Eur);
        let threshold = Said::Threshold {
            percent: 80,
            estimate: eur(800_100),
            budget: eur(1_000_000),
        };
        assert_eq!(threshold.said(Words(Locale::En)), threshold.english());
        assert_eq!(
            threshold.said(Words(Locale::De)),
            "Die Sch\u{e4}tzung dieses Monats, 8.001,00\u{a0}\u{20ac}, hat 80 % Ihres Budgets von 10.000,00\u{a0}\u{20ac} erreicht."
        );
        let forecast = Said::Forecast {
            day: chrono::NaiveDate::from_ymd_opt(2026, 11, 15).unwrap(),
            budget: eur(10_000),
            pace: 2.0,
        };
        assert_eq!(forecast.said(Words(Locale::En)), forecast.english());
        assert_eq!(
            forecast.said(Words(Locale::Fr)),
            "Au rythme de ce mois (2,0 utilisateurs par jour), l'estimation d\u{e9}passera votre budget de 100,00\u{a0}\u{20ac} d'ici le 15 novembre."
        );
    }
}
