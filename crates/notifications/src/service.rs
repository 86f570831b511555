//! The operations the worker and the API call.

use crate::email::{EmailConfig, emails_for};
use crate::model::{ListQuery, NotificationId, Page};
use crate::ports::{NotificationStore, StoreError};
use crate::rules::{plan, wanted};
use chrono::{DateTime, Utc};
use kernel::{OrganizationId, UserId};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum NotificationError {
    #[error("notification not found")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a dispatch did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DispatchStats {
    pub events: u64,
    pub notifications: u64,
    /// Emails queued (one queued by an earlier run of the same batch is not queued again).
    pub emails: u64,
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
