//! The Stripe gateway (issue 22), against localstripe, a Stripe-compatible server the test
//! command starts (`TALLY_TEST_STRIPE_URL`): each test card saved from "the browser" (these
//! tests make the browser's calls to the processor themselves), invoices charged with one
//! PaymentIntent per attempt even when `tally bill` is killed between creating one and
//! recording it, 3-D Secure on an off-session charge, and signed webhooks.

use std::{
    process::{Command, Stdio},
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
};

use serde_json::{json, Value};
use tally_core::billing::BillingMonth;
use tally_services::platform::db::Backend;

use crate::{helpers::TestApp, invoicing::account_with};

const PUBLISHABLE: &str = "pk_test_tally";
const SECRET: &str = "sk_test_tally";
const WEBHOOK_SECRET: &str = "whsec_tallytest";

fn stripe_url() -> String {
    std::env::var("TALLY_TEST_STRIPE_URL").unwrap_or_else(|_| {
        panic!(
            "TALLY_TEST_STRIPE_URL is not set: run the tests through scripts/test.sh, which \
             starts localstripe and sets it"
        )
    })
}

fn stripe_settings(api_base: &str) -> Vec<(&'static str, String)> {
    vec![
        ("TALLY_GATEWAY", "stripe".into()),
        ("TALLY_STRIPE_SECRET_KEY", SECRET.into()),
        ("TALLY_STRIPE_PUBLISHABLE_KEY", PUBLISHABLE.into()),
        ("TALLY_STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET.into()),
        ("TALLY_STRIPE_API_BASE", api_base.into()),
    ]
}

async fn spawn(backend: Backend) -> TestApp {
    let settings = stripe_settings(&stripe_url());
    let extra: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    TestApp::spawn_with(backend, &extra).await
}

/// Declares each test twice, on SQLite and on PostgreSQL, with the Stripe gateway on.
macro_rules! both_with_stripe {
    ($(async fn $name:ident($app:ident: TestApp) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                async fn run($app: TestApp) $body

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    run(spawn(Backend::Sqlite).await).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    run(spawn(Backend::Postgres).await).await
                }
            }
        )*
    };
}

fn october() -> BillingMonth {
    BillingMonth::new(2026, 10).unwrap()
}

fn billing_info() -> Value {
    json!({ "info": {
        "company_name": "Acme Corp", "contact_name": "Dana Park", "contact_email": "billing@acme.test",
        "contact_phone": "", "tax_id": "",
        "address": { "country": "US", "line1": "1 Main St", "line2": "", "city": "Springfield", "region": "IL", "postal_code": "62701" },
    }})
}

fn payment_info() -> Value {
    json!({ "cardholder_name": "Dana Park", "same_as_billing": true,
            "address": { "country": "", "line1": "", "line2": "", "city": "", "region": "", "postal_code": "" } })
}

/// What the browser does with a set-up's client secret: confirms it with the processor
/// directly, with the publishable key.
async fn browser_confirms(secret: &str, number: &str) -> (u16, Value) {
    let seti = secret.split("_secret_").next().unwrap();
    let res = reqwest::Client::new()
        .post(format!("{}/v1/setup_intents/{seti}/confirm", stripe_url()))
        .form(&[
            ("key", PUBLISHABLE),
            ("client_secret", secret),
            ("payment_method_data[type]", "card"),
            ("payment_method_data[card][number]", number),
            ("payment_method_data[card][exp_month]", "12"),
            ("payment_method_data[card][exp_year]", "2030"),
            ("payment_method_data[card][cvc]", "123"),
            ("payment_method_data[billing_details][name]", "Dana Park"),
        ])
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

/// The card window's bank step: the cardholder confirms (or not) with their bank.
async fn browser_answers_bank(secret: &str, confirmed: bool) -> Value {
    let seti = secret.split("_secret_").next().unwrap();
    let action = if confirmed { "confirm" } else { "cancel" };
    reqwest::Client::new()
        .post(format!("{}/v1/setup_intents/{seti}/{action}", stripe_url()))
        .form(&[("key", PUBLISHABLE), ("client_secret", secret)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn begin(app: &TestApp, cookie: &str) -> String {
    let res = app.call_as(cookie, "billing/begin-card-setup", &[]).await;
    assert_eq!(res.status(), 200, "begin a set-up");
    res.json().await.unwrap()
}

async fn finish(
    app: &TestApp,
    cookie: &str,
    secret: &str,
    last4: &str,
    key: &str,
) -> reqwest::Response {
    let seti = secret.split("_secret_").next().unwrap();
    app.call_json(
        cookie,
        "billing/confirm-card-setup",
        &json!({
            "payment": payment_info(),
            "setup_intent": seti,
            "card": { "brand": "Visa", "last4": last4, "exp_month": 12, "exp_year": 2030 },
            "idempotency_key": key,
        }),
    )
    .await
}

/// Saves `number` for the caller's account the way the card window does; the card window's
/// bank step is answered yes.
async fn save_card(app: &TestApp, cookie: &str, number: &str) {
    let secret = begin(app, cookie).await;
    let (status, answer) = browser_confirms(&secret, number).await;
    assert_eq!(status, 200, "{answer}");
    if answer["status"] == "requires_action" {
        assert_eq!(
            browser_answers_bank(&secret, true).await["status"],
            "succeeded"
        );
    }
    let res = finish(
        app,
        cookie,
        &secret,
        &number[12..],
        &format!("save-{number}"),
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
}

/// The PaymentIntents the processor holds for `customer`.
async fn intents_of(customer: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut query = vec![("limit", "100".to_string())];
        if let Some(a) = &after {
            query.push(("starting_after", a.clone()));
        }
        let page: Value = reqwest::Client::new()
            .get(format!("{}/v1/payment_intents", stripe_url()))
            .basic_auth(SECRET, Some(""))
            .query(&query)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let data = page["data"].as_array().unwrap().clone();
        after = data.last().map(|pi| pi["id"].as_str().unwrap().to_string());
        all.extend(data.into_iter().filter(|pi| pi["customer"] == customer));
        if page["has_more"] != true {
            return all;
        }
    }
}

async fn customer_of(app: &TestApp, account: &str) -> String {
    sqlx::query_scalar("SELECT customer_id FROM stripe_customers WHERE account_id = $1")
        .bind(account)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
}

/// An account with 15 users in October, billing information, and a billing administrator
/// `owner@<tag>.test` signed in; returns the account and the session cookie.
async fn billed_account(app: &TestApp, tag: &str) -> (String, String) {
    let account = account_with(app, tag, 15, None).await;
    let id = format!("{tag}-owner");
    sqlx::query(
        "INSERT INTO admins (id, account_id, email, email_key, first_name, last_name, role, status, password_hash, created_at, updated_at) \
         VALUES ($1, $2, $3, $3, 'O', 'W', 'admin_billing', 'active', 'x', 0, 0)",
    )
    .bind(&id)
    .bind(&account)
    .bind(format!("owner@{tag}.test"))
    .execute(app.db.pool())
    .await
    .unwrap();
    let cookie = app.session_cookie_for(&id).await;
    (account, cookie)
}

async fn invoice(app: &TestApp, account: &str) -> (String, String, i64, Option<String>) {
    sqlx::query_as("SELECT number, status, attempts, charge_id FROM invoices WHERE account_id = $1")
        .bind(account)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
}

both_with_stripe! {
    async fn each_test_card_saves_or_is_refused_as_the_processor_says(app: TestApp) {
        let acme = app.seed_account("acme", &[tally_core::roles::Role::AdministratorWithBilling, tally_core::roles::Role::Administrator]).await;
        let owner = app.session_cookie_for("acme-admin_billing").await;
        let admin = app.session_cookie_for("acme-admin").await;
        assert_eq!(app.call_json(&owner, "billing/save-info", &billing_info()).await.status(), 200);
        // The page tells the browser where to confirm cards, and the page's policy lets it.
        let settings: Value = app.call_as(&owner, "billing/settings", &[]).await.json().await.unwrap();
        assert_eq!(settings["processor"]["publishable_key"], PUBLISHABLE);
        let page = app.client.get(app.url("/")).header("Cookie", &owner).send().await.unwrap();
        let csp = page.headers()["content-security-policy"].to_str().unwrap().to_string();
        assert!(csp.contains(&format!("connect-src 'self' {}", stripe_url())), "{csp}");

        // Administrators without billing may not begin or finish a set-up.
        assert_eq!(app.call_as(&admin, "billing/begin-card-setup", &[]).await.status(), 403);
        assert_eq!(app.call_as("", "billing/begin-card-setup", &[]).await.status(), 401);

        // Declined at set-up: the processor refuses the browser, and Tally will not save it.
        for number in ["4000000000000002", "4000000000009995"] { // test numbers
            let secret = begin(&app, &owner).await;
            let (status, answer) = browser_confirms(&secret, number).await;
            assert_eq!(status, 402, "{number}: {answer}");
            assert_eq!(answer["error"]["code"], "card_declined");
            let res = finish(&app, &owner, &secret, &number[12..], number).await;
            assert_eq!(res.status(), 402, "{number}");
        }
        // Needs authentication: not saved until the bank step says yes.
        let secret = begin(&app, &owner).await;
        let (_, answer) = browser_confirms(&secret, "4000002500003155").await; // test number
        assert_eq!(answer["status"], "requires_action");
        // localstripe names no bank's page (it takes no return_url): the window's own step
        // stays. Another tenant may not ask about this set-up.
        let seti = secret.split("_secret_").next().unwrap();
        let page = app.call_as(&owner, "billing/card-setup-bank-page", &[("setup_intent", seti)]).await;
        assert_eq!(page.status(), 200);
        assert_eq!(page.json::<Value>().await.unwrap(), Value::Null);
        let stranger = app.seed_account("stranger", &[tally_core::roles::Role::AdministratorWithBilling]).await;
        let _ = stranger;
        let theirs = app.session_cookie_for("stranger-admin_billing").await;
        assert_eq!(app.call_as(&theirs, "billing/card-setup-bank-page", &[("setup_intent", seti)]).await.status(), 404);
        assert_eq!(app.call_as(&admin, "billing/card-setup-bank-page", &[("setup_intent", seti)]).await.status(), 403);
        assert_eq!(finish(&app, &owner, &secret, "3155", "3ds-early").await.status(), 402);
        assert_eq!(browser_answers_bank(&secret, true).await["status"], "succeeded");
        // What the browser says of the card must be what the processor confirmed.
        assert_eq!(finish(&app, &owner, &secret, "1111", "3ds-lie").await.status(), 409);
        let saved = finish(&app, &owner, &secret, "3155", "3ds").await;
        assert_eq!(saved.status(), 200);
        let saved: Value = saved.json().await.unwrap();
        assert_eq!(saved["last4"], "3155");
        // Cancelled at the bank: refused.
        let secret = begin(&app, &owner).await;
        browser_confirms(&secret, "4000002500003155").await; // test number
        assert_eq!(browser_answers_bank(&secret, false).await["status"], "canceled");
        assert_eq!(finish(&app, &owner, &secret, "3155", "3ds-no").await.status(), 402);
        // Saves, and fails only when charged.
        save_card(&app, &owner, "4000000000000341").await; // test number
        // The plain test card replaces it.
        save_card(&app, &owner, "4242424242424242").await; // test number
        let (token, last4): (String, String) = sqlx::query_as("SELECT gateway_token, last4 FROM payment_methods WHERE account_id = $1")
            .bind(&acme).fetch_one(app.db.pool()).await.unwrap();
        assert_eq!(last4, "4242");
        assert!(token.starts_with("cus_") && token.contains("/pm_"), "{token}");
        // One customer for the account, however many set-ups.
        let customers: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM stripe_customers").fetch_one(app.db.pool()).await.unwrap();
        assert_eq!(customers, 1);
        // The card number never went through Tally: there is no server-side path for it, with
        // any gateway (the one that took a card is gone), and with this one a request that
        // carries one anyway is refused before it is read.
        let direct = app.call_json(&owner, "billing/submit-payment-method", &json!({
            "payment": payment_info(), "card": { "number": "4242 4242 4242 4242", "expiry": "12/30", "cvc": "123" }, // test number
            "idempotency_key": "direct" })).await;
        assert_eq!(direct.status(), 422);
        let gone = app.call_json(&owner, "billing/submit-payment-method", &json!({ "idempotency_key": "direct" })).await;
        assert_eq!(gone.status(), 404);

        // Another tenant cannot finish this account's set-up.
        let other = app.seed_account("other", &[tally_core::roles::Role::AdministratorWithBilling]).await;
        let theirs = app.session_cookie_for("other-admin_billing").await;
        assert_eq!(app.call_json(&theirs, "billing/save-info", &billing_info()).await.status(), 200);
        let secret = begin(&app, &owner).await;
        browser_confirms(&secret, "4242424242424242").await; // test number
        assert_eq!(finish(&app, &theirs, &secret, "4242", "steal").await.status(), 404);
        let theirs_saved: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM payment_methods WHERE account_id = $1")
            .bind(&other).fetch_one(app.db.pool()).await.unwrap();
        assert_eq!(theirs_saved, 0);
    }

    async fn invoices_are_charged_with_one_payment_intent_per_attempt(app: TestApp) {
        app.clock.set(crate::invoicing::millis(2026, 11, 1) + 3_600_000);
        let (good, good_cookie) = billed_account(&app, "good").await;
        let (bad, bad_cookie) = billed_account(&app, "bad").await;
        save_card(&app, &good_cookie, "4242424242424242").await; // test number
        save_card(&app, &bad_cookie, "4000000000000341").await; // test number
        let run = &app.services.billing_run;
        run.run_month(october()).await.unwrap();
        run.run_month(october()).await.unwrap();
        let (_, status, attempts, charge) = invoice(&app, &good).await;
        assert_eq!((status.as_str(), attempts), ("paid", 1));
        let intents = intents_of(&customer_of(&app, &good).await).await;
        assert_eq!(intents.len(), 1);
        assert_eq!(charge.as_deref(), intents[0]["id"].as_str());
        assert_eq!(intents[0]["amount"], 2500); // 5 billable users at $5.00
        assert_eq!(intents[0]["status"], "succeeded");
        // The card that fails at charge: declined with Tally's message, retried a day later
        // with a new PaymentIntent (one per attempt).
        let (_, status, attempts, _) = invoice(&app, &bad).await;
        assert_eq!((status.as_str(), attempts), ("failed", 1));
        let failed = app.outbox_messages().iter().filter(|m| m.contains("Payment failed") && m.contains("billing@bad.test")).count();
        assert_eq!(failed, 1);
        app.clock.advance_minutes(25 * 60);
        assert_eq!(app.services.charging.retry_due().await.unwrap(), 1);
        assert_eq!(invoice(&app, &bad).await.2, 2);
        assert_eq!(intents_of(&customer_of(&app, &bad).await).await.len(), 2);
    }

    async fn a_plan_in_yen_is_charged_in_yen_without_a_minor_unit(app: TestApp) {
        app.clock.set(crate::invoicing::millis(2026, 11, 1) + 3_600_000);
        let (account, cookie) = billed_account(&app, "yen").await;
        crate::currencies::plan_in(&app, &account, "JPY", 500).await;
        save_card(&app, &cookie, "4242424242424242").await; // test number
        app.services.billing_run.run_month(october()).await.unwrap();
        let (_, status, _, charge) = invoice(&app, &account).await;
        assert_eq!(status, "paid");
        let intents = intents_of(&customer_of(&app, &account).await).await;
        assert_eq!(intents.len(), 1);
        assert_eq!(charge.as_deref(), intents[0]["id"].as_str());
        // 5 billable users at ¥500: 2500 yen, the yen having no minor unit.
        assert_eq!((intents[0]["amount"].as_i64(), intents[0]["currency"].as_str()), (Some(2500), Some("jpy")));
    }

    async fn a_credit_note_is_refunded_to_the_card_through_the_processor(app: TestApp) {
        app.clock.set(crate::invoicing::millis(2026, 11, 1) + 3_600_000);
        let (good, cookie) = billed_account(&app, "refunded").await;
        save_card(&app, &cookie, "4242424242424242").await; // test number
        app.services.billing_run.run_month(october()).await.unwrap();
        let (_, status, _, charge) = invoice(&app, &good).await;
        assert_eq!(status, "paid");
        let intent = charge.unwrap();
        let id: String = sqlx::query_scalar("SELECT id FROM invoices WHERE account_id = $1")
            .bind(&good).fetch_one(app.db.pool()).await.unwrap();
        app.seed_operator(tally_core::operators::OperatorRole::Finance).await;
        let finance = TestApp::new_client();
        crate::operators::enrolled(&app, &finance, "finance@seller.test").await;
        let res = app.call(&finance, "operator/invoices/credit-note", &[
            ("account_id", good.as_str()), ("invoice_id", id.as_str()), ("amount", "10.00"), ("reason", "Outage"),
        ]).await;
        assert_eq!(res.status(), 200, "{:?}", res.text().await);
        let note: Value = res.json().await.unwrap();
        assert_eq!(note["settlement"], "Refunded", "{note}");
        let refund_id = note["refund_id"].as_str().unwrap().to_string();
        // The processor holds one refund of $10.00 of that payment, tagged with the note.
        let refunds: Value = reqwest::Client::new()
            .get(format!("{}/v1/refunds", stripe_url()))
            .basic_auth(SECRET, Some(""))
            .query(&[("payment_intent", intent.as_str())])
            .send().await.unwrap().json().await.unwrap();
        let data = refunds["data"].as_array().unwrap();
        assert_eq!(data.len(), 1, "{refunds}");
        assert_eq!((data[0]["id"].as_str(), data[0]["amount"].as_i64()), (Some(refund_id.as_str()), Some(1000)));
        assert_eq!(data[0]["metadata"]["tally_credit_note"], note["id"]);
        // More than is left is refused before the processor is asked.
        let over = app.call(&finance, "operator/invoices/credit-note", &[
            ("account_id", good.as_str()), ("invoice_id", id.as_str()), ("amount", "15.01"), ("reason", "Too much"),
        ]).await;
        assert_eq!(over.status(), 422);
    }

    async fn a_charge_needing_authentication_waits_then_is_paid_once_confirmed(app: TestApp) {
        app.clock.set(crate::invoicing::millis(2026, 11, 1) + 3_600_000);
        let (acct, cookie) = billed_account(&app, "sca").await;
        save_card(&app, &cookie, "4000002500003155").await; // test number
        app.services.billing_run.run_month(october()).await.unwrap();
        let (number, status, attempts, payment) = invoice(&app, &acct).await;
        assert_eq!((status.as_str(), attempts), ("action_required", 1));
        // The billing contact (and the opted-in billing admins) get a link to confirm it.
        let mail: Vec<String> = app.outbox_messages().into_iter().filter(|m| m.contains("Confirm the payment")).collect();
        assert_eq!(mail.len(), 1);
        assert!(mail[0].contains("billing@sca.test") && mail[0].contains(&format!("/billing/authenticate/{number}")));
        // The schedule waits: no retry however long nobody answers.
        app.clock.advance_minutes(10 * 24 * 60);
        assert_eq!(app.services.charging.retry_due().await.unwrap(), 0);
        assert_eq!(invoice(&app, &acct).await.1, "action_required");
        let cookie = app.session_cookie_for("sca-owner").await;

        // Only billing roles of this account may open it.
        let (_, stranger) = billed_account(&app, "stranger").await;
        assert_eq!(app.call_as(&stranger, "billing/payment-to-confirm", &[("number", &number)]).await.status(), 404);
        let waiting: Value = app.call_as(&cookie, "billing/payment-to-confirm", &[("number", &number)]).await.json().await.unwrap();
        assert!(waiting.get("waiting").is_some(), "{waiting}");
        assert_eq!(waiting["waiting"], true);
        assert_eq!(waiting["status"], "Authentication needed");
        assert_eq!(waiting["redirect_url"], Value::Null, "localstripe names no bank's page");
        let secret = waiting["client_secret"].as_str().unwrap();
        // The page's button: the cardholder confirms with the bank (the processor's test mode).
        let pi = payment.unwrap();
        let answered = reqwest::Client::new()
            .post(format!("{}/v1/payment_intents/{pi}/_authenticate?success=true", stripe_url()))
            .form(&[("key", PUBLISHABLE), ("client_secret", secret)])
            .send().await.unwrap();
        assert_eq!(answered.status(), 200);
        let done: Value = app.call_as(&cookie, "billing/payment-confirmed", &[("number", &number)]).await.json().await.unwrap();
        assert_eq!(done["status"], "Paid");
        assert_eq!(done["waiting"], false);
        assert_eq!(invoice(&app, &acct).await.1, "paid");
        assert_eq!(intents_of(&customer_of(&app, &acct).await).await.len(), 1);
        // Asking again changes nothing.
        let again: Value = app.call_as(&cookie, "billing/payment-confirmed", &[("number", &number)]).await.json().await.unwrap();
        assert_eq!(again["status"], "Paid");
    }

    async fn a_late_event_for_an_earlier_attempt_leaves_the_current_one_alone(app: TestApp) {
        app.clock.set(crate::invoicing::millis(2026, 11, 1) + 3_600_000);
        let (acct, cookie) = billed_account(&app, "late").await;
        save_card(&app, &cookie, "4000002500003155").await; // test number
        app.services.billing_run.run_month(october()).await.unwrap();
        let (_, status, attempts, first) = invoice(&app, &acct).await;
        assert_eq!((status.as_str(), attempts), ("action_required", 1));
        let first = first.unwrap();
        let post = |id: &str, kind: &str, pi: &str| {
            let event = json!({ "id": id, "type": kind,
                                "data": { "object": { "id": pi, "object": "payment_intent" } } });
            let body = serde_json::to_vec(&event).unwrap();
            let signature = sign(WEBHOOK_SECRET, app.clock_now() / 1000, &body);
            let req = app.client.post(app.url("/webhooks/stripe")).header("Content-Type", "application/json")
                .header("Stripe-Signature", signature).body(body);
            async move { req.send().await.unwrap().status().as_u16() }
        };
        // Nobody confirmed the first attempt: it failed, and the schedule moved on to a
        // second, which waits for the bank too.
        assert_eq!(post("evt_late_1", "payment_intent.payment_failed", &first).await, 200);
        assert_eq!(invoice(&app, &acct).await.1, "failed");
        for _ in 0..30 {
            app.clock.advance_minutes(24 * 60);
            app.services.charging.retry_due().await.unwrap();
            if invoice(&app, &acct).await.2 == 2 {
                break;
            }
        }
        let (_, status, attempts, second) = invoice(&app, &acct).await;
        assert_eq!((status.as_str(), attempts), ("action_required", 2));
        let second = second.unwrap();
        assert_ne!(second, first);
        // The first attempt's events arrive late (again, under new ids): neither its failure
        // nor its success moves the invoice off its current attempt.
        assert_eq!(post("evt_late_2", "payment_intent.payment_failed", &first).await, 200);
        let (_, status, attempts, current) = invoice(&app, &acct).await;
        assert_eq!((status.as_str(), attempts, current.as_deref()), ("action_required", 2, Some(second.as_str())));
        assert_eq!(post("evt_late_3", "payment_intent.succeeded", &first).await, 200);
        let (_, status, _, current) = invoice(&app, &acct).await;
        assert_eq!((status.as_str(), current.as_deref()), ("action_required", Some(second.as_str())));
        assert!(!crate::helpers::logged("succeeded late").is_empty(), "the seller is told to reconcile");
        // The current attempt's own event settles it.
        assert_eq!(post("evt_late_4", "payment_intent.succeeded", &second).await, 200);
        let (_, status, attempts, current) = invoice(&app, &acct).await;
        assert_eq!((status.as_str(), attempts, current.as_deref()), ("paid", 2, Some(second.as_str())));
    }

    async fn a_card_number_sent_to_the_server_is_refused_before_it_is_read(app: TestApp) {
        let (_, cookie) = billed_account(&app, "guard").await;
        let card = "4111 1111 1111 1111"; // test number
        let refused = |res: reqwest::Response, field: &'static str| async move {
            assert_eq!(res.status(), 422);
            let body: Value = res.json().await.unwrap();
            assert_eq!(body["Validation"][field], "This looks like a card number. Enter card details only in the card window.", "{body}");
        };
        // A free-text field of a form.
        refused(app.call_as(&cookie, "users/create", &[("first_name", "Ann"), ("last_name", card), ("email", "ann@guard.test")]).await, "last_name").await;
        // Before parsing: the same with the other arguments missing is still refused for the
        // card (the parser would have answered 400 first).
        refused(app.call_as(&cookie, "users/create", &[("first_name", card)]).await, "first_name").await;
        assert_eq!(app.call_as(&cookie, "users/create", &[("first_name", "Ann")]).await.status(), 400);
        // A field the card window's own request might carry, by any name.
        refused(app.call_as(&cookie, "billing/confirm-card-setup", &[("card_number", card)]).await, "card_number").await;
        // JSON arguments, nested.
        let res = app.call_json(&cookie, "billing/save-info", &json!({ "info": {
            "company_name": "Guard Co", "contact_name": "Cass", "contact_email": "billing@guard.test",
            "contact_phone": "", "tax_id": "", "address": { "country": "US", "line1": card, "line2": "",
            "city": "Springfield", "region": "IL", "postal_code": "62701" } } })).await;
        refused(res, "line1").await;
        // A command's script is code, and may hold any number.
        let res = app.call_as(&cookie, "commands/create", &[("name", "Numbers"), ("shell", "bash"), ("script", "echo 4111111111111111")]).await; // test number
        assert!(res.status().is_success(), "{}", res.status());
        // Nothing of it was logged.
        assert!(crate::helpers::logged("4111 1111 1111 1111").is_empty() && crate::helpers::logged("4111111111111111").is_empty()); // test number
        assert!(!crate::helpers::logged("refused before it was read").is_empty());
    }

    async fn webhooks_are_verified_and_each_event_is_applied_once(app: TestApp) {
        app.clock.set(crate::invoicing::millis(2026, 11, 1) + 3_600_000);
        let (acct, cookie) = billed_account(&app, "hook").await;
        save_card(&app, &cookie, "4000002500003155").await; // test number
        app.services.billing_run.run_month(october()).await.unwrap();
        let (_, status, _, payment) = invoice(&app, &acct).await;
        assert_eq!(status, "action_required");
        let pi = payment.unwrap();
        let event = json!({ "id": "evt_tally_1", "type": "payment_intent.succeeded",
                            "data": { "object": { "id": pi, "object": "payment_intent", "status": "succeeded" } } });
        let body = serde_json::to_vec(&event).unwrap();
        // Signed at the server's time: its clock (a test's) decides what is too old.
        let now = app.clock_now() / 1000;
        let post = |signature: Option<String>, body: Vec<u8>| {
            let mut req = app.client.post(app.url("/webhooks/stripe")).header("Content-Type", "application/json").body(body);
            if let Some(s) = signature {
                req = req.header("Stripe-Signature", s);
            }
            async move { req.send().await.unwrap().status().as_u16() }
        };
        // Unsigned, signed with another secret, or with an old signature (a replay): refused.
        assert_eq!(post(None, body.clone()).await, 400);
        assert_eq!(post(Some(sign("whsec_wrong", now, &body)), body.clone()).await, 400);
        assert_eq!(post(Some(sign(WEBHOOK_SECRET, now - 600, &body)), body.clone()).await, 400);
        assert_eq!(invoice(&app, &acct).await.1, "action_required");
        let refused = crate::helpers::logged("webhook refused");
        assert!(refused.len() >= 3 && refused.iter().all(|l| !l.contains("evt_tally_1")), "{refused:?}");
        // Good: applied, and the invoice is paid.
        assert_eq!(post(Some(sign(WEBHOOK_SECRET, now, &body)), body.clone()).await, 200);
        assert_eq!(invoice(&app, &acct).await.1, "paid");
        // The same event again: acknowledged, applied once.
        assert_eq!(post(Some(sign(WEBHOOK_SECRET, now, &body)), body.clone()).await, 200);
        let attempts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM charge_attempts WHERE account_id = $1 AND outcome = 'succeeded'")
            .bind(&acct).fetch_one(app.db.pool()).await.unwrap();
        assert_eq!(attempts, 1);
        // Events Tally does not act on are acknowledged.
        let other = serde_json::to_vec(&json!({ "id": "evt_tally_2", "type": "customer.created", "data": { "object": {} } })).unwrap();
        assert_eq!(post(Some(sign(WEBHOOK_SECRET, now, &other)), other.clone()).await, 200);

        // And the processor's own signed deliveries are accepted as they come. It signs them
        // with the time it is: the server's clock (a test's, set back to November) catches up.
        app.clock.set(chrono::Utc::now().timestamp_millis());
        let hook_id = format!("tally-{}", app.address.rsplit(':').next().unwrap());
        let registered = reqwest::Client::new()
            .post(format!("{}/_config/webhooks/{hook_id}", stripe_url()))
            .form(&[("url", app.url("/webhooks/stripe").as_str()), ("secret", WEBHOOK_SECRET),
                    ("events[]", "setup_intent.succeeded"), ("events[]", "payment_intent.succeeded")])
            .send().await.unwrap();
        assert_eq!(registered.status(), 200);
        let (_, second) = billed_account(&app, "hook2").await;
        save_card(&app, &second, "4242424242424242").await; // test number
        app.services.billing_run.run_month(october()).await.unwrap();
        let mut delivered = 0;
        for _ in 0..100 {
            delivered = sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM stripe_events WHERE type = 'payment_intent.succeeded' AND event_id <> 'evt_tally_1'")
                .fetch_one(app.db.pool()).await.unwrap();
            if delivered > 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        // Unregistering: point it at nothing that answers.
        let _ = reqwest::Client::new()
            .post(format!("{}/_config/webhooks/{hook_id}", stripe_url()))
            .form(&[("url", "http://127.0.0.1:9/"), ("secret", WEBHOOK_SECRET), ("events[]", "none")])
            .send().await;
        assert!(delivered > 0, "the processor's signed event was accepted");
    }
}

fn sign(secret: &str, t: i64, body: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Where a proxy between `tally bill` and the processor kills the run, at the n-th request
/// creating a PaymentIntent.
#[derive(Clone, Copy, Debug)]
enum KillPoint {
    /// Before the processor sees the request: nothing is made.
    BeforeCreating,
    /// After the processor made (and charged) the intent, before Tally hears of it.
    AfterCreating,
    /// Just after Tally heard of it: it may or may not have written the id.
    AfterAnswering,
}

struct Proxy {
    target: String,
    kill_at: usize,
    point: KillPoint,
    seen: AtomicUsize,
    child: Mutex<Option<u32>>,
}

impl Proxy {
    fn kill(&self) {
        if let Some(pid) = *self.child.lock().unwrap() {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
    }
}

async fn proxy(
    axum::extract::State(p): axum::extract::State<Arc<Proxy>>,
    req: axum::extract::Request,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    let creating = parts.method == "POST" && parts.uri.path() == "/v1/payment_intents";
    let n = if creating {
        p.seen.fetch_add(1, Ordering::SeqCst) + 1
    } else {
        0
    };
    let hang = || async {
        tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
        axum::http::StatusCode::GATEWAY_TIMEOUT.into_response()
    };
    if n == p.kill_at && matches!(p.point, KillPoint::BeforeCreating) {
        p.kill();
        return hang().await;
    }
    let mut forward = reqwest::Client::new().request(
        parts.method.as_str().parse().unwrap(),
        format!(
            "{}{}",
            p.target,
            parts
                .uri
                .path_and_query()
                .map(|x| x.as_str())
                .unwrap_or("/")
        ),
    );
    for name in ["authorization", "content-type", "idempotency-key"] {
        if let Some(v) = parts.headers.get(name) {
            forward = forward.header(name, v.to_str().unwrap());
        }
    }
    let answer = forward.body(body.to_vec()).send().await.unwrap();
    let status = answer.status().as_u16();
    let bytes = answer.bytes().await.unwrap();
    if n == p.kill_at && matches!(p.point, KillPoint::AfterCreating) {
        p.kill();
        return hang().await;
    }
    if n == p.kill_at && matches!(p.point, KillPoint::AfterAnswering) {
        let p = p.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            p.kill();
        });
    }
    (
        axum::http::StatusCode::from_u16(status).unwrap(),
        [("content-type", "application/json")],
        bytes,
    )
        .into_response()
}

/// `tally bill` through a proxy that kills it at `point` of the `kill_at`-th PaymentIntent,
/// then a whole rerun: every invoice is paid, with one PaymentIntent on the processor each.
async fn killed_run_charges_once(backend: Backend) {
    let app = spawn(backend).await;
    app.clock
        .set(crate::invoicing::millis(2026, 11, 1) + 3_600_000);
    // More accounts than the charges a run keeps in flight at once (8), so that each kill
    // leaves some to the next round.
    let mut accounts = Vec::new();
    for i in 0..14 {
        let (acct, cookie) = billed_account(&app, &format!("k{i:02}")).await;
        save_card(&app, &cookie, "4242424242424242").await; // test number
        accounts.push(acct);
    }
    let dir = tempfile::tempdir().unwrap();
    let mut killed = Vec::new();
    for point in [
        KillPoint::AfterCreating,
        KillPoint::BeforeCreating,
        KillPoint::AfterAnswering,
        KillPoint::AfterCreating,
    ] {
        let state = Arc::new(Proxy {
            target: stripe_url(),
            kill_at: 1,
            point,
            seen: AtomicUsize::new(0),
            child: Mutex::new(None),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let proxy_url = format!("http://{}", listener.local_addr().unwrap());
        let router = axum::Router::new()
            .fallback(proxy)
            .with_state(state.clone());
        let server = tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        let mut command = Command::new(env!("CARGO_BIN_EXE_tally"));
        command
            .args(["bill", "--month", "2026-10"])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", &app.database_url)
            .env("TALLY_SECRET_KEY", app.secret_key())
            .env("TALLY_DATA_DIR", dir.path())
            .env("RUST_LOG", "off")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (k, v) in stripe_settings(&proxy_url) {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("run tally bill");
        *state.child.lock().unwrap() = Some(child.id());
        let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
            .await
            .unwrap();
        server.abort();
        let asked = state.seen.load(Ordering::SeqCst);
        if asked == 0 {
            // Nothing was left to create: the run finished what the killed ones began.
            assert!(status.success());
            break;
        }
        assert!(
            !status.success(),
            "killed {point:?} the first of {asked} intents"
        );
        killed.push(point);
    }
    assert!(killed.len() >= 3, "each kill point was reached: {killed:?}");
    // The rerun, whole, in this process (straight to the processor).
    app.services.billing_run.run_month(october()).await.unwrap();
    for acct in &accounts {
        let (_, status, attempts, charge) = invoice(&app, acct).await;
        assert_eq!((status.as_str(), attempts), ("paid", 1), "{acct}");
        let intents = intents_of(&customer_of(&app, acct).await).await;
        assert_eq!(
            intents.len(),
            1,
            "{acct}: one PaymentIntent for its one attempt"
        );
        assert_eq!(charge.as_deref(), intents[0]["id"].as_str(), "{acct}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_around_creating_a_payment_charges_each_invoice_once_sqlite() {
    killed_run_charges_once(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_around_creating_a_payment_charges_each_invoice_once_postgres() {
    killed_run_charges_once(Backend::Postgres).await;
}
