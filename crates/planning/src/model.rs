//! Instance and solution model, serde-compatible with the benchmark's "instance v1" and
//! solution JSON formats, plus time parsing and validation.

use serde::{Deserialize, Serialize};

/// Minutes since midnight; 24:00 is 1440.
pub type Minute = u32;

/// End of day, in minutes.
pub const END_OF_DAY: Minute = 24 * 60;

/// A month's planning problem.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instance {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub month: Option<String>,
    pub members: Vec<Member>,
    pub services: Vec<Service>,
    #[serde(default)]
    pub unavailability: Vec<Unavailability>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub id: String,
    pub skills: Vec<String>,
    /// `None` means no cap.
    #[serde(default)]
    pub max_per_month: Option<u32>,
    /// Services done in recent months; counts towards fairness.
    #[serde(default)]
    pub history_count: u32,
    /// Soft preference (optional, not in instance v1): the service types this member would
    /// rather serve in. Empty means no preference.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub preferred_service_types: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    pub id: String,
    /// "YYYY-MM-DD".
    pub date: String,
    /// "HH:MM"; the service occupies the half-open range [start, end).
    pub start: String,
    pub end: String,
    #[serde(default)]
    pub service_type: String,
    pub required_roles: Vec<RoleRequirement>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleRequirement {
    pub role: String,
    pub count: u32,
}

/// Both times `None`: the whole day. One `None`: 00:00 (start) or 24:00 (end).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unavailability {
    pub member: String,
    pub date: String,
    #[serde(default)]
    pub start: Option<String>,
    #[serde(default)]
    pub end: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Solution {
    pub assignments: Vec<Assignment>,
    pub unfilled: Vec<Unfilled>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Assignment {
    pub service: String,
    pub role: String,
    pub member: String,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Unfilled {
    pub service: String,
    pub role: String,
    pub missing: u32,
}

/// Malformed instance data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanningError {
    #[error("invalid time {0:?} (expected HH:MM between 00:00 and 24:00)")]
    InvalidTime(String),
    #[error("invalid date {0:?} (expected YYYY-MM-DD)")]
    InvalidDate(String),
    #[error("service {0}: end is not after start")]
    EmptyService(String),
    #[error("duplicate {kind} id {id}")]
    DuplicateId { kind: &'static str, id: String },
    #[error("unavailability refers to unknown member {0}")]
    UnknownMember(String),
}

/// Parses "HH:MM" (00:00 ..= 24:00) into minutes since midnight.
pub fn parse_time(s: &str) -> Result<Minute, PlanningError> {
    let bad = || PlanningError::InvalidTime(s.to_owned());
    let (h, m) = s.split_once(':').ok_or_else(bad)?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return Err(bad());
    }
    let h: u32 = h.parse().map_err(|_| bad())?;
    let m: u32 = m.parse().map_err(|_| bad())?;
    if m >= 60 || h > 24 || (h == 24 && m != 0) {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

/// ISO week index of a "YYYY-MM-DD" date: days since 0001-01-01 (a Monday) divided by 7, so
/// consecutive ISO weeks have consecutive indices, across years too.
pub fn week_of(date: &str) -> Option<i64> {
    use chrono::Datelike;
    let d = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?;
    Some((i64::from(d.num_days_from_ce()) - 1).div_euclid(7))
}

/// Half-open range overlap: [a0, a1) and [b0, b1).
pub fn ranges_overlap(a: (Minute, Minute), b: (Minute, Minute)) -> bool {
    a.0 < b.1 && b.0 < a.1
}

impl Service {
    /// Same date and overlapping [start, end) ranges (back-to-back services do not overlap).
    pub fn overlaps(&self, other: &Service) -> bool {
        self.date == other.date && ranges_overlap(self.range(), other.range())
    }

    /// Index of the ISO week (Monday to Sunday) of the service date: consecutive weeks give
    /// consecutive numbers. `None` when the date does not parse.
    pub fn week(&self) -> Option<i64> {
        week_of(&self.date)
    }

    /// [start, end) in minutes. Unparseable times are treated as the whole day, which is the
    /// conservative choice (it blocks more, never less).
    pub fn range(&self) -> (Minute, Minute) {
        match (parse_time(&self.start), parse_time(&self.end)) {
            (Ok(s), Ok(e)) => (s, e),
            _ => (0, END_OF_DAY),
        }
    }
}

impl Unavailability {
    /// Both sides missing: the whole day.
    pub fn whole_day(&self) -> bool {
        self.start.is_none() && self.end.is_none()
    }

    /// [start, end) in minutes; a missing side is 00:00 / 24:00. Unparseable times block the
    /// whole day (conservative).
    pub fn range(&self) -> (Minute, Minute) {
        let start = self.start.as_deref().map_or(Ok(0), parse_time);
        let end = self.end.as_deref().map_or(Ok(END_OF_DAY), parse_time);
        match (start, end) {
            (Ok(s), Ok(e)) => (s, e),
            _ => (0, END_OF_DAY),
        }
    }
}

impl Instance {
    /// Checks the instance for malformed data. `solve` never fails: it treats malformed times
    /// conservatively, but callers should validate user input first.
    pub fn validate(&self) -> Result<(), PlanningError> {
        let mut ids = std::collections::HashSet::new();
        for m in &self.members {
            if !ids.insert(m.id.as_str()) {
                return Err(PlanningError::DuplicateId {
                    kind: "member",
                    id: m.id.clone(),
                });
            }
        }
        let parse_date = |d: &str| {
            chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
                .map_err(|_| PlanningError::InvalidDate(d.to_owned()))
        };
        let mut sids = std::collections::HashSet::new();
        for s in &self.services {
            if !sids.insert(s.id.as_str()) {
                return Err(PlanningError::DuplicateId {
                    kind: "service",
                    id: s.id.clone(),
                });
            }
            parse_date(&s.date)?;
            let (a, b) = (parse_time(&s.start)?, parse_time(&s.end)?);
            if b <= a {
                return Err(PlanningError::EmptyService(s.id.clone()));
            }
        }
        for u in &self.unavailability {
            if !ids.contains(u.member.as_str()) {
                return Err(PlanningError::UnknownMember(u.member.clone()));
            }
            parse_date(&u.date)?;
            if let Some(t) = &u.start {
                parse_time(t)?;
            }
            if let Some(t) = &u.end {
                parse_time(t)?;
            }
        }
        Ok(())
    }
}
