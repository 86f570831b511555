//! What date ranges and weekly rules mean for one month, and their validation.

use chrono::{Datelike, NaiveDate};
use kernel::ValidationErrors;

use crate::MAX_RANGE_DAYS;
use crate::model::{Blockout, DateRange, Month, TimeWindow, WeeklyRule};
use crate::rules::{check_reason, sort};

impl DateRange {
    /// Field errors: `to` before `from` (`end_before_start`), more than
    /// [`MAX_RANGE_DAYS`] days, both ends included (`too_long`), a window whose end is not
    /// after its start (`window`, `end_before_start`), a bad reason (`reason`).
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errs = ValidationErrors::new();
        if self.to < self.from {
            errs.add(
                "to",
                "end_before_start",
                "The last day cannot be before the first.",
            );
        } else if (self.to - self.from).num_days() + 1 > MAX_RANGE_DAYS {
            errs.add(
                "to",
                "too_long",
                format!("A range covers at most {MAX_RANGE_DAYS} days."),
            );
        }
        check_window(self.window, &mut errs);
        check_reason_field(self.reason.as_deref(), &mut errs);
        errs.into_result()
    }

    /// The range's days inside `month` (none when the range misses the month).
    pub fn in_month(&self, month: Month) -> Vec<Blockout> {
        let from = self.from.max(month.first_day());
        let to = self.to.min(month.last_day());
        from.iter_days()
            .take_while(|d| *d <= to)
            .map(|date| Blockout {
                date,
                window: self.window,
                reason: self.reason.clone(),
            })
            .collect()
    }
}

impl WeeklyRule {
    /// Field errors: `until` before `starts` (`end_before_start`), a window whose end is not
    /// after its start (`window`, `end_before_start`), a bad reason (`reason`).
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errs = ValidationErrors::new();
        if self.until.is_some_and(|u| u < self.starts) {
            errs.add(
                "until",
                "end_before_start",
                "The end date cannot be before the start date.",
            );
        }
        check_window(self.window, &mut errs);
        check_reason_field(self.reason.as_deref(), &mut errs);
        errs.into_result()
    }

    /// The rule's weekdays inside `month`, between `starts` and `until` (both included).
    pub fn in_month(&self, month: Month) -> Vec<Blockout> {
        let from = self.starts.max(month.first_day());
        let to = self
            .until
            .map_or(month.last_day(), |u| u.min(month.last_day()));
        from.iter_days()
            .take_while(|d| *d <= to)
            .filter(|d| d.weekday() == self.weekday)
            .map(|date| Blockout {
                date,
                window: self.window,
                reason: self.reason.clone(),
            })
            .collect()
    }
}

/// Every blockout of `month`: the single days that fall in it, the days of the ranges and of
/// the weekly rules, sorted by date then start time (whole days first), exact duplicates
/// removed. Overlapping entries from different sources are all kept (each may carry its own
/// reason); readers that only need "is the member free" use [`Blockout::overlaps`].
pub fn for_month(
    singles: &[Blockout],
    ranges: &[DateRange],
    weekly: &[WeeklyRule],
    month: Month,
) -> Vec<Blockout> {
    let mut out: Vec<Blockout> = singles
        .iter()
        .filter(|b| month.contains(b.date))
        .cloned()
        .collect();
    out.extend(ranges.iter().flat_map(|r| r.in_month(month)));
    out.extend(weekly.iter().flat_map(|w| w.in_month(month)));
    sort(&mut out);
    out.dedup();
    out
}

/// Whether a member is blocked at some time of `date` per `list`.
pub fn blocks_date(list: &[Blockout], date: NaiveDate) -> bool {
    list.iter().any(|b| b.date == date)
}

fn check_window(window: Option<TimeWindow>, errs: &mut ValidationErrors) {
    if let Some((s, e)) = window
        && e <= s
    {
        errs.add(
            "window",
            "end_before_start",
            "The end time must be after the start time.",
        );
    }
}

fn check_reason_field(reason: Option<&str>, errs: &mut ValidationErrors) {
    if let Err((code, msg)) = check_reason(reason) {
        errs.add("reason", code, msg);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveTime, Weekday};

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }
    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }
    fn m(y: i32, mo: u32) -> Month {
        Month::new(y, mo).unwrap()
    }
    fn range(from: NaiveDate, to: NaiveDate) -> DateRange {
        DateRange {
            from,
            to,
            window: None,
            reason: None,
        }
    }
    fn weekly(weekday: Weekday, starts: NaiveDate, until: Option<NaiveDate>) -> WeeklyRule {
        WeeklyRule {
            weekday,
            window: None,
            starts,
            until,
            reason: None,
        }
    }
    fn codes(r: Result<(), ValidationErrors>) -> Vec<(String, String)> {
        r.unwrap_err()
            .0
            .into_iter()
            .map(|e| (e.field, e.code))
            .collect()
    }
    fn dates(list: &[Blockout]) -> Vec<NaiveDate> {
        list.iter().map(|b| b.date).collect()
    }

    #[test]
    fn range_inside_month() {
        let mut r = range(d(2026, 8, 3), d(2026, 8, 17));
        r.reason = Some("Holidays".into());
        let out = r.in_month(m(2026, 8));
        assert_eq!(out.len(), 15);
        assert_eq!(
            out[0],
            Blockout::all_day(d(2026, 8, 3)).with_reason("Holidays")
        );
        assert_eq!(out[14].date, d(2026, 8, 17));
        assert!(r.in_month(m(2026, 7)).is_empty());
        assert!(r.in_month(m(2026, 9)).is_empty());
    }

    #[test]
    fn range_across_year_end() {
        let r = range(d(2026, 12, 28), d(2027, 1, 3));
        assert!(r.validate().is_ok());
        assert_eq!(
            dates(&r.in_month(m(2026, 12))),
            (28..=31).map(|x| d(2026, 12, x)).collect::<Vec<_>>()
        );
        assert_eq!(
            dates(&r.in_month(m(2027, 1))),
            (1..=3).map(|x| d(2027, 1, x)).collect::<Vec<_>>()
        );
        assert!(r.in_month(m(2026, 11)).is_empty());
        assert!(r.in_month(m(2027, 2)).is_empty());
    }

    #[test]
    fn range_covering_whole_month_and_single_day() {
        let r = range(d(2026, 1, 15), d(2026, 3, 15));
        assert_eq!(r.in_month(m(2026, 2)).len(), 28);
        let one = range(d(2026, 2, 28), d(2026, 2, 28));
        assert_eq!(dates(&one.in_month(m(2026, 2))), [d(2026, 2, 28)]);
    }

    #[test]
    fn range_validation() {
        assert_eq!(
            codes(range(d(2026, 8, 17), d(2026, 8, 3)).validate()),
            [("to".into(), "end_before_start".into())]
        );
        // 366 days (a leap year) is the longest.
        assert!(range(d(2028, 1, 1), d(2028, 12, 31)).validate().is_ok());
        assert!(range(d(2026, 1, 1), d(2027, 1, 1)).validate().is_ok());
        assert_eq!(
            codes(range(d(2026, 1, 1), d(2027, 1, 2)).validate()),
            [("to".into(), "too_long".into())]
        );
        let mut r = range(d(2026, 8, 3), d(2026, 8, 3));
        r.window = Some((t(12, 0), t(12, 0)));
        r.reason = Some("x".repeat(201));
        assert_eq!(
            codes(r.validate()),
            [
                ("window".into(), "end_before_start".into()),
                ("reason".into(), "too_long".into())
            ]
        );
    }

    #[test]
    fn weekly_rule_in_month() {
        // December 2026: Tuesdays are 1, 8, 15, 22, 29.
        let mut w = weekly(Weekday::Tue, d(2026, 1, 1), None);
        w.window = Some((t(19, 0), t(21, 0)));
        let out = w.in_month(m(2026, 12));
        assert_eq!(
            dates(&out),
            [1, 8, 15, 22, 29].map(|x| d(2026, 12, x)).to_vec()
        );
        assert!(out.iter().all(|b| b.window == Some((t(19, 0), t(21, 0)))));
    }

    #[test]
    fn weekly_rule_respects_starts_and_until() {
        let w = weekly(Weekday::Tue, d(2026, 12, 8), Some(d(2026, 12, 22)));
        assert_eq!(
            dates(&w.in_month(m(2026, 12))),
            [8, 15, 22].map(|x| d(2026, 12, x)).to_vec()
        );
        // starts and until are included, exclusive bounds would drop them.
        let w = weekly(Weekday::Tue, d(2026, 12, 9), Some(d(2026, 12, 21)));
        assert_eq!(dates(&w.in_month(m(2026, 12))), [d(2026, 12, 15)]);
        // Outside its span it produces nothing.
        assert!(w.in_month(m(2026, 11)).is_empty());
        assert!(w.in_month(m(2027, 1)).is_empty());
        // Across the year end.
        let w = weekly(Weekday::Fri, d(2026, 12, 20), Some(d(2027, 1, 10)));
        assert_eq!(dates(&w.in_month(m(2026, 12))), [d(2026, 12, 25)]);
        assert_eq!(
            dates(&w.in_month(m(2027, 1))),
            [d(2027, 1, 1), d(2027, 1, 8)]
        );
    }

    #[test]
    fn weekly_rule_validation() {
        assert!(
            weekly(Weekday::Mon, d(2026, 1, 1), Some(d(2026, 1, 1)))
                .validate()
                .is_ok()
        );
        assert!(weekly(Weekday::Mon, d(2026, 1, 1), None).validate().is_ok());
        assert_eq!(
            codes(weekly(Weekday::Mon, d(2026, 1, 2), Some(d(2026, 1, 1))).validate()),
            [("until".into(), "end_before_start".into())]
        );
        let mut w = weekly(Weekday::Mon, d(2026, 1, 1), None);
        w.window = Some((t(21, 0), t(19, 0)));
        assert_eq!(
            codes(w.validate()),
            [("window".into(), "end_before_start".into())]
        );
    }

    #[test]
    fn for_month_merges_and_sorts() {
        let singles = vec![
            Blockout::part(d(2026, 12, 8), t(9, 0), t(10, 0)),
            Blockout::all_day(d(2026, 11, 30)), // another month
            Blockout::all_day(d(2026, 12, 24)),
        ];
        let ranges = vec![range(d(2026, 12, 23), d(2027, 1, 2))];
        let mut w = weekly(Weekday::Tue, d(2026, 12, 1), Some(d(2026, 12, 8)));
        w.window = Some((t(19, 0), t(21, 0)));
        let out = for_month(&singles, &ranges, &[w], m(2026, 12));
        assert_eq!(
            out,
            vec![
                Blockout::part(d(2026, 12, 1), t(19, 0), t(21, 0)),
                Blockout::part(d(2026, 12, 8), t(9, 0), t(10, 0)),
                Blockout::part(d(2026, 12, 8), t(19, 0), t(21, 0)),
                Blockout::all_day(d(2026, 12, 23)),
                // The single day and the range's day were identical: kept once.
                Blockout::all_day(d(2026, 12, 24)),
                Blockout::all_day(d(2026, 12, 25)),
                Blockout::all_day(d(2026, 12, 26)),
                Blockout::all_day(d(2026, 12, 27)),
                Blockout::all_day(d(2026, 12, 28)),
                Blockout::all_day(d(2026, 12, 29)),
                Blockout::all_day(d(2026, 12, 30)),
                Blockout::all_day(d(2026, 12, 31)),
            ]
        );
        assert!(blocks_date(&out, d(2026, 12, 8)));
        assert!(!blocks_date(&out, d(2026, 12, 9)));
        assert!(for_month(&[], &[], &[], m(2026, 12)).is_empty());
    }

    #[test]
    fn for_month_keeps_different_reasons_and_drops_exact_duplicates() {
        let day = d(2026, 12, 24);
        let singles = vec![
            Blockout::all_day(day).with_reason("b"),
            Blockout::all_day(day),
            Blockout::all_day(day).with_reason("b"),
        ];
        let mut r = range(day, day);
        r.reason = Some("a".into());
        let out = for_month(&singles, &[r], &[], m(2026, 12));
        assert_eq!(
            out,
            vec![
                Blockout::all_day(day),
                Blockout::all_day(day).with_reason("a"),
                Blockout::all_day(day).with_reason("b"),
            ]
        );
    }
}
