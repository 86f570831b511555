//! The dates a list of services covers: a month (`year` and `month`), a range (`from`, `to`,
//! both included, at most [`crate::MAX_RANGE_DAYS`] days), or by default the upcoming
//! [`crate::MAX_RANGE_DAYS`] days from the church's today.

use availability::Month;
use chrono::{Days, NaiveDate};
use kernel::ValidationErrors;

use crate::rules::check_date;
use crate::{LAST_DATE, MAX_RANGE_DAYS};

/// The query, as received.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RangeInput {
    pub year: Option<i32>,
    pub month: Option<u32>,
    /// `YYYY-MM-DD`.
    pub from: Option<String>,
    pub to: Option<String>,
}

/// `(first, last)` day, both included, or the field errors (`year`, `month`, `from`, `to`).
pub fn resolve(
    q: &RangeInput,
    today: NaiveDate,
) -> Result<(NaiveDate, NaiveDate), ValidationErrors> {
    let mut errs = ValidationErrors::new();
    let by_month = q.year.is_some() || q.month.is_some();
    if by_month && (q.from.is_some() || q.to.is_some()) {
        errs.add(
            "from",
            "not_allowed",
            "Give either year and month, or from and to, not both.",
        );
        return Err(errs);
    }
    if by_month {
        return match (q.year, q.month) {
            (Some(y), Some(m)) => {
                let month = Month::new(y, m)?;
                Ok((month.first_day(), month.last_day()))
            }
            (None, _) => {
                errs.add("year", "required", "Give the year with the month.");
                Err(errs)
            }
            (_, None) => {
                errs.add("month", "required", "Give the month with the year.");
                Err(errs)
            }
        };
    }
    let from = match &q.from {
        Some(f) => check_date("from", f, &mut errs),
        None => Some(today),
    };
    let span = Days::new(MAX_RANGE_DAYS as u64 - 1);
    let to = match &q.to {
        Some(t) => check_date("to", t, &mut errs),
        None => from.map(|f| f.checked_add_days(span).unwrap_or(LAST_DATE).min(LAST_DATE)),
    };
    let (Some(from), Some(to)) = (from, to) else {
        // Each `None` above added its error.
        return Err(errs);
    };
    if to < from {
        errs.add("to", "before_from", "The range ends before it starts.");
    } else if (to - from).num_days() >= MAX_RANGE_DAYS {
        errs.add(
            "to",
            "range_too_long",
            format!("A range covers at most {MAX_RANGE_DAYS} days."),
        );
    }
    errs.into_result()?;
    Ok((from, to))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }
    fn codes(r: Result<(NaiveDate, NaiveDate), ValidationErrors>) -> Vec<(String, String)> {
        r.unwrap_err()
            .0
            .into_iter()
            .map(|e| (e.field, e.code))
            .collect()
    }
    fn s(v: &str) -> Option<String> {
        Some(v.into())
    }

    #[test]
    fn a_month_a_range_or_the_coming_year() {
        let today = d(2030, 5, 17);
        let month = RangeInput {
            year: Some(2030),
            month: Some(2),
            ..Default::default()
        };
        assert_eq!(
            resolve(&month, today).unwrap(),
            (d(2030, 2, 1), d(2030, 2, 28))
        );
        assert_eq!(
            resolve(&RangeInput::default(), today).unwrap(),
            (today, d(2031, 5, 17))
        );
        let range = RangeInput {
            from: s("2030-06-01"),
            to: s("2030-06-30"),
            ..Default::default()
        };
        assert_eq!(
            resolve(&range, today).unwrap(),
            (d(2030, 6, 1), d(2030, 6, 30))
        );
        // 366 days, both ends included, is the most.
        let long = RangeInput {
            from: s("2030-01-01"),
            to: s("2031-01-01"),
            ..Default::default()
        };
        assert_eq!(resolve(&long, today).unwrap().1, d(2031, 1, 1));
    }

    #[test]
    fn bad_ranges_are_named() {
        let today = d(2030, 5, 17);
        let q = |year, month, from: Option<String>, to: Option<String>| RangeInput {
            year,
            month,
            from,
            to,
        };
        assert_eq!(
            codes(resolve(&q(Some(2030), Some(13), None, None), today)),
            [("month".to_string(), "out_of_range".to_string())]
        );
        assert_eq!(
            codes(resolve(&q(Some(2030), None, None, None), today)),
            [("month".to_string(), "required".to_string())]
        );
        assert_eq!(
            codes(resolve(
                &q(Some(2030), Some(1), s("2030-01-01"), None),
                today
            ))[0]
                .1,
            "not_allowed"
        );
        assert_eq!(
            codes(resolve(
                &q(None, None, s("2030-02-01"), s("2030-01-01")),
                today
            )),
            [("to".to_string(), "before_from".to_string())]
        );
        assert_eq!(
            codes(resolve(
                &q(None, None, s("2030-01-01"), s("2031-01-02")),
                today
            )),
            [("to".to_string(), "range_too_long".to_string())]
        );
        assert_eq!(
            codes(resolve(&q(None, None, s("tomorrow"), None), today)),
            [("from".to_string(), "invalid_format".to_string())]
        );
    }
}
