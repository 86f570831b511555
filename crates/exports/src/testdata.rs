//! Rotas made up for the unit tests.

use availability::Month;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use kernel::{DepartmentId, OrganizationId, PlanningId, ServiceId, UserId};
use rota::{
    Assignment, AssignmentStatus, MonthData, MyAssignment, Planning, PlanningStatus, RoleCount,
    ServiceInfo,
};
use std::collections::HashMap;

fn t(h: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, 0, 0).unwrap()
}

fn epoch() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2029-12-15T08:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn planning(status: PlanningStatus) -> Planning {
    Planning {
        id: PlanningId::new(),
        organization: OrganizationId::new(),
        department: DepartmentId::new(),
        month: Month::new(2030, 1).unwrap(),
        status,
        version: 3,
        required_slots: 4,
        filled_slots: 2,
        confidence_score: Some(0.5),
        explanations: Vec::new(),
        generated_at: None,
        published_at: None,
        created_at: epoch(),
        updated_at: epoch(),
    }
}

fn service(p: &Planning, day: u32, name: &str, roles: &[(&str, u32)]) -> ServiceInfo {
    ServiceInfo {
        id: ServiceId::new(),
        department: p.department,
        name: name.into(),
        service_type: "sunday".into(),
        date: NaiveDate::from_ymd_opt(2030, 1, day).unwrap(),
        start: t(10),
        end: t(12),
        location: Some("Grande salle, 1er étage".into()),
        required_roles: roles
            .iter()
            .map(|(r, c)| RoleCount {
                role: (*r).into(),
                count: *c,
            })
            .collect(),
    }
}

/// Two Sundays: the first needs 2 vocals and 1 bass (2 vocals assigned, a third declined),
/// the second 1 vocals (assigned).
pub fn month(tz: &str, status: PlanningStatus) -> MonthData {
    let p = planning(status);
    let s1 = service(&p, 6, "Culte", &[("vocals", 2), ("bass", 1)]);
    let s2 = service(&p, 13, "Culte", &[("vocals", 1)]);
    let (elise, francois, marc) = (UserId::new(), UserId::new(), UserId::new());
    let mut declined = Assignment::new(p.id, s1.id, marc, "vocals".into());
    declined.status = AssignmentStatus::Declined;
    let assignments = vec![
        Assignment::new(p.id, s1.id, elise, "vocals".into()),
        Assignment::new(p.id, s1.id, francois, "Vocals".into()),
        declined,
        Assignment::new(p.id, s2.id, elise, "vocals".into()),
    ];
    MonthData {
        planning: p,
        department_name: "Louange".into(),
        timezone: tz.into(),
        services: vec![s1, s2],
        candidates: Vec::new(),
        commitments: Vec::new(),
        assignments,
        names: HashMap::from([
            (elise, "Élise Lefèvre".to_string()),
            (francois, "François Cœur".to_string()),
            (marc, "Marc Declined".to_string()),
        ]),
    }
}

/// `n` services over the month, three roles each, everyone assigned.
pub fn many(n: usize) -> MonthData {
    let mut data = month("Europe/Paris", PlanningStatus::Published);
    let p = data.planning.clone();
    data.services.clear();
    data.assignments.clear();
    for i in 0..n {
        let day = u32::try_from(i % 28).unwrap() + 1;
        let s = service(
            &p,
            day,
            &format!("Service {i}"),
            &[("vocals", 2), ("bass", 1), ("keys", 1)],
        );
        for (role, k) in [("vocals", 2), ("bass", 1), ("keys", 1)] {
            for _ in 0..k {
                let u = UserId::new();
                data.names.insert(u, format!("Person {i}-{role}"));
                data.assignments
                    .push(Assignment::new(p.id, s.id, u, role.into()));
            }
        }
        data.services.push(s);
    }
    data.services.sort_by_key(|s| s.date);
    data
}

/// My assignments: confirmed, pending, declined.
pub fn my() -> Vec<MyAssignment> {
    let data = month("Europe/Paris", PlanningStatus::Published);
    let s = data.services[0].clone();
    let mk = |status: AssignmentStatus| {
        let mut a = Assignment::new(data.planning.id, s.id, UserId::new(), "vocals".into());
        a.status = status;
        MyAssignment {
            assignment: a,
            organization: data.planning.organization,
            department: data.planning.department,
            department_name: "Louange".into(),
            planning_status: PlanningStatus::Published,
            service: s.clone(),
        }
    };
    vec![
        mk(AssignmentStatus::Confirmed),
        mk(AssignmentStatus::Pending),
        mk(AssignmentStatus::Declined),
    ]
}
