//! A real SMTP server for tests (feature `testing`), used by this crate's tests and by the
//! worker's (mail waits while the server is down and goes out once when it is back).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use mailin::{Action, Handler, Response, SessionBuilder};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A message the server accepted.
#[derive(Clone, Debug, Default)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    pub data: Vec<u8>,
}

/// A real SMTP server (mailin's protocol state machine behind a std TCP listener, one thread
/// per connection) for tests. It counts the connections it accepted and can close them, for the
/// tests of the SMTP mailer's connection pool. An idle connection is closed after 10 s.
#[derive(Clone)]
pub struct SmtpServer {
    /// Reply to every RCPT TO, e.g. 550 or 451; `None` accepts.
    pub rcpt_reply: Option<(u16, &'static str)>,
    /// Required AUTH PLAIN credentials, if any.
    pub auth: Option<(&'static str, &'static str)>,
    inbox: Arc<Mutex<Vec<Received>>>,
    current: Received,
    /// Reply to the next RCPT TO on any connection, once (see `reply_to_next_rcpt`).
    next_rcpt_reply: Arc<Mutex<Option<(u16, &'static str)>>>,
    /// Connections accepted so far.
    accepted: Arc<AtomicUsize>,
    /// The connections open now, by number: a handle to close them and their hang-up flag.
    open: Arc<Mutex<HashMap<usize, Open>>>,
}

/// A connection being served.
struct Open {
    stream: TcpStream,
    /// Set: the connection closes, without a reply, when its next command arrives.
    hang_up: Arc<AtomicBool>,
}

impl Handler for SmtpServer {
    fn mail(&mut self, _ip: IpAddr, _domain: &str, from: &str) -> Response {
        self.current = Received {
            from: from.to_owned(),
            ..Received::default()
        };
        mailin::response::OK
    }

    fn rcpt(&mut self, to: &str) -> Response {
        let once = self.next_rcpt_reply.lock().unwrap().take();
        if let Some((code, text)) = once.or(self.rcpt_reply) {
            return Response::custom(code, text.to_owned());
        }
        self.current.to.push(to.to_owned());
        mailin::response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.current.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        if let Ok(mut inbox) = self.inbox.lock() {
            inbox.push(std::mem::take(&mut self.current));
        }
        mailin::response::OK
    }

    fn auth_plain(&mut self, _authz: &str, user: &str, password: &str) -> Response {
        match self.auth {
            Some(expected) if expected == (user, password) => mailin::response::AUTH_OK,
            _ => mailin::response::INVALID_CREDENTIALS,
        }
    }
}

impl Default for SmtpServer {
    fn default() -> Self {
        Self::new()
    }
}

impl SmtpServer {
    pub fn new() -> Self {
        Self {
            rcpt_reply: None,
            auth: None,
            inbox: Arc::default(),
            current: Received::default(),
            next_rcpt_reply: Arc::default(),
            accepted: Arc::default(),
            open: Arc::default(),
        }
    }

    /// Listens on 127.0.0.1:0 and serves each connection on its own thread.
    pub fn start(&self) -> SocketAddr {
        self.start_on(
            "127.0.0.1:0"
                .parse()
                .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 0))),
        )
        .unwrap_or_else(|e| panic!("cannot start the test SMTP server: {e}"))
    }

    /// Listens on `addr` (e.g. the port a mailer was failing to reach).
    pub fn start_on(&self, addr: SocketAddr) -> std::io::Result<SocketAddr> {
        let listener = TcpListener::bind(addr)?;
        let addr = listener.local_addr()?;
        let mut builder = SessionBuilder::new("smtp.test");
        if self.auth.is_some() {
            builder
                .enable_auth(mailin::AuthMechanism::Plain)
                .insecure_enable_plaintext_auth();
        }
        let handler = self.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let Ok(peer) = stream.peer_addr() else {
                    continue;
                };
                let number = handler.accepted.fetch_add(1, Ordering::SeqCst);
                let hang_up = Arc::new(AtomicBool::new(false));
                if let Ok(handle) = stream.try_clone() {
                    handler.open.lock().unwrap().insert(
                        number,
                        Open {
                            stream: handle,
                            hang_up: hang_up.clone(),
                        },
                    );
                }
                let session = builder.build(peer.ip(), handler.clone());
                let open = handler.open.clone();
                std::thread::spawn(move || {
                    serve(session, &stream, &hang_up);
                    // Closes it even though `open` held a handle to the socket.
                    let _ = stream.shutdown(Shutdown::Both);
                    open.lock().unwrap().remove(&number);
                });
            }
        });
        Ok(addr)
    }

    /// How many messages arrived so far.
    pub fn received(&self) -> usize {
        self.inbox.lock().map(|g| g.len()).unwrap_or_default()
    }

    /// What arrived so far.
    pub fn inbox(&self) -> Vec<Received> {
        self.inbox.lock().map(|g| g.clone()).unwrap_or_default()
    }

    /// How many connections the server accepted so far.
    pub fn connections(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// Replies `code` to the next RCPT TO, on whichever connection, already open or not, it
    /// arrives; later ones are answered as before.
    pub fn reply_to_next_rcpt(&self, code: u16, text: &'static str) {
        *self.next_rcpt_reply.lock().unwrap() = Some((code, text));
    }

    /// Closes every open connection now, as a restarted server or one that timed out idle
    /// connections would (the server goes on accepting new ones).
    pub fn drop_connections(&self) {
        for open in self.open.lock().unwrap().values() {
            let _ = open.stream.shutdown(Shutdown::Both);
        }
    }

    /// Every connection open now closes, without a reply, when its next command arrives: the
    /// client cannot see beforehand that the connection is gone (a server that timed it out
    /// just as the client reused it).
    pub fn hang_up_on_next_command(&self) {
        for open in self.open.lock().unwrap().values() {
            open.hang_up.store(true, Ordering::SeqCst);
        }
    }
}

fn serve(mut session: mailin::Session<SmtpServer>, stream: &TcpStream, hang_up: &AtomicBool) {
    // A reply is written in pieces: without this, Nagle's algorithm and the client's delayed
    // ACK hold each one back ~40 ms (a real server answers at once).
    let _ = stream.set_nodelay(true);
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    if session.greeting().write_to(&mut writer).is_err() {
        return;
    }
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).unwrap_or(0) == 0 || hang_up.load(Ordering::SeqCst) {
            return;
        }
        let response = session.process(&line);
        let written = match response.action {
            Action::Reply | Action::UpgradeTls => response.write_to(&mut writer),
            Action::Close => {
                let _ = response.write_to(&mut writer);
                return;
            }
            Action::NoReply => Ok(()),
        };
        // The connection was closed under it (`drop_connections`) or by the client.
        if written.and_then(|()| writer.flush()).is_err() {
            return;
        }
    }
}
