//! What a rota is made of.

use availability::Month;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use kernel::{AssignmentId, DepartmentId, OrganizationId, PlanningId, ServiceId, UserId};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Where a planning stands. draft → generated → published → archived; published → draft to
/// unpublish.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PlanningStatus {
    Draft,
    Generated,
    Published,
    Archived,
}

impl PlanningStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PlanningStatus::Draft => "draft",
            PlanningStatus::Generated => "generated",
            PlanningStatus::Published => "published",
            PlanningStatus::Archived => "archived",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "draft" => PlanningStatus::Draft,
            "generated" => PlanningStatus::Generated,
            "published" => PlanningStatus::Published,
            "archived" => PlanningStatus::Archived,
            _ => return None,
        })
    }

    /// Members see a planning once it is published (and afterwards, archived).
    pub fn is_public(self) -> bool {
        matches!(self, PlanningStatus::Published | PlanningStatus::Archived)
    }
}

/// A department's rota for one month.
#[derive(Clone, Debug, PartialEq)]
pub struct Planning {
    pub id: PlanningId,
    pub organization: OrganizationId,
    pub department: DepartmentId,
    pub month: Month,
    pub status: PlanningStatus,
    /// Bumped by every change; writers send the version they read (optimistic concurrency).
    pub version: i32,
    pub required_slots: u32,
    pub filled_slots: u32,
    /// filled / required, in [0, 1]; `None` before the first generation.
    pub confidence_score: Option<f64>,
    /// Every slot left empty by the last generation, explained.
    pub explanations: Vec<SlotExplanation>,
    pub generated_at: Option<DateTime<Utc>>,
    pub published_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A member's answer to an assignment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AssignmentStatus {
    Pending,
    Confirmed,
    Declined,
}

impl AssignmentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AssignmentStatus::Pending => "pending",
            AssignmentStatus::Confirmed => "confirmed",
            AssignmentStatus::Declined => "declined",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => AssignmentStatus::Pending,
            "confirmed" => AssignmentStatus::Confirmed,
            "declined" => AssignmentStatus::Declined,
            _ => return None,
        })
    }
}

/// Why an assignment needs the leader's eye although it is on the rota.
pub const FLAG_MEMBER_REMOVED: &str = "member_removed";

/// One member in one role at one service.
#[derive(Clone, Debug, PartialEq)]
pub struct Assignment {
    pub id: AssignmentId,
    pub planning: PlanningId,
    pub service: ServiceId,
    pub user: UserId,
    pub role: String,
    /// Kept as it is when the rota is generated again.
    pub pinned: bool,
    /// Kept although it broke a hard rule: the leader insisted (`force: true`).
    pub forced: bool,
    /// The rules it broke when it was forced, shown beside it.
    pub warnings: Vec<crate::rules::RuleBreak>,
    pub status: AssignmentStatus,
    pub decline_reason: Option<String>,
    pub responded_at: Option<DateTime<Utc>>,
    /// e.g. [`FLAG_MEMBER_REMOVED`].
    pub flag: Option<String>,
}

impl Assignment {
    /// A new, pending assignment.
    pub fn new(planning: PlanningId, service: ServiceId, user: UserId, role: String) -> Self {
        Self {
            id: AssignmentId::new(),
            planning,
            service,
            user,
            role,
            pinned: false,
            forced: false,
            warnings: Vec::new(),
            status: AssignmentStatus::Pending,
            decline_reason: None,
            responded_at: None,
            flag: None,
        }
    }

    /// Whether it still takes its slot (a declined assignment leaves the slot open).
    pub fn holds_slot(&self) -> bool {
        self.status != AssignmentStatus::Declined
    }
}

/// One role a service needs, and how many people.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleCount {
    pub role: String,
    pub count: u32,
}

/// A service of the month, as the rota needs it.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceInfo {
    pub id: ServiceId,
    pub department: DepartmentId,
    pub name: String,
    pub service_type: String,
    /// Local to the church.
    pub date: NaiveDate,
    pub start: NaiveTime,
    pub end: NaiveTime,
    pub location: Option<String>,
    pub required_roles: Vec<RoleCount>,
}

impl ServiceInfo {
    pub fn overlaps(&self, date: NaiveDate, start: NaiveTime, end: NaiveTime) -> bool {
        self.date == date && self.start < end && start < self.end
    }

    pub fn count_of(&self, role: &str) -> Option<u32> {
        self.required_roles
            .iter()
            .find(|r| r.role.eq_ignore_ascii_case(role))
            .map(|r| r.count)
    }
}

/// A member of the department who may serve (active, not a guest).
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    pub user: UserId,
    pub name: String,
    pub skills: Vec<String>,
    pub max_per_month: Option<u32>,
    pub preferred_service_types: Vec<String>,
    /// Assignments over the previous three months in this department (fairness).
    pub history: u32,
}

impl Candidate {
    pub fn has_skill(&self, role: &str) -> bool {
        self.skills.iter().any(|s| s.eq_ignore_ascii_case(role))
    }
}

/// A member's assignment in another department of the church during the month: they cannot
/// serve here at an overlapping time.
#[derive(Clone, Debug, PartialEq)]
pub struct Commitment {
    pub user: UserId,
    pub service: ServiceId,
    pub service_name: String,
    pub department_name: String,
    pub date: NaiveDate,
    pub start: NaiveTime,
    pub end: NaiveTime,
}

/// Everything about a planning's month the rules need, read by the store in a fixed number of
/// statements.
#[derive(Clone, Debug, PartialEq)]
pub struct MonthData {
    pub planning: Planning,
    pub department_name: String,
    /// The church's IANA time zone.
    pub timezone: String,
    /// The department's services of the month, by date then start.
    pub services: Vec<ServiceInfo>,
    pub candidates: Vec<Candidate>,
    pub commitments: Vec<Commitment>,
    pub assignments: Vec<Assignment>,
    /// The name of everyone assigned or a candidate (removed members included).
    pub names: HashMap<UserId, String>,
}

impl MonthData {
    pub fn service(&self, id: ServiceId) -> Option<&ServiceInfo> {
        self.services.iter().find(|s| s.id == id)
    }

    pub fn candidate(&self, id: UserId) -> Option<&Candidate> {
        self.candidates.iter().find(|c| c.user == id)
    }

    pub fn name_of(&self, id: UserId) -> String {
        self.names.get(&id).cloned().unwrap_or_default()
    }
}

/// Why one member is not in an empty slot, or that they could take it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CandidateReason {
    pub user_id: UserId,
    pub member_name: String,
    /// Empty: they could take the slot (the leader may assign them by hand).
    pub reasons: Vec<crate::rules::RuleBreak>,
}

/// An empty slot, explained: who has the skill and why each of them is not there.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SlotExplanation {
    pub service_id: ServiceId,
    pub service_name: String,
    pub date: NaiveDate,
    pub role: String,
    pub missing: u32,
    /// How many members have the skill.
    pub skilled: u32,
    pub candidates: Vec<CandidateReason>,
}

/// An assignment of mine, with what I need to turn up.
#[derive(Clone, Debug, PartialEq)]
pub struct MyAssignment {
    pub assignment: Assignment,
    pub organization: OrganizationId,
    pub department: DepartmentId,
    pub department_name: String,
    pub planning_status: PlanningStatus,
    pub service: ServiceInfo,
}
