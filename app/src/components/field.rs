//! A labelled form field with its error tied by `aria-describedby`.

use leptos::prelude::*;

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
    #[prop(into)] error: Signal<Option<String>>,
    #[prop(optional)] on_input: Option<Callback<String>>,
    /// Runs when the field loses focus (when "incomplete" messages may start to show).
    #[prop(optional)]
    on_blur: Option<Callback<()>>,
) -> impl IntoView {
    let error_id = format!("{name}-error");
    let hint_id = format!("{name}-hint");
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
                prop:value=move || value.get()
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
    let options = options
        .into_iter()
        .map(|(v, text)| {
            let selected = {
                let v = v.clone();
                move || value.get() == v
            };
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
                prop:value=move || value.get()
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
