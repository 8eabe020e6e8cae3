//! The menu of actions on another administrator's row.

use leptos::prelude::*;
use tally_core::{
    roles::{Action, AdminStatus},
    views::admins::AdminSummary,
};

use super::{full_name, AdminDialog, AdminsState};
use crate::{
    api::admins::{resend_invitation, suspend_admin, unsuspend_admin},
    components::{
        fresh_check,
        menu::{MenuButton, MenuEntry},
    },
};

/// The buttons on another administrator's row. Each names its administrator for screen
/// readers, since a column of "Suspend" buttons says nothing on its own.
#[component]
pub(super) fn RowActions(admin: AdminSummary, state: AdminsState) -> impl IntoView {
    let fresh = fresh_check::use_fresh_check();
    let name = full_name(&admin);
    let id = admin.id.clone();
    let open = move |dialog: AdminDialog| Callback::new(move |_| state.open(dialog.clone()));
    let mut items = vec![MenuEntry::action(
        "Change role",
        format!("Change role of {name}"),
        open(AdminDialog::ChangeRole(admin.clone())),
    )];
    if tally_core::roles::allows(admin.role, Action::RunBoundCommands) {
        items.push(MenuEntry::action(
            "Commands",
            format!("Commands {name} runs"),
            open(AdminDialog::Commands(admin.clone())),
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
            open(AdminDialog::ResetTwoStep(admin.clone())),
        ));
    }
    items.push(MenuEntry::danger(
        "Delete",
        format!("Delete {name}"),
        open(AdminDialog::Delete(admin.clone())),
    ));
    view! {
        <MenuButton id=format!("admin-actions-{id}") text="Actions".to_string()
            name=format!("Actions for {name}") items=items class="row-menu" />
    }
}
