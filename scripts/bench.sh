#!/usr/bin/env bash
# make bench: release build of the operator, then lustre-bench (figures go into BENCHMARKS.md).
set -euo pipefail
cd "$(dirname "$0")/.."
VOLUMES="${VOLUMES:-50}"
CREATE_SECONDS="${CREATE_SECONDS:-5}"
echo "[bench] building (debug operator, as the tests use it) ..."
cargo build -q -p lustre-operator -p testkit --bins
./target/debug/lustre-bench "$VOLUMES" "$CREATE_SECONDS"
