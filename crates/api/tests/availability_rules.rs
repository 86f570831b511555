//! Date ranges and weekly rules through the HTTP API: adding, listing, deleting; their days in
//! the month view, the leaders' overview and `Availability::department_blockouts`; the month
//! GET→PUT round trip; the deadline; bad input; one outbox event per change; the GDPR export
//! and erasure. On SQLite, and on PostgreSQL with TEST_DATABASE_URL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;

use availability::Month;
use chrono::{Datelike, Months, NaiveDate, Utc, Weekday};
use kernel::{DepartmentId, OrganizationId, UserId};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use testkit::{Signed, TestApp};

struct Church {
    org: OrganizationId,
    dept: String,
    admin: Signed,
    leader: Signed,
    member: Signed,
}

async fn church(app: &TestApp) -> Church {
    let admin = app.sign_up("admin@example.org").await;
    let org = app.create_church(&admin, "Lyon").await;
    let dept = app.create_department(&admin, "Louange").await;
    let leader = app
        .join_department(&admin, &dept, "leader@example.org", "leader")
        .await;
    let member = app
        .join_department(&leader, &dept, "marie@example.org", "member")
        .await;
    Church {
        org: OrganizationId(org["id"].as_str().unwrap().parse().unwrap()),
        dept,
        admin,
        leader,
        member,
    }
}

/// The first day of the month `n` months from now (0: this month, always closed: its
/// deadline is 7 days before its first day; 3: always open).
fn month_from_now(n: u32) -> NaiveDate {
    let today = Utc::now().date_naive();
    NaiveDate::from_ymd_opt(today.year(), today.month(), 1).unwrap() + Months::new(n)
}

fn day(first: NaiveDate, d: u32) -> NaiveDate {
    first.with_day(d).unwrap()
}

fn ymd(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn q(first: NaiveDate) -> String {
    format!("year={}&month={}", first.year(), first.month())
}

fn month(first: NaiveDate) -> Month {
    Month::new(first.year(), first.month()).unwrap()
}

fn last_day(first: NaiveDate) -> NaiveDate {
    first + Months::new(1) - chrono::Duration::days(1)
}

fn weekday_name(w: Weekday) -> &'static str {
    availability::model::weekday_name(w)
}

/// The days of `first`'s month falling on `w`.
fn weekdays_in(first: NaiveDate, w: Weekday) -> Vec<NaiveDate> {
    first
        .iter_days()
        .take_while(|d| d.month() == first.month())
        .filter(|d| d.weekday() == w)
        .collect()
}

fn me(dept: &str, what: &str) -> String {
    format!("/api/v1/departments/{dept}/members/me/availabilities/{what}")
}

fn of(dept: &str, user: &str, what: &str) -> String {
    format!("/api/v1/departments/{dept}/members/{user}/availabilities/{what}")
}

async fn events(app: &TestApp, org: OrganizationId) -> Vec<store_sea::outbox::StoredEvent> {
    store_sea::outbox::of_kind(&app.ctx.db.conn, org, "availability.changed")
        .await
        .unwrap()
}

async fn month_view(app: &TestApp, who: &Signed, first: NaiveDate) -> Value {
    let (s, v) = app
        .call(
            "GET",
            &format!(
                "/departments/default-department/members/me/availabilities?{}",
                q(first)
            ),
            Some(&who.token),
            None,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    v
}

/// `(date, source, ruleId)` of each entry.
fn rows(view: &Value) -> Vec<(String, String, Value)> {
    view["unavailableDates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["date"].as_str().unwrap().to_string(),
                e["source"].as_str().unwrap().to_string(),
                e["ruleId"].clone(),
            )
        })
        .collect()
}

async fn count_rows(app: &TestApp, table: &str, user: &str) -> i64 {
    let conn = &app.ctx.db.conn;
    let r = conn
        .query_one_raw(store_sea::jobs::stmt(
            conn.get_database_backend(),
            &format!("SELECT COUNT(*) AS n FROM {table} WHERE user_id = ?"),
            vec![user.parse::<uuid::Uuid>().unwrap().into()],
        ))
        .await
        .unwrap()
        .unwrap();
    r.try_get::<i64>("", "n").unwrap()
}

#[tokio::test]
async fn ranges_and_weekly_rules_show_in_every_view() {
    let app = TestApp::spawn().await;
    let c = church(&app).await;
    let m = month_from_now(3);
    let next = m + Months::new(1);
    let evening = day(m, 10).weekday();

    // A range (3–5) and a weekly evening through the end of the next month.
    let (s, range) = app
        .call(
            "POST",
            &me("default-department", "ranges"),
            Some(&c.member.token),
            Some(
                json!({"from": ymd(day(m, 3)), "to": ymd(day(m, 5)), "isAllDay": true,
                        "reason": " Camp "}),
            ),
        )
        .await;
    assert_eq!(s, 201, "{range}");
    assert_eq!(range["memberId"], c.member.user_id.as_str());
    assert_eq!(range["from"], ymd(day(m, 3)));
    assert_eq!(range["to"], ymd(day(m, 5)));
    assert_eq!(range["isAllDay"], true);
    assert_eq!(range["startTime"], Value::Null);
    assert_eq!(range["reason"], "Camp");
    let range_id = range["id"].as_str().unwrap().to_string();
    let (s, weekly) = app
        .call(
            "POST",
            &me(&c.dept, "weekly"),
            Some(&c.member.token),
            Some(json!({"weekday": weekday_name(evening), "isAllDay": false,
                        "startTime": "19:00", "endTime": "21:00", "startsOn": ymd(m),
                        "until": ymd(last_day(next)), "reason": "Chorale"})),
        )
        .await;
    assert_eq!(s, 201, "{weekly}");
    assert_eq!(weekly["weekday"], weekday_name(evening));
    assert_eq!(weekly["startTime"], "19:00");
    assert_eq!(weekly["endTime"], "21:00");
    assert_eq!(weekly["startsOn"], ymd(m));
    assert_eq!(weekly["until"], ymd(last_day(next)));
    let weekly_id = weekly["id"].as_str().unwrap().to_string();

    // Listed, for the member and for the leader.
    let (s, list) = app
        .call(
            "GET",
            &me("default-department", "ranges"),
            Some(&c.member.token),
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(list, json!([range]));
    let (s, list) = app
        .call(
            "GET",
            &of(&c.dept, &c.member.user_id, "weekly"),
            Some(&c.leader.token),
            None,
        )
        .await;
    assert_eq!(s, 200, "{list}");
    assert_eq!(list, json!([weekly]));
    let (s, list) = app
        .call(
            "GET",
            &of(&c.dept, &c.member.user_id, "ranges"),
            Some(&c.leader.token),
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(list.as_array().unwrap().len(), 1);
    // A member cannot read someone else's.
    let (s, _) = app
        .call(
            "GET",
            &of(&c.dept, &c.leader.user_id, "ranges"),
            Some(&c.member.token),
            None,
        )
        .await;
    assert_eq!(s, 403);

    // A one-off on the 20th (unless it is the weekly day: then the 21st).
    let one_off = if day(m, 20).weekday() == evening {
        day(m, 21)
    } else {
        day(m, 20)
    };
    let (s, put) = app
        .call(
            "PUT",
            "/departments/default-department/members/me/availabilities",
            Some(&c.member.token),
            Some(
                json!({"year": m.year(), "month": m.month(), "unavailableDates": [
                {"date": ymd(one_off), "isAllDay": true}]}),
            ),
        )
        .await;
    assert_eq!(s, 200, "{put}");

    // The month view: the range's days, the weekly evenings, the one-off.
    let view = month_view(&app, &c.member, m).await;
    assert_eq!(put["unavailableDates"], view["unavailableDates"]);
    let mut expected: Vec<(String, String, Value)> = (3..=5)
        .map(|d| (ymd(day(m, d)), "range".to_string(), json!(range_id)))
        .chain(
            weekdays_in(m, evening)
                .into_iter()
                .map(|d| (ymd(d), "weekly".to_string(), json!(weekly_id))),
        )
        .chain([(ymd(one_off), "date".to_string(), Value::Null)])
        .collect();
    // By date, then whole days before parts.
    expected.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then((a.1 == "weekly").cmp(&(b.1 == "weekly")))
    });
    assert_eq!(rows(&view), expected);
    let evening_entry = view["unavailableDates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["source"] == "weekly")
        .unwrap();
    assert_eq!(evening_entry["isAllDay"], false);
    assert_eq!(evening_entry["startTime"], "19:00");
    assert_eq!(evening_entry["endTime"], "21:00");
    assert_eq!(evening_entry["reason"], "Chorale");
    // The next month has the evenings only; the one after, nothing.
    let view = month_view(&app, &c.member, next).await;
    assert_eq!(
        rows(&view).into_iter().map(|r| r.0).collect::<Vec<_>>(),
        weekdays_in(next, evening)
            .into_iter()
            .map(ymd)
            .collect::<Vec<_>>()
    );
    let view = month_view(&app, &c.member, next + Months::new(1)).await;
    assert_eq!(view["unavailableDates"], json!([]));

    // The leaders' overview counts every source.
    let days: BTreeSet<NaiveDate> = (3..=5)
        .map(|d| day(m, d))
        .chain(weekdays_in(m, evening))
        .chain([one_off])
        .collect();
    let (s, o) = app
        .call(
            "GET",
            &format!("/departments/{}/availabilities?{}", c.dept, q(m)),
            Some(&c.leader.token),
            None,
        )
        .await;
    assert_eq!(s, 200, "{o}");
    let row = o["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["memberId"] == c.member.user_id.as_str())
        .unwrap();
    assert_eq!(row["totalUnavailableDays"], days.len());
    assert_eq!(
        row["unavailableDates"],
        month_view(&app, &c.member, m).await["unavailableDates"]
    );

    // The planner's call sees the same, for the active members only.
    let dept = DepartmentId(c.dept.parse().unwrap());
    let member = UserId(c.member.user_id.parse().unwrap());
    let all = app
        .ctx
        .availability
        .department_blockouts(c.org, dept, month(m))
        .await
        .unwrap();
    assert!(all.iter().all(|(u, _)| *u == member), "{all:?}");
    assert_eq!(
        all.iter().map(|(_, b)| b.date).collect::<BTreeSet<_>>(),
        days
    );
    assert_eq!(all.len(), 3 + weekdays_in(m, evening).len() + 1);
    assert_eq!(
        all.iter().filter(|(_, b)| b.window.is_some()).count(),
        weekdays_in(m, evening).len()
    );
    // Someone who left the department is no longer in it.
    let (s, _) = app
        .call(
            "DELETE",
            &format!(
                "/api/v1/departments/{}/members/{}",
                c.dept, c.member.user_id
            ),
            Some(&c.leader.token),
            None,
        )
        .await;
    assert_eq!(s, 204);
    assert!(
        app.ctx
            .availability
            .department_blockouts(c.org, dept, month(m))
            .await
            .unwrap()
            .is_empty()
    );
    // Another church's id sees nothing either.
    assert!(
        app.ctx
            .availability
            .department_blockouts(OrganizationId::new(), dept, month(m))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn deleting_ranges_and_rules() {
    let app = TestApp::spawn().await;
    let c = church(&app).await;
    let m = month_from_now(3);
    let add_range = |who: &Signed, url: String| {
        let token = who.token.clone();
        let app = &app;
        async move {
            let (s, r) = app
                .call(
                    "POST",
                    &url,
                    Some(&token),
                    Some(json!({"from": ymd(day(m, 8)), "to": ymd(day(m, 9)), "isAllDay": true})),
                )
                .await;
            assert_eq!(s, 201, "{r}");
            r["id"].as_str().unwrap().to_string()
        }
    };
    let mine = add_range(&c.member, me(&c.dept, "ranges")).await;
    let leaders = add_range(&c.leader, me(&c.dept, "ranges")).await;
    let (s, w) = app
        .call(
            "POST",
            &me(&c.dept, "weekly"),
            Some(&c.member.token),
            Some(json!({"weekday": "sunday", "isAllDay": true, "startsOn": ymd(m)})),
        )
        .await;
    assert_eq!(s, 201, "{w}");
    let weekly = w["id"].as_str().unwrap().to_string();

    // Someone else's id, an unknown id: the same 404; a malformed id: 400.
    let ghost = uuid::Uuid::now_v7().to_string();
    let (s, theirs) = app
        .call(
            "DELETE",
            &me(&c.dept, &format!("ranges/{leaders}")),
            Some(&c.member.token),
            None,
        )
        .await;
    let (s2, unknown) = app
        .call(
            "DELETE",
            &me(&c.dept, &format!("ranges/{ghost}")),
            Some(&c.member.token),
            None,
        )
        .await;
    assert_eq!((s, s2), (404, 404), "{theirs}");
    assert_eq!(theirs["detail"], unknown["detail"]);
    // A weekly id is not a range id.
    let (s, _) = app
        .call(
            "DELETE",
            &me(&c.dept, &format!("ranges/{weekly}")),
            Some(&c.member.token),
            None,
        )
        .await;
    assert_eq!(s, 404);
    let (s, body) = app
        .call(
            "DELETE",
            &me(&c.dept, "ranges/not-a-uuid"),
            Some(&c.member.token),
            None,
        )
        .await;
    assert_eq!(s, 400, "{body}");
    // The leader's route names the member: the leader's own range is not theirs.
    let (s, _) = app
        .call(
            "DELETE",
            &of(&c.dept, &c.member.user_id, &format!("ranges/{leaders}")),
            Some(&c.leader.token),
            None,
        )
        .await;
    assert_eq!(s, 404);

    // Deleted, then gone.
    let (s, _) = app
        .call(
            "DELETE",
            &me("default-department", &format!("ranges/{mine}")),
            Some(&c.member.token),
            None,
        )
        .await;
    assert_eq!(s, 204);
    let (s, _) = app
        .call(
            "DELETE",
            &me("default-department", &format!("ranges/{mine}")),
            Some(&c.member.token),
            None,
        )
        .await;
    assert_eq!(s, 404);
    let (_, list) = app
        .call("GET", &me(&c.dept, "ranges"), Some(&c.member.token), None)
        .await;
    assert_eq!(list, json!([]));
    let (_, list) = app
        .call("GET", &me(&c.dept, "ranges"), Some(&c.leader.token), None)
        .await;
    assert_eq!(list.as_array().unwrap().len(), 1, "the leader's stays");
    let view = month_view(&app, &c.member, m).await;
    assert!(rows(&view).iter().all(|r| r.1 == "weekly"), "{view}");
    let (s, _) = app
        .call(
            "DELETE",
            &of(&c.dept, &c.member.user_id, &format!("weekly/{weekly}")),
            Some(&c.leader.token),
            None,
        )
        .await;
    assert_eq!(s, 204);
    let view = month_view(&app, &c.member, m).await;
    assert_eq!(view["unavailableDates"], json!([]));
    assert_eq!(
        count_rows(&app, "blockout_weekly_rules", &c.member.user_id).await,
        0
    );
}

#[tokio::test]
async fn a_get_then_put_of_the_month_changes_nothing() {
    let app = TestApp::spawn().await;
    let c = church(&app).await;
    let m = month_from_now(3);
    let w = day(m, 15).weekday();
    // One-offs first: the 10th (whole day, with a reason) and the 12th evening.
    let (s, _) = app
        .call(
            "PUT",
            &format!("/departments/{}/members/me/availabilities", c.dept),
            Some(&c.member.token),
            Some(json!({"year": m.year(), "month": m.month(), "unavailableDates": [
                {"date": ymd(day(m, 10)), "isAllDay": true, "reason": "Mine"},
                {"date": ymd(day(m, 12)), "isAllDay": false, "startTime": "18:00", "endTime": "21:00"},
            ]})),
        )
        .await;
    assert_eq!(s, 200);
    // Then a range over the 9th–11th, and a weekly evening from the 15th.
    let (s, _) = app
        .call(
            "POST",
            &me(&c.dept, "ranges"),
            Some(&c.member.token),
            Some(json!({"from": ymd(day(m, 9)), "to": ymd(day(m, 11)), "isAllDay": true, "reason": "Away"})),
        )
        .await;
    assert_eq!(s, 201);
    let (s, _) = app
        .call(
            "POST",
            &me(&c.dept, "weekly"),
            Some(&c.member.token),
            Some(
                json!({"weekday": weekday_name(w), "isAllDay": false, "startTime": "18:00",
                        "endTime": "21:00", "startsOn": ymd(day(m, 15))}),
            ),
        )
        .await;
    assert_eq!(s, 201);

    let before = month_view(&app, &c.member, m).await;
    // The 10th shows once, as the member's own one-off.
    let tenth: Vec<_> = rows(&before)
        .into_iter()
        .filter(|r| r.0 == ymd(day(m, 10)))
        .collect();
    assert_eq!(tenth, [(ymd(day(m, 10)), "date".into(), Value::Null)]);
    assert_eq!(count_rows(&app, "blockouts", &c.member.user_id).await, 2);

    // The front end sends back what it got, extra fields and all.
    let body = json!({"year": m.year(), "month": m.month(),
                      "unavailableDates": before["unavailableDates"]});
    for _ in 0..2 {
        let (s, put) = app
            .call(
                "PUT",
                "/departments/default-department/members/me/availabilities",
                Some(&c.member.token),
                Some(body.clone()),
            )
            .await;
        assert_eq!(s, 200, "{put}");
        assert_eq!(put["unavailableDates"], before["unavailableDates"]);
        assert_eq!(month_view(&app, &c.member, m).await, before);
        assert_eq!(count_rows(&app, "blockouts", &c.member.user_id).await, 2);
    }

    // A leader's PUT of the same month for the member keeps it as well.
    let (s, put) = app
        .call(
            "PUT",
            &format!(
                "/api/v1/departments/{}/members/{}/availabilities",
                c.dept, c.member.user_id
            ),
            Some(&c.leader.token),
            Some(body),
        )
        .await;
    assert_eq!(s, 200, "{put}");
    assert_eq!(month_view(&app, &c.member, m).await, before);

    // Clicking a day a rule already gives does not make a one-off of it; removing the
    // one-off of the 10th leaves the range's day.
    let mut entries: Vec<Value> = before["unavailableDates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["source"] != "date" || e["date"] != ymd(day(m, 10)))
        .cloned()
        .collect();
    entries.push(json!({"date": ymd(day(m, 11)), "isAllDay": true, "reason": "Clicked"}));
    let (s, put) = app
        .call(
            "PUT",
            "/departments/default-department/members/me/availabilities",
            Some(&c.member.token),
            Some(json!({"year": m.year(), "month": m.month(), "unavailableDates": entries})),
        )
        .await;
    assert_eq!(s, 200, "{put}");
    assert_eq!(count_rows(&app, "blockouts", &c.member.user_id).await, 1);
    let after = rows(&month_view(&app, &c.member, m).await);
    assert!(after.contains(&(ymd(day(m, 10)), "range".into(), after[0].2.clone())));
    assert_eq!(after.iter().filter(|r| r.0 == ymd(day(m, 11))).count(), 1);
}

#[tokio::test]
async fn after_the_deadline_members_cannot_add_or_delete_and_leaders_can() {
    let app = TestApp::spawn().await;
    let c = church(&app).await;
    let now = month_from_now(0);
    let open = month_from_now(3);
    let closed = month(now).to_string();
    let touching_now =
        json!({"from": ymd(day(now, 20)), "to": ymd(day(open, 2)), "isAllDay": true});
    let from_now = json!({"weekday": "monday", "isAllDay": true, "startsOn": ymd(now)});

    // The member: refused, with the closed month named.
    for (what, body) in [("ranges", &touching_now), ("weekly", &from_now)] {
        let (s, p) = app
            .call(
                "POST",
                &me("default-department", what),
                Some(&c.member.token),
                Some(body.clone()),
            )
            .await;
        assert_eq!(s, 403, "{p}");
        let detail = p["detail"].as_str().unwrap();
        assert!(
            detail.contains(&closed) && detail.contains("deadline"),
            "{detail}"
        );
    }
    assert!(events(&app, c.org).await.is_empty());
    assert_eq!(
        count_rows(&app, "blockout_ranges", &c.member.user_id).await,
        0
    );
    // Open months are fine.
    let (s, _) = app
        .call(
            "POST",
            &me("default-department", "ranges"),
            Some(&c.member.token),
            Some(json!({"from": ymd(day(open, 2)), "to": ymd(day(open, 3)), "isAllDay": true})),
        )
        .await;
    assert_eq!(s, 201);

    // The leader: for the member, and for themselves, at any time.
    let mut ids = Vec::new();
    for (what, body) in [("ranges", &touching_now), ("weekly", &from_now)] {
        let (s, r) = app
            .call(
                "POST",
                &of(&c.dept, &c.member.user_id, what),
                Some(&c.leader.token),
                Some(body.clone()),
            )
            .await;
        assert_eq!(s, 201, "{r}");
        ids.push((what, r["id"].as_str().unwrap().to_string()));
        let (s, r) = app
            .call(
                "POST",
                &me(&c.dept, what),
                Some(&c.leader.token),
                Some(body.clone()),
            )
            .await;
        assert_eq!(s, 201, "{r}");
    }
    // The administrator too (not in the department, but runs the church).
    let (s, r) = app
        .call(
            "POST",
            &of(&c.dept, &c.member.user_id, "ranges"),
            Some(&c.admin.token),
            Some(touching_now.clone()),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    // The closed month's view shows them.
    let view = month_view(&app, &c.member, now).await;
    assert!(
        rows(&view)
            .iter()
            .any(|r| r.0 == ymd(day(now, 20)) && r.1 == "range")
    );

    // The member cannot delete what touches the closed month; the leader can.
    let before = events(&app, c.org).await.len();
    for (what, id) in &ids {
        let (s, p) = app
            .call(
                "DELETE",
                &me(&c.dept, &format!("{what}/{id}")),
                Some(&c.member.token),
                None,
            )
            .await;
        assert_eq!(s, 403, "{p}");
        assert!(p["detail"].as_str().unwrap().contains(&closed));
    }
    assert_eq!(events(&app, c.org).await.len(), before);
    for (what, id) in &ids {
        let (s, _) = app
            .call(
                "DELETE",
                &of(&c.dept, &c.member.user_id, &format!("{what}/{id}")),
                Some(&c.leader.token),
                None,
            )
            .await;
        assert_eq!(s, 204);
    }
    assert_eq!(events(&app, c.org).await.len(), before + 2);

    // A guest enters nothing; a member cannot use the leaders' routes.
    let guest = app
        .join_department(&c.leader, &c.dept, "guest@example.org", "guest")
        .await;
    let (s, _) = app
        .call(
            "POST",
            &me(&c.dept, "ranges"),
            Some(&guest.token),
            Some(json!({"from": ymd(day(open, 2)), "to": ymd(day(open, 3)), "isAllDay": true})),
        )
        .await;
    assert_eq!(s, 403);
    let (s, _) = app
        .call(
            "POST",
            &of(&c.dept, &c.leader.user_id, "weekly"),
            Some(&c.member.token),
            Some(json!({"weekday": "monday", "isAllDay": true, "startsOn": ymd(open)})),
        )
        .await;
    assert_eq!(s, 403);
}

#[tokio::test]
async fn bad_input_is_refused_field_by_field() {
    let app = TestApp::spawn_with(&[("RATE_LIMIT_PER_MINUTE", "100000")]).await;
    let c = church(&app).await;
    let m = month_from_now(3);
    let ranges = me(&c.dept, "ranges");
    let weekly = me(&c.dept, "weekly");
    let (ranges, weekly) = (ranges.as_str(), weekly.as_str());
    let cases: Vec<(&str, Value, &str, &str)> = vec![
        (
            ranges,
            json!({"from": ymd(day(m, 17)), "to": ymd(day(m, 3)), "isAllDay": true}),
            "to",
            "end_before_start",
        ),
        (
            ranges,
            json!({"from": ymd(m), "to": ymd(m + chrono::Duration::days(399)), "isAllDay": true}),
            "to",
            "too_long",
        ),
        (
            ranges,
            json!({"from": "2026-02-30", "to": ymd(day(m, 3)), "isAllDay": true}),
            "from",
            "invalid_format",
        ),
        (
            ranges,
            json!({"from": "1999-12-30", "to": "1999-12-31", "isAllDay": true}),
            "from",
            "out_of_range",
        ),
        (
            ranges,
            json!({"from": ymd(day(m, 3)), "to": ymd(day(m, 3)), "isAllDay": false,
                   "startTime": "21:00", "endTime": "19:00"}),
            "endTime",
            "end_before_start",
        ),
        (
            ranges,
            json!({"from": ymd(day(m, 3)), "to": ymd(day(m, 3)), "isAllDay": true,
                   "reason": "x".repeat(201)}),
            "reason",
            "too_long",
        ),
        (ranges, json!({}), "from", "required"),
        (
            weekly,
            json!({"weekday": "funday", "isAllDay": true, "startsOn": ymd(m)}),
            "weekday",
            "invalid_value",
        ),
        (
            weekly,
            json!({"weekday": "monday", "isAllDay": true, "startsOn": ymd(day(m, 10)),
                   "until": ymd(day(m, 9))}),
            "until",
            "end_before_start",
        ),
        (
            weekly,
            json!({"weekday": "monday", "isAllDay": true}),
            "startsOn",
            "required",
        ),
        (
            weekly,
            json!({"weekday": "monday", "isAllDay": true, "startTime": "10:00", "startsOn": ymd(m)}),
            "startTime",
            "not_allowed",
        ),
        // Wrong JSON types.
        (
            weekly,
            json!({"weekday": 3, "isAllDay": true, "startsOn": ymd(m)}),
            "body",
            "invalid_type",
        ),
        (
            ranges,
            json!({"from": 20261203, "to": ymd(m), "isAllDay": "yes"}),
            "body",
            "invalid_type",
        ),
    ];
    for (url, body, field, code) in cases {
        let (s, p) = app
            .call("POST", url, Some(&c.member.token), Some(body.clone()))
            .await;
        assert_eq!(s, 422, "{body}: {p}");
        assert!(
            p["errors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["field"] == field && e["code"] == code),
            "{field} {code}: {p}"
        );
    }
    // Not JSON at all.
    for url in [ranges, weekly] {
        let res = app
            .client
            .post(app.url(url))
            .bearer_auth(&c.member.token)
            .header("content-type", "application/json")
            .body("{\"from\": ")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
        let p: Value = res.json().await.unwrap();
        assert_eq!(p["code"], "malformed_json");
    }
    // Unknown and malformed departments and members.
    let ghost = uuid::Uuid::now_v7().to_string();
    let (s, _) = app
        .call("GET", &me(&ghost, "ranges"), Some(&c.member.token), None)
        .await;
    assert_eq!(s, 404);
    let (s, _) = app
        .call("GET", &me("nope", "weekly"), Some(&c.member.token), None)
        .await;
    assert_eq!(s, 400);
    let (s, _) = app
        .call(
            "GET",
            &of(&c.dept, &ghost, "ranges"),
            Some(&c.leader.token),
            None,
        )
        .await;
    assert_eq!(s, 404);
    assert!(events(&app, c.org).await.is_empty());
    assert_eq!(
        count_rows(&app, "blockout_ranges", &c.member.user_id).await,
        0
    );

    // The per-person limits: 50 current ranges, 20 current weekly rules.
    for k in 0..50u32 {
        let from = m + chrono::Duration::days(i64::from(k));
        let (s, p) = app
            .call(
                "POST",
                ranges,
                Some(&c.member.token),
                Some(json!({"from": ymd(from), "to": ymd(from), "isAllDay": true})),
            )
            .await;
        assert_eq!(s, 201, "{k}: {p}");
    }
    let (s, p) = app
        .call(
            "POST",
            ranges,
            Some(&c.member.token),
            Some(json!({"from": ymd(m), "to": ymd(m), "isAllDay": true})),
        )
        .await;
    assert_eq!(s, 409, "{p}");
    assert_eq!(p["code"], "too_many_ranges");
    // Past ranges do not count: a leader may still record one that is over.
    let past = month_from_now(0) - Months::new(2);
    let (s, p) = app
        .call(
            "POST",
            &of(&c.dept, &c.member.user_id, "ranges"),
            Some(&c.leader.token),
            Some(json!({"from": ymd(past), "to": ymd(day(past, 2)), "isAllDay": true})),
        )
        .await;
    assert_eq!(s, 201, "{p}");
    assert_eq!(
        count_rows(&app, "blockout_ranges", &c.member.user_id).await,
        51
    );
    for k in 0..20u32 {
        let (s, p) = app
            .call(
                "POST",
                weekly,
                Some(&c.member.token),
                Some(
                    json!({"weekday": weekday_name(Weekday::try_from((k % 7) as u8).unwrap()),
                            "isAllDay": false, "startTime": format!("{:02}:00", k),
                            "endTime": format!("{:02}:30", k), "startsOn": ymd(m)}),
                ),
            )
            .await;
        assert_eq!(s, 201, "{k}: {p}");
    }
    let (s, p) = app
        .call(
            "POST",
            weekly,
            Some(&c.member.token),
            Some(json!({"weekday": "monday", "isAllDay": true, "startsOn": ymd(m)})),
        )
        .await;
    assert_eq!(s, 409, "{p}");
    assert_eq!(p["code"], "too_many_weekly_rules");
    assert_eq!(
        count_rows(&app, "blockout_weekly_rules", &c.member.user_id).await,
        20
    );
    // 50 + 1 + 20 additions, one event each; none for the refusals.
    assert_eq!(events(&app, c.org).await.len(), 71);
    // The month view with all of them still round-trips.
    let view = month_view(&app, &c.member, m).await;
    let (s, p) = app
        .call(
            "PUT",
            &format!("/departments/{}/members/me/availabilities", c.dept),
            Some(&c.member.token),
            Some(json!({"year": m.year(), "month": m.month(),
                        "unavailableDates": view["unavailableDates"]})),
        )
        .await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(count_rows(&app, "blockouts", &c.member.user_id).await, 0);
}

#[tokio::test]
async fn every_change_records_one_event() {
    let app = TestApp::spawn().await;
    let c = church(&app).await;
    let m = month_from_now(3);
    let next = m + Months::new(1);
    let key = |d: NaiveDate| format!("{:04}-{:02}", d.year(), d.month());
    let member = UserId(c.member.user_id.parse().unwrap());
    let leader = UserId(c.leader.user_id.parse().unwrap());
    let dept = DepartmentId(c.dept.parse().unwrap());

    // A month PUT by the member, through default-department.
    let (s, _) = app
        .call(
            "PUT",
            "/departments/default-department/members/me/availabilities",
            Some(&c.member.token),
            Some(
                json!({"year": m.year(), "month": m.month(), "unavailableDates": [
                {"date": ymd(day(m, 4)), "isAllDay": true}]}),
            ),
        )
        .await;
    assert_eq!(s, 200);
    let e = events(&app, c.org).await;
    assert_eq!(e.len(), 1);
    let ev = &e[0].event;
    assert_eq!(ev.kind, "availability.changed");
    assert_eq!(
        (ev.department, ev.actor, ev.user),
        (Some(dept), Some(member), Some(member))
    );
    assert_eq!(
        ev.payload,
        json!({"change": "month", "action": "replaced", "months": [key(m)],
               "monthsTruncated": false, "entries": 1})
    );
    assert!(e[0].processed_at.is_none());

    // A month PUT by the leader for the member.
    let (s, _) = app
        .call(
            "PUT",
            &format!(
                "/api/v1/departments/{}/members/{}/availabilities",
                c.dept, c.member.user_id
            ),
            Some(&c.leader.token),
            Some(json!({"year": next.year(), "month": next.month(), "unavailableDates": []})),
        )
        .await;
    assert_eq!(s, 200);
    let e = events(&app, c.org).await;
    assert_eq!(e.len(), 2);
    let ev = &e[1].event;
    assert_eq!((ev.actor, ev.user), (Some(leader), Some(member)));
    assert_eq!(ev.payload["months"], json!([key(next)]));
    assert_eq!(ev.payload["entries"], 0);

    // A range across two months, added then deleted by the leader for the member.
    let (s, r) = app
        .call(
            "POST",
            &of(&c.dept, &c.member.user_id, "ranges"),
            Some(&c.leader.token),
            Some(
                json!({"from": ymd(day(m, 25)), "to": ymd(day(next, 2)), "isAllDay": false,
                        "startTime": "08:00", "endTime": "12:00", "reason": "Stage"}),
            ),
        )
        .await;
    assert_eq!(s, 201);
    let id = r["id"].as_str().unwrap().to_string();
    let (s, _) = app
        .call(
            "DELETE",
            &of(&c.dept, &c.member.user_id, &format!("ranges/{id}")),
            Some(&c.leader.token),
            None,
        )
        .await;
    assert_eq!(s, 204);
    let e = events(&app, c.org).await;
    assert_eq!(e.len(), 4);
    for (stored, action) in e[2..].iter().zip(["added", "deleted"]) {
        let ev = &stored.event;
        assert_eq!((ev.actor, ev.user), (Some(leader), Some(member)));
        assert_eq!(
            ev.payload,
            json!({"change": "range", "action": action, "months": [key(m), key(next)],
                   "monthsTruncated": false, "ruleId": id, "from": ymd(day(m, 25)),
                   "to": ymd(day(next, 2)), "isAllDay": false, "startTime": "08:00",
                   "endTime": "12:00", "reason": "Stage"})
        );
    }

    // A weekly rule without end, by the member.
    let (s, w) = app
        .call(
            "POST",
            &me(&c.dept, "weekly"),
            Some(&c.member.token),
            Some(json!({"weekday": "saturday", "isAllDay": true, "startsOn": ymd(m)})),
        )
        .await;
    assert_eq!(s, 201);
    let (s, _) = app
        .call(
            "DELETE",
            &me(&c.dept, &format!("weekly/{}", w["id"].as_str().unwrap())),
            Some(&c.member.token),
            None,
        )
        .await;
    assert_eq!(s, 204);
    let e = events(&app, c.org).await;
    assert_eq!(e.len(), 6);
    for (stored, action) in e[4..].iter().zip(["added", "deleted"]) {
        let ev = &stored.event;
        assert_eq!((ev.actor, ev.user), (Some(member), Some(member)));
        assert_eq!(ev.payload["change"], "weekly");
        assert_eq!(ev.payload["action"], action);
        assert_eq!(ev.payload["weekday"], "saturday");
        assert_eq!(ev.payload["until"], Value::Null);
        assert_eq!(ev.payload["monthsTruncated"], true);
        let months = ev.payload["months"].as_array().unwrap();
        assert_eq!(months.len(), 13);
        assert_eq!(months[0], key(m));
    }

    // Refusals record nothing: invalid, unknown, forbidden, closed.
    for (method, url, token, body) in [
        (
            "PUT",
            "/api/v1/departments/default-department/members/me/availabilities".to_string(),
            &c.member.token,
            Some(
                json!({"year": m.year(), "month": m.month(), "unavailableDates": [
                {"date": "not a date", "isAllDay": true}]}),
            ),
        ),
        (
            "PUT",
            "/api/v1/departments/default-department/members/me/availabilities".to_string(),
            &c.member.token,
            Some(
                json!({"year": month_from_now(0).year(), "month": month_from_now(0).month(),
                        "unavailableDates": []}),
            ),
        ),
        (
            "POST",
            me(&c.dept, "ranges"),
            &c.member.token,
            Some(json!({"from": ymd(day(m, 5)), "to": ymd(day(m, 4)), "isAllDay": true})),
        ),
        (
            "DELETE",
            me(&c.dept, &format!("ranges/{id}")),
            &c.member.token,
            None,
        ),
        (
            "POST",
            of(&c.dept, &c.leader.user_id, "ranges"),
            &c.member.token,
            Some(json!({"from": ymd(day(m, 4)), "to": ymd(day(m, 5)), "isAllDay": true})),
        ),
    ] {
        let (s, p) = app.call(method, &url, Some(token), body).await;
        assert!((400..500).contains(&s), "{method} {url}: {s} {p}");
    }
    assert_eq!(events(&app, c.org).await.len(), 6);
}

#[tokio::test]
async fn the_data_export_has_them_and_erasure_removes_them() {
    let app = TestApp::spawn().await;
    let c = church(&app).await;
    let m = month_from_now(3);
    let (s, _) = app
        .call(
            "PUT",
            &format!("/departments/{}/members/me/availabilities", c.dept),
            Some(&c.member.token),
            Some(
                json!({"year": m.year(), "month": m.month(), "unavailableDates": [
                {"date": ymd(day(m, 4)), "isAllDay": true, "reason": "Mariage"}]}),
            ),
        )
        .await;
    assert_eq!(s, 200);
    let (s, range) = app
        .call(
            "POST",
            &me(&c.dept, "ranges"),
            Some(&c.member.token),
            Some(json!({"from": ymd(day(m, 8)), "to": ymd(day(m, 9)), "isAllDay": true})),
        )
        .await;
    assert_eq!(s, 201);
    let (s, weekly) = app
        .call(
            "POST",
            &me(&c.dept, "weekly"),
            Some(&c.member.token),
            Some(json!({"weekday": "tuesday", "isAllDay": true, "startsOn": ymd(m)})),
        )
        .await;
    assert_eq!(s, 201);
    // The leader's own stay out of the member's export.
    let (s, _) = app
        .call(
            "POST",
            &me(&c.dept, "ranges"),
            Some(&c.leader.token),
            Some(json!({"from": ymd(day(m, 8)), "to": ymd(day(m, 9)), "isAllDay": true})),
        )
        .await;
    assert_eq!(s, 201);

    let (s, export) = app
        .call(
            "GET",
            "/api/v1/users/me/data-export",
            Some(&c.member.token),
            None,
        )
        .await;
    assert_eq!(s, 200);
    let a = &export["availability"];
    assert_eq!(a["ranges"], json!([range]));
    assert_eq!(a["weeklyRules"], json!([weekly]));
    assert_eq!(a["unavailableDates"].as_array().unwrap().len(), 1);
    assert_eq!(a["unavailableDates"][0]["reason"], "Mariage");
    // Someone in no church has nothing to export.
    let loner = app.sign_up("loner@example.org").await;
    let (_, export) = app
        .call(
            "GET",
            "/api/v1/users/me/data-export",
            Some(&loner.token),
            None,
        )
        .await;
    assert_eq!(
        export["availability"],
        json!({"unavailableDates": [], "ranges": [], "weeklyRules": []})
    );

    // Deleting the account removes them (the rows go with the user's).
    let (s, _) = app
        .call(
            "DELETE",
            "/api/v1/users/me",
            Some(&c.member.token),
            Some(json!({"password": testkit::TEST_PASSWORD})),
        )
        .await;
    assert_eq!(s, 204);
    for table in ["blockouts", "blockout_ranges", "blockout_weekly_rules"] {
        assert_eq!(
            count_rows(&app, table, &c.member.user_id).await,
            0,
            "{table}"
        );
    }
    assert_eq!(
        count_rows(&app, "blockout_ranges", &c.leader.user_id).await,
        1
    );
}

#[tokio::test]
async fn concurrent_adds_cannot_pass_the_limit_together() {
    let app = TestApp::spawn_with(&[("RATE_LIMIT_PER_MINUTE", "100000")]).await;
    let c = church(&app).await;
    let m = month_from_now(3);
    let url = me(&c.dept, "ranges");
    let calls = (0..60i64).map(|k| {
        let from = ymd(m + chrono::Duration::days(k));
        app.call(
            "POST",
            &url,
            Some(&c.member.token),
            Some(json!({"from": from, "to": from, "isAllDay": true})),
        )
    });
    let statuses: Vec<u16> = futures_util::future::join_all(calls)
        .await
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        50,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        10,
        "{statuses:?}"
    );
    assert_eq!(
        count_rows(&app, "blockout_ranges", &c.member.user_id).await,
        50
    );
    assert_eq!(events(&app, c.org).await.len(), 50);
}
