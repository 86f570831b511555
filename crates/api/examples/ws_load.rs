//! Load client for the live notifications (benches/ws.sh runs it against two API instances and
//! one worker on PostgreSQL + Redis).
//!
//! Signs the members of a seeded department in, opens `--connections` WebSockets spread over
//! the members and alternately over the instances, measures the API processes' RSS before and
//! after (idle), publishes a month's rota and reports, for every connection of an assigned
//! member, the time from the publish to the receipt of its `rota.published` notification.
//!
//! `cargo run --release -p api --example ws_load -- --a URL --b URL --admin EMAIL
//!  --password PW --dept ID --year Y --month M [--connections 2000] [--pids P1,P2]`
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

use chrono::Datelike;
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{Semaphore, mpsc};
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Message;

struct Args {
    a: String,
    b: String,
    admin: String,
    password: String,
    dept: String,
    year: i32,
    month: u32,
    connections: usize,
    pids: Vec<u32>,
}

fn args() -> Args {
    let mut m: HashMap<String, String> = HashMap::new();
    let raw: Vec<String> = std::env::args().skip(1).collect();
    for pair in raw.chunks(2) {
        if let [k, v] = pair {
            m.insert(k.trim_start_matches("--").to_string(), v.clone());
        }
    }
    let get = |k: &str| m.get(k).cloned().unwrap_or_else(|| panic!("missing --{k}"));
    Args {
        a: get("a"),
        b: get("b"),
        admin: get("admin"),
        password: get("password"),
        dept: get("dept"),
        year: get("year").parse().unwrap(),
        month: get("month").parse().unwrap(),
        connections: m.get("connections").map_or(2000, |c| c.parse().unwrap()),
        pids: m
            .get("pids")
            .map(|p| p.split(',').map(|x| x.parse().unwrap()).collect())
            .unwrap_or_default(),
    }
}

struct Api {
    http: reqwest::Client,
}

impl Api {
    async fn call(
        &self,
        method: &str,
        url: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut r = self
            .http
            .request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        if let Some(b) = body {
            r = r.json(&b);
        }
        let res = r.send().await.unwrap();
        let status = res.status().as_u16();
        let bytes = res.bytes().await.unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    async fn login(&self, base: &str, email: &str, password: &str) -> (String, String) {
        let (s, out) = self
            .call(
                "POST",
                &format!("{base}/api/v1/auth/login"),
                None,
                Some(json!({"email": email, "password": password})),
            )
            .await;
        assert_eq!(s, 200, "login {email}: {out}");
        (
            out["accessToken"].as_str().unwrap().to_string(),
            out["user"]["id"].as_str().unwrap().to_string(),
        )
    }
}

fn rss_kib(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn rss_all(pids: &[u32]) -> Vec<u64> {
    pids.iter().map(|p| rss_kib(*p).unwrap_or(0)).collect()
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// One connection: forwards the receipt time of each `rota.published` notification.
async fn client(
    idx: usize,
    url: String,
    ready: tokio::sync::oneshot::Sender<()>,
    done: mpsc::UnboundedSender<(usize, Instant, f64)>,
) {
    let connected = connect_async(&url).await;
    let _ = ready.send(());
    let (mut ws, _) = match connected {
        Ok(x) => x,
        Err(e) => {
            eprintln!("connection {idx}: {e}");
            return;
        }
    };
    while let Some(msg) = ws.next().await {
        match msg {
            Ok(Message::Text(t)) => {
                let at = Instant::now();
                if t.as_str().contains("\"rota.published\"") {
                    // Dispatch (the notification's creation) → receipt, by the wall clock.
                    let v: Value = serde_json::from_str(t.as_str()).unwrap_or_default();
                    let push_ms = v["notification"]["createdAt"]
                        .as_str()
                        .and_then(|c| chrono::DateTime::parse_from_rfc3339(c).ok())
                        .map(|c| {
                            (chrono::Utc::now() - c.with_timezone(&chrono::Utc))
                                .num_microseconds()
                                .unwrap_or(0) as f64
                                / 1e3
                        })
                        .unwrap_or(f64::NAN);
                    let _ = done.send((idx, at, push_ms));
                }
            }
            Ok(Message::Close(f)) => {
                eprintln!("connection {idx} closed: {f:?}");
                return;
            }
            Ok(_) => {}
            Err(e) => {
                eprintln!("connection {idx}: {e}");
                return;
            }
        }
    }
}

#[tokio::main]
async fn main() {
    let a = args();
    let api = Arc::new(Api {
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(64)
            .build()
            .unwrap(),
    });
    let bases = [a.a.clone(), a.b.clone()];
    let (admin, _) = api.login(&a.a, &a.admin, &a.password).await;

    // The department's members, signed in.
    let (s, members) = api
        .call(
            "GET",
            &format!("{}/api/v1/departments/{}/members", a.a, a.dept),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(s, 200, "{members}");
    let emails: Vec<String> = members
        .as_array()
        .or_else(|| members["items"].as_array())
        .expect("a list of members")
        .iter()
        .map(|m| m["email"].as_str().unwrap().to_string())
        .collect();
    let t = Instant::now();
    let gate = Arc::new(Semaphore::new(8));
    let mut logins = Vec::new();
    for e in &emails {
        let (api, base, e, pw, gate) = (
            api.clone(),
            a.a.clone(),
            e.clone(),
            a.password.clone(),
            gate.clone(),
        );
        logins.push(tokio::spawn(async move {
            let _p = gate.acquire().await.unwrap();
            api.login(&base, &e, &pw).await
        }));
    }
    let mut users = Vec::new();
    for l in logins {
        users.push(l.await.unwrap());
    }
    println!(
        "{} members signed in in {:.1} s",
        users.len(),
        t.elapsed().as_secs_f64()
    );

    // A month of services and its rota, generated (not yet published).
    let roles = json!([{"role": "Soprano", "count": 3}, {"role": "Alto", "count": 3},
                       {"role": "Ténor", "count": 2}, {"role": "Basse", "count": 2}]);
    let first = chrono::NaiveDate::from_ymd_opt(a.year, a.month, 1).unwrap();
    let mut d = first;
    while d.month0() == first.month0() {
        let slots: &[(&str, &str, &str)] = match d.weekday() {
            chrono::Weekday::Sun => &[("Culte 1", "09:00", "10:30"), ("Culte 2", "11:00", "12:30")],
            chrono::Weekday::Wed => &[("Répétition", "19:30", "21:30")],
            _ => &[],
        };
        for (name, start, end) in slots {
            let (s, out) = api
                .call(
                    "POST",
                    &format!("{}/api/v1/departments/{}/services", a.a, a.dept),
                    Some(&admin),
                    Some(
                        json!({"name": name, "serviceType": "culte", "date": d.to_string(),
                        "startTime": start, "endTime": end, "location": "Temple",
                        "requiredRoles": roles}),
                    ),
                )
                .await;
            assert_eq!(s, 201, "{out}");
        }
        d = d.succ_opt().unwrap();
    }
    let (s, p) = api
        .call(
            "POST",
            &format!("{}/api/v1/departments/{}/plannings", a.a, a.dept),
            Some(&admin),
            Some(json!({"year": a.year, "month": a.month})),
        )
        .await;
    assert_eq!(s, 201, "{p}");
    let pid = p["id"].as_str().unwrap().to_string();
    let (s, out) = api
        .call(
            "POST",
            &format!("{}/api/v1/plannings/{pid}/generate", a.a),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(s, 202, "{out}");
    let job = out["jobId"].as_str().unwrap().to_string();
    loop {
        let (_, j) = api
            .call(
                "GET",
                &format!("{}/api/v1/jobs/{job}", a.a),
                Some(&admin),
                None,
            )
            .await;
        match j["status"].as_str() {
            Some("done") => break,
            Some("failed") => panic!("generation failed: {j}"),
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    let (_, plan) = api
        .call(
            "GET",
            &format!("{}/api/v1/plannings/{pid}", a.a),
            Some(&admin),
            None,
        )
        .await;
    let assigned: HashSet<String> = plan["services"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["assignments"].as_array().unwrap().iter())
        .map(|x| x["userId"].as_str().unwrap().to_string())
        .collect();
    let version = plan["version"]
        .as_i64()
        .or_else(|| plan["summary"]["version"].as_i64())
        .expect("a version");
    println!(
        "rota generated: {} of {} members assigned",
        assigned.len(),
        users.len()
    );

    // Idle RSS, then the connections.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = rss_all(&a.pids);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let t = Instant::now();
    let gate = Arc::new(Semaphore::new(64));
    let mut opening = Vec::new();
    let mut expect = HashSet::new();
    for i in 0..a.connections {
        let (token, user) = users[i % users.len()].clone();
        if assigned.contains(&user) {
            expect.insert(i);
        }
        let base = bases[i % 2].clone();
        let (api, gate, tx) = (api.clone(), gate.clone(), tx.clone());
        opening.push(tokio::spawn(async move {
            let _p = gate.acquire().await.unwrap();
            let (s, out) = api
                .call(
                    "POST",
                    &format!("{base}/api/v1/ws/ticket"),
                    Some(&token),
                    None,
                )
                .await;
            assert_eq!(s, 200, "{out}");
            let url = format!(
                "{}/api/v1/ws?ticket={}",
                base.replacen("http", "ws", 1),
                out["ticket"].as_str().unwrap()
            );
            // Hold the permit until the upgrade is done, then read in the background.
            let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<()>();
            tokio::spawn(client(i, url, ready_tx, tx));
            let _ = ready_rx.await;
        }));
    }
    for o in opening {
        o.await.unwrap();
    }
    println!(
        "{} connections opened in {:.1} s",
        a.connections,
        t.elapsed().as_secs_f64()
    );
    tokio::time::sleep(Duration::from_secs(5)).await;
    let after = rss_all(&a.pids);
    for (i, pid) in a.pids.iter().enumerate() {
        let (b, c) = (before[i], after[i]);
        let per = a.connections as f64 / a.pids.len() as f64;
        println!(
            "API process {pid}: RSS {:.1} MiB idle without connections, {:.1} MiB with {per:.0} idle connections: {:.1} MiB per 1,000",
            b as f64 / 1024.0,
            c as f64 / 1024.0,
            (c.saturating_sub(b)) as f64 / 1024.0 / per * 1000.0
        );
    }

    // Publish, and time every expected receipt.
    let t0 = Instant::now();
    let (s, out) = api
        .call(
            "POST",
            &format!("{}/api/v1/plannings/{pid}/publish", a.a),
            Some(&admin),
            Some(json!({"version": version})),
        )
        .await;
    let t1 = Instant::now();
    assert_eq!(s, 200, "{out}");
    let mut got: HashMap<usize, Instant> = HashMap::new();
    let mut push: Vec<f64> = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while got.len() < expect.len() {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some((i, at, p))) => {
                if !got.contains_key(&i) {
                    push.push(p);
                }
                got.entry(i).or_insert(at);
            }
            _ => break,
        }
    }
    let mut from_sent: Vec<f64> = got
        .values()
        .map(|at| (*at - t0).as_secs_f64() * 1e3)
        .collect();
    let mut from_commit: Vec<f64> = got
        .values()
        .map(|at| at.saturating_duration_since(t1).as_secs_f64() * 1e3)
        .collect();
    from_sent.sort_by(f64::total_cmp);
    from_commit.sort_by(f64::total_cmp);
    let missing = expect.iter().filter(|i| !got.contains_key(i)).count();
    println!(
        "publish answered in {:.1} ms; {} of {} expected connections received rota.published ({} missing)",
        (t1 - t0).as_secs_f64() * 1e3,
        got.len(),
        expect.len(),
        missing
    );
    println!(
        "commit -> receipt (from the publish response): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        pct(&from_commit, 0.5),
        pct(&from_commit, 0.99),
        from_commit.last().copied().unwrap_or(f64::NAN)
    );
    println!(
        "request sent -> receipt (upper bound): p50 {:.1} ms, p99 {:.1} ms",
        pct(&from_sent, 0.5),
        pct(&from_sent, 0.99)
    );
    push.sort_by(f64::total_cmp);
    println!(
        "notification written by the worker -> receipt (the push alone): p50 {:.1} ms, p99 {:.1} ms",
        pct(&push, 0.5),
        pct(&push, 0.99)
    );
    std::process::exit(i32::from(missing > 0));
}
