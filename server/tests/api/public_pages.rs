//! The visitor's plain pages (issue 20), on both databases: sign-in, forgot password and a
//! reset link work as plain HTML forms — what a browser with scripts off sends — with the
//! server's messages next to their fields, what was typed kept (never a password), and no
//! script or wasm on the page.

use reqwest::{Client, Response, StatusCode};
use tally_core::roles::Role;

use crate::{
    both_databases,
    helpers::{find_link, TestApp, TEST_PASSWORD},
};

/// A plain form post, as a browser without scripts sends it.
async fn post(app: &TestApp, client: &Client, path: &str, form: &[(&str, &str)]) -> Response {
    client
        .post(app.url(path))
        .header("Origin", &app.address)
        .header("Accept", "text/html,application/xhtml+xml")
        .form(form)
        .send()
        .await
        .expect("POST a form")
}

async fn get(app: &TestApp, client: &Client, path: &str) -> Response {
    client
        .get(app.url(path))
        .header("Accept", "text/html")
        .send()
        .await
        .expect("GET a page")
}

fn cookie(res: &Response, name: &str) -> bool {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.starts_with(&format!("{name}=")) && !v.starts_with(&format!("{name}=;")))
}

both_databases! {
    async fn signing_in_works_as_a_plain_form(app: TestApp) {
        app.seed_account("acme", &[Role::AdministratorWithBilling]).await;
        let c = TestApp::new_client();
        let page = get(&app, &c, "/login?next=/billing").await;
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        // The browser's own checks, offline: constraint attributes.
        for attr in [r#"type="email""#, "required", r#"autocomplete="username""#, r#"autocomplete="current-password""#, r#"maxlength="254""#, r#"maxlength="128""#] {
            assert!(html.contains(attr), "{attr} in {html}");
        }
        assert!(html.contains(r#"name="next" value="/billing""#));
        assert!(!html.contains("<script") && !html.contains(".wasm") && !html.contains(".js\""));
        assert!(html.len() < 4_000, "a small page: {} bytes", html.len());

        // A wrong password: the message next to the password field, the email kept, the
        // password not written back.
        let wrong = post(&app, &c, "/login", &[("email", "admin_billing@acme.test"), ("password", "not the right one"), ("next", "/billing")]).await;
        assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(!cookie(&wrong, "tally_session"));
        let html = wrong.text().await.unwrap();
        assert!(html.contains(r#"id="password-error" aria-live="polite" class="field-error">Email or password is incorrect."#), "{html}");
        assert!(html.contains(r#"aria-invalid="true" aria-describedby="password-error""#), "{html}");
        assert!(html.contains(r#"value="admin_billing@acme.test""#));
        assert!(!html.contains("not the right one"));

        // The right one: a session, then on to `next`.
        let ok = post(&app, &c, "/login", &[("email", "admin_billing@acme.test"), ("password", TEST_PASSWORD), ("next", "/billing")]).await;
        assert_eq!(ok.status(), StatusCode::SEE_OTHER);
        assert_eq!(ok.headers()["location"], "/billing");
        assert!(cookie(&ok, "tally_session"));
        // A `next` elsewhere is ignored.
        let d = TestApp::new_client();
        let away = post(&app, &d, "/login", &[("email", "admin_billing@acme.test"), ("password", TEST_PASSWORD), ("next", "//evil.test/x")]).await;
        assert_eq!(away.headers()["location"], "/");
    }

    async fn with_a_second_step_the_plain_form_leads_to_it(app: TestApp) {
        app.seed_account("acme", &[Role::AdministratorWithBilling]).await;
        sqlx::query("INSERT INTO admin_passkeys (id, owner_id, account_id, name, credential, last_used_at, created_at) VALUES ('pk', 'acme-admin_billing', 'acct-acme', 'Key', '{}', NULL, 0)")
            .execute(app.db.pool()).await.unwrap();
        let c = TestApp::new_client();
        let res = post(&app, &c, "/login", &[("email", "admin_billing@acme.test"), ("password", TEST_PASSWORD), ("next", "/users")]).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(res.headers()["location"], "/login/two-step?next=/users");
        assert!(cookie(&res, "tally_pending") && !cookie(&res, "tally_session"));
    }

    async fn too_many_sign_ins_are_refused_on_the_page_with_retry_after(app: TestApp) {
        let c = TestApp::new_client();
        let mut last = None;
        for _ in 0..25 {
            last = Some(post(&app, &c, "/login", &[("email", "nobody@acme.test"), ("password", "whatever it is")]).await);
        }
        let res = last.unwrap();
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(res.headers().contains_key("retry-after"));
        assert!(res.text().await.unwrap().contains("Too many sign-in attempts"));
    }

    async fn forgot_password_and_the_reset_link_work_as_plain_forms(app: TestApp) {
        app.seed_account("acme", &[Role::AdministratorWithBilling]).await;
        let c = TestApp::new_client();
        let bad = post(&app, &c, "/forgot-password", &[("email", "not an address")]).await;
        assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let html = bad.text().await.unwrap();
        assert!(html.contains(r#"id="email-error" aria-live="polite" class="field-error">"#) && html.contains(r#"value="not an address""#), "{html}");
        let sent = post(&app, &c, "/forgot-password", &[("email", "admin_billing@acme.test")]).await;
        assert_eq!(sent.status(), 200);
        assert!(sent.text().await.unwrap().contains("we've sent them a link"));
        // The link arrives by the outbox worker.
        let mut link = None;
        for _ in 0..100 {
            app.services.ctx.outbox.deliver_due().await.unwrap();
            if let Some(mail) = app.outbox_messages().into_iter().find(|m| m.contains("To: admin_billing@acme.test")) {
                link = find_link(&mail, &format!("{}/reset-password/", app.address));
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let path = link.expect("a reset link").replacen(&app.address, "", 1);

        let page = get(&app, &c, &path).await;
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(html.contains("You'll sign in as <strong>admin_billing@acme.test</strong>") && html.contains(r#"minlength="12""#), "{html}");
        // A weak password: said next to the field, nothing typed written back.
        // Typed differently the second time: refused before the link is spent.
        let mismatch = post(&app, &c, &path, &[("password", "a brand new long passphrase"), ("confirm_password", "a brand new long passphrasf")]).await;
        assert_eq!(mismatch.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let html = mismatch.text().await.unwrap();
        assert!(html.contains("The two passwords don&#39;t match.") || html.contains("The two passwords don't match."), "{html}");
        assert!(!html.contains("passphras"), "{html}");
        let weak = post(&app, &c, &path, &[("password", "password1234"), ("confirm_password", "password1234")]).await;
        assert_eq!(weak.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let html = weak.text().await.unwrap();
        assert!(html.contains(r#"id="password-error" aria-live="polite" class="field-error">"#) && !html.contains("password1234"), "{html}");
        let ok = post(&app, &c, &path, &[("password", "a brand new long passphrase"), ("confirm_password", "a brand new long passphrase")]).await;
        assert_eq!(ok.status(), StatusCode::SEE_OTHER);
        assert!(cookie(&ok, "tally_session"));
        // Used once: the page says so.
        let used = get(&app, &c, &path).await;
        assert_eq!(used.status(), StatusCode::GONE);
        assert!(used.text().await.unwrap().contains("This link has already been used."));
    }

    async fn a_link_token_never_reaches_the_log(app: TestApp) {
        let token = format!("tok{}", "Z".repeat(30));
        // Refused for its host, then for its origin: both warnings name the path.
        let c = TestApp::new_client();
        let _ = c.get(app.url(&format!("/reset-password/{token}"))).header("Host", "evil.example").send().await.unwrap();
        let _ = c.post(app.url(&format!("/reset-password/{token}"))).header("Origin", "https://evil.example").form(&[("password", "x")]).send().await.unwrap();
        let _ = get(&app, &c, &format!("/invitation/{token}")).await;
        let refused = crate::helpers::logged("refused");
        assert!(refused.iter().any(|l| l.contains("/reset-password/***")), "{refused:?}");
        assert!(crate::helpers::logged(&token).is_empty(), "{:?}", crate::helpers::logged(&token));
    }
}
