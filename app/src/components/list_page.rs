//! What a page with a table, row buttons and dialogs shares (Administrators, Users): which
//! dialog is open, the outcome of the last change (announced and focused, because the row acted
//! on may be redrawn or gone), a busy flag, and a counter that reloads the table.

use std::future::Future;

use leptos::{html, prelude::*};

use crate::{
    components::{form::Form, live_errors::LiveErrors},
    error::AppError,
};

/// `D` names the page's dialogs.
pub struct ListPage<D: Send + Sync + 'static> {
    /// Bumped after every change, to reload the table.
    pub reload: RwSignal<u32>,
    pub dialog: RwSignal<Option<D>>,
    pub dialog_open: RwSignal<bool>,
    /// The outcome of the last change.
    pub notice: RwSignal<Option<Result<String, String>>>,
    /// Set by a change made from a dialog: focus its outcome once the dialog has closed.
    focus_after_dialog: RwSignal<bool>,
    /// A refusal shown inside the open dialog.
    pub dialog_error: RwSignal<Option<String>>,
    pub busy: RwSignal<bool>,
    notice_ref: NodeRef<html::P>,
}

impl<D: Send + Sync + 'static> Clone for ListPage<D> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<D: Send + Sync + 'static> Copy for ListPage<D> {}

impl<D: Send + Sync + 'static> ListPage<D> {
    pub fn new() -> Self {
        Self {
            reload: RwSignal::new(0),
            dialog: RwSignal::new(None),
            dialog_open: RwSignal::new(false),
            notice: RwSignal::new(None),
            focus_after_dialog: RwSignal::new(false),
            dialog_error: RwSignal::new(None),
            busy: RwSignal::new(false),
            notice_ref: NodeRef::new(),
        }
    }

    /// Opens `d` when the page's address asks for it (`?dialog=<name>`): what a
    /// [`DialogOpener`] leads to before the page is live or with scripts off.
    pub fn open_if_asked(self, name: &str, d: D) {
        let asked = leptos_router::hooks::use_query_map()
            .with_untracked(|q| q.get("dialog").is_some_and(|v| v == name));
        if asked {
            self.open(d);
        }
    }

    pub fn open(self, d: D) {
        self.dialog_error.set(None);
        self.dialog.set(Some(d));
        self.dialog_open.set(true);
    }

    /// Moves focus to the outcome message.
    pub fn focus_notice(self) {
        if let Some(p) = self.notice_ref.get_untracked() {
            let _ = p.focus();
        }
    }

    /// For the dialog's `on_closed`: after a change made in it, focus its outcome.
    pub fn after_dialog(self) -> Callback<()> {
        Callback::new(move |_| {
            if self.focus_after_dialog.get_untracked() {
                self.focus_after_dialog.set(false);
                self.focus_notice();
            }
        })
    }

    /// A change succeeded: report `done`, reload, close the dialog (focus follows).
    pub fn succeeded(self, done: String) {
        self.notice.set(Some(Ok(done)));
        self.reload.update(|n| *n += 1);
        if self.dialog_open.get_untracked() {
            self.focus_after_dialog.set(true);
            self.dialog_open.set(false);
        } else {
            self.focus_notice();
        }
    }

    /// Runs one change; on success [`ListPage::succeeded`]; a refusal shows in the open dialog,
    /// or as the page's notice.
    /// While one change is under way, another is ignored (row buttons are not disabled one by
    /// one: a reactive attribute per button costs server render time on long tables).
    pub fn perform<F>(self, done: String, change: F)
    where
        F: Future<Output = Result<(), AppError>> + 'static,
    {
        self.run(done, None, change);
    }

    /// A dialog's form: like [`ListPage::perform`], with the server's field messages shown
    /// next to their fields through `errors`.
    pub fn submit<F>(self, done: String, errors: LiveErrors, change: F)
    where
        F: Future<Output = Result<(), AppError>> + 'static,
    {
        self.run(done, Some(errors), change);
    }

    fn run<F>(self, done: String, errors: Option<LiveErrors>, change: F)
    where
        F: Future<Output = Result<(), AppError>> + 'static,
    {
        if self.busy.get_untracked() {
            return;
        }
        self.busy.set(true);
        leptos::task::spawn_local(async move {
            let result = change.await;
            self.busy.set(false);
            match (result, errors) {
                (Ok(()), _) => self.succeeded(done),
                (Err(AppError::Validation(fields)), Some(errors)) => errors.set_server(fields),
                (Err(e), _) if self.dialog_open.get_untracked() => {
                    self.dialog_error.set(Some(e.to_string()))
                }
                (Err(e), _) => {
                    self.notice.set(Some(Err(e.to_string())));
                    self.focus_notice();
                }
            }
        });
    }
}

impl<D: Send + Sync + 'static> Default for ListPage<D> {
    fn default() -> Self {
        Self::new()
    }
}

/// The outcome of the last change, announced (role=status) and focusable.
#[component]
pub fn Notice<D: Send + Sync + 'static>(state: ListPage<D>) -> impl IntoView {
    view! {
        <p
            class="notice"
            class:notice-error=move || state.notice.with(|n| matches!(n, Some(Err(_))))
            tabindex="-1"
            role="status"
            node_ref=state.notice_ref
        >
            {move || state.notice.get().map(|n| n.unwrap_or_else(|e| e))}
        </p>
    }
}

/// A refusal from the server (a rule, a lost connection) inside the dialog; what was typed stays.
#[component]
pub fn DialogError<D: Send + Sync + 'static>(state: ListPage<D>) -> impl IntoView {
    view! { <p class="form-error" role="alert">{move || state.dialog_error.get()}</p> }
}

/// The button that opens a page's dialog. Live, it opens it in place; before that (or with
/// scripts off) it is a plain form that loads the page with `?dialog=<name>`, which the page
/// draws with the dialog open ([`ListPage::open_if_asked`]).
#[component]
pub fn DialogOpener<D: Clone + Send + Sync + 'static>(
    state: ListPage<D>,
    /// The page's path.
    page: &'static str,
    name: &'static str,
    dialog: D,
    text: &'static str,
) -> impl IntoView {
    let open = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        state.open(dialog.clone());
    };
    view! {
        <Form to=page method="get" class="dialog-opener" on_submit=open>
            <input type="hidden" name="dialog" value=name />
            <button type="submit" class="primary">{text}</button>
        </Form>
    }
}
