#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `SmtpMailer` against a standalone SMTP server: maildev, as `.ci/run` starts it, read back
//! through maildev's HTTP API.
//!
//! Runs only when `TEST_SMTP_HOST` is set (CI's PostgreSQL + Redis pass), with `TEST_SMTP_PORT`
//! and `TEST_MAILDEV_API` (e.g. `http://127.0.0.1:1080`); otherwise it returns at once, the
//! in-process SMTP server of `tests/it.rs` covering the same ground. Plain text, no
//! authentication.

use kernel::mail::{Email, Mailbox, Mailer};
use mail::{MailFrom, SmtpConfig, SmtpMailer};
use mail_parser::MessageParser;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn required(name: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| panic!("TEST_SMTP_HOST is set, so {name} must be set too"))
}

/// `GET {api}{path}` over HTTP/1.0 (this crate has no HTTP client): the status and the body.
fn http_get(api: &str, path: &str) -> (u16, Vec<u8>) {
    let authority = api
        .strip_prefix("http://")
        .unwrap_or_else(|| panic!("TEST_MAILDEV_API must be an http:// URL, got {api:?}"))
        .trim_end_matches('/');
    let mut stream = TcpStream::connect(authority).unwrap_or_else(|e| {
        panic!("TEST_MAILDEV_API={api}: maildev's HTTP API does not answer: {e}")
    });
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {authority}\r\n\r\n").unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let end_of_head = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("GET {api}{path}: malformed HTTP response"));
    let status = String::from_utf8_lossy(&response[..end_of_head])
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("GET {api}{path}: no HTTP status"));
    (status, response[end_of_head + 4..].to_vec())
}

/// The `id`s in maildev's `GET /email` listing (a JSON array of messages). A `"id":"` inside a
/// string value would have its quotes escaped, so every match is a key.
fn message_ids(listing: &str) -> Vec<&str> {
    listing
        .match_indices("\"id\":\"")
        .filter_map(|(at, key)| {
            let rest = &listing[at + key.len()..];
            rest.find('"').map(|end| &rest[..end])
        })
        .collect()
}

#[tokio::test]
async fn message_sent_through_smtp_arrives_intact() {
    let Some(host) = std::env::var("TEST_SMTP_HOST")
        .ok()
        .filter(|h| !h.trim().is_empty())
    else {
        return;
    };
    let port: u16 = required("TEST_SMTP_PORT").parse().unwrap();
    let api = required("TEST_MAILDEV_API");

    let marker = uuid::Uuid::new_v4().simple().to_string();
    let subject = format!("Planning de décembre — répétition « Été » n° {marker}");
    let text = "Bonjour Zoé,\nvous êtes de service dimanche à 9 h 30 (régie son).\n";
    let mailer = SmtpMailer::new(SmtpConfig {
        host: host.clone(),
        port,
        user: None,
        password: None,
        tls: false,
        from: MailFrom {
            name: "MonService Église".into(),
            email: "no-reply@monservice.test".into(),
        },
        timeout: Duration::from_secs(10),
    })
    .unwrap();
    mailer
        .send(&Email {
            to: Mailbox::named("Zoé Dupré", "zoe@example.test"),
            subject: subject.clone(),
            text: text.into(),
            html: Some("<p>Bonjour Zoé,</p><p>Vous êtes de service dimanche.</p>".into()),
            message_id: None,
        })
        .await
        .unwrap_or_else(|e| panic!("TEST_SMTP_HOST={host} TEST_SMTP_PORT={port}: {e}"));

    // maildev stores the message asynchronously: look for it for a few seconds.
    let deadline = Instant::now() + Duration::from_secs(10);
    let (id, raw) = loop {
        let (status, listing) = http_get(&api, "/email");
        assert_eq!(status, 200, "GET {api}/email");
        let listing = String::from_utf8(listing).unwrap();
        let found = message_ids(&listing).into_iter().rev().find_map(|id| {
            let (status, raw) = http_get(&api, &format!("/email/{id}/source"));
            let parsed = MessageParser::default().parse(&raw)?;
            (status == 200 && parsed.subject() == Some(subject.as_str()))
                .then(|| (id.to_owned(), raw))
        });
        if let Some(found) = found {
            break found;
        }
        assert!(
            Instant::now() < deadline,
            "the message never showed up in maildev ({api}/email)"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    // The message as it went over the wire (RFC 2047 headers, multipart/alternative).
    let msg = MessageParser::default().parse(&raw).unwrap();
    let to = msg.to().unwrap().first().unwrap();
    assert_eq!(to.address(), Some("zoe@example.test"));
    assert_eq!(to.name(), Some("Zoé Dupré"));
    let from = msg.from().unwrap().first().unwrap();
    assert_eq!(from.address(), Some("no-reply@monservice.test"));
    assert_eq!(from.name(), Some("MonService Église"));
    assert_eq!(msg.body_text(0).unwrap().replace("\r\n", "\n"), text);
    assert!(
        msg.body_html(0)
            .unwrap()
            .contains("<p>Vous êtes de service dimanche.</p>")
    );

    // maildev's own reading of it agrees: decoded subject, recipient, text.
    let (status, json) = http_get(&api, &format!("/email/{id}"));
    assert_eq!(status, 200, "GET {api}/email/{id}");
    let json = String::from_utf8(json).unwrap();
    for expected in [
        format!("\"subject\":\"{subject}\""),
        "\"address\":\"zoe@example.test\"".to_owned(),
        "vous êtes de service dimanche à 9 h 30 (régie son).".to_owned(),
    ] {
        assert!(json.contains(&expected), "{expected} not in {json}");
    }
}
