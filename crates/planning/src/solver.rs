//! The rota solver.
//!
//! 0. Pinned assignments (kept as the leader set them) are taken out of the problem: they fill
//!    their places, count in the member's load (so in F and `max_per_month`) and bar the member
//!    from every service that overlaps theirs.
//! 1. Min-cost max-flow relaxation: source → slot (service, role) [cap = count] →
//!    member-in-service node [cap 1, only when the member could take several roles there] →
//!    member-in-overlap-group node [cap 1, only when the member is eligible for several services
//!    of the group] → member → sink through convex unit arcs costing 2(h+j)−1 for the j-th
//!    assignment (up to max_per_month). Groups are cliques of pairwise-overlapping services, so
//!    the flow is exact for them; overlap *chains* that span several groups are relaxed. Above
//!    [`Options::flow_pairs_limit`] eligible pairs the flow runs on a sparser graph (every arc
//!    of a scarce slot, a hashed sample of the others sized by each member's expected load); the
//!    local search below always works on the full eligibility.
//! 2. Repair: per member, keep a maximum set of pairwise non-overlapping services (earliest end
//!    first); the rest become unfilled.
//! 3. Refill by ejection chains (a member takes a slot, dropping one blocking slot that another
//!    member takes, ...), then improve F at equal coverage with the same chains, moving load from
//!    a member with high (load + history) to one at least 2 lower.
//! 4. Soft preferences (see [`crate::soft`]): swaps and equal-F moves that lower the soft
//!    penalty, never touching coverage and never raising F.
//!
//! Deterministic: everything is iterated in input order.

use std::collections::HashMap;

use serde::Serialize;

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
    /// Above this many eligible (member, slot) pairs the flow runs on a sparsified graph.
    pub flow_pairs_limit: usize,
    /// Upper bound on soft-preference passes (0 turns the soft phase off).
    pub soft_passes: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            fill_depth: 3,
            improve_depth: 1,
            max_passes: 50,
            flow_pairs_limit: 60_000,
            soft_passes: 4,
        }
    }
}

/// Figures about a solve, serialised next to the solution (`"stats"`; evaluate.py ignores it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Filled places, pinned ones included.
    pub filled: u64,
    /// F = Σ (load + history)² over all members.
    pub fairness: u64,
    /// Upper bound on the places that can be filled (the flow relaxation's coverage).
    pub coverage_bound: u64,
    /// Proven lower bound on F at the best coverage, when the flow ran on the full graph and
    /// the plan reaches its coverage.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fairness_bound: Option<u64>,
    /// Whether the flow ran on a sparsified graph (large instances).
    pub sparsified: bool,
    /// Soft penalty once coverage and F were settled, before the soft phase.
    pub soft_before: crate::soft::SoftPenalty,
    /// Soft penalty of the returned plan.
    pub soft_after: crate::soft::SoftPenalty,
    /// Pinned assignments kept (unknown ids or roles are dropped).
    pub pinned: u64,
}

/// A solution and its figures.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    #[serde(flatten)]
    pub solution: Solution,
    pub stats: Stats,
}

/// Solves with default options and no pinned assignment.
pub fn solve(inst: &Instance) -> Solution {
    solve_with(inst, &[], Options::default()).solution
}

pub(crate) struct Slot {
    pub service: usize,
    pub role: String,
    /// Free places (the requirement minus pinned members).
    pub count: usize,
    /// Pinned members, in the order given.
    pub pinned: Vec<usize>,
    /// Members who may take a free place, ascending.
    pub eligible: Vec<usize>,
}

pub(crate) struct Problem {
    /// (date index, start, end) per service.
    pub svc: Vec<(usize, Minute, Minute)>,
    pub slots: Vec<Slot>,
    /// History plus pinned load: the member's key before any free assignment.
    pub history: Vec<i64>,
    /// Free assignments left under `max_per_month` after pins.
    pub cap: Vec<usize>,
    /// Services of each member's pinned assignments.
    pub fixed: Vec<Vec<usize>>,
    pub pinned: u64,
}

impl Problem {
    pub fn conflict(&self, a: usize, b: usize) -> bool {
        let (da, sa, ea) = self.svc[a];
        let (db, sb, eb) = self.svc[b];
        a == b || (da == db && ranges_overlap((sa, ea), (sb, eb)))
    }

    pub fn build(inst: &Instance, pins: &[Assignment]) -> Self {
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
        let service_idx: HashMap<&str, usize> = inst
            .services
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id.as_str(), i))
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
        // Members per skill, ascending.
        let mut by_skill: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, m) in inst.members.iter().enumerate() {
            for k in &m.skills {
                let list = by_skill.entry(k.as_str()).or_default();
                if list.last() != Some(&i) {
                    list.push(i);
                }
            }
        }
        // Pins: (service, role, member) with known ids and a role the service requires.
        let mut fixed: Vec<Vec<usize>> = vec![Vec::new(); inst.members.len()];
        let mut pinned_in: HashMap<(usize, &str), Vec<usize>> = HashMap::new();
        let mut pinned = 0;
        for a in pins {
            let (Some(&si), Some(&mi)) = (
                service_idx.get(a.service.as_str()),
                member_idx.get(a.member.as_str()),
            ) else {
                continue;
            };
            if !inst.services[si]
                .required_roles
                .iter()
                .any(|r| r.role == a.role)
            {
                continue;
            }
            fixed[mi].push(si);
            pinned_in.entry((si, a.role.as_str())).or_default().push(mi);
            pinned += 1;
        }
        let conflict = |a: usize, b: usize| {
            let ((da, sa, ea), (db, sb, eb)) = (svc[a], svc[b]);
            a == b || (da == db && ranges_overlap((sa, ea), (sb, eb)))
        };
        let mut slots = Vec::new();
        for (si, s) in inst.services.iter().enumerate() {
            let (d, a, b) = svc[si];
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
                let eligible = by_skill
                    .get(role)
                    .map(|list| {
                        list.iter()
                            .copied()
                            .filter(|&m| {
                                !unav[m]
                                    .iter()
                                    .any(|&(ud, r)| ud == d && ranges_overlap(r, (a, b)))
                                    && !fixed[m].iter().any(|&f| conflict(f, si))
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let pinned = pinned_in.remove(&(si, role)).unwrap_or_default();
                slots.push(Slot {
                    service: si,
                    role: role.to_owned(),
                    count: counts[role].saturating_sub(pinned.len()),
                    pinned,
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
                .zip(&fixed)
                .map(|(m, f)| i64::from(m.history_count) + f.len() as i64)
                .collect(),
            cap: inst
                .members
                .iter()
                .zip(&fixed)
                .map(|(m, f)| {
                    m.max_per_month
                        .map_or(n_services, |c| c as usize)
                        .saturating_sub(f.len())
                })
                .collect(),
            fixed,
            pinned,
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

/// What keeps a member from taking a slot, given what they hold.
pub(crate) enum Block {
    /// Nothing they hold conflicts.
    Free,
    /// Exactly one held slot conflicts (same or overlapping service).
    One(usize),
    Many,
}

/// Current assignment state with the operations the repair and local search need.
pub(crate) struct State<'a> {
    pub p: &'a Problem,
    /// Members per slot.
    pub by_slot: Vec<Vec<usize>>,
    /// Slots per member.
    pub by_member: Vec<Vec<usize>>,
    /// `by_member[m].len()`, kept flat: the searches read it for every candidate.
    pub loads: Vec<usize>,
}

impl State<'_> {
    pub fn load(&self, m: usize) -> usize {
        self.loads[m]
    }

    pub fn key(&self, m: usize) -> i64 {
        self.load(m) as i64 + self.p.history[m]
    }

    pub fn missing(&self, q: usize) -> usize {
        self.p.slots[q].count - self.by_slot[q].len()
    }

    pub fn assign(&mut self, q: usize, m: usize) {
        self.by_slot[q].push(m);
        self.by_member[m].push(q);
        self.loads[m] += 1;
    }

    pub fn unassign(&mut self, q: usize, m: usize) {
        let before = self.by_member[m].len();
        self.by_slot[q].retain(|&x| x != m);
        self.by_member[m].retain(|&x| x != q);
        self.loads[m] -= before - self.by_member[m].len();
    }

    /// Slots of `m` that conflict with taking slot `q` (same or overlapping service).
    pub fn block(&self, m: usize, q: usize) -> Block {
        let s = self.p.slots[q].service;
        let mut found = Block::Free;
        for &x in &self.by_member[m] {
            if self.p.conflict(self.p.slots[x].service, s) {
                found = match found {
                    Block::Free => Block::One(x),
                    _ => return Block::Many,
                };
            }
        }
        found
    }

    /// F = Σ (key)² over members (pinned load included).
    pub fn fairness(&self) -> u64 {
        (0..self.by_member.len())
            .map(|m| {
                let k = self.key(m).max(0) as u64;
                k * k
            })
            .sum()
    }

    pub fn filled(&self) -> u64 {
        self.by_slot.iter().map(|v| v.len() as u64).sum::<u64>() + self.p.pinned
    }

    /// Gives slot `q` one more member through an ejection chain: a member takes `q`, dropping
    /// at most one blocking slot (an overlapping or same service, or any slot when at the cap),
    /// which is refilled the same way, up to `depth` times. Only the final member's load grows,
    /// and their key must be at most `limit`. `floor[q]` is a lower bound (as of the start of
    /// the pass) on the key of any member who could take a place in `q` without dropping one:
    /// slots whose floor is above the limit are not explored. Applies the chain and returns
    /// true, or leaves the state unchanged and returns false. Slots are explored at most once
    /// per search (`seen`), which keeps a search linear in the eligibility graph.
    fn augment(
        &mut self,
        q: usize,
        depth: usize,
        seen: &mut Seen,
        limit: i64,
        floor: &mut Floors,
    ) -> bool {
        let p = self.p;
        seen.mark(q);
        // Direct: a free member, lowest key first.
        if floor.slot[q] <= limit {
            let mut best: Option<(i64, usize)> = None;
            for &m in &p.slots[q].eligible {
                let k = self.key(m);
                if k <= limit
                    && self.load(m) < p.cap[m]
                    && best.is_none_or(|(bk, _)| k < bk)
                    && matches!(self.block(m, q), Block::Free)
                {
                    best = Some((k, m));
                }
            }
            if floor.adaptive {
                // Still a lower bound: nobody below the limit (or below the one taken) is left.
                floor.slot[q] = floor.slot[q].max(best.map_or(limit + 1, |(k, _)| k));
            }
            if let Some((_, m)) = best {
                self.assign(q, m);
                return true;
            }
        }
        if depth == 0 {
            return false;
        }
        for &m in &p.slots[q].eligible {
            // Last link: only a slot someone could take directly is worth dropping.
            if depth == 1 && floor.held[m] > limit {
                continue;
            }
            let candidates: Vec<usize> = match self.block(m, q) {
                Block::One(d) => vec![d],
                Block::Free if self.load(m) >= p.cap[m] => self.by_member[m].clone(),
                _ => continue,
            };
            for d in candidates {
                if d == q || seen.get(d) || (depth == 1 && floor.slot[d] > limit) {
                    continue;
                }
                self.unassign(d, m);
                self.assign(q, m);
                if self.augment(d, depth - 1, seen, limit, &mut *floor) {
                    return true;
                }
                self.unassign(q, m);
                self.assign(d, m);
            }
        }
        false
    }
}

/// Search filters, exact when computed and possibly stale after changes (stale values only
/// skip chances): per slot, the lowest key of a member who could take a place right now (room,
/// nothing blocking); per member, the lowest such floor among the slots they hold.
struct Floors {
    slot: Vec<i64>,
    held: Vec<i64>,
    /// Raise a slot's floor after a scan shows nobody lower can take it. Only sound while no
    /// member's key drops and nobody is freed, i.e. not while refilling.
    adaptive: bool,
}

impl Floors {
    /// No filtering.
    fn open(slots: usize, members: usize) -> Self {
        Self {
            slot: vec![i64::MIN; slots],
            held: vec![i64::MIN; members],
            adaptive: false,
        }
    }

    fn compute(&mut self, state: &State<'_>) {
        let p = state.p;
        for (q, slot) in p.slots.iter().enumerate() {
            self.slot[q] = slot
                .eligible
                .iter()
                .filter(|&&m| state.load(m) < p.cap[m] && matches!(state.block(m, q), Block::Free))
                .map(|&m| state.key(m))
                .min()
                .unwrap_or(i64::MAX);
        }
        for (m, held) in state.by_member.iter().enumerate() {
            self.held[m] = held.iter().map(|&d| self.slot[d]).min().unwrap_or(i64::MAX);
        }
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

/// Solves with explicit options, keeping `pinned` assignments exactly as given (they fill
/// their places and count in loads, overlaps and `max_per_month`, even when they break a rule;
/// pins naming an unknown service, member or role are dropped). Never fails.
pub fn solve_with(inst: &Instance, pinned: &[Assignment], opts: Options) -> Plan {
    let p = Problem::build(inst, pinned);

    let n_members = inst.members.len();
    let mut state = State {
        p: &p,
        by_slot: vec![Vec::new(); p.slots.len()],
        by_member: vec![Vec::new(); n_members],
        loads: vec![0; n_members],
    };
    let bound = flow_assign(&p, &mut state, opts);
    let coverage_bound = state.filled();
    repair(&mut state);
    refill(&mut state, opts.fill_depth);
    improve(&mut state, opts);
    // Improvement never lowers coverage, but a last refill is cheap and safe.
    refill(&mut state, opts.fill_depth);
    let soft = crate::soft::Soft::new(inst, &p);
    let soft_before = soft.total(&state);
    if opts.soft_passes > 0 {
        soft.improve(&mut state, opts.soft_passes);
    }
    let soft_after = soft.total(&state);
    let filled = state.filled();
    let stats = Stats {
        filled,
        fairness: state.fairness(),
        coverage_bound,
        fairness_bound: bound.filter(|_| filled == coverage_bound),
        sparsified: bound.is_none(),
        soft_before,
        soft_after,
        pinned: p.pinned,
    };
    Plan {
        solution: output(inst, &state),
        stats,
    }
}

/// splitmix64: a deterministic hash for sampling arcs.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The (slot, member) arcs the flow sees. All of them up to `flow_pairs_limit` pairs; above,
/// every arc of a scarce slot (at most 8 eligible per place), and for the others each member
/// keeps a hashed sample of its slots sized by its expected load (water-filling estimate),
/// topped up per slot with the lowest-history members so each keeps 6 candidates per place.
fn flow_arcs(p: &Problem, opts: Options) -> Option<Vec<Vec<usize>>> {
    let pairs: usize = p.slots.iter().map(|s| s.eligible.len()).sum();
    if pairs <= opts.flow_pairs_limit {
        return None;
    }
    let n = p.history.len();
    let mut degree = vec![0usize; n];
    for s in &p.slots {
        for &m in &s.eligible {
            degree[m] += 1;
        }
    }
    // Water level: the lowest key L such that members filled up to L cover every place.
    let places: usize = p.slots.iter().map(|s| s.count).sum();
    let supply = |level: i64| -> usize {
        (0..n)
            .map(|m| {
                let room = (level - p.history[m]).max(0) as usize;
                room.min(p.cap[m]).min(degree[m])
            })
            .sum()
    };
    // Past the highest history plus the largest room, supply no longer grows.
    let most = (0..n).map(|m| p.cap[m].min(degree[m])).max().unwrap_or(0);
    let top = p.history.iter().copied().max().unwrap_or(0) + most as i64;
    let mut level = p.history.iter().copied().min().unwrap_or(0);
    while level < top && supply(level) < places {
        level += 1;
    }
    let quota: Vec<usize> = (0..n)
        .map(|m| {
            let expected = ((level - p.history[m]).max(0) as usize + 1).min(p.cap[m]);
            4 * expected + 4
        })
        .collect();
    let mut keep: Vec<Vec<usize>> = vec![Vec::new(); p.slots.len()];
    // Per member: its non-scarce slots ranked by hash; keep the first `quota`.
    let mut per_member: Vec<Vec<(u64, usize)>> = vec![Vec::new(); n];
    for (q, s) in p.slots.iter().enumerate() {
        let scarce = s.eligible.len() <= 8 * s.count.max(1);
        for &m in &s.eligible {
            if scarce {
                keep[q].push(m);
            } else {
                per_member[m].push((mix(((m as u64) << 32) | q as u64), q));
            }
        }
    }
    for (m, list) in per_member.iter_mut().enumerate() {
        list.sort_unstable();
        for &(_, q) in list.iter().take(quota[m]) {
            keep[q].push(m);
        }
    }
    for (q, s) in p.slots.iter().enumerate() {
        let want = (6 * s.count).min(s.eligible.len());
        if keep[q].len() < want {
            keep[q].sort_unstable();
            let mut extra: Vec<usize> = s
                .eligible
                .iter()
                .copied()
                .filter(|m| keep[q].binary_search(m).is_err())
                .collect();
            extra.sort_by_key(|&m| (p.history[m], mix(((m as u64) << 32) ^ q as u64)));
            let need = want - keep[q].len();
            keep[q].extend(extra.into_iter().take(need));
        }
        keep[q].sort_unstable();
    }
    Some(keep)
}

/// Runs the flow relaxation and loads its assignments into `state`. Returns the flow's F (a
/// lower bound at its coverage) when it ran on the full graph.
fn flow_assign(p: &Problem, state: &mut State<'_>, opts: Options) -> Option<u64> {
    let sparse = flow_arcs(p, opts);
    let arcs = |q: usize| -> &[usize] {
        match &sparse {
            Some(k) => &k[q],
            None => &p.slots[q].eligible,
        }
    };
    let n_members = p.history.len();
    let groups = p.groups();
    let (src, sink) = (0, 1);
    let slot_base = 2;
    let member_base = slot_base + p.slots.len();
    let mut g = MinCostFlow::new(member_base + n_members);
    // Services each member is eligible for, and roles per (member, service).
    let mut per_member: Vec<Vec<(usize, usize)>> = vec![Vec::new(); n_members]; // (service, slot)
    for (q, slot) in p.slots.iter().enumerate() {
        if slot.count == 0 {
            continue;
        }
        g.add_edge(src, slot_base + q, slot.count as i64, 0);
        for &m in arcs(q) {
            per_member[m].push((slot.service, q));
        }
    }
    let mut slot_edges = Vec::new();
    let mut group_count: HashMap<usize, usize> = HashMap::new();
    let mut group_node: HashMap<usize, usize> = HashMap::new();
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
        group_count.clear();
        group_node.clear();
        for &s in &services {
            *group_count.entry(groups[s]).or_default() += 1;
        }
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
    drop(per_member);
    let (_, cost) = g.run(src, sink);
    slot_edges.sort_by_key(|&(q, m, _)| (q, m));
    for (q, m, e) in slot_edges {
        if g.flow(e) > 0 {
            state.assign(q, m);
        }
    }
    let base: i64 = p.history.iter().map(|h| h * h).sum();
    sparse
        .is_none()
        .then(|| u64::try_from(base + cost).unwrap_or(0))
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
            // Candidates: (end, start, service, slot, held?) one per service.
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
    let mut floor = Floors::open(state.by_slot.len(), state.by_member.len());
    loop {
        let mut progress = reoptimise_days(state);
        for q in 0..state.p.slots.len() {
            while state.missing(q) > 0 {
                seen.start();
                if state.augment(q, depth, &mut seen, i64::MAX, &mut floor) {
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
    let p = state.p;
    let mut seen = Seen::new(state.by_slot.len());
    let mut floor = Floors::open(p.slots.len(), n);
    floor.adaptive = true;
    for _ in 0..opts.max_passes {
        // Floors go stale during a pass, which can only skip chances that the next pass (with
        // fresh floors) retries: a pass without improvement is exact.
        floor.compute(state);
        // Nobody can gain a slot below this key, so members within 1 of it cannot give one away.
        let min_key = (0..n)
            .filter(|&m| state.load(m) < p.cap[m])
            .map(|m| state.key(m))
            .min()
            .unwrap_or(i64::MAX);
        let mut improved = false;
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_key(|&m| (std::cmp::Reverse(state.key(m)), m));
        for a in order {
            'again: loop {
                let ka = state.key(a);
                if ka < min_key.saturating_add(2) {
                    break;
                }
                let slots = state.by_member[a].clone();
                for q in slots {
                    seen.start();
                    state.unassign(q, a);
                    if state.augment(q, opts.improve_depth, &mut seen, ka - 2, &mut floor) {
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
        for m in slot.pinned.iter().chain(&ms) {
            sol.assignments.push(Assignment {
                service: service.clone(),
                role: slot.role.clone(),
                member: inst.members[*m].id.clone(),
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
