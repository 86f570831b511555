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
