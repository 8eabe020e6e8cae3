//! The frame of signed-in pages and the guard in front of them.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{Redirect, A};

use crate::{
    api::account::get_current_admin,
    components::{
        fresh_check::{FreshCheck, FreshCheckDialog},
        menu::{AccountMenu, MenuItem},
        payments::{PaymentsDialog, PaymentsModal},
        standing::{self, ClosedBanner, StandingPage},
    },
};
use tally_core::{
    account_status::AccountStatus,
    actor::Actor,
    roles::{allows, Action, Role},
};

/// Renders `children` with the signed-in administrator, or sends visitors to the sign-in page.
/// With `action`, a role without that permission gets a clear "no access" page instead. An
/// administrator whose account requires two-step verification they have not set up is sent
/// to set it up (Account settings, the one page with `sets_up_two_step`).
#[component]
pub fn SignedIn<F, IV>(
    #[prop(optional)] action: Option<Action>,
    #[prop(optional)] sets_up_two_step: bool,
    children: F,
) -> impl IntoView
where
    F: Fn(Actor) -> IV + Send + Sync + 'static,
    IV: IntoView + 'static,
{
    let me = Resource::new(|| (), |_| get_current_admin());
    let children = StoredValue::new(children);
    // Before the page's content is built, so a page can open the modal too.
    provide_context(PaymentsDialog(RwSignal::new(false)));
    let fresh = FreshCheck::new();
    provide_context(fresh);
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(Some(admin)) if admin.must_set_up_two_step && !sets_up_two_step => {
                        view! { <Redirect path="/account" /> }.into_any()
                    }
                    Ok(Some(admin)) => {
                        if action.is_some_and(|a| !admin.may(a)) {
                            view! { <Shell admin=admin.clone()><NoAccess /></Shell> }.into_any()
                        } else if standing::blocked(admin.account_status, action) && !sets_up_two_step {
                            view! { <Shell admin=admin.clone()><StandingPage admin=admin /></Shell> }.into_any()
                        } else {
                            let content = children.with_value(|c| c(admin.clone()));
                            view! { <Shell admin=admin>{content}<FreshCheckDialog check=fresh /></Shell> }.into_any()
                        }
                    }
                    _ => view! { <ToSignIn /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// Sends a visitor to the sign-in page, and back here after: the server's plain page, so a
/// whole page load (a redirect from the server, or the address changed in the browser).
#[component]
fn ToSignIn() -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        let here = use_context::<http::request::Parts>()
            .and_then(|p| p.uri.path_and_query().map(|pq| pq.as_str().to_string()))
            .unwrap_or_else(|| "/".into());
        leptos_axum::redirect(&sign_in_path(&here));
    }
    #[cfg(feature = "hydrate")]
    {
        let location = window().location();
        let here = format!(
            "{}{}",
            location.pathname().unwrap_or_default(),
            location.search().unwrap_or_default()
        );
        let _ = location.replace(&sign_in_path(&here));
    }
    view! { <p class="loading">"Signing in first…"</p> }
}

/// `/login`, with `next` when there is somewhere to come back to.
fn sign_in_path(here: &str) -> String {
    if here == "/" || here.is_empty() {
        "/login".to_string()
    } else {
        format!("/login?next={}", tally_core::redirect::query_value(here))
    }
}

/// The navigation entries `role` may use, in the order docs/pages.md gives. Commands is there for
/// roles that manage commands or run the ones bound to them.
pub fn nav_items(role: Role) -> Vec<(&'static str, &'static str)> {
    let commands = allows(role, Action::ManageCommands) || allows(role, Action::RunBoundCommands);
    [
        ("/", "Overview", None),
        ("/users", "Users", Some(Action::ViewUsers)),
        (
            "/commands",
            "Commands",
            commands.then_some(Action::RunBoundCommands),
        ),
        (
            "/administrators",
            "Administrators",
            Some(Action::ViewAdministrators),
        ),
        ("/billing", "Billing", Some(Action::ViewBilling)),
        ("/audit", "Audit log", Some(Action::ViewAuditLog)),
    ]
    .into_iter()
    .filter(|(href, _, need)| {
        if *href == "/commands" {
            commands
        } else {
            need.is_none_or(|a| allows(role, a))
        }
    })
    .map(|(href, label, _)| (href, label))
    .collect()
}

/// The email menu's items for `role` (docs/pages.md): Payments for billing roles, Administrators for
/// roles that may view them, then Account settings and Sign out for everyone.
pub fn menu_items(role: Role) -> Vec<MenuItem> {
    let mut items = Vec::new();
    if allows(role, Action::ManagePaymentMethod) {
        items.push(MenuItem::Link {
            href: PAYMENTS_PATH,
            label: "Payments",
        });
    }
    if allows(role, Action::ViewAdministrators) {
        items.push(MenuItem::Link {
            href: "/administrators",
            label: "Administrators",
        });
    }
    items.push(MenuItem::Link {
        href: "/account",
        label: "Account settings",
    });
    items.push(MenuItem::SignOut);
    items
}

/// Where the Billing & Payments modal opens.
pub const PAYMENTS_PATH: &str = "/billing/payment";

/// The top bar and navigation around a signed-in page.
#[component]
fn Shell(admin: Actor, children: Children) -> impl IntoView {
    let links = nav_items(admin.role)
        .into_iter()
        .map(|(href, label)| view! { <li><A href=href>{label}</A></li> })
        .collect_view();
    let payments = admin
        .may(Action::ManagePaymentMethod)
        .then(use_context::<PaymentsDialog>)
        .flatten();
    let modal = payments.map(|dialog| {
        let on_closed = Callback::new(move |_| {
            leave_payments_path();
            focus_menu_button();
        });
        view! { <PaymentsModal open=dialog.0 on_closed=on_closed /> }
    });
    view! {
        <header class="topbar">
            <a class="brand" href="/">"Tally"</a>
            <span class="account-name">{admin.account_name.clone()}</span>
            <div class="topbar-end">
                <AccountMenu email=admin.email.clone() items=menu_items(admin.role)
                    on_dialog=payments.map(|d| (PAYMENTS_PATH, d.0)) />
            </div>
        </header>
        <nav class="sidenav" aria-label="Main">
            <ul>{links}</ul>
        </nav>
        {(admin.account_status == AccountStatus::Closed).then(|| view! { <ClosedBanner /> })}
        {(admin.account_past_due && admin.may(Action::ViewBilling)).then(|| view! {
            <p class="warning past-due-banner" role="alert">
                "Your account is past due: the last invoice could not be charged. "
                <a href=PAYMENTS_PATH>"Update the payment method"</a>" to pay it now."
            </p>
        })}
        <main class="content" id="main">{children()}</main>
        {modal}
    }
}

/// Opened by its own URL, the modal leaves that URL for the overview's when it closes. The page
/// behind it already is the overview, so only the address changes: nothing is redrawn and the
/// focus given back to the menu button stays there.
fn leave_payments_path() {
    #[cfg(feature = "hydrate")]
    if window().location().pathname().ok().as_deref() == Some(PAYMENTS_PATH) {
        if let Ok(history) = window().history() {
            let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some("/"));
        }
    }
}

/// Focus goes back to the email menu button when the payments modal closes (docs/pages.md).
fn focus_menu_button() {
    #[cfg(feature = "hydrate")]
    {
        use crate::components::menu::MENU_BUTTON_ID;
        use wasm_bindgen::JsCast;
        if let Some(b) = document()
            .get_element_by_id(MENU_BUTTON_ID)
            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
        {
            let _ = b.focus();
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use tally_core::roles::ALL_ROLES;

    #[test]
    fn the_menu_and_navigation_follow_the_matrix() {
        for role in ALL_ROLES {
            let menu = menu_items(role);
            let has = |label: &str| {
                menu.iter()
                    .any(|i| matches!(i, MenuItem::Link { label: l, .. } if *l == label))
            };
            assert_eq!(has("Payments"), role.has_billing(), "{role:?}");
            assert_eq!(
                has("Administrators"),
                allows(role, Action::ViewAdministrators),
                "{role:?}"
            );
            assert!(has("Account settings"));
            assert_eq!(menu.last(), Some(&MenuItem::SignOut));

            let nav: Vec<_> = nav_items(role).into_iter().map(|(_, l)| l).collect();
            assert_eq!(nav[0], "Overview");
            assert_eq!(
                nav.contains(&"Audit log"),
                allows(role, Action::ViewAuditLog)
            );
            assert_eq!(
                nav.contains(&"Administrators"),
                allows(role, Action::ViewAdministrators)
            );
            assert_eq!(nav.contains(&"Users"), allows(role, Action::ViewUsers));
            assert_eq!(
                nav.contains(&"Commands"),
                allows(role, Action::ManageCommands) || allows(role, Action::RunBoundCommands)
            );
            assert_eq!(nav.contains(&"Billing"), allows(role, Action::ViewBilling));
        }
    }
}
