//! The HTTP basics, driven through the real server over a fresh database (SQLite by default,
//! PostgreSQL with TEST_DATABASE_URL, Redis with TEST_REDIS_URL).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use reqwest::{Method, StatusCode};
use testkit::TestApp;

async fn problem(res: reqwest::Response) -> serde_json::Value {
    assert_eq!(
        res.headers()["content-type"],
        "application/problem+json",
        "every error is problem+json"
    );
    res.json().await.unwrap()
}

#[tokio::test]
async fn health_answers_with_the_version() {
    let app = TestApp::spawn().await;
    let res = app.client.get(app.url("/health")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
}

#[tokio::test]
async fn ready_checks_the_database_and_names_what_failed() {
    let app = TestApp::spawn().await;
    let res = app.client.get(app.url("/ready")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["checks"]["database"], "ok");
    let expected_redis = if testkit::redis_url().is_some() {
        "ok"
    } else {
        "not configured"
    };
    assert_eq!(body["checks"]["redis"], expected_redis);

    // Take the database away: the probe must say so with a 503, not hang or 500.
    app.take_database_away().await;
    let res = app.client.get(app.url("/ready")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let p = problem(res).await;
    assert_eq!(p["code"], "service_unavailable");
    assert!(p["detail"].as_str().unwrap().contains("database"), "{p}");
}

#[tokio::test]
async fn correlation_id_is_echoed_or_generated() {
    let app = TestApp::spawn().await;
    let res = app
        .client
        .get(app.url("/health"))
        .header("X-Correlation-ID", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-correlation-id"], "abc-123");

    let res = app.client.get(app.url("/health")).send().await.unwrap();
    let generated = res.headers()["x-correlation-id"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(uuid::Uuid::parse_str(&generated).is_ok(), "{generated}");

    // An id that could forge log lines is replaced, not echoed.
    let res = app
        .client
        .get(app.url("/health"))
        .header("X-Correlation-ID", "evil id with spaces")
        .send()
        .await
        .unwrap();
    assert_ne!(res.headers()["x-correlation-id"], "evil id with spaces");
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods_are_problems() {
    let app = TestApp::spawn().await;
    for path in ["/nope", "/api/v1/nope", "/users/me/does-not-exist"] {
        let res = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 404, "{path}");
        let p = problem(res).await;
        assert_eq!(p["code"], "not_found");
        assert_eq!(p["status"], 404);
        assert!(p["detail"].as_str().is_some_and(|d| !d.is_empty()));
    }
    let res = app.client.delete(app.url("/health")).send().await.unwrap();
    assert_eq!(res.status(), 405);
    assert_eq!(problem(res).await["code"], "method_not_allowed");
}

#[tokio::test]
async fn cors_preflight_allows_the_front_end_only() {
    let app = TestApp::spawn().await;
    for path in [
        "/api/v1/users/me",
        "/users/me",
        "/departments/default-department/members/me/availabilities",
    ] {
        let res = app
            .client
            .request(Method::OPTIONS, app.url(path))
            .header("Origin", "http://localhost:3000")
            .header("Access-Control-Request-Method", "PATCH")
            .header(
                "Access-Control-Request-Headers",
                "content-type, authorization, accept",
            )
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "{path}: {}", res.status());
        let h = res.headers();
        assert_eq!(h["access-control-allow-origin"], "http://localhost:3000");
        let methods = h["access-control-allow-methods"].to_str().unwrap();
        for m in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
            assert!(methods.contains(m), "{methods}");
        }
        let headers = h["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .to_lowercase();
        for x in ["content-type", "authorization", "accept"] {
            assert!(headers.contains(x), "{headers}");
        }
    }
    // 127.0.0.1:3000 is the same dev server reached another way.
    let res = app
        .client
        .request(Method::OPTIONS, app.url("/api/v1/users/me"))
        .header("Origin", "http://127.0.0.1:3000")
        .header("Access-Control-Request-Method", "GET")
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "http://127.0.0.1:3000"
    );

    // Another origin gets no permission.
    let res = app
        .client
        .request(Method::OPTIONS, app.url("/api/v1/users/me"))
        .header("Origin", "https://evil.example")
        .header("Access-Control-Request-Method", "GET")
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());
    assert!(res.status().is_client_error());
}

#[tokio::test]
async fn openapi_document_and_docs_page() {
    let app = TestApp::spawn().await;
    let res = app
        .client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let spec: serde_json::Value = res.json().await.unwrap();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3.1"));
    assert!(spec["paths"]["/health"].is_object());
    let res = app
        .client
        .get(app.url("/api/v1/docs"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("openapi"));

    let prod = TestApp::spawn_with(&[("API_DOCS", "false")]).await;
    let res = prod
        .client
        .get(prod.url("/api/v1/docs"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        404,
        "no docs page when API_DOCS is off (production default)"
    );
}

#[tokio::test]
async fn oversized_bodies_are_refused_before_routing_matters() {
    let app = TestApp::spawn_with(&[("MAX_BODY_BYTES", "2048")]).await;
    let res = app
        .client
        .post(app.url("/api/v1/nope"))
        .header("content-type", "application/json")
        .body(vec![b'x'; 100_000])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_client_error(), "{}", res.status());
    problem(res).await;
}
