//! Notification emails through the HTTP API, on SQLite and (CI's second pass) PostgreSQL:
//! each recipient's per-type preferences and language, the feature flag, a batch dispatched
//! twice mailing once, a refused address recorded and not written to again. (Mail waiting out
//! an SMTP server that is down: `crates/worker/tests/queue.rs`; the attempts of an email job
//! spanning more than an hour: the worker's unit tests.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{Datelike, Months, NaiveDate, Utc};
use kernel::mail::Email;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use testkit::FailureKind;
use testkit::{Signed, TestApp};

/// The notification emails sent to `who` (those with a notification's idempotency key; the
/// account emails, such as the address check at sign-up, have none).
fn to(app: &TestApp, who: &Signed) -> Vec<Email> {
    app.mailer
        .deliveries()
        .into_iter()
        .filter(|m| m.to.email == who.email && m.message_id.is_some())
        .collect()
}

async fn inbox_of(app: &TestApp, who: &Signed, kind: &str) -> Vec<Value> {
    let (s, page) = app
        .call("GET", "/api/v1/notifications", Some(&who.token), None)
        .await;
    assert_eq!(s, 200, "{page}");
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["type"] == kind)
        .cloned()
        .collect()
}

async fn set_prefs(app: &TestApp, who: &Signed, body: Value) {
    let (s, out) = app
        .call("PATCH", "/api/v1/users/me", Some(&who.token), Some(body))
        .await;
    assert_eq!(s, 200, "{out}");
}

fn first_of_month_ahead(n: u32) -> NaiveDate {
    let t = Utc::now().date_naive();
    NaiveDate::from_ymd_opt(t.year(), t.month(), 1).unwrap() + Months::new(n)
}

/// The member enters one blockout day in a month `n` months ahead: one
/// `availability.changed` event for the department's leaders.
async fn block_a_day(app: &TestApp, dept: &str, member: &Signed, n: u32, day: u32) {
    let m = first_of_month_ahead(n);
    let (s, out) = app
        .call(
            "PUT",
            &format!("/api/v1/departments/{dept}/members/me/availabilities"),
            Some(&member.token),
            Some(
                json!({"year": m.year(), "month": m.month(), "unavailableDates": [
                    {"date": m.with_day(day).unwrap().to_string(), "isAllDay": true}
                ]}),
            ),
        )
        .await;
    assert_eq!(s, 200, "{out}");
}

#[tokio::test]
async fn emails_follow_each_recipients_preferences_and_language_and_go_once() {
    let app = TestApp::spawn().await;
    let admin = app.sign_up("admin@example.org").await;
    app.create_church(&admin, "Lyon").await;
    let dept = app.create_department(&admin, "Louange").await;
    let fr = app
        .join_department(&admin, &dept, "fr@example.org", "member")
        .await;
    // The inviter hears of the accepted invitation by email too (on by default), in French.
    app.run_worker_until_idle().await;
    let accepted = inbox_of(&app, &admin, "invitation.accepted").await;
    assert_eq!(accepted.len(), 1);
    let mails = to(&app, &admin);
    assert_eq!(mails.len(), 1, "{mails:#?}");
    let title = accepted[0]["title"].as_str().unwrap();
    assert_eq!(mails[0].subject, format!("{title} – MonService"));
    assert!(mails[0].text.starts_with("Bonjour "), "{}", mails[0].text);
    assert!(
        mails[0]
            .text
            .contains(accepted[0]["body"].as_str().unwrap())
    );
    assert!(
        mails[0]
            .html
            .as_deref()
            .unwrap()
            .contains("Ouvrir dans MonService")
    );
    assert!(mails[0].message_id.is_some());

    // Blockout changes are in-app only unless the leader asks for them by email.
    block_a_day(&app, &dept, &fr, 3, 10).await;
    app.run_worker_until_idle().await;
    assert_eq!(
        inbox_of(&app, &admin, "availability.changed").await.len(),
        1
    );
    assert_eq!(to(&app, &admin).len(), 1);

    // The leader turns them on, in English.
    set_prefs(
        &app,
        &admin,
        json!({"locale": "en", "notificationPreferences": {"availability.changed": true}}),
    )
    .await;
    block_a_day(&app, &dept, &fr, 3, 11).await;
    app.run_worker_until_idle().await;
    let mails = to(&app, &admin);
    assert_eq!(mails.len(), 2, "{mails:#?}");
    let changed = &inbox_of(&app, &admin, "availability.changed").await[0];
    assert_eq!(
        mails[1].subject,
        format!("{} – MonService", changed["title"].as_str().unwrap())
    );
    assert!(mails[1].text.starts_with("Hello "), "{}", mails[1].text);
    let link = changed["link"].as_str().unwrap();
    assert!(link.starts_with("/en/"), "{link}");
    assert!(mails[1].text.contains(link), "{}", mails[1].text);
    assert!(mails[1].text.contains("/en/dashboard/profile"));

    // Every email off: the notification still arrives in the app.
    set_prefs(
        &app,
        &admin,
        json!({"notificationPreferences": {"email": false, "availability.changed": true}}),
    )
    .await;
    block_a_day(&app, &dept, &fr, 3, 12).await;
    app.run_worker_until_idle().await;
    assert_eq!(
        inbox_of(&app, &admin, "availability.changed").await.len(),
        3
    );
    assert_eq!(to(&app, &admin).len(), 2);

    // Dispatching every event again writes no notification and queues no email twice.
    app.ctx
        .db
        .conn
        .execute_unprepared("UPDATE outbox_events SET processed_at = NULL")
        .await
        .unwrap();
    set_prefs(
        &app,
        &admin,
        json!({"notificationPreferences": {"availability.changed": true}}),
    )
    .await;
    let again = app
        .ctx
        .notifications
        .dispatch(notifications::DISPATCH_BATCH, Utc::now())
        .await
        .unwrap();
    assert!(again.events >= 4, "{again:?}");
    // Only the first and third changes' emails, which the preferences had kept off then,
    // are queued now; the two already sent are not queued again.
    assert_eq!((again.notifications, again.emails), (0, 2), "{again:?}");
    app.run_worker_until_idle().await;
    assert_eq!(to(&app, &admin).len(), 4);
}

#[tokio::test]
async fn feature_flag_off_sends_no_notification_email() {
    let app = TestApp::spawn_with(&[("FEATURE_EMAIL_NOTIFICATIONS", "false")]).await;
    let admin = app.sign_up("admin@example.org").await;
    app.create_church(&admin, "Lyon").await;
    let dept = app.create_department(&admin, "Louange").await;
    app.join_department(&admin, &dept, "m@example.org", "member")
        .await;
    app.run_worker_until_idle().await;
    assert_eq!(inbox_of(&app, &admin, "invitation.accepted").await.len(), 1);
    assert!(to(&app, &admin).is_empty());
}

#[tokio::test]
async fn a_refused_address_is_recorded_and_not_written_to_again() {
    let app = TestApp::spawn().await;
    let admin = app.sign_up("admin@example.org").await;
    app.create_church(&admin, "Lyon").await;
    let dept = app.create_department(&admin, "Louange").await;
    let member = app
        .join_department(&admin, &dept, "m@example.org", "member")
        .await;
    set_prefs(
        &app,
        &admin,
        json!({"notificationPreferences": {"invitation.accepted": false, "availability.changed": true}}),
    )
    .await;
    app.run_worker_until_idle().await;
    let before = app.mailer.deliveries().len();

    // The only email queued is the leader's; the server refuses the address (550).
    block_a_day(&app, &dept, &member, 3, 10).await;
    app.mailer.fail_next(1, FailureKind::Refused);
    let stats = app.run_worker_until_idle().await;
    assert_eq!(stats.dead, 1, "{stats:?}");
    assert_eq!(app.mailer.deliveries().len(), before);
    let dead = app.ctx.jobs.dead(10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].kind, kernel::mail::SEND_EMAIL_JOB);
    assert_eq!(dead[0].attempts, 1, "not retried");
    assert!(
        store_sea::suppressions::is_suppressed(&app.ctx.db.conn, "ADMIN@example.org")
            .await
            .unwrap()
    );

    // The next change: in the app, and no email queued to that address.
    block_a_day(&app, &dept, &member, 3, 11).await;
    app.run_worker_until_idle().await;
    assert_eq!(
        inbox_of(&app, &admin, "availability.changed").await.len(),
        2
    );
    let counts = app.ctx.jobs.counts().await.unwrap();
    assert_eq!(counts.dead, 1);
    assert_eq!(app.mailer.deliveries().len(), before);
}

#[tokio::test]
async fn deleting_an_account_forgets_that_its_address_was_refused() {
    let app = TestApp::spawn().await;
    let who = app.sign_up("gone@example.org").await;
    let conn = &app.ctx.db.conn;
    store_sea::suppressions::record(conn, "gone@example.org", "550 No such user", Utc::now())
        .await
        .unwrap();
    assert!(
        store_sea::suppressions::is_suppressed(conn, "gone@example.org")
            .await
            .unwrap()
    );
    let res = app
        .client
        .delete(app.url("/api/v1/users/me"))
        .bearer_auth(&who.token)
        .json(&json!({"password": testkit::TEST_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert!(
        !store_sea::suppressions::is_suppressed(conn, "gone@example.org")
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn malformed_preferences_are_refused_and_change_nothing() {
    let app = TestApp::spawn().await;
    let who = app.sign_up("prefs@example.org").await;
    set_prefs(
        &app,
        &who,
        json!({"notificationPreferences": {"rota.published": false}}),
    )
    .await;
    let too_many: serde_json::Map<String, Value> =
        (0..51).map(|i| (format!("t{i}"), json!(true))).collect();
    // Values that are not booleans, or too many: the field is named. Not a map at all: the
    // body's type is wrong.
    for (bad, code) in [
        (json!({"rota.published": "no"}), "invalid"),
        (json!({"email": 0}), "invalid"),
        (Value::Object(too_many), "invalid"),
        (json!([true]), "invalid_type"),
        (json!("off"), "invalid_type"),
    ] {
        let (s, out) = app
            .call(
                "PATCH",
                "/api/v1/users/me",
                Some(&who.token),
                Some(json!({"notificationPreferences": bad, "firstName": "Changed"})),
            )
            .await;
        assert_eq!(s, 422, "{bad}: {out}");
        assert_eq!(out["errors"][0]["code"], code, "{bad}: {out}");
        if code == "invalid" {
            assert_eq!(
                out["errors"][0]["field"], "notificationPreferences",
                "{out}"
            );
        }
    }
    let (_, me) = app
        .call("GET", "/api/v1/users/me", Some(&who.token), None)
        .await;
    assert_eq!(
        me["notificationPreferences"],
        json!({"rota.published": false})
    );
    assert_ne!(me["firstName"], "Changed");
}
