//! The worker's durable queue.
//!
//! A job is a row in `jobs`. Producers insert it with [`enqueue`] **inside the transaction of
//! the change that causes it**, so the job exists if and only if the change committed (an
//! outbox). Workers take one with [`JobStore::claim`], which marks it `running` under a lease
//! (a deadline and a random token) in one statement: `FOR UPDATE SKIP LOCKED` on PostgreSQL,
//! SQLite's single writer on SQLite. A worker that stops cleanly gives back the jobs it could
//! not finish ([`JobStore::release`]); one that dies simply lets its lease expire, after
//! which the job is claimable again; a worker whose lease expired can no longer complete or
//! fail the job (every transition checks the token), so two workers never both finish it.
//!
//! The database is the source of truth. Wake-ups (in-process or through Redis) only shorten
//! the wait before the next claim.

use crate::{Backend, StoreError};
use chrono::{DateTime, TimeZone, Utc};
use kernel::OrganizationId;
use kernel::id::JobId;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, FromQueryResult, Statement, Value};
use serde_json::Value as Json;
use std::time::Duration;
use uuid::Uuid;

/// Where a job is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobStatus {
    Pending,
    Running,
    Done,
    /// Failed permanently or too often; kept for inspection and manual retry.
    Dead,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Pending => "pending",
            JobStatus::Running => "running",
            JobStatus::Done => "done",
            JobStatus::Dead => "dead",
        }
    }
    fn parse(s: &str) -> Result<Self, StoreError> {
        Ok(match s {
            "pending" => JobStatus::Pending,
            "running" => JobStatus::Running,
            "done" => JobStatus::Done,
            "dead" => JobStatus::Dead,
            other => return Err(StoreError::Corrupt(format!("job status {other:?}"))),
        })
    }
}

/// A job to enqueue.
#[derive(Clone, Debug)]
pub struct NewJob {
    /// Which handler runs it, e.g. `send_email`.
    pub kind: String,
    pub payload: Json,
    /// Not before this instant.
    pub run_at: DateTime<Utc>,
    /// Attempts before the job is parked as dead.
    pub max_attempts: i32,
    /// An idempotency key: a second job with the same key is not enqueued.
    pub dedupe_key: Option<String>,
    /// The church the job works for, when it works for one.
    pub organization_id: Option<OrganizationId>,
}

impl NewJob {
    /// A job to run as soon as possible, with the default of 8 attempts.
    pub fn now(kind: impl Into<String>, payload: Json, now: DateTime<Utc>) -> Self {
        Self {
            kind: kind.into(),
            payload,
            run_at: now,
            max_attempts: 8,
            dedupe_key: None,
            organization_id: None,
        }
    }
    pub fn dedupe(mut self, key: impl Into<String>) -> Self {
        self.dedupe_key = Some(key.into());
        self
    }
    pub fn at(mut self, run_at: DateTime<Utc>) -> Self {
        self.run_at = run_at;
        self
    }
    pub fn max_attempts(mut self, n: i32) -> Self {
        self.max_attempts = n.max(1);
        self
    }
    pub fn for_organization(mut self, org: OrganizationId) -> Self {
        self.organization_id = Some(org);
        self
    }
}

/// A job this worker holds the lease of.
#[derive(Clone, Debug)]
pub struct ClaimedJob {
    pub id: JobId,
    pub kind: String,
    pub payload: Json,
    /// This attempt's number, from 1.
    pub attempt: i32,
    pub max_attempts: i32,
    pub organization_id: Option<OrganizationId>,
    /// When the job was due; `claimed_at - due_at` is its wait in the queue.
    pub due_at: DateTime<Utc>,
    pub lease_token: Uuid,
    pub lease_until: DateTime<Utc>,
}

/// A job as stored, for inspection (dead-letter listing, tests).
#[derive(Clone, Debug)]
pub struct JobRow {
    pub id: JobId,
    pub kind: String,
    pub payload: Json,
    pub status: JobStatus,
    pub attempts: i32,
    pub max_attempts: i32,
    pub run_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub dedupe_key: Option<String>,
    pub organization_id: Option<OrganizationId>,
}

/// How many jobs are in each state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JobCounts {
    pub pending: u64,
    pub running: u64,
    pub done: u64,
    pub dead: u64,
}

#[derive(FromQueryResult)]
struct RawRow {
    id: Uuid,
    kind: String,
    payload: String,
    status: String,
    attempts: i32,
    max_attempts: i32,
    run_at: i64,
    last_error: Option<String>,
    dedupe_key: Option<String>,
    organization_id: Option<Uuid>,
}

const COLUMNS: &str = "id, kind, payload, status, attempts, max_attempts, run_at, last_error, dedupe_key, organization_id";

pub(crate) fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn from_ms(v: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(v).single().unwrap_or_default()
}

/// Builds a statement from SQL written with `?` placeholders, numbering them `$1, $2…` for
/// PostgreSQL. The SQL must contain no other `?`. Public for tests that write rows by hand.
pub fn stmt(backend: DbBackend, sql: &str, values: Vec<Value>) -> Statement {
    let sql = if backend == DbBackend::Postgres {
        let mut out = String::with_capacity(sql.len() + 8);
        let mut n = 0;
        for ch in sql.chars() {
            if ch == '?' {
                n += 1;
                out.push('$');
                out.push_str(&n.to_string());
            } else {
                out.push(ch);
            }
        }
        out
    } else {
        sql.to_string()
    };
    Statement::from_sql_and_values(backend, sql, values)
}

/// Enqueues a job on `conn`, which may be (and usually is) the producer's open transaction.
/// Returns `None` when a job with the same dedupe key already exists.
pub async fn enqueue<C: ConnectionTrait>(
    conn: &C,
    job: &NewJob,
    now: DateTime<Utc>,
) -> Result<Option<JobId>, StoreError> {
    let id = JobId::new();
    let backend = conn.get_database_backend();
    let sql = "INSERT INTO jobs (id, kind, payload, status, attempts, max_attempts, run_at, \
               dedupe_key, organization_id, created_at, updated_at) \
               VALUES (?, ?, ?, 'pending', 0, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING";
    let res = conn
        .execute_raw(stmt(
            backend,
            sql,
            vec![
                id.as_uuid().into(),
                job.kind.clone().into(),
                job.payload.to_string().into(),
                job.max_attempts.max(1).into(),
                ms(job.run_at).into(),
                job.dedupe_key.clone().into(),
                job.organization_id.map(|o| o.as_uuid()).into(),
                ms(now).into(),
                ms(now).into(),
            ],
        ))
        .await?;
    Ok((res.rows_affected() == 1).then_some(id))
}

/// Enqueues `jobs` on `conn` in a fixed number of statements (one multi-row `INSERT` per
/// 500 jobs). Jobs whose dedupe key exists already are skipped; returns how many were queued.
pub async fn enqueue_many<C: ConnectionTrait>(
    conn: &C,
    jobs: &[NewJob],
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let backend = conn.get_database_backend();
    let mut queued = 0;
    for chunk in jobs.chunks(500) {
        let mut sql = String::from(
            "INSERT INTO jobs (id, kind, payload, status, attempts, max_attempts, run_at, \
             dedupe_key, organization_id, created_at, updated_at) VALUES ",
        );
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 9);
        for (i, job) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str("(?, ?, ?, 'pending', 0, ?, ?, ?, ?, ?, ?)");
            values.extend([
                JobId::new().as_uuid().into(),
                job.kind.clone().into(),
                job.payload.to_string().into(),
                job.max_attempts.max(1).into(),
                ms(job.run_at).into(),
                job.dedupe_key.clone().into(),
                job.organization_id.map(|o| o.as_uuid()).into(),
                ms(now).into(),
                ms(now).into(),
            ]);
        }
        sql.push_str(" ON CONFLICT (dedupe_key) DO NOTHING");
        queued += conn
            .execute_raw(stmt(backend, &sql, values))
            .await?
            .rows_affected();
    }
    Ok(queued)
}

/// Attempts of an email job: twelve, spread over about a day by [`NewJob`]'s backoff (5 s
/// doubling, capped at an hour), so mail waits out an SMTP server that is down for hours.
pub const EMAIL_ATTEMPTS: i32 = 12;

/// Queues an email (a [`kernel::mail::SEND_EMAIL_JOB`] job) on `conn`, normally the
/// transaction of the change that causes it, with [`EMAIL_ATTEMPTS`] attempts.
pub async fn enqueue_email<C: ConnectionTrait>(
    conn: &C,
    email: &kernel::mail::Email,
    now: DateTime<Utc>,
) -> Result<Option<JobId>, StoreError> {
    let payload = serde_json::to_value(email).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let job = NewJob::now(kernel::mail::SEND_EMAIL_JOB, payload, now).max_attempts(EMAIL_ATTEMPTS);
    enqueue(conn, &job, now).await
}

/// The queue's operations for workers and operators.
#[derive(Clone, Debug)]
pub struct JobStore {
    conn: DatabaseConnection,
    backend: Backend,
}

impl JobStore {
    pub fn new(conn: DatabaseConnection) -> Self {
        let backend = Backend::from_db(conn.get_database_backend());
        Self { conn, backend }
    }

    pub fn connection(&self) -> &DatabaseConnection {
        &self.conn
    }

    fn stmt(&self, sql: &str, values: Vec<Value>) -> Statement {
        stmt(self.conn.get_database_backend(), sql, values)
    }

    /// Enqueues outside any other transaction (a standalone job).
    pub async fn enqueue(
        &self,
        job: &NewJob,
        now: DateTime<Utc>,
    ) -> Result<Option<JobId>, StoreError> {
        enqueue(&self.conn, job, now).await
    }

    /// Takes the oldest due job, or one whose lease expired with attempts left, under a new
    /// lease of `lease`. (Jobs whose lease expired on their last attempt are left for
    /// [`JobStore::bury_expired`], which workers run periodically, off the claim path.)
    pub async fn claim(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Option<ClaimedJob>, StoreError> {
        let lease_until =
            now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::seconds(60));
        let token = Uuid::new_v4();
        let lock = match self.backend {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_until = ?, \
             lease_token = ?, updated_at = ? \
             WHERE id = (SELECT id FROM jobs \
                 WHERE (status = 'pending' AND run_at <= ?) \
                    OR (status = 'running' AND lease_until < ? AND attempts < max_attempts) \
                 ORDER BY run_at, id LIMIT 1{lock}) \
             RETURNING {COLUMNS}"
        );
        let row = self
            .conn
            .query_one_raw(self.stmt(
                &sql,
                vec![
                    ms(lease_until).into(),
                    token.into(),
                    ms(now).into(),
                    ms(now).into(),
                    ms(now).into(),
                ],
            ))
            .await?;
        let Some(row) = row else { return Ok(None) };
        let r = to_row(RawRow::from_query_result(&row, "")?)?;
        Ok(Some(ClaimedJob {
            id: r.id,
            kind: r.kind,
            payload: r.payload,
            attempt: r.attempts,
            max_attempts: r.max_attempts,
            organization_id: r.organization_id,
            due_at: r.run_at,
            lease_token: token,
            lease_until,
        }))
    }

    /// Parks as dead the jobs whose lease expired on their last allowed attempt (their worker
    /// died every time), so they stop being retried.
    pub async fn bury_expired(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let res = self
            .conn
            .execute_raw(self.stmt(
                "UPDATE jobs SET status = 'dead', lease_until = NULL, lease_token = NULL, \
                 finished_at = ?, updated_at = ?, \
                 last_error = 'lease expired on the last attempt (worker stopped or timed out)' \
                 WHERE status = 'running' AND lease_until < ? AND attempts >= max_attempts",
                vec![ms(now).into(), ms(now).into(), ms(now).into()],
            ))
            .await?;
        Ok(res.rows_affected())
    }

    /// Marks the job done. `false` when this worker no longer holds the lease.
    pub async fn complete(&self, job: &ClaimedJob, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let res = self
            .conn
            .execute_raw(self.stmt(
                "UPDATE jobs SET status = 'done', lease_until = NULL, lease_token = NULL, \
                 last_error = NULL, finished_at = ?, updated_at = ? \
                 WHERE id = ? AND lease_token = ? AND status = 'running'",
                vec![
                    ms(now).into(),
                    ms(now).into(),
                    job.id.as_uuid().into(),
                    job.lease_token.into(),
                ],
            ))
            .await?;
        Ok(res.rows_affected() == 1)
    }

    /// Records a failed attempt: back to `pending` at `retry_at`, or parked as `dead` when
    /// `retry_at` is `None`. `false` when this worker no longer holds the lease.
    pub async fn fail(
        &self,
        job: &ClaimedJob,
        now: DateTime<Utc>,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<bool, StoreError> {
        let error: String = error.chars().take(2000).collect();
        let st = match retry_at {
            Some(at) => self.stmt(
                "UPDATE jobs SET status = 'pending', run_at = ?, lease_until = NULL, \
                 lease_token = NULL, last_error = ?, updated_at = ? \
                 WHERE id = ? AND lease_token = ? AND status = 'running'",
                vec![
                    ms(at).into(),
                    error.into(),
                    ms(now).into(),
                    job.id.as_uuid().into(),
                    job.lease_token.into(),
                ],
            ),
            None => self.stmt(
                "UPDATE jobs SET status = 'dead', lease_until = NULL, lease_token = NULL, \
                 last_error = ?, finished_at = ?, updated_at = ? \
                 WHERE id = ? AND lease_token = ? AND status = 'running'",
                vec![
                    error.into(),
                    ms(now).into(),
                    ms(now).into(),
                    job.id.as_uuid().into(),
                    job.lease_token.into(),
                ],
            ),
        };
        Ok(self.conn.execute_raw(st).await?.rows_affected() == 1)
    }

    /// Gives a claimed job back unfinished (its worker is shutting down): `pending` and due at
    /// `now`, so another worker takes it at once instead of after the lease expires. The
    /// interrupted attempt is not counted. `false` when this worker no longer holds the lease
    /// (the job finished, or another worker took it over).
    pub async fn release(&self, job: &ClaimedJob, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let res = self
            .conn
            .execute_raw(self.stmt(
                "UPDATE jobs SET status = 'pending', run_at = ?, lease_until = NULL, \
                 lease_token = NULL, attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, \
                 last_error = 'released unfinished: its worker was shutting down', updated_at = ? \
                 WHERE id = ? AND lease_token = ? AND status = 'running'",
                vec![
                    ms(now).into(),
                    ms(now).into(),
                    job.id.as_uuid().into(),
                    job.lease_token.into(),
                ],
            ))
            .await?;
        Ok(res.rows_affected() == 1)
    }

    /// When the next pending job is due, if any; workers sleep until then at most.
    pub async fn next_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let row = self
            .conn
            .query_one_raw(self.stmt(
                "SELECT MIN(run_at) AS next FROM jobs WHERE status = 'pending'",
                vec![],
            ))
            .await?;
        let next: Option<i64> = match row {
            Some(r) => r.try_get("", "next")?,
            None => None,
        };
        Ok(next.map(from_ms))
    }

    /// How many jobs are in each state.
    pub async fn counts(&self) -> Result<JobCounts, StoreError> {
        let rows = self
            .conn
            .query_all_raw(self.stmt(
                "SELECT status, COUNT(*) AS n FROM jobs GROUP BY status",
                vec![],
            ))
            .await?;
        let mut c = JobCounts::default();
        for r in rows {
            let status: String = r.try_get("", "status")?;
            let n: i64 = r.try_get("", "n")?;
            let n = u64::try_from(n).unwrap_or(0);
            match JobStatus::parse(&status)? {
                JobStatus::Pending => c.pending = n,
                JobStatus::Running => c.running = n,
                JobStatus::Done => c.done = n,
                JobStatus::Dead => c.dead = n,
            }
        }
        Ok(c)
    }

    /// Reads one job.
    pub async fn get(&self, id: JobId) -> Result<Option<JobRow>, StoreError> {
        let row = self
            .conn
            .query_one_raw(self.stmt(
                &format!("SELECT {COLUMNS} FROM jobs WHERE id = ?"),
                vec![id.as_uuid().into()],
            ))
            .await?;
        match row {
            Some(r) => Ok(Some(to_row(RawRow::from_query_result(&r, "")?)?)),
            None => Ok(None),
        }
    }

    /// The dead jobs, newest first.
    pub async fn dead(&self, limit: u64) -> Result<Vec<JobRow>, StoreError> {
        let rows = self
            .conn
            .query_all_raw(self.stmt(
                &format!(
                    "SELECT {COLUMNS} FROM jobs WHERE status = 'dead' ORDER BY updated_at DESC LIMIT ?"
                ),
                vec![i64::try_from(limit).unwrap_or(i64::MAX).into()],
            ))
            .await?;
        rows.iter()
            .map(|r| to_row(RawRow::from_query_result(r, "")?))
            .collect()
    }

    /// Puts a dead job back in the queue with a fresh set of attempts.
    pub async fn retry_dead(&self, id: JobId, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let res = self
            .conn
            .execute_raw(self.stmt(
                "UPDATE jobs SET status = 'pending', attempts = 0, run_at = ?, finished_at = NULL, \
                 updated_at = ? WHERE id = ? AND status = 'dead'",
                vec![ms(now).into(), ms(now).into(), id.as_uuid().into()],
            ))
            .await?;
        Ok(res.rows_affected() == 1)
    }

    /// Deletes jobs finished (done) before `before`. Dead jobs are kept for an operator.
    pub async fn prune_done(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let res = self
            .conn
            .execute_raw(self.stmt(
                "DELETE FROM jobs WHERE status = 'done' AND finished_at < ?",
                vec![ms(before).into()],
            ))
            .await?;
        Ok(res.rows_affected())
    }
}

fn to_row(r: RawRow) -> Result<JobRow, StoreError> {
    Ok(JobRow {
        id: JobId::from(r.id),
        kind: r.kind,
        payload: serde_json::from_str(&r.payload)
            .map_err(|e| StoreError::Corrupt(format!("job payload: {e}")))?,
        status: JobStatus::parse(&r.status)?,
        attempts: r.attempts,
        max_attempts: r.max_attempts,
        run_at: from_ms(r.run_at),
        last_error: r.last_error,
        dedupe_key: r.dedupe_key,
        organization_id: r.organization_id.map(OrganizationId::from),
    })
}
