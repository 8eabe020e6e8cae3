//! The peak, explained, and the estimate that is the invoice (issue 34, items 2 and 3): users
//! added and removed through the Users page day after day, an import of many at once, a plan
//! changed in the console during the month; on every day the Billing page's estimate equals
//! the invoice the run makes on the 1st to the cent, and the page, the invoice and its PDF
//! state the peak and the day it was reached.

use serde_json::Value;
use tally_core::{billing::BillingMonth, operators::OperatorRole, roles::Role};

use crate::{
    billing_contact::pdf_text,
    both_databases,
    helpers::TestApp,
    invoicing::millis,
    operators::enrolled,
    tax::{customer, german_seller},
};

both_databases! {
    async fn the_estimate_is_the_invoice_and_the_peak_is_explained(app: TestApp) {
        app.clock.set(millis(2026, 10, 1) + 3_600_000);
        // A German seller: the estimate carries 19 % VAT, as the invoice will.
        german_seller(&app, "DE 19 %").await;
        // 12 users from October 5th (10 free, $5.00 each after), billed in Germany.
        let acct = customer(&app, "peaky", "DE", Some("DE136695976")).await;
        // Sessions expire as the clock moves on: each day signs in afresh.
        let overview = |at: i64| {
            let app = &app;
            async move {
                app.clock.set(at);
                let billing = app.session_cookie_for("peaky-admin_billing").await;
                let o: Value = app.call_as(&billing, "billing/overview", &[]).await.json().await.unwrap();
                o
            }
        };

        // A pseudo-random October: each day at noon some users are added or removed through
        // the Users page (never below zero), and on the 17th a file adds 6 at once.
        let mut seed: u64 = 0x5eed;
        let mut users: Vec<String> = Vec::new();
        let mut estimates = Vec::new();
        for day in 6..=31u32 {
            let noon = millis(2026, 10, day) + 12 * 3_600_000;
            app.clock.set(noon);
            let billing = app.session_cookie_for("peaky-admin_billing").await;
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let roll = (seed >> 33) % 5;
            if day == 17 {
                let csv: String = std::iter::once("first_name,last_name,email".to_string())
                    .chain((0..6).map(|i| format!("Imported,User,imp{i}@peaky.test")))
                    .collect::<Vec<_>>()
                    .join("\n");
                assert_eq!(app.call_as(&billing, "users/import", &[("csv", csv.as_str())]).await.status(), 200);
            } else if roll < 3 {
                for k in 0..=roll {
                    let email = format!("d{day}k{k}@peaky.test");
                    let made: String = app.call_as(&billing, "users/create", &[("first_name", "Day"), ("last_name", "User"), ("email", email.as_str())]).await.json().await.unwrap();
                    users.push(made);
                }
            } else if let Some(id) = users.pop() {
                assert_eq!(app.call_as(&billing, "users/delete", &[("id", id.as_str())]).await.status(), 200);
            }
            if day == 20 {
                // The seller's Finance staff change the plan during the month: it starts with
                // November.
                app.seed_operator(OperatorRole::Finance).await;
                let finance = TestApp::new_client();
                enrolled(&app, &finance, "finance@seller.test").await;
                let set = app.call(&finance, "operator/accounts/set-plan", &[
                    ("id", acct.as_str()), ("price_per_user", "7.00"), ("free_users", "5"),
                ]).await;
                assert_eq!(set.status(), 200, "{:?}", set.text().await);
            }
            let o = overview(noon + 60_000).await;
            assert!(o["projected_cents"].is_i64(), "October {day}: {o}");
            estimates.push((day, o["projected_cents"].as_i64().unwrap(), o["peak_so_far"].as_u64().unwrap()));
        }
        // Before the run, at the end of the month: the page's estimate and its explanation.
        let o = overview(millis(2026, 10, 31) + 23 * 3_600_000).await;
        let billing = app.session_cookie_for("peaky-admin_billing").await;
        let peak = o["peak_so_far"].as_u64().unwrap();
        let reached = o["peak_reached_on"].as_str().unwrap().to_string();
        assert!(peak > 12, "the month rose above its opening: {o}");
        assert_eq!(o["opening_users"], 0, "the account had no users before October 5th");
        let steps = o["peak_steps"].as_array().unwrap();
        let last = steps.last().expect("the changes that set the peak");
        assert_eq!(last["users"].as_u64(), Some(peak));
        assert!(steps.windows(2).all(|w| w[0]["users"].as_u64() < w[1]["users"].as_u64()), "each step a new high: {steps:?}");
        assert!(steps.iter().any(|s| s["change"] == 6), "the import is one step of +6: {steps:?}");
        assert_eq!(o["next_plan"]["price_per_user_cents"], 700, "November's plan");
        assert_eq!(o["price_per_user_cents"], 500, "October stays on its plan");
        let page = app.client.get(app.url("/billing")).header("Cookie", &billing).header("Accept", "text/html")
            .send().await.unwrap().text().await.unwrap();
        let day_name = tally_core::NaiveDate::parse_from_str(&reached, "%Y-%m-%d").unwrap().format("%B %-d").to_string();
        let statement = format!("Peak: {peak} users, first reached on {day_name}; {} users billed after the 10 free.", peak - 10);
        assert!(page.contains(&statement), "{statement} on the Billing page");
        assert!(page.contains("The changes that set the peak"));
        // The what-if without the page's script: a plain search of the page, answered there.
        let asked = app.client.get(app.url("/billing?what_if=add&users=3")).header("Cookie", &billing).header("Accept", "text/html")
            .send().await.unwrap().text().await.unwrap();
        let now_users = o["users_now"].as_u64().unwrap();
        assert!(asked.contains(&format!("Adding 3 users today would make {} users.", now_users + 3)), "the answer, drawn by the server");
        let too_many = app.client.get(app.url(&format!("/billing?what_if=remove&users={}", now_users + 1))).header("Cookie", &billing).header("Accept", "text/html")
            .send().await.unwrap().text().await.unwrap();
        assert!(too_many.contains(&format!("The account has {now_users} users now: remove at most {now_users}.")), "the count's message beside it");

        // The run on November 1st: the invoice is every day's estimate from the day the peak
        // was reached, to the cent.
        app.clock.set(millis(2026, 11, 1) + 3_600_000);
        let billing = app.session_cookie_for("peaky-admin_billing").await;
        app.services.billing_run.run_month(BillingMonth::new(2026, 10).unwrap()).await.unwrap();
        let (number, amount, invoice_peak, on): (String, i64, i64, Option<String>) = sqlx::query_as(
            "SELECT number, amount_cents, peak_users, peak_reached_on FROM invoices WHERE account_id = $1",
        ).bind(&acct).fetch_one(app.db.pool()).await.unwrap();
        assert_eq!((invoice_peak as u64, on.as_deref()), (peak, Some(reached.as_str())));
        // (peak − 10) × $5.00 + 19 %, rounded to the cent.
        let net = (peak as i64 - 10) * 500;
        assert_eq!(amount, net + (net * 19 + 50) / 100, "{net} + 19 %");
        for (day, estimate, so_far) in &estimates {
            if *so_far == peak {
                assert_eq!(*estimate, amount, "October {day}: the estimate was the invoice");
            } else {
                assert!(*estimate < amount, "October {day}: below the peak, below the invoice");
            }
        }
        // The invoice states the peak and the day: its page, its PDF, the API and the webhook.
        let id: String = sqlx::query_scalar("SELECT id FROM invoices WHERE account_id = $1").bind(&acct).fetch_one(app.db.pool()).await.unwrap();
        let shown = app.client.get(app.url(&format!("/billing/invoices/{id}"))).header("Cookie", &billing).header("Accept", "text/html")
            .send().await.unwrap().text().await.unwrap();
        assert!(shown.contains(&statement), "the invoice's page: {statement}");
        let pdf = app.client.get(app.url(&format!("/billing/invoices/{id}/pdf"))).header("Cookie", &billing)
            .send().await.unwrap().bytes().await.unwrap();
        let text = pdf_text(&pdf);
        assert!(text.contains(&format!("Peak users in the period: {peak}, first reached on {day_name}")), "{text}");
        assert!(number.starts_with("INV-2026-"));

        // Another account's administrator cannot read this account's overview; a plain
        // Administrator cannot read billing at all.
        let other = app.seed_account("other", &[Role::AdministratorWithBilling, Role::Administrator]).await;
        let theirs: Value = app.call_as(&app.session_cookie_for("other-admin_billing").await, "billing/overview", &[]).await.json().await.unwrap();
        assert_eq!(theirs["peak_so_far"], 0, "{other}: only its own users");
        assert!(theirs["peak_steps"].as_array().unwrap().is_empty());
        assert_eq!(app.call_as(&app.session_cookie_for("other-admin").await, "billing/overview", &[]).await.status(), 403);
    }
}
