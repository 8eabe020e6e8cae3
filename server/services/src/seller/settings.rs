//! The seller's settings page (Owner): the details printed on invoices and emails, the plan a
//! new customer account starts on, when failed charges are tried again, and automatic
//! suspension of accounts long unpaid. Saving needs a fresh check and is audited in the
//! seller's own log (no account's).

use tally_core::{
    actor::OperatorActor,
    audit::AuditKind,
    operators::OperatorAction,
    seller::{SellerSettings, SettingsInput},
    vat::registrations_text,
};

use super::{customers::allowed, profile};
use crate::{
    billing::settings::{self, BillingSettings},
    platform::{audit::Event, context::Context, error::ServiceError},
};

#[derive(Clone)]
pub struct SellerSettingsService {
    ctx: Context,
}

impl SellerSettingsService {
    pub fn new(ctx: Context) -> Self {
        Self { ctx }
    }

    /// The settings as the form starts from.
    pub async fn get(&self, operator: &OperatorActor) -> Result<SettingsInput, ServiceError> {
        allowed(operator, OperatorAction::ManageSellerSettings)?;
        let pool = self.ctx.db.pool();
        let details = profile::details(pool)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let billing = settings::read(pool).await?;
        Ok(SettingsInput::from(&SellerSettings {
            details,
            retry: billing.retry,
            auto_suspend_after_days: billing.auto_suspend_after_days,
            tax_registrations: billing.tax.registrations,
            oss: billing.tax.oss,
        }))
    }

    /// Saves them, each field held to core's rules.
    pub async fn save(
        &self,
        operator: &OperatorActor,
        input: &SettingsInput,
    ) -> Result<(), ServiceError> {
        allowed(operator, OperatorAction::ManageSellerSettings)?;
        let parsed = input.parse().map_err(ServiceError::Invalid)?;
        if !operator.is_fresh(self.ctx.now()) {
            return Err(ServiceError::FreshCheckRequired);
        }
        let mut work = self.ctx.begin("saving the seller's settings").await?;
        let now = work.now();
        if !profile::save(work.tx(), &parsed.details, now).await? {
            return Err(ServiceError::NotFound);
        }
        settings::save(
            work.tx(),
            &BillingSettings {
                retry: parsed.retry.clone(),
                auto_suspend_after_days: parsed.auto_suspend_after_days,
                tax: parsed.tax(),
            },
            now,
        )
        .await?;
        let days = parsed
            .retry
            .days_after_first_failure
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        let suspend = parsed
            .auto_suspend_after_days
            .map_or("never".to_string(), |d| format!("after {d} days unpaid"));
        work.audit(Event::by_operator(
            operator,
            AuditKind::SellerSettingsChanged,
            parsed.details.legal_name.as_str(),
            format!(
                "retries after {days} days; automatic suspension {suspend}; VAT charged in {}{}",
                if parsed.tax_registrations.is_empty() {
                    "no country".to_string()
                } else {
                    registrations_text(&parsed.tax_registrations)
                },
                if parsed.oss {
                    " and through the One-Stop Shop"
                } else {
                    ""
                }
            ),
        ));
        work.commit().await
    }
}
