//! Storage: one diesel model over SQLite (embedded default) and PostgreSQL (production).
//!
//! The backend is chosen explicitly from the URL scheme, never guessed: a mistyped
//! `postgres://` must not become a SQLite file name. Everything above this module talks to
//! [`DbConn`], and a `match` on its variant appears only where the SQL must differ.

pub mod schema;

use std::path::PathBuf;
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::r2d2::{self, R2D2Connection};
use diesel::sqlite::SqliteConnection;
use diesel::Connection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

/// A connection to either backend.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Postgresql(PgConnection),
    Sqlite(SqliteConnection),
}

/// Evaluates `$body` with `$c` bound to the concrete connection inside a [`DbConn`], for the
/// queries every read runs. Through the `MultiConnection` wrapper diesel writes a query's SQL
/// text again on every execution (to find its prepared statement and to collect its binds):
/// for the case read's join of some forty columns, a quarter of the request's instructions. On
/// the concrete connection a query whose shape is fixed finds its statement by type. The body
/// is expanded once per backend, so `as_select()` and friends infer each backend's types.
#[macro_export]
macro_rules! on_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConn::Sqlite($c) => $body,
            $crate::db::DbConn::Postgresql($c) => $body,
        }
    };
}

pub type Pool = r2d2::Pool<Manager>;
pub type PooledConn = r2d2::PooledConnection<Manager>;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Serialises concurrent `migrate` runs against one PostgreSQL database.
const MIGRATION_LOCK_KEY: i64 = 0x5349_475f_4d49_4752; // "SIG_MIGR"

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("SIG_DATABASE_URL must start with sqlite:// or postgres:// (got a URL with another or no scheme)")]
    UnknownScheme,
    #[error("SIG_DATABASE_URL names no SQLite file after sqlite://")]
    EmptySqlitePath,
    #[error("SIG_DATABASE_PASSWORD_FILE: {0}")]
    PasswordFile(String),
    #[error("could not create the SQLite database file or its directory: {0}")]
    CreateDir(std::io::Error),
    #[error("could not connect to the database: {0}")]
    Connect(#[from] diesel::ConnectionError),
    #[error("database query failed: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("migrations failed: {0}")]
    Migration(String),
    #[error("could not build the connection pool: {0}")]
    Pool(#[from] r2d2::PoolError),
}

/// Which backend a URL names, with what is needed to connect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl DatabaseUrl {
    /// `sqlite://PATH` (relative), `sqlite:///abs/path`, or `postgres://…` / `postgresql://…`.
    pub fn parse(url: &str) -> Result<Self, DbError> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(DbError::EmptySqlitePath);
            }
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(url.to_owned()));
        }
        Err(DbError::UnknownScheme)
    }

    pub fn backend(&self) -> Backend {
        match self {
            Self::Sqlite(_) => Backend::Sqlite,
            Self::Postgres(_) => Backend::Postgres,
        }
    }

    /// Opens one connection, set up as every connection of this service must be.
    pub fn connect(&self) -> Result<DbConn, DbError> {
        match self {
            Self::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(&path.to_string_lossy())?;
                // Foreign keys are per connection in SQLite; WAL lets readers run beside the
                // writer; FULL makes every acknowledged commit survive a power cut; secure_delete
                // overwrites what retention erases instead of leaving it in free pages.
                conn.batch_execute(
                    "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; \
                     PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                     PRAGMA secure_delete = ON;",
                )?;
                Ok(DbConn::Sqlite(conn))
            }
            Self::Postgres(url) => {
                let mut conn = PgConnection::establish(url)?;
                conn.batch_execute("SET TIME ZONE 'UTC'")?;
                Ok(DbConn::Postgresql(conn))
            }
        }
    }

    /// Creates the SQLite file's directory and, on first start, the file itself with mode
    /// 0600 (SQLite gives its `-wal` and `-shm` files the same mode).
    fn ensure_sqlite_dir(&self) -> Result<(), DbError> {
        use std::os::unix::fs::OpenOptionsExt;
        if let Self::Sqlite(path) = self {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).map_err(DbError::CreateDir)?;
            }
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
            {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(DbError::CreateDir(e)),
            }
        }
        Ok(())
    }
}

/// Runs every pending migration and returns how many ran. On PostgreSQL the run holds an
/// advisory lock, so two instances starting together do not migrate twice.
pub fn migrate(url: &DatabaseUrl) -> Result<usize, DbError> {
    url.ensure_sqlite_dir()?;
    let ran = match url.connect()? {
        DbConn::Sqlite(mut conn) => run_migrations(&mut conn, SQLITE_MIGRATIONS)?,
        DbConn::Postgresql(mut conn) => {
            conn.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))?;
            let result = run_migrations(&mut conn, POSTGRES_MIGRATIONS);
            conn.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))?;
            result?
        }
    };
    Ok(ran)
}

fn run_migrations<C>(conn: &mut C, migrations: EmbeddedMigrations) -> Result<usize, DbError>
where
    C: MigrationHarness<C::Backend> + Connection,
{
    conn.run_pending_migrations(migrations)
        .map(|versions| versions.len())
        .map_err(|e| DbError::Migration(e.to_string()))
}

/// Hands out connections to the pool, each set up by [`DatabaseUrl::connect`].
#[derive(Debug)]
pub struct Manager {
    url: DatabaseUrl,
}

impl r2d2::ManageConnection for Manager {
    type Connection = DbConn;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConn, r2d2::Error> {
        let mut conn = self.url.connect().map_err(|e| match e {
            DbError::Connect(e) => r2d2::Error::ConnectionError(e),
            DbError::Query(e) => r2d2::Error::QueryError(e),
            other => r2d2::Error::ConnectionError(diesel::ConnectionError::BadConnection(
                other.to_string(),
            )),
        })?;
        // The service's PostgreSQL connections are read-only except in a write transaction
        // (`BEGIN READ WRITE`, see [`write_tx`]): reads run without one (see [`read_tx`]), and
        // a read path that tried to write would fail loudly.
        if let DbConn::Postgresql(inner) = &mut conn {
            inner
                .batch_execute("SET default_transaction_read_only = on")
                .map_err(r2d2::Error::QueryError)?;
        }
        Ok(conn)
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), r2d2::Error> {
        conn.ping().map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConn) -> bool {
        // A connection left inside a transaction (e.g. after a panic) never returns to use.
        conn.is_broken()
    }
}

/// How long a unit of work waits for a connection before it fails (503).
pub const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(3);

/// Pool sizing: at most `max_size` connections, waiting at most `checkout_timeout` for one.
#[derive(Clone, Copy, Debug)]
pub struct PoolSettings {
    pub max_size: u32,
    pub checkout_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_size: 8,
            checkout_timeout: CHECKOUT_TIMEOUT,
        }
    }
}

pub fn build_pool(url: &DatabaseUrl, settings: PoolSettings) -> Result<Pool, DbError> {
    url.ensure_sqlite_dir()?;
    let pool = r2d2::Pool::builder()
        .max_size(settings.max_size)
        .min_idle(Some(1))
        .connection_timeout(settings.checkout_timeout)
        .test_on_check_out(false)
        .build(Manager { url: url.clone() })?;
    Ok(pool)
}

static SQLITE_WRITER: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs `work` in one write transaction and commits it, or rolls everything back on error.
///
/// On SQLite the transaction starts with `BEGIN IMMEDIATE`: a deferred transaction that reads
/// and then writes fails at once with "database is locked" when another writer got there first.
/// Inside `work`, `conn.transaction(..)` opens a savepoint.
pub fn write_tx<T, E>(
    conn: &mut DbConn,
    work: impl FnOnce(&mut DbConn) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    // SQLite has one writer at a time. Writers of this process queue here rather than in
    // SQLite's busy handler, which sleeps with growing back-off and starves some of them
    // (seconds of tail latency under load); other processes still meet the busy timeout.
    let _writer = match conn {
        DbConn::Sqlite(_) => Some(
            SQLITE_WRITER
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        ),
        DbConn::Postgresql(_) => None,
    };
    let begin = match conn {
        DbConn::Sqlite(_) => "BEGIN IMMEDIATE",
        // Pool connections are read-only by default (see `Manager::connect`).
        DbConn::Postgresql(_) => "BEGIN READ WRITE",
    };
    transaction_from(conn, begin, work)
}

/// `work` in a transaction opened by the statement `begin`; committed when it succeeds, else
/// rolled back.
fn transaction_from<T, E>(
    conn: &mut DbConn,
    begin: &str,
    work: impl FnOnce(&mut DbConn) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    type Tm = <DbConn as Connection>::TransactionManager;
    match conn {
        DbConn::Sqlite(inner) => AnsiTransactionManager::begin_transaction_sql(inner, begin)?,
        DbConn::Postgresql(inner) => AnsiTransactionManager::begin_transaction_sql(inner, begin)?,
    }
    match work(conn) {
        Ok(value) => {
            Tm::commit_transaction(conn)?;
            Ok(value)
        }
        Err(error) => {
            // The original error matters more than a failed rollback; a connection whose
            // rollback failed is marked broken and leaves the pool.
            let _ = Tm::rollback_transaction(conn);
            Err(error)
        }
    }
}

/// Runs `work` as a read. On SQLite in a deferred transaction: one WAL snapshot beside the
/// writer, no write lock. On PostgreSQL without `BEGIN` and `COMMIT`, two round trips a read
/// saves: at PostgreSQL's READ COMMITTED every statement takes its own snapshot, in a
/// transaction or not, so a read sees the same either way. The service's pool connections
/// are read-only outside a write transaction (`Manager::connect`), so a read path that tried
/// to write still fails loudly.
pub fn read_tx<T, E>(
    conn: &mut DbConn,
    work: impl FnOnce(&mut DbConn) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    match conn {
        DbConn::Sqlite(_) => transaction_from(conn, "BEGIN", work),
        DbConn::Postgresql(_) => work(conn),
    }
}

/// After retention erased something: on SQLite, copies the WAL into the database and truncates
/// it, so the erased rows' old page images leave the `-wal` file too (secure_delete has already
/// zeroed them in the database). PostgreSQL keeps dead row versions until (auto)vacuum reuses
/// their space; they were sealed, so they open only with the field key. Best effort: a reader
/// holding an old snapshot makes the checkpoint partial, and the next run tries again.
pub fn reclaim_erased_space(conn: &mut DbConn) {
    if let DbConn::Sqlite(inner) = conn {
        if let Err(error) = inner.batch_execute("PRAGMA wal_checkpoint(TRUNCATE);") {
            tracing::warn!(%error, "the WAL was not truncated after retention");
        }
    }
}

/// What start-up messages may say about the database: never the PostgreSQL URL, which may
/// hold a password.
pub fn describe(url: &DatabaseUrl) -> String {
    match url {
        DatabaseUrl::Sqlite(path) => format!("SQLite at {}", path.display()),
        DatabaseUrl::Postgres(_) => "PostgreSQL".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_comes_from_the_scheme() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://./data/x.db").ok(),
            Some(DatabaseUrl::Sqlite(PathBuf::from("./data/x.db")))
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:///abs/x.db").ok(),
            Some(DatabaseUrl::Sqlite(PathBuf::from("/abs/x.db")))
        );
        assert_eq!(
            DatabaseUrl::parse("postgres://u@h/db")
                .map(|u| u.backend())
                .ok(),
            Some(Backend::Postgres)
        );
        assert!(matches!(
            DatabaseUrl::parse("postgress://u@h/db"),
            Err(DbError::UnknownScheme)
        ));
        assert!(matches!(
            DatabaseUrl::parse("./data/x.db"),
            Err(DbError::UnknownScheme)
        ));
        assert!(matches!(
            DatabaseUrl::parse("sqlite://"),
            Err(DbError::EmptySqlitePath)
        ));
    }
}
