//! The events the rota records in the outbox (the notifications capability delivers them).

use crate::model::{Assignment, MonthData, Planning};
use kernel::{DomainEvent, UserId};
use serde_json::json;

/// To each assigned member when a rota is published.
pub const PUBLISHED: &str = "rota.published";
/// To the department when a published rota goes back to draft.
pub const UNPUBLISHED: &str = "rota.unpublished";
/// To a member added to a published rota.
pub const ASSIGNMENT_ADDED: &str = "assignment.added";
/// To a member whose assignment on a published rota changed (service, role).
pub const ASSIGNMENT_CHANGED: &str = "assignment.changed";
/// To a member taken off a published rota.
pub const ASSIGNMENT_REMOVED: &str = "assignment.removed";
/// To the leaders: a member confirmed.
pub const ASSIGNMENT_CONFIRMED: &str = "assignment.confirmed";
/// To the leaders: a member declined, with their reason.
pub const ASSIGNMENT_DECLINED: &str = "assignment.declined";
/// To the leaders: a member on a published rota left or was removed from the department.
pub const MEMBER_LEFT: &str = "rota.member_left";

fn base(p: &Planning, kind: &str, actor: UserId) -> DomainEvent {
    DomainEvent::new(p.organization, kind)
        .department(p.department)
        .actor(actor)
}

/// The public description of one assignment in an event.
pub fn describe(data: &MonthData, a: &Assignment) -> serde_json::Value {
    let svc = data.service(a.service);
    json!({
        "assignmentId": a.id,
        "serviceId": a.service,
        "serviceName": svc.map(|s| s.name.clone()),
        "date": svc.map(|s| s.date.to_string()),
        "startTime": svc.map(|s| s.start.format("%H:%M").to_string()),
        "endTime": svc.map(|s| s.end.format("%H:%M").to_string()),
        "location": svc.and_then(|s| s.location.clone()),
        "role": a.role,
    })
}

/// One event per assigned member (declined assignments excluded), with their assignments.
pub fn published(data: &MonthData, actor: UserId) -> Vec<DomainEvent> {
    let p = &data.planning;
    let mut by_user: Vec<(UserId, Vec<serde_json::Value>)> = Vec::new();
    for a in data.assignments.iter().filter(|a| a.holds_slot()) {
        let d = describe(data, a);
        match by_user.iter_mut().find(|(u, _)| *u == a.user) {
            Some((_, list)) => list.push(d),
            None => by_user.push((a.user, vec![d])),
        }
    }
    by_user
        .into_iter()
        .map(|(user, list)| {
            base(p, PUBLISHED, actor).user(user).payload(json!({
                "planningId": p.id,
                "departmentName": data.department_name,
                "month": format!("{:04}-{:02}", p.month.year(), p.month.month()),
                "assignments": list,
            }))
        })
        .collect()
}

pub fn unpublished(data: &MonthData, actor: UserId) -> DomainEvent {
    let p = &data.planning;
    base(p, UNPUBLISHED, actor).payload(json!({
        "planningId": p.id,
        "departmentName": data.department_name,
        "month": format!("{:04}-{:02}", p.month.year(), p.month.month()),
    }))
}

/// An event about one assignment of a published rota.
pub fn about(
    data: &MonthData,
    kind: &str,
    actor: UserId,
    a: &Assignment,
    extra: serde_json::Value,
) -> DomainEvent {
    let mut payload = describe(data, a);
    if let (Some(p), Some(extra)) = (payload.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            p.insert(k.clone(), v.clone());
        }
        p.insert("planningId".into(), json!(data.planning.id));
        p.insert("departmentName".into(), json!(data.department_name));
        p.insert("memberName".into(), json!(data.name_of(a.user)));
    }
    base(&data.planning, kind, actor)
        .user(a.user)
        .payload(payload)
}
