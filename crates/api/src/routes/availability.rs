//! Blockouts: the month view of the front end's availability page (shapes of
//! `shared/guide/frontend-contract.md`), the deadline, the leaders' overview, who has not
//! answered, and a person's date ranges and weekly rules. The page sends the literal
//! department id `default-department`.

use crate::ApiError;
use crate::auth::AuthUser;
use actix_web::{HttpResponse, delete, get, post, put, web};
use app::AppContext;
use availability::{
    DeptRef, Entry, Month, MonthPayload, MonthView, Person, RangeId, RangeInput, StoredRange,
    StoredWeeklyRule, WeeklyInput, WeeklyRuleId,
};
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

fn hm(t: chrono::NaiveTime) -> String {
    t.format("%H:%M").to_string()
}

fn ymd(d: chrono::NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
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
    /// `date` (a one-off entry of the month), `range` or `weekly` (a day a date range or a
    /// weekly rule gives the month). A PUT of the month never turns range or weekly days into
    /// one-offs.
    pub source: String,
    /// The range's or weekly rule's id; `null` for a one-off.
    pub rule_id: Option<String>,
}

impl From<&Entry> for UnavailableDateOut {
    fn from(e: &Entry) -> Self {
        let b = &e.blockout;
        Self {
            date: ymd(b.date),
            reason: b.reason.clone(),
            is_all_day: b.is_all_day(),
            start_time: b.start().map(hm),
            end_time: b.end().map(hm),
            source: e.source.as_str().into(),
            rule_id: e.source.rule_id().map(|u| u.to_string()),
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
            unavailable_dates: v.entries.iter().map(Into::into).collect(),
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

/// My blockouts for a month: one-off entries, and the days my date ranges and weekly rules
/// give it (`source`, `ruleId`).
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

/// Replace my one-off blockouts of a month (until the department's deadline; leaders any
/// time). Entries a date range or weekly rule already gives are not copied into one-offs, so
/// sending back what the GET returned changes nothing.
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
                unavailable_dates: m.entries.iter().map(Into::into).collect(),
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

/// The month to chase: `month=YYYY-MM`, or `year=YYYY&month=M` as on the other availability
/// routes.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RemindQuery {
    pub year: Option<i32>,
    /// `YYYY-MM`, or 1–12 with `year`.
    pub month: String,
}

impl RemindQuery {
    fn month(&self) -> Result<Month, ApiError> {
        let bad = || {
            ApiError::Validation(vec![kernel::FieldError {
                field: "month".into(),
                code: "invalid_format".into(),
                message: "A month as YYYY-MM (or year=YYYY&month=M).".into(),
            }])
        };
        let (year, month) = match self.year {
            Some(y) => (y, self.month.trim().parse::<u32>().map_err(|_| bad())?),
            None => {
                let (y, m) = self.month.trim().split_once('-').ok_or_else(bad)?;
                if y.len() != 4 || m.len() != 2 {
                    return Err(bad());
                }
                (
                    y.parse::<i32>().map_err(|_| bad())?,
                    m.parse::<u32>().map_err(|_| bad())?,
                )
            }
        };
        Month::new(year, month).map_err(|e| ApiError::Validation(e.0))
    }
}

/// How many people a chase reminded.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RemindedOut {
    pub reminded: u32,
}

/// Remind everyone who has entered nothing for the month (leaders and the administrator): an
/// in-app notification (and an email by preference) each. At most once an hour per
/// department and month.
#[utoipa::path(tag = "availability", security(("bearer" = [])),
    params(("id" = Uuid, Path), RemindQuery), responses(
    (status = 200, body = RemindedOut),
    (status = 403, description = "Not a leader", body = Problem, content_type = "application/problem+json"),
    (status = 404, description = "No such department in my church", body = Problem, content_type = "application/problem+json"),
    (status = 409, description = "The month's deadline has passed", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "Invalid month", body = Problem, content_type = "application/problem+json"),
    (status = 429, description = "Chased less than an hour ago (see Retry-After)", body = Problem, content_type = "application/problem+json"),
))]
#[post("/departments/{id}/availabilities/missing/remind")]
pub async fn remind_missing(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
    path: web::Path<Uuid>,
    q: web::Query<RemindQuery>,
) -> Result<web::Json<RemindedOut>, ApiError> {
    let reminded = ctx
        .availability
        .remind_missing(
            &Viewer::of(&auth.user),
            DepartmentId::from(path.into_inner()),
            q.month()?,
            ctx.clock.now(),
        )
        .await?;
    Ok(web::Json(RemindedOut { reminded }))
}

// ---- date ranges and weekly rules ----

/// A date range ("away 3–17 Aug").
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RangeOut {
    pub id: String,
    pub member_id: String,
    /// `YYYY-MM-DD`, first day.
    pub from: String,
    /// `YYYY-MM-DD`, last day (included).
    pub to: String,
    pub is_all_day: bool,
    /// `HH:MM`, the same part of every day.
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    pub reason: Option<String>,
    pub created_at: String,
}

impl From<&StoredRange> for RangeOut {
    fn from(r: &StoredRange) -> Self {
        Self {
            id: r.id.to_string(),
            member_id: r.user.to_string(),
            from: ymd(r.range.from),
            to: ymd(r.range.to),
            is_all_day: r.range.window.is_none(),
            start_time: r.range.window.map(|(s, _)| hm(s)),
            end_time: r.range.window.map(|(_, e)| hm(e)),
            reason: r.range.reason.clone(),
            created_at: r.created_at.to_rfc3339(),
        }
    }
}

/// A weekly rule ("every Wednesday evening until June").
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WeeklyOut {
    pub id: String,
    pub member_id: String,
    /// `monday` … `sunday`.
    pub weekday: String,
    pub is_all_day: bool,
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    /// `YYYY-MM-DD`, the first day it applies (included).
    pub starts_on: String,
    /// `YYYY-MM-DD`, the last day it applies (included); `null`: no end.
    pub until: Option<String>,
    pub reason: Option<String>,
    pub created_at: String,
}

impl From<&StoredWeeklyRule> for WeeklyOut {
    fn from(w: &StoredWeeklyRule) -> Self {
        Self {
            id: w.id.to_string(),
            member_id: w.user.to_string(),
            weekday: availability::model::weekday_name(w.rule.weekday).into(),
            is_all_day: w.rule.window.is_none(),
            start_time: w.rule.window.map(|(s, _)| hm(s)),
            end_time: w.rule.window.map(|(_, e)| hm(e)),
            starts_on: ymd(w.rule.starts),
            until: w.rule.until.map(ymd),
            reason: w.rule.reason.clone(),
            created_at: w.created_at.to_rfc3339(),
        }
    }
}

/// The body of a range POST.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RangeIn {
    /// `YYYY-MM-DD`, first day (2000–2100).
    pub from: Option<String>,
    /// `YYYY-MM-DD`, last day, at most 366 days after `from` counting both.
    pub to: Option<String>,
    pub is_all_day: Option<bool>,
    /// `HH:MM`, for part of each day.
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    /// At most 200 characters.
    pub reason: Option<String>,
}

impl From<RangeIn> for RangeInput {
    fn from(b: RangeIn) -> Self {
        RangeInput {
            from: b.from,
            to: b.to,
            is_all_day: b.is_all_day,
            start_time: b.start_time,
            end_time: b.end_time,
            reason: b.reason,
        }
    }
}

/// The body of a weekly rule POST.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WeeklyIn {
    /// `monday` … `sunday`.
    pub weekday: Option<String>,
    pub is_all_day: Option<bool>,
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    /// `YYYY-MM-DD`, the first day it applies.
    pub starts_on: Option<String>,
    /// `YYYY-MM-DD`, the last day it applies; absent or `null`: no end.
    pub until: Option<String>,
    pub reason: Option<String>,
}

impl From<WeeklyIn> for WeeklyInput {
    fn from(b: WeeklyIn) -> Self {
        WeeklyInput {
            weekday: b.weekday,
            is_all_day: b.is_all_day,
            start_time: b.start_time,
            end_time: b.end_time,
            starts_on: b.starts_on,
            until: b.until,
            reason: b.reason,
        }
    }
}

async fn list_ranges(
    ctx: &AppContext,
    auth: &AuthUser,
    dept: DeptRef,
    who: Person,
) -> Result<web::Json<Vec<RangeOut>>, ApiError> {
    let v = ctx
        .availability
        .ranges(&Viewer::of(&auth.user), dept, who)
        .await?;
    Ok(web::Json(v.rules.iter().map(Into::into).collect()))
}

async fn create_range(
    ctx: &AppContext,
    auth: &AuthUser,
    dept: DeptRef,
    who: Person,
    body: RangeIn,
) -> Result<HttpResponse, ApiError> {
    let r = ctx
        .availability
        .add_range(
            &Viewer::of(&auth.user),
            dept,
            who,
            &body.into(),
            ctx.clock.now(),
        )
        .await?;
    Ok(HttpResponse::Created().json(RangeOut::from(&r)))
}

async fn remove_range(
    ctx: &AppContext,
    auth: &AuthUser,
    dept: DeptRef,
    who: Person,
    id: Uuid,
) -> Result<HttpResponse, ApiError> {
    ctx.availability
        .delete_range(
            &Viewer::of(&auth.user),
            dept,
            who,
            RangeId::from(id),
            ctx.clock.now(),
        )
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn list_weekly(
    ctx: &AppContext,
    auth: &AuthUser,
    dept: DeptRef,
    who: Person,
) -> Result<web::Json<Vec<WeeklyOut>>, ApiError> {
    let v = ctx
        .availability
        .weekly_rules(&Viewer::of(&auth.user), dept, who)
        .await?;
    Ok(web::Json(v.rules.iter().map(Into::into).collect()))
}

async fn create_weekly(
    ctx: &AppContext,
    auth: &AuthUser,
    dept: DeptRef,
    who: Person,
    body: WeeklyIn,
) -> Result<HttpResponse, ApiError> {
    let w = ctx
        .availability
        .add_weekly_rule(
            &Viewer::of(&auth.user),
            dept,
            who,
            &body.into(),
            ctx.clock.now(),
        )
        .await?;
    Ok(HttpResponse::Created().json(WeeklyOut::from(&w)))
}

async fn remove_weekly(
    ctx: &AppContext,
    auth: &AuthUser,
    dept: DeptRef,
    who: Person,
    id: Uuid,
) -> Result<HttpResponse, ApiError> {
    ctx.availability
        .delete_weekly_rule(
            &Viewer::of(&auth.user),
            dept,
            who,
            WeeklyRuleId::from(id),
            ctx.clock.now(),
        )
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

fn member(path: (Uuid, Uuid)) -> (DeptRef, Person) {
    (
        DeptRef::Id(DepartmentId::from(path.0)),
        Person::Member(UserId::from(path.1)),
    )
}

/// My date ranges, past ones included, by first day.
#[utoipa::path(tag = "availability", security(("bearer" = [])),
    params(("id" = String, Path, description = "A department id or `default-department`")),
    responses((status = 200, body = Vec<RangeOut>)))]
#[get("/departments/{id}/members/me/availabilities/ranges")]
pub async fn my_ranges(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
    path: web::Path<String>,
) -> Result<web::Json<Vec<RangeOut>>, ApiError> {
    list_ranges(&ctx, &auth, dept_ref(&path)?, Person::Me).await
}

/// Add a date range to my blockouts: every day from `from` to `to`, whole or the same part of
/// each day. Refused (403) when the deadline of the first month it touches has passed, unless
/// I lead the department; 409 `too_many_ranges` beyond 50 current ranges.
#[utoipa::path(tag = "availability", security(("bearer" = [])),
    params(("id" = String, Path, description = "A department id or `default-department`")),
    request_body = RangeIn, responses(
    (status = 201, body = RangeOut),
    (status = 403, description = "A month it touches is closed, or not a member", body = Problem, content_type = "application/problem+json"),
    (status = 409, description = "Too many ranges", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "Invalid range", body = Problem, content_type = "application/problem+json"),
))]
#[post("/departments/{id}/members/me/availabilities/ranges")]
pub async fn add_my_range(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
    path: web::Path<String>,
    body: web::Json<RangeIn>,
) -> Result<HttpResponse, ApiError> {
    create_range(&ctx, &auth, dept_ref(&path)?, Person::Me, body.into_inner()).await
}

/// Delete one of my date ranges (refused when a month it touches is closed, unless I lead the
/// department).
#[utoipa::path(tag = "availability", security(("bearer" = [])),
    params(("id" = String, Path, description = "A department id or `default-department`"), ("rangeId" = Uuid, Path)),
    responses(
    (status = 204, description = "Deleted"),
    (status = 403, description = "A month it touches is closed", body = Problem, content_type = "application/problem+json"),
    (status = 404, description = "No such range", body = Problem, content_type = "application/problem+json"),
))]
#[delete("/departments/{id}/members/me/availabilities/ranges/{rangeId}")]
pub async fn delete_my_range(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
    path: web::Path<(String, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (dept, id) = path.into_inner();
    remove_range(&ctx, &auth, dept_ref(&dept)?, Person::Me, id).await
}

/// My weekly rules, ended ones included, oldest first.
#[utoipa::path(tag = "availability", security(("bearer" = [])),
    params(("id" = String, Path, description = "A department id or `default-department`")),
    responses((status = 200, body = Vec<WeeklyOut>)))]
#[get("/departments/{id}/members/me/availabilities/weekly")]
pub async fn my_weekly(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
    path: web::Path<String>,
) -> Result<web::Json<Vec<WeeklyOut>>, ApiError> {
    list_weekly(&ctx, &auth, dept_ref(&path)?, Person::Me).await
}

/// Add a weekly rule: the same weekday every week from `startsOn` to `until` (or for ever).
/// Refused (403) when the deadline of the month of its first occurrence has passed, unless I
/// lead the department; 409 `too_many_weekly_rules` beyond 20 current rules.
#[utoipa::path(tag = "availability", security(("bearer" = [])),
    params(("id" = String, Path, description = "A department id or `default-department`")),
    request_body = WeeklyIn, responses(
    (status = 201, body = WeeklyOut),
    (status = 403, description = "A month it touches is closed, or not a member", body = Problem, content_type = "application/problem+json"),
    (status = 409, description = "Too many weekly rules", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "Invalid rule", body = Problem, content_type = "application/problem+json"),
))]
#[post("/departments/{id}/members/me/availabilities/weekly")]
pub async fn add_my_weekly(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
    path: web::Path<String>,
    body: web::Json<WeeklyIn>,
) -> Result<HttpResponse, ApiError> {
    create_weekly(&ctx, &auth, dept_ref(&path)?, Person::Me, body.into_inner()).await
}

/// Delete one of my weekly rules (refused when the month of its first occurrence is closed,
/// unless I lead the department).
#[utoipa::path(tag = "availability", security(("bearer" = [])),
    params(("id" = String, Path, description = "A department id or `default-department`"), ("ruleId" = Uuid, Path)),
    responses(
    (status = 204, description = "Deleted"),
    (status = 403, description = "A month it touches is closed", body = Problem, content_type = "application/problem+json"),
    (status = 404, description = "No such rule", body = Problem, content_type = "application/problem+json"),
))]
#[delete("/departments/{id}/members/me/availabilities/weekly/{ruleId}")]
pub async fn delete_my_weekly(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
    path: web::Path<(String, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (dept, id) = path.into_inner();
    remove_weekly(&ctx, &auth, dept_ref(&dept)?, Person::Me, id).await
}

/// A member's date ranges (leaders and the administrator).
#[utoipa::path(tag = "availability", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("userId" = Uuid, Path)), responses(
    (status = 200, body = Vec<RangeOut>),
    (status = 403, description = "Not a leader", body = Problem, content_type = "application/problem+json"),
    (status = 404, description = "No such member", body = Problem, content_type = "application/problem+json"),
))]
#[get("/departments/{id}/members/{userId}/availabilities/ranges")]
pub async fn member_ranges(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<web::Json<Vec<RangeOut>>, ApiError> {
    let (dept, who) = member(path.into_inner());
    list_ranges(&ctx, &auth, dept, who).await
}

/// A leader adds a date range to a member's blockouts, at any time.
#[utoipa::path(tag = "availability", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("userId" = Uuid, Path)),
    request_body = RangeIn, responses(
    (status = 201, body = RangeOut),
    (status = 403, description = "Not a leader", body = Problem, content_type = "application/problem+json"),
    (status = 404, description = "No such member", body = Problem, content_type = "application/problem+json"),
    (status = 409, description = "Too many ranges", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "Invalid range", body = Problem, content_type = "application/problem+json"),
))]
#[post("/departments/{id}/members/{userId}/availabilities/ranges")]
pub async fn add_member_range(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
    path: web::Path<(Uuid, Uuid)>,
    body: web::Json<RangeIn>,
) -> Result<HttpResponse, ApiError> {
    let (dept, who) = member(path.into_inner());
    create_range(&ctx, &auth, dept, who, body.into_inner()).await
}

/// A leader deletes a member's date range, at any time.
#[utoipa::path(tag = "availability", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("userId" = Uuid, Path), ("rangeId" = Uuid, Path)), responses(
    (status = 204, description = "Deleted"),
    (status = 403, description = "Not a leader", body = Problem, content_type = "application/problem+json"),
    (status = 404, description = "No such member or range", body = Problem, content_type = "application/problem+json"),
))]
#[delete("/departments/{id}/members/{userId}/availabilities/ranges/{rangeId}")]
pub async fn delete_member_range(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
    path: web::Path<(Uuid, Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (d, u, id) = path.into_inner();
    let (dept, who) = member((d, u));
    remove_range(&ctx, &auth, dept, who, id).await
}

/// A member's weekly rules (leaders and the administrator).
#[utoipa::path(tag = "availability", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("userId" = Uuid, Path)), responses(
    (status = 200, body = Vec<WeeklyOut>),
    (status = 403, description = "Not a leader", body = Problem, content_type = "application/problem+json"),
    (status = 404, description = "No such member", body = Problem, content_type = "application/problem+json"),
))]
#[get("/departments/{id}/members/{userId}/availabilities/weekly")]
pub async fn member_weekly(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<web::Json<Vec<WeeklyOut>>, ApiError> {
    let (dept, who) = member(path.into_inner());
    list_weekly(&ctx, &auth, dept, who).await
}

/// A leader adds a weekly rule to a member's blockouts, at any time.
#[utoipa::path(tag = "availability", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("userId" = Uuid, Path)),
    request_body = WeeklyIn, responses(
    (status = 201, body = WeeklyOut),
    (status = 403, description = "Not a leader", body = Problem, content_type = "application/problem+json"),
    (status = 404, description = "No such member", body = Problem, content_type = "application/problem+json"),
    (status = 409, description = "Too many weekly rules", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "Invalid rule", body = Problem, content_type = "application/problem+json"),
))]
#[post("/departments/{id}/members/{userId}/availabilities/weekly")]
pub async fn add_member_weekly(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
    path: web::Path<(Uuid, Uuid)>,
    body: web::Json<WeeklyIn>,
) -> Result<HttpResponse, ApiError> {
    let (dept, who) = member(path.into_inner());
    create_weekly(&ctx, &auth, dept, who, body.into_inner()).await
}

/// A leader deletes a member's weekly rule, at any time.
#[utoipa::path(tag = "availability", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("userId" = Uuid, Path), ("ruleId" = Uuid, Path)), responses(
    (status = 204, description = "Deleted"),
    (status = 403, description = "Not a leader", body = Problem, content_type = "application/problem+json"),
    (status = 404, description = "No such member or rule", body = Problem, content_type = "application/problem+json"),
))]
#[delete("/departments/{id}/members/{userId}/availabilities/weekly/{ruleId}")]
pub async fn delete_member_weekly(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
    path: web::Path<(Uuid, Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (d, u, id) = path.into_inner();
    let (dept, who) = member((d, u));
    remove_weekly(&ctx, &auth, dept, who, id).await
}
