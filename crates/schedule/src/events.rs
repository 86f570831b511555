//! The domain events services record, in the transaction of the change, for whoever acts on
//! them later (reminders are rescheduled from them). One event per operation, naming every
//! service it touched.
//!
//! * `service.created` — `{departmentId, seriesId, serviceIds, services: [{serviceId, date,
//!   startTime, endTime}]}`
//! * `service.updated` — `{departmentId, seriesId, scope, changed: ["startTime", …],
//!   serviceIds, services: [{serviceId, old: {date, startTime, endTime}, new: {…}}]}`
//! * `service.deleted` — `{departmentId, seriesId, scope, serviceIds, services: [{serviceId,
//!   date, startTime, endTime}]}`
//!
//! Dates are `YYYY-MM-DD` and times `HH:MM`, local to the church.

use kernel::{DepartmentId, DomainEvent, OrganizationId, SeriesId, UserId};
use serde_json::{Value, json};

use crate::model::{Scope, Service};

pub const SERVICE_CREATED: &str = "service.created";
pub const SERVICE_UPDATED: &str = "service.updated";
pub const SERVICE_DELETED: &str = "service.deleted";

fn when(s: &Service) -> Value {
    json!({
        "date": s.date.format("%Y-%m-%d").to_string(),
        "startTime": s.start.format("%H:%M").to_string(),
        "endTime": s.end.format("%H:%M").to_string(),
    })
}

fn with_id(s: &Service) -> Value {
    let mut v = when(s);
    if let Some(o) = v.as_object_mut() {
        o.insert("serviceId".into(), s.id.to_string().into());
    }
    v
}

fn ids<'a>(list: impl Iterator<Item = &'a Service>) -> Value {
    list.map(|s| Value::from(s.id.to_string())).collect()
}

fn event(
    org: OrganizationId,
    kind: &str,
    actor: UserId,
    dept: DepartmentId,
    payload: Value,
) -> DomainEvent {
    DomainEvent::new(org, kind)
        .department(dept)
        .actor(actor)
        .payload(payload)
}

/// Services were created (one, or a series' occurrences).
pub fn created(
    org: OrganizationId,
    actor: UserId,
    dept: DepartmentId,
    series: Option<SeriesId>,
    services: &[Service],
) -> DomainEvent {
    event(
        org,
        SERVICE_CREATED,
        actor,
        dept,
        json!({
            "departmentId": dept.to_string(),
            "seriesId": series.map(|s| s.to_string()),
            "serviceIds": ids(services.iter()),
            "services": services.iter().map(with_id).collect::<Vec<_>>(),
        }),
    )
}

/// Services were changed; `pairs` is `(before, after)` for each.
pub fn updated(
    org: OrganizationId,
    actor: UserId,
    dept: DepartmentId,
    scope: Scope,
    changed: &[&str],
    pairs: &[(Service, Service)],
) -> DomainEvent {
    let series = pairs.first().and_then(|(b, _)| b.series);
    event(
        org,
        SERVICE_UPDATED,
        actor,
        dept,
        json!({
            "departmentId": dept.to_string(),
            "seriesId": series.map(|s| s.to_string()),
            "scope": scope.as_str(),
            "changed": changed,
            "serviceIds": ids(pairs.iter().map(|(b, _)| b)),
            "services": pairs
                .iter()
                .map(|(b, a)| json!({"serviceId": b.id.to_string(), "old": when(b), "new": when(a)}))
                .collect::<Vec<_>>(),
        }),
    )
}

/// Services were deleted.
pub fn deleted(
    org: OrganizationId,
    actor: UserId,
    dept: DepartmentId,
    scope: Scope,
    services: &[Service],
) -> DomainEvent {
    let series = services.first().and_then(|s| s.series);
    event(
        org,
        SERVICE_DELETED,
        actor,
        dept,
        json!({
            "departmentId": dept.to_string(),
            "seriesId": series.map(|s| s.to_string()),
            "scope": scope.as_str(),
            "serviceIds": ids(services.iter()),
            "services": services.iter().map(with_id).collect::<Vec<_>>(),
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, NaiveTime};
    use kernel::ServiceId;

    fn service() -> Service {
        Service {
            id: ServiceId::new(),
            department: DepartmentId::new(),
            series: Some(SeriesId::new()),
            is_exception: false,
            name: "Culte".into(),
            service_type: String::new(),
            date: NaiveDate::from_ymd_opt(2030, 1, 6).unwrap(),
            start: NaiveTime::from_hms_opt(10, 0, 0).unwrap(),
            end: NaiveTime::from_hms_opt(12, 0, 0).unwrap(),
            location: None,
            notes: None,
            required_roles: vec![],
            rrule: None,
        }
    }

    #[test]
    fn payloads_name_the_services_and_what_moved() {
        let org = OrganizationId::new();
        let actor = UserId::new();
        let before = service();
        let dept = before.department;
        let mut after = before.clone();
        after.start = NaiveTime::from_hms_opt(9, 30, 0).unwrap();
        let e = updated(
            org,
            actor,
            dept,
            Scope::Following,
            &["startTime"],
            &[(before.clone(), after)],
        );
        assert_eq!(e.kind, SERVICE_UPDATED);
        assert_eq!(e.department, Some(dept));
        assert_eq!(e.actor, Some(actor));
        assert_eq!(e.payload["scope"], "following");
        assert_eq!(e.payload["changed"], json!(["startTime"]));
        assert_eq!(e.payload["serviceIds"], json!([before.id.to_string()]));
        let s = &e.payload["services"][0];
        assert_eq!(s["old"]["startTime"], "10:00");
        assert_eq!(s["new"]["startTime"], "09:30");
        assert_eq!(s["new"]["date"], "2030-01-06");
        assert_eq!(
            e.payload["seriesId"],
            before.series.unwrap().to_string().as_str()
        );

        let c = created(org, actor, dept, None, std::slice::from_ref(&before));
        assert_eq!(c.kind, SERVICE_CREATED);
        assert_eq!(c.payload["seriesId"], Value::Null);
        assert_eq!(c.payload["services"][0]["endTime"], "12:00");
        let d = deleted(org, actor, dept, Scope::All, &[before]);
        assert_eq!(d.kind, SERVICE_DELETED);
        assert_eq!(d.payload["services"][0]["date"], "2030-01-06");
    }
}
