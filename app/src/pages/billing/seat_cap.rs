//! The Billing page's "User limit" card: the most users the account may have (blank: no limit).
//! Adding a user beyond it is refused wherever users are added. Server functions:
//! `get_seat_cap`, `save_seat_cap`.

use leptos::{prelude::*, server_fn::ServerFn};
use tally_core::{forms::FieldErrors, seat_cap};

use crate::{
    api::billing::{get_seat_cap, save_seat_cap, SaveSeatCap},
    components::{field::Field, form::Form, live_errors::LiveErrors},
    error::AppError,
};

#[component]
pub(super) fn SeatCapCard() -> impl IntoView {
    let saved = Resource::new(|| (), |_| get_seat_cap());
    view! {
        <section class="card" aria-labelledby="seat-cap-title">
            <h2 id="seat-cap-title">"User limit"</h2>
            <p class="field-hint">"The most users the account may have. Adding one beyond it is refused, on the Users page, in a CSV import, through the API and from your identity provider."</p>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match saved.await {
                        Err(e) => view! { <p role="alert">{e.to_string()}</p> }.into_any(),
                        Ok(start) => view! { <SeatCapForm start=start /> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn SeatCapForm(start: seat_cap::SeatCap) -> impl IntoView {
    let typed = RwSignal::new(start.cap.map(|c| c.to_string()).unwrap_or_default());
    let now = RwSignal::new(start);
    let errors = LiveErrors::new(move || {
        let mut e = FieldErrors::new();
        e.check("seat_cap", seat_cap::parse(&typed.get()));
        e
    });
    let busy = RwSignal::new(false);
    let said = RwSignal::new(None::<Result<String, String>>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        said.set(None);
        if !errors.submit() || busy.get_untracked() {
            return;
        }
        busy.set(true);
        let text = typed.get_untracked();
        leptos::task::spawn_local(async move {
            let result = save_seat_cap(text.clone()).await;
            busy.set(false);
            match result {
                Ok(()) => {
                    let cap = seat_cap::parse(&text).ok().flatten();
                    now.update(|n| n.cap = cap);
                    said.set(Some(Ok(match cap {
                        Some(cap) => format!("Saved: at most {cap} users."),
                        None => "Saved: no limit.".to_string(),
                    })));
                }
                Err(AppError::Validation(fields)) => errors.set_server(fields),
                Err(e) => said.set(Some(Err(e.to_string()))),
            }
        });
    };
    view! {
        <p id="seat-cap-now">{move || now.get().sentence()}</p>
        <Form to=SaveSeatCap::url() class="form" on_submit=submit>
            <Field name="seat_cap" label="Most users (blank for no limit)" autocomplete="off"
                value=Signal::derive(move || typed.get()) error=errors.error("seat_cap")
                on_input=errors.typed(typed, "seat_cap") on_blur=errors.touch("seat_cap") />
            <p class="form-said" aria-live="polite" class:form-error=move || matches!(said.get(), Some(Err(_)))>
                {move || said.get().map(|s| s.unwrap_or_else(|e| e))}
            </p>
            <button type="submit" class="primary" disabled=move || busy.get()>"Save the limit"</button>
        </Form>
    }
}
