//! The Commands page: saved commands, their runners and their run history.

use serde::{Deserialize, Serialize};

use crate::{codes::RunStatus, forms::Shell, roles::Role};

/// Runs shown per page of a command's history.
pub const RUNS_PER_PAGE: u32 = 20;

/// An administrator bound to a command.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Runner {
    pub admin_id: String,
    pub name: String,
    pub email: String,
}

/// A saved command with its runners.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandSummary {
    pub id: String,
    pub name: String,
    pub shell: Shell,
    pub script: String,
    pub description: Option<String>,
    /// Who runs it; only for callers who manage commands.
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

/// The Commands page's data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandList {
    pub commands: Vec<CommandSummary>,
    /// The caller manages commands (sees all, edits, binds).
    pub manage: bool,
    /// Who may be bound (only for those who manage).
    pub candidates: Vec<Candidate>,
}

/// One run of a command.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    pub id: String,
    pub admin_email: String,
    /// UTC milliseconds.
    pub at: i64,
    pub status: RunStatus,
}

/// A page of a command's runs, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunPage {
    pub runs: Vec<RunRecord>,
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
}
