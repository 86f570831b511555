//! Connecting to the database.

use crate::StoreError;
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend};
use std::path::Path;
use std::time::Duration;

use migrations::{MigrationStatus, Migrator, MigratorTrait};

/// Which database a URL names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// Reads the backend from a `DATABASE_URL`. Accepts `postgres://`, `postgresql://` and the
    /// SQLAlchemy-style `postgresql+asyncpg://` of the original deployment guide (the driver
    /// suffix is dropped), and `sqlite:`. Anything else is refused with a sentence that says so.
    pub fn from_url(url: &str) -> Result<(Backend, String), String> {
        let (scheme, rest) = url.split_once(':').ok_or_else(|| {
            "DATABASE_URL has no scheme (expected postgres:// or sqlite://)".to_string()
        })?;
        let base = scheme
            .split('+')
            .next()
            .unwrap_or(scheme)
            .to_ascii_lowercase();
        match base.as_str() {
            "postgres" | "postgresql" => Ok((Backend::Postgres, format!("postgres:{rest}"))),
            "sqlite" => Ok((Backend::Sqlite, format!("sqlite:{rest}"))),
            other => Err(format!(
                "DATABASE_URL scheme `{other}` is not supported: use postgres:// (production) or sqlite:// (embedded)"
            )),
        }
    }

    pub fn from_db(b: DbBackend) -> Backend {
        match b {
            DbBackend::Postgres => Backend::Postgres,
            _ => Backend::Sqlite,
        }
    }
}

/// How to connect.
#[derive(Clone, Debug)]
pub struct DbConfig {
    pub url: String,
    /// Pool size. SQLite gets several connections too (readers run in parallel under WAL).
    pub max_connections: u32,
    pub acquire_timeout: Duration,
    /// How long a SQLite writer waits for the lock before giving up.
    pub sqlite_busy_timeout: Duration,
    /// Log every statement at DEBUG (`DATABASE_ECHO`).
    pub echo: bool,
}

impl DbConfig {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_connections: 10,
            acquire_timeout: Duration::from_secs(5),
            sqlite_busy_timeout: Duration::from_secs(5),
            echo: false,
        }
    }
}

static STATEMENTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// How many SQL statements this process has sent, through every pool (transaction control
/// such as `BEGIN`/`COMMIT` aside). Tests use it to prove a request runs a fixed number of
/// statements whatever the data's size; metrics can expose it.
pub fn statements_sent() -> u64 {
    STATEMENTS.load(std::sync::atomic::Ordering::Relaxed)
}

fn counted(mut conn: DatabaseConnection) -> DatabaseConnection {
    conn.set_metric_callback(|_| {
        STATEMENTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    });
    conn
}

/// A connected database: the pool and its backend.
#[derive(Clone, Debug)]
pub struct Db {
    pub conn: DatabaseConnection,
    pub backend: Backend,
}

impl Db {
    /// Connects. A SQLite file and its folder are created when missing; SQLite runs in WAL
    /// mode with a busy timeout, `synchronous=NORMAL` and foreign keys on.
    pub async fn connect(cfg: &DbConfig) -> Result<Db, StoreError> {
        let (backend, url) = Backend::from_url(&cfg.url).map_err(StoreError::Unavailable)?;
        if backend == Backend::Sqlite {
            ensure_sqlite_parent(&url)?;
        }
        let mut opts = ConnectOptions::new(url);
        opts.max_connections(cfg.max_connections.max(1))
            .min_connections(1)
            .acquire_timeout(cfg.acquire_timeout)
            .connect_timeout(cfg.acquire_timeout)
            .sqlx_logging(cfg.echo)
            // Ping only connections idle for a while (the server or a proxy may have dropped
            // them), not every checkout: that would be a second round trip per query.
            .test_before_acquire_if_idle_for(Duration::from_secs(30));
        if backend == Backend::Sqlite {
            let busy = cfg.sqlite_busy_timeout;
            opts.map_sqlx_sqlite_opts(move |o| {
                o.create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(busy)
                    .foreign_keys(true)
            });
        }
        let conn = counted(Database::connect(opts).await?);
        Ok(Db { conn, backend })
    }

    /// A PostgreSQL pool that opens its connections on first use, from the runtime that uses
    /// it. Returns `None` for SQLite (whose pool is shared) or if building it would block.
    pub fn postgres_lazy(cfg: &DbConfig) -> Option<Result<Db, StoreError>> {
        use futures_util::FutureExt;
        let (backend, url) = Backend::from_url(&cfg.url).ok()?;
        if backend != Backend::Postgres {
            return None;
        }
        let mut opts = ConnectOptions::new(url);
        opts.max_connections(cfg.max_connections.max(1))
            .min_connections(0)
            .acquire_timeout(cfg.acquire_timeout)
            .connect_timeout(cfg.acquire_timeout)
            .sqlx_logging(cfg.echo)
            // Ping only connections idle for a while (the server or a proxy may have dropped
            // them), not every checkout: that would be a second round trip per query.
            .test_before_acquire_if_idle_for(Duration::from_secs(30))
            .connect_lazy(true);
        // With a lazy pool and no after-connect hook, connecting does no I/O: the future is
        // ready at its first poll.
        let res = Database::connect(opts).now_or_never()?;
        Some(
            res.map(|conn| Db {
                conn: counted(conn),
                backend,
            })
            .map_err(StoreError::from),
        )
    }

    /// A cheap round trip, for `/ready`.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.conn.execute_unprepared("SELECT 1").await?;
        Ok(())
    }

    /// Applies every pending migration.
    pub async fn migrate_up(&self) -> Result<(), StoreError> {
        Ok(Migrator::up(&self.conn, None).await?)
    }

    /// Applies the next `steps` pending migrations.
    pub async fn migrate_up_steps(&self, steps: u32) -> Result<(), StoreError> {
        Ok(Migrator::up(&self.conn, Some(steps)).await?)
    }

    /// Rolls back the last `steps` applied migrations.
    pub async fn migrate_down(&self, steps: u32) -> Result<(), StoreError> {
        Ok(Migrator::down(&self.conn, Some(steps)).await?)
    }

    /// Every known migration with whether it is applied, oldest first.
    pub async fn migration_status(&self) -> Result<Vec<(String, bool)>, StoreError> {
        let list = Migrator::get_migration_with_status(&self.conn).await?;
        Ok(list
            .iter()
            .map(|m| (m.name().to_string(), m.status() == MigrationStatus::Applied))
            .collect())
    }

    /// The names of migrations not yet applied.
    pub async fn pending_migrations(&self) -> Result<Vec<String>, StoreError> {
        Ok(self
            .migration_status()
            .await?
            .into_iter()
            .filter(|(_, applied)| !applied)
            .map(|(n, _)| n)
            .collect())
    }
}

fn ensure_sqlite_parent(url: &str) -> Result<(), StoreError> {
    let path = url
        .trim_start_matches("sqlite:")
        .trim_start_matches("//")
        .split('?')
        .next()
        .unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    if let Some(parent) = Path::new(path).parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent).map_err(|e| {
            StoreError::Unavailable(format!("cannot create {}: {e}", parent.display()))
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_schemes() {
        assert_eq!(
            Backend::from_url("postgresql+asyncpg://u:p@h:5432/db").unwrap(),
            (Backend::Postgres, "postgres://u:p@h:5432/db".to_string())
        );
        assert_eq!(
            Backend::from_url("postgres://h/db").unwrap().0,
            Backend::Postgres
        );
        assert_eq!(
            Backend::from_url("sqlite://./data/x.db?mode=rwc").unwrap(),
            (Backend::Sqlite, "sqlite://./data/x.db?mode=rwc".to_string())
        );
        let err = Backend::from_url("mysql://h/db").unwrap_err();
        assert!(err.contains("mysql"), "{err}");
        assert!(Backend::from_url("nonsense").is_err());
    }

    #[tokio::test]
    async fn sqlite_file_is_created_in_wal_mode_with_a_real_pool() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/nested/app.db", dir.path().display());
        let mut cfg = DbConfig::new(url);
        cfg.max_connections = 4;
        let db = Db::connect(&cfg).await.unwrap();
        db.ping().await.unwrap();
        let row = db
            .conn
            .query_one_raw(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Sqlite,
                "PRAGMA journal_mode",
            ))
            .await
            .unwrap()
            .unwrap();
        let mode: String = row.try_get_by_index(0).unwrap();
        assert_eq!(mode, "wal");
        assert!(dir.path().join("nested/app.db").exists());
    }
}
