# lustre-operator: the two commands are `make demo` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

.PHONY: help demo test bench prerequisites control-plane crd install-yaml fuzz-long

help:
	@echo "make demo   - start a local control plane + AWS emulator + operator, create a volume, mount info, delete"
	@echo "make test   - the whole suite: unit, emulator (with moto cross-checks), end-to-end"
	@echo "make bench  - benchmarks (figures for BENCHMARKS.md)"
	@echo "make crd    - regenerate the committed CRDs (and manifests/install.yaml) from the Rust types"

prerequisites:
	@bash scripts/prerequisites.sh

control-plane: prerequisites
	@bash scripts/build-control-plane.sh >/dev/null

demo: control-plane
	@bash scripts/demo.sh

test: control-plane
	@bash scripts/test.sh

bench: control-plane
	@bash scripts/bench.sh

# manifests/crd.yaml holds all CRDs as `lustre-operator crd` prints them (LustreVolume, `---`,
# LustreClass, `---`, LustreDataTask); the chart ships them one per file, split at the `---` line.
crd:
	cargo run -q -p lustre-operator -- crd > manifests/crd.yaml.tmp
	mv manifests/crd.yaml.tmp manifests/crd.yaml
	awk '/^---$$/ {n++; next} n == 0' manifests/crd.yaml > charts/lustre-operator/crds/lustrevolume.yaml
	awk '/^---$$/ {n++; next} n == 1' manifests/crd.yaml > charts/lustre-operator/crds/lustreclass.yaml
	awk '/^---$$/ {n++; next} n == 2' manifests/crd.yaml > charts/lustre-operator/crds/lustredatatask.yaml
	bash scripts/render-install.sh

fuzz-long:
	PROPTEST_CASES=100000 cargo test -p aws-emulator --release --test fuzz_parsers
