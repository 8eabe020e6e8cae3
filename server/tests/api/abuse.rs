//! The unauthenticated pages under attack: open redirects, set-up takeover, hashing and mail
//! floods, audit floods, and the races of links and roles (issue 17), on both databases.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;
use tally_core::roles::Role;

use crate::{
    both_databases,
    helpers::{TestApp, TEST_PASSWORD},
};

/// The open-redirect payloads kept in the repository: encoded slashes, backslashes, tabs,
/// newlines, `@`, schemes, look-alike characters.
fn payloads() -> Vec<String> {
    let text = include_str!("data/open_redirect_payloads.json");
    serde_json::from_str(text).expect("the payload list")
}

/// Sets up the seller through the set-up form; returns the response.
async fn set_up(app: &TestApp, client: &reqwest::Client, code: &str) -> reqwest::Response {
    let form = crate::helpers::seller_setup_form(code, "correct horse battery staple");
    app.call(client, "setup/create", &form).await
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
}

/// The database's size on disk, in bytes (SQLite after a checkpoint folds its WAL in).
async fn database_bytes(app: &TestApp) -> i64 {
    match app.backend {
        tally_services::platform::db::Backend::Sqlite => {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(app.db.pool())
                .await
                .unwrap();
            count(
                app,
                "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
            )
            .await
        }
        tally_services::platform::db::Backend::Postgres => {
            count(
                app,
                "SELECT CAST(pg_database_size(current_database()) AS BIGINT)",
            )
            .await
        }
    }
}

both_databases! {
    async fn the_client_is_the_configured_hop_and_ipv6_counts_by_its_64(app: TestApp) {
        // Two proxies of one's own: the client is the second entry from the right, over
        // every X-Forwarded-For line.
        let app = TestApp::spawn_with(app.backend, &[("TALLY_TRUST_PROXY", "2")]).await;
        let attempt = |client_ip: String, n: usize| {
            let app = &app;
            async move {
                TestApp::new_client()
                    .post(app.url("/api/account/sign-in"))
                    .header("Origin", &app.address)
                    // The left entry is the client's to forge; the second line is the outer
                    // proxy's own.
                    .header("X-Forwarded-For", format!("198.51.100.{n}, {client_ip}"))
                    .header("X-Forwarded-For", "192.0.2.254")
                    .form(&[("email", format!("nobody{n}@acme.test")), ("password", "a wrong password".into())])
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }
        };
        // Twenty a minute per network: every address of one IPv6 /64 is one network.
        for n in 0..20 {
            assert_eq!(attempt(format!("2001:db8:1:2::{:x}", n + 1), n).await, 422, "attempt {n}");
        }
        assert_eq!(attempt("2001:db8:1:2:ffff:ffff:ffff:ffff".into(), 20).await, 429);
        // The next /64 is another network; so is another IPv4 client behind the same proxies.
        assert_eq!(attempt("2001:db8:1:3::1".into(), 21).await, 422);
        assert_eq!(attempt("203.0.113.9".into(), 22).await, 422);
        // One audit event for the throttled network, whichever of its addresses was refused.
        assert_eq!(attempt("2001:db8:1:2::abcd".into(), 23).await, 429);
        let throttled: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE detail LIKE 'throttled:%'")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
        assert_eq!(throttled, 1);
    }

    async fn the_public_password_check_is_throttled_capped_and_answers_the_rule(app: TestApp) {
        let check = |password: String, words: Vec<String>| {
            let app = &app;
            async move {
                let mut form = vec![("password".to_string(), password)];
                form.extend(words.into_iter().enumerate().map(|(i, w)| (format!("known_words[{i}]"), w)));
                TestApp::new_client()
                    .post(app.url("/api/account/check-password"))
                    .header("Origin", &app.address)
                    .form(&form)
                    .send()
                    .await
                    .unwrap()
            }
        };
        // The rule's verdict, as the forms give it.
        let weak = check("password1234".into(), vec![]).await;
        assert_eq!(weak.status(), 200, "{:?}", weak.text().await);
        let weak: Value = weak.json().await.unwrap();
        assert!(weak["problem"].as_str().unwrap().contains("too easy to guess"), "{weak}");
        let strong: Value = check("correct horse battery staple".into(), vec![]).await.json().await.unwrap();
        assert!(strong["problem"].is_null(), "{strong}");
        // The crafted worst case (128 characters of l33t, eight known words of 10,000
        // characters) is answered, and judged by its first 64 characters.
        let l33t: String = "4@8({[<3&6|!1/\\]0$5+7%2".repeat(6).chars().take(128).collect();
        let words: Vec<String> = (0..8).map(|i| format!("{i}{}", "a4@b8(c<".repeat(1250))).collect();
        assert_eq!(check(l33t, words).await.status(), 200);
        // 120 a minute from one address; then 429 with Retry-After.
        for _ in 3..120 {
            assert_eq!(check("a long enough candidate".into(), vec![]).await.status(), 200);
        }
        let refused = check("a long enough candidate".into(), vec![]).await;
        assert_eq!(refused.status(), 429);
        assert!(refused.headers().contains_key("retry-after"));
        app.clock.advance_minutes(1);
        assert_eq!(check("a long enough candidate".into(), vec![]).await.status(), 200);
    }

    async fn every_open_redirect_payload_ends_on_this_site_and_none_panics(app: TestApp) {
        let app = TestApp::spawn_with(app.backend, &[("TALLY_SIGN_IN_PER_IP_MINUTE", "1000")]).await;
        app.seed_account("acme", &[Role::AdministratorWithBilling]).await;
        let email = "admin_billing@acme.test";
        let base = reqwest::Url::parse(&app.address).unwrap();
        let list = payloads();
        assert_eq!(list.len(), 200);
        for (i, payload) in list.iter().enumerate() {
            if i % 25 == 24 {
                app.clock.advance_minutes(16); // past the per-address window
            }
            let res = TestApp::new_client()
                .post(app.url("/api/account/sign-in"))
                .header("Origin", &app.address)
                .header("Accept", "text/html")
                .form(&[("email", email), ("password", TEST_PASSWORD), ("next", payload.as_str())])
                .send()
                .await
                .unwrap_or_else(|e| panic!("payload {i} {payload:?}: no answer ({e})"));
            // A browser's own post (it accepts HTML) is answered as a page: a 303 onwards.
            assert_eq!(res.status(), StatusCode::SEE_OTHER, "payload {i} {payload:?}");
            let location = res.headers().get("location").expect("a Location").to_str().unwrap();
            let target = base.join(location).unwrap();
            assert_eq!(target.origin(), base.origin(), "payload {i} {payload:?} -> {location:?}");
            assert!(location.starts_with('/') && !location.starts_with("//"), "{location:?}");
        }
        // Header values a client can send that are no valid text: answered, never a panic.
        for (name, value) in [("cookie", &b"tally_session=\xff\xfe"[..]), ("x-forwarded-for", b"\xff"), ("origin", b"\xc3\x28")] {
            let res = TestApp::new_client()
                .get(app.url("/login"))
                .header(name, reqwest::header::HeaderValue::from_bytes(value).unwrap())
                .send()
                .await
                .unwrap_or_else(|e| panic!("{name}: no answer ({e})"));
            assert!(res.status().as_u16() < 500, "{name}: {}", res.status());
        }
    }

    async fn set_up_needs_the_code_happens_once_and_answers_only_its_own_host(app: TestApp) {
        // Without the code, or with a wrong one: refused, nothing made, nothing hashed.
        let res = set_up(&app, &TestApp::new_client(), "").await;
        assert_eq!(res.status(), 422);
        assert!(res.json::<Value>().await.unwrap()["Validation"]["setup_code"].is_string());
        assert_eq!(set_up(&app, &TestApp::new_client(), "AAAA-BBBB-CCCC").await.status(), 422);
        assert_eq!(count(&app, "SELECT COUNT(*) FROM sellers").await, 0);
        assert_eq!(count(&app, "SELECT COUNT(*) FROM operators").await, 0);
        // The code is in the data folder, private to the server's user.
        let file = app.outbox.parent().unwrap().join("setup-code");
        assert_eq!(std::fs::read_to_string(&file).unwrap().trim(), app.setup_code);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
        }
        // A page on another host name (DNS rebinding) reaches nothing: 421.
        let foreign = TestApp::new_client()
            .post(app.url("/api/setup/create"))
            .header("Host", "rebinding.evil.example")
            .header("Origin", "http://rebinding.evil.example")
            .form(&[("setup_code", app.setup_code.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(foreign.status(), StatusCode::MISDIRECTED_REQUEST);
        let page = TestApp::new_client().get(app.url("/setup")).header("Host", "evil.example:80").send().await.unwrap();
        assert_eq!(page.status(), StatusCode::MISDIRECTED_REQUEST);
        assert_eq!(TestApp::new_client().get(app.url("/healthz")).header("Host", "10.0.0.7").send().await.unwrap().status(), 200);
        // 20 set-ups at once, each with the code: exactly one seller and one Owner.
        let code = app.setup_code.clone();
        let calls = (0..20).map(|_| {
            let (app, code) = (&app, code.clone());
            async move { set_up(app, &TestApp::new_client(), &code).await.status().as_u16() }
        });
        let statuses = futures::future::join_all(calls).await;
        assert_eq!(count(&app, "SELECT COUNT(*) FROM sellers").await, 1, "{statuses:?}");
        assert_eq!(count(&app, "SELECT COUNT(*) FROM operators").await, 1);
        assert_eq!(statuses.iter().filter(|s| matches!(s, 200 | 302)).count(), 1, "{statuses:?}");
        assert!(statuses.iter().all(|s| matches!(s, 200 | 302 | 404 | 429)), "{statuses:?}");
        assert!(!file.exists(), "the spent code's file is gone");
    }

    async fn a_reset_request_answers_as_fast_for_anyone_and_one_address_gets_five_an_hour(app: TestApp) {
        let app = TestApp::spawn_with(app.backend, &[("TALLY_TRUST_PROXY", "true")]).await;
        let account = app.seed_account("acme", &[]).await;
        for i in 0..50 {
            sqlx::query("INSERT INTO admins (id, account_id, email, email_key, first_name, last_name, role, status, created_at, updated_at) \
                         VALUES ($1, $2, $3, $3, 'A', 'B', 'manager', 'active', 0, 0)")
                .bind(format!("known{i}")).bind(&account).bind(format!("known{i}@acme.test"))
                .execute(app.db.pool()).await.unwrap();
        }
        let request = |email: String, ip: String| {
            let app = &app;
            async move {
                let started = Instant::now();
                let res = TestApp::new_client()
                    .post(app.url("/api/account/request-reset"))
                    .header("Origin", &app.address)
                    .header("X-Forwarded-For", ip)
                    .form(&[("email", email)])
                    .send()
                    .await
                    .unwrap();
                (res.status(), started.elapsed())
            }
        };
        let (mut known, mut unknown) = (Vec::new(), Vec::new());
        for i in 0..50 {
            let (status, t) = request(format!("known{i}@acme.test"), format!("10.0.1.{i}")).await;
            assert_eq!(status, 200);
            known.push(t);
            let (status, t) = request(format!("stranger{i}@acme.test"), format!("10.0.2.{i}")).await;
            assert_eq!(status, 200);
            unknown.push(t);
        }
        known.sort();
        unknown.sort();
        let (a, b) = (known[25], unknown[25]);
        let gap = a.abs_diff(b);
        assert!(gap < Duration::from_millis(5), "median known {a:?}, unknown {b:?}");
        // The answers did not send the mail; the worker does.
        assert_eq!(app.outbox_messages().len(), 0);
        assert_eq!(app.services.ctx.outbox.deliver_due().await.unwrap(), 50);
        // Five requests for one address an hour, from any networks; the sixth is refused.
        for n in 0..4 {
            assert_eq!(request("known0@acme.test".into(), format!("10.0.3.{n}")).await.0, 200);
        }
        let res = TestApp::new_client()
            .post(app.url("/api/account/request-reset"))
            .header("Origin", &app.address)
            .header("X-Forwarded-For", "10.0.4.1")
            .form(&[("email", "known0@acme.test")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 429);
        let retry: u64 = res.headers().get("retry-after").expect("Retry-After").to_str().unwrap().parse().unwrap();
        assert!((1..=3600).contains(&retry), "{retry}");
        assert!(res.json::<Value>().await.unwrap()["TooManyRequests"]["message"].as_str().unwrap().contains("Try again"));
    }

    async fn a_thousand_throttled_sign_ins_with_two_megabyte_emails_add_under_a_megabyte(app: TestApp) {
        let before = database_bytes(&app).await;
        // One body, encoded once: 1.9 MB of address (inside the 2 MB body limit).
        let body = bytes::Bytes::from(format!("email={}%40acme.test&password=whatever+it+is", "a".repeat(1_900_000)));
        use futures::StreamExt;
        let statuses: Vec<u16> = futures::stream::iter(0..1000)
            .map(|_| {
                let (app, body) = (&app, body.clone());
                async move {
                    TestApp::new_client()
                        .post(app.url("/api/account/sign-in"))
                        .header("Origin", &app.address)
                        .header("Content-Type", "application/x-www-form-urlencoded")
                        .body(body)
                        .send()
                        .await
                        .unwrap()
                        .status()
                        .as_u16()
                }
            })
            .buffer_unordered(64)
            .collect()
            .await;
        // Within the minute's 20: refused as too long; the rest: throttled.
        let mut seen = std::collections::BTreeMap::new();
        for s in &statuses { *seen.entry(*s).or_insert(0) += 1; }
        assert_eq!(seen.len(), 2, "{seen:?}");
        assert_eq!(statuses.iter().filter(|s| **s == 422).count(), 20, "{:?}", &statuses[..30]);
        assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 980);
        let grown = database_bytes(&app).await - before;
        assert!(grown < 1_000_000, "the database grew by {grown} bytes");
        // The throttled ones are one audit event with their count.
        let detail: String = sqlx::query_scalar("SELECT detail FROM audit_events WHERE detail LIKE 'throttled%'")
            .fetch_one(app.db.pool()).await.unwrap();
        assert!(detail.contains("980 attempts"), "{detail}");
        let longest: i64 = count(&app, "SELECT CAST(COALESCE(MAX(LENGTH(actor_email)), 0) AS BIGINT) FROM audit_events").await;
        assert!(longest <= 254, "{longest}");
    }

    async fn a_throttled_count_only_goes_up_whatever_order_the_refusals_finish_in(app: TestApp) {
        // Concurrent refusals write their counts in any order; a late, smaller one must not
        // overwrite a larger one, across a change in the number of digits too.
        let pool = app.db.pool();
        let detail = || async {
            sqlx::query_scalar::<_, String>("SELECT detail FROM audit_events WHERE detail LIKE 'throttled%'")
                .fetch_all(pool).await.unwrap()
        };
        let key = "sign_in_ip/10.0.9.1/0";
        for (refused, shown) in [(9, 9), (8, 9), (10, 10), (9, 10), (980, 980), (979, 980), (1000, 1000), (999, 1000)] {
            tally_services::platform::audit::record_throttled(pool, 1, key, "10.0.9.1", refused).await.unwrap();
            assert_eq!(detail().await, vec![format!("throttled: {shown} attempts refused from this address this minute")], "after {refused}");
        }
        // Another address or window is another event.
        tally_services::platform::audit::record_throttled(pool, 1, "sign_in_ip/10.0.9.2/0", "10.0.9.2", 1).await.unwrap();
        assert_eq!(detail().await.len(), 2);
    }

    async fn a_runner_whose_role_stops_allowing_runs_is_unbound(app: TestApp) {
        let acme = app.seed_account("acme", &[Role::AdministratorWithBilling, Role::CommandRunner]).await;
        let owner = app.session_cookie_for("acme-admin_billing").await;
        let id: String = app.call_as(&owner, "commands/create", &[("name", "Restart"), ("shell", "bash"), ("script", "systemctl restart app")])
            .await.json().await.unwrap();
        assert_eq!(app.call_as(&owner, "commands/bind", &[("command_id", &id), ("admin_id", "acme-command_runner")]).await.status(), 200);
        let runner = app.session_cookie_for("acme-command_runner").await;
        assert!(app.call_as(&runner, "commands/list", &[]).await.text().await.unwrap().contains("systemctl restart app"));
        assert_eq!(app.call_as(&owner, "admins/set-role", &[("id", "acme-command_runner"), ("role", "read_only")]).await.status(), 200);
        assert_eq!(count(&app, "SELECT COUNT(*) FROM command_runners").await, 0);
        let audited: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE account_id = $1 AND kind = 'runner_unbound' AND detail LIKE 'Restart%'")
            .bind(&acme).fetch_one(app.db.pool()).await.unwrap();
        assert_eq!(audited, 1);
        // Made a runner again, they see nothing until bound again.
        assert_eq!(app.call_as(&owner, "admins/set-role", &[("id", "acme-command_runner"), ("role", "command_runner")]).await.status(), 200);
        let fresh = app.session_cookie_for("acme-command_runner").await;
        assert!(!app.call_as(&fresh, "commands/list", &[]).await.text().await.unwrap().contains("systemctl"));
    }

    async fn a_suspension_racing_a_link_acceptance_always_ends_suspended(app: TestApp) {
        let acme = app.seed_account("acme", &[Role::AdministratorWithBilling]).await;
        let owner = app.session_cookie_for("acme-admin_billing").await;
        let rounds = match app.backend { tally_services::platform::db::Backend::Postgres => 100, tally_services::platform::db::Backend::Sqlite => 20 };
        for round in 0..rounds {
            let id = format!("inv{round}");
            sqlx::query("INSERT INTO admins (id, account_id, email, email_key, first_name, last_name, role, status, created_at, updated_at) \
                         VALUES ($1, $2, $3, $3, 'Iv', 'Y', 'manager', 'invited', 0, 0)")
                .bind(&id).bind(&acme).bind(format!("{id}@acme.test")).execute(app.db.pool()).await.unwrap();
            tally_services::identity::links::send_invitation(&app.services.ctx, &id, &acme, &format!("{id}@acme.test"), "Ann Lee").await.unwrap();
            let mail = app.outbox_messages().into_iter().rev().find(|m| m.contains(&format!("To: {id}@acme.test"))).unwrap();
            let link = crate::helpers::find_link(&mail, &format!("{}/invitation/", app.address)).unwrap();
            let token = link.rsplit('/').next().unwrap().to_string();
            let visitor = TestApp::new_client();
            let accept_form = [("kind", "Invitation"), ("token", token.as_str()), ("password", "a racing long passphrase")];
            let suspend_form = [("id", id.as_str())];
            let accept = app.call(&visitor, "account/set-password", &accept_form);
            let suspend = app.call_as(&owner, "admins/suspend", &suspend_form);
            let (accepted, suspended) = tokio::join!(accept, suspend);
            assert_eq!(suspended.status(), 200, "round {round}");
            let status: String = sqlx::query_scalar("SELECT status FROM admins WHERE id = $1").bind(&id).fetch_one(app.db.pool()).await.unwrap();
            assert_eq!(status, "suspended", "round {round}: acceptance answered {}", accepted.status());
        }
    }

    async fn a_new_password_ends_every_outstanding_reset_link(app: TestApp) {
        app.seed_account("acme", &[Role::AdministratorWithBilling]).await;
        let email = "admin_billing@acme.test";
        app.call(&TestApp::new_client(), "account/request-reset", &[("email", email)]).await;
        app.services.ctx.outbox.deliver_due().await.unwrap();
        let mail = app.outbox_messages().pop().unwrap();
        let token = crate::helpers::find_link(&mail, &format!("{}/reset-password/", app.address)).unwrap().rsplit('/').next().unwrap().to_string();
        let me = app.signed_in(email).await;
        let res = app.call(&me, "account/change-password", &[("current_password", TEST_PASSWORD), ("new_password", "an entirely new passphrase")]).await;
        assert_eq!(res.status(), 200);
        let late = app.call(&TestApp::new_client(), "account/set-password", &[("kind", "Reset"), ("token", &token), ("password", "the attacker's passphrase")]).await;
        assert_eq!(late.status(), 409, "the link asked for before the change no longer works");
        // And password changes are throttled too.
        let mut last = 0;
        for _ in 0..6 {
            last = app.call(&me, "account/change-password", &[("current_password", "wrong"), ("new_password", "an entirely new passphrase")]).await.status().as_u16();
        }
        assert_eq!(last, 429);
    }

    async fn hsts_is_sent_when_the_public_address_is_https(app: TestApp) {
        let plain = app.get("/healthz").await;
        assert!(plain.headers().get("strict-transport-security").is_none());
        let secure = TestApp::spawn_with(app.backend, &[("TALLY_PUBLIC_URL", "https://localhost")]).await;
        let res = secure.get("/healthz").await;
        assert_eq!(res.headers().get("strict-transport-security").unwrap(), "max-age=63072000; includeSubDomains");
    }
}
