//! Golden test: the permission matrix rendered from `allows` is checked in as
//! `tests/golden/permission_matrix.md`, and that file must match spec §2's table cell by cell.
//! A change to the matrix shows up in review as a diff of the golden file.
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

/// Reads the rows of the first Markdown table under "## 2." as (first cell, ✓ cells).
fn spec_rows(spec: &str) -> Vec<(String, Vec<bool>)> {
    let section = spec
        .split("\n## ")
        .find(|s| s.starts_with("2."))
        .expect("spec has a section 2");
    section
        .lines()
        .filter(|l| l.starts_with('|') && !l.starts_with("|---") && !l.starts_with("| Capability"))
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
fn the_golden_file_matches_the_spec_table_cell_by_cell() {
    // The product spec lives beside the repository (../shared/spec.md); CI has it there too.
    let spec_path = std::env::var("TALLY_SPEC")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/spec.md"));
    let spec = match std::fs::read_to_string(&spec_path) {
        Ok(s) => s,
        Err(e) if std::env::var_os("TALLY_NO_SPEC").is_some() => {
            eprintln!("skipping: {} unreadable ({e}) and TALLY_NO_SPEC set", spec_path.display());
            return;
        }
        Err(e) => panic!(
            "cannot read the spec at {} ({e}); set TALLY_SPEC to its path, or TALLY_NO_SPEC=1 to skip",
            spec_path.display()
        ),
    };
    let golden = std::fs::read_to_string(golden_path()).unwrap();
    let want = spec_rows(&spec);
    let got = spec_rows(&format!("\n## 2. Roles\n\n{golden}"));
    assert_eq!(want.len(), 11, "the spec's table has 11 rows");
    assert_eq!(got.len(), want.len());
    for ((wname, wcells), (gname, gcells)) in want.iter().zip(&got) {
        assert_eq!(gname, wname);
        assert_eq!(gcells, wcells, "row {wname:?}");
    }
}
