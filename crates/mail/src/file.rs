//! Writes each message as an `.eml` file: the embedded profile's "outbox".

use crate::{MailFrom, message};
use kernel::mail::{Email, MailError, Mailer};
use lettre::{AsyncFileTransport, AsyncTransport, Tokio1Executor};
use std::path::{Path, PathBuf};

/// Writes every message as `<uuid>.eml` (RFC 5322, as it would go over the wire) under a
/// directory, which is created on first use. Open the files with any mail client.
#[derive(Clone, Debug)]
pub struct FileMailer {
    dir: PathBuf,
    from: MailFrom,
}

impl FileMailer {
    /// A mailer writing to `dir` on behalf of `from`.
    pub fn new(dir: PathBuf, from: MailFrom) -> Self {
        Self { dir, from }
    }

    /// The directory the `.eml` files are written to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Mailer for FileMailer {
    async fn send(&self, email: &Email) -> Result<(), MailError> {
        let message = message::build(&self.from, email)?;
        tokio::fs::create_dir_all(&self.dir).await.map_err(|e| {
            MailError::Transient(format!("cannot create {}: {e}", self.dir.display()))
        })?;
        let id = AsyncFileTransport::<Tokio1Executor>::new(&self.dir)
            .send(message)
            .await
            .map_err(|e| MailError::Transient(format!("cannot write message: {e}")))?;
        tracing::info!(path = %self.dir.join(format!("{id}.eml")).display(), "mail written to file");
        Ok(())
    }
}
