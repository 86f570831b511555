//! Live notifications over WebSocket, through the real server with a real WebSocket client
//! (tokio-tungstenite): tickets, refusals before the upgrade, delivery of what the worker
//! dispatched, resume after an id, bad frames, a revoked session, two instances over one
//! database (and one Redis when TEST_REDIS_URL is set), and Redis going away mid-stream.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::Utc;
use futures_util::{SinkExt, StreamExt};
use kernel::{OrganizationId, UserId};
use notifications::{NewNotification, NotificationStore};
use serde_json::{Value, json};
use std::time::Duration;
use testkit::{Signed, TestApp};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Longest wait for a frame the server must send (a bound against hanging, not a speed test).
const PATIENCE: Duration = Duration::from_secs(15);

const UPGRADE: &[(&str, &str)] = &[
    ("Connection", "Upgrade"),
    ("Upgrade", "websocket"),
    ("Sec-WebSocket-Version", "13"),
    ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
];

async fn ticket(app: &TestApp, who: &Signed) -> String {
    let (s, out) = app
        .call("POST", "/api/v1/ws/ticket", Some(&who.token), None)
        .await;
    assert_eq!(s, 200, "{out}");
    assert_eq!(out["expiresIn"], 30);
    let t = out["ticket"].as_str().unwrap().to_string();
    assert!(t.len() >= 32, "at least 128 random bits: {t}");
    t
}

async fn open_with(app: &TestApp, query: &str) -> Ws {
    let url = format!("ws://{}/api/v1/ws?{query}", app.addr);
    let (ws, res) = connect_async(url).await.expect("upgrade");
    assert_eq!(res.status().as_u16(), 101);
    ws
}

async fn open(app: &TestApp, who: &Signed) -> Ws {
    let t = ticket(app, who).await;
    open_with(app, &format!("ticket={t}")).await
}

/// The next JSON frame that is not a heartbeat.
async fn next_json(ws: &mut Ws) -> Value {
    tokio::time::timeout(PATIENCE, async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(t))) => {
                    let v: Value = serde_json::from_str(t.as_str()).unwrap();
                    if v["type"] != "ping" {
                        return v;
                    }
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                other => panic!("expected a text frame, got {other:?}"),
            }
        }
    })
    .await
    .expect("a frame in time")
}

/// Reads until the server closes; its close code and reason.
async fn next_close(ws: &mut Ws) -> (u16, String, Vec<Value>) {
    let mut seen = Vec::new();
    tokio::time::timeout(PATIENCE, async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(Some(f)))) => {
                    return (u16::from(f.code), f.reason.to_string(), seen);
                }
                Some(Ok(Message::Text(t))) => {
                    let v: Value = serde_json::from_str(t.as_str()).unwrap();
                    if v["type"] != "ping" {
                        seen.push(v);
                    }
                }
                Some(Ok(_)) => {}
                other => panic!("expected a close frame, got {other:?}"),
            }
        }
    })
    .await
    .expect("closed in time")
}

async fn send(ws: &mut Ws, v: Value) {
    ws.send(Message::text(v.to_string())).await.unwrap();
}

async fn org_of(app: &TestApp, who: &Signed) -> OrganizationId {
    let (_, me) = app
        .call("GET", "/api/v1/users/me", Some(&who.token), None)
        .await;
    me["organizationId"].as_str().unwrap().parse().unwrap()
}

/// Writes `n` notifications for `who` through the store (distinct creation times); their ids,
/// oldest first.
async fn seed(app: &TestApp, who: &Signed, n: usize) -> Vec<String> {
    let org = org_of(app, who).await;
    let user: UserId = who.user_id.parse().unwrap();
    for i in 0..n {
        let note = NewNotification {
            organization: org,
            user,
            event: None,
            kind: "rota.published".into(),
            title: format!("n{i}"),
            body: format!("body {i}"),
            link: None,
            data: json!({"i": i}),
        };
        app.ctx
            .notifications
            .store()
            .deliver(&[note], &[], &[], Utc::now())
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    let (s, page) = app
        .call(
            "GET",
            "/api/v1/notifications?limit=100",
            Some(&who.token),
            None,
        )
        .await;
    assert_eq!(s, 200);
    let mut ids: Vec<String> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap().to_string())
        .collect();
    ids.reverse();
    ids
}

/// An administrator of a church with one department.
async fn church(app: &TestApp, email: &str) -> (Signed, String) {
    let admin = app.sign_up(email).await;
    app.create_church(&admin, "Lyon").await;
    let dept = app.create_department(&admin, "Louange").await;
    (admin, dept)
}

#[tokio::test]
async fn a_dispatched_notification_arrives_on_the_socket_in_the_inbox_shape() {
    let app = TestApp::spawn().await;
    let (admin, dept) = church(&app, "admin@example.org").await;
    let mut ws = open(&app, &admin).await;
    // Someone accepts the admin's invitation: the worker dispatches `invitation.accepted`.
    app.join_department(&admin, &dept, "new@example.org", "member")
        .await;
    app.run_worker_until_idle().await;
    let frame = next_json(&mut ws).await;
    assert_eq!(frame["type"], "notification", "{frame}");
    let n = &frame["notification"];
    assert_eq!(n["type"], "invitation.accepted", "{frame}");
    // The same item as GET /notifications lists.
    let (_, page) = app
        .call("GET", "/api/v1/notifications", Some(&admin.token), None)
        .await;
    assert_eq!(&page["items"][0], n);
    // Unprefixed ticket route, as the front end calls it.
    let (s, _) = app
        .call("POST", "/ws/ticket", Some(&admin.token), None)
        .await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn tickets_are_single_use_and_bad_ones_are_refused_before_the_upgrade() {
    let app = TestApp::spawn().await;
    let (admin, _) = church(&app, "admin@example.org").await;

    // No ticket, a forged one, a malformed `after`: problem documents, no upgrade.
    let (s, out) = app
        .call_with_headers("GET", "/api/v1/ws", None, None, UPGRADE)
        .await;
    assert_eq!(
        (s, out["code"].as_str()),
        (401, Some("unauthorized")),
        "{out}"
    );
    let forged = "ab".repeat(32);
    let (s, out) = app
        .call_with_headers(
            "GET",
            &format!("/api/v1/ws?ticket={forged}"),
            None,
            None,
            UPGRADE,
        )
        .await;
    assert_eq!(s, 401, "{out}");
    let t = ticket(&app, &admin).await;
    let (s, out) = app
        .call_with_headers(
            "GET",
            &format!("/api/v1/ws?ticket={t}&after=nope"),
            None,
            None,
            UPGRADE,
        )
        .await;
    assert_eq!(
        (s, out["code"].as_str()),
        (400, Some("invalid_after")),
        "{out}"
    );
    // A plain GET (no handshake) does not spend the ticket.
    let (s, out) = app
        .call("GET", &format!("/api/v1/ws?ticket={t}"), None, None)
        .await;
    assert_eq!(
        (s, out["code"].as_str()),
        (400, Some("websocket_expected")),
        "{out}"
    );

    // Used once: accepted; again: refused.
    let ws = open_with(&app, &format!("ticket={t}")).await;
    drop(ws);
    let (s, out) = app
        .call_with_headers(
            "GET",
            &format!("/api/v1/ws?ticket={t}"),
            None,
            None,
            UPGRADE,
        )
        .await;
    assert_eq!(s, 401, "{out}");
    let url = format!("ws://{}/api/v1/ws?ticket={t}", app.addr);
    match connect_async(url).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => {
            assert_eq!(res.status().as_u16(), 401)
        }
        other => panic!("a reused ticket must be refused: {other:?}"),
    }

    // Expired: a ticket stored with a time to live that has passed.
    let expired = "cd".repeat(32);
    let data = json!({
        "user": admin.user_id,
        "org": org_of(&app, &admin).await.to_string(),
        "session": uuid::Uuid::new_v4().to_string(),
    });
    app.ctx
        .cache
        .set(
            &api::routes::ws::ticket_key(&expired),
            &data.to_string(),
            Duration::from_millis(1),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let (s, out) = app
        .call_with_headers(
            "GET",
            &format!("/api/v1/ws?ticket={expired}"),
            None,
            None,
            UPGRADE,
        )
        .await;
    assert_eq!(s, 401, "{out}");

    // The ticket route wants a signed-in user.
    let (s, _) = app.call("POST", "/api/v1/ws/ticket", None, None).await;
    assert_eq!(s, 401);
}

#[tokio::test]
async fn a_ticket_of_a_session_that_ended_is_refused() {
    let app = TestApp::spawn().await;
    let (admin, _) = church(&app, "admin@example.org").await;
    let t = ticket(&app, &admin).await;
    let (s, _) = app
        .call("POST", "/api/v1/auth/logout", Some(&admin.token), None)
        .await;
    assert_eq!(s, 204);
    let (s, out) = app
        .call_with_headers(
            "GET",
            &format!("/api/v1/ws?ticket={t}"),
            None,
            None,
            UPGRADE,
        )
        .await;
    assert_eq!(s, 401, "{out}");
}

#[tokio::test]
async fn signing_out_closes_the_open_socket() {
    let app = TestApp::spawn_with(&[("WEBSOCKET_HEARTBEAT_MS", "1000")]).await;
    let (admin, _) = church(&app, "admin@example.org").await;
    let mut ws = open(&app, &admin).await;
    let (s, _) = app
        .call("POST", "/api/v1/auth/logout", Some(&admin.token), None)
        .await;
    assert_eq!(s, 204);
    let (code, reason, _) = next_close(&mut ws).await;
    assert_eq!((code, reason.as_str()), (1008, "session ended"));
}

#[tokio::test]
async fn resume_sends_only_what_was_missed_then_live_ones() {
    let app = TestApp::spawn().await;
    let (admin, dept) = church(&app, "admin@example.org").await;
    let ids = seed(&app, &admin, 4).await;

    // `after` in the query: the three newer than the first, oldest first.
    let t = ticket(&app, &admin).await;
    let mut ws = open_with(&app, &format!("ticket={t}&after={}", ids[0])).await;
    for id in &ids[1..] {
        let f = next_json(&mut ws).await;
        assert_eq!(f["notification"]["id"].as_str(), Some(id.as_str()), "{f}");
    }
    assert_eq!(
        next_json(&mut ws).await,
        json!({"type": "resumed", "count": 3})
    );

    // As a message: after the third, only the fourth.
    send(&mut ws, json!({"type": "resume", "after": ids[2]})).await;
    let f = next_json(&mut ws).await;
    assert_eq!(
        f["notification"]["id"].as_str(),
        Some(ids[3].as_str()),
        "{f} {ids:?}"
    );
    assert_eq!(
        next_json(&mut ws).await,
        json!({"type": "resumed", "count": 1})
    );

    // After the newest: nothing; someone else's or an unknown id: an error, still open.
    send(&mut ws, json!({"type": "resume", "after": ids[3]})).await;
    assert_eq!(
        next_json(&mut ws).await,
        json!({"type": "resumed", "count": 0})
    );
    let other = app.sign_up("other@example.org").await;
    app.create_church(&other, "Paris").await;
    let theirs = seed(&app, &other, 1).await;
    send(&mut ws, json!({"type": "resume", "after": theirs[0]})).await;
    assert_eq!(next_json(&mut ws).await["code"], "unknown_after");

    // Then live ones, once each.
    app.join_department(&admin, &dept, "new@example.org", "member")
        .await;
    app.run_worker_until_idle().await;
    let f = next_json(&mut ws).await;
    assert_eq!(f["notification"]["type"], "invitation.accepted", "{f}");
    send(&mut ws, json!({"type": "ping"})).await;
    assert_eq!(
        next_json(&mut ws).await,
        json!({"type": "pong"}),
        "nothing sent twice"
    );
}

#[tokio::test]
async fn bad_frames_get_an_error_or_close_the_socket() {
    let app = TestApp::spawn().await;
    let (admin, _) = church(&app, "admin@example.org").await;
    let mut ws = open(&app, &admin).await;

    // Malformed JSON and unknown types: an error frame, the connection stays.
    ws.send(Message::text("{not json")).await.unwrap();
    let f = next_json(&mut ws).await;
    assert_eq!(
        (f["type"].as_str(), f["code"].as_str()),
        (Some("error"), Some("malformed_json"))
    );
    send(&mut ws, json!({"type": "subscribe"})).await;
    assert_eq!(next_json(&mut ws).await["code"], "unknown_type");
    send(&mut ws, json!({"type": "resume", "after": 12})).await;
    assert_eq!(next_json(&mut ws).await["code"], "invalid_after");
    send(&mut ws, json!({"type": "ping"})).await;
    assert_eq!(next_json(&mut ws).await, json!({"type": "pong"}));

    // Over 4 KiB: closed with 1009.
    ws.send(Message::text("x".repeat(5_000))).await.unwrap();
    let (code, _, _) = next_close(&mut ws).await;
    assert_eq!(code, 1009);

    // Binary: closed with 1003.
    let mut ws = open(&app, &admin).await;
    ws.send(Message::binary(vec![1u8, 2, 3])).await.unwrap();
    let (code, _, _) = next_close(&mut ws).await;
    assert_eq!(code, 1003);
}

#[tokio::test]
async fn a_client_that_stops_answering_pings_is_dropped() {
    let app = TestApp::spawn_with(&[("WEBSOCKET_HEARTBEAT_MS", "1000")]).await;
    let (admin, _) = church(&app, "admin@example.org").await;
    let mut ws = open(&app, &admin).await;
    // Not reading means not answering the pings (tungstenite answers them as it reads).
    tokio::time::sleep(Duration::from_millis(3_500)).await;
    let (code, reason, _) = next_close(&mut ws).await;
    assert_eq!((code, reason.as_str()), (1008, "no answer to heartbeats"));
}

#[tokio::test]
async fn feature_off_means_404_for_the_ticket_and_the_socket() {
    let app = TestApp::spawn_with(&[("FEATURE_WEBSOCKETS", "false")]).await;
    let (admin, _) = church(&app, "admin@example.org").await;
    let (s, out) = app
        .call("POST", "/api/v1/ws/ticket", Some(&admin.token), None)
        .await;
    assert_eq!(s, 404, "{out}");
    let (s, out) = app
        .call_with_headers("GET", "/api/v1/ws?ticket=x", None, None, UPGRADE)
        .await;
    assert_eq!(s, 404, "{out}");
}

#[tokio::test]
async fn a_client_on_one_instance_gets_what_the_other_instances_worker_dispatched() {
    let a = TestApp::spawn().await;
    let b = a.spawn_sibling(&[]).await;
    let (admin, dept) = church(&a, "admin@example.org").await;
    let mut ws = open(&b, &admin).await;
    let c = b.ctx.fanout.connections();
    assert_eq!(c, 1, "the connection is held by instance B");
    if a.ctx.redis.is_some() {
        assert_eq!(a.ctx.fanout.connections(), 0, "not by A");
    }
    a.join_department(&admin, &dept, "new@example.org", "member")
        .await;
    a.run_worker_until_idle().await;
    let f = next_json(&mut ws).await;
    assert_eq!(f["notification"]["type"], "invitation.accepted", "{f}");
    // Once more, now that B's subscriber is certainly listening: this one can only come
    // through the fan-out (Redis pub/sub, or the shared in-process hub).
    a.join_department(&admin, &dept, "again@example.org", "member")
        .await;
    a.run_worker_until_idle().await;
    let g = next_json(&mut ws).await;
    assert_eq!(g["notification"]["type"], "invitation.accepted", "{g}");
    assert_ne!(g["notification"]["id"], f["notification"]["id"]);
}

#[tokio::test]
async fn a_change_recorded_anywhere_wakes_the_worker_so_it_arrives_at_once() {
    // The worker polls every minute: only the wake-up after the commit can bring the
    // notification within the test's patience.
    let app = TestApp::spawn_with(&[("WORKER_POLL_INTERVAL_MS", "60000")]).await;
    let (admin, dept) = church(&app, "admin@example.org").await;
    let member = app
        .join_department(&admin, &dept, "m@example.org", "member")
        .await;
    app.run_worker_until_idle().await;
    let stop = tokio_util::sync::CancellationToken::new();
    let worker = tokio::spawn(app.worker().run(stop.clone(), Duration::from_secs(1)));
    let mut ws = open(&app, &admin).await;
    // Let the worker make its first look (and then sleep), so what follows must wake it.
    tokio::time::sleep(Duration::from_millis(500)).await;
    // A blockout: recorded by the availability store, which no route wakes the worker for.
    let t = Utc::now().date_naive() + chrono::Months::new(3);
    let (s, out) = app
        .call(
            "PUT",
            &format!("/api/v1/departments/{dept}/members/me/availabilities"),
            Some(&member.token),
            Some(
                json!({"year": chrono::Datelike::year(&t), "month": chrono::Datelike::month(&t),
                "unavailableDates": [{"date": t.to_string(), "isAllDay": true}]}),
            ),
        )
        .await;
    assert_eq!(s, 200, "{out}");
    // (The admin's recent `invitation.accepted` may come first: a new connection also sends
    // what is a moment old, for clock skew between processes.)
    let mut f = next_json(&mut ws).await;
    if f["notification"]["type"] == "invitation.accepted" {
        f = next_json(&mut ws).await;
    }
    assert_eq!(f["notification"]["type"], "availability.changed", "{f}");
    stop.cancel();
    worker.await.unwrap();
}

/// A TCP relay to Redis whose connections the test can cut, as if Redis went away for the
/// instance behind it.
struct Relay {
    port: u16,
    cut: tokio::sync::watch::Sender<u64>,
}

impl Relay {
    async fn start(target: String) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (cut, rx) = tokio::sync::watch::channel(0u64);
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                let target = target.clone();
                let mut rx = rx.clone();
                rx.mark_unchanged();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(&target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = rx.changed() => {}
                    }
                });
            }
        });
        Relay { port, cut }
    }

    /// Closes every connection open through the relay (new ones are accepted again).
    fn cut(&self) {
        self.cut.send_modify(|n| *n += 1);
    }
}

#[tokio::test]
async fn redis_going_away_tells_clients_to_reconnect_and_nothing_is_lost() {
    let Some(redis) = testkit::redis_url() else {
        // Without Redis there is no pub/sub to lose: the in-process path is covered above.
        return;
    };
    let hostport = redis
        .trim_start_matches("redis://")
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let relay = Relay::start(hostport).await;
    let a = TestApp::spawn().await;
    let relayed = format!("redis://127.0.0.1:{}", relay.port);
    let b = a.spawn_sibling(&[("REDIS_URL", relayed.as_str())]).await;
    let (admin, dept) = church(&a, "admin@example.org").await;

    let mut ws = open(&b, &admin).await;
    a.join_department(&admin, &dept, "one@example.org", "member")
        .await;
    a.run_worker_until_idle().await;
    let first = next_json(&mut ws).await;
    assert_eq!(first["notification"]["type"], "invitation.accepted");
    let last_id = first["notification"]["id"].as_str().unwrap().to_string();

    // Redis goes away for B: its client is told to reconnect, then closed.
    relay.cut();
    let (code, reason, seen) = next_close(&mut ws).await;
    assert_eq!((code, reason.as_str()), (1012, "reconnect"));
    assert_eq!(seen, vec![json!({"type": "reconnect"})]);

    // Meanwhile A's worker dispatches another one.
    a.join_department(&admin, &dept, "two@example.org", "member")
        .await;
    a.run_worker_until_idle().await;

    // The client reconnects with the last id it saw: it gets the one it missed, and live
    // delivery works again.
    let t = ticket(&b, &admin).await;
    let mut ws = open_with(&b, &format!("ticket={t}&after={last_id}")).await;
    let missed = next_json(&mut ws).await;
    assert_eq!(missed["notification"]["type"], "invitation.accepted");
    assert_ne!(
        missed["notification"]["id"].as_str(),
        Some(last_id.as_str())
    );
    assert_eq!(
        next_json(&mut ws).await,
        json!({"type": "resumed", "count": 1})
    );
    a.join_department(&admin, &dept, "three@example.org", "member")
        .await;
    a.run_worker_until_idle().await;
    let live = next_json(&mut ws).await;
    assert_eq!(
        live["notification"]["type"], "invitation.accepted",
        "{live}"
    );
}

#[tokio::test]
async fn open_sockets_are_counted_on_the_metrics_gauge() {
    const TOKEN: &str = "metrics-token-for-the-ws-test";
    let app = TestApp::spawn_with(&[("METRICS_TOKEN", TOKEN)]).await;
    let (admin, _) = church(&app, "admin@example.org").await;
    let _ws = open(&app, &admin).await;
    let _ws2 = open(&app, &admin).await;
    let text = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let open_now: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("monservice_websocket_connections "))
        .expect("the gauge is exported")
        .trim()
        .parse()
        .unwrap();
    // Other tests of this binary may hold sockets too (the registry is per process).
    assert!(open_now >= 2.0, "{open_now}");
}
