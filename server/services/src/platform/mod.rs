//! What every domain stands on: settings, the database, time and ids, keys, mail and its
//! outbox, the audit log, the unit of work, leases, backups, metrics and logs. Imports no
//! other domain.

pub mod audit;
pub mod backup;
pub mod clock;
pub mod config;
pub mod context;
pub mod crypto;
pub mod db;
pub mod error;
pub mod files;
pub mod i18n;
pub mod leases;
pub mod mail;
pub mod metrics;
pub mod secrets;
pub mod status;
pub mod telemetry;
pub mod webhooks;
pub mod work;
