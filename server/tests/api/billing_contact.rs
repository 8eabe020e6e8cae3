//! Invoices that reach the people they are for (issue 19), on both databases: the monthly
//! invoice email and a copy carry the invoice as a PDF; an account without billing
//! information still has a billing contact (its first administrator); payment failures reach
//! the contact and the opted-in billing admins; the Administrators page's "Receives invoices"
//! follows the contact, the opt-in and role changes; a run's events are in the account's
//! audit log, filterable.

use base64::Engine;
use serde_json::Value;
use tally_core::{
    billing::{date_start_millis, BillingMonth},
    roles::Role,
    NaiveDate,
};

use crate::{both_databases, helpers::TestApp};

fn millis(y: i32, m: u32, d: u32) -> i64 {
    date_start_millis(NaiveDate::from_ymd_opt(y, m, d).unwrap())
}

fn october() -> BillingMonth {
    BillingMonth::new(2026, 10).unwrap()
}

/// The attachments of a raw message: (content type line, file name, bytes).
fn attachments(raw: &str) -> Vec<(String, String, Vec<u8>)> {
    let raw = raw.replace("\r\n", "\n");
    let mut found = Vec::new();
    for part in raw.split("\n--").skip(1) {
        let Some((head, body)) = part.split_once("\n\n") else {
            continue;
        };
        let head_lower = head.to_lowercase();
        if !head_lower.contains("content-disposition: attachment") {
            continue;
        }
        let content_type = head
            .lines()
            .find(|l| l.to_lowercase().starts_with("content-type:"))
            .unwrap_or_default()
            .to_string();
        // `filename="…"`, or RFC 2231's `filename*0="…"` as lettre writes it.
        let name = head
            .split("filename")
            .nth(1)
            .and_then(|n| n.split_once('='))
            .and_then(|(_, v)| v.trim().trim_start_matches('"').split('"').next())
            .map(str::to_string)
            .unwrap_or_default();
        let b64: String = body
            .lines()
            .take_while(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .concat();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .expect("a base64 attachment");
        found.push((content_type, name, bytes));
    }
    found
}

/// A WinAnsi byte as text: Latin-1, with the bullet and the dashes mapped back.
fn win_ansi(b: u8) -> char {
    match b {
        0x80 => '\u{20ac}',
        0x95 => '\u{2022}',
        0x96 => '\u{2013}',
        0x97 => '\u{2014}',
        b => char::from(b),
    }
}

/// The PDF without the data of its filtered streams (the embedded fonts and colour
/// profile), binary that could read as strings.
fn without_binary_streams(pdf: &[u8]) -> Vec<u8> {
    let find = |from: usize, what: &[u8]| {
        pdf[from..]
            .windows(what.len())
            .position(|w| w == what)
            .map(|p| p + from)
    };
    let (mut out, mut at) = (Vec::new(), 0);
    while let Some(start) = find(at, b">>\nstream\n") {
        let body = start + b">>\nstream\n".len();
        let end = find(body, b"\nendstream").expect("every stream ends");
        let object = pdf[..start]
            .windows(4)
            .rposition(|w| w == b" obj")
            .unwrap_or(0);
        let filtered = pdf[object..start].windows(7).any(|w| w == b"/Filter");
        out.extend_from_slice(&pdf[at..if filtered { body } else { end }]);
        at = end;
    }
    out.extend_from_slice(&pdf[at..]);
    out
}

/// The text a PDF shows: every string of its content (literal `(…)` and hex `<…>`), in
/// order, one per line.
pub(crate) fn pdf_text(pdf: &[u8]) -> String {
    assert!(pdf.starts_with(b"%PDF-"), "a PDF");
    let pdf = &without_binary_streams(pdf)[..];
    let mut lines = Vec::new();
    let mut i = 0;
    while i < pdf.len() {
        // A hex string, not a dictionary's `<<` or `>>`.
        if pdf[i] == b'<' && pdf.get(i + 1) != Some(&b'<') && (i == 0 || pdf[i - 1] != b'<') {
            let end = i + pdf[i..].iter().position(|b| *b == b'>').unwrap_or(0);
            let hex: Vec<u8> = pdf[i + 1..end]
                .iter()
                .copied()
                .filter(u8::is_ascii_hexdigit)
                .collect();
            let text: String = hex
                .chunks(2)
                .map(|pair| {
                    win_ansi(u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
                })
                .collect();
            lines.push(text);
            i = end + 1;
            continue;
        }
        if pdf[i] != b'(' {
            i += 1;
            continue;
        }
        let (mut depth, mut text) = (1, String::new());
        i += 1;
        while i < pdf.len() && depth > 0 {
            let b = pdf[i];
            match b {
                b'\\' if i + 1 < pdf.len() => {
                    i += 1;
                    match pdf[i] {
                        b'n' => text.push('\n'),
                        b'(' | b')' | b'\\' => text.push(char::from(pdf[i])),
                        d if d.is_ascii_digit() => {
                            let mut v = 0u32;
                            let mut n = 0;
                            while n < 3 && i < pdf.len() && pdf[i].is_ascii_digit() {
                                v = v * 8 + u32::from(pdf[i] - b'0');
                                i += 1;
                                n += 1;
                            }
                            i -= 1;
                            text.push(char::from_u32(v).unwrap_or('?'));
                        }
                        other => text.push(char::from(other)),
                    }
                }
                b'(' => {
                    depth += 1;
                    text.push('(');
                }
                b')' => {
                    depth -= 1;
                    if depth > 0 {
                        text.push(')');
                    }
                }
                b => text.push(win_ansi(b)),
            }
            i += 1;
        }
        lines.push(text);
    }
    lines.join("\n")
}

/// An account created on Oct 1 with `users` users from Oct 5, one Administrator With Billing
/// (`owner@<tag>.test`) and, with `info`, billing information (contact
/// `billing@<tag>.test`) and a sandbox card that pays.
async fn account(app: &TestApp, tag: &str, users: i64, info: bool) -> String {
    let id = format!("acct-{tag}");
    let oct1 = millis(2026, 10, 1);
    sqlx::query("INSERT INTO accounts (id, name, created_at) VALUES ($1, $2, $3)")
        .bind(&id)
        .bind(format!("Company {tag}"))
        .bind(oct1)
        .execute(app.db.pool())
        .await
        .unwrap();
    add_admin(
        app,
        &id,
        &format!("{tag}-owner"),
        &format!("owner@{tag}.test"),
        Role::AdministratorWithBilling,
        oct1,
    )
    .await;
    sqlx::query(
        "INSERT INTO user_count_changes (id, account_id, at, delta) VALUES ($1, $2, $3, $4)",
    )
    .bind(format!("ucc-{tag}"))
    .bind(&id)
    .bind(millis(2026, 10, 5))
    .bind(users)
    .execute(app.db.pool())
    .await
    .unwrap();
    if info {
        sqlx::query(
            "INSERT INTO billing_info (account_id, company_name, contact_name, contact_email, country, line1, city, postal_code, tax_id, updated_at) \
             VALUES ($1, $2, 'Pat Payer', $3, 'GB', '1 High St', 'London', 'SW1A 1AA', 'GB123456789', $4)",
        )
        .bind(&id).bind(format!("Company {tag} Ltd")).bind(format!("billing@{tag}.test")).bind(oct1)
        .execute(app.db.pool()).await.unwrap();
        sqlx::query(
            "INSERT INTO payment_methods (account_id, gateway_token, brand, last4, exp_month, exp_year, cardholder_name, country, line1, city, postal_code, fingerprint, saved_at) \
             VALUES ($1, 'tok_sandbox_ok', 'visa', '4242', 12, 2030, 'Pat Payer', 'GB', '1 High St', 'London', 'SW1A 1AA', 'fp', $2)",
        )
        .bind(&id).bind(oct1)
        .execute(app.db.pool()).await.unwrap();
    }
    id
}

async fn add_admin(app: &TestApp, account: &str, id: &str, email: &str, role: Role, at: i64) {
    sqlx::query(
        "INSERT INTO admins (id, account_id, email, email_key, first_name, last_name, role, status, password_hash, created_at, updated_at) \
         VALUES ($1, $2, $3, $3, 'First', $4, $5, 'active', $6, $7, $7)",
    )
    .bind(id).bind(account).bind(email).bind(id).bind(role.code())
    .bind(tally_services::platform::crypto::hash_password(crate::helpers::TEST_PASSWORD)).bind(at)
    .execute(app.db.pool()).await.unwrap();
}

/// The raw messages to `to` whose subject has `needle`.
fn mail(app: &TestApp, to: &str, needle: &str) -> Vec<String> {
    app.outbox_raw()
        .into_iter()
        .filter(|m| {
            m.contains(&format!("To: {to}")) && crate::helpers::decode_eml(m).contains(needle)
        })
        .collect()
}

both_databases! {
    async fn the_monthly_invoice_and_a_copy_carry_the_invoice_as_a_pdf(app: TestApp) {
        app.clock.set(millis(2026, 11, 1) + 3_600_000);
        let acct = account(&app, "acme", 37, true).await;
        app.services.billing_run.run_month(october()).await.unwrap();
        let number: String = sqlx::query_scalar("SELECT number FROM invoices WHERE account_id = $1").bind(&acct).fetch_one(app.db.pool()).await.unwrap();

        let monthly = mail(&app, "billing@acme.test", "Your Tally invoice");
        assert_eq!(monthly.len(), 1);
        let files = attachments(&monthly[0]);
        assert_eq!(files.len(), 1, "one PDF");
        let (kind, name, pdf) = &files[0];
        assert!(kind.contains("application/pdf"), "{kind}");
        assert_eq!(name, &format!("tally-invoice-{number}.pdf"));
        let text = pdf_text(pdf);
        for expected in [
            format!("Invoice {number}"),
            "Billing period: 1\u{2013}31 October 2026".to_string(),
            "Peak users in the period: 37".into(),
            "Free users: 10".into(),
            "Price per user: $5.00".into(),
            "Billable users: 27 \u{d7} $5.00 = $135.00".into(),
            "Total: $135.00".into(),
            "Company acme Ltd".into(),
            "Pat Payer <billing@acme.test>".into(),
            "1 High St".into(),
            "Tax ID: GB123456789".into(),
            "Charged to: Visa \u{2022}\u{2022}\u{2022}\u{2022} 4242".into(),
        ] {
            assert!(text.contains(&expected), "the PDF says {expected:?}:\n{text}");
        }
        // The text repeats the essentials for those who do not open attachments.
        let body = crate::helpers::decode_eml(&monthly[0]);
        assert!(body.contains("Total: $135.00") && body.contains(&number) && body.contains("27 "), "{body}");
        // Delivered: the outbox row keeps its envelope only.
        let left: (String, String) = sqlx::query_as("SELECT text_body, attachments FROM mail_outbox WHERE to_addr = 'billing@acme.test'").fetch_one(app.db.pool()).await.unwrap();
        assert_eq!(left, (String::new(), String::new()));
        let files: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM mail_attachments").fetch_one(app.db.pool()).await.unwrap();
        assert_eq!(files, 0, "nor its attachments");

        // A copy, asked for by the owner, goes to the billing contact with the same PDF text.
        let owner = app.signed_in("owner@acme.test").await;
        let id: String = sqlx::query_scalar("SELECT id FROM invoices WHERE account_id = $1").bind(&acct).fetch_one(app.db.pool()).await.unwrap();
        let res = app.call(&owner, "billing/request-copy", &[("id", &id)]).await;
        assert_eq!(res.status(), 200);
        let copy = mail(&app, "billing@acme.test", "Copy of your Tally invoice");
        assert_eq!(copy.len(), 1);
        let files = attachments(&copy[0]);
        let text = pdf_text(&files[0].2);
        assert!(text.contains(&number) && text.contains("Total: $135.00"), "{text}");
    }

    async fn without_billing_information_the_first_administrator_gets_invoices_and_failures(app: TestApp) {
        app.clock.set(millis(2026, 10, 1));
        // Made from the console, as a new customer's account is; Ann accepts the invitation.
        let c = TestApp::new_client();
        let res = app.account_from_console(&c, "Newco", ("Ann", "Lee", "ann@newco.test"), crate::helpers::TEST_PASSWORD).await;
        assert!(res.status().is_success(), "{}", res.status());
        let acct: String = sqlx::query_scalar("SELECT id FROM accounts").fetch_one(app.db.pool()).await.unwrap();
        sqlx::query("INSERT INTO user_count_changes (id, account_id, at, delta) VALUES ('ucc', $1, $2, 12)")
            .bind(&acct).bind(millis(2026, 10, 5)).execute(app.db.pool()).await.unwrap();
        // A billing admin who asked for invoices, and one who did not.
        add_admin(&app, &acct, "opted", "opted@newco.test", Role::CommandRunnerWithBilling, millis(2026, 10, 2)).await;
        add_admin(&app, &acct, "quiet", "quiet@newco.test", Role::AdministratorWithBilling, millis(2026, 10, 2)).await;
        sqlx::query("UPDATE admins SET receives_invoices = TRUE WHERE id = 'opted'").execute(app.db.pool()).await.unwrap();

        // Overview and the Billing page name the stand-in contact and say what is missing.
        let overview: Value = app.call(&c, "billing/overview", &[]).await.json().await.unwrap();
        assert_eq!(overview["contact_email"], "ann@newco.test");
        assert_eq!(overview["has_billing_info"], false);

        app.clock.set(millis(2026, 11, 1) + 3_600_000);
        let report = app.services.billing_run.run_month(october()).await.unwrap();
        assert_eq!((report.invoices_created, report.failed), (1, 1), "no card: the charge fails");
        for to in ["ann@newco.test", "opted@newco.test"] {
            assert_eq!(mail(&app, to, "Your Tally invoice").len(), 1, "invoice to {to}");
            assert_eq!(attachments(&mail(&app, to, "Your Tally invoice")[0]).len(), 1);
            assert_eq!(mail(&app, to, "Payment failed").len(), 1, "payment failure to {to}");
        }
        assert!(mail(&app, "quiet@newco.test", "invoice").is_empty());
        let emailed: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE account_id = $1 AND kind = 'payment_failed_emailed'").bind(&acct).fetch_one(app.db.pool()).await.unwrap();
        assert_eq!(emailed, 2);

        // Once billing information is saved, its contact takes over.
        let c = app.signed_in("ann@newco.test").await;
        let info = serde_json::json!({ "info": {
            "company_name": "Newco Inc", "contact_name": "Dana Park", "contact_email": "ap@newco.test",
            "contact_phone": "", "address": { "country": "US", "line1": "1 Main St", "line2": "", "city": "Springfield", "region": "IL", "postal_code": "62701" },
            "tax_id": ""
        }});
        assert_eq!(app.call_json_from(&c, "billing/save-info", &info).await.status(), 200);
        let overview: Value = app.call(&c, "billing/overview", &[]).await.json().await.unwrap();
        assert_eq!((overview["contact_email"].as_str(), overview["has_billing_info"].as_bool()), (Some("ap@newco.test"), Some(true)));
    }

    async fn receives_invoices_says_who_does_through_contacts_opt_ins_and_role_changes(app: TestApp) {
        app.clock.set(millis(2026, 10, 1));
        let acct = account(&app, "acme", 3, false).await;
        add_admin(&app, &acct, "runner", "runner@acme.test", Role::CommandRunnerWithBilling, millis(2026, 10, 2)).await;
        add_admin(&app, &acct, "mgr", "mgr@acme.test", Role::Manager, millis(2026, 10, 3)).await;
        let owner = app.signed_in("owner@acme.test").await;
        let column = || async {
            let list: Value = app.call(&owner, "admins/list", &[]).await.json().await.unwrap();
            list["admins"].as_array().unwrap().iter()
                .map(|a| (a["email"].as_str().unwrap().to_string(), a["receives_invoices"].as_bool().unwrap(), a["billing_contact"].as_bool().unwrap()))
                .collect::<Vec<_>>()
        };
        // No billing information: the owner stands in as the contact.
        assert_eq!(column().await, [
            ("owner@acme.test".to_string(), true, true),
            ("runner@acme.test".into(), false, false),
            ("mgr@acme.test".into(), false, false),
        ]);
        // The runner opts in; a manager's stale flag never counts.
        let runner = app.signed_in("runner@acme.test").await;
        assert_eq!(app.call(&runner, "billing/receive-invoices", &[("on", "true")]).await.status(), 200);
        sqlx::query("UPDATE admins SET receives_invoices = TRUE WHERE id = 'mgr'").execute(app.db.pool()).await.unwrap();
        assert_eq!(column().await[1..], [("runner@acme.test".into(), true, false), ("mgr@acme.test".into(), false, false)]);
        // Billing information names someone outside: nobody here is the contact, the owner no
        // longer receives invoices (they did not opt in), the runner still does.
        sqlx::query(
            "INSERT INTO billing_info (account_id, company_name, contact_name, contact_email, country, line1, city, postal_code, updated_at) \
             VALUES ($1, 'Acme', 'Pat Payer', 'payables@elsewhere.test', 'GB', '1 High St', 'London', 'SW1A 1AA', 0)",
        ).bind(&acct).execute(app.db.pool()).await.unwrap();
        assert_eq!(column().await[..2], [("owner@acme.test".into(), false, false), ("runner@acme.test".into(), true, false)]);
        // A role without billing ends the opt-in, audited; a billing role again does not bring it back.
        assert_eq!(app.call(&owner, "admins/set-role", &[("id", "runner"), ("role", "command_runner")]).await.status(), 200);
        assert_eq!(app.call(&owner, "admins/set-role", &[("id", "runner"), ("role", "command_runner_billing")]).await.status(), 200);
        assert_eq!(column().await[1], ("runner@acme.test".into(), false, false));
        let ended: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE account_id = $1 AND kind = 'invoice_recipient_changed' AND target = 'runner@acme.test' AND detail LIKE '%no longer receives invoices%'")
            .bind(&acct).fetch_one(app.db.pool()).await.unwrap();
        assert_eq!(ended, 1);
    }

    async fn a_runs_invoices_charges_retries_and_emails_are_in_the_accounts_audit_log(app: TestApp) {
        app.clock.set(millis(2026, 11, 1) + 3_600_000);
        let acct = account(&app, "acme", 15, true).await;
        // The card declines until a new one is saved.
        sqlx::query("UPDATE payment_methods SET gateway_token = 'tok_sandbox_fails_x' WHERE account_id = $1").bind(&acct).execute(app.db.pool()).await.unwrap();
        let other = account(&app, "other", 15, true).await;
        app.services.billing_run.run_month(october()).await.unwrap();
        app.clock.set(millis(2026, 11, 2) + 3_600_000);
        app.services.charging.retry_due().await.unwrap();

        let owner = app.signed_in("owner@acme.test").await;
        let list = |kind: &'static str| {
            let owner = owner.clone();
            let app = &app;
            async move {
                let res = app.call(&owner, "audit/list", &[("filter[kind]", kind), ("filter[page]", "1")]).await;
                assert_eq!(res.status(), 200);
                let page: Value = res.json().await.unwrap();
                page["entries"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap().to_string()).collect::<Vec<_>>()
            }
        };
        let billing = list("billing").await;
        for kind in ["Invoice created", "Invoice emailed", "Charge failed", "Payment failure emailed"] {
            assert!(billing.iter().any(|k| k == kind), "{kind} in {billing:?}");
        }
        assert_eq!(billing.iter().filter(|k| *k == "Charge failed").count(), 2, "the first attempt and the retry");
        assert!(billing.iter().all(|k| !k.starts_with("Signed")), "billing events only: {billing:?}");
        assert_eq!(list("invoice_created").await, ["Invoice created"]);
        // Nothing of the other account's run.
        let others: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE account_id = $1 AND kind = 'invoice_created'").bind(&other).fetch_one(app.db.pool()).await.unwrap();
        assert_eq!(others, 1);
        assert_eq!(list("invoice_created").await.len(), 1);
    }

    async fn the_invitation_names_the_role_and_what_it_allows(app: TestApp) {
        app.seed_account("acme", &[Role::AdministratorWithBilling]).await;
        let owner = app.signed_in("admin_billing@acme.test").await;
        let res = app.call(&owner, "admins/create", &[("first_name", "Bo"), ("last_name", "Chen"), ("email", "bo@acme.test"), ("role", "command_runner_billing")]).await;
        assert_eq!(res.status(), 200);
        let mail = app.outbox_messages().into_iter().find(|m| m.contains("To: bo@acme.test")).expect("an invitation");
        for expected in [
            "Subject: You're invited to Tally as Command Runner With Billing",
            "Add / replace the payment method, edit billing information",
            "Request an invoice copy",
            "You run no commands until an administrator binds you to one",
        ] {
            assert!(mail.contains(expected), "{expected:?} in {mail}");
        }
        assert!(!mail.contains("Create / edit / suspend / delete users"), "only what the role allows");
    }
}
