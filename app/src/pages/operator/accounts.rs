//! The seller's customer accounts. Route: `/operator/accounts`. Requires: an operator (any
//! role); creating an account needs Manage accounts (Owner, Support; the server checks again).
//! Server functions: `list_customer_accounts`, `create_customer_account`.

use leptos::{prelude::*, server_fn::ServerFn};
use leptos_meta::Title;
use tally_core::{
    account_status::{AccountStatus, ALL_ACCOUNT_STATUSES},
    actor::OperatorActor,
    forms::NewAccountInput,
    operators::OperatorAction,
    roles::Role,
    seller::PlanInput,
    views::operator::{AccountOrder, CustomerAccountPage, CustomerAccountRow},
};

use super::frame::OperatorSignedIn;
use crate::{
    api::operator::{
        create_customer_account, default_plan, list_customer_accounts, CreateCustomerAccount,
        CONSOLE_PATH,
    },
    components::{
        dialog::Modal,
        field::{Field, SelectField},
        form::Form,
        fresh_check,
        list_page::{DialogError, DialogOpener, ListPage, Notice},
        live_errors::LiveErrors,
        pager::Pager,
        plan_fields::PlanFields,
        search_form::SearchForm,
    },
    error::AppError,
};

type AccountsState = ListPage<()>;

/// What the list is asked for.
#[derive(Clone, Copy)]
struct Query {
    search: RwSignal<String>,
    /// A standing's code, or "" for every account.
    status: RwSignal<String>,
    past_due: RwSignal<bool>,
    no_card: RwSignal<bool>,
    newest: RwSignal<bool>,
    page: RwSignal<u32>,
}

#[component]
pub fn CustomerAccountsPage() -> impl IntoView {
    let state = AccountsState::new();
    state.open_if_asked("create", ());
    let q = Query {
        search: RwSignal::new(String::new()),
        status: RwSignal::new(String::new()),
        past_due: RwSignal::new(false),
        no_card: RwSignal::new(false),
        newest: RwSignal::new(false),
        page: RwSignal::new(1),
    };
    let accounts = Resource::new(
        move || {
            let order = if q.newest.get() {
                AccountOrder::Newest
            } else {
                AccountOrder::Name
            };
            (
                (q.search.get(), q.status.get()),
                q.past_due.get(),
                q.no_card.get(),
                order,
                q.page.get(),
                state.reload.get(),
            )
        },
        |((search, status), past_due, no_card, order, page, _)| {
            list_customer_accounts(search, past_due, no_card, status, order, Some(page))
        },
    );
    view! {
        <OperatorSignedIn children=move |me| view! { <Accounts me=me state=state q=q accounts=accounts /> } />
    }
}

#[component]
fn Accounts(
    me: OperatorActor,
    state: AccountsState,
    q: Query,
    accounts: Resource<Result<CustomerAccountPage, AppError>>,
) -> impl IntoView {
    let manage = me.may(OperatorAction::ManageAccounts);
    let filter = move |signal: RwSignal<bool>| {
        move |ev: leptos::ev::Event| {
            signal.set(event_target_checked(&ev));
            q.page.set(1);
        }
    };
    view! {
        <Title text="Customer accounts" />
        <div class="page-head">
            <h1>"Customer accounts"</h1>
            {manage.then(|| view! {
                <DialogOpener state=state page=CONSOLE_PATH name="create" dialog=() text="+ Create account" />
            })}
        </div>
        <Notice state=state />
        <SearchForm id="account-search" label="Search by company, an administrator's email or an invoice number" search=q.search page=q.page />
        <fieldset class="filters">
            <legend>"Show"</legend>
            <label>"Status "
                <select on:change=move |ev| { q.status.set(event_target_value(&ev)); q.page.set(1); }>
                    <option value="">"Any"</option>
                    {ALL_ACCOUNT_STATUSES.into_iter().map(|s| view! { <option value=s.code()>{s.label()}</option> }).collect_view()}
                </select>
            </label>
            <label><input type="checkbox" on:change=filter(q.past_due) />" Past due only"</label>
            <label><input type="checkbox" on:change=filter(q.no_card) />" No card on file only"</label>
            <label><input type="checkbox" on:change=filter(q.newest) />" Newest first"</label>
        </fieldset>
        <Transition fallback=|| view! { <p>"Loading accounts…"</p> }>
            {move || Suspend::new(async move {
                match accounts.await {
                    Err(e) => view! { <p role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(p) => {
                        let pages = p.matching.div_ceil(u64::from(p.per_page)).max(1) as u32;
                        let summary = format!("{} accounts in all; {} shown of {} matching.", p.total, p.accounts.len(), p.matching);
                        view! {
                            <p>{summary}</p>
                            <AccountTable accounts=p.accounts />
                            <Pager page=q.page current=p.page pages=pages label="Pages of accounts" />
                        }.into_any()
                    }
                }
            })}
        </Transition>
        <Modal open=state.dialog_open labelled_by="dialog-title" on_closed=state.after_dialog()>
            {move || state.dialog.get().map(|()| view! { <CreateAccountForm state=state /> })}
        </Modal>
    }
}

#[component]
fn AccountTable(accounts: Vec<CustomerAccountRow>) -> impl IntoView {
    let rows = accounts
        .into_iter()
        .map(|a| {
            let created = tally_core::billing::date_of_millis(a.created_at)
                .map(|d| d.to_string())
                .unwrap_or_default();
            let (estimate, revenue, due) = (
                a.money(a.estimate_cents).to_string(),
                a.money(a.monthly_revenue_cents).to_string(),
                a.money(a.amount_due_cents).to_string(),
            );
            view! {
                <tr>
                    <th scope="row"><a href=format!("{CONSOLE_PATH}/{}", a.id)>{a.name}</a></th>
                    <td data-label="Created">{created}</td>
                    <td data-label="Administrators">{a.administrators}</td>
                    <td data-label="Users">{a.users}</td>
                    <td data-label="Peak this month" class="number">{a.peak_this_month}</td>
                    <td data-label="This month's estimate" class="number">{estimate}</td>
                    <td data-label="Monthly revenue" class="number">{revenue}</td>
                    <td data-label="Amount due" class="number">{due}</td>
                    <td data-label="Card on file">{if a.card_on_file { "Yes" } else { "No" }}</td>
                    <td data-label="Status">{match (a.status, a.past_due) {
                        (AccountStatus::Active, true) => "Past due",
                        (s, _) => s.label(),
                    }}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-wrap stacked">
            <table>
                <caption class="visually-hidden">"Customer accounts"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Company"</th>
                        <th scope="col">"Created"</th>
                        <th scope="col">"Administrators"</th>
                        <th scope="col">"Users"</th>
                        <th scope="col">"Peak this month"</th>
                        <th scope="col">"This month's estimate"</th>
                        <th scope="col">"Monthly revenue"</th>
                        <th scope="col">"Amount due"</th>
                        <th scope="col">"Card on file"</th>
                        <th scope="col">"Status"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}

/// The roles an account's first administrator can have: someone must be able to pay.
fn billing_roles() -> Vec<(String, String)> {
    [
        Role::AdministratorWithBilling,
        Role::CommandRunnerWithBilling,
    ]
    .into_iter()
    .map(|r| (r.code().to_string(), r.display_name().to_string()))
    .collect()
}

/// "+ Create account": the company, its first administrator (invited by email) and its plan,
/// which starts as the seller's default.
#[component]
fn CreateAccountForm(state: AccountsState) -> impl IntoView {
    let default = Resource::new(|| (), |_| default_plan());
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                let plan = default.await.unwrap_or_default();
                view! { <CreateAccountFields state=state plan=plan /> }
            })}
        </Suspense>
    }
}

#[component]
fn CreateAccountFields(state: AccountsState, plan: PlanInput) -> impl IntoView {
    let fresh = fresh_check::use_fresh_check();
    let input = RwSignal::new(NewAccountInput::default());
    let plan = RwSignal::new(plan);
    let role = RwSignal::new(Role::AdministratorWithBilling.code().to_string());
    let errors = LiveErrors::new(move || {
        let mut e = input.with(|i| i.parse().err().unwrap_or_default());
        plan.with(|p| p.check(&mut e));
        e
    });
    if let Some(refusal) = errors.from_echo(CreateCustomerAccount::url()) {
        state.dialog_error.set(Some(refusal.to_string()));
    }
    let text = move |get: fn(&NewAccountInput) -> &String| {
        Signal::derive(move || input.with(|i| get(i).clone()))
    };
    let set = move |field: &'static str, put: fn(&mut NewAccountInput, String)| {
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
        let a = input.get_untracked();
        let (r, p) = (role.get_untracked(), plan.get_untracked());
        let done = format!(
            "{} is created; an invitation went to {}.",
            a.company_name.trim(),
            a.email.trim()
        );
        state.submit(done, errors, async move {
            fresh_check::run(fresh, || {
                let (a, r, p) = (a.clone(), r.clone(), p.clone());
                create_customer_account(
                    a.company_name,
                    a.first_name,
                    a.last_name,
                    a.email,
                    r,
                    p.currency,
                    p.price_per_user,
                    p.free_users,
                    p.billing_day,
                )
            })
            .await
            .map(|_| ())
        });
    };
    view! {
        <Form to=CreateCustomerAccount::url() class="form" on_submit=submit done=CONSOLE_PATH>
            <h2 id="dialog-title">"Create a customer account"</h2>
            <Field name="company_name" label="Company name" autocomplete="off" required=true value=text(|i| &i.company_name)
                error=errors.error("company_name") on_input=set("company_name", |i, v| i.company_name = v) on_blur=errors.touch("company_name") />
            <fieldset class="group">
                <legend>"Its first administrator, who is invited by email"</legend>
                <Field name="first_name" label="First name" autocomplete="off" required=true value=text(|i| &i.first_name)
                    error=errors.error("first_name") on_input=set("first_name", |i, v| i.first_name = v) on_blur=errors.touch("first_name") />
                <Field name="last_name" label="Last name" autocomplete="off" required=true value=text(|i| &i.last_name)
                    error=errors.error("last_name") on_input=set("last_name", |i, v| i.last_name = v) on_blur=errors.touch("last_name") />
                <Field name="email" label="Email" kind="email" autocomplete="off" required=true value=text(|i| &i.email)
                    error=errors.error("email") on_input=set("email", |i, v| i.email = v) on_blur=errors.touch("email") />
                <SelectField name="role" label="Role" options=billing_roles() value=role error=errors.error("role")
                    on_change=Callback::new(move |v: String| { role.set(v); errors.edited("role"); }) />
            </fieldset>
            <PlanFields plan=plan errors=errors />
            <DialogError state=state />
            <div class="dialog-buttons">
                <button type="submit" class="primary" disabled=move || state.busy.get()>"Create account"</button>
                <button type="button" on:click=move |_| state.dialog_open.set(false)>"Cancel"</button>
            </div>
        </Form>
    }
}
