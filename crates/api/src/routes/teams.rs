//! Churches, departments and their members. Each handler builds the caller's
//! [`teams::Viewer`] from the signed-in account, calls one operation of the teams service
//! (which scopes to the caller's church and asks the permission policy) and maps the result.

use crate::ApiError;
use crate::auth::AuthUser;
use crate::routes::users::avatar_url;
use actix_web::{HttpResponse, delete, get, patch, post, web};
use app::AppContext;
use kernel::{DepartmentId, UserId};
use serde::{Deserialize, Serialize};
use teams::Viewer;
use teams::service::{
    DepartmentPatch, MemberPatch, NewDepartment, NewOrganization, OrganizationPatch,
};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

type Problem = crate::problem::Problem;

/// A church.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationOut {
    pub id: String,
    pub name: String,
    pub slug: String,
    /// IANA time zone, e.g. `Europe/Paris`.
    pub timezone: String,
    pub created_at: String,
    pub updated_at: String,
}

impl From<teams::Organization> for OrganizationOut {
    fn from(o: teams::Organization) -> Self {
        Self {
            id: o.id.to_string(),
            name: o.name,
            slug: o.slug,
            timezone: o.timezone,
            created_at: o.created_at.to_rfc3339(),
            updated_at: o.updated_at.to_rfc3339(),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationIn {
    pub name: String,
    /// 2–100 of `a-z`, `0-9`, `-`; made from the name when absent.
    pub slug: Option<String>,
    /// IANA time zone; `Europe/Paris` when absent.
    pub timezone: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationPatchIn {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub timezone: Option<String>,
}

/// Create my church; I become its administrator.
#[utoipa::path(tag = "organizations", security(("bearer" = [])), request_body = OrganizationIn, responses(
    (status = 201, body = OrganizationOut),
    (status = 409, description = "Already in a church, or slug taken", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
))]
#[post("/organizations")]
pub async fn create_organization(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
    body: web::Json<OrganizationIn>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let org = ctx
        .teams
        .create_organization(
            &Viewer::of(&auth.user),
            NewOrganization {
                name: b.name,
                slug: b.slug,
                timezone: b.timezone,
            },
            ctx.clock.now(),
        )
        .await?;
    Ok(HttpResponse::Created().json(OrganizationOut::from(org)))
}

/// My church.
#[utoipa::path(tag = "organizations", security(("bearer" = [])), responses(
    (status = 200, body = OrganizationOut),
    (status = 404, description = "Not in a church yet", body = Problem, content_type = "application/problem+json"),
))]
#[get("/organizations/current")]
pub async fn current_organization(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
) -> Result<web::Json<OrganizationOut>, ApiError> {
    let org = ctx
        .teams
        .current_organization(&Viewer::of(&auth.user))
        .await?;
    Ok(web::Json(org.into()))
}

/// Rename my church, change its slug or time zone (administrators).
#[utoipa::path(tag = "organizations", security(("bearer" = [])), request_body = OrganizationPatchIn, responses(
    (status = 200, body = OrganizationOut),
    (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
    (status = 409, description = "Slug taken", body = Problem, content_type = "application/problem+json"),
))]
#[patch("/organizations/current")]
pub async fn update_organization(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
    body: web::Json<OrganizationPatchIn>,
) -> Result<web::Json<OrganizationOut>, ApiError> {
    let b = body.into_inner();
    let org = ctx
        .teams
        .update_organization(
            &Viewer::of(&auth.user),
            OrganizationPatch {
                name: b.name,
                slug: b.slug,
                timezone: b.timezone,
            },
            ctx.clock.now(),
        )
        .await?;
    Ok(web::Json(org.into()))
}

/// Someone in the church.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PersonOut {
    pub user_id: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub avatar_url: Option<String>,
    pub is_admin: bool,
    pub department_count: u32,
}

/// Everyone in my church (administrators).
#[utoipa::path(tag = "organizations", security(("bearer" = [])), responses(
    (status = 200, body = Vec<PersonOut>),
    (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
))]
#[get("/organizations/current/members")]
pub async fn people(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
) -> Result<web::Json<Vec<PersonOut>>, ApiError> {
    let people = ctx.teams.people(&Viewer::of(&auth.user)).await?;
    let mut out = Vec::with_capacity(people.len());
    for p in people {
        out.push(PersonOut::build(&ctx, p).await);
    }
    Ok(web::Json(out))
}

impl PersonOut {
    async fn build(ctx: &AppContext, p: teams::Person) -> Self {
        PersonOut {
            avatar_url: avatar_url(ctx, p.user_id, p.avatar_key.as_deref()).await,
            user_id: p.user_id.to_string(),
            first_name: p.first_name,
            last_name: p.last_name,
            email: p.email,
            is_admin: p.is_admin,
            department_count: p.department_count,
        }
    }
}

/// Someone of my church.
#[utoipa::path(tag = "users", security(("bearer" = [])), params(("id" = Uuid, Path)), responses(
    (status = 200, body = PersonOut),
    (status = 404, description = "No such person in my church", body = Problem, content_type = "application/problem+json"),
))]
#[get("/users/{id}")]
pub async fn person(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
    path: web::Path<Uuid>,
) -> Result<web::Json<PersonOut>, ApiError> {
    let p = ctx
        .teams
        .person(&Viewer::of(&auth.user), UserId::from(path.into_inner()))
        .await?;
    Ok(web::Json(PersonOut::build(&ctx, p).await))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PersonPatchIn {
    pub is_admin: bool,
}

/// Make someone of my church an administrator, or not; the church keeps at least one.
#[utoipa::path(tag = "organizations", security(("bearer" = [])), params(("userId" = Uuid, Path)), request_body = PersonPatchIn, responses(
    (status = 204, description = "Done"),
    (status = 404, description = "No such person in the church", body = Problem, content_type = "application/problem+json"),
    (status = 409, description = "It would leave the church without an administrator", body = Problem, content_type = "application/problem+json"),
))]
#[patch("/organizations/current/members/{userId}")]
pub async fn set_admin(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
    path: web::Path<Uuid>,
    body: web::Json<PersonPatchIn>,
) -> Result<HttpResponse, ApiError> {
    ctx.teams
        .set_admin(
            &Viewer::of(&auth.user),
            UserId::from(path.into_inner()),
            body.is_admin,
            ctx.clock.now(),
        )
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A department.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DepartmentOut {
    pub id: String,
    pub organization_id: String,
    pub name: String,
    pub description: Option<String>,
    pub availability_deadline_days: i32,
    pub reminder_hours_before: i32,
    pub is_archived: bool,
    pub archived_at: Option<String>,
    /// Active members.
    pub member_count: u32,
    /// My role in it (`leader`, `member`, `guest`), `null` if I am not a member.
    pub my_role: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<teams::DepartmentView> for DepartmentOut {
    fn from(v: teams::DepartmentView) -> Self {
        let d = v.department;
        Self {
            id: d.id.to_string(),
            organization_id: d.organization_id.to_string(),
            name: d.name,
            description: d.description,
            availability_deadline_days: d.availability_deadline_days,
            reminder_hours_before: d.reminder_hours_before,
            is_archived: d.archived_at.is_some(),
            archived_at: d.archived_at.map(|t| t.to_rfc3339()),
            member_count: v.member_count,
            my_role: v.my_role.map(|r| r.as_str().to_string()),
            created_at: d.created_at.to_rfc3339(),
            updated_at: d.updated_at.to_rfc3339(),
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
pub struct DepartmentsQuery {
    /// Include archived departments.
    #[serde(default)]
    pub include_archived: bool,
}

/// The departments I can see: every one of my church for an administrator, else mine.
#[utoipa::path(tag = "departments", security(("bearer" = [])), params(DepartmentsQuery), responses(
    (status = 200, body = Vec<DepartmentOut>),
))]
#[get("/departments")]
pub async fn departments(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
    q: web::Query<DepartmentsQuery>,
) -> Result<web::Json<Vec<DepartmentOut>>, ApiError> {
    let list = ctx
        .teams
        .departments(&Viewer::of(&auth.user), q.include_archived)
        .await?;
    Ok(web::Json(list.into_iter().map(Into::into).collect()))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DepartmentIn {
    pub name: String,
    pub description: Option<String>,
    /// 1–30, default 7.
    pub availability_deadline_days: Option<i32>,
    /// 1–168, default 24.
    pub reminder_hours_before: Option<i32>,
}

/// Create a department (administrators).
#[utoipa::path(tag = "departments", security(("bearer" = [])), request_body = DepartmentIn, responses(
    (status = 201, body = DepartmentOut),
    (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
    (status = 409, description = "Name taken", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
))]
#[post("/departments")]
pub async fn create_department(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
    body: web::Json<DepartmentIn>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let d = ctx
        .teams
        .create_department(
            &Viewer::of(&auth.user),
            NewDepartment {
                name: b.name,
                description: b.description,
                availability_deadline_days: b.availability_deadline_days,
                reminder_hours_before: b.reminder_hours_before,
            },
            ctx.clock.now(),
        )
        .await?;
    Ok(HttpResponse::Created().json(DepartmentOut::from(d)))
}

/// A department of my church that I belong to (any, for an administrator).
#[utoipa::path(tag = "departments", security(("bearer" = [])), params(("id" = Uuid, Path)), responses(
    (status = 200, body = DepartmentOut),
    (status = 403, description = "Not a member", body = Problem, content_type = "application/problem+json"),
    (status = 404, description = "No such department", body = Problem, content_type = "application/problem+json"),
))]
#[get("/departments/{id}")]
pub async fn department(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
    path: web::Path<Uuid>,
) -> Result<web::Json<DepartmentOut>, ApiError> {
    let d = ctx
        .teams
        .department(
            &Viewer::of(&auth.user),
            DepartmentId::from(path.into_inner()),
        )
        .await?;
    Ok(web::Json(d.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DepartmentPatchIn {
    pub name: Option<String>,
    /// `null` removes it.
    #[serde(default, deserialize_with = "crate::routes::users::double_option")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    pub availability_deadline_days: Option<i32>,
    pub reminder_hours_before: Option<i32>,
}

/// Change a department (administrators and its leaders).
#[utoipa::path(tag = "departments", security(("bearer" = [])), params(("id" = Uuid, Path)), request_body = DepartmentPatchIn, responses(
    (status = 200, body = DepartmentOut),
    (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
    (status = 404, description = "No such department", body = Problem, content_type = "application/problem+json"),
    (status = 409, description = "Name taken, or archived", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
))]
#[patch("/departments/{id}")]
pub async fn update_department(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
    path: web::Path<Uuid>,
    body: web::Json<DepartmentPatchIn>,
) -> Result<web::Json<DepartmentOut>, ApiError> {
    let b = body.into_inner();
    let d = ctx
        .teams
        .update_department(
            &Viewer::of(&auth.user),
            DepartmentId::from(path.into_inner()),
            DepartmentPatch {
                name: b.name,
                description: b.description,
                availability_deadline_days: b.availability_deadline_days,
                reminder_hours_before: b.reminder_hours_before,
            },
            ctx.clock.now(),
        )
        .await?;
    if b.reminder_hours_before.is_some() {
        // A new notice may make reminders due now: run them at once rather than at the next
        // minute's tick (which still catches them if this enqueue fails).
        let job = store_sea::NewJob::now(
            notifications::REMINDERS_JOB,
            serde_json::Value::Null,
            ctx.clock.now(),
        )
        .max_attempts(3);
        if let Err(e) = ctx.enqueue(job).await {
            tracing::warn!(error = %e, "could not enqueue the reminders after a notice change");
        }
    }
    Ok(web::Json(d.into()))
}

/// Archive a department: it keeps its members and history, takes no changes, and leaves
/// the default list (administrators).
#[utoipa::path(tag = "departments", security(("bearer" = [])), params(("id" = Uuid, Path)), responses(
    (status = 200, body = DepartmentOut),
    (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
    (status = 404, description = "No such department", body = Problem, content_type = "application/problem+json"),
))]
#[post("/departments/{id}/archive")]
pub async fn archive_department(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
    path: web::Path<Uuid>,
) -> Result<web::Json<DepartmentOut>, ApiError> {
    let d = ctx
        .teams
        .set_archived(
            &Viewer::of(&auth.user),
            DepartmentId::from(path.into_inner()),
            true,
            ctx.clock.now(),
        )
        .await?;
    Ok(web::Json(d.into()))
}

/// Bring an archived department back (administrators).
#[utoipa::path(tag = "departments", security(("bearer" = [])), params(("id" = Uuid, Path)), responses(
    (status = 200, body = DepartmentOut),
    (status = 409, description = "Its name is now taken", body = Problem, content_type = "application/problem+json"),
))]
#[post("/departments/{id}/restore")]
pub async fn restore_department(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
    path: web::Path<Uuid>,
) -> Result<web::Json<DepartmentOut>, ApiError> {
    let d = ctx
        .teams
        .set_archived(
            &Viewer::of(&auth.user),
            DepartmentId::from(path.into_inner()),
            false,
            ctx.clock.now(),
        )
        .await?;
    Ok(web::Json(d.into()))
}

/// Delete a department that has no history (no members, former members or invitations);
/// archive the others (administrators).
#[utoipa::path(tag = "departments", security(("bearer" = [])), params(("id" = Uuid, Path)), responses(
    (status = 204, description = "Deleted"),
    (status = 409, description = "It has history: archive it", body = Problem, content_type = "application/problem+json"),
))]
#[delete("/departments/{id}")]
pub async fn delete_department(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    ctx.teams
        .delete_department(
            &Viewer::of(&auth.user),
            DepartmentId::from(path.into_inner()),
        )
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A member of a department.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MemberOut {
    pub user_id: String,
    pub department_id: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub avatar_url: Option<String>,
    /// `leader`, `member` or `guest`.
    pub role: String,
    pub skills: Vec<String>,
    /// The most services a month the planner may give them (1–31); `null`: no cap.
    pub max_per_month: Option<i32>,
    /// Service types they would rather serve at (at most 10).
    pub preferred_service_types: Vec<String>,
    /// `active` (removed members are not listed).
    pub status: String,
    pub joined_at: String,
}

impl MemberOut {
    async fn build(ctx: &AppContext, m: teams::Member) -> Self {
        Self {
            avatar_url: avatar_url(ctx, m.user_id, m.avatar_key.as_deref()).await,
            user_id: m.user_id.to_string(),
            department_id: m.department_id.to_string(),
            first_name: m.first_name,
            last_name: m.last_name,
            email: m.email,
            role: m.role.as_str().into(),
            skills: m.skills,
            max_per_month: m.max_per_month,
            preferred_service_types: m.preferred_service_types,
            status: m.status.as_str().into(),
            joined_at: m.joined_at.to_rfc3339(),
        }
    }
}

/// A department's members, by last name.
#[utoipa::path(tag = "departments", security(("bearer" = [])), params(("id" = Uuid, Path)), responses(
    (status = 200, body = Vec<MemberOut>),
    (status = 403, description = "Not a member", body = Problem, content_type = "application/problem+json"),
    (status = 404, description = "No such department", body = Problem, content_type = "application/problem+json"),
))]
#[get("/departments/{id}/members")]
pub async fn members(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
    path: web::Path<Uuid>,
) -> Result<web::Json<Vec<MemberOut>>, ApiError> {
    let list = ctx
        .teams
        .members(
            &Viewer::of(&auth.user),
            DepartmentId::from(path.into_inner()),
        )
        .await?;
    let mut out = Vec::with_capacity(list.len());
    for m in list {
        out.push(MemberOut::build(&ctx, m).await);
    }
    Ok(web::Json(out))
}

/// `me` or a user id.
fn member_id(raw: &str, auth: &AuthUser) -> Result<UserId, ApiError> {
    if raw == "me" {
        return Ok(auth.user.id);
    }
    raw.parse::<Uuid>().map(UserId::from).map_err(|_| {
        ApiError::bad_request(
            "invalid_path_parameter",
            "The member id must be a UUID or `me`.",
        )
    })
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MemberPatchIn {
    /// `leader` (administrators only), `member` or `guest`.
    pub role: Option<String>,
    /// At most 20; trimmed and de-duplicated.
    pub skills: Option<Vec<String>>,
    /// 1–31 services a month at most; `null` removes the cap.
    #[serde(default, deserialize_with = "max_per_month")]
    #[schema(value_type = Option<i64>)]
    pub max_per_month: Option<Option<i64>>,
    /// At most 10, each at most 50 characters; trimmed and de-duplicated ignoring case.
    pub preferred_service_types: Option<Vec<String>>,
}

/// `null` and absent differ for `maxPerMonth`: absent keeps it, `null` removes the cap.
fn max_per_month<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
    Option::<i64>::deserialize(d).map(Some)
}

/// Change a member's role, skills or planning settings (administrators and the department's
/// leaders; only administrators appoint leaders). A member may change their own planning
/// settings (`maxPerMonth`, `preferredServiceTypes`) through `me`, nothing else. A department
/// keeps at least one leader.
#[utoipa::path(tag = "departments", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("userId" = String, Path, description = "A user id or `me`")),
    request_body = MemberPatchIn, responses(
    (status = 200, body = MemberOut),
    (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
    (status = 404, description = "No such member", body = Problem, content_type = "application/problem+json"),
    (status = 409, description = "It would leave the department without a leader", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
))]
#[patch("/departments/{id}/members/{userId}")]
pub async fn change_member(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
    path: web::Path<(Uuid, String)>,
    body: web::Json<MemberPatchIn>,
) -> Result<web::Json<MemberOut>, ApiError> {
    let (dept, raw) = path.into_inner();
    let user = member_id(&raw, &auth)?;
    let b = body.into_inner();
    let m = ctx
        .teams
        .change_member(
            &Viewer::of(&auth.user),
            DepartmentId::from(dept),
            user,
            MemberPatch {
                role: b.role,
                skills: b.skills,
                max_per_month: b.max_per_month,
                preferred_service_types: b.preferred_service_types,
            },
            ctx.clock.now(),
        )
        .await?;
    Ok(web::Json(MemberOut::build(&ctx, m).await))
}

/// Remove a member (administrators and leaders), or leave (`me`). They keep their account
/// and lose access to the department; a department keeps at least one leader.
#[utoipa::path(tag = "departments", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("userId" = String, Path, description = "A user id or `me`")),
    responses(
    (status = 204, description = "Removed"),
    (status = 404, description = "No such member", body = Problem, content_type = "application/problem+json"),
    (status = 409, description = "The last leader", body = Problem, content_type = "application/problem+json"),
))]
#[delete("/departments/{id}/members/{userId}")]
pub async fn remove_member(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
    path: web::Path<(Uuid, String)>,
) -> Result<HttpResponse, ApiError> {
    let (dept, raw) = path.into_inner();
    let user = member_id(&raw, &auth)?;
    ctx.teams
        .remove_member(
            &Viewer::of(&auth.user),
            DepartmentId::from(dept),
            user,
            ctx.clock.now(),
        )
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
