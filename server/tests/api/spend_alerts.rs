//! Spend alerts (issue 34, item 5): an account's billing administrators set an amount and
//! percentages of it; each threshold this month's estimate reaches fires once a month, to the
//! billing contacts who subscribe to spend alerts, and shows on the Overview; a forecast alert
//! fires when the month's pace would pass the amount before it ends.

use serde_json::Value;
use tally_core::roles::Role;

use crate::{both_databases, invoicing::millis, tax::customer};

fn alerts_to<'a>(all: &'a [String], to: &str) -> Vec<&'a String> {
    all.iter()
        .filter(|m| m.contains(&format!("To: {to}")) && m.contains("Tally spend alert"))
        .collect()
}

both_databases! {
    async fn thresholds_fire_once_a_month_to_the_subscribed_contacts_and_a_forecast_warns_ahead(app: TestApp) {
        app.clock.set(millis(2026, 10, 10) + 3_600_000);
        // 12 users from October 5th: (12 − 10 free) × $5.00 = $10.00 so far.
        let acct = customer(&app, "spendy", "GB", None).await;
        let billing = app.session_cookie_for("spendy-admin_billing").await;
        for (name, email, line, subs) in [
            ("Alerts", "alerts@spendy.test", "to", vec!["spend_alerts"]),
            ("Cy Finance", "cfo@spendy.test", "cc", vec!["spend_alerts", "invoices"]),
            ("Ann Payable", "ap@spendy.test", "to", vec!["invoices"]),
        ] {
            let mut form = vec![("contact_name", name), ("contact_email", email), ("contact_line", line)];
            form.extend(subs.iter().map(|s| (*s, "on")));
            assert_eq!(app.call_as(&billing, "billing/save-contact", &form).await.status(), 200);
        }
        let save = |budget: &'static str, thresholds: &'static str, forecast: &'static str| {
            let (app, billing) = (&app, billing.clone());
            async move {
                app.call_as(&billing, "billing/save-spend-alerts", &[
                    ("alert_budget", budget), ("alert_thresholds", thresholds), ("alert_forecast", forecast),
                ]).await
            }
        };
        // Refused in words beside each field; a plain Administrator may not set them.
        let bad = save("0", "80, lots", "").await;
        assert_eq!(bad.status(), 422);
        let errors: Value = bad.json().await.unwrap();
        assert_eq!(errors["Validation"]["alert_budget"], "Enter an amount above zero.");
        assert_eq!(errors["Validation"]["alert_thresholds"], "\u{201c}lots\u{201d} is not a share of the amount: enter whole percentages from 1 to 500, such as 50, 80, 100.");
        app.seed_account("other", &[Role::Administrator]).await;
        let plain = app.session_cookie_for("other-admin").await;
        assert_eq!(app.call_as(&plain, "billing/save-spend-alerts", &[("alert_budget", "5"), ("alert_thresholds", "50")]).await.status(), 403);
        assert_eq!(save("20", "100, 50, 80", "").await.status(), 200);
        let form: Value = app.call_as(&billing, "billing/spend-alerts", &[]).await.json().await.unwrap();
        assert_eq!((form["budget"].as_str(), form["thresholds"].as_str()), (Some("20.00"), Some("50, 80, 100")));

        // $10.00 is 50 % of $20.00: that alert fires, once, to the contacts who receive spend
        // alerts (Cy on its Cc line); Ann, who receives invoices only, gets nothing.
        assert_eq!(app.services.spend_alerts.check_all().await.unwrap(), 1);
        assert_eq!(app.services.spend_alerts.check_all().await.unwrap(), 0, "once");
        app.services.ctx.outbox.deliver_due().await.unwrap();
        let all = app.outbox_messages();
        let sent = alerts_to(&all, "alerts@spendy.test");
        assert_eq!(sent.len(), 1);
        assert!(sent[0].contains("Cc: cfo@spendy.test"), "{}", sent[0]);
        assert!(sent[0].contains("This month's estimate, $10.00, has reached 50 % of your $20.00."), "{}", sent[0]);
        assert!(alerts_to(&all, "ap@spendy.test").is_empty());

        // Two users more the next day: $20.00, so 80 % and 100 % fire; then nothing more.
        app.clock.set(millis(2026, 10, 11) + 3_600_000);
        let billing = app.session_cookie_for("spendy-admin_billing").await;
        for email in ["n1@spendy.test", "n2@spendy.test"] {
            assert_eq!(app.call_as(&billing, "users/create", &[("first_name", "New"), ("last_name", "User"), ("email", email)]).await.status(), 200);
        }
        assert_eq!(app.services.spend_alerts.check_all().await.unwrap(), 2);
        assert_eq!(app.services.spend_alerts.check_all().await.unwrap(), 0);
        let o: Value = app.call_as(&billing, "billing/overview", &[]).await.json().await.unwrap();
        assert_eq!(o["spend_alerts_fired"], serde_json::json!([
            "This month's estimate, $10.00, has reached 50 % of your $20.00.",
            "This month's estimate, $20.00, has reached 80 % of your $20.00.",
            "This month's estimate, $20.00, has reached 100 % of your $20.00.",
        ]));
        let home = app.client.get(app.url("/")).header("Cookie", &billing).header("Accept", "text/html")
            .send().await.unwrap().text().await.unwrap();
        assert!(home.contains("has reached 100 % of your $20.00."), "on the Overview");
        let log: Value = app.call_as(&billing, "audit/list", &[("filter[kind]", "spend_alert_fired"), ("filter[page]", "1")]).await.json().await.unwrap();
        assert_eq!(log["entries"].as_array().unwrap().len(), 3, "{log}");
        let changed: Value = app.call_as(&billing, "audit/list", &[("filter[kind]", "spend_alerts_changed"), ("filter[page]", "1")]).await.json().await.unwrap();
        assert_eq!(changed["entries"][0]["detail"], "at 50 %, 80 % and 100 % of $20.00");

        // A new month: each threshold may fire again, once.
        app.clock.set(millis(2026, 11, 2) + 3_600_000);
        assert_eq!(app.services.spend_alerts.check_all().await.unwrap(), 3, "14 users from the 1st: $20.00");
        assert_eq!(app.services.spend_alerts.check_all().await.unwrap(), 0);

        // The forecast: 20 users added in November's first 10 days, two a day; $100.00 is 20
        // billed users, 30 in all, which that pace reaches on the 15th.
        let pacey = customer(&app, "pacey", "GB", None).await;
        sqlx::query("DELETE FROM user_count_changes WHERE account_id = $1").bind(&pacey).execute(app.db.pool()).await.unwrap();
        sqlx::query("INSERT INTO user_count_changes (id, account_id, at, delta) VALUES ('ucc-pace', $1, $2, 20)")
            .bind(&pacey).bind(millis(2026, 11, 3)).execute(app.db.pool()).await.unwrap();
        app.clock.set(millis(2026, 11, 10) + 3_600_000);
        let pace = app.session_cookie_for("pacey-admin_billing").await;
        let mut form = vec![("contact_name", "Pat"), ("contact_email", "pat@pacey.test"), ("contact_line", "to"), ("spend_alerts", "on")];
        assert_eq!(app.call_as(&pace, "billing/save-contact", &form).await.status(), 200);
        form.clear();
        assert_eq!(app.call_as(&pace, "billing/save-spend-alerts", &[("alert_budget", "100"), ("alert_thresholds", "100"), ("alert_forecast", "on")]).await.status(), 200);
        let before = app.outbox_messages().len();
        assert_eq!(app.services.spend_alerts.check_all().await.unwrap(), 1, "the forecast alone");
        assert_eq!(app.services.spend_alerts.check_all().await.unwrap(), 0);
        app.services.ctx.outbox.deliver_due().await.unwrap();
        let all = app.outbox_messages();
        let warned = alerts_to(&all[before..], "pat@pacey.test");
        assert_eq!(warned.len(), 1);
        assert!(warned[0].contains("At this month's pace (2.0 users a day), the estimate will pass your $100.00 by November 15."), "{}", warned[0]);
        assert!(all[before..].iter().all(|m| !m.contains("spendy.test")), "another account's contacts hear nothing of it: {acct}");
    }
}
