//! Every form goes through the one form component (docs/architecture.md, "Forms"): the app's
//! are `components::form::Form`, which makes them work before the page is live and with
//! scripts off; the server's plain pages draw theirs with `plain_form`. A `<form>` (or
//! Leptos's `ActionForm`) written anywhere else would have neither behaviour, and fails here.

use std::path::{Path, PathBuf};

/// The files that draw a form element, and how many each draws (exactly: so a rename of the
/// component, which would leave this search looking at nothing, fails too).
const ALLOWED: &[(&str, usize)] = &[
    ("app/src/components/form.rs", 1),
    ("server/src/http/public_pages.rs", 1),
];

/// Where a form element is drawn in `source`: Leptos's `view!` markup, its form components,
/// or maud's `form …{` element.
fn form_elements(source: &str) -> Vec<usize> {
    source
        .lines()
        .enumerate()
        .filter(|(_, line)| {
            let code = line.trim_start();
            if code.starts_with("//") {
                return false;
            }
            code.contains("<form")
                || code.contains("<ActionForm")
                || code.contains("<MultiActionForm")
                || code.contains("leptos_router::components::Form")
                || (code.starts_with("form ") && code.contains('{'))
                || code.contains("html! { form ")
        })
        .map(|(n, _)| n + 1)
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a source folder") {
        let path = entry.expect("a folder entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_form_uses_the_form_component() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for dir in ["app/src", "server/src"] {
        rust_files(&root.join(dir), &mut files);
    }
    let mut stray = Vec::new();
    for file in &files {
        let source = std::fs::read_to_string(file).expect("a readable source file");
        let found = form_elements(&source);
        let name = file
            .strip_prefix(&root)
            .expect("under the workspace")
            .to_string_lossy()
            .replace('\\', "/");
        let allowed = ALLOWED
            .iter()
            .find(|(f, _)| *f == name)
            .map_or(0, |(_, n)| *n);
        if found.len() != allowed {
            stray.push(format!("{name}: lines {found:?}"));
        }
    }
    assert!(
        stray.is_empty(),
        "forms drawn without components::form::Form (or the plain pages' plain_form):\n{}",
        stray.join("\n")
    );
}

#[test]
fn the_search_finds_each_way_of_drawing_a_form() {
    for source in [
        "view! { <form class=\"x\" on:submit=go> </form> }",
        "<ActionForm action=verify>",
        "    form class=\"card form\" method=\"post\" {",
        "html! { form method=\"post\" { (x) } }",
    ] {
        assert_eq!(form_elements(source), vec![1], "{source}");
    }
    for source in [
        "<Form to=X::url() on_submit=go>",
        "// a <form> in a comment",
        "let form = NodeRef::new();",
    ] {
        assert!(form_elements(source).is_empty(), "{source}");
    }
}
