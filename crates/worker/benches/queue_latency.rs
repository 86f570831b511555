//! How long a committed job waits before a worker starts it.
//!
//! `cargo bench -p worker --bench queue_latency` — on SQLite with the in-process wake-up by
//! default; set TEST_DATABASE_URL (PostgreSQL) and/or TEST_REDIS_URL (Redis wake-ups) for
//! the production topology. `BENCH_POLL_MS` sets the worker's poll interval (default 1000),
//! so the figure without a wake-up path shows what polling alone costs.
//!
//! Each sample: enqueue one job in its own committed transaction, notify, and measure from
//! the commit's return to the moment the handler starts. Prints p50 / p90 / p99 / max.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use store_sea::{NewJob, TransactionTrait};
use testkit::TestApp;
use tokio_util::sync::CancellationToken;
use worker::Worker;

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes --bench; nothing else to parse.
    let samples: usize = std::env::var("BENCH_SAMPLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let poll = std::env::var("BENCH_POLL_MS").unwrap_or_else(|_| "1000".into());
    let no_wakeup = std::env::var("BENCH_NO_WAKEUP").is_ok_and(|v| v == "1");
    let app = TestApp::spawn_with(&[
        ("WORKER_POLL_INTERVAL_MS", &poll),
        ("WORKER_CONCURRENCY", "4"),
    ])
    .await;

    let started: Arc<Mutex<Option<Instant>>> = Arc::default();
    let s = started.clone();
    let w = Worker::builder(app.ctx.clone())
        .handler("probe", Duration::from_secs(5), move |_, _| {
            let s = s.clone();
            async move {
                *s.lock().unwrap() = Some(Instant::now());
                Ok(())
            }
        })
        .build();
    let stop = CancellationToken::new();
    let task = tokio::spawn(w.run(stop.clone(), Duration::from_secs(5)));
    tokio::time::sleep(Duration::from_millis(300)).await;

    let mut waits = Vec::with_capacity(samples);
    for _ in 0..samples {
        *started.lock().unwrap() = None;
        let now = app.ctx.clock.now();
        let tx = app.ctx.db.conn.begin().await.unwrap();
        store_sea::jobs::enqueue(&tx, &NewJob::now("probe", serde_json::json!({}), now), now)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let committed = Instant::now();
        if !no_wakeup {
            app.ctx.wakeup.notify().await;
        }
        loop {
            if let Some(t) = *started.lock().unwrap() {
                waits.push(t.saturating_duration_since(committed));
                break;
            }
            tokio::time::sleep(Duration::from_micros(100)).await;
        }
        // Let the worker go back to sleep, as it would between real jobs.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    stop.cancel();
    task.await.unwrap();
    waits.sort();
    let backend = if testkit::pg_url().is_some() {
        "postgres"
    } else {
        "sqlite"
    };
    let wake = if no_wakeup {
        "none (poll only)"
    } else if testkit::redis_url().is_some() {
        "redis pub/sub"
    } else {
        "in-process"
    };
    println!(
        "queue wait, commit -> handler start ({samples} jobs, {backend}, wake-up: {wake}, poll {poll} ms): \
         p50 {:.2} ms  p90 {:.2} ms  p99 {:.2} ms  max {:.2} ms",
        pct(&waits, 0.5).as_secs_f64() * 1e3,
        pct(&waits, 0.9).as_secs_f64() * 1e3,
        pct(&waits, 0.99).as_secs_f64() * 1e3,
        waits[waits.len() - 1].as_secs_f64() * 1e3,
    );
}
