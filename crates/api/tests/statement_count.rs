//! List endpoints run a fixed, small number of SQL statements whatever the size of the list
//! (never one per row). Alone in its test binary: the statement counter is process-wide.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sea_orm::ConnectionTrait;
use testkit::TestApp;

/// Adds `n` services to the department straight in the database, one in three in a series,
/// all in 2099 (the setup, not the subject).
async fn add_services_2099(app: &TestApp, org: &str, dept: &str, from: usize, n: usize) {
    let conn = &app.ctx.db.conn;
    let backend = conn.get_database_backend();
    let uuid = |s: &str| s.parse::<uuid::Uuid>().unwrap();
    let series = uuid::Uuid::now_v7();
    conn.execute_raw(store_sea::jobs::stmt(
        backend,
        "INSERT INTO service_series (id, organization_id, department_id, rrule, dtstart, name, \
             start_time, end_time, created_at, updated_at) \
             VALUES (?, ?, ?, 'FREQ=DAILY;COUNT=300', '2099-01-01', 'Culte', '10:00:00', '12:00:00', 0, 0)",
        vec![series.into(), uuid(org).into(), uuid(dept).into()],
    ))
    .await
    .unwrap();
    for k in from..from + n {
        let date = chrono::NaiveDate::from_ymd_opt(2099, 1, 1).unwrap()
            + chrono::Duration::days((k % 300) as i64);
        conn.execute_raw(store_sea::jobs::stmt(
            backend,
            "INSERT INTO services (id, organization_id, department_id, series_id, name, date, \
                 start_time, end_time, required_roles, created_at, updated_at) \
                 VALUES (?, ?, ?, ?, ?, ?, '10:00:00', '12:00:00', ?, 0, 0)",
            vec![
                uuid::Uuid::now_v7().into(),
                uuid(org).into(),
                uuid(dept).into(),
                (k % 3 == 0).then_some(series).into(),
                format!("Service {k}").into(),
                date.format("%Y-%m-%d").to_string().into(),
                r#"[{"role":"Chant","count":2}]"#.into(),
            ],
        ))
        .await
        .unwrap();
    }
}

/// The statements one GET runs, and its item count.
async fn statements(app: &TestApp, path: &str, token: &str) -> (u64, usize) {
    let before = store_sea::statements_sent();
    let (s, body) = app.call("GET", path, Some(token), None).await;
    let after = store_sea::statements_sent();
    assert_eq!(s, 200, "{path}: {body}");
    (after - before, body.as_array().map_or(1, Vec::len))
}

#[tokio::test]
async fn list_endpoints_run_a_fixed_number_of_statements() {
    let app = TestApp::spawn().await;
    let admin = app.sign_up("admin@example.org").await;
    let org = app.create_church(&admin, "Lyon").await;
    let org = org["id"].as_str().unwrap().to_string();
    let dept = app.create_department(&admin, "Louange").await;
    let members = format!("/api/v1/departments/{dept}/members");
    let services = format!("/api/v1/departments/{dept}/services?from=2099-01-01&to=2099-12-31");
    let paths = [
        members.as_str(),
        services.as_str(),
        "/api/v1/departments",
        "/api/v1/organizations/current/members",
        "/api/v1/users/me",
    ];

    app.add_members_directly(&org, &dept, 0, 3).await;
    add_services_2099(&app, &org, &dept, 0, 3).await;
    let mut small = Vec::new();
    for p in paths {
        small.push(statements(&app, p, &admin.token).await);
    }
    app.add_members_directly(&org, &dept, 3, 200).await;
    add_services_2099(&app, &org, &dept, 3, 200).await;
    for (p, (n_small, len_small)) in paths.iter().zip(&small) {
        let (n_large, len_large) = statements(&app, p, &admin.token).await;
        assert_eq!(
            n_small, &n_large,
            "{p}: {n_small} statements for {len_small} items, {n_large} for {len_large}"
        );
        eprintln!("{p}: {n_large} SQL statements ({len_large} items)");
    }
    // The session check (which loads the user), the department with the caller's role, the list.
    assert_eq!(small[0].0, 3, "GET {members}");
    assert_eq!(small[0].1, 3);
    // The session check, the department with the caller's role, the church (its time zone),
    // the list.
    assert_eq!(small[1].0, 4, "GET {services}");
    assert_eq!(small[1].1, 3);
    assert!(
        small[2].0 <= 2 && small[3].0 <= 2 && small[4].0 == 1,
        "{small:?}"
    );

    // A rota: its month (services, candidates, history, commitments, assignments) is read in a
    // fixed number of statements whatever its size.
    let first = {
        use chrono::Datelike;
        let t = chrono::Utc::now().date_naive();
        chrono::NaiveDate::from_ymd_opt(t.year(), t.month(), 1).unwrap() + chrono::Months::new(2)
    };
    add_services(&app, &org, &dept, first, 0, 2).await;
    let (s, p) = app
        .call(
            "POST",
            &format!("/api/v1/departments/{dept}/plannings"),
            Some(&admin.token),
            Some(serde_json::json!({"year": chrono::Datelike::year(&first), "month": chrono::Datelike::month(&first)})),
        )
        .await;
    assert_eq!(s, 201, "{p}");
    let planning = format!("/api/v1/plannings/{}", p["id"].as_str().unwrap());
    let generate_path = format!("{planning}/generate");
    let (st, out) = app
        .call("POST", &generate_path, Some(&admin.token), None)
        .await;
    assert_eq!(st, 202, "{out}");
    app.run_worker_until_idle().await;
    let small = statements(&app, &planning, &admin.token).await.0;
    add_services(&app, &org, &dept, first, 2, 25).await;
    let (st, out) = app
        .call("POST", &generate_path, Some(&admin.token), None)
        .await;
    assert_eq!(st, 202, "{out}");
    app.run_worker_until_idle().await;
    let before = store_sea::statements_sent();
    let (_, body) = app.call("GET", &planning, Some(&admin.token), None).await;
    let large = store_sea::statements_sent() - before;
    let assigned: usize = body["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["assignments"].as_array().unwrap().len())
        .sum();
    assert_eq!(body["services"].as_array().unwrap().len(), 27);
    assert!(assigned > 100, "{assigned}");
    assert_eq!(small, large, "GET {planning}");
    eprintln!("{planning}: {large} SQL statements (27 services, {assigned} assignments)");
    assert!(large <= 10, "{large}");

    // Publishing it: the request records one event per assigned member in a fixed number of
    // statements; the dispatcher turns them into notifications and emails in a fixed number
    // too (read the batch, the recipients, one insert each, one update).
    let before = store_sea::statements_sent();
    let (s, out) = app
        .call(
            "POST",
            &format!("{planning}/publish"),
            Some(&admin.token),
            Some(serde_json::json!({"version": body["version"]})),
        )
        .await;
    assert_eq!(s, 200, "{out}");
    let publish = store_sea::statements_sent() - before;
    eprintln!("POST {planning}/publish: {publish} SQL statements");
    assert!(publish <= 16, "{publish}");
    let before = store_sea::statements_sent();
    let stats = app
        .ctx
        .notifications
        .dispatch(notifications::DISPATCH_BATCH, chrono::Utc::now())
        .await
        .unwrap();
    let dispatch = store_sea::statements_sent() - before;
    assert!(stats.notifications >= 50, "{stats:?}");
    assert_eq!(stats.emails, stats.notifications, "{stats:?}");
    eprintln!(
        "dispatch: {dispatch} SQL statements ({} events, {} notifications, {} emails)",
        stats.events, stats.notifications, stats.emails
    );
    assert!(dispatch <= 10, "{dispatch}");

    // The inbox: a page costs the same whatever the inbox holds.
    let me: kernel::UserId = admin.user_id.parse().unwrap();
    let org_id: kernel::OrganizationId = org.parse().unwrap();
    let seed = |n: usize| {
        let notes: Vec<_> = (0..n)
            .map(|i| notifications::NewNotification {
                organization: org_id,
                user: me,
                event: None,
                kind: "rota.published".into(),
                title: format!("n{i}"),
                body: "b".into(),
                link: None,
                data: serde_json::json!({}),
            })
            .collect();
        let ctx = app.ctx.clone();
        async move {
            use notifications::NotificationStore;
            ctx.notifications
                .store()
                .deliver(&notes, &[], &[], chrono::Utc::now())
                .await
                .unwrap();
        }
    };
    let inbox = "/api/v1/notifications?limit=100";
    seed(3).await;
    let small = statements(&app, inbox, &admin.token).await.0;
    let count_small = statements(&app, "/api/v1/notifications/unread/count", &admin.token)
        .await
        .0;
    seed(250).await;
    let before = store_sea::statements_sent();
    let (_, page) = app.call("GET", inbox, Some(&admin.token), None).await;
    let large = store_sea::statements_sent() - before;
    assert_eq!(page["items"].as_array().unwrap().len(), 100);
    assert_eq!(small, large, "GET {inbox}");
    assert_eq!(
        count_small,
        statements(&app, "/api/v1/notifications/unread/count", &admin.token)
            .await
            .0
    );
    // The session check and the page.
    assert_eq!(large, 2, "GET {inbox}");
    eprintln!("{inbox}: {large} SQL statements (100 items)");
}

/// Adds services (two singers each) in the month of `first` straight in the database.
async fn add_services(
    app: &TestApp,
    org: &str,
    dept: &str,
    first: chrono::NaiveDate,
    from: usize,
    n: usize,
) {
    let conn = &app.ctx.db.conn;
    let backend = conn.get_database_backend();
    let uuid = |s: &str| s.parse::<uuid::Uuid>().unwrap();
    for k in from..from + n {
        let date = first + chrono::Days::new((k % 28) as u64);
        let hour = 8 + (k / 28) * 3;
        conn.execute_raw(store_sea::jobs::stmt(
            backend,
            "INSERT INTO services (id, organization_id, department_id, name, date, start_time, \
                 end_time, required_roles, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, 0)",
            vec![
                uuid::Uuid::now_v7().into(),
                uuid(org).into(),
                uuid(dept).into(),
                format!("Service {k}").into(),
                date.format("%Y-%m-%d").to_string().into(),
                format!("{hour:02}:00:00").into(),
                format!("{:02}:00:00", hour + 2).into(),
                r#"[{"role":"Chant","count":3},{"role":"Guitare","count":2}]"#.into(),
            ],
        ))
        .await
        .unwrap();
    }
}
