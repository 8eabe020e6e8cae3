//! Every row of `golden/tax_ids.tsv` — valid and refused tax IDs for each country with a
//! scheme — gives the same stored form, printed form or message natively (the server) and in
//! wasm32 (the browser build: `scripts/test.sh` runs this file under wasm-bindgen-test-runner).

use tally_core::tax_id::TaxId;

const TABLE: &str = include_str!("golden/tax_ids.tsv");

/// What core makes of `typed` for an address in `country`, in the table's notation.
fn verdict(country: &str, typed: &str) -> String {
    match TaxId::parse(typed, country) {
        Ok(None) => "= ".into(),
        Ok(Some(id)) => format!("= {} | {}", id.normal(), id.official()),
        Err(e) => format!("! {e}"),
    }
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn every_row_of_the_table_holds() {
    let mut rows = 0;
    let mut wrong = Vec::new();
    for line in TABLE.lines().filter(|l| !l.starts_with('#')) {
        let mut cols = line.splitn(3, '\t');
        let (country, typed, expected) = (
            cols.next().unwrap_or_default(),
            cols.next().unwrap_or_default(),
            cols.next().unwrap_or_default(),
        );
        rows += 1;
        let got = verdict(country, typed);
        if got != expected {
            wrong.push(format!(
                "{country} {typed:?}: expected {expected:?}, got {got:?}"
            ));
        }
    }
    assert!(rows > 150, "the table has {rows} rows");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn every_scheme_has_valid_and_refused_rows() {
    for scheme in tally_core::tax_id::SCHEMES {
        let rows: Vec<&str> = TABLE
            .lines()
            .filter(|l| {
                l.split('\t')
                    .nth(2)
                    .is_some_and(|e| e.starts_with(&format!("= {}", scheme.prefix)))
            })
            .collect();
        assert!(!rows.is_empty(), "no valid {} in the table", scheme.name);
    }
    let refused = TABLE.lines().filter(|l| l.contains("\t! ")).count();
    assert!(refused > 60, "{refused} refused rows");
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn a_stored_form_reads_back_as_the_same_id() {
    for line in TABLE.lines().filter(|l| !l.starts_with('#')) {
        let cols: Vec<&str> = line.splitn(3, '\t').collect();
        if let Ok(Some(id)) = TaxId::parse(cols[1], cols[0]) {
            assert_eq!(TaxId::stored(&id.normal()), id, "{line}");
            assert_eq!(
                TaxId::parse(&id.official(), cols[0]),
                Ok(Some(id.clone())),
                "{line}"
            );
        }
    }
}
