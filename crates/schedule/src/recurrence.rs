//! Recurring services: an RFC 5545 `RRULE` (parsed and expanded by the `rrule` crate) with the
//! service's `date` as its `DTSTART`.
//!
//! **What is accepted.** A rule such as `FREQ=WEEKLY;BYDAY=SU;COUNT=8`, optionally prefixed
//! with `RRULE:`, on one line, at most [`crate::MAX_RRULE_CHARS`] characters, that:
//!
//! * ends: it has `COUNT` or `UNTIL` (`never_ends` otherwise);
//! * is at most daily: `FREQ` is `DAILY`, `WEEKLY`, `MONTHLY` or `YEARLY` (`frequency_too_fine`
//!   for `HOURLY`, `MINUTELY`, `SECONDLY`), and has no `BYHOUR`/`BYMINUTE`/`BYSECOND` (the times
//!   come from `startTime` and `endTime`; `time_parts_not_allowed`);
//! * produces between 1 and [`crate::MAX_OCCURRENCES`] dates (`no_occurrence`,
//!   `too_many_occurrences`), none after [`crate::LAST_DATE`] (`too_far`);
//! * parses and is valid for the `rrule` crate (`invalid_rrule`, with the crate's reason).
//!
//! **Time zones.** Dates and times are the church's local ones. The rule is expanded in
//! floating time (the local date and start time read as UTC), so a change of daylight-saving
//! time never moves an occurrence to another day. `UNTIL` may be a date (`20270101`, the whole
//! day included), a date-time (`20270101T100000`) or a UTC date-time (`…Z`); all three are read
//! as local to the church and stored in the UTC form.
//!
//! **Which dates.** Those the rule produces from `DTSTART` (python-dateutil semantics: `DTSTART`
//! itself counts only when it matches the rule, e.g. a Monday `date` with `BYDAY=SU` starts on
//! the following Sunday).

use chrono::{NaiveDate, NaiveTime, TimeZone};
use rrule::{Frequency, RRule, RRuleSet, Tz, Unvalidated};

use crate::{LAST_DATE, MAX_OCCURRENCES, MAX_RRULE_CHARS};

/// Why a rule is refused. The `Display` is the sentence a person reads.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RecurrenceError {
    #[error("A recurrence rule is required, e.g. FREQ=WEEKLY;BYDAY=SU;COUNT=8.")]
    Empty,
    #[error("The recurrence rule has at most {MAX_RRULE_CHARS} characters.")]
    TooLong,
    #[error("The recurrence rule cannot be read: {0}")]
    Invalid(String),
    #[error(
        "The recurrence rule never ends: give COUNT (how many services) or UNTIL (the last date)."
    )]
    NeverEnds,
    #[error(
        "Services recur at most daily: FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY, not {0}."
    )]
    TooFine(String),
    #[error(
        "BYHOUR, BYMINUTE and BYSECOND are not allowed: the times come from startTime and endTime."
    )]
    TimeParts,
    #[error(
        "The recurrence rule makes more than {MAX_OCCURRENCES} services; split it into shorter series."
    )]
    TooMany,
    #[error("The recurrence rule makes no service from this date.")]
    NoOccurrence,
    #[error("The recurrence rule reaches past {LAST_DATE}; end it sooner.")]
    TooFar,
}

impl RecurrenceError {
    /// The stable code of the field error.
    pub fn code(&self) -> &'static str {
        match self {
            RecurrenceError::Empty => "required",
            RecurrenceError::TooLong => "too_long",
            RecurrenceError::Invalid(_) => "invalid_rrule",
            RecurrenceError::NeverEnds => "never_ends",
            RecurrenceError::TooFine(_) => "frequency_too_fine",
            RecurrenceError::TimeParts => "time_parts_not_allowed",
            RecurrenceError::TooMany => "too_many_occurrences",
            RecurrenceError::NoOccurrence => "no_occurrence",
            RecurrenceError::TooFar => "too_far",
        }
    }
}

/// A rule ready to store and its dates, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expansion {
    /// The rule as stored: no `RRULE:` prefix, `UNTIL` in its UTC form.
    pub rrule: String,
    pub dates: Vec<NaiveDate>,
}

/// The rule without its optional `RRULE:` prefix, with `UNTIL` written in UTC form (read as
/// the church's local time, see the module documentation).
pub fn normalize(rule: &str) -> Result<String, RecurrenceError> {
    let rule = rule.trim();
    if rule.is_empty() {
        return Err(RecurrenceError::Empty);
    }
    if rule.chars().count() > MAX_RRULE_CHARS {
        return Err(RecurrenceError::TooLong);
    }
    if rule.chars().any(char::is_control) {
        return Err(RecurrenceError::Invalid(
            "give the RRULE alone, on one line (the start is the service's date).".into(),
        ));
    }
    let body = match rule.get(..6) {
        Some(p) if p.eq_ignore_ascii_case("RRULE:") => &rule[6..],
        _ => rule,
    };
    let parts: Vec<String> = body
        .split(';')
        .filter(|p| !p.trim().is_empty())
        .map(|part| {
            let part = part.trim();
            match part.split_once('=') {
                Some((k, v)) if k.trim().eq_ignore_ascii_case("UNTIL") => {
                    format!("UNTIL={}", until_utc(v.trim()))
                }
                _ => part.to_string(),
            }
        })
        .collect();
    if parts.is_empty() {
        return Err(RecurrenceError::Empty);
    }
    Ok(parts.join(";"))
}

/// `20270101` → `20270101T235959Z` (the whole last day); `20270101T100000` → `…Z`.
fn until_utc(v: &str) -> String {
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if v.len() == 8 && digits(v) {
        format!("{v}T235959Z")
    } else if v.len() == 15 && digits(&v[..8]) && v.as_bytes()[8] == b'T' && digits(&v[9..]) {
        format!("{v}Z")
    } else {
        v.to_string()
    }
}

/// The dates of `rule` from `dtstart` (a service starting at `start`), or why it is refused.
pub fn expand(
    rule: &str,
    dtstart: NaiveDate,
    start: NaiveTime,
) -> Result<Expansion, RecurrenceError> {
    let rrule = normalize(rule)?;
    let parsed: RRule<Unvalidated> = rrule
        .parse()
        .map_err(|e: rrule::RRuleError| RecurrenceError::Invalid(sentence(&e.to_string())))?;
    match parsed.get_freq() {
        Frequency::Daily | Frequency::Weekly | Frequency::Monthly | Frequency::Yearly => {}
        other => return Err(RecurrenceError::TooFine(other.to_string())),
    }
    if !parsed.get_by_hour().is_empty()
        || !parsed.get_by_minute().is_empty()
        || !parsed.get_by_second().is_empty()
    {
        return Err(RecurrenceError::TimeParts);
    }
    let count = parsed.get_count();
    match (count, parsed.get_until()) {
        (None, None) => return Err(RecurrenceError::NeverEnds),
        (Some(0), _) => return Err(RecurrenceError::NoOccurrence),
        (Some(n), _) if n as usize > MAX_OCCURRENCES => return Err(RecurrenceError::TooMany),
        _ => {}
    }
    let start_dt = Tz::UTC.from_utc_datetime(&dtstart.and_time(start));
    let validated = parsed
        .validate(start_dt)
        .map_err(|e| RecurrenceError::Invalid(sentence(&e.to_string())))?;
    let limit = u16::try_from(MAX_OCCURRENCES + 1).unwrap_or(u16::MAX);
    let result = RRuleSet::new(start_dt).rrule(validated).all(limit);
    let mut dates: Vec<NaiveDate> = result.dates.iter().map(|d| d.date_naive()).collect();
    dates.dedup();
    if dates.len() > MAX_OCCURRENCES {
        return Err(RecurrenceError::TooMany);
    }
    match dates.last() {
        None => Err(RecurrenceError::NoOccurrence),
        Some(last) if *last > LAST_DATE => Err(RecurrenceError::TooFar),
        // Fewer dates than COUNT: the expansion stopped at the end of the calendar it knows.
        Some(_) if count.is_some_and(|n| dates.len() < n as usize) => Err(RecurrenceError::TooFar),
        Some(_) => Ok(Expansion { rrule, dates }),
    }
}

/// The crate's message as the end of a sentence.
fn sentence(s: &str) -> String {
    let s = s.trim().trim_end_matches('.');
    format!("{s}.")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, Weekday};

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }
    fn ten() -> NaiveTime {
        NaiveTime::from_hms_opt(10, 0, 0).unwrap()
    }
    fn dates(rule: &str, from: NaiveDate) -> Vec<NaiveDate> {
        expand(rule, from, ten()).unwrap().dates
    }
    fn err(rule: &str) -> RecurrenceError {
        expand(rule, d(2030, 1, 6), ten()).unwrap_err()
    }

    #[test]
    fn eight_sundays() {
        // 2030-01-06 is a Sunday.
        let got = dates("FREQ=WEEKLY;BYDAY=SU;COUNT=8", d(2030, 1, 6));
        assert_eq!(got.len(), 8);
        assert_eq!(got[0], d(2030, 1, 6));
        assert_eq!(got[7], d(2030, 2, 24));
        assert!(got.iter().all(|x| x.weekday() == Weekday::Sun));
        assert!(got.windows(2).all(|w| (w[1] - w[0]).num_days() == 7));
    }

    #[test]
    fn dtstart_counts_only_when_it_matches() {
        // A Monday start with BYDAY=SU begins on the next Sunday.
        let got = dates("RRULE:FREQ=WEEKLY;BYDAY=SU;COUNT=2", d(2030, 1, 7));
        assert_eq!(got, [d(2030, 1, 13), d(2030, 1, 20)]);
    }

    #[test]
    fn until_is_a_local_day_included() {
        for until in ["20300127", "20300127T100000", "20300127T100000Z"] {
            let e = expand(
                &format!("FREQ=WEEKLY;BYDAY=SU;UNTIL={until}"),
                d(2030, 1, 6),
                ten(),
            )
            .unwrap();
            assert_eq!(e.dates.len(), 4, "{until}");
            assert_eq!(e.dates[3], d(2030, 1, 27));
            assert!(e.rrule.ends_with('Z'), "{}", e.rrule);
        }
        // An UNTIL before the start time on the last day leaves that day out.
        let e = expand("FREQ=WEEKLY;UNTIL=20300127T090000", d(2030, 1, 6), ten()).unwrap();
        assert_eq!(e.dates.last(), Some(&d(2030, 1, 20)));
    }

    #[test]
    fn monthly_and_yearly_rules() {
        // The first Sunday of each month, six times.
        let got = dates("FREQ=MONTHLY;BYDAY=1SU;COUNT=6", d(2030, 1, 1));
        assert_eq!(got.len(), 6);
        assert!(
            got.iter()
                .all(|x| x.weekday() == Weekday::Sun && x.day() <= 7)
        );
        assert_eq!(dates("FREQ=YEARLY;COUNT=3", d(2030, 12, 25)).len(), 3);
        assert_eq!(
            dates("FREQ=DAILY;INTERVAL=2;COUNT=3", d(2030, 1, 1)),
            [d(2030, 1, 1), d(2030, 1, 3), d(2030, 1, 5)]
        );
    }

    #[test]
    fn the_limits() {
        assert_eq!(dates("FREQ=DAILY;COUNT=366", d(2030, 1, 1)).len(), 366);
        assert_eq!(err("FREQ=DAILY;COUNT=367"), RecurrenceError::TooMany);
        assert_eq!(err("FREQ=DAILY;COUNT=400"), RecurrenceError::TooMany);
        // Through UNTIL: 400 days.
        assert_eq!(err("FREQ=DAILY;UNTIL=20310210"), RecurrenceError::TooMany);
        assert_eq!(err("FREQ=WEEKLY;BYDAY=SU"), RecurrenceError::NeverEnds);
        assert_eq!(
            err("FREQ=HOURLY;COUNT=3"),
            RecurrenceError::TooFine("HOURLY".into())
        );
        assert!(matches!(
            err("FREQ=MINUTELY;COUNT=3"),
            RecurrenceError::TooFine(_)
        ));
        assert_eq!(
            err("FREQ=DAILY;BYHOUR=9,18;COUNT=4"),
            RecurrenceError::TimeParts
        );
        assert_eq!(err("FREQ=DAILY;COUNT=0"), RecurrenceError::NoOccurrence);
        assert_eq!(
            err("FREQ=YEARLY;INTERVAL=50;COUNT=3"),
            RecurrenceError::TooFar
        );
        assert_eq!(err(""), RecurrenceError::Empty);
        assert_eq!(err("  ;; "), RecurrenceError::Empty);
        assert_eq!(err(&"x".repeat(501)), RecurrenceError::TooLong);
    }

    #[test]
    fn unreadable_rules_say_why() {
        for bad in [
            "every sunday",
            "FREQ=FORTNIGHTLY;COUNT=3",
            "FREQ=WEEKLY;BYDAY=XX;COUNT=3",
            "FREQ=WEEKLY;COUNT=abc",
            "COUNT=3",
            "DTSTART:20300101T100000Z\nRRULE:FREQ=DAILY;COUNT=2",
            // UNTIL before the start.
            "FREQ=DAILY;UNTIL=20291231",
        ] {
            let e = err(bad);
            assert_eq!(e.code(), "invalid_rrule", "{bad}: {e:?}");
            assert!(e.to_string().ends_with('.'), "{e}");
        }
    }

    #[test]
    fn codes_are_stable() {
        assert_eq!(RecurrenceError::NeverEnds.code(), "never_ends");
        assert_eq!(RecurrenceError::TooMany.code(), "too_many_occurrences");
        assert_eq!(
            RecurrenceError::TooFine("HOURLY".into()).code(),
            "frequency_too_fine"
        );
        assert_eq!(
            normalize(" rrule:FREQ=DAILY; UNTIL=20300101 ;").unwrap(),
            "FREQ=DAILY;UNTIL=20300101T235959Z"
        );
    }
}

#[cfg(test)]
mod hostile {
    use super::*;

    /// Rules that produce nothing, or would run past the calendar, end quickly with an error
    /// instead of spinning or panicking.
    #[test]
    fn impossible_or_huge_rules_are_refused_quickly() {
        let start = std::time::Instant::now();
        let d = NaiveDate::from_ymd_opt(2030, 1, 6).unwrap();
        let t = NaiveTime::from_hms_opt(10, 0, 0).unwrap();
        for rule in [
            "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30;COUNT=5",
            "FREQ=MONTHLY;BYMONTHDAY=31;BYMONTH=4;COUNT=3",
            "FREQ=DAILY;INTERVAL=65535;COUNT=366",
            "FREQ=YEARLY;INTERVAL=65535;COUNT=3",
            "FREQ=WEEKLY;INTERVAL=0;COUNT=3",
            "FREQ=DAILY;COUNT=4294967295",
            "FREQ=DAILY;COUNT=99999999999999999999",
            "FREQ=DAILY;UNTIL=99991231",
            "FREQ=YEARLY;BYWEEKNO=53;BYDAY=MO;COUNT=366",
        ] {
            let r = std::panic::catch_unwind(|| expand(rule, d, t));
            match r {
                Ok(Err(_)) => {}
                Ok(Ok(e)) => panic!("{rule} accepted: {} dates", e.dates.len()),
                Err(_) => panic!("{rule} panicked"),
            }
        }
        assert!(start.elapsed() < std::time::Duration::from_secs(5));
    }
}
