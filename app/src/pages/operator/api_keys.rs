//! The seller's API keys. Route: `/operator/api-keys`. Requires: Manage API keys (the Owner;
//! the server checks again, and every change needs a fresh check). Server functions:
//! `list_api_keys`, `create_api_key`, `revoke_api_key`.

use leptos::{prelude::*, server_fn::ServerFn};
use leptos_meta::Title;
use tally_core::{
    api_keys::{ApiScope, NewApiKeyInput, ALL_API_SCOPES},
    operators::OperatorAction,
    views::operator::{ApiKeyRow, CreatedApiKey},
};

use super::frame::OperatorSignedIn;
use crate::{
    api::api_keys::{create_api_key, list_api_keys, revoke_api_key, CreateApiKey, API_KEYS_PATH},
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
    Revoke(ApiKeyRow),
}

type KeysState = ListPage<Dialog>;

#[component]
pub fn ApiKeysPage() -> impl IntoView {
    let state = KeysState::new();
    state.open_if_asked("create", Dialog::Create);
    let created = RwSignal::new(None::<CreatedApiKey>);
    let keys = Resource::new(move || state.reload.get(), |_| list_api_keys());
    view! {
        <OperatorSignedIn action=OperatorAction::ManageApiKeys children=move |_| view! {
            <Title text="API keys" />
            <div class="page-head">
                <h1>"API keys"</h1>
                <DialogOpener state=state page=API_KEYS_PATH name="create" dialog=Dialog::Create text="+ Create API key" />
            </div>
            <p>"Keys let the seller's own systems call Tally's REST API under /v1 (its OpenAPI document is at /v1/openapi.json). A key can do only what its scopes allow, and every change it makes is in the audit log under its name."</p>
            <Notice state=state />
            {move || created.get().map(|c| view! { <NewKey created=c on_done=Callback::new(move |_| created.set(None)) /> })}
            <Transition fallback=|| view! { <p>"Loading API keys…"</p> }>
                {move || Suspend::new(async move {
                    match keys.await {
                        Err(e) => view! { <p role="alert">{e.to_string()}</p> }.into_any(),
                        Ok(list) if list.is_empty() => view! { <p>"No API keys yet."</p> }.into_any(),
                        Ok(list) => view! { <KeyTable list=list state=state /> }.into_any(),
                    }
                })}
            </Transition>
            <Modal open=state.dialog_open labelled_by="dialog-title" on_closed=state.after_dialog()>
                {move || match state.dialog.get() {
                    Some(Dialog::Create) => view! { <CreateForm state=state created=created /> }.into_any(),
                    Some(Dialog::Revoke(k)) => view! { <ConfirmRevoke key_row=k state=state /> }.into_any(),
                    None => ().into_any(),
                }}
            </Modal>
        } />
    }
}

/// The key just made, shown this once.
#[component]
fn NewKey(created: CreatedApiKey, on_done: Callback<()>) -> impl IntoView {
    view! {
        <ShownOnce heading=format!("The key for “{}”", created.row.name) heading_id="new-key-title"
            advice="Copy it now and keep it in the system that uses it: it is not shown again. Tally keeps only a hash of it."
            code_id="new-key" secret=created.key on_done=on_done />
    }
}

fn date(millis: i64) -> String {
    tally_core::billing::date_of_millis(millis)
        .map(|d| d.to_string())
        .unwrap_or_default()
}

#[component]
fn KeyTable(list: Vec<ApiKeyRow>, state: KeysState) -> impl IntoView {
    let rows = list
        .into_iter()
        .map(|k| {
            let scopes = k
                .scopes
                .iter()
                .map(|s| s.code())
                .collect::<Vec<_>>()
                .join(", ");
            let last_used = k.last_used_at.map(date).unwrap_or_else(|| "Never".into());
            let status = match k.revoked_at {
                Some(at) => format!("Revoked {}", date(at)),
                None => "Active".into(),
            };
            let action = k.revoked_at.is_none().then(|| {
                let aria = format!("Revoke {}", k.name);
                let row = k.clone();
                view! {
                    <button type="button" class="link" aria-label=aria on:click=move |_| state.open(Dialog::Revoke(row.clone()))>"Revoke"</button>
                }
            });
            view! {
                <tr>
                    <th scope="row">{k.name.clone()}</th>
                    <td data-label="Key"><code>{format!("{}…", k.visible)}</code></td>
                    <td data-label="Scopes">{scopes}</td>
                    <td data-label="Made">{format!("{} by {}", date(k.created_at), k.created_by)}</td>
                    <td data-label="Last used">{last_used}</td>
                    <td data-label="Status">{status}</td>
                    <td data-label="Actions">{action}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-wrap stacked">
            <table>
                <caption class="visually-hidden">"The seller's API keys"</caption>
                <thead><tr>
                    <th scope="col">"Name"</th><th scope="col">"Key"</th><th scope="col">"Scopes"</th>
                    <th scope="col">"Made"</th><th scope="col">"Last used"</th><th scope="col">"Status"</th><th scope="col">"Actions"</th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}

/// A checkbox's form name for a scope: `accounts:read` is `accounts_read`.
fn field_name(scope: ApiScope) -> &'static str {
    match scope {
        ApiScope::AccountsRead => "accounts_read",
        ApiScope::AccountsWrite => "accounts_write",
        ApiScope::UsersRead => "users_read",
        ApiScope::UsersWrite => "users_write",
        ApiScope::InvoicesRead => "invoices_read",
        ApiScope::CreditNotesWrite => "credit_notes_write",
    }
}

/// "+ Create API key": a name and the scopes; the key is shown on the page once made. It
/// needs the live page, which alone can show the key.
#[component]
fn CreateForm(state: KeysState, created: RwSignal<Option<CreatedApiKey>>) -> impl IntoView {
    let fresh = fresh_check::use_fresh_check();
    let input = RwSignal::new(NewApiKeyInput::default());
    let errors = LiveErrors::new(move || input.with(|i| i.parse().err().unwrap_or_default()));
    let name = Signal::derive(move || input.with(|i| i.name.clone()));
    let set_name = Callback::new(move |v: String| {
        errors.changed("name", &v);
        input.update(|i| i.name = v);
    });
    let boxes = ALL_API_SCOPES
        .into_iter()
        .map(|scope| {
            let id = format!("scope-{}", field_name(scope));
            let hint_id = format!("{id}-hint");
            let ticked = move || input.with(|i| i.scopes.iter().any(|s| s == scope.code()));
            let toggle = move |ev: leptos::ev::Event| {
                let on = event_target_checked(&ev);
                input.update(|i| {
                    i.scopes.retain(|s| s != scope.code());
                    if on {
                        i.scopes.push(scope.code().to_owned());
                    }
                });
                errors.edited("scopes");
            };
            view! {
                <div class="radio-option">
                    <input type="checkbox" id=id.clone() name=field_name(scope) aria-describedby=hint_id.clone()
                        prop:checked=ticked on:change=toggle />
                    <label for=id>{scope.code()}</label>
                    <span></span>
                    <span class="field-hint" id=hint_id>{scope.description()}</span>
                </div>
            }
        })
        .collect_view();
    let scopes_error = errors.error("scopes");
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !errors.submit() {
            return;
        }
        let i = input.get_untracked();
        let done = format!("The key “{}” is made; copy it below.", i.name.trim());
        state.submit(done, errors, async move {
            let tick = |s: ApiScope| {
                i.scopes
                    .iter()
                    .any(|c| c == s.code())
                    .then(|| "on".to_owned())
            };
            let key = fresh_check::run(fresh, || {
                create_api_key(
                    i.name.clone(),
                    tick(ApiScope::AccountsRead),
                    tick(ApiScope::AccountsWrite),
                    tick(ApiScope::UsersRead),
                    tick(ApiScope::UsersWrite),
                    tick(ApiScope::InvoicesRead),
                    tick(ApiScope::CreditNotesWrite),
                )
            })
            .await?;
            created.set(Some(key));
            Ok(())
        });
    };
    view! {
        <Form to=CreateApiKey::url() class="form" on_submit=submit live_only=true>
            <h2 id="dialog-title">"Create an API key"</h2>
            <Field name="name" label="Name" autocomplete="off" required=true hint="After the system that uses it, e.g. “CRM sync”."
                value=name error=errors.error("name") on_input=set_name on_blur=errors.touch("name") />
            <fieldset class="radio-group" aria-describedby="scopes-error">
                <legend>"Scopes"</legend>
                {boxes}
                <p class="field-error" id="scopes-error" aria-live="polite">{move || scopes_error.get()}</p>
            </fieldset>
            <DialogError state=state />
            <div class="dialog-buttons">
                <button type="submit" class="primary" disabled=move || state.busy.get()>"Create key"</button>
                <button type="button" on:click=move |_| state.dialog_open.set(false)>"Cancel"</button>
            </div>
        </Form>
    }
}

#[component]
fn ConfirmRevoke(key_row: ApiKeyRow, state: KeysState) -> impl IntoView {
    let fresh = fresh_check::use_fresh_check();
    let question = format!("Revoke “{}”?", key_row.name);
    let done = format!("“{}” is revoked.", key_row.name);
    let confirm = move |_| {
        let id = key_row.id.clone();
        state.perform(
            done.clone(),
            fresh_check::run(fresh, move || revoke_api_key(id.clone())),
        );
    };
    view! {
        <h2 id="dialog-title">{question}</h2>
        <p>"Every call with this key is refused from now on. This cannot be undone: make a new key if the system still needs one."</p>
        <DialogError state=state />
        <div class="dialog-buttons">
            <button type="button" class="danger" disabled=move || state.busy.get() on:click=confirm>"Revoke"</button>
            <button type="button" autofocus on:click=move |_| state.dialog_open.set(false)>"Cancel"</button>
        </div>
    }
}
