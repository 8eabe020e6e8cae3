//! `docs/tax-ids.md` lists every tax ID scheme and what is checked, as `tax_id::SCHEMES`
//! says. To accept a change: `TALLY_BLESS=1 cargo test -p tally-core --test tax_id_docs`.

use std::path::Path;

use tally_core::{country::country_name, tax_id::SCHEMES};

fn table() -> String {
    let mut t =
        String::from("| Country | Scheme | Prefix | Shape | Checked |\n|---|---|---|---|---|\n");
    for s in SCHEMES {
        let country = match s.prefix {
            "XI" => "Northern Ireland",
            _ => country_name(s.country).unwrap_or(s.country),
        };
        t.push_str(&format!(
            "| {country} | {} | {} | {} | {} |\n",
            s.title(),
            s.prefix,
            s.form,
            s.checks
        ));
    }
    t
}

/// Checks that `docs/<file>` holds `table` between `<!-- marker -->` and `<!-- /marker -->`
/// (rewrites it with `TALLY_BLESS=1`).
fn check_block(file: &str, marker: &str, table: &str, source: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../docs")
        .join(file);
    let doc = std::fs::read_to_string(&path).expect(file);
    let (head, rest) = doc
        .split_once(&format!("<!-- {marker} -->\n"))
        .expect("start marker");
    let (_, tail) = rest
        .split_once(&format!("<!-- /{marker} -->"))
        .expect("end marker");
    let want = format!("{head}<!-- {marker} -->\n{table}<!-- /{marker} -->{tail}");
    if std::env::var_os("TALLY_BLESS").is_some() {
        std::fs::write(&path, &want).unwrap();
    }
    assert_eq!(doc, want, "docs/{file} differs from {source}; bless it");
}

#[test]
fn the_docs_table_is_the_codes() {
    check_block("tax-ids.md", "schemes", &table(), "tax_id::SCHEMES");
}

/// `docs/tax.md`'s table of the EU standard rates, as `vat::EU_STANDARD_RATES` says.
fn rates_table() -> String {
    let mut t = String::from("| Country | Code | Standard rate |\n|---|---|---|\n");
    for (code, rate_bp) in tally_core::vat::EU_STANDARD_RATES {
        t.push_str(&format!(
            "| {} | {code} | {} |\n",
            country_name(code).unwrap_or(code),
            tally_core::vat::rate_label(*rate_bp)
        ));
    }
    t
}

#[test]
fn the_docs_rates_are_the_codes() {
    check_block("tax.md", "rates", &rates_table(), "vat::EU_STANDARD_RATES");
}
