//! Rota planning domain (story 3, issue 6): the instance/solution model (serde-compatible with
//! the benchmark's "instance v1" and solution JSON), a hard-rule checker and the rota solver.
//!
//! Hard rules: skill, unavailability (whole-day or overlapping partial, half-open ranges), one
//! slot per member per service, no two overlapping services, `max_per_month`. Objective,
//! lexicographic: fill as many slots as possible, then minimise F = Σ (load + history)².
//! Pure: no I/O.

mod check;
mod explain;
mod flow;
mod model;
mod solver;

pub use check::{Report, Violation, check};
pub use explain::{Candidate, Explanation, Reason, explain};
pub use model::{
    Assignment, Instance, Member, Minute, PlanningError, RoleRequirement, Service, Solution,
    Unavailability, Unfilled, parse_time, ranges_overlap,
};
pub use solver::{Options, solve, solve_with};

#[cfg(test)]
mod tests;
