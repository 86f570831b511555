//! `/users/me`: the signed-in user's profile and password.

use crate::ApiError;
use crate::auth::AuthUser;
use crate::routes::auth::{TokenOut, session_response};
use accounts::{Locale, NotificationPrefs, ProfilePatch, User};
use actix_web::{HttpResponse, get, patch, post, web};
use app::{AppContext, Settings};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

/// A user as the front end reads it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserOut {
    pub id: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    /// `admin`, `leader`, `member` or `guest`; `member` before joining a church.
    pub role: String,
    pub organization_id: Option<String>,
    pub is_email_verified: bool,
    pub avatar_url: Option<String>,
    pub phone: Option<String>,
    /// `fr` or `en`.
    pub locale: String,
    /// Email preference per notification type (in-app is always on).
    #[schema(value_type = Object)]
    pub notification_preferences: serde_json::Map<String, serde_json::Value>,
    pub created_at: String,
}

impl UserOut {
    pub fn from_user(u: &User, settings: &Settings) -> Self {
        Self {
            id: u.id.to_string(),
            email: u.email.clone(),
            first_name: u.first_name.clone(),
            last_name: u.last_name.clone(),
            role: u.role.as_str().into(),
            organization_id: u.organization_id.map(|o| o.to_string()),
            is_email_verified: u.is_email_verified,
            avatar_url: u
                .avatar_key
                .as_ref()
                .map(|_| format!("{}/users/{}/avatar", settings.api_prefix, u.id)),
            phone: u.phone.clone(),
            locale: u.locale.as_str().into(),
            notification_preferences: u.notification_prefs.0.clone(),
            created_at: u.created_at.to_rfc3339(),
        }
    }
}

/// The signed-in user.
#[utoipa::path(tag = "users", security(("bearer" = [])), responses(
    (status = 200, body = UserOut),
    (status = 401, description = "Not signed in", body = crate::problem::Problem, content_type = "application/problem+json"),
))]
#[get("/users/me")]
pub async fn me(ctx: web::Data<AppContext>, auth: AuthUser) -> web::Json<UserOut> {
    web::Json(UserOut::from_user(&auth.user, &ctx.settings))
}

/// `null` and absent differ for `phone`: absent keeps it, `null` clears it.
fn double_option<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProfileIn {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// E.164 (`+33612345678`); `null` removes it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
    /// `fr` or `en`.
    pub locale: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub notification_preferences: Option<serde_json::Map<String, serde_json::Value>>,
}

/// Change the profile; absent fields stay as they are.
#[utoipa::path(tag = "users", security(("bearer" = [])), request_body = ProfileIn, responses(
    (status = 200, body = UserOut),
    (status = 422, description = "Invalid fields", body = crate::problem::Problem, content_type = "application/problem+json"),
))]
#[patch("/users/me")]
pub async fn update_me(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
    body: web::Json<ProfileIn>,
) -> Result<web::Json<UserOut>, ApiError> {
    let b = body.into_inner();
    let locale = match b.locale.as_deref() {
        None => None,
        Some(l) => Some(Locale::parse(l).ok_or_else(|| {
            ApiError::Validation(vec![kernel::FieldError {
                field: "locale".into(),
                code: "invalid_choice".into(),
                message: "Use fr or en.".into(),
            }])
        })?),
    };
    let patch = ProfilePatch {
        first_name: b.first_name,
        last_name: b.last_name,
        phone: b.phone,
        locale,
        notification_prefs: b.notification_preferences.map(NotificationPrefs),
    };
    let user = ctx
        .accounts
        .update_profile(auth.user, patch, ctx.clock.now())
        .await?;
    Ok(web::Json(UserOut::from_user(&user, &ctx.settings)))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PasswordIn {
    pub current_password: String,
    pub new_password: String,
}

/// Change the password. Every session ends; the answer is a new session for this device.
#[utoipa::path(tag = "users", security(("bearer" = [])), request_body = PasswordIn, responses(
    (status = 200, body = TokenOut),
    (status = 400, description = "Current password wrong", body = crate::problem::Problem, content_type = "application/problem+json"),
    (status = 422, description = "New password refused", body = crate::problem::Problem, content_type = "application/problem+json"),
))]
#[post("/users/me/password")]
pub async fn change_password(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
    body: web::Json<PasswordIn>,
) -> Result<HttpResponse, ApiError> {
    let s = ctx
        .accounts
        .change_password(
            &auth.user,
            &body.current_password,
            &body.new_password,
            ctx.clock.now(),
        )
        .await?;
    Ok(HttpResponse::Ok().json(session_response(&ctx, &auth.user, s)?))
}
