//! Any URL no route matches. Route: fallback. Requires: nothing. Server functions: none.

use leptos::prelude::*;
use leptos_meta::Title;

/// "Page not found", answered with HTTP 404 on the server.
#[component]
pub fn NotFoundPage() -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(http::StatusCode::NOT_FOUND);
        }
    }

    view! {
        <Title text="Page not found" />
        <main class="centered-page">
            <h1>"Page not found"</h1>
            <p>"There is no page at this address. It may have moved, or the link may be mistyped."</p>
            <p>
                <a href="/">"Go to the start page"</a>
            </p>
        </main>
    }
}
