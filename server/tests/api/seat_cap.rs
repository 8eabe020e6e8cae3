//! A limit on an account's users (issue 34): its Administrators With Billing set it on the
//! Billing page (not below the users it has, and not a plain Administrator); adding a user
//! beyond it is refused on the Users page, in a CSV import, through the API and from SCIM,
//! with a message naming the limit and who can change it. Fifty additions at once against a
//! limit of 20 leave exactly 20 users, on both databases.

use reqwest::Method;
use serde_json::{json, Value};
use tally_core::{operators::OperatorRole, roles::Role};

use crate::{
    both_databases,
    helpers::TestApp,
    operators::enrolled,
    rest::{api, make_key},
    scim::{scim, token_of, user},
};

async fn users_of(app: &TestApp, account: &str) -> (i64, i64) {
    let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE account_id = $1")
        .bind(account)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    let counted: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(delta), 0) AS BIGINT) FROM user_count_changes WHERE account_id = $1",
    )
    .bind(account)
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    (users, counted)
}

const HOW: &str = "An Administrator With Billing can raise the limit on the Billing page.";

both_databases! {
    async fn a_user_limit_holds_against_fifty_additions_at_once_and_every_way_of_adding_users(app: TestApp) {
        let account = app.seed_account("capped", &[Role::AdministratorWithBilling, Role::Administrator]).await;
        let billing = app.session_cookie_for("capped-admin_billing").await;
        let admin = app.session_cookie_for("capped-admin").await;

        // The limit is the billing administrators': a plain Administrator may not set it; a
        // bad one is refused beside its field.
        assert_eq!(app.call_as(&admin, "billing/save-seat-cap", &[("seat_cap", "20")]).await.status(), 403);
        let bad = app.call_as(&billing, "billing/save-seat-cap", &[("seat_cap", "0")]).await;
        assert_eq!(bad.status(), 422);
        let body: Value = bad.json().await.unwrap();
        assert_eq!(body["Validation"]["seat_cap"], "Enter at least 1 user, or leave it blank for no limit.");
        assert_eq!(app.call_as(&billing, "billing/save-seat-cap", &[("seat_cap", "20")]).await.status(), 200);
        let now: Value = app.call_as(&billing, "billing/seat-cap", &[]).await.json().await.unwrap();
        assert_eq!((now["cap"].as_u64(), now["users"].as_u64()), (Some(20), Some(0)));

        // Fifty additions at once, each its own request: exactly 20 are made, and the others
        // are told why.
        let additions = (0..50).map(|i| {
            let email = format!("user{i}@capped.test");
            let app = &app;
            let billing = billing.clone();
            async move {
                let res = app.call_as(&billing, "users/create", &[("first_name", "User"), ("last_name", "Seat"), ("email", email.as_str())]).await;
                let status = res.status().as_u16();
                (status, res.text().await.unwrap())
            }
        });
        let results = futures::future::join_all(additions).await;
        let made = results.iter().filter(|(s, _)| *s == 200).count();
        assert_eq!(made, 20, "{results:?}");
        for (status, body) in results.iter().filter(|(s, _)| *s != 200) {
            assert_eq!(*status, 409, "{body}");
            assert!(body.contains("This account is limited to 20 users, and has 20 already.") && body.contains(HOW), "{body}");
        }
        assert_eq!(users_of(&app, &account).await, (20, 20), "the users and their count agree");

        // Not below the users it has.
        let below = app.call_as(&billing, "billing/save-seat-cap", &[("seat_cap", "19")]).await;
        assert_eq!(below.status(), 422);
        let body: Value = below.json().await.unwrap();
        assert_eq!(body["Validation"]["seat_cap"], "The account has 20 users now: set a limit of 20 or more, or remove users first.");

        // A CSV file that would go over: nothing imported.
        let csv = "first_name,last_name,email\nA,One,a1@capped.test\nA,Two,a2@capped.test";
        let res = app.call_as(&billing, "users/import", &[("csv", csv)]).await;
        assert_eq!(res.status(), 409);
        assert!(res.text().await.unwrap().contains("Adding 2 users would make 22: this account is limited to 20 users."));
        // SCIM, from the account's identity provider.
        let token = token_of(&app, "capped-admin_billing").await;
        let (status, error, _) = scim(&app, &token, Method::POST, "/Users", Some(user("late@capped.test", "late@capped.test", None, true))).await;
        assert_eq!(status, 409, "{error}");
        assert!(error["detail"].as_str().unwrap().contains("limited to 20 users"), "{error}");
        assert!(error["scimType"].is_null(), "not a duplicate: {error}");
        // A deactivated user takes no seat, so it may be provisioned.
        let (status, _, _) = scim(&app, &token, Method::POST, "/Users", Some(user("gone@capped.test", "gone@capped.test", None, false))).await;
        assert_eq!(status, 201);
        // The REST API.
        app.seed_operator(OperatorRole::Owner).await;
        let owner = TestApp::new_client();
        enrolled(&app, &owner, "owner@seller.test").await;
        let key = make_key(&app, &owner, "hr", &["users_write"]).await;
        let (status, problem, _) = api(&app, &key, Method::POST, &format!("/v1/accounts/{account}/users"),
            Some(json!({"first_name": "Api", "last_name": "User", "email": "api@capped.test"}))).await;
        assert_eq!(status, 409, "{problem}");
        assert!(problem["detail"].as_str().unwrap().contains("limited to 20 users"), "{problem}");
        assert_eq!(users_of(&app, &account).await, (21, 20), "20 seats and one deactivated user");

        // Another account has no limit; raised, the limit lets one more in; removed, none.
        app.seed_account("free", &[Role::AdministratorWithBilling]).await;
        let free = app.session_cookie_for("free-admin_billing").await;
        assert_eq!(app.call_as(&free, "users/create", &[("first_name", "F"), ("last_name", "G"), ("email", "f@free.test")]).await.status(), 200);
        assert_eq!(app.call_as(&billing, "billing/save-seat-cap", &[("seat_cap", "21")]).await.status(), 200);
        assert_eq!(app.call_as(&billing, "users/create", &[("first_name", "N"), ("last_name", "One"), ("email", "n1@capped.test")]).await.status(), 200);
        assert_eq!(app.call_as(&billing, "users/create", &[("first_name", "N"), ("last_name", "Two"), ("email", "n2@capped.test")]).await.status(), 409);
        assert_eq!(app.call_as(&billing, "billing/save-seat-cap", &[("seat_cap", "")]).await.status(), 200);
        assert_eq!(app.call_as(&billing, "users/create", &[("first_name", "N"), ("last_name", "Two"), ("email", "n2@capped.test")]).await.status(), 200);
        let logged: Vec<String> = sqlx::query_scalar("SELECT detail FROM audit_events WHERE account_id = $1 AND kind = 'seat_cap_changed' ORDER BY at, id")
            .bind(&account).fetch_all(app.db.pool()).await.unwrap();
        assert_eq!(logged, ["at most 20 users", "at most 21 users", "no limit"]);
    }
}
