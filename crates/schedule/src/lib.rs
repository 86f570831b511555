//! The services domain (the "Services" part of the rota issue): the dated services a
//! department serves at, the roles each needs, and recurring series.
//!
//! * [`model`] — a [`Service`] (date, start and end times local to the church, the roles it
//!   needs), a recurring [`Series`] (its RRULE and template), the [`Scope`] of an edit.
//! * [`rules`] — the validation of a service as the API receives it, with field paths such as
//!   `requiredRoles[1].count`, and the matching of roles against the members' skills.
//! * [`recurrence`] — RRULE parsing and expansion (the `rrule` crate) and its limits.
//! * [`scope`] — which services an edit or deletion with `this`, `following` or `all` reaches.
//! * [`range`] — the dates a list covers (a month, a range, or the coming year).
//! * [`events`] — the `service.created` / `.updated` / `.deleted` domain events.
//! * [`ports`] — the store, every method scoped by church.
//! * [`service`] — the operations the API calls, over the store and the teams service (which
//!   scopes to the caller's church and asks the permission policy), and the two reads the
//!   planner uses.
//!
//! The rules are pure: no I/O, no HTTP. "Now" and the time zone are parameters.

pub mod events;
pub mod model;
pub mod ports;
pub mod range;
pub mod recurrence;
pub mod rules;
pub mod scope;
pub mod service;

use chrono::NaiveDate;

pub use model::{RequiredRole, Scope, Series, Service, local_instant};
pub use ports::ScheduleStore;
pub use range::RangeInput;
pub use recurrence::{Expansion, RecurrenceError};
pub use rules::{Changes, RoleInput, ServiceInput, ServicePatchInput};
pub use service::{Created, Schedule, ScheduleError};

/// The longest name, in characters, after trimming.
pub const MAX_NAME_CHARS: usize = 100;
/// The longest service type.
pub const MAX_TYPE_CHARS: usize = 50;
/// The longest location.
pub const MAX_LOCATION_CHARS: usize = 200;
/// The longest notes.
pub const MAX_NOTES_CHARS: usize = 2000;
/// The most roles a service lists.
pub const MAX_ROLES: usize = 30;
/// The longest role name (a skill has at most 50 characters).
pub const MAX_ROLE_CHARS: usize = 50;
/// The most people one role may need.
pub const MAX_ROLE_COUNT: u32 = 50;
/// The longest RRULE.
pub const MAX_RRULE_CHARS: usize = 500;
/// The most services one series makes.
pub const MAX_OCCURRENCES: usize = 366;
/// The longest range a list covers, in days (both ends included).
pub const MAX_RANGE_DAYS: i64 = 366;
/// The earliest date a service may have.
pub const FIRST_DATE: NaiveDate = match NaiveDate::from_ymd_opt(2000, 1, 1) {
    Some(d) => d,
    None => NaiveDate::MIN,
};
/// The latest date a service may have (as for blockout months).
pub const LAST_DATE: NaiveDate = match NaiveDate::from_ymd_opt(2100, 12, 31) {
    Some(d) => d,
    None => NaiveDate::MAX,
};
