//! The rota through the HTTP API, on SQLite and (CI's second pass) PostgreSQL: generation as
//! a worker job, the hard rules, explanations, manual edits under optimistic concurrency,
//! publication with its events, members' answers and cross-department overlaps.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{Datelike, Months, NaiveDate, Utc, Weekday};
use serde_json::{Value, json};
use testkit::{Signed, TestApp};

/// The first day of the month `n` months from now.
fn month_from_now(n: u32) -> NaiveDate {
    let today = Utc::now().date_naive();
    NaiveDate::from_ymd_opt(today.year(), today.month(), 1).unwrap() + Months::new(n)
}

fn sundays(first: NaiveDate) -> Vec<NaiveDate> {
    first
        .iter_days()
        .take_while(|d| d.month() == first.month())
        .filter(|d| d.weekday() == Weekday::Sun)
        .collect()
}

/// A service, created through the services API.
#[allow(clippy::too_many_arguments)]
async fn add_service(
    app: &TestApp,
    by: &Signed,
    dept: &str,
    name: &str,
    date: NaiveDate,
    start: &str,
    end: &str,
    roles: Value,
) -> String {
    let (s, out) = app
        .call(
            "POST",
            &format!("/api/v1/departments/{dept}/services"),
            Some(&by.token),
            Some(
                json!({"name": name, "serviceType": "sunday", "date": date.to_string(),
                "startTime": start, "endTime": end, "location": "Grande salle",
                "requiredRoles": roles}),
            ),
        )
        .await;
    assert_eq!(s, 201, "{out}");
    out["id"].as_str().unwrap().to_string()
}

struct Church {
    admin: Signed,
    dept: String,
    members: Vec<Signed>,
}

/// A church with one department whose members have the given skills.
async fn church(app: &TestApp, skills: &[&[&str]]) -> Church {
    let admin = app.sign_up("admin@example.org").await;
    app.create_church(&admin, "Lyon").await;
    let dept = app.create_department(&admin, "Louange").await;
    let mut members = Vec::new();
    for (i, s) in skills.iter().enumerate() {
        let m = app
            .join_department(&admin, &dept, &format!("m{i}@example.org"), "member")
            .await;
        set_skills(app, &admin, &dept, &m, s).await;
        members.push(m);
    }
    Church {
        admin,
        dept,
        members,
    }
}

async fn set_skills(app: &TestApp, by: &Signed, dept: &str, m: &Signed, skills: &[&str]) {
    let (s, out) = app
        .call(
            "PATCH",
            &format!("/api/v1/departments/{dept}/members/{}", m.user_id),
            Some(&by.token),
            Some(json!({ "skills": skills })),
        )
        .await;
    assert_eq!(s, 200, "{out}");
}

async fn create_planning(app: &TestApp, by: &Signed, dept: &str, first: NaiveDate) -> Value {
    let (s, p) = app
        .call(
            "POST",
            &format!("/api/v1/departments/{dept}/plannings"),
            Some(&by.token),
            Some(json!({"year": first.year(), "month": first.month()})),
        )
        .await;
    assert_eq!(s, 201, "{p}");
    p
}

/// Generates through the worker and returns the planning afterwards.
async fn generate(app: &TestApp, by: &Signed, planning: &str) -> Value {
    let (s, out) = app
        .call(
            "POST",
            &format!("/api/v1/plannings/{planning}/generate"),
            Some(&by.token),
            None,
        )
        .await;
    assert_eq!(s, 202, "{out}");
    let job = out["jobId"].as_str().unwrap().to_string();
    let (s, j) = app
        .call("GET", &format!("/api/v1/jobs/{job}"), Some(&by.token), None)
        .await;
    assert_eq!(s, 200, "{j}");
    assert_eq!(j["status"], "pending");
    assert_eq!(j["planningId"], planning);
    app.run_worker_until_idle().await;
    let (s, j) = app
        .call("GET", &format!("/api/v1/jobs/{job}"), Some(&by.token), None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(j["status"], "done", "{j}");
    assert_eq!(j["progress"], 100);
    get(app, by, planning).await
}

async fn get(app: &TestApp, by: &Signed, planning: &str) -> Value {
    let (s, p) = app
        .call(
            "GET",
            &format!("/plannings/{planning}"),
            Some(&by.token),
            None,
        )
        .await;
    assert_eq!(s, 200, "{p}");
    p
}

fn assignments(p: &Value) -> Vec<Value> {
    p["services"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["assignments"].as_array().unwrap().clone())
        .collect()
}

async fn events(app: &TestApp, org_of: &Signed, kind: &str) -> Vec<store_sea::outbox::StoredEvent> {
    let (_, me) = app
        .call("GET", "/api/v1/users/me", Some(&org_of.token), None)
        .await;
    let org: kernel::OrganizationId = me["organizationId"].as_str().unwrap().parse().unwrap();
    let db = app.db.connect().await;
    store_sea::outbox::of_kind(&db.conn, org, kind)
        .await
        .unwrap()
}

#[tokio::test]
async fn generate_publish_and_answer() {
    let app = TestApp::spawn().await;
    let c = church(
        &app,
        &[
            &["vocals"],
            &["vocals"],
            &["vocals", "bass"],
            &["bass"],
            &["vocals"],
            &["keys"],
        ],
    )
    .await;
    let first = month_from_now(2);
    let days = sundays(first);
    let roles = json!([{"role": "vocals", "count": 2}, {"role": "bass", "count": 1}]);
    for d in &days {
        add_service(
            &app,
            &c.admin,
            &c.dept,
            "Culte",
            *d,
            "10:00",
            "12:00",
            roles.clone(),
        )
        .await;
    }
    // m3 (the only other bassist) is away on the first Sunday.
    let (s, out) = app
        .call(
            "PUT",
            &format!("/api/v1/departments/{}/members/me/availabilities", c.dept),
            Some(&c.members[3].token),
            Some(
                json!({"year": first.year(), "month": first.month(), "unavailableDates": [
                    {"date": days[0].to_string(), "isAllDay": true}
                ]}),
            ),
        )
        .await;
    assert_eq!(s, 200, "{out}");

    let p = create_planning(&app, &c.admin, &c.dept, first).await;
    let id = p["id"].as_str().unwrap().to_string();
    assert_eq!(p["status"], "draft");
    assert_eq!(p["services"].as_array().unwrap().len(), days.len());

    let p = generate(&app, &c.admin, &id).await;
    assert_eq!(p["status"], "generated");
    let required = 3 * days.len() as u64;
    assert_eq!(p["requiredSlots"], required);
    assert_eq!(p["filledSlots"], required, "{p:#}");
    assert_eq!(p["confidenceScore"], 1.0);
    assert!(p["unfilled"].as_array().unwrap().is_empty());
    let all = assignments(&p);
    assert_eq!(all.len() as u64, required);
    // Hard rules: skills, the blockout, one slot per member per service.
    let first_service = &p["services"][0];
    for a in first_service["assignments"].as_array().unwrap() {
        assert_ne!(a["userId"], c.members[3].user_id.as_str(), "m3 is away");
    }
    for s in p["services"].as_array().unwrap() {
        let users: Vec<_> = s["assignments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["userId"].clone())
            .collect();
        let mut dedup = users.clone();
        dedup.sort_by_key(|v| v.to_string());
        dedup.dedup();
        assert_eq!(users.len(), dedup.len());
        for a in s["assignments"].as_array().unwrap() {
            let who = c
                .members
                .iter()
                .position(|m| m.user_id == a["userId"].as_str().unwrap())
                .unwrap();
            assert_ne!(who, 5, "m5 only plays keys");
            if a["role"] == "bass" {
                assert!(who == 2 || who == 3);
            } else {
                assert!([0, 1, 2, 4].contains(&who));
            }
        }
    }
    // Fair rotation: four vocalists share 2 × Sundays slots (m2 also plays bass).
    let load = |i: usize| {
        all.iter()
            .filter(|a| a["userId"] == c.members[i].user_id.as_str())
            .count()
    };
    let loads: Vec<_> = (0..5).map(load).collect();
    assert!(
        loads.iter().max().unwrap() - loads.iter().min().unwrap() <= 2,
        "{loads:?}"
    );

    // Members do not see a rota before it is published.
    let (s, _) = app
        .call(
            "GET",
            &format!("/api/v1/plannings/{id}"),
            Some(&c.members[0].token),
            None,
        )
        .await;
    assert_eq!(s, 403);
    let (s, list) = app
        .call(
            "GET",
            &format!("/api/v1/departments/{}/plannings", c.dept),
            Some(&c.members[0].token),
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert!(list.as_array().unwrap().is_empty());

    // Publishing needs the version; a stale one is refused.
    let (s, out) = app
        .call(
            "POST",
            &format!("/api/v1/plannings/{id}/publish"),
            Some(&c.admin.token),
            None,
        )
        .await;
    assert_eq!(s, 428, "{out}");
    assert_eq!(out["code"], "version_required");
    let version = p["version"].as_i64().unwrap();
    let (s, out) = app
        .call(
            "POST",
            &format!("/api/v1/plannings/{id}/publish"),
            Some(&c.admin.token),
            Some(json!({"version": version - 1})),
        )
        .await;
    assert_eq!(s, 409);
    assert_eq!(out["code"], "stale_version");
    assert_eq!(out["currentVersion"], version);
    assert!(events(&app, &c.admin, "rota.published").await.is_empty());
    let (s, out) = app
        .call(
            "POST",
            &format!("/api/v1/plannings/{id}/publish"),
            Some(&c.admin.token),
            Some(json!({"version": version})),
        )
        .await;
    assert_eq!(s, 200, "{out}");
    assert_eq!(out["status"], "published");
    // One event per assigned member, with their assignments.
    let published = events(&app, &c.admin, "rota.published").await;
    let assigned: std::collections::HashSet<_> = all
        .iter()
        .map(|a| a["userId"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(published.len(), assigned.len());
    for e in &published {
        let user = e.event.user.unwrap().to_string();
        assert!(assigned.contains(&user));
        let mine = all.iter().filter(|a| a["userId"] == user.as_str()).count();
        assert_eq!(
            e.event.payload["assignments"].as_array().unwrap().len(),
            mine
        );
    }

    // A member's upcoming assignments, across departments.
    let m0 = &c.members[0];
    let (s, mine) = app
        .call("GET", "/api/v1/me/assignments", Some(&m0.token), None)
        .await;
    assert_eq!(s, 200);
    let mine = mine.as_array().unwrap().clone();
    assert_eq!(mine.len(), load(0));
    assert!(
        mine.iter()
            .all(|a| a["departmentName"] == "Louange" && a["location"] == "Grande salle")
    );
    // Confirm one, decline the other with a reason.
    let (s, out) = app
        .call(
            "POST",
            &format!(
                "/api/v1/me/assignments/{}/confirm",
                mine[0]["id"].as_str().unwrap()
            ),
            Some(&m0.token),
            None,
        )
        .await;
    assert_eq!(s, 200, "{out}");
    assert_eq!(out["status"], "confirmed");
    let (s, out) = app
        .call(
            "POST",
            &format!(
                "/api/v1/me/assignments/{}/decline",
                mine[1]["id"].as_str().unwrap()
            ),
            Some(&m0.token),
            Some(json!({"reason": "Mariage de ma sœur"})),
        )
        .await;
    assert_eq!(s, 200, "{out}");
    assert_eq!(out["status"], "declined");
    let declined = events(&app, &c.admin, "assignment.declined").await;
    assert_eq!(declined.len(), 1);
    assert_eq!(declined[0].event.payload["reason"], "Mariage de ma sœur");
    // The slot is open again: the score follows.
    let p = get(&app, &c.admin, &id).await;
    assert_eq!(p["filledSlots"], required - 1);
    assert!(p["confidenceScore"].as_f64().unwrap() < 1.0);
    // Someone else's assignment is not mine to answer.
    let (s, _) = app
        .call(
            "POST",
            &format!(
                "/api/v1/me/assignments/{}/confirm",
                mine[0]["id"].as_str().unwrap()
            ),
            Some(&c.members[1].token),
            None,
        )
        .await;
    assert_eq!(s, 404);
    // A published rota is not generated again.
    let (s, out) = app
        .call(
            "POST",
            &format!("/api/v1/plannings/{id}/generate"),
            Some(&c.admin.token),
            None,
        )
        .await;
    assert_eq!(s, 409);
    assert_eq!(out["code"], "planning_published");
    // Members now see it, without the leaders' explanations.
    let (s, p) = app
        .call("GET", &format!("/plannings/{id}"), Some(&m0.token), None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(p["canManage"], false);
}

#[tokio::test]
async fn manual_edits_check_the_rules_unless_forced() {
    let app = TestApp::spawn().await;
    let c = church(&app, &[&["vocals"], &["bass"], &["vocals"]]).await;
    let first = month_from_now(2);
    let day = sundays(first)[0];
    let s1 = add_service(
        &app,
        &c.admin,
        &c.dept,
        "Culte",
        day,
        "10:00",
        "12:00",
        json!([{"role": "vocals", "count": 1}, {"role": "bass", "count": 1}]),
    )
    .await;
    let s2 = add_service(
        &app,
        &c.admin,
        &c.dept,
        "Répétition",
        day,
        "11:00",
        "13:00",
        json!([{"role": "vocals", "count": 1}]),
    )
    .await;
    let p = create_planning(&app, &c.admin, &c.dept, first).await;
    let id = p["id"].as_str().unwrap().to_string();
    let mut version = p["version"].as_i64().unwrap();
    let path = format!("/api/v1/plannings/{id}/assignments");

    // m1 plays bass, not vocals.
    let body = json!({"serviceId": s1, "userId": c.members[1].user_id, "role": "vocals", "version": version});
    let (s, out) = app
        .call("POST", &path, Some(&c.admin.token), Some(body.clone()))
        .await;
    assert_eq!(s, 409, "{out}");
    assert_eq!(out["code"], "missing_skill");
    assert_eq!(out["rules"][0]["rule"], "missing_skill");
    // Forced: kept, with the warning.
    let mut forced = body.clone();
    forced["force"] = true.into();
    let (s, out) = app
        .call("POST", &path, Some(&c.admin.token), Some(forced))
        .await;
    assert_eq!(s, 201, "{out}");
    assert_eq!(out["assignment"]["forced"], true);
    assert_eq!(out["assignment"]["warnings"][0]["rule"], "missing_skill");
    let forced_id = out["assignment"]["id"].as_str().unwrap().to_string();
    assert_eq!(out["planning"]["version"], version + 1);
    // The same version again: someone else changed it meanwhile.
    let again = json!({"serviceId": s1, "userId": c.members[0].user_id, "role": "vocals", "version": version});
    let (s, out) = app
        .call("POST", &path, Some(&c.admin.token), Some(again))
        .await;
    assert_eq!(s, 409);
    assert_eq!(out["code"], "stale_version");
    version += 1;
    // The role is full now (one vocalist needed, m1 forced in).
    let add_m0 = json!({"serviceId": s1, "userId": c.members[0].user_id, "role": "vocals", "version": version});
    let (s, out) = app
        .call("POST", &path, Some(&c.admin.token), Some(add_m0))
        .await;
    assert_eq!(s, 409);
    assert_eq!(out["code"], "role_full");
    // Remove the forced one with If-Match, then m0 takes the slot, pinned.
    let (s, out) = app
        .call_with_headers(
            "DELETE",
            &format!("{path}/{forced_id}"),
            Some(&c.admin.token),
            None,
            &[("If-Match", &format!("\"{version}\""))],
        )
        .await;
    assert_eq!(s, 200, "{out}");
    version += 1;
    let (s, out) = app
        .call(
            "POST",
            &path,
            Some(&c.admin.token),
            Some(json!({"serviceId": s1, "userId": c.members[0].user_id, "role": "vocals", "pinned": true, "version": version})),
        )
        .await;
    assert_eq!(s, 201, "{out}");
    version += 1;
    let pinned_id = out["assignment"]["id"].as_str().unwrap().to_string();
    // m0 cannot also sing at the overlapping rehearsal, nor twice in the same service.
    let (s, out) = app
        .call(
            "POST",
            &path,
            Some(&c.admin.token),
            Some(json!({"serviceId": s2, "userId": c.members[0].user_id, "role": "vocals", "version": version})),
        )
        .await;
    assert_eq!(s, 409);
    assert_eq!(out["code"], "overlapping_service", "{out}");
    let (s, out) = app
        .call(
            "POST",
            &path,
            Some(&c.admin.token),
            Some(json!({"serviceId": s1, "userId": c.members[0].user_id, "role": "vocals", "force": true, "version": version})),
        )
        .await;
    assert_eq!(s, 409, "never forced: {out}");
    // Unknown role, a foreign id, a malformed body.
    let (s, out) = app
        .call(
            "POST",
            &path,
            Some(&c.admin.token),
            Some(json!({"serviceId": s1, "userId": c.members[2].user_id, "role": "drums", "version": version})),
        )
        .await;
    assert_eq!(s, 409);
    assert_eq!(out["code"], "unknown_role");
    let (s, _) = app
        .call(
            "POST",
            &path,
            Some(&c.admin.token),
            Some(json!({"serviceId": uuid::Uuid::now_v7(), "userId": c.members[2].user_id, "role": "vocals", "version": version})),
        )
        .await;
    assert_eq!(s, 404);
    let (s, out) = app
        .call(
            "POST",
            &path,
            Some(&c.admin.token),
            Some(json!({"serviceId": s1, "userId": 12, "role": "vocals", "version": version})),
        )
        .await;
    assert_eq!(s, 422, "{out}");
    assert_eq!(out["code"], "validation_failed");
    // A member cannot edit.
    let (s, _) = app
        .call(
            "POST",
            &path,
            Some(&c.members[2].token),
            Some(json!({"serviceId": s2, "userId": c.members[2].user_id, "role": "vocals", "version": version})),
        )
        .await;
    assert_eq!(s, 403);

    // Suggestions for the rehearsal's vocals: m2 is free, m0 overlaps.
    let (s, sug) = app
        .call(
            "GET",
            &format!("/api/v1/plannings/{id}/suggestions?serviceId={s2}&role=vocals"),
            Some(&c.admin.token),
            None,
        )
        .await;
    assert_eq!(s, 200, "{sug}");
    let sug = sug.as_array().unwrap();
    assert_eq!(sug.len(), 2);
    assert_eq!(sug[0]["userId"], c.members[2].user_id.as_str());
    assert_eq!(sug[0]["eligible"], true);
    assert_eq!(sug[1]["eligible"], false);
    assert_eq!(sug[1]["reasons"][0]["rule"], "overlapping_service");

    // Regenerating keeps the pinned assignment and fills the rest around it.
    let p = generate(&app, &c.admin, &id).await;
    let all = assignments(&p);
    assert!(
        all.iter()
            .any(|a| a["id"] == pinned_id.as_str() && a["pinned"] == true)
    );
    assert_eq!(p["filledSlots"], 3, "{p:#}");
    assert!(
        all.iter()
            .any(|a| a["userId"] == c.members[2].user_id.as_str())
    );
}

#[tokio::test]
async fn empty_slots_are_explained_and_departments_do_not_overlap() {
    let app = TestApp::spawn().await;
    let c = church(&app, &[&["sound"], &["sound"]]).await;
    let other = app.create_department(&c.admin, "Accueil").await;
    // m0 also welcomes people, in the other department.
    let (_, token) = app.invite(&c.admin, &other, "m0@example.org", None).await;
    let (s, _) = app
        .call(
            "POST",
            &format!("/api/v1/invitations/{token}/accept"),
            Some(&c.members[0].token),
            None,
        )
        .await;
    assert_eq!(s, 200);
    set_skills(&app, &c.admin, &other, &c.members[0], &["welcome"]).await;
    let first = month_from_now(2);
    let day = sundays(first)[0];
    add_service(
        &app,
        &c.admin,
        &other,
        "Accueil",
        day,
        "09:30",
        "10:30",
        json!([{"role": "welcome", "count": 1}]),
    )
    .await;
    let pw = create_planning(&app, &c.admin, &other, first).await;
    let pw = generate(&app, &c.admin, pw["id"].as_str().unwrap()).await;
    assert_eq!(assignments(&pw)[0]["userId"], c.members[0].user_id.as_str());

    // Sound needs two at 10:00: m0 is welcoming until 10:30, m1 is away.
    add_service(
        &app,
        &c.admin,
        &c.dept,
        "Culte",
        day,
        "10:00",
        "12:00",
        json!([{"role": "sound", "count": 2}]),
    )
    .await;
    let (s, _) = app
        .call(
            "PUT",
            &format!("/api/v1/departments/{}/members/me/availabilities", c.dept),
            Some(&c.members[1].token),
            Some(json!({"year": first.year(), "month": first.month(), "unavailableDates": [
                {"date": day.to_string(), "isAllDay": false, "startTime": "08:00", "endTime": "11:00"}
            ]})),
        )
        .await;
    assert_eq!(s, 200);
    let p = create_planning(&app, &c.admin, &c.dept, first).await;
    let p = generate(&app, &c.admin, p["id"].as_str().unwrap()).await;
    assert_eq!(p["filledSlots"], 0);
    assert_eq!(p["confidenceScore"], 0.0);
    let unfilled = p["unfilled"].as_array().unwrap();
    assert_eq!(unfilled.len(), 1, "{p:#}");
    let u = &unfilled[0];
    assert_eq!(u["role"], "sound");
    assert_eq!(u["missing"], 2);
    assert_eq!(u["skilled"], 2);
    let reason_of = |who: &Signed| {
        u["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["userId"] == who.user_id.as_str())
            .unwrap()["reasons"][0]
            .clone()
    };
    let r0 = reason_of(&c.members[0]);
    assert_eq!(r0["rule"], "serving_elsewhere");
    assert_eq!(r0["departmentName"], "Accueil");
    let r1 = reason_of(&c.members[1]);
    assert_eq!(r1["rule"], "unavailable");
    assert_eq!(r1["startTime"], "08:00");
}

#[tokio::test]
async fn another_churchs_rota_is_like_one_that_does_not_exist() {
    let app = TestApp::spawn().await;
    let a = church(&app, &[&["vocals"]]).await;
    let first = month_from_now(2);
    let p = create_planning(&app, &a.admin, &a.dept, first).await;
    let id = p["id"].as_str().unwrap();
    // The same month twice.
    let (s, out) = app
        .call(
            "POST",
            &format!("/api/v1/departments/{}/plannings", a.dept),
            Some(&a.admin.token),
            Some(json!({"year": first.year(), "month": first.month()})),
        )
        .await;
    assert_eq!(s, 409);
    assert_eq!(out["code"], "planning_exists");
    let (s, out) = app
        .call(
            "POST",
            &format!("/api/v1/departments/{}/plannings", a.dept),
            Some(&a.admin.token),
            Some(json!({"year": 2026, "month": 13})),
        )
        .await;
    assert_eq!(s, 422, "{out}");

    let b = app.sign_up("b@example.org").await;
    app.create_church(&b, "Grenoble").await;
    let unknown = uuid::Uuid::now_v7();
    for path in [
        format!("/api/v1/plannings/{id}"),
        format!("/api/v1/plannings/{id}/generate"),
        format!("/api/v1/plannings/{id}/publish"),
    ] {
        let method = if path.ends_with(id) { "GET" } else { "POST" };
        let (s1, theirs) = app
            .call(method, &path, Some(&b.token), Some(json!({"version": 1})))
            .await;
        let (s2, none) = app
            .call(
                method,
                &path.replace(id, &unknown.to_string()),
                Some(&b.token),
                Some(json!({"version": 1})),
            )
            .await;
        assert_eq!(s1, 404, "{path}: {theirs}");
        assert_eq!((s1, &theirs["detail"]), (s2, &none["detail"]));
    }
    let (s, _) = app
        .call(
            "GET",
            &format!("/api/v1/departments/{}/plannings", a.dept),
            Some(&b.token),
            None,
        )
        .await;
    assert_eq!(s, 404);
    // A's rota is untouched.
    let p = get(&app, &a.admin, id).await;
    assert_eq!(p["status"], "draft");
    assert_eq!(p["version"], 1);
}

#[tokio::test]
async fn removing_a_member_flags_their_published_assignments() {
    let app = TestApp::spawn().await;
    let c = church(&app, &[&["vocals"], &["vocals"]]).await;
    let first = month_from_now(2);
    for d in sundays(first) {
        add_service(
            &app,
            &c.admin,
            &c.dept,
            "Culte",
            d,
            "10:00",
            "12:00",
            json!([{"role": "vocals", "count": 2}]),
        )
        .await;
    }
    let p = create_planning(&app, &c.admin, &c.dept, first).await;
    let id = p["id"].as_str().unwrap().to_string();
    let p = generate(&app, &c.admin, &id).await;
    let (s, _) = app
        .call(
            "POST",
            &format!("/api/v1/plannings/{id}/publish"),
            Some(&c.admin.token),
            Some(json!({"version": p["version"]})),
        )
        .await;
    assert_eq!(s, 200);
    let before = get(&app, &c.admin, &id).await;
    let (s, out) = app
        .call(
            "DELETE",
            &format!(
                "/api/v1/departments/{}/members/{}",
                c.dept, c.members[1].user_id
            ),
            Some(&c.admin.token),
            None,
        )
        .await;
    assert!(s == 200 || s == 204, "{s} {out}");
    let after = get(&app, &c.admin, &id).await;
    assert_eq!(after["version"], before["version"].as_i64().unwrap() + 1);
    let theirs: Vec<_> = assignments(&after)
        .into_iter()
        .filter(|a| a["userId"] == c.members[1].user_id.as_str())
        .collect();
    assert_eq!(theirs.len(), sundays(first).len());
    assert!(theirs.iter().all(|a| a["flag"] == "member_removed"));
    assert!(
        assignments(&after)
            .iter()
            .filter(|a| a["userId"] == c.members[0].user_id.as_str())
            .all(|a| a["flag"].is_null())
    );
    let left = events(&app, &c.admin, "rota.member_left").await;
    assert_eq!(left.len(), 1);
    assert_eq!(
        left[0].event.user.unwrap().to_string(),
        c.members[1].user_id
    );
    assert_eq!(left[0].event.payload["flaggedAssignments"], theirs.len());
}

#[tokio::test]
async fn date_ranges_and_weekly_rules_keep_members_off_the_rota() {
    let app = TestApp::spawn().await;
    let c = church(&app, &[&["sound"], &["sound"], &["sound"]]).await;
    let first = month_from_now(2);
    let days = sundays(first);
    for d in &days {
        add_service(
            &app,
            &c.admin,
            &c.dept,
            "Culte",
            *d,
            "10:00",
            "12:00",
            json!([{"role": "sound", "count": 1}]),
        )
        .await;
    }
    // m0 is away the whole month (a range); m1 is busy every Sunday morning (a weekly rule).
    let (s, out) = app
        .call(
            "POST",
            &format!(
                "/api/v1/departments/{}/members/me/availabilities/ranges",
                c.dept
            ),
            Some(&c.members[0].token),
            Some(
                json!({"from": first.to_string(), "to": (first + Months::new(1)).to_string(),
                        "isAllDay": true, "reason": "Voyage"}),
            ),
        )
        .await;
    assert_eq!(s, 201, "{out}");
    let (s, out) = app
        .call(
            "POST",
            &format!(
                "/api/v1/departments/{}/members/me/availabilities/weekly",
                c.dept
            ),
            Some(&c.members[1].token),
            Some(
                json!({"weekday": "sunday", "isAllDay": false, "startTime": "09:00",
                        "endTime": "11:00", "startsOn": first.to_string()}),
            ),
        )
        .await;
    assert_eq!(s, 201, "{out}");

    let p = create_planning(&app, &c.admin, &c.dept, first).await;
    let id = p["id"].as_str().unwrap().to_string();
    let p = generate(&app, &c.admin, &id).await;
    assert_eq!(p["filledSlots"], days.len(), "{p:#}");
    for a in assignments(&p) {
        assert_eq!(a["userId"], c.members[2].user_id.as_str(), "{a}");
    }
    // Taking m2 away too leaves the slots empty, each explained by the rules.
    let (s, _) = app
        .call(
            "POST",
            &format!(
                "/api/v1/departments/{}/members/{}/availabilities/ranges",
                c.dept, c.members[2].user_id
            ),
            Some(&c.admin.token),
            Some(
                json!({"from": first.to_string(), "to": (first + Months::new(1)).to_string(),
                        "isAllDay": true}),
            ),
        )
        .await;
    assert_eq!(s, 201);
    let p = generate(&app, &c.admin, &id).await;
    assert_eq!(p["filledSlots"], 0, "{p:#}");
    let unfilled = p["unfilled"].as_array().unwrap();
    assert_eq!(unfilled.len(), days.len(), "{p:#}");
    for u in unfilled {
        for cand in u["candidates"].as_array().unwrap() {
            assert_eq!(cand["reasons"][0]["rule"], "unavailable", "{u}");
        }
    }
}
