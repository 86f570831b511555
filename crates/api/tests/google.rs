//! Google sign-in through the API against a real OpenID Connect issuer running in-process
//! (discovery document, JWKS, RS256 signatures, token endpoint with PKCE).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use oidc::testing::{TEST_REDIRECT_URI, TestIssuer};
use serde_json::{Value, json};
use testkit::TestApp;

const CLIENT: &str = "monservice-test-client";

async fn app_with(issuer: &TestIssuer) -> TestApp {
    TestApp::spawn_with(&[
        ("GOOGLE_CLIENT_ID", CLIENT),
        ("GOOGLE_ISSUER_URL", issuer.issuer_url()),
        ("GOOGLE_REDIRECT_URI", TEST_REDIRECT_URI),
    ])
    .await
}

async fn google(app: &TestApp, token: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/auth/google"))
        // The browser's stale Bearer must not matter on this public route.
        .bearer_auth("stale")
        .json(&json!({ "id_token": token }))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_id_token_creates_the_account_then_signs_in_to_it() {
    let issuer = TestIssuer::start().await;
    let app = app_with(&issuer).await;
    let token = issuer.mint_id_token(&issuer.claims(CLIENT));
    let res = google(&app, &token).await;
    assert_eq!(res.status(), 201);
    let first: Value = res.json().await.unwrap();
    assert_eq!(first["tokenType"], "Bearer");
    assert_eq!(first["user"]["email"], "ada@example.com");
    assert_eq!(first["user"]["firstName"], "Ada");
    assert_eq!(first["user"]["isEmailVerified"], true);

    let res = google(&app, &token).await;
    assert_eq!(res.status(), 200);
    let second: Value = res.json().await.unwrap();
    assert_eq!(second["user"]["id"], first["user"]["id"]);
    let me = app
        .client
        .get(app.url("/api/v1/users/me"))
        .bearer_auth(second["accessToken"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
}

#[tokio::test]
async fn an_existing_password_account_is_linked_not_duplicated() {
    let issuer = TestIssuer::start().await;
    let app = app_with(&issuer).await;
    let res = app
        .client
        .post(app.url("/api/v1/auth/register"))
        .json(&json!({"email": "Ada@Example.com", "password": "correct horse battery", "firstName": "A", "lastName": "L"}))
        .send()
        .await
        .unwrap();
    let registered: Value = res.json().await.unwrap();
    let res = google(&app, &issuer.mint_id_token(&issuer.claims(CLIENT))).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["user"]["id"], registered["user"]["id"]);
    assert_eq!(
        body["user"]["isEmailVerified"], true,
        "Google verified the address"
    );
}

#[tokio::test]
async fn bad_google_tokens_are_refused() {
    let issuer = TestIssuer::start().await;
    let app = app_with(&issuer).await;
    let mut other_aud = issuer.claims(CLIENT);
    other_aud.aud = "someone-else".into();
    let mut other_iss = issuer.claims(CLIENT);
    other_iss.iss = "https://evil.example".into();
    let mut expired = issuer.claims(CLIENT);
    expired.exp_offset = -3600;
    expired.iat_offset = -7200;
    let mut unverified = issuer.claims(CLIENT);
    unverified.email_verified = Some(false);
    let good = issuer.claims(CLIENT);
    for (name, token, status) in [
        ("audience", issuer.mint_id_token(&other_aud), 401),
        ("issuer", issuer.mint_id_token(&other_iss), 401),
        ("expired", issuer.mint_id_token(&expired), 401),
        (
            "foreign key",
            issuer.mint_with_foreign_key(&good, None),
            401,
        ),
        ("alg none", issuer.mint_unsigned(&good), 401),
        ("garbage", "a.b.c".to_string(), 401),
        ("unverified email", issuer.mint_id_token(&unverified), 403),
    ] {
        let res = google(&app, &token).await;
        assert_eq!(res.status().as_u16(), status, "{name}");
        assert_eq!(
            res.headers()["content-type"],
            "application/problem+json",
            "{name}"
        );
    }
}

#[tokio::test]
async fn keys_rotated_mid_test_still_verify() {
    let issuer = TestIssuer::start().await;
    let app = app_with(&issuer).await;
    assert_eq!(
        google(&app, &issuer.mint_id_token(&issuer.claims(CLIENT)))
            .await
            .status(),
        201
    );
    issuer.rotate_keys(false);
    assert_eq!(
        google(&app, &issuer.mint_id_token(&issuer.claims(CLIENT)))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn the_server_side_code_flow_with_state_nonce_and_pkce() {
    let issuer = TestIssuer::start().await;
    let app = app_with(&issuer).await;
    let res = app
        .client
        .get(app.url("/api/v1/auth/google/authorize"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    let location = reqwest::Url::parse(res.headers()["location"].to_str().unwrap()).unwrap();
    assert!(location.as_str().starts_with(issuer.issuer_url()));
    let q: std::collections::HashMap<String, String> =
        location.query_pairs().into_owned().collect();
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["client_id"], CLIENT);

    let mut claims = issuer.claims(CLIENT);
    claims.nonce = Some(q["nonce"].clone());
    issuer.prepare_code("the-code", claims, Some(&q["code_challenge"]));

    let callback = |state: &str| {
        app.client
            .get(app.url("/api/v1/auth/google/callback"))
            .query(&[("code", "the-code"), ("state", state)])
            .send()
    };
    assert_eq!(callback("forged-state").await.unwrap().status(), 400);
    let res = callback(&q["state"]).await.unwrap();
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["user"]["email"], "ada@example.com");
    // The state is single use.
    let p: Value = callback(&q["state"]).await.unwrap().json().await.unwrap();
    assert_eq!(p["code"], "invalid_state");
}

#[tokio::test]
async fn turned_off_or_unconfigured() {
    let issuer = TestIssuer::start().await;
    let off = TestApp::spawn_with(&[
        ("GOOGLE_CLIENT_ID", CLIENT),
        ("GOOGLE_ISSUER_URL", issuer.issuer_url()),
        ("FEATURE_OAUTH_GOOGLE", "false"),
    ])
    .await;
    assert_eq!(google(&off, "x.y.z").await.status(), 404);
    let unconfigured = TestApp::spawn().await;
    assert_eq!(google(&unconfigured, "x.y.z").await.status(), 503);
}

#[tokio::test]
async fn a_google_only_account_is_deleted_after_a_fresh_google_sign_in() {
    let issuer = TestIssuer::start().await;
    let app = app_with(&issuer).await;
    let body: Value = google(&app, &issuer.mint_id_token(&issuer.claims(CLIENT)))
        .await
        .json()
        .await
        .unwrap();
    let token = body["accessToken"].as_str().unwrap();
    let export: Value = app
        .client
        .get(app.url("/api/v1/users/me/data-export"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(export["googleLinked"], true);
    assert_eq!(export["hasPassword"], false);
    assert_eq!(export["sessions"][0]["method"], "google");
    let res = app
        .client
        .delete(app.url("/api/v1/users/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    // Signing in again creates a new account.
    assert_eq!(
        google(&app, &issuer.mint_id_token(&issuer.claims(CLIENT)))
            .await
            .status(),
        201
    );
}

#[tokio::test]
async fn a_callback_without_code_or_with_an_issuer_error_is_a_400() {
    let issuer = TestIssuer::start().await;
    let app = app_with(&issuer).await;
    for (query, code) in [
        (vec![("state", "s")], "invalid_callback"),
        (vec![("code", "c")], "invalid_callback"),
        (
            vec![("error", "access_denied"), ("state", "s")],
            "oauth_error",
        ),
    ] {
        let res = app
            .client
            .get(app.url("/api/v1/auth/google/callback"))
            .query(&query)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{query:?}");
        let p: Value = res.json().await.unwrap();
        assert_eq!(p["code"], code, "{query:?}");
    }
    let res = app
        .client
        .post(app.url("/api/v1/auth/google"))
        .json(&json!({ "token": "wrong field name" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
}
