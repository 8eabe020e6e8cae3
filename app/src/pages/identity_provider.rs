//! The Users page's "Identity provider (SCIM)" section, for those who manage users: the base
//! URL an identity provider (Okta, Entra ID, JumpCloud…) provisions the account's users at,
//! and its tokens — made with a fresh check and shown once, listed by their first characters
//! with their last use, revocable. Server functions: `list_scim_tokens`, `create_scim_token`,
//! `revoke_scim_token`.

use leptos::prelude::*;
use tally_core::views::users::{CreatedScimToken, ScimTokenRow};

use crate::{
    api::scim::{create_scim_token, list_scim_tokens, revoke_scim_token},
    components::{
        dialog::Modal,
        fresh_check,
        list_page::{DialogError, ListPage},
        shown_once::ShownOnce,
    },
};

#[derive(Clone, Debug, PartialEq)]
enum Dialog {
    Revoke(ScimTokenRow),
}

type TokensState = ListPage<Dialog>;

fn date(millis: i64) -> String {
    tally_core::billing::date_of_millis(millis)
        .map(|d| d.to_string())
        .unwrap_or_default()
}

#[component]
pub fn IdentityProvider() -> impl IntoView {
    let state = TokensState::new();
    let fresh = fresh_check::use_fresh_check();
    let created = RwSignal::new(None::<CreatedScimToken>);
    let settings = Resource::new(move || state.reload.get(), |_| list_scim_tokens());
    let create = move |_| {
        state.perform("A token is made; copy it below.".into(), async move {
            let made = fresh_check::run(fresh, create_scim_token).await?;
            created.set(Some(made));
            Ok(())
        });
    };
    view! {
        <section class="card" aria-labelledby="idp-heading">
            <h2 id="idp-heading">"Identity provider (SCIM)"</h2>
            <p>"Connect your identity provider (Okta, Microsoft Entra ID, JumpCloud, or any SCIM 2.0 client) to add, change, deactivate and remove this account's users for you. They are the users listed above and count toward the bill the same way; a user the provider deactivates stops counting from that moment."</p>
            // Polite, but not a second `status` on the page: the Users list's notice is that.
            <p class="notice" class:notice-error=move || state.notice.with(|n| matches!(n, Some(Err(_)))) aria-live="polite">
                {move || state.notice.get().map(|n| n.unwrap_or_else(|e| e))}
            </p>
            {move || created.get().map(|c| view! {
                <ShownOnce heading="Your new SCIM token" heading_id="new-token-title"
                    advice="Copy it into your identity provider now: it is not shown again. Tally keeps only a hash of it."
                    code_id="new-scim-token" secret=c.token on_done=Callback::new(move |_| created.set(None)) />
            })}
            <Transition fallback=|| view! { <p>"Loading tokens…"</p> }>
                {move || Suspend::new(async move {
                    match settings.await {
                        Err(e) => view! { <p role="alert">{e.to_string()}</p> }.into_any(),
                        Ok(s) => view! {
                            <p>"SCIM base URL: " <code id="scim-base-url">{s.base_url}</code></p>
                            <TokenTable tokens=s.tokens state=state />
                        }.into_any(),
                    }
                })}
            </Transition>
            <button type="button" disabled=move || state.busy.get() on:click=create>"Create SCIM token"</button>
            <Modal open=state.dialog_open labelled_by="revoke-title" on_closed=state.after_dialog()>
                {move || match state.dialog.get() {
                    Some(Dialog::Revoke(t)) => view! { <ConfirmRevoke token=t state=state /> }.into_any(),
                    None => ().into_any(),
                }}
            </Modal>
        </section>
    }
}

#[component]
fn TokenTable(tokens: Vec<ScimTokenRow>, state: TokensState) -> impl IntoView {
    if tokens.is_empty() {
        return view! { <p>"No tokens yet."</p> }.into_any();
    }
    let rows = tokens
        .into_iter()
        .map(|t| {
            let last_used = t.last_used_at.map(date).unwrap_or_else(|| "Never".into());
            let status = match t.revoked_at {
                Some(at) => format!("Revoked {}", date(at)),
                None => "Active".into(),
            };
            let action = t.revoked_at.is_none().then(|| {
                let aria = format!("Revoke {}…", t.visible);
                let row = t.clone();
                view! {
                    <button type="button" class="link" aria-label=aria on:click=move |_| state.open(Dialog::Revoke(row.clone()))>"Revoke"</button>
                }
            });
            view! {
                <tr>
                    <th scope="row"><code>{format!("{}…", t.visible)}</code></th>
                    <td data-label="Made">{format!("{} by {}", date(t.created_at), t.created_by)}</td>
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
                <caption class="visually-hidden">"The account's SCIM tokens"</caption>
                <thead><tr>
                    <th scope="col">"Token"</th><th scope="col">"Made"</th><th scope="col">"Last used"</th>
                    <th scope="col">"Status"</th><th scope="col">"Actions"</th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
    .into_any()
}

#[component]
fn ConfirmRevoke(token: ScimTokenRow, state: TokensState) -> impl IntoView {
    let question = format!("Revoke {}…?", token.visible);
    let done = format!("{}… is revoked.", token.visible);
    let confirm = move |_| {
        state.perform(done.clone(), revoke_scim_token(token.id.clone()));
    };
    view! {
        <h2 id="revoke-title">{question}</h2>
        <p>"The identity provider's calls with this token are refused from now on; the users it provisioned stay. Make a new token to connect it again."</p>
        <DialogError state=state />
        <div class="dialog-buttons">
            <button type="button" class="danger" disabled=move || state.busy.get() on:click=confirm>"Revoke"</button>
            <button type="button" autofocus on:click=move |_| state.dialog_open.set(false)>"Cancel"</button>
        </div>
    }
}
