//! Shutdown of a worker: a job that outlasts the grace is stopped and its lease released at
//! once, so another worker takes it without waiting for the lease to expire; the interrupted
//! attempt is not counted. (A job that finishes within the grace: `queue.rs`.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};
use store_sea::{JobStatus, NewJob};
use testkit::TestApp;
use tokio_util::sync::CancellationToken;
use worker::Worker;

#[tokio::test]
async fn a_job_outlasting_the_grace_is_stopped_and_released_for_another_worker() {
    let app = TestApp::spawn().await;
    let started = Arc::new(AtomicU32::new(0));
    let finished = Arc::new(AtomicU32::new(0));
    let (s, f) = (started.clone(), finished.clone());
    // A handler that takes a minute, with a lease of a minute and a half.
    let w = Worker::builder(app.ctx.clone())
        .handler("long", Duration::from_secs(60), move |_, _| {
            let (s, f) = (s.clone(), f.clone());
            async move {
                s.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_secs(60)).await;
                f.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
        })
        .build();
    let now = app.ctx.clock.now();
    let id = app
        .ctx
        .jobs
        .enqueue(
            &NewJob::now("long", serde_json::json!({}), now).max_attempts(1),
            now,
        )
        .await
        .unwrap()
        .unwrap();
    let stop = CancellationToken::new();
    let grace = Duration::from_millis(300);
    let task = tokio::spawn(w.run(stop.clone(), grace));
    while started.load(Ordering::SeqCst) == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    let asked = Instant::now();
    stop.cancel();
    task.await.unwrap();
    let took = asked.elapsed();
    assert!(
        took < grace + Duration::from_secs(2),
        "the worker took {took:?} to stop"
    );
    assert_eq!(
        finished.load(Ordering::SeqCst),
        0,
        "the handler was stopped"
    );

    // Released: pending, due now, the attempt not counted (even on its only attempt).
    let row = app.ctx.jobs.get(id).await.unwrap().unwrap();
    assert_eq!(row.status, JobStatus::Pending);
    assert_eq!(row.attempts, 0);
    assert!(row.run_at <= app.ctx.clock.now());
    assert!(
        row.last_error.unwrap().contains("shutting down"),
        "the reason is recorded"
    );
    // Another worker claims it now, long before the 90 s lease would have expired.
    let claimed = app
        .ctx
        .jobs
        .claim(app.ctx.clock.now(), Duration::from_secs(60))
        .await
        .unwrap()
        .expect("claimable at once");
    assert_eq!(claimed.id, id);
    assert_eq!(claimed.attempt, 1);
}

#[tokio::test]
async fn release_only_applies_to_the_lease_holder() {
    let app = TestApp::spawn().await;
    let now = app.ctx.clock.now();
    app.ctx
        .jobs
        .enqueue(&NewJob::now("k", serde_json::json!({}), now), now)
        .await
        .unwrap();
    let job = app
        .ctx
        .jobs
        .claim(now, Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    // A finished job is not released.
    assert!(app.ctx.jobs.complete(&job, now).await.unwrap());
    assert!(!app.ctx.jobs.release(&job, now).await.unwrap());
    assert_eq!(
        app.ctx.jobs.get(job.id).await.unwrap().unwrap().status,
        JobStatus::Done
    );

    // Nor is one whose lease another worker now holds.
    app.ctx
        .jobs
        .enqueue(&NewJob::now("k", serde_json::json!({}), now), now)
        .await
        .unwrap();
    let first = app
        .ctx
        .jobs
        .claim(now, Duration::from_millis(1))
        .await
        .unwrap()
        .unwrap();
    let later = now + chrono::Duration::seconds(1);
    let second = app
        .ctx
        .jobs
        .claim(later, Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.id, second.id);
    assert!(!app.ctx.jobs.release(&first, later).await.unwrap());
    assert!(app.ctx.jobs.release(&second, later).await.unwrap());
}
