//! Deadline chasers: reminding the members who have entered nothing for a month before its
//! answer deadline ([`crate::deadline`]).
//!
//! * **Who is chased**: the department's active members and leaders (guests do not serve)
//!   who have entered nothing for the month: they have not saved the month (an empty save says
//!   "free all month" and counts), and no one-off day, date range or weekly rule of theirs
//!   touches it. This is the leaders' "missing" list minus those whose ranges or weekly rules
//!   already speak for the month.
//! * **When** (the hourly `availability.chase` job): for each department, the *next open
//!   month* is the first month, from the current month in the church's time zone, whose
//!   deadline has not passed; when its deadline date is exactly one of the configured offsets
//!   away (`AVAILABILITY_CHASE_DAYS`, 7 and 1 by default) in the church's local calendar, each
//!   member who has entered nothing gets one `availability.reminder`. A ledger row per
//!   (department, month, offset) makes it once, however many times the job runs.
//! * **By hand**: a leader (or the administrator) chases a month at most once an hour per
//!   department; the ledger's `manual` row keeps the time of the last manual chase.

use crate::deadline::Deadline;
use crate::model::{Month, MonthRecords};
use crate::ports::{AvailabilityStore, StoreError};
use crate::service::{Availability, AvailabilityError, DeptRef};
use chrono::{DateTime, Duration, Utc};
use kernel::{DepartmentId, DomainEvent, OrganizationId, UserId};
use std::collections::HashSet;
use std::future::Future;
use teams::policy::Action;
use teams::{DeptRole, TeamStore, Viewer};

/// The event a chase records, one per member chased. `user` is the member, `department`
/// set, `actor` the leader for a manual chase. Payload: `{month, deadline, daysLeft, manual,
/// departmentName}`.
pub const REMINDER_EVENT: &str = "availability.reminder";
/// How long after a manual chase of a month the next one is refused.
pub const MANUAL_INTERVAL: Duration = Duration::hours(1);
/// The default offsets, in days before the deadline date.
pub const DEFAULT_OFFSETS: [u32; 2] = [7, 1];
/// The largest offset a setting may ask for.
pub const MAX_OFFSET_DAYS: u32 = 60;

/// Which chase a ledger row records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChaseKind {
    /// The scheduled chase this many days before the deadline date.
    Before(u32),
    Manual,
}

impl ChaseKind {
    pub fn key(self) -> String {
        match self {
            ChaseKind::Before(d) => format!("d{d}"),
            ChaseKind::Manual => "manual".into(),
        }
    }
}

/// Parses `AVAILABILITY_CHASE_DAYS`: comma-separated whole days, 0–[`MAX_OFFSET_DAYS`],
/// at least one; duplicates are dropped. The answer is sorted, largest first.
pub fn parse_offsets(s: &str) -> Result<Vec<u32>, String> {
    let mut out = Vec::new();
    for part in s.split(',') {
        let p = part.trim();
        let n: u32 = p
            .parse()
            .map_err(|_| format!("{p:?} is not a whole number of days"))?;
        if n > MAX_OFFSET_DAYS {
            return Err(format!("{n} is more than {MAX_OFFSET_DAYS} days"));
        }
        out.push(n);
    }
    out.sort_unstable_by(|a, b| b.cmp(a));
    out.dedup();
    if out.is_empty() {
        return Err("at least one offset is needed".into());
    }
    Ok(out)
}

/// The deadline of the first month, from the current local month, that is still open.
pub fn next_open(deadline_days: i32, tz: chrono_tz::Tz, now: DateTime<Utc>) -> Option<Deadline> {
    let local = now.with_timezone(&tz).date_naive();
    let mut month = Month::of(local)?;
    // Deadlines are at most 30 days before a month: the third month is always open.
    for _ in 0..4 {
        let d = Deadline::for_month(month, deadline_days, tz, now);
        if !d.is_passed {
            return Some(d);
        }
        month = month.next()?;
    }
    None
}

/// The offset `d` is due at, if any.
pub fn due(d: &Deadline, offsets: &[u32]) -> Option<u32> {
    offsets
        .iter()
        .copied()
        .find(|o| i64::from(*o) == d.days_until)
}

/// The people of `members` (user, role) who have entered nothing for the month: not in
/// `answered`, and without any record in `records`. Guests aside; in the members' order.
pub fn to_chase(
    members: &[(UserId, DeptRole)],
    answered: &HashSet<UserId>,
    records: &MonthRecords,
) -> Vec<UserId> {
    let mut entered: HashSet<UserId> = answered.clone();
    entered.extend(records.one_offs.iter().map(|(u, _)| *u));
    entered.extend(records.ranges.iter().map(|r| r.user));
    entered.extend(records.weekly.iter().map(|w| w.user));
    members
        .iter()
        .filter(|(u, role)| *role != DeptRole::Guest && !entered.contains(u))
        .map(|(u, _)| *u)
        .collect()
}

/// A department the scheduled chase looks at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChaseCandidate {
    pub organization: OrganizationId,
    pub department: DepartmentId,
    pub department_name: String,
    pub deadline_days: i32,
    /// The church's IANA zone.
    pub timezone: String,
}

/// What recording a chase did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChaseOutcome {
    /// The ledger row was written (or, for a manual chase, renewed) and the events recorded.
    Recorded,
    /// This scheduled chase was done already: nothing written.
    AlreadyDone,
    /// A manual chase of the month happened at this instant, less than
    /// [`MANUAL_INTERVAL`] ago: nothing written.
    TooSoon(DateTime<Utc>),
}

/// The chasers' store.
pub trait ChaseStore: Send + Sync + 'static {
    /// Every department not archived, of every church, with its church's time zone: one
    /// statement (a maintenance job's read, across churches).
    fn chase_candidates(
        &self,
    ) -> impl Future<Output = Result<Vec<ChaseCandidate>, StoreError>> + Send;
    /// In one transaction: writes the ledger row of (department, month, kind) with
    /// `reminded`, and only when it was written records `events`. A scheduled kind is written
    /// once (`ON CONFLICT DO NOTHING`); the manual kind is renewed when its last time is at
    /// least [`MANUAL_INTERVAL`] before `now`, otherwise [`ChaseOutcome::TooSoon`].
    fn record_chase(
        &self,
        org: OrganizationId,
        dept: DepartmentId,
        month: Month,
        kind: ChaseKind,
        events: &[DomainEvent],
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<ChaseOutcome, StoreError>> + Send;
}

/// What a scheduled chase did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChaseStats {
    pub departments: u32,
    pub reminders: u32,
}

fn reminder(
    org: OrganizationId,
    dept: DepartmentId,
    dept_name: &str,
    user: UserId,
    actor: Option<UserId>,
    d: &Deadline,
    manual: bool,
) -> DomainEvent {
    let mut e = DomainEvent::new(org, REMINDER_EVENT)
        .department(dept)
        .user(user)
        .payload(serde_json::json!({
            "month": format!("{:04}-{:02}", d.month.year(), d.month.month()),
            "deadline": d.deadline_date.format("%Y-%m-%d").to_string(),
            "daysLeft": d.days_until,
            "manual": manual,
            "departmentName": dept_name,
        }));
    if let Some(a) = actor {
        e = e.actor(a);
    }
    e
}

impl<S: AvailabilityStore + ChaseStore, T: TeamStore> Availability<S, T> {
    /// Who of the department has entered nothing for the month: five statements whatever
    /// its size (the members, who answered, the month's one-offs, ranges and weekly rules).
    async fn unentered(
        &self,
        org: OrganizationId,
        dept: DepartmentId,
        month: Month,
    ) -> Result<Vec<UserId>, StoreError> {
        let members: Vec<(UserId, DeptRole)> = self
            .teams
            .store
            .members(org, dept)
            .await?
            .into_iter()
            .map(|m| (m.user_id, m.role))
            .collect();
        let answered: HashSet<UserId> = self
            .store
            .answered(org, dept, month)
            .await?
            .into_iter()
            .collect();
        let records = self.store.department_records(org, dept, month).await?;
        Ok(to_chase(&members, &answered, &records))
    }

    /// A leader (or the administrator) reminds everyone who has entered nothing for the
    /// month; the number reminded. The caller is not reminded by their own chase. 409 once
    /// the month's deadline has passed; [`AvailabilityError::TooSoon`] within an hour of the
    /// previous manual chase of the month.
    pub async fn remind_missing(
        &self,
        viewer: &Viewer,
        dept: DepartmentId,
        month: Month,
        now: DateTime<Utc>,
    ) -> Result<u32, AvailabilityError> {
        let (org, view, tz) = self
            .department(viewer, DeptRef::Id(dept), Action::ManageAvailability)
            .await?;
        let d = Deadline::for_month(month, view.department.availability_deadline_days, tz, now);
        if d.is_passed {
            return Err(AvailabilityError::Conflict {
                code: "deadline_passed",
                detail: format!(
                    "The deadline for {} {} has passed: members can no longer enter their blockouts.",
                    month.name(),
                    month.year()
                ),
            });
        }
        let users: Vec<UserId> = self
            .unentered(org, dept, month)
            .await?
            .into_iter()
            .filter(|u| *u != viewer.user)
            .collect();
        let events: Vec<DomainEvent> = users
            .iter()
            .map(|u| {
                reminder(
                    org,
                    dept,
                    &view.department.name,
                    *u,
                    Some(viewer.user),
                    &d,
                    true,
                )
            })
            .collect();
        match self
            .store
            .record_chase(org, dept, month, ChaseKind::Manual, &events, now)
            .await?
        {
            ChaseOutcome::Recorded | ChaseOutcome::AlreadyDone => {
                Ok(u32::try_from(events.len()).unwrap_or(u32::MAX))
            }
            ChaseOutcome::TooSoon(last) => {
                let wait = (last + MANUAL_INTERVAL - now).num_seconds().max(1);
                Err(AvailabilityError::TooSoon {
                    retry_after_secs: u64::try_from(wait).unwrap_or(1),
                })
            }
        }
    }

    /// The scheduled chase (no caller: a maintenance job over every church): for each
    /// department whose next open month's deadline is one of `offsets` days away, reminds
    /// those who have entered nothing, once per (department, month, offset).
    pub async fn chase_due(
        &self,
        offsets: &[u32],
        now: DateTime<Utc>,
    ) -> Result<ChaseStats, StoreError> {
        let mut stats = ChaseStats::default();
        for c in self.store.chase_candidates().await? {
            let tz = c.timezone.parse().unwrap_or(chrono_tz::Europe::Paris);
            let Some(d) = next_open(c.deadline_days, tz, now) else {
                continue;
            };
            let Some(offset) = due(&d, offsets) else {
                continue;
            };
            let users = self
                .unentered(c.organization, c.department, d.month)
                .await?;
            let events: Vec<DomainEvent> = users
                .iter()
                .map(|u| {
                    reminder(
                        c.organization,
                        c.department,
                        &c.department_name,
                        *u,
                        None,
                        &d,
                        false,
                    )
                })
                .collect();
            let outcome = self
                .store
                .record_chase(
                    c.organization,
                    c.department,
                    d.month,
                    ChaseKind::Before(offset),
                    &events,
                    now,
                )
                .await?;
            if outcome == ChaseOutcome::Recorded {
                stats.departments += 1;
                stats.reminders += u32::try_from(events.len()).unwrap_or(u32::MAX);
            }
        }
        Ok(stats)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::model::{Blockout, DateRange, RangeId, StoredRange};
    use chrono::NaiveDate;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }
    const PARIS: chrono_tz::Tz = chrono_tz::Europe::Paris;

    #[test]
    fn offsets_parse_and_validate() {
        assert_eq!(parse_offsets("7,1").unwrap(), vec![7, 1]);
        assert_eq!(parse_offsets(" 1 , 7,7 ,14").unwrap(), vec![14, 7, 1]);
        assert_eq!(parse_offsets("0").unwrap(), vec![0]);
        for bad in ["", "7,", "a", "-1", "61", "7;1", "1.5"] {
            assert!(parse_offsets(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            parse_offsets(&DEFAULT_OFFSETS.map(|d| d.to_string()).join(",")).unwrap(),
            DEFAULT_OFFSETS.to_vec()
        );
    }

    #[test]
    fn the_next_open_month_and_its_due_offset() {
        // 2026-11-17 in Paris, 7 days before: December's deadline is 11-24, 7 days away.
        let now = utc("2026-11-17T08:00:00Z");
        let d = next_open(7, PARIS, now).unwrap();
        assert_eq!(d.month, Month::new(2026, 12).unwrap());
        assert_eq!(d.days_until, 7);
        assert_eq!(due(&d, &[7, 1]), Some(7));
        assert_eq!(due(&d, &[1]), None);
        // Late in the evening UTC it is already the next local day in Paris: 6 days.
        let d = next_open(7, PARIS, utc("2026-11-17T23:30:00Z")).unwrap();
        assert_eq!(d.days_until, 6);
        assert_eq!(due(&d, &[7, 1]), None);
        // Once December closes (11-25 00:00 Paris), January is next: deadline 12-25.
        let d = next_open(7, PARIS, utc("2026-11-24T23:00:00Z")).unwrap();
        assert_eq!(d.month, Month::new(2027, 1).unwrap());
        assert_eq!(
            d.deadline_date,
            NaiveDate::from_ymd_opt(2026, 12, 25).unwrap()
        );
        // 30 days: in mid-November both December (11-01) is closed, January (12-02) open.
        let d = next_open(30, PARIS, utc("2026-11-25T10:00:00Z")).unwrap();
        assert_eq!(d.month, Month::new(2027, 1).unwrap());
        assert_eq!(d.days_until, 7);
        // With 1 day, December's deadline is 11-30: on that day it is still open, 0 days left.
        let d = next_open(1, PARIS, utc("2026-11-30T10:00:00Z")).unwrap();
        assert_eq!(d.month, Month::new(2026, 12).unwrap());
        assert_eq!(d.days_until, 0);
    }

    #[test]
    fn only_those_who_entered_nothing_are_chased() {
        let [a, b, c, d, g] = [(); 5].map(|_| UserId::new());
        let members = [
            (a, DeptRole::Leader),
            (b, DeptRole::Member),
            (c, DeptRole::Member),
            (d, DeptRole::Member),
            (g, DeptRole::Guest),
        ];
        let day = NaiveDate::from_ymd_opt(2026, 12, 6).unwrap();
        let records = MonthRecords {
            one_offs: vec![(b, Blockout::all_day(day))],
            ranges: vec![StoredRange {
                id: RangeId::new(),
                user: c,
                range: DateRange {
                    from: day,
                    to: day,
                    window: None,
                    reason: None,
                },
                created_at: utc("2026-11-01T00:00:00Z"),
            }],
            weekly: vec![],
        };
        // a answered with an empty month; d entered nothing; g is a guest.
        let answered: HashSet<UserId> = [a].into();
        assert_eq!(to_chase(&members, &answered, &records), vec![d]);
        assert_eq!(
            to_chase(&members, &HashSet::new(), &MonthRecords::default()),
            vec![a, b, c, d]
        );
    }

    #[test]
    fn ledger_keys() {
        assert_eq!(ChaseKind::Before(7).key(), "d7");
        assert_eq!(ChaseKind::Manual.key(), "manual");
    }
}
