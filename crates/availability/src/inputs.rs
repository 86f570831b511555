//! Date ranges and weekly rules as the front end sends them (strings from JSON), turned into
//! [`DateRange`]s and [`WeeklyRule`]s or field errors named as the body names them.
//!
//! * range: `{from, to, isAllDay, startTime?, endTime?, reason?}`;
//! * weekly rule: `{weekday: "sunday"…, isAllDay, startTime?, endTime?, startsOn, until?, reason?}`.
//!
//! Every field is optional here so that a missing one is a `required` field error rather than
//! a body that does not parse. Codes: `required`, `invalid_format` (a date not `YYYY-MM-DD`, a
//! time not `HH:MM`), `invalid_value` (a weekday), `not_allowed` (a time on a whole day),
//! then those of [`DateRange::validate`] and [`WeeklyRule::validate`].

use kernel::ValidationErrors;
use serde::{Deserialize, Serialize};

use crate::model::{DateRange, WeeklyRule, parse_weekday};
use crate::rules::{check_reason, parse_date, parse_window};

/// The body of a range POST.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RangeInput {
    /// `YYYY-MM-DD`, the first day.
    pub from: Option<String>,
    /// `YYYY-MM-DD`, the last day (included).
    pub to: Option<String>,
    pub is_all_day: Option<bool>,
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    pub reason: Option<String>,
}

/// The body of a weekly rule POST.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WeeklyInput {
    /// `monday` … `sunday`.
    pub weekday: Option<String>,
    pub is_all_day: Option<bool>,
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    /// `YYYY-MM-DD`, the first day the rule applies (included).
    pub starts_on: Option<String>,
    /// `YYYY-MM-DD`, the last day the rule applies (included); absent: no end.
    pub until: Option<String>,
    pub reason: Option<String>,
}

fn name(f: &str) -> String {
    f.to_owned()
}

fn date_field(
    field: &str,
    v: Option<&str>,
    required: bool,
    errs: &mut ValidationErrors,
) -> Option<chrono::NaiveDate> {
    match v.filter(|s| !s.is_empty()) {
        None => {
            if required {
                errs.add(field, "required", "This date is required.");
            }
            None
        }
        Some(s) => {
            let d = parse_date(s);
            if d.is_none() {
                errs.add(
                    field,
                    "invalid_format",
                    "The date must be a real day written YYYY-MM-DD.",
                );
            }
            d
        }
    }
}

fn reason_field(r: Option<&str>, errs: &mut ValidationErrors) -> Option<Option<String>> {
    match check_reason(r) {
        Ok(r) => Some(r),
        Err((code, msg)) => {
            errs.add("reason", code, msg);
            None
        }
    }
}

/// A range, or every field error found.
pub fn parse_range(i: &RangeInput) -> Result<DateRange, ValidationErrors> {
    let mut errs = ValidationErrors::new();
    let from = date_field("from", i.from.as_deref(), true, &mut errs);
    let to = date_field("to", i.to.as_deref(), true, &mut errs);
    let window = parse_window(
        i.is_all_day,
        i.start_time.as_deref(),
        i.end_time.as_deref(),
        &name,
        &mut errs,
    );
    let reason = reason_field(i.reason.as_deref(), &mut errs);
    match (from, to, window, reason) {
        (Some(from), Some(to), Some(window), Some(reason)) if errs.is_empty() => {
            let r = DateRange {
                from,
                to,
                window,
                reason,
            };
            r.validate()?;
            Ok(r)
        }
        _ => Err(errs),
    }
}

/// A weekly rule, or every field error found.
pub fn parse_weekly(i: &WeeklyInput) -> Result<WeeklyRule, ValidationErrors> {
    let mut errs = ValidationErrors::new();
    let weekday = match i.weekday.as_deref().filter(|s| !s.is_empty()) {
        None => {
            errs.add("weekday", "required", "Say which day of the week.");
            None
        }
        Some(s) => {
            let w = parse_weekday(s);
            if w.is_none() {
                errs.add(
                    "weekday",
                    "invalid_value",
                    "The weekday is one of monday, tuesday, wednesday, thursday, friday, saturday, sunday.",
                );
            }
            w
        }
    };
    let window = parse_window(
        i.is_all_day,
        i.start_time.as_deref(),
        i.end_time.as_deref(),
        &name,
        &mut errs,
    );
    let starts = date_field("startsOn", i.starts_on.as_deref(), true, &mut errs);
    let until = date_field("until", i.until.as_deref(), false, &mut errs);
    let reason = reason_field(i.reason.as_deref(), &mut errs);
    match (weekday, window, starts, reason) {
        (Some(weekday), Some(window), Some(starts), Some(reason)) if errs.is_empty() => {
            let w = WeeklyRule {
                weekday,
                window,
                starts,
                until,
                reason,
            };
            w.validate()?;
            Ok(w)
        }
        _ => Err(errs),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, NaiveTime, Weekday};

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }
    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }
    fn s(v: &str) -> Option<String> {
        Some(v.to_owned())
    }
    fn codes(r: Result<impl std::fmt::Debug, ValidationErrors>) -> Vec<(String, String)> {
        r.unwrap_err()
            .0
            .into_iter()
            .map(|e| (e.field, e.code))
            .collect()
    }
    fn pair(f: &str, c: &str) -> (String, String) {
        (f.to_owned(), c.to_owned())
    }
    fn range(from: &str, to: &str) -> RangeInput {
        RangeInput {
            from: s(from),
            to: s(to),
            is_all_day: Some(true),
            ..Default::default()
        }
    }
    fn weekly(day: &str, starts: &str, until: Option<&str>) -> WeeklyInput {
        WeeklyInput {
            weekday: s(day),
            is_all_day: Some(true),
            starts_on: s(starts),
            until: until.map(str::to_owned),
            ..Default::default()
        }
    }

    #[test]
    fn a_valid_range() {
        let mut i = range("2026-08-03", "2026-08-17");
        i.reason = s("  Vacances ");
        assert_eq!(
            parse_range(&i).unwrap(),
            DateRange {
                from: d(2026, 8, 3),
                to: d(2026, 8, 17),
                window: None,
                reason: s("Vacances"),
            }
        );
        let mut i = range("2026-08-03", "2026-08-03");
        i.is_all_day = Some(false);
        i.start_time = s("18:00");
        i.end_time = s("21:30");
        assert_eq!(parse_range(&i).unwrap().window, Some((t(18, 0), t(21, 30))));
    }

    #[test]
    fn range_errors_name_their_fields() {
        assert_eq!(
            codes(parse_range(&range("2026-08-17", "2026-08-03"))),
            [pair("to", "end_before_start")]
        );
        // 400 days.
        assert_eq!(
            codes(parse_range(&range("2026-01-01", "2027-02-04"))),
            [pair("to", "too_long")]
        );
        assert_eq!(
            codes(parse_range(&range("2026-02-30", "17/08/2026"))),
            [pair("from", "invalid_format"), pair("to", "invalid_format")]
        );
        assert_eq!(
            codes(parse_range(&range("1999-12-31", "2000-01-01"))),
            [pair("from", "out_of_range")]
        );
        assert_eq!(
            codes(parse_range(&range("2100-12-31", "2101-01-01"))),
            [pair("to", "out_of_range")]
        );
        assert_eq!(
            codes(parse_range(&RangeInput::default())),
            [
                pair("from", "required"),
                pair("to", "required"),
                pair("isAllDay", "required")
            ]
        );
        let mut i = range("2026-08-03", "2026-08-04");
        i.start_time = s("10:00");
        i.reason = s(&"x".repeat(201));
        assert_eq!(
            codes(parse_range(&i)),
            [pair("startTime", "not_allowed"), pair("reason", "too_long")]
        );
        let mut i = range("2026-08-03", "2026-08-04");
        i.is_all_day = Some(false);
        i.start_time = s("21:00");
        i.end_time = s("20:00");
        assert_eq!(
            codes(parse_range(&i)),
            [pair("endTime", "end_before_start")]
        );
        i.end_time = None;
        assert_eq!(codes(parse_range(&i)), [pair("endTime", "required")]);
        i.end_time = s("25:00");
        assert_eq!(codes(parse_range(&i)), [pair("endTime", "invalid_format")]);
    }

    #[test]
    fn a_valid_weekly_rule() {
        let mut i = weekly("Wednesday", "2026-09-01", Some("2027-06-30"));
        i.is_all_day = Some(false);
        i.start_time = s("19:00");
        i.end_time = s("21:00");
        i.reason = s("Chorale");
        assert_eq!(
            parse_weekly(&i).unwrap(),
            WeeklyRule {
                weekday: Weekday::Wed,
                window: Some((t(19, 0), t(21, 0))),
                starts: d(2026, 9, 1),
                until: Some(d(2027, 6, 30)),
                reason: s("Chorale"),
            }
        );
        // No end; an empty until is no end too.
        assert_eq!(
            parse_weekly(&weekly("sunday", "2026-09-01", None))
                .unwrap()
                .until,
            None
        );
        assert_eq!(
            parse_weekly(&weekly("sunday", "2026-09-01", Some("")))
                .unwrap()
                .until,
            None
        );
    }

    #[test]
    fn weekly_rule_errors_name_their_fields() {
        assert_eq!(
            codes(parse_weekly(&weekly("funday", "2026-09-01", None))),
            [pair("weekday", "invalid_value")]
        );
        assert_eq!(
            codes(parse_weekly(&weekly("", "2026-09-01", None))),
            [pair("weekday", "required")]
        );
        assert_eq!(
            codes(parse_weekly(&weekly(
                "monday",
                "2026-09-02",
                Some("2026-09-01")
            ))),
            [pair("until", "end_before_start")]
        );
        // 2026-09-01 is a Tuesday: no Monday until the 6th.
        assert_eq!(
            codes(parse_weekly(&weekly(
                "monday",
                "2026-09-01",
                Some("2026-09-06")
            ))),
            [pair("until", "no_occurrence")]
        );
        assert!(parse_weekly(&weekly("monday", "2026-09-01", Some("2026-09-07"))).is_ok());
        assert_eq!(
            codes(parse_weekly(&weekly(
                "monday",
                "2026-9-1",
                Some("2026-13-01")
            ))),
            [
                pair("startsOn", "invalid_format"),
                pair("until", "invalid_format")
            ]
        );
        assert_eq!(
            codes(parse_weekly(&weekly(
                "monday",
                "1999-01-01",
                Some("2101-01-01")
            ))),
            [
                pair("startsOn", "out_of_range"),
                pair("until", "out_of_range")
            ]
        );
        // The last days of the calendar hold no Monday.
        assert_eq!(
            codes(parse_weekly(&weekly("monday", "2100-12-28", None))),
            [pair("until", "no_occurrence")]
        );
        assert_eq!(
            codes(parse_weekly(&WeeklyInput::default())),
            [
                pair("weekday", "required"),
                pair("isAllDay", "required"),
                pair("startsOn", "required")
            ]
        );
    }
}
