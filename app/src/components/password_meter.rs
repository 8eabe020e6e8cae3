//! The password strength meter: the length rule from core as people type, then the server's
//! own check (the same function that decides on submit), a moment after they stop typing.

use leptos::prelude::*;
use tally_core::password::check_length;

use crate::api::account::check_password;

/// Shows how strong `password` is; `known_words` are the person's own details.
#[component]
pub fn PasswordMeter(
    #[prop(into)] password: Signal<String>,
    known_words: Vec<String>,
) -> impl IntoView {
    let known = StoredValue::new(known_words);
    // The server check runs for passwords that pass the length rule.
    let check = Resource::new(
        move || password.get(),
        move |pw| async move {
            if pw.is_empty() || check_length(&pw).is_err() {
                return None;
            }
            Some(check_password(pw, known.get_value()).await)
        },
    );
    view! {
        <div class="password-meter" aria-live="polite">
            <Transition fallback=|| ()>
                {move || {
                    let pw = password.get();
                    if pw.is_empty() {
                        return view! { <p class="field-hint">"At least 12 characters. A few unrelated words work well."</p> }.into_any();
                    }
                    if let Err(e) = check_length(&pw) {
                        return view! { <p class="meter meter-0">{e.to_string()}</p> }.into_any();
                    }
                    match check.get().flatten() {
                        Some(Err(_)) => view! { <p class="field-hint">"We couldn't check this password now; it will be checked when you submit."</p> }.into_any(),
                        Some(Ok(c)) => {
                            let class = format!("meter meter-{}", c.score);
                            let text = match c.problem {
                                Some(p) => format!("Strength: {}. {p}", c.label),
                                None => format!("Strength: {}.", c.label),
                            };
                            view! {
                                <meter min="0" max="4" value=c.score aria-label="Password strength"></meter>
                                <p class=class>{text}</p>
                            }.into_any()
                        }
                        None => view! { <p class="field-hint">"Checking…"</p> }.into_any(),
                    }
                }}
            </Transition>
        </div>
    }
}
