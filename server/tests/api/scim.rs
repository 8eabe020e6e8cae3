//! SCIM 2.0 provisioning (issue 32): an account's administrators who manage users make a token
//! (shown once, kept hashed, revocable; refused to a role without Manage users); the identity
//! provider with it creates, reads, lists with filters and pages, replaces, patches and
//! deletes the account's users — the Users page's own — and reaches no other account's (404).
//! A deactivation ends the user's seat from that moment, so the month's peak counts exactly.
//! `scim2-tester` checks the protocol itself against a release server (scripts/api_checks.sh).

use reqwest::Method;
use serde_json::{json, Value};
use tally_core::{
    billing::{daily_peaks, BillingMonth},
    roles::Role,
};

use crate::{both_databases, helpers::TestApp, invoicing::millis};

/// A token made on the Users page by `admin` (an admin id of `seed_account`).
pub(crate) async fn token_of(app: &TestApp, admin: &str) -> String {
    let cookie = app.session_cookie_for(admin).await;
    let res = app.call_as(&cookie, "users/scim-tokens/create", &[]).await;
    assert_eq!(res.status(), 200, "{:?}", res.text().await);
    let made: Value = res.json().await.unwrap();
    made["token"].as_str().unwrap().to_owned()
}

pub(crate) async fn scim(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value, String) {
    let mut req = app
        .client
        .request(method, app.url(&format!("/scim/v2{path}")))
        .header("Authorization", format!("Bearer {token}"));
    if let Some(body) = body {
        req = req
            .header("Content-Type", "application/scim+json")
            .body(body.to_string());
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

pub(crate) fn user(user_name: &str, email: &str, external: Option<&str>, active: bool) -> Value {
    let mut u = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "name": {"givenName": "Grace", "familyName": "Hopper"},
        "emails": [{"value": email, "type": "work", "primary": true}],
        "active": active,
        "title": "Rear admiral",
    });
    if let Some(x) = external {
        u["externalId"] = json!(x);
    }
    u
}

fn patch(ops: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})
}

/// The account's users now and this month's peak so far, from its count changes.
async fn seats(app: &TestApp, account: &str) -> (i64, u64) {
    let month = BillingMonth::new(2026, 11).unwrap();
    let changes = tally_services::directory::users::history_since(
        app.db.pool(),
        account,
        month.start_millis(),
    )
    .await
    .unwrap();
    let now: i64 = changes.iter().map(|c| c.delta).sum();
    let peak = daily_peaks(&changes, month, month.last_day())
        .into_iter()
        .max()
        .unwrap_or(0);
    (now, peak)
}

both_databases! {
    async fn a_token_reaches_its_own_accounts_users_only(app: TestApp) {
        app.clock.set(millis(2026, 11, 2));
        app.seed_account("acme", &[Role::AdministratorWithBilling, Role::ReadOnly]).await;
        app.seed_account("globex", &[Role::Administrator]).await;
        // Made by who manages users, shown once, kept as a hash; refused to a read-only role.
        let read_only = app.session_cookie_for("acme-read_only").await;
        assert_eq!(app.call_as(&read_only, "users/scim-tokens/create", &[]).await.status(), 403);
        assert_eq!(app.call_as(&read_only, "users/scim-tokens/list", &[]).await.status(), 403);
        let token = token_of(&app, "acme-admin_billing").await;
        let theirs = token_of(&app, "globex-admin").await;
        assert!(token.starts_with("scim_") && token.len() == 45, "{token}");
        let stored: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM scim_tokens").fetch_all(app.db.pool()).await.unwrap();
        assert!(stored.iter().all(|h| !h.contains(&token[5..])));
        let cookie = app.session_cookie_for("acme-admin_billing").await;
        let listed: Value = app.call_as(&cookie, "users/scim-tokens/list", &[]).await.json().await.unwrap();
        assert_eq!(listed["tokens"].as_array().unwrap().len(), 1, "only the account's own");
        assert_eq!(listed["tokens"][0]["visible"], &token[..13]);
        assert!(listed["base_url"].as_str().unwrap().ends_with("/scim/v2"));

        // Without a token, or with a wrong one: 401, as SCIM errors.
        let (status, error, kind) = scim(&app, "scim_nothing", Method::GET, "/Users", None).await;
        assert_eq!((status, kind.as_str()), (401, "application/scim+json"));
        assert_eq!(error["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error");

        // Created (the title is not kept, and ignored), read, found by each filter.
        let (status, grace, _) = scim(&app, &token, Method::POST, "/Users", Some(user("Grace.Hopper", "grace@acme.test", Some("00u1"), true))).await;
        assert_eq!(status, 201, "{grace}");
        let id = grace["id"].as_str().unwrap().to_owned();
        assert_eq!((grace["userName"].as_str(), grace["active"].as_bool(), grace["externalId"].as_str()), (Some("Grace.Hopper"), Some(true), Some("00u1")));
        assert!(grace["meta"]["location"].as_str().unwrap().ends_with(&format!("/scim/v2/Users/{id}")));
        for i in 0..4 {
            let (status, _, _) = scim(&app, &token, Method::POST, "/Users", Some(user(&format!("u{i}"), &format!("u{i}@acme.test"), None, i % 2 == 0))).await;
            assert_eq!(status, 201);
        }
        // The same userName in another case, address or externalId: 409 uniqueness.
        for dup in [user("grace.hopper", "g2@acme.test", None, true), user("g3", "Grace@acme.test", None, true), user("g4", "g4@acme.test", Some("00u1"), true)] {
            let (status, error, _) = scim(&app, &token, Method::POST, "/Users", Some(dup)).await;
            assert_eq!((status, error["scimType"].as_str()), (409, Some("uniqueness")), "{error}");
        }
        // Refused in the Users page's words, field by field.
        let (status, error, _) = scim(&app, &token, Method::POST, "/Users", Some(json!({"userName": "x", "name": {"givenName": "", "familyName": "Y"}, "emails": [{"value": "nope"}]}))).await;
        assert_eq!((status, error["scimType"].as_str()), (400, Some("invalidValue")));
        assert!(error["detail"].as_str().unwrap().contains("name.givenName"), "{error}");
        let find = |filter: &str| format!("/Users?filter={}", urlencoding(filter));
        for (filter, expected) in [
            ("userName eq \"GRACE.hopper\"", 1),
            ("externalId eq \"00u1\"", 1),
            ("externalId eq \"00U1\"", 0),
            ("emails.value eq \"u1@acme.test\"", 1),
            ("userName eq \"u2@acme.test\"", 0),
            ("active eq false", 2),
            ("active eq true", 3),
        ] {
            let (status, list, _) = scim(&app, &token, Method::GET, &find(filter), None).await;
            assert_eq!((status, list["totalResults"].as_u64()), (200, Some(expected)), "{filter}: {list}");
        }
        let (status, error, _) = scim(&app, &token, Method::GET, &find("title co \"x\""), None).await;
        assert_eq!((status, error["scimType"].as_str()), (400, Some("invalidFilter")));
        // Paged: startIndex counts from 1.
        let (_, page, _) = scim(&app, &token, Method::GET, "/Users?startIndex=2&count=2", None).await;
        assert_eq!((page["totalResults"].as_u64(), page["startIndex"].as_u64(), page["itemsPerPage"].as_u64()), (Some(5), Some(2), Some(2)));
        assert_eq!(page["Resources"][0]["userName"], "u0");

        // Another account's token finds none of them, and changes none.
        let (_, none, _) = scim(&app, &theirs, Method::GET, "/Users", None).await;
        assert_eq!(none["totalResults"], 0);
        for method in [Method::GET, Method::PUT, Method::PATCH, Method::DELETE] {
            let body = match method {
                Method::PUT => Some(user("x", "x@globex.test", None, true)),
                Method::PATCH => Some(patch(json!([{"op": "replace", "path": "active", "value": false}]))),
                _ => None,
            };
            let (status, _, _) = scim(&app, &theirs, method.clone(), &format!("/Users/{id}"), body).await;
            assert_eq!(status, 404, "{method}");
        }
        let (_, still, _) = scim(&app, &token, Method::GET, &format!("/Users/{id}"), None).await;
        assert_eq!(still["active"], true);

        // They are the Users page's users; the page marks the deactivated ones.
        let page: Value = app.call_as(&cookie, "users/list", &[("page", "1")]).await.json().await.unwrap();
        assert_eq!(page["total"], 5);
        assert_eq!(page["users"].as_array().unwrap().iter().filter(|u| u["deactivated"] == true).count(), 2);

        // Replaced, then deleted.
        let (status, replaced, _) = scim(&app, &token, Method::PUT, &format!("/Users/{id}"), Some(json!({"userName": "ghopper", "name": {"givenName": "Grace", "familyName": "Hopper"}, "emails": [{"value": "grace@acme.test"}], "active": true}))).await;
        assert_eq!((status, replaced["userName"].as_str(), replaced.get("externalId")), (200, Some("ghopper"), None));
        let (status, _, _) = scim(&app, &token, Method::DELETE, &format!("/Users/{id}"), None).await;
        assert_eq!(status, 204);
        let (status, _, _) = scim(&app, &token, Method::GET, &format!("/Users/{id}"), None).await;
        assert_eq!(status, 404);
        let audit: Vec<String> = sqlx::query_scalar("SELECT actor_email FROM audit_events WHERE kind = 'user_deleted'").fetch_all(app.db.pool()).await.unwrap();
        assert!(audit[0].starts_with("SCIM token scim_"), "{audit:?}");

        // Revoked: 401 from then on.
        let tokens: Value = app.call_as(&cookie, "users/scim-tokens/list", &[]).await.json().await.unwrap();
        let token_id = tokens["tokens"][0]["id"].as_str().unwrap().to_owned();
        // Not through another account.
        let globex = app.session_cookie_for("globex-admin").await;
        assert_eq!(app.call_as(&globex, "users/scim-tokens/revoke", &[("token_id", token_id.as_str())]).await.status(), 404);
        assert_eq!(app.call_as(&cookie, "users/scim-tokens/revoke", &[("token_id", token_id.as_str())]).await.status(), 200);
        let (status, _, _) = scim(&app, &token, Method::GET, "/Users", None).await;
        assert_eq!(status, 401);
    }

    async fn a_deactivation_ends_the_seat_from_that_moment(app: TestApp) {
        app.clock.set(millis(2026, 11, 2));
        let account = app.seed_account("acme", &[Role::Administrator]).await;
        let token = token_of(&app, "acme-admin").await;
        let mut ids = Vec::new();
        for i in 0..12 {
            let (status, u, _) = scim(&app, &token, Method::POST, "/Users", Some(user(&format!("u{i}"), &format!("u{i}@acme.test"), Some(&format!("x{i}")), true))).await;
            assert_eq!(status, 201);
            ids.push(u["id"].as_str().unwrap().to_owned());
        }
        assert_eq!(seats(&app, &account).await, (12, 12));
        // The next day five are deactivated, as Entra ID and Okta send it.
        app.clock.set(millis(2026, 11, 3));
        for id in &ids[..3] {
            let (status, u, _) = scim(&app, &token, Method::PATCH, &format!("/Users/{id}"), Some(patch(json!([{"op": "Replace", "path": "active", "value": "False"}])))).await;
            assert_eq!((status, u["active"].as_bool()), (200, Some(false)), "{u}");
        }
        for id in &ids[3..5] {
            let (status, _, _) = scim(&app, &token, Method::PATCH, &format!("/Users/{id}"), Some(patch(json!([{"op": "replace", "value": {"active": false}}])))).await;
            assert_eq!(status, 200);
        }
        // Deactivating one again changes nothing.
        let (status, _, _) = scim(&app, &token, Method::PATCH, &format!("/Users/{}", ids[0]), Some(patch(json!([{"op": "replace", "path": "active", "value": false}])))).await;
        assert_eq!(status, 200);
        assert_eq!(seats(&app, &account).await, (7, 12));
        // Four more the day after: 11 seats, the peak still the 12 of November 2.
        app.clock.set(millis(2026, 11, 4));
        for i in 12..16 {
            scim(&app, &token, Method::POST, "/Users", Some(user(&format!("u{i}"), &format!("u{i}@acme.test"), None, true))).await;
        }
        assert_eq!(seats(&app, &account).await, (11, 12));
        // Two reactivated: 13, a new peak; a deactivated user deleted frees no seat twice.
        app.clock.set(millis(2026, 11, 5));
        for id in &ids[..2] {
            let (_, u, _) = scim(&app, &token, Method::PATCH, &format!("/Users/{id}"), Some(patch(json!([{"op": "replace", "path": "active", "value": true}])))).await;
            assert_eq!(u["active"], true);
        }
        let (status, _, _) = scim(&app, &token, Method::DELETE, &format!("/Users/{}", ids[4]), None).await;
        assert_eq!(status, 204);
        assert_eq!(seats(&app, &account).await, (13, 13));
        let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE account_id = $1 AND status <> 'deactivated'").bind(&account).fetch_one(app.db.pool()).await.unwrap();
        assert_eq!(stored, 13, "the count changes agree with the rows");
        let kinds: Vec<String> = sqlx::query_scalar("SELECT kind FROM audit_events WHERE kind IN ('user_deactivated', 'user_reactivated') ORDER BY at, id").fetch_all(app.db.pool()).await.unwrap();
        assert_eq!(kinds.iter().filter(|k| *k == "user_deactivated").count(), 5);
        assert_eq!(kinds.iter().filter(|k| *k == "user_reactivated").count(), 2);
        // The Users page may not suspend a deactivated user: the provider reactivates them.
        let cookie = app.session_cookie_for("acme-admin").await;
        let res = app.call_as(&cookie, "users/set-suspended", &[("id", ids[2].as_str()), ("suspended", "true")]).await;
        assert_eq!(res.status(), 409);
        // Deleted on the Users page, a deactivated user frees no seat it no longer held.
        assert_eq!(app.call_as(&cookie, "users/delete", &[("id", ids[2].as_str())]).await.status(), 200);
        assert_eq!(seats(&app, &account).await, (13, 13));
    }
}

/// Percent-encodes a query value.
fn urlencoding(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
