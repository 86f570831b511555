//! An in-process OpenID Connect issuer for tests (feature `testing`).
//!
//! [`TestIssuer::start`] serves, on `127.0.0.1` with a random port:
//! - `GET /.well-known/openid-configuration` — discovery, `issuer` = [`TestIssuer::issuer_url`];
//! - `GET /jwks` — the published RSA-2048 public keys;
//! - `POST /token` — `grant_type=authorization_code` for codes registered with
//!   [`TestIssuer::prepare_code`], checking the PKCE `code_verifier` (S256) and, if asked, the
//!   client credentials; answers with an access token and an RS256 ID token (with `at_hash`).
//!
//! Tokens are minted with [`TestIssuer::mint_id_token`] and friends, including deliberately bad
//! ones (foreign key, `alg: none`, any header). [`TestIssuer::rotate_keys`] switches to a new
//! signing key. `/authorize` is advertised but not served: tests take `state`, `nonce` and the
//! PKCE challenge from [`AuthorizeRequest::url`](crate::AuthorizeRequest) themselves.
//!
//! ```no_run
//! # async fn demo() {
//! use oidc::testing::TestIssuer;
//! let issuer = TestIssuer::start().await;
//! let oidc = oidc::GoogleOidc::new(issuer.config("my-client")).unwrap();
//! let token = issuer.mint_id_token(&issuer.claims("my-client"));
//! let who = oidc.verify_id_token(&token, None).await.unwrap();
//! assert_eq!(who.email, "ada@example.com");
//! # }
//! ```
//!
//! RSA key generation is slow in debug builds, so keys come from a process-wide pool: each is
//! generated once per test binary and shared by all issuers (each issuer still has its own URL,
//! so tokens of one issuer never verify against another).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::http::{KeepAlive, header};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rsa::pkcs1v15::SigningKey;
use rsa::signature::{SignatureEncoding as _, Signer as _};
use rsa::traits::PublicKeyParts as _;
use rsa::{RsaPrivateKey, rand_core::OsRng};
use serde_json::{Map, Value, json};
use sha2::{Digest as _, Sha256};

use crate::OidcConfig;

/// The redirect URI [`TestIssuer::config`] configures (nothing listens there).
pub const TEST_REDIRECT_URI: &str = "http://127.0.0.1:9/auth/callback";

/// Claims of a minted ID token. Start from [`TestIssuer::claims`] and change what the test needs.
#[derive(Clone, Debug)]
pub struct Claims {
    /// `iss`.
    pub iss: String,
    /// `sub`.
    pub sub: String,
    /// `aud` (a single audience; put an array in `extra["aud"]` for several).
    pub aud: String,
    /// `email`, omitted when `None`.
    pub email: Option<String>,
    /// `email_verified`, omitted when `None`.
    pub email_verified: Option<bool>,
    /// `given_name`, omitted when `None`.
    pub given_name: Option<String>,
    /// `family_name`, omitted when `None`.
    pub family_name: Option<String>,
    /// `picture`, omitted when `None`.
    pub picture: Option<String>,
    /// `nonce`, omitted when `None`.
    pub nonce: Option<String>,
    /// `exp` = now + this many seconds (negative: already expired).
    pub exp_offset: i64,
    /// `iat` = now + this many seconds.
    pub iat_offset: i64,
    /// Added last, overriding the fields above (e.g. `"email_verified": "true"`).
    pub extra: Map<String, Value>,
}

impl Claims {
    /// The JWT payload.
    pub fn to_json(&self) -> Value {
        let now = chrono::Utc::now().timestamp();
        let mut payload = Map::new();
        payload.insert("iss".into(), self.iss.clone().into());
        payload.insert("sub".into(), self.sub.clone().into());
        payload.insert("aud".into(), self.aud.clone().into());
        payload.insert("azp".into(), self.aud.clone().into());
        payload.insert("iat".into(), (now + self.iat_offset).into());
        payload.insert("exp".into(), (now + self.exp_offset).into());
        let optional = [
            ("email", self.email.clone().map(Value::from)),
            ("email_verified", self.email_verified.map(Value::from)),
            ("given_name", self.given_name.clone().map(Value::from)),
            ("family_name", self.family_name.clone().map(Value::from)),
            ("picture", self.picture.clone().map(Value::from)),
            ("nonce", self.nonce.clone().map(Value::from)),
        ];
        for (name, value) in optional {
            if let Some(value) = value {
                payload.insert(name.into(), value);
            }
        }
        payload.extend(self.extra.clone());
        Value::Object(payload)
    }
}

/// What a client sent to `POST /token`, for assertions.
#[derive(Clone, Debug)]
pub struct TokenRequest {
    /// `client_secret_basic`, `client_secret_post` or `none`.
    pub auth_method: String,
    /// Client ID, from the `Authorization` header or the form.
    pub client_id: Option<String>,
    /// Client secret, from the `Authorization` header or the form.
    pub client_secret: Option<String>,
    /// The form fields (`grant_type`, `code`, `redirect_uri`, `code_verifier`…).
    pub form: HashMap<String, String>,
}

/// A running test issuer; stopped on drop (or with [`TestIssuer::stop`]).
pub struct TestIssuer {
    shared: Arc<Shared>,
    handle: ServerHandle,
}

struct Shared {
    base_url: String,
    state: Mutex<State>,
}

struct State {
    /// Keys served by `/jwks`.
    published: Vec<Arc<TestKey>>,
    /// Key signing new tokens (always published).
    current: Arc<TestKey>,
    /// Never published.
    foreign: Arc<TestKey>,
    next_key: usize,
    codes: HashMap<String, PreparedCode>,
    token_auth_methods: Vec<String>,
    client_credentials: Option<(String, String)>,
    token_requests: Vec<TokenRequest>,
    discovery_requests: usize,
    jwks_requests: usize,
}

struct PreparedCode {
    claims: Claims,
    pkce_challenge: Option<String>,
}

struct TestKey {
    kid: String,
    signer: SigningKey<Sha256>,
    jwk: Value,
}

impl TestKey {
    fn new(index: usize) -> Self {
        let private = pooled_key(index);
        let kid = format!("test-key-{index}");
        let public = private.to_public_key();
        let jwk = json!({
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": kid,
            "n": URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
        });
        Self {
            kid,
            signer: SigningKey::<Sha256>::new(private),
            jwk,
        }
    }

    /// `header.payload.signature`, RS256 whatever the header says.
    fn sign(&self, header: &Value, payload: &Value) -> String {
        let signing_input = format!("{}.{}", b64_json(header), b64_json(payload));
        let signature = self.signer.sign(signing_input.as_bytes());
        format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature.to_bytes())
        )
    }

    fn header(&self) -> Value {
        json!({ "alg": "RS256", "kid": self.kid, "typ": "JWT" })
    }
}

/// Process-wide RSA keys, generated on first use (about a second each in debug builds).
fn pooled_key(index: usize) -> RsaPrivateKey {
    static POOL: Mutex<Vec<RsaPrivateKey>> = Mutex::new(Vec::new());
    let mut pool = POOL.lock().unwrap_or_else(PoisonError::into_inner);
    while pool.len() <= index {
        let key = RsaPrivateKey::new(&mut OsRng, 2048).expect("RSA key generation");
        pool.push(key);
    }
    pool[index].clone()
}

fn b64_json(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).expect("JSON"))
}

/// The PKCE S256 challenge of a code verifier: `BASE64URL(SHA256(verifier))`.
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// `at_hash` of an RS256 ID token: left half of SHA-256 of the access token, base64url.
fn at_hash(access_token: &str) -> String {
    let digest = Sha256::digest(access_token.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2])
}

impl TestIssuer {
    /// Starts an issuer on `127.0.0.1:0` with one published key.
    ///
    /// Needs a Tokio runtime (the server's command loop is spawned on it; connections are served
    /// by actix-web worker threads).
    pub async fn start() -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let port = listener.local_addr().expect("local address").port();
        let (current, foreign) = tokio::task::spawn_blocking(|| (TestKey::new(0), TestKey::new(1)))
            .await
            .expect("key generation");
        let current = Arc::new(current);
        let shared = Arc::new(Shared {
            base_url: format!("http://127.0.0.1:{port}"),
            state: Mutex::new(State {
                published: vec![current.clone()],
                current,
                foreign: Arc::new(foreign),
                next_key: 2,
                codes: HashMap::new(),
                token_auth_methods: vec!["client_secret_basic".into(), "client_secret_post".into()],
                client_credentials: None,
                token_requests: Vec::new(),
                discovery_requests: 0,
                jwks_requests: 0,
            }),
        });
        let data = web::Data::from(shared.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route(
                    "/.well-known/openid-configuration",
                    web::get().to(discovery),
                )
                .route("/jwks", web::get().to(jwks))
                .route("/token", web::post().to(token))
        })
        .workers(1)
        // Close each connection after its response: a pooled client connection that the
        // server's keep-alive timer closes just as it is reused fails the request ("connection
        // closed before message completed"), which would make tests flaky.
        .keep_alive(KeepAlive::Disabled)
        .disable_signals()
        .shutdown_timeout(0)
        .listen(listener)
        .expect("listen")
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Self { shared, handle }
    }

    /// The issuer identifier, `http://127.0.0.1:PORT` (no trailing slash).
    pub fn issuer_url(&self) -> &str {
        &self.shared.base_url
    }

    /// A configuration for this issuer: `client_id`, no secret, [`TEST_REDIRECT_URI`], 5 s
    /// timeout.
    pub fn config(&self, client_id: &str) -> OidcConfig {
        OidcConfig {
            issuer_url: self.shared.base_url.clone(),
            client_id: client_id.to_owned(),
            client_secret: None,
            redirect_uri: Some(TEST_REDIRECT_URI.to_owned()),
            http_timeout: Duration::from_secs(5),
        }
    }

    /// Valid claims for `client_id`: Ada Lovelace, verified e-mail `ada@example.com`, sub
    /// `110169484474386276334`, expiring in an hour, no nonce.
    pub fn claims(&self, client_id: &str) -> Claims {
        Claims {
            iss: self.shared.base_url.clone(),
            sub: "110169484474386276334".into(),
            aud: client_id.to_owned(),
            email: Some("ada@example.com".into()),
            email_verified: Some(true),
            given_name: Some("Ada".into()),
            family_name: Some("Lovelace".into()),
            picture: Some("https://example.com/ada.png".into()),
            nonce: None,
            exp_offset: 3600,
            iat_offset: 0,
            extra: Map::new(),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.shared.state()
    }

    /// An RS256 ID token signed with the current key.
    pub fn mint_id_token(&self, claims: &Claims) -> String {
        let key = self.state().current.clone();
        key.sign(&key.header(), &claims.to_json())
    }

    /// An ID token signed with a key that is never published; its header names `kid`, or the
    /// current key's ID when `None` (so only the signature is wrong).
    pub fn mint_with_foreign_key(&self, claims: &Claims, kid: Option<&str>) -> String {
        let (foreign, current_kid) = {
            let state = self.state();
            (state.foreign.clone(), state.current.kid.clone())
        };
        let header = json!({ "alg": "RS256", "kid": kid.unwrap_or(&current_kid), "typ": "JWT" });
        foreign.sign(&header, &claims.to_json())
    }

    /// An unsigned token: `{"alg":"none"}` and an empty signature.
    pub fn mint_unsigned(&self, claims: &Claims) -> String {
        format!(
            "{}.{}.",
            b64_json(&json!({ "alg": "none", "typ": "JWT" })),
            b64_json(&claims.to_json())
        )
    }

    /// A token with the given JOSE header, signed RS256 with the current key whatever the
    /// header says (for algorithm-confusion and `kid` tests).
    pub fn mint_with_header(&self, claims: &Claims, header: Value) -> String {
        let key = self.state().current.clone();
        key.sign(&header, &claims.to_json())
    }

    /// The `kid` of the current signing key.
    pub fn current_kid(&self) -> String {
        self.state().current.kid.clone()
    }

    /// Switches to a new signing key and returns its `kid`. The JWKS then serves the new key
    /// and, if `keep_old`, the previously published ones too.
    pub fn rotate_keys(&self, keep_old: bool) -> String {
        let index = {
            let mut state = self.state();
            state.next_key += 1;
            state.next_key - 1
        };
        let key = Arc::new(TestKey::new(index));
        let mut state = self.state();
        if !keep_old {
            state.published.clear();
        }
        state.published.push(key.clone());
        state.current = key;
        state.current.kid.clone()
    }

    /// Registers an authorization code: `POST /token` with it (once) returns an ID token for
    /// `claims` (set `claims.nonce` to the nonce of the authorization request). With
    /// `pkce_challenge`, the request's `code_verifier` must match it (S256).
    pub fn prepare_code(&self, code: &str, claims: Claims, pkce_challenge: Option<&str>) {
        self.state().codes.insert(
            code.to_owned(),
            PreparedCode {
                claims,
                pkce_challenge: pkce_challenge.map(str::to_owned),
            },
        );
    }

    /// Sets `token_endpoint_auth_methods_supported` in the discovery document (default:
    /// `client_secret_basic`, `client_secret_post`). Clients read it at discovery.
    pub fn set_token_auth_methods(&self, methods: &[&str]) {
        self.state().token_auth_methods = methods.iter().map(|m| (*m).to_owned()).collect();
    }

    /// Makes `POST /token` require these client credentials (basic or post), answering
    /// `invalid_client` otherwise. By default any client is accepted.
    pub fn require_client_credentials(&self, client_id: &str, client_secret: &str) {
        self.state().client_credentials = Some((client_id.to_owned(), client_secret.to_owned()));
    }

    /// Requests received by `POST /token`, oldest first.
    pub fn token_requests(&self) -> Vec<TokenRequest> {
        self.state().token_requests.clone()
    }

    /// How many times the discovery document was served.
    pub fn discovery_requests(&self) -> usize {
        self.state().discovery_requests
    }

    /// How many times the JWKS was served.
    pub fn jwks_requests(&self) -> usize {
        self.state().jwks_requests
    }

    /// Stops the server and waits until it no longer accepts connections.
    pub async fn stop(self) {
        self.handle.stop(false).await;
    }
}

impl Drop for TestIssuer {
    fn drop(&mut self) {
        // Sends the command now; the server task (or the runtime's shutdown) carries it out.
        drop(self.handle.stop(false));
    }
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

async fn discovery(shared: web::Data<Shared>) -> HttpResponse {
    let base = &shared.base_url;
    let auth_methods = {
        let mut state = shared.state();
        state.discovery_requests += 1;
        state.token_auth_methods.clone()
    };
    HttpResponse::Ok().json(json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "jwks_uri": format!("{base}/jwks"),
        "response_types_supported": ["code", "id_token", "code id_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "email", "profile"],
        "token_endpoint_auth_methods_supported": auth_methods,
        "claims_supported": ["aud", "email", "email_verified", "exp", "family_name", "given_name",
            "iat", "iss", "name", "picture", "sub"],
        "code_challenge_methods_supported": ["plain", "S256"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
    }))
}

async fn jwks(shared: web::Data<Shared>) -> HttpResponse {
    let keys: Vec<Value> = {
        let mut state = shared.state();
        state.jwks_requests += 1;
        state.published.iter().map(|k| k.jwk.clone()).collect()
    };
    HttpResponse::Ok().json(json!({ "keys": keys }))
}

fn oauth_error(status: u16, error: &str, description: &str) -> HttpResponse {
    let status = actix_web::http::StatusCode::from_u16(status).expect("valid status code");
    let mut response = HttpResponse::build(status);
    if status == actix_web::http::StatusCode::UNAUTHORIZED {
        response.insert_header((header::WWW_AUTHENTICATE, "Basic realm=\"test-issuer\""));
    }
    response.json(json!({ "error": error, "error_description": description }))
}

/// Client credentials from `Authorization: Basic` (RFC 6749 §2.3.1: form-urlencoded, then
/// base64) or from the form.
fn client_auth(
    request: &HttpRequest,
    form: &HashMap<String, String>,
) -> (String, Option<String>, Option<String>) {
    let basic = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b64| STANDARD.decode(b64.trim()).ok())
        .and_then(|raw| String::from_utf8(raw).ok());
    if let Some(pair) = basic {
        let decode = |s: &str| {
            openidconnect::url::form_urlencoded::parse(s.as_bytes())
                .next()
                .map(|(k, _)| k.into_owned())
                .unwrap_or_default()
        };
        let (id, secret) = pair.split_once(':').unwrap_or((pair.as_str(), ""));
        return (
            "client_secret_basic".into(),
            Some(decode(id)),
            Some(decode(secret)),
        );
    }
    let secret = form.get("client_secret").cloned();
    let method = if secret.is_some() {
        "client_secret_post"
    } else {
        "none"
    };
    (method.into(), form.get("client_id").cloned(), secret)
}

async fn token(
    shared: web::Data<Shared>,
    request: HttpRequest,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let form = form.into_inner();
    let (auth_method, client_id, client_secret) = client_auth(&request, &form);
    let mut state = shared.state();
    state.token_requests.push(TokenRequest {
        auth_method,
        client_id: client_id.clone(),
        client_secret: client_secret.clone(),
        form: form.clone(),
    });
    if let Some((id, secret)) = &state.client_credentials
        && (client_id.as_ref() != Some(id) || client_secret.as_ref() != Some(secret))
    {
        return oauth_error(401, "invalid_client", "unknown client or wrong secret");
    }
    if form.get("grant_type").map(String::as_str) != Some("authorization_code") {
        return oauth_error(400, "unsupported_grant_type", "only authorization_code");
    }
    let Some(code) = form.get("code").and_then(|c| state.codes.remove(c)) else {
        return oauth_error(400, "invalid_grant", "unknown or already used code");
    };
    if let Some(challenge) = &code.pkce_challenge {
        let verifier = form.get("code_verifier").map(String::as_str).unwrap_or("");
        if pkce_challenge(verifier) != *challenge {
            return oauth_error(400, "invalid_grant", "PKCE verification failed");
        }
    }
    let access_token = format!("test-access-{}", URL_SAFE_NO_PAD.encode(rand_bytes()));
    let mut claims = code.claims;
    claims
        .extra
        .entry("at_hash")
        .or_insert_with(|| at_hash(&access_token).into());
    let key = state.current.clone();
    drop(state);
    let id_token = key.sign(&key.header(), &claims.to_json());
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": 3599,
            "scope": "openid email profile",
            "id_token": id_token,
        }))
}

fn rand_bytes() -> [u8; 16] {
    use rsa::rand_core::RngCore as _;
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    bytes
}
