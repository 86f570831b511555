//! Authentication and rate limiting, in one place.
//!
//! * Access tokens are JWTs signed with `SECRET_KEY` (`JWT_ALGORITHM`, HMAC), carrying `sub`,
//!   `org`, `role`, `sid` (the session), `jti`, `iat`, `exp`, `iss`, `aud`; validation pins
//!   the algorithm, the issuer and the audience, with 30 s of leeway.
//! * [`AuthUser`] is the extractor of every authenticated route: a valid token whose session
//!   is still live (one query that also loads the user), then the per-user rate limit.
//!   Public routes simply do not use it, so a stale Bearer header never makes them fail.
//! * [`limit`] counts a hit against `RATE_LIMIT_*`; with Redis the counters are shared by
//!   every API instance; if Redis does not answer, each instance counts in process
//!   (`kv::RateLimiter`), so limits still hold per instance and nothing fails because of it.

use crate::ApiError;
use accounts::{SessionId, User};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use app::{AppContext, Settings};
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use kv::RateDecision;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

pub const ISSUER: &str = "monservice";
pub const AUDIENCE: &str = "monservice-api";

/// The claims of an access token.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub org: Option<String>,
    pub role: String,
    pub sid: String,
    pub jti: String,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
    pub aud: String,
}

fn algorithm(settings: &Settings) -> Algorithm {
    match settings.jwt_algorithm.as_str() {
        "HS384" => Algorithm::HS384,
        "HS512" => Algorithm::HS512,
        _ => Algorithm::HS256,
    }
}

/// Mints an access token for a session.
pub fn access_token(
    settings: &Settings,
    user: &User,
    session: SessionId,
    now: DateTime<Utc>,
) -> Result<String, ApiError> {
    let ttl = i64::try_from(settings.access_token_ttl.as_secs()).unwrap_or(900);
    let claims = Claims {
        sub: user.id.to_string(),
        org: user.organization_id.map(|o| o.to_string()),
        role: user.role.as_str().to_string(),
        sid: session.to_string(),
        jti: uuid::Uuid::new_v4().to_string(),
        iat: now.timestamp(),
        exp: now.timestamp() + ttl,
        iss: ISSUER.into(),
        aud: AUDIENCE.into(),
    };
    jsonwebtoken::encode(
        &Header::new(algorithm(settings)),
        &claims,
        &EncodingKey::from_secret(settings.secret_key.expose_secret().as_bytes()),
    )
    .map_err(|e| ApiError::Internal(format!("cannot sign a token: {e}")))
}

/// Checks an access token's signature, algorithm, issuer, audience and expiry.
pub fn decode(settings: &Settings, token: &str) -> Result<Claims, ApiError> {
    let mut v = Validation::new(algorithm(settings));
    v.leeway = 30;
    v.set_issuer(&[ISSUER]);
    v.set_audience(&[AUDIENCE]);
    v.set_required_spec_claims(&["exp", "iat", "sub", "iss", "aud"]);
    jsonwebtoken::decode::<Claims>(
        token,
        &DecodingKey::from_secret(settings.secret_key.expose_secret().as_bytes()),
        &v,
    )
    .map(|d| d.claims)
    .map_err(|e| {
        use jsonwebtoken::errors::ErrorKind;
        match e.kind() {
            ErrorKind::ExpiredSignature => {
                ApiError::Unauthorized("The access token has expired.".into())
            }
            _ => ApiError::Unauthorized("The access token is invalid.".into()),
        }
    })
}

/// The signed-in user of a request.
pub struct AuthUser {
    pub user: User,
    pub session: SessionId,
}

fn bearer(req: &HttpRequest) -> Option<&str> {
    let h = req.headers().get(actix_web::http::header::AUTHORIZATION)?;
    let v = h.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let ctx = req.app_data::<web::Data<AppContext>>().cloned();
        let token = bearer(req).map(str::to_string);
        Box::pin(async move {
            let ctx = ctx.ok_or_else(|| ApiError::Internal("no app context".into()))?;
            let token = token.ok_or_else(|| {
                ApiError::Unauthorized("Sign in first: no Bearer token was sent.".into())
            })?;
            let claims = decode(&ctx.settings, &token)?;
            let session: SessionId = claims
                .sid
                .parse()
                .map_err(|_| ApiError::Unauthorized("The access token is invalid.".into()))?;
            let now = ctx.clock.now();
            let user = ctx
                .accounts
                .session_user(session, now)
                .await
                .map_err(|e| match e {
                    accounts::AccountError::SessionInvalid => {
                        ApiError::Unauthorized("The session has ended. Sign in again.".into())
                    }
                    other => ApiError::from(other),
                })?;
            if user.id.to_string() != claims.sub {
                return Err(ApiError::Unauthorized(
                    "The access token is invalid.".into(),
                ));
            }
            limit(
                &ctx,
                &format!("user:{}", user.id),
                ctx.settings.rate_limit_per_minute,
            )
            .await?;
            Ok(AuthUser { user, session })
        })
    }
}

/// The client's address: the peer, or the first `X-Forwarded-For` hop when
/// `TRUST_PROXY_HEADERS` says a proxy sets it.
pub fn client_ip(req: &HttpRequest, settings: &Settings) -> String {
    if settings.trust_proxy_headers
        && let Some(ip) = req.connection_info().realip_remote_addr()
    {
        return ip.to_string();
    }
    req.peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// Counts one request for `key` against `per_minute`; 429 with `Retry-After` beyond it.
pub async fn limit(ctx: &AppContext, key: &str, per_minute: u32) -> Result<(), ApiError> {
    let window = Duration::from_secs(60);
    match ctx.rate_limiter.hit(key, per_minute, window).await {
        RateDecision::Allowed { .. } => Ok(()),
        RateDecision::Limited { retry_after } => Err(ApiError::TooManyRequests {
            retry_after_secs: retry_after.as_secs().max(1),
        }),
    }
}
