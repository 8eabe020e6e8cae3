//! What the start page and the Overview's System section say about the running server.
//! Nothing here names an account.

use serde::{Deserialize, Serialize};

/// The start page's facts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerStatus {
    pub version: String,
    /// "SQLite" or "PostgreSQL".
    pub database: String,
}

/// The System section: what keeps the data safe.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemStatus {
    /// "SQLite" or "PostgreSQL".
    pub database: String,
    /// Whether Tally takes the daily backups itself (the embedded database); on PostgreSQL
    /// they are the operator's, with pg_dump.
    pub daily_backups: bool,
    /// How many daily backups are kept (0: daily backups are off).
    pub keep: u32,
    /// The daily backups there are, newest first.
    pub backups: Vec<BackupEntry>,
}

/// One daily backup.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupEntry {
    /// `YYYY-MM-DD`, the day it was taken (UTC).
    pub day: String,
    pub bytes: u64,
}
