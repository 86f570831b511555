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
# INSTANCES (default "S1 S2 S3 M1 M2 M3 L1 L2 L3 XL1").
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
echo "| tier | seed | filled / optimum | F | reference F | F / reference | time (wall, one core, end to end) | CPU (user) | violations | soft before → after |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for n in $INSTANCES; do
  tier=${n%?}; seed=${n: -1}
  [ -s "$WORK/$n.json" ] || python3 "$BENCH/gen.py" --tier "$tier" --seed "$seed" > "$WORK/$n.json"
  if [ ! -s "$WORK/opt_$n.json" ] && [ "${OPTIMUM:-0}" = 1 ]; then
    case $tier in S|M) lim=60;; L) lim=150;; *) lim=120;; esac
    "$PYTHON" "$BENCH/optimum.py" "$WORK/$n.json" --time-limit $lim --out "$WORK/opt_$n.json" >/dev/null
  fi
  t0=$(date +%s%N)
  /usr/bin/time -f "%U" -o "$WORK/time_$n.txt" taskset -c 0 "$BIN" < "$WORK/$n.json" > "$WORK/sol_$n.json"
  echo "$(( ($(date +%s%N) - t0) / 1000000 ))" >> "$WORK/time_$n.txt"
  opt=(); [ -s "$WORK/opt_$n.json" ] && opt=(--optimum "$WORK/opt_$n.json")
  python3 "$BENCH/evaluate.py" "$WORK/$n.json" "$WORK/sol_$n.json" --strict --quiet "${opt[@]}" > "$WORK/ev_$n.json" || true
  python3 - "$WORK" "$n" "$tier" "$seed" <<'PY'
import json, sys
work, n, tier, seed = sys.argv[1:]
ev = json.load(open(f"{work}/ev_{n}.json"))
user, wall_ms = open(f"{work}/time_{n}.txt").read().split()
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
print(f"| {tier} | {seed} | {filled} | {ev['F']} | {ref_s} | {ratio} | {int(wall_ms) / 1000:.3f} s | {float(user):.2f} s | {ev['violations']} | {soft(stats['soft_before'])} → {soft(stats['soft_after'])} |")
PY
done
