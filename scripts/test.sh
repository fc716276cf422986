#!/usr/bin/env bash
# The whole test suite — the README's test command, and what CI runs (.ci/run).
#
# Installs and starts whatever the tests need (today: nothing beyond the Rust toolchain; the
# connector tests will start their servers through scripts/services.sh), then checks
# formatting, lints, docs, and runs every test including doctests.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

for tool in cargo rustfmt cargo-clippy; do
    command -v "$tool" >/dev/null || { echo "missing $tool: install the Rust toolchain (rustup) with rustfmt and clippy" >&2; exit 1; }
done

# One target directory, no incremental state, no debug info: faster clean builds on 2 cores.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
export CARGO_PROFILE_DEV_DEBUG="${CARGO_PROFILE_DEV_DEBUG:-0}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

step "format"
cargo fmt --all -- --check

step "clippy"
cargo clippy --workspace --all-targets --all-features -- -D warnings

step "docs"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --all-features

step "tests (unit, integration, doctests)"
cargo test --workspace --all-features
