//! Soft preferences, the third objective: after coverage and F are settled, exchanges that keep
//! every member's load (swaps of two assignments) or keep F (moving a place from a member to one
//! whose load + history is exactly one lower) and lower the soft penalty:
//!
//! * **back to back**: for each member, the number of pairs of consecutive ISO weeks in which
//!   they serve (a member serving weeks 49, 50 and 51 counts 2);
//! * **non preferred**: assignments of a member who stated `preferred_service_types` to a
//!   service whose type is not among them.
//!
//! The search only ever applies an exchange when the penalty drops, and exchanges never change
//! how many places are filled nor raise F, so the soft phase cannot cost coverage or fairness;
//! what stays in the penalty is what no single exchange can remove ("someone else could have
//! served" is exactly what the exchanges look for).

use std::collections::HashMap;

use serde::Serialize;

use crate::model::Instance;
use crate::solver::{Block, Problem, State};

/// The soft penalty, by part. Lower is better; [`SoftPenalty::total`] is what the search lowers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SoftPenalty {
    /// Pairs of consecutive ISO weeks a member serves in, summed over members.
    pub back_to_back: u64,
    /// Assignments to a service type the member did not list (members who listed some).
    pub non_preferred: u64,
}

impl SoftPenalty {
    pub fn total(&self) -> u64 {
        self.back_to_back + self.non_preferred
    }
}

impl std::ops::AddAssign for SoftPenalty {
    fn add_assign(&mut self, o: Self) {
        self.back_to_back += o.back_to_back;
        self.non_preferred += o.non_preferred;
    }
}

/// Back-to-back week pairs in a list of week indices (any order, duplicates allowed).
pub(crate) fn back_to_back(weeks: &mut Vec<i64>) -> u64 {
    weeks.sort_unstable();
    weeks.dedup();
    weeks.windows(2).filter(|w| w[1] == w[0] + 1).count() as u64
}

/// Whether `service_type` is outside a member's stated preferences.
pub(crate) fn non_preferred(prefs: &[String], service_type: &str) -> bool {
    !prefs.is_empty() && !prefs.iter().any(|t| t == service_type)
}

pub(crate) struct Soft<'a> {
    p: &'a Problem,
    /// ISO week index per service (`None`: unparseable date, never back to back).
    week: Vec<Option<i64>>,
    /// Per member: whether each service is outside their preferences; empty when they stated
    /// none (nothing is).
    off: Vec<Vec<bool>>,
}

impl<'a> Soft<'a> {
    pub fn new(inst: &Instance, p: &'a Problem) -> Self {
        let mut types: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, s) in inst.services.iter().enumerate() {
            types.entry(s.service_type.as_str()).or_default().push(i);
        }
        Self {
            p,
            week: inst.services.iter().map(|s| s.week()).collect(),
            off: inst
                .members
                .iter()
                .map(|m| {
                    if m.preferred_service_types.is_empty() {
                        Vec::new()
                    } else {
                        inst.services
                            .iter()
                            .map(|s| non_preferred(&m.preferred_service_types, &s.service_type))
                            .collect()
                    }
                })
                .collect(),
        }
    }

    /// The member's penalty with their pinned services and the slots they hold in `state`.
    fn member(&self, state: &State<'_>, m: usize) -> SoftPenalty {
        let services = self.p.fixed[m]
            .iter()
            .copied()
            .chain(state.by_member[m].iter().map(|&q| self.p.slots[q].service));
        let mut weeks = Vec::new();
        let mut non_preferred = 0;
        for s in services {
            weeks.extend(self.week[s]);
            if self.off[m].get(s).copied().unwrap_or(false) {
                non_preferred += 1;
            }
        }
        SoftPenalty {
            back_to_back: back_to_back(&mut weeks),
            non_preferred,
        }
    }

    pub fn total(&self, state: &State<'_>) -> SoftPenalty {
        let mut t = SoftPenalty::default();
        for m in 0..state.by_member.len() {
            t += self.member(state, m);
        }
        t
    }

    /// Passes of exchanges over members with a penalty, first improvement taken.
    pub fn improve(&self, state: &mut State<'_>, passes: usize) {
        let n = state.by_member.len();
        for _ in 0..passes {
            let mut changed = false;
            for a in 0..n {
                if self.member(state, a).total() == 0 {
                    continue;
                }
                'restart: loop {
                    for q1 in state.by_member[a].clone() {
                        if self.exchange(state, a, q1) {
                            // Each exchange lowers the total penalty, so this ends.
                            changed = true;
                            if self.member(state, a).total() == 0 {
                                break 'restart;
                            }
                            continue 'restart;
                        }
                    }
                    break;
                }
            }
            if !changed {
                break;
            }
        }
    }

    /// Tries to hand `a`'s slot `q1` to another member `b`: a plain move when b's key is
    /// lower than a's (F unchanged when exactly one lower, else F drops), else a swap with one
    /// of b's slots that `a` may take (loads unchanged). Applies the first exchange that lowers
    /// the soft penalty. Only exchanges that lower a's own penalty are tried: the others are
    /// found from the other member's side.
    fn exchange(&self, state: &mut State<'_>, a: usize, q1: usize) -> bool {
        let p = self.p;
        let pen_a = self.member(state, a).total();
        // a without q1: sorted weeks and penalty.
        let mut weeks: Vec<i64> = Vec::new();
        let mut off_a = 0;
        let mut dropped = false;
        let services = p.fixed[a].iter().copied().chain(
            state.by_member[a]
                .iter()
                .filter(|&&q| {
                    let skip = q == q1 && !dropped;
                    dropped |= skip;
                    !skip
                })
                .map(|&q| p.slots[q].service),
        );
        for s in services {
            weeks.extend(self.week[s]);
            off_a += u64::from(self.off[a].get(s).copied().unwrap_or(false));
        }
        let pen_minus = back_to_back(&mut weeks) + off_a;
        if pen_minus >= pen_a {
            return false;
        }
        // a's penalty if it held service `s` instead of q1's.
        let with = |s: usize| -> u64 {
            let b2b = self.week[s].map_or(0, |w| {
                if weeks.binary_search(&w).is_ok() {
                    0
                } else {
                    u64::from(weeks.binary_search(&(w - 1)).is_ok())
                        + u64::from(weeks.binary_search(&(w + 1)).is_ok())
                }
            });
            pen_minus + b2b + u64::from(self.off[a].get(s).copied().unwrap_or(false))
        };
        for &b in &p.slots[q1].eligible {
            if b == a || state.by_slot[q1].contains(&b) {
                continue;
            }
            let mut before: Option<u64> = None;
            // Move: loads change, F must not grow (key(b) + 1 <= key(a)).
            if state.key(b) < state.key(a)
                && state.load(b) < p.cap[b]
                && matches!(state.block(b, q1), Block::Free)
            {
                let total = pen_a + self.member(state, b).total();
                before = Some(total);
                state.unassign(q1, a);
                state.assign(q1, b);
                if self.member(state, a).total() + self.member(state, b).total() < total {
                    return true;
                }
                state.unassign(q1, b);
                state.assign(q1, a);
            }
            // Swaps: loads unchanged, so F too.
            let mut k = 0;
            while k < state.by_member[b].len() {
                let q2 = state.by_member[b][k];
                k += 1;
                if q2 == q1
                    || with(p.slots[q2].service) >= pen_a
                    || p.slots[q2].eligible.binary_search(&a).is_err()
                {
                    continue;
                }
                let total = *before.get_or_insert_with(|| pen_a + self.member(state, b).total());
                state.unassign(q1, a);
                state.unassign(q2, b);
                let ok = matches!(state.block(a, q2), Block::Free)
                    && matches!(state.block(b, q1), Block::Free);
                if ok {
                    state.assign(q2, a);
                    state.assign(q1, b);
                    if self.member(state, a).total() + self.member(state, b).total() < total {
                        return true;
                    }
                    state.unassign(q2, a);
                    state.unassign(q1, b);
                }
                state.assign(q1, a);
                state.assign(q2, b);
            }
        }
        false
    }
}
