//! A customer account's administrators, as the seller's staff help them (Owner, Support; each
//! with a fresh check): an invitation sent again to one who has not accepted, and the
//! two-step verification of one who lost their device reset on request. Both are audited in
//! the account's log as done by the seller's staff and emailed to the administrator.

use tally_core::{
    actor::OperatorActor, audit::AuditKind, operators::OperatorAction, roles::AdminStatus,
};

use super::customers::allowed;
use crate::{
    identity::{
        accounts::{admins, sessions},
        links::{self, Invitation},
        throttle, two_step,
    },
    platform::{audit::Event, context::Context, error::ServiceError, mail::emails},
};

#[derive(Clone)]
pub struct AccountAdministrators {
    ctx: Context,
}

impl AccountAdministrators {
    pub fn new(ctx: Context) -> Self {
        Self { ctx }
    }

    /// The administrator, if the operator may help administrators (fresh) and they are of
    /// that account.
    async fn target(
        &self,
        operator: &OperatorActor,
        account_id: &str,
        admin_id: &str,
    ) -> Result<admins::Admin, ServiceError> {
        allowed(operator, OperatorAction::ManageAccountAdministrators)?;
        if !operator.is_fresh(self.ctx.now()) {
            return Err(ServiceError::FreshCheckRequired);
        }
        admins::in_account(self.ctx.db.pool(), account_id, admin_id).await
    }

    /// Emails a new invitation link to an administrator who has not accepted yet; earlier
    /// links stop working.
    pub async fn resend_invitation(
        &self,
        operator: &OperatorActor,
        account_id: &str,
        admin_id: &str,
    ) -> Result<(), ServiceError> {
        let invitee = self.target(operator, account_id, admin_id).await?;
        if invitee.status != AdminStatus::Invited {
            return Err(ServiceError::Conflict(format!(
                "{} has already set a password or is suspended: there is no invitation to resend. A forgotten password is reset from the sign-in page.",
                invitee.email
            )));
        }
        throttle::check(&self.ctx, throttle::INVITATION_RESEND_PER_ADMIN, admin_id).await?;
        links::expire_invitations(&self.ctx, admin_id, account_id).await?;
        let invited_by = format!("{} (the seller's staff)", operator.full_name());
        let mut work = self.ctx.begin("sending an invitation again").await?;
        links::invite(
            &self.ctx,
            &mut work,
            &Invitation {
                admin_id,
                account_id,
                email: &invitee.email,
                role: invitee.role,
                invited_by: &invited_by,
            },
        )
        .await?;
        work.audit(Event {
            account_id: Some(account_id.to_string()),
            ..Event::by_operator(
                operator,
                AuditKind::InvitationSent,
                invitee.email.as_str(),
                "resent by the seller's staff",
            )
        });
        work.commit().await
    }

    /// Ends an administrator's two-step verification (they lost their device and asked the
    /// seller): their app, passkeys and recovery codes are removed, their sessions end, and
    /// they are emailed.
    pub async fn reset_two_step(
        &self,
        operator: &OperatorActor,
        account_id: &str,
        admin_id: &str,
    ) -> Result<(), ServiceError> {
        let target = self.target(operator, account_id, admin_id).await?;
        let mut work = self.ctx.begin("resetting two-step verification").await?;
        two_step::forget(work.tx(), admin_id).await?;
        sessions::end_all(work.tx(), admin_id).await?;
        admins::LOCKOUT
            .clear_second_step_failures(work.tx(), admin_id)
            .await?;
        work.audit(Event {
            account_id: Some(account_id.to_string()),
            ..Event::by_operator(
                operator,
                AuditKind::TwoStepReset,
                target.email.as_str(),
                "every second step removed, on request, by the seller's staff",
            )
        });
        let what = "The company that runs Tally reset your two-step verification, as asked: your authenticator app, passkeys and recovery codes no longer work, and every session of yours has ended. Sign in and set it up again in Account settings.";
        work.mail(emails::two_step_changed(&target.email, what));
        work.commit().await
    }
}
