#!/usr/bin/env bash
# HTTP figures against PostgreSQL, beside the physical limit measured in the same run:
#   * pgbench -S (select-only point reads) at the same concurrency as wrk;
#   * GET /health and GET /api/v1/users/me with wrk (release build), then /users/me again at
#     half the measured rate (a per-request delay in a wrk script) for its p99;
#   * GET /api/v1/departments/{id}/members with 200 members (the demo church seeded by
#     `monservice seed --extra-department-size 200`), at full speed and at half rate;
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
# Full speed, then half the measured rate: each connection waits between its requests so
# that all of them together send about half as many (wrk has no rate option).
full_then_half() { # name url token
  echo "== GET $1, wrk -t2 -c$C -d${D}s"
  local out rps
  out=$(wrk -t2 -c"$C" -d"${D}s" --latency -H "Authorization: Bearer $3" "$2")
  echo "$out" | grep -E "Requests/sec|99%|50%|Non-2xx"
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  local delay
  delay=$(python3 -c "print(max(1, round($C * 2000 / $rps)))")
  printf 'function delay() return %s end\n' "$delay" > /tmp/monservice-half.lua
  echo "== GET $1 at about half that rate ($C connections, ${delay} ms between requests)"
  wrk -t2 -c"$C" -d"${D}s" --latency -s /tmp/monservice-half.lua -H "Authorization: Bearer $3" "$2" \
    | grep -E "Requests/sec|99%|50%|Non-2xx"
}
full_then_half "/api/v1/users/me (JWT + one SQL statement)" http://127.0.0.1:18080/api/v1/users/me "$TOKEN"

SEED=$("$BIN" seed --members 40 --extra-department-size 200 --json 2>/dev/null)
DEPT=$(echo "$SEED" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(next(x["id"] for x in d["departments"] if x["members"] >= 200))')
ADMIN_TOKEN=$(curl -sf localhost:18080/api/v1/auth/login -H 'content-type: application/json' \
  -d "$(echo "$SEED" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(json.dumps({"email": d["admin"], "password": d["password"]}))')" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["accessToken"])')
# Statistics as autovacuum would have them in a running service (a fresh table has none, and
# the planner then joins users through the organization index, 8x slower).
psql -q "$DATABASE_URL" -c ANALYZE
ORG=$(echo "$SEED" | python3 -c 'import json,sys; print(json.load(sys.stdin)["organizationId"])')
cat > /tmp/monservice-members.sql <<SQL
SELECT m.department_id, m.user_id, u.first_name, u.last_name, u.email, u.avatar_key, m.role, m.skills, m.status, m.joined_at
FROM department_members m JOIN departments d ON d.id = m.department_id AND d.organization_id = '$ORG'
JOIN users u ON u.id = m.user_id AND u.organization_id = '$ORG'
WHERE m.organization_id = '$ORG' AND m.department_id = '$DEPT' AND m.status = 'active'
ORDER BY lower(u.last_name), lower(u.first_name), u.id;
SQL
echo "== physical limit for the members list: its SQL alone in pgbench, $C clients, ${D}s"
pgbench -n -f /tmp/monservice-members.sql -c "$C" -j 2 -T "$D" "$DATABASE_URL" 2>/dev/null | grep -E "tps|latency average"
MEMBERS=$(curl -sf "localhost:18080/api/v1/departments/$DEPT/members" -H "Authorization: Bearer $ADMIN_TOKEN" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
echo "   (department $DEPT lists $MEMBERS members, $(curl -sf "localhost:18080/api/v1/departments/$DEPT/members" -H "Authorization: Bearer $ADMIN_TOKEN" | wc -c) bytes; 3 SQL statements, see crates/api/tests/statement_count.rs)"
full_then_half "/api/v1/departments/{id}/members (200 members)" "http://127.0.0.1:18080/api/v1/departments/$DEPT/members" "$ADMIN_TOKEN"

# The availability page: a member's month through `default-department`, with a few blockouts.
MEMBER_EMAIL=$(echo "$SEED" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(next(l["email"] for l in d["logins"] if l["role"] == "member"))')
MEMBER_TOKEN=$(curl -sf localhost:18080/api/v1/auth/login -H 'content-type: application/json' \
  -d "{\"email\":\"$MEMBER_EMAIL\",\"password\":\"$(echo "$SEED" | python3 -c 'import json,sys; print(json.load(sys.stdin)["password"])')\"}" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["accessToken"])')
read -r Y M < <(python3 -c 'import datetime as d; t=d.date.today(); m=t.month+2; print(t.year+(m-1)//12, (m-1)%12+1)')
curl -sf -X PUT localhost:18080/api/v1/departments/default-department/members/me/availabilities \
  -H "Authorization: Bearer $MEMBER_TOKEN" -H 'content-type: application/json' \
  -d "{\"year\":$Y,\"month\":$M,\"unavailableDates\":[{\"date\":\"$(printf '%04d-%02d-05' "$Y" "$M")\",\"isAllDay\":true},{\"date\":\"$(printf '%04d-%02d-12' "$Y" "$M")\",\"isAllDay\":false,\"startTime\":\"18:00\",\"endTime\":\"21:00\"}]}" >/dev/null
full_then_half "/departments/default-department/members/me/availabilities" \
  "http://127.0.0.1:18080/api/v1/departments/default-department/members/me/availabilities?year=$Y&month=$M" "$MEMBER_TOKEN"

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
