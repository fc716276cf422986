#!/usr/bin/env bash
# Runs every fuzz target for RUNS inputs each (default 10 million) from the seeded corpus
# (seed.sh), without a sanitizer (safe Rust: panics, overflows and aborts are what we look
# for), and prints one line per target: inputs tried, seconds, crashes kept under
# artifacts/. Long runs, not CI: `RUNS=100000000 fuzz/run.sh segment`.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
runs="${RUNS:-10000000}"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(segment original decode_gate_analytics sklearn_json xgboost_json kernel_model lsh_users)
fi
[ -d corpus ] || ./seed.sh
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t" "artifacts/$t"
  log="$(mktemp)"
  start=$(date +%s)
  cargo +nightly fuzz run -s none -O "$t" "corpus/$t" -- -runs="$runs" -print_final_stats=1 \
    -artifact_prefix="artifacts/$t/" >"$log" 2>&1
  status=$?
  secs=$(( $(date +%s) - start ))
  done_runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  crashes=$(find "artifacts/$t" -type f | wc -l)
  echo "$t: ${done_runs:-?} inputs in ${secs} s, exit $status, ${crashes} crash files"
  if [ "$status" -ne 0 ]; then
    grep -m3 -E "panicked|ERROR|SUMMARY" "$log" | sed 's/^/    /'
  fi
  rm -f "$log"
done
