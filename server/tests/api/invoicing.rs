//! The billing run (issue 7): one invoice per account and month however often it runs, in
//! parallel or killed half-way; charges retried on the schedule with the test clock; past due
//! and back; invoice emails to the billing contact and opted-in billing admins only.

use std::{
    process::{Command, Stdio},
    time::Duration,
};

use rand::Rng;
use serde_json::json;
use tally_core::{
    billing::{date_start_millis, BillingMonth},
    NaiveDate,
};

use crate::{both_databases, helpers::TestApp};

pub(crate) fn millis(y: i32, m: u32, d: u32) -> i64 {
    date_start_millis(NaiveDate::from_ymd_opt(y, m, d).unwrap())
}

fn october() -> BillingMonth {
    BillingMonth::new(2026, 10).unwrap()
}

/// An account `tag` created on Oct 1 with `users` users added on Oct 5 (and, with `card`, a
/// card from the sandbox on file and billing information).
pub(crate) async fn account_with(
    app: &TestApp,
    tag: &str,
    users: i64,
    card: Option<&str>,
) -> String {
    let id = format!("acct-{tag}");
    let oct1 = millis(2026, 10, 1);
    sqlx::query("INSERT INTO accounts (id, name, created_at) VALUES ($1, $2, $3)")
        .bind(&id)
        .bind(format!("Company {tag}"))
        .bind(oct1)
        .execute(app.db.pool())
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO user_count_changes (id, account_id, at, delta) VALUES ($1, $2, $3, $4)",
    )
    .bind(format!("ucc-{tag}"))
    .bind(&id)
    .bind(millis(2026, 10, 5))
    .bind(users)
    .execute(app.db.pool())
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO billing_info (account_id, company_name, contact_name, contact_email, country, line1, city, postal_code, updated_at) \
         VALUES ($1, $2, 'Pat Payer', $3, 'GB', '1 High St', 'London', 'SW1A 1AA', $4)",
    )
    .bind(&id).bind(format!("Company {tag}")).bind(format!("billing@{tag}.test")).bind(oct1)
    .execute(app.db.pool()).await.unwrap();
    if let Some(token) = card {
        sqlx::query(
            "INSERT INTO payment_methods (account_id, gateway_token, brand, last4, exp_month, exp_year, cardholder_name, country, line1, city, postal_code, fingerprint, saved_at) \
             VALUES ($1, $2, 'visa', '4242', 12, 2030, 'Pat Payer', 'GB', '1 High St', 'London', 'SW1A 1AA', 'fp', $3)",
        )
        .bind(&id).bind(token).bind(oct1)
        .execute(app.db.pool()).await.unwrap();
    }
    id
}

/// A page as a signed-in browser loads it.
async fn page_text(app: &TestApp, cookie: &str, path: &str) -> String {
    app.client
        .get(app.url(path))
        .header("Cookie", cookie)
        .header("Accept", "text/html")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn invoices(app: &TestApp, account: &str) -> Vec<(String, i64, String, i64)> {
    sqlx::query_as("SELECT month, amount_cents, status, attempts FROM invoices WHERE account_id = $1 ORDER BY month")
        .bind(account)
        .fetch_all(app.db.pool())
        .await
        .unwrap()
}

both_databases! {
    async fn running_twice_or_at_once_makes_one_invoice_per_account_and_charges_once(app: TestApp) {
        app.clock.set(millis(2026, 11, 1) + 3_600_000);
        let a = account_with(&app, "a", 12, Some("tok_sandbox_a")).await;
        let b = account_with(&app, "b", 3, None).await;
        let inv = &app.services.billing_run;
        let (r1, r2) = tokio::join!(inv.run_month(october()), inv.run_month(october()));
        let (r1, r2) = (r1.unwrap(), r2.unwrap());
        assert_eq!(r1.invoices_created + r2.invoices_created, 2);
        inv.run_month(october()).await.unwrap();
        // 12 users, 10 free, $5.00 each: $10.00, paid. 3 users: a zero invoice, still made.
        assert_eq!(invoices(&app, &a).await, [("2026-10".to_string(), 1000, "paid".to_string(), 1)]);
        assert_eq!(invoices(&app, &b).await, [("2026-10".to_string(), 0, "zero".to_string(), 0)]);
        let charges: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sandbox_charges").fetch_one(app.db.pool()).await.unwrap();
        assert_eq!(charges, 1);
        // Each invoice emailed once to its billing contact.
        let to_a = app.outbox_messages().iter().filter(|m| m.contains("To: billing@a.test") && m.contains("invoice")).count();
        assert_eq!(to_a, 1);
        // A month that has not ended cannot be billed.
        assert!(inv.run_month(BillingMonth::new(2026, 11).unwrap()).await.is_err());
    }

    async fn failed_charges_retry_on_schedule_then_past_due_until_a_new_card_pays(app: TestApp) {
        app.clock.set(millis(2026, 11, 1) + 3_600_000);
        let acct = account_with(&app, "acme", 15, Some("tok_sandbox_fails_x")).await;
        sqlx::query("INSERT INTO admins (id, account_id, email, email_key, first_name, last_name, role, status, password_hash, created_at, updated_at) \
                     VALUES ('owner', $1, 'owner@acme.test', 'owner@acme.test', 'O', 'W', 'admin_billing', 'active', $2, 0, 0)")
            .bind(&acct).bind(tally_services::platform::crypto::hash_password(crate::helpers::TEST_PASSWORD))
            .execute(app.db.pool()).await.unwrap();
        let inv = &app.services.billing_run;
        inv.run_month(october()).await.unwrap();
        assert_eq!(invoices(&app, &acct).await[0].2, "failed");
        let failures = || app.outbox_messages().iter().filter(|m| m.contains("Payment failed")).count();
        assert_eq!(failures(), 1);
        // Nothing is due before the retry day (the day after the first failure).
        app.clock.advance_minutes(22 * 60);
        assert_eq!(app.services.charging.retry_due().await.unwrap(), 0);
        // Retries after 1, 3 and 7 days; after the last, past due.
        for (day, status) in [(1, "failed"), (3, "failed"), (7, "past_due")] {
            app.clock.set(millis(2026, 11, 1 + day) + 1);
            assert_eq!(app.services.charging.retry_due().await.unwrap(), 1, "day {day}");
            assert_eq!(invoices(&app, &acct).await[0].2, status, "day {day}");
        }
        assert_eq!(invoices(&app, &acct).await[0].3, 4);
        assert_eq!(failures(), 4, "the billing contact is told each time");
        let past_due: i64 = sqlx::query_scalar("SELECT CAST(CASE WHEN past_due THEN 1 ELSE 0 END AS BIGINT) FROM accounts WHERE id = $1")
            .bind(&acct).fetch_one(app.db.pool()).await.unwrap();
        assert_eq!(past_due, 1);
        // Nothing more happens on its own.
        app.clock.advance_minutes(30 * 24 * 60);
        assert_eq!(app.services.charging.retry_due().await.unwrap(), 0);

        // Billing admins see a banner on every page until a charge succeeds.
        let cookie = app.session_cookie_for("owner").await;
        assert!(page_text(&app, &cookie, "/users").await.contains("Your account is past due"));
        // A new card through the modal's server function pays it at once.
        let body = json!({
            "payment": { "cardholder_name": "Pat Payer", "same_as_billing": true,
                         "address": { "country": "", "line1": "", "line2": "", "city": "", "region": "", "postal_code": "" } },
            "card": { "number": "4242 4242 4242 4242", "expiry": "12/30", "cvc": "123" }, // test number
            "idempotency_key": "new-card",
        });
        assert_eq!(app.save_card(&cookie, &body).await.status(), 200);
        let after = invoices(&app, &acct).await;
        assert_eq!((after[0].2.as_str(), after[0].3), ("paid", 5));
        let past_due: i64 = sqlx::query_scalar("SELECT CAST(CASE WHEN past_due THEN 1 ELSE 0 END AS BIGINT) FROM accounts WHERE id = $1")
            .bind(&acct).fetch_one(app.db.pool()).await.unwrap();
        assert_eq!(past_due, 0);
        let fresh = app.session_cookie_for("owner").await;
        assert!(!page_text(&app, &fresh, "/users").await.contains("Your account is past due"));
        let attempts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM charge_attempts WHERE account_id = $1").bind(&acct).fetch_one(app.db.pool()).await.unwrap();
        assert_eq!(attempts, 5);
        let audited: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE account_id = $1 AND kind IN ('charge_failed', 'charge_succeeded')")
            .bind(&acct).fetch_one(app.db.pool()).await.unwrap();
        assert_eq!(audited, 5);
    }

    async fn each_account_is_billed_on_its_plans_day_and_a_closed_one_leaves_no_month_due(app: TestApp) {
        let nov = BillingMonth::new(2026, 11).unwrap();
        app.clock.set(millis(2026, 11, 1) + 3_600_000);
        let first = account_with(&app, "first", 12, Some("tok_sandbox_first")).await;
        let later = account_with(&app, "later", 13, Some("tok_sandbox_later")).await;
        let gone = account_with(&app, "gone", 14, None).await;
        sqlx::query("INSERT INTO account_plans (account_id, from_month, price_per_user_cents, free_users, billing_day, created_at) VALUES ($1, '2026-10', 500, 10, 15, $2)")
            .bind(&later).bind(millis(2026, 10, 1)).execute(app.db.pool()).await.unwrap();
        // Closed on October 20: billed for October, never again.
        sqlx::query("UPDATE accounts SET status = 'closed', closed_at = $1 WHERE id = $2")
            .bind(millis(2026, 10, 20)).bind(&gone).execute(app.db.pool()).await.unwrap();
        sqlx::query("INSERT INTO admins (id, account_id, email, email_key, first_name, last_name, role, status, created_at, updated_at) \
                     VALUES ('pat', $1, 'pat@later.test', 'pat@later.test', 'P', 'L', 'admin_billing', 'active', 0, 0)")
            .bind(&later).execute(app.db.pool()).await.unwrap();
        // A session of the moment: the clock moves by weeks.
        let overview = || async {
            let pat = app.session_cookie_for("pat").await;
            let res = app.call_as(&pat, "billing/overview", &[]).await;
            assert_eq!(res.status(), 200);
            res.json::<serde_json::Value>().await.unwrap()
        };
        let o = overview().await;
        assert_eq!((o["billing_day"].as_u64(), o["next_charge_date"].as_str()), (Some(15), Some("2026-11-15")), "{o}");

        // November 1: October is billed for those on the 1st; the one on the 15th waits.
        let inv = &app.services.billing_run;
        assert_eq!(inv.months_to_catch_up().await.unwrap(), [october()]);
        let report = inv.run_month(october()).await.unwrap();
        assert_eq!((report.accounts, report.invoices_created, report.waiting), (3, 2, 1));
        assert_eq!(invoices(&app, &first).await.len(), 1);
        assert!(invoices(&app, &later).await.is_empty());
        assert!(inv.months_to_catch_up().await.unwrap().is_empty(), "nothing is due until the 15th");
        app.clock.set(millis(2026, 11, 14) + 23 * 3_600_000);
        app.services.scheduler.tick().await.unwrap();
        assert!(invoices(&app, &later).await.is_empty(), "still the 14th");

        // November 15: its turn, invoiced and charged that day.
        app.clock.set(millis(2026, 11, 15) + 3_600_000);
        assert_eq!(inv.months_to_catch_up().await.unwrap(), [october()]);
        app.services.scheduler.tick().await.unwrap();
        assert_eq!(invoices(&app, &later).await, [("2026-10".to_string(), 1500, "paid".to_string(), 1)]);
        let made: i64 = sqlx::query_scalar("SELECT created_at FROM invoices WHERE account_id = $1").bind(&later).fetch_one(app.db.pool()).await.unwrap();
        assert_eq!(made, millis(2026, 11, 15) + 3_600_000);
        assert!(inv.months_to_catch_up().await.unwrap().is_empty());
        let o = overview().await;
        assert_eq!(o["next_charge_date"], "2026-12-15", "{o}");

        // December 2: November for the account on the 1st. The closed account is not billed
        // and does not keep November due: another pass runs nothing.
        app.clock.set(millis(2026, 12, 2));
        assert_eq!(inv.months_to_catch_up().await.unwrap(), [nov]);
        app.services.scheduler.tick().await.unwrap();
        assert!(inv.months_to_catch_up().await.unwrap().is_empty());
        let runs = || async {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM audit_events WHERE kind = 'billing_run'").fetch_one(app.db.pool()).await.unwrap()
        };
        let before = runs().await;
        app.services.scheduler.tick().await.unwrap();
        assert_eq!(runs().await, before, "no run while nothing is due");
        assert_eq!(invoices(&app, &first).await.len(), 2);
        assert_eq!(invoices(&app, &gone).await.len(), 1);
        app.clock.set(millis(2026, 12, 15) + 60_000);
        app.services.scheduler.tick().await.unwrap();
        assert_eq!(invoices(&app, &later).await.len(), 2);
        assert!(inv.months_to_catch_up().await.unwrap().is_empty());
    }

    async fn missed_months_are_caught_up_and_invoices_reach_the_opted_in_only(app: TestApp) {
        app.clock.set(millis(2026, 12, 2));
        let acct = account_with(&app, "acme", 11, Some("tok_sandbox_ok")).await;
        for (id, role, opted) in [("in", "admin_billing", true), ("out", "command_runner_billing", false), ("nobill", "admin", true)] {
            sqlx::query("INSERT INTO admins (id, account_id, email, email_key, first_name, last_name, role, status, receives_invoices, created_at, updated_at) \
                         VALUES ($1, $2, $3, $3, 'A', 'B', $4, 'active', $5, 0, 0)")
                .bind(id).bind(&acct).bind(format!("{id}@acme.test")).bind(role).bind(opted)
                .execute(app.db.pool()).await.unwrap();
        }
        let inv = &app.services.billing_run;
        let due = inv.months_to_catch_up().await.unwrap();
        assert_eq!(due, [october(), BillingMonth::new(2026, 11).unwrap()]);
        app.services.scheduler.tick().await.unwrap();
        assert_eq!(invoices(&app, &acct).await.len(), 2);
        assert!(inv.months_to_catch_up().await.unwrap().is_empty());
        let to: Vec<String> = app.outbox_messages().iter()
            .filter(|m| m.contains("Your Tally invoice"))
            .map(|m| m.lines().find(|l| l.starts_with("To: ")).unwrap().to_string())
            .collect();
        assert_eq!(to.len(), 4, "{to:?}");
        assert!(to.iter().all(|t| t == "To: billing@acme.test" || t == "To: in@acme.test"), "{to:?}");
    }
}

/// 50 times: a `tally bill` child process killed at a random moment of its run; then one run
/// to the end. Exactly one invoice per account and month, no invoice charged twice, and the
/// invoices numbered 1 to n without a gap.
async fn killed_runs_leave_one_invoice_and_no_double_charge(app: TestApp, database_url: String) {
    let accounts = 12;
    for i in 0..accounts {
        let card = if i % 4 == 3 {
            "tok_sandbox_fails_k"
        } else {
            "tok_sandbox_ok"
        };
        account_with(&app, &format!("k{i}"), 10 + i, Some(card)).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let secret_key = app.secret_key();
    let run = |kill_after: Option<Duration>| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tally"))
            .args(["bill", "--month", "2026-10"])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", &database_url)
            .env("TALLY_SECRET_KEY", &secret_key)
            .env("TALLY_DATA_DIR", dir.path())
            .env("RUST_LOG", "off")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("run tally bill");
        match kill_after {
            Some(after) => {
                std::thread::sleep(after);
                let _ = child.kill();
                let _ = child.wait();
            }
            None => assert!(child.wait().unwrap().success(), "the last run completes"),
        }
    };
    // How long a whole run takes here, to kill inside it.
    let started = std::time::Instant::now();
    run(None);
    let whole = started.elapsed().as_millis().max(20) as u64;
    sqlx::query("DELETE FROM document_series")
        .execute(app.db.pool())
        .await
        .unwrap();
    sqlx::query("DELETE FROM charge_attempts")
        .execute(app.db.pool())
        .await
        .unwrap();
    sqlx::query("DELETE FROM invoices")
        .execute(app.db.pool())
        .await
        .unwrap();
    sqlx::query("DELETE FROM sandbox_charges")
        .execute(app.db.pool())
        .await
        .unwrap();
    // Two processes at once: still one invoice per account and one charge per invoice.
    let both: Vec<_> = (0..2)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_tally"))
                .args(["bill", "--month", "2026-10"])
                .env_clear()
                .env("PATH", std::env::var("PATH").unwrap_or_default())
                .env("DATABASE_URL", &database_url)
                .env("TALLY_SECRET_KEY", &secret_key)
                .env("TALLY_DATA_DIR", dir.path())
                .env("RUST_LOG", "off")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("run tally bill")
        })
        .collect();
    for mut child in both {
        assert!(child.wait().unwrap().success());
    }
    let invoices: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM invoices")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(invoices, accounts, "two processes at once");
    let charges: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sandbox_charges")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    let paid: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM invoices WHERE status = 'paid'")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(charges, paid, "one charge per paid invoice");
    crate::numbering::assert_numbered_without_gaps(&app, accounts).await;
    sqlx::query("DELETE FROM document_series")
        .execute(app.db.pool())
        .await
        .unwrap();
    sqlx::query("DELETE FROM charge_attempts")
        .execute(app.db.pool())
        .await
        .unwrap();
    sqlx::query("DELETE FROM invoices")
        .execute(app.db.pool())
        .await
        .unwrap();
    sqlx::query("DELETE FROM sandbox_charges")
        .execute(app.db.pool())
        .await
        .unwrap();

    let mut rng = rand::thread_rng();
    for _ in 0..50 {
        run(Some(Duration::from_millis(rng.gen_range(0..whole))));
    }
    run(None);
    let per_account: Vec<(String, i64)> = sqlx::query_as(
        "SELECT account_id, COUNT(*) FROM invoices WHERE month = '2026-10' GROUP BY account_id",
    )
    .fetch_all(app.db.pool())
    .await
    .unwrap();
    assert_eq!(per_account.len() as i64, accounts);
    assert!(per_account.iter().all(|(_, n)| *n == 1), "{per_account:?}");
    // 50 runs killed at random moments gave back every number they had taken.
    crate::numbering::assert_numbered_without_gaps(&app, accounts).await;
    let ids: Vec<(String, String)> = sqlx::query_as("SELECT id, status FROM invoices")
        .fetch_all(app.db.pool())
        .await
        .unwrap();
    for (id, status) in ids {
        let charged: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM sandbox_charges WHERE idempotency_key LIKE $1",
        )
        .bind(format!("invoice-{id}-%"))
        .fetch_one(app.db.pool())
        .await
        .unwrap();
        assert!(charged <= 1, "invoice {id} charged {charged} times");
        assert_eq!(
            charged == 1,
            status == "paid",
            "invoice {id}: {status}, {charged} charges"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_runs_sqlite() {
    let app = TestApp::spawn(tally_services::platform::db::Backend::Sqlite).await;
    let url = app.database_url.clone();
    killed_runs_leave_one_invoice_and_no_double_charge(app, url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_runs_postgres() {
    let app = TestApp::spawn(tally_services::platform::db::Backend::Postgres).await;
    let url = app.database_url.clone();
    killed_runs_leave_one_invoice_and_no_double_charge(app, url).await;
}

both_databases! {
    async fn billing_page_endpoints_follow_the_matrix_and_stay_in_their_account(app: TestApp) {
        use tally_core::roles::{allows, Action, ALL_ROLES};
        app.clock.set(millis(2026, 11, 1) + 3_600_000);
        let acme = app.seed_account("acme", &ALL_ROLES).await;
        sqlx::query("UPDATE accounts SET created_at = $1 WHERE id = $2").bind(millis(2026, 10, 1)).bind(&acme).execute(app.db.pool()).await.unwrap();
        let other = account_with(&app, "other", 14, Some("tok_sandbox_ok")).await;
        app.services.billing_run.run_month(october()).await.unwrap();
        let ours: String = sqlx::query_scalar("SELECT id FROM invoices WHERE account_id = $1").bind(&acme).fetch_one(app.db.pool()).await.unwrap();
        let theirs: String = sqlx::query_scalar("SELECT id FROM invoices WHERE account_id = $1").bind(&other).fetch_one(app.db.pool()).await.unwrap();
        sqlx::query("INSERT INTO billing_info (account_id, company_name, contact_name, contact_email, country, line1, city, postal_code, updated_at) \
                     VALUES ($1, 'Acme', 'Pat', 'billing@acme.test', 'GB', '1 High St', 'London', 'SW1A 1AA', 0)")
            .bind(&acme).execute(app.db.pool()).await.unwrap();
        for role in ALL_ROLES {
            let c = app.session_cookie_for(&format!("acme-{}", role.code())).await;
            let view = if allows(role, Action::ViewBilling) { 200 } else { 403 };
            assert_eq!(app.call_as(&c, "billing/overview", &[]).await.status().as_u16(), view, "{role:?}");
            assert_eq!(app.call_as(&c, "billing/invoices", &[]).await.status().as_u16(), view, "{role:?}");
            assert_eq!(app.call_as(&c, "billing/invoice", &[("id", &ours)]).await.status().as_u16(), view, "{role:?}");
            let pdf = app.client.get(app.url(&format!("/billing/invoices/{ours}/pdf"))).header("Cookie", &c).send().await.unwrap();
            assert_eq!(pdf.status().as_u16(), view, "pdf as {role:?}");
            let copy = if allows(role, Action::RequestInvoiceCopy) { 200 } else { 403 };
            assert_eq!(app.call_as(&c, "billing/request-copy", &[("id", &ours)]).await.status().as_u16(), copy, "{role:?}");
            let opt = if allows(role, Action::ReceiveInvoiceEmails) { 200 } else { 403 };
            assert_eq!(app.call_as(&c, "billing/receive-invoices", &[("on", "true")]).await.status().as_u16(), opt, "{role:?}");
            if view == 200 {
                // Another account's invoice: not found, by any door.
                assert_eq!(app.call_as(&c, "billing/invoice", &[("id", &theirs)]).await.status(), 404);
                assert_eq!(app.call_as(&c, "billing/request-copy", &[("id", &theirs)]).await.status(), 404);
                let pdf = app.client.get(app.url(&format!("/billing/invoices/{theirs}/pdf"))).header("Cookie", &c).send().await.unwrap();
                assert_eq!(pdf.status(), 404);
                let list: serde_json::Value = app.call_as(&c, "billing/invoices", &[]).await.json().await.unwrap();
                assert_eq!(list["total"], 1);
            }
        }
        // Copies went to the billing contact only, once per allowed request.
        let copies: Vec<String> = app.outbox_messages().into_iter().filter(|m| m.contains("Copy of your Tally invoice")).collect();
        assert_eq!(copies.len(), 2);
        assert!(copies.iter().all(|m| m.contains("To: billing@acme.test")));
        let pdf = app.client.get(app.url(&format!("/billing/invoices/{ours}/pdf")))
            .header("Cookie", app.session_cookie_for("acme-admin_billing").await).send().await.unwrap();
        assert_eq!(pdf.headers()["content-type"], "application/pdf");
        assert!(pdf.bytes().await.unwrap().starts_with(b"%PDF-"));
    }
}

both_databases! {
    async fn the_projection_counts_from_the_months_opening_and_ignores_other_accounts(app: TestApp) {
        use tally_core::roles::Role;
        app.clock.set(millis(2026, 11, 15));
        let acme = app.seed_account("acme", &[Role::AdministratorWithBilling]).await;
        let other = app.seed_account("other", &[Role::AdministratorWithBilling]).await;
        let at = |d: u32| millis(2026, 11, d);
        // Older history: 12 users in October, one removed; one added at the opening instant
        // itself, which counts in the opening. Then November's own changes, and another
        // account's big change that must not count.
        let changes = [
            (&acme, millis(2026, 10, 5), 12),
            (&acme, millis(2026, 10, 20), -1),
            (&acme, at(1), 2),
            (&acme, at(3), 5),
            (&acme, at(10), -8),
            (&other, at(4), 40),
        ];
        for (i, (account, when, delta)) in changes.into_iter().enumerate() {
            sqlx::query("INSERT INTO user_count_changes (id, account_id, at, delta) VALUES ($1, $2, $3, $4)")
                .bind(format!("change-{i}")).bind(account).bind(when).bind(delta)
                .execute(app.db.pool()).await.unwrap();
        }
        let c = app.session_cookie_for(&format!("acme-{}", Role::AdministratorWithBilling.code())).await;
        let overview: serde_json::Value = app.call_as(&c, "billing/overview", &[]).await.json().await.unwrap();
        assert_eq!(overview["month"], "2026-11", "{overview}");
        assert_eq!(overview["peak_so_far"], 18, "13 at the opening, 18 on the 3rd: {overview}");
        assert_eq!(overview["users_now"], 10, "{overview}");
    }
}

both_databases! {
    async fn the_demo_seed_has_users_a_card_and_an_invoice_history_after_catch_up(app: TestApp) {
        app.clock.set(millis(2026, 11, 26));
        let logins = tally_server::cli::demo::seed(&app.services).await.unwrap().expect("seeded");
        assert_eq!(logins.admins.len(), 7);
        assert!(tally_server::cli::demo::seed(&app.services).await.unwrap().is_none(), "only on an empty database");
        assert_eq!(logins.operators.len(), 4, "an operator of each role");
        app.services.scheduler.tick().await.unwrap();
        let demo: String = sqlx::query_scalar("SELECT id FROM accounts WHERE name = 'Demo Company'").fetch_one(app.db.pool()).await.unwrap();
        let invoices: Vec<(String, i64, String)> = sqlx::query_as("SELECT month, amount_cents, status FROM invoices WHERE account_id = $1 ORDER BY month")
            .bind(&demo).fetch_all(app.db.pool()).await.unwrap();
        let months: Vec<&str> = invoices.iter().map(|i| i.0.as_str()).collect();
        assert_eq!(months, ["2026-07", "2026-08", "2026-09", "2026-10"]);
        assert!(invoices.iter().all(|i| i.2 == "paid" && i.1 > 0), "{invoices:?}");
        let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE account_id = $1").bind(&demo).fetch_one(app.db.pool()).await.unwrap();
        assert_eq!(users, 14);
        // The console's customers: 50 more, with histories of every kind.
        let count = |sql: &'static str| {
            let app = &app;
            async move { sqlx::query_scalar::<_, i64>(sql).fetch_one(app.db.pool()).await.unwrap() }
        };
        assert_eq!(count("SELECT COUNT(*) FROM accounts").await, 51);
        assert_eq!(count("SELECT COUNT(*) FROM accounts WHERE status = 'suspended'").await, 2);
        assert_eq!(count("SELECT COUNT(*) FROM accounts WHERE status = 'closed'").await, 2);
        assert!(count("SELECT COUNT(*) FROM invoices WHERE status = 'paid'").await > 100, "paying customers");
        assert!(count("SELECT COUNT(*) FROM invoices WHERE status = 'failed'").await > 0, "customers without a card");
        assert_eq!(count("SELECT COUNT(*) FROM invoices i JOIN accounts a ON a.id = i.account_id WHERE a.status = 'suspended' AND i.status = 'paid'").await, 0,
            "nothing is charged to a suspended account");
        assert!(count("SELECT COUNT(DISTINCT price_per_user_cents) FROM invoices").await >= 4, "plans of their own");
    }
}

both_databases! {
    async fn every_accounts_peak_is_cores_across_chunks_and_month_edges(app: TestApp) {
        use rand::{rngs::StdRng, SeedableRng};
        use tally_core::billing::{peak_users, CountChange};
        app.clock.set(millis(2026, 11, 1) + 3_600_000);
        // More accounts than one chunk of the run holds, each with a history before the month,
        // at its opening instant, inside it and after it.
        let accounts = 1_100;
        let mut rng = StdRng::seed_from_u64(11);
        let mut expected = std::collections::HashMap::new();
        let (sep1, oct1, nov1) = (millis(2026, 9, 1), millis(2026, 10, 1), millis(2026, 11, 1));
        let mut tx = app.db.pool().begin().await.unwrap();
        for i in 0..accounts {
            let id = format!("acct-{i:05}");
            sqlx::query("INSERT INTO accounts (id, name, created_at) VALUES ($1, $2, $3)")
                .bind(&id).bind(format!("Company {i}")).bind(sep1)
                .execute(&mut *tx).await.unwrap();
            let mut history = Vec::new();
            for j in 0..rng.gen_range(0..8) {
                let at_millis = match rng.gen_range(0..5) {
                    0 => rng.gen_range(sep1..oct1),
                    1 => oct1,
                    2 => nov1,
                    3 => rng.gen_range(nov1..millis(2026, 11, 20)),
                    _ => rng.gen_range(oct1..nov1),
                };
                let delta = rng.gen_range(-2..=15);
                sqlx::query("INSERT INTO user_count_changes (id, account_id, at, delta) VALUES ($1, $2, $3, $4)")
                    .bind(format!("ucc-{i}-{j}")).bind(&id).bind(at_millis).bind(delta)
                    .execute(&mut *tx).await.unwrap();
                history.push(CountChange { at_millis, delta });
            }
            expected.insert(id, peak_users(&history, october()) as i64);
        }
        tx.commit().await.unwrap();
        let report = app.services.billing_run.run_month(october()).await.unwrap();
        assert_eq!(report.invoices_created, accounts);
        let peaks: Vec<(String, i64)> = sqlx::query_as("SELECT account_id, peak_users FROM invoices WHERE month = '2026-10'")
            .fetch_all(app.db.pool()).await.unwrap();
        assert_eq!(peaks.len() as u64, accounts);
        for (account, peak) in peaks {
            assert_eq!(peak, expected[&account], "{account}");
        }
        assert!(expected.values().any(|p| *p > 10), "some invoices have something to charge");
        assert_eq!(app.services.billing_run.run_month(october()).await.unwrap().invoices_created, 0);
    }
}

both_databases! {
    async fn a_card_expiring_before_the_next_charge_is_warned_about_once(app: TestApp) {
        app.clock.set(millis(2026, 10, 15));
        let soon = account_with(&app, "soon", 3, Some("tok_sandbox_soon")).await;
        let later = account_with(&app, "later", 3, Some("tok_sandbox_later")).await;
        // Good to the end of October: the November 1 charge would find it expired.
        sqlx::query("UPDATE payment_methods SET exp_month = 10, exp_year = 2026 WHERE account_id = $1")
            .bind(&soon).execute(app.db.pool()).await.unwrap();
        sqlx::query("UPDATE payment_methods SET exp_month = 11, exp_year = 2026 WHERE account_id = $1")
            .bind(&later).execute(app.db.pool()).await.unwrap();
        // A billing contact who receives payment problems, in German, is warned too, in German.
        sqlx::query(
            "INSERT INTO billing_contacts (id, account_id, name, email, email_key, line, subscriptions, created_at, language) \
             VALUES ('bc-soon', $1, 'Greta', 'greta@soon.test', 'greta@soon.test', 'cc', 'payment_problems', 0, 'de')",
        )
        .bind(&soon).execute(app.db.pool()).await.unwrap();
        let warnings = |to: &str| {
            app.outbox_messages().iter().filter(|m| m.contains(&format!("To: {to}")) && m.contains("expires before the next Tally charge")).count()
        };
        let german = || {
            app.outbox_messages().iter().filter(|m| m.contains("To: greta@soon.test") && m.contains("vor der n=C3=A4chsten Abbuchung am 1. November 2026")).count()
        };
        app.services.scheduler.tick().await.unwrap();
        assert_eq!(warnings("billing@soon.test"), 1);
        assert_eq!(german(), 1, "{:?}", app.outbox_messages().iter().find(|m| m.contains("greta@")));
        assert_eq!(warnings("billing@later.test"), 0, "good through November 30");
        let mail = app.outbox_messages().into_iter().find(|m| m.contains("To: billing@soon.test")).unwrap();
        assert!(mail.contains("November 1, 2026"), "{mail}");
        app.services.scheduler.tick().await.unwrap();
        assert_eq!(warnings("billing@soon.test"), 1, "once per card and charge");
        // After October's charge the next is December 1: now the November card is warned about.
        app.clock.set(millis(2026, 11, 2));
        app.services.scheduler.tick().await.unwrap();
        assert_eq!(warnings("billing@later.test"), 1);
        assert_eq!(warnings("billing@soon.test"), 2, "still expired before the next charge");
        // A new card clears the warning's record, and a good one is not warned about.
        sqlx::query("UPDATE payment_methods SET exp_month = 12, exp_year = 2030, expiry_warned_for = NULL WHERE account_id = $1")
            .bind(&soon).execute(app.db.pool()).await.unwrap();
        app.services.scheduler.tick().await.unwrap();
        assert_eq!(warnings("billing@soon.test"), 2);
        let audited: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE kind = 'card_expiry_warned'")
            .fetch_one(app.db.pool()).await.unwrap();
        assert_eq!(audited, 3 + 2, "one entry per message: Greta is warned with her billing contact");
    }
}
