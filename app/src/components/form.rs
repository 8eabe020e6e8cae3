//! The one way to draw a form (docs/architecture.md, "Forms"). Every `<form>` of the app is a
//! [`Form`], so each gets two behaviours without its page doing anything:
//!
//! - **Before the app is live, or with scripts off**, it is a plain HTML form: it posts to its
//!   server function's URL, and the server's plain-form handler answers as a page would — the
//!   redirect the function takes (or this page again) on success; on a refusal, this page again,
//!   rendered with an [`Echo`] of the post: the messages beside their fields and what was typed
//!   (never a password).
//! - **Once the app is live**, the page's own `on_submit` runs instead (it checks the fields with
//!   core's rules and calls the server function), and a field keeps whatever was in it when the
//!   page hydrated: the DOM wins over an empty signal (see `field`).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// The name of the hidden field that carries the path of the page a plain form was sent from:
/// the page drawn again when it is refused, or reloaded when it succeeds.
pub const PAGE_FIELD: &str = "__page";

/// The name of the hidden field that says where a plain form goes once it succeeds, when that
/// is not its page (a dialog drawn open by the address goes back to the page without it).
pub const DONE_FIELD: &str = "__done";

/// A plain form's post that its server function refused, as the page drawn again shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Echo {
    /// The server function's URL (the form's `action`).
    pub action: String,
    /// What was typed, field by field, without secrets ([`is_secret`]).
    pub values: Vec<(String, String)>,
    pub error: AppError,
}

impl Echo {
    /// The echo of a post: every field but the hidden page path and the secrets; a value
    /// holding what looks like a card number is not written back either (it comes back empty,
    /// with the rule's message beside it).
    pub fn new(action: &str, fields: Vec<(String, String)>, error: AppError) -> Self {
        Self {
            action: action.to_string(),
            values: fields
                .into_iter()
                .filter(|(name, _)| name != PAGE_FIELD && name != DONE_FIELD && !is_secret(name))
                .map(|(name, value)| {
                    if tally_core::card_in_text::contains_card_number(&value) {
                        (name, String::new())
                    } else {
                        (name, value)
                    }
                })
                .collect(),
            error,
        }
    }

    /// What was typed into `name`.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Fields whose value is never written back into a page: passwords, and the card's fields
/// (which never reach the server in the first place).
pub fn is_secret(name: &str) -> bool {
    ["password", "card", "cvc", "expiry"]
        .iter()
        .any(|s| name.contains(s))
}

/// The echo this page is drawn with, if a plain form's post was refused. On the server it is
/// in the request (the plain-form handler put it there); in the browser, in the `data-echo` of
/// the server-drawn form, for as long as that form is on the page.
pub fn echo() -> Option<Echo> {
    #[cfg(feature = "ssr")]
    {
        use_context::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<Echo>().cloned())
    }
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    {
        document()
            .query_selector("form[data-echo]")
            .ok()
            .flatten()
            .and_then(|form| form.get_attribute("data-echo"))
            .and_then(|json| serde_json::from_str(&json).ok())
    }
    #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
    {
        None
    }
}

/// The server action a form dispatches, showing the refusal the page was drawn with when the
/// form was last sent as a plain form.
pub fn form_action<S>() -> ServerAction<S>
where
    S: server_fn::ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Send + Sync + 'static,
{
    let action = ServerAction::<S>::new();
    if let Some(echo) = echo().filter(|e| e.action == S::url()) {
        action.value().set(Some(Err(echo.error)));
    }
    action
}

/// Which form a field is in: the field shows the echo's value only when it is this form's.
#[derive(Clone, Copy)]
struct FormAction(&'static str);

/// What `name` was sent with, when the page is drawn again for this form's refused post.
pub(crate) fn echoed_value(name: &str) -> Option<String> {
    let FormAction(action) = use_context::<FormAction>()?;
    echo()
        .filter(|e| e.action == action)
        .and_then(|e| e.value(name).map(str::to_string))
}

/// The path (and query) of this page, which a plain post comes back to.
fn this_page() -> String {
    let location = leptos_router::hooks::use_location();
    let path = location.pathname.get_untracked();
    let query = location.search.get_untracked();
    if query.is_empty() {
        path
    } else {
        format!("{path}?{}", query.trim_start_matches('?'))
    }
}

/// Whether the page is being hydrated: the browser adopting the server's markup (what is drawn
/// now is already on screen, and may hold what the person typed).
pub(crate) fn hydrating() -> bool {
    Owner::current_shared_context().is_some_and(|sc| sc.during_hydration())
}

/// Whether this is the live page drawing (not the server, nor hydration adopting its markup).
fn drawn_live() -> bool {
    cfg!(feature = "hydrate") && !hydrating()
}

/// A form: a plain post to the server function `to` until the app is live, then `on_submit`.
/// `method="get"` makes it a plain search of `to` (a page) instead.
#[component]
pub fn Form<F>(
    /// The server function's URL (`ServerFnName::url()`), or a page's for a `get` form.
    to: &'static str,
    /// What the live page does on submit; it calls `prevent_default` itself.
    on_submit: F,
    #[prop(default = "post")] method: &'static str,
    #[prop(optional)] class: &'static str,
    #[prop(optional)] role: Option<&'static str>,
    #[prop(optional)] label: Option<&'static str>,
    #[prop(optional)] node_ref: NodeRef<leptos::html::Form>,
    /// The form needs the live page (a card, a file read in the browser, a passkey, a check
    /// of who you are in a dialog): until the page is live its fields and buttons are
    /// disabled, it says "Loading…", and nothing can be posted.
    #[prop(optional)]
    live_only: bool,
    /// Where a plain post goes once it succeeds, when not back to this page (and the server
    /// function sends the person nowhere).
    #[prop(optional)]
    done: Option<&'static str>,
    children: Children,
) -> impl IntoView
where
    F: FnMut(leptos::ev::SubmitEvent) + 'static,
{
    provide_context(FormAction(to));
    let posts = method == "post";
    let echoed = posts
        .then(echo)
        .flatten()
        .filter(|e| e.action == to)
        .and_then(|e| serde_json::to_string(&e).ok());
    let page = (posts && !live_only).then(this_page);
    let content = if live_only {
        // False on the server and while hydrating (the markup must match), until the effect
        // runs once the form is live; true at once for a form drawn by the live page.
        let live = RwSignal::new(drawn_live());
        Effect::new(move |_| live.set(true));
        view! {
            <fieldset class="form-fieldset" disabled=move || !live.get()>
                {children()}
                <p class="form-loading" role="status" hidden=move || live.get()>"Loading…"</p>
                <noscript><p class="form-error">"This form needs JavaScript, which is turned off in this browser."</p></noscript>
            </fieldset>
        }
        .into_any()
    } else {
        children().into_any()
    };
    view! {
        <form method=method action=to class=class role=role aria-label=label novalidate
            node_ref=node_ref data-echo=echoed on:submit=on_submit>
            {page.map(|p| view! { <input type="hidden" name=PAGE_FIELD value=p /> })}
            {done.filter(|_| posts).map(|d| view! { <input type="hidden" name=DONE_FIELD value=d /> })}
            {content}
        </form>
    }
}
