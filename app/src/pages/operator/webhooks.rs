//! The seller's webhook endpoints. Route: `/operator/webhooks`. Requires: Manage API keys (the
//! Owner; the server checks again, and every change needs a fresh check). Server functions:
//! `list_webhooks`, `create_webhook`, `remove_webhook`, `webhook_deliveries`,
//! `redeliver_webhook`.

use leptos::{prelude::*, server_fn::ServerFn};
use leptos_meta::Title;
use tally_core::{
    operators::OperatorAction,
    views::operator::{CreatedWebhook, WebhookDeliveryRow, WebhookEndpointRow},
    webhooks::{NewWebhookInput, WebhookEvent, ALL_WEBHOOK_EVENTS},
};

use super::frame::OperatorSignedIn;
use crate::{
    api::webhooks::{
        create_webhook, event_field, list_webhooks, redeliver_webhook, remove_webhook,
        webhook_deliveries, CreateWebhook, WEBHOOKS_PATH,
    },
    components::{
        dialog::Modal,
        field::Field,
        form::Form,
        fresh_check,
        list_page::{DialogError, DialogOpener, ListPage, Notice},
        live_errors::LiveErrors,
        shown_once::ShownOnce,
    },
};

#[derive(Clone, Debug, PartialEq)]
enum Dialog {
    Create,
    Remove(WebhookEndpointRow),
    Deliveries(WebhookEndpointRow),
}

type HooksState = ListPage<Dialog>;

#[component]
pub fn WebhooksPage() -> impl IntoView {
    let state = HooksState::new();
    state.open_if_asked("create", Dialog::Create);
    let created = RwSignal::new(None::<CreatedWebhook>);
    let endpoints = Resource::new(move || state.reload.get(), |_| list_webhooks());
    view! {
        <OperatorSignedIn action=OperatorAction::ManageApiKeys children=move |_| view! {
            <Title text="Webhooks" />
            <div class="page-head">
                <h1>"Webhooks"</h1>
                <DialogOpener state=state page=WEBHOOKS_PATH name="create" dialog=Dialog::Create text="+ Add endpoint" />
            </div>
            <p>"Tally tells the seller's own systems about accounts, users, invoices and credit notes as they happen: each event is posted to every endpoint that wants it, signed as the Standard Webhooks specification says, and retried for about a day until the endpoint answers 2xx."</p>
            <Notice state=state />
            {move || created.get().map(|c| view! { <NewSecret created=c on_done=Callback::new(move |_| created.set(None)) /> })}
            <Transition fallback=|| view! { <p>"Loading endpoints…"</p> }>
                {move || Suspend::new(async move {
                    match endpoints.await {
                        Err(e) => view! { <p role="alert">{e.to_string()}</p> }.into_any(),
                        Ok(list) if list.is_empty() => view! { <p>"No endpoints yet."</p> }.into_any(),
                        Ok(list) => view! { <EndpointTable list=list state=state /> }.into_any(),
                    }
                })}
            </Transition>
            <Modal open=state.dialog_open labelled_by="dialog-title" on_closed=state.after_dialog()>
                {move || match state.dialog.get() {
                    Some(Dialog::Create) => view! { <CreateForm state=state created=created /> }.into_any(),
                    Some(Dialog::Remove(e)) => view! { <ConfirmRemove endpoint=e state=state /> }.into_any(),
                    Some(Dialog::Deliveries(e)) => view! { <Deliveries endpoint=e state=state /> }.into_any(),
                    None => ().into_any(),
                }}
            </Modal>
        } />
    }
}

/// The signing secret of the endpoint just added, shown this once.
#[component]
fn NewSecret(created: CreatedWebhook, on_done: Callback<()>) -> impl IntoView {
    view! {
        <ShownOnce heading=format!("The signing secret for {}", created.row.url) heading_id="new-secret-title"
            advice="Give it to the system behind the endpoint, which checks each event's webhook-signature with it (any Standard Webhooks library does): it is not shown again."
            code_id="new-secret" secret=created.secret on_done=on_done />
    }
}

fn time(millis: i64) -> String {
    tally_core::views::operator::utc_minute(millis)
}

#[component]
fn EndpointTable(list: Vec<WebhookEndpointRow>, state: HooksState) -> impl IntoView {
    let rows = list
        .into_iter()
        .map(|e| {
            let events = e
                .events
                .iter()
                .map(|s| s.code())
                .collect::<Vec<_>>()
                .join(", ");
            let status = match (e.disabled_at, e.retrying, e.failed) {
                (Some(at), ..) => format!("Removed {}", time(at)),
                (None, 0, 0) => "Active".into(),
                (None, r, f) => format!("Active: {r} retrying, {f} failed"),
            };
            let (show, remove) = (e.clone(), e.clone());
            let remove = e.disabled_at.is_none().then(|| {
                let aria = format!("Remove {}", e.url);
                view! {
                    <button type="button" class="link" aria-label=aria on:click=move |_| state.open(Dialog::Remove(remove.clone()))>"Remove"</button>
                }
            });
            let aria = format!("Deliveries to {}", e.url);
            view! {
                <tr>
                    <th scope="row"><code>{e.url.clone()}</code></th>
                    <td data-label="Events">{events}</td>
                    <td data-label="Added">{format!("{} by {}", time(e.created_at), e.created_by)}</td>
                    <td data-label="Status">{status}</td>
                    <td data-label="Actions">
                        <button type="button" class="link" aria-label=aria on:click=move |_| state.open(Dialog::Deliveries(show.clone()))>"Deliveries"</button>
                        " " {remove}
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-wrap stacked">
            <table>
                <caption class="visually-hidden">"The seller's webhook endpoints"</caption>
                <thead><tr>
                    <th scope="col">"Endpoint"</th><th scope="col">"Events"</th><th scope="col">"Added"</th>
                    <th scope="col">"Status"</th><th scope="col">"Actions"</th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}

/// An endpoint's latest deliveries: the event, each one's status code and what comes next,
/// and a button to send one again.
#[component]
fn Deliveries(endpoint: WebhookEndpointRow, state: HooksState) -> impl IntoView {
    let fresh = fresh_check::use_fresh_check();
    let reload = RwSignal::new(0u32);
    let id = endpoint.id.clone();
    let list = Resource::new(
        move || reload.get(),
        move |_| webhook_deliveries(id.clone()),
    );
    let heading = format!("Deliveries to {}", endpoint.url);
    let active = endpoint.disabled_at.is_none();
    let endpoint_id = StoredValue::new(endpoint.id.clone());
    let row = move |d: WebhookDeliveryRow| {
        let status = d
            .last_status
            .map(|s| s.to_string())
            .or(d.last_error.clone())
            .unwrap_or_else(|| "—".into());
        let next = d.next_attempt_at.map(time).unwrap_or_else(|| "—".into());
        let redeliver = active.then(|| {
            let aria = format!("Redeliver {} {}", d.event, d.id);
            let delivery = d.id.clone();
            let again = move |_| {
                let (e, dl) = (endpoint_id.get_value(), delivery.clone());
                let done = "Sent again.".to_string();
                state.perform(done, fresh_check::run(fresh, move || redeliver_webhook(e.clone(), dl.clone())));
                reload.update(|n| *n += 1);
            };
            view! { <button type="button" class="link" aria-label=aria on:click=again>"Redeliver"</button> }
        });
        view! {
            <tr>
                <th scope="row">{d.event.clone()}</th>
                <td data-label="Made">{time(d.created_at)}</td>
                <td data-label="State">{d.state()}</td>
                <td data-label="Attempts">{d.attempts}</td>
                <td data-label="Last answer">{status}</td>
                <td data-label="Next attempt">{next}</td>
                <td data-label="Actions">{redeliver}</td>
            </tr>
        }
    };
    view! {
        <h2 id="dialog-title">{heading}</h2>
        <Transition fallback=|| view! { <p>"Loading deliveries…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Err(e) => view! { <p role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(list) if list.is_empty() => view! { <p>"Nothing sent yet."</p> }.into_any(),
                    Ok(list) => view! {
                        <div class="table-wrap stacked">
                            <table>
                                <caption class="visually-hidden">"The latest 50 deliveries, newest first"</caption>
                                <thead><tr>
                                    <th scope="col">"Event"</th><th scope="col">"Made"</th><th scope="col">"State"</th>
                                    <th scope="col">"Attempts"</th><th scope="col">"Last answer"</th><th scope="col">"Next attempt"</th><th scope="col">"Actions"</th>
                                </tr></thead>
                                <tbody>{list.into_iter().map(row).collect_view()}</tbody>
                            </table>
                        </div>
                    }.into_any(),
                }
            })}
        </Transition>
        <DialogError state=state />
        <div class="dialog-buttons">
            <button type="button" on:click=move |_| reload.update(|n| *n += 1)>"Refresh"</button>
            <button type="button" autofocus on:click=move |_| state.dialog_open.set(false)>"Close"</button>
        </div>
    }
}

/// "+ Add endpoint": an address and the events; the secret is shown on the page once made.
/// It needs the live page, which alone can show the secret.
#[component]
fn CreateForm(state: HooksState, created: RwSignal<Option<CreatedWebhook>>) -> impl IntoView {
    let fresh = fresh_check::use_fresh_check();
    let input = RwSignal::new(NewWebhookInput::default());
    // The server knows whether plain http is allowed; the page asks for https as a rule.
    let errors = LiveErrors::new(move || input.with(|i| i.parse(true).err().unwrap_or_default()));
    let url = Signal::derive(move || input.with(|i| i.url.clone()));
    let set_url = Callback::new(move |v: String| {
        errors.changed("url", &v);
        input.update(|i| i.url = v);
    });
    let boxes = ALL_WEBHOOK_EVENTS
        .into_iter()
        .map(|event| {
            let id = format!("event-{}", event_field(event));
            let hint_id = format!("{id}-hint");
            let ticked = move || input.with(|i| i.events.iter().any(|s| s == event.code()));
            let toggle = move |ev: leptos::ev::Event| {
                let on = event_target_checked(&ev);
                input.update(|i| {
                    i.events.retain(|s| s != event.code());
                    if on {
                        i.events.push(event.code().to_owned());
                    }
                });
                errors.edited("events");
            };
            view! {
                <div class="radio-option">
                    <input type="checkbox" id=id.clone() name=event_field(event) aria-describedby=hint_id.clone()
                        prop:checked=ticked on:change=toggle />
                    <label for=id>{event.code()}</label>
                    <span></span>
                    <span class="field-hint" id=hint_id>{event.description()}</span>
                </div>
            }
        })
        .collect_view();
    let events_error = errors.error("events");
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !errors.submit() {
            return;
        }
        let i = input.get_untracked();
        let done = "The endpoint is added; copy its secret below.".to_string();
        state.submit(done, errors, async move {
            let tick = |e: WebhookEvent| {
                i.events
                    .iter()
                    .any(|c| c == e.code())
                    .then(|| "on".to_owned())
            };
            use WebhookEvent as E;
            let made = fresh_check::run(fresh, || {
                create_webhook(
                    i.url.clone(),
                    tick(E::AccountCreated),
                    tick(E::AccountSuspended),
                    tick(E::AccountClosed),
                    tick(E::UsersChanged),
                    tick(E::InvoiceCreated),
                    tick(E::InvoicePaid),
                    tick(E::InvoicePaymentFailed),
                    tick(E::InvoiceActionRequired),
                    tick(E::CreditNoteCreated),
                )
            })
            .await?;
            created.set(Some(made));
            Ok(())
        });
    };
    view! {
        <Form to=CreateWebhook::url() class="form" on_submit=submit live_only=true>
            <h2 id="dialog-title">"Add a webhook endpoint"</h2>
            <Field name="url" label="Endpoint address" kind="url" autocomplete="off" required=true hint="An https:// address of the system that receives the events."
                value=url error=errors.error("url") on_input=set_url on_blur=errors.touch("url") />
            <fieldset class="radio-group" aria-describedby="events-error">
                <legend>"Events"</legend>
                {boxes}
                <p class="field-error" id="events-error" aria-live="polite">{move || events_error.get()}</p>
            </fieldset>
            <DialogError state=state />
            <div class="dialog-buttons">
                <button type="submit" class="primary" disabled=move || state.busy.get()>"Add endpoint"</button>
                <button type="button" on:click=move |_| state.dialog_open.set(false)>"Cancel"</button>
            </div>
        </Form>
    }
}

#[component]
fn ConfirmRemove(endpoint: WebhookEndpointRow, state: HooksState) -> impl IntoView {
    let fresh = fresh_check::use_fresh_check();
    let question = format!("Remove {}?", endpoint.url);
    let done = format!("{} is removed.", endpoint.url);
    let confirm = move |_| {
        let id = endpoint.id.clone();
        state.perform(
            done.clone(),
            fresh_check::run(fresh, move || remove_webhook(id.clone())),
        );
    };
    view! {
        <h2 id="dialog-title">{question}</h2>
        <p>"Nothing more is sent to it, and what it still had to receive is given up. Add it again to receive events from now on."</p>
        <DialogError state=state />
        <div class="dialog-buttons">
            <button type="button" class="danger" disabled=move || state.busy.get() on:click=confirm>"Remove"</button>
            <button type="button" autofocus on:click=move |_| state.dialog_open.set(false)>"Cancel"</button>
        </div>
    }
}
