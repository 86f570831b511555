//! The validation of a month of blockouts as the web front end sends it.
//!
//! `PUT …/members/me/availabilities` carries `{year, month, unavailableDates: [{date, isAllDay,
//! reason?, startTime?, endTime?}]}` and replaces the month's set. [`validate_payload`] (or
//! [`validate_entries`] when the month is already known) turns it into [`Blockout`]s or field
//! errors whose paths name the entry: `unavailableDates[3].endTime`.
//!
//! Codes: `out_of_range` (year, month), `too_many` (more than
//! [`MAX_ENTRIES_PER_MONTH`] entries; nothing else is checked
//! then), `invalid_format` (a date that is not a real `YYYY-MM-DD` day, a time that is not
//! `HH:MM` or `HH:MM:SS`), `required` (`isAllDay`; both times of a part-day entry),
//! `not_allowed` (a time on an all-day entry), `end_before_start` (end not after start),
//! `outside_month`, `too_long` / `invalid_characters` (reason), `overlap`.
//!
//! Ranges and weekly rules: [`validate_entries_with`] drops an entry whose date and part of day
//! a range or weekly rule of the person already implies (whatever its reason), unless the
//! person already has that very entry as a one-off of the month. The front end PUTs back
//! what it GETs (one-offs and rule days alike), so a GET then PUT changes nothing: rule days
//! are not copied into one-offs, and one-offs are kept. Dropped entries are not checked for
//! overlaps; the count limit applies to the entries kept.
//!
//! Duplicates are **refused, not merged**: on one date, an all-day entry may not sit with any
//! other entry, and part-day windows may not intersect (touching windows such as 10:00–12:00 and
//! 12:00–14:00 are fine). The error is reported on the later entry (`unavailableDates[i]`). The
//! front end shows one editor per date, so a duplicate is a client bug worth surfacing.

use std::collections::HashSet;

use chrono::{NaiveDate, NaiveTime};
use kernel::ValidationErrors;
use serde::{Deserialize, Serialize};

use crate::model::{Blockout, Key, Month, TimeWindow};
use crate::{MAX_ENTRIES_PER_MONTH, MAX_REASON_CHARS};

const LIST: &str = "unavailableDates";

/// One entry of `unavailableDates`, as received.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnavailableDateInput {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// Required; `Option` so a missing value is a field error rather than a parse failure.
    pub is_all_day: Option<bool>,
    /// `HH:MM` or `HH:MM:SS`; absent, `null` or `""` all mean "no time".
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    pub reason: Option<String>,
}

/// The body of the month PUT.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MonthPayload {
    pub year: i32,
    pub month: u32,
    #[serde(default)]
    pub unavailable_dates: Vec<UnavailableDateInput>,
}

/// The month and its blockouts (sorted by date, then start time, whole days first), or every
/// field error found.
pub fn validate_payload(p: &MonthPayload) -> Result<(Month, Vec<Blockout>), ValidationErrors> {
    let month = Month::new(p.year, p.month)?;
    let blockouts = validate_entries(month, &p.unavailable_dates)?;
    Ok((month, blockouts))
}

/// The entries of `month`, validated; see the module documentation for the rules.
pub fn validate_entries(
    month: Month,
    entries: &[UnavailableDateInput],
) -> Result<Vec<Blockout>, ValidationErrors> {
    validate_entries_with(month, entries, &HashSet::new(), &HashSet::new())
}

/// The entries of `month` to store as one-offs, validated: an entry whose date and part of
/// day is in `implied` (the days the person's ranges and weekly rules give the month) is
/// dropped unless it is in `stored` (the person's one-offs of the month already).
///
/// The count limit: at most [`MAX_ENTRIES_PER_MONTH`] entries kept, and at most that plus
/// `implied.len()` received (what a GET can return).
pub fn validate_entries_with(
    month: Month,
    entries: &[UnavailableDateInput],
    implied: &HashSet<Key>,
    stored: &HashSet<Key>,
) -> Result<Vec<Blockout>, ValidationErrors> {
    let mut errs = ValidationErrors::new();
    let too_many = |errs: &mut ValidationErrors| {
        errs.add(
            LIST,
            "too_many",
            format!("A month holds at most {MAX_ENTRIES_PER_MONTH} entries."),
        );
    };
    if entries.len() > MAX_ENTRIES_PER_MONTH + implied.len() {
        too_many(&mut errs);
        return Err(errs);
    }
    // (index, blockout) of the entries valid on their own and kept, for the overlap check.
    let mut valid: Vec<(usize, Blockout)> = Vec::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        if let Some(b) = entry(month, i, e, &mut errs) {
            let key = b.key();
            if !implied.contains(&key) || stored.contains(&key) {
                valid.push((i, b));
            }
        }
    }
    if valid.len() > MAX_ENTRIES_PER_MONTH {
        too_many(&mut errs);
        return Err(errs);
    }
    // Overlaps, reported on the later entry, once.
    for (k, (i, b)) in valid.iter().enumerate() {
        if valid[..k].iter().any(|(_, earlier)| earlier.overlaps(b)) {
            let msg = if b.is_all_day() {
                "This date already has an entry: a whole day cannot be combined with others."
            } else {
                "This time overlaps another entry on the same date."
            };
            errs.add(format!("{LIST}[{i}]"), "overlap", msg);
        }
    }
    errs.into_result()?;
    let mut out: Vec<Blockout> = valid.into_iter().map(|(_, b)| b).collect();
    sort(&mut out);
    Ok(out)
}

/// Sorts by date, then start time (whole days first), then end time, then reason (so exact
/// duplicates end up side by side).
pub(crate) fn sort(list: &mut [Blockout]) {
    list.sort_by(|a, b| {
        (a.date, a.start(), a.end())
            .cmp(&(b.date, b.start(), b.end()))
            .then_with(|| a.reason.cmp(&b.reason))
    });
}

fn entry(
    month: Month,
    i: usize,
    e: &UnavailableDateInput,
    errs: &mut ValidationErrors,
) -> Option<Blockout> {
    let at = |f: &str| format!("{LIST}[{i}].{f}");
    let before = errs.0.len();

    let date = match parse_date(&e.date) {
        Some(d) if month.contains(d) => Some(d),
        Some(_) => {
            errs.add(
                at("date"),
                "outside_month",
                format!("The date must be in {month}."),
            );
            None
        }
        None => {
            errs.add(
                at("date"),
                "invalid_format",
                "The date must be a real day written YYYY-MM-DD.",
            );
            None
        }
    };

    let window = parse_window(
        e.is_all_day,
        e.start_time.as_deref(),
        e.end_time.as_deref(),
        &at,
        errs,
    )
    .flatten();

    let reason = match check_reason(e.reason.as_deref()) {
        Ok(r) => r,
        Err((code, msg)) => {
            errs.add(at("reason"), code, msg);
            None
        }
    };

    if errs.0.len() != before {
        return None;
    }
    date.map(|date| Blockout {
        date,
        window,
        reason,
    })
}

/// The part of a day from `isAllDay`, `startTime` and `endTime` as received: `Some(None)` for
/// a whole day, `Some(Some(window))` for a part, `None` after adding field errors (named by
/// `at`): `isAllDay` `required`; a time on a whole day `not_allowed`; a missing time
/// `required`; a time not `HH:MM`/`HH:MM:SS` `invalid_format`; an end not after the start
/// `end_before_start`. Absent, `null` and `""` times are all "no time".
pub(crate) fn parse_window(
    is_all_day: Option<bool>,
    start: Option<&str>,
    end: Option<&str>,
    at: &dyn Fn(&str) -> String,
    errs: &mut ValidationErrors,
) -> Option<Option<TimeWindow>> {
    let start = start.filter(|s| !s.is_empty());
    let end = end.filter(|s| !s.is_empty());
    match is_all_day {
        None => {
            errs.add(
                at("isAllDay"),
                "required",
                "Say whether it is the whole day.",
            );
            None
        }
        Some(true) => {
            let mut ok = true;
            for (f, v) in [("startTime", start), ("endTime", end)] {
                if v.is_some() {
                    errs.add(at(f), "not_allowed", "A whole day has no time.");
                    ok = false;
                }
            }
            ok.then_some(None)
        }
        Some(false) => {
            let s = time_field(start, &at("startTime"), errs);
            let t = time_field(end, &at("endTime"), errs);
            let (s, t) = (s?, t?);
            if t <= s {
                errs.add(
                    at("endTime"),
                    "end_before_start",
                    "The end time must be after the start time.",
                );
                return None;
            }
            Some(Some((s, t)))
        }
    }
}

fn time_field(v: Option<&str>, field: &str, errs: &mut ValidationErrors) -> Option<NaiveTime> {
    match v {
        None => {
            errs.add(
                field,
                "required",
                "A part of a day needs a start and an end time.",
            );
            None
        }
        Some(s) => {
            let t = parse_time(s);
            if t.is_none() {
                errs.add(
                    field,
                    "invalid_format",
                    "The time must be written HH:MM (00:00 to 23:59).",
                );
            }
            t
        }
    }
}

/// A strict `YYYY-MM-DD` (four-digit year, two-digit month and day) that names a real day.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    let shape = b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        });
    if !shape {
        return None;
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

/// A strict `HH:MM` or `HH:MM:SS` (two digits each), 00:00:00 to 23:59:59.
pub fn parse_time(s: &str) -> Option<NaiveTime> {
    let b = s.as_bytes();
    let shape = (b.len() == 5 || b.len() == 8)
        && b.iter().enumerate().all(|(i, c)| {
            if i == 2 || i == 5 {
                *c == b':'
            } else {
                c.is_ascii_digit()
            }
        });
    if !shape {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|p| p.parse::<u32>().ok());
    let h = num(0..2)?;
    let m = num(3..5)?;
    let sec = if b.len() == 8 { num(6..8)? } else { 0 };
    // from_hms_opt refuses 24:00 and 23:59:60.
    NaiveTime::from_hms_opt(h, m, sec)
}

/// A reason, trimmed; `None` when absent or blank. Errors: `too_long` over
/// [`MAX_REASON_CHARS`] characters, `invalid_characters` for control characters (new lines
/// included) inside.
pub fn check_reason(r: Option<&str>) -> Result<Option<String>, (&'static str, String)> {
    let Some(r) = r.map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    if r.chars().count() > MAX_REASON_CHARS {
        return Err((
            "too_long",
            format!("The reason is at most {MAX_REASON_CHARS} characters."),
        ));
    }
    if r.chars().any(char::is_control) {
        return Err((
            "invalid_characters",
            "The reason cannot contain control characters or line breaks.".to_owned(),
        ));
    }
    Ok(Some(r.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec() -> Month {
        Month::new(2026, 12).unwrap()
    }
    fn all_day(date: &str) -> UnavailableDateInput {
        UnavailableDateInput {
            date: date.into(),
            is_all_day: Some(true),
            ..Default::default()
        }
    }
    fn part(date: &str, s: &str, e: &str) -> UnavailableDateInput {
        UnavailableDateInput {
            date: date.into(),
            is_all_day: Some(false),
            start_time: Some(s.into()),
            end_time: Some(e.into()),
            reason: None,
        }
    }
    fn errors(entries: &[UnavailableDateInput]) -> Vec<(String, String)> {
        validate_entries(dec(), entries)
            .unwrap_err()
            .0
            .into_iter()
            .map(|e| (e.field, e.code))
            .collect()
    }
    fn one(field: &str, code: &str) -> Vec<(String, String)> {
        vec![(field.to_owned(), code.to_owned())]
    }
    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }
    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    #[test]
    fn valid_month_is_sorted() {
        let mut reasoned = all_day("2026-12-24");
        reasoned.reason = Some("  Christmas with family ".into());
        let out = validate_entries(
            dec(),
            &[
                reasoned,
                part("2026-12-10", "18:00", "21:30:00"),
                part("2026-12-10", "09:00", "12:00"),
                all_day("2026-12-01"),
            ],
        )
        .unwrap();
        assert_eq!(
            out,
            vec![
                Blockout::all_day(d(2026, 12, 1)),
                Blockout::part(d(2026, 12, 10), t(9, 0), t(12, 0)),
                Blockout::part(d(2026, 12, 10), t(18, 0), t(21, 30)),
                Blockout::all_day(d(2026, 12, 24)).with_reason("Christmas with family"),
            ]
        );
    }

    #[test]
    fn empty_month_is_an_answer() {
        assert_eq!(validate_entries(dec(), &[]).unwrap(), vec![]);
    }

    #[test]
    fn payload_checks_month_then_entries() {
        let p = MonthPayload {
            year: 2026,
            month: 13,
            unavailable_dates: vec![],
        };
        assert_eq!(validate_payload(&p).unwrap_err().0[0].field, "month");
        let p = MonthPayload {
            year: 1999,
            month: 12,
            unavailable_dates: vec![],
        };
        assert_eq!(validate_payload(&p).unwrap_err().0[0].field, "year");
        let p = MonthPayload {
            year: 2026,
            month: 12,
            unavailable_dates: vec![all_day("2026-12-31")],
        };
        let (m, b) = validate_payload(&p).unwrap();
        assert_eq!(m, dec());
        assert_eq!(b, vec![Blockout::all_day(d(2026, 12, 31))]);
    }

    #[test]
    fn payload_deserializes_from_camel_case() {
        use serde::de::IntoDeserializer;
        use serde::de::value::{Error, MapDeserializer};
        let entry = MapDeserializer::<_, Error>::new(
            [("date", "2026-12-10")]
                .into_iter()
                .map(|(k, v)| (k.into_deserializer(), v.into_deserializer())),
        );
        let e = UnavailableDateInput::deserialize(entry).unwrap();
        assert_eq!(e.start_time, None);
        assert_eq!(e.is_all_day, None);
        assert_eq!(
            errors(&[e]),
            one("unavailableDates[0].isAllDay", "required")
        );
    }

    #[test]
    fn bad_dates() {
        for bad in [
            "2026-12-32",
            "2026-02-29",
            "2026-12-00",
            "2026-13-01",
            "2026-12-1",
            "26-12-01",
            "2026/12/01",
            " 2026-12-01",
            "+2026-12-1",
            "",
        ] {
            assert_eq!(
                errors(&[all_day(bad)]),
                one("unavailableDates[0].date", "invalid_format"),
                "{bad}"
            );
        }
        // Feb 29 exists in leap years only.
        let feb28 = Month::new(2028, 2).unwrap();
        assert!(validate_entries(feb28, &[all_day("2028-02-29")]).is_ok());
        assert!(parse_date("2100-02-29").is_none());
        assert!(parse_date("2000-02-29").is_some());
    }

    #[test]
    fn date_outside_month() {
        assert_eq!(
            errors(&[all_day("2026-12-31"), all_day("2027-01-01")]),
            one("unavailableDates[1].date", "outside_month")
        );
        assert_eq!(
            errors(&[all_day("2026-11-30")]),
            one("unavailableDates[0].date", "outside_month")
        );
    }

    #[test]
    fn bad_times() {
        for bad in [
            "25:00", "24:00", "12:60", "9:00", "09:00:60", "0900", "09:00 ", "ab:cd",
        ] {
            assert_eq!(
                errors(&[part("2026-12-10", bad, "23:00")]),
                one("unavailableDates[0].startTime", "invalid_format"),
                "{bad}"
            );
        }
        assert_eq!(parse_time("23:59:59"), NaiveTime::from_hms_opt(23, 59, 59));
        assert_eq!(parse_time("00:00"), Some(t(0, 0)));
    }

    #[test]
    fn window_order() {
        assert_eq!(
            errors(&[part("2026-12-10", "10:00", "10:00")]),
            one("unavailableDates[0].endTime", "end_before_start")
        );
        assert_eq!(
            errors(&[part("2026-12-10", "10:00", "09:59")]),
            one("unavailableDates[0].endTime", "end_before_start")
        );
        assert!(validate_entries(dec(), &[part("2026-12-10", "10:00", "10:00:01")]).is_ok());
    }

    #[test]
    fn all_day_and_times() {
        let mut e = all_day("2026-12-10");
        e.start_time = Some("10:00".into());
        e.end_time = Some("12:00".into());
        assert_eq!(
            errors(&[e]),
            vec![
                ("unavailableDates[0].startTime".into(), "not_allowed".into()),
                ("unavailableDates[0].endTime".into(), "not_allowed".into()),
            ]
        );
        // Empty strings count as absent.
        let mut e = all_day("2026-12-10");
        e.start_time = Some(String::new());
        assert!(validate_entries(dec(), &[e]).is_ok());
        let mut e = part("2026-12-10", "10:00", "");
        e.end_time = None;
        assert_eq!(errors(&[e]), one("unavailableDates[0].endTime", "required"));
        let e = UnavailableDateInput {
            date: "2026-12-10".into(),
            is_all_day: Some(false),
            ..Default::default()
        };
        assert_eq!(errors(&[e]).len(), 2);
    }

    #[test]
    fn overlaps_are_refused() {
        assert_eq!(
            errors(&[all_day("2026-12-10"), all_day("2026-12-10")]),
            one("unavailableDates[1]", "overlap")
        );
        assert_eq!(
            errors(&[part("2026-12-10", "10:00", "12:00"), all_day("2026-12-10")]),
            one("unavailableDates[1]", "overlap")
        );
        assert_eq!(
            errors(&[
                part("2026-12-10", "10:00", "12:00"),
                part("2026-12-11", "10:00", "12:00"),
                part("2026-12-10", "11:59", "13:00"),
            ]),
            one("unavailableDates[2]", "overlap")
        );
        // Touching windows are fine.
        assert!(
            validate_entries(
                dec(),
                &[
                    part("2026-12-10", "10:00", "12:00"),
                    part("2026-12-10", "12:00", "14:00"),
                ]
            )
            .is_ok()
        );
    }

    #[test]
    fn entry_count() {
        let ok: Vec<_> = (1..=31)
            .flat_map(|day| {
                let date = format!("2026-12-{day:02}");
                [part(&date, "08:00", "12:00"), part(&date, "14:00", "18:00")]
            })
            .collect();
        assert_eq!(ok.len(), 62);
        assert_eq!(validate_entries(dec(), &ok).unwrap().len(), 62);
        let mut too_many = ok;
        too_many.push(all_day("2026-12-01"));
        assert_eq!(errors(&too_many), one("unavailableDates", "too_many"));
    }

    #[test]
    fn reasons() {
        let with = |r: &str| {
            let mut e = all_day("2026-12-10");
            e.reason = Some(r.into());
            e
        };
        let max: String = "é".repeat(200);
        assert_eq!(
            validate_entries(dec(), &[with(&max)]).unwrap()[0].reason,
            Some(max.clone())
        );
        assert_eq!(
            errors(&[with(&"a".repeat(201))]),
            one("unavailableDates[0].reason", "too_long")
        );
        // Trimmed before counting.
        assert!(validate_entries(dec(), &[with(&format!("  {max}  "))]).is_ok());
        assert_eq!(
            errors(&[with("away\nall day")]),
            one("unavailableDates[0].reason", "invalid_characters")
        );
        assert_eq!(
            errors(&[with("tab\there")]),
            one("unavailableDates[0].reason", "invalid_characters")
        );
        assert_eq!(
            validate_entries(dec(), &[with("   ")]).unwrap()[0].reason,
            None
        );
    }

    #[test]
    fn every_error_is_reported() {
        let mut bad = part("2027-01-01", "25:00", "10:00");
        bad.reason = Some("x".repeat(201));
        let errs = errors(&[all_day("2026-12-32"), bad]);
        assert_eq!(
            errs,
            vec![
                ("unavailableDates[0].date".into(), "invalid_format".into()),
                ("unavailableDates[1].date".into(), "outside_month".into()),
                (
                    "unavailableDates[1].startTime".into(),
                    "invalid_format".into()
                ),
                ("unavailableDates[1].reason".into(), "too_long".into()),
            ]
        );
    }

    #[test]
    fn entries_a_rule_implies_are_not_copied_into_one_offs() {
        let day = d(2026, 12, 10);
        let implied: HashSet<Key> = [
            (day, None),
            (d(2026, 12, 11), None),
            (d(2026, 12, 12), Some((t(19, 0), t(21, 0)))),
        ]
        .into();
        // What a GET returns: the range's days, a weekly evening, a one-off beside them.
        let got = vec![
            all_day("2026-12-10"),
            part("2026-12-10", "09:00", "10:00"),
            all_day("2026-12-11"),
            part("2026-12-12", "19:00", "21:00"),
            all_day("2026-12-24"),
        ];
        let kept = validate_entries_with(dec(), &got, &implied, &HashSet::new()).unwrap();
        // The whole day of the 10th is dropped before the overlap check: the part stays.
        assert_eq!(
            kept,
            vec![
                Blockout::part(day, t(9, 0), t(10, 0)),
                Blockout::all_day(d(2026, 12, 24)),
            ]
        );
        // Another reason on an implied day does not make it a one-off either.
        let mut reasoned = all_day("2026-12-11");
        reasoned.reason = Some("Other".into());
        assert!(
            validate_entries_with(dec(), &[reasoned.clone()], &implied, &HashSet::new())
                .unwrap()
                .is_empty()
        );
        // A one-off already stored for an implied day is kept (its reason as sent).
        let stored: HashSet<Key> = [(d(2026, 12, 11), None)].into();
        assert_eq!(
            validate_entries_with(dec(), &[reasoned], &implied, &stored).unwrap(),
            vec![Blockout::all_day(d(2026, 12, 11)).with_reason("Other")]
        );
        // Malformed entries are reported whatever the rules.
        assert_eq!(
            validate_entries_with(dec(), &[all_day("2026-12-99")], &implied, &stored)
                .unwrap_err()
                .0[0]
                .field,
            "unavailableDates[0].date"
        );
    }

    #[test]
    fn the_count_limit_allows_a_full_get_back() {
        // 62 one-offs plus 31 implied whole days: what a GET can return.
        let implied: HashSet<Key> = dec().days().map(|day| (day, None)).collect();
        let mut entries: Vec<_> = (1..=31)
            .flat_map(|day| {
                let date = format!("2026-12-{day:02}");
                [
                    part(&date, "08:00", "12:00"),
                    part(&date, "14:00", "18:00"),
                    all_day(&date),
                ]
            })
            .collect();
        assert_eq!(
            validate_entries_with(dec(), &entries, &implied, &HashSet::new())
                .unwrap()
                .len(),
            62
        );
        entries.push(all_day("2026-12-01"));
        assert_eq!(
            validate_entries_with(dec(), &entries, &implied, &HashSet::new())
                .unwrap_err()
                .0[0]
                .code,
            "too_many"
        );
    }
}
