#!/usr/bin/env bash
# The whole suite: unit tests, emulator conformance (with moto cross-checks), end-to-end tests
# against the local control plane. Ends with one summary line: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp -t lustre-test-XXXXXX.log)
start=$(date +%s)
# `cargo test` also builds the lustre-operator binary (its package has integration tests), with
# the same features as the tests, so the end-to-end tests run the binary of this very build.
# Free space: the build takes about 6 GB under target/, and each test binary's control plane about
# 130 MB in the temporary folder (removed when that binary exits).
for dir in target "${TMPDIR:-/tmp}"; do
  mkdir -p "$dir"
  free_gb=$(df -Pk "$dir" | awk 'NR == 2 {print int($4 / 1048576)}')
  if [ "$free_gb" -lt 2 ]; then
    echo "[test] ERROR: only ${free_gb} GB free under $dir; the suite needs about 8 GB. Free some space (old target/ folders, /tmp) and run again."
    echo "0 passed, 1 failed"
    exit 1
  elif [ "$free_gb" -lt 8 ]; then
    echo "[test] WARNING: only ${free_gb} GB free under $dir; the suite needs about 8 GB and may fail with 'no space left on device'."
  fi
done
echo "[test] cargo fmt --all --check ..."
if ! cargo fmt --all --check; then
  echo "[test] ERROR: formatting differs from rustfmt.toml; run 'cargo fmt --all' and commit"
  echo "0 passed, 1 failed"
  exit 1
fi
echo "[test] cargo clippy --workspace --all-targets -- -D warnings ..."
if ! cargo clippy --workspace --all-targets -- -D warnings; then
  echo "[test] ERROR: clippy found warnings (denied); fix them and commit"
  echo "0 passed, 1 failed"
  exit 1
fi
echo "[test] import circles (scripts/import-circles.py) ..."
if ! python3 scripts/import-circles.py crates/api/src crates/operator/src crates/aws-emulator/src crates/testkit/src; then
  echo "[test] ERROR: a module imports one that imports it back; move the shared part below both"
  echo "0 passed, 1 failed"
  exit 1
fi
echo "[test] running cargo test --workspace ..."
cargo test --workspace --no-fail-fast 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
sum() { grep -E '^test result:' "$log" | sed -E "s/.* ([0-9]+) $1.*/\\1/" | awk '{s+=$1} END {print s+0}'; }
passed=$(sum passed); failed=$(sum failed); ignored=$(sum ignored)
echo
echo "[test] finished in $(( $(date +%s) - start ))s; log: $log"
echo "${passed:-0} passed, ${failed:-0} failed, ${ignored:-0} skipped"
exit "$status"
