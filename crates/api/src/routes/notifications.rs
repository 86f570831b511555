//! The in-app inbox: a user's notifications, newest first with cursor pagination, the unread
//! count (a bare number, as the front end reads it), marking one or all read. Notifications are
//! written by the worker's `notifications.dispatch` job from the outbox's domain events.

use crate::ApiError;
use crate::auth::AuthUser;
use actix_web::{HttpResponse, get, patch, post, web};
use app::AppContext;
use kernel::FieldError;
use notifications::{Cursor, ListQuery, Notification, NotificationError, NotificationId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

type Problem = crate::problem::Problem;

impl From<NotificationError> for ApiError {
    fn from(e: NotificationError) -> Self {
        match e {
            NotificationError::NotFound => ApiError::NotFound("No such notification.".into()),
            NotificationError::Store(s) => accounts::AccountError::Store(s).into(),
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Where to continue: the `nextCursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1–100 (default 20).
    pub limit: Option<u32>,
    /// Only the unread ones.
    pub unread: Option<bool>,
}

impl ListParams {
    fn query(&self) -> Result<ListQuery, ApiError> {
        let limit = self.limit.unwrap_or(notifications::DEFAULT_PAGE);
        if !(1..=notifications::MAX_PAGE).contains(&limit) {
            return Err(ApiError::Validation(vec![FieldError {
                field: "limit".into(),
                code: "out_of_range".into(),
                message: format!("Between 1 and {}.", notifications::MAX_PAGE),
            }]));
        }
        let after = match self.cursor.as_deref().filter(|c| !c.is_empty()) {
            None => None,
            Some(c) => Some(Cursor::decode(c).ok_or_else(|| {
                ApiError::bad_request("invalid_cursor", "The cursor is not one this API returned.")
            })?),
        };
        Ok(ListQuery {
            unread_only: self.unread.unwrap_or(false),
            after,
            limit,
        })
    }
}

/// One notification.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotificationOut {
    pub id: String,
    /// The event it tells of: `rota.published`, `assignment.added`, `assignment.changed`,
    /// `assignment.removed`, `assignment.confirmed`, `assignment.declined`,
    /// `rota.member_left`, `availability.changed`, `invitation.accepted`,
    /// `announcement.posted`, `availability.reminder`, `service.reminder`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    /// Also under `message`, the name the front end's hook reads.
    pub body: String,
    pub message: String,
    /// A front-end path such as `/fr/dashboard/plannings/{id}`.
    pub link: Option<String>,
    /// The ids the front end needs (`planningId`, `assignmentId`, `departmentId`…).
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    pub is_read: bool,
    pub read_at: Option<chrono::DateTime<chrono::Utc>>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl From<Notification> for NotificationOut {
    fn from(n: Notification) -> Self {
        Self {
            id: n.id.to_string(),
            kind: n.kind,
            title: n.title,
            message: n.body.clone(),
            body: n.body,
            link: n.link,
            data: n.data,
            is_read: n.read_at.is_some(),
            read_at: n.read_at,
            created_at: n.created_at,
        }
    }
}

/// A page of notifications.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PageOut {
    pub items: Vec<NotificationOut>,
    /// Pass as `cursor` for the next page; `null` on the last one.
    pub next_cursor: Option<String>,
}

/// My notifications, newest first.
#[utoipa::path(tag = "notifications", security(("bearer" = [])), params(ListParams), responses(
    (status = 200, body = PageOut),
    (status = 400, description = "Unknown cursor", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "Limit out of range", body = Problem, content_type = "application/problem+json"),
))]
#[get("/notifications")]
pub async fn list(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
    q: web::Query<ListParams>,
) -> Result<web::Json<PageOut>, ApiError> {
    let q = q.query()?;
    let Some(org) = auth.user.organization_id else {
        return Ok(web::Json(PageOut {
            items: Vec::new(),
            next_cursor: None,
        }));
    };
    let page = ctx.notifications.list(org, auth.user.id, q).await?;
    Ok(web::Json(PageOut {
        items: page.items.into_iter().map(Into::into).collect(),
        next_cursor: page.next.map(|c| c.encode()),
    }))
}

/// How many of my notifications are unread: a bare JSON number.
#[utoipa::path(tag = "notifications", security(("bearer" = [])), responses(
    (status = 200, body = u64, example = json!(3)),
))]
#[get("/notifications/unread/count")]
pub async fn unread_count(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
) -> Result<web::Json<u64>, ApiError> {
    let Some(org) = auth.user.organization_id else {
        return Ok(web::Json(0));
    };
    Ok(web::Json(
        ctx.notifications.unread_count(org, auth.user.id).await?,
    ))
}

/// Mark one of my notifications read (again is fine). Someone else's id is 404.
#[utoipa::path(tag = "notifications", security(("bearer" = [])),
    params(("id" = String, Path, description = "A notification id")),
    responses(
    (status = 204, description = "Read"),
    (status = 404, description = "No such notification of mine", body = Problem, content_type = "application/problem+json"),
))]
#[patch("/notifications/{id}/read")]
pub async fn mark_read(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let not_found = || ApiError::NotFound("No such notification.".into());
    let id = path
        .parse::<Uuid>()
        .map(NotificationId)
        .map_err(|_| not_found())?;
    let org = auth.user.organization_id.ok_or_else(not_found)?;
    ctx.notifications
        .mark_read(org, auth.user.id, id, ctx.clock.now())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// How many notifications a read-all marked.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReadAllOut {
    pub marked: u64,
}

/// Mark all my notifications read.
#[utoipa::path(tag = "notifications", security(("bearer" = [])), responses(
    (status = 200, body = ReadAllOut),
))]
#[post("/notifications/read-all")]
pub async fn read_all(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
) -> Result<web::Json<ReadAllOut>, ApiError> {
    let Some(org) = auth.user.organization_id else {
        return Ok(web::Json(ReadAllOut { marked: 0 }));
    };
    let marked = ctx
        .notifications
        .mark_all_read(org, auth.user.id, ctx.clock.now())
        .await?;
    Ok(web::Json(ReadAllOut { marked }))
}
