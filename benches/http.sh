#!/usr/bin/env bash
# HTTP figures against PostgreSQL, beside the physical limit measured in the same run:
#   * pgbench -S (select-only point reads) at the same concurrency as wrk;
#   * GET /health and GET /api/v1/users/me with wrk (release build);
#   * POST /api/v1/auth/login (argon2id) with wrk, logins/s and latency.
# Needs: a release build (cargo build --release -p server), wrk and pgbench (Debian), and
# PostgreSQL on 127.0.0.1:5432 with trust auth for user postgres. Rate limits are raised for
# the run (one user hammering its own account would otherwise be limited at 60/min).
# Usage: bash benches/http.sh [connections] [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
C=${1:-64}; D=${2:-10}
BIN=target/release/monservice
[ -x "$BIN" ] || cargo build --release -p server
PG=postgres://postgres@127.0.0.1:5432
psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS monservice_bench WITH (FORCE)" -c "CREATE DATABASE monservice_bench"
export DATABASE_URL="$PG/monservice_bench" APP_ENV=development LOG_LEVEL=warn PORT=18080 \
  RATE_LIMIT_PER_MINUTE=1000000000 RATE_LIMIT_AUTH_PER_MINUTE=1000000000 DATA_DIR=$(mktemp -d)
"$BIN" migrate up >/dev/null
"$BIN" serve --with-worker >/tmp/monservice-bench.log 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do curl -sf localhost:18080/health >/dev/null && break; sleep 0.1; done
TOKEN=$(curl -sf localhost:18080/api/v1/auth/register -H 'content-type: application/json' \
  -d '{"email":"bench@example.org","password":"correct horse battery","firstName":"B","lastName":"M"}' \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["accessToken"])')

echo "== physical limit: pgbench -S, $C clients, ${D}s"
psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS pgbench_limit WITH (FORCE)" -c "CREATE DATABASE pgbench_limit"
pgbench -q -i -s 10 "$PG/pgbench_limit" >/dev/null 2>&1
pgbench -n -S -c "$C" -j 2 -T "$D" "$PG/pgbench_limit" 2>/dev/null | grep -E "tps|latency average"

echo "== GET /health, wrk -t2 -c$C -d${D}s"
wrk -t2 -c"$C" -d"${D}s" --latency http://127.0.0.1:18080/health | grep -E "Requests/sec|99%|50%"
echo "== GET /api/v1/users/me (JWT + one SQL statement), wrk -t2 -c$C -d${D}s"
wrk -t2 -c"$C" -d"${D}s" --latency -H "Authorization: Bearer $TOKEN" http://127.0.0.1:18080/api/v1/users/me | grep -E "Requests/sec|99%|50%|Non-2xx"

cat > /tmp/monservice-login.lua <<'LUA'
wrk.method = "POST"
wrk.body = '{"email":"bench@example.org","password":"correct horse battery"}'
wrk.headers["Content-Type"] = "application/json"
LUA
echo "== POST /api/v1/auth/login (argon2id m=19MiB t=2 p=1), 1 connection (latency)"
wrk -t1 -c1 -d"${D}s" --latency -s /tmp/monservice-login.lua http://127.0.0.1:18080/api/v1/auth/login | grep -E "Requests/sec|50%|99%|Non-2xx"
echo "== POST /api/v1/auth/login, 4 connections (throughput on $(nproc) cores)"
wrk -t2 -c4 -d"${D}s" --latency -s /tmp/monservice-login.lua http://127.0.0.1:18080/api/v1/auth/login | grep -E "Requests/sec|50%|99%|Non-2xx"
psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS pgbench_limit WITH (FORCE)" -c "DROP DATABASE IF EXISTS monservice_bench WITH (FORCE)"
