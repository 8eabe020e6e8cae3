//! Corrections (issue 33): after an account's billing details change, the seller's Finance
//! staff correct an invoice. The original stays as issued and is cancelled by a credit note
//! for its whole amount; a new invoice of the same month, numbered next in the series, bills
//! the same users with the details and tax as they are now; the two name each other on the
//! page, the PDF and the e-invoice (UBL type 384 with a billing reference). What was paid for
//! the original is taken off the correction; an unpaid original is owed no more, and its
//! correction is charged instead. Forbidden roles and other accounts' invoices are refused.

use reqwest::Method;
use serde_json::{json, Value};
use tally_core::{billing::BillingMonth, operators::OperatorRole};

use crate::{
    billing_contact::pdf_text,
    both_databases,
    helpers::TestApp,
    invoicing::millis,
    operators::enrolled,
    rest::{api, make_key},
    tax::{customer, german_seller},
};

/// Each invoice of the account, oldest first: number, status, amount, credit applied,
/// tax, credited, corrects_number, corrected_by.
#[allow(clippy::type_complexity)]
async fn invoices_of(
    app: &TestApp,
    account: &str,
) -> Vec<(
    String,
    String,
    i64,
    i64,
    i64,
    i64,
    Option<String>,
    Option<String>,
)> {
    sqlx::query_as(
        "SELECT number, status, amount_cents, credit_applied_cents, tax_cents, credited_cents, corrects_number, corrected_by \
         FROM invoices WHERE account_id = $1 ORDER BY created_at, number",
    )
    .bind(account)
    .fetch_all(app.db.pool())
    .await
    .unwrap()
}

async fn balance(app: &TestApp, account: &str) -> i64 {
    sqlx::query_scalar("SELECT credit_balance_cents FROM accounts WHERE id = $1")
        .bind(account)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
}

async fn invoice_id(app: &TestApp, number: &str) -> String {
    sqlx::query_scalar("SELECT id FROM invoices WHERE number = $1")
        .bind(number)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
}

both_databases! {
    async fn a_correction_cancels_the_invoice_with_a_credit_note_and_bills_the_same_users_with_todays_details(app: TestApp) {
        app.clock.set(millis(2026, 10, 1) + 3_600_000);
        let owner = german_seller(&app, "DE 19 %").await;
        // A key for the seller's books, which may write credit notes (and so correct).
        let key = make_key(&app, &owner, "books", &["credit_notes_write", "invoices_read"]).await;
        // Two French businesses that gave no VAT number: October's 2 billable users at $5.00
        // bear German VAT (19 %). One pays by card; the other's card fails.
        let paid = customer(&app, "paid", "FR", None).await;
        let unpaid = customer(&app, "late", "FR", None).await;
        sqlx::query("UPDATE payment_methods SET gateway_token = 'tok_sandbox_fails_late' WHERE account_id = $1")
            .bind(&unpaid).execute(app.db.pool()).await.unwrap();
        let other = customer(&app, "other", "DE", None).await;
        app.clock.set(millis(2026, 11, 1) + 3_600_000);
        let october = BillingMonth::new(2026, 10).unwrap();
        app.services.billing_run.run_month(october).await.unwrap();
        let first = invoices_of(&app, &paid).await;
        assert_eq!(first.len(), 1);
        let (original, status, amount, _, tax, ..) = first[0].clone();
        assert_eq!((status.as_str(), amount, tax), ("paid", 1190, 190));
        assert_eq!(invoices_of(&app, &unpaid).await[0].1, "failed");

        // Their billing administrator gives the VAT number afterwards: a business in another
        // member state, reverse charge.
        sqlx::query("UPDATE billing_info SET tax_id = 'FR40303265045', company_name = 'Paid SARL' WHERE account_id = $1")
            .bind(&paid).execute(app.db.pool()).await.unwrap();

        app.seed_operator(OperatorRole::Finance).await;
        app.seed_operator(OperatorRole::Support).await;
        let finance = TestApp::new_client();
        enrolled(&app, &finance, "finance@seller.test").await;
        let support = TestApp::new_client();
        enrolled(&app, &support, "support@seller.test").await;
        let id = invoice_id(&app, &original).await;
        let correct = |client: &reqwest::Client, account: &str, invoice: &str, reason: &str| {
            let form = [("account_id", account.to_string()), ("invoice_id", invoice.to_string()), ("reason", reason.to_string())];
            let client = client.clone();
            let app = &app;
            async move {
                let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
                app.call(&client, "operator/invoices/correct", &form).await
            }
        };
        // Support may look, not correct; an invoice is found only through its own account; the
        // reason is required, beside its field. Nothing changes.
        assert_eq!(correct(&support, &paid, &id, "VAT number added").await.status(), 403);
        assert_eq!(correct(&finance, &other, &id, "VAT number added").await.status(), 404);
        let res = correct(&finance, &paid, &id, " ").await;
        assert_eq!(res.status(), 422);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["Validation"]["reason"], "Say why: the account's billing contact reads it.");
        assert_eq!(invoices_of(&app, &paid).await.len(), 1);

        // Corrected: the same 2 users, now reverse charged (no VAT), numbered next in the series.
        let res = correct(&finance, &paid, &id, "VAT number added").await;
        assert_eq!(res.status(), 200, "{:?}", res.text().await);
        let made: Value = res.json().await.unwrap();
        let number = made["number"].as_str().unwrap().to_string();
        assert_eq!(number, "INV-2026-000004", "after the run's three");
        assert_eq!((made["corrects"].as_str(), made["tax_category"].as_str()), (Some(original.as_str()), Some("ReverseCharge")));
        let all = invoices_of(&app, &paid).await;
        // The original as issued, credited in full and naming its correction; the correction
        // takes what was paid ($11.90) off its $10.00: nothing to charge, $1.90 left as credit.
        assert_eq!(all[0], (original.clone(), "paid".into(), 1190, 0, 190, 1190, None, Some(number.clone())));
        assert_eq!(all[1], (number.clone(), "zero".into(), 0, 1000, 0, 0, Some(original.clone()), None));
        assert_eq!(balance(&app, &paid).await, 190);
        let (note, note_amount, reason, settlement): (String, i64, String, String) = sqlx::query_as(
            "SELECT number, amount_cents, reason, settlement FROM credit_notes WHERE account_id = $1",
        ).bind(&paid).fetch_one(app.db.pool()).await.unwrap();
        assert_eq!((note.as_str(), note_amount, settlement.as_str()), ("CN-2026-000001", 1190, "balance"));
        assert_eq!(reason, format!("Corrected by invoice {number}: VAT number added"));
        // Logged as the staff's, and both documents emailed.
        let logged: Vec<(String, String)> = sqlx::query_as("SELECT COALESCE(actor_email, ''), detail FROM audit_events WHERE account_id = $1 AND kind = 'invoice_corrected'")
            .bind(&paid).fetch_all(app.db.pool()).await.unwrap();
        assert_eq!(logged.len(), 1);
        assert!(logged[0].0.starts_with("finance@seller.test") && logged[0].1.contains(&number) && logged[0].1.contains("CN-2026-000001"), "{logged:?}");
        let mails = app.outbox_messages();
        assert!(mails.iter().any(|m| m.contains("To: billing@paid.test") && m.contains(&format!("Corrects invoice {original}"))), "the correction's email");
        assert!(mails.iter().any(|m| m.contains("To: billing@paid.test") && m.contains("CN-2026-000001")), "the credit note's email");

        // The billing administrator's documents name each other.
        let c = app.session_cookie_for("paid-admin_billing").await;
        let get = |path: String| app.client.get(app.url(&path)).header("Cookie", &c).send();
        let new_id = invoice_id(&app, &number).await;
        let pdf = pdf_text(&get(format!("/billing/invoices/{new_id}/pdf")).await.unwrap().bytes().await.unwrap());
        for line in [format!("Corrected invoice {number}"), format!("Corrects invoice {original}"), "Paid SARL".into(), "Reverse charge".into()] {
            assert!(pdf.contains(&line), "{line} in {pdf}");
        }
        let old_pdf = pdf_text(&get(format!("/billing/invoices/{id}/pdf")).await.unwrap().bytes().await.unwrap());
        // The original keeps its title and lines; its status says what became of it, as a void's does.
        assert!(old_pdf.contains(&format!("Invoice {original}")) && !old_pdf.contains("Corrected invoice"), "{old_pdf}");
        assert!(old_pdf.contains(&format!("Corrected by invoice {number}")), "{old_pdf}");
        let xml = get(format!("/billing/invoices/{new_id}/xml")).await.unwrap().text().await.unwrap();
        for part in [
            "<cbc:InvoiceTypeCode>384</cbc:InvoiceTypeCode>".to_string(),
            format!("<cac:BillingReference><cac:InvoiceDocumentReference><cbc:ID>{original}</cbc:ID>"),
            "FR40303265045".into(),
        ] {
            assert!(xml.contains(&part), "{part} in {xml}");
        }
        let page = get("/billing".into()).await.unwrap().text().await.unwrap();
        assert!(page.contains(&format!("Corrected by invoice {number}")) && page.contains(&format!("Corrects invoice {original}")), "the history links them");

        // Once is enough: a second correction of the original is refused, and says where to go.
        let again = correct(&finance, &paid, &id, "Again").await;
        assert_eq!(again.status(), 409);
        assert!(again.text().await.unwrap().contains(&format!("corrected already, by invoice {number}")));
        // The month's run again makes nothing more.
        let report = app.services.billing_run.run_month(october).await.unwrap();
        assert_eq!(report.invoices_created, 0);

        // An unpaid original: owed no more, never retried; its correction is charged to the
        // card now on file.
        sqlx::query("UPDATE payment_methods SET gateway_token = 'tok_sandbox_good' WHERE account_id = $1")
            .bind(&unpaid).execute(app.db.pool()).await.unwrap();
        let (failed, ..) = invoices_of(&app, &unpaid).await[0].clone();
        let failed_id = invoice_id(&app, &failed).await;
        let res = correct(&finance, &unpaid, &failed_id, "Company name misspelt").await;
        assert_eq!(res.status(), 200, "{:?}", res.text().await);
        let made: Value = res.json().await.unwrap();
        assert_eq!(made["status"], "paid");
        let all = invoices_of(&app, &unpaid).await;
        assert_eq!((all[0].1.as_str(), all[0].5, all[0].7.as_deref()), ("corrected", 1190, made["number"].as_str()));
        assert_eq!((all[1].1.as_str(), all[1].2, all[1].3), ("paid", 1190, 0));
        assert_eq!(balance(&app, &unpaid).await, 0, "nothing was paid for the original");
        let next: Option<i64> = sqlx::query_scalar("SELECT next_attempt_at FROM invoices WHERE id = $1")
            .bind(&failed_id).fetch_one(app.db.pool()).await.unwrap();
        assert_eq!(next, None, "never retried");

        // Through the API, with a key that may write credit notes.
        let other_invoice = invoice_id(&app, &invoices_of(&app, &other).await[0].0).await;
        let path = format!("/v1/accounts/{other}/invoices/{other_invoice}/corrections");
        let (status, body, _) = api(&app, &key, Method::POST, &path, Some(json!({"reason": " "}))).await;
        assert_eq!(status, 422, "{body}");
        let (status, body, _) = api(&app, &key, Method::POST, &path, Some(json!({"reason": "Address changed"}))).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["corrects"], invoices_of(&app, &other).await[0].0.as_str());
        // The list pages through both of the month's invoices, the correction first.
        let (_, page1, _) = api(&app, &key, Method::GET, &format!("/v1/accounts/{other}/invoices?limit=1"), None).await;
        assert_eq!(page1["data"][0]["number"], body["number"]);
        let cursor = page1["next_cursor"].as_str().unwrap();
        let (_, page2, _) = api(&app, &key, Method::GET, &format!("/v1/accounts/{other}/invoices?limit=1&cursor={cursor}"), None).await;
        assert_eq!(page2["data"][0]["corrected_by"], body["number"]);
        assert_eq!(page2["has_more"], false);
    }
}
