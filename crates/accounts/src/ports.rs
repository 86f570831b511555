//! What the accounts domain needs from the outside. Store methods are use-case-atomic: each
//! commits as a whole or not at all (an adapter runs each in one transaction), so the domain
//! never sees a transaction.

use crate::model::User;
use chrono::{DateTime, Utc};
use kernel::UserId;
use kernel::mail::Email;
use std::future::Future;

kernel::define_id!(
    /// A signed-in session (one per login); its refresh token rotates, its id stays.
    SessionId
);

/// Store failures. Adapters MUST return `Duplicate` when an email is already taken.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("duplicate")]
    Duplicate,
    #[error("store unavailable: {0}")]
    Unavailable(String),
    #[error("store failure: {0}")]
    Other(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    VerifyEmail,
    ResetPassword,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::VerifyEmail => "verify_email",
            TokenKind::ResetPassword => "reset_password",
        }
    }
}

/// A one-time token to store (only its hash).
#[derive(Clone, Debug)]
pub struct NewToken {
    pub hash: String,
    pub kind: TokenKind,
    pub user_id: UserId,
    pub expires_at: DateTime<Utc>,
}

/// How a session was opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SignInMethod {
    Password,
    Google,
}

impl SignInMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            SignInMethod::Password => "password",
            SignInMethod::Google => "google",
        }
    }
    pub fn parse(s: &str) -> SignInMethod {
        if s == "google" {
            SignInMethod::Google
        } else {
            SignInMethod::Password
        }
    }
}

/// A session as the user's data export and re-authentication see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionInfo {
    pub id: SessionId,
    pub method: SignInMethod,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A new session with its first refresh token (only its hash).
#[derive(Clone, Debug)]
pub struct NewSession {
    pub id: SessionId,
    pub method: SignInMethod,
    pub user_id: UserId,
    pub refresh_hash: String,
    pub expires_at: DateTime<Utc>,
}

/// What presenting a refresh token did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RotateOutcome {
    /// The token was current: it is now spent and the new one replaces it.
    Rotated { session: SessionId, user: UserId },
    /// The token had already been rotated: someone replayed it. The whole session is revoked.
    Reused,
    /// Unknown, expired, or its session was revoked.
    Invalid,
}

/// What presenting a one-time token did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenOutcome {
    Valid(UserId),
    Expired,
    Used,
    Unknown,
}

pub trait AccountStore: Send + Sync + 'static {
    /// Inserts the user, their verification token and email (queued for the worker) when
    /// given, and their first session.
    fn create_user(
        &self,
        user: &User,
        verification: Option<(&NewToken, &Email)>,
        session: &NewSession,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn user_by_google_subject(
        &self,
        subject: &str,
    ) -> impl Future<Output = Result<Option<User>, StoreError>> + Send;
    /// Links a Google identity to an account and marks its email verified (Google verified it).
    fn link_google(
        &self,
        user: UserId,
        subject: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn user_by_email(
        &self,
        email: &str,
    ) -> impl Future<Output = Result<Option<User>, StoreError>> + Send;
    fn user_by_id(
        &self,
        id: UserId,
    ) -> impl Future<Output = Result<Option<User>, StoreError>> + Send;
    /// The user of a session, if the session is live (not revoked, not expired) and the
    /// account active.
    fn session_user(
        &self,
        session: SessionId,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<User>, StoreError>> + Send;
    fn create_session(
        &self,
        s: &NewSession,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Spends the presented refresh token and stores its successor in the same session; a
    /// token already spent revokes the session ([`RotateOutcome::Reused`]).
    fn rotate_refresh(
        &self,
        presented_hash: &str,
        next_hash: &str,
        next_expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<RotateOutcome, StoreError>> + Send;
    fn revoke_session(
        &self,
        user: UserId,
        session: SessionId,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn revoke_all_sessions(
        &self,
        user: UserId,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Stores a one-time token (earlier unused tokens of that kind for that user die) and
    /// queues its email.
    fn issue_token(
        &self,
        token: &NewToken,
        email: &Email,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// What a token is worth, without spending it.
    fn peek_token(
        &self,
        hash: &str,
        kind: TokenKind,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<TokenOutcome, StoreError>> + Send;
    /// Spends a verification token and marks the email verified.
    fn verify_email(
        &self,
        hash: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<TokenOutcome, StoreError>> + Send;
    /// Spends a reset token, sets the password and revokes every session.
    fn reset_password(
        &self,
        hash: &str,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<TokenOutcome, StoreError>> + Send;
    /// Sets the password and revokes every session.
    fn set_password(
        &self,
        user: UserId,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Sets (or clears) the avatar's file key; returns the previous key, whose file the caller
    /// deletes.
    fn set_avatar(
        &self,
        user: UserId,
        key: Option<&str>,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;
    /// Every session of the user, newest first.
    fn sessions_of(
        &self,
        user: UserId,
    ) -> impl Future<Output = Result<Vec<SessionInfo>, StoreError>> + Send;
    /// Erases the account and everything that is only theirs (sessions, tokens); returns the
    /// avatar key, whose file the caller deletes.
    fn delete_user(
        &self,
        user: UserId,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;
    /// Writes the profile fields of `user` (names, phone, locale, preferences).
    fn update_profile(
        &self,
        user: &User,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Password hashing (argon2id in the adapter). `verify` with `None` must cost the same as a
/// real verification (it checks against a dummy hash), so an unknown email and a wrong
/// password take the same time.
pub trait PasswordHasher: Send + Sync + 'static {
    fn hash(&self, password: &str) -> impl Future<Output = Result<String, StoreError>> + Send;
    fn verify(&self, password: &str, hash: Option<&str>) -> impl Future<Output = bool> + Send;
}
