//! Notifications through the HTTP API, on SQLite and (CI's second pass) PostgreSQL: the
//! dispatcher turning outbox events into one notification per recipient, the inbox's pages,
//! unread count, marking read, isolation between users and churches, and the prune job.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{Datelike, Months, NaiveDate, Utc, Weekday};
use kernel::{OrganizationId, UserId};
use notifications::{NewNotification, NotificationStore};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use testkit::{Signed, TestApp};

async fn org_of(app: &TestApp, who: &Signed) -> OrganizationId {
    let (_, me) = app
        .call("GET", "/api/v1/users/me", Some(&who.token), None)
        .await;
    me["organizationId"].as_str().unwrap().parse().unwrap()
}

fn user_id(who: &Signed) -> UserId {
    who.user_id.parse().unwrap()
}

async fn inbox(app: &TestApp, who: &Signed, query: &str) -> Value {
    let (s, out) = app
        .call(
            "GET",
            &format!("/api/v1/notifications{query}"),
            Some(&who.token),
            None,
        )
        .await;
    assert_eq!(s, 200, "{out}");
    out
}

fn of_type(page: &Value, kind: &str) -> Vec<Value> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["type"] == kind)
        .cloned()
        .collect()
}

async fn unread(app: &TestApp, who: &Signed) -> u64 {
    // Unprefixed, as the front end calls it.
    let (s, out) = app
        .call("GET", "/notifications/unread/count", Some(&who.token), None)
        .await;
    assert_eq!(s, 200, "{out}");
    out.as_u64().expect("a bare number")
}

/// The next month's first Sunday, two months ahead (clear of any deadline).
fn a_sunday() -> NaiveDate {
    let today = Utc::now().date_naive();
    let first = NaiveDate::from_ymd_opt(today.year(), today.month(), 1).unwrap() + Months::new(2);
    first
        .iter_days()
        .find(|d| d.weekday() == Weekday::Sun)
        .unwrap()
}

#[tokio::test]
async fn publishing_a_rota_notifies_each_assigned_member_once_in_their_language() {
    let app = TestApp::spawn().await;
    let admin = app.sign_up("admin@example.org").await;
    app.create_church(&admin, "Lyon").await;
    let dept = app.create_department(&admin, "Louange").await;
    let mut members = Vec::new();
    for i in 0..3 {
        let m = app
            .join_department(&admin, &dept, &format!("m{i}@example.org"), "member")
            .await;
        let (s, out) = app
            .call(
                "PATCH",
                &format!("/api/v1/departments/{dept}/members/{}", m.user_id),
                Some(&admin.token),
                Some(json!({"skills": ["vocals"]})),
            )
            .await;
        assert_eq!(s, 200, "{out}");
        members.push(m);
    }
    // m1 reads English.
    let (s, out) = app
        .call(
            "PATCH",
            "/api/v1/users/me",
            Some(&members[1].token),
            Some(json!({"locale": "en"})),
        )
        .await;
    assert_eq!(s, 200, "{out}");

    // The inviter was told of each accepted invitation.
    app.run_worker_until_idle().await;
    let page = inbox(&app, &admin, "").await;
    let accepted = of_type(&page, "invitation.accepted");
    assert_eq!(accepted.len(), 3, "{page:#}");
    assert!(
        accepted[0]["body"]
            .as_str()
            .unwrap()
            .contains("a rejoint Louange")
    );
    assert_eq!(accepted[0]["data"]["departmentId"], dept.as_str());

    let day = a_sunday();
    let (s, out) = app
        .call(
            "POST",
            &format!("/api/v1/departments/{dept}/services"),
            Some(&admin.token),
            Some(
                json!({"name": "Culte", "serviceType": "sunday", "date": day.to_string(),
                "startTime": "10:00", "endTime": "12:00",
                "requiredRoles": [{"role": "vocals", "count": 2}]}),
            ),
        )
        .await;
    assert_eq!(s, 201, "{out}");
    let (s, p) = app
        .call(
            "POST",
            &format!("/api/v1/departments/{dept}/plannings"),
            Some(&admin.token),
            Some(json!({"year": day.year(), "month": day.month()})),
        )
        .await;
    assert_eq!(s, 201, "{p}");
    let id = p["id"].as_str().unwrap().to_string();
    let (s, out) = app
        .call(
            "POST",
            &format!("/api/v1/plannings/{id}/generate"),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(s, 202, "{out}");
    app.run_worker_until_idle().await;
    let (s, p) = app
        .call(
            "GET",
            &format!("/api/v1/plannings/{id}"),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(s, 200, "{p}");
    let assigned: Vec<String> = p["services"][0]["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["userId"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(assigned.len(), 2, "{p:#}");
    let (s, out) = app
        .call(
            "POST",
            &format!("/api/v1/plannings/{id}/publish"),
            Some(&admin.token),
            Some(json!({"version": p["version"]})),
        )
        .await;
    assert_eq!(s, 200, "{out}");
    // Nothing before the worker runs: the dispatch is a job.
    for m in &members {
        assert!(of_type(&inbox(&app, m, "").await, "rota.published").is_empty());
    }
    app.run_worker_until_idle().await;

    for m in &members {
        let page = inbox(&app, m, "").await;
        let published = of_type(&page, "rota.published");
        if !assigned.contains(&m.user_id) {
            assert!(published.is_empty(), "{page:#}");
            continue;
        }
        assert_eq!(published.len(), 1, "{page:#}");
        let n = &published[0];
        let lang = if m.user_id == members[1].user_id {
            "en"
        } else {
            "fr"
        };
        assert_eq!(n["link"], format!("/{lang}/dashboard/plannings/{id}"));
        assert_eq!(n["data"]["planningId"], id.as_str());
        assert_eq!(n["data"]["departmentId"], dept.as_str());
        assert_eq!(n["data"]["assignmentIds"].as_array().unwrap().len(), 1);
        assert_eq!(n["isRead"], false);
        let body = n["body"].as_str().unwrap();
        if lang == "en" {
            assert!(body.contains("you serve once"), "{body}");
        } else {
            assert!(body.contains("vous servez 1 fois"), "{body}");
        }
        assert_eq!(unread(&app, m).await, 1);
    }

    // A decline reaches the leader with its reason.
    let decliner = members
        .iter()
        .find(|m| assigned.contains(&m.user_id))
        .unwrap();
    let (_, mine) = app
        .call("GET", "/api/v1/me/assignments", Some(&decliner.token), None)
        .await;
    let (s, out) = app
        .call(
            "POST",
            &format!(
                "/api/v1/me/assignments/{}/decline",
                mine[0]["id"].as_str().unwrap()
            ),
            Some(&decliner.token),
            Some(json!({"reason": "Mariage de ma sœur"})),
        )
        .await;
    assert_eq!(s, 200, "{out}");
    app.run_worker_until_idle().await;
    let declined = of_type(&inbox(&app, &admin, "").await, "assignment.declined");
    assert_eq!(declined.len(), 1);
    assert!(
        declined[0]["body"]
            .as_str()
            .unwrap()
            .contains("Mariage de ma sœur")
    );
    assert_eq!(declined[0]["data"]["reason"], "Mariage de ma sœur");
    assert_eq!(declined[0]["data"]["memberId"], decliner.user_id.as_str());
    assert!(of_type(&inbox(&app, decliner, "").await, "assignment.declined").is_empty());

    // Dispatching the same events again writes nothing twice.
    let db = app.db.connect().await;
    db.conn
        .execute_unprepared("UPDATE outbox_events SET processed_at = NULL")
        .await
        .unwrap();
    let again = app
        .ctx
        .notifications
        .dispatch(notifications::DISPATCH_BATCH, Utc::now())
        .await
        .unwrap();
    assert!(again.events >= 7, "{again:?}");
    assert_eq!(again.notifications, 0);
    for m in &members {
        let page = inbox(&app, m, "").await;
        let n = of_type(&page, "rota.published").len();
        assert_eq!(n, usize::from(assigned.contains(&m.user_id)));
    }
}

/// Writes `n` notifications for `user` straight through the store.
async fn seed(app: &TestApp, org: OrganizationId, user: UserId, n: usize) {
    let notes: Vec<_> = (0..n)
        .map(|i| NewNotification {
            organization: org,
            user,
            event: None,
            kind: "rota.published".into(),
            title: format!("n{i}"),
            body: format!("body {i}"),
            link: Some("/fr/dashboard/plannings".into()),
            data: json!({"i": i}),
        })
        .collect();
    // One delivery per row, so that creation times differ and order is observable.
    for note in notes {
        app.ctx
            .notifications
            .store()
            .deliver(std::slice::from_ref(&note), &[], &[], Utc::now())
            .await
            .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
}

#[tokio::test]
async fn the_inbox_pages_counts_and_marks_read_and_is_mine_alone() {
    let app = TestApp::spawn().await;
    let me = app.sign_up("me@example.org").await;
    app.create_church(&me, "Lyon").await;
    let org = org_of(&app, &me).await;
    let neighbour = app.sign_up("neighbour@example.org").await;
    app.create_church(&neighbour, "Paris").await;
    let other_org = org_of(&app, &neighbour).await;
    seed(&app, org, user_id(&me), 25).await;
    seed(&app, other_org, user_id(&neighbour), 1).await;

    // Pages of 10, newest first, with a cursor until the end.
    let mut seen = Vec::new();
    let mut query = "?limit=10".to_string();
    let mut pages = 0;
    loop {
        let page = inbox(&app, &me, &query).await;
        pages += 1;
        for n in page["items"].as_array().unwrap() {
            seen.push(n["title"].as_str().unwrap().to_string());
        }
        match page["nextCursor"].as_str() {
            Some(c) => query = format!("?limit=10&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let want: Vec<String> = (0..25).rev().map(|i| format!("n{i}")).collect();
    assert_eq!(seen, want);
    let default = inbox(&app, &me, "").await;
    assert_eq!(default["items"].as_array().unwrap().len(), 20);
    let first = &default["items"][0];
    assert_eq!(first["message"], first["body"]);
    assert_eq!(first["data"]["i"], 24);

    // Bad input.
    for (q, status) in [
        ("?limit=0", 422),
        ("?limit=101", 422),
        ("?limit=abc", 400),
        ("?cursor=nonsense", 400),
        ("?unread=maybe", 400),
    ] {
        let (s, out) = app
            .call(
                "GET",
                &format!("/api/v1/notifications{q}"),
                Some(&me.token),
                None,
            )
            .await;
        assert_eq!(s, status, "{q}: {out}");
    }
    let (s, _) = app.call("GET", "/api/v1/notifications", None, None).await;
    assert_eq!(s, 401);

    // Unread count, mark one read (twice is fine), unread filter.
    assert_eq!(unread(&app, &me).await, 25);
    let id = first["id"].as_str().unwrap();
    for _ in 0..2 {
        let (s, out) = app
            .call(
                "PATCH",
                &format!("/notifications/{id}/read"),
                Some(&me.token),
                None,
            )
            .await;
        assert_eq!(s, 204, "{out}");
    }
    assert_eq!(unread(&app, &me).await, 24);
    let page = inbox(&app, &me, "?unread=true&limit=100").await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 24);
    assert!(items.iter().all(|n| n["id"] != id && n["isRead"] == false));
    let page = inbox(&app, &me, "?limit=1").await;
    assert_eq!(page["items"][0]["isRead"], true);
    assert!(page["items"][0]["readAt"].is_string());

    // Someone else's notification is like one that does not exist.
    let theirs = inbox(&app, &neighbour, "").await["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    for bad in [
        theirs.as_str(),
        "0194f0a6-1c1e-7cc3-a3a5-000000000000",
        "not-a-uuid",
    ] {
        let (s, out) = app
            .call(
                "PATCH",
                &format!("/api/v1/notifications/{bad}/read"),
                Some(&me.token),
                None,
            )
            .await;
        assert_eq!(s, 404, "{bad}: {out}");
        assert_eq!(out["status"], 404);
    }
    assert_eq!(unread(&app, &neighbour).await, 1);

    // Read all.
    let (s, out) = app
        .call(
            "POST",
            "/api/v1/notifications/read-all",
            Some(&me.token),
            None,
        )
        .await;
    assert_eq!(s, 200, "{out}");
    assert_eq!(out["marked"], 24);
    assert_eq!(unread(&app, &me).await, 0);
    assert_eq!(unread(&app, &neighbour).await, 1);
    assert!(
        inbox(&app, &me, "?unread=true").await["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // Someone without a church has an empty inbox.
    let loner = app.sign_up("loner@example.org").await;
    assert_eq!(unread(&app, &loner).await, 0);
    assert!(
        inbox(&app, &loner, "").await["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn old_read_notifications_are_pruned_daily() {
    let app = TestApp::spawn_with(&[("NOTIFICATIONS_RETENTION_DAYS", "30")]).await;
    let me = app.sign_up("me@example.org").await;
    app.create_church(&me, "Lyon").await;
    let org = org_of(&app, &me).await;
    seed(&app, org, user_id(&me), 4).await;
    // n0 read 40 days ago, n1 read 10 days ago, n2 unread and 40 days old, n3 unread.
    let day = 86_400_000i64;
    let now = Utc::now().timestamp_millis();
    let db = app.db.connect().await;
    for (title, read_at, created_at) in [
        ("n0", Some(now - 40 * day), now - 41 * day),
        ("n1", Some(now - 10 * day), now - 41 * day),
        ("n2", None, now - 41 * day),
    ] {
        db.conn
            .execute_raw(store_sea::jobs::stmt(
                db.conn.get_database_backend(),
                "UPDATE notifications SET read_at = ?, created_at = ? WHERE title = ?",
                vec![read_at.into(), created_at.into(), title.into()],
            ))
            .await
            .unwrap();
    }
    app.ctx
        .enqueue(store_sea::NewJob::now(
            notifications::PRUNE_JOB,
            Value::Null,
            Utc::now(),
        ))
        .await
        .unwrap();
    app.run_worker_until_idle().await;
    let page = inbox(&app, &me, "").await;
    let mut left: Vec<_> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["title"].as_str().unwrap().to_string())
        .collect();
    left.sort();
    assert_eq!(left, ["n1", "n2", "n3"]);
}

#[tokio::test]
async fn my_export_holds_my_notifications_and_deleting_my_account_erases_them() {
    let app = TestApp::spawn().await;
    let admin = app.sign_up("admin@example.org").await;
    app.create_church(&admin, "Lyon").await;
    let dept = app.create_department(&admin, "Louange").await;
    let me = app
        .join_department(&admin, &dept, "me@example.org", "member")
        .await;
    let org = org_of(&app, &me).await;
    let (s, out) = app
        .call(
            "PATCH",
            "/api/v1/users/me",
            Some(&me.token),
            Some(json!({"notificationPreferences": {"rota.published": false}})),
        )
        .await;
    assert_eq!(s, 200, "{out}");
    seed(&app, org, user_id(&me), 3).await;
    seed(&app, org, user_id(&admin), 1).await;

    let (s, export) = app
        .call("GET", "/api/v1/users/me/data-export", Some(&me.token), None)
        .await;
    assert_eq!(s, 200, "{export}");
    let mine = export["notifications"].as_array().unwrap();
    assert_eq!(mine.len(), 3, "{export:#}");
    assert_eq!(mine[0]["title"], "n0", "oldest first");
    assert_eq!(
        export["user"]["notificationPreferences"]["rota.published"],
        false
    );

    let count = |user: UserId| {
        let app = &app;
        async move {
            let db = app.db.connect().await;
            let row = db
                .conn
                .query_one_raw(store_sea::jobs::stmt(
                    db.conn.get_database_backend(),
                    "SELECT COUNT(*) AS n FROM notifications WHERE user_id = ?",
                    vec![user.as_uuid().into()],
                ))
                .await
                .unwrap()
                .unwrap();
            row.try_get::<i64>("", "n").unwrap()
        }
    };
    assert_eq!(count(user_id(&me)).await, 3);
    let (s, out) = app
        .call(
            "DELETE",
            "/api/v1/users/me",
            Some(&me.token),
            Some(json!({"password": testkit::TEST_PASSWORD})),
        )
        .await;
    assert_eq!(s, 204, "{out}");
    assert_eq!(count(user_id(&me)).await, 0);
    // Others keep theirs (including the one telling of my arrival).
    assert_eq!(count(user_id(&admin)).await, 1);
}
