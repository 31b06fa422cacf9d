//! The committed CRD files are exactly what `lustre-operator crd` prints.

#[test]
fn committed_crds_match_the_rust_types() {
    let generated = lustre_api::crd_yaml();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    for path in ["manifests/crd.yaml", "charts/lustre-operator/crds/lustrevolume.yaml"] {
        let committed = std::fs::read_to_string(root.join(path)).unwrap_or_default();
        assert!(
            committed == generated,
            "{path} is out of date with the Rust types; regenerate it with `cargo run -p lustre-operator -- crd > {path}`"
        );
    }
}
