//! The operations the worker and the API call.

use crate::email::{EmailConfig, emails_for};
use crate::model::{ListQuery, Notification, NotificationId, Page, Since};
use crate::ports::{NotificationStore, StoreError};
use crate::rules::{plan, wanted};
use chrono::{DateTime, Utc};
use kernel::{OrganizationId, UserId};
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum NotificationError {
    #[error("notification not found")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a dispatch did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DispatchStats {
    pub events: u64,
    pub notifications: u64,
    /// Emails queued (one queued by an earlier run of the same batch is not queued again).
    pub emails: u64,
    /// Who was sent notifications (each once, in the order first met), for the live push to
    /// wake. A notification the store skipped as already written still names its user: an
    /// extra wake-up is harmless.
    pub recipients: Vec<(OrganizationId, UserId)>,
}

/// What [`Notifications::newer`] found.
#[derive(Clone, Debug, PartialEq)]
pub struct Newer {
    /// When the notification named by [`Since::Id`] was created.
    pub anchor_created_at: Option<DateTime<Utc>>,
    /// Oldest first.
    pub items: Vec<Notification>,
}

/// The notifications service.
pub struct Notifications<S> {
    store: Arc<S>,
    email: Arc<EmailConfig>,
}

impl<S> Clone for Notifications<S> {
    fn clone(&self) -> Self {
        Self {
            store: self.store.clone(),
            email: self.email.clone(),
        }
    }
}

impl<S: NotificationStore> Notifications<S> {
    /// In-app notifications only.
    pub fn new(store: Arc<S>) -> Self {
        Self::with_email(store, EmailConfig::disabled())
    }

    /// In-app notifications, and email by preference when `email.enabled`.
    pub fn with_email(store: Arc<S>, email: EmailConfig) -> Self {
        Self {
            store,
            email: Arc::new(email),
        }
    }

    pub fn email_config(&self) -> &EmailConfig {
        &self.email
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    /// Turns pending outbox events into notifications (and the emails their recipients want),
    /// `batch` events per transaction, until none is pending. Safe to run concurrently and again: see [`NotificationStore::deliver`].
    pub async fn dispatch(
        &self,
        batch: u64,
        now: DateTime<Utc>,
    ) -> Result<DispatchStats, StoreError> {
        let mut stats = DispatchStats::default();
        let mut seen = std::collections::HashSet::new();
        let batch = batch.max(1);
        loop {
            let events = self.store.pending(batch).await?;
            if events.is_empty() {
                return Ok(stats);
            }
            let (users, depts) = wanted(&events);
            let r = self.store.recipients(&users, &depts).await?;
            let notes = plan(&events, &r);
            let emails = emails_for(&notes, &r, &self.email);
            let ids: Vec<_> = events.iter().map(|e| e.id).collect();
            let d = self.store.deliver(&notes, &emails, &ids, now).await?;
            stats.notifications += d.notifications;
            stats.emails += d.emails;
            for n in &notes {
                let who = (n.organization, n.user);
                if seen.insert(who) {
                    stats.recipients.push(who);
                }
            }
            stats.events += ids.len() as u64;
            if (events.len() as u64) < batch {
                return Ok(stats);
            }
        }
    }

    pub async fn list(
        &self,
        org: OrganizationId,
        user: UserId,
        q: ListQuery,
    ) -> Result<Page, NotificationError> {
        let q = ListQuery {
            limit: q.limit.clamp(1, crate::MAX_PAGE),
            ..q
        };
        Ok(self.store.list(org, user, q).await?)
    }

    /// The user's notifications newer than `since`, oldest first, at most `limit` (clamped to
    /// 1..=[`crate::MAX_PAGE`]): what a live connection sends on a wake-up or a resume.
    /// [`NotificationError::NotFound`] when `since` names a notification the user does not have
    /// (another user's, a pruned or an unknown one).
    pub async fn newer(
        &self,
        org: OrganizationId,
        user: UserId,
        since: Since,
        limit: u32,
    ) -> Result<Newer, NotificationError> {
        let limit = limit.clamp(1, crate::MAX_PAGE);
        match since {
            Since::Id(id) => {
                // The store returns the anchor itself first when the user has it.
                let mut items = self.store.newer(org, user, since, limit + 1).await?;
                if items.first().is_none_or(|n| n.id != id) {
                    return Err(NotificationError::NotFound);
                }
                let anchor = items.remove(0);
                Ok(Newer {
                    anchor_created_at: Some(anchor.created_at),
                    items,
                })
            }
            Since::Time { .. } => Ok(Newer {
                anchor_created_at: None,
                items: self.store.newer(org, user, since, limit).await?,
            }),
        }
    }

    /// What [`Notifications::newer`] with [`Since::Time`] returns, for many users at once in
    /// one read: for each (church, user, instant in ms), the user's notifications created at
    /// or after the instant, oldest first, at most `limit` per user (clamped to
    /// 1..=[`crate::MAX_PAGE`]). A user named twice is read from the earlier instant; a user
    /// with nothing new is absent from the map.
    pub async fn newer_for(
        &self,
        wants: &[(OrganizationId, UserId, i64)],
        limit: u32,
    ) -> Result<HashMap<(OrganizationId, UserId), Vec<Notification>>, NotificationError> {
        let mut from: HashMap<(OrganizationId, UserId), i64> = HashMap::new();
        for &(org, user, ms) in wants {
            from.entry((org, user))
                .and_modify(|m| *m = (*m).min(ms))
                .or_insert(ms);
        }
        if from.is_empty() {
            return Ok(HashMap::new());
        }
        let wants: Vec<_> = from.into_iter().map(|((o, u), ms)| (o, u, ms)).collect();
        let limit = limit.clamp(1, crate::MAX_PAGE);
        Ok(self.store.newer_for(&wants, limit).await?)
    }

    pub async fn unread_count(
        &self,
        org: OrganizationId,
        user: UserId,
    ) -> Result<u64, NotificationError> {
        Ok(self.store.unread_count(org, user).await?)
    }

    pub async fn mark_read(
        &self,
        org: OrganizationId,
        user: UserId,
        id: NotificationId,
        now: DateTime<Utc>,
    ) -> Result<(), NotificationError> {
        if self.store.mark_read(org, user, id, now).await? {
            Ok(())
        } else {
            Err(NotificationError::NotFound)
        }
    }

    pub async fn mark_all_read(
        &self,
        org: OrganizationId,
        user: UserId,
        now: DateTime<Utc>,
    ) -> Result<u64, NotificationError> {
        Ok(self.store.mark_all_read(org, user, now).await?)
    }

    /// Every notification of the user, oldest first, for the personal data export.
    pub async fn all_of(
        &self,
        org: OrganizationId,
        user: UserId,
    ) -> Result<Vec<crate::Notification>, NotificationError> {
        Ok(self.store.all_of(org, user).await?)
    }

    /// Deletes notifications read more than `keep_days` days ago.
    pub async fn prune(&self, keep_days: u32, now: DateTime<Utc>) -> Result<u64, StoreError> {
        self.store
            .prune_read(now - chrono::Duration::days(i64::from(keep_days)))
            .await
    }
}
