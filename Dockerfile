# lustre-operator container image.
#
# NOTE: not built in the development environment, which has no Docker engine;
# tests/packaging_image.rs only checks this file's shape and the chart that runs the image.
#
#   docker build -t ghcr.io/lustre-operator/lustre-operator:0.1.0 .
#
# Stage 1 builds the release binary. Dependencies are compiled in their own cached layer with
# cargo-chef: the "recipe" holds only the workspace's manifests and lock file, so editing the
# operator's code does not recompile the dependency tree.

FROM rust:1-bookworm AS chef
RUN cargo install cargo-chef --locked --version ^0.1
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
# Dependency layer: rebuilt only when Cargo.toml / Cargo.lock change.
COPY --from=planner /src/recipe.json recipe.json
RUN cargo chef cook --release --locked --recipe-path recipe.json -p lustre-operator
# Real sources.
COPY . .
RUN cargo build --release --locked -p lustre-operator \
 && cp target/release/lustre-operator /lustre-operator

# Stage 2: distroless runtime with glibc and CA certificates, running as nonroot (65532).
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=builder /lustre-operator /lustre-operator
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/lustre-operator"]
CMD ["run"]
