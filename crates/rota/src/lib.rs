//! The rota domain (story 3, issue 6): one planning per department and month.
//!
//! * [`model`] — plannings, assignments, the month's services and candidates as the store
//!   hands them over;
//! * [`rules`] — the hard rules of one assignment (skill, blockouts, one slot per service, no
//!   overlap across every department of the church, `maxPerMonth`, the role's count), shared
//!   by manual edits, explanations of empty slots and replacement suggestions;
//! * [`generate`] — the month as a [`planning::Instance`] (pinned assignments reduced away
//!   exactly), the planner's result as assignments, statistics and explanations;
//! * [`ports`] and [`service`] — what the store must do, and the operations the API and the
//!   worker call. State changes record [`kernel::DomainEvent`]s in the outbox.
//!
//! Pure: no I/O.

pub mod events;
pub mod generate;
pub mod model;
pub mod ports;
pub mod rules;
pub mod service;

pub use model::*;
pub use ports::RotaStore;
pub use rules::{RuleBreak, check_assignment};
pub use service::{Rota, RotaError};

/// The worker job that generates a planning (payload: [`service::GenerateJob`]).
pub const GENERATE_JOB: &str = "rota.generate";

#[cfg(test)]
mod tests;
