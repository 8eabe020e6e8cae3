//! Tax IDs (issue 33): checked for the address's country by core's rules on the server, in
//! the customer's billing information and the seller's settings, stored in one normal form and
//! printed in the official one on the invoice — which names the seller, with its tax ID.

use serde_json::{json, Value};
use tally_core::{
    billing::BillingMonth, forms::BillingInfoInput, operators::OperatorRole, roles::Role,
};

use crate::{
    billing_contact::pdf_text,
    both_databases,
    helpers::TestApp,
    invoicing::millis,
    operators::{enrolled, seed_seller, settings_form},
};

fn german_info(tax_id: &str) -> Value {
    json!({ "info": {
        "company_name": "Muster GmbH", "contact_name": "Eva Muster", "contact_email": "rechnung@muster.test",
        "contact_phone": "",
        "address": { "country": "DE", "line1": "Hauptstr. 1", "line2": "", "city": "Berlin", "region": "", "postal_code": "10115" },
        "tax_id": tax_id
    }})
}

async fn stored(app: &TestApp, sql: &str, bind: &str) -> Option<String> {
    sqlx::query_scalar(sql)
        .bind(bind)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
}

both_databases! {
    async fn a_tax_id_is_checked_on_the_server_stored_normal_and_printed_official(app: TestApp) {
        app.clock.set(millis(2026, 10, 1) + 3_600_000);
        seed_seller(&app).await;
        let acme = app.seed_account("muster", &[Role::AdministratorWithBilling]).await;
        let c = app.session_cookie_for("muster-admin_billing").await;

        // A digit short, then a typo: refused beside the field in core's words; nothing saved.
        for typed in ["DE 13669597", "DE 136 695 977"] {
            let body = german_info(typed);
            let expected = serde_json::from_value::<BillingInfoInput>(body["info"].clone()).unwrap().parse().unwrap_err();
            let res = app.call_json(&c, "billing/save-info", &body).await;
            assert_eq!(res.status(), 422, "{typed}");
            let got: Value = res.json().await.unwrap();
            assert_eq!(got["Validation"]["tax_id"], expected.get("tax_id").unwrap(), "{got}");
        }
        let saved: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM billing_info WHERE account_id = $1")
            .bind(&acme).fetch_one(app.db.pool()).await.unwrap();
        assert_eq!(saved, 0);
        assert_eq!(
            app.call_json(&c, "billing/save-info", &german_info("de 136.695.976")).await.status(),
            200
        );
        assert_eq!(
            stored(&app, "SELECT tax_id FROM billing_info WHERE account_id = $1", &acme).await.as_deref(),
            Some("DE136695976")
        );
        // Another tenant's request cannot reach it, and a Read Only administrator cannot save.
        app.seed_account("other", &[Role::ReadOnly]).await;
        let other = app.session_cookie_for("other-read_only").await;
        assert_eq!(app.call_json(&other, "billing/save-info", &german_info("DE136695976")).await.status(), 403);

        // The seller's tax ID: a UK VAT number for its UK address.
        app.seed_operator(OperatorRole::Owner).await;
        let owner = TestApp::new_client();
        enrolled(&app, &owner, "owner@seller.test").await;
        let save = |tax_id: &str| {
            let mut form = settings_form();
            form.push(("tax_id", tax_id.to_string()));
            let (app, owner) = (&app, owner.clone());
            async move {
                let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
                app.call(&owner, "operator/settings/save", &form).await
            }
        };
        let bad = save("GB 980 7806 85").await;
        assert_eq!(bad.status(), 422);
        let errors: Value = bad.json().await.unwrap();
        assert_eq!(
            errors["Validation"]["tax_id"],
            "The check digits don't match the rest of the number: look for a mistyped digit."
        );
        assert_eq!(save("gb980780684").await.status(), 200);
        assert_eq!(stored(&app, "SELECT tax_id FROM sellers WHERE id = 1 AND legal_name = $1", "Tally Seller Ltd").await.as_deref(), Some("GB980780684"));
        let form: Value = app.call(&owner, "operator/settings/get", &[]).await.json().await.unwrap();
        assert_eq!(form["seller"]["tax_id"], "GB 980 7806 84", "the form shows the official form");

        // October's invoice names both, each tax ID in its official form.
        app.clock.set(millis(2026, 11, 1) + 3_600_000);
        app.services.billing_run.run_month(BillingMonth::new(2026, 10).unwrap()).await.unwrap();
        let invoice = stored(&app, "SELECT id FROM invoices WHERE account_id = $1", &acme).await.unwrap();
        let c = app.session_cookie_for("muster-admin_billing").await; // a month on: signed in again
        let pdf = app.client.get(app.url(&format!("/billing/invoices/{invoice}/pdf"))).header("Cookie", &c).send().await.unwrap();
        assert_eq!(pdf.status(), 200);
        let text = pdf_text(&pdf.bytes().await.unwrap());
        for line in ["From", "Tally Seller Ltd", "10 Downing St", "Tax ID: GB 980 7806 84", "Billed to", "Muster GmbH", "Tax ID: DE136695976"] {
            assert!(text.contains(line), "{line} in {text}");
        }
        // Its printable page says the same.
        let page = app.client.get(app.url(&format!("/billing/invoices/{invoice}"))).header("Cookie", &c).send().await.unwrap().text().await.unwrap();
        for line in ["From", "Tally Seller Ltd", "Tax ID: GB 980 7806 84", "Muster GmbH", "Tax ID: DE136695976"] {
            assert!(page.contains(line), "{line} on the invoice's page");
        }
        // Later changes to the settings leave the invoice as it was made.
        sqlx::query("UPDATE sellers SET tax_id = NULL, legal_name = 'Renamed Ltd'").execute(app.db.pool()).await.unwrap();
        let seller = stored(&app, "SELECT seller FROM invoices WHERE id = $1", &invoice).await.unwrap();
        assert!(seller.starts_with("Tally Seller Ltd\n") && seller.contains("Tax ID: GB 980 7806 84"), "{seller}");
    }
}

both_databases! {
    async fn a_po_number_and_fields_of_their_own_go_on_the_next_invoices_and_only_theirs(app: TestApp) {
        use tally_core::roles::{allows, Action, ALL_ROLES};
        app.clock.set(millis(2026, 10, 1) + 3_600_000);
        let acme = app.seed_account("acme", &ALL_ROLES).await;
        let form = |po: &str, pairs: &[(&str, &str)]| {
            let mut f: Vec<(String, String)> = vec![("po_number".into(), po.into())];
            for (i, (n, v)) in pairs.iter().enumerate() {
                f.push((format!("name{}", i + 1), n.to_string()));
                f.push((format!("value{}", i + 1), v.to_string()));
            }
            f
        };
        let save = |cookie: String, f: Vec<(String, String)>| {
            let app = &app;
            async move {
                let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                app.call_as(&cookie, "billing/save-invoice-fields", &f).await
            }
        };
        // The matrix: only the billing roles read and save them.
        for role in ALL_ROLES {
            let c = app.session_cookie_for(&format!("acme-{}", role.code())).await;
            let read = app.call_as(&c, "billing/invoice-fields", &[]).await.status().as_u16();
            assert_eq!(read, if allows(role, Action::ViewBilling) { 200 } else { 403 }, "{role:?}");
            let saved = save(c, form("PO-1", &[])).await.status().as_u16();
            assert_eq!(saved, if allows(role, Action::ManagePaymentMethod) { 200 } else { 403 }, "{role:?}");
        }
        let c = app.session_cookie_for("acme-admin_billing").await;
        // Each wrong field in core's words; nothing saved over what was.
        let bad = save(c.clone(), form("PO-2", &[("Cost centre", ""), ("", "42")])).await;
        assert_eq!(bad.status(), 422);
        let errors: Value = bad.json().await.unwrap();
        assert_eq!(errors["Validation"]["value1"], "Enter the value, or clear the name.");
        assert_eq!(errors["Validation"]["name2"], "Name this field, such as Cost centre.");
        let now: Value = app.call_as(&c, "billing/invoice-fields", &[]).await.json().await.unwrap();
        assert_eq!(now["po_number"], "PO-1");
        assert_eq!(save(c.clone(), form("4500012345", &[("Cost centre", "42"), ("Project", "Apollo")])).await.status(), 200);
        // Another account saving its own changes nothing here.
        app.seed_account("other", &[Role::AdministratorWithBilling]).await;
        let o = app.session_cookie_for("other-admin_billing").await;
        assert_eq!(save(o.clone(), form("THEIRS", &[])).await.status(), 200);
        let theirs: Value = app.call_as(&o, "billing/invoice-fields", &[]).await.json().await.unwrap();
        assert_eq!(theirs["po_number"], "THEIRS");

        // October's invoice prints them under References; later changes leave it as it was.
        app.clock.set(millis(2026, 11, 1) + 3_600_000);
        app.services.billing_run.run_month(BillingMonth::new(2026, 10).unwrap()).await.unwrap();
        let invoice = stored(&app, "SELECT id FROM invoices WHERE account_id = $1", &acme).await.unwrap();
        let c = app.session_cookie_for("acme-admin_billing").await;
        let pdf = app.client.get(app.url(&format!("/billing/invoices/{invoice}/pdf"))).header("Cookie", &c).send().await.unwrap();
        let text = pdf_text(&pdf.bytes().await.unwrap());
        for line in ["References", "PO number: 4500012345", "Cost centre: 42", "Project: Apollo"] {
            assert!(text.contains(line), "{line} in {text}");
        }
        assert!(!text.contains("THEIRS"));
        assert_eq!(save(c, form("", &[])).await.status(), 200);
        let kept = stored(&app, "SELECT reference_lines FROM invoices WHERE id = $1", &invoice).await;
        assert_eq!(kept.as_deref(), Some("PO number: 4500012345\nCost centre: 42\nProject: Apollo"));
        let audited: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE account_id = $1 AND kind = 'billing_info_changed'")
            .bind(&acme).fetch_one(app.db.pool()).await.unwrap();
        assert!(audited >= 3, "{audited}");
    }
}

both_databases! {
    async fn a_database_from_before_the_issuer_was_kept_gets_it_once_at_start(app: TestApp) {
        use tally_services::{billing::settings, seller::profile};
        seed_seller(&app).await; // as an older version left it: no issuer kept for billing
        let pool = app.db.pool();
        assert_eq!(settings::issuer(pool).await.unwrap(), None);
        profile::publish_issuer(pool, app.clock_now()).await.unwrap();
        assert_eq!(
            settings::issuer(pool).await.unwrap().as_deref(),
            Some("Tally Seller Ltd\n10 Downing St\nLondon SW1A 2AA\nUnited Kingdom")
        );
        // From then on set-up and the settings keep it: a start reads it and writes nothing.
        sqlx::query("UPDATE billing_settings SET issuer = 'As saved'").execute(pool).await.unwrap();
        profile::publish_issuer(pool, app.clock_now()).await.unwrap();
        assert_eq!(settings::issuer(pool).await.unwrap().as_deref(), Some("As saved"));
    }
}
