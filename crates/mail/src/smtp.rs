//! Sends through an SMTP relay with lettre (rustls, webpki roots).

use crate::{MailFrom, message};
use kernel::mail::{Email, MailError, Mailer};
use lettre::transport::smtp::{self, authentication::Credentials};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};
use std::fmt;
use std::time::Duration;

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

/// Sends each message over a new connection to an SMTP relay.
///
/// Errors: a refused mailbox (550, 551, 553) or a malformed recipient address is
/// [`MailError::Refused`]; another 5xx reply is [`MailError::Permanent`]; a 4xx reply, a
/// refused or timed-out connection, or a TLS failure is [`MailError::Transient`]. A send that
/// times out after the server received the data may be delivered twice when retried.
#[derive(Clone)]
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: MailFrom,
    host: String,
    port: u16,
    tls: bool,
    timeout: Duration,
}

impl SmtpMailer {
    /// Prepares the transport; nothing is contacted until the first send, and no async runtime
    /// is needed here.
    ///
    /// # Errors
    /// [`MailError::Permanent`] when the sender address is malformed, when `user` is set without
    /// a password, or when `host` cannot be used as a TLS server name.
    pub fn new(cfg: SmtpConfig) -> Result<Self, MailError> {
        message::sender(&cfg.from)?;
        let builder = if !cfg.tls {
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(cfg.host.as_str())
        } else {
            let relay = if cfg.port == 465 {
                AsyncSmtpTransport::<Tokio1Executor>::relay(&cfg.host)
            } else {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&cfg.host)
            };
            relay.map_err(|e| {
                MailError::Permanent(format!("invalid SMTP host {:?}: {e}", cfg.host))
            })?
        };
        let mut builder = builder.port(cfg.port).timeout(Some(cfg.timeout));
        if let Some(user) = cfg.user {
            let password = cfg.password.ok_or_else(|| {
                MailError::Permanent("SMTP user is set but no SMTP password".to_owned())
            })?;
            builder =
                builder.credentials(Credentials::new(user, password.expose_secret().to_owned()));
        }
        Ok(Self {
            transport: builder.build(),
            from: cfg.from,
            host: cfg.host,
            port: cfg.port,
            tls: cfg.tls,
            timeout: cfg.timeout,
        })
    }
}

impl fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("timeout", &self.timeout)
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

impl Mailer for SmtpMailer {
    async fn send(&self, email: &Email) -> Result<(), MailError> {
        let message = message::build(&self.from, email)?;
        // lettre bounds only the TCP connect; bound the whole exchange so that a server that
        // stops answering cannot stall the worker.
        match tokio::time::timeout(self.timeout, self.transport.send(message)).await {
            Ok(sent) => sent.map(drop).map_err(classify),
            Err(_) => Err(MailError::Transient(format!(
                "SMTP: no complete answer from {}:{} within {:?}",
                self.host, self.port, self.timeout
            ))),
        }
    }
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
