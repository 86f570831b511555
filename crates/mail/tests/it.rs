#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The mail adapters against real files and a real SMTP server (mailin's protocol state machine
//! behind a std TCP listener on 127.0.0.1:0, one thread per connection).

use kernel::mail::{Email, MailError, Mailbox, Mailer};
use mail::testing::SmtpServer as Server;
use mail::{AnyMailer, FailureKind, FileMailer, MailFrom, RecordingMailer, SmtpConfig, SmtpMailer};
use mail_parser::MessageParser;
use secrecy::SecretString;
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

const SUBJECT: &str = "Réinitialisation de votre mot de passe — équipe « Été »";
const PASSWORD: &str = "s3cr3t-Pa55word";

fn from() -> MailFrom {
    MailFrom {
        name: "MonService Écoles".into(),
        email: "no-reply@monservice.test".into(),
    }
}

fn email(html: bool) -> Email {
    Email {
        to: Mailbox::named("Zoé Dupré", "zoe@example.test"),
        subject: SUBJECT.into(),
        text: "Bonjour Zoé,\nvoici votre lien : https://example.test/r/abc\n".into(),
        html: html.then(|| {
            "<p>Bonjour Zoé,</p><p><a href=\"https://example.test/r/abc\">Réinitialiser</a></p>"
                .into()
        }),
        message_id: None,
    }
}

// ---------------------------------------------------------------------------------------------
// FileMailer

fn only_eml(dir: &std::path::Path) -> Vec<u8> {
    let files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    std::fs::read(&files[0]).unwrap()
}

#[tokio::test]
async fn file_mailer_writes_multipart_eml_with_utf8_subject() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("outbox/nested");
    let mailer = FileMailer::new(dir.clone(), from());
    assert_eq!(mailer.dir(), dir);
    mailer.send(&email(true)).await.unwrap();

    let raw = only_eml(&dir);
    let msg = MessageParser::default().parse(&raw).unwrap();
    assert_eq!(msg.subject(), Some(SUBJECT));
    let sender = msg.from().unwrap().first().unwrap();
    assert_eq!(sender.address(), Some("no-reply@monservice.test"));
    assert_eq!(sender.name(), Some("MonService Écoles"));
    let to = msg.to().unwrap().first().unwrap();
    assert_eq!(to.address(), Some("zoe@example.test"));
    assert_eq!(to.name(), Some("Zoé Dupré"));
    assert!(msg.message_id().unwrap().ends_with("@monservice.test"));
    assert!(msg.date().is_some());
    let content_type = msg.header_raw("Content-Type").unwrap();
    assert!(
        content_type.contains("multipart/alternative"),
        "{content_type}"
    );
    assert_eq!(msg.text_body_count(), 1);
    assert_eq!(msg.html_body_count(), 1);
    assert!(
        msg.body_text(0)
            .unwrap()
            .contains("voici votre lien : https://example.test/r/abc")
    );
    assert!(
        msg.body_html(0)
            .unwrap()
            .contains("<a href=\"https://example.test/r/abc\">Réinitialiser</a>")
    );
}

#[tokio::test]
async fn file_mailer_writes_plain_text_without_html() {
    let tmp = tempfile::tempdir().unwrap();
    let mailer = FileMailer::new(tmp.path().to_path_buf(), from());
    mailer.send(&email(false)).await.unwrap();

    let raw = only_eml(tmp.path());
    let msg = MessageParser::default().parse(&raw).unwrap();
    assert_eq!(msg.subject(), Some(SUBJECT));
    let content_type = msg.header_raw("Content-Type").unwrap();
    assert!(content_type.contains("text/plain"), "{content_type}");
    assert!(content_type.contains("utf-8"), "{content_type}");
    let text = msg.body_text(0).unwrap();
    assert_eq!(
        text.trim_end().lines().collect::<Vec<_>>(),
        [
            "Bonjour Zoé,",
            "voici votre lien : https://example.test/r/abc"
        ]
    );
}

#[tokio::test]
async fn an_idempotency_key_gives_every_send_the_same_message_id() {
    let tmp = tempfile::tempdir().unwrap();
    let mailer = FileMailer::new(tmp.path().to_path_buf(), from());
    let mut e = email(false);
    e.message_id = Some("n.0193abc.0193def <x>".into());
    mailer.send(&e).await.unwrap();
    let raw = only_eml(tmp.path());
    let msg = MessageParser::default().parse(&raw).unwrap();
    assert_eq!(msg.message_id(), Some("n.0193abc.0193defx@monservice.test"));
}

#[tokio::test]
async fn malformed_recipient_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let mailer = FileMailer::new(tmp.path().to_path_buf(), from());
    let mut bad = email(false);
    bad.to = Mailbox::new("not an address");
    assert!(matches!(
        mailer.send(&bad).await,
        Err(MailError::Refused(_))
    ));
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}

fn smtp_config(addr: SocketAddr) -> SmtpConfig {
    SmtpConfig {
        host: addr.ip().to_string(),
        port: addr.port(),
        user: None,
        password: None,
        tls: false,
        from: from(),
        timeout: Duration::from_secs(5),
    }
}

// ---------------------------------------------------------------------------------------------
// SmtpMailer

#[tokio::test]
async fn smtp_mailer_delivers_to_a_real_server() {
    let server = Server::new();
    let mailer = SmtpMailer::new(smtp_config(server.start())).unwrap();
    mailer.send(&email(true)).await.unwrap();
    mailer.send(&email(false)).await.unwrap();

    let inbox = server.inbox();
    assert_eq!(inbox.len(), 2);
    assert_eq!(inbox[0].from, "no-reply@monservice.test");
    assert_eq!(inbox[0].to, vec!["zoe@example.test".to_owned()]);
    let msg = MessageParser::default().parse(&inbox[0].data).unwrap();
    assert_eq!(msg.subject(), Some(SUBJECT));
    assert_eq!(
        msg.to().unwrap().first().unwrap().address(),
        Some("zoe@example.test")
    );
    assert!(msg.body_text(0).unwrap().contains("voici votre lien"));
    assert!(msg.body_html(0).unwrap().contains("Réinitialiser"));
    let plain = MessageParser::default().parse(&inbox[1].data).unwrap();
    assert!(
        plain
            .header_raw("Content-Type")
            .unwrap()
            .contains("text/plain")
    );
}

#[tokio::test]
async fn smtp_mailer_authenticates_when_a_user_is_set() {
    let mut server = Server::new();
    server.auth = Some(("mailer", PASSWORD));
    let addr = server.start();
    let mut cfg = smtp_config(addr);
    cfg.user = Some("mailer".into());
    cfg.password = Some(SecretString::from(PASSWORD));
    SmtpMailer::new(cfg.clone())
        .unwrap()
        .send(&email(false))
        .await
        .unwrap();
    assert_eq!(server.inbox().len(), 1);

    // Without credentials the server refuses the message: 530 is permanent.
    let anonymous = SmtpMailer::new(smtp_config(addr)).unwrap();
    assert!(matches!(
        anonymous.send(&email(false)).await,
        Err(MailError::Permanent(_))
    ));

    // A wrong password is refused (535) and never shows in errors or Debug output.
    cfg.password = Some(SecretString::from("wrong-Pa55word"));
    assert!(!format!("{cfg:?}").contains("wrong-Pa55word"));
    let mailer = SmtpMailer::new(cfg).unwrap();
    assert!(!format!("{mailer:?}").contains("wrong-Pa55word"));
    let err = mailer.send(&email(false)).await.unwrap_err();
    assert!(matches!(err, MailError::Permanent(_)), "{err:?}");
    assert!(!err.to_string().contains("wrong-Pa55word"));
    assert!(!format!("{err:?}").contains("wrong-Pa55word"));
    assert_eq!(server.inbox().len(), 1);
}

#[tokio::test]
async fn rcpt_refused_with_550_is_refused() {
    let mut server = Server::new();
    server.rcpt_reply = Some((550, "No such user"));
    let mailer = SmtpMailer::new(smtp_config(server.start())).unwrap();
    let err = mailer.send(&email(false)).await.unwrap_err();
    assert!(matches!(err, MailError::Refused(_)), "{err:?}");
    assert!(err.to_string().contains("550"), "{err}");
    assert!(server.inbox().is_empty());
}

#[tokio::test]
async fn other_5xx_is_permanent_but_does_not_blame_the_address() {
    let mut server = Server::new();
    server.rcpt_reply = Some((554, "Transaction failed"));
    let mailer = SmtpMailer::new(smtp_config(server.start())).unwrap();
    let err = mailer.send(&email(false)).await.unwrap_err();
    assert!(matches!(err, MailError::Permanent(_)), "{err:?}");
}

#[tokio::test]
async fn rcpt_deferred_with_451_is_transient() {
    let mut server = Server::new();
    server.rcpt_reply = Some((451, "Try again later"));
    let mailer = SmtpMailer::new(smtp_config(server.start())).unwrap();
    let err = mailer.send(&email(false)).await.unwrap_err();
    assert!(matches!(err, MailError::Transient(_)), "{err:?}");
    assert!(err.to_string().contains("451"), "{err}");
}

#[tokio::test]
async fn closed_port_is_transient() {
    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    // The listener is dropped: nothing listens on `addr` any more.
    let mailer = SmtpMailer::new(smtp_config(addr)).unwrap();
    let err = mailer.send(&email(false)).await.unwrap_err();
    assert!(matches!(err, MailError::Transient(_)), "{err:?}");
}

#[tokio::test]
async fn silent_server_times_out_as_transient() {
    // Accepts connections but never greets.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let _held: Vec<_> = listener.incoming().take(1).collect();
        std::thread::sleep(Duration::from_secs(10));
    });
    let mut cfg = smtp_config(addr);
    cfg.timeout = Duration::from_millis(300);
    let started = std::time::Instant::now();
    let err = SmtpMailer::new(cfg)
        .unwrap()
        .send(&email(false))
        .await
        .unwrap_err();
    assert!(matches!(err, MailError::Transient(_)), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn required_tls_is_never_downgraded() {
    // The server offers no STARTTLS: the message must not go out in clear text.
    let server = Server::new();
    let mut cfg = smtp_config(server.start());
    cfg.tls = true;
    let err = SmtpMailer::new(cfg)
        .unwrap()
        .send(&email(false))
        .await
        .unwrap_err();
    assert!(matches!(err, MailError::Transient(_)), "{err:?}");
    assert!(server.inbox().is_empty());
}

#[test]
fn smtp_config_errors_are_permanent() {
    let addr: SocketAddr = "127.0.0.1:2525".parse().unwrap();
    let mut cfg = smtp_config(addr);
    cfg.from.email = "nobody".into();
    assert!(matches!(SmtpMailer::new(cfg), Err(MailError::Permanent(_))));

    let mut cfg = smtp_config(addr);
    cfg.user = Some("mailer".into());
    assert!(matches!(SmtpMailer::new(cfg), Err(MailError::Permanent(_))));

    for port in [465, 587] {
        let mut cfg = smtp_config(addr);
        cfg.host = "smtp.example.org".into();
        cfg.port = port;
        cfg.tls = true;
        assert!(SmtpMailer::new(cfg).is_ok());
    }
}

// ---------------------------------------------------------------------------------------------
// SmtpMailer's connection pool

/// An email with its own Message-ID, to tell the deliveries apart.
fn numbered(i: usize) -> Email {
    Email {
        message_id: Some(format!("m{i}")),
        ..email(false)
    }
}

/// The Message-IDs of what arrived, sorted.
fn message_ids(server: &Server) -> Vec<String> {
    let mut ids: Vec<String> = server
        .inbox()
        .iter()
        .map(|r| {
            let msg = MessageParser::default().parse(&r.data).unwrap();
            msg.message_id().unwrap().to_owned()
        })
        .collect();
    ids.sort();
    ids
}

fn expected_ids(range: std::ops::Range<usize>) -> Vec<String> {
    let mut ids: Vec<String> = range.map(|i| format!("m{i}@monservice.test")).collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn messages_in_a_row_share_one_connection() {
    let server = Server::new();
    let mailer = SmtpMailer::new(smtp_config(server.start())).unwrap();
    for i in 0..4 {
        mailer.send(&numbered(i)).await.unwrap();
    }
    // A clone shares the idle connections.
    mailer.clone().send(&numbered(4)).await.unwrap();
    assert_eq!(message_ids(&server), expected_ids(0..5));
    assert_eq!(server.connections(), 1);
}

#[tokio::test]
async fn authenticated_connections_are_reused_too() {
    let mut server = Server::new();
    server.auth = Some(("mailer", PASSWORD));
    let mut cfg = smtp_config(server.start());
    cfg.user = Some("mailer".into());
    cfg.password = Some(SecretString::from(PASSWORD));
    let mailer = SmtpMailer::new(cfg).unwrap();
    for i in 0..3 {
        mailer.send(&numbered(i)).await.unwrap();
    }
    assert_eq!(message_ids(&server), expected_ids(0..3));
    assert_eq!(server.connections(), 1);
}

#[tokio::test]
async fn a_connection_the_server_closed_is_replaced() {
    let server = Server::new();
    let mailer = SmtpMailer::new(smtp_config(server.start())).unwrap();
    mailer.send(&numbered(0)).await.unwrap();
    // The server closes the idle connection (restart, idle timeout).
    server.drop_connections();
    mailer.send(&numbered(1)).await.unwrap();
    mailer.send(&numbered(2)).await.unwrap();
    assert_eq!(message_ids(&server), expected_ids(0..3));
    assert_eq!(server.connections(), 2);
}

#[tokio::test]
async fn a_connection_lost_as_it_is_reused_is_replaced_once() {
    let server = Server::new();
    let mailer = SmtpMailer::new(smtp_config(server.start())).unwrap();
    mailer.send(&numbered(0)).await.unwrap();
    // The connection looks open, but the server hangs up on the next command (MAIL FROM):
    // the message goes out over a new connection, once.
    server.hang_up_on_next_command();
    mailer.send(&numbered(1)).await.unwrap();
    assert_eq!(message_ids(&server), expected_ids(0..2));
    assert_eq!(server.connections(), 2);
    // And the new connection is the one reused next.
    mailer.send(&numbered(2)).await.unwrap();
    assert_eq!(server.connections(), 2);
}

#[tokio::test]
async fn a_reply_on_a_reused_connection_is_final_and_closes_it() {
    let server = Server::new();
    let mailer = SmtpMailer::new(smtp_config(server.start())).unwrap();
    mailer.send(&numbered(0)).await.unwrap();

    // 451 on the reused connection: transient, not retried on another connection (the job
    // queue retries it later).
    server.reply_to_next_rcpt(451, "Try again later");
    let err = mailer.send(&numbered(1)).await.unwrap_err();
    assert!(matches!(err, MailError::Transient(_)), "{err:?}");
    assert!(err.to_string().contains("451"), "{err}");
    assert_eq!(server.connections(), 1);

    // The connection that failed is not reused.
    mailer.send(&numbered(2)).await.unwrap();
    assert_eq!(server.connections(), 2);

    // 550 on a reused connection is still a refusal of the address, and not retried either.
    server.reply_to_next_rcpt(550, "No such user");
    let err = mailer.send(&numbered(3)).await.unwrap_err();
    assert!(matches!(err, MailError::Refused(_)), "{err:?}");
    assert!(err.to_string().contains("550"), "{err}");
    assert_eq!(server.connections(), 2);

    assert_eq!(
        message_ids(&server),
        [expected_ids(0..1), expected_ids(2..3)].concat()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_sends_from_clones_each_arrive_once() {
    let server = Server::new();
    let mailer = SmtpMailer::new(smtp_config(server.start())).unwrap();
    for wave in 0..2 {
        let mut sends = tokio::task::JoinSet::new();
        for i in 0..8 {
            let mailer = mailer.clone();
            sends.spawn(async move { mailer.send(&numbered(wave * 8 + i)).await });
        }
        while let Some(sent) = sends.join_next().await {
            sent.unwrap().unwrap();
        }
    }
    assert_eq!(message_ids(&server), expected_ids(0..16));
    // Never more connections than sends at once: the second wave reused the first's.
    let connections = server.connections();
    assert!((1..=8).contains(&connections), "{connections} connections");
}

// ---------------------------------------------------------------------------------------------
// RecordingMailer and AnyMailer

#[tokio::test]
async fn recording_mailer_records_and_fails_on_demand() {
    let recorder = RecordingMailer::new();
    let mailer = AnyMailer::from(recorder.clone());
    mailer.send(&email(true)).await.unwrap();
    assert_eq!(recorder.deliveries(), vec![email(true)]);

    recorder.fail_next(2, FailureKind::Transient);
    recorder.fail_next(1, FailureKind::Permanent);
    assert!(matches!(
        mailer.send(&email(false)).await,
        Err(MailError::Transient(_))
    ));
    assert!(matches!(
        mailer.send(&email(false)).await,
        Err(MailError::Transient(_))
    ));
    assert!(matches!(
        mailer.send(&email(false)).await,
        Err(MailError::Permanent(_))
    ));
    assert_eq!(recorder.deliveries().len(), 1);
    mailer.send(&email(false)).await.unwrap();
    assert_eq!(recorder.deliveries(), vec![email(true), email(false)]);

    recorder.clear();
    assert!(recorder.deliveries().is_empty());
}

#[tokio::test]
async fn any_mailer_dispatches_to_each_adapter() {
    let tmp = tempfile::tempdir().unwrap();
    let file = AnyMailer::from(FileMailer::new(tmp.path().to_path_buf(), from()));
    file.send(&email(false)).await.unwrap();
    assert!(!only_eml(tmp.path()).is_empty());

    let server = Server::new();
    let smtp = AnyMailer::from(SmtpMailer::new(smtp_config(server.start())).unwrap());
    smtp.send(&email(false)).await.unwrap();
    assert_eq!(server.inbox().len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Throughput

/// Messages per second, sequentially, over loopback to the in-process server. Run with
/// `cargo test -p mail --release --test it -- --ignored --nocapture smtp_throughput`.
#[tokio::test]
#[ignore = "a bench: run with --ignored --nocapture"]
async fn smtp_throughput() {
    let n: usize = std::env::var("BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let server = Server::new();
    let mailer = SmtpMailer::new(smtp_config(server.start())).unwrap();
    let started = std::time::Instant::now();
    for _ in 0..n {
        mailer.send(&email(true)).await.unwrap();
    }
    let elapsed = started.elapsed();
    assert_eq!(server.received(), n);
    #[allow(clippy::print_stdout, reason = "the bench's report")]
    {
        println!(
            "{n} messages in {elapsed:.3?}: {:.0} messages/s",
            n as f64 / elapsed.as_secs_f64()
        );
    }
}
