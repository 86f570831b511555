#!/usr/bin/env bash
# Solves the benchmark instances of shared/bench/planning with the production planner and
# judges each plan with evaluate.py --strict against optimum.py's reference. Prints one
# markdown table row per instance (the table of docs/planner.md).
#
#   crates/planning/benches/evaluate.sh [WORK_DIR]        (default /tmp/planner-bench)
#
# Environment: BENCH (default ../shared/bench/planning next to the repository), PYTHON
# (default python3; optimum.py needs the OR-Tools venv of the bench's requirements.txt),
# OPTIMUM=1 computes missing optima (slow: S/M 60 s, L 150 s, XL 120 s each, one at a time),
# INSTANCES (default "S1 S2 S3 M1 M2 M3 L1 L2 L3 XL1"). Needs perf (linux-perf) and GNU time.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
BENCH=${BENCH:-$ROOT/../shared/bench/planning}
[ -d "$BENCH" ] || BENCH=/work/shared/bench/planning
PYTHON=${PYTHON:-python3}
WORK=${1:-/tmp/planner-bench}
INSTANCES=${INSTANCES:-S1 S2 S3 M1 M2 M3 L1 L2 L3 XL1}
mkdir -p "$WORK"
(cd "$ROOT" && cargo build --quiet --release -p planning --bin plan-solve)
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/plan-solve
echo "| tier | seed | filled / optimum | F | reference F | F / reference | wall, core 0 | CPU | max RSS | violations | soft before → after |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for n in $INSTANCES; do
  tier=${n%?}; seed=${n: -1}
  [ -s "$WORK/$n.json" ] || python3 "$BENCH/gen.py" --tier "$tier" --seed "$seed" > "$WORK/$n.json"
  if [ ! -s "$WORK/opt_$n.json" ] && [ "${OPTIMUM:-0}" = 1 ]; then
    case $tier in S|M) lim=60;; L) lim=150;; *) lim=120;; esac
    "$PYTHON" "$BENCH/optimum.py" "$WORK/$n.json" --time-limit $lim --out "$WORK/opt_$n.json" >/dev/null
  fi
  # Wall and max RSS of a plain run on core 0, then CPU (perf's task-clock, ms precision).
  t0=$(date +%s%N)
  /usr/bin/time -f "%M" -o "$WORK/rss_$n.txt" taskset -c 0 "$BIN" < "$WORK/$n.json" > "$WORK/sol_$n.json"
  echo "$(( ($(date +%s%N) - t0) / 1000 ))" > "$WORK/wall_$n.txt"
  perf stat -x, -e task-clock -o "$WORK/cpu_$n.txt" taskset -c 0 "$BIN" < "$WORK/$n.json" > /dev/null
  opt=(); [ -s "$WORK/opt_$n.json" ] && opt=(--optimum "$WORK/opt_$n.json")
  python3 "$BENCH/evaluate.py" "$WORK/$n.json" "$WORK/sol_$n.json" --strict --quiet "${opt[@]}" > "$WORK/ev_$n.json" || true
  python3 - "$WORK" "$n" "$tier" "$seed" <<'PY'
import json, sys
work, n, tier, seed = sys.argv[1:]
ev = json.load(open(f"{work}/ev_{n}.json"))
wall = int(open(f"{work}/wall_{n}.txt").read()) / 1e6
rss = int(open(f"{work}/rss_{n}.txt").read().split()[-1])
cpu = next(float(l.split(",")[0]) for l in open(f"{work}/cpu_{n}.txt") if "task-clock" in l) / 1e3
stats = json.load(open(f"{work}/sol_{n}.json"))["stats"]
soft = lambda s: s["back_to_back"] + s["non_preferred"]
if "opt_F" in ev:
    proved = ev["opt_status"] == "OPTIMAL"
    ref = ev["F"] - ev["F_excess"]
    ref_s = f"{ref} ({'optimum' if proved else 'lower bound'})"
    ratio = f"{ev['fairness_ratio']:.5f}"
    filled = f"{ev['filled']} / {ev['opt_filled']}"
else:
    ref_s, ratio, filled = "-", "-", f"{ev['filled']} / -"
print(f"| {tier} | {seed} | {filled} | {ev['F']} | {ref_s} | {ratio} | {float(wall) * 1000:.0f} ms | {float(cpu) * 1000:.0f} ms | {int(rss) // 1024} MB | {ev['violations']} | {soft(stats['soft_before'])} → {soft(stats['soft_after'])} |")
PY
done
