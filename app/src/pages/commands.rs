//! Saved commands. Route: `/commands`. Requires: Manage commands (all commands, edit, bind
//! runners) or Run bound commands (only the commands bound to you, and Run).
//! Server functions: `list_commands`, `create_command`, `update_command`, `delete_command`,
//! `bind_runner`, `unbind_runner`, `run_command`, `list_runs`.

mod run_history;
mod runners;

use leptos::{prelude::*, server_fn::ServerFn};
use leptos_meta::Title;
use tally_core::{
    forms::{NewCommandInput, Shell},
    views::commands::{Candidate, CommandList, CommandSummary},
};

use crate::{
    api::commands::{
        bind_runner, create_command, delete_command, list_commands, run_command, update_command,
        CreateCommand, UpdateCommand,
    },
    components::{
        dialog::Modal,
        field::{keep_typed, Field, SelectField},
        form::{echoed_value, Form},
        layout::SignedIn,
        list_page::{DialogError, DialogOpener, ListPage, Notice},
        live_errors::LiveErrors,
    },
    error::AppError,
};
use run_history::{RunHistory, RunTable};
use runners::Runners;

#[component]
pub fn CommandsPage() -> impl IntoView {
    // Loaded outside the sign-in check's <Suspense>, which would create (and fetch) it again on
    // each of its passes; see AdministratorsPage.
    let state = CommandsState::new();
    state.open_if_asked("add", CommandDialog::Add);
    let list = Resource::new(move || state.reload.get(), |_| list_commands());
    view! { <SignedIn children=move |_| view! { <Commands state=state list=list /> } /> }
}

#[derive(Clone, Debug, PartialEq)]
pub(super) enum CommandDialog {
    Add,
    Edit(CommandSummary),
    Delete(CommandSummary),
    /// Binding a billing-only administrator: say what it means first.
    ConfirmBind(CommandSummary, Candidate),
}

pub(super) type CommandsState = ListPage<CommandDialog>;

#[component]
fn Commands(state: CommandsState, list: Resource<Result<CommandList, AppError>>) -> impl IntoView {
    view! {
        <Title text="Commands" />
        <Transition fallback=|| view! { <h1>"Commands"</h1><p>"Loading commands…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Err(AppError::Forbidden) => view! { <crate::components::layout::NoAccess /> }.into_any(),
                    Err(e) => view! { <h1>"Commands"</h1><p role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(l) => {
                        let manage = l.manage;
                        let candidates = l.candidates.clone();
                        view! {
                            <div class="page-head">
                                <h1>"Commands"</h1>
                                {manage.then(|| view! {
                                    <DialogOpener state=state page="/commands" name="add" dialog=CommandDialog::Add text="+ Add command" />
                                })}
                            </div>
                            <Notice state=state />
                            {if l.commands.is_empty() {
                                view! { <p>{if manage { "No commands yet." } else { "No commands are bound to you. An administrator can bind you to a command; then it appears here." }}</p> }.into_any()
                            } else {
                                l.commands.into_iter().map(|c| view! {
                                    <CommandCard command=c manage=manage candidates=candidates.clone() state=state />
                                }).collect_view().into_any()
                            }}
                        }.into_any()
                    }
                }
            })}
        </Transition>
        <Modal open=state.dialog_open labelled_by="dialog-title" on_closed=state.after_dialog()>
            {move || match state.dialog.get() {
                Some(CommandDialog::Add) => view! { <CommandForm state=state command=None /> }.into_any(),
                Some(CommandDialog::Edit(c)) => view! { <CommandForm state=state command=Some(c) /> }.into_any(),
                Some(CommandDialog::Delete(c)) => view! { <DeleteCommand state=state command=c /> }.into_any(),
                Some(CommandDialog::ConfirmBind(c, who)) => view! { <ConfirmBind state=state command=c who=who /> }.into_any(),
                None => ().into_any(),
            }}
        </Modal>
    }
}

#[component]
fn CommandCard(
    command: CommandSummary,
    manage: bool,
    candidates: Vec<Candidate>,
    state: CommandsState,
) -> impl IntoView {
    let heading_id = format!("command-{}", command.id);
    let labelled_by = heading_id.clone();
    let history = RunHistory::new(command.id.clone());
    let run = {
        let (id, name) = (command.id.clone(), command.name.clone());
        move |_| {
            let (id, name) = (id.clone(), name.clone());
            state.busy.set(true);
            leptos::task::spawn_local(async move {
                let result = run_command(id).await;
                state.busy.set(false);
                match result {
                    Ok(_) => {
                        state
                            .notice
                            .set(Some(Ok(format!("“{name}” is queued to run."))));
                        history.first_page();
                    }
                    Err(e) => state.notice.set(Some(Err(e.to_string()))),
                }
                state.focus_notice();
            });
        }
    };
    let (for_edit, for_delete) = (command.clone(), command.clone());
    view! {
        <section class="card command" aria-labelledby=labelled_by>
            <div class="page-head">
                <h2 id=heading_id>{command.name.clone()}</h2>
                <div class="row-actions">
                    {command.bound_to_me.then(|| view! {
                        <button type="button" class="primary" disabled=move || state.busy.get() on:click=run.clone()>"Run"</button>
                    })}
                    {manage.then(|| view! {
                        <button type="button" on:click=move |_| state.open(CommandDialog::Edit(for_edit.clone()))>"Edit"</button>
                        <button type="button" class="danger" on:click=move |_| state.open(CommandDialog::Delete(for_delete.clone()))>"Delete"</button>
                    })}
                </div>
            </div>
            <p class="field-hint">{command.shell.display_name()}{command.description.clone().map(|d| format!(" · {d}"))}</p>
            <pre class="script"><code>{command.script.clone()}</code></pre>
            {manage.then(|| view! { <Runners command=command.clone() candidates=candidates state=state /> })}
            <h3>"Run history"</h3>
            <RunTable history=history />
        </section>
    }
}

#[component]
fn CommandForm(state: CommandsState, command: Option<CommandSummary>) -> impl IntoView {
    let input = RwSignal::new(match &command {
        Some(c) => NewCommandInput {
            name: c.name.clone(),
            shell: c.shell.code().to_string(),
            script: c.script.clone(),
            description: c.description.clone().unwrap_or_default(),
        },
        None => NewCommandInput {
            shell: Shell::Bash.code().into(),
            ..Default::default()
        },
    });
    let errors = LiveErrors::new(move || input.with(|i| i.parse().err().unwrap_or_default()));
    let id = command.as_ref().map(|c| c.id.clone());
    let title = match &command {
        Some(c) => format!("Edit “{}”", c.name),
        None => "Add a command".to_string(),
    };
    let text = move |get: fn(&NewCommandInput) -> &String| {
        Signal::derive(move || input.with(|i| get(i).clone()))
    };
    let set = move |field: &'static str, put: fn(&mut NewCommandInput, String)| {
        Callback::new(move |v: String| {
            errors.changed(field, &v);
            input.update(|i| put(i, v));
        })
    };
    let to = if id.is_some() {
        UpdateCommand::url()
    } else {
        CreateCommand::url()
    };
    if let Some(refusal) = errors.from_echo(to) {
        state.dialog_error.set(Some(refusal.to_string()));
    }
    let id_field = id.clone();
    let script = NodeRef::<leptos::html::Textarea>::new();
    let drawn_script =
        echoed_value("script").unwrap_or_else(|| input.with_untracked(|i| i.script.clone()));
    keep_typed(
        script,
        text(|i| &i.script),
        |el| el.value(),
        |el, v| el.set_value(v),
        Some(set("script", |i, v| i.script = v)),
    );
    let shells: Vec<(String, String)> = Shell::ALL
        .iter()
        .map(|s| (s.code().to_string(), s.display_name().to_string()))
        .collect();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !errors.submit() {
            return;
        }
        let c = input.get_untracked();
        let id = id.clone();
        let done = format!("“{}” is saved.", c.name.trim());
        state.submit(done, errors, async move {
            match id {
                Some(id) => update_command(id, c.name, c.shell, c.script, c.description).await,
                None => create_command(c.name, c.shell, c.script, c.description)
                    .await
                    .map(|_| ()),
            }
        });
    };
    view! {
        <Form to=to class="form" on_submit=submit done="/commands">
            <h2 id="dialog-title">{title}</h2>
            {id_field.map(|id| view! { <input type="hidden" name="id" value=id /> })}
            <Field name="name" label="Name" autocomplete="off" required=true value=text(|i| &i.name)
                error=errors.error("name") on_input=set("name", |i, v| i.name = v) on_blur=errors.touch("name") />
            <SelectField name="shell" label="Shell" options=shells value=text(|i| &i.shell) error=errors.error("shell")
                on_change=set("shell", |i, v| i.shell = v) />
            <div class="field" class:field-invalid=move || errors.error("script").get().is_some()>
                <label for="script">"Script"</label>
                <textarea id="script" name="script" rows="8" spellcheck="false" class="script" node_ref=script
                    aria-invalid=move || errors.error("script").get().is_some().then_some("true")
                    aria-describedby="script-error"
                    on:input=move |ev| { let v = event_target_value(&ev); errors.changed("script", &v); input.update(|i| i.script = v); }
                    on:blur=move |_| errors.touch("script").run(())>{drawn_script}</textarea>
                <p class="field-error" id="script-error" aria-live="polite">{move || errors.error("script").get()}</p>
            </div>
            <Field name="description" label="Description (optional)" value=text(|i| &i.description)
                error=errors.error("description") on_input=set("description", |i, v| i.description = v) on_blur=errors.touch("description") />
            <DialogError state=state />
            <div class="dialog-buttons">
                <button type="submit" class="primary" disabled=move || state.busy.get()>"Save command"</button>
                <button type="button" on:click=move |_| state.dialog_open.set(false)>"Cancel"</button>
            </div>
        </Form>
    }
}

#[component]
fn DeleteCommand(state: CommandsState, command: CommandSummary) -> impl IntoView {
    let question = format!("Delete “{}”?", command.name);
    let done = format!("“{}” is deleted.", command.name);
    let confirm = move |_| state.perform(done.clone(), delete_command(command.id.clone()));
    view! {
        <h2 id="dialog-title">{question}</h2>
        <p>"Its runners and run history go with it; the audit log keeps what happened. This can't be undone."</p>
        <DialogError state=state />
        <div class="dialog-buttons">
            <button type="button" class="danger" disabled=move || state.busy.get() on:click=confirm>"Delete command"</button>
            <button type="button" autofocus on:click=move |_| state.dialog_open.set(false)>"Cancel"</button>
        </div>
    }
}

#[component]
fn ConfirmBind(state: CommandsState, command: CommandSummary, who: Candidate) -> impl IntoView {
    let title = format!("Bind {} to “{}”?", who.name, command.name);
    let done = format!("{} can run “{}” now.", who.name, command.name);
    let explain = format!(
        "{} is a billing-only administrator (Command Runner With Billing, bound to no command). Once bound, they will be able to run “{}”, and they will no longer be billing only.",
        who.name, command.name
    );
    let confirm = move |_| {
        state.perform(
            done.clone(),
            bind_runner(command.id.clone(), who.admin_id.clone(), true),
        )
    };
    view! {
        <h2 id="dialog-title">{title}</h2>
        <p>{explain}</p>
        <DialogError state=state />
        <div class="dialog-buttons">
            <button type="button" class="primary" disabled=move || state.busy.get() on:click=confirm>"Bind and allow running"</button>
            <button type="button" autofocus on:click=move |_| state.dialog_open.set(false)>"Cancel"</button>
        </div>
    }
}
