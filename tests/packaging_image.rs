//! Packaging, the image (no control plane, and not built here: no Docker engine; the Dockerfile
//! says so): the Dockerfile's shape, .dockerignore, and that the chart runs what the image expects.

#[path = "common/packaging.rs"]
mod common;

use anyhow::{Context, Result};

use common::{one_of_kind, read, render, str_list};

#[test]
fn dockerfile_builds_a_non_root_image_running_the_operator() -> Result<()> {
    let text = read("Dockerfile")?;
    let instructions: Vec<String> =
        text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(str::to_string).collect();
    let froms: Vec<&String> = instructions.iter().filter(|l| l.starts_with("FROM ")).collect();
    assert!(froms.len() >= 2, "multi-stage: {froms:?}");
    assert!(froms[0].starts_with("FROM rust:1-bookworm"), "{froms:?}");
    let runtime = froms.last().map(|s| s.as_str()).unwrap_or_default();
    assert!(
        runtime.starts_with("FROM gcr.io/distroless/cc-debian12:nonroot")
            || runtime.starts_with("FROM debian:bookworm-slim"),
        "runtime image: {runtime}"
    );
    // Dependencies are cooked before the sources are copied into the builder.
    let cook =
        instructions.iter().position(|l| l.contains("cargo chef cook")).context("no dependency-caching layer")?;
    let build = instructions
        .iter()
        .rposition(|l| l.contains("cargo build --release") && l.contains("-p lustre-operator"))
        .context("no release build of lustre-operator")?;
    assert!(cook < build);
    assert!(instructions[cook..build].iter().any(|l| l.starts_with("COPY . .")), "sources copied after cooking");
    let last_stage = instructions.iter().rposition(|l| l.starts_with("FROM ")).unwrap_or_default();
    let tail = &instructions[last_stage..];
    assert!(tail.iter().any(|l| l == "USER 65532:65532" || l == "USER 65532"), "non-root user 65532: {tail:?}");
    assert!(tail.iter().any(|l| l == r#"ENTRYPOINT ["/lustre-operator"]"#), "{tail:?}");
    assert!(tail.iter().any(|l| l == r#"CMD ["run"]"#), "{tail:?}");
    assert!(
        text.lines().take(5).any(|l| l.starts_with('#') && l.contains("no Docker engine")),
        "the header says it was not built here"
    );

    let ignore = read(".dockerignore")?;
    let entries: Vec<&str> = ignore.lines().map(str::trim).collect();
    assert!(entries.contains(&"target/") || entries.contains(&"target"), "{entries:?}");
    assert!(entries.contains(&".git"), "{entries:?}");
    // The chart runs what the image expects.
    let docs = render("lustre-operator", &[])?;
    let c = &one_of_kind(&docs, "Deployment")["spec"]["template"]["spec"]["containers"][0];
    assert!(c.get("command").is_none(), "the chart keeps the image's ENTRYPOINT");
    assert_eq!(str_list(&c["args"]), vec!["run"]);
    Ok(())
}
