//! The answer deadline of a month.
//!
//! **Definition.** For a month M and a department's `availabilityDeadlineDays` N:
//!
//! * the *deadline date* is the first day of M minus N days (December 2026, N = 7 →
//!   2026-11-24);
//! * members may change their blockouts until the **end** of the deadline date in the church's
//!   time zone: the month *closes at* the start of the following local day (00:00 local on
//!   deadline date + 1), converted to UTC. When that midnight does not exist (a DST gap at
//!   midnight, as in America/Santiago), the earliest valid local time after it is used (the
//!   instant the clocks jump); when it exists twice, the earlier one;
//! * the deadline *is passed* from `closes_at` on (`now >= closes_at`): one second before, a
//!   member may still change; at `closes_at`, not;
//! * *days until* is the number of calendar days from today (the local date of `now` in the
//!   church's time zone) to the deadline date: 0 on the deadline date itself (still open), 1
//!   the day before, −1 the day after (passed), and so on.

use chrono::{DateTime, Days, NaiveDate, NaiveDateTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

use crate::model::Month;

/// The deadline of one month, seen at one instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadline {
    pub month: Month,
    /// The last local day on which members may change the month.
    pub deadline_date: NaiveDate,
    /// The first instant at which members may no longer change the month.
    pub closes_at: DateTime<Utc>,
    pub is_passed: bool,
    /// Calendar days from the local today to `deadline_date`; negative once passed.
    pub days_until: i64,
}

/// A time zone name the IANA database does not know.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown time zone {0:?}")]
pub struct UnknownTimeZone(pub String);

impl Deadline {
    /// The deadline of `month` for a department whose deadline is `deadline_days` before the
    /// month, in time zone `tz`, seen at `now`. See the module documentation for the definition.
    pub fn for_month(month: Month, deadline_days: i32, tz: Tz, now: DateTime<Utc>) -> Self {
        let deadline_date = month
            .first_day_minus(deadline_days)
            // Unreachable: months are within 2000–2100, far from chrono's limits.
            .unwrap_or(month.first_day());
        let next_day = deadline_date
            .checked_add_days(Days::new(1))
            .unwrap_or(deadline_date);
        let closes_at = start_of_local_day(tz, next_day);
        let today = now.with_timezone(&tz).date_naive();
        Self {
            month,
            deadline_date,
            closes_at,
            is_passed: now >= closes_at,
            days_until: (deadline_date - today).num_days(),
        }
    }

    /// [`Deadline::for_month`] with the time zone by its IANA name (`Europe/Paris`).
    pub fn for_month_in(
        month: Month,
        deadline_days: i32,
        tz: &str,
        now: DateTime<Utc>,
    ) -> Result<Self, UnknownTimeZone> {
        let tz: Tz = tz.parse().map_err(|_| UnknownTimeZone(tz.to_owned()))?;
        Ok(Self::for_month(month, deadline_days, tz, now))
    }
}

/// The first instant of `date` in `tz`: local midnight, or the earliest valid local time after
/// it when midnight falls in a DST gap, or the earlier of two when it is ambiguous.
pub fn start_of_local_day(tz: Tz, date: NaiveDate) -> DateTime<Utc> {
    let midnight = date.and_time(chrono::NaiveTime::MIN);
    if let Some(t) = earliest(tz, midnight) {
        return t;
    }
    // In a gap: step a minute at a time (gaps are whole minutes in the IANA data for 2000–2100
    // and last at most a day) to the first local time that exists.
    let mut local = midnight;
    for _ in 0..(24 * 60) {
        local += TimeDelta::minutes(1);
        if let Some(t) = earliest(tz, local) {
            return t;
        }
    }
    // Unreachable with real zone data; midnight read as UTC keeps the function total.
    midnight.and_utc()
}

fn earliest(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    tz.from_local_datetime(&local)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(y: i32, mo: u32) -> Month {
        Month::new(y, mo).unwrap()
    }
    fn d(y: i32, mo: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, mo, day).unwrap()
    }
    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }
    const PARIS: Tz = chrono_tz::Europe::Paris;
    const AUCKLAND: Tz = chrono_tz::Pacific::Auckland;

    #[test]
    fn december_2026_in_paris() {
        let now = utc("2026-11-20T12:00:00Z");
        let dl = Deadline::for_month(m(2026, 12), 7, PARIS, now);
        assert_eq!(dl.deadline_date, d(2026, 11, 24));
        // Winter time, UTC+1: 2026-11-25 00:00 local.
        assert_eq!(dl.closes_at, utc("2026-11-24T23:00:00Z"));
        assert!(!dl.is_passed);
        assert_eq!(dl.days_until, 4);
        assert_eq!(dl.month, m(2026, 12));
    }

    #[test]
    fn exact_boundary() {
        let closes = utc("2026-11-24T23:00:00Z");
        let before = Deadline::for_month(m(2026, 12), 7, PARIS, closes - TimeDelta::seconds(1));
        assert!(!before.is_passed);
        assert_eq!(before.days_until, 0);
        let at = Deadline::for_month(m(2026, 12), 7, PARIS, closes);
        assert!(at.is_passed);
        assert_eq!(at.days_until, -1);
        let after = Deadline::for_month(m(2026, 12), 7, PARIS, closes + TimeDelta::seconds(1));
        assert!(after.is_passed);
        assert_eq!(after.days_until, -1);
        // Late on the deadline day in UTC terms is already the next day in Paris.
        let later = Deadline::for_month(m(2026, 12), 7, PARIS, utc("2026-11-30T10:00:00Z"));
        assert_eq!(later.days_until, -6);
    }

    #[test]
    fn paris_spring_forward() {
        // DST starts in Europe on 2027-03-28 (02:00 → 03:00). April 2027, 7 days → 03-25,
        // closing 03-26 00:00 CET.
        let dl = Deadline::for_month(m(2027, 4), 7, PARIS, utc("2027-03-01T00:00:00Z"));
        assert_eq!(dl.deadline_date, d(2027, 3, 25));
        assert_eq!(dl.closes_at, utc("2027-03-25T23:00:00Z"));
        assert_eq!(dl.days_until, 24);
        // 4 days → 03-28 (the change day), closing 03-29 00:00 CEST = 22:00 UTC.
        let dl = Deadline::for_month(m(2027, 4), 4, PARIS, utc("2027-03-28T21:59:59Z"));
        assert_eq!(dl.deadline_date, d(2027, 3, 28));
        assert_eq!(dl.closes_at, utc("2027-03-28T22:00:00Z"));
        assert!(!dl.is_passed);
        assert_eq!(dl.days_until, 0);
        // 5 days → 03-27, closing 03-28 00:00, still CET (the change is at 02:00).
        let dl = Deadline::for_month(m(2027, 4), 5, PARIS, utc("2027-03-27T23:00:00Z"));
        assert_eq!(dl.closes_at, utc("2027-03-27T23:00:00Z"));
        assert!(dl.is_passed);
    }

    #[test]
    fn paris_fall_back() {
        // DST ends in Europe on 2026-10-25 (03:00 → 02:00).
        // November 2026, 30 days → 2026-10-02 (summer time), closing 10-03 00:00 CEST.
        let dl = Deadline::for_month(m(2026, 11), 30, PARIS, utc("2026-10-02T21:59:59Z"));
        assert_eq!(dl.deadline_date, d(2026, 10, 2));
        assert_eq!(dl.closes_at, utc("2026-10-02T22:00:00Z"));
        assert!(!dl.is_passed);
        assert_eq!(dl.days_until, 0);
        // 7 days → 10-25, closing 10-26 00:00 CET = 10-25 23:00 UTC (the day had 25 hours).
        let dl = Deadline::for_month(m(2026, 11), 7, PARIS, utc("2026-10-25T22:59:59Z"));
        assert_eq!(dl.deadline_date, d(2026, 10, 25));
        assert_eq!(dl.closes_at, utc("2026-10-25T23:00:00Z"));
        assert!(!dl.is_passed);
        // 8 days → 10-24, closing 10-25 00:00 CEST = 10-24 22:00 UTC.
        let dl = Deadline::for_month(m(2026, 11), 8, PARIS, utc("2026-10-24T22:00:00Z"));
        assert_eq!(dl.closes_at, utc("2026-10-24T22:00:00Z"));
        assert!(dl.is_passed);
    }

    #[test]
    fn auckland() {
        // NZDT (UTC+13) in November: closing 2026-11-25 00:00 local = 11-24 11:00 UTC.
        let dl = Deadline::for_month(m(2026, 12), 7, AUCKLAND, utc("2026-11-24T10:59:59Z"));
        assert_eq!(dl.deadline_date, d(2026, 11, 24));
        assert_eq!(dl.closes_at, utc("2026-11-24T11:00:00Z"));
        assert!(!dl.is_passed);
        assert_eq!(dl.days_until, 0);
        // At 11:00 UTC on 11-24 it is already 11-25 in Auckland: passed, though UTC still
        // says the deadline date.
        let dl = Deadline::for_month(m(2026, 12), 7, AUCKLAND, utc("2026-11-24T11:00:00Z"));
        assert!(dl.is_passed);
        assert_eq!(dl.days_until, -1);
        // Around NZ's spring forward (2026-09-27, 02:00 → 03:00): October, 4 days → 09-27,
        // closing 09-28 00:00 NZDT = 09-27 11:00 UTC.
        let dl = Deadline::for_month(m(2026, 10), 4, AUCKLAND, utc("2026-09-20T00:00:00Z"));
        assert_eq!(dl.deadline_date, d(2026, 9, 27));
        assert_eq!(dl.closes_at, utc("2026-09-27T11:00:00Z"));
        assert_eq!(dl.days_until, 7);
        // NZ's fall back (2027-04-04, 03:00 → 02:00): April 2027, 1 day → 03-31, closing
        // 04-01 00:00 NZDT = 03-31 11:00 UTC; May 2027, 27 days → 04-04, closing 04-05 00:00
        // NZST (UTC+12) = 04-04 12:00 UTC.
        let dl = Deadline::for_month(m(2027, 4), 1, AUCKLAND, utc("2027-03-01T00:00:00Z"));
        assert_eq!(dl.closes_at, utc("2027-03-31T11:00:00Z"));
        let dl = Deadline::for_month(m(2027, 5), 27, AUCKLAND, utc("2027-03-01T00:00:00Z"));
        assert_eq!(dl.deadline_date, d(2027, 4, 4));
        assert_eq!(dl.closes_at, utc("2027-04-04T12:00:00Z"));
    }

    #[test]
    fn midnight_in_a_dst_gap() {
        // Chile moves from UTC−4 to UTC−3 at 00:00 on 2026-09-06: that midnight does not
        // exist, the day starts at 01:00 −03 = 04:00 UTC.
        let santiago: Tz = chrono_tz::America::Santiago;
        assert_eq!(
            start_of_local_day(santiago, d(2026, 9, 6)),
            utc("2026-09-06T04:00:00Z")
        );
        // October 2026, 26 days → 2026-09-05, closing at that instant.
        let dl = Deadline::for_month(m(2026, 10), 26, santiago, utc("2026-09-06T03:59:59Z"));
        assert_eq!(dl.deadline_date, d(2026, 9, 5));
        assert_eq!(dl.closes_at, utc("2026-09-06T04:00:00Z"));
        assert!(!dl.is_passed);
        assert_eq!(dl.days_until, 0);
    }

    #[test]
    fn days_until_counts_local_days() {
        let dl = Deadline::for_month(m(2026, 12), 7, PARIS, utc("2026-10-24T23:30:00Z"));
        // 2026-10-25 00:30 in Paris → 30 days to 11-24.
        assert_eq!(dl.days_until, 30);
        let dl = Deadline::for_month(m(2026, 12), 1, PARIS, utc("2026-11-24T12:00:00Z"));
        assert_eq!(dl.deadline_date, d(2026, 11, 30));
        assert_eq!(dl.days_until, 6);
    }

    #[test]
    fn deadline_days_across_year_end() {
        let dl = Deadline::for_month(m(2027, 1), 10, PARIS, utc("2026-12-01T00:00:00Z"));
        assert_eq!(dl.deadline_date, d(2026, 12, 22));
        let dl = Deadline::for_month(m(2026, 3), 1, PARIS, utc("2026-01-01T00:00:00Z"));
        assert_eq!(dl.deadline_date, d(2026, 2, 28));
    }

    #[test]
    fn time_zone_by_name() {
        let now = utc("2026-11-20T12:00:00Z");
        assert_eq!(
            Deadline::for_month_in(m(2026, 12), 7, "Europe/Paris", now).unwrap(),
            Deadline::for_month(m(2026, 12), 7, PARIS, now)
        );
        assert_eq!(
            Deadline::for_month_in(m(2026, 12), 7, "Mars/Olympus", now).unwrap_err(),
            UnknownTimeZone("Mars/Olympus".into())
        );
    }
}
