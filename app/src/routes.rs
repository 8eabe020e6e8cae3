//! The route table, on its own so every page a URL can reach is listed in one place.

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    StaticSegment,
};

use crate::components::hydration_marker::HydrationMarker;
use crate::pages::{home::HomePage, not_found::NotFoundPage};

/// The whole app: document metadata, the stylesheet and the routes.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();

    view! {
        <Stylesheet id="leptos" href="/pkg/tally.css" />
        <Title formatter=|text| format!("{text} · Tally") />
        <HydrationMarker />
        <Router>
            <Routes fallback=NotFoundPage>
                <Route path=StaticSegment("") view=HomePage />
            </Routes>
        </Router>
    }
}
