//! A modal dialog (WAI-ARIA APG "dialog (modal)") on the native `<dialog>` element: opened
//! with `showModal()`, so the rest of the page is inert; focus moves in, Tab and Shift+Tab
//! cycle inside it, Esc closes it, and focus goes back to what opened it.

use leptos::{ev, html, prelude::*};
#[cfg(feature = "hydrate")]
use wasm_bindgen::JsCast;

const FOCUSABLE: &str = "a[href], button:not([disabled]), input:not([disabled]):not([type='hidden']), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex='-1'])";

#[component]
pub fn Modal(
    /// Open while true; Esc and [`close`]-ing set it back to false.
    open: RwSignal<bool>,
    /// The id of the heading that names the dialog.
    labelled_by: &'static str,
    /// Runs after the dialog has closed and focus has gone back to its opener (it may move
    /// focus elsewhere, e.g. when the opener is gone).
    #[prop(optional)]
    on_closed: Option<Callback<()>>,
    #[prop(optional)] class: &'static str,
    /// Rendered afresh each time the dialog opens, so no state lingers between openings.
    children: ChildrenFn,
) -> impl IntoView {
    let dialog = NodeRef::<html::Dialog>::new();
    // What had focus before the dialog opened, to give focus back to.
    #[cfg(feature = "hydrate")]
    let opener = std::rc::Rc::new(std::cell::RefCell::new(None::<web_sys::HtmlElement>));
    #[cfg(feature = "hydrate")]
    let opener_for_open = opener.clone();
    // Opened by the page's address (`?dialog=…`), the server draws it open, in the page (a
    // browser with scripts off shows it there); once live, it becomes modal.
    let drawn_open = cfg!(feature = "ssr") && open.get_untracked();
    Effect::new(move |_| {
        let want = open.get();
        if let Some(d) = dialog.get() {
            if want && d.open() && !d.matches(":modal").unwrap_or(true) {
                // Removing the attribute hides it without a `close` event; the field the
                // person was typing in gets focus back (its caret is kept by the field).
                #[cfg(feature = "hydrate")]
                let typing = document()
                    .active_element()
                    .filter(|e| d.contains(Some(e)))
                    .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
                let _ = d.remove_attribute("open");
                let _ = d.show_modal();
                #[cfg(feature = "hydrate")]
                if let Some(el) = typing {
                    let _ = el.focus();
                }
            } else if want && !d.open() {
                #[cfg(feature = "hydrate")]
                {
                    *opener_for_open.borrow_mut() = document()
                        .active_element()
                        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
                }
                let _ = d.show_modal();
            } else if !want && d.open() {
                d.close();
            }
        }
    });
    let trap_tab = move |e: ev::KeyboardEvent| {
        if e.key() != "Tab" {
            return;
        }
        #[cfg(feature = "hydrate")]
        {
            let Some(d) = dialog.get_untracked() else {
                return;
            };
            // A dialog opened on top of this one (inside it in the page) traps its own Tab.
            let inner = e
                .target()
                .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                .and_then(|t| t.closest("dialog").ok().flatten())
                .is_some_and(|owner| !owner.is_same_node(Some(&d)));
            if inner {
                return;
            }
            let Ok(list) = d.query_selector_all(FOCUSABLE) else {
                return;
            };
            let n = list.length();
            if n == 0 {
                return;
            }
            let first = list.item(0);
            let last = list.item(n - 1);
            let active = document().active_element();
            let at = |node: &Option<web_sys::Node>| matches!((node, &active), (Some(n), Some(a)) if n.is_same_node(Some(a)));
            let target = if e.shift_key() && at(&first) {
                last
            } else if !e.shift_key() && at(&last) {
                first
            } else {
                None
            };
            if let Some(el) = target.and_then(|t| t.dyn_into::<web_sys::HtmlElement>().ok()) {
                e.prevent_default();
                let _ = el.focus();
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = FOCUSABLE;
    };
    view! {
        <dialog
            node_ref=dialog
            class=format!("modal {class}")
            aria-labelledby=labelled_by
            open=drawn_open
            on:keydown=trap_tab
            on:close=move |_| {
                open.set(false);
                #[cfg(feature = "hydrate")]
                if let Some(el) = opener.borrow_mut().take() {
                    if el.is_connected() {
                        let _ = el.focus();
                    }
                }
                if let Some(cb) = on_closed {
                    cb.run(());
                }
            }
        >
            {move || open.get().then(|| children())}
        </dialog>
    }
}
