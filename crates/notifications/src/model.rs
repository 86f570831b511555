//! Notifications as stored and listed.

use chrono::{DateTime, TimeZone, Utc};
use kernel::{OrganizationId, UserId};
use serde::Serialize;
use uuid::Uuid;

kernel::define_id!(
    /// One notification in a user's inbox.
    NotificationId
);

/// A notification to write, produced by [`crate::plan`].
#[derive(Clone, Debug, PartialEq)]
pub struct NewNotification {
    pub organization: OrganizationId,
    pub user: UserId,
    /// The outbox event it comes from: with `user`, its idempotency key (a dispatch run twice
    /// writes it once).
    pub event: Option<Uuid>,
    /// The notification's type: the event kind it comes from (`rota.published`…).
    pub kind: String,
    pub title: String,
    pub body: String,
    /// A front-end path (`/fr/dashboard/plannings/{id}`).
    pub link: Option<String>,
    /// The ids the front end needs (`planningId`, `assignmentId`…), camelCase.
    pub data: serde_json::Value,
}

/// A notification as the inbox shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Notification {
    pub id: NotificationId,
    pub kind: String,
    pub title: String,
    pub body: String,
    pub link: Option<String>,
    pub data: serde_json::Value,
    pub read_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// Where a page of the inbox starts: after the notification with this creation time and id
/// (newest first). Shown to clients as an opaque string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub created_at_ms: i64,
    pub id: Uuid,
}

impl Cursor {
    pub fn after(n: &Notification) -> Self {
        Self {
            created_at_ms: n.created_at.timestamp_millis(),
            id: n.id.as_uuid(),
        }
    }

    pub fn encode(&self) -> String {
        format!("{}_{}", self.created_at_ms, self.id.simple())
    }

    /// `None` for anything [`Cursor::encode`] did not produce.
    pub fn decode(s: &str) -> Option<Self> {
        let (ms, id) = s.split_once('_')?;
        let created_at_ms: i64 = ms.parse().ok()?;
        Utc.timestamp_millis_opt(created_at_ms).single()?;
        let id = Uuid::try_parse(id).ok()?;
        Some(Self { created_at_ms, id })
    }
}

/// Where a live connection's reading of the inbox starts (oldest first).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Since {
    /// After this notification (by creation time, then id). Stores return the notification
    /// itself first, when the user has it, so a single statement tells an unknown id apart.
    Id(NotificationId),
    /// Created at or after this instant (milliseconds since the epoch).
    Time { created_at_ms: i64 },
}

/// One request for a page of the inbox.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListQuery {
    pub unread_only: bool,
    pub after: Option<Cursor>,
    /// 1..=[`crate::MAX_PAGE`].
    pub limit: u32,
}

/// A page of the inbox, newest first.
#[derive(Clone, Debug, PartialEq)]
pub struct Page {
    pub items: Vec<Notification>,
    /// Where the next page starts, when there may be one.
    pub next: Option<Cursor>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn cursor_round_trips_and_refuses_garbage() {
        let c = Cursor {
            created_at_ms: 1_790_000_000_123,
            id: Uuid::now_v7(),
        };
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
        for bad in [
            "",
            "_",
            "12",
            "abc_def",
            "1_not-a-uuid",
            "99999999999999999999_x",
        ] {
            assert_eq!(Cursor::decode(bad), None, "{bad}");
        }
    }
}
