#!/usr/bin/env bash
# Checks and installs what `make demo` and `make test` need; says clearly what is missing.
set -euo pipefail
say() { echo "[prerequisites] $*" >&2; }
die() { echo "[prerequisites] ERROR: $*" >&2; exit 1; }

command -v cargo >/dev/null 2>&1 || die "Rust (cargo) is not installed: install it from https://rustup.rs and re-run."
command -v go >/dev/null 2>&1 || die "Go is not installed: it builds kube-apiserver, kube-controller-manager, etcd and helm from their Go modules. Install Go >= 1.24 and re-run."
# Installs a pinned PyPI package unless `present` (a shell test) already holds; `missing` says
# what fails without it.
pip_install() {
  local spec=$1 present=$2 purpose=$3 missing=$4
  eval "$present" && return 0
  if command -v python3 >/dev/null 2>&1; then
    say "installing $spec from PyPI ($purpose) ..."
    python3 -m pip install --quiet --disable-pip-version-check "$spec" || say "WARNING: could not install $spec; $missing"
    hash -r
  else
    say "WARNING: python3 not found, so $spec cannot be installed; $missing"
  fi
}
pip_install 'moto[server]==5.2.1' 'command -v moto_server >/dev/null 2>&1' \
  "the independent AWS emulator the emulator tests cross-check against" \
  "the moto cross-check tests will say they were skipped"
# parliament lints manifests/iam-policy.json (tests/packaging_iam.rs fails on findings above LOW).
pip_install 'parliament==1.6.4' 'parliament --version 2>/dev/null </dev/null | grep -qx "parliament 1.6.4"' \
  "the IAM policy linter" \
  "the IAM policy lint test (tests/packaging_iam.rs) will fail until it is installed"
say "cargo $(cargo --version | cut -d' ' -f2), $(go version | cut -d' ' -f3), moto_server: $(command -v moto_server || echo missing), parliament: $(parliament --version 2>/dev/null </dev/null || echo missing)"
