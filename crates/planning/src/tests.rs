use crate::*;

fn member(id: &str, skills: &[&str], cap: Option<u32>, history: u32) -> Member {
    Member {
        id: id.into(),
        skills: skills.iter().map(|s| (*s).into()).collect(),
        max_per_month: cap,
        history_count: history,
        preferred_service_types: vec![],
    }
}

fn service(id: &str, date: &str, start: &str, end: &str, roles: &[(&str, u32)]) -> Service {
    Service {
        id: id.into(),
        date: date.into(),
        start: start.into(),
        end: end.into(),
        service_type: "sunday".into(),
        required_roles: roles
            .iter()
            .map(|(r, c)| RoleRequirement {
                role: (*r).into(),
                count: *c,
            })
            .collect(),
    }
}

fn away(member: &str, date: &str, start: Option<&str>, end: Option<&str>) -> Unavailability {
    Unavailability {
        member: member.into(),
        date: date.into(),
        start: start.map(Into::into),
        end: end.map(Into::into),
    }
}

fn inst(members: Vec<Member>, services: Vec<Service>, unav: Vec<Unavailability>) -> Instance {
    Instance {
        version: Some(1),
        month: Some("2026-12-01".into()),
        members,
        services,
        unavailability: unav,
    }
}

/// Solves, asserts validity (including a consistent unfilled list), returns (filled, F).
fn solve_ok(i: &Instance) -> (Solution, u64, u64) {
    let sol = solve(i);
    let r = check(i, &sol);
    assert!(r.violations.is_empty(), "violations: {:?}", r.violations);
    (sol, r.filled, r.fairness)
}

fn members_of(sol: &Solution, service: &str) -> Vec<String> {
    sol.assignments
        .iter()
        .filter(|a| a.service == service)
        .map(|a| a.member.clone())
        .collect()
}

const D: &str = "2026-12-06";

#[test]
fn parse_time_accepts_hh_mm_only() {
    assert_eq!(parse_time("00:00"), Ok(0));
    assert_eq!(parse_time("09:30"), Ok(570));
    assert_eq!(parse_time("9:30"), Ok(570));
    assert_eq!(parse_time("24:00"), Ok(1440));
    for bad in ["24:01", "12:60", "1230", "", "ab:cd", "12:5", "-1:00"] {
        assert!(parse_time(bad).is_err(), "{bad}");
    }
}

#[test]
fn serde_matches_benchmark_format() {
    let json = r#"{"version": 1, "month": "2026-12-01",
      "members": [{"id": "m1", "skills": ["keys"], "max_per_month": null, "history_count": 2}],
      "services": [{"id": "s1", "date": "2026-12-06", "start": "10:00", "end": "12:00",
        "service_type": "sunday", "required_roles": [{"role": "keys", "count": 2}]}],
      "unavailability": [{"member": "m1", "date": "2026-12-07", "start": null, "end": null}]}"#;
    let i: Instance = serde_json::from_str(json).expect("parse");
    assert_eq!(i.members[0].max_per_month, None);
    assert_eq!(i.validate(), Ok(()));
    let sol = solve(&i);
    let out = serde_json::to_value(&sol).expect("serialise");
    assert_eq!(
        out,
        serde_json::json!({
            "assignments": [{"service": "s1", "role": "keys", "member": "m1"}],
            "unfilled": [{"service": "s1", "role": "keys", "missing": 1}]
        })
    );
}

#[test]
fn validate_rejects_bad_data() {
    let mut i = inst(
        vec![member("a", &["x"], None, 0)],
        vec![service("s", D, "10:00", "09:00", &[("x", 1)])],
        vec![],
    );
    assert_eq!(i.validate(), Err(PlanningError::EmptyService("s".into())));
    i.services[0].end = "25:00".into();
    assert!(matches!(i.validate(), Err(PlanningError::InvalidTime(_))));
    i.services[0].end = "11:00".into();
    i.unavailability.push(away("ghost", D, None, None));
    assert_eq!(
        i.validate(),
        Err(PlanningError::UnknownMember("ghost".into()))
    );
}

#[test]
fn skill_is_required() {
    let i = inst(
        vec![member("a", &["keys"], None, 0)],
        vec![service("s", D, "10:00", "12:00", &[("drums", 1)])],
        vec![],
    );
    let (sol, filled, _) = solve_ok(&i);
    assert_eq!(filled, 0);
    assert_eq!(
        sol.unfilled,
        vec![Unfilled {
            service: "s".into(),
            role: "drums".into(),
            missing: 1
        }]
    );
}

#[test]
fn whole_day_unavailability_blocks() {
    let i = inst(
        vec![member("a", &["x"], None, 0), member("b", &["x"], None, 5)],
        vec![service("s", D, "10:00", "12:00", &[("x", 1)])],
        vec![away("a", D, None, None)],
    );
    let (sol, filled, _) = solve_ok(&i);
    assert_eq!(filled, 1);
    assert_eq!(members_of(&sol, "s"), vec!["b"]);
}

#[test]
fn partial_unavailability_is_half_open() {
    let services = vec![
        service("early", D, "08:00", "10:00", &[("x", 1)]),
        service("mid", D, "10:00", "12:00", &[("x", 1)]),
        service("late", D, "12:00", "14:00", &[("x", 1)]),
    ];
    // Away [10:00, 12:00): blocks only "mid" (back-to-back ranges do not overlap).
    let i = inst(
        vec![member("a", &["x"], None, 0)],
        services.clone(),
        vec![away("a", D, Some("10:00"), Some("12:00"))],
    );
    let (sol, filled, _) = solve_ok(&i);
    assert_eq!(filled, 2);
    assert!(members_of(&sol, "mid").is_empty());
    // Only an end: [00:00, 10:30) blocks early and mid.
    let i = inst(
        vec![member("a", &["x"], None, 0)],
        services.clone(),
        vec![away("a", D, None, Some("10:30"))],
    );
    let (sol, filled, _) = solve_ok(&i);
    assert_eq!(filled, 1);
    assert_eq!(members_of(&sol, "late"), vec!["a"]);
    // Only a start: [11:59, 24:00) blocks mid and late.
    let i = inst(
        vec![member("a", &["x"], None, 0)],
        services,
        vec![away("a", D, Some("11:59"), None)],
    );
    let (sol, filled, _) = solve_ok(&i);
    assert_eq!(filled, 1);
    assert_eq!(members_of(&sol, "early"), vec!["a"]);
}

#[test]
fn unavailability_on_another_date_does_not_block() {
    let i = inst(
        vec![member("a", &["x"], None, 0)],
        vec![service("s", D, "10:00", "12:00", &[("x", 1)])],
        vec![away("a", "2026-12-07", None, None)],
    );
    assert_eq!(solve_ok(&i).1, 1);
}

#[test]
fn one_slot_per_member_per_service() {
    let i = inst(
        vec![member("a", &["keys", "vocals"], None, 0)],
        vec![service(
            "s",
            D,
            "10:00",
            "12:00",
            &[("keys", 1), ("vocals", 2)],
        )],
        vec![],
    );
    let (sol, filled, _) = solve_ok(&i);
    assert_eq!(filled, 1);
    assert_eq!(sol.unfilled.iter().map(|u| u.missing).sum::<u32>(), 2);
}

#[test]
fn overlapping_services_exclude_each_other_but_back_to_back_do_not() {
    let i = inst(
        vec![member("a", &["x"], None, 0)],
        vec![
            service("s1", D, "09:00", "11:00", &[("x", 1)]),
            service("s2", D, "10:30", "12:00", &[("x", 1)]),
            service("s3", D, "12:00", "13:00", &[("x", 1)]),
            service("s4", "2026-12-13", "10:30", "12:00", &[("x", 1)]),
        ],
        vec![],
    );
    let (sol, filled, _) = solve_ok(&i);
    assert_eq!(filled, 3);
    assert_eq!(members_of(&sol, "s3"), vec!["a"]);
    assert_eq!(members_of(&sol, "s4"), vec!["a"]);
}

#[test]
fn max_per_month_is_respected() {
    let services: Vec<Service> = (1..=5)
        .map(|d| {
            service(
                &format!("s{d}"),
                &format!("2026-12-0{d}"),
                "10:00",
                "11:00",
                &[("x", 1)],
            )
        })
        .collect();
    let i = inst(vec![member("a", &["x"], Some(2), 0)], services, vec![]);
    let (_, filled, f) = solve_ok(&i);
    assert_eq!((filled, f), (2, 4));
    let mut i = i;
    i.members[0].max_per_month = Some(0);
    assert_eq!(solve_ok(&i).1, 0);
}

#[test]
fn load_is_spread_fairly_counting_history() {
    let services: Vec<Service> = (1..=4)
        .map(|d| {
            service(
                &format!("s{d}"),
                &format!("2026-12-0{d}"),
                "10:00",
                "11:00",
                &[("x", 1)],
            )
        })
        .collect();
    let i = inst(
        vec![member("a", &["x"], None, 0), member("b", &["x"], None, 0)],
        services.clone(),
        vec![],
    );
    // 2 + 2 → F = 8.
    assert_eq!(solve_ok(&i).2, 8);
    // History 2 vs 0: optimum is loads 1 / 3 → (1+2)² + 3² = 18.
    let i = inst(
        vec![member("a", &["x"], None, 2), member("b", &["x"], None, 0)],
        services,
        vec![],
    );
    let (sol, filled, f) = solve_ok(&i);
    assert_eq!((filled, f), (4, 18));
    assert_eq!(
        sol.assignments.iter().filter(|a| a.member == "b").count(),
        3
    );
}

#[test]
fn flow_beats_greedy_on_scarce_skills() {
    // Greedy (slot order, lowest load+history first) gives "keys" to a, who is the only one
    // able to play "strings", leaving strings empty. The flow fills both.
    let i = inst(
        vec![
            member("a", &["keys", "strings"], None, 0),
            member("b", &["keys"], None, 3),
        ],
        vec![service(
            "carol",
            D,
            "18:00",
            "20:00",
            &[("keys", 1), ("strings", 1)],
        )],
        vec![],
    );
    let (sol, filled, _) = solve_ok(&i);
    assert_eq!(filled, 2);
    assert!(sol.unfilled.is_empty());
}

#[test]
fn flow_saves_capped_member_for_the_slot_only_they_can_fill() {
    // a (cap 1) could lead worship on day 1, but is the only strings player on day 2.
    let i = inst(
        vec![
            member("a", &["worship_leader", "strings"], Some(1), 0),
            member("b", &["worship_leader"], None, 6),
        ],
        vec![
            service(
                "s1",
                "2026-12-01",
                "10:00",
                "12:00",
                &[("worship_leader", 1)],
            ),
            service("s2", "2026-12-24", "18:00", "20:00", &[("strings", 1)]),
        ],
        vec![],
    );
    let (sol, filled, _) = solve_ok(&i);
    assert_eq!(filled, 2);
    assert_eq!(members_of(&sol, "s2"), vec!["a"]);
}

#[test]
fn overlap_chain_is_repaired() {
    // A–B–C chain: A overlaps B, B overlaps C, A and C do not. One person can do A and C.
    let i = inst(
        vec![member("a", &["x"], None, 0), member("b", &["x"], None, 0)],
        vec![
            service("A", D, "09:00", "11:00", &[("x", 1)]),
            service("B", D, "10:00", "12:00", &[("x", 1)]),
            service("C", D, "11:00", "13:00", &[("x", 1)]),
        ],
        vec![],
    );
    let (sol, filled, f) = solve_ok(&i);
    assert_eq!((filled, f), (3, 5));
    assert_eq!(members_of(&sol, "A"), members_of(&sol, "C"));
    // Longer chain with a single member: the best is every other service.
    let services: Vec<Service> = (0..6)
        .map(|k| {
            let start = 8 * 60 + k * 60;
            let end = start + 90;
            service(
                &format!("c{k}"),
                D,
                &format!("{:02}:{:02}", start / 60, start % 60),
                &format!("{:02}:{:02}", end / 60, end % 60),
                &[("x", 1)],
            )
        })
        .collect();
    let i = inst(vec![member("a", &["x"], None, 0)], services, vec![]);
    assert_eq!(solve_ok(&i).1, 3);
}

#[test]
fn deterministic() {
    let i = random_instance(7, 6, 5);
    assert_eq!(solve(&i), solve(&i));
}

/// Tiny xorshift so the tests need no extra crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn random_instance(seed: u64, members: usize, services: usize) -> Instance {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let roles = ["x", "y", "z"];
    let ms = (0..members)
        .map(|k| {
            let mut skills: Vec<&str> =
                roles.iter().copied().filter(|_| rng.next(2) == 0).collect();
            if skills.is_empty() {
                skills.push(roles[rng.next(3) as usize]);
            }
            let cap = if rng.next(3) == 0 {
                Some(rng.next(3) as u32)
            } else {
                None
            };
            member(&format!("m{k}"), &skills, cap, rng.next(4) as u32)
        })
        .collect();
    let ss = (0..services)
        .map(|k| {
            let day = 1 + rng.next(2);
            let start = 8 + rng.next(5);
            let len = 1 + rng.next(3);
            let role_list: Vec<(&str, u32)> = roles
                .iter()
                .copied()
                .filter(|_| rng.next(2) == 0)
                .map(|r| (r, 1))
                .collect();
            let role_list = if role_list.is_empty() {
                vec![("x", 1)]
            } else {
                role_list
            };
            service(
                &format!("s{k}"),
                &format!("2026-12-0{day}"),
                &format!("{start:02}:00"),
                &format!("{:02}:00", start + len),
                &role_list,
            )
        })
        .collect();
    let mut un = Vec::new();
    for k in 0..members {
        if rng.next(3) == 0 {
            let day = 1 + rng.next(2);
            let h = 8 + rng.next(6);
            un.push(away(
                &format!("m{k}"),
                &format!("2026-12-0{day}"),
                Some(&format!("{h:02}:00")),
                None,
            ));
        }
    }
    inst(ms, ss, un)
}

/// Exhaustive lexicographic optimum (max filled, then min F) for tiny instances.
fn brute_force(i: &Instance) -> (u64, u64) {
    let units: Vec<(String, String)> = i
        .services
        .iter()
        .flat_map(|s| {
            s.required_roles
                .iter()
                .flat_map(move |r| (0..r.count).map(move |_| (s.id.clone(), r.role.clone())))
        })
        .collect();
    let choices = i.members.len() + 1;
    let total = choices.pow(units.len() as u32);
    let mut best = (0u64, u64::MAX);
    for code in 0..total {
        let mut c = code;
        let mut assignments = Vec::new();
        for (service, role) in &units {
            let k = c % choices;
            c /= choices;
            if k > 0 {
                assignments.push(Assignment {
                    service: service.clone(),
                    role: role.clone(),
                    member: i.members[k - 1].id.clone(),
                });
            }
        }
        let filled = assignments.len() as u64;
        if filled < best.0 {
            continue;
        }
        let sol = Solution {
            assignments,
            unfilled: vec![],
        };
        let r = check(i, &sol);
        let valid = r
            .violations
            .iter()
            .all(|v| matches!(v, Violation::UnfilledMismatch { .. }));
        if valid && (r.filled > best.0 || (r.filled == best.0 && r.fairness < best.1)) {
            best = (r.filled, r.fairness);
        }
    }
    if best.1 == u64::MAX {
        best.1 = i
            .members
            .iter()
            .map(|m| u64::from(m.history_count).pow(2))
            .sum();
    }
    best
}

const SEEDS: u64 = 400;

#[test]
fn matches_brute_force_on_tiny_random_instances() {
    let (mut checked, mut filled_misses, mut f_misses) = (0, 0, 0);
    for seed in 1..=SEEDS {
        let i = random_instance(seed, 3, 3);
        let units: u32 = i
            .services
            .iter()
            .flat_map(|s| s.required_roles.iter().map(|r| r.count))
            .sum();
        if units > 6 {
            continue;
        }
        let (_, filled, f) = solve_ok(&i);
        let (best_filled, best_f) = brute_force(&i);
        // Overlap chains make the problem harder than a flow: repair and ejection chains are
        // heuristics, so coverage and F may rarely miss the optimum. Never beat it, though.
        assert!(filled <= best_filled, "seed {seed}: above the optimum?");
        if filled < best_filled {
            filled_misses += 1;
        } else if f > best_f {
            f_misses += 1;
        }
        assert!(
            filled < best_filled || f >= best_f,
            "seed {seed}: F below optimum?"
        );
        checked += 1;
    }
    assert!(checked > 100, "only {checked} instances checked");
    eprintln!("MISSES {filled_misses} {f_misses} / {checked}");
    assert!(
        filled_misses * 100 <= checked && f_misses * 50 <= checked,
        "suboptimal: coverage on {filled_misses}, F on {f_misses} of {checked} instances"
    );
}

#[test]
fn larger_random_instances_are_always_valid() {
    for seed in 1..=40 {
        let i = random_instance(seed, 12, 14);
        solve_ok(&i);
    }
}

#[test]
fn every_unfilled_slot_is_explained_member_by_member() {
    // Bass is needed at 09:30 and 11:00 (overlapping) and in the evening; four bassists:
    // one away all day, one away in the morning, one capped at 1, one free.
    let i = inst(
        vec![
            member("ana", &["bass"], None, 0),
            member("ben", &["bass"], None, 0),
            member("cam", &["bass"], Some(1), 0),
            member("dan", &["bass"], None, 0),
            member("eve", &["drums"], None, 0),
        ],
        vec![
            service("s1", "2026-12-06", "09:30", "11:30", &[("bass", 2)]),
            service("s2", "2026-12-06", "11:00", "12:30", &[("bass", 2)]),
            service("s3", "2026-12-06", "18:00", "20:00", &[("bass", 1)]),
        ],
        vec![
            away("ana", "2026-12-06", None, None),
            away("ben", "2026-12-06", Some("08:00"), Some("13:00")),
        ],
    );
    let (sol, _, _) = solve_ok(&i);
    let explained = crate::explain(&i, &sol);
    assert_eq!(explained.len(), sol.unfilled.len());
    let total_missing: u32 = explained.iter().map(|e| e.missing).sum();
    assert_eq!(total_missing, 5 - sol.assignments.len() as u32);
    for e in &explained {
        assert_eq!(e.skilled, 4, "eve has no bass skill and is never listed");
        let why: std::collections::HashMap<&str, &crate::Reason> = e
            .candidates
            .iter()
            .map(|c| (c.member.as_str(), &c.reason))
            .collect();
        assert_eq!(why["ana"], &crate::Reason::UnavailableAllDay);
        if e.service != "s3" {
            assert_eq!(
                why["ben"],
                &crate::Reason::UnavailablePartly {
                    start: "08:00".into(),
                    end: "13:00".into()
                }
            );
        }
        // Nobody free is left out of a slot that stays empty.
        assert!(
            !why.values().any(|r| **r == crate::Reason::Available),
            "{e:?}"
        );
        for (m, r) in &why {
            match r {
                crate::Reason::ServesElsewhere { service, .. } => {
                    assert_ne!(service, &e.service, "{m}")
                }
                crate::Reason::AtMaxPerMonth { max } => assert_eq!((*m, *max), ("cam", 1)),
                _ => {}
            }
        }
    }
    // The explanation serialises as the API will send it.
    let json = serde_json::to_value(&explained).unwrap();
    assert!(json[0]["candidates"][0]["reason"].is_string());
}

// ---------------------------------------------------------------------------------------------
// Pins, soft preferences, suggestions, single-edit checks.

fn assign(service: &str, role: &str, member: &str) -> Assignment {
    Assignment {
        service: service.into(),
        role: role.into(),
        member: member.into(),
    }
}

fn no_soft() -> Options {
    Options {
        soft_passes: 0,
        ..Options::default()
    }
}

#[test]
fn pinned_assignments_are_kept_even_when_they_break_a_rule() {
    // ana is away all day but the leader forced her in; she counts as serving.
    let i = inst(
        vec![
            member("ana", &["x"], None, 0),
            member("ben", &["x"], None, 0),
        ],
        vec![
            service("s1", D, "10:00", "12:00", &[("x", 2)]),
            service("s2", D, "11:00", "13:00", &[("x", 1)]),
        ],
        vec![away("ana", D, None, None)],
    );
    let pins = [assign("s1", "x", "ana")];
    let plan = solve_with(&i, &pins, Options::default());
    assert!(plan.solution.assignments.contains(&pins[0]));
    assert_eq!(plan.stats.pinned, 1);
    // ben takes the other place of s1, so nobody is left for the overlapping s2.
    assert_eq!(members_of(&plan.solution, "s1"), vec!["ana", "ben"]);
    assert_eq!(members_of(&plan.solution, "s2"), Vec::<String>::new());
    let r = check(&i, &plan.solution);
    assert_eq!(
        r.violations,
        vec![Violation::Unavailable {
            member: "ana".into(),
            service: "s1".into()
        }]
    );
    assert_eq!(
        (plan.stats.filled, plan.stats.fairness),
        (r.filled, r.fairness)
    );
}

#[test]
fn pins_count_in_load_overlaps_and_max_per_month() {
    let i = inst(
        vec![
            member("ana", &["x"], Some(2), 0),
            member("ben", &["x"], None, 0),
            member("cat", &["x"], None, 0),
        ],
        vec![
            service("a", "2026-12-06", "10:00", "12:00", &[("x", 1)]),
            service("b", "2026-12-06", "11:00", "13:00", &[("x", 1)]),
            service("c", "2026-12-13", "10:00", "12:00", &[("x", 1)]),
            service("d", "2026-12-20", "10:00", "12:00", &[("x", 1)]),
            service("e", "2026-12-27", "10:00", "12:00", &[("x", 1)]),
        ],
        vec![],
    );
    // ana is pinned twice: at her cap, so nothing else; the rest is shared by ben and cat.
    let pins = [assign("a", "x", "ana"), assign("c", "x", "ana")];
    let plan = solve_with(&i, &pins, Options::default());
    let sol = &plan.solution;
    assert!(check(&i, sol).violations.is_empty());
    for p in &pins {
        assert!(sol.assignments.contains(p));
    }
    let load = |m: &str| sol.assignments.iter().filter(|a| a.member == m).count();
    assert_eq!(load("ana"), 2);
    let mut others = [load("ben"), load("cat")];
    others.sort_unstable();
    assert_eq!(others, [1, 2]);
    assert_eq!(plan.stats.filled, 5);
    // F counts pinned load: 2² + 2² + 1².
    assert_eq!(plan.stats.fairness, 9);
}

#[test]
fn pins_never_overlap_the_pinned_members_other_services() {
    let i = inst(
        vec![
            member("ana", &["x", "y"], None, 0),
            member("ben", &["y"], None, 9),
        ],
        vec![
            service("a", D, "10:00", "12:00", &[("x", 1)]),
            service("b", D, "11:00", "13:00", &[("y", 1)]),
        ],
        vec![],
    );
    // ana (history 0) would be the fair pick for b, but her pin in the overlapping a bars her.
    let plan = solve_with(&i, &[assign("a", "x", "ana")], Options::default());
    assert_eq!(members_of(&plan.solution, "b"), vec!["ben"]);
    assert!(check(&i, &plan.solution).violations.is_empty());
}

#[test]
fn pins_with_unknown_ids_are_dropped() {
    let i = inst(
        vec![member("ana", &["x"], None, 0)],
        vec![service("s", D, "10:00", "12:00", &[("x", 1)])],
        vec![],
    );
    let pins = [
        assign("nope", "x", "ana"),
        assign("s", "x", "ghost"),
        assign("s", "drums", "ana"),
    ];
    let plan = solve_with(&i, &pins, Options::default());
    assert_eq!(plan.stats.pinned, 0);
    assert_eq!(plan.solution, solve(&i));
}

#[test]
fn random_pins_from_a_plan_are_kept_and_the_rest_stays_valid() {
    for seed in 1..=30 {
        let i = random_instance(seed, 12, 14);
        let first = solve(&i);
        let pins: Vec<Assignment> = first.assignments.iter().step_by(3).cloned().collect();
        let plan = solve_with(&i, &pins, Options::default());
        let r = check(&i, &plan.solution);
        assert!(r.violations.is_empty(), "seed {seed}: {:?}", r.violations);
        for p in &pins {
            assert!(
                plan.solution.assignments.contains(p),
                "seed {seed}: lost {p:?}"
            );
        }
        assert_eq!(
            (plan.stats.filled, plan.stats.fairness),
            (r.filled, r.fairness)
        );
    }
}

fn typed(mut s: Service, t: &str) -> Service {
    s.service_type = t.into();
    s
}

fn prefers(mut m: Member, types: &[&str]) -> Member {
    m.preferred_service_types = types.iter().map(|t| (*t).into()).collect();
    m
}

#[test]
fn instance_v1_without_preferences_still_parses_and_preferences_round_trip() {
    let i: Instance = serde_json::from_str(
        r#"{"members": [{"id": "a", "skills": ["x"], "preferred_service_types": ["youth"]},
                        {"id": "b", "skills": ["x"]}],
            "services": []}"#,
    )
    .unwrap();
    assert_eq!(i.members[0].preferred_service_types, vec!["youth"]);
    assert!(i.members[1].preferred_service_types.is_empty());
    let json = serde_json::to_value(&i.members[1]).unwrap();
    assert!(json.get("preferred_service_types").is_none());
}

#[test]
fn preferred_service_types_are_honoured_at_equal_fairness() {
    // Each member serves once either way (same F); the soft phase gives each their type.
    let i = inst(
        vec![
            prefers(member("ana", &["x"], None, 0), &["evening"]),
            prefers(member("ben", &["x"], None, 0), &["sunday"]),
        ],
        vec![
            typed(
                service("morning", D, "10:00", "12:00", &[("x", 1)]),
                "sunday",
            ),
            typed(
                service("night", D, "18:00", "20:00", &[("x", 1)]),
                "evening",
            ),
        ],
        vec![],
    );
    let plan = solve_with(&i, &[], Options::default());
    assert_eq!(members_of(&plan.solution, "night"), vec!["ana"]);
    assert_eq!(members_of(&plan.solution, "morning"), vec!["ben"]);
    assert_eq!(plan.stats.soft_after.non_preferred, 0);
}

#[test]
fn back_to_back_weeks_are_avoided_when_someone_else_can_serve() {
    // Four Sundays in a row, one place each, two members: alternating is the only plan with
    // no back-to-back weeks, and it has the same F as any 2/2 split.
    let sundays = ["2026-12-06", "2026-12-13", "2026-12-20", "2026-12-27"];
    let i = inst(
        vec![
            member("ana", &["x"], None, 0),
            member("ben", &["x"], None, 0),
        ],
        sundays
            .iter()
            .enumerate()
            .map(|(k, d)| service(&format!("w{k}"), d, "10:00", "12:00", &[("x", 1)]))
            .collect(),
        vec![],
    );
    let plan = solve_with(&i, &[], Options::default());
    assert_eq!(plan.stats.soft_after.back_to_back, 0, "{:?}", plan.solution);
    assert_eq!(plan.stats.fairness, 8);
    let who: Vec<String> = (0..4)
        .flat_map(|k| members_of(&plan.solution, &format!("w{k}")))
        .collect();
    assert_ne!(who[0], who[1]);
    assert_ne!(who[1], who[2]);
    assert_ne!(who[2], who[3]);
}

#[test]
fn iso_weeks_are_consecutive_across_a_year_end() {
    assert_eq!(
        week_of("2026-12-28").unwrap() + 1,
        week_of("2027-01-04").unwrap()
    );
    // Monday to Sunday is one week.
    assert_eq!(week_of("2026-12-07"), week_of("2026-12-13"));
    assert_ne!(week_of("2026-12-13"), week_of("2026-12-14"));
    assert_eq!(week_of("2026-13-01"), None);
}

/// Random preferences and types on top of `random_instance`, spread over four weeks.
fn random_soft_instance(seed: u64, members: usize, services: usize) -> Instance {
    let mut i = random_instance(seed, members, services);
    let mut rng = Rng(seed.wrapping_mul(0xD134_2543_DE82_EF95) | 1);
    let types = ["sunday", "evening", "youth"];
    for s in &mut i.services {
        s.service_type = types[rng.next(3) as usize].into();
        s.date = format!("2026-12-{:02}", 1 + rng.next(4) * 7 + rng.next(2));
    }
    for m in &mut i.members {
        if rng.next(2) == 0 {
            m.preferred_service_types = vec![types[rng.next(3) as usize].into()];
        }
    }
    i
}

#[test]
fn soft_phase_never_costs_coverage_or_fairness() {
    let mut improved = 0;
    for seed in 1..=60 {
        let i = random_soft_instance(seed, 10, 16);
        let without = solve_with(&i, &[], no_soft());
        let with = solve_with(&i, &[], Options::default());
        let (a, b) = (check(&i, &without.solution), check(&i, &with.solution));
        assert!(b.violations.is_empty(), "seed {seed}: {:?}", b.violations);
        assert_eq!(a.filled, b.filled, "seed {seed}");
        assert!(b.fairness <= a.fairness, "seed {seed}");
        assert_eq!(
            with.stats.soft_before, without.stats.soft_after,
            "seed {seed}"
        );
        assert!(with.stats.soft_after.total() <= with.stats.soft_before.total());
        if with.stats.soft_after.total() < with.stats.soft_before.total() {
            improved += 1;
        }
    }
    assert!(
        improved > 10,
        "the soft phase improved only {improved} instances"
    );
}

#[test]
fn sparsified_flow_stays_valid_and_close() {
    for seed in 1..=20 {
        let i = random_instance(seed, 30, 30);
        let exact = solve_with(&i, &[], Options::default());
        let sparse = solve_with(
            &i,
            &[],
            Options {
                flow_pairs_limit: 0,
                ..Options::default()
            },
        );
        assert!(!exact.stats.sparsified && sparse.stats.sparsified);
        let r = check(&i, &sparse.solution);
        assert!(r.violations.is_empty(), "seed {seed}: {:?}", r.violations);
        assert!(r.filled + 1 >= exact.stats.filled, "seed {seed}");
        if let Some(bound) = exact.stats.fairness_bound {
            assert!(exact.stats.fairness >= bound);
        }
    }
}

#[test]
fn plan_json_is_the_solution_plus_stats() {
    let i = random_instance(3, 6, 5);
    let plan = solve_with(&i, &[], Options::default());
    let json = serde_json::to_value(&plan).unwrap();
    assert!(json["assignments"].is_array() && json["unfilled"].is_array());
    assert_eq!(json["stats"]["filled"], plan.stats.filled);
    assert!(json["stats"]["soft_after"]["back_to_back"].is_u64());
    let back: Solution = serde_json::from_value(json).unwrap();
    assert_eq!(back, plan.solution);
}

/// A rota for the suggestion and single-edit tests: slot (s1, bass) at 10:00-12:00 on D.
fn rota() -> (Instance, Solution) {
    let i = inst(
        vec![
            member("away", &["bass"], None, 0),
            member("morning", &["bass"], None, 0),
            member("capped", &["bass"], Some(1), 0),
            member("busy", &["bass"], None, 0),
            member("inside", &["bass", "keys"], None, 0),
            member("light", &["bass"], None, 3),
            member("fresh", &["bass"], None, 0),
            prefers(member("picky", &["bass"], None, 0), &["youth"]),
            member("drummer", &["drums"], None, 0),
        ],
        vec![
            service("s1", D, "10:00", "12:00", &[("bass", 1), ("keys", 1)]),
            service("s2", D, "11:00", "13:00", &[("bass", 1)]),
            service("prev", "2026-11-29", "10:00", "12:00", &[("bass", 2)]),
            service("late", "2026-12-20", "18:00", "19:00", &[("bass", 1)]),
        ],
        vec![
            away("away", D, None, None),
            away("morning", D, Some("09:00"), Some("10:30")),
        ],
    );
    let sol = Solution {
        assignments: vec![
            assign("late", "bass", "capped"),
            assign("s2", "bass", "busy"),
            assign("s1", "keys", "inside"),
            assign("prev", "bass", "fresh"),
            assign("prev", "bass", "light"),
        ],
        unfilled: vec![],
    };
    (i, sol)
}

#[test]
fn suggestions_rank_eligible_members_and_explain_the_others() {
    let (i, sol) = rota();
    let list = suggest_replacements(&i, &sol, "s1", "bass");
    let names: Vec<&str> = list.iter().map(|s| s.member.as_str()).collect();
    // drums only: not listed. Eligible: picky (key 0, non-preferred: +1 soft), fresh (key 1,
    // back to back with prev), light (key 4): by F increase first, then soft.
    assert_eq!(
        names,
        vec![
            "picky", "fresh", "light", "away", "morning", "capped", "busy", "inside"
        ]
    );
    let by: std::collections::HashMap<&str, &Suggestion> =
        list.iter().map(|s| (s.member.as_str(), s)).collect();
    let picky = by["picky"];
    assert!(picky.eligible && picky.reasons.is_empty());
    assert_eq!(
        (picky.load, picky.history, picky.fairness_increase),
        (0, 0, 1)
    );
    assert_eq!(
        (picky.preferred_type, picky.soft_increase),
        (Some(false), 1)
    );
    let fresh = by["fresh"];
    assert_eq!((fresh.load, fresh.fairness_increase), (1, 3));
    assert!(fresh.back_to_back);
    assert_eq!((fresh.preferred_type, fresh.soft_increase), (None, 1));
    let light = by["light"];
    assert_eq!(
        (light.load, light.history, light.fairness_increase),
        (1, 3, 9)
    );
    assert_eq!(by["away"].reasons, vec![Reason::UnavailableAllDay]);
    assert_eq!(
        by["morning"].reasons,
        vec![Reason::UnavailablePartly {
            start: "09:00".into(),
            end: "10:30".into()
        }]
    );
    assert_eq!(by["capped"].reasons, vec![Reason::AtMaxPerMonth { max: 1 }]);
    assert_eq!(
        by["busy"].reasons,
        vec![Reason::ServesElsewhere {
            service: "s2".into(),
            start: "11:00".into()
        }]
    );
    assert_eq!(
        by["inside"].reasons,
        vec![Reason::AlreadyInThisService {
            role: "keys".into()
        }]
    );
    for s in &list[3..] {
        assert!(!s.eligible);
    }
    assert!(suggest_replacements(&i, &sol, "nope", "bass").is_empty());
    // Serialises for the API.
    let json = serde_json::to_value(&list).unwrap();
    assert_eq!(json[3]["reasons"][0]["reason"], "unavailable_all_day");
}

#[test]
fn suggestions_agree_with_check_assignment() {
    let (i, sol) = rota();
    for s in suggest_replacements(&i, &sol, "s1", "bass") {
        let v = check_assignment(&i, &sol, "s1", "bass", &s.member);
        assert_eq!(s.eligible, v.is_empty(), "{}: {v:?}", s.member);
        let mut with = sol.clone();
        with.assignments.push(assign("s1", "bass", &s.member));
        with.unfilled = vec![Unfilled {
            service: "s1".into(),
            role: "bass".into(),
            missing: 0,
        }];
        let hard: Vec<_> = check(&i, &with)
            .violations
            .into_iter()
            .filter(|v| !matches!(v, Violation::UnfilledMismatch { .. }))
            .collect();
        assert_eq!(s.eligible, hard.is_empty(), "{}: {hard:?}", s.member);
    }
}

#[test]
fn check_assignment_names_each_broken_rule() {
    let (i, sol) = rota();
    let check1 = |m: &str| check_assignment(&i, &sol, "s1", "bass", m);
    assert_eq!(check1("fresh"), vec![]);
    assert_eq!(
        check1("drummer"),
        vec![Violation::MissingSkill {
            member: "drummer".into(),
            role: "bass".into()
        }]
    );
    assert_eq!(
        check1("morning"),
        vec![Violation::Unavailable {
            member: "morning".into(),
            service: "s1".into()
        }]
    );
    assert_eq!(
        check1("busy"),
        vec![Violation::OverlappingServices {
            member: "busy".into(),
            first: "s2".into(),
            second: "s1".into()
        }]
    );
    assert_eq!(
        check1("inside"),
        vec![Violation::TwiceInService {
            member: "inside".into(),
            service: "s1".into()
        }]
    );
    assert_eq!(
        check1("capped"),
        vec![Violation::OverCap {
            member: "capped".into(),
            load: 2,
            cap: 1
        }]
    );
    assert_eq!(
        check_assignment(&i, &sol, "s1", "drums", "drummer"),
        vec![Violation::UnknownRole {
            service: "s1".into(),
            role: "drums".into()
        }]
    );
    assert_eq!(
        check_assignment(&i, &sol, "zz", "bass", "ghost"),
        vec![
            Violation::UnknownService {
                service: "zz".into()
            },
            Violation::UnknownMember {
                member: "ghost".into()
            }
        ]
    );
    // Several rules at once, each named.
    let mut i2 = i.clone();
    i2.members[3].max_per_month = Some(1);
    let v = check_assignment(&i2, &sol, "s1", "bass", "busy");
    assert_eq!(v.len(), 2, "{v:?}");
    let json = serde_json::to_value(&v).unwrap();
    assert_eq!(json[0]["rule"], "overlapping_services");
    assert_eq!(json[1]["rule"], "over_cap");
}
