//! Invitations: leaders invite an address to their department; the invitee opens the emailed
//! link (`{FRONTEND_URL}/{locale}/invitations/{token}`), then accepts while signed in or
//! registers with the token (`POST /auth/register` with `invitationToken`).

use crate::ApiError;
use crate::auth::{AuthUser, client_ip, limit};
use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use app::AppContext;
use kernel::{DepartmentId, InvitationId};
use serde::{Deserialize, Serialize};
use teams::Viewer;
use teams::service::NewInvitation;
use utoipa::ToSchema;
use uuid::Uuid;

type Problem = crate::problem::Problem;

/// An invitation, as its department's leaders see it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvitationOut {
    pub id: String,
    pub department_id: String,
    pub email: String,
    /// `leader`, `member` or `guest`.
    pub role: String,
    /// `pending`, `accepted`, `cancelled` or `expired` (as of now).
    pub status: String,
    pub invited_by: Option<String>,
    pub expires_at: String,
    pub created_at: String,
}

impl InvitationOut {
    pub fn new(i: &teams::Invitation, now: chrono::DateTime<chrono::Utc>) -> Self {
        Self {
            id: i.id.to_string(),
            department_id: i.department_id.to_string(),
            email: i.email.clone(),
            role: i.role.as_str().into(),
            status: i.status_at(now).as_str().into(),
            invited_by: i.invited_by.map(|u| u.to_string()),
            expires_at: i.expires_at.to_rfc3339(),
            created_at: i.created_at.to_rfc3339(),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvitationIn {
    pub email: String,
    /// `member` (default), `guest`, or `leader` (administrators only).
    pub role: Option<String>,
}

/// Invite an address to the department; the email goes out through the worker. Valid 7 days.
#[utoipa::path(tag = "invitations", security(("bearer" = [])), params(("id" = Uuid, Path)), request_body = InvitationIn, responses(
    (status = 201, body = InvitationOut),
    (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
    (status = 404, description = "No such department", body = Problem, content_type = "application/problem+json"),
    (status = 409, description = "Already a member, or already invited", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
))]
#[post("/departments/{id}/invitations")]
pub async fn invite(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
    path: web::Path<Uuid>,
    body: web::Json<InvitationIn>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let now = ctx.clock.now();
    let sent = ctx
        .teams
        .invite(
            &Viewer::of(&auth.user),
            DepartmentId::from(path.into_inner()),
            NewInvitation {
                email: b.email,
                role: b.role,
            },
            now,
        )
        .await?;
    Ok(HttpResponse::Created().json(InvitationOut::new(&sent.invitation, now)))
}

/// The department's pending invitations, newest first.
#[utoipa::path(tag = "invitations", security(("bearer" = [])), params(("id" = Uuid, Path)), responses(
    (status = 200, body = Vec<InvitationOut>),
))]
#[get("/departments/{id}/invitations")]
pub async fn pending(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
    path: web::Path<Uuid>,
) -> Result<web::Json<Vec<InvitationOut>>, ApiError> {
    let now = ctx.clock.now();
    let list = ctx
        .teams
        .pending_invitations(
            &Viewer::of(&auth.user),
            DepartmentId::from(path.into_inner()),
        )
        .await?;
    Ok(web::Json(
        list.iter().map(|i| InvitationOut::new(i, now)).collect(),
    ))
}

/// Send a pending invitation again with a new link (the old one stops working) valid 7 days.
#[utoipa::path(tag = "invitations", security(("bearer" = [])), params(("id" = Uuid, Path), ("invitationId" = Uuid, Path)), responses(
    (status = 200, body = InvitationOut),
    (status = 404, description = "No such invitation", body = Problem, content_type = "application/problem+json"),
    (status = 409, description = "No longer pending", body = Problem, content_type = "application/problem+json"),
))]
#[post("/departments/{id}/invitations/{invitationId}/resend")]
pub async fn resend(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<web::Json<InvitationOut>, ApiError> {
    let (dept, inv) = path.into_inner();
    let now = ctx.clock.now();
    let sent = ctx
        .teams
        .resend_invitation(
            &Viewer::of(&auth.user),
            DepartmentId::from(dept),
            InvitationId::from(inv),
            now,
        )
        .await?;
    Ok(web::Json(InvitationOut::new(&sent.invitation, now)))
}

/// Cancel a pending invitation: its link stops working.
#[utoipa::path(tag = "invitations", security(("bearer" = [])), params(("id" = Uuid, Path), ("invitationId" = Uuid, Path)), responses(
    (status = 204, description = "Cancelled"),
    (status = 404, description = "No pending invitation with this id", body = Problem, content_type = "application/problem+json"),
))]
#[delete("/departments/{id}/invitations/{invitationId}")]
pub async fn cancel(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (dept, inv) = path.into_inner();
    ctx.teams
        .cancel_invitation(
            &Viewer::of(&auth.user),
            DepartmentId::from(dept),
            InvitationId::from(inv),
            ctx.clock.now(),
        )
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// What the invitation page shows.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvitationPreviewOut {
    pub organization_name: String,
    pub department_name: String,
    pub email: String,
    pub role: String,
    pub inviter_name: Option<String>,
    pub expires_at: String,
}

/// Invitation tokens are guessed per client address no faster than the auth routes allow.
async fn per_ip(ctx: &AppContext, req: &HttpRequest) -> Result<(), ApiError> {
    let ip = client_ip(req, &ctx.settings);
    limit(
        ctx,
        &format!("invitation:ip:{ip}"),
        ctx.settings.rate_limit_auth_per_minute,
    )
    .await
}

/// What an invitation link opens (no sign-in needed). 410 once used, cancelled or expired.
#[utoipa::path(tag = "invitations", params(("token" = String, Path)), responses(
    (status = 200, body = InvitationPreviewOut),
    (status = 404, description = "Unknown token", body = Problem, content_type = "application/problem+json"),
    (status = 410, description = "Used, cancelled or expired", body = Problem, content_type = "application/problem+json"),
))]
#[get("/invitations/{token}")]
pub async fn preview(
    ctx: web::Data<AppContext>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<web::Json<InvitationPreviewOut>, ApiError> {
    per_ip(&ctx, &req).await?;
    let v = ctx
        .teams
        .open_invitation(&path.into_inner(), ctx.clock.now())
        .await?;
    Ok(web::Json(InvitationPreviewOut {
        organization_name: v.organization_name,
        department_name: v.department_name,
        email: v.invitation.email,
        role: v.invitation.role.as_str().into(),
        inviter_name: v.inviter_name,
        expires_at: v.invitation.expires_at.to_rfc3339(),
    }))
}

/// One of my memberships.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MembershipOut {
    pub organization_id: String,
    pub department_id: String,
    pub department_name: String,
    pub role: String,
    pub skills: Vec<String>,
    /// `active` or `removed`.
    pub status: String,
    pub joined_at: String,
}

impl From<teams::Membership> for MembershipOut {
    fn from(m: teams::Membership) -> Self {
        Self {
            organization_id: m.organization_id.to_string(),
            department_id: m.department_id.to_string(),
            department_name: m.department_name,
            role: m.role.as_str().into(),
            skills: m.skills,
            status: m.status.as_str().into(),
            joined_at: m.joined_at.to_rfc3339(),
        }
    }
}

/// Accept an invitation sent to my address: I join the department and its church.
#[utoipa::path(tag = "invitations", security(("bearer" = [])), params(("token" = String, Path)), responses(
    (status = 200, body = MembershipOut),
    (status = 404, description = "Unknown token", body = Problem, content_type = "application/problem+json"),
    (status = 409, description = "Another address, another church, or already a member", body = Problem, content_type = "application/problem+json"),
    (status = 410, description = "Used, cancelled or expired", body = Problem, content_type = "application/problem+json"),
))]
#[post("/invitations/{token}/accept")]
pub async fn accept(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
    path: web::Path<String>,
) -> Result<web::Json<MembershipOut>, ApiError> {
    let m = ctx
        .teams
        .accept_invitation(&Viewer::of(&auth.user), &path.into_inner(), ctx.clock.now())
        .await?;
    Ok(web::Json(m.into()))
}
