//! Logging: one line per event, text or JSON (`LOG_FORMAT`), filtered by `LOG_LEVEL`.
//!
//! In JSON each line carries the fields of the span it was written in, so every line logged
//! while serving a request has that request's `correlation_id`. What is logged is chosen so
//! that no secret can appear: the request line names the route *template*, never the path,
//! query string or headers; settings are logged only redacted.

use app::{LogFormat, Settings};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

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
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter(&settings.log_level))
        .with_target(false)
        .with_writer(writer);
    match settings.log_format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
            .is_ok(),
        LogFormat::Text => builder.with_ansi(false).try_init().is_ok(),
    }
}

/// Installs the global subscriber writing to standard output.
pub fn init(settings: &Settings) -> bool {
    init_with(settings, std::io::stdout)
}
