//! The audit log. Route: `/audit`. Requires: View the audit log.
//! Server functions: `list_audit_events`.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use tally_core::{
    roles::Action,
    views::account::{AuditFilter, AuditPage as Events},
};

use crate::{
    api::audit::list_audit_events,
    components::{form::Form, layout::SignedIn},
    error::AppError,
};

#[component]
pub fn AuditPage() -> impl IntoView {
    // Loaded outside the sign-in check's <Suspense>, which would create (and fetch) it again on
    // each of its passes; see AdministratorsPage.
    let query = use_query_map();
    let filter = move || {
        query.with(|q| AuditFilter {
            kind: q.get("kind").unwrap_or_default(),
            actor: q.get("actor").unwrap_or_default(),
            from: q.get("from").unwrap_or_default(),
            to: q.get("to").unwrap_or_default(),
            page: q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1),
        })
    };
    let events = Resource::new(filter, list_audit_events);
    view! { <SignedIn action=Action::ViewAuditLog children=move |me| view! { <AuditLog filter=Signal::derive(filter) events=events sees_billing=me.may(Action::ViewBilling) /> } /> }
}

/// A filter's label, for a message about it.
fn filter_label(field: &str) -> &'static str {
    match field {
        "kind" => "Kind",
        "actor" => "Actor email contains",
        "from" => "From",
        _ => "To",
    }
}

/// Filters live in the query string, so a filtered page can be bookmarked and shared.
#[component]
fn AuditLog(
    filter: Signal<AuditFilter>,
    events: Resource<Result<Events, AppError>>,
    /// Billing events are only for roles that may view billing (the server leaves them out).
    sees_billing: bool,
) -> impl IntoView {
    let actor_error = RwSignal::new(None::<String>);
    view! {
        <Title text="Audit log" />
        <h1>"Audit log"</h1>
        <Form to="/audit" method="get" class="filters" role="search" label="Filter events"
            on_submit=move |ev: leptos::ev::SubmitEvent| {
                // A card number is refused, not searched for (nor put in the address bar).
                let actor = leptos::prelude::document()
                    .get_element_by_id("actor")
                    .and_then(|e| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlInputElement>(e).ok())
                    .map(|input| input.value())
                    .unwrap_or_default();
                match tally_core::card_in_text::no_card_number(&actor) {
                    Ok(()) => actor_error.set(None),
                    Err(e) => {
                        ev.prevent_default();
                        actor_error.set(Some(e.to_string()));
                    }
                }
            }>
            <div class="field">
                <label for="kind">"Kind"</label>
                <select id="kind" name="kind">
                    <option value="">"All kinds"</option>
                    {sees_billing.then(|| view! {
                        <option value=tally_core::audit::BILLING_EVENTS selected=move || filter.get().kind == tally_core::audit::BILLING_EVENTS>
                            "All billing: runs, invoices, charges, emails"
                        </option>
                    })}
                    {tally_core::audit::ALL_AUDIT_KINDS.iter().filter(|k| sees_billing || !k.is_billing()).map(|k| {
                        let code = k.code();
                        view! { <option value=code selected=move || filter.get().kind == code>{k.label()}</option> }
                    }).collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="actor">"Actor email contains"</label>
                <input id="actor" name="actor" type="search" value=filter.get_untracked().actor
                    aria-invalid=move || actor_error.with(Option::is_some).then_some("true")
                    aria-describedby=move || actor_error.with(Option::is_some).then_some("actor-error")
                    on:input=move |_| actor_error.set(None) />
                <p class="field-error" id="actor-error" aria-live="polite">{move || actor_error.get()}</p>
            </div>
            <div class="field">
                <label for="from">"From"</label>
                <input id="from" name="from" type="date" value=filter.get_untracked().from />
            </div>
            <div class="field">
                <label for="to">"To"</label>
                <input id="to" name="to" type="date" value=filter.get_untracked().to />
            </div>
            <button type="submit">"Filter"</button>
        </Form>
        <Transition fallback=|| view! { <p>"Loading events…"</p> }>
            {move || Suspend::new(async move {
                match events.await {
                    // The server's verdict on a filter (an address typed or linked to): its
                    // field's message, named.
                    Err(e) => {
                        let message = e
                            .field_errors()
                            .and_then(|f| f.iter().next().map(|(field, m)| format!("{}: {m}", filter_label(field))))
                            .unwrap_or_else(|| e.to_string());
                        view! { <p role="alert">{message}</p> }.into_any()
                    }
                    Ok(page) => {
                        let f = filter.get();
                        let link = move |p: u32| {
                            use tally_core::redirect::query_value as encode;
                            format!("/audit?kind={}&actor={}&from={}&to={}&page={p}", encode(&f.kind), encode(&f.actor), encode(&f.from), encode(&f.to))
                        };
                        let prev = (page.page > 1).then(|| link(page.page - 1));
                        let next = (page.page < page.page_count).then(|| link(page.page + 1));
                        view! {
                            <p>{format!("{} events", page.total)}</p>
                            <div class="table-wrap">
                                <table>
                                    <caption class="visually-hidden">"Audit events, newest first"</caption>
                                    <thead>
                                        <tr>
                                            <th scope="col">"Time (UTC)"</th>
                                            <th scope="col">"Event"</th>
                                            <th scope="col">"Actor"</th>
                                            <th scope="col">"Target"</th>
                                            <th scope="col">"IP"</th>
                                            <th scope="col">"Detail"</th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {page.entries.into_iter().map(|e| view! {
                                            <tr>
                                                <td>{e.at}</td>
                                                <td>{e.kind}</td>
                                                <td>{e.actor}</td>
                                                <td>{e.target}</td>
                                                <td>{e.ip}</td>
                                                <td>{e.detail}</td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                            <nav class="pagination" aria-label="Pages">
                                {prev.map(|href| view! { <a href=href rel="prev">"Newer"</a> })}
                                <span>{format!("Page {} of {}", page.page, page.page_count)}</span>
                                {next.map(|href| view! { <a href=href rel="next">"Older"</a> })}
                            </nav>
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}
