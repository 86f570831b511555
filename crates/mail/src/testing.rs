//! A real SMTP server for tests (feature `testing`), used by this crate's tests and by the
//! worker's (mail waits while the server is down and goes out once when it is back).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use mailin::{Action, Handler, Response, SessionBuilder};
use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
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
/// per connection) for tests.
#[derive(Clone)]
pub struct SmtpServer {
    /// Reply to every RCPT TO, e.g. 550 or 451; `None` accepts.
    pub rcpt_reply: Option<(u16, &'static str)>,
    /// Required AUTH PLAIN credentials, if any.
    pub auth: Option<(&'static str, &'static str)>,
    inbox: Arc<Mutex<Vec<Received>>>,
    current: Received,
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
        if let Some((code, text)) = self.rcpt_reply {
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
                let session = builder.build(peer.ip(), handler.clone());
                std::thread::spawn(move || serve(session, stream));
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
}

fn serve(mut session: mailin::Session<SmtpServer>, stream: TcpStream) {
    // A reply is written in pieces: without this, Nagle's algorithm and the client's delayed
    // ACK hold each one back ~40 ms (a real server answers at once).
    let _ = stream.set_nodelay(true);
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    session.greeting().write_to(&mut writer).unwrap();
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).unwrap_or(0) == 0 {
            return;
        }
        let response = session.process(&line);
        match response.action {
            Action::Reply | Action::UpgradeTls => response.write_to(&mut writer).unwrap(),
            Action::Close => {
                let _ = response.write_to(&mut writer);
                return;
            }
            Action::NoReply => {}
        }
        writer.flush().unwrap();
    }
}
