#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `GoogleOidc` against a standalone OpenID Connect provider: oauth2-mock-server, as `.ci/run`
//! starts it (discovery, JWKS and token endpoint over real HTTP, RS256 keys it generated).
//!
//! Runs only when `TEST_OIDC_ISSUER_URL` is set (CI's PostgreSQL + Redis pass); otherwise every
//! test returns at once, the in-process issuer of `tests/it.rs` covering the same ground. The
//! provider must be `.ci/run`'s launcher: it merges a `claims` form field (JSON) posted to
//! `/token` into the tokens (oauth2-mock-server's `beforeTokenSigning` hook), and
//! `POST /_test/rotate-key` adds a signing key.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use oidc::{GoogleOidc, OidcConfig, OidcError, VerifiedIdentity};
use serde_json::{Value, json};

const CLIENT: &str = "monservice-external-test.apps.googleusercontent.com";

/// The issuer URL, or `None` when the external provider is not configured.
fn issuer_url() -> Option<String> {
    std::env::var("TEST_OIDC_ISSUER_URL")
        .ok()
        .filter(|url| !url.trim().is_empty())
}

fn verifier(issuer: &str) -> GoogleOidc {
    GoogleOidc::new(OidcConfig {
        issuer_url: issuer.to_owned(),
        http_timeout: Duration::from_secs(5),
        ..OidcConfig::new(CLIENT)
    })
    .unwrap()
}

/// The claims a Google ID token carries for a verified account.
fn google_claims(email: &str) -> Value {
    json!({
        "email": email,
        "email_verified": true,
        "given_name": "Zoé",
        "family_name": "Dupré",
        "picture": "https://example.test/zoe.png",
    })
}

/// An ID token issued by the provider's token endpoint (password grant; `aud` is `client_id`),
/// for `subject`, with `claims` merged in.
async fn issue_id_token(issuer: &str, client_id: &str, subject: &str, claims: &Value) -> String {
    let url = format!("{issuer}/token");
    // The provider's ID tokens say `"sub": "johndoe"` unless told otherwise.
    let mut claims = claims.clone();
    claims["sub"] = json!(subject);
    let response = reqwest::Client::new()
        .post(&url)
        .timeout(Duration::from_secs(10))
        .form(&[
            ("grant_type", "password"),
            ("username", subject),
            ("password", "unused"),
            ("client_id", client_id),
            ("scope", "openid email profile"),
            ("claims", &claims.to_string()),
        ])
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!("TEST_OIDC_ISSUER_URL={issuer}: the provider does not answer at {url}: {e}")
        });
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert!(status.is_success(), "POST {url}: HTTP {status}: {body}");
    body["id_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no id_token in the token response: {body}"))
        .to_owned()
}

/// The `kid` in a JWT's header.
fn kid(jwt: &str) -> String {
    let header = jwt.split('.').next().unwrap();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

#[track_caller]
fn assert_invalid(result: Result<VerifiedIdentity, OidcError>, needle: &str) {
    match result {
        Err(OidcError::InvalidToken(msg)) => assert!(
            msg.to_lowercase().contains(needle),
            "expected InvalidToken mentioning {needle:?}, got {msg:?}"
        ),
        other => panic!("expected InvalidToken({needle:?}), got {other:?}"),
    }
}

#[tokio::test]
async fn provider_issued_id_token_verifies_and_maps_the_claims() {
    let Some(issuer) = issuer_url() else { return };
    let oidc = verifier(&issuer);
    let token = issue_id_token(
        &issuer,
        CLIENT,
        "ext-110169484474386276334",
        &google_claims("zoe@example.test"),
    )
    .await;

    let who = oidc
        .verify_id_token(&token, None)
        .await
        .unwrap_or_else(|e| {
            panic!("TEST_OIDC_ISSUER_URL={issuer}: a token the provider issued was refused: {e}")
        });
    assert_eq!(
        who,
        VerifiedIdentity {
            subject: "ext-110169484474386276334".into(),
            email: "zoe@example.test".into(),
            email_verified: true,
            given_name: Some("Zoé".into()),
            family_name: Some("Dupré".into()),
            picture: Some("https://example.test/zoe.png".into()),
            issuer: issuer.clone(),
        }
    );
}

#[tokio::test]
async fn token_for_another_audience_is_refused() {
    let Some(issuer) = issuer_url() else { return };
    let oidc = verifier(&issuer);
    let claims = google_claims("zoe@example.test");

    let token = issue_id_token(&issuer, "someone-else.apps.example", "ext-1", &claims).await;
    assert_invalid(oidc.verify_id_token(&token, None).await, "audience");

    // Our client ID plus an untrusted second audience is refused as well.
    let mut claims = claims;
    claims["aud"] = json!([CLIENT, "someone-else.apps.example"]);
    let token = issue_id_token(&issuer, CLIENT, "ext-1", &claims).await;
    assert_invalid(oidc.verify_id_token(&token, None).await, "audience");
}

#[tokio::test]
async fn unverified_or_missing_email_is_refused() {
    let Some(issuer) = issuer_url() else { return };
    let oidc = verifier(&issuer);

    let mut claims = google_claims("zoe@example.test");
    claims["email_verified"] = json!(false);
    let token = issue_id_token(&issuer, CLIENT, "ext-2", &claims).await;
    assert_eq!(
        oidc.verify_id_token(&token, None).await,
        Err(OidcError::EmailNotVerified)
    );

    // The provider's own ID token (only `sub` added) has no email.
    let token = issue_id_token(&issuer, CLIENT, "ext-2", &json!({})).await;
    assert_invalid(oidc.verify_id_token(&token, None).await, "no email claim");

    // Expired an hour ago (beyond the leeway), though genuinely signed.
    let mut claims = google_claims("zoe@example.test");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    (claims["iat"], claims["exp"]) = (json!(now - 7200), json!(now - 3600));
    let token = issue_id_token(&issuer, CLIENT, "ext-2", &claims).await;
    assert_invalid(oidc.verify_id_token(&token, None).await, "expired");
}

#[tokio::test]
async fn a_rotated_signing_key_is_fetched_from_the_jwks() {
    let Some(issuer) = issuer_url() else { return };
    let oidc = verifier(&issuer);
    let claims = google_claims("zoe@example.test");

    // Discovery and JWKS are fetched and cached with the keys the provider has now.
    let before = issue_id_token(&issuer, CLIENT, "ext-3", &claims).await;
    oidc.verify_id_token(&before, None).await.unwrap();

    let http = reqwest::Client::new();
    let rotated: Value = http
        .post(format!("{issuer}/_test/rotate-key"))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    let new_kid = rotated["kid"].as_str().unwrap().to_owned();
    let jwks: Value = http
        .get(format!("{issuer}/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let published = jwks["keys"].as_array().unwrap();
    assert!(
        published.iter().any(|k| k["kid"] == new_kid.as_str()),
        "{jwks}"
    );

    // The provider signs with its keys in turn (other tests take turns too): soon, a token
    // signed by the new key.
    let mut rotated_token = None;
    for _ in 0..4 * published.len() {
        let token = issue_id_token(&issuer, CLIENT, "ext-3", &claims).await;
        if kid(&token) == new_kid {
            rotated_token = Some(token);
            break;
        }
        oidc.verify_id_token(&token, None).await.unwrap();
    }
    let rotated_token = rotated_token.expect("no token signed with the new key");

    // Unknown to the cached JWKS: the verifier fetches it again and accepts the token; tokens
    // signed before the rotation still verify.
    let who = oidc.verify_id_token(&rotated_token, None).await.unwrap();
    assert_eq!(who.subject, "ext-3");
    oidc.verify_id_token(&before, None).await.unwrap();
}
