//! The account's administrators. Route: `/administrators`. Requires: View administrators;
//! the buttons that change anything need Manage administrators (and the server checks again).
//! Server functions: `list_admins`, `create_admin`, `set_admin_role`, `suspend_admin`,
//! `unsuspend_admin`, `delete_admin`, `resend_invitation`.

mod dialogs;
mod row_actions;
mod runner_commands;
mod two_step_policy;

use leptos::prelude::*;
use leptos_meta::Title;
use tally_core::{
    actor::Actor,
    roles::Action,
    views::admins::{AdminPage, AdminSummary},
};

use crate::{
    api::admins::list_admins,
    components::pager::Pager,
    components::{
        dialog::Modal,
        email_text::EmailText,
        layout::SignedIn,
        list_page::{DialogOpener, ListPage, Notice},
        search_form::SearchForm,
    },
    error::AppError,
};
use dialogs::{ChangeRoleForm, CreateAdminForm, DeleteConfirm, ResetTwoStepConfirm};
use row_actions::RowActions;
use runner_commands::RunnerCommands;
use two_step_policy::TwoStepPolicy;

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
    state: AdminsState,
    search: RwSignal<String>,
    page: RwSignal<u32>,
    admins: Resource<Result<AdminPage, AppError>>,
}

impl AdminList {
    fn new() -> Self {
        let state = AdminsState::new();
        state.open_if_asked("create", AdminDialog::Create);
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
pub(super) enum AdminDialog {
    Create,
    ChangeRole(AdminSummary),
    Delete(AdminSummary),
    /// Bind or unbind the administrator as a runner of commands.
    Commands(AdminSummary),
    /// End the administrator's two-step verification (their device is lost).
    ResetTwoStep(AdminSummary),
}

pub(super) type AdminsState = ListPage<AdminDialog>;

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
                <DialogOpener state=state page="/administrators" name="create" dialog=AdminDialog::Create text="+ Create Admin" />
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
                Some(AdminDialog::Create) => view! { <CreateAdminForm state=state /> }.into_any(),
                Some(AdminDialog::ChangeRole(a)) => view! { <ChangeRoleForm admin=a state=state /> }.into_any(),
                Some(AdminDialog::Delete(a)) => view! { <DeleteConfirm admin=a state=state /> }.into_any(),
                Some(AdminDialog::Commands(a)) => view! { <RunnerCommands admin=a state=state /> }.into_any(),
                Some(AdminDialog::ResetTwoStep(a)) => view! { <ResetTwoStepConfirm admin=a state=state /> }.into_any(),
                None => ().into_any(),
            }}
        </Modal>
    }
}

#[component]
fn AdminTable(list: Vec<AdminSummary>, manage: bool, state: AdminsState) -> impl IntoView {
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

pub(super) fn full_name(a: &AdminSummary) -> String {
    format!("{} {}", a.first_name, a.last_name)
}
