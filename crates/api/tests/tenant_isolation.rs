//! Tenant isolation: two churches, and every endpoint that takes an id, called by the other
//! church's administrator and member with the first church's ids. Each answer must be exactly
//! the answer for an id that does not exist (same status, code and detail), and the first
//! church's data must be untouched afterwards. Runs on SQLite, and on PostgreSQL in CI's
//! second pass (TEST_DATABASE_URL).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Value, json};
use testkit::{Signed, TestApp};

struct Church {
    admin: Signed,
    member: Signed,
    dept: String,
    invitation: String,
    token: String,
    service: String,
    /// The member's date range and weekly rule.
    range: String,
    weekly: String,
}

/// A service body dated ahead of today.
fn service_body() -> Value {
    let date = chrono::Utc::now().date_naive() + chrono::Duration::days(30);
    json!({"name": "Culte", "date": date.format("%Y-%m-%d").to_string(),
           "startTime": "10:00", "endTime": "12:00"})
}

async fn build(app: &TestApp, tag: &str, invitee: &str) -> Church {
    let admin = app.sign_up(&format!("admin-{tag}@example.org")).await;
    app.create_church(&admin, &format!("Church {tag}")).await;
    let dept = app.create_department(&admin, "Louange").await;
    let member = app
        .join_department(
            &admin,
            &dept,
            &format!("member-{tag}@example.org"),
            "member",
        )
        .await;
    let (invitation, token) = app.invite(&admin, &dept, invitee, None).await;
    let (status, service) = app
        .call(
            "POST",
            &format!("/api/v1/departments/{dept}/services"),
            Some(&admin.token),
            Some(service_body()),
        )
        .await;
    assert_eq!(status, 201, "{service}");
    let mut ids = Vec::new();
    for (what, body) in [("ranges", range_body()), ("weekly", weekly_body())] {
        let (s, r) = app
            .call(
                "POST",
                &format!("/api/v1/departments/{dept}/members/me/availabilities/{what}"),
                Some(&member.token),
                Some(body),
            )
            .await;
        assert_eq!(s, 201, "{r}");
        ids.push(r["id"].as_str().unwrap().to_string());
    }
    let weekly = ids.pop().unwrap();
    let range = ids.pop().unwrap();
    Church {
        admin,
        member,
        dept,
        invitation,
        token,
        service: service["id"].as_str().unwrap().to_string(),
        range,
        weekly,
    }
}

fn range_body() -> Value {
    json!({"from": "2030-01-03", "to": "2030-01-17", "isAllDay": true})
}

fn weekly_body() -> Value {
    json!({"weekday": "wednesday", "isAllDay": true, "startsOn": "2030-01-01"})
}

/// The ids a request may name: `d` a department, `u` a user, `i` an invitation, `s` a
/// service, `r` a date range and `w` a weekly rule.
struct Ids<'a> {
    d: &'a str,
    u: &'a str,
    i: &'a str,
    s: &'a str,
    r: &'a str,
    w: &'a str,
}

impl<'a> Ids<'a> {
    /// Church `c`'s ids, under department `d`.
    fn of(d: &'a str, c: &'a Church) -> Self {
        Ids {
            d,
            u: &c.member.user_id,
            i: &c.invitation,
            s: &c.service,
            r: &c.range,
            w: &c.weekly,
        }
    }

    /// Made-up ids, under department `d`.
    fn ghost(d: &'a str, g: &'a str) -> Self {
        Ids {
            d,
            u: g,
            i: g,
            s: g,
            r: g,
            w: g,
        }
    }
}

/// Every id-taking request.
fn requests(ids: Ids<'_>) -> Vec<(&'static str, String, Option<Value>)> {
    let Ids { d, u, i, s, r, w } = ids;
    let me = format!("/api/v1/departments/{d}/members/me/availabilities");
    let of = format!("/api/v1/departments/{d}/members/{u}/availabilities");
    vec![
        ("GET", format!("{me}/ranges"), None),
        ("POST", format!("{me}/ranges"), Some(range_body())),
        ("DELETE", format!("{me}/ranges/{r}"), None),
        ("GET", format!("{me}/weekly"), None),
        ("POST", format!("{me}/weekly"), Some(weekly_body())),
        ("DELETE", format!("{me}/weekly/{w}"), None),
        ("GET", format!("{of}/ranges"), None),
        ("POST", format!("{of}/ranges"), Some(range_body())),
        ("DELETE", format!("{of}/ranges/{r}"), None),
        ("GET", format!("{of}/weekly"), None),
        ("POST", format!("{of}/weekly"), Some(weekly_body())),
        ("DELETE", format!("{of}/weekly/{w}"), None),
        ("GET", format!("/api/v1/departments/{d}/services"), None),
        (
            "POST",
            format!("/api/v1/departments/{d}/services"),
            Some(service_body()),
        ),
        ("GET", format!("/api/v1/departments/{d}/services/{s}"), None),
        (
            "PATCH",
            format!("/api/v1/departments/{d}/services/{s}?scope=all"),
            Some(json!({"name": "Taken over"})),
        ),
        (
            "DELETE",
            format!("/api/v1/departments/{d}/services/{s}?scope=all"),
            None,
        ),
        (
            "PATCH",
            format!("/api/v1/departments/{d}/members/{u}"),
            Some(json!({"maxPerMonth": 1, "preferredServiceTypes": ["Hacked"]})),
        ),
        ("GET", format!("/api/v1/departments/{d}"), None),
        (
            "PATCH",
            format!("/api/v1/departments/{d}"),
            Some(json!({"name": "Taken over"})),
        ),
        ("POST", format!("/api/v1/departments/{d}/archive"), None),
        ("POST", format!("/api/v1/departments/{d}/restore"), None),
        ("DELETE", format!("/api/v1/departments/{d}"), None),
        ("GET", format!("/api/v1/departments/{d}/members"), None),
        (
            "PATCH",
            format!("/api/v1/departments/{d}/members/{u}"),
            Some(json!({"skills": ["Hacked"], "role": "guest"})),
        ),
        (
            "DELETE",
            format!("/api/v1/departments/{d}/members/{u}"),
            None,
        ),
        (
            "POST",
            format!("/api/v1/departments/{d}/invitations"),
            Some(json!({"email": "spy@example.org"})),
        ),
        ("GET", format!("/api/v1/departments/{d}/invitations"), None),
        (
            "POST",
            format!("/api/v1/departments/{d}/invitations/{i}/resend"),
            None,
        ),
        (
            "DELETE",
            format!("/api/v1/departments/{d}/invitations/{i}"),
            None,
        ),
        (
            "PATCH",
            format!("/api/v1/organizations/current/members/{u}"),
            Some(json!({"isAdmin": true})),
        ),
        ("GET", format!("/api/v1/users/{u}"), None),
        (
            "GET",
            format!("/api/v1/departments/{d}/members/me/availabilities?year=2030&month=1"),
            None,
        ),
        (
            "PUT",
            format!("/api/v1/departments/{d}/members/me/availabilities"),
            Some(json!({"year": 2030, "month": 1, "unavailableDates": []})),
        ),
        (
            "PUT",
            format!("/api/v1/departments/{d}/members/{u}/availabilities"),
            Some(json!({"year": 2030, "month": 1, "unavailableDates": []})),
        ),
        (
            "GET",
            format!("/api/v1/departments/{d}/availabilities?year=2030&month=1"),
            None,
        ),
        (
            "GET",
            format!("/api/v1/departments/{d}/availabilities/missing?year=2030&month=1"),
            None,
        ),
        (
            "GET",
            format!("/api/v1/departments/{d}/availabilities/deadline?year=2030&month=1"),
            None,
        ),
    ]
}

fn fingerprint(status: u16, body: &Value) -> (u16, Value, Value) {
    (status, body["code"].clone(), body["detail"].clone())
}

#[tokio::test]
async fn another_churchs_ids_behave_like_ids_that_do_not_exist() {
    // Each caller sends over a hundred requests: above the default per-user limit.
    let app = TestApp::spawn_with(&[("RATE_LIMIT_PER_MINUTE", "100000")]).await;
    // Church A invites church B's member: their token must not let them in.
    let b = build(&app, "b", "unused@example.org").await;
    let a = build(&app, "a", &b.member.email).await;
    let ghost = uuid::Uuid::now_v7().to_string();

    for (who, caller) in [("admin B", &b.admin), ("member B", &b.member)] {
        let mut checked = 0;
        // Entirely foreign ids, and foreign ids under the caller's own department.
        let foreign = requests(Ids::of(&a.dept, &a));
        let unknown = requests(Ids::ghost(&ghost, &ghost));
        let mixed = requests(Ids::of(&b.dept, &a));
        let mixed_unknown = requests(Ids::ghost(&b.dept, &ghost));
        for (set, reference) in [(foreign, unknown), (mixed, mixed_unknown)] {
            for ((m, path, body), (rm, rpath, rbody)) in set.into_iter().zip(reference) {
                // Requests on the caller's own department that do not name a foreign id
                // are not about isolation.
                if path == rpath {
                    continue;
                }
                let (s, got) = app.call(m, &path, Some(&caller.token), body).await;
                let (rs, want) = app.call(rm, &rpath, Some(&caller.token), rbody).await;
                assert!(
                    (400..500).contains(&s) && s != 429 && rs != 429,
                    "{who}: {m} {path} answered {s}: {got}"
                );
                assert_eq!(
                    fingerprint(s, &got),
                    fingerprint(rs, &want),
                    "{who}: {m} {path} differs from an unknown id"
                );
                // The administrator is in no department: their own `me` blockouts under
                // B's department are refused (403) before any id is looked at, as for a
                // made-up id.
                if std::ptr::eq(caller, &b.admin)
                    && !path.starts_with(&format!("/api/v1/departments/{}/members/me/", b.dept))
                {
                    assert_eq!(s, 404, "{who}: {m} {path}: {got}");
                }
                checked += 1;
            }
        }
        // 38 requests with foreign ids only, 19 with a foreign id beside B's own department.
        assert_eq!(checked, 57, "{who}");
    }

    // Lists never show the other church.
    let (_, depts) = app
        .call("GET", "/api/v1/departments", Some(&b.admin.token), None)
        .await;
    assert!(
        depts
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["id"] != a.dept.as_str())
    );
    let (_, people) = app
        .call(
            "GET",
            "/api/v1/organizations/current/members",
            Some(&b.admin.token),
            None,
        )
        .await;
    let emails: Vec<&str> = people
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails.len(), 2);
    assert!(emails.iter().all(|e| e.ends_with("-b@example.org")));

    // An invitation token of church A does not carry B's member into it.
    let (s, body) = app
        .call(
            "POST",
            &format!("/api/v1/invitations/{}/accept", a.token),
            Some(&b.member.token),
            None,
        )
        .await;
    assert_eq!((s, body["code"].as_str()), (409, Some("other_church")));

    // Church A is exactly as it was.
    let (s, d) = app
        .call(
            "GET",
            &format!("/api/v1/departments/{}", a.dept),
            Some(&a.admin.token),
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(d["name"], "Louange");
    assert_eq!(d["isArchived"], false);
    assert_eq!(d["memberCount"], 1);
    let (_, members) = app
        .call(
            "GET",
            &format!("/api/v1/departments/{}/members", a.dept),
            Some(&a.admin.token),
            None,
        )
        .await;
    assert_eq!(members[0]["skills"], json!([]));
    assert_eq!(members[0]["role"], "member");
    assert_eq!(members[0]["maxPerMonth"], Value::Null);
    assert_eq!(members[0]["preferredServiceTypes"], json!([]));
    let (s, service) = app
        .call(
            "GET",
            &format!("/api/v1/departments/{}/services/{}", a.dept, a.service),
            Some(&a.admin.token),
            None,
        )
        .await;
    assert_eq!((s, &service["name"]), (200, &json!("Culte")));
    let (_, services) = app
        .call(
            "GET",
            &format!("/api/v1/departments/{}/services", a.dept),
            Some(&a.admin.token),
            None,
        )
        .await;
    assert_eq!(services.as_array().unwrap().len(), 1);
    let (_, invitations) = app
        .call(
            "GET",
            &format!("/api/v1/departments/{}/invitations", a.dept),
            Some(&a.admin.token),
            None,
        )
        .await;
    assert_eq!(invitations.as_array().unwrap().len(), 1);
    assert_eq!(invitations[0]["id"], a.invitation.as_str());
    // A's member still has their range and weekly rule, and nothing more.
    for (what, id) in [("ranges", &a.range), ("weekly", &a.weekly)] {
        let (_, list) = app
            .call(
                "GET",
                &format!(
                    "/api/v1/departments/{}/members/me/availabilities/{what}",
                    a.dept
                ),
                Some(&a.member.token),
                None,
            )
            .await;
        let ids: Vec<&str> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, [id.as_str()], "{what}");
    }
    let (s, _) = app
        .call(
            "GET",
            &format!("/api/v1/invitations/{}", a.token),
            None,
            None,
        )
        .await;
    assert_eq!(
        s, 200,
        "the resend from church B must not have changed A's token"
    );
    let (_, me) = app
        .call("GET", "/api/v1/users/me", Some(&a.member.token), None)
        .await;
    assert_eq!(me["role"], "member");
    let (_, me) = app
        .call("GET", "/api/v1/users/me", Some(&b.member.token), None)
        .await;
    assert_ne!(me["organizationId"], Value::Null);
    let (_, b_org) = app
        .call(
            "GET",
            "/api/v1/organizations/current",
            Some(&b.admin.token),
            None,
        )
        .await;
    assert_eq!(me["organizationId"], b_org["id"]);
}

#[tokio::test]
async fn the_database_refuses_a_row_whose_church_differs_from_its_department() {
    // The second wall: even a buggy query could not attach a member to another church's
    // department, because members reference (department_id, organization_id).
    use sea_orm::ConnectionTrait;
    let app = TestApp::spawn().await;
    let a = build(&app, "a", "x-a@example.org").await;
    let b = build(&app, "b", "x-b@example.org").await;
    let (_, b_org) = app
        .call(
            "GET",
            "/api/v1/organizations/current",
            Some(&b.admin.token),
            None,
        )
        .await;
    let conn = &app.ctx.db.conn;
    let backend = conn.get_database_backend();
    let sql = match backend {
        sea_orm::DbBackend::Postgres => {
            "INSERT INTO department_members \
            (department_id, user_id, organization_id, role, skills, status, joined_at, updated_at) \
            VALUES ($1, $2, $3, 'member', '[]', 'active', 0, 0)"
        }
        _ => {
            "INSERT INTO department_members \
            (department_id, user_id, organization_id, role, skills, status, joined_at, updated_at) \
            VALUES (?, ?, ?, 'member', '[]', 'active', 0, 0)"
        }
    };
    let uuid = |s: &str| s.parse::<uuid::Uuid>().unwrap();
    let res = conn
        .execute_raw(sea_orm::Statement::from_sql_and_values(
            backend,
            sql,
            [
                uuid(&a.dept).into(),
                uuid(&b.admin.user_id).into(),
                uuid(b_org["id"].as_str().unwrap()).into(),
            ],
        ))
        .await;
    assert!(res.is_err(), "a cross-church membership row was accepted");
}
