//! Invoices and credit notes as EN 16931 e-invoices: UBL 2.1 ([`ubl`]) and UN/CEFACT CII
//! ([`cii`], the XML Factur-X embeds in the PDF). Both are written from one [`Document`], made
//! from what the invoice keeps: the parties as they were when it was made, its line, its tax
//! and its totals. Pure text work, no I/O.
//!
//! The VAT categories follow the invoice's treatment (`docs/tax.md`): `S` with its rate, `AE`
//! (reverse charge: both parties' VAT numbers, exemption code `VATEX-EU-AE`), `O` (outside the
//! scope of VAT, or a seller charging VAT nowhere: no VAT numbers, no rate, `VATEX-EU-O`).

use serde::{Deserialize, Serialize};
use tally_core::{
    address::Address,
    billing::{date_of_millis, BillingMonth},
    forms::BillingInfo,
    money::{Currency, Money},
    tax_id::TaxId,
    vat::{rate_decimal, TaxCategory},
    views::billing::{CreditNote, Invoice},
    NaiveDate,
};

/// A party to an invoice as the e-invoice names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Party {
    pub name: String,
    pub address: Address,
    /// Its tax ID in its normal form (`DE136695976`, `911144442`).
    pub tax_id: Option<String>,
}

impl Party {
    /// Its VAT number, when its tax ID is one (it starts with a country's letters).
    fn vat_id(&self) -> Option<&str> {
        self.tax_id
            .as_deref()
            .filter(|t| t.len() > 2 && t.as_bytes()[..2].iter().all(u8::is_ascii_uppercase))
    }

    /// A tax ID that is not a VAT number (a US EIN, an Australian ABN…).
    fn other_tax_id(&self) -> Option<&str> {
        self.tax_id.as_deref().filter(|_| self.vat_id().is_none())
    }
}

/// The customer as an e-invoice names it: its billing information's company, address and tax
/// ID; without billing information, the account's name in `fallback_country` (the seller's:
/// the country its invoices are taxed as).
pub fn buyer(account_name: &str, info: Option<&BillingInfo>, fallback_country: &str) -> Party {
    match info {
        Some(i) => Party {
            name: i.company_name.clone(),
            address: i.address.clone(),
            tax_id: i.tax_id.as_ref().map(TaxId::normal),
        },
        None => Party {
            name: account_name.to_string(),
            address: Address {
                country: fallback_country.to_string(),
                line1: String::new(),
                line2: None,
                city: String::new(),
                region: None,
                postal_code: String::new(),
            },
            tax_id: None,
        },
    }
}

/// Who issued the invoice and to whom, as they were when it was made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parties {
    pub seller: Party,
    pub buyer: Party,
}

/// What either syntax writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Document {
    /// For a credit note: the invoice it credits, its number and issue date.
    pub credits: Option<(String, NaiveDate)>,
    /// For a corrected invoice: the number of the invoice it corrects (type 384).
    pub corrects: Option<String>,
    pub number: String,
    pub issued: NaiveDate,
    pub period: Option<(NaiveDate, NaiveDate)>,
    pub currency: Currency,
    pub parties: Parties,
    /// The account's PO number.
    pub buyer_reference: Option<String>,
    pub notes: Vec<String>,
    pub item: String,
    pub quantity: u64,
    pub price_cents: i64,
    pub net_cents: i64,
    pub category: TaxCategory,
    pub rate_bp: u32,
    pub tax_cents: i64,
    /// The credit balance taken off.
    pub prepaid_cents: i64,
    pub payable_cents: i64,
    pub payment_terms: String,
}

const PO_LINE: &str = "PO number: ";

fn issued_on(millis: i64) -> NaiveDate {
    date_of_millis(millis).unwrap_or_default()
}

impl Document {
    /// The invoice's e-invoice.
    pub fn of_invoice(invoice: &Invoice, parties: Parties) -> Self {
        let month = BillingMonth::parse(&invoice.month);
        let references: Vec<&str> = invoice
            .references
            .as_deref()
            .map(|r| r.lines().collect())
            .unwrap_or_default();
        let buyer_reference = references
            .iter()
            .find_map(|l| l.strip_prefix(PO_LINE))
            .map(str::to_string);
        let mut notes: Vec<String> = references
            .iter()
            .filter(|l| !l.starts_with(PO_LINE))
            .map(|l| l.to_string())
            .collect();
        let (category, rate_bp) = match invoice.tax_treatment() {
            Some(t) => (t.category, t.rate_bp),
            None => (TaxCategory::OutsideScope, 0),
        };
        notes.extend(category.note().map(str::to_string));
        let period = month.map(|m| m.label()).unwrap_or_default();
        Self {
            credits: None,
            corrects: invoice.corrects.clone(),
            number: invoice.number.clone(),
            issued: issued_on(invoice.created_at),
            period: month.map(|m| (m.first_day(), m.last_day())),
            currency: invoice.currency,
            parties,
            buyer_reference,
            notes,
            item: format!(
                "Users, {period} ({} at the peak, {} free)",
                invoice.peak_users, invoice.free_users
            ),
            quantity: invoice.billable_users(),
            price_cents: invoice.price_per_user_cents,
            net_cents: invoice.net_cents(),
            category,
            rate_bp,
            tax_cents: invoice.tax_cents,
            prepaid_cents: invoice.credit_applied_cents,
            payable_cents: invoice.amount_cents,
            payment_terms: if invoice.amount_cents > 0 {
                "Charged to the card on file on the date of issue.".into()
            } else {
                "Nothing is due.".into()
            },
        }
    }

    /// A credit note's e-invoice: one line crediting `note.amount` of `invoice`, split into
    /// net and tax at the invoice's rate.
    pub fn of_credit_note(note: &CreditNote, invoice: &Invoice, parties: Parties) -> Self {
        let (category, rate_bp) = match invoice.tax_treatment() {
            Some(t) => (t.category, t.rate_bp),
            None => (TaxCategory::OutsideScope, 0),
        };
        let (net, tax) = split_gross(note.amount(), rate_bp);
        let (net, tax) = (net.minor(), tax.minor());
        let mut notes = vec![format!("Reason: {}", note.reason)];
        notes.extend(category.note().map(str::to_string));
        Self {
            credits: Some((invoice.number.clone(), issued_on(invoice.created_at))),
            corrects: None,
            number: note.number.clone(),
            issued: issued_on(note.created_at),
            period: None,
            currency: note.currency,
            parties,
            buyer_reference: None,
            notes,
            item: format!("Credit on invoice {}", invoice.number),
            quantity: 1,
            price_cents: net,
            net_cents: net,
            category,
            rate_bp,
            tax_cents: tax,
            prepaid_cents: 0,
            payable_cents: note.amount_cents,
            payment_terms: format!("{}.", note.settlement_sentence().trim_end_matches('.')),
        }
    }

    fn gross_cents(&self) -> i64 {
        self.net_cents + self.tax_cents
    }

    /// UNTDID 1001: a commercial invoice (380), a credit note (381), a corrected invoice (384).
    fn type_code(&self) -> &'static str {
        match (&self.credits, &self.corrects) {
            (Some(_), _) => "381",
            (None, Some(_)) => "384",
            (None, None) => "380",
        }
    }

    fn vat_ids_allowed(&self) -> bool {
        self.category != TaxCategory::OutsideScope
    }

    fn exemption(&self) -> Option<(&'static str, &'static str)> {
        match self.category {
            TaxCategory::Standard => None,
            TaxCategory::ReverseCharge => Some(("VATEX-EU-AE", "Reverse charge")),
            TaxCategory::OutsideScope => Some(("VATEX-EU-O", "Not subject to VAT")),
        }
    }

    /// An amount in the document's currency, with its minor digits (none for the yen).
    fn amount(&self, minor: i64) -> String {
        Money::new(minor, self.currency).decimal()
    }
}

/// The net and the tax of a gross amount at `rate_bp`, the tax being the net's at that rate
/// where such a net exists (else a minor unit more or less, which the sum keeps exact).
pub fn split_gross(gross: Money, rate_bp: u32) -> (Money, Money) {
    let tax_of =
        |net: i64| tally_core::vat::tax_on(gross.with_minor(net), rate_bp).map_or(0, Money::minor);
    let g = gross.minor();
    let guess = (i128::from(g) * 10_000 / (10_000 + i128::from(rate_bp))) as i64;
    let net = (guess - 2..=guess + 2)
        .find(|net| net + tax_of(*net) == g)
        .unwrap_or(guess);
    (gross.with_minor(net), gross.with_minor(g - net))
}

/// Text for XML content and attributes.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t') => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// `<tag>text</tag>` when there is text.
fn el(tag: &str, text: Option<&str>) -> String {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) => format!("<{tag}>{}</{tag}>", esc(t)),
        None => String::new(),
    }
}

/// The seller's tax ID as its identifier (BT-29), where its VAT number may not be written (an
/// `O` invoice): EN 16931 wants the seller identified.
fn seller_identifier(p: &Party, vat_ids: bool) -> Option<&str> {
    p.tax_id.as_deref().filter(|_| !vat_ids)
}

fn ubl_party(p: &Party, vat_ids: bool, identifier: Option<&str>) -> String {
    let a = &p.address;
    let mut x = String::from("<cac:Party>");
    if let Some(id) = identifier {
        x.push_str(&format!(
            "<cac:PartyIdentification>{}</cac:PartyIdentification>",
            el("cbc:ID", Some(id))
        ));
    }
    x.push_str(&format!(
        "<cac:PartyName>{}</cac:PartyName>",
        el("cbc:Name", Some(&p.name))
    ));
    x.push_str("<cac:PostalAddress>");
    x.push_str(&el("cbc:StreetName", Some(&a.line1)));
    x.push_str(&el("cbc:AdditionalStreetName", a.line2.as_deref()));
    x.push_str(&el("cbc:CityName", Some(&a.city)));
    x.push_str(&el("cbc:PostalZone", Some(&a.postal_code)));
    x.push_str(&el("cbc:CountrySubentity", a.region.as_deref()));
    x.push_str(&format!(
        "<cac:Country>{}</cac:Country></cac:PostalAddress>",
        el("cbc:IdentificationCode", Some(&a.country))
    ));
    if let Some(vat) = p.vat_id().filter(|_| vat_ids) {
        x.push_str(&format!(
            "<cac:PartyTaxScheme>{}<cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:PartyTaxScheme>",
            el("cbc:CompanyID", Some(vat))
        ));
    }
    x.push_str("<cac:PartyLegalEntity>");
    x.push_str(&el("cbc:RegistrationName", Some(&p.name)));
    x.push_str(&el("cbc:CompanyID", p.other_tax_id()));
    x.push_str("</cac:PartyLegalEntity></cac:Party>");
    x
}

/// The document as UBL 2.1 (an `Invoice`, or a `CreditNote`).
pub fn ubl(d: &Document) -> String {
    let (root, ns, type_tag, type_code, line_tag, qty_tag) = match d.credits {
        None => (
            "Invoice",
            "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
            "InvoiceTypeCode",
            d.type_code(),
            "InvoiceLine",
            "InvoicedQuantity",
        ),
        Some(_) => (
            "CreditNote",
            "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2",
            "CreditNoteTypeCode",
            "381",
            "CreditNoteLine",
            "CreditedQuantity",
        ),
    };
    let cur = d.currency.code();
    let amt = |tag: &str, cents: i64| {
        format!(
            "<cbc:{tag} currencyID=\"{cur}\">{}</cbc:{tag}>",
            d.amount(cents)
        )
    };
    let mut x = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{root} xmlns=\"{ns}\" \
         xmlns:cac=\"urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2\" \
         xmlns:cbc=\"urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2\">"
    );
    x.push_str("<cbc:CustomizationID>urn:cen.eu:en16931:2017</cbc:CustomizationID>");
    x.push_str(&el("cbc:ID", Some(&d.number)));
    x.push_str(&format!("<cbc:IssueDate>{}</cbc:IssueDate>", d.issued));
    if d.credits.is_none() {
        x.push_str(&format!("<cbc:DueDate>{}</cbc:DueDate>", d.issued));
    }
    x.push_str(&format!("<cbc:{type_tag}>{type_code}</cbc:{type_tag}>"));
    for note in &d.notes {
        x.push_str(&el("cbc:Note", Some(note)));
    }
    x.push_str(&el("cbc:DocumentCurrencyCode", Some(d.currency.code())));
    x.push_str(&el("cbc:BuyerReference", d.buyer_reference.as_deref()));
    if let Some((start, end)) = d.period {
        x.push_str(&format!(
            "<cac:InvoicePeriod><cbc:StartDate>{start}</cbc:StartDate><cbc:EndDate>{end}</cbc:EndDate></cac:InvoicePeriod>"
        ));
    }
    if let Some((number, issued)) = &d.credits {
        x.push_str(&format!(
            "<cac:BillingReference><cac:InvoiceDocumentReference>{}<cbc:IssueDate>{issued}</cbc:IssueDate></cac:InvoiceDocumentReference></cac:BillingReference>",
            el("cbc:ID", Some(number))
        ));
    }
    if let Some(number) = &d.corrects {
        x.push_str(&format!(
            "<cac:BillingReference><cac:InvoiceDocumentReference>{}</cac:InvoiceDocumentReference></cac:BillingReference>",
            el("cbc:ID", Some(number))
        ));
    }
    let vat_ids = d.vat_ids_allowed();
    x.push_str(&format!(
        "<cac:AccountingSupplierParty>{}</cac:AccountingSupplierParty>",
        ubl_party(
            &d.parties.seller,
            vat_ids,
            seller_identifier(&d.parties.seller, vat_ids)
        )
    ));
    x.push_str(&format!(
        "<cac:AccountingCustomerParty>{}</cac:AccountingCustomerParty>",
        ubl_party(&d.parties.buyer, vat_ids, None)
    ));
    x.push_str(&format!(
        "<cac:PaymentTerms>{}</cac:PaymentTerms>",
        el("cbc:Note", Some(&d.payment_terms))
    ));
    let percent = match d.category {
        TaxCategory::OutsideScope => String::new(),
        _ => format!("<cbc:Percent>{}</cbc:Percent>", rate_decimal(d.rate_bp)),
    };
    let exemption = d.exemption().map_or_else(String::new, |(code, reason)| {
        format!(
            "<cbc:TaxExemptionReasonCode>{code}</cbc:TaxExemptionReasonCode><cbc:TaxExemptionReason>{reason}</cbc:TaxExemptionReason>"
        )
    });
    let vat = "<cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme>";
    let category = d.category.code();
    x.push_str(&format!(
        "<cac:TaxTotal>{}<cac:TaxSubtotal>{}{}<cac:TaxCategory><cbc:ID>{category}</cbc:ID>{percent}{exemption}{vat}</cac:TaxCategory></cac:TaxSubtotal></cac:TaxTotal>",
        amt("TaxAmount", d.tax_cents),
        amt("TaxableAmount", d.net_cents),
        amt("TaxAmount", d.tax_cents),
    ));
    x.push_str("<cac:LegalMonetaryTotal>");
    x.push_str(&amt("LineExtensionAmount", d.net_cents));
    x.push_str(&amt("TaxExclusiveAmount", d.net_cents));
    x.push_str(&amt("TaxInclusiveAmount", d.gross_cents()));
    if d.prepaid_cents > 0 {
        x.push_str(&amt("PrepaidAmount", d.prepaid_cents));
    }
    x.push_str(&amt("PayableAmount", d.payable_cents));
    x.push_str("</cac:LegalMonetaryTotal>");
    x.push_str(&format!(
        "<cac:{line_tag}><cbc:ID>1</cbc:ID><cbc:{qty_tag} unitCode=\"C62\">{}</cbc:{qty_tag}>{}\
         <cac:Item>{}<cac:ClassifiedTaxCategory><cbc:ID>{category}</cbc:ID>{percent}{vat}</cac:ClassifiedTaxCategory></cac:Item>\
         <cac:Price>{}</cac:Price></cac:{line_tag}>",
        d.quantity,
        amt("LineExtensionAmount", d.net_cents),
        el("cbc:Name", Some(&d.item)),
        amt("PriceAmount", d.price_cents),
    ));
    x.push_str(&format!("</{root}>\n"));
    x
}

/// `YYYYMMDD`, as CII's format 102 writes a date.
fn cii_date(tag: &str, prefix: &str, date: NaiveDate) -> String {
    format!(
        "<{tag}><{prefix}:DateTimeString format=\"102\">{}</{prefix}:DateTimeString></{tag}>",
        date.format("%Y%m%d")
    )
}

fn cii_party(tag: &str, p: &Party, vat_ids: bool, identifier: Option<&str>) -> String {
    let a = &p.address;
    let mut x = format!("<ram:{tag}>");
    x.push_str(&el("ram:ID", identifier));
    x.push_str(&el("ram:Name", Some(&p.name)));
    if let Some(id) = p.other_tax_id() {
        x.push_str(&format!(
            "<ram:SpecifiedLegalOrganization>{}</ram:SpecifiedLegalOrganization>",
            el("ram:ID", Some(id))
        ));
    }
    x.push_str("<ram:PostalTradeAddress>");
    x.push_str(&el("ram:PostcodeCode", Some(&a.postal_code)));
    x.push_str(&el("ram:LineOne", Some(&a.line1)));
    x.push_str(&el("ram:LineTwo", a.line2.as_deref()));
    x.push_str(&el("ram:CityName", Some(&a.city)));
    x.push_str(&el("ram:CountryID", Some(&a.country)));
    x.push_str(&el("ram:CountrySubDivisionName", a.region.as_deref()));
    x.push_str("</ram:PostalTradeAddress>");
    if let Some(vat) = p.vat_id().filter(|_| vat_ids) {
        x.push_str(&format!(
            "<ram:SpecifiedTaxRegistration><ram:ID schemeID=\"VA\">{}</ram:ID></ram:SpecifiedTaxRegistration>",
            esc(vat)
        ));
    }
    x.push_str(&format!("</ram:{tag}>"));
    x
}

/// The document as UN/CEFACT Cross Industry Invoice (D16B), EN 16931 profile: the XML a
/// Factur-X PDF carries.
pub fn cii(d: &Document) -> String {
    let type_code = d.type_code();
    let amount = |tag: &str, cents: i64| format!("<ram:{tag}>{}</ram:{tag}>", d.amount(cents));
    let mut x = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rsm:CrossIndustryInvoice \
         xmlns:rsm=\"urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100\" \
         xmlns:ram=\"urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100\" \
         xmlns:qdt=\"urn:un:unece:uncefact:data:standard:QualifiedDataType:100\" \
         xmlns:udt=\"urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100\">",
    );
    x.push_str(
        "<rsm:ExchangedDocumentContext><ram:GuidelineSpecifiedDocumentContextParameter>\
         <ram:ID>urn:cen.eu:en16931:2017</ram:ID></ram:GuidelineSpecifiedDocumentContextParameter></rsm:ExchangedDocumentContext>",
    );
    x.push_str("<rsm:ExchangedDocument>");
    x.push_str(&el("ram:ID", Some(&d.number)));
    x.push_str(&format!("<ram:TypeCode>{type_code}</ram:TypeCode>"));
    x.push_str(&cii_date("ram:IssueDateTime", "udt", d.issued));
    for note in &d.notes {
        x.push_str(&format!(
            "<ram:IncludedNote>{}</ram:IncludedNote>",
            el("ram:Content", Some(note))
        ));
    }
    x.push_str("</rsm:ExchangedDocument><rsm:SupplyChainTradeTransaction>");
    let category = d.category.code();
    let rate = match d.category {
        TaxCategory::OutsideScope => String::new(),
        _ => format!(
            "<ram:RateApplicablePercent>{}</ram:RateApplicablePercent>",
            rate_decimal(d.rate_bp)
        ),
    };
    x.push_str(&format!(
        "<ram:IncludedSupplyChainTradeLineItem>\
         <ram:AssociatedDocumentLineDocument><ram:LineID>1</ram:LineID></ram:AssociatedDocumentLineDocument>\
         <ram:SpecifiedTradeProduct>{}</ram:SpecifiedTradeProduct>\
         <ram:SpecifiedLineTradeAgreement><ram:NetPriceProductTradePrice>{}</ram:NetPriceProductTradePrice></ram:SpecifiedLineTradeAgreement>\
         <ram:SpecifiedLineTradeDelivery><ram:BilledQuantity unitCode=\"C62\">{}</ram:BilledQuantity></ram:SpecifiedLineTradeDelivery>\
         <ram:SpecifiedLineTradeSettlement>\
         <ram:ApplicableTradeTax><ram:TypeCode>VAT</ram:TypeCode><ram:CategoryCode>{category}</ram:CategoryCode>{rate}</ram:ApplicableTradeTax>\
         <ram:SpecifiedTradeSettlementLineMonetarySummation>{}</ram:SpecifiedTradeSettlementLineMonetarySummation>\
         </ram:SpecifiedLineTradeSettlement></ram:IncludedSupplyChainTradeLineItem>",
        el("ram:Name", Some(&d.item)),
        amount("ChargeAmount", d.price_cents),
        d.quantity,
        amount("LineTotalAmount", d.net_cents),
    ));
    let vat_ids = d.vat_ids_allowed();
    x.push_str("<ram:ApplicableHeaderTradeAgreement>");
    x.push_str(&el("ram:BuyerReference", d.buyer_reference.as_deref()));
    x.push_str(&cii_party(
        "SellerTradeParty",
        &d.parties.seller,
        vat_ids,
        seller_identifier(&d.parties.seller, vat_ids),
    ));
    x.push_str(&cii_party(
        "BuyerTradeParty",
        &d.parties.buyer,
        vat_ids,
        None,
    ));
    // The service is delivered over the period: its last day (a credit note's, its date).
    let delivered = d.period.map_or(d.issued, |(_, end)| end);
    x.push_str(&format!(
        "</ram:ApplicableHeaderTradeAgreement><ram:ApplicableHeaderTradeDelivery>\
         <ram:ActualDeliverySupplyChainEvent>{}</ram:ActualDeliverySupplyChainEvent></ram:ApplicableHeaderTradeDelivery>",
        cii_date("ram:OccurrenceDateTime", "udt", delivered)
    ));
    x.push_str("<ram:ApplicableHeaderTradeSettlement>");
    x.push_str(&el("ram:InvoiceCurrencyCode", Some(d.currency.code())));
    let (reason, reason_code) =
        d.exemption()
            .map_or((String::new(), String::new()), |(code, reason)| {
                (
                    format!("<ram:ExemptionReason>{reason}</ram:ExemptionReason>"),
                    format!("<ram:ExemptionReasonCode>{code}</ram:ExemptionReasonCode>"),
                )
            });
    x.push_str(&format!(
        "<ram:ApplicableTradeTax>{}<ram:TypeCode>VAT</ram:TypeCode>{reason}{}<ram:CategoryCode>{category}</ram:CategoryCode>{reason_code}{rate}</ram:ApplicableTradeTax>",
        amount("CalculatedAmount", d.tax_cents),
        amount("BasisAmount", d.net_cents),
    ));
    if let Some((start, end)) = d.period {
        x.push_str(&format!(
            "<ram:BillingSpecifiedPeriod>{}{}</ram:BillingSpecifiedPeriod>",
            cii_date("ram:StartDateTime", "udt", start),
            cii_date("ram:EndDateTime", "udt", end)
        ));
    }
    x.push_str(&format!(
        "<ram:SpecifiedTradePaymentTerms>{}{}</ram:SpecifiedTradePaymentTerms>",
        el("ram:Description", Some(&d.payment_terms)),
        if d.credits.is_none() {
            cii_date("ram:DueDateDateTime", "udt", d.issued)
        } else {
            String::new()
        }
    ));
    x.push_str("<ram:SpecifiedTradeSettlementHeaderMonetarySummation>");
    x.push_str(&amount("LineTotalAmount", d.net_cents));
    x.push_str(&amount("TaxBasisTotalAmount", d.net_cents));
    x.push_str(&format!(
        "<ram:TaxTotalAmount currencyID=\"{}\">{}</ram:TaxTotalAmount>",
        d.currency.code(),
        d.amount(d.tax_cents)
    ));
    x.push_str(&amount("GrandTotalAmount", d.gross_cents()));
    if d.prepaid_cents > 0 {
        x.push_str(&amount("TotalPrepaidAmount", d.prepaid_cents));
    }
    x.push_str(&amount("DuePayableAmount", d.payable_cents));
    x.push_str("</ram:SpecifiedTradeSettlementHeaderMonetarySummation>");
    if let Some((number, issued)) = &d.credits {
        x.push_str(&format!(
            "<ram:InvoiceReferencedDocument>{}{}</ram:InvoiceReferencedDocument>",
            el("ram:IssuerAssignedID", Some(number)),
            cii_date("ram:FormattedIssueDateTime", "qdt", *issued)
        ));
    }
    if let Some(number) = &d.corrects {
        x.push_str(&format!(
            "<ram:InvoiceReferencedDocument>{}</ram:InvoiceReferencedDocument>",
            el("ram:IssuerAssignedID", Some(number)),
        ));
    }
    x.push_str("</ram:ApplicableHeaderTradeSettlement></rsm:SupplyChainTradeTransaction></rsm:CrossIndustryInvoice>\n");
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gross_splits_into_a_net_and_its_tax() {
        for rate in [0, 700, 810, 1900, 2000, 2550, 2700] {
            for gross in 0..5_000 {
                let (net, tax) = split_gross(Money::usd(gross), rate);
                let (net, tax) = (net.minor(), tax.minor());
                assert_eq!(net + tax, gross, "{gross} at {rate}");
                let exact = tally_core::vat::tax_on(Money::usd(net), rate)
                    .unwrap()
                    .minor();
                assert!(
                    (tax - exact).abs() <= 1,
                    "{gross} at {rate}: {tax} vs {exact}"
                );
            }
        }
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            el("cbc:Name", Some("A & B <\"x\">")),
            "<cbc:Name>A &amp; B &lt;&quot;x&quot;&gt;</cbc:Name>"
        );
        assert_eq!(el("cbc:Name", Some("  ")), "");
    }
}
