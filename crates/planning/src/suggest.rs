//! Replacement suggestions for one slot of a rota: who could take it, best first, and why the
//! others cannot.

use serde::Serialize;

use crate::check::Index;
use crate::explain::{Reason, held, reasons};
use crate::model::{Instance, Solution};
use crate::soft::{back_to_back, non_preferred};

/// One member who has the skill for the slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suggestion {
    pub member: String,
    /// True when taking the slot breaks no hard rule, given their other assignments.
    pub eligible: bool,
    /// Every rule that keeps them out (empty when eligible).
    pub reasons: Vec<Reason>,
    /// Assignments they hold in the rota.
    pub load: u32,
    pub history: u32,
    /// Increase of F = Σ (load + history)² if they took the slot: 2(load + history) + 1.
    pub fairness_increase: u64,
    /// They already serve in the ISO week before or after this service's.
    pub back_to_back: bool,
    /// Whether the service type is among their preferred types; `None` when they stated none.
    pub preferred_type: Option<bool>,
    /// Increase of the soft penalty (back-to-back week pairs + non-preferred assignments) if
    /// they took the slot.
    pub soft_increase: u64,
}

/// Every member who has the skill `role`, for the slot (`service`, `role`) of the rota
/// `solution`: eligible members first, ranked by the F increase (lower load + history first),
/// then by the soft-penalty increase, then in instance order; the others after, in instance
/// order, each with every reason that keeps them out (away all day or for a window, at
/// `max_per_month`, serving elsewhere at that time, already in this service). Members already
/// holding this very slot are listed too (as "already in this service"); remove the leaving
/// member's assignment from `solution` first to rank as if their place were free. An unknown
/// service gives an empty list.
pub fn suggest_replacements(
    inst: &Instance,
    solution: &Solution,
    service: &str,
    role: &str,
) -> Vec<Suggestion> {
    let ix = Index::new(inst);
    let Some(&si) = ix.services.get(service) else {
        return Vec::new();
    };
    let held = held(&ix, solution);
    let s = &inst.services[si];
    let week = s.week();
    let mut out: Vec<Suggestion> = inst
        .members
        .iter()
        .enumerate()
        .filter(|(_, m)| m.skills.iter().any(|k| k == role))
        .map(|(mi, m)| {
            let mine = held.get(m.id.as_str()).map_or(&[][..], Vec::as_slice);
            let why = reasons(&ix, si, mi, mine);
            let load = mine.len() as u32;
            let key = u64::from(load) + u64::from(m.history_count);
            let mut weeks: Vec<i64> = mine
                .iter()
                .filter_map(|&(o, _)| inst.services[o].week())
                .collect();
            let b2b_before = back_to_back(&mut weeks);
            let close = week.is_some_and(|w| weeks.iter().any(|&o| o + 1 == w || o == w + 1));
            weeks.extend(week);
            let b2b_after = back_to_back(&mut weeks);
            let off = non_preferred(&m.preferred_service_types, &s.service_type);
            Suggestion {
                member: m.id.clone(),
                eligible: why.is_empty(),
                reasons: why,
                load,
                history: m.history_count,
                fairness_increase: 2 * key + 1,
                back_to_back: close,
                preferred_type: (!m.preferred_service_types.is_empty()).then_some(!off),
                soft_increase: b2b_after.saturating_sub(b2b_before) + u64::from(off),
            }
        })
        .collect();
    out.sort_by_key(|x| {
        if x.eligible {
            (0, x.fairness_increase, x.soft_increase)
        } else {
            (1, 0, 0)
        }
    });
    out
}
