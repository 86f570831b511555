//! Live delivery reads the database once per wake-up, not once per connection: the open
//! WebSockets of many users woken together are answered from one statement
//! (`api::live::LiveReader`), each still receiving only its own user's notifications. Alone in
//! its test binary: the statement counter is process-wide.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::Utc;
use futures_util::StreamExt;
use kernel::{OrganizationId, UserId};
use notifications::{NewNotification, NotificationStore};
use serde_json::{Value, json};
use std::time::Duration;
use testkit::{Signed, TestApp};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Sockets opened per user.
const SOCKETS_PER_USER: usize = 4;

async fn open(app: &TestApp, who: &Signed) -> Ws {
    let (s, out) = app
        .call("POST", "/api/v1/ws/ticket", Some(&who.token), None)
        .await;
    assert_eq!(s, 200, "{out}");
    let url = format!(
        "ws://{}/api/v1/ws?ticket={}",
        app.addr,
        out["ticket"].as_str().unwrap()
    );
    let (ws, res) = connect_async(url).await.expect("upgrade");
    assert_eq!(res.status().as_u16(), 101);
    ws
}

/// The next notification frame (heartbeats skipped).
async fn next_notification(ws: &mut Ws) -> Value {
    tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(t))) => {
                    let v: Value = serde_json::from_str(t.as_str()).unwrap();
                    if v["type"] == "notification" {
                        return v["notification"].clone();
                    }
                    assert_eq!(v["type"], "ping", "{v}");
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                other => panic!("expected a text frame, got {other:?}"),
            }
        }
    })
    .await
    .expect("a notification in time")
}

/// Nothing more arrives for a moment.
async fn assert_quiet(ws: &mut Ws) {
    if let Ok(Some(Ok(Message::Text(t)))) =
        tokio::time::timeout(Duration::from_millis(300), ws.next()).await
    {
        let v: Value = serde_json::from_str(t.as_str()).unwrap();
        assert_ne!(v["type"], "notification", "unexpected: {v}");
    }
}

async fn org_of(app: &TestApp, who: &Signed) -> OrganizationId {
    let (_, me) = app
        .call("GET", "/api/v1/users/me", Some(&who.token), None)
        .await;
    me["organizationId"].as_str().unwrap().parse().unwrap()
}

fn note(org: OrganizationId, who: &Signed) -> NewNotification {
    NewNotification {
        organization: org,
        user: who.user_id.parse::<UserId>().unwrap(),
        event: None,
        kind: "rota.published".into(),
        title: format!("for {}", who.user_id),
        body: "body".into(),
        link: None,
        data: json!({}),
    }
}

#[tokio::test]
async fn one_wake_up_of_many_connections_reads_the_database_once_per_batch() {
    // Heartbeats (which re-check the session) far apart, so that only delivery reads.
    let app = TestApp::spawn_with(&[("WEBSOCKET_HEARTBEAT_MS", "60000")]).await;
    let admin = app.sign_up("admin@example.org").await;
    app.create_church(&admin, "Lyon").await;
    let dept = app.create_department(&admin, "Louange").await;
    let mut users = vec![admin];
    for i in 0..4 {
        let m = app
            .join_department(&users[0], &dept, &format!("m{i}@example.org"), "member")
            .await;
        users.push(m);
    }
    // A user of another church, woken in the same batch.
    let other = app.sign_up("other@example.org").await;
    app.create_church(&other, "Lille").await;
    users.push(other);

    let mut sockets = Vec::new();
    let mut notes = Vec::new();
    for u in &users {
        for _ in 0..SOCKETS_PER_USER {
            sockets.push((u.user_id.clone(), open(&app, u).await));
        }
        notes.push(note(org_of(&app, u).await, u));
    }
    app.ctx
        .notifications
        .store()
        .deliver(&notes, &[], &[], Utc::now())
        .await
        .unwrap();
    let woken: Vec<uuid::Uuid> = users.iter().map(|u| u.user_id.parse().unwrap()).collect();

    let before = store_sea::statements_sent();
    app.ctx.fanout.publish(&woken).await;
    for (user, ws) in &mut sockets {
        // Its own user's, after what the invitations told the admin (sent too, being recent).
        loop {
            let n = next_notification(ws).await;
            let title = n["title"].as_str().unwrap();
            if title.starts_with("for ") {
                assert_eq!(title, format!("for {user}"), "only its own user's: {n}");
                break;
            }
            assert_eq!(n["type"], "invitation.accepted", "{n}");
        }
    }
    let statements = store_sea::statements_sent() - before;
    println!("{statements} statements for {} connections", sockets.len());
    for (_, ws) in &mut sockets {
        assert_quiet(ws).await;
    }
    // One connection, one read would be 24 statements; the reader answers them in a few
    // batches (those queued when it runs: normally one or two).
    assert!(
        statements <= 4,
        "{statements} statements for {} connections of {} users",
        sockets.len(),
        users.len()
    );
}
