//! Mail adapters for [`kernel::mail::Mailer`]: `.eml` files on disk (embedded profile), SMTP
//! through lettre, and a recording mailer for tests.
//!
//! Pick one at start-up and wrap it in [`AnyMailer`], which dispatches statically.

mod file;
mod message;
mod recording;
mod smtp;
#[cfg(feature = "testing")]
pub mod testing;

pub use file::FileMailer;
pub use recording::{FailureKind, RecordingMailer};
pub use smtp::{SmtpConfig, SmtpMailer};

use kernel::mail::{Email, MailError, Mailer};

/// The sender of every message (`SMTP_FROM_NAME` / `SMTP_FROM_EMAIL`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailFrom {
    /// Display name, e.g. `MonService`; may be empty.
    pub name: String,
    /// Address, e.g. `no-reply@example.org`.
    pub email: String,
}

/// One of the mail adapters, chosen from configuration.
#[derive(Clone, Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "built once at start-up; static dispatch without boxing"
)]
pub enum AnyMailer {
    /// Writes `.eml` files (embedded profile, development).
    File(FileMailer),
    /// Sends through an SMTP relay.
    Smtp(SmtpMailer),
    /// Keeps messages in memory (tests).
    Recording(RecordingMailer),
}

impl Mailer for AnyMailer {
    async fn send(&self, email: &Email) -> Result<(), MailError> {
        match self {
            Self::File(m) => m.send(email).await,
            Self::Smtp(m) => m.send(email).await,
            Self::Recording(m) => m.send(email).await,
        }
    }
}

impl From<FileMailer> for AnyMailer {
    fn from(m: FileMailer) -> Self {
        Self::File(m)
    }
}

impl From<SmtpMailer> for AnyMailer {
    fn from(m: SmtpMailer) -> Self {
        Self::Smtp(m)
    }
}

impl From<RecordingMailer> for AnyMailer {
    fn from(m: RecordingMailer) -> Self {
        Self::Recording(m)
    }
}
