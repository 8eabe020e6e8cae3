//! The frame of signed-in pages and the guard in front of them.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{Redirect, A};

use crate::{
    api::account::{get_current_admin, SignOut},
    auth::CurrentAdmin,
};
use tally_core::roles::Action;

/// Renders `children` with the signed-in administrator, or sends visitors to the sign-in page.
/// With `action`, a role without that permission gets a clear "no access" page instead.
#[component]
pub fn SignedIn<F, IV>(#[prop(optional)] action: Option<Action>, children: F) -> impl IntoView
where
    F: Fn(CurrentAdmin) -> IV + Send + Sync + 'static,
    IV: IntoView + 'static,
{
    let me = Resource::new(|| (), |_| get_current_admin());
    let children = StoredValue::new(children);
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(Some(admin)) => {
                        if action.is_some_and(|a| !admin.may(a)) {
                            view! { <Shell admin=admin.clone()><NoAccess /></Shell> }.into_any()
                        } else {
                            let content = children.with_value(|c| c(admin.clone()));
                            view! { <Shell admin=admin>{content}</Shell> }.into_any()
                        }
                    }
                    _ => view! { <Redirect path="/login" /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The top bar and navigation around a signed-in page.
#[component]
fn Shell(admin: CurrentAdmin, children: Children) -> impl IntoView {
    let sign_out = ServerAction::<SignOut>::new();
    let nav = [
        ("/", "Overview", None),
        (
            "/administrators",
            "Administrators",
            Some(Action::ViewAdministrators),
        ),
        ("/audit", "Audit log", Some(Action::ViewAuditLog)),
        ("/account", "Account settings", None),
    ];
    let links = nav
        .into_iter()
        .filter(|(_, _, need)| need.is_none_or(|a| admin.may(a)))
        .map(|(href, label, _)| view! { <li><A href=href>{label}</A></li> })
        .collect_view();
    view! {
        <header class="topbar">
            <a class="brand" href="/">"Tally"</a>
            <span class="account-name">{admin.account_name.clone()}</span>
            <div class="topbar-end">
                <span class="signed-in-as">{admin.email.clone()}</span>
                <ActionForm action=sign_out attr:class="inline-form">
                    <button type="submit" class="link-button">"Sign out"</button>
                </ActionForm>
            </div>
        </header>
        <nav class="sidenav" aria-label="Main">
            <ul>{links}</ul>
        </nav>
        <main class="content" id="main">{children()}</main>
    }
}

/// Shown to roles that may not use a page.
#[component]
pub fn NoAccess() -> impl IntoView {
    view! {
        <Title text="No access" />
        <h1>"You don't have access to this page"</h1>
        <p>"Your role doesn't include this part of Tally. If you need it, ask an administrator with billing to change your role."</p>
        <p><a href="/">"Go to the overview"</a></p>
    }
}
