//! The Administrators page: the list, creation with an invitation, role changes, suspension
//! and deletion under the account's rules, invitations sent again. Every query is scoped to
//! the caller's account; the rows are `identity`'s, the bindings `commands`'.

use tally_core::{
    actor::Actor,
    audit::AuditKind,
    forms::NewAdmin,
    roles::{
        allows, check_admin_change, is_billing_only, Action, AdminChange, AdminFacts,
        AdminRuleError, AdminStatus,
    },
    views::admins::{AdminPage, AdminSummary, PendingInvitation, ADMINS_PER_PAGE},
};

use super::commands;
use crate::{
    identity::{
        accounts::{self, admins, sessions},
        links::{self, Invitation},
        throttle, two_step,
    },
    platform::{audit::Event, context::Context, error::ServiceError, work::Work},
};

/// Administrators of the caller's account.
#[derive(Clone)]
pub struct Administrators {
    ctx: Context,
}

impl Administrators {
    pub fn new(ctx: Context) -> Self {
        Self { ctx }
    }

    /// Creates an invited administrator and emails them an invitation, in one unit of work;
    /// returns their id.
    pub async fn create(&self, actor: &Actor, new: &NewAdmin) -> Result<String, ServiceError> {
        self.ctx.require_fresh(actor)?;
        let id = self.ctx.new_id();
        let mut work = self.ctx.begin("creating an administrator").await?;
        let row = admins::NewAdminRow {
            id: &id,
            account_id: &actor.account_id,
            email: &new.email,
            first_name: &new.first_name,
            last_name: &new.last_name,
            role: new.role,
            password_hash: None,
            now: work.now(),
        };
        if !admins::insert(work.tx(), &row).await? {
            return Err(ServiceError::field(
                "email",
                "An administrator with this email already exists.",
            ));
        }
        let email = new.email.as_str();
        work.audit(Event::by(
            actor,
            AuditKind::AdminCreated,
            email,
            format!("role {}", new.role.display_name()),
        ));
        self.invite(&mut work, actor, &id, email, new.role, "")
            .await?;
        work.commit().await?;
        Ok(id)
    }

    /// Adds an invitation (its link, its email, its audit event) to `work`.
    async fn invite(
        &self,
        work: &mut Work,
        actor: &Actor,
        id: &str,
        email: &str,
        role: tally_core::roles::Role,
        detail: &str,
    ) -> Result<(), ServiceError> {
        let invited_by = actor.full_name();
        let invitation = Invitation {
            admin_id: id,
            account_id: &actor.account_id,
            email,
            role,
            invited_by: &invited_by,
        };
        links::invite(&self.ctx, work, &invitation).await?;
        work.audit(Event::by(actor, AuditKind::InvitationSent, email, detail));
        Ok(())
    }

    /// One page of the caller's account's administrators whose name or email contains
    /// `search`, oldest first. `billing_contact` is the account's billing contact's address
    /// (billing's to know), marked on the page and counted as receiving invoices.
    pub async fn list(
        &self,
        actor: &Actor,
        search: &str,
        page: u32,
        billing_contact: Option<&str>,
    ) -> Result<AdminPage, ServiceError> {
        let pool = self.ctx.db.pool();
        let (rows, total, matching) =
            admins::page(pool, &actor.account_id, search, page, ADMINS_PER_PAGE).await?;
        let ids: Vec<String> = rows.iter().map(|a| a.id.clone()).collect();
        let second_steps = two_step::with_second_step(pool, &ids).await?;
        let bound = commands::bound_counts(pool, &actor.account_id).await?;
        let admins = rows
            .into_iter()
            .map(|a| {
                let billing_contact =
                    billing_contact.is_some_and(|c| c.eq_ignore_ascii_case(&a.email));
                // The billing contact receives invoices whatever their role; a billing
                // administrator receives them when they opted in.
                let opted_in = a.receives_invoices != 0
                    && a.status == AdminStatus::Active
                    && a.role.has_billing();
                AdminSummary {
                    billing_only: is_billing_only(a.role, bound.get(&a.id).copied().unwrap_or(0)),
                    receives_invoices: opted_in || billing_contact,
                    billing_contact,
                    two_step: second_steps.contains(&a.id),
                    is_you: a.id == actor.id,
                    id: a.id,
                    first_name: a.first_name,
                    last_name: a.last_name,
                    email: a.email,
                    role: a.role,
                    status: a.status,
                }
            })
            .collect();
        Ok(AdminPage {
            admins,
            matching,
            total,
            page,
            per_page: ADMINS_PER_PAGE,
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
        let account = actor.account_id.as_str();
        let mut work = self.ctx.begin("changing an administrator").await?;
        let now = work.now();
        accounts::lock_administrators(work.tx(), account).await?;
        let rows = admins::of_account(work.tx(), account).await?;
        let mut facts = Vec::with_capacity(rows.len());
        let mut target = None;
        for r in rows {
            // The actor acts with the role their request was authorised with (its session,
            // read as the request began), so changes that race each other settle by the
            // account's rules alone: of k billing admins demoting each other at once, exactly
            // k − 1 succeed. One suspended or deleted meanwhile acts no more.
            if r.id == actor.id && r.status != AdminStatus::Active {
                return Err(ServiceError::Forbidden);
            }
            if r.id == target_id {
                target = Some((r.email.clone(), r.role));
            }
            facts.push(AdminFacts {
                id: r.id,
                role: r.role,
                status: r.status,
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
        // What the change brings with it, recorded after the change itself.
        let mut consequences = Vec::new();
        let (kind, detail) = match change {
            AdminChange::SetRole(role) => {
                admins::set_role(work.tx(), account, target_id, role, now).await?;
                // A role that runs no commands keeps no bindings: a runner made Read Only no
                // longer reads the scripts they were bound to.
                if !allows(role, Action::RunBoundCommands) {
                    let unbound = commands::unbind_all(work.tx(), account, target_id).await?;
                    for command in unbound {
                        consequences.push(Event::by(
                            actor,
                            AuditKind::RunnerUnbound,
                            target_email.as_str(),
                            format!("{command} (their new role runs no commands)"),
                        ));
                    }
                }
                // Invoices go only to billing roles: a role without billing ends the opt-in.
                if !role.has_billing()
                    && admins::set_receives_invoices(work.tx(), account, target_id, false).await?
                {
                    consequences.push(Event::by(
                        actor,
                        AuditKind::InvoiceRecipientChanged,
                        target_email.as_str(),
                        "no longer receives invoices (their new role has no billing)",
                    ));
                }
                (
                    AuditKind::AdminRoleChanged,
                    format!("{} → {}", before.display_name(), role.display_name()),
                )
            }
            AdminChange::Suspend => {
                admins::suspend(work.tx(), account, target_id, now).await?;
                sessions::end_all(work.tx(), target_id).await?;
                (
                    AuditKind::AdminSuspended,
                    format!("role {}", before.display_name()),
                )
            }
            AdminChange::Unsuspend => {
                // Someone suspended before accepting their invitation is invited again.
                admins::unsuspend(work.tx(), account, target_id, now).await?;
                (
                    AuditKind::AdminUnsuspended,
                    format!("role {}", before.display_name()),
                )
            }
            AdminChange::Delete => {
                crate::identity::two_step::forget(work.tx(), target_id).await?;
                admins::delete(work.tx(), account, target_id).await?;
                sessions::end_all(work.tx(), target_id).await?;
                (
                    AuditKind::AdminDeleted,
                    format!("role {}", before.display_name()),
                )
            }
        };
        work.audit(Event::by(actor, kind, target_email, detail));
        for event in consequences {
            work.audit(event);
        }
        work.commit().await
    }

    /// The administrators invited and not signed in yet, oldest first, with whether their
    /// newest invitation link still works.
    pub async fn pending_invitations(
        &self,
        actor: &Actor,
    ) -> Result<Vec<PendingInvitation>, ServiceError> {
        let pool = self.ctx.db.pool();
        let invited = admins::invited(pool, &actor.account_id).await?;
        let valid = links::newest_invitations(pool, &actor.account_id, self.ctx.now()).await?;
        Ok(invited
            .into_iter()
            .map(|a| PendingInvitation {
                name: a.full_name(),
                link_valid: valid.contains_key(&a.id),
                email: a.email,
                role: a.role,
            })
            .collect())
    }

    /// Emails a new invitation link to an administrator who has not accepted yet; earlier
    /// links stop working.
    pub async fn resend_invitation(
        &self,
        actor: &Actor,
        target_id: &str,
    ) -> Result<(), ServiceError> {
        let invitee = admins::in_account(self.ctx.db.pool(), &actor.account_id, target_id).await?;
        throttle::check(&self.ctx, throttle::INVITATION_RESEND_PER_ADMIN, target_id).await?;
        if invitee.status != AdminStatus::Invited {
            return Err(ServiceError::Conflict(
                "This administrator has already set a password or is suspended, so there is no invitation to resend. \
                 If they forgot their password, they can reset it from the sign-in page."
                    .into(),
            ));
        }
        // Only the newest link works: earlier ones are expired now, and their page says what to do.
        links::expire_invitations(&self.ctx, target_id, &actor.account_id).await?;
        let mut work = self.ctx.begin("sending an invitation again").await?;
        self.invite(
            &mut work,
            actor,
            target_id,
            &invitee.email,
            invitee.role,
            "resent",
        )
        .await?;
        work.commit().await
    }
}
