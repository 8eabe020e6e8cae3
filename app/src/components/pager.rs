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
    // Comparisons go in a block: bare, `current >= pages` ends the tag at its `>` and the
    // rest of the element is printed as text.
    let (first, last) = (current <= 1, current >= pages);
    view! {
        <nav class="pagination" aria-label=label>
            <button type="button" disabled=first on:click=move |_| page.set(current.saturating_sub(1).max(1))>{back}</button>
            <span aria-live="polite">{text}</span>
            <button type="button" disabled=last on:click=move |_| page.set((current + 1).min(pages))>{forward}</button>
        </nav>
    }
}
