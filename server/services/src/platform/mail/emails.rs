//! Every email Tally sends, written in one place: a plain-text body and an HTML body built
//! with `maud`, which escapes every value it inserts. Callers pass facts; the words are here.

use maud::{html, Markup, DOCTYPE};

use super::Mail;

/// The HTML frame around a message's body, with the closing line.
fn page(body: Markup) -> String {
    html! {
        (DOCTYPE)
        html {
            body style="font-family:system-ui,sans-serif;line-height:1.5" {
                (body)
                p { "— Tally" }
            }
        }
    }
    .into_string()
}

/// A message of a few paragraphs and the closing line.
fn paragraphs(to: &str, subject: &str, paragraphs: &[&str]) -> Mail {
    Mail {
        id: None,
        cc: Vec::new(),
        topic: None,
        to: to.to_string(),
        subject: subject.to_string(),
        text: format!("{}\n\n— Tally\n", paragraphs.join("\n\n")),
        html: page(html! { @for p in paragraphs { p { (p) } } }),
        attachments: Vec::new(),
    }
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
    /// "$135.00".
    pub amount: &'a str,
    pub nothing_due: bool,
}

/// The monthly invoice, or (`copy`) the copy a billing administrator asked for: the invoice's
/// lines as text (for people who do not open attachments), the PDF attached (and its UBL
/// e-invoice, when there is one), and a link for those who can sign in with a billing role.
pub fn invoice(
    to: &str,
    number: &str,
    month_label: &str,
    lines: &[String],
    url: &str,
    copy: bool,
    (pdf, ubl): (Vec<u8>, Option<String>),
) -> Mail {
    let subject = if copy {
        format!("Copy of your Tally invoice {number}")
    } else {
        format!("Your Tally invoice {number} for {month_label}")
    };
    let intro = if copy {
        "Here is the copy of your invoice you asked for. It is attached as a PDF."
    } else {
        "Your invoice for last month is attached as a PDF. In short:"
    };
    let outro =
        "Billing administrators can also see it in Tally. Keep this email for your records.";
    let link = ("View the invoice in Tally", url);
    let pdf = (format!("tally-invoice-{number}.pdf"), pdf);
    let mut mail = with_document(to, subject, intro, lines, link, outro, pdf);
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

/// A message about a document: a paragraph, its lines as a list, a link, a closing
/// paragraph, and the document attached as a PDF (`filename`, bytes).
fn with_document(
    to: &str,
    subject: String,
    intro: &str,
    lines: &[String],
    (link_text, url): (&str, &str),
    outro: &str,
    (filename, pdf): (String, Vec<u8>),
) -> Mail {
    Mail {
        id: None,
        cc: Vec::new(),
        topic: None,
        to: to.to_string(),
        subject,
        text: format!(
            "{intro}\n\n{}\n\n{link_text}: {url}\n\n{outro}\n\n— Tally\n",
            lines.join("\n")
        ),
        html: page(html! {
            p { (intro) }
            ul { @for l in lines { li { (l) } } }
            p { a href=(url) { (link_text) } }
            p { (outro) }
        }),
        attachments: vec![super::Attachment {
            filename,
            content_type: "application/pdf".into(),
            data: pdf,
        }],
    }
}

/// The seller's staff settled an invoice (a retried charge that went through, a payment
/// recorded, the invoice voided): to the billing contact, what happened and whom to ask.
pub fn invoice_settled(to: &str, number: &str, what: &str, seller: &str, contact: &str) -> Mail {
    let ask = format!("Questions go to {seller}: {contact}.");
    paragraphs(
        to,
        &format!("Tally invoice {number}: {}", short(what)),
        &[what, &ask],
    )
}

/// A credit note, its PDF attached: to the billing contact.
pub fn credit_note(
    to: &str,
    number: &str,
    invoice_number: &str,
    lines: &[String],
    url: &str,
    pdf: Vec<u8>,
    ubl: Option<String>,
) -> Mail {
    let intro = format!(
        "A credit note for invoice {invoice_number} was issued to you. It is attached as a PDF. In short:"
    );
    let outro = "Billing administrators can also see it in Tally, beside the invoices.";
    let mail = with_document(
        to,
        format!("Credit note {number} for Tally invoice {invoice_number}"),
        &intro,
        lines,
        ("See it in Tally", url),
        outro,
        (format!("tally-credit-note-{number}.pdf"), pdf),
    );
    let mut mail = mail;
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
    /// "January 8, 2027" when another attempt is planned; `None` after the last one.
    pub next_attempt: Option<String>,
}

/// Tells the billing contact that a charge failed.
pub fn payment_failed(to: &str, failed: &FailedCharge<'_>) -> Mail {
    let what_next = match &failed.next_attempt {
        Some(day) => format!("We'll try again on {day}."),
        None => "That was the last try: the account is now past due. Saving a new card in Tally \
                 charges the invoice again."
            .into(),
    };
    let invoice = failed.invoice;
    let text = format!(
        "We couldn't charge {} for invoice {} ({}), attempt {}: {} {what_next} To update the \
         card, open Payments in Tally.",
        invoice.amount, invoice.number, invoice.month, failed.attempt, failed.reason
    );
    paragraphs(
        to,
        &format!("Payment failed for Tally invoice {}", invoice.number),
        &[&text],
    )
}

/// The cardholder's bank asks them to confirm a payment (3-D Secure) before it is charged.
pub fn authentication_needed(to: &str, invoice: &InvoiceFacts<'_>, link: &str) -> Mail {
    let text = format!(
        "The bank of the card on file asks the cardholder to confirm the payment of {} for \
         invoice {} ({}). Nothing is charged until it is confirmed, and no retry is made \
         meanwhile.",
        invoice.amount, invoice.number, invoice.month
    );
    let action = format!("A billing administrator can confirm it in Tally: {link}");
    paragraphs(
        to,
        &format!("Confirm the payment for Tally invoice {}", invoice.number),
        &[&text, &action],
    )
}

/// The card on file expires before the next charge.
pub struct ExpiringCard<'a> {
    pub company: &'a str,
    /// "Visa •••• 4242".
    pub card: &'a str,
    /// "December 2026".
    pub last_month: String,
    /// "January 1, 2027".
    pub next_charge: String,
    /// Where to save a new card.
    pub url: String,
}

/// Warns the billing contact once per card and charge date.
pub fn card_expiring(to: &str, card: &ExpiringCard<'_>) -> Mail {
    let text = format!(
        "The card on file for {} ({}) expires at the end of {}, before the next charge on {}. \
         To keep paying without interruption, save a new card: open Payments in Tally, or {}",
        card.company, card.card, card.last_month, card.next_charge, card.url
    );
    paragraphs(
        to,
        "Your card on file expires before the next Tally charge",
        &[&text],
    )
}

/// A spend alert, to the billing contacts who subscribe to them: what it says, and where to
/// see the month.
pub fn spend_alert(to: &str, said: &str, url: &str) -> Mail {
    let more = format!("See this month's users and estimate on the Billing page: {url}");
    paragraphs(to, "Tally spend alert", &[said, &more])
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
}
