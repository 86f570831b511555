//! Announcements through the HTTP API, on SQLite and (CI's second pass) PostgreSQL: a leader
//! posts to the whole department, members list them newest first with cursor pages, the
//! author or the administrator deletes; permissions, another church's ids, validation, the
//! in-app notification every member but the author receives, and what an author's account
//! deletion leaves.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Value, json};
use testkit::{Signed, TestApp};

async fn inbox_of(app: &TestApp, who: &Signed, kind: &str) -> Vec<Value> {
    let (s, out) = app
        .call("GET", "/api/v1/notifications", Some(&who.token), None)
        .await;
    assert_eq!(s, 200, "{out}");
    out["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["type"] == kind)
        .cloned()
        .collect()
}

async fn post(app: &TestApp, who: &Signed, dept: &str, body: Value) -> (u16, Value) {
    app.call(
        "POST",
        &format!("/api/v1/departments/{dept}/announcements"),
        Some(&who.token),
        Some(body),
    )
    .await
}

async fn list(app: &TestApp, who: &Signed, dept: &str, query: &str) -> (u16, Value) {
    app.call(
        "GET",
        &format!("/api/v1/departments/{dept}/announcements{query}"),
        Some(&who.token),
        None,
    )
    .await
}

struct Church {
    admin: Signed,
    dept: String,
    leader: Signed,
    members: Vec<Signed>,
    guest: Signed,
    /// A person of the church in another department.
    outsider: Signed,
}

async fn church(app: &TestApp) -> Church {
    let admin = app.sign_up("admin@example.org").await;
    app.create_church(&admin, "Lyon").await;
    let dept = app.create_department(&admin, "Louange").await;
    let other = app.create_department(&admin, "Accueil").await;
    let leader = app
        .join_department(&admin, &dept, "leader@example.org", "leader")
        .await;
    let mut members = Vec::new();
    for i in 0..2 {
        members.push(
            app.join_department(&admin, &dept, &format!("m{i}@example.org"), "member")
                .await,
        );
    }
    let guest = app
        .join_department(&admin, &dept, "guest@example.org", "guest")
        .await;
    let outsider = app
        .join_department(&admin, &other, "out@example.org", "member")
        .await;
    Church {
        admin,
        dept,
        leader,
        members,
        guest,
        outsider,
    }
}

#[tokio::test]
async fn a_leader_posts_and_every_member_but_the_author_is_told() {
    let app = TestApp::spawn().await;
    let c = church(&app).await;
    // English for one member, to read the notification in their language.
    let (s, out) = app
        .call(
            "PATCH",
            "/api/v1/users/me",
            Some(&c.members[1].token),
            Some(json!({"locale": "en"})),
        )
        .await;
    assert_eq!(s, 200, "{out}");
    app.run_worker_until_idle().await;

    let (s, a) = post(
        &app,
        &c.leader,
        &c.dept,
        json!({"title": "  Répétition samedi ", "body": "Samedi 10h,\nsalle B.\n"}),
    )
    .await;
    assert_eq!(s, 201, "{a}");
    assert_eq!(a["title"], "Répétition samedi");
    assert_eq!(a["body"], "Samedi 10h,\nsalle B.");
    assert_eq!(a["authorId"], c.leader.user_id.as_str());
    assert_eq!(a["authorName"], "leader Test");
    assert_eq!(a["departmentId"], c.dept.as_str());
    let id = a["id"].as_str().unwrap().to_string();

    app.run_worker_until_idle().await;
    app.run_worker_until_idle().await;
    for who in [&c.members[0], &c.members[1], &c.guest] {
        let got = inbox_of(&app, who, "announcement.posted").await;
        assert_eq!(got.len(), 1, "{}: {got:?}", who.email);
        assert_eq!(got[0]["data"]["announcementId"], id.as_str());
        assert_eq!(got[0]["data"]["departmentId"], c.dept.as_str());
        assert_eq!(got[0]["body"], "Samedi 10h,\nsalle B.");
    }
    assert_eq!(
        inbox_of(&app, &c.members[0], "announcement.posted").await[0]["title"],
        "Louange : Répétition samedi"
    );
    assert_eq!(
        inbox_of(&app, &c.members[1], "announcement.posted").await[0]["title"],
        "Louange: Répétition samedi"
    );
    assert!(
        inbox_of(&app, &c.leader, "announcement.posted")
            .await
            .is_empty(),
        "the author is not told"
    );
    // By email too (on by default), to the members, not to the author.
    let mailed: Vec<String> = app
        .mailer
        .deliveries()
        .into_iter()
        .filter(|m| m.subject.contains("Répétition samedi"))
        .map(|m| m.to.email)
        .collect();
    for who in [&c.members[0], &c.members[1], &c.guest] {
        assert_eq!(
            mailed.iter().filter(|e| **e == who.email).count(),
            1,
            "{}: {mailed:?}",
            who.email
        );
    }
    assert!(!mailed.contains(&c.leader.email), "{mailed:?}");
    assert!(
        inbox_of(&app, &c.outsider, "announcement.posted")
            .await
            .is_empty()
    );

    // Every member lists it (guests too, and the administrator); unprefixed as well.
    for who in [&c.members[0], &c.guest, &c.admin, &c.leader] {
        let (s, page) = list(&app, who, &c.dept, "").await;
        assert_eq!(s, 200, "{page}");
        assert_eq!(page["items"].as_array().unwrap().len(), 1);
        assert_eq!(page["items"][0]["id"], id.as_str());
        assert_eq!(page["items"][0]["authorName"], "leader Test");
        assert_eq!(page["nextCursor"], Value::Null);
    }
    let (s, page) = app
        .call(
            "GET",
            &format!("/departments/{}/announcements", c.dept),
            Some(&c.members[1].token),
            None,
        )
        .await;
    assert_eq!(s, 200, "{page}");
    assert_eq!(page["items"][0]["id"], id.as_str());
    // The administrator posts too.
    let (s, out) = post(&app, &c.admin, &c.dept, json!({"title": "t", "body": "b"})).await;
    assert_eq!(s, 201, "{out}");
}

#[tokio::test]
async fn who_may_post_list_and_delete_and_other_churches_see_nothing() {
    let app = TestApp::spawn().await;
    let c = church(&app).await;
    let stranger = app.sign_up("stranger@example.org").await;
    app.create_church(&stranger, "Paris").await;
    let body = json!({"title": "Titre", "body": "Message"});

    for who in [&c.members[0], &c.guest] {
        let (s, out) = post(&app, who, &c.dept, body.clone()).await;
        assert_eq!(s, 403, "{}: {out}", who.email);
        assert_eq!(out["code"], "forbidden");
    }
    let (s, out) = post(&app, &c.outsider, &c.dept, body.clone()).await;
    assert_eq!(s, 403, "{out}");
    let (s, out) = list(&app, &c.outsider, &c.dept, "").await;
    assert_eq!(
        s, 403,
        "a person of the church outside the department: {out}"
    );
    // Another church's administrator: 404 for everything, as for an unknown department.
    let (s, out) = post(&app, &stranger, &c.dept, body.clone()).await;
    assert_eq!(s, 404, "{out}");
    let (s, out) = list(&app, &stranger, &c.dept, "").await;
    assert_eq!(s, 404, "{out}");
    let unknown = uuid::Uuid::now_v7();
    let (s, _) = list(&app, &c.admin, &unknown.to_string(), "").await;
    assert_eq!(s, 404);
    // Without a token.
    let (s, _) = app
        .call(
            "GET",
            &format!("/api/v1/departments/{}/announcements", c.dept),
            None,
            None,
        )
        .await;
    assert_eq!(s, 401);

    let (s, a) = post(&app, &c.leader, &c.dept, body.clone()).await;
    assert_eq!(s, 201, "{a}");
    let del = |who: &Signed, dept: &str, id: &str| {
        let (app, token) = (&app, who.token.clone());
        let path = format!("/api/v1/departments/{dept}/announcements/{id}");
        async move { app.call("DELETE", &path, Some(&token), None).await.0 }
    };
    let id = a["id"].as_str().unwrap().to_string();
    assert_eq!(del(&c.members[0], &c.dept, &id).await, 403);
    assert_eq!(del(&stranger, &c.dept, &id).await, 404);
    assert_eq!(del(&c.leader, &c.dept, &unknown.to_string()).await, 404);
    // Under another department of the same church: not there.
    let other = app.create_department(&c.admin, "Son").await;
    assert_eq!(del(&c.admin, &other, &id).await, 404);
    assert_eq!(del(&c.leader, &c.dept, &id).await, 204);
    assert_eq!(del(&c.leader, &c.dept, &id).await, 404, "gone");
    // The administrator deletes anyone's; another leader's is not a leader's to delete.
    let (_, a) = post(&app, &c.leader, &c.dept, body.clone()).await;
    let id = a["id"].as_str().unwrap().to_string();
    let (_, b) = post(&app, &c.admin, &c.dept, body.clone()).await;
    assert_eq!(
        del(&c.leader, &c.dept, b["id"].as_str().unwrap()).await,
        403
    );
    assert_eq!(del(&c.admin, &c.dept, &id).await, 204);
    let (_, page) = list(&app, &c.members[0], &c.dept, "").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["id"], b["id"]);
    // A malformed id.
    let (s, _) = app
        .call(
            "DELETE",
            &format!("/api/v1/departments/{}/announcements/nope", c.dept),
            Some(&c.admin.token),
            None,
        )
        .await;
    assert!(matches!(s, 400 | 404), "{s}");
}

#[tokio::test]
async fn bad_input_is_refused_with_the_field() {
    let app = TestApp::spawn().await;
    let c = church(&app).await;
    let field = |out: &Value| -> Vec<String> {
        out["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                format!(
                    "{}:{}",
                    e["field"].as_str().unwrap(),
                    e["code"].as_str().unwrap()
                )
            })
            .collect()
    };
    let cases = [
        (json!({"title": "   ", "body": "b"}), vec!["title:required"]),
        (json!({"body": "b"}), vec!["title:required"]),
        (json!({"title": "t"}), vec!["body:required"]),
        (
            json!({"title": "x".repeat(121), "body": "b"}),
            vec!["title:too_long"],
        ),
        (
            json!({"title": "t", "body": "é".repeat(5001)}),
            vec!["body:too_long"],
        ),
        (
            json!({"title": "a\u{0007}", "body": "b"}),
            vec!["title:invalid_characters"],
        ),
    ];
    for (body, want) in cases {
        let (s, out) = post(&app, &c.leader, &c.dept, body.clone()).await;
        assert_eq!(s, 422, "{body}: {out}");
        assert_eq!(out["code"], "validation_failed");
        assert_eq!(field(&out), want, "{body}");
    }
    // The limits themselves pass.
    let (s, out) = post(
        &app,
        &c.leader,
        &c.dept,
        json!({"title": "x".repeat(120), "body": "é".repeat(5000)}),
    )
    .await;
    assert_eq!(s, 201, "{out}");
    // Wrong types and broken JSON: a 4xx problem, never a 5xx.
    let (s, out) = post(&app, &c.leader, &c.dept, json!({"title": 3, "body": []})).await;
    assert!((400..500).contains(&s), "{s} {out}");
    let res = app
        .client
        .post(app.url(&format!("/api/v1/departments/{}/announcements", c.dept)))
        .bearer_auth(&c.leader.token)
        .header("content-type", "application/json")
        .body("{\"title\":")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 400);
    // Nothing but the valid one was written.
    let (_, page) = list(&app, &c.leader, &c.dept, "").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn the_list_pages_newest_first_with_a_cursor() {
    let app = TestApp::spawn().await;
    let c = church(&app).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let (s, a) = post(
            &app,
            &c.leader,
            &c.dept,
            json!({"title": format!("n{i}"), "body": "b"}),
        )
        .await;
        assert_eq!(s, 201, "{a}");
        ids.push(a["id"].as_str().unwrap().to_string());
    }
    ids.reverse();
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let q = match &cursor {
            Some(c) => format!("?limit=2&cursor={c}"),
            None => "?limit=2".into(),
        };
        let (s, page) = list(&app, &c.members[0], &c.dept, &q).await;
        assert_eq!(s, 200, "{page}");
        pages += 1;
        for a in page["items"].as_array().unwrap() {
            seen.push(a["id"].as_str().unwrap().to_string());
        }
        match page["nextCursor"].as_str() {
            Some(n) => cursor = Some(n.to_string()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, ids, "newest first, each once");
    for (q, status) in [
        ("?limit=0", 422),
        ("?limit=101", 422),
        ("?cursor=garbage", 400),
        ("?limit=abc", 400),
    ] {
        let (s, out) = list(&app, &c.members[0], &c.dept, q).await;
        assert_eq!(s, status, "{q}: {out}");
    }
    let (s, page) = list(&app, &c.members[0], &c.dept, "?limit=100").await;
    assert_eq!(s, 200);
    assert_eq!(page["items"].as_array().unwrap().len(), 5);
}

#[tokio::test]
async fn an_authors_deleted_account_leaves_their_announcements_without_author() {
    let app = TestApp::spawn().await;
    let c = church(&app).await;
    // A second leader, so the department keeps one when the first leaves.
    let author = app
        .join_department(&c.admin, &c.dept, "author@example.org", "leader")
        .await;
    let (s, a) = post(
        &app,
        &author,
        &c.dept,
        json!({"title": "Bienvenue", "body": "b"}),
    )
    .await;
    assert_eq!(s, 201, "{a}");
    app.run_worker_until_idle().await;
    // My data export holds what I posted, and only that.
    let (s, export) = app
        .call(
            "GET",
            "/api/v1/users/me/data-export",
            Some(&author.token),
            None,
        )
        .await;
    assert_eq!(s, 200, "{export}");
    let mine = export["announcements"].as_array().unwrap();
    assert_eq!(mine.len(), 1, "{export:#}");
    assert_eq!(mine[0]["id"], a["id"]);
    assert_eq!(mine[0]["body"], "b");
    let (_, theirs) = app
        .call(
            "GET",
            "/api/v1/users/me/data-export",
            Some(&c.leader.token),
            None,
        )
        .await;
    assert_eq!(theirs["announcements"], json!([]));
    let (s, out) = app
        .call(
            "DELETE",
            "/api/v1/users/me",
            Some(&author.token),
            Some(json!({"password": testkit::TEST_PASSWORD})),
        )
        .await;
    assert_eq!(s, 204, "{out}");
    let (s, page) = list(&app, &c.members[0], &c.dept, "").await;
    assert_eq!(s, 200, "{page}");
    let item = &page["items"][0];
    assert_eq!(item["id"], a["id"]);
    assert_eq!(item["title"], "Bienvenue");
    assert_eq!(item["authorId"], Value::Null);
    assert_eq!(item["authorName"], Value::Null);
    // Members keep the notification; only the administrator deletes it now.
    assert_eq!(
        inbox_of(&app, &c.members[0], "announcement.posted")
            .await
            .len(),
        1
    );
    let path = format!(
        "/api/v1/departments/{}/announcements/{}",
        c.dept,
        a["id"].as_str().unwrap()
    );
    let (s, _) = app.call("DELETE", &path, Some(&c.leader.token), None).await;
    assert_eq!(s, 403);
    let (s, _) = app.call("DELETE", &path, Some(&c.admin.token), None).await;
    assert_eq!(s, 204);
}
