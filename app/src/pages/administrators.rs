//! The account's administrators. Route: `/administrators`. Requires: View administrators;
//! the buttons that change anything need Manage administrators (and the server checks again).
//! Server functions: `list_admins`, `create_admin`, `set_admin_role`, `suspend_admin`,
//! `unsuspend_admin`, `delete_admin`, `resend_invitation`.

use leptos::prelude::*;
use leptos_meta::Title;
use tally_core::{
    actor::Actor,
    forms::NewAdminInput,
    roles::{Action, AdminStatus, Role, ALL_ROLES},
    views::{
        admins::{AdminPage, AdminSummary},
        commands::CommandList,
    },
};

use crate::{
    api::admins::{
        create_admin, delete_admin, list_admins, resend_invitation, reset_two_step, set_admin_role,
        suspend_admin, unsuspend_admin,
    },
    api::two_step::{get_two_step_status, set_two_step_policy},
    components::pager::Pager,
    components::{
        dialog::Modal,
        email_text::EmailText,
        field::Field,
        fresh_check,
        layout::SignedIn,
        list_page::{DialogError, ListPage, Notice},
        live_errors::LiveErrors,
        menu::{MenuButton, MenuEntry},
        search_form::SearchForm,
    },
    error::AppError,
};

/// The list's data is loaded here, outside the sign-in check's `<Suspense>`: a resource
/// created inside it is created again each time Leptos re-walks the suspended view, and the
/// list was fetched three times per server render.
#[component]
pub fn AdministratorsPage() -> impl IntoView {
    let list = AdminList::new();
    view! {
        <SignedIn action=Action::ViewAdministrators children=move |me| view! { <Administrators me=me list=list /> } />
    }
}

/// The search, the page and the administrators they select.
#[derive(Clone, Copy)]
struct AdminList {
    state: PageState,
    search: RwSignal<String>,
    page: RwSignal<u32>,
    admins: Resource<Result<AdminPage, AppError>>,
}

impl AdminList {
    fn new() -> Self {
        let state = PageState::new();
        let search = RwSignal::new(String::new());
        let page = RwSignal::new(1u32);
        let admins = Resource::new(
            move || (search.get(), page.get(), state.reload.get()),
            |(search, page, _)| list_admins(search, page),
        );
        Self {
            state,
            search,
            page,
            admins,
        }
    }
}

/// Which dialog is open, if any.
#[derive(Clone, Debug, PartialEq)]
enum Dialog {
    Create,
    ChangeRole(AdminSummary),
    Delete(AdminSummary),
    /// Bind or unbind the administrator as a runner of commands.
    Commands(AdminSummary),
    /// End the administrator's two-step verification (their device is lost).
    ResetTwoStep(AdminSummary),
}

type PageState = ListPage<Dialog>;

#[component]
fn Administrators(me: Actor, list: AdminList) -> impl IntoView {
    let AdminList {
        state,
        search,
        page,
        admins,
    } = list;
    let manage = me.may(Action::ManageAdministrators);
    view! {
        <Title text="Administrators" />
        <div class="page-head">
            <h1>"Administrators"</h1>
            {manage.then(|| view! {
                <button type="button" class="primary" on:click=move |_| state.open(Dialog::Create)>
                    "+ Create Admin"
                </button>
            })}
        </div>
        <Notice state=state />
        {me.may(Action::SetTwoStepPolicy).then(|| view! { <TwoStepPolicy state=state /> })}
        <SearchForm id="admin-search" label="Search by name or email" search=search page=page />
        <Transition fallback=|| view! { <p>"Loading administrators…"</p> }>
            {move || Suspend::new(async move {
                match admins.await {
                    Err(e) => view! { <p role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(p) => {
                        let pages = p.matching.div_ceil(u64::from(p.per_page)).max(1) as u32;
                        let paged = (p.total > u64::from(p.per_page)).then(|| view! {
                            <Pager page=page current=p.page pages=pages label="Pages of administrators"
                                extra=format!("({} administrators)", p.matching) />
                        });
                        view! { <AdminTable list=p.admins manage=manage state=state /> {paged} }.into_any()
                    }
                }
            })}
        </Transition>
        <Modal open=state.dialog_open labelled_by="dialog-title" on_closed=state.after_dialog()>
            {move || match state.dialog.get() {
                Some(Dialog::Create) => view! { <CreateAdminForm state=state /> }.into_any(),
                Some(Dialog::ChangeRole(a)) => view! { <ChangeRoleForm admin=a state=state /> }.into_any(),
                Some(Dialog::Delete(a)) => view! { <DeleteConfirm admin=a state=state /> }.into_any(),
                Some(Dialog::Commands(a)) => view! { <RunnerCommands admin=a state=state /> }.into_any(),
                Some(Dialog::ResetTwoStep(a)) => view! { <ResetTwoStepConfirm admin=a state=state /> }.into_any(),
                None => ().into_any(),
            }}
        </Modal>
    }
}

#[component]
fn AdminTable(list: Vec<AdminSummary>, manage: bool, state: PageState) -> impl IntoView {
    let rows = list
        .into_iter()
        .map(|a| {
            let name = full_name(&a);
            let actions = (manage && !a.is_you).then(|| view! { <RowActions admin=a.clone() state=state /> });
            view! {
                <tr>
                    <th scope="row">
                        {name}
                        {a.is_you.then(|| view! { " " <span class="tag">"You"</span> })}
                    </th>
                    <td class="email" data-label="Email"><EmailText email=a.email.clone() /></td>
                    <td data-label="Role">
                        {a.role.display_name()}
                        {a.billing_only.then(|| view! { " " <span class="tag">"Billing only"</span> })}
                    </td>
                    <td data-label="Status"><span class=format!("status status-{}", a.status.code())>{a.status.label()}</span></td>
                    <td data-label="Receives invoices">{if a.receives_invoices { "Yes" } else { "No" }}</td>
                    <td data-label="Billing contact">{if a.billing_contact { "Yes" } else { "No" }}</td>
                    <td data-label="Two-step">{if a.two_step { "On" } else { "Off" }}</td>
                    {manage.then(|| view! { <td class="row-actions" data-label="Actions">{actions}</td> })}
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-wrap stacked">
            <table>
                <caption class="visually-hidden">"Administrators of this account"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Name"</th>
                        <th scope="col">"Email"</th>
                        <th scope="col">"Role"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col">"Receives invoices"</th>
                        <th scope="col">"Billing contact"</th>
                        <th scope="col">"Two-step"</th>
                        {manage.then(|| view! { <th scope="col">"Actions"</th> })}
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}

fn full_name(a: &AdminSummary) -> String {
    format!("{} {}", a.first_name, a.last_name)
}

/// The buttons on another administrator's row. Each names its administrator for screen
/// readers, since a column of "Suspend" buttons says nothing on its own.
#[component]
fn RowActions(admin: AdminSummary, state: PageState) -> impl IntoView {
    let fresh = fresh_check::use_fresh_check();
    let name = full_name(&admin);
    let id = admin.id.clone();
    let open = move |dialog: Dialog| Callback::new(move |_| state.open(dialog.clone()));
    let mut items = vec![MenuEntry::action(
        "Change role",
        format!("Change role of {name}"),
        open(Dialog::ChangeRole(admin.clone())),
    )];
    if tally_core::roles::allows(admin.role, Action::RunBoundCommands) {
        items.push(MenuEntry::action(
            "Commands",
            format!("Commands {name} runs"),
            open(Dialog::Commands(admin.clone())),
        ));
    }
    if admin.status == AdminStatus::Suspended {
        let (id, who) = (id.clone(), name.clone());
        items.push(MenuEntry::action(
            "Unsuspend",
            format!("Unsuspend {name}"),
            Callback::new(move |_| {
                state.perform(
                    format!("{who} can sign in again."),
                    unsuspend_admin(id.clone()),
                )
            }),
        ));
    } else {
        let (id, who) = (id.clone(), name.clone());
        items.push(MenuEntry::action(
            "Suspend",
            format!("Suspend {name}"),
            Callback::new(move |_| {
                let id = id.clone();
                state.perform(
                    format!("{who} is suspended; their sessions have ended."),
                    fresh_check::run(fresh, move || suspend_admin(id.clone())),
                )
            }),
        ));
    }
    if admin.status == AdminStatus::Invited {
        let (id, email) = (id.clone(), admin.email.clone());
        items.push(MenuEntry::action(
            "Resend invitation",
            format!("Resend invitation to {name}"),
            Callback::new(move |_| {
                state.perform(
                    format!("A new invitation is on its way to {email}."),
                    resend_invitation(id.clone()),
                )
            }),
        ));
    }
    if admin.two_step {
        items.push(MenuEntry::action(
            "Reset two-step",
            format!("Reset two-step verification of {name}"),
            open(Dialog::ResetTwoStep(admin.clone())),
        ));
    }
    items.push(MenuEntry::danger(
        "Delete",
        format!("Delete {name}"),
        open(Dialog::Delete(admin.clone())),
    ));
    view! {
        <MenuButton id=format!("admin-actions-{id}") text="Actions".to_string()
            name=format!("Actions for {name}") items=items class="row-menu" />
    }
}

/// The role picker: one radio per role, each with its one-line description.
#[component]
fn RolePicker(
    selected: RwSignal<String>,
    #[prop(into)] error: Signal<Option<String>>,
    on_change: Callback<()>,
) -> impl IntoView {
    let options = ALL_ROLES
        .into_iter()
        .map(|role: Role| {
            let code = role.code();
            let id = format!("role-{code}");
            let desc_id = format!("{id}-desc");
            view! {
                <div class="radio-option">
                    <input type="radio" name="role" id=id.clone() value=code aria-describedby=desc_id.clone()
                        prop:checked=move || selected.get() == code
                        on:change=move |_| { selected.set(code.to_string()); on_change.run(()); } />
                    <label for=id>{role.display_name()}</label>
                    <p class="radio-hint" id=desc_id>{role.description()}</p>
                </div>
            }
        })
        .collect_view();
    view! {
        <fieldset class="field radio-group" class:field-invalid=move || error.get().is_some()
            aria-describedby=move || error.get().map(|_| "role-error")>
            <legend>"Role"</legend>
            {options}
            <p class="field-error" id="role-error" aria-live="polite">{move || error.get()}</p>
        </fieldset>
    }
}

/// "+ Create Admin": validated by core as the fields change, and again by the server.
#[component]
fn CreateAdminForm(state: PageState) -> impl IntoView {
    let fresh = fresh_check::use_fresh_check();
    let first_name = RwSignal::new(String::new());
    let last_name = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let role = RwSignal::new(String::new());
    let input = move || NewAdminInput {
        first_name: first_name.get(),
        last_name: last_name.get(),
        email: email.get(),
        role: role.get(),
    };
    let errors = LiveErrors::new(move || input().parse().err().unwrap_or_default());
    let typed = |signal: RwSignal<String>, field: &'static str| {
        Callback::new(move |v: String| {
            signal.set(v);
            errors.edited(field);
        })
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !errors.submit() {
            return;
        }
        let new = input();
        let done = format!("Invitation sent to {}.", new.email.trim());
        state.submit(done, errors, async move {
            fresh_check::run(fresh, || {
                let n = new.clone();
                create_admin(n.first_name, n.last_name, n.email, n.role)
            })
            .await
            .map(|_| ())
        });
    };
    view! {
        <form class="form" novalidate on:submit=submit>
            <h2 id="dialog-title">"Create an administrator"</h2>
            <p>"They get an email with a link to set their password. The link works once and expires in 72 hours."</p>
            <Field name="first_name" label="First name" autocomplete="off" required=true value=first_name
                error=errors.error("first_name") on_input=typed(first_name, "first_name") on_blur=errors.touch("first_name") />
            <Field name="last_name" label="Last name" autocomplete="off" required=true value=last_name
                error=errors.error("last_name") on_input=typed(last_name, "last_name") on_blur=errors.touch("last_name") />
            <Field name="email" label="Email" kind="email" autocomplete="off" required=true value=email
                error=errors.error("email") on_input=typed(email, "email") on_blur=errors.touch("email") />
            <RolePicker selected=role error=errors.error("role") on_change=Callback::new(move |_| errors.edited("role")) />
            <DialogError state=state />
            <div class="dialog-buttons">
                <button type="submit" class="primary" disabled=move || state.busy.get()>"Send invitation"</button>
                <button type="button" on:click=move |_| state.dialog_open.set(false)>"Cancel"</button>
            </div>
        </form>
    }
}

#[component]
fn ChangeRoleForm(admin: AdminSummary, state: PageState) -> impl IntoView {
    let fresh = fresh_check::use_fresh_check();
    let role = RwSignal::new(admin.role.code().to_string());
    let name = full_name(&admin);
    let title = format!("Change the role of {name}");
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let code = role.get_untracked();
        let label = Role::from_code(&code)
            .map(Role::display_name)
            .unwrap_or_default();
        let id = admin.id.clone();
        state.perform(
            format!("{name} is now {label}."),
            fresh_check::run(fresh, move || set_admin_role(id.clone(), code.clone())),
        );
    };
    view! {
        <form class="form" on:submit=submit>
            <h2 id="dialog-title">{title}</h2>
            <RolePicker selected=role error=Signal::derive(|| None::<String>) on_change=Callback::new(|_| ()) />
            <DialogError state=state />
            <div class="dialog-buttons">
                <button type="submit" class="primary" disabled=move || state.busy.get()>"Save role"</button>
                <button type="button" on:click=move |_| state.dialog_open.set(false)>"Cancel"</button>
            </div>
        </form>
    }
}

#[component]
fn ResetTwoStepConfirm(admin: AdminSummary, state: PageState) -> impl IntoView {
    let fresh = fresh_check::use_fresh_check();
    let name = full_name(&admin);
    let question = format!("Reset the two-step verification of {name}?");
    let confirm = move |_| {
        let id = admin.id.clone();
        state.perform(
            format!("{name}'s two-step verification is reset; they are emailed and must set it up again."),
            fresh_check::run(fresh, move || reset_two_step(id.clone())),
        );
    };
    view! {
        <h2 id="dialog-title">{question}</h2>
        <p>"For someone who lost their device: their authenticator app, passkeys and recovery codes stop working, their sessions end, and they are emailed. They sign in with their password and set it up again."</p>
        <DialogError state=state />
        <div class="dialog-buttons">
            <button type="button" class="danger" disabled=move || state.busy.get() on:click=confirm>"Reset two-step verification"</button>
            <button type="button" autofocus on:click=move |_| state.dialog_open.set(false)>"Cancel"</button>
        </div>
    }
}

#[component]
fn DeleteConfirm(admin: AdminSummary, state: PageState) -> impl IntoView {
    let fresh = fresh_check::use_fresh_check();
    let name = full_name(&admin);
    let question = format!("Delete {name}?");
    let confirm = move |_| {
        let id = admin.id.clone();
        state.perform(
            format!("{name} is deleted."),
            fresh_check::run(fresh, move || delete_admin(id.clone())),
        );
    };
    view! {
        <h2 id="dialog-title">{question}</h2>
        <p>"They lose access to Tally at once and their sessions end. What they did stays in the audit log. This can't be undone; to keep them but block access, suspend them instead."</p>
        <DialogError state=state />
        <div class="dialog-buttons">
            <button type="button" class="danger" disabled=move || state.busy.get() on:click=confirm>"Delete administrator"</button>
            <button type="button" autofocus on:click=move |_| state.dialog_open.set(false)>"Cancel"</button>
        </div>
    }
}

/// The commands an administrator runs, bound and unbound from their row. For a billing-only
/// administrator the dialog says first that binding lets them run the command.
#[component]
fn RunnerCommands(admin: AdminSummary, state: PageState) -> impl IntoView {
    let name = full_name(&admin);
    let title = format!("Commands {name} runs");
    let commands = RwSignal::new(None::<Result<CommandList, AppError>>);
    let load = move || {
        leptos::task::spawn_local(async move {
            commands.set(Some(crate::api::commands::list_commands().await));
        })
    };
    Effect::new(move |_| load());
    let admin_id = admin.id.clone();
    let (role, who) = (admin.role, full_name(&admin));
    let toggle = Callback::new(
        move |(command_id, command_name, bound): (String, String, bool)| {
            let (admin_id, name) = (admin_id.clone(), name.clone());
            leptos::task::spawn_local(async move {
                state.dialog_error.set(None);
                let result = if bound {
                    crate::api::commands::unbind_runner(command_id, admin_id).await
                } else {
                    // A billing-only administrator is bound only from the confirmation below,
                    // which says what it means, as the Commands page does.
                    crate::api::commands::bind_runner(command_id, admin_id, true).await
                };
                match result {
                    Ok(()) => {
                        state.notice.set(Some(Ok(if bound {
                            format!("{name} no longer runs “{command_name}”.")
                        } else {
                            format!("{name} can run “{command_name}” now.")
                        })));
                        state.reload.update(|n| *n += 1);
                        load();
                    }
                    Err(e) => state.dialog_error.set(Some(e.to_string())),
                }
            });
        },
    );
    let admin_id = admin.id.clone();
    // Binding a billing-only administrator waits here for "Bind and allow running".
    let confirming = RwSignal::new(None::<(String, String)>);
    let cancel_ref = NodeRef::<leptos::html::Button>::new();
    // The question takes the focus when it appears, on its safe answer.
    Effect::new(move |_| {
        if let Some(button) = cancel_ref.get() {
            let _ = button.focus();
        }
    });
    let who_confirm = who.clone();
    let confirmation = move || {
        confirming.get().map(|(id, cname)| {
            let explain = format!(
                "{who_confirm} is a billing-only administrator (Command Runner With Billing, bound to no command). Once bound, they will be able to run “{cname}”, and they will no longer be billing only."
            );
            let question = format!("Bind {who_confirm} to “{cname}”?");
            let (id_yes, cname_yes) = (id.clone(), cname.clone());
            view! {
                <div class="confirm-step" role="group" aria-labelledby="confirm-bind">
                    <h3 id="confirm-bind">{question}</h3>
                    <p>{explain}</p>
                    <div class="dialog-buttons">
                        <button type="button" class="primary" on:click=move |_| {
                            confirming.set(None);
                            toggle.run((id_yes.clone(), cname_yes.clone(), false));
                        }>"Bind and allow running"</button>
                        <button type="button" node_ref=cancel_ref on:click=move |_| confirming.set(None)>"Cancel"</button>
                    </div>
                </div>
            }
        })
    };
    view! {
        <h2 id="dialog-title">{title}</h2>
        {confirmation}
        {move || match commands.get() {
            None => view! { <p>"Loading commands…"</p> }.into_any(),
            Some(Err(e)) => view! { <p role="alert">{e.to_string()}</p> }.into_any(),
            Some(Ok(list)) if list.commands.is_empty() => view! { <p>"There are no commands yet. Add one on the Commands page."</p> }.into_any(),
            Some(Ok(list)) => {
                let bound = list.commands.iter().filter(|c| c.runners.iter().any(|r| r.admin_id == admin_id)).count();
                let billing_only = tally_core::roles::is_billing_only(role, bound);
                let warning = billing_only.then(|| view! {
                    <p class="warning">{format!("{who} is a billing-only administrator. Binding a command lets them run it, and they are no longer billing only.")}</p>
                });
                view! {
                {warning}
                <ul class="runner-commands">
                    {list.commands.into_iter().map(|c| {
                        let bound = c.runners.iter().any(|r| r.admin_id == admin_id);
                        let (id, cname) = (c.id.clone(), c.name.clone());
                        let label = format!("{} {}", if bound { "Unbind from" } else { "Bind to" }, c.name);
                        view! {
                            <li>
                                {c.name.clone()}" — "{if bound { "runs it" } else { "does not run it" }}" "
                                <button type="button" aria-label=label disabled=move || confirming.with(Option::is_some) on:click=move |_| {
                                    if billing_only && !bound {
                                        confirming.set(Some((id.clone(), cname.clone())));
                                    } else {
                                        toggle.run((id.clone(), cname.clone(), bound));
                                    }
                                }>
                                    {if bound { "Unbind" } else { "Bind" }}
                                </button>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            }.into_any()
            }
        }}
        <DialogError state=state />
        <div class="dialog-buttons">
            <button type="button" on:click=move |_| state.dialog_open.set(false)>"Done"</button>
        </div>
    }
}

/// "Require two-step verification for every administrator", for the roles that set it.
#[component]
fn TwoStepPolicy(state: PageState) -> impl IntoView {
    let fresh = fresh_check::use_fresh_check();
    let status = Resource::new(|| (), |_| get_two_step_status());
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let required = status.await.map(|s| s.required).unwrap_or(false);
                let checked = RwSignal::new(required);
                let save = move |ev: leptos::ev::SubmitEvent| {
                    ev.prevent_default();
                    let on = checked.get_untracked();
                    let done = if on {
                        "Two-step verification is now required of every administrator."
                    } else {
                        "Two-step verification is no longer required."
                    };
                    state.perform(done.to_string(), fresh_check::run(fresh, move || set_two_step_policy(on)));
                };
                view! {
                    <form class="policy card" on:submit=save>
                        <div class="field checkbox-field">
                            <input type="checkbox" id="require-two-step" aria-describedby="require-two-step-hint" prop:checked=move || checked.get()
                                on:change=move |ev| checked.set(event_target_checked(&ev)) />
                            <label for="require-two-step">"Require two-step verification for every administrator"</label>
                        </div>
                        <p class="field-hint" id="require-two-step-hint">"Administrators without it are sent to set it up at their next sign-in and can do nothing else until it is done."</p>
                        <button type="submit" disabled=move || state.busy.get()>"Save policy"</button>
                    </form>
                }
            })}
        </Suspense>
    }
}
