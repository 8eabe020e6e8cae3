//! Users (issue 7): the matrix for every endpoint, another account's users out of reach, the
//! count history written with each change, and the all-or-nothing CSV import.

use serde_json::Value;
use tally_core::roles::{allows, Action, Role, ALL_ROLES};

use crate::{both_databases, helpers::TestApp};

async fn add_user(app: &TestApp, cookie: &str, first: &str, email: &str) -> String {
    let res = app
        .call_as(
            cookie,
            "users/create",
            &[
                ("first_name", first),
                ("last_name", "User"),
                ("email", email),
            ],
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    res.json().await.unwrap()
}

async fn count_history(app: &TestApp, account: &str) -> (i64, i64) {
    sqlx::query_as(
        "SELECT COUNT(*), CAST(COALESCE(SUM(delta), 0) AS BIGINT) FROM user_count_changes WHERE account_id = $1",
    )
    .bind(account)
    .fetch_one(app.db.pool())
    .await
    .unwrap()
}

both_databases! {
    async fn every_user_endpoint_is_allowed_exactly_where_the_matrix_says(app: TestApp) {
        let acme = app.seed_account("acme", &ALL_ROLES).await;
        let owner = app.session_cookie_for("acme-admin_billing").await;
        for (i, role) in ALL_ROLES.into_iter().enumerate() {
            let cookie = app.session_cookie_for(&format!("acme-{}", role.code())).await;
            let list = app.call_as(&cookie, "users/list", &[]).await.status().as_u16();
            assert_eq!(list, if allows(role, Action::ViewUsers) { 200 } else { 403 }, "list as {role:?}");
            let may = allows(role, Action::ManageUsers);
            let want = if may { 200 } else { 403 };
            let email = format!("u{i}@acme.test");
            let created = app.call_as(&cookie, "users/create", &[("first_name", "A"), ("last_name", "B"), ("email", &email)]).await;
            assert_eq!(created.status().as_u16(), want, "create as {role:?}");
            let target = add_user(&app, &owner, "Target", &format!("t{i}@acme.test")).await;
            for (endpoint, form) in [
                ("users/update", vec![("id", target.as_str()), ("first_name", "C"), ("last_name", "D"), ("email", "changed@acme.test")]),
                ("users/set-suspended", vec![("id", target.as_str()), ("suspended", "true")]),
                ("users/import", vec![("csv", "first_name,last_name,email\nX,Y,x@acme.test")]),
                ("users/delete", vec![("id", target.as_str())]),
            ] {
                let status = app.call_as(&cookie, endpoint, &form).await.status().as_u16();
                assert_eq!(status, want, "{endpoint} as {role:?}");
                if endpoint == "users/import" && may {
                    // Undo, so the next allowed role's import is not a duplicate.
                    sqlx::query("DELETE FROM users WHERE email_key = 'x@acme.test'").execute(app.db.pool()).await.unwrap();
                }
            }
            let exists: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE id = $1").bind(&target).fetch_one(app.db.pool()).await.unwrap();
            assert_eq!(exists, i64::from(!may), "{role:?} deleted only if allowed");
            // The identity provider's tokens: Manage users too.
            let made: Value = app.call_as(&owner, "users/scim-tokens/create", &[]).await.json().await.unwrap();
            let token_id = made["row"]["id"].as_str().unwrap().to_owned();
            for (endpoint, form) in [
                ("users/scim-tokens/list", vec![]),
                ("users/scim-tokens/create", vec![]),
                ("users/scim-tokens/revoke", vec![("token_id", token_id.as_str())]),
            ] {
                let status = app.call_as(&cookie, endpoint, &form).await.status().as_u16();
                assert_eq!(status, want, "{endpoint} as {role:?}");
            }
            let revoked: Option<i64> = sqlx::query_scalar("SELECT revoked_at FROM scim_tokens WHERE id = $1").bind(&token_id).fetch_one(app.db.pool()).await.unwrap();
            assert_eq!(revoked.is_some(), may, "{role:?} revoked only if allowed");
        }
        let _ = acme;
    }

    async fn another_accounts_users_are_not_found_and_unchanged(app: TestApp) {
        app.seed_account("acme", &[Role::AdministratorWithBilling]).await;
        app.seed_account("other", &[Role::AdministratorWithBilling]).await;
        let ours = app.session_cookie_for("acme-admin_billing").await;
        let theirs = app.session_cookie_for("other-admin_billing").await;
        let victim = add_user(&app, &theirs, "Vic", "vic@other.test").await;
        for (endpoint, form) in [
            ("users/update", vec![("id", victim.as_str()), ("first_name", "X"), ("last_name", "Y"), ("email", "x@acme.test")]),
            ("users/set-suspended", vec![("id", victim.as_str()), ("suspended", "true")]),
            ("users/delete", vec![("id", victim.as_str())]),
        ] {
            assert_eq!(app.call_as(&ours, endpoint, &form).await.status(), 404, "{endpoint}");
        }
        let row: (String, String) = sqlx::query_as("SELECT first_name, status FROM users WHERE id = $1").bind(&victim).fetch_one(app.db.pool()).await.unwrap();
        assert_eq!(row, ("Vic".to_string(), "active".to_string()));
        let page: Value = app.call_as(&ours, "users/list", &[]).await.json().await.unwrap();
        assert_eq!(page["total"], 0);
        // The same address may be a user in two accounts.
        add_user(&app, &ours, "Vic", "vic@other.test").await;
    }

    async fn adds_and_deletes_are_recorded_with_the_count_and_suspending_keeps_it(app: TestApp) {
        let acme = app.seed_account("acme", &[Role::Manager]).await;
        let c = app.session_cookie_for("acme-manager").await;
        let a = add_user(&app, &c, "Ann", "ann@acme.test").await;
        let b = add_user(&app, &c, "Bo", "bo@acme.test").await;
        assert_eq!(count_history(&app, &acme).await, (2, 2));
        assert_eq!(app.call_as(&c, "users/set-suspended", &[("id", &a), ("suspended", "true")]).await.status(), 200);
        assert_eq!(count_history(&app, &acme).await, (2, 2), "suspended users still count");
        assert_eq!(app.call_as(&c, "users/delete", &[("id", &b)]).await.status(), 200);
        assert_eq!(count_history(&app, &acme).await, (3, 1));
        // A taken address is refused next to the field; nothing is recorded.
        let dup = app.call_as(&c, "users/create", &[("first_name", "Ann"), ("last_name", "Two"), ("email", "ANN@acme.test")]).await;
        assert_eq!(dup.status(), 422);
        let body: Value = dup.json().await.unwrap();
        assert_eq!(body["Validation"]["email"], "A user with this email already exists.");
        assert_eq!(count_history(&app, &acme).await, (3, 1));
        // Search and pages.
        for i in 0..55 {
            add_user(&app, &c, &format!("P{i:02}"), &format!("p{i}@acme.test")).await;
        }
        let page: Value = app.call_as(&c, "users/list", &[("search", ""), ("page", "2")]).await.json().await.unwrap();
        assert_eq!((page["total"].as_u64(), page["users"].as_array().unwrap().len()), (Some(56), 6));
        let first: Value = app.call_as(&c, "users/list", &[("search", ""), ("page", "1")]).await.json().await.unwrap();
        let names: Vec<(String, String)> = first["users"].as_array().unwrap().iter()
            .map(|u| (u["last_name"].as_str().unwrap().to_string(), u["first_name"].as_str().unwrap().to_string()))
            .collect();
        assert_eq!(names.len(), 50);
        assert!(names.windows(2).all(|w| w[0] <= w[1]), "a page is in name order: {names:?}");
        // A page past the end, and a search that finds nobody, still give both counts.
        for (search, page, matching) in [("", "3", 56), ("nobody at all", "1", 0)] {
            let empty: Value = app.call_as(&c, "users/list", &[("search", search), ("page", page)]).await.json().await.unwrap();
            assert_eq!((empty["total"].as_u64(), empty["matching"].as_u64()), (Some(56), Some(matching)), "{search:?} page {page}");
            assert!(empty["users"].as_array().unwrap().is_empty());
        }
        let found: Value = app.call_as(&c, "users/list", &[("search", "ann")]).await.json().await.unwrap();
        assert_eq!(found["matching"], 1);
        assert_eq!(found["users"][0]["suspended"], true);
    }

    async fn a_csv_with_any_bad_row_imports_nothing_and_lists_every_bad_row(app: TestApp) {
        let acme = app.seed_account("acme", &[Role::HelpDesk]).await;
        let c = app.session_cookie_for("acme-help_desk").await;
        add_user(&app, &c, "Old", "old@acme.test").await;
        let bad = "first_name,last_name,email\nAnn,Lee,ann@acme.test\nBo,,bo@acme.test\nCy,Diaz,not-an-email\nOld,Again,OLD@acme.test\nDee,Eve,ann@acme.test\n";
        let res = app.call_as(&c, "users/import", &[("csv", bad)]).await;
        assert_eq!(res.status(), 422);
        let body: Value = res.json().await.unwrap();
        let lines: Vec<u64> = body["ImportRejected"].as_array().unwrap().iter().map(|r| r["line"].as_u64().unwrap()).collect();
        assert_eq!(lines, [3, 4, 5, 6], "every bad row at once: {body}");
        assert_eq!(count_history(&app, &acme).await, (1, 1), "nothing imported");
        assert_eq!(body["ImportRejected"][2]["reason"], "A user with this email already exists.");
        let taken = "first_name,last_name,email\nAnn,Lee,ann@acme.test\nOld,Again,OLD@acme.test\n";
        let body: Value = app.call_as(&c, "users/import", &[("csv", taken)]).await.json().await.unwrap();
        assert_eq!(body["ImportRejected"][0]["line"], 3);
        assert_eq!(body["ImportRejected"][0]["reason"], "A user with this email already exists.");
        let good = "Email,First name,Last name\nann@acme.test,Ann,Lee\n\"kim@acme.test\",\"Kim, Jr.\",Park\n";
        let res = app.call_as(&c, "users/import", &[("csv", good)]).await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.json::<u64>().await.unwrap(), 2);
        assert_eq!(count_history(&app, &acme).await, (2, 3));
        let kim: String = sqlx::query_scalar("SELECT first_name FROM users WHERE email_key = 'kim@acme.test'").fetch_one(app.db.pool()).await.unwrap();
        assert_eq!(kim, "Kim, Jr.");
    }
}
