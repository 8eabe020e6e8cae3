//! The seller's staff (issue 31): an operator signs in on their own cookie, must set up a
//! second step before anything else, then signs in with it; the lockout, the throttles and the
//! second step's count hold for them as for administrators; and an operator session and a
//! customer session never open each other's functions.

use reqwest::Client;
use serde_json::Value;
use tally_core::{operators::OperatorRole, roles::Role};

use crate::{
    authenticator::totp,
    both_databases,
    helpers::{TestApp, TEST_PASSWORD},
};

const OPERATOR: &str = "tally_operator=";
const OPERATOR_PENDING: &str = "tally_operator_pending=";
const SESSION: &str = "tally_session=";

fn sets_cookie(res: &reqwest::Response, prefix: &str) -> bool {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.starts_with(prefix) && !v.starts_with(&format!("{prefix};")))
}

async fn json_of(res: reqwest::Response) -> Value {
    res.json().await.expect("a JSON answer")
}

async fn sign_in(app: &TestApp, client: &Client, email: &str, password: &str) -> reqwest::Response {
    app.call(
        client,
        "operator/sign-in",
        &[("email", email), ("password", password)],
    )
    .await
}

fn at_step(app: &TestApp, steps: i64) -> i64 {
    app.clock_now() / 1000 + steps * 30
}

/// Signs `email` in and sets up an authenticator app; the app's key.
async fn enrolled(app: &TestApp, client: &Client, email: &str) -> String {
    let res = sign_in(app, client, email, TEST_PASSWORD).await;
    assert_eq!(res.status(), 200);
    let started = json_of(app.call(client, "operator/two-step/start-app", &[]).await).await;
    let key = started["key"].as_str().unwrap().to_string();
    let code = totp(&key, at_step(app, 0));
    let res = app
        .call(client, "operator/two-step/confirm-app", &[("code", &code)])
        .await;
    assert_eq!(res.status(), 200, "{:?}", res.text().await);
    key
}

both_databases! {
    async fn an_operator_must_set_up_a_second_step_then_signs_in_with_it(app: TestApp) {
        app.seed_operator(OperatorRole::Finance).await;
        let email = "finance@seller.test";
        let c = TestApp::new_client();
        let res = sign_in(&app, &c, email, TEST_PASSWORD).await;
        assert_eq!(res.status(), 200);
        assert!(sets_cookie(&res, OPERATOR) && !sets_cookie(&res, SESSION), "an operator's cookie, never a customer's");
        assert_eq!(json_of(res).await, false, "no second step yet: straight in, to set one up");
        let me = json_of(app.call(&c, "operator/me", &[]).await).await;
        assert_eq!((me["email"].as_str(), me["role"].as_str(), me["must_set_up_two_step"].as_bool()), (Some(email), Some("Finance"), Some(true)));
        let status = json_of(app.call(&c, "operator/two-step/status", &[]).await).await;
        assert_eq!(status["required"], true, "mandatory for operators");

        // The app, set up with a current code; ten recovery codes of the long kind.
        let started = json_of(app.call(&c, "operator/two-step/start-app", &[]).await).await;
        let key = started["key"].as_str().unwrap().to_string();
        let res = app.call(&c, "operator/two-step/confirm-app", &[("code", &totp(&key, at_step(&app, 0)))]).await;
        assert_eq!(res.status(), 200);
        let codes: Vec<String> = serde_json::from_value(json_of(res).await).unwrap();
        assert_eq!(codes.len(), 10);
        assert_eq!(codes[0].len(), 29);
        let me = json_of(app.call(&c, "operator/me", &[]).await).await;
        assert_eq!(me["must_set_up_two_step"], false);
        assert!(app.outbox_messages().iter().any(|m| m.contains(&format!("To: {email}")) && m.contains("An authenticator app was set up")));

        // From now on the password opens only the second step.
        let d = TestApp::new_client();
        let res = sign_in(&app, &d, email, TEST_PASSWORD).await;
        assert!(sets_cookie(&res, OPERATOR_PENDING) && !sets_cookie(&res, OPERATOR));
        assert_eq!(json_of(res).await, true);
        assert!(json_of(app.call(&d, "operator/me", &[]).await).await.is_null(), "half signed in is not signed in");
        assert_eq!(app.call(&d, "operator/second-step", &[("code", "000000")]).await.status(), 422);
        let res = app.call(&d, "operator/second-step", &[("code", &totp(&key, at_step(&app, 1)))]).await;
        assert_eq!(res.status(), 200, "{:?}", res.text().await);
        assert_eq!(json_of(app.call(&d, "operator/me", &[]).await).await["email"], email);
        // A recovery code works once, and is told.
        let e = TestApp::new_client();
        assert_eq!(json_of(sign_in(&app, &e, email, TEST_PASSWORD).await).await, true);
        assert_eq!(app.call(&e, "operator/second-step", &[("code", &codes[0])]).await.status(), 200);
        assert!(app.outbox_messages().iter().any(|m| m.contains(&format!("To: {email}")) && m.contains("9 are left")));
        // Signing out ends that session only.
        assert_eq!(app.call(&e, "operator/sign-out", &[]).await.status(), 200);
        assert!(json_of(app.call(&e, "operator/me", &[]).await).await.is_null());
        assert_eq!(json_of(app.call(&d, "operator/me", &[]).await).await["email"], email);
    }

    async fn wrong_passwords_and_codes_lock_an_operator_as_they_do_an_administrator(app: TestApp) {
        app.seed_operator(OperatorRole::Owner).await;
        let email = "owner@seller.test";
        let key = enrolled(&app, &TestApp::new_client(), email).await;
        app.clock.advance_minutes(1);
        let c = TestApp::new_client();
        for _ in 0..5 {
            assert_eq!(sign_in(&app, &c, email, "not the password at all").await.status(), 422);
        }
        assert_eq!(json_of(sign_in(&app, &c, email, TEST_PASSWORD).await).await, true);
        for _ in 0..5 {
            assert_eq!(app.call(&c, "operator/second-step", &[("code", "123456")]).await.status(), 422);
        }
        // Ten failures: locked, the right code and the right password refused alike.
        assert_eq!(app.call(&c, "operator/second-step", &[("code", &totp(&key, at_step(&app, 0)))]).await.status(), 422);
        assert_eq!(sign_in(&app, &TestApp::new_client(), email, TEST_PASSWORD).await.status(), 422);
        let failures: i64 = sqlx::query_scalar("SELECT second_step_failures FROM operators WHERE id = 'op-owner'")
            .fetch_one(app.db.pool()).await.unwrap();
        assert_eq!(failures, 5, "wrong codes count toward the second step's own count too");
        assert!(app.outbox_messages().iter().any(|m| m.contains(&format!("To: {email}")) && m.contains("Wrong codes on your Tally sign-in")));
        // Half an hour later the lock has ended.
        app.clock.advance_minutes(31);
        let d = TestApp::new_client();
        assert_eq!(json_of(sign_in(&app, &d, email, TEST_PASSWORD).await).await, true);
        assert_eq!(app.call(&d, "operator/second-step", &[("code", &totp(&key, at_step(&app, 0)))]).await.status(), 200);
    }

    async fn an_operator_added_by_the_service_is_held_to_the_rules_and_audited(app: TestApp) {
        use tally_services::identity::operators::NewOperator;
        let operators = &app.services.operators;
        let new = NewOperator { email: "Sam@Seller.test", first_name: "Sam", last_name: "Reyes", role: OperatorRole::Support };
        // The password rule, with their own details counted against it.
        let weak = operators.hash_new_password(&new, "sam@seller.test").await.unwrap_err();
        assert!(format!("{weak:?}").contains("password"), "{weak:?}");
        let hash = operators.hash_new_password(&new, "a sturdy support passphrase").await.unwrap();
        let mut work = app.services.ctx.begin("adding an operator").await.unwrap();
        operators.add_with_password(&mut work, &new, &hash).await.unwrap();
        work.commit().await.unwrap();
        // One operator per address, whatever its case; bad names are refused by core's rule.
        let mut work = app.services.ctx.begin("adding an operator").await.unwrap();
        let again = operators.add_with_password(&mut work, &NewOperator { email: "sam@seller.TEST", ..new }, &hash).await.unwrap_err();
        assert!(format!("{again:?}").contains("Another operator already uses this email address"), "{again:?}");
        let nameless = operators.add_with_password(&mut work, &NewOperator { first_name: " ", ..new }, &hash).await.unwrap_err();
        assert!(format!("{nameless:?}").contains("first_name"), "{nameless:?}");
        drop(work);
        let added: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE kind = 'operator_added' AND account_id IS NULL AND detail = 'role Support'")
            .fetch_one(app.db.pool()).await.unwrap();
        assert_eq!(added, 1, "audited as the seller's, in no account");
        // They sign in, and are held at setting up a second step.
        let c = TestApp::new_client();
        assert_eq!(json_of(sign_in(&app, &c, "sam@seller.test", "a sturdy support passphrase").await).await, false);
        assert_eq!(json_of(app.call(&c, "operator/me", &[]).await).await["role"], "Support");
    }

    async fn operator_and_customer_sessions_never_open_each_others_functions(app: TestApp) {
        app.seed_account("acme", &[Role::AdministratorWithBilling]).await;
        app.seed_operator(OperatorRole::Owner).await;
        // A customer administrator: no operator function answers them.
        let admin = app.signed_in("admin_billing@acme.test").await;
        assert!(json_of(app.call(&admin, "operator/me", &[]).await).await.is_null());
        for f in ["operator/two-step/status", "operator/two-step/start-app"] {
            assert_eq!(app.call(&admin, f, &[]).await.status(), 401, "{f}");
        }
        // Their password is no operator's: the tables are apart.
        assert_eq!(sign_in(&app, &TestApp::new_client(), "admin_billing@acme.test", TEST_PASSWORD).await.status(), 422);
        // An operator: no customer function answers them.
        let op = TestApp::new_client();
        enrolled(&app, &op, "owner@seller.test").await;
        assert!(json_of(app.call(&op, "account/me", &[]).await).await.is_null());
        for f in ["users/list", "admins/list", "two-step/status", "billing/overview"] {
            assert_eq!(app.call(&op, f, &[]).await.status(), 401, "{f}");
        }
        assert_eq!(app.call(&op, "audit/list", &[("filter[page]", "1")]).await.status(), 401);
        assert_eq!(app.call(&TestApp::new_client(), "account/sign-in", &[("email", "owner@seller.test"), ("password", TEST_PASSWORD)]).await.status(), 422);
        // Nobody: neither.
        let nobody = TestApp::new_client();
        assert!(json_of(app.call(&nobody, "operator/me", &[]).await).await.is_null());
        assert_eq!(app.call(&nobody, "operator/two-step/status", &[]).await.status(), 401);
    }
}
