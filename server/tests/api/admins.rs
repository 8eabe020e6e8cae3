//! Administrators (issue 5, the part issue 4's invitation flow needs): creation by role, per
//! the matrix; unique addresses across Tally; the invitation email.

use tally_core::roles::{allows, Action, ALL_ROLES};

use crate::{
    both_databases,
    helpers::{find_link, TestApp},
};

both_databases! {
    async fn the_overview_names_the_oldest_invitations_and_counts_the_rest(app: TestApp) {
        use tally_core::{roles::Role, views::overview::OVERVIEW_INVITATIONS};
        app.seed_account("acme", &[Role::AdministratorWithBilling]).await;
        let c = app.signed_in("admin_billing@acme.test").await;
        for i in 0..OVERVIEW_INVITATIONS + 3 {
            let email = format!("invited{i}@acme.test");
            let res = app.call(&c, "admins/create", &[("first_name", "New"), ("last_name", "Person"), ("email", &email), ("role", "read_only")]).await;
            assert_eq!(res.status(), 200);
        }
        let glance: serde_json::Value = app.call(&c, "overview", &[]).await.json().await.unwrap();
        let named: Vec<&str> = glance["invitations"].as_array().unwrap().iter().map(|i| i["email"].as_str().unwrap()).collect();
        assert_eq!(named, ["invited0@acme.test", "invited1@acme.test", "invited2@acme.test", "invited3@acme.test", "invited4@acme.test"]);
        assert_eq!(glance["invitations_waiting"], 8);
        let html = app.client.get(app.url("/")).header("Cookie", app.session_cookie_for("acme-admin_billing").await).header("Accept", "text/html")
            .send().await.unwrap().text().await.unwrap();
        let card = html.split("id=\"glance-invitations\"").nth(1).and_then(|c| c.split("Manage administrators").next()).unwrap();
        assert!(card.contains("…and 3 more, on the Administrators page."), "the rest counted: {card}");
        assert!(card.contains("invited4@acme.test") && !card.contains("invited5@acme.test"), "five named: {card}");
    }

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

use tally_core::roles::{AdminChange, Role};

/// An admin of `role` added to `account` directly; returns its id.
async fn add_admin(app: &TestApp, account: &str, id: &str, role: Role, status: &str) -> String {
    sqlx::query(
        "INSERT INTO admins (id, account_id, email, email_key, first_name, last_name, role, status, password_hash, created_at, updated_at) \
         VALUES ($1, $2, $3, $3, 'T', 'T', $4, $5, 'x', 0, 0)",
    )
    .bind(id)
    .bind(account)
    .bind(format!("{id}@t.test"))
    .bind(role.code())
    .bind(status)
    .execute(app.db.pool())
    .await
    .unwrap();
    id.to_string()
}

async fn role_and_status(app: &TestApp, id: &str) -> Option<(String, String)> {
    sqlx::query_as("SELECT role, status FROM admins WHERE id = $1")
        .bind(id)
        .fetch_optional(app.db.pool())
        .await
        .unwrap()
}

both_databases! {
    async fn the_list_counts_matches_and_the_whole_account_and_pages_by_fifty(app: TestApp) {
        let acme = app.seed_account("acme", &[Role::AdministratorWithBilling]).await;
        for i in 0..60 {
            add_admin(&app, &acme, &format!("reader{i:02}"), Role::ReadOnly, "active").await;
        }
        add_admin(&app, &acme, "zed", Role::Manager, "invited").await;
        // Another tenant's administrators never count.
        let other = app.seed_account("other", &[Role::AdministratorWithBilling]).await;
        add_admin(&app, &other, "reader99", Role::ReadOnly, "active").await;
        let cookie = app.session_cookie_for(&format!("acme-{}", Role::AdministratorWithBilling.code())).await;
        let list = |search: &'static str, page: &'static str| {
            let cookie = cookie.clone();
            let app = &app;
            async move {
                let res = app.call_as(&cookie, "admins/list", &[("search", search), ("page", page)]).await;
                assert_eq!(res.status(), 200);
                res.json::<serde_json::Value>().await.unwrap()
            }
        };
        let all = list("", "1").await;
        assert_eq!((all["total"].as_u64(), all["matching"].as_u64()), (Some(62), Some(62)));
        assert_eq!(all["admins"].as_array().unwrap().len(), 50);
        let second = list("", "2").await;
        assert_eq!(second["admins"].as_array().unwrap().len(), 12);
        let past = list("", "3").await;
        assert_eq!((past["total"].as_u64(), past["matching"].as_u64()), (Some(62), Some(62)));
        assert!(past["admins"].as_array().unwrap().is_empty());
        let readers = list("READER", "1").await;
        assert_eq!((readers["total"].as_u64(), readers["matching"].as_u64()), (Some(62), Some(60)));
        let zed = list("zed@", "1").await;
        assert_eq!((zed["matching"].as_u64(), zed["admins"][0]["id"].as_str()), (Some(1), Some("zed")));
        let none = list("nobody at all", "1").await;
        assert_eq!((none["total"].as_u64(), none["matching"].as_u64()), (Some(62), Some(0)));
        assert!(none["admins"].as_array().unwrap().is_empty());
    }

    async fn every_change_endpoint_is_allowed_exactly_where_the_matrix_says(app: TestApp) {
        let acme = app.seed_account("acme", &ALL_ROLES).await;
        let list_ok: Vec<bool> = ALL_ROLES.iter().map(|r| allows(*r, Action::ViewAdministrators)).collect();
        for (i, role) in ALL_ROLES.into_iter().enumerate() {
            let cookie = app.session_cookie_for(&format!("acme-{}", role.code())).await;
            assert_eq!(app.call_as(&cookie, "admins/list", &[]).await.status() == 200, list_ok[i], "list as {role:?}");
            let target = add_admin(&app, &acme, &format!("target{i}"), Role::ReadOnly, "active").await;
            let may = allows(role, Action::ManageAdministrators);
            let want = if may { 200 } else { 403 };
            for (endpoint, extra) in [("admins/set-role", Some("manager")), ("admins/suspend", None), ("admins/unsuspend", None), ("admins/delete", None)] {
                let mut form = vec![("id", target.as_str())];
                if let Some(r) = extra {
                    form.push(("role", r));
                }
                let status = app.call_as(&cookie, endpoint, &form).await.status().as_u16();
                assert_eq!(status, want, "{endpoint} as {role:?}");
            }
            let after = role_and_status(&app, &target).await;
            if may {
                assert_eq!(after, None, "deleted");
            } else {
                assert_eq!(after, Some(("read_only".into(), "active".into())), "unchanged after {role:?}");
            }
        }
    }

    async fn another_accounts_administrators_are_not_found_and_unchanged(app: TestApp) {
        app.seed_account("acme", &[Role::AdministratorWithBilling]).await;
        let other = app.seed_account("other", &[Role::AdministratorWithBilling]).await;
        let victim = add_admin(&app, &other, "victim", Role::Manager, "active").await;
        let cookie = app.session_cookie_for("acme-admin_billing").await;
        for (endpoint, role) in [("admins/set-role", Some("read_only")), ("admins/suspend", None), ("admins/delete", None)] {
            let mut form = vec![("id", victim.as_str())];
            if let Some(r) = role {
                form.push(("role", r));
            }
            assert_eq!(app.call_as(&cookie, endpoint, &form).await.status(), 404, "{endpoint}");
        }
        assert_eq!(role_and_status(&app, &victim).await, Some(("manager".into(), "active".into())));
        let listed: serde_json::Value = app.call_as(&cookie, "admins/list", &[]).await.json().await.unwrap();
        assert!(listed["admins"].is_array(), "{listed}");
        assert!(listed["admins"].as_array().unwrap().iter().all(|a| a["id"] != "victim"));
    }

    async fn the_rules_refuse_self_changes_and_losing_the_last_billing_admin(app: TestApp) {
        let acme = app.seed_account("acme", &[Role::AdministratorWithBilling]).await;
        let me = "acme-admin_billing";
        let cookie = app.session_cookie_for(me).await;
        for (endpoint, role) in [("admins/set-role", Some("manager")), ("admins/suspend", None), ("admins/delete", None)] {
            let mut form = vec![("id", me)];
            if let Some(r) = role {
                form.push(("role", r));
            }
            let res = app.call_as(&cookie, endpoint, &form).await;
            assert_eq!(res.status(), 409, "{endpoint} on oneself");
            let body: serde_json::Value = res.json().await.unwrap();
            assert!(body["Conflict"].as_str().unwrap().contains("your own role"));
        }
        // A second billing admin who is only invited does not count.
        let invited = add_admin(&app, &acme, "invited", Role::AdministratorWithBilling, "invited").await;
        let other = add_admin(&app, &acme, "other", Role::AdministratorWithBilling, "active").await;
        let other_cookie = app.session_cookie_for(&other).await;
        // Other demotes me: fine (other is still a billing admin).
        assert_eq!(app.call_as(&other_cookie, "admins/set-role", &[("id", me), ("role", "manager")]).await.status(), 200);
        // Now nobody may take away the last active billing admin; the message says what to do.
        let res = app.call_as(&other_cookie, "admins/suspend", &[("id", &invited)]).await;
        assert_eq!(res.status(), 200, "suspending an invited admin is fine");
        let res = app.call_as(&other_cookie, "admins/set-role", &[("id", &other), ("role", "admin")]).await;
        assert_eq!(res.status(), 409);
        // My session: I'm a Manager now, so I may no longer manage administrators.
        assert_eq!(app.call_as(&cookie, "admins/set-role", &[("id", &other), ("role", "admin")]).await.status(), 403);
        // A changed role takes effect on the next request: the session reads it afresh.
        // Suspending ends the target's sessions.
        let me_again = app.call_as(&other_cookie, "admins/suspend", &[("id", me)]).await;
        assert_eq!(me_again.status(), 200);
        let sessions: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sessions WHERE admin_id = $1").bind(me).fetch_one(app.db.pool()).await.unwrap();
        assert_eq!(sessions, 0);
        let kinds: Vec<String> = sqlx::query_scalar("SELECT kind FROM audit_events WHERE account_id = $1 ORDER BY at").bind(&acme).fetch_all(app.db.pool()).await.unwrap();
        assert!(kinds.contains(&"admin_role_changed".to_string()) && kinds.contains(&"admin_suspended".to_string()));
    }

    async fn k_billing_admins_demoting_each_other_at_once_never_leave_none(app: TestApp) {
        let acme = app.seed_account("acme", &[]).await;
        for k in 2..=5usize {
            let ids: Vec<String> = {
                let mut v = Vec::new();
                for i in 0..k {
                    v.push(add_admin(&app, &acme, &format!("k{k}-{i}"), Role::AdministratorWithBilling, "active").await);
                }
                v
            };
            let mut cookies = Vec::new();
            for id in &ids {
                cookies.push(app.session_cookie_for(id).await);
            }
            for round in 0..200 {
                // Everyone a billing admin again, then each demotes the next one, all at once.
                sqlx::query("UPDATE admins SET role = 'admin_billing' WHERE account_id = $1 AND id LIKE $2")
                    .bind(&acme).bind(format!("k{k}-%")).execute(app.db.pool()).await.unwrap();
                let calls = (0..k).map(|i| {
                    let target = ids[(i + 1) % k].clone();
                    let cookie = cookies[i].clone();
                    let app = &app;
                    async move { app.call_as(&cookie, "admins/set-role", &[("id", &target), ("role", "admin")]).await.status().as_u16() }
                });
                let statuses = futures::future::join_all(calls).await;
                let ok = statuses.iter().filter(|s| **s == 200).count();
                // Over HTTP a request whose session is read after another demotion committed
                // is refused for the role it has by then (403); the exact count is checked
                // below, at the service, where every actor is authorised before any change.
                assert!(statuses.iter().all(|s| matches!(s, 200 | 403 | 409)), "k={k} round {round}: {statuses:?}");
                assert!((1..k).contains(&ok), "k={k} round {round}: {statuses:?}");
                if k == 2 {
                    assert_eq!(ok, 1, "two admins demoting each other: exactly one wins");
                }
                let billing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM admins WHERE account_id = $1 AND id LIKE $2 AND role = 'admin_billing' AND status = 'active'")
                    .bind(&acme).bind(format!("k{k}-%")).fetch_one(app.db.pool()).await.unwrap();
                assert!(billing >= 1, "k={k} round {round}: the account kept no billing admin");
                assert_eq!(billing as usize, k - ok, "k={k} round {round}: every success, and only those, demoted one");
            }
            // Leave this group out of the next one's count.
            sqlx::query("UPDATE admins SET status = 'suspended' WHERE id LIKE $1").bind(format!("k{k}-%")).execute(app.db.pool()).await.unwrap();
        }
    }
}

both_databases! {
    // The race made exact: k billing admins, each authorised, each demoting the next at the
    // same moment. The account's rule alone settles it: exactly k − 1 succeed and one is
    // refused as the last billing admin's demotion, every round.
    async fn k_billing_admins_authorised_at_once_exactly_k_minus_one_demotions_succeed(app: TestApp) {
        use tally_core::actor::Actor;
        use tally_services::platform::error::ServiceError;
        let acme = app.seed_account("race", &[]).await;
        let admins = &app.services.administrators;
        for k in 2..=5usize {
            let ids: Vec<String> = {
                let mut v = Vec::new();
                for i in 0..k {
                    v.push(add_admin(&app, &acme, &format!("x{k}-{i}"), Role::AdministratorWithBilling, "active").await);
                }
                v
            };
            let actors: Vec<Actor> = ids.iter().map(|id| Actor {
                id: id.clone(),
                account_id: acme.clone(),
                account_name: "Race".into(),
                email: format!("{id}@race.test"),
                first_name: "Test".into(),
                last_name: "Admin".into(),
                role: Role::AdministratorWithBilling,
                account_past_due: false,
                account_status: tally_core::account_status::AccountStatus::Active,
                must_set_up_two_step: false,
                ip: None,
                verified_at: app.clock_now(),
                session: String::new(),
            }).collect();
            for round in 0..200 {
                sqlx::query("UPDATE admins SET role = 'admin_billing' WHERE account_id = $1 AND id LIKE $2")
                    .bind(&acme).bind(format!("x{k}-%")).execute(app.db.pool()).await.unwrap();
                let changes = (0..k).map(|i| {
                    let (admins, actor, target) = (admins, &actors[i], ids[(i + 1) % k].clone());
                    async move { admins.change(actor, &target, AdminChange::SetRole(Role::Administrator)).await }
                });
                let results = futures::future::join_all(changes).await;
                let ok = results.iter().filter(|r| r.is_ok()).count();
                let last = results.iter().filter(|r| matches!(r, Err(ServiceError::Conflict(_)))).count();
                assert_eq!((ok, last), (k - 1, 1), "k={k} round {round}: {results:?}");
                let billing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM admins WHERE account_id = $1 AND id LIKE $2 AND role = 'admin_billing'")
                    .bind(&acme).bind(format!("x{k}-%")).fetch_one(app.db.pool()).await.unwrap();
                assert_eq!(billing, 1, "k={k} round {round}");
            }
            sqlx::query("UPDATE admins SET status = 'suspended' WHERE id LIKE $1").bind(format!("x{k}-%")).execute(app.db.pool()).await.unwrap();
        }
    }

    async fn resending_an_invitation_is_for_managers_of_that_account_and_only_the_newest_link_works(app: TestApp) {
        let acme = app.seed_account("acme", &ALL_ROLES).await;
        app.seed_account("other", &[Role::AdministratorWithBilling]).await;
        let creator = app.signed_in("admin_billing@acme.test").await;
        let res = app.call(&creator, "admins/create", &[("first_name", "Ivy"), ("last_name", "Wu"), ("email", "ivy@acme.test"), ("role", "manager")]).await;
        assert_eq!(res.status(), 200);
        let ivy: String = res.json().await.unwrap();
        let first = find_link(&app.outbox_messages().pop().unwrap(), &format!("{}/invitation/", app.address)).unwrap();

        // Per the matrix: only roles that manage administrators; each allowed call sends a link.
        for role in ALL_ROLES {
            let cookie = app.session_cookie_for(&format!("acme-{}", role.code())).await;
            let before = app.outbox_messages().len();
            let status = app.call_as(&cookie, "admins/resend-invitation", &[("id", &ivy)]).await.status().as_u16();
            let may = allows(role, Action::ManageAdministrators);
            assert_eq!(status, if may { 200 } else { 403 }, "{role:?}");
            assert_eq!(app.outbox_messages().len(), before + usize::from(may), "{role:?}");
        }
        // Another account's manager gets 404 and sends nothing.
        let outsider = app.session_cookie_for("other-admin_billing").await;
        let before = app.outbox_messages().len();
        assert_eq!(app.call_as(&outsider, "admins/resend-invitation", &[("id", &ivy)]).await.status(), 404);
        assert_eq!(app.outbox_messages().len(), before);

        // The first link has stopped working; the newest one works.
        let newest = find_link(&app.outbox_messages().pop().unwrap(), &format!("{}/invitation/", app.address)).unwrap();
        assert_ne!(first, newest);
        let token = |link: &str| link.rsplit('/').next().unwrap().to_string();
        let anon = TestApp::new_client();
        let old = app.call(&anon, "account/set-password", &[("kind", "Invitation"), ("token", &token(&first)), ("password", "a long passphrase for ivy")]).await;
        assert_ne!(old.status(), 200, "a superseded link must not work");
        let ok = app.call(&anon, "account/set-password", &[("kind", "Invitation"), ("token", &token(&newest)), ("password", "a long passphrase for ivy")]).await;
        assert_eq!(ok.status(), 200);

        // Accepted: nothing left to resend.
        let again = app.call(&creator, "admins/resend-invitation", &[("id", &ivy)]).await;
        assert_eq!(again.status(), 409);
        let audit: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE account_id = $1 AND kind = 'invitation_sent' AND detail = 'resent'")
            .bind(&acme).fetch_one(app.db.pool()).await.unwrap();
        assert_eq!(audit, 1);
    }
}
