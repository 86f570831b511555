//! Google sign-in: the ID token a client obtained itself (`POST /auth/google`, what the web
//! front end's server does), or the whole code flow run here (`/auth/google/authorize` then
//! `/auth/google/callback`, with state, nonce and PKCE).

use crate::ApiError;
use crate::auth::{client_ip, limit};
use crate::routes::auth::{TokenOut, session_response};
use accounts::ExternalIdentity;
use actix_web::{HttpRequest, HttpResponse, get, http::header, post, web};
use app::AppContext;
use oidc::{GoogleOidc, VerifiedIdentity};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use utoipa::{IntoParams, ToSchema};

fn google(ctx: &AppContext) -> Result<&GoogleOidc, ApiError> {
    if !ctx.settings.feature_oauth_google {
        return Err(ApiError::NotFound("Google sign-in is turned off.".into()));
    }
    ctx.google.as_ref().ok_or_else(|| {
        ApiError::Unavailable("Google sign-in is not configured on this server.".into())
    })
}

async fn sign_in(ctx: &AppContext, who: VerifiedIdentity) -> Result<HttpResponse, ApiError> {
    let (user, session, created) = ctx
        .accounts
        .google_sign_in(
            ExternalIdentity {
                subject: who.subject,
                email: who.email,
                given_name: who.given_name,
                family_name: who.family_name,
            },
            ctx.clock.now(),
        )
        .await?;
    let body = session_response(ctx, &user, session).await?;
    Ok(if created {
        HttpResponse::Created().json(body)
    } else {
        HttpResponse::Ok().json(body)
    })
}

#[derive(Deserialize, ToSchema)]
pub struct GoogleIn {
    /// The Google ID token (`idToken` is accepted too).
    #[serde(alias = "idToken")]
    pub id_token: String,
}

/// Sign in (or sign up) with a Google ID token. 201 when the account was created.
#[utoipa::path(tag = "auth", request_body = GoogleIn, responses(
    (status = 200, body = TokenOut),
    (status = 201, body = TokenOut),
    (status = 401, description = "Invalid token (signature, issuer, audience, expiry)", body = crate::problem::Problem, content_type = "application/problem+json"),
    (status = 403, description = "Email not verified by Google, or account deactivated", body = crate::problem::Problem, content_type = "application/problem+json"),
))]
#[post("/auth/google")]
pub async fn google_token(
    ctx: web::Data<AppContext>,
    req: HttpRequest,
    body: web::Json<GoogleIn>,
) -> Result<HttpResponse, ApiError> {
    let ip = client_ip(&req, &ctx.settings);
    limit(
        &ctx,
        &format!("auth:google:ip:{ip}"),
        ctx.settings.rate_limit_auth_per_minute,
    )
    .await?;
    let who = google(&ctx)?.verify_id_token(&body.id_token, None).await?;
    sign_in(&ctx, who).await
}

#[derive(Serialize, Deserialize)]
struct Pending {
    nonce: String,
    verifier: String,
}

const STATE_TTL: Duration = Duration::from_secs(600);

/// Start the code flow: redirects to Google with a fresh state, nonce and PKCE challenge.
#[utoipa::path(tag = "auth", responses((status = 302, description = "Redirect to the issuer")))]
#[get("/auth/google/authorize")]
pub async fn google_authorize(
    ctx: web::Data<AppContext>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let ip = client_ip(&req, &ctx.settings);
    limit(
        &ctx,
        &format!("auth:google:ip:{ip}"),
        ctx.settings.rate_limit_auth_per_minute,
    )
    .await?;
    let start = google(&ctx)?.authorize_url().await?;
    let pending = serde_json::to_string(&Pending {
        nonce: start.nonce.clone(),
        verifier: start.pkce_verifier.clone(),
    })
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    ctx.cache
        .set(&format!("oidc:state:{}", start.state), &pending, STATE_TTL)
        .await
        .map_err(|e| ApiError::Unavailable(format!("Cannot start the sign-in: {e}")))?;
    Ok(HttpResponse::Found()
        .insert_header((header::LOCATION, start.url))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}

#[derive(Deserialize, IntoParams)]
pub struct CallbackQuery {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
}

/// Finish the code flow: checks the state, exchanges the code (with the PKCE verifier) and
/// verifies the ID token (with the nonce), then answers a session like `POST /auth/google`.
#[utoipa::path(tag = "auth", params(CallbackQuery), responses(
    (status = 200, body = TokenOut),
    (status = 400, description = "Unknown or expired state, or the issuer reported an error", body = crate::problem::Problem, content_type = "application/problem+json"),
))]
#[get("/auth/google/callback")]
pub async fn google_callback(
    ctx: web::Data<AppContext>,
    q: web::Query<CallbackQuery>,
) -> Result<HttpResponse, ApiError> {
    let g = google(&ctx)?;
    if let Some(e) = &q.error {
        let e: String = e.chars().take(100).collect();
        return Err(ApiError::bad_request(
            "oauth_error",
            format!("Google refused the sign-in: {e}."),
        ));
    }
    let (Some(code), Some(state)) = (&q.code, &q.state) else {
        return Err(ApiError::bad_request(
            "invalid_callback",
            "The callback needs code and state.",
        ));
    };
    let key = format!("oidc:state:{state}");
    let pending = ctx
        .cache
        .get(&key)
        .await
        .map_err(|e| ApiError::Unavailable(e.to_string()))?;
    let Some(pending) = pending.and_then(|p| serde_json::from_str::<Pending>(&p).ok()) else {
        return Err(ApiError::bad_request(
            "invalid_state",
            "This sign-in attempt is unknown or has expired; start again.",
        ));
    };
    // Single use: a replayed callback finds nothing.
    ctx.cache
        .delete(&key)
        .await
        .map_err(|e| ApiError::Unavailable(e.to_string()))?;
    let who = g
        .exchange_code(code, &pending.verifier, &pending.nonce)
        .await?;
    sign_in(&ctx, who).await
}
