//! Rota planning domain (story 3, issue 6): the instance/solution model (serde-compatible with
//! the benchmark's "instance v1" and solution JSON), a hard-rule checker and the rota solver.
//! Pure: no I/O. The model, the algorithm, its guarantees and benchmark figures are in
//! `docs/planner.md`.
//!
//! Hard rules: skill, unavailability (whole-day or overlapping partial, half-open ranges), one
//! slot per member per service, no two overlapping services, `max_per_month`. Objective,
//! lexicographic: (1) fill as many slots as possible, (2) minimise F = Σ (load + history)²,
//! (3) lower the soft penalty (back-to-back ISO weeks, non-preferred service types), never at
//! the expense of (1) or (2).
//!
//! # API for the rota service
//!
//! * [`solve`]`(&instance) -> Solution` and [`solve_with`]`(&instance, &pinned, Options) -> Plan`:
//!   plan a month; `pinned` assignments are kept exactly as given and the rest is optimised
//!   around them. [`Plan`] is the [`Solution`] plus [`Stats`] (filled, F, bounds, soft penalty
//!   before/after the soft phase).
//! * [`check`]`(&instance, &solution) -> Report`: every broken hard rule of a whole rota, filled
//!   and F.
//! * [`check_assignment`]`(&instance, &solution, service, role, member) -> Vec<Violation>`: the
//!   hard rules one manual edit would break (empty: allowed), next to the member's other
//!   assignments in the rota.
//! * [`suggest_replacements`]`(&instance, &solution, service, role) -> Vec<Suggestion>`: every
//!   member with the skill, eligible ones first ranked by F increase then soft-penalty increase,
//!   each with load, history, back-to-back and preferred-type flags, or the [`Reason`]s that
//!   keep them out.
//! * [`explain`]`(&instance, &solution) -> Vec<Explanation>`: why each unfilled slot is unfilled,
//!   member by member.
//!
//! Ids are the strings of the instance; every output type serialises with serde for the API.

mod check;
mod explain;
mod flow;
mod model;
mod soft;
mod solver;
mod suggest;

pub use check::{Report, Violation, check, check_assignment};
pub use explain::{Candidate, Explanation, Reason, explain};
pub use model::{
    Assignment, Instance, Member, Minute, PlanningError, RoleRequirement, Service, Solution,
    Unavailability, Unfilled, parse_time, ranges_overlap, week_of,
};
pub use soft::SoftPenalty;
pub use solver::{Options, Plan, Stats, solve, solve_with};
pub use suggest::{Suggestion, suggest_replacements};

#[cfg(test)]
mod tests;
