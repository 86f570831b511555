//! Blockouts: the month view of the front end's availability page (shapes of
//! `shared/guide/frontend-contract.md`), the deadline, the leaders' overview and who has not
//! answered. The page sends the literal department id `default-department`.

use crate::ApiError;
use crate::auth::AuthUser;
use actix_web::{get, put, web};
use app::AppContext;
use availability::{Blockout, DeptRef, Month, MonthPayload, MonthView};
use kernel::{DepartmentId, UserId};
use serde::{Deserialize, Serialize};
use teams::Viewer;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

type Problem = crate::problem::Problem;

#[derive(Deserialize, IntoParams)]
pub struct MonthQuery {
    pub year: i32,
    /// 1–12.
    pub month: u32,
}

impl MonthQuery {
    fn month(&self) -> Result<Month, ApiError> {
        Month::new(self.year, self.month).map_err(|e| ApiError::Validation(e.0))
    }
}

fn dept_ref(raw: &str) -> Result<DeptRef, ApiError> {
    if raw == "default-department" {
        return Ok(DeptRef::Default);
    }
    raw.parse::<Uuid>()
        .map(|u| DeptRef::Id(DepartmentId::from(u)))
        .map_err(|_| {
            ApiError::bad_request(
                "invalid_path_parameter",
                "The department id must be a UUID or `default-department`.",
            )
        })
}

/// One blockout as the front end reads it.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UnavailableDateOut {
    /// `YYYY-MM-DD`.
    pub date: String,
    pub reason: Option<String>,
    pub is_all_day: bool,
    /// `HH:MM`, for part of a day.
    pub start_time: Option<String>,
    pub end_time: Option<String>,
}

impl From<&Blockout> for UnavailableDateOut {
    fn from(b: &Blockout) -> Self {
        Self {
            date: b.date.format("%Y-%m-%d").to_string(),
            reason: b.reason.clone(),
            is_all_day: b.is_all_day(),
            start_time: b.start().map(|t| t.format("%H:%M").to_string()),
            end_time: b.end().map(|t| t.format("%H:%M").to_string()),
        }
    }
}

/// A person's month.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MonthOut {
    pub member_id: String,
    pub member_name: String,
    pub department_id: String,
    pub year: i32,
    pub month: u32,
    pub unavailable_dates: Vec<UnavailableDateOut>,
}

impl From<MonthView> for MonthOut {
    fn from(v: MonthView) -> Self {
        Self {
            member_id: v.member.to_string(),
            member_name: v.member_name,
            department_id: v.department.to_string(),
            year: v.month.year(),
            month: v.month.month(),
            unavailable_dates: v.blockouts.iter().map(Into::into).collect(),
        }
    }
}

/// The body of a month PUT: replaces that month's set.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MonthIn {
    pub year: i32,
    pub month: u32,
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub unavailable_dates: Vec<availability::UnavailableDateInput>,
}

impl MonthIn {
    fn payload(self) -> MonthPayload {
        MonthPayload {
            year: self.year,
            month: self.month,
            unavailable_dates: self.unavailable_dates,
        }
    }
}

/// My blockouts for a month.
#[utoipa::path(tag = "availability", security(("bearer" = [])),
    params(("id" = String, Path, description = "A department id or `default-department`"), MonthQuery),
    responses(
    (status = 200, body = MonthOut),
    (status = 404, description = "No such department", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "Month out of range", body = Problem, content_type = "application/problem+json"),
))]
#[get("/departments/{id}/members/me/availabilities")]
pub async fn my_month(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
    path: web::Path<String>,
    q: web::Query<MonthQuery>,
) -> Result<web::Json<MonthOut>, ApiError> {
    let v = ctx
        .availability
        .my_month(&Viewer::of(&auth.user), dept_ref(&path)?, q.month()?)
        .await?;
    Ok(web::Json(v.into()))
}

/// Replace my blockouts of a month (until the department's deadline; leaders any time).
#[utoipa::path(tag = "availability", security(("bearer" = [])),
    params(("id" = String, Path, description = "A department id or `default-department`")),
    request_body = MonthIn, responses(
    (status = 200, body = MonthOut),
    (status = 403, description = "The deadline has passed, or not a member", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "Invalid entries", body = Problem, content_type = "application/problem+json"),
))]
#[put("/departments/{id}/members/me/availabilities")]
pub async fn put_my_month(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
    path: web::Path<String>,
    body: web::Json<MonthIn>,
) -> Result<web::Json<MonthOut>, ApiError> {
    let v = ctx
        .availability
        .put_my_month(
            &Viewer::of(&auth.user),
            dept_ref(&path)?,
            &body.into_inner().payload(),
            ctx.clock.now(),
        )
        .await?;
    Ok(web::Json(v.into()))
}

/// A leader enters a member's blockouts of a month, at any time.
#[utoipa::path(tag = "availability", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("userId" = Uuid, Path)),
    request_body = MonthIn, responses(
    (status = 200, body = MonthOut),
    (status = 403, description = "Not a leader", body = Problem, content_type = "application/problem+json"),
    (status = 404, description = "No such member", body = Problem, content_type = "application/problem+json"),
))]
#[put("/departments/{id}/members/{userId}/availabilities")]
pub async fn put_member_month(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
    path: web::Path<(Uuid, Uuid)>,
    body: web::Json<MonthIn>,
) -> Result<web::Json<MonthOut>, ApiError> {
    let (dept, user) = path.into_inner();
    let v = ctx
        .availability
        .put_member_month(
            &Viewer::of(&auth.user),
            DepartmentId::from(dept),
            UserId::from(user),
            &body.into_inner().payload(),
            ctx.clock.now(),
        )
        .await?;
    Ok(web::Json(v.into()))
}

/// The blockout deadline of a month.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeadlineOut {
    pub department_id: String,
    pub year: i32,
    pub month: u32,
    /// The last day members may change the month (church time zone), `YYYY-MM-DD`.
    pub deadline_date: String,
    pub is_passed: bool,
    /// Negative once passed.
    pub days_until_deadline: i64,
}

/// When blockouts for a month close.
#[utoipa::path(tag = "availability", security(("bearer" = [])),
    params(("id" = String, Path, description = "A department id or `default-department`"), MonthQuery),
    responses((status = 200, body = DeadlineOut)))]
#[get("/departments/{id}/availabilities/deadline")]
pub async fn deadline(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
    path: web::Path<String>,
    q: web::Query<MonthQuery>,
) -> Result<web::Json<DeadlineOut>, ApiError> {
    let month = q.month()?;
    let (dept, d) = ctx
        .availability
        .month_deadline(
            &Viewer::of(&auth.user),
            dept_ref(&path)?,
            month,
            ctx.clock.now(),
        )
        .await?;
    Ok(web::Json(DeadlineOut {
        department_id: dept.to_string(),
        year: month.year(),
        month: month.month(),
        deadline_date: d.deadline_date.format("%Y-%m-%d").to_string(),
        is_passed: d.is_passed,
        days_until_deadline: d.days_until,
    }))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MemberMonthOut {
    pub member_id: String,
    pub member_name: String,
    pub unavailable_dates: Vec<UnavailableDateOut>,
    /// Days with at least one blockout.
    pub total_unavailable_days: usize,
}

/// A department's month, as its leaders see it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OverviewOut {
    pub department_id: String,
    pub department_name: String,
    pub year: i32,
    pub month: u32,
    pub members: Vec<MemberMonthOut>,
}

/// Every member's blockouts of a month (leaders and the administrator).
#[utoipa::path(tag = "availability", security(("bearer" = [])),
    params(("id" = Uuid, Path), MonthQuery), responses(
    (status = 200, body = OverviewOut),
    (status = 403, description = "Not a leader", body = Problem, content_type = "application/problem+json"),
))]
#[get("/departments/{id}/availabilities")]
pub async fn overview(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
    path: web::Path<Uuid>,
    q: web::Query<MonthQuery>,
) -> Result<web::Json<OverviewOut>, ApiError> {
    let month = q.month()?;
    let (dept, rows) = ctx
        .availability
        .overview(
            &Viewer::of(&auth.user),
            DepartmentId::from(path.into_inner()),
            month,
        )
        .await?;
    Ok(web::Json(OverviewOut {
        department_id: dept.department.id.to_string(),
        department_name: dept.department.name,
        year: month.year(),
        month: month.month(),
        members: rows
            .into_iter()
            .map(|m| MemberMonthOut {
                total_unavailable_days: m.unavailable_days(),
                unavailable_dates: m.blockouts.iter().map(Into::into).collect(),
                member_id: m.user.to_string(),
                member_name: m.name,
            })
            .collect(),
    }))
}

/// Someone who has not answered the month yet.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MissingOut {
    pub member_id: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub role: String,
}

/// The members and leaders who have not entered anything for the month (guests aside).
#[utoipa::path(tag = "availability", security(("bearer" = [])),
    params(("id" = Uuid, Path), MonthQuery), responses(
    (status = 200, body = Vec<MissingOut>),
    (status = 403, description = "Not a leader", body = Problem, content_type = "application/problem+json"),
))]
#[get("/departments/{id}/availabilities/missing")]
pub async fn missing(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
    path: web::Path<Uuid>,
    q: web::Query<MonthQuery>,
) -> Result<web::Json<Vec<MissingOut>>, ApiError> {
    let list = ctx
        .availability
        .missing(
            &Viewer::of(&auth.user),
            DepartmentId::from(path.into_inner()),
            q.month()?,
        )
        .await?;
    Ok(web::Json(
        list.into_iter()
            .map(|m| MissingOut {
                member_id: m.user_id.to_string(),
                first_name: m.first_name,
                last_name: m.last_name,
                email: m.email,
                role: m.role.as_str().into(),
            })
            .collect(),
    ))
}
