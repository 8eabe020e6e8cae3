//! Who runs a command: its runners, each with Unbind, and a form to bind another.

use leptos::{prelude::*, server_fn::ServerFn};
use tally_core::views::commands::{Candidate, CommandSummary};

use super::{CommandDialog, CommandsState};
use crate::{
    api::commands::{bind_runner, unbind_runner, BindRunner},
    components::form::Form,
};

#[component]
pub(super) fn Runners(
    command: CommandSummary,
    candidates: Vec<Candidate>,
    state: CommandsState,
) -> impl IntoView {
    let runners = command.runners.clone();
    let unbound: Vec<Candidate> = candidates
        .into_iter()
        .filter(|c| !runners.iter().any(|r| r.admin_id == c.admin_id))
        .collect();
    let bind_select = RwSignal::new(String::new());
    let bind = {
        let command = command.clone();
        let unbound = unbound.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let Some(who) = unbound
                .iter()
                .find(|c| c.admin_id == bind_select.get_untracked())
                .cloned()
            else {
                return;
            };
            if who.billing_only {
                state.open(CommandDialog::ConfirmBind(command.clone(), who));
            } else {
                state.perform(
                    format!("{} can run “{}” now.", who.name, command.name),
                    bind_runner(command.id.clone(), who.admin_id, false),
                );
            }
        }
    };
    let select_id = format!("bind-{}", command.id);
    let cmd = command;
    view! {
        <h3>"Runners"</h3>
        <p class="field-hint">"An administrator whose role changes to one that runs no commands is unbound from every command; the audit log lists each."</p>
        {if runners.is_empty() { view! { <p>"Nobody is bound to this command yet."</p> }.into_any() } else {
            view! { <ul class="runners">{runners.into_iter().map(|r| {
                let (cid, aid, name, cname) = (cmd.id.clone(), r.admin_id.clone(), r.name.clone(), cmd.name.clone());
                view! { <li>{r.name.clone()}" ("{r.email.clone()}") "
                    <button type="button" class="link-button" aria-label=format!("Unbind {} from {}", r.name, cmd.name)
                        on:click=move |_| state.perform(format!("{name} no longer runs “{cname}”."), unbind_runner(cid.clone(), aid.clone()))>"Unbind"</button>
                </li> }
            }).collect_view()}</ul> }.into_any()
        }}
        {(!unbound.is_empty()).then(|| {
            let mut options = vec![(String::new(), "Choose an administrator".to_string())];
            options.extend(unbound.iter().map(|c| (c.admin_id.clone(), format!("{} ({}){}", c.name, c.role.display_name(), if c.billing_only { ", billing only" } else { "" }))));
            view! {
                <Form to=BindRunner::url() class="filters" on_submit=bind live_only=true>
                    <div class="field">
                        <label for=select_id.clone()>"Bind a runner"</label>
                        <select id=select_id on:change=move |ev| bind_select.set(event_target_value(&ev))>
                            {options.into_iter().map(|(v, t)| view! { <option value=v>{t}</option> }).collect_view()}
                        </select>
                    </div>
                    <button type="submit">"Bind"</button>
                </Form>
            }
        })}
    }
}
