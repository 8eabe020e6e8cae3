//! Documents in the reader's language (issue 34, item 6), on both databases: an account's
//! billing administrators choose the language of its invoices and billing emails, and each
//! billing contact may choose their own. The run sends one message per language, each with the
//! invoice's PDF in that language, with dates, numbers and money written as its readers write
//! them; downloads follow the account's language; a language Tally does not write is refused
//! beside its field.

use base64::Engine;
use serde_json::Value;
use tally_core::{billing::BillingMonth, roles::Role};

use crate::{
    billing_contact::pdf_text,
    both_databases,
    invoicing::millis,
    tax::{customer, german_seller},
};

/// The form of a contact subscribed to invoices, in `language` (blank: the account's).
fn contact<'a>(
    name: &'a str,
    email: &'a str,
    line: &'a str,
    language: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("contact_name", name),
        ("contact_email", email),
        ("contact_line", line),
        ("invoices", "on"),
        ("contact_language", language),
    ]
}

/// A raw message's parts: (headers, decoded body) — quoted-printable and base64 undone.
fn parts(raw: &str) -> Vec<(String, Vec<u8>)> {
    let raw = raw.replace("\r\n", "\n");
    raw.split("\n--")
        .skip(1)
        .filter_map(|part| {
            let (head, body) = part.split_once("\n\n")?;
            let lower = head.to_lowercase();
            let bytes = if lower.contains("content-transfer-encoding: base64") {
                let b64: String = body.lines().take_while(|l| !l.is_empty()).collect();
                base64::engine::general_purpose::STANDARD
                    .decode(b64.trim())
                    .ok()?
            } else if lower.contains("quoted-printable") {
                quoted_printable(body)
            } else {
                body.as_bytes().to_vec()
            };
            Some((head.to_string(), bytes))
        })
        .collect()
}

fn quoted_printable(body: &str) -> Vec<u8> {
    let body = body.replace("=\n", "");
    let bytes = body.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            if let Ok(b) =
                u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or(""), 16)
            {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

/// The plain text of a message and the text of its PDF.
fn text_and_pdf(raw: &str) -> (String, String) {
    let all = parts(raw);
    let text = all
        .iter()
        .find(|(h, _)| h.to_lowercase().contains("text/plain"))
        .map(|(_, b)| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default();
    let pdf = all
        .iter()
        .find(|(h, _)| h.to_lowercase().contains("application/pdf"))
        .map(|(_, b)| pdf_text(b))
        .unwrap_or_default();
    (text, pdf)
}

fn to<'a>(all: &'a [String], address: &str) -> Vec<&'a String> {
    all.iter()
        .filter(|m| m.contains(&format!("To: {address}")))
        .collect()
}

both_databases! {
    async fn each_reader_gets_the_invoice_in_their_language(app: TestApp) {
        app.clock.set(millis(2026, 10, 10));
        // A German seller charging German VAT; the customer is in Germany.
        let _owner = german_seller(&app, "DE").await;
        let acct = customer(&app, "sprachen", "DE", None).await;
        let billing = app.session_cookie_for("sprachen-admin_billing").await;

        // The account writes French; a language Tally does not write is refused beside its
        // field, and nothing is saved.
        let fields = |language: &'static str| vec![("po_number", ""), ("invoice_language", language)];
        let refused = app.call_as(&billing, "billing/save-invoice-fields", &fields("es")).await;
        assert_eq!(refused.status(), 422);
        let errors: Value = refused.json().await.unwrap();
        assert_eq!(errors["Validation"]["invoice_language"], "Choose one of English, Deutsch, Fran\u{e7}ais.");
        assert_eq!(app.call_as(&billing, "billing/save-invoice-fields", &fields("fr")).await.status(), 200);
        let saved: Value = app.call_as(&billing, "billing/invoice-fields", &[]).await.json().await.unwrap();
        assert_eq!(saved["language"], "fr");

        // Greta reads German, Ed English; Ann chose none, so she reads the account's French.
        let save = |f: Vec<(&'static str, &'static str)>| {
            let (app, billing) = (&app, billing.clone());
            async move { app.call_as(&billing, "billing/save-contact", &f).await }
        };
        let odd = save(contact("Odd", "odd@sprachen.test", "to", "xx")).await;
        assert_eq!(odd.status(), 422);
        let errors: Value = odd.json().await.unwrap();
        assert_eq!(errors["Validation"]["contact_language"], "Choose one of English, Deutsch, Fran\u{e7}ais.");
        assert_eq!(save(contact("Greta Buchhaltung", "greta@sprachen.test", "to", "de")).await.status(), 200);
        assert_eq!(save(contact("Ann Comptable", "ann@sprachen.test", "cc", "")).await.status(), 200);
        assert_eq!(save(contact("Ed Books", "ed@sprachen.test", "to", "en")).await.status(), 200);
        let list: Vec<Value> = app.call_as(&billing, "billing/contacts", &[]).await.json().await.unwrap();
        let languages: Vec<&Value> = list.iter().map(|c| &c["language"]).collect();
        assert_eq!(languages, [&Value::from("de"), &Value::Null, &Value::from("en")]);
        let log: Value = app.call_as(&billing, "audit/list", &[("filter[kind]", "billing_contacts_changed"), ("filter[page]", "1")]).await.json().await.unwrap();
        assert!(log["entries"].as_array().unwrap().iter().any(|e| e["detail"].as_str().unwrap().ends_with("; in Deutsch)")), "{log}");

        // October's run: the billing contact (Billing Information) and Ann read French, Greta
        // German, Ed English; one message per language, each with its own PDF.
        app.clock.set(millis(2026, 11, 1) + 3_600_000);
        app.services.billing_run.run_month(BillingMonth::new(2026, 10).unwrap()).await.unwrap();
        app.services.ctx.outbox.deliver_due().await.unwrap();
        let all = app.outbox_raw();
        let number: String = sqlx::query_scalar("SELECT number FROM invoices WHERE account_id = $1")
            .bind(&acct).fetch_one(app.db.pool()).await.unwrap();

        let greta = to(&all, "greta@sprachen.test");
        assert_eq!(greta.len(), 1, "one German message");
        assert!(!greta[0].contains("ann@sprachen.test") && !greta[0].contains("ed@sprachen.test"), "alone in it");
        let (text, pdf) = text_and_pdf(greta[0]);
        // 12 users, 2 over the 10 free at $5.00, 19 % VAT: $11.90.
        for expected in [
            "Ihre Rechnung f\u{fc}r den vergangenen Monat liegt als PDF bei.",
            &format!("Rechnung: {number}"),
            "Abrechnungszeitraum: 1.\u{2013}31. Oktober 2026",
            "H\u{f6}chste Nutzerzahl: 12, davon 10 kostenlos",
            "2 \u{d7} 5,00\u{a0}$ = 10,00\u{a0}$",
            "USt. 19 %: 1,90\u{a0}$",
            "Gesamtbetrag: 11,90\u{a0}$",
            "Rechnung in Tally ansehen",
        ] {
            assert!(text.contains(expected), "German text says {expected:?}:\n{text}");
        }
        for expected in [
            format!("Rechnung {number}"),
            "Ausgestellt am 1. November 2026".into(),
            "Rechnungsempf\u{e4}nger".into(),
            "Abrechnungszeitraum: 1.\u{2013}31. Oktober 2026".into(),
            "Kostenlose Nutzer: 10".into(),
            "Berechnete Nutzer: 2 \u{d7} 5,00\u{a0}$ = 10,00\u{a0}$".into(),
            "Gesamtbetrag inkl. USt.: 11,90\u{a0}$".into(),
            "Abgebucht von: Visa \u{2022}\u{2022}\u{2022}\u{2022} 4242".into(),
            "Tally \u{2014} Verwaltungs- und Abrechnungsportal".into(),
        ] {
            assert!(pdf.contains(&expected), "German PDF says {expected:?}:\n{pdf}");
        }
        assert!(!pdf.contains("Billing period") && !text.contains("Billing period"), "no English left");

        let ann = to(&all, "ann@sprachen.test");
        assert_eq!(ann.len(), 1, "Ann, a Cc alone, is on the To line of the French message");
        let (text, pdf) = text_and_pdf(ann[0]);
        assert!(text.contains("Votre facture du mois dernier est jointe en PDF."), "{text}");
        assert!(text.contains("Total\u{a0}: 11,90\u{a0}$US"), "{text}");
        assert!(pdf.contains("P\u{e9}riode de facturation\u{a0}: 1er\u{2013}31 octobre 2026"), "{pdf}");
        assert!(pdf.contains(&format!("Facture {number}")), "{pdf}");

        let ed = to(&all, "ed@sprachen.test");
        assert_eq!(ed.len(), 1);
        let (text, pdf) = text_and_pdf(ed[0]);
        assert!(text.contains("Your invoice for last month is attached as a PDF.") && text.contains("Total: $11.90"), "{text}");
        assert!(pdf.contains("Billing period: 1\u{2013}31 October 2026"), "{pdf}");

        let contact = to(&all, "billing@sprachen.test");
        assert_eq!(contact.len(), 1, "the billing contact reads the account's language");
        assert!(text_and_pdf(contact[0]).0.contains("Votre facture du mois dernier"));

        // The Billing page's download is in the account's language.
        let billing = app.session_cookie_for("sprachen-admin_billing").await;
        let id: String = sqlx::query_scalar("SELECT id FROM invoices WHERE account_id = $1")
            .bind(&acct).fetch_one(app.db.pool()).await.unwrap();
        let res = app.client.get(app.url(&format!("/billing/invoices/{id}/pdf"))).header("Cookie", &billing).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let downloaded = pdf_text(&res.bytes().await.unwrap());
        assert!(downloaded.contains(&format!("Facture {number}")) && downloaded.contains("Total\u{a0}: 11,90\u{a0}$US"), "{downloaded}");

        // A plain Administrator changes no language; another account's are its own.
        let other = app.seed_account("autre", &[Role::AdministratorWithBilling, Role::Administrator]).await;
        let plain = app.session_cookie_for("autre-admin").await;
        assert_eq!(app.call_as(&plain, "billing/save-invoice-fields", &fields("de")).await.status(), 403);
        let theirs: Value = app.call_as(&app.session_cookie_for("autre-admin_billing").await, "billing/invoice-fields", &[]).await.json().await.unwrap();
        assert_eq!(theirs["language"], "en", "{other} keeps English");
    }
}
