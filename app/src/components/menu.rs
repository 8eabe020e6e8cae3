//! The signed-in administrator's email as a menu button (WAI-ARIA APG "menu button"):
//! Enter, Space and ArrowDown open it on the first item, ArrowUp on the last; arrows, Home and
//! End move; Esc closes and returns focus to the button; Tab or a click elsewhere closes it.

use leptos::{ev, html, prelude::*};
#[cfg(feature = "hydrate")]
use wasm_bindgen::JsCast;

use crate::api::account::sign_out;

/// The menu button's id (focus returns to it from dialogs the menu opened).
pub const MENU_BUTTON_ID: &str = "account-menu-button";

/// One entry of the menu: a link, or signing out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MenuItem {
    Link {
        href: &'static str,
        label: &'static str,
    },
    SignOut,
}

#[component]
pub fn AccountMenu(
    /// The signed-in administrator's email address: the button's text.
    email: String,
    items: Vec<MenuItem>,
    /// A link that opens a dialog in place instead of loading its page: (href, open signal).
    /// The menu closes and focus returns to its button first, so the dialog gives it back there.
    #[prop(default = None)]
    on_dialog: Option<(&'static str, RwSignal<bool>)>,
) -> impl IntoView {
    let open = RwSignal::new(false);
    let button = NodeRef::<html::Button>::new();
    let menu = NodeRef::<html::Ul>::new();
    let wrapper = NodeRef::<html::Div>::new();

    // Focus the item at `index` (negative counts from the end; wraps around).
    let focus_item = move |index: isize| {
        #[cfg(feature = "hydrate")]
        if let Some(menu) = menu.get_untracked() {
            if let Ok(list) = menu.query_selector_all("[role=menuitem]") {
                let n = list.length() as isize;
                if n > 0 {
                    let i = index.rem_euclid(n) as u32;
                    if let Some(el) = list
                        .item(i)
                        .and_then(|n| n.dyn_into::<web_sys::HtmlElement>().ok())
                    {
                        let _ = el.focus();
                    }
                }
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (index, menu);
    };
    // Which item has focus now, if any.
    let focused_index = move || -> Option<isize> {
        #[cfg(feature = "hydrate")]
        {
            let active = document().active_element()?;
            let list = menu
                .get_untracked()?
                .query_selector_all("[role=menuitem]")
                .ok()?;
            (0..list.length())
                .find(|&i| list.item(i).is_some_and(|n| n.is_same_node(Some(&active))))
                .map(|i| i as isize)
        }
        #[cfg(not(feature = "hydrate"))]
        None
    };
    let open_at = move |index: isize| {
        open.set(true);
        // The list is rendered hidden, so it can take focus as soon as it is shown.
        request_animation_frame(move || focus_item(index));
    };
    let close = move |refocus: bool| {
        open.set(false);
        if refocus {
            if let Some(b) = button.get_untracked() {
                let _ = b.focus();
            }
        }
    };

    let on_button_key = move |e: ev::KeyboardEvent| match e.key().as_str() {
        "Enter" | " " | "ArrowDown" => {
            e.prevent_default();
            open_at(0);
        }
        "ArrowUp" => {
            e.prevent_default();
            open_at(-1);
        }
        _ => {}
    };
    let on_menu_key = move |e: ev::KeyboardEvent| {
        let current = focused_index().unwrap_or(0);
        match e.key().as_str() {
            "ArrowDown" => {
                e.prevent_default();
                focus_item(current + 1);
            }
            "ArrowUp" => {
                e.prevent_default();
                focus_item(current - 1);
            }
            "Home" => {
                e.prevent_default();
                focus_item(0);
            }
            "End" => {
                e.prevent_default();
                focus_item(-1);
            }
            "Escape" => {
                e.prevent_default();
                close(true);
            }
            "Tab" => close(false),
            " " => {
                // Space activates links too, as in a native menu.
                e.prevent_default();
                #[cfg(feature = "hydrate")]
                if let Some(el) = document()
                    .active_element()
                    .and_then(|a| a.dyn_into::<web_sys::HtmlElement>().ok())
                {
                    el.click();
                }
            }
            _ => {}
        }
    };
    // Focus leaving the whole widget (a click elsewhere, or Tab) closes the menu.
    let on_focus_out = move |e: ev::FocusEvent| {
        #[cfg(feature = "hydrate")]
        {
            let inside = match (e.related_target(), wrapper.get_untracked()) {
                (Some(t), Some(w)) => w.contains(t.dyn_ref::<web_sys::Node>()),
                _ => false,
            };
            // Only when open: focus also leaves when the page is torn down, and then the
            // signal may already be gone.
            if !inside && open.try_get_untracked() == Some(true) {
                open.set(false);
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (e, wrapper);
    };
    let sign_out_now = move |_| {
        leptos::task::spawn_local(async move {
            let _ = sign_out().await;
            #[cfg(feature = "hydrate")]
            let _ = window().location().assign("/login");
        });
    };

    let entries = items
        .into_iter()
        .map(|item| match item {
            MenuItem::Link { href, label } => view! {
                <li role="none">
                    <a role="menuitem" tabindex="-1" href=href on:click=move |e| {
                        match on_dialog {
                            Some((path, dialog)) if path == href => {
                                e.prevent_default();
                                close(true);
                                dialog.set(true);
                            }
                            _ => open.set(false),
                        }
                    }>{label}</a>
                </li>
            }
            .into_any(),
            MenuItem::SignOut => view! {
                <li role="none">
                    <button type="button" role="menuitem" tabindex="-1" on:click=sign_out_now>"Sign out"</button>
                </li>
            }
            .into_any(),
        })
        .collect_view();

    view! {
        <div class="menu" node_ref=wrapper on:focusout=on_focus_out>
            <button
                type="button"
                id=MENU_BUTTON_ID
                class="menu-button"
                node_ref=button
                aria-haspopup="menu"
                aria-controls="account-menu"
                aria-expanded=move || if open.get() { "true" } else { "false" }
                on:click=move |_| if open.get_untracked() { close(false) } else { open_at(0) }
                on:keydown=on_button_key
            >
                <span class="menu-button-text">{email}</span>
                <span class="menu-caret" aria-hidden="true">"▾"</span>
            </button>
            <ul
                id="account-menu"
                class="menu-list"
                role="menu"
                aria-labelledby=MENU_BUTTON_ID
                node_ref=menu
                hidden=move || !open.get()
                on:keydown=on_menu_key
            >
                {entries}
            </ul>
        </div>
    }
}
