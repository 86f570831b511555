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
}

/// Why a message could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// Worth retrying later: the server is down, busy, or answered 4xx.
    #[error("temporary mail failure: {0}")]
    Transient(String),
    /// Never worth retrying: the address or the message is refused (5xx), or is malformed.
    #[error("permanent mail failure: {0}")]
    Permanent(String),
}

/// Sends one message. Adapters MUST return [`MailError::Permanent`] only when a retry cannot
/// succeed, so the worker parks the job instead of retrying it forever.
pub trait Mailer: Send + Sync + 'static {
    fn send(&self, email: &Email) -> impl Future<Output = Result<(), MailError>> + Send;
}
