//! What the teams domain needs from a store. Every method that reads or writes tenant data
//! takes the church's id and must scope every statement by it: another church's ids behave
//! exactly like ids that do not exist. Each method is one transaction; emails are queued in
//! the transaction of the change that causes them.

use crate::model::{
    Department, DepartmentView, Invitation, InvitationView, Member, Membership, Organization,
    Person,
};
use crate::policy::DeptRole;
use crate::rules::InvariantError;
use chrono::{DateTime, Utc};
use kernel::mail::Email;
use kernel::{DepartmentId, InvitationId, OrganizationId, UserId};
use std::future::Future;

pub use accounts::StoreError;

/// What creating a church did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CreateOrgOutcome {
    Created,
    SlugTaken,
    /// The user already belongs to a church.
    AlreadyInChurch,
}

/// What a change guarded by an invariant did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Guarded<T> {
    Done(T),
    /// No such row in this church.
    NotFound,
    Refused(InvariantError),
}

/// What deleting a department did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeleteOutcome {
    Deleted,
    /// It has members, former members or invitations: archive it instead.
    HasHistory,
    NotFound,
}

/// What creating an invitation did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InviteOutcome {
    Created,
    /// That email belongs to an active member of the department.
    AlreadyMember,
    /// A pending invitation for that email already exists in the department.
    AlreadyInvited,
    /// The department does not exist in this church, or is archived.
    NoDepartment,
}

/// What accepting an invitation did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AcceptOutcome {
    /// The user is now an active member of the department (and of its church).
    Joined(Membership),
    /// The token is unknown.
    Unknown,
    /// Accepted, cancelled or expired (the status says which).
    Gone(crate::model::InvitationStatus),
    /// The user belongs to another church.
    OtherChurch,
    /// The user is already an active member of that department.
    AlreadyMember,
}

/// A change to a member; `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemberChange {
    pub role: Option<DeptRole>,
    /// Already normalised by [`crate::rules::normalize_skills`].
    pub skills: Option<Vec<String>>,
    /// `Some(None)` removes the cap; already checked by [`crate::rules::check_max_per_month`].
    pub max_per_month: Option<Option<i32>>,
    /// Already normalised by [`crate::rules::normalize_service_types`].
    pub preferred_service_types: Option<Vec<String>>,
}

pub trait TeamStore: Send + Sync + 'static {
    // ---- churches ----

    /// Inserts the church and makes `admin` (who must not belong to a church yet) its
    /// administrator.
    fn create_organization(
        &self,
        org: &Organization,
        admin: UserId,
    ) -> impl Future<Output = Result<CreateOrgOutcome, StoreError>> + Send;
    fn organization(
        &self,
        org: OrganizationId,
    ) -> impl Future<Output = Result<Option<Organization>, StoreError>> + Send;
    /// Writes name, slug, time zone; [`StoreError::Duplicate`] when the slug is taken.
    fn update_organization(
        &self,
        org: &Organization,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Everyone in the church, by last name then first name.
    fn people(
        &self,
        org: OrganizationId,
    ) -> impl Future<Output = Result<Vec<Person>, StoreError>> + Send;
    /// One person of the church.
    fn person(
        &self,
        org: OrganizationId,
        user: UserId,
    ) -> impl Future<Output = Result<Option<Person>, StoreError>> + Send;
    /// Makes `user` an administrator or not; refuses to leave the church without one.
    fn set_admin(
        &self,
        org: OrganizationId,
        user: UserId,
        admin: bool,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Guarded<()>, StoreError>> + Send;

    // ---- departments ----

    /// The church's departments by name; with `member_of`, only those where that user is an
    /// active member. `my_role` is `viewer`'s role.
    fn departments(
        &self,
        org: OrganizationId,
        viewer: UserId,
        member_of: Option<UserId>,
        include_archived: bool,
    ) -> impl Future<Output = Result<Vec<DepartmentView>, StoreError>> + Send;
    /// One department of the church, with `viewer`'s active role in it.
    fn department(
        &self,
        org: OrganizationId,
        dept: DepartmentId,
        viewer: UserId,
    ) -> impl Future<Output = Result<Option<DepartmentView>, StoreError>> + Send;
    /// [`StoreError::Duplicate`] when the name is taken.
    fn create_department(
        &self,
        d: &Department,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Writes every field of `d` but its ids and creation time (archiving included: an
    /// archived department's pending invitations are cancelled in the same transaction);
    /// [`StoreError::Duplicate`] when the name is taken. `false` when there is no such
    /// department in `d.organization_id`.
    fn update_department(
        &self,
        d: &Department,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    fn delete_department(
        &self,
        org: OrganizationId,
        dept: DepartmentId,
    ) -> impl Future<Output = Result<DeleteOutcome, StoreError>> + Send;

    // ---- members ----

    /// The active members, by last name then first name.
    fn members(
        &self,
        org: OrganizationId,
        dept: DepartmentId,
    ) -> impl Future<Output = Result<Vec<Member>, StoreError>> + Send;
    /// Changes an active member's role, skills and planning settings; refuses to leave the
    /// department without a leader.
    fn change_member(
        &self,
        org: OrganizationId,
        dept: DepartmentId,
        user: UserId,
        change: &MemberChange,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Guarded<Member>, StoreError>> + Send;
    /// Marks an active member removed; refuses to remove the last leader.
    fn remove_member(
        &self,
        org: OrganizationId,
        dept: DepartmentId,
        user: UserId,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Guarded<()>, StoreError>> + Send;
    /// The user's memberships in every department, removed ones included.
    fn memberships_of(
        &self,
        user: UserId,
    ) -> impl Future<Output = Result<Vec<Membership>, StoreError>> + Send;

    // ---- invitations ----

    /// Stores the invitation with its token's hash and queues its email.
    fn create_invitation(
        &self,
        inv: &Invitation,
        token_hash: &str,
        email: &Email,
    ) -> impl Future<Output = Result<InviteOutcome, StoreError>> + Send;
    /// Pending invitations of the department (expired ones included until the daily job
    /// marks them), newest first.
    fn pending_invitations(
        &self,
        org: OrganizationId,
        dept: DepartmentId,
    ) -> impl Future<Output = Result<Vec<Invitation>, StoreError>> + Send;
    fn invitation(
        &self,
        org: OrganizationId,
        dept: DepartmentId,
        id: InvitationId,
    ) -> impl Future<Output = Result<Option<InvitationView>, StoreError>> + Send;
    /// Gives a pending invitation a new token and expiry (the old token dies) and queues
    /// its email; `false` when it is not pending in this church and department.
    #[allow(clippy::too_many_arguments)] // the scope (org, dept, id) plus what changes
    fn renew_invitation(
        &self,
        org: OrganizationId,
        dept: DepartmentId,
        id: InvitationId,
        token_hash: &str,
        expires_at: DateTime<Utc>,
        email: &Email,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Cancels a pending invitation; `false` when it is not pending in this church and
    /// department.
    fn cancel_invitation(
        &self,
        org: OrganizationId,
        dept: DepartmentId,
        id: InvitationId,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// The invitation a token opens, whatever its status.
    fn invitation_by_token(
        &self,
        token_hash: &str,
    ) -> impl Future<Output = Result<Option<InvitationView>, StoreError>> + Send;
    /// Spends a pending, unexpired invitation: `user` becomes an active member of its
    /// department (a removed member comes back) with its role, and joins its church.
    fn accept_invitation(
        &self,
        token_hash: &str,
        user: UserId,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<AcceptOutcome, StoreError>> + Send;
    /// Marks pending invitations past their expiry as expired (the daily job); returns how
    /// many. The one statement not scoped by church: it is maintenance across all of them.
    fn expire_invitations(
        &self,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
    /// Invitations sent to `email` or by `user`, any status (GDPR export).
    fn invitations_involving(
        &self,
        email: &str,
        user: UserId,
    ) -> impl Future<Output = Result<Vec<Invitation>, StoreError>> + Send;
}
