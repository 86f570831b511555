//! `GET /metrics`: off without METRICS_TOKEN, 401 without the token, Prometheus text with it;
//! route templates (never concrete paths) as labels; the job queue, pools, process figures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::json;
use std::collections::HashMap;
use testkit::TestApp;

const TOKEN: &str = "metrics-token-for-the-tests-0123456789";

/// `GET url` with an optional bearer token: status, content type, body.
async fn get(app: &TestApp, url: &str, token: Option<&str>) -> (u16, String, String) {
    let mut r = app.client.get(url);
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    let res = r.send().await.unwrap();
    let status = res.status().as_u16();
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    (status, ct, res.text().await.unwrap())
}

/// The samples of `name` whose labels include every pair of `labels`.
fn samples(text: &str, name: &str, labels: &[(&str, &str)]) -> Vec<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let (n, rest) = match series.split_once('{') {
                Some((n, rest)) => (n, rest.trim_end_matches('}')),
                None => (series, ""),
            };
            if n != name {
                return None;
            }
            let have: HashMap<&str, &str> = rest
                .split("\",")
                .filter(|p| !p.is_empty())
                .filter_map(|p| {
                    let (k, v) = p.split_once("=\"")?;
                    Some((k, v.trim_end_matches('"')))
                })
                .collect();
            labels
                .iter()
                .all(|(k, v)| have.get(k) == Some(v))
                .then(|| value.parse().unwrap())
        })
        .collect()
}

fn one(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    let s = samples(text, name, labels);
    assert_eq!(s.len(), 1, "{name} {labels:?}: {s:?}\n{text}");
    s[0]
}

#[tokio::test]
async fn metrics_are_off_without_a_token() {
    let app = TestApp::spawn().await;
    let (status, body) = app.call("GET", "/metrics", None, None).await;
    assert_eq!(status, 404, "{body}");
    let (status, _) = app.call("GET", "/metrics", Some(TOKEN), None).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_short_token_is_refused_at_start_up() {
    let map = HashMap::from([("METRICS_TOKEN".to_string(), "short".to_string())]);
    let err = app::Settings::from_map(&map).unwrap_err();
    assert!(err.to_string().contains("METRICS_TOKEN"), "{err}");
    let map = HashMap::from([("METRICS_PORT".to_string(), "nine".to_string())]);
    let err = app::Settings::from_map(&map).unwrap_err();
    assert!(err.to_string().contains("METRICS_PORT"), "{err}");
}

#[tokio::test]
async fn metrics_need_the_token_and_label_requests_by_route_template() {
    let app = TestApp::spawn_with(&[("METRICS_TOKEN", TOKEN)]).await;
    let url = app.url("/metrics");

    for token in [
        None,
        Some("wrong-token-wrong-token-wrong"),
        Some(&TOKEN[1..]),
    ] {
        let (status, ct, body) = get(&app, &url, token).await;
        assert_eq!(status, 401, "{token:?}: {body}");
        assert_eq!(ct, "application/problem+json");
        assert!(!body.contains(TOKEN));
    }
    let res = app.client.get(&url).send().await.unwrap();
    assert_eq!(
        res.headers().get("www-authenticate").unwrap(),
        "Bearer realm=\"metrics\""
    );

    // Some traffic: signing up enqueues a verification email (a pending job).
    let alice = app.sign_up("alice@example.org").await;
    let (s, _) = app
        .call("GET", "/api/v1/users/me", Some(&alice.token), None)
        .await;
    assert_eq!(s, 200);
    // The unprefixed path is routed to, and counted as, the prefixed template.
    let (s, _) = app.call("GET", "/users/me", Some(&alice.token), None).await;
    assert_eq!(s, 200);
    let (s, _) = app
        .call(
            "POST",
            "/api/v1/organizations",
            Some(&alice.token),
            Some(json!({ "name": "Grace Church" })),
        )
        .await;
    assert_eq!(s, 201);
    let (s, dept) = app
        .call(
            "POST",
            "/api/v1/departments",
            Some(&alice.token),
            Some(json!({ "name": "Worship" })),
        )
        .await;
    assert_eq!(s, 201, "{dept}");
    let dept_id = dept["id"].as_str().unwrap().to_string();
    let (s, _) = app
        .call(
            "GET",
            &format!("/api/v1/departments/{dept_id}"),
            Some(&alice.token),
            None,
        )
        .await;
    assert_eq!(s, 200);
    let stray = "0194f0a6-1c1e-7cc3-a3a5-6f1b2c3d4e5f";
    let (s, _) = app
        .call("GET", &format!("/api/v1/nothing/{stray}"), None, None)
        .await;
    assert_eq!(s, 404);

    let (status, ct, text) = get(&app, &url, Some(TOKEN)).await;
    assert_eq!(status, 200, "{text}");
    assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");

    let me = [
        ("route", "/api/v1/users/me"),
        ("method", "GET"),
        ("status_class", "2xx"),
    ];
    assert!(one(&text, "monservice_http_request_duration_seconds_count", &me) >= 2.0);
    let mut le = me.to_vec();
    le.push(("le", "+Inf"));
    assert!(
        one(
            &text,
            "monservice_http_request_duration_seconds_bucket",
            &le
        ) >= 2.0
    );
    one(
        &text,
        "monservice_http_request_duration_seconds_count",
        &[
            ("route", "/api/v1/departments/{id}"),
            ("method", "GET"),
            ("status_class", "2xx"),
        ],
    );
    one(
        &text,
        "monservice_http_request_duration_seconds_count",
        &[
            ("route", "/api/v1/organizations"),
            ("method", "POST"),
            ("status_class", "2xx"),
        ],
    );
    assert!(
        !samples(
            &text,
            "monservice_http_request_duration_seconds_count",
            &[("route", "unmatched"), ("status_class", "4xx")],
        )
        .is_empty()
    );
    // Never a concrete path, an id, or a secret.
    for leak in [
        dept_id.as_str(),
        stray,
        "\"/users/me\"",
        TOKEN,
        &alice.token,
    ] {
        assert!(!text.contains(leak), "{leak} is in the metrics");
    }
    assert!(!text.contains(testkit::TEST_SECRET_KEY));

    // The scrape itself is in flight while it is rendered.
    assert!(one(&text, "monservice_http_requests_in_flight", &[]) >= 1.0);
    assert_eq!(one(&text, "monservice_websocket_connections", &[]), 0.0);
    assert!(
        one(
            &text,
            "monservice_job_queue_depth",
            &[("kind", "send_email"), ("state", "pending")]
        ) >= 1.0
    );
    one(
        &text,
        "monservice_job_queue_oldest_pending_seconds",
        &[("kind", "send_email")],
    );
    let max = one(
        &text,
        "monservice_db_pool_connections_max",
        &[("pool", "main")],
    );
    assert!(max >= 1.0);
    one(
        &text,
        "monservice_db_pool_connections_in_use",
        &[("pool", "main")],
    );
    if app.db.is_postgres() {
        // The HTTP worker's own pool (WORKERS=1: its share is the whole budget, 5).
        assert_eq!(
            one(
                &text,
                "monservice_db_pool_connections_max",
                &[("pool", "http")]
            ),
            5.0
        );
    }
    assert!(one(&text, "monservice_db_statements_total", &[]) > 0.0);
    assert!(one(&text, "monservice_process_cpu_cores", &[]) >= 1.0);
    if cfg!(target_os = "linux") {
        assert!(one(&text, "process_resident_memory_bytes", &[]) > 0.0);
        assert!(one(&text, "process_cpu_seconds_total", &[]) >= 0.0);
        assert!(one(&text, "monservice_process_memory_limit_bytes", &[]) > 0.0);
    }

    // The worker records how long jobs waited and ran, by kind.
    let before = text;
    let stats = app.run_worker_until_idle().await;
    assert!(stats.succeeded >= 1, "{stats:?}");
    let (_, _, text) = get(&app, &url, Some(TOKEN)).await;
    assert!(
        one(
            &text,
            "monservice_job_queue_wait_seconds_count",
            &[("kind", "send_email")]
        ) >= 1.0
    );
    assert!(
        one(
            &text,
            "monservice_job_run_seconds_count",
            &[("kind", "send_email"), ("outcome", "succeeded")]
        ) >= 1.0
    );

    // The alert rules and the Grafana dashboard name only metrics the service exports.
    let exported: std::collections::HashSet<&str> = before
        .lines()
        .chain(text.lines())
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split(['{', ' ']).next())
        .collect();
    for file in [
        "deploy/prometheus/alerts.yml",
        "deploy/grafana/monservice.json",
    ] {
        let path = format!("{}/../../{file}", env!("CARGO_MANIFEST_DIR"));
        let content = std::fs::read_to_string(&path).unwrap();
        let named: std::collections::BTreeSet<&str> = content
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| w.starts_with("monservice_") || w.starts_with("process_"))
            .collect();
        assert!(named.len() >= 8, "{file}: {named:?}");
        for name in named {
            if name.starts_with("process_") && !cfg!(target_os = "linux") {
                continue;
            }
            // A histogram is named by its series (`_bucket`, `_count`) or by its base name.
            let histogram = format!("{name}_count");
            assert!(
                exported.contains(name) || exported.contains(histogram.as_str()),
                "{file} names {name}, which /metrics lacks"
            );
        }
    }
}

#[tokio::test]
async fn metrics_port_serves_them_on_a_listener_of_its_own() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let app = TestApp::spawn_with(&[
        ("METRICS_TOKEN", TOKEN),
        ("METRICS_PORT", &port.to_string()),
    ])
    .await;
    let (s, _) = app.call("GET", "/metrics", Some(TOKEN), None).await;
    assert_eq!(s, 404, "not on the main port");
    app.sign_up("bob@example.org").await;
    let url = format!("http://127.0.0.1:{port}/metrics");
    let (s, _, _) = get(&app, &url, None).await;
    assert_eq!(s, 401);
    let (s, ct, text) = get(&app, &url, Some(TOKEN)).await;
    assert_eq!(s, 200, "{text}");
    assert!(ct.starts_with("text/plain"), "{ct}");
    assert_eq!(
        one(
            &text,
            "monservice_job_queue_depth",
            &[("kind", "send_email"), ("state", "pending")]
        ),
        1.0
    );
    one(&text, "monservice_build_info", &[]);
    let (s, _, _) = get(&app, &format!("http://127.0.0.1:{port}/health"), None).await;
    assert_eq!(s, 404, "the metrics listener serves nothing else");
}
