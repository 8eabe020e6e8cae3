//! The invoice as a document: a one-page PDF/A-3B (A4, Liberation Sans embedded, see
//! [`super::font`]) written with `pdf-writer`, with everything a billing contact needs who
//! never signs in: whom it is made out to, the period, the peak user count, the free users,
//! the price per user, the amount, and the card it is charged to. Building it is CPU work, so
//! callers run [`render`] on the blocking pool.

use tally_core::{
    vat::{TaxCategory, Treatment},
    views::billing::Invoice,
};

use super::font::{self, EmbeddedFont};
use crate::platform::i18n::{Arg, Words};

/// Text in WinAnsiEncoding, the encoding of the documents' fonts: Latin-1 plus the
/// typographic marks invoices use (bullets of a masked card number, dashes, quotes, the euro
/// sign); a tab is a space, and anything else (a control character, a letter outside
/// Latin-1) prints as "?", so every code drawn has a glyph in the embedded font.
fn win_ansi(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| match c {
            ' '..='~' | '\u{a0}'..='\u{ff}' => c as u8,
            '\t' => b' ',
            '\u{2212}' => b'-',
            // French groups thousands with a narrow no-break space: the no-break one here.
            '\u{202f}' => 0xa0,
            c => font::win_ansi_code(c).unwrap_or(b'?'),
        })
        .collect()
}

/// One line of the document: bold or not, its size, its text.
pub type Line = (bool, f32, String);

/// How the invoice stands, in `w`'s language.
pub fn status(w: Words, invoice: &Invoice) -> String {
    w.say(
        "invoice-status-label",
        &[("status", Arg::Text(invoice.status.code()))],
    )
}

/// "VAT 19 %", "VAT 0 % (reverse charge)", … in `w`'s language.
pub fn tax_label(w: Words, treatment: &Treatment) -> String {
    match treatment.category {
        TaxCategory::Standard => w.say(
            "tax-standard",
            &[("rate", Arg::from(&w.rate(treatment.rate_bp)))],
        ),
        TaxCategory::ReverseCharge => w.word("tax-reverse-charge"),
        TaxCategory::OutsideScope => w.word("tax-outside-scope"),
    }
}

/// What an invoice without VAT must say about it, in `w`'s language.
pub fn tax_note(w: Words, treatment: &Treatment) -> Option<String> {
    match treatment.category {
        TaxCategory::Standard => None,
        TaxCategory::ReverseCharge => Some(w.word("tax-note-reverse-charge")),
        TaxCategory::OutsideScope => Some(w.word("tax-note-outside-scope")),
    }
}

/// How an invoice was settled other than by its charge (corrected, voided, paid by
/// transfer), in `w`'s language, as [`Invoice::settlement`] says it in English.
pub fn settlement(w: Words, invoice: &Invoice) -> Option<String> {
    if let Some(number) = &invoice.corrected_by {
        return Some(w.say("settled-corrected-by", &[("number", Arg::from(number))]));
    }
    if let Some(number) = &invoice.corrects {
        return Some(w.say("settled-corrects", &[("number", Arg::from(number))]));
    }
    if let Some(reason) = &invoice.void_reason {
        return Some(w.say("settled-voided", &[("reason", Arg::from(reason))]));
    }
    invoice
        .payment_reference
        .as_ref()
        .map(|r| w.say("settled-transfer", &[("reference", Arg::from(r))]))
}

/// The invoice's lines, top to bottom, in `w`'s language (also what its emails repeat).
pub fn lines(invoice: &Invoice, w: Words) -> Vec<Line> {
    let money = |minor: i64| w.money(invoice.money(minor));
    let count = |n: u64| Arg::Count(i64::try_from(n).unwrap_or(i64::MAX));
    let issued = w.date_of_millis(invoice.created_at);
    let mut lines: Vec<Line> = vec![
        (true, 20.0, title(invoice, w)),
        (
            false,
            11.0,
            w.say("doc-issued", &[("date", Arg::from(&issued))]),
        ),
    ];
    // A correction names the invoice it replaces under its title; the replaced one says so in
    // its status, as a voided one does.
    if let Some(original) = &invoice.corrects {
        lines.push((
            false,
            11.0,
            w.say("invoice-corrects", &[("original", Arg::from(original))]),
        ));
    }
    lines.push((false, 8.0, String::new()));
    if let Some(seller) = invoice.seller.as_deref().filter(|s| !s.trim().is_empty()) {
        lines.push((true, 12.0, w.word("doc-from")));
        lines.extend(seller.lines().map(|l| (false, 11.0, l.to_string())));
        lines.push((false, 8.0, String::new()));
    }
    lines.push((true, 12.0, w.word("doc-billed-to")));
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
        lines.push((true, 12.0, w.word("doc-references")));
        lines.extend(references.lines().map(|l| (false, 11.0, l.to_string())));
    }
    let price = money(invoice.price_per_user_cents);
    let net = money(invoice.net_cents());
    let peak = match invoice.peak_reached_on {
        // The day it was first reached, where the invoice knows it.
        Some(day) => w.say(
            "invoice-peak-reached",
            &[
                ("peak", count(invoice.peak_users)),
                ("day", Arg::from(&w.0.day_month(day))),
            ],
        ),
        None => w.say("invoice-peak", &[("peak", count(invoice.peak_users))]),
    };
    lines.extend([
        (false, 8.0, String::new()),
        (
            false,
            12.0,
            w.say(
                "invoice-period",
                &[("period", Arg::from(&w.period(&invoice.month)))],
            ),
        ),
        (false, 12.0, peak),
        (
            false,
            12.0,
            w.say("invoice-free", &[("free", count(invoice.free_users))]),
        ),
        (
            false,
            12.0,
            w.say("invoice-price", &[("price", Arg::from(&price))]),
        ),
        (
            false,
            12.0,
            w.say(
                "invoice-billable",
                &[
                    ("billable", count(invoice.billable_users())),
                    ("price", Arg::from(&price)),
                    ("net", Arg::from(&net)),
                ],
            ),
        ),
    ]);
    if let Some(treatment) = invoice.tax_treatment() {
        lines.extend([
            (
                false,
                12.0,
                w.say("invoice-net", &[("net", Arg::from(&net))]),
            ),
            (
                false,
                12.0,
                w.say(
                    "invoice-tax",
                    &[
                        ("label", Arg::from(&tax_label(w, &treatment))),
                        ("tax", Arg::from(&money(invoice.tax_cents))),
                    ],
                ),
            ),
            (
                false,
                12.0,
                w.say(
                    "invoice-gross",
                    &[("gross", Arg::from(&money(invoice.gross_cents())))],
                ),
            ),
        ]);
    }
    if invoice.credit_applied_cents > 0 {
        lines.push((
            false,
            12.0,
            w.say(
                "invoice-credit-applied",
                &[("credit", Arg::from(&money(invoice.credit_applied_cents)))],
            ),
        ));
    }
    lines.extend([
        (false, 8.0, String::new()),
        (
            true,
            14.0,
            w.say(
                "invoice-total",
                &[("total", Arg::from(&money(invoice.amount_cents)))],
            ),
        ),
        (
            false,
            12.0,
            w.say(
                "invoice-status",
                &[("status", Arg::from(&status(w, invoice)))],
            ),
        ),
        (
            false,
            12.0,
            match (
                settlement(w, invoice),
                &invoice.card_label,
                invoice.amount_cents,
            ) {
                (Some(settled), _, _) => settled,
                (None, _, 0) => w.word("invoice-nothing-charged"),
                (None, Some(card), _) => w.say("invoice-charged-to", &[("card", Arg::from(card))]),
                (None, None, _) => w.word("invoice-charged-to-none"),
            },
        ),
    ]);
    if let Some(note) = invoice.tax_treatment().and_then(|t| tax_note(w, &t)) {
        lines.push((false, 8.0, String::new()));
        // Two lines where it is long: the page is narrow.
        let (first, rest) = note
            .split_once(" (")
            .map_or((note.as_str(), None), |(a, b)| (a, Some(b)));
        lines.push((false, 11.0, first.to_string()));
        lines.extend(rest.map(|r| (false, 11.0, format!("({r}"))));
    }
    if invoice.credited_cents > 0 {
        lines.push((
            false,
            12.0,
            w.say(
                "invoice-credited",
                &[("credited", Arg::from(&money(invoice.credited_cents)))],
            ),
        ));
    }
    lines.extend(footer(w));
    lines
}

/// The last lines of every document.
pub fn footer(w: Words) -> [Line; 2] {
    [
        (false, 8.0, String::new()),
        (false, 10.0, w.word("doc-footer")),
    ]
}

/// "Invoice INV-2026-000012", or "Corrected invoice …" for a correction.
pub fn title(invoice: &Invoice, w: Words) -> String {
    let number = ("number", Arg::from(&invoice.number));
    match invoice.corrects {
        Some(_) => w.say("invoice-title-corrected", &[number]),
        None => w.say("invoice-title", &[number]),
    }
}

/// The invoice as a one-page PDF in `w`'s language; with `cii`, a Factur-X one.
pub fn render(invoice: &Invoice, w: Words, cii: Option<&str>) -> Vec<u8> {
    document(&title(invoice, w), lines(invoice, w), cii)
}

/// The name Factur-X gives the XML inside the PDF.
pub const FACTUR_X_FILE: &str = "factur-x.xml";

/// The XMP metadata of every document: PDF/A-3 (level B), its title and producer (as the
/// document information dictionary says them, which PDF/A requires); for a Factur-X PDF also
/// the Factur-X properties (the XML's name, its type, version and profile) with the schema
/// that declares them.
fn metadata(title: &str, factur_x: bool) -> String {
    let title = crate::billing::einvoice::esc(title);
    let factur_x = if factur_x {
        format!(
            r#"<rdf:Description rdf:about="" xmlns:fx="urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#"><fx:DocumentType>INVOICE</fx:DocumentType><fx:DocumentFileName>{FACTUR_X_FILE}</fx:DocumentFileName><fx:Version>1.0</fx:Version><fx:ConformanceLevel>EN 16931</fx:ConformanceLevel></rdf:Description>
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
"#
        )
    } else {
        String::new()
    };
    format!(
        r#"<?xpacket begin="{bom}" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/"><pdfaid:part>3</pdfaid:part><pdfaid:conformance>B</pdfaid:conformance></rdf:Description>
<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title><rdf:Alt><rdf:li xml:lang="x-default">{title}</rdf:li></rdf:Alt></dc:title></rdf:Description>
<rdf:Description rdf:about="" xmlns:pdf="http://ns.adobe.com/pdf/1.3/"><pdf:Producer>Tally</pdf:Producer></rdf:Description>
{factur_x}</rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"#,
        bom = '\u{feff}'
    )
}

/// A font of the document: a TrueType font read through WinAnsiEncoding, with the widths its
/// program gives, and the program embedded cut to the glyphs of `codes` (those drawn with it).
fn embed_font(
    pdf: &mut pdf_writer::Pdf,
    font: &EmbeddedFont,
    codes: &[bool; 256],
    refs: [pdf_writer::Ref; 3],
) {
    use pdf_writer::{types::FontFlags, Filter, Finish, Name, Rect};
    let [id, descriptor, file] = refs;
    let mut dict = pdf.indirect(id).dict();
    dict.pair(Name(b"Type"), Name(b"Font"));
    dict.pair(Name(b"Subtype"), Name(b"TrueType"));
    dict.pair(Name(b"BaseFont"), Name(font.name.as_bytes()));
    dict.pair(Name(b"FirstChar"), i32::from(font::FIRST_CHAR));
    dict.pair(Name(b"LastChar"), i32::from(font::LAST_CHAR));
    dict.insert(Name(b"Widths"))
        .array()
        .items(font.widths.iter().copied());
    dict.pair(Name(b"FontDescriptor"), descriptor);
    dict.pair(Name(b"Encoding"), Name(b"WinAnsiEncoding"));
    dict.finish();
    let [x0, y0, x1, y1] = font.bbox;
    pdf.font_descriptor(descriptor)
        .name(Name(font.name.as_bytes()))
        .flags(FontFlags::NON_SYMBOLIC)
        .bbox(Rect::new(x0, y0, x1, y1))
        .italic_angle(font.italic_angle)
        .ascent(font.ascent)
        .descent(font.descent)
        .cap_height(font.cap_height)
        .stem_v(font.stem_v)
        .font_file2(file);
    let subset = font.for_codes(codes);
    pdf.stream(file, &subset.deflated)
        .filter(Filter::FlateDecode)
        .pair(
            Name(b"Length1"),
            i32::try_from(subset.length).unwrap_or(i32::MAX),
        );
}

/// A one-page PDF/A-3 (level B) document of `lines` (an invoice, a credit note), titled
/// `title`: its fonts embedded, an sRGB output intent, XMP metadata; with `cii`, a Factur-X
/// PDF: the CII XML attached as `factur-x.xml` (an associated file of the document,
/// relationship Data), with Factur-X's properties in the metadata.
pub fn document(title: &str, lines: Vec<Line>, cii: Option<&str>) -> Vec<u8> {
    use pdf_writer::{
        types::{AssociationKind, OutputIntentSubtype},
        Content, Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr,
    };
    use sha2::{Digest, Sha256};

    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let page = Ref::new(3);
    let font = Ref::new(4);
    let bold = Ref::new(5);
    let contents = Ref::new(6);
    let info = Ref::new(7);
    let metadata_id = Ref::new(8);
    let file_spec = Ref::new(9);
    let embedded = Ref::new(10);
    let font_refs = [font, Ref::new(11), Ref::new(12)];
    let bold_refs = [bold, Ref::new(13), Ref::new(14)];
    let profile = Ref::new(15);

    let mut content = Content::new();
    let mut y = 780.0;
    // The codes drawn with each font: its subset in this document holds their glyphs.
    let (mut regular_codes, mut bold_codes) = ([false; 256], [false; 256]);
    for (is_bold, size, text) in lines {
        let text = win_ansi(&text);
        let codes = if is_bold {
            &mut bold_codes
        } else {
            &mut regular_codes
        };
        for b in &text {
            codes[usize::from(*b)] = true;
        }
        content.begin_text();
        content.set_font(Name(if is_bold { b"F2" } else { b"F1" }), size);
        content.next_line(56.0, y);
        content.show(Str(&text));
        content.end_text();
        y -= size + 8.0;
    }
    let content = content.finish();

    let mut pdf = Pdf::new();
    // PDF/A wants the file identified; the same document gets the same identifier.
    let mut digest = Sha256::new();
    digest.update(title.as_bytes());
    digest.update(content.as_slice());
    digest.update(cii.unwrap_or_default().as_bytes());
    let id = digest.finalize()[..16].to_vec();
    pdf.set_file_id((id.clone(), id));
    {
        let mut c = pdf.catalog(catalog);
        c.pages(tree);
        c.metadata(metadata_id);
        c.output_intents()
            .push()
            .subtype(OutputIntentSubtype::PDFA)
            .output_condition_identifier(TextStr("sRGB IEC61966-2.1"))
            .registry_name(TextStr("http://www.color.org"))
            .info(TextStr("sRGB IEC61966-2.1"))
            .dest_output_profile(profile);
        if cii.is_some() {
            c.names()
                .embedded_files()
                .names()
                .insert(Str(FACTUR_X_FILE.as_bytes()), file_spec);
            c.insert(Name(b"AF")).array().item(file_spec);
        }
    }
    pdf.metadata(metadata_id, metadata(title, cii.is_some()).as_bytes());
    pdf.icc_profile(profile, &font::SRGB_DEFLATED)
        .n(3)
        .filter(Filter::FlateDecode);
    if let Some(xml) = cii {
        let mut spec = pdf.file_spec(file_spec);
        spec.path(Str(FACTUR_X_FILE.as_bytes()))
            .unic_file(TextStr(FACTUR_X_FILE))
            .description(TextStr("Factur-X invoice (EN 16931)"))
            .association_kind(AssociationKind::Data);
        spec.embedded_file_with_unicode(embedded);
        spec.finish();
        // Deflated: a third of its size, which every invoice email and the outbox carry.
        let deflated = font::deflate(xml.as_bytes());
        let mut file = pdf.embedded_file(embedded, &deflated);
        file.filter(Filter::FlateDecode);
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
    embed_font(&mut pdf, &font::REGULAR, &regular_codes, font_refs);
    embed_font(&mut pdf, &font::BOLD, &bold_codes, bold_refs);
    pdf.stream(contents, &content);
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use tally_core::locale::Locale;

    use super::*;

    #[test]
    fn typographic_marks_use_their_win_ansi_codes() {
        assert_eq!(win_ansi("Visa •••• 4242"), b"Visa \x95\x95\x95\x95 4242");
        assert_eq!(win_ansi("27 × $5.00"), b"27 \xd7 $5.00");
        assert_eq!(win_ansi("日本"), b"??");
        assert_eq!(
            Words(Locale::En).period("2026-02"),
            "1\u{2013}28 February 2026"
        );
        assert_eq!(
            win_ansi("1\u{202f}234,56\u{a0}\u{20ac}"),
            b"1\xa0234,56\xa0\x80"
        );
    }
}
