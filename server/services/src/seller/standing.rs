//! A customer account's standing, changed by the seller's staff (Owner, Support): suspended
//! (its administrators see why and whom to ask; only paying works; nothing is charged),
//! active again, or closed (a last invoice for the month so far, charged at once; then
//! read-only, never billed again). Each change is audited in the account's log as done by the
//! seller's staff and emailed to its billing contact.

use tally_core::{
    account_status::{AccountStatus, StandingView},
    actor::{Actor, OperatorActor},
    audit::AuditKind,
    contact::optional_text,
    operators::OperatorAction,
    webhooks::WebhookEvent,
};

use super::{customers::allowed, profile};
use crate::{
    billing::{
        info,
        invoices::{self, run::BillingRun},
        scheduler::AfterPass,
        settings,
    },
    identity::accounts::{self, AccountRow, Billable},
    platform::{audit::Event, context::Context, error::ServiceError, mail::emails, webhooks::Hook},
};

/// Changes to accounts' standing.
#[derive(Clone)]
pub struct Standing {
    ctx: Context,
    billing_run: BillingRun,
}

impl Standing {
    pub fn new(ctx: Context, billing_run: BillingRun) -> Self {
        Self { ctx, billing_run }
    }

    /// Suspends an active account, with the reason its administrators are shown.
    pub async fn suspend(
        &self,
        operator: &OperatorActor,
        account_id: &str,
        reason: &str,
    ) -> Result<(), ServiceError> {
        let reason = required_reason(reason)?;
        let account = self
            .changeable(operator, account_id, &[AccountStatus::Active])
            .await?;
        self.change(
            Some(operator),
            &account,
            AccountStatus::Suspended,
            Some(&reason),
            "It is suspended: its administrators can sign in only to pay what is due, and nothing is charged meanwhile.",
        )
        .await
    }

    /// Makes a suspended account active again.
    pub async fn reactivate(
        &self,
        operator: &OperatorActor,
        account_id: &str,
    ) -> Result<(), ServiceError> {
        let account = self
            .changeable(operator, account_id, &[AccountStatus::Suspended])
            .await?;
        self.change(
            Some(operator),
            &account,
            AccountStatus::Active,
            None,
            "It is active again: everything works as before, and charges resume.",
        )
        .await
    }

    /// Closes an account: its last invoice (the month so far) is made and charged now; then
    /// it is read-only and never billed again.
    pub async fn close(
        &self,
        operator: &OperatorActor,
        account_id: &str,
        reason: &str,
    ) -> Result<(), ServiceError> {
        let reason = required_reason(reason)?;
        let account = self
            .changeable(
                operator,
                account_id,
                &[AccountStatus::Active, AccountStatus::Suspended],
            )
            .await?;
        self.change(
            Some(operator),
            &account,
            AccountStatus::Closed,
            Some(&reason),
            "It is closed: a last invoice covers this month so far, and nothing more will be billed. Its administrators can still sign in to read it.",
        )
        .await?;
        self.billing_run
            .final_invoice(&Billable {
                id: account.id,
                name: account.name,
            })
            .await
    }

    /// Suspends every active account with an invoice unpaid for longer than the seller allows
    /// (its settings; off unless set), each audited as the scheduler's and emailed to its
    /// billing contact as any suspension is. Returns how many.
    pub async fn suspend_overdue(&self) -> Result<u64, ServiceError> {
        const DAY: i64 = 86_400_000;
        let pool = self.ctx.db.pool();
        let Some(days) = settings::read(pool).await?.auto_suspend_after_days else {
            return Ok(0);
        };
        let before = self.ctx.now() - i64::from(days) * DAY;
        let mut suspended = 0;
        for (account_id, number) in invoices::unpaid_since(pool, before).await? {
            let Some(account) = accounts::by_id(pool, &account_id).await? else {
                continue;
            };
            if account.status != AccountStatus::Active {
                continue;
            }
            let reason = format!(
                "Invoice {number} is unpaid more than {days} days after its charge failed (suspended automatically)."
            );
            // Another server's pass may suspend it first (or an operator change it): then
            // this one leaves it, neither audited nor emailed twice.
            match self
                .change(
                    None,
                    &account,
                    AccountStatus::Suspended,
                    Some(&reason),
                    "It is suspended: its administrators can sign in only to pay what is due, and nothing is charged meanwhile.",
                )
                .await
            {
                Ok(()) => suspended += 1,
                Err(ServiceError::Conflict(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(suspended)
    }

    /// The caller's account's standing, why, and whom to ask (every administrator).
    pub async fn of(&self, actor: &Actor) -> Result<StandingView, ServiceError> {
        let pool = self.ctx.db.pool();
        let account = accounts::by_id(pool, &actor.account_id)
            .await?
            .ok_or(ServiceError::Unauthenticated)?;
        let seller = profile::details(pool).await?;
        Ok(StandingView {
            status: account.status,
            reason: account.status_reason,
            seller_name: seller.as_ref().map(|s| s.legal_name.clone()),
            seller_email: seller.map(|s| s.contact_email.to_string()),
        })
    }

    /// The account, if the operator may change it and it is in one of `from`.
    async fn changeable(
        &self,
        operator: &OperatorActor,
        account_id: &str,
        from: &[AccountStatus],
    ) -> Result<AccountRow, ServiceError> {
        allowed(operator, OperatorAction::ManageAccounts)?;
        if !operator.is_fresh(self.ctx.now()) {
            return Err(ServiceError::FreshCheckRequired);
        }
        let account = accounts::by_id(self.ctx.db.pool(), account_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        if !from.contains(&account.status) {
            return Err(ServiceError::Conflict(format!(
                "{} is {}.",
                account.name,
                account.status.label().to_lowercase()
            )));
        }
        Ok(account)
    }

    async fn change(
        &self,
        operator: Option<&OperatorActor>,
        account: &AccountRow,
        to: AccountStatus,
        reason: Option<&str>,
        what: &str,
    ) -> Result<(), ServiceError> {
        let pool = self.ctx.db.pool();
        let contact = info::contact(pool, &account.id).await?;
        let seller = profile::details(pool).await?;
        let mut work = self.ctx.begin("changing an account's standing").await?;
        let now = work.now();
        if !accounts::set_status(work.tx(), &account.id, account.status, to, reason, now).await? {
            return Err(ServiceError::Conflict(format!(
                "{} was changed meanwhile: reload the page to see its standing now.",
                account.name
            )));
        }
        let kind = match to {
            AccountStatus::Active => AuditKind::AccountReactivated,
            AccountStatus::Suspended => AuditKind::AccountSuspended,
            AccountStatus::Closed => AuditKind::AccountClosed,
        };
        let why = reason.unwrap_or_default();
        work.audit(match operator {
            Some(operator) => Event {
                account_id: Some(account.id.clone()),
                ..Event::by_operator(operator, kind, &account.name, why)
            },
            None => Event::system(kind, account.id.as_str(), account.name.as_str(), why),
        });
        let event = match to {
            AccountStatus::Active => None,
            AccountStatus::Suspended => Some(WebhookEvent::AccountSuspended),
            AccountStatus::Closed => Some(WebhookEvent::AccountClosed),
        };
        if let Some(event) = event {
            work.hook(Hook::new(
                event,
                serde_json::json!({
                    "account_id": account.id,
                    "name": account.name,
                    "reason": reason,
                    // The seller's staff or API key, or Tally itself (an overdue invoice).
                    "by": operator.map_or("automatic", |_| "seller"),
                }),
            ));
        }
        if let Some(contact) = contact {
            let (name, email) = seller
                .as_ref()
                .map_or(("the company that runs Tally", ""), |s| {
                    (s.legal_name.as_str(), s.contact_email.as_str())
                });
            work.mail(emails::account_standing(
                &contact.email,
                &account.name,
                what,
                reason,
                name,
                email,
            ));
        }
        work.commit().await
    }
}

/// A reason is asked for: the account's administrators read it.
fn required_reason(reason: &str) -> Result<String, ServiceError> {
    match optional_text(reason, "reason", 500) {
        Ok(Some(r)) => Ok(r),
        Ok(None) => Err(ServiceError::field(
            "reason",
            "Say why: the account's administrators are shown it.",
        )),
        Err(e) => Err(ServiceError::field("reason", e)),
    }
}

#[async_trait::async_trait]
impl AfterPass for Standing {
    /// The scheduler's pass ends with the accounts long unpaid suspended.
    async fn after_pass(&self) -> Result<(), ServiceError> {
        let n = self.suspend_overdue().await?;
        if n > 0 {
            tracing::info!(accounts = n, "suspended automatically: unpaid too long");
        }
        Ok(())
    }
}
