//! Rota exports through the HTTP API, on SQLite and (CI's second pass) PostgreSQL: the
//! iCalendar of a rota (read back with the `ical` parser), the PDF grid (its text read back
//! with `pdf-extract`), and the personal calendar feed (create, fetch without signing in,
//! rotate, revoke, delete the account).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc, Weekday};
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashMap};
use store_sea::ConnectionTrait;
use testkit::{Signed, TestApp};

fn sundays(year: i32, month: u32) -> Vec<NaiveDate> {
    let first = NaiveDate::from_ymd_opt(year, month, 1).unwrap();
    first
        .iter_days()
        .take_while(|d| d.month() == month)
        .filter(|d| d.weekday() == Weekday::Sun)
        .collect()
}

/// A service through the services API, two hours long, in the "Grande salle".
async fn add_service(
    app: &TestApp,
    by: &Signed,
    dept: &str,
    name: &str,
    date: NaiveDate,
    start: &str,
    roles: Value,
) -> String {
    add_series(app, by, dept, name, date, start, roles, None).await
}

/// The same, repeated by an RRULE when one is given; the (first) service's id.
#[allow(clippy::too_many_arguments)]
async fn add_series(
    app: &TestApp,
    by: &Signed,
    dept: &str,
    name: &str,
    date: NaiveDate,
    start: &str,
    roles: Value,
    rrule: Option<&str>,
) -> String {
    let hour: u32 = start[..2].parse().unwrap();
    let end = format!("{:02}{}", hour + 2, &start[2..]);
    let mut body = json!({"name": name, "serviceType": "sunday", "date": date.to_string(),
        "startTime": start, "endTime": end, "location": "Grande salle", "requiredRoles": roles});
    if let Some(r) = rrule {
        body["recurrence"] = json!({ "rrule": r });
    }
    let (s, out) = app
        .call(
            "POST",
            &format!("/api/v1/departments/{dept}/services"),
            Some(&by.token),
            Some(body),
        )
        .await;
    assert_eq!(s, 201, "{out}");
    match out["occurrences"].as_array() {
        Some(list) => list[0]["id"].as_str().unwrap().to_string(),
        None => out["id"].as_str().unwrap().to_string(),
    }
}

/// A service that already took place, written as the services API stored it when it was
/// still ahead (the API refuses to create one in the past).
async fn add_past_service(
    app: &TestApp,
    org: &str,
    dept: &str,
    name: &str,
    date: NaiveDate,
    roles: Value,
) -> String {
    let db = app.db.connect().await;
    let id = uuid::Uuid::now_v7();
    db.conn
        .execute_raw(store_sea::jobs::stmt(
            db.conn.get_database_backend(),
            "INSERT INTO services (id, organization_id, department_id, name, service_type, date, \
             start_time, end_time, location, required_roles, created_at, updated_at) \
             VALUES (?, ?, ?, ?, 'rehearsal', ?, '19:00:00', '21:00:00', 'Grande salle', ?, 0, 0)",
            vec![
                id.into(),
                uuid::Uuid::parse_str(org).unwrap().into(),
                uuid::Uuid::parse_str(dept).unwrap().into(),
                name.into(),
                date.format("%Y-%m-%d").to_string().into(),
                roles.to_string().into(),
            ],
        ))
        .await
        .unwrap();
    id.to_string()
}

struct Church {
    admin: Signed,
    org: String,
    dept: String,
    members: Vec<Signed>,
}

/// A church in `tz` with one department whose members have these names and skills.
async fn church(
    app: &TestApp,
    tag: &str,
    tz: &str,
    dept_name: &str,
    people: &[(&str, &str, &[&str])],
) -> Church {
    let admin = app.sign_up(&format!("admin-{tag}@example.org")).await;
    let (s, org) = app
        .call(
            "POST",
            "/api/v1/organizations",
            Some(&admin.token),
            Some(json!({"name": format!("Église {tag}"), "timezone": tz})),
        )
        .await;
    assert_eq!(s, 201, "{org}");
    let dept = app.create_department(&admin, dept_name).await;
    let mut members = Vec::new();
    for (i, (first, last, skills)) in people.iter().enumerate() {
        let m = app
            .join_department(&admin, &dept, &format!("m{i}-{tag}@example.org"), "member")
            .await;
        let (s, out) = app
            .call(
                "PATCH",
                "/api/v1/users/me",
                Some(&m.token),
                Some(json!({"firstName": first, "lastName": last})),
            )
            .await;
        assert_eq!(s, 200, "{out}");
        let (s, out) = app
            .call(
                "PATCH",
                &format!("/api/v1/departments/{dept}/members/{}", m.user_id),
                Some(&admin.token),
                Some(json!({ "skills": skills })),
            )
            .await;
        assert_eq!(s, 200, "{out}");
        members.push(m);
    }
    Church {
        admin,
        org: org["id"].as_str().unwrap().to_string(),
        dept,
        members,
    }
}

async fn create_planning(app: &TestApp, by: &Signed, dept: &str, year: i32, month: u32) -> String {
    let (s, p) = app
        .call(
            "POST",
            &format!("/api/v1/departments/{dept}/plannings"),
            Some(&by.token),
            Some(json!({"year": year, "month": month})),
        )
        .await;
    assert_eq!(s, 201, "{p}");
    p["id"].as_str().unwrap().to_string()
}

async fn get(app: &TestApp, by: &Signed, planning: &str) -> Value {
    let (s, p) = app
        .call(
            "GET",
            &format!("/api/v1/plannings/{planning}"),
            Some(&by.token),
            None,
        )
        .await;
    assert_eq!(s, 200, "{p}");
    p
}

/// Generates through the worker; the planning afterwards.
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
    app.run_worker_until_idle().await;
    let p = get(app, by, planning).await;
    assert_eq!(p["status"], "generated", "{p}");
    p
}

async fn publish(app: &TestApp, by: &Signed, planning: &str) -> Value {
    let version = get(app, by, planning).await["version"].as_i64().unwrap();
    let (s, out) = app
        .call(
            "POST",
            &format!("/api/v1/plannings/{planning}/publish"),
            Some(&by.token),
            Some(json!({ "version": version })),
        )
        .await;
    assert_eq!(s, 200, "{out}");
    get(app, by, planning).await
}

fn assignments(p: &Value) -> Vec<Value> {
    p["services"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| {
            s["assignments"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| {
                    let mut a = a.clone();
                    a["date"] = s["date"].clone();
                    a
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// A raw GET: status, headers, body.
async fn fetch(
    app: &TestApp,
    url: &str,
    token: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let mut r = app.client.get(url);
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    let res = r.send().await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    (status, headers, res.bytes().await.unwrap().to_vec())
}

fn header<'a>(h: &'a reqwest::header::HeaderMap, name: &str) -> &'a str {
    h.get(name).map(|v| v.to_str().unwrap()).unwrap_or_default()
}

/// An event as the parser reads it: property name → value (text unescaped).
type Event = HashMap<String, String>;

fn unescape(v: &str) -> String {
    let mut out = String::new();
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n' | 'N') => out.push('\n'),
                Some(other) => out.push(other),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Parses an iCalendar body with the `ical` crate: the calendar's properties and its events.
fn parse_ics(body: &[u8]) -> (HashMap<String, String>, Vec<Event>) {
    let mut parser = ical::IcalParser::new(std::io::BufReader::new(body));
    let cal = parser.next().expect("a calendar").expect("valid iCalendar");
    assert!(parser.next().is_none(), "one calendar");
    let props = |list: &[ical::property::Property]| -> HashMap<String, String> {
        list.iter()
            .map(|p| (p.name.clone(), unescape(p.value.as_deref().unwrap_or(""))))
            .collect()
    };
    let events = cal.events.iter().map(|e| props(&e.properties)).collect();
    (props(&cal.properties), events)
}

fn utc(v: &str) -> DateTime<Utc> {
    assert!(v.ends_with('Z'), "a UTC time: {v}");
    chrono::NaiveDateTime::parse_from_str(v, "%Y%m%dT%H%M%SZ")
        .unwrap()
        .and_utc()
}

#[tokio::test]
async fn a_rota_as_icalendar_in_the_churchs_zone() {
    let app = TestApp::spawn().await;
    let c = church(
        &app,
        "ny",
        "America/New_York",
        "Chœur",
        &[
            ("Élise", "Lefèvre", &["vocals"]),
            ("François", "Cœur", &["vocals"]),
            ("Marc", "Basse", &["bass"]),
        ],
    )
    .await;
    let roles = json!([{"role": "vocals", "count": 2}, {"role": "bass", "count": 1}]);
    let days = sundays(2030, 1);
    let mut services = Vec::new();
    for d in &days {
        services
            .push(add_service(&app, &c.admin, &c.dept, "Culte", *d, "10:00", roles.clone()).await);
    }
    let id = create_planning(&app, &c.admin, &c.dept, 2030, 1).await;
    generate(&app, &c.admin, &id).await;
    let path = format!("/api/v1/plannings/{id}/export.ics");

    // A draft: members may not export it (like reading it), leaders may.
    let member = &c.members[0];
    let (s, _, body) = fetch(&app, &app.url(&path), Some(&member.token)).await;
    assert_eq!(s, 403, "{}", String::from_utf8_lossy(&body));
    let (s, _, body) = fetch(&app, &app.url(&path), Some(&c.admin.token)).await;
    assert_eq!(s, 200);
    let (_, events) = parse_ics(&body);
    assert!(events.iter().all(|e| e["STATUS"] == "TENTATIVE"));
    let (s, _, _) = fetch(&app, &app.url(&path), None).await;
    assert_eq!(s, 401);

    let p = publish(&app, &c.admin, &id).await;
    let (s, h, body) = fetch(&app, &app.url(&path), Some(&member.token)).await;
    assert_eq!(s, 200);
    assert_eq!(header(&h, "content-type"), "text/calendar; charset=utf-8");
    assert_eq!(
        header(&h, "content-disposition"),
        "attachment; filename=\"planning-choeur-2030-01.ics\""
    );
    let (cal, events) = parse_ics(&body);
    assert_eq!(cal["VERSION"], "2.0");
    assert_eq!(cal["X-WR-CALNAME"], "Chœur – janvier 2030");
    assert_eq!(events.len(), days.len());
    let names: HashMap<String, String> = assignments(&p)
        .iter()
        .map(|a| {
            (
                a["userId"].as_str().unwrap().to_string(),
                a["memberName"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        names.values().cloned().collect::<BTreeSet<_>>(),
        BTreeSet::from([
            "Élise Lefèvre".to_string(),
            "François Cœur".to_string(),
            "Marc Basse".to_string()
        ])
    );
    let ny: chrono_tz::Tz = "America/New_York".parse().unwrap();
    for ((e, service), day) in events.iter().zip(&services).zip(&days) {
        assert_eq!(e["UID"], format!("{service}@monservice"));
        assert_eq!(e["SUMMARY"], "Culte – Chœur");
        assert_eq!(e["LOCATION"], "Grande salle");
        assert_eq!(e["STATUS"], "CONFIRMED");
        // 10:00 to 12:00 in New York: 15:00 to 17:00 UTC in January (EST).
        let start = utc(&e["DTSTART"]);
        assert_eq!(start, day.and_hms_opt(15, 0, 0).unwrap().and_utc());
        assert_eq!(
            start.with_timezone(&ny).naive_local(),
            day.and_hms_opt(10, 0, 0).unwrap()
        );
        assert_eq!(utc(&e["DTEND"]) - start, chrono::TimeDelta::hours(2));
        // Each role with who holds it.
        let service_json = p["services"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == service.as_str())
            .unwrap();
        let vocals: Vec<&str> = service_json["assignments"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["role"] == "vocals")
            .map(|a| a["memberName"].as_str().unwrap())
            .collect();
        assert_eq!(vocals.len(), 2);
        let lines: Vec<String> = e["DESCRIPTION"].lines().map(str::to_string).collect();
        assert_eq!(
            lines,
            [
                format!("vocals: {}", vocals.join(", ")),
                "bass: Marc Basse".to_string()
            ]
        );
    }
    // Exported again: the same events, the same UIDs, the same document.
    let (_, _, again) = fetch(&app, &app.url(&path), Some(&member.token)).await;
    assert_eq!(again, body);
    // In English on request; an unknown language is refused.
    let (s, _, en) = fetch(
        &app,
        &app.url(&format!("{path}?lang=en")),
        Some(&member.token),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(parse_ics(&en).0["X-WR-CALNAME"], "Chœur – January 2030");
    let (s, out) = app
        .call("GET", &format!("{path}?lang=de"), Some(&member.token), None)
        .await;
    assert_eq!(s, 422, "{out}");
    assert_eq!(out["errors"][0]["field"], "lang");
    // The front end's unprefixed path answers the same.
    let (s, _, unprefixed) = fetch(
        &app,
        &app.url(&format!("/plannings/{id}/export.ics")),
        Some(&member.token),
    )
    .await;
    assert_eq!((s, unprefixed), (200, body));

    // Summer: 10:00 in New York is 14:00 UTC (EDT).
    let july = NaiveDate::from_ymd_opt(2030, 7, 7).unwrap();
    add_service(
        &app,
        &c.admin,
        &c.dept,
        "Culte",
        july,
        "10:00",
        roles.clone(),
    )
    .await;
    let summer = create_planning(&app, &c.admin, &c.dept, 2030, 7).await;
    let (_, _, body) = fetch(
        &app,
        &app.url(&format!("/api/v1/plannings/{summer}/export.ics")),
        Some(&c.admin.token),
    )
    .await;
    let (_, events) = parse_ics(&body);
    assert_eq!(events.len(), 1);
    assert_eq!(
        utc(&events[0]["DTSTART"]),
        july.and_hms_opt(14, 0, 0).unwrap().and_utc()
    );
    // Nobody assigned yet: each role is open.
    assert_eq!(
        events[0]["DESCRIPTION"],
        "vocals: (2 à pourvoir)\nbass: (1 à pourvoir)"
    );
}

fn pdf_text(body: &[u8]) -> Vec<String> {
    assert!(body.starts_with(b"%PDF-"), "a PDF");
    pdf_extract::extract_text_from_mem_by_pages(body).unwrap()
}

#[tokio::test]
async fn a_rota_as_a_printable_pdf_in_french_or_english() {
    let app = TestApp::spawn().await;
    let c = church(
        &app,
        "paris",
        "Europe/Paris",
        "Louange",
        &[
            ("Élise", "Lefèvre", &["vocals"]),
            ("François", "Cœur", &["vocals"]),
            ("Jérôme", "Garçon", &["bass"]),
        ],
    )
    .await;
    // Two bassists needed, one in the team: one slot stays open.
    let roles = json!([{"role": "vocals", "count": 2}, {"role": "bass", "count": 2}]);
    for d in sundays(2030, 1) {
        add_service(&app, &c.admin, &c.dept, "Culte", d, "10:00", roles.clone()).await;
    }
    let id = create_planning(&app, &c.admin, &c.dept, 2030, 1).await;
    generate(&app, &c.admin, &id).await;
    let path = format!("/api/v1/plannings/{id}/export.pdf");
    let member = &c.members[0];
    let (s, _, _) = fetch(&app, &app.url(&path), Some(&member.token)).await;
    assert_eq!(s, 403, "a member cannot print a draft");
    publish(&app, &c.admin, &id).await;

    // French: the member's language by default.
    let (s, h, body) = fetch(&app, &app.url(&path), Some(&member.token)).await;
    assert_eq!(s, 200);
    assert_eq!(header(&h, "content-type"), "application/pdf");
    assert_eq!(
        header(&h, "content-disposition"),
        "attachment; filename=\"planning-louange-2030-01.pdf\""
    );
    let pages = pdf_text(&body);
    assert_eq!(pages.len(), 1);
    let text = &pages[0];
    for needle in [
        "Planning – Louange – janvier 2030",
        "Publié",
        "Horaire",
        "Service",
        "vocals",
        "bass",
        "Élise Lefèvre",
        "François Cœur",
        "Jérôme Garçon",
        "1 à pourvoir",
        "dim. 6 janv.",
        "10:00–12:00",
        "Grande salle",
        "Page 1 / 1",
    ] {
        assert!(text.contains(needle), "{needle:?} is not in:\n{text}");
    }
    assert!(!text.contains("Time"));

    // English on request.
    let (s, _, body) = fetch(
        &app,
        &app.url(&format!("{path}?lang=en")),
        Some(&member.token),
    )
    .await;
    assert_eq!(s, 200);
    let text = pdf_text(&body).concat();
    for needle in [
        "Rota – Louange – January 2030",
        "Time",
        "Sun 6 Jan",
        "1 open",
        "Élise Lefèvre",
    ] {
        assert!(text.contains(needle), "{needle:?} is not in:\n{text}");
    }
    let (s, _, _) = fetch(
        &app,
        &app.url(&format!("{path}?lang=xx")),
        Some(&member.token),
    )
    .await;
    assert_eq!(s, 422);

    // A busy month (a leader prints the draft): two services a day, several pages, each with
    // the header row.
    let feb1 = NaiveDate::from_ymd_opt(2030, 2, 1).unwrap();
    for (name, start) in [("Prière du matin", "08:00"), ("Culte du midi", "11:00")] {
        add_series(
            &app,
            &c.admin,
            &c.dept,
            name,
            feb1,
            start,
            roles.clone(),
            Some("FREQ=DAILY;COUNT=28"),
        )
        .await;
    }
    let busy = create_planning(&app, &c.admin, &c.dept, 2030, 2).await;
    let (s, _, body) = fetch(
        &app,
        &app.url(&format!("/api/v1/plannings/{busy}/export.pdf?lang=fr")),
        Some(&c.admin.token),
    )
    .await;
    assert_eq!(s, 200);
    let pages = pdf_text(&body);
    assert!(pages.len() >= 3, "{} pages", pages.len());
    for (i, t) in pages.iter().enumerate() {
        assert!(t.contains("Horaire"), "page {i} has the header row");
        assert!(t.contains("février 2030"), "page {i} has the title");
        assert!(t.contains(&format!("Page {} / {}", i + 1, pages.len())));
    }
    // Every service printed once, on its day.
    let all = pages.concat();
    assert_eq!(all.matches("Prière du matin").count(), 28);
    assert_eq!(all.matches("Culte du midi").count(), 28);
    for day in feb1.iter_days().take(28) {
        let label = format!(
            "{} {} févr.",
            ["lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim."]
                [day.weekday().num_days_from_monday() as usize],
            day.day()
        );
        assert_eq!(all.matches(&label).count(), 2, "{label}");
    }
    assert!(all.contains("Brouillon"));
}

/// The feed address's path (`/api/v1/calendar/{token}.ics`) from the URL it was given as.
fn feed_path(app: &TestApp, url: &str) -> String {
    let base = app.url("");
    assert!(url.starts_with(&base), "{url} is on this server ({base})");
    let path = url[base.len()..].to_string();
    assert!(
        path.starts_with("/api/v1/calendar/") && path.ends_with(".ics"),
        "{path}"
    );
    path
}

async fn feed_events(app: &TestApp, path: &str) -> Vec<Event> {
    let (s, h, body) = fetch(app, &app.url(path), None).await;
    assert_eq!(s, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(header(&h, "content-type"), "text/calendar; charset=utf-8");
    parse_ics(&body).1
}

fn uids(events: &[Event]) -> BTreeSet<String> {
    events.iter().map(|e| e["UID"].clone()).collect()
}

#[tokio::test]
async fn the_personal_calendar_feed() {
    let app = TestApp::spawn().await;
    let c = church(
        &app,
        "feed",
        "Europe/Paris",
        "Louange",
        &[
            ("Élise", "Lefèvre", &["vocals", "keys"]),
            ("François", "Cœur", &["vocals"]),
        ],
    )
    .await;
    let (elise, francois) = (&c.members[0], &c.members[1]);
    // January 2030: one vocalist a Sunday, shared between the two.
    for d in sundays(2030, 1) {
        add_service(
            &app,
            &c.admin,
            &c.dept,
            "Culte",
            d,
            "10:00",
            json!([{"role": "vocals", "count": 1}]),
        )
        .await;
    }
    let jan = create_planning(&app, &c.admin, &c.dept, 2030, 1).await;
    generate(&app, &c.admin, &jan).await;
    let p = publish(&app, &c.admin, &jan).await;
    // The recent past: 40 days ago is too old for the feed, 10 days ago is in it (only
    // Élise plays keys).
    let today = Utc::now().date_naive();
    let old = today.checked_sub_days(Days::new(40)).unwrap();
    let recent = today.checked_sub_days(Days::new(10)).unwrap();
    let keys = json!([{"role": "keys", "count": 1}]);
    let old_service =
        add_past_service(&app, &c.org, &c.dept, "Répétition", old, keys.clone()).await;
    let recent_service =
        add_past_service(&app, &c.org, &c.dept, "Répétition", recent, keys.clone()).await;
    let mut past_months: Vec<(i32, u32)> =
        vec![(old.year(), old.month()), (recent.year(), recent.month())];
    past_months.dedup();
    let mut past = Vec::new();
    for (y, m) in past_months {
        let id = create_planning(&app, &c.admin, &c.dept, y, m).await;
        generate(&app, &c.admin, &id).await;
        past.extend(assignments(&publish(&app, &c.admin, &id).await));
    }
    // February: generated, not published: not in anyone's feed.
    add_service(
        &app,
        &c.admin,
        &c.dept,
        "Culte",
        NaiveDate::from_ymd_opt(2030, 2, 3).unwrap(),
        "10:00",
        json!([{"role": "vocals", "count": 2}]),
    )
    .await;
    let feb = create_planning(&app, &c.admin, &c.dept, 2030, 2).await;
    let feb_assignments = assignments(&generate(&app, &c.admin, &feb).await);
    assert_eq!(feb_assignments.len(), 2, "both on the draft");

    let jan_assignments = assignments(&p);
    let mine = |who: &Signed| -> BTreeSet<String> {
        jan_assignments
            .iter()
            .chain(&past)
            .filter(|a| a["userId"] == who.user_id.as_str())
            .filter(|a| a["serviceId"] != old_service.as_str())
            .map(|a| format!("{}@monservice", a["id"].as_str().unwrap()))
            .collect()
    };
    let recent_keys = past
        .iter()
        .find(|a| a["serviceId"] == recent_service.as_str())
        .unwrap();
    assert_eq!(recent_keys["userId"], elise.user_id.as_str());
    assert!(past.iter().any(|a| a["serviceId"] == old_service.as_str()));

    // No feed yet.
    let (s, st) = app
        .call("GET", "/api/v1/me/calendar-feed", Some(&elise.token), None)
        .await;
    assert_eq!((s, &st["active"]), (200, &json!(false)));
    let (s, _) = app
        .call("POST", "/api/v1/me/calendar-feed", None, None)
        .await;
    assert_eq!(s, 401);

    // Élise subscribes: the address works without signing in.
    let (s, out) = app
        .call("POST", "/api/v1/me/calendar-feed", Some(&elise.token), None)
        .await;
    assert_eq!(s, 201, "{out}");
    assert_eq!(out["replaced"], false);
    let url = out["url"].as_str().unwrap().to_string();
    let path = feed_path(&app, &url);
    let token = path
        .trim_start_matches("/api/v1/calendar/")
        .trim_end_matches(".ics")
        .to_string();
    let events = feed_events(&app, &path).await;
    assert_eq!(uids(&events), mine(elise));
    assert!(!mine(elise).is_empty());
    for a in &feb_assignments {
        assert!(!uids(&events).contains(&format!("{}@monservice", a["id"].as_str().unwrap())));
    }
    for e in &events {
        assert!(
            e["SUMMARY"] == "vocals – Culte" || e["SUMMARY"] == "keys – Répétition",
            "{e:?}"
        );
        assert_eq!(e["STATUS"], "TENTATIVE", "not answered yet");
        assert!(e["DESCRIPTION"].contains("Département: Louange"), "{e:?}");
    }
    // A Paris service at 10:00 in January is 09:00 UTC, until 11:00 UTC.
    let sundays_of_jan: Vec<_> = events
        .iter()
        .filter(|e| e["SUMMARY"] == "vocals – Culte")
        .collect();
    assert!(!sundays_of_jan.is_empty());
    for e in sundays_of_jan {
        assert!(
            e["DTSTART"].starts_with("203001") && e["DTSTART"].ends_with("T090000Z"),
            "{e:?}"
        );
        assert!(e["DTEND"].ends_with("T110000Z"), "{e:?}");
    }
    // Only the hash is stored.
    let db = app.db.connect().await;
    let stored: Vec<String> = db
        .conn
        .query_all_raw(store_sea::jobs::stmt(
            db.conn.get_database_backend(),
            "SELECT token_hash FROM calendar_feeds WHERE user_id = ?",
            vec![uuid::Uuid::parse_str(&elise.user_id).unwrap().into()],
        ))
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<String>("", "token_hash").unwrap())
        .collect();
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0], token);
    assert_eq!(stored[0].len(), 64);

    // Answers show: a confirmed one is CONFIRMED, a declined one leaves the feed.
    let ids: Vec<String> = mine(elise)
        .iter()
        .map(|u| u.trim_end_matches("@monservice").to_string())
        .collect();
    assert!(ids.len() >= 2, "{ids:?}");
    let (confirmed, declined) = (ids[0].as_str(), ids[1].as_str());
    let (s, _) = app
        .call(
            "POST",
            &format!("/api/v1/me/assignments/{confirmed}/confirm"),
            Some(&elise.token),
            None,
        )
        .await;
    assert_eq!(s, 200);
    let (s, _) = app
        .call(
            "POST",
            &format!("/api/v1/me/assignments/{declined}/decline"),
            Some(&elise.token),
            Some(json!({"reason": "En vacances"})),
        )
        .await;
    assert_eq!(s, 200);
    let events = feed_events(&app, &path).await;
    let by_uid: HashMap<String, &Event> = events.iter().map(|e| (e["UID"].clone(), e)).collect();
    assert_eq!(
        by_uid[&format!("{confirmed}@monservice")]["STATUS"],
        "CONFIRMED"
    );
    assert!(!by_uid.contains_key(&format!("{declined}@monservice")));
    assert_eq!(events.len(), mine(elise).len() - 1);

    // François's feed has only his assignments.
    let (s, out) = app
        .call(
            "POST",
            "/api/v1/me/calendar-feed",
            Some(&francois.token),
            None,
        )
        .await;
    assert_eq!(s, 201);
    let francois_path = feed_path(&app, out["url"].as_str().unwrap());
    let theirs = feed_events(&app, &francois_path).await;
    assert_eq!(uids(&theirs), mine(francois));
    assert!(uids(&theirs).is_disjoint(&uids(&events)));

    // The personal data export says a feed exists, never its address.
    let (s, export) = app
        .call(
            "GET",
            "/api/v1/users/me/data-export",
            Some(&elise.token),
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(export["calendarFeed"]["active"], true);
    assert!(export["calendarFeed"]["createdAt"].is_string());
    assert!(!export.to_string().contains(&token));

    // Rotating: the old address stops working at once.
    let (s, out) = app
        .call("POST", "/api/v1/me/calendar-feed", Some(&elise.token), None)
        .await;
    assert_eq!(s, 200, "{out}");
    assert_eq!(out["replaced"], true);
    let new_path = feed_path(&app, out["url"].as_str().unwrap());
    assert_ne!(new_path, path);
    let (s, _, body) = fetch(&app, &app.url(&path), None).await;
    assert_eq!(s, 404, "{}", String::from_utf8_lossy(&body));
    let problem: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(problem["detail"], "There is no such calendar.");
    assert_eq!(uids(&feed_events(&app, &new_path).await), uids(&events));
    // The unprefixed path answers too.
    let (s, _, _) = fetch(&app, &app.url(new_path.trim_start_matches("/api/v1")), None).await;
    assert_eq!(s, 200);

    // Revoking: 404, and the status and the data export say so.
    let (s, _) = app
        .call(
            "DELETE",
            "/api/v1/me/calendar-feed",
            Some(&elise.token),
            None,
        )
        .await;
    assert_eq!(s, 204);
    let (s, _, _) = fetch(&app, &app.url(&new_path), None).await;
    assert_eq!(s, 404);
    let (_, st) = app
        .call("GET", "/api/v1/me/calendar-feed", Some(&elise.token), None)
        .await;
    assert_eq!(st["active"], false);
    let (_, export) = app
        .call(
            "GET",
            "/api/v1/users/me/data-export",
            Some(&elise.token),
            None,
        )
        .await;
    assert_eq!(export["calendarFeed"]["active"], false);
    let (s, _) = app
        .call(
            "DELETE",
            "/api/v1/me/calendar-feed",
            Some(&elise.token),
            None,
        )
        .await;
    assert_eq!(s, 204, "revoking twice is fine");

    // Made-up addresses are unknown.
    let long = "x".repeat(300);
    for bad in ["nope", "a%2F..%2Fb", long.as_str()] {
        let (s, _, _) = fetch(&app, &app.url(&format!("/api/v1/calendar/{bad}.ics")), None).await;
        assert_eq!(s, 404, "{bad}");
    }

    // Deleting the account deletes the feed (and its address stops working).
    let res = app
        .client
        .delete(app.url("/api/v1/users/me"))
        .bearer_auth(&francois.token)
        .json(&json!({"password": testkit::TEST_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let (s, _, _) = fetch(&app, &app.url(&francois_path), None).await;
    assert_eq!(s, 404);
    let left = db
        .conn
        .query_all_raw(store_sea::jobs::stmt(
            db.conn.get_database_backend(),
            "SELECT user_id FROM calendar_feeds",
            vec![],
        ))
        .await
        .unwrap();
    assert!(left.is_empty());
}

#[tokio::test]
async fn the_feed_is_limited_per_client_address() {
    let app = TestApp::spawn_with(&[("RATE_LIMIT_PER_MINUTE", "3")]).await;
    for _ in 0..3 {
        let (s, _, _) = fetch(&app, &app.url("/api/v1/calendar/unknown-token.ics"), None).await;
        assert_eq!(s, 404);
    }
    let (s, h, _) = fetch(&app, &app.url("/calendar/unknown-token.ics"), None).await;
    assert_eq!(s, 429);
    assert!(!header(&h, "retry-after").is_empty());
}

#[tokio::test]
async fn another_churchs_rota_cannot_be_exported() {
    let app = TestApp::spawn().await;
    let a = church(
        &app,
        "a",
        "Europe/Paris",
        "Louange",
        &[("Élise", "Lefèvre", &["vocals"])],
    )
    .await;
    add_service(
        &app,
        &a.admin,
        &a.dept,
        "Culte",
        NaiveDate::from_ymd_opt(2030, 1, 6).unwrap(),
        "10:00",
        json!([{"role": "vocals", "count": 1}]),
    )
    .await;
    let id = create_planning(&app, &a.admin, &a.dept, 2030, 1).await;
    generate(&app, &a.admin, &id).await;
    publish(&app, &a.admin, &id).await;
    let b = app.sign_up("b@example.org").await;
    app.create_church(&b, "Grenoble").await;
    let unknown = uuid::Uuid::now_v7();
    for ext in ["ics", "pdf"] {
        let theirs = format!("/api/v1/plannings/{id}/export.{ext}");
        let none = format!("/api/v1/plannings/{unknown}/export.{ext}");
        let (s1, d1) = app.call("GET", &theirs, Some(&b.token), None).await;
        let (s2, d2) = app.call("GET", &none, Some(&b.token), None).await;
        assert_eq!(s1, 404, "{d1}");
        assert_eq!((s1, &d1["detail"]), (s2, &d2["detail"]));
        // Their own member can.
        let (s, _, _) = fetch(&app, &app.url(&theirs), Some(&a.members[0].token)).await;
        assert_eq!(s, 200);
    }
    // Someone in no church has no rota to follow.
    let loner = app.sign_up("loner@example.org").await;
    let (s, out) = app
        .call("POST", "/api/v1/me/calendar-feed", Some(&loner.token), None)
        .await;
    assert_eq!(s, 404, "{out}");
    let (s, out) = app
        .call("GET", "/api/v1/me/calendar-feed", Some(&loner.token), None)
        .await;
    assert_eq!((s, &out["active"]), (200, &json!(false)));
}

#[tokio::test]
async fn the_feed_address_starts_with_public_api_url_once_it_is_set() {
    let app = TestApp::spawn_with(&[("PUBLIC_API_URL", "https://api.example.org/")]).await;
    let admin = app.sign_up("admin@example.org").await;
    app.create_church(&admin, "Lyon").await;
    let (s, out) = app
        .call("POST", "/api/v1/me/calendar-feed", Some(&admin.token), None)
        .await;
    assert_eq!(s, 201, "{out}");
    let url = out["url"].as_str().unwrap();
    let token = url
        .strip_prefix("https://api.example.org/api/v1/calendar/")
        .and_then(|t| t.strip_suffix(".ics"))
        .unwrap_or_else(|| panic!("{url}"));
    assert_eq!(token.len(), 43);
    // The same feed, here.
    let (s, _, body) = fetch(
        &app,
        &app.url(&format!("/api/v1/calendar/{token}.ics")),
        None,
    )
    .await;
    assert_eq!(s, 200);
    let (cal, events) = parse_ics(&body);
    assert_eq!(cal["X-WR-CALNAME"], "MonService – Mes services");
    assert!(events.is_empty());
}
