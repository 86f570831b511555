//! The accounts domain: who may sign up, how passwords are judged, how sessions rotate, what
//! the account emails say. Pure rules behind ports: the store, the password hasher and the
//! clock are the caller's.
//!
//! * [`policy`] — email normalisation and NIST SP 800-63B password rules;
//! * [`secret`] — one-time tokens and refresh tokens: random, 256 bits, stored only as hashes;
//! * [`emails`] — verification and reset messages in French (default) and English;
//! * [`ports`] — what the domain needs from the outside (use-case-atomic store methods);
//! * [`service`] — the operations the API calls.

pub mod emails;
pub mod model;
pub mod policy;
pub mod ports;
pub mod secret;
pub mod service;

pub use model::{Locale, NotificationPrefs, ProfilePatch, Role, User};
pub use ports::{
    AccountStore, NewSession, NewToken, PasswordHasher, RotateOutcome, SessionId, SessionInfo,
    SignInMethod, StoreError, TokenKind, TokenOutcome,
};
pub use service::{
    AccountError, Accounts, AccountsConfig, ExternalIdentity, IssuedSession, RegisterInput,
};

/// The worker job that looks an account up by email and sends it a reset link (payload
/// `{"email": …}`); queued by "forgot password" so that the request does the same work
/// whether or not the account exists.
pub const PASSWORD_RESET_JOB: &str = "password_reset_request";
