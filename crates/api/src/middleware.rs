//! Cross-cutting request handling.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Uri;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};
use std::time::Instant;
use tracing::Instrument;

/// The header carrying the correlation id, in and out.
pub const CORRELATION_HEADER: HeaderName = HeaderName::from_static("x-correlation-id");

/// The request's correlation id (request extension).
#[derive(Clone, Debug)]
pub struct CorrelationId(pub String);

/// An incoming id is reused only if it is short and made of safe characters, so a client
/// cannot inject text into our logs.
fn acceptable(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// Takes `X-Correlation-ID` from the request or makes one, runs the request inside a span
/// that carries it (so every log line of the request has it), echoes it on the response, and
/// logs one line per request: method, route template, status, latency.
///
/// Only the route *template* is logged (`/api/v1/calendar/{feed_token}.ics`), never the
/// concrete path, query string or headers, which may carry tokens.
pub async fn correlation_and_logging(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let id = req
        .headers()
        .get(&CORRELATION_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| acceptable(v))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    req.extensions_mut().insert(CorrelationId(id.clone()));
    let span = tracing::info_span!(
        "request",
        correlation_id = %id,
        method = %req.method(),
        route = tracing::field::Empty,
    );
    let started = Instant::now();
    let method = crate::metrics::method_label(req.method());
    let in_flight = crate::metrics::InFlight::start();
    let result = next.call(req).instrument(span.clone()).await;
    drop(in_flight);
    let elapsed = started.elapsed();
    let elapsed_ms = elapsed.as_secs_f64() * 1000.0;
    let _enter = span.enter();
    match result {
        Ok(mut res) => {
            let pattern = res.request().match_pattern();
            let route = pattern.as_deref().unwrap_or("<unmatched>");
            span.record("route", route);
            let status = res.status().as_u16();
            crate::metrics::observe_request(pattern.as_deref(), method, status, elapsed);
            if res.status().is_server_error() {
                tracing::error!(status, elapsed_ms, "request served");
            } else {
                tracing::info!(status, elapsed_ms, "request served");
            }
            if let Ok(v) = HeaderValue::from_str(&id) {
                res.headers_mut().insert(CORRELATION_HEADER, v);
            }
            Ok(res)
        }
        Err(e) => {
            let status = crate::metrics::error_status(&e);
            crate::metrics::observe_request(None, method, status, elapsed);
            tracing::error!(error = %e, elapsed_ms, "request failed before a response");
            Err(e)
        }
    }
}

/// The first path segments the web front end calls without the API prefix
/// (shared/guide/frontend-contract.md, "Paths without the prefix"). A request whose path
/// starts with one of them is routed as if it had the prefix. Add a resource here when its
/// routes arrive; nothing else needs to change.
pub const UNPREFIXED_RESOURCES: &[&str] = &[
    "auth",
    "users",
    "organizations",
    "departments",
    "plannings",
    "notifications",
    "invitations",
    "services",
    "calendar",
    "ws",
    "me",
    "jobs",
];

/// The one rewrite: `/users/me` → `{prefix}/users/me` (query string kept), for the resources
/// in [`UNPREFIXED_RESOURCES`]. Runs before routing, so the prefixed route answers with the
/// same behaviour; the OpenAPI document lists only the prefixed routes.
pub fn rewrite_unprefixed(req: &mut ServiceRequest, prefix: &str) {
    let path = req.path();
    if path
        .strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    {
        return;
    }
    let first = path
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default();
    if !UNPREFIXED_RESOURCES.contains(&first) {
        return;
    }
    let pq = match req.uri().query() {
        Some(q) => format!("{prefix}{path}?{q}"),
        None => format!("{prefix}{path}"),
    };
    let mut parts = req.head().uri.clone().into_parts();
    let Ok(new_pq) = pq.parse() else { return };
    parts.path_and_query = Some(new_pq);
    if let Ok(uri) = Uri::from_parts(parts) {
        req.match_info_mut().get_mut().update(&uri);
        req.head_mut().uri = uri;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::middleware::from_fn;
    use actix_web::test as atest;
    use actix_web::{App, HttpRequest, HttpResponse, web};

    async fn me(req: HttpRequest) -> HttpResponse {
        HttpResponse::Ok().body(format!("{}?{}", req.path(), req.query_string()))
    }

    async fn get(path: &str, enabled: bool) -> (u16, String) {
        let app = atest::init_service(
            App::new()
                .route("/api/v1/users/me", web::get().to(me))
                .route("/health", web::get().to(me))
                .wrap(from_fn(move |mut req, next: Next<_>| {
                    if enabled {
                        rewrite_unprefixed(&mut req, "/api/v1");
                    }
                    next.call(req)
                })),
        )
        .await;
        let res = atest::call_service(&app, atest::TestRequest::get().uri(path).to_request()).await;
        let status = res.status().as_u16();
        let body = atest::read_body(res).await;
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    #[actix_web::test]
    async fn unprefixed_paths_of_known_resources_reach_the_prefixed_route() {
        assert_eq!(
            get("/users/me?year=2026", true).await,
            (200, "/api/v1/users/me?year=2026".into())
        );
        assert_eq!(get("/api/v1/users/me", true).await.0, 200);
        // Not a known resource, or outside the API: untouched.
        assert_eq!(get("/health", true).await, (200, "/health?".into()));
        assert_eq!(get("/elsewhere/users/me", true).await.0, 404);
        // Turned off by SERVE_UNPREFIXED_PATHS=false.
        assert_eq!(get("/users/me", false).await.0, 404);
    }

    #[test]
    fn incoming_ids_are_checked() {
        assert!(acceptable("abc-123_X.y:z"));
        assert!(!acceptable(""));
        assert!(!acceptable("has space"));
        assert!(!acceptable("new\nline"));
        assert!(!acceptable(&"a".repeat(129)));
    }
}
