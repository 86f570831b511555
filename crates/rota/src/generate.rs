//! The month as a planner instance, and the planner's answer as a rota.
//!
//! Pinned assignments stay as they are, and the planner optimises the rest around them by an
//! exact reduction: each pinned slot is taken out of its service's count, blocks its member
//! at that service's time (so no overlap and no second slot in it), uses one of their
//! `maxPerMonth` and joins their history (F sums (load + history)², so a fixed load adds to h
//! exactly). Assignments in other departments of the church block their time the same way.

use crate::model::{Assignment, MonthData, SlotExplanation};
use crate::rules::Board;
use availability::Blockout;
use kernel::{ServiceId, UserId};
use planning::{Instance, Member, RoleRequirement, Service, Unavailability};
use std::collections::HashMap;

/// The outcome of a generation.
#[derive(Clone, Debug, PartialEq)]
pub struct Generated {
    /// The assignments the planner made (pinned ones are not repeated here).
    pub new_assignments: Vec<Assignment>,
    pub required_slots: u32,
    pub filled_slots: u32,
    /// filled / required (1 when nothing is required).
    pub confidence_score: f64,
    pub explanations: Vec<SlotExplanation>,
}

fn hm(t: chrono::NaiveTime) -> String {
    t.format("%H:%M").to_string()
}

fn ymd(d: chrono::NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// The planner's instance for the month, keeping `kept` (pinned) assignments as they are.
pub fn instance(
    data: &MonthData,
    blockouts: &[(UserId, Blockout)],
    kept: &[&Assignment],
) -> Instance {
    let month = data.planning.month;
    let mut kept_load: HashMap<UserId, u32> = HashMap::new();
    let mut kept_slots: HashMap<(ServiceId, String), u32> = HashMap::new();
    for a in kept.iter().filter(|a| a.holds_slot()) {
        *kept_load.entry(a.user).or_default() += 1;
        *kept_slots
            .entry((a.service, a.role.to_lowercase()))
            .or_default() += 1;
    }
    let members = data
        .candidates
        .iter()
        .map(|c| {
            let fixed = kept_load.get(&c.user).copied().unwrap_or(0);
            Member {
                id: c.user.to_string(),
                skills: c.skills.iter().map(|s| s.to_lowercase()).collect(),
                max_per_month: c.max_per_month.map(|m| m.saturating_sub(fixed)),
                history_count: c.history + fixed,
                preferred_service_types: c
                    .preferred_service_types
                    .iter()
                    .map(|t| t.to_lowercase())
                    .collect(),
            }
        })
        .collect();
    let services = data
        .services
        .iter()
        .map(|s| Service {
            id: s.id.to_string(),
            date: ymd(s.date),
            start: hm(s.start),
            end: hm(s.end),
            service_type: s.service_type.to_lowercase(),
            required_roles: s
                .required_roles
                .iter()
                .filter_map(|r| {
                    let role = r.role.to_lowercase();
                    let taken = kept_slots.get(&(s.id, role.clone())).copied().unwrap_or(0);
                    (r.count > taken).then(|| RoleRequirement {
                        role,
                        count: r.count - taken,
                    })
                })
                .collect(),
        })
        .collect();
    let known: std::collections::HashSet<UserId> = data.candidates.iter().map(|c| c.user).collect();
    let mut unavailability: Vec<Unavailability> = blockouts
        .iter()
        .filter(|(u, b)| known.contains(u) && month.contains(b.date))
        .map(|(u, b)| Unavailability {
            member: u.to_string(),
            date: ymd(b.date),
            start: b.start().map(hm),
            end: b.end().map(hm),
        })
        .collect();
    let busy = data
        .commitments
        .iter()
        .map(|c| (c.user, c.date, c.start, c.end))
        .chain(kept.iter().filter(|a| a.holds_slot()).filter_map(|a| {
            let s = data.service(a.service)?;
            Some((a.user, s.date, s.start, s.end))
        }));
    for (user, date, start, end) in busy {
        if known.contains(&user) {
            unavailability.push(Unavailability {
                member: user.to_string(),
                date: ymd(date),
                start: Some(hm(start)),
                end: Some(hm(end)),
            });
        }
    }
    Instance {
        version: Some(1),
        month: Some(format!("{:04}-{:02}", month.year(), month.month())),
        members,
        services,
        unavailability,
    }
}

/// Generates the month: pinned assignments kept, every other slot planned again.
pub fn generate(data: &MonthData, blockouts: &[(UserId, Blockout)]) -> Generated {
    let kept: Vec<&Assignment> = data
        .assignments
        .iter()
        .filter(|a| a.pinned && data.service(a.service).is_some())
        .collect();
    let inst = instance(data, blockouts, &kept);
    let solution = planning::solve(&inst);
    let users: HashMap<String, UserId> = data
        .candidates
        .iter()
        .map(|c| (c.user.to_string(), c.user))
        .collect();
    let services: HashMap<String, &crate::model::ServiceInfo> = data
        .services
        .iter()
        .map(|s| (s.id.to_string(), s))
        .collect();
    let new_assignments: Vec<Assignment> = solution
        .assignments
        .iter()
        .filter_map(|a| {
            let user = *users.get(&a.member)?;
            let svc = services.get(&a.service)?;
            let role = svc
                .required_roles
                .iter()
                .find(|r| r.role.eq_ignore_ascii_case(&a.role))?
                .role
                .clone();
            Some(Assignment::new(data.planning.id, svc.id, user, role))
        })
        .collect();
    let mut after = data.clone();
    after.assignments = kept
        .into_iter()
        .cloned()
        .chain(new_assignments.clone())
        .collect();
    let board = Board::new(&after, blockouts);
    let (required_slots, filled_slots) = slots(&after);
    Generated {
        new_assignments,
        required_slots,
        filled_slots,
        confidence_score: confidence(required_slots, filled_slots),
        explanations: board.explain(),
    }
}

/// (required, filled) slots of the month: a role counts at most as many people as it needs,
/// and a declined assignment leaves its slot open.
pub fn slots(data: &MonthData) -> (u32, u32) {
    let board_missing: u32 = {
        let blockouts = [];
        Board::new(data, &blockouts)
            .missing()
            .iter()
            .map(|(_, _, n)| *n)
            .sum()
    };
    let required: u32 = data
        .services
        .iter()
        .flat_map(|s| s.required_roles.iter().map(|r| r.count))
        .sum();
    (required, required.saturating_sub(board_missing))
}

/// filled / required, in [0, 1] (1 when nothing is required).
pub fn confidence(required: u32, filled: u32) -> f64 {
    if required == 0 {
        1.0
    } else {
        (f64::from(filled) / f64::from(required)).clamp(0.0, 1.0)
    }
}
