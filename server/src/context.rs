//! What every service holds on equal terms: the database, the clock, the mail outbox, the
//! settings, the payment gateway, the password hasher and the keys. Services keep a clone (one
//! reference count) and never reach each other through it.

use std::sync::Arc;

use crate::{
    clock::Clock, config::Settings, crypto, db::Database, gateway::PaymentGateway, outbox::Outbox,
    passwords::Passwords, secrets::Keys,
};

/// The shared context; cheap to clone.
#[derive(Clone)]
pub struct Context(Arc<Parts>);

/// The context's parts, reached through [`Context`] itself.
pub struct Parts {
    pub db: Database,
    pub clock: Arc<dyn Clock>,
    pub outbox: Outbox,
    pub settings: Arc<Settings>,
    pub gateway: Arc<dyn PaymentGateway>,
    pub passwords: Passwords,
    /// The secret key and the keys it protects (card fingerprints).
    pub keys: Keys,
}

impl Context {
    pub fn new(parts: Parts) -> Self {
        Self(Arc::new(parts))
    }

    /// Now, by the injected clock, in UTC milliseconds.
    pub fn now(&self) -> i64 {
        self.clock.now_millis()
    }

    /// A new row id dated by the injected clock.
    pub fn new_id(&self) -> String {
        crypto::new_id(self.now())
    }

    /// Refuses (until the person proves it is them again) a change that needs a second step
    /// or the password within the last 10 minutes.
    pub fn require_fresh(
        &self,
        actor: &crate::actor::Actor,
    ) -> Result<(), crate::error::ServiceError> {
        if self.now() - actor.verified_at <= crate::two_step::FRESH_MILLIS {
            Ok(())
        } else {
            Err(crate::error::ServiceError::FreshCheckRequired)
        }
    }

    /// A link in an email: the public address and `path`.
    pub fn link(&self, path: &str) -> String {
        format!("{}{path}", self.settings.public_url)
    }
}

impl std::ops::Deref for Context {
    type Target = Parts;

    fn deref(&self) -> &Parts {
        &self.0
    }
}
