//! The teams domain (story 4 of the product guide): who may do what in a church and its
//! departments, and the rules for names, slugs, skills and settings.
//!
//! * [`policy`] — the permission matrix of `docs/permissions.md`, enforced in one place:
//!   handlers build an [`policy::Actor`] and ask [`policy::authorize`].
//! * [`rules`] — input rules (slug, names, skills, department settings) and the invariants a
//!   role change must keep (a department keeps a leader, a church keeps an admin).
//!
//! The store ports, services and HTTP routes arrive with the rest of the teams issue.

pub mod policy;
pub mod rules;
