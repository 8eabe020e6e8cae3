//! Webhooks out (issue 32): the Owner registers endpoints (the secret shown once); a billing
//! run's paid invoice and failed payment, and an account suspended, reach a real receiver
//! that verifies every delivery with the official `standardwebhooks` library
//! (`data/webhook_receiver.py`, run with `TALLY_TEST_WEBHOOK_PYTHON`, which the test command
//! sets); a receiver failing three times then answering 200 gets each event exactly once; a
//! receiver that hangs does not slow a billing run; a delivery is listed and sent again.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use reqwest::Client;
use serde_json::{json, Value};
use tally_core::{billing::BillingMonth, operators::OperatorRole, webhooks::RETRY_SECONDS};
use tally_services::platform::webhooks::{Attempt, ATTEMPT_TIMEOUT};

use crate::{
    both_databases,
    helpers::TestApp,
    invoicing::{account_with, millis},
    operators::enrolled,
};

/// The receiver, stopped when the test ends.
struct Receiver {
    child: Child,
    base: String,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Receiver {
    fn start() -> Self {
        let python = std::env::var("TALLY_TEST_WEBHOOK_PYTHON").unwrap_or_else(|_| {
            panic!(
                "TALLY_TEST_WEBHOOK_PYTHON is not set: run the tests through scripts/test.sh, \
                 which sets it to a Python with the standardwebhooks library"
            )
        });
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/api/data/webhook_receiver.py"
        );
        let mut child = Command::new(python)
            .arg(script)
            .stdout(Stdio::piped())
            .spawn()
            .expect("the webhook receiver starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port: u16 = line.trim().parse().expect("the receiver prints its port");
        Receiver {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    async fn tell_secret(&self, path: &str, secret: &str) {
        let res = reqwest::Client::new()
            .post(format!("{}/secret", self.base))
            .json(&json!({"path": path, "secret": secret}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 204);
    }

    async fn received(&self) -> Vec<Value> {
        reqwest::get(format!("{}/received", self.base))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

/// Registers an endpoint at the receiver's `path` for `events` (their form names); returns
/// its id, after telling the receiver its secret.
async fn register(
    app: &TestApp,
    owner: &Client,
    receiver: &Receiver,
    path: &str,
    events: &[&str],
) -> String {
    let url = format!("{}{path}", receiver.base);
    let mut form = vec![("url", url.as_str())];
    form.extend(events.iter().map(|e| (*e, "on")));
    let res = app.call(owner, "operator/webhooks/create", &form).await;
    assert_eq!(res.status(), 200, "{:?}", res.text().await);
    let made: Value = res.json().await.unwrap();
    let secret = made["secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_"), "{secret}");
    let id = made["row"]["id"].as_str().unwrap().to_owned();
    // Kept sealed, never as shown.
    let stored: String = sqlx::query_scalar("SELECT secret FROM webhook_endpoints WHERE id = $1")
        .bind(&id)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert!(!stored.contains(&secret["whsec_".len()..]));
    receiver.tell_secret(path, secret).await;
    id
}

/// The events each path of the receiver accepted: (path, type, id).
fn accepted(received: &[Value]) -> Vec<(String, String, String)> {
    for r in received {
        assert_eq!(r["verified"], true, "every delivery verifies: {r}");
    }
    received
        .iter()
        .map(|r| {
            (
                r["path"].as_str().unwrap().to_owned(),
                r["type"].as_str().unwrap().to_owned(),
                r["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

both_databases! {
    async fn signed_events_arrive_once_each_after_retries_and_a_hanging_receiver_slows_nothing(app: TestApp) {
        let receiver = Receiver::start();
        app.clock.set(millis(2026, 11, 1) + 3_600_000);
        app.seed_operator(OperatorRole::Owner).await;
        let owner = TestApp::new_client();
        enrolled(&app, &owner, "owner@seller.test").await;

        // Refused beside its fields.
        let res = app.call(&owner, "operator/webhooks/create", &[("url", "ftp://crm.example.com")]).await;
        assert_eq!(res.status(), 422);
        let refused: Value = res.json().await.unwrap();
        assert_eq!(refused["Validation"]["url"], "Enter an address starting with https://.");
        assert_eq!(refused["Validation"]["events"], "Choose at least one event.");

        let ok = register(&app, &owner, &receiver, "/ok", &["invoice_paid", "invoice_payment_failed", "account_suspended", "credit_note_created"]).await;
        let flaky = register(&app, &owner, &receiver, "/flaky", &["invoice_paid"]).await;
        let hang = register(&app, &owner, &receiver, "/hang", &["invoice_created", "invoice_paid"]).await;
        let audit: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE kind = 'webhook_endpoint_added'").fetch_one(app.db.pool()).await.unwrap();
        assert_eq!(audit, 3);

        // October's run: one account paid by card, one without a card whose charge fails.
        let paid = account_with(&app, "paid", 12, Some("tok_sandbox_paid")).await;
        let failing = account_with(&app, "failing", 14, None).await;
        let started = Instant::now();
        app.services.billing_run.run_month(BillingMonth::new(2026, 10).unwrap()).await.unwrap();
        let quiet_run = started.elapsed();

        // The first attempts, in the background: the one to /hang waits for its timeout.
        let services = app.services.clone();
        let first = tokio::spawn(async move { services.webhooks.deliver_due().await.unwrap() });
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert!(!first.is_finished(), "the delivery to /hang is still waiting");
        // Meanwhile a run for two accounts more takes no longer for it (measured).
        account_with(&app, "paid2", 12, Some("tok_sandbox_paid2")).await;
        account_with(&app, "failing2", 14, None).await;
        let started = Instant::now();
        app.services.billing_run.run_month(BillingMonth::new(2026, 10).unwrap()).await.unwrap();
        let run_while_hanging = started.elapsed();
        println!("billing run: {quiet_run:?} with nothing in flight, {run_while_hanging:?} while a receiver hangs");
        assert!(run_while_hanging < ATTEMPT_TIMEOUT / 4, "{run_while_hanging:?}");
        assert!(!first.is_finished(), "measured while the delivery still hung");
        let outcomes = first.await.unwrap();
        let hung: (i32, Option<String>, Option<i64>) = sqlx::query_as(
            "SELECT attempts, last_error, next_attempt_at FROM webhook_deliveries WHERE endpoint_id = $1 AND event_type = 'invoice.paid' AND attempts > 0",
        ).bind(&hang).fetch_one(app.db.pool()).await.unwrap();
        assert_eq!((hung.0, hung.1.as_deref()), (1, Some("No answer within 10 seconds.")));
        assert!(hung.2.is_some(), "retried later");
        assert!(outcomes.iter().any(|(_, a)| matches!(a, Attempt::Retrying(_))));
        // Removed, the hanging endpoint's deliveries are given up and never tried again.
        assert_eq!(app.call(&owner, "operator/webhooks/remove", &[("endpoint_id", hang.as_str())]).await.status(), 200);

        // A suspension, by the seller's staff.
        let res = app.call(&owner, "operator/accounts/suspend", &[("id", failing.as_str()), ("reason", "Unpaid since October")]).await;
        assert_eq!(res.status(), 200, "{:?}", res.text().await);
        app.services.webhooks.deliver_due().await.unwrap();

        // The console lists an endpoint's deliveries with their answers, and sends one again
        // (the same webhook-id, so the receiver can tell it is the same event).
        let list: Value = app.call(&owner, "operator/webhooks/deliveries", &[("endpoint_id", ok.as_str())]).await.json().await.unwrap();
        let list = list.as_array().unwrap().clone();
        assert_eq!(list.len(), 5, "{list:?}");
        assert!(list.iter().all(|d| d["last_status"] == 200 && d["delivered_at"].is_i64()), "{list:?}");
        let again = list[0]["id"].as_str().unwrap();
        assert_eq!(app.call(&owner, "operator/webhooks/redeliver", &[("endpoint_id", ok.as_str()), ("delivery_id", again)]).await.status(), 200);
        app.services.webhooks.deliver_due().await.unwrap();
        // Not through another endpoint, nor one of a removed endpoint.
        assert_eq!(app.call(&owner, "operator/webhooks/redeliver", &[("endpoint_id", flaky.as_str()), ("delivery_id", again)]).await.status(), 404);
        let hung_id: String = sqlx::query_scalar("SELECT id FROM webhook_deliveries WHERE endpoint_id = $1 LIMIT 1").bind(&hang).fetch_one(app.db.pool()).await.unwrap();
        assert_eq!(app.call(&owner, "operator/webhooks/redeliver", &[("endpoint_id", hang.as_str()), ("delivery_id", hung_id.as_str())]).await.status(), 404);
        let kinds: Vec<String> = sqlx::query_scalar("SELECT kind FROM audit_events WHERE kind LIKE 'webhook_%' ORDER BY at, id").fetch_all(app.db.pool()).await.unwrap();
        assert_eq!(kinds.iter().filter(|k| *k == "webhook_endpoint_removed").count(), 1);
        assert_eq!(kinds.iter().filter(|k| *k == "webhook_redelivered").count(), 1);

        // The flaky receiver: three 500s, then 200, on the retry schedule.
        for wait in [RETRY_SECONDS[0], RETRY_SECONDS[1], RETRY_SECONDS[2]] {
            app.clock.advance_millis(wait * 1000);
            app.services.webhooks.deliver_due().await.unwrap();
        }
        app.clock.advance_millis(36 * 3_600_000);
        assert!(app.services.webhooks.deliver_due().await.unwrap().is_empty(), "nothing left due");
        let flaky_rows: Vec<(i32, Option<i32>, Option<i64>)> = sqlx::query_as(
            "SELECT attempts, last_status, delivered_at FROM webhook_deliveries WHERE endpoint_id = $1",
        ).bind(&flaky).fetch_all(app.db.pool()).await.unwrap();
        assert_eq!(flaky_rows.len(), 2, "the two paid invoices");
        for row in &flaky_rows {
            assert_eq!((row.0, row.1), (4, Some(200)), "{flaky_rows:?}");
            assert!(row.2.is_some());
        }

        let all = receiver.received().await;
        let got = accepted(&all);
        let at = |path: &str, kind: &str| got.iter().filter(|(p, t, _)| p == path && t == kind).map(|(_, _, id)| id.clone()).collect::<Vec<_>>();
        // Each paid invoice exactly once at the flaky receiver, after its retries.
        let mut flaky_ids = at("/flaky", "invoice.paid");
        assert_eq!(flaky_ids.len(), 2, "{got:?}");
        flaky_ids.dedup();
        assert_eq!(flaky_ids.len(), 2);
        assert_eq!(at("/ok", "invoice.payment_failed").len(), 2);
        let mut suspensions = at("/ok", "account.suspended");
        suspensions.dedup();
        assert_eq!(suspensions.len(), 1, "one suspension (sent again below)");
        assert!(at("/hang", "invoice.created").is_empty());
        // The one sent again came twice, with its first id.
        assert_eq!(got.iter().filter(|(_, _, id)| id == again).count(), 2);
        assert_eq!(at("/ok", "invoice.paid").len() + at("/ok", "invoice.payment_failed").len() + at("/ok", "account.suspended").len(), 6, "five events, one sent twice");
        let suspended = all.iter().find(|r| r["type"] == "account.suspended").unwrap();
        assert_eq!(suspended["data"]["account_id"], failing.as_str());
        assert_eq!(suspended["data"]["reason"], "Unpaid since October");
        let paid_event = all.iter().find(|r| r["type"] == "invoice.paid" && r["data"]["account_id"] == paid.as_str()).unwrap();
        assert_eq!(paid_event["data"]["amount"], "10.00");
        assert_eq!(paid_event["data"]["currency"], "USD");

        // Thirty days on, the finished deliveries are forgotten.
        let kept: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM webhook_deliveries").fetch_one(app.db.pool()).await.unwrap();
        assert_eq!(app.services.webhooks.forget_old().await.unwrap(), 0);
        app.clock.advance_millis(30 * 24 * 3_600_000);
        assert_eq!(app.services.webhooks.forget_old().await.unwrap() as i64, kept);
    }

    async fn a_change_rolled_back_tells_no_endpoint(app: TestApp) {
        // An endpoint for every event; a user added twice with one address: the second is
        // refused, rolled back, and queues nothing.
        sqlx::query("INSERT INTO webhook_endpoints (id, url, events, secret, created_by, created_at) \
                     VALUES ('hook', 'https://crm.example.com/h', 'users.changed', 'sealed', 'Op owner', 0)")
            .execute(app.db.pool()).await.unwrap();
        app.seed_account("acme", &[tally_core::roles::Role::AdministratorWithBilling]).await;
        let cookie = app.session_cookie_for("acme-admin_billing").await;
        let add = || app.call_as(&cookie, "users/create", &[("first_name", "Grace"), ("last_name", "Hopper"), ("email", "grace@acme.test")]);
        assert_eq!(add().await.status(), 200);
        assert_ne!(add().await.status(), 200);
        let queued: Vec<String> = sqlx::query_scalar("SELECT payload FROM webhook_deliveries WHERE endpoint_id = 'hook'").fetch_all(app.db.pool()).await.unwrap();
        assert_eq!(queued.len(), 1, "{queued:?}");
        let payload: Value = serde_json::from_str(&queued[0]).unwrap();
        assert_eq!(payload["type"], "users.changed");
        assert_eq!(payload["data"]["change"], "created");
        assert_eq!(payload["data"]["user_id"].as_str().map(str::len), Some(32));
    }
}
