//! A member's personal calendar subscription: a secret URL
//! (`…/calendar/{token}.ics`) that calendar applications fetch without signing in. Only the
//! token's SHA-256 hash is stored; issuing a new one replaces the old (which stops working at
//! once), revoking removes it, and deleting the account removes it with the account.

use crate::ical::feed_calendar;
use crate::time::zone;
use accounts::{Locale, StoreError};
use chrono::{DateTime, Days, Utc};
use kernel::{OrganizationId, UserId};
use rota::RotaStore;
use std::future::Future;
use teams::Viewer;

/// How far back the feed reaches: last month's services stay in the calendar.
pub const FEED_PAST_DAYS: u64 = 30;

/// A feed as its owner may see it (never the token).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeedInfo {
    pub created_at: DateTime<Utc>,
}

/// Whose feed a token opens, with what its calendar needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeedOwner {
    pub user: UserId,
    pub organization: OrganizationId,
    /// The church's IANA zone.
    pub timezone: String,
    pub locale: Locale,
}

/// What the feeds need from a store. One feed per user.
pub trait CalendarFeedStore: Send + Sync + 'static {
    /// Stores `token_hash` as the user's feed, replacing any previous one, in one
    /// transaction. `true` when there was one.
    fn replace(
        &self,
        org: OrganizationId,
        user: UserId,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Removes the user's feed; `true` when there was one.
    fn remove(
        &self,
        org: OrganizationId,
        user: UserId,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    fn info(
        &self,
        org: OrganizationId,
        user: UserId,
    ) -> impl Future<Output = Result<Option<FeedInfo>, StoreError>> + Send;

    /// The owner of the feed with this hash, if it exists and its owner is still in the
    /// church it was made in.
    fn owner(
        &self,
        token_hash: &str,
    ) -> impl Future<Output = Result<Option<FeedOwner>, StoreError>> + Send;
}

#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    /// 404.
    #[error("{0}")]
    NotFound(&'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
}

const NO_CHURCH: &str = "You are not in a church yet: there is no rota to follow.";
const NO_FEED: &str = "There is no such calendar.";

/// A newly issued feed token: shown once, never stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issued {
    pub token: String,
    /// An earlier feed was replaced (its URL no longer works).
    pub replaced: bool,
}

/// The calendar-feed service.
#[derive(Clone)]
pub struct CalendarFeeds<F, R> {
    pub feeds: F,
    pub rota: R,
}

impl<F: CalendarFeedStore, R: RotaStore> CalendarFeeds<F, R> {
    pub fn new(feeds: F, rota: R) -> Self {
        Self { feeds, rota }
    }

    fn org(viewer: &Viewer) -> Result<OrganizationId, FeedError> {
        viewer.organization.ok_or(FeedError::NotFound(NO_CHURCH))
    }

    /// Issues my feed token, replacing any earlier one.
    pub async fn issue(&self, viewer: &Viewer, now: DateTime<Utc>) -> Result<Issued, FeedError> {
        let org = Self::org(viewer)?;
        let token = accounts::secret::generate();
        let replaced = self
            .feeds
            .replace(org, viewer.user, &accounts::secret::hash(&token), now)
            .await?;
        Ok(Issued { token, replaced })
    }

    /// Revokes my feed; `false` when I had none.
    pub async fn revoke(&self, viewer: &Viewer) -> Result<bool, FeedError> {
        match viewer.organization {
            Some(org) => Ok(self.feeds.remove(org, viewer.user).await?),
            None => Ok(false),
        }
    }

    /// Whether I have a feed, and since when.
    pub async fn info(&self, viewer: &Viewer) -> Result<Option<FeedInfo>, FeedError> {
        match viewer.organization {
            Some(org) => Ok(self.feeds.info(org, viewer.user).await?),
            None => Ok(None),
        }
    }

    /// The calendar a feed token opens: its owner's assignments on published rotas from
    /// [`FEED_PAST_DAYS`] ago on, across departments. An unknown, replaced or revoked token is
    /// [`FeedError::NotFound`].
    pub async fn calendar(&self, token: &str, now: DateTime<Utc>) -> Result<String, FeedError> {
        let token = token.trim();
        // Issued tokens are 43 URL-safe characters; anything else cannot be one.
        if token.is_empty()
            || token.len() > 64
            || !token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(FeedError::NotFound(NO_FEED));
        }
        let owner = self
            .feeds
            .owner(&accounts::secret::hash(token))
            .await?
            .ok_or(FeedError::NotFound(NO_FEED))?;
        let today = now.with_timezone(&zone(&owner.timezone)).date_naive();
        let from = today
            .checked_sub_days(Days::new(FEED_PAST_DAYS))
            .unwrap_or(today);
        let list = self
            .rota
            .my_assignments(owner.organization, owner.user, from)
            .await?;
        Ok(feed_calendar(&list, &owner.timezone, owner.locale, now))
    }
}
