//! Two-step verification (issue 18), on both databases: enrolling an authenticator app and a
//! passkey, signing in with each factor and with recovery codes, the lockout shared with
//! passwords, the account policy, the fresh check before each sensitive change, a reset by
//! another administrator, and other accounts kept out.

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use tally_core::roles::Role;

use crate::{
    authenticator::{totp, SoftPasskey},
    both_databases,
    helpers::{TestApp, TEST_PASSWORD},
};

/// The cookie of a half-done sign-in, and of a session.
const PENDING: &str = "tally_pending=";
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

/// Signs in with the password only; the response.
async fn password(app: &TestApp, client: &Client, email: &str) -> reqwest::Response {
    app.call(
        client,
        "account/sign-in",
        &[("email", email), ("password", TEST_PASSWORD)],
    )
    .await
}

/// The server's clock, in seconds, shifted by `steps` TOTP steps.
fn at_step(app: &TestApp, steps: i64) -> i64 {
    app.clock_now() / 1000 + steps * 30
}

/// Turns on an authenticator app for the signed-in `client`; returns its key and the
/// recovery codes shown.
pub(crate) async fn enrol_app(app: &TestApp, client: &Client) -> (String, Vec<String>) {
    let res = app.call(client, "two-step/start-app", &[]).await;
    assert_eq!(res.status(), 200);
    let enrolment = json_of(res).await;
    let key = enrolment["key"].as_str().unwrap().to_string();
    let code = totp(&key, at_step(app, 0));
    let res = app
        .call(client, "two-step/confirm-app", &[("code", &code)])
        .await;
    assert_eq!(res.status(), 200, "{:?}", res.text().await);
    let codes: Vec<String> = serde_json::from_value(json_of(res).await).unwrap();
    (key, codes)
}

/// Signs in `email` with the password and then `code`; the second step's response.
async fn sign_in_with_code(
    app: &TestApp,
    client: &Client,
    email: &str,
    code: &str,
) -> reqwest::Response {
    let res = password(app, client, email).await;
    assert!(res.status().is_success(), "{}", res.status());
    assert!(sets_cookie(&res, PENDING) && !sets_cookie(&res, SESSION));
    app.call(client, "account/second-step", &[("code", code)])
        .await
}

async fn me(app: &TestApp, client: &Client) -> Value {
    json_of(app.call(client, "account/me", &[]).await).await
}

async fn count(app: &TestApp, sql: &str, bind: &str) -> i64 {
    sqlx::query_scalar(sql)
        .bind(bind)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
}

fn mail_to(app: &TestApp, to: &str, needle: &str) -> usize {
    app.outbox_messages()
        .iter()
        .filter(|m| m.contains(&format!("To: {to}")) && m.contains(needle))
        .count()
}

/// Uses a reset link for `email` to set `new` as the password; the link's response.
async fn reset_password(app: &TestApp, email: &str, new: &str) -> reqwest::Response {
    let res = app
        .call(
            &TestApp::new_client(),
            "account/request-reset",
            &[("email", email)],
        )
        .await;
    assert!(res.status().is_success(), "{}", res.status());
    let mut link = None;
    for _ in 0..100 {
        app.services.ctx.outbox.deliver_due().await.unwrap();
        link = app.outbox_messages().iter().rev().find_map(|m| {
            crate::helpers::find_link(m, &format!("{}/reset-password/", app.address))
        });
        if link.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let token = link
        .expect("a reset link")
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    app.call(
        &TestApp::new_client(),
        "account/set-password",
        &[("kind", "Reset"), ("token", &token), ("password", new)],
    )
    .await
}

both_databases! {
    async fn an_authenticator_app_is_enrolled_with_a_current_code_and_asked_for_at_sign_in(app: TestApp) {
        app.seed_account("acme", &[Role::AdministratorWithBilling]).await;
        let email = "admin_billing@acme.test";
        let c = app.signed_in(email).await;

        // Enrolment: a QR code drawn on the server, the key as text, and then a current code.
        let enrolment = json_of(app.call(&c, "two-step/start-app", &[]).await).await;
        let svg = enrolment["qr_svg"].as_str().unwrap();
        assert!(svg.contains("<svg") && !svg.contains("href") && !svg.contains("<image"), "an inline SVG, nothing fetched");
        let key = enrolment["key"].as_str().unwrap().to_string();
        assert_eq!(key.replace(' ', "").len(), 32, "160 bits in base32: {key}");
        // The secret is sealed: neither the key nor its bytes are in the database.
        let sealed: String = sqlx::query_scalar("SELECT secret_sealed FROM admin_totp WHERE owner_id = 'acme-admin_billing'").fetch_one(app.db.pool()).await.unwrap();
        assert!(!sealed.contains(&key.replace(' ', "")) && !sealed.to_uppercase().contains(&key.replace(' ', "")[..8]));
        // Not on until a code from the app is given; a wrong one says so next to the field.
        assert_eq!(json_of(app.call(&c, "two-step/status", &[]).await).await["app"], false);
        let wrong = app.call(&c, "two-step/confirm-app", &[("code", "000000")]).await;
        assert_eq!(wrong.status(), 422);
        assert!(json_of(wrong).await["Validation"]["code"].is_string());
        let code = totp(&key, at_step(&app, 0));
        let on = app.call(&c, "two-step/confirm-app", &[("code", &code)]).await;
        assert_eq!(on.status(), 200);
        let codes: Vec<String> = serde_json::from_value(json_of(on).await).unwrap();
        assert_eq!(codes.len(), 10, "ten recovery codes, shown once");
        let stored = count(&app, "SELECT COUNT(*) FROM admin_recovery_codes WHERE owner_id = $1 AND code_hash IN ('', 'x')", "acme-admin_billing").await;
        assert_eq!(stored, 0);
        for code in &codes {
            let plain = count(&app, "SELECT COUNT(*) FROM admin_recovery_codes WHERE code_hash LIKE '%' || $1 || '%'", code).await;
            assert_eq!(plain, 0, "recovery codes are stored hashed");
        }
        let status = json_of(app.call(&c, "two-step/status", &[]).await).await;
        assert_eq!((status["app"].clone(), status["recovery_codes_left"].clone()), (json!(true), json!(10)));
        // Starting again while it is on is refused; the app's key is never shown again.
        assert_eq!(app.call(&c, "two-step/start-app", &[]).await.status(), 409);
        assert_eq!(mail_to(&app, email, "An authenticator app was set up"), 1);
        assert_eq!(count(&app, "SELECT COUNT(*) FROM audit_events WHERE kind = 'two_step_enabled' AND actor_id = $1", "acme-admin_billing").await, 1);

        // The code that turned it on was used: at sign-in it is refused, the next step's works.
        let d = TestApp::new_client();
        let pending = password(&app, &d, email).await;
        assert!(sets_cookie(&pending, PENDING) && !sets_cookie(&pending, SESSION), "the password alone opens no session");
        // The half-done sign-in grants nothing.
        assert!(me(&app, &d).await.is_null());
        assert_eq!(app.call(&d, "users/list", &[]).await.status(), 401);
        assert_eq!(app.call(&d, "two-step/status", &[]).await.status(), 401);
        let replay = app.call(&d, "account/second-step", &[("code", &code)]).await;
        assert_eq!(replay.status(), 422, "a code is accepted once");
        let next = totp(&key, at_step(&app, 1));
        let ok = app.call(&d, "account/second-step", &[("code", &next)]).await;
        assert!(ok.status().is_success(), "{}", ok.status());
        assert!(sets_cookie(&ok, SESSION));
        assert_eq!(me(&app, &d).await["email"], email);
        assert_eq!(app.call(&d, "account/second-step", &[("code", &totp(&key, at_step(&app, 2)))]).await.status(), 401, "the half-done sign-in ended");

        // One step of drift either way, no more; a code already used stays used.
        for (steps, accepted) in [(-2, false), (3, false), (1, false), (-1, false)] {
            let e = TestApp::new_client();
            let res = sign_in_with_code(&app, &e, email, &totp(&key, at_step(&app, steps))).await;
            assert_eq!(res.status().is_success(), accepted, "{steps:+} steps");
        }
        app.clock.advance_minutes(2);
        for (steps, accepted) in [(-2, false), (-1, true), (-1, false), (1, true), (0, false)] {
            let e = TestApp::new_client();
            let res = sign_in_with_code(&app, &e, email, &totp(&key, at_step(&app, steps))).await;
            assert_eq!(res.status().is_success(), accepted, "{steps:+} steps after two minutes");
        }
    }

    async fn recovery_codes_work_once_say_how_many_are_left_and_can_be_replaced(app: TestApp) {
        app.seed_account("acme", &[Role::AdministratorWithBilling]).await;
        let email = "admin_billing@acme.test";
        let c = app.signed_in(email).await;
        let (_, codes) = enrol_app(&app, &c).await;

        // Typed in capitals with a space instead of the dash, it still works.
        let typed = codes[0].to_uppercase().replace('-', " ");
        let d = TestApp::new_client();
        assert!(sign_in_with_code(&app, &d, email, &typed).await.status().is_success());
        assert_eq!(mail_to(&app, email, "9 are left"), 1);
        assert_eq!(json_of(app.call(&d, "two-step/status", &[]).await).await["recovery_codes_left"], 9);
        assert_eq!(count(&app, "SELECT COUNT(*) FROM audit_events WHERE kind = 'recovery_code_used' AND actor_id = $1", "acme-admin_billing").await, 1);
        // Used once, it is refused after.
        let e = TestApp::new_client();
        assert_eq!(sign_in_with_code(&app, &e, email, &codes[0]).await.status(), 422);

        // New codes replace every old one.
        let fresh = app.call(&d, "two-step/recovery-codes", &[]).await;
        assert_eq!(fresh.status(), 200);
        let new: Vec<String> = serde_json::from_value(json_of(fresh).await).unwrap();
        assert_eq!(new.len(), 10);
        assert!(new.iter().all(|c| !codes.contains(c)));
        assert_eq!(mail_to(&app, email, "New recovery codes were made"), 1);
        let f = TestApp::new_client();
        assert_eq!(sign_in_with_code(&app, &f, email, &codes[1]).await.status(), 422, "an old code no longer works");
        let g = TestApp::new_client();
        assert!(sign_in_with_code(&app, &g, email, &new[0]).await.status().is_success());
    }

    async fn wrong_codes_count_toward_the_password_lockout_and_the_half_sign_in_expires(app: TestApp) {
        app.seed_account("acme", &[Role::AdministratorWithBilling]).await;
        let email = "admin_billing@acme.test";
        let c = app.signed_in(email).await;
        let (key, _) = enrol_app(&app, &c).await;

        // Five wrong passwords, then the right one and five wrong codes: ten failures lock.
        let d = TestApp::new_client();
        for _ in 0..5 {
            let res = app.call(&d, "account/sign-in", &[("email", email), ("password", "wrong password here")]).await;
            assert_eq!(res.status(), 422);
        }
        assert!(password(&app, &d, email).await.status().is_success());
        for _ in 0..5 {
            assert_eq!(app.call(&d, "account/second-step", &[("code", "123456")]).await.status(), 422);
        }
        assert_eq!(count(&app, "SELECT COUNT(*) FROM audit_events WHERE kind = 'second_step_failed' AND detail = 'wrong code or passkey' AND actor_id = $1", "acme-admin_billing").await, 5);
        // The fifth wrong second step is also told to its owner.
        assert_eq!(count(&app, "SELECT COUNT(*) FROM audit_events WHERE kind = 'second_step_failed' AND detail = '5 wrong second steps' AND actor_id = $1", "acme-admin_billing").await, 1);
        assert_eq!(mail_to(&app, email, "Wrong codes on your Tally sign-in"), 1);
        // Locked: the right code and the right password are both refused now.
        let right = totp(&key, at_step(&app, 1));
        assert_eq!(app.call(&d, "account/second-step", &[("code", &right)]).await.status(), 422);
        let e = TestApp::new_client();
        assert_eq!(password(&app, &e, email).await.status(), 422);

        // After the lockout, the password alone does not clear the count of wrong codes
        // either: the whole sign-in does.
        app.clock.advance_minutes(31);
        let f = TestApp::new_client();
        let ok = sign_in_with_code(&app, &f, email, &totp(&key, at_step(&app, 0))).await;
        assert!(ok.status().is_success(), "{}", ok.status());
        let failures = count(&app, "SELECT failed_sign_ins FROM admins WHERE id = $1", "acme-admin_billing").await;
        assert_eq!(failures, 0);

        // The half-done sign-in lasts five minutes.
        let g = TestApp::new_client();
        assert!(password(&app, &g, email).await.status().is_success());
        app.clock.advance_minutes(6);
        let late = app.call(&g, "account/second-step", &[("code", &totp(&key, at_step(&app, 0)))]).await;
        assert_eq!(late.status(), 401);
    }

    async fn the_policy_sends_administrators_without_a_second_step_to_enrolment_first(app: TestApp) {
        app.seed_account("acme", &[Role::AdministratorWithBilling, Role::Administrator, Role::Manager]).await;
        let m = app.signed_in("manager@acme.test").await;
        // Only the two administrator roles set the policy.
        assert_eq!(app.call(&m, "two-step/policy", &[("required", "true")]).await.status(), 403);
        let a = app.signed_in("admin@acme.test").await;
        enrol_app(&app, &a).await;
        assert_eq!(app.call(&a, "two-step/policy", &[("required", "true")]).await.status(), 200);
        // Turning it off is for an Administrator With Billing only.
        let off = app.call(&a, "two-step/policy", &[("required", "false")]).await;
        assert_eq!(off.status(), 409);
        assert_eq!(json_of(off).await["Conflict"], "Only an Administrator With Billing can stop requiring two-step verification.");
        assert_eq!(count(&app, "SELECT COUNT(*) FROM audit_events WHERE kind = 'two_step_policy_changed' AND account_id = $1", "acct-acme").await, 1);
        let other = app.seed_account("other", &[Role::AdministratorWithBilling]).await;
        assert_eq!(count(&app, "SELECT CAST(CASE WHEN require_two_step THEN 1 ELSE 0 END AS BIGINT) FROM accounts WHERE id = $1", &other).await, 0, "another account is untouched");

        // At their next request, an administrator without a second step may only set one up.
        let n = app.signed_in("manager@acme.test").await;
        let who = me(&app, &n).await;
        assert_eq!(who["must_set_up_two_step"], true);
        let refused = app.call(&n, "users/list", &[]).await;
        assert_eq!(refused.status(), 403);
        assert_eq!(json_of(refused).await, "TwoStepSetupRequired");
        assert_eq!(app.call(&n, "commands/list", &[]).await.status(), 403);
        let status = json_of(app.call(&n, "two-step/status", &[]).await).await;
        assert_eq!(status["required"], true);
        enrol_app(&app, &n).await;
        assert_eq!(me(&app, &n).await["must_set_up_two_step"], false);
        assert_eq!(app.call(&n, "users/list", &[]).await.status(), 200);

        // The Administrators page shows who has it.
        let list = json_of(app.call(&a, "admins/list", &[]).await).await;
        let has: Vec<(String, bool)> = list["admins"].as_array().unwrap().iter()
            .map(|r| (r["email"].as_str().unwrap().to_string(), r["two_step"].as_bool().unwrap())).collect();
        assert!(has.contains(&("manager@acme.test".into(), true)) && has.contains(&("admin_billing@acme.test".into(), false)), "{has:?}");
        // The administrator with none is held at enrolment too.
        let b = app.signed_in("admin_billing@acme.test").await;
        assert_eq!(app.call(&b, "billing/settings", &[]).await.status(), 403);
        // The invoice PDF, a plain route, holds them at set-up too, before looking anything up
        // (once past set-up, they are told the invoice is not there).
        let pdf = b.get(app.url("/billing/invoices/no-such-invoice/pdf")).send().await.unwrap();
        assert_eq!(pdf.status(), 403);
        assert_eq!(json_of(pdf).await, "TwoStepSetupRequired");
        enrol_app(&app, &b).await;
        let pdf = b.get(app.url("/billing/invoices/no-such-invoice/pdf")).send().await.unwrap();
        assert_eq!(pdf.status(), 404);
        assert_eq!(app.call(&b, "two-step/policy", &[("required", "false")]).await.status(), 200);
    }

    async fn a_password_change_with_a_second_step_needs_a_fresh_check_keeps_the_proof_and_is_emailed(app: TestApp) {
        app.seed_account("acme", &[Role::AdministratorWithBilling, Role::Manager]).await;
        let email = "admin_billing@acme.test";
        let c = app.signed_in(email).await;
        let (key, _) = enrol_app(&app, &c).await;
        let change = |client: Client, current: &'static str, new: &'static str| {
            let app = &app;
            async move {
                app.call(&client, "account/change-password", &[("current_password", current), ("new_password", new)]).await
            }
        };
        // A borrowed session and a remembered password are not enough once the proof is old.
        app.clock.advance_minutes(11);
        let res = change(c.clone(), TEST_PASSWORD, "a brand new sturdy passphrase").await;
        assert_eq!(res.status(), 403);
        assert_eq!(json_of(res).await, "FreshCheckRequired");
        assert_eq!(mail_to(&app, email, "Your Tally password was changed"), 0);
        // With a code it goes through; the session that replaces this one is no fresher.
        assert_eq!(app.call(&c, "two-step/confirm", &[("code", &totp(&key, at_step(&app, 0)))]).await.status(), 200);
        let proven = app.clock_now();
        app.clock.advance_minutes(5);
        let res = change(c.clone(), TEST_PASSWORD, "a brand new sturdy passphrase").await;
        assert_eq!(res.status(), 200, "{:?}", res.text().await);
        assert_eq!(count(&app, "SELECT COUNT(*) FROM sessions WHERE admin_id = $1", "acme-admin_billing").await, 1);
        assert_eq!(count(&app, "SELECT verified_at FROM sessions WHERE admin_id = $1", "acme-admin_billing").await, proven);
        app.clock.advance_minutes(6);
        let res = app.call(&c, "two-step/policy", &[("required", "true")]).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        assert_eq!(json_of(res).await, "FreshCheckRequired", "11 minutes after the proof");
        assert_eq!(mail_to(&app, email, "Your Tally password was changed"), 1);
        assert_eq!(mail_to(&app, email, "changed in Account settings"), 1);

        // Without a second step the current password is the proof, however old the session.
        let m = app.signed_in("manager@acme.test").await;
        app.clock.advance_minutes(12);
        let res = change(m, TEST_PASSWORD, "the manager's new passphrase").await;
        assert_eq!(res.status(), 200, "{:?}", res.text().await);
        assert_eq!(mail_to(&app, "manager@acme.test", "Your Tally password was changed"), 1);
    }

    async fn a_completed_reset_is_emailed(app: TestApp) {
        app.seed_account("acme", &[Role::AdministratorWithBilling]).await;
        let email = "admin_billing@acme.test";
        let res = reset_password(&app, email, "a reset and sturdy passphrase").await;
        assert_eq!(res.status(), 200, "{:?}", res.text().await);
        app.services.ctx.outbox.deliver_due().await.unwrap();
        assert_eq!(mail_to(&app, email, "changed with a reset link"), 1);
    }

    async fn wrong_second_steps_are_counted_apart_told_at_five_and_close_the_second_step_at_twenty(app: TestApp) {
        app.seed_account("acme", &[Role::AdministratorWithBilling, Role::Manager]).await;
        let email = "manager@acme.test";
        let c = app.signed_in(email).await;
        let (key, _) = enrol_app(&app, &c).await;
        let failures = || count(&app, "SELECT second_step_failures FROM admins WHERE id = $1", "acme-manager");
        let told = |needle: &'static str| mail_to(&app, email, needle);

        // Ten wrong codes: the lockout's ten. The fifth emails the owner, once.
        let d = TestApp::new_client();
        assert!(password(&app, &d, email).await.status().is_success());
        for n in 1..=10 {
            assert_eq!(app.call(&d, "account/second-step", &[("code", "123456")]).await.status(), 422);
            assert_eq!(told("Wrong codes on your Tally sign-in"), usize::from(n >= 5), "after {n}");
        }
        assert_eq!(failures().await, 10);
        // Neither the lock's end nor a reset link clears the second-step count.
        app.clock.advance_minutes(31);
        let res = reset_password(&app, email, "a reset and sturdy passphrase").await;
        assert_eq!(res.status(), 200, "{:?}", res.text().await);
        assert_eq!(count(&app, "SELECT failed_sign_ins FROM admins WHERE id = $1", "acme-manager").await, 0);
        assert_eq!(failures().await, 10);
        let e = TestApp::new_client();
        let res = app.call(&e, "account/sign-in", &[("email", email), ("password", "a reset and sturdy passphrase")]).await;
        assert!(sets_cookie(&res, PENDING), "the reset leads to the second step");
        for _ in 11..=20 {
            assert_eq!(app.call(&e, "account/second-step", &[("code", "654321")]).await.status(), 422);
        }
        assert_eq!(failures().await, 20);
        assert_eq!(told("Your Tally two-step verification is closed"), 1);
        assert_eq!(told("Wrong codes on your Tally sign-in"), 1, "told once at five");

        // Closed: after the lock's end, with the password and the right code, still no way in.
        app.clock.advance_minutes(31);
        let f = TestApp::new_client();
        let res = app.call(&f, "account/sign-in", &[("email", email), ("password", "a reset and sturdy passphrase")]).await;
        assert!(sets_cookie(&res, PENDING));
        let res = app.call(&f, "account/second-step", &[("code", &totp(&key, at_step(&app, 0)))]).await;
        assert_eq!(res.status(), 422);
        let message = json_of(res).await["Validation"]["code"].as_str().unwrap().to_string();
        assert!(message.contains("closed after 20 wrong codes") && message.contains("Administrator With Billing"), "{message}");
        assert_eq!(failures().await, 20, "a closed second step counts no more");

        // An Administrator With Billing resets it; the manager signs in with the password and
        // sets a second step up again.
        let b = app.signed_in("admin_billing@acme.test").await;
        assert_eq!(app.call(&b, "admins/reset-two-step", &[("id", "acme-manager")]).await.status(), 200);
        assert_eq!(failures().await, 0);
        let g = TestApp::new_client();
        let res = app.call(&g, "account/sign-in", &[("email", email), ("password", "a reset and sturdy passphrase")]).await;
        assert!(sets_cookie(&res, SESSION));

        // A right second step clears the count.
        let (key, _) = enrol_app(&app, &g).await;
        sqlx::query("UPDATE admins SET second_step_failures = 7 WHERE id = 'acme-manager'").execute(app.db.pool()).await.unwrap();
        app.clock.advance_minutes(1);
        let h = TestApp::new_client();
        let res = app.call(&h, "account/sign-in", &[("email", email), ("password", "a reset and sturdy passphrase")]).await;
        assert!(sets_cookie(&res, PENDING));
        assert!(app.call(&h, "account/second-step", &[("code", &totp(&key, at_step(&app, 0)))]).await.status().is_success());
        assert_eq!(failures().await, 0);
    }

    async fn the_second_step_and_passkey_options_count_toward_the_per_address_throttle(app: TestApp) {
        app.seed_account("acme", &[Role::AdministratorWithBilling]).await;
        let email = "admin_billing@acme.test";
        let c = app.signed_in(email).await;
        enrol_app(&app, &c).await;
        app.clock.advance_minutes(1);
        // 20 attempts a minute from one address (the default): one password, then codes.
        let d = TestApp::new_client();
        assert!(password(&app, &d, email).await.status().is_success());
        let mut statuses = Vec::new();
        for _ in 0..21 {
            statuses.push(app.call(&d, "account/second-step", &[("code", "123456")]).await.status().as_u16());
        }
        assert_eq!(statuses.iter().filter(|s| **s == 422).count(), 19, "{statuses:?}");
        assert!(statuses[19..].iter().all(|s| *s == 429), "{statuses:?}");
        assert!(count(&app, "SELECT second_step_failures FROM admins WHERE id = $1", "acme-admin_billing").await <= 19);
        // A passkey's options too (counted before the question whether there is a passkey).
        assert_eq!(app.call(&d, "account/second-step-passkey-options", &[]).await.status(), 429);
        assert_eq!(app.call(&c, "two-step/confirm-passkey-options", &[]).await.status(), 429);
        app.clock.advance_minutes(1);
        assert_ne!(app.call(&d, "account/second-step-passkey-options", &[]).await.status(), 429);
    }

    async fn a_change_to_how_one_signs_in_ends_every_other_session_and_half_done_sign_in(app: TestApp) {
        app.seed_account("acme", &[Role::AdministratorWithBilling]).await;
        let email = "admin_billing@acme.test";
        let id = "acme-admin_billing";
        let here = app.signed_in(email).await;
        let elsewhere = app.signed_in(email).await;
        // Adding an authenticator app: only the session that did it stays.
        let (key, _) = enrol_app(&app, &here).await;
        assert!(me(&app, &elsewhere).await.is_null());
        assert_eq!(me(&app, &here).await["email"], email);
        assert_eq!(mail_to(&app, email, "Every other session of yours has ended"), 1);

        // A half-done sign-in ends too: new recovery codes, and its right code opens nothing.
        let half = TestApp::new_client();
        assert!(password(&app, &half, email).await.status().is_success());
        assert_eq!(app.call(&here, "two-step/recovery-codes", &[]).await.status(), 200);
        let res = app.call(&half, "account/second-step", &[("code", &totp(&key, at_step(&app, 1)))]).await;
        assert_eq!(res.status(), 401);
        assert_eq!(count(&app, "SELECT COUNT(*) FROM pending_sign_ins WHERE admin_id = $1", id).await, 0);

        // Removing the app, likewise.
        app.clock.advance_minutes(1);
        let other = TestApp::new_client();
        assert!(sign_in_with_code(&app, &other, email, &totp(&key, at_step(&app, 0))).await.status().is_success());
        assert_eq!(app.call(&here, "two-step/remove-app", &[]).await.status(), 200);
        assert!(me(&app, &other).await.is_null());
        assert_eq!(me(&app, &here).await["email"], email);

        // "Sign out other sessions": every session but this one, and it says how many.
        let a = app.signed_in(email).await;
        let b = app.signed_in(email).await;
        let res = app.call(&here, "account/sign-out-others", &[]).await;
        assert_eq!(res.status(), 200);
        assert_eq!(json_of(res).await, 2);
        assert!(me(&app, &a).await.is_null() && me(&app, &b).await.is_null());
        assert_eq!(me(&app, &here).await["email"], email);
        assert_eq!(count(&app, "SELECT COUNT(*) FROM sessions WHERE admin_id = $1", id).await, 1);
        assert_eq!(count(&app, "SELECT COUNT(*) FROM audit_events WHERE kind = 'sign_out' AND detail = '2 other sessions ended' AND actor_id = $1", id).await, 1);
        // Not signed in: nothing to end.
        assert_eq!(app.call(&TestApp::new_client(), "account/sign-out-others", &[]).await.status(), 401);
    }

    async fn a_sealed_secret_opens_only_in_its_own_row_and_the_data_key_rotates(app: TestApp) {
        app.seed_account("acme", &[Role::AdministratorWithBilling, Role::Manager]).await;
        let (ann, bob) = ("acme-admin_billing", "acme-manager");
        let a = app.signed_in("admin_billing@acme.test").await;
        let (key, _) = enrol_app(&app, &a).await;
        let b = app.signed_in("manager@acme.test").await;
        enrol_app(&app, &b).await;
        let sealed = |id: &'static str| {
            let app = &app;
            async move {
                sqlx::query_scalar::<_, String>("SELECT secret_sealed FROM admin_totp WHERE owner_id = $1")
                    .bind(id)
                    .fetch_one(app.db.pool())
                    .await
                    .unwrap()
            }
        };
        let anns = sealed(ann).await;
        assert!(anns.starts_with("b1."), "bound to its row: {anns}");
        // Ann's sealed secret copied into Bob's row: Ann's codes do not open Bob's sign-in.
        sqlx::query("UPDATE admin_totp SET secret_sealed = $1 WHERE owner_id = $2")
            .bind(&anns)
            .bind(bob)
            .execute(app.db.pool())
            .await
            .unwrap();
        app.clock.advance_minutes(1);
        let c = TestApp::new_client();
        let res = sign_in_with_code(&app, &c, "manager@acme.test", &totp(&key, at_step(&app, 0))).await;
        assert!(!res.status().is_success(), "{}", res.status());
        assert!(!sets_cookie(&res, SESSION));

        // A secret sealed by an earlier version (bound to no row) is bound at start.
        let data = app.services.ctx.keys.data();
        let plain = data.open_for(&format!("admin_totp/{ann}"), &anns).unwrap();
        sqlx::query("UPDATE admin_totp SET secret_sealed = $1 WHERE owner_id = $2")
            .bind(data.seal_unbound(&plain))
            .bind(bob)
            .execute(app.db.pool())
            .await
            .unwrap();
        assert_eq!(app.services.two_step.bind_unbound_secrets().await.unwrap(), 1);
        let bobs = sealed(bob).await;
        assert_eq!(data.open_for(&format!("admin_totp/{bob}"), &bobs), Some(plain.clone()));
        assert_eq!(app.services.two_step.bind_unbound_secrets().await.unwrap(), 0);

        // `tally rotate-secret --data-key`: a new data key, every secret sealed again under it.
        let dir = app.outbox.parent().unwrap().to_path_buf();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_tally"))
            .arg("rotate-secret")
            .arg("--data-key")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("TALLY_DATA_DIR", &dir)
            .env("DATABASE_URL", &app.database_url)
            .env("RUST_LOG", "off")
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{said} {}", String::from_utf8_lossy(&out.stderr));
        assert!(said.contains("2 authenticator secrets sealed again"), "{said}");
        let rotated = sealed(ann).await;
        assert_ne!(rotated, anns);
        assert_eq!(data.open_for(&format!("admin_totp/{ann}"), &rotated), None, "the old data key no longer opens it");
        let keys = tally_services::platform::secrets::load(
            &tally_services::platform::secrets::KeySource::File(dir.join(tally_services::platform::secrets::KEY_FILE)),
            &app.db,
        )
        .await
        .unwrap();
        assert_eq!(keys.data().open_for(&format!("admin_totp/{ann}"), &rotated), Some(plain));
    }

    async fn each_sensitive_change_needs_a_fresh_check_once_ten_minutes_have_passed(app: TestApp) {
        app.seed_account("acme", &[Role::AdministratorWithBilling, Role::Manager, Role::HelpDesk, Role::ReadOnly]).await;
        let c = app.signed_in("admin_billing@acme.test").await;
        let info = json!({ "info": {
            "company_name": "Acme Corp", "contact_name": "Dana Park", "contact_email": "billing@acme.test",
            "contact_phone": "+1 555 123 4567",
            "address": { "country": "US", "line1": "1 Main St", "line2": "", "city": "Springfield", "region": "IL", "postal_code": "62701" },
            "tax_id": ""
        }});
        let card = |key: &str| json!({
            "payment": { "cardholder_name": "Dana Park", "same_as_billing": true,
                         "address": { "country": "", "line1": "", "line2": "", "city": "", "region": "", "postal_code": "" } },
            "card": { "number": "4242 4242 4242 4242", "expiry": "12/30", "cvc": "123" }, // sandbox test number
            "idempotency_key": key,
        });
        // Within ten minutes of signing in, no check is asked.
        assert_eq!(app.call_json_from(&c, "billing/save-info", &info).await.status(), 200);

        app.clock.advance_minutes(11);
        let forms: Vec<(&str, Vec<(&str, &str)>)> = vec![
            ("admins/create", vec![("first_name", "New"), ("last_name", "Person"), ("email", "new@acme.test"), ("role", "manager")]),
            ("admins/set-role", vec![("id", "acme-manager"), ("role", "read_only")]),
            ("admins/suspend", vec![("id", "acme-help_desk")]),
            ("admins/delete", vec![("id", "acme-read_only")]),
            ("two-step/policy", vec![("required", "false")]),
            ("admins/reset-two-step", vec![("id", "acme-manager")]),
            ("two-step/start-app", vec![]),
            ("two-step/passkey-options", vec![("name", "Laptop")]),
        ];
        let stale = |res: reqwest::Response| async move {
            assert_eq!(res.status(), StatusCode::FORBIDDEN);
            assert_eq!(json_of(res).await, "FreshCheckRequired", "a reason the browser acts on");
        };
        for (endpoint, form) in &forms {
            stale(app.call(&c, endpoint, form).await).await;
        }
        stale(app.call_json_from(&c, "billing/save-info", &info).await).await;
        // The card window asks the server first (the processor's set-up), with the same check.
        let saving = app.save_card_from(&c, &card("k1")).await;
        assert_eq!(saving.status(), StatusCode::FORBIDDEN);
        assert_eq!(saving.json::<Value>().await.unwrap(), "FreshCheckRequired", "a reason the browser acts on");
        // Nothing changed.
        assert_eq!(count(&app, "SELECT COUNT(*) FROM admins WHERE account_id = $1", "acct-acme").await, 4);
        assert_eq!(count(&app, "SELECT COUNT(*) FROM admins WHERE role = 'manager' AND status = 'active' AND id = $1", "acme-manager").await, 1);
        assert_eq!(count(&app, "SELECT COUNT(*) FROM payment_methods WHERE account_id = $1", "acct-acme").await, 0);
        // Reading needs no check.
        assert_eq!(app.call(&c, "admins/list", &[]).await.status(), 200);

        // The check, for someone without a second step, is the password; a wrong one is
        // refused next to the field and counts toward the lockout.
        let wrong = app.call(&c, "two-step/confirm", &[("password", "not the password")]).await;
        assert_eq!(wrong.status(), 422);
        assert!(json_of(wrong).await["Validation"]["password"].is_string());
        assert_eq!(count(&app, "SELECT failed_sign_ins FROM admins WHERE id = $1", "acme-admin_billing").await, 1);
        assert_eq!(app.call(&c, "two-step/confirm", &[("code", "123456")]).await.status(), 422, "no code without a second step");
        assert_eq!(app.call(&c, "two-step/confirm", &[("password", TEST_PASSWORD)]).await.status(), 200);
        for (endpoint, form) in &forms[..5] {
            let res = app.call(&c, endpoint, form).await;
            assert_eq!(res.status(), 200, "{endpoint}: {:?}", res.text().await);
        }
        assert_eq!(app.call_json_from(&c, "billing/save-info", &info).await.status(), 200);
        assert_eq!(app.save_card_from(&c, &card("k2")).await.status(), 200);

        // With an authenticator app, the password no longer does: a code does.
        let (key, _) = enrol_app(&app, &c).await;
        app.clock.advance_minutes(11);
        stale(app.call(&c, "two-step/policy", &[("required", "false")]).await).await;
        let res = app.call(&c, "two-step/confirm", &[("password", TEST_PASSWORD)]).await;
        assert_eq!(res.status(), 422);
        assert!(json_of(res).await["Validation"]["code"].is_string());
        let code = totp(&key, at_step(&app, 0));
        assert_eq!(app.call(&c, "two-step/confirm", &[("code", &code)]).await.status(), 200);
        assert_eq!(app.call(&c, "two-step/policy", &[("required", "false")]).await.status(), 200);
        // Another session of the same administrator is not made fresh by it.
        let other = app.signed_in_second_step("admin_billing@acme.test", &totp(&key, at_step(&app, 1))).await;
        app.clock.advance_minutes(11);
        assert_eq!(app.call(&c, "two-step/confirm", &[("code", &totp(&key, at_step(&app, 0)))]).await.status(), 200);
        stale(app.call(&other, "two-step/policy", &[("required", "true")]).await).await;
    }

    async fn an_administrator_with_billing_resets_a_lost_device_and_nobody_their_own(app: TestApp) {
        app.seed_account("acme", &[Role::AdministratorWithBilling, Role::Administrator, Role::Manager]).await;
        app.seed_account("other", &[Role::AdministratorWithBilling]).await;
        let m = app.signed_in("manager@acme.test").await;
        enrol_app(&app, &m).await;
        let b = app.signed_in("admin_billing@acme.test").await;

        // Not an Administrator, not another account, not oneself.
        let a = app.signed_in("admin@acme.test").await;
        assert_eq!(app.call(&a, "admins/reset-two-step", &[("id", "acme-manager")]).await.status(), 403);
        let o = app.signed_in("admin_billing@other.test").await;
        assert_eq!(app.call(&o, "admins/reset-two-step", &[("id", "acme-manager")]).await.status(), 404);
        assert_eq!(app.call(&m, "admins/reset-two-step", &[("id", "acme-manager")]).await.status(), 403);
        assert_eq!(count(&app, "SELECT COUNT(*) FROM admin_totp WHERE owner_id = $1", "acme-manager").await, 1);
        enrol_app(&app, &b).await;
        assert_eq!(app.call(&b, "admins/reset-two-step", &[("id", "acme-admin_billing")]).await.status(), 409, "not one's own");

        let res = app.call(&b, "admins/reset-two-step", &[("id", "acme-manager")]).await;
        assert_eq!(res.status(), 200);
        for table in ["admin_totp", "admin_recovery_codes", "admin_passkeys"] {
            assert_eq!(count(&app, &format!("SELECT COUNT(*) FROM {table} WHERE owner_id = $1"), "acme-manager").await, 0, "{table}");
        }
        assert!(me(&app, &m).await.is_null(), "their sessions ended");
        assert_eq!(mail_to(&app, "manager@acme.test", "reset your two-step verification"), 1);
        assert_eq!(count(&app, "SELECT COUNT(*) FROM audit_events WHERE kind = 'two_step_reset' AND actor_id = $1", "acme-admin_billing").await, 1);
        // The password alone signs them in again, to set it up anew.
        let n = TestApp::new_client();
        let res = password(&app, &n, "manager@acme.test").await;
        assert!(sets_cookie(&res, SESSION));
    }

    async fn another_accounts_factors_are_out_of_reach(app: TestApp) {
        app.seed_account("acme", &[Role::AdministratorWithBilling]).await;
        app.seed_account("other", &[Role::AdministratorWithBilling]).await;
        let c = app.signed_in("admin_billing@acme.test").await;
        let o = app.signed_in("admin_billing@other.test").await;
        enrol_app(&app, &c).await;
        sqlx::query("INSERT INTO admin_passkeys (id, owner_id, account_id, name, credential, last_used_at, created_at) VALUES ('pk-acme', 'acme-admin_billing', 'acct-acme', 'Laptop', '{}', NULL, 0)")
            .execute(app.db.pool()).await.unwrap();
        // Other people's passkeys and two-step state are neither listed nor removable.
        let theirs = json_of(app.call(&o, "two-step/status", &[]).await).await;
        assert_eq!((theirs["app"].clone(), theirs["passkeys"].clone()), (json!(false), json!([])));
        assert_eq!(app.call(&o, "two-step/remove-passkey", &[("id", "pk-acme")]).await.status(), 404);
        assert_eq!(count(&app, "SELECT COUNT(*) FROM admin_passkeys WHERE id = $1", "pk-acme").await, 1);
        // Their half-done sign-in cannot be finished with a code of another administrator's.
        let d = TestApp::new_client();
        let p = password(&app, &d, "admin_billing@other.test").await;
        assert!(sets_cookie(&p, SESSION), "no second step there");
        assert_eq!(app.call(&o, "two-step/policy", &[("required", "true")]).await.status(), 200);
        assert_eq!(count(&app, "SELECT CAST(CASE WHEN require_two_step THEN 1 ELSE 0 END AS BIGINT) FROM accounts WHERE id = $1", "acct-acme").await, 0);
    }
}

/// Passkeys need a host name: these servers say they are at `http://localhost:<port>`.
mod passkeys {
    use super::*;
    use tally_services::platform::db::Backend;

    async fn registers_signs_in_and_confirms(backend: Backend) {
        let app =
            TestApp::spawn_with(backend, &[("TALLY_PUBLIC_URL", "http://localhost:{port}")]).await;
        let origin = format!(
            "http://localhost:{}",
            app.address.rsplit(':').next().unwrap()
        );
        app.seed_account("acme", &[Role::AdministratorWithBilling])
            .await;
        let email = "admin_billing@acme.test";
        let c = app.signed_in(email).await;
        let mut laptop = SoftPasskey::new(&origin, 7);

        let bad_name = app
            .call(&c, "two-step/passkey-options", &[("name", "")])
            .await;
        assert_eq!(bad_name.status(), 422);
        let creation = json_of(
            app.call(&c, "two-step/passkey-options", &[("name", "Work laptop")])
                .await,
        )
        .await;
        assert_eq!(creation["options"]["publicKey"]["rp"]["id"], "localhost");
        let answer = laptop.register(&creation["options"]);
        let added = app
            .call_json_from(
                &c,
                "two-step/add-passkey",
                &json!({ "ceremony": creation["ceremony"], "credential": answer }),
            )
            .await;
        assert_eq!(added.status(), 200, "{:?}", added.text().await);
        let codes: Vec<String> = serde_json::from_value(json_of(added).await).unwrap();
        assert_eq!(
            codes.len(),
            10,
            "the first second step comes with recovery codes"
        );
        // The ceremony is used up.
        let again = app
            .call_json_from(
                &c,
                "two-step/add-passkey",
                &json!({ "ceremony": creation["ceremony"], "credential": answer }),
            )
            .await;
        assert_eq!(again.status(), 409);
        let status = json_of(app.call(&c, "two-step/status", &[]).await).await;
        assert_eq!(status["passkeys"][0]["name"], "Work laptop");
        assert!(status["passkeys"][0]["last_used_at"].is_null());
        assert_eq!(
            mail_to(&app, email, "was added to two-step verification"),
            1
        );

        // Sign-in: the password, then the passkey.
        let d = TestApp::new_client();
        assert!(sets_cookie(&password(&app, &d, email).await, PENDING));
        let request = json_of(
            app.call(&d, "account/second-step-passkey-options", &[])
                .await,
        )
        .await;
        let proof = laptop.sign(&request["options"]);
        // A passkey the account does not know proves nothing, and counts as a failure.
        let mut stranger = SoftPasskey::new(&origin, 9);
        stranger.register(&creation["options"]);
        let forged = stranger.sign(&request["options"]);
        let res = app
            .call_json_from(
                &d,
                "account/second-step-passkey",
                &json!({ "ceremony": request["ceremony"], "credential": forged }),
            )
            .await;
        assert_eq!(res.status(), 422);
        let request = json_of(
            app.call(&d, "account/second-step-passkey-options", &[])
                .await,
        )
        .await;
        let res = app
            .call_json_from(
                &d,
                "account/second-step-passkey",
                &json!({ "ceremony": request["ceremony"], "credential": proof }),
            )
            .await;
        assert_eq!(res.status(), 422, "an answer to another challenge");
        let request = json_of(
            app.call(&d, "account/second-step-passkey-options", &[])
                .await,
        )
        .await;
        let proof = laptop.sign(&request["options"]);
        let res = app
            .call_json_from(
                &d,
                "account/second-step-passkey",
                &json!({ "ceremony": request["ceremony"], "credential": proof }),
            )
            .await;
        assert_eq!(res.status(), 200, "{:?}", res.text().await);
        assert!(sets_cookie(&res, SESSION));
        assert_eq!(me(&app, &d).await["email"], email);
        let status = json_of(app.call(&d, "two-step/status", &[]).await).await;
        assert!(status["passkeys"][0]["last_used_at"].is_i64());

        // The fresh check with the passkey.
        app.clock.advance_minutes(11);
        assert_eq!(
            app.call(&d, "two-step/policy", &[("required", "true")])
                .await
                .status(),
            403
        );
        let request = json_of(app.call(&d, "two-step/confirm-passkey-options", &[]).await).await;
        let proof = laptop.sign(&request["options"]);
        let res = app
            .call_json_from(
                &d,
                "two-step/confirm-passkey",
                &json!({ "ceremony": request["ceremony"], "credential": proof }),
            )
            .await;
        assert_eq!(res.status(), 200);
        assert_eq!(
            app.call(&d, "two-step/policy", &[("required", "true")])
                .await
                .status(),
            200
        );

        // Removing it (fresh) says so by email.
        let id = status["passkeys"][0]["id"].as_str().unwrap().to_string();
        assert_eq!(
            app.call(&d, "two-step/remove-passkey", &[("id", &id)])
                .await
                .status(),
            200
        );
        assert_eq!(
            mail_to(&app, email, "was removed from two-step verification"),
            1
        );
        assert_eq!(
            json_of(app.call(&d, "two-step/status", &[]).await).await["passkeys"],
            json!([])
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        registers_signs_in_and_confirms(Backend::Sqlite).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        registers_signs_in_and_confirms(Backend::Postgres).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn are_unavailable_at_an_ip_address() {
        let app = TestApp::spawn(Backend::Sqlite).await;
        app.seed_account("acme", &[Role::AdministratorWithBilling])
            .await;
        let c = app.signed_in("admin_billing@acme.test").await;
        assert_eq!(
            json_of(app.call(&c, "two-step/status", &[]).await).await["passkeys_available"],
            false
        );
        let res = app
            .call(&c, "two-step/passkey-options", &[("name", "Laptop")])
            .await;
        assert_eq!(res.status(), 409);
    }
}
