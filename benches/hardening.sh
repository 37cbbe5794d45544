#!/usr/bin/env bash
# Long campaigns of issue 10 (hostile input, killed imports, slow clients),
# at the issue's scale; the default `cargo test` runs small versions of each
# (tests/hardening.rs, tests/hardening_api.rs). Prints the figures that
# RELIABILITY.md quotes.
#
#   bash benches/hardening.sh [path/to/snapgov]   (default: target/debug/snapgov)
#   ONLY=bomb|spool|slow bash benches/hardening.sh   (one campaign)
set -euo pipefail
BIN=${1:-target/debug/snapgov}
BIN=$(realpath "$BIN")
W=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$W"' EXIT
export SNAPGOV_CONFIG=$W/config.toml SNAPGOV_USER=bench NO_COLOR=1
: > "$W/config.toml"
size() { du -sb "$@" 2>/dev/null | awk '{s+=$1} END {print s+0}'; }

if [ -z "${ONLY:-}" ] || [ "$ONLY" = bomb ]; then
echo "== merge bomb: one package listed N times, each with its own location"
for n in 30000 120000; do
  python3 - "$n" > "$W/bomb.json" <<'PY'
import sys
n = int(sys.argv[1])
print('{"artifacts":[', end='')
print(','.join('{"name":"bomb","version":"1.0","type":"npm","purl":"pkg:npm/bomb@1.0","locations":[{"path":"/app/node_modules/some/deep/path/bomb-%07d/package.json"}]}' % i for i in range(n)), end='')
print('],"source":{"type":"image","name":"shop"},"descriptor":{"name":"syft","version":"1.0.0"}}')
PY
  rm -f "$W"/bomb.db*
  t0=$(date +%s.%N)
  SNAPGOV_DB=$W/bomb.db "$BIN" ingest import --tool syft "$W/bomb.json" > /dev/null 2> "$W/err" || { cat "$W/err"; exit 1; }
  t1=$(date +%s.%N)
  printf 'n=%d input=%d bytes  time=%.2fs  store=%d bytes  (%s)\n' "$n" "$(size "$W/bomb.json")" \
    "$(echo "$t1 - $t0" | bc)" "$(size "$W"/bomb.db*)" "$(head -c 120 "$W/err")"
done

fi
if [ -z "${ONLY:-}" ] || [ "$ONLY" = spool ]; then
echo "== stdin spool: imports from stdin killed mid-read (SIGKILL and SIGINT)"
mkdir -p "$W/tmp"
"$BIN" generate --format syft-json --packages 200000 --out "$W/feed.json"
for sig in KILL INT KILL INT KILL; do
  ( TMPDIR=$W/tmp SNAPGOV_DB=$W/spool.db exec "$BIN" ingest import --tool syft - < <(cat "$W/feed.json"; sleep 30) ) > /dev/null 2>&1 &
  pid=$!
  sleep 2
  kill -s "$sig" "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
done
printf 'input=%d bytes x 5 runs  left in TMPDIR: %d files, %d bytes\n' "$(size "$W/feed.json")" \
  "$(find "$W/tmp" -type f | wc -l)" "$(find "$W/tmp" -type f -printf '%s\n' | awk '{s+=$1} END {print s+0}')"

fi
if [ -z "${ONLY:-}" ] || [ "$ONLY" = slow ]; then
echo "== slow clients: connections that never finish their headers"
printf '[server]\nheader_read_timeout_secs = 10\n' > "$W/config.toml"
SNAPGOV_DB=$W/srv.db "$BIN" serve --listen 127.0.0.1:0 --no-scheduler 2> "$W/srv.log" &
for _ in $(seq 100); do grep -q 'listening on' "$W/srv.log" && break; sleep 0.1; done
addr=$(sed -n 's/^listening on //p' "$W/srv.log")
for addrs in 1 200; do
echo "-- from $addrs client address(es)"
python3 - "$addr" "$addrs" <<'PY'
import socket, sys, time, resource, urllib.request
host, port = sys.argv[1].rsplit(':', 1); port = int(port)
naddr = int(sys.argv[2])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
want = min(20000, hard - 200)
held, t0 = [], time.time()
for i in range(want):
    s = socket.socket()
    s.bind(('127.0.0.%d' % (2 + i % naddr), 0))
    s.setblocking(False)
    try: s.connect((host, port))
    except BlockingIOError: pass
    held.append(s)
time.sleep(1)
for i, s in enumerate(held):
    if i % 2 == 0:
        try: s.send(b'GET /healthz HTTP/1.1\r\nHost: x\r\n')
        except OSError: pass
lat = []
for _ in range(10):
    t = time.time()
    try:
        urllib.request.urlopen('http://%s:%d/healthz' % (host, port), timeout=10).read()
        lat.append(time.time() - t)
    except Exception as e:
        lat.append(float('inf'))
    time.sleep(0.2)
print('connections held: %d (opened in %.1fs); /healthz x10: max %.3fs, median %.3fs' % (
    len(held), time.time() - t0, max(lat), sorted(lat)[5]))
time.sleep(12)
closed = 0
for s in held:
    try:
        d = s.recv(64)
        closed += 1  # EOF or a 408
    except BlockingIOError: pass
    except OSError: closed += 1
print('after the 10 s header-read timeout: %d of %d closed by the server' % (closed, len(held)))
for s in held: s.close()
PY
sleep 12
done
fi
