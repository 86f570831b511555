//! `monservice healthcheck`, the container image's HEALTHCHECK: exit 0 when GET /health on
//! 127.0.0.1:$PORT answers 200, exit 1 (with one line naming the URL) otherwise, within its
//! 2 s timeout, and with no setting but PORT.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_monservice"));
    // Nothing from the developer's or CI's environment leaks in.
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    c
}

/// Runs `monservice healthcheck` with PORT set, and nothing else but `extra`.
fn healthcheck(port: u16, extra: &[(&str, &str)]) -> (Output, Duration) {
    let dir = tempfile::tempdir().unwrap(); // no stray .env from the working directory
    let started = Instant::now();
    let out = bin()
        .arg("healthcheck")
        .current_dir(dir.path())
        .env("PORT", port.to_string())
        .envs(extra.iter().copied())
        .output()
        .unwrap();
    (out, started.elapsed())
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The served binary, killed when dropped (also when an assertion fails).
struct Served(Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `monservice` with no configuration but a free port; its port once it listens.
fn serve(dir: &std::path::Path) -> (Served, u16) {
    let mut child = bin()
        .current_dir(dir)
        .env("PORT", "0")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let served = Served(child);
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut line = String::new();
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
    // Keep reading stderr so that the server never blocks on a full pipe.
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    let port = addr.rsplit(':').next().unwrap().parse().unwrap();
    (served, port)
}

#[test]
fn healthy_against_the_running_binary() {
    let dir = tempfile::tempdir().unwrap();
    let (_served, port) = serve(dir.path());
    let (out, _) = healthcheck(port, &[]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        stdout.trim(),
        format!("healthy: http://127.0.0.1:{port}/health answered 200")
    );

    // Only PORT is read: settings that `serve` would refuse do not matter, and HOST=0.0.0.0
    // (the container's bind address) is probed on the loopback.
    let (out, _) = healthcheck(
        port,
        &[
            ("APP_ENV", "production"),
            ("DATABASE_URL", "mysql://nowhere/db"),
            ("HOST", "0.0.0.0"),
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn unhealthy_on_a_closed_port_in_one_line() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    }; // closed again
    let (out, took) = healthcheck(port, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(
        err.contains(&format!("http://127.0.0.1:{port}/health")),
        "{err}"
    );
    assert!(took < Duration::from_secs(3), "took {took:?}");
}

#[test]
fn unhealthy_when_the_port_is_silent_or_answers_an_error() {
    // Accepts connections (the kernel's backlog) but never answers: the timeout ends it.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let (out, took) = healthcheck(silent.local_addr().unwrap().port(), &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("no answer within"), "{}", text(&out));
    assert!(took < Duration::from_secs(4), "took {took:?}");

    // Answers, but not 200.
    let failing = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = failing.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut conn, _) = failing.accept().unwrap();
        // Read the whole request first: answering and closing while the client is still
        // writing would reset the connection instead of showing it the 503.
        let mut buf = Vec::new();
        let mut chunk = [0u8; 1024];
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = conn.read(&mut chunk).unwrap();
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let request = String::from_utf8_lossy(&buf).to_string();
        conn.write_all(
            b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
        )
        .unwrap();
        request
    });
    let (out, _) = healthcheck(port, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("answered 503"), "{}", text(&out));
    let request = server.join().unwrap();
    assert!(request.starts_with("GET /health HTTP/1.1\r\n"), "{request}");
    assert!(request.contains("Connection: close\r\n"), "{request}");
}

#[test]
fn a_port_that_is_not_a_number_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = bin()
        .arg("healthcheck")
        .current_dir(dir.path())
        .env("PORT", "eighty")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("PORT"), "{}", text(&out));
}
