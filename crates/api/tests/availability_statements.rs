//! The effective blockouts of a department (the planner's call), the leaders' overview and a
//! member's month run a fixed number of SQL statements whatever the number of members, ranges
//! and weekly rules. Alone in its test binary: the statement counter is process-wide.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use availability::Month;
use kernel::{DepartmentId, OrganizationId};
use sea_orm::ConnectionTrait;
use testkit::TestApp;

/// Adds `n` members to the department straight in the database, each with a one-off, a
/// range and a weekly rule in January 2030 (the setup, not the subject).
async fn add_members(app: &TestApp, org: uuid::Uuid, dept: uuid::Uuid, from: usize, n: usize) {
    let conn = &app.ctx.db.conn;
    let backend = conn.get_database_backend();
    let run = |sql: &'static str, values: Vec<sea_orm::Value>| async move {
        conn.execute_raw(store_sea::jobs::stmt(backend, sql, values))
            .await
            .unwrap();
    };
    for k in from..from + n {
        let id = uuid::Uuid::now_v7();
        run(
            "INSERT INTO users (id, email, first_name, last_name, locale, is_email_verified, \
             is_active, organization_id, role, notification_prefs, created_at, updated_at) \
             VALUES (?, ?, 'First', ?, 'fr', true, true, ?, 'member', '{}', 0, 0)",
            vec![
                id.into(),
                format!("m{k}@example.org").into(),
                format!("Last{k:04}").into(),
                org.into(),
            ],
        )
        .await;
        run(
            "INSERT INTO department_members (department_id, user_id, organization_id, role, \
             skills, status, joined_at, updated_at) VALUES (?, ?, ?, 'member', '[]', 'active', 0, 0)",
            vec![dept.into(), id.into(), org.into()],
        )
        .await;
        run(
            "INSERT INTO blockouts (id, organization_id, user_id, date, start_time, end_time, \
             reason, created_at) VALUES (?, ?, ?, '2030-01-20', NULL, NULL, NULL, 0)",
            vec![uuid::Uuid::now_v7().into(), org.into(), id.into()],
        )
        .await;
        run(
            "INSERT INTO blockout_ranges (id, organization_id, user_id, from_date, to_date, \
             start_time, end_time, reason, created_at) \
             VALUES (?, ?, ?, '2029-12-28', '2030-01-03', NULL, NULL, 'Away', 0)",
            vec![uuid::Uuid::now_v7().into(), org.into(), id.into()],
        )
        .await;
        run(
            "INSERT INTO blockout_weekly_rules (id, organization_id, user_id, weekday, \
             start_time, end_time, starts_on, until_date, reason, created_at) \
             VALUES (?, ?, ?, 'wednesday', '19:00:00', '21:00:00', '2029-09-01', NULL, NULL, 0)",
            vec![uuid::Uuid::now_v7().into(), org.into(), id.into()],
        )
        .await;
    }
}

#[tokio::test]
async fn effective_blockouts_run_a_fixed_number_of_statements() {
    let app = TestApp::spawn().await;
    let admin = app.sign_up("admin@example.org").await;
    let org = app.create_church(&admin, "Lyon").await;
    let org: uuid::Uuid = org["id"].as_str().unwrap().parse().unwrap();
    let dept_s = app.create_department(&admin, "Louange").await;
    let dept: uuid::Uuid = dept_s.parse().unwrap();
    let member = app
        .join_department(&admin, &dept_s, "marie@example.org", "member")
        .await;
    let jan = Month::new(2030, 1).unwrap();
    let overview = format!("/api/v1/departments/{dept_s}/availabilities?year=2030&month=1");
    let month =
        "/api/v1/departments/default-department/members/me/availabilities?year=2030&month=1";

    let measure = || async {
        let before = store_sea::statements_sent();
        let all = app
            .ctx
            .availability
            .department_blockouts(OrganizationId(org), DepartmentId(dept), jan)
            .await
            .unwrap();
        let planner = store_sea::statements_sent() - before;
        let before = store_sea::statements_sent();
        let (s, o) = app.call("GET", &overview, Some(&admin.token), None).await;
        assert_eq!(s, 200, "{o}");
        let overview = store_sea::statements_sent() - before;
        let before = store_sea::statements_sent();
        let (s, v) = app.call("GET", month, Some(&member.token), None).await;
        assert_eq!(s, 200, "{v}");
        let month = store_sea::statements_sent() - before;
        (
            planner,
            overview,
            month,
            all.len(),
            o["members"].as_array().unwrap().len(),
        )
    };

    add_members(&app, org, dept, 0, 3).await;
    let small = measure().await;
    add_members(&app, org, dept, 3, 150).await;
    let large = measure().await;
    eprintln!("small {small:?}, large {large:?}");
    // One-offs, ranges, weekly rules: three statements for the planner, whatever the size.
    assert_eq!(small.0, 3);
    assert_eq!((small.0, small.1, small.2), (large.0, large.1, large.2));
    // Each added member: the one-off, 3 range days, 5 Wednesday evenings (2, 9, 16, 23, 30).
    assert_eq!(small.3, 3 * 9);
    assert_eq!(large.3, 153 * 9);
    assert_eq!(large.4, 154);
}
