//! The durable queue and the worker, on SQLite by default and on PostgreSQL (+ Redis wake-ups)
//! when TEST_DATABASE_URL / TEST_REDIS_URL are set.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use kernel::mail::{Email, Mailbox};
use mail::FailureKind;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use store_sea::{JobStatus, NewJob, TransactionTrait};
use testkit::TestApp;
use tokio_util::sync::CancellationToken;
use worker::{JobError, SEND_EMAIL, Worker};

fn email(to: &str) -> Email {
    Email {
        to: Mailbox::new(to),
        subject: "Planning de décembre".into(),
        text: "Bonjour".into(),
        html: None,
        message_id: None,
    }
}

async fn queue_email(app: &TestApp, to: &str) -> kernel::JobId {
    let tx = app.ctx.db.conn.begin().await.unwrap();
    let id = store_sea::jobs::enqueue_email(&tx, &email(to), app.ctx.clock.now())
        .await
        .unwrap()
        .unwrap();
    tx.commit().await.unwrap();
    id
}

/// Makes every pending job due now (instead of sleeping through a backoff).
async fn make_all_due(app: &TestApp) {
    use sea_orm::ConnectionTrait;
    app.ctx
        .db
        .conn
        .execute_unprepared("UPDATE jobs SET run_at = 0 WHERE status = 'pending'")
        .await
        .unwrap();
}

#[tokio::test]
async fn a_queued_email_is_sent_once_by_the_worker() {
    let app = TestApp::spawn().await;
    let id = queue_email(&app, "a@example.org").await;
    let stats = app.run_worker_until_idle().await;
    assert_eq!(stats.succeeded, 1);
    assert_eq!(app.mailer.deliveries().len(), 1);
    assert_eq!(app.mailer.deliveries()[0].to.email, "a@example.org");
    assert_eq!(
        app.ctx.jobs.get(id).await.unwrap().unwrap().status,
        JobStatus::Done
    );
    // Nothing more to do, nothing sent twice.
    assert_eq!(app.run_worker_until_idle().await.succeeded, 0);
    assert_eq!(app.mailer.deliveries().len(), 1);
}

#[tokio::test]
async fn a_job_enqueued_in_a_rolled_back_transaction_does_not_exist() {
    let app = TestApp::spawn().await;
    let tx = app.ctx.db.conn.begin().await.unwrap();
    store_sea::jobs::enqueue_email(&tx, &email("x@example.org"), app.ctx.clock.now())
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(app.ctx.jobs.counts().await.unwrap().pending, 0);
    assert_eq!(app.run_worker_until_idle().await.succeeded, 0);
}

#[tokio::test]
async fn dedupe_keys_make_enqueueing_idempotent() {
    let app = TestApp::spawn().await;
    let now = app.ctx.clock.now();
    let job = NewJob::now("noop", serde_json::json!({}), now).dedupe("reminder:42");
    assert!(app.ctx.jobs.enqueue(&job, now).await.unwrap().is_some());
    assert!(app.ctx.jobs.enqueue(&job, now).await.unwrap().is_none());
    assert_eq!(app.ctx.jobs.counts().await.unwrap().pending, 1);
}

#[tokio::test]
async fn transient_failures_back_off_then_succeed() {
    let app = TestApp::spawn().await;
    app.mailer.fail_next(2, FailureKind::Transient);
    let id = queue_email(&app, "b@example.org").await;

    let before = app.ctx.clock.now();
    assert_eq!(app.run_worker_until_idle().await.retried, 1);
    let row = app.ctx.jobs.get(id).await.unwrap().unwrap();
    assert_eq!(row.status, JobStatus::Pending);
    assert_eq!(row.attempts, 1);
    assert!(row.last_error.is_some());
    let delay = row.run_at - before;
    assert!(
        delay >= chrono::Duration::milliseconds(2400) && delay <= chrono::Duration::seconds(6),
        "first retry waits 2.5–5 s, got {delay}"
    );
    // Not due yet: the worker leaves it alone.
    assert_eq!(app.run_worker_until_idle().await, Default::default());

    make_all_due(&app).await;
    assert_eq!(app.run_worker_until_idle().await.retried, 1);
    make_all_due(&app).await;
    assert_eq!(app.run_worker_until_idle().await.succeeded, 1);
    let row = app.ctx.jobs.get(id).await.unwrap().unwrap();
    assert_eq!((row.status, row.attempts), (JobStatus::Done, 3));
    assert_eq!(app.mailer.deliveries().len(), 1);
}

#[tokio::test]
async fn permanent_failures_are_parked_dead_and_can_be_retried() {
    let app = TestApp::spawn().await;
    app.mailer.fail_next(1, FailureKind::Permanent);
    let id = queue_email(&app, "c@example.org").await;
    assert_eq!(app.run_worker_until_idle().await.dead, 1);
    let dead = app.ctx.jobs.dead(10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].id, id);
    assert!(
        dead[0].last_error.as_deref().unwrap().contains("permanent")
            || !dead[0].last_error.as_deref().unwrap().is_empty()
    );

    assert!(
        app.ctx
            .jobs
            .retry_dead(id, app.ctx.clock.now())
            .await
            .unwrap()
    );
    assert_eq!(app.run_worker_until_idle().await.succeeded, 1);
    assert_eq!(app.mailer.deliveries().len(), 1);
}

#[tokio::test]
async fn a_job_that_keeps_failing_dies_after_its_attempts() {
    let app = TestApp::spawn().await;
    let now = app.ctx.clock.now();
    let id = app
        .ctx
        .jobs
        .enqueue(
            &NewJob::now("always_fails", serde_json::json!({}), now).max_attempts(3),
            now,
        )
        .await
        .unwrap()
        .unwrap();
    let w = Worker::builder(app.ctx.clone())
        .handler("always_fails", Duration::from_secs(5), |_, _| async {
            Err(JobError::Retry("nope".into()))
        })
        .build();
    for _ in 0..2 {
        assert_eq!(w.run_until_idle().await.unwrap().retried, 1);
        make_all_due(&app).await;
    }
    assert_eq!(w.run_until_idle().await.unwrap().dead, 1);
    let row = app.ctx.jobs.get(id).await.unwrap().unwrap();
    assert_eq!((row.status, row.attempts), (JobStatus::Dead, 3));
}

#[tokio::test]
async fn an_expired_lease_makes_the_job_claimable_and_fences_the_old_worker() {
    let app = TestApp::spawn().await;
    let id = queue_email(&app, "d@example.org").await;
    let jobs = &app.ctx.jobs;
    let now = app.ctx.clock.now();
    // A worker claims it, then "dies" (never reports back).
    let first = jobs
        .claim(now, Duration::from_millis(50))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.id, id);
    // While the lease runs nobody else can take it.
    assert!(
        jobs.claim(now, Duration::from_secs(30))
            .await
            .unwrap()
            .is_none()
    );
    // After it expires another worker can.
    let later = now + chrono::Duration::milliseconds(100);
    let second = jobs
        .claim(later, Duration::from_secs(30))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((second.id, second.attempt), (id, 2));
    // The first worker comes back: it can no longer finish the job.
    assert!(!jobs.complete(&first, later).await.unwrap());
    assert!(jobs.complete(&second, later).await.unwrap());
    assert_eq!(jobs.get(id).await.unwrap().unwrap().status, JobStatus::Done);
}

#[tokio::test]
async fn several_workers_never_run_one_job_twice() {
    let app = TestApp::spawn_with(&[("WORKER_CONCURRENCY", "4")]).await;
    let now = app.ctx.clock.now();
    for i in 0..60 {
        app.ctx
            .jobs
            .enqueue(
                &NewJob::now("count", serde_json::json!({ "i": i }), now),
                now,
            )
            .await
            .unwrap();
    }
    let runs: Arc<Mutex<HashMap<i64, u32>>> = Arc::default();
    let stop = CancellationToken::new();
    let mut tasks = Vec::new();
    for _ in 0..3 {
        let runs = runs.clone();
        let w = Worker::builder(app.ctx.clone())
            .handler("count", Duration::from_secs(5), move |_, job| {
                let runs = runs.clone();
                async move {
                    let i = job.payload["i"].as_i64().unwrap();
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    *runs.lock().unwrap().entry(i).or_default() += 1;
                    Ok(())
                }
            })
            .build();
        tasks.push(tokio::spawn(w.run(stop.clone(), Duration::from_secs(5))));
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while app.ctx.jobs.counts().await.unwrap().done < 60 {
        assert!(
            std::time::Instant::now() < deadline,
            "jobs not done in time"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.cancel();
    for t in tasks {
        t.await.unwrap();
    }
    let runs = runs.lock().unwrap();
    assert_eq!(runs.len(), 60);
    assert!(runs.values().all(|&n| n == 1), "a job ran twice: {runs:?}");
}

#[tokio::test]
async fn a_schedule_tick_is_enqueued_once_however_many_workers_race() {
    let app = TestApp::spawn().await;
    let mut handles = Vec::new();
    for _ in 0..4 {
        let w = Worker::builder(app.ctx.clone())
            .schedule(
                worker::Schedule::new("every-minute", "* * * * *", "noop", serde_json::json!({}))
                    .unwrap(),
            )
            .build();
        handles.push(tokio::spawn(async move {
            w.enqueue_due_schedules().await.unwrap()
        }));
    }
    let mut total = 0;
    for h in handles {
        total += h.await.unwrap();
    }
    assert_eq!(total, 1, "exactly one worker enqueues the tick");
    assert_eq!(app.ctx.jobs.counts().await.unwrap().pending, 1);
}

#[tokio::test]
async fn a_committed_job_wakes_a_sleeping_worker_at_once() {
    // A long poll interval: only the wake-up (in-process, or Redis pub/sub) can start the job fast.
    let app = TestApp::spawn_with(&[("WORKER_POLL_INTERVAL_MS", "30000")]).await;
    let stop = CancellationToken::new();
    let task = tokio::spawn(app.worker().run(stop.clone(), Duration::from_secs(5)));
    tokio::time::sleep(Duration::from_millis(300)).await; // let it subscribe and fall asleep
    let started = std::time::Instant::now();
    let now = app.ctx.clock.now();
    let job = NewJob::now(
        SEND_EMAIL,
        serde_json::to_value(email("e@example.org")).unwrap(),
        now,
    );
    app.ctx.enqueue(job).await.unwrap();
    while app.mailer.deliveries().is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the wake-up did not reach the worker"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    stop.cancel();
    task.await.unwrap();
}

#[tokio::test]
async fn shutdown_lets_the_running_job_finish() {
    let app = TestApp::spawn().await;
    let finished = Arc::new(Mutex::new(false));
    let f = finished.clone();
    let w = Worker::builder(app.ctx.clone())
        .handler("slow", Duration::from_secs(5), move |_, _| {
            let f = f.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(300)).await;
                *f.lock().unwrap() = true;
                Ok(())
            }
        })
        .build();
    let now = app.ctx.clock.now();
    app.ctx
        .jobs
        .enqueue(&NewJob::now("slow", serde_json::json!({}), now), now)
        .await
        .unwrap();
    let stop = CancellationToken::new();
    let task = tokio::spawn(w.run(stop.clone(), Duration::from_secs(5)));
    while app.ctx.jobs.counts().await.unwrap().running == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    stop.cancel();
    task.await.unwrap();
    assert!(*finished.lock().unwrap(), "the job was cut short");
    assert_eq!(app.ctx.jobs.counts().await.unwrap().done, 1);
}

#[tokio::test]
async fn mail_waits_while_the_smtp_server_is_down_and_goes_out_once_when_it_is_back() {
    // A port with nothing listening yet.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let port_s = port.to_string();
    let app = TestApp::spawn_with(&[
        ("SMTP_HOST", "127.0.0.1"),
        ("SMTP_PORT", &port_s),
        ("SMTP_TLS", "false"),
    ])
    .await;
    let id = queue_email(&app, "down@example.org").await;

    // The server is down: the attempt fails, the job waits for a retry, nothing is lost.
    assert_eq!(app.run_worker_until_idle().await.retried, 1);
    let row = app.ctx.jobs.get(id).await.unwrap().unwrap();
    assert_eq!(row.status, JobStatus::Pending);
    assert!(row.last_error.is_some());
    make_all_due(&app).await;
    assert_eq!(app.run_worker_until_idle().await.retried, 1);

    // It comes back: the mail goes out, once.
    let server = mail::testing::SmtpServer::new();
    server.start_on(([127, 0, 0, 1], port).into()).unwrap();
    make_all_due(&app).await;
    assert_eq!(app.run_worker_until_idle().await.succeeded, 1);
    make_all_due(&app).await;
    assert_eq!(app.run_worker_until_idle().await, Default::default());
    let inbox = server.inbox();
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0].to, ["down@example.org"]);
    assert_eq!(
        app.ctx.jobs.get(id).await.unwrap().unwrap().status,
        JobStatus::Done
    );
}

#[tokio::test]
async fn a_job_whose_worker_died_on_its_last_attempt_is_parked_dead() {
    let app = TestApp::spawn().await;
    let now = app.ctx.clock.now();
    let id = app
        .ctx
        .jobs
        .enqueue(
            &NewJob::now("crashes", serde_json::json!({}), now).max_attempts(1),
            now,
        )
        .await
        .unwrap()
        .unwrap();
    // Claimed, then the worker dies: the lease runs out with no attempt left.
    app.ctx
        .jobs
        .claim(now, Duration::from_millis(10))
        .await
        .unwrap()
        .unwrap();
    let later = now + chrono::Duration::seconds(1);
    assert!(
        app.ctx
            .jobs
            .claim(later, Duration::from_secs(30))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(app.ctx.jobs.bury_expired(later).await.unwrap(), 1);
    let row = app.ctx.jobs.get(id).await.unwrap().unwrap();
    assert_eq!(row.status, JobStatus::Dead);
    assert!(row.last_error.unwrap().contains("lease expired"));
}
