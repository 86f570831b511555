//! `monservice`: every role of the service in one binary.
//!
//! * `monservice` or `monservice serve --with-worker` — the API and the worker in one
//!   process (the embedded default: `cargo run` with no environment at all);
//! * `monservice serve` — the API alone, for a deployment that runs workers separately;
//! * `monservice worker` — the worker alone;
//! * `monservice migrate up|down [N]|status` — the schema, as a deploy step;
//! * `monservice print-config --redacted` — the effective configuration, secrets hidden;
//! * `monservice seed [--members N] [--extra-department-size N] [--json]` — a demo church
//!   (`cargo xtask db seed`), refused in production and when already seeded.

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
    /// Print the OpenAPI document.
    #[command(hide = true)]
    Openapi,
    /// Print `.env.example`, generated from the settings table.
    #[command(hide = true)]
    PrintEnvExample,
}

#[derive(Subcommand)]
enum MigrateAction {
    /// Apply every pending migration.
    Up,
    /// Roll back the last N migrations (default 1).
    Down { steps: Option<u32> },
    /// List migrations and whether each is applied.
    Status,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
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
        Command::PrintEnvExample => {
            write!(std::io::stdout().lock(), "{}", Settings::env_example())?;
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
            init_tracing(&settings);
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
            init_tracing(&settings);
            serve(settings, with_worker).await
        }
        Command::Worker => {
            let settings = Settings::from_env()?;
            init_tracing(&settings);
            run_worker_only(settings).await
        }
    }
}

fn init_tracing(settings: &Settings) {
    api::telemetry::init(settings);
}

async fn migrate(settings: &Settings, action: MigrateAction) -> anyhow::Result<()> {
    use secrecy::ExposeSecret;
    let mut cfg = store_sea::DbConfig::new(settings.database_url.expose_secret());
    cfg.max_connections = 2;
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

/// Resolves on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
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
    shutdown_signal().await;
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
    let w = worker::Worker::standard(ctx).map_err(anyhow::Error::msg)?;
    let stop = CancellationToken::new();
    let task = tokio::spawn(w.run(stop.clone(), grace));
    shutdown_signal().await;
    stop.cancel();
    let _ = task.await;
    Ok(())
}
