//! Errors as RFC 9457 problem documents.
//!
//! One [`ApiError`] type implements `ResponseError`; domain errors convert into it with
//! `From`. Its body is always:
//!
//! ```json
//! {"type": "https://monservice.app/problems/validation_failed", "title": "Unprocessable Entity",
//!  "status": 422, "detail": "One or more fields are invalid.", "code": "validation_failed",
//!  "errors": [{"field": "email", "code": "required", "message": "Email is required"}]}
//! ```
//!
//! The web front end shows `detail`; clients branch on `code`, which never changes once
//! published. A 5xx never reveals its cause: the cause chain goes to the log with the
//! correlation id, and the client gets the id to quote in the `X-Correlation-ID` header that
//! every response carries.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::ServiceResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{HttpResponse, ResponseError};
use kernel::FieldError;
use serde::Serialize;
use utoipa::ToSchema;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// One invalid field.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct FieldProblem {
    pub field: String,
    pub code: String,
    pub message: String,
}

impl From<FieldError> for FieldProblem {
    fn from(e: FieldError) -> Self {
        Self {
            field: e.field,
            code: e.code,
            message: e.message,
        }
    }
}

/// The body of every error response.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    /// A URI naming the problem type.
    #[serde(rename = "type")]
    pub type_uri: String,
    pub title: String,
    pub status: u16,
    /// A sentence for a person.
    pub detail: String,
    /// A stable machine-readable code.
    pub code: String,
    /// Field errors, for validation failures.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldProblem>,
    /// The hard rules an assignment breaks (rota edits refused with 409).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub rules: Option<serde_json::Value>,
    /// The resource's current version, when a write was refused for a stale one.
    #[serde(rename = "currentVersion", skip_serializing_if = "Option::is_none")]
    pub current_version: Option<i32>,
}

/// An error an endpoint answers with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{detail}")]
    BadRequest { code: &'static str, detail: String },
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    /// 422 with a code more precise than `validation_failed` and a sentence of its own (a
    /// service that would start in the past, a recurrence rule refused), plus its fields.
    #[error("{detail}")]
    UnprocessableWith {
        code: &'static str,
        detail: String,
        errors: Vec<FieldError>,
    },
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// 409 with a code more precise than `conflict`.
    #[error("{detail}")]
    ConflictWith { code: &'static str, detail: String },
    /// 409: a rota edit breaks hard rules, listed in `rules`.
    #[error("{detail}")]
    RulesBroken {
        code: &'static str,
        detail: String,
        rules: serde_json::Value,
    },
    /// 409 `stale_version`: the resource changed since the caller read it.
    #[error("{detail}")]
    Stale { detail: String, current: i32 },
    /// 428: a write that must say which version it read did not.
    #[error("{0}")]
    PreconditionRequired(String),
    #[error("{0}")]
    Gone(String),
    /// 410 with a code more precise than `gone`.
    #[error("{detail}")]
    GoneWith { code: &'static str, detail: String },
    #[error("request body too large")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("too many requests")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("{0}")]
    Unavailable(String),
    /// An unexpected failure; the message goes to the log only.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest { code, .. } => code,
            ApiError::Validation(_) => "validation_failed",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::Conflict(_) => "conflict",
            ApiError::ConflictWith { code, .. }
            | ApiError::GoneWith { code, .. }
            | ApiError::RulesBroken { code, .. }
            | ApiError::UnprocessableWith { code, .. } => code,
            ApiError::Stale { .. } => "stale_version",
            ApiError::PreconditionRequired(_) => "version_required",
            ApiError::Gone(_) => "gone",
            ApiError::PayloadTooLarge(_) => "payload_too_large",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::TooManyRequests { .. } => "rate_limited",
            ApiError::Unavailable(_) => "service_unavailable",
            ApiError::Internal(_) => "internal_error",
        }
    }

    fn detail(&self) -> String {
        match self {
            ApiError::BadRequest { detail, .. }
            | ApiError::RulesBroken { detail, .. }
            | ApiError::Stale { detail, .. }
            | ApiError::ConflictWith { detail, .. }
            | ApiError::GoneWith { detail, .. }
            | ApiError::UnprocessableWith { detail, .. } => detail.clone(),
            ApiError::Validation(_) => "One or more fields are invalid.".into(),
            ApiError::Unauthorized(d)
            | ApiError::Forbidden(d)
            | ApiError::NotFound(d)
            | ApiError::Conflict(d)
            | ApiError::PreconditionRequired(d)
            | ApiError::Gone(d)
            | ApiError::PayloadTooLarge(d)
            | ApiError::UnsupportedMediaType(d)
            | ApiError::Unavailable(d) => d.clone(),
            ApiError::TooManyRequests { retry_after_secs } => {
                format!("Too many requests; try again in {retry_after_secs} s.")
            }
            ApiError::Internal(_) => {
                "An unexpected error occurred. Quote the correlation id when reporting it.".into()
            }
        }
    }

    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        ApiError::BadRequest {
            code,
            detail: detail.into(),
        }
    }
}

/// A problem document for a status with no more specific error (404 route, 405 method…).
pub fn problem_for_status(status: StatusCode, detail: Option<String>) -> Problem {
    let (code, default_detail) = match status.as_u16() {
        400 => ("bad_request", "The request is malformed."),
        401 => ("unauthorized", "Authentication is required."),
        403 => ("forbidden", "You may not do this."),
        404 => ("not_found", "No resource at this address."),
        405 => (
            "method_not_allowed",
            "This method is not allowed on this resource.",
        ),
        406 => ("not_acceptable", "No acceptable representation."),
        408 => ("request_timeout", "The request took too long to arrive."),
        413 => ("payload_too_large", "The request body is too large."),
        415 => ("unsupported_media_type", "Unsupported content type."),
        429 => ("rate_limited", "Too many requests."),
        503 => (
            "service_unavailable",
            "The service is temporarily unavailable.",
        ),
        s if s >= 500 => (
            "internal_error",
            "An unexpected error occurred. Quote the correlation id when reporting it.",
        ),
        _ => ("error", "The request failed."),
    };
    Problem {
        type_uri: format!("https://monservice.app/problems/{code}"),
        title: status.canonical_reason().unwrap_or("Error").to_string(),
        status: status.as_u16(),
        detail: detail.unwrap_or_else(|| default_detail.to_string()),
        code: code.to_string(),
        errors: Vec::new(),
        rules: None,
        current_version: None,
    }
}

fn problem_response(status: StatusCode, problem: &Problem) -> HttpResponse {
    let mut res = HttpResponse::build(status);
    res.insert_header((header::CONTENT_TYPE, PROBLEM_JSON));
    match serde_json::to_vec(problem) {
        Ok(body) => res.body(body),
        Err(_) => res.finish(),
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Validation(_) | ApiError::UnprocessableWith { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_)
            | ApiError::ConflictWith { .. }
            | ApiError::RulesBroken { .. }
            | ApiError::Stale { .. } => StatusCode::CONFLICT,
            ApiError::PreconditionRequired(_) => StatusCode::PRECONDITION_REQUIRED,
            ApiError::Gone(_) | ApiError::GoneWith { .. } => StatusCode::GONE,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        if status.is_server_error() {
            // The cause is logged (inside the request span, so with its correlation id);
            // the client only sees the opaque sentence.
            tracing::error!(error = %self, "request failed");
        }
        let mut p = problem_for_status(status, Some(self.detail()));
        p.code = self.code().to_string();
        p.type_uri = format!("https://monservice.app/problems/{}", p.code);
        match self {
            ApiError::Validation(errs) | ApiError::UnprocessableWith { errors: errs, .. } => {
                p.errors = errs.iter().cloned().map(FieldProblem::from).collect();
            }
            ApiError::RulesBroken { rules, .. } => p.rules = Some(rules.clone()),
            ApiError::Stale { current, .. } => p.current_version = Some(*current),
            _ => {}
        }
        let mut res = problem_response(status, &p);
        if let ApiError::TooManyRequests { retry_after_secs } = self
            && let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string())
        {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        res
    }
}

impl From<store_sea::StoreError> for ApiError {
    fn from(e: store_sea::StoreError) -> Self {
        match e {
            store_sea::StoreError::Unavailable(m) => {
                tracing::error!(error = %m, "database unavailable");
                ApiError::Unavailable("The database is unavailable; try again shortly.".into())
            }
            store_sea::StoreError::Conflict(m) => ApiError::Conflict(m),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<accounts::AccountError> for ApiError {
    fn from(e: accounts::AccountError) -> Self {
        let detail = e.to_string();
        match e {
            accounts::AccountError::Invalid(errs) => ApiError::Validation(errs.0),
            accounts::AccountError::EmailTaken => ApiError::Conflict(detail),
            accounts::AccountError::BadCredentials
            | accounts::AccountError::SessionInvalid
            | accounts::AccountError::RefreshReused => ApiError::Unauthorized(detail),
            accounts::AccountError::Deactivated | accounts::AccountError::ReauthRequired => {
                ApiError::Forbidden(detail)
            }
            accounts::AccountError::TokenUnknown => ApiError::bad_request("invalid_token", detail),
            accounts::AccountError::TokenExpired | accounts::AccountError::TokenUsed => {
                ApiError::Gone(detail)
            }
            accounts::AccountError::WrongPassword => {
                ApiError::bad_request("wrong_password", detail)
            }
            accounts::AccountError::NotFound => ApiError::NotFound(detail),
            accounts::AccountError::Store(s) => match s {
                accounts::StoreError::Unavailable(m) => {
                    tracing::error!(error = %m, "store unavailable");
                    ApiError::Unavailable(
                        "The service is temporarily unavailable; try again shortly.".into(),
                    )
                }
                other => ApiError::Internal(other.to_string()),
            },
        }
    }
}

impl From<teams::TeamError> for ApiError {
    fn from(e: teams::TeamError) -> Self {
        match e {
            teams::TeamError::Invalid(errs) => ApiError::Validation(errs.0),
            teams::TeamError::NotFound(d) => ApiError::NotFound(d.into()),
            teams::TeamError::Forbidden(f) => ApiError::Forbidden(f.0.into()),
            teams::TeamError::Conflict { code, detail } => ApiError::ConflictWith { code, detail },
            teams::TeamError::Gone { code, detail } => ApiError::GoneWith { code, detail },
            teams::TeamError::Store(s) => accounts::AccountError::Store(s).into(),
        }
    }
}

impl From<rota::RotaError> for ApiError {
    fn from(e: rota::RotaError) -> Self {
        let detail = e.to_string();
        match e {
            rota::RotaError::Team(t) => t.into(),
            rota::RotaError::Invalid(errs) => ApiError::Validation(errs.0),
            rota::RotaError::NotFound(d) => ApiError::NotFound(d.into()),
            rota::RotaError::Conflict { code, detail } => ApiError::ConflictWith { code, detail },
            rota::RotaError::RuleBroken(rules) => ApiError::RulesBroken {
                code: rules.first().map(|r| r.code()).unwrap_or("rule_broken"),
                detail,
                rules: serde_json::to_value(&rules).unwrap_or_default(),
            },
            rota::RotaError::Stale { current } => ApiError::Stale { detail, current },
            rota::RotaError::Store(s) => accounts::AccountError::Store(s).into(),
        }
    }
}

impl From<exports::FeedError> for ApiError {
    fn from(e: exports::FeedError) -> Self {
        match e {
            exports::FeedError::NotFound(d) => ApiError::NotFound(d.into()),
            exports::FeedError::Store(s) => accounts::AccountError::Store(s).into(),
        }
    }
}

impl From<exports::PdfError> for ApiError {
    fn from(e: exports::PdfError) -> Self {
        ApiError::Internal(format!("rota pdf: {e}"))
    }
}

impl From<availability::AvailabilityError> for ApiError {
    fn from(e: availability::AvailabilityError) -> Self {
        match e {
            availability::AvailabilityError::Team(t) => t.into(),
            availability::AvailabilityError::Invalid(errs) => ApiError::Validation(errs.0),
            availability::AvailabilityError::DeadlinePassed(d) => {
                ApiError::Forbidden(d.to_string())
            }
            availability::AvailabilityError::Conflict { code, detail } => {
                ApiError::ConflictWith { code, detail }
            }
            availability::AvailabilityError::TooSoon { retry_after_secs } => {
                ApiError::TooManyRequests { retry_after_secs }
            }
            availability::AvailabilityError::Store(s) => accounts::AccountError::Store(s).into(),
        }
    }
}

impl From<schedule::ScheduleError> for ApiError {
    fn from(e: schedule::ScheduleError) -> Self {
        match e {
            schedule::ScheduleError::Team(t) => t.into(),
            schedule::ScheduleError::Invalid(errs) => ApiError::Validation(errs.0),
            schedule::ScheduleError::Rejected {
                code,
                detail,
                errors,
            } => ApiError::UnprocessableWith {
                code,
                detail,
                errors: errors.0,
            },
            schedule::ScheduleError::NotFound(d) => ApiError::NotFound(d.into()),
            schedule::ScheduleError::Conflict { code, detail } => {
                ApiError::ConflictWith { code, detail }
            }
            schedule::ScheduleError::Store(s) => accounts::AccountError::Store(s).into(),
        }
    }
}

impl From<oidc::OidcError> for ApiError {
    fn from(e: oidc::OidcError) -> Self {
        match e {
            oidc::OidcError::InvalidToken(_) => {
                ApiError::Unauthorized("The Google token is invalid.".into())
            }
            oidc::OidcError::EmailNotVerified => {
                ApiError::Forbidden("Google has not verified this email address.".into())
            }
            oidc::OidcError::Unavailable(m) => {
                tracing::warn!(error = %m, "google sign-in: issuer unavailable");
                ApiError::Unavailable(
                    "Google sign-in is unavailable right now; try again shortly.".into(),
                )
            }
            oidc::OidcError::Misconfigured(m) => {
                ApiError::Internal(format!("google sign-in misconfigured: {m}"))
            }
        }
    }
}

/// Gives every 4xx/5xx response a problem body: those from our handlers already have one
/// (and only get the correlation id added); those actix produces itself (unknown route, wrong
/// method, CORS refusal, body too large) get one built from their status.
pub fn ensure_problem_body<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let already = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    if already {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let detail = res.response().error().map(|e| e.to_string());
    let (req, old) = res.into_parts();
    let p = problem_for_status(
        status,
        detail.filter(|d| !d.is_empty() && status.is_client_error()),
    );
    let mut new = problem_response(status, &p);
    for (name, value) in old.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            new.headers_mut().append(name.clone(), value.clone());
        }
    }
    let res: ServiceResponse<BoxBody> = ServiceResponse::new(req, new);
    Ok(ErrorHandlerResponse::Response(res.map_into_right_body()))
}
