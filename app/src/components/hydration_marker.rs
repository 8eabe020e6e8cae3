//! Sets `data-hydrated="true"` on `<body>` once the app is interactive in the browser.
//!
//! End-to-end tests wait for this marker before they click: a click on server-rendered markup
//! before hydration is silently lost.

use leptos::prelude::*;

/// Renders nothing; its effect runs only in the browser, after hydration.
#[component]
pub fn HydrationMarker() -> impl IntoView {
    Effect::new(move |_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
}
