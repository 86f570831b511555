//! A bench, not a test (ignored by default): how many service reminders per second the
//! worker records, dispatches into in-app notifications and emails, and sends to a local SMTP
//! server (the in-process `mail::testing::SmtpServer`, a real SMTP peer over TCP), with
//! `BENCH_ASSIGNMENTS` (default 10,000) assignments due at once and the standard worker
//! (`WORKER_CONCURRENCY`, default 4) sending.
//!
//! ```sh
//! cargo test --release -p worker --test reminders_bench -- --ignored --nocapture
//! TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!   cargo test --release -p worker --test reminders_bench -- --ignored --nocapture
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{DateTime, Utc};
use notifications::reminders;
use sea_orm::{ConnectionTrait, DbBackend, Statement, Value};
use std::sync::Arc;
use std::time::Instant;
use testkit::TestApp;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Multi-row inserts with bound values (SQLite stores bound UUIDs as blobs, as the app does).
async fn insert(db: &store_sea::Db, head: &str, rows: Vec<Vec<Value>>) {
    let backend = db.conn.get_database_backend();
    for chunk in rows.chunks(500) {
        let mut n = 0;
        let mut tuples = Vec::new();
        let mut values = Vec::new();
        for r in chunk {
            let marks: Vec<String> = r
                .iter()
                .map(|_| {
                    n += 1;
                    match backend {
                        DbBackend::Postgres => format!("${n}"),
                        _ => "?".to_string(),
                    }
                })
                .collect();
            tuples.push(format!("({})", marks.join(", ")));
            values.extend(r.iter().cloned());
        }
        db.conn
            .execute_raw(Statement::from_sql_and_values(
                backend,
                format!("{head} VALUES {}", tuples.join(", ")),
                values,
            ))
            .await
            .unwrap();
    }
}

fn v(x: impl Into<Value>) -> Value {
    x.into()
}

#[tokio::test]
#[ignore = "a bench: run with --ignored --nocapture"]
async fn reminders_due_per_second() {
    let n: usize = std::env::var("BENCH_ASSIGNMENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let services = 100.min(n.max(1));
    let users = n.div_ceil(services);
    let smtp = mail::testing::SmtpServer::new();
    let addr = smtp.start();
    let port = addr.port().to_string();
    let concurrency = std::env::var("WORKER_CONCURRENCY").unwrap_or_else(|_| "4".into());
    let app = TestApp::spawn_with(&[
        ("SMTP_HOST", "127.0.0.1"),
        ("SMTP_PORT", &port),
        ("SMTP_TLS", "false"),
        ("WORKER_CONCURRENCY", &concurrency),
    ])
    .await;
    let db = app.db.connect().await;
    let (o, d, p) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    insert(
        &db,
        "INSERT INTO organizations (id, name, slug, timezone, created_at, updated_at)",
        vec![vec![
            v(o),
            v("Lyon"),
            v("lyon"),
            v("Europe/Paris"),
            v(0i64),
            v(0i64),
        ]],
    )
    .await;
    insert(
        &db,
        "INSERT INTO departments (id, organization_id, name, name_key, \
         availability_deadline_days, reminder_hours_before, created_at, updated_at)",
        vec![vec![
            v(d),
            v(o),
            v("Louange"),
            v("louange"),
            v(7),
            v(24),
            v(0i64),
            v(0i64),
        ]],
    )
    .await;
    insert(
        &db,
        "INSERT INTO plannings (id, organization_id, department_id, month, status, \
         created_at, updated_at)",
        vec![vec![
            v(p),
            v(o),
            v(d),
            v("2030-01"),
            v("published"),
            v(0i64),
            v(0i64),
        ]],
    )
    .await;
    let user_ids: Vec<Uuid> = (0..users).map(|_| Uuid::now_v7()).collect();
    insert(
        &db,
        "INSERT INTO users (id, email, first_name, last_name, locale, is_email_verified, \
         is_active, organization_id, role, notification_prefs, created_at, updated_at)",
        user_ids
            .iter()
            .enumerate()
            .map(|(i, u)| {
                vec![
                    v(*u),
                    v(format!("u{i}@example.org")),
                    v("U"),
                    v(i.to_string()),
                    v("fr"),
                    v(true),
                    v(true),
                    v(o),
                    v("member"),
                    v("{}"),
                    v(0i64),
                    v(0i64),
                ]
            })
            .collect(),
    )
    .await;
    // Services on Sunday 2030-01-06 from 10:00 Paris (09:00Z), a minute apart.
    let service_ids: Vec<Uuid> = (0..services).map(|_| Uuid::now_v7()).collect();
    insert(
        &db,
        "INSERT INTO services (id, organization_id, department_id, name, date, start_time, \
         end_time, created_at, updated_at)",
        service_ids
            .iter()
            .enumerate()
            .map(|(i, s)| {
                vec![
                    v(*s),
                    v(o),
                    v(d),
                    v(format!("Culte {i}")),
                    v("2030-01-06"),
                    v(format!("10:{:02}:00", i % 60)),
                    v("12:00:00"),
                    v(0i64),
                    v(0i64),
                ]
            })
            .collect(),
    )
    .await;
    let mut rows = Vec::with_capacity(n);
    'outer: for s in &service_ids {
        for u in &user_ids {
            if rows.len() == n {
                break 'outer;
            }
            rows.push(vec![
                v(Uuid::now_v7()),
                v(o),
                v(p),
                v(*s),
                v(*u),
                v("vocals"),
                v(0i64),
                v(0i64),
            ]);
        }
    }
    insert(
        &db,
        "INSERT INTO assignments (id, organization_id, planning_id, service_id, user_id, role, \
         created_at, updated_at)",
        rows,
    )
    .await;

    let store = Arc::new(store_sea::SeaNotifications::new(db.conn.clone()));
    // The reminders are due at this instant; the emails are queued due now, for the worker.
    let now: DateTime<Utc> = "2030-01-06T08:00:00Z".parse().unwrap();
    let before = store_sea::statements_sent();
    let t = Instant::now();
    let stats = reminders::run(store.as_ref(), now).await.unwrap();
    let record = t.elapsed();
    let statements = store_sea::statements_sent() - before;
    assert_eq!(stats.recorded as usize, n, "{stats:?}");
    let t = Instant::now();
    let sent = notifications::Notifications::with_email(
        store.clone(),
        app.ctx.notifications.email_config().clone(),
    )
    .dispatch(notifications::DISPATCH_BATCH, Utc::now())
    .await
    .unwrap();
    let dispatch = t.elapsed();
    assert_eq!(sent.notifications as usize, n, "{sent:?}");
    assert_eq!(sent.emails as usize, n, "{sent:?}");
    let again = reminders::run(store.as_ref(), now).await.unwrap();
    assert_eq!(again.recorded, 0);

    // The standard worker sends the queued emails to the SMTP server.
    let t = Instant::now();
    let stop = CancellationToken::new();
    let worker = tokio::spawn(
        app.worker()
            .run(stop.clone(), std::time::Duration::from_secs(10)),
    );
    while smtp.received() < n {
        assert!(
            t.elapsed().as_secs() < 600,
            "{} of {n} sent",
            smtp.received()
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let send = t.elapsed();
    stop.cancel();
    worker.await.unwrap();
    assert_eq!(smtp.received(), n, "each reminder mailed once");

    let backend = if app.db.is_postgres() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    eprintln!(
        "{backend}: {n} reminders due: recorded in {:.0} ms ({:.0}/s, {statements} SQL statements), \
         dispatched to the inbox and the mail queue in {:.0} ms ({:.0}/s), sent to the local SMTP \
         server in {:.0} ms ({:.0}/s, {concurrency} at once); end to end {:.0}/s",
        record.as_secs_f64() * 1000.0,
        n as f64 / record.as_secs_f64(),
        dispatch.as_secs_f64() * 1000.0,
        n as f64 / dispatch.as_secs_f64(),
        send.as_secs_f64() * 1000.0,
        n as f64 / send.as_secs_f64(),
        n as f64 / (record + dispatch + send).as_secs_f64(),
    );
}
