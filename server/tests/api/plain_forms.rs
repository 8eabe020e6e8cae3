//! The app's forms sent as plain HTML forms (issue 29) — before the page is live, or with
//! scripts off — on both databases: a browser's own post to a server function is answered as a
//! page (a 303 on success; on a refusal, the page drawn again with the message beside its
//! field and what was typed, never a password), never as JSON; and the server function's
//! permission and tenant checks hold on this path too.

use reqwest::{Response, StatusCode};
use tally_core::roles::Role;

use crate::{both_databases, helpers::TestApp};

/// A plain form post to a server function, as a browser sends it.
pub(crate) async fn plain_post(
    app: &TestApp,
    cookie: &str,
    endpoint: &str,
    form: &[(&str, &str)],
) -> Response {
    TestApp::new_client()
        .post(app.url(&format!("/api/{endpoint}")))
        .header("Origin", &app.address)
        .header("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
        .header("Cookie", cookie)
        .form(form)
        .send()
        .await
        .expect("POST a plain form")
}

fn content_type(res: &Response) -> String {
    res.headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

fn location(res: &Response) -> String {
    res.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

async fn user_names(app: &TestApp, account: &str) -> Vec<String> {
    sqlx::query_scalar("SELECT first_name FROM users WHERE account_id = $1 ORDER BY first_name")
        .bind(account)
        .fetch_all(app.db.pool())
        .await
        .unwrap()
}

both_databases! {
    async fn a_refused_plain_post_is_its_page_again_with_the_messages_and_what_was_typed(app: TestApp) {
        app.seed_account("acme", &[Role::AdministratorWithBilling]).await;
        let owner = app.session_cookie_for("acme-admin_billing").await;

        let res = plain_post(&app, &owner, "account/update-name", &[("first_name", ""), ("last_name", "Keeps"), ("__page", "/account")]).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(content_type(&res).starts_with("text/html"), "{}", content_type(&res));
        assert_eq!(res.headers().get("cache-control").unwrap(), "no-store");
        let html = res.text().await.unwrap();
        assert!(html.contains("<h1>Account settings"), "the page, drawn again: {html}");
        assert!(html.contains(r#"class="field-error">Enter the first name."#), "the message beside its field: {html}");
        assert!(html.contains(r#"value="Keeps""#), "what was typed: {html}");

        // A password is never written back, nor kept in the page's echo.
        let res = plain_post(&app, &owner, "account/change-password", &[
            ("current_password", "not the current one at all"),
            ("new_password", "a brand new sturdy passphrase"),
            ("confirm_password", "a brand new sturdy passphrase"),
            ("__page", "/account"),
        ]).await;
        assert!(res.status().is_client_error(), "{}", res.status());
        assert!(content_type(&res).starts_with("text/html"));
        let html = res.text().await.unwrap();
        assert!(html.contains("current_password-error"), "{html}");
        assert!(!html.contains("not the current one") && !html.contains("a brand new sturdy"), "{html}");

        // The second typing is checked on this path too.
        let res = plain_post(&app, &owner, "account/change-password", &[
            ("current_password", crate::helpers::TEST_PASSWORD),
            ("new_password", "a brand new sturdy passphrase"),
            ("confirm_password", "a brand new sturdy passphrasf"),
            ("__page", "/account"),
        ]).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let html = res.text().await.unwrap();
        let message = html.split(r#"id="confirm_password-error""#).nth(1).unwrap_or_default();
        assert!(message.contains("The two passwords don") && message.contains("t match."), "{html}");

        // A card number typed into a name comes back as the rule's message, never as typed.
        let res = plain_post(&app, &owner, "account/update-name", &[("first_name", "Ann"), ("last_name", "4111 1111 1111 1111"), ("__page", "/account")]).await; // test number
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let html = res.text().await.unwrap();
        assert!(html.contains("This looks like a card number"), "{html}");
        assert!(!html.contains("4111 1111") && !html.contains("4111111111111111"), "{html}"); // test number
        assert!(html.contains(r#"value="Ann""#), "the rest is kept: {html}");
    }

    async fn a_plain_post_that_succeeds_goes_on_with_a_303_and_stays_on_this_site(app: TestApp) {
        app.seed_account("acme", &[Role::AdministratorWithBilling]).await;
        let owner = app.session_cookie_for("acme-admin_billing").await;
        let res = plain_post(&app, &owner, "account/update-name", &[("first_name", "Ann"), ("last_name", "Lee"), ("__page", "/account")]).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&res), "/account");
        let name: String = sqlx::query_scalar("SELECT first_name FROM admins WHERE id = 'acme-admin_billing'")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
        assert_eq!(name, "Ann");
        for page in ["//evil.example/x", "https://evil.example/", "/\\evil.example"] {
            let res = plain_post(&app, &owner, "account/update-name", &[("first_name", "Ann"), ("last_name", "Lee"), ("__page", page)]).await;
            assert_eq!(res.status(), StatusCode::SEE_OTHER);
            assert_eq!(location(&res), "/", "{page}");
        }
        // The app's own calls (they accept JSON) are answered as before.
        let res = app.call_as(&owner, "account/update-name", &[("first_name", ""), ("last_name", "Lee")]).await;
        assert_eq!(res.status(), 422);
        assert!(res.headers().get("content-type").unwrap().to_str().unwrap().contains("json"));
    }

    async fn a_plain_post_is_refused_to_a_role_and_a_tenant_it_is_refused_to_as_json(app: TestApp) {
        let acme = app.seed_account("acme", &[Role::AdministratorWithBilling, Role::ReadOnly]).await;
        let globex = app.seed_account("globex", &[Role::AdministratorWithBilling]).await;
        let reader = app.session_cookie_for("acme-read_only").await;
        let res = plain_post(&app, &reader, "users/create", &[("first_name", "Sneaky"), ("last_name", "User"), ("email", "sneaky@acme.test"), ("__page", "/users")]).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        assert!(content_type(&res).starts_with("text/html"));
        assert!(user_names(&app, &acme).await.is_empty());

        // A user of another account: out of reach by id.
        let globex_owner = app.session_cookie_for("globex-admin_billing").await;
        let res = app.call_as(&globex_owner, "users/create", &[("first_name", "Gil"), ("last_name", "Globex"), ("email", "gil@globex.test")]).await;
        assert_eq!(res.status(), 200);
        let gil: String = res.json().await.unwrap();
        let owner = app.session_cookie_for("acme-admin_billing").await;
        let res = plain_post(&app, &owner, "users/update", &[("id", &gil), ("first_name", "Hijacked"), ("last_name", "User"), ("email", "gil@globex.test"), ("__page", "/users")]).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        assert!(content_type(&res).starts_with("text/html"));
        assert_eq!(user_names(&app, &globex).await, vec!["Gil".to_string()]);
    }
}
