#!/usr/bin/env bash
# Import throughput on PostgreSQL: snapgov against PostgreSQL's own floor on
# the same machine, with the SQLite import of the same feed side by side.
#
#   benches/pg_import.sh [PACKAGES]        (default 1000000)
#
# What it does (feeds in a temporary directory, stores in fresh schemas of
# the database, all removed at the end):
#   1. builds snapgov (release) and installs b3sum (cargo install) if missing;
#   2. generates a Syft JSON feed of PACKAGES packages (seed 1) and a second
#      one with 1% churn (seed 2, --churn-permille 10);
#   3. imports the first feed into a fresh store, then the churned feed into
#      the same store, on PostgreSQL (a fresh schema) and on SQLite (a fresh
#      file), each timed with /usr/bin/time (wall, CPU of the snapgov
#      process, peak RSS);
#   4. the floor: the same normalized rows (record hash, kind, severity,
#      subject, canonical body) exported from the PostgreSQL store as CSV
#      (untimed), then timed: `psql -c '\copy records FROM rows.csv CSV'`
#      into a fresh table shaped like `records` (same UNIQUE index on the
#      hash, same collation) plus `b3sum` of the source feed;
#   5. prints a table with the ratio of each import to the floor and says
#      whether the target (PostgreSQL's first import within 1.5x of its
#      floor) is met.
#
# Wall time is what counts: the server's work is not in the CPU column.
#
# Environment:
#   BENCH_PG=URL        the database (default
#                       postgres://root@127.0.0.1:5432/test?sslmode=disable);
#                       the script creates and drops schemas
#                       snapgov_bench_<pid> and snapgov_floor_<pid> in it
#   BENCH_RUNS=N        repeat every measurement N times, keep the fastest
#   BENCH_TMPDIR=DIR    where the feeds and the SQLite store go
#   BENCH_TIMEOUT=SECS  limit for each timed step (default 1800)
#   BENCH_SQLITE=0      skip the SQLite imports
#   BENCH_BASELINE=BIN  also time another snapgov binary (e.g. one built from
#                       an earlier commit) on PostgreSQL, right after this
#                       one in each run, for a before/after in one run
#
# Needs: cargo, psql, GNU time at /usr/bin/time.
set -euo pipefail

PACKAGES="${1:-1000000}"
RUNS="${BENCH_RUNS:-1}"
STEP_TIMEOUT="${BENCH_TIMEOUT:-1800}"
PG="${BENCH_PG:-postgres://root@127.0.0.1:5432/test?sslmode=disable}"
cd "$(dirname "$0")/.."
ROOT="$(pwd)"

die() { echo "pg_import.sh: $*" >&2; exit 1; }
[[ "$PACKAGES" =~ ^[1-9][0-9]*$ ]] || die "PACKAGES must be a positive integer, got '$PACKAGES'"
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS must be a positive integer"
[ -x /usr/bin/time ] || die "GNU time is missing (apt-get install time)"
command -v psql >/dev/null || die "psql is missing (apt-get install postgresql-client)"
if ! command -v b3sum >/dev/null; then
  export PATH="$HOME/.cargo/bin:$PATH"
  if ! command -v b3sum >/dev/null; then
    echo "== installing b3sum (cargo install b3sum)"
    cargo install --quiet b3sum
  fi
fi

# URL with a search_path: $1 the schema.
with_schema() {
  case "$PG" in
    *\?*) echo "$PG&options=-csearch_path%3D$1" ;;
    *) echo "$PG?options=-csearch_path%3D$1" ;;
  esac
}
SCHEMA="snapgov_bench_$$"
FLOOR_SCHEMA="snapgov_floor_$$"
STORE_PG="$(with_schema "$SCHEMA")"
FLOOR_PG="$(with_schema "$FLOOR_SCHEMA")"
sql() { psql "$PG" -v ON_ERROR_STOP=1 -qAtc "SET client_min_messages = warning; $1"; }
sql "SELECT 1" >/dev/null || die "cannot reach the database at BENCH_PG"

echo "== building snapgov (release)"
cargo build --release --quiet --bin snapgov
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/snapgov"
[ -x "$BIN" ] || die "no binary at $BIN"

WORK="$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/snapgov-pgbench.XXXXXX")"
cleanup() {
  rm -rf "$WORK"
  sql "DROP SCHEMA IF EXISTS $SCHEMA CASCADE; DROP SCHEMA IF EXISTS $FLOOR_SCHEMA CASCADE" >/dev/null 2>&1 || true
}
trap cleanup EXIT
export XDG_CONFIG_HOME="$WORK/config" SNAPGOV_USER=bench
unset SNAPGOV_DB SNAPGOV_CONFIG SNAPGOV_NOW

FEED1="$WORK/feed1.json"
FEED2="$WORK/feed2.json"
echo "== generating $PACKAGES-package syft feeds in $WORK"
timeout "$STEP_TIMEOUT" "$BIN" generate --format syft-json --packages "$PACKAGES" --seed 1 --out "$FEED1"
timeout "$STEP_TIMEOUT" "$BIN" generate --format syft-json --packages "$PACKAGES" --seed 2 --churn-permille 10 --out "$FEED2"
FEED_BYTES=$(stat -c %s "$FEED1")

measure() {
  local label="$1"; shift
  local tf="$WORK/time.txt"
  if ! timeout "$STEP_TIMEOUT" /usr/bin/time -f '%e %U %S %M' -o "$tf" "$@" >"$WORK/out.txt" 2>&1; then
    cat "$WORK/out.txt" >&2
    die "$label failed (or exceeded ${STEP_TIMEOUT}s)"
  fi
  read -r M_WALL u s M_RSS <"$tf"
  M_CPU=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')
  printf '   %-30s wall %7.2fs  cpu %7.2fs  peak RSS %5d MB\n' "$label" "$M_WALL" "$M_CPU" $((M_RSS / 1024))
}
keep_min() {
  local v="$1" cur
  cur=$(eval "echo \${${v}_WALL:-}")
  if [ -z "$cur" ] || awk -v a="$M_WALL" -v b="$cur" 'BEGIN { exit !(a < b) }'; then
    eval "${v}_WALL=$M_WALL ${v}_CPU=$M_CPU ${v}_RSS=$M_RSS"
  fi
}
warm() { cat "$@" >/dev/null; }
# The first feed, then the churned one, into one store, each timed: $1 the
# binary, $2 the store, then a label and the figure to keep for each.
two_imports() {
  warm "$FEED1"
  measure "$3" "$1" --db "$2" ingest import --tool syft "$FEED1"
  keep_min "$4"
  warm "$FEED2"
  measure "$5" "$1" --db "$2" ingest import --tool syft "$FEED2"
  keep_min "$6"
}

ROWS="$WORK/rows.csv"
LITE="$WORK/store.db"
for run in $(seq "$RUNS"); do
  echo "== run $run/$RUNS: snapgov on PostgreSQL"
  sql "DROP SCHEMA IF EXISTS $SCHEMA CASCADE; CREATE SCHEMA $SCHEMA"
  warm "$FEED1"
  measure "PG import (fresh store)" "$BIN" --db "$STORE_PG" ingest import --tool syft "$FEED1"
  keep_min PG1
  if [ "$run" = 1 ]; then
    psql "$STORE_PG" -v ON_ERROR_STOP=1 -qc "\\copy (SELECT hash, kind, severity, subject, body FROM records ORDER BY id) TO '$ROWS' (FORMAT csv)"
    RECORDS=$(psql "$STORE_PG" -qAtc "SELECT count(*) FROM records")
  fi
  warm "$FEED2"
  measure "PG import 1% churn" "$BIN" --db "$STORE_PG" ingest import --tool syft "$FEED2"
  keep_min PG2
  CHANGED=$(sed -n 's/.*(\([0-9]*\) records changed).*/\1/p' "$WORK/out.txt")
  sql "DROP SCHEMA $SCHEMA CASCADE"

  if [ -n "${BENCH_BASELINE:-}" ]; then
    echo "== run $run/$RUNS: baseline ($BENCH_BASELINE) on PostgreSQL"
    sql "CREATE SCHEMA $SCHEMA"
    two_imports "$BENCH_BASELINE" "$STORE_PG" "baseline PG import (fresh)" PB1 "baseline PG import 1% churn" PB2
    sql "DROP SCHEMA $SCHEMA CASCADE"
  fi

  if [ "${BENCH_SQLITE:-1}" != 0 ]; then
    echo "== run $run/$RUNS: snapgov on SQLite"
    rm -f "$LITE" "$LITE-wal" "$LITE-shm"
    two_imports "$BIN" "$LITE" "SQLite import (fresh store)" LT1 "SQLite import 1% churn" LT2
    rm -f "$LITE" "$LITE-wal" "$LITE-shm"
  fi

  echo "== run $run/$RUNS: floor"
  sql "DROP SCHEMA IF EXISTS $FLOOR_SCHEMA CASCADE; CREATE SCHEMA $FLOOR_SCHEMA"
  psql "$FLOOR_PG" -v ON_ERROR_STOP=1 -qc 'CREATE TABLE records (hash BYTEA NOT NULL UNIQUE, kind TEXT COLLATE "C" NOT NULL, severity TEXT COLLATE "C", subject TEXT COLLATE "C" NOT NULL, body TEXT COLLATE "C" NOT NULL)'
  warm "$ROWS"
  measure "psql \\copy (CSV)" psql "$FLOOR_PG" -v ON_ERROR_STOP=1 -qc "\\copy records FROM '$ROWS' (FORMAT csv)"
  keep_min CP
  n=$(psql "$FLOOR_PG" -qAtc "SELECT count(*) FROM records")
  [ "$n" = "$RECORDS" ] || die "the floor copied $n rows, expected $RECORDS"
  sql "DROP SCHEMA $FLOOR_SCHEMA CASCADE"
  warm "$FEED1"
  measure "b3sum (source)" b3sum "$FEED1"
  keep_min B3
done
CSV_BYTES=$(stat -c %s "$ROWS")

awk -v n="$RECORDS" -v pk="$PACKAGES" -v bytes="$FEED_BYTES" -v csv="$CSV_BYTES" -v runs="$RUNS" \
  -v p1w="$PG1_WALL" -v p1c="$PG1_CPU" -v p1r="$PG1_RSS" \
  -v p2w="$PG2_WALL" -v p2c="$PG2_CPU" -v p2r="$PG2_RSS" \
  -v b1w="${PB1_WALL:--1}" -v b1c="${PB1_CPU:-0}" -v b1r="${PB1_RSS:-0}" \
  -v b2w="${PB2_WALL:--1}" -v b2c="${PB2_CPU:-0}" -v b2r="${PB2_RSS:-0}" \
  -v l1w="${LT1_WALL:--1}" -v l1c="${LT1_CPU:-0}" -v l1r="${LT1_RSS:-0}" \
  -v l2w="${LT2_WALL:--1}" -v l2c="${LT2_CPU:-0}" -v l2r="${LT2_RSS:-0}" \
  -v cw="$CP_WALL" -v cc="$CP_CPU" -v cr="$CP_RSS" \
  -v bw="$B3_WALL" -v bc="$B3_CPU" -v br="$B3_RSS" -v changed="$CHANGED" 'BEGIN {
  fw = cw + bw; fc = cc + bc
  printf "\n%d packages -> %d records; feed %.0f MB; CSV %.0f MB; fastest of %d run(s)\n", pk, n, bytes / 1e6, csv / 1e6, runs
  printf "%-32s %9s %9s %11s %8s %9s %8s\n", "step", "wall s", "cpu s", "records/s", "MB/s", "peak RSS", "x floor"
  row("PG import (fresh store)", p1w, p1c, p1r, p1w / fw, bytes)
  row("PG import (1% churn)", p2w, p2c, p2r, p2w / fw, bytes)
  if (b1w >= 0) {
    row("baseline: PG import (fresh)", b1w, b1c, b1r, b1w / fw, bytes)
    row("baseline: PG import (1% churn)", b2w, b2c, b2r, b2w / fw, bytes)
  }
  if (l1w >= 0) {
    row("SQLite import (fresh store)", l1w, l1c, l1r, l1w / fw, bytes)
    row("SQLite import (1% churn)", l2w, l2c, l2r, l2w / fw, bytes)
  }
  row("floor: psql \\copy (CSV)", cw, cc, cr, -1, csv)
  row("floor: b3sum (feed)", bw, bc, br, -1, bytes)
  row("floor: total", fw, fc, (cr > br ? cr : br), 1, bytes)
  printf "\n%s records changed in the churned import\n", changed
  printf "target: PG first import within 1.5x of the PG floor: %s (%.2fx)\n", (p1w <= 1.5 * fw ? "met" : "MISSED"), p1w / fw
}
function row(label, w, c, r, ratio, b) {
  printf "%-32s %9.2f %9.2f %11.0f %8.1f %6d MB", label, w, c, n / (w > 0 ? w : 0.01), b / (w > 0 ? w : 0.01) / 1e6, r / 1024
  if (ratio >= 0) printf " %7.2fx", ratio
  printf "\n"
}'
