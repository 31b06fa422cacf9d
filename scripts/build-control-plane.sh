#!/usr/bin/env bash
# Builds the pinned Kubernetes control plane (kube-apiserver, kube-controller-manager), etcd and
# helm from their Go modules into a cache folder outside the repository, keyed by version.
# Skips whatever is already built. Prints the folder holding the binaries on its last line.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-v1.34.4}"
# Every k8s.io staging module is published as v0.<minor>.<patch> of the same release.
STAGING_VERSION="v0.${K8S_VERSION#v1.}"
K8S_MINOR="${K8S_VERSION#v1.}"; K8S_MINOR="${K8S_MINOR%%.*}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"
HELM_VERSION="${HELM_VERSION:-v3.22.0}"
CACHE_ROOT="${LUSTRE_OPERATOR_CACHE:-$HOME/.cache/lustre-operator}"
BIN_DIR="$CACHE_ROOT/bin/k8s-$K8S_VERSION-etcd-$ETCD_VERSION-helm-$HELM_VERSION"

say() { echo "[control-plane] $*" >&2; }
die() { echo "[control-plane] ERROR: $*" >&2; exit 1; }

have_all() {
  for b in etcd kube-apiserver kube-controller-manager helm; do
    [ -x "$BIN_DIR/$b" ] || return 1
  done
}

if have_all; then
  say "binaries cached in $BIN_DIR"
  echo "$BIN_DIR"
  exit 0
fi

command -v go >/dev/null 2>&1 || die "Go is not installed (needed to build kube-apiserver, kube-controller-manager, etcd and helm from their Go modules). Install Go >= 1.24 (https://go.dev/dl) and re-run."
mkdir -p "$BIN_DIR"
WORK="$CACHE_ROOT/build"
mkdir -p "$WORK"
export GOFLAGS="${GOFLAGS:-} -mod=mod"
export CGO_ENABLED=0
start=$(date +%s)
# Go's own output (module downloads, one line per module) goes here, not to the terminal; a
# failure names the file.
LOG="$CACHE_ROOT/build.log"
: >"$LOG"
say "Go's output goes to $LOG"
quiet() { "$@" >>"$LOG" 2>&1; }

build_etcd() {
  [ -x "$BIN_DIR/etcd" ] && return 0
  say "building etcd $ETCD_VERSION (go.etcd.io/etcd/server/v3/etcdmain) ..."
  local d="$WORK/etcd-$ETCD_VERSION"
  mkdir -p "$d"
  cat >"$d/main.go" <<'GO'
// Command etcd runs the etcd server from its Go module.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
  (cd "$d" && [ -f go.mod ] || (cd "$d" && go mod init local/etcd >/dev/null 2>&1))
  (cd "$d" && quiet go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" && quiet go mod tidy && quiet go build -o "$BIN_DIR/etcd.tmp" . && mv "$BIN_DIR/etcd.tmp" "$BIN_DIR/etcd") \
    || die "building etcd failed (is the Go module proxy reachable?); Go's output: $LOG"
}

build_kubernetes() {
  [ -x "$BIN_DIR/kube-apiserver" ] && [ -x "$BIN_DIR/kube-controller-manager" ] && return 0
  say "building kube-apiserver and kube-controller-manager $K8S_VERSION from k8s.io/kubernetes (first build takes 10-20 minutes on 2 cores) ..."
  local d="$WORK/kubernetes-$K8S_VERSION"
  mkdir -p "$d"
  say "downloading the k8s.io/kubernetes@$K8S_VERSION module ..."
  local modfile
  modfile=$(cd "$d" && go mod download -json "k8s.io/kubernetes@$K8S_VERSION" 2>>"$LOG" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  [ -f "$modfile" ] || die "could not download k8s.io/kubernetes@$K8S_VERSION from the Go module proxy; Go's output: $LOG"
  # Pin every staging module (replaced by ./staging/src/... in kubernetes' own go.mod) to the release.
  {
    echo "module local/kube-control-plane"
    echo
    echo "go 1.24"
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    grep -E '^\s*k8s.io/[a-z0-9-]+ => ./staging/src/' "$modfile" \
      | awk -v v="$STAGING_VERSION" '{print "replace " $1 " => " $1 " " v}'
  } >"$d/go.mod"
  cat >"$d/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
)
GO
  say "$(grep -c '^replace' "$d/go.mod") staging modules pinned to $STAGING_VERSION; resolving dependencies ..."
  (cd "$d" && go mod tidy -e >/dev/null 2>&1 || true)
  for cmd in kube-apiserver kube-controller-manager; do
    [ -x "$BIN_DIR/$cmd" ] && continue
    say "compiling $cmd ..."
    (cd "$d" && quiet go build -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$K8S_MINOR" -o "$BIN_DIR/$cmd.tmp" "k8s.io/kubernetes/cmd/$cmd") \
      || die "building $cmd failed; Go's output: $LOG"
    mv "$BIN_DIR/$cmd.tmp" "$BIN_DIR/$cmd"
  done
}

build_helm() {
  [ -x "$BIN_DIR/helm" ] && return 0
  say "building helm $HELM_VERSION ..."
  GOBIN="$BIN_DIR" quiet go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" || die "building helm failed; Go's output: $LOG"
}

build_etcd
build_kubernetes
build_helm
say "built in $(( $(date +%s) - start ))s into $BIN_DIR"
echo "$BIN_DIR"
