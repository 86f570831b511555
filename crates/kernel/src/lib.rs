//! The kernel: what every MonService crate shares and nothing more.
//!
//! * [`id`] — typed identifiers (UUID v7, time-ordered) so an organization id can never be
//!   passed where a user id is expected;
//! * [`clock`] — the [`Clock`] port, so domain rules about "now" are testable;
//! * [`error`] — field-level validation errors, shared by every domain and rendered by the API
//!   as the `errors[]` member of a problem document;
//! * [`event`] — domain events, recorded in the outbox with the change that caused them;
//! * [`mail`] and [`blob`] — outbound ports used by several domains (accounts, invitations,
//!   notifications; avatars, photos). Their adapters live in the `mail` and `blobs` crates.
//!
//! This crate is pure: no I/O, no framework, no runtime.

// Lets `define_id!` name this crate as `kernel::` from inside it too.
extern crate self as kernel;

pub mod blob;
pub mod clock;
pub mod error;
pub mod event;
pub mod id;
pub mod mail;

pub use clock::{Clock, FixedClock, SystemClock};
pub use error::{FieldError, ValidationErrors};
pub use event::DomainEvent;
pub use id::{
    AssignmentId, DepartmentId, InvitationId, JobId, OrganizationId, PlanningId, SeriesId,
    ServiceId, UserId,
};

#[doc(hidden)]
pub mod __private {
    pub use serde;
    pub use uuid;
}
