//! The outbound mail port.
//!
//! Domains compose an [`Email`]; the worker hands it to a [`Mailer`]. Mail is never sent from
//! inside a request or a database transaction: it is queued as a job in the same transaction
//! as the change that causes it, and the worker sends it.

use serde::{Deserialize, Serialize};
use std::future::Future;

/// The kind of the queued job that sends one [`Email`] (its payload is the email as JSON).
pub const SEND_EMAIL_JOB: &str = "send_email";

/// An address with an optional display name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mailbox {
    pub name: Option<String>,
    pub email: String,
}

impl Mailbox {
    pub fn new(email: impl Into<String>) -> Self {
        Self {
            name: None,
            email: email.into(),
        }
    }
    pub fn named(name: impl Into<String>, email: impl Into<String>) -> Self {
        Self {
            name: Some(name.into()),
            email: email.into(),
        }
    }
}

/// A message ready to send: always a plain-text part, optionally an HTML part.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Email {
    pub to: Mailbox,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
    /// The idempotency key of a message that may be sent twice (a worker killed after the
    /// server accepted it, then the job retried): it becomes the `Message-ID`'s local part, so
    /// both copies are one message to the receiving side. `None`: a fresh id per send.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
}

/// Why a message could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// Worth retrying later: the server is down, busy, or answered 4xx.
    #[error("temporary mail failure: {0}")]
    Transient(String),
    /// Never worth retrying: the message is refused (5xx), or the configuration is wrong.
    #[error("permanent mail failure: {0}")]
    Permanent(String),
    /// Never worth retrying, and the recipient's address should not be written to again: the
    /// mailbox does not exist or the server refuses it (550, 551, 553), or the address is
    /// malformed.
    #[error("recipient refused: {0}")]
    Refused(String),
}

/// Sends one message. Adapters MUST return [`MailError::Permanent`] or [`MailError::Refused`]
/// only when a retry cannot succeed, so the worker parks the job instead of retrying it
/// forever; [`MailError::Refused`] only when the recipient's address itself is refused, since
/// the worker then records the address and no notification email goes to it again.
pub trait Mailer: Send + Sync + 'static {
    fn send(&self, email: &Email) -> impl Future<Output = Result<(), MailError>> + Send;
}
