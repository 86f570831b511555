//! Settings, from environment variables named as in the deployment guide.
//!
//! [`VARIABLES`] is the single list of every variable: its default in the embedded profile,
//! whether it is a secret, and what it means. It drives parsing, `print-config --redacted`,
//! and `.env.example` (kept current by a test). Defaults make `cargo run` work with no
//! environment at all; production must set its secrets, and start-up refuses, with one clear
//! line, a configuration that cannot work.

use secrecy::{ExposeSecret, SecretString};
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;
use store_sea::Backend;

/// The development secret. Production refuses to start with it.
pub const DEV_SECRET_KEY: &str = "dev-only-insecure-secret-key-change-me-in-production";

/// One environment variable.
#[derive(Debug)]
pub struct Var {
    pub name: &'static str,
    /// The embedded-profile default ("" means unset).
    pub default: &'static str,
    pub secret: bool,
    pub help: &'static str,
}

const fn var(name: &'static str, default: &'static str, help: &'static str) -> Var {
    Var {
        name,
        default,
        secret: false,
        help,
    }
}
const fn secret(name: &'static str, default: &'static str, help: &'static str) -> Var {
    Var {
        name,
        default,
        secret: true,
        help,
    }
}

/// Every variable the service reads, in the order `.env.example` lists them.
pub const VARIABLES: &[Var] = &[
    var(
        "APP_NAME",
        "MonService",
        "Name shown in emails and the API docs.",
    ),
    var(
        "APP_ENV",
        "development",
        "development | test | staging | production. Production refuses unsafe defaults.",
    ),
    var(
        "DEBUG",
        "false",
        "Verbose errors in logs (never in responses).",
    ),
    var("API_V1_PREFIX", "/api/v1", "Prefix of every API route."),
    secret(
        "SECRET_KEY",
        DEV_SECRET_KEY,
        "Signing key for tokens; at least 32 characters (openssl rand -hex 32). Required in production.",
    ),
    var(
        "HOST",
        "127.0.0.1",
        "Address to listen on (0.0.0.0 in a container).",
    ),
    var("PORT", "8000", "Port to listen on."),
    var(
        "WORKERS",
        "0",
        "HTTP worker threads; 0 means one per CPU core.",
    ),
    var(
        "DATA_DIR",
        "./data",
        "Embedded profile: folder of the SQLite file, stored files and written mail.",
    ),
    secret(
        "DATABASE_URL",
        "",
        "postgres://user:pass@host/db (postgresql+asyncpg:// accepted) or sqlite://path. Default: sqlite://{DATA_DIR}/monservice.db.",
    ),
    var("DATABASE_POOL_SIZE", "10", "Connections kept in the pool."),
    var(
        "DATABASE_MAX_OVERFLOW",
        "10",
        "Extra connections allowed under load (pool maximum = size + overflow).",
    ),
    var(
        "DATABASE_ECHO",
        "false",
        "Log every SQL statement at DEBUG.",
    ),
    var(
        "AUTO_MIGRATE",
        "",
        "Apply pending migrations at start-up. Default: true for SQLite outside production, false otherwise (run `migrate up` before deploying).",
    ),
    secret(
        "REDIS_URL",
        "",
        "redis://host:6379/0. When set: job wake-ups, rate limits and cache are shared through Redis.",
    ),
    var("REDIS_MAX_CONNECTIONS", "50", "Redis pool size."),
    var(
        "REDIS_NAMESPACE",
        "monservice",
        "Prefix of every Redis key and channel.",
    ),
    var(
        "JWT_ALGORITHM",
        "HS256",
        "Signing algorithm of access tokens.",
    ),
    var(
        "ACCESS_TOKEN_EXPIRE_MINUTES",
        "15",
        "Lifetime of an access token.",
    ),
    var(
        "REFRESH_TOKEN_EXPIRE_DAYS",
        "7",
        "Lifetime of a refresh token.",
    ),
    var(
        "GOOGLE_CLIENT_ID",
        "",
        "OAuth client id for Google sign-in.",
    ),
    secret(
        "GOOGLE_CLIENT_SECRET",
        "",
        "OAuth client secret for Google sign-in.",
    ),
    var(
        "GOOGLE_ISSUER_URL",
        "https://accounts.google.com",
        "OpenID Connect issuer for Google sign-in (its discovery document and keys are fetched from it).",
    ),
    var(
        "GOOGLE_REDIRECT_URI",
        "",
        "Redirect URI registered with Google.",
    ),
    var(
        "PUBLIC_API_URL",
        "http://localhost:8000",
        "Base URL of this API as browsers and calendar apps reach it: links to files it serves (avatars) and personal calendar feed URLs (left at this default, feeds use the request's own host).",
    ),
    var(
        "FRONTEND_URL",
        "http://localhost:3000",
        "Base URL of the web front end, used in emailed links.",
    ),
    var(
        "SMTP_HOST",
        "",
        "SMTP server. Unset: mail is written as .eml files under {DATA_DIR}/mail.",
    ),
    var("SMTP_PORT", "587", "SMTP port."),
    var(
        "SMTP_USER",
        "",
        "SMTP user name (unset: no authentication).",
    ),
    secret(
        "SMTP_PASSWORD",
        "",
        "SMTP password; required with SMTP_USER.",
    ),
    var(
        "SMTP_TLS",
        "true",
        "Require STARTTLS (implicit TLS on port 465).",
    ),
    var("SMTP_FROM_NAME", "MonService", "Sender name."),
    var(
        "SMTP_FROM_EMAIL",
        "noreply@monservice.local",
        "Sender address.",
    ),
    var(
        "S3_ENDPOINT_URL",
        "",
        "S3-compatible endpoint (unset with a bucket: AWS).",
    ),
    var(
        "S3_ACCESS_KEY",
        "",
        "S3 access key; required with S3_BUCKET_NAME.",
    ),
    secret(
        "S3_SECRET_KEY",
        "",
        "S3 secret key; required with S3_BUCKET_NAME.",
    ),
    var(
        "S3_BUCKET_NAME",
        "",
        "Bucket for stored files. Unset: files go to {DATA_DIR}/files.",
    ),
    var("S3_REGION", "us-east-1", "S3 region."),
    var(
        "S3_USE_SSL",
        "true",
        "Use https for S3_ENDPOINT_URL without a scheme.",
    ),
    var(
        "CORS_ORIGINS",
        "http://localhost:3000,http://127.0.0.1:3000",
        "Comma-separated origins allowed to call the API from a browser.",
    ),
    var(
        "CORS_ALLOW_CREDENTIALS",
        "false",
        "Allow credentialed CORS requests (the front end sends none).",
    ),
    var(
        "RATE_LIMIT_PER_MINUTE",
        "60",
        "Requests per minute per user outside the auth endpoints.",
    ),
    var(
        "RATE_LIMIT_AUTH_PER_MINUTE",
        "10",
        "Requests per minute per client on the auth endpoints.",
    ),
    var(
        "LOG_LEVEL",
        "INFO",
        "TRACE | DEBUG | INFO | WARN | ERROR, or a tracing filter such as info,sqlx=warn.",
    ),
    var("LOG_FORMAT", "text", "text | json."),
    secret("SENTRY_DSN", "", "Sentry DSN; unset disables Sentry."),
    var(
        "SENTRY_ENVIRONMENT",
        "development",
        "Sentry environment tag.",
    ),
    var(
        "SENTRY_TRACES_SAMPLE_RATE",
        "0.1",
        "Share of requests and jobs sent to Sentry as traces, 0.0 to 1.0 (needs SENTRY_DSN).",
    ),
    secret(
        "METRICS_TOKEN",
        "",
        "Bearer token Prometheus sends to scrape GET /metrics (16+ characters: openssl rand -hex 16). Unset: no metrics endpoint (404) and nothing recorded.",
    ),
    var(
        "METRICS_PORT",
        "",
        "Serve /metrics on this port of HOST instead of PORT (still behind METRICS_TOKEN); the only way `monservice worker` exposes its metrics.",
    ),
    var("FEATURE_OAUTH_GOOGLE", "true", "Google sign-in."),
    var(
        "FEATURE_WEBSOCKETS",
        "true",
        "Live notifications over WebSocket.",
    ),
    var(
        "WEBSOCKET_HEARTBEAT_MS",
        "25000",
        "WebSocket heartbeat: a ping this often, the session re-checked, and a client silent for two of them dropped (1000-300000).",
    ),
    var(
        "FEATURE_EMAIL_NOTIFICATIONS",
        "true",
        "Notification emails (in-app notifications are always on).",
    ),
    var(
        "NOTIFICATIONS_RETENTION_DAYS",
        "90",
        "Read notifications older than this many days are deleted by a daily job (1-3650).",
    ),
    var(
        "AVAILABILITY_CHASE_DAYS",
        "7,1",
        "Days before a month's availability deadline when members who entered nothing are reminded (comma-separated, 0-60).",
    ),
    var(
        "TRUST_PROXY_HEADERS",
        "false",
        "Take the client address from X-Forwarded-For (only behind a proxy that sets it).",
    ),
    var(
        "MAX_BODY_BYTES",
        "1048576",
        "Largest accepted JSON request body, in bytes.",
    ),
    var(
        "SERVE_UNPREFIXED_PATHS",
        "true",
        "Also answer /users/me etc. without API_V1_PREFIX, as the web front end calls them.",
    ),
    var(
        "API_DOCS",
        "",
        "Serve the API docs page. Default: on outside production.",
    ),
    var(
        "WORKER_CONCURRENCY",
        "4",
        "Jobs one worker process runs at once.",
    ),
    var(
        "WORKER_POLL_INTERVAL_MS",
        "1000",
        "Longest wait before a worker looks for due jobs without a wake-up.",
    ),
    var(
        "SHUTDOWN_TIMEOUT_SECS",
        "30",
        "On SIGTERM, how long in-flight requests and jobs may take to finish.",
    ),
];

/// The deployment profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppEnv {
    Development,
    Test,
    Staging,
    Production,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Where outgoing mail goes.
#[derive(Clone, Debug)]
pub enum MailSettings {
    /// `.eml` files in a folder (embedded profile).
    Files { dir: PathBuf },
    Smtp {
        host: String,
        port: u16,
        user: Option<String>,
        password: Option<SecretString>,
        tls: bool,
    },
}

/// Where stored files go.
#[derive(Clone, Debug)]
pub enum FileSettings {
    Local {
        dir: PathBuf,
    },
    S3 {
        endpoint_url: Option<String>,
        access_key: String,
        secret_key: SecretString,
        bucket: String,
        region: String,
        use_ssl: bool,
    },
}

/// Every setting, typed and validated.
#[derive(Clone, Debug)]
pub struct Settings {
    pub app_name: String,
    pub env: AppEnv,
    pub debug: bool,
    pub api_prefix: String,
    pub secret_key: SecretString,
    pub host: String,
    pub port: u16,
    pub workers: usize,
    pub data_dir: PathBuf,
    pub database_url: SecretString,
    pub database_backend: Backend,
    pub database_max_connections: u32,
    pub database_echo: bool,
    pub auto_migrate: bool,
    pub redis_url: Option<SecretString>,
    pub redis_max_connections: usize,
    pub redis_namespace: String,
    pub jwt_algorithm: String,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub google_client_id: Option<String>,
    pub google_client_secret: Option<SecretString>,
    pub google_redirect_uri: Option<String>,
    pub google_issuer_url: String,
    pub frontend_url: String,
    pub public_api_url: String,
    pub mail: MailSettings,
    pub mail_from_name: String,
    pub mail_from_email: String,
    pub files: FileSettings,
    pub cors_origins: Vec<String>,
    pub cors_allow_credentials: bool,
    pub rate_limit_per_minute: u32,
    pub rate_limit_auth_per_minute: u32,
    pub log_level: String,
    pub log_format: LogFormat,
    pub sentry_dsn: Option<SecretString>,
    pub sentry_environment: String,
    /// `SENTRY_TRACES_SAMPLE_RATE`, within 0.0..=1.0.
    pub sentry_traces_sample_rate: f32,
    /// `METRICS_TOKEN`: `/metrics` is served only when set.
    pub metrics_token: Option<SecretString>,
    /// `METRICS_PORT`: a listener of its own for `/metrics`.
    pub metrics_port: Option<u16>,
    pub feature_oauth_google: bool,
    pub feature_websockets: bool,
    /// `WEBSOCKET_HEARTBEAT_MS`: how often a WebSocket is pinged and its session re-checked.
    pub websocket_heartbeat: Duration,
    pub feature_email_notifications: bool,
    /// `NOTIFICATIONS_RETENTION_DAYS`: how long read notifications are kept.
    pub notifications_retention_days: u32,
    /// `AVAILABILITY_CHASE_DAYS`: the days before an availability deadline when the hourly
    /// chase reminds members who entered nothing, largest first.
    pub availability_chase_days: Vec<u32>,
    pub max_body_bytes: usize,
    pub trust_proxy_headers: bool,
    pub serve_unprefixed_paths: bool,
    pub api_docs: bool,
    pub worker_concurrency: usize,
    pub worker_poll_interval: Duration,
    pub shutdown_timeout: Duration,
}

/// Why the service refuses to start. The message is one line that names the variable.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct SettingsError(pub String);

struct Source<'a>(&'a HashMap<String, String>);

impl Source<'_> {
    /// The raw value: set and non-empty, else the table's default, else `None`.
    fn raw(&self, name: &str) -> Option<String> {
        if let Some(v) = self.0.get(name).map(|v| v.trim()).filter(|v| !v.is_empty()) {
            return Some(v.to_string());
        }
        VARIABLES
            .iter()
            .find(|v| v.name == name)
            .map(|v| v.default)
            .filter(|d| !d.is_empty())
            .map(str::to_string)
    }
    fn string(&self, name: &str) -> String {
        self.raw(name).unwrap_or_default()
    }
    fn parse<T: std::str::FromStr>(&self, name: &str) -> Result<T, SettingsError> {
        let raw = self.string(name);
        raw.parse()
            .map_err(|_| SettingsError(format!("{name}={raw:?} is not a valid value")))
    }
    fn bool(&self, name: &str) -> Result<bool, SettingsError> {
        let raw = self.string(name);
        match raw.to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(true),
            "0" | "false" | "no" | "off" => Ok(false),
            _ => Err(SettingsError(format!(
                "{name}={raw:?} is not a boolean (true or false)"
            ))),
        }
    }
    fn opt_bool(&self, name: &str) -> Result<Option<bool>, SettingsError> {
        match self.raw(name) {
            None => Ok(None),
            Some(_) => self.bool(name).map(Some),
        }
    }
}

impl Settings {
    /// Reads the process environment (and a `.env` file in the working directory, if any).
    pub fn from_env() -> Result<Settings, SettingsError> {
        Self::from_map(&Self::env_map())
    }

    /// The process environment, after loading a `.env` file from the working directory if
    /// there is one (variables already set win).
    pub fn env_map() -> HashMap<String, String> {
        let _ = dotenvy::dotenv();
        std::env::vars().collect()
    }

    /// Reads settings from a map, for tests and tools.
    pub fn from_map(map: &HashMap<String, String>) -> Result<Settings, SettingsError> {
        let s = Source(map);
        let env = match s.string("APP_ENV").to_ascii_lowercase().as_str() {
            "development" | "dev" | "local" => AppEnv::Development,
            "test" => AppEnv::Test,
            "staging" => AppEnv::Staging,
            "production" | "prod" => AppEnv::Production,
            other => {
                return Err(SettingsError(format!(
                    "APP_ENV={other:?} is not one of development, test, staging, production"
                )));
            }
        };
        let data_dir = PathBuf::from(s.string("DATA_DIR"));
        let database_url = s
            .raw("DATABASE_URL")
            .unwrap_or_else(|| format!("sqlite://{}/monservice.db", data_dir.display()));
        let (database_backend, _) = Backend::from_url(&database_url).map_err(SettingsError)?;

        let secret_key = s.string("SECRET_KEY");
        if env == AppEnv::Production && (secret_key == DEV_SECRET_KEY || secret_key.len() < 32) {
            return Err(SettingsError(
                "SECRET_KEY must be set to a random value of at least 32 characters in production (openssl rand -hex 32)".into(),
            ));
        }

        let jwt_algorithm = s.string("JWT_ALGORITHM").to_ascii_uppercase();
        if !matches!(jwt_algorithm.as_str(), "HS256" | "HS384" | "HS512") {
            return Err(SettingsError(format!(
                "JWT_ALGORITHM={jwt_algorithm:?} is not supported: use HS256, HS384 or HS512"
            )));
        }

        let api_prefix = s.string("API_V1_PREFIX");
        if !api_prefix.starts_with('/') || api_prefix.ends_with('/') || api_prefix.len() < 2 {
            return Err(SettingsError(format!(
                "API_V1_PREFIX={api_prefix:?} must start with / and not end with /"
            )));
        }

        let redis_url = s.raw("REDIS_URL");
        if let Some(u) = &redis_url
            && !(u.starts_with("redis://") || u.starts_with("rediss://"))
        {
            return Err(SettingsError(
                "REDIS_URL must start with redis:// or rediss://".into(),
            ));
        }

        let mail = match s.raw("SMTP_HOST") {
            None => MailSettings::Files {
                dir: data_dir.join("mail"),
            },
            Some(host) => {
                let user = s.raw("SMTP_USER");
                let password = s.raw("SMTP_PASSWORD");
                if user.is_some() != password.is_some() {
                    return Err(SettingsError(
                        "SMTP_USER and SMTP_PASSWORD must be set together".into(),
                    ));
                }
                MailSettings::Smtp {
                    host,
                    port: s.parse("SMTP_PORT")?,
                    user,
                    password: password.map(SecretString::from),
                    tls: s.bool("SMTP_TLS")?,
                }
            }
        };

        let files = match s.raw("S3_BUCKET_NAME") {
            None => FileSettings::Local {
                dir: data_dir.join("files"),
            },
            Some(bucket) => {
                let (Some(access_key), Some(secret_key)) =
                    (s.raw("S3_ACCESS_KEY"), s.raw("S3_SECRET_KEY"))
                else {
                    return Err(SettingsError(
                        "S3_BUCKET_NAME is set but S3_ACCESS_KEY or S3_SECRET_KEY is missing"
                            .into(),
                    ));
                };
                FileSettings::S3 {
                    endpoint_url: s.raw("S3_ENDPOINT_URL"),
                    access_key,
                    secret_key: SecretString::from(secret_key),
                    bucket,
                    region: s.string("S3_REGION"),
                    use_ssl: s.bool("S3_USE_SSL")?,
                }
            }
        };

        let log_format = match s.string("LOG_FORMAT").to_ascii_lowercase().as_str() {
            "json" => LogFormat::Json,
            "text" | "pretty" | "plain" => LogFormat::Text,
            other => {
                return Err(SettingsError(format!(
                    "LOG_FORMAT={other:?} is not text or json"
                )));
            }
        };

        let pool: u32 = s.parse("DATABASE_POOL_SIZE")?;
        let overflow: u32 = s.parse("DATABASE_MAX_OVERFLOW")?;
        if pool == 0 {
            return Err(SettingsError(
                "DATABASE_POOL_SIZE must be at least 1".into(),
            ));
        }
        let workers: usize = s.parse("WORKERS")?;
        let metrics_token = s.raw("METRICS_TOKEN");
        if metrics_token.as_ref().is_some_and(|t| t.len() < 16) {
            return Err(SettingsError(
                "METRICS_TOKEN must be at least 16 characters (openssl rand -hex 16)".into(),
            ));
        }
        let metrics_port = match s.raw("METRICS_PORT") {
            None => None,
            Some(_) => Some(s.parse::<u16>("METRICS_PORT")?),
        };
        let poll_ms: u64 = s.parse("WORKER_POLL_INTERVAL_MS")?;
        let concurrency: usize = s.parse("WORKER_CONCURRENCY")?;
        let max_body: usize = s.parse("MAX_BODY_BYTES")?;
        let retention: u32 = s.parse("NOTIFICATIONS_RETENTION_DAYS")?;
        let heartbeat_ms: u64 = s.parse("WEBSOCKET_HEARTBEAT_MS")?;
        if !(1_000..=300_000).contains(&heartbeat_ms) {
            return Err(SettingsError(
                "WEBSOCKET_HEARTBEAT_MS must be between 1000 and 300000".into(),
            ));
        }
        if !(1..=3650).contains(&retention) {
            return Err(SettingsError(
                "NOTIFICATIONS_RETENTION_DAYS must be between 1 and 3650".into(),
            ));
        }
        let chase_days = availability::chase::parse_offsets(&s.string("AVAILABILITY_CHASE_DAYS"))
            .map_err(|e| SettingsError(format!("AVAILABILITY_CHASE_DAYS: {e}")))?;
        if max_body < 1024 {
            return Err(SettingsError("MAX_BODY_BYTES must be at least 1024".into()));
        }

        Ok(Settings {
            app_name: s.string("APP_NAME"),
            env,
            debug: s.bool("DEBUG")?,
            api_prefix,
            secret_key: SecretString::from(secret_key),
            host: s.string("HOST"),
            port: s.parse("PORT")?,
            workers,
            data_dir,
            database_url: SecretString::from(database_url),
            database_backend,
            database_max_connections: pool.saturating_add(overflow),
            database_echo: s.bool("DATABASE_ECHO")?,
            auto_migrate: s
                .opt_bool("AUTO_MIGRATE")?
                // Production never migrates unless told to, whatever the database.
                .unwrap_or(database_backend == Backend::Sqlite && env != AppEnv::Production),
            redis_url: redis_url.map(SecretString::from),
            redis_max_connections: s.parse("REDIS_MAX_CONNECTIONS")?,
            redis_namespace: s.string("REDIS_NAMESPACE"),
            jwt_algorithm,
            access_token_ttl: Duration::from_secs(
                60 * s.parse::<u64>("ACCESS_TOKEN_EXPIRE_MINUTES")?,
            ),
            refresh_token_ttl: Duration::from_secs(
                86_400 * s.parse::<u64>("REFRESH_TOKEN_EXPIRE_DAYS")?,
            ),
            google_client_id: s.raw("GOOGLE_CLIENT_ID"),
            google_client_secret: s.raw("GOOGLE_CLIENT_SECRET").map(SecretString::from),
            google_redirect_uri: s.raw("GOOGLE_REDIRECT_URI"),
            google_issuer_url: s.string("GOOGLE_ISSUER_URL"),
            frontend_url: s.string("FRONTEND_URL").trim_end_matches('/').to_string(),
            public_api_url: s.string("PUBLIC_API_URL").trim_end_matches('/').to_string(),
            mail,
            mail_from_name: s.string("SMTP_FROM_NAME"),
            mail_from_email: s.string("SMTP_FROM_EMAIL"),
            files,
            cors_origins: s
                .string("CORS_ORIGINS")
                .split(',')
                .map(|o| o.trim().trim_end_matches('/').to_string())
                .filter(|o| !o.is_empty())
                .collect(),
            cors_allow_credentials: s.bool("CORS_ALLOW_CREDENTIALS")?,
            rate_limit_per_minute: s.parse("RATE_LIMIT_PER_MINUTE")?,
            rate_limit_auth_per_minute: s.parse("RATE_LIMIT_AUTH_PER_MINUTE")?,
            log_level: s.string("LOG_LEVEL"),
            log_format,
            sentry_dsn: s.raw("SENTRY_DSN").map(SecretString::from),
            sentry_environment: s.string("SENTRY_ENVIRONMENT"),
            sentry_traces_sample_rate: {
                let rate: f32 = s.parse("SENTRY_TRACES_SAMPLE_RATE")?;
                if !(0.0..=1.0).contains(&rate) {
                    return Err(SettingsError(format!(
                        "SENTRY_TRACES_SAMPLE_RATE={rate} must be between 0.0 and 1.0"
                    )));
                }
                rate
            },
            metrics_token: metrics_token.map(SecretString::from),
            metrics_port,
            feature_oauth_google: s.bool("FEATURE_OAUTH_GOOGLE")?,
            feature_websockets: s.bool("FEATURE_WEBSOCKETS")?,
            websocket_heartbeat: Duration::from_millis(heartbeat_ms),
            feature_email_notifications: s.bool("FEATURE_EMAIL_NOTIFICATIONS")?,
            notifications_retention_days: retention,
            availability_chase_days: chase_days,
            max_body_bytes: max_body,
            trust_proxy_headers: s.bool("TRUST_PROXY_HEADERS")?,
            serve_unprefixed_paths: s.bool("SERVE_UNPREFIXED_PATHS")?,
            api_docs: s.opt_bool("API_DOCS")?.unwrap_or(env != AppEnv::Production),
            worker_concurrency: concurrency.max(1),
            worker_poll_interval: Duration::from_millis(poll_ms.clamp(10, 60_000)),
            shutdown_timeout: Duration::from_secs(s.parse("SHUTDOWN_TIMEOUT_SECS")?),
        })
    }

    pub fn is_production(&self) -> bool {
        self.env == AppEnv::Production
    }

    /// `host:port` to bind.
    pub fn bind_addr(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// The effective configuration as `NAME=value` lines, every secret replaced by `********`
    /// (and the password inside `DATABASE_URL`/`REDIS_URL` too).
    pub fn redacted(map: &HashMap<String, String>) -> Result<Vec<String>, SettingsError> {
        // Validate first: print-config must refuse what `serve` would refuse.
        let settings = Settings::from_map(map)?;
        let s = Source(map);
        Ok(VARIABLES
            .iter()
            .map(|v| {
                let value = match v.name {
                    "DATABASE_URL" => redact_url(settings.database_url.expose_secret()),
                    "REDIS_URL" => settings
                        .redis_url
                        .as_ref()
                        .map(|u| redact_url(u.expose_secret()))
                        .unwrap_or_default(),
                    _ => {
                        let raw = s.string(v.name);
                        if v.secret && !raw.is_empty() {
                            "********".to_string()
                        } else {
                            raw
                        }
                    }
                };
                format!("{}={}", v.name, value)
            })
            .collect())
    }

    /// The text of `.env.example`: every variable with its default and meaning.
    pub fn env_example() -> String {
        let mut out = String::from(
            "# MonService configuration. Every variable is optional in the embedded profile:\n\
             # `cargo run` needs none of them. Production must set SECRET_KEY and DATABASE_URL.\n\
             # Generated from crates/app/src/settings.rs by `cargo xtask env-example`.\n",
        );
        for v in VARIABLES {
            out.push_str(&format!("\n# {}\n{}={}\n", v.help, v.name, v.default));
        }
        out
    }
}

/// Where the generated environment table sits in `docs/deployment.md`.
pub const ENV_TABLE_START: &str = "<!-- env-table:start (generated by `cargo xtask env-docs`) -->";
pub const ENV_TABLE_END: &str = "<!-- env-table:end -->";

impl Settings {
    /// The environment table of `docs/deployment.md`, generated from [`VARIABLES`].
    pub fn env_table() -> String {
        let cell = |s: &str| s.replace('|', "\\|");
        let mut out = String::from(
            "| variable | default (embedded profile) | secret | meaning |\n|---|---|---|---|\n",
        );
        for v in VARIABLES {
            let default = if v.default.is_empty() {
                "(unset)".to_string()
            } else {
                format!("`{}`", cell(v.default))
            };
            out.push_str(&format!(
                "| `{}` | {} | {} | {} |\n",
                v.name,
                default,
                if v.secret { "yes" } else { "" },
                cell(v.help)
            ));
        }
        out
    }
}

/// Hides the password of a URL: `postgres://user:********@host/db`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    match rest.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:********@{host}")
        }
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn no_environment_gives_the_embedded_profile() {
        let s = Settings::from_map(&HashMap::new()).unwrap();
        assert_eq!(s.env, AppEnv::Development);
        assert_eq!(s.database_backend, Backend::Sqlite);
        assert_eq!(
            s.database_url.expose_secret(),
            "sqlite://./data/monservice.db"
        );
        assert!(s.auto_migrate);
        assert!(s.redis_url.is_none());
        assert!(matches!(s.mail, MailSettings::Files { .. }));
        assert!(matches!(s.files, FileSettings::Local { .. }));
        assert_eq!(s.port, 8000);
        assert_eq!(s.api_prefix, "/api/v1");
        assert!(s.api_docs);
    }

    #[test]
    fn production_refuses_the_development_secret() {
        let err = Settings::from_map(&map(&[("APP_ENV", "production")])).unwrap_err();
        assert!(err.to_string().contains("SECRET_KEY"), "{err}");
        let ok = Settings::from_map(&map(&[
            ("APP_ENV", "production"),
            ("SECRET_KEY", &"x".repeat(64)),
            ("DATABASE_URL", "postgresql+asyncpg://u:p@db/prod"),
        ]))
        .unwrap();
        assert!(
            !ok.auto_migrate,
            "production migrates before deploy, not at start"
        );
        assert!(!ok.api_docs);
        let sqlite = Settings::from_map(&map(&[
            ("APP_ENV", "production"),
            ("SECRET_KEY", &"x".repeat(64)),
        ]))
        .unwrap();
        assert!(!sqlite.auto_migrate, "not even on SQLite");
    }

    #[test]
    fn unsupported_database_scheme_is_refused() {
        let err = Settings::from_map(&map(&[("DATABASE_URL", "mysql://h/db")])).unwrap_err();
        assert!(err.to_string().contains("mysql"), "{err}");
    }

    #[test]
    fn backends_without_credentials_are_refused() {
        let err = Settings::from_map(&map(&[("S3_BUCKET_NAME", "b")])).unwrap_err();
        assert!(err.to_string().contains("S3_ACCESS_KEY"), "{err}");
        let err = Settings::from_map(&map(&[("SMTP_HOST", "mx"), ("SMTP_USER", "u")])).unwrap_err();
        assert!(err.to_string().contains("SMTP_PASSWORD"), "{err}");
        let err = Settings::from_map(&map(&[("REDIS_URL", "localhost:6379")])).unwrap_err();
        assert!(err.to_string().contains("REDIS_URL"), "{err}");
    }

    #[test]
    fn bad_numbers_and_booleans_name_the_variable() {
        let err = Settings::from_map(&map(&[("PORT", "eighty")])).unwrap_err();
        assert!(err.to_string().contains("PORT"), "{err}");
        let err = Settings::from_map(&map(&[("DEBUG", "maybe")])).unwrap_err();
        assert!(err.to_string().contains("DEBUG"), "{err}");
    }

    #[test]
    fn availability_chase_days_are_validated() {
        let s = Settings::from_map(&map(&[])).unwrap();
        assert_eq!(s.availability_chase_days, vec![7, 1]);
        let s = Settings::from_map(&map(&[("AVAILABILITY_CHASE_DAYS", "1, 14,3")])).unwrap();
        assert_eq!(s.availability_chase_days, vec![14, 3, 1]);
        for bad in ["x", "7,,1", "61", "-1"] {
            let err = Settings::from_map(&map(&[("AVAILABILITY_CHASE_DAYS", bad)])).unwrap_err();
            assert!(err.to_string().contains("AVAILABILITY_CHASE_DAYS"), "{err}");
        }
    }

    #[test]
    fn redacted_output_hides_every_secret() {
        let m = map(&[
            ("SECRET_KEY", "supersecretvalue-supersecretvalue-42"),
            ("DATABASE_URL", "postgres://app:hunter2@db:5432/x"),
            ("REDIS_URL", "redis://:redispass@cache:6379/0"),
            ("SMTP_HOST", "mx"),
            ("SMTP_USER", "u"),
            ("SMTP_PASSWORD", "smtppass"),
        ]);
        let text = Settings::redacted(&m).unwrap().join("\n");
        for s in ["supersecretvalue", "hunter2", "redispass", "smtppass"] {
            assert!(!text.contains(s), "{s} leaked:\n{text}");
        }
        assert!(text.contains("DATABASE_URL=postgres://app:********@db:5432/x"));
        // Debug of the settings must not leak either.
        let dbg = format!("{:?}", Settings::from_map(&m).unwrap());
        assert!(!dbg.contains("hunter2") && !dbg.contains("smtppass"));
    }

    /// `.env.example` is generated from [`VARIABLES`]; it must match (`cargo xtask env-example`).
    #[test]
    fn committed_env_example_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../.env.example");
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            committed == Settings::env_example(),
            ".env.example is stale: run `cargo xtask env-example` and commit the result"
        );
    }

    /// The table in docs/deployment.md is generated from [`VARIABLES`] (`cargo xtask env-docs`).
    #[test]
    fn committed_env_table_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/deployment.md");
        let doc = std::fs::read_to_string(path).unwrap_or_default();
        let table = doc
            .split_once(ENV_TABLE_START)
            .and_then(|(_, rest)| rest.split_once(ENV_TABLE_END))
            .map(|(t, _)| t.trim().to_string())
            .unwrap_or_default();
        assert!(
            table == Settings::env_table().trim(),
            "the environment table of docs/deployment.md is stale: run `cargo xtask env-docs`"
        );
    }

    #[test]
    fn env_example_lists_every_variable() {
        let text = Settings::env_example();
        for v in VARIABLES {
            assert!(
                text.contains(&format!("\n{}=", v.name)),
                "{} missing",
                v.name
            );
        }
    }
}
