//! Billing information and the payment method (issue 6): the matrix, tenant isolation, every
//! bad field, every sandbox decline, idempotent submits, and what the database keeps.

use serde_json::{json, Value};
use tally_core::{
    card::AcceptedBrands,
    forms::{BillingInfoInput, CardInput, PaymentInfoInput},
    roles::{allows, Action, Role, ALL_ROLES},
    NaiveDate,
};

use crate::{both_databases, helpers::TestApp};

fn billing_info() -> Value {
    json!({ "info": {
        "company_name": "Acme Corp", "contact_name": "Dana Park", "contact_email": "billing@acme.test",
        "contact_phone": "+1 555 123 4567",
        "address": { "country": "US", "line1": "1 Main St", "line2": "", "city": "Springfield", "region": "IL", "postal_code": "62701" },
        "tax_id": ""
    }})
}

fn payment(number: &str, expiry: &str, cvc: &str, key: &str) -> Value {
    json!({
        "payment": { "cardholder_name": "Dana Park", "same_as_billing": true,
                     "address": { "country": "", "line1": "", "line2": "", "city": "", "region": "", "postal_code": "" } },
        "card": { "number": number, "expiry": expiry, "cvc": cvc },
        "idempotency_key": key,
    })
}

/// The published test number that always succeeds.
const GOOD_TEST_CARD: &str = "4242 4242 4242 4242"; // sandbox test number

async fn count(app: &TestApp, sql: &str, account: &str) -> i64 {
    sqlx::query_scalar(sql)
        .bind(account)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
}

both_databases! {
    async fn each_role_may_read_and_change_billing_exactly_where_the_matrix_says(app: TestApp) {
        let acme = app.seed_account("acme", &ALL_ROLES).await;
        for (i, role) in ALL_ROLES.into_iter().enumerate() {
            let cookie = app.session_cookie_for(&format!("acme-{}", role.code())).await;
            let view = app.call_as(&cookie, "billing/settings", &[]).await.status().as_u16();
            assert_eq!(view, if allows(role, Action::ViewBilling) { 200 } else { 403 }, "view as {role:?}");
            let may = allows(role, Action::ManagePaymentMethod);
            let want = if may { 200 } else { 403 };
            let info = app.call_json(&cookie, "billing/save-info", &billing_info()).await.status().as_u16();
            assert_eq!(info, want, "save info as {role:?}");
            let before = count(&app, "SELECT COUNT(*) FROM payment_method_submissions WHERE account_id = $1", &acme).await;
            let card = app.save_card(&cookie, &payment(GOOD_TEST_CARD, "12/30", "123", &format!("k{i}"))).await;
            assert_eq!(card.status().as_u16(), want, "submit card as {role:?}");
            let after = count(&app, "SELECT COUNT(*) FROM payment_method_submissions WHERE account_id = $1", &acme).await;
            assert_eq!(after - before, i64::from(may), "{role:?} saved a card only if allowed");
        }
        let anonymous = app.call_json("", "billing/save-info", &billing_info()).await;
        assert_eq!(anonymous.status(), 401);
    }

    async fn another_accounts_billing_is_out_of_reach(app: TestApp) {
        let acme = app.seed_account("acme", &[Role::AdministratorWithBilling]).await;
        let other = app.seed_account("other", &[Role::AdministratorWithBilling]).await;
        let a = app.session_cookie_for("acme-admin_billing").await;
        let o = app.session_cookie_for("other-admin_billing").await;
        assert_eq!(app.call_json(&a, "billing/save-info", &billing_info()).await.status(), 200);
        assert_eq!(app.save_card(&a, &payment(GOOD_TEST_CARD, "12/30", "123", "k1")).await.status(), 200);

        let theirs: Value = app.call_as(&o, "billing/settings", &[]).await.json().await.unwrap();
        assert_eq!(theirs["info"], Value::Null, "{theirs}");
        assert_eq!(theirs["card"], Value::Null, "{theirs}");
        // Their own changes touch only their account.
        let mut info = billing_info();
        info["info"]["company_name"] = json!("Other Inc");
        assert_eq!(app.call_json(&o, "billing/save-info", &info).await.status(), 200);
        let ours: Value = app.call_as(&a, "billing/settings", &[]).await.json().await.unwrap();
        assert_eq!(ours["info"]["company_name"], "Acme Corp");
        assert_eq!(ours["card"]["last4"], "4242");
        // The same idempotency key in another account is another submit.
        assert_eq!(app.save_card(&o, &payment(GOOD_TEST_CARD, "11/31", "123", "k1")).await.status(), 200);
        assert_eq!(count(&app, "SELECT COUNT(*) FROM payment_methods WHERE account_id = $1", &other).await, 1);
        let ours: Value = app.call_as(&a, "billing/settings", &[]).await.json().await.unwrap();
        assert_eq!(ours["card"]["exp_year"], 2030);
        assert_eq!(count(&app, "SELECT COUNT(*) FROM payment_methods WHERE account_id = $1", &acme).await, 1);
    }

    async fn each_bad_field_gets_cores_message_and_nothing_is_saved(app: TestApp) {
        let acme = app.seed_account("acme", &[Role::AdministratorWithBilling]).await;
        let c = app.session_cookie_for("acme-admin_billing").await;
        // Billing information: each field alone, expected message straight from core.
        let cases: &[(&str, &str, Value)] = &[
            ("company_name", "/info/company_name", json!("  ")),
            ("contact_name", "/info/contact_name", json!("")),
            ("contact_email", "/info/contact_email", json!("billing@")),
            ("contact_phone", "/info/contact_phone", json!("call me")),
            ("country", "/info/address/country", json!("XX")),
            ("region", "/info/address/region", json!("")),
            ("postal_code", "/info/address/postal_code", json!("1234")),
            ("city", "/info/address/city", json!("")),
        ];
        for (field, pointer, bad) in cases {
            let mut body = billing_info();
            *body.pointer_mut(pointer).unwrap() = bad.clone();
            let input: BillingInfoInput = serde_json::from_value(body["info"].clone()).unwrap();
            let expected = input.parse().unwrap_err();
            let res = app.call_json(&c, "billing/save-info", &body).await;
            assert_eq!(res.status(), 422, "{field}");
            let got: Value = res.json().await.unwrap();
            assert_eq!(got["Validation"][field], expected.get(field).unwrap(), "{field}: {got}");
        }
        assert_eq!(count(&app, "SELECT COUNT(*) FROM billing_info WHERE account_id = $1", &acme).await, 0);

        // "Same as billing information" needs saved billing information.
        let res = app.save_card(&c, &payment(GOOD_TEST_CARD, "12/30", "123", "k0")).await;
        assert_eq!(res.status(), 422);
        let got: Value = res.json().await.unwrap();
        assert!(got["Validation"]["same_as_billing"].is_string(), "{got}");
        assert_eq!(app.call_json(&c, "billing/save-info", &billing_info()).await.status(), 200);

        let today = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
        let card_cases: &[(&str, &str, &str, &str)] = &[
            ("card_number", "4242 4242 4242", "12/30", "123"),           // incomplete test number
            ("card_number", "4242 4242 4242 4241", "12/30", "123"),      // test number failing Luhn
            ("card_number", "3530 1113 3330 0000", "12/30", "123"),      // JCB test number, not accepted
            ("expiry", GOOD_TEST_CARD, "01/20", "123"),
            ("expiry", GOOD_TEST_CARD, "13/30", "123"),
            ("cvc", GOOD_TEST_CARD, "12/30", "12"),
            ("cvc", "3782 822463 10005", "12/30", "123"),                // Amex test number wants 4 digits
        ];
        for (i, (field, number, expiry, cvc)) in card_cases.iter().enumerate() {
            let expected = CardInput { number: number.to_string(), expiry: expiry.to_string(), cvc: cvc.to_string() }
                .parse(&AcceptedBrands::default(), today)
                .unwrap_err();
            let res = app.save_card(&c, &payment(number, expiry, cvc, &format!("bad{i}"))).await;
            assert_eq!(res.status(), 422, "{field} {i}");
            let text = res.text().await.unwrap();
            let got: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(got["Validation"][field], expected.get(field).unwrap(), "{field} {i}: {got}");
            let digits: String = number.chars().filter(char::is_ascii_digit).collect();
            assert!(!text.contains(&digits), "the answer never repeats the number");
        }
        let mut holder = payment(GOOD_TEST_CARD, "12/30", "123", "bad-holder");
        holder["payment"]["cardholder_name"] = json!("12345");
        holder["payment"]["same_as_billing"] = json!(false);
        holder["payment"]["address"]["country"] = json!("CA");
        holder["payment"]["address"]["postal_code"] = json!("12345");
        let input: PaymentInfoInput = serde_json::from_value(holder["payment"].clone()).unwrap();
        let expected = input.parse(None).unwrap_err();
        let got: Value = app.save_card(&c, &holder).await.json().await.unwrap();
        for field in ["cardholder_name", "card_postal_code", "card_line1", "card_city", "card_region"] {
            assert_eq!(got["Validation"][field], expected.get(field).unwrap(), "{field}: {got}");
        }
        // A number sent as a JSON number: refused without quoting it back.
        let mut odd = payment(GOOD_TEST_CARD, "12/30", "123", "odd");
        odd["card"]["number"] = json!(4242424242424242_u64); // test number
        let res = app.save_card(&c, &odd).await;
        assert!(res.status().is_client_error() || res.status().is_server_error());
        assert!(!res.text().await.unwrap().contains("4242424242424242"), "not echoed"); // test number
        assert_eq!(count(&app, "SELECT COUNT(*) FROM payment_methods WHERE account_id = $1", &acme).await, 0);
    }

    async fn each_sandbox_decline_gets_its_message_and_stores_nothing(app: TestApp) {
        let acme = app.seed_account("acme", &[Role::AdministratorWithBilling]).await;
        let c = app.session_cookie_for("acme-admin_billing").await;
        assert_eq!(app.call_json(&c, "billing/save-info", &billing_info()).await.status(), 200);
        let mails = app.outbox_messages().len();
        for (number, message) in [
            ("4000 0000 0000 0002", "Your card was declined. Try another card, or ask your bank why."), // test number
            ("4000 0000 0000 9995", "Your card has insufficient funds. Try another card."),             // test number
            ("4000 0000 0000 0069", "Your card has expired. Check the expiration date or use another card."), // test number
            ("4000 0000 0000 0127", "Your card's security code is incorrect."),                        // test number
        ] {
            let res = app.save_card(&c, &payment(number, "12/30", "123", number)).await;
            assert_eq!(res.status(), 402, "{number}");
            let got: Value = res.json().await.unwrap();
            assert_eq!(got["Declined"], message);
        }
        assert_eq!(count(&app, "SELECT COUNT(*) FROM payment_methods WHERE account_id = $1", &acme).await, 0);
        assert_eq!(count(&app, "SELECT COUNT(*) FROM payment_method_submissions WHERE account_id = $1", &acme).await, 0);
        assert_eq!(app.outbox_messages().len(), mails, "no change email for a decline");
    }

    async fn the_same_idempotency_key_saves_once_and_a_new_card_replaces_the_old(app: TestApp) {
        let acme = app.seed_account("acme", &[Role::AdministratorWithBilling, Role::CommandRunnerWithBilling, Role::Administrator]).await;
        let c = app.session_cookie_for("acme-admin_billing").await;
        assert_eq!(app.call_json(&c, "billing/save-info", &billing_info()).await.status(), 200);
        let mails = app.outbox_messages().len();
        let twice = payment(GOOD_TEST_CARD, "12/30", "123", "double-click");
        let (a, b) = tokio::join!(
            app.save_card(&c, &twice),
            app.save_card(&c, &twice),
        );
        assert_eq!((a.status().as_u16(), b.status().as_u16()), (200, 200));
        let again = app.save_card(&c, &payment(GOOD_TEST_CARD, "12/30", "123", "double-click")).await;
        let summary: Value = again.json().await.unwrap();
        assert_eq!(summary["last4"], "4242");
        assert_eq!(count(&app, "SELECT COUNT(*) FROM payment_method_submissions WHERE account_id = $1", &acme).await, 1);
        assert_eq!(count(&app, "SELECT COUNT(*) FROM audit_events WHERE account_id = $1 AND kind = 'payment_method_changed'", &acme).await, 1);
        // One change, one message to each of: the billing contact and the two billing admins.
        let sent: Vec<String> = app.outbox_messages().split_off(mails);
        let mut to: Vec<&str> = sent.iter().map(|m| m.lines().find(|l| l.starts_with("To: ")).unwrap()).collect();
        to.sort();
        assert_eq!(to, ["To: admin_billing@acme.test", "To: billing@acme.test", "To: command_runner_billing@acme.test"]);
        for m in &sent {
            assert!(m.contains("Visa •••• 4242") || m.contains("4242"), "{m}");
            assert!(!m.contains("4242 4242 4242 4242") && !m.contains("4242424242424242"), "last 4 only"); // test number
        }

        // Another card with another key replaces it: still one payment method.
        let amex = app.save_card(&c, &payment("3782 822463 10005", "03/29", "1234", "second")).await; // Amex test number
        assert_eq!(amex.status(), 200);
        assert_eq!(count(&app, "SELECT COUNT(*) FROM payment_methods WHERE account_id = $1", &acme).await, 1);
        let settings: Value = app.call_as(&c, "billing/settings", &[]).await.json().await.unwrap();
        assert_eq!(settings["card"]["brand"], "Amex");
        assert_eq!(settings["card"]["last4"], "0005");
        assert_eq!(settings["card"]["saved_by"], "admin_billing@acme.test");
        assert_eq!(settings["info"]["contact_email"], "billing@acme.test");
    }

    async fn the_saved_row_holds_no_full_number_and_no_security_code(app: TestApp) {
        let acme = app.seed_account("acme", &[Role::AdministratorWithBilling]).await;
        let c = app.session_cookie_for("acme-admin_billing").await;
        assert_eq!(app.call_json(&c, "billing/save-info", &billing_info()).await.status(), 200);
        let res = app.save_card(&c, &payment("5555 5555 5555 4444", "12/30", "987", "k")).await; // Mastercard test number
        assert_eq!(res.status(), 200);
        let row: (String, String, String, String, String, String, i64, i64) = sqlx::query_as(
            "SELECT gateway_token, brand, last4, cardholder_name, fingerprint, line1, exp_month, exp_year FROM payment_methods WHERE account_id = $1",
        ).bind(&acme).fetch_one(app.db.pool()).await.unwrap();
        let text = format!("{row:?}");
        assert!(!text.contains("5555555555554444") && !text.contains("5555 5555"), "{text}"); // test number
        // The code is three digits, which random hex may contain by chance; the readable
        // columns must not (the canary test searches every byte with a longer code).
        assert!(![&row.1, &row.2, &row.3, &row.5].iter().any(|c| c.contains("987")), "{text}");
        assert_eq!((row.1.as_str(), row.2.as_str(), row.6, row.7), ("mastercard", "4444", 12, 2030));
        assert_eq!(row.4.len(), 64, "an HMAC-SHA256 fingerprint");
    }
}

both_databases! {
    async fn the_administrators_list_marks_the_billing_contact(app: TestApp) {
        app.seed_account("acme", &[Role::AdministratorWithBilling, Role::Administrator]).await;
        let c = app.session_cookie_for("acme-admin_billing").await;
        let mut info = billing_info();
        info["info"]["contact_email"] = json!("Admin@ACME.test");
        assert_eq!(app.call_json(&c, "billing/save-info", &info).await.status(), 200);
        let list: Value = app.call_as(&c, "admins/list", &[]).await.json().await.unwrap();
        let mut marked: Vec<(&str, bool)> = list["admins"].as_array().unwrap().iter()
            .map(|a| (a["email"].as_str().unwrap(), a["billing_contact"].as_bool().unwrap()))
            .collect();
        marked.sort();
        assert_eq!(marked, [("admin@acme.test", true), ("admin_billing@acme.test", false)]);
    }
}
