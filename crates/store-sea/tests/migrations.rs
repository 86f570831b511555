//! Every migration applies, rolls back and applies again, on SQLite and (with
//! TEST_DATABASE_URL) PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use migrations::{Migrator, MigratorTrait};
use sea_orm::ConnectionTrait;
use testkit::TestDb;

async fn has_table(db: &store_sea::Db, table: &str) -> bool {
    let sql = match db.backend {
        store_sea::Backend::Sqlite => {
            format!("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '{table}'")
        }
        store_sea::Backend::Postgres => {
            format!("SELECT 1 FROM information_schema.tables WHERE table_name = '{table}'")
        }
    };
    db.conn
        .query_one_raw(sea_orm::Statement::from_string(
            db.conn.get_database_backend(),
            sql,
        ))
        .await
        .unwrap()
        .is_some()
}

/// One row in every table that exists (ignored where the row is already there), so that each
/// `down` runs against data, not an empty schema.
async fn fill(db: &store_sea::Db) {
    const O: &str = "'0194f0a6-1c1e-7cc3-a3a5-000000000001'";
    const U: &str = "'0194f0a6-1c1e-7cc3-a3a5-000000000002'";
    const S: &str = "'0194f0a6-1c1e-7cc3-a3a5-000000000003'";
    const D: &str = "'0194f0a6-1c1e-7cc3-a3a5-000000000004'";
    const I: &str = "'0194f0a6-1c1e-7cc3-a3a5-000000000005'";
    const SS: &str = "'0194f0a6-1c1e-7cc3-a3a5-000000000008'";
    const SV: &str = "'0194f0a6-1c1e-7cc3-a3a5-000000000009'";
    const P: &str = "'0194f0a6-1c1e-7cc3-a3a5-00000000000a'";
    let rows: Vec<(&str, String)> = vec![
        ("jobs", "INSERT INTO jobs (id, kind, payload, status, attempts, max_attempts, run_at, created_at, updated_at) \
             VALUES ('0194f0a6-1c1e-7cc3-a3a5-6f1b2c3d4e5f', 'noop', '{}', 'pending', 0, 3, 0, 0, 0)".into()),
        ("users", format!("INSERT INTO users (id, email, first_name, last_name, locale, is_email_verified, \
             is_active, organization_id, role, notification_prefs, created_at, updated_at) \
             VALUES ({U}, 'a@example.org', 'A', 'B', 'fr', true, true, {O}, 'admin', '{{}}', 0, 0)")),
        ("sessions", format!("INSERT INTO sessions (id, user_id, method, created_at, expires_at) \
             VALUES ({S}, {U}, 'password', 0, 1)")),
        ("refresh_tokens", format!("INSERT INTO refresh_tokens (hash, session_id, expires_at, created_at) \
             VALUES ('h1', {S}, 1, 0)")),
        ("one_time_tokens", format!("INSERT INTO one_time_tokens (hash, user_id, kind, expires_at, created_at) \
             VALUES ('h2', {U}, 'verify_email', 1, 0)")),
        ("organizations", format!("INSERT INTO organizations (id, name, slug, timezone, created_at, updated_at) \
             VALUES ({O}, 'Lyon', 'lyon', 'Europe/Paris', 0, 0)")),
        ("departments", format!("INSERT INTO departments (id, organization_id, name, name_key, \
             availability_deadline_days, reminder_hours_before, created_at, updated_at) \
             VALUES ({D}, {O}, 'Louange', 'louange', 7, 24, 0, 0)")),
        ("department_members", format!("INSERT INTO department_members (department_id, user_id, \
             organization_id, role, skills, status, joined_at, updated_at) \
             VALUES ({D}, {U}, {O}, 'leader', '[]', 'active', 0, 0)")),
        ("invitations", format!("INSERT INTO invitations (id, organization_id, department_id, email, role, \
             token_hash, status, invited_by, expires_at, created_at, updated_at) \
             VALUES ({I}, {O}, {D}, 'c@example.org', 'member', 'h3', 'pending', {U}, 1, 0, 0)")),
        ("blockouts", format!("INSERT INTO blockouts (id, organization_id, user_id, date, start_time, \
             end_time, reason, created_at) \
             VALUES ('0194f0a6-1c1e-7cc3-a3a5-000000000006', {O}, {U}, '2030-01-10', NULL, NULL, 'x', 0)")),
        ("availability_answers", format!("INSERT INTO availability_answers (organization_id, user_id, \
             month, answered_at) VALUES ({O}, {U}, '2030-01', 0)")),
        ("outbox_events", format!("INSERT INTO outbox_events (id, organization_id, kind, payload, \
             occurred_at) VALUES ('0194f0a6-1c1e-7cc3-a3a5-000000000007', {O}, 'x', '{{}}', 0)")),
        ("service_series", format!("INSERT INTO service_series (id, organization_id, department_id, rrule, \
             dtstart, name, start_time, end_time, created_at, updated_at) \
             VALUES ({SS}, {O}, {D}, 'FREQ=WEEKLY;COUNT=2', '2030-01-06', 'Culte', '10:00:00', '12:00:00', 0, 0)")),
        ("services", format!("INSERT INTO services (id, organization_id, department_id, series_id, name, \
             date, start_time, end_time, created_at, updated_at) \
             VALUES ({SV}, {O}, {D}, {SS}, 'Culte', '2030-01-06', '10:00:00', '12:00:00', 0, 0)")),
        ("plannings", format!("INSERT INTO plannings (id, organization_id, department_id, month, \
             created_at, updated_at) VALUES ({P}, {O}, {D}, '2030-01', 0, 0)")),
        ("assignments", format!("INSERT INTO assignments (id, organization_id, planning_id, service_id, \
             user_id, role, created_at, updated_at) \
             VALUES ('0194f0a6-1c1e-7cc3-a3a5-00000000000b', {O}, {P}, {SV}, {U}, 'bass', 0, 0)")),
        ("blockout_ranges", format!("INSERT INTO blockout_ranges (id, organization_id, user_id, from_date, \
             to_date, start_time, end_time, reason, created_at) \
             VALUES ('0194f0a6-1c1e-7cc3-a3a5-00000000000c', {O}, {U}, '2030-01-03', '2030-01-17', NULL, NULL, 'x', 0)")),
        ("blockout_weekly_rules", format!("INSERT INTO blockout_weekly_rules (id, organization_id, user_id, \
             weekday, start_time, end_time, starts_on, until_date, reason, created_at) \
             VALUES ('0194f0a6-1c1e-7cc3-a3a5-00000000000d', {O}, {U}, 'wednesday', '19:00:00', '21:00:00', \
             '2030-01-01', NULL, NULL, 0)")),
        ("calendar_feeds", format!("INSERT INTO calendar_feeds (user_id, organization_id, token_hash, \
             created_at) VALUES ({U}, {O}, 'h4', 0)")),
        ("notifications", format!("INSERT INTO notifications (id, organization_id, user_id, event_id, \
             kind, title, body, link, data, read_at, created_at) \
             VALUES ('0194f0a6-1c1e-7cc3-a3a5-00000000000e', {O}, {U}, '0194f0a6-1c1e-7cc3-a3a5-000000000007', \
             'rota.published', 't', 'b', '/fr/dashboard', '{{}}', NULL, 0)")),
        ("service_reminders", format!("INSERT INTO service_reminders (assignment_id, remind_at, \
             organization_id, user_id, starts_at, sent_at) \
             VALUES ('0194f0a6-1c1e-7cc3-a3a5-00000000000b', 0, {O}, {U}, 86400000, 0)")),
    ];
    for (table, sql) in rows {
        if has_table(db, table).await {
            db.conn
                .execute_unprepared(&format!("{sql} ON CONFLICT DO NOTHING"))
                .await
                .unwrap_or_else(|e| panic!("{table}: {e}"));
        }
    }
}

#[tokio::test]
async fn up_down_up_one_step_at_a_time() {
    let test_db = TestDb::empty().await;
    // One connection, as `monservice migrate` uses: with several, a pooled SQLite connection
    // could still read the schema from before a rollback (WAL snapshot) and the next `up`
    // then met an index that was already gone.
    let mut cfg = store_sea::DbConfig::new(&test_db.url);
    cfg.max_connections = 1;
    let db = store_sea::Db::connect(&cfg).await.unwrap();
    let total = Migrator::migrations().len() as u32;
    db.migrate_up().await.unwrap();
    assert!(db.pending_migrations().await.unwrap().is_empty());
    assert!(has_table(&db, "jobs").await);

    // Every migration is rolled back and re-applied, with rows in every table: roll back the
    // newest k (k = 1…total) and apply them again.
    for k in 1..=total {
        fill(&db).await;
        db.migrate_down(k).await.unwrap();
        assert_eq!(db.pending_migrations().await.unwrap().len() as u32, k);
        db.migrate_up().await.unwrap();
        assert!(db.pending_migrations().await.unwrap().is_empty(), "k = {k}");
    }
    fill(&db).await;

    // All the way down leaves nothing of ours, and all the way up again works.
    db.migrate_down(total).await.unwrap();
    for t in [
        "jobs",
        "users",
        "organizations",
        "departments",
        "department_members",
        "invitations",
        "blockouts",
        "availability_answers",
        "blockout_ranges",
        "blockout_weekly_rules",
        "notifications",
        "service_reminders",
    ] {
        assert!(!has_table(&db, t).await, "{t} left behind");
    }
    assert_eq!(db.pending_migrations().await.unwrap().len() as u32, total);
    db.migrate_up().await.unwrap();
    assert!(has_table(&db, "jobs").await);
}

#[tokio::test]
async fn status_check_constraint_refuses_unknown_states() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    let res = db
        .conn
        .execute_unprepared(
            "INSERT INTO jobs (id, kind, payload, status, attempts, max_attempts, run_at, created_at, updated_at) \
             VALUES ('0194f0a6-1c1e-7cc3-a3a5-6f1b2c3d4e5f', 'noop', '{}', 'exploded', 0, 3, 0, 0, 0)",
        )
        .await;
    assert!(
        res.is_err(),
        "an unknown status must be refused by the schema"
    );
}
