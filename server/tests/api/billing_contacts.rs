//! Billing contacts (issue 34, item 1): an account's Administrators With Billing keep up to
//! ten people, each on the To or Cc line of the messages they subscribe to; every subscribed
//! contact gets each message, the others none; the Billing page says, per invoice, to whom each
//! message went and whether it arrived, through a failing mail transport and after it mends:
//! an unwritable outbox folder, and a real SMTP server on loopback that refuses, then takes,
//! the mail.

use serde_json::Value;
use tally_core::{billing::BillingMonth, roles::Role};

use crate::{both_databases, invoicing::millis, tax::customer};

/// The form of a contact: `subs` are the boxes ticked.
fn form<'a>(
    name: &'a str,
    email: &'a str,
    line: &'a str,
    subs: &[&'a str],
) -> Vec<(&'a str, &'a str)> {
    let mut f = vec![
        ("contact_name", name),
        ("contact_email", email),
        ("contact_line", line),
    ];
    f.extend(subs.iter().map(|s| (*s, "on")));
    f
}

fn mail_to<'a>(all: &'a [String], to: &str) -> Vec<&'a String> {
    all.iter()
        .filter(|m| m.contains(&format!("To: {to}")))
        .collect()
}

both_databases! {
    async fn contacts_get_what_they_subscribe_to_and_the_billing_page_says_whether_it_arrived(app: TestApp) {
        app.clock.set(millis(2026, 10, 10));
        let acct = customer(&app, "globex", "GB", None).await;
        let billing = app.session_cookie_for("globex-admin_billing").await;
        let save = |f: Vec<(&'static str, &'static str)>| {
            let (app, billing) = (&app, billing.clone());
            async move { app.call_as(&billing, "billing/save-contact", &f).await }
        };

        // Each field is checked, in words beside it; nothing is saved.
        let bad = save(form("", "ap@", "bcc", &[])).await;
        assert_eq!(bad.status(), 422);
        let errors: Value = bad.json().await.unwrap();
        assert_eq!(errors["Validation"]["contact_name"], "Enter the contact's name.");
        assert_eq!(errors["Validation"]["contact_email"], "Enter a single email address, like name@example.com.");
        assert_eq!(errors["Validation"]["contact_line"], "Choose To or Cc.");
        assert_eq!(errors["Validation"]["contact_subscriptions"], "Choose at least one kind of message for this contact.");

        assert_eq!(save(form("Ann Payable", "ap@globex.test", "to", &["invoices", "receipts"])).await.status(), 200);
        assert_eq!(save(form("Carl Finance", "cfo@globex.test", "cc", &["invoices", "payment_problems"])).await.status(), 200);
        assert_eq!(save(form("Alerts", "alerts@globex.test", "to", &["spend_alerts"])).await.status(), 200);
        let twice = save(form("Ann Again", "AP@globex.test", "cc", &["invoices"])).await;
        assert_eq!(twice.status(), 422);
        let errors: Value = twice.json().await.unwrap();
        assert_eq!(errors["Validation"]["contact_email"], "AP@globex.test is already a billing contact.");
        // Ten at most.
        for i in 0..7 {
            let email: &'static str = Box::leak(format!("extra{i}@globex.test").into_boxed_str());
            assert_eq!(save(form("Extra", email, "cc", &["receipts"])).await.status(), 200);
        }
        let full = save(form("Eleventh", "eleven@globex.test", "to", &["invoices"])).await;
        let errors: Value = full.json().await.unwrap();
        assert_eq!(errors["Validation"]["contact_email"], "An account can have at most 10 billing contacts: remove one first.");
        let list: Vec<Value> = app.call_as(&billing, "billing/contacts", &[]).await.json().await.unwrap();
        assert_eq!(list.len(), 10);
        for c in list.iter().filter(|c| c["email"].as_str().unwrap().starts_with("extra")) {
            let res = app.call_as(&billing, "billing/remove-contact", &[("id", c["id"].as_str().unwrap())]).await;
            assert_eq!(res.status(), 200);
        }
        let list: Vec<Value> = app.call_as(&billing, "billing/contacts", &[]).await.json().await.unwrap();
        assert_eq!(list.iter().map(|c| c["email"].as_str().unwrap()).collect::<Vec<_>>(), ["ap@globex.test", "cfo@globex.test", "alerts@globex.test"]);
        assert_eq!(list[1]["line"], "Cc");
        assert_eq!(list[1]["subscriptions"], serde_json::json!(["Invoices", "PaymentProblems"]));
        // An edit keeps its own address and may change the rest.
        let ann = list[0]["id"].as_str().unwrap().to_string();
        let mut edit = form("Ann Payable-Smith", "ap@globex.test", "to", &["invoices", "receipts"]);
        edit.push(("id", Box::leak(ann.clone().into_boxed_str())));
        assert_eq!(save(edit).await.status(), 200);

        // A plain Administrator reads nothing of it and changes nothing; another account's
        // administrator neither sees nor removes them.
        let other = app.seed_account("other", &[Role::AdministratorWithBilling, Role::Administrator]).await;
        let plain = app.session_cookie_for("other-admin").await;
        assert_eq!(app.call_as(&plain, "billing/contacts", &[]).await.status(), 403);
        assert_eq!(app.call_as(&plain, "billing/save-contact", &form("X", "x@other.test", "to", &["invoices"])).await.status(), 403);
        let theirs = app.session_cookie_for("other-admin_billing").await;
        let seen: Vec<Value> = app.call_as(&theirs, "billing/contacts", &[]).await.json().await.unwrap();
        assert!(seen.is_empty(), "{other} sees only its own");
        assert_eq!(app.call_as(&theirs, "billing/remove-contact", &[("id", ann.as_str())]).await.status(), 404);
        // Every change is audited, as the administrator's.
        let log: Value = app.call_as(&billing, "audit/list", &[("filter[kind]", "billing_contacts_changed"), ("filter[page]", "1")]).await.json().await.unwrap();
        let entries = log["entries"].as_array().unwrap();
        assert_eq!(entries.len(), 3 + 7 + 7 + 1, "{log}");
        assert!(entries.iter().any(|e| e["detail"].as_str().unwrap().starts_with("added: Carl Finance <cfo@globex.test> (Cc; Invoices and credit notes, Payment problems)")), "{log}");
        assert!(entries.iter().any(|e| e["detail"] == "removed"));

        // October's run: the billing contact in Billing Information gets the invoice as before,
        // and one more message goes to the contacts who subscribe to invoices, Ann on its To
        // line and Carl on its Cc; the spend-alerts contact gets nothing.
        app.clock.set(millis(2026, 11, 1) + 3_600_000);
        app.services.billing_run.run_month(BillingMonth::new(2026, 10).unwrap()).await.unwrap();
        app.services.ctx.outbox.deliver_due().await.unwrap();
        let all = app.outbox_messages();
        assert_eq!(mail_to(&all, "billing@globex.test").len(), 1);
        let theirs = mail_to(&all, "ap@globex.test");
        assert_eq!(theirs.len(), 1, "one message to the contacts");
        assert!(theirs[0].contains("Cc: cfo@globex.test"), "{}", theirs[0]);
        assert!(theirs[0].contains("Your Tally invoice"), "{}", theirs[0]);
        assert!(theirs[0].contains("application/pdf"), "with its PDF");
        assert!(all.iter().all(|m| !m.contains("alerts@globex.test")), "not subscribed to invoices");
        let billing = app.session_cookie_for("globex-admin_billing").await;
        let page: Value = app.call_as(&billing, "billing/invoices", &[("page", "1")]).await.json().await.unwrap();
        let october = page["invoices"][0]["id"].as_str().unwrap().to_string();
        let sent = &page["deliveries"][&october];
        assert_eq!(sent.as_array().unwrap().len(), 2, "{page}");
        assert_eq!(sent[1]["to"], "ap@globex.test");
        assert_eq!(sent[1]["cc"], serde_json::json!(["cfo@globex.test"]));
        assert!(sent[0]["status"]["Sent"].is_i64() && sent[1]["status"]["Sent"].is_i64(), "{sent}");

        // November: the card is declined and the mail transport fails (its folder unwritable).
        // The payment problem goes to Carl, alone on its To line; the page says each message
        // is being retried, and why.
        sqlx::query("UPDATE payment_methods SET gateway_token = 'tok_sandbox_fails_g' WHERE account_id = $1")
            .bind(&acct).execute(app.db.pool()).await.unwrap();
        let folder = app.outbox.clone();
        std::fs::remove_dir_all(&folder).unwrap();
        std::fs::write(&folder, "not a folder").unwrap();
        app.clock.set(millis(2026, 12, 1) + 3_600_000);
        app.services.billing_run.run_month(BillingMonth::new(2026, 11).unwrap()).await.unwrap();
        app.services.ctx.outbox.deliver_due().await.unwrap();
        let billing = app.session_cookie_for("globex-admin_billing").await;
        let page: Value = app.call_as(&billing, "billing/invoices", &[("page", "1")]).await.json().await.unwrap();
        let november = page["invoices"][0]["id"].as_str().unwrap().to_string();
        assert_eq!(page["invoices"][0]["month"], "2026-11");
        let waiting = page["deliveries"][&november].as_array().unwrap().clone();
        let to: Vec<&str> = waiting.iter().map(|d| d["to"].as_str().unwrap()).collect();
        assert_eq!(to, ["billing@globex.test", "ap@globex.test", "billing@globex.test", "cfo@globex.test"], "invoice, then the payment problem: {waiting:?}");
        for d in &waiting {
            let error = d["status"]["Retrying"].as_str().unwrap_or_else(|| panic!("retrying: {d}"));
            assert!(!error.is_empty());
        }
        let html = app.client.get(app.url("/billing")).header("Cookie", &billing).header("Accept", "text/html")
            .send().await.unwrap().text().await.unwrap();
        assert!(html.contains("ap@globex.test; Cc: cfo@globex.test \u{2014} retrying: "), "the Billing page says so");

        // The transport mends; the next attempts go through and the page says sent.
        std::fs::remove_file(&folder).unwrap();
        std::fs::create_dir(&folder).unwrap();
        app.clock.set(millis(2026, 12, 1) + 5 * 3_600_000);
        app.services.ctx.outbox.deliver_due().await.unwrap();
        let page: Value = app.call_as(&app.session_cookie_for("globex-admin_billing").await, "billing/invoices", &[("page", "1")]).await.json().await.unwrap();
        for d in page["deliveries"][&november].as_array().unwrap() {
            assert!(d["status"]["Sent"].is_i64(), "{d}");
        }
        let all = app.outbox_messages();
        let problem: Vec<&String> = mail_to(&all, "cfo@globex.test");
        assert_eq!(problem.len(), 1, "Carl gets the payment problem, on its To line");
        assert!(!mail_to(&all, "ap@globex.test").iter().any(|m| m.contains("declined")), "Ann does not subscribe to payment problems");
    }
}

both_databases! {
    async fn the_contact_and_alert_forms_sent_before_the_page_is_live_answer_with_a_page(app: TestApp) {
        use crate::plain_forms::plain_post;
        app.clock.set(millis(2026, 10, 10));
        customer(&app, "plainco", "GB", None).await;
        let billing = app.session_cookie_for("plainco-admin_billing").await;
        // Refused: the Billing page again, the message beside its field, what was typed and
        // the boxes ticked kept.
        let res = plain_post(&app, &billing, "billing/save-contact", &[
            ("contact_name", "Bea Books"), ("contact_email", "bea@"), ("contact_line", "cc"),
            ("receipts", "on"), ("__page", "/billing"),
        ]).await;
        assert_eq!(res.status(), 422);
        let html = res.text().await.unwrap();
        assert!(html.contains("<h1>Billing"), "the page, drawn again");
        assert!(html.contains(r#"id="contact_email-error" aria-live="polite" class="field-error">Enter a single email address, like name@example.com."#), "the message beside its field");
        assert!(html.contains(r#"value="Bea Books""#), "what was typed");
        let tag = |id: &str| html.split(&format!(r#"id="{id}""#)).nth(1).and_then(|rest| rest.split('>').next()).unwrap_or_default().to_string();
        assert!(tag("contact-receipts").contains("checked"), "the box ticked stays ticked");
        assert!(!tag("contact-invoices").contains("checked"), "and the one left empty, empty");
        assert!(html.contains(r#"<option value="cc" selected>"#), "the line chosen");
        // Saved: a 303 back to the page.
        let res = plain_post(&app, &billing, "billing/save-contact", &[
            ("contact_name", "Bea Books"), ("contact_email", "bea@plainco.test"), ("contact_line", "cc"),
            ("receipts", "on"), ("__page", "/billing"),
        ]).await;
        assert_eq!(res.status(), 303);
        let res = plain_post(&app, &billing, "billing/save-spend-alerts", &[
            ("alert_budget", "500"), ("alert_thresholds", "80, most"), ("alert_forecast", "on"), ("__page", "/billing"),
        ]).await;
        assert_eq!(res.status(), 422);
        let html = res.text().await.unwrap();
        assert!(html.contains("is not a share of the amount"), "the message beside its field");
        assert!(html.contains(r#"value="80, most""#), "what was typed");
        let res = plain_post(&app, &billing, "billing/save-spend-alerts", &[
            ("alert_budget", "500"), ("alert_thresholds", "80"), ("__page", "/billing"),
        ]).await;
        assert_eq!(res.status(), 303);
        let list: Vec<Value> = app.call_as(&billing, "billing/contacts", &[]).await.json().await.unwrap();
        assert_eq!((list.len(), list[0]["line"].as_str()), (1, Some("Cc")));
    }
}

/// The run's invoice goes out through a real SMTP server that refuses it for a while: the
/// Billing page says, per message, that it is being retried and the server's words; once the
/// server takes mail again, the next attempt delivers each message and the page says sent.
async fn delivery_status_follows_an_smtp_server_that_refuses_then_mends(
    backend: tally_services::platform::db::Backend,
) {
    use std::sync::{
        atomic::{AtomicBool, Ordering::SeqCst},
        Arc,
    };
    let refuse = Arc::new(AtomicBool::new(true));
    let (port, got) = crate::helpers::smtp_sink(refuse.clone()).await;
    let smtp_url = format!("smtp://127.0.0.1:{port}");
    let app = crate::helpers::TestApp::spawn_with(backend, &[("TALLY_SMTP_URL", &smtp_url)]).await;

    app.clock.set(millis(2026, 10, 10));
    customer(&app, "relay", "GB", None).await;
    let billing = app.session_cookie_for("relay-admin_billing").await;
    let res = app
        .call_as(
            &billing,
            "billing/save-contact",
            &form("Ann Payable", "ap@relay.test", "to", &["invoices"]),
        )
        .await;
    assert_eq!(res.status(), 200);
    app.clock.set(millis(2026, 11, 1) + 3_600_000);
    app.services
        .billing_run
        .run_month(BillingMonth::new(2026, 10).unwrap())
        .await
        .unwrap();
    app.services.ctx.outbox.deliver_due().await.unwrap();
    assert!(got.lock().unwrap().is_empty(), "the server took nothing");

    let billing = app.session_cookie_for("relay-admin_billing").await;
    let page: Value = app
        .call_as(&billing, "billing/invoices", &[("page", "1")])
        .await
        .json()
        .await
        .unwrap();
    let id = page["invoices"][0]["id"].as_str().unwrap().to_string();
    let sent = page["deliveries"][&id].as_array().unwrap().clone();
    let to: Vec<&str> = sent.iter().map(|d| d["to"].as_str().unwrap()).collect();
    assert_eq!(to, ["billing@relay.test", "ap@relay.test"], "{sent:?}");
    for d in &sent {
        let error = d["status"]["Retrying"]
            .as_str()
            .unwrap_or_else(|| panic!("retrying: {d}"));
        assert!(
            error.contains("temporarily out of space"),
            "the server's words: {error}"
        );
    }
    let html = app
        .client
        .get(app.url("/billing"))
        .header("Cookie", &billing)
        .header("Accept", "text/html")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("ap@relay.test \u{2014} retrying: "),
        "the Billing page says so"
    );

    // The server takes mail again: the next attempt delivers both, and the page says sent.
    refuse.store(false, SeqCst);
    app.clock.set(millis(2026, 11, 1) + 5 * 3_600_000);
    app.services.ctx.outbox.deliver_due().await.unwrap();
    let mut delivered: Vec<String> = got.lock().unwrap().iter().map(|m| m.to.join(",")).collect();
    delivered.sort();
    assert_eq!(delivered, ["ap@relay.test", "billing@relay.test"]);
    let page: Value = app
        .call_as(
            &app.session_cookie_for("relay-admin_billing").await,
            "billing/invoices",
            &[("page", "1")],
        )
        .await
        .json()
        .await
        .unwrap();
    for d in page["deliveries"][&id].as_array().unwrap() {
        assert!(d["status"]["Sent"].is_i64(), "{d}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivery_status_after_an_smtp_refusal_sqlite() {
    delivery_status_follows_an_smtp_server_that_refuses_then_mends(
        tally_services::platform::db::Backend::Sqlite,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivery_status_after_an_smtp_refusal_postgres() {
    delivery_status_follows_an_smtp_server_that_refuses_then_mends(
        tally_services::platform::db::Backend::Postgres,
    )
    .await
}
