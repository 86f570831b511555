//! The rota's rules without any I/O.

use crate::generate::{generate, instance, slots};
use crate::model::*;
use crate::rules::{Board, RuleBreak};
use availability::{Blockout, Month};
use chrono::{NaiveDate, NaiveTime, Utc};
use kernel::{DepartmentId, OrganizationId, PlanningId, ServiceId, UserId};
use std::collections::HashMap;

fn t(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap()
}

fn d(day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2030, 3, day).unwrap()
}

struct World {
    data: MonthData,
    people: Vec<UserId>,
    services: Vec<ServiceId>,
}

fn role(r: &str, n: u32) -> RoleCount {
    RoleCount {
        role: r.into(),
        count: n,
    }
}

/// Four people: 0 and 1 sing, 2 sings and plays bass, 3 plays bass (max 1 a month).
/// Services: Sunday 3rd 10–12 (vocals 2, bass 1), a rehearsal the same day 11–13 (vocals 1),
/// Sunday 10th 10–12 (vocals 2, bass 1).
fn world() -> World {
    let org = OrganizationId::new();
    let dept = DepartmentId::new();
    let people: Vec<UserId> = (0..4).map(|_| UserId::new()).collect();
    let skills: [&[&str]; 4] = [&["Vocals"], &["vocals"], &["vocals", "bass"], &["bass"]];
    let candidates = people
        .iter()
        .zip(skills)
        .enumerate()
        .map(|(i, (u, s))| Candidate {
            user: *u,
            name: format!("P{i}"),
            skills: s.iter().map(|x| x.to_string()).collect(),
            max_per_month: (i == 3).then_some(1),
            preferred_service_types: Vec::new(),
            history: 0,
        })
        .collect();
    let svc = |name: &str, day, s, e, roles| ServiceInfo {
        id: ServiceId::new(),
        department: dept,
        name: name.into(),
        service_type: "sunday".into(),
        date: d(day),
        start: s,
        end: e,
        location: None,
        required_roles: roles,
    };
    let services = vec![
        svc(
            "Culte 3",
            3,
            t(10, 0),
            t(12, 0),
            vec![role("vocals", 2), role("bass", 1)],
        ),
        svc("Répétition", 3, t(11, 0), t(13, 0), vec![role("vocals", 1)]),
        svc(
            "Culte 10",
            10,
            t(10, 0),
            t(12, 0),
            vec![role("vocals", 2), role("bass", 1)],
        ),
    ];
    let ids = services.iter().map(|s| s.id).collect();
    let now = Utc::now();
    let planning = Planning {
        id: PlanningId::new(),
        organization: org,
        department: dept,
        month: Month::new(2030, 3).unwrap(),
        status: PlanningStatus::Draft,
        version: 1,
        required_slots: 0,
        filled_slots: 0,
        confidence_score: None,
        explanations: Vec::new(),
        generated_at: None,
        published_at: None,
        created_at: now,
        updated_at: now,
    };
    World {
        data: MonthData {
            planning,
            department_name: "Louange".into(),
            timezone: "Europe/Paris".into(),
            services,
            candidates,
            commitments: Vec::new(),
            assignments: Vec::new(),
            names: HashMap::new(),
        },
        people,
        services: ids,
    }
}

fn assign(w: &mut World, s: usize, p: usize, r: &str) -> kernel::AssignmentId {
    let a = Assignment::new(w.data.planning.id, w.services[s], w.people[p], r.into());
    let id = a.id;
    w.data.assignments.push(a);
    id
}

#[test]
fn each_hard_rule_is_named() {
    let mut w = world();
    let none: Vec<(UserId, Blockout)> = Vec::new();
    let check = |w: &World, s: usize, p: usize, r: &str, b: &[(UserId, Blockout)]| {
        Board::new(&w.data, b).check(w.services[s], w.people[p], r, None)
    };
    assert!(
        check(&w, 0, 0, "VOCALS", &none).is_empty(),
        "skills ignore case"
    );
    assert_eq!(
        check(&w, 0, 3, "vocals", &none),
        vec![RuleBreak::MissingSkill {
            role: "vocals".into()
        }]
    );
    assert_eq!(
        check(&w, 0, 0, "drums", &none),
        vec![RuleBreak::UnknownRole {
            role: "drums".into()
        }]
    );
    let away = vec![(w.people[0], Blockout::part(d(3), t(11, 30), t(14, 0)))];
    assert!(matches!(
        check(&w, 0, 0, "vocals", &away)[0],
        RuleBreak::Unavailable { all_day: false, .. }
    ));
    let touching = vec![(w.people[0], Blockout::part(d(3), t(12, 0), t(14, 0)))];
    assert!(check(&w, 0, 0, "vocals", &touching).is_empty(), "half-open");
    assign(&mut w, 0, 2, "bass");
    assert!(matches!(
        check(&w, 0, 2, "vocals", &none)[0],
        RuleBreak::AlreadyInService { .. }
    ));
    assert!(matches!(
        check(&w, 1, 2, "vocals", &none)[0],
        RuleBreak::OverlappingService { .. }
    ));
    assert!(matches!(
        check(&w, 0, 3, "bass", &none)[..],
        [RuleBreak::RoleFull { count: 1 }]
    ));
    assign(&mut w, 2, 3, "bass");
    assert!(matches!(
        check(&w, 0, 3, "bass", &none)[0],
        RuleBreak::MaxPerMonth { max: 1, load: 1 }
    ));
    // Another department's service at the same time.
    w.data.commitments.push(Commitment {
        user: w.people[1],
        service: ServiceId::new(),
        service_name: "Accueil".into(),
        department_name: "Accueil".into(),
        date: d(10),
        start: t(9, 30),
        end: t(10, 30),
    });
    assert!(matches!(
        check(&w, 2, 1, "vocals", &none)[0],
        RuleBreak::ServingElsewhere { .. }
    ));
    assert!(!RuleBreak::AlreadyInService { role: "x".into() }.forceable());
    assert!(RuleBreak::MaxPerMonth { max: 1, load: 1 }.forceable());
}

#[test]
fn generation_fills_what_it_can_and_explains_the_rest() {
    let w = world();
    let away = vec![(w.people[2], Blockout::all_day(d(10)))];
    let g = generate(&w.data, &away);
    assert_eq!(g.required_slots, 7);
    // Sunday 10th has no bassist left (2 is away, 3 plays on the 3rd at most once… or the
    // 10th); everything else can be filled: 6 of 7.
    assert_eq!(g.filled_slots, 6);
    assert!((g.confidence_score - 6.0 / 7.0).abs() < 1e-9);
    assert_eq!(g.explanations.len(), 1);
    let e = &g.explanations[0];
    assert_eq!(e.role, "bass");
    assert_eq!(e.skilled, 2);
    assert!(e.candidates.iter().all(|c| !c.reasons.is_empty()));
    // The planner's plan breaks no rule: each assignment checks clean against the others.
    let mut after = w.data.clone();
    after.assignments = g.new_assignments.clone();
    let board = Board::new(&after, &away);
    for a in &g.new_assignments {
        let breaks = board.check(a.service, a.user, &a.role, Some(a.id));
        assert!(breaks.is_empty(), "{a:?}: {breaks:?}");
    }
}

#[test]
fn pinned_assignments_stay_and_count() {
    let mut w = world();
    // 3 (max one a month) is pinned as bass on the 10th: the planner must not use them on the
    // 3rd, and must fill the 3rd's bass with 2.
    let pinned = assign(&mut w, 2, 3, "bass");
    w.data.assignments[0].pinned = true;
    let g = generate(&w.data, &[]);
    assert!(g.new_assignments.iter().all(|a| a.user != w.people[3]));
    assert!(g.new_assignments.iter().all(|a| a.id != pinned));
    // 2 can play bass on the 3rd or sing at the overlapping rehearsal, not both: 6 of 7.
    assert_eq!(g.filled_slots, 6);
    assert!(g.new_assignments.iter().any(|a| a.user == w.people[2]
        && (a.service == w.services[1] || (a.service == w.services[0] && a.role == "bass"))));
    // The reduction: the pinned slot is gone from the instance, its member is busy then.
    let kept: Vec<&Assignment> = w.data.assignments.iter().collect();
    let inst = instance(&w.data, &[], &kept);
    let sunday10 = &inst.services[2];
    assert!(sunday10.required_roles.iter().all(|r| r.role != "bass"));
    let m3 = inst
        .members
        .iter()
        .find(|m| m.id == w.people[3].to_string())
        .unwrap();
    assert_eq!((m3.max_per_month, m3.history_count), (Some(0), 1));
}

#[test]
fn a_decline_opens_its_slot() {
    let mut w = world();
    assign(&mut w, 0, 0, "vocals");
    assign(&mut w, 0, 1, "vocals");
    assert_eq!(slots(&w.data), (7, 2));
    w.data.assignments[1].status = AssignmentStatus::Declined;
    assert_eq!(slots(&w.data), (7, 1));
}

#[test]
fn suggestions_put_the_fair_and_free_first() {
    let mut w = world();
    w.data.candidates[0].history = 5;
    assign(&mut w, 0, 2, "bass");
    let s = Board::new(&w.data, &[]).suggestions(w.services[1], "vocals", None);
    let order: Vec<UserId> = s.iter().map(|x| x.user_id).collect();
    // 1 (history 0) before 0 (history 5); 2 overlaps at the Sunday service.
    assert_eq!(order, vec![w.people[1], w.people[0], w.people[2]]);
    assert!(s[0].eligible && s[1].eligible && !s[2].eligible);
}
