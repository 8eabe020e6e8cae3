//! The seller's staff (issue 31): an operator signs in on their own cookie, must set up a
//! second step before anything else, then signs in with it; the lockout, the throttles and the
//! second step's count hold for them as for administrators; and an operator session and a
//! customer session never open each other's functions.

use reqwest::Client;
use serde_json::Value;
use tally_core::{operators::OperatorRole, roles::Role};

use crate::{
    authenticator::totp,
    both_databases,
    helpers::{TestApp, TEST_PASSWORD},
};

const OPERATOR: &str = "tally_operator=";
const OPERATOR_PENDING: &str = "tally_operator_pending=";
const SESSION: &str = "tally_session=";

fn sets_cookie(res: &reqwest::Response, prefix: &str) -> bool {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.starts_with(prefix) && !v.starts_with(&format!("{prefix};")))
}

async fn json_of(res: reqwest::Response) -> Value {
    res.json().await.expect("a JSON answer")
}

async fn sign_in(app: &TestApp, client: &Client, email: &str, password: &str) -> reqwest::Response {
    app.call(
        client,
        "operator/sign-in",
        &[("email", email), ("password", password)],
    )
    .await
}

fn at_step(app: &TestApp, steps: i64) -> i64 {
    app.clock_now() / 1000 + steps * 30
}

/// Signs `email` in and sets up an authenticator app; the app's key.
pub(crate) async fn enrolled(app: &TestApp, client: &Client, email: &str) -> String {
    let res = sign_in(app, client, email, TEST_PASSWORD).await;
    assert_eq!(res.status(), 200);
    let started = json_of(app.call(client, "operator/two-step/start-app", &[]).await).await;
    let key = started["key"].as_str().unwrap().to_string();
    let code = totp(&key, at_step(app, 0));
    let res = app
        .call(client, "operator/two-step/confirm-app", &[("code", &code)])
        .await;
    assert_eq!(res.status(), 200, "{:?}", res.text().await);
    key
}

both_databases! {
    async fn an_operator_must_set_up_a_second_step_then_signs_in_with_it(app: TestApp) {
        app.seed_operator(OperatorRole::Finance).await;
        let email = "finance@seller.test";
        let c = TestApp::new_client();
        let res = sign_in(&app, &c, email, TEST_PASSWORD).await;
        assert_eq!(res.status(), 200);
        assert!(sets_cookie(&res, OPERATOR) && !sets_cookie(&res, SESSION), "an operator's cookie, never a customer's");
        assert_eq!(json_of(res).await, false, "no second step yet: straight in, to set one up");
        let me = json_of(app.call(&c, "operator/me", &[]).await).await;
        assert_eq!((me["email"].as_str(), me["role"].as_str(), me["must_set_up_two_step"].as_bool()), (Some(email), Some("Finance"), Some(true)));
        let status = json_of(app.call(&c, "operator/two-step/status", &[]).await).await;
        assert_eq!(status["required"], true, "mandatory for operators");

        // The app, set up with a current code; ten recovery codes of the long kind.
        let started = json_of(app.call(&c, "operator/two-step/start-app", &[]).await).await;
        let key = started["key"].as_str().unwrap().to_string();
        let res = app.call(&c, "operator/two-step/confirm-app", &[("code", &totp(&key, at_step(&app, 0)))]).await;
        assert_eq!(res.status(), 200);
        let codes: Vec<String> = serde_json::from_value(json_of(res).await).unwrap();
        assert_eq!(codes.len(), 10);
        assert_eq!(codes[0].len(), 29);
        let me = json_of(app.call(&c, "operator/me", &[]).await).await;
        assert_eq!(me["must_set_up_two_step"], false);
        assert!(app.outbox_messages().iter().any(|m| m.contains(&format!("To: {email}")) && m.contains("An authenticator app was set up")));

        // From now on the password opens only the second step.
        let d = TestApp::new_client();
        let res = sign_in(&app, &d, email, TEST_PASSWORD).await;
        assert!(sets_cookie(&res, OPERATOR_PENDING) && !sets_cookie(&res, OPERATOR));
        assert_eq!(json_of(res).await, true);
        assert!(json_of(app.call(&d, "operator/me", &[]).await).await.is_null(), "half signed in is not signed in");
        assert_eq!(app.call(&d, "operator/second-step", &[("code", "000000")]).await.status(), 422);
        let res = app.call(&d, "operator/second-step", &[("code", &totp(&key, at_step(&app, 1)))]).await;
        assert_eq!(res.status(), 200, "{:?}", res.text().await);
        assert_eq!(json_of(app.call(&d, "operator/me", &[]).await).await["email"], email);
        // A recovery code works once, and is told.
        let e = TestApp::new_client();
        assert_eq!(json_of(sign_in(&app, &e, email, TEST_PASSWORD).await).await, true);
        assert_eq!(app.call(&e, "operator/second-step", &[("code", &codes[0])]).await.status(), 200);
        assert!(app.outbox_messages().iter().any(|m| m.contains(&format!("To: {email}")) && m.contains("9 are left")));
        // Signing out ends that session only.
        assert_eq!(app.call(&e, "operator/sign-out", &[]).await.status(), 200);
        assert!(json_of(app.call(&e, "operator/me", &[]).await).await.is_null());
        assert_eq!(json_of(app.call(&d, "operator/me", &[]).await).await["email"], email);
    }

    async fn wrong_passwords_and_codes_lock_an_operator_as_they_do_an_administrator(app: TestApp) {
        app.seed_operator(OperatorRole::Owner).await;
        let email = "owner@seller.test";
        let key = enrolled(&app, &TestApp::new_client(), email).await;
        app.clock.advance_minutes(1);
        let c = TestApp::new_client();
        for _ in 0..5 {
            assert_eq!(sign_in(&app, &c, email, "not the password at all").await.status(), 422);
        }
        assert_eq!(json_of(sign_in(&app, &c, email, TEST_PASSWORD).await).await, true);
        for _ in 0..5 {
            assert_eq!(app.call(&c, "operator/second-step", &[("code", "123456")]).await.status(), 422);
        }
        // Ten failures: locked, the right code and the right password refused alike.
        assert_eq!(app.call(&c, "operator/second-step", &[("code", &totp(&key, at_step(&app, 0)))]).await.status(), 422);
        assert_eq!(sign_in(&app, &TestApp::new_client(), email, TEST_PASSWORD).await.status(), 422);
        let failures: i64 = sqlx::query_scalar("SELECT second_step_failures FROM operators WHERE id = 'op-owner'")
            .fetch_one(app.db.pool()).await.unwrap();
        assert_eq!(failures, 5, "wrong codes count toward the second step's own count too");
        assert!(app.outbox_messages().iter().any(|m| m.contains(&format!("To: {email}")) && m.contains("Wrong codes on your Tally sign-in")));
        // Half an hour later the lock has ended.
        app.clock.advance_minutes(31);
        let d = TestApp::new_client();
        assert_eq!(json_of(sign_in(&app, &d, email, TEST_PASSWORD).await).await, true);
        assert_eq!(app.call(&d, "operator/second-step", &[("code", &totp(&key, at_step(&app, 0)))]).await.status(), 200);
    }

    async fn an_operator_added_by_the_service_is_held_to_the_rules_and_audited(app: TestApp) {
        use tally_services::identity::operators::NewOperator;
        let operators = &app.services.operators;
        let new = NewOperator { email: "Sam@Seller.test", first_name: "Sam", last_name: "Reyes", role: OperatorRole::Support };
        // The password rule, with their own details counted against it.
        let weak = operators.hash_new_password(&new, "sam@seller.test").await.unwrap_err();
        assert!(format!("{weak:?}").contains("password"), "{weak:?}");
        let hash = operators.hash_new_password(&new, "a sturdy support passphrase").await.unwrap();
        let mut work = app.services.ctx.begin("adding an operator").await.unwrap();
        operators.add_with_password(&mut work, &new, &hash).await.unwrap();
        work.commit().await.unwrap();
        // One operator per address, whatever its case; bad names are refused by core's rule.
        let mut work = app.services.ctx.begin("adding an operator").await.unwrap();
        let again = operators.add_with_password(&mut work, &NewOperator { email: "sam@seller.TEST", ..new }, &hash).await.unwrap_err();
        assert!(format!("{again:?}").contains("Another operator already uses this email address"), "{again:?}");
        let nameless = operators.add_with_password(&mut work, &NewOperator { first_name: " ", ..new }, &hash).await.unwrap_err();
        assert!(format!("{nameless:?}").contains("first_name"), "{nameless:?}");
        drop(work);
        let added: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE kind = 'operator_added' AND account_id IS NULL AND detail = 'role Support'")
            .fetch_one(app.db.pool()).await.unwrap();
        assert_eq!(added, 1, "audited as the seller's, in no account");
        // They sign in, and are held at setting up a second step.
        let c = TestApp::new_client();
        assert_eq!(json_of(sign_in(&app, &c, "sam@seller.test", "a sturdy support passphrase").await).await, false);
        assert_eq!(json_of(app.call(&c, "operator/me", &[]).await).await["role"], "Support");
    }

    async fn operator_and_customer_sessions_never_open_each_others_functions(app: TestApp) {
        app.seed_account("acme", &[Role::AdministratorWithBilling]).await;
        app.seed_operator(OperatorRole::Owner).await;
        // A customer administrator: no operator function answers them.
        let admin = app.signed_in("admin_billing@acme.test").await;
        assert!(json_of(app.call(&admin, "operator/me", &[]).await).await.is_null());
        for f in ["operator/two-step/status", "operator/two-step/start-app"] {
            assert_eq!(app.call(&admin, f, &[]).await.status(), 401, "{f}");
        }
        // Their password is no operator's: the tables are apart.
        assert_eq!(sign_in(&app, &TestApp::new_client(), "admin_billing@acme.test", TEST_PASSWORD).await.status(), 422);
        // An operator: no customer function answers them.
        let op = TestApp::new_client();
        enrolled(&app, &op, "owner@seller.test").await;
        assert!(json_of(app.call(&op, "account/me", &[]).await).await.is_null());
        for f in ["users/list", "admins/list", "two-step/status", "billing/overview"] {
            assert_eq!(app.call(&op, f, &[]).await.status(), 401, "{f}");
        }
        assert_eq!(app.call(&op, "audit/list", &[("filter[page]", "1")]).await.status(), 401);
        assert_eq!(app.call(&TestApp::new_client(), "account/sign-in", &[("email", "owner@seller.test"), ("password", TEST_PASSWORD)]).await.status(), 422);
        // Nobody: neither.
        let nobody = TestApp::new_client();
        assert!(json_of(app.call(&nobody, "operator/me", &[]).await).await.is_null());
        assert_eq!(app.call(&nobody, "operator/two-step/status", &[]).await.status(), 401);
    }
}

/// The arguments a call of an operator function is made with.
type Args = Box<dyn Fn() -> Vec<(&'static str, String)>>;

/// Every operator server function, with arguments that would succeed for a role allowed to
/// call it (made anew for each call), and the action the matrix decides it by (`None`: any
/// operator, even one still to set up their second step).
fn operator_functions() -> Vec<(
    &'static str,
    Args,
    Option<tally_core::operators::OperatorAction>,
)> {
    use tally_core::operators::OperatorAction::*;
    vec![
        ("operator/two-step/status", Box::new(Vec::new), None),
        (
            "operator/accounts/list",
            Box::new(|| vec![("search", String::new())]),
            Some(ViewConsole),
        ),
        (
            "operator/accounts/create",
            Box::new(|| {
                let n = rand::random::<u32>();
                vec![
                    ("company_name", format!("Made {n}")),
                    ("first_name", "Ada".into()),
                    ("last_name", "Byron".into()),
                    ("email", format!("ada{n}@made.test")),
                ]
            }),
            Some(ManageAccounts),
        ),
        (
            "operator/accounts/default-plan",
            Box::new(Vec::new),
            Some(ViewConsole),
        ),
        (
            "operator/accounts/get",
            Box::new(|| vec![("id", "acct-acme".into())]),
            Some(ViewConsole),
        ),
        (
            "operator/accounts/set-plan",
            Box::new(|| {
                vec![
                    ("id", "acct-acme".into()),
                    ("price_per_user", "6.00".into()),
                    ("free_users", "5".into()),
                ]
            }),
            Some(ChangePlans),
        ),
        ("operator/revenue", Box::new(Vec::new), Some(ViewConsole)),
        (
            "operator/accounts/suspend",
            Box::new(|| {
                vec![
                    ("id", next_account("s")),
                    ("reason", "Unpaid since May".into()),
                ]
            }),
            Some(ManageAccounts),
        ),
        (
            "operator/accounts/reactivate",
            Box::new(|| vec![("id", next_account("r"))]),
            Some(ManageAccounts),
        ),
        (
            "operator/accounts/close",
            Box::new(|| {
                vec![
                    ("id", next_account("c")),
                    ("reason", "Asked to close".into()),
                ]
            }),
            Some(ManageAccounts),
        ),
        (
            "operator/settings/get",
            Box::new(Vec::new),
            Some(ManageSellerSettings),
        ),
        (
            "operator/settings/save",
            Box::new(settings_form),
            Some(ManageSellerSettings),
        ),
        (
            "operator/admins/resend-invitation",
            Box::new(|| {
                use std::sync::atomic::{AtomicUsize, Ordering};
                static NEXT: AtomicUsize = AtomicUsize::new(0);
                let n = NEXT.fetch_add(1, Ordering::Relaxed) % STANDING_ACCOUNTS;
                vec![
                    ("account_id", "acct-money".into()),
                    ("admin_id", format!("adm-invited{n}")),
                ]
            }),
            Some(ManageAccountAdministrators),
        ),
        (
            "operator/admins/reset-two-step",
            Box::new(|| {
                vec![
                    ("account_id", "acct-money".into()),
                    ("admin_id", "adm-invited0".into()),
                ]
            }),
            Some(ManageAccountAdministrators),
        ),
        (
            "operator/invoices/retry",
            Box::new(|| money_invoice("f", 1)),
            Some(MoneyActions),
        ),
        (
            "operator/invoices/mark-paid",
            Box::new(|| {
                let mut args = money_invoice("m", STANDING_ACCOUNTS);
                args.push(("reference", "SEPA-1".into()));
                args
            }),
            Some(MoneyActions),
        ),
        (
            "operator/invoices/void",
            Box::new(|| {
                let mut args = money_invoice("v", STANDING_ACCOUNTS);
                args.push(("reason", "Billed twice".into()));
                args
            }),
            Some(MoneyActions),
        ),
        (
            "operator/invoices/credit-note",
            Box::new(|| {
                let mut args = money_invoice("p", 1);
                args.push(("amount", "1.00".into()));
                args.push(("reason", "Goodwill".into()));
                args
            }),
            Some(MoneyActions),
        ),
        (
            "operator/operators/list",
            Box::new(Vec::new),
            Some(ManageOperators),
        ),
        (
            "operator/operators/invite",
            Box::new(|| {
                let n = rand::random::<u32>();
                vec![
                    ("first_name", "Ivy".into()),
                    ("last_name", "Nash".into()),
                    ("email", format!("ivy{n}@seller.test")),
                    ("role", "support".into()),
                ]
            }),
            Some(ManageOperators),
        ),
        (
            "operator/operators/resend-invitation",
            Box::new(|| vec![("operator_id", "op-invited".into())]),
            Some(ManageOperators),
        ),
        (
            "operator/operators/set-role",
            Box::new(|| {
                vec![
                    ("operator_id", "op-spare".into()),
                    ("role", "support".into()),
                ]
            }),
            Some(ManageOperators),
        ),
        (
            "operator/operators/reset-two-step",
            Box::new(|| vec![("operator_id", "op-spare".into())]),
            Some(ManageOperators),
        ),
        (
            "operator/operators/suspend",
            Box::new(|| vec![("operator_id", "op-spare".into())]),
            Some(ManageOperators),
        ),
        (
            "operator/operators/reactivate",
            Box::new(|| vec![("operator_id", "op-spare".into())]),
            Some(ManageOperators),
        ),
        (
            "operator/api-keys/list",
            Box::new(Vec::new),
            Some(ManageApiKeys),
        ),
        (
            "operator/api-keys/create",
            Box::new(|| vec![("name", "CRM".into()), ("users_read", "on".into())]),
            Some(ManageApiKeys),
        ),
        (
            "operator/api-keys/revoke",
            Box::new(|| vec![("key_id", "key-spare".into())]),
            Some(ManageApiKeys),
        ),
        (
            "operator/webhooks/list",
            Box::new(Vec::new),
            Some(ManageApiKeys),
        ),
        (
            "operator/webhooks/create",
            Box::new(|| {
                vec![
                    ("url", "https://crm.example.com/tally".into()),
                    ("invoice_paid", "on".into()),
                ]
            }),
            Some(ManageApiKeys),
        ),
        (
            "operator/webhooks/deliveries",
            Box::new(|| vec![("endpoint_id", "hook-spare".into())]),
            Some(ManageApiKeys),
        ),
        (
            "operator/webhooks/redeliver",
            Box::new(|| {
                vec![
                    ("endpoint_id", "hook-spare".into()),
                    ("delivery_id", "msg_spare".into()),
                ]
            }),
            Some(ManageApiKeys),
        ),
        (
            "operator/webhooks/remove",
            Box::new(|| vec![("endpoint_id", "hook-spare".into())]),
            Some(ManageApiKeys),
        ),
    ]
}

/// The settings page's fields, filled as the Owner would.
pub(crate) fn settings_form() -> Vec<(&'static str, String)> {
    [
        ("legal_name", "Tally Seller Ltd"),
        ("contact_email", "billing@seller.test"),
        ("country", "GB"),
        ("line1", "10 Downing St"),
        ("city", "London"),
        ("postal_code", "SW1A 2AA"),
        ("price_per_user", "5.00"),
        ("free_users", "10"),
        ("retry_days", "1, 3, 7"),
        ("auto_suspend_days", ""),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_string()))
    .collect()
}

/// The seller, as set-up makes it.
pub(crate) async fn seed_seller(app: &TestApp) {
    sqlx::query(
        "INSERT INTO sellers (id, legal_name, contact_email, country, line1, city, postal_code, price_per_user_cents, free_users, created_at, updated_at) \
         VALUES (1, 'Tally Seller Ltd', 'billing@seller.test', 'GB', '10 Downing St', 'London', 'SW1A 2AA', 500, 10, 0, 0)",
    )
    .execute(app.db.pool())
    .await
    .unwrap();
}

/// The account and invoice a money function acts on: `inv-<kind><n>` of `acct-money`, one of
/// `of` (seeded by [`seed_money_invoices`]: `f` failed, `m` and `v` open, `p` paid by
/// transfer with plenty left to credit).
fn money_invoice(kind: &str, of: usize) -> Vec<(&'static str, String)> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed) % of;
    vec![
        ("account_id", "acct-money".into()),
        ("invoice_id", format!("inv-{kind}{n}")),
    ]
}

async fn seed_money_invoices(app: &TestApp) {
    sqlx::query("INSERT INTO accounts (id, name, created_at) VALUES ('acct-money', 'Money', 0)")
        .execute(app.db.pool())
        .await
        .unwrap();
    for n in 0..STANDING_ACCOUNTS {
        sqlx::query(
            "INSERT INTO admins (id, account_id, email, email_key, first_name, last_name, role, status, created_at, updated_at) \
             VALUES ($1, 'acct-money', $2, $2, 'In', 'Vited', 'admin', 'invited', 0, 0)",
        )
        .bind(format!("adm-invited{n}"))
        .bind(format!("invited{n}@money.test"))
        .execute(app.db.pool())
        .await
        .unwrap();
    }
    let mut month = tally_core::billing::BillingMonth::new(2000, 1).unwrap();
    for (kind, count, status, amount, reference) in [
        ("f", 1, "failed", 1000, None),
        ("m", STANDING_ACCOUNTS, "open", 1000, None),
        ("v", STANDING_ACCOUNTS, "open", 1000, None),
        ("p", 1, "paid", 1_000_000, Some("transfer")),
    ] {
        for n in 0..count {
            sqlx::query(
                "INSERT INTO invoices (id, account_id, number, month, peak_users, free_users, price_per_user_cents, amount_cents, status, \
                 company_name, created_at, payment_reference, paid_at) VALUES ($1, 'acct-money', $2, $3, 20, 10, 100, $4, $5, 'Money', 0, $6, $7)",
            )
            .bind(format!("inv-{kind}{n}"))
            .bind(format!("{month}-M{kind}{n}"))
            .bind(month.to_string())
            .bind(amount)
            .bind(status)
            .bind(reference)
            .bind(reference.map(|_| 0i64))
            .execute(app.db.pool())
            .await
            .unwrap();
            month = month.next();
        }
    }
}

/// An invoice a test writes: account, month, peak, free users, price, amount, status and
/// when it was paid.
type InvoiceRow = (
    &'static str,
    tally_core::billing::BillingMonth,
    i64,
    i64,
    i64,
    i64,
    &'static str,
    Option<i64>,
);

/// Accounts the standing functions act on, one per call that may succeed: `acct-<kind><n>`
/// (seeded by [`seed_standing_accounts`]; `r` ones suspended).
fn next_account(kind: &str) -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "acct-{kind}{}",
        NEXT.fetch_add(1, Ordering::Relaxed) % STANDING_ACCOUNTS
    )
}

const STANDING_ACCOUNTS: usize = 64;

async fn seed_standing_accounts(app: &TestApp) {
    for kind in ["s", "r", "c"] {
        for n in 0..STANDING_ACCOUNTS {
            let status = if kind == "r" { "suspended" } else { "active" };
            sqlx::query(
                "INSERT INTO accounts (id, name, created_at, status) VALUES ($1, $2, 0, $3)",
            )
            .bind(format!("acct-{kind}{n}"))
            .bind(format!("Standing {kind}{n}"))
            .bind(status)
            .execute(app.db.pool())
            .await
            .unwrap();
        }
    }
}

both_databases! {
    async fn every_operator_function_answers_the_roles_the_matrix_allows_and_nobody_else(app: TestApp) {
        use tally_core::operators::{operator_allows, ALL_OPERATOR_ROLES};
        app.seed_account("acme", &[Role::AdministratorWithBilling]).await;
        seed_standing_accounts(&app).await;
        seed_money_invoices(&app).await;
        seed_seller(&app).await;
        let customer = app.signed_in("admin_billing@acme.test").await;
        let nobody = TestApp::new_client();
        let mut operators = Vec::new();
        for role in ALL_OPERATOR_ROLES {
            app.seed_operator(role).await;
            let c = TestApp::new_client();
            enrolled(&app, &c, &format!("{}@seller.test", role.code())).await;
            operators.push((role, c));
        }
        // One still held at setting up their second step.
        let pending = TestApp::new_client();
        sqlx::query("INSERT INTO operators (id, email, email_key, first_name, last_name, role, status, password_hash, created_at, updated_at) \
                     SELECT 'op-new', 'new@seller.test', 'new@seller.test', 'New', 'Op', 'owner', 'active', password_hash, 0, 0 FROM operators WHERE id = 'op-owner'")
            .execute(app.db.pool()).await.unwrap();
        assert_eq!(json_of(sign_in(&app, &pending, "new@seller.test", TEST_PASSWORD).await).await, false);
        // The operators the Owner's functions act on: one invited, one to change.
        sqlx::query("INSERT INTO operators (id, email, email_key, first_name, last_name, role, status, created_at, updated_at) \
                     VALUES ('op-invited', 'invited@seller.test', 'invited@seller.test', 'In', 'Vited', 'support', 'invited', 0, 0), \
                     ('op-spare', 'spare@seller.test', 'spare@seller.test', 'Spa', 'Re', 'finance', 'active', 0, 0)")
            .execute(app.db.pool()).await.unwrap();
        // And the key the Owner's revoke acts on (revoking it again changes nothing).
        sqlx::query("INSERT INTO api_keys (id, name, visible, key_hash, scopes, created_by, created_at) \
                     VALUES ('key-spare', 'Spare', 'tly_AAAAAAAA', 'h', 'users:read', 'Op owner', 0)")
            .execute(app.db.pool()).await.unwrap();
        // And the webhook endpoint and delivery the Owner's functions act on.
        sqlx::query("INSERT INTO webhook_endpoints (id, url, events, secret, created_by, created_at) \
                     VALUES ('hook-spare', 'https://spare.example.com/h', 'invoice.paid', 'sealed', 'Op owner', 0)")
            .execute(app.db.pool()).await.unwrap();
        sqlx::query("INSERT INTO webhook_deliveries (id, endpoint_id, event_type, payload, created_at) \
                     VALUES ('msg_spare', 'hook-spare', 'invoice.paid', '{}', 0)")
            .execute(app.db.pool()).await.unwrap();
        let mut checked = 0;
        for (endpoint, args, action) in operator_functions() {
            let call = |client: &Client| {
                let owned = args();
                let app = &app;
                let client = client.clone();
                async move {
                    let form: Vec<(&str, &str)> = owned.iter().map(|(k, v)| (*k, v.as_str())).collect();
                    app.call(&client, endpoint, &form).await.status().as_u16()
                }
            };
            for (role, client) in &operators {
                let status = call(client).await;
                let allowed = action.is_none_or(|a| operator_allows(*role, a));
                if allowed {
                    assert!((200..300).contains(&status), "{endpoint} as {role:?}: {status}");
                } else {
                    assert_eq!(status, 403, "{endpoint} as {role:?}");
                }
                checked += 1;
            }
            let held = call(&pending).await;
            if action.is_some() {
                assert_eq!(held, 403, "{endpoint} before the second step is set up");
            }
            assert_eq!(call(&customer).await, 401, "{endpoint} as a customer administrator");
            assert_eq!(call(&nobody).await, 401, "{endpoint} as nobody");
        }
        assert_eq!(checked, operator_functions().len() * ALL_OPERATOR_ROLES.len());
    }

    async fn every_customer_function_answers_an_operator_session_as_it_answers_nobody(app: TestApp) {
        app.seed_account("acme", &[Role::AdministratorWithBilling]).await;
        app.seed_operator(OperatorRole::Owner).await;
        let operator = TestApp::new_client();
        enrolled(&app, &operator, "owner@seller.test").await;
        // Every server function the server has registered, but the console's own.
        let mut customer: Vec<String> = leptos::server_fn::axum::server_fn_paths()
            .map(|(path, _)| path.to_string())
            .filter(|p| !p.starts_with("/api/operator/"))
            .collect();
        customer.sort();
        assert!(customer.len() > 60, "the registry is read: {customer:?}");
        // One form for all: every plain argument any of them takes, with a value of its type
        // (the extra ones are ignored), so most get past reading their arguments to the session
        // check. The few taking nested data (a card, a passkey) are answered 400 alike.
        let text = |v: &'static str| v;
        let form: Vec<(&str, &str)> = [
            "account_id", "admin_id", "ceremony", "city", "code", "command_id", "company_name",
            "contact_email", "country", "csv", "current_password", "description", "email",
            "first_name", "free_users", "id", "idempotency_key", "invoice_id", "last_name",
            "legal_name", "line1", "line2", "name", "new_password", "number", "password",
            "postal_code", "price_per_user", "reason", "reference", "region", "role", "script",
            "search", "setup_code", "setup_intent", "shell", "status", "token", "amount",
        ]
        .into_iter()
        .map(|k| (k, text("x")))
        .chain([
            ("confirm", "false"), ("on", "false"), ("required", "false"), ("suspended", "false"),
            ("whole", "false"), ("past_due_only", "false"), ("no_card_only", "false"), ("page", "1"),
            ("kind", "Invitation"),
        ])
        .collect();
        let mut refused = 0;
        for path in &customer {
            let endpoint = path.trim_start_matches("/api/");
            let nobody = app.call(&TestApp::new_client(), endpoint, &form).await.status().as_u16();
            let with_operator = app.call(&operator, endpoint, &form).await.status().as_u16();
            // The operator's cookie opens nothing a visitor without one is not given.
            assert_eq!(with_operator, nobody, "{path} with an operator session");
            refused += u32::from(nobody == 401);
        }
        assert!(refused > 40, "most customer functions need a customer session: {refused} refused");
        // A customer's session, for contrast, is let in where the operator's is not.
        let admin = app.signed_in("admin_billing@acme.test").await;
        assert_eq!(app.call(&admin, "billing/overview", &[]).await.status(), 200);
        assert_eq!(app.call(&operator, "billing/overview", &[]).await.status(), 401);
    }

    async fn support_sends_an_invitation_again_and_resets_a_lost_second_step_on_request(app: TestApp) {
        let acme = app.seed_account("acme", &[Role::AdministratorWithBilling, Role::Administrator]).await;
        sqlx::query("UPDATE admins SET status = 'invited', password_hash = NULL WHERE id = 'acme-admin'")
            .execute(app.db.pool()).await.unwrap();
        app.seed_operator(OperatorRole::Support).await;
        app.seed_operator(OperatorRole::Finance).await;
        let support = TestApp::new_client();
        enrolled(&app, &support, "support@seller.test").await;
        let finance = TestApp::new_client();
        enrolled(&app, &finance, "finance@seller.test").await;
        // The page says who is invited and who has a second step.
        let owner = app.signed_in("admin_billing@acme.test").await;
        crate::two_step::enrol_app(&app, &owner).await;
        let seen = json_of(app.call(&support, "operator/accounts/get", &[("id", acme.as_str())]).await).await;
        let admins = seen["administrators"].as_array().unwrap();
        let of = |id: &str| admins.iter().find(|a| a["id"] == id).unwrap().clone();
        assert_eq!((of("acme-admin")["status"].as_str(), of("acme-admin")["two_step"].as_bool()), (Some("Invited"), Some(false)));
        assert_eq!(of("acme-admin_billing")["two_step"], true);

        // The invitation again: a new link, the old one no longer works; audited as the seller's.
        let first = app.outbox_messages().len();
        let resend = |client: Client, admin: &'static str| {
            let (app, acme) = (&app, acme.clone());
            async move {
                app.call(&client, "operator/admins/resend-invitation", &[("account_id", acme.as_str()), ("admin_id", admin)]).await
            }
        };
        assert_eq!(resend(finance.clone(), "acme-admin").await.status(), 403, "Finance does not help administrators");
        assert_eq!(resend(support.clone(), "acme-admin").await.status(), 200);
        let mail = app.outbox_messages().into_iter().skip(first).find(|m| m.contains("To: admin@acme.test")).expect("the invitation");
        assert!(mail.contains("/invitation/") && mail.contains("the seller's staff"), "{mail}");
        let conflict = resend(support.clone(), "acme-admin_billing").await;
        assert_eq!(conflict.status(), 409, "already accepted");
        // Another account's administrator is not found through this account.
        app.seed_account("other", &[Role::AdministratorWithBilling]).await;
        assert_eq!(app.call(&support, "operator/admins/resend-invitation", &[("account_id", acme.as_str()), ("admin_id", "other-admin_billing")]).await.status(), 404);

        // The owner lost their phone and asked: their second step is gone, so are their sessions.
        let res = app.call(&support, "operator/admins/reset-two-step", &[("account_id", acme.as_str()), ("admin_id", "acme-admin_billing")]).await;
        assert_eq!(res.status(), 200, "{:?}", res.text().await);
        assert!(json_of(app.call(&owner, "account/me", &[]).await).await.is_null(), "signed out");
        let seen = json_of(app.call(&support, "operator/accounts/get", &[("id", acme.as_str())]).await).await;
        let owner_row = seen["administrators"].as_array().unwrap().iter().find(|a| a["id"] == "acme-admin_billing").unwrap().clone();
        assert_eq!(owner_row["two_step"], false);
        assert!(app.outbox_messages().iter().any(|m| m.contains("To: admin_billing@acme.test") && m.contains("reset your two-step verification")));
        let by: Vec<String> = sqlx::query_scalar("SELECT actor_email FROM audit_events WHERE account_id = $1 AND kind IN ('two_step_reset', 'invitation_sent') AND actor_email LIKE '%seller%'")
            .bind(&acme).fetch_all(app.db.pool()).await.unwrap();
        assert_eq!(by, ["support@seller.test (the seller's staff)", "support@seller.test (the seller's staff)"]);
    }

    async fn an_account_made_from_the_console_invites_its_first_administrator(app: TestApp) {
        app.seed_operator(OperatorRole::Support).await;
        let support = TestApp::new_client();
        let key = enrolled(&app, &support, "support@seller.test").await;
        let create = |company: &'static str, email: &'static str| {
            let (app, support) = (&app, &support);
            async move {
                app.call(support, "operator/accounts/create", &[
                    ("company_name", company), ("first_name", "Ada"), ("last_name", "Byron"), ("email", email),
                ]).await
            }
        };
        // Held to core's rules, beside their fields.
        let bad = create(" ", "not an address").await;
        assert_eq!(bad.status(), 422);
        let errors = json_of(bad).await;
        assert!(errors["Validation"]["company_name"].is_string() && errors["Validation"]["email"].is_string(), "{errors}");
        let res = app.call(&support, "operator/accounts/create", &[
            ("company_name", "Globex"), ("first_name", "Ada"), ("last_name", "Byron"), ("email", "ada@globex.test"), ("role", "manager"),
        ]).await;
        assert_eq!(res.status(), 422, "the first administrator needs a billing role");
        let made = create("Globex", "ada@globex.test").await;
        assert_eq!(made.status(), 200, "{:?}", made.text().await);
        let account: String = sqlx::query_scalar("SELECT id FROM accounts WHERE name = 'Globex'").fetch_one(app.db.pool()).await.unwrap();
        // The administrator is invited by email, in the seller's name.
        let mail = app.outbox_messages().into_iter().find(|m| m.contains("To: ada@globex.test")).expect("the invitation");
        assert!(mail.contains("the seller") && mail.contains("/invitation/"), "{mail}");
        let status: String = sqlx::query_scalar("SELECT status FROM admins WHERE account_id = $1").bind(&account).fetch_one(app.db.pool()).await.unwrap();
        assert_eq!(status, "invited");
        // The account's audit log says the seller's staff did it.
        let events: Vec<(String, Option<String>)> = sqlx::query_as("SELECT kind, actor_email FROM audit_events WHERE account_id = $1 ORDER BY kind")
            .bind(&account).fetch_all(app.db.pool()).await.unwrap();
        let kinds: Vec<&str> = events.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(kinds, ["account_created", "admin_created", "invitation_sent"]);
        assert!(events.iter().all(|(_, by)| by.as_deref() == Some("support@seller.test (the seller's staff)")));
        // An address some administrator has already is refused.
        let again = create("Globex Two", "ADA@globex.test").await;
        assert_eq!(again.status(), 422);
        assert_eq!(json_of(again).await["Validation"]["email"], "An administrator with this email already exists.");
        // Ten minutes on, a second step first.
        app.clock.advance_minutes(11);
        let late = create("Initech", "bob@initech.test").await;
        assert_eq!(late.status(), 403);
        assert_eq!(app.call(&support, "operator/confirm", &[("code", &totp(&key, at_step(&app, 0)))]).await.status(), 200);
        assert_eq!(create("Initech", "bob@initech.test").await.status(), 200);
    }

    async fn the_console_lists_accounts_searched_filtered_ordered_and_paged(app: TestApp) {
        app.seed_operator(OperatorRole::ReadOnly).await;
        for tag in ["acme", "beta", "gamma"] {
            app.seed_account(tag, &[Role::AdministratorWithBilling, Role::Manager]).await;
        }
        for i in 0..60u8 {
            sqlx::query("INSERT INTO accounts (id, name, created_at) VALUES ($1, $2, $3)")
                .bind(format!("bulk-{i:02}")).bind(format!("Bulk {i:02}")).bind(1_000 + i64::from(i))
                .execute(app.db.pool()).await.unwrap();
        }
        sqlx::query("UPDATE accounts SET past_due = TRUE WHERE id = 'acct-beta'").execute(app.db.pool()).await.unwrap();
        sqlx::query("INSERT INTO users (id, account_id, first_name, last_name, email, email_key, status, created_at, updated_at) VALUES ('u1', 'acct-gamma', 'U', 'One', 'u1@g.test', 'u1@g.test', 'active', 0, 0)")
            .execute(app.db.pool()).await.unwrap();
        let c = TestApp::new_client();
        enrolled(&app, &c, "read_only@seller.test").await;
        let list = |args: Vec<(&'static str, &'static str)>| {
            let (app, c) = (&app, &c);
            async move {
                let res = app.call(c, "operator/accounts/list", &args).await;
                assert_eq!(res.status(), 200);
                json_of(res).await
            }
        };
        let all = list(vec![]).await;
        assert_eq!((all["total"].as_u64(), all["matching"].as_u64(), all["accounts"].as_array().unwrap().len()), (Some(63), Some(63), 50));
        assert_eq!(all["accounts"][0]["name"], "Bulk 00", "by name");
        let second = list(vec![("page", "2")]).await;
        assert_eq!(second["accounts"].as_array().unwrap().len(), 13);
        let names: Vec<&str> = second["accounts"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
        assert_eq!(&names[10..], ["Company acme", "Company beta", "Company gamma"]);
        // By an administrator's address, or the company's name, in any case.
        let found = list(vec![("search", "MANAGER@gamma")]).await;
        assert_eq!(found["matching"], 1);
        let gamma = &found["accounts"][0];
        assert_eq!((gamma["name"].as_str(), gamma["administrators"].as_u64(), gamma["users"].as_u64(), gamma["card_on_file"].as_bool()), (Some("Company gamma"), Some(2), Some(1), Some(false)));
        assert_eq!(list(vec![("search", "company")]).await["matching"], 3);
        // Filters, and the newest first.
        let due = list(vec![("past_due_only", "true")]).await;
        assert_eq!((due["matching"].as_u64(), due["accounts"][0]["name"].as_str()), (Some(1), Some("Company beta")));
        assert_eq!(list(vec![("no_card_only", "true")]).await["matching"], 63);
        // Two bulk accounts with a card: counted out of every account, and out of a search.
        for id in ["bulk-00", "bulk-01"] {
            sqlx::query("INSERT INTO payment_methods (account_id, gateway_token, brand, last4, exp_month, exp_year, cardholder_name, country, line1, city, postal_code, fingerprint, saved_at) \
                         VALUES ($1, 'tok', 'visa', '4242', 12, 2030, 'C H', 'US', '1 St', 'City', '10001', 'fp', 0)")
                .bind(id).execute(app.db.pool()).await.unwrap();
        }
        let no_card = list(vec![("no_card_only", "true")]).await;
        assert_eq!((no_card["matching"].as_u64(), no_card["accounts"][0]["name"].as_str()), (Some(61), Some("Bulk 02")));
        assert_eq!(list(vec![("no_card_only", "true"), ("search", "bulk"), ("page", "2")]).await["matching"], 58);
        assert_eq!(list(vec![("search", "bulk"), ("page", "2")]).await["matching"], 60);
        assert_eq!(list(vec![("no_card_only", "true"), ("past_due_only", "true")]).await["matching"], 1);
        let newest = list(vec![("order", "Newest")]).await;
        assert!(newest["accounts"][0]["name"].as_str().unwrap().starts_with("Company"), "{newest}");
        // By an invoice's number, in any case; and a standing, alone or with a search.
        sqlx::query("INSERT INTO invoices (id, account_id, number, month, peak_users, free_users, price_per_user_cents, amount_cents, status, company_name, created_at) \
                     VALUES ('inv-b', 'bulk-07', 'INV-2026-000042', '2026-11', 12, 10, 500, 1000, 'paid', 'Bulk 07', 0)")
            .execute(app.db.pool()).await.unwrap();
        let by_number = list(vec![("search", "inv-2026-000042")]).await;
        assert_eq!((by_number["matching"].as_u64(), by_number["accounts"][0]["name"].as_str()), (Some(1), Some("Bulk 07")));
        sqlx::query("UPDATE accounts SET status = 'suspended' WHERE id IN ('acct-gamma', 'bulk-03')").execute(app.db.pool()).await.unwrap();
        let suspended = list(vec![("status", "suspended")]).await;
        let names: Vec<&str> = suspended["accounts"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
        assert_eq!((suspended["matching"].as_u64(), names), (Some(2), vec!["Bulk 03", "Company gamma"]));
        assert_eq!(list(vec![("status", "suspended"), ("search", "gamma")]).await["matching"], 1);
        assert_eq!(list(vec![("status", "active"), ("page", "2")]).await["matching"], 61);
        // An address so common that more than 200 administrators' start with it: the search
        // still finds each of their accounts once, and the companies named so.
        for i in 0..201 {
            sqlx::query("INSERT INTO admins (id, account_id, email, email_key, first_name, last_name, role, status, created_at, updated_at) \
                         VALUES ($1, $2, $3, $3, 'S', 'Taff', 'manager', 'invited', 0, 0)")
                .bind(format!("staff-{i}")).bind(format!("bulk-{:02}", i % 59 + 1)).bind(format!("staff-{i:03}@bulk.test"))
                .execute(app.db.pool()).await.unwrap();
        }
        sqlx::query("INSERT INTO accounts (id, name, created_at) VALUES ('staffing', 'Staff-ing Ltd', 5)").execute(app.db.pool()).await.unwrap();
        let common = list(vec![("search", "STAFF-"), ("page", "2")]).await;
        assert_eq!(common["matching"], 60, "59 accounts by address, one by name");
        let first = list(vec![("search", "staff-")]).await;
        assert_eq!(first["accounts"][0]["name"], "Bulk 01");
        assert_eq!(first["accounts"][49]["name"], "Bulk 50");
        assert_eq!(list(vec![("search", "staff-2")]).await["matching"], 1, "staff-200 alone");
        // A card number is no search.
        let res = app.call(&c, "operator/accounts/list", &[("search", "4111 1111 1111 1111")]).await; // test number
        assert_eq!(res.status(), 422);
    }

    async fn the_console_pages_open_for_operators_only_and_after_their_second_step(app: TestApp) {
        app.seed_operator(OperatorRole::Support).await;
        app.seed_account("acme", &[Role::AdministratorWithBilling]).await;
        let page = |client: Client, path: &'static str| {
            let app = &app;
            async move {
                client.get(app.url(path)).header("Accept", "text/html").send().await.unwrap()
            }
        };
        let location = |res: &reqwest::Response| {
            res.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
        };
        // The sign-in page is open; the console sends a visitor there.
        let login = page(TestApp::new_client(), "/operator/login").await;
        assert_eq!(login.status(), 200);
        assert!(login.text().await.unwrap().contains("Sign in to the operator console"));
        let res = page(TestApp::new_client(), "/operator/accounts").await;
        assert_eq!((res.status().as_u16(), location(&res)), (302, "/operator/login".to_string()));
        // A customer administrator's session opens no console page.
        let customer = app.signed_in("admin_billing@acme.test").await;
        let res = page(customer, "/operator/accounts").await;
        assert_eq!((res.status().as_u16(), location(&res)), (302, "/operator/login".to_string()));
        // An operator without a second step gets only its set-up.
        let op = TestApp::new_client();
        assert_eq!(sign_in(&app, &op, "support@seller.test", TEST_PASSWORD).await.status(), 200);
        let res = page(op.clone(), "/operator/accounts").await;
        assert_eq!((res.status().as_u16(), location(&res)), (302, "/operator/two-step".to_string()));
        assert_eq!(page(op.clone(), "/operator/two-step").await.status(), 200);
        // Then the console, with the accounts in the page as the server drew it.
        enrolled(&app, &op, "support@seller.test").await;
        let res = page(op.clone(), "/operator/accounts").await;
        assert_eq!(res.status(), 200);
        let html = res.text().await.unwrap();
        assert!(html.contains("Company acme") && html.contains("Create account"), "{html}");
        // An operator is not a customer: the customer pages send them to the customers' sign-in.
        let res = page(op, "/users").await;
        assert_eq!(res.status(), 302);
        assert!(location(&res).starts_with("/login"), "{}", location(&res));
    }

    async fn an_operator_signs_in_with_plain_forms_before_the_page_is_live(app: TestApp) {
        app.seed_operator(OperatorRole::Finance).await;
        let key = enrolled(&app, &TestApp::new_client(), "finance@seller.test").await;
        let c = TestApp::new_client();
        let plain = |endpoint: &'static str, fields: Vec<(&'static str, String)>| {
            let (app, c) = (&app, c.clone());
            async move {
                let mut fields = fields;
                fields.push(("__page", "/operator/login".into()));
                c.post(app.url(&format!("/api/{endpoint}"))).header("Origin", app.address.clone())
                    .header("Accept", "text/html").form(&fields).send().await.unwrap()
            }
        };
        let res = plain("operator/sign-in", vec![("email", "finance@seller.test".into()), ("password", TEST_PASSWORD.into())]).await;
        assert_eq!(res.status().as_u16() / 100, 3, "a page, never JSON: {}", res.status());
        assert_eq!(res.headers()["location"], "/operator/login/two-step");
        app.clock.advance_minutes(1);
        let res = plain("operator/second-step", vec![("code", totp(&key, at_step(&app, 0)))]).await;
        assert_eq!(res.status().as_u16() / 100, 3, "{}", res.status());
        assert_eq!(res.headers()["location"], "/operator/accounts");
        assert_eq!(json_of(app.call(&c, "operator/me", &[]).await).await["email"], "finance@seller.test");
        // A wrong password is the page again with the message, never JSON.
        let res = plain("operator/sign-in", vec![("email", "finance@seller.test".into()), ("password", "wrong".into())]).await;
        assert_eq!(res.status(), 422, "the page again, under the refusal's status");
        let html = res.text().await.unwrap();
        assert!(html.contains("Email or password is incorrect.") && html.contains("finance@seller.test"), "{html}");
    }

    async fn an_account_is_created_on_a_plan_and_its_plan_changes_from_next_month(app: TestApp) {
        use tally_core::billing::BillingMonth;
        // The seller's default plan, when set up, is what a new account starts on.
        let form = crate::helpers::seller_setup_form(&app.setup_code, "a sturdy owner passphrase");
        let form: Vec<(&str, &str)> = form.into_iter().map(|(k, v)| (k, if k == "price_per_user" { "7.50" } else if k == "free_users" { "3" } else { v })).collect();
        assert!(app.call(&TestApp::new_client(), "setup/create", &form).await.status().is_success());
        app.seed_operator(OperatorRole::Support).await;
        app.seed_operator(OperatorRole::Finance).await;
        let support = TestApp::new_client();
        enrolled(&app, &support, "support@seller.test").await;
        let finance = TestApp::new_client();
        enrolled(&app, &finance, "finance@seller.test").await;
        assert_eq!(json_of(app.call(&support, "operator/accounts/default-plan", &[]).await).await, serde_json::json!({"currency": "USD", "price_per_user": "7.50", "free_users": "3", "billing_day": "1"}));
        let create = |company: &'static str, email: &'static str, plan: Vec<(&'static str, &'static str)>| {
            let (app, support) = (&app, &support);
            async move {
                let mut f = vec![("company_name", company), ("first_name", "Ada"), ("last_name", "Byron"), ("email", email)];
                f.extend(plan);
                app.call(support, "operator/accounts/create", &f).await
            }
        };
        let id: String = json_of(create("Defaulted", "ada@defaulted.test", vec![]).await).await.as_str().unwrap().to_string();
        let got = json_of(app.call(&support, "operator/accounts/get", &[("id", &id)]).await).await;
        assert_eq!((got["price_per_user_cents"].as_i64(), got["free_users"].as_u64()), (Some(750), Some(3)));
        assert_eq!(got["administrators"][0]["email"], "ada@defaulted.test");
        assert_eq!(got["administrators"][0]["status"], "Invited");
        // Or its own, held to core's rules beside the fields.
        let bad = create("Own", "ada@own.test", vec![("price_per_user", "5.001"), ("free_users", "-1")]).await;
        assert_eq!(bad.status(), 422);
        let errors = json_of(bad).await;
        assert!(errors["Validation"]["price_per_user"].is_string() && errors["Validation"]["free_users"].is_string(), "{errors}");
        let own: String = json_of(create("Own", "ada@own.test", vec![("price_per_user", "2"), ("free_users", "0")]).await).await.as_str().unwrap().to_string();

        // Support may not change a plan; Finance may, from next month.
        let set = |client: &Client, price: &'static str, free: &'static str| {
            let (app, client, own) = (&app, client.clone(), own.clone());
            async move { app.call(&client, "operator/accounts/set-plan", &[("id", own.as_str()), ("price_per_user", price), ("free_users", free)]).await }
        };
        assert_eq!(set(&support, "9", "1").await.status(), 403);
        let changed = json_of(set(&finance, "9", "1").await).await;
        let today = BillingMonth::containing(app.services.ctx.clock.today());
        assert_eq!(changed["from_month"], today.next().to_string());
        let got = json_of(app.call(&finance, "operator/accounts/get", &[("id", &own)]).await).await;
        assert_eq!(got["price_per_user_cents"], 200, "this month keeps its plan");
        let audit = got["audit"].as_array().unwrap();
        assert_eq!(audit[0]["kind"], "Plan changed", "newest first: {got}");
        assert_eq!(audit[0]["actor"], "finance@seller.test (the seller's staff)");
        assert_eq!(got["next_plan"]["price_per_user_cents"], 900);
        // Another tenant's id is nothing.
        assert_eq!(app.call(&finance, "operator/accounts/set-plan", &[("id", "nope"), ("price_per_user", "1"), ("free_users", "1")]).await.status(), 404);
        // Audited in the account's log as the seller's staff.
        let detail: String = sqlx::query_scalar("SELECT detail FROM audit_events WHERE account_id = $1 AND kind = 'plan_changed'").bind(&own).fetch_one(app.db.pool()).await.unwrap();
        assert_eq!(detail, format!("from {}: $9.00 per user beyond 1 free, billed on the 1st", today.next()));

        // The account's billing administrator sees the change coming on the Billing page.
        let ann = TestApp::new_client();
        let res = app.account_from_console(&ann, "Acme", ("Ann", "Lee", "ann@acme.test"), TEST_PASSWORD).await;
        assert!(res.status().is_success());
        let acme: String = sqlx::query_scalar("SELECT account_id FROM admins WHERE email_key = 'ann@acme.test'").fetch_one(app.db.pool()).await.unwrap();
        let billing = json_of(app.call(&ann, "billing/overview", &[]).await).await;
        assert_eq!((billing["price_per_user_cents"].as_i64(), billing["next_plan"].is_null()), (Some(750), true));
        // A billing day every month has, said beside its field.
        let res = app.call(&finance, "operator/accounts/set-plan", &[("id", acme.as_str()), ("price_per_user", "8"), ("free_users", "2"), ("billing_day", "31")]).await;
        assert_eq!(res.status(), 422);
        assert_eq!(json_of(res).await["Validation"]["billing_day"], "Choose a day from 1 to 28: every month has them.");
        let res = app.call(&finance, "operator/accounts/set-plan", &[("id", acme.as_str()), ("price_per_user", "8"), ("free_users", "2"), ("billing_day", "10")]).await;
        assert_eq!(res.status(), 200);
        let billing = json_of(app.call(&ann, "billing/overview", &[]).await).await;
        assert_eq!(billing["next_plan"]["price_per_user_cents"], 800);
        assert_eq!((billing["billing_day"].as_u64(), billing["next_plan"]["billing_day"].as_u64()), (Some(1), Some(10)));

        // The billing run bills each month on that month's plan.
        sqlx::query("INSERT INTO user_count_changes (id, account_id, at, delta) VALUES ('ucc-acme', $1, $2, 12)")
            .bind(&acme).bind(app.clock_now()).execute(app.db.pool()).await.unwrap();
        // The list estimates this month on the account's own plan: 12 users, 3 free, $7.50.
        let listed = json_of(app.call(&finance, "operator/accounts/list", &[("search", "acme")]).await).await;
        let row = &listed["accounts"][0];
        assert_eq!((row["peak_this_month"].as_i64(), row["estimate_cents"].as_i64()), (Some(12), Some(9 * 750)), "{listed}");
        app.clock.advance_minutes(40 * 24 * 60);
        app.services.billing_run.run_month(today).await.unwrap();
        let (price, free, amount): (i64, i64, i64) = sqlx::query_as("SELECT price_per_user_cents, free_users, amount_cents FROM invoices WHERE account_id = $1 AND month = $2")
            .bind(&acme).bind(today.to_string()).fetch_one(app.db.pool()).await.unwrap();
        assert_eq!((price, free, amount), (750, 3, 9 * 750), "this month: the plan it began with");
        // Next month waits for its billing day, the 10th of the month after.
        let billed_on = tally_core::billing::date_start_millis(today.next().charge_date_on(10));
        app.clock.set(billed_on - 60_000);
        let report = app.services.billing_run.run_month(today.next()).await.unwrap();
        assert_eq!((report.invoices_created, report.waiting), (2, 1), "the other two bill on the 1st");
        app.clock.set(billed_on);
        app.services.billing_run.run_month(today.next()).await.unwrap();
        let (price, free, amount): (i64, i64, i64) = sqlx::query_as("SELECT price_per_user_cents, free_users, amount_cents FROM invoices WHERE account_id = $1 AND month = $2")
            .bind(&acme).bind(today.next().to_string()).fetch_one(app.db.pool()).await.unwrap();
        assert_eq!((price, free, amount), (800, 2, 10 * 800), "next month: the new plan");
    }

    async fn a_suspended_account_can_only_pay_a_closed_one_is_billed_once_more_and_read_only(app: TestApp) {
        use tally_core::billing::BillingMonth;
        app.seed_account("acme", &[Role::AdministratorWithBilling, Role::Manager]).await;
        app.seed_operator(OperatorRole::Support).await;
        app.seed_operator(OperatorRole::Finance).await;
        let support = TestApp::new_client();
        let key = enrolled(&app, &support, "support@seller.test").await;
        // After the clock has moved on by weeks, the sessions have ended: sign in again.
        let support_again = || {
            let (app, key) = (&app, key.clone());
            async move {
                let c = TestApp::new_client();
                assert_eq!(sign_in(app, &c, "support@seller.test", TEST_PASSWORD).await.status(), 200);
                let res = app.call(&c, "operator/second-step", &[("code", &totp(&key, at_step(app, 0)))]).await;
                assert!(res.status().is_success(), "{}", res.status());
                c
            }
        };
        let finance = TestApp::new_client();
        enrolled(&app, &finance, "finance@seller.test").await;
        let billing = app.signed_in("admin_billing@acme.test").await;
        let manager = app.signed_in("manager@acme.test").await;
        sqlx::query("INSERT INTO user_count_changes (id, account_id, at, delta) VALUES ('ucc-acme', 'acct-acme', $1, 13)")
            .bind(app.clock_now()).execute(app.db.pool()).await.unwrap();

        // Finance may not; a reason is asked for; Support suspends.
        let suspend = |client: &Client, reason: &'static str| {
            let (app, client) = (&app, client.clone());
            async move { app.call(&client, "operator/accounts/suspend", &[("id", "acct-acme"), ("reason", reason)]).await }
        };
        assert_eq!(suspend(&finance, "Unpaid").await.status(), 403);
        let res = suspend(&support, " ").await;
        assert_eq!(res.status(), 422);
        assert!(json_of(res).await["Validation"]["reason"].is_string());
        assert_eq!(suspend(&support, "Three invoices unpaid").await.status(), 200);
        assert_eq!(suspend(&support, "Again").await.status(), 409, "already suspended");
        app.services.ctx.outbox.deliver_due().await.unwrap();
        let mail = app.outbox_messages().into_iter().find(|m| m.contains("To: admin_billing@acme.test") && m.contains("suspended")).expect("the billing contact is told");
        assert!(mail.contains("Three invoices unpaid"), "{mail}");
        let audited: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE account_id = 'acct-acme' AND kind = 'account_suspended'")
            .fetch_one(app.db.pool()).await.unwrap();
        assert_eq!(audited, 1);

        // Its administrators see why and whom to ask; only paying works.
        let standing = json_of(app.call(&manager, "account/standing", &[]).await).await;
        assert_eq!((standing["status"].as_str(), standing["reason"].as_str()), (Some("Suspended"), Some("Three invoices unpaid")));
        let users = app.call(&manager, "users/list", &[("search", "")]).await;
        assert_eq!(users.status(), 403);
        assert!(users.text().await.unwrap().contains("This account is suspended"));
        assert_eq!(app.call(&billing, "users/create", &[("first_name", "A"), ("last_name", "B"), ("email", "a@b.test")]).await.status(), 403);
        assert_eq!(app.call(&billing, "billing/overview", &[]).await.status(), 200, "billing administrators can still pay");
        let page = billing.get(app.url("/users")).header("Accept", "text/html").send().await.unwrap().text().await.unwrap();
        assert!(page.contains("This account is suspended") && page.contains("Three invoices unpaid"), "{page}");

        // The month's run invoices it but charges nothing while it is suspended.
        let month = BillingMonth::containing(app.services.ctx.clock.today());
        app.clock.advance_minutes(40 * 24 * 60);
        app.services.billing_run.run_month(month).await.unwrap();
        let (status, attempts): (String, i64) = sqlx::query_as("SELECT status, attempts FROM invoices WHERE account_id = 'acct-acme' AND month = $1")
            .bind(month.to_string()).fetch_one(app.db.pool()).await.unwrap();
        assert_eq!((status.as_str(), attempts), ("open", 0));
        // Active again: the next run charges it (no card here, so it fails and is retried).
        let support = support_again().await;
        let manager = app.signed_in("manager@acme.test").await;
        let billing = app.signed_in("admin_billing@acme.test").await;
        assert_eq!(app.call(&support, "operator/accounts/reactivate", &[("id", "acct-acme")]).await.status(), 200);
        assert_eq!(app.call(&manager, "users/list", &[("search", "")]).await.status(), 200);
        app.services.billing_run.run_month(month).await.unwrap();
        let attempts: i64 = sqlx::query_scalar("SELECT attempts FROM invoices WHERE account_id = 'acct-acme' AND month = $1")
            .bind(month.to_string()).fetch_one(app.db.pool()).await.unwrap();
        assert_eq!(attempts, 1);

        // Closed: the month so far is invoiced at once; then read-only and never billed again.
        let now = BillingMonth::containing(app.services.ctx.clock.today());
        let res = app.call(&support, "operator/accounts/close", &[("id", "acct-acme"), ("reason", "Moved to another provider")]).await;
        assert_eq!(res.status(), 200, "{:?}", res.text().await);
        let (peak, amount): (i64, i64) = sqlx::query_as("SELECT peak_users, amount_cents FROM invoices WHERE account_id = 'acct-acme' AND month = $1")
            .bind(now.to_string()).fetch_one(app.db.pool()).await.unwrap();
        assert_eq!((peak, amount), (13, 3 * 500), "the last invoice: this month so far");
        assert_eq!(app.call(&manager, "users/list", &[("search", "")]).await.status(), 200, "readable");
        let refused = app.call(&billing, "users/create", &[("first_name", "A"), ("last_name", "B"), ("email", "a@b.test")]).await;
        assert_eq!(refused.status(), 403);
        assert!(refused.text().await.unwrap().contains("This account is closed"));
        assert_eq!(app.call(&support, "operator/accounts/reactivate", &[("id", "acct-acme")]).await.status(), 409);
        app.clock.advance_minutes(62 * 24 * 60);
        let support = support_again().await;
        app.services.billing_run.run_month(now.next()).await.unwrap();
        let later: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM invoices WHERE account_id = 'acct-acme' AND month = $1")
            .bind(now.next().to_string()).fetch_one(app.db.pool()).await.unwrap();
        assert_eq!(later, 0, "nothing after the close");
        let page = json_of(app.call(&support, "operator/accounts/get", &[("id", "acct-acme")]).await).await;
        assert_eq!(page["invoices"].as_array().unwrap().len(), 2, "the month suspended, and the last one: {page}");
        assert_eq!(page["invoices"][0]["month"], now.to_string());
        // The console's list filters by standing.
        let listed = json_of(app.call(&support, "operator/accounts/list", &[("status", "closed")]).await).await;
        assert_eq!((listed["matching"].as_u64(), listed["accounts"][0]["status"].as_str()), (Some(1), Some("Closed")));
    }

    async fn revenue_is_read_from_the_invoices_to_the_cent(app: TestApp) {
        use tally_core::billing::BillingMonth;
        app.seed_operator(OperatorRole::ReadOnly).await;
        let c = TestApp::new_client();
        enrolled(&app, &c, "read_only@seller.test").await;
        let now = BillingMonth::containing(app.services.ctx.clock.today());
        let (m1, m2) = (now.previous(), now.previous().previous());
        let m13 = (0..13).fold(now, |m, _| m.previous());
        for (id, status) in [("a", "active"), ("b", "suspended"), ("c", "closed")] {
            sqlx::query("INSERT INTO accounts (id, name, created_at, status) VALUES ($1, $2, 0, $3)")
                .bind(id).bind(format!("Company {id}")).bind(status).execute(app.db.pool()).await.unwrap();
        }
        let mid = |m: BillingMonth| m.start_millis() + 86_400_000;
        // account, month, peak, free, price, amount, status, paid at
        let invoices: [InvoiceRow; 5] = [
            ("a", m1, 13, 10, 500, 1500, "paid", Some(mid(m1))),
            ("a", m2, 12, 10, 500, 1000, "paid", Some(mid(m1) + 1)), // paid late, in m1
            ("b", m1, 15, 10, 500, 2500, "past_due", None),
            ("c", m1, 12, 10, 350, 700, "failed", None),
            ("c", m13, 20, 10, 100, 999, "paid", Some(mid(m13))), // outside the 12 months
        ];
        for (i, (account, month, peak, free, price, amount, status, paid_at)) in invoices.into_iter().enumerate() {
            sqlx::query("INSERT INTO invoices (id, account_id, number, month, peak_users, free_users, price_per_user_cents, amount_cents, status, company_name, created_at, paid_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'X', 0, $10)")
                .bind(format!("inv{i}")).bind(account).bind(format!("N{i}")).bind(month.to_string())
                .bind(peak).bind(free).bind(price).bind(amount).bind(status).bind(paid_at)
                .execute(app.db.pool()).await.unwrap();
        }
        // A euro invoice: its own currency's figures, never added to the dollars.
        sqlx::query("INSERT INTO invoices (id, account_id, number, month, peak_users, free_users, price_per_user_cents, amount_cents, status, company_name, created_at, currency) \
                     VALUES ('eur1', 'b', 'NE', $1, 12, 10, 450, 900, 'failed', 'X', 0, 'EUR')")
            .bind(m2.to_string()).execute(app.db.pool()).await.unwrap();
        let all = json_of(app.call(&c, "operator/revenue", &[]).await).await;
        let currencies = all["currencies"].as_array().unwrap();
        assert_eq!(currencies.iter().map(|c| c["currency"].as_str().unwrap()).collect::<Vec<_>>(), ["Usd", "Eur"]);
        let (r, eur) = (&currencies[0], &currencies[1]);
        assert_eq!((eur["mrr_cents"].as_i64(), eur["past_due_cents"].as_i64()), (Some(900), Some(900)));
        assert_eq!((eur["months"][10]["invoiced_cents"].as_i64(), eur["months"][11]["accounts_invoiced"].as_u64()), (Some(900), Some(0)));
        assert_eq!(eur["most_past_due"][0]["due"]["minor"].as_i64(), Some(900));
        let months = r["months"].as_array().unwrap();
        assert_eq!(months.len(), 12);
        assert_eq!(months[11]["month"], m1.to_string());
        assert_eq!((months[11]["invoiced_cents"].as_i64(), months[11]["collected_cents"].as_i64(), months[11]["users_billed"].as_u64(), months[11]["accounts_invoiced"].as_u64()),
            (Some(4700), Some(2500), Some(10), Some(3)));
        assert_eq!((months[10]["invoiced_cents"].as_i64(), months[10]["collected_cents"].as_i64(), months[10]["users_billed"].as_u64()), (Some(1000), Some(0), Some(2)));
        assert!(months[..10].iter().all(|m| m["invoiced_cents"] == 0 && m["collected_cents"] == 0), "{r}");
        assert_eq!(r["mrr_cents"], 4700);
        assert_eq!(r["past_due_cents"], 3200);
        assert_eq!((all["active"].as_u64(), all["suspended"].as_u64(), all["closed"].as_u64()), (Some(1), Some(1), Some(1)));
        let most = r["most_past_due"].as_array().unwrap();
        assert_eq!(most.len(), 2);
        assert_eq!((most[0]["name"].as_str(), most[0]["due"]["minor"].as_i64(), most[0]["oldest_month"].as_str()), (Some("Company b"), Some(2500), Some(m1.to_string().as_str())));
        assert_eq!((most[1]["name"].as_str(), most[1]["due"]["minor"].as_i64()), (Some("Company c"), Some(700)));
        // The page, as the server draws it: each currency on its own.
        let html = c.get(app.url("/operator")).header("Accept", "text/html").send().await.unwrap().text().await.unwrap();
        assert!(html.contains("$47.00") && html.contains("$32.00") && html.contains("Company b"), "{html}");
        assert!(html.contains("Now in Euro (EUR)") && html.contains("\u{20ac}9.00"), "{html}");
    }

    async fn an_ended_months_figures_are_kept_and_added_up_again_after_a_run_or_a_void(app: TestApp) {
        use crate::invoicing::{account_with, millis};
        use tally_core::billing::BillingMonth;
        app.clock.set(millis(2026, 12, 15));
        app.seed_operator(OperatorRole::Finance).await;
        let c = TestApp::new_client();
        enrolled(&app, &c, "finance@seller.test").await;
        let october = BillingMonth::new(2026, 10).unwrap();
        let invoiced_in_october = || {
            let (app, c) = (&app, c.clone());
            async move {
                let r = json_of(app.call(&c, "operator/revenue", &[]).await).await;
                let oct = r["currencies"][0]["months"].as_array().unwrap().iter().find(|m| m["month"] == "2026-10").unwrap().clone();
                (oct["invoiced_cents"].as_i64().unwrap(), oct["accounts_invoiced"].as_u64().unwrap())
            }
        };
        let kept = || {
            let app = &app;
            async move {
                sqlx::query_as::<_, (i64, Option<i64>, Option<String>)>("SELECT changes, computed_changes, figures_json FROM invoice_month_figures WHERE month = '2026-10'")
                    .fetch_optional(app.db.pool()).await.unwrap()
                    .map(|(n, computed, json)| {
                        let cents = json.and_then(|j| serde_json::from_str::<Value>(&j).ok()).and_then(|v| v["Usd"]["invoiced_cents"].as_i64()).unwrap_or(0);
                        (n, computed, cents)
                    })
            }
        };
        // 15 users from October 5th: $25.00 for October, kept once added up.
        account_with(&app, "a", 15, Some("tok_sandbox_paying")).await;
        app.services.billing_run.run_month(october).await.unwrap();
        assert_eq!(invoiced_in_october().await, (2500, 1));
        let (changes, computed, cents) = kept().await.expect("October's figures are kept");
        assert_eq!((computed, cents), (Some(changes), 2500));
        assert_eq!(invoiced_in_october().await, (2500, 1), "read back as kept");

        // A run that catches up on an account October missed adds it up again.
        let b = account_with(&app, "b", 15, None).await;
        app.services.billing_run.run_month(october).await.unwrap();
        assert_eq!(invoiced_in_october().await, (5000, 2));
        // So does voiding one of October's invoices.
        let invoice: String = sqlx::query_scalar("SELECT id FROM invoices WHERE account_id = $1").bind(&b).fetch_one(app.db.pool()).await.unwrap();
        let res = app.call(&c, "operator/invoices/void", &[("account_id", b.as_str()), ("invoice_id", invoice.as_str()), ("reason", "Billed by mistake")]).await;
        assert_eq!(res.status(), 200, "{:?}", res.text().await);
        assert_eq!(invoiced_in_october().await, (2500, 1));
        let (changes, computed, _) = kept().await.unwrap();
        assert_eq!(computed, Some(changes));
    }
}
