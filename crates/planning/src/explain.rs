//! Why a slot stayed empty, as structured data the leader's screen can render ("bass: 3
//! people have the skill, 2 are away, 1 already serves at 09:30").

use crate::model::{Instance, Solution, ranges_overlap};
use serde::Serialize;
use std::collections::HashMap;

/// Why one member who has the skill is not in the slot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Reason {
    /// Blocked out the whole day.
    UnavailableAllDay,
    /// Blocked out for part of the day, overlapping the service.
    UnavailablePartly,
    /// Already serves in this service (one slot per member per service).
    AlreadyInThisService { role: String },
    /// Serves in another service at an overlapping time.
    ServesElsewhere { service: String, start: String },
    /// Reached their monthly maximum.
    AtMaxPerMonth { max: u32 },
    /// Could take the slot: the leader may assign them by hand.
    Available,
}

/// One skilled member and why they are not in the slot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Candidate {
    pub member: String,
    #[serde(flatten)]
    pub reason: Reason,
}

/// An unfilled slot, explained.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Explanation {
    pub service: String,
    pub role: String,
    pub missing: u32,
    /// How many members have the skill at all.
    pub skilled: usize,
    /// Every skilled member not in this slot, with the first reason that keeps them out.
    pub candidates: Vec<Candidate>,
}

/// Explains every unfilled slot of `solution`.
pub fn explain(inst: &Instance, solution: &Solution) -> Vec<Explanation> {
    let services: HashMap<&str, &crate::model::Service> =
        inst.services.iter().map(|s| (s.id.as_str(), s)).collect();
    let mut load: HashMap<&str, u32> = HashMap::new();
    for a in &solution.assignments {
        *load.entry(a.member.as_str()).or_default() += 1;
    }
    solution
        .unfilled
        .iter()
        .filter_map(|u| {
            let service = services.get(u.service.as_str())?;
            let skilled: Vec<_> = inst
                .members
                .iter()
                .filter(|m| m.skills.iter().any(|s| s == &u.role))
                .collect();
            let candidates = skilled
                .iter()
                .filter(|m| {
                    !solution
                        .assignments
                        .iter()
                        .any(|a| a.member == m.id && a.service == u.service && a.role == u.role)
                })
                .map(|m| Candidate {
                    member: m.id.clone(),
                    reason: reason(inst, solution, &services, service, m, &load),
                })
                .collect();
            Some(Explanation {
                service: u.service.clone(),
                role: u.role.clone(),
                missing: u.missing,
                skilled: skilled.len(),
                candidates,
            })
        })
        .collect()
}

fn reason(
    inst: &Instance,
    solution: &Solution,
    services: &HashMap<&str, &crate::model::Service>,
    service: &crate::model::Service,
    m: &crate::model::Member,
    load: &HashMap<&str, u32>,
) -> Reason {
    let range = service.range();
    for u in inst
        .unavailability
        .iter()
        .filter(|u| u.member == m.id && u.date == service.date)
    {
        if u.start.is_none() && u.end.is_none() {
            return Reason::UnavailableAllDay;
        }
        if ranges_overlap(u.range(), range) {
            return Reason::UnavailablePartly;
        }
    }
    for a in solution.assignments.iter().filter(|a| a.member == m.id) {
        if a.service == service.id {
            return Reason::AlreadyInThisService {
                role: a.role.clone(),
            };
        }
        if let Some(other) = services.get(a.service.as_str())
            && other.date == service.date
            && ranges_overlap(other.range(), range)
        {
            return Reason::ServesElsewhere {
                service: other.id.clone(),
                start: other.start.clone(),
            };
        }
    }
    if let Some(max) = m.max_per_month
        && load.get(m.id.as_str()).copied().unwrap_or(0) >= max
    {
        return Reason::AtMaxPerMonth { max };
    }
    Reason::Available
}
