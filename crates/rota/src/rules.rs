//! The hard rules of one assignment, in one place. Manual edits, the explanation of empty
//! slots and replacement suggestions all ask [`Board::check`], so a leader sees the same reason
//! wherever it shows. (The planner enforces the same rules on its own model; its tests audit it
//! with an independent checker.)

use crate::model::{Assignment, CandidateReason, MonthData, ServiceInfo, SlotExplanation};
use availability::Blockout;
use chrono::Datelike;
use kernel::{AssignmentId, ServiceId, UserId};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// One broken rule, as structured data (the API returns it as is).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum RuleBreak {
    /// Not an active member of the department who serves (guests do not serve).
    NotAMember,
    /// The service does not need this role.
    UnknownRole { role: String },
    /// The role is not among the member's skills.
    MissingSkill { role: String },
    /// A blockout covers the service (the whole day, or part of it overlapping the service).
    Unavailable {
        #[serde(rename = "allDay")]
        all_day: bool,
        #[serde(rename = "startTime", skip_serializing_if = "Option::is_none")]
        start_time: Option<String>,
        #[serde(rename = "endTime", skip_serializing_if = "Option::is_none")]
        end_time: Option<String>,
    },
    /// Already has a slot in this service.
    AlreadyInService { role: String },
    /// Serves another service of this department at an overlapping time.
    OverlappingService {
        #[serde(rename = "serviceId")]
        service_id: ServiceId,
        #[serde(rename = "serviceName")]
        service_name: String,
        #[serde(rename = "startTime")]
        start_time: String,
    },
    /// Serves in another department of the church at an overlapping time.
    ServingElsewhere {
        #[serde(rename = "serviceId")]
        service_id: ServiceId,
        #[serde(rename = "serviceName")]
        service_name: String,
        #[serde(rename = "departmentName")]
        department_name: String,
        #[serde(rename = "startTime")]
        start_time: String,
    },
    /// Would serve more than their monthly maximum.
    MaxPerMonth { max: u32, load: u32 },
    /// The role already has as many people as the service needs.
    RoleFull { count: u32 },
}

impl RuleBreak {
    /// The short code the API's 409 carries.
    pub fn code(&self) -> &'static str {
        match self {
            RuleBreak::NotAMember => "not_a_member",
            RuleBreak::UnknownRole { .. } => "unknown_role",
            RuleBreak::MissingSkill { .. } => "missing_skill",
            RuleBreak::Unavailable { .. } => "unavailable",
            RuleBreak::AlreadyInService { .. } => "already_in_service",
            RuleBreak::OverlappingService { .. } => "overlapping_service",
            RuleBreak::ServingElsewhere { .. } => "serving_elsewhere",
            RuleBreak::MaxPerMonth { .. } => "max_per_month",
            RuleBreak::RoleFull { .. } => "role_full",
        }
    }

    /// Whether a leader may keep the assignment anyway with `force: true`. A person cannot be
    /// twice in one service, outside the department, or in a role the service does not have.
    pub fn forceable(&self) -> bool {
        !matches!(
            self,
            RuleBreak::NotAMember
                | RuleBreak::UnknownRole { .. }
                | RuleBreak::AlreadyInService { .. }
        )
    }

    /// One English sentence (the API's `detail`; the front end translates from the code).
    pub fn sentence(&self) -> String {
        match self {
            RuleBreak::NotAMember => {
                "This person is not a serving member of the department.".into()
            }
            RuleBreak::UnknownRole { role } => {
                format!("This service does not need the role {role}.")
            }
            RuleBreak::MissingSkill { role } => {
                format!("This member does not have the skill {role}.")
            }
            RuleBreak::Unavailable { all_day: true, .. } => {
                "This member is unavailable that day.".into()
            }
            RuleBreak::Unavailable {
                start_time,
                end_time,
                ..
            } => format!(
                "This member is unavailable from {} to {} that day.",
                start_time.as_deref().unwrap_or("00:00"),
                end_time.as_deref().unwrap_or("24:00")
            ),
            RuleBreak::AlreadyInService { role } => {
                format!("This member already serves in this service ({role}).")
            }
            RuleBreak::OverlappingService {
                service_name,
                start_time,
                ..
            } => format!(
                "This member already serves at {service_name} ({start_time}), at the same time."
            ),
            RuleBreak::ServingElsewhere {
                service_name,
                department_name,
                start_time,
                ..
            } => format!(
                "This member serves at {service_name} ({department_name}, {start_time}) at the same time."
            ),
            RuleBreak::MaxPerMonth { max, .. } => {
                format!("This member has reached their maximum of {max} services this month.")
            }
            RuleBreak::RoleFull { count } => {
                format!("This role already has the {count} people the service needs.")
            }
        }
    }
}

fn hm(t: chrono::NaiveTime) -> String {
    t.format("%H:%M").to_string()
}

/// A planning's month with everyone's blockouts, ready to answer "may this person take this
/// slot?".
pub struct Board<'a> {
    pub data: &'a MonthData,
    blockouts: HashMap<UserId, Vec<&'a Blockout>>,
}

/// The rules a single proposed assignment breaks. `ignoring`: an assignment being moved or
/// replaced, as if it were already gone.
pub fn check_assignment(
    data: &MonthData,
    blockouts: &[(UserId, Blockout)],
    service: ServiceId,
    user: UserId,
    role: &str,
    ignoring: Option<AssignmentId>,
) -> Vec<RuleBreak> {
    Board::new(data, blockouts).check(service, user, role, ignoring)
}

impl<'a> Board<'a> {
    pub fn new(data: &'a MonthData, blockouts: &'a [(UserId, Blockout)]) -> Self {
        let mut map: HashMap<UserId, Vec<&Blockout>> = HashMap::new();
        for (u, b) in blockouts {
            map.entry(*u).or_default().push(b);
        }
        Self {
            data,
            blockouts: map,
        }
    }

    fn live(&self, ignoring: Option<AssignmentId>) -> impl Iterator<Item = &'a Assignment> {
        self.data
            .assignments
            .iter()
            .filter(move |a| a.holds_slot() && Some(a.id) != ignoring)
    }

    /// The member's slots this month (assignments that hold their slot).
    pub fn load(&self, user: UserId, ignoring: Option<AssignmentId>) -> u32 {
        self.live(ignoring).filter(|a| a.user == user).count() as u32
    }

    /// Every rule the assignment would break, in a stable order.
    pub fn check(
        &self,
        service: ServiceId,
        user: UserId,
        role: &str,
        ignoring: Option<AssignmentId>,
    ) -> Vec<RuleBreak> {
        let mut out = Vec::new();
        let Some(svc) = self.data.service(service) else {
            return out;
        };
        let Some(count) = svc.count_of(role) else {
            out.push(RuleBreak::UnknownRole { role: role.into() });
            return out;
        };
        let Some(member) = self.data.candidate(user) else {
            out.push(RuleBreak::NotAMember);
            return out;
        };
        if !member.has_skill(role) {
            out.push(RuleBreak::MissingSkill { role: role.into() });
        }
        if let Some(b) = self.blocking(user, svc) {
            out.push(RuleBreak::Unavailable {
                all_day: b.is_all_day(),
                start_time: b.start().map(hm),
                end_time: b.end().map(hm),
            });
        }
        for a in self.live(ignoring).filter(|a| a.user == user) {
            if a.service == service {
                out.push(RuleBreak::AlreadyInService {
                    role: a.role.clone(),
                });
            } else if let Some(other) = self.data.service(a.service)
                && other.overlaps(svc.date, svc.start, svc.end)
            {
                out.push(RuleBreak::OverlappingService {
                    service_id: other.id,
                    service_name: other.name.clone(),
                    start_time: hm(other.start),
                });
            }
        }
        for c in self.data.commitments.iter().filter(|c| c.user == user) {
            if svc.overlaps(c.date, c.start, c.end) {
                out.push(RuleBreak::ServingElsewhere {
                    service_id: c.service,
                    service_name: c.service_name.clone(),
                    department_name: c.department_name.clone(),
                    start_time: hm(c.start),
                });
            }
        }
        if let Some(max) = member.max_per_month {
            let load = self.load(user, ignoring);
            if load + 1 > max {
                out.push(RuleBreak::MaxPerMonth { max, load });
            }
        }
        let taken = self
            .live(ignoring)
            .filter(|a| a.service == service && a.role.eq_ignore_ascii_case(role))
            .count() as u32;
        if taken >= count {
            out.push(RuleBreak::RoleFull { count });
        }
        out
    }

    fn blocking(&self, user: UserId, svc: &ServiceInfo) -> Option<&'a Blockout> {
        self.blockouts.get(&user)?.iter().copied().find(|b| {
            b.date == svc.date
                && match b.window {
                    None => true,
                    Some((s, e)) => s < svc.end && svc.start < e,
                }
        })
    }

    /// How many people each (service, role) still misses.
    pub fn missing(&self) -> Vec<(&'a ServiceInfo, String, u32)> {
        let mut taken: HashMap<(ServiceId, String), u32> = HashMap::new();
        for a in self.live(None) {
            *taken.entry((a.service, a.role.to_lowercase())).or_default() += 1;
        }
        let mut out = Vec::new();
        for s in &self.data.services {
            for r in &s.required_roles {
                let have = taken
                    .get(&(s.id, r.role.to_lowercase()))
                    .copied()
                    .unwrap_or(0);
                if have < r.count {
                    out.push((s, r.role.clone(), r.count - have));
                }
            }
        }
        out
    }

    /// Every empty slot, with each skilled member and what keeps them out (nothing: they could
    /// be assigned by hand).
    pub fn explain(&self) -> Vec<SlotExplanation> {
        self.missing()
            .into_iter()
            .map(|(svc, role, missing)| {
                let skilled: Vec<_> = self
                    .data
                    .candidates
                    .iter()
                    .filter(|c| c.has_skill(&role))
                    .collect();
                let candidates = skilled
                    .iter()
                    .map(|c| CandidateReason {
                        user_id: c.user,
                        member_name: c.name.clone(),
                        reasons: self
                            .check(svc.id, c.user, &role, None)
                            .into_iter()
                            // The slot is empty, so "role full" cannot be why.
                            .filter(|r| !matches!(r, RuleBreak::RoleFull { .. }))
                            .collect(),
                    })
                    .collect();
                SlotExplanation {
                    service_id: svc.id,
                    service_name: svc.name.clone(),
                    date: svc.date,
                    role,
                    missing,
                    skilled: skilled.len() as u32,
                    candidates,
                }
            })
            .collect()
    }

    /// Everyone with the skill for a slot, best replacement first: those who break no rule
    /// (ignoring `replacing`, the assignment they would take over), by how little it costs
    /// fairness ((load + history) now, lower first), preferring someone who does not serve the
    /// week before or after and who likes this type of service; then the others, fewest
    /// broken rules first.
    pub fn suggestions(
        &self,
        service: ServiceId,
        role: &str,
        replacing: Option<AssignmentId>,
    ) -> Vec<Suggestion> {
        let Some(svc) = self.data.service(service) else {
            return Vec::new();
        };
        let week = svc.date.iso_week().week0() as i64 + svc.date.iso_week().year() as i64 * 53;
        let mut out: Vec<Suggestion> = self
            .data
            .candidates
            .iter()
            .filter(|c| c.has_skill(role))
            .filter(|c| {
                // The person being replaced is not their own replacement.
                replacing
                    .and_then(|id| self.data.assignments.iter().find(|a| a.id == id))
                    .is_none_or(|a| a.user != c.user)
            })
            .map(|c| {
                let reasons: Vec<RuleBreak> = self
                    .check(service, c.user, role, replacing)
                    .into_iter()
                    .filter(|r| !(replacing.is_some() && matches!(r, RuleBreak::RoleFull { .. })))
                    .collect();
                let load = self.load(c.user, replacing);
                let back_to_back = self.live(replacing).any(|a| {
                    a.user == c.user
                        && self.data.service(a.service).is_some_and(|o| {
                            let w = o.date.iso_week().week0() as i64
                                + o.date.iso_week().year() as i64 * 53;
                            (w - week).abs() == 1
                        })
                });
                let preferred = c.preferred_service_types.is_empty()
                    || c.preferred_service_types
                        .iter()
                        .any(|t| t.eq_ignore_ascii_case(&svc.service_type));
                Suggestion {
                    user_id: c.user,
                    member_name: c.name.clone(),
                    eligible: reasons.is_empty(),
                    load,
                    history: c.history,
                    back_to_back,
                    preferred_type: preferred,
                    reasons,
                }
            })
            .collect();
        out.sort_by(|a, b| {
            b.eligible
                .cmp(&a.eligible)
                .then(a.reasons.len().cmp(&b.reasons.len()))
                .then((a.load + a.history).cmp(&(b.load + b.history)))
                .then(a.back_to_back.cmp(&b.back_to_back))
                .then(b.preferred_type.cmp(&a.preferred_type))
                .then(a.member_name.cmp(&b.member_name))
        });
        out
    }
}

/// A possible replacement for a slot.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Suggestion {
    pub user_id: UserId,
    pub member_name: String,
    /// Breaks no hard rule.
    pub eligible: bool,
    /// Their slots this month without the one being replaced.
    pub load: u32,
    /// Their services over the previous three months.
    pub history: u32,
    /// Serves the week before or after.
    pub back_to_back: bool,
    /// States no preference, or prefers this type of service.
    pub preferred_type: bool,
    /// What keeps them out, if anything.
    pub reasons: Vec<RuleBreak>,
}
