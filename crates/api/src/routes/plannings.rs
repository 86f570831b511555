//! The rota: a department's plannings, generation as a worker job, manual edits under
//! optimistic concurrency, replacement suggestions, publication, and members' own
//! assignments with their answers. The front end calls `{API}/plannings/{id}` unprefixed.

use crate::ApiError;
use crate::auth::AuthUser;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use app::AppContext;
use availability::Month;
use chrono::{DateTime, Utc};
use kernel::{AssignmentId, DepartmentId, JobId, PlanningId, ServiceId, UserId};
use rota::service::{AssignmentEdit, EditTarget, PlanningView};
use rota::{Assignment, MyAssignment, Planning, RuleBreak, SlotExplanation};
use serde::{Deserialize, Serialize};
use teams::Viewer;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

type Problem = crate::problem::Problem;

fn hm(t: chrono::NaiveTime) -> String {
    t.format("%H:%M").to_string()
}

/// A planning without its month, as lists show it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlanningSummaryOut {
    #[schema(value_type = String, format = Uuid)]
    pub id: PlanningId,
    #[schema(value_type = String, format = Uuid)]
    pub department_id: DepartmentId,
    pub year: i32,
    pub month: u32,
    /// draft, generated, published or archived.
    pub status: String,
    /// Send it back (body `version` or `If-Match`) with every change.
    pub version: i32,
    pub required_slots: u32,
    pub filled_slots: u32,
    /// filled / required, in [0, 1]; null before the first generation.
    pub confidence_score: Option<f64>,
    pub generated_at: Option<DateTime<Utc>>,
    pub published_at: Option<DateTime<Utc>>,
}

impl From<&Planning> for PlanningSummaryOut {
    fn from(p: &Planning) -> Self {
        Self {
            id: p.id,
            department_id: p.department,
            year: p.month.year(),
            month: p.month.month(),
            status: p.status.as_str().into(),
            version: p.version,
            required_slots: p.required_slots,
            filled_slots: p.filled_slots,
            confidence_score: p.confidence_score,
            generated_at: p.generated_at,
            published_at: p.published_at,
        }
    }
}

/// One assignment on the rota.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssignmentOut {
    #[schema(value_type = String, format = Uuid)]
    pub id: AssignmentId,
    #[schema(value_type = String, format = Uuid)]
    pub service_id: ServiceId,
    #[schema(value_type = String, format = Uuid)]
    pub user_id: UserId,
    pub member_name: String,
    pub role: String,
    pub pinned: bool,
    /// Kept although it breaks the rules in `warnings`.
    pub forced: bool,
    #[schema(value_type = Vec<Object>)]
    pub warnings: Vec<RuleBreak>,
    /// pending, confirmed or declined.
    pub status: String,
    pub decline_reason: Option<String>,
    pub responded_at: Option<DateTime<Utc>>,
    /// `member_removed` when the member left the department after publication.
    pub flag: Option<String>,
}

fn assignment_out(a: &Assignment, name: String) -> AssignmentOut {
    AssignmentOut {
        id: a.id,
        service_id: a.service,
        user_id: a.user,
        member_name: name,
        role: a.role.clone(),
        pinned: a.pinned,
        forced: a.forced,
        warnings: a.warnings.clone(),
        status: a.status.as_str().into(),
        decline_reason: a.decline_reason.clone(),
        responded_at: a.responded_at,
        flag: a.flag.clone(),
    }
}

#[derive(Serialize, ToSchema)]
pub struct RoleCountOut {
    pub role: String,
    pub count: u32,
}

/// A service of the month with its assignments.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RotaServiceOut {
    #[schema(value_type = String, format = Uuid)]
    pub id: ServiceId,
    pub name: String,
    pub service_type: String,
    pub date: String,
    pub start_time: String,
    pub end_time: String,
    pub location: Option<String>,
    pub required_roles: Vec<RoleCountOut>,
    pub assignments: Vec<AssignmentOut>,
}

/// A planning with its month.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlanningOut {
    #[serde(flatten)]
    pub summary: PlanningSummaryOut,
    pub department_name: String,
    /// Whether the caller may change it (leaders and the administrator).
    pub can_manage: bool,
    pub services: Vec<RotaServiceOut>,
    /// Every empty slot: who has the skill and why each of them is not there (leaders only).
    #[schema(value_type = Vec<Object>)]
    pub unfilled: Vec<SlotExplanation>,
}

impl From<PlanningView> for PlanningOut {
    fn from(v: PlanningView) -> Self {
        let d = &v.data;
        let services = d
            .services
            .iter()
            .map(|s| RotaServiceOut {
                id: s.id,
                name: s.name.clone(),
                service_type: s.service_type.clone(),
                date: s.date.to_string(),
                start_time: hm(s.start),
                end_time: hm(s.end),
                location: s.location.clone(),
                required_roles: s
                    .required_roles
                    .iter()
                    .map(|r| RoleCountOut {
                        role: r.role.clone(),
                        count: r.count,
                    })
                    .collect(),
                assignments: d
                    .assignments
                    .iter()
                    .filter(|a| a.service == s.id)
                    .map(|a| assignment_out(a, d.name_of(a.user)))
                    .collect(),
            })
            .collect();
        PlanningOut {
            summary: (&d.planning).into(),
            department_name: d.department_name.clone(),
            can_manage: v.can_manage,
            services,
            unfilled: if v.can_manage {
                d.planning.explanations.clone()
            } else {
                Vec::new()
            },
        }
    }
}

fn etag(version: i32) -> (header::HeaderName, String) {
    (header::ETAG, format!("\"{version}\""))
}

/// The version a write was based on: `If-Match` or the body's `version`.
fn version_of(req: &HttpRequest, body: Option<i32>) -> Result<i32, ApiError> {
    if let Some(v) = req.headers().get(header::IF_MATCH) {
        let raw = v.to_str().unwrap_or_default().trim();
        let raw = raw.strip_prefix("W/").unwrap_or(raw).trim_matches('"');
        return raw.parse().map_err(|_| {
            ApiError::bad_request(
                "invalid_if_match",
                "If-Match must hold the rota's version, as its ETag gives it.",
            )
        });
    }
    body.ok_or_else(|| {
        ApiError::PreconditionRequired(
            "Say which version of the rota you are changing: send `version` (or If-Match with its ETag)."
                .into(),
        )
    })
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreatePlanningIn {
    pub year: i32,
    /// 1–12.
    pub month: u32,
}

/// A department's rotas (members see the published and archived ones).
#[utoipa::path(tag = "rota", security(("bearer" = [])), params(("id" = Uuid, Path)), responses(
    (status = 200, body = Vec<PlanningSummaryOut>),
    (status = 403, description = "Not in the department", body = Problem, content_type = "application/problem+json"),
    (status = 404, description = "No such department", body = Problem, content_type = "application/problem+json"),
))]
#[get("/departments/{id}/plannings")]
pub async fn list_plannings(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
    path: web::Path<Uuid>,
) -> Result<web::Json<Vec<PlanningSummaryOut>>, ApiError> {
    let list = ctx
        .rota
        .list(
            &Viewer::of(&auth.user),
            DepartmentId::from(path.into_inner()),
        )
        .await?;
    Ok(web::Json(list.iter().map(Into::into).collect()))
}

/// Starts a month's rota (empty, draft).
#[utoipa::path(tag = "rota", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body = CreatePlanningIn, responses(
    (status = 201, body = PlanningOut),
    (status = 403, description = "Not a leader", body = Problem, content_type = "application/problem+json"),
    (status = 409, description = "`planning_exists`", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "Month out of range", body = Problem, content_type = "application/problem+json"),
))]
#[post("/departments/{id}/plannings")]
pub async fn create(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
    path: web::Path<Uuid>,
    body: web::Json<CreatePlanningIn>,
) -> Result<HttpResponse, ApiError> {
    let viewer = Viewer::of(&auth.user);
    let month = Month::new(body.year, body.month).map_err(|e| ApiError::Validation(e.0))?;
    let p = ctx
        .rota
        .create(
            &viewer,
            DepartmentId::from(path.into_inner()),
            month,
            ctx.clock.now(),
        )
        .await?;
    let v = ctx.rota.get(&viewer, p.id).await?;
    Ok(HttpResponse::Created()
        .insert_header(etag(p.version))
        .json(PlanningOut::from(v)))
}

/// A rota with its services, assignments and explained empty slots. `ETag` is its version.
#[utoipa::path(tag = "rota", security(("bearer" = [])), params(("id" = Uuid, Path)), responses(
    (status = 200, body = PlanningOut),
    (status = 403, description = "Not published yet (members), or not in the department", body = Problem, content_type = "application/problem+json"),
    (status = 404, description = "No such rota", body = Problem, content_type = "application/problem+json"),
))]
#[get("/plannings/{id}")]
pub async fn get_one(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let v = ctx
        .rota
        .get(&Viewer::of(&auth.user), PlanningId::from(path.into_inner()))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(v.data.planning.version))
        .json(PlanningOut::from(v)))
}

/// A queued generation.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GenerationOut {
    #[schema(value_type = String, format = Uuid)]
    pub job_id: JobId,
    #[schema(value_type = String, format = Uuid)]
    pub planning_id: PlanningId,
    /// Poll it: `GET /api/v1/jobs/{jobId}`.
    pub status_url: String,
}

/// Generates the rota in the background (pinned assignments are kept): 202 with the job.
/// Asking again before the rota changes returns the same job.
#[utoipa::path(tag = "rota", security(("bearer" = [])), params(("id" = Uuid, Path)), responses(
    (status = 202, body = GenerationOut),
    (status = 403, description = "Not a leader", body = Problem, content_type = "application/problem+json"),
    (status = 409, description = "`planning_published` or `planning_archived`", body = Problem, content_type = "application/problem+json"),
))]
#[post("/plannings/{id}/generate")]
pub async fn generate(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let (p, job) = ctx
        .rota
        .request_generation(
            &Viewer::of(&auth.user),
            PlanningId::from(path.into_inner()),
            ctx.clock.now(),
        )
        .await?;
    let prefix = ctx.settings.api_prefix.trim_end_matches('/');
    Ok(HttpResponse::Accepted().json(GenerationOut {
        job_id: job,
        planning_id: p.id,
        status_url: format!("{prefix}/jobs/{job}"),
    }))
}

/// A background job of my church, as far as its requester needs to follow it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobOut {
    #[schema(value_type = String, format = Uuid)]
    pub id: JobId,
    pub kind: String,
    /// pending, running, done or failed.
    pub status: String,
    /// 0, 50 (running) or 100 (finished, either way).
    pub progress: u8,
    pub attempts: i32,
    /// Why it failed, when it did.
    pub error: Option<String>,
    /// The rota a generation job works on.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub planning_id: Option<PlanningId>,
}

/// A background job's status and progress (generation of a rota).
#[utoipa::path(tag = "rota", security(("bearer" = [])), params(("id" = Uuid, Path)), responses(
    (status = 200, body = JobOut),
    (status = 404, description = "No such job in my church", body = Problem, content_type = "application/problem+json"),
))]
#[get("/jobs/{id}")]
pub async fn job_status(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
    path: web::Path<Uuid>,
) -> Result<web::Json<JobOut>, ApiError> {
    let not_found = || ApiError::NotFound("There is no such job.".into());
    let org = auth.user.organization_id.ok_or_else(not_found)?;
    let row = ctx
        .jobs
        .get(JobId::from(path.into_inner()))
        .await?
        .filter(|j| j.organization_id == Some(org))
        .ok_or_else(not_found)?;
    use store_sea::JobStatus::*;
    let (status, progress) = match row.status {
        Pending => ("pending", 0),
        Running => ("running", 50),
        Done => ("done", 100),
        Dead => ("failed", 100),
    };
    Ok(web::Json(JobOut {
        id: row.id,
        kind: row.kind,
        status: status.into(),
        progress,
        attempts: row.attempts,
        error: if row.status == Dead {
            row.last_error
        } else {
            None
        },
        planning_id: row
            .payload
            .get("planningId")
            .and_then(|v| v.as_str())
            .and_then(|s| s.parse().ok()),
    }))
}

/// The version a state change is based on.
#[derive(Deserialize, ToSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VersionIn {
    pub version: Option<i32>,
}

macro_rules! transition {
    ($name:ident, $path:literal, $method:ident, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(tag = "rota", security(("bearer" = [])), params(("id" = Uuid, Path)),
            request_body = VersionIn, responses(
            (status = 200, body = PlanningSummaryOut),
            (status = 409, description = "`stale_version`, `invalid_transition`", body = Problem, content_type = "application/problem+json"),
            (status = 428, description = "No version given", body = Problem, content_type = "application/problem+json"),
        ))]
        #[post($path)]
        pub async fn $name(
            ctx: web::Data<AppContext>,
            auth: AuthUser,
            req: HttpRequest,
            path: web::Path<Uuid>,
            body: Option<web::Json<VersionIn>>,
        ) -> Result<HttpResponse, ApiError> {
            let version = version_of(&req, body.and_then(|b| b.into_inner().version))?;
            let p = ctx
                .rota
                .$method(
                    &Viewer::of(&auth.user),
                    PlanningId::from(path.into_inner()),
                    version,
                    ctx.clock.now(),
                )
                .await?;
            Ok(HttpResponse::Ok()
                .insert_header(etag(p.version))
                .json(PlanningSummaryOut::from(&p)))
        }
    };
}

transition!(
    publish,
    "/plannings/{id}/publish",
    publish,
    "Publishes the rota: each assigned member is told (an event per member)."
);
transition!(
    unpublish,
    "/plannings/{id}/unpublish",
    unpublish,
    "Takes a published rota back to draft."
);
transition!(
    archive,
    "/plannings/{id}/archive",
    archive,
    "Archives the rota: read-only from now on."
);

/// A new assignment.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddAssignmentIn {
    #[schema(value_type = String, format = Uuid)]
    pub service_id: ServiceId,
    #[schema(value_type = String, format = Uuid)]
    pub user_id: UserId,
    pub role: String,
    #[serde(default)]
    pub pinned: bool,
    /// Keep it even though it breaks a hard rule (shown with a warning).
    #[serde(default)]
    pub force: bool,
    pub version: Option<i32>,
}

/// A change to an assignment: move (service), replace (user), change role, pin.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EditAssignmentIn {
    #[schema(value_type = Option<String>, format = Uuid)]
    pub service_id: Option<ServiceId>,
    #[schema(value_type = Option<String>, format = Uuid)]
    pub user_id: Option<UserId>,
    pub role: Option<String>,
    pub pinned: Option<bool>,
    #[serde(default)]
    pub force: bool,
    pub version: Option<i32>,
}

/// The rota after an edit.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EditOut {
    pub planning: PlanningSummaryOut,
    /// The assignment added or changed (absent after a removal).
    pub assignment: Option<AssignmentOut>,
}

fn check_role(role: &str) -> Result<(), ApiError> {
    let n = role.trim().chars().count();
    if n == 0 || n > 50 {
        return Err(ApiError::Validation(vec![kernel::FieldError {
            field: "role".into(),
            code: "length".into(),
            message: "A role has 1 to 50 characters.".into(),
        }]));
    }
    Ok(())
}

async fn edit(
    ctx: &AppContext,
    auth: &AuthUser,
    planning: PlanningId,
    version: i32,
    target: EditTarget,
    force: bool,
) -> Result<(HttpResponse, bool), ApiError> {
    let viewer = Viewer::of(&auth.user);
    let (p, a) = ctx
        .rota
        .edit(&viewer, planning, version, target, force, ctx.clock.now())
        .await?;
    let created = a.is_some();
    let name = match &a {
        Some(a) => ctx
            .teams
            .person(&viewer, a.user)
            .await
            .map(|p| {
                format!("{} {}", p.first_name, p.last_name)
                    .trim()
                    .to_owned()
            })
            .unwrap_or_default(),
        None => String::new(),
    };
    let body = EditOut {
        planning: (&p).into(),
        assignment: a.as_ref().map(|a| assignment_out(a, name)),
    };
    Ok((
        HttpResponse::Ok().insert_header(etag(p.version)).json(body),
        created,
    ))
}

/// Adds an assignment, checked against every hard rule (409 naming the rule unless `force`).
#[utoipa::path(tag = "rota", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body = AddAssignmentIn, responses(
    (status = 201, body = EditOut),
    (status = 409, description = "A hard rule (`rules`), `stale_version`, `service_in_past`", body = Problem, content_type = "application/problem+json"),
    (status = 428, description = "No version given", body = Problem, content_type = "application/problem+json"),
))]
#[post("/plannings/{id}/assignments")]
pub async fn add_assignment(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
    req: HttpRequest,
    path: web::Path<Uuid>,
    body: web::Json<AddAssignmentIn>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    check_role(&b.role)?;
    let version = version_of(&req, b.version)?;
    let target = EditTarget::Add {
        service: b.service_id,
        user: b.user_id,
        role: b.role.trim().to_owned(),
        pinned: b.pinned,
    };
    let (mut res, _) = edit(
        &ctx,
        &auth,
        PlanningId::from(path.into_inner()),
        version,
        target,
        b.force,
    )
    .await?;
    *res.status_mut() = actix_web::http::StatusCode::CREATED;
    Ok(res)
}

/// Moves, replaces, changes the role of or pins an assignment, checked like an addition.
#[utoipa::path(tag = "rota", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("assignmentId" = Uuid, Path)),
    request_body = EditAssignmentIn, responses(
    (status = 200, body = EditOut),
    (status = 404, description = "No such assignment on this rota", body = Problem, content_type = "application/problem+json"),
    (status = 409, description = "A hard rule (`rules`), `stale_version`, `service_in_past`", body = Problem, content_type = "application/problem+json"),
))]
#[patch("/plannings/{id}/assignments/{assignmentId}")]
pub async fn update_assignment(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
    req: HttpRequest,
    path: web::Path<(Uuid, Uuid)>,
    body: web::Json<EditAssignmentIn>,
) -> Result<HttpResponse, ApiError> {
    let (planning, assignment) = path.into_inner();
    let b = body.into_inner();
    if let Some(r) = &b.role {
        check_role(r)?;
    }
    let version = version_of(&req, b.version)?;
    let target = EditTarget::Update {
        assignment: AssignmentId::from(assignment),
        edit: AssignmentEdit {
            service: b.service_id,
            user: b.user_id,
            role: b.role.map(|r| r.trim().to_owned()),
            pinned: b.pinned,
        },
    };
    Ok(edit(
        &ctx,
        &auth,
        PlanningId::from(planning),
        version,
        target,
        b.force,
    )
    .await?
    .0)
}

#[derive(Deserialize, IntoParams)]
pub struct VersionQuery {
    pub version: Option<i32>,
}

/// Removes an assignment (`If-Match` or `?version=`).
#[utoipa::path(tag = "rota", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("assignmentId" = Uuid, Path), VersionQuery), responses(
    (status = 200, body = EditOut),
    (status = 404, description = "No such assignment on this rota", body = Problem, content_type = "application/problem+json"),
    (status = 409, description = "`stale_version`, `service_in_past`", body = Problem, content_type = "application/problem+json"),
))]
#[delete("/plannings/{id}/assignments/{assignmentId}")]
pub async fn remove_assignment(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
    req: HttpRequest,
    path: web::Path<(Uuid, Uuid)>,
    q: web::Query<VersionQuery>,
) -> Result<HttpResponse, ApiError> {
    let (planning, assignment) = path.into_inner();
    let version = version_of(&req, q.version)?;
    let target = EditTarget::Remove {
        assignment: AssignmentId::from(assignment),
    };
    Ok(edit(
        &ctx,
        &auth,
        PlanningId::from(planning),
        version,
        target,
        false,
    )
    .await?
    .0)
}

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct SuggestionQuery {
    #[param(value_type = String, format = Uuid)]
    pub service_id: ServiceId,
    pub role: String,
    /// The assignment the suggestion would replace, if any.
    #[param(value_type = Option<String>, format = Uuid)]
    pub replacing: Option<AssignmentId>,
}

/// Who could take a slot, best first, each with why (eligible ones first, fairest first).
#[utoipa::path(tag = "rota", security(("bearer" = [])), params(("id" = Uuid, Path), SuggestionQuery),
    responses(
    (status = 200, body = Vec<Object>),
    (status = 404, description = "No such rota, service or assignment", body = Problem, content_type = "application/problem+json"),
))]
#[get("/plannings/{id}/suggestions")]
pub async fn suggestions(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
    path: web::Path<Uuid>,
    q: web::Query<SuggestionQuery>,
) -> Result<web::Json<Vec<rota::rules::Suggestion>>, ApiError> {
    let q = q.into_inner();
    check_role(&q.role)?;
    Ok(web::Json(
        ctx.rota
            .suggestions(
                &Viewer::of(&auth.user),
                PlanningId::from(path.into_inner()),
                q.service_id,
                q.role.trim(),
                q.replacing,
            )
            .await?,
    ))
}

/// One of my assignments.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MyAssignmentOut {
    #[schema(value_type = String, format = Uuid)]
    pub id: AssignmentId,
    #[schema(value_type = String, format = Uuid)]
    pub planning_id: PlanningId,
    #[schema(value_type = String, format = Uuid)]
    pub department_id: DepartmentId,
    pub department_name: String,
    #[schema(value_type = String, format = Uuid)]
    pub service_id: ServiceId,
    pub service_name: String,
    pub service_type: String,
    pub date: String,
    pub start_time: String,
    pub end_time: String,
    pub location: Option<String>,
    pub role: String,
    /// pending, confirmed or declined.
    pub status: String,
    pub decline_reason: Option<String>,
}

impl From<&MyAssignment> for MyAssignmentOut {
    fn from(m: &MyAssignment) -> Self {
        Self {
            id: m.assignment.id,
            planning_id: m.assignment.planning,
            department_id: m.department,
            department_name: m.department_name.clone(),
            service_id: m.service.id,
            service_name: m.service.name.clone(),
            service_type: m.service.service_type.clone(),
            date: m.service.date.to_string(),
            start_time: hm(m.service.start),
            end_time: hm(m.service.end),
            location: m.service.location.clone(),
            role: m.assignment.role.clone(),
            status: m.assignment.status.as_str().into(),
            decline_reason: m.assignment.decline_reason.clone(),
        }
    }
}

/// My upcoming assignments on published rotas, across departments, by date.
#[utoipa::path(tag = "rota", security(("bearer" = [])), responses(
    (status = 200, body = Vec<MyAssignmentOut>),
))]
#[get("/me/assignments")]
pub async fn my_assignments(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
) -> Result<web::Json<Vec<MyAssignmentOut>>, ApiError> {
    let list = ctx
        .rota
        .my_assignments(&Viewer::of(&auth.user), ctx.clock.now())
        .await?;
    Ok(web::Json(list.iter().map(Into::into).collect()))
}

/// Confirms one of my assignments.
#[utoipa::path(tag = "rota", security(("bearer" = [])), params(("id" = Uuid, Path)), responses(
    (status = 200, body = MyAssignmentOut),
    (status = 404, description = "Not my assignment", body = Problem, content_type = "application/problem+json"),
    (status = 409, description = "`planning_not_published`", body = Problem, content_type = "application/problem+json"),
))]
#[post("/me/assignments/{id}/confirm")]
pub async fn confirm(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
    path: web::Path<Uuid>,
) -> Result<web::Json<MyAssignmentOut>, ApiError> {
    let m = ctx
        .rota
        .respond(
            &Viewer::of(&auth.user),
            AssignmentId::from(path.into_inner()),
            true,
            None,
            ctx.clock.now(),
        )
        .await?;
    Ok(web::Json((&m).into()))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct DeclineIn {
    /// Why (at most 500 characters); the leaders see it.
    pub reason: Option<String>,
}

/// Declines one of my assignments, with a reason for the leaders.
#[utoipa::path(tag = "rota", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body = DeclineIn, responses(
    (status = 200, body = MyAssignmentOut),
    (status = 404, description = "Not my assignment", body = Problem, content_type = "application/problem+json"),
    (status = 409, description = "`planning_not_published`", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "Reason too long", body = Problem, content_type = "application/problem+json"),
))]
#[post("/me/assignments/{id}/decline")]
pub async fn decline(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
    path: web::Path<Uuid>,
    body: Option<web::Json<DeclineIn>>,
) -> Result<web::Json<MyAssignmentOut>, ApiError> {
    let reason = body.and_then(|b| b.into_inner().reason);
    let m = ctx
        .rota
        .respond(
            &Viewer::of(&auth.user),
            AssignmentId::from(path.into_inner()),
            false,
            reason,
            ctx.clock.now(),
        )
        .await?;
    Ok(web::Json((&m).into()))
}
