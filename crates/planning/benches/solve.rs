//! Time per solve on committed benchmark instances (`shared/bench/planning/gen.py`, tier M seed 1
//! and tier L seed 1): `cargo bench -p planning`. Prints min / median / max over the runs and
//! the plan's filled and F. `BENCH_RUNS` overrides the number of timed runs per instance.
//! Without cargo bench's `--bench` flag (e.g. `cargo test --all-targets`) it only solves each
//! instance once, so tests stay fast.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

use std::time::{Duration, Instant};

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/data");
    for (name, default_runs) in [("m1", 200), ("l1", 20)] {
        let text = std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap();
        let inst: planning::Instance = serde_json::from_str(&text).unwrap();
        let runs = if bench {
            std::env::var("BENCH_RUNS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(default_runs)
        } else {
            1
        };
        let plan = planning::solve_with(&inst, &[], planning::Options::default());
        let mut times: Vec<Duration> = (0..runs)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(planning::solve_with(
                    std::hint::black_box(&inst),
                    &[],
                    planning::Options::default(),
                ));
                t.elapsed()
            })
            .collect();
        times.sort_unstable();
        println!(
            "{name}: {} members, {} services, filled {}, F {}, soft {} -> {}; solve min {:.2?} median {:.2?} max {:.2?} over {runs} runs",
            inst.members.len(),
            inst.services.len(),
            plan.stats.filled,
            plan.stats.fairness,
            plan.stats.soft_before.total(),
            plan.stats.soft_after.total(),
            times[0],
            times[times.len() / 2],
            times[times.len() - 1],
        );
    }
}
