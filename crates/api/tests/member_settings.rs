//! Members' planning settings (`maxPerMonth`, `preferredServiceTypes`): leaders set anyone's,
//! members their own through `members/me`, nobody else; validated field by field. On SQLite
//! and (CI's second pass) PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Value, json};
use testkit::{Signed, TestApp};

fn code(body: &Value) -> &str {
    body["code"].as_str().unwrap_or_default()
}

fn fields(body: &Value) -> Vec<(String, String)> {
    body["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| {
                    (
                        e["field"].as_str().unwrap_or_default().to_string(),
                        e["code"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

async fn listed(app: &TestApp, dept: &str, by: &Signed, who: &Signed) -> Value {
    let (s, list) = app
        .call(
            "GET",
            &format!("/api/v1/departments/{dept}/members"),
            Some(&by.token),
            None,
        )
        .await;
    assert_eq!(s, 200, "{list}");
    list.as_array()
        .unwrap()
        .iter()
        .find(|m| m["userId"] == who.user_id.as_str())
        .unwrap()
        .clone()
}

#[tokio::test]
async fn leaders_set_anyones_members_set_their_own() {
    let app = TestApp::spawn().await;
    let admin = app.sign_up("admin@example.org").await;
    app.create_church(&admin, "Lyon").await;
    let dept = app.create_department(&admin, "Louange").await;
    let leader = app
        .join_department(&admin, &dept, "lea@example.org", "leader")
        .await;
    let member = app
        .join_department(&leader, &dept, "marc@example.org", "member")
        .await;
    let other = app
        .join_department(&leader, &dept, "otto@example.org", "member")
        .await;
    let guest = app
        .join_department(&leader, &dept, "gus@example.org", "guest")
        .await;
    let path = |u: &Signed| format!("/api/v1/departments/{dept}/members/{}", u.user_id);
    let me = format!("/api/v1/departments/{dept}/members/me");

    // Nothing set yet: no cap, no preference.
    let m = listed(&app, &dept, &member, &member).await;
    assert_eq!(m["maxPerMonth"], Value::Null);
    assert_eq!(m["preferredServiceTypes"], json!([]));

    // A leader sets a member's, with the skills if they like.
    let (s, m) = app
        .call(
            "PATCH",
            &path(&member),
            Some(&leader.token),
            Some(
                json!({"maxPerMonth": 4, "preferredServiceTypes": ["Culte"], "skills": ["Basse"]}),
            ),
        )
        .await;
    assert_eq!(s, 200, "{m}");
    assert_eq!(m["maxPerMonth"], 4);
    assert_eq!(m["preferredServiceTypes"], json!(["Culte"]));
    assert_eq!(m["skills"], json!(["Basse"]));

    // The member changes their own: trimmed, de-duplicated ignoring case; the unprefixed
    // path of the front end works too. Absent fields stay.
    let (s, m) = app
        .call(
            "PATCH",
            &format!("/departments/{dept}/members/me"),
            Some(&member.token),
            Some(json!({"preferredServiceTypes": [" Répétition ", "répétition", "", "Culte"]})),
        )
        .await;
    assert_eq!(s, 200, "{m}");
    assert_eq!(m["preferredServiceTypes"], json!(["Répétition", "Culte"]));
    assert_eq!(m["maxPerMonth"], 4);
    assert_eq!(m["skills"], json!(["Basse"]));
    assert_eq!(m["role"], "member");
    let (s, m) = app
        .call(
            "PATCH",
            &me,
            Some(&member.token),
            Some(json!({"maxPerMonth": 2})),
        )
        .await;
    assert_eq!(s, 200, "{m}");
    let listed_m = listed(&app, &dept, &leader, &member).await;
    assert_eq!(listed_m["maxPerMonth"], 2);
    assert_eq!(
        listed_m["preferredServiceTypes"],
        json!(["Répétition", "Culte"])
    );
    // null removes the cap.
    let (s, m) = app
        .call(
            "PATCH",
            &me,
            Some(&member.token),
            Some(json!({"maxPerMonth": null})),
        )
        .await;
    assert_eq!((s, &m["maxPerMonth"]), (200, &Value::Null), "{m}");
    assert_eq!(
        listed(&app, &dept, &member, &member).await["maxPerMonth"],
        Value::Null
    );

    // Role and skills stay the leaders'; another member's settings too.
    for body in [
        json!({"skills": ["Chant"]}),
        json!({"role": "leader"}),
        json!({"maxPerMonth": 3, "skills": ["Chant"]}),
        json!({}),
    ] {
        let (s, res) = app
            .call("PATCH", &me, Some(&member.token), Some(body.clone()))
            .await;
        assert_eq!(s, 403, "{body}: {res}");
    }
    let (s, _) = app
        .call(
            "PATCH",
            &path(&other),
            Some(&member.token),
            Some(json!({"maxPerMonth": 3})),
        )
        .await;
    assert_eq!(s, 403);
    // Guests do not serve: they have no planning settings of their own to set.
    let (s, _) = app
        .call(
            "PATCH",
            &me,
            Some(&guest.token),
            Some(json!({"maxPerMonth": 3})),
        )
        .await;
    assert_eq!(s, 403);
    // The administrator sets anyone's; a leader their own.
    let (s, m) = app
        .call(
            "PATCH",
            &path(&other),
            Some(&admin.token),
            Some(json!({"maxPerMonth": 31})),
        )
        .await;
    assert_eq!((s, &m["maxPerMonth"]), (200, &json!(31)));
    let (s, m) = app
        .call(
            "PATCH",
            &me,
            Some(&leader.token),
            Some(json!({"maxPerMonth": 1})),
        )
        .await;
    assert_eq!((s, &m["maxPerMonth"]), (200, &json!(1)));
    let member_now = listed(&app, &dept, &leader, &member).await;
    assert_eq!(member_now["skills"], json!(["Basse"]));
    assert_eq!(member_now["maxPerMonth"], Value::Null);
}

#[tokio::test]
async fn bad_settings_are_named_and_change_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.sign_up("admin@example.org").await;
    app.create_church(&admin, "Lyon").await;
    let dept = app.create_department(&admin, "Louange").await;
    let member = app
        .join_department(&admin, &dept, "marc@example.org", "member")
        .await;
    let me = format!("/api/v1/departments/{dept}/members/me");
    let (s, _) = app
        .call(
            "PATCH",
            &me,
            Some(&member.token),
            Some(json!({"maxPerMonth": 5, "preferredServiceTypes": ["Culte"]})),
        )
        .await;
    assert_eq!(s, 200);
    let eleven: Vec<String> = (0..11).map(|i| format!("Type {i}")).collect();
    for (body, status, field, field_code) in [
        (
            json!({"maxPerMonth": 0}),
            422,
            "maxPerMonth",
            "out_of_range",
        ),
        (
            json!({"maxPerMonth": 32}),
            422,
            "maxPerMonth",
            "out_of_range",
        ),
        (
            json!({"maxPerMonth": -3}),
            422,
            "maxPerMonth",
            "out_of_range",
        ),
        (
            json!({"maxPerMonth": 4, "preferredServiceTypes": eleven}),
            422,
            "preferredServiceTypes",
            "too_many",
        ),
        (
            json!({"preferredServiceTypes": ["x".repeat(51)]}),
            422,
            "preferredServiceTypes",
            "too_long",
        ),
        (json!({"maxPerMonth": "3"}), 422, "body", "invalid_type"),
        (json!({"maxPerMonth": 2.5}), 422, "body", "invalid_type"),
        (
            json!({"preferredServiceTypes": "Culte"}),
            422,
            "body",
            "invalid_type",
        ),
        (
            json!({"preferredServiceTypes": [3]}),
            422,
            "body",
            "invalid_type",
        ),
    ] {
        let (s, res) = app
            .call("PATCH", &me, Some(&member.token), Some(body.clone()))
            .await;
        assert_eq!(s, status, "{body}: {res}");
        assert_eq!(
            fields(&res),
            [(field.to_string(), field_code.to_string())],
            "{body}: {res}"
        );
    }
    let res = app
        .client
        .patch(app.url(&me))
        .bearer_auth(&member.token)
        .header("content-type", "application/json")
        .body("{\"maxPerMonth\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let (_, list) = app
        .call(
            "GET",
            &format!("/api/v1/departments/{dept}/members"),
            Some(&member.token),
            None,
        )
        .await;
    let m = list
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["userId"] == member.user_id.as_str())
        .unwrap();
    assert_eq!(m["maxPerMonth"], 5);
    assert_eq!(m["preferredServiceTypes"], json!(["Culte"]));

    // Another church's department is unknown; an archived one takes no change.
    let stranger = app.sign_up("stranger@example.org").await;
    app.create_church(&stranger, "Paris").await;
    let (s, body) = app
        .call(
            "PATCH",
            &me,
            Some(&stranger.token),
            Some(json!({"maxPerMonth": 3})),
        )
        .await;
    assert_eq!(s, 404, "{body}");
    let (s, _) = app
        .call(
            "POST",
            &format!("/api/v1/departments/{dept}/archive"),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(s, 200);
    let (s, body) = app
        .call(
            "PATCH",
            &me,
            Some(&member.token),
            Some(json!({"maxPerMonth": 3})),
        )
        .await;
    assert_eq!((s, code(&body)), (409, "department_archived"));
}
