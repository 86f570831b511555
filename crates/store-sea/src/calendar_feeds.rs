//! [`exports::CalendarFeedStore`] on sea-orm: one row per user in `calendar_feeds`, holding
//! only the token's SHA-256 hash. Rows go with their user or church (ON DELETE CASCADE).

use crate::jobs::{from_ms, ms};
use crate::sql::{decode_one, err, exec, one};
use accounts::{Locale, StoreError};
use chrono::{DateTime, Utc};
use exports::{CalendarFeedStore, FeedInfo, FeedOwner};
use kernel::{OrganizationId, UserId};
use sea_orm::{DatabaseConnection, FromQueryResult, TransactionTrait};
use uuid::Uuid;

/// The calendar-feed store.
#[derive(Clone, Debug)]
pub struct SeaCalendarFeeds {
    conn: DatabaseConnection,
}

impl SeaCalendarFeeds {
    pub fn new(conn: DatabaseConnection) -> Self {
        Self { conn }
    }
}

#[derive(FromQueryResult)]
struct InfoRow {
    created_at: i64,
}

#[derive(FromQueryResult)]
struct OwnerRow {
    user_id: Uuid,
    organization_id: Uuid,
    timezone: String,
    locale: String,
}

impl CalendarFeedStore for SeaCalendarFeeds {
    async fn replace(
        &self,
        org: OrganizationId,
        user: UserId,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let tx = self.conn.begin().await.map_err(err)?;
        let existed = one(
            &tx,
            "SELECT created_at FROM calendar_feeds WHERE user_id = ? AND organization_id = ?",
            vec![user.as_uuid().into(), org.as_uuid().into()],
        )
        .await?
        .is_some();
        // An upsert, so two requests at once both succeed (the later token wins).
        let n = exec(
            &tx,
            "INSERT INTO calendar_feeds (user_id, organization_id, token_hash, created_at) \
             VALUES (?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET \
             token_hash = excluded.token_hash, created_at = excluded.created_at \
             WHERE calendar_feeds.organization_id = excluded.organization_id",
            vec![
                user.as_uuid().into(),
                org.as_uuid().into(),
                token_hash.into(),
                ms(now).into(),
            ],
        )
        .await?;
        if n != 1 {
            return Err(StoreError::Other(
                "calendar feed of a user in another church".into(),
            ));
        }
        tx.commit().await.map_err(err)?;
        Ok(existed)
    }

    async fn remove(&self, org: OrganizationId, user: UserId) -> Result<bool, StoreError> {
        let n = exec(
            &self.conn,
            "DELETE FROM calendar_feeds WHERE user_id = ? AND organization_id = ?",
            vec![user.as_uuid().into(), org.as_uuid().into()],
        )
        .await?;
        Ok(n > 0)
    }

    async fn info(
        &self,
        org: OrganizationId,
        user: UserId,
    ) -> Result<Option<FeedInfo>, StoreError> {
        let row = one(
            &self.conn,
            "SELECT created_at FROM calendar_feeds WHERE user_id = ? AND organization_id = ?",
            vec![user.as_uuid().into(), org.as_uuid().into()],
        )
        .await?;
        decode_one(row, |r: InfoRow| {
            Ok(FeedInfo {
                created_at: from_ms(r.created_at),
            })
        })
    }

    async fn owner(&self, token_hash: &str) -> Result<Option<FeedOwner>, StoreError> {
        // The church comes from the feed row, and every join is held to it.
        let row = one(
            &self.conn,
            "SELECT f.user_id, f.organization_id, o.timezone, u.locale FROM calendar_feeds f \
             JOIN users u ON u.id = f.user_id AND u.organization_id = f.organization_id \
             JOIN organizations o ON o.id = f.organization_id \
             WHERE f.token_hash = ?",
            vec![token_hash.into()],
        )
        .await?;
        decode_one(row, |r: OwnerRow| {
            Ok(FeedOwner {
                user: UserId(r.user_id),
                organization: OrganizationId(r.organization_id),
                timezone: r.timezone,
                locale: Locale::parse(&r.locale).unwrap_or_default(),
            })
        })
    }
}
