//! Blockouts through the HTTP API, with the front end's shapes and its literal
//! `default-department`, on SQLite and (CI's second pass) PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{Datelike, Months, NaiveDate, Utc};
use serde_json::{Value, json};
use testkit::{Signed, TestApp};

async fn church_with_department(app: &TestApp) -> (Signed, String) {
    let admin = app.sign_up("admin@example.org").await;
    app.create_church(&admin, "Lyon").await;
    let dept = app.create_department(&admin, "Louange").await;
    (admin, dept)
}

/// The first day of the month `n` months from now (0: this month).
fn month_from_now(n: u32) -> NaiveDate {
    let today = Utc::now().date_naive();
    NaiveDate::from_ymd_opt(today.year(), today.month(), 1).unwrap() + Months::new(n)
}

fn ymd(first: NaiveDate, day: u32) -> String {
    first.with_day(day).unwrap().format("%Y-%m-%d").to_string()
}

fn q(first: NaiveDate) -> String {
    format!("year={}&month={}", first.year(), first.month())
}

#[tokio::test]
async fn a_member_enters_and_reads_a_month_through_default_department() {
    let app = TestApp::spawn().await;
    let (admin, dept) = church_with_department(&app).await;
    let member = app
        .join_department(&admin, &dept, "marie@example.org", "member")
        .await;
    let m = month_from_now(3);
    let body = json!({"year": m.year(), "month": m.month(), "unavailableDates": [
        {"date": ymd(m, 12), "isAllDay": false, "startTime": "18:00", "endTime": "21:00"},
        {"date": ymd(m, 10), "isAllDay": true, "reason": "Vacances"},
    ]});
    let (s, out) = app
        .call(
            "PUT",
            "/departments/default-department/members/me/availabilities",
            Some(&member.token),
            Some(body),
        )
        .await;
    assert_eq!(s, 200, "{out}");
    let (s, got) = app
        .call(
            "GET",
            &format!(
                "/departments/default-department/members/me/availabilities?{}",
                q(m)
            ),
            Some(&member.token),
            None,
        )
        .await;
    assert_eq!(s, 200, "{got}");
    assert_eq!(got["memberId"], member.user_id.as_str());
    assert_eq!(got["memberName"], "marie Test");
    assert_eq!(got["departmentId"], dept.as_str());
    assert_eq!(
        got["unavailableDates"],
        json!([
            {"date": ymd(m, 10), "isAllDay": true, "reason": "Vacances", "startTime": null, "endTime": null,
             "source": "date", "ruleId": null},
            {"date": ymd(m, 12), "isAllDay": false, "reason": null, "startTime": "18:00", "endTime": "21:00",
             "source": "date", "ruleId": null},
        ])
    );
    // The same through the department's id, and the deadline: 7 days before the month.
    let (_, by_id) = app
        .call(
            "GET",
            &format!(
                "/api/v1/departments/{dept}/members/me/availabilities?{}",
                q(m)
            ),
            Some(&member.token),
            None,
        )
        .await;
    assert_eq!(by_id["unavailableDates"], got["unavailableDates"]);
    let (s, d) = app
        .call(
            "GET",
            &format!(
                "/departments/default-department/availabilities/deadline?{}",
                q(m)
            ),
            Some(&member.token),
            None,
        )
        .await;
    assert_eq!(s, 200, "{d}");
    assert_eq!(
        d["deadlineDate"],
        (m - chrono::Duration::days(7))
            .format("%Y-%m-%d")
            .to_string()
    );
    assert_eq!(d["isPassed"], false);
    assert!(d["daysUntilDeadline"].as_i64().unwrap() > 0);

    // A PUT replaces the month; an empty one clears it.
    let (s, _) = app
        .call(
            "PUT",
            &format!("/api/v1/departments/{dept}/members/me/availabilities"),
            Some(&member.token),
            Some(json!({"year": m.year(), "month": m.month(), "unavailableDates": []})),
        )
        .await;
    assert_eq!(s, 200);
    let (_, got) = app
        .call(
            "GET",
            &format!(
                "/api/v1/departments/{dept}/members/me/availabilities?{}",
                q(m)
            ),
            Some(&member.token),
            None,
        )
        .await;
    assert_eq!(got["unavailableDates"], json!([]));

    // Bad input: named field by field, nothing written.
    let next = month_from_now(4);
    for (bad, field) in [
        (
            json!({"date": ymd(next, 1), "isAllDay": true}),
            "unavailableDates[0].date",
        ),
        (
            json!({"date": ymd(m, 2), "isAllDay": false, "startTime": "20:00", "endTime": "19:00"}),
            "unavailableDates[0].endTime",
        ),
        (
            json!({"date": "2026-02-30", "isAllDay": true}),
            "unavailableDates[0].date",
        ),
    ] {
        let (s, body) = app
            .call(
                "PUT",
                "/departments/default-department/members/me/availabilities",
                Some(&member.token),
                Some(json!({"year": m.year(), "month": m.month(), "unavailableDates": [bad]})),
            )
            .await;
        assert_eq!(s, 422, "{body}");
        assert!(
            body["errors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["field"] == field),
            "{field}: {body}"
        );
    }
    let (s, _) = app
        .call(
            "GET",
            "/departments/default-department/members/me/availabilities?year=2026&month=13",
            Some(&member.token),
            None,
        )
        .await;
    assert_eq!(s, 422);

    // Someone in no department has no default department.
    let loner = app.sign_up("loner@example.org").await;
    let (s, body) = app
        .call(
            "GET",
            &format!(
                "/departments/default-department/members/me/availabilities?{}",
                q(m)
            ),
            Some(&loner.token),
            None,
        )
        .await;
    assert_eq!(s, 404, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("default department")
    );
}

#[tokio::test]
async fn after_the_deadline_members_are_refused_and_leaders_are_not() {
    let app = TestApp::spawn().await;
    let (admin, dept) = church_with_department(&app).await;
    let leader = app
        .join_department(&admin, &dept, "leader@example.org", "leader")
        .await;
    let member = app
        .join_department(&leader, &dept, "member@example.org", "member")
        .await;
    let guest = app
        .join_department(&leader, &dept, "guest@example.org", "guest")
        .await;
    // This month's deadline (7 days before its first day) has passed.
    let now = month_from_now(0);
    let entry = |m: NaiveDate| {
        json!({"year": m.year(), "month": m.month(), "unavailableDates": [
            {"date": ymd(m, 20), "isAllDay": true}
        ]})
    };
    let (s, body) = app
        .call(
            "PUT",
            "/departments/default-department/members/me/availabilities",
            Some(&member.token),
            Some(entry(now)),
        )
        .await;
    assert_eq!(s, 403, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("deadline"),
        "{body}"
    );
    let (_, d) = app
        .call(
            "GET",
            &format!("/departments/{dept}/availabilities/deadline?{}", q(now)),
            Some(&member.token),
            None,
        )
        .await;
    assert_eq!(d["isPassed"], true);

    // The leader enters it for them, and their own, at any time.
    let (s, out) = app
        .call(
            "PUT",
            &format!(
                "/api/v1/departments/{dept}/members/{}/availabilities",
                member.user_id
            ),
            Some(&leader.token),
            Some(entry(now)),
        )
        .await;
    assert_eq!(s, 200, "{out}");
    assert_eq!(out["memberName"], "member Test");
    let (s, _) = app
        .call(
            "PUT",
            &format!("/api/v1/departments/{dept}/members/me/availabilities"),
            Some(&leader.token),
            Some(entry(now)),
        )
        .await;
    assert_eq!(s, 200);
    let (_, got) = app
        .call(
            "GET",
            &format!(
                "/api/v1/departments/{dept}/members/me/availabilities?{}",
                q(now)
            ),
            Some(&member.token),
            None,
        )
        .await;
    assert_eq!(got["unavailableDates"][0]["date"], ymd(now, 20));
    // Unknown member, malformed member id, wrong types: each a clear 4xx.
    let ghost = uuid::Uuid::now_v7();
    let (s, body) = app
        .call(
            "PUT",
            &format!("/api/v1/departments/{dept}/members/{ghost}/availabilities"),
            Some(&leader.token),
            Some(entry(now)),
        )
        .await;
    assert_eq!(s, 404, "{body}");
    let (s, _) = app
        .call(
            "PUT",
            &format!("/api/v1/departments/{dept}/members/not-a-uuid/availabilities"),
            Some(&leader.token),
            Some(entry(now)),
        )
        .await;
    assert_eq!(s, 400);
    let (s, body) = app
        .call(
            "PUT",
            &format!("/api/v1/departments/{dept}/members/me/availabilities"),
            Some(&leader.token),
            Some(json!({"year": "next", "month": 1, "unavailableDates": []})),
        )
        .await;
    assert_eq!(s, 422, "{body}");
    let (s, _) = app
        .call(
            "GET",
            &format!("/departments/{dept}/availabilities/deadline?year=x&month=1"),
            Some(&leader.token),
            None,
        )
        .await;
    assert_eq!(s, 400);

    // A member cannot enter someone else's; guests do not enter blockouts.
    let (s, _) = app
        .call(
            "PUT",
            &format!(
                "/api/v1/departments/{dept}/members/{}/availabilities",
                leader.user_id
            ),
            Some(&member.token),
            Some(entry(month_from_now(3))),
        )
        .await;
    assert_eq!(s, 403);
    let (s, _) = app
        .call(
            "PUT",
            &format!("/api/v1/departments/{dept}/members/me/availabilities"),
            Some(&guest.token),
            Some(entry(month_from_now(3))),
        )
        .await;
    assert_eq!(s, 403);

    // The leaders' overview and who has not answered.
    let (s, o) = app
        .call(
            "GET",
            &format!("/departments/{dept}/availabilities?{}", q(now)),
            Some(&leader.token),
            None,
        )
        .await;
    assert_eq!(s, 200, "{o}");
    assert_eq!(o["departmentName"], "Louange");
    let rows = o["members"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    let row = rows
        .iter()
        .find(|r| r["memberId"] == member.user_id.as_str())
        .unwrap();
    assert_eq!(row["totalUnavailableDays"], 1);
    let (s, _) = app
        .call(
            "GET",
            &format!("/departments/{dept}/availabilities?{}", q(now)),
            Some(&member.token),
            None,
        )
        .await;
    assert_eq!(s, 403);
    let later = month_from_now(3);
    let (s, missing) = app
        .call(
            "GET",
            &format!("/departments/{dept}/availabilities/missing?{}", q(later)),
            Some(&leader.token),
            None,
        )
        .await;
    assert_eq!(s, 200, "{missing}");
    let names = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|m| m["email"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        names(&missing),
        ["leader@example.org", "member@example.org"]
    );
    let (s, _) = app
        .call(
            "PUT",
            &format!("/api/v1/departments/{dept}/members/me/availabilities"),
            Some(&member.token),
            Some(json!({"year": later.year(), "month": later.month(), "unavailableDates": []})),
        )
        .await;
    assert_eq!(s, 200);
    let (_, missing) = app
        .call(
            "GET",
            &format!("/departments/{dept}/availabilities/missing?{}", q(later)),
            Some(&leader.token),
            None,
        )
        .await;
    assert_eq!(names(&missing), ["leader@example.org"]);
}
