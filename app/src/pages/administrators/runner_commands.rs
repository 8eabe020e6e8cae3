//! Binding an administrator to the commands they run, from their row.

use leptos::prelude::*;
use tally_core::views::{admins::AdminSummary, commands::CommandList};

use super::{full_name, AdminsState};
use crate::{components::list_page::DialogError, error::AppError};

/// The commands an administrator runs, bound and unbound from their row. For a billing-only
/// administrator the dialog says first that binding lets them run the command.
#[component]
pub(super) fn RunnerCommands(admin: AdminSummary, state: AdminsState) -> impl IntoView {
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
