//! Services, recurring series and the scope of an edit.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use kernel::{DepartmentId, SeriesId, ServiceId};
use serde::{Deserialize, Serialize};

/// A role a service needs, and how many people in it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RequiredRole {
    /// Spelled as the skill of the department's members it matches.
    pub role: String,
    /// 1–50.
    pub count: u32,
}

impl RequiredRole {
    pub fn new(role: impl Into<String>, count: u32) -> Self {
        Self {
            role: role.into(),
            count,
        }
    }
}

/// One dated service of a department (Sunday worship, a rehearsal…). Dates and times are
/// local to the church's time zone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Service {
    pub id: ServiceId,
    pub department: DepartmentId,
    /// The recurring series it was made from, if any.
    pub series: Option<SeriesId>,
    /// An occurrence of a series edited on its own: series edits leave it alone.
    pub is_exception: bool,
    /// 1–100 characters.
    pub name: String,
    /// Up to 50 characters; empty when not given.
    pub service_type: String,
    pub date: NaiveDate,
    pub start: NaiveTime,
    /// Strictly after `start`, the same day.
    pub end: NaiveTime,
    pub location: Option<String>,
    pub notes: Option<String>,
    pub required_roles: Vec<RequiredRole>,
    /// The series' rule when the service was read with it; `None` for a one-off. Ignored on
    /// writes (the series keeps the rule).
    pub rrule: Option<String>,
}

impl Service {
    /// The instant it starts, `date` + `start` in the church's time zone.
    pub fn starts_at(&self, tz: Tz) -> DateTime<Utc> {
        local_instant(tz, self.date, self.start)
    }

    /// The instant it ends.
    pub fn ends_at(&self, tz: Tz) -> DateTime<Utc> {
        local_instant(tz, self.date, self.end)
    }

    /// Whether it has started by `now` (a service under way is past: it is no longer
    /// planned).
    pub fn is_past(&self, tz: Tz, now: DateTime<Utc>) -> bool {
        self.starts_at(tz) <= now
    }
}

/// A recurring series: its rule and the template its occurrences were made from. The
/// occurrences themselves are ordinary [`Service`]s pointing at it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Series {
    pub id: SeriesId,
    pub department: DepartmentId,
    /// The RRULE as stored (normalised: no `RRULE:` prefix, `UNTIL` in UTC form).
    pub rrule: String,
    /// The `date` the series was created with (DTSTART).
    pub dtstart: NaiveDate,
    pub name: String,
    pub service_type: String,
    pub start: NaiveTime,
    pub end: NaiveTime,
    pub location: Option<String>,
    pub notes: Option<String>,
    pub required_roles: Vec<RequiredRole>,
}

impl Series {
    /// One occurrence of the series on `date`, with a new id.
    pub fn occurrence(&self, date: NaiveDate) -> Service {
        Service {
            id: ServiceId::new(),
            department: self.department,
            series: Some(self.id),
            is_exception: false,
            name: self.name.clone(),
            service_type: self.service_type.clone(),
            date,
            start: self.start,
            end: self.end,
            location: self.location.clone(),
            notes: self.notes.clone(),
            required_roles: self.required_roles.clone(),
            rrule: Some(self.rrule.clone()),
        }
    }
}

/// Which services an edit or a deletion of one occurrence reaches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// This service only (an occurrence edited alone becomes an exception).
    #[default]
    This,
    /// This service and every later occurrence of its series that was not edited alone.
    Following,
    /// Every occurrence of its series not edited alone, from now on.
    All,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::This => "this",
            Scope::Following => "following",
            Scope::All => "all",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "this" => Some(Scope::This),
            "following" => Some(Scope::Following),
            "all" => Some(Scope::All),
            _ => None,
        }
    }
}

/// `date` at `time` in `tz`, as an instant. A local time that does not exist (the hour the
/// clocks skip in spring) is read as the first local time after it that does; one that exists
/// twice (the hour repeated in autumn) as the earlier.
pub fn local_instant(tz: Tz, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let local = date.and_time(time);
    if let Some(t) = earliest(tz, local) {
        return t;
    }
    let mut probe = local;
    for _ in 0..(24 * 60) {
        probe += TimeDelta::minutes(1);
        if let Some(t) = earliest(tz, probe) {
            return t;
        }
    }
    // Unreachable with real zone data (gaps last at most a day); keeps the function total.
    local.and_utc()
}

fn earliest(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    tz.from_local_datetime(&local)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }
    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }
    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    #[test]
    fn local_times_become_instants_in_the_church_zone() {
        let paris = chrono_tz::Europe::Paris;
        // Winter (UTC+1) and summer (UTC+2).
        assert_eq!(
            local_instant(paris, d(2030, 1, 6), t(10, 0)),
            utc("2030-01-06T09:00:00Z")
        );
        assert_eq!(
            local_instant(paris, d(2030, 7, 7), t(10, 0)),
            utc("2030-07-07T08:00:00Z")
        );
        // 2030-03-31 02:30 does not exist in Paris: the clocks jump from 02:00 to 03:00.
        assert_eq!(
            local_instant(paris, d(2030, 3, 31), t(2, 30)),
            utc("2030-03-31T01:00:00Z")
        );
        // 2030-10-27 02:30 exists twice: the earlier (still summer time).
        assert_eq!(
            local_instant(paris, d(2030, 10, 27), t(2, 30)),
            utc("2030-10-27T00:30:00Z")
        );
    }

    #[test]
    fn a_service_is_past_once_it_started() {
        let s = Series {
            id: SeriesId::new(),
            department: DepartmentId::new(),
            rrule: "FREQ=WEEKLY;COUNT=2".into(),
            dtstart: d(2030, 1, 6),
            name: "Culte".into(),
            service_type: String::new(),
            start: t(10, 0),
            end: t(12, 0),
            location: None,
            notes: None,
            required_roles: vec![],
        }
        .occurrence(d(2030, 1, 6));
        let paris = chrono_tz::Europe::Paris;
        assert!(!s.is_past(paris, utc("2030-01-06T08:59:59Z")));
        assert!(s.is_past(paris, utc("2030-01-06T09:00:00Z")));
        assert_eq!(s.ends_at(paris), utc("2030-01-06T11:00:00Z"));
        assert_eq!(s.rrule.as_deref(), Some("FREQ=WEEKLY;COUNT=2"));
    }

    #[test]
    fn scopes_read_and_write_their_names() {
        for s in [Scope::This, Scope::Following, Scope::All] {
            assert_eq!(Scope::parse(s.as_str()), Some(s));
        }
        assert_eq!(Scope::parse("ALL"), None);
        assert_eq!(Scope::default(), Scope::This);
    }
}
