//! Tally's user interface: the Leptos app rendered on the server and hydrated in the browser.
//!
//! Server functions are declared here (both sides need them) and reach the server's services
//! through [`ports::Services`], which the server puts in context for every request.

pub mod api;
pub mod components;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod ports;
mod routes;

pub use routes::App;

use leptos::prelude::*;
use leptos_meta::MetaTags;

/// The HTML document around the app; the server renders it for every page.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <link rel="icon" type="image/svg+xml" href="/favicon.svg" />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// Entry point of the WebAssembly bundle: attach to the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(App);
}
