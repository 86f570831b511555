//! The domain event every change of someone's blockouts records: kind
//! [`CHANGED`] (`availability.changed`), with `user` the person whose blockouts changed,
//! `actor` who made the change (themselves or a leader), `department` the department the change
//! was made through, and a payload:
//!
//! ```json
//! {"change": "month" | "range" | "weekly",
//!  "action": "replaced" | "added" | "deleted",
//!  "months": ["2026-12", "2027-01"],
//!  "monthsTruncated": false,
//!  ...}
//! ```
//!
//! `months` lists the months the change affects, in order, at most [`MAX_EVENT_MONTHS`] of
//! them (a range covers at most 13); `monthsTruncated` is true when a weekly rule affects
//! more (one without end goes on for ever). A month change adds `entries` (how many one-off
//! entries the month now holds); a range adds `ruleId`, `from`, `to`; a weekly rule adds
//! `ruleId`, `weekday`, `startsOn`, `until`. Both add `isAllDay`, `startTime`, `endTime` and
//! `reason`. The store records the event in the transaction of the change: no event without
//! its change, none for a refused one.

use kernel::{DepartmentId, DomainEvent, OrganizationId, UserId};
use serde_json::{Value, json};

use crate::model::{Month, StoredRange, StoredWeeklyRule, TimeWindow, weekday_name};

/// The kind of the event.
pub const CHANGED: &str = "availability.changed";

/// The most months an event lists.
pub const MAX_EVENT_MONTHS: usize = 13;

/// Who changed whose blockouts, through which department.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Change {
    pub organization: OrganizationId,
    pub department: DepartmentId,
    pub actor: UserId,
    pub user: UserId,
}

/// Added or deleted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleAction {
    Added,
    Deleted,
}

impl RuleAction {
    pub fn as_str(self) -> &'static str {
        match self {
            RuleAction::Added => "added",
            RuleAction::Deleted => "deleted",
        }
    }
}

/// `2026-12`.
pub fn month_key(m: Month) -> String {
    format!("{:04}-{:02}", m.year(), m.month())
}

fn event(c: Change, payload: Value) -> DomainEvent {
    DomainEvent::new(c.organization, CHANGED)
        .department(c.department)
        .actor(c.actor)
        .user(c.user)
        .payload(payload)
}

fn window_fields(p: &mut Value, window: Option<TimeWindow>, reason: Option<&str>) {
    let t = |t: chrono::NaiveTime| t.format("%H:%M").to_string();
    p["isAllDay"] = json!(window.is_none());
    p["startTime"] = json!(window.map(|(s, _)| t(s)));
    p["endTime"] = json!(window.map(|(_, e)| t(e)));
    p["reason"] = json!(reason);
}

fn months_json(months: &[Month]) -> Value {
    Value::Array(months.iter().map(|m| json!(month_key(*m))).collect())
}

/// A month PUT: the month now holds `entries` one-off entries.
pub fn month_replaced(c: Change, month: Month, entries: usize) -> DomainEvent {
    event(
        c,
        json!({
            "change": "month",
            "action": "replaced",
            "months": [month_key(month)],
            "monthsTruncated": false,
            "entries": entries,
        }),
    )
}

/// A range added or deleted.
pub fn range_changed(c: Change, action: RuleAction, r: &StoredRange) -> DomainEvent {
    let mut months = r.range.months();
    let truncated = months.len() > MAX_EVENT_MONTHS;
    months.truncate(MAX_EVENT_MONTHS);
    let mut p = json!({
        "change": "range",
        "action": action.as_str(),
        "months": months_json(&months),
        "monthsTruncated": truncated,
        "ruleId": r.id.to_string(),
        "from": r.range.from.format("%Y-%m-%d").to_string(),
        "to": r.range.to.format("%Y-%m-%d").to_string(),
    });
    window_fields(&mut p, r.range.window, r.range.reason.as_deref());
    event(c, p)
}

/// A weekly rule added or deleted.
pub fn weekly_changed(c: Change, action: RuleAction, w: &StoredWeeklyRule) -> DomainEvent {
    let (months, truncated) = w.rule.months(MAX_EVENT_MONTHS);
    let mut p = json!({
        "change": "weekly",
        "action": action.as_str(),
        "months": months_json(&months),
        "monthsTruncated": truncated,
        "ruleId": w.id.to_string(),
        "weekday": weekday_name(w.rule.weekday),
        "startsOn": w.rule.starts.format("%Y-%m-%d").to_string(),
        "until": w.rule.until.map(|u| u.format("%Y-%m-%d").to_string()),
    });
    window_fields(&mut p, w.rule.window, w.rule.reason.as_deref());
    event(c, p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{DateRange, RangeId, WeeklyRule, WeeklyRuleId};
    use chrono::{NaiveDate, NaiveTime, Utc, Weekday};

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }
    fn change() -> Change {
        Change {
            organization: OrganizationId::new(),
            department: DepartmentId::new(),
            actor: UserId::new(),
            user: UserId::new(),
        }
    }

    #[test]
    fn a_month() {
        let c = change();
        let e = month_replaced(c, Month::new(2026, 12).unwrap(), 3);
        assert_eq!(e.kind, "availability.changed");
        assert_eq!(e.organization, c.organization);
        assert_eq!(e.department, Some(c.department));
        assert_eq!(e.actor, Some(c.actor));
        assert_eq!(e.user, Some(c.user));
        assert_eq!(
            e.payload,
            json!({"change": "month", "action": "replaced", "months": ["2026-12"],
                   "monthsTruncated": false, "entries": 3})
        );
    }

    #[test]
    fn a_range_across_the_year_end() {
        let r = StoredRange {
            id: RangeId::new(),
            user: UserId::new(),
            range: DateRange {
                from: d(2026, 12, 20),
                to: d(2027, 1, 3),
                window: Some((
                    NaiveTime::from_hms_opt(18, 0, 0).unwrap(),
                    NaiveTime::from_hms_opt(21, 0, 0).unwrap(),
                )),
                reason: Some("Vacances".into()),
            },
            created_at: Utc::now(),
        };
        let e = range_changed(change(), RuleAction::Deleted, &r);
        assert_eq!(
            e.payload,
            json!({"change": "range", "action": "deleted", "months": ["2026-12", "2027-01"],
                   "monthsTruncated": false, "ruleId": r.id.to_string(),
                   "from": "2026-12-20", "to": "2027-01-03", "isAllDay": false,
                   "startTime": "18:00", "endTime": "21:00", "reason": "Vacances"})
        );
    }

    #[test]
    fn weekly_rules_list_at_most_thirteen_months() {
        let mut w = StoredWeeklyRule {
            id: WeeklyRuleId::new(),
            user: UserId::new(),
            rule: WeeklyRule {
                weekday: Weekday::Wed,
                window: None,
                // A Thursday: the first Wednesday is in the next month.
                starts: d(2026, 12, 31),
                until: None,
                reason: None,
            },
            created_at: Utc::now(),
        };
        let e = weekly_changed(change(), RuleAction::Added, &w);
        let months = e.payload["months"].as_array().unwrap();
        assert_eq!(months.len(), 13);
        assert_eq!(months[0], "2027-01");
        assert_eq!(months[12], "2028-01");
        assert_eq!(e.payload["monthsTruncated"], true);
        assert_eq!(e.payload["until"], Value::Null);
        assert_eq!(e.payload["weekday"], "wednesday");
        assert_eq!(e.payload["isAllDay"], true);
        w.rule.until = Some(d(2027, 3, 2));
        let e = weekly_changed(change(), RuleAction::Added, &w);
        assert_eq!(e.payload["months"], json!(["2027-01", "2027-02"]));
        assert_eq!(e.payload["monthsTruncated"], false);
        assert_eq!(e.payload["until"], "2027-03-02");
    }
}
