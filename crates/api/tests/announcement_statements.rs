//! Announcements and availability chasers run a fixed number of SQL statements whatever the
//! department's size: listing a department's announcements, dispatching an announcement to
//! every member, and a leader's manual chase. Alone in its test binary: the statement counter
//! is process-wide.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{Datelike, Months, NaiveDate, Utc};
use serde_json::{Value, json};
use testkit::TestApp;

/// The statements one request runs, and its answer.
async fn statements(
    app: &TestApp,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u64, Value) {
    let before = store_sea::statements_sent();
    let (s, out) = app.call(method, path, Some(token), body).await;
    let after = store_sea::statements_sent();
    assert!((200..300).contains(&s), "{method} {path}: {s} {out}");
    (after - before, out)
}

async fn dispatch_statements(app: &TestApp) -> (u64, u64) {
    let before = store_sea::statements_sent();
    let stats = app
        .ctx
        .notifications
        .dispatch(notifications::DISPATCH_BATCH, Utc::now())
        .await
        .unwrap();
    (store_sea::statements_sent() - before, stats.notifications)
}

#[tokio::test]
async fn announcements_and_chases_run_a_fixed_number_of_statements() {
    let app = TestApp::spawn().await;
    let admin = app.sign_up("admin@example.org").await;
    let org = app.create_church(&admin, "Lyon").await;
    let org = org["id"].as_str().unwrap().to_string();
    let dept = app.create_department(&admin, "Louange").await;
    let base = format!("/api/v1/departments/{dept}/announcements");
    let list = format!("{base}?limit=100");
    let today = Utc::now().date_naive();
    let month = |n: u32| {
        (NaiveDate::from_ymd_opt(today.year(), today.month(), 1).unwrap() + Months::new(n))
            .format("%Y-%m")
            .to_string()
    };
    let remind =
        |m: String| format!("/api/v1/departments/{dept}/availabilities/missing/remind?month={m}");
    let post = Some(json!({"title": "Répétition", "body": "Samedi 10h"}));

    app.add_members_directly(&org, &dept, 0, 3).await;
    app.run_worker_until_idle().await;
    let (post_small, _) = statements(&app, "POST", &base, &admin.token, post.clone()).await;
    let (dispatch_small, told_small) = dispatch_statements(&app).await;
    assert_eq!(told_small, 3);
    let (list_small, page) = statements(&app, "GET", &list, &admin.token, None).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let (chase_small, out) = statements(&app, "POST", &remind(month(2)), &admin.token, None).await;
    assert_eq!(out["reminded"], 3);
    let (chase_dispatch_small, told) = dispatch_statements(&app).await;
    assert_eq!(told, 3);

    // Under 200: the dispatcher writes notifications 200 rows per INSERT (SQLite's
    // bound-parameter limit), so a fixed number of statements per 200 recipients.
    app.add_members_directly(&org, &dept, 3, 147).await;
    for _ in 0..30 {
        statements(&app, "POST", &base, &admin.token, post.clone()).await;
    }
    dispatch_statements(&app).await;
    let (post_large, _) = statements(&app, "POST", &base, &admin.token, post.clone()).await;
    let (dispatch_large, told_large) = dispatch_statements(&app).await;
    assert_eq!(told_large, 150);
    let (list_large, page) = statements(&app, "GET", &list, &admin.token, None).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 32);
    let (chase_large, out) = statements(&app, "POST", &remind(month(3)), &admin.token, None).await;
    assert_eq!(out["reminded"], 150);
    let (chase_dispatch_large, told) = dispatch_statements(&app).await;
    assert_eq!(told, 150);

    assert_eq!(post_small, post_large, "POST {base}");
    assert_eq!(
        dispatch_small, dispatch_large,
        "dispatching an announcement"
    );
    assert_eq!(list_small, list_large, "GET {list}");
    assert_eq!(chase_small, chase_large, "a manual chase");
    assert_eq!(
        chase_dispatch_small, chase_dispatch_large,
        "dispatching a chase"
    );
    eprintln!(
        "post {post_large}, dispatch {dispatch_large} (150 members), list {list_large} (32 items), \
         chase {chase_large} and its dispatch {chase_dispatch_large} (150 members)"
    );
    // The session check, the department with the caller's role, the page.
    assert_eq!(list_large, 3);
}
