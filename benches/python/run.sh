#!/usr/bin/env bash
# The Python target side by side with Telethon, in one run on this machine:
#   1. generation time of ../shared/schemas/telegram/api.tl for Python and for Rust
#      (`tlgen --timings`, release build, ROUNDS rounds alternating);
#   2. messages.Messages (22,220 bytes) serialized and deserialized by the generated package and
#      by Telethon's generated classes (benches/python/messages.py).
# Needs .venv/bin/python (or $TLGEN_PYTHON) with telethon installed:
#   .venv/bin/python -m pip install telethon==1.45.0
# Usage: benches/python/run.sh [rounds]   (figures go to BENCHMARKS.md by hand, with this command)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
rounds=${1:-3}
python=${TLGEN_PYTHON:-$root/.venv/bin/python}
cargo build -q --release --bin tlgen
tlgen="${CARGO_TARGET_DIR:-$root/target}/release/tlgen"
schema="$root/../shared/schemas/telegram/api.tl"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for i in $(seq "$rounds"); do
  for lang in rust python; do
    rm -rf "$out/$lang"
    echo -n "$lang round $i: "
    "$tlgen" --timings --quiet --lang "$lang" --schema "$schema" --layer 228 --out "$out/$lang/api" 2>&1
  done
done
# Bytecode is written once, so that imports are what a user sees after the first.
PYTHONDONTWRITEBYTECODE= "$python" -c "import sys; sys.path.insert(0, '$out/python'); import api"
PYTHONDONTWRITEBYTECODE= "$python" benches/python/messages.py "$out/python" 15
