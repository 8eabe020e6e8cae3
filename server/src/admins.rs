//! Administrators of an account: the Administrators page, creation with an invitation, role
//! changes, suspension and deletion under the account's rules. Every query is scoped to the
//! caller's account. The `admins` table's writes that other flows need (set-up, passwords)
//! are here too.

use sqlx::{Any, Executor};
use tally_app::api::admins::ADMINS_PER_PAGE;
use tally_core::{
    audit::AuditKind,
    contact::Email,
    forms::NewAdmin,
    roles::{
        allows, check_admin_change, is_billing_only, Action, AdminChange, AdminFacts,
        AdminRuleError, AdminStatus, Role,
    },
};

use crate::{
    actor::Actor,
    audit::{record, record_many, Event},
    auth::{links, sessions},
    billing_info,
    context::Context,
    db::{contains, list_counts, offset, search_text},
    error::{Context as _, ServiceError},
    throttle,
};

/// One row of the Administrators page, with the page's counts (an empty page is one row with
/// the counts and no administrator).
#[derive(Debug, sqlx::FromRow)]
struct ListRow {
    total: i64,
    matching: i64,
    id: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
    role: Option<String>,
    status: Option<String>,
    receives_invoices: Option<i64>,
    billing_contact: Option<i64>,
    bound: Option<i64>,
    two_step: Option<i64>,
}

/// An administrator as the Administrators page lists them.
#[derive(Clone, Debug)]
pub struct AdminListItem {
    pub id: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub role: Role,
    pub status: AdminStatus,
    /// A Command Runner With Billing bound to no command.
    pub billing_only: bool,
    pub receives_invoices: bool,
    /// Their address is the billing contact's.
    pub billing_contact: bool,
    /// They have a second step (an authenticator app or a passkey).
    pub two_step: bool,
}

/// A page of administrators and the counts around it.
#[derive(Clone, Debug)]
pub struct AdminListing {
    pub admins: Vec<AdminListItem>,
    pub matching: u64,
    pub total: u64,
}

/// An administrator as the rules of a change see them.
#[derive(sqlx::FromRow)]
struct FactRow {
    id: String,
    email: String,
    role: String,
    status: String,
}

/// An invitee to write again.
#[derive(sqlx::FromRow)]
struct Invitee {
    email: String,
    status: String,
}

fn role_of(code: &str) -> Result<Role, ServiceError> {
    Role::from_code(code).ok_or_else(|| {
        ServiceError::invariant("reading administrators", format!("unknown role {code:?}"))
    })
}

fn status_of(code: &str) -> Result<AdminStatus, ServiceError> {
    AdminStatus::from_code(code).ok_or_else(|| {
        ServiceError::invariant("reading administrators", format!("unknown status {code:?}"))
    })
}

/// Administrators of the caller's account.
#[derive(Clone)]
pub struct Admins {
    ctx: Context,
}

impl Admins {
    pub fn new(ctx: Context) -> Self {
        Self { ctx }
    }

    /// Creates an invited administrator and emails them an invitation; returns their id.
    pub async fn create(&self, actor: &Actor, new: &NewAdmin) -> Result<String, ServiceError> {
        self.ctx.require_fresh(actor)?;
        let now = self.ctx.now();
        let id = self.ctx.new_id();
        let mut tx = self
            .ctx
            .db
            .pool()
            .begin()
            .await
            .context("creating an administrator")?;
        let inserted = sqlx::query(
            "INSERT INTO admins (id, account_id, email, email_key, first_name, last_name, role, status, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'invited', $8, $8) ON CONFLICT (email_key) DO NOTHING",
        )
        .bind(&id)
        .bind(&actor.account_id)
        .bind(new.email.as_str())
        .bind(new.email.normalized_key())
        .bind(&new.first_name)
        .bind(&new.last_name)
        .bind(new.role.code())
        .bind(now)
        .execute(&mut *tx)
        .await
        .context("inserting an administrator")?;
        if inserted.rows_affected() == 0 {
            return Err(ServiceError::field(
                "email",
                "An administrator with this email already exists.",
            ));
        }
        record(
            &mut *tx,
            now,
            AuditKind::AdminCreated,
            Event::by(
                actor,
                new.email.as_str(),
                format!("role {}", new.role.display_name()),
            ),
        )
        .await
        .context("auditing a new administrator")?;
        tx.commit().await.context("saving a new administrator")?;
        self.invite(actor, &id, new.email.as_str(), "").await?;
        Ok(id)
    }

    /// Emails an invitation link and audits it.
    async fn invite(
        &self,
        actor: &Actor,
        id: &str,
        email: &str,
        detail: &str,
    ) -> Result<(), ServiceError> {
        links::send_invitation(&self.ctx, id, &actor.account_id, email, &actor.full_name()).await?;
        record(
            self.ctx.db.pool(),
            self.ctx.now(),
            AuditKind::InvitationSent,
            Event::by(actor, email, detail.into()),
        )
        .await
        .context("auditing an invitation")
    }

    /// One page of the caller's account's administrators whose name or email contains
    /// `search`, oldest first.
    pub async fn list(
        &self,
        actor: &Actor,
        search: &str,
        page: u32,
    ) -> Result<AdminListing, ServiceError> {
        let search_matches = contains(
            &["LOWER(a.first_name || ' ' || a.last_name)", "a.email_key"],
            2,
        );
        // The billing contact receives invoices whatever their role; a billing administrator
        // receives them when they opted in.
        let contact = billing_info::contact_email_sql("$1");
        let billing_roles = billing_info::billing_role_codes();
        // One query: both counts in one pass over the account's administrators, joined to the
        // page, so the counts come back (with no administrator) when the page is empty.
        let rows: Vec<ListRow> = sqlx::query_as(&format!(
            "SELECT c.total, c.matching, p.* \
             FROM (SELECT COUNT(*) AS total, \
                          COALESCE(SUM(CASE WHEN {search_matches} THEN 1 ELSE 0 END), 0) AS matching \
                   FROM admins a WHERE a.account_id = $1) c \
             LEFT JOIN (SELECT a.id, a.first_name, a.last_name, a.email, a.role, a.status, a.created_at, \
                        CAST(CASE WHEN a.receives_invoices AND a.status = 'active' AND a.role IN ({billing_roles}) THEN 1 ELSE 0 END AS BIGINT) AS receives_invoices, \
                        CAST(CASE WHEN a.email_key = LOWER({contact}) THEN 1 ELSE 0 END AS BIGINT) AS billing_contact, \
                        (SELECT COUNT(*) FROM command_runners r WHERE r.admin_id = a.id) AS bound, \
                        ((SELECT COUNT(*) FROM admin_totp t WHERE t.admin_id = a.id AND t.enabled_at IS NOT NULL) \
                         + (SELECT COUNT(*) FROM admin_passkeys k WHERE k.admin_id = a.id)) AS two_step \
                        FROM admins a \
                        WHERE a.account_id = $1 AND {search_matches} ORDER BY a.created_at, a.id LIMIT $3 OFFSET $4) p ON 1 = 1 \
             ORDER BY p.created_at, p.id"
        ))
        .bind(&actor.account_id)
        .bind(search_text(search))
        .bind(i64::from(ADMINS_PER_PAGE))
        .bind(offset(page, ADMINS_PER_PAGE))
        .fetch_all(self.ctx.db.pool())
        .await
        .context("reading a page of administrators")?;
        let (total, matching) = list_counts(rows.first().map(|r| (r.total, r.matching)));
        let mut admins = Vec::with_capacity(rows.len());
        for r in rows {
            let (
                Some(id),
                Some(first_name),
                Some(last_name),
                Some(email),
                Some(role),
                Some(status),
            ) = (r.id, r.first_name, r.last_name, r.email, r.role, r.status)
            else {
                continue;
            };
            let role = role_of(&role)?;
            admins.push(AdminListItem {
                id,
                first_name,
                last_name,
                email,
                role,
                status: status_of(&status)?,
                billing_only: is_billing_only(role, r.bound.unwrap_or(0).max(0) as usize),
                receives_invoices: r.receives_invoices.unwrap_or(0) != 0
                    || r.billing_contact.unwrap_or(0) != 0,
                billing_contact: r.billing_contact.unwrap_or(0) != 0,
                two_step: r.two_step.unwrap_or(0) > 0,
            });
        }
        Ok(AdminListing {
            admins,
            matching,
            total,
        })
    }

    /// Applies a role change, suspension or deletion under the account's rules, atomically.
    pub async fn change(
        &self,
        actor: &Actor,
        target_id: &str,
        change: AdminChange,
    ) -> Result<(), ServiceError> {
        // Roles, suspensions and deletions need a recent proof it is the actor (not
        // unsuspending, which gives nobody more than they had).
        if change != AdminChange::Unsuspend {
            self.ctx.require_fresh(actor)?;
        }
        let now = self.ctx.now();
        let mut tx = self
            .ctx
            .db
            .pool()
            .begin()
            .await
            .context("changing an administrator")?;
        // Serialise every administrator change of this account: a write first, so SQLite takes
        // its write lock now (not at a later upgrade) and PostgreSQL locks the account row.
        sqlx::query("UPDATE accounts SET admin_version = admin_version + 1 WHERE id = $1")
            .bind(&actor.account_id)
            .execute(&mut *tx)
            .await
            .context("locking the account's administrators")?;
        let rows: Vec<FactRow> =
            sqlx::query_as("SELECT id, email, role, status FROM admins WHERE account_id = $1")
                .bind(&actor.account_id)
                .fetch_all(&mut *tx)
                .await
                .context("reading the account's administrators")?;
        let mut facts = Vec::with_capacity(rows.len());
        let mut target = None;
        for r in rows {
            let role = role_of(&r.role)?;
            let status = status_of(&r.status)?;
            // The actor acts with the role their request was authorised with (its session,
            // read as the request began), so changes that race each other settle by the
            // account's rules alone: of k billing admins demoting each other at once, exactly
            // k − 1 succeed. One suspended or deleted meanwhile acts no more.
            if r.id == actor.id && status != AdminStatus::Active {
                return Err(ServiceError::Forbidden);
            }
            if r.id == target_id {
                target = Some((r.email, role));
            }
            facts.push(AdminFacts {
                id: r.id,
                role,
                status,
            });
        }
        if !facts.iter().any(|f| f.id == actor.id) {
            return Err(ServiceError::Forbidden);
        }
        let (target_email, before) = target.ok_or(ServiceError::NotFound)?;
        check_admin_change(&facts, &actor.id, &target_id.to_string(), change).map_err(
            |e| match e {
                AdminRuleError::UnknownAdmin => ServiceError::NotFound,
                other => ServiceError::Conflict(other.to_string()),
            },
        )?;
        let account = actor.account_id.as_str();
        let mut unbound = Vec::new();
        let mut opt_in_ended = false;
        let (kind, detail) = match change {
            AdminChange::SetRole(role) => {
                sqlx::query(
                    "UPDATE admins SET role = $1, updated_at = $2 WHERE id = $3 AND account_id = $4",
                )
                .bind(role.code())
                .bind(now)
                .bind(target_id)
                .bind(account)
                .execute(&mut *tx)
                .await
                .context("changing an administrator's role")?;
                // A role that runs no commands keeps no bindings: a runner made Read Only no
                // longer reads the scripts they were bound to.
                if !allows(role, Action::RunBoundCommands) {
                    unbound = crate::commands::unbind_all(&mut tx, account, target_id).await?;
                }
                // Invoices go only to billing roles: a role without billing ends the opt-in.
                if !role.has_billing() {
                    let ended = sqlx::query(
                        "UPDATE admins SET receives_invoices = FALSE WHERE id = $1 AND account_id = $2 AND receives_invoices = TRUE",
                    )
                    .bind(target_id)
                    .bind(account)
                    .execute(&mut *tx)
                    .await
                    .context("ending an invoice opt-in")?;
                    opt_in_ended = ended.rows_affected() == 1;
                }
                (
                    AuditKind::AdminRoleChanged,
                    format!("{} → {}", before.display_name(), role.display_name()),
                )
            }
            AdminChange::Suspend => {
                sqlx::query(
                    "UPDATE admins SET status = 'suspended', updated_at = $1 WHERE id = $2 AND account_id = $3",
                )
                .bind(now)
                .bind(target_id)
                .bind(account)
                .execute(&mut *tx)
                .await
                .context("suspending an administrator")?;
                sessions::end_all(&mut *tx, target_id).await?;
                (
                    AuditKind::AdminSuspended,
                    format!("role {}", before.display_name()),
                )
            }
            AdminChange::Unsuspend => {
                // Someone suspended before accepting their invitation is invited again.
                sqlx::query(
                    "UPDATE admins SET status = CASE WHEN password_hash IS NULL THEN 'invited' ELSE 'active' END, \
                     updated_at = $1 WHERE id = $2 AND account_id = $3",
                )
                .bind(now)
                .bind(target_id)
                .bind(account)
                .execute(&mut *tx)
                .await
                .context("unsuspending an administrator")?;
                (
                    AuditKind::AdminUnsuspended,
                    format!("role {}", before.display_name()),
                )
            }
            AdminChange::Delete => {
                sqlx::query("DELETE FROM admins WHERE id = $1 AND account_id = $2")
                    .bind(target_id)
                    .bind(account)
                    .execute(&mut *tx)
                    .await
                    .context("deleting an administrator")?;
                sessions::end_all(&mut *tx, target_id).await?;
                (
                    AuditKind::AdminDeleted,
                    format!("role {}", before.display_name()),
                )
            }
        };
        let mut events = vec![(kind, Event::by(actor, &target_email, detail))];
        for command in &unbound {
            events.push((
                AuditKind::RunnerUnbound,
                Event::by(
                    actor,
                    &target_email,
                    format!("{command} (their new role runs no commands)"),
                ),
            ));
        }
        if opt_in_ended {
            events.push((
                AuditKind::InvoiceRecipientChanged,
                Event::by(
                    actor,
                    &target_email,
                    "no longer receives invoices (their new role has no billing)".into(),
                ),
            ));
        }
        record_many(&mut tx, now, &events)
            .await
            .context("auditing an administrator change")?;
        tx.commit().await.context("saving an administrator change")
    }

    /// The administrators invited and not signed in yet, oldest first, with when their newest
    /// invitation link expires (none: it has, and it needs resending).
    pub async fn pending_invitations(
        &self,
        actor: &Actor,
    ) -> Result<Vec<PendingInvitation>, ServiceError> {
        sqlx::query_as(
            "SELECT a.id, a.first_name, a.last_name, a.email, a.role, \
             (SELECT MAX(t.expires_at) FROM one_time_tokens t WHERE t.admin_id = a.id AND t.kind = 'invitation' \
              AND t.used_at IS NULL AND t.expires_at > $2) AS expires_at \
             FROM admins a WHERE a.account_id = $1 AND a.status = 'invited' ORDER BY a.created_at, a.id",
        )
        .bind(&actor.account_id)
        .bind(self.ctx.now())
        .fetch_all(self.ctx.db.pool())
        .await
        .context("reading pending invitations")
    }

    /// Emails a new invitation link to an administrator who has not accepted yet; earlier
    /// links stop working.
    pub async fn resend_invitation(
        &self,
        actor: &Actor,
        target_id: &str,
    ) -> Result<(), ServiceError> {
        let invitee: Invitee =
            sqlx::query_as("SELECT email, status FROM admins WHERE id = $1 AND account_id = $2")
                .bind(target_id)
                .bind(&actor.account_id)
                .fetch_optional(self.ctx.db.pool())
                .await
                .context("reading an invitee")?
                .ok_or(ServiceError::NotFound)?;
        throttle::check(&self.ctx, throttle::INVITATION_RESEND_PER_ADMIN, target_id).await?;
        if invitee.status != AdminStatus::Invited.code() {
            return Err(ServiceError::Conflict(
                "This administrator has already set a password or is suspended, so there is no invitation to resend. \
                 If they forgot their password, they can reset it from the sign-in page."
                    .into(),
            ));
        }
        // Only the newest link works: earlier ones are expired now, and their page says what to do.
        links::expire_invitations(&self.ctx, target_id, &actor.account_id).await?;
        self.invite(actor, target_id, &invitee.email, "resent")
            .await
    }
}

/// An administrator invited and not signed in yet.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct PendingInvitation {
    pub id: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub role: String,
    /// When the newest unused link expires; `None` once every link has.
    pub expires_at: Option<i64>,
}

/// The first administrator of a new account.
pub struct FirstAdmin<'a> {
    pub id: &'a str,
    pub account_id: &'a str,
    pub email: &'a Email,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub role: Role,
    pub password_hash: &'a str,
    pub now: i64,
}

/// Inserts an active administrator with a password (set-up), in `exec`.
pub async fn insert_first<'e, E>(exec: E, admin: &FirstAdmin<'_>) -> Result<(), ServiceError>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query(
        "INSERT INTO admins (id, account_id, email, email_key, first_name, last_name, role, status, password_hash, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'active', $8, $9, $9)",
    )
    .bind(admin.id)
    .bind(admin.account_id)
    .bind(admin.email.as_str())
    .bind(admin.email.normalized_key())
    .bind(admin.first_name)
    .bind(admin.last_name)
    .bind(admin.role.code())
    .bind(admin.password_hash)
    .bind(admin.now)
    .execute(exec)
    .await
    .context("inserting the first administrator")?;
    Ok(())
}

/// Saves one's own new password hash, in `exec`.
pub async fn set_password<'e, E>(
    exec: E,
    admin_id: &str,
    hash: &str,
    now: i64,
) -> Result<(), ServiceError>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query("UPDATE admins SET password_hash = $1, updated_at = $2 WHERE id = $3")
        .bind(hash)
        .bind(now)
        .bind(admin_id)
        .execute(exec)
        .await
        .context("saving a password")?;
    Ok(())
}

/// Saves the password set through an invitation or reset link, in `exec`: the administrator
/// becomes active and any lockout ends — unless they are suspended, which only another
/// administrator undoes. False when they are (the row is checked as it is at this moment).
pub async fn set_password_from_link<'e, E>(
    exec: E,
    admin_id: &str,
    hash: &str,
    now: i64,
) -> Result<bool, ServiceError>
where
    E: Executor<'e, Database = Any>,
{
    let updated = sqlx::query(
        "UPDATE admins SET password_hash = $1, status = 'active', failed_sign_ins = 0, locked_until = NULL, updated_at = $2 \
         WHERE id = $3 AND status <> 'suspended'",
    )
    .bind(hash)
    .bind(now)
    .bind(admin_id)
    .execute(exec)
    .await
    .context("saving a password from a link")?;
    Ok(updated.rows_affected() == 1)
}
