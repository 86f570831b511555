//! The services store on SQLite and (with TEST_DATABASE_URL) PostgreSQL: a whole series goes
//! in with one statement, and every read and write is scoped by church and department. One
//! test function: the statement counter is process-wide.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use kernel::{DepartmentId, OrganizationId, SeriesId, UserId};
use schedule::{Changes, RequiredRole, ScheduleStore, Series};
use store_sea::{SeaSchedule, SeaTeams};
use teams::{Department, Organization, TeamStore};
use testkit::TestDb;

fn t0() -> DateTime<Utc> {
    Utc.timestamp_millis_opt(1_800_000_000_000).unwrap()
}

async fn church(
    teams: &SeaTeams,
    db: &store_sea::Db,
    slug: &str,
) -> (OrganizationId, DepartmentId) {
    use sea_orm::ConnectionTrait;
    let admin = UserId::new();
    db.conn
        .execute_raw(store_sea::jobs::stmt(
            db.conn.get_database_backend(),
            "INSERT INTO users (id, email, first_name, last_name, locale, is_email_verified, \
             is_active, role, notification_prefs, created_at, updated_at) \
             VALUES (?, ?, 'A', 'B', 'fr', ?, ?, 'member', '{}', 0, 0)",
            vec![
                admin.as_uuid().into(),
                format!("admin@{slug}.test").into(),
                true.into(),
                true.into(),
            ],
        ))
        .await
        .unwrap();
    let org = Organization {
        id: OrganizationId::new(),
        name: slug.into(),
        slug: slug.into(),
        timezone: "Europe/Paris".into(),
        created_at: t0(),
        updated_at: t0(),
    };
    teams.create_organization(&org, admin).await.unwrap();
    let dept = Department {
        id: DepartmentId::new(),
        organization_id: org.id,
        name: "Louange".into(),
        description: None,
        availability_deadline_days: 7,
        reminder_hours_before: 24,
        archived_at: None,
        created_at: t0(),
        updated_at: t0(),
    };
    teams.create_department(&dept).await.unwrap();
    (org.id, dept.id)
}

fn series(dept: DepartmentId) -> Series {
    Series {
        id: SeriesId::new(),
        department: dept,
        rrule: "FREQ=DAILY;COUNT=366".into(),
        dtstart: NaiveDate::from_ymd_opt(2030, 1, 1).unwrap(),
        name: "Culte".into(),
        service_type: "Culte".into(),
        start: NaiveTime::from_hms_opt(10, 0, 0).unwrap(),
        end: NaiveTime::from_hms_opt(12, 0, 0).unwrap(),
        location: Some("Salle".into()),
        notes: None,
        required_roles: vec![RequiredRole::new("Chant", 2)],
    }
}

#[tokio::test]
async fn series_go_in_whole_and_every_statement_is_scoped() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    let teams = SeaTeams::new(db.conn.clone(), kv::Wakeup::in_process());
    let store = SeaSchedule::new(db.conn.clone(), kv::Wakeup::in_process());
    let (a, dept_a) = church(&teams, &db, "a").await;
    let (b, dept_b) = church(&teams, &db, "b").await;
    let s = series(dept_a);
    let services: Vec<_> = (0..366)
        .map(|k| s.occurrence(s.dtstart + Duration::days(k)))
        .collect();

    // The series, 366 services and one event: three statements.
    let before = store_sea::statements_sent();
    store
        .insert(
            a,
            Some(&s),
            &services,
            &[kernel::DomainEvent::new(a, "service.created")],
            UserId::new(),
            t0(),
        )
        .await
        .unwrap();
    assert_eq!(store_sea::statements_sent() - before, 3);

    let first = s.dtstart;
    let last = first + Duration::days(365);
    let all = store
        .department_services(a, dept_a, first, last)
        .await
        .unwrap();
    assert_eq!(all.len(), 366);
    assert_eq!(all[0], {
        let mut x = services[0].clone();
        x.rrule = Some(s.rrule.clone());
        x
    });
    assert_eq!(
        store.services_between(a, first, last).await.unwrap().len(),
        366
    );
    let month = availability::Month::new(2030, 2).unwrap();
    assert_eq!(
        store
            .services_in_month(a, dept_a, month)
            .await
            .unwrap()
            .len(),
        28
    );

    // Church B, with A's ids, sees and changes nothing.
    let id = services[0].id;
    assert!(
        store
            .department_services(b, dept_a, first, last)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .services_between(b, first, last)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.service(b, dept_a, id).await.unwrap(), None);
    assert_eq!(store.service(b, dept_b, id).await.unwrap(), None);
    assert!(
        store
            .series_services(b, dept_a, s.id)
            .await
            .unwrap()
            .is_empty()
    );
    // Nor does another department of the same church.
    assert_eq!(store.service(a, dept_b, id).await.unwrap(), None);
    let rename = Changes {
        name: Some("Piraté".into()),
        ..Default::default()
    };
    let ids: Vec<_> = services.iter().map(|s| s.id).collect();
    for (org, dept) in [(b, dept_a), (b, dept_b), (a, dept_b)] {
        assert_eq!(
            store
                .update(org, dept, &ids, &rename, true, Some(s.id), &[], t0())
                .await
                .unwrap(),
            0
        );
        assert_eq!(
            store
                .delete(org, dept, &ids, Some(s.id), &[], t0())
                .await
                .unwrap(),
            0
        );
    }
    let again = store.series_services(a, dept_a, s.id).await.unwrap();
    assert_eq!(again.len(), 366);
    assert!(again.iter().all(|x| x.name == "Culte" && !x.is_exception));

    // A change that misses one of its services writes nothing.
    let mut some: Vec<_> = ids[..3].to_vec();
    some.push(kernel::ServiceId::new());
    assert_eq!(
        store
            .update(a, dept_a, &some, &rename, false, Some(s.id), &[], t0())
            .await
            .unwrap(),
        3
    );
    assert_eq!(
        store
            .service(a, dept_a, ids[0])
            .await
            .unwrap()
            .unwrap()
            .name,
        "Culte"
    );
    assert_eq!(
        store
            .delete(a, dept_a, &some, None, &[], t0())
            .await
            .unwrap(),
        3
    );
    assert!(store.service(a, dept_a, ids[0]).await.unwrap().is_some());

    // The right scope: all 366 in one go, then the series goes with its last service.
    assert_eq!(
        store
            .update(a, dept_a, &ids, &rename, false, Some(s.id), &[], t0())
            .await
            .unwrap(),
        366
    );
    assert_eq!(
        store
            .service(a, dept_a, ids[365])
            .await
            .unwrap()
            .unwrap()
            .name,
        "Piraté"
    );
    assert_eq!(
        store
            .delete(a, dept_a, &ids, Some(s.id), &[], t0())
            .await
            .unwrap(),
        366
    );
    assert!(
        store
            .series_services(a, dept_a, s.id)
            .await
            .unwrap()
            .is_empty()
    );
}
