//! Commands (issue 8): every endpoint × every role from the matrix, another account's commands
//! out of reach, the binding (not the role) deciding who runs, and the billing-only rule.

use serde_json::Value;
use tally_core::roles::{allows, Action, Role, ALL_ROLES};

use crate::{both_databases, helpers::TestApp};

async fn create(app: &TestApp, cookie: &str, name: &str) -> String {
    let res = app
        .call_as(
            cookie,
            "commands/create",
            &[("name", name), ("shell", "bash"), ("script", "echo hi\n")],
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    res.json().await.unwrap()
}

both_databases! {
    async fn every_command_endpoint_follows_the_matrix_and_the_binding(app: TestApp) {
        app.seed_account("acme", &ALL_ROLES).await;
        let owner = app.session_cookie_for("acme-admin_billing").await;
        for role in ALL_ROLES {
            let c = app.session_cookie_for(&format!("acme-{}", role.code())).await;
            let manage = allows(role, Action::ManageCommands);
            let runs = allows(role, Action::RunBoundCommands);
            let want = |ok: bool| if ok { 200 } else { 403 };
            assert_eq!(app.call_as(&c, "commands/list", &[]).await.status().as_u16(), want(manage || runs), "list as {role:?}");
            let created = app.call_as(&c, "commands/create", &[("name", "X"), ("shell", "zsh"), ("script", "ls")]).await;
            assert_eq!(created.status().as_u16(), want(manage), "create as {role:?}");
            let cmd = create(&app, &owner, &format!("cmd for {role:?}")).await;
            let me = format!("acme-{}", role.code());
            for (endpoint, form) in [
                ("commands/update", vec![("id", cmd.as_str()), ("name", "Y"), ("shell", "bash"), ("script", "ls")]),
                ("commands/bind", vec![("command_id", cmd.as_str()), ("admin_id", "acme-manager")]),
                ("commands/unbind", vec![("command_id", cmd.as_str()), ("admin_id", "acme-manager")]),
            ] {
                assert_eq!(app.call_as(&c, endpoint, &form).await.status().as_u16(), want(manage), "{endpoint} as {role:?}");
            }
            // Not bound: nobody runs it, whatever the role.
            assert_eq!(app.call_as(&c, "commands/run", &[("id", &cmd)]).await.status(), 403, "unbound run as {role:?}");
            if runs {
                let bound = app.call_as(&owner, "commands/bind", &[("command_id", &cmd), ("admin_id", &me), ("confirm", "true")]).await;
                assert_eq!(bound.status(), 200, "bind {role:?}");
                let run = app.call_as(&c, "commands/run", &[("id", &cmd)]).await;
                assert_eq!(run.status(), 200, "bound run as {role:?}");
                let history: Value = app.call_as(&c, "commands/runs", &[("id", &cmd)]).await.json().await.unwrap();
                assert_eq!(history["runs"][0]["status"], "queued");
                assert_eq!(history["runs"][0]["admin_email"], format!("{}@acme.test", role.code()));
                let visible: Value = app.call_as(&c, "commands/list", &[]).await.json().await.unwrap();
                assert!(visible["commands"].as_array().unwrap().iter().any(|x| x["id"] == cmd.as_str() && x["bound_to_me"] == true));
            } else {
                let bound = app.call_as(&owner, "commands/bind", &[("command_id", &cmd), ("admin_id", &me), ("confirm", "true")]).await;
                assert_eq!(bound.status(), 409, "{role:?} can't be a runner");
            }
            assert_eq!(app.call_as(&c, "commands/delete", &[("id", &cmd)]).await.status().as_u16(), want(manage), "delete as {role:?}");
        }
    }

    async fn runners_see_only_their_commands_and_another_accounts_are_not_found(app: TestApp) {
        app.seed_account("acme", &[Role::AdministratorWithBilling, Role::CommandRunner]).await;
        app.seed_account("other", &[Role::AdministratorWithBilling]).await;
        let owner = app.session_cookie_for("acme-admin_billing").await;
        let runner = app.session_cookie_for("acme-command_runner").await;
        let theirs_owner = app.session_cookie_for("other-admin_billing").await;
        let mine = create(&app, &owner, "Mine").await;
        create(&app, &owner, "Not bound").await;
        let theirs = create(&app, &theirs_owner, "Theirs").await;
        assert_eq!(app.call_as(&owner, "commands/bind", &[("command_id", &mine), ("admin_id", "acme-command_runner")]).await.status(), 200);
        let list: Value = app.call_as(&runner, "commands/list", &[]).await.json().await.unwrap();
        let names: Vec<&str> = list["commands"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["Mine"]);
        assert_eq!(list["manage"], false);
        for (endpoint, form) in [
            ("commands/update", vec![("id", theirs.as_str()), ("name", "Y"), ("shell", "bash"), ("script", "ls")]),
            ("commands/delete", vec![("id", theirs.as_str())]),
            ("commands/bind", vec![("command_id", theirs.as_str()), ("admin_id", "acme-command_runner")]),
            ("commands/runs", vec![("id", theirs.as_str())]),
        ] {
            assert_eq!(app.call_as(&owner, endpoint, &form).await.status(), 404, "{endpoint}");
        }
        assert_eq!(app.call_as(&runner, "commands/run", &[("id", &theirs)]).await.status(), 404);
        // Binding another account's administrator to our command: not found either.
        assert_eq!(app.call_as(&owner, "commands/bind", &[("command_id", &mine), ("admin_id", "other-admin_billing")]).await.status(), 404);
        let name: String = sqlx::query_scalar("SELECT name FROM commands WHERE id = $1").bind(&theirs).fetch_one(app.db.pool()).await.unwrap();
        assert_eq!(name, "Theirs");
        // Bad input: core's messages, next to each field.
        let bad = app.call_as(&owner, "commands/create", &[("name", ""), ("shell", "fish"), ("script", "  ")]).await;
        assert_eq!(bad.status(), 422);
        let body: Value = bad.json().await.unwrap();
        assert_eq!(body["Validation"]["shell"], "Choose a shell.");
        assert_eq!(body["Validation"]["script"], "Enter the script to run.");
        assert!(body["Validation"]["name"].is_string());
    }

    async fn binding_a_billing_only_admin_needs_confirmation_and_the_label_follows(app: TestApp) {
        app.seed_account("acme", &[Role::AdministratorWithBilling, Role::CommandRunnerWithBilling]).await;
        let owner = app.session_cookie_for("acme-admin_billing").await;
        let cmd = create(&app, &owner, "Restart").await;
        let billing_only = |list: &Value| list["admins"].as_array().unwrap().iter().find(|a| a["id"] == "acme-command_runner_billing").unwrap()["billing_only"].as_bool().unwrap();
        let admins: Value = app.call_as(&owner, "admins/list", &[]).await.json().await.unwrap();
        assert!(billing_only(&admins));
        let unconfirmed = app.call_as(&owner, "commands/bind", &[("command_id", &cmd), ("admin_id", "acme-command_runner_billing")]).await;
        assert_eq!(unconfirmed.status(), 409);
        let body: Value = unconfirmed.json().await.unwrap();
        assert!(body["Conflict"].as_str().unwrap().contains("will be able to run"), "{body}");
        let confirmed = app.call_as(&owner, "commands/bind", &[("command_id", &cmd), ("admin_id", "acme-command_runner_billing"), ("confirm", "true")]).await;
        assert_eq!(confirmed.status(), 200);
        let admins: Value = app.call_as(&owner, "admins/list", &[]).await.json().await.unwrap();
        assert!(!billing_only(&admins), "the label is gone once bound");
        assert_eq!(app.call_as(&owner, "commands/unbind", &[("command_id", &cmd), ("admin_id", "acme-command_runner_billing")]).await.status(), 200);
        let admins: Value = app.call_as(&owner, "admins/list", &[]).await.json().await.unwrap();
        assert!(billing_only(&admins), "and back when unbound");
        let audited: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE kind IN ('command_created', 'runner_bound', 'runner_unbound')")
            .fetch_one(app.db.pool()).await.unwrap();
        assert_eq!(audited, 3);
    }
}
