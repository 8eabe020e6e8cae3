//! Page buttons under a table whose pages are kept in a signal (the Audit log pages by URL).

use leptos::prelude::*;

/// "‹back› Page n of m ‹forward›"; `page` counts from 1 and is what the buttons change.
#[component]
pub fn Pager(
    page: RwSignal<u32>,
    /// The page shown now (from the server's answer).
    current: u32,
    pages: u32,
    /// The navigation landmark's name, e.g. "Pages of users".
    label: &'static str,
    #[prop(default = "Previous")] back: &'static str,
    #[prop(default = "Next")] forward: &'static str,
    /// Said after "Page n of m", e.g. "(500 administrators)".
    #[prop(optional)]
    extra: Option<String>,
) -> impl IntoView {
    let text = match extra {
        Some(e) => format!("Page {current} of {pages} {e}"),
        None => format!("Page {current} of {pages}"),
    };
    view! {
        <nav class="pagination" aria-label=label>
            <button type="button" disabled=current <= 1 on:click=move |_| page.update(|n| *n = n.saturating_sub(1).max(1))>{back}</button>
            <span>{text}</span>
            <button type="button" disabled=current >= pages on:click=move |_| page.update(|n| *n += 1)>{forward}</button>
        </nav>
    }
}
