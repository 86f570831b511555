//! Sentry: with `SENTRY_DSN` pointing at a local HTTP endpoint that stores what it receives,
//! a failed request arrives as one error event tagged with its correlation id and the
//! environment, a job failed for good as one tagged with its kind, requests and jobs as
//! transactions, and nothing secret is in any of it.
//! (One test per binary: it installs the process-wide subscriber and Sentry client.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use actix_web::{App, HttpResponse, HttpServer, web};
use serde_json::{Value, json};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use testkit::{TEST_PASSWORD, TEST_SECRET_KEY, TestApp};

/// The bodies POSTed to `/api/{project}/envelope/`.
#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<String>>>);

async fn envelope(
    path: web::Path<String>,
    body: web::Bytes,
    got: web::Data<Received>,
) -> HttpResponse {
    assert_eq!(path.into_inner(), "1", "the project id of the DSN");
    got.0
        .lock()
        .unwrap()
        .push(String::from_utf8_lossy(&body).into_owned());
    HttpResponse::Ok().json(json!({ "id": "0" }))
}

/// A stand-in for Sentry's ingestion endpoint; returns the DSN that points at it.
fn fake_sentry(got: Received) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(got.clone()))
            .app_data(web::PayloadConfig::new(16 * 1024 * 1024))
            .route("/api/{project}/envelope/", web::post().to(envelope))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    format!("http://publickey@127.0.0.1:{port}/1")
}

/// The items of an envelope: (item header, payload), JSON payloads only.
fn items(envelope: &str) -> Vec<(Value, Value)> {
    let lines: Vec<&str> = envelope.lines().collect();
    let mut out = Vec::new();
    let mut i = 1; // line 0 is the envelope header
    while i + 1 < lines.len() {
        let header: Value = serde_json::from_str(lines[i]).unwrap_or(Value::Null);
        let payload: Value = serde_json::from_str(lines[i + 1]).unwrap_or(Value::Null);
        out.push((header, payload));
        i += 2;
    }
    out
}

async fn get_me(app: &TestApp, token: &str, correlation: &str) -> u16 {
    app.client
        .get(app.url(&format!("/api/v1/users/me?access_token={token}")))
        .bearer_auth(token)
        .header("X-Correlation-ID", correlation)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn errors_and_traces_reach_sentry_with_the_correlation_id_and_no_secret() {
    let got = Received::default();
    let dsn = fake_sentry(got.clone());
    let app = TestApp::spawn_with(&[
        ("SENTRY_DSN", &dsn),
        ("SENTRY_ENVIRONMENT", "sentry-test-env"),
        // Every request traced, so the test sees one; production keeps the 0.1 default.
        ("SENTRY_TRACES_SAMPLE_RATE", "1.0"),
        ("LOG_LEVEL", "warn"),
    ])
    .await;
    let guard = api::sentry::init(&app.ctx.settings)
        .unwrap()
        .expect("a client when SENTRY_DSN is set");
    assert!(api::sentry::is_active());
    assert!(api::telemetry::init_with(&app.ctx.settings, std::io::sink));

    let user = app.sign_up("sentry@example.com").await;
    assert_eq!(get_me(&app, &user.token, "corr-healthy-1").await, 200);
    // A job that fails for good (no handler for its kind).
    let now = app.ctx.clock.now();
    app.ctx
        .jobs
        .enqueue(
            &store_sea::NewJob::now("no_such_kind", json!({ "password": "job-secret" }), now),
            now,
        )
        .await
        .unwrap();
    assert!(app.run_worker_until_idle().await.dead >= 1);

    // A real failure: the database goes away under the running service.
    app.take_database_away().await;
    assert_eq!(get_me(&app, &user.token, "corr-failed-1").await, 503);
    let login = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("X-Correlation-ID", "corr-failed-2")
        .header("Cookie", "refresh_token=cookie-secret-value")
        .json(&json!({ "email": user.email, "password": TEST_PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 503);

    // Closing the client flushes what is queued.
    tokio::time::sleep(Duration::from_millis(300)).await;
    tokio::task::spawn_blocking(move || drop(guard))
        .await
        .unwrap();

    let envelopes = got.0.lock().unwrap().clone();
    assert!(!envelopes.is_empty(), "nothing reached the endpoint");
    let all: Vec<(Value, Value)> = envelopes.iter().flat_map(|e| items(e)).collect();
    let events: Vec<&Value> = all
        .iter()
        .filter(|(h, _)| h["type"] == "event")
        .map(|(_, p)| p)
        .collect();
    let transactions: Vec<&Value> = all
        .iter()
        .filter(|(h, _)| h["type"] == "transaction")
        .map(|(_, p)| p)
        .collect();

    // One error event per failed request, tagged with its correlation id.
    for corr in ["corr-failed-1", "corr-failed-2"] {
        let mine: Vec<_> = events
            .iter()
            .filter(|e| e["tags"]["correlation_id"] == corr)
            .collect();
        assert_eq!(mine.len(), 1, "{corr}: {events:#?}");
        let e = mine[0];
        // `error` is the protocol's default level, left out when serialised.
        assert_eq!(e["level"].as_str().unwrap_or("error"), "error");
        assert_eq!(e["environment"], "sentry-test-env");
        assert!(
            e["release"].as_str().unwrap().starts_with("monservice@"),
            "{e}"
        );
        eprintln!("event for {corr}: {e}");
    }
    let me = events
        .iter()
        .find(|e| e["tags"]["correlation_id"] == "corr-failed-1")
        .unwrap();
    assert_eq!(me["tags"]["route"], "/api/v1/users/me");
    assert_eq!(me["tags"]["http.method"], "GET");
    assert_eq!(me["tags"]["http.status_code"], "503");
    assert_eq!(me["transaction"], "GET /api/v1/users/me");
    assert!(
        me["message"].as_str().unwrap().contains("unavailable"),
        "{me}"
    );
    // A healthy request is no error.
    assert!(
        !events
            .iter()
            .any(|e| e["tags"]["correlation_id"] == "corr-healthy-1")
    );

    // Sampled traces: the healthy request, named after its route template.
    let healthy = transactions
        .iter()
        .find(|t| t["tags"]["correlation_id"] == "corr-healthy-1")
        .unwrap_or_else(|| panic!("no transaction for the healthy request: {transactions:#?}"));
    assert_eq!(healthy["transaction"], "GET /api/v1/users/me");
    assert_eq!(healthy["contexts"]["trace"]["op"], "http.server");
    assert_eq!(healthy["contexts"]["trace"]["status"], "ok");
    assert_eq!(healthy["tags"]["http.status_code"], "200");
    assert_eq!(healthy["environment"], "sentry-test-env");
    let failed = transactions
        .iter()
        .find(|t| t["tags"]["correlation_id"] == "corr-failed-1")
        .unwrap();
    assert_eq!(failed["contexts"]["trace"]["status"], "unavailable");
    eprintln!("transaction: {healthy}");

    // The failed job: one event tagged with its kind, and its trace.
    let job_events: Vec<_> = events
        .iter()
        .filter(|e| e["tags"]["job.kind"] == "no_such_kind")
        .collect();
    assert_eq!(job_events.len(), 1, "{events:#?}");
    assert_eq!(
        job_events[0]["message"],
        "job failed for good; parked as dead"
    );
    assert_eq!(job_events[0]["transaction"], "no_such_kind");
    assert!(
        transactions
            .iter()
            .any(|t| t["transaction"] == "no_such_kind"
                && t["contexts"]["trace"]["op"] == "queue.process")
    );

    // Nothing secret anywhere in what was sent.
    let text = envelopes.join("\n");
    for secret in [
        user.token.as_str(),
        TEST_PASSWORD,
        TEST_SECRET_KEY,
        "cookie-secret-value",
        "job-secret",
        "access_token",
        "Bearer",
    ] {
        assert!(!text.contains(secret), "{secret:?} was sent to Sentry");
    }
}
