//! The dialogs that create an administrator, change one's role, reset their two-step
//! verification or delete them.

use leptos::{prelude::*, server_fn::ServerFn};
use tally_core::{
    forms::NewAdminInput,
    roles::{Role, ALL_ROLES},
    views::admins::AdminSummary,
};

use super::{full_name, AdminsState};
use crate::{
    api::admins::{
        create_admin, delete_admin, reset_two_step, set_admin_role, CreateAdmin, SetAdminRole,
    },
    components::{
        field::{keep_typed, Field},
        form::{echoed_value, Form},
        fresh_check,
        list_page::DialogError,
        live_errors::LiveErrors,
    },
};

/// The role picker: one radio per role, each with its one-line description.
#[component]
pub(super) fn RolePicker(
    selected: RwSignal<String>,
    #[prop(into)] error: Signal<Option<String>>,
    /// Runs with the role's code when one is chosen.
    on_change: Callback<String>,
) -> impl IntoView {
    let options = ALL_ROLES
        .into_iter()
        .map(|role: Role| {
            let code = role.code();
            let id = format!("role-{code}");
            let desc_id = format!("{id}-desc");
            // Checked as drawn; once live, a choice made before is kept (see `keep_typed`).
            let drawn = echoed_value("role").unwrap_or_else(|| selected.get_untracked()) == code;
            let node = NodeRef::<leptos::html::Input>::new();
            let choose = Callback::new(move |_: String| {
                selected.set(code.to_string());
                on_change.run(code.to_string());
            });
            keep_typed(
                node,
                Signal::derive(move || if selected.get() == code { "on".into() } else { String::new() }),
                |el| if el.checked() { "on".into() } else { String::new() },
                |el, v| el.set_checked(v == "on"),
                Some(Callback::new(move |v: String| if v == "on" { choose.run(v) })),
            );
            view! {
                <div class="radio-option">
                    <input type="radio" name="role" id=id.clone() value=code aria-describedby=desc_id.clone()
                        checked=drawn node_ref=node on:change=move |_| choose.run(String::new()) />
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
pub(super) fn CreateAdminForm(state: AdminsState) -> impl IntoView {
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
    let typed = move |signal: RwSignal<String>, field: &'static str| errors.typed(signal, field);
    if let Some(refusal) = errors.from_echo(CreateAdmin::url()) {
        state.dialog_error.set(Some(refusal.to_string()));
    }
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
        <Form to=CreateAdmin::url() class="form" on_submit=submit done="/administrators">
            <h2 id="dialog-title">"Create an administrator"</h2>
            <p>"They get an email with a link to set their password. The link works once and expires in 72 hours."</p>
            <Field name="first_name" label="First name" autocomplete="off" required=true value=first_name
                error=errors.error("first_name") on_input=typed(first_name, "first_name") on_blur=errors.touch("first_name") />
            <Field name="last_name" label="Last name" autocomplete="off" required=true value=last_name
                error=errors.error("last_name") on_input=typed(last_name, "last_name") on_blur=errors.touch("last_name") />
            <Field name="email" label="Email" kind="email" autocomplete="off" required=true value=email
                error=errors.error("email") on_input=typed(email, "email") on_blur=errors.touch("email") />
            <RolePicker selected=role error=errors.error("role") on_change=Callback::new(move |code: String| errors.changed("role", &code)) />
            <DialogError state=state />
            <div class="dialog-buttons">
                <button type="submit" class="primary" disabled=move || state.busy.get()>"Send invitation"</button>
                <button type="button" on:click=move |_| state.dialog_open.set(false)>"Cancel"</button>
            </div>
        </Form>
    }
}

#[component]
pub(super) fn ChangeRoleForm(admin: AdminSummary, state: AdminsState) -> impl IntoView {
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
        <Form to=SetAdminRole::url() class="form" on_submit=submit live_only=true>
            <h2 id="dialog-title">{title}</h2>
            <RolePicker selected=role error=Signal::derive(|| None::<String>) on_change=Callback::new(|_| ()) />
            <DialogError state=state />
            <div class="dialog-buttons">
                <button type="submit" class="primary" disabled=move || state.busy.get()>"Save role"</button>
                <button type="button" on:click=move |_| state.dialog_open.set(false)>"Cancel"</button>
            </div>
        </Form>
    }
}

#[component]
pub(super) fn ResetTwoStepConfirm(admin: AdminSummary, state: AdminsState) -> impl IntoView {
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
pub(super) fn DeleteConfirm(admin: AdminSummary, state: AdminsState) -> impl IntoView {
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
