//! The seller's money actions (issue 31): a failed charge retried now, an invoice marked paid
//! by bank transfer, one voided, and credit notes — refunded to the card through the sandbox
//! processor, or kept as credit and taken off the next invoice. Each is audited as the seller's
//! staff's, emailed to the billing contact, held to core's rules beside its field, and refused
//! for another account's invoice. The Stripe gateway's refunds are in `stripe.rs`.

use reqwest::Client;
use serde_json::Value;
use tally_core::{billing::BillingMonth, operators::OperatorRole, roles::Role};

use crate::{
    both_databases,
    helpers::TestApp,
    invoicing::{account_with, millis},
    operators::enrolled,
};

fn october() -> BillingMonth {
    BillingMonth::new(2026, 10).unwrap()
}

/// The account's October invoice: id, status, amount, credited.
async fn october_invoice(app: &TestApp, account: &str) -> (String, String, i64, i64) {
    sqlx::query_as(
        "SELECT id, status, amount_cents, credited_cents FROM invoices WHERE account_id = $1 AND month = '2026-10'",
    )
    .bind(account)
    .fetch_one(app.db.pool())
    .await
    .unwrap()
}

async fn act(
    app: &TestApp,
    client: &Client,
    endpoint: &str,
    account: &str,
    invoice: &str,
    more: &[(&str, &str)],
) -> reqwest::Response {
    let mut form = vec![("account_id", account), ("invoice_id", invoice)];
    form.extend_from_slice(more);
    app.call(client, &format!("operator/invoices/{endpoint}"), &form)
        .await
}

/// Each audit event of the account of `kind`: who, about what, and the detail.
async fn events(app: &TestApp, account: &str, kind: &str) -> Vec<(String, String, String)> {
    sqlx::query_as(
        "SELECT COALESCE(actor_email, ''), COALESCE(target, ''), detail FROM audit_events WHERE account_id = $1 AND kind = $2 ORDER BY at, id",
    )
    .bind(account)
    .bind(kind)
    .fetch_all(app.db.pool())
    .await
    .unwrap()
}

const STAFF: &str = "finance@seller.test (the seller's staff)";

both_databases! {
    async fn unpaid_invoices_are_retried_marked_paid_or_voided_each_audited_and_emailed(app: TestApp) {
        app.clock.set(millis(2026, 11, 1) + 3_600_000);
        // Four accounts whose October charge failed: no card, or a card that fails.
        let transfer = account_with(&app, "transfer", 14, None).await;
        let voided = account_with(&app, "voided", 15, None).await;
        let retried = account_with(&app, "retried", 16, Some("tok_sandbox_fails_r")).await;
        let paid = account_with(&app, "paid", 12, Some("tok_sandbox_paid")).await;
        let owing = account_with(&app, "owing", 15, None).await;
        app.services.billing_run.run_month(october()).await.unwrap();
        for a in [&transfer, &voided, &retried] {
            assert_eq!(october_invoice(&app, a).await.1, "failed");
        }
        app.seed_operator(OperatorRole::Finance).await;
        app.seed_operator(OperatorRole::Support).await;
        let finance = TestApp::new_client();
        enrolled(&app, &finance, "finance@seller.test").await;
        let support = TestApp::new_client();
        enrolled(&app, &support, "support@seller.test").await;

        // Marked paid by transfer: the reference is required, beside its field.
        let (inv, ..) = october_invoice(&app, &transfer).await;
        let res = act(&app, &finance, "mark-paid", &transfer, &inv, &[("reference", " ")]).await;
        assert_eq!(res.status(), 422);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["Validation"]["reference"], "Enter the transfer's reference, as on the bank statement.");
        // Support may look, not act; another account's invoice is not found through this one.
        assert_eq!(act(&app, &support, "mark-paid", &transfer, &inv, &[("reference", "SEPA-118")]).await.status(), 403);
        assert_eq!(act(&app, &finance, "mark-paid", &paid, &inv, &[("reference", "SEPA-118")]).await.status(), 404);
        let res = act(&app, &finance, "mark-paid", &transfer, &inv, &[("reference", "SEPA-118")]).await;
        assert_eq!(res.status(), 200, "{:?}", res.text().await);
        let (_, status, ..) = october_invoice(&app, &transfer).await;
        assert_eq!(status, "paid");
        let (reference, paid_at): (Option<String>, Option<i64>) = sqlx::query_as("SELECT payment_reference, paid_at FROM invoices WHERE id = $1")
            .bind(&inv).fetch_one(app.db.pool()).await.unwrap();
        assert_eq!((reference.as_deref(), paid_at.is_some()), (Some("SEPA-118"), true));
        assert_eq!(events(&app, &transfer, "invoice_marked_paid").await[0].0, STAFF);
        let mail = app.outbox_messages().into_iter().find(|m| m.contains("To: billing@transfer.test") && m.contains("SEPA-118")).expect("the billing contact is told");
        assert!(mail.contains("the invoice is paid"), "{mail}");
        // Paid now: no second settlement, and nothing to void.
        let again = act(&app, &finance, "void", &transfer, &inv, &[("reason", "Duplicate")]).await;
        assert_eq!(again.status(), 409);
        assert!(again.text().await.unwrap().contains("only an unpaid invoice can be"));

        // Voided, with the reason the billing contact reads; no retry is due for it after.
        let (inv, ..) = october_invoice(&app, &voided).await;
        let res = act(&app, &finance, "void", &voided, &inv, &[("reason", "")]).await;
        assert_eq!(res.status(), 422);
        assert_eq!(act(&app, &finance, "void", &voided, &inv, &[("reason", "Billed in error")]).await.status(), 200);
        assert_eq!(october_invoice(&app, &voided).await.1, "void");
        let logged = events(&app, &voided, "invoice_voided").await;
        assert_eq!((logged[0].0.as_str(), logged[0].2.as_str()), (STAFF, "Billed in error"));
        assert!(logged[0].1.starts_with("INV-2026-"), "about the invoice: {logged:?}");
        assert!(app.outbox_messages().iter().any(|m| m.contains("To: billing@voided.test") && m.contains("was voided") && m.contains("Billed in error")));
        let next: Option<i64> = sqlx::query_scalar("SELECT next_attempt_at FROM invoices WHERE id = $1")
            .bind(&inv).fetch_one(app.db.pool()).await.unwrap();
        assert_eq!(next, None, "never retried");

        // Retried now: the same failing card fails again (and says so); a good card pays.
        let (inv, ..) = october_invoice(&app, &retried).await;
        let res = act(&app, &finance, "retry", &retried, &inv, &[]).await;
        assert_eq!(res.status(), 200);
        let after: Value = res.json().await.unwrap();
        assert_eq!(after["status"], "failed");
        sqlx::query("UPDATE payment_methods SET gateway_token = 'tok_sandbox_good' WHERE account_id = $1")
            .bind(&retried).execute(app.db.pool()).await.unwrap();
        let after: Value = act(&app, &finance, "retry", &retried, &inv, &[]).await.json().await.unwrap();
        assert_eq!(after["status"], "paid");
        assert_eq!(events(&app, &retried, "charge_retried").await.len(), 2);
        assert!(app.outbox_messages().iter().any(|m| m.contains("To: billing@retried.test") && m.contains("was charged to the card on file")));
        // The account's page lists the attempts, the one that went through with the processor's id.
        let seen: Value = app.call(&finance, "operator/accounts/get", &[("id", retried.as_str())]).await.json().await.unwrap();
        let charges = seen["charges"].as_array().unwrap();
        let outcomes: Vec<&str> = charges.iter().map(|c| c["outcome"].as_str().unwrap()).collect();
        assert_eq!(outcomes, ["Succeeded", "Failed", "Failed"]);
        assert!(charges[0]["processor_id"].as_str().unwrap().starts_with("ch_sandbox_"));
        assert!(charges[1]["processor_id"].is_null() && charges[1]["message"] == "Your card was declined. Try another card, or ask your bank why.");
        assert_eq!(seen["daily_peaks"].as_array().unwrap().len(), 1, "November 1st so far");
        assert!(seen["month_chart"].as_str().unwrap().starts_with("<svg"));
        // The list's money columns, and a search by an invoice's number (as typed, any case).
        let number: String = sqlx::query_scalar("SELECT number FROM invoices WHERE account_id = $1").bind(&owing).fetch_one(app.db.pool()).await.unwrap();
        let found: Value = app.call(&finance, "operator/accounts/list", &[("search", number.to_lowercase().as_str())]).await.json().await.unwrap();
        let rows = found["accounts"].as_array().unwrap();
        assert_eq!(rows.len(), 1, "{found}");
        assert_eq!(rows[0]["name"], "Company owing");
        let money: Vec<i64> = ["peak_this_month", "estimate_cents", "monthly_revenue_cents", "amount_due_cents"]
            .iter().map(|k| rows[0][k].as_i64().unwrap()).collect();
        assert_eq!(money, [15, 2500, 2500, 2500], "15 users carried into November; October's $25.00 unpaid");
        let found: Value = app.call(&finance, "operator/accounts/list", &[("search", "company paid")]).await.json().await.unwrap();
        assert_eq!((found["accounts"][0]["monthly_revenue_cents"].as_i64(), found["accounts"][0]["amount_due_cents"].as_i64()), (Some(1000), Some(0)));
        // A paid invoice is not retried.
        assert_eq!(act(&app, &finance, "retry", &retried, &inv, &[]).await.status(), 409);

        // Ten minutes after the last check, a second step first.
        app.clock.advance_minutes(11);
        let (inv, ..) = october_invoice(&app, &paid).await;
        assert_eq!(act(&app, &finance, "credit-note", &paid, &inv, &[("whole", "true"), ("reason", "Goodwill")]).await.status(), 403);
    }

    async fn a_credit_note_refunds_the_card_or_is_kept_as_credit_for_the_next_invoice(app: TestApp) {
        app.clock.set(millis(2026, 11, 1) + 3_600_000);
        let card = account_with(&app, "card", 12, Some("tok_sandbox_card")).await;
        let transfer = account_with(&app, "transfer", 14, None).await;
        // Their billing administrators, to read the Billing page.
        for (tag, account) in [("card", &card), ("transfer", &transfer)] {
            sqlx::query("INSERT INTO admins (id, account_id, email, email_key, first_name, last_name, role, status, password_hash, created_at, updated_at) \
                         VALUES ($1, $2, $3, $3, 'O', 'W', 'admin_billing', 'active', 'x', 0, 0)")
                .bind(format!("{tag}-owner")).bind(account).bind(format!("owner@{tag}.test"))
                .execute(app.db.pool()).await.unwrap();
        }
        app.services.billing_run.run_month(october()).await.unwrap();
        app.seed_operator(OperatorRole::Finance).await;
        let finance = TestApp::new_client();
        enrolled(&app, &finance, "finance@seller.test").await;

        // Paid by card ($10.00): a partial credit note is refunded to the card.
        let (inv, status, amount, _) = october_invoice(&app, &card).await;
        assert_eq!((status.as_str(), amount), ("paid", 1000));
        let res = act(&app, &finance, "credit-note", &card, &inv, &[("amount", "10.01"), ("reason", "Outage")]).await;
        assert_eq!(res.status(), 422);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["Validation"]["amount"], "At most $10.00 is left to credit on this invoice.");
        let res = act(&app, &finance, "credit-note", &card, &inv, &[("amount", "4.00"), ("reason", "Outage on Oct 9")]).await;
        assert_eq!(res.status(), 200, "{:?}", res.text().await);
        let note: Value = res.json().await.unwrap();
        assert_eq!(note["number"], "CN-2026-000001");
        assert_eq!(note["settlement"], "Refunded");
        assert!(note["refund_id"].as_str().unwrap().starts_with("re_sandbox_"));
        let charge: String = sqlx::query_scalar("SELECT charge_id FROM invoices WHERE id = $1").bind(&inv).fetch_one(app.db.pool()).await.unwrap();
        let sandbox = app.services.sandbox.as_ref().unwrap();
        assert_eq!(sandbox.refunded(&charge).await.unwrap(), 400);
        assert_eq!(october_invoice(&app, &card).await.3, 400);
        let mail = app.outbox_raw().into_iter().find(|m| m.contains("To: billing@card.test") && m.contains("CN-2026-000001")).expect("the credit note's email");
        assert!(mail.contains("tally-credit-note-CN-2026-000001.pdf"), "its PDF attached");
        assert_eq!(events(&app, &card, "credit_note_issued").await[0].0, STAFF);
        assert_eq!(events(&app, &card, "credit_note_refunded").await.len(), 1);
        // The rest, whole; then nothing is left to credit.
        let rest: Value = act(&app, &finance, "credit-note", &card, &inv, &[("whole", "true"), ("reason", "Closing the month")]).await.json().await.unwrap();
        assert_eq!((rest["number"].as_str(), rest["amount_cents"].as_i64()), (Some("CN-2026-000002"), Some(600)));
        assert_eq!(sandbox.refunded(&charge).await.unwrap(), 1000);
        let none = act(&app, &finance, "credit-note", &card, &inv, &[("whole", "true"), ("reason", "Again")]).await;
        assert_eq!(none.status(), 409);
        assert!(none.text().await.unwrap().contains("credited in full already"));

        // The customer's Billing page lists them beside the invoices, each with its PDF; another
        // account's administrator finds neither.
        let owner = app.session_cookie_for("card-owner").await;
        let page: Value = app.call_as(&owner, "billing/invoices", &[("page", "1")]).await.json().await.unwrap();
        let notes = page["credit_notes"].as_array().unwrap();
        assert_eq!(notes.len(), 2);
        assert_eq!(page["invoices"][0]["credited_cents"], 1000);
        let id = notes[0]["id"].as_str().unwrap();
        let pdf = app.client.get(app.url(&format!("/billing/credit-notes/{id}/pdf"))).header("Cookie", &owner).send().await.unwrap();
        assert_eq!(pdf.status(), 200);
        assert_eq!(pdf.headers()["content-type"], "application/pdf");
        assert!(pdf.bytes().await.unwrap().starts_with(b"%PDF"));
        let stranger = app.session_cookie_for("transfer-owner").await;
        let theirs = app.client.get(app.url(&format!("/billing/credit-notes/{id}/pdf"))).header("Cookie", &stranger).send().await.unwrap();
        assert_eq!(theirs.status(), 404);

        // Paid by transfer ($20.00): a credit note is kept as credit…
        let (inv, ..) = october_invoice(&app, &transfer).await;
        assert_eq!(act(&app, &finance, "mark-paid", &transfer, &inv, &[("reference", "BACS 77")]).await.status(), 200);
        let kept: Value = act(&app, &finance, "credit-note", &transfer, &inv, &[("amount", "5"), ("reason", "Two users left on the 2nd")]).await.json().await.unwrap();
        assert_eq!((kept["number"].as_str(), kept["settlement"].as_str()), (Some("CN-2026-000003"), Some("Balance")));
        let theirs = app.session_cookie_for("transfer-owner").await;
        let overview: Value = app.call_as(&theirs, "billing/overview", &[]).await.json().await.unwrap();
        assert_eq!(overview["credit_balance_cents"], 500);
        assert!(app.outbox_messages().iter().any(|m| m.contains("To: billing@transfer.test") && m.contains("CN-2026-000003") && m.contains("Credit balance for the next invoices")));
        // …and taken off November's invoice: 14 users, $20.00 less $5.00.
        app.clock.set(millis(2026, 12, 1) + 3_600_000);
        app.services.billing_run.run_month(BillingMonth::new(2026, 11).unwrap()).await.unwrap();
        let (amount, applied): (i64, i64) = sqlx::query_as("SELECT amount_cents, credit_applied_cents FROM invoices WHERE account_id = $1 AND month = '2026-11'")
            .bind(&transfer).fetch_one(app.db.pool()).await.unwrap();
        assert_eq!((amount, applied), (1500, 500));
        let balance: i64 = sqlx::query_scalar("SELECT credit_balance_cents FROM accounts WHERE id = $1").bind(&transfer).fetch_one(app.db.pool()).await.unwrap();
        assert_eq!(balance, 0);
        let number: String = sqlx::query_scalar("SELECT number FROM invoices WHERE account_id = $1 AND month = '2026-11'")
            .bind(&transfer).fetch_one(app.db.pool()).await.unwrap();
        let invoice_mail = app.outbox_messages().into_iter().rev().find(|m| m.contains("To: billing@transfer.test") && m.contains(&format!("Your Tally invoice {number}"))).unwrap();
        assert!(invoice_mail.contains("Credit balance applied"), "{invoice_mail}");

        // Revenue: October invoiced $30.00; collected in November $30.00 less $10.00 refunded.
        app.seed_operator(OperatorRole::ReadOnly).await;
        let reader = TestApp::new_client();
        enrolled(&app, &reader, "read_only@seller.test").await;
        let revenue: Value = app.call(&reader, "operator/revenue", &[]).await.json().await.unwrap();
        let month = |m: &str| revenue["currencies"][0]["months"].as_array().unwrap().iter().find(|r| r["month"] == m).unwrap().clone();
        assert_eq!(month("2026-10")["invoiced_cents"], 3000);
        assert_eq!(month("2026-11")["collected_cents"], 2000);
        // The console's account page shows the notes and the balance.
        let seen: Value = app.call(&reader, "operator/accounts/get", &[("id", card.as_str())]).await.json().await.unwrap();
        assert_eq!(seen["credit_notes"].as_array().unwrap().len(), 2);
    }
}

both_databases! {
    async fn a_refund_the_processor_refuses_is_kept_as_credit_and_the_note_stands(app: TestApp) {
        app.clock.set(millis(2026, 11, 1) + 3_600_000);
        let card = account_with(&app, "card", 12, Some("tok_sandbox_card")).await;
        app.services.billing_run.run_month(october()).await.unwrap();
        let (inv, ..) = october_invoice(&app, &card).await;
        // The processor has lost the charge (a refund of it is refused).
        sqlx::query("UPDATE invoices SET charge_id = 'ch_sandbox_unknown' WHERE id = $1").bind(&inv).execute(app.db.pool()).await.unwrap();
        app.seed_operator(OperatorRole::Owner).await;
        let owner = TestApp::new_client();
        enrolled(&app, &owner, "owner@seller.test").await;
        let note: Value = act(&app, &owner, "credit-note", &card, &inv, &[("amount", "3.00"), ("reason", "Outage")]).await.json().await.unwrap();
        assert_eq!(note["settlement"], "Balance");
        assert!(note["refund_failure"].is_string(), "{note}");
        let balance: i64 = sqlx::query_scalar("SELECT credit_balance_cents FROM accounts WHERE id = $1").bind(&card).fetch_one(app.db.pool()).await.unwrap();
        assert_eq!(balance, 300);
        assert!(app.outbox_messages().iter().any(|m| m.contains("To: billing@card.test") && m.contains("did not go through")));
        // A customer administrator never reaches a money action.
        app.seed_account("acme", &[Role::AdministratorWithBilling]).await;
        let customer = app.signed_in("admin_billing@acme.test").await;
        assert_eq!(act(&app, &customer, "credit-note", &card, &inv, &[("whole", "true"), ("reason", "Mine")]).await.status(), 401);
    }
}
