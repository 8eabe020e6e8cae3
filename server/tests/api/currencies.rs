//! Currencies (issue 33): a plan bills in its currency — US dollars, euros, pounds, Swiss
//! francs or yen, which have no minor unit. The estimate, the invoice, its tax, the charge,
//! the documents and the email are all in it; the console sets it, and refuses to change it
//! once the account has invoices.

use serde_json::Value;
use tally_core::{billing::BillingMonth, operators::OperatorRole};

use crate::{
    billing_contact::pdf_text,
    both_databases,
    helpers::TestApp,
    invoicing::millis,
    operators::enrolled,
    tax::{customer, german_seller},
};

/// Puts `account` on a plan in `currency` from October 2026: `price` minor units a user
/// beyond 10 free, billed on the 1st.
pub(crate) async fn plan_in(app: &TestApp, account: &str, currency: &str, price: i64) {
    sqlx::query(
        "INSERT INTO account_plans (account_id, from_month, price_per_user_cents, free_users, billing_day, created_at, currency) \
         VALUES ($1, '2026-10', $2, 10, 1, 0, $3)",
    )
    .bind(account)
    .bind(price)
    .bind(currency)
    .execute(app.db.pool())
    .await
    .unwrap();
}

both_databases! {
    async fn an_account_billed_in_euros_or_yen_is_estimated_invoiced_charged_and_shown_in_its_currency(app: TestApp) {
        app.clock.set(millis(2026, 10, 1) + 3_600_000);
        german_seller(&app, "DE 19 %").await;
        // 12 users each: 2 billable. In Germany at €4.50 (19 % VAT); in Japan at ¥500 (outside
        // the scope of EU VAT).
        let euro = customer(&app, "euro", "DE", None).await;
        let yen = customer(&app, "yen", "JP", None).await;
        plan_in(&app, &euro, "EUR", 450).await;
        plan_in(&app, &yen, "JPY", 500).await;

        // The estimate, in the plan's currency.
        app.clock.set(millis(2026, 10, 20));
        for (tag, currency, projected, tax, shown) in [
            ("euro", "Eur", 1071, 171, "\u{20ac}10.71 (2 \u{d7} \u{20ac}4.50 + VAT 19 % \u{20ac}1.71)"),
            ("yen", "Jpy", 1000, 0, "\u{a5}1,000 (2 \u{d7} \u{a5}500 + VAT 0 % (outside the scope of EU VAT) \u{a5}0)"),
        ] {
            let c = app.session_cookie_for(&format!("{tag}-admin_billing")).await;
            let o: Value = app.call_as(&c, "billing/overview", &[]).await.json().await.unwrap();
            assert_eq!((o["currency"].as_str(), o["projected_cents"].as_i64(), o["projected_tax_cents"].as_i64()), (Some(currency), Some(projected), Some(tax)), "{tag}: {o}");
            let page = app.client.get(app.url("/billing")).header("Cookie", &c).header("Accept", "text/html")
                .send().await.unwrap().text().await.unwrap();
            assert!(page.contains(shown), "{tag}: {shown} on the Billing page");
        }

        // The run: each invoice in its currency, equal to its estimate, charged in it.
        app.clock.set(millis(2026, 11, 1) + 3_600_000);
        app.services.billing_run.run_month(BillingMonth::new(2026, 10).unwrap()).await.unwrap();
        let pool = app.db.pool();
        for (tag, id, currency, amount) in [("euro", &euro, "EUR", 1071), ("yen", &yen, "JPY", 1000)] {
            let (invoice, cents, cur, status): (String, i64, String, String) = sqlx::query_as(
                "SELECT id, amount_cents, currency, status FROM invoices WHERE account_id = $1",
            ).bind(id).fetch_one(pool).await.unwrap();
            assert_eq!((cents, cur.as_str(), status.as_str()), (amount, currency, "paid"), "{tag}");
            let key = format!("invoice-{invoice}-attempt-1");
            let charged = app.services.sandbox.as_ref().unwrap().charged(&key).await.unwrap();
            assert_eq!(charged, Some((amount, currency.to_string())), "{tag}: the card was charged in the plan's currency");
        }

        // The documents and the email say it in the currency.
        let document = |tag: &'static str, id: String| {
            let app = &app;
            async move {
                let invoice: String = sqlx::query_scalar("SELECT id FROM invoices WHERE account_id = $1").bind(&id).fetch_one(app.db.pool()).await.unwrap();
                let c = app.session_cookie_for(&format!("{tag}-admin_billing")).await;
                let get = |path: String| app.client.get(app.url(&path)).header("Cookie", &c).send();
                let pdf = pdf_text(&get(format!("/billing/invoices/{invoice}/pdf")).await.unwrap().bytes().await.unwrap());
                let page = get(format!("/billing/invoices/{invoice}")).await.unwrap().text().await.unwrap();
                let xml = get(format!("/billing/invoices/{invoice}/xml")).await.unwrap().text().await.unwrap();
                (pdf, page, xml)
            }
        };
        let (pdf, page, xml) = document("euro", euro.clone()).await;
        for line in ["Billable users: 2 \u{d7} \u{20ac}4.50 = \u{20ac}9.00", "VAT 19 %: \u{20ac}1.71", "Total: \u{20ac}10.71"] {
            assert!(pdf.contains(line), "{line} in {pdf}");
        }
        assert!(page.contains("\u{20ac}10.71"), "the printable invoice");
        for part in ["<cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>", "<cbc:PayableAmount currencyID=\"EUR\">10.71</cbc:PayableAmount>"] {
            assert!(xml.contains(part), "{part} in {xml}");
        }
        let (pdf, page, xml) = document("yen", yen.clone()).await;
        for line in ["Billable users: 2 \u{d7} \u{a5}500 = \u{a5}1,000", "Total: \u{a5}1,000"] {
            assert!(pdf.contains(line), "{line} in {pdf}");
        }
        assert!(page.contains("\u{a5}1,000") && !page.contains("\u{a5}1,000.00"), "no minor unit for the yen");
        for part in ["<cbc:PriceAmount currencyID=\"JPY\">500</cbc:PriceAmount>", "<cbc:PayableAmount currencyID=\"JPY\">1000</cbc:PayableAmount>"] {
            assert!(xml.contains(part), "{part} in {xml}");
        }
        // The account's log says what made the invoice: the billing run, not a bare "·".
        let c = app.session_cookie_for("euro-admin_billing").await;
        let log: Value = app.call_as(&c, "audit/list", &[("filter[kind]", "invoice_created"), ("filter[page]", "1")]).await.json().await.unwrap();
        assert_eq!(log["entries"][0]["actor"], "the billing run", "{log}");
        let mail = app.outbox_messages().into_iter().find(|m| m.contains("To: billing@euro.test")).expect("the euro invoice's email");
        // Quoted-printable: "€10.71" in UTF-8.
        assert!(mail.contains("Total: =E2=82=AC10.71"), "{mail}");

        // The console sets a plan's currency, and refuses to change it once invoiced.
        app.seed_operator(OperatorRole::Finance).await;
        let finance = TestApp::new_client();
        enrolled(&app, &finance, "finance@seller.test").await;
        let set = |account: String, currency: &'static str, price: &'static str| {
            let (app, finance) = (&app, finance.clone());
            async move {
                app.call(&finance, "operator/accounts/set-plan", &[
                    ("id", account.as_str()), ("currency", currency), ("price_per_user", price), ("free_users", "10"),
                ]).await
            }
        };
        let refused = set(yen.clone(), "EUR", "4.00").await;
        assert_eq!(refused.status(), 422);
        let errors: Value = refused.json().await.unwrap();
        assert_eq!(errors["Validation"]["currency"], "This account is invoiced in Japanese yen (JPY): its currency cannot change once it has invoices.");
        // A price in yen has no decimals.
        let errors: Value = set(yen.clone(), "JPY", "450.5").await.json().await.unwrap();
        assert_eq!(errors["Validation"]["price_per_user"], "Enter a whole amount such as 500: Japanese yen has no decimals.");
        // Without a currency, a plan keeps the account's.
        let kept: Value = set(yen.clone(), "", "450").await.json().await.unwrap();
        assert_eq!((kept["currency"].as_str(), kept["price_per_user_cents"].as_i64()), (Some("Jpy"), Some(450)));
        // An account never invoiced can change currency.
        let fresh = customer(&app, "fresh", "GB", None).await;
        let changed = set(fresh.clone(), "GBP", "3.50").await;
        assert_eq!(changed.status(), 200, "{:?}", changed.text().await);
        let detail: Value = app.call(&finance, "operator/accounts/get", &[("id", fresh.as_str())]).await.json().await.unwrap();
        assert_eq!(detail["next_plan"]["currency"], "Gbp");
    }
}
