//! Logging: one line per event, text or JSON (`LOG_FORMAT`), filtered by `LOG_LEVEL`.
//!
//! In JSON each line carries the fields of the span it was written in, so every line logged
//! while serving a request has that request's `correlation_id`. What is logged is chosen so
//! that no secret can appear: the request line names the route *template*, never the path,
//! query string or headers; settings are logged only redacted.
//!
//! With `SENTRY_DSN` set, the same subscriber also feeds [`crate::sentry::SentryLayer`]
//! (errors and sampled traces), with a filter of its own, so `LOG_LEVEL` does not hide from
//! Sentry the request spans that carry the correlation id.

use app::{LogFormat, Settings};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

fn filter(level: &str) -> EnvFilter {
    let level = level.to_ascii_lowercase();
    // Quiet the chattiest dependencies unless a full filter is given.
    let directive = if level.contains('=') {
        level
    } else {
        format!("{level},sqlx=warn,sea_orm=warn,sea_orm_migration=warn,actix_server=warn")
    };
    EnvFilter::try_new(&directive).unwrap_or_else(|_| EnvFilter::new("info"))
}

/// Installs the global subscriber writing to `writer`. Returns false if one was already set.
pub fn init_with<W>(settings: &Settings, writer: W) -> bool
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let fmt = tracing_subscriber::fmt::layer()
        .with_target(false)
        .with_writer(writer);
    let fmt: Box<dyn Layer<Registry> + Send + Sync> = match settings.log_format {
        LogFormat::Json => fmt
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .boxed(),
        LogFormat::Text => fmt.with_ansi(false).boxed(),
    };
    // The request and job spans at any level, errors, and the request line (its status).
    let sentry = settings.sentry_dsn.is_some().then(|| {
        crate::sentry::SentryLayer.with_filter(tracing_subscriber::filter::filter_fn(|m| {
            if m.is_span() {
                matches!(m.name(), "request" | "job")
            } else {
                *m.level() <= tracing::Level::ERROR || m.module_path() == Some("api::middleware")
            }
        }))
    });
    tracing_subscriber::registry()
        .with(fmt.with_filter(filter(&settings.log_level)))
        .with(sentry)
        .try_init()
        .is_ok()
}

/// Installs the global subscriber writing to standard output.
pub fn init(settings: &Settings) -> bool {
    init_with(settings, std::io::stdout)
}
