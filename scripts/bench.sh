#!/usr/bin/env bash
# make bench: release build of the operator and of lustre-bench, then the bench against the
# release operator at its default settings (figures go into BENCHMARKS.md). The release profile
# links with thin LTO (Cargo.toml): from clean the build took 15 minutes here (2 cores).
#   VOLUMES=100 CREATE_SECONDS=37 make bench
# CREATE_SECONDS is the emulator's file-system creation time; the default (37 s) is deliberately
# not a multiple of the operator's 15 s poll interval. Also read by the bench:
#   CREATE_SPREAD_SECONDS=20                  each file system's creation takes CREATE_SECONDS plus up
#                                             to this much more, fixed by its ID (default 0: all at once)
#   THROTTLE_PERCENT=30 THROTTLE_SECONDS=120  that share of AWS calls throttled for that long
#   FOREIGN_FILE_SYSTEMS=5000                 file systems of someone else's in the account first
#   LUSTRE_KCM_API_QPS=200                    kube-controller-manager's client rate limit
#   AWS_MAX_CALLS_PER_SECOND=20 AWS_MAX_CREATIONS_PER_SECOND=0   the operator's AWS budgets
set -euo pipefail
cd "$(dirname "$0")/.."
VOLUMES="${VOLUMES:-100}"
CREATE_SECONDS="${CREATE_SECONDS:-37}"
TARGET="${CARGO_TARGET_DIR:-$PWD/target}"
echo "[bench] building (release: operator and bench) ..."
cargo build -q --release -p lustre-operator -p testkit --bins
export LUSTRE_OPERATOR_BIN="$TARGET/release/lustre-operator"
echo "[bench] VOLUMES=$VOLUMES CREATE_SECONDS=$CREATE_SECONDS operator=$LUSTRE_OPERATOR_BIN ($(git rev-parse --short HEAD 2>/dev/null || echo unknown))"
"$TARGET/release/lustre-bench" "$VOLUMES" "$CREATE_SECONDS"
