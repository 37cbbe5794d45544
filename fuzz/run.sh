#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 60), seeded with the
# project's own fixtures. Needs cargo-fuzz (`cargo install cargo-fuzz`); on
# a stable toolchain RUSTC_BOOTSTRAP=1 lets it pass the sanitizer flags.
# A crash leaves its input in fuzz/artifacts/<target>/; copy it into
# tests/fuzz_regressions/<target>/ so the regression test replays it.
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-60}
export RUSTC_BOOTSTRAP=1
cargo fuzz build -O
for t in parse_any parse_syft parse_trivy parse_clair parse_cyclonedx parse_native config_and_times; do
  mkdir -p "corpus/$t"
  if [ "$t" = config_and_times ]; then
    cp ../assets/config.toml "corpus/$t/" 2>/dev/null || true
  else
    cp ../tests/fixtures/* "corpus/$t/" 2>/dev/null || true
  fi
  echo "== $t for ${secs}s"
  cargo fuzz run -O "$t" "corpus/$t" -- -max_total_time="$secs" -rss_limit_mb=2048 -max_len=262144 2>&1 \
    | grep -E "^#[0-9]+ *DONE|Done [0-9]+ runs|SUMMARY|panicked|ERROR" || true
done
