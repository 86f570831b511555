//! A service's wall-clock times, in its church's zone, as instants.

use chrono::{DateTime, Days, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeDelta, Utc};
use chrono_tz::Tz;

/// The church's zone; an unknown name (which the organizations API never stores) falls back
/// to Europe/Paris, as the rota's own rules do.
pub fn zone(name: &str) -> Tz {
    name.parse().unwrap_or(chrono_tz::Europe::Paris)
}

/// The instant a local wall-clock time names. In the autumn's repeated hour the first
/// occurrence is taken; a time that does not exist (inside the spring's skipped hour) is read
/// with the offset in force just before the gap, so 02:30 becomes 03:30 summer time, as
/// calendar applications do (RFC 5545 §3.3.5).
pub fn instant(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    if let Some(t) = local.and_local_timezone(tz).earliest() {
        return t.with_timezone(&Utc);
    }
    // In a gap: the offset before it is the one an hour earlier (no zone skips more than that
    // at once; a few skipped whole days, and are handled by stepping again).
    let mut probe = local;
    for _ in 0..48 {
        probe -= TimeDelta::hours(1);
        if let Some(before) = probe.and_local_timezone(tz).earliest() {
            let offset = before.offset().fix();
            return (local - offset).and_utc();
        }
    }
    local.and_utc()
}

/// A service's start and end as instants. An end at or before the start runs past midnight.
pub fn span(
    tz: Tz,
    date: NaiveDate,
    start: NaiveTime,
    end: NaiveTime,
) -> (DateTime<Utc>, DateTime<Utc>) {
    let end_date = if end <= start {
        date.checked_add_days(Days::new(1)).unwrap_or(date)
    } else {
        date
    };
    (
        instant(tz, date.and_time(start)),
        instant(tz, end_date.and_time(end)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, min, 0)
            .unwrap()
    }

    #[test]
    fn winter_summer_and_the_transitions() {
        let ny = zone("America/New_York");
        // EST (UTC−5) in January, EDT (UTC−4) in July.
        assert_eq!(
            instant(ny, at(2030, 1, 6, 10, 0)),
            at(2030, 1, 6, 15, 0).and_utc()
        );
        assert_eq!(
            instant(ny, at(2030, 7, 7, 10, 0)),
            at(2030, 7, 7, 14, 0).and_utc()
        );
        // 2030-03-10 02:30 does not exist in New York: read as 03:30 EDT.
        assert_eq!(
            instant(ny, at(2030, 3, 10, 2, 30)),
            at(2030, 3, 10, 7, 30).and_utc()
        );
        // 2030-11-03 01:30 happens twice: the first (EDT) one.
        assert_eq!(
            instant(ny, at(2030, 11, 3, 1, 30)),
            at(2030, 11, 3, 5, 30).and_utc()
        );
        let paris = zone("Europe/Paris");
        assert_eq!(
            instant(paris, at(2030, 1, 6, 10, 0)),
            at(2030, 1, 6, 9, 0).and_utc()
        );
        assert_eq!(zone("Not/AZone"), chrono_tz::Europe::Paris);
    }

    #[test]
    fn an_evening_past_midnight_ends_the_next_day() {
        let paris = zone("Europe/Paris");
        let d = NaiveDate::from_ymd_opt(2030, 1, 6).unwrap();
        let (s, e) = span(
            paris,
            d,
            NaiveTime::from_hms_opt(22, 0, 0).unwrap(),
            NaiveTime::from_hms_opt(1, 0, 0).unwrap(),
        );
        assert_eq!(e - s, TimeDelta::hours(3));
    }
}
