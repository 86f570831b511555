//! Blockouts, date ranges, weekly rules and months.

use chrono::{DateTime, Datelike, Days, Months, NaiveDate, NaiveTime, Utc, Weekday};
use kernel::{UserId, ValidationErrors};
use serde::{Deserialize, Serialize};

/// A part of a day: `(start, end)`, end strictly after start (checked by [`crate::rules`] and
/// [`crate::expand`] validation).
pub type TimeWindow = (NaiveTime, NaiveTime);

/// One day (or part of a day) a member cannot serve.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Blockout {
    pub date: NaiveDate,
    /// `None`: the whole day.
    pub window: Option<TimeWindow>,
    pub reason: Option<String>,
}

impl Blockout {
    /// The whole day.
    pub fn all_day(date: NaiveDate) -> Self {
        Self {
            date,
            window: None,
            reason: None,
        }
    }

    /// Part of the day.
    pub fn part(date: NaiveDate, start: NaiveTime, end: NaiveTime) -> Self {
        Self {
            date,
            window: Some((start, end)),
            reason: None,
        }
    }

    /// The same blockout with a reason.
    pub fn with_reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    pub fn is_all_day(&self) -> bool {
        self.window.is_none()
    }

    /// The start time, `None` for a whole day (so whole days sort first).
    pub fn start(&self) -> Option<NaiveTime> {
        self.window.map(|(s, _)| s)
    }

    /// The end time, `None` for a whole day.
    pub fn end(&self) -> Option<NaiveTime> {
        self.window.map(|(_, e)| e)
    }

    /// Whether two blockouts share some time: same date and either is a whole day or the
    /// windows intersect. Touching windows (10:00–12:00 and 12:00–14:00) do not overlap.
    pub fn overlaps(&self, other: &Blockout) -> bool {
        if self.date != other.date {
            return false;
        }
        match (self.window, other.window) {
            (Some((s1, e1)), Some((s2, e2))) => s1 < e2 && s2 < e1,
            _ => true,
        }
    }
}

/// Consecutive days, both ends included ("away 3–17 Aug").
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DateRange {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// `None`: whole days; otherwise the same part of every day.
    pub window: Option<TimeWindow>,
    pub reason: Option<String>,
}

/// The same weekday every week from `starts` (included) until `until` (included, `None`: no end).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct WeeklyRule {
    pub weekday: Weekday,
    /// `None`: the whole day.
    pub window: Option<TimeWindow>,
    pub starts: NaiveDate,
    pub until: Option<NaiveDate>,
    pub reason: Option<String>,
}

kernel::define_id!(
    /// A person's date range.
    RangeId
);

kernel::define_id!(
    /// A person's weekly rule.
    WeeklyRuleId
);

/// A date range as stored: whose it is and when it was entered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredRange {
    pub id: RangeId,
    pub user: UserId,
    pub range: DateRange,
    pub created_at: DateTime<Utc>,
}

/// A weekly rule as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredWeeklyRule {
    pub id: WeeklyRuleId,
    pub user: UserId,
    pub rule: WeeklyRule,
    pub created_at: DateTime<Utc>,
}

/// Where an entry of a month comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    /// A one-off entry of the month (saved by the month PUT).
    Date,
    Range(RangeId),
    Weekly(WeeklyRuleId),
}

impl Source {
    /// `date`, `range` or `weekly`.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Date => "date",
            Source::Range(_) => "range",
            Source::Weekly(_) => "weekly",
        }
    }

    /// The range's or rule's id, `None` for a one-off.
    pub fn rule_id(self) -> Option<uuid::Uuid> {
        match self {
            Source::Date => None,
            Source::Range(id) => Some(id.as_uuid()),
            Source::Weekly(id) => Some(id.as_uuid()),
        }
    }
}

/// One blockout of a month with where it comes from (the month view, the overview).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub blockout: Blockout,
    pub source: Source,
}

/// A day's date and part (`None`: the whole day): what makes two entries "the same" for the
/// month PUT, whatever their reasons.
pub type Key = (NaiveDate, Option<TimeWindow>);

impl Blockout {
    pub fn key(&self) -> Key {
        (self.date, self.window)
    }
}

/// Everything a month needs, for one person or a department: the one-off entries of the
/// month, and the ranges and weekly rules that touch it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MonthRecords {
    pub one_offs: Vec<(UserId, Blockout)>,
    pub ranges: Vec<StoredRange>,
    pub weekly: Vec<StoredWeeklyRule>,
}

/// Everything the availability domain holds about one person (the GDPR export).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PersonalData {
    /// One-off entries, by date.
    pub blockouts: Vec<Blockout>,
    pub ranges: Vec<StoredRange>,
    pub weekly: Vec<StoredWeeklyRule>,
}

/// `monday` … `sunday`.
pub fn weekday_name(w: Weekday) -> &'static str {
    match w {
        Weekday::Mon => "monday",
        Weekday::Tue => "tuesday",
        Weekday::Wed => "wednesday",
        Weekday::Thu => "thursday",
        Weekday::Fri => "friday",
        Weekday::Sat => "saturday",
        Weekday::Sun => "sunday",
    }
}

/// The weekday named in English (`sunday`, any case), `None` otherwise.
pub fn parse_weekday(s: &str) -> Option<Weekday> {
    [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ]
    .into_iter()
    .find(|w| weekday_name(*w).eq_ignore_ascii_case(s))
}

/// The smallest accepted year.
pub const MIN_YEAR: i32 = 2000;
/// The largest accepted year.
pub const MAX_YEAR: i32 = 2100;

/// A calendar month between January 2000 and December 2100. Only [`Month::new`] makes one, so
/// a `Month` is always valid. Serialized as `{"year": 2026, "month": 12}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "MonthRepr", into = "MonthRepr")]
pub struct Month {
    /// Always the first day of the month.
    first: NaiveDate,
}

#[derive(Serialize, Deserialize)]
struct MonthRepr {
    year: i32,
    month: u32,
}

impl TryFrom<MonthRepr> for Month {
    type Error = String;
    fn try_from(r: MonthRepr) -> Result<Self, Self::Error> {
        Month::new(r.year, r.month).map_err(|e| {
            e.0.iter()
                .map(|f| f.message.clone())
                .collect::<Vec<_>>()
                .join("; ")
        })
    }
}

impl From<Month> for MonthRepr {
    fn from(m: Month) -> Self {
        MonthRepr {
            year: m.year(),
            month: m.month(),
        }
    }
}

const MONTH_NAMES: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

impl Month {
    /// A month, or field errors on `year` (2000–2100) and `month` (1–12), code `out_of_range`.
    pub fn new(year: i32, month: u32) -> Result<Self, ValidationErrors> {
        let mut errs = ValidationErrors::new();
        if !(MIN_YEAR..=MAX_YEAR).contains(&year) {
            errs.add(
                "year",
                "out_of_range",
                format!("The year must be between {MIN_YEAR} and {MAX_YEAR}."),
            );
        }
        if !(1..=12).contains(&month) {
            errs.add(
                "month",
                "out_of_range",
                "The month must be between 1 and 12.",
            );
        }
        errs.into_result()?;
        match NaiveDate::from_ymd_opt(year, month, 1) {
            Some(first) => Ok(Self { first }),
            None => {
                let mut errs = ValidationErrors::new();
                errs.add("month", "out_of_range", "No such month.");
                Err(errs)
            }
        }
    }

    /// The month a date falls in, `None` outside 2000–2100.
    pub fn of(date: NaiveDate) -> Option<Self> {
        Self::new(date.year(), date.month()).ok()
    }

    pub fn year(self) -> i32 {
        self.first.year()
    }

    /// 1 to 12.
    pub fn month(self) -> u32 {
        self.first.month()
    }

    /// The month's name in English ("December").
    pub fn name(self) -> &'static str {
        MONTH_NAMES
            .get(self.first.month0() as usize)
            .copied()
            .unwrap_or("")
    }

    pub fn first_day(self) -> NaiveDate {
        self.first
    }

    pub fn last_day(self) -> NaiveDate {
        self.first
            .checked_add_months(Months::new(1))
            .and_then(|d| d.pred_opt())
            // Unreachable for 2000–2100; keeps the function total.
            .unwrap_or(self.first)
    }

    /// 28 to 31.
    pub fn len_days(self) -> u32 {
        self.last_day().day()
    }

    pub fn contains(self, date: NaiveDate) -> bool {
        self.first <= date && date <= self.last_day()
    }

    /// Every day of the month, in order.
    pub fn days(self) -> impl Iterator<Item = NaiveDate> {
        let last = self.last_day();
        self.first.iter_days().take_while(move |d| *d <= last)
    }

    /// The following month, `None` after December 2100.
    pub fn next(self) -> Option<Self> {
        self.first
            .checked_add_months(Months::new(1))
            .and_then(Self::of)
    }

    /// The previous month, `None` before January 2000.
    pub fn prev(self) -> Option<Self> {
        self.first
            .checked_sub_months(Months::new(1))
            .and_then(Self::of)
    }

    /// `first_day - days` (`days` may be negative), `None` out of chrono's range.
    pub(crate) fn first_day_minus(self, days: i32) -> Option<NaiveDate> {
        let n = Days::new(u64::from(days.unsigned_abs()));
        if days >= 0 {
            self.first.checked_sub_days(n)
        } else {
            self.first.checked_add_days(n)
        }
    }
}

impl std::fmt::Display for Month {
    /// "December 2026".
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.name(), self.year())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }
    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }
    fn codes(r: Result<Month, ValidationErrors>) -> Vec<(String, String)> {
        r.unwrap_err()
            .0
            .into_iter()
            .map(|e| (e.field, e.code))
            .collect()
    }

    #[test]
    fn month_bounds() {
        assert!(Month::new(2000, 1).is_ok());
        assert!(Month::new(2100, 12).is_ok());
        assert_eq!(
            codes(Month::new(2026, 0)),
            [("month".into(), "out_of_range".into())]
        );
        assert_eq!(
            codes(Month::new(2026, 13)),
            [("month".into(), "out_of_range".into())]
        );
        assert_eq!(
            codes(Month::new(1999, 12)),
            [("year".into(), "out_of_range".into())]
        );
        assert_eq!(
            codes(Month::new(2101, 1)),
            [("year".into(), "out_of_range".into())]
        );
        assert_eq!(codes(Month::new(1999, 0)).len(), 2);
    }

    #[test]
    fn month_helpers() {
        let dec = Month::new(2026, 12).unwrap();
        assert_eq!(dec.first_day(), d(2026, 12, 1));
        assert_eq!(dec.last_day(), d(2026, 12, 31));
        assert_eq!(dec.days().count(), 31);
        assert_eq!(dec.days().last(), Some(d(2026, 12, 31)));
        assert_eq!(dec.next(), Some(Month::new(2027, 1).unwrap()));
        assert_eq!(dec.prev(), Some(Month::new(2026, 11).unwrap()));
        assert_eq!(Month::new(2027, 1).unwrap().prev(), Some(dec));
        assert_eq!(Month::new(2026, 2).unwrap().len_days(), 28);
        assert_eq!(Month::new(2028, 2).unwrap().len_days(), 29);
        assert_eq!(Month::new(2100, 2).unwrap().len_days(), 28);
        assert_eq!(Month::new(2000, 2).unwrap().len_days(), 29);
        assert_eq!(Month::new(2100, 12).unwrap().next(), None);
        assert_eq!(Month::new(2000, 1).unwrap().prev(), None);
        assert!(dec.contains(d(2026, 12, 31)));
        assert!(!dec.contains(d(2027, 1, 1)));
        assert!(!dec.contains(d(2026, 11, 30)));
        assert_eq!(Month::of(d(2026, 12, 10)), Some(dec));
        assert_eq!(Month::of(d(1999, 12, 10)), None);
        assert_eq!(dec.to_string(), "December 2026");
        assert_eq!(Month::new(2027, 1).unwrap().name(), "January");
        assert!(Month::new(2026, 11).unwrap() < dec);
    }

    #[test]
    fn month_deserialization_validates() {
        use serde::de::IntoDeserializer;
        use serde::de::value::{Error, MapDeserializer};
        let of = |month: i64| {
            MapDeserializer::<_, Error>::new(
                [("year", 2026_i64), ("month", month)]
                    .into_iter()
                    .map(|(k, v)| (k.into_deserializer(), v.into_deserializer())),
            )
        };
        assert_eq!(
            Month::deserialize(of(12)).unwrap(),
            Month::new(2026, 12).unwrap()
        );
        assert!(Month::deserialize(of(13)).is_err());
    }

    #[test]
    fn overlaps() {
        let a = Blockout::part(d(2026, 12, 10), t(10, 0), t(12, 0));
        let b = Blockout::part(d(2026, 12, 10), t(12, 0), t(14, 0));
        let c = Blockout::part(d(2026, 12, 10), t(11, 0), t(13, 0));
        let whole = Blockout::all_day(d(2026, 12, 10));
        let other_day = Blockout::all_day(d(2026, 12, 11));
        assert!(!a.overlaps(&b));
        assert!(a.overlaps(&c) && c.overlaps(&b));
        assert!(whole.overlaps(&a) && a.overlaps(&whole));
        assert!(!whole.overlaps(&other_day));
        assert!(whole.is_all_day() && !a.is_all_day());
        assert_eq!(a.start(), Some(t(10, 0)));
        assert_eq!(a.end(), Some(t(12, 0)));
        assert_eq!(whole.with_reason("x").reason.as_deref(), Some("x"));
    }
}
