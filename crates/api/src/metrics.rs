//! Prometheus metrics at `GET /metrics` (text exposition format 0.0.4).
//!
//! Off unless `METRICS_TOKEN` is set: without it the path answers 404 and nothing is recorded.
//! With it, a scrape must send `Authorization: Bearer <METRICS_TOKEN>` (compared in constant
//! time) or gets a 401 problem. `METRICS_PORT` moves the endpoint to a listener of its own on
//! `HOST` (the main port then answers 404 for it); the token is still required there.
//!
//! Recorded on the request path (one histogram lookup and a few atomic adds per request):
//!
//! * `monservice_http_request_duration_seconds{route,method,status_class}` — histogram. `route`
//!   is the route *template* (`/api/v1/departments/{id}`), never the concrete path; a request
//!   no route took is `unmatched`. `method` is one of the standard methods or `other`;
//!   `status_class` is `1xx`..`5xx`. Its `_count` is the request rate and, by class, the
//!   error rate.
//! * `monservice_http_requests_in_flight` — gauge.
//! * `monservice_websocket_connections` — gauge: the open live-notification WebSockets of
//!   this process (moved by `routes::ws`, see [`websocket_connections`]).
//!
//! Read at scrape time:
//!
//! * `monservice_db_pool_connections_{in_use,idle,max}{pool}` — `pool="main"` is the process's
//!   pool (the in-process worker, start-up, scrapes); `pool="http"` adds up the HTTP workers'
//!   own pools, which exist on PostgreSQL only (on SQLite they share the main pool).
//! * `monservice_job_queue_depth{kind,state}` — jobs by kind and `state`: `pending` (due now,
//!   waiting for a worker), `scheduled` (pending, due later), `running`, `dead`; and
//!   `monservice_job_queue_oldest_pending_seconds{kind}`, the wait of the oldest due job. One
//!   grouped query, cached for [`QUEUE_CACHE_TTL`]. Every process that serves metrics reports
//!   the same database-wide figures: aggregate them with `max`, not `sum`.
//! * `monservice_db_statements_total` — SQL statements this process sent.
//! * `monservice_process_cpu_cores`, `monservice_process_memory_limit_bytes` — what the process
//!   may use (cgroup quota or the machine), the denominators of the CPU and memory alerts over
//!   the standard `process_cpu_seconds_total` and `process_resident_memory_bytes`.
//! * `monservice_build_info{version}` — always 1.
//!
//! The worker records `monservice_job_queue_wait_seconds{kind}` and
//! `monservice_job_run_seconds{kind,outcome}` into the same (default) registry; they show up
//! here when the worker runs in this process, or on `monservice worker`'s own listener
//! ([`serve_standalone`], `METRICS_PORT`).

use crate::ApiError;
use actix_web::dev::{Server, ServerHandle};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, ResponseError, web};
use app::AppContext;
use prometheus::core::Collector;
use prometheus::{GaugeVec, HistogramOpts, HistogramVec, IntCounter, IntGauge, Opts, TextEncoder};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use secrecy::{ExposeSecret, SecretString};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};
use store_sea::{Backend, Db};

/// Request latency histogram.
pub const REQUEST_DURATION: &str = "monservice_http_request_duration_seconds";
/// Requests being served.
pub const IN_FLIGHT: &str = "monservice_http_requests_in_flight";
/// Open WebSocket connections.
pub const WEBSOCKETS: &str = "monservice_websocket_connections";
/// The `route` label of a request no route took.
pub const UNMATCHED: &str = "unmatched";
/// How long a queue-depth reading is reused, so frequent scrapes cost one query per period.
pub const QUEUE_CACHE_TTL: Duration = Duration::from_secs(5);

/// Bucket bounds in seconds; 0.5 and 1 are the p95 and p99 alert thresholds.
const LATENCY_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0,
];

struct HttpMetrics {
    duration: HistogramVec,
    in_flight: IntGauge,
    websockets: IntGauge,
}

impl HttpMetrics {
    fn register() -> prometheus::Result<Self> {
        let duration = HistogramVec::new(
            HistogramOpts::new(
                REQUEST_DURATION,
                "Time to serve a request, by route template, method and status class.",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["route", "method", "status_class"],
        )?;
        let in_flight = IntGauge::new(IN_FLIGHT, "Requests being served.")?;
        let websockets = IntGauge::new(WEBSOCKETS, "Open WebSocket connections.")?;
        let registry = prometheus::default_registry();
        registry.register(Box::new(duration.clone()))?;
        registry.register(Box::new(in_flight.clone()))?;
        registry.register(Box::new(websockets.clone()))?;
        Ok(Self {
            duration,
            in_flight,
            websockets,
        })
    }
}

static HTTP: LazyLock<Option<HttpMetrics>> = LazyLock::new(|| match HttpMetrics::register() {
    Ok(m) => Some(m),
    Err(e) => {
        tracing::error!(error = %e, "cannot register the HTTP metrics; they are not recorded");
        None
    }
});

/// Whether requests are recorded: turned on once a server with `METRICS_TOKEN` starts.
static RECORDING: AtomicBool = AtomicBool::new(false);

fn recording() -> Option<&'static HttpMetrics> {
    if RECORDING.load(Ordering::Relaxed) {
        HTTP.as_ref()
    } else {
        None
    }
}

/// Registers the HTTP metrics and starts recording requests.
pub fn enable_recording() {
    if HTTP.is_some() {
        RECORDING.store(true, Ordering::Relaxed);
    }
}

/// The open-WebSocket-connections gauge, for the WebSocket endpoint to increment on upgrade
/// and decrement on close. `None` when metrics are off.
pub fn websocket_connections() -> Option<&'static IntGauge> {
    recording().map(|m| &m.websockets)
}

/// Counts a request as in flight until dropped (so a request whose client went away is
/// counted out too).
pub struct InFlight(Option<&'static IntGauge>);

impl InFlight {
    pub fn start() -> Self {
        let gauge = recording().map(|m| &m.in_flight);
        if let Some(g) = gauge {
            g.inc();
        }
        InFlight(gauge)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Some(g) = self.0 {
            g.dec();
        }
    }
}

/// The `method` label: the standard methods, anything else `other`.
pub fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// The `status_class` label.
pub fn status_class(status: u16) -> &'static str {
    match status / 100 {
        1 => "1xx",
        2 => "2xx",
        3 => "3xx",
        4 => "4xx",
        _ => "5xx",
    }
}

/// Records one served request. `route` is the matched template (`None`: no route took it).
/// The cost: a hash of the three label values, a read lock to find the series, and a few
/// atomic adds; no allocation.
pub fn observe_request(route: Option<&str>, method: &'static str, status: u16, elapsed: Duration) {
    if let Some(m) = recording() {
        m.duration
            .with_label_values(&[route.unwrap_or(UNMATCHED), method, status_class(status)])
            .observe(elapsed.as_secs_f64());
    }
}

/// Byte-wise comparison whose time depends on the lengths only, not on where they differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= usize::from(std::hint::black_box(x ^ y));
    }
    diff == 0
}

/// One job-queue reading: `kind`, `state`, how many, and the oldest `run_at` (ms).
struct QueueRow {
    kind: String,
    state: String,
    count: i64,
    oldest_run_at: i64,
}

/// The `/metrics` endpoint of one server: its token, the pools it reports and the cached
/// queue reading.
pub struct MetricsEndpoint {
    token: SecretString,
    ctx: AppContext,
    http_pools: Mutex<Vec<Db>>,
    queue: Mutex<Option<(Instant, Arc<Vec<QueueRow>>)>>,
}

impl MetricsEndpoint {
    /// The endpoint, when `METRICS_TOKEN` is set.
    pub fn new(ctx: &AppContext) -> Option<Arc<Self>> {
        let token = ctx.settings.metrics_token.clone()?;
        Some(Arc::new(Self {
            token,
            ctx: ctx.clone(),
            http_pools: Mutex::new(Vec::new()),
            queue: Mutex::new(None),
        }))
    }

    /// Reports an HTTP worker's pool under `pool="http"` when it has one of its own
    /// (PostgreSQL); on SQLite the workers share the main pool, already reported.
    pub fn add_http_pool(&self, db: &Db) {
        if db.backend == Backend::Postgres
            && let Ok(mut pools) = self.http_pools.lock()
        {
            pools.push(db.clone());
        }
    }

    fn authorized(&self, req: &HttpRequest) -> bool {
        let Some((scheme, token)) = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
        else {
            return false;
        };
        scheme.eq_ignore_ascii_case("bearer")
            && constant_time_eq(
                token.trim().as_bytes(),
                self.token.expose_secret().as_bytes(),
            )
    }

    /// The exposition text.
    async fn render(&self) -> Result<String, ApiError> {
        let mut families = prometheus::gather();
        families.extend(self.pool_families());
        families.extend(self.queue_families().await);
        families.extend(process_limit_families());
        families.extend(static_families());
        // A vector with no series yet (an empty queue) is left out, as the registry does.
        families.retain(|f| !f.get_metric().is_empty());
        TextEncoder::new()
            .encode_to_string(&families)
            .map_err(|e| ApiError::Internal(format!("encoding metrics: {e}")))
    }

    fn pool_families(&self) -> Vec<prometheus::proto::MetricFamily> {
        let Some(in_use) = gauge_vec(
            "monservice_db_pool_connections_in_use",
            "Database connections checked out of the pool.",
            &["pool"],
        ) else {
            return Vec::new();
        };
        let Some(idle) = gauge_vec(
            "monservice_db_pool_connections_idle",
            "Open database connections waiting in the pool.",
            &["pool"],
        ) else {
            return Vec::new();
        };
        let Some(max) = gauge_vec(
            "monservice_db_pool_connections_max",
            "The most connections the pool may open.",
            &["pool"],
        ) else {
            return Vec::new();
        };
        let report = |pool: &str, stats: PoolStats| {
            in_use.with_label_values(&[pool]).set(stats.in_use as f64);
            idle.with_label_values(&[pool]).set(stats.idle as f64);
            max.with_label_values(&[pool]).set(stats.max as f64);
        };
        report("main", pool_stats(&self.ctx.db));
        if let Ok(pools) = self.http_pools.lock()
            && !pools.is_empty()
        {
            let total = pools
                .iter()
                .map(pool_stats)
                .fold(PoolStats::default(), |a, b| PoolStats {
                    in_use: a.in_use + b.in_use,
                    idle: a.idle + b.idle,
                    max: a.max + b.max,
                });
            report("http", total);
        }
        let mut out = in_use.collect();
        out.extend(idle.collect());
        out.extend(max.collect());
        out
    }

    async fn queue_rows(&self) -> Option<Arc<Vec<QueueRow>>> {
        if let Ok(cached) = self.queue.lock()
            && let Some((at, rows)) = cached.as_ref()
            && at.elapsed() < QUEUE_CACHE_TTL
        {
            return Some(rows.clone());
        }
        let conn = self.ctx.jobs.connection();
        let (backend, placeholder) = match self.ctx.db.backend {
            Backend::Postgres => (DbBackend::Postgres, "$1"),
            Backend::Sqlite => (DbBackend::Sqlite, "?"),
        };
        let now_ms = self.ctx.clock.now().timestamp_millis();
        let sql = format!(
            "SELECT kind, \
                    CASE WHEN status = 'pending' AND run_at > {placeholder} THEN 'scheduled' \
                         ELSE status END AS state, \
                    COUNT(*) AS n, MIN(run_at) AS oldest \
             FROM jobs WHERE status IN ('pending', 'running', 'dead') \
             GROUP BY 1, 2"
        );
        let rows = match conn
            .query_all_raw(Statement::from_sql_and_values(
                backend,
                sql,
                [now_ms.into()],
            ))
            .await
        {
            Ok(rows) => rows,
            Err(e) => {
                tracing::warn!(error = %e, "metrics: cannot read the job queue");
                return None;
            }
        };
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let row = (|| -> Result<QueueRow, sea_orm::DbErr> {
                Ok(QueueRow {
                    kind: r.try_get("", "kind")?,
                    state: r.try_get::<String>("", "state")?.trim().to_string(),
                    count: r.try_get("", "n")?,
                    oldest_run_at: r.try_get("", "oldest")?,
                })
            })();
            match row {
                Ok(row) => out.push(row),
                Err(e) => {
                    tracing::warn!(error = %e, "metrics: unexpected job queue row");
                    return None;
                }
            }
        }
        let rows = Arc::new(out);
        if let Ok(mut cached) = self.queue.lock() {
            *cached = Some((Instant::now(), rows.clone()));
        }
        Some(rows)
    }

    async fn queue_families(&self) -> Vec<prometheus::proto::MetricFamily> {
        let (Some(depth), Some(oldest)) = (
            gauge_vec(
                "monservice_job_queue_depth",
                "Jobs by kind and state: pending (due, waiting for a worker), scheduled (due later), running, dead.",
                &["kind", "state"],
            ),
            gauge_vec(
                "monservice_job_queue_oldest_pending_seconds",
                "How long the oldest due job of each kind has been waiting.",
                &["kind"],
            ),
        ) else {
            return Vec::new();
        };
        let now_ms = self.ctx.clock.now().timestamp_millis();
        for row in self.queue_rows().await.iter().flat_map(|rows| rows.iter()) {
            depth
                .with_label_values(&[row.kind.as_str(), row.state.as_str()])
                .set(row.count as f64);
            if row.state == "pending" {
                oldest
                    .with_label_values(&[row.kind.as_str()])
                    .set((now_ms - row.oldest_run_at).max(0) as f64 / 1000.0);
            }
        }
        let mut out = depth.collect();
        out.extend(oldest.collect());
        out
    }
}

#[derive(Clone, Copy, Default)]
struct PoolStats {
    in_use: u64,
    idle: u64,
    max: u64,
}

fn pool_stats(db: &Db) -> PoolStats {
    let (size, idle, max) = match db.backend {
        Backend::Postgres => {
            let p = db.conn.get_postgres_connection_pool();
            (p.size(), p.num_idle(), p.options().get_max_connections())
        }
        Backend::Sqlite => {
            let p = db.conn.get_sqlite_connection_pool();
            (p.size(), p.num_idle(), p.options().get_max_connections())
        }
    };
    let idle = u64::try_from(idle).unwrap_or(u64::MAX);
    PoolStats {
        in_use: u64::from(size).saturating_sub(idle),
        idle,
        max: u64::from(max),
    }
}

fn gauge_vec(name: &str, help: &str, labels: &[&str]) -> Option<GaugeVec> {
    GaugeVec::new(Opts::new(name, help), labels)
        .map_err(|e| tracing::error!(error = %e, name, "cannot build a metric"))
        .ok()
}

fn process_limit_families() -> Vec<prometheus::proto::MetricFamily> {
    let mut out = Vec::new();
    if let Some(g) = gauge_vec(
        "monservice_process_cpu_cores",
        "CPU cores this process may use (its cgroup quota, or the machine's cores).",
        &[],
    ) {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        g.with_label_values::<&str>(&[]).set(cores as f64);
        out.extend(g.collect());
    }
    if let Some(limit) = memory_limit_bytes()
        && let Some(g) = gauge_vec(
            "monservice_process_memory_limit_bytes",
            "Memory this process may use (its cgroup limit, or the machine's memory).",
            &[],
        )
    {
        g.with_label_values::<&str>(&[]).set(limit as f64);
        out.extend(g.collect());
    }
    out
}

/// The cgroup memory limit (v2, then v1), capped by the machine's memory; `None` off Linux.
fn memory_limit_bytes() -> Option<u64> {
    let read = |path: &str| std::fs::read_to_string(path).ok();
    let total = read("/proc/meminfo").and_then(|m| {
        m.lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kb| kb.saturating_mul(1024))
    })?;
    let own_v2 = read("/proc/self/cgroup").and_then(|c| {
        c.lines()
            .find_map(|l| l.strip_prefix("0::"))
            .map(|p| format!("/sys/fs/cgroup{}/memory.max", p.trim_end_matches('/')))
    });
    let limit = own_v2
        .iter()
        .map(String::as_str)
        .chain([
            "/sys/fs/cgroup/memory.max",
            "/sys/fs/cgroup/memory/memory.limit_in_bytes",
        ])
        .filter_map(read)
        .find_map(|v| v.trim().parse::<u64>().ok());
    Some(limit.map_or(total, |l| l.min(total)))
}

fn static_families() -> Vec<prometheus::proto::MetricFamily> {
    let mut out = Vec::new();
    if let Ok(c) = IntCounter::new(
        "monservice_db_statements_total",
        "SQL statements this process has sent.",
    ) {
        c.inc_by(store_sea::statements_sent());
        out.extend(c.collect());
    }
    if let Some(g) = gauge_vec(
        "monservice_build_info",
        "Always 1; the running version as a label.",
        &["version"],
    ) {
        g.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1.0);
        out.extend(g.collect());
    }
    out
}

fn unauthorized() -> HttpResponse {
    let mut res = ApiError::Unauthorized(
        "Scraping the metrics needs Authorization: Bearer <METRICS_TOKEN>.".into(),
    )
    .error_response();
    res.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"metrics\""),
    );
    res
}

/// `GET /metrics`.
pub async fn scrape(req: HttpRequest, endpoint: web::Data<MetricsEndpoint>) -> HttpResponse {
    if !endpoint.authorized(&req) {
        return unauthorized();
    }
    match endpoint.render().await {
        Ok(body) => HttpResponse::Ok()
            .content_type(prometheus::TEXT_FORMAT)
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(body),
        Err(e) => e.error_response(),
    }
}

/// Mounts `GET /metrics` on an app, with its endpoint as app data.
pub fn mount(endpoint: Arc<MetricsEndpoint>) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.app_data(web::Data::from(endpoint))
            .route("/metrics", web::get().to(scrape));
    }
}

async fn not_found() -> HttpResponse {
    ApiError::NotFound("No resource at this address.".into()).error_response()
}

/// A server answering `GET /metrics` only, on `listener` (one worker thread).
pub fn start_listener(
    endpoint: Arc<MetricsEndpoint>,
    listener: TcpListener,
) -> std::io::Result<Server> {
    Ok(HttpServer::new(move || {
        App::new()
            .configure(mount(endpoint.clone()))
            .default_service(web::to(not_found))
    })
    .workers(1)
    .shutdown_timeout(1)
    .disable_signals()
    .listen(listener)?
    .run())
}

/// Binds `HOST:METRICS_PORT` and serves the endpoint there, in the background, until the
/// returned handle stops it (or the process ends).
pub fn spawn_listener(
    endpoint: Arc<MetricsEndpoint>,
    host: &str,
    port: u16,
) -> std::io::Result<ServerHandle> {
    let listener = TcpListener::bind((host, port)).map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!("cannot listen on {host}:{port} (METRICS_PORT): {e}"),
        )
    })?;
    let server = start_listener(endpoint, listener)?;
    let handle = server.handle();
    tokio::spawn(server);
    Ok(handle)
}

/// For `monservice worker`: serves this process's metrics on `METRICS_PORT` when both it and
/// `METRICS_TOKEN` are set. Returns the listener's handle.
pub fn serve_standalone(ctx: &AppContext) -> std::io::Result<Option<ServerHandle>> {
    let Some(endpoint) = MetricsEndpoint::new(ctx) else {
        return Ok(None);
    };
    match ctx.settings.metrics_port {
        Some(port) => spawn_listener(endpoint, &ctx.settings.host, port).map(Some),
        None => {
            tracing::warn!(
                "METRICS_TOKEN is set but METRICS_PORT is not: this process has no HTTP server, so its metrics are not served"
            );
            Ok(None)
        }
    }
}

/// The status a failed request will be answered with, for [`observe_request`].
pub fn error_status(e: &actix_web::Error) -> u16 {
    let s: StatusCode = e.as_response_error().status_code();
    s.as_u16()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_come_from_fixed_sets() {
        assert_eq!(status_class(204), "2xx");
        assert_eq!(status_class(404), "4xx");
        assert_eq!(status_class(503), "5xx");
        assert_eq!(status_class(101), "1xx");
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::OPTIONS), "OPTIONS");
        assert_eq!(
            method_label(&Method::from_bytes(b"PROPFIND").unwrap()),
            "other"
        );
    }

    #[test]
    fn token_comparison() {
        assert!(constant_time_eq(b"0123456789abcdef", b"0123456789abcdef"));
        assert!(!constant_time_eq(b"0123456789abcdef", b"0123456789abcdeg"));
        assert!(!constant_time_eq(b"0123456789abcdef", b"0123456789abcde"));
        assert!(!constant_time_eq(b"", b"x"));
    }

    #[test]
    fn memory_limit_is_known_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(memory_limit_bytes().unwrap() > 1 << 20);
        }
    }
}
