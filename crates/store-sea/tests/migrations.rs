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

#[tokio::test]
async fn up_down_up_one_step_at_a_time() {
    let test_db = TestDb::empty().await;
    let db = test_db.connect().await;
    let total = Migrator::migrations().len() as u32;
    db.migrate_up().await.unwrap();
    assert!(db.pending_migrations().await.unwrap().is_empty());
    assert!(has_table(&db, "jobs").await);

    // Roll each migration back and re-apply it, newest first, with a row present.
    db.conn
        .execute_unprepared(
            "INSERT INTO jobs (id, kind, payload, status, attempts, max_attempts, run_at, created_at, updated_at) \
             VALUES ('0194f0a6-1c1e-7cc3-a3a5-6f1b2c3d4e5f', 'noop', '{}', 'pending', 0, 3, 0, 0, 0)",
        )
        .await
        .unwrap();
    for step in 1..=total {
        db.migrate_down(1).await.unwrap();
        assert_eq!(db.pending_migrations().await.unwrap().len() as u32, 1);
        db.migrate_up().await.unwrap();
        assert!(
            db.pending_migrations().await.unwrap().is_empty(),
            "step {step}"
        );
    }

    // All the way down leaves nothing of ours, and all the way up again works.
    db.migrate_down(total).await.unwrap();
    assert!(!has_table(&db, "jobs").await);
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
