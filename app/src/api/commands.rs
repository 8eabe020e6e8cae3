//! The Commands page's server functions. Manage commands sees and changes all of them and
//! binds runners; a role that runs bound commands sees and runs only the commands bound to it
//! — the service checks the binding, not only the role.

use leptos::prelude::*;
use tally_core::views::commands::{CommandList, RunPage, RunRecord};
#[cfg(feature = "ssr")]
use tally_core::{
    forms::{NewCommand, NewCommandInput},
    roles::Action,
};

#[cfg(feature = "ssr")]
use crate::auth::{require, require_signed_in, services};
use crate::error::AppError;

/// The commands the caller may see: all of them (Manage commands) or those bound to them.
#[server(endpoint = "commands/list")]
pub async fn list_commands() -> Result<CommandList, AppError> {
    let actor = require_signed_in()?;
    if !actor.may(Action::ManageCommands) && !actor.may(Action::RunBoundCommands) {
        return Err(AppError::Forbidden);
    }
    Ok(services()?.commands.list(&actor).await?)
}

#[cfg(feature = "ssr")]
fn parse(
    name: String,
    shell: String,
    script: String,
    description: String,
) -> Result<NewCommand, AppError> {
    Ok(NewCommandInput {
        name,
        shell,
        script,
        description,
    }
    .parse()?)
}

#[server(endpoint = "commands/create")]
pub async fn create_command(
    name: String,
    shell: String,
    script: String,
    #[server(default)] description: String,
) -> Result<String, AppError> {
    let actor = require(Action::ManageCommands)?;
    let command = parse(name, shell, script, description)?;
    Ok(services()?.commands.create(&actor, &command).await?)
}

#[server(endpoint = "commands/update")]
pub async fn update_command(
    id: String,
    name: String,
    shell: String,
    script: String,
    #[server(default)] description: String,
) -> Result<(), AppError> {
    let actor = require(Action::ManageCommands)?;
    let command = parse(name, shell, script, description)?;
    Ok(services()?.commands.update(&actor, &id, &command).await?)
}

#[server(endpoint = "commands/delete")]
pub async fn delete_command(id: String) -> Result<(), AppError> {
    let actor = require(Action::ManageCommands)?;
    Ok(services()?.commands.delete(&actor, &id).await?)
}

/// Binds an administrator as a runner of a command. A billing-only administrator needs
/// `confirm`: without it the answer is 409 saying they will be able to run the command.
#[server(endpoint = "commands/bind")]
pub async fn bind_runner(
    command_id: String,
    admin_id: String,
    #[server(default)] confirm: bool,
) -> Result<(), AppError> {
    let actor = require(Action::ManageCommands)?;
    Ok(services()?
        .commands
        .bind(&actor, &command_id, &admin_id, confirm)
        .await?)
}

#[server(endpoint = "commands/unbind")]
pub async fn unbind_runner(command_id: String, admin_id: String) -> Result<(), AppError> {
    let actor = require(Action::ManageCommands)?;
    Ok(services()?
        .commands
        .unbind(&actor, &command_id, &admin_id)
        .await?)
}

/// Runs a command bound to the caller: recorded as queued in its history (devices run it).
#[server(endpoint = "commands/run")]
pub async fn run_command(id: String) -> Result<RunRecord, AppError> {
    let actor = require(Action::RunBoundCommands)?;
    Ok(services()?.commands.run(&actor, &id).await?)
}

/// A command's run history, newest first; for those who manage commands or are bound to it.
#[server(endpoint = "commands/runs")]
pub async fn list_runs(id: String, #[server(default)] page: u32) -> Result<RunPage, AppError> {
    let actor = require_signed_in()?;
    Ok(services()?.commands.runs(&actor, &id, page.max(1)).await?)
}
