//! The crate's shape, read from its own source:
//!
//! - the domain folders import in one direction only, `platform ← identity ← directory ←
//!   billing ← seller`: a module may name its own domain and the ones before it, never one after;
//! - each table has one owner, the only module whose SQL names it.
//!
//! Paths are read with `syn` (`use` trees, paths in code, and `crate::…` inside macro
//! calls); `super::` is resolved from the module the file is, and from inline modules.

use std::{
    collections::BTreeMap,
    fs,
    path::{Path, PathBuf},
};

use syn::visit::{self, Visit};

/// The domains, each allowed to import those before it.
const DOMAINS: [&str; 5] = ["platform", "identity", "directory", "billing", "seller"];

/// Every table, and the module (a path prefix) that owns it.
const OWNERS: &[(&str, &str)] = &[
    ("tally_instance", "platform::db"),
    ("_sqlx_migrations", "platform::db"),
    ("server_secrets", "platform::secrets"),
    ("mail_outbox", "platform::mail"),
    ("mail_attachments", "platform::mail"),
    ("webhook_endpoints", "platform::webhooks"),
    ("webhook_deliveries", "platform::webhooks"),
    ("scim_tokens", "directory::users::scim"),
    ("audit_events", "platform::audit"),
    ("scheduler_leases", "platform::leases"),
    ("accounts", "identity::accounts"),
    ("setup_done", "identity::accounts"),
    ("admins", "identity::accounts"),
    ("sessions", "identity::accounts"),
    ("pending_sign_ins", "identity::accounts"),
    ("one_time_tokens", "identity::links"),
    ("rate_limits", "identity::throttle"),
    ("admin_totp", "identity::two_step"),
    ("admin_recovery_codes", "identity::two_step"),
    ("admin_passkeys", "identity::two_step"),
    ("webauthn_ceremonies", "identity::two_step"),
    ("operators", "identity::operators"),
    ("operator_sessions", "identity::operators"),
    ("operator_pending_sign_ins", "identity::operators"),
    ("operator_invitations", "identity::operators"),
    ("sellers", "seller::profile"),
    ("api_keys", "seller::api_keys"),
    ("api_idempotency", "seller::api_keys"),
    ("account_plans", "billing::plans"),
    ("billing_settings", "billing::settings"),
    ("users", "directory::users"),
    ("seat_caps", "directory::users"),
    ("user_count_changes", "directory::users"),
    ("commands", "directory::commands"),
    ("command_runners", "directory::commands"),
    ("command_runs", "directory::commands"),
    ("billing_info", "billing::info"),
    ("invoice_fields", "billing::info"),
    ("billing_contacts", "billing::contacts"),
    ("spend_alerts", "billing::alerts"),
    ("spend_alerts_fired", "billing::alerts"),
    ("payment_methods", "billing::cards"),
    ("payment_method_submissions", "billing::cards"),
    ("invoices", "billing::invoices"),
    ("invoice_month_figures", "billing::invoices::figures"),
    ("charge_attempts", "billing::invoices"),
    ("credit_notes", "billing::credit_notes"),
    ("document_series", "billing::credit_notes"),
    ("sandbox_refunds", "billing::gateway::sandbox"),
    ("sandbox_setup_intents", "billing::gateway::sandbox"),
    ("sandbox_charges", "billing::gateway::sandbox"),
    ("stripe_customers", "billing::gateway::stripe"),
    ("stripe_payment_intents", "billing::gateway::stripe"),
    ("stripe_events", "billing::gateway::stripe"),
];

/// Modules allowed to name a table they do not own, and why.
const READS_EVERY_TABLE: &[(&str, &[&str], &str)] = &[
    (
        "platform::backup",
        &["_sqlx_migrations", "accounts", "invoices", "mail_outbox"],
        "counts the rows of a backup copy it has just written and checked, not the live tables",
    ),
    (
        "seller::customers",
        &["accounts", "admins", "users", "payment_methods", "invoices"],
        "the console's list reads each account's summary in one statement (search — by company, an administrator's email or an invoice's number —, filters, order and page over every account), and writes nothing of theirs",
    ),
    (
        "seller::revenue",
        &["accounts", "invoices"],
        "the revenue figures add up every account's invoices in a few statements, and write nothing",
    ),
];

/// Tables the migrations created and later dropped (or, for SQLite's table rebuilds, renamed
/// to the name of the one they replace).
const DROPPED: &[&str] = &[
    "sign_in_throttle",
    "admin_totp_owned",
    "admin_passkeys_owned",
    "admin_recovery_codes_owned",
    "webauthn_ceremonies_owned",
    "users_rebuilt",
    "invoices_old",
];

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One source file, as the module it is.
struct Source {
    file: PathBuf,
    module: Vec<String>,
    ast: syn::File,
}

fn sources() -> Vec<Source> {
    let src = crate_dir().join("src");
    let mut files = Vec::new();
    walk(&src, &mut files);
    files.sort();
    files
        .into_iter()
        .map(|file| {
            let rel = file.strip_prefix(&src).unwrap().with_extension("");
            let mut module: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if matches!(module.last().map(String::as_str), Some("mod" | "lib")) {
                module.pop();
            }
            let text = fs::read_to_string(&file).unwrap();
            let ast = syn::parse_file(&text)
                .unwrap_or_else(|e| panic!("{} does not parse: {e}", file.display()));
            Source { file, module, ast }
        })
        .collect()
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn rank(domain: &str) -> Option<usize> {
    DOMAINS.iter().position(|d| *d == domain)
}

/// Every module path a file names, resolved to where it points in the crate (`None` for
/// paths into other crates or to names in scope).
#[derive(Default)]
struct Paths {
    /// The module the code being read is in: the file's, then any inline `mod`.
    here: Vec<String>,
    /// What each path points to, with the module it was named from.
    found: Vec<(Vec<String>, Vec<String>)>,
}

impl Paths {
    fn resolve(&mut self, segments: &[String]) {
        let mut at = self.here.clone();
        let mut rest = segments;
        match rest.first().map(String::as_str) {
            Some("crate") => {
                at.clear();
                rest = &rest[1..];
            }
            Some("super") => {
                while rest.first().map(String::as_str) == Some("super") {
                    at.pop();
                    rest = &rest[1..];
                }
            }
            Some("self") => rest = &rest[1..],
            _ => return,
        }
        at.extend(rest.iter().cloned());
        self.found.push((self.here.clone(), at));
    }

    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                prefix.push(n.ident.to_string());
                self.resolve(&prefix.clone());
                prefix.pop();
            }
            syn::UseTree::Rename(r) => {
                prefix.push(r.ident.to_string());
                self.resolve(&prefix.clone());
                prefix.pop();
            }
            syn::UseTree::Glob(_) => self.resolve(&prefix.clone()),
            syn::UseTree::Group(g) => {
                for t in &g.items {
                    self.use_tree(prefix, t);
                }
            }
        }
    }

    /// `crate::a::b` and `super::a` inside a macro call's tokens (`view!`, `format!`, …).
    fn tokens(&mut self, tokens: proc_macro2::TokenStream) {
        let list: Vec<proc_macro2::TokenTree> = tokens.into_iter().collect();
        let mut i = 0;
        while i < list.len() {
            match &list[i] {
                proc_macro2::TokenTree::Group(g) => self.tokens(g.stream()),
                proc_macro2::TokenTree::Ident(id) if id == "crate" || id == "super" => {
                    let mut segments = vec![id.to_string()];
                    let mut j = i + 1;
                    while let (
                        Some(proc_macro2::TokenTree::Punct(a)),
                        Some(proc_macro2::TokenTree::Punct(b)),
                        Some(proc_macro2::TokenTree::Ident(next)),
                    ) = (list.get(j), list.get(j + 1), list.get(j + 2))
                    {
                        if a.as_char() != ':' || b.as_char() != ':' {
                            break;
                        }
                        segments.push(next.to_string());
                        j += 3;
                    }
                    if segments.len() > 1 {
                        self.resolve(&segments);
                    }
                    i = j;
                    continue;
                }
                _ => {}
            }
            i += 1;
        }
    }
}

impl<'ast> Visit<'ast> for Paths {
    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        self.here.push(m.ident.to_string());
        visit::visit_item_mod(self, m);
        self.here.pop();
    }

    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        self.use_tree(&mut Vec::new(), &u.tree);
    }

    fn visit_path(&mut self, p: &'ast syn::Path) {
        let segments: Vec<String> = p.segments.iter().map(|s| s.ident.to_string()).collect();
        self.resolve(&segments);
        visit::visit_path(self, p);
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        self.tokens(m.tokens.clone());
        visit::visit_macro(self, m);
    }
}

/// The imports of `module` (its source `ast`) that go against the domains' direction.
fn wrong_way(module: &[String], ast: &syn::File) -> Vec<String> {
    let Some(own) = module.first().and_then(|d| rank(d)) else {
        return Vec::new(); // the crate root wires every domain together
    };
    let mut paths = Paths {
        here: module.to_vec(),
        ..Paths::default()
    };
    paths.visit_file(ast);
    paths
        .found
        .into_iter()
        .filter(|(_, to)| to.first().and_then(|d| rank(d)).is_some_and(|r| r > own))
        .map(|(from, to)| format!("{} uses {}", from.join("::"), to.join("::")))
        .collect()
}

#[test]
fn the_domains_import_in_one_direction_only() {
    let mut wrong = Vec::new();
    for s in sources() {
        for w in wrong_way(&s.module, &s.ast) {
            wrong.push(format!("{}: {w}", s.file.display()));
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against platform ← identity ← directory ← billing ← seller:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_top_level_is_the_domain_folders() {
    let src = crate_dir().join("src");
    let mut entries: Vec<String> = fs::read_dir(&src)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    entries.sort();
    let mut expected: Vec<String> = DOMAINS.iter().map(|d| d.to_string()).collect();
    expected.push("lib.rs".into());
    expected.sort();
    assert_eq!(entries, expected);
}

#[test]
fn the_check_finds_an_import_against_the_direction() {
    let module = |m: &str| m.split("::").map(String::from).collect::<Vec<_>>();
    let ast = syn::parse_file(
        "use crate::billing::invoices::Invoice;\n\
         fn f() { super::super::directory::users::count(); }\n\
         fn g() { format!(\"{}\", crate::billing::x()); }\n\
         mod inner { use super::super::platform::db::Code; }",
    )
    .unwrap();
    assert_eq!(
        wrong_way(&module("identity::links"), &ast),
        [
            "identity::links uses billing::invoices::Invoice",
            "identity::links uses directory::users::count",
            "identity::links uses billing::x",
        ]
    );
    assert!(wrong_way(&module("billing::cards"), &ast).is_empty());
    let own = syn::parse_file("use super::accounts::admins; use crate::platform::db;").unwrap();
    assert!(wrong_way(&module("identity::links"), &own).is_empty());
}

/// The tables a piece of SQL names after FROM, JOIN, INTO, UPDATE or TABLE.
fn tables_named(sql: &str) -> Vec<String> {
    let words: Vec<String> = sql
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    words
        .windows(2)
        .filter(|w| matches!(w[0].as_str(), "from" | "join" | "into" | "update" | "table"))
        .map(|w| w[1].clone())
        .collect()
}

/// Every string literal in the code, outside `#[cfg(test)]` items (a test may set up rows of
/// any table).
#[derive(Default)]
struct Strings(Vec<String>);

fn is_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg") && a.parse_args::<syn::Ident>().is_ok_and(|i| i == "test")
    })
}

impl Strings {
    fn tokens(&mut self, tokens: proc_macro2::TokenStream) {
        for t in tokens {
            match t {
                proc_macro2::TokenTree::Group(g) => self.tokens(g.stream()),
                proc_macro2::TokenTree::Literal(l) => {
                    if let Ok(syn::Lit::Str(s)) = syn::parse_str::<syn::Lit>(&l.to_string()) {
                        self.0.push(s.value());
                    }
                }
                _ => {}
            }
        }
    }
}

impl<'ast> Visit<'ast> for Strings {
    fn visit_item(&mut self, i: &'ast syn::Item) {
        let attrs = match i {
            syn::Item::Mod(m) => &m.attrs,
            syn::Item::Fn(f) => &f.attrs,
            syn::Item::Impl(m) => &m.attrs,
            _ => return visit::visit_item(self, i),
        };
        if !is_test(attrs) {
            visit::visit_item(self, i);
        }
    }

    fn visit_lit_str(&mut self, s: &'ast syn::LitStr) {
        self.0.push(s.value());
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        self.tokens(m.tokens.clone());
    }
}

fn owns(module: &str, owner: &str) -> bool {
    module == owner || module.starts_with(&format!("{owner}::"))
}

#[test]
fn each_table_has_one_owner_whose_sql_alone_names_it() {
    let owners: BTreeMap<&str, &str> = OWNERS.iter().copied().collect();
    let mut wrong = Vec::new();
    for s in sources() {
        let module = s.module.join("::");
        let mut strings = Strings::default();
        strings.visit_file(&s.ast);
        for sql in &strings.0 {
            for table in tables_named(sql) {
                let Some(owner) = owners.get(table.as_str()) else {
                    continue;
                };
                let allowed = READS_EVERY_TABLE
                    .iter()
                    .any(|(m, tables, _)| *m == module && tables.contains(&table.as_str()));
                if !owns(&module, owner) && !allowed {
                    wrong.push(format!(
                        "{}: {module} names {table}, which {owner} owns: {sql:?}",
                        s.file.display()
                    ));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "SQL outside its table's owner:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn every_table_the_migrations_make_has_an_owner() {
    let owners: BTreeMap<&str, &str> = OWNERS.iter().copied().collect();
    for backend in ["sqlite", "postgres"] {
        let dir = crate_dir().join("migrations").join(backend);
        let mut made = Vec::new();
        for entry in fs::read_dir(&dir).unwrap() {
            let sql = fs::read_to_string(entry.unwrap().path()).unwrap();
            let lower = sql.to_ascii_lowercase();
            for part in lower.split("create table").skip(1) {
                let name = part
                    .trim_start()
                    .trim_start_matches("if not exists")
                    .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .find(|w| !w.is_empty())
                    .unwrap()
                    .to_string();
                made.push(name);
            }
        }
        for table in made {
            assert!(
                owners.contains_key(table.as_str()) || DROPPED.contains(&table.as_str()),
                "{backend}: table {table} has no owner in tests/layers.rs"
            );
        }
    }
}

#[test]
fn the_owner_check_reads_sql_where_it_is_written() {
    assert_eq!(
        tables_named("SELECT a.id FROM admins a JOIN accounts c ON c.id = a.account_id"),
        ["admins", "accounts"]
    );
    assert_eq!(
        tables_named("INSERT INTO invoices (id) VALUES ($1)"),
        ["invoices"]
    );
    let ast = syn::parse_file(
        "fn f() { sqlx::query(\"UPDATE invoices SET x = 1\"); }\n\
         #[cfg(test)] mod tests { fn g() { q(\"DELETE FROM users\"); } }",
    )
    .unwrap();
    let mut strings = Strings::default();
    strings.visit_file(&ast);
    assert_eq!(strings.0, ["UPDATE invoices SET x = 1"]);
}
