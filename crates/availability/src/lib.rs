//! The availability domain (the blockout part of the availability issue): when a member of a
//! department cannot serve, and until when they may still say so.
//!
//! * [`model`] — a [`Blockout`] (one day, whole or part), a [`DateRange`] ("away 3–17 Aug"), a
//!   [`WeeklyRule`] ("every Tuesday evening until June") and the [`Month`] a member answers for.
//! * [`rules`] — the validation of a month as the web front end sends it (strings from JSON),
//!   with field paths such as `unavailableDates[3].endTime`.
//! * [`expand`] — the blockouts ranges and weekly rules produce inside a month, and the merged,
//!   sorted list of a month ([`expand::for_month`]); the validation of ranges and rules.
//! * [`inputs`] — the validation of a range or a weekly rule as the front end sends it.
//! * [`events`] — the `availability.changed` event every change records.
//! * [`deadline`] — the answer deadline of a month in the church's time zone.
//! * [`policy`] — who may still change a month: members until the deadline, leaders always.
//! * [`answers`] — who has not answered a month yet.
//! * [`chase`] — the deadline chasers: who is reminded, when, and the ledger that makes it once.
//!
//! * [`ports`] — the store: one month of one person, a department's month, who answered,
//!   ranges and weekly rules, each write with its event in one transaction.
//! * [`service`] — the operations the API calls, over the store and the teams service
//!   (which scopes to the caller's church and asks the permission policy).
//!
//! The rules are pure: no I/O, no HTTP. "Now" and the time zone are parameters.

pub mod answers;
pub mod chase;
pub mod deadline;
pub mod events;
pub mod expand;
pub mod inputs;
pub mod model;
pub mod policy;
pub mod ports;
pub mod rules;
pub mod service;

pub use answers::{Answerer, missing};
pub use chase::{ChaseCandidate, ChaseKind, ChaseOutcome, ChaseStats, ChaseStore};
pub use deadline::Deadline;
pub use expand::{effective, for_month};
pub use inputs::{RangeInput, WeeklyInput};
pub use model::{
    Blockout, DateRange, Entry, Month, MonthRecords, PersonalData, RangeId, Source, StoredRange,
    StoredWeeklyRule, TimeWindow, WeeklyRule, WeeklyRuleId,
};
pub use policy::{DeadlinePassed, can_edit};
pub use ports::{Added, AvailabilityStore};
pub use rules::{MonthPayload, UnavailableDateInput};
pub use service::{
    Availability, AvailabilityError, DeptRef, MemberMonth, MonthView, Person, RulesView,
    department_blockouts,
};

/// The most entries a month may hold (two part-day entries a day for a 31-day month).
pub const MAX_ENTRIES_PER_MONTH: usize = 62;
/// The longest reason, in characters, after trimming.
pub const MAX_REASON_CHARS: usize = 200;
/// The longest date range, in days (both ends included).
pub const MAX_RANGE_DAYS: i64 = 366;
/// The most current date ranges (ending today or later) a person may have.
pub const MAX_RANGES_PER_PERSON: usize = 50;
/// The most current weekly rules (without end, or ending today or later) a person may have.
pub const MAX_WEEKLY_RULES_PER_PERSON: usize = 20;
