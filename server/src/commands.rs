//! Saved commands, runner bindings and run history. Every query is scoped to the caller's
//! account; running checks the binding in the database, whatever the caller's role.

use tally_app::api::commands::RUNS_PER_PAGE;
use tally_core::{
    audit::AuditKind,
    forms::{NewCommand, Shell},
    roles::{allows, is_billing_only, Action, Role},
};

use crate::{
    actor::Actor,
    audit::{record, Event},
    context::Context,
    db::offset,
    error::{Context as _, ServiceError},
};

/// A saved command as stored.
#[derive(Debug, sqlx::FromRow)]
struct CommandRow {
    id: String,
    name: String,
    shell: String,
    script: String,
    description: Option<String>,
}

/// An administrator bound to a command.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Runner {
    pub command_id: String,
    pub admin_id: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
}

/// An administrator with how many commands they are bound to.
#[derive(Debug, sqlx::FromRow)]
struct AdminRow {
    id: String,
    first_name: String,
    last_name: String,
    email: String,
    role: String,
    bound: i64,
}

/// A command with its runners, as the Commands page shows it.
#[derive(Clone, Debug)]
pub struct CommandItem {
    pub id: String,
    pub name: String,
    pub shell: Shell,
    pub script: String,
    pub description: Option<String>,
    /// Who runs it; only for callers who manage commands.
    pub runners: Vec<Runner>,
    pub bound_to_caller: bool,
}

/// An administrator who could be bound as a runner.
#[derive(Clone, Debug)]
pub struct Candidate {
    pub admin_id: String,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub billing_only: bool,
}

/// The Commands page's data.
#[derive(Clone, Debug)]
pub struct CommandListing {
    pub commands: Vec<CommandItem>,
    /// The caller manages commands (sees all, edits, binds).
    pub manage: bool,
    pub candidates: Vec<Candidate>,
}

/// One run of a command.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Run {
    pub id: String,
    pub admin_email: String,
    pub created_at: i64,
    pub status: String,
}

/// A page of a command's runs.
#[derive(Clone, Debug)]
pub struct RunListing {
    pub runs: Vec<Run>,
    pub total: u64,
}

fn role_of(code: &str) -> Result<Role, ServiceError> {
    Role::from_code(code).ok_or_else(|| {
        ServiceError::invariant("reading administrators", format!("unknown role {code:?}"))
    })
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
    pub async fn list(&self, actor: &Actor) -> Result<CommandListing, ServiceError> {
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
        let bindings: Vec<Runner> = sqlx::query_as(
            "SELECT r.command_id, a.id AS admin_id, a.first_name, a.last_name, a.email FROM command_runners r \
             JOIN admins a ON a.id = r.admin_id WHERE r.account_id = $1 ORDER BY a.last_name, a.first_name",
        )
        .bind(&actor.account_id)
        .fetch_all(pool)
        .await
        .context("reading runner bindings")?;
        let mut commands = Vec::with_capacity(rows.len());
        for r in rows {
            let runners: Vec<Runner> = bindings
                .iter()
                .filter(|b| b.command_id == r.id)
                .cloned()
                .collect();
            commands.push(CommandItem {
                bound_to_caller: runners.iter().any(|b| b.admin_id == actor.id),
                // Runners see who else runs it only if they manage commands.
                runners: if manage { runners } else { Vec::new() },
                shell: Shell::from_code(&r.shell).ok_or_else(|| {
                    ServiceError::invariant(
                        "reading commands",
                        format!("unknown shell {:?}", r.shell),
                    )
                })?,
                id: r.id,
                name: r.name,
                script: r.script,
                description: r.description,
            });
        }
        let candidates = if manage {
            let admins: Vec<AdminRow> = sqlx::query_as(
                "SELECT a.id, a.first_name, a.last_name, a.email, a.role, \
                 (SELECT COUNT(*) FROM command_runners r WHERE r.admin_id = a.id) AS bound \
                 FROM admins a WHERE a.account_id = $1 AND a.status <> 'suspended' ORDER BY a.last_name, a.first_name",
            )
            .bind(&actor.account_id)
            .fetch_all(pool)
            .await
            .context("reading runner candidates")?;
            let mut candidates = Vec::new();
            for a in admins {
                let role = role_of(&a.role)?;
                if allows(role, Action::RunBoundCommands) {
                    candidates.push(Candidate {
                        name: format!("{} {}", a.first_name, a.last_name),
                        admin_id: a.id,
                        email: a.email,
                        role,
                        billing_only: is_billing_only(role, a.bound.max(0) as usize),
                    });
                }
            }
            candidates
        } else {
            Vec::new()
        };
        Ok(CommandListing {
            commands,
            manage,
            candidates,
        })
    }

    /// Saves a new command; returns its id.
    pub async fn create(&self, actor: &Actor, c: &NewCommand) -> Result<String, ServiceError> {
        let now = self.ctx.now();
        let id = self.ctx.new_id();
        let mut tx = self
            .ctx
            .db
            .pool()
            .begin()
            .await
            .context("creating a command")?;
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
        .execute(&mut *tx)
        .await
        .context("inserting a command")?;
        record(
            &mut *tx,
            now,
            AuditKind::CommandCreated,
            Event::by(actor, &c.name, c.shell.display_name().into()),
        )
        .await
        .context("auditing a new command")?;
        tx.commit().await.context("saving a new command")?;
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
        let now = self.ctx.now();
        let mut tx = self
            .ctx
            .db
            .pool()
            .begin()
            .await
            .context("changing a command")?;
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
        .execute(&mut *tx)
        .await
        .context("updating a command")?;
        record(
            &mut *tx,
            now,
            AuditKind::CommandUpdated,
            Event::by(actor, &c.name, String::new()),
        )
        .await
        .context("auditing a command change")?;
        tx.commit().await.context("saving a command change")
    }

    /// Deletes a command with its bindings and runs.
    pub async fn delete(&self, actor: &Actor, id: &str) -> Result<(), ServiceError> {
        let name = self.name_of(&actor.account_id, id).await?;
        let now = self.ctx.now();
        let mut tx = self
            .ctx
            .db
            .pool()
            .begin()
            .await
            .context("deleting a command")?;
        for sql in [
            "DELETE FROM command_runs WHERE command_id = $1 AND account_id = $2",
            "DELETE FROM command_runners WHERE command_id = $1 AND account_id = $2",
            "DELETE FROM commands WHERE id = $1 AND account_id = $2",
        ] {
            sqlx::query(sql)
                .bind(id)
                .bind(&actor.account_id)
                .execute(&mut *tx)
                .await
                .context("deleting a command")?;
        }
        record(
            &mut *tx,
            now,
            AuditKind::CommandDeleted,
            Event::by(actor, &name, String::new()),
        )
        .await
        .context("auditing a deleted command")?;
        tx.commit().await.context("saving a deleted command")
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
        let pool = self.ctx.db.pool();
        let admin: AdminRow = sqlx::query_as(
            "SELECT a.id, a.first_name, a.last_name, a.email, a.role, \
             (SELECT COUNT(*) FROM command_runners r WHERE r.admin_id = a.id) AS bound \
             FROM admins a WHERE a.id = $1 AND a.account_id = $2",
        )
        .bind(admin_id)
        .bind(&actor.account_id)
        .fetch_optional(pool)
        .await
        .context("reading an administrator to bind")?
        .ok_or(ServiceError::NotFound)?;
        let role = role_of(&admin.role)?;
        let who = format!("{} {}", admin.first_name, admin.last_name);
        if !allows(role, Action::RunBoundCommands) {
            return Err(ServiceError::Conflict(format!(
                "{who} is {role}, a role that can't run commands. Change their role first."
            )));
        }
        if is_billing_only(role, admin.bound.max(0) as usize) && !confirm {
            return Err(ServiceError::Conflict(format!(
                "{who} is a billing-only administrator. Once bound, they will be able to run “{name}”. Confirm to bind them."
            )));
        }
        let now = self.ctx.now();
        let mut tx = pool.begin().await.context("binding a runner")?;
        let added = sqlx::query(
            "INSERT INTO command_runners (command_id, admin_id, account_id, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (command_id, admin_id) DO NOTHING",
        )
        .bind(command_id)
        .bind(admin_id)
        .bind(&actor.account_id)
        .bind(now)
        .execute(&mut *tx)
        .await
        .context("inserting a runner binding")?;
        if added.rows_affected() == 1 {
            record(
                &mut *tx,
                now,
                AuditKind::RunnerBound,
                Event::by(actor, &admin.email, name),
            )
            .await
            .context("auditing a binding")?;
        }
        tx.commit().await.context("saving a binding")
    }

    /// Unbinds a runner from a command.
    pub async fn unbind(
        &self,
        actor: &Actor,
        command_id: &str,
        admin_id: &str,
    ) -> Result<(), ServiceError> {
        let name = self.name_of(&actor.account_id, command_id).await?;
        let now = self.ctx.now();
        let mut tx = self
            .ctx
            .db
            .pool()
            .begin()
            .await
            .context("unbinding a runner")?;
        let email: String =
            sqlx::query_scalar("SELECT email FROM admins WHERE id = $1 AND account_id = $2")
                .bind(admin_id)
                .bind(&actor.account_id)
                .fetch_optional(&mut *tx)
                .await
                .context("reading an administrator to unbind")?
                .ok_or(ServiceError::NotFound)?;
        let removed = sqlx::query(
            "DELETE FROM command_runners WHERE command_id = $1 AND admin_id = $2 AND account_id = $3",
        )
        .bind(command_id)
        .bind(admin_id)
        .bind(&actor.account_id)
        .execute(&mut *tx)
        .await
        .context("deleting a runner binding")?;
        if removed.rows_affected() == 1 {
            record(
                &mut *tx,
                now,
                AuditKind::RunnerUnbound,
                Event::by(actor, &email, name),
            )
            .await
            .context("auditing an unbinding")?;
        }
        tx.commit().await.context("saving an unbinding")
    }

    /// Runs a command bound to the caller: recorded as queued in its history.
    pub async fn run(&self, actor: &Actor, id: &str) -> Result<Run, ServiceError> {
        let name = self.name_of(&actor.account_id, id).await?;
        // The binding decides, not the role: an unbound runner is refused even with the right id.
        if !self.is_bound(id, &actor.id).await? {
            return Err(ServiceError::Forbidden);
        }
        let now = self.ctx.now();
        let run = Run {
            id: self.ctx.new_id(),
            admin_email: actor.email.clone(),
            created_at: now,
            status: "queued".into(),
        };
        let mut tx = self
            .ctx
            .db
            .pool()
            .begin()
            .await
            .context("running a command")?;
        sqlx::query(
            "INSERT INTO command_runs (id, command_id, account_id, admin_id, admin_email, status, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&run.id)
        .bind(id)
        .bind(&actor.account_id)
        .bind(&actor.id)
        .bind(&actor.email)
        .bind(&run.status)
        .bind(now)
        .execute(&mut *tx)
        .await
        .context("recording a run")?;
        record(
            &mut *tx,
            now,
            AuditKind::CommandRun,
            Event::by(actor, &name, "queued".into()),
        )
        .await
        .context("auditing a run")?;
        tx.commit().await.context("saving a run")?;
        Ok(run)
    }

    /// A command's run history, newest first; for those who manage commands or are bound to it.
    pub async fn runs(
        &self,
        actor: &Actor,
        id: &str,
        page: u32,
    ) -> Result<RunListing, ServiceError> {
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
        let runs: Vec<Run> = sqlx::query_as(
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
        Ok(RunListing {
            runs,
            total: total.max(0) as u64,
        })
    }
}
