//! [`accounts::AccountStore`] on sea-orm. Each method is one transaction; emails are queued in
//! the same transaction as the change that causes them, and the workers are woken after the
//! commit.

use crate::jobs::{enqueue_email, from_ms, ms, stmt};
use crate::sql::{err, exec};
use accounts::ports::{NewSession, NewToken, SessionId, SessionInfo, SignInMethod};
use accounts::{
    AccountStore, Locale, NotificationPrefs, Role, RotateOutcome, StoreError, TokenKind,
    TokenOutcome, User,
};
use chrono::{DateTime, Utc};
use kernel::mail::Email;
use kernel::{OrganizationId, UserId};
use kv::Wakeup;
use sea_orm::{ConnectionTrait, DatabaseConnection, FromQueryResult, TransactionTrait, Value};
use uuid::Uuid;

/// The accounts store.
#[derive(Clone, Debug)]
pub struct SeaAccounts {
    conn: DatabaseConnection,
    wakeup: Wakeup,
}

impl SeaAccounts {
    pub fn new(conn: DatabaseConnection, wakeup: Wakeup) -> Self {
        Self { conn, wakeup }
    }
}

const USER_COLUMNS: &str = "u.id, u.email, u.password_hash, u.first_name, u.last_name, u.phone, \
    u.locale, u.avatar_key, u.is_email_verified, u.is_active, u.organization_id, u.role, \
    u.notification_prefs, u.google_subject, u.created_at, u.updated_at";

#[derive(FromQueryResult)]
struct UserRow {
    id: Uuid,
    email: String,
    password_hash: Option<String>,
    first_name: String,
    last_name: String,
    phone: Option<String>,
    locale: String,
    avatar_key: Option<String>,
    is_email_verified: bool,
    is_active: bool,
    organization_id: Option<Uuid>,
    role: String,
    notification_prefs: String,
    google_subject: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl UserRow {
    fn into_user(self) -> Result<User, StoreError> {
        Ok(User {
            id: UserId::from(self.id),
            email: self.email,
            first_name: self.first_name,
            last_name: self.last_name,
            phone: self.phone,
            locale: Locale::parse(&self.locale).unwrap_or_default(),
            avatar_key: self.avatar_key,
            is_email_verified: self.is_email_verified,
            is_active: self.is_active,
            organization_id: self.organization_id.map(OrganizationId::from),
            role: Role::parse(&self.role)
                .ok_or_else(|| StoreError::Other(format!("user role {:?}", self.role)))?,
            notification_prefs: serde_json::from_str::<NotificationPrefs>(&self.notification_prefs)
                .unwrap_or_default(),
            password_hash: self.password_hash,
            google_subject: self.google_subject,
            created_at: from_ms(self.created_at),
            updated_at: from_ms(self.updated_at),
        })
    }
}

/// The user's avatar key: `None` when there is no such user, `Some(None)` without an avatar.
async fn avatar_key_of<C: ConnectionTrait>(
    c: &C,
    user: UserId,
) -> Result<Option<Option<String>>, StoreError> {
    let row = c
        .query_one_raw(stmt(
            c.get_database_backend(),
            "SELECT avatar_key FROM users WHERE id = ?",
            vec![user.as_uuid().into()],
        ))
        .await
        .map_err(err)?;
    match row {
        Some(r) => Ok(Some(r.try_get("", "avatar_key").map_err(err)?)),
        None => Ok(None),
    }
}

async fn insert_session<C: ConnectionTrait>(
    c: &C,
    s: &NewSession,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    exec(
        c,
        "INSERT INTO sessions (id, user_id, method, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
        vec![
            s.id.as_uuid().into(),
            s.user_id.as_uuid().into(),
            s.method.as_str().into(),
            ms(now).into(),
            ms(s.expires_at).into(),
        ],
    )
    .await?;
    exec(
        c,
        "INSERT INTO refresh_tokens (hash, session_id, expires_at, created_at) VALUES (?, ?, ?, ?)",
        vec![
            s.refresh_hash.clone().into(),
            s.id.as_uuid().into(),
            ms(s.expires_at).into(),
            ms(now).into(),
        ],
    )
    .await?;
    Ok(())
}

async fn insert_token<C: ConnectionTrait>(
    c: &C,
    t: &NewToken,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    // Earlier unused links of the same kind die: only the newest works.
    exec(
        c,
        "UPDATE one_time_tokens SET used_at = ? WHERE user_id = ? AND kind = ? AND used_at IS NULL",
        vec![
            ms(now).into(),
            t.user_id.as_uuid().into(),
            t.kind.as_str().into(),
        ],
    )
    .await?;
    exec(c, "INSERT INTO one_time_tokens (hash, user_id, kind, expires_at, created_at) VALUES (?, ?, ?, ?, ?)", vec![
            t.hash.clone().into(),
            t.user_id.as_uuid().into(),
            t.kind.as_str().into(),
            ms(t.expires_at).into(),
            ms(now).into(),
        ]).await?;
    Ok(())
}

/// Reads a token; with `spend`, marks it used in the same statement sequence (the caller's
/// transaction makes the pair atomic).
async fn take_token<C: ConnectionTrait>(
    c: &C,
    hash: &str,
    kind: TokenKind,
    now: DateTime<Utc>,
    spend: bool,
) -> Result<TokenOutcome, StoreError> {
    let b = c.get_database_backend();
    let row = c
        .query_one_raw(stmt(
            b,
            "SELECT user_id, kind, expires_at, used_at FROM one_time_tokens WHERE hash = ?",
            vec![hash.into()],
        ))
        .await
        .map_err(err)?;
    let Some(row) = row else {
        return Ok(TokenOutcome::Unknown);
    };
    let user: Uuid = row.try_get("", "user_id").map_err(err)?;
    let k: String = row.try_get("", "kind").map_err(err)?;
    let expires: i64 = row.try_get("", "expires_at").map_err(err)?;
    let used: Option<i64> = row.try_get("", "used_at").map_err(err)?;
    if k != kind.as_str() {
        return Ok(TokenOutcome::Unknown);
    }
    if used.is_some() {
        return Ok(TokenOutcome::Used);
    }
    if expires <= ms(now) {
        return Ok(TokenOutcome::Expired);
    }
    if spend {
        // Guarded update: of two concurrent spends, exactly one succeeds.
        let res = exec(
            c,
            "UPDATE one_time_tokens SET used_at = ? WHERE hash = ? AND used_at IS NULL",
            vec![ms(now).into(), hash.into()],
        )
        .await?;
        if res != 1 {
            return Ok(TokenOutcome::Used);
        }
    }
    Ok(TokenOutcome::Valid(UserId::from(user)))
}

async fn set_password_and_revoke<C: ConnectionTrait>(
    c: &C,
    user: UserId,
    hash: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    exec(
        c,
        "UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?",
        vec![hash.into(), ms(now).into(), user.as_uuid().into()],
    )
    .await?;
    revoke_all(c, user, now).await
}

async fn revoke_all<C: ConnectionTrait>(
    c: &C,
    user: UserId,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    exec(
        c,
        "UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
        vec![ms(now).into(), user.as_uuid().into()],
    )
    .await?;
    Ok(())
}

impl SeaAccounts {
    async fn one_user(&self, sql: &str, values: Vec<Value>) -> Result<Option<User>, StoreError> {
        let row = self
            .conn
            .query_one_raw(stmt(self.conn.get_database_backend(), sql, values))
            .await
            .map_err(err)?;
        match row {
            Some(r) => UserRow::from_query_result(&r, "")
                .map_err(err)?
                .into_user()
                .map(Some),
            None => Ok(None),
        }
    }
}

impl AccountStore for SeaAccounts {
    async fn create_user(
        &self,
        user: &User,
        verification: Option<(&NewToken, &Email)>,
        session: &NewSession,
    ) -> Result<(), StoreError> {
        let tx = self.conn.begin().await.map_err(err)?;
        exec(
            &tx,
            "INSERT INTO users (id, email, password_hash, first_name, last_name, phone, locale, \
             avatar_key, is_email_verified, is_active, organization_id, role, notification_prefs, \
             google_subject, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            vec![
                user.id.as_uuid().into(),
                user.email.clone().into(),
                user.password_hash.clone().into(),
                user.first_name.clone().into(),
                user.last_name.clone().into(),
                user.phone.clone().into(),
                user.locale.as_str().into(),
                user.avatar_key.clone().into(),
                user.is_email_verified.into(),
                user.is_active.into(),
                user.organization_id.map(|o| o.as_uuid()).into(),
                user.role.as_str().into(),
                serde_json::to_string(&user.notification_prefs)
                    .unwrap_or_else(|_| "{}".into())
                    .into(),
                user.google_subject.clone().into(),
                ms(user.created_at).into(),
                ms(user.updated_at).into(),
            ],
        )
        .await?;
        if let Some((token, email)) = verification {
            insert_token(&tx, token, user.created_at).await?;
            enqueue_email(&tx, email, user.created_at)
                .await
                .map_err(err)?;
        }
        insert_session(&tx, session, user.created_at).await?;
        tx.commit().await.map_err(err)?;
        if verification.is_some() {
            self.wakeup.notify().await;
        }
        Ok(())
    }

    async fn user_by_google_subject(&self, subject: &str) -> Result<Option<User>, StoreError> {
        self.one_user(
            &format!("SELECT {USER_COLUMNS} FROM users u WHERE u.google_subject = ?"),
            vec![subject.into()],
        )
        .await
    }

    async fn link_google(
        &self,
        user: UserId,
        subject: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        exec(&self.conn, "UPDATE users SET google_subject = ?, is_email_verified = ?, updated_at = ? WHERE id = ?", vec![subject.into(), true.into(), ms(now).into(), user.as_uuid().into()]).await?;
        Ok(())
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        self.one_user(
            &format!("SELECT {USER_COLUMNS} FROM users u WHERE u.email = ?"),
            vec![email.into()],
        )
        .await
    }

    async fn user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
        self.one_user(
            &format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = ?"),
            vec![id.as_uuid().into()],
        )
        .await
    }

    async fn session_user(
        &self,
        session: SessionId,
        now: DateTime<Utc>,
    ) -> Result<Option<User>, StoreError> {
        // One statement: the session must be live and the account active.
        self.one_user(
            &format!(
                "SELECT {USER_COLUMNS} FROM sessions s JOIN users u ON u.id = s.user_id \
                 WHERE s.id = ? AND s.revoked_at IS NULL AND s.expires_at > ? AND u.is_active = ?"
            ),
            vec![session.as_uuid().into(), ms(now).into(), true.into()],
        )
        .await
    }

    async fn create_session(&self, s: &NewSession, now: DateTime<Utc>) -> Result<(), StoreError> {
        let tx = self.conn.begin().await.map_err(err)?;
        insert_session(&tx, s, now).await?;
        tx.commit().await.map_err(err)
    }

    async fn rotate_refresh(
        &self,
        presented_hash: &str,
        next_hash: &str,
        next_expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<RotateOutcome, StoreError> {
        let tx = self.conn.begin().await.map_err(err)?;
        let b = tx.get_database_backend();
        let row = tx
            .query_one_raw(stmt(
                b,
                "SELECT r.session_id, r.expires_at, r.used_at, s.user_id, s.revoked_at, s.expires_at AS session_expires \
                 FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id WHERE r.hash = ?",
                vec![presented_hash.into()],
            ))
            .await
            .map_err(err)?;
        let Some(row) = row else {
            return Ok(RotateOutcome::Invalid);
        };
        let session: Uuid = row.try_get("", "session_id").map_err(err)?;
        let expires: i64 = row.try_get("", "expires_at").map_err(err)?;
        let used: Option<i64> = row.try_get("", "used_at").map_err(err)?;
        let user: Uuid = row.try_get("", "user_id").map_err(err)?;
        let revoked: Option<i64> = row.try_get("", "revoked_at").map_err(err)?;
        if revoked.is_some() || expires <= ms(now) {
            return Ok(RotateOutcome::Invalid);
        }
        // Spend the token; a token already spent (here, or by a concurrent request) is a
        // replay: close the whole session.
        let spent = exec(
            &tx,
            "UPDATE refresh_tokens SET used_at = ? WHERE hash = ? AND used_at IS NULL",
            vec![ms(now).into(), presented_hash.into()],
        )
        .await?;
        if used.is_some() || spent != 1 {
            exec(
                &tx,
                "UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                vec![ms(now).into(), session.into()],
            )
            .await?;
            tx.commit().await.map_err(err)?;
            return Ok(RotateOutcome::Reused);
        }
        exec(&tx, "INSERT INTO refresh_tokens (hash, session_id, expires_at, created_at) VALUES (?, ?, ?, ?)", vec![next_hash.into(), session.into(), ms(next_expires_at).into(), ms(now).into()]).await?;
        exec(
            &tx,
            "UPDATE sessions SET expires_at = ? WHERE id = ?",
            vec![ms(next_expires_at).into(), session.into()],
        )
        .await?;
        tx.commit().await.map_err(err)?;
        Ok(RotateOutcome::Rotated {
            session: SessionId::from(session),
            user: UserId::from(user),
        })
    }

    async fn revoke_session(
        &self,
        user: UserId,
        session: SessionId,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        exec(&self.conn, "UPDATE sessions SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL", vec![ms(now).into(), session.as_uuid().into(), user.as_uuid().into()]).await?;
        Ok(())
    }

    async fn revoke_all_sessions(
        &self,
        user: UserId,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        revoke_all(&self.conn, user, now).await
    }

    async fn issue_token(
        &self,
        token: &NewToken,
        email: &Email,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let tx = self.conn.begin().await.map_err(err)?;
        insert_token(&tx, token, now).await?;
        enqueue_email(&tx, email, now).await.map_err(err)?;
        tx.commit().await.map_err(err)?;
        self.wakeup.notify().await;
        Ok(())
    }

    async fn peek_token(
        &self,
        hash: &str,
        kind: TokenKind,
        now: DateTime<Utc>,
    ) -> Result<TokenOutcome, StoreError> {
        take_token(&self.conn, hash, kind, now, false).await
    }

    async fn verify_email(
        &self,
        hash: &str,
        now: DateTime<Utc>,
    ) -> Result<TokenOutcome, StoreError> {
        let tx = self.conn.begin().await.map_err(err)?;
        let outcome = take_token(&tx, hash, TokenKind::VerifyEmail, now, true).await?;
        if let TokenOutcome::Valid(user) = &outcome {
            exec(
                &tx,
                "UPDATE users SET is_email_verified = ?, updated_at = ? WHERE id = ?",
                vec![true.into(), ms(now).into(), user.as_uuid().into()],
            )
            .await?;
        }
        tx.commit().await.map_err(err)?;
        Ok(outcome)
    }

    async fn reset_password(
        &self,
        hash: &str,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<TokenOutcome, StoreError> {
        let tx = self.conn.begin().await.map_err(err)?;
        let outcome = take_token(&tx, hash, TokenKind::ResetPassword, now, true).await?;
        if let TokenOutcome::Valid(user) = &outcome {
            set_password_and_revoke(&tx, *user, password_hash, now).await?;
        }
        tx.commit().await.map_err(err)?;
        Ok(outcome)
    }

    async fn set_password(
        &self,
        user: UserId,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let tx = self.conn.begin().await.map_err(err)?;
        set_password_and_revoke(&tx, user, password_hash, now).await?;
        tx.commit().await.map_err(err)
    }

    async fn set_avatar(
        &self,
        user: UserId,
        key: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, StoreError> {
        let tx = self.conn.begin().await.map_err(err)?;
        let previous = avatar_key_of(&tx, user)
            .await?
            .ok_or_else(|| StoreError::Other("no such user".into()))?;
        exec(
            &tx,
            "UPDATE users SET avatar_key = ?, updated_at = ? WHERE id = ?",
            vec![
                key.map(str::to_string).into(),
                ms(now).into(),
                user.as_uuid().into(),
            ],
        )
        .await?;
        tx.commit().await.map_err(err)?;
        Ok(previous)
    }

    async fn sessions_of(&self, user: UserId) -> Result<Vec<SessionInfo>, StoreError> {
        let rows = self
            .conn
            .query_all_raw(stmt(
                self.conn.get_database_backend(),
                "SELECT id, method, created_at, expires_at, revoked_at FROM sessions \
                 WHERE user_id = ? ORDER BY created_at DESC",
                vec![user.as_uuid().into()],
            ))
            .await
            .map_err(err)?;
        rows.iter()
            .map(|r| {
                let id: Uuid = r.try_get("", "id").map_err(err)?;
                let method: String = r.try_get("", "method").map_err(err)?;
                let created: i64 = r.try_get("", "created_at").map_err(err)?;
                let expires: i64 = r.try_get("", "expires_at").map_err(err)?;
                let revoked: Option<i64> = r.try_get("", "revoked_at").map_err(err)?;
                Ok(SessionInfo {
                    id: SessionId::from(id),
                    method: SignInMethod::parse(&method),
                    created_at: from_ms(created),
                    expires_at: from_ms(expires),
                    revoked_at: revoked.map(from_ms),
                })
            })
            .collect()
    }

    async fn delete_user(&self, user: UserId) -> Result<Option<String>, StoreError> {
        // Sessions, refresh tokens and one-time tokens go with the row (ON DELETE CASCADE).
        let tx = self.conn.begin().await.map_err(err)?;
        let avatar = avatar_key_of(&tx, user).await?.flatten();
        // A refused-address record is about this person's address: it goes with them.
        exec(
            &tx,
            "DELETE FROM email_suppressions WHERE email IN (SELECT email FROM users WHERE id = ?)",
            vec![user.as_uuid().into()],
        )
        .await?;
        exec(
            &tx,
            "DELETE FROM users WHERE id = ?",
            vec![user.as_uuid().into()],
        )
        .await?;
        tx.commit().await.map_err(err)?;
        Ok(avatar)
    }

    async fn update_profile(&self, user: &User, now: DateTime<Utc>) -> Result<(), StoreError> {
        exec(
            &self.conn,
            "UPDATE users SET first_name = ?, last_name = ?, phone = ?, locale = ?, \
                 notification_prefs = ?, updated_at = ? WHERE id = ?",
            vec![
                user.first_name.clone().into(),
                user.last_name.clone().into(),
                user.phone.clone().into(),
                user.locale.as_str().into(),
                serde_json::to_string(&user.notification_prefs)
                    .unwrap_or_else(|_| "{}".into())
                    .into(),
                ms(now).into(),
                user.id.as_uuid().into(),
            ],
        )
        .await?;
        Ok(())
    }
}
