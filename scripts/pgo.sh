#!/usr/bin/env bash
# The realtime benchmark as a profile-guided build: instrumented, trained on every one of its
# entries (the baselines too, so ratios stay fair), rebuilt with that profile, then run. Not
# part of the test suite; what PGO gives is in docs/performance.md.
#
#   scripts/pgo.sh [criterion args...]
#   scripts/pgo.sh 'realtime/(serde_json_value|sonic_rs_value|decode|decode_gate|decode_gate_analytics)$'
#   python3 scripts/bench_ratios.py target/pgo/criterion
#
# Builds go to target/pgo (the usual target/ keeps its cache). A profile is only good for the
# code and compiler it was made with: the script always trains afresh. Needs rustup's
# llvm-tools component (installed if missing).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

host="$(rustc -vV | sed -n 's/^host: //p')"
profdata="$(rustc --print sysroot)/lib/rustlib/$host/bin/llvm-profdata"
if [ ! -x "$profdata" ]; then
    step "installing rustup's llvm-tools (llvm-profdata)"
    rustup component add llvm-tools
fi

export CARGO_TARGET_DIR="$PWD/target/pgo"
raw="$CARGO_TARGET_DIR/profiles/realtime"
merged="$CARGO_TARGET_DIR/profiles/realtime.profdata"
rm -rf "$raw" "$merged"
mkdir -p "$raw"

bench() {
    RUSTFLAGS="$1" cargo bench -p websight-core --bench realtime -- "${@:2}"
}
step "instrumented build, trained on every entry of the benchmark"
# Criterion's --profile-time runs each entry for that long without measuring.
bench "-Cprofile-generate=$raw" --profile-time 3 "$@"
step "merging the profile"
"$profdata" merge -o "$merged" "$raw"
step "the benchmark, profile-guided"
bench "-Cprofile-use=$merged" "$@"
echo "results in $CARGO_TARGET_DIR/criterion: python3 scripts/bench_ratios.py $CARGO_TARGET_DIR/criterion"
