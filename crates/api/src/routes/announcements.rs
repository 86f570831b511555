//! A department's announcements: leaders (and the church's administrator) post, every member
//! lists them newest first, the author or the administrator deletes. Posting records
//! `announcement.posted`, which the notifications dispatcher turns into an in-app notification
//! for every member but the author.

use crate::ApiError;
use crate::auth::AuthUser;
use actix_web::{HttpResponse, delete, get, post, web};
use app::AppContext;
use kernel::{DepartmentId, FieldError};
use serde::{Deserialize, Serialize};
use teams::Viewer;
use teams::announcements::{
    Announcement, AnnouncementId, Cursor, DEFAULT_PAGE, MAX_PAGE, NewAnnouncement,
};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

type Problem = crate::problem::Problem;

/// What a leader posts.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AnnouncementIn {
    /// 1–120 characters once trimmed.
    #[serde(default)]
    pub title: String,
    /// 1–5000 characters once trimmed; line breaks kept.
    #[serde(default)]
    pub body: String,
}

/// One announcement.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AnnouncementOut {
    pub id: String,
    pub department_id: String,
    /// `null` once the author's account was deleted.
    pub author_id: Option<String>,
    /// "First Last"; `null` once the author's account was deleted.
    pub author_name: Option<String>,
    pub title: String,
    pub body: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl From<Announcement> for AnnouncementOut {
    fn from(a: Announcement) -> Self {
        Self {
            id: a.id.to_string(),
            department_id: a.department_id.to_string(),
            author_id: a.author_id.map(|u| u.to_string()),
            author_name: a.author_name,
            title: a.title,
            body: a.body,
            created_at: a.created_at,
        }
    }
}

/// A page of announcements.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AnnouncementPageOut {
    pub items: Vec<AnnouncementOut>,
    /// Pass as `cursor` for the next page; `null` on the last one.
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Where to continue: the `nextCursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1–100 (default 20).
    pub limit: Option<u32>,
}

impl ListParams {
    fn parse(&self) -> Result<(Option<Cursor>, u32), ApiError> {
        let limit = self.limit.unwrap_or(DEFAULT_PAGE);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(ApiError::Validation(vec![FieldError {
                field: "limit".into(),
                code: "out_of_range".into(),
                message: format!("Between 1 and {MAX_PAGE}."),
            }]));
        }
        let after = match self.cursor.as_deref().filter(|c| !c.is_empty()) {
            None => None,
            Some(c) => Some(Cursor::decode(c).ok_or_else(|| {
                ApiError::bad_request("invalid_cursor", "The cursor is not one this API returned.")
            })?),
        };
        Ok((after, limit))
    }
}

/// Post an announcement to the whole department (its leaders and the administrator).
#[utoipa::path(tag = "announcements", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body = AnnouncementIn, responses(
    (status = 201, body = AnnouncementOut),
    (status = 403, description = "Not a leader of the department", body = Problem, content_type = "application/problem+json"),
    (status = 404, description = "No such department in my church", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "Invalid title or body", body = Problem, content_type = "application/problem+json"),
))]
#[post("/departments/{id}/announcements")]
pub async fn post_announcement(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
    path: web::Path<Uuid>,
    body: web::Json<AnnouncementIn>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let a = ctx
        .announcements
        .post(
            &Viewer::of(&auth.user),
            DepartmentId::from(path.into_inner()),
            &NewAnnouncement {
                title: b.title,
                body: b.body,
            },
            ctx.clock.now(),
        )
        .await?;
    Ok(HttpResponse::Created().json(AnnouncementOut::from(a)))
}

/// The department's announcements, newest first (any member of the department).
#[utoipa::path(tag = "announcements", security(("bearer" = [])),
    params(("id" = Uuid, Path), ListParams), responses(
    (status = 200, body = AnnouncementPageOut),
    (status = 400, description = "Unknown cursor", body = Problem, content_type = "application/problem+json"),
    (status = 403, description = "Not a member of the department", body = Problem, content_type = "application/problem+json"),
    (status = 404, description = "No such department in my church", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "Limit out of range", body = Problem, content_type = "application/problem+json"),
))]
#[get("/departments/{id}/announcements")]
pub async fn list_announcements(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
    path: web::Path<Uuid>,
    q: web::Query<ListParams>,
) -> Result<web::Json<AnnouncementPageOut>, ApiError> {
    let (after, limit) = q.parse()?;
    let page = ctx
        .announcements
        .list(
            &Viewer::of(&auth.user),
            DepartmentId::from(path.into_inner()),
            after,
            limit,
        )
        .await?;
    Ok(web::Json(AnnouncementPageOut {
        next_cursor: page.next.map(|c| c.encode()),
        items: page.items.into_iter().map(Into::into).collect(),
    }))
}

/// Delete an announcement (its author or the administrator).
#[utoipa::path(tag = "announcements", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("announcementId" = Uuid, Path)), responses(
    (status = 204, description = "Deleted"),
    (status = 403, description = "Neither the author nor the administrator", body = Problem, content_type = "application/problem+json"),
    (status = 404, description = "No such announcement in this department", body = Problem, content_type = "application/problem+json"),
))]
#[delete("/departments/{id}/announcements/{announcementId}")]
pub async fn delete_announcement(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (dept, id) = path.into_inner();
    ctx.announcements
        .delete(
            &Viewer::of(&auth.user),
            DepartmentId::from(dept),
            AnnouncementId(id),
        )
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
