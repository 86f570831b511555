//! Liveness and readiness probes.

use crate::ApiError;
use actix_web::{HttpResponse, get, web};
use app::AppContext;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// Always `ok` when the process answers.
    pub status: &'static str,
    /// The running version.
    pub version: &'static str,
}

/// Liveness: the process is up. Touches no dependency, so it stays cheap under load.
#[utoipa::path(tag = "probes", responses((status = 200, body = Health)))]
#[get("/health")]
pub async fn health() -> web::Json<Health> {
    web::Json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
    })
}

#[derive(Serialize, ToSchema)]
pub struct ReadyChecks {
    /// `ok`
    pub database: &'static str,
    /// `ok`, or `not configured` without `REDIS_URL`.
    pub redis: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct Ready {
    /// `ready`
    pub status: &'static str,
    pub checks: ReadyChecks,
}

/// Readiness: the database answers, and Redis when configured. 503 names what failed.
#[utoipa::path(
    tag = "probes",
    responses(
        (status = 200, body = Ready),
        (status = 503, description = "A dependency does not answer", body = crate::problem::Problem,
         content_type = "application/problem+json"),
    )
)]
#[get("/ready")]
pub async fn ready(ctx: web::Data<AppContext>) -> Result<HttpResponse, ApiError> {
    let mut failed = Vec::new();
    if let Err(e) = ctx.db.ping().await {
        tracing::warn!(error = %e, "readiness: database does not answer");
        failed.push("database");
    }
    let redis = match &ctx.redis {
        None => "not configured",
        Some(r) => match r.ping().await {
            Ok(()) => "ok",
            Err(e) => {
                tracing::warn!(error = %e, "readiness: redis does not answer");
                failed.push("redis");
                "failing"
            }
        },
    };
    if !failed.is_empty() {
        return Err(ApiError::Unavailable(format!(
            "Not ready: {} not answering.",
            failed.join(" and ")
        )));
    }
    Ok(HttpResponse::Ok().json(Ready {
        status: "ready",
        checks: ReadyChecks {
            database: "ok",
            redis,
        },
    }))
}
