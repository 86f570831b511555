//! Sends through an SMTP relay: lettre's low-level client speaks SMTP over connections opened
//! here, with `TCP_NODELAY`, and kept open for the next message (rustls, webpki roots).
//!
//! Why not lettre's `AsyncSmtpTransport`: it never sets `TCP_NODELAY`, and it writes a message
//! and its final `\r\n.\r\n` in two writes. Nagle's algorithm then holds the second write back
//! until the relay ACKs the first, and a Linux peer delays that ACK by ~40 ms: every message
//! waited ~40 ms for nothing (~44 ms a message on loopback). Without its `pool` feature (which
//! would not help with the delay) it also opened a new connection, with its TLS handshake, EHLO
//! and AUTH, for every message. The `smtp_throughput` bench of `tests/it.rs` (release, loopback)
//! went from ~21 messages/s to ~1,800 with both changes (~1,000 with `TCP_NODELAY` alone).

use crate::{MailFrom, message};
use kernel::mail::{Email, MailError, Mailer};
use lettre::address::Envelope;
use lettre::transport::smtp;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use rustls::pki_types::ServerName;
use secrecy::{ExposeSecret, SecretString};
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// Settings of the SMTP relay (`SMTP_*` variables). `Debug` never shows the password.
#[derive(Clone, Debug)]
pub struct SmtpConfig {
    /// Relay host name (also the name checked against its TLS certificate).
    pub host: String,
    /// Relay port: usually 587 (STARTTLS), 465 (implicit TLS) or 25.
    pub port: u16,
    /// User name; credentials are sent only when it is set.
    pub user: Option<String>,
    /// Password; required when `user` is set.
    pub password: Option<SecretString>,
    /// `true`: TLS is required (implicit TLS on port 465, STARTTLS on any other port).
    /// `false`: plain text, for a relay on localhost or a private network only.
    pub tls: bool,
    /// Sender of every message.
    pub from: MailFrom,
    /// Limit for delivering one message: connecting, TLS, and the whole SMTP exchange.
    pub timeout: Duration,
}

/// The port of SMTP submission over implicit TLS (RFC 8314).
const IMPLICIT_TLS_PORT: u16 = 465;
/// Idle connections kept open at most (shared by the clones of a mailer).
const MAX_IDLE: usize = 8;
/// A connection idle for longer is closed rather than reused: relays time idle clients out
/// (RFC 5321 suggests 5 minutes; some are much quicker).
const MAX_IDLE_FOR: Duration = Duration::from_secs(30);
/// Messages sent over one connection at most; some relays refuse more per connection.
const MAX_MESSAGES_PER_CONNECTION: u32 = 100;
/// Limit for the polite QUIT that closes a connection the pool no longer wants.
const QUIT_WITHIN: Duration = Duration::from_secs(5);

/// Sends messages to an SMTP relay over a small pool of open, authenticated connections.
///
/// Each connection is opened here with `TCP_NODELAY` (without it, lettre's separate writes of a
/// message and its final dot wait ~40 ms for the relay's delayed ACK), upgraded with STARTTLS or
/// wrapped in implicit TLS, authenticated, then handed to lettre's [`AsyncSmtpConnection`]. After
/// a message went out, its connection waits for the next send (clones share the pool; at most
/// 8 idle, each for at most 30 s and 100 messages), so a burst of mail pays for the TCP and TLS
/// handshakes, EHLO and AUTH once. A connection that failed is closed, never reused. When a
/// reused connection turns out to be gone (the relay timed it out while it was idle), the
/// message goes out on a new connection instead: once, and only on a network-level failure,
/// never after a reply from the relay.
///
/// Errors: a refused mailbox (550, 551, 553) or a malformed recipient address is
/// [`MailError::Refused`]; another 5xx reply is [`MailError::Permanent`]; a 4xx reply, a
/// refused or timed-out connection, or a TLS failure is [`MailError::Transient`]. A message may
/// be delivered twice when its send times out, or its connection breaks, after the server
/// received the data: when the job is retried, or at once when the connection was a reused one.
#[derive(Clone)]
pub struct SmtpMailer {
    relay: Arc<Relay>,
}

/// What every clone of a mailer shares: the settings and the idle connections.
struct Relay {
    from: MailFrom,
    host: String,
    port: u16,
    tls: bool,
    timeout: Duration,
    security: Security,
    credentials: Option<Credentials>,
    hello: ClientId,
    max_idle_for: Duration,
    /// Idle connections, the most recently used last.
    idle: Mutex<Vec<Pooled>>,
}

/// How a connection is secured.
enum Security {
    /// Plain text (`tls = false`).
    Plain,
    /// STARTTLS, required: a server that does not offer it gets nothing.
    StartTls(TlsParameters),
    /// TLS from the first byte (port 465), the certificate checked against the host name.
    Implicit(TlsConnector, ServerName<'static>),
}

/// An open, authenticated connection.
struct Pooled {
    conn: AsyncSmtpConnection,
    /// A second handle to the connection's socket, to see without a round trip whether the
    /// relay closed it while it was idle.
    probe: std::net::TcpStream,
    /// When it last went back to the pool.
    idle_since: Instant,
    /// Messages delivered over it.
    sent: u32,
}

impl SmtpMailer {
    /// Prepares the mailer; nothing is contacted until the first send, and no async runtime
    /// is needed here.
    ///
    /// # Errors
    /// [`MailError::Permanent`] when the sender address is malformed, when `user` is set without
    /// a password, or when `host` cannot be used as a TLS server name.
    pub fn new(cfg: SmtpConfig) -> Result<Self, MailError> {
        let implicit_tls = cfg.tls && cfg.port == IMPLICIT_TLS_PORT;
        Self::build(cfg, implicit_tls, webpki_roots)
    }

    /// [`Self::new`], with the kind of TLS and the trusted roots of implicit TLS chosen by the
    /// caller (tests).
    fn build(
        cfg: SmtpConfig,
        implicit_tls: bool,
        roots: impl FnOnce() -> rustls::RootCertStore,
    ) -> Result<Self, MailError> {
        message::sender(&cfg.from)?;
        let credentials = match cfg.user {
            Some(user) => {
                let password = cfg.password.ok_or_else(|| {
                    MailError::Permanent("SMTP user is set but no SMTP password".to_owned())
                })?;
                Some(Credentials::new(user, password.expose_secret().to_owned()))
            }
            None => None,
        };
        let invalid_host = |e: &dyn fmt::Display| {
            MailError::Permanent(format!("invalid SMTP host {:?}: {e}", cfg.host))
        };
        let security = if !cfg.tls {
            Security::Plain
        } else if implicit_tls {
            let name = ServerName::try_from(cfg.host.clone()).map_err(|e| invalid_host(&e))?;
            Security::Implicit(tls_connector(roots())?, name)
        } else {
            // lettre checks the name only when it connects: check it now, it will not improve.
            ServerName::try_from(cfg.host.as_str()).map_err(|e| invalid_host(&e))?;
            Security::StartTls(TlsParameters::new(cfg.host.clone()).map_err(|e| invalid_host(&e))?)
        };
        Ok(Self {
            relay: Arc::new(Relay {
                from: cfg.from,
                host: cfg.host,
                port: cfg.port,
                tls: cfg.tls,
                timeout: cfg.timeout,
                security,
                credentials,
                hello: ClientId::default(),
                max_idle_for: MAX_IDLE_FOR,
                idle: Mutex::default(),
            }),
        })
    }

    /// Sends over an idle connection, or a new one when there is none or the idle one turns out
    /// to be gone; the connection goes back to the pool when the relay accepted the message.
    async fn deliver(&self, envelope: &Envelope, bytes: &[u8]) -> Result<(), MailError> {
        if let Some(mut pooled) = self.take_idle() {
            match pooled.conn.send(envelope, bytes).await {
                Ok(_) => {
                    self.put_back(pooled);
                    return Ok(());
                }
                Err(e) => {
                    pooled.conn.abort().await;
                    if !connection_lost(&e) {
                        return Err(classify(e));
                    }
                    tracing::debug!(
                        error = %e,
                        "SMTP: a reused connection was gone; sending over a new one"
                    );
                }
            }
        }
        let mut pooled = self.connect().await?;
        match pooled.conn.send(envelope, bytes).await {
            Ok(_) => {
                self.put_back(pooled);
                Ok(())
            }
            Err(e) => {
                pooled.conn.abort().await;
                Err(classify(e))
            }
        }
    }

    /// Opens a connection: TCP with `TCP_NODELAY`, TLS, greeting and EHLO, AUTH.
    async fn connect(&self) -> Result<Pooled, MailError> {
        let relay = &*self.relay;
        let unreachable = |e: io::Error| {
            MailError::Transient(format!(
                "SMTP: cannot connect to {}:{}: {e}",
                relay.host, relay.port
            ))
        };
        let tcp = TcpStream::connect((relay.host.as_str(), relay.port))
            .await
            .map_err(unreachable)?;
        // lettre writes a message and its final dot separately: with Nagle's algorithm the dot
        // would wait for the relay's delayed ACK of the message (~40 ms on Linux).
        tcp.set_nodelay(true).map_err(unreachable)?;
        let (tcp, probe) = with_probe(tcp).map_err(unreachable)?;
        let stream: Box<dyn AsyncTokioStream> = match &relay.security {
            Security::Implicit(connector, name) => {
                let tls = connector.connect(name.clone(), tcp).await.map_err(|e| {
                    MailError::Transient(format!(
                        "SMTP: TLS with {}:{} failed: {e}",
                        relay.host, relay.port
                    ))
                })?;
                Box::new(ImplicitTls(tls))
            }
            Security::Plain | Security::StartTls(_) => Box::new(tcp),
        };
        let mut conn = AsyncSmtpConnection::connect_with_transport(stream, &relay.hello)
            .await
            .map_err(classify)?;
        if let Err(e) = self.secure_and_authenticate(&mut conn).await {
            conn.abort().await;
            return Err(classify(e));
        }
        Ok(Pooled {
            conn,
            probe,
            idle_since: Instant::now(),
            sent: 0,
        })
    }

    /// STARTTLS when required (an error when the server does not offer it), then AUTH when a
    /// user is set.
    async fn secure_and_authenticate(
        &self,
        conn: &mut AsyncSmtpConnection,
    ) -> Result<(), smtp::Error> {
        let relay = &*self.relay;
        if let Security::StartTls(parameters) = &relay.security {
            conn.starttls(parameters.clone(), &relay.hello).await?;
        }
        if let Some(credentials) = &relay.credentials {
            conn.auth(&[Mechanism::Plain, Mechanism::Login], credentials)
                .await?;
        }
        Ok(())
    }

    /// The most recently used idle connection that is still usable; the others that are not
    /// (idle too long, used enough, broken, or closed by the relay) are closed on the way.
    fn take_idle(&self) -> Option<Pooled> {
        let now = Instant::now();
        let (taken, unusable) = {
            let mut idle = self.lock_idle();
            let (usable, unusable): (Vec<_>, Vec<_>) = std::mem::take(&mut *idle)
                .into_iter()
                .partition(|p| p.usable(now, self.relay.max_idle_for));
            *idle = usable;
            (idle.pop(), unusable)
        };
        unusable.into_iter().for_each(retire);
        taken
    }

    /// Keeps a connection that delivered a message for the next send, unless it was used
    /// enough or the pool is full.
    fn put_back(&self, mut pooled: Pooled) {
        pooled.sent += 1;
        pooled.idle_since = Instant::now();
        if pooled.sent >= MAX_MESSAGES_PER_CONNECTION {
            retire(pooled);
            return;
        }
        let mut idle = self.lock_idle();
        if idle.len() < MAX_IDLE {
            idle.push(pooled);
        } else {
            drop(idle);
            retire(pooled);
        }
    }

    fn lock_idle(&self) -> std::sync::MutexGuard<'_, Vec<Pooled>> {
        // The list stays consistent even if a holder panicked: nothing is left half-done.
        self.relay
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Pooled {
    /// Worth sending over: not broken, not idle for too long, not used enough, and neither
    /// closed by the relay nor carrying anything unasked for (such as a 421 before it closed).
    fn usable(&self, now: Instant, max_idle_for: Duration) -> bool {
        !self.conn.has_broken()
            && self.sent < MAX_MESSAGES_PER_CONNECTION
            && now.saturating_duration_since(self.idle_since) < max_idle_for
            && self.quiet()
    }

    /// Open, with nothing to read: a peek that would block. A closed socket reads as end of
    /// file or an error; an idle SMTP server has nothing to say unless it is about to close.
    fn quiet(&self) -> bool {
        matches!(
            self.probe.peek(&mut [0; 1]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock
        )
    }
}

/// Closes a connection the pool no longer wants: QUIT when it still works, in the background
/// so that no send waits (or fails) for it.
fn retire(mut pooled: Pooled) {
    if pooled.conn.has_broken() || !pooled.quiet() {
        return;
    }
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(async move {
            let _ = tokio::time::timeout(QUIT_WITHIN, pooled.conn.quit()).await;
        });
    }
}

/// The stream, and a second handle to its socket for [`Pooled::usable`]'s check.
fn with_probe(tcp: TcpStream) -> io::Result<(TcpStream, std::net::TcpStream)> {
    let socket = tcp.into_std()?;
    let probe = socket.try_clone()?;
    // Non-blocking already (tokio's), and shared by both handles; said again since a blocking
    // probe would hang the check.
    probe.set_nonblocking(true)?;
    Ok((TcpStream::from_std(socket)?, probe))
}

/// The trust anchors of production: the Mozilla roots, as lettre's STARTTLS uses them.
fn webpki_roots() -> rustls::RootCertStore {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    roots
}

/// rustls with ring, TLS 1.2 and 1.3, certificates checked against `roots` and the host name.
fn tls_connector(roots: rustls::RootCertStore) -> Result<TlsConnector, MailError> {
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| MailError::Permanent(format!("SMTP: cannot set up TLS: {e}")))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

/// A TLS stream lettre can use: implicit TLS must be up before the greeting, and lettre takes
/// an existing stream only as an [`AsyncTokioStream`].
#[derive(Debug)]
struct ImplicitTls(tokio_rustls::client::TlsStream<TcpStream>);

impl AsyncTokioStream for ImplicitTls {
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}

impl AsyncRead for ImplicitTls {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for ImplicitTls {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let relay = &*self.relay;
        f.debug_struct("SmtpMailer")
            .field("host", &relay.host)
            .field("port", &relay.port)
            .field("tls", &relay.tls)
            .field("timeout", &relay.timeout)
            .field("from", &relay.from)
            .finish_non_exhaustive()
    }
}

impl Mailer for SmtpMailer {
    async fn send(&self, email: &Email) -> Result<(), MailError> {
        let relay = &*self.relay;
        let message = message::build(&relay.from, email)?;
        let bytes = message.formatted();
        // Bounds the whole exchange, connecting included, so that a server that stops
        // answering cannot stall the worker.
        match tokio::time::timeout(relay.timeout, self.deliver(message.envelope(), &bytes)).await {
            Ok(sent) => sent,
            Err(_) => Err(MailError::Transient(format!(
                "SMTP: no complete answer from {}:{} within {:?}",
                relay.host, relay.port, relay.timeout
            ))),
        }
    }
}

/// The connection failed below SMTP (closed, reset, garbled): no reply from the relay, so the
/// message is worth sending over a new connection when this one was reused.
fn connection_lost(e: &smtp::Error) -> bool {
    !(e.is_transient() || e.is_permanent() || e.is_client())
}

/// Replies that refuse the recipient's mailbox itself: 550 (no such mailbox, or refused by
/// policy), 551 (user not local), 553 (mailbox name not allowed).
const REFUSED_CODES: [u16; 3] = [550, 551, 553];

/// A mailbox refusal is [`MailError::Refused`]; other 5xx replies are permanent; everything
/// else (4xx, network, timeout, TLS) is worth a retry.
fn classify(e: smtp::Error) -> MailError {
    let code = e.status().map(u16::from);
    if e.is_permanent() && code.is_some_and(|c| REFUSED_CODES.contains(&c)) {
        MailError::Refused(format!("SMTP: {e}"))
    } else if e.is_permanent() {
        MailError::Permanent(format!("SMTP: {e}"))
    } else {
        MailError::Transient(format!("SMTP: {e}"))
    }
}

#[cfg(all(test, feature = "testing"))]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::testing::SmtpServer;
    use kernel::mail::Mailbox;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

    // A test CA, and a certificate it signed for `localhost` only (see tests/tls/README.md).
    const CA: &[u8] = include_bytes!("../tests/tls/ca.der");
    const LOCALHOST_CERT: &[u8] = include_bytes!("../tests/tls/localhost.der");
    const LOCALHOST_KEY: &[u8] = include_bytes!("../tests/tls/localhost.key.der");

    fn test_roots() -> rustls::RootCertStore {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(CertificateDer::from(CA)).unwrap();
        roots
    }

    fn email(i: usize) -> Email {
        Email {
            to: Mailbox::new("zoe@example.test"),
            subject: "Planning".into(),
            text: "Bonjour Zoé\n".into(),
            html: None,
            message_id: Some(format!("m{i}")),
        }
    }

    fn config(host: &str, port: u16, tls: bool) -> SmtpConfig {
        SmtpConfig {
            host: host.into(),
            port,
            user: None,
            password: None,
            tls,
            from: MailFrom {
                name: "MonService".into(),
                email: "no-reply@monservice.test".into(),
            },
            timeout: Duration::from_secs(5),
        }
    }

    /// Implicit TLS in front of a plain-text server: terminates TLS with the `localhost`
    /// certificate and relays the rest, one connection to `plain` per connection.
    async fn tls_front(plain: SocketAddr) -> u16 {
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(LOCALHOST_CERT)],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(LOCALHOST_KEY)),
        )
        .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let _ = tcp.set_nodelay(true);
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let Ok(mut backend) = TcpStream::connect(plain).await else {
                        return;
                    };
                    let _ = backend.set_nodelay(true);
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut backend).await;
                });
            }
        });
        port
    }

    #[tokio::test]
    async fn implicit_tls_checks_the_certificate_and_reuses_the_connection() {
        let server = SmtpServer::new();
        let port = tls_front(server.start()).await;
        let mailer = SmtpMailer::build(config("localhost", port, true), true, test_roots).unwrap();
        for i in 0..3 {
            mailer.send(&email(i)).await.unwrap();
        }
        assert_eq!(server.received(), 3);
        assert_eq!(server.connections(), 1);
    }

    #[tokio::test]
    async fn implicit_tls_refuses_a_certificate_for_another_name() {
        let server = SmtpServer::new();
        let port = tls_front(server.start()).await;
        // The certificate names `localhost`, not 127.0.0.1.
        let mailer = SmtpMailer::build(config("127.0.0.1", port, true), true, test_roots).unwrap();
        let err = mailer.send(&email(0)).await.unwrap_err();
        assert!(matches!(err, MailError::Transient(_)), "{err:?}");
        assert!(err.to_string().contains("TLS"), "{err}");
        assert_eq!(server.connections(), 0);
    }

    #[tokio::test]
    async fn implicit_tls_trusts_only_the_webpki_roots() {
        let server = SmtpServer::new();
        let port = tls_front(server.start()).await;
        let mailer =
            SmtpMailer::build(config("localhost", port, true), true, webpki_roots).unwrap();
        let err = mailer.send(&email(0)).await.unwrap_err();
        assert!(matches!(err, MailError::Transient(_)), "{err:?}");
        assert_eq!(server.connections(), 0);
    }

    #[tokio::test]
    async fn implicit_tls_to_a_plain_text_server_fails_as_transient() {
        let server = SmtpServer::new();
        let addr = server.start();
        let mailer =
            SmtpMailer::build(config("localhost", addr.port(), true), true, test_roots).unwrap();
        let err = mailer.send(&email(0)).await.unwrap_err();
        assert!(matches!(err, MailError::Transient(_)), "{err:?}");
        assert_eq!(server.received(), 0);
    }

    #[tokio::test]
    async fn port_465_means_implicit_tls() {
        let mailer = SmtpMailer::new(config("smtp.example.org", 465, true)).unwrap();
        assert!(matches!(mailer.relay.security, Security::Implicit(..)));
        let mailer = SmtpMailer::new(config("smtp.example.org", 587, true)).unwrap();
        assert!(matches!(mailer.relay.security, Security::StartTls(_)));
        let mailer = SmtpMailer::new(config("smtp.example.org", 465, false)).unwrap();
        assert!(matches!(mailer.relay.security, Security::Plain));
        // Not a name a certificate can be checked against.
        assert!(matches!(
            SmtpMailer::new(config("smtp example", 587, true)),
            Err(MailError::Permanent(_))
        ));
    }

    #[tokio::test]
    async fn a_connection_the_server_closed_is_noticed_before_anything_is_sent_over_it() {
        let server = SmtpServer::new();
        let mailer = SmtpMailer::new(config("127.0.0.1", server.start().port(), false)).unwrap();
        mailer.send(&email(0)).await.unwrap();
        server.drop_connections();
        // The server's FIN may take a moment to arrive.
        let deadline = Instant::now() + Duration::from_secs(5);
        while let Some(pooled) = mailer.take_idle() {
            mailer.lock_idle().push(pooled);
            assert!(
                Instant::now() < deadline,
                "the closed connection still looks usable"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(mailer.lock_idle().is_empty());
    }

    #[tokio::test]
    async fn a_connection_idle_for_too_long_is_not_reused() {
        let server = SmtpServer::new();
        let mut mailer =
            SmtpMailer::new(config("127.0.0.1", server.start().port(), false)).unwrap();
        Arc::get_mut(&mut mailer.relay).unwrap().max_idle_for = Duration::ZERO;
        mailer.send(&email(0)).await.unwrap();
        mailer.send(&email(1)).await.unwrap();
        assert_eq!(server.received(), 2);
        assert_eq!(server.connections(), 2);
    }

    #[tokio::test]
    async fn a_connection_carries_a_limited_number_of_messages() {
        let server = SmtpServer::new();
        let mailer = SmtpMailer::new(config("127.0.0.1", server.start().port(), false)).unwrap();
        let n = MAX_MESSAGES_PER_CONNECTION as usize + 1;
        for i in 0..n {
            mailer.send(&email(i)).await.unwrap();
        }
        assert_eq!(server.received(), n);
        assert_eq!(server.connections(), 2);
    }

    #[tokio::test]
    async fn the_pool_keeps_a_few_idle_connections_at_most() {
        let server = SmtpServer::new();
        let mailer = SmtpMailer::new(config("127.0.0.1", server.start().port(), false)).unwrap();
        let mut pooled = Vec::new();
        for _ in 0..MAX_IDLE + 2 {
            pooled.push(mailer.connect().await.unwrap());
        }
        for p in pooled {
            mailer.put_back(p);
        }
        assert_eq!(mailer.lock_idle().len(), MAX_IDLE);
    }
}
