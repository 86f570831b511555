//! Error reports and sampled traces to Sentry, when `SENTRY_DSN` is set.
//!
//! * **Errors.** Every `ERROR` log line written while serving a request or running a job
//!   becomes one Sentry event: the first one of that request or job, which is the line naming
//!   the cause (a 5xx, a store failure, a job parked as dead). It is tagged with the request's
//!   `correlation_id`, `http.method` and `route` (the route *template*), or the job's kind and
//!   id. `ERROR` lines outside a request or job become events too. Panics are reported by the
//!   panic integration.
//! * **Traces.** Each request and each job is a transaction, named after the route template
//!   (`GET /api/v1/users/me`) or the job kind; `SENTRY_TRACES_SAMPLE_RATE` (0.1 by default) of
//!   them are sent.
//! * **Nothing secret.** No request data is attached: no headers, no cookies, no body, no query
//!   string (`send_default_pii` is off and nothing records them). Every event passes through
//!   [`Scrubber`] before it leaves: fields whose name looks like a credential (`password`,
//!   `token`, `secret`, `authorization`, `cookie`…) are replaced, as are the configured
//!   secrets' values (`SECRET_KEY`, database and Redis passwords, SMTP and S3 credentials…),
//!   `Bearer …` and JWT-looking words, and URL query strings. Breadcrumbs are off, so no
//!   earlier log line rides along.
//!
//! Without `SENTRY_DSN` nothing is installed: no client, no layer, no cost.

use app::Settings;
use secrecy::ExposeSecret;
use sentry::protocol::{Event, Level, SpanStatus, Value};
use sentry::{TransactionContext, TransactionOrSpan};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tracing::Subscriber;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

/// Keeps the Sentry client alive; dropping it flushes what is queued (at most 2 s).
pub struct SentryGuard {
    _guard: sentry::ClientInitGuard,
}

/// Starts the Sentry client when `SENTRY_DSN` is set; `Ok(None)` when it is not. An invalid
/// DSN is refused, so a typo is seen at start-up rather than as silence.
pub fn init(settings: &Settings) -> Result<Option<SentryGuard>, String> {
    let Some(dsn) = &settings.sentry_dsn else {
        return Ok(None);
    };
    let dsn: sentry::types::Dsn = dsn
        .expose_secret()
        .parse()
        .map_err(|e| format!("SENTRY_DSN is not a valid Sentry DSN ({e})"))?;
    let scrubber = Arc::new(Scrubber::from_settings(settings));
    let mut options = sentry::ClientOptions::new()
        .traces_sample_rate(settings.sentry_traces_sample_rate.clamp(0.0, 1.0));
    options.dsn = Some(dsn);
    options.release = Some(concat!("monservice@", env!("CARGO_PKG_VERSION")).into());
    options.environment = Some(settings.sentry_environment.clone().into());
    options.send_default_pii = false;
    // Log lines before an error could carry anything; the event says enough.
    options.max_breadcrumbs = 0;
    options.attach_stacktrace = false;
    options.shutdown_timeout = Duration::from_secs(2);
    options.before_send = Some(Arc::new(move |event| scrubber.scrub_event(event)));
    let guard = sentry::init(options);
    Ok(guard.is_enabled().then_some(SentryGuard { _guard: guard }))
}

/// Whether a Sentry client is bound in this process.
pub fn is_active() -> bool {
    sentry::Hub::current().client().is_some()
}

// ---------------------------------------------------------------------------------------------
// The tracing layer.

/// The spans this layer follows: the request span of `api::middleware` and the job span of
/// the worker.
const REQUEST_SPAN: &str = "request";
const JOB_SPAN: &str = "job";

/// Turns request and job spans into Sentry transactions and the first `ERROR` event of each
/// into a Sentry error event. Install with [`crate::telemetry`]; it acts only while a client
/// is bound ([`init`]).
pub struct SentryLayer;

/// What the layer keeps on a request or job span.
#[derive(Default)]
struct SpanState {
    /// `correlation_id`, `method`, `route`, `job.id`, `job.kind`, `job.attempt`.
    fields: BTreeMap<String, String>,
    /// An error event has been taken for this span already.
    reported: bool,
    /// That event, sent when the span closes, once the route and status are known.
    pending: Option<Event<'static>>,
    /// The HTTP status, from the request line the middleware writes at the end.
    status: Option<u64>,
    transaction: Option<sentry::Transaction>,
}

impl SpanState {
    fn is_request(&self) -> bool {
        self.fields.contains_key("correlation_id")
    }

    fn transaction_name(&self) -> String {
        if self.is_request() {
            format!(
                "{} {}",
                self.fields.get("method").map_or("?", String::as_str),
                self.fields
                    .get("route")
                    .map_or("<unmatched>", String::as_str)
            )
        } else {
            self.fields
                .get("job.kind")
                .cloned()
                .unwrap_or_else(|| "job".into())
        }
    }

    fn tags(&self) -> BTreeMap<String, String> {
        let mut tags = BTreeMap::new();
        for (field, tag) in [
            ("correlation_id", "correlation_id"),
            ("method", "http.method"),
            ("route", "route"),
            ("job.kind", "job.kind"),
            ("job.id", "job.id"),
        ] {
            if let Some(v) = self.fields.get(field) {
                tags.insert(tag.to_string(), v.clone());
            }
        }
        tags
    }
}

/// The span fields worth keeping; anything else is ignored.
const KEPT_SPAN_FIELDS: &[&str] = &[
    "correlation_id",
    "method",
    "route",
    "job.id",
    "job.kind",
    "job.attempt",
];

struct SpanFieldVisitor<'a>(&'a mut BTreeMap<String, String>);

impl Visit for SpanFieldVisitor<'_> {
    fn record_str(&mut self, f: &Field, value: &str) {
        if KEPT_SPAN_FIELDS.contains(&f.name()) {
            self.0.insert(f.name().to_string(), value.to_string());
        }
    }
    fn record_debug(&mut self, f: &Field, value: &dyn std::fmt::Debug) {
        if KEPT_SPAN_FIELDS.contains(&f.name()) {
            self.0.insert(f.name().to_string(), format!("{value:?}"));
        }
    }
}

/// An event's fields, as JSON values; `message` apart.
#[derive(Default)]
struct EventFieldVisitor {
    message: Option<String>,
    fields: BTreeMap<String, Value>,
}

impl Visit for EventFieldVisitor {
    fn record_str(&mut self, f: &Field, value: &str) {
        self.put(f, Value::from(value));
    }
    fn record_i64(&mut self, f: &Field, value: i64) {
        self.put(f, Value::from(value));
    }
    fn record_u64(&mut self, f: &Field, value: u64) {
        self.put(f, Value::from(value));
    }
    fn record_f64(&mut self, f: &Field, value: f64) {
        self.put(f, Value::from(value));
    }
    fn record_bool(&mut self, f: &Field, value: bool) {
        self.put(f, Value::from(value));
    }
    fn record_debug(&mut self, f: &Field, value: &dyn std::fmt::Debug) {
        self.put(f, Value::from(format!("{value:?}")));
    }
}

impl EventFieldVisitor {
    fn put(&mut self, f: &Field, value: Value) {
        if f.name() == "message" {
            self.message = Some(match value {
                Value::String(s) => s,
                other => other.to_string(),
            });
        } else {
            self.fields.insert(f.name().to_string(), value);
        }
    }
}

impl<S> Layer<S> for SentryLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let name = attrs.metadata().name();
        if name != REQUEST_SPAN && name != JOB_SPAN {
            return;
        }
        let Some(span) = ctx.span(id) else { return };
        let mut state = SpanState::default();
        attrs.record(&mut SpanFieldVisitor(&mut state.fields));
        if is_active() {
            let (name, op) = if state.is_request() {
                (state.transaction_name(), "http.server")
            } else {
                (state.transaction_name(), "queue.process")
            };
            let tx = sentry::start_transaction(TransactionContext::new(&name, op));
            for (k, v) in state.tags() {
                tx.set_tag(&k, v);
            }
            state.transaction = Some(tx);
        }
        span.extensions_mut().insert(state);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut ext = span.extensions_mut();
        if let Some(state) = ext.get_mut::<SpanState>() {
            values.record(&mut SpanFieldVisitor(&mut state.fields));
        }
    }

    fn on_event(&self, event: &tracing::Event<'_>, ctx: Context<'_, S>) {
        let level = *event.metadata().level();
        // Find the request or job this event belongs to.
        let owner = ctx.event_scope(event).and_then(|scope| {
            scope
                .into_iter()
                .find(|s| s.extensions().get::<SpanState>().is_some())
        });
        if level != tracing::Level::ERROR {
            // The request line carries the status the transaction reports.
            if let Some(span) = owner {
                let mut visitor = EventFieldVisitor::default();
                event.record(&mut visitor);
                if let Some(status) = visitor.fields.get("status").and_then(Value::as_u64)
                    && let Some(state) = span.extensions_mut().get_mut::<SpanState>()
                {
                    state.status = Some(status);
                }
            }
            return;
        }
        if !is_active() {
            return;
        }
        let mut visitor = EventFieldVisitor::default();
        event.record(&mut visitor);
        let mut sentry_event = Event {
            level: Level::Error,
            logger: Some(event.metadata().target().to_string()),
            message: visitor.message.clone(),
            ..Default::default()
        };
        if let Some(span) = owner {
            let mut ext = span.extensions_mut();
            if let Some(state) = ext.get_mut::<SpanState>() {
                if let Some(status) = visitor.fields.get("status").and_then(Value::as_u64) {
                    state.status = Some(status);
                }
                // One event per request or job: the first error line, which names the cause;
                // the request line that follows a 5xx adds nothing.
                if state.reported {
                    return;
                }
                state.reported = true;
                if let Some(tx) = &state.transaction {
                    sentry_event.contexts.insert(
                        "trace".into(),
                        TransactionOrSpan::from(tx.clone())
                            .get_trace_context()
                            .into(),
                    );
                }
                add_fields(&mut sentry_event, event, visitor.fields);
                state.pending = Some(sentry_event);
                return;
            }
        }
        add_fields(&mut sentry_event, event, visitor.fields);
        sentry::capture_event(sentry_event);
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let Some(mut state) = span.extensions_mut().remove::<SpanState>() else {
            return;
        };
        if let Some(mut event) = state.pending.take() {
            event.tags = state.tags().into_iter().collect();
            if let Some(code) = state.status {
                event
                    .tags
                    .insert("http.status_code".into(), code.to_string());
            }
            event.transaction = Some(state.transaction_name());
            sentry::capture_event(event);
        }
        let Some(tx) = state.transaction.take() else {
            return;
        };
        tx.set_name(&state.transaction_name());
        if let Some(route) = state.fields.get("route") {
            tx.set_tag("route", route);
        }
        let status = match state.status {
            Some(code) => {
                tx.set_tag("http.status_code", code);
                span_status(code)
            }
            None if state.reported => SpanStatus::InternalError,
            None => SpanStatus::Ok,
        };
        tx.set_status(status);
        tx.finish();
    }
}

/// The event's own fields as `extra`, and where it was written.
fn add_fields(e: &mut Event<'static>, event: &tracing::Event<'_>, fields: BTreeMap<String, Value>) {
    e.extra = fields.into_iter().collect();
    if let Some(module) = event.metadata().module_path() {
        e.extra.insert("module".into(), Value::from(module));
    }
}

fn span_status(code: u64) -> SpanStatus {
    match code {
        0..=399 => SpanStatus::Ok,
        401 => SpanStatus::Unauthenticated,
        403 => SpanStatus::PermissionDenied,
        404 => SpanStatus::NotFound,
        409 => SpanStatus::AlreadyExists,
        429 => SpanStatus::ResourceExhausted,
        400..=499 => SpanStatus::InvalidArgument,
        501 => SpanStatus::Unimplemented,
        503 => SpanStatus::Unavailable,
        504 => SpanStatus::DeadlineExceeded,
        _ => SpanStatus::InternalError,
    }
}

// ---------------------------------------------------------------------------------------------
// Scrubbing.

const REDACTED: &str = "[redacted]";

/// Field names whose values are never sent, whatever they hold.
const SENSITIVE_KEYS: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "token",
    "authorization",
    "cookie",
    "api_key",
    "apikey",
    "credential",
    "private_key",
    "dsn",
];

fn is_sensitive_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase().replace('-', "_");
    SENSITIVE_KEYS.iter().any(|s| k.contains(s))
}

/// Removes credentials from events before they leave the process.
pub struct Scrubber {
    /// Configured secret values, longest first (so one containing another is caught whole).
    secrets: Vec<String>,
}

impl Scrubber {
    /// Knows the values of the configured secrets, to remove them wherever they appear.
    pub fn from_settings(s: &Settings) -> Self {
        let mut secrets = vec![s.secret_key.expose_secret().to_string()];
        let urls = [
            Some(s.database_url.expose_secret().to_string()),
            s.redis_url.as_ref().map(|u| u.expose_secret().to_string()),
        ];
        for url in urls.into_iter().flatten() {
            if let Some(password) = url_password(&url) {
                secrets.push(password);
            }
        }
        if let app::settings::MailSettings::Smtp {
            password: Some(p), ..
        } = &s.mail
        {
            secrets.push(p.expose_secret().to_string());
        }
        if let app::settings::FileSettings::S3 {
            access_key,
            secret_key,
            ..
        } = &s.files
        {
            secrets.push(access_key.clone());
            secrets.push(secret_key.expose_secret().to_string());
        }
        if let Some(g) = &s.google_client_secret {
            secrets.push(g.expose_secret().to_string());
        }
        if let Some(m) = &s.metrics_token {
            secrets.push(m.expose_secret().to_string());
        }
        Self::new(secrets)
    }

    /// A scrubber for these secret values (values shorter than 6 characters are ignored:
    /// they would match ordinary words).
    pub fn new(secrets: Vec<String>) -> Self {
        let mut secrets: Vec<String> = secrets.into_iter().filter(|s| s.len() >= 6).collect();
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        Self { secrets }
    }

    /// The event with every credential removed, or `None` (dropped) when it cannot be
    /// inspected.
    pub fn scrub_event(&self, event: Event<'static>) -> Option<Event<'static>> {
        let mut value = serde_json::to_value(&event).ok()?;
        // Request data is never sent, whatever attached it.
        if let Some(obj) = value.as_object_mut() {
            obj.remove("request");
            obj.remove("breadcrumbs");
            obj.remove("user");
        }
        self.scrub_value(&mut value);
        serde_json::from_value(value).ok()
    }

    fn scrub_value(&self, v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, v) in map.iter_mut() {
                    if is_sensitive_key(k) && !v.is_null() {
                        *v = serde_json::Value::from(REDACTED);
                    } else {
                        self.scrub_value(v);
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(|i| self.scrub_value(i)),
            serde_json::Value::String(s) => {
                let clean = self.scrub_text(s);
                if clean != *s {
                    *s = clean;
                }
            }
            _ => {}
        }
    }

    /// Text with secrets, bearer tokens, JWTs, `key=value` credentials and query strings
    /// removed.
    pub fn scrub_text(&self, text: &str) -> String {
        let mut out = text.to_string();
        for s in &self.secrets {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), REDACTED);
            }
        }
        let words: Vec<&str> = out.split(' ').collect();
        let mut cleaned: Vec<String> = Vec::with_capacity(words.len());
        let mut after_bearer = false;
        for w in words {
            if after_bearer && !w.is_empty() {
                cleaned.push(REDACTED.into());
                after_bearer = false;
                continue;
            }
            after_bearer = w.eq_ignore_ascii_case("bearer");
            cleaned.push(scrub_word(w));
        }
        cleaned.join(" ")
    }
}

/// One space-separated word: a JWT-looking word, a query string, or `key=value` with a
/// sensitive key, redacted.
fn scrub_word(w: &str) -> String {
    let core = w.trim_matches(|c: char| "\"'(),;<>[]{}".contains(c));
    if core.starts_with("eyJ") && core.matches('.').count() >= 2 && core.len() > 20 {
        return w.replace(core, REDACTED);
    }
    let mut word = w.to_string();
    // A query string after a path or URL: keep the path.
    if let Some(q) = word.find('?')
        && (word.contains("://") || word.starts_with('/') || word[..q].contains('/'))
        && q + 1 < word.len()
    {
        word = format!("{}?{REDACTED}", &word[..q]);
    }
    // password=… token=… (also inside a longer word, e.g. a&token=…)
    if let Some(eq) = word.find('=') {
        let key_start = word[..eq]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .map_or(0, |i| i + 1);
        if is_sensitive_key(&word[key_start..eq]) {
            word = format!("{}={REDACTED}", &word[..eq]);
        }
    }
    word
}

/// The password of `scheme://user:password@host/…`, if any.
fn url_password(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split('/').next()?;
    let userinfo = authority.rsplit_once('@')?.0;
    let password = userinfo.split_once(':')?.1;
    (!password.is_empty()).then(|| password.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Settings {
        Settings::from_map(
            &pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
        .unwrap()
    }

    #[test]
    fn without_a_dsn_there_is_no_client() {
        assert!(init(&settings(&[])).unwrap().is_none());
        assert!(!is_active());
    }

    #[test]
    fn an_invalid_dsn_is_refused_in_one_line() {
        let err = init(&settings(&[("SENTRY_DSN", "not a dsn")]))
            .err()
            .unwrap();
        assert!(err.starts_with("SENTRY_DSN"), "{err}");
        assert_eq!(err.lines().count(), 1);
    }

    #[test]
    fn secrets_and_credentials_are_removed_from_text() {
        let s = Scrubber::from_settings(&settings(&[
            ("SECRET_KEY", "the-secret-key-of-this-deployment-0123456789"),
            ("DATABASE_URL", "postgres://app:db-hunter2@db/monservice"),
            ("SMTP_HOST", "mx"),
            ("SMTP_USER", "u"),
            ("SMTP_PASSWORD", "smtp-pass-42"),
        ]));
        let text = "failed: key the-secret-key-of-this-deployment-0123456789 \
                    url postgres://app:db-hunter2@db/x smtp smtp-pass-42 \
                    Authorization: Bearer abc.def.ghi eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig \
                    GET /api/v1/auth/reset-password?token=tok123 password=pw123 \
                    https://h/x?a=1&b=2 a&refresh_token=zzz";
        let out = s.scrub_text(text);
        for leaked in [
            "the-secret-key",
            "db-hunter2",
            "smtp-pass-42",
            "abc.def.ghi",
            "eyJhbGci",
            "tok123",
            "pw123",
            "a=1",
            "zzz",
        ] {
            assert!(!out.contains(leaked), "{leaked} leaked: {out}");
        }
        assert!(
            out.contains("/api/v1/auth/reset-password?[redacted]"),
            "{out}"
        );
        assert!(out.contains("postgres://app:[redacted]@db/x"), "{out}");
        // Ordinary text is untouched.
        assert_eq!(
            s.scrub_text("database unavailable: pool timed out"),
            "database unavailable: pool timed out"
        );
    }

    #[test]
    fn sensitive_fields_are_replaced_and_events_survive_the_round_trip() {
        let s = Scrubber::new(vec!["sekrit-value".into()]);
        let mut event = Event {
            message: Some("login failed with sekrit-value".into()),
            level: Level::Error,
            ..Default::default()
        };
        event.tags.insert("correlation_id".into(), "c-1".into());
        event
            .extra
            .insert("password".into(), Value::from("hunter2-pass"));
        event
            .extra
            .insert("refreshToken".into(), Value::from("rt-abc"));
        event.extra.insert("error".into(), Value::from("boom"));
        event.request = Some(sentry::protocol::Request {
            data: Some("{\"password\":\"x\"}".into()),
            ..Default::default()
        });
        let out = s.scrub_event(event).unwrap();
        let json = serde_json::to_string(&out).unwrap();
        assert!(!json.contains("hunter2-pass"), "{json}");
        assert!(!json.contains("rt-abc"), "{json}");
        assert!(!json.contains("sekrit-value"), "{json}");
        assert!(out.request.is_none());
        assert_eq!(out.tags["correlation_id"], "c-1");
        assert_eq!(out.extra["error"], "boom");
        assert_eq!(out.message.as_deref(), Some("login failed with [redacted]"));
    }

    #[test]
    fn a_panic_shaped_event_survives_the_round_trip() {
        let event = Event {
            exception: vec![sentry::protocol::Exception {
                ty: "panic".into(),
                value: Some("called on a closed pool".into()),
                stacktrace: sentry::integrations::backtrace::current_stacktrace(),
                ..Default::default()
            }]
            .into(),
            level: Level::Fatal,
            ..Default::default()
        };
        let out = Scrubber::new(vec![]).scrub_event(event.clone()).unwrap();
        assert_eq!(out.exception.values.len(), 1);
        assert_eq!(
            out.exception.values[0].value.as_deref(),
            Some("called on a closed pool")
        );
        assert_eq!(out.level, Level::Fatal);
    }

    #[test]
    fn statuses_map_to_span_statuses() {
        assert_eq!(span_status(200), SpanStatus::Ok);
        assert_eq!(span_status(404), SpanStatus::NotFound);
        assert_eq!(span_status(422), SpanStatus::InvalidArgument);
        assert_eq!(span_status(503), SpanStatus::Unavailable);
        assert_eq!(span_status(500), SpanStatus::InternalError);
    }
}
