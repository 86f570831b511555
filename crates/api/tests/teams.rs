//! Churches, departments, members and invitations through the HTTP API, on a real database
//! (SQLite by default, PostgreSQL with TEST_DATABASE_URL), the worker delivering the emails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Value, json};
use testkit::{Signed, TestApp};

fn code(body: &Value) -> &str {
    body["code"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn a_church_is_created_by_its_first_administrator() {
    let app = TestApp::spawn().await;
    let alice = app.sign_up("alice@example.org").await;
    let (s, body) = app
        .call(
            "GET",
            "/api/v1/organizations/current",
            Some(&alice.token),
            None,
        )
        .await;
    assert_eq!(s, 404, "{body}");

    let org = app
        .create_church(&alice, "Église Évangélique de Lyon")
        .await;
    assert_eq!(org["slug"], "eglise-evangelique-de-lyon");
    assert_eq!(org["timezone"], "Europe/Paris");
    let (_, me) = app
        .call("GET", "/api/v1/users/me", Some(&alice.token), None)
        .await;
    assert_eq!(me["role"], "admin");
    assert_eq!(me["organizationId"], org["id"]);

    // One church per account; slugs are unique; bad input is named field by field.
    let (s, body) = app
        .call(
            "POST",
            "/api/v1/organizations",
            Some(&alice.token),
            Some(json!({"name": "Again"})),
        )
        .await;
    assert_eq!((s, code(&body)), (409, "already_in_church"));
    let bob = app.sign_up("bob@example.org").await;
    let (s, body) = app
        .call(
            "POST",
            "/api/v1/organizations",
            Some(&bob.token),
            Some(json!({"name": "Other", "slug": "eglise-evangelique-de-lyon"})),
        )
        .await;
    assert_eq!((s, code(&body)), (409, "slug_taken"));
    let (s, body) = app
        .call(
            "POST",
            "/api/v1/organizations",
            Some(&bob.token),
            Some(json!({"name": " ", "slug": "Bad Slug", "timezone": "Mars/Base"})),
        )
        .await;
    assert_eq!(s, 422, "{body}");
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["name", "slug", "timezone"]);
    let (s, _) = app
        .call(
            "POST",
            "/api/v1/organizations",
            Some(&bob.token),
            Some(json!({"name": 42})),
        )
        .await;
    assert_eq!(s, 422);

    let (s, org) = app
        .call(
            "PATCH",
            "/api/v1/organizations/current",
            Some(&alice.token),
            Some(json!({"name": "Église de Lyon", "timezone": "America/Montreal"})),
        )
        .await;
    assert_eq!(s, 200, "{org}");
    assert_eq!(org["name"], "Église de Lyon");
    assert_eq!(org["timezone"], "America/Montreal");
    let (s, _) = app
        .call("GET", "/api/v1/organizations/current", None, None)
        .await;
    assert_eq!(s, 401);
}

#[tokio::test]
async fn departments_are_created_updated_archived_and_deleted() {
    let app = TestApp::spawn().await;
    let admin = app.sign_up("admin@example.org").await;
    app.create_church(&admin, "Lyon").await;
    let (s, d) = app
        .call(
            "POST",
            "/api/v1/departments",
            Some(&admin.token),
            Some(json!({"name": "Louange", "description": "Le dimanche"})),
        )
        .await;
    assert_eq!(s, 201, "{d}");
    assert_eq!(d["availabilityDeadlineDays"], 7);
    assert_eq!(d["reminderHoursBefore"], 24);
    assert_eq!(d["memberCount"], 0);
    let id = d["id"].as_str().unwrap().to_string();

    let (s, body) = app
        .call(
            "POST",
            "/api/v1/departments",
            Some(&admin.token),
            Some(json!({"name": " louange "})),
        )
        .await;
    assert_eq!((s, code(&body)), (409, "name_taken"));
    for bad in [
        json!({"name": "X", "availabilityDeadlineDays": 0}),
        json!({"name": "X", "availabilityDeadlineDays": 31}),
        json!({"name": "X", "reminderHoursBefore": 169}),
        json!({"name": ""}),
    ] {
        let (s, body) = app
            .call("POST", "/api/v1/departments", Some(&admin.token), Some(bad))
            .await;
        assert_eq!(s, 422, "{body}");
    }

    let (s, d) = app
        .call(
            "PATCH",
            &format!("/api/v1/departments/{id}"),
            Some(&admin.token),
            Some(json!({"availabilityDeadlineDays": 10, "reminderHoursBefore": 48, "description": null})),
        )
        .await;
    assert_eq!(s, 200, "{d}");
    assert_eq!(d["availabilityDeadlineDays"], 10);
    assert_eq!(d["description"], Value::Null);

    let sono = app.create_department(&admin, "Sono").await;
    let (_, list) = app
        .call("GET", "/api/v1/departments", Some(&admin.token), None)
        .await;
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Louange", "Sono"]);

    // Archived: out of the default list, read-only, restorable; its pending invitations die.
    let (s, _) = app
        .call(
            "POST",
            &format!("/api/v1/departments/{id}/invitations"),
            Some(&admin.token),
            Some(json!({"email": "late@example.org"})),
        )
        .await;
    assert_eq!(s, 201);
    let late = app.emailed_link_token("/invitations/").await;
    let (s, d) = app
        .call(
            "POST",
            &format!("/api/v1/departments/{id}/archive"),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!((s, d["isArchived"].as_bool()), (200, Some(true)));
    let (_, list) = app
        .call("GET", "/api/v1/departments", Some(&admin.token), None)
        .await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (_, list) = app
        .call(
            "GET",
            "/api/v1/departments?includeArchived=true",
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(list.as_array().unwrap().len(), 2);
    let (s, body) = app
        .call(
            "PATCH",
            &format!("/api/v1/departments/{id}"),
            Some(&admin.token),
            Some(json!({"name": "Chorale"})),
        )
        .await;
    assert_eq!((s, code(&body)), (409, "department_archived"));
    let (s, body) = app
        .call("GET", &format!("/api/v1/invitations/{late}"), None, None)
        .await;
    assert_eq!((s, code(&body)), (410, "invitation_cancelled"));
    let (s, _) = app
        .call(
            "POST",
            &format!("/api/v1/departments/{id}/restore"),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(s, 200);

    // A department with a member has history: archive, not delete.
    app.join_department(&admin, &id, "m@example.org", "member")
        .await;
    let (s, body) = app
        .call(
            "DELETE",
            &format!("/api/v1/departments/{id}"),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!((s, code(&body)), (409, "department_has_history"));
    let (s, _) = app
        .call(
            "DELETE",
            &format!("/api/v1/departments/{sono}"),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(s, 204);
    let (s, _) = app
        .call(
            "GET",
            &format!("/api/v1/departments/{sono}"),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(s, 404);
    let (s, _) = app
        .call(
            "GET",
            "/api/v1/departments/not-a-uuid",
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(s, 400);
}

#[tokio::test]
async fn an_invitation_goes_out_by_email_and_is_accepted_once() {
    let app = TestApp::spawn().await;
    let admin = app.sign_up("admin@example.org").await;
    app.create_church(&admin, "Lyon").await;
    let dept = app.create_department(&admin, "Accueil").await;

    let (s, inv) = app
        .call(
            "POST",
            &format!("/api/v1/departments/{dept}/invitations"),
            Some(&admin.token),
            Some(json!({"email": " Bob@Example.org ", "role": "member"})),
        )
        .await;
    assert_eq!(s, 201, "{inv}");
    assert_eq!(inv["email"], "bob@example.org");
    assert_eq!(inv["status"], "pending");
    // The email goes through the worker, in the inviter's language, with the front end's link.
    assert!(app.mailer.deliveries().is_empty());
    let token = app.emailed_link_token("/invitations/").await;
    let mail = app.mailer.deliveries().pop().unwrap();
    assert_eq!(mail.to.email, "bob@example.org");
    assert!(
        mail.text.contains(&format!("/fr/invitations/{token}")),
        "{}",
        mail.text
    );
    let (s, list) = app
        .call(
            "GET",
            &format!("/api/v1/departments/{dept}/invitations"),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!((s, list.as_array().unwrap().len()), (200, 1));

    let (s, preview) = app
        .call("GET", &format!("/api/v1/invitations/{token}"), None, None)
        .await;
    assert_eq!(s, 200, "{preview}");
    assert_eq!(preview["departmentName"], "Accueil");
    assert_eq!(preview["organizationName"], "Lyon");

    // Registering with the token under another address is refused, and creates nothing.
    let (s, body) = app
        .call(
            "POST",
            "/api/v1/auth/register",
            None,
            Some(
                json!({"email": "other@example.org", "password": testkit::TEST_PASSWORD,
                "firstName": "O", "lastName": "T", "invitationToken": token}),
            ),
        )
        .await;
    assert_eq!(s, 422, "{body}");
    let bob = app
        .sign_up_with("bob@example.org", json!({"invitationToken": token}))
        .await;
    let (_, me) = app
        .call("GET", "/api/v1/users/me", Some(&bob.token), None)
        .await;
    assert_eq!(me["isEmailVerified"], true);
    assert!(me["organizationId"].is_string());
    assert_eq!(me["role"], "member");
    let (_, members) = app
        .call(
            "GET",
            &format!("/api/v1/departments/{dept}/members"),
            Some(&bob.token),
            None,
        )
        .await;
    let m = &members[0];
    assert_eq!(
        (
            m["email"].as_str(),
            m["role"].as_str(),
            m["status"].as_str()
        ),
        (Some("bob@example.org"), Some("member"), Some("active"))
    );
    assert_eq!(m["firstName"], "bob");

    // Used → 410; inviting a member → 409; nothing pending is left.
    let (s, body) = app
        .call("GET", &format!("/api/v1/invitations/{token}"), None, None)
        .await;
    assert_eq!((s, code(&body)), (410, "invitation_used"));
    let (s, body) = app
        .call(
            "POST",
            &format!("/api/v1/invitations/{token}/accept"),
            Some(&bob.token),
            None,
        )
        .await;
    assert_eq!((s, code(&body)), (410, "invitation_used"));
    let (s, body) = app
        .call(
            "POST",
            &format!("/api/v1/departments/{dept}/invitations"),
            Some(&admin.token),
            Some(json!({"email": "bob@example.org"})),
        )
        .await;
    assert_eq!((s, code(&body)), (409, "already_member"));
    let (_, list) = app
        .call(
            "GET",
            &format!("/api/v1/departments/{dept}/invitations"),
            Some(&admin.token),
            None,
        )
        .await;
    assert!(list.as_array().unwrap().is_empty());
    let (s, body) = app
        .call("GET", "/api/v1/invitations/no-such-token", None, None)
        .await;
    assert_eq!(s, 404, "{body}");
}

#[tokio::test]
async fn invitations_are_resent_cancelled_expire_and_are_accepted_signed_in() {
    let app = TestApp::spawn().await;
    let admin = app.sign_up("admin@example.org").await;
    app.create_church(&admin, "Lyon").await;
    let dept = app.create_department(&admin, "Sono").await;
    let carol = app.sign_up("carol@example.org").await;
    // Twice the same address → 409; resend gives a new link and kills the old one.
    let (id, first) = app.invite(&admin, &dept, "carol@example.org", None).await;
    let (s, body) = app
        .call(
            "POST",
            &format!("/api/v1/departments/{dept}/invitations"),
            Some(&admin.token),
            Some(json!({"email": "carol@example.org"})),
        )
        .await;
    assert_eq!((s, code(&body)), (409, "already_invited"));
    let (s, _) = app
        .call(
            "POST",
            &format!("/api/v1/departments/{dept}/invitations/{id}/resend"),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(s, 200);
    let second = app.emailed_link_token("/invitations/").await;
    assert_ne!(first, second);
    let (s, _) = app
        .call("GET", &format!("/api/v1/invitations/{first}"), None, None)
        .await;
    assert_eq!(s, 404);

    // Accepting needs the invited address.
    let dave = app.sign_up("dave@example.org").await;
    let (s, body) = app
        .call(
            "POST",
            &format!("/api/v1/invitations/{second}/accept"),
            Some(&dave.token),
            None,
        )
        .await;
    assert_eq!((s, code(&body)), (409, "invitation_email_mismatch"));
    let (s, m) = app
        .call(
            "POST",
            &format!("/api/v1/invitations/{second}/accept"),
            Some(&carol.token),
            None,
        )
        .await;
    assert_eq!(s, 200, "{m}");
    assert_eq!(m["departmentId"], dept.as_str());
    assert_eq!(m["role"], "member");

    // Cancelled → 410 with its own code; cancelling twice → 404.
    let (id, tok) = app.invite(&admin, &dept, "erin@example.org", None).await;
    let (s, _) = app
        .call(
            "DELETE",
            &format!("/api/v1/departments/{dept}/invitations/{id}"),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(s, 204);
    let (s, body) = app
        .call("GET", &format!("/api/v1/invitations/{tok}"), None, None)
        .await;
    assert_eq!((s, code(&body)), (410, "invitation_cancelled"));
    let (s, _) = app
        .call(
            "DELETE",
            &format!("/api/v1/departments/{dept}/invitations/{id}"),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(s, 404);

    // Expired: refused at once, and marked by the daily job.
    let (_, tok) = app.invite(&admin, &dept, "fred@example.org", None).await;
    use sea_orm::ConnectionTrait;
    app.ctx
        .db
        .conn
        .execute_unprepared(
            "UPDATE invitations SET expires_at = 0 WHERE email = 'fred@example.org'",
        )
        .await
        .unwrap();
    let (s, body) = app
        .call("GET", &format!("/api/v1/invitations/{tok}"), None, None)
        .await;
    assert_eq!((s, code(&body)), (410, "invitation_expired"));
    let (s, body) = app
        .call(
            "POST",
            "/api/v1/auth/register",
            None,
            Some(
                json!({"email": "fred@example.org", "password": testkit::TEST_PASSWORD,
                "firstName": "F", "lastName": "T", "invitationToken": tok}),
            ),
        )
        .await;
    assert_eq!((s, code(&body)), (410, "invitation_expired"));
    app.ctx
        .enqueue(store_sea::NewJob::now(
            teams::EXPIRE_INVITATIONS_JOB,
            Value::Null,
            app.ctx.clock.now(),
        ))
        .await
        .unwrap();
    app.run_worker_until_idle().await;
    let status: String = app
        .ctx
        .db
        .conn
        .query_one_raw(sea_orm::Statement::from_string(
            app.ctx.db.conn.get_database_backend(),
            "SELECT status FROM invitations WHERE email = 'fred@example.org'",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get("", "status")
        .unwrap();
    assert_eq!(status, "expired");

    // Someone of another church cannot join this one.
    let gina = app.sign_up("gina@example.org").await;
    app.create_church(&gina, "Marseille").await;
    let (_, tok) = app.invite(&admin, &dept, "gina@example.org", None).await;
    let (s, body) = app
        .call(
            "POST",
            &format!("/api/v1/invitations/{tok}/accept"),
            Some(&gina.token),
            None,
        )
        .await;
    assert_eq!((s, code(&body)), (409, "other_church"));
}

#[tokio::test]
async fn roles_and_skills_follow_the_permission_matrix() {
    let app = TestApp::spawn().await;
    let admin = app.sign_up("admin@example.org").await;
    app.create_church(&admin, "Lyon").await;
    let dept = app.create_department(&admin, "Louange").await;
    let leader = app
        .join_department(&admin, &dept, "leader@example.org", "leader")
        .await;
    let member = app
        .join_department(&leader, &dept, "member@example.org", "member")
        .await;
    let guest = app
        .join_department(&leader, &dept, "guest@example.org", "guest")
        .await;
    let (_, me) = app
        .call("GET", "/api/v1/users/me", Some(&leader.token), None)
        .await;
    assert_eq!(me["role"], "leader");
    let path = |u: &Signed| format!("/api/v1/departments/{dept}/members/{}", u.user_id);

    // Only the administrator appoints leaders, even by invitation.
    let (s, _) = app
        .call(
            "POST",
            &format!("/api/v1/departments/{dept}/invitations"),
            Some(&leader.token),
            Some(json!({"email": "x@example.org", "role": "leader"})),
        )
        .await;
    assert_eq!(s, 403);
    let (s, _) = app
        .call(
            "PATCH",
            &path(&member),
            Some(&leader.token),
            Some(json!({"role": "leader"})),
        )
        .await;
    assert_eq!(s, 403);

    // Leaders set skills: trimmed, de-duplicated, at most 20.
    let (s, m) = app
        .call(
            "PATCH",
            &path(&member),
            Some(&leader.token),
            Some(json!({"skills": [" Bass ", "bass", "Drums", ""]})),
        )
        .await;
    assert_eq!(s, 200, "{m}");
    assert_eq!(m["skills"], json!(["Bass", "Drums"]));
    let many: Vec<String> = (0..21).map(|i| format!("s{i}")).collect();
    let (s, body) = app
        .call(
            "PATCH",
            &path(&member),
            Some(&leader.token),
            Some(json!({ "skills": many })),
        )
        .await;
    assert_eq!(s, 422, "{body}");
    let (s, body) = app
        .call(
            "PATCH",
            &path(&member),
            Some(&leader.token),
            Some(json!({"role": "boss"})),
        )
        .await;
    assert_eq!(s, 422, "{body}");

    // Members and guests read only.
    for who in [&member, &guest] {
        let (s, _) = app
            .call(
                "GET",
                &format!("/api/v1/departments/{dept}/members"),
                Some(&who.token),
                None,
            )
            .await;
        assert_eq!(s, 200);
        let (s, _) = app
            .call(
                "PATCH",
                &format!("/api/v1/departments/{dept}"),
                Some(&who.token),
                Some(json!({"name": "Mine"})),
            )
            .await;
        assert_eq!(s, 403);
        let (s, _) = app
            .call(
                "PATCH",
                &path(&leader),
                Some(&who.token),
                Some(json!({"skills": ["x"]})),
            )
            .await;
        assert_eq!(s, 403);
        let (s, _) = app
            .call(
                "GET",
                &format!("/api/v1/departments/{dept}/invitations"),
                Some(&who.token),
                None,
            )
            .await;
        assert_eq!(s, 403);
    }

    // The last leader stays: not demoted, cannot leave; with a second leader both work.
    let (s, body) = app
        .call(
            "PATCH",
            &path(&leader),
            Some(&admin.token),
            Some(json!({"role": "member"})),
        )
        .await;
    assert_eq!((s, code(&body)), (409, "last_leader"));
    let (s, body) = app
        .call(
            "DELETE",
            &format!("/api/v1/departments/{dept}/members/me"),
            Some(&leader.token),
            None,
        )
        .await;
    assert_eq!((s, code(&body)), (409, "last_leader"));
    let (s, _) = app
        .call(
            "PATCH",
            &path(&member),
            Some(&admin.token),
            Some(json!({"role": "leader"})),
        )
        .await;
    assert_eq!(s, 200);
    let (_, me) = app
        .call("GET", "/api/v1/users/me", Some(&member.token), None)
        .await;
    assert_eq!(me["role"], "leader");
    let (s, _) = app
        .call(
            "PATCH",
            &path(&leader),
            Some(&admin.token),
            Some(json!({"role": "member"})),
        )
        .await;
    assert_eq!(s, 200);
    let (_, me) = app
        .call("GET", "/api/v1/users/me", Some(&leader.token), None)
        .await;
    assert_eq!(me["role"], "member");

    // Removed: keeps the account, loses the department; leaving oneself works too.
    let (s, _) = app
        .call("DELETE", &path(&guest), Some(&member.token), None)
        .await;
    assert_eq!(s, 204);
    let (s, _) = app
        .call(
            "GET",
            &format!("/api/v1/departments/{dept}"),
            Some(&guest.token),
            None,
        )
        .await;
    assert_eq!(s, 403);
    let (s, _) = app
        .call("GET", "/api/v1/users/me", Some(&guest.token), None)
        .await;
    assert_eq!(s, 200);
    let (s, _) = app
        .call(
            "DELETE",
            &format!("/api/v1/departments/{dept}/members/me"),
            Some(&leader.token),
            None,
        )
        .await;
    assert_eq!(s, 204);
    let (_, members) = app
        .call(
            "GET",
            &format!("/api/v1/departments/{dept}/members"),
            Some(&admin.token),
            None,
        )
        .await;
    let emails: Vec<&str> = members
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, ["member@example.org"]);
    let (s, _) = app
        .call("DELETE", &path(&guest), Some(&admin.token), None)
        .await;
    assert_eq!(s, 404);

    // People of the church see each other; the only administrator cannot delete their
    // account while others remain.
    let (s, p) = app
        .call(
            "GET",
            &format!("/api/v1/users/{}", admin.user_id),
            Some(&guest.token),
            None,
        )
        .await;
    assert_eq!((s, p["isAdmin"].as_bool()), (200, Some(true)));
    let (s, body) = app
        .call(
            "DELETE",
            "/api/v1/users/me",
            Some(&admin.token),
            Some(json!({"password": testkit::TEST_PASSWORD})),
        )
        .await;
    assert_eq!((s, code(&body)), (409, "last_admin"));

    // The church keeps an administrator.
    let (s, body) = app
        .call(
            "PATCH",
            &format!("/api/v1/organizations/current/members/{}", admin.user_id),
            Some(&admin.token),
            Some(json!({"isAdmin": false})),
        )
        .await;
    assert_eq!((s, code(&body)), (409, "last_admin"));
    let (s, _) = app
        .call(
            "PATCH",
            &format!("/api/v1/organizations/current/members/{}", member.user_id),
            Some(&member.token),
            Some(json!({"isAdmin": true})),
        )
        .await;
    assert_eq!(s, 403);
    let (s, _) = app
        .call(
            "PATCH",
            &format!("/api/v1/organizations/current/members/{}", member.user_id),
            Some(&admin.token),
            Some(json!({"isAdmin": true})),
        )
        .await;
    assert_eq!(s, 204);
    let (s, _) = app
        .call(
            "PATCH",
            &format!("/api/v1/organizations/current/members/{}", admin.user_id),
            Some(&admin.token),
            Some(json!({"isAdmin": false})),
        )
        .await;
    assert_eq!(s, 204);
    let (_, me) = app
        .call("GET", "/api/v1/users/me", Some(&admin.token), None)
        .await;
    assert_eq!(me["role"], "member");
    let (s, people) = app
        .call(
            "GET",
            "/api/v1/organizations/current/members",
            Some(&member.token),
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(people.as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn the_data_export_lists_memberships_and_invitations() {
    let app = TestApp::spawn().await;
    let admin = app.sign_up("admin@example.org").await;
    app.create_church(&admin, "Lyon").await;
    let dept = app.create_department(&admin, "Accueil").await;
    let bob = app
        .join_department(&admin, &dept, "bob@example.org", "member")
        .await;
    let (s, export) = app
        .call(
            "GET",
            "/api/v1/users/me/data-export",
            Some(&bob.token),
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(export["memberships"][0]["departmentName"], "Accueil");
    assert_eq!(export["invitations"][0]["email"], "bob@example.org");
    assert_eq!(export["invitations"][0]["status"], "accepted");
    let (_, export) = app
        .call(
            "GET",
            "/api/v1/users/me/data-export",
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(export["invitations"][0]["email"], "bob@example.org");
    assert!(export["memberships"].as_array().unwrap().is_empty());
}
