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
    let m = MenuState::new();
    let list_id = format!("{id}-list");
    let entries = items.into_iter().map(|item| m.entry(item)).collect_view();
    view! {
        <div class=format!("menu {class}") node_ref=m.wrapper on:focusout=move |e| m.on_focus_out(e)>
            <button
                type="button"
                id=id.clone()
                class="menu-button"
                node_ref=m.button
                aria-label=name
                aria-haspopup="menu"
                aria-controls=list_id.clone()
                aria-expanded=move || if m.open.get() { "true" } else { "false" }
                on:click=move |_| if m.open.get_untracked() { m.close(false) } else { m.open_at(0) }
                on:keydown=move |e| m.on_button_key(e)
            >
                <span class="menu-button-text">{text}</span>
                <span class="menu-caret" aria-hidden="true">"▾"</span>
            </button>
            <ul
                id=list_id
                class="menu-list"
                role="menu"
                aria-labelledby=id
                node_ref=m.list
                hidden=move || !m.open.get()
                on:keydown=move |e| m.on_menu_key(e)
            >
                {entries}
            </ul>
        </div>
    }
}

/// Whether a menu is open, and the nodes its keyboard handling moves the focus between.
#[derive(Clone, Copy)]
struct MenuState {
    open: RwSignal<bool>,
    button: NodeRef<html::Button>,
    list: NodeRef<html::Ul>,
    wrapper: NodeRef<html::Div>,
}

impl MenuState {
    fn new() -> Self {
        Self {
            open: RwSignal::new(false),
            button: NodeRef::new(),
            list: NodeRef::new(),
            wrapper: NodeRef::new(),
        }
    }

    /// Focuses the item at `index` (negative counts from the end; wraps around).
    fn focus_item(self, index: isize) {
        #[cfg(feature = "hydrate")]
        if let Some(list) = self.list.get_untracked() {
            if let Ok(items) = list.query_selector_all("[role=menuitem]") {
                let n = items.length() as isize;
                if n > 0 {
                    let i = index.rem_euclid(n) as u32;
                    if let Some(el) = items
                        .item(i)
                        .and_then(|n| n.dyn_into::<web_sys::HtmlElement>().ok())
                    {
                        let _ = el.focus();
                    }
                }
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = index;
    }

    /// Which item has the focus now, if any.
    fn focused_index(self) -> Option<isize> {
        #[cfg(feature = "hydrate")]
        {
            let active = document().active_element()?;
            let items = self
                .list
                .get_untracked()?
                .query_selector_all("[role=menuitem]")
                .ok()?;
            (0..items.length())
                .find(|&i| items.item(i).is_some_and(|n| n.is_same_node(Some(&active))))
                .map(|i| i as isize)
        }
        #[cfg(not(feature = "hydrate"))]
        None
    }

    fn open_at(self, index: isize) {
        self.open.set(true);
        // The list is rendered hidden, so it can take focus as soon as it is shown.
        request_animation_frame(move || self.focus_item(index));
    }

    fn close(self, refocus: bool) {
        self.open.set(false);
        if refocus {
            if let Some(b) = self.button.get_untracked() {
                let _ = b.focus();
            }
        }
    }

    fn on_button_key(self, e: ev::KeyboardEvent) {
        match e.key().as_str() {
            "Enter" | " " | "ArrowDown" => {
                e.prevent_default();
                self.open_at(0);
            }
            "ArrowUp" => {
                e.prevent_default();
                self.open_at(-1);
            }
            _ => {}
        }
    }

    fn on_menu_key(self, e: ev::KeyboardEvent) {
        let current = self.focused_index().unwrap_or(0);
        let to = match e.key().as_str() {
            "ArrowDown" => Some(current + 1),
            "ArrowUp" => Some(current - 1),
            "Home" => Some(0),
            "End" => Some(-1),
            "Escape" => {
                e.prevent_default();
                self.close(true);
                None
            }
            "Tab" => {
                self.close(false);
                None
            }
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
                None
            }
            _ => None,
        };
        if let Some(index) = to {
            e.prevent_default();
            self.focus_item(index);
        }
    }

    /// Focus leaving the whole widget (a click elsewhere, or Tab) closes the menu.
    fn on_focus_out(self, e: ev::FocusEvent) {
        #[cfg(feature = "hydrate")]
        {
            let inside = match (e.related_target(), self.wrapper.get_untracked()) {
                (Some(t), Some(w)) => w.contains(t.dyn_ref::<web_sys::Node>()),
                _ => false,
            };
            // Only when open: focus also leaves when the page is torn down, and then the
            // signal may already be gone.
            if !inside && self.open.try_get_untracked() == Some(true) {
                self.open.set(false);
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = e;
    }

    /// One item of the list.
    fn entry(self, item: MenuEntry) -> AnyView {
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
                            self.close(true);
                            run.run(());
                        }
                        None => self.open.set(false),
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
                            self.close(true);
                            run.run(());
                        }>{label}</button>
                </li>
            }
            .into_any(),
        }
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
