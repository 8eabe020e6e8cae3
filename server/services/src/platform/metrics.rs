//! The process's metrics, in Prometheus' text format (the server serves them at `/metrics`).
//!
//! Counted as things happen: sign-in outcomes, mail deliveries and failures, billing runs and
//! their phases, charges by result (and, in the HTTP layer, requests). Read at each scrape:
//! the database pool's connections and the mail waiting in the outbox ([`render`]).

use std::{sync::OnceLock, time::Duration};

use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use super::context::Context;

/// Latency buckets, in seconds: 1 ms to 10 s.
const BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The process's recorder, installed on first use (one per process: tests start many apps).
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &BUCKETS)
            .expect("the buckets are not empty")
            .build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed; /metrics stays empty");
        }
        handle
    })
}

/// A sign-in's outcome: `session`, `second_step`, `wrong_password`, `unknown_email`,
/// `inactive`, `locked`, `too_long`, `card_number`, `throttled`.
pub fn sign_in(outcome: &'static str) {
    counter!("tally_sign_ins_total", "outcome" => outcome).increment(1);
}

/// A mail delivery's outcome: `sent`, `retrying`, `abandoned`.
pub fn mail_delivery(outcome: &'static str) {
    counter!("tally_mail_deliveries_total", "outcome" => outcome).increment(1);
}

/// A charge's result: `succeeded` or `failed`.
pub fn charge(succeeded: bool) {
    let result = if succeeded { "succeeded" } else { "failed" };
    counter!("tally_charges_total", "result" => result).increment(1);
}

/// A billing run's phase took `took`: `invoice`, `charge`, `mail`.
pub fn billing_phase(phase: &'static str, took: Duration) {
    histogram!("tally_billing_run_phase_seconds", "phase" => phase).record(took.as_secs_f64());
}

/// A billing run ended: `completed` or `failed`, with the invoices it made.
pub fn billing_run(completed: bool, invoices_created: u64) {
    let outcome = if completed { "completed" } else { "failed" };
    counter!("tally_billing_runs_total", "outcome" => outcome).increment(1);
    counter!("tally_invoices_created_total").increment(invoices_created);
}

/// The text a scrape answers with: every metric, with the pool's connections and the mail
/// waiting in the outbox read now.
pub async fn render(ctx: &Context) -> String {
    let pool = ctx.db.pool();
    let idle = pool.num_idle() as f64;
    gauge!("tally_db_pool_connections", "state" => "idle").set(idle);
    gauge!("tally_db_pool_connections", "state" => "in_use").set(f64::from(pool.size()) - idle);
    match ctx.outbox.pending().await {
        Ok(n) => gauge!("tally_mail_outbox_pending").set(n as f64),
        Err(e) => tracing::warn!(error = %e, "metrics: cannot count the outbox"),
    }
    handle().render()
}
