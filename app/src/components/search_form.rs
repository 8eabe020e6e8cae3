//! The search form of a list page (Users, Administrators): searches on submit, and refuses a
//! card number next to the field instead of searching for it (core's `card_in_text` rule; the
//! server refuses it too).

use leptos::prelude::*;
use tally_core::card_in_text::no_card_number;

use super::form::Form;

/// Sets `search` (and goes back to page 1) when submitted with acceptable text.
#[component]
pub fn SearchForm(
    /// The input's id.
    id: &'static str,
    label: &'static str,
    search: RwSignal<String>,
    page: RwSignal<u32>,
) -> impl IntoView {
    let typed = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let error_id = format!("{id}-error");
    let described_by = {
        let error_id = error_id.clone();
        move || error.with(Option::is_some).then(|| error_id.clone())
    };
    view! {
        <Form to="" class="filters" role="search" live_only=true on_submit=move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let text = typed.get_untracked();
            match no_card_number(&text) {
                Ok(()) => {
                    error.set(None);
                    page.set(1);
                    search.set(text);
                }
                Err(e) => error.set(Some(e.to_string())),
            }
        }>
            <div class="field" class:field-invalid=move || error.with(Option::is_some)>
                <label for=id>{label}</label>
                <input id=id type="search" prop:value=move || typed.get()
                    aria-invalid=move || error.with(Option::is_some).then_some("true")
                    aria-describedby=described_by
                    on:input=move |ev| {
                        typed.set(event_target_value(&ev));
                        error.set(None);
                    } />
                <p class="field-error" id=error_id aria-live="polite">{move || error.get()}</p>
            </div>
            <button type="submit">"Search"</button>
        </Form>
    }
}
