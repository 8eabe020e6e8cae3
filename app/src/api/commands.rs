//! Saved commands, their runners and their run history. Manage commands sees and changes all
//! of them and binds runners; a role that runs bound commands sees and runs only the commands
//! bound to it — the server checks the binding, not only the role.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
#[cfg(feature = "ssr")]
use tally_core::{forms::NewCommandInput, roles::Action};
use tally_core::{forms::Shell, roles::Role};

use crate::error::AppError;

/// Runs shown per page of a command's history.
pub const RUNS_PER_PAGE: u32 = 20;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Runner {
    pub admin_id: String,
    pub name: String,
    pub email: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandSummary {
    pub id: String,
    pub name: String,
    pub shell: Shell,
    pub script: String,
    pub description: Option<String>,
    pub runners: Vec<Runner>,
    /// The signed-in administrator is bound to it, so may run it.
    pub bound_to_me: bool,
}

/// An administrator who could be bound as a runner.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    pub admin_id: String,
    pub name: String,
    pub email: String,
    pub role: Role,
    /// A Command Runner With Billing bound to nothing yet: binding them lets them run it.
    pub billing_only: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandList {
    pub commands: Vec<CommandSummary>,
    /// The caller manages commands (sees all, edits, binds).
    pub manage: bool,
    /// Who may be bound (only for those who manage).
    pub candidates: Vec<Candidate>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    pub id: String,
    pub admin_email: String,
    /// UTC milliseconds.
    pub at: i64,
    pub status: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunPage {
    pub runs: Vec<RunRecord>,
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
}

/// The commands the caller may see: all of them (Manage commands) or those bound to them.
#[server(endpoint = "commands/list")]
pub async fn list_commands() -> Result<CommandList, AppError> {
    let actor = crate::auth::require_signed_in()?;
    if !actor.admin.may(Action::ManageCommands) && !actor.admin.may(Action::RunBoundCommands) {
        return Err(AppError::Forbidden);
    }
    let services = crate::ports::services()?;
    services.commands.list(&actor).await
}

#[cfg(feature = "ssr")]
fn parse(
    name: String,
    shell: String,
    script: String,
    description: String,
) -> Result<tally_core::forms::NewCommand, AppError> {
    (NewCommandInput {
        name,
        shell,
        script,
        description,
    })
    .parse()
    .map_err(AppError::Validation)
}

#[server(endpoint = "commands/create")]
pub async fn create_command(
    name: String,
    shell: String,
    script: String,
    #[server(default)] description: String,
) -> Result<String, AppError> {
    let actor = crate::auth::require(Action::ManageCommands)?;
    let command = match parse(name, shell, script, description) {
        Ok(c) => c,
        Err(e) => return Err(e),
    };
    let services = crate::ports::services()?;
    services.commands.create(&actor, command).await
}

#[server(endpoint = "commands/update")]
pub async fn update_command(
    id: String,
    name: String,
    shell: String,
    script: String,
    #[server(default)] description: String,
) -> Result<(), AppError> {
    let actor = crate::auth::require(Action::ManageCommands)?;
    let command = match parse(name, shell, script, description) {
        Ok(c) => c,
        Err(e) => return Err(e),
    };
    let services = crate::ports::services()?;
    services.commands.update(&actor, &id, command).await
}

#[server(endpoint = "commands/delete")]
pub async fn delete_command(id: String) -> Result<(), AppError> {
    let actor = crate::auth::require(Action::ManageCommands)?;
    let services = crate::ports::services()?;
    services.commands.delete(&actor, &id).await
}

/// Binds an administrator as a runner of a command. A billing-only administrator needs
/// `confirm`: without it the answer is 409 saying they will be able to run the command.
#[server(endpoint = "commands/bind")]
pub async fn bind_runner(
    command_id: String,
    admin_id: String,
    #[server(default)] confirm: bool,
) -> Result<(), AppError> {
    let actor = crate::auth::require(Action::ManageCommands)?;
    let services = crate::ports::services()?;
    services
        .commands
        .bind(&actor, &command_id, &admin_id, confirm)
        .await
}

#[server(endpoint = "commands/unbind")]
pub async fn unbind_runner(command_id: String, admin_id: String) -> Result<(), AppError> {
    let actor = crate::auth::require(Action::ManageCommands)?;
    let services = crate::ports::services()?;
    services
        .commands
        .unbind(&actor, &command_id, &admin_id)
        .await
}

/// Runs a command bound to the caller: recorded as queued in its history (devices run it).
#[server(endpoint = "commands/run")]
pub async fn run_command(id: String) -> Result<RunRecord, AppError> {
    let actor = crate::auth::require(Action::RunBoundCommands)?;
    let services = crate::ports::services()?;
    services.commands.run(&actor, &id).await
}

/// A command's run history, newest first; for those who manage commands or are bound to it.
#[server(endpoint = "commands/runs")]
pub async fn list_runs(id: String, #[server(default)] page: u32) -> Result<RunPage, AppError> {
    let actor = crate::auth::require_signed_in()?;
    let services = crate::ports::services()?;
    services.commands.runs(&actor, &id, page.max(1)).await
}
