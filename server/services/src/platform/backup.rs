//! Backups of the embedded database: `tally backup FILE` and `tally restore FILE`.
//!
//! A backup is SQLite's `VACUUM INTO`: one read transaction copies the whole database, so it
//! is consistent while servers keep writing (a transaction is in the copy whole or not at
//! all), and it holds everything Tally keeps — accounts, invoices, the mail outbox's pending
//! messages, the sealed keys. The secret key is not in it: without that key the copy's
//! sealed data cannot be opened, so it must be kept with the backups (README, "Backups").
//!
//! A restore replaces the database file, so it must be alone: every server (and `tally bill`)
//! holds a shared lock on the data folder's `tally.lock` while it runs, and a restore takes it
//! exclusively or refuses. The copy is checked first (`PRAGMA integrity_check`, and a schema
//! no newer than this build's), and the database it replaces is kept beside it.
//!
//! On PostgreSQL both commands decline and print the `pg_dump` / `pg_restore` command to use.

use std::{
    fs::File,
    path::{Path, PathBuf},
    str::FromStr,
};

use sqlx::{
    sqlite::{SqliteConnectOptions, SqliteConnection},
    ConnectOptions, Connection,
};

use super::{
    config::Settings,
    db::{self, Backend},
};

/// The data folder's lock file: shared by running servers, exclusive for a restore.
pub const LOCK_FILE: &str = "tally.lock";

/// Why a backup or restore did not happen; each message is one line for the operator.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("the database is PostgreSQL: back it up with pg_dump instead:\n  {0}")]
    PostgresBackup(String),
    #[error("the database is PostgreSQL: restore with pg_restore instead:\n  {0}")]
    PostgresRestore(String),
    #[error("unsupported DATABASE_URL {0}")]
    UnsupportedUrl(String),
    #[error("{0} already exists; choose a new file name")]
    Exists(PathBuf),
    #[error("a Tally server (or `tally bill`) is using the data folder {0}; stop every one first")]
    InUse(PathBuf),
    #[error("a restore is in progress in the data folder {0}")]
    RestoreInProgress(PathBuf),
    #[error("{path} is not a usable Tally backup: {reason}")]
    Damaged { path: PathBuf, reason: String },
    #[error(
        "{path} comes from a newer Tally (schema {copy}, this one knows up to {known}); restore it with that version"
    )]
    NewerSchema {
        path: PathBuf,
        copy: i64,
        known: i64,
    },
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    #[error("{what}: {source}")]
    Sql { what: String, source: sqlx::Error },
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> BackupError {
    let what = what.into();
    move |source| BackupError::Io { what, source }
}

fn sql(what: impl Into<String>) -> impl FnOnce(sqlx::Error) -> BackupError {
    let what = what.into();
    move |source| BackupError::Sql { what, source }
}

/// What a backup or restore copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub path: PathBuf,
    pub bytes: u64,
    pub schema: i64,
    pub accounts: i64,
    pub invoices: i64,
    pub pending_mail: i64,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({} bytes, schema {}): {} accounts, {} invoices, {} messages waiting to be sent",
            self.path.display(),
            self.bytes,
            self.schema,
            self.accounts,
            self.invoices,
            self.pending_mail
        )
    }
}

/// Held while a process uses the data folder; dropping it lets a restore in.
#[derive(Debug)]
pub struct FolderLock(#[allow(dead_code)] File);

fn lock_file(data_dir: &Path) -> Result<File, BackupError> {
    std::fs::create_dir_all(data_dir).map_err(io(format!(
        "cannot create the data folder {}",
        data_dir.display()
    )))?;
    let path = data_dir.join(LOCK_FILE);
    File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io(format!("cannot open {}", path.display())))
}

/// Takes the data folder's shared lock, as every process using the database does; refused
/// while a restore holds it.
pub fn hold_data_folder(data_dir: &Path) -> Result<FolderLock, BackupError> {
    let file = lock_file(data_dir)?;
    match file.try_lock_shared() {
        Ok(()) => Ok(FolderLock(file)),
        Err(std::fs::TryLockError::WouldBlock) => {
            Err(BackupError::RestoreInProgress(data_dir.to_path_buf()))
        }
        Err(std::fs::TryLockError::Error(e)) => {
            Err(io(format!("cannot lock {}", data_dir.display()))(e))
        }
    }
}

/// The database file a SQLite URL names, or the command to use on PostgreSQL.
fn sqlite_path(
    settings: &Settings,
    postgres: impl FnOnce(String) -> BackupError,
) -> Result<PathBuf, BackupError> {
    let url = &settings.database_url;
    match Backend::of_url(url) {
        Some(Backend::Sqlite) => db::sqlite_file(url)
            .map(Path::to_path_buf)
            .ok_or_else(|| BackupError::UnsupportedUrl(db::redact(url))),
        Some(Backend::Postgres) => Err(postgres(url.clone())),
        None => Err(BackupError::UnsupportedUrl(db::redact(url))),
    }
}

/// The `pg_dump` command for the configured database (the password, if the URL has one, is
/// left out: give it in PGPASSWORD or ~/.pgpass).
pub fn pg_dump_command(url: &str, file: &Path) -> String {
    format!(
        "pg_dump --format=custom --file={} '{}'",
        shell_word(file),
        without_password(url)
    )
}

/// The `pg_restore` command for a dump made by [`pg_dump_command`].
pub fn pg_restore_command(url: &str, file: &Path) -> String {
    format!(
        "pg_restore --clean --if-exists --no-owner --dbname='{}' {}",
        without_password(url),
        shell_word(file)
    )
}

fn without_password(url: &str) -> String {
    db::redact(url).replace(":***@", "@")
}

fn shell_word(path: &Path) -> String {
    let text = path.display().to_string();
    if text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+".contains(c))
    {
        text
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

async fn open(path: &Path, read_only: bool) -> Result<SqliteConnection, sqlx::Error> {
    SqliteConnectOptions::from_str("sqlite://")?
        .filename(path)
        .read_only(read_only)
        .busy_timeout(std::time::Duration::from_secs(30))
        .disable_statement_logging()
        .connect()
        .await
}

/// Checks a copy and counts what it holds: `Damaged` unless SQLite finds it whole and it is a
/// migrated Tally database.
async fn inspect(path: &Path) -> Result<Summary, BackupError> {
    let damaged = |reason: String| BackupError::Damaged {
        path: path.to_path_buf(),
        reason,
    };
    let bytes = std::fs::metadata(path)
        .map_err(|e| damaged(e.to_string()))?
        .len();
    let mut conn = open(path, true).await.map_err(|e| damaged(e.to_string()))?;
    let verdict: Result<Vec<String>, sqlx::Error> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(&mut conn)
        .await;
    match verdict {
        Ok(lines) if lines == ["ok"] => {}
        Ok(lines) => return Err(damaged(format!("integrity check: {}", lines.join("; ")))),
        Err(e) => return Err(damaged(e.to_string())),
    }
    let schema: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations")
        .fetch_one(&mut conn)
        .await
        .map_err(|_| damaged("it is not a Tally database (no migrations table)".into()))?;
    // The copy's own rows, not the live tables: this is the one place that reads the whole
    // database file, which is why it names tables the other domains own.
    let mut counts = Vec::new();
    for q in [
        "SELECT COUNT(*) FROM accounts",
        "SELECT COUNT(*) FROM invoices",
        "SELECT COUNT(*) FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL",
    ] {
        counts.push(
            sqlx::query_scalar::<_, i64>(q)
                .fetch_one(&mut conn)
                .await
                .map_err(|e| damaged(e.to_string()))?,
        );
    }
    let _ = conn.close().await;
    Ok(Summary {
        path: path.to_path_buf(),
        bytes,
        schema,
        accounts: counts[0],
        invoices: counts[1],
        pending_mail: counts[2],
    })
}

/// `tally backup FILE`: a consistent copy of the SQLite database, taken while servers run.
/// The copy is written beside `to` under a temporary name, checked, then renamed.
pub async fn backup(settings: &Settings, to: &Path) -> Result<Summary, BackupError> {
    let source = sqlite_path(settings, |url| {
        BackupError::PostgresBackup(pg_dump_command(&url, to))
    })?;
    backup_file(&source, to).await
}

/// A consistent copy of the database file `source` into `to` (which must not exist yet).
pub async fn backup_file(source: &Path, to: &Path) -> Result<Summary, BackupError> {
    if to.exists() {
        return Err(BackupError::Exists(to.to_path_buf()));
    }
    if !source.exists() {
        return Err(BackupError::Damaged {
            path: source.to_path_buf(),
            reason: "there is no database there yet".into(),
        });
    }
    if let Some(dir) = to.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io(format!("cannot create {}", dir.display())))?;
    }
    let partial = partial_name(to);
    let mut conn = open(source, false)
        .await
        .map_err(sql(format!("cannot open {}", source.display())))?;
    let copied = sqlx::query("VACUUM INTO $1")
        .bind(partial.display().to_string())
        .execute(&mut conn)
        .await;
    let _ = conn.close().await;
    if let Err(e) = copied {
        let _ = std::fs::remove_file(&partial);
        return Err(sql(format!("cannot write {}", to.display()))(e));
    }
    let checked = inspect(&partial).await;
    if checked.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    let mut summary = checked?;
    File::open(&partial)
        .and_then(|f| f.sync_all())
        .map_err(io(format!("cannot write {}", to.display())))?;
    std::fs::rename(&partial, to).map_err(io(format!("cannot write {}", to.display())))?;
    summary.path = to.to_path_buf();
    Ok(summary)
}

fn partial_name(to: &Path) -> PathBuf {
    let name = to
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    to.with_file_name(format!(".{name}.{}.partial", super::crypto::short_random()))
}

/// What a restore did: the copy now in place, and where the database it replaced was kept.
#[derive(Debug)]
pub struct Restored {
    pub summary: Summary,
    pub previous: Option<PathBuf>,
}

/// `tally restore FILE`: replaces the SQLite database with a backup, once no process uses the
/// data folder and the copy has passed its checks. The replaced database (with its `-wal` and
/// `-shm` files) is kept beside it as `tally.db.before-restore-<time>`.
pub async fn restore(settings: &Settings, from: &Path) -> Result<Restored, BackupError> {
    let target = sqlite_path(settings, |url| {
        BackupError::PostgresRestore(pg_restore_command(&url, from))
    })?;
    let lock = lock_file(&settings.data_dir)?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            return Err(BackupError::InUse(settings.data_dir.clone()))
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(io(format!("cannot lock {}", settings.data_dir.display()))(
                e,
            ))
        }
    }
    let summary = inspect(from).await?;
    let known = Backend::Sqlite.latest_migration();
    if summary.schema > known {
        return Err(BackupError::NewerSchema {
            path: from.to_path_buf(),
            copy: summary.schema,
            known,
        });
    }
    // The copy first, under a temporary name beside the database, so the swap is a rename.
    let incoming = partial_name(&target);
    // `copy` carries the backup's own mode over; the database is the owner's alone whatever
    // the backup's was.
    std::fs::copy(from, &incoming)
        .and_then(|_| super::files::make_file_private(&incoming))
        .and_then(|_| File::open(&incoming)?.sync_all())
        .map_err(io(format!("cannot copy {}", from.display())))?;
    let previous = if target.exists() {
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
        let kept = PathBuf::from(format!("{}.before-restore-{stamp}", target.display()));
        for suffix in ["", "-wal", "-shm"] {
            let from = PathBuf::from(format!("{}{suffix}", target.display()));
            if from.exists() {
                let to = PathBuf::from(format!("{}{suffix}", kept.display()));
                std::fs::rename(&from, &to)
                    .and_then(|_| super::files::make_file_private(&to))
                    .map_err(io(format!("cannot move {} aside", from.display())))?;
            }
        }
        Some(kept)
    } else {
        None
    };
    std::fs::rename(&incoming, &target).map_err(io(format!(
        "cannot put the copy in place at {}",
        target.display()
    )))?;
    drop(lock);
    Ok(Restored {
        summary: Summary {
            path: target,
            ..summary
        },
        previous,
    })
}

/// The folder, under the data folder, that daily backups go to unless `TALLY_BACKUP_DIR`
/// names another.
pub const DAILY_DIR: &str = "backups";

/// One daily backup file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupFile {
    /// The day it was taken, from its name (`tally-YYYY-MM-DD.db`).
    pub day: chrono::NaiveDate,
    pub path: PathBuf,
    pub bytes: u64,
}

fn daily_name(day: chrono::NaiveDate) -> String {
    format!("tally-{}.db", day.format("%Y-%m-%d"))
}

/// The daily backups in `dir` (the settings' `backup_dir`), newest first.
pub fn list_daily(dir: &Path) -> Vec<BackupFile> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<BackupFile> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let day = name.strip_prefix("tally-")?.strip_suffix(".db")?;
            Some(BackupFile {
                day: chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()?,
                bytes: e.metadata().ok()?.len(),
                path: e.path(),
            })
        })
        .collect();
    files.sort_by_key(|f| std::cmp::Reverse(f.day));
    files
}

/// Today's backup into `<backup dir>/tally-<day>.db` unless it exists (several servers on
/// one data folder make it once), then only the newest `keep` are kept. `None` when there
/// was nothing to do: today's exists, daily backups are off (`keep` 0), or the database is
/// PostgreSQL (backed up with pg_dump instead).
pub async fn daily_backup(
    settings: &Settings,
    today: chrono::NaiveDate,
) -> Result<Option<Summary>, BackupError> {
    let keep = settings.backup_keep as usize;
    if keep == 0 || Backend::of_url(&settings.database_url) != Some(Backend::Sqlite) {
        return Ok(None);
    }
    let source = sqlite_path(settings, BackupError::PostgresBackup)?;
    let to = settings.backup_dir.join(daily_name(today));
    let made = if to.exists() {
        None
    } else {
        Some(backup_file(&source, &to).await?)
    };
    for old in list_daily(&settings.backup_dir).into_iter().skip(keep) {
        std::fs::remove_file(&old.path).map_err(io(format!(
            "cannot remove the old backup {}",
            old.path.display()
        )))?;
    }
    Ok(made)
}

/// Takes the daily backup once a day: checked at start and every hour after.
pub async fn daily_loop(ctx: super::context::Context) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        tick.tick().await;
        match daily_backup(&ctx.settings, ctx.clock.today()).await {
            Ok(Some(made)) => tracing::info!(backup = %made, "daily backup written"),
            Ok(None) => {}
            Err(e) => tracing::error!(error = %e, "daily backup failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_postgres_commands_name_the_database_without_its_password() {
        let url = "postgres://tally:s3cret@db.internal:5432/tally";
        let dump = pg_dump_command(url, Path::new("/backups/tally 2026-12.dump"));
        assert_eq!(
            dump,
            "pg_dump --format=custom --file='/backups/tally 2026-12.dump' 'postgres://tally@db.internal:5432/tally'"
        );
        assert!(!pg_restore_command(url, Path::new("x.dump")).contains("s3cret"));
    }
}
