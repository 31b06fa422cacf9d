#!/usr/bin/env bash
# Checks and installs what `make demo` and `make test` need; says clearly what is missing.
set -euo pipefail
say() { echo "[prerequisites] $*" >&2; }
die() { echo "[prerequisites] ERROR: $*" >&2; exit 1; }

command -v cargo >/dev/null 2>&1 || die "Rust (cargo) is not installed: install it from https://rustup.rs and re-run."
command -v go >/dev/null 2>&1 || die "Go is not installed: it builds kube-apiserver, kube-controller-manager, etcd and helm from their Go modules. Install Go >= 1.24 and re-run."
if ! command -v moto_server >/dev/null 2>&1; then
  if command -v python3 >/dev/null 2>&1; then
    say "installing moto[server] from PyPI (the independent AWS emulator the emulator tests cross-check against) ..."
    python3 -m pip install --quiet --disable-pip-version-check 'moto[server]==5.2.1' \
      || say "WARNING: could not install moto; the moto cross-check tests will say they were skipped"
    hash -r
  else
    say "WARNING: python3 not found; the moto cross-check tests will say they were skipped"
  fi
fi
# parliament lints manifests/iam-policy.json (tests/packaging.rs fails on findings above LOW).
parliament_version=1.6.4
if ! parliament --version 2>/dev/null </dev/null | grep -qx "parliament $parliament_version"; then
  if command -v python3 >/dev/null 2>&1; then
    say "installing parliament==$parliament_version from PyPI (the IAM policy linter) ..."
    python3 -m pip install --quiet --disable-pip-version-check "parliament==$parliament_version" \
      || say "WARNING: could not install parliament; the IAM policy lint test (tests/packaging.rs) will fail until it is installed"
    hash -r
  else
    say "WARNING: python3 not found; parliament cannot be installed and the IAM policy lint test will fail"
  fi
fi
say "cargo $(cargo --version | cut -d' ' -f2), $(go version | cut -d' ' -f3), moto_server: $(command -v moto_server || echo missing), parliament: $(parliament --version 2>/dev/null </dev/null || echo missing)"
