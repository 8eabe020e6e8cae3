//! The account's billable users (seats). Route: `/users`. Requires: View users; the buttons
//! that change anything need Manage users (and the server checks again).
//! Server functions: `list_users`, `create_user`, `update_user`, `set_user_suspended`,
//! `delete_user`, `import_users`.

use leptos::{prelude::*, server_fn::ServerFn};
use leptos_meta::Title;
use tally_core::{
    actor::Actor,
    csv::RowError,
    forms::NewUserInput,
    roles::Action,
    views::users::{UserPage, UserSummary},
};

use crate::{
    api::users::{
        create_user, delete_user, list_users, set_user_suspended, update_user, CreateUser,
        ImportUsers, UpdateUser,
    },
    components::{
        dialog::Modal,
        email_text::EmailText,
        field::Field,
        layout::SignedIn,
        list_page::{DialogError, DialogOpener, ListPage, Notice},
        live_errors::LiveErrors,
        menu::{MenuButton, MenuEntry},
        search_form::SearchForm,
    },
    components::{form::Form, pager::Pager},
    error::AppError,
    pages::identity_provider::IdentityProvider,
};

#[component]
pub fn UsersPage() -> impl IntoView {
    // Loaded outside the sign-in check's <Suspense>, which would create (and fetch) it again on
    // each of its passes; see AdministratorsPage.
    let state = UsersState::new();
    state.open_if_asked("add", UserDialog::Add);
    let search = RwSignal::new(String::new());
    let page = RwSignal::new(1u32);
    let users = Resource::new(
        move || (search.get(), page.get(), state.reload.get()),
        |(search, page, _)| list_users(search, page),
    );
    view! {
        <SignedIn action=Action::ViewUsers children=move |me| view! {
            <Users me=me state=state search=search page=page users=users />
        } />
    }
}

#[derive(Clone, Debug, PartialEq)]
enum UserDialog {
    Add,
    Edit(UserSummary),
    Delete(UserSummary),
}

type UsersState = ListPage<UserDialog>;

fn full_name(u: &UserSummary) -> String {
    format!("{} {}", u.first_name, u.last_name)
}

#[component]
fn Users(
    me: Actor,
    state: UsersState,
    search: RwSignal<String>,
    page: RwSignal<u32>,
    users: Resource<Result<UserPage, AppError>>,
) -> impl IntoView {
    let manage = me.may(Action::ManageUsers);
    view! {
        <Title text="Users" />
        <div class="page-head">
            <h1>"Users"</h1>
            {manage.then(|| view! {
                <DialogOpener state=state page="/users" name="add" dialog=UserDialog::Add text="+ Add user" />
            })}
        </div>
        <p class="field-hint">"Every user counts toward the bill, suspended ones too; users your identity provider deactivated do not. The first 10 are free."</p>
        <Notice state=state />
        <SearchForm id="user-search" label="Search by name or email" search=search page=page />
        <Transition fallback=|| view! { <p>"Loading users…"</p> }>
            {move || Suspend::new(async move {
                match users.await {
                    Err(e) => view! { <p role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(p) => {
                        let pages = p.matching.div_ceil(u64::from(p.per_page)).max(1) as u32;
                        let summary = format!("{} users in all; {} shown of {} matching.", p.total, p.users.len(), p.matching);
                        view! {
                            <p>{summary}</p>
                            <UserTable users=p.users manage=manage state=state />
                            <Pager page=page current=p.page pages=pages label="Pages of users" />
                        }.into_any()
                    }
                }
            })}
        </Transition>
        {manage.then(|| view! { <ImportCsv state=state /> })}
        {manage.then(|| view! { <IdentityProvider /> })}
        <Modal open=state.dialog_open labelled_by="dialog-title" on_closed=state.after_dialog()>
            {move || match state.dialog.get() {
                Some(UserDialog::Add) => view! { <UserForm state=state user=None /> }.into_any(),
                Some(UserDialog::Edit(u)) => view! { <UserForm state=state user=Some(u) /> }.into_any(),
                Some(UserDialog::Delete(u)) => view! { <DeleteUser state=state user=u /> }.into_any(),
                None => ().into_any(),
            }}
        </Modal>
    }
}

#[component]
fn UserTable(users: Vec<UserSummary>, manage: bool, state: UsersState) -> impl IntoView {
    let rows = users
        .into_iter()
        .map(|u| {
            let name = full_name(&u);
            let actions = manage.then(|| {
                let (edit, delete) = (u.clone(), u.clone());
                let (id, n) = (u.id.clone(), name.clone());
                let suspended = u.suspended;
                let (verb, done) = if suspended {
                    ("Unsuspend", format!("{n} is active again."))
                } else {
                    ("Suspend", format!("{n} is suspended (still billable)."))
                };
                let mut items = vec![
                    MenuEntry::action("Edit", format!("Edit {name}"), Callback::new(move |_| state.open(UserDialog::Edit(edit.clone())))),
                ];
                // The identity provider reactivates those it deactivated.
                if !u.deactivated {
                    items.push(MenuEntry::action(verb, format!("{verb} {name}"), Callback::new(move |_| state.perform(done.clone(), set_user_suspended(id.clone(), !suspended)))));
                }
                items.push(MenuEntry::danger("Delete", format!("Delete {name}"), Callback::new(move |_| state.open(UserDialog::Delete(delete.clone())))));
                view! {
                    <td class="row-actions" data-label="Actions">
                        <MenuButton id=format!("user-actions-{}", u.id) text="Actions".to_string() name=format!("Actions for {name}") items=items class="row-menu" />
                    </td>
                }
            });
            view! {
                <tr>
                    <th scope="row">{full_name(&u)}</th>
                    <td class="email" data-label="Email"><EmailText email=u.email.clone() /></td>
                    <td data-label="Status">{match (u.deactivated, u.suspended) {
                        (true, _) => "Deactivated by the identity provider",
                        (false, true) => "Suspended",
                        (false, false) => "Active",
                    }}</td>
                    {actions}
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-wrap stacked">
            <table>
                <caption class="visually-hidden">"Users of this account"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Name"</th>
                        <th scope="col">"Email"</th>
                        <th scope="col">"Status"</th>
                        {manage.then(|| view! { <th scope="col">"Actions"</th> })}
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}

/// Add or edit one user; validated by core as typed and again by the server.
#[component]
fn UserForm(state: UsersState, user: Option<UserSummary>) -> impl IntoView {
    let input = RwSignal::new(match &user {
        Some(u) => NewUserInput {
            first_name: u.first_name.clone(),
            last_name: u.last_name.clone(),
            email: u.email.clone(),
        },
        None => NewUserInput::default(),
    });
    let errors = LiveErrors::new(move || input.with(|i| i.parse().err().unwrap_or_default()));
    let id = user.as_ref().map(|u| u.id.clone());
    let to = if id.is_some() {
        UpdateUser::url()
    } else {
        CreateUser::url()
    };
    let id_field = id.clone();
    if let Some(refusal) = errors.from_echo(to) {
        state.dialog_error.set(Some(refusal.to_string()));
    }
    let title = match &user {
        Some(u) => format!("Edit {}", full_name(u)),
        None => "Add a user".to_string(),
    };
    let text = move |get: fn(&NewUserInput) -> &String| {
        Signal::derive(move || input.with(|i| get(i).clone()))
    };
    let set = move |field: &'static str, put: fn(&mut NewUserInput, String)| {
        Callback::new(move |v: String| {
            errors.changed(field, &v);
            input.update(|i| put(i, v));
        })
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !errors.submit() {
            return;
        }
        let u = input.get_untracked();
        let id = id.clone();
        let done = format!("{} {} is saved.", u.first_name.trim(), u.last_name.trim());
        state.submit(done, errors, async move {
            match id {
                Some(id) => update_user(id, u.first_name, u.last_name, u.email).await,
                None => create_user(u.first_name, u.last_name, u.email)
                    .await
                    .map(|_| ()),
            }
        });
    };
    view! {
        <Form to=to class="form" on_submit=submit done="/users">
            <h2 id="dialog-title">{title}</h2>
            {id_field.map(|id| view! { <input type="hidden" name="id" value=id /> })}
            <Field name="first_name" label="First name" autocomplete="off" required=true value=text(|i| &i.first_name)
                error=errors.error("first_name") on_input=set("first_name", |i, v| i.first_name = v) on_blur=errors.touch("first_name") />
            <Field name="last_name" label="Last name" autocomplete="off" required=true value=text(|i| &i.last_name)
                error=errors.error("last_name") on_input=set("last_name", |i, v| i.last_name = v) on_blur=errors.touch("last_name") />
            <Field name="email" label="Email" kind="email" autocomplete="off" required=true value=text(|i| &i.email)
                error=errors.error("email") on_input=set("email", |i, v| i.email = v) on_blur=errors.touch("email") />
            <DialogError state=state />
            <div class="dialog-buttons">
                <button type="submit" class="primary" disabled=move || state.busy.get()>"Save user"</button>
                <button type="button" on:click=move |_| state.dialog_open.set(false)>"Cancel"</button>
            </div>
        </Form>
    }
}

#[component]
fn DeleteUser(state: UsersState, user: UserSummary) -> impl IntoView {
    let name = full_name(&user);
    let question = format!("Delete {name}?");
    let confirm =
        move |_| state.perform(format!("{name} is deleted."), delete_user(user.id.clone()));
    view! {
        <h2 id="dialog-title">{question}</h2>
        <p>"They stop counting toward the bill from now on; this month's peak keeps them if they were counted. This can't be undone."</p>
        <DialogError state=state />
        <div class="dialog-buttons">
            <button type="button" class="danger" disabled=move || state.busy.get() on:click=confirm>"Delete user"</button>
            <button type="button" autofocus on:click=move |_| state.dialog_open.set(false)>"Cancel"</button>
        </div>
    }
}

/// CSV import: the whole file is checked first; any bad row means nothing is imported and
/// every bad row is listed.
#[component]
fn ImportCsv(state: UsersState) -> impl IntoView {
    let rejected = RwSignal::new(Vec::<RowError>::new());
    let failure = RwSignal::new(None::<String>);
    let input = NodeRef::<leptos::html::Input>::new();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        rejected.set(Vec::new());
        failure.set(None);
        #[cfg(feature = "hydrate")]
        {
            let Some(file) = input
                .get_untracked()
                .and_then(|i| i.files())
                .and_then(|f| f.get(0))
            else {
                failure.set(Some("Choose a CSV file first.".into()));
                return;
            };
            state.busy.set(true);
            leptos::task::spawn_local(async move {
                let text = wasm_bindgen_futures::JsFuture::from(file.text())
                    .await
                    .ok()
                    .and_then(|v| v.as_string());
                let Some(text) = text else {
                    state.busy.set(false);
                    failure.set(Some("That file could not be read.".into()));
                    return;
                };
                // Core reads the file first, in the browser: its bad lines show at once, with
                // the network off too. The server checks it again and adds what only it knows
                // (addresses already in the account), so its list replaces this one.
                let checked_here = tally_core::csv::users_from_csv(&text).err();
                if let Some(rows) = &checked_here {
                    rejected.set(rows.clone());
                }
                let result = crate::api::users::import_users(text).await;
                state.busy.set(false);
                match (result, checked_here) {
                    (Ok(n), _) => state.succeeded(format!("{n} users imported.")),
                    (Err(crate::error::AppError::ImportRejected(rows)), _) => rejected.set(rows),
                    // Offline: core's list stands.
                    (Err(_), Some(_)) => failure.set(Some(
                        "Tally can't be reached just now, so addresses already in the account are not checked yet.".into(),
                    )),
                    (Err(e), None) => failure.set(Some(e.to_string())),
                }
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (input, state);
    };
    view! {
        <section class="card import" aria-labelledby="import-title">
            <h2 id="import-title">"Import users from CSV"</h2>
            <p class="field-hint" id="import-hint">"A header line naming first_name, last_name and email, then one user per line. If any line has a problem, nothing is imported and every problem is listed."</p>
            <Form to=ImportUsers::url() class="filters" on_submit=submit live_only=true>
                <div class="field">
                    <label for="import-file">"CSV file"</label>
                    <input id="import-file" type="file" accept=".csv,text/csv" node_ref=input aria-describedby="import-hint" />
                </div>
                <button type="submit" disabled=move || state.busy.get()>"Import"</button>
            </Form>
            <p class="form-error" role="alert">{move || failure.get()}</p>
            <div role="alert">
                {move || (!rejected.with(Vec::is_empty)).then(|| view! {
                    <p class="form-error">{move || match rejected.with(Vec::len) {
                        1 => "Nothing was imported. Fix this line and import the file again:".to_string(),
                        n => format!("Nothing was imported. Fix these {n} lines and import the file again:"),
                    }}</p>
                    <ul class="row-errors">
                        {rejected.get().into_iter().map(|r| view! { <li>{format!("Line {}: {}", r.line, r.reason)}</li> }).collect_view()}
                    </ul>
                })}
            </div>
        </section>
    }
}
