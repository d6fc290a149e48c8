#!/usr/bin/env bash
# Runs every cargo-fuzz target of tlgen-runtime for N seconds each: run.sh [SECONDS] (default 60).
# libFuzzer instrumentation needs nightly flags: with a nightly toolchain installed, it is used
# (with AddressSanitizer); otherwise the stable toolchain is told to accept them
# (RUSTC_BOOTSTRAP=1) and runs without a sanitizer, which is enough to find panics, hangs and
# runaway allocations in the safe-Rust decoders. Installs cargo-fuzz if it is missing.
set -euo pipefail

seconds="${1:-60}"
cd "$(dirname "$0")"

if rustup toolchain list | grep -q '^nightly'; then
    fuzz=(cargo +nightly fuzz)
    run_flags=()
else
    echo "run.sh: no nightly toolchain; using stable with RUSTC_BOOTSTRAP=1, no sanitizer" >&2
    export RUSTC_BOOTSTRAP=1
    fuzz=(cargo fuzz)
    run_flags=(--sanitizer none)
fi
if ! "${fuzz[@]}" --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

for target in $("${fuzz[@]}" list); do
    echo "== fuzzing ${target} for ${seconds}s"
    mkdir -p "corpus/${target}"
    # -timeout: one input taking longer than 10 s is a hang, reported as a failure.
    "${fuzz[@]}" run "${run_flags[@]}" "${target}" "corpus/${target}" -- -max_total_time="${seconds}" -timeout=10
done
