//! The availability domain (the blockout part of the availability issue): when a member of a
//! department cannot serve, and until when they may still say so.
//!
//! * [`model`] — a [`Blockout`] (one day, whole or part), a [`DateRange`] ("away 3–17 Aug"), a
//!   [`WeeklyRule`] ("every Tuesday evening until June") and the [`Month`] a member answers for.
//! * [`rules`] — the validation of a month as the web front end sends it (strings from JSON),
//!   with field paths such as `unavailableDates[3].endTime`.
//! * [`expand`] — the blockouts ranges and weekly rules produce inside a month, and the merged,
//!   sorted list of a month ([`expand::for_month`]); the validation of ranges and rules.
//! * [`deadline`] — the answer deadline of a month in the church's time zone.
//! * [`policy`] — who may still change a month: members until the deadline, leaders always.
//! * [`answers`] — who has not answered a month yet.
//!
//! This crate is pure: no I/O, no store, no HTTP. "Now" and the time zone are parameters.

pub mod answers;
pub mod deadline;
pub mod expand;
pub mod model;
pub mod policy;
pub mod rules;

pub use answers::{Answerer, missing};
pub use deadline::Deadline;
pub use expand::for_month;
pub use model::{Blockout, DateRange, Month, TimeWindow, WeeklyRule};
pub use policy::{DeadlinePassed, can_edit};
pub use rules::{MonthPayload, UnavailableDateInput};

/// The most entries a month may hold (two part-day entries a day for a 31-day month).
pub const MAX_ENTRIES_PER_MONTH: usize = 62;
/// The longest reason, in characters, after trimming.
pub const MAX_REASON_CHARS: usize = 200;
/// The longest date range, in days (both ends included).
pub const MAX_RANGE_DAYS: i64 = 366;
