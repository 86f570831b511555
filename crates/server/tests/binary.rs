//! The `monservice` binary itself: the embedded default, start-up refusals, print-config,
//! migrate, and graceful shutdown on SIGTERM.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_monservice"));
    // Nothing from the developer's or CI's environment leaks in.
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    c
}

#[tokio::test]
async fn embedded_default_serves_and_stops_gracefully_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    // No configuration but a free port (8000 may be taken on a developer's machine).
    let mut child = bin()
        .current_dir(dir.path())
        .env("PORT", "0")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let addr = loop {
        line.clear();
        assert!(Instant::now() < deadline, "no listening line");
        if stderr.read_line(&mut line).unwrap() == 0 {
            panic!("exited before listening");
        }
        if let Some(rest) = line.trim().strip_prefix("MonService listening on ") {
            break rest.to_string();
        }
    };
    let body: serde_json::Value = reqwest::get(format!("{addr}/health"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["status"], "ok");
    let ready = reqwest::get(format!("{addr}/ready")).await.unwrap();
    assert_eq!(ready.status(), 200);
    // The embedded profile: a migrated SQLite file under ./data.
    assert!(dir.path().join("data/monservice.db").exists());

    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "did not stop after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(
        status.success(),
        "SIGTERM must end in a clean exit: {status}"
    );
}

#[test]
fn production_with_the_development_secret_refuses_to_start_in_one_line() {
    let out = bin().env("APP_ENV", "production").output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.trim().lines().count(), 1, "one clear line: {err}");
    assert!(err.contains("SECRET_KEY"), "{err}");
}

#[test]
fn unsupported_database_and_missing_credentials_are_refused() {
    let cases: [(&[(&str, &str)], &str); 3] = [
        (&[("DATABASE_URL", "mysql://h/db")], "mysql"),
        (&[("S3_BUCKET_NAME", "files")], "S3_ACCESS_KEY"),
        (
            &[("SMTP_HOST", "mx"), ("SMTP_USER", "someone")],
            "SMTP_PASSWORD",
        ),
    ];
    for (env, needle) in cases {
        let out = bin()
            .arg("serve")
            .envs(env.iter().copied())
            .output()
            .unwrap();
        assert!(!out.status.success(), "{env:?} must be refused");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(err.contains(needle), "{err}");
    }
}

#[test]
fn print_config_hides_secrets() {
    let out = bin()
        .args(["print-config", "--redacted"])
        .env("DATABASE_URL", "postgres://app:hunter2@db/x")
        .env("SECRET_KEY", "a-very-long-secret-key-that-must-not-show-up")
        .env("SMTP_HOST", "mx")
        .env("SMTP_USER", "u")
        .env("SMTP_PASSWORD", "smtp-pass")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("DATABASE_URL=postgres://app:********@db/x"),
        "{text}"
    );
    assert!(text.contains("SMTP_HOST=mx"));
    for secret in ["hunter2", "a-very-long-secret", "smtp-pass"] {
        assert!(!text.contains(secret), "{secret} leaked");
    }
}

#[test]
fn migrate_up_status_down() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/m.db", dir.path().display());
    let run = |args: &[&str]| {
        let out = bin().args(args).env("DATABASE_URL", &url).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    assert!(run(&["migrate", "status"]).contains("pending"));
    assert!(run(&["migrate", "up"]).contains("applied"));
    assert!(!run(&["migrate", "status"]).contains("pending"));
    assert!(run(&["migrate", "down"]).contains("rolled back"));
    assert!(run(&["migrate", "status"]).contains("pending"));
}

/// Starts `cmd` and waits for its "listening" line; returns the child and `host:port`.
fn spawn_listening(mut cmd: Command) -> (std::process::Child, String) {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let addr = loop {
        line.clear();
        assert!(Instant::now() < deadline, "no listening line");
        if stderr.read_line(&mut line).unwrap() == 0 {
            panic!("exited before listening");
        }
        if let Some(rest) = line.trim().strip_prefix("MonService listening on http://") {
            break rest.to_string();
        }
    };
    // Keep draining stderr so the child never blocks on a full pipe.
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    (child, addr)
}

fn sigterm(child: &std::process::Child) {
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
}

fn wait_exit(child: &mut std::process::Child, within: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        assert!(Instant::now() < deadline, "did not stop after SIGTERM");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn sigterm_stops_accepting_and_finishes_the_request_in_flight() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = bin();
    cmd.current_dir(dir.path()).env("PORT", "0");
    let (mut child, addr) = spawn_listening(cmd);

    // A registration whose body is still arriving when SIGTERM comes.
    let body = r#"{"email":"inflight@example.com","password":"correct horse battery","firstName":"In","lastName":"Flight"}"#;
    let (head, tail) = body.split_at(body.len() / 2);
    let mut conn = std::net::TcpStream::connect(&addr).unwrap();
    write!(
        conn,
        "POST /api/v1/auth/register HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{head}",
        body.len()
    )
    .unwrap();
    conn.flush().unwrap();
    std::thread::sleep(Duration::from_millis(300));

    sigterm(&child);
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "exited with a request in flight"
    );
    // No new connection is taken.
    let refused =
        std::net::TcpStream::connect_timeout(&addr.parse().unwrap(), Duration::from_millis(500));
    assert!(
        refused.is_err(),
        "a new connection was accepted after SIGTERM"
    );

    // The request in flight completes normally.
    conn.write_all(tail.as_bytes()).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut response = String::new();
    let _ = conn.read_to_string(&mut response);
    assert!(
        response.starts_with("HTTP/1.1 201"),
        "the in-flight request was cut: {response:?}"
    );

    let status = wait_exit(&mut child, Duration::from_secs(20));
    assert!(
        status.success(),
        "SIGTERM must end in a clean exit: {status}"
    );
}

#[test]
fn production_refuses_pending_migrations_in_one_line_unless_told_to_migrate() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/m.db", dir.path().display());
    let migrate = |args: &[&str]| {
        let out = bin().args(args).env("DATABASE_URL", &url).output().unwrap();
        assert!(out.status.success());
    };
    migrate(&["migrate", "up"]);
    migrate(&["migrate", "down"]);
    let production = |role: &str| {
        let mut c = bin();
        c.arg(role)
            .current_dir(dir.path())
            .env("APP_ENV", "production")
            .env("SECRET_KEY", "0123456789abcdef0123456789abcdef0123456789")
            .env("DATABASE_URL", &url)
            .env("PORT", "0");
        c
    };
    for role in ["serve", "worker"] {
        let out = production(role).output().unwrap();
        assert!(
            !out.status.success(),
            "{role} started with a pending migration"
        );
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.trim().lines().count(), 1, "one clear line: {err}");
        assert!(err.contains("pending migration"), "{err}");
        assert!(err.contains("migrate up"), "{err}");
    }

    // Told otherwise, it migrates and serves.
    let mut cmd = production("serve");
    cmd.env("AUTO_MIGRATE", "true");
    let (mut child, _) = spawn_listening(cmd);
    sigterm(&child);
    assert!(wait_exit(&mut child, Duration::from_secs(20)).success());
    let out = bin()
        .args(["migrate", "status"])
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(!String::from_utf8(out.stdout).unwrap().contains("pending"));
}

#[test]
fn contradictory_observability_settings_are_refused_in_one_line() {
    let cases: [(&[(&str, &str)], &str); 3] = [
        (&[("SENTRY_DSN", "not-a-dsn")], "SENTRY_DSN"),
        (
            &[("SENTRY_TRACES_SAMPLE_RATE", "2")],
            "SENTRY_TRACES_SAMPLE_RATE",
        ),
        (
            &[("SENTRY_TRACES_SAMPLE_RATE", "often")],
            "SENTRY_TRACES_SAMPLE_RATE",
        ),
    ];
    for (env, needle) in cases {
        let dir = tempfile::tempdir().unwrap();
        let out = bin()
            .arg("serve")
            .current_dir(dir.path())
            .env("PORT", "0")
            .envs(env.iter().copied())
            .output()
            .unwrap();
        assert!(!out.status.success(), "{env:?} must be refused");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(err.contains(needle), "{err}");
    }
}
