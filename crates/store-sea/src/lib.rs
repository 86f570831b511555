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

pub mod accounts;
pub mod db;
pub mod jobs;
pub mod teams;

pub use accounts::SeaAccounts;
pub use db::{Backend, Db, DbConfig, statements_sent};
pub use jobs::{ClaimedJob, JobCounts, JobRow, JobStatus, JobStore, NewJob};
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

impl From<sea_orm::DbErr> for StoreError {
    fn from(e: sea_orm::DbErr) -> Self {
        use sea_orm::{DbErr, SqlErr};
        match &e {
            DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => StoreError::Unavailable(e.to_string()),
            _ => match e.sql_err() {
                Some(SqlErr::UniqueConstraintViolation(m)) => StoreError::Conflict(m),
                _ => StoreError::Db(e),
            },
        }
    }
}
