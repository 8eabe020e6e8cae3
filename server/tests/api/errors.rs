//! Every kind of error reaches the browser with its status and a body the app can decode, and
//! an unexpected one carries only a reference id, whose log line names what was being done.

use serde_json::Value;
use tally_core::roles::Role;

use crate::{
    both_databases,
    helpers::{logged, TestApp},
};

/// The reference id of an `Internal` error body.
fn reference(body: &Value) -> String {
    body["Internal"]
        .as_str()
        .unwrap_or_else(|| panic!("an internal error with a reference: {body}"))
        .to_string()
}

both_databases! {
    async fn each_error_case_reaches_the_browser_with_its_status(app: TestApp) {
        app.seed_account("acme", &[Role::AdministratorWithBilling, Role::ReadOnly]).await;
        let owner = app.signed_in("admin_billing@acme.test").await;
        let reader = app.signed_in("read_only@acme.test").await;

        // 401: nobody signed in.
        let res = app.call(&TestApp::new_client(), "users/list", &[]).await;
        assert_eq!(res.status(), 401);
        assert_eq!(res.json::<Value>().await.unwrap(), "Unauthenticated");
        // 403: the role may not.
        let res = app.call(&reader, "users/create", &[("first_name", "A"), ("last_name", "B"), ("email", "a@b.test")]).await;
        assert_eq!(res.status(), 403);
        assert_eq!(res.json::<Value>().await.unwrap(), "Forbidden");
        // 404: no such user in the account.
        let res = app.call(&owner, "users/delete", &[("id", "no-such-user")]).await;
        assert_eq!(res.status(), 404);
        assert_eq!(res.json::<Value>().await.unwrap(), "NotFound");
        // 409: the account's last billing administrator cannot be demoted (by anyone: here,
        // themselves, which is refused too).
        let res = app.call(&owner, "admins/set-role", &[("id", "acme-admin_billing"), ("role", "manager")]).await;
        assert_eq!(res.status(), 409);
        assert!(res.json::<Value>().await.unwrap()["Conflict"].is_string());
        // 422: the field and its message.
        let res = app.call(&owner, "users/create", &[("first_name", ""), ("last_name", "B"), ("email", "a@b.test")]).await;
        assert_eq!(res.status(), 422);
        assert!(res.json::<Value>().await.unwrap()["Validation"]["first_name"].is_string());
        // 400: arguments that cannot be read say nothing of what was sent.
        let res = app.call(&owner, "users/set-suspended", &[("id", "x"), ("suspended", "4111111111111111")]).await; // test number
        assert_eq!(res.status(), 400);
        let body = res.text().await.unwrap();
        assert!(!body.contains("4111"), "{body}");
        // 429: too many sign-ins from one address.
        let stranger = TestApp::new_client();
        let mut last = 0;
        for _ in 0..25 {
            last = app.call(&stranger, "account/sign-in", &[("email", "x@acme.test"), ("password", "wrong password here")]).await.status().as_u16();
        }
        assert_eq!(last, 429);
    }

    async fn a_reset_request_for_a_malformed_address_is_a_422_with_the_fields_message(app: TestApp) {
        let res = app.call(&app.client, "account/request-reset", &[("email", "not an address")]).await;
        assert_eq!(res.status(), 422);
        let body: Value = res.json().await.unwrap();
        assert!(body["Validation"]["email"].is_string(), "{body}");
    }

    async fn an_unexpected_failure_is_a_500_with_a_reference_whose_log_names_the_operation(app: TestApp) {
        app.db.close().await;
        let res = app.call(&app.client, "setup/needed", &[]).await;
        assert_eq!(res.status(), 500);
        let request_id = res.headers()["x-request-id"].to_str().unwrap().to_string();
        let body: Value = res.json().await.unwrap();
        let reference = reference(&body);
        assert_eq!(reference, request_id, "the reference is the request's id");
        let text = body.to_string();
        for inner in ["pool", "closed", "sqlx", "sellers", "SELECT"] {
            assert!(!text.contains(inner), "no internal text reaches the browser: {text}");
        }
        // Every line the request logged carries its id; one of them is the error's.
        let lines = logged(&reference);
        let errors: Vec<&String> = lines.iter().filter(|l| l.contains("unexpected error")).collect();
        assert_eq!(errors.len(), 1, "{lines:?}");
        assert!(errors[0].contains("checking for the seller"), "{}", errors[0]);
        assert!(errors[0].contains("ERROR"), "{}", errors[0]);
    }

    async fn a_database_gone_mid_session_is_a_503_with_a_reference_never_a_silent_sign_out(app: TestApp) {
        app.seed_account("acme", &[Role::AdministratorWithBilling]).await;
        let owner = app.signed_in("admin_billing@acme.test").await;
        assert_eq!(app.call(&owner, "users/list", &[]).await.status(), 200);
        app.db.close().await;
        let res = app.call(&owner, "users/list", &[]).await;
        assert_eq!(res.status(), 503, "not 401: the session was not read, not found missing");
        let body: Value = res.json().await.unwrap();
        let reference = reference(&body);
        let lines = logged(&reference);
        let errors: Vec<&String> = lines.iter().filter(|l| l.contains("unexpected error")).collect();
        assert_eq!(errors.len(), 1, "{lines:?}");
        assert!(errors[0].contains("looking up a session"), "{}", errors[0]);
        // A page load says the same, and keeps the cookie.
        let page = owner.get(app.url("/users")).header("Accept", "text/html").send().await.unwrap();
        assert_eq!(page.status(), 503);
        assert!(page.headers().get("set-cookie").is_none(), "the session cookie is kept");
        let html = page.text().await.unwrap();
        let reference = html.split("reference ").nth(1).unwrap_or_default()[..8].to_string();
        assert!(logged(&reference)[0].contains("looking up a session"), "{html}");
    }
}
