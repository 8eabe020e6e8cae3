//! Accounts, sign-in, sessions, links and the audit log (issue 4), on both databases.

use reqwest::{Client, StatusCode};
use serde_json::Value;

use crate::{
    both_databases,
    helpers::{find_link, seller_setup_form, TestApp},
};

const PASSWORD: &str = "correct horse battery staple";
const EMAIL: &str = "ann@acme.test";

/// Acme, made from the console, its first administrator Ann accepting the invitation from
/// `client` (signed in as her); returns that answer.
async fn setup(app: &TestApp, client: &Client) -> reqwest::Response {
    app.account_from_console(client, "Acme", ("Ann", "Lee", EMAIL), PASSWORD)
        .await
}

/// Runs set-up (the seller and its Owner) from `client`; returns the response.
async fn set_up_seller(app: &TestApp, client: &Client) -> reqwest::Response {
    app.call(
        client,
        "setup/create",
        &seller_setup_form(&app.setup_code, PASSWORD),
    )
    .await
}

async fn me(app: &TestApp, client: &Client) -> Value {
    let res = app.call(client, "account/me", &[]).await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

async fn sign_in(app: &TestApp, client: &Client, email: &str, password: &str) -> reqwest::Response {
    app.call(
        client,
        "account/sign-in",
        &[("email", email), ("password", password)],
    )
    .await
}

fn session_cookie(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("tally_session="))
        .map(str::to_string)
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
}

both_databases! {
    async fn setup_makes_the_seller_and_its_owner_signs_them_in_and_then_answers_404(app: TestApp) {
        assert_eq!(app.get("/setup").await.status(), 200);
        let res = set_up_seller(&app, &app.client).await;
        assert!(res.status().is_success() || res.status().is_redirection(), "{}", res.status());
        let cookie = res.headers().get_all("set-cookie").iter().filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("tally_operator=")).map(str::to_string).expect("an operator session");
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
        assert!(session_cookie(&res).is_none(), "never a customer session");
        // The Owner, who must set up a second step before anything else.
        let me: Value = app.call(&app.client, "operator/me", &[]).await.json().await.unwrap();
        assert_eq!((me["email"].as_str(), me["role"].as_str(), me["must_set_up_two_step"].as_bool()),
            (Some("olive@seller.test"), Some("Owner"), Some(true)));
        assert_eq!(app.call(&app.client, "account/me", &[]).await.json::<Value>().await.unwrap(), Value::Null);
        // The seller, with its details and default plan.
        let seller = tally_services::seller::profile::details(app.db.pool()).await.unwrap().expect("the seller");
        assert_eq!((seller.legal_name.as_str(), seller.contact_email.as_str()), ("Seller Ltd", "billing@seller.test"));
        assert_eq!((seller.default_plan.price_per_user.minor(), seller.default_plan.free_users), (500, 10));
        assert_eq!(count(&app, "SELECT COUNT(*) FROM audit_events WHERE kind = 'seller_set_up'").await, 1);
        // No customer account: those are made from the console.
        assert_eq!(count(&app, "SELECT COUNT(*) FROM accounts").await, 0);
        // Afterwards set-up is gone: the page and the function both answer 404.
        assert_eq!(app.get("/setup").await.status(), 404);
        let again = set_up_seller(&app, &TestApp::new_client()).await;
        assert_eq!(again.status(), 404);
        assert_eq!(count(&app, "SELECT COUNT(*) FROM operators").await, 1);
    }

    async fn setup_reports_every_bad_field(app: TestApp) {
        let mut form = seller_setup_form(&app.setup_code, "password1234");
        for (k, v) in form.iter_mut() {
            match *k {
                "legal_name" | "last_name" | "line1" => *v = "",
                "email" | "contact_email" => *v = "nope",
                "price_per_user" => *v = "5.001",
                "free_users" => *v = "ten",
                "postal_code" => *v = "ABC",
                _ => {}
            }
        }
        let res = app.call(&app.client, "setup/create", &form).await;
        assert_eq!(res.status(), 422);
        let body: Value = res.json().await.unwrap();
        let errors = &body["Validation"];
        for f in ["legal_name", "contact_email", "line1", "postal_code", "price_per_user", "free_users", "last_name", "email", "password"] {
            assert!(errors[f].is_string(), "{f}: {body}");
        }
        assert_eq!(count(&app, "SELECT COUNT(*) FROM sellers").await, 0);
        assert_eq!(count(&app, "SELECT COUNT(*) FROM operators").await, 0);
    }

    async fn an_installation_with_accounts_and_no_seller_keeps_them_and_is_set_up_the_same_way(app: TestApp) {
        // An installation from before the seller: its account carries on, `/` does not send
        // anyone to set-up, and the set-up page is still there for whoever has the code.
        app.seed_account("old", &[tally_core::roles::Role::AdministratorWithBilling]).await;
        let res = app.get("/").await;
        assert_eq!(res.headers()["location"], "/login");
        assert_eq!(app.get("/setup").await.status(), 200);
        let c = app.signed_in("admin_billing@old.test").await;
        assert_eq!(me(&app, &c).await["email"], "admin_billing@old.test");
        let res = set_up_seller(&app, &TestApp::new_client()).await;
        assert!(res.status().is_success() || res.status().is_redirection(), "{}", res.status());
        assert_eq!(count(&app, "SELECT COUNT(*) FROM accounts").await, 1);
        assert_eq!(me(&app, &c).await["email"], "admin_billing@old.test");
    }

    async fn every_failed_sign_in_gets_the_same_answer(app: TestApp) {
        setup(&app, &app.client).await;
        let other = TestApp::new_client();
        let unknown = sign_in(&app, &other, "nobody@acme.test", PASSWORD).await;
        let wrong = sign_in(&app, &other, EMAIL, "not the password at all").await;
        assert_eq!(unknown.status(), 422);
        assert_eq!(wrong.status(), 422);
        let a: Value = unknown.json().await.unwrap();
        let b: Value = wrong.json().await.unwrap();
        assert_eq!(a, b);
        assert_eq!(a["Validation"]["password"], "Email or password is incorrect.");
        // Lock the account, then the right password gets that same answer too.
        for _ in 0..10 {
            sign_in(&app, &other, EMAIL, "still wrong password").await;
        }
        let locked = sign_in(&app, &other, EMAIL, PASSWORD).await;
        assert_eq!(locked.status(), 422);
        assert_eq!(locked.json::<Value>().await.unwrap(), a);
        // Every attempt is in the audit log.
        assert_eq!(count(&app, "SELECT COUNT(*) FROM audit_events WHERE kind = 'sign_in_failed'").await, 13);
    }

    async fn a_thousand_wrong_passwords_from_many_addresses_verify_at_most_ten_and_unlock_after_thirty_minutes(app: TestApp) {
        let app = TestApp::spawn_with(app.backend, &[("TALLY_TRUST_PROXY", "true")]).await;
        setup(&app, &app.client).await;
        let attacker = TestApp::new_client();
        let mut statuses = Vec::new();
        for batch in 0..50 {
            let calls = (0..20).map(|i| {
                let ip = format!("10.{}.{}.{}", batch, i, (batch * 20 + i) % 250);
                let client = attacker.clone();
                let url = app.url("/api/account/sign-in");
                let origin = app.address.clone();
                async move {
                    client.post(url).header("Origin", origin).header("X-Forwarded-For", ip)
                        .form(&[("email", EMAIL), ("password", "wrong wrong wrong")])
                        .send().await.unwrap().status()
                }
            });
            statuses.extend(futures_join_all(calls).await);
        }
        assert_eq!(statuses.len(), 1000);
        // No success; from many networks at once, the address's own throttle refuses all but
        // its first 30 attempts (429) before any work.
        assert!(statuses.iter().all(|s| matches!(s.as_u16(), 422 | 429)), "{:?}", statuses.iter().filter(|s| !matches!(s.as_u16(), 422 | 429)).take(3).collect::<Vec<_>>());
        let answered = statuses.iter().filter(|s| **s == StatusCode::UNPROCESSABLE_ENTITY).count();
        assert_eq!(answered, 30, "the per-address limit");
        let verified = count(&app, "SELECT COUNT(*) FROM audit_events WHERE kind = 'sign_in_failed' AND detail = 'wrong password'").await;
        assert!(verified <= 10, "{verified} password verifications");
        assert_eq!(count(&app, "SELECT COUNT(*) FROM audit_events WHERE kind = 'sign_in'").await, 0);
        // Still locked 29 minutes later; open after 30.
        app.clock.advance_minutes(29);
        assert_eq!(sign_in(&app, &TestApp::new_client(), EMAIL, PASSWORD).await.status(), 422);
        app.clock.advance_minutes(2);
        let res = sign_in(&app, &TestApp::new_client(), EMAIL, PASSWORD).await;
        assert!(session_cookie(&res).is_some(), "{}", res.status());
    }

    async fn one_address_is_throttled_after_twenty_attempts_a_minute(app: TestApp) {
        setup(&app, &app.client).await;
        let c = TestApp::new_client();
        for _ in 0..20 {
            assert_eq!(sign_in(&app, &c, "nobody@acme.test", "x").await.status(), 422);
        }
        assert_eq!(sign_in(&app, &c, "nobody@acme.test", "x").await.status(), 429);
        app.clock.advance_minutes(1);
        assert_eq!(sign_in(&app, &c, "nobody@acme.test", "x").await.status(), 422);
    }

    async fn sign_in_rotates_the_session_and_sign_out_ends_it(app: TestApp) {
        setup(&app, &app.client).await;
        let c = TestApp::new_client();
        let first = session_cookie(&sign_in(&app, &c, EMAIL, PASSWORD).await).unwrap();
        let second = session_cookie(&sign_in(&app, &c, EMAIL, PASSWORD).await).unwrap();
        assert_ne!(first, second, "a new session id at every sign-in");
        // A session id the server did not issue is worth nothing.
        let forged = app.client.post(app.url("/api/account/me")).header("Cookie", "tally_session=made-up").send().await.unwrap();
        assert_eq!(forged.json::<Value>().await.unwrap(), Value::Null);
        assert_eq!(me(&app, &c).await["email"], EMAIL);
        let out = app.call(&c, "account/sign-out", &[]).await;
        assert!(session_cookie(&out).unwrap().contains("Max-Age=0"));
        // No redirect: the menu loads /login itself, and a redirect would make the router
        // start a second navigation racing that page load.
        assert_eq!(out.status(), 200);
        assert!(out.headers().get("location").is_none() && out.headers().get("serverfnredirect").is_none());
        assert_eq!(me(&app, &c).await, Value::Null);
        // The ended session cannot be replayed with the old cookie either.
        let replay = TestApp::new_client().post(app.url("/api/account/me"))
            .header("Cookie", second.split(';').next().unwrap().to_string()).send().await.unwrap();
        assert_eq!(replay.json::<Value>().await.unwrap(), Value::Null);
    }

    async fn sessions_end_after_fifteen_idle_minutes_and_twelve_hours_in_all(app: TestApp) {
        setup(&app, &app.client).await;
        app.clock.advance_minutes(14);
        assert_eq!(me(&app, &app.client).await["email"], EMAIL);
        app.clock.advance_minutes(16);
        assert_eq!(me(&app, &app.client).await, Value::Null, "idle timeout");

        let c = TestApp::new_client();
        sign_in(&app, &c, EMAIL, PASSWORD).await;
        for _ in 0..(12 * 6 + 2) {
            app.clock.advance_minutes(10);
            if me(&app, &c).await == Value::Null {
                break;
            }
        }
        assert_eq!(me(&app, &c).await, Value::Null, "absolute timeout");
        let alive_minutes = count(&app, "SELECT COUNT(*) FROM sessions").await;
        assert_eq!(alive_minutes, 0);
    }

    async fn changing_the_password_ends_every_other_session(app: TestApp) {
        setup(&app, &app.client).await;
        let laptop = TestApp::new_client();
        sign_in(&app, &laptop, EMAIL, PASSWORD).await;
        let wrong = app.call(&app.client, "account/change-password", &[("current_password", "nope"), ("new_password", "another fine passphrase here")]).await;
        assert_eq!(wrong.status(), 422);
        assert!(wrong.json::<Value>().await.unwrap()["Validation"]["current_password"].is_string());
        let ok = app.call(&app.client, "account/change-password", &[("current_password", PASSWORD), ("new_password", "another fine passphrase here")]).await;
        assert_eq!(ok.status(), 200);
        assert_eq!(me(&app, &app.client).await["email"], EMAIL, "this browser stays signed in");
        assert_eq!(me(&app, &laptop).await, Value::Null, "the other session ended");
        assert_eq!(sign_in(&app, &TestApp::new_client(), EMAIL, PASSWORD).await.status(), 422);
    }

    async fn suspending_an_administrator_ends_their_sessions(app: TestApp) {
        setup(&app, &app.client).await;
        sqlx::query("UPDATE admins SET status = 'suspended'").execute(app.db.pool()).await.unwrap();
        assert_eq!(me(&app, &app.client).await, Value::Null);
        assert_eq!(count(&app, "SELECT COUNT(*) FROM sessions").await, 0);
    }

    async fn reset_links_work_once_and_expire(app: TestApp) {
        setup(&app, &app.client).await;
        let c = TestApp::new_client();
        // Same answer for an unknown address, and nothing sent.
        let invitation_only = app.outbox_messages().len();
        assert_eq!(app.call(&c, "account/request-reset", &[("email", "nobody@acme.test")]).await.status(), 200);
        assert_eq!(app.outbox_messages().len(), invitation_only);
        assert_eq!(app.call(&c, "account/request-reset", &[("email", EMAIL)]).await.status(), 200);
        // The answer did not wait for the mail: the outbox worker sends it.
        assert_eq!(app.outbox_messages().len(), invitation_only);
        assert_eq!(app.services.ctx.outbox.deliver_due().await.unwrap(), 1);
        let mail = app.outbox_messages().pop().expect("a reset email");
        assert!(mail.contains(&format!("To: {EMAIL}")));
        let link = find_link(&mail, &format!("{}/reset-password/", app.address)).expect("link");
        let token = link.rsplit('/').next().unwrap().to_string();
        assert!(!count(&app, &format!("SELECT COUNT(*) FROM one_time_tokens WHERE token_hash = '{token}'")).await.is_positive(), "stored hashed");

        let inspect = |kind: &'static str, t: String| {
            let app = &app;
            let c = c.clone();
            async move {
                app.call(&c, "account/inspect-link", &[("kind", kind), ("token", &t)]).await.json::<Value>().await.unwrap()["state"].clone()
            }
        };
        assert_eq!(inspect("Reset", token.clone()).await, "Valid");
        assert_eq!(inspect("Invitation", token.clone()).await, "Unknown", "a reset link is not an invitation");
        assert_eq!(inspect("Reset", "wrong".into()).await, "Unknown");
        let weak = app.call(&c, "account/set-password", &[("kind", "Reset"), ("token", &token), ("password", "password1234")]).await;
        assert_eq!(weak.status(), 422);
        let used = app.call(&c, "account/set-password", &[("kind", "Reset"), ("token", &token), ("password", "a brand new passphrase")]).await;
        assert!(session_cookie(&used).is_some(), "{}", used.status());
        assert_eq!(me(&app, &c).await["email"], EMAIL);
        assert_eq!(me(&app, &app.client).await, Value::Null, "old sessions ended");
        assert_eq!(inspect("Reset", token.clone()).await, "Used");
        let replay = app.call(&c, "account/set-password", &[("kind", "Reset"), ("token", &token), ("password", "yet another passphrase")]).await;
        assert_eq!(replay.status(), 409);

        // A second link expires after 30 minutes.
        app.call(&c, "account/request-reset", &[("email", EMAIL)]).await;
        app.services.ctx.outbox.deliver_due().await.unwrap();
        let mail = app.outbox_messages().pop().unwrap();
        let token2 = find_link(&mail, &format!("{}/reset-password/", app.address)).unwrap().rsplit('/').next().unwrap().to_string();
        app.clock.advance_minutes(31);
        assert_eq!(inspect("Reset", token2.clone()).await, "Expired");
        let late = app.call(&c, "account/set-password", &[("kind", "Reset"), ("token", &token2), ("password", "late passphrase for me")]).await;
        assert_eq!(late.status(), 409);
    }

    async fn invitations_activate_the_administrator_and_sign_them_in(app: TestApp) {
        setup(&app, &app.client).await;
        let account_id: String = sqlx::query_scalar("SELECT account_id FROM admins").fetch_one(app.db.pool()).await.unwrap();
        let now = app.clock_now();
        sqlx::query("INSERT INTO admins (id, account_id, email, email_key, first_name, last_name, role, status, created_at, updated_at) VALUES ('inv1', $1, 'bo@acme.test', 'bo@acme.test', 'Bo', 'Chen', 'manager', 'invited', $2, $2)")
            .bind(&account_id).bind(now).execute(app.db.pool()).await.unwrap();
        tally_services::identity::links::send_invitation(&app.services.ctx, "inv1", &account_id, "bo@acme.test", "Ann Lee").await.unwrap();
        // Invited administrators cannot sign in.
        assert_eq!(sign_in(&app, &TestApp::new_client(), "bo@acme.test", "anything at all").await.status(), 422);
        let mail = app.outbox_messages().pop().unwrap();
        let token = find_link(&mail, &format!("{}/invitation/", app.address)).unwrap().rsplit('/').next().unwrap().to_string();
        let page = app.get(&format!("/invitation/{token}")).await.text().await.unwrap();
        assert!(page.contains("bo@acme.test"), "the page greets the invitee");
        let bo = TestApp::new_client();
        let res = app.call(&bo, "account/set-password", &[("kind", "Invitation"), ("token", &token), ("password", "bo has a long passphrase")]).await;
        assert!(session_cookie(&res).is_some());
        assert_eq!(me(&app, &bo).await["role"], "Manager");
        let status: String = sqlx::query_scalar("SELECT status FROM admins WHERE id = 'inv1'").fetch_one(app.db.pool()).await.unwrap();
        assert_eq!(status, "active");
        // Expired invitations: 72 hours.
        tally_services::identity::links::send_invitation(&app.services.ctx, "inv1", &account_id, "bo@acme.test", "Ann Lee").await.unwrap();
        let mail = app.outbox_messages().pop().unwrap();
        let token = find_link(&mail, &format!("{}/invitation/", app.address)).unwrap().rsplit('/').next().unwrap().to_string();
        app.clock.advance_minutes(72 * 60 + 1);
        let page = app.get(&format!("/invitation/{token}")).await.text().await.unwrap();
        assert!(page.contains("This link has expired."), "{page}");
    }

    async fn cross_origin_posts_are_refused_and_gets_change_nothing(app: TestApp) {
        setup(&app, &app.client).await;
        let evil = app.client.post(app.url("/api/account/update-name")).header("Origin", "http://evil.example")
            .form(&[("first_name", "Mallory"), ("last_name", "X")]).send().await.unwrap();
        assert_eq!(evil.status(), 403);
        let evil2 = app.client.post(app.url("/api/account/update-name")).header("Sec-Fetch-Site", "cross-site")
            .form(&[("first_name", "Mallory"), ("last_name", "X")]).send().await.unwrap();
        assert_eq!(evil2.status(), 403);
        let get = app.client.get(app.url("/api/account/update-name?first_name=Mallory&last_name=X")).send().await.unwrap();
        assert_ne!(get.status(), 200);
        let name: String = sqlx::query_scalar("SELECT first_name FROM admins").fetch_one(app.db.pool()).await.unwrap();
        assert_eq!(name, "Ann");
        let same = app.call(&app.client, "account/update-name", &[("first_name", "Annie"), ("last_name", "Lee")]).await;
        assert_eq!(same.status(), 200);
        let name: String = sqlx::query_scalar("SELECT first_name FROM admins").fetch_one(app.db.pool()).await.unwrap();
        assert_eq!(name, "Annie");
    }

    async fn pages_carry_security_headers_and_a_nonce_for_the_hydration_script(app: TestApp) {
        let res = app.get("/status").await;
        assert_eq!(res.status(), 200);
        let h = res.headers().clone();
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["cache-control"], "no-store");
        assert!(h.contains_key("referrer-policy"));
        let csp = h["content-security-policy"].to_str().unwrap().to_string();
        assert!(csp.contains("frame-ancestors 'none'") && csp.contains("'wasm-unsafe-eval'"), "{csp}");
        let nonce = csp.split("'nonce-").nth(1).and_then(|s| s.split('\'').next()).expect("a nonce").to_string();
        let html = res.text().await.unwrap();
        assert!(html.contains(&format!("nonce=\"{nonce}\"")), "the inline script carries the nonce");
        // The app's script and wasm are fetched from the browser's idle callback only: no
        // preload hint puts them on the first paint's path.
        assert!(html.contains("requestIdleCallback"), "{html}");
        assert!(!html.contains("modulepreload") && !html.contains(".wasm\" as"), "{html}");
        // A new nonce each response.
        let again = app.get("/status").await.headers()["content-security-policy"].to_str().unwrap().to_string();
        assert!(!again.contains(&nonce));
        // The visitor's plain pages carry the same headers, and no script at all.
        for path in ["/login", "/forgot-password", "/reset-password/nothing"] {
            let res = app.get(path).await;
            assert_eq!(res.headers()["x-content-type-options"], "nosniff", "{path}");
            assert_eq!(res.headers()["cache-control"], "no-store", "{path}");
            assert!(res.headers()["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"));
            let html = res.text().await.unwrap();
            assert!(!html.contains("<script") && !html.contains(".wasm"), "{path}: {html}");
        }
    }

    async fn signed_out_visitors_are_sent_to_sign_in_and_new_installations_to_setup(app: TestApp) {
        let res = app.get("/").await;
        assert_eq!(res.status(), 302);
        assert_eq!(res.headers()["location"], "/setup");
        set_up_seller(&app, &TestApp::new_client()).await;
        assert_eq!(app.get("/").await.headers()["location"], "/login", "set up: no longer sent there");
        let res = app.get("/account").await;
        assert_eq!(res.status(), 302);
        assert_eq!(res.headers()["location"], "/login?next=/account", "and back after signing in");
    }

    async fn the_audit_log_is_scoped_to_the_account_and_its_roles(app: TestApp) {
        setup(&app, &app.client).await;
        app.clock.advance_minutes(1);
        sign_in(&app, &TestApp::new_client(), EMAIL, "wrong wrong wrong").await;
        // Another tenant with its own events.
        let now = app.clock_now();
        sqlx::query("INSERT INTO accounts (id, name, created_at) VALUES ('other', 'Other Co', $1)").bind(now).execute(app.db.pool()).await.unwrap();
        sqlx::query("INSERT INTO audit_events (id, account_id, at, kind, actor_email, detail, created_at) VALUES ('e-other', 'other', $1, 'sign_in', 'eve@other.test', '', $1)")
            .bind(now).execute(app.db.pool()).await.unwrap();
        let res = app.call(&app.client, "audit/list", &[("filter[page]", "1")]).await;
        assert_eq!(res.status(), 200);
        let page: Value = res.json().await.unwrap();
        let entries = page["entries"].as_array().unwrap();
        assert!(entries.iter().all(|e| e["actor"] != "eve@other.test"), "another tenant's events are invisible");
        assert_eq!(entries[0]["kind"], "Failed sign-in", "newest first: {page}");
        let filtered: Value = app.call(&app.client, "audit/list", &[("filter[kind]", "account_created"), ("filter[page]", "1")]).await.json().await.unwrap();
        assert_eq!(filtered["total"], 1);
        // The actor filter matches part of an address, in any case, within the account only.
        let by_actor = |actor: String| {
            let app = &app;
            async move {
                let res = app.call(&app.client, "audit/list", &[("filter[actor]", actor.as_str()), ("filter[page]", "1")]).await;
                res.json::<Value>().await.unwrap()
            }
        };
        let mine = by_actor(EMAIL[1..EMAIL.len() - 2].to_uppercase()).await;
        let mine_entries = mine["entries"].as_array().unwrap();
        assert!(!mine_entries.is_empty() && mine_entries.iter().all(|e| e["actor"] == EMAIL), "{mine}");
        assert_eq!(by_actor("EVE".into()).await["total"], 0);
        assert_eq!(by_actor("%".into()).await["total"], page["total"], "a wildcard is not a pattern");
        // A role without the permission is refused; no session is 401.
        sqlx::query("UPDATE admins SET role = 'help_desk'").execute(app.db.pool()).await.unwrap();
        assert_eq!(app.call(&app.client, "audit/list", &[("filter[page]", "1")]).await.status(), 403);
        assert_eq!(app.call(&TestApp::new_client(), "audit/list", &[("filter[page]", "1")]).await.status(), 401);
    }

    async fn billing_events_are_only_for_roles_that_may_view_billing(app: TestApp) {
        let account = app.seed_account("acme", &[tally_core::roles::Role::AdministratorWithBilling, tally_core::roles::Role::Administrator]).await;
        let now = app.clock_now();
        for (id, kind) in [("e-bill", "invoice_created"), ("e-user", "user_created")] {
            sqlx::query("INSERT INTO audit_events (id, account_id, at, kind, actor_email, detail, created_at) VALUES ($1, $2, $3, $4, 'x@acme.test', 'USD 120.00', $3)")
                .bind(id).bind(&account).bind(now).bind(kind).execute(app.db.pool()).await.unwrap();
        }
        let list = |cookie: String, kind: &'static str| {
            let app = &app;
            async move { app.call_as(&cookie, "audit/list", &[("filter[kind]", kind), ("filter[page]", "1")]).await }
        };
        let labels = |page: &Value| -> Vec<String> {
            page["entries"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap().to_string()).collect()
        };
        let billing = app.session_cookie_for("acme-admin_billing").await;
        let admin = app.session_cookie_for("acme-admin").await;

        let all: Value = list(billing.clone(), "").await.json().await.unwrap();
        assert!(labels(&all).contains(&"Invoice created".to_string()), "{all}");
        let theirs: Value = list(admin.clone(), "").await.json().await.unwrap();
        assert!(!labels(&theirs).contains(&"Invoice created".to_string()), "{theirs}");
        assert!(labels(&theirs).contains(&"User added".to_string()), "{theirs}");
        assert_eq!(theirs["total"].as_u64().unwrap() + 1, all["total"].as_u64().unwrap());
        assert!(!theirs["kinds"].as_array().unwrap().iter().any(|k| k == "invoice_created"));
        // Asking for billing kinds by name is refused beside the field, not answered.
        for kind in ["billing", "invoice_created"] {
            let res = list(admin.clone(), kind).await;
            assert_eq!(res.status(), 422, "{kind}");
            assert_eq!(res.json::<Value>().await.unwrap()["Validation"]["kind"], "Choose a kind from the list.");
        }
        assert_eq!(list(billing.clone(), "billing").await.json::<Value>().await.unwrap()["total"], 1);
        // Nor on the Overview's latest activity.
        let glance = |cookie: String| {
            let app = &app;
            async move { app.call_as(&cookie, "overview", &[]).await.json::<Value>().await.unwrap() }
        };
        let events = |g: &Value| -> Vec<String> {
            g["latest_events"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap().to_string()).collect()
        };
        assert!(events(&glance(billing).await).contains(&"Invoice created".to_string()));
        assert!(!events(&glance(admin).await).contains(&"Invoice created".to_string()));
    }
}

/// Runs futures concurrently and collects their outputs in order.
async fn futures_join_all<F: std::future::Future>(
    futs: impl IntoIterator<Item = F>,
) -> Vec<F::Output> {
    futures::future::join_all(futs).await
}

/// Behind https the session cookie is `__Host-` (this host only, over TLS, every path); the
/// unprefixed name, which a sibling subdomain or a plain-http page could plant, is not read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_https_the_session_cookie_is_host_only() {
    let app = TestApp::spawn_with(
        tally_services::platform::db::Backend::Sqlite,
        &[("TALLY_PUBLIC_URL", "https://tally.example.com")],
    )
    .await;
    app.seed_account("acme", &[tally_core::roles::Role::AdministratorWithBilling])
        .await;
    let post = |path: &str| {
        TestApp::new_client()
            .post(app.url(path))
            .header("Host", "tally.example.com")
            .header("Origin", "https://tally.example.com")
            .header("Accept", "application/json")
    };
    let res = post("/api/account/sign-in")
        .form(&[
            ("email", "admin_billing@acme.test"),
            ("password", crate::helpers::TEST_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let set = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("__Host-tally_session="))
        .expect("a __Host- session cookie")
        .to_string();
    assert!(set.contains("Secure") && set.contains("Path=/"), "{set}");
    assert!(!set.to_ascii_lowercase().contains("domain="), "{set}");
    let cookie = set.split(';').next().unwrap().to_string();
    let me = |cookie: String| {
        let req = post("/api/account/me").header("Cookie", cookie);
        async move { req.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    assert_eq!(me(cookie.clone()).await["email"], "admin_billing@acme.test");
    assert_eq!(
        me(cookie.trim_start_matches("__Host-").to_string()).await,
        Value::Null
    );
}
