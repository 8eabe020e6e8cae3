//! The REST API for the seller's systems (issue 32): keys made by the Owner, shown once and
//! revocable; every endpoint refused without its scope; accounts and their users through it,
//! in RFC 9457 problems when refused, every change audited as done by the key.

use reqwest::{Client, Method};
use serde_json::{json, Value};
use tally_core::operators::OperatorRole;

use tally_core::billing::BillingMonth;

use crate::{
    both_databases,
    helpers::TestApp,
    invoicing::{account_with, millis},
    operators::enrolled,
};

/// The Owner, signed in with a second step: their client.
async fn owner(app: &TestApp) -> Client {
    app.seed_operator(OperatorRole::Owner).await;
    let c = TestApp::new_client();
    enrolled(app, &c, "owner@seller.test").await;
    c
}

/// A key with `scopes` (their form names, `users_write`), made on the console.
pub(crate) async fn make_key(app: &TestApp, owner: &Client, name: &str, scopes: &[&str]) -> String {
    let mut form = vec![("name", name)];
    form.extend(scopes.iter().map(|s| (*s, "on")));
    let res = app.call(owner, "operator/api-keys/create", &form).await;
    assert_eq!(res.status(), 200, "{:?}", res.text().await);
    let made: Value = res.json().await.unwrap();
    made["key"].as_str().unwrap().to_owned()
}

pub(crate) async fn api(
    app: &TestApp,
    key: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value, String) {
    let mut req = app
        .client
        .request(method, app.url(path))
        .header("Authorization", format!("Bearer {key}"));
    if let Some(body) = body {
        req = req.json(&body);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let kind = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::Null),
        kind,
    )
}

fn new_account(company: &str, email: &str) -> Value {
    json!({"company_name": company, "administrator": {"first_name": "Ada", "last_name": "Byron", "email": email}})
}

both_databases! {
    async fn a_key_is_shown_once_listed_by_its_prefix_and_refused_once_revoked(app: TestApp) {
        let owner = owner(&app).await;
        // Support may not see the keys.
        app.seed_operator(OperatorRole::Support).await;
        let support = TestApp::new_client();
        enrolled(&app, &support, "support@seller.test").await;
        assert_eq!(app.call(&support, "operator/api-keys/list", &[]).await.status(), 403);
        assert_eq!(app.call(&support, "operator/api-keys/create", &[("name", "X"), ("users_read", "on")]).await.status(), 403);
        // A name and a scope, or their messages.
        let res = app.call(&owner, "operator/api-keys/create", &[("name", " ")]).await;
        assert_eq!(res.status(), 422);
        let refused: Value = res.json().await.unwrap();
        assert_eq!(refused["Validation"]["scopes"], "Choose at least one scope.");
        let key = make_key(&app, &owner, "CRM sync", &["accounts_read", "users_write"]).await;
        assert!(key.starts_with("tly_") && key.len() == 36, "{key}");
        let list: Value = app.call(&owner, "operator/api-keys/list", &[]).await.json().await.unwrap();
        assert_eq!(list[0]["name"], "CRM sync");
        assert_eq!(list[0]["visible"], &key[..12]);
        assert_eq!(list[0]["scopes"], json!(["AccountsRead", "UsersWrite"]));
        assert!(!list.to_string().contains(&key), "the key is never listed");
        let stored: String = sqlx::query_scalar("SELECT key_hash FROM api_keys").fetch_one(app.db.pool()).await.unwrap();
        assert!(!stored.contains(&key[4..]), "only a hash is kept");
        // It works, and its use is noted.
        let (status, page, _) = api(&app, &key, Method::GET, "/v1/accounts", None).await;
        assert_eq!((status, page["data"].as_array().map(Vec::len)), (200, Some(0)));
        let list: Value = app.call(&owner, "operator/api-keys/list", &[]).await.json().await.unwrap();
        assert!(list[0]["last_used_at"].is_i64());
        // Without a key, with a wrong one: 401 problems.
        let res = app.client.get(app.url("/v1/accounts")).send().await.unwrap();
        assert_eq!(res.status(), 401);
        assert_eq!(res.headers()["content-type"], "application/problem+json");
        let wrong = format!("tly_{}", "A".repeat(32));
        let (status, problem, kind) = api(&app, &wrong, Method::GET, "/v1/accounts", None).await;
        assert_eq!((status, kind.as_str()), (401, "application/problem+json"));
        assert_eq!(problem["type"], "urn:tally:problem:unauthenticated");
        assert_eq!(problem["status"], 401);
        // Revoked: refused from then on; the seller's log has both.
        let id = list[0]["id"].as_str().unwrap().to_owned();
        assert_eq!(app.call(&owner, "operator/api-keys/revoke", &[("key_id", &id)]).await.status(), 200);
        assert_eq!(api(&app, &key, Method::GET, "/v1/accounts", None).await.0, 401);
        let kinds: Vec<String> = sqlx::query_scalar("SELECT kind FROM audit_events WHERE kind LIKE 'api_key%' ORDER BY at, kind")
            .fetch_all(app.db.pool()).await.unwrap();
        assert_eq!(kinds, ["api_key_created", "api_key_revoked"]);
        // The document is there for anyone to read, and unknown paths are problems too.
        let doc: Value = app.client.get(app.url("/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        assert!(doc["paths"]["/v1/accounts/{account_id}/users/{user_id}"]["patch"].is_object());
        assert_eq!(api(&app, &wrong, Method::GET, "/v1/nothing-here", None).await.2, "application/problem+json");
    }

    async fn every_endpoint_needs_its_scope(app: TestApp) {
        let owner = owner(&app).await;
        let scopes = ["accounts_read", "accounts_write", "users_read", "users_write", "invoices_read", "credit_notes_write"];
        let mut keys = Vec::new();
        for scope in scopes {
            keys.push((scope, make_key(&app, &owner, scope, &[scope]).await));
        }
        let all = make_key(&app, &owner, "all", &scopes).await;
        let (status, account, _) = api(&app, &all, Method::POST, "/v1/accounts", Some(new_account("Acme", "ada@acme.test"))).await;
        assert_eq!(status, 201, "{account}");
        let id = account["id"].as_str().unwrap().to_owned();
        let (status, user, _) = api(&app, &all, Method::POST, &format!("/v1/accounts/{id}/users"), Some(json!({"first_name": "G", "last_name": "H", "email": "g@acme.test"}))).await;
        assert_eq!(status, 201, "{user}");
        let user = user["id"].as_str().unwrap().to_owned();
        let endpoints: Vec<(Method, String, Option<Value>, &str)> = vec![
            (Method::GET, "/v1/accounts".into(), None, "accounts_read"),
            (Method::POST, "/v1/accounts".into(), Some(new_account("Initech", "bob@initech.test")), "accounts_write"),
            (Method::GET, format!("/v1/accounts/{id}"), None, "accounts_read"),
            (Method::PUT, format!("/v1/accounts/{id}/plan"), Some(json!({"price_per_user": "6.00"})), "accounts_write"),
            (Method::GET, format!("/v1/accounts/{id}/usage"), None, "accounts_read"),
            (Method::GET, format!("/v1/accounts/{id}/users"), None, "users_read"),
            (Method::POST, format!("/v1/accounts/{id}/users"), Some(json!({"first_name": "A", "last_name": "B", "email": "ab@acme.test"})), "users_write"),
            (Method::PUT, format!("/v1/accounts/{id}/users"), Some(json!({"users": [{"first_name": "G", "last_name": "H", "email": "g@acme.test"}]})), "users_write"),
            (Method::GET, format!("/v1/accounts/{id}/users/{user}"), None, "users_read"),
            (Method::PATCH, format!("/v1/accounts/{id}/users/{user}"), Some(json!({"first_name": "Grace"})), "users_write"),
            (Method::POST, format!("/v1/accounts/{id}/suspend"), Some(json!({"reason": "Unpaid."})), "accounts_write"),
            (Method::POST, format!("/v1/accounts/{id}/reactivate"), None, "accounts_write"),
            (Method::DELETE, format!("/v1/accounts/{id}/users/{user}"), None, "users_write"),
            (Method::POST, format!("/v1/accounts/{id}/close"), Some(json!({"reason": "Left."})), "accounts_write"),
        ];
        let check = |endpoints: Vec<(Method, String, Option<Value>, &'static str)>| {
            let (app, keys) = (&app, &keys);
            async move {
                for (method, path, body, needed) in endpoints {
                    for (scope, key) in keys {
                        let (status, problem, _) = api(app, key, method.clone(), &path, body.clone()).await;
                        if scope == &needed {
                            assert!(status < 300, "{method} {path} with {scope}: {status} {problem}");
                        } else {
                            assert_eq!(status, 403, "{method} {path} with {scope}");
                            assert_eq!(problem["type"], "urn:tally:problem:missing-scope");
                        }
                    }
                }
            }
        };
        check(endpoints).await;
        // Closing made the account's last invoice.
        let invoice: String = sqlx::query_scalar("SELECT id FROM invoices WHERE account_id = $1").bind(&id).fetch_one(app.db.pool()).await.unwrap();
        check(vec![
            (Method::GET, format!("/v1/accounts/{id}/invoices"), None, "invoices_read"),
            (Method::GET, format!("/v1/accounts/{id}/invoices/{invoice}"), None, "invoices_read"),
            (Method::GET, format!("/v1/accounts/{id}/invoices/{invoice}/pdf"), None, "invoices_read"),
        ])
        .await;
        // A paid invoice, credited a dollar each time the right key asks.
        app.clock.set(millis(2026, 11, 1) + 3_600_000);
        let paid = account_with(&app, "paid", 12, Some("tok_sandbox_paid")).await;
        app.services.billing_run.run_month(BillingMonth::new(2026, 10).unwrap()).await.unwrap();
        let invoice: String = sqlx::query_scalar("SELECT id FROM invoices WHERE account_id = $1").bind(&paid).fetch_one(app.db.pool()).await.unwrap();
        check(vec![(
            Method::POST,
            format!("/v1/accounts/{paid}/invoices/{invoice}/credit_notes"),
            Some(json!({"amount": "1.00", "reason": "Goodwill"})),
            "credit_notes_write",
        )])
        .await;
        let note: String = sqlx::query_scalar("SELECT id FROM credit_notes WHERE account_id = $1").bind(&paid).fetch_one(app.db.pool()).await.unwrap();
        check(vec![
            (Method::GET, format!("/v1/accounts/{paid}/credit_notes"), None, "invoices_read"),
            (Method::GET, format!("/v1/accounts/{paid}/credit_notes/{note}"), None, "invoices_read"),
            (Method::GET, format!("/v1/accounts/{paid}/credit_notes/{note}/pdf"), None, "invoices_read"),
        ])
        .await;
    }

    async fn credit_notes_through_the_api(app: TestApp) {
        app.clock.set(millis(2026, 11, 1) + 3_600_000);
        let card = account_with(&app, "card", 12, Some("tok_sandbox_card")).await;
        let other = account_with(&app, "other", 12, Some("tok_sandbox_other")).await;
        app.services.billing_run.run_month(BillingMonth::new(2026, 10).unwrap()).await.unwrap();
        let invoice_of = |account: String| {
            let pool = app.db.pool().clone();
            async move {
                sqlx::query_scalar::<_, String>("SELECT id FROM invoices WHERE account_id = $1").bind(account).fetch_one(&pool).await.unwrap()
            }
        };
        let (inv, theirs) = (invoice_of(card.clone()).await, invoice_of(other.clone()).await);
        let owner = owner(&app).await;
        let key = make_key(&app, &owner, "Finance", &["invoices_read", "credit_notes_write"]).await;
        let create = format!("/v1/accounts/{card}/invoices/{inv}/credit_notes");

        // Refused beside its fields, in the console's words.
        let (status, problem, kind) = api(&app, &key, Method::POST, &create, Some(json!({"amount": "10.01", "reason": " "}))).await;
        assert_eq!((status, kind.as_str()), (422, "application/problem+json"), "{problem}");
        let errors = problem["errors"].as_array().unwrap();
        assert!(errors.contains(&json!({"field": "amount", "detail": "At most $10.00 is left to credit on this invoice."})), "{problem}");
        assert!(errors.iter().any(|e| e["field"] == "reason"), "{problem}");
        // Part of it, refunded to the card; then the rest, without an amount.
        let (status, note, _) = api(&app, &key, Method::POST, &create, Some(json!({"amount": "4.00", "reason": "Outage on Oct 9"}))).await;
        assert_eq!(status, 201, "{note}");
        assert_eq!((note["number"].as_str(), note["amount"].as_str(), note["settlement"].as_str()), (Some("CN-2026-000001"), Some("4.00"), Some("refunded")));
        assert_eq!(note["invoice_id"], inv);
        let (status, rest, _) = api(&app, &key, Method::POST, &create, Some(json!({"reason": "Closing the month"}))).await;
        assert_eq!((status, rest["amount"].as_str()), (201, Some("6.00")), "{rest}");
        let (status, problem, _) = api(&app, &key, Method::POST, &create, Some(json!({"reason": "Again"}))).await;
        assert_eq!(status, 409, "{problem}");
        // Audited as the key's.
        let by: Vec<String> = sqlx::query_scalar("SELECT actor_email FROM audit_events WHERE account_id = $1 AND kind = 'credit_note_issued'").bind(&card).fetch_all(app.db.pool()).await.unwrap();
        assert_eq!(by.len(), 2);
        assert!(by.iter().all(|b| b.starts_with("API key tly_") && b.contains("\"Finance\"")), "{by:?}");

        // Listed newest first, a page at a time; read one by one and as a PDF.
        let (_, first, _) = api(&app, &key, Method::GET, &format!("/v1/accounts/{card}/credit_notes?limit=1"), None).await;
        assert_eq!((first["data"][0]["number"].as_str(), first["has_more"].as_bool()), (Some("CN-2026-000002"), Some(true)));
        let cursor = first["next_cursor"].as_str().unwrap();
        let (_, second, _) = api(&app, &key, Method::GET, &format!("/v1/accounts/{card}/credit_notes?limit=1&cursor={cursor}"), None).await;
        assert_eq!((second["data"][0]["number"].as_str(), second["has_more"].as_bool()), (Some("CN-2026-000001"), Some(false)));
        let id = note["id"].as_str().unwrap();
        let (status, one, _) = api(&app, &key, Method::GET, &format!("/v1/accounts/{card}/credit_notes/{id}"), None).await;
        assert_eq!((status, one["reason"].as_str()), (200, Some("Outage on Oct 9")));
        let pdf = app.client.get(app.url(&format!("/v1/accounts/{card}/credit_notes/{id}/pdf"))).bearer_auth(&key).send().await.unwrap();
        assert_eq!(pdf.headers()["content-type"], "application/pdf");
        assert!(pdf.bytes().await.unwrap().starts_with(b"%PDF"));

        // Another account's invoice or note is not found through this one.
        let (status, ..) = api(&app, &key, Method::POST, &format!("/v1/accounts/{card}/invoices/{theirs}/credit_notes"), Some(json!({"reason": "x"}))).await;
        assert_eq!(status, 404);
        let (status, ..) = api(&app, &key, Method::GET, &format!("/v1/accounts/{other}/credit_notes/{id}"), None).await;
        assert_eq!(status, 404);
        let (_, none, _) = api(&app, &key, Method::GET, &format!("/v1/accounts/{other}/credit_notes"), None).await;
        assert_eq!(none["data"], json!([]));
    }

    async fn accounts_and_their_users_through_the_api(app: TestApp) {
        let owner = owner(&app).await;
        let key = make_key(&app, &owner, "CRM", &["accounts_read", "accounts_write", "users_read", "users_write"]).await;
        // Refused field by field, in the pages' words.
        let bad = json!({"company_name": "", "administrator": {"first_name": "Ada", "last_name": "Byron", "email": "not-an-address"},
                         "plan": {"price_per_user": "5.00", "billing_day": 31}});
        let (status, problem, kind) = api(&app, &key, Method::POST, "/v1/accounts", Some(bad)).await;
        assert_eq!((status, kind.as_str()), (422, "application/problem+json"));
        let fields: Vec<&str> = problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["administrator.email", "company_name", "plan.billing_day"]);
        assert_eq!(problem["errors"][2]["detail"], "Choose a day from 1 to 28: every month has them.");
        let (status, _, _) = api(&app, &key, Method::POST, "/v1/accounts", Some(json!({"company_name": 5}))).await;
        assert_eq!(status, 400, "not this shape");
        // Made, its administrator invited; listed a page at a time.
        let mut ids = Vec::new();
        for (company, email) in [("Acme", "ada@acme.test"), ("Globex", "hank@globex.test")] {
            let (status, account, _) = api(&app, &key, Method::POST, "/v1/accounts", Some(new_account(company, email))).await;
            assert_eq!((status, account["status"].as_str(), account["plan"]["price_per_user"].as_str()), (201, Some("active"), Some("5.00")));
            ids.push(account["id"].as_str().unwrap().to_owned());
        }
        app.services.ctx.outbox.deliver_due().await.unwrap();
        assert!(app.outbox_messages().iter().any(|m| m.contains("To: hank@globex.test")), "invited");
        let (_, first, _) = api(&app, &key, Method::GET, "/v1/accounts?limit=1", None).await;
        assert_eq!((first["data"][0]["name"].as_str(), first["has_more"].as_bool()), (Some("Acme"), Some(true)));
        let cursor = first["next_cursor"].as_str().unwrap();
        let (_, second, _) = api(&app, &key, Method::GET, &format!("/v1/accounts?limit=1&cursor={cursor}"), None).await;
        assert_eq!((second["data"][0]["name"].as_str(), second["has_more"].as_bool(), second["next_cursor"].is_null()), (Some("Globex"), Some(false), true));
        let (status, problem, _) = api(&app, &key, Method::GET, "/v1/accounts?limit=500", None).await;
        assert_eq!((status, problem["errors"][0]["field"].as_str()), (422, Some("limit")));
        // A plan from next month.
        let (acme, globex) = (ids[0].clone(), ids[1].clone());
        let (status, account, _) = api(&app, &key, Method::PUT, &format!("/v1/accounts/{acme}/plan"), Some(json!({"price_per_user": "7.50", "free_users": 3, "billing_day": 15}))).await;
        assert_eq!(status, 200);
        assert_eq!((account["plan"]["price_per_user"].as_str(), account["next_plan"]["price_per_user"].as_str(), account["next_plan"]["billing_day"].as_u64()), (Some("5.00"), Some("7.50"), Some(15)));
        // In another currency, with its own minor digits (none for the yen); an account never
        // invoiced may change it.
        let (status, problem, _) = api(&app, &key, Method::PUT, &format!("/v1/accounts/{globex}/plan"), Some(json!({"currency": "JPY", "price_per_user": "500.50"}))).await;
        assert_eq!((status, problem["errors"][0]["field"].as_str()), (422, Some("price_per_user")));
        let (status, account, _) = api(&app, &key, Method::PUT, &format!("/v1/accounts/{globex}/plan"), Some(json!({"currency": "JPY", "price_per_user": "500"}))).await;
        assert_eq!(status, 200);
        assert_eq!((account["plan"]["currency"].as_str(), account["next_plan"]["currency"].as_str(), account["next_plan"]["price_per_user"].as_str()), (Some("USD"), Some("JPY"), Some("500")));
        // Users with the seller's ids.
        let users = format!("/v1/accounts/{acme}/users");
        let (status, grace, _) = api(&app, &key, Method::POST, &users, Some(json!({"first_name": "Grace", "last_name": "Hopper", "email": "grace@acme.test", "external_id": "crm-1"}))).await;
        assert_eq!((status, grace["external_id"].as_str()), (201, Some("crm-1")));
        let (status, problem, _) = api(&app, &key, Method::POST, &users, Some(json!({"first_name": "G", "last_name": "H", "email": "other@acme.test", "external_id": "crm-1"}))).await;
        assert_eq!((status, problem["errors"][0]["field"].as_str()), (422, Some("external_id")));
        let (status, problem, _) = api(&app, &key, Method::POST, &users, Some(json!({"first_name": "G", "last_name": "H", "email": "GRACE@acme.test"}))).await;
        assert_eq!((status, problem["errors"][0]["detail"].as_str()), (422, Some("A user with this email already exists.")));
        let (status, alan, _) = api(&app, &key, Method::POST, &users, Some(json!({"first_name": "Alan", "last_name": "Turing", "email": "alan@acme.test", "external_id": "crm-2"}))).await;
        assert_eq!(status, 201);
        let (grace_id, alan_id) = (grace["id"].as_str().unwrap().to_owned(), alan["id"].as_str().unwrap().to_owned());
        let (status, changed, _) = api(&app, &key, Method::PATCH, &format!("{users}/{grace_id}"), Some(json!({"last_name": "Brewster Hopper", "external_id": null}))).await;
        assert_eq!((status, changed["last_name"].as_str(), changed["external_id"].is_null(), changed["email"].as_str()), (200, Some("Brewster Hopper"), true, Some("grace@acme.test")));
        let (status, problem, _) = api(&app, &key, Method::PATCH, &format!("{users}/{grace_id}"), Some(json!({"external_id": "crm-2"}))).await;
        assert_eq!((status, problem["errors"][0]["field"].as_str()), (422, Some("external_id")));
        let (_, page, _) = api(&app, &key, Method::GET, &users, None).await;
        assert_eq!(page["data"].as_array().unwrap().len(), 2);
        // Another account's user is not found through this one.
        let (status, _, _) = api(&app, &key, Method::GET, &format!("/v1/accounts/{globex}/users/{grace_id}"), None).await;
        assert_eq!(status, 404);
        let (status, _, _) = api(&app, &key, Method::DELETE, &format!("/v1/accounts/{globex}/users/{grace_id}"), None).await;
        assert_eq!(status, 404);
        // Deleted a minute later: the seat ends, the month's peak stays.
        app.clock.advance_minutes(1);
        let (status, _, _) = api(&app, &key, Method::DELETE, &format!("{users}/{alan_id}"), None).await;
        assert_eq!(status, 204);
        let (_, usage, _) = api(&app, &key, Method::GET, &format!("/v1/accounts/{acme}/usage"), None).await;
        assert_eq!((usage["users_now"].as_u64(), usage["peak"].as_u64(), usage["estimate"].as_str()), (Some(1), Some(2), Some("0.00")));
        // Suspended, reactivated, closed; a closed account's users do not change.
        let (status, problem, _) = api(&app, &key, Method::POST, &format!("/v1/accounts/{acme}/suspend"), Some(json!({"reason": ""}))).await;
        assert_eq!((status, problem["errors"][0]["field"].as_str()), (422, Some("reason")));
        let (_, suspended, _) = api(&app, &key, Method::POST, &format!("/v1/accounts/{acme}/suspend"), Some(json!({"reason": "Unpaid since March."}))).await;
        assert_eq!((suspended["status"].as_str(), suspended["status_reason"].as_str()), (Some("suspended"), Some("Unpaid since March.")));
        let (status, problem, _) = api(&app, &key, Method::POST, &format!("/v1/accounts/{acme}/suspend"), Some(json!({"reason": "Again."}))).await;
        assert_eq!((status, problem["type"].as_str()), (409, Some("urn:tally:problem:conflict")));
        let (_, active, _) = api(&app, &key, Method::POST, &format!("/v1/accounts/{acme}/reactivate"), None).await;
        assert_eq!(active["status"], "active");
        let (_, closed, _) = api(&app, &key, Method::POST, &format!("/v1/accounts/{acme}/close"), Some(json!({"reason": "Left."}))).await;
        assert_eq!(closed["status"], "closed");
        let (status, problem, _) = api(&app, &key, Method::POST, &users, Some(json!({"first_name": "Late", "last_name": "Comer", "email": "late@acme.test"}))).await;
        assert_eq!((status, problem["detail"].as_str()), (409, Some("This account is closed: it can be read, not changed.")));
        // Its last invoice, made at closing, read through the API, and its PDF.
        let reader = make_key(&app, &owner, "Books", &["invoices_read"]).await;
        let (status, invoices, _) = api(&app, &reader, Method::GET, &format!("/v1/accounts/{acme}/invoices"), None).await;
        assert_eq!((status, invoices["data"].as_array().map(Vec::len), invoices["has_more"].as_bool()), (200, Some(1), Some(false)));
        let invoice = &invoices["data"][0];
        assert_eq!((invoice["peak_users"].as_u64(), invoice["currency"].as_str()), (Some(2), Some("USD")));
        let id = invoice["id"].as_str().unwrap();
        let (status, one, _) = api(&app, &reader, Method::GET, &format!("/v1/accounts/{acme}/invoices/{id}"), None).await;
        assert_eq!((status, &one), (200, invoice));
        let res = app.client.get(app.url(&format!("/v1/accounts/{acme}/invoices/{id}/pdf"))).header("Authorization", format!("Bearer {reader}")).send().await.unwrap();
        assert_eq!((res.status().as_u16(), res.headers()["content-type"].to_str().unwrap()), (200, "application/pdf"));
        assert!(res.bytes().await.unwrap().starts_with(b"%PDF"));
        assert_eq!(api(&app, &reader, Method::GET, &format!("/v1/accounts/{globex}/invoices/{id}"), None).await.0, 404, "not through another account");
        assert_eq!(api(&app, &reader, Method::GET, &format!("/v1/accounts/{acme}/invoices?cursor=zz"), None).await.0, 422);
        // Every change in the account's log, as done by the key.
        let by: Vec<(String, String)> = sqlx::query_as("SELECT kind, actor_email FROM audit_events WHERE account_id = $1 AND kind IN ('user_created', 'user_deleted', 'account_suspended', 'plan_changed') ORDER BY at, kind")
            .bind(&acme).fetch_all(app.db.pool()).await.unwrap();
        assert_eq!(by.len(), 5, "{by:?}");
        let visible = &key[..12];
        assert!(by.iter().all(|(_, who)| who == &format!("API key {visible} \"CRM\" (the seller's staff)")), "{by:?}");
    }

    async fn a_sync_makes_the_users_exactly_the_list_at_one_instant(app: TestApp) {
        let owner = owner(&app).await;
        let key = make_key(&app, &owner, "CRM", &["accounts_read", "accounts_write", "users_read", "users_write"]).await;
        let (_, account, _) = api(&app, &key, Method::POST, "/v1/accounts", Some(new_account("Acme", "ada@acme.test"))).await;
        let acme = account["id"].as_str().unwrap().to_owned();
        let users = format!("/v1/accounts/{acme}/users");
        for (first, email, external) in [("Grace", "grace@acme.test", Some("crm-1")), ("Alan", "alan@acme.test", None), ("Edsger", "edsger@acme.test", Some("crm-3"))] {
            let (status, _, _) = api(&app, &key, Method::POST, &users, Some(json!({"first_name": first, "last_name": "X", "email": email, "external_id": external}))).await;
            assert_eq!(status, 201);
        }
        app.clock.advance_minutes(1);
        // Each person once.
        let twice = json!({"users": [
            {"first_name": "A", "last_name": "B", "email": "a@acme.test"},
            {"first_name": "A", "last_name": "B", "email": "A@acme.test"},
            {"first_name": "C", "last_name": "D", "email": "nope"}]});
        let (status, problem, _) = api(&app, &key, Method::PUT, &users, Some(twice)).await;
        let fields: Vec<&str> = problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert_eq!((status, fields), (422, vec!["users[1].email", "users[2].email"]));
        // Grace kept by her id with a new name, Alan by his address, Edsger gone, two new.
        let list = json!({"users": [
            {"first_name": "Grace", "last_name": "Hopper", "email": "grace@acme.test", "external_id": "crm-1"},
            {"first_name": "Alan", "last_name": "X", "email": "alan@acme.test"},
            {"first_name": "Ada", "last_name": "Lovelace", "email": "ada.l@acme.test", "external_id": "crm-4"},
            {"first_name": "Barbara", "last_name": "Liskov", "email": "barbara@acme.test"}]});
        let (status, report, _) = api(&app, &key, Method::PUT, &users, Some(list.clone())).await;
        assert_eq!((status, report), (200, json!({"added": 2, "changed": 1, "removed": 1, "users_now": 4})));
        let (_, page, _) = api(&app, &key, Method::GET, &format!("{users}?limit=100"), None).await;
        let mut emails: Vec<&str> = page["data"].as_array().unwrap().iter().map(|u| u["email"].as_str().unwrap()).collect();
        emails.sort();
        assert_eq!(emails, ["ada.l@acme.test", "alan@acme.test", "barbara@acme.test", "grace@acme.test"]);
        // One removed and two added at one instant: the peak is 4, never 5.
        let (_, usage, _) = api(&app, &key, Method::GET, &format!("/v1/accounts/{acme}/usage"), None).await;
        assert_eq!((usage["users_now"].as_u64(), usage["peak"].as_u64()), (Some(4), Some(4)));
        // The same list again changes nothing.
        let (_, report, _) = api(&app, &key, Method::PUT, &users, Some(list)).await;
        assert_eq!(report, json!({"added": 0, "changed": 0, "removed": 0, "users_now": 4}));
        // Ten thousand users in one sync, then half of them replaced.
        let many = |from: usize| json!({"users": (from..from + 10_000).map(|i| json!({"first_name": "U", "last_name": format!("{i}"), "email": format!("u{i}@acme.test"), "external_id": format!("crm-u{i}")})).collect::<Vec<_>>()});
        let (status, report, _) = api(&app, &key, Method::PUT, &users, Some(many(0))).await;
        assert_eq!((status, report["added"].as_u64(), report["removed"].as_u64()), (200, Some(10_000), Some(4)), "{report}");
        app.clock.advance_minutes(1);
        let (_, report, _) = api(&app, &key, Method::PUT, &users, Some(many(5_000))).await;
        assert_eq!(report, json!({"added": 5000, "changed": 0, "removed": 5000, "users_now": 10000}));
        let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE account_id = $1").bind(&acme).fetch_one(app.db.pool()).await.unwrap();
        assert_eq!(stored, 10_000);
        let (_, usage, _) = api(&app, &key, Method::GET, &format!("/v1/accounts/{acme}/usage"), None).await;
        assert_eq!((usage["users_now"].as_u64(), usage["peak"].as_u64()), (Some(10_000), Some(10_000)));
        let synced: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE account_id = $1 AND kind = 'users_synced'").bind(&acme).fetch_one(app.db.pool()).await.unwrap();
        assert_eq!(synced, 4);
    }

    async fn an_idempotency_key_gets_the_first_answer_again_and_another_request_is_refused(app: TestApp) {
        let owner = owner(&app).await;
        let key = make_key(&app, &owner, "CRM", &["accounts_read", "accounts_write"]).await;
        let post = |idem: &'static str, body: Value| {
            let (app, key) = (&app, key.clone());
            async move {
                let res = app.client.post(app.url("/v1/accounts")).header("Authorization", format!("Bearer {key}"))
                    .header("Idempotency-Key", idem).json(&body).send().await.unwrap();
                let replayed = res.headers().contains_key("idempotent-replayed");
                (res.status().as_u16(), replayed, res.json::<Value>().await.unwrap())
            }
        };
        let count = |name: &'static str| {
            let app = &app;
            async move {
                sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM accounts WHERE name = $1").bind(name).fetch_one(app.db.pool()).await.unwrap()
            }
        };
        // The same key and request twice: one account, the same answer.
        let (status, replayed, first) = post("order-1", new_account("Acme", "ada@acme.test")).await;
        assert_eq!((status, replayed), (201, false), "{first}");
        let (status, replayed, again) = post("order-1", new_account("Acme", "ada@acme.test")).await;
        assert_eq!((status, replayed, &again), (201, true, &first));
        assert_eq!(count("Acme").await, 1);
        // The same key with another request: refused, nothing made.
        let (status, _, problem) = post("order-1", new_account("Initech", "bob@initech.test")).await;
        assert_eq!((status, problem["type"].as_str()), (422, Some("urn:tally:problem:idempotency-key-reused")));
        assert_eq!(count("Initech").await, 0);
        // A refusal is the first answer too, and comes back as it was.
        let (status, _, refused) = post("order-2", new_account("Globex", "not-an-address")).await;
        assert_eq!(status, 422);
        let (status, replayed, again) = post("order-2", new_account("Globex", "not-an-address")).await;
        assert_eq!((status, replayed, again), (422, true, refused));
        // Two at once: one account; the other is told the first is in progress, or gets its answer.
        let (a, b) = tokio::join!(post("order-3", new_account("Hooli", "gavin@hooli.test")), post("order-3", new_account("Hooli", "gavin@hooli.test")));
        let mut statuses = [a.0, b.0];
        statuses.sort();
        assert!(statuses == [201, 201] || statuses == [201, 409], "{statuses:?}");
        assert_eq!(count("Hooli").await, 1);
        // A day later the key is forgotten, and free again.
        app.clock.advance_minutes(24 * 60 + 1);
        let (status, replayed, _) = post("order-1", new_account("Acme Two", "ada2@acme.test")).await;
        assert_eq!((status, replayed), (201, false));
    }
}

/// A key beyond its rate gets 429 with `Retry-After`; every answer says what is left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_over_its_rate_waits() {
    let app = TestApp::spawn_with(
        tally_services::platform::db::Backend::Sqlite,
        &[("TALLY_API_RATE_LIMIT", "2")],
    )
    .await;
    let owner = owner(&app).await;
    let key = make_key(&app, &owner, "Busy", &["accounts_read"]).await;
    let other = make_key(&app, &owner, "Calm", &["accounts_read"]).await;
    let get = |key: String| {
        let app = &app;
        async move {
            app.client
                .get(app.url("/v1/accounts"))
                .header("Authorization", format!("Bearer {key}"))
                .send()
                .await
                .unwrap()
        }
    };
    // Twice the rate at once, then refused.
    for left in (0..4).rev() {
        let res = get(key.clone()).await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["ratelimit-policy"], "\"per-key\";q=2;w=1");
        assert_eq!(
            res.headers()["ratelimit"],
            format!("\"per-key\";r={left};t=1").as_str()
        );
    }
    let res = get(key.clone()).await;
    assert_eq!(res.status(), 429);
    assert_eq!(res.headers()["retry-after"], "1");
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    // Another key has its own.
    assert_eq!(get(other).await.status(), 200);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(get(key).await.status(), 200, "refilled");
}
