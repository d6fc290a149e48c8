#!/usr/bin/env bash
# Runs every cargo-fuzz target of tlgen-runtime for N seconds each: run.sh [SECONDS] (default 60).
# Needs a nightly toolchain (libFuzzer instrumentation); installs cargo-fuzz if it is missing.
set -euo pipefail

seconds="${1:-60}"
cd "$(dirname "$0")"

if ! rustup toolchain list | grep -q '^nightly'; then
    echo "run.sh: a nightly toolchain is needed (rustup toolchain install nightly)" >&2
    exit 1
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    cargo +nightly install cargo-fuzz --locked
fi

for target in $(cargo +nightly fuzz list); do
    echo "== fuzzing ${target} for ${seconds}s"
    mkdir -p "corpus/${target}"
    cargo +nightly fuzz run "${target}" "corpus/${target}" -- -max_total_time="${seconds}"
done
