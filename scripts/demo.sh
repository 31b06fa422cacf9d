#!/usr/bin/env bash
# make demo: builds the operator and the demo driver, then runs the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "[demo] building lustre-operator and the demo driver (first build takes several minutes) ..."
cargo build -q -p lustre-operator -p testkit --bins
exec ./target/debug/lustre-demo
