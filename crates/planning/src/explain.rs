//! Why a slot stayed empty, as structured data the leader's screen can render ("bass: 3
//! people have the skill, 2 are away, 1 already serves at 09:30").

use std::collections::HashMap;

use serde::Serialize;

use crate::check::Index;
use crate::model::{Instance, Solution};

/// Why one member who has the skill is not in the slot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Reason {
    /// Blocked out the whole day.
    UnavailableAllDay,
    /// Blocked out for part of the day, overlapping the service: the window, "HH:MM" (a missing
    /// side is the start or the end of the day).
    UnavailablePartly { start: String, end: String },
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

/// Assignments of a solution per member id: (service index, role), unknown services skipped.
pub(crate) fn held<'a>(
    ix: &Index<'a>,
    sol: &'a Solution,
) -> HashMap<&'a str, Vec<(usize, &'a str)>> {
    let mut held: HashMap<&str, Vec<(usize, &str)>> = HashMap::new();
    for a in &sol.assignments {
        if let Some(&si) = ix.services.get(a.service.as_str()) {
            held.entry(a.member.as_str())
                .or_default()
                .push((si, a.role.as_str()));
        }
    }
    held
}

/// Every reason that keeps member `mi` out of a place in service `si`, given the assignments
/// they hold (`mine`), in this order: unavailability, then per held assignment (in order)
/// already in this service / serving elsewhere at an overlapping time, then the monthly cap.
/// Empty: they could take it. The skill is not looked at.
pub(crate) fn reasons(ix: &Index<'_>, si: usize, mi: usize, mine: &[(usize, &str)]) -> Vec<Reason> {
    let inst = ix.inst;
    let service = &inst.services[si];
    let m = &inst.members[mi];
    let mut out = Vec::new();
    if let Some(u) = ix.unavailable(&m.id, service) {
        out.push(if u.whole_day() {
            Reason::UnavailableAllDay
        } else {
            Reason::UnavailablePartly {
                start: u.start.clone().unwrap_or_else(|| "00:00".into()),
                end: u.end.clone().unwrap_or_else(|| "24:00".into()),
            }
        });
    }
    for &(other, role) in mine {
        if other == si {
            out.push(Reason::AlreadyInThisService { role: role.into() });
        } else if inst.services[other].overlaps(service) {
            let o = &inst.services[other];
            out.push(Reason::ServesElsewhere {
                service: o.id.clone(),
                start: o.start.clone(),
            });
        }
    }
    if let Some(max) = m.max_per_month
        && mine.len() as u64 >= u64::from(max)
    {
        out.push(Reason::AtMaxPerMonth { max });
    }
    out
}

/// Explains every unfilled slot of `solution`.
pub fn explain(inst: &Instance, solution: &Solution) -> Vec<Explanation> {
    let ix = Index::new(inst);
    let held = held(&ix, solution);
    solution
        .unfilled
        .iter()
        .filter_map(|u| {
            let &si = ix.services.get(u.service.as_str())?;
            let skilled: Vec<usize> = inst
                .members
                .iter()
                .enumerate()
                .filter(|(_, m)| m.skills.iter().any(|s| s == &u.role))
                .map(|(i, _)| i)
                .collect();
            let candidates = skilled
                .iter()
                .filter_map(|&mi| {
                    let id = inst.members[mi].id.as_str();
                    let mine = held.get(id).map_or(&[][..], Vec::as_slice);
                    if mine.iter().any(|&(s, r)| s == si && r == u.role) {
                        return None;
                    }
                    let reason = reasons(&ix, si, mi, mine)
                        .into_iter()
                        .next()
                        .unwrap_or(Reason::Available);
                    Some(Candidate {
                        member: id.to_owned(),
                        reason,
                    })
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
