//! Availability deadline chasers through the HTTP API, on SQLite and (CI's second pass)
//! PostgreSQL: a leader's manual chase (only those who entered nothing, at most once an hour,
//! leaders only, another church 404, month validation), and the hourly scheduled chase run
//! at a controlled time (once per department, month and offset, however often it runs).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{DateTime, Datelike, Duration, Months, NaiveDate, TimeZone, Utc};
use kernel::{FixedClock, UserId};
use serde_json::{Value, json};
use std::sync::Arc;
use testkit::{Signed, TestApp};

fn month_from_now(n: u32) -> NaiveDate {
    let today = Utc::now().date_naive();
    NaiveDate::from_ymd_opt(today.year(), today.month(), 1).unwrap() + Months::new(n)
}

fn ym(first: NaiveDate) -> String {
    first.format("%Y-%m").to_string()
}

async fn reminders(app: &TestApp, who: &Signed) -> Vec<Value> {
    let (s, out) = app
        .call("GET", "/api/v1/notifications", Some(&who.token), None)
        .await;
    assert_eq!(s, 200, "{out}");
    out["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["type"] == "availability.reminder")
        .cloned()
        .collect()
}

struct Dept {
    admin: Signed,
    dept: String,
    leader: Signed,
    /// Entered a one-off day of the month.
    with_day: Signed,
    /// Has a date range touching the month.
    with_range: Signed,
    /// Saved the month empty ("free all month").
    answered_empty: Signed,
    /// Entered nothing.
    silent: Vec<Signed>,
    guest: Signed,
}

/// A department with members in every situation for the month starting `first`.
async fn department(app: &TestApp, first: NaiveDate) -> Dept {
    let admin = app.sign_up("admin@example.org").await;
    app.create_church(&admin, "Lyon").await;
    let dept = app.create_department(&admin, "Louange").await;
    let join = |email: &'static str, role: &'static str| {
        let (app, admin, dept) = (app, admin.clone(), dept.clone());
        async move { app.join_department(&admin, &dept, email, role).await }
    };
    let leader = join("leader@example.org", "leader").await;
    let with_day = join("day@example.org", "member").await;
    let with_range = join("range@example.org", "member").await;
    let answered_empty = join("empty@example.org", "member").await;
    let silent = vec![
        join("s1@example.org", "member").await,
        join("s2@example.org", "member").await,
    ];
    let guest = join("guest@example.org", "guest").await;
    let day = first.with_day(10).unwrap().format("%Y-%m-%d").to_string();
    let (s, out) = app
        .call(
            "PUT",
            &format!("/api/v1/departments/{dept}/members/me/availabilities"),
            Some(&with_day.token),
            Some(json!({"year": first.year(), "month": first.month(),
                "unavailableDates": [{"date": day, "isAllDay": true}]})),
        )
        .await;
    assert_eq!(s, 200, "{out}");
    let (s, out) = app
        .call(
            "PUT",
            &format!("/api/v1/departments/{dept}/members/me/availabilities"),
            Some(&answered_empty.token),
            Some(json!({"year": first.year(), "month": first.month(), "unavailableDates": []})),
        )
        .await;
    assert_eq!(s, 200, "{out}");
    // A range of a few days of the month.
    let from = (first + Duration::days(1)).format("%Y-%m-%d").to_string();
    let to = (first + Duration::days(3)).format("%Y-%m-%d").to_string();
    let (s, out) = app
        .call(
            "POST",
            &format!("/api/v1/departments/{dept}/members/me/availabilities/ranges"),
            Some(&with_range.token),
            Some(json!({"from": from, "to": to, "isAllDay": true})),
        )
        .await;
    assert_eq!(s, 201, "{out}");
    // The availability.changed notifications of the set-up are not the subject.
    app.run_worker_until_idle().await;
    Dept {
        admin,
        dept,
        leader,
        with_day,
        with_range,
        answered_empty,
        silent,
        guest,
    }
}

async fn remind(app: &TestApp, who: &Signed, dept: &str, query: &str) -> (u16, Value) {
    app.call(
        "POST",
        &format!("/api/v1/departments/{dept}/availabilities/missing/remind?{query}"),
        Some(&who.token),
        None,
    )
    .await
}

#[tokio::test]
async fn a_leader_chases_those_who_entered_nothing_once_an_hour() {
    let app = TestApp::spawn().await;
    let first = month_from_now(2);
    let d = department(&app, first).await;
    let month = ym(first);

    // Members and guests may not chase.
    let (s, out) = remind(&app, &d.with_day, &d.dept, &format!("month={month}")).await;
    assert_eq!(s, 403, "{out}");
    let (s, out) = remind(&app, &d.guest, &d.dept, &format!("month={month}")).await;
    assert_eq!(s, 403, "{out}");
    // Another church's administrator: 404.
    let stranger = app.sign_up("stranger@example.org").await;
    app.create_church(&stranger, "Paris").await;
    let (s, out) = remind(&app, &stranger, &d.dept, &format!("month={month}")).await;
    assert_eq!(s, 404, "{out}");
    // Bad months.
    for q in [
        "month=2026-13",
        "month=garbage",
        "month=2026-1",
        "year=2026&month=0",
        "month=",
    ] {
        let (s, out) = remind(&app, &d.leader, &d.dept, q).await;
        assert_eq!(s, 422, "{q}: {out}");
        assert_eq!(out["code"], "validation_failed", "{q}");
    }
    let (s, _) = remind(&app, &d.leader, &d.dept, "").await;
    assert_eq!(s, 400, "month is required");
    // A month whose deadline has passed cannot be chased any more.
    let (s, out) = remind(
        &app,
        &d.leader,
        &d.dept,
        &format!("month={}", ym(month_from_now(0))),
    )
    .await;
    assert_eq!(s, 409, "{out}");
    assert_eq!(out["code"], "deadline_passed");

    let (s, out) = remind(&app, &d.leader, &d.dept, &format!("month={month}")).await;
    assert_eq!(s, 200, "{out}");
    // Only the two who entered nothing; the leader (who entered nothing either) chases.
    assert_eq!(out, json!({"reminded": 2}));
    app.run_worker_until_idle().await;
    for s in &d.silent {
        let got = reminders(&app, s).await;
        assert_eq!(got.len(), 1, "{}: {got:?}", s.email);
        assert_eq!(got[0]["data"]["month"], month.as_str());
        assert_eq!(got[0]["data"]["manual"], true);
        assert_eq!(got[0]["data"]["departmentId"], d.dept.as_str());
        assert_eq!(
            got[0]["data"]["deadline"],
            (first - Duration::days(7)).format("%Y-%m-%d").to_string()
        );
        assert_eq!(got[0]["link"], "/fr/dashboard/availability");
        assert!(
            got[0]["title"]
                .as_str()
                .unwrap()
                .contains("indisponibilités")
        );
    }
    for who in [
        &d.with_day,
        &d.with_range,
        &d.answered_empty,
        &d.guest,
        &d.leader,
    ] {
        assert!(reminders(&app, who).await.is_empty(), "{}", who.email);
    }
    // And by email, to them only.
    let mut mailed: Vec<String> = app
        .mailer
        .deliveries()
        .into_iter()
        .filter(|m| m.subject.contains("indisponibilités"))
        .map(|m| m.to.email)
        .collect();
    mailed.sort();
    assert_eq!(mailed, vec!["s1@example.org", "s2@example.org"]);

    // Again within the hour: 429 with Retry-After, the one problem format; the unprefixed
    // path with year and month says the same.
    let res = app
        .client
        .post(app.url(&format!(
            "/api/v1/departments/{}/availabilities/missing/remind?month={month}",
            d.dept
        )))
        .bearer_auth(&d.admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 429);
    let wait: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((3000..=3600).contains(&wait), "{wait}");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "rate_limited");
    let (s, _) = app
        .call(
            "POST",
            &format!(
                "/departments/{}/availabilities/missing/remind?year={}&month={}",
                d.dept,
                first.year(),
                first.month()
            ),
            Some(&d.leader.token),
            None,
        )
        .await;
    assert_eq!(s, 429);
    // Another month is chased on its own.
    let (s, out) = remind(
        &app,
        &d.leader,
        &d.dept,
        &format!("month={}", ym(month_from_now(3))),
    )
    .await;
    assert_eq!(s, 200, "{out}");
    app.run_worker_until_idle().await;
    assert_eq!(reminders(&app, &d.silent[0]).await.len(), 2);
    assert!(reminders(&app, &d.guest).await.is_empty());

    // An hour later (the service called at that time), the month may be chased again.
    let viewer = teams::Viewer {
        user: d.leader.user_id.parse::<UserId>().unwrap(),
        email: d.leader.email.clone(),
        name: "leader Test".into(),
        locale: accounts::Locale::Fr,
        organization: Some(
            app.call("GET", "/api/v1/users/me", Some(&d.leader.token), None)
                .await
                .1["organizationId"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap(),
        ),
        org_admin: false,
    };
    let dept: kernel::DepartmentId = d.dept.parse().unwrap();
    let m = availability::Month::new(first.year(), first.month()).unwrap();
    let soon = app
        .ctx
        .availability
        .remind_missing(&viewer, dept, m, Utc::now() + Duration::minutes(50))
        .await;
    assert!(
        matches!(soon, Err(availability::AvailabilityError::TooSoon { .. })),
        "{soon:?}"
    );
    let later = app
        .ctx
        .availability
        .remind_missing(&viewer, dept, m, Utc::now() + Duration::minutes(61))
        .await
        .unwrap();
    assert_eq!(later, 2);
}

/// Noon UTC (afternoon in Paris, the same local date) `days` before the deadline date of the
/// month starting `first` for a department with the default 7 days.
fn before_deadline(first: NaiveDate, days: i64) -> DateTime<Utc> {
    let deadline = first - Duration::days(7);
    Utc.from_utc_datetime(
        &(deadline - Duration::days(days))
            .and_hms_opt(12, 0, 0)
            .unwrap(),
    )
}

#[tokio::test]
async fn the_hourly_chase_reminds_once_per_offset_whatever_the_runs() {
    let app = TestApp::spawn().await;
    let first = month_from_now(2);
    let d = department(&app, first).await;
    let clock = FixedClock::at(before_deadline(first, 7));
    let worker = app.worker_at(Arc::new(clock.clone()));
    let chase = |at: DateTime<Utc>| {
        let (app, worker) = (&app, &worker);
        async move {
            app.ctx
                .jobs
                .enqueue(
                    &store_sea::NewJob::now(notifications::CHASE_JOB, Value::Null, at),
                    at,
                )
                .await
                .unwrap();
            worker.run_until_idle().await.unwrap();
        }
    };
    // 7 days before: run twice (and the schedule's own tick may run it too).
    chase(kernel::Clock::now(&clock)).await;
    chase(kernel::Clock::now(&clock)).await;
    for s in &d.silent {
        let got = reminders(&app, s).await;
        assert_eq!(got.len(), 1, "{}: {got:?}", s.email);
        assert_eq!(got[0]["data"]["daysLeft"], 7);
        assert_eq!(got[0]["data"]["manual"], false);
        assert_eq!(got[0]["data"]["month"], ym(first).as_str());
        assert!(
            got[0]["body"]
                .as_str()
                .unwrap()
                .contains("(encore 7 jours)")
        );
    }
    // The leader has entered nothing either: chased by the schedule.
    assert_eq!(reminders(&app, &d.leader).await.len(), 1);
    for who in [
        &d.with_day,
        &d.with_range,
        &d.answered_empty,
        &d.guest,
        &d.admin,
    ] {
        assert!(reminders(&app, who).await.is_empty(), "{}", who.email);
    }

    // 6 days before: not an offset, nothing new.
    clock.set(before_deadline(first, 6));
    chase(kernel::Clock::now(&clock)).await;
    assert_eq!(reminders(&app, &d.silent[0]).await.len(), 1);

    // One of them answers; 1 day before, the other is chased again, twice run, once told.
    let (s, out) = app
        .call(
            "PUT",
            &format!("/api/v1/departments/{}/members/me/availabilities", d.dept),
            Some(&d.silent[0].token),
            Some(json!({"year": first.year(), "month": first.month(), "unavailableDates": []})),
        )
        .await;
    assert_eq!(s, 200, "{out}");
    clock.set(before_deadline(first, 1));
    chase(kernel::Clock::now(&clock)).await;
    chase(kernel::Clock::now(&clock)).await;
    assert_eq!(reminders(&app, &d.silent[0]).await.len(), 1);
    let got = reminders(&app, &d.silent[1]).await;
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0]["data"]["daysLeft"], 1, "newest first");

    // The ledger holds one row per (department, month, offset).
    let db = app.db.connect().await;
    use sea_orm::ConnectionTrait;
    let rows = db
        .conn
        .query_all_raw(store_sea::jobs::stmt(
            db.conn.get_database_backend(),
            "SELECT kind, reminded FROM availability_chases ORDER BY kind",
            vec![],
        ))
        .await
        .unwrap();
    let got: Vec<(String, i32)> = rows
        .iter()
        .map(|r| {
            (
                r.try_get("", "kind").unwrap(),
                r.try_get("", "reminded").unwrap(),
            )
        })
        .collect();
    assert_eq!(got, vec![("d1".into(), 2), ("d7".into(), 3)]);
}
