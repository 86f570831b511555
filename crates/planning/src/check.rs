//! Independent checker of the hard rules and the objective. Shares no logic with the solver
//! beyond the time semantics, so tests can use it to audit solutions.

use std::collections::{HashMap, HashSet};

use crate::model::{Instance, Solution, ranges_overlap};

/// One broken hard rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    UnknownService(String),
    UnknownMember(String),
    UnknownRole {
        service: String,
        role: String,
    },
    MissingSkill {
        member: String,
        role: String,
    },
    Unavailable {
        member: String,
        service: String,
    },
    TwiceInService {
        member: String,
        service: String,
    },
    OverlappingServices {
        member: String,
        first: String,
        second: String,
    },
    OverCap {
        member: String,
        load: u32,
        cap: u32,
    },
    Overfilled {
        service: String,
        role: String,
    },
    UnfilledMismatch {
        service: String,
        role: String,
    },
}

/// Result of [`check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub violations: Vec<Violation>,
    /// Number of assignments.
    pub filled: u64,
    /// F = Σ_members (load + history_count)².
    pub fairness: u64,
}

/// Checks every hard rule and computes filled and F.
pub fn check(inst: &Instance, sol: &Solution) -> Report {
    let mut v = Vec::new();
    let members: HashMap<&str, usize> = inst
        .members
        .iter()
        .enumerate()
        .map(|(i, m)| (m.id.as_str(), i))
        .collect();
    let services: HashMap<&str, usize> = inst
        .services
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.as_str(), i))
        .collect();
    let mut required: HashMap<(usize, &str), u64> = HashMap::new();
    for (i, s) in inst.services.iter().enumerate() {
        for r in &s.required_roles {
            *required.entry((i, r.role.as_str())).or_default() += u64::from(r.count);
        }
    }
    let mut got: HashMap<(usize, &str), u64> = HashMap::new();
    let mut load = vec![0u32; inst.members.len()];
    let mut per_member: Vec<Vec<usize>> = vec![Vec::new(); inst.members.len()];
    let mut filled = 0;
    for a in &sol.assignments {
        let Some(&si) = services.get(a.service.as_str()) else {
            v.push(Violation::UnknownService(a.service.clone()));
            continue;
        };
        let Some(&mi) = members.get(a.member.as_str()) else {
            v.push(Violation::UnknownMember(a.member.clone()));
            continue;
        };
        if !required.contains_key(&(si, a.role.as_str())) {
            v.push(Violation::UnknownRole {
                service: a.service.clone(),
                role: a.role.clone(),
            });
            continue;
        }
        filled += 1;
        *got.entry((si, a.role.as_str())).or_default() += 1;
        let m = &inst.members[mi];
        let s = &inst.services[si];
        if !m.skills.contains(&a.role) {
            v.push(Violation::MissingSkill {
                member: m.id.clone(),
                role: a.role.clone(),
            });
        }
        let blocked = inst
            .unavailability
            .iter()
            .any(|u| u.member == m.id && u.date == s.date && ranges_overlap(u.range(), s.range()));
        if blocked {
            v.push(Violation::Unavailable {
                member: m.id.clone(),
                service: s.id.clone(),
            });
        }
        for &other in &per_member[mi] {
            let o = &inst.services[other];
            if other == si {
                v.push(Violation::TwiceInService {
                    member: m.id.clone(),
                    service: s.id.clone(),
                });
            } else if o.date == s.date && ranges_overlap(o.range(), s.range()) {
                v.push(Violation::OverlappingServices {
                    member: m.id.clone(),
                    first: o.id.clone(),
                    second: s.id.clone(),
                });
            }
        }
        per_member[mi].push(si);
        load[mi] += 1;
    }
    for (i, m) in inst.members.iter().enumerate() {
        if let Some(cap) = m.max_per_month
            && load[i] > cap
        {
            v.push(Violation::OverCap {
                member: m.id.clone(),
                load: load[i],
                cap,
            });
        }
    }
    let mut claimed: HashMap<(usize, &str), u64> = HashMap::new();
    for u in &sol.unfilled {
        if let Some(&si) = services.get(u.service.as_str()) {
            *claimed.entry((si, u.role.as_str())).or_default() += u64::from(u.missing);
        }
    }
    let mut keys: Vec<_> = required.keys().copied().collect();
    keys.sort_unstable();
    let mut seen = HashSet::new();
    for key in keys {
        let need = required[&key];
        let have = got.get(&key).copied().unwrap_or(0);
        let service = inst.services[key.0].id.clone();
        if have > need {
            v.push(Violation::Overfilled {
                service: service.clone(),
                role: key.1.to_owned(),
            });
        }
        let gap = need.saturating_sub(have);
        if claimed.get(&key).copied().unwrap_or(0) != gap && seen.insert(key) {
            v.push(Violation::UnfilledMismatch {
                service,
                role: key.1.to_owned(),
            });
        }
    }
    let fairness = inst
        .members
        .iter()
        .zip(&load)
        .map(|(m, &l)| {
            let x = u64::from(l) + u64::from(m.history_count);
            x * x
        })
        .sum();
    Report {
        violations: v,
        filled,
        fairness,
    }
}
