//! Menu buttons (WAI-ARIA APG "menu button"): the signed-in administrator's email menu, and
//! the actions of a table row. Enter, Space and ArrowDown open the menu on the first item,
//! ArrowUp on the last; arrows, Home and End move; Esc closes and returns focus to the button;
//! Tab or a click elsewhere closes it. An item that opens a dialog closes the menu and gives
//! the focus back to the button first, so the dialog returns it there when it closes.

use leptos::{ev, html, prelude::*};
#[cfg(feature = "hydrate")]
use wasm_bindgen::JsCast;

use crate::api::sign_in::sign_out;

/// The email menu button's id (focus returns to it from dialogs the menu opened).
pub const MENU_BUTTON_ID: &str = "account-menu-button";

/// One entry of the email menu: a link, or signing out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MenuItem {
    Link {
        href: &'static str,
        label: &'static str,
    },
    SignOut,
}

/// One entry of any menu.
#[derive(Clone)]
pub enum MenuEntry {
    /// A link; with `instead`, a click runs it in place (a dialog) and the link is only for
    /// opening in a new tab.
    Link {
        href: String,
        label: String,
        instead: Option<Callback<()>>,
    },
    /// A button: `label` is what it says, `name` its accessible name when that says more.
    Action {
        label: String,
        name: Option<String>,
        danger: bool,
        run: Callback<()>,
    },
}

impl MenuEntry {
    /// An action whose accessible name is `name` ("Suspend Bo Chen") and text `label`.
    pub fn action(label: &str, name: String, run: Callback<()>) -> Self {
        MenuEntry::Action {
            label: label.into(),
            name: Some(name),
            danger: false,
            run,
        }
    }

    /// The same, drawn as destructive.
    pub fn danger(label: &str, name: String, run: Callback<()>) -> Self {
        MenuEntry::Action {
            label: label.into(),
            name: Some(name),
            danger: true,
            run,
        }
    }
}

/// A button that opens a menu of `items`. `id` must be unique on the page; `text` is the
/// button's visible text and `name` its accessible name when that says more.
#[component]
pub fn MenuButton(
    id: String,
    text: String,
    #[prop(optional)] name: Option<String>,
    items: Vec<MenuEntry>,
    #[prop(optional)] class: &'static str,
) -> impl IntoView {
    let open = RwSignal::new(false);
    let button = NodeRef::<html::Button>::new();
    let menu = NodeRef::<html::Ul>::new();
    let wrapper = NodeRef::<html::Div>::new();
    let list_id = format!("{id}-list");

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
    let on_menu_key =
        move |e: ev::KeyboardEvent| menu_key(&e, focused_index().unwrap_or(0), focus_item, close);
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

    let entries = items
        .into_iter()
        .map(|item| entry(item, open, close))
        .collect_view();

    view! {
        <div class=format!("menu {class}") node_ref=wrapper on:focusout=on_focus_out>
            <button
                type="button"
                id=id.clone()
                class="menu-button"
                node_ref=button
                aria-label=name
                aria-haspopup="menu"
                aria-controls=list_id.clone()
                aria-expanded=move || if open.get() { "true" } else { "false" }
                on:click=move |_| if open.get_untracked() { close(false) } else { open_at(0) }
                on:keydown=on_button_key
            >
                <span class="menu-button-text">{text}</span>
                <span class="menu-caret" aria-hidden="true">"▾"</span>
            </button>
            <ul
                id=list_id
                class="menu-list"
                role="menu"
                aria-labelledby=id
                node_ref=menu
                hidden=move || !open.get()
                on:keydown=on_menu_key
            >
                {entries}
            </ul>
        </div>
    }
}

/// The keys of an open menu: arrows, Home and End move from the item at `current`, Esc
/// closes it and gives the focus back to the button, Tab closes it, Space activates.
fn menu_key(
    e: &ev::KeyboardEvent,
    current: isize,
    focus_item: impl Fn(isize),
    close: impl Fn(bool),
) {
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
}

/// One item of a menu's list.
fn entry(
    item: MenuEntry,
    open: RwSignal<bool>,
    close: impl Fn(bool) + Copy + Send + Sync + 'static,
) -> AnyView {
    match item {
        MenuEntry::Link {
            href,
            label,
            instead,
        } => view! {
            <li role="none">
                <a role="menuitem" tabindex="-1" href=href on:click=move |e| match instead {
                    Some(run) => {
                        e.prevent_default();
                        close(true);
                        run.run(());
                    }
                    None => open.set(false),
                }>{label}</a>
            </li>
        }
        .into_any(),
        MenuEntry::Action {
            label,
            name,
            danger,
            run,
        } => view! {
            <li role="none">
                <button type="button" role="menuitem" tabindex="-1" aria-label=name
                    class:danger=danger
                    on:click=move |_| {
                        close(true);
                        run.run(());
                    }>{label}</button>
            </li>
        }
        .into_any(),
    }
}

/// The signed-in administrator's email menu.
#[component]
pub fn AccountMenu(
    /// The signed-in administrator's email address: the button's text.
    email: String,
    items: Vec<MenuItem>,
    /// A link that opens a dialog in place instead of loading its page: (href, open signal).
    #[prop(default = None)]
    on_dialog: Option<(&'static str, RwSignal<bool>)>,
) -> impl IntoView {
    let sign_out_now = Callback::new(move |_| {
        leptos::task::spawn_local(async move {
            let _ = sign_out().await;
            #[cfg(feature = "hydrate")]
            let _ = window().location().assign("/login");
        });
    });
    let entries = items
        .into_iter()
        .map(|item| match item {
            MenuItem::Link { href, label } => MenuEntry::Link {
                href: href.into(),
                label: label.into(),
                instead: on_dialog
                    .filter(|(path, _)| *path == href)
                    .map(|(_, dialog)| Callback::new(move |_| dialog.set(true))),
            },
            MenuItem::SignOut => MenuEntry::Action {
                label: "Sign out".into(),
                name: None,
                danger: false,
                run: sign_out_now,
            },
        })
        .collect();
    view! { <MenuButton id=MENU_BUTTON_ID.to_string() text=email items=entries class="account-menu" /> }
}
