//! The background worker.
//!
//! A [`Worker`] claims due jobs from the durable queue (`store_sea::jobs`), runs the handler
//! registered for each job's kind under a lease, and records the outcome:
//!
//! * success → `done`;
//! * [`JobError::Retry`] (or a timeout) → back to `pending` after an exponential backoff with
//!   jitter ([`retry_delay`]), until the job's attempts are used up → `dead`;
//! * [`JobError::Permanent`] → `dead` at once, kept for an operator to read or retry.
//!
//! It wakes on a [`kv::Wakeup`] (in-process, or Redis pub/sub across processes) and otherwise
//! polls every `WORKER_POLL_INTERVAL_MS`. Scheduled jobs ([`Schedule`], cron syntax, UTC) are
//! enqueued with the dedupe key `schedule:<name>:<tick>`, so each tick runs once however many
//! workers run. On shutdown it stops claiming and lets running jobs finish within the shutdown
//! timeout; a job still running after that is stopped and its lease released
//! ([`store_sea::JobStore::release`]), so another worker takes it at once, the interrupted
//! attempt not counted. A worker that dies instead leaves its leases to expire, after which
//! another worker retries the job. A job must therefore be safe to run again: at-least-once.

mod handlers;
mod metrics;

pub use handlers::SEND_EMAIL;

use app::AppContext;
use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use store_sea::{ClaimedJob, NewJob};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

/// How a job handler failed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Worth another attempt later.
    #[error("{0}")]
    Retry(String),
    /// No attempt can succeed: park the job as dead now.
    #[error("{0}")]
    Permanent(String),
}

type HandlerFn =
    dyn Fn(AppContext, ClaimedJob) -> BoxFuture<'static, Result<(), JobError>> + Send + Sync;

struct Handler {
    run: Arc<HandlerFn>,
    timeout: Duration,
}

/// A cron-like schedule: enqueue a job of `kind` at every tick of `cron` (UTC).
pub struct Schedule {
    pub name: String,
    cron: croner::Cron,
    pub kind: String,
    pub payload: serde_json::Value,
}

impl Schedule {
    pub fn new(
        name: &str,
        cron: &str,
        kind: &str,
        payload: serde_json::Value,
    ) -> Result<Self, String> {
        let cron = croner::Cron::from_str(cron).map_err(|e| format!("schedule {name}: {e}"))?;
        Ok(Self {
            name: name.into(),
            cron,
            kind: kind.into(),
            payload,
        })
    }

    /// The latest tick at or before `now`.
    pub fn latest_tick(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron.find_previous_occurrence(&now, true).ok()
    }
}

/// What a drain did, for tests and tools.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunStats {
    pub succeeded: u32,
    pub retried: u32,
    pub dead: u32,
}

/// The delay before attempt `attempt + 1`, after `attempt` failed: 5 s doubling per attempt,
/// capped at one hour, with "equal jitter" (between half and all of it) so that jobs failing
/// together do not retry together.
pub fn retry_delay(attempt: i32) -> Duration {
    let exp = u32::try_from(attempt.saturating_sub(1).clamp(0, 20)).unwrap_or(0);
    let base = Duration::from_secs(5)
        .saturating_mul(2u32.saturating_pow(exp))
        .min(Duration::from_secs(3600));
    let half = base / 2;
    let jitter_ms = rand::random_range(0..=u64::try_from(half.as_millis()).unwrap_or(0));
    half + Duration::from_millis(jitter_ms)
}

/// Ticks older than this are not caught up after a long stop (the next tick will run).
const SCHEDULE_CATCH_UP: chrono::Duration = chrono::Duration::hours(6);

/// The worker. Cheap to clone; clones share handlers and schedules.
#[derive(Clone)]
pub struct Worker {
    ctx: AppContext,
    handlers: Arc<HashMap<String, Handler>>,
    schedules: Arc<Vec<Schedule>>,
    concurrency: usize,
    poll: Duration,
    lease: Duration,
}

/// Builds a [`Worker`] with handlers and schedules.
pub struct WorkerBuilder {
    ctx: AppContext,
    handlers: HashMap<String, Handler>,
    schedules: Vec<Schedule>,
}

impl WorkerBuilder {
    /// Registers the handler of a job kind. The job's lease is `timeout` plus a margin; a
    /// handler still running at `timeout` is abandoned and the attempt counts as failed.
    pub fn handler<F, Fut>(mut self, kind: &str, timeout: Duration, f: F) -> Self
    where
        F: Fn(AppContext, ClaimedJob) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), JobError>> + Send + 'static,
    {
        let run: Arc<HandlerFn> = Arc::new(move |c, j| Box::pin(f(c, j)));
        self.handlers
            .insert(kind.to_string(), Handler { run, timeout });
        self
    }

    pub fn schedule(mut self, s: Schedule) -> Self {
        self.schedules.push(s);
        self
    }

    pub fn build(self) -> Worker {
        // One lease length for every claim: the longest handler timeout, plus a margin.
        let lease = self
            .handlers
            .values()
            .map(|h| h.timeout)
            .max()
            .unwrap_or(Duration::from_secs(60))
            + Duration::from_secs(30);
        // Every kind's series exists from the start, at zero, when metrics are on.
        if self.ctx.settings.metrics_token.is_some()
            && let Some(m) = metrics::jobs()
        {
            for kind in self.handlers.keys() {
                m.wait.with_label_values(&[kind.as_str()]);
                m.run.with_label_values(&[kind.as_str(), "succeeded"]);
            }
        }
        Worker {
            lease,
            concurrency: self.ctx.settings.worker_concurrency,
            poll: self.ctx.settings.worker_poll_interval,
            ctx: self.ctx,
            handlers: Arc::new(self.handlers),
            schedules: Arc::new(self.schedules),
        }
    }
}

/// The kind of the scheduled clean-up of finished jobs.
pub const PRUNE_JOBS: &str = "prune_jobs";

impl Worker {
    pub fn builder(ctx: AppContext) -> WorkerBuilder {
        WorkerBuilder {
            ctx,
            handlers: HashMap::new(),
            schedules: Vec::new(),
        }
    }

    /// The production worker: every job kind MonService knows, and its schedules.
    pub fn standard(ctx: AppContext) -> Result<Worker, String> {
        Ok(Self::with_standard_handlers(Self::builder(ctx))?.build())
    }

    /// Adds the standard handlers and schedules to a builder (tests add their own on top).
    pub fn with_standard_handlers(b: WorkerBuilder) -> Result<WorkerBuilder, String> {
        Ok(
            b.handler(SEND_EMAIL, Duration::from_secs(60), handlers::send_email)
                .handler(PRUNE_JOBS, Duration::from_secs(300), handlers::prune_jobs)
                .handler(
                    accounts::PASSWORD_RESET_JOB,
                    Duration::from_secs(30),
                    handlers::password_reset_request,
                )
                .handler(
                    rota::GENERATE_JOB,
                    Duration::from_secs(120),
                    handlers::generate_rota,
                )
                .handler(
                    teams::EXPIRE_INVITATIONS_JOB,
                    Duration::from_secs(60),
                    handlers::expire_invitations,
                )
                .handler(
                    notifications::DISPATCH_JOB,
                    Duration::from_secs(120),
                    handlers::dispatch_notifications,
                )
                .handler(
                    notifications::REMINDERS_JOB,
                    Duration::from_secs(120),
                    handlers::remind_services,
                )
                .handler(
                    notifications::PRUNE_JOB,
                    Duration::from_secs(300),
                    handlers::prune_notifications,
                )
                .handler(
                    notifications::CHASE_JOB,
                    Duration::from_secs(300),
                    handlers::chase_availability,
                )
                .schedule(Schedule::new(
                    "chase-availability",
                    "5 * * * *",
                    notifications::CHASE_JOB,
                    serde_json::Value::Null,
                )?)
                // A sweep behind the dispatch job enqueued with every batch of events, in
                // case that job ran out of attempts (the database was away for long).
                .schedule(Schedule::new(
                    "dispatch-notifications",
                    "41 * * * *",
                    notifications::DISPATCH_JOB,
                    serde_json::Value::Null,
                )?)
                // Reminders before services: every minute (changes that may make one due
                // enqueue a run at once as well).
                .schedule(Schedule::new(
                    "service-reminders",
                    "* * * * *",
                    notifications::REMINDERS_JOB,
                    serde_json::Value::Null,
                )?)
                .schedule(Schedule::new(
                    "prune-read-notifications",
                    "27 3 * * *",
                    notifications::PRUNE_JOB,
                    serde_json::Value::Null,
                )?)
                .schedule(Schedule::new(
                    "expire-invitations",
                    "7 2 * * *",
                    teams::EXPIRE_INVITATIONS_JOB,
                    serde_json::Value::Null,
                )?)
                .schedule(Schedule::new(
                    "prune-finished-jobs",
                    "17 3 * * *",
                    PRUNE_JOBS,
                    serde_json::json!({ "keepDays": 7 }),
                )?),
        )
    }

    pub fn context(&self) -> &AppContext {
        &self.ctx
    }

    /// Enqueues the due tick of every schedule that has not been enqueued yet.
    pub async fn enqueue_due_schedules(&self) -> Result<u32, store_sea::StoreError> {
        let now = self.ctx.clock.now();
        let mut n = 0;
        for s in self.schedules.iter() {
            let Some(tick) = s.latest_tick(now) else {
                continue;
            };
            if now - tick > SCHEDULE_CATCH_UP {
                continue;
            }
            let job = NewJob::now(&s.kind, s.payload.clone(), now)
                .at(tick)
                .max_attempts(3)
                .dedupe(format!("schedule:{}:{}", s.name, tick.timestamp_millis()));
            if self.ctx.jobs.enqueue(&job, now).await?.is_some() {
                tracing::info!(schedule = %s.name, tick = %tick, "scheduled job enqueued");
                n += 1;
            }
        }
        Ok(n)
    }

    /// Claims one due job, if any.
    async fn claim(&self) -> Result<Option<ClaimedJob>, store_sea::StoreError> {
        self.ctx.jobs.claim(self.ctx.clock.now(), self.lease).await
    }

    /// Periodic upkeep: enqueue due scheduled ticks, and park as dead the jobs whose lease
    /// expired on their last attempt (their worker died every time).
    async fn upkeep(&self) {
        if let Err(e) = self.enqueue_due_schedules().await {
            tracing::warn!(error = %e, "could not enqueue scheduled jobs");
        }
        match self.ctx.jobs.bury_expired(self.ctx.clock.now()).await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(
                jobs = n,
                "jobs parked as dead: lease expired on their last attempt"
            ),
            Err(e) => tracing::warn!(error = %e, "could not check expired leases"),
        }
    }

    /// Runs one claimed job to its recorded outcome.
    async fn execute(&self, job: ClaimedJob) -> Outcome {
        let started = self.ctx.clock.now();
        let waited_ms = (started - job.due_at).num_milliseconds().max(0);
        let span = tracing::info_span!("job", job.id = %job.id, job.kind = %job.kind, job.attempt = job.attempt);
        let result = match self.handlers.get(&job.kind) {
            None => Err(JobError::Permanent(format!(
                "no handler for job kind {:?}",
                job.kind
            ))),
            Some(h) => {
                let fut = (h.run)(self.ctx.clone(), job.clone());
                match tokio::time::timeout(
                    h.timeout,
                    tracing::Instrument::instrument(fut, span.clone()),
                )
                .await
                {
                    Ok(r) => r,
                    Err(_) => Err(JobError::Retry(format!(
                        "timed out after {} s",
                        h.timeout.as_secs()
                    ))),
                }
            }
        };
        let now = self.ctx.clock.now();
        let _g = span.enter();
        let recorded = match &result {
            Ok(()) => {
                tracing::info!(
                    waited_ms,
                    ran_ms = (now - started).num_milliseconds(),
                    "job done"
                );
                self.ctx
                    .jobs
                    .complete(&job, now)
                    .await
                    .map(|ok| (ok, Outcome::Succeeded))
            }
            Err(JobError::Retry(e)) if job.attempt < job.max_attempts => {
                let delay = retry_delay(job.attempt);
                let at =
                    now + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::seconds(5));
                tracing::warn!(error = %e, retry_in_s = delay.as_secs(), "job failed; will retry");
                self.ctx
                    .jobs
                    .fail(&job, now, e, Some(at))
                    .await
                    .map(|ok| (ok, Outcome::Retried))
            }
            Err(e) => {
                tracing::error!(error = %e, "job failed for good; parked as dead");
                self.ctx
                    .jobs
                    .fail(&job, now, &e.to_string(), None)
                    .await
                    .map(|ok| (ok, Outcome::Dead))
            }
        };
        let outcome = match recorded {
            Ok((true, outcome)) => outcome,
            Ok((false, _)) => {
                tracing::warn!(
                    "lease lost before the outcome was recorded; another worker owns the job"
                );
                Outcome::LeaseLost
            }
            Err(e) => {
                tracing::error!(error = %e, "could not record the job's outcome; its lease will expire");
                Outcome::LeaseLost
            }
        };
        self.record_metrics(
            &job.kind,
            waited_ms,
            (now - started).num_milliseconds(),
            &outcome,
        );
        outcome
    }

    /// Records a job's queue wait and run time (`METRICS_TOKEN` set only).
    fn record_metrics(&self, kind: &str, waited_ms: i64, ran_ms: i64, outcome: &Outcome) {
        if self.ctx.settings.metrics_token.is_none() {
            return;
        }
        let Some(m) = metrics::jobs() else { return };
        let kind = if self.handlers.contains_key(kind) {
            kind
        } else {
            metrics::UNKNOWN_KIND
        };
        let outcome = match outcome {
            Outcome::Succeeded => "succeeded",
            Outcome::Retried => "retried",
            Outcome::Dead => "dead",
            Outcome::LeaseLost => "lease_lost",
        };
        m.wait
            .with_label_values(&[kind])
            .observe(waited_ms.max(0) as f64 / 1000.0);
        m.run
            .with_label_values(&[kind, outcome])
            .observe(ran_ms.max(0) as f64 / 1000.0);
    }

    /// Runs due jobs one at a time until none is due, then returns what happened. For tests
    /// and tools; production uses [`Worker::run`].
    pub async fn run_until_idle(&self) -> Result<RunStats, store_sea::StoreError> {
        let mut stats = RunStats::default();
        stats.dead += u32::try_from(self.ctx.jobs.bury_expired(self.ctx.clock.now()).await?)
            .unwrap_or(u32::MAX);
        while let Some(job) = self.claim().await? {
            match self.execute(job).await {
                Outcome::Succeeded => stats.succeeded += 1,
                Outcome::Retried => stats.retried += 1,
                Outcome::Dead => stats.dead += 1,
                Outcome::LeaseLost => {}
            }
        }
        Ok(stats)
    }

    /// Runs until `shutdown` is cancelled: claims up to `WORKER_CONCURRENCY` jobs at once,
    /// sleeps until a wake-up, the next due job or the poll interval, and enqueues scheduled
    /// ticks. On shutdown, waits up to `grace` for running jobs.
    pub async fn run(self, shutdown: CancellationToken, grace: Duration) {
        tracing::info!(
            concurrency = self.concurrency,
            poll_ms = self.poll.as_millis() as u64,
            "worker started"
        );
        let listener = self.ctx.wakeup.listen().await;
        let permits = Arc::new(Semaphore::new(self.concurrency));
        // The jobs being run, to stop and release them if they outlast the shutdown grace.
        let running: Running = Arc::default();
        let mut next_schedule_check = std::time::Instant::now();
        loop {
            if shutdown.is_cancelled() {
                break;
            }
            // Register interest before looking, so a wake-up between the look and the wait is
            // not lost.
            let woken = listener.notified();
            if std::time::Instant::now() >= next_schedule_check {
                self.upkeep().await;
                next_schedule_check = std::time::Instant::now() + Duration::from_secs(15);
            }
            let mut claimed_any = false;
            let mut db_failed = false;
            while let Ok(permit) = permits.clone().try_acquire_owned() {
                match self.claim().await {
                    Ok(Some(job)) => {
                        claimed_any = true;
                        let w = self.clone();
                        let (id, claimed) = (job.id, job.clone());
                        let r = running.clone();
                        // Held while spawning, so the task cannot remove its entry before it
                        // is inserted.
                        let mut map = lock(&running);
                        let handle = tokio::spawn(async move {
                            w.execute(job).await;
                            lock(&r).remove(&id);
                            drop(permit);
                        });
                        map.insert(id, (claimed, handle));
                    }
                    Ok(None) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "could not claim jobs; retrying shortly");
                        db_failed = true;
                        break;
                    }
                }
            }
            if claimed_any && !db_failed && permits.available_permits() > 0 {
                // There may be more due work; look again at once.
                continue;
            }
            let wait = if db_failed {
                Duration::from_secs(1)
            } else {
                self.time_to_next_due().await
            };
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = woken => {}
                _ = tokio::time::sleep(wait) => {}
                // A slot freed up while every permit was taken.
                _ = permits.clone().acquire_owned(), if permits.available_permits() == 0 => {}
            }
        }
        tracing::info!("worker stopping; waiting for running jobs");
        let all = u32::try_from(self.concurrency).unwrap_or(u32::MAX);
        if tokio::time::timeout(grace, permits.acquire_many(all))
            .await
            .is_err()
        {
            self.release_unfinished(&running).await;
        }
        tracing::info!("worker stopped");
    }

    /// Stops the jobs still running after the shutdown grace and gives them back to the queue.
    async fn release_unfinished(&self, running: &Running) {
        let unfinished: Vec<_> = lock(running).drain().map(|(_, v)| v).collect();
        for (_, handle) in &unfinished {
            handle.abort();
        }
        let mut released = 0;
        for (job, handle) in unfinished {
            // Wait for the cancellation, so the handler is no longer running when another
            // worker can take the job.
            let _ = tokio::time::timeout(Duration::from_secs(1), handle).await;
            match self.ctx.jobs.release(&job, self.ctx.clock.now()).await {
                Ok(true) => released += 1,
                Ok(false) => {}
                Err(e) => tracing::warn!(
                    job.id = %job.id, error = %e,
                    "could not release an unfinished job; its lease will expire"
                ),
            }
        }
        tracing::warn!(
            jobs = released,
            "running jobs did not finish within the shutdown grace: stopped and released for another worker"
        );
    }

    async fn time_to_next_due(&self) -> Duration {
        match self.ctx.jobs.next_due().await {
            Ok(Some(at)) => (at - self.ctx.clock.now())
                .to_std()
                .unwrap_or(Duration::ZERO)
                .clamp(Duration::from_millis(5), self.poll),
            _ => self.poll,
        }
    }
}

/// The jobs a worker is running: what it claimed, and the task running it.
type Running =
    Arc<std::sync::Mutex<HashMap<kernel::JobId, (ClaimedJob, tokio::task::JoinHandle<()>)>>>;

/// The map, even if a task panicked while holding it (the map itself stays consistent).
fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

enum Outcome {
    Succeeded,
    Retried,
    Dead,
    LeaseLost,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        for attempt in 1..=30 {
            let base = (5u64 << (attempt - 1).min(20)).min(3600);
            let d = retry_delay(attempt).as_millis() as u64;
            assert!(
                d >= base * 500 && d <= base * 1000,
                "attempt {attempt}: {d} ms"
            );
        }
    }

    #[test]
    fn an_email_job_outlives_an_smtp_outage_of_an_hour() {
        // The shortest the backoff can make the time from the first to the last attempt
        // (every jitter at its minimum): the job is not parked dead before that.
        let shortest: u64 = (1..store_sea::jobs::EMAIL_ATTEMPTS)
            .map(|a| (5u64 << (a - 1).min(20)).min(3600) / 2)
            .sum();
        assert!(shortest > 3600, "{shortest} s");
        for a in 1..store_sea::jobs::EMAIL_ATTEMPTS {
            assert!(retry_delay(a).as_secs() >= (5u64 << (a - 1).min(20)).min(3600) / 2);
        }
    }

    #[test]
    fn schedule_tick_is_the_latest_at_or_before_now() {
        let s = Schedule::new("x", "17 3 * * *", "k", serde_json::Value::Null).unwrap();
        let now = DateTime::parse_from_rfc3339("2026-11-24T10:00:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(
            s.latest_tick(now).unwrap(),
            DateTime::parse_from_rfc3339("2026-11-24T03:17:00Z")
                .unwrap()
                .to_utc()
        );
        assert!(Schedule::new("bad", "not a cron", "k", serde_json::Value::Null).is_err());
    }
}
