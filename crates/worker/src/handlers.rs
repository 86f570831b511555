//! The job kinds the worker knows.

use crate::JobError;
use app::AppContext;
use kernel::mail::{Email, MailError, Mailer};
use store_sea::ClaimedJob;

/// Sends one email (payload: a `kernel::mail::Email`).
pub const SEND_EMAIL: &str = kernel::mail::SEND_EMAIL_JOB;

pub(crate) async fn send_email(ctx: AppContext, job: ClaimedJob) -> Result<(), JobError> {
    let email: Email = serde_json::from_value(job.payload)
        .map_err(|e| JobError::Permanent(format!("malformed email payload: {e}")))?;
    match ctx.mailer.send(&email).await {
        Ok(()) => Ok(()),
        Err(MailError::Transient(m)) => Err(JobError::Retry(m)),
        Err(MailError::Permanent(m)) => Err(JobError::Permanent(m)),
        Err(MailError::Refused(m)) => {
            // The address itself is refused: remember it, so no notification email is queued
            // for it again (the address is personal data: the log names the job, not it).
            store_sea::suppressions::record(&ctx.db.conn, &email.to.email, &m, ctx.clock.now())
                .await
                .map_err(|e| {
                    JobError::Retry(format!("recipient refused; cannot record it: {e}"))
                })?;
            tracing::warn!("recipient address refused by the mail server; recorded, not retried");
            Err(JobError::Permanent(format!("recipient refused: {m}")))
        }
    }
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

/// The daily job: marks pending invitations past their expiry as expired.
pub(crate) async fn expire_invitations(ctx: AppContext, _job: ClaimedJob) -> Result<(), JobError> {
    let n = ctx
        .teams
        .expire_invitations(ctx.clock.now())
        .await
        .map_err(|e| JobError::Retry(e.to_string()))?;
    tracing::info!(expired = n, "invitations past their expiry marked");
    Ok(())
}

/// Generates a rota (payload: `rota::service::GenerateJob`).
pub(crate) async fn generate_rota(ctx: AppContext, job: ClaimedJob) -> Result<(), JobError> {
    let payload: rota::service::GenerateJob = serde_json::from_value(job.payload)
        .map_err(|e| JobError::Permanent(format!("malformed generation payload: {e}")))?;
    let started = std::time::Instant::now();
    match ctx.rota.run_generation(&payload, ctx.clock.now()).await {
        Ok(p) => {
            tracing::info!(
                planning = %p.id,
                filled = p.filled_slots,
                required = p.required_slots,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "rota generated"
            );
            Ok(())
        }
        Err(rota::RotaError::Store(accounts::StoreError::Unavailable(m))) => {
            Err(JobError::Retry(m))
        }
        Err(e) => Err(JobError::Permanent(e.to_string())),
    }
}

/// Turns the pending outbox events into notifications (enqueued with every recorded batch of
/// events, and hourly as a sweep). Safe to run twice or concurrently: a notification is
/// written once per event and recipient.
pub(crate) async fn dispatch_notifications(
    ctx: AppContext,
    _job: ClaimedJob,
) -> Result<(), JobError> {
    let stats = ctx
        .notifications
        .dispatch(notifications::DISPATCH_BATCH, ctx.clock.now())
        .await
        .map_err(|e| JobError::Retry(e.to_string()))?;
    if stats.events > 0 {
        tracing::info!(
            events = stats.events,
            notifications = stats.notifications,
            "outbox events dispatched"
        );
    }
    // Wake the recipients' live connections (every API process): best effort, the
    // notifications are committed and a connection reads them from the database.
    let users: Vec<_> = stats.recipients.iter().map(|(_, u)| u.as_uuid()).collect();
    ctx.fanout.publish(&users).await;
    Ok(())
}

/// The hourly job: reminds the members who entered nothing for their department's next open
/// month when its deadline is one of `AVAILABILITY_CHASE_DAYS` days away; once per
/// (department, month, offset) whatever the number of runs.
pub(crate) async fn chase_availability(ctx: AppContext, _job: ClaimedJob) -> Result<(), JobError> {
    let stats = ctx
        .availability
        .chase_due(&ctx.settings.availability_chase_days, ctx.clock.now())
        .await
        .map_err(|e| JobError::Retry(e.to_string()))?;
    if stats.departments > 0 {
        tracing::info!(
            departments = stats.departments,
            reminders = stats.reminders,
            "availability deadline chasers recorded"
        );
    }
    Ok(())
}

/// Records the reminders due before services (every minute, and enqueued with the changes
/// that may make one due). Safe to run twice or concurrently: the ledger records each
/// (assignment, remind_at) once, and its event only with it.
pub(crate) async fn remind_services(ctx: AppContext, _job: ClaimedJob) -> Result<(), JobError> {
    let stats = notifications::reminders::run(ctx.notifications.store(), ctx.clock.now())
        .await
        .map_err(|e| JobError::Retry(e.to_string()))?;
    if stats.recorded > 0 {
        tracing::info!(
            candidates = stats.candidates,
            due = stats.due,
            recorded = stats.recorded,
            "service reminders recorded"
        );
        // Their dispatch job was enqueued with them: take it now rather than at the next poll.
        ctx.wakeup.notify().await;
    }
    Ok(())
}

/// The daily job: deletes notifications read more than `NOTIFICATIONS_RETENTION_DAYS` ago.
pub(crate) async fn prune_notifications(ctx: AppContext, _job: ClaimedJob) -> Result<(), JobError> {
    let keep = ctx.settings.notifications_retention_days;
    let n = ctx
        .notifications
        .prune(keep, ctx.clock.now())
        .await
        .map_err(|e| JobError::Retry(e.to_string()))?;
    tracing::info!(deleted = n, keep_days = keep, "read notifications pruned");
    Ok(())
}
