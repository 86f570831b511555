//! Rota exports: a rota as iCalendar or as a printable PDF (seen as `GET /plannings/{id}`
//! sees it: members the published and archived rotas, leaders any), and the personal
//! calendar subscription (`/me/calendar-feed`, then `/calendar/{token}.ics` without signing
//! in). The rendering is the pure `exports` crate; these handlers only authorise through the
//! rota service, pick the language and set the headers.

use crate::ApiError;
use crate::auth::{AuthUser, client_ip, limit};
use accounts::Locale;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use app::AppContext;
use chrono::{DateTime, Utc};
use kernel::PlanningId;
use rota::MonthData;
use serde::{Deserialize, Serialize};
use teams::Viewer;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

type Problem = crate::problem::Problem;

/// The language of an export.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `fr` or `en`; by default the caller's language (profile `locale`).
    pub lang: Option<String>,
}

fn locale_of(q: &ExportQuery, auth: &AuthUser) -> Result<Locale, ApiError> {
    match q.lang.as_deref().map(|l| l.trim().to_ascii_lowercase()) {
        None => Ok(auth.user.locale),
        Some(l) if l == "fr" => Ok(Locale::Fr),
        Some(l) if l == "en" => Ok(Locale::En),
        Some(_) => Err(ApiError::Validation(vec![kernel::FieldError {
            field: "lang".into(),
            code: "invalid".into(),
            message: "The language is fr or en.".into(),
        }])),
    }
}

/// `planning-louange-2026-12.pdf` / `rota-worship-2026-12.ics`: ASCII only, so every browser
/// keeps it.
fn filename(data: &MonthData, locale: Locale, ext: &str) -> String {
    let word = match locale {
        Locale::Fr => "planning",
        Locale::En => "rota",
    };
    let dept = slug::slugify(&data.department_name);
    let dept: String = dept.chars().take(60).collect();
    let m = data.planning.month;
    if dept.is_empty() {
        format!("{word}-{:04}-{:02}.{ext}", m.year(), m.month())
    } else {
        format!("{word}-{dept}-{:04}-{:02}.{ext}", m.year(), m.month())
    }
}

fn download(content_type: &str, name: &str, body: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        // Personal data: not for shared caches, not kept by the browser.
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(body)
}

/// The rota as an iCalendar file: one event per service (UID `<serviceId>@monservice`, stable
/// across exports), times in UTC converted from the church's zone, each role and who holds
/// it in the description.
#[utoipa::path(tag = "rota", security(("bearer" = [])), params(("id" = Uuid, Path), ExportQuery),
    responses(
    (status = 200, description = "RFC 5545 calendar", content_type = "text/calendar"),
    (status = 403, description = "Not published yet (members), or not in the department", body = Problem, content_type = "application/problem+json"),
    (status = 404, description = "No such rota", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "`lang` is neither fr nor en", body = Problem, content_type = "application/problem+json"),
))]
#[get("/plannings/{id}/export.ics")]
pub async fn export_ics(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
    path: web::Path<Uuid>,
    q: web::Query<ExportQuery>,
) -> Result<HttpResponse, ApiError> {
    let locale = locale_of(&q, &auth)?;
    let v = ctx
        .rota
        .get(&Viewer::of(&auth.user), PlanningId::from(path.into_inner()))
        .await?;
    let body = exports::rota_calendar(&v.data, locale);
    Ok(download(
        "text/calendar; charset=utf-8",
        &filename(&v.data, locale, "ics"),
        body.into_bytes(),
    ))
}

/// The rota as a printable PDF: A4 landscape, one row per service (date, time, name, place)
/// and one column per role, French or English labels, the header repeated on every page.
#[utoipa::path(tag = "rota", security(("bearer" = [])), params(("id" = Uuid, Path), ExportQuery),
    responses(
    (status = 200, description = "PDF document", content_type = "application/pdf"),
    (status = 403, description = "Not published yet (members), or not in the department", body = Problem, content_type = "application/problem+json"),
    (status = 404, description = "No such rota", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "`lang` is neither fr nor en", body = Problem, content_type = "application/problem+json"),
))]
#[get("/plannings/{id}/export.pdf")]
pub async fn export_pdf(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
    path: web::Path<Uuid>,
    q: web::Query<ExportQuery>,
) -> Result<HttpResponse, ApiError> {
    let locale = locale_of(&q, &auth)?;
    let v = ctx
        .rota
        .get(&Viewer::of(&auth.user), PlanningId::from(path.into_inner()))
        .await?;
    let data = v.data;
    let name = filename(&data, locale, "pdf");
    let today = ctx
        .clock
        .now()
        .with_timezone(&exports::time::zone(&data.timezone))
        .date_naive();
    // Laying out and subsetting the font is CPU work: off the request thread.
    let pdf = web::block(move || exports::rota_pdf(&data, locale, today))
        .await
        .map_err(|e| ApiError::Internal(format!("rota pdf: {e}")))??;
    Ok(download("application/pdf", &name, pdf))
}

/// My calendar feed's address. Shown once: only its hash is kept.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CalendarFeedOut {
    /// Subscribe to it in a calendar application (no sign-in needed: keep it private).
    pub url: String,
    pub created_at: DateTime<Utc>,
    /// An earlier address was replaced and no longer works.
    pub replaced: bool,
}

/// Whether I have a calendar feed (its address cannot be shown again).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CalendarFeedStatusOut {
    pub active: bool,
    pub created_at: Option<DateTime<Utc>>,
}

/// The base URL calendar applications will reach: `PUBLIC_API_URL` once it is set to
/// something other than its development default, else the scheme and host this request came
/// in on (through the proxy's `X-Forwarded-*` headers only when `TRUST_PROXY_HEADERS`).
fn public_base(ctx: &AppContext, req: &HttpRequest) -> String {
    let configured = ctx.settings.public_api_url.trim_end_matches('/');
    let default = app::settings::VARIABLES
        .iter()
        .find(|v| v.name == "PUBLIC_API_URL")
        .map(|v| v.default.trim_end_matches('/'));
    if !configured.is_empty() && Some(configured) != default {
        return configured.to_string();
    }
    if ctx.settings.trust_proxy_headers {
        let info = req.connection_info();
        return format!("{}://{}", info.scheme(), info.host());
    }
    let scheme = if req.app_config().secure() {
        "https"
    } else {
        "http"
    };
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.bytes().all(|b| {
                    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']')
                })
        })
        .map(str::to_string)
        .unwrap_or_else(|| req.app_config().host().to_string());
    format!("{scheme}://{host}")
}

/// Creates my calendar feed, or replaces it (the old address stops working at once): 201 the
/// first time, 200 when it replaced one.
#[utoipa::path(tag = "rota", security(("bearer" = [])), responses(
    (status = 201, body = CalendarFeedOut),
    (status = 200, description = "Replaced the earlier feed", body = CalendarFeedOut),
    (status = 404, description = "Not in a church yet", body = Problem, content_type = "application/problem+json"),
))]
#[post("/me/calendar-feed")]
pub async fn create_feed(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let now = ctx.clock.now();
    let issued = ctx
        .calendar_feeds
        .issue(&Viewer::of(&auth.user), now)
        .await?;
    let prefix = ctx.settings.api_prefix.trim_end_matches('/');
    let body = CalendarFeedOut {
        url: format!(
            "{}{prefix}/calendar/{}.ics",
            public_base(&ctx, &req),
            issued.token
        ),
        created_at: now,
        replaced: issued.replaced,
    };
    let mut res = if issued.replaced {
        HttpResponse::Ok()
    } else {
        HttpResponse::Created()
    };
    Ok(res
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body))
}

/// Whether I have a calendar feed.
#[utoipa::path(tag = "rota", security(("bearer" = [])), responses(
    (status = 200, body = CalendarFeedStatusOut),
))]
#[get("/me/calendar-feed")]
pub async fn feed_status(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
) -> Result<web::Json<CalendarFeedStatusOut>, ApiError> {
    let info = ctx.calendar_feeds.info(&Viewer::of(&auth.user)).await?;
    Ok(web::Json(CalendarFeedStatusOut {
        active: info.is_some(),
        created_at: info.map(|i| i.created_at),
    }))
}

/// Revokes my calendar feed: its address answers 404 from now on. 204 whether or not there
/// was one.
#[utoipa::path(tag = "rota", security(("bearer" = [])), responses(
    (status = 204, description = "No feed any more"),
))]
#[delete("/me/calendar-feed")]
pub async fn revoke_feed(
    ctx: web::Data<AppContext>,
    auth: AuthUser,
) -> Result<HttpResponse, ApiError> {
    ctx.calendar_feeds.revoke(&Viewer::of(&auth.user)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A member's calendar feed, for calendar applications (no sign-in: the address is the
/// secret). Their assignments on published rotas from 30 days ago on, across departments, one
/// event per assignment (UID `<assignmentId>@monservice`), confirmed or tentative; declined
/// ones are left out. Limited per client address by `RATE_LIMIT_PER_MINUTE`.
#[utoipa::path(tag = "rota", params(("feed_token" = String, Path)), responses(
    (status = 200, description = "RFC 5545 calendar", content_type = "text/calendar"),
    (status = 404, description = "Unknown, replaced or revoked feed", body = Problem, content_type = "application/problem+json"),
    (status = 429, description = "Too many requests from this address", body = Problem, content_type = "application/problem+json"),
))]
#[get("/calendar/{feed_token}.ics")]
pub async fn feed(
    ctx: web::Data<AppContext>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    // Calendar services (Google, Apple) fetch many users' feeds from a few shared addresses
    // every few minutes, so the general limit applies, not the sign-in one; guessing a
    // 256-bit token at that rate is hopeless anyway.
    let ip = client_ip(&req, &ctx.settings);
    limit(
        &ctx,
        &format!("calendar:ip:{ip}"),
        ctx.settings.rate_limit_per_minute,
    )
    .await?;
    let body = ctx
        .calendar_feeds
        .calendar(&path.into_inner(), ctx.clock.now())
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/calendar; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            "inline; filename=\"monservice.ics\"",
        ))
        .insert_header((header::CACHE_CONTROL, "private, no-cache"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .body(body))
}
