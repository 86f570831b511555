//! The teams domain (story 4 of the product guide): churches, their departments, members,
//! invitations, roles and skills, and who may do what.
//!
//! * [`policy`] — the permission matrix of `docs/permissions.md`, enforced in one place:
//!   the service builds an [`policy::Actor`] and asks [`policy::authorize`].
//! * [`rules`] — input rules (slug, names, skills, time zone, department settings) and the
//!   invariants a role change must keep (a department keeps a leader, a church an admin).
//! * [`model`] — churches, departments, members, invitations.
//! * [`ports`] — the store, one transaction per use case, every tenant query scoped by church.
//! * [`emails`] — the invitation email in French and English.
//! * [`service`] — the operations the API calls.
//! * [`announcements`] — messages a leader posts to the whole department.

pub mod announcements;
pub mod emails;
pub mod model;
pub mod policy;
pub mod ports;
pub mod rules;
pub mod service;

pub use model::*;
pub use policy::{Action, Actor, DeptRole, Forbidden};
pub use ports::{
    AcceptOutcome, CreateOrgOutcome, DeleteOutcome, Guarded, InviteOutcome, MemberChange,
    StoreError, TeamStore,
};
pub use service::{TeamError, Teams, TeamsConfig};

/// The daily worker job that marks invitations past their expiry.
pub const EXPIRE_INVITATIONS_JOB: &str = "expire_invitations";

/// The domain event recorded when someone accepts an invitation, for the person who sent it
/// (`user`); `actor` is who joined. Payload: `{invitationId, departmentId, departmentName,
/// memberName, email}`.
pub const INVITATION_ACCEPTED_EVENT: &str = "invitation.accepted";
