//! `/auth`: sign-up, sign-in, sessions, email verification, password reset.
//!
//! Shapes are the web front end's (shared/guide/frontend-contract.md): camelCase, a session
//! answer of `{accessToken, refreshToken, tokenType, expiresIn, user}`. These routes are
//! public (no [`AuthUser`]) except logout, logout-all and resend-verification, so a stale
//! Bearer header the browser still sends never makes them fail. Each public route is limited
//! to `RATE_LIMIT_AUTH_PER_MINUTE` per client address, and sign-in and reset also per account.

use crate::ApiError;
use crate::auth::{AuthUser, access_token, client_ip, limit};
use crate::routes::users::UserOut;
use accounts::AccountStore;
use accounts::{IssuedSession, RegisterInput, User};
use actix_web::{HttpRequest, HttpResponse, post, web};
use app::AppContext;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A session, as sign-in, sign-up and refresh answer it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenOut {
    pub access_token: String,
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    pub user: UserOut,
}

pub(crate) async fn session_response(
    ctx: &AppContext,
    user: &User,
    s: IssuedSession,
) -> Result<TokenOut, ApiError> {
    Ok(TokenOut {
        access_token: access_token(&ctx.settings, user, s.session_id, ctx.clock.now())?,
        refresh_token: s.refresh_token,
        token_type: "Bearer",
        expires_in: ctx.settings.access_token_ttl.as_secs(),
        user: UserOut::build(ctx, user).await,
    })
}

async fn per_ip(ctx: &AppContext, req: &HttpRequest, route: &str) -> Result<(), ApiError> {
    let ip = client_ip(req, &ctx.settings);
    limit(
        ctx,
        &format!("auth:{route}:ip:{ip}"),
        ctx.settings.rate_limit_auth_per_minute,
    )
    .await
}

async fn per_account(ctx: &AppContext, route: &str, email: &str) -> Result<(), ApiError> {
    let email = accounts::policy::normalize_email(email);
    limit(
        ctx,
        &format!("auth:{route}:acct:{email}"),
        ctx.settings.rate_limit_auth_per_minute,
    )
    .await
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegisterIn {
    pub email: String,
    pub password: String,
    pub first_name: String,
    pub last_name: String,
    /// `fr` (default) or `en`.
    pub locale: Option<String>,
    /// The token of an invitation sent to this address: the account starts verified and
    /// already in the invitation's department.
    pub invitation_token: Option<String>,
}

/// Create an account; answers with a session and sends a verification email. With an
/// `invitationToken`, the email must be the invited address: the account is created verified
/// and joins the department.
#[utoipa::path(tag = "auth", request_body = RegisterIn, responses(
    (status = 201, body = TokenOut),
    (status = 404, description = "Unknown invitation token", body = crate::problem::Problem, content_type = "application/problem+json"),
    (status = 409, description = "Email already registered", body = crate::problem::Problem, content_type = "application/problem+json"),
    (status = 410, description = "Invitation used, cancelled or expired", body = crate::problem::Problem, content_type = "application/problem+json"),
    (status = 422, description = "Invalid fields", body = crate::problem::Problem, content_type = "application/problem+json"),
))]
#[post("/auth/register")]
pub async fn register(
    ctx: web::Data<AppContext>,
    req: HttpRequest,
    body: web::Json<RegisterIn>,
) -> Result<HttpResponse, ApiError> {
    per_ip(&ctx, &req, "register").await?;
    let b = body.into_inner();
    let now = ctx.clock.now();
    let token = b.invitation_token.filter(|t| !t.trim().is_empty());
    if let Some(token) = &token {
        ctx.teams
            .invitation_for_registration(token, &b.email, now)
            .await?;
    }
    let (mut user, session) = ctx
        .accounts
        .register(
            RegisterInput {
                email: b.email,
                password: b.password,
                first_name: b.first_name,
                last_name: b.last_name,
                locale: b.locale,
                email_verified: token.is_some(),
            },
            now,
        )
        .await?;
    if let Some(token) = &token {
        // The account stands on its own; if the invitation was cancelled in the meantime the
        // person is signed in without the department, and the leader can invite them again.
        match ctx
            .teams
            .accept_invitation(&teams::Viewer::of(&user), token, now)
            .await
        {
            Ok(_) => {
                if let Some(fresh) = ctx
                    .accounts
                    .store
                    .user_by_id(user.id)
                    .await
                    .map_err(|e| ApiError::from(accounts::AccountError::Store(e)))?
                {
                    user = fresh;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "registered, but the invitation could not be accepted")
            }
        }
    }
    Ok(HttpResponse::Created().json(session_response(&ctx, &user, session).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct LoginIn {
    pub email: String,
    pub password: String,
}

/// Sign in with email and password.
#[utoipa::path(tag = "auth", request_body = LoginIn, responses(
    (status = 200, body = TokenOut),
    (status = 401, description = "Wrong email or password", body = crate::problem::Problem, content_type = "application/problem+json"),
    (status = 403, description = "Account deactivated", body = crate::problem::Problem, content_type = "application/problem+json"),
    (status = 429, description = "Too many attempts", body = crate::problem::Problem, content_type = "application/problem+json"),
))]
#[post("/auth/login")]
pub async fn login(
    ctx: web::Data<AppContext>,
    req: HttpRequest,
    body: web::Json<LoginIn>,
) -> Result<HttpResponse, ApiError> {
    per_ip(&ctx, &req, "login").await?;
    per_account(&ctx, "login", &body.email).await?;
    let (user, session) = ctx
        .accounts
        .login(&body.email, &body.password, ctx.clock.now())
        .await?;
    Ok(HttpResponse::Ok().json(session_response(&ctx, &user, session).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefreshIn {
    pub refresh_token: String,
}

/// Trade a refresh token for a new session answer; the token is spent. Presenting a spent
/// token closes its session (reuse detection).
#[utoipa::path(tag = "auth", request_body = RefreshIn, responses(
    (status = 200, body = TokenOut),
    (status = 401, description = "Invalid, expired or reused refresh token", body = crate::problem::Problem, content_type = "application/problem+json"),
))]
#[post("/auth/refresh")]
pub async fn refresh(
    ctx: web::Data<AppContext>,
    req: HttpRequest,
    body: web::Json<RefreshIn>,
) -> Result<HttpResponse, ApiError> {
    per_ip(&ctx, &req, "refresh").await?;
    let (user, session) = ctx
        .accounts
        .refresh(&body.refresh_token, ctx.clock.now())
        .await?;
    Ok(HttpResponse::Ok().json(session_response(&ctx, &user, session).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct TokenIn {
    pub token: String,
}

/// Confirm an email address with the emailed token.
#[utoipa::path(tag = "auth", request_body = TokenIn, responses(
    (status = 204, description = "Verified"),
    (status = 400, description = "Unknown token", body = crate::problem::Problem, content_type = "application/problem+json"),
    (status = 410, description = "Expired or already used", body = crate::problem::Problem, content_type = "application/problem+json"),
))]
#[post("/auth/verify-email")]
pub async fn verify_email(
    ctx: web::Data<AppContext>,
    req: HttpRequest,
    body: web::Json<TokenIn>,
) -> Result<HttpResponse, ApiError> {
    per_ip(&ctx, &req, "verify").await?;
    ctx.accounts
        .verify_email(&body.token, ctx.clock.now())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Send a new verification email to the signed-in user (the previous link dies).
#[utoipa::path(tag = "auth", security(("bearer" = [])), responses(
    (status = 204, description = "Sent, or already verified"),
    (status = 429, description = "Too many requests", body = crate::problem::Problem, content_type = "application/problem+json"),
))]
#[post("/auth/resend-verification")]
pub async fn resend_verification(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
) -> Result<HttpResponse, ApiError> {
    per_account(&ctx, "resend", &auth.user.email).await?;
    ctx.accounts
        .resend_verification(&auth.user, ctx.clock.now())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, ToSchema)]
pub struct ForgotIn {
    pub email: String,
}

/// Ask for a password-reset link. The answer is the same, and as fast, whether or not an
/// account has this email: the lookup and the email happen in the worker.
#[utoipa::path(tag = "auth", request_body = ForgotIn, responses(
    (status = 202, description = "If an account exists, a link is on its way"),
))]
#[post("/auth/forgot-password")]
pub async fn forgot_password(
    ctx: web::Data<AppContext>,
    req: HttpRequest,
    body: web::Json<ForgotIn>,
) -> Result<HttpResponse, ApiError> {
    per_ip(&ctx, &req, "forgot").await?;
    per_account(&ctx, "forgot", &body.email).await?;
    let email = accounts::policy::reset_request_email(&body.email)
        .map_err(|e| ApiError::Validation(e.0))?;
    let now = ctx.clock.now();
    let job = store_sea::NewJob::now(
        accounts::PASSWORD_RESET_JOB,
        serde_json::json!({ "email": email }),
        now,
    )
    .max_attempts(5);
    ctx.enqueue(job).await?;
    Ok(HttpResponse::Accepted().finish())
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResetIn {
    pub token: String,
    pub new_password: String,
}

/// Set a new password with the emailed token; every session of the account ends.
#[utoipa::path(tag = "auth", request_body = ResetIn, responses(
    (status = 204, description = "Password changed"),
    (status = 400, description = "Unknown token", body = crate::problem::Problem, content_type = "application/problem+json"),
    (status = 410, description = "Expired or already used", body = crate::problem::Problem, content_type = "application/problem+json"),
    (status = 422, description = "Password refused", body = crate::problem::Problem, content_type = "application/problem+json"),
))]
#[post("/auth/reset-password")]
pub async fn reset_password(
    ctx: web::Data<AppContext>,
    req: HttpRequest,
    body: web::Json<ResetIn>,
) -> Result<HttpResponse, ApiError> {
    per_ip(&ctx, &req, "reset").await?;
    ctx.accounts
        .reset_password(&body.token, &body.new_password, ctx.clock.now())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// End this session (no body).
#[utoipa::path(tag = "auth", security(("bearer" = [])), responses((status = 204, description = "Signed out")))]
#[post("/auth/logout")]
pub async fn logout(ctx: web::Data<AppContext>, auth: AuthUser) -> Result<HttpResponse, ApiError> {
    ctx.accounts
        .logout(auth.user.id, auth.session, ctx.clock.now())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// End every session of the signed-in user.
#[utoipa::path(tag = "auth", security(("bearer" = [])), responses((status = 204, description = "Signed out everywhere")))]
#[post("/auth/logout-all")]
pub async fn logout_all(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
) -> Result<HttpResponse, ApiError> {
    ctx.accounts
        .logout_all(auth.user.id, ctx.clock.now())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
