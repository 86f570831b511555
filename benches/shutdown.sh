#!/usr/bin/env bash
# Time from SIGTERM to exit of `monservice serve --with-worker` under load.
#
# Each round starts the release binary, loads it with two wrk runs at once for 10 s
# (GET /health and GET /api/v1/users/me with a token: a JWT check and one SQL statement,
# half of the connections each), sends SIGTERM 4 s in, and times `kill -TERM` → exit with
# `date +%s.%N`. It also prints what the clients saw: answers other than 2xx (there must be
# none: a request in flight completes, then its keep-alive connection is closed) and socket
# errors (those closings, and the refused reconnections after the listener closed).
#
# Database: SQLite in a temporary directory, or PostgreSQL with `--postgres` (a scratch
# database `monservice_shutdown_bench` on 127.0.0.1:5432, user postgres, trust auth).
# Needs: a release build (cargo build --release -p server; BIN=... to use another binary), wrk,
# curl, python3.
# The floor of about 1 s is actix-server's: a stopping worker checks once a second whether its
# connections are done (they are within milliseconds); the ceiling is SHUTDOWN_TIMEOUT_SECS.
# Usage: bash benches/shutdown.sh [--postgres] [rounds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
PG=false
if [ "${1:-}" = "--postgres" ]; then PG=true; shift; fi
ROUNDS=${1:-5}; C=${2:-64}
BIN=${BIN:-target/release/monservice}
[ -x "$BIN" ] || cargo build --release -p server
PORT=18090
WORK=$(mktemp -d)
PID=
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$WORK"' EXIT
export APP_ENV=development LOG_LEVEL=warn PORT RATE_LIMIT_PER_MINUTE=1000000000 \
  RATE_LIMIT_AUTH_PER_MINUTE=1000000000 SHUTDOWN_TIMEOUT_SECS=30

times=()
for round in $(seq 1 "$ROUNDS"); do
  export DATA_DIR="$WORK/data-$round"
  mkdir -p "$DATA_DIR"
  if $PG; then
    PGOPTIONS='-c client_min_messages=warning' psql -q postgres://postgres@127.0.0.1:5432/postgres \
      -c "DROP DATABASE IF EXISTS monservice_shutdown_bench WITH (FORCE)" \
      -c "CREATE DATABASE monservice_shutdown_bench"
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/monservice_shutdown_bench
    "$BIN" migrate up >/dev/null
  else
    export DATABASE_URL="sqlite://$DATA_DIR/monservice.db"
  fi
  "$BIN" serve --with-worker >"$WORK/server-$round.log" 2>&1 &
  PID=$!
  for _ in $(seq 1 100); do curl -sf "localhost:$PORT/health" >/dev/null && break; sleep 0.1; done
  TOKEN=$(curl -sf "localhost:$PORT/api/v1/auth/register" -H 'content-type: application/json' \
    -d '{"email":"shutdown@example.org","password":"correct horse battery","firstName":"S","lastName":"D"}' \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["accessToken"])')

  wrk -t1 -c"$((C / 2))" -d10s "http://127.0.0.1:$PORT/health" >"$WORK/health-$round" 2>&1 &
  W1=$!
  wrk -t1 -c"$((C / 2))" -d10s -H "Authorization: Bearer $TOKEN" \
    "http://127.0.0.1:$PORT/api/v1/users/me" >"$WORK/me-$round" 2>&1 &
  W2=$!
  sleep 4
  T0=$(date +%s.%N)
  kill -TERM "$PID"
  set +e; wait "$PID"; RC=$?; set -e
  T1=$(date +%s.%N)
  PID=
  wait "$W1" "$W2" || true
  took=$(python3 -c "print(f'{$T1 - $T0:.3f}')")
  times+=("$took")
  summary() { # file
    local reqs non2xx errors
    reqs=$(awk '/requests in/ {print $1}' "$1")
    non2xx=$(awk '/Non-2xx/ {print $NF}' "$1"); non2xx=${non2xx:-0}
    errors=$(grep -o 'Socket errors:.*' "$1" || echo "Socket errors: none")
    echo "$reqs requests, non-2xx $non2xx; $errors"
  }
  echo "round $round: exit code $RC, SIGTERM -> exit $took s"
  echo "   /health    $(summary "$WORK/health-$round")"
  echo "   /users/me  $(summary "$WORK/me-$round")"
done
python3 - "${times[@]}" <<'PY'
import statistics, sys
t = sorted(float(x) for x in sys.argv[1:])
print(f"SIGTERM -> exit over {len(t)} rounds: min {t[0]*1000:.0f} ms, "
      f"median {statistics.median(t)*1000:.0f} ms, max {t[-1]*1000:.0f} ms")
PY
