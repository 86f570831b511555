//! List endpoints run a fixed, small number of SQL statements whatever the size of the list
//! (never one per row). Alone in its test binary: the statement counter is process-wide.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sea_orm::ConnectionTrait;
use testkit::TestApp;

/// Adds `n` members to the department straight in the database (the setup, not the subject).
async fn add_members(app: &TestApp, org: &str, dept: &str, from: usize, n: usize) {
    let conn = &app.ctx.db.conn;
    let backend = conn.get_database_backend();
    let uuid = |s: &str| s.parse::<uuid::Uuid>().unwrap();
    for k in from..from + n {
        let id = uuid::Uuid::now_v7();
        conn.execute_raw(store_sea::jobs::stmt(
            backend,
            "INSERT INTO users (id, email, first_name, last_name, locale, avatar_key, \
                 is_email_verified, is_active, organization_id, role, notification_prefs, \
                 created_at, updated_at) VALUES (?, ?, ?, ?, 'fr', ?, ?, ?, ?, 'member', '{}', 0, 0)",
            vec![
                id.into(),
                format!("m{k}@example.org").into(),
                format!("First{k}").into(),
                format!("Last{k:04}").into(),
                // Every other member has an avatar: its URL is built without a query.
                (k % 2 == 0).then(|| format!("avatars/{id}/a.webp")).into(),
                true.into(),
                true.into(),
                uuid(org).into(),
            ],
        ))
        .await
        .unwrap();
        conn.execute_raw(store_sea::jobs::stmt(
            backend,
            "INSERT INTO department_members (department_id, user_id, organization_id, role, \
                 skills, status, joined_at, updated_at) VALUES (?, ?, ?, 'member', ?, 'active', 0, 0)",
            vec![
                uuid(dept).into(),
                id.into(),
                uuid(org).into(),
                r#"["Chant","Guitare"]"#.into(),
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
    let paths = [
        members.as_str(),
        "/api/v1/departments",
        "/api/v1/organizations/current/members",
        "/api/v1/users/me",
    ];

    add_members(&app, &org, &dept, 0, 3).await;
    let mut small = Vec::new();
    for p in paths {
        small.push(statements(&app, p, &admin.token).await);
    }
    add_members(&app, &org, &dept, 3, 200).await;
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
    assert!(
        small[1].0 <= 2 && small[2].0 <= 2 && small[3].0 == 1,
        "{small:?}"
    );
}
