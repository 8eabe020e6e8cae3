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
        // Later changes to the settings leave the invoice as it was made.
        sqlx::query("UPDATE sellers SET tax_id = NULL, legal_name = 'Renamed Ltd'").execute(app.db.pool()).await.unwrap();
        let seller = stored(&app, "SELECT seller FROM invoices WHERE id = $1", &invoice).await.unwrap();
        assert!(seller.starts_with("Tally Seller Ltd\n") && seller.contains("Tax ID: GB 980 7806 84"), "{seller}");
    }
}
