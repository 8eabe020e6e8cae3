//! The invoice as a document: a one-page PDF (A4, Helvetica) written with `pdf-writer`, with
//! everything a billing contact needs who never signs in: whom it is made out to, the period,
//! the peak user count, the free users, the price per user, the amount, and the card it is
//! charged to. Building it is CPU work, so callers run [`render`] on the blocking pool.

use tally_core::billing::BillingMonth;

use tally_core::views::billing::Invoice;

/// Text in WinAnsiEncoding, the standard fonts' encoding: Latin-1 plus the typographic marks
/// invoices use (bullets of a masked card number, dashes, quotes, the euro sign); anything
/// else prints as "?".
fn win_ansi(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| match c {
            '\u{2022}' => 0x95,
            '\u{2013}' => 0x96,
            '\u{2014}' => 0x97,
            '\u{2018}' => 0x91,
            '\u{2019}' => 0x92,
            '\u{201c}' => 0x93,
            '\u{201d}' => 0x94,
            '\u{2026}' => 0x85,
            '\u{20ac}' => 0x80,
            '\u{2212}' => b'-',
            c => u8::try_from(u32::from(c))
                .ok()
                .filter(|b| !(0x80..0xa0).contains(b))
                .unwrap_or(b'?'),
        })
        .collect()
}

/// "1–30 November 2026" for `2026-11`.
pub fn period(month: &str) -> String {
    match BillingMonth::parse(month) {
        Some(m) => format!(
            "{}\u{2013}{} {}",
            m.first_day().format("%-d"),
            m.last_day().format("%-d"),
            m.first_day().format("%B %Y")
        ),
        None => month.to_string(),
    }
}

/// One line of the document: bold or not, its size, its text.
pub type Line = (bool, f32, String);

/// The invoice's lines, top to bottom (also what its emails repeat).
pub fn lines(invoice: &Invoice) -> Vec<Line> {
    let money = |minor: i64| invoice.money(minor).to_string();
    let billable = invoice.billable_users();
    let issued = tally_core::billing::date_of_millis(invoice.created_at)
        .map(|d| d.format("%B %-d, %Y").to_string())
        .unwrap_or_default();
    let mut lines: Vec<Line> = vec![
        (true, 20.0, title(invoice)),
        (false, 11.0, format!("Issued {issued}")),
    ];
    // A correction names the invoice it replaces under its title; the replaced one says so in
    // its status, as a voided one does.
    if let Some(original) = &invoice.corrects {
        lines.push((
            false,
            11.0,
            format!("Corrects invoice {original}, cancelled by a credit note"),
        ));
    }
    lines.push((false, 8.0, String::new()));
    if let Some(seller) = invoice.seller.as_deref().filter(|s| !s.trim().is_empty()) {
        lines.push((true, 12.0, "From".into()));
        lines.extend(seller.lines().map(|l| (false, 11.0, l.to_string())));
        lines.push((false, 8.0, String::new()));
    }
    lines.push((true, 12.0, "Billed to".into()));
    match invoice
        .billed_to
        .as_deref()
        .filter(|b| !b.trim().is_empty())
    {
        Some(billed_to) => lines.extend(billed_to.lines().map(|l| (false, 11.0, l.to_string()))),
        None => lines.push((false, 11.0, invoice.company_name.clone())),
    }
    if let Some(references) = invoice
        .references
        .as_deref()
        .filter(|r| !r.trim().is_empty())
    {
        lines.push((false, 8.0, String::new()));
        lines.push((true, 12.0, "References".into()));
        lines.extend(references.lines().map(|l| (false, 11.0, l.to_string())));
    }
    lines.extend([
        (false, 8.0, String::new()),
        (
            false,
            12.0,
            format!("Billing period: {}", period(&invoice.month)),
        ),
        (
            false,
            12.0,
            // The day it was first reached, where the invoice knows it.
            format!(
                "Peak users in the period: {}{}",
                invoice.peak_users,
                invoice
                    .peak_reached_on
                    .map_or_else(String::new, |d| format!(
                        ", first reached on {}",
                        d.format("%B %-d")
                    ))
            ),
        ),
        (false, 12.0, format!("Free users: {}", invoice.free_users)),
        (
            false,
            12.0,
            format!("Price per user: {}", money(invoice.price_per_user_cents)),
        ),
        (
            false,
            12.0,
            format!(
                "Billable users: {billable} \u{d7} {} = {}",
                money(invoice.price_per_user_cents),
                money(invoice.net_cents())
            ),
        ),
    ]);
    if let Some(treatment) = invoice.tax_treatment() {
        lines.extend([
            (false, 12.0, format!("Net: {}", money(invoice.net_cents()))),
            (
                false,
                12.0,
                format!("{}: {}", treatment.label(), money(invoice.tax_cents)),
            ),
            (
                false,
                12.0,
                format!("Total with VAT: {}", money(invoice.gross_cents())),
            ),
        ]);
    }
    if invoice.credit_applied_cents > 0 {
        lines.push((
            false,
            12.0,
            format!(
                "Credit balance applied: \u{2212}{}",
                money(invoice.credit_applied_cents)
            ),
        ));
    }
    lines.extend([
        (false, 8.0, String::new()),
        (
            true,
            14.0,
            format!("Total: {}", money(invoice.amount_cents)),
        ),
        (false, 12.0, format!("Status: {}", invoice.status_label())),
        (
            false,
            12.0,
            match (
                invoice.settlement(),
                &invoice.card_label,
                invoice.amount_cents,
            ) {
                (Some(settled), _, _) => settled,
                (None, _, 0) => "Nothing is charged.".to_string(),
                (None, Some(card), _) => format!("Charged to: {card}"),
                (None, None, _) => {
                    "Charged to: the card on file (none was on file when issued)".into()
                }
            },
        ),
    ]);
    if let Some(note) = invoice.tax_treatment().and_then(|t| t.note()) {
        lines.push((false, 8.0, String::new()));
        // Two lines where it is long: the page is narrow.
        let (first, rest) = note
            .split_once(" (")
            .map_or((note, None), |(a, b)| (a, Some(b)));
        lines.push((false, 11.0, first.to_string()));
        lines.extend(rest.map(|r| (false, 11.0, format!("({r}"))));
    }
    if invoice.credited_cents > 0 {
        lines.push((
            false,
            12.0,
            format!(
                "Credited by credit notes: {}",
                money(invoice.credited_cents)
            ),
        ));
    }
    lines.extend(footer());
    lines
}

/// The last lines of every document.
pub fn footer() -> [Line; 2] {
    [
        (false, 8.0, String::new()),
        (
            false,
            10.0,
            "Tally \u{2014} admin and billing portal".to_string(),
        ),
    ]
}

/// "Invoice INV-2026-000012", or "Corrected invoice …" for a correction.
pub fn title(invoice: &Invoice) -> String {
    match invoice.corrects {
        Some(_) => format!("Corrected invoice {}", invoice.number),
        None => format!("Invoice {}", invoice.number),
    }
}

/// The invoice as a one-page PDF; with `cii`, a Factur-X one.
pub fn render(invoice: &Invoice, cii: Option<&str>) -> Vec<u8> {
    document(&title(invoice), lines(invoice), cii)
}

/// The name Factur-X gives the XML inside the PDF.
pub const FACTUR_X_FILE: &str = "factur-x.xml";

/// The XMP metadata of a Factur-X PDF: PDF/A-3 (level B), its title, and the Factur-X
/// properties (the XML's name, its type, version and profile) with their schema.
fn factur_x_metadata(title: &str) -> String {
    let title = crate::billing::einvoice::esc(title);
    format!(
        r#"<?xpacket begin="{bom}" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/"><pdfaid:part>3</pdfaid:part><pdfaid:conformance>B</pdfaid:conformance></rdf:Description>
<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title><rdf:Alt><rdf:li xml:lang="x-default">{title}</rdf:li></rdf:Alt></dc:title></rdf:Description>
<rdf:Description rdf:about="" xmlns:pdf="http://ns.adobe.com/pdf/1.3/"><pdf:Producer>Tally</pdf:Producer></rdf:Description>
<rdf:Description rdf:about="" xmlns:fx="urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#"><fx:DocumentType>INVOICE</fx:DocumentType><fx:DocumentFileName>{FACTUR_X_FILE}</fx:DocumentFileName><fx:Version>1.0</fx:Version><fx:ConformanceLevel>EN 16931</fx:ConformanceLevel></rdf:Description>
<rdf:Description rdf:about="" xmlns:pdfaExtension="http://www.aiim.org/pdfa/ns/extension/" xmlns:pdfaSchema="http://www.aiim.org/pdfa/ns/schema#" xmlns:pdfaProperty="http://www.aiim.org/pdfa/ns/property#">
<pdfaExtension:schemas><rdf:Bag><rdf:li rdf:parseType="Resource">
<pdfaSchema:schema>Factur-X PDFA Extension Schema</pdfaSchema:schema>
<pdfaSchema:namespaceURI>urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#</pdfaSchema:namespaceURI>
<pdfaSchema:prefix>fx</pdfaSchema:prefix>
<pdfaSchema:property><rdf:Seq>
<rdf:li rdf:parseType="Resource"><pdfaProperty:name>DocumentFileName</pdfaProperty:name><pdfaProperty:valueType>Text</pdfaProperty:valueType><pdfaProperty:category>external</pdfaProperty:category><pdfaProperty:description>The name of the embedded XML document</pdfaProperty:description></rdf:li>
<rdf:li rdf:parseType="Resource"><pdfaProperty:name>DocumentType</pdfaProperty:name><pdfaProperty:valueType>Text</pdfaProperty:valueType><pdfaProperty:category>external</pdfaProperty:category><pdfaProperty:description>The type of the hybrid document in capital letters, e.g. INVOICE or ORDER</pdfaProperty:description></rdf:li>
<rdf:li rdf:parseType="Resource"><pdfaProperty:name>Version</pdfaProperty:name><pdfaProperty:valueType>Text</pdfaProperty:valueType><pdfaProperty:category>external</pdfaProperty:category><pdfaProperty:description>The actual version of the standard applying to the embedded XML document</pdfaProperty:description></rdf:li>
<rdf:li rdf:parseType="Resource"><pdfaProperty:name>ConformanceLevel</pdfaProperty:name><pdfaProperty:valueType>Text</pdfaProperty:valueType><pdfaProperty:category>external</pdfaProperty:category><pdfaProperty:description>The conformance level of the embedded XML document</pdfaProperty:description></rdf:li>
</rdf:Seq></pdfaSchema:property>
</rdf:li></rdf:Bag></pdfaExtension:schemas>
</rdf:Description>
</rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"#,
        bom = '\u{feff}'
    )
}

/// A one-page PDF of `lines` (an invoice, a credit note), titled `title`; with `cii`, a
/// Factur-X PDF: the CII XML attached as `factur-x.xml` (an associated file of the document,
/// relationship Data), with Factur-X's XMP metadata.
pub fn document(title: &str, lines: Vec<Line>, cii: Option<&str>) -> Vec<u8> {
    use pdf_writer::{types::AssociationKind, Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let page = Ref::new(3);
    let font = Ref::new(4);
    let bold = Ref::new(5);
    let contents = Ref::new(6);
    let info = Ref::new(7);
    let metadata = Ref::new(8);
    let file_spec = Ref::new(9);
    let embedded = Ref::new(10);
    let mut pdf = Pdf::new();
    {
        let mut c = pdf.catalog(catalog);
        c.pages(tree);
        if cii.is_some() {
            c.metadata(metadata);
            c.names()
                .embedded_files()
                .names()
                .insert(Str(FACTUR_X_FILE.as_bytes()), file_spec);
            c.insert(Name(b"AF")).array().item(file_spec);
        }
    }
    if let Some(xml) = cii {
        let xmp = factur_x_metadata(title);
        pdf.metadata(metadata, xmp.as_bytes());
        let mut spec = pdf.file_spec(file_spec);
        spec.path(Str(FACTUR_X_FILE.as_bytes()))
            .unic_file(TextStr(FACTUR_X_FILE))
            .description(TextStr("Factur-X invoice (EN 16931)"))
            .association_kind(AssociationKind::Data);
        spec.embedded_file_with_unicode(embedded);
        spec.finish();
        let mut file = pdf.embedded_file(embedded, xml.as_bytes());
        file.subtype(Name(b"text/xml"));
        file.params()
            .size(i32::try_from(xml.len()).unwrap_or(i32::MAX));
        file.finish();
    }

    pdf.pages(tree).kids([page]).count(1);
    pdf.document_info(info)
        .title(TextStr(title))
        .producer(TextStr("Tally"));
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

    let mut content = Content::new();
    let mut y = 780.0;
    for (is_bold, size, text) in lines {
        content.begin_text();
        content.set_font(Name(if is_bold { b"F2" } else { b"F1" }), size);
        content.next_line(56.0, y);
        content.show(Str(&win_ansi(&text)));
        content.end_text();
        y -= size + 8.0;
    }
    pdf.stream(contents, &content.finish());
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typographic_marks_use_their_win_ansi_codes() {
        assert_eq!(win_ansi("Visa •••• 4242"), b"Visa \x95\x95\x95\x95 4242");
        assert_eq!(win_ansi("27 × $5.00"), b"27 \xd7 $5.00");
        assert_eq!(win_ansi("日本"), b"??");
        assert_eq!(period("2026-02"), "1\u{2013}28 February 2026");
    }
}
