//! What the availability domain needs from a store. Every method takes the church's id and
//! scopes every statement by it; each write is one transaction, and a write that comes with
//! a [`DomainEvent`] records it in that same transaction (the outbox): the event exists
//! exactly when the change committed.

use crate::model::{
    Blockout, Month, MonthRecords, PersonalData, RangeId, StoredRange, StoredWeeklyRule,
    WeeklyRuleId,
};
use chrono::{DateTime, NaiveDate, Utc};
use kernel::{DepartmentId, DomainEvent, OrganizationId, UserId};
use std::future::Future;

pub use accounts::StoreError;

/// The answer of an insert that respects a per-person limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Added {
    Added,
    /// The person already had the maximum: nothing was written, no event recorded.
    LimitReached,
}

pub trait AvailabilityStore: Send + Sync + 'static {
    /// One person's one-offs of the month, and their ranges and weekly rules that touch it
    /// (three statements).
    fn person_month(
        &self,
        org: OrganizationId,
        user: UserId,
        month: Month,
    ) -> impl Future<Output = Result<MonthRecords, StoreError>> + Send;
    /// Replaces one person's one-off blockouts of a month, records that they answered it (an
    /// empty set is an answer too) and records `event`, in one transaction.
    fn replace_month(
        &self,
        org: OrganizationId,
        user: UserId,
        month: Month,
        blockouts: &[Blockout],
        event: &DomainEvent,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// [`AvailabilityStore::person_month`] for every active member of the department, in a
    /// fixed number of statements whatever their number. Callers wanting blockouts use
    /// [`crate::department_blockouts`], which expands the ranges and weekly rules.
    fn department_records(
        &self,
        org: OrganizationId,
        dept: DepartmentId,
        month: Month,
    ) -> impl Future<Output = Result<MonthRecords, StoreError>> + Send;
    /// The active members of the department who answered the month.
    fn answered(
        &self,
        org: OrganizationId,
        dept: DepartmentId,
        month: Month,
    ) -> impl Future<Output = Result<Vec<UserId>, StoreError>> + Send;

    /// A person's ranges, by first day.
    fn ranges(
        &self,
        org: OrganizationId,
        user: UserId,
    ) -> impl Future<Output = Result<Vec<StoredRange>, StoreError>> + Send;
    /// One of the person's ranges (`None`: no such range, or someone else's).
    fn range(
        &self,
        org: OrganizationId,
        user: UserId,
        id: RangeId,
    ) -> impl Future<Output = Result<Option<StoredRange>, StoreError>> + Send;
    /// Adds a range unless the person already has `max` ranges ending on `today` or later,
    /// and records `event`, in one transaction (concurrent adds for one person cannot both
    /// pass the limit).
    fn add_range(
        &self,
        org: OrganizationId,
        range: &StoredRange,
        today: NaiveDate,
        max: usize,
        event: &DomainEvent,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Added, StoreError>> + Send;
    /// Deletes one of the person's ranges and records `event`, in one transaction; `false`
    /// (and no event) when there was no such range.
    fn delete_range(
        &self,
        org: OrganizationId,
        user: UserId,
        id: RangeId,
        event: &DomainEvent,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// A person's weekly rules, oldest first.
    fn weekly_rules(
        &self,
        org: OrganizationId,
        user: UserId,
    ) -> impl Future<Output = Result<Vec<StoredWeeklyRule>, StoreError>> + Send;
    fn weekly_rule(
        &self,
        org: OrganizationId,
        user: UserId,
        id: WeeklyRuleId,
    ) -> impl Future<Output = Result<Option<StoredWeeklyRule>, StoreError>> + Send;
    /// Adds a weekly rule unless the person already has `max` rules without end or ending on
    /// `today` or later; records `event`; one transaction.
    fn add_weekly_rule(
        &self,
        org: OrganizationId,
        rule: &StoredWeeklyRule,
        today: NaiveDate,
        max: usize,
        event: &DomainEvent,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Added, StoreError>> + Send;
    fn delete_weekly_rule(
        &self,
        org: OrganizationId,
        user: UserId,
        id: WeeklyRuleId,
        event: &DomainEvent,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Everything held about the person in the church (the GDPR export).
    fn personal_data(
        &self,
        org: OrganizationId,
        user: UserId,
    ) -> impl Future<Output = Result<PersonalData, StoreError>> + Send;
}
