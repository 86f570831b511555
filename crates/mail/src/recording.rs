//! Keeps messages in memory, for tests.

use kernel::mail::{Email, MailError, Mailer};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// Which error [`RecordingMailer::fail_next`] makes sends return.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureKind {
    /// [`MailError::Transient`]: the worker should retry.
    Transient,
    /// [`MailError::Permanent`]: the worker should give up.
    Permanent,
    /// [`MailError::Refused`]: the recipient's address is refused.
    Refused,
}

#[derive(Debug, Default)]
struct State {
    deliveries: Vec<Email>,
    failures: Vec<FailureKind>,
}

/// Records every message it is asked to send. Clones share the same record, so keep one clone
/// in the test and hand another to the code under test.
#[derive(Clone, Debug, Default)]
pub struct RecordingMailer {
    state: Arc<Mutex<State>>,
}

impl RecordingMailer {
    /// An empty recorder.
    pub fn new() -> Self {
        Self::default()
    }

    /// The messages sent so far, oldest first (failed sends are not included).
    pub fn deliveries(&self) -> Vec<Email> {
        self.lock().deliveries.clone()
    }

    /// Forgets the messages sent so far.
    pub fn clear(&self) {
        self.lock().deliveries.clear();
    }

    /// Makes the next `n` sends fail with an error of the given kind, without recording them.
    /// Adds to failures already scheduled.
    pub fn fail_next(&self, n: usize, kind: FailureKind) {
        self.lock().failures.extend(std::iter::repeat_n(kind, n));
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A test that panicked while holding the lock cannot leave the record half-written.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Mailer for RecordingMailer {
    async fn send(&self, email: &Email) -> Result<(), MailError> {
        let mut state = self.lock();
        if state.failures.is_empty() {
            state.deliveries.push(email.clone());
            return Ok(());
        }
        let reason = format!("simulated failure sending to {}", email.to.email);
        match state.failures.remove(0) {
            FailureKind::Transient => Err(MailError::Transient(reason)),
            FailureKind::Permanent => Err(MailError::Permanent(reason)),
            FailureKind::Refused => Err(MailError::Refused(reason)),
        }
    }
}
