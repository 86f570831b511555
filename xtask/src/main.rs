//! `cargo xtask <task>` — developer tasks, in Rust so they run wherever cargo does.
//!
//! * `tidy` — the architecture rule: domain crates depend on no infrastructure crate, even
//!   transitively (read from `cargo metadata`). Also run as a test.
//! * `openapi` — writes `docs/openapi.json` from the code (a test fails when it is stale).
//! * `env-example` — writes `.env.example` from the settings table (a test fails when stale).
//! * `plan solve` — the production planner on a benchmark instance (stdin → stdout).
//! * `db up|down [N]|fresh|status` — migrations on `DATABASE_URL` (default: the embedded
//!   SQLite file), through the `monservice migrate` command production uses.
//! * `db seed [--members N] [--extra-department-size N] [--json]` — a demo church on
//!   `DATABASE_URL` through the domain services (`monservice seed`); prints the demo logins.

mod tidy;

use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["tidy"] => tidy::run(),
        ["openapi"] => write_from_binary(&["openapi"], "docs/openapi.json"),
        ["env-example"] => write_from_binary(&["print-env-example"], ".env.example"),
        ["db", "up"] => monservice(&["migrate", "up"]),
        ["db", "down"] => monservice(&["migrate", "down"]),
        ["db", "down", n] => monservice(&["migrate", "down", n]),
        ["db", "status"] => monservice(&["migrate", "status"]),
        ["db", "fresh"] => fresh(),
        ["db", "seed", flags @ ..] => monservice(&[&["seed"], flags].concat()),
        ["plan", "solve"] => plan_solve(),
        _ => Err(USAGE.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

const USAGE: &str = "usage: cargo xtask <tidy | openapi | env-example | db up | db down [N] | db fresh | db status | db seed [--members N] [--extra-department-size N] [--json] | plan solve>";

fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default()
}

fn cargo_run(args: &[&str]) -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(root())
        .args([
            "run",
            "--quiet",
            "--package",
            "server",
            "--bin",
            "monservice",
            "--",
        ])
        .args(args);
    c
}

fn monservice(args: &[&str]) -> Result<(), String> {
    let status = cargo_run(args).status().map_err(|e| e.to_string())?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("monservice {} failed", args.join(" ")))
    }
}

fn write_from_binary(args: &[&str], path: &str) -> Result<(), String> {
    let out = cargo_run(args).output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    std::fs::write(root().join(path), &out.stdout).map_err(|e| format!("{path}: {e}"))?;
    eprintln!("wrote {path}");
    Ok(())
}

/// The production planner on a benchmark instance: instance v1 JSON on stdin, solution JSON
/// on stdout (shared/bench/planning/README.md). Release build, so timings mean something.
fn plan_solve() -> Result<(), String> {
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(root())
        .args([
            "run",
            "--quiet",
            "--release",
            "-p",
            "planning",
            "--bin",
            "plan-solve",
        ])
        .status()
        .map_err(|e| e.to_string())?;
    if status.success() {
        Ok(())
    } else {
        Err("plan-solve failed".into())
    }
}

/// Rolls every migration back, then applies them all: a clean schema.
fn fresh() -> Result<(), String> {
    monservice(&["migrate", "down", "1000"])?;
    monservice(&["migrate", "up"])
}
