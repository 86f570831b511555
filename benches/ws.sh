#!/usr/bin/env bash
# Live notifications at scale, on PostgreSQL + Redis (release builds): two API instances
# (`monservice serve`, no worker) and one worker process (`monservice worker`), the demo church
# seeded with a 100-member choir, then the load client (crates/api/examples/ws_load.rs):
# signs the 100 members in, opens N WebSockets (default 2,000) spread over the members and
# alternately over the two instances, reads the API processes' RSS idle before and after, then
# publishes a generated month's rota and reports the publish → receipt latency (p50/p99) over
# every connection of an assigned member.
# Needs: PostgreSQL on 127.0.0.1:5432 (trust auth for postgres) and Redis on :6379.
# Usage: [LOAD_PROFILE=debug] bash benches/ws.sh [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-2000}
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
TARGET=${CARGO_TARGET_DIR:-target}
# Two builds: building them in one command would unify the server's features with the
# example's dev-dependencies and rebuild everything. LOAD_PROFILE=debug reuses the test build.
cargo build --release -p server
LOAD_PROFILE=${LOAD_PROFILE:-release}
if [ "$LOAD_PROFILE" = release ]; then cargo build --release -p api --example ws_load; else cargo build -p api --example ws_load; fi
BIN=$TARGET/release/monservice
LOAD=$TARGET/$LOAD_PROFILE/examples/ws_load
PG=postgres://postgres@127.0.0.1:5432
psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS monservice_ws_bench WITH (FORCE)" -c "CREATE DATABASE monservice_ws_bench"
export DATABASE_URL="$PG/monservice_ws_bench" REDIS_URL=redis://127.0.0.1:6379 APP_ENV=development \
  REDIS_NAMESPACE="wsbench-$$" LOG_LEVEL=warn RATE_LIMIT_PER_MINUTE=1000000000 \
  RATE_LIMIT_AUTH_PER_MINUTE=1000000000 DATA_DIR=$(mktemp -d)
"$BIN" migrate up >/dev/null
SEED=$("$BIN" seed --members 40 --extra-department-size 100 --json 2>/dev/null)
PORT=18091 "$BIN" serve >/tmp/monservice-ws-a.log 2>&1 &
A=$!
PORT=18092 "$BIN" serve >/tmp/monservice-ws-b.log 2>&1 &
B=$!
"$BIN" worker >/tmp/monservice-ws-worker.log 2>&1 &
W=$!
trap 'kill $A $B $W 2>/dev/null || true' EXIT
for port in 18091 18092; do
  for _ in $(seq 1 100); do curl -sf "localhost:$port/health" >/dev/null && break; sleep 0.1; done
done
psql -q "$DATABASE_URL" -c ANALYZE
DEPT=$(echo "$SEED" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(next(x["id"] for x in d["departments"] if x["members"] >= 100))')
ADMIN=$(echo "$SEED" | python3 -c 'import json,sys; print(json.load(sys.stdin)["admin"])')
PASSWORD=$(echo "$SEED" | python3 -c 'import json,sys; print(json.load(sys.stdin)["password"])')
read -r YEAR MONTH < <(python3 -c 'import datetime as d; t=d.date.today(); m=t.month % 12 + 1; y=t.year + (t.month == 12); print(y, m)')
"$LOAD" --a http://127.0.0.1:18091 --b http://127.0.0.1:18092 --admin "$ADMIN" --password "$PASSWORD" \
  --dept "$DEPT" --year "$YEAR" --month "$MONTH" --connections "$N" --pids "$A,$B"
