//! `monservice seed`: the demo church, checked in the database it wrote (SQLite, or
//! PostgreSQL when `TEST_DATABASE_URL` is set), and refused a second time.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sea_orm::{ConnectionTrait, Statement};
use std::process::{Command, Output};
use testkit::TestDb;

fn seed(db: &TestDb, dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_monservice"))
        // Nothing from the developer's or CI's environment leaks in.
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &db.url)
        .env("DATA_DIR", dir)
        .current_dir(dir)
        .arg("seed")
        .args(args)
        .output()
        .unwrap()
}

async fn count(db: &store_sea::Db, sql: &str) -> i64 {
    let backend = db.conn.get_database_backend();
    let row = db
        .conn
        .query_one_raw(Statement::from_string(backend, sql.to_string()))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

#[tokio::test]
async fn seeds_a_demo_church_once() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();

    let out = seed(&db, dir.path(), &["--members", "12", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["admin"], "admin@demo.example.org");
    let password = json["password"].as_str().unwrap();
    assert!(password.len() >= 8);
    let depts = json["departments"].as_array().unwrap();
    let names: Vec<&str> = depts.iter().map(|d| d["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Louange", "Son et vidéo", "Accueil"]);
    for d in depts {
        assert!(d["id"].as_str().unwrap().len() == 36, "{d}");
        assert!(d["members"].as_u64().unwrap() >= 3, "{d}");
        assert!(d["leader"].as_str().unwrap().ends_with("@demo.example.org"));
    }
    // 12 people, about a fifth of them in two departments.
    let memberships: u64 = depts.iter().map(|d| d["members"].as_u64().unwrap()).sum();
    assert!((13..=15).contains(&memberships), "{memberships}");
    let logins = json["logins"].as_array().unwrap();
    assert_eq!(logins.len(), 6, "admin, three leaders, two members");
    let pending = json["pendingInvitations"].as_array().unwrap();
    assert_eq!(pending.len(), 5);
    assert_eq!(pending[0]["email"], "invite1@demo.example.org");
    assert!(json["organizationId"].as_str().is_some());

    let conn = db.connect().await;
    assert_eq!(count(&conn, "SELECT COUNT(*) FROM organizations").await, 1);
    assert_eq!(count(&conn, "SELECT COUNT(*) FROM departments").await, 3);
    assert_eq!(count(&conn, "SELECT COUNT(*) FROM users").await, 13);
    assert_eq!(
        count(
            &conn,
            "SELECT COUNT(*) FROM users WHERE organization_id IS NULL OR NOT is_email_verified \
             OR email NOT LIKE '%@demo.example.org'"
        )
        .await,
        0,
        "every account in the church, verified, at the reserved domain"
    );
    assert_eq!(
        count(
            &conn,
            "SELECT COUNT(*) FROM users WHERE role = 'admin' AND email = 'admin@demo.example.org'"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &conn,
            "SELECT COUNT(*) FROM invitations WHERE status = 'pending'"
        )
        .await,
        5
    );
    assert_eq!(
        count(
            &conn,
            "SELECT COUNT(*) FROM departments d WHERE (SELECT COUNT(*) FROM department_members m \
             WHERE m.department_id = d.id AND m.role = 'leader' AND m.status = 'active') <> 1"
        )
        .await,
        0,
        "every department has exactly one leader"
    );
    assert_eq!(
        count(
            &conn,
            "SELECT COUNT(*) FROM department_members WHERE role = 'guest'"
        )
        .await,
        2
    );
    assert_eq!(
        count(&conn, "SELECT COUNT(*) FROM department_members").await as u64,
        memberships
    );
    let backend = conn.conn.get_database_backend();
    let rows = conn
        .conn
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT skills FROM department_members".to_string(),
        ))
        .await
        .unwrap();
    for r in rows {
        let skills: String = r.try_get_by_index(0).unwrap();
        let skills: Vec<String> = serde_json::from_str(&skills).unwrap();
        assert!((1..=3).contains(&skills.len()), "{skills:?}");
    }

    // A second run is refused in one line that says what to do.
    let again = seed(&db, dir.path(), &["--members", "12"]);
    assert!(!again.status.success());
    let err = String::from_utf8(again.stderr).unwrap();
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("cargo xtask db fresh"), "{err}");
    assert!(again.stdout.is_empty());
    assert_eq!(count(&conn, "SELECT COUNT(*) FROM users").await, 13);
}
