//! `/users/me`: the signed-in user's profile and password.

use crate::ApiError;
use crate::auth::AuthUser;
use crate::routes::auth::{TokenOut, session_response};
use accounts::AccountStore;
use accounts::{NotificationPrefs, ProfilePatch, User};
use actix_web::{HttpResponse, delete, get, patch, post, web};
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
    /// Email preference per notification type (in-app is always on): `{"rota.published":
    /// false}` turns that type's email off, `{"email": false}` every notification email. A
    /// type without an entry uses its default (on, except `assignment.confirmed` and
    /// `availability.changed`).
    #[schema(value_type = Object)]
    pub notification_preferences: serde_json::Map<String, serde_json::Value>,
    pub created_at: String,
}

/// How long a presigned avatar URL (S3) stays valid; `/users/me` hands out a fresh one.
const AVATAR_URL_TTL: std::time::Duration = std::time::Duration::from_secs(12 * 3600);

impl UserOut {
    /// The user as the front end reads it, with an avatar URL a browser can load: a presigned
    /// URL on S3, else this API's public avatar route.
    pub async fn build(ctx: &AppContext, u: &User) -> Self {
        let avatar_url = avatar_url(ctx, u.id, u.avatar_key.as_deref()).await;
        Self::with_avatar(u, avatar_url)
    }

    fn with_avatar(u: &User, avatar_url: Option<String>) -> Self {
        Self {
            id: u.id.to_string(),
            email: u.email.clone(),
            first_name: u.first_name.clone(),
            last_name: u.last_name.clone(),
            role: u.role.as_str().into(),
            organization_id: u.organization_id.map(|o| o.to_string()),
            is_email_verified: u.is_email_verified,
            avatar_url,
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
    web::Json(UserOut::build(&ctx, &auth.user).await)
}

/// `null` and absent differ (`phone`, a department's `description`): absent keeps the
/// value, `null` clears it.
pub(crate) fn double_option<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<String>>, D::Error> {
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
    /// Replaces the email preferences (a map of notification types, or `email`, to booleans;
    /// at most 50 entries).
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
    let patch = ProfilePatch {
        first_name: b.first_name,
        last_name: b.last_name,
        phone: b.phone,
        locale: b.locale,
        notification_prefs: b.notification_preferences.map(NotificationPrefs),
    };
    let user = ctx
        .accounts
        .update_profile(auth.user, patch, ctx.clock.now())
        .await?;
    Ok(web::Json(UserOut::build(&ctx, &user).await))
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
    Ok(HttpResponse::Ok().json(session_response(&ctx, &auth.user, s).await?))
}

/// `{PUBLIC_API_URL}{prefix}/users/{id}/avatar/{file}` for a key `avatars/{id}/{file}`.
fn local_avatar_url(settings: &Settings, user: kernel::UserId, key: &str) -> String {
    let file = key.rsplit('/').next().unwrap_or_default();
    format!(
        "{}{}/users/{}/avatar/{file}",
        settings.public_api_url, settings.api_prefix, user
    )
}

/// A URL a browser can load for an avatar: a presigned URL on S3 (computed locally, no
/// request), else this API's public avatar route.
pub async fn avatar_url(
    ctx: &AppContext,
    user: kernel::UserId,
    key: Option<&str>,
) -> Option<String> {
    let key = key?;
    match ctx.blobs.direct_url(key, AVATAR_URL_TTL).await {
        Ok(Some(url)) => Some(url),
        Ok(None) => Some(local_avatar_url(&ctx.settings, user, key)),
        Err(e) => {
            tracing::warn!(error = %e, "cannot presign the avatar URL");
            None
        }
    }
}

/// Largest accepted avatar upload.
pub const AVATAR_MAX_BYTES: usize = 5 * 1024 * 1024;

fn file_error(code: &str, message: &str) -> ApiError {
    ApiError::Validation(vec![kernel::FieldError {
        field: "file".into(),
        code: code.into(),
        message: message.into(),
    }])
}

/// Reads the multipart field `file`, refusing more than `max` bytes as soon as it is exceeded.
async fn read_file_field(
    mut form: actix_multipart::Multipart,
    max: usize,
) -> Result<Vec<u8>, ApiError> {
    use futures_util::StreamExt;
    let mut found = None;
    while let Some(field) = form.next().await {
        let mut field = field.map_err(|e| {
            ApiError::bad_request(
                "invalid_multipart",
                format!("The upload is malformed: {e}."),
            )
        })?;
        let is_file = field.name() == Some("file");
        let mut buf = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|e| {
                ApiError::bad_request(
                    "invalid_multipart",
                    format!("The upload is malformed: {e}."),
                )
            })?;
            if is_file {
                if buf.len() + chunk.len() > max {
                    return Err(ApiError::PayloadTooLarge(format!(
                        "The image is larger than {} MiB.",
                        max / (1024 * 1024)
                    )));
                }
                buf.extend_from_slice(&chunk);
            }
        }
        if is_file && found.is_none() {
            found = Some(buf);
        }
    }
    found.ok_or_else(|| {
        file_error(
            "required",
            "Send the image in a multipart field named file.",
        )
    })
}

/// Upload an avatar: JPEG, PNG or WebP, recognised by content (not by name or declared type),
/// at most 5 MiB; metadata (EXIF with GPS, XMP, comments) is stripped before storing.
#[utoipa::path(tag = "users", security(("bearer" = [])),
    request_body(content_type = "multipart/form-data", description = "Field `file`: the image"),
    responses(
        (status = 200, body = UserOut),
        (status = 413, description = "Larger than 5 MiB", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a JPEG, PNG or WebP image", body = crate::problem::Problem, content_type = "application/problem+json"),
    ))]
#[post("/users/me/avatar")]
pub async fn upload_avatar(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
    form: actix_multipart::Multipart,
) -> Result<web::Json<UserOut>, ApiError> {
    use kernel::blob::BlobStore;
    let bytes = read_file_field(form, AVATAR_MAX_BYTES).await?;
    let image = media::sanitize(&bytes, AVATAR_MAX_BYTES).map_err(|e| match e {
        media::ImageError::TooLarge { max } => ApiError::PayloadTooLarge(format!(
            "The image is larger than {} MiB.",
            max / (1024 * 1024)
        )),
        media::ImageError::NotAnImage => file_error(
            "not_an_image",
            "This file is not a JPEG, PNG or WebP image.",
        ),
        media::ImageError::Unsupported(what) => file_error(
            "unsupported_image",
            &format!("{what} images are not accepted; use JPEG, PNG or WebP."),
        ),
        media::ImageError::Corrupt(_) => {
            file_error("corrupt_image", "This image is damaged or truncated.")
        }
    })?;
    let key = format!(
        "avatars/{}/{}.{}",
        auth.user.id,
        uuid::Uuid::new_v4(),
        image.kind.extension()
    );
    ctx.blobs
        .put(&key, image.bytes, image.kind.mime())
        .await
        .map_err(|e| ApiError::Unavailable(format!("The file store is unavailable: {e}")))?;
    let (user, previous) = ctx
        .accounts
        .set_avatar(auth.user, Some(key), ctx.clock.now())
        .await?;
    if let Some(old) = previous
        && let Err(e) = ctx.blobs.delete(&old).await
    {
        tracing::warn!(error = %e, "old avatar not deleted");
    }
    Ok(web::Json(UserOut::build(&ctx, &user).await))
}

/// Remove the avatar.
#[utoipa::path(tag = "users", security(("bearer" = [])), responses((status = 200, body = UserOut)))]
#[delete("/users/me/avatar")]
pub async fn delete_avatar(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
) -> Result<web::Json<UserOut>, ApiError> {
    use kernel::blob::BlobStore;
    let (user, previous) = ctx
        .accounts
        .set_avatar(auth.user, None, ctx.clock.now())
        .await?;
    if let Some(old) = previous
        && let Err(e) = ctx.blobs.delete(&old).await
    {
        tracing::warn!(error = %e, "old avatar not deleted");
    }
    Ok(web::Json(UserOut::build(&ctx, &user).await))
}

/// An avatar stored on local disk (S3 avatars are fetched from presigned URLs). Public, like
/// an image link: the file name is a random UUID that changes with each upload.
#[utoipa::path(tag = "users", params(("id" = String, Path), ("file" = String, Path)), responses(
    (status = 200, description = "The image", content_type = "image/*"),
    (status = 404, description = "No such avatar", body = crate::problem::Problem, content_type = "application/problem+json"),
))]
#[get("/users/{id}/avatar/{file}")]
pub async fn avatar_file(
    ctx: web::Data<AppContext>,
    path: web::Path<(uuid::Uuid, String)>,
) -> Result<HttpResponse, ApiError> {
    use kernel::blob::BlobStore;
    let (id, file) = path.into_inner();
    let not_found = || ApiError::NotFound("No such avatar.".into());
    let user = ctx
        .accounts
        .store
        .user_by_id(kernel::UserId::from(id))
        .await
        .map_err(accounts::AccountError::from)?
        .ok_or_else(not_found)?;
    let key = format!("avatars/{id}/{file}");
    if user.avatar_key.as_deref() != Some(key.as_str()) {
        return Err(not_found());
    }
    let blob = ctx
        .blobs
        .get(&key)
        .await
        .map_err(|e| ApiError::Unavailable(format!("The file store is unavailable: {e}")))?
        .ok_or_else(not_found)?;
    Ok(HttpResponse::Ok()
        .content_type(blob.content_type)
        .insert_header(("Cache-Control", "public, max-age=31536000, immutable"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(blob.bytes))
}

/// A session in the data export.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionOut {
    pub id: String,
    /// `password` or `google`.
    pub method: String,
    pub created_at: String,
    pub expires_at: String,
    pub revoked_at: Option<String>,
}

/// Everything held about the user (GDPR art. 15 and 20). Later capabilities add their parts.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DataExport {
    pub exported_at: String,
    pub user: UserOut,
    pub google_linked: bool,
    pub has_password: bool,
    pub updated_at: String,
    pub sessions: Vec<SessionOut>,
    /// My departments, former ones included.
    pub memberships: Vec<crate::routes::invitations::MembershipOut>,
    /// Invitations sent to my address or by me.
    pub invitations: Vec<crate::routes::invitations::InvitationOut>,
    /// My notifications, oldest first (my notification preferences are in
    /// `user.notificationPreferences`).
    pub notifications: Vec<crate::routes::notifications::NotificationOut>,
    /// The announcements I posted, oldest first.
    pub announcements: Vec<crate::routes::announcements::AnnouncementOut>,
    /// My blockouts: one-off entries, date ranges and weekly rules.
    pub availability: AvailabilityExport,
    /// Whether I have a personal calendar feed, and since when (never its address: only a
    /// hash of its token is kept).
    pub calendar_feed: crate::routes::exports::CalendarFeedStatusOut,
}

/// The availability part of the data export.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AvailabilityExport {
    /// One-off entries of every month, by date.
    pub unavailable_dates: Vec<crate::routes::availability::UnavailableDateOut>,
    pub ranges: Vec<crate::routes::availability::RangeOut>,
    pub weekly_rules: Vec<crate::routes::availability::WeeklyOut>,
}

/// Download every personal datum held about me, as JSON.
#[utoipa::path(tag = "users", security(("bearer" = [])), responses((status = 200, body = DataExport)))]
#[get("/users/me/data-export")]
pub async fn data_export(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
) -> Result<HttpResponse, ApiError> {
    let u = &auth.user;
    let sessions = ctx.accounts.sessions(u.id).await?;
    let now = ctx.clock.now();
    let memberships = ctx.teams.memberships_of(u.id).await?;
    let invitations = ctx.teams.invitations_involving(&u.email, u.id).await?;
    let feed = ctx.calendar_feeds.info(&teams::Viewer::of(u)).await?;
    let notifications = match u.organization_id {
        Some(org) => ctx.notifications.all_of(org, u.id).await?,
        None => Vec::new(),
    };
    let announcements = ctx.announcements.authored_by(&teams::Viewer::of(u)).await?;
    let mine = ctx
        .availability
        .personal_data(&teams::Viewer::of(u))
        .await
        .map_err(accounts::AccountError::Store)?;
    let export = DataExport {
        notifications: notifications.into_iter().map(Into::into).collect(),
        announcements: announcements.into_iter().map(Into::into).collect(),
        availability: AvailabilityExport {
            unavailable_dates: mine
                .blockouts
                .into_iter()
                .map(|blockout| {
                    (&availability::Entry {
                        blockout,
                        source: availability::Source::Date,
                    })
                        .into()
                })
                .collect(),
            ranges: mine.ranges.iter().map(Into::into).collect(),
            weekly_rules: mine.weekly.iter().map(Into::into).collect(),
        },
        calendar_feed: crate::routes::exports::CalendarFeedStatusOut {
            active: feed.is_some(),
            created_at: feed.map(|f| f.created_at),
        },
        memberships: memberships.into_iter().map(Into::into).collect(),
        invitations: invitations
            .iter()
            .map(|i| crate::routes::invitations::InvitationOut::new(i, now))
            .collect(),
        exported_at: now.to_rfc3339(),
        user: UserOut::build(&ctx, u).await,
        google_linked: u.google_subject.is_some(),
        has_password: u.password_hash.is_some(),
        updated_at: u.updated_at.to_rfc3339(),
        sessions: sessions
            .into_iter()
            .map(|s| SessionOut {
                id: s.id.to_string(),
                method: s.method.as_str().into(),
                created_at: s.created_at.to_rfc3339(),
                expires_at: s.expires_at.to_rfc3339(),
                revoked_at: s.revoked_at.map(|t| t.to_rfc3339()),
            })
            .collect(),
    };
    Ok(HttpResponse::Ok()
        .insert_header((
            "Content-Disposition",
            "attachment; filename=\"monservice-data-export.json\"",
        ))
        .json(export))
}

#[derive(Deserialize, ToSchema, Default)]
pub struct DeleteMeIn {
    /// Required for an account with a password.
    pub password: Option<String>,
}

/// Delete my account: personal data, files and sessions are erased. Confirm with the password,
/// or (accounts without one) with a Google sign-in less than 10 minutes old.
#[utoipa::path(tag = "users", security(("bearer" = [])), request_body = DeleteMeIn, responses(
    (status = 204, description = "Erased"),
    (status = 400, description = "Wrong password", body = crate::problem::Problem, content_type = "application/problem+json"),
    (status = 403, description = "Confirmation required", body = crate::problem::Problem, content_type = "application/problem+json"),
    (status = 409, description = "The church's only administrator, with others in the church", body = crate::problem::Problem, content_type = "application/problem+json"),
))]
#[delete("/users/me")]
pub async fn delete_me(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
    body: Option<web::Json<DeleteMeIn>>,
) -> Result<HttpResponse, ApiError> {
    use kernel::blob::BlobStore;
    ctx.teams
        .check_account_deletion(&teams::Viewer::of(&auth.user))
        .await?;
    let password = body.and_then(|b| b.into_inner().password);
    let avatar = ctx
        .accounts
        .delete_account(
            &auth.user,
            auth.session,
            password.as_deref(),
            ctx.clock.now(),
        )
        .await?;
    if let Some(key) = avatar
        && let Err(e) = ctx.blobs.delete(&key).await
    {
        tracing::warn!(error = %e, "avatar of a deleted account not removed");
    }
    Ok(HttpResponse::NoContent().finish())
}
