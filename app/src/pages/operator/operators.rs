//! The seller's operators. Route: `/operator/operators`. Requires: Manage operators (the
//! Owner; the server checks again, and every change needs a fresh check). Server functions:
//! `list_operators`, `invite_operator`, `resend_operator_invitation`, `set_operator_role`,
//! `suspend_operator`, `reactivate_operator`, `reset_operator_two_step`.

use leptos::{prelude::*, server_fn::ServerFn};
use leptos_meta::Title;
use tally_core::{
    operators::{NewOperatorInput, OperatorAction, OperatorRole, ALL_OPERATOR_ROLES},
    roles::AdminStatus,
    views::operator::OperatorListRow,
};

use super::frame::OperatorSignedIn;
use crate::{
    api::staff::{
        invite_operator, list_operators, reactivate_operator, resend_operator_invitation,
        reset_operator_two_step, set_operator_role, suspend_operator, InviteOperator,
        SetOperatorRole, OPERATORS_PATH,
    },
    components::{
        dialog::Modal,
        field::{Field, SelectField},
        form::Form,
        fresh_check,
        list_page::{DialogError, DialogOpener, ListPage, Notice},
        live_errors::LiveErrors,
    },
};

/// A change that asks first.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Confirm {
    Suspend,
    Reactivate,
    ResetTwoStep,
}

#[derive(Clone, Debug, PartialEq)]
enum Dialog {
    Invite,
    Role(OperatorListRow),
    Confirm(OperatorListRow, Confirm),
}

type OperatorsState = ListPage<Dialog>;

#[component]
pub fn OperatorsPage() -> impl IntoView {
    let state = OperatorsState::new();
    state.open_if_asked("invite", Dialog::Invite);
    let operators = Resource::new(move || state.reload.get(), |_| list_operators());
    view! {
        <OperatorSignedIn action=OperatorAction::ManageOperators children=move |_| view! {
            <Title text="Operators" />
            <div class="page-head">
                <h1>"Operators"</h1>
                <DialogOpener state=state page=OPERATORS_PATH name="invite" dialog=Dialog::Invite text="+ Invite operator" />
            </div>
            <p>"The seller's staff who use this console. Each signs in with a password and a second step of their own."</p>
            <Notice state=state />
            <Transition fallback=|| view! { <p>"Loading operators…"</p> }>
                {move || Suspend::new(async move {
                    match operators.await {
                        Err(e) => view! { <p role="alert">{e.to_string()}</p> }.into_any(),
                        Ok(list) => view! { <OperatorTable list=list state=state /> }.into_any(),
                    }
                })}
            </Transition>
            <Modal open=state.dialog_open labelled_by="dialog-title" on_closed=state.after_dialog()>
                {move || match state.dialog.get() {
                    Some(Dialog::Invite) => view! { <InviteForm state=state /> }.into_any(),
                    Some(Dialog::Role(o)) => view! { <RoleForm operator=o state=state /> }.into_any(),
                    Some(Dialog::Confirm(o, c)) => view! { <ConfirmChange operator=o change=c state=state /> }.into_any(),
                    None => ().into_any(),
                }}
            </Modal>
        } />
    }
}

fn status_text(o: &OperatorListRow) -> String {
    let mut text = o.status.label().to_string();
    if o.status == AdminStatus::Invited {
        match o
            .invitation_expires_at
            .and_then(tally_core::billing::date_of_millis)
        {
            Some(d) => text.push_str(&format!(" · link valid until {d}")),
            None => text.push_str(" · link expired"),
        }
    } else if o.two_step {
        text.push_str(" · two-step on");
    } else if o.status == AdminStatus::Active {
        text.push_str(" · sets up two-step at next sign-in");
    }
    text
}

#[component]
fn OperatorTable(list: Vec<OperatorListRow>, state: OperatorsState) -> impl IntoView {
    let fresh = fresh_check::use_fresh_check();
    let rows = list
        .into_iter()
        .map(|o| {
            let name = o.name.clone();
            let last_seen = o
                .last_seen_at
                .and_then(tally_core::billing::date_of_millis)
                .map(|d| d.to_string())
                .unwrap_or_else(|| "Never".into());
            // "Change role of Rae Quinn", "Suspend Rae Quinn": the visible words first.
            let button = |label: &'static str, dialog: Dialog| {
                let aria = match dialog {
                    Dialog::Confirm(_, Confirm::Suspend | Confirm::Reactivate) => {
                        format!("{label} {name}")
                    }
                    _ => format!("{label} of {name}"),
                };
                view! {
                    <button type="button" class="link" aria-label=aria on:click=move |_| state.open(dialog.clone())>{label}</button>
                }
            };
            let actions = (!o.is_you).then(|| {
                let role = button("Change role", Dialog::Role(o.clone()));
                let standing = if o.status == AdminStatus::Suspended {
                    button("Reactivate", Dialog::Confirm(o.clone(), Confirm::Reactivate))
                } else {
                    button("Suspend", Dialog::Confirm(o.clone(), Confirm::Suspend))
                };
                let reset = o.two_step.then(|| button("Reset two-step verification", Dialog::Confirm(o.clone(), Confirm::ResetTwoStep)));
                let resend = (o.status == AdminStatus::Invited).then(|| {
                    let (id, name) = (o.id.clone(), name.clone());
                    let aria = format!("Resend invitation to {name}");
                    view! {
                        <button type="button" class="link" aria-label=aria on:click=move |_| {
                            let id = id.clone();
                            state.perform(
                                format!("A new invitation went to {name}."),
                                fresh_check::run(fresh, move || resend_operator_invitation(id.clone())),
                            );
                        }>"Resend invitation"</button>
                    }
                });
                view! { <div class="row-actions">{role}{standing}{reset}{resend}</div> }
            });
            view! {
                <tr>
                    <th scope="row">{o.name.clone()}{o.is_you.then_some(" (you)")}</th>
                    <td data-label="Email">{o.email.clone()}</td>
                    <td data-label="Role">{o.role.display_name()}</td>
                    <td data-label="Status">{status_text(&o)}</td>
                    <td data-label="Last active">{last_seen}</td>
                    <td data-label="Actions">{actions}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-wrap stacked">
            <table>
                <caption class="visually-hidden">"The seller's operators"</caption>
                <thead><tr>
                    <th scope="col">"Name"</th><th scope="col">"Email"</th><th scope="col">"Role"</th>
                    <th scope="col">"Status"</th><th scope="col">"Last active"</th><th scope="col">"Actions"</th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}

fn role_options() -> Vec<(String, String)> {
    let mut options = vec![(String::new(), "Choose a role…".to_string())];
    options.extend(ALL_OPERATOR_ROLES.into_iter().map(|r| {
        (
            r.code().to_string(),
            format!("{} — {}", r.display_name(), r.description()),
        )
    }));
    options
}

/// "+ Invite operator": their name, address and role; they are emailed a link.
#[component]
fn InviteForm(state: OperatorsState) -> impl IntoView {
    let fresh = fresh_check::use_fresh_check();
    let input = RwSignal::new(NewOperatorInput::default());
    let errors = LiveErrors::new(move || input.with(|i| i.parse().err().unwrap_or_default()));
    if let Some(refusal) = errors.from_echo(InviteOperator::url()) {
        state.dialog_error.set(Some(refusal.to_string()));
    }
    let text = move |get: fn(&NewOperatorInput) -> &String| {
        Signal::derive(move || input.with(|i| get(i).clone()))
    };
    let set = move |field: &'static str, put: fn(&mut NewOperatorInput, String)| {
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
        let i = input.get_untracked();
        let done = format!("An invitation went to {}.", i.email.trim());
        state.submit(done, errors, async move {
            fresh_check::run(fresh, || {
                let i = i.clone();
                invite_operator(i.first_name, i.last_name, i.email, i.role)
            })
            .await
            .map(|_| ())
        });
    };
    view! {
        <Form to=InviteOperator::url() class="form" on_submit=submit done=OPERATORS_PATH>
            <h2 id="dialog-title">"Invite an operator"</h2>
            <Field name="first_name" label="First name" autocomplete="off" required=true value=text(|i| &i.first_name)
                error=errors.error("first_name") on_input=set("first_name", |i, v| i.first_name = v) on_blur=errors.touch("first_name") />
            <Field name="last_name" label="Last name" autocomplete="off" required=true value=text(|i| &i.last_name)
                error=errors.error("last_name") on_input=set("last_name", |i, v| i.last_name = v) on_blur=errors.touch("last_name") />
            <Field name="email" label="Email" kind="email" autocomplete="off" required=true value=text(|i| &i.email)
                error=errors.error("email") on_input=set("email", |i, v| i.email = v) on_blur=errors.touch("email") />
            <SelectField name="role" label="Role" options=role_options() value=text(|i| &i.role) error=errors.error("role")
                on_change=set("role", |i, v| i.role = v) />
            <p class="field-hint">"They set a password from the emailed link (valid 72 hours), then set up two-step verification before anything else."</p>
            <DialogError state=state />
            <div class="dialog-buttons">
                <button type="submit" class="primary" disabled=move || state.busy.get()>"Send invitation"</button>
                <button type="button" on:click=move |_| state.dialog_open.set(false)>"Cancel"</button>
            </div>
        </Form>
    }
}

#[component]
fn RoleForm(operator: OperatorListRow, state: OperatorsState) -> impl IntoView {
    let fresh = fresh_check::use_fresh_check();
    let role = RwSignal::new(operator.role.code().to_string());
    let name = operator.name.clone();
    let title = format!("Change the role of {name}");
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let code = role.get_untracked();
        let label = OperatorRole::from_code(&code)
            .map(OperatorRole::display_name)
            .unwrap_or_default();
        let id = operator.id.clone();
        state.perform(
            format!("{name} is now {label}."),
            fresh_check::run(fresh, move || set_operator_role(id.clone(), code.clone())),
        );
    };
    view! {
        <Form to=SetOperatorRole::url() class="form" on_submit=submit live_only=true>
            <h2 id="dialog-title">{title}</h2>
            <SelectField name="role" label="Role" options=role_options() value=role error=Signal::derive(|| None::<String>)
                on_change=Callback::new(move |v: String| role.set(v)) />
            <DialogError state=state />
            <div class="dialog-buttons">
                <button type="submit" class="primary" disabled=move || state.busy.get()>"Save role"</button>
                <button type="button" on:click=move |_| state.dialog_open.set(false)>"Cancel"</button>
            </div>
        </Form>
    }
}

#[component]
fn ConfirmChange(
    operator: OperatorListRow,
    change: Confirm,
    state: OperatorsState,
) -> impl IntoView {
    let fresh = fresh_check::use_fresh_check();
    let name = operator.name.clone();
    let (question, explain, button, done) = match change {
        Confirm::Suspend => (
            format!("Suspend {name}?"),
            "They can no longer sign in, their sessions end and an unused invitation stops working. You can reactivate them later.",
            "Suspend",
            format!("{name} is suspended; they are emailed."),
        ),
        Confirm::Reactivate => (
            format!("Reactivate {name}?"),
            "They can sign in again with their password and second step.",
            "Reactivate",
            format!("{name} can sign in again; they are emailed."),
        ),
        Confirm::ResetTwoStep => (
            format!("Reset the two-step verification of {name}?"),
            "For someone who lost their device and asked: their authenticator app, passkeys and recovery codes stop working, their sessions end, and they set up a new second step at their next sign-in.",
            "Reset two-step verification",
            format!("{name}'s two-step verification is reset; they are emailed and set it up again at their next sign-in."),
        ),
    };
    let confirm = move |_| {
        let id = operator.id.clone();
        state.perform(
            done.clone(),
            fresh_check::run(fresh, move || {
                let id = id.clone();
                async move {
                    match change {
                        Confirm::Suspend => suspend_operator(id).await,
                        Confirm::Reactivate => reactivate_operator(id).await,
                        Confirm::ResetTwoStep => reset_operator_two_step(id).await,
                    }
                }
            }),
        );
    };
    let class = if change == Confirm::Reactivate {
        "primary"
    } else {
        "danger"
    };
    view! {
        <h2 id="dialog-title">{question}</h2>
        <p>{explain}</p>
        <DialogError state=state />
        <div class="dialog-buttons">
            <button type="button" class=class disabled=move || state.busy.get() on:click=confirm>{button}</button>
            <button type="button" autofocus on:click=move |_| state.dialog_open.set(false)>"Cancel"</button>
        </div>
    }
}
