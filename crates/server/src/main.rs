//! `monservice`: every role of the service in one binary.
//!
//! * `monservice` or `monservice serve --with-worker` — the API and the worker in one
//!   process (the embedded default: `cargo run` with no environment at all);
//! * `monservice serve` — the API alone, for a deployment that runs workers separately;
//! * `monservice worker` — the worker alone;
//! * `monservice migrate up|down [N]|status` — the schema, as a deploy step;
//! * `monservice print-config --redacted` — the effective configuration, secrets hidden;
//! * `monservice seed [--members N] [--extra-department-size N] [--json]` — a demo church
//!   (`cargo xtask db seed`), refused in production and when already seeded;
//! * `monservice healthcheck` — GET /health on this host's `PORT`, exit 0 on 200 (the
//!   container image's HEALTHCHECK: no curl, no configuration but `PORT`).

mod seed;

use anyhow::Context;
use app::{AppContext, Overrides, Settings};
use clap::{Parser, Subcommand};
use std::io::Write;
use std::net::TcpListener;
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(
    name = "monservice",
    version,
    about = "MonService: rotas and team management for church departments"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API.
    Serve {
        /// Also run the background worker in this process (the embedded default).
        #[arg(long)]
        with_worker: bool,
    },
    /// Run the background worker only.
    Worker,
    /// Apply, roll back or list schema migrations.
    Migrate {
        #[command(subcommand)]
        action: MigrateAction,
    },
    /// Print the effective configuration, one NAME=value per line, secrets hidden.
    PrintConfig {
        /// Hide secrets (always on; the flag documents intent in scripts).
        #[arg(long)]
        redacted: bool,
    },
    /// Create a demo church through the domain services and print its logins (not in
    /// production).
    Seed(seed::SeedArgs),
    /// GET /health on 127.0.0.1:$PORT (2 s timeout); exit 0 when it answers 200, 1 otherwise.
    /// Reads only PORT (and HOST, for an address other than a wildcard).
    Healthcheck,
    /// Print the OpenAPI document.
    #[command(hide = true)]
    Openapi,
    /// Print `.env.example`, generated from the settings table.
    #[command(hide = true)]
    PrintEnvExample,
    /// Print the environment table of docs/deployment.md, generated from the settings table.
    #[command(hide = true)]
    PrintEnvTable,
}

#[derive(Subcommand)]
enum MigrateAction {
    /// Apply every pending migration.
    Up,
    /// Roll back the last N migrations (default 1).
    Down { steps: Option<u32> },
    /// List migrations and whether each is applied.
    Status,
    /// Apply or roll back until `target` is the newest applied migration (its full name or a
    /// unique prefix such as `m20261124_000002`).
    To { target: String },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // Before the runtime and the settings: a probe runs every few seconds and needs neither.
    if matches!(cli.command, Some(Command::Healthcheck)) {
        return match healthcheck() {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // One clear line; the cause chain follows on the same line.
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Longest the probe waits, from connecting to the status line.
const HEALTHCHECK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// `monservice healthcheck`: one HTTP/1.1 request over a std `TcpStream`, so that the image
/// needs no curl and the probe no setting but `PORT`. One line: `healthy: …` on stdout for a
/// 200, an error naming the URL otherwise.
fn healthcheck() -> anyhow::Result<()> {
    let env = Settings::env_map();
    // Unset or empty: the settings' default, as `serve` reads it.
    let port = env
        .get("PORT")
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
        .unwrap_or("8000");
    // A wildcard bind (0.0.0.0 in a container) answers on the loopback.
    let host = match env.get("HOST").map(|h| h.trim()) {
        None | Some("" | "0.0.0.0" | "::" | "[::]" | "localhost") => "127.0.0.1",
        Some(h) => h,
    };
    let url = format!("http://{host}:{port}/health");
    match probe_health(host, port) {
        Ok(200) => {
            writeln!(std::io::stdout(), "healthy: {url} answered 200")?;
            Ok(())
        }
        Ok(status) => anyhow::bail!("unhealthy: {url} answered {status}"),
        Err(e) => anyhow::bail!("unhealthy: {url}: {e}"),
    }
}

/// The status code of `GET /health`, within [`HEALTHCHECK_TIMEOUT`] in all.
fn probe_health(host: &str, port: &str) -> Result<u16, String> {
    use std::io::Read;
    use std::net::{TcpStream, ToSocketAddrs};
    use std::time::Instant;
    let port: u16 = port
        .parse()
        .map_err(|_| format!("PORT={port:?} is not a port number"))?;
    let deadline = Instant::now() + HEALTHCHECK_TIMEOUT;
    let left = || {
        deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| format!("no answer within {HEALTHCHECK_TIMEOUT:?}"))
    };
    let addr = format!("{host}:{port}")
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .next()
        .ok_or_else(|| format!("cannot resolve {host}"))?;
    let mut stream = TcpStream::connect_timeout(&addr, left()?).map_err(|e| e.to_string())?;
    stream
        .set_write_timeout(Some(left()?))
        .map_err(|e| e.to_string())?;
    write!(
        stream,
        "GET /health HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: monservice-healthcheck\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    // Only the status line is read: `HTTP/1.1 200 OK`.
    let mut head = Vec::new();
    let mut buf = [0u8; 256];
    while !head.windows(2).any(|w| w == b"\r\n") && head.len() < 1024 {
        stream
            .set_read_timeout(Some(left()?))
            .map_err(|e| e.to_string())?;
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => head.extend_from_slice(buf.get(..n).unwrap_or_default()),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Err(format!("no answer within {HEALTHCHECK_TIMEOUT:?}"));
            }
            Err(e) => return Err(e.to_string()),
        }
    }
    let head = String::from_utf8_lossy(&head);
    let line = head.lines().next().unwrap_or_default();
    let mut parts = line.split_whitespace();
    match (
        parts.next(),
        parts.next().and_then(|s| s.parse::<u16>().ok()),
    ) {
        (Some(v), Some(status)) if v.starts_with("HTTP/") => Ok(status),
        _ => Err(format!("not an HTTP answer: {line:?}")),
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let command = cli.command.unwrap_or(Command::Serve { with_worker: true });
    match command {
        Command::PrintConfig { .. } => {
            let lines = Settings::redacted(&Settings::env_map())?;
            let mut out = std::io::stdout().lock();
            for l in lines {
                writeln!(out, "{l}")?;
            }
            Ok(())
        }
        Command::Healthcheck => healthcheck(),
        Command::PrintEnvExample => {
            write!(std::io::stdout().lock(), "{}", Settings::env_example())?;
            Ok(())
        }
        Command::PrintEnvTable => {
            write!(std::io::stdout().lock(), "{}", Settings::env_table())?;
            Ok(())
        }
        Command::Openapi => {
            let settings = Settings::from_env()?;
            write!(
                std::io::stdout().lock(),
                "{}",
                api::server::openapi_json(&settings.api_prefix)
            )?;
            Ok(())
        }
        Command::Migrate { action } => {
            let settings = Settings::from_env()?;
            let _sentry = init_tracing(&settings)?;
            migrate(&settings, action).await
        }
        Command::Seed(args) => {
            let settings = Settings::from_env()?;
            // Logs go to stderr: stdout carries the summary (or the JSON).
            api::telemetry::init_with(&settings, std::io::stderr);
            seed::run(settings, args).await
        }
        Command::Serve { with_worker } => {
            let settings = Settings::from_env()?;
            let _sentry = init_tracing(&settings)?;
            serve(settings, with_worker).await
        }
        Command::Worker => {
            let settings = Settings::from_env()?;
            let _sentry = init_tracing(&settings)?;
            run_worker_only(settings).await
        }
    }
}

/// Logging, and Sentry when `SENTRY_DSN` is set: keep the guard until the end (dropping it
/// flushes the queued reports).
fn init_tracing(settings: &Settings) -> anyhow::Result<Option<api::sentry::SentryGuard>> {
    let sentry = api::sentry::init(settings).map_err(anyhow::Error::msg)?;
    api::telemetry::init(settings);
    Ok(sentry)
}

async fn migrate(settings: &Settings, action: MigrateAction) -> anyhow::Result<()> {
    use secrecy::ExposeSecret;
    let mut cfg = store_sea::DbConfig::new(settings.database_url.expose_secret());
    // One connection: every step sees the schema the previous one left (a second pooled
    // SQLite connection may still read an older snapshot).
    cfg.max_connections = 1;
    let db = store_sea::Db::connect(&cfg)
        .await
        .context("cannot connect to the database")?;
    let mut out = std::io::stdout().lock();
    match action {
        MigrateAction::Up => {
            let pending = db.pending_migrations().await?;
            db.migrate_up().await?;
            if pending.is_empty() {
                writeln!(out, "nothing to apply: the schema is current")?;
            }
            for m in pending {
                writeln!(out, "applied   {m}")?;
            }
        }
        MigrateAction::Down { steps } => {
            let steps = steps.unwrap_or(1);
            let applied: Vec<String> = db
                .migration_status()
                .await?
                .into_iter()
                .filter(|(_, a)| *a)
                .map(|(n, _)| n)
                .collect();
            db.migrate_down(steps).await?;
            let undone: Vec<_> = applied.iter().rev().take(steps as usize).collect();
            if undone.is_empty() {
                writeln!(out, "nothing to roll back")?;
            }
            for m in undone {
                writeln!(out, "rolled back {m}")?;
            }
        }
        MigrateAction::To { target } => {
            let status = db.migration_status().await?;
            let plan = migration_plan(&status, &target).map_err(anyhow::Error::msg)?;
            match plan {
                Plan::Nothing => writeln!(out, "nothing to do: {target} is the newest applied")?,
                Plan::Up(names) => {
                    db.migrate_up_steps(u32::try_from(names.len())?).await?;
                    for m in names {
                        writeln!(out, "applied   {m}")?;
                    }
                }
                Plan::Down(names) => {
                    db.migrate_down(u32::try_from(names.len())?).await?;
                    for m in names {
                        writeln!(out, "rolled back {m}")?;
                    }
                }
            }
        }
        MigrateAction::Status => {
            for (name, applied) in db.migration_status().await? {
                writeln!(
                    out,
                    "{}  {name}",
                    if applied { "applied" } else { "pending" }
                )?;
            }
        }
    }
    Ok(())
}

/// What `migrate to` will do.
#[derive(Debug, PartialEq, Eq)]
enum Plan {
    Nothing,
    /// Apply these, oldest first.
    Up(Vec<String>),
    /// Roll these back, newest first.
    Down(Vec<String>),
}

/// The steps that make `target` the newest applied migration, from the ordered status list.
fn migration_plan(status: &[(String, bool)], target: &str) -> Result<Plan, String> {
    let matches: Vec<usize> = status
        .iter()
        .enumerate()
        .filter(|(_, (name, _))| name.starts_with(target))
        .map(|(i, _)| i)
        .collect();
    let idx = match matches.as_slice() {
        [i] => *i,
        [] => {
            return Err(format!(
                "no migration named {target:?} (see `migrate status`)"
            ));
        }
        _ => {
            return Err(format!(
                "{target:?} names several migrations; give more of the name"
            ));
        }
    };
    let up: Vec<String> = status[..=idx]
        .iter()
        .filter(|(_, applied)| !applied)
        .map(|(n, _)| n.clone())
        .collect();
    let down: Vec<String> = status[idx + 1..]
        .iter()
        .rev()
        .filter(|(_, applied)| *applied)
        .map(|(n, _)| n.clone())
        .collect();
    match (up.is_empty(), down.is_empty()) {
        (true, true) => Ok(Plan::Nothing),
        (false, true) => Ok(Plan::Up(up)),
        (true, false) => Ok(Plan::Down(down)),
        (false, false) => {
            Err("applied migrations are not contiguous; run `migrate up` first".to_string())
        }
    }
}

/// Takes over SIGTERM and Ctrl-C *now* (a signal between this call and the await is kept,
/// not left to kill the process), and resolves on the first of them.
fn shutdown_signal() -> impl Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate()).ok();
        let int = signal(SignalKind::interrupt()).ok();
        async move {
            match (term, int) {
                (Some(mut term), Some(mut int)) => {
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = int.recv() => {}
                    }
                }
                (Some(mut term), None) => {
                    let _ = term.recv().await;
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

async fn serve(settings: Settings, with_worker: bool) -> anyhow::Result<()> {
    if !with_worker && settings.redis_url.is_none() {
        tracing::warn!(
            "serving without an in-process worker and without REDIS_URL: jobs start at the next poll of a separate worker"
        );
    }
    let bind = settings.bind_addr();
    let grace = settings.shutdown_timeout;
    let ctx = AppContext::build(settings, Overrides::default()).await?;
    let listener = TcpListener::bind(&bind).with_context(|| format!("cannot listen on {bind}"))?;
    let addr = listener.local_addr()?;
    let server = api::start(ctx.clone(), listener)?;
    let handle = server.handle();
    let signal = shutdown_signal();
    let stop = CancellationToken::new();
    let worker_task = if with_worker {
        let w = worker::Worker::standard(ctx.clone()).map_err(anyhow::Error::msg)?;
        Some(tokio::spawn(w.run(stop.clone(), grace)))
    } else {
        None
    };
    tracing::info!(
        %addr,
        database = ?ctx.settings.database_backend,
        redis = ctx.redis.is_some(),
        worker = with_worker,
        "MonService listening on http://{addr}"
    );
    // Printed as well as logged, so a newcomer sees where to point a browser whatever LOG_LEVEL says.
    let _ = writeln!(std::io::stderr(), "MonService listening on http://{addr}");
    let server_task = tokio::spawn(server);
    signal.await;
    tracing::info!("shutdown requested: finishing in-flight requests and jobs");
    stop.cancel();
    handle.stop(true).await;
    let _ = server_task.await;
    if let Some(t) = worker_task {
        let _ = t.await;
    }
    tracing::info!("stopped");
    Ok(())
}

async fn run_worker_only(settings: Settings) -> anyhow::Result<()> {
    let grace = settings.shutdown_timeout;
    let ctx = AppContext::build(settings, Overrides::default()).await?;
    // The worker's own /metrics, on METRICS_PORT (with METRICS_TOKEN).
    let metrics = api::metrics::serve_standalone(&ctx)?;
    let w = worker::Worker::standard(ctx).map_err(anyhow::Error::msg)?;
    let signal = shutdown_signal();
    let stop = CancellationToken::new();
    let task = tokio::spawn(w.run(stop.clone(), grace));
    signal.await;
    stop.cancel();
    let _ = task.await;
    if let Some(m) = metrics {
        m.stop(true).await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(applied: usize) -> Vec<(String, bool)> {
        ["m1_jobs", "m2_accounts", "m3_teams"]
            .iter()
            .enumerate()
            .map(|(i, n)| (n.to_string(), i < applied))
            .collect()
    }

    #[test]
    fn migrate_to_plans_up_down_or_nothing() {
        assert_eq!(
            migration_plan(&status(3), "m1").unwrap(),
            Plan::Down(vec!["m3_teams".into(), "m2_accounts".into()])
        );
        assert_eq!(
            migration_plan(&status(1), "m3_teams").unwrap(),
            Plan::Up(vec!["m2_accounts".into(), "m3_teams".into()])
        );
        assert_eq!(migration_plan(&status(2), "m2").unwrap(), Plan::Nothing);
        assert!(migration_plan(&status(2), "m9").is_err());
        assert!(migration_plan(&status(2), "m").is_err());
        let gap = vec![
            ("m1".to_string(), false),
            ("m2".to_string(), true),
            ("m3".to_string(), true),
        ];
        assert!(migration_plan(&gap, "m2").is_err());
    }
}
