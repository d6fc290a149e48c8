#!/usr/bin/env bash
# Side-by-side benchmarks against grammers, in one run on this machine:
#   1. generates the layer-228 API from ../shared/schemas/telegram/api.tl into gen-api/src;
#   2. clean debug builds (non-incremental) of that crate and of grammers-tl-types 0.11, with
#      wall time and peak memory (GNU time), several rounds alternating;
#   3. criterion benchmarks (messages.Messages serialize/deserialize, AES-IGE, pq factorization).
# Usage: benches/peers/run.sh [rounds]   (SKIP_BENCH=1: build figures only)   (figures go to BENCHMARKS.md by hand, with this command)
set -euo pipefail
cd "$(dirname "$0")"
here=$(pwd)
root=$(cd ../.. && pwd)
rounds=${1:-3}
(cd "$root" && cargo build -q --release --bin tlgen)
"${CARGO_TARGET_DIR:-$root/target}/release/tlgen" --schema "$root/../shared/schemas/telegram/api.tl" --layer 228 --out gen-api/src --quiet

command -v /usr/bin/time >/dev/null || { apt-get update -qq && apt-get install -y -qq time; }
build_dir=$(mktemp -d)
mkdir -p "$build_dir/peer/src" "$build_dir/ours/src"
echo "" > "$build_dir/peer/src/lib.rs"
echo "" > "$build_dir/ours/src/lib.rs"
cat > "$build_dir/peer/Cargo.toml" <<TOML
[package]
name = "peer-build"
version = "0.0.0"
edition = "2021"
[dependencies]
grammers-tl-types = "=0.11.0"
[workspace]
TOML
cat > "$build_dir/ours/Cargo.toml" <<TOML
[package]
name = "ours-build"
version = "0.0.0"
edition = "2021"
[dependencies]
gen-api = { path = "$here/gen-api" }
[workspace]
TOML
(cd "$build_dir/peer" && cargo fetch -q)
export CARGO_INCREMENTAL=0
for i in $(seq "$rounds"); do
  for who in ours peer; do
    # A target directory of its own, whatever CARGO_TARGET_DIR says: every build starts clean.
    (cd "$build_dir/$who" && rm -rf target && CARGO_TARGET_DIR="$build_dir/$who/target" /usr/bin/time -f "$who round $i: %e s wall, %M KB peak" cargo build -q 2>&1 | tail -1)
  done
done
unset CARGO_INCREMENTAL
rm -rf "$build_dir"

[ "${SKIP_BENCH:-}" = 1 ] || cargo bench --bench messages --bench crypto -- --warm-up-time 1 --measurement-time 3
