//! An email address in a narrow table cell: it may wrap after the `@` and before each dot of
//! the domain, never in the middle of a word.

use leptos::prelude::*;

#[component]
pub fn EmailText(email: String) -> impl IntoView {
    let (local, domain) = match email.split_once('@') {
        Some((l, d)) => (l.to_string(), Some(d.to_string())),
        None => (email.clone(), None),
    };
    let domain = domain.map(|d| {
        let parts: Vec<String> = d.split('.').map(str::to_string).collect();
        let last = parts.len().saturating_sub(1);
        view! {
            "@"<wbr />
            {parts.into_iter().enumerate().map(|(i, p)| view! {
                {p}{(i < last).then(|| view! { <wbr />"." })}
            }).collect_view()}
        }
    });
    view! { <span class="email-text">{local}{domain}</span> }
}
