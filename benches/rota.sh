#!/usr/bin/env bash
# Rota generation, end to end, on PostgreSQL + Redis (release build, worker in-process): the
# demo church seeded with a 100-member choir (`monservice seed --extra-department-size 100`),
# a month of services created through the API, then `POST /plannings/{id}/generate` timed
# until `GET /jobs/{jobId}` reports it done (benches/rota_generate.py), 20 runs. The worker's
# log line "rota generated" gives the solver-and-store time alone.
# Needs: PostgreSQL on 127.0.0.1:5432 (trust auth for postgres) and Redis on :6379.
# Usage: bash benches/rota.sh [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-20}
BIN=target/release/monservice
[ -x "$BIN" ] || cargo build --release -p server
PG=postgres://postgres@127.0.0.1:5432
psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS monservice_rota_bench WITH (FORCE)" -c "CREATE DATABASE monservice_rota_bench"
export DATABASE_URL="$PG/monservice_rota_bench" REDIS_URL=redis://127.0.0.1:6379 APP_ENV=development \
  LOG_LEVEL=info PORT=18081 RATE_LIMIT_PER_MINUTE=1000000000 DATA_DIR=$(mktemp -d)
"$BIN" migrate up >/dev/null
SEED=$("$BIN" seed --members 40 --extra-department-size 100 --json 2>/dev/null)
"$BIN" serve --with-worker >/tmp/monservice-rota-bench.log 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do curl -sf localhost:18081/health >/dev/null && break; sleep 0.1; done
psql -q "$DATABASE_URL" -c ANALYZE
DEPT=$(echo "$SEED" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(next(x["id"] for x in d["departments"] if x["members"] >= 100))')
TOKEN=$(curl -sf localhost:18081/api/v1/auth/login -H 'content-type: application/json' \
  -d "$(echo "$SEED" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(json.dumps({"email": d["admin"], "password": d["password"]}))')" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["accessToken"])')
NEXT=$(python3 -c 'import datetime as d; t=d.date.today(); m=t.month % 12 + 1; y=t.year + (t.month == 12); print(y, m)')
python3 benches/rota_generate.py http://127.0.0.1:18081 "$TOKEN" "$DEPT" $NEXT "$RUNS"
echo "== worker's own time (solve + store), from its log"
grep 'rota generated' /tmp/monservice-rota-bench.log | grep -oE 'elapsed_ms"?[=:][0-9]+' | grep -oE '[0-9]+$' | sort -n \
  | python3 -c 'import sys,statistics; v=[int(x) for x in sys.stdin]; print(f"{len(v)} generations: p50 {statistics.median(v)} ms, max {max(v)} ms") if v else print("no log lines")'
