//! Saved commands, runner bindings and run history. Every query is scoped to the caller's
//! account; running checks the binding in the database, whatever the caller's role.

use sqlx::Row;
use tally_app::{
    api::commands::{
        Candidate, CommandList, CommandSummary, RunPage, RunRecord, Runner, RUNS_PER_PAGE,
    },
    auth::CurrentAdmin,
    error::AppError,
    ports::CommandService,
};
use tally_core::{
    audit::AuditKind,
    forms::{NewCommand, Shell},
    roles::{allows, is_billing_only, Action, Role},
};

use crate::{
    audit::{record, Event},
    auth::{internal, Auth},
    crypto::new_id,
};

pub struct Commands {
    pub auth: Auth,
}

impl Commands {
    /// The command's name, if it is in the caller's account.
    async fn name_of(&self, account_id: &str, id: &str) -> Result<String, AppError> {
        sqlx::query_scalar("SELECT name FROM commands WHERE id = $1 AND account_id = $2")
            .bind(id)
            .bind(account_id)
            .fetch_optional(self.auth.db.pool())
            .await
            .map_err(internal)?
            .ok_or(AppError::NotFound)
    }

    async fn is_bound(&self, command_id: &str, admin_id: &str) -> Result<bool, AppError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM command_runners WHERE command_id = $1 AND admin_id = $2",
        )
        .bind(command_id)
        .bind(admin_id)
        .fetch_one(self.auth.db.pool())
        .await
        .map_err(internal)?;
        Ok(n > 0)
    }
}

#[async_trait::async_trait]
impl CommandService for Commands {
    async fn list(&self, actor: &CurrentAdmin) -> Result<CommandList, AppError> {
        let pool = self.auth.db.pool();
        let manage = actor.may(Action::ManageCommands);
        let rows = if manage {
            sqlx::query("SELECT id, name, shell, script, description FROM commands WHERE account_id = $1 ORDER BY name, id")
                .bind(&actor.account_id)
                .fetch_all(pool)
                .await
        } else {
            sqlx::query(
                "SELECT c.id, c.name, c.shell, c.script, c.description FROM commands c \
                 JOIN command_runners r ON r.command_id = c.id AND r.admin_id = $2 \
                 WHERE c.account_id = $1 ORDER BY c.name, c.id",
            )
            .bind(&actor.account_id)
            .bind(&actor.id)
            .fetch_all(pool)
            .await
        }
        .map_err(internal)?;
        let bindings = sqlx::query(
            "SELECT r.command_id, a.id, a.first_name, a.last_name, a.email FROM command_runners r \
             JOIN admins a ON a.id = r.admin_id WHERE r.account_id = $1 ORDER BY a.last_name, a.first_name",
        )
        .bind(&actor.account_id)
        .fetch_all(pool)
        .await
        .map_err(internal)?;
        let mut commands = Vec::with_capacity(rows.len());
        for r in rows {
            let id: String = r.get("id");
            let runners: Vec<Runner> = bindings
                .iter()
                .filter(|b| b.get::<String, _>("command_id") == id)
                .map(|b| Runner {
                    admin_id: b.get("id"),
                    name: format!(
                        "{} {}",
                        b.get::<String, _>("first_name"),
                        b.get::<String, _>("last_name")
                    ),
                    email: b.get("email"),
                })
                .collect();
            commands.push(CommandSummary {
                bound_to_me: runners.iter().any(|r| r.admin_id == actor.id),
                // Runners see who else runs it only if they manage commands.
                runners: if manage { runners } else { Vec::new() },
                name: r.get("name"),
                shell: Shell::from_code(&r.get::<String, _>("shell"))
                    .ok_or_else(|| internal("unknown shell"))?,
                script: r.get("script"),
                description: r.get("description"),
                id,
            });
        }
        let candidates = if manage {
            let admins = sqlx::query(
                "SELECT a.id, a.first_name, a.last_name, a.email, a.role, \
                 (SELECT COUNT(*) FROM command_runners r WHERE r.admin_id = a.id) AS bound \
                 FROM admins a WHERE a.account_id = $1 AND a.status <> 'suspended' ORDER BY a.last_name, a.first_name",
            )
            .bind(&actor.account_id)
            .fetch_all(pool)
            .await
            .map_err(internal)?;
            admins
                .iter()
                .filter_map(|a| {
                    let role = Role::from_code(&a.get::<String, _>("role"))?;
                    allows(role, Action::RunBoundCommands).then(|| Candidate {
                        admin_id: a.get("id"),
                        name: format!(
                            "{} {}",
                            a.get::<String, _>("first_name"),
                            a.get::<String, _>("last_name")
                        ),
                        email: a.get("email"),
                        role,
                        billing_only: is_billing_only(
                            role,
                            a.get::<i64, _>("bound").max(0) as usize,
                        ),
                    })
                })
                .collect()
        } else {
            Vec::new()
        };
        Ok(CommandList {
            commands,
            manage,
            candidates,
        })
    }

    async fn create(
        &self,
        actor: &CurrentAdmin,
        c: NewCommand,
        ip: Option<String>,
    ) -> Result<String, AppError> {
        let now = self.auth.clock.now_millis();
        let id = new_id();
        let mut tx = self.auth.db.pool().begin().await.map_err(internal)?;
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
        .map_err(internal)?;
        record(
            &mut *tx,
            now,
            AuditKind::CommandCreated,
            Event::by(actor, &c.name, ip.as_deref(), c.shell.display_name().into()),
        )
        .await
        .map_err(internal)?;
        tx.commit().await.map_err(internal)?;
        Ok(id)
    }

    async fn update(
        &self,
        actor: &CurrentAdmin,
        id: &str,
        c: NewCommand,
        ip: Option<String>,
    ) -> Result<(), AppError> {
        self.name_of(&actor.account_id, id).await?;
        let now = self.auth.clock.now_millis();
        let mut tx = self.auth.db.pool().begin().await.map_err(internal)?;
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
        .map_err(internal)?;
        record(
            &mut *tx,
            now,
            AuditKind::CommandUpdated,
            Event::by(actor, &c.name, ip.as_deref(), String::new()),
        )
        .await
        .map_err(internal)?;
        tx.commit().await.map_err(internal)
    }

    async fn delete(
        &self,
        actor: &CurrentAdmin,
        id: &str,
        ip: Option<String>,
    ) -> Result<(), AppError> {
        let name = self.name_of(&actor.account_id, id).await?;
        let now = self.auth.clock.now_millis();
        let mut tx = self.auth.db.pool().begin().await.map_err(internal)?;
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
                .map_err(internal)?;
        }
        record(
            &mut *tx,
            now,
            AuditKind::CommandDeleted,
            Event::by(actor, &name, ip.as_deref(), String::new()),
        )
        .await
        .map_err(internal)?;
        tx.commit().await.map_err(internal)
    }

    async fn bind(
        &self,
        actor: &CurrentAdmin,
        command_id: &str,
        admin_id: &str,
        confirm: bool,
        ip: Option<String>,
    ) -> Result<(), AppError> {
        let name = self.name_of(&actor.account_id, command_id).await?;
        let pool = self.auth.db.pool();
        let admin = sqlx::query(
            "SELECT a.email, a.first_name, a.last_name, a.role, (SELECT COUNT(*) FROM command_runners r WHERE r.admin_id = a.id) AS bound \
             FROM admins a WHERE a.id = $1 AND a.account_id = $2",
        )
        .bind(admin_id)
        .bind(&actor.account_id)
        .fetch_optional(pool)
        .await
        .map_err(internal)?
        .ok_or(AppError::NotFound)?;
        let role = Role::from_code(&admin.get::<String, _>("role"))
            .ok_or_else(|| internal("unknown role"))?;
        let who = format!(
            "{} {}",
            admin.get::<String, _>("first_name"),
            admin.get::<String, _>("last_name")
        );
        if !allows(role, Action::RunBoundCommands) {
            return Err(AppError::Conflict(format!(
                "{who} is {role}, a role that can't run commands. Change their role first."
            )));
        }
        if is_billing_only(role, admin.get::<i64, _>("bound").max(0) as usize) && !confirm {
            return Err(AppError::Conflict(format!(
                "{who} is a billing-only administrator. Once bound, they will be able to run “{name}”. Confirm to bind them."
            )));
        }
        let now = self.auth.clock.now_millis();
        let mut tx = pool.begin().await.map_err(internal)?;
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
        .map_err(internal)?;
        if added.rows_affected() == 1 {
            let email: String = admin.get("email");
            record(
                &mut *tx,
                now,
                AuditKind::RunnerBound,
                Event::by(actor, &email, ip.as_deref(), name),
            )
            .await
            .map_err(internal)?;
        }
        tx.commit().await.map_err(internal)
    }

    async fn unbind(
        &self,
        actor: &CurrentAdmin,
        command_id: &str,
        admin_id: &str,
        ip: Option<String>,
    ) -> Result<(), AppError> {
        let name = self.name_of(&actor.account_id, command_id).await?;
        let now = self.auth.clock.now_millis();
        let mut tx = self.auth.db.pool().begin().await.map_err(internal)?;
        let email: Option<String> =
            sqlx::query_scalar("SELECT email FROM admins WHERE id = $1 AND account_id = $2")
                .bind(admin_id)
                .bind(&actor.account_id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(internal)?;
        let Some(email) = email else {
            return Err(AppError::NotFound);
        };
        let removed = sqlx::query("DELETE FROM command_runners WHERE command_id = $1 AND admin_id = $2 AND account_id = $3")
            .bind(command_id)
            .bind(admin_id)
            .bind(&actor.account_id)
            .execute(&mut *tx)
            .await
            .map_err(internal)?;
        if removed.rows_affected() == 1 {
            record(
                &mut *tx,
                now,
                AuditKind::RunnerUnbound,
                Event::by(actor, &email, ip.as_deref(), name),
            )
            .await
            .map_err(internal)?;
        }
        tx.commit().await.map_err(internal)
    }

    async fn run(
        &self,
        actor: &CurrentAdmin,
        id: &str,
        ip: Option<String>,
    ) -> Result<RunRecord, AppError> {
        let name = self.name_of(&actor.account_id, id).await?;
        // The binding decides, not the role: an unbound runner is refused even with the right id.
        if !self.is_bound(id, &actor.id).await? {
            return Err(AppError::Forbidden);
        }
        let now = self.auth.clock.now_millis();
        let run = RunRecord {
            id: new_id(),
            admin_email: actor.email.clone(),
            at: now,
            status: "queued".into(),
        };
        let mut tx = self.auth.db.pool().begin().await.map_err(internal)?;
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
        .map_err(internal)?;
        record(
            &mut *tx,
            now,
            AuditKind::CommandRun,
            Event::by(actor, &name, ip.as_deref(), "queued".into()),
        )
        .await
        .map_err(internal)?;
        tx.commit().await.map_err(internal)?;
        Ok(run)
    }

    async fn runs(&self, actor: &CurrentAdmin, id: &str, page: u32) -> Result<RunPage, AppError> {
        self.name_of(&actor.account_id, id).await?;
        let may = actor.may(Action::ManageCommands)
            || (actor.may(Action::RunBoundCommands) && self.is_bound(id, &actor.id).await?);
        if !may {
            return Err(AppError::Forbidden);
        }
        let pool = self.auth.db.pool();
        let total: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM command_runs WHERE command_id = $1 AND account_id = $2",
        )
        .bind(id)
        .bind(&actor.account_id)
        .fetch_one(pool)
        .await
        .map_err(internal)?;
        let rows = sqlx::query(
            "SELECT id, admin_email, created_at, status FROM command_runs WHERE command_id = $1 AND account_id = $2 \
             ORDER BY created_at DESC, id LIMIT $3 OFFSET $4",
        )
        .bind(id)
        .bind(&actor.account_id)
        .bind(i64::from(RUNS_PER_PAGE))
        .bind(i64::from(page.saturating_sub(1)) * i64::from(RUNS_PER_PAGE))
        .fetch_all(pool)
        .await
        .map_err(internal)?;
        Ok(RunPage {
            runs: rows
                .iter()
                .map(|r| RunRecord {
                    id: r.get("id"),
                    admin_email: r.get("admin_email"),
                    at: r.get("created_at"),
                    status: r.get("status"),
                })
                .collect(),
            total: total.max(0) as u64,
            page,
            per_page: RUNS_PER_PAGE,
        })
    }
}
