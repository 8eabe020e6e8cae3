//! The Billing page's "Billing contacts" card: up to ten people, administrators or not, who
//! receive the billing messages they choose (invoices and credit notes, receipts, payment
//! problems, spend alerts), on the message's To or Cc line. Server functions:
//! `list_billing_contacts`, `save_billing_contact`, `remove_billing_contact` (the last two for
//! Administrators With Billing).

use leptos::{prelude::*, server_fn::ServerFn};
use tally_core::{
    billing_contacts::{BillingContact, ContactInput, Subscription, MAX_CONTACTS},
    forms::FieldErrors,
};

use crate::{
    api::billing::{
        list_billing_contacts, remove_billing_contact, save_billing_contact, SaveBillingContact,
    },
    components::{
        field::{Field, SelectField},
        form::{echo, Form},
        live_errors::LiveErrors,
    },
    error::AppError,
};

#[component]
pub(super) fn ContactsCard() -> impl IntoView {
    let reload = RwSignal::new(0u32);
    let saved = Resource::new(move || reload.get(), |_| list_billing_contacts());
    let said = RwSignal::new(None::<Result<String, String>>);
    view! {
        <section class="card" aria-labelledby="contacts-title">
            <h2 id="contacts-title">"Billing contacts"</h2>
            <p class="field-hint">{format!("Up to {MAX_CONTACTS} people who receive the billing messages they choose, whether or not they sign in to Tally.")}</p>
            <p class="form-said" aria-live="polite" class:form-error=move || matches!(said.get(), Some(Err(_)))>
                {move || said.get().map(|s| s.unwrap_or_else(|e| e))}
            </p>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match saved.await {
                        Err(e) => view! { <p role="alert">{e.to_string()}</p> }.into_any(),
                        Ok(list) => view! { <ContactList list=list reload=reload said=said /> }.into_any(),
                    }
                })}
            </Transition>
            <AddContact reload=reload said=said />
        </section>
    }
}

#[component]
fn ContactList(
    list: Vec<BillingContact>,
    reload: RwSignal<u32>,
    said: RwSignal<Option<Result<String, String>>>,
) -> impl IntoView {
    if list.is_empty() {
        return view! { <p id="no-contacts">"No billing contacts yet: invoices go to the billing contact in Billing Information and to the administrators who asked for them."</p> }.into_any();
    }
    let rows = list
        .into_iter()
        .map(|c| {
            let id = c.id.clone();
            let email = c.email.clone();
            let remove = move |_| {
                let (id, email) = (id.clone(), email.clone());
                leptos::task::spawn_local(async move {
                    said.set(Some(match remove_billing_contact(id).await {
                        Ok(()) => {
                            reload.update(|n| *n += 1);
                            Ok(format!("{email} is no longer a billing contact."))
                        }
                        Err(e) => Err(e.to_string()),
                    }));
                });
            };
            view! {
                <tr>
                    <th scope="row">{c.name.clone()}</th>
                    <td>{c.email.clone()}</td>
                    <td>{c.line.label()}</td>
                    <td>{c.subscriptions_label()}</td>
                    <td>{c.language.map_or("The account's", |l| l.name())}</td>
                    <td class="row-actions">
                        <button type="button" aria-label=format!("Remove {} from the billing contacts", c.email) on:click=remove>"Remove"</button>
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-wrap">
            <table id="billing-contacts">
                <caption class="visually-hidden">"Billing contacts"</caption>
                <thead><tr>
                    <th scope="col">"Name"</th><th scope="col">"Email"</th><th scope="col">"Line"</th>
                    <th scope="col">"Receives"</th><th scope="col">"Language"</th><th scope="col">"Actions"</th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
    .into_any()
}

/// The languages billing documents are written in, as a select's options (each in its own
/// name), after `first` (the blank choice) when there is one.
pub(super) fn language_options(first: &str) -> Vec<(String, String)> {
    let blank = (!first.is_empty()).then(|| (String::new(), first.to_string()));
    blank
        .into_iter()
        .chain(
            tally_core::locale::Locale::ALL
                .into_iter()
                .map(|l| (l.code().to_string(), l.name().to_string())),
        )
        .collect()
}

#[component]
fn AddContact(
    reload: RwSignal<u32>,
    said: RwSignal<Option<Result<String, String>>>,
) -> impl IntoView {
    // Drawn again after a refused plain post (before the page was live): what was sent, the
    // boxes too.
    let start = match echo().filter(|e| e.action == SaveBillingContact::url()) {
        Some(e) => ContactInput {
            name: e.value("contact_name").unwrap_or_default().to_string(),
            email: e.value("contact_email").unwrap_or_default().to_string(),
            line: e.value("contact_line").unwrap_or("to").to_string(),
            subscriptions: Subscription::ALL
                .into_iter()
                .filter(|s| e.value(s.code()).is_some())
                .map(Subscription::code)
                .collect::<Vec<_>>()
                .join(","),
            language: e.value("contact_language").unwrap_or_default().to_string(),
        },
        None => ContactInput {
            line: "to".into(),
            subscriptions: "invoices".into(),
            ..ContactInput::default()
        },
    };
    let input = RwSignal::new(start);
    let errors = LiveErrors::new(move || input.with(|i| i.parse().err().unwrap_or_default()));
    if let Some(refusal) = errors.from_echo(SaveBillingContact::url()) {
        said.set(Some(Err(refusal.to_string())));
    }
    let busy = RwSignal::new(false);
    let text =
        move |f: fn(&ContactInput) -> &String| Signal::derive(move || input.with(|i| f(i).clone()));
    let set = move |name: &'static str, f: fn(&mut ContactInput, String)| {
        Callback::new(move |v: String| {
            input.update(|i| f(i, v));
            errors.edited(name);
        })
    };
    let ticked =
        move |s: Subscription| input.with(|i| i.subscriptions.split(',').any(|c| c == s.code()));
    let tick = move |s: Subscription, on: bool| {
        input.update(|i| {
            let mut codes: Vec<&str> = i
                .subscriptions
                .split(',')
                .filter(|c| !c.is_empty() && *c != s.code())
                .collect();
            if on {
                codes.push(s.code());
            }
            i.subscriptions = codes.join(",");
        });
        errors.edited("contact_subscriptions");
    };
    let nodes: Vec<(Subscription, NodeRef<leptos::html::Input>)> = Subscription::ALL
        .into_iter()
        .map(|s| (s, NodeRef::new()))
        .collect();
    let read_boxes = StoredValue::new(nodes.clone());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        said.set(None);
        // The boxes as they stand, ticked perhaps before the page was live.
        let codes: Vec<&str> = read_boxes.with_value(|nodes| {
            nodes
                .iter()
                .filter(|(_, n)| n.get_untracked().is_some_and(|el| el.checked()))
                .map(|(s, _)| s.code())
                .collect()
        });
        input.update(|i| i.subscriptions = codes.join(","));
        if !errors.submit() || busy.get_untracked() {
            return;
        }
        busy.set(true);
        let i = input.get_untracked();
        let on = |s: Subscription| {
            if i.subscriptions.split(',').any(|c| c == s.code()) {
                "on".to_string()
            } else {
                String::new()
            }
        };
        let (invoices, receipts, problems, alerts) = (
            on(Subscription::Invoices),
            on(Subscription::Receipts),
            on(Subscription::PaymentProblems),
            on(Subscription::SpendAlerts),
        );
        leptos::task::spawn_local(async move {
            let result = save_billing_contact(
                String::new(),
                i.name.clone(),
                i.email.clone(),
                i.line.clone(),
                invoices,
                receipts,
                problems,
                alerts,
                i.language.clone(),
            )
            .await;
            busy.set(false);
            match result {
                Ok(c) => {
                    said.set(Some(Ok(format!(
                        "{} ({}) is a billing contact now.",
                        c.name, c.email
                    ))));
                    input.update(|i| {
                        i.name.clear();
                        i.email.clear();
                    });
                    errors.set_server(FieldErrors::new());
                    reload.update(|n| *n += 1);
                }
                Err(AppError::Validation(fields)) => errors.set_server(fields),
                Err(e) => said.set(Some(Err(e.to_string()))),
            }
        });
    };
    let boxes = nodes
        .into_iter()
        .map(|(s, node)| {
            let id = format!("contact-{}", s.code());
            view! {
                <div class="checkbox-field">
                    <input type="checkbox" id=id.clone() name=s.code() value="on" checked=ticked(s) node_ref=node
                        on:change=move |ev| tick(s, event_target_checked(&ev)) />
                    <label for=id>{s.label()}</label>
                </div>
            }
        })
        .collect_view();
    view! {
        <Form to=SaveBillingContact::url() class="form" on_submit=submit>
            <h3>"Add a contact"</h3>
            <Field name="contact_name" label="Name" autocomplete="off" value=text(|i| &i.name)
                error=errors.error("contact_name") on_input=set("contact_name", |i, v| i.name = v) on_blur=errors.touch("contact_name") />
            <Field name="contact_email" label="Email" kind="email" autocomplete="off" value=text(|i| &i.email)
                error=errors.error("contact_email") on_input=set("contact_email", |i, v| i.email = v) on_blur=errors.touch("contact_email") />
            <SelectField name="contact_line" label="Line"
                options=vec![("to".into(), "To".into()), ("cc".into(), "Cc".into())]
                value=text(|i| &i.line) error=errors.error("contact_line") on_change=set("contact_line", |i, v| i.line = v) />
            <SelectField name="contact_language" label="Language of their messages and documents"
                options=language_options("The account's language")
                value=text(|i| &i.language) error=errors.error("contact_language") on_change=set("contact_language", |i, v| i.language = v) />
            <fieldset class="checkboxes" aria-describedby="contact_subscriptions-error">
                <legend>"Receives"</legend>
                {boxes}
                <p class="field-error" id="contact_subscriptions-error" aria-live="polite">{move || errors.error("contact_subscriptions").get()}</p>
            </fieldset>
            <button type="submit" class="primary" disabled=move || busy.get()>"Add contact"</button>
        </Form>
    }
}
