//! Administrators (issue 5, the part issue 4's invitation flow needs): creation by role, per
//! the matrix; unique addresses across Tally; the invitation email.

use tally_core::roles::{allows, Action, ALL_ROLES};

use crate::{
    both_databases,
    helpers::{find_link, TestApp},
};

both_databases! {
    async fn only_roles_that_manage_administrators_may_create_one(app: TestApp) {
        app.seed_account("acme", &ALL_ROLES).await;
        for (i, role) in ALL_ROLES.into_iter().enumerate() {
            let c = app.signed_in(&format!("{}@acme.test", role.code())).await;
            let email = format!("new{i}@acme.test");
            let res = app.call(&c, "admins/create", &[("first_name", "New"), ("last_name", "Person"), ("email", &email), ("role", "manager")]).await;
            let expected = if allows(role, Action::ManageAdministrators) { 200 } else { 403 };
            assert_eq!(res.status().as_u16(), expected, "{role:?}");
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM admins WHERE email_key = $1").bind(&email).fetch_one(app.db.pool()).await.unwrap();
            assert_eq!(n, i64::from(expected == 200), "{role:?} created nothing it may not");
        }
        let anonymous = app.call(&TestApp::new_client(), "admins/create", &[("first_name", "A"), ("last_name", "B"), ("email", "x@acme.test"), ("role", "manager")]).await;
        assert_eq!(anonymous.status(), 401);
    }

    async fn a_new_administrator_is_invited_by_email_into_the_creators_account_only(app: TestApp) {
        let acme = app.seed_account("acme", &[tally_core::roles::Role::AdministratorWithBilling]).await;
        app.seed_account("other", &[tally_core::roles::Role::AdministratorWithBilling]).await;
        let c = app.signed_in("admin_billing@acme.test").await;
        let bad = app.call(&c, "admins/create", &[("first_name", ""), ("last_name", "Chen"), ("email", "nope"), ("role", "root")]).await;
        assert_eq!(bad.status(), 422);
        let body: serde_json::Value = bad.json().await.unwrap();
        assert!(body["Validation"]["first_name"].is_string() && body["Validation"]["email"].is_string() && body["Validation"]["role"].is_string());

        let res = app.call(&c, "admins/create", &[("first_name", "Bo"), ("last_name", "Chen"), ("email", "Bo@Acme.test"), ("role", "command_runner_billing")]).await;
        assert_eq!(res.status(), 200);
        let (account, status): (String, String) = sqlx::query_as("SELECT account_id, status FROM admins WHERE email_key = 'bo@acme.test'").fetch_one(app.db.pool()).await.unwrap();
        assert_eq!(account, acme);
        assert_eq!(status, "invited");
        let mail = app.outbox_messages().pop().expect("invitation email");
        assert!(mail.contains("To: Bo@acme.test"), "{mail}");
        assert!(find_link(&mail, &format!("{}/invitation/", app.address)).is_some());

        // Addresses are unique across Tally, whatever their case, and whichever account asks.
        let other = app.signed_in("admin_billing@other.test").await;
        let dup = app.call(&other, "admins/create", &[("first_name", "Bo"), ("last_name", "Chen"), ("email", "BO@acme.TEST"), ("role", "manager")]).await;
        assert_eq!(dup.status(), 422);
        let body: serde_json::Value = dup.json().await.unwrap();
        assert_eq!(body["Validation"]["email"], "An administrator with this email already exists.");
    }
}
