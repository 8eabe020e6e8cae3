//! Saved commands, runner bindings and run history (owner of `commands`, `command_runners` and
//! `command_runs`). Every query is scoped to the caller's account; running checks the binding
//! in the database, whatever the caller's role.

use std::collections::HashMap;

use tally_core::{
    actor::Actor,
    audit::AuditKind,
    codes::RunStatus,
    forms::{NewCommand, Shell},
    roles::{allows, is_billing_only, Action, AdminStatus},
    views::commands::{
        Candidate, CommandList, CommandSummary, RunPage, RunRecord, Runner, RUNS_PER_PAGE,
    },
};

use crate::platform::db::Code;
use crate::{
    identity::accounts::admins,
    platform::{
        audit::Event,
        context::Context,
        db::offset,
        error::{ResultExt, ServiceError},
    },
};

/// A saved command as stored.
#[derive(Debug, sqlx::FromRow)]
struct CommandRow {
    id: String,
    name: String,
    #[sqlx(try_from = "Code<Shell>")]
    shell: Shell,
    script: String,
    description: Option<String>,
}

/// A run as stored.
#[derive(Debug, sqlx::FromRow)]
struct RunRow {
    id: String,
    admin_email: String,
    created_at: i64,
    #[sqlx(try_from = "Code<RunStatus>")]
    status: RunStatus,
}

impl From<RunRow> for RunRecord {
    fn from(r: RunRow) -> Self {
        RunRecord {
            id: r.id,
            admin_email: r.admin_email,
            at: r.created_at,
            status: r.status,
        }
    }
}

/// How many commands each administrator of the account is bound to (those bound to none are
/// absent).
pub async fn bound_counts(
    pool: &sqlx::AnyPool,
    account_id: &str,
) -> Result<HashMap<String, usize>, ServiceError> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT admin_id, COUNT(*) FROM command_runners WHERE account_id = $1 GROUP BY admin_id",
    )
    .bind(account_id)
    .fetch_all(pool)
    .await
    .context("counting runner bindings")?;
    Ok(rows
        .into_iter()
        .map(|(id, n)| (id, n.max(0) as usize))
        .collect())
}

/// Unbinds an administrator from every command of the account, in `tx`; returns the names of
/// the commands they were bound to (their role no longer runs commands).
pub async fn unbind_all(
    tx: &mut sqlx::AnyConnection,
    account_id: &str,
    admin_id: &str,
) -> Result<Vec<String>, ServiceError> {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT c.name FROM command_runners r JOIN commands c ON c.id = r.command_id \
         WHERE r.admin_id = $1 AND r.account_id = $2 ORDER BY c.name",
    )
    .bind(admin_id)
    .bind(account_id)
    .fetch_all(&mut *tx)
    .await
    .context("reading an administrator's bindings")?;
    sqlx::query("DELETE FROM command_runners WHERE admin_id = $1 AND account_id = $2")
        .bind(admin_id)
        .bind(account_id)
        .execute(&mut *tx)
        .await
        .context("unbinding an administrator")?;
    Ok(names)
}

/// Saved commands of the caller's account.
#[derive(Clone)]
pub struct Commands {
    ctx: Context,
}

impl Commands {
    pub fn new(ctx: Context) -> Self {
        Self { ctx }
    }

    /// The command's name, if it is in the account.
    async fn name_of(&self, account_id: &str, id: &str) -> Result<String, ServiceError> {
        sqlx::query_scalar("SELECT name FROM commands WHERE id = $1 AND account_id = $2")
            .bind(id)
            .bind(account_id)
            .fetch_optional(self.ctx.db.pool())
            .await
            .context("reading a command")?
            .ok_or(ServiceError::NotFound)
    }

    async fn is_bound(&self, command_id: &str, admin_id: &str) -> Result<bool, ServiceError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM command_runners WHERE command_id = $1 AND admin_id = $2",
        )
        .bind(command_id)
        .bind(admin_id)
        .fetch_one(self.ctx.db.pool())
        .await
        .context("checking a runner's binding")?;
        Ok(n > 0)
    }

    /// The commands the caller may see: all of them (Manage commands) or those bound to them.
    pub async fn list(&self, actor: &Actor) -> Result<CommandList, ServiceError> {
        let pool = self.ctx.db.pool();
        let manage = actor.may(Action::ManageCommands);
        let rows: Vec<CommandRow> = if manage {
            sqlx::query_as(
                "SELECT id, name, shell, script, description FROM commands WHERE account_id = $1 ORDER BY name, id",
            )
            .bind(&actor.account_id)
            .fetch_all(pool)
            .await
        } else {
            sqlx::query_as(
                "SELECT c.id, c.name, c.shell, c.script, c.description FROM commands c \
                 JOIN command_runners r ON r.command_id = c.id AND r.admin_id = $2 \
                 WHERE c.account_id = $1 ORDER BY c.name, c.id",
            )
            .bind(&actor.account_id)
            .bind(&actor.id)
            .fetch_all(pool)
            .await
        }
        .context("reading commands")?;
        let bindings: Vec<(String, String)> = sqlx::query_as(
            "SELECT command_id, admin_id FROM command_runners WHERE account_id = $1",
        )
        .bind(&actor.account_id)
        .fetch_all(pool)
        .await
        .context("reading runner bindings")?;
        // Runners see who else runs a command only if they manage commands; those who may be
        // bound are the administrators not suspended whose role runs commands.
        let admins = if manage {
            admins::by_name(pool, &actor.account_id).await?
        } else {
            Vec::new()
        };
        let commands = rows
            .into_iter()
            .map(|r| {
                let bound: Vec<&str> = bindings
                    .iter()
                    .filter(|(command, _)| *command == r.id)
                    .map(|(_, admin)| admin.as_str())
                    .collect();
                CommandSummary {
                    bound_to_me: bound.contains(&actor.id.as_str()),
                    runners: admins
                        .iter()
                        .filter(|a| bound.contains(&a.id.as_str()))
                        .map(|a| Runner {
                            admin_id: a.id.clone(),
                            name: a.full_name(),
                            email: a.email.clone(),
                        })
                        .collect(),
                    id: r.id,
                    name: r.name,
                    shell: r.shell,
                    script: r.script,
                    description: r.description,
                }
            })
            .collect();
        let candidates = admins
            .iter()
            .filter(|a| {
                a.status != AdminStatus::Suspended && allows(a.role, Action::RunBoundCommands)
            })
            .map(|a| Candidate {
                admin_id: a.id.clone(),
                name: a.full_name(),
                email: a.email.clone(),
                role: a.role,
                billing_only: is_billing_only(
                    a.role,
                    bindings.iter().filter(|(_, b)| *b == a.id).count(),
                ),
            })
            .collect();
        Ok(CommandList {
            commands,
            manage,
            candidates,
        })
    }

    /// Saves a new command; returns its id.
    pub async fn create(&self, actor: &Actor, c: &NewCommand) -> Result<String, ServiceError> {
        let id = self.ctx.new_id();
        let mut work = self.ctx.begin("creating a command").await?;
        let now = work.now();
        sqlx::query(
            "INSERT INTO commands (id, account_id, name, shell, script, description, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
        )
        .bind(&id)
        .bind(&actor.account_id)
        .bind(&c.name)
        .bind(c.shell.code())
        .bind(&c.script)
        .bind(&c.description)
        .bind(&actor.id)
        .bind(now)
        .execute(work.tx())
        .await
        .context("inserting a command")?;
        work.audit(Event::by(
            actor,
            AuditKind::CommandCreated,
            c.name.as_str(),
            c.shell.display_name(),
        ));
        work.commit().await?;
        Ok(id)
    }

    /// Changes a command.
    pub async fn update(
        &self,
        actor: &Actor,
        id: &str,
        c: &NewCommand,
    ) -> Result<(), ServiceError> {
        self.name_of(&actor.account_id, id).await?;
        let mut work = self.ctx.begin("changing a command").await?;
        let now = work.now();
        sqlx::query(
            "UPDATE commands SET name = $1, shell = $2, script = $3, description = $4, updated_at = $5 WHERE id = $6 AND account_id = $7",
        )
        .bind(&c.name)
        .bind(c.shell.code())
        .bind(&c.script)
        .bind(&c.description)
        .bind(now)
        .bind(id)
        .bind(&actor.account_id)
        .execute(work.tx())
        .await
        .context("updating a command")?;
        work.audit(Event::by(
            actor,
            AuditKind::CommandUpdated,
            c.name.as_str(),
            "",
        ));
        work.commit().await
    }

    /// Deletes a command with its bindings and runs.
    pub async fn delete(&self, actor: &Actor, id: &str) -> Result<(), ServiceError> {
        let name = self.name_of(&actor.account_id, id).await?;
        let mut work = self.ctx.begin("deleting a command").await?;
        for sql in [
            "DELETE FROM command_runs WHERE command_id = $1 AND account_id = $2",
            "DELETE FROM command_runners WHERE command_id = $1 AND account_id = $2",
            "DELETE FROM commands WHERE id = $1 AND account_id = $2",
        ] {
            sqlx::query(sql)
                .bind(id)
                .bind(&actor.account_id)
                .execute(work.tx())
                .await
                .context("deleting a command")?;
        }
        work.audit(Event::by(actor, AuditKind::CommandDeleted, name, ""));
        work.commit().await
    }

    /// How many commands an administrator is bound to.
    async fn bound_count(&self, admin_id: &str) -> Result<usize, ServiceError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM command_runners WHERE admin_id = $1")
            .bind(admin_id)
            .fetch_one(self.ctx.db.pool())
            .await
            .context("counting an administrator's bindings")?;
        Ok(n.max(0) as usize)
    }

    /// Binds an administrator as a runner of a command. A billing-only administrator needs
    /// `confirm`: without it the answer is a conflict saying they will be able to run it.
    pub async fn bind(
        &self,
        actor: &Actor,
        command_id: &str,
        admin_id: &str,
        confirm: bool,
    ) -> Result<(), ServiceError> {
        let name = self.name_of(&actor.account_id, command_id).await?;
        let admin = admins::in_account(self.ctx.db.pool(), &actor.account_id, admin_id).await?;
        let (who, role) = (admin.full_name(), admin.role);
        if !allows(role, Action::RunBoundCommands) {
            return Err(ServiceError::Conflict(format!(
                "{who} is {role}, a role that can't run commands. Change their role first."
            )));
        }
        if is_billing_only(role, self.bound_count(admin_id).await?) && !confirm {
            return Err(ServiceError::Conflict(format!(
                "{who} is a billing-only administrator. Once bound, they will be able to run “{name}”. Confirm to bind them."
            )));
        }
        let mut work = self.ctx.begin("binding a runner").await?;
        let now = work.now();
        let added = sqlx::query(
            "INSERT INTO command_runners (command_id, admin_id, account_id, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (command_id, admin_id) DO NOTHING",
        )
        .bind(command_id)
        .bind(admin_id)
        .bind(&actor.account_id)
        .bind(now)
        .execute(work.tx())
        .await
        .context("inserting a runner binding")?;
        if added.rows_affected() == 1 {
            work.audit(Event::by(actor, AuditKind::RunnerBound, admin.email, name));
        }
        work.commit().await
    }

    /// Unbinds a runner from a command.
    pub async fn unbind(
        &self,
        actor: &Actor,
        command_id: &str,
        admin_id: &str,
    ) -> Result<(), ServiceError> {
        let name = self.name_of(&actor.account_id, command_id).await?;
        let admin = admins::in_account(self.ctx.db.pool(), &actor.account_id, admin_id).await?;
        let mut work = self.ctx.begin("unbinding a runner").await?;
        let removed = sqlx::query(
            "DELETE FROM command_runners WHERE command_id = $1 AND admin_id = $2 AND account_id = $3",
        )
        .bind(command_id)
        .bind(admin_id)
        .bind(&actor.account_id)
        .execute(work.tx())
        .await
        .context("deleting a runner binding")?;
        if removed.rows_affected() == 1 {
            work.audit(Event::by(
                actor,
                AuditKind::RunnerUnbound,
                admin.email,
                name,
            ));
        }
        work.commit().await
    }

    /// Runs a command bound to the caller: recorded as queued in its history.
    pub async fn run(&self, actor: &Actor, id: &str) -> Result<RunRecord, ServiceError> {
        let name = self.name_of(&actor.account_id, id).await?;
        // The binding decides, not the role: an unbound runner is refused even with the right id.
        if !self.is_bound(id, &actor.id).await? {
            return Err(ServiceError::Forbidden);
        }
        let mut work = self.ctx.begin("running a command").await?;
        let run = RunRecord {
            id: self.ctx.new_id(),
            admin_email: actor.email.clone(),
            at: work.now(),
            status: RunStatus::Queued,
        };
        sqlx::query(
            "INSERT INTO command_runs (id, command_id, account_id, admin_id, admin_email, status, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&run.id)
        .bind(id)
        .bind(&actor.account_id)
        .bind(&actor.id)
        .bind(&actor.email)
        .bind(run.status.code())
        .bind(run.at)
        .execute(work.tx())
        .await
        .context("recording a run")?;
        work.audit(Event::by(
            actor,
            AuditKind::CommandRun,
            name,
            run.status.code(),
        ));
        work.commit().await?;
        Ok(run)
    }

    /// A command's run history, newest first; for those who manage commands or are bound to it.
    pub async fn runs(&self, actor: &Actor, id: &str, page: u32) -> Result<RunPage, ServiceError> {
        self.name_of(&actor.account_id, id).await?;
        let may = actor.may(Action::ManageCommands)
            || (actor.may(Action::RunBoundCommands) && self.is_bound(id, &actor.id).await?);
        if !may {
            return Err(ServiceError::Forbidden);
        }
        let pool = self.ctx.db.pool();
        let total: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM command_runs WHERE command_id = $1 AND account_id = $2",
        )
        .bind(id)
        .bind(&actor.account_id)
        .fetch_one(pool)
        .await
        .context("counting a command's runs")?;
        let runs: Vec<RunRow> = sqlx::query_as(
            "SELECT id, admin_email, created_at, status FROM command_runs WHERE command_id = $1 AND account_id = $2 \
             ORDER BY created_at DESC, id LIMIT $3 OFFSET $4",
        )
        .bind(id)
        .bind(&actor.account_id)
        .bind(i64::from(RUNS_PER_PAGE))
        .bind(offset(page, RUNS_PER_PAGE))
        .fetch_all(pool)
        .await
        .context("reading a page of runs")?;
        Ok(RunPage {
            runs: runs.into_iter().map(RunRecord::from).collect(),
            total: total.max(0) as u64,
            page,
            per_page: RUNS_PER_PAGE,
        })
    }
}
