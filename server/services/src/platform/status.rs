//! What the start page and the Overview's System section say about the server: its database,
//! and the daily backups that keep the embedded one safe.

use tally_core::views::system::{BackupEntry, SystemStatus};

use super::{
    backup,
    context::Context,
    db::Backend,
    error::{ResultExt, ServiceError},
};

/// The server's own status.
#[derive(Clone)]
pub struct Status {
    ctx: Context,
}

impl Status {
    pub fn new(ctx: Context) -> Self {
        Self { ctx }
    }

    /// Runs a trivial query; the database's name ("SQLite", "PostgreSQL").
    pub async fn database(&self) -> Result<&'static str, ServiceError> {
        let db = &self.ctx.db;
        db.ping().await.context("checking the database")?;
        Ok(db.backend().display_name())
    }

    /// The System section: the database, and its daily backups.
    pub fn system(&self) -> SystemStatus {
        let settings = &self.ctx.settings;
        let backend = self.ctx.db.backend();
        SystemStatus {
            database: backend.display_name().to_string(),
            daily_backups: backend == Backend::Sqlite && settings.backup_keep > 0,
            keep: settings.backup_keep,
            backups: backup::list_daily(&settings.backup_dir)
                .into_iter()
                .map(|b| BackupEntry {
                    day: b.day.format("%Y-%m-%d").to_string(),
                    bytes: b.bytes,
                })
                .collect(),
        }
    }
}
