//! Addresses a mail server refused (`email_suppressions`): recorded by the worker when a send
//! fails with [`kernel::mail::MailError::Refused`], read by the notifications dispatcher, which
//! queues no email to them. Keyed by the lower-cased address, not by church: a mailbox that
//! does not exist does not exist for anyone.

use crate::StoreError;
use crate::jobs::{ms, stmt};
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, Value};

/// Records that mail to `email` is refused, with the server's answer. Recording it again keeps
/// the first record.
pub async fn record<C: ConnectionTrait>(
    conn: &C,
    email: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let reason: String = reason.chars().take(500).collect();
    conn.execute_raw(stmt(
        conn.get_database_backend(),
        "INSERT INTO email_suppressions (email, reason, created_at) VALUES (?, ?, ?) \
         ON CONFLICT (email) DO NOTHING",
        vec![
            Value::from(email.trim().to_lowercase()),
            reason.into(),
            ms(now).into(),
        ],
    ))
    .await?;
    Ok(())
}

/// Whether mail to `email` was refused.
pub async fn is_suppressed<C: ConnectionTrait>(conn: &C, email: &str) -> Result<bool, StoreError> {
    let row = conn
        .query_one_raw(stmt(
            conn.get_database_backend(),
            "SELECT 1 AS one FROM email_suppressions WHERE email = ?",
            vec![Value::from(email.trim().to_lowercase())],
        ))
        .await?;
    Ok(row.is_some())
}
