//! The account operations.

use crate::emails;
use crate::model::{Locale, NotificationPrefs, ProfilePatch, Role, User};
use crate::policy;
use crate::ports::{
    AccountStore, NewSession, NewToken, PasswordHasher, RotateOutcome, SessionId, SessionInfo,
    SignInMethod, StoreError, TokenKind, TokenOutcome,
};
use crate::secret;
use chrono::{DateTime, Duration, Utc};
use kernel::{UserId, ValidationErrors};

/// Settings the rules need.
#[derive(Clone, Debug)]
pub struct AccountsConfig {
    pub frontend_url: String,
    pub app_name: String,
    /// Lifetime of a refresh token (`REFRESH_TOKEN_EXPIRE_DAYS`).
    pub refresh_ttl: Duration,
    /// Lifetime of an emailed link (24 h).
    pub link_ttl: Duration,
}

/// Why an operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("invalid input")]
    Invalid(ValidationErrors),
    #[error("An account already exists with this email address.")]
    EmailTaken,
    #[error("Incorrect email or password.")]
    BadCredentials,
    #[error("This account has been deactivated. Contact your church's administrator.")]
    Deactivated,
    #[error("This link is invalid.")]
    TokenUnknown,
    #[error("This link has expired. Ask for a new one.")]
    TokenExpired,
    #[error("This link has already been used.")]
    TokenUsed,
    #[error("The session is invalid or has expired. Sign in again.")]
    SessionInvalid,
    #[error(
        "This refresh token was already used; the session has been closed for safety. Sign in again."
    )]
    RefreshReused,
    #[error("The current password is incorrect.")]
    WrongPassword,
    #[error("No such account.")]
    NotFound,
    #[error("Confirm with your password (or sign in with Google again) to delete the account.")]
    ReauthRequired,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A new session: the refresh token in clear (shown once, to the client) and its id.
#[derive(Clone, Debug)]
pub struct IssuedSession {
    pub session_id: SessionId,
    pub refresh_token: String,
    pub refresh_expires_at: DateTime<Utc>,
}

/// Sign-up input, as received.
#[derive(Clone, Debug, Default)]
pub struct RegisterInput {
    pub email: String,
    pub password: String,
    pub first_name: String,
    pub last_name: String,
    pub locale: Option<String>,
    /// The address is already proven (the person followed an invitation sent to it): the
    /// account starts verified and no verification email is sent.
    pub email_verified: bool,
}

/// An identity an OpenID provider vouched for (signature, issuer, audience and a verified
/// email already checked by the adapter).
#[derive(Clone, Debug)]
pub struct ExternalIdentity {
    pub subject: String,
    pub email: String,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
}

/// The accounts service over its ports.
#[derive(Clone)]
pub struct Accounts<S, H> {
    pub store: S,
    pub hasher: H,
    pub cfg: AccountsConfig,
}

fn invalid(errs: ValidationErrors) -> Result<(), AccountError> {
    errs.into_result().map_err(AccountError::Invalid)
}

fn token_error(o: TokenOutcome) -> AccountError {
    match o {
        TokenOutcome::Expired => AccountError::TokenExpired,
        TokenOutcome::Used => AccountError::TokenUsed,
        TokenOutcome::Unknown | TokenOutcome::Valid(_) => AccountError::TokenUnknown,
    }
}

impl<S: AccountStore, H: PasswordHasher> Accounts<S, H> {
    pub fn new(store: S, hasher: H, cfg: AccountsConfig) -> Self {
        Self { store, hasher, cfg }
    }

    fn new_session(&self, user: UserId, now: DateTime<Utc>) -> (NewSession, IssuedSession) {
        self.new_session_by(user, SignInMethod::Password, now)
    }

    fn new_session_by(
        &self,
        user: UserId,
        method: SignInMethod,
        now: DateTime<Utc>,
    ) -> (NewSession, IssuedSession) {
        let token = secret::generate();
        let id = SessionId::new();
        let expires_at = now + self.cfg.refresh_ttl;
        (
            NewSession {
                id,
                method,
                user_id: user,
                refresh_hash: secret::hash(&token),
                expires_at,
            },
            IssuedSession {
                session_id: id,
                refresh_token: token,
                refresh_expires_at: expires_at,
            },
        )
    }

    fn new_token(&self, user: UserId, kind: TokenKind, now: DateTime<Utc>) -> (NewToken, String) {
        let token = secret::generate();
        (
            NewToken {
                hash: secret::hash(&token),
                kind,
                user_id: user,
                expires_at: now + self.cfg.link_ttl,
            },
            token,
        )
    }

    /// Creates the account, queues its verification email and opens its first session.
    pub async fn register(
        &self,
        input: RegisterInput,
        now: DateTime<Utc>,
    ) -> Result<(User, IssuedSession), AccountError> {
        let email = policy::normalize_email(&input.email);
        let mut errs = ValidationErrors::new();
        policy::check_email("email", &email, &mut errs);
        policy::check_password("password", &input.password, &email, &mut errs);
        policy::check_name("firstName", &input.first_name, &mut errs);
        policy::check_name("lastName", &input.last_name, &mut errs);
        let locale = match input.locale.as_deref() {
            None | Some("") => Locale::Fr,
            Some(l) => policy::check_locale("locale", l, &mut errs).unwrap_or_default(),
        };
        invalid(errs)?;
        let password_hash = self.hasher.hash(&input.password).await?;
        let user = User {
            id: UserId::new(),
            email,
            first_name: input.first_name.trim().to_string(),
            last_name: input.last_name.trim().to_string(),
            phone: None,
            locale,
            avatar_key: None,
            is_email_verified: input.email_verified,
            is_active: true,
            organization_id: None,
            role: Role::Member,
            notification_prefs: NotificationPrefs::default(),
            password_hash: Some(password_hash),
            google_subject: None,
            created_at: now,
            updated_at: now,
        };
        let (token, clear) = self.new_token(user.id, TokenKind::VerifyEmail, now);
        let mail = emails::verification(&user, &self.cfg.frontend_url, &self.cfg.app_name, &clear);
        let verification = (!user.is_email_verified).then_some((&token, &mail));
        let (session, issued) = self.new_session(user.id, now);
        match self.store.create_user(&user, verification, &session).await {
            Ok(()) => Ok((user, issued)),
            Err(StoreError::Duplicate) => Err(AccountError::EmailTaken),
            Err(e) => Err(e.into()),
        }
    }

    /// Checks the password (an unknown email costs the same as a wrong password) and opens a
    /// session.
    pub async fn login(
        &self,
        email: &str,
        password: &str,
        now: DateTime<Utc>,
    ) -> Result<(User, IssuedSession), AccountError> {
        let email = policy::normalize_email(email);
        let user = self.store.user_by_email(&email).await?;
        let hash = user.as_ref().and_then(|u| u.password_hash.as_deref());
        let ok = self.hasher.verify(password, hash).await;
        let Some(user) = user.filter(|_| ok) else {
            return Err(AccountError::BadCredentials);
        };
        if !user.is_active {
            return Err(AccountError::Deactivated);
        }
        let (session, issued) = self.new_session(user.id, now);
        self.store.create_session(&session, now).await?;
        Ok((user, issued))
    }

    /// Signs in with Google: the account with this Google subject; else the account with
    /// this (Google-verified) email, which gets linked; else a new account, email verified and
    /// without a password. Returns whether the account was created.
    pub async fn google_sign_in(
        &self,
        id: ExternalIdentity,
        now: DateTime<Utc>,
    ) -> Result<(User, IssuedSession, bool), AccountError> {
        let email = policy::normalize_email(&id.email);
        for _ in 0..2 {
            let existing = match self.store.user_by_google_subject(&id.subject).await? {
                Some(u) => Some(u),
                None => match self.store.user_by_email(&email).await? {
                    Some(mut u) => {
                        self.store.link_google(u.id, &id.subject, now).await?;
                        u.google_subject = Some(id.subject.clone());
                        u.is_email_verified = true;
                        Some(u)
                    }
                    None => None,
                },
            };
            if let Some(user) = existing {
                if !user.is_active {
                    return Err(AccountError::Deactivated);
                }
                let (session, issued) = self.new_session_by(user.id, SignInMethod::Google, now);
                self.store.create_session(&session, now).await?;
                return Ok((user, issued, false));
            }
            let name = |v: Option<String>, fallback: &str| {
                v.map(|s| s.trim().chars().take(100).collect::<String>())
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| fallback.to_string())
            };
            let local = email.split('@').next().unwrap_or("-").to_string();
            let user = User {
                id: UserId::new(),
                email: email.clone(),
                first_name: name(id.given_name.clone(), &local),
                last_name: name(id.family_name.clone(), "-"),
                phone: None,
                locale: Locale::Fr,
                avatar_key: None,
                is_email_verified: true,
                is_active: true,
                organization_id: None,
                role: Role::Member,
                notification_prefs: NotificationPrefs::default(),
                password_hash: None,
                google_subject: Some(id.subject.clone()),
                created_at: now,
                updated_at: now,
            };
            let (session, issued) = self.new_session_by(user.id, SignInMethod::Google, now);
            match self.store.create_user(&user, None, &session).await {
                Ok(()) => return Ok((user, issued, true)),
                // A concurrent first sign-in created it: look again.
                Err(StoreError::Duplicate) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(AccountError::Store(StoreError::Other(
            "google sign-in kept colliding".into(),
        )))
    }

    /// Rotates a refresh token.
    pub async fn refresh(
        &self,
        refresh_token: &str,
        now: DateTime<Utc>,
    ) -> Result<(User, IssuedSession), AccountError> {
        let next = secret::generate();
        let expires = now + self.cfg.refresh_ttl;
        match self
            .store
            .rotate_refresh(
                &secret::hash(refresh_token),
                &secret::hash(&next),
                expires,
                now,
            )
            .await?
        {
            RotateOutcome::Rotated { session, user } => {
                let user = self
                    .store
                    .session_user(session, now)
                    .await?
                    .filter(|u| u.id == user)
                    .ok_or(AccountError::SessionInvalid)?;
                Ok((
                    user,
                    IssuedSession {
                        session_id: session,
                        refresh_token: next,
                        refresh_expires_at: expires,
                    },
                ))
            }
            RotateOutcome::Reused => Err(AccountError::RefreshReused),
            RotateOutcome::Invalid => Err(AccountError::SessionInvalid),
        }
    }

    /// The user of a live session (used to authenticate every request).
    pub async fn session_user(
        &self,
        session: SessionId,
        now: DateTime<Utc>,
    ) -> Result<User, AccountError> {
        self.store
            .session_user(session, now)
            .await?
            .ok_or(AccountError::SessionInvalid)
    }

    pub async fn logout(
        &self,
        user: UserId,
        session: SessionId,
        now: DateTime<Utc>,
    ) -> Result<(), AccountError> {
        Ok(self.store.revoke_session(user, session, now).await?)
    }

    pub async fn logout_all(&self, user: UserId, now: DateTime<Utc>) -> Result<(), AccountError> {
        Ok(self.store.revoke_all_sessions(user, now).await?)
    }

    pub async fn verify_email(&self, token: &str, now: DateTime<Utc>) -> Result<(), AccountError> {
        match self.store.verify_email(&secret::hash(token), now).await? {
            TokenOutcome::Valid(_) => Ok(()),
            other => Err(token_error(other)),
        }
    }

    /// Sends a new verification link (the old one dies). Already verified: nothing to do.
    pub async fn resend_verification(
        &self,
        user: &User,
        now: DateTime<Utc>,
    ) -> Result<bool, AccountError> {
        if user.is_email_verified {
            return Ok(false);
        }
        let (token, clear) = self.new_token(user.id, TokenKind::VerifyEmail, now);
        let mail = emails::verification(user, &self.cfg.frontend_url, &self.cfg.app_name, &clear);
        self.store.issue_token(&token, &mail, now).await?;
        Ok(true)
    }

    /// Sends a reset link if an active account has this email; does nothing otherwise. Runs in
    /// the worker, so the API answers the same way, in the same time, whether or not the
    /// account exists.
    pub async fn send_password_reset(
        &self,
        email: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, AccountError> {
        let email = policy::normalize_email(email);
        let Some(user) = self
            .store
            .user_by_email(&email)
            .await?
            .filter(|u| u.is_active)
        else {
            return Ok(false);
        };
        let (token, clear) = self.new_token(user.id, TokenKind::ResetPassword, now);
        let mail =
            emails::password_reset(&user, &self.cfg.frontend_url, &self.cfg.app_name, &clear);
        self.store.issue_token(&token, &mail, now).await?;
        Ok(true)
    }

    /// Sets a new password from an emailed link; every session is revoked.
    pub async fn reset_password(
        &self,
        token: &str,
        new_password: &str,
        now: DateTime<Utc>,
    ) -> Result<(), AccountError> {
        let hash = secret::hash(token);
        let user_id = match self
            .store
            .peek_token(&hash, TokenKind::ResetPassword, now)
            .await?
        {
            TokenOutcome::Valid(u) => u,
            other => return Err(token_error(other)),
        };
        let user = self
            .store
            .user_by_id(user_id)
            .await?
            .ok_or(AccountError::TokenUnknown)?;
        let mut errs = ValidationErrors::new();
        policy::check_password("newPassword", new_password, &user.email, &mut errs);
        invalid(errs)?;
        let pw = self.hasher.hash(new_password).await?;
        match self.store.reset_password(&hash, &pw, now).await? {
            TokenOutcome::Valid(_) => Ok(()),
            other => Err(token_error(other)),
        }
    }

    /// Changes the password of a signed-in user: every session is revoked and a new one opened
    /// for the caller, so this device stays signed in.
    pub async fn change_password(
        &self,
        user: &User,
        current: &str,
        new_password: &str,
        now: DateTime<Utc>,
    ) -> Result<IssuedSession, AccountError> {
        if user.password_hash.is_some()
            && !self
                .hasher
                .verify(current, user.password_hash.as_deref())
                .await
        {
            return Err(AccountError::WrongPassword);
        }
        let mut errs = ValidationErrors::new();
        policy::check_password("newPassword", new_password, &user.email, &mut errs);
        invalid(errs)?;
        let pw = self.hasher.hash(new_password).await?;
        self.store.set_password(user.id, &pw, now).await?;
        let (session, issued) = self.new_session(user.id, now);
        self.store.create_session(&session, now).await?;
        Ok(issued)
    }

    /// Sets or clears the avatar; returns the updated user and the previous file key.
    pub async fn set_avatar(
        &self,
        mut user: User,
        key: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<(User, Option<String>), AccountError> {
        let previous = self.store.set_avatar(user.id, key.as_deref(), now).await?;
        user.avatar_key = key;
        user.updated_at = now;
        Ok((user, previous))
    }

    /// Every session of the user, for their data export.
    pub async fn sessions(&self, user: UserId) -> Result<Vec<SessionInfo>, AccountError> {
        Ok(self.store.sessions_of(user).await?)
    }

    /// Erases the account (GDPR). The user confirms with their password, or — for an account
    /// without one — with a Google sign-in less than 10 minutes old in this session. Returns
    /// the avatar's file key for the caller to delete.
    pub async fn delete_account(
        &self,
        user: &User,
        session: SessionId,
        password: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, AccountError> {
        let confirmed = match (password, user.password_hash.as_deref()) {
            (Some(p), Some(_)) => {
                if !self.hasher.verify(p, user.password_hash.as_deref()).await {
                    return Err(AccountError::WrongPassword);
                }
                true
            }
            _ => self.store.sessions_of(user.id).await?.iter().any(|s| {
                s.id == session
                    && s.method == SignInMethod::Google
                    && now - s.created_at <= Duration::minutes(10)
            }),
        };
        if !confirmed {
            return Err(AccountError::ReauthRequired);
        }
        Ok(self.store.delete_user(user.id).await?)
    }

    /// Applies a profile change after validating every field.
    pub async fn update_profile(
        &self,
        mut user: User,
        patch: ProfilePatch,
        now: DateTime<Utc>,
    ) -> Result<User, AccountError> {
        let mut errs = ValidationErrors::new();
        if let Some(f) = &patch.first_name {
            policy::check_name("firstName", f, &mut errs);
            user.first_name = f.trim().to_string();
        }
        if let Some(l) = &patch.last_name {
            policy::check_name("lastName", l, &mut errs);
            user.last_name = l.trim().to_string();
        }
        match &patch.phone {
            Some(Some(p)) if !p.trim().is_empty() => {
                user.phone = policy::normalize_phone("phone", p, &mut errs)
            }
            Some(_) => user.phone = None,
            None => {}
        }
        if let Some(l) = &patch.locale
            && let Some(l) = policy::check_locale("locale", l, &mut errs)
        {
            user.locale = l;
        }
        if let Some(prefs) = patch.notification_prefs {
            if prefs.0.len() > 50 || prefs.0.values().any(|v| !v.is_boolean()) {
                errs.add(
                    "notificationPreferences",
                    "invalid",
                    "Preferences are a map of notification types to true or false.",
                );
            }
            user.notification_prefs = prefs;
        }
        invalid(errs)?;
        user.updated_at = now;
        self.store.update_profile(&user, now).await?;
        Ok(user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::NewSession;
    use kernel::mail::Email;
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    #[derive(Default)]
    struct Mem {
        users: HashMap<UserId, User>,
        tokens: HashMap<String, (NewToken, bool)>,
        sessions: HashMap<SessionId, (UserId, bool)>,
        refresh: HashMap<String, (SessionId, DateTime<Utc>, bool)>,
        methods: HashMap<SessionId, SignInMethod>,
        outbox: Vec<Email>,
    }

    #[derive(Clone, Default)]
    struct MemStore(Arc<Mutex<Mem>>);

    impl AccountStore for MemStore {
        async fn create_user(
            &self,
            user: &User,
            verification: Option<(&NewToken, &Email)>,
            session: &NewSession,
        ) -> Result<(), StoreError> {
            let mut m = self.0.lock().unwrap();
            if m.users.values().any(|u| u.email == user.email) {
                return Err(StoreError::Duplicate);
            }
            m.users.insert(user.id, user.clone());
            if let Some((token, email)) = verification {
                m.tokens.insert(token.hash.clone(), (token.clone(), false));
                m.outbox.push(email.clone());
            }
            m.sessions.insert(session.id, (session.user_id, false));
            m.methods.insert(session.id, session.method);
            m.refresh.insert(
                session.refresh_hash.clone(),
                (session.id, session.expires_at, false),
            );
            Ok(())
        }
        async fn user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
            Ok(self
                .0
                .lock()
                .unwrap()
                .users
                .values()
                .find(|u| u.email == email)
                .cloned())
        }
        async fn user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
            Ok(self.0.lock().unwrap().users.get(&id).cloned())
        }
        async fn user_by_google_subject(&self, subject: &str) -> Result<Option<User>, StoreError> {
            Ok(self
                .0
                .lock()
                .unwrap()
                .users
                .values()
                .find(|u| u.google_subject.as_deref() == Some(subject))
                .cloned())
        }
        async fn link_google(
            &self,
            user: UserId,
            subject: &str,
            _now: DateTime<Utc>,
        ) -> Result<(), StoreError> {
            if let Some(u) = self.0.lock().unwrap().users.get_mut(&user) {
                u.google_subject = Some(subject.to_string());
                u.is_email_verified = true;
            }
            Ok(())
        }
        async fn session_user(
            &self,
            session: SessionId,
            _now: DateTime<Utc>,
        ) -> Result<Option<User>, StoreError> {
            let m = self.0.lock().unwrap();
            Ok(match m.sessions.get(&session) {
                Some((u, false)) => m.users.get(u).filter(|u| u.is_active).cloned(),
                _ => None,
            })
        }
        async fn create_session(
            &self,
            s: &NewSession,
            _now: DateTime<Utc>,
        ) -> Result<(), StoreError> {
            let mut m = self.0.lock().unwrap();
            m.sessions.insert(s.id, (s.user_id, false));
            m.methods.insert(s.id, s.method);
            m.refresh
                .insert(s.refresh_hash.clone(), (s.id, s.expires_at, false));
            Ok(())
        }
        async fn rotate_refresh(
            &self,
            presented: &str,
            next: &str,
            exp: DateTime<Utc>,
            now: DateTime<Utc>,
        ) -> Result<RotateOutcome, StoreError> {
            let mut m = self.0.lock().unwrap();
            let Some((sid, expires, used)) = m.refresh.get(presented).cloned() else {
                return Ok(RotateOutcome::Invalid);
            };
            if used {
                if let Some(s) = m.sessions.get_mut(&sid) {
                    s.1 = true;
                }
                return Ok(RotateOutcome::Reused);
            }
            let Some((user, false)) = m.sessions.get(&sid).cloned() else {
                return Ok(RotateOutcome::Invalid);
            };
            if expires <= now {
                return Ok(RotateOutcome::Invalid);
            }
            m.refresh
                .insert(presented.to_string(), (sid, expires, true));
            m.refresh.insert(next.to_string(), (sid, exp, false));
            Ok(RotateOutcome::Rotated { session: sid, user })
        }
        async fn revoke_session(
            &self,
            _u: UserId,
            s: SessionId,
            _now: DateTime<Utc>,
        ) -> Result<(), StoreError> {
            if let Some(x) = self.0.lock().unwrap().sessions.get_mut(&s) {
                x.1 = true;
            }
            Ok(())
        }
        async fn revoke_all_sessions(
            &self,
            u: UserId,
            _now: DateTime<Utc>,
        ) -> Result<(), StoreError> {
            for x in self
                .0
                .lock()
                .unwrap()
                .sessions
                .values_mut()
                .filter(|x| x.0 == u)
            {
                x.1 = true;
            }
            Ok(())
        }
        async fn issue_token(
            &self,
            token: &NewToken,
            email: &Email,
            _now: DateTime<Utc>,
        ) -> Result<(), StoreError> {
            let mut m = self.0.lock().unwrap();
            for (t, used) in m.tokens.values_mut() {
                if t.user_id == token.user_id && t.kind == token.kind {
                    *used = true;
                }
            }
            m.tokens.insert(token.hash.clone(), (token.clone(), false));
            m.outbox.push(email.clone());
            Ok(())
        }
        async fn peek_token(
            &self,
            hash: &str,
            kind: TokenKind,
            now: DateTime<Utc>,
        ) -> Result<TokenOutcome, StoreError> {
            let m = self.0.lock().unwrap();
            Ok(match m.tokens.get(hash) {
                Some((t, _)) if t.kind != kind => TokenOutcome::Unknown,
                Some((_, true)) => TokenOutcome::Used,
                Some((t, false)) if t.expires_at <= now => TokenOutcome::Expired,
                Some((t, false)) => TokenOutcome::Valid(t.user_id),
                None => TokenOutcome::Unknown,
            })
        }
        async fn verify_email(
            &self,
            hash: &str,
            now: DateTime<Utc>,
        ) -> Result<TokenOutcome, StoreError> {
            let o = self.peek_token(hash, TokenKind::VerifyEmail, now).await?;
            if let TokenOutcome::Valid(u) = o {
                let mut m = self.0.lock().unwrap();
                if let Some(t) = m.tokens.get_mut(hash) {
                    t.1 = true;
                }
                if let Some(u) = m.users.get_mut(&u) {
                    u.is_email_verified = true;
                }
            }
            Ok(o)
        }
        async fn reset_password(
            &self,
            hash: &str,
            pw: &str,
            now: DateTime<Utc>,
        ) -> Result<TokenOutcome, StoreError> {
            let o = self.peek_token(hash, TokenKind::ResetPassword, now).await?;
            if let TokenOutcome::Valid(u) = o {
                if let Some(t) = self.0.lock().unwrap().tokens.get_mut(hash) {
                    t.1 = true;
                }
                self.set_password(u, pw, now).await?;
            }
            Ok(o)
        }
        async fn set_password(
            &self,
            u: UserId,
            pw: &str,
            now: DateTime<Utc>,
        ) -> Result<(), StoreError> {
            if let Some(user) = self.0.lock().unwrap().users.get_mut(&u) {
                user.password_hash = Some(pw.to_string());
            }
            self.revoke_all_sessions(u, now).await
        }
        async fn set_avatar(
            &self,
            u: UserId,
            key: Option<&str>,
            _now: DateTime<Utc>,
        ) -> Result<Option<String>, StoreError> {
            let mut m = self.0.lock().unwrap();
            let user = m
                .users
                .get_mut(&u)
                .ok_or(StoreError::Other("no user".into()))?;
            Ok(std::mem::replace(
                &mut user.avatar_key,
                key.map(str::to_string),
            ))
        }
        async fn sessions_of(&self, u: UserId) -> Result<Vec<SessionInfo>, StoreError> {
            let m = self.0.lock().unwrap();
            Ok(m.sessions
                .iter()
                .filter(|(_, (owner, _))| *owner == u)
                .map(|(id, (_, revoked))| SessionInfo {
                    id: *id,
                    method: m.methods.get(id).copied().unwrap_or(SignInMethod::Password),
                    created_at: Utc::now(),
                    expires_at: Utc::now() + Duration::days(7),
                    revoked_at: revoked.then(Utc::now),
                })
                .collect())
        }
        async fn delete_user(&self, u: UserId) -> Result<Option<String>, StoreError> {
            let mut m = self.0.lock().unwrap();
            m.sessions.retain(|_, (owner, _)| *owner != u);
            Ok(m.users.remove(&u).and_then(|user| user.avatar_key))
        }
        async fn update_profile(&self, user: &User, _now: DateTime<Utc>) -> Result<(), StoreError> {
            self.0.lock().unwrap().users.insert(user.id, user.clone());
            Ok(())
        }
    }

    /// Reversible "hash" for tests: the real adapter uses argon2id.
    struct PlainHasher;
    impl PasswordHasher for PlainHasher {
        async fn hash(&self, p: &str) -> Result<String, StoreError> {
            Ok(format!("h:{p}"))
        }
        async fn verify(&self, p: &str, h: Option<&str>) -> bool {
            h == Some(format!("h:{p}").as_str())
        }
    }

    fn svc() -> (Accounts<MemStore, PlainHasher>, MemStore) {
        let store = MemStore::default();
        let cfg = AccountsConfig {
            frontend_url: "https://app.test".into(),
            app_name: "MonService".into(),
            refresh_ttl: Duration::days(7),
            link_ttl: Duration::hours(24),
        };
        (Accounts::new(store.clone(), PlainHasher, cfg), store)
    }

    fn input(email: &str) -> RegisterInput {
        RegisterInput {
            email: email.into(),
            password: "correct horse battery".into(),
            first_name: "Marie".into(),
            last_name: "Dupont".into(),
            locale: None,
            email_verified: false,
        }
    }

    fn link_token(email: &Email) -> String {
        email
            .text
            .split("token=")
            .nth(1)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .to_string()
    }

    #[test]
    fn register_login_refresh_reuse() {
        futures_lite(async {
            let (s, store) = svc();
            let now = Utc::now();
            let (user, first) = s.register(input("  Marie@Eglise.FR "), now).await.unwrap();
            assert_eq!(user.email, "marie@eglise.fr");
            assert!(matches!(
                s.register(input("marie@eglise.fr"), now).await,
                Err(AccountError::EmailTaken)
            ));
            assert!(matches!(
                s.login("MARIE@eglise.fr", "wrong password!", now).await,
                Err(AccountError::BadCredentials)
            ));
            assert!(matches!(
                s.login("nobody@eglise.fr", "correct horse battery", now)
                    .await,
                Err(AccountError::BadCredentials)
            ));
            let (_, second) = s
                .login("marie@eglise.fr", "correct horse battery", now)
                .await
                .unwrap();
            assert_ne!(first.session_id, second.session_id);

            let (_, rotated) = s.refresh(&second.refresh_token, now).await.unwrap();
            assert_eq!(rotated.session_id, second.session_id);
            // Replaying the spent token closes the session: even the new token dies.
            assert!(matches!(
                s.refresh(&second.refresh_token, now).await,
                Err(AccountError::RefreshReused)
            ));
            assert!(matches!(
                s.refresh(&rotated.refresh_token, now).await,
                Err(AccountError::SessionInvalid)
            ));
            // The other session is untouched.
            assert!(s.refresh(&first.refresh_token, now).await.is_ok());
            assert_eq!(
                store.0.lock().unwrap().outbox.len(),
                1,
                "one verification email"
            );
        });
    }

    #[test]
    fn an_invited_address_starts_verified_without_a_verification_email() {
        futures_lite(async {
            let (s, store) = svc();
            let mut i = input("invited@b.fr");
            i.email_verified = true;
            let (user, _) = s.register(i, Utc::now()).await.unwrap();
            assert!(user.is_email_verified);
            assert!(store.0.lock().unwrap().outbox.is_empty());
            let (plain, _) = s.register(input("plain@b.fr"), Utc::now()).await.unwrap();
            assert!(!plain.is_email_verified);
            assert_eq!(store.0.lock().unwrap().outbox.len(), 1);
        });
    }

    #[test]
    fn verification_and_reset_links_are_single_use() {
        futures_lite(async {
            let (s, store) = svc();
            let now = Utc::now();
            let (user, session) = s.register(input("a@b.fr"), now).await.unwrap();
            let verify = link_token(&store.0.lock().unwrap().outbox[0]);
            s.verify_email(&verify, now).await.unwrap();
            assert!(matches!(
                s.verify_email(&verify, now).await,
                Err(AccountError::TokenUsed)
            ));
            assert!(matches!(
                s.verify_email("nonsense", now).await,
                Err(AccountError::TokenUnknown)
            ));

            assert!(!s.send_password_reset("unknown@b.fr", now).await.unwrap());
            assert!(s.send_password_reset("A@B.fr", now).await.unwrap());
            let reset = link_token(store.0.lock().unwrap().outbox.last().unwrap());
            assert!(matches!(
                s.reset_password(&reset, "password", now).await,
                Err(AccountError::Invalid(_))
            ));
            let late = now + Duration::hours(25);
            assert!(matches!(
                s.reset_password(&reset, "a new long passphrase", late)
                    .await,
                Err(AccountError::TokenExpired)
            ));
            s.reset_password(&reset, "a new long passphrase", now)
                .await
                .unwrap();
            assert!(matches!(
                s.reset_password(&reset, "another passphrase", now).await,
                Err(AccountError::TokenUsed)
            ));
            // Every session died with the reset; the new password works.
            assert!(s.refresh(&session.refresh_token, now).await.is_err());
            assert!(
                s.login("a@b.fr", "a new long passphrase", now)
                    .await
                    .is_ok()
            );
            assert!(s.session_user(session.session_id, now).await.is_err());
            let _ = user;
        });
    }

    #[test]
    fn invalid_input_names_each_field() {
        futures_lite(async {
            let (s, _) = svc();
            let bad = RegisterInput {
                email: "nope".into(),
                password: "123".into(),
                first_name: " ".into(),
                last_name: "x".repeat(101),
                locale: Some("de".into()),
                email_verified: false,
            };
            let Err(AccountError::Invalid(e)) = s.register(bad, Utc::now()).await else {
                panic!("must be invalid");
            };
            let fields: Vec<_> = e.0.iter().map(|f| f.field.as_str()).collect();
            assert_eq!(
                fields,
                ["email", "password", "firstName", "lastName", "locale"]
            );
        });
    }

    #[test]
    fn google_sign_in_creates_then_finds_and_links_by_email() {
        futures_lite(async {
            let (s, _) = svc();
            let now = Utc::now();
            let id = |sub: &str, email: &str| ExternalIdentity {
                subject: sub.into(),
                email: email.into(),
                given_name: Some("Ada".into()),
                family_name: None,
            };
            let (u, _, created) = s
                .google_sign_in(id("g1", "Ada@Example.com"), now)
                .await
                .unwrap();
            assert!(created && u.is_email_verified && u.password_hash.is_none());
            assert_eq!(
                (u.email.as_str(), u.last_name.as_str()),
                ("ada@example.com", "-")
            );
            let (again, _, created) = s
                .google_sign_in(id("g1", "ada@example.com"), now)
                .await
                .unwrap();
            assert!(!created);
            assert_eq!(again.id, u.id);

            // A password account with the same email is linked, not duplicated.
            let (pw_user, _) = s.register(input("bob@b.fr"), now).await.unwrap();
            let (linked, _, created) = s.google_sign_in(id("g2", "bob@b.fr"), now).await.unwrap();
            assert!(!created && linked.is_email_verified);
            assert_eq!(linked.id, pw_user.id);
            let stored = s.store.user_by_id(pw_user.id).await.unwrap().unwrap();
            assert_eq!(stored.google_subject.as_deref(), Some("g2"));
            assert!(stored.is_email_verified);
        });
    }

    #[test]
    fn deleting_an_account_needs_the_password_or_a_fresh_google_sign_in() {
        futures_lite(async {
            let (s, store) = svc();
            let now = Utc::now();
            let (user, session) = s.register(input("del@b.fr"), now).await.unwrap();
            assert!(matches!(
                s.delete_account(&user, session.session_id, None, now).await,
                Err(AccountError::ReauthRequired)
            ));
            assert!(matches!(
                s.delete_account(&user, session.session_id, Some("nope nope"), now)
                    .await,
                Err(AccountError::WrongPassword)
            ));
            s.delete_account(
                &user,
                session.session_id,
                Some("correct horse battery"),
                now,
            )
            .await
            .unwrap();
            assert!(store.0.lock().unwrap().users.is_empty());

            let g = ExternalIdentity {
                subject: "g".into(),
                email: "g@b.fr".into(),
                given_name: None,
                family_name: None,
            };
            let (guser, gsession, _) = s.google_sign_in(g, now).await.unwrap();
            s.delete_account(&guser, gsession.session_id, None, now)
                .await
                .unwrap();
        });
    }

    #[test]
    fn deactivated_accounts_cannot_sign_in() {
        futures_lite(async {
            let (s, store) = svc();
            let now = Utc::now();
            let (user, _) = s.register(input("d@b.fr"), now).await.unwrap();
            store
                .0
                .lock()
                .unwrap()
                .users
                .get_mut(&user.id)
                .unwrap()
                .is_active = false;
            assert!(matches!(
                s.login("d@b.fr", "correct horse battery", now).await,
                Err(AccountError::Deactivated)
            ));
        });
    }

    /// A minimal executor: the fakes never wait, so polling to completion is enough.
    fn futures_lite<F: std::future::Future<Output = ()>>(f: F) {
        use std::task::{Context, Poll, Waker};
        let mut f = std::pin::pin!(f);
        let mut cx = Context::from_waker(Waker::noop());
        loop {
            if let Poll::Ready(()) = f.as_mut().poll(&mut cx) {
                return;
            }
        }
    }
}
