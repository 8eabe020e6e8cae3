//! One customer account in the console. Route: `/operator/accounts/:id`. Requires: an operator
//! (any role); changing the plan needs Change plans (Finance, Owner), the standing Manage
//! accounts (Support, Owner), money actions Money actions (Finance, Owner; see [`super::money`]);
//! the server checks each again. Server functions: `get_customer_account`, `set_customer_plan`,
//! `suspend_customer_account`, `reactivate_customer_account`, `close_customer_account`.

use leptos::{prelude::*, server_fn::ServerFn};
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use tally_core::{
    account_status::AccountStatus,
    actor::OperatorActor,
    billing::{date_of_millis, plan_sentence},
    operators::OperatorAction,
    roles::AdminStatus,
    seller::PlanInput,
    views::{billing::PlanChange, operator::CustomerAccountDetail},
};

use super::{
    frame::OperatorSignedIn,
    money::{CreditNotes, Invoices},
};
use crate::{
    api::operator::{
        close_customer_account, get_customer_account, reactivate_customer_account,
        resend_account_invitation, reset_account_admin_two_step, set_customer_plan,
        suspend_customer_account, SetCustomerPlan, SuspendCustomerAccount, CONSOLE_PATH,
    },
    components::{
        field::Field, form::Form, fresh_check, live_errors::LiveErrors, plan_fields::PlanFields,
    },
    error::AppError,
};

fn next_text(n: &PlanChange) -> String {
    format!("From {}: {}.", n.from_month, plan_sentence(&n.plan()))
}

#[component]
pub fn CustomerAccountPage() -> impl IntoView {
    let params = use_params_map();
    let reload = RwSignal::new(0u32);
    let account = Resource::new(
        move || {
            (
                params.with(|p| p.get("id").unwrap_or_default()),
                reload.get(),
            )
        },
        |(id, _)| get_customer_account(id),
    );
    view! {
        <OperatorSignedIn children=move |me| view! { <AccountView me=me account=account reload=reload /> } />
    }
}

#[component]
fn AccountView(
    me: OperatorActor,
    account: Resource<Result<CustomerAccountDetail, AppError>>,
    reload: RwSignal<u32>,
) -> impl IntoView {
    let change_plans = me.may(OperatorAction::ChangePlans);
    let manage = me.may(OperatorAction::ManageAccounts);
    let money_actions = me.may(OperatorAction::MoneyActions);
    let help_admins = me.may(OperatorAction::ManageAccountAdministrators);
    // What an action said, kept outside the account's view: the reload that follows an action
    // draws the account's sections anew.
    let admin_notice = RwSignal::new(None::<String>);
    let money_notice = RwSignal::new(None::<String>);
    view! {
        <p><a href=CONSOLE_PATH>"← Customer accounts"</a></p>
        <Transition fallback=|| view! { <p>"Loading the account…"</p> }>
            {move || Suspend::new(async move {
                match account.await {
                    Err(e) => view! { <Title text="Customer account" /><h1>"Customer account"</h1><p role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(a) => view! {
                        <Summary a=a.clone() />
                        <StandingSection a=a.clone() manage=manage reload=reload />
                        <PlanSection a=a.clone() change=change_plans reload=reload />
                        <Administrators a=a.clone() help=help_admins reload=reload notice=admin_notice />
                        <UsersChart a=a.clone() />
                        <Invoices a=a.clone() act=money_actions reload=reload notice=money_notice />
                        <CreditNotes a=a.clone() />
                        <Charges a=a.clone() />
                        <AuditLog a=a />
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn Summary(a: CustomerAccountDetail) -> impl IntoView {
    let created = date_of_millis(a.created_at)
        .map(|d| d.to_string())
        .unwrap_or_default();
    let card = a.card.as_ref().map_or_else(
        || "None".to_string(),
        |c| format!("{} · expires {}", c.label(), c.expiry_label()),
    );
    view! {
        <Title text=a.name.clone() />
        <h1>{a.name.clone()}</h1>
        <section class="card" aria-labelledby="summary-title">
            <h2 id="summary-title">"Summary"</h2>
            <dl class="facts">
                <dt>"Status"</dt><dd id="account-status">{a.status.label()}{a.past_due.then_some(" · past due")}</dd>
                <dt>"Created"</dt><dd>{created}</dd>
                <dt>"Users now"</dt><dd>{a.users_now}</dd>
                <dt>"Card on file"</dt><dd>{card}</dd>
            </dl>
        </section>
    }
}

#[component]
fn PlanSection(a: CustomerAccountDetail, change: bool, reload: RwSignal<u32>) -> impl IntoView {
    let now = plan_sentence(&a.plan());
    let next = a.next_plan.as_ref().map(next_text);
    let start = a.next_plan.as_ref().map_or(a.plan(), PlanChange::plan);
    view! {
        <section class="card" aria-labelledby="plan-title">
            <h2 id="plan-title">"Plan"</h2>
            <p>"This month: "{now}"."</p>
            {next.map(|n| view! { <p id="next-plan">{n}</p> })}
            {change.then(|| view! { <ChangePlanForm id=a.id.clone() start=PlanInput::from(&start) reload=reload /> })}
        </section>
    }
}

/// The plan from next month on: this month is billed on the plan it began with.
#[component]
fn ChangePlanForm(id: String, start: PlanInput, reload: RwSignal<u32>) -> impl IntoView {
    let fresh = fresh_check::use_fresh_check();
    let plan = RwSignal::new(start);
    let errors = LiveErrors::new(move || plan.with(|p| p.parse().err().unwrap_or_default()));
    let notice = RwSignal::new(None::<Result<String, String>>);
    let busy = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !errors.submit() || busy.get_untracked() {
            return;
        }
        busy.set(true);
        let (id, p) = (id.clone(), plan.get_untracked());
        leptos::task::spawn_local(async move {
            let result = fresh_check::run(fresh, || {
                set_customer_plan(
                    id.clone(),
                    p.currency.clone(),
                    p.price_per_user.clone(),
                    p.free_users.clone(),
                    p.billing_day.clone(),
                )
            })
            .await;
            busy.set(false);
            match result {
                Ok(change) => {
                    notice.set(Some(Ok(format!("The plan is set. {}", next_text(&change)))));
                    reload.update(|n| *n += 1);
                }
                Err(AppError::Validation(fields)) => errors.set_server(fields),
                Err(e) => notice.set(Some(Err(e.to_string()))),
            }
        });
    };
    view! {
        <h3>"Change the plan from next month"</h3>
        <p class="notice" role="status" class:notice-error=move || matches!(notice.get(), Some(Err(_)))>
            {move || notice.get().map(|n| n.unwrap_or_else(|e| e))}
        </p>
        <Form to=SetCustomerPlan::url() class="form" on_submit=submit live_only=true>
            <PlanFields plan=plan errors=errors />
            <button type="submit" class="primary" disabled=move || busy.get()>"Save the plan"</button>
        </Form>
    }
}

/// Suspending, reactivating and closing, for those who manage accounts.
#[component]
fn StandingSection(a: CustomerAccountDetail, manage: bool, reload: RwSignal<u32>) -> impl IntoView {
    let fresh = fresh_check::use_fresh_check();
    let reason = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let closing = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let status = a.status;
    let id = StoredValue::new(a.id.clone());
    let act = move |which: &'static str| {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        error.set(None);
        let (id, why) = (id.get_value(), reason.get_untracked());
        leptos::task::spawn_local(async move {
            let result = fresh_check::run(fresh, || {
                let (id, why) = (id.clone(), why.clone());
                async move {
                    match which {
                        "suspend" => suspend_customer_account(id, why).await,
                        "close" => close_customer_account(id, why).await,
                        _ => reactivate_customer_account(id).await,
                    }
                }
            })
            .await;
            busy.set(false);
            match result {
                Ok(()) => reload.update(|n| *n += 1),
                Err(e) => error.set(Some(
                    e.field_errors()
                        .and_then(|f| f.get("reason"))
                        .map_or_else(|| e.to_string(), str::to_string),
                )),
            }
        });
    };
    let why = a
        .status_reason
        .clone()
        .map(|r| view! { <p>"Reason: "{r}</p> });
    let controls = (manage && status != AccountStatus::Closed).then(|| view! {
        <Form to=SuspendCustomerAccount::url() class="form" on_submit=|ev: leptos::ev::SubmitEvent| ev.prevent_default() live_only=true>
            <Field name="reason" label="Reason (shown to the account's administrators)" autocomplete="off"
                value=Signal::derive(move || reason.get()) error=Signal::derive(move || error.get())
                on_input=Callback::new(move |v| { reason.set(v); error.set(None); }) />
            <div class="actions">
                {(status == AccountStatus::Active).then(|| view! {
                    <button type="button" disabled=move || busy.get() on:click=move |_| act("suspend")>"Suspend account"</button>
                })}
                {(status == AccountStatus::Suspended).then(|| view! {
                    <button type="button" class="primary" disabled=move || busy.get() on:click=move |_| act("reactivate")>"Reactivate account"</button>
                })}
                <button type="button" class="danger" on:click=move |_| closing.set(true)>"Close account…"</button>
            </div>
            <Show when=move || closing.get()>
                <p role="alert">"Closing bills this month so far, at once, and nothing after; the account stays readable, and can't be reopened."</p>
                <button type="button" class="danger" disabled=move || busy.get() on:click=move |_| act("close")>"Close account for good"</button>
            </Show>
        </Form>
    });
    view! {
        <section class="card" aria-labelledby="standing-title">
            <h2 id="standing-title">"Standing"</h2>
            <p>{match status {
                AccountStatus::Active => "Active: everything works, and it is charged each month.",
                AccountStatus::Suspended => "Suspended: its administrators can only pay what is due; nothing is charged.",
                AccountStatus::Closed => "Closed: billed a last time, read-only.",
            }}</p>
            {why}
            {controls}
        </section>
    }
}

/// The account's administrators; those who help them (Owner, Support) can send an invitation
/// again, or reset a locked-out administrator's two-step verification on request.
#[component]
fn Administrators(
    a: CustomerAccountDetail,
    help: bool,
    reload: RwSignal<u32>,
    notice: RwSignal<Option<String>>,
) -> impl IntoView {
    let fresh = fresh_check::use_fresh_check();
    let confirming = RwSignal::new(None::<String>);
    let account = StoredValue::new(a.id.clone());
    let act = move |admin: String, name: String, reset: bool| {
        leptos::task::spawn_local(async move {
            let account = account.get_value();
            let result = fresh_check::run(fresh, || {
                let (account, admin) = (account.clone(), admin.clone());
                async move {
                    if reset {
                        reset_account_admin_two_step(account, admin).await
                    } else {
                        resend_account_invitation(account, admin).await
                    }
                }
            })
            .await;
            confirming.set(None);
            notice.set(Some(match result {
                Ok(()) if reset => {
                    format!("{name}'s two-step verification is reset; they are emailed.")
                }
                Ok(()) => format!("A new invitation went to {name}."),
                Err(e) => e.to_string(),
            }));
            reload.update(|n| *n += 1);
        });
    };
    let rows = a
        .administrators
        .into_iter()
        .map(|ad| {
            let invited = ad.status == AdminStatus::Invited;
            let (id, name) = (ad.id.clone(), ad.name.clone());
            let buttons = help.then(|| {
                let resend = invited.then(|| {
                    let (id, name) = (id.clone(), name.clone());
                    view! {
                        <button type="button" class="link" aria-label=format!("Resend invitation to {name}")
                            on:click=move |_| act(id.clone(), name.clone(), false)>"Resend invitation"</button>
                    }
                });
                let reset = ad.two_step.then(|| {
                    let (id, name) = (id.clone(), name.clone());
                    let shown = id.clone();
                    let (id2, name2) = (id.clone(), name.clone());
                    view! {
                        <button type="button" class="link" aria-label=format!("Reset two-step verification of {name}")
                            on:click=move |_| confirming.set(Some(id.clone()))>"Reset two-step verification"</button>
                        <Show when=move || confirming.get().as_deref() == Some(shown.as_str())>
                            {let (id, name) = (id2.clone(), name2.clone());
                            view! {
                                <button type="button" class="danger" on:click=move |_| act(id.clone(), name.clone(), true)>
                                    {format!("Reset it: {name} asked")}
                                </button>
                            }}
                        </Show>
                    }
                });
                view! { <div class="row-actions">{resend}{reset}</div> }
            });
            view! {
                <tr>
                    <th scope="row">{ad.name}</th>
                    <td data-label="Email">{ad.email}</td>
                    <td data-label="Role">{ad.role.display_name()}</td>
                    <td data-label="Status">{ad.status.label()}{ad.two_step.then_some(" · two-step on")}</td>
                    {help.then(|| view! { <td data-label="Actions">{buttons}</td> })}
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="card" aria-labelledby="admins-title">
            <h2 id="admins-title">"Administrators"</h2>
            <p class="notice" role="status">{move || notice.get()}</p>
            <div class="table-wrap stacked">
                <table>
                    <caption class="visually-hidden">"The account's administrators"</caption>
                    <thead><tr>
                        <th scope="col">"Name"</th><th scope="col">"Email"</th><th scope="col">"Role"</th><th scope="col">"Status"</th>
                        {help.then(|| view! { <th scope="col">"Actions"</th> })}
                    </tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        </section>
    }
}

/// This month's users day by day, drawn by the server, with the table a screen reader reads.
#[component]
fn UsersChart(a: CustomerAccountDetail) -> impl IntoView {
    let days = a
        .daily_peaks
        .iter()
        .enumerate()
        .map(|(i, users)| view! { <tr><th scope="row">{i + 1}</th><td class="number">{*users}</td></tr> })
        .collect_view();
    view! {
        <section class="card" aria-labelledby="users-chart-title">
            <h2 id="users-chart-title">"Users this month, day by day"</h2>
            <p class="chart-key">{format!("The first {} users are free.", a.free_users)}</p>
            <div class="chart-box" id="users-chart" inner_html=a.month_chart.clone()></div>
            <table class="visually-hidden">
                <caption>"Largest number of users each day of this month so far"</caption>
                <thead><tr><th scope="col">"Day"</th><th scope="col">"Users"</th></tr></thead>
                <tbody>{days}</tbody>
            </table>
        </section>
    }
}

/// The newest charge attempts, with the processor's ids to look them up there.
#[component]
fn Charges(a: CustomerAccountDetail) -> impl IntoView {
    if a.charges.is_empty() {
        return view! {
            <section class="card" aria-labelledby="charges-title">
                <h2 id="charges-title">"Charges"</h2>
                <p>"None yet."</p>
            </section>
        }
        .into_any();
    }
    let rows = a
        .charges
        .into_iter()
        .map(|c| {
            let at = date_of_millis(c.at).map(|d| d.to_string()).unwrap_or_default();
            view! {
                <tr>
                    <th scope="row">{at}</th>
                    <td data-label="Invoice">{c.invoice_number}" · attempt "{c.attempt}</td>
                    <td data-label="Outcome">{c.outcome}{(!c.message.is_empty()).then(|| format!(": {}", c.message))}</td>
                    <td data-label="Processor's id"><code>{c.processor_id.unwrap_or_default()}</code></td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="card" aria-labelledby="charges-title">
            <h2 id="charges-title">"Charges"</h2>
            <div class="table-wrap stacked">
                <table>
                    <caption class="visually-hidden">"The account's latest charge attempts, newest first"</caption>
                    <thead><tr><th scope="col">"Date"</th><th scope="col">"Invoice"</th><th scope="col">"Outcome"</th><th scope="col">"Processor's id"</th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        </section>
    }
    .into_any()
}

/// The account's latest audit events; the seller's staff's say so.
#[component]
fn AuditLog(a: CustomerAccountDetail) -> impl IntoView {
    let rows = a
        .audit
        .into_iter()
        .map(|e| {
            view! {
                <tr>
                    <th scope="row">{e.at}</th>
                    <td data-label="Event">{e.kind}</td>
                    <td data-label="By">{e.actor}</td>
                    <td data-label="Detail">{e.target}" "{e.detail}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="card" aria-labelledby="audit-title">
            <h2 id="audit-title">"Latest activity"</h2>
            <div class="table-wrap stacked">
                <table>
                    <caption class="visually-hidden">"The account's latest audit events, newest first"</caption>
                    <thead><tr><th scope="col">"When (UTC)"</th><th scope="col">"Event"</th><th scope="col">"By"</th><th scope="col">"Detail"</th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        </section>
    }
}
