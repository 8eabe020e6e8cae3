//! What every service holds on equal terms: the database, the clock, row ids, the mail outbox,
//! the settings, the keys and the webhook worker's bell. Services keep a clone (one reference count) and never reach each
//! other through it; none of them hands out another.

use std::sync::Arc;

use tally_core::actor::Actor;

use super::{
    clock::Clock,
    config::Settings,
    crypto::Ids,
    db::Database,
    error::ServiceError,
    mail::{outbox::Outbox, Mailer},
    secrets::Keys,
    work::Work,
};

/// The shared context; cheap to clone.
#[derive(Clone)]
pub struct Context(Arc<Parts>);

/// The context's parts, reached through [`Context`] itself.
pub struct Parts {
    pub db: Database,
    pub clock: Arc<dyn Clock>,
    pub ids: Ids,
    pub outbox: Outbox,
    pub settings: Arc<Settings>,
    /// The secret key and the keys it protects (card fingerprints, authenticator secrets).
    pub keys: Keys,
    /// Wakes the webhook worker ([`super::webhooks::Deliverer::work`]) when a change queued
    /// deliveries.
    pub hooks: Arc<tokio::sync::Notify>,
}

impl Context {
    pub fn new(parts: Parts) -> Self {
        Self(Arc::new(parts))
    }

    /// The context of a server on `db` with these settings, clock, mail transport and keys.
    pub fn build(
        settings: Settings,
        db: Database,
        clock: Arc<dyn Clock>,
        mailer: Mailer,
        keys: Keys,
    ) -> Self {
        let ids = Ids::new();
        let outbox = Outbox::new(db.clone(), clock.clone(), ids.clone(), mailer);
        Self::new(Parts {
            db,
            clock,
            ids,
            outbox,
            settings: Arc::new(settings),
            keys,
            hooks: Arc::default(),
        })
    }

    /// Now, by the injected clock, in UTC milliseconds.
    pub fn now(&self) -> i64 {
        self.clock.now_millis()
    }

    /// A new row id dated by the injected clock.
    pub fn new_id(&self) -> String {
        self.ids.new_id(self.now())
    }

    /// Begins a unit of work (see [`Work`]): `doing` names it in the log if it fails.
    pub async fn begin(&self, doing: &'static str) -> Result<Work, ServiceError> {
        Work::begin(self, doing).await
    }

    /// Refuses (until the person proves it is them again) a change that needs a second step
    /// or the password within the last 10 minutes.
    pub fn require_fresh(&self, actor: &Actor) -> Result<(), ServiceError> {
        if actor.is_fresh(self.now()) {
            Ok(())
        } else {
            Err(ServiceError::FreshCheckRequired)
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

/// A context on a new SQLite database in `dir` (migrated, with its keys), the machine's clock
/// and an outbox folder: for unit tests.
#[cfg(test)]
pub async fn for_tests(dir: &std::path::Path) -> Context {
    let data = dir.display().to_string();
    let settings = Settings::from_lookup(|k| (k == "TALLY_DATA_DIR").then(|| data.clone()))
        .expect("test settings");
    let db = Database::connect(&settings.database_url).await.unwrap();
    db.migrate().await.unwrap();
    let keys = super::secrets::load_for(&settings, &db).await.unwrap();
    let mailer = Mailer::outbox(dir.join("outbox"), &settings.mail_from).unwrap();
    Context::build(
        settings,
        db,
        Arc::new(super::clock::SystemClock),
        mailer,
        keys,
    )
}
