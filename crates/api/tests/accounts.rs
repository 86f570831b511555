//! Accounts through the HTTP API, on a real database (SQLite by default, PostgreSQL with
//! TEST_DATABASE_URL) with the worker delivering mail to a recording mailer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::Engine;
use reqwest::StatusCode;
use serde_json::{Value, json};
use testkit::TestApp;

const PW: &str = "correct horse battery";

async fn post(app: &TestApp, path: &str, body: Value, bearer: Option<&str>) -> reqwest::Response {
    let mut r = app.client.post(app.url(path)).json(&body);
    if let Some(t) = bearer {
        r = r.bearer_auth(t);
    }
    r.send().await.unwrap()
}

async fn me(app: &TestApp, token: &str) -> reqwest::Response {
    app.client
        .get(app.url("/api/v1/users/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

async fn register(app: &TestApp, email: &str) -> Value {
    let res = post(
        app,
        "/api/v1/auth/register",
        json!({"email": email, "password": PW, "firstName": "Marie", "lastName": "Dupont"}),
        None,
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    res.json().await.unwrap()
}

async fn problem(res: reqwest::Response, status: u16) -> Value {
    assert_eq!(res.status().as_u16(), status);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    res.json().await.unwrap()
}

/// Runs the worker, then returns the token in the last delivered link to `page`.
async fn emailed_token(app: &TestApp, page: &str) -> String {
    app.run_worker_until_idle().await;
    let mail = app
        .mailer
        .deliveries()
        .into_iter()
        .rev()
        .find(|m| m.text.contains(page))
        .unwrap_or_else(|| panic!("no email with a {page} link"));
    mail.text
        .split("token=")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn register_answers_a_session_and_the_emailed_link_verifies() {
    let app = TestApp::spawn().await;
    let body = register(&app, "  Marie.Dupont@Eglise.FR ").await;
    assert_eq!(body["tokenType"], "Bearer");
    assert_eq!(body["expiresIn"], 900);
    assert!(body["refreshToken"].as_str().unwrap().len() >= 43);
    let user = &body["user"];
    for k in [
        "id",
        "email",
        "firstName",
        "lastName",
        "role",
        "organizationId",
        "isEmailVerified",
        "avatarUrl",
    ] {
        assert!(user.get(k).is_some(), "user.{k} missing: {user}");
    }
    assert_eq!(user["email"], "marie.dupont@eglise.fr");
    assert_eq!(user["role"], "member");
    assert_eq!(user["organizationId"], Value::Null);
    assert_eq!(user["isEmailVerified"], false);

    // The email goes out through the worker, in French, with a link to the front end.
    assert!(
        app.mailer.deliveries().is_empty(),
        "never sent from inside the request"
    );
    let token = emailed_token(&app, "/fr/verify-email?token=").await;
    let mail = &app.mailer.deliveries()[0];
    assert_eq!(mail.to.email, "marie.dupont@eglise.fr");
    assert!(mail.subject.starts_with("Confirmez"));
    assert!(mail.html.as_ref().unwrap().contains("verify-email?token="));

    let res = post(
        &app,
        "/api/v1/auth/verify-email",
        json!({"token": token}),
        None,
    )
    .await;
    assert_eq!(res.status(), 204);
    let access = body["accessToken"].as_str().unwrap();
    let now: Value = me(&app, access).await.json().await.unwrap();
    assert_eq!(now["isEmailVerified"], true);

    let p = problem(
        post(
            &app,
            "/api/v1/auth/verify-email",
            json!({"token": token}),
            None,
        )
        .await,
        410,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("already been used"));
    problem(
        post(
            &app,
            "/api/v1/auth/verify-email",
            json!({"token": "nope"}),
            None,
        )
        .await,
        400,
    )
    .await;
}

#[tokio::test]
async fn english_speakers_get_english_mail() {
    let app = TestApp::spawn().await;
    let res = post(
        &app,
        "/api/v1/auth/register",
        json!({"email": "john@church.org", "password": PW, "firstName": "John", "lastName": "Smith", "locale": "en"}),
        None,
    )
    .await;
    assert_eq!(res.status(), 201);
    emailed_token(&app, "/en/verify-email?token=").await;
    assert!(
        app.mailer.deliveries()[0]
            .subject
            .starts_with("Confirm your email")
    );
}

#[tokio::test]
async fn duplicate_and_invalid_sign_ups_are_refused_with_field_errors() {
    let app = TestApp::spawn().await;
    register(&app, "a@b.fr").await;
    let p = problem(
        post(
            &app,
            "/api/v1/auth/register",
            json!({"email": " A@B.FR", "password": PW, "firstName": "X", "lastName": "Y"}),
            None,
        )
        .await,
        409,
    )
    .await;
    assert_eq!(p["code"], "conflict");

    let p = problem(
        post(
            &app,
            "/api/v1/auth/register",
            json!({"email": "nope", "password": "password", "firstName": "", "lastName": "Y"}),
            None,
        )
        .await,
        422,
    )
    .await;
    let fields: Vec<&str> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["email", "password", "firstName"]);
    assert_eq!(p["errors"][1]["code"], "too_common");

    // Wrong types and missing fields are refused before any rule runs.
    problem(
        post(&app, "/api/v1/auth/register", json!({"email": 42}), None).await,
        422,
    )
    .await;
}

#[tokio::test]
async fn login_checks_the_password_and_ignores_a_stale_bearer() {
    let app = TestApp::spawn().await;
    register(&app, "l@b.fr").await;
    // The front end sends its old Bearer token on public routes; it must not matter.
    let res = post(
        &app,
        "/api/v1/auth/login",
        json!({"email": "L@b.fr", "password": PW}),
        Some("garbage.token.here"),
    )
    .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        me(&app, body["accessToken"].as_str().unwrap())
            .await
            .status(),
        200
    );

    let wrong = problem(
        post(
            &app,
            "/api/v1/auth/login",
            json!({"email": "l@b.fr", "password": "wrong password"}),
            None,
        )
        .await,
        401,
    )
    .await;
    let unknown = problem(
        post(
            &app,
            "/api/v1/auth/login",
            json!({"email": "who@b.fr", "password": PW}),
            None,
        )
        .await,
        401,
    )
    .await;
    assert_eq!(
        wrong["detail"], unknown["detail"],
        "no hint whether the account exists"
    );
}

#[tokio::test]
async fn deactivated_accounts_get_a_clear_403() {
    use sea_orm::ConnectionTrait;
    let app = TestApp::spawn().await;
    register(&app, "off@b.fr").await;
    app.ctx
        .db
        .conn
        .execute_unprepared("UPDATE users SET is_active = false")
        .await
        .unwrap();
    let p = problem(
        post(
            &app,
            "/api/v1/auth/login",
            json!({"email": "off@b.fr", "password": PW}),
            None,
        )
        .await,
        403,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("deactivated"));
}

#[tokio::test]
async fn refresh_rotates_and_a_replayed_token_closes_the_session() {
    let app = TestApp::spawn().await;
    let first = register(&app, "r@b.fr").await;
    let old = first["refreshToken"].as_str().unwrap();
    let res = post(
        &app,
        "/api/v1/auth/refresh",
        json!({"refreshToken": old}),
        None,
    )
    .await;
    assert_eq!(res.status(), 200);
    let second: Value = res.json().await.unwrap();
    assert_ne!(second["refreshToken"], first["refreshToken"]);
    let access = second["accessToken"].as_str().unwrap();
    assert_eq!(me(&app, access).await.status(), 200);

    // Replaying the spent token: 401, and the whole session is gone.
    let p = problem(
        post(
            &app,
            "/api/v1/auth/refresh",
            json!({"refreshToken": old}),
            None,
        )
        .await,
        401,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("already used"));
    assert_eq!(me(&app, access).await.status(), 401);
    let new = second["refreshToken"].as_str().unwrap();
    problem(
        post(
            &app,
            "/api/v1/auth/refresh",
            json!({"refreshToken": new}),
            None,
        )
        .await,
        401,
    )
    .await;
    problem(
        post(
            &app,
            "/api/v1/auth/refresh",
            json!({"refreshToken": "made-up"}),
            None,
        )
        .await,
        401,
    )
    .await;
}

#[tokio::test]
async fn two_logins_in_the_same_second_are_separate_sessions() {
    let app = TestApp::spawn().await;
    register(&app, "twice@b.fr").await;
    let (a, b) = tokio::join!(
        post(
            &app,
            "/api/v1/auth/login",
            json!({"email": "twice@b.fr", "password": PW}),
            None
        ),
        post(
            &app,
            "/api/v1/auth/login",
            json!({"email": "twice@b.fr", "password": PW}),
            None
        ),
    );
    let a: Value = a.json().await.unwrap();
    let b: Value = b.json().await.unwrap();
    assert_ne!(a["refreshToken"], b["refreshToken"]);
    assert_ne!(a["accessToken"], b["accessToken"]);
    // Logging one out leaves the other.
    let res = post(
        &app,
        "/api/v1/auth/logout",
        Value::Null,
        a["accessToken"].as_str(),
    )
    .await;
    assert_eq!(res.status(), 204);
    assert_eq!(
        me(&app, a["accessToken"].as_str().unwrap()).await.status(),
        401
    );
    assert_eq!(
        me(&app, b["accessToken"].as_str().unwrap()).await.status(),
        200
    );
    // logout-all ends the rest.
    let res = post(
        &app,
        "/api/v1/auth/logout-all",
        Value::Null,
        b["accessToken"].as_str(),
    )
    .await;
    assert_eq!(res.status(), 204);
    assert_eq!(
        me(&app, b["accessToken"].as_str().unwrap()).await.status(),
        401
    );
}

#[tokio::test]
async fn forgot_and_reset_password() {
    let app = TestApp::spawn().await;
    let session = register(&app, "f@b.fr").await;
    app.run_worker_until_idle().await;
    app.mailer.clear();

    // Same answer for an unknown address; only the real one gets mail.
    for email in ["nobody@b.fr", "F@b.fr"] {
        let res = post(
            &app,
            "/api/v1/auth/forgot-password",
            json!({"email": email}),
            None,
        )
        .await;
        assert_eq!(res.status(), 202);
        assert_eq!(res.content_length(), Some(0));
    }
    let token = emailed_token(&app, "/fr/reset-password?token=").await;
    assert_eq!(app.mailer.deliveries().len(), 1);

    let p = problem(
        post(
            &app,
            "/api/v1/auth/reset-password",
            json!({"token": token, "newPassword": "123"}),
            None,
        )
        .await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "newPassword");
    let res = post(
        &app,
        "/api/v1/auth/reset-password",
        json!({"token": token, "newPassword": "a brand new passphrase"}),
        None,
    )
    .await;
    assert_eq!(res.status(), 204);
    problem(
        post(
            &app,
            "/api/v1/auth/reset-password",
            json!({"token": token, "newPassword": "another passphrase"}),
            None,
        )
        .await,
        410,
    )
    .await;

    // Every earlier session ended; the new password works, the old one does not.
    assert_eq!(
        me(&app, session["accessToken"].as_str().unwrap())
            .await
            .status(),
        401
    );
    problem(
        post(
            &app,
            "/api/v1/auth/login",
            json!({"email": "f@b.fr", "password": PW}),
            None,
        )
        .await,
        401,
    )
    .await;
    assert_eq!(
        post(
            &app,
            "/api/v1/auth/login",
            json!({"email": "f@b.fr", "password": "a brand new passphrase"}),
            None
        )
        .await
        .status(),
        200
    );
}

fn b64(v: &Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
}

#[tokio::test]
async fn bad_access_tokens_are_401s() {
    let app = TestApp::spawn().await;
    let body = register(&app, "t@b.fr").await;
    let good = body["accessToken"].as_str().unwrap();
    let parts: Vec<&str> = good.split('.').collect();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(parts[1])
            .unwrap(),
    )
    .unwrap();
    for k in ["sub", "role", "sid", "jti", "iat", "exp", "iss", "aud"] {
        assert!(claims.get(k).is_some(), "claim {k} missing");
    }
    assert!(claims.get("org").is_some());

    let alg_none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        parts[1]
    );
    let other_key = {
        use jsonwebtoken::{EncodingKey, Header, encode};
        encode(
            &Header::default(),
            &claims,
            &EncodingKey::from_secret(b"another key entirely"),
        )
        .unwrap()
    };
    let expired = {
        use jsonwebtoken::{EncodingKey, Header, encode};
        let mut c = claims.clone();
        c["exp"] = json!(chrono::Utc::now().timestamp() - 3600);
        encode(
            &Header::default(),
            &c,
            &EncodingKey::from_secret(testkit::TEST_SECRET_KEY.as_bytes()),
        )
        .unwrap()
    };
    let wrong_aud = {
        use jsonwebtoken::{EncodingKey, Header, encode};
        let mut c = claims.clone();
        c["aud"] = json!("someone-else");
        encode(
            &Header::default(),
            &c,
            &EncodingKey::from_secret(testkit::TEST_SECRET_KEY.as_bytes()),
        )
        .unwrap()
    };
    for (name, token) in [
        ("alg none", alg_none.as_str()),
        ("other key", other_key.as_str()),
        ("expired", expired.as_str()),
        ("wrong audience", wrong_aud.as_str()),
        ("garbage", "not-a-jwt"),
    ] {
        let p = problem(me(&app, token).await, 401).await;
        assert_eq!(p["code"], "unauthorized", "{name}");
    }
    let p = problem(
        app.client
            .get(app.url("/api/v1/users/me"))
            .send()
            .await
            .unwrap(),
        401,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("Bearer"));
    assert_eq!(me(&app, good).await.status(), 200);
}

#[tokio::test]
async fn profile_read_and_update_also_without_the_prefix() {
    let app = TestApp::spawn().await;
    let body = register(&app, "p@b.fr").await;
    let token = body["accessToken"].as_str().unwrap();
    // The front end calls /users/me without /api/v1.
    let res = app
        .client
        .get(app.url("/users/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["email"], "p@b.fr");

    let res = app
        .client
        .patch(app.url("/users/me"))
        .bearer_auth(token)
        .json(
            &json!({"firstName": " Marie-Claire ", "phone": "+33 6 12 34 56 78", "locale": "en",
                      "notificationPreferences": {"rota_published": false}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let u: Value = res.json().await.unwrap();
    assert_eq!(u["firstName"], "Marie-Claire");
    assert_eq!(u["lastName"], "Dupont", "absent fields are kept");
    assert_eq!(u["phone"], "+33612345678");
    assert_eq!(u["locale"], "en");
    assert_eq!(u["notificationPreferences"]["rota_published"], false);

    let res = app
        .client
        .patch(app.url("/api/v1/users/me"))
        .bearer_auth(token)
        .json(&json!({"phone": "0612345678", "locale": "de"}))
        .send()
        .await
        .unwrap();
    let p = problem(res, 422).await;
    // Every invalid field is reported, each with its own code.
    let fields: Vec<(&str, &str)> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["field"].as_str().unwrap(), e["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        fields,
        [("phone", "invalid_phone"), ("locale", "invalid_choice")]
    );
    let res = app
        .client
        .patch(app.url("/api/v1/users/me"))
        .bearer_auth(token)
        .json(&json!({"phone": "0612345678"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem(res, 422).await["errors"][0]["code"],
        "invalid_phone"
    );
    let res = app
        .client
        .patch(app.url("/api/v1/users/me"))
        .bearer_auth(token)
        .json(&json!({"phone": null}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["phone"], Value::Null);
}

#[tokio::test]
async fn changing_the_password_ends_other_sessions_and_keeps_this_device_signed_in() {
    let app = TestApp::spawn().await;
    let first = register(&app, "c@b.fr").await;
    let token = first["accessToken"].as_str().unwrap();
    let res = post(
        &app,
        "/api/v1/users/me/password",
        json!({"currentPassword": "nope nope nope", "newPassword": "a new passphrase"}),
        Some(token),
    )
    .await;
    assert_eq!(problem(res, 400).await["code"], "wrong_password");
    let res = post(
        &app,
        "/api/v1/users/me/password",
        json!({"currentPassword": PW, "newPassword": "a new passphrase"}),
        Some(token),
    )
    .await;
    assert_eq!(res.status(), 200);
    let fresh: Value = res.json().await.unwrap();
    assert_eq!(me(&app, token).await.status(), 401);
    assert_eq!(
        me(&app, fresh["accessToken"].as_str().unwrap())
            .await
            .status(),
        200
    );
    problem(
        post(
            &app,
            "/api/v1/auth/refresh",
            json!({"refreshToken": first["refreshToken"]}),
            None,
        )
        .await,
        401,
    )
    .await;
}

#[tokio::test]
async fn auth_endpoints_are_rate_limited_with_retry_after() {
    let app = TestApp::spawn_with(&[("RATE_LIMIT_AUTH_PER_MINUTE", "3")]).await;
    for _ in 0..3 {
        let res = post(
            &app,
            "/api/v1/auth/login",
            json!({"email": "x@b.fr", "password": "whatever it is"}),
            None,
        )
        .await;
        assert_eq!(res.status(), 401);
    }
    let res = post(
        &app,
        "/api/v1/auth/login",
        json!({"email": "x@b.fr", "password": "whatever it is"}),
        None,
    )
    .await;
    assert_eq!(res.status(), 429);
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry));
    assert_eq!(problem(res, 429).await["code"], "rate_limited");
}

#[tokio::test]
async fn rate_limits_hold_when_redis_is_down() {
    // A Redis that does not answer: the limiter counts in process; nothing fails because of it.
    let app = TestApp::spawn_with(&[
        ("RATE_LIMIT_AUTH_PER_MINUTE", "2"),
        ("REDIS_URL", "redis://127.0.0.1:1"),
    ])
    .await;
    for expected in [401, 401, 429] {
        let res = post(
            &app,
            "/api/v1/auth/login",
            json!({"email": "y@b.fr", "password": "whatever it is"}),
            None,
        )
        .await;
        assert_eq!(res.status().as_u16(), expected);
    }
}

#[tokio::test]
async fn data_export_and_account_deletion() {
    use sea_orm::ConnectionTrait;
    let app = TestApp::spawn().await;
    let body = register(&app, "gdpr@b.fr").await;
    let token = body["accessToken"].as_str().unwrap();
    let res = app
        .client
        .get(app.url("/api/v1/users/me/data-export"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    let export: Value = res.json().await.unwrap();
    assert_eq!(export["user"]["email"], "gdpr@b.fr");
    assert_eq!(export["hasPassword"], true);
    assert_eq!(export["sessions"].as_array().unwrap().len(), 1);
    assert_eq!(export["sessions"][0]["method"], "password");

    // Deleting needs the password.
    let del = |body: Value| {
        app.client
            .delete(app.url("/api/v1/users/me"))
            .bearer_auth(token)
            .json(&body)
            .send()
    };
    assert_eq!(
        problem(del(json!({})).await.unwrap(), 403).await["code"],
        "forbidden"
    );
    assert_eq!(
        problem(
            del(json!({"password": "wrong password"})).await.unwrap(),
            400
        )
        .await["code"],
        "wrong_password"
    );
    assert_eq!(del(json!({"password": PW})).await.unwrap().status(), 204);

    // Gone: the session, the account, the ability to sign in; the email can register again.
    assert_eq!(me(&app, token).await.status(), 401);
    problem(
        post(
            &app,
            "/api/v1/auth/login",
            json!({"email": "gdpr@b.fr", "password": PW}),
            None,
        )
        .await,
        401,
    )
    .await;
    let rows = app
        .ctx
        .db
        .conn
        .query_one_raw(sea_orm::Statement::from_string(
            app.ctx.db.conn.get_database_backend(),
            "SELECT (SELECT COUNT(*) FROM users) + (SELECT COUNT(*) FROM sessions) + (SELECT COUNT(*) FROM refresh_tokens) + (SELECT COUNT(*) FROM one_time_tokens) AS n",
        ))
        .await
        .unwrap()
        .unwrap();
    let n: i64 = rows.try_get("", "n").unwrap();
    assert_eq!(n, 0, "nothing of the account is left");
    register(&app, "gdpr@b.fr").await;
}

#[tokio::test]
async fn expired_links_and_refresh_tokens_are_refused() {
    use sea_orm::ConnectionTrait;
    let app = TestApp::spawn().await;
    let session = register(&app, "exp@b.fr").await;
    let verify = emailed_token(&app, "verify-email?token=").await;
    post(
        &app,
        "/api/v1/auth/forgot-password",
        json!({"email": "exp@b.fr"}),
        None,
    )
    .await;
    let reset = emailed_token(&app, "reset-password?token=").await;
    for sql in [
        "UPDATE one_time_tokens SET expires_at = 0",
        "UPDATE refresh_tokens SET expires_at = 0",
    ] {
        app.ctx.db.conn.execute_unprepared(sql).await.unwrap();
    }
    let p = problem(
        post(
            &app,
            "/api/v1/auth/verify-email",
            json!({"token": verify}),
            None,
        )
        .await,
        410,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("expired"));
    problem(
        post(
            &app,
            "/api/v1/auth/reset-password",
            json!({"token": reset, "newPassword": "a fine new passphrase"}),
            None,
        )
        .await,
        410,
    )
    .await;
    problem(
        post(
            &app,
            "/api/v1/auth/refresh",
            json!({"refreshToken": session["refreshToken"]}),
            None,
        )
        .await,
        401,
    )
    .await;
}

#[tokio::test]
async fn forgot_password_refuses_what_is_not_an_address() {
    let app = TestApp::spawn().await;
    let p = problem(
        post(
            &app,
            "/api/v1/auth/forgot-password",
            json!({"email": "not an address"}),
            None,
        )
        .await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "email");
    assert_eq!(
        app.ctx.jobs.counts().await.unwrap().pending,
        0,
        "nothing queued"
    );
}

#[tokio::test]
async fn behind_a_proxy_each_client_address_has_its_own_limit_and_spoofing_is_ignored_otherwise() {
    let attempt = |app: &TestApp, ip: &'static str, email: &'static str| {
        app.client
            .post(app.url("/api/v1/auth/register"))
            .header("X-Forwarded-For", ip)
            // Well-formed but invalid (short password): reaches the limiter, then 422.
            .json(&json!({"email": email, "password": "x", "firstName": "A", "lastName": "B"}))
            .send()
    };
    // Trusted proxy: two clients, one request each, neither limited.
    let proxied = TestApp::spawn_with(&[
        ("RATE_LIMIT_AUTH_PER_MINUTE", "1"),
        ("TRUST_PROXY_HEADERS", "true"),
    ])
    .await;
    assert_eq!(
        attempt(&proxied, "203.0.113.1", "a@b.fr")
            .await
            .unwrap()
            .status(),
        422
    );
    assert_eq!(
        attempt(&proxied, "203.0.113.2", "c@b.fr")
            .await
            .unwrap()
            .status(),
        422
    );
    assert_eq!(
        attempt(&proxied, "203.0.113.1", "d@b.fr")
            .await
            .unwrap()
            .status(),
        429
    );
    // No proxy configured: a forged header does not buy a fresh limit.
    let direct = TestApp::spawn_with(&[("RATE_LIMIT_AUTH_PER_MINUTE", "1")]).await;
    assert_eq!(
        attempt(&direct, "203.0.113.1", "a@b.fr")
            .await
            .unwrap()
            .status(),
        422
    );
    assert_eq!(
        attempt(&direct, "203.0.113.2", "c@b.fr")
            .await
            .unwrap()
            .status(),
        429
    );
}
