//! What the notifications domain needs from a store. Every inbox method takes the church and
//! the user and scopes every statement by both.

use crate::model::{ListQuery, NewNotification, NotificationId, Page, Since};
use accounts::Locale;
use chrono::{DateTime, Utc};
use kernel::{DepartmentId, DomainEvent, OrganizationId, UserId};
use std::collections::HashMap;
use std::future::Future;
use uuid::Uuid;

pub use accounts::StoreError;

/// An outbox event not yet processed.
#[derive(Clone, Debug, PartialEq)]
pub struct PendingEvent {
    pub id: Uuid,
    pub event: DomainEvent,
}

/// Who may receive the notifications of a batch.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Recipients {
    /// The active leaders of each department asked for.
    pub leaders: HashMap<(OrganizationId, DepartmentId), Vec<UserId>>,
    /// The active administrators of each church of the departments asked for: they are told
    /// instead when a department has no leader.
    pub admins: HashMap<OrganizationId, Vec<UserId>>,
    /// Every active member (any role) of each department asked for, for announcements.
    pub members: HashMap<(OrganizationId, DepartmentId), Vec<UserId>>,
    /// The language of every user asked for and of every leader returned, when their account
    /// still exists in that church.
    pub locales: HashMap<UserId, Locale>,
    /// The address, names and preferences of the same users, for notification emails.
    pub contacts: HashMap<UserId, crate::email::Contact>,
}

/// What one [`NotificationStore::deliver`] wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Delivered {
    pub notifications: u64,
    pub emails: u64,
}

pub trait NotificationStore: Send + Sync + 'static {
    /// The oldest unprocessed outbox events, in the order they occurred.
    fn pending(
        &self,
        limit: u64,
    ) -> impl Future<Output = Result<Vec<PendingEvent>, StoreError>> + Send;
    /// The leaders and the active members of `depts`, the administrators of their churches,
    /// and the languages of
    /// `users` and of those leaders and administrators: a fixed
    /// number of statements whatever the sizes.
    fn recipients(
        &self,
        users: &[(OrganizationId, UserId)],
        depts: &[(OrganizationId, DepartmentId)],
    ) -> impl Future<Output = Result<Recipients, StoreError>> + Send;
    /// Writes `notifications`, queues `emails` (durable `send_email` jobs) and marks
    /// `processed` events processed, in one transaction and a fixed number of statements. A
    /// notification whose (event, user) exists already is skipped, and an email whose
    /// [`crate::QueuedEmail::dedupe_key`] was queued already, so a batch delivered twice (two
    /// workers, a retry) is written and mailed once. Returns how many of each were written.
    fn deliver(
        &self,
        notifications: &[NewNotification],
        emails: &[crate::QueuedEmail],
        processed: &[Uuid],
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Delivered, StoreError>> + Send;
    /// A page of one user's inbox, newest first.
    fn list(
        &self,
        org: OrganizationId,
        user: UserId,
        q: ListQuery,
    ) -> impl Future<Output = Result<Page, StoreError>> + Send;
    /// The user's notifications from `since`, oldest first (by creation time, then id), at
    /// most `limit`, in one statement. For [`Since::Id`] the anchor notification itself comes
    /// first when the user has it (nothing at all when they do not).
    fn newer(
        &self,
        org: OrganizationId,
        user: UserId,
        since: Since,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<crate::Notification>, StoreError>> + Send;
    /// For each (church, user, instant in milliseconds since the epoch): that user's
    /// notifications created at or after the instant, oldest first (by creation time, then
    /// id), at most `limit` per user, in one statement: what the live connections of many
    /// users woken at once need. Each user appears once in `wants`; a user with nothing new is
    /// absent from the map.
    fn newer_for(
        &self,
        wants: &[(OrganizationId, UserId, i64)],
        limit: u32,
    ) -> impl Future<
        Output = Result<HashMap<(OrganizationId, UserId), Vec<crate::Notification>>, StoreError>,
    > + Send;
    fn unread_count(
        &self,
        org: OrganizationId,
        user: UserId,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
    /// Marks one of the user's notifications read (kept read if it was); `false` when the user
    /// has no notification with that id.
    fn mark_read(
        &self,
        org: OrganizationId,
        user: UserId,
        id: NotificationId,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Marks all the user's unread notifications read; returns how many.
    fn mark_all_read(
        &self,
        org: OrganizationId,
        user: UserId,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
    /// Every notification of the user, oldest first (the personal data export).
    fn all_of(
        &self,
        org: OrganizationId,
        user: UserId,
    ) -> impl Future<Output = Result<Vec<crate::Notification>, StoreError>> + Send;
    /// Deletes notifications read before `before` (every church: a maintenance job).
    fn prune_read(
        &self,
        before: DateTime<Utc>,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}
