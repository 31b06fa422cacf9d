//! The committed CRD files are exactly what `lustre-operator crd` prints (all CRDs in
//! manifests/crd.yaml; one file per CRD in the chart's crds/ folder).

#[test]
fn committed_crds_match_the_rust_types() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let expected = [
        ("manifests/crd.yaml", lustre_api::crd_yaml()),
        ("charts/lustre-operator/crds/lustrevolume.yaml", lustre_api::crd::one_yaml(&lustre_api::crd())),
        ("charts/lustre-operator/crds/lustreclass.yaml", lustre_api::crd::one_yaml(&lustre_api::class_crd())),
        ("charts/lustre-operator/crds/lustredatatask.yaml", lustre_api::crd::one_yaml(&lustre_api::task_crd())),
    ];
    for (path, generated) in expected {
        let committed = std::fs::read_to_string(root.join(path)).unwrap_or_default();
        assert!(committed == generated, "{path} is out of date with the Rust types; regenerate it with `make crd`");
    }
}
