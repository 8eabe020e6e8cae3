//! The server's status page. Route: `/status`. Requires: nothing. Server functions:
//! `get_server_status`.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::status::get_server_status;

/// Introduces Tally and shows that the server and its database answer.
#[component]
pub fn StatusPage() -> impl IntoView {
    let status = Resource::new(|| (), |_| get_server_status());

    view! {
        <Title text="Welcome" />
        <main class="centered-page">
            <h1>"Tally"</h1>
            <p>"The admin and billing portal for your account."</p>
            <section aria-labelledby="status-heading" class="card">
                <h2 id="status-heading">"Server status"</h2>
                <Suspense fallback=|| view! { <p>"Checking the server…"</p> }>
                    {move || Suspend::new(async move {
                        match status.await {
                            Ok(s) => {
                                view! {
                                    <dl class="facts">
                                        <dt>"Version"</dt>
                                        <dd>{s.version}</dd>
                                        <dt>"Database"</dt>
                                        <dd>{s.database}</dd>
                                    </dl>
                                }
                                    .into_any()
                            }
                            Err(e) => {
                                view! {
                                    <p role="alert">{format!("The server did not answer: {e}")}</p>
                                }
                                    .into_any()
                            }
                        }
                    })}
                </Suspense>
            </section>
        </main>
    }
}
