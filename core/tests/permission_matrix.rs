//! Golden test: the permission matrix rendered from `allows` is checked in as
//! `tests/golden/permission_matrix.md`, and that file must match the table people read in
//! `docs/roles.md` cell by cell. A change to the matrix shows up in review as a diff of both.
//!
//! To accept an intended change: `TALLY_BLESS=1 cargo test -p tally-core --test permission_matrix`.

use std::path::{Path, PathBuf};

use tally_core::roles::render_matrix;

fn golden_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/permission_matrix.md")
}

#[test]
fn the_matrix_matches_its_golden_file() {
    let rendered = render_matrix();
    if std::env::var_os("TALLY_BLESS").is_some() {
        std::fs::write(golden_path(), &rendered).unwrap();
    }
    let golden = std::fs::read_to_string(golden_path()).expect("golden file");
    assert_eq!(
        rendered, golden,
        "the permission matrix changed; review and bless it"
    );
}

/// Reads the rows of the first Markdown table under a "## Permissions" heading as (first
/// cell, ✓ cells).
fn table_rows(markdown: &str) -> Vec<(String, Vec<bool>)> {
    rows_under(markdown, "Permissions")
}

/// The rows of the first Markdown table under the "## `heading`" heading.
fn rows_under(markdown: &str, heading: &str) -> Vec<(String, Vec<bool>)> {
    let section = markdown
        .split("\n## ")
        .find(|s| s.starts_with(&format!("{heading}\n")))
        .unwrap_or_else(|| panic!("a {heading} section"));
    section
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .filter(|l| !l.starts_with("|---") && !l.starts_with("| Capability"))
        .map(|l| {
            let cells: Vec<&str> = l
                .trim()
                .trim_matches('|')
                .split('|')
                .map(str::trim)
                .collect();
            (
                cells[0].to_string(),
                cells[1..].iter().map(|c| *c == "✓").collect(),
            )
        })
        .collect()
}

#[test]
fn the_golden_file_matches_the_documented_table_cell_by_cell() {
    let doc_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/roles.md");
    let doc = std::fs::read_to_string(&doc_path).expect("docs/roles.md");
    let golden = std::fs::read_to_string(golden_path()).unwrap();
    let want = table_rows(&doc);
    let got = table_rows(&format!("\n## Permissions\n\n{golden}"));
    assert_eq!(
        want.len(),
        tally_core::roles::ALL_ACTIONS.len(),
        "the documented table has a row per action"
    );
    assert_eq!(got.len(), want.len());
    for ((wname, wcells), (gname, gcells)) in want.iter().zip(&got) {
        assert_eq!(gname, wname);
        assert_eq!(gcells, wcells, "row {wname:?}");
    }
    // The header names the seven roles, in the matrix's order.
    let header = |text: &str| {
        text.lines()
            .find(|l| l.starts_with("| Capability"))
            .map(str::to_string)
    };
    assert_eq!(header(&doc), header(&golden));
}

fn operator_golden_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/operator_matrix.md")
}

#[test]
fn the_operator_matrix_matches_its_golden_file_and_the_documented_table() {
    let rendered = tally_core::operators::render_operator_matrix();
    if std::env::var_os("TALLY_BLESS").is_some() {
        std::fs::write(operator_golden_path(), &rendered).unwrap();
    }
    let golden = std::fs::read_to_string(operator_golden_path()).expect("golden file");
    assert_eq!(
        rendered, golden,
        "the operator matrix changed; review and bless it"
    );
    let doc_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/roles.md");
    let doc = std::fs::read_to_string(&doc_path).expect("docs/roles.md");
    let want = rows_under(&doc, "Operator permissions");
    let got = rows_under(
        &format!("\n## Operator permissions\n\n{golden}"),
        "Operator permissions",
    );
    assert_eq!(
        want.len(),
        tally_core::operators::ALL_OPERATOR_ACTIONS.len()
    );
    assert_eq!(want, got);
    let section = doc.split("\n## Operator permissions\n").nth(1).unwrap();
    let header = section.lines().find(|l| l.starts_with("| Capability"));
    assert_eq!(header, golden.lines().next());
}
