//! Assembling and starting the HTTP server.

use crate::middleware::{CORRELATION_HEADER, correlation_and_logging, rewrite_unprefixed};
use crate::problem::{ApiError, ensure_problem_body};
use crate::routes;
use actix_cors::Cors;
use actix_web::dev::Server;
use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::{Method, header};
use actix_web::middleware::{ErrorHandlers, Next, from_fn};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use app::{AppContext, Settings};
use std::net::TcpListener;
use std::sync::Arc;
use utoipa::OpenApi;
use utoipa_actix_web::{AppExt, scope};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "MonService API",
        description = "Rotas, availability and team management for church departments. \
                       Errors are RFC 9457 problem documents (application/problem+json) with a \
                       stable `code`; every response carries `X-Correlation-ID`.",
    ),
    components(schemas(crate::problem::Problem, crate::problem::FieldProblem)),
    modifiers(&BearerScheme)
)]
struct ApiDoc;

/// Declares the `bearer` security scheme the authenticated routes name.
struct BearerScheme;

impl utoipa::Modify for BearerScheme {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The OpenAPI 3.1 document, generated from the registered handlers.
pub fn openapi(prefix: &str) -> utoipa::openapi::OpenApi {
    let (_, spec) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(routes::root)
        .service(scope::scope(web::scope(prefix)).configure(routes::v1))
        .split_for_parts();
    spec
}

fn cors(settings: &Settings) -> Cors {
    let mut c = Cors::default()
        .allowed_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allowed_headers([
            header::CONTENT_TYPE,
            header::AUTHORIZATION,
            header::ACCEPT,
            CORRELATION_HEADER,
        ])
        .expose_headers([CORRELATION_HEADER, header::RETRY_AFTER])
        .max_age(3600);
    for origin in &settings.cors_origins {
        c = c.allowed_origin(origin);
    }
    if settings.cors_allow_credentials {
        c = c.supports_credentials();
    }
    c
}

fn json_error(err: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let e = match &err {
        JsonPayloadError::ContentType => ApiError::UnsupportedMediaType(
            "The body must be JSON, sent with Content-Type: application/json.".into(),
        ),
        JsonPayloadError::Overflow { limit }
        | JsonPayloadError::OverflowKnownLength { limit, .. } => {
            ApiError::PayloadTooLarge(format!("The body is larger than {limit} bytes."))
        }
        JsonPayloadError::Deserialize(de) if de.is_data() => {
            ApiError::Validation(vec![kernel::FieldError {
                field: "body".into(),
                code: "invalid_type".into(),
                message: de.to_string(),
            }])
        }
        JsonPayloadError::Deserialize(de) => ApiError::bad_request(
            "malformed_json",
            format!("The body is not valid JSON: {de}."),
        ),
        other => ApiError::bad_request(
            "invalid_body",
            format!("The body could not be read: {other}."),
        ),
    };
    e.into()
}

fn path_error(err: PathError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::bad_request(
        "invalid_path_parameter",
        format!("A path parameter is malformed: {err}."),
    )
    .into()
}

fn query_error(err: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::bad_request(
        "invalid_query",
        format!("The query string is malformed: {err}."),
    )
    .into()
}

/// Extractor settings shared by every route: body limit and problem+json errors for bad
/// JSON, wrong content types, bad path parameters and bad query strings.
pub fn extractor_config(max_body_bytes: usize) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.app_data(
            web::JsonConfig::default()
                .limit(max_body_bytes)
                .error_handler(json_error),
        )
        .app_data(web::PayloadConfig::new(max_body_bytes))
        .app_data(web::PathConfig::default().error_handler(path_error))
        .app_data(web::QueryConfig::default().error_handler(query_error));
    }
}

/// The answer for a request no route took: 405 when the path exists with other methods
/// (route guards send a wrong method here too), 404 otherwise.
async fn no_route(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    if req.method() != Method::OPTIONS && req.resource_map().has_resource(req.path()) {
        return Ok(HttpResponse::MethodNotAllowed().finish());
    }
    Err(ApiError::NotFound("No resource at this address.".into()))
}

/// Starts the server on `listener` (bind it to port 0 in tests). The returned [`Server`] is a
/// future to await or spawn; its handle stops it gracefully. OS signals are not handled
/// here: the caller decides (see the `server` binary).
pub fn start(ctx: AppContext, listener: TcpListener) -> std::io::Result<Server> {
    let settings = ctx.settings.clone();
    let prefix = settings.api_prefix.clone();
    let spec = Arc::new(openapi(&prefix));
    let spec_json = Arc::new(serde_json::to_string(&*spec).map_err(std::io::Error::other)?);
    let docs_html = Arc::new(utoipa_scalar::Scalar::new((*spec).clone()).to_html());
    let base = ctx;
    // `/metrics`: on the main port, or on METRICS_PORT's listener of its own.
    let metrics = crate::metrics::MetricsEndpoint::new(&base);
    if metrics.is_some() {
        crate::metrics::enable_recording();
    }
    let metrics_on_main = match (&metrics, settings.metrics_port) {
        (Some(m), Some(port)) => {
            crate::metrics::spawn_listener(m.clone(), &settings.host, port)?;
            None
        }
        (m, _) => m.clone(),
    };
    let shutdown_secs = settings.shutdown_timeout.as_secs();
    let workers = if settings.workers == 0 {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    } else {
        settings.workers
    };

    let server = HttpServer::new(move || {
        // Registered before the prefix scope, which would otherwise answer 404 for them.
        let spec_json = spec_json.clone();
        let data = web::Data::new(base.for_http_worker(workers));
        if let Some(m) = &metrics {
            m.add_http_pool(&data.db);
        }
        // The live connections' shared reads, one reader per worker thread and its pool.
        let live = web::Data::new(crate::live::LiveReader::new(
            data.get_ref().clone(),
            crate::routes::ws::PAGE,
        ));
        let mut app = App::new()
            .app_data(data)
            .app_data(live)
            .configure(extractor_config(settings.max_body_bytes))
            .route(
                &format!("{prefix}/openapi.json"),
                web::get().to(move || {
                    let body = spec_json.clone();
                    async move {
                        HttpResponse::Ok()
                            .content_type("application/json")
                            .body((*body).clone())
                    }
                }),
            );
        if let Some(m) = &metrics_on_main {
            app = app.configure(crate::metrics::mount(m.clone()));
        }
        if settings.api_docs {
            let html = docs_html.clone();
            app = app.route(
                &format!("{prefix}/docs"),
                web::get().to(move || {
                    let html = html.clone();
                    async move {
                        HttpResponse::Ok()
                            .content_type("text/html; charset=utf-8")
                            .body((*html).clone())
                    }
                }),
            );
        }
        let (app, _) = app
            .into_utoipa_app()
            .configure(routes::root)
            .service(scope::scope(web::scope(&prefix)).configure(routes::v1))
            .split_for_parts();
        let rewrite_prefix = prefix.clone();
        let unprefixed = settings.serve_unprefixed_paths;
        app.default_service(web::to(no_route))
            .wrap(cors(&settings))
            .wrap(from_fn(move |mut req, next: Next<_>| {
                if unprefixed {
                    rewrite_unprefixed(&mut req, &rewrite_prefix);
                }
                next.call(req)
            }))
            .wrap(
                ErrorHandlers::new()
                    .default_handler_client(ensure_problem_body)
                    .default_handler_server(ensure_problem_body),
            )
            .wrap(from_fn(correlation_and_logging))
    })
    .workers(workers)
    // Responses and WebSocket frames go out as soon as they are written: with Nagle's
    // algorithm (actix keeps the OS default) a frame written while an earlier one is not yet
    // acknowledged waits for the client's delayed ACK.
    .tcp_nodelay(true)
    .shutdown_timeout(shutdown_secs)
    .disable_signals()
    .listen(listener)?
    .run();
    Ok(server)
}

/// The OpenAPI document as pretty JSON with a final newline, as `docs/openapi.json` holds it.
pub fn openapi_json(prefix: &str) -> String {
    let mut s = openapi(prefix).to_pretty_json().unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test as atest;

    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        count: u32,
    }

    async fn echo(_id: web::Path<uuid::Uuid>, _b: web::Json<Body>) -> HttpResponse {
        HttpResponse::NoContent().finish()
    }

    async fn call(req: atest::TestRequest) -> (u16, String, serde_json::Value) {
        let app = atest::init_service(
            App::new()
                .configure(extractor_config(1024))
                .route("/things/{id}", web::post().to(echo))
                .wrap(
                    ErrorHandlers::new()
                        .default_handler_client(ensure_problem_body)
                        .default_handler_server(ensure_problem_body),
                ),
        )
        .await;
        let res = atest::call_service(&app, req.to_request()).await;
        let status = res.status().as_u16();
        let ct = res
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let body = atest::read_body(res).await;
        (
            status,
            ct,
            serde_json::from_slice(&body).unwrap_or_default(),
        )
    }

    const ID: &str = "/things/0194f0a6-1c1e-7cc3-a3a5-6f1b2c3d4e5f";

    #[actix_web::test]
    async fn valid_request_passes() {
        let (status, _, _) = call(
            atest::TestRequest::post()
                .uri(ID)
                .set_json(serde_json::json!({"name": "a", "count": 1})),
        )
        .await;
        assert_eq!(status, 204);
    }

    #[actix_web::test]
    async fn malformed_json_is_a_400_problem() {
        let (status, ct, body) = call(
            atest::TestRequest::post()
                .uri(ID)
                .insert_header((header::CONTENT_TYPE, "application/json"))
                .set_payload("{\"name\": "),
        )
        .await;
        assert_eq!(status, 400);
        assert_eq!(ct, "application/problem+json");
        assert_eq!(body["code"], "malformed_json");
        assert_eq!(body["status"], 400);
    }

    #[actix_web::test]
    async fn wrong_types_are_a_422_with_field_errors() {
        let (status, _, body) = call(
            atest::TestRequest::post()
                .uri(ID)
                .set_json(serde_json::json!({"name": "a", "count": "many"})),
        )
        .await;
        assert_eq!(status, 422);
        assert_eq!(body["code"], "validation_failed");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("invalid type")
        );
    }

    #[actix_web::test]
    async fn wrong_content_type_is_a_415_problem() {
        let (status, _, body) = call(
            atest::TestRequest::post()
                .uri(ID)
                .insert_header((header::CONTENT_TYPE, "text/plain"))
                .set_payload("{}"),
        )
        .await;
        assert_eq!(status, 415);
        assert_eq!(body["code"], "unsupported_media_type");
    }

    #[actix_web::test]
    async fn oversized_body_is_a_413_problem() {
        let big = "x".repeat(4096);
        let (status, _, body) = call(
            atest::TestRequest::post()
                .uri(ID)
                .set_json(serde_json::json!({"name": big, "count": 1})),
        )
        .await;
        assert_eq!(status, 413);
        assert_eq!(body["code"], "payload_too_large");
    }

    #[actix_web::test]
    async fn non_uuid_path_parameter_is_a_400_problem() {
        let (status, _, body) = call(
            atest::TestRequest::post()
                .uri("/things/not-a-uuid")
                .set_json(serde_json::json!({"name": "a", "count": 1})),
        )
        .await;
        assert_eq!(status, 400);
        assert_eq!(body["code"], "invalid_path_parameter");
    }

    #[test]
    fn openapi_is_3_1_and_lists_the_probes() {
        let spec = serde_json::to_value(openapi("/api/v1")).unwrap();
        assert!(spec["openapi"].as_str().unwrap().starts_with("3.1"));
        assert!(spec["paths"]["/health"]["get"].is_object());
        assert!(spec["paths"]["/ready"]["get"].is_object());
        assert!(spec["components"]["schemas"]["Problem"].is_object());
    }

    /// `docs/openapi.json` is what the web front end generates its client from; it must be
    /// the document the code produces (`cargo xtask openapi` rewrites it).
    #[test]
    fn committed_openapi_document_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        let current = openapi_json("/api/v1");
        assert!(
            committed == current,
            "docs/openapi.json is stale: run `cargo xtask openapi` and commit the result"
        );
    }
}
