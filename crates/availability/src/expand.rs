//! What date ranges and weekly rules mean for one month, and their validation.
//!
//! A range blocks every day from `from` to `to` (both included); a weekly rule blocks its
//! weekday every week from `startsOn` to `until` (both included; no `until`: for ever). Both
//! block the whole day or the same part of each day. Dates are calendar dates: daylight
//! saving time plays no part.
//!
//! The month view ([`effective`]) lists one entry per date and part of day: a one-off entry
//! wins over a range, a range over a weekly rule, so an entry shows the source a person can
//! edit first.

use std::collections::{BTreeMap, HashSet};

use chrono::{Datelike, Days, NaiveDate};
use kernel::{UserId, ValidationErrors};

use crate::MAX_RANGE_DAYS;
use crate::model::{
    Blockout, DateRange, Entry, Key, MAX_YEAR, MIN_YEAR, Month, MonthRecords, Source, StoredRange,
    StoredWeeklyRule, TimeWindow, WeeklyRule, weekday_name,
};
use crate::rules::{check_reason, sort};

impl DateRange {
    /// Field errors (paths as the API names them): a day outside 2000–2100 (`from`/`to`,
    /// `out_of_range`), `to` before `from` (`to`, `end_before_start`), more than
    /// [`MAX_RANGE_DAYS`] days, both ends included (`to`, `too_long`), a window whose end is
    /// not after its start (`endTime`, `end_before_start`), a bad reason (`reason`).
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errs = ValidationErrors::new();
        check_year("from", self.from, &mut errs);
        check_year("to", self.to, &mut errs);
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

    /// The months the range touches, in order (empty outside 2000–2100).
    pub fn months(&self) -> Vec<Month> {
        months_between(self.from, Some(self.to))
    }
}

impl WeeklyRule {
    /// Field errors: a day outside 2000–2100 (`startsOn`/`until`, `out_of_range`), `until`
    /// before `startsOn` (`until`, `end_before_start`), no such weekday between them (`until`,
    /// `no_occurrence`), a window whose end is not after its start (`endTime`,
    /// `end_before_start`), a bad reason (`reason`).
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errs = ValidationErrors::new();
        check_year("startsOn", self.starts, &mut errs);
        if let Some(u) = self.until {
            check_year("until", u, &mut errs);
        }
        if self.until.is_some_and(|u| u < self.starts) {
            errs.add(
                "until",
                "end_before_start",
                "The end date cannot be before the start date.",
            );
        } else if errs.is_empty() && self.span().is_none_or(|(first, _)| first.year() > MAX_YEAR) {
            errs.add(
                "until",
                "no_occurrence",
                format!(
                    "No {} falls between the start and the end date.",
                    weekday_name(self.weekday)
                ),
            );
        }
        check_window(self.window, &mut errs);
        check_reason_field(self.reason.as_deref(), &mut errs);
        errs.into_result()
    }

    /// The first occurrence (the first such weekday on or after `starts`), `None` when past
    /// the calendar's end.
    pub fn first(&self) -> Option<NaiveDate> {
        let ahead = (7 + self.weekday.num_days_from_monday()
            - self.starts.weekday().num_days_from_monday())
            % 7;
        self.starts.checked_add_days(Days::new(u64::from(ahead)))
    }

    /// The last occurrence on or before `until`; `None` for a rule without end.
    pub fn last(&self) -> Option<NaiveDate> {
        let until = self.until?;
        let back =
            (7 + until.weekday().num_days_from_monday() - self.weekday.num_days_from_monday()) % 7;
        until.checked_sub_days(Days::new(u64::from(back)))
    }

    /// The first and last occurrence (`None` as the last: no end), or `None` when the rule
    /// never occurs (`until` comes before the first such weekday).
    pub fn span(&self) -> Option<(NaiveDate, Option<NaiveDate>)> {
        let first = self.first()?;
        match self.until {
            None => Some((first, None)),
            Some(_) => {
                let last = self.last()?;
                (first <= last).then_some((first, Some(last)))
            }
        }
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

    /// The months the rule blocks at least one day of, in order, at most `limit` of them
    /// (a rule without end goes on to December 2100); and whether there are more.
    pub fn months(&self, limit: usize) -> (Vec<Month>, bool) {
        let Some((first, last)) = self.span() else {
            return (Vec::new(), false);
        };
        let mut out = Vec::new();
        let mut m = Month::of(first);
        let last = last.and_then(Month::of);
        while let Some(cur) = m {
            if last.is_some_and(|l| cur > l) {
                break;
            }
            if out.len() == limit {
                return (out, true);
            }
            out.push(cur);
            m = cur.next();
        }
        (out, false)
    }
}

/// Every month from the one of `from` to the one of `to` (`None`: December 2100).
fn months_between(from: NaiveDate, to: Option<NaiveDate>) -> Vec<Month> {
    let last = match to {
        Some(t) => Month::of(t),
        None => Month::new(MAX_YEAR, 12).ok(),
    };
    let (Some(mut m), Some(last)) = (Month::of(from), last) else {
        return Vec::new();
    };
    let mut out = vec![m];
    while m < last {
        match m.next() {
            Some(n) => {
                out.push(n);
                m = n;
            }
            None => break,
        }
    }
    out
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

/// One person's month as they see it: one entry per date and part of day (the [`Key`]),
/// taken from the one-off entries first, then the ranges (earliest first), then the weekly
/// rules (oldest first); sorted by date, then start time (whole days first). Rows outside
/// `month` are ignored.
pub fn effective(
    one_offs: &[Blockout],
    ranges: &[StoredRange],
    weekly: &[StoredWeeklyRule],
    month: Month,
) -> Vec<Entry> {
    let mut ranges: Vec<&StoredRange> = ranges.iter().collect();
    ranges.sort_by_key(|r| (r.range.from, r.range.to, r.id));
    let mut weekly: Vec<&StoredWeeklyRule> = weekly.iter().collect();
    weekly.sort_by_key(|w| w.id);

    let mut candidates: Vec<Entry> = one_offs
        .iter()
        .filter(|b| month.contains(b.date))
        .map(|b| Entry {
            blockout: b.clone(),
            source: Source::Date,
        })
        .collect();
    for r in ranges {
        candidates.extend(r.range.in_month(month).into_iter().map(|b| Entry {
            blockout: b,
            source: Source::Range(r.id),
        }));
    }
    for w in weekly {
        candidates.extend(w.rule.in_month(month).into_iter().map(|b| Entry {
            blockout: b,
            source: Source::Weekly(w.id),
        }));
    }
    let mut seen: HashSet<Key> = HashSet::new();
    let mut out: Vec<Entry> = candidates
        .into_iter()
        .filter(|e| seen.insert(e.blockout.key()))
        .collect();
    // Stable: among equal keys (there are none left) the priority order would hold.
    out.sort_by_key(|e| (e.blockout.date, e.blockout.start(), e.blockout.end()));
    out
}

/// [`effective`] for every person of `records`, grouped by person (in user-id order).
pub fn effective_by_person(records: &MonthRecords, month: Month) -> BTreeMap<UserId, Vec<Entry>> {
    #[derive(Default)]
    struct Person {
        one_offs: Vec<Blockout>,
        ranges: Vec<StoredRange>,
        weekly: Vec<StoredWeeklyRule>,
    }
    let mut people: BTreeMap<UserId, Person> = BTreeMap::new();
    for (user, b) in &records.one_offs {
        people.entry(*user).or_default().one_offs.push(b.clone());
    }
    for r in &records.ranges {
        people.entry(r.user).or_default().ranges.push(r.clone());
    }
    for w in &records.weekly {
        people.entry(w.user).or_default().weekly.push(w.clone());
    }
    people
        .into_iter()
        .map(|(user, p)| (user, effective(&p.one_offs, &p.ranges, &p.weekly, month)))
        .filter(|(_, entries)| !entries.is_empty())
        .collect()
}

/// The dates and parts of day the ranges and weekly rules imply in `month`.
pub fn implied_keys(
    ranges: &[StoredRange],
    weekly: &[StoredWeeklyRule],
    month: Month,
) -> HashSet<Key> {
    ranges
        .iter()
        .flat_map(|r| r.range.in_month(month))
        .chain(weekly.iter().flat_map(|w| w.rule.in_month(month)))
        .map(|b| b.key())
        .collect()
}

/// Whether a member is blocked at some time of `date` per `list`.
pub fn blocks_date(list: &[Blockout], date: NaiveDate) -> bool {
    list.iter().any(|b| b.date == date)
}

fn check_year(field: &str, d: NaiveDate, errs: &mut ValidationErrors) {
    if !(MIN_YEAR..=MAX_YEAR).contains(&d.year()) {
        errs.add(
            field,
            "out_of_range",
            format!("The date must be between {MIN_YEAR} and {MAX_YEAR}."),
        );
    }
}

fn check_window(window: Option<TimeWindow>, errs: &mut ValidationErrors) {
    if let Some((s, e)) = window
        && e <= s
    {
        errs.add(
            "endTime",
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
                ("endTime".into(), "end_before_start".into()),
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
        // 2026-01-05 is a Monday: a one-day rule on that very day.
        assert!(
            weekly(Weekday::Mon, d(2026, 1, 5), Some(d(2026, 1, 5)))
                .validate()
                .is_ok()
        );
        // 2026-01-01 is a Thursday: no Monday that day.
        assert_eq!(
            codes(weekly(Weekday::Mon, d(2026, 1, 1), Some(d(2026, 1, 1))).validate()),
            [("until".into(), "no_occurrence".into())]
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
            [("endTime".into(), "end_before_start".into())]
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

    fn stored_range(r: DateRange) -> StoredRange {
        StoredRange {
            id: crate::model::RangeId::new(),
            user: UserId::new(),
            range: r,
            created_at: chrono::Utc::now(),
        }
    }
    fn stored_weekly(w: WeeklyRule) -> StoredWeeklyRule {
        StoredWeeklyRule {
            id: crate::model::WeeklyRuleId::new(),
            user: UserId::new(),
            rule: w,
            created_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn weekly_rule_first_and_last_occurrences() {
        // 2026-12-01 is a Tuesday.
        let w = weekly(Weekday::Tue, d(2026, 12, 1), Some(d(2026, 12, 29)));
        assert_eq!(w.first(), Some(d(2026, 12, 1)));
        assert_eq!(w.last(), Some(d(2026, 12, 29)));
        let w = weekly(Weekday::Mon, d(2026, 12, 1), Some(d(2026, 12, 27)));
        assert_eq!(w.span(), Some((d(2026, 12, 7), Some(d(2026, 12, 21)))));
        let w = weekly(Weekday::Sun, d(2026, 12, 1), None);
        assert_eq!(w.span(), Some((d(2026, 12, 6), None)));
        // An end date on the day before the first occurrence: none.
        let w = weekly(Weekday::Sun, d(2026, 12, 1), Some(d(2026, 12, 5)));
        assert_eq!(w.span(), None);
        assert_eq!(w.months(13), (vec![], false));
        assert!(w.in_month(m(2026, 12)).is_empty());
    }

    #[test]
    fn weekly_rule_end_dates_across_dst_and_month_ends() {
        // Europe's clocks change on 2026-10-25 and 2027-03-28, both Sundays: dates do not
        // move. A Sunday rule ending on the change day includes it.
        let w = weekly(Weekday::Sun, d(2026, 10, 1), Some(d(2026, 10, 25)));
        assert_eq!(
            dates(&w.in_month(m(2026, 10))),
            [4, 11, 18, 25].map(|x| d(2026, 10, x)).to_vec()
        );
        assert_eq!(w.months(13), (vec![m(2026, 10)], false));
        let w = weekly(Weekday::Sun, d(2027, 3, 28), Some(d(2027, 3, 28)));
        assert_eq!(dates(&w.in_month(m(2027, 3))), [d(2027, 3, 28)]);
        // Ending on the 1st of a month that day is the weekday: that month is affected.
        // 2027-02-01 is a Monday.
        let w = weekly(Weekday::Mon, d(2027, 1, 20), Some(d(2027, 2, 1)));
        assert_eq!(w.months(13), (vec![m(2027, 1), m(2027, 2)], false));
        assert_eq!(dates(&w.in_month(m(2027, 2))), [d(2027, 2, 1)]);
        // Ending the day before: February is not.
        let w = weekly(Weekday::Mon, d(2027, 1, 20), Some(d(2027, 1, 31)));
        assert_eq!(w.months(13), (vec![m(2027, 1)], false));
        // Leap day as the end.
        let w = weekly(Weekday::Tue, d(2028, 2, 1), Some(d(2028, 2, 29)));
        assert_eq!(w.last(), Some(d(2028, 2, 29)));
        // Without end: up to the calendar's end, listed up to the limit.
        let w = weekly(Weekday::Fri, d(2100, 11, 1), None);
        assert_eq!(w.months(13), (vec![m(2100, 11), m(2100, 12)], false));
        let w = weekly(Weekday::Fri, d(2026, 1, 1), None);
        let (months, more) = w.months(3);
        assert_eq!(months, vec![m(2026, 1), m(2026, 2), m(2026, 3)]);
        assert!(more);
    }

    #[test]
    fn range_months() {
        assert_eq!(
            range(d(2026, 12, 28), d(2027, 2, 1)).months(),
            vec![m(2026, 12), m(2027, 1), m(2027, 2)]
        );
        assert_eq!(
            range(d(2026, 8, 3), d(2026, 8, 17)).months(),
            vec![m(2026, 8)]
        );
        // 366 days from the 31st touch 13 months.
        assert_eq!(range(d(2027, 12, 31), d(2028, 12, 30)).months().len(), 13);
    }

    #[test]
    fn range_years_are_bounded() {
        assert_eq!(
            codes(range(d(1999, 12, 31), d(2000, 1, 2)).validate()),
            [("from".into(), "out_of_range".into())]
        );
        assert_eq!(
            codes(weekly(Weekday::Mon, d(2026, 1, 5), Some(d(2101, 1, 3))).validate()),
            [("until".into(), "out_of_range".into())]
        );
    }

    #[test]
    fn effective_keeps_one_entry_per_date_and_part_of_day() {
        let day = d(2026, 12, 9); // a Wednesday
        let mut r = range(d(2026, 12, 8), d(2026, 12, 10));
        r.reason = Some("Away".into());
        let r = stored_range(r);
        let mut w = weekly(Weekday::Wed, d(2026, 12, 1), None);
        w.reason = Some("Choir".into());
        let w = stored_weekly(w);
        let mut evening = weekly(Weekday::Wed, d(2026, 12, 1), Some(d(2026, 12, 16)));
        evening.window = Some((t(19, 0), t(21, 0)));
        let evening = stored_weekly(evening);
        let one_offs = vec![
            Blockout::all_day(day).with_reason("Mine"),
            Blockout::part(d(2026, 12, 10), t(9, 0), t(10, 0)),
            Blockout::all_day(d(2027, 1, 1)), // another month
        ];
        let out = effective(
            &one_offs,
            std::slice::from_ref(&r),
            &[w.clone(), evening.clone()],
            m(2026, 12),
        );
        let rows: Vec<_> = out
            .iter()
            .map(|e| (e.blockout.date, e.blockout.window, e.source))
            .collect();
        assert_eq!(
            rows,
            vec![
                (d(2026, 12, 2), None, Source::Weekly(w.id)),
                (
                    d(2026, 12, 2),
                    Some((t(19, 0), t(21, 0))),
                    Source::Weekly(evening.id)
                ),
                (d(2026, 12, 8), None, Source::Range(r.id)),
                // The one-off wins over the range and the weekly rule of the same day.
                (day, None, Source::Date),
                (day, Some((t(19, 0), t(21, 0))), Source::Weekly(evening.id)),
                // A range wins over nothing else here; the one-off's part stays beside it.
                (d(2026, 12, 10), None, Source::Range(r.id)),
                (d(2026, 12, 10), Some((t(9, 0), t(10, 0))), Source::Date),
                (d(2026, 12, 16), None, Source::Weekly(w.id)),
                (
                    d(2026, 12, 16),
                    Some((t(19, 0), t(21, 0))),
                    Source::Weekly(evening.id)
                ),
                (d(2026, 12, 23), None, Source::Weekly(w.id)),
                (d(2026, 12, 30), None, Source::Weekly(w.id)),
            ]
        );
        assert_eq!(out[3].blockout.reason.as_deref(), Some("Mine"));
        assert_eq!(out[2].blockout.reason.as_deref(), Some("Away"));
        let keys = implied_keys(&[r], &[w, evening], m(2026, 12));
        assert!(keys.contains(&(day, None)));
        assert!(keys.contains(&(d(2026, 12, 16), Some((t(19, 0), t(21, 0))))));
        assert!(!keys.contains(&(d(2026, 12, 10), Some((t(9, 0), t(10, 0))))));
        // 8–10 whole days, four more Wednesdays, three evenings.
        assert_eq!(keys.len(), 10);
    }

    #[test]
    fn effective_by_person_groups_and_skips_the_empty() {
        let a = UserId::new();
        let b = UserId::new();
        let mut ra = stored_range(range(d(2026, 11, 28), d(2026, 12, 2)));
        ra.user = a;
        let mut rb = stored_range(range(d(2026, 11, 1), d(2026, 11, 3)));
        rb.user = b;
        let records = MonthRecords {
            one_offs: vec![(b, Blockout::all_day(d(2026, 12, 24)))],
            ranges: vec![ra, rb],
            weekly: vec![],
        };
        let out = effective_by_person(&records, m(2026, 12));
        assert_eq!(
            dates(
                &out[&a]
                    .iter()
                    .map(|e| e.blockout.clone())
                    .collect::<Vec<_>>()
            ),
            [d(2026, 12, 1), d(2026, 12, 2)]
        );
        assert_eq!(out[&b].len(), 1);
        let nov = effective_by_person(&records, m(2026, 11));
        assert_eq!(nov[&a].len(), 3);
        assert_eq!(nov[&b].len(), 3);
        let jan = effective_by_person(&records, m(2027, 1));
        assert!(jan.is_empty());
    }
}
