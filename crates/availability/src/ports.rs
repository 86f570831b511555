//! What the availability domain needs from a store. Every method takes the church's id and
//! scopes every statement by it; each write is one transaction.

use crate::model::{Blockout, Month};
use chrono::{DateTime, Utc};
use kernel::{DepartmentId, OrganizationId, UserId};
use std::future::Future;

pub use accounts::StoreError;

pub trait AvailabilityStore: Send + Sync + 'static {
    /// One person's blockouts in a month, by date then start time.
    fn month(
        &self,
        org: OrganizationId,
        user: UserId,
        month: Month,
    ) -> impl Future<Output = Result<Vec<Blockout>, StoreError>> + Send;
    /// Replaces one person's blockouts of a month and records that they answered it (an
    /// empty set is an answer too), in one transaction.
    fn replace_month(
        &self,
        org: OrganizationId,
        user: UserId,
        month: Month,
        blockouts: &[Blockout],
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The blockouts of a month of every active member of the department.
    fn department_month(
        &self,
        org: OrganizationId,
        dept: DepartmentId,
        month: Month,
    ) -> impl Future<Output = Result<Vec<(UserId, Blockout)>, StoreError>> + Send;
    /// The active members of the department who answered the month.
    fn answered(
        &self,
        org: OrganizationId,
        dept: DepartmentId,
        month: Month,
    ) -> impl Future<Output = Result<Vec<UserId>, StoreError>> + Send;
}
