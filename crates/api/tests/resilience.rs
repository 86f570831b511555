//! Faults under load: the database going away and coming back, and Redis down.
//!
//! * PostgreSQL: while clients keep reading and registering, the database refuses connections
//!   and every session is ended (what a restart or failover looks like from the service).
//!   Requests in between answer 503 `service_unavailable` within the acquire timeout, never
//!   500 and never a hang; when the database is back the *same* process answers 200 again;
//!   and no registration is half-written (each user has its session, refresh token,
//!   verification token and email job, or does not exist).
//! * SQLite: the equivalent outage is another process holding the write lock past the busy
//!   timeout (a manual `sqlite3` session, a backup): writes answer 503 while reads go on, and
//!   once the lock is released the same registration succeeds, so nothing of it was written.
//! * Both: a database that is gone for good answers 503 problems, `/ready` names it, and
//!   `/health` stays up.
//! * Redis down: the API keeps answering (the rate limiter falls back to in-process counters,
//!   job wake-ups fall back to polling), `/ready` names Redis.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sea_orm::{ConnectionTrait, Statement, TransactionTrait};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use testkit::{TEST_PASSWORD, TestApp};

/// Longer than any answer may take while the database is away: the pool's acquire timeout
/// (5 s) or SQLite's busy timeout (5 s), plus a margin for a loaded machine.
const BOUND: Duration = Duration::from_secs(12);

/// One request's outcome.
#[derive(Debug)]
struct Outcome {
    what: &'static str,
    status: u16,
    code: Option<String>,
    took: Duration,
    email: Option<String>,
}

async fn send(req: reqwest::RequestBuilder, what: &'static str) -> Outcome {
    let started = Instant::now();
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    if status >= 500 {
        assert_eq!(ct, "application/problem+json", "{what}: {status} {body}");
    }
    Outcome {
        what,
        status,
        code: body["code"].as_str().map(str::to_string),
        took: started.elapsed(),
        email: None,
    }
}

async fn me(app: &TestApp, token: &str) -> Outcome {
    send(
        app.client
            .get(app.url("/api/v1/users/me"))
            .bearer_auth(token),
        "GET /users/me",
    )
    .await
}

async fn register(app: &TestApp, email: &str) -> Outcome {
    let mut o = send(
        app.client
            .post(app.url("/api/v1/auth/register"))
            .json(&json!({
                "email": email, "password": TEST_PASSWORD, "firstName": "Load", "lastName": "Test",
            })),
        "POST /auth/register",
    )
    .await;
    o.email = Some(email.to_string());
    o
}

/// Every outcome is a success or a clean 503 problem, within the bound.
fn check(outcomes: &[Outcome]) {
    for o in outcomes {
        assert!(
            matches!(o.status, 200 | 201 | 503),
            "{} answered {} ({:?}): only success or 503 is acceptable",
            o.what,
            o.status,
            o.code
        );
        if o.status == 503 {
            assert_eq!(o.code.as_deref(), Some("service_unavailable"), "{o:?}");
        }
        assert!(o.took < BOUND, "{} took {:?}", o.what, o.took);
    }
}

async fn count(db: &store_sea::Db, sql: &str) -> i64 {
    let row = db
        .conn
        .query_one_raw(Statement::from_string(
            db.conn.get_database_backend(),
            format!("SELECT COUNT(*) AS n FROM ({sql}) AS q"),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

/// No registration is half-written: every user has all that registering writes.
async fn assert_no_half_written_registration(db: &store_sea::Db) -> i64 {
    let users = count(db, "SELECT id FROM users").await;
    for (what, sql) in [
        (
            "users without a session",
            "SELECT u.id FROM users u WHERE NOT EXISTS (SELECT 1 FROM sessions s WHERE s.user_id = u.id)",
        ),
        (
            "users without a verification token",
            "SELECT u.id FROM users u WHERE NOT EXISTS (SELECT 1 FROM one_time_tokens t WHERE t.user_id = u.id)",
        ),
        (
            "sessions without a refresh token",
            "SELECT s.id FROM sessions s WHERE NOT EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.session_id = s.id)",
        ),
    ] {
        assert_eq!(count(db, sql).await, 0, "{what}");
    }
    let emails = count(db, "SELECT id FROM jobs WHERE kind = 'send_email'").await;
    assert_eq!(emails, users, "one verification email job per user");
    users
}

/// Clients that keep reading and registering until stopped.
fn start_load(
    app: &Arc<TestApp>,
    token: &str,
    clients: usize,
    stop: &Arc<AtomicBool>,
) -> Vec<tokio::task::JoinHandle<Vec<Outcome>>> {
    (0..clients)
        .map(|c| {
            let (app, token, stop) = (app.clone(), token.to_string(), stop.clone());
            tokio::spawn(async move {
                let mut out = Vec::new();
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    out.push(me(&app, &token).await);
                    if c % 2 == 0 {
                        n += 1;
                        out.push(register(&app, &format!("load-{c}-{n}@example.com")).await);
                    }
                }
                out
            })
        })
        .collect()
}

async fn wait_until_200(app: &TestApp, token: &str) -> Duration {
    let started = Instant::now();
    loop {
        if me(app, token).await.status == 200 {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the service did not recover without a restart"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_database_outage_under_load_is_a_503_and_the_service_recovers_without_restart() {
    // The load must not meet the rate limits.
    let app = Arc::new(
        TestApp::spawn_with(&[
            ("RATE_LIMIT_PER_MINUTE", "1000000"),
            ("RATE_LIMIT_AUTH_PER_MINUTE", "1000000"),
        ])
        .await,
    );
    let user = app.sign_up("steady@example.com").await;
    if app.db.is_postgres() {
        postgres_restart_under_load(&app, &user.token).await;
    } else {
        sqlite_write_lock_under_load(&app, &user.token).await;
    }
}

async fn postgres_restart_under_load(app: &Arc<TestApp>, token: &str) {
    let stop = Arc::new(AtomicBool::new(false));
    let load = start_load(app, token, 6, &stop);
    tokio::time::sleep(Duration::from_millis(500)).await;

    app.take_database_away().await;
    // While it is away, answers are 503 problems, promptly.
    let during = me(app, token).await;
    assert_eq!(during.status, 503, "{during:?}");
    let during = register(app, "during-outage@example.com").await;
    assert_eq!(during.status, 503, "{during:?}");
    tokio::time::sleep(Duration::from_secs(2)).await;

    app.give_database_back().await;
    let recovered_in = wait_until_200(app, token).await;
    eprintln!("recovered {recovered_in:?} after the database came back");
    // Keep the load on a little after recovery.
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    let mut outcomes = Vec::new();
    for t in load {
        outcomes.extend(t.await.unwrap());
    }
    check(&outcomes);
    let unavailable = outcomes.iter().filter(|o| o.status == 503).count();
    let ok = outcomes.iter().filter(|o| o.status < 300).count();
    eprintln!(
        "{} requests under load: {ok} succeeded, {unavailable} answered 503",
        outcomes.len()
    );
    assert!(unavailable > 0, "the outage was not seen by the load");
    assert!(ok > 0);

    // Nothing half-written, and every registration that said 201 exists.
    let db = app.db.connect().await;
    assert_no_half_written_registration(&db).await;
    for o in outcomes.iter().filter(|o| o.status == 201) {
        let email = o.email.as_deref().unwrap();
        let (status, _) = app
            .call(
                "POST",
                "/api/v1/auth/login",
                None,
                Some(json!({ "email": email, "password": TEST_PASSWORD })),
            )
            .await;
        assert_eq!(status, 200, "{email} was told 201 but cannot sign in");
    }
    // The registration refused during the outage can simply be retried.
    assert_eq!(register(app, "during-outage@example.com").await.status, 201);
}

async fn sqlite_write_lock_under_load(app: &Arc<TestApp>, token: &str) {
    let stop = Arc::new(AtomicBool::new(false));
    let load = start_load(app, token, 2, &stop);
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Another process takes the write lock and keeps it past the busy timeout.
    let other = app.db.connect().await;
    let lock = other.conn.begin().await.unwrap();
    lock.execute_unprepared("DELETE FROM jobs WHERE 1 = 0")
        .await
        .unwrap();

    // Reads go on (WAL); a write waits for the busy timeout, then answers 503.
    let read = me(app, token).await;
    assert_eq!(read.status, 200, "{read:?}");
    let write = register(app, "locked-out@example.com").await;
    assert_eq!(write.status, 503, "{write:?}");
    assert_eq!(write.code.as_deref(), Some("service_unavailable"));
    assert!(
        write.took >= Duration::from_secs(4),
        "waited {:?}",
        write.took
    );

    lock.rollback().await.unwrap();
    // The same process writes again, and the refused registration left nothing behind.
    let again = register(app, "locked-out@example.com").await;
    assert_eq!(again.status, 201, "{again:?}");
    stop.store(true, Ordering::Relaxed);
    let mut outcomes = Vec::new();
    for t in load {
        outcomes.extend(t.await.unwrap());
    }
    check(&outcomes);
    let unavailable = outcomes.iter().filter(|o| o.status == 503).count();
    eprintln!(
        "{} requests under load, {unavailable} answered 503",
        outcomes.len()
    );
    assert_no_half_written_registration(&other).await;
}

#[tokio::test]
async fn a_database_that_is_gone_is_a_503_problem_and_ready_names_it() {
    let app = TestApp::spawn().await;
    let user = app.sign_up("gone@example.com").await;
    app.take_database_away().await;

    let read = me(&app, &user.token).await;
    assert_eq!(read.status, 503, "{read:?}");
    assert_eq!(read.code.as_deref(), Some("service_unavailable"));
    let write = register(&app, "after@example.com").await;
    assert_eq!(write.status, 503, "{write:?}");
    let (status, body) = app
        .call(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({ "email": user.email, "password": TEST_PASSWORD })),
        )
        .await;
    assert_eq!(status, 503, "{body}");
    check(&[read, write]);

    let (status, body) = app.call("GET", "/ready", None, None).await;
    assert_eq!(status, 503);
    assert!(
        body["detail"].as_str().unwrap().contains("database"),
        "{body}"
    );
    let (status, body) = app.call("GET", "/health", None, None).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
}

#[tokio::test]
async fn with_redis_down_the_api_answers_and_ready_names_redis() {
    // Nothing listens on port 1.
    let app = TestApp::spawn_with(&[
        ("REDIS_URL", "redis://127.0.0.1:1"),
        ("RATE_LIMIT_AUTH_PER_MINUTE", "4"),
    ])
    .await;
    assert!(app.ctx.redis.is_some());

    let started = Instant::now();
    let user = app.sign_up("redisless@example.com").await;
    let (status, _) = app
        .call("GET", "/api/v1/users/me", Some(&user.token), None)
        .await;
    assert_eq!(status, 200);
    assert!(started.elapsed() < BOUND, "took {:?}", started.elapsed());

    // The auth rate limit still holds, counted in process.
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let (status, _) = app
            .call(
                "POST",
                "/api/v1/auth/login",
                None,
                Some(json!({ "email": user.email, "password": TEST_PASSWORD })),
            )
            .await;
        statuses.push(status);
    }
    assert!(statuses.contains(&200), "{statuses:?}");
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");

    // Readiness says what is wrong; liveness is unaffected.
    let (status, body) = app.call("GET", "/ready", None, None).await;
    assert_eq!(status, 503);
    assert_eq!(body["code"], "service_unavailable");
    assert!(body["detail"].as_str().unwrap().contains("redis"), "{body}");
    let (status, _) = app.call("GET", "/health", None, None).await;
    assert_eq!(status, 200);

    // Jobs do not need Redis: the worker finds them in the database.
    let stats = app.run_worker_until_idle().await;
    assert!(stats.succeeded >= 1, "{stats:?}");
    assert!(
        app.mailer
            .deliveries()
            .iter()
            .any(|m| m.to.email == "redisless@example.com"),
        "the verification email was sent"
    );
}
