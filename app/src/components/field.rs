//! A labelled form field with its error tied by `aria-describedby` — the one place field
//! markup is drawn: the app's forms use these components, and the server's plain pages render
//! them to HTML (`field_html`).
//!
//! A field is never bound with `prop:value`: hydration would write the signal's empty start
//! over what the person already typed. The server draws the signal's value (or, for a refused
//! plain post, what was sent) as the `value` attribute; once live, [`keep_typed`] hands what is
//! in the field to the signal, and afterwards writes the signal's changes into the field.

use leptos::prelude::*;

use super::form::echoed_value;

/// What the field shows when drawn: what was sent, if the page is drawn again for this form's
/// refused post (never a password), else the signal's value.
fn drawn_value(name: &str, kind: &str, value: Signal<String>) -> String {
    (kind != "password")
        .then(|| echoed_value(name))
        .flatten()
        .unwrap_or_else(|| value.get_untracked())
}

/// Keeps what the person typed before the page was live: for a field hydration adopted, on
/// its first run the element's value, if it differs from the signal, goes to `on_input` (the
/// DOM wins). Otherwise — a field the live page drew, perhaps into an element it reused — and
/// after that, the signal's value is written into the element when they differ (so the caret
/// stays put while typing).
pub(crate) fn keep_typed<E>(
    node: NodeRef<E>,
    value: Signal<String>,
    read: fn(&E::Output) -> String,
    write: fn(&E::Output, &str),
    on_input: Option<Callback<String>>,
) where
    E: leptos::html::ElementType + 'static,
    E::Output: Clone + 'static,
    NodeRef<E>: Get<Value = Option<E::Output>>,
{
    let adopted = super::form::hydrating();
    Effect::new(move |synced: Option<bool>| {
        let want = value.get();
        let Some(el) = node.get() else {
            return synced.unwrap_or(false);
        };
        let have = read(&el);
        if have != want {
            match on_input {
                Some(cb) if adopted && synced != Some(true) => cb.run(have),
                _ => write(&el, &want),
            }
        }
        true
    });
}

/// `<label>` + `<input>` + error message. `error` is shown next to the field and announced.
#[component]
pub fn Field(
    /// The input's `name` (and `id`): also the key of its error in `FieldErrors`.
    name: &'static str,
    #[prop(into)] label: Signal<String>,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional)] autocomplete: Option<&'static str>,
    #[prop(optional)] hint: Option<&'static str>,
    #[prop(optional, into)] value: Signal<String>,
    #[prop(optional)] required: bool,
    /// The browser's own length checks (a plain page, with no app to check as typed).
    #[prop(default = None)]
    minlength: Option<usize>,
    #[prop(default = None)] maxlength: Option<usize>,
    #[prop(into)] error: Signal<Option<String>>,
    #[prop(optional)] on_input: Option<Callback<String>>,
    /// Runs when the field loses focus (when "incomplete" messages may start to show).
    #[prop(optional)]
    on_blur: Option<Callback<()>>,
) -> impl IntoView {
    let error_id = format!("{name}-error");
    let hint_id = format!("{name}-hint");
    let node = NodeRef::<leptos::html::Input>::new();
    let drawn = drawn_value(name, kind, value);
    keep_typed(
        node,
        value,
        |el| el.value(),
        |el, v| el.set_value(v),
        on_input,
    );
    let described_by = {
        let error_id = error_id.clone();
        let hint_id = hint_id.clone();
        move || {
            let mut ids = Vec::new();
            if hint.is_some() {
                ids.push(hint_id.clone());
            }
            if error.get().is_some() {
                ids.push(error_id.clone());
            }
            (!ids.is_empty()).then(|| ids.join(" "))
        }
    };
    view! {
        <div class="field" class:field-invalid=move || error.get().is_some()>
            <label for=name>{label}</label>
            {hint.map(|h| view! { <p class="field-hint" id=hint_id.clone()>{h}</p> })}
            <input
                id=name
                name=name
                type=kind
                autocomplete=autocomplete
                required=required
                minlength=minlength
                maxlength=maxlength
                value=drawn
                node_ref=node
                aria-invalid=move || error.get().is_some().then_some("true")
                aria-describedby=described_by
                on:input=move |ev| {
                    if let Some(cb) = on_input {
                        cb.run(event_target_value(&ev));
                    }
                }
                on:blur=move |ev| {
                    if let Some(cb) = on_blur {
                        if !to_submit_button(&ev) {
                            cb.run(());
                        }
                    }
                }
            />
            <p class="field-error" id=error_id aria-live="polite">
                {move || error.get()}
            </p>
        </div>
    }
}

/// Focus is moving to a submit button: its click will show every message at once. Showing this
/// field's message now would push the button down between mouse-down and mouse-up, and the
/// click would miss it.
fn to_submit_button(ev: &leptos::ev::FocusEvent) -> bool {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        ev.related_target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlButtonElement>().ok())
            .is_some_and(|b| b.type_() == "submit")
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = ev;
        false
    }
}

/// `<label>` + `<select>` + error message, like [`Field`].
#[component]
pub fn SelectField(
    name: &'static str,
    #[prop(into)] label: Signal<String>,
    /// (value, text) pairs; an empty value is the "choose…" prompt.
    options: Vec<(String, String)>,
    #[prop(optional)] autocomplete: Option<&'static str>,
    #[prop(into)] value: Signal<String>,
    #[prop(into)] error: Signal<Option<String>>,
    on_change: Callback<String>,
    #[prop(optional)] on_blur: Option<Callback<()>>,
) -> impl IntoView {
    let error_id = format!("{name}-error");
    let described_by = {
        let error_id = error_id.clone();
        move || error.get().map(|_| error_id.clone())
    };
    let node = NodeRef::<leptos::html::Select>::new();
    let drawn = drawn_value(name, "select", value);
    keep_typed(
        node,
        value,
        |el| el.value(),
        |el, v| el.set_value(v),
        Some(on_change),
    );
    let options = options
        .into_iter()
        .map(|(v, text)| {
            let selected = v == drawn;
            view! { <option value=v selected=selected>{text}</option> }
        })
        .collect_view();
    view! {
        <div class="field" class:field-invalid=move || error.get().is_some()>
            <label for=name>{label}</label>
            <select
                id=name
                name=name
                autocomplete=autocomplete
                node_ref=node
                aria-invalid=move || error.get().is_some().then_some("true")
                aria-describedby=described_by
                on:change=move |ev| on_change.run(event_target_value(&ev))
                on:blur=move |_| {
                    if let Some(cb) = on_blur {
                        cb.run(());
                    }
                }
            >
                {options}
            </select>
            <p class="field-error" id=error_id aria-live="polite">
                {move || error.get()}
            </p>
        </div>
    }
}

/// A field of the server's plain pages, drawn by [`Field`] as HTML: the same markup as the
/// app's, with the server's message for it.
#[cfg(feature = "ssr")]
pub struct PlainField<'a> {
    pub name: &'static str,
    pub label: &'static str,
    pub kind: &'static str,
    pub autocomplete: &'static str,
    pub value: &'a str,
    pub minlength: Option<usize>,
    pub maxlength: usize,
}

#[cfg(feature = "ssr")]
impl PlainField<'_> {
    /// The field's HTML, with `error` beside it.
    pub fn to_html(&self, error: Option<&str>) -> String {
        let owner = Owner::new();
        owner.with(|| {
            let value = Signal::stored(self.value.to_string());
            let error = Signal::stored(error.map(str::to_string));
            view! {
                <Field name=self.name label=self.label.to_string() kind=self.kind autocomplete=self.autocomplete
                    value=value required=true minlength=self.minlength maxlength=Some(self.maxlength) error=error />
            }
            .to_html()
        })
    }
}
