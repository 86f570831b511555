//! Which services an edit or a deletion reaches.
//!
//! * `this` — the service named in the path; refused when it has started.
//! * `following` — that service (refused when it has started) and every later occurrence of
//!   its series (later by date, then start time) that was not edited alone and has not
//!   started.
//! * `all` — every occurrence of its series that was not edited alone and has not started,
//!   plus the named service itself when it has not started (even if it was edited alone: it
//!   is the one the person pointed at). A started service is never changed by a series edit.
//!
//! For a service outside any series the three scopes mean the same: that service.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::model::{Scope, Service};

/// Why nothing can be reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unreachable {
    /// The named service has started (`this` and `following`), or every service of the
    /// series has (`all`).
    InPast,
}

/// The services `scope` reaches from `anchor`, among `series` (the occurrences of its series,
/// in any order; ignored for `this`), anchor first, then by date and start time.
pub fn reach(
    scope: Scope,
    anchor: &Service,
    series: &[Service],
    tz: Tz,
    now: DateTime<Utc>,
) -> Result<Vec<Service>, Unreachable> {
    let anchor_past = anchor.is_past(tz, now);
    let scope = if anchor.series.is_none() {
        Scope::This
    } else {
        scope
    };
    if anchor_past && scope != Scope::All {
        return Err(Unreachable::InPast);
    }
    let key = |s: &Service| (s.date, s.start, s.id);
    let mut others: Vec<Service> = series
        .iter()
        .filter(|s| s.id != anchor.id && s.series == anchor.series && s.series.is_some())
        .filter(|s| !s.is_exception && !s.is_past(tz, now))
        .filter(|s| match scope {
            Scope::This => false,
            Scope::Following => key(s) > key(anchor),
            Scope::All => true,
        })
        .cloned()
        .collect();
    others.sort_by_key(key);
    let mut out = Vec::with_capacity(others.len() + 1);
    if !anchor_past {
        out.push(anchor.clone());
    }
    out.extend(others);
    if out.is_empty() {
        return Err(Unreachable::InPast);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Series;
    use chrono::{Duration, NaiveDate, NaiveTime};
    use kernel::{DepartmentId, SeriesId};

    const TZ: Tz = chrono_tz::Europe::Paris;

    fn series(n: u32) -> Vec<Service> {
        let s = Series {
            id: SeriesId::new(),
            department: DepartmentId::new(),
            rrule: "FREQ=WEEKLY;COUNT=5".into(),
            dtstart: NaiveDate::from_ymd_opt(2030, 1, 6).unwrap(),
            name: "Culte".into(),
            service_type: String::new(),
            start: NaiveTime::from_hms_opt(10, 0, 0).unwrap(),
            end: NaiveTime::from_hms_opt(12, 0, 0).unwrap(),
            location: None,
            notes: None,
            required_roles: vec![],
        };
        (0..n)
            .map(|k| s.occurrence(s.dtstart + Duration::weeks(i64::from(k))))
            .collect()
    }

    /// Just after the second occurrence started (2030-01-13 10:00 Paris).
    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2030-01-13T09:00:01Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn ids(v: &[Service]) -> Vec<kernel::ServiceId> {
        v.iter().map(|s| s.id).collect()
    }

    #[test]
    fn this_is_the_service_alone() {
        let s = series(5);
        assert_eq!(
            ids(&reach(Scope::This, &s[3], &s, TZ, now()).unwrap()),
            [s[3].id]
        );
        assert_eq!(
            reach(Scope::This, &s[1], &s, TZ, now()),
            Err(Unreachable::InPast)
        );
    }

    #[test]
    fn following_skips_exceptions_and_earlier_ones() {
        let mut s = series(5);
        s[3].is_exception = true;
        let got = reach(Scope::Following, &s[2], &s, TZ, now()).unwrap();
        assert_eq!(ids(&got), [s[2].id, s[4].id]);
        // An exception named in the path is itself reached.
        let got = reach(Scope::Following, &s[3], &s, TZ, now()).unwrap();
        assert_eq!(ids(&got), [s[3].id, s[4].id]);
        assert_eq!(
            reach(Scope::Following, &s[0], &s, TZ, now()),
            Err(Unreachable::InPast)
        );
    }

    #[test]
    fn all_is_every_future_occurrence_even_from_a_past_one() {
        let mut s = series(5);
        s[4].is_exception = true;
        let got = reach(Scope::All, &s[0], &s, TZ, now()).unwrap();
        assert_eq!(ids(&got), [s[2].id, s[3].id]);
        let got = reach(Scope::All, &s[3], &s, TZ, now()).unwrap();
        assert_eq!(ids(&got), [s[3].id, s[2].id]);
        // Once every occurrence has started there is nothing left.
        let late = now() + Duration::weeks(10);
        assert_eq!(
            reach(Scope::All, &s[0], &s, TZ, late),
            Err(Unreachable::InPast)
        );
    }

    #[test]
    fn a_one_off_is_always_alone() {
        let mut one = series(1).remove(0);
        one.series = None;
        let others = series(3);
        let later = one.date + Duration::weeks(2);
        let mut future = one.clone();
        future.date = later;
        for scope in [Scope::This, Scope::Following, Scope::All] {
            assert_eq!(
                ids(&reach(scope, &future, &others, TZ, now()).unwrap()),
                [future.id]
            );
        }
        // A past one-off is refused whatever the scope.
        one.date = NaiveDate::from_ymd_opt(2030, 1, 1).unwrap();
        assert_eq!(
            reach(Scope::All, &one, &[], TZ, now()),
            Err(Unreachable::InPast)
        );
    }
}
