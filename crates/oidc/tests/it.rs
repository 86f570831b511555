//! `GoogleOidc` against a real OpenID Connect issuer running in-process (`oidc::testing`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use oidc::testing::{TEST_REDIRECT_URI, TestIssuer, pkce_challenge};
use oidc::{GoogleOidc, OidcConfig, OidcError, VerifiedIdentity};
use secrecy::SecretString;
use serde_json::json;

const CLIENT: &str = "1234-test.apps.googleusercontent.com";

async fn setup() -> (TestIssuer, GoogleOidc) {
    let issuer = TestIssuer::start().await;
    let oidc = GoogleOidc::new(issuer.config(CLIENT)).unwrap();
    (issuer, oidc)
}

#[track_caller]
fn assert_invalid(result: Result<VerifiedIdentity, OidcError>, needle: &str) {
    match result {
        Err(OidcError::InvalidToken(msg)) => assert!(
            msg.to_lowercase().contains(&needle.to_lowercase()),
            "expected InvalidToken mentioning {needle:?}, got {msg:?}"
        ),
        other => panic!("expected InvalidToken({needle:?}), got {other:?}"),
    }
}

/// The query of an URL as a map.
fn query(url: &str) -> HashMap<String, String> {
    openidconnect::url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

/// A local port nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn valid_token_verifies_and_maps_the_claims() {
    let (issuer, oidc) = setup().await;
    let token = issuer.mint_id_token(&issuer.claims(CLIENT));

    let who = oidc.verify_id_token(&token, None).await.unwrap();
    assert_eq!(
        who,
        VerifiedIdentity {
            subject: "110169484474386276334".into(),
            email: "ada@example.com".into(),
            email_verified: true,
            given_name: Some("Ada".into()),
            family_name: Some("Lovelace".into()),
            picture: Some("https://example.com/ada.png".into()),
            issuer: issuer.issuer_url().into(),
        }
    );

    // Optional profile claims may be absent.
    let mut claims = issuer.claims(CLIENT);
    (claims.given_name, claims.family_name, claims.picture) = (None, None, None);
    let who = oidc
        .verify_id_token(&issuer.mint_id_token(&claims), None)
        .await
        .unwrap();
    assert_eq!(
        (who.given_name, who.family_name, who.picture),
        (None, None, None)
    );

    // Metadata and keys were fetched once, then cached; clones share the cache.
    oidc.clone().verify_id_token(&token, None).await.unwrap();
    assert_eq!(issuer.discovery_requests(), 1);
    assert_eq!(issuer.jwks_requests(), 1);
}

#[tokio::test]
async fn wrong_audience_is_rejected() {
    let (issuer, oidc) = setup().await;
    let mut claims = issuer.claims(CLIENT);
    claims.aud = "someone-else.apps.googleusercontent.com".into();
    let token = issuer.mint_id_token(&claims);
    assert_invalid(oidc.verify_id_token(&token, None).await, "audience");

    // Our client ID plus an untrusted second audience is refused as well.
    let mut claims = issuer.claims(CLIENT);
    claims
        .extra
        .insert("aud".into(), json!([CLIENT, "other-client"]));
    let token = issuer.mint_id_token(&claims);
    assert_invalid(oidc.verify_id_token(&token, None).await, "audience");
}

#[tokio::test]
async fn wrong_issuer_is_rejected() {
    let (issuer, oidc) = setup().await;
    let mut claims = issuer.claims(CLIENT);
    claims.iss = "https://accounts.google.com".into();
    let token = issuer.mint_id_token(&claims);
    assert_invalid(oidc.verify_id_token(&token, None).await, "issuer");

    // A bare host is not an issuer URL: openidconnect refuses to parse it.
    claims.iss = "accounts.google.com".into();
    let token = issuer.mint_id_token(&claims);
    assert_invalid(oidc.verify_id_token(&token, None).await, "malformed");
}

#[tokio::test]
async fn expiry_and_issue_time_are_checked_with_a_small_leeway() {
    let (issuer, oidc) = setup().await;
    let mut claims = issuer.claims(CLIENT);
    (claims.iat_offset, claims.exp_offset) = (-7200, -3600);
    let expired = issuer.mint_id_token(&claims);
    assert_invalid(oidc.verify_id_token(&expired, None).await, "expired");

    // Expired 20 s ago, or issued 20 s in the future: within the clock-skew leeway.
    (claims.iat_offset, claims.exp_offset) = (-3600, -20);
    let just_expired = issuer.mint_id_token(&claims);
    oidc.verify_id_token(&just_expired, None).await.unwrap();
    (claims.iat_offset, claims.exp_offset) = (20, 3600);
    oidc.verify_id_token(&issuer.mint_id_token(&claims), None)
        .await
        .unwrap();

    // Issued ten minutes in the future: refused.
    (claims.iat_offset, claims.exp_offset) = (600, 3600);
    assert_invalid(
        oidc.verify_id_token(&issuer.mint_id_token(&claims), None)
            .await,
        "future",
    );
}

#[tokio::test]
async fn signature_by_an_unpublished_key_is_rejected() {
    let (issuer, oidc) = setup().await;
    // Same kid as the published key, but signed by another key: the signature does not verify.
    let forged = issuer.mint_with_foreign_key(&issuer.claims(CLIENT), None);
    assert_invalid(oidc.verify_id_token(&forged, None).await, "signature");

    // A tampered payload under a genuine signature.
    let genuine = issuer.mint_id_token(&issuer.claims(CLIENT));
    let mut parts: Vec<&str> = genuine.split('.').collect();
    let mut evil = issuer.claims(CLIENT);
    evil.email = Some("mallory@example.com".into());
    let evil_payload = issuer.mint_unsigned(&evil);
    parts[1] = evil_payload.split('.').nth(1).unwrap();
    assert_invalid(
        oidc.verify_id_token(&parts.join("."), None).await,
        "signature",
    );
}

#[tokio::test]
async fn unsigned_and_symmetric_algorithms_are_rejected() {
    let (issuer, oidc) = setup().await;
    let claims = issuer.claims(CLIENT);

    let unsigned = issuer.mint_unsigned(&claims);
    assert_invalid(oidc.verify_id_token(&unsigned, None).await, "signature");

    // Algorithm confusion: HS256 (the public key or the client secret as HMAC key) is not allowed,
    // nor any asymmetric algorithm the issuer does not advertise.
    for alg in ["HS256", "RS384", "PS256"] {
        let token = issuer.mint_with_header(
            &claims,
            json!({ "alg": alg, "kid": issuer.current_kid(), "typ": "JWT" }),
        );
        assert_invalid(oidc.verify_id_token(&token, None).await, "algorithm");
    }
}

#[tokio::test]
async fn malformed_tokens_are_rejected() {
    let (issuer, oidc) = setup().await;
    let valid = issuer.mint_id_token(&issuer.claims(CLIENT));
    let truncated = &valid[..valid.len() / 2];
    let too_long = "a".repeat(20_000);
    for token in [
        "",
        "   ",
        "not-a-jwt",
        "a.b.c",
        "eyJhbGciOiJSUzI1NiJ9.e30.",
        truncated,
        too_long.as_str(),
    ] {
        let result = oidc.verify_id_token(token, None).await;
        assert!(
            matches!(result, Err(OidcError::InvalidToken(_))),
            "{token:.40?} gave {result:?}"
        );
    }
    // Nothing was fetched for tokens that do not even parse.
    assert_eq!(issuer.discovery_requests(), 0);
}

#[tokio::test]
async fn email_must_be_present_and_verified() {
    let (issuer, oidc) = setup().await;
    let mut claims = issuer.claims(CLIENT);

    claims.email_verified = Some(false);
    let result = oidc
        .verify_id_token(&issuer.mint_id_token(&claims), None)
        .await;
    assert!(
        matches!(result, Err(OidcError::EmailNotVerified)),
        "{result:?}"
    );

    claims.email_verified = None;
    let result = oidc
        .verify_id_token(&issuer.mint_id_token(&claims), None)
        .await;
    assert!(
        matches!(result, Err(OidcError::EmailNotVerified)),
        "{result:?}"
    );

    // Some Google endpoints send the boolean as a string.
    claims.extra.insert("email_verified".into(), json!("true"));
    oidc.verify_id_token(&issuer.mint_id_token(&claims), None)
        .await
        .unwrap();

    let mut claims = issuer.claims(CLIENT);
    claims.email = None;
    assert_invalid(
        oidc.verify_id_token(&issuer.mint_id_token(&claims), None)
            .await,
        "email",
    );

    // A bad signature is reported as such, not as an unverified e-mail.
    let mut claims = issuer.claims(CLIENT);
    claims.email_verified = Some(false);
    let forged = issuer.mint_with_foreign_key(&claims, None);
    assert_invalid(oidc.verify_id_token(&forged, None).await, "signature");
}

#[tokio::test]
async fn nonce_is_checked_only_when_given() {
    let (issuer, oidc) = setup().await;
    let mut claims = issuer.claims(CLIENT);
    claims.nonce = Some("n-0S6_WzA2Mj".into());
    let token = issuer.mint_id_token(&claims);

    oidc.verify_id_token(&token, None).await.unwrap();
    oidc.verify_id_token(&token, Some("n-0S6_WzA2Mj"))
        .await
        .unwrap();
    assert_invalid(oidc.verify_id_token(&token, Some("other")).await, "nonce");

    let without_nonce = issuer.mint_id_token(&issuer.claims(CLIENT));
    assert_invalid(
        oidc.verify_id_token(&without_nonce, Some("n-0S6_WzA2Mj"))
            .await,
        "nonce",
    );
}

#[tokio::test]
async fn key_rotation_refetches_the_jwks_once() {
    for keep_old in [true, false] {
        let (issuer, oidc) = setup().await;
        let old_token = issuer.mint_id_token(&issuer.claims(CLIENT));
        oidc.verify_id_token(&old_token, None).await.unwrap();
        assert_eq!(issuer.jwks_requests(), 1);

        let old_kid = issuer.current_kid();
        let new_kid = issuer.rotate_keys(keep_old);
        assert_ne!(old_kid, new_kid);
        let new_token = issuer.mint_id_token(&issuer.claims(CLIENT));

        // The verifier still has the old JWKS cached: the unknown kid makes it fetch again.
        oidc.verify_id_token(&new_token, None).await.unwrap();
        assert_eq!(issuer.jwks_requests(), 2, "keep_old={keep_old}");
        oidc.verify_id_token(&new_token, None).await.unwrap();
        assert_eq!(issuer.jwks_requests(), 2, "keep_old={keep_old}");

        let old_result = oidc.verify_id_token(&old_token, None).await;
        if keep_old {
            old_result.unwrap();
        } else {
            assert_invalid(old_result, "key");
        }
        assert_eq!(issuer.discovery_requests(), 1);
    }
}

#[tokio::test]
async fn unknown_kid_fails_and_refetches_are_rate_limited() {
    let (issuer, oidc) = setup().await;
    oidc.verify_id_token(&issuer.mint_id_token(&issuer.claims(CLIENT)), None)
        .await
        .unwrap();
    assert_eq!(issuer.jwks_requests(), 1);

    let nowhere =
        issuer.mint_with_foreign_key(&issuer.claims(CLIENT), Some("kid-that-exists-nowhere"));
    assert_invalid(oidc.verify_id_token(&nowhere, None).await, "key");
    assert_eq!(issuer.jwks_requests(), 2, "one refetch for the unknown kid");

    // Within the cooldown, more unknown kids do not cause more requests to the issuer.
    for i in 0..5 {
        let kid = format!("random-kid-{i}");
        let token = issuer.mint_with_header(
            &issuer.claims(CLIENT),
            json!({ "alg": "RS256", "kid": kid, "typ": "JWT" }),
        );
        assert_invalid(oidc.verify_id_token(&token, None).await, "key");
    }
    assert_eq!(issuer.jwks_requests(), 2);

    // Known keys keep working.
    oidc.verify_id_token(&issuer.mint_id_token(&issuer.claims(CLIENT)), None)
        .await
        .unwrap();
}

#[tokio::test]
async fn code_flow_end_to_end() {
    let issuer = TestIssuer::start().await;
    issuer.require_client_credentials(CLIENT, "s3cret");
    let cfg = OidcConfig {
        client_secret: Some(SecretString::from("s3cret")),
        ..issuer.config(CLIENT)
    };
    let oidc = GoogleOidc::new(cfg).unwrap();

    let request = oidc.authorize_url().await.unwrap();
    assert!(
        request
            .url
            .starts_with(&format!("{}/authorize?", issuer.issuer_url()))
    );
    let q = query(&request.url);
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], CLIENT);
    assert_eq!(q["redirect_uri"], TEST_REDIRECT_URI);
    let mut scopes: Vec<&str> = q["scope"].split(' ').collect();
    scopes.sort_unstable();
    assert_eq!(scopes, ["email", "openid", "profile"]);
    assert_eq!(q["state"], request.state);
    assert_eq!(q["nonce"], request.nonce);
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["code_challenge"], pkce_challenge(&request.pkce_verifier));
    assert!(request.state.len() >= 16 && request.nonce.len() >= 16);
    assert!(request.pkce_verifier.len() >= 43);
    assert!(!format!("{request:?}").contains(&request.pkce_verifier));

    // Each request is fresh.
    let other = oidc.authorize_url().await.unwrap();
    assert_ne!(other.state, request.state);
    assert_ne!(other.nonce, request.nonce);
    assert_ne!(other.pkce_verifier, request.pkce_verifier);

    // The user signs in at the issuer, which redirects back with a code.
    let mut claims = issuer.claims(CLIENT);
    claims.nonce = Some(q["nonce"].clone());
    issuer.prepare_code("code-1", claims, Some(&q["code_challenge"]));

    let who = oidc
        .exchange_code("code-1", &request.pkce_verifier, &request.nonce)
        .await
        .unwrap();
    assert_eq!(who.email, "ada@example.com");
    assert_eq!(who.subject, "110169484474386276334");
    assert_eq!(who.issuer, issuer.issuer_url());

    let sent = issuer.token_requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].auth_method, "client_secret_basic");
    assert_eq!(sent[0].client_id.as_deref(), Some(CLIENT));
    assert_eq!(sent[0].client_secret.as_deref(), Some("s3cret"));
    assert_eq!(sent[0].form["grant_type"], "authorization_code");
    assert_eq!(sent[0].form["code"], "code-1");
    assert_eq!(sent[0].form["redirect_uri"], TEST_REDIRECT_URI);
    assert_eq!(sent[0].form["code_verifier"], request.pkce_verifier);
    assert!(!sent[0].form.contains_key("client_secret"));

    // Codes are single-use.
    assert_invalid(
        oidc.exchange_code("code-1", &request.pkce_verifier, &request.nonce)
            .await,
        "invalid_grant",
    );
    assert_eq!(issuer.discovery_requests(), 1);
}

#[tokio::test]
async fn code_flow_rejects_a_wrong_nonce_or_pkce_verifier() {
    let (issuer, oidc) = setup().await;
    let request = oidc.authorize_url().await.unwrap();
    let challenge = pkce_challenge(&request.pkce_verifier);
    let mut claims = issuer.claims(CLIENT);
    claims.nonce = Some(request.nonce.clone());

    // The ID token carries the nonce of another authorization request.
    issuer.prepare_code("code-a", claims.clone(), Some(&challenge));
    assert_invalid(
        oidc.exchange_code("code-a", &request.pkce_verifier, "another-nonce")
            .await,
        "nonce",
    );

    // The token endpoint refuses a verifier that does not match the challenge.
    issuer.prepare_code("code-b", claims.clone(), Some(&challenge));
    assert_invalid(
        oidc.exchange_code(
            "code-b",
            "a-verifier-that-is-long-enough-but-wrong-0123456789",
            &request.nonce,
        )
        .await,
        "invalid_grant",
    );

    // An ID token that does not verify (here: expired) fails the exchange.
    let mut expired = claims.clone();
    expired.exp_offset = -3600;
    issuer.prepare_code("code-c", expired, Some(&challenge));
    assert_invalid(
        oidc.exchange_code("code-c", &request.pkce_verifier, &request.nonce)
            .await,
        "expired",
    );

    // A tampered at_hash.
    let mut claims_bad_hash = claims.clone();
    claims_bad_hash
        .extra
        .insert("at_hash".into(), json!("AAAAAAAAAAAAAAAAAAAAAA"));
    issuer.prepare_code("code-d", claims_bad_hash, Some(&challenge));
    assert_invalid(
        oidc.exchange_code("code-d", &request.pkce_verifier, &request.nonce)
            .await,
        "at_hash",
    );

    // And the happy path still works.
    issuer.prepare_code("code-e", claims, Some(&challenge));
    oidc.exchange_code("code-e", &request.pkce_verifier, &request.nonce)
        .await
        .unwrap();
}

#[tokio::test]
async fn code_flow_client_authentication_follows_discovery() {
    let issuer = TestIssuer::start().await;
    issuer.set_token_auth_methods(&["client_secret_post"]);
    issuer.require_client_credentials(CLIENT, "s3cret");
    let cfg = |secret: &str| OidcConfig {
        client_secret: Some(SecretString::from(secret.to_owned())),
        ..issuer.config(CLIENT)
    };

    let oidc = GoogleOidc::new(cfg("s3cret")).unwrap();
    let request = oidc.authorize_url().await.unwrap();
    let mut claims = issuer.claims(CLIENT);
    claims.nonce = Some(request.nonce.clone());
    issuer.prepare_code("code-post", claims.clone(), None);
    oidc.exchange_code("code-post", &request.pkce_verifier, &request.nonce)
        .await
        .unwrap();
    let sent = issuer.token_requests();
    assert_eq!(sent[0].auth_method, "client_secret_post");
    assert_eq!(sent[0].form["client_secret"], "s3cret");

    // Refused client credentials are a configuration problem, not a bad token.
    let wrong = GoogleOidc::new(cfg("wrong")).unwrap();
    issuer.prepare_code("code-wrong", claims, None);
    let result = wrong
        .exchange_code("code-wrong", &request.pkce_verifier, &request.nonce)
        .await;
    assert!(
        matches!(&result, Err(OidcError::Misconfigured(m)) if m.contains("invalid_client")),
        "{result:?}"
    );
}

#[tokio::test]
async fn code_flow_needs_a_redirect_uri() {
    let issuer = TestIssuer::start().await;
    let oidc = GoogleOidc::new(OidcConfig {
        redirect_uri: None,
        ..issuer.config(CLIENT)
    })
    .unwrap();
    let result = oidc.authorize_url().await;
    assert!(
        matches!(result, Err(OidcError::Misconfigured(_))),
        "{result:?}"
    );
    let result = oidc.exchange_code("code", "verifier", "nonce").await;
    assert!(
        matches!(result, Err(OidcError::Misconfigured(_))),
        "{result:?}"
    );
    // The client flow does not need one.
    oidc.verify_id_token(&issuer.mint_id_token(&issuer.claims(CLIENT)), None)
        .await
        .unwrap();
}

#[tokio::test]
async fn unreachable_issuer_is_unavailable() {
    let issuer = TestIssuer::start().await;
    let token = issuer.mint_id_token(&issuer.claims(CLIENT));
    let oidc = GoogleOidc::new(OidcConfig {
        issuer_url: format!("http://127.0.0.1:{}", closed_port()),
        http_timeout: Duration::from_secs(2),
        ..issuer.config(CLIENT)
    })
    .unwrap();

    let started = Instant::now();
    let result = oidc.verify_id_token(&token, None).await;
    assert!(
        matches!(result, Err(OidcError::Unavailable(_))),
        "{result:?}"
    );
    let result = oidc.authorize_url().await;
    assert!(
        matches!(result, Err(OidcError::Unavailable(_))),
        "{result:?}"
    );
    let result = oidc.exchange_code("code", "verifier", "nonce").await;
    assert!(
        matches!(result, Err(OidcError::Unavailable(_))),
        "{result:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn cached_keys_outlive_the_issuer() {
    let (issuer, oidc) = setup().await;
    let first = issuer.mint_id_token(&issuer.claims(CLIENT));
    let mut claims = issuer.claims(CLIENT);
    claims.sub = "42".into();
    let second = issuer.mint_id_token(&claims);
    oidc.verify_id_token(&first, None).await.unwrap();

    issuer.stop().await;
    // Verification needs no request once metadata and keys are cached.
    let who = oidc.verify_id_token(&second, None).await.unwrap();
    assert_eq!(who.subject, "42");
}

#[tokio::test]
async fn concurrent_first_use_discovers_once() {
    let (issuer, oidc) = setup().await;
    let token = issuer.mint_id_token(&issuer.claims(CLIENT));
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (oidc, token) = (oidc.clone(), token.clone());
            tokio::spawn(async move { oidc.verify_id_token(&token, None).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(issuer.discovery_requests(), 1);
    assert_eq!(issuer.jwks_requests(), 1);
}

#[tokio::test]
async fn issuer_url_must_match_the_discovery_document() {
    let issuer = TestIssuer::start().await;
    // Same server, but the document says `http://127.0.0.1:PORT`, without the slash.
    let oidc = GoogleOidc::new(OidcConfig {
        issuer_url: format!("{}/", issuer.issuer_url()),
        ..issuer.config(CLIENT)
    })
    .unwrap();
    let token = issuer.mint_id_token(&issuer.claims(CLIENT));
    let result = oidc.verify_id_token(&token, None).await;
    assert!(
        matches!(result, Err(OidcError::Misconfigured(_))),
        "{result:?}"
    );
}

#[test]
fn configuration_is_validated_without_io() {
    let google = OidcConfig::new(CLIENT);
    assert_eq!(google.issuer_url, oidc::GOOGLE_ISSUER_URL);
    assert_eq!(google.issuer_url, "https://accounts.google.com");
    // No runtime, no network: construction does no I/O.
    let oidc = GoogleOidc::new(google.clone()).unwrap();
    assert!(format!("{oidc:?}").contains(CLIENT));

    let bad = [
        OidcConfig::new(""),
        OidcConfig {
            issuer_url: "not a url".into(),
            ..google.clone()
        },
        OidcConfig {
            issuer_url: "http://accounts.example.com".into(),
            ..google.clone()
        },
        OidcConfig {
            redirect_uri: Some("/relative".into()),
            ..google.clone()
        },
        OidcConfig {
            http_timeout: Duration::ZERO,
            ..google.clone()
        },
    ];
    for cfg in bad {
        let result = GoogleOidc::new(cfg.clone());
        assert!(
            matches!(result, Err(OidcError::Misconfigured(_))),
            "{cfg:?} gave {result:?}"
        );
    }
    // Plain http is fine on loopback (local mocks).
    GoogleOidc::new(OidcConfig {
        issuer_url: "http://localhost:8080".into(),
        ..google
    })
    .unwrap();
}

#[test]
fn handles_and_futures_are_send_and_sync() {
    fn send_sync<T: Send + Sync + Clone + 'static>(_: &T) {}
    fn send<T: Send>(_: T) {}
    let oidc = GoogleOidc::new(OidcConfig::new(CLIENT)).unwrap();
    send_sync(&oidc);
    send(oidc.verify_id_token("x", None));
    send(oidc.authorize_url());
    send(oidc.exchange_code("c", "v", "n"));
}
