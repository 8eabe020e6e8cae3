//! The signed-in start page. Route: `/`. Requires: a session (visitors go to `/login`, or to
//! `/setup` on first start). Server functions: `get_current_admin`, `setup_needed`.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;

use crate::{api::setup::setup_needed, auth::CurrentAdmin, components::layout::SignedIn};

/// The overview's greeting (the payments page shows it under its modal too).
#[component]
pub(crate) fn Welcome(admin: CurrentAdmin) -> impl IntoView {
    view! {
        <Title text="Overview" />
        <h1>"Overview"</h1>
        <p>"Welcome, "{admin.first_name.clone()}". You're signed in to "<strong>{admin.account_name.clone()}</strong>" as "{admin.role.display_name()}"."</p>
    }
}

/// Sends a brand-new installation to set-up, everyone else through the sign-in guard.
#[component]
pub fn OverviewPage() -> impl IntoView {
    let needed = Resource::new(|| (), |_| setup_needed());
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                if matches!(needed.await, Ok(true)) {
                    view! { <Redirect path="/setup" /> }.into_any()
                } else {
                    view! {
                        <SignedIn children=|admin| view! { <Welcome admin=admin /> } />
                    }.into_any()
                }
            })}
        </Suspense>
    }
}
