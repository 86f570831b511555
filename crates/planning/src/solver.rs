//! The rota solver.
//!
//! 1. Min-cost max-flow relaxation: source → slot (service, role) [cap = count] →
//!    member-in-service node [cap 1, only when the member could take several roles there] →
//!    member-in-overlap-group node [cap 1, only when the member is eligible for several services
//!    of the group] → member → sink through convex unit arcs costing 2(h+j)−1 for the j-th
//!    assignment (up to max_per_month). Groups are cliques of pairwise-overlapping services, so
//!    the flow is exact for them; overlap *chains* that span several groups are relaxed.
//! 2. Repair: per member, keep a maximum set of pairwise non-overlapping services (earliest end
//!    first); the rest become unfilled.
//! 3. Refill by ejection chains (a member takes a slot, dropping one blocking slot that another
//!    member takes, ...), then improve F at equal coverage with the same chains, moving load from
//!    a member with high (load + history) to one at least 2 lower.
//!
//! Deterministic: everything is iterated in input order.

use std::collections::HashMap;

use crate::flow::MinCostFlow;
use crate::model::{Assignment, Instance, Minute, Solution, Unfilled, ranges_overlap};

/// Tuning knobs; `Default` is what [`solve`] uses.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Longest ejection chain (number of members moved minus one) when refilling slots.
    pub fill_depth: usize,
    /// Longest ejection chain when improving fairness.
    pub improve_depth: usize,
    /// Upper bound on improvement passes.
    pub max_passes: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            fill_depth: 3,
            improve_depth: 1,
            max_passes: 50,
        }
    }
}

/// Solves with default options.
pub fn solve(inst: &Instance) -> Solution {
    solve_with(inst, Options::default())
}

struct Slot {
    service: usize,
    role: String,
    count: usize,
    eligible: Vec<usize>,
}

struct Problem {
    /// (date index, start, end) per service.
    svc: Vec<(usize, Minute, Minute)>,
    slots: Vec<Slot>,
    history: Vec<i64>,
    cap: Vec<usize>,
}

impl Problem {
    fn conflict(&self, a: usize, b: usize) -> bool {
        let (da, sa, ea) = self.svc[a];
        let (db, sb, eb) = self.svc[b];
        a == b || (da == db && ranges_overlap((sa, ea), (sb, eb)))
    }

    fn build(inst: &Instance) -> Self {
        let mut dates: HashMap<&str, usize> = HashMap::new();
        let svc: Vec<(usize, Minute, Minute)> = inst
            .services
            .iter()
            .map(|s| {
                let n = dates.len();
                let d = *dates.entry(s.date.as_str()).or_insert(n);
                let (a, b) = s.range();
                (d, a, b)
            })
            .collect();
        let member_idx: HashMap<&str, usize> = inst
            .members
            .iter()
            .enumerate()
            .map(|(i, m)| (m.id.as_str(), i))
            .collect();
        // Unavailability per member: (date index, range). Dates with no service are irrelevant.
        let mut unav: Vec<Vec<(usize, (Minute, Minute))>> = vec![Vec::new(); inst.members.len()];
        for u in &inst.unavailability {
            if let (Some(&m), Some(&d)) = (
                member_idx.get(u.member.as_str()),
                dates.get(u.date.as_str()),
            ) {
                unav[m].push((d, u.range()));
            }
        }
        let mut slots = Vec::new();
        for (si, s) in inst.services.iter().enumerate() {
            let (d, a, b) = svc[si];
            let available: Vec<bool> = (0..inst.members.len())
                .map(|m| {
                    !unav[m]
                        .iter()
                        .any(|&(ud, r)| ud == d && ranges_overlap(r, (a, b)))
                })
                .collect();
            let mut order: Vec<&str> = Vec::new();
            let mut counts: HashMap<&str, usize> = HashMap::new();
            for r in &s.required_roles {
                let c = counts.entry(r.role.as_str()).or_insert_with(|| {
                    order.push(r.role.as_str());
                    0
                });
                *c += r.count as usize;
            }
            for role in order {
                let eligible = inst
                    .members
                    .iter()
                    .enumerate()
                    .filter(|(m, mem)| available[*m] && mem.skills.iter().any(|k| k == role))
                    .map(|(m, _)| m)
                    .collect();
                slots.push(Slot {
                    service: si,
                    role: role.to_owned(),
                    count: counts[role],
                    eligible,
                });
            }
        }
        let n_services = inst.services.len();
        Problem {
            svc,
            slots,
            history: inst
                .members
                .iter()
                .map(|m| i64::from(m.history_count))
                .collect(),
            cap: inst
                .members
                .iter()
                .map(|m| m.max_per_month.map_or(n_services, |c| c as usize))
                .collect(),
        }
    }

    /// Partitions services into overlap groups: each group is a set of pairwise-overlapping
    /// services on one date (a sweep over start times). Returns group index per service.
    fn groups(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.svc.len()).collect();
        order.sort_by_key(|&s| (self.svc[s].0, self.svc[s].1, self.svc[s].2, s));
        let mut group = vec![0; self.svc.len()];
        let mut next = 0;
        let mut cur: Option<(usize, Minute)> = None; // (date, min end of current group)
        for s in order {
            let (d, a, b) = self.svc[s];
            match cur {
                Some((cd, min_end)) if cd == d && a < min_end && a < b => {
                    group[s] = next - 1;
                    cur = Some((cd, min_end.min(b)));
                }
                _ => {
                    group[s] = next;
                    next += 1;
                    cur = Some((d, b));
                }
            }
        }
        group
    }
}

/// Current assignment state with the operations the repair and local search need.
struct State<'a> {
    p: &'a Problem,
    /// Members per slot.
    by_slot: Vec<Vec<usize>>,
    /// Slots per member.
    by_member: Vec<Vec<usize>>,
}

impl State<'_> {
    fn load(&self, m: usize) -> usize {
        self.by_member[m].len()
    }

    fn key(&self, m: usize) -> i64 {
        self.load(m) as i64 + self.p.history[m]
    }

    fn missing(&self, q: usize) -> usize {
        self.p.slots[q].count - self.by_slot[q].len()
    }

    fn assign(&mut self, q: usize, m: usize) {
        self.by_slot[q].push(m);
        self.by_member[m].push(q);
    }

    fn unassign(&mut self, q: usize, m: usize) {
        self.by_slot[q].retain(|&x| x != m);
        self.by_member[m].retain(|&x| x != q);
    }

    /// Slots of `m` that conflict with taking slot `q` (same or overlapping service).
    fn blockers(&self, m: usize, q: usize) -> Vec<usize> {
        let s = self.p.slots[q].service;
        self.by_member[m]
            .iter()
            .copied()
            .filter(|&x| self.p.conflict(self.p.slots[x].service, s))
            .collect()
    }

    /// Gives slot `q` one more member through an ejection chain: a member takes `q`, dropping
    /// at most one blocking slot (an overlapping or same service, or any slot when at the cap),
    /// which is refilled the same way, up to `depth` times. Only the final member's load grows;
    /// `accept(state, member)` filters that member. Applies the chain and returns true, or
    /// leaves the state unchanged and returns false. Slots are explored at most once per
    /// search (`seen`), which keeps a search linear in the eligibility graph.
    fn augment(
        &mut self,
        q: usize,
        depth: usize,
        seen: &mut Seen,
        accept: &dyn Fn(&Self, usize) -> bool,
    ) -> bool {
        let p = self.p;
        seen.mark(q);
        // Direct: a free member, lowest key first.
        let mut best: Option<(i64, usize)> = None;
        for &m in &p.slots[q].eligible {
            if self.load(m) < p.cap[m]
                && accept(self, m)
                && self.blockers(m, q).is_empty()
                && best.is_none_or(|(k, _)| self.key(m) < k)
            {
                best = Some((self.key(m), m));
            }
        }
        if let Some((_, m)) = best {
            self.assign(q, m);
            return true;
        }
        if depth == 0 {
            return false;
        }
        for &m in &p.slots[q].eligible {
            let blockers = self.blockers(m, q);
            let candidates: Vec<usize> = match blockers.len() {
                1 => blockers,
                0 if self.load(m) >= p.cap[m] => self.by_member[m].clone(),
                _ => continue,
            };
            for d in candidates {
                if d == q || seen.get(d) {
                    continue;
                }
                self.unassign(d, m);
                self.assign(q, m);
                if self.augment(d, depth - 1, seen, accept) {
                    return true;
                }
                self.unassign(q, m);
                self.assign(d, m);
            }
        }
        false
    }
}

/// Visited slots for one chain search, reset in O(1) by bumping a stamp.
struct Seen {
    stamp: u32,
    slots: Vec<u32>,
}

impl Seen {
    fn new(slots: usize) -> Self {
        Self {
            stamp: 0,
            slots: vec![0; slots],
        }
    }

    fn start(&mut self) {
        self.stamp += 1;
    }

    fn get(&self, q: usize) -> bool {
        self.slots[q] == self.stamp
    }

    fn mark(&mut self, q: usize) {
        self.slots[q] = self.stamp;
    }
}

/// Solves with explicit options.
pub fn solve_with(inst: &Instance, opts: Options) -> Solution {
    let p = Problem::build(inst);
    let n_members = inst.members.len();
    let mut state = State {
        p: &p,
        by_slot: vec![Vec::new(); p.slots.len()],
        by_member: vec![Vec::new(); n_members],
    };
    flow_assign(&p, &mut state);
    repair(&mut state);
    refill(&mut state, opts.fill_depth);
    improve(&mut state, opts);
    // Improvement never lowers coverage, but a last refill is cheap and safe.
    refill(&mut state, opts.fill_depth);
    output(inst, &state)
}

fn flow_assign(p: &Problem, state: &mut State<'_>) {
    let n_members = p.history.len();
    let groups = p.groups();
    let (src, sink) = (0, 1);
    let slot_base = 2;
    let member_base = slot_base + p.slots.len();
    let mut g = MinCostFlow::new(member_base + n_members);
    // Services each member is eligible for, and roles per (member, service).
    let mut per_member: Vec<Vec<(usize, usize)>> = vec![Vec::new(); n_members]; // (service, slot)
    for (q, slot) in p.slots.iter().enumerate() {
        g.add_edge(src, slot_base + q, slot.count as i64, 0);
        for &m in &slot.eligible {
            per_member[m].push((slot.service, q));
        }
    }
    let mut slot_edges = Vec::new();
    for (m, list) in per_member.iter_mut().enumerate() {
        list.sort_unstable();
        let mut services: Vec<usize> = list.iter().map(|&(s, _)| s).collect();
        services.dedup();
        let cap = p.cap[m].min(services.len());
        for j in 1..=cap {
            let c = 2 * (p.history[m] + j as i64) - 1;
            g.add_edge(member_base + m, sink, 1, c);
        }
        if cap == 0 {
            continue;
        }
        // group -> number of eligible services in it
        let mut group_count: HashMap<usize, usize> = HashMap::new();
        for &s in &services {
            *group_count.entry(groups[s]).or_default() += 1;
        }
        let mut group_node: HashMap<usize, usize> = HashMap::new();
        let mut i = 0;
        while i < list.len() {
            let s = list[i].0;
            let mut j = i;
            while j < list.len() && list[j].0 == s {
                j += 1;
            }
            let gr = groups[s];
            let mut target = member_base + m;
            if group_count[&gr] > 1 {
                target = *group_node.entry(gr).or_insert_with(|| {
                    let n = g.add_node();
                    g.add_edge(n, member_base + m, 1, 0);
                    n
                });
            }
            if j - i > 1 {
                let n = g.add_node();
                g.add_edge(n, target, 1, 0);
                target = n;
            }
            for &(_, q) in &list[i..j] {
                slot_edges.push((q, m, g.add_edge(slot_base + q, target, 1, 0)));
            }
            i = j;
        }
    }
    g.run(src, sink);
    slot_edges.sort_by_key(|&(q, m, _)| (q, m));
    for (q, m, e) in slot_edges {
        if g.flow(e) > 0 {
            state.assign(q, m);
        }
    }
}

/// Drops assignments until no member has two conflicting services or exceeds the cap.
fn repair(state: &mut State<'_>) {
    let p = state.p;
    for m in 0..state.by_member.len() {
        let mut slots = state.by_member[m].clone();
        slots.sort_by_key(|&q| {
            let (d, a, b) = p.svc[p.slots[q].service];
            (d, b, a, q)
        });
        let mut kept: Vec<usize> = Vec::new();
        for q in slots {
            let s = p.slots[q].service;
            if kept.len() < p.cap[m] && kept.iter().all(|&k| !p.conflict(p.slots[k].service, s)) {
                kept.push(q);
            } else {
                state.unassign(q, m);
            }
        }
    }
}

/// Per member and date, re-picks a maximum set of non-overlapping services among the ones the
/// member holds and the ones with an open slot they could fill (earliest end first). Fixes
/// overlap chains where one member should swap one service for two.
fn reoptimise_days(state: &mut State<'_>) -> bool {
    let p = state.p;
    let mut progress = false;
    // Open slots per member, grouped later by date.
    let mut open: Vec<Vec<usize>> = vec![Vec::new(); state.by_member.len()];
    for (q, slot) in p.slots.iter().enumerate() {
        if state.missing(q) > 0 {
            for &m in &slot.eligible {
                open[m].push(q);
            }
        }
    }
    for (m, open_m) in open.iter().enumerate() {
        if open_m.is_empty() {
            continue;
        }
        let mut dates: Vec<usize> = open_m
            .iter()
            .map(|&q| p.svc[p.slots[q].service].0)
            .collect();
        dates.sort_unstable();
        dates.dedup();
        for date in dates {
            let held: Vec<usize> = state.by_member[m]
                .iter()
                .copied()
                .filter(|&q| p.svc[p.slots[q].service].0 == date)
                .collect();
            // Candidates: (end, start, slot, held?) one per service.
            let mut cand: Vec<(Minute, Minute, usize, usize, bool)> = held
                .iter()
                .map(|&q| {
                    let s = p.slots[q].service;
                    (p.svc[s].2, p.svc[s].1, s, q, true)
                })
                .collect();
            for &q in open_m {
                let s = p.slots[q].service;
                if p.svc[s].0 == date && state.missing(q) > 0 && !cand.iter().any(|c| c.2 == s) {
                    cand.push((p.svc[s].2, p.svc[s].1, s, q, false));
                }
            }
            cand.sort_unstable();
            let room = p.cap[m] + held.len() - state.load(m);
            let mut pick: Vec<(usize, usize, bool)> = Vec::new();
            let mut last_end = 0;
            for &(end, start, s, q, is_held) in &cand {
                if pick.len() < room && (pick.is_empty() || start >= last_end) && start < end {
                    pick.push((s, q, is_held));
                    last_end = end;
                }
            }
            if pick.len() > held.len() {
                for &q in &held {
                    state.unassign(q, m);
                }
                for &(_, q, _) in &pick {
                    state.assign(q, m);
                }
                progress = true;
            }
        }
    }
    progress
}

fn refill(state: &mut State<'_>, depth: usize) {
    let mut seen = Seen::new(state.by_slot.len());
    loop {
        let mut progress = reoptimise_days(state);
        for q in 0..state.p.slots.len() {
            while state.missing(q) > 0 {
                seen.start();
                if state.augment(q, depth, &mut seen, &|_, _| true) {
                    progress = true;
                } else {
                    break;
                }
            }
        }
        if !progress {
            break;
        }
    }
}

/// Moves load from high (load + history) members to lower ones at equal coverage.
fn improve(state: &mut State<'_>, opts: Options) {
    let n = state.by_member.len();
    let mut seen = Seen::new(state.by_slot.len());
    for _ in 0..opts.max_passes {
        // Nobody can gain a slot below this key, so members within 1 of it cannot give one away.
        let min_key = (0..n)
            .filter(|&m| state.load(m) < state.p.cap[m])
            .map(|m| state.key(m))
            .min()
            .unwrap_or(i64::MAX);
        let mut improved = false;
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_key(|&m| (std::cmp::Reverse(state.key(m)), m));
        for a in order {
            'again: loop {
                let ka = state.key(a);
                let slots = state.by_member[a].clone();
                if ka < min_key.saturating_add(2) {
                    break;
                }
                for q in slots {
                    seen.start();
                    let accept = move |s: &State<'_>, c: usize| ka - s.key(c) >= 2;
                    state.unassign(q, a);
                    if state.augment(q, opts.improve_depth, &mut seen, &accept) {
                        improved = true;
                        continue 'again;
                    }
                    state.assign(q, a);
                }
                break;
            }
        }
        if !improved {
            break;
        }
    }
}

fn output(inst: &Instance, state: &State<'_>) -> Solution {
    let p = state.p;
    let mut sol = Solution::default();
    for (q, slot) in p.slots.iter().enumerate() {
        let service = &inst.services[slot.service].id;
        let mut ms = state.by_slot[q].clone();
        ms.sort_unstable();
        for m in ms {
            sol.assignments.push(Assignment {
                service: service.clone(),
                role: slot.role.clone(),
                member: inst.members[m].id.clone(),
            });
        }
        let missing = state.missing(q);
        if missing > 0 {
            sol.unfilled.push(Unfilled {
                service: service.clone(),
                role: slot.role.clone(),
                missing: missing as u32,
            });
        }
    }
    sol
}
