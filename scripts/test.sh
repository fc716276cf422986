#!/usr/bin/env bash
# The whole test suite — the README's test command, and what CI runs (.ci/run).
#
# Installs and starts whatever the tests need (Debian packages for the `xgboost` feature and
# the browser test; the connector tests' servers through scripts/services.sh), then checks
# formatting, lints, docs, and runs every test including doctests, with all features.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

for tool in cargo rustfmt cargo-clippy; do
    command -v "$tool" >/dev/null || { echo "missing $tool: install the Rust toolchain (rustup) with rustfmt and clippy" >&2; exit 1; }
done

# XGBoost (feature `xgboost`) builds its C++ sources with cmake and generates bindings with
# libclang; the report is checked in headless Chromium. Installed once, idempotently.
missing=()
command -v cmake >/dev/null || missing+=(cmake)
command -v clang >/dev/null || missing+=(clang)
dpkg -s libclang-dev >/dev/null 2>&1 || missing+=(libclang-dev)
# rdkafka (feature `kafka`) builds librdkafka from source with cmake.
for pkg in libcurl4-openssl-dev zlib1g-dev libssl-dev; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
# The report's browser test runs Debian's headless Chromium.
[ -x /usr/bin/chromium ] || missing+=(chromium)
# The collector is tested behind Debian's nginx with the proxy settings shipped in
# deploy/nginx (tests/serve.rs runs it on 127.0.0.1 itself; the package's own service is not
# started where policy-rc.d forbids it, as in containers, and is not needed).
[ -x /usr/sbin/nginx ] || missing+=(nginx-light)
# The shipped systemd unit (deploy/systemd) is checked with systemd-analyze.
command -v systemd-analyze >/dev/null || missing+=(systemd)
# The shipped TLS site is checked with a throw-away certificate.
command -v openssl >/dev/null || missing+=(openssl)
# The Python SDKs and the local servers live in venvs.
dpkg -s python3-venv >/dev/null 2>&1 || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
    step "installing ${missing[*]}"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}"
fi

# Real tracking SDKs from npm (pinned in scripts/sdk/package-lock.json) that the ingestion
# tests drive: @segment/analytics-node, @rudderstack/rudder-sdk-node, @jitsu/js, and
# @segment/analytics-next and @rudderstack/analytics-js in Chromium through playwright-core
# (which drives Debian's chromium; it downloads no browser).
command -v npm >/dev/null || { echo "missing npm: install Node.js 18 or newer" >&2; exit 1; }
missing_sdk=0
for package in @segment/analytics-node @rudderstack/rudder-sdk-node @jitsu/js @segment/analytics-next @rudderstack/analytics-js playwright-core; do
    [ -d "scripts/sdk/node_modules/$package" ] || missing_sdk=1
done
if [ "$missing_sdk" = 1 ]; then
    step "npm ci (scripts/sdk)"
    npm ci --prefix scripts/sdk --no-audit --no-fund --loglevel=error
fi

# Real Python server SDKs from PyPI (pinned in scripts/sdk/requirements.txt), in a venv of
# their own; pip leaves what is installed as pinned alone.
step "python SDKs (scripts/sdk/.venv)"
[ -x scripts/sdk/.venv/bin/python ] || python3 -m venv scripts/sdk/.venv
scripts/sdk/.venv/bin/pip install -q --disable-pip-version-check -r scripts/sdk/requirements.txt

# Local servers for the connector tests (Python venv + Debian redis-server; see the script),
# bound to 127.0.0.1, stopped again when the suite ends.
step "services"
bash scripts/services.sh start
eval "$(bash scripts/services.sh env)"
export WEBSIGHT_REQUIRE_SERVICES=1
trap 'bash scripts/services.sh stop' EXIT

# One target directory, no incremental state, no debug info: faster clean builds on 2 cores.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
export CARGO_PROFILE_DEV_DEBUG="${CARGO_PROFILE_DEV_DEBUG:-0}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# Here the browser test must run, not skip.
export WEBSIGHT_REQUIRE_BROWSER=1

step "format"
cargo fmt --all -- --check

step "clippy"
cargo clippy --workspace --all-targets --all-features -- -D warnings

step "docs"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --all-features

step "tests (unit, integration, doctests)"
cargo test --workspace --all-features
