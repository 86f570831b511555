//! A department's services: one-off or recurring (RRULE), listed by month or range, edited
//! and deleted one at a time or for a whole series (`scope=this|following|all`).

use crate::ApiError;
use crate::auth::AuthUser;
use actix_web::{HttpResponse, delete, get, patch, post, web};
use app::AppContext;
use kernel::{DepartmentId, ServiceId};
use schedule::{
    Created, RangeInput, RoleInput, Scope, Series, Service, ServiceInput, ServicePatchInput,
};
use serde::{Deserialize, Serialize};
use teams::Viewer;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

type Problem = crate::problem::Problem;

/// A role a service needs.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoleOut {
    /// Spelled as the members' skill it matches.
    pub role: String,
    /// 1–50.
    pub count: u32,
}

/// A series' rule.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecurrenceOut {
    /// e.g. `FREQ=WEEKLY;BYDAY=SU;COUNT=8` (UNTIL in its UTC form).
    pub rrule: String,
}

/// A service.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceOut {
    pub id: String,
    pub department_id: String,
    /// The series it belongs to, if any.
    pub series_id: Option<String>,
    /// An occurrence edited alone: series edits leave it as it is.
    pub is_exception: bool,
    pub name: String,
    /// Empty when not given.
    pub service_type: String,
    /// `YYYY-MM-DD`, local to the church.
    pub date: String,
    /// `HH:MM`, local to the church.
    pub start_time: String,
    pub end_time: String,
    pub location: Option<String>,
    pub notes: Option<String>,
    pub required_roles: Vec<RoleOut>,
    /// Its series' rule; `null` for a one-off.
    pub recurrence: Option<RecurrenceOut>,
}

impl From<Service> for ServiceOut {
    fn from(s: Service) -> Self {
        Self {
            id: s.id.to_string(),
            department_id: s.department.to_string(),
            series_id: s.series.map(|x| x.to_string()),
            is_exception: s.is_exception,
            name: s.name,
            service_type: s.service_type,
            date: s.date.format("%Y-%m-%d").to_string(),
            start_time: s.start.format("%H:%M").to_string(),
            end_time: s.end.format("%H:%M").to_string(),
            location: s.location,
            notes: s.notes,
            required_roles: s
                .required_roles
                .into_iter()
                .map(|r| RoleOut {
                    role: r.role,
                    count: r.count,
                })
                .collect(),
            recurrence: s.rrule.map(|rrule| RecurrenceOut { rrule }),
        }
    }
}

/// A recurring series and the services it made.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SeriesOut {
    pub id: String,
    pub department_id: String,
    pub recurrence: RecurrenceOut,
    /// The first date asked for (DTSTART), `YYYY-MM-DD`.
    pub date: String,
    pub name: String,
    pub service_type: String,
    pub start_time: String,
    pub end_time: String,
    pub location: Option<String>,
    pub notes: Option<String>,
    pub required_roles: Vec<RoleOut>,
    /// Its services, by date.
    pub occurrences: Vec<ServiceOut>,
}

impl SeriesOut {
    fn new(s: Series, services: Vec<Service>) -> Self {
        Self {
            id: s.id.to_string(),
            department_id: s.department.to_string(),
            recurrence: RecurrenceOut { rrule: s.rrule },
            date: s.dtstart.format("%Y-%m-%d").to_string(),
            name: s.name,
            service_type: s.service_type,
            start_time: s.start.format("%H:%M").to_string(),
            end_time: s.end.format("%H:%M").to_string(),
            location: s.location,
            notes: s.notes,
            required_roles: s
                .required_roles
                .into_iter()
                .map(|r| RoleOut {
                    role: r.role,
                    count: r.count,
                })
                .collect(),
            occurrences: services.into_iter().map(Into::into).collect(),
        }
    }
}

/// What a creation answers: the service, or the series with its occurrences.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum CreatedOut {
    Service(ServiceOut),
    Series(SeriesOut),
}

/// A role, as sent.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoleIn {
    /// A skill of at least one member of the department (matched ignoring case).
    pub role: Option<String>,
    /// 1–50.
    pub count: Option<i64>,
}

impl From<RoleIn> for RoleInput {
    fn from(r: RoleIn) -> Self {
        RoleInput {
            role: r.role,
            count: r.count,
        }
    }
}

/// A rule, as sent.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecurrenceIn {
    /// An RFC 5545 RRULE with COUNT or UNTIL, at most daily, at most 366 services, e.g.
    /// `FREQ=WEEKLY;BYDAY=SU;COUNT=8`; the service's `date` is its DTSTART.
    pub rrule: Option<String>,
}

/// A new service, or with `recurrence` a series.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceIn {
    /// 1–100 characters.
    pub name: Option<String>,
    /// At most 50 characters.
    pub service_type: Option<String>,
    /// `YYYY-MM-DD` (the first date of a series); the service must start in the future.
    pub date: Option<String>,
    /// `HH:MM`.
    pub start_time: Option<String>,
    /// `HH:MM`, after `startTime`, the same day.
    pub end_time: Option<String>,
    /// At most 200 characters.
    pub location: Option<String>,
    /// At most 2000 characters.
    pub notes: Option<String>,
    /// At most 30 roles, each once.
    pub required_roles: Option<Vec<RoleIn>>,
    pub recurrence: Option<RecurrenceIn>,
}

impl From<ServiceIn> for ServiceInput {
    fn from(b: ServiceIn) -> Self {
        ServiceInput {
            name: b.name,
            service_type: b.service_type,
            date: b.date,
            start_time: b.start_time,
            end_time: b.end_time,
            location: b.location,
            notes: b.notes,
            required_roles: b
                .required_roles
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            rrule: b.recurrence.map(|r| r.rrule.unwrap_or_default()),
        }
    }
}

/// A change; absent fields stay as they are.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServicePatchIn {
    pub name: Option<String>,
    pub service_type: Option<String>,
    /// Only with `scope=this` (the current date may be sent back with any scope).
    pub date: Option<String>,
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    /// `null` removes it.
    #[serde(default, deserialize_with = "crate::routes::users::double_option")]
    #[schema(value_type = Option<String>)]
    pub location: Option<Option<String>>,
    /// `null` removes it.
    #[serde(default, deserialize_with = "crate::routes::users::double_option")]
    #[schema(value_type = Option<String>)]
    pub notes: Option<Option<String>>,
    /// Replaces the list.
    pub required_roles: Option<Vec<RoleIn>>,
    /// Not supported: a series' rule does not change (the current one may be sent back).
    #[schema(value_type = Option<Object>)]
    pub recurrence: Option<serde_json::Value>,
}

impl From<ServicePatchIn> for ServicePatchInput {
    fn from(b: ServicePatchIn) -> Self {
        ServicePatchInput {
            name: b.name,
            service_type: b.service_type,
            date: b.date,
            start_time: b.start_time,
            end_time: b.end_time,
            location: b.location,
            notes: b.notes,
            required_roles: b
                .required_roles
                .map(|r| r.into_iter().map(Into::into).collect()),
            recurrence: b.recurrence.filter(|v| !v.is_null()).map(|v| {
                v.get("rrule")
                    .and_then(|r| r.as_str())
                    .unwrap_or_default()
                    .to_string()
            }),
        }
    }
}

#[derive(Deserialize, IntoParams)]
pub struct ListQuery {
    /// With `month`: that calendar month.
    pub year: Option<i32>,
    /// 1–12, with `year`.
    pub month: Option<u32>,
    /// `YYYY-MM-DD`; default today (church time zone).
    pub from: Option<String>,
    /// `YYYY-MM-DD`, included; default `from` + 365 days; at most 366 days after `from`.
    pub to: Option<String>,
}

#[derive(Deserialize, IntoParams)]
pub struct ScopeQuery {
    /// `this` (default), `following` or `all`.
    #[param(value_type = Option<String>)]
    pub scope: Option<Scope>,
}

/// A department's services, by date then start time: a month (`year`, `month`), a range
/// (`from`, `to`), or by default the coming 366 days.
#[utoipa::path(tag = "services", security(("bearer" = [])), params(("id" = Uuid, Path), ListQuery),
    responses(
    (status = 200, body = Vec<ServiceOut>),
    (status = 403, description = "Not a member", body = Problem, content_type = "application/problem+json"),
    (status = 404, description = "No such department", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "Bad month or range", body = Problem, content_type = "application/problem+json"),
))]
#[get("/departments/{id}/services")]
pub async fn list(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
    path: web::Path<Uuid>,
    q: web::Query<ListQuery>,
) -> Result<web::Json<Vec<ServiceOut>>, ApiError> {
    let q = q.into_inner();
    let list = ctx
        .schedule
        .list(
            &Viewer::of(&auth.user),
            DepartmentId::from(path.into_inner()),
            &RangeInput {
                year: q.year,
                month: q.month,
                from: q.from,
                to: q.to,
            },
            ctx.clock.now(),
        )
        .await?;
    Ok(web::Json(list.into_iter().map(Into::into).collect()))
}

/// Create a service, or with `recurrence` a series and all its services (leaders and the
/// administrator).
#[utoipa::path(tag = "services", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body = ServiceIn, responses(
    (status = 201, body = CreatedOut, description = "The service, or the series with its occurrences"),
    (status = 403, description = "Not a leader", body = Problem, content_type = "application/problem+json"),
    (status = 404, description = "No such department", body = Problem, content_type = "application/problem+json"),
    (status = 409, description = "The department is archived", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "Invalid fields, an unknown role, a rule refused (`invalid_recurrence`) or a start in the past (`starts_in_past`)", body = Problem, content_type = "application/problem+json"),
))]
#[post("/departments/{id}/services")]
pub async fn create(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
    path: web::Path<Uuid>,
    body: web::Json<ServiceIn>,
) -> Result<HttpResponse, ApiError> {
    let created = ctx
        .schedule
        .create(
            &Viewer::of(&auth.user),
            DepartmentId::from(path.into_inner()),
            &body.into_inner().into(),
            ctx.clock.now(),
        )
        .await?;
    let out = match created {
        Created::One(s) => CreatedOut::Service(s.into()),
        Created::Series { series, services } => {
            CreatedOut::Series(SeriesOut::new(series, services))
        }
    };
    Ok(HttpResponse::Created().json(out))
}

/// One service.
#[utoipa::path(tag = "services", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("serviceId" = Uuid, Path)), responses(
    (status = 200, body = ServiceOut),
    (status = 404, description = "No such service", body = Problem, content_type = "application/problem+json"),
))]
#[get("/departments/{id}/services/{serviceId}")]
pub async fn get_one(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<web::Json<ServiceOut>, ApiError> {
    let (dept, id) = path.into_inner();
    let s = ctx
        .schedule
        .get(
            &Viewer::of(&auth.user),
            DepartmentId::from(dept),
            ServiceId::from(id),
        )
        .await?;
    Ok(web::Json(s.into()))
}

/// Change a service (`scope=this`, it becomes an exception of its series), it and the later
/// services of its series (`following`), or every future service of its series (`all`).
/// Services that have started are never changed; a series' rule cannot be changed (delete the
/// series and create it again).
#[utoipa::path(tag = "services", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("serviceId" = Uuid, Path), ScopeQuery),
    request_body = ServicePatchIn, responses(
    (status = 200, body = ServiceOut, description = "The service named in the path, as it is now"),
    (status = 403, description = "Not a leader", body = Problem, content_type = "application/problem+json"),
    (status = 404, description = "No such service", body = Problem, content_type = "application/problem+json"),
    (status = 409, description = "The service has already started (`service_in_past`), or the department is archived", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "Invalid fields, or a move into the past (`starts_in_past`)", body = Problem, content_type = "application/problem+json"),
))]
#[patch("/departments/{id}/services/{serviceId}")]
pub async fn update(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
    path: web::Path<(Uuid, Uuid)>,
    q: web::Query<ScopeQuery>,
    body: web::Json<ServicePatchIn>,
) -> Result<web::Json<ServiceOut>, ApiError> {
    let (dept, id) = path.into_inner();
    let s = ctx
        .schedule
        .update(
            &Viewer::of(&auth.user),
            DepartmentId::from(dept),
            ServiceId::from(id),
            q.scope.unwrap_or_default(),
            &body.into_inner().into(),
            ctx.clock.now(),
        )
        .await?;
    Ok(web::Json(s.into()))
}

/// Delete a service, it and the later services of its series (`following`), or every future
/// service of its series (`all`). Their assignments go with them; started services stay.
#[utoipa::path(tag = "services", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("serviceId" = Uuid, Path), ScopeQuery), responses(
    (status = 204, description = "Deleted"),
    (status = 403, description = "Not a leader", body = Problem, content_type = "application/problem+json"),
    (status = 404, description = "No such service", body = Problem, content_type = "application/problem+json"),
    (status = 409, description = "The service has already started (`service_in_past`), or the department is archived", body = Problem, content_type = "application/problem+json"),
))]
#[delete("/departments/{id}/services/{serviceId}")]
pub async fn remove(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
    path: web::Path<(Uuid, Uuid)>,
    q: web::Query<ScopeQuery>,
) -> Result<HttpResponse, ApiError> {
    let (dept, id) = path.into_inner();
    ctx.schedule
        .delete(
            &Viewer::of(&auth.user),
            DepartmentId::from(dept),
            ServiceId::from(id),
            q.scope.unwrap_or_default(),
            ctx.clock.now(),
        )
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
