//! The Billing page's download (issue 33): every invoice and credit note made between two
//! dates as a ZIP of their PDFs and a CSV — for the billing roles, of their own account only,
//! the dates held to core's rules, no CSV cell able to run as a formula.

use std::io::Read;

use serde_json::{json, Value};
use tally_core::{
    billing::BillingMonth,
    roles::{allows, Action, ALL_ROLES},
};

use crate::{both_databases, helpers::TestApp, invoicing::millis};

/// The ZIP's files, name → bytes.
fn unzip(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a ZIP");
    (0..zip.len())
        .map(|i| {
            let mut f = zip.by_index(i).unwrap();
            let mut out = Vec::new();
            f.read_to_end(&mut out).unwrap();
            (f.name().to_string(), out)
        })
        .collect()
}

async fn download(
    app: &TestApp,
    cookie: &str,
    from: &str,
    to: &str,
    accept: &str,
) -> reqwest::Response {
    app.client
        .get(app.url(&format!("/billing/export?from={from}&to={to}")))
        .header("Cookie", cookie)
        .header("Accept", accept)
        .send()
        .await
        .unwrap()
}

both_databases! {
    async fn the_billing_roles_download_their_own_documents_between_two_dates(app: TestApp) {
        app.clock.set(millis(2026, 10, 1) + 3_600_000);
        let acme = app.seed_account("acme", &ALL_ROLES).await;
        let other = app.seed_account("other", &[tally_core::roles::Role::AdministratorWithBilling]).await;
        // A company name a spreadsheet would run as a formula.
        let c = app.session_cookie_for("acme-admin_billing").await;
        let info = json!({ "info": {
            "company_name": "=HYPERLINK(\"http://evil.test\",\"Acme\")", "contact_name": "Dana Park", "contact_email": "billing@acme.test",
            "contact_phone": "", "tax_id": "",
            "address": { "country": "US", "line1": "1 Main St", "line2": "", "city": "Springfield", "region": "IL", "postal_code": "62701" }
        }});
        assert_eq!(app.call_json(&c, "billing/save-info", &info).await.status(), 200);
        app.clock.set(millis(2026, 11, 1) + 3_600_000);
        app.services.billing_run.run_month(BillingMonth::new(2026, 10).unwrap()).await.unwrap();
        app.clock.set(millis(2026, 12, 1) + 3_600_000);
        app.services.billing_run.run_month(BillingMonth::new(2026, 11).unwrap()).await.unwrap();
        let numbers: Vec<(String, String)> = sqlx::query_as("SELECT id, number FROM invoices WHERE account_id = $1 ORDER BY month")
            .bind(&acme).fetch_all(app.db.pool()).await.unwrap();
        assert_eq!(numbers.len(), 2);
        let theirs: String = sqlx::query_scalar("SELECT number FROM invoices WHERE account_id = $1 LIMIT 1")
            .bind(&other).fetch_one(app.db.pool()).await.unwrap();
        // A credit note on the first, made on December 2.
        sqlx::query("INSERT INTO credit_notes (id, account_id, invoice_id, number, invoice_number, company_name, amount_cents, reason, settlement, created_by, created_at) \
                     VALUES ('cn1', $1, $2, 'CN-2026-000001', $3, 'Acme', 250, 'Goodwill', 'balance', 'finance@seller.test', $4)")
            .bind(&acme).bind(&numbers[0].0).bind(&numbers[0].1).bind(millis(2026, 12, 2))
            .execute(app.db.pool()).await.unwrap();

        // The matrix: the billing roles download, the others are refused.
        for role in ALL_ROLES {
            let cookie = app.session_cookie_for(&format!("acme-{}", role.code())).await;
            let res = download(&app, &cookie, "2026-11-01", "2026-12-31", "*/*").await;
            assert_eq!(res.status().as_u16(), if allows(role, Action::ViewBilling) { 200 } else { 403 }, "{role:?}");
        }
        let c = app.session_cookie_for("acme-admin_billing").await;
        let res = download(&app, &c, "2026-11-01", "2026-12-31", "*/*").await;
        assert_eq!(res.headers()["content-type"], "application/zip");
        assert_eq!(res.headers()["content-disposition"], "attachment; filename=\"tally-invoices-2026-11-01-to-2026-12-31.zip\"");
        let files = unzip(&res.bytes().await.unwrap());
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, [
            "invoices.csv".to_string(),
            format!("invoices/{}.pdf", numbers[0].1),
            format!("invoices/{}.pdf", numbers[1].1),
            "credit-notes/CN-2026-000001.pdf".to_string(),
        ]);
        assert!(files[1..].iter().all(|(_, pdf)| pdf.starts_with(b"%PDF-")));
        let csv = String::from_utf8(files[0].1.clone()).unwrap();
        let rows = tally_core::csv::records(&csv).unwrap();
        assert_eq!(rows.len(), 4, "{csv}");
        assert_eq!(rows[0].1[..4], ["Document", "Number", "Issued", "Month"]);
        assert_eq!(rows[1].1[..4], ["Invoice".to_string(), numbers[0].1.clone(), "2026-11-01".into(), "2026-10".into()]);
        assert_eq!(rows[1].1[4], "'=HYPERLINK(\"http://evil.test\",\"Acme\")", "never a formula");
        assert_eq!((rows[3].1[0].as_str(), rows[3].1[9].as_str(), rows[3].1[13].as_str()), ("Credit note", "2.50", numbers[0].1.as_str()));
        assert!(!csv.contains(&theirs), "another account's invoice");

        // One month only: November's invoice (made December 1), no note.
        let res = download(&app, &c, "2026-12-01", "2026-12-01", "*/*").await;
        let files = unzip(&res.bytes().await.unwrap());
        assert_eq!(files.len(), 2);
        assert_eq!(files[1].0, format!("invoices/{}.pdf", numbers[1].1));

        // Dates core refuses: the messages, as JSON or, to a browser's plain form, a page.
        let res = download(&app, &c, "2026-12-31", "2026-11-01", "application/json").await;
        assert_eq!(res.status(), 422);
        let errors: Value = res.json().await.unwrap();
        assert_eq!(errors["Validation"]["to"], "The last date can't be before the first.");
        let res = download(&app, &c, "", "2026-11-01", "text/html,application/xhtml+xml").await;
        assert_eq!(res.status(), 422);
        let page = res.text().await.unwrap();
        assert!(page.contains("Enter the first date.") && page.contains("href=\"/billing\""), "{page}");
        // Signed out: refused.
        assert_eq!(download(&app, "", "2026-11-01", "2026-12-31", "*/*").await.status(), 401);
    }
}
