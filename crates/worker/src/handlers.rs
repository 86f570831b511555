//! The job kinds the worker knows.

use crate::JobError;
use app::AppContext;
use kernel::mail::{Email, MailError, Mailer};
use store_sea::{ClaimedJob, ConnectionTrait, NewJob, StoreError};

/// Sends one email (payload: a `kernel::mail::Email`).
pub const SEND_EMAIL: &str = kernel::mail::SEND_EMAIL_JOB;

/// The payload of a [`SEND_EMAIL`] job.
pub type SendEmail = Email;

/// Queues an email on `conn` — normally the transaction of the change that causes it, so the
/// email goes out if and only if that change commits. Call `ctx.wakeup.notify()` after the
/// commit. Mail is never sent from inside a request.
pub async fn enqueue_email<C: ConnectionTrait>(
    conn: &C,
    ctx: &AppContext,
    email: &Email,
    dedupe_key: Option<String>,
) -> Result<Option<kernel::JobId>, StoreError> {
    let payload = serde_json::to_value(email).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let mut job = NewJob::now(SEND_EMAIL, payload, ctx.clock.now()).max_attempts(12);
    job.dedupe_key = dedupe_key;
    store_sea::jobs::enqueue(conn, &job, ctx.clock.now()).await
}

pub(crate) async fn send_email(ctx: AppContext, job: ClaimedJob) -> Result<(), JobError> {
    let email: Email = serde_json::from_value(job.payload)
        .map_err(|e| JobError::Permanent(format!("malformed email payload: {e}")))?;
    ctx.mailer.send(&email).await.map_err(|e| match e {
        MailError::Transient(m) => JobError::Retry(m),
        MailError::Permanent(m) => JobError::Permanent(m),
    })
}

pub(crate) async fn prune_jobs(ctx: AppContext, job: ClaimedJob) -> Result<(), JobError> {
    let keep_days = job
        .payload
        .get("keepDays")
        .and_then(|v| v.as_i64())
        .unwrap_or(7)
        .clamp(1, 365);
    let before = ctx.clock.now() - chrono::Duration::days(keep_days);
    let n = ctx
        .jobs
        .prune_done(before)
        .await
        .map_err(|e| JobError::Retry(e.to_string()))?;
    tracing::info!(deleted = n, keep_days, "finished jobs pruned");
    Ok(())
}

pub(crate) async fn password_reset_request(
    ctx: AppContext,
    job: ClaimedJob,
) -> Result<(), JobError> {
    let email = job
        .payload
        .get("email")
        .and_then(|v| v.as_str())
        .ok_or_else(|| JobError::Permanent("payload has no email".into()))?;
    match ctx
        .accounts
        .send_password_reset(email, ctx.clock.now())
        .await
    {
        Ok(_) => Ok(()),
        Err(accounts::AccountError::Store(e)) => Err(JobError::Retry(e.to_string())),
        Err(e) => Err(JobError::Permanent(e.to_string())),
    }
}
