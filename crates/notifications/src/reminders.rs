//! Reminders before each service.
//!
//! **Rule.** Every assignment of a *published* rota that its member has not declined gets a
//! `service.reminder` the department's `reminderHoursBefore` hours (1–168) before the
//! service starts. The start is the service's local date and start time in the church's time
//! zone, converted to an instant as the calendar export does (in the autumn's repeated hour
//! the first occurrence; a time inside the spring's skipped hour is read with the offset in
//! force before the gap, so 02:30 becomes 03:30 summer time). Then
//!
//! * `remind_at = start − hours`;
//! * the reminder is **due** when `remind_at ≤ now < start` and no reminder was recorded for
//!   (assignment, its current member, `remind_at`) yet (a replacement keeps the assignment's
//!   id: the new member is reminded too). A service created or published inside the window is
//!   therefore due at once (its `remind_at` is past, its start is not); one that already
//!   started is never reminded (a worker that was down does not send stale reminders);
//! * moving the service or changing the setting gives a new `remind_at`: a new reminder,
//!   due when its own time comes (at once when that time is already past). Moving it back to
//!   a schedule already reminded sends nothing again.
//!
//! The store records a ledger row per (assignment, member, `remind_at`) — unique — and the outbox
//! event only for the rows it actually inserted, in one transaction, so however many workers
//! run [`run`] at once, and however often a crashed run is retried, each schedule is
//! reminded exactly once. Pure: no I/O, "now" is a parameter.

use crate::rules::SERVICE_REMINDER;
use chrono::{DateTime, Days, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeDelta, Utc};
use chrono_tz::Tz;
use kernel::{DepartmentId, DomainEvent, OrganizationId, UserId};
use serde_json::json;
use std::future::Future;
use uuid::Uuid;

pub use accounts::StoreError;

/// The fewest and most hours before a service a department may ask for.
pub const HOURS_RANGE: std::ops::RangeInclusive<i32> = 1..=168;
/// Ledger rows (and events) recorded per transaction.
pub const REMINDER_BATCH: usize = 500;

/// One assignment of a published rota whose service is near, as the store reads it.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    pub organization: OrganizationId,
    pub department: DepartmentId,
    pub department_name: Option<String>,
    pub assignment: Uuid,
    pub planning: Uuid,
    pub service: Uuid,
    pub user: UserId,
    /// The service's name, or its type when it has none.
    pub service_name: String,
    /// Local to the church.
    pub date: NaiveDate,
    pub start: NaiveTime,
    pub end: Option<NaiveTime>,
    pub location: Option<String>,
    pub role: String,
    /// The church's IANA time zone (`Europe/Paris`); an unknown name is read as Europe/Paris,
    /// as the rest of the code does.
    pub timezone: String,
    /// The department's `reminderHoursBefore`.
    pub hours_before: i32,
    /// `pending`, `confirmed` or `declined`.
    pub status: String,
    /// The `remind_at` of every reminder already recorded for this assignment and its current
    /// member (one who replaced another on it has not been reminded yet).
    pub recorded: Vec<DateTime<Utc>>,
}

/// A reminder to record now.
#[derive(Clone, Debug, PartialEq)]
pub struct DueReminder {
    pub organization: OrganizationId,
    pub assignment: Uuid,
    pub user: UserId,
    pub remind_at: DateTime<Utc>,
    pub starts_at: DateTime<Utc>,
    /// The `service.reminder` event to record with it.
    pub event: DomainEvent,
}

/// What a reminders run did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReminderStats {
    /// Assignments of published rotas in the date window.
    pub candidates: u64,
    /// Reminders due by the rule.
    pub due: u64,
    /// Reminders this run recorded (the others were recorded by a concurrent run).
    pub recorded: u64,
}

/// What the reminders need from a store.
pub trait ReminderStore: Send + Sync + 'static {
    /// Every assignment, in every church, of a published rota whose service's local date is
    /// within `from..=to`, with the `remind_at` already recorded for it: a fixed number of
    /// statements whatever the size.
    fn reminder_candidates(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> impl Future<Output = Result<Vec<Candidate>, StoreError>> + Send;
    /// Records the ledger rows of `due` (one per (assignment, member, `remind_at`), skipping those that
    /// exist) and a `service.reminder` outbox event for each row actually inserted, in one
    /// transaction and a fixed number of statements. Returns how many were inserted.
    fn record_reminders(
        &self,
        due: &[DueReminder],
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

/// Whether an event of this kind may make a reminder due sooner than the every-minute run
/// would see it: a rota published, an assignment added or changed, a service moved. Recording
/// one enqueues the reminders job in the same transaction.
pub fn reschedules(kind: &str) -> bool {
    matches!(
        kind,
        "rota.published" | "assignment.added" | "assignment.changed" | "service.updated"
    )
}

/// The church's zone by name (Europe/Paris when the name is unknown).
pub fn zone(name: &str) -> Tz {
    name.parse().unwrap_or(chrono_tz::Europe::Paris)
}

/// The instant a local wall-clock time names (see the module documentation for the DST
/// transitions).
pub fn instant(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    if let Some(t) = local.and_local_timezone(tz).earliest() {
        return t.with_timezone(&Utc);
    }
    // In a gap: read it with the offset in force before the gap.
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

/// When the service of `c` starts, and when its member is to be reminded.
pub fn schedule_of(c: &Candidate) -> (DateTime<Utc>, DateTime<Utc>) {
    let starts_at = instant(zone(&c.timezone), c.date.and_time(c.start));
    let hours = c
        .hours_before
        .clamp(*HOURS_RANGE.start(), *HOURS_RANGE.end());
    (starts_at, starts_at - TimeDelta::hours(i64::from(hours)))
}

/// The local dates whose services may have a reminder due at `now`: from yesterday (a
/// church east of UTC is already tomorrow; one west, yesterday) to 8 days ahead (168 hours
/// plus the widest offset).
pub fn window(now: DateTime<Utc>) -> (NaiveDate, NaiveDate) {
    let today = now.date_naive();
    (
        today.checked_sub_days(Days::new(1)).unwrap_or(today),
        today.checked_add_days(Days::new(8)).unwrap_or(today),
    )
}

/// The reminders due at `now` among `candidates` (see the module documentation).
pub fn due(candidates: &[Candidate], now: DateTime<Utc>) -> Vec<DueReminder> {
    let mut out = Vec::new();
    for c in candidates {
        if c.status == "declined" {
            continue;
        }
        let (starts_at, remind_at) = schedule_of(c);
        if !(remind_at <= now && now < starts_at) || c.recorded.contains(&remind_at) {
            continue;
        }
        out.push(DueReminder {
            organization: c.organization,
            assignment: c.assignment,
            user: c.user,
            remind_at,
            starts_at,
            event: event(c, remind_at),
        });
    }
    out
}

fn event(c: &Candidate, remind_at: DateTime<Utc>) -> DomainEvent {
    let mut p = json!({
        "assignmentId": c.assignment,
        "serviceId": c.service,
        "planningId": c.planning,
        "serviceName": c.service_name,
        "date": c.date.format("%Y-%m-%d").to_string(),
        "startTime": c.start.format("%H:%M").to_string(),
        "role": c.role,
        "hoursBefore": c.hours_before,
        "remindAt": remind_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    });
    if let Some(o) = p.as_object_mut() {
        if let Some(end) = c.end {
            o.insert("endTime".into(), json!(end.format("%H:%M").to_string()));
        }
        if let Some(l) = c.location.as_deref().filter(|l| !l.trim().is_empty()) {
            o.insert("location".into(), json!(l));
        }
        if let Some(d) = c.department_name.as_deref() {
            o.insert("departmentName".into(), json!(d));
        }
    }
    DomainEvent::new(c.organization, SERVICE_REMINDER)
        .department(c.department)
        .user(c.user)
        .payload(p)
}

/// Records every reminder due at `now`: one read, then [`REMINDER_BATCH`] reminders per
/// transaction. Safe to run concurrently and again.
pub async fn run<S: ReminderStore>(
    store: &S,
    now: DateTime<Utc>,
) -> Result<ReminderStats, StoreError> {
    let (from, to) = window(now);
    let candidates = store.reminder_candidates(from, to).await?;
    let due = due(&candidates, now);
    let mut stats = ReminderStats {
        candidates: candidates.len() as u64,
        due: due.len() as u64,
        recorded: 0,
    };
    for chunk in due.chunks(REMINDER_BATCH) {
        stats.recorded += store.record_reminders(chunk, now).await?;
    }
    Ok(stats)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }
    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }
    fn t(s: &str) -> NaiveTime {
        NaiveTime::parse_from_str(s, "%H:%M").unwrap()
    }

    /// A 10:00–12:00 service in Paris on 2026-12-06, 24 hours' notice.
    fn cand() -> Candidate {
        Candidate {
            organization: OrganizationId(Uuid::from_u128(1)),
            department: DepartmentId(Uuid::from_u128(2)),
            department_name: Some("Louange".into()),
            assignment: Uuid::from_u128(3),
            planning: Uuid::from_u128(4),
            service: Uuid::from_u128(5),
            user: UserId(Uuid::from_u128(6)),
            service_name: "Culte".into(),
            date: d("2026-12-06"),
            start: t("10:00"),
            end: Some(t("12:00")),
            location: Some("Grande salle".into()),
            role: "basse".into(),
            timezone: "Europe/Paris".into(),
            hours_before: 24,
            status: "pending".into(),
            recorded: vec![],
        }
    }

    #[test]
    fn due_from_remind_at_until_the_start() {
        // 10:00 Paris in December is 09:00 UTC; 24 h before is 2026-12-05T09:00Z.
        let c = cand();
        assert_eq!(
            schedule_of(&c),
            (utc("2026-12-06T09:00:00Z"), utc("2026-12-05T09:00:00Z"))
        );
        assert!(due(std::slice::from_ref(&c), utc("2026-12-05T08:59:59Z")).is_empty());
        let r = due(std::slice::from_ref(&c), utc("2026-12-05T09:00:00Z"));
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].remind_at, utc("2026-12-05T09:00:00Z"));
        assert_eq!(r[0].starts_at, utc("2026-12-06T09:00:00Z"));
        assert_eq!(r[0].assignment, c.assignment);
        // Still due (a worker that was down catches up) until the start, not after.
        assert_eq!(
            due(std::slice::from_ref(&c), utc("2026-12-06T08:59:59Z")).len(),
            1
        );
        assert!(due(&[c], utc("2026-12-06T09:00:00Z")).is_empty());
    }

    #[test]
    fn the_event_carries_what_the_member_needs() {
        let r = due(&[cand()], utc("2026-12-05T12:00:00Z"));
        let e = &r[0].event;
        assert_eq!(e.kind, SERVICE_REMINDER);
        assert_eq!(e.user, Some(UserId(Uuid::from_u128(6))));
        assert_eq!(e.department, Some(DepartmentId(Uuid::from_u128(2))));
        assert_eq!(e.actor, None);
        let p = &e.payload;
        assert_eq!(p["assignmentId"], json!(Uuid::from_u128(3)));
        assert_eq!(p["planningId"], json!(Uuid::from_u128(4)));
        assert_eq!(p["serviceId"], json!(Uuid::from_u128(5)));
        assert_eq!(p["serviceName"], "Culte");
        assert_eq!(p["date"], "2026-12-06");
        assert_eq!(p["startTime"], "10:00");
        assert_eq!(p["endTime"], "12:00");
        assert_eq!(p["location"], "Grande salle");
        assert_eq!(p["role"], "basse");
        assert_eq!(p["hoursBefore"], 24);
        assert!(p.get("dressCode").is_none());
        // No location: no key.
        let mut c = cand();
        c.location = Some("  ".into());
        c.end = None;
        let r = due(&[c], utc("2026-12-05T12:00:00Z"));
        assert!(r[0].event.payload.get("location").is_none());
        assert!(r[0].event.payload.get("endTime").is_none());
    }

    #[test]
    fn declined_and_already_recorded_are_not_reminded() {
        let now = utc("2026-12-05T12:00:00Z");
        let mut declined = cand();
        declined.status = "declined".into();
        assert!(due(&[declined], now).is_empty());
        let mut confirmed = cand();
        confirmed.status = "confirmed".into();
        assert_eq!(due(&[confirmed], now).len(), 1);
        let mut sent = cand();
        sent.recorded = vec![utc("2026-12-05T09:00:00Z")];
        assert!(due(&[sent], now).is_empty());
    }

    #[test]
    fn a_moved_service_or_a_new_setting_is_reminded_again() {
        let now = utc("2026-12-05T12:00:00Z");
        // Reminded for 10:00; the service moves to 11:00: a new remind_at, due at once.
        let mut moved = cand();
        moved.recorded = vec![utc("2026-12-05T09:00:00Z")];
        moved.start = t("11:00");
        let r = due(std::slice::from_ref(&moved), now);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].remind_at, utc("2026-12-05T10:00:00Z"));
        // Moved to the next Sunday: not due yet.
        moved.date = d("2026-12-13");
        assert!(due(std::slice::from_ref(&moved), now).is_empty());
        // Moved back to the schedule already reminded: nothing again.
        moved.date = d("2026-12-06");
        moved.start = t("10:00");
        assert!(due(&[moved], now).is_empty());
        // The department asks for 48 hours: a new remind_at in the past, due at once.
        let mut longer = cand();
        longer.recorded = vec![utc("2026-12-05T09:00:00Z")];
        longer.hours_before = 48;
        let r = due(&[longer], now);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].remind_at, utc("2026-12-04T09:00:00Z"));
        // 2 hours instead: due later, at 07:00Z on the day.
        let mut shorter = cand();
        shorter.recorded = vec![utc("2026-12-05T09:00:00Z")];
        shorter.hours_before = 2;
        assert!(due(std::slice::from_ref(&shorter), now).is_empty());
        assert_eq!(due(&[shorter], utc("2026-12-06T07:00:00Z")).len(), 1);
    }

    #[test]
    fn one_hour_and_a_hundred_and_sixty_eight() {
        let mut c = cand();
        c.hours_before = 1;
        assert!(due(std::slice::from_ref(&c), utc("2026-12-06T07:59:59Z")).is_empty());
        assert_eq!(
            due(std::slice::from_ref(&c), utc("2026-12-06T08:00:00Z")).len(),
            1
        );
        c.hours_before = 168;
        assert!(due(std::slice::from_ref(&c), utc("2026-11-29T08:59:59Z")).is_empty());
        assert_eq!(
            due(std::slice::from_ref(&c), utc("2026-11-29T09:00:00Z")).len(),
            1
        );
        // Out of range (the database refuses it anyway): clamped, never panics.
        c.hours_before = 0;
        assert_eq!(schedule_of(&c).1, utc("2026-12-06T08:00:00Z"));
        c.hours_before = 10_000;
        assert_eq!(schedule_of(&c).1, utc("2026-11-29T09:00:00Z"));
    }

    #[test]
    fn the_changes_that_wake_the_reminders() {
        for k in [
            "rota.published",
            "assignment.added",
            "assignment.changed",
            "service.updated",
        ] {
            assert!(reschedules(k), "{k}");
        }
        for k in [
            "service.created",
            "service.deleted",
            "assignment.declined",
            SERVICE_REMINDER,
        ] {
            assert!(!reschedules(k), "{k}");
        }
    }

    #[test]
    fn created_or_published_inside_the_window_is_due_at_once() {
        // Published 3 hours before a service with 24 hours' notice.
        let r = due(&[cand()], utc("2026-12-06T06:00:00Z"));
        assert_eq!(r.len(), 1);
        assert!(r[0].remind_at < utc("2026-12-06T06:00:00Z"));
    }

    #[test]
    fn time_zones_and_daylight_saving() {
        // New York, Sunday 2030-03-10 (clocks go forward at 02:00): a 10:00 service is
        // 14:00Z (EDT); 24 hours before is 2030-03-09T14:00Z, 09:00 EST on Saturday — 23
        // wall-clock hours earlier, 24 real ones.
        let mut c = cand();
        c.timezone = "America/New_York".into();
        c.date = d("2030-03-10");
        assert_eq!(
            schedule_of(&c),
            (utc("2030-03-10T14:00:00Z"), utc("2030-03-09T14:00:00Z"))
        );
        // A 02:30 service that day does not exist: read as 03:30 EDT (07:30Z).
        c.start = t("02:30");
        assert_eq!(schedule_of(&c).0, utc("2030-03-10T07:30:00Z"));
        // Autumn's repeated 01:30 (2030-11-03): the first one, EDT (05:30Z).
        c.date = d("2030-11-03");
        c.start = t("01:30");
        assert_eq!(schedule_of(&c).0, utc("2030-11-03T05:30:00Z"));
        // Paris on the last Sunday of March 2027 (summer time from 02:00): 10:00 is 08:00Z.
        let mut p = cand();
        p.date = d("2027-03-28");
        assert_eq!(
            schedule_of(&p),
            (utc("2027-03-28T08:00:00Z"), utc("2027-03-27T08:00:00Z"))
        );
        // Auckland, east of UTC: 09:00 local on 2026-12-06 is 20:00Z the day before.
        let mut a = cand();
        a.timezone = "Pacific/Auckland".into();
        a.start = t("09:00");
        assert_eq!(schedule_of(&a).0, utc("2026-12-05T20:00:00Z"));
        // An unknown zone is read as Paris.
        let mut x = cand();
        x.timezone = "Mars/Olympus".into();
        assert_eq!(schedule_of(&x), schedule_of(&cand()));
    }

    #[test]
    fn the_window_holds_every_due_service_in_every_zone() {
        // From the zone furthest east (UTC+14) to the furthest west (UTC−12), at both ends of
        // the UTC day, a service starting up to 168 hours later has its local date in the
        // window.
        for tz in [
            "Pacific/Kiritimati",
            "Etc/GMT+12",
            "Europe/Paris",
            "Pacific/Auckland",
        ] {
            for now in [utc("2026-12-05T00:00:00Z"), utc("2026-12-05T23:59:00Z")] {
                let (from, to) = window(now);
                for h in 1..=168 {
                    let start = now + TimeDelta::hours(h);
                    let local = start.with_timezone(&zone(tz)).naive_local();
                    let mut c = cand();
                    c.timezone = tz.into();
                    c.hours_before = 168;
                    c.date = local.date();
                    c.start = local.time();
                    assert_eq!(due(&[c], now).len(), 1, "{tz} {now} +{h}h");
                    assert!(
                        from <= local.date() && local.date() <= to,
                        "{tz} {now} +{h}h"
                    );
                }
            }
        }
    }

    struct Fake {
        candidates: Vec<Candidate>,
        recorded: std::sync::Mutex<Vec<(Uuid, DateTime<Utc>)>>,
    }

    impl ReminderStore for Fake {
        async fn reminder_candidates(
            &self,
            _from: NaiveDate,
            _to: NaiveDate,
        ) -> Result<Vec<Candidate>, StoreError> {
            let rec = self.recorded.lock().unwrap().clone();
            Ok(self
                .candidates
                .iter()
                .cloned()
                .map(|mut c| {
                    c.recorded = rec
                        .iter()
                        .filter(|(a, _)| *a == c.assignment)
                        .map(|(_, r)| *r)
                        .collect();
                    c
                })
                .collect())
        }

        async fn record_reminders(
            &self,
            due: &[DueReminder],
            _now: DateTime<Utc>,
        ) -> Result<u64, StoreError> {
            let mut rec = self.recorded.lock().unwrap();
            let mut n = 0;
            for d in due {
                assert_eq!(Some(d.user), d.event.user);
                if !rec.contains(&(d.assignment, d.remind_at)) {
                    rec.push((d.assignment, d.remind_at));
                    n += 1;
                }
            }
            Ok(n)
        }
    }

    #[test]
    fn run_records_once_and_again_records_nothing() {
        let mut second = cand();
        second.assignment = Uuid::from_u128(33);
        let store = Fake {
            candidates: vec![cand(), second],
            recorded: Default::default(),
        };
        let now = utc("2026-12-05T12:00:00Z");
        let s = futures_lite(run(&store, now)).unwrap();
        assert_eq!(
            s,
            ReminderStats {
                candidates: 2,
                due: 2,
                recorded: 2
            }
        );
        let s = futures_lite(run(&store, now)).unwrap();
        assert_eq!(s.due, 0);
        assert_eq!(s.recorded, 0);
    }

    /// Polls a future that never waits (the fake store) to completion.
    fn futures_lite<F: Future>(f: F) -> F::Output {
        use std::task::{Context, Poll, Waker};
        let mut f = std::pin::pin!(f);
        let mut cx = Context::from_waker(Waker::noop());
        loop {
            if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return v;
            }
        }
    }
}
