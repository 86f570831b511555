//! Feature flags.
//!
//! * `FEATURE_OAUTH_GOOGLE=false`: every Google sign-in route answers 404, even with Google
//!   fully configured, and the server does not talk to Google at all; on (the default) the
//!   same configuration serves them.
//! * `FEATURE_WEBSOCKETS` and `FEATURE_EMAIL_NOTIFICATIONS` guard the live notifications and
//!   the notification emails, which do not exist yet (the notifications work wires them). What
//!   can be tested now is that they are read, validated and shown by `print-config`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use oidc::testing::{TEST_REDIRECT_URI, TestIssuer};
use serde_json::{Value, json};
use std::collections::HashMap;
use testkit::TestApp;

const CLIENT: &str = "monservice-test-client";

async fn google_app(issuer: &TestIssuer, flag: &str) -> TestApp {
    TestApp::spawn_with(&[
        ("GOOGLE_CLIENT_ID", CLIENT),
        ("GOOGLE_ISSUER_URL", issuer.issuer_url()),
        ("GOOGLE_REDIRECT_URI", TEST_REDIRECT_URI),
        ("FEATURE_OAUTH_GOOGLE", flag),
    ])
    .await
}

/// The status and problem code of each Google route.
async fn google_routes(app: &TestApp, id_token: &str) -> Vec<(String, u16, Value)> {
    let mut out = Vec::new();
    let res = app
        .client
        .post(app.url("/api/v1/auth/google"))
        .json(&json!({ "id_token": id_token }))
        .send()
        .await
        .unwrap();
    out.push(("POST /auth/google".to_string(), res));
    for path in [
        "/api/v1/auth/google/authorize",
        "/api/v1/auth/google/callback?code=c&state=s",
        // The unprefixed path the web front end uses.
        "/auth/google/authorize",
    ] {
        let res = app.client.get(app.url(path)).send().await.unwrap();
        out.push((format!("GET {path}"), res));
    }
    let mut statuses = Vec::new();
    for (what, res) in out {
        let status = res.status().as_u16();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        statuses.push((what, status, body));
    }
    statuses
}

#[tokio::test]
async fn google_sign_in_turned_off_is_404_on_every_route() {
    let issuer = TestIssuer::start().await;
    let app = google_app(&issuer, "false").await;
    assert!(app.ctx.google.is_none(), "no Google client is built");
    let token = issuer.mint_id_token(&issuer.claims(CLIENT));
    for (what, status, body) in google_routes(&app, &token).await {
        assert_eq!(status, 404, "{what}: {body}");
        assert_eq!(body["code"], "not_found", "{what}");
        assert_eq!(body["detail"], "Google sign-in is turned off.", "{what}");
    }
    // Nothing was created by the token that would have signed someone up.
    let (status, _) = app
        .call(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"email": "ada@example.com", "password": "whatever-password"})),
        )
        .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn google_sign_in_turned_on_serves_the_same_routes() {
    let issuer = TestIssuer::start().await;
    let app = google_app(&issuer, "true").await;
    assert!(app.ctx.google.is_some());
    let token = issuer.mint_id_token(&issuer.claims(CLIENT));
    let results = google_routes(&app, &token).await;
    let by_route: HashMap<_, _> = results
        .iter()
        .map(|(w, s, b)| (w.as_str(), (*s, b)))
        .collect();
    assert_eq!(by_route["POST /auth/google"].0, 201);
    assert_eq!(by_route["GET /api/v1/auth/google/authorize"].0, 302);
    assert_eq!(by_route["GET /auth/google/authorize"].0, 302);
    // A made-up state is refused by the flow itself, not by the flag.
    let (status, body) = by_route["GET /api/v1/auth/google/callback?code=c&state=s"];
    assert_eq!(status, 400, "{body}");
}

fn settings(pairs: &[(&str, &str)]) -> Result<app::Settings, app::SettingsError> {
    app::Settings::from_map(
        &pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

#[test]
fn websocket_and_notification_email_flags_are_read_validated_and_shown() {
    let defaults = settings(&[]).unwrap();
    assert!(defaults.feature_oauth_google);
    assert!(defaults.feature_websockets);
    assert!(defaults.feature_email_notifications);

    let off = settings(&[
        ("FEATURE_WEBSOCKETS", "false"),
        ("FEATURE_EMAIL_NOTIFICATIONS", "off"),
        ("FEATURE_OAUTH_GOOGLE", "0"),
    ])
    .unwrap();
    assert!(!off.feature_websockets);
    assert!(!off.feature_email_notifications);
    assert!(!off.feature_oauth_google);

    for name in [
        "FEATURE_WEBSOCKETS",
        "FEATURE_EMAIL_NOTIFICATIONS",
        "FEATURE_OAUTH_GOOGLE",
    ] {
        let err = settings(&[(name, "maybe")]).unwrap_err().to_string();
        assert!(err.contains(name), "{err}");
        assert_eq!(err.lines().count(), 1, "one clear line: {err}");
    }

    let shown = app::Settings::redacted(
        &[
            ("FEATURE_WEBSOCKETS", "false"),
            ("FEATURE_EMAIL_NOTIFICATIONS", "false"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
    )
    .unwrap();
    for line in [
        "FEATURE_WEBSOCKETS=false",
        "FEATURE_EMAIL_NOTIFICATIONS=false",
        "FEATURE_OAUTH_GOOGLE=true",
    ] {
        assert!(shown.iter().any(|l| l == line), "{line} in {shown:?}");
    }
}
