//! The invoice as a document: a one-page PDF (A4, Helvetica) written with `pdf-writer`.
//! Building it is CPU work, so callers run [`render`] on the blocking pool.

use tally_core::money::Money;

use crate::invoices::Invoice;

/// The invoice as a one-page PDF.
pub fn render(invoice: &Invoice) -> Vec<u8> {
    use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str};

    // Helvetica with WinAnsiEncoding covers Latin-1; anything else prints as "?".
    fn latin1(s: &str) -> Vec<u8> {
        s.chars()
            .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
            .collect()
    }
    let money = |cents: i64| Money::from_cents(cents).to_string();
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let page = Ref::new(3);
    let font = Ref::new(4);
    let bold = Ref::new(5);
    let contents = Ref::new(6);
    let mut pdf = Pdf::new();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree).kids([page]).count(1);
    let mut p = pdf.page(page);
    p.media_box(Rect::new(0.0, 0.0, 595.0, 842.0));
    p.parent(tree);
    p.contents(contents);
    let mut resources = p.resources();
    resources
        .fonts()
        .pair(Name(b"F1"), font)
        .pair(Name(b"F2"), bold);
    resources.finish();
    p.finish();
    pdf.type1_font(font)
        .base_font(Name(b"Helvetica"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.type1_font(bold)
        .base_font(Name(b"Helvetica-Bold"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));

    let billable = (invoice.peak_users - invoice.free_users).max(0);
    let lines: Vec<(bool, f32, String)> = vec![
        (true, 20.0, format!("Invoice {}", invoice.number)),
        (false, 12.0, String::new()),
        (false, 12.0, format!("Billed to: {}", invoice.company_name)),
        (false, 12.0, format!("Period: {}", invoice.month)),
        (false, 12.0, String::new()),
        (
            false,
            12.0,
            format!("Peak users in the month: {}", invoice.peak_users),
        ),
        (false, 12.0, format!("Free users: {}", invoice.free_users)),
        (
            false,
            12.0,
            format!(
                "Billable users: {billable} x {}",
                money(invoice.price_per_user_cents)
            ),
        ),
        (false, 12.0, String::new()),
        (
            true,
            14.0,
            format!("Total: {}", money(invoice.amount_cents)),
        ),
        (false, 12.0, format!("Status: {}", invoice.status_label())),
        (false, 12.0, String::new()),
        (false, 10.0, "Tally - admin and billing portal".to_string()),
    ];
    let mut content = Content::new();
    let mut y = 780.0;
    for (is_bold, size, text) in lines {
        content.begin_text();
        content.set_font(Name(if is_bold { b"F2" } else { b"F1" }), size);
        content.next_line(56.0, y);
        content.show(Str(&latin1(&text)));
        content.end_text();
        y -= size + 10.0;
    }
    pdf.stream(contents, &content.finish());
    pdf.finish()
}
