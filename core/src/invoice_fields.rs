//! What a customer's billing administrators ask to see on their invoices: a purchase order
//! number and up to five fields of their own (a cost centre, a project code…), each a name and
//! a value. Printed under "References" on every invoice made after they are saved.

use serde::{Deserialize, Serialize};

use crate::{contact::optional_text, forms::FieldErrors, locale::Locale};

/// The most fields of their own an account can have printed.
pub const MAX_CUSTOM_FIELDS: usize = 5;
pub const MAX_PO_NUMBER_LEN: usize = 50;
pub const MAX_NAME_LEN: usize = 40;
pub const MAX_VALUE_LEN: usize = 100;

/// The form as typed: the PO number and [`MAX_CUSTOM_FIELDS`] name/value pairs (blank pairs
/// are left out). Field keys: `po_number`, `name1`…`name5`, `value1`…`value5`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceFieldsInput {
    pub po_number: String,
    /// Always [`MAX_CUSTOM_FIELDS`] pairs on the form; fewer are read as blank.
    pub custom: Vec<(String, String)>,
    /// The code of the language of the account's invoices and billing emails (`invoice_language`;
    /// blank: English).
    #[serde(default)]
    pub language: String,
}

/// Checked: what the invoices print.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceFields {
    pub po_number: Option<String>,
    pub custom: Vec<(String, String)>,
    /// The language of the account's invoices, credit notes and billing emails, unless a
    /// billing contact chose another for theirs.
    #[serde(default)]
    pub language: Locale,
}

impl InvoiceFieldsInput {
    pub fn parse(&self) -> Result<InvoiceFields, FieldErrors> {
        let mut e = FieldErrors::new();
        let po_number = e
            .check(
                "po_number",
                optional_text(&self.po_number, "PO number", MAX_PO_NUMBER_LEN),
            )
            .flatten();
        let mut custom: Vec<(String, String)> = Vec::new();
        for i in 0..MAX_CUSTOM_FIELDS {
            let (name, value) = self.custom.get(i).cloned().unwrap_or_default();
            let (name_key, value_key) = (format!("name{}", i + 1), format!("value{}", i + 1));
            let name = e.check(
                &name_key,
                optional_text(&name, "field's name", MAX_NAME_LEN),
            );
            let value = e.check(
                &value_key,
                optional_text(&value, "field's value", MAX_VALUE_LEN),
            );
            match (name, value) {
                (Some(None), Some(None)) | (None, _) | (_, None) => {}
                (Some(Some(_)), Some(None)) => {
                    e.add(&value_key, "Enter the value, or clear the name.")
                }
                (Some(None), Some(Some(_))) => {
                    e.add(&name_key, "Name this field, such as Cost centre.")
                }
                (Some(Some(name)), Some(Some(value))) => {
                    let taken = name.eq_ignore_ascii_case("PO number")
                        || custom.iter().any(|(n, _)| n.eq_ignore_ascii_case(&name));
                    if taken {
                        e.add(&name_key, "Each field needs its own name.");
                    } else {
                        custom.push((name, value));
                    }
                }
            }
        }
        let language = match self.language.trim() {
            "" => Some(Locale::En),
            code => Locale::from_code(code),
        };
        if language.is_none() {
            e.add("invoice_language", language_refusal());
        }
        e.finish(language.map(|language| InvoiceFields {
            po_number,
            custom,
            language,
        }))
    }
}

impl From<&InvoiceFields> for InvoiceFieldsInput {
    fn from(f: &InvoiceFields) -> Self {
        let mut custom = f.custom.clone();
        custom.resize(MAX_CUSTOM_FIELDS, Default::default());
        Self {
            po_number: f.po_number.clone().unwrap_or_default(),
            custom,
            language: f.language.code().to_string(),
        }
    }
}

/// What a language Tally does not write documents in is told.
pub fn language_refusal() -> String {
    let names: Vec<&str> = Locale::ALL.iter().map(|l| l.name()).collect();
    format!("Choose one of {}.", names.join(", "))
}

impl InvoiceFields {
    pub fn is_empty(&self) -> bool {
        self.po_number.is_none() && self.custom.is_empty()
    }

    /// As the invoice prints them, one line each: `PO number: 4500012345`, `Cost centre: 42`.
    pub fn printed_lines(&self) -> Vec<String> {
        self.po_number
            .iter()
            .map(|po| format!("PO number: {po}"))
            .chain(self.custom.iter().map(|(n, v)| format!("{n}: {v}")))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn typed(po: &str, pairs: &[(&str, &str)]) -> InvoiceFieldsInput {
        InvoiceFieldsInput {
            language: String::new(),
            po_number: po.into(),
            custom: pairs
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn the_documents_language_is_one_tally_writes() {
        let mut input = typed("", &[]);
        assert_eq!(
            input.parse().unwrap().language,
            Locale::En,
            "blank is English"
        );
        input.language = "de".into();
        assert_eq!(input.parse().unwrap().language, Locale::De);
        input.language = "es".into();
        assert_eq!(
            input.parse().unwrap_err().get("invoice_language"),
            Some("Choose one of English, Deutsch, Fran\u{e7}ais.")
        );
        let fr = InvoiceFields {
            language: Locale::Fr,
            ..Default::default()
        };
        assert_eq!(InvoiceFieldsInput::from(&fr).language, "fr");
    }

    #[test]
    fn a_po_number_and_fields_print_in_order_and_blank_pairs_are_left_out() {
        let f = typed(
            " 4500012345 ",
            &[("Cost centre", "42"), ("", ""), ("Project", "Apollo")],
        )
        .parse()
        .unwrap();
        assert_eq!(
            f.printed_lines(),
            [
                "PO number: 4500012345",
                "Cost centre: 42",
                "Project: Apollo"
            ]
        );
        assert_eq!(InvoiceFieldsInput::from(&f).custom.len(), MAX_CUSTOM_FIELDS);
        assert_eq!(InvoiceFieldsInput::from(&f).parse(), Ok(f));
        assert!(typed("", &[]).parse().unwrap().is_empty());
    }

    #[test]
    fn each_half_of_a_pair_needs_the_other_and_names_are_distinct() {
        let e = typed(
            "",
            &[
                ("Cost centre", ""),
                ("", "42"),
                ("Project", "A"),
                ("project", "B"),
                ("PO number", "x"),
            ],
        )
        .parse()
        .unwrap_err();
        assert_eq!(e.get("value1"), Some("Enter the value, or clear the name."));
        assert_eq!(
            e.get("name2"),
            Some("Name this field, such as Cost centre.")
        );
        assert_eq!(e.get("name3"), None);
        assert_eq!(e.get("name4"), Some("Each field needs its own name."));
        assert_eq!(e.get("name5"), Some("Each field needs its own name."));
    }

    #[test]
    fn lengths_and_card_numbers_are_refused_beside_their_field() {
        let e = typed(
            &"9".repeat(51),
            &[
                ("x".repeat(41).as_str(), "v"),
                ("Card", "4111 1111 1111 1111"),
            ],
        ) // test number
        .parse()
        .unwrap_err();
        assert_eq!(
            e.get("po_number"),
            Some("The PO number can be at most 50 characters.")
        );
        assert_eq!(
            e.get("name1"),
            Some("The field's name can be at most 40 characters.")
        );
        assert_eq!(e.get("value2"), Some(crate::card_in_text::CARD_IN_TEXT));
    }

    proptest! {
        #[test]
        fn what_parses_prints_one_line_per_field(po in "[A-Za-z0-9-]{0,20}", names in proptest::collection::vec("[A-Z][a-z]{1,10}", 0..5)) {
            let pairs: Vec<(String, String)> = names.iter().enumerate().map(|(i, n)| (format!("{n}{i}"), format!("v{i}"))).collect();
            let input = InvoiceFieldsInput { po_number: po.clone(), custom: pairs.clone(), language: String::new() };
            let f = input.parse().unwrap();
            prop_assert_eq!(f.printed_lines().len(), usize::from(!po.is_empty()) + pairs.len());
        }
    }
}
