//! A secret just made — an API key, a webhook's signing secret, a SCIM token — shown this once
//! above its list, until the person says they have copied it. Tally keeps only a hash (or a
//! sealed copy) of it, so the page is the only place it is ever readable.

use leptos::prelude::*;

#[component]
pub fn ShownOnce(
    /// The heading, e.g. "The key for “CRM sync”".
    #[prop(into)]
    heading: String,
    /// The heading's id, naming the region.
    heading_id: &'static str,
    /// What to do with it, and that it is not shown again.
    advice: &'static str,
    /// The id of the element holding the secret.
    code_id: &'static str,
    secret: String,
    on_done: Callback<()>,
) -> impl IntoView {
    view! {
        <section class="key-shown" aria-labelledby=heading_id>
            <h2 id=heading_id>{heading}</h2>
            <p>{advice}</p>
            <p><code id=code_id>{secret}</code></p>
            <button type="button" on:click=move |_| on_done.run(())>"I have copied it"</button>
        </section>
    }
}
