//! Tax on invoices (issue 33): the seller's registrations in its settings decide each
//! invoice's VAT by the customer's country and VAT number; the invoice shows net, tax and
//! gross, the card is charged the gross, and the Billing page's estimate is the invoice.

use serde_json::Value;
use tally_core::{billing::BillingMonth, operators::OperatorRole, roles::Role};

use crate::{
    billing_contact::pdf_text,
    both_databases,
    helpers::TestApp,
    invoicing::millis,
    operators::{enrolled, seed_seller, settings_form},
};

/// An account `acct-<tag>` made Oct 1 with a billing administrator, 12 users from Oct 5 (10 are
/// free on the standard plan, $5.00 each after), a card and billing information in `country`
/// with `tax_id`.
pub(crate) async fn customer(
    app: &TestApp,
    tag: &str,
    country: &str,
    tax_id: Option<&str>,
) -> String {
    let id = app
        .seed_account(tag, &[Role::AdministratorWithBilling])
        .await;
    let pool = app.db.pool();
    sqlx::query(
        "INSERT INTO user_count_changes (id, account_id, at, delta) VALUES ($1, $2, $3, 12)",
    )
    .bind(format!("ucc-{tag}"))
    .bind(&id)
    .bind(millis(2026, 10, 5))
    .execute(pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO billing_info (account_id, company_name, contact_name, contact_email, country, line1, city, postal_code, tax_id, updated_at) \
         VALUES ($1, $2, 'Pat Payer', $3, $4, '1 Main St', 'Town', '12345', $5, 0)",
    )
    .bind(&id).bind(format!("Company {tag}")).bind(format!("billing@{tag}.test")).bind(country).bind(tax_id)
    .execute(pool).await.unwrap();
    sqlx::query(
        "INSERT INTO payment_methods (account_id, gateway_token, brand, last4, exp_month, exp_year, cardholder_name, country, line1, city, postal_code, fingerprint, saved_at) \
         VALUES ($1, $2, 'visa', '4242', 12, 2030, 'Pat Payer', $3, '1 Main St', 'Town', '12345', 'fp', 0)",
    )
    .bind(&id).bind(format!("tok_sandbox_{tag}")).bind(country)
    .execute(pool).await.unwrap();
    id
}

/// The settings form of a seller in Germany with its VAT number, charging VAT in
/// `registrations` (and through the One-Stop Shop with `oss`), sent by `owner`.
pub(crate) async fn save_settings(
    app: &TestApp,
    owner: &reqwest::Client,
    registrations: &str,
    oss: bool,
) -> reqwest::Response {
    let mut form = settings_form();
    for (k, v) in [
        ("country", "DE"),
        ("line1", "Hauptstr. 1"),
        ("city", "Berlin"),
        ("postal_code", "10115"),
        ("tax_id", "DE 813 11 38 75"),
    ] {
        form.retain(|(f, _)| *f != k);
        form.push((k, v.to_string()));
    }
    form.push(("tax_registrations", registrations.to_string()));
    if oss {
        form.push(("oss", "true".to_string()));
    }
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    app.call(owner, "operator/settings/save", &form).await
}

/// A seller in Germany set up, its Owner signed in with a second step, charging VAT in
/// `registrations`: the Owner's client.
pub(crate) async fn german_seller(app: &TestApp, registrations: &str) -> reqwest::Client {
    seed_seller(app).await;
    app.seed_operator(OperatorRole::Owner).await;
    let owner = TestApp::new_client();
    enrolled(app, &owner, "owner@seller.test").await;
    assert_eq!(
        save_settings(app, &owner, registrations, false)
            .await
            .status(),
        200
    );
    owner
}

both_databases! {
    async fn invoices_bear_the_vat_the_sellers_registrations_decide_and_the_estimate_is_the_invoice(app: TestApp) {
        app.clock.set(millis(2026, 10, 1) + 3_600_000);
        seed_seller(&app).await;
        app.seed_operator(OperatorRole::Owner).await;
        let owner = TestApp::new_client();
        enrolled(&app, &owner, "owner@seller.test").await;
        // A seller in Germany.
        let save = |registrations: &'static str, oss: bool| save_settings(&app, &owner, registrations, oss);
        // A wrong registration is refused beside its field in core's words; nothing is saved.
        let bad = save("DE 19 %, Atlantis 5", true).await;
        assert_eq!(bad.status(), 422);
        let errors: Value = bad.json().await.unwrap();
        assert_eq!(
            errors["Validation"]["tax_registrations"],
            "\u{201c}Atlantis\u{201d} is not a country: use its two-letter code or its name, such as DE 19 %."
        );
        let kept: String = sqlx::query_scalar("SELECT COALESCE(MAX(tax_registrations), '') FROM billing_settings").fetch_one(app.db.pool()).await.unwrap();
        assert_eq!(kept, "");
        assert_eq!(save("germany 19, CH 8.1%", true).await.status(), 200);
        let form: Value = app.call(&owner, "operator/settings/get", &[]).await.json().await.unwrap();
        assert_eq!(form["tax_registrations"], "DE 19 %, CH 8.1 %");
        assert_eq!(form["oss"], true);

        let home = customer(&app, "home", "DE", Some("DE136695976")).await;
        let business = customer(&app, "business", "FR", Some("FR40303265045")).await;
        let consumer = customer(&app, "consumer", "FR", None).await;
        let swiss = customer(&app, "swiss", "CH", None).await;
        let abroad = customer(&app, "abroad", "US", None).await;

        // The estimate on the 20th: $10.00 for 2 billable users, and the tax on it.
        app.clock.set(millis(2026, 10, 20));
        let mut estimates = std::collections::HashMap::new();
        for (tag, tax, label) in [
            ("home", 190, "VAT 19 %"),
            ("business", 0, "VAT 0 % (reverse charge)"),
            ("consumer", 200, "VAT 20 %"),
            ("swiss", 81, "VAT 8.1 %"),
            ("abroad", 0, "VAT 0 % (outside the scope of EU VAT)"),
        ] {
            let c = app.session_cookie_for(&format!("{tag}-admin_billing")).await;
            let o: Value = app.call_as(&c, "billing/overview", &[]).await.json().await.unwrap();
            assert_eq!(o["projected_tax_cents"], tax, "{tag}: {o}");
            assert_eq!(o["projected_cents"], 1000 + tax, "{tag}");
            let page = app.client.get(app.url("/billing")).header("Cookie", &c).header("Accept", "text/html")
                .send().await.unwrap().text().await.unwrap();
            assert!(page.contains(label), "{tag}: {label} on the Billing page");
            estimates.insert(tag, o["projected_cents"].as_i64().unwrap());
        }

        app.clock.set(millis(2026, 11, 1) + 3_600_000);
        app.services.billing_run.run_month(BillingMonth::new(2026, 10).unwrap()).await.unwrap();
        let pool = app.db.pool();
        for (tag, id, tax, rate, category) in [
            ("home", &home, 190, 1900, "S"),
            ("business", &business, 0, 0, "AE"),
            ("consumer", &consumer, 200, 2000, "S"),
            ("swiss", &swiss, 81, 810, "S"),
            ("abroad", &abroad, 0, 0, "O"),
        ] {
            let (amount, tax_cents, rate_bp, cat, status): (i64, i64, i64, Option<String>, String) = sqlx::query_as(
                "SELECT amount_cents, tax_cents, tax_rate_bp, tax_category, status FROM invoices WHERE account_id = $1",
            ).bind(id).fetch_one(pool).await.unwrap();
            assert_eq!((tax_cents, rate_bp, cat.as_deref()), (tax, rate, Some(category)), "{tag}");
            assert_eq!(amount, 1000 + tax, "{tag}: the gross is due");
            assert_eq!(amount, estimates[tag], "{tag}: the estimate was the invoice to the cent");
            assert_eq!(status, "paid", "{tag}");
            // The card was charged the gross.
            let charged: i64 = sqlx::query_scalar(
                "SELECT s.amount_cents FROM sandbox_charges s JOIN invoices i ON s.idempotency_key LIKE '%' || i.id || '%' WHERE i.account_id = $1",
            ).bind(id).fetch_one(pool).await.unwrap();
            assert_eq!(charged, 1000 + tax, "{tag}");
        }

        // The documents: net, tax per rate and gross, and what a 0 % invoice must say.
        let pdf_of = |tag: &'static str, id: String| {
            let app = &app;
            async move {
                let invoice: String = sqlx::query_scalar("SELECT id FROM invoices WHERE account_id = $1").bind(&id).fetch_one(app.db.pool()).await.unwrap();
                let c = app.session_cookie_for(&format!("{tag}-admin_billing")).await;
                let pdf = app.client.get(app.url(&format!("/billing/invoices/{invoice}/pdf"))).header("Cookie", &c).send().await.unwrap();
                assert_eq!(pdf.status(), 200);
                let page = app.client.get(app.url(&format!("/billing/invoices/{invoice}"))).header("Cookie", &c).send().await.unwrap().text().await.unwrap();
                (pdf_text(&pdf.bytes().await.unwrap()), page)
            }
        };
        let (text, page) = pdf_of("home", home.clone()).await;
        for line in ["Billable users: 2 \u{d7} $5.00 = $10.00", "Net: $10.00", "VAT 19 %: $1.90", "Total with VAT: $11.90", "Total: $11.90"] {
            assert!(text.contains(line), "{line} in {text}");
        }
        assert!(page.contains("VAT 19 %") && page.contains("$1.90") && page.contains("$11.90"));
        let (text, page) = pdf_of("business", business.clone()).await;
        for line in ["VAT 0 % (reverse charge): $0.00", "Reverse charge: the customer accounts for the VAT", "(Article 196, Directive 2006/112/EC).", "Tax ID: FR40303265045"] {
            assert!(text.contains(line), "{line} in {text}");
        }
        assert!(page.contains("Article 196, Directive 2006/112/EC"));
        let (text, _) = pdf_of("abroad", abroad.clone()).await;
        assert!(text.contains("Outside the scope of EU VAT."), "{text}");
        // The email says it too.
        let mail = app.outbox_messages().into_iter().find(|m| m.contains("To: billing@business.test")).unwrap();
        assert!(mail.contains("Article 196"), "{mail}");

        // A seller registered nowhere charges no VAT: November's invoices carry none.
        sqlx::query("UPDATE billing_settings SET tax_registrations = ''").execute(pool).await.unwrap();
        app.clock.set(millis(2026, 12, 1) + 3_600_000);
        app.services.billing_run.run_month(BillingMonth::new(2026, 11).unwrap()).await.unwrap();
        let (amount, tax, cat): (i64, i64, Option<String>) = sqlx::query_as(
            "SELECT amount_cents, tax_cents, tax_category FROM invoices WHERE account_id = $1 AND month = '2026-11'",
        ).bind(&home).fetch_one(pool).await.unwrap();
        assert_eq!((amount, tax, cat), (1000, 0, None));
    }
}
