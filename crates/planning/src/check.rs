//! Independent checker of the hard rules and the objective. Shares no logic with the solver
//! beyond the time semantics, so tests can use it to audit solutions.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::model::{Instance, Service, Solution, Unavailability};

/// One broken hard rule. Serialises as `{"rule": "missing_skill", "member": …, …}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum Violation {
    UnknownService {
        service: String,
    },
    UnknownMember {
        member: String,
    },
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

/// Lookup tables over an instance shared by the checker, [`check_assignment`], the explanation
/// and the replacement suggestions, so every caller applies the same rule code.
pub(crate) struct Index<'a> {
    pub inst: &'a Instance,
    pub members: HashMap<&'a str, usize>,
    pub services: HashMap<&'a str, usize>,
    /// Unavailability entries per member id.
    unav: HashMap<&'a str, Vec<&'a Unavailability>>,
    /// Places per (service index, role).
    pub required: HashMap<(usize, &'a str), u64>,
}

impl<'a> Index<'a> {
    pub fn new(inst: &'a Instance) -> Self {
        let mut unav: HashMap<&str, Vec<&Unavailability>> = HashMap::new();
        for u in &inst.unavailability {
            unav.entry(u.member.as_str()).or_default().push(u);
        }
        let mut required: HashMap<(usize, &str), u64> = HashMap::new();
        for (i, s) in inst.services.iter().enumerate() {
            for r in &s.required_roles {
                *required.entry((i, r.role.as_str())).or_default() += u64::from(r.count);
            }
        }
        Self {
            inst,
            members: inst
                .members
                .iter()
                .enumerate()
                .map(|(i, m)| (m.id.as_str(), i))
                .collect(),
            services: inst
                .services
                .iter()
                .enumerate()
                .map(|(i, s)| (s.id.as_str(), i))
                .collect(),
            unav,
            required,
        }
    }

    /// The unavailability entry that keeps `member` out of `service`, whole-day entries first.
    pub fn unavailable(&self, member: &str, service: &Service) -> Option<&'a Unavailability> {
        let list = self.unav.get(member)?;
        let on_day = || list.iter().filter(|u| u.date == service.date);
        on_day()
            .find(|u| u.whole_day())
            .or_else(|| on_day().find(|u| crate::model::ranges_overlap(u.range(), service.range())))
            .copied()
    }

    /// Hard rules broken by member `mi` holding `role` in service `si` next to the services
    /// in `others` (the member's other assignments): skill, unavailability, one slot per
    /// service, overlapping services. The monthly cap is a per-member rule, see [`Self::over_cap`].
    pub fn placement(&self, si: usize, role: &str, mi: usize, others: &[usize]) -> Vec<Violation> {
        let mut v = Vec::new();
        let m = &self.inst.members[mi];
        let s = &self.inst.services[si];
        if !m.skills.iter().any(|k| k == role) {
            v.push(Violation::MissingSkill {
                member: m.id.clone(),
                role: role.to_owned(),
            });
        }
        if self.unavailable(&m.id, s).is_some() {
            v.push(Violation::Unavailable {
                member: m.id.clone(),
                service: s.id.clone(),
            });
        }
        for &other in others {
            let o = &self.inst.services[other];
            if other == si {
                v.push(Violation::TwiceInService {
                    member: m.id.clone(),
                    service: s.id.clone(),
                });
            } else if o.overlaps(s) {
                v.push(Violation::OverlappingServices {
                    member: m.id.clone(),
                    first: o.id.clone(),
                    second: s.id.clone(),
                });
            }
        }
        v
    }

    /// The cap rule for member `mi` with `load` assignments.
    pub fn over_cap(&self, mi: usize, load: u32) -> Option<Violation> {
        let m = &self.inst.members[mi];
        let cap = m.max_per_month?;
        (load > cap).then(|| Violation::OverCap {
            member: m.id.clone(),
            load,
            cap,
        })
    }
}

/// Checks every hard rule and computes filled and F.
pub fn check(inst: &Instance, sol: &Solution) -> Report {
    let ix = Index::new(inst);
    let mut v = Vec::new();
    let mut got: HashMap<(usize, &str), u64> = HashMap::new();
    let mut load = vec![0u32; inst.members.len()];
    let mut per_member: Vec<Vec<usize>> = vec![Vec::new(); inst.members.len()];
    let mut filled = 0;
    for a in &sol.assignments {
        let Some(&si) = ix.services.get(a.service.as_str()) else {
            v.push(Violation::UnknownService {
                service: a.service.clone(),
            });
            continue;
        };
        let Some(&mi) = ix.members.get(a.member.as_str()) else {
            v.push(Violation::UnknownMember {
                member: a.member.clone(),
            });
            continue;
        };
        if !ix.required.contains_key(&(si, a.role.as_str())) {
            v.push(Violation::UnknownRole {
                service: a.service.clone(),
                role: a.role.clone(),
            });
            continue;
        }
        filled += 1;
        *got.entry((si, a.role.as_str())).or_default() += 1;
        v.extend(ix.placement(si, &a.role, mi, &per_member[mi]));
        per_member[mi].push(si);
        load[mi] += 1;
    }
    for (i, &l) in load.iter().enumerate() {
        v.extend(ix.over_cap(i, l));
    }
    let mut claimed: HashMap<(usize, &str), u64> = HashMap::new();
    for u in &sol.unfilled {
        if let Some(&si) = ix.services.get(u.service.as_str()) {
            *claimed.entry((si, u.role.as_str())).or_default() += u64::from(u.missing);
        }
    }
    let mut keys: Vec<_> = ix.required.keys().copied().collect();
    keys.sort_unstable();
    let mut seen = HashSet::new();
    for key in keys {
        let need = ix.required[&key];
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
    Report {
        violations: v,
        filled,
        fairness: fairness(inst, &load),
    }
}

/// F = Σ (load + history)² for loads given per member index.
pub(crate) fn fairness(inst: &Instance, load: &[u32]) -> u64 {
    inst.members
        .iter()
        .zip(load)
        .map(|(m, &l)| {
            let x = u64::from(l) + u64::from(m.history_count);
            x * x
        })
        .sum()
}

/// Checks one manual edit: the hard rules `member` would break by taking `role` in `service`,
/// given the other assignments of `solution` (the current rota). Empty means the edit is
/// valid. Reports, in this order: unknown service / member / role, missing skill,
/// unavailability, already in this service, overlap with each other service, and the monthly
/// cap (`load` counts this assignment). An assignment of `member` to this very slot already in
/// `solution` is reported as [`Violation::TwiceInService`], as a second one would be. The
/// slot's other occupants are not looked at: replacing someone is the caller's business.
pub fn check_assignment(
    inst: &Instance,
    solution: &Solution,
    service: &str,
    role: &str,
    member: &str,
) -> Vec<Violation> {
    let ix = Index::new(inst);
    let mut v = Vec::new();
    let si = ix.services.get(service).copied();
    let mi = ix.members.get(member).copied();
    if si.is_none() {
        v.push(Violation::UnknownService {
            service: service.to_owned(),
        });
    }
    if mi.is_none() {
        v.push(Violation::UnknownMember {
            member: member.to_owned(),
        });
    }
    let (Some(si), Some(mi)) = (si, mi) else {
        return v;
    };
    if !ix.required.contains_key(&(si, role)) {
        v.push(Violation::UnknownRole {
            service: service.to_owned(),
            role: role.to_owned(),
        });
        return v;
    }
    let others: Vec<usize> = solution
        .assignments
        .iter()
        .filter(|a| a.member == member)
        .filter_map(|a| ix.services.get(a.service.as_str()).copied())
        .collect();
    v.extend(ix.placement(si, role, mi, &others));
    v.extend(ix.over_cap(mi, others.len() as u32 + 1));
    v
}
