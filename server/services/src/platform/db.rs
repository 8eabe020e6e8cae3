//! The database: one `sqlx::AnyPool` whose driver DATABASE_URL picks at run time.
//!
//! Queries are written once, in the SQL both SQLite and PostgreSQL accept, with `$1`-style
//! placeholders (SQLite reads `$N` as parameter N). Only the migrations differ per backend;
//! docs/architecture.md explains the choice.

use std::{path::Path, time::Duration};

use sqlx::{
    any::{AnyConnectOptions, AnyPoolOptions, AnyTypeInfo, AnyValueRef},
    error::BoxDynError,
    migrate::Migrator,
    Any, AnyPool, ConnectOptions, Executor,
};
use tally_core::codes::UnknownCode;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// A column holding a stored code, for `#[sqlx(try_from = "Code<Role>")]` on a `Role` field:
/// the row decodes straight into the enum, and a code no variant has fails the decode with
/// the [`UnknownCode`] that names it (sqlx's own `try_from = "String"` loses that message).
/// [`ServiceError`](super::error::ServiceError) turns the failure into one unexpected error,
/// logged with a reference.
pub struct Code<T>(pub T);

impl<T> sqlx::Type<Any> for Code<T> {
    fn type_info() -> AnyTypeInfo {
        <String as sqlx::Type<Any>>::type_info()
    }

    fn compatible(ty: &AnyTypeInfo) -> bool {
        <String as sqlx::Type<Any>>::compatible(ty)
    }
}

impl<'r, T> sqlx::Decode<'r, Any> for Code<T>
where
    T: TryFrom<String, Error = UnknownCode>,
{
    fn decode(value: AnyValueRef<'r>) -> Result<Self, BoxDynError> {
        let code = <String as sqlx::Decode<'r, Any>>::decode(value)?;
        Ok(Code(T::try_from(code)?))
    }
}

/// `From<Code<T>> for T`, which `#[sqlx(try_from = …)]` needs, for each stored-code enum.
macro_rules! code_columns {
    ($($ty:ty),* $(,)?) => {
        $(impl From<Code<$ty>> for $ty {
            fn from(code: Code<$ty>) -> Self {
                code.0
            }
        })*
    };
}

code_columns!(
    tally_core::roles::Role,
    tally_core::roles::AdminStatus,
    tally_core::account_status::AccountStatus,
    tally_core::operators::OperatorRole,
    tally_core::audit::AuditKind,
    tally_core::card::Brand,
    tally_core::forms::Shell,
    tally_core::billing::InvoiceStatus,
    tally_core::money::Currency,
    tally_core::codes::UserStatus,
    tally_core::codes::RunStatus,
    tally_core::codes::LinkKind,
    tally_core::codes::IntentStatus,
    tally_core::views::billing::CreditSettlement,
);

/// Which database engine a URL names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// Reads the engine from a URL's scheme.
    pub fn of_url(url: &str) -> Option<Self> {
        if url.starts_with("sqlite:") {
            Some(Self::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Some(Self::Postgres)
        } else {
            None
        }
    }

    /// The name people know the engine by.
    pub fn display_name(self) -> &'static str {
        match self {
            Self::Sqlite => "SQLite",
            Self::Postgres => "PostgreSQL",
        }
    }

    /// The version of the newest migration this build carries: a database's schema version
    /// once migrated.
    pub fn latest_migration(self) -> i64 {
        self.migrator()
            .iter()
            .map(|m| m.version)
            .max()
            .unwrap_or_default()
    }

    fn migrator(self) -> &'static Migrator {
        match self {
            Self::Sqlite => &SQLITE_MIGRATIONS,
            Self::Postgres => &POSTGRES_MIGRATIONS,
        }
    }
}

/// Why the database could not be used; each message fits on one line and hides passwords.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("unsupported DATABASE_URL {0} (use sqlite://… or postgres://…)")]
    UnsupportedUrl(String),
    #[error("cannot create the data folder {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot connect to {backend} at {url}: {source}")]
    Connect {
        backend: &'static str,
        url: String,
        source: sqlx::Error,
    },
    #[error("migration failed, nothing was started: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0}")]
    Query(#[from] sqlx::Error),
}

/// The connection pool and the engine behind it; cheap to clone.
#[derive(Clone, Debug)]
pub struct Database {
    pool: AnyPool,
    backend: Backend,
}

impl Database {
    /// Opens a pool. For SQLite, creates the file's folder first and turns on WAL, a busy
    /// timeout and foreign keys on every connection.
    pub async fn connect(url: &str) -> Result<Self, DbError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of_url(url).ok_or_else(|| DbError::UnsupportedUrl(redact(url)))?;
        if backend == Backend::Sqlite {
            if let Some(dir) = sqlite_file(url).and_then(|f| f.parent()) {
                if !dir.as_os_str().is_empty() {
                    std::fs::create_dir_all(dir).map_err(|source| DbError::DataDir {
                        path: dir.display().to_string(),
                        source,
                    })?;
                }
            }
        }
        let connect_error = |source| DbError::Connect {
            backend: backend.display_name(),
            url: redact(url),
            source,
        };
        let options: AnyConnectOptions = url.parse().map_err(connect_error)?;
        let options = options.disable_statement_logging();
        let pool = AnyPoolOptions::new()
            // SQLite: 4. Its WAL has five read marks that concurrent readers take turns on, and
            // each connection is a thread of its own, so more connections cost more switching
            // than they add (measurements in docs/performance.md).
            .max_connections(match backend {
                Backend::Sqlite => 4,
                Backend::Postgres => 16,
            })
            .acquire_timeout(Duration::from_secs(5))
            // A SQLite connection is a file handle that cannot go stale; pinging it before each
            // use would cost a round trip to its worker thread on every query.
            .test_before_acquire(backend == Backend::Postgres)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000; \
                             PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; \
                             PRAGMA wal_autocheckpoint = 10000;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(connect_error)?;
        Ok(Self { pool, backend })
    }

    /// Applies every migration not yet applied; an error leaves the server unstarted.
    pub async fn migrate(&self) -> Result<(), DbError> {
        self.backend.migrator().run(&self.pool).await?;
        Ok(())
    }

    /// The newest migration applied to this database, `None` on an empty one (`tally check`
    /// compares it with this build's).
    pub async fn applied_migration(&self) -> Result<Option<i64>, sqlx::Error> {
        sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations")
            .fetch_one(&self.pool)
            .await
    }

    /// Answers whether the database can run a query now.
    pub async fn ping(&self) -> Result<(), DbError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The file path inside a `sqlite://path?query` URL, if it names a file.
pub fn sqlite_file(url: &str) -> Option<&Path> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or("");
    (!path.is_empty() && path != ":memory:").then(|| Path::new(path))
}

/// A search box's text as the value bound for [`contains`]: trimmed, lower case, and without
/// LIKE's wildcards (`%`, `_`), which would otherwise match anything.
pub fn search_text(search: &str) -> String {
    search.trim().to_lowercase().replace(['%', '_'], "")
}

/// SQL that is true when one of the lower-case `exprs` contains the text bound at `$n` (see
/// [`search_text`]), and for every row when that text is empty.
///
/// The pattern is built in SQL, `'%' || $n || '%'`, instead of being bound whole. SQLite's
/// LIKE optimisation inspects a bare parameter on the right of LIKE and marks the statement to
/// be prepared again each time that parameter is bound, which is every execution, and parsing
/// and planning anew showed in the server's profile (docs/performance.md). A pattern that
/// starts with `%` can never use an ordered index, so nothing is lost.
pub fn contains(exprs: &[&str], n: u8) -> String {
    let any = exprs
        .iter()
        .map(|e| format!("{e} LIKE '%' || ${n} || '%'"))
        .collect::<Vec<_>>()
        .join(" OR ");
    format!("(${n} = '' OR {any})")
}

/// The `total` and `matching` counts of a list query that left-joins its page to its counts:
/// every row carries them (`first` is the first row's pair), and an empty page comes back as
/// one row with no item.
pub fn list_counts(first: Option<(i64, i64)>) -> (u64, u64) {
    let (total, matching) = first.unwrap_or_default();
    (total.max(0) as u64, matching.max(0) as u64)
}

/// A page number (from 1) as the `OFFSET` of a page of `per_page` rows.
pub fn offset(page: u32, per_page: u32) -> i64 {
    i64::from(page.saturating_sub(1)) * i64::from(per_page)
}

/// The URL with any password replaced by `***`, for messages and logs.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, tail) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or("");
            let hidden = if userinfo.contains(':') { ":***" } else { "" };
            format!("{scheme}://{user}{hidden}@{host}{tail}")
        }
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_is_matched_anywhere_in_any_expression_and_an_empty_one_matches_all() {
        assert_eq!(
            contains(&["a.email_key", "LOWER(a.name)"], 2),
            "($2 = '' OR a.email_key LIKE '%' || $2 || '%' OR LOWER(a.name) LIKE '%' || $2 || '%')"
        );
        assert_eq!(search_text("  50%_Off "), "50off");
    }

    #[test]
    fn passwords_are_hidden_in_messages() {
        assert_eq!(
            redact("postgres://tally:s3cret@db:5432/tally"),
            "postgres://tally:***@db:5432/tally"
        );
        assert_eq!(redact("postgres://db/tally"), "postgres://db/tally");
        assert_eq!(redact("sqlite://data/tally.db"), "sqlite://data/tally.db");
    }

    #[test]
    fn the_sqlite_file_is_found_in_its_url() {
        assert_eq!(
            sqlite_file("sqlite://data/tally.db?mode=rwc"),
            Some(Path::new("data/tally.db"))
        );
        assert_eq!(sqlite_file("sqlite::memory:"), None);
    }

    #[derive(sqlx::FromRow)]
    struct Decoded {
        #[sqlx(try_from = "Code<tally_core::codes::RunStatus>")]
        status: tally_core::codes::RunStatus,
    }

    #[tokio::test]
    async fn a_stored_code_decodes_into_its_enum_and_an_unknown_one_is_named() {
        sqlx::any::install_default_drivers();
        let pool = AnyPoolOptions::new()
            .max_connections(1)
            .connect("sqlite::memory:")
            .await
            .unwrap();
        let row: Decoded = sqlx::query_as("SELECT 'succeeded' AS status")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(row.status, tally_core::codes::RunStatus::Succeeded);
        let Err(e) = sqlx::query_as::<_, Decoded>("SELECT 'lost' AS status")
            .fetch_one(&pool)
            .await
        else {
            panic!("an unknown code decoded");
        };
        assert!(
            e.to_string()
                .contains(r#"unknown command run status code "lost""#),
            "{e}"
        );
    }
}

/// Rows per multi-row statement: well inside SQLite's 32,766 and PostgreSQL's 65,535 bound
/// parameters for the widest table written this way.
pub const ROWS_PER_STATEMENT: usize = 200;

impl Backend {
    /// The backend a connection (a transaction, say) talks to.
    pub fn of(conn: &sqlx::AnyConnection) -> Self {
        if conn.backend_name().eq_ignore_ascii_case("sqlite") {
            Self::Sqlite
        } else {
            Self::Postgres
        }
    }

    /// Parameter `i` (from 1) of a statement built at run time. PostgreSQL wants `$i`. SQLite
    /// gets `?`, which it binds in order: for `$i` it looks the number up in a list, which is
    /// quadratic in a statement of thousands of parameters.
    fn mark(self, i: usize) -> String {
        match self {
            Self::Sqlite => "?".into(),
            Self::Postgres => format!("${i}"),
        }
    }

    /// The `VALUES` list of a multi-row insert: `($1, $2), ($3, $4)` for 2 rows of 2 columns
    /// on PostgreSQL, `(?, ?), (?, ?)` on SQLite.
    pub fn values_list(self, rows: usize, columns: usize) -> String {
        let groups: Vec<String> = (0..rows)
            .map(|r| {
                let marks: Vec<String> =
                    (1..=columns).map(|c| self.mark(r * columns + c)).collect();
                format!("({})", marks.join(", "))
            })
            .collect();
        groups.join(", ")
    }

    /// The marks of parameters `first ..= first + n - 1`, for an `IN (…)`; the statement's
    /// earlier parameters must be written with [`Self::marks_from`] too (SQLite counts `?`s).
    pub fn marks_from(self, first: usize, n: usize) -> String {
        let marks: Vec<String> = (first..first + n).map(|i| self.mark(i)).collect();
        marks.join(", ")
    }
}

#[cfg(test)]
mod statement_tests {
    use super::*;

    #[test]
    fn values_lists_number_every_placeholder_once() {
        assert_eq!(
            Backend::Postgres.values_list(2, 3),
            "($1, $2, $3), ($4, $5, $6)"
        );
        assert_eq!(Backend::Sqlite.values_list(2, 2), "(?, ?), (?, ?)");
        assert_eq!(Backend::Postgres.marks_from(3, 2), "$3, $4");
        assert_eq!(Backend::Sqlite.marks_from(1, 3), "?, ?, ?");
    }
}
