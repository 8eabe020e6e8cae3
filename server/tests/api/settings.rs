//! The seller's settings (issue 31): the Owner saves its details, default plan, retry schedule
//! and automatic suspension, each held to core's rules beside its field; charging follows the
//! schedule, and the scheduler suspends an account unpaid for longer than allowed — audited
//! and emailed — while a setting left blank suspends nobody.

use serde_json::Value;
use tally_core::{billing::BillingMonth, operators::OperatorRole};

use crate::{
    both_databases,
    helpers::TestApp,
    invoicing::{account_with, millis},
    operators::{enrolled, seed_seller, settings_form},
};

fn with(changes: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    let mut form = settings_form();
    for (k, v) in changes {
        form.retain(|(key, _)| key != k);
        form.push((k, v.to_string()));
    }
    form
}

both_databases! {
    async fn the_owner_sets_retries_and_automatic_suspension_and_billing_follows(app: TestApp) {
        app.clock.set(millis(2026, 11, 1) + 3_600_000);
        seed_seller(&app).await;
        app.seed_operator(OperatorRole::Owner).await;
        let owner = TestApp::new_client();
        let key = enrolled(&app, &owner, "owner@seller.test").await;
        let save = |form: Vec<(&'static str, String)>| {
            let (app, owner) = (&app, owner.clone());
            async move {
                let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
                app.call(&owner, "operator/settings/save", &form).await
            }
        };
        // As the form starts: the standard schedule, no automatic suspension.
        let start: Value = app.call(&owner, "operator/settings/get", &[]).await.json().await.unwrap();
        assert_eq!((start["retry_days"].as_str(), start["auto_suspend_days"].as_str()), (Some("1, 3, 7"), Some("")));
        assert_eq!(start["seller"]["legal_name"], "Tally Seller Ltd");
        // Each wrong field is named with core's words.
        let bad = save(with(&[("retry_days", "3, 1"), ("auto_suspend_days", "0"), ("legal_name", " ")])).await;
        assert_eq!(bad.status(), 422);
        let errors: Value = bad.json().await.unwrap();
        assert_eq!(errors["Validation"]["retry_days"], "List the days in order, each later than the one before, such as 1, 3, 7.");
        assert!(errors["Validation"]["auto_suspend_days"].is_string() && errors["Validation"]["legal_name"].is_string(), "{errors}");
        let res = save(with(&[("legal_name", "Tally Seller Group Ltd"), ("retry_days", "2, 5"), ("auto_suspend_days", "10"), ("price_per_user", "6.50")])).await;
        assert_eq!(res.status(), 200, "{:?}", res.text().await);
        let now: Value = app.call(&owner, "operator/settings/get", &[]).await.json().await.unwrap();
        assert_eq!((now["retry_days"].as_str(), now["auto_suspend_days"].as_str()), (Some("2, 5"), Some("10")));
        assert_eq!(now["seller"]["plan"]["price_per_user"], "6.50");
        let logged: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE kind = 'seller_settings_changed' AND account_id IS NULL")
            .fetch_one(app.db.pool()).await.unwrap();
        assert_eq!(logged, 1);

        // A failed charge is tried again 2 days later, then 5, then the account is past due.
        let late = account_with(&app, "late", 15, Some("tok_sandbox_fails_l")).await;
        let paying = account_with(&app, "paying", 15, Some("tok_sandbox_paying")).await;
        app.services.billing_run.run_month(BillingMonth::new(2026, 10).unwrap()).await.unwrap();
        let next: Option<i64> = sqlx::query_scalar("SELECT next_attempt_at FROM invoices WHERE account_id = $1").bind(&late).fetch_one(app.db.pool()).await.unwrap();
        assert_eq!(next, Some(millis(2026, 11, 3)), "two days after the first failure");

        // Nine days on: not yet. Eleven: the scheduler suspends it, audited and emailed.
        let standing = |id: String| {
            let app = &app;
            async move {
                sqlx::query_as::<_, (String, Option<String>)>("SELECT status, status_reason FROM accounts WHERE id = $1")
                    .bind(id).fetch_one(app.db.pool()).await.unwrap()
            }
        };
        app.clock.set(millis(2026, 11, 10) + 3_600_000);
        app.services.scheduler.tick().await.unwrap();
        assert_eq!(standing(late.clone()).await.0, "active");
        app.clock.set(millis(2026, 11, 12) + 3_600_000);
        // Two servers' passes at once suspend it once: one audit event, one email.
        let (a, b) = tokio::join!(app.services.standing.suspend_overdue(), app.services.standing.suspend_overdue());
        assert_eq!(a.unwrap() + b.unwrap(), 1);
        app.services.scheduler.tick().await.unwrap();
        let suspended: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE account_id = $1 AND kind = 'account_suspended'")
            .bind(&late).fetch_one(app.db.pool()).await.unwrap();
        assert_eq!(suspended, 1);
        assert_eq!(app.outbox_messages().iter().filter(|m| m.contains("To: billing@late.test") && m.contains("suspended")).count(), 1);
        let (status, reason) = standing(late.clone()).await;
        assert_eq!(status, "suspended");
        assert!(reason.unwrap().contains("unpaid more than 10 days"));
        assert_eq!(standing(paying.clone()).await.0, "active", "a paying account is left alone");
        let by: Option<String> = sqlx::query_scalar("SELECT actor_email FROM audit_events WHERE account_id = $1 AND kind = 'account_suspended'")
            .bind(&late).fetch_one(app.db.pool()).await.unwrap();
        assert_eq!(by, None, "done by the scheduler, not by a person");
        assert!(app.outbox_messages().iter().any(|m| m.contains("To: billing@late.test") && m.contains("suspended")));
        // With the setting blank (the Owner signs in again, days later), nobody is suspended.
        let again = TestApp::new_client();
        app.call(&again, "operator/sign-in", &[("email", "owner@seller.test"), ("password", crate::helpers::TEST_PASSWORD)]).await;
        let code = crate::authenticator::totp(&key, app.clock_now() / 1000);
        assert_eq!(app.call(&again, "operator/second-step", &[("code", code.as_str())]).await.status(), 200);
        let form = with(&[("auto_suspend_days", "")]);
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(app.call(&again, "operator/settings/save", &form).await.status(), 200);
        sqlx::query("UPDATE accounts SET status = 'active' WHERE id = $1").bind(&late).execute(app.db.pool()).await.unwrap();
        app.services.scheduler.tick().await.unwrap();
        assert_eq!(standing(late).await.0, "active");
    }
}
