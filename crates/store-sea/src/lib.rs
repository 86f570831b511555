//! The relational store adapter.
//!
//! One implementation serves both backends through sea-orm: PostgreSQL in production and a
//! SQLite file in the embedded default. SQL is written once; the few places where the two
//! differ (row locking in the queue's claim) branch on [`Backend`] inside this crate and
//! nowhere else.
//!
//! * [`db`] — connecting (URL scheme → backend, pool sizing, SQLite WAL and busy timeout),
//!   readiness ping, and migrations.
//! * [`jobs`] — the worker's durable queue: enqueue inside the caller's transaction (an
//!   outbox), claim with a lease, complete, retry or park as dead, scheduled ticks.
//! * [`schedule`] — a department's services and recurring series.

pub mod accounts;
pub mod announcements;
pub mod availability;
pub mod calendar_feeds;
mod chases;
pub mod db;
pub mod jobs;
pub mod notifications;
pub mod outbox;
pub mod reminders;
pub mod rota;
pub mod schedule;
mod sql;
pub mod suppressions;
pub mod teams;

pub use accounts::SeaAccounts;
pub use announcements::SeaAnnouncements;
pub use availability::SeaAvailability;
pub use calendar_feeds::SeaCalendarFeeds;
pub use db::{Backend, Db, DbConfig, statements_sent};
pub use jobs::{ClaimedJob, JobCounts, JobRow, JobStatus, JobStore, NewJob};
pub use notifications::SeaNotifications;
pub use rota::SeaRota;
pub use schedule::SeaSchedule;
pub use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, TransactionTrait};
pub use teams::SeaTeams;

/// What the store tells its callers. Adapters of later ports map driver errors into their own
/// domain contracts; this enum covers the infrastructure itself.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or no connection could be had in time. Callers answer
    /// 503 and retry later; nothing was written.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A uniqueness rule refused the write.
    #[error("conflict: {0}")]
    Conflict(String),
    /// Stored data could not be decoded (a bug or a manual edit).
    #[error("corrupt row: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Db(sea_orm::DbErr),
}

/// Whether a statement failed because the database was out of reach rather than because the
/// statement was refused: the connection was lost (PostgreSQL restarted or failed over, an
/// administrator ended the session, the network dropped), or SQLite's write lock stayed taken
/// past the busy timeout. The transaction it was part of is rolled back, so the caller may
/// answer 503 and the client retry.
fn out_of_reach(e: &sea_orm::DbErr) -> bool {
    use sea_orm::{DbErr, RuntimeErr, sqlx};
    let (DbErr::Query(RuntimeErr::SqlxError(x)) | DbErr::Exec(RuntimeErr::SqlxError(x))) = e else {
        return false;
    };
    match &**x {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(d) => {
            let code = d.code().unwrap_or_default();
            if d.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                // SQLITE_BUSY and SQLITE_LOCKED, with their extended codes.
                code.parse::<i32>().is_ok_and(|c| matches!(c & 0xff, 5 | 6))
            } else {
                // SQLSTATE classes 08 (connection exception) and 57P (operator intervention:
                // admin_shutdown, crash_shutdown, cannot_connect_now), and too_many_connections.
                code.starts_with("08") || code.starts_with("57P") || code == "53300"
            }
        }
        _ => false,
    }
}

impl From<sea_orm::DbErr> for StoreError {
    fn from(e: sea_orm::DbErr) -> Self {
        use sea_orm::{DbErr, SqlErr};
        match &e {
            DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => StoreError::Unavailable(e.to_string()),
            _ if out_of_reach(&e) => StoreError::Unavailable(e.to_string()),
            _ => match e.sql_err() {
                Some(SqlErr::UniqueConstraintViolation(m)) => StoreError::Conflict(m),
                _ => StoreError::Db(e),
            },
        }
    }
}
