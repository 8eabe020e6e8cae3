//! Tally's user interface: the Leptos app rendered on the server and hydrated in the browser.
//!
//! Server functions are declared here (both sides need them); on the server their bodies
//! call the services (`tally-services`), which the server puts in context for every request.
// Deep view types (the payments modal) need more than the default 128 without erase_components.
#![recursion_limit = "256"]

pub mod api;
#[cfg(feature = "ssr")]
pub mod auth;
pub mod components;
pub mod error;
pub mod pages;
mod routes;

pub use routes::App;

use leptos::prelude::*;
use leptos_meta::MetaTags;

/// The HTML document around the app; the server renders it for every page.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    set_page_policy();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <link rel="icon" type="image/svg+xml" href="/favicon.svg" />
                <link rel="stylesheet" href=stylesheet_href(&options) />
                <IdleHydration options=options.clone() />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The stylesheet's address: with hashed file names (release and development builds made by
/// cargo-leptos), the name listed in the hash file beside the server binary, where Leptos
/// finds the script's and the wasm's; else the plain name.
pub fn stylesheet_href(options: &LeptosOptions) -> String {
    static HREF: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HREF.get_or_init(|| asset_href(options, "css", "css"))
        .clone()
}

/// The address of the site's `kind` file (`css`, `js` or `wasm`): hashed as the hash file beside
/// the server binary lists it when cargo-leptos hashes names, else plain.
fn asset_href(options: &LeptosOptions, kind: &str, extension: &str) -> String {
    let pkg = &options.site_pkg_dir;
    let name = &options.output_name;
    let hash = options
        .hash_files
        .then(|| {
            let dir = std::env::current_exe().ok()?.parent()?.to_path_buf();
            let text = std::fs::read_to_string(dir.join(options.hash_file.as_ref())).ok()?;
            text.lines().find_map(|l| {
                let (k, h) = l.trim().split_once(':')?;
                (k.trim() == kind).then(|| h.trim().to_string())
            })
        })
        .flatten();
    match hash {
        Some(h) => format!("/{pkg}/{name}.{h}.{extension}"),
        // wasm-bindgen's own name, unless cargo-leptos built the site (as `HydrationScripts`).
        None if kind == "wasm" && option_env!("LEPTOS_OUTPUT_NAME").is_none() => {
            format!("/{pkg}/{name}_bg.{extension}")
        }
        None => format!("/{pkg}/{name}.{extension}"),
    }
}

/// Loads the app's script and wasm once the browser is idle (a 2 s backstop for a page that
/// never is), and only then: no preload hints, so nothing of the app is fetched while the
/// page's HTML and CSS paint it. Leptos' `HydrationScripts defer` does the same but hints both
/// files at low priority from the `<head>`, which Lighthouse's simulation still lays on the
/// first paint's path. That component still runs (its markup unused): it gives the lazy
/// routes the manifest of the wasm's split chunks.
#[component]
fn IdleHydration(options: LeptosOptions) -> impl IntoView {
    let _ = HydrationScripts(
        HydrationScriptsProps::builder()
            .options(options.clone())
            .defer(true)
            .build(),
    );
    static SCRIPT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let script = SCRIPT.get_or_init(|| {
        let js = asset_href(&options, "js", "js");
        let wasm = asset_href(&options, "wasm", "wasm");
        format!(
            "(()=>{{const go=()=>import({js:?}).then(m=>m.default({{module_or_path:{wasm:?}}}).then(()=>m.hydrate()));\
             \"requestIdleCallback\" in window?requestIdleCallback(go,{{timeout:2000}}):go();}})()"
        )
    });
    let nonce = leptos::nonce::use_nonce();
    view! { <script type="module" nonce=nonce>{script.clone()}</script> }
}

/// Content-Security-Policy for a page: scripts only from this origin or carrying this
/// response's nonce (Leptos' hydration script), wasm allowed to compile, no framing.
#[cfg(feature = "ssr")]
fn set_page_policy() {
    let (Some(res), Some(nonce)) = (
        use_context::<leptos_axum::ResponseOptions>(),
        leptos::nonce::use_nonce(),
    ) else {
        return;
    };
    // The card window confirms cards with the payment processor itself, when one is set.
    let processor = use_context::<tally_services::Services>()
        .and_then(|s| s.cards.processor_origin())
        .map(|origin| format!(" {origin}"))
        .unwrap_or_default();
    let csp = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'{processor}; font-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    );
    if let Ok(value) = http::HeaderValue::from_str(&csp) {
        res.insert_header(http::header::CONTENT_SECURITY_POLICY, value);
    }
}

/// Entry point of the WebAssembly bundle: attach to the server-rendered page. Asynchronously:
/// a page whose code is a split chunk (a lazy route, the payments dialog) hydrates once its
/// chunks have loaded, which `hydrate_body` cannot wait for.
///
/// Then, and only then, `<body>` gets `data-hydrated="true"`: every part of the page answers
/// clicks from that moment (end-to-end tests wait for it; a click on server-rendered markup
/// before hydration is silently lost). An effect in the app would run too early, while the
/// chunks are still loading.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    wasm_bindgen_futures::spawn_local(async {
        let body = leptos::prelude::document()
            .body()
            .expect("the page has a body");
        leptos::mount::hydrate_from_async(body.clone(), App)
            .await
            .forget();
        let _ = body.set_attribute("data-hydrated", "true");
    });
}
