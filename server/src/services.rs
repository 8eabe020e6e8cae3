//! The server's implementations of the app's ports.

use std::sync::Arc;

use tally_app::ports::{Services, StatusService};

use crate::{
    admins::Admins, audit_log::AuditLog, auth::Auth, billing::Billing, commands::Commands,
    db::Database, gateway::PaymentGateway, invoices::Invoices, invoicing::Invoicing, users::Users,
};

/// Builds every service the app's server functions reach through context.
pub fn build(
    db: &Database,
    auth: &Auth,
    gateway: Arc<dyn PaymentGateway>,
    invoicing: Invoicing,
) -> Services {
    let billing = Billing::new(auth.clone(), gateway, invoicing.clone());
    Services {
        status: Arc::new(DbStatus { db: db.clone() }),
        auth: Arc::new(auth.clone()),
        audit: Arc::new(AuditLog { db: db.clone() }),
        admins: Arc::new(Admins { auth: auth.clone() }),
        billing: Arc::new(billing.clone()),
        invoices: Arc::new(Invoices {
            auth: auth.clone(),
            billing,
            invoicing,
        }),
        users: Arc::new(Users { auth: auth.clone() }),
        commands: Arc::new(Commands { auth: auth.clone() }),
    }
}

struct DbStatus {
    db: Database,
}

#[async_trait::async_trait]
impl StatusService for DbStatus {
    async fn database(&self) -> Result<String, String> {
        self.db.ping().await.map_err(|e| {
            tracing::error!(error = %e, "status: database unavailable");
            "the database did not answer".to_string()
        })?;
        Ok(self.db.backend().display_name().to_string())
    }
}
