//! The seller's operators as its Owner manages them (Manage operators; every change with a
//! fresh check): the list, invitations — sent, and sent again — and changes of role,
//! standing and second step. Nobody changes themselves here, and the seller always keeps an
//! active Owner (`tally_core::operators::operator_change_refusal`). Each change is recorded
//! in the seller's own log (no account's) and emailed to the operator it is about.

use tally_core::{
    actor::OperatorActor,
    audit::AuditKind,
    operators::{operator_change_refusal, NewOperatorInput, OperatorAction, OperatorChange},
    roles::AdminStatus,
    views::operator::OperatorListRow,
};

use super::{customers::allowed, profile};
use crate::{
    identity::{
        operators::{invitations, rows, sessions, Operators},
        throttle, two_step,
    },
    platform::{audit::Event, context::Context, error::ServiceError, mail::emails, work::Work},
};

#[derive(Clone)]
pub struct OperatorStaff {
    ctx: Context,
    operators: Operators,
}

impl OperatorStaff {
    pub fn new(ctx: Context, operators: Operators) -> Self {
        Self { ctx, operators }
    }

    /// The Owner, for a change: allowed, and fresh.
    fn owner_fresh(&self, owner: &OperatorActor) -> Result<(), ServiceError> {
        allowed(owner, OperatorAction::ManageOperators)?;
        if !owner.is_fresh(self.ctx.now()) {
            return Err(ServiceError::FreshCheckRequired);
        }
        Ok(())
    }

    /// Every operator, with their role, state, second step, invitation and last activity.
    pub async fn list(&self, owner: &OperatorActor) -> Result<Vec<OperatorListRow>, ServiceError> {
        allowed(owner, OperatorAction::ManageOperators)?;
        let pool = self.ctx.db.pool();
        let all = rows::all(pool).await?;
        let ids: Vec<String> = all.iter().map(|(o, _)| o.id.clone()).collect();
        let with_two_step = two_step::with_second_step(pool, &ids).await?;
        let invited = invitations::newest(pool, self.ctx.now()).await?;
        Ok(all
            .into_iter()
            .map(|(o, last_seen_at)| OperatorListRow {
                name: format!("{} {}", o.first_name, o.last_name),
                two_step: with_two_step.contains(&o.id),
                invitation_expires_at: invited
                    .get(&o.id)
                    .copied()
                    .filter(|_| o.status == AdminStatus::Invited),
                is_you: o.id == owner.id,
                last_seen_at,
                email: o.email,
                role: o.role,
                status: o.status,
                id: o.id,
            })
            .collect())
    }

    /// The seller's name, for the messages.
    async fn seller_name(&self) -> Result<String, ServiceError> {
        Ok(profile::details(self.ctx.db.pool())
            .await?
            .map(|d| d.legal_name)
            .unwrap_or_else(|| "The seller".into()))
    }

    /// Invites an operator: they are added, invited by email to set a password (then a second
    /// step), and counted nowhere until they have. Their id.
    pub async fn invite(
        &self,
        owner: &OperatorActor,
        input: &NewOperatorInput,
    ) -> Result<String, ServiceError> {
        allowed(owner, OperatorAction::ManageOperators)?;
        let new = input.parse().map_err(ServiceError::Invalid)?;
        self.owner_fresh(owner)?;
        let seller = self.seller_name().await?;
        let mut work = self.ctx.begin("inviting an operator").await?;
        let (id, url) = self.operators.add_invited(&mut work, &new).await?;
        self.invitation_mail(
            &mut work,
            owner,
            &seller,
            new.email.as_str(),
            new.role,
            &url,
        );
        work.audit(Event::by_operator(
            owner,
            AuditKind::OperatorAdded,
            new.email.as_str(),
            format!("invited as {}", new.role.display_name()),
        ));
        work.commit_queued().await?.wake_worker();
        Ok(id)
    }

    fn invitation_mail(
        &self,
        work: &mut Work,
        owner: &OperatorActor,
        seller: &str,
        to: &str,
        role: tally_core::operators::OperatorRole,
        url: &str,
    ) {
        work.mail(emails::operator_invitation(
            to,
            &owner.full_name(),
            seller,
            role,
            url,
            self.ctx.settings.invitation_hours,
        ));
    }

    /// Sends an invited operator a new invitation; earlier links stop working.
    pub async fn resend_invitation(
        &self,
        owner: &OperatorActor,
        operator_id: &str,
    ) -> Result<(), ServiceError> {
        self.owner_fresh(owner)?;
        let target = rows::by_id(self.ctx.db.pool(), operator_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        if target.status != AdminStatus::Invited {
            return Err(ServiceError::Conflict(format!(
                "{} has already set a password or is suspended: there is no invitation to send again.",
                target.email
            )));
        }
        throttle::check(
            &self.ctx,
            throttle::INVITATION_RESEND_PER_ADMIN,
            operator_id,
        )
        .await?;
        let seller = self.seller_name().await?;
        let mut work = self.ctx.begin("inviting an operator again").await?;
        let url = invitations::issue(&self.ctx, work.tx(), operator_id).await?;
        self.invitation_mail(&mut work, owner, &seller, &target.email, target.role, &url);
        work.audit(Event::by_operator(
            owner,
            AuditKind::InvitationSent,
            target.email.as_str(),
            "operator; sent again",
        ));
        work.commit_queued().await?.wake_worker();
        Ok(())
    }

    /// Changes an operator's role, standing or second step. Suspending ends their sessions
    /// and unused invitations; a reset removes their app, passkeys and recovery codes and
    /// ends their sessions, so they set up a new second step at their next sign-in.
    pub async fn change(
        &self,
        owner: &OperatorActor,
        operator_id: &str,
        change: OperatorChange,
    ) -> Result<(), ServiceError> {
        self.owner_fresh(owner)?;
        let mut work = self.ctx.begin("changing an operator").await?;
        let owners = rows::lock_active_owners(work.tx()).await?;
        let target = rows::by_id(work.tx(), operator_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let active = target.status == AdminStatus::Active;
        if let Some(why) = operator_change_refusal(
            target.id == owner.id,
            target.role,
            active,
            change,
            owners.len() as u64,
        ) {
            return Err(ServiceError::Conflict(why.into()));
        }
        let now = work.now();
        let (kind, detail, told) = match change {
            OperatorChange::Role(role) => {
                if role == target.role {
                    return Ok(());
                }
                rows::set_role(work.tx(), operator_id, role, now).await?;
                (
                    AuditKind::OperatorRoleChanged,
                    format!("{} → {}", target.role.display_name(), role.display_name()),
                    format!(
                        "Your role in the operator console is now {}: {}",
                        role.display_name(),
                        role.description()
                    ),
                )
            }
            OperatorChange::Suspend => {
                if target.status == AdminStatus::Suspended {
                    return Ok(());
                }
                rows::set_status(work.tx(), operator_id, AdminStatus::Suspended, now).await?;
                sessions::end_others(work.tx(), operator_id, "").await?;
                invitations::end(work.tx(), operator_id, now).await?;
                (
                    AuditKind::OperatorSuspended,
                    String::new(),
                    "Your access to the operator console is suspended: you can no longer sign in, and your sessions have ended.".to_string(),
                )
            }
            OperatorChange::Reactivate => {
                if target.status != AdminStatus::Suspended {
                    return Ok(());
                }
                // Back to where they were: active with their password, or still invited.
                let back = if target.password_hash.is_some() {
                    AdminStatus::Active
                } else {
                    AdminStatus::Invited
                };
                rows::set_status(work.tx(), operator_id, back, now).await?;
                (
                    AuditKind::OperatorReactivated,
                    String::new(),
                    "Your access to the operator console is back: you can sign in again."
                        .to_string(),
                )
            }
            OperatorChange::ResetTwoStep => {
                two_step::forget(work.tx(), operator_id).await?;
                sessions::end_others(work.tx(), operator_id, "").await?;
                rows::LOCKOUT
                    .clear_second_step_failures(work.tx(), operator_id)
                    .await?;
                (
                    AuditKind::TwoStepReset,
                    "operator; every second step removed, on request".to_string(),
                    "Your two-step verification for the operator console was reset, as asked: your authenticator app, passkeys and recovery codes no longer work, and your sessions have ended. Sign in and set it up again.".to_string(),
                )
            }
        };
        work.audit(Event::by_operator(
            owner,
            kind,
            target.email.as_str(),
            detail,
        ));
        work.mail(emails::operator_access_changed(&target.email, &told));
        work.commit_queued().await?.wake_worker();
        Ok(())
    }
}
