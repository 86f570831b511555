//! What the services domain needs from a store. Every method takes the church's id and scopes
//! every statement by it (joins included): another church's ids behave as ids that do not
//! exist. Each write is one transaction, with the events it is given recorded in the outbox
//! inside it.

use crate::model::{Series, Service};
use crate::rules::Changes;
use availability::Month;
use chrono::{DateTime, NaiveDate, Utc};
use kernel::{DepartmentId, DomainEvent, OrganizationId, SeriesId, ServiceId, UserId};
use std::future::Future;

pub use teams::StoreError;

pub trait ScheduleStore: Send + Sync + 'static {
    /// The department's services dated `from` to `to` (both included), by date then start
    /// time, each with its series' rule.
    fn department_services(
        &self,
        org: OrganizationId,
        dept: DepartmentId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> impl Future<Output = Result<Vec<Service>, StoreError>> + Send;

    /// The department's services of a month, by date then start time (the planner's input).
    fn services_in_month(
        &self,
        org: OrganizationId,
        dept: DepartmentId,
        month: Month,
    ) -> impl Future<Output = Result<Vec<Service>, StoreError>> + Send {
        self.department_services(org, dept, month.first_day(), month.last_day())
    }

    /// Every department's services of the church dated `from` to `to`, by date, start time,
    /// then department.
    fn services_between(
        &self,
        org: OrganizationId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> impl Future<Output = Result<Vec<Service>, StoreError>> + Send;

    /// One service of the department, with its series' rule.
    fn service(
        &self,
        org: OrganizationId,
        dept: DepartmentId,
        id: ServiceId,
    ) -> impl Future<Output = Result<Option<Service>, StoreError>> + Send;

    /// Every occurrence of a series of the department, past ones included.
    fn series_services(
        &self,
        org: OrganizationId,
        dept: DepartmentId,
        series: SeriesId,
    ) -> impl Future<Output = Result<Vec<Service>, StoreError>> + Send;

    /// Inserts the series (if any) and the services (one multi-row statement per few hundred
    /// rows) and records the events, in one transaction.
    fn insert(
        &self,
        org: OrganizationId,
        series: Option<&Series>,
        services: &[Service],
        events: &[DomainEvent],
        by: UserId,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Applies `changes` to the services `ids` of the department (one statement), marks them
    /// exceptions when `mark_exception`, applies the same changes to the template of `series`
    /// when given (`changes` then carries no date), and records the events, in one
    /// transaction. Returns how many services were changed; when that is not `ids.len()` (one
    /// was deleted meanwhile) nothing is written.
    #[allow(clippy::too_many_arguments)] // the scope (org, dept, ids) plus what changes
    fn update(
        &self,
        org: OrganizationId,
        dept: DepartmentId,
        ids: &[ServiceId],
        changes: &Changes,
        mark_exception: bool,
        series: Option<SeriesId>,
        events: &[DomainEvent],
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<usize, StoreError>> + Send;

    /// Deletes the services `ids` of the department (their assignments go with them), then the
    /// series `series` if it has no service left, and records the events, in one transaction.
    /// Returns how many were deleted; when that is not `ids.len()` nothing is written.
    fn delete(
        &self,
        org: OrganizationId,
        dept: DepartmentId,
        ids: &[ServiceId],
        series: Option<SeriesId>,
        events: &[DomainEvent],
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<usize, StoreError>> + Send;
}
