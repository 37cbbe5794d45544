#!/usr/bin/env bash
# HTTP load check for `snapgov serve`: requests/s and p99 latency of the
# snapshot list and SLA endpoints against a store with 10,000 snapshots,
# while imports keep arriving through the API.
#
#   bash benches/load.sh                 # 10 s per endpoint, 16 connections
#   DURATION=30s CONNS=64 SNAPSHOTS=20000 bash benches/load.sh
#   BENCH_PG=postgres://root@127.0.0.1:5432/test?sslmode=disable bash benches/load.sh
#
# With BENCH_PG (a PostgreSQL URL) the same run is made against a store in a
# fresh schema of that database (snapgov_load_<pid>, dropped at the end),
# after the SQLite one, and the requests/s are printed side by side.
#
# BENCH_PIN=1 gives the database a core of its own, as a team's PostgreSQL
# server on its own host would have: this script and everything it starts
# (the server, wrk, the imports) run on CPU 1 only, and, for the PostgreSQL
# run, the local PostgreSQL server's processes on CPU 0 only (their CPU
# affinity is put back at the end; needs taskset and the right to set the
# server's affinity). SQLite runs inside the server, so CPU 0 stays idle
# for it.
#
# Needs wrk (`apt-get install -y wrk`) and curl. Everything stays on
# 127.0.0.1, every loop is bounded in time, and the server is stopped at the
# end. The store is built by benches/load_seed.rs (in-process imports).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNS=${CONNS:-16}
THREADS=${THREADS:-2}
SNAPSHOTS=${SNAPSHOTS:-10000}
TOOLS=${TOOLS:-20}
NOW=2025-12-04T12:00:00Z
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
command -v curl >/dev/null || { echo "curl is missing" >&2; exit 1; }

work=$(mktemp -d)
server_pid=
importer_pid=
pg_schema="snapgov_load_$$"
stop_server() {
  [ -n "$importer_pid" ] && kill "$importer_pid" 2>/dev/null || true
  if [ -n "$server_pid" ]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  importer_pid=
  server_pid=
}
pg_pinned=
pg_mask=
pin_pg() {
  local dir pid
  dir=$(psql "$BENCH_PG" -Atc "SHOW data_directory")
  pid=$(head -n1 "$dir/postmaster.pid")
  pg_mask=$(taskset -p "$pid" | awk '{print $NF}')
  pg_pinned="$pid $(pgrep -P "$pid" | tr '\n' ' ')"
  # New backends are forked by the postmaster and inherit its affinity.
  for p in $pg_pinned; do taskset -p -c "$1" "$p" >/dev/null; done
}
cleanup() {
  # The postmaster's own mask from before, on it and every process it has now.
  [ -n "$pg_pinned" ] && for p in $pg_pinned $(pgrep -P "${pg_pinned%% *}"); do taskset -p "$pg_mask" "$p" >/dev/null 2>&1 || true; done
  stop_server
  [ -n "${BENCH_PG:-}" ] && psql "$BENCH_PG" -qc "DROP SCHEMA IF EXISTS $pg_schema CASCADE" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
if [ "${BENCH_PIN:-0}" = 1 ]; then
  command -v taskset >/dev/null || { echo "BENCH_PIN=1 needs taskset (util-linux)" >&2; exit 1; }
  [ "$(nproc)" -ge 2 ] || { echo "BENCH_PIN=1 needs two CPUs" >&2; exit 1; }
  taskset -p -c 1 $$ >/dev/null
  echo "== pinned: this script and what it starts on CPU 1${BENCH_PG:+, the PostgreSQL server on CPU 0}"
fi

echo "== building (release)"
cargo build --release --quiet --bin snapgov
bin="$CARGO_TARGET_DIR/release/snapgov"
# bench_store LABEL DB: seeds a store at DB, serves it, measures it.
bench_store() {
  local label=$1 db=$2
  : >"$work/imports.log"
  echo "== $label: seeding $SNAPSHOTS snapshots over $TOOLS tools"
  cargo bench --quiet --bench load_seed -- "$db" "$SNAPSHOTS" "$TOOLS"

  export SNAPGOV_NOW=$NOW SNAPGOV_CONFIG="$work/config.toml" SNAPGOV_USER=load
  : >"$work/config.toml"
  token=$("$bin" --db "$db" token create --role operator --name load-check 2>/dev/null)
  "$bin" generate --format syft-json --packages 50 --out "$work/feed.json"

  echo "== starting the server"
  "$bin" --db "$db" serve --listen 127.0.0.1:0 2>"$work/server.log" &
  server_pid=$!
  addr=
  for _ in $(seq 1 200); do
    addr=$(sed -n 's/^listening on //p' "$work/server.log" | head -n1)
    [ -n "$addr" ] && break
    sleep 0.05
  done
  case "$addr" in
    127.0.0.1:*) ;;
    *) echo "the server did not start on loopback:" >&2; cat "$work/server.log" >&2; exit 1 ;;
  esac
  base="http://$addr"
  auth="Authorization: Bearer $token"
  snapshots() { curl -s -H "$auth" "$base/metrics" | awk '$1 == "snapgov_snapshots" {print $2}'; }
  echo "   $base: $(snapshots) snapshots"

  # Concurrent imports for the whole measurement, bounded in time. With the
  # clock fixed, ids count up within one second, so spread them over tools.
  seconds=${DURATION%s}
  budget=$(( seconds * 4 + 10 ))
  (
    end=$(( $(date +%s) + budget ))
    i=0
    while [ "$(date +%s)" -lt "$end" ]; do
      code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "$auth" \
        --data-binary "@$work/feed.json" \
        "$base/api/v1/ingest/imports?tool=pushed$(( i % 40 ))&reason=load" || echo 000)
      echo "$code" >>"$work/imports.log"
      i=$(( i + 1 ))
    done
  ) &
  importer_pid=$!

  run() {
    local name=$1 path=$2
    local out
    out=$(wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -H "$auth" "$base$path")
    local rps p99 p50 non2xx
    rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
    p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    non2xx=$(awk '/Non-2xx/ {print $5}' <<<"$out")
    printf '%-44s %10s req/s   p50 %-9s p99 %-9s%s\n' "$name" "$rps" "$p50" "$p99" \
      "${non2xx:+   non-2xx: $non2xx}"
  }

  echo "== wrk: $THREADS threads, $CONNS connections, $DURATION per endpoint, imports running"
  run "GET /api/v1/ingest/snapshots (page of 100)" "/api/v1/ingest/snapshots?limit=100"
  # A page deep in the listing: follow nextCursor past 5,000 snapshots.
  cursor=
  for _ in 1 2 3 4 5; do
    cursor=$(curl -s -H "$auth" "$base/api/v1/ingest/snapshots?limit=1000${cursor:+&cursor=$cursor}" |
      sed -n 's/.*"nextCursor":"\([^"]*\)".*/\1/p')
  done
  run "GET /api/v1/ingest/snapshots (page 51, cursor)" "/api/v1/ingest/snapshots?limit=100&cursor=$cursor"
  run "GET /api/v1/ingest/snapshots?tool&state" "/api/v1/ingest/snapshots?tool=tool07&state=previous&limit=100"
  run "GET /api/v1/ingest/sla (every tool)" "/api/v1/ingest/sla"
  run "GET /api/v1/ingest/sla?tool=tool03" "/api/v1/ingest/sla?tool=tool03"

  kill "$importer_pid" 2>/dev/null || true
  wait "$importer_pid" 2>/dev/null || true
  importer_pid=
  total=$(wc -l <"$work/imports.log")
  ok=$(grep -c '^201$' "$work/imports.log" || true)
  echo "== concurrent imports during the run: $ok of $total returned 201 ($(sort "$work/imports.log" | uniq -c | tr -s ' ' | tr '\n' ',' | sed 's/,$//'))"
  echo "== store: $(snapshots) snapshots"
  stop_server
}

bench_store SQLite "$work/load.db" > >(tee "$work/sqlite.txt")
if [ -n "${BENCH_PG:-}" ]; then
  command -v psql >/dev/null || { echo "psql is missing" >&2; exit 1; }
  psql "$BENCH_PG" -v ON_ERROR_STOP=1 -qc "SET client_min_messages = warning; DROP SCHEMA IF EXISTS $pg_schema CASCADE; CREATE SCHEMA $pg_schema"
  [ "${BENCH_PIN:-0}" = 1 ] && pin_pg 0
  case "$BENCH_PG" in *\?*) sep='&' ;; *) sep='?' ;; esac
  bench_store PostgreSQL "$BENCH_PG${sep}options=-csearch_path%3D$pg_schema" > >(tee "$work/pg.txt")
  sleep 1
  echo "== requests/s side by side (SQLite, PostgreSQL)"
  paste -d'\t' <(grep '^GET' "$work/sqlite.txt") <(grep '^GET' "$work/pg.txt" | awk '{for (i = 1; i <= NF; i++) if ($i == "req/s") print $(i - 1)}') |
    awk -F'\t' '{ split($1, a, "  +"); n = split($1, w, " "); for (i = 1; i <= n; i++) if (w[i] == "req/s") l = w[i - 1];
      printf "%-48s %10s %10s  %s\n", a[1], l, $2, ($2 + 0 >= l + 0 ? "PG >= SQLite" : "PG < SQLite") }'
fi
