//! Reminders before each service through the HTTP API, on SQLite and (CI's second pass)
//! PostgreSQL: the member of a published rota hears once, `reminderHoursBefore` before the
//! service's start in the church's time zone, with time, place and role; a declined
//! assignment, a draft rota or a service beyond the notice do not; a new notice or a moved
//! service reschedules; concurrent workers and a run that failed halfway double nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{Datelike, Days, NaiveDate, Utc};
use chrono_tz::Tz;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use testkit::{Signed, TestApp};

const TZ: &str = "America/New_York";

/// Today in the church's zone.
fn local_today() -> NaiveDate {
    let tz: Tz = TZ.parse().unwrap();
    Utc::now().with_timezone(&tz).date_naive()
}

struct Church {
    admin: Signed,
    dept: String,
    members: Vec<Signed>,
    /// Month (`YYYY-MM`) → (planning id, version).
    plannings: HashMap<String, (String, i64)>,
}

async fn church(app: &TestApp, n: usize) -> Church {
    let admin = app.sign_up("admin@example.org").await;
    let (s, org) = app
        .call(
            "POST",
            "/api/v1/organizations",
            Some(&admin.token),
            Some(json!({"name": "Brooklyn", "timezone": TZ})),
        )
        .await;
    assert_eq!(s, 201, "{org}");
    assert_eq!(org["timezone"], TZ);
    let dept = app.create_department(&admin, "Louange").await;
    let mut members = Vec::new();
    for i in 0..n {
        let m = app
            .join_department(&admin, &dept, &format!("m{i}@example.org"), "member")
            .await;
        let (s, out) = app
            .call(
                "PATCH",
                &format!("/api/v1/departments/{dept}/members/{}", m.user_id),
                Some(&admin.token),
                Some(json!({"skills": ["vocals", "bass"]})),
            )
            .await;
        assert_eq!(s, 200, "{out}");
        members.push(m);
    }
    Church {
        admin,
        dept,
        members,
        plannings: HashMap::new(),
    }
}

async fn set_notice(app: &TestApp, c: &Church, hours: i64) {
    let (s, out) = app
        .call(
            "PATCH",
            &format!("/api/v1/departments/{}", c.dept),
            Some(&c.admin.token),
            Some(json!({"reminderHoursBefore": hours})),
        )
        .await;
    assert_eq!(s, 200, "{out}");
    assert_eq!(out["reminderHoursBefore"], hours);
}

async fn service(
    app: &TestApp,
    c: &Church,
    name: &str,
    day: NaiveDate,
    start: &str,
    location: Option<&str>,
) -> String {
    let (s, out) = app
        .call(
            "POST",
            &format!("/api/v1/departments/{}/services", c.dept),
            Some(&c.admin.token),
            Some(
                json!({"name": name, "serviceType": "sunday", "date": day.to_string(),
                "startTime": start, "endTime": "23:00", "location": location,
                "requiredRoles": [{"role": "vocals", "count": 3}, {"role": "bass", "count": 1}]}),
            ),
        )
        .await;
    assert_eq!(s, 201, "{out}");
    out["id"].as_str().unwrap().to_string()
}

/// The rota of `day`'s month, created on first use.
async fn planning(app: &TestApp, c: &mut Church, day: NaiveDate) -> String {
    let month = format!("{}-{:02}", day.year(), day.month());
    if let Some((id, _)) = c.plannings.get(&month) {
        return id.clone();
    }
    let (s, p) = app
        .call(
            "POST",
            &format!("/api/v1/departments/{}/plannings", c.dept),
            Some(&c.admin.token),
            Some(json!({"year": day.year(), "month": day.month()})),
        )
        .await;
    assert_eq!(s, 201, "{p}");
    let id = p["id"].as_str().unwrap().to_string();
    c.plannings
        .insert(month, (id.clone(), p["version"].as_i64().unwrap()));
    id
}

async fn assign(
    app: &TestApp,
    c: &mut Church,
    day: NaiveDate,
    service: &str,
    who: usize,
    role: &str,
) -> String {
    let id = planning(app, c, day).await;
    let month = format!("{}-{:02}", day.year(), day.month());
    let version = c.plannings[&month].1;
    let (s, out) = app
        .call(
            "POST",
            &format!("/api/v1/plannings/{id}/assignments"),
            Some(&c.admin.token),
            Some(
                json!({"serviceId": service, "userId": c.members[who].user_id,
                "role": role, "force": true, "version": version}),
            ),
        )
        .await;
    assert_eq!(s, 201, "{out}");
    c.plannings.get_mut(&month).unwrap().1 = out["planning"]["version"].as_i64().unwrap();
    out["assignment"]["id"].as_str().unwrap().to_string()
}

async fn publish_all(app: &TestApp, c: &mut Church) {
    for (id, version) in c.plannings.values_mut() {
        let (s, out) = app
            .call(
                "POST",
                &format!("/api/v1/plannings/{id}/publish"),
                Some(&c.admin.token),
                Some(json!({"version": version})),
            )
            .await;
        assert_eq!(s, 200, "{out}");
        *version = out["version"].as_i64().unwrap_or(*version + 1);
    }
}

/// The `service.reminder` notifications of `who`, newest first.
async fn reminders(app: &TestApp, who: &Signed) -> Vec<Value> {
    let (s, page) = app
        .call(
            "GET",
            "/api/v1/notifications?limit=100",
            Some(&who.token),
            None,
        )
        .await;
    assert_eq!(s, 200, "{page}");
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["type"] == "service.reminder")
        .cloned()
        .collect()
}

fn of_service<'a>(list: &'a [Value], service: &str) -> Vec<&'a Value> {
    list.iter()
        .filter(|n| n["data"]["serviceId"] == service)
        .collect()
}

async fn ledger_rows(app: &TestApp) -> i64 {
    let db = app.db.connect().await;
    let row = db
        .conn
        .query_one_raw(sea_orm::Statement::from_string(
            db.conn.get_database_backend(),
            "SELECT COUNT(*) AS n FROM service_reminders",
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

/// Enqueues the minute's scheduled run, as a running worker does (once per minute: a later
/// call in the same minute enqueues nothing), and a run of the reminders of its own, then
/// drains the queue.
async fn tick(app: &TestApp) {
    let w = app.worker();
    w.enqueue_due_schedules().await.unwrap();
    app.ctx
        .enqueue(store_sea::NewJob::now(
            notifications::REMINDERS_JOB,
            Value::Null,
            Utc::now(),
        ))
        .await
        .unwrap();
    w.run_until_idle().await.unwrap();
}

#[tokio::test]
async fn each_assigned_member_is_reminded_once_per_schedule() {
    let app = TestApp::spawn().await;
    let mut c = church(&app, 3).await;
    // m1 reads English.
    let (s, out) = app
        .call(
            "PATCH",
            "/api/v1/users/me",
            Some(&c.members[1].token),
            Some(json!({"locale": "en"})),
        )
        .await;
    assert_eq!(s, 200, "{out}");
    set_notice(&app, &c, 48).await;
    let tomorrow = local_today() + Days::new(1);
    let later = local_today() + Days::new(5);
    let culte = service(&app, &c, "Culte", tomorrow, "10:00", Some("Grande salle")).await;
    let rehearsal = service(&app, &c, "Répétition", later, "19:00", None).await;
    for who in 0..3 {
        assign(&app, &mut c, tomorrow, &culte, who, "vocals").await;
    }
    assign(&app, &mut c, later, &rehearsal, 0, "bass").await;

    // A draft rota reminds nobody, even when the reminders run.
    tick(&app).await;
    for m in &c.members {
        assert!(reminders(&app, m).await.is_empty());
    }
    assert_eq!(ledger_rows(&app).await, 0);
    // The worker's schedule runs them every minute.
    let db = app.db.connect().await;
    let row = db
        .conn
        .query_one_raw(sea_orm::Statement::from_string(
            db.conn.get_database_backend(),
            "SELECT COUNT(*) AS n FROM jobs WHERE kind = 'notifications.reminders' \
             AND dedupe_key LIKE 'schedule:service-reminders:%' AND status = 'done'",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get::<i64>("", "n").unwrap(), 1);

    publish_all(&app, &mut c).await;
    // m2 declines before the reminders run.
    let (_, mine) = app
        .call(
            "GET",
            "/api/v1/me/assignments",
            Some(&c.members[2].token),
            None,
        )
        .await;
    let (s, out) = app
        .call(
            "POST",
            &format!(
                "/api/v1/me/assignments/{}/decline",
                mine[0]["id"].as_str().unwrap()
            ),
            Some(&c.members[2].token),
            Some(json!({"reason": "Malade"})),
        )
        .await;
    assert_eq!(s, 200, "{out}");
    // Publishing enqueued the reminders at once: no tick needed. The service starts within 48
    // hours, so its reminder is due now; the rehearsal, 5 days ahead, is not.
    app.run_worker_until_idle().await;
    let m0 = reminders(&app, &c.members[0]).await;
    assert_eq!(m0.len(), 1, "{m0:#?}");
    let n = &m0[0];
    assert_eq!(n["data"]["serviceId"], culte.as_str());
    assert!(n["data"]["assignmentId"].is_string());
    assert_eq!(n["data"]["hoursBefore"], 48);
    assert_eq!(n["data"]["departmentId"], c.dept.as_str());
    let fr_day = tomorrow.format("%d/%m/%Y").to_string();
    assert_eq!(n["title"], format!("Rappel : Culte le {fr_day} à 10:00"));
    assert_eq!(
        n["body"],
        format!("Louange : Culte le {fr_day}, 10:00–23:00, lieu : Grande salle. Rôle : vocals.")
    );
    let (id0, _) = &c.plannings[&format!("{}-{:02}", tomorrow.year(), tomorrow.month())];
    assert_eq!(n["link"], format!("/fr/dashboard/plannings/{id0}"));
    let m1 = reminders(&app, &c.members[1]).await;
    assert_eq!(m1.len(), 1, "{m1:#?}");
    let body = m1[0]["body"].as_str().unwrap();
    assert!(
        body.contains("10:00–23:00, at Grande salle. Role: vocals."),
        "{body}"
    );
    assert!(reminders(&app, &c.members[2]).await.is_empty(), "declined");
    // And one email each (reminders are emailed by default).
    let mails = |to: &str| {
        app.mailer
            .deliveries()
            .into_iter()
            .filter(|m| m.to.email == to && m.subject.contains("Culte"))
            .count()
    };
    assert_eq!(mails("m0@example.org"), 1);
    assert_eq!(mails("m2@example.org"), 0);

    // Again, and on the minute's tick: still one each.
    tick(&app).await;
    app.run_worker_until_idle().await;
    assert_eq!(reminders(&app, &c.members[0]).await.len(), 1);
    assert_eq!(reminders(&app, &c.members[1]).await.len(), 1);
    assert_eq!(ledger_rows(&app).await, 2);
    assert_eq!(mails("m0@example.org"), 1);

    // A longer notice (72 h) is a new schedule, due at once; two workers and two direct runs
    // at the same time record it once.
    set_notice(&app, &c, 72).await;
    app.ctx
        .enqueue(store_sea::NewJob::now(
            notifications::REMINDERS_JOB,
            Value::Null,
            Utc::now(),
        ))
        .await
        .unwrap();
    let (w1, w2) = (app.worker(), app.worker());
    let store = app.ctx.notifications.store();
    let (a, b, r1, r2) = tokio::join!(
        w1.run_until_idle(),
        w2.run_until_idle(),
        notifications::reminders::run(store, Utc::now()),
        notifications::reminders::run(store, Utc::now()),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.dead + b.dead, 0, "{a:?} {b:?}");
    // Whoever ran first recorded both; nobody recorded more.
    let recorded = r1.unwrap().recorded + r2.unwrap().recorded;
    assert!(recorded <= 2, "{recorded}");
    app.run_worker_until_idle().await;
    for who in [0, 1] {
        let list = reminders(&app, &c.members[who]).await;
        assert_eq!(of_service(&list, &culte).len(), 2, "{list:#?}");
        assert_eq!(list[0]["data"]["hoursBefore"], 72);
    }
    assert!(of_service(&reminders(&app, &c.members[0]).await, &rehearsal).is_empty());

    // The service moves to 11:00: a new schedule, reminded with the new time.
    let (s, out) = app
        .call(
            "PATCH",
            &format!("/api/v1/departments/{}/services/{culte}", c.dept),
            Some(&c.admin.token),
            Some(json!({"startTime": "11:00"})),
        )
        .await;
    assert_eq!(s, 200, "{out}");
    app.run_worker_until_idle().await;
    let m0 = reminders(&app, &c.members[0]).await;
    let culte0 = of_service(&m0, &culte);
    assert_eq!(culte0.len(), 3, "{m0:#?}");
    assert!(
        culte0[0]["title"].as_str().unwrap().ends_with("à 11:00"),
        "{}",
        culte0[0]["title"]
    );
    assert!(reminders(&app, &c.members[2]).await.is_empty(), "declined");

    // A week's notice brings the rehearsal (5 days ahead) into its window.
    set_notice(&app, &c, 168).await;
    app.run_worker_until_idle().await;
    let m0 = reminders(&app, &c.members[0]).await;
    let reh = of_service(&m0, &rehearsal);
    assert_eq!(reh.len(), 1, "{m0:#?}");
    assert!(reh[0]["body"].as_str().unwrap().contains("Rôle : bass."));
    assert!(!reh[0]["body"].as_str().unwrap().contains("lieu"));
    // Nothing more on later runs.
    tick(&app).await;
    assert_eq!(reminders(&app, &c.members[0]).await.len(), m0.len());
}

#[tokio::test]
async fn a_service_beyond_the_notice_waits_and_a_failed_run_doubles_nothing() {
    let app = TestApp::spawn().await;
    let mut c = church(&app, 2).await;
    // 24 hours' notice (the default), a service three days ahead: not yet.
    let day = local_today() + Days::new(3);
    let svc = service(&app, &c, "Culte", day, "10:00", None).await;
    let assignment = assign(&app, &mut c, day, &svc, 0, "vocals").await;
    publish_all(&app, &mut c).await;
    app.run_worker_until_idle().await;
    tick(&app).await;
    assert!(reminders(&app, &c.members[0]).await.is_empty());
    assert_eq!(ledger_rows(&app).await, 0);

    // The outbox refuses the reminder's event: the run fails, and its ledger rows go with it.
    let db = app.db.connect().await;
    let pg = app.db.is_postgres();
    if pg {
        db.conn
            .execute_unprepared(
                "CREATE FUNCTION refuse_reminders() RETURNS trigger AS $$ BEGIN \
                 IF NEW.kind = 'service.reminder' THEN RAISE EXCEPTION 'outbox down'; END IF; \
                 RETURN NEW; END $$ LANGUAGE plpgsql; \
                 CREATE TRIGGER refuse_reminders BEFORE INSERT ON outbox_events \
                 FOR EACH ROW EXECUTE FUNCTION refuse_reminders();",
            )
            .await
            .unwrap();
    } else {
        db.conn
            .execute_unprepared(
                "CREATE TRIGGER refuse_reminders BEFORE INSERT ON outbox_events \
                 WHEN NEW.kind = 'service.reminder' \
                 BEGIN SELECT RAISE(ABORT, 'outbox down'); END;",
            )
            .await
            .unwrap();
    }
    set_notice(&app, &c, 168).await;
    let stats = app.run_worker_until_idle().await;
    assert_eq!(stats.retried, 1, "{stats:?}");
    assert_eq!(
        ledger_rows(&app).await,
        0,
        "the failed transaction left no row"
    );
    assert!(reminders(&app, &c.members[0]).await.is_empty());

    // The outbox is back: the next run records the reminder once.
    db.conn
        .execute_unprepared(if pg {
            "DROP TRIGGER refuse_reminders ON outbox_events; DROP FUNCTION refuse_reminders();"
        } else {
            "DROP TRIGGER refuse_reminders"
        })
        .await
        .unwrap();
    tick(&app).await;
    let list = reminders(&app, &c.members[0]).await;
    assert_eq!(list.len(), 1, "{list:#?}");
    assert_eq!(list[0]["data"]["hoursBefore"], 168);
    assert_eq!(ledger_rows(&app).await, 1);

    // A worker that dies after the commit and is run again, or a dispatch delivered twice,
    // write nothing more.
    let again = notifications::reminders::run(app.ctx.notifications.store(), Utc::now())
        .await
        .unwrap();
    assert_eq!((again.due, again.recorded), (0, 0), "{again:?}");
    db.conn
        .execute_unprepared("UPDATE outbox_events SET processed_at = NULL")
        .await
        .unwrap();
    app.ctx
        .notifications
        .dispatch(notifications::DISPATCH_BATCH, Utc::now())
        .await
        .unwrap();
    assert_eq!(reminders(&app, &c.members[0]).await.len(), 1);
    assert_eq!(ledger_rows(&app).await, 1);

    // m1 replaces m0 on the same assignment: m1 is reminded, m0 not again.
    let planning = planning(&app, &mut c, day).await;
    let (s, p) = app
        .call(
            "GET",
            &format!("/api/v1/plannings/{planning}"),
            Some(&c.admin.token),
            None,
        )
        .await;
    assert_eq!(s, 200, "{p}");
    let (s, out) = app
        .call(
            "PATCH",
            &format!("/api/v1/plannings/{planning}/assignments/{assignment}"),
            Some(&c.admin.token),
            Some(json!({"userId": c.members[1].user_id, "force": true, "version": p["version"]})),
        )
        .await;
    assert_eq!(s, 200, "{out}");
    assert_eq!(out["assignment"]["id"], assignment.as_str());
    app.run_worker_until_idle().await;
    let list = reminders(&app, &c.members[1]).await;
    assert_eq!(list.len(), 1, "{list:#?}");
    assert_eq!(list[0]["data"]["assignmentId"], assignment.as_str());
    assert_eq!(reminders(&app, &c.members[0]).await.len(), 1);
    tick(&app).await;
    assert_eq!(reminders(&app, &c.members[1]).await.len(), 1);
    assert_eq!(ledger_rows(&app).await, 2);
}

#[tokio::test]
async fn a_worker_killed_while_sending_a_reminder_loses_nothing_and_resends_the_same_message() {
    let app = TestApp::spawn().await;
    let mut c = church(&app, 1).await;
    // Published three days ahead with 24 hours' notice: nothing due yet. Its emails go out.
    let day = local_today() + Days::new(3);
    let svc = service(&app, &c, "Culte", day, "10:00", None).await;
    assign(&app, &mut c, day, &svc, 0, "vocals").await;
    publish_all(&app, &mut c).await;
    app.run_worker_until_idle().await;
    app.mailer.clear();

    // A week's notice makes it due. Worker A records and dispatches the reminder, hands its
    // email to the mail server, and is killed before it can record the job done.
    set_notice(&app, &c, 168).await;
    let killed = worker::Worker::with_standard_handlers(worker::Worker::builder(app.ctx.clone()))
        .unwrap()
        .handler(
            worker::SEND_EMAIL,
            Duration::from_secs(3600),
            |ctx: app::AppContext, job: store_sea::ClaimedJob| async move {
                let email: kernel::mail::Email = serde_json::from_value(job.payload).unwrap();
                kernel::mail::Mailer::send(&ctx.mailer, &email)
                    .await
                    .unwrap();
                // Killed here: the job stays claimed until its lease runs out.
                std::future::pending::<()>().await;
                Ok(())
            },
        )
        .build();
    let a = tokio::spawn(async move { killed.run_until_idle().await });
    let sent = tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            let sent = app.mailer.deliveries();
            if !sent.is_empty() {
                return sent;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("worker A sends the reminder email");
    a.abort();
    assert_eq!(sent.len(), 1, "{sent:#?}");
    assert_eq!(sent[0].to.email, c.members[0].email);

    // While A's lease runs, another worker finds nothing to do; once it has run out, the
    // email goes out again, with the same Message-ID (the receiving side's idempotency key).
    let stats = app.run_worker_until_idle().await;
    assert_eq!(app.mailer.deliveries().len(), 1, "{stats:?}");
    let clock = kernel::clock::FixedClock::at(Utc::now() + chrono::Duration::hours(2));
    app.worker_at(Arc::new(clock))
        .run_until_idle()
        .await
        .unwrap();
    let again = app.mailer.deliveries();
    assert_eq!(again.len(), 2, "{again:#?}");
    assert_eq!(again[1].to.email, c.members[0].email);
    assert!(again[0].message_id.is_some());
    assert_eq!(again[1].message_id, again[0].message_id);
    assert_eq!(again[1].subject, again[0].subject);
    // One reminder, in the ledger and in the inbox.
    assert_eq!(reminders(&app, &c.members[0]).await.len(), 1);
    assert_eq!(ledger_rows(&app).await, 1);
}
