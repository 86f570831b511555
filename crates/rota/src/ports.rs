//! What the rota needs from a store. Every method takes the church's id and scopes every
//! statement by it; each write is one transaction that also records its events.

use crate::model::{
    Assignment, MonthData, MyAssignment, Planning, PlanningStatus, SlotExplanation,
};
use availability::Month;
use chrono::{DateTime, NaiveDate, Utc};
use kernel::{AssignmentId, DepartmentId, DomainEvent, JobId, OrganizationId, PlanningId, UserId};
use std::future::Future;

pub use accounts::StoreError;

/// One part of a write to a planning.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    Insert(Assignment),
    Update(Assignment),
    Delete(AssignmentId),
    /// Deletes every assignment that is not pinned, then inserts these.
    ReplaceUnpinned(Vec<Assignment>),
    Summary {
        required: u32,
        filled: u32,
        confidence: f64,
        explanations: Vec<SlotExplanation>,
        generated: Option<DateTime<Utc>>,
    },
    Status {
        to: PlanningStatus,
        /// Set when publishing.
        published_at: Option<DateTime<Utc>>,
    },
}

pub trait RotaStore: Send + Sync + 'static {
    /// A department's plannings, newest month first.
    fn plannings(
        &self,
        org: OrganizationId,
        dept: DepartmentId,
    ) -> impl Future<Output = Result<Vec<Planning>, StoreError>> + Send;

    fn planning(
        &self,
        org: OrganizationId,
        id: PlanningId,
    ) -> impl Future<Output = Result<Option<Planning>, StoreError>> + Send;

    /// `Duplicate` when the department already has a planning for the month.
    fn create_planning(
        &self,
        org: OrganizationId,
        dept: DepartmentId,
        month: Month,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Planning, StoreError>> + Send;

    /// The planning's month: services, candidates with history, commitments elsewhere,
    /// assignments and names.
    fn month_data(
        &self,
        org: OrganizationId,
        planning: &Planning,
    ) -> impl Future<Output = Result<MonthData, StoreError>> + Send;

    /// Applies `changes` and records `events` in one transaction, if the planning is still at
    /// `expected_version` (the version is bumped). `None`: someone changed it meanwhile.
    fn write(
        &self,
        org: OrganizationId,
        planning: PlanningId,
        expected_version: i32,
        changes: Vec<Change>,
        events: Vec<DomainEvent>,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<Planning>, StoreError>> + Send;

    /// Queues the generation job, once per planning version: asking again while that version
    /// is current returns the same job.
    fn enqueue_generation(
        &self,
        org: OrganizationId,
        planning: &Planning,
        requested_by: UserId,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<JobId, StoreError>> + Send;

    /// My assignments on published rotas from `from` on, across departments, by date.
    fn my_assignments(
        &self,
        org: OrganizationId,
        user: UserId,
        from: NaiveDate,
    ) -> impl Future<Output = Result<Vec<MyAssignment>, StoreError>> + Send;

    /// One of my assignments (any planning status).
    fn my_assignment(
        &self,
        org: OrganizationId,
        user: UserId,
        id: AssignmentId,
    ) -> impl Future<Output = Result<Option<MyAssignment>, StoreError>> + Send;

    /// Records a member's answer, the planning's figures after it (a `Change::Summary`; the
    /// version moves on) and its event, in one transaction.
    fn respond(
        &self,
        org: OrganizationId,
        answer: &Assignment,
        summary: Change,
        events: Vec<DomainEvent>,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}
