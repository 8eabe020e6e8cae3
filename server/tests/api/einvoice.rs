//! E-invoices (issue 33): every invoice and credit note is also EN 16931 XML — UBL 2.1 to
//! download and in the invoice email, and CII inside its PDF as Factur-X. The samples made
//! here over HTTP (a domestic invoice, a reverse-charged one, an export outside the EU, a credit
//! note, a corrected invoice and the credit note that cancels its original) are written to `target/einvoice-samples/` and checked by the outside validators
//! (`data/einvoice_check.py`: the CEN EN 16931 UBL Schematron, the Factur-X EN 16931 XSD and
//! Schematron, run with saxonche; `factur-x`'s reading of the PDF): zero failed asserts each.
//! Every PDF is also checked against the PDF/A-3B rules that apply to it
//! (`data/pdfa_check.py`, with pypdf, fontTools and lxml), and that check is shown to refuse
//! each rule broken.

use std::path::PathBuf;

use tally_core::{billing::BillingMonth, operators::OperatorRole, roles::Role};

use crate::{
    both_databases,
    helpers::TestApp,
    invoicing::millis,
    operators::enrolled,
    tax::{customer, german_seller},
};

async fn download(app: &TestApp, cookie: &str, path: &str) -> reqwest::Response {
    app.client
        .get(app.url(path))
        .header("Cookie", cookie)
        .send()
        .await
        .unwrap()
}

/// The API checkers' Python (the test command installs `factur-x` and `saxonche` into it).
fn checkers_python() -> String {
    std::env::var("TALLY_TEST_WEBHOOK_PYTHON").unwrap_or_else(|_| {
        panic!(
            "TALLY_TEST_WEBHOOK_PYTHON is not set: run the tests through scripts/test.sh, \
             which installs the outside checkers (factur-x, saxonche) and names their Python"
        )
    })
}

both_databases! {
    async fn every_invoice_and_credit_note_is_an_e_invoice_the_outside_validators_accept(app: TestApp) {
        app.clock.set(millis(2026, 10, 1) + 3_600_000);
        german_seller(&app, "DE 19 %").await;
        let home = customer(&app, "home", "DE", Some("DE113866163")).await;
        let business = customer(&app, "business", "FR", Some("FR40303265045")).await;
        let abroad = customer(&app, "abroad", "US", Some("911144442")).await;
        // In euros at home, and in yen abroad (no minor unit).
        let euro = customer(&app, "euro", "DE", None).await;
        crate::currencies::plan_in(&app, &euro, "EUR", 450).await;
        let yen = customer(&app, "yen", "JP", None).await;
        crate::currencies::plan_in(&app, &yen, "JPY", 500).await;
        sqlx::query("INSERT INTO invoice_fields (account_id, po_number, custom, updated_at) VALUES ($1, '4500012345', '[]', 0)")
            .bind(&business).execute(app.db.pool()).await.unwrap();
        app.clock.set(millis(2026, 11, 1) + 3_600_000);
        app.services.billing_run.run_month(BillingMonth::new(2026, 10).unwrap()).await.unwrap();

        // A credit note on the domestic invoice: $4.00 of its $11.90.
        app.seed_operator(OperatorRole::Finance).await;
        let finance = TestApp::new_client();
        enrolled(&app, &finance, "finance@seller.test").await;
        let invoice_of = |account: String| {
            let app = &app;
            async move {
                sqlx::query_scalar::<_, String>("SELECT id FROM invoices WHERE account_id = $1")
                    .bind(account).fetch_one(app.db.pool()).await.unwrap()
            }
        };
        let home_invoice = invoice_of(home.clone()).await;
        let res = app.call(&finance, "operator/invoices/credit-note", &[
            ("account_id", home.as_str()), ("invoice_id", home_invoice.as_str()), ("amount", "4.00"), ("reason", "Outage on Oct 9"),
        ]).await;
        assert_eq!(res.status(), 200, "{:?}", res.text().await);
        let note: String = sqlx::query_scalar("SELECT id FROM credit_notes WHERE account_id = $1").bind(&home).fetch_one(app.db.pool()).await.unwrap();

        let backend = format!("{:?}", app.db.backend()).to_lowercase();
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/einvoice-samples");
        std::fs::create_dir_all(&dir).unwrap();
        let mut files = Vec::new();
        for (tag, account, kind) in [("home", &home, "domestic"), ("business", &business, "reverse-charge"), ("abroad", &abroad, "export"), ("euro", &euro, "domestic-eur"), ("yen", &yen, "export-jpy")] {
            let c = app.session_cookie_for(&format!("{tag}-admin_billing")).await;
            let id = invoice_of(account.clone()).await;
            let xml = download(&app, &c, &format!("/billing/invoices/{id}/xml")).await;
            assert_eq!(xml.status(), 200, "{kind}");
            assert_eq!(xml.headers()["content-type"], "application/xml");
            let number: String = sqlx::query_scalar("SELECT number FROM invoices WHERE id = $1").bind(&id).fetch_one(app.db.pool()).await.unwrap();
            assert_eq!(xml.headers()["content-disposition"], format!("attachment; filename=\"tally-invoice-{number}.xml\""));
            let xml = xml.text().await.unwrap();
            assert!(xml.contains(&format!("<cbc:ID>{number}</cbc:ID>")), "{xml}");
            let pdf = download(&app, &c, &format!("/billing/invoices/{id}/pdf")).await.bytes().await.unwrap();
            for (ext, bytes) in [("xml", xml.into_bytes()), ("pdf", pdf.to_vec())] {
                let path = dir.join(format!("{backend}-{kind}.{ext}"));
                std::fs::write(&path, bytes).unwrap();
                files.push(path);
            }
            // The Billing page offers it.
            let page = app.client.get(app.url("/billing")).header("Cookie", &c).header("Accept", "text/html")
                .send().await.unwrap().text().await.unwrap();
            assert!(page.contains(&format!("/billing/invoices/{id}/xml")), "{kind}: the XML link");
        }
        let c = app.session_cookie_for("home-admin_billing").await;
        for ext in ["xml", "pdf"] {
            let res = download(&app, &c, &format!("/billing/credit-notes/{note}/{ext}")).await;
            assert_eq!(res.status(), 200, "credit note {ext}");
            let path = dir.join(format!("{backend}-credit-note.{ext}"));
            std::fs::write(&path, res.bytes().await.unwrap()).unwrap();
            files.push(path);
        }
        // A corrected invoice (type 384): the export's customer is renamed after it was
        // invoiced, and Finance corrects it; the original is cancelled by a credit note.
        sqlx::query("UPDATE billing_info SET company_name = 'Abroad Holdings Inc.' WHERE account_id = $1")
            .bind(&abroad).execute(app.db.pool()).await.unwrap();
        let original = invoice_of(abroad.clone()).await;
        let original_number: String = sqlx::query_scalar("SELECT number FROM invoices WHERE id = $1").bind(&original).fetch_one(app.db.pool()).await.unwrap();
        let res = app.call(&finance, "operator/invoices/correct", &[
            ("account_id", abroad.as_str()), ("invoice_id", original.as_str()), ("reason", "Company renamed"),
        ]).await;
        assert_eq!(res.status(), 200, "{:?}", res.text().await);
        let corrected: serde_json::Value = res.json().await.unwrap();
        let corrected = corrected["id"].as_str().unwrap().to_string();
        let cancelling: String = sqlx::query_scalar("SELECT id FROM credit_notes WHERE account_id = $1").bind(&abroad).fetch_one(app.db.pool()).await.unwrap();
        let c = app.session_cookie_for("abroad-admin_billing").await;
        for (path, kind) in [(format!("invoices/{corrected}"), "corrected"), (format!("credit-notes/{cancelling}"), "corrected-credit-note")] {
            for ext in ["xml", "pdf"] {
                let res = download(&app, &c, &format!("/billing/{path}/{ext}")).await;
                assert_eq!(res.status(), 200, "{kind} {ext}");
                let path = dir.join(format!("{backend}-{kind}.{ext}"));
                std::fs::write(&path, res.bytes().await.unwrap()).unwrap();
                files.push(path);
            }
        }

        // The outside validators: zero failed asserts each.
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/api/data/einvoice_check.py");
        let out = std::process::Command::new(checkers_python()).arg(&script).args(&files).output().unwrap();
        let report = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        println!("{report}");
        assert!(out.status.success(), "the validators refused a sample:\n{report}");
        assert_eq!(report.matches(": 0 failed asserts").count(), files.len(), "{report}");
        // Every PDF keeps the PDF/A-3B rules (fonts embedded, widths, output intent, XMP)…
        let pdfs = files.iter().filter(|f| f.extension().is_some_and(|e| e == "pdf")).count();
        assert!(pdfs >= 6, "{files:?}");
        assert_eq!(report.matches(": PDF/A-3B rules passed").count(), pdfs, "{report}");
        // …and that check finds each rule broken, one at a time.
        let pdfa = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/api/data/pdfa_check.py");
        let out = std::process::Command::new(checkers_python()).arg(&pdfa).arg("--self-test").arg(dir.join(format!("{backend}-domestic.pdf"))).output().unwrap();
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success() && said.matches("refused under").count() >= 8, "{said}{}", String::from_utf8_lossy(&out.stderr));

        // …and they do refuse: the domestic invoice with its VAT a dollar off.
        let domestic = std::fs::read_to_string(dir.join(format!("{backend}-domestic.xml"))).unwrap();
        let broken = dir.join(format!("{backend}-broken.xml"));
        std::fs::write(&broken, domestic.replacen("<cbc:TaxAmount currencyID=\"USD\">1.90</cbc:TaxAmount>", "<cbc:TaxAmount currencyID=\"USD\">2.90</cbc:TaxAmount>", 1)).unwrap();
        let refused = std::process::Command::new(checkers_python()).arg(&script).arg(&broken).output().unwrap();
        let said = String::from_utf8_lossy(&refused.stdout);
        assert!(!refused.status.success() && said.contains("BR-CO-14"), "{said}");
        std::fs::remove_file(&broken).unwrap();

        // What the validators read is what was invoiced.
        let rc = std::fs::read_to_string(dir.join(format!("{backend}-reverse-charge.xml"))).unwrap();
        for part in ["<cbc:ID>AE</cbc:ID>", "VATEX-EU-AE", "<cbc:CompanyID>FR40303265045</cbc:CompanyID>", "<cbc:CompanyID>DE813113875</cbc:CompanyID>", "<cbc:BuyerReference>4500012345</cbc:BuyerReference>", "<cbc:PayableAmount currencyID=\"USD\">10.00</cbc:PayableAmount>"] {
            assert!(rc.contains(part), "{part} in {rc}");
        }
        let domestic = std::fs::read_to_string(dir.join(format!("{backend}-domestic.xml"))).unwrap();
        for part in ["<cbc:ID>S</cbc:ID><cbc:Percent>19</cbc:Percent>", "<cbc:TaxAmount currencyID=\"USD\">1.90</cbc:TaxAmount>", "<cbc:PayableAmount currencyID=\"USD\">11.90</cbc:PayableAmount>"] {
            assert!(domestic.contains(part), "{part} in {domestic}");
        }
        let yen = std::fs::read_to_string(dir.join(format!("{backend}-export-jpy.xml"))).unwrap();
        for part in ["<cbc:DocumentCurrencyCode>JPY</cbc:DocumentCurrencyCode>", "<cbc:LineExtensionAmount currencyID=\"JPY\">1000</cbc:LineExtensionAmount>", "<cbc:PayableAmount currencyID=\"JPY\">1000</cbc:PayableAmount>"] {
            assert!(yen.contains(part), "{part} in {yen}");
        }
        let euro = std::fs::read_to_string(dir.join(format!("{backend}-domestic-eur.xml"))).unwrap();
        assert!(euro.contains("<cbc:PayableAmount currencyID=\"EUR\">10.71</cbc:PayableAmount>"), "{euro}");
        let credit = std::fs::read_to_string(dir.join(format!("{backend}-credit-note.xml"))).unwrap();
        for part in ["<CreditNote ", "<cbc:CreditNoteTypeCode>381</cbc:CreditNoteTypeCode>", "<cac:InvoiceDocumentReference><cbc:ID>INV-2026-", "<cbc:TaxableAmount currencyID=\"USD\">3.36</cbc:TaxableAmount>", "<cbc:PayableAmount currencyID=\"USD\">4.00</cbc:PayableAmount>"] {
            assert!(credit.contains(part), "{part} in {credit}");
        }

        let fixed = std::fs::read_to_string(dir.join(format!("{backend}-corrected.xml"))).unwrap();
        for part in [
            "<cbc:InvoiceTypeCode>384</cbc:InvoiceTypeCode>".to_string(),
            format!("<cac:BillingReference><cac:InvoiceDocumentReference><cbc:ID>{original_number}</cbc:ID>"),
            "Abroad Holdings Inc.".into(),
            "<cbc:PrepaidAmount currencyID=\"USD\">10.00</cbc:PrepaidAmount>".into(),
            "<cbc:PayableAmount currencyID=\"USD\">0.00</cbc:PayableAmount>".into(),
        ] {
            assert!(fixed.contains(&part), "{part} in {fixed}");
        }
        let cancel = std::fs::read_to_string(dir.join(format!("{backend}-corrected-credit-note.xml"))).unwrap();
        assert!(cancel.contains(&format!("<cac:InvoiceDocumentReference><cbc:ID>{original_number}</cbc:ID>")) && cancel.contains("<cbc:PayableAmount currencyID=\"USD\">10.00</cbc:PayableAmount>"), "{cancel}");

        // The invoice email carries both: the Factur-X PDF and the UBL XML.
        let mail = app.outbox_raw().into_iter().find(|m| m.contains("To: billing@business.test")).expect("the invoice's email");
        assert!(mail.contains(".pdf\"") && mail.contains(".xml\""), "both attached");
        assert!(mail.contains("Content-Type: application/xml"), "{mail}");

        // Another account's e-invoice is not found; a role without billing is refused.
        let other = app.session_cookie_for("business-admin_billing").await;
        assert_eq!(download(&app, &other, &format!("/billing/invoices/{home_invoice}/xml")).await.status(), 404);
        assert_eq!(download(&app, &other, &format!("/billing/credit-notes/{note}/xml")).await.status(), 404);
        app.seed_account("nobill", &[Role::Administrator]).await;
        let nobill = app.session_cookie_for("nobill-admin").await;
        assert_eq!(download(&app, &nobill, &format!("/billing/invoices/{home_invoice}/xml")).await.status(), 403);
        assert_eq!(app.client.get(app.url(&format!("/billing/invoices/{home_invoice}/xml"))).send().await.unwrap().status(), 401);
    }
}
