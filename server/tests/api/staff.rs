//! The seller's operators as its Owner manages them (issue 31): an invitation by email to a
//! link of the operators' own, a password set with it and a second step before anything
//! else; a role changed, a lost second step reset, an operator suspended and reactivated —
//! each in the seller's own log and emailed to the operator; nobody changes themselves, and
//! two Owners demoting each other at once leave one Owner.

use serde_json::Value;
use tally_core::operators::OperatorRole;

use crate::{
    both_databases,
    helpers::{find_link, TestApp, TEST_PASSWORD},
    operators::{enrolled, seed_seller},
};

const NEW_PASSWORD: &str = "violet-harbour-kestrel-41";

async fn json_of(res: reqwest::Response) -> Value {
    res.json().await.expect("a JSON answer")
}

/// The newest operator invitation mailed to `email`: its token.
fn invitation_token(app: &TestApp, email: &str) -> String {
    let mail = app
        .outbox_messages()
        .into_iter()
        .rev()
        .find(|m| m.contains(&format!("To: {email}")) && m.contains("operator console"))
        .expect("the invitation");
    let link =
        find_link(&mail, &format!("{}/operator/invitation/", app.address)).expect("its link");
    link.rsplit('/').next().unwrap().to_string()
}

fn row<'a>(list: &'a Value, email: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|o| o["email"] == email)
        .expect("listed")
}

async fn logged(app: &TestApp, kind: &'static str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE kind = $1 AND account_id IS NULL")
        .bind(kind)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
}

both_databases! {
    async fn the_owner_invites_an_operator_who_sets_a_password_then_a_second_step(app: TestApp) {
        seed_seller(&app).await;
        app.seed_operator(OperatorRole::Owner).await;
        let owner = TestApp::new_client();
        enrolled(&app, &owner, "owner@seller.test").await;
        let invite = |form: [(&'static str, &'static str); 4]| {
            let (app, owner) = (&app, owner.clone());
            async move { app.call(&owner, "operator/operators/invite", &form).await }
        };

        // Each wrong field beside itself, with core's words; an address already an operator's.
        let bad = invite([("first_name", "Fay"), ("last_name", " "), ("email", "fay@"), ("role", "")]).await;
        assert_eq!(bad.status(), 422);
        let errors = json_of(bad).await;
        assert_eq!(errors["Validation"]["role"], "Choose a role.");
        assert!(errors["Validation"]["last_name"].is_string() && errors["Validation"]["email"].is_string(), "{errors}");
        let taken = invite([("first_name", "O"), ("last_name", "N"), ("email", "OWNER@seller.test"), ("role", "finance")]).await;
        assert_eq!(json_of(taken).await["Validation"]["email"], "Another operator already uses this email address.");

        let res = invite([("first_name", "Fay"), ("last_name", "Lund"), ("email", "fay@seller.test"), ("role", "finance")]).await;
        assert_eq!(res.status(), 200, "{:?}", res.text().await);
        app.services.ctx.outbox.deliver_due().await.unwrap();
        let list = json_of(app.call(&owner, "operator/operators/list", &[]).await).await;
        let fay = row(&list, "fay@seller.test");
        assert_eq!((fay["status"].as_str(), fay["role"].as_str()), (Some("Invited"), Some("Finance")));
        assert!(fay["invitation_expires_at"].is_i64());
        assert_eq!(row(&list, "owner@seller.test")["is_you"], true);
        let mail = app.outbox_messages().into_iter().rev().find(|m| m.contains("To: fay@seller.test")).unwrap();
        assert!(mail.contains("Tally Seller Ltd") && mail.contains("as Finance") && mail.contains("Retry a charge"), "{mail}");
        assert_eq!(logged(&app, "operator_added").await, 1);

        // Sent again: the first link stops working, the newest works.
        let first = invitation_token(&app, "fay@seller.test");
        let fay_id = fay["id"].as_str().unwrap().to_string();
        let res = app.call(&owner, "operator/operators/resend-invitation", &[("operator_id", &fay_id)]).await;
        assert_eq!(res.status(), 200);
        app.services.ctx.outbox.deliver_due().await.unwrap();
        let token = invitation_token(&app, "fay@seller.test");
        assert_ne!(token, first);
        let c = TestApp::new_client();
        let state = |t: String| {
            let (app, c) = (&app, c.clone());
            async move { json_of(app.call(&c, "operator/invitation/inspect", &[("token", &t)]).await).await["state"].clone() }
        };
        assert_eq!(state(first.clone()).await, "Expired");
        let info = json_of(app.call(&c, "operator/invitation/inspect", &[("token", &token)]).await).await;
        assert_eq!((info["state"].as_str(), info["email"].as_str()), (Some("Valid"), Some("fay@seller.test")));
        // An operator's link is no customer's link.
        let as_customer = app.call(&c, "account/inspect-link", &[("kind", "Invitation"), ("token", &token)]).await;
        assert_eq!(json_of(as_customer).await["state"], "Unknown");

        // A weak password is refused beside its field; a good one signs her in to set up a
        // second step, and nothing else.
        let accept = |password: &'static str, t: String| {
            let (app, c) = (&app, c.clone());
            async move { app.call(&c, "operator/invitation/accept", &[("token", &t), ("password", password), ("confirm_password", password)]).await }
        };
        let weak = accept("fayfayfay1", token.clone()).await;
        assert_eq!(weak.status(), 422);
        assert!(json_of(weak).await["Validation"]["password"].is_string());
        let res = accept(NEW_PASSWORD, token.clone()).await;
        assert_eq!(res.status(), 200, "{:?}", res.text().await);
        let me = json_of(app.call(&c, "operator/me", &[]).await).await;
        assert_eq!((me["email"].as_str(), me["must_set_up_two_step"].as_bool()), (Some("fay@seller.test"), Some(true)));
        assert_eq!(app.call(&c, "operator/accounts/list", &[("search", "")]).await.status(), 403);
        assert_eq!(accept(NEW_PASSWORD, token.clone()).await.status(), 409, "a link works once");
        assert_eq!(state(token).await, "Used");
        assert_eq!(app.call(&owner, "operator/operators/resend-invitation", &[("operator_id", &fay_id)]).await.status(), 409);
    }

    async fn the_owner_changes_a_role_resets_a_second_step_and_suspends_but_never_themselves(app: TestApp) {
        seed_seller(&app).await;
        let owner_id = app.seed_operator(OperatorRole::Owner).await;
        let fay_id = app.seed_operator(OperatorRole::Finance).await;
        let owner = TestApp::new_client();
        enrolled(&app, &owner, "owner@seller.test").await;
        let fay = TestApp::new_client();
        enrolled(&app, &fay, "finance@seller.test").await;
        let act = |endpoint: &'static str, extra: Option<(&'static str, &'static str)>, id: String| {
            let (app, owner) = (&app, owner.clone());
            async move {
                let mut form = vec![("operator_id", id.as_str())];
                form.extend(extra);
                app.call(&owner, endpoint, &form).await
            }
        };
        let me = |c: reqwest::Client| {
            let app = &app;
            async move { json_of(app.call(&c, "operator/me", &[]).await).await }
        };

        // A new role counts at her next request.
        assert_eq!(act("operator/operators/set-role", Some(("role", "support")), fay_id.clone()).await.status(), 200);
        assert_eq!(me(fay.clone()).await["role"], "Support");
        assert_eq!(act("operator/operators/set-role", Some(("role", "boss")), fay_id.clone()).await.status(), 422);
        // Herself: refused, whatever the change.
        for (endpoint, extra) in [("operator/operators/set-role", Some(("role", "finance"))), ("operator/operators/suspend", None), ("operator/operators/reset-two-step", None)] {
            let res = act(endpoint, extra, owner_id.clone()).await;
            assert_eq!(res.status(), 409, "{endpoint}");
            assert!(res.text().await.unwrap().contains("Ask another Owner"));
        }

        // A lost device: her second steps are gone and her sessions end; her password opens
        // setting up a new one, and nothing else.
        assert_eq!(act("operator/operators/reset-two-step", None, fay_id.clone()).await.status(), 200);
        assert!(me(fay.clone()).await.is_null(), "her session ended");
        let again = TestApp::new_client();
        let res = app.call(&again, "operator/sign-in", &[("email", "finance@seller.test"), ("password", TEST_PASSWORD)]).await;
        assert_eq!(json_of(res).await, false, "no second step: straight to setting one up");
        assert_eq!(me(again.clone()).await["must_set_up_two_step"], true);
        let list = json_of(app.call(&owner, "operator/operators/list", &[]).await).await;
        assert_eq!(row(&list, "finance@seller.test")["two_step"], false);

        // Suspended: the session ends and the password opens nothing; reactivated: it does.
        assert_eq!(act("operator/operators/suspend", None, fay_id.clone()).await.status(), 200);
        assert!(me(again.clone()).await.is_null());
        let res = app.call(&TestApp::new_client(), "operator/sign-in", &[("email", "finance@seller.test"), ("password", TEST_PASSWORD)]).await;
        assert_eq!(res.status(), 422);
        assert_eq!(act("operator/operators/reactivate", None, fay_id.clone()).await.status(), 200);
        let res = app.call(&TestApp::new_client(), "operator/sign-in", &[("email", "finance@seller.test"), ("password", TEST_PASSWORD)]).await;
        assert_eq!(res.status(), 200);

        // Each change in the seller's log, as the Owner's, and emailed to her.
        for kind in ["operator_role_changed", "two_step_reset", "operator_suspended", "operator_reactivated"] {
            assert_eq!(logged(&app, kind).await, 1, "{kind}");
        }
        app.services.ctx.outbox.deliver_due().await.unwrap();
        let hers: Vec<String> = app.outbox_messages().into_iter().filter(|m| m.contains("To: finance@seller.test") && m.contains("operator console changed")).collect();
        assert_eq!(hers.len(), 4, "role, reset, suspension, reactivation");
        assert!(hers[0].contains("now Support"));
    }

    async fn two_owners_demoting_each_other_at_once_leave_one_owner(app: TestApp) {
        seed_seller(&app).await;
        let a_id = app.seed_operator(OperatorRole::Owner).await;
        let b_id = "op-owner-b";
        sqlx::query(
            "INSERT INTO operators (id, email, email_key, first_name, last_name, role, status, password_hash, created_at, updated_at) \
             SELECT $1, 'b@seller.test', 'b@seller.test', first_name, last_name, role, status, password_hash, created_at, updated_at FROM operators WHERE id = $2",
        )
        .bind(b_id)
        .bind(&a_id)
        .execute(app.db.pool())
        .await
        .unwrap();
        let a = TestApp::new_client();
        enrolled(&app, &a, "owner@seller.test").await;
        let b = TestApp::new_client();
        enrolled(&app, &b, "b@seller.test").await;
        for _ in 0..3 {
            let (demote_b, demote_a) = ([("operator_id", b_id), ("role", "finance")], [("operator_id", a_id.as_str()), ("role", "finance")]);
            let (x, y) = tokio::join!(
                app.call(&a, "operator/operators/set-role", &demote_b),
                app.call(&b, "operator/operators/set-role", &demote_a),
            );
            let mut statuses = [x.status().as_u16(), y.status().as_u16()];
            statuses.sort();
            let owners: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM operators WHERE role = 'owner' AND status = 'active'")
                .fetch_one(app.db.pool()).await.unwrap();
            assert_eq!(owners, 1, "{statuses:?}");
            // The one demoted is refused (403) or, had it raced, told the rule (409).
            assert!(statuses == [200, 403] || statuses == [200, 409], "{statuses:?}");
            // Both Owners again for the next round.
            sqlx::query("UPDATE operators SET role = 'owner'").execute(app.db.pool()).await.unwrap();
        }
    }
}

/// An operator's passkeys need a host name: these servers say they are at
/// `http://localhost:<port>`.
mod passkeys {
    use serde_json::json;
    use tally_services::platform::db::Backend;

    use super::*;
    use crate::authenticator::SoftPasskey;

    /// A new operator's first second step is a passkey (with recovery codes); it signs them
    /// in and confirms a change; the last one cannot be removed while it is their only step.
    async fn an_operator_signs_in_and_confirms_with_a_passkey(backend: Backend) {
        let app =
            TestApp::spawn_with(backend, &[("TALLY_PUBLIC_URL", "http://localhost:{port}")]).await;
        let origin = format!(
            "http://localhost:{}",
            app.address.rsplit(':').next().unwrap()
        );
        seed_seller(&app).await;
        app.seed_operator(OperatorRole::Owner).await;
        let spare = app.seed_operator(OperatorRole::Finance).await;
        let email = "owner@seller.test";
        let c = TestApp::new_client();
        let res = app
            .call(
                &c,
                "operator/sign-in",
                &[("email", email), ("password", TEST_PASSWORD)],
            )
            .await;
        assert_eq!(json_of(res).await, false, "to setting up a second step");
        let mut key = SoftPasskey::new(&origin, 11);
        let creation = json_of(
            app.call(
                &c,
                "operator/two-step/passkey-options",
                &[("name", "Desk key")],
            )
            .await,
        )
        .await;
        let answer = key.register(&creation["options"]);
        let added = app
            .call_json_from(
                &c,
                "operator/two-step/add-passkey",
                &json!({ "ceremony": creation["ceremony"], "credential": answer }),
            )
            .await;
        assert_eq!(added.status(), 200, "{:?}", added.text().await);
        let codes: Vec<String> = serde_json::from_value(json_of(added).await).unwrap();
        assert_eq!(
            codes.len(),
            10,
            "the first second step comes with recovery codes"
        );
        let me = json_of(app.call(&c, "operator/me", &[]).await).await;
        assert_eq!(
            me["must_set_up_two_step"], false,
            "a passkey is a second step"
        );
        let status = json_of(app.call(&c, "operator/two-step/status", &[]).await).await;
        let passkey_id = status["passkeys"][0]["id"].as_str().unwrap().to_string();
        let removed = app
            .call(
                &c,
                "operator/two-step/remove-passkey",
                &[("id", &passkey_id)],
            )
            .await;
        assert_eq!(removed.status(), 409, "never the last second step");
        assert!(removed
            .text()
            .await
            .unwrap()
            .contains("Operators must keep a second step"));

        // Signing in: the password, then the passkey; another key proves nothing.
        let d = TestApp::new_client();
        let res = app
            .call(
                &d,
                "operator/sign-in",
                &[("email", email), ("password", TEST_PASSWORD)],
            )
            .await;
        assert_eq!(json_of(res).await, true);
        let request = json_of(
            app.call(&d, "operator/second-step-passkey-options", &[])
                .await,
        )
        .await;
        let mut stranger = SoftPasskey::new(&origin, 12);
        stranger.register(&creation["options"]);
        let forged = stranger.sign(&request["options"]);
        let res = app
            .call_json_from(
                &d,
                "operator/second-step-passkey",
                &json!({ "ceremony": request["ceremony"], "credential": forged }),
            )
            .await;
        assert_eq!(res.status(), 422);
        let request = json_of(
            app.call(&d, "operator/second-step-passkey-options", &[])
                .await,
        )
        .await;
        let proof = key.sign(&request["options"]);
        let res = app
            .call_json_from(
                &d,
                "operator/second-step-passkey",
                &json!({ "ceremony": request["ceremony"], "credential": proof }),
            )
            .await;
        assert_eq!(res.status(), 200, "{:?}", res.text().await);
        assert_eq!(
            json_of(app.call(&d, "operator/me", &[]).await).await["email"],
            email
        );
        // Nobody, and a customer administrator, open none of it.
        app.seed_account("acme", &[tally_core::roles::Role::AdministratorWithBilling])
            .await;
        let customer = app.signed_in("admin_billing@acme.test").await;
        for endpoint in [
            "operator/second-step-passkey-options",
            "operator/two-step/passkey-options",
            "operator/two-step/remove-passkey",
            "operator/confirm-passkey-options",
        ] {
            for client in [TestApp::new_client(), customer.clone()] {
                let res = app
                    .call(
                        &client,
                        endpoint,
                        &[("name", "Mine"), ("id", passkey_id.as_str())],
                    )
                    .await;
                assert_eq!(res.status(), 401, "{endpoint}");
            }
        }

        // Eleven minutes on, a change asks again; the passkey answers.
        app.clock.advance_minutes(11);
        let suspend = [("operator_id", spare.as_str())];
        assert_eq!(
            app.call(&d, "operator/operators/suspend", &suspend)
                .await
                .status(),
            403,
            "FreshCheckRequired"
        );
        let request = json_of(app.call(&d, "operator/confirm-passkey-options", &[]).await).await;
        let proof = key.sign(&request["options"]);
        let res = app
            .call_json_from(
                &d,
                "operator/confirm-passkey",
                &json!({ "ceremony": request["ceremony"], "credential": proof }),
            )
            .await;
        assert_eq!(res.status(), 200, "{:?}", res.text().await);
        assert_eq!(
            app.call(&d, "operator/operators/suspend", &suspend)
                .await
                .status(),
            200
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        an_operator_signs_in_and_confirms_with_a_passkey(Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        an_operator_signs_in_and_confirms_with_a_passkey(Backend::Postgres).await;
    }
}
