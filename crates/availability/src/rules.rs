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
//! Duplicates are **refused, not merged**: on one date, an all-day entry may not sit with any
//! other entry, and part-day windows may not intersect (touching windows such as 10:00–12:00 and
//! 12:00–14:00 are fine). The error is reported on the later entry (`unavailableDates[i]`). The
//! front end shows one editor per date, so a duplicate is a client bug worth surfacing.

use chrono::{NaiveDate, NaiveTime};
use kernel::ValidationErrors;
use serde::{Deserialize, Serialize};

use crate::model::{Blockout, Month};
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
    let mut errs = ValidationErrors::new();
    if entries.len() > MAX_ENTRIES_PER_MONTH {
        errs.add(
            LIST,
            "too_many",
            format!("A month holds at most {MAX_ENTRIES_PER_MONTH} entries."),
        );
        return Err(errs);
    }
    // (index, blockout) of the entries valid on their own, for the overlap check.
    let mut valid: Vec<(usize, Blockout)> = Vec::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        if let Some(b) = entry(month, i, e, &mut errs) {
            valid.push((i, b));
        }
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

    let start = present(&e.start_time);
    let end = present(&e.end_time);
    let mut window = None;
    match e.is_all_day {
        None => errs.add(
            at("isAllDay"),
            "required",
            "Say whether it is the whole day.",
        ),
        Some(true) => {
            for (f, v) in [("startTime", start), ("endTime", end)] {
                if v.is_some() {
                    errs.add(at(f), "not_allowed", "A whole day has no time.");
                }
            }
        }
        Some(false) => {
            let s = time_field(start, &at("startTime"), errs);
            let t = time_field(end, &at("endTime"), errs);
            if let (Some(s), Some(t)) = (s, t) {
                if t <= s {
                    errs.add(
                        at("endTime"),
                        "end_before_start",
                        "The end time must be after the start time.",
                    );
                } else {
                    window = Some((s, t));
                }
            }
        }
    }

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

fn present(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.is_empty())
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
}
