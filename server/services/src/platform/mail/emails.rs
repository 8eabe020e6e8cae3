//! Every email Tally sends, written in one place: a plain-text body and an HTML body built
//! with `maud`, which escapes every value it inserts. Callers pass facts; the words are here,
//! and, for the billing messages (invoices, credit notes, receipts, payment problems, spend
//! alerts), in the Fluent files of the reader's language ([`crate::platform::i18n`]).

use maud::{html, Markup, DOCTYPE};
use tally_core::{locale::Locale, money::Money};

use super::Mail;
use crate::platform::i18n::{Arg, Words};

/// The HTML frame around a message's body in English, with the closing line.
fn page(body: Markup) -> String {
    localized_page(Words(Locale::En), body)
}

/// A message of a few paragraphs in English and the closing line.
fn paragraphs(to: &str, subject: &str, paragraphs: &[&str]) -> Mail {
    localized(to, Words(Locale::En), subject.to_string(), paragraphs)
}

/// A message with one call to action: a paragraph, a link, and a closing line.
fn call_to_action(
    to: &str,
    subject: &str,
    intro: &str,
    link_text: &str,
    url: &str,
    outro: &str,
) -> Mail {
    Mail {
        id: None,
        cc: Vec::new(),
        topic: None,
        to: to.to_string(),
        subject: subject.to_string(),
        text: format!("{intro}\n\n{link_text}: {url}\n\n{outro}\n\n— Tally\n"),
        html: page(html! {
            p { (intro) }
            p { a href=(url) { (link_text) } }
            p { (outro) }
        }),
        attachments: Vec::new(),
    }
}

/// The invitation to set a password, sent when an administrator is created or invited again:
/// the role, and what it allows (from the permission matrix itself).
pub fn invitation(
    to: &str,
    invited_by: &str,
    role: tally_core::roles::Role,
    url: &str,
    valid_hours: i64,
) -> Mail {
    use tally_core::roles::{allows, Action, ALL_ACTIONS};
    let intro = format!(
        "{invited_by} invited you to administer your organisation's account in Tally as {}: {}",
        role.display_name(),
        role.description()
    );
    let mut can: Vec<&str> = ALL_ACTIONS
        .into_iter()
        .filter(|a| allows(role, *a))
        .map(Action::description)
        .collect();
    if allows(role, Action::RunBoundCommands) && !allows(role, Action::ManageCommands) {
        can.push("You run no commands until an administrator binds you to one");
    }
    let set = format!(
        "Set your password to get started; the link works once and expires in {valid_hours} hours."
    );
    invitation_mail(
        to,
        format!("You're invited to Tally as {}", role.display_name()),
        &intro,
        &can,
        &set,
        url,
    )
}

/// An invitation's message: who invited whom as what, what the role may do, and the link to
/// set a password.
fn invitation_mail(
    to: &str,
    subject: String,
    intro: &str,
    can: &[&str],
    set: &str,
    url: &str,
) -> Mail {
    let link_text = "Set your password";
    let outro = "If you weren't expecting this, you can ignore this email.";
    Mail {
        id: None,
        cc: Vec::new(),
        topic: None,
        to: to.to_string(),
        subject,
        text: format!(
            "{intro}\n\nWhat you can do:\n{}\n\n{set}\n\n{link_text}: {url}\n\n{outro}\n\n— Tally\n",
            can.iter().map(|c| format!("- {c}")).collect::<Vec<_>>().join("\n")
        ),
        html: page(html! {
            p { (intro) }
            p { "What you can do:" }
            ul { @for c in can { li { (c) } } }
            p { (set) }
            p { a href=(url) { (link_text) } }
            p { (outro) }
        }),
        attachments: Vec::new(),
    }
}

/// Invites one of the seller's staff to the operator console with `role`: what the role may do,
/// and the link to set a password (then a second step, which operators must have).
pub fn operator_invitation(
    to: &str,
    invited_by: &str,
    seller: &str,
    role: tally_core::operators::OperatorRole,
    url: &str,
    valid_hours: i64,
) -> Mail {
    use tally_core::operators::{operator_allows, OperatorAction, ALL_OPERATOR_ACTIONS};
    let intro = format!(
        "{invited_by} invited you to {seller}'s operator console in Tally as {}: {}",
        role.display_name(),
        role.description()
    );
    let can: Vec<&str> = ALL_OPERATOR_ACTIONS
        .into_iter()
        .filter(|a| operator_allows(role, *a))
        .map(OperatorAction::description)
        .collect();
    let set = format!(
        "Set your password, then set up two-step verification (every operator needs it); the \
         link works once and expires in {valid_hours} hours."
    );
    invitation_mail(
        to,
        format!(
            "You're invited to {seller}'s Tally console as {}",
            role.display_name()
        ),
        &intro,
        &can,
        &set,
        url,
    )
}

/// The link to choose a new password.
pub fn password_reset(to: &str, url: &str, valid_minutes: i64) -> Mail {
    call_to_action(
        to,
        "Reset your Tally password",
        &format!(
            "Someone asked to reset the password of your Tally administrator account. The link \
             works once and expires in {valid_minutes} minutes."
        ),
        "Choose a new password",
        url,
        "If it wasn't you, ignore this email: your password stays as it is.",
    )
}

/// What a "payment method changed" notice says about the new card: never more than its brand
/// and last 4.
pub struct CardChange<'a> {
    pub saved_by_name: &'a str,
    pub saved_by_email: &'a str,
    pub account_name: &'a str,
    /// "Visa •••• 4242".
    pub card: &'a str,
    /// "12/30".
    pub expiry: &'a str,
    pub cardholder: &'a str,
}

/// Tells the billing contact and the billing administrators that the card was replaced.
pub fn payment_method_changed(to: &str, change: &CardChange<'_>) -> Mail {
    let intro = format!(
        "{} ({}) saved a new payment method for {}: {}, expires {}, cardholder {}. It replaces \
         the previous card and will be charged for the next invoices.",
        change.saved_by_name,
        change.saved_by_email,
        change.account_name,
        change.card,
        change.expiry,
        change.cardholder,
    );
    paragraphs(
        to,
        "Your payment method was changed",
        &[
            &intro,
            "If you didn't expect this change, sign in to Tally and check the payment method, or \
             contact your administrator.",
        ],
    )
}

/// The seller changed a customer account's standing (suspended, active again, closed): to its
/// billing contact, with why and whom to ask.
pub fn account_standing(
    to: &str,
    company: &str,
    what: &str,
    reason: Option<&str>,
    seller: &str,
    contact: &str,
) -> Mail {
    let why = reason.map(|r| format!("The reason given: {r}"));
    let ask = format!("Questions go to {seller}: {contact}.");
    let mut lines = vec![what];
    if let Some(why) = &why {
        lines.push(why);
    }
    lines.push(&ask);
    paragraphs(
        to,
        &format!("Your Tally account {company}: {}", short(what)),
        &lines,
    )
}

/// The first sentence of `what`, for a subject.
fn short(what: &str) -> String {
    what.split(". ")
        .next()
        .unwrap_or(what)
        .trim_end_matches('.')
        .to_lowercase()
}

/// The person's password was changed (`how`: in Account settings, with a reset link).
pub fn password_changed(to: &str, how: &str) -> Mail {
    paragraphs(
        to,
        "Your Tally password was changed",
        &[
            &format!("The password you sign in to Tally with was changed {how}. Every other session has ended."),
            "If you didn't make this change, reset your password from the sign-in page right \
             away and tell an administrator of your organisation.",
        ],
    )
}

/// A change to the person's own two-step verification (or one made to it by another
/// administrator): what happened, and what to do if it was not them.
pub fn two_step_changed(to: &str, what: &str) -> Mail {
    paragraphs(
        to,
        "Your Tally two-step verification changed",
        &[
            what,
            "If you didn't make this change, reset your password from the sign-in page and tell \
             an administrator of your organisation.",
        ],
    )
}

/// Tells an operator what the seller's Owner changed about their access to the console.
pub fn operator_access_changed(to: &str, what: &str) -> Mail {
    paragraphs(
        to,
        "Your access to the Tally operator console changed",
        &[
            what,
            "If you don't know why, ask an Owner of the operator console.",
        ],
    )
}

/// Wrong second steps on the person's sign-in: at the 5th, a warning; at the 20th, the
/// second step is closed until an Administrator With Billing resets it.
pub fn second_step_failures(to: &str, failures: i64, closed: bool) -> Mail {
    let what = format!(
        "Someone got past your Tally password (or used a signed-in session of yours), then gave {failures} wrong codes or passkeys for the second step."
    );
    let then = if closed {
        "Your two-step verification is now closed: nobody can sign in as you until an \
         Administrator With Billing of your organisation resets it on the Administrators page."
    } else {
        "If this wasn't you, someone knows your password: change it now in Account settings (or \
         reset it from the sign-in page), and tell an administrator of your organisation."
    };
    paragraphs(
        to,
        if closed {
            "Your Tally two-step verification is closed"
        } else {
            "Wrong codes on your Tally sign-in"
        },
        &[&what, then],
    )
}

/// One invoice as its emails describe it.
pub struct InvoiceFacts<'a> {
    pub number: &'a str,
    /// `YYYY-MM`.
    pub month: &'a str,
    pub amount: Money,
}

/// The monthly invoice, or (`copy`) the copy a billing administrator asked for, in `w`'s
/// language: the invoice's lines as text (for people who do not open attachments), the PDF
/// attached (and its UBL e-invoice, when there is one), and a link for those who can sign in
/// with a billing role.
#[allow(clippy::too_many_arguments)]
pub fn invoice(
    to: &str,
    w: Words,
    number: &str,
    month: &str,
    lines: &[String],
    url: &str,
    copy: bool,
    (pdf, ubl): (Vec<u8>, Option<String>),
) -> Mail {
    let n = ("number", Arg::from(number));
    let subject = if copy {
        w.say("mail-invoice-copy-subject", &[n])
    } else {
        let month = w.month(month);
        w.say("mail-invoice-subject", &[n, ("month", Arg::from(&month))])
    };
    let intro = w.word(if copy {
        "mail-invoice-copy-intro"
    } else {
        "mail-invoice-intro"
    });
    let outro = w.word("mail-invoice-outro");
    let link = (w.word("mail-invoice-link"), url);
    let pdf = (format!("tally-invoice-{number}.pdf"), pdf);
    let mut mail = with_document(to, w, subject, &intro, lines, link, &outro, pdf);
    mail.attachments
        .extend(ubl.map(|xml| e_invoice(&format!("tally-invoice-{number}.xml"), xml)));
    mail
}

/// An EN 16931 e-invoice (UBL) as an attachment, for accounting software to read.
fn e_invoice(filename: &str, xml: String) -> super::Attachment {
    super::Attachment {
        filename: filename.to_string(),
        content_type: "application/xml".into(),
        data: xml.into_bytes(),
    }
}

/// A message about a document, in `w`'s language: a paragraph, its lines as a list, a link,
/// a closing paragraph, and the document attached as a PDF (`filename`, bytes).
#[allow(clippy::too_many_arguments)]
fn with_document(
    to: &str,
    w: Words,
    subject: String,
    intro: &str,
    lines: &[String],
    (link_text, url): (String, &str),
    outro: &str,
    (filename, pdf): (String, Vec<u8>),
) -> Mail {
    let sign_off = w.word("mail-sign-off");
    Mail {
        id: None,
        cc: Vec::new(),
        topic: None,
        to: to.to_string(),
        subject,
        text: format!(
            "{intro}\n\n{}\n\n{link_text}: {url}\n\n{outro}\n\n{sign_off}\n",
            lines.join("\n")
        ),
        html: localized_page(
            w,
            html! {
                p { (intro) }
                ul { @for l in lines { li { (l) } } }
                p { a href=(url) { (link_text) } }
                p { (outro) }
            },
        ),
        attachments: vec![super::Attachment {
            filename,
            content_type: "application/pdf".into(),
            data: pdf,
        }],
    }
}

/// The HTML frame of a billing message in `w`'s language (its `lang` set, for screen
/// readers), with the closing line.
fn localized_page(w: Words, body: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang=(w.0.code()) {
            body style="font-family:system-ui,sans-serif;line-height:1.5" {
                (body)
                p { (w.word("mail-sign-off")) }
            }
        }
    }
    .into_string()
}

/// A billing message of a few paragraphs in `w`'s language, and the closing line.
fn localized(to: &str, w: Words, subject: String, paragraphs: &[&str]) -> Mail {
    Mail {
        id: None,
        cc: Vec::new(),
        topic: None,
        to: to.to_string(),
        subject,
        text: format!(
            "{}\n\n{}\n",
            paragraphs.join("\n\n"),
            w.word("mail-sign-off")
        ),
        html: localized_page(w, html! { @for p in paragraphs { p { (p) } } }),
        attachments: Vec::new(),
    }
}

/// How the seller's staff settled an invoice.
pub enum Settled<'a> {
    /// A retried charge went through.
    Charged { amount: Money },
    /// A bank transfer was recorded.
    Transfer { amount: Money, reference: &'a str },
    /// The invoice was voided.
    Voided { amount: Money, reason: &'a str },
}

/// The seller's staff settled an invoice (a retried charge that went through, a payment
/// recorded, the invoice voided): to the billing contact, in `w`'s language, what happened
/// and whom to ask.
pub fn invoice_settled(
    to: &str,
    w: Words,
    number: &str,
    settled: &Settled<'_>,
    seller: &str,
    contact: &str,
) -> Mail {
    let n = ("number", Arg::from(number));
    let (subject, what) = match settled {
        Settled::Charged { amount } => (
            w.say("mail-charged-subject", &[n]),
            w.say(
                "mail-charged",
                &[
                    ("number", Arg::from(number)),
                    ("amount", Arg::from(&w.money(*amount))),
                ],
            ),
        ),
        Settled::Transfer { amount, reference } => (
            w.say("mail-transfer-subject", &[n]),
            w.say(
                "mail-transfer",
                &[
                    ("number", Arg::from(number)),
                    ("amount", Arg::from(&w.money(*amount))),
                    ("reference", Arg::from(*reference)),
                ],
            ),
        ),
        Settled::Voided { amount, reason } => (
            w.say("mail-voided-subject", &[n]),
            w.say(
                "mail-voided",
                &[
                    ("number", Arg::from(number)),
                    ("amount", Arg::from(&w.money(*amount))),
                    ("reason", Arg::from(*reason)),
                ],
            ),
        ),
    };
    let ask = w.say(
        "mail-questions",
        &[
            ("seller", Arg::from(seller)),
            ("contact", Arg::from(contact)),
        ],
    );
    localized(to, w, subject, &[&what, &ask])
}

/// A credit note, its PDF attached: to the billing contact, in `w`'s language.
#[allow(clippy::too_many_arguments)]
pub fn credit_note(
    to: &str,
    w: Words,
    number: &str,
    invoice_number: &str,
    lines: &[String],
    url: &str,
    pdf: Vec<u8>,
    ubl: Option<String>,
) -> Mail {
    let invoice = ("invoice", Arg::from(invoice_number));
    let intro = w.say("mail-credit-note-intro", &[invoice]);
    let subject = w.say(
        "mail-credit-note-subject",
        &[
            ("number", Arg::from(number)),
            ("invoice", Arg::from(invoice_number)),
        ],
    );
    let mut mail = with_document(
        to,
        w,
        subject,
        &intro,
        lines,
        (w.word("mail-credit-note-link"), url),
        &w.word("mail-credit-note-outro"),
        (format!("tally-credit-note-{number}.pdf"), pdf),
    );
    mail.attachments
        .extend(ubl.map(|xml| e_invoice(&format!("tally-credit-note-{number}.xml"), xml)));
    mail
}

/// A charge attempt that failed, and what happens next.
pub struct FailedCharge<'a> {
    pub invoice: &'a InvoiceFacts<'a>,
    /// 1 for the first attempt.
    pub attempt: i64,
    /// The processor's reason, as shown to the person paying.
    pub reason: &'a str,
    /// The day of the next attempt; `None` after the last one.
    pub next_attempt: Option<chrono::NaiveDate>,
}

/// Tells the billing contact, in `w`'s language, that a charge failed.
pub fn payment_failed(to: &str, w: Words, failed: &FailedCharge<'_>) -> Mail {
    let what_next = match failed.next_attempt {
        Some(day) => w.say("mail-retry-on", &[("day", Arg::from(&w.date(day)))]),
        None => w.word("mail-last-try"),
    };
    let invoice = failed.invoice;
    let text = w.say(
        "mail-payment-failed",
        &[
            ("amount", Arg::from(&w.money(invoice.amount))),
            ("number", Arg::from(invoice.number)),
            ("month", Arg::from(invoice.month)),
            ("attempt", Arg::Count(failed.attempt)),
            ("reason", Arg::from(failed.reason)),
            ("next", Arg::from(&what_next)),
        ],
    );
    localized(
        to,
        w,
        w.say(
            "mail-payment-failed-subject",
            &[("number", Arg::from(invoice.number))],
        ),
        &[&text],
    )
}

/// The cardholder's bank asks them to confirm a payment (3-D Secure) before it is charged;
/// in `w`'s language.
pub fn authentication_needed(to: &str, w: Words, invoice: &InvoiceFacts<'_>, link: &str) -> Mail {
    let text = w.say(
        "mail-authentication",
        &[
            ("amount", Arg::from(&w.money(invoice.amount))),
            ("number", Arg::from(invoice.number)),
            ("month", Arg::from(invoice.month)),
        ],
    );
    let action = w.say("mail-authentication-action", &[("link", Arg::from(link))]);
    localized(
        to,
        w,
        w.say(
            "mail-authentication-subject",
            &[("number", Arg::from(invoice.number))],
        ),
        &[&text, &action],
    )
}

/// The card on file expires before the next charge.
pub struct ExpiringCard<'a> {
    pub company: &'a str,
    /// "Visa •••• 4242".
    pub card: &'a str,
    /// The last day it is good for.
    pub last_day: chrono::NaiveDate,
    /// The day of the next charge.
    pub next_charge: chrono::NaiveDate,
    /// Where to save a new card.
    pub url: String,
}

/// Warns the billing contact, in `w`'s language, once per card and charge date.
pub fn card_expiring(to: &str, w: Words, card: &ExpiringCard<'_>) -> Mail {
    use chrono::Datelike;
    let month = w.0.month_year(card.last_day.year(), card.last_day.month());
    let text = w.say(
        "mail-card-expiring",
        &[
            ("company", Arg::from(card.company)),
            ("card", Arg::from(card.card)),
            ("month", Arg::from(&month)),
            ("day", Arg::from(&w.date(card.next_charge))),
            ("url", Arg::from(&card.url)),
        ],
    );
    localized(to, w, w.word("mail-card-expiring-subject"), &[&text])
}

/// A spend alert, to the billing contacts who subscribe to them, in `w`'s language: what it
/// says (already in that language), and where to see the month.
pub fn spend_alert(to: &str, w: Words, said: &str, url: &str) -> Mail {
    let more = w.say("mail-spend-alert-more", &[("url", Arg::from(url))]);
    localized(to, w, w.word("mail-spend-alert-subject"), &[said, &more])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_in_html_and_kept_whole_in_text() {
        let m = invitation(
            "ann@a.test",
            "Bo <script>alert(1)</script> & Co",
            tally_core::roles::Role::Manager,
            "https://tally.example/invitation/abc?x=1&y=2",
            72,
        );
        assert!(m
            .html
            .contains("Bo &lt;script&gt;alert(1)&lt;/script&gt; &amp; Co"));
        assert!(!m.html.contains("<script>"));
        assert!(m
            .html
            .contains("href=\"https://tally.example/invitation/abc?x=1&amp;y=2\""));
        assert!(m
            .text
            .contains("Set your password: https://tally.example/invitation/abc?x=1&y=2"));
        assert!(m.text.ends_with("— Tally\n"));
    }

    #[test]
    fn billing_messages_are_written_in_the_readers_language() {
        use tally_core::money::Currency;
        let facts = InvoiceFacts {
            number: "INV-2026-000001",
            month: "2026-11",
            amount: Money::new(123_456, Currency::Eur),
        };
        let failed = FailedCharge {
            invoice: &facts,
            attempt: 2,
            reason: "Your card was declined.",
            next_attempt: chrono::NaiveDate::from_ymd_opt(2026, 12, 4),
        };
        let en = payment_failed("a@b.test", Words(Locale::En), &failed);
        assert_eq!(
            en.subject,
            "Payment failed for Tally invoice INV-2026-000001"
        );
        assert!(en.text.starts_with(
            "We couldn't charge \u{20ac}1,234.56 for invoice INV-2026-000001 (2026-11), attempt 2: \
             Your card was declined. We'll try again on December 4, 2026. To update the card, open \
             Payments in Tally.\n\n\u{2014} Tally\n"
        ), "{}", en.text);
        let de = payment_failed("a@b.test", Words(Locale::De), &failed);
        assert_eq!(
            de.subject,
            "Zahlung f\u{fc}r Tally-Rechnung INV-2026-000001 fehlgeschlagen"
        );
        assert!(de.text.starts_with(
            "Wir konnten 1.234,56\u{a0}\u{20ac} f\u{fc}r Rechnung INV-2026-000001 (2026-11) nicht \
             abbuchen, Versuch 2: Your card was declined. Wir versuchen es am 4. Dezember 2026 erneut."
        ), "{}", de.text);
        assert!(de.html.contains("<html lang=\"de\">"), "{}", de.html);

        let voided = Settled::Voided {
            amount: Money::new(500, Currency::Chf),
            reason: "Billed twice",
        };
        let fr = invoice_settled(
            "a@b.test",
            Words(Locale::Fr),
            "INV-1",
            &voided,
            "Seller SA",
            "billing@seller.test",
        );
        assert_eq!(
            fr.subject,
            "La facture Tally INV-1 a \u{e9}t\u{e9} annul\u{e9}e"
        );
        assert!(
            fr.text
                .contains("La facture INV-1 (5,00\u{a0}CHF) a \u{e9}t\u{e9} annul\u{e9}e"),
            "{}",
            fr.text
        );
        assert!(
            fr.text.contains(
                "Pour toute question, adressez-vous \u{e0} Seller SA\u{a0}: billing@seller.test."
            ),
            "{}",
            fr.text
        );
    }
}
