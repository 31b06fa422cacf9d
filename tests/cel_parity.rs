//! CEL/Rust parity: the CRD's admission rules (`lustre_api::crd`) and the operator's own check
//! (`lustre_api::validate`) must give every spec the same verdict, with the same message. The
//! network lives in the LustreClass: class fixtures are judged by the class CRD (a dry-run create)
//! and by `lustre_api::validate_network` on the network the operator takes from the class; the
//! class's other rules, limits and integer bounds are the apiserver's alone.
//!
//! Each create fixture is sent to the real kube-apiserver (a dry-run create) and to `validate()`;
//! both verdicts must equal the fixture's expected one. When `validate()` finds exactly one
//! problem, the apiserver's answer must contain the same text. Transition fixtures (old spec, new
//! spec) are created for real and updated as a dry run: the CEL transition rules are the only
//! guard there (the operator never sees the previous spec). Operator-only fixtures are what CEL
//! cannot express: the apiserver accepts them and `validate()` rejects them.

use std::collections::BTreeSet;

use anyhow::{bail, Context, Result};
use kube::api::{Api, DynamicObject, PostParams};
use kube::core::ApiResource;
use lustre_api::crd::{
    Bound, Limit, SpecRule, CLASS_INT_BOUNDS, CLASS_LIMITS, CLASS_RULES, LIMITS, NAME_RULE, SPEC_RULES,
    SPEC_TRANSITION_RULES, VOLUME_INT_BOUNDS,
};
use lustre_api::{
    validate, validate_network, LustreClass, LustreClassSpec, LustreVolume, LustreVolumeSpec, NetworkSpec,
};
use serde_json::{json, Value};

const SUBNET: &str = "subnet-0123456789abcdef0";
const SG: &str = "sg-0123456789abcdef0";

// ---------------------------------------------------------------------------------------------
// fixtures

/// RFC 7386 merge patch: `patch` over `target`, `null` removes a field.
fn merge(target: &Value, patch: &Value) -> Value {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            let mut out = t.clone();
            for (k, v) in p {
                if v.is_null() {
                    out.remove(k);
                } else {
                    let merged = merge(out.get(k).unwrap_or(&Value::Null), v);
                    out.insert(k.clone(), merged);
                }
            }
            Value::Object(out)
        }
        (_, p) => p.clone(),
    }
}

/// SCRATCH_2, SSD, 1200 GiB, with `patch` applied.
fn spec(patch: Value) -> Value {
    merge(&json!({"storageCapacityGiB": 1200}), &patch)
}

fn p1_ssd(patch: Value) -> Value {
    spec(merge(&json!({"deploymentType": "PERSISTENT_1", "perUnitStorageThroughput": 50}), &patch))
}

fn p1_hdd(patch: Value) -> Value {
    spec(merge(
        &json!({"deploymentType": "PERSISTENT_1", "storageType": "HDD", "perUnitStorageThroughput": 12,
                "storageCapacityGiB": 6000, "driveCacheType": "READ"}),
        &patch,
    ))
}

fn p2(patch: Value) -> Value {
    spec(merge(&json!({"deploymentType": "PERSISTENT_2", "perUnitStorageThroughput": 125}), &patch))
}

fn dra(fs: &str, repo: &str) -> Value {
    json!({"fileSystemPath": fs, "dataRepositoryPath": repo})
}

fn sg(i: usize) -> String {
    format!("sg-{i:017x}")
}

struct Create {
    name: String,
    spec: Value,
    valid: bool,
    /// Text the apiserver's rejection must contain (the field of a size limit or integer bound).
    mentions: Option<String>,
}

fn ok(name: impl Into<String>, spec: Value) -> Create {
    Create { name: name.into(), spec, valid: true, mentions: None }
}

fn bad(name: impl Into<String>, spec: Value) -> Create {
    Create { name: name.into(), spec, valid: false, mentions: None }
}

/// Rejected by the schema's bound on `field`: the apiserver's answer names the field.
fn out_of_bounds(name: impl Into<String>, field: &str, spec: Value) -> Create {
    Create { name: name.into(), spec, valid: false, mentions: Some(format!("spec{field}")) }
}

/// Specs both sides judge: valid ones at every edge, and at least one breaking each rule and limit.
fn create_fixtures() -> Vec<Create> {
    let tags = |n: usize| Value::Object((0..n).map(|i| (format!("team-{i}"), json!("ml"))).collect());
    vec![
        // capacity
        ok("minimal", spec(json!({}))),
        ok("scratch2-2400", spec(json!({"storageCapacityGiB": 2400}))),
        ok("scratch2-4800", spec(json!({"storageCapacityGiB": 4800}))),
        ok("scratch1-1200", spec(json!({"deploymentType": "SCRATCH_1"}))),
        ok("scratch1-2400", spec(json!({"deploymentType": "SCRATCH_1", "storageCapacityGiB": 2400}))),
        ok("scratch1-3600", spec(json!({"deploymentType": "SCRATCH_1", "storageCapacityGiB": 3600}))),
        ok("scratch1-7200", spec(json!({"deploymentType": "SCRATCH_1", "storageCapacityGiB": 7200}))),
        ok("adopt-without-capacity", spec(json!({"storageCapacityGiB": null, "fileSystemId": "fs-0123456789abcdef0"}))),
        bad("no-capacity", spec(json!({"storageCapacityGiB": null}))),
        bad("capacity-0", spec(json!({"storageCapacityGiB": 0}))),
        bad("capacity-negative", spec(json!({"storageCapacityGiB": -2400}))),
        bad("scratch2-1000", spec(json!({"storageCapacityGiB": 1000}))),
        bad("scratch2-3600", spec(json!({"storageCapacityGiB": 3600}))),
        bad("scratch2-1201", spec(json!({"storageCapacityGiB": 1201}))),
        bad("scratch1-4800", spec(json!({"deploymentType": "SCRATCH_1", "storageCapacityGiB": 4800}))),
        bad("scratch1-1000", spec(json!({"deploymentType": "SCRATCH_1", "storageCapacityGiB": 1000}))),
        bad("p1-ssd-3600", p1_ssd(json!({"storageCapacityGiB": 3600}))),
        bad("p2-3600", p2(json!({"storageCapacityGiB": 3600}))),
        ok("p1-hdd-12-12000-none", p1_hdd(json!({"storageCapacityGiB": 12000, "driveCacheType": "NONE"}))),
        ok("p1-hdd-40-1800", p1_hdd(json!({"perUnitStorageThroughput": 40, "storageCapacityGiB": 1800}))),
        ok("p1-hdd-40-3600", p1_hdd(json!({"perUnitStorageThroughput": 40, "storageCapacityGiB": 3600}))),
        bad("p1-hdd-12-1800", p1_hdd(json!({"storageCapacityGiB": 1800}))),
        bad("p1-hdd-12-3600", p1_hdd(json!({"storageCapacityGiB": 3600}))),
        bad("p1-hdd-40-2000", p1_hdd(json!({"perUnitStorageThroughput": 40, "storageCapacityGiB": 2000}))),
        bad("p1-hdd-40-0", p1_hdd(json!({"perUnitStorageThroughput": 40, "storageCapacityGiB": 0}))),
        // throughput
        ok("p1-ssd-50", p1_ssd(json!({}))),
        ok("p1-ssd-100-2400", p1_ssd(json!({"perUnitStorageThroughput": 100, "storageCapacityGiB": 2400}))),
        ok("p1-ssd-200-4800", p1_ssd(json!({"perUnitStorageThroughput": 200, "storageCapacityGiB": 4800}))),
        ok("p1-hdd-12-6000", p1_hdd(json!({}))),
        ok("p2-125", p2(json!({}))),
        ok("p2-250-2400", p2(json!({"perUnitStorageThroughput": 250, "storageCapacityGiB": 2400}))),
        ok("metadata-automatic", p2(json!({"metadataConfiguration": {"mode": "AUTOMATIC"}}))),
        ok("metadata-1500", p2(json!({"metadataConfiguration": {"mode": "USER_PROVISIONED", "iops": 1500}}))),
        ok("metadata-24000", p2(json!({"metadataConfiguration": {"mode": "USER_PROVISIONED", "iops": 24000}}))),
        ok("p2-500-4800", p2(json!({"perUnitStorageThroughput": 500, "storageCapacityGiB": 4800}))),
        ok("p2-1000-9600", p2(json!({"perUnitStorageThroughput": 1000, "storageCapacityGiB": 9600}))),
        bad("scratch2-throughput", spec(json!({"perUnitStorageThroughput": 125}))),
        bad("scratch1-throughput", spec(json!({"deploymentType": "SCRATCH_1", "perUnitStorageThroughput": 50}))),
        bad("p1-no-throughput", p1_ssd(json!({"perUnitStorageThroughput": null}))),
        bad("p2-no-throughput", p2(json!({"perUnitStorageThroughput": null}))),
        bad("p1-ssd-125", p1_ssd(json!({"perUnitStorageThroughput": 125}))),
        bad("p1-ssd-12", p1_ssd(json!({"perUnitStorageThroughput": 12}))),
        bad("p1-hdd-50", p1_hdd(json!({"perUnitStorageThroughput": 50, "storageCapacityGiB": 1800}))),
        bad("p2-200", p2(json!({"perUnitStorageThroughput": 200}))),
        bad("p2-50", p2(json!({"perUnitStorageThroughput": 50}))),
        // storage type and drive cache
        bad(
            "hdd-on-scratch2",
            spec(json!({"storageType": "HDD", "driveCacheType": "READ", "storageCapacityGiB": 6000})),
        ),
        bad("hdd-on-p2", p2(json!({"storageType": "HDD", "driveCacheType": "READ", "storageCapacityGiB": 1800}))),
        bad("hdd-without-drive-cache", p1_hdd(json!({"driveCacheType": null}))),
        bad("ssd-with-drive-cache", p1_ssd(json!({"driveCacheType": "NONE"}))),
        bad("scratch-with-drive-cache", spec(json!({"driveCacheType": "READ"}))),
        // kms
        ok("kms-on-p1", p1_ssd(json!({"kmsKeyId": "arn:aws:kms:us-east-1:111122223333:key/abcd"}))),
        ok("kms-on-p2", p2(json!({"kmsKeyId": "alias/fsx"}))),
        bad("kms-on-scratch2", spec(json!({"kmsKeyId": "alias/fsx"}))),
        bad("kms-on-scratch1", spec(json!({"deploymentType": "SCRATCH_1", "kmsKeyId": "alias/fsx"}))),
        // lustre version
        ok("scratch-2.10", spec(json!({"lustreVersion": "2.10"}))),
        ok("p1-2.10", p1_ssd(json!({"lustreVersion": "2.10"}))),
        ok("p2-2.12", p2(json!({"lustreVersion": "2.12"}))),
        bad("p2-2.10", p2(json!({"lustreVersion": "2.10"}))),
        // s3
        ok("s3-empty", spec(json!({"s3": {}}))),
        ok("s3-import-only", spec(json!({"s3": {"importPath": "s3://training-data"}}))),
        ok("s3-scratch1", spec(json!({"deploymentType": "SCRATCH_1", "s3": {"importPath": "s3://training-data/in"}}))),
        ok(
            "s3-p1-full",
            p1_ssd(json!({"s3": {"importPath": "s3://training-data/in", "exportPath": "s3://training-data/out",
                                 "autoImportPolicy": "NEW_CHANGED_DELETED"}})),
        ),
        bad("s3-on-p2", p2(json!({"s3": {"importPath": "s3://training-data/in"}}))),
        ok("s3-empty-on-p2", p2(json!({"s3": {}}))),
        // data repository associations
        ok(
            "dra-two",
            p2(
                json!({"s3": {"associations": [dra("/datasets", "s3://training-data/ds/"), dra("/results", "s3://training-data/out")]}}),
            ),
        ),
        ok("dra-root-alone", spec(json!({"s3": {"associations": [dra("/", "s3://training-data/")]}}))),
        ok(
            "dra-siblings",
            p2(
                json!({"s3": {"associations": [dra("/a", "s3://training-data/a/"), dra("/ab", "s3://training-data/ab/")]}}),
            ),
        ),
        ok(
            "dra-full",
            p1_ssd(json!({"s3": {"onAssociationRemoval": "DeleteData", "associations": [{
            "fileSystemPath": "/in", "dataRepositoryPath": "s3://training-data/in/", "batchImportMetadataOnCreate": true,
            "importedFileChunkSize": 512000, "autoImportEvents": ["NEW", "CHANGED", "DELETED"], "autoExportEvents": ["NEW"]}]}})),
        ),
        ok(
            "dra-export-on-delete",
            p2(json!({"onDelete": {"exportToS3": true}, "s3": {"associations": [dra("/d", "s3://training-data/d/")]}})),
        ),
        ok(
            "legacy-export-on-delete",
            spec(json!({"onDelete": {"exportToS3": true}, "s3": {"importPath": "s3://training-data/in"}})),
        ),
        ok("no-export-on-delete", spec(json!({"onDelete": {"exportToS3": false}}))),
        bad(
            "dra-on-scratch1",
            spec(json!({"deploymentType": "SCRATCH_1", "s3": {"associations": [dra("/d", "s3://training-data/d/")]}})),
        ),
        bad(
            "dra-on-2-10",
            spec(json!({"lustreVersion": "2.10", "s3": {"associations": [dra("/d", "s3://training-data/d/")]}})),
        ),
        bad(
            "dra-with-import-path",
            spec(
                json!({"s3": {"importPath": "s3://training-data/in", "associations": [dra("/d", "s3://training-data/d/")]}}),
            ),
        ),
        bad("dra-relative-path", p2(json!({"s3": {"associations": [dra("datasets", "s3://training-data/d/")]}}))),
        bad("dra-trailing-slash", p2(json!({"s3": {"associations": [dra("/datasets/", "s3://training-data/d/")]}}))),
        bad("dra-dot-dot", p2(json!({"s3": {"associations": [dra("/a/../b", "s3://training-data/d/")]}}))),
        bad("dra-empty-segment", p2(json!({"s3": {"associations": [dra("/a//b", "s3://training-data/d/")]}}))),
        bad("dra-repo-not-s3", p2(json!({"s3": {"associations": [dra("/d", "training-data/d/")]}}))),
        bad("dra-repo-climbs", p2(json!({"s3": {"associations": [dra("/d", "s3://training-data/team/../other/")]}}))),
        bad(
            "dra-nested",
            p2(
                json!({"s3": {"associations": [dra("/data", "s3://training-data/a/"), dra("/data/sub", "s3://training-data/b/")]}}),
            ),
        ),
        bad(
            "dra-root-and-other",
            p2(
                json!({"s3": {"associations": [dra("/", "s3://training-data/a/"), dra("/x", "s3://training-data/b/")]}}),
            ),
        ),
        bad(
            "dra-repos-nested",
            p2(
                json!({"s3": {"associations": [dra("/a", "s3://training-data/a"), dra("/b", "s3://training-data/a/b/")]}}),
            ),
        ),
        bad(
            "dra-repos-same",
            p2(
                json!({"s3": {"associations": [dra("/a", "s3://training-data/a/"), dra("/b", "s3://training-data/a")]}}),
            ),
        ),
        bad(
            "dra-chunk-0",
            p2(
                json!({"s3": {"associations": [{"fileSystemPath": "/d", "dataRepositoryPath": "s3://training-data/d/", "importedFileChunkSize": 0}]}}),
            ),
        ),
        bad(
            "dra-chunk-512001",
            p2(
                json!({"s3": {"associations": [{"fileSystemPath": "/d", "dataRepositoryPath": "s3://training-data/d/", "importedFileChunkSize": 512_001}]}}),
            ),
        ),
        bad(
            "limit-dra-nine",
            p2(
                json!({"s3": {"associations": (0..9).map(|i| dra(&format!("/d{i}"), &format!("s3://training-data/d{i}/"))).collect::<Vec<_>>()}}),
            ),
        ),
        bad(
            "limit-dra-path-length",
            p2(json!({"s3": {"associations": [dra(&format!("/{}", "p".repeat(4096)), "s3://training-data/d/")]}})),
        ),
        bad(
            "limit-dra-repository-length",
            p2(json!({"s3": {"associations": [dra("/d", &format!("s3://training-data/{}", "p".repeat(900)))]}})),
        ),
        bad("export-on-delete-unlinked", spec(json!({"onDelete": {"exportToS3": true}}))),
        bad("metadata-on-scratch", spec(json!({"metadataConfiguration": {"mode": "AUTOMATIC"}}))),
        bad("metadata-on-2.12", p2(json!({"lustreVersion": "2.12", "metadataConfiguration": {"mode": "AUTOMATIC"}}))),
        bad("metadata-automatic-with-iops", p2(json!({"metadataConfiguration": {"mode": "AUTOMATIC", "iops": 3000}}))),
        bad("metadata-provisioned-without-iops", p2(json!({"metadataConfiguration": {"mode": "USER_PROVISIONED"}}))),
        bad("metadata-9000", p2(json!({"metadataConfiguration": {"mode": "USER_PROVISIONED", "iops": 9000}}))),
        bad("export-on-delete-empty-s3", p2(json!({"onDelete": {"exportToS3": true}, "s3": {}}))),
        bad("s3-export-without-import", spec(json!({"s3": {"exportPath": "s3://training-data/out"}}))),
        bad("s3-auto-import-without-import", spec(json!({"s3": {"autoImportPolicy": "NEW"}}))),
        bad("s3-import-not-s3", spec(json!({"s3": {"importPath": "https://training-data/in"}}))),
        bad("s3-import-uppercase-bucket", spec(json!({"s3": {"importPath": "s3://Training/in"}}))),
        bad("s3-import-short-bucket", spec(json!({"s3": {"importPath": "s3://ab/in"}}))),
        bad("s3-import-no-bucket", spec(json!({"s3": {"importPath": "s3:///in"}}))),
        bad(
            "s3-export-not-s3",
            spec(json!({"s3": {"importPath": "s3://training-data/in", "exportPath": "training-data/out"}})),
        ),
        // backups
        ok("backup-0-on-scratch", spec(json!({"automaticBackupRetentionDays": 0}))),
        ok("backup-90-on-p1", p1_ssd(json!({"automaticBackupRetentionDays": 90}))),
        ok("backup-0-on-p2", p2(json!({"automaticBackupRetentionDays": 0}))),
        out_of_bounds(
            "backup-91",
            ".automaticBackupRetentionDays",
            p1_ssd(json!({"automaticBackupRetentionDays": 91})),
        ),
        bad("backup-negative", p2(json!({"automaticBackupRetentionDays": -1}))),
        bad("backup-7-on-scratch", spec(json!({"automaticBackupRetentionDays": 7}))),
        bad("backup-100-on-scratch", spec(json!({"automaticBackupRetentionDays": 100}))),
        // maintenance window
        ok("weekly-1-00-00", spec(json!({"weeklyMaintenanceStartTime": "1:00:00"}))),
        ok("weekly-7-23-59", spec(json!({"weeklyMaintenanceStartTime": "7:23:59"}))),
        bad("weekly-day-8", spec(json!({"weeklyMaintenanceStartTime": "8:00:00"}))),
        bad("weekly-day-0", spec(json!({"weeklyMaintenanceStartTime": "0:03:00"}))),
        bad("weekly-hour-24", spec(json!({"weeklyMaintenanceStartTime": "1:24:00"}))),
        bad("weekly-minute-60", spec(json!({"weeklyMaintenanceStartTime": "1:00:60"}))),
        bad("weekly-one-digit-hour", spec(json!({"weeklyMaintenanceStartTime": "1:3:00"}))),
        bad("weekly-plus-sign", spec(json!({"weeklyMaintenanceStartTime": "1:+3:00"}))),
        bad("weekly-day-name", spec(json!({"weeklyMaintenanceStartTime": "Mon:03:00"}))),
        bad("weekly-trailing-newline", spec(json!({"weeklyMaintenanceStartTime": "1:03:00\n"}))),
        // IDs
        ok("fs-id-8-hex", spec(json!({"fileSystemId": "fs-0123abcd"}))),
        bad("fs-id-uppercase", spec(json!({"fileSystemId": "fs-XYZ01234"}))),
        bad("fs-id-short", spec(json!({"fileSystemId": "fs-0123"}))),
        // claim, mount options, tags, other fields
        ok("claim-name", spec(json!({"claim": {"name": "shared-data-0", "readOnly": true}}))),
        ok("claim-name-63", spec(json!({"claim": {"name": "a".repeat(63)}}))),
        bad("claim-name-uppercase", spec(json!({"claim": {"name": "Shared"}}))),
        bad("claim-name-leading-dash", spec(json!({"claim": {"name": "-shared"}}))),
        bad("claim-name-dot", spec(json!({"claim": {"name": "shared.data"}}))),
        bad("claim-name-64", spec(json!({"claim": {"name": "a".repeat(64)}}))),
        ok("mount-options", spec(json!({"mountOptions": ["flock", "noatime", "x-opt=1"]}))),
        ok("no-mount-options", spec(json!({"mountOptions": []}))),
        bad("mount-option-empty", spec(json!({"mountOptions": ["flock", ""]}))),
        bad("mount-option-space", spec(json!({"mountOptions": ["no atime"]}))),
        bad("mount-option-tab", spec(json!({"mountOptions": ["no\tatime"]}))),
        bad("mount-option-no-break-space", spec(json!({"mountOptions": ["no\u{a0}atime"]}))),
        ok("tags-40", spec(json!({"tags": tags(40)}))),
        ok("tag-value-256", spec(json!({"tags": {"note": "v".repeat(256)}}))),
        ok("compression-and-retain", spec(json!({"dataCompression": "LZ4", "deletionPolicy": "Retain"}))),
        bad("unknown-deployment-type", spec(json!({"deploymentType": "SCRATCH_3"}))),
        bad("unknown-storage-type", spec(json!({"storageType": "NVME"}))),
        bad("unknown-lustre-version", spec(json!({"lustreVersion": "2.16"}))),
        ok("class-and-zone", spec(json!({"className": "scratch-training", "availabilityZone": "us-east-1a"}))),
        // A tenant cannot name a network: the field is not in the schema (pruned) and never read.
        ok("network-is-not-a-volume-field", spec(json!({"network": {"subnetId": "subnet-0123456789abcdef0"}}))),
        // size limits
        bad("limit-kms-key-id", p1_ssd(json!({"kmsKeyId": "k".repeat(2049)}))),
        bad("limit-weekly-time", spec(json!({"weeklyMaintenanceStartTime": "1:03:00".repeat(3)}))),
        bad("limit-file-system-id", spec(json!({"fileSystemId": format!("fs-{}", "0".repeat(30))}))),
        bad("limit-tags", spec(json!({"tags": tags(41)}))),
        bad("limit-tag-value", spec(json!({"tags": {"note": "v".repeat(257)}}))),
        bad("limit-mount-options", spec(json!({"mountOptions": vec!["flock"; 33]}))),
        bad("limit-mount-option-length", spec(json!({"mountOptions": ["o".repeat(129)]}))),
        bad(
            "limit-import-path",
            spec(json!({"s3": {"importPath": format!("s3://training-data/{}", "p".repeat(1006))}})),
        ),
        bad(
            "limit-export-path",
            spec(json!({"s3": {"importPath": "s3://training-data/in",
                               "exportPath": format!("s3://training-data/{}", "p".repeat(1006))}})),
        ),
        bad("limit-claim-name", spec(json!({"claim": {"name": "a".repeat(254)}}))),
        bad("limit-class-name", spec(json!({"className": "a".repeat(254)}))),
        bad("limit-availability-zone", spec(json!({"availabilityZone": "a".repeat(33)}))),
        // integer bounds in the schema (FSx's), beyond what the rules above check
        out_of_bounds(
            "capacity-over-int32",
            ".storageCapacityGiB",
            spec(json!({"storageCapacityGiB": 2_147_484_000_i64})),
        ),
        out_of_bounds("p1-throughput-0", ".perUnitStorageThroughput", p1_ssd(json!({"perUnitStorageThroughput": 0}))),
        out_of_bounds("p2-throughput-1001", ".perUnitStorageThroughput", p2(json!({"perUnitStorageThroughput": 1001}))),
    ]
}

/// Specs only the operator rejects: CEL cannot express these checks.
fn operator_only_fixtures() -> Vec<(&'static str, Value)> {
    vec![
        (
            "export-in-other-bucket",
            spec(json!({"s3": {"importPath": "s3://data/in", "exportPath": "s3://elsewhere/out"}})),
        ),
        ("reserved-tag-key", spec(json!({"tags": {"lustre.fsx.dev/owner-uid": "x"}}))),
        ("aws-tag-key", spec(json!({"tags": {"aws:cloudformation:stack-name": "x"}}))),
        ("tag-key-129", spec(json!({"tags": Value::Object([("k".repeat(129), json!("x"))].into_iter().collect())}))),
    ]
}

// ---------------------------------------------------------------------------------------------
// LustreClass fixtures

/// A class offering one valid subnet (in us-east-1a), with `patch` applied.
fn class(patch: Value) -> Value {
    merge(&json!({"network": {"subnets": [{"subnetId": SUBNET, "availabilityZone": "us-east-1a"}]}}), &patch)
}

/// A class whose `network` is `network` merged over the valid one.
fn net(network: Value) -> Value {
    class(json!({ "network": network }))
}

/// Class fixtures on the network: the class CRD and `validate_network` (on the network the
/// operator takes from the class, for each subnet) must agree.
fn class_network_fixtures() -> Vec<Create> {
    let sgs = |n: usize| (0..n).map(sg).collect::<Vec<_>>();
    vec![
        ok("minimal", class(json!({}))),
        ok("two-subnets", net(json!({"subnets": [{"subnetId": SUBNET}, {"subnetId": "subnet-0123abcd"}]}))),
        ok("subnet-8-hex", net(json!({"subnets": [{"subnetId": "subnet-0123abcd"}]}))),
        bad("no-subnets", net(json!({"subnets": []}))),
        bad("no-network", class(json!({"network": null}))),
        bad("subnet-7-hex", net(json!({"subnets": [{"subnetId": "subnet-0123abc"}]}))),
        bad("subnet-18-hex", net(json!({"subnets": [{"subnetId": "subnet-0123456789abcdef01"}]}))),
        bad("subnet-uppercase", net(json!({"subnets": [{"subnetId": "subnet-0123456789ABCDEF0"}]}))),
        bad("subnet-wrong-prefix", net(json!({"subnets": [{"subnetId": "sn-0123456789abcdef0"}]}))),
        bad("second-subnet-bad", net(json!({"subnets": [{"subnetId": SUBNET}, {"subnetId": "subnet-x"}]}))),
        ok("given-security-groups", net(json!({"securityGroupIds": [SG]}))),
        ok("five-security-groups", net(json!({"securityGroupIds": sgs(5)}))),
        ok("client-sgs-and-cidrs", net(json!({"clientSecurityGroupIds": [SG], "clientCidrs": ["10.0.0.0/16"]}))),
        ok("client-security-groups-20", net(json!({"clientSecurityGroupIds": sgs(20)}))),
        bad("security-group-id-format", net(json!({"securityGroupIds": ["sg-bad"]}))),
        bad("client-security-group-id-format", net(json!({"clientSecurityGroupIds": [SG, "default"]}))),
        bad(
            "given-and-client-security-groups",
            net(json!({"securityGroupIds": [SG], "clientSecurityGroupIds": [sg(1)]})),
        ),
        bad("given-security-groups-and-cidrs", net(json!({"securityGroupIds": [SG], "clientCidrs": ["10.0.0.0/16"]}))),
        // client CIDRs: IPv4, no wider than /8
        ok("cidr-16", net(json!({"clientCidrs": ["10.0.0.0/16"]}))),
        ok("cidr-8", net(json!({"clientCidrs": ["10.0.0.0/8"]}))),
        ok("cidr-32", net(json!({"clientCidrs": ["10.1.2.3/32"]}))),
        ok("cidr-host-bits", net(json!({"clientCidrs": ["10.0.0.1/16"]}))),
        ok("cidrs-20", net(json!({"clientCidrs": (0..20).map(|i| format!("10.{i}.0.0/16")).collect::<Vec<_>>()}))),
        bad("cidr-everyone", net(json!({"clientCidrs": ["0.0.0.0/0"]}))),
        bad("cidr-4", net(json!({"clientCidrs": ["10.0.0.0/4"]}))),
        bad("cidr-7", net(json!({"clientCidrs": ["10.0.0.0/16", "10.0.0.0/7"]}))),
        bad("cidr-prefix-33", net(json!({"clientCidrs": ["10.0.0.0/33"]}))),
        bad("cidr-octet-256", net(json!({"clientCidrs": ["10.0.0.256/16"]}))),
        bad("cidr-not-an-address", net(json!({"clientCidrs": ["office"]}))),
        bad("cidr-no-prefix", net(json!({"clientCidrs": ["10.0.0.0"]}))),
        bad("cidr-ipv6", net(json!({"clientCidrs": ["fd00::/8"]}))),
    ]
}

/// Valid items for a list field of the class (for exceeding its item count).
fn class_item(field: &str, i: usize) -> Value {
    match field {
        ".network.subnets" => json!({"subnetId": format!("subnet-{i:017x}")}),
        ".network.securityGroupIds" | ".network.clientSecurityGroupIds" => json!(sg(i)),
        ".network.clientCidrs" => json!(format!("10.{i}.0.0/16")),
        ".s3Prefixes" => json!(format!("s3://ml-data/{i}/")),
        ".kmsKeyIds" => json!(format!("alias/key-{i}")),
        _ => json!(format!("item-{i}")),
    }
}

/// A class patch exceeding `limit` by one.
fn exceeding(limit: &Limit) -> Value {
    let over = usize::try_from(limit.max).unwrap_or(usize::MAX - 1) + 1;
    let value = match limit.bound {
        Bound::Length => json!("1".repeat(over)),
        Bound::ItemLength => json!([format!("sg-{}", "0".repeat(over))]),
        Bound::ItemFieldLength(field) => {
            json!([merge(&json!({"subnetId": SUBNET}), &json!({ field: "s".repeat(over) }))])
        }
        Bound::Items => Value::Array((0..over).map(|i| class_item(limit.field, i)).collect()),
        Bound::Entries => Value::Object((0..over).map(|i| (format!("team-{i}"), json!("ml"))).collect()),
        Bound::ValueLength => json!({"note": "v".repeat(over)}),
    };
    limit.field.rsplit('.').filter(|s| !s.is_empty()).fold(value, |inner, key| json!({ key: inner }))
}

/// Class fixtures only the class CRD judges: its other rules, its size limits and integer bounds.
/// (The operator reads classes the apiserver admitted; it re-checks only the network.)
fn class_admission_fixtures() -> Vec<Create> {
    let mut fixtures = vec![
        ok(
            "full",
            class(json!({
                "namespaceSelector": {"matchLabels": {"team": "ml"}},
                "deploymentTypes": ["SCRATCH_2", "PERSISTENT_2"], "storageTypes": ["SSD"],
                "perUnitStorageThroughputs": [125, 250], "lustreVersions": ["2.15", "2.12"],
                "dataCompression": "LZ4", "maxBackupRetentionDays": 90, "weeklyMaintenanceStartTime": "7:03:00",
                "allowedMountOptions": ["noatime"], "kmsKeyIds": ["alias/fsx"], "deletionPolicy": "Retain",
                "allowRetain": true,
                "limits": {"minCapacityGiB": 1200, "maxCapacityGiB": 9600, "maxCapacityGiBPerNamespace": 48000,
                           "maxVolumesPerNamespace": 10},
                "s3Prefixes": ["s3://ml-data/${namespace}/", "s3://shared-datasets/imagenet/"],
                "tags": {"cost-center": "4711"},
                "adoption": {"fileSystemIds": ["fs-0123456789abcdef0"], "requiredTag": {"key": "team", "value": "ml"},
                             "namespaces": ["ml"]}
            })),
        ),
        bad("no-deployment-types", class(json!({"deploymentTypes": []}))),
        bad("no-storage-types", class(json!({"storageTypes": []}))),
        bad("no-lustre-versions", class(json!({"lustreVersions": []}))),
        bad("s3-prefix-without-path", class(json!({"s3Prefixes": ["s3://ml-data"]}))),
        bad("s3-prefix-not-s3", class(json!({"s3Prefixes": ["https://ml-data/team/"]}))),
        bad("reserved-tag", class(json!({"tags": {"lustre.fsx.dev/owner-uid": "x"}}))),
        bad("aws-tag", class(json!({"tags": {"aws:createdBy": "x"}}))),
        bad("unknown-deployment-type", class(json!({"deploymentTypes": ["SCRATCH_3"]}))),
    ];
    for limit in CLASS_LIMITS {
        fixtures.push(out_of_bounds(limit.message, limit.field, class(exceeding(limit))));
    }
    for (field, min, max) in CLASS_INT_BOUNDS {
        for (which, value) in [("minimum", min - 1), ("maximum", max + 1)] {
            let patch =
                field.rsplit('.').filter(|s| !s.is_empty()).fold(json!(value), |inner, key| json!({ key: inner }));
            fixtures.push(out_of_bounds(format!("{field} beyond its {which}"), field, class(patch)));
        }
    }
    fixtures
}

struct Transition {
    name: &'static str,
    old: Value,
    /// Merge patch applied to `old`.
    change: Value,
    /// The transition rule that refuses the change; None: the update is accepted.
    refused_by: Option<&'static str>,
}

fn transition_rule(message_start: &str) -> &'static str {
    SPEC_TRANSITION_RULES
        .iter()
        .map(|r| r.message)
        .find(|m| m.starts_with(message_start))
        .unwrap_or_else(|| panic!("no transition rule message starts with {message_start:?}"))
}

/// (old spec, change) pairs, every transition rule refusing at least one.
fn transition_fixtures() -> Vec<Transition> {
    let allowed = |name, old, change| Transition { name, old, change, refused_by: None };
    let refused =
        |name, old, change, rule: &str| Transition { name, old, change, refused_by: Some(transition_rule(rule)) };
    let s3 = json!({"s3": {"importPath": "s3://training-data/in", "exportPath": "s3://training-data/out",
                           "autoImportPolicy": "NEW"}});
    let adopted = spec(json!({"storageCapacityGiB": null, "fileSystemId": "fs-0123456789abcdef0"}));
    vec![
        allowed("no-change", spec(json!({})), json!({})),
        allowed("grow-scratch2", spec(json!({})), json!({"storageCapacityGiB": 2400})),
        allowed("grow-p2", p2(json!({"storageCapacityGiB": 2400})), json!({"storageCapacityGiB": 4800})),
        allowed("grow-hdd", p1_hdd(json!({})), json!({"storageCapacityGiB": 12000})),
        allowed("claim-read-only", spec(json!({"claim": {"name": "data"}})), json!({"claim": {"readOnly": true}})),
        allowed("mount-options", spec(json!({})), json!({"mountOptions": ["flock", "noatime"]})),
        allowed(
            "same-settings",
            p1_ssd(json!({"tags": {"team": "ml"}, "weeklyMaintenanceStartTime": "2:04:30"})),
            json!({"tags": {"team": "ml"}, "weeklyMaintenanceStartTime": "2:04:30"}),
        ),
        // Day two: what FSx changes in place (the operator applies it), and what it does not.
        allowed("throughput-p1-changed", p1_ssd(json!({})), json!({"perUnitStorageThroughput": 200})),
        allowed(
            "throughput-p2-lowered",
            p2(json!({"perUnitStorageThroughput": 500})),
            json!({"perUnitStorageThroughput": 125}),
        ),
        refused(
            "drive-cache",
            p1_hdd(json!({})),
            json!({"driveCacheType": "NONE"}),
            "driveCacheType cannot be changed",
        ),
        allowed("compression-added", spec(json!({})), json!({"dataCompression": "LZ4"})),
        allowed("compression-changed", spec(json!({"dataCompression": "LZ4"})), json!({"dataCompression": "NONE"})),
        allowed("maintenance-window", p1_ssd(json!({})), json!({"weeklyMaintenanceStartTime": "2:04:30"})),
        allowed(
            "backups",
            p1_ssd(json!({"automaticBackupRetentionDays": 7})),
            json!({"automaticBackupRetentionDays": 14}),
        ),
        refused("tags-added", spec(json!({})), json!({"tags": {"team": "ml"}}), "tags cannot be changed"),
        refused(
            "tags-changed",
            spec(json!({"tags": {"team": "ml"}})),
            json!({"tags": {"team": "cv"}}),
            "tags cannot be changed",
        ),
        refused(
            "auto-import-policy",
            spec(s3.clone()),
            json!({"s3": {"autoImportPolicy": "NEW_CHANGED"}}),
            "s3.importPath, s3.exportPath and s3.autoImportPolicy are immutable",
        ),
        allowed("claim-name-same", spec(json!({"claim": {"name": "data"}})), json!({"claim": {"name": "data"}})),
        allowed("capacity-on-adopted", adopted.clone(), json!({"storageCapacityGiB": 2400})),
        allowed("kms-same", p1_ssd(json!({"kmsKeyId": "alias/fsx"})), json!({"storageCapacityGiB": 2400})),
        refused(
            "shrink",
            spec(json!({"storageCapacityGiB": 2400})),
            json!({"storageCapacityGiB": 1200}),
            "storageCapacityGiB can only grow",
        ),
        refused(
            "shrink-p1",
            p1_ssd(json!({"storageCapacityGiB": 4800})),
            json!({"storageCapacityGiB": 2400}),
            "storageCapacityGiB can only grow",
        ),
        refused(
            "grow-scratch1",
            spec(json!({"deploymentType": "SCRATCH_1"})),
            json!({"storageCapacityGiB": 2400}),
            "SCRATCH_1 file systems cannot grow",
        ),
        refused(
            "deployment-type",
            spec(json!({})),
            json!({"deploymentType": "PERSISTENT_2", "perUnitStorageThroughput": 125}),
            "deploymentType is immutable",
        ),
        refused(
            "deployment-type-scratch",
            spec(json!({})),
            json!({"deploymentType": "SCRATCH_1"}),
            "deploymentType is immutable",
        ),
        refused(
            "storage-type",
            p1_ssd(json!({})),
            json!({"storageType": "HDD", "driveCacheType": "READ", "perUnitStorageThroughput": 12, "storageCapacityGiB": 6000}),
            "storageType is immutable",
        ),
        allowed(
            "class-and-zone-same",
            spec(json!({"className": "a", "availabilityZone": "us-east-1a"})),
            json!({"className": "a", "availabilityZone": "us-east-1a", "storageCapacityGiB": 2400}),
        ),
        refused("class-name-added", spec(json!({})), json!({"className": "a"}), "className is immutable"),
        refused(
            "class-name-changed",
            spec(json!({"className": "a"})),
            json!({"className": "b"}),
            "className is immutable",
        ),
        refused(
            "class-name-removed",
            spec(json!({"className": "a"})),
            json!({"className": null}),
            "className is immutable",
        ),
        refused(
            "zone-added",
            spec(json!({})),
            json!({"availabilityZone": "us-east-1a"}),
            "availabilityZone is immutable",
        ),
        refused(
            "zone-changed",
            spec(json!({"availabilityZone": "us-east-1a"})),
            json!({"availabilityZone": "us-east-1b"}),
            "availabilityZone is immutable",
        ),
        refused(
            "zone-removed",
            spec(json!({"availabilityZone": "us-east-1a"})),
            json!({"availabilityZone": null}),
            "availabilityZone is immutable",
        ),
        refused("kms-added", p1_ssd(json!({})), json!({"kmsKeyId": "alias/fsx"}), "kmsKeyId is immutable"),
        refused(
            "kms-changed",
            p1_ssd(json!({"kmsKeyId": "alias/fsx"})),
            json!({"kmsKeyId": "alias/other"}),
            "kmsKeyId is immutable",
        ),
        refused(
            "kms-removed",
            p2(json!({"kmsKeyId": "alias/fsx"})),
            json!({"kmsKeyId": null}),
            "kmsKeyId is immutable",
        ),
        refused(
            "lustre-version-down",
            spec(json!({})),
            json!({"lustreVersion": "2.12"}),
            "lustreVersion can only be upgraded",
        ),
        allowed("lustre-version-default", spec(json!({"lustreVersion": "2.10"})), json!({"lustreVersion": null})),
        allowed("lustre-version-up", spec(json!({"lustreVersion": "2.12"})), json!({"lustreVersion": "2.15"})),
        refused(
            "file-system-id-added",
            spec(json!({})),
            json!({"fileSystemId": "fs-0123456789abcdef0"}),
            "fileSystemId is immutable",
        ),
        refused(
            "file-system-id-changed",
            adopted.clone(),
            json!({"fileSystemId": "fs-0fedcba9876543210"}),
            "fileSystemId is immutable",
        ),
        refused(
            "file-system-id-removed",
            adopted,
            json!({"fileSystemId": null, "storageCapacityGiB": 1200}),
            "fileSystemId is immutable",
        ),
        refused("claim-name-added", spec(json!({})), json!({"claim": {"name": "data"}}), "claim.name is immutable"),
        refused(
            "claim-name-changed",
            spec(json!({"claim": {"name": "data"}})),
            json!({"claim": {"name": "other"}}),
            "claim.name is immutable",
        ),
        refused(
            "claim-name-removed",
            spec(json!({"claim": {"name": "data"}})),
            json!({"claim": {"name": null}}),
            "claim.name is immutable",
        ),
        refused(
            "s3-added",
            spec(json!({})),
            s3.clone(),
            "s3.importPath, s3.exportPath and s3.autoImportPolicy are immutable",
        ),
        refused(
            "s3-removed",
            spec(s3.clone()),
            json!({"s3": null}),
            "s3.importPath, s3.exportPath and s3.autoImportPolicy are immutable",
        ),
        refused(
            "s3-import-changed",
            spec(s3.clone()),
            json!({"s3": {"importPath": "s3://training-data/other"}}),
            "s3.importPath, s3.exportPath and s3.autoImportPolicy are immutable",
        ),
        refused(
            "s3-export-changed",
            spec(s3.clone()),
            json!({"s3": {"exportPath": "s3://training-data/other"}}),
            "s3.importPath, s3.exportPath and s3.autoImportPolicy are immutable",
        ),
        refused(
            "s3-export-removed",
            spec(s3),
            json!({"s3": {"exportPath": null}}),
            "s3.importPath, s3.exportPath and s3.autoImportPolicy are immutable",
        ),
        allowed("dra-added", p2(json!({})), json!({"s3": {"associations": [dra("/d", "s3://training-data/d/")]}})),
        allowed(
            "metadata-iops-raised",
            p2(json!({"metadataConfiguration": {"mode": "USER_PROVISIONED", "iops": 1500}})),
            json!({"metadataConfiguration": {"mode": "USER_PROVISIONED", "iops": 12000}}),
        ),
        refused(
            "metadata-iops-lowered",
            p2(json!({"metadataConfiguration": {"mode": "USER_PROVISIONED", "iops": 3000}})),
            json!({"metadataConfiguration": {"mode": "USER_PROVISIONED", "iops": 1500}}),
            "metadataConfiguration.iops can only grow",
        ),
        refused(
            "metadata-removed",
            p2(json!({"metadataConfiguration": {"mode": "AUTOMATIC"}})),
            json!({"metadataConfiguration": null}),
            "metadataConfiguration cannot be removed",
        ),
        allowed(
            "dra-events-edited",
            p2(json!({"s3": {"associations": [dra("/d", "s3://training-data/d/")]}})),
            json!({"s3": {"associations": [{"fileSystemPath": "/d", "dataRepositoryPath": "s3://training-data/d/", "autoExportEvents": ["NEW", "CHANGED"], "importedFileChunkSize": 2048}]}}),
        ),
        allowed(
            "dra-removed",
            p2(
                json!({"s3": {"associations": [dra("/d", "s3://training-data/d/"), dra("/e", "s3://training-data/e/")]}}),
            ),
            json!({"s3": {"associations": [dra("/e", "s3://training-data/e/")]}}),
        ),
        allowed(
            "export-on-delete-toggled",
            p2(json!({"s3": {"associations": [dra("/d", "s3://training-data/d/")]}})),
            json!({"onDelete": {"exportToS3": true}}),
        ),
        refused(
            "dra-repository-changed",
            p2(json!({"s3": {"associations": [dra("/d", "s3://training-data/d/")]}})),
            json!({"s3": {"associations": [dra("/d", "s3://training-data/other/")]}}),
            "an association's dataRepositoryPath and batchImportMetadataOnCreate cannot change",
        ),
        refused(
            "dra-batch-import-changed",
            p2(json!({"s3": {"associations": [dra("/d", "s3://training-data/d/")]}})),
            json!({"s3": {"associations": [{"fileSystemPath": "/d", "dataRepositoryPath": "s3://training-data/d/", "batchImportMetadataOnCreate": true}]}}),
            "an association's dataRepositoryPath and batchImportMetadataOnCreate cannot change",
        ),
    ]
}

// ---------------------------------------------------------------------------------------------
// the two judges

/// The apiserver's answer: Ok on admission, Err(message) on a 422.
type Verdict = std::result::Result<(), String>;

fn object(name: &str, spec: &Value, resource_version: Option<String>) -> Result<DynamicObject> {
    of_kind("LustreVolume", name, spec, resource_version)
}

fn of_kind(kind: &str, name: &str, spec: &Value, resource_version: Option<String>) -> Result<DynamicObject> {
    let mut obj: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "lustre.fsx.dev/v1alpha1", "kind": kind,
        "metadata": {"name": name}, "spec": spec,
    }))?;
    obj.metadata.resource_version = resource_version;
    Ok(obj)
}

fn answer<T>(result: kube::Result<T>, what: &str) -> Result<Verdict> {
    match result {
        Ok(_) => Ok(Ok(())),
        Err(kube::Error::Api(s)) if s.code == 422 => Ok(Err(s.message)),
        Err(e) => Err(e).with_context(|| format!("{what}: expected admission or a 422")),
    }
}

const DRY_RUN: PostParams = PostParams { dry_run: true, field_manager: None };

/// `validate()` on the spec as the operator would read it (a spec that does not deserialise is
/// rejected too: the operator cannot read it). Err holds the violation messages.
fn operator_verdict(spec: &Value) -> std::result::Result<(), Vec<String>> {
    match serde_json::from_value::<LustreVolumeSpec>(spec.clone()) {
        Err(e) => Err(vec![format!("does not deserialise: {e}")]),
        Ok(s) => validate(&s).map_err(|e| e.0.into_iter().map(|v| v.message).collect()),
    }
}

fn show(v: &std::result::Result<(), impl std::fmt::Debug>) -> String {
    match v {
        Ok(()) => "accepted".into(),
        Err(e) => format!("rejected ({e:?})"),
    }
}

fn is_rule_message(rules: &[SpecRule], message: &str) -> bool {
    rules.iter().any(|r| r.message == message)
}

async fn lustre_volumes(prefix: &str) -> Result<Api<DynamicObject>> {
    let ns = testkit::namespace(prefix).await?;
    testkit::install_crds(&ns.client).await?;
    let ar = ApiResource::erase::<LustreVolume>(&());
    Ok(Api::namespaced_with(ns.client.clone(), &ns.name, &ar))
}

async fn lustre_classes(prefix: &str) -> Result<Api<DynamicObject>> {
    let ns = testkit::namespace(prefix).await?;
    testkit::install_crds(&ns.client).await?;
    Ok(Api::all_with(ns.client.clone(), &ApiResource::erase::<LustreClass>(&())))
}

/// `validate_network` on the network the operator takes from the class, for each subnet it
/// offers (a class without subnets or that does not deserialise is rejected: the operator has
/// no network to take). Err holds the violation messages.
fn class_network_verdict(spec: &Value) -> std::result::Result<(), Vec<String>> {
    let class = serde_json::from_value::<LustreClassSpec>(spec.clone())
        .map_err(|e| vec![format!("does not deserialise: {e}")])?;
    if class.network.subnets.is_empty() {
        return Err(vec!["no subnet".into()]);
    }
    let mut messages = BTreeSet::new();
    for subnet in &class.network.subnets {
        let network = NetworkSpec {
            subnet_id: subnet.subnet_id.clone(),
            security_group_ids: class.network.security_group_ids.clone(),
            client_security_group_ids: class.network.client_security_group_ids.clone(),
            client_cidrs: class.network.client_cidrs.clone(),
        };
        if let Err(e) = validate_network(&network) {
            messages.extend(e.0.into_iter().map(|v| v.message));
        }
    }
    if messages.is_empty() {
        Ok(())
    } else {
        Err(messages.into_iter().collect())
    }
}

// ---------------------------------------------------------------------------------------------
// tests

#[tokio::test]
async fn apiserver_and_validate_agree_on_every_create_fixture() -> Result<()> {
    let api = lustre_volumes("cel-parity").await?;
    let fixtures = create_fixtures();
    assert!(fixtures.len() >= 40, "{} fixtures", fixtures.len());
    let names: BTreeSet<&str> = fixtures.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names.len(), fixtures.len(), "fixture names are unique");

    let mut failures = Vec::new();
    let mut rejections = Vec::new();
    let mut operator_messages = BTreeSet::new();
    for (i, f) in fixtures.iter().enumerate() {
        let server = answer(api.create(&DRY_RUN, &object(&format!("c{i}"), &f.spec, None)?).await, &f.name)?;
        let operator = operator_verdict(&f.spec);
        if server.is_ok() != f.valid || operator.is_ok() != f.valid {
            failures.push(format!(
                "{}: expected {}, apiserver {}, validate() {}",
                f.name,
                if f.valid { "accepted" } else { "rejected" },
                show(&server),
                show(&operator)
            ));
        }
        if let (Err(server_message), Err(messages)) = (&server, &operator) {
            if let [only] = messages.as_slice() {
                if is_rule_message(SPEC_RULES, only) && !server_message.contains(only.as_str()) {
                    failures.push(format!("{}: the apiserver's message lacks {only:?}: {server_message}", f.name));
                }
                if let Some(limit) = LIMITS.iter().find(|l| l.message == only) {
                    let field = format!("spec{}", limit.field);
                    if !server_message.contains(&field) {
                        failures.push(format!("{}: the apiserver's message lacks {field}: {server_message}", f.name));
                    }
                }
            }
        }
        if let (Err(m), Some(text)) = (&server, &f.mentions) {
            if !m.contains(text.as_str()) {
                failures.push(format!("{}: the apiserver's message lacks {text}: {m}", f.name));
            }
        }
        if let Err(m) = server {
            rejections.push(m);
        }
        if let Err(m) = operator {
            operator_messages.extend(m);
        }
    }
    for (field, _, _) in VOLUME_INT_BOUNDS {
        if !rejections.iter().any(|m| m.contains(&format!("spec{field} in body should be"))) {
            failures.push(format!("no fixture is out of the schema's bounds of spec{field}"));
        }
    }
    for rule in SPEC_RULES {
        if !rejections.iter().any(|m| m.contains(rule.message)) {
            failures.push(format!("no fixture breaks the rule {:?} ({})", rule.message, rule.rule));
        }
    }
    for limit in LIMITS {
        if !operator_messages.contains(limit.message) {
            failures.push(format!("no fixture exceeds the limit {limit:?}"));
        }
    }
    let valid = fixtures.iter().filter(|f| f.valid).count();
    println!("{} create fixtures ({valid} valid, {} invalid)", fixtures.len(), fixtures.len() - valid);
    assert!(failures.is_empty(), "{} disagreements:\n{}", failures.len(), failures.join("\n"));
    Ok(())
}

#[tokio::test]
async fn what_cel_cannot_express_is_rejected_by_the_operator_only() -> Result<()> {
    let api = lustre_volumes("cel-operator-only").await?;
    let mut failures = Vec::new();
    let fixtures = operator_only_fixtures();
    for (i, (name, spec)) in fixtures.iter().enumerate() {
        let server = answer(api.create(&DRY_RUN, &object(&format!("o{i}"), spec, None)?).await, name)?;
        let operator = operator_verdict(spec);
        let only_rust = match &operator {
            Err(messages) => messages.iter().all(|m| !is_rule_message(SPEC_RULES, m)),
            Ok(()) => false,
        };
        if server.is_err() || !only_rust {
            failures.push(format!(
                "{name}: expected apiserver accepted and validate() rejected by an operator-only check; apiserver {}, validate() {}",
                show(&server),
                show(&operator)
            ));
        }
    }
    println!("{} operator-only fixtures", fixtures.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    Ok(())
}

#[tokio::test]
async fn transition_rules_refuse_exactly_what_they_promise() -> Result<()> {
    let api = lustre_volumes("cel-transitions").await?;
    let fixtures = transition_fixtures();
    let mut failures = Vec::new();
    let mut fired = BTreeSet::new();
    for (i, t) in fixtures.iter().enumerate() {
        let name = format!("t{i}");
        let new = merge(&t.old, &t.change);
        // Each spec is valid on its own: only the transition can be refused.
        for (which, s) in [("old", &t.old), ("new", &new)] {
            if let Err(e) = operator_verdict(s) {
                failures.push(format!("{}: the {which} spec is invalid on its own: {e:?}", t.name));
            }
        }
        let created = api
            .create(&PostParams::default(), &object(&name, &t.old, None)?)
            .await
            .with_context(|| format!("{}: creating the old spec", t.name))?;
        let update = object(&name, &new, created.metadata.resource_version.clone())?;
        let server = answer(api.replace(&name, &DRY_RUN, &update).await, t.name)?;
        match (&server, t.refused_by) {
            (Ok(()), None) => {}
            (Err(m), Some(rule)) if m.contains(rule) => {
                fired.insert(rule);
            }
            _ => failures.push(format!(
                "{}: expected {}, apiserver {}",
                t.name,
                t.refused_by.map_or("accepted".to_string(), |r| format!("refused with {r:?}")),
                show(&server)
            )),
        }
    }
    for rule in SPEC_TRANSITION_RULES {
        if !fired.contains(rule.message) {
            failures.push(format!("no fixture is refused by the transition rule {:?}", rule.message));
        }
    }
    println!("{} transition fixtures", fixtures.len());
    if !failures.is_empty() {
        bail!("{} disagreements:\n{}", failures.len(), failures.join("\n"));
    }
    Ok(())
}

#[tokio::test]
async fn class_crd_and_validate_network_agree_and_every_class_rule_fires() -> Result<()> {
    let api = lustre_classes("cel-classes").await?;
    let network = class_network_fixtures();
    let admission = class_admission_fixtures();
    let names: BTreeSet<&str> = network.iter().chain(&admission).map(|f| f.name.as_str()).collect();
    assert_eq!(names.len(), network.len() + admission.len(), "fixture names are unique");

    let mut failures = Vec::new();
    let mut rejections = Vec::new();
    let fixtures = network.iter().map(|f| (f, true)).chain(admission.iter().map(|f| (f, false)));
    for (i, (f, both)) in fixtures.enumerate() {
        let object = of_kind("LustreClass", &format!("cel-parity-{i}"), &f.spec, None)?;
        let server = answer(api.create(&DRY_RUN, &object).await, &f.name)?;
        // Only the network is re-checked by the operator; the rest is the apiserver's alone.
        let operator = if both { class_network_verdict(&f.spec) } else { Ok(()) };
        if server.is_ok() != f.valid || (both && operator.is_ok() != f.valid) {
            failures.push(format!(
                "class {}: expected {}, apiserver {}, validate_network() {}",
                f.name,
                if f.valid { "accepted" } else { "rejected" },
                show(&server),
                if both { show(&operator) } else { "not asked".into() }
            ));
        }
        if let (Err(server_message), Err(messages)) = (&server, &operator) {
            if let [only] = messages.as_slice() {
                if is_rule_message(CLASS_RULES, only) && !server_message.contains(only.as_str()) {
                    failures
                        .push(format!("class {}: the apiserver's message lacks {only:?}: {server_message}", f.name));
                }
            }
        }
        if let (Err(m), Some(text)) = (&server, &f.mentions) {
            if !m.contains(text.as_str()) {
                failures.push(format!("class {}: the apiserver's message lacks {text}: {m}", f.name));
            }
        }
        if let Err(m) = server {
            rejections.push(m);
        }
    }
    for rule in CLASS_RULES {
        if !rejections.iter().any(|m| m.contains(rule.message)) {
            failures.push(format!("no class fixture breaks the rule {:?} ({})", rule.message, rule.rule));
        }
    }
    println!("{} class network fixtures, {} class admission fixtures", network.len(), admission.len());
    assert!(failures.is_empty(), "{} disagreements:\n{}", failures.len(), failures.join("\n"));
    Ok(())
}

#[tokio::test]
async fn lustre_volume_names_are_at_most_63_characters() -> Result<()> {
    let api = lustre_volumes("cel-names").await?;
    let ok_name = "a".repeat(63);
    let long_name = "a".repeat(64);
    let accepted = answer(api.create(&DRY_RUN, &object(&ok_name, &spec(json!({})), None)?).await, "63")?;
    assert_eq!(accepted, Ok(()), "a 63-character name is accepted");
    match answer(api.create(&DRY_RUN, &object(&long_name, &spec(json!({})), None)?).await, "64")? {
        Err(m) => assert!(m.contains(NAME_RULE.message), "the rejection names the rule: {m}"),
        Ok(()) => bail!("a 64-character LustreVolume name was accepted"),
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// LustreDataTask

/// (name, spec, valid) fixtures of the LustreDataTask CRD; every rule and limit is broken once.
fn task_fixtures() -> Vec<(&'static str, Value, bool)> {
    let t = |patch: Value| merge(&json!({"volumeName": "train", "type": "Export"}), &patch);
    vec![
        ("export-all", t(json!({})), true),
        (
            "export-paths",
            t(json!({"paths": ["results/run-7", "checkpoints"], "reportPath": "s3://ml-data/ml/reports"})),
            true,
        ),
        ("import", t(json!({"type": "ImportMetadata", "paths": ["s3://ml-data/ml/new/"]})), true),
        ("release", t(json!({"type": "Release", "minDaysSinceLastAccess": 7, "ttlSecondsAfterFinished": 60})), true),
        ("volume-name-upper", t(json!({"volumeName": "Train"})), false),
        ("export-absolute", t(json!({"paths": ["/results"]})), false),
        ("export-climbs", t(json!({"paths": ["results/../../etc"]})), false),
        ("export-empty-path", t(json!({"paths": [""]})), false),
        ("release-s3-path", t(json!({"type": "Release", "paths": ["s3://ml-data/ml/x"]})), false),
        ("import-relative", t(json!({"type": "ImportMetadata", "paths": ["new/"]})), false),
        ("import-climbs", t(json!({"type": "ImportMetadata", "paths": ["s3://ml-data/ml/../other"]})), false),
        ("report-not-s3", t(json!({"reportPath": "ml-data/reports"})), false),
        ("report-climbs", t(json!({"reportPath": "s3://ml-data/ml/../other"})), false),
        ("days-on-export", t(json!({"minDaysSinceLastAccess": 3})), false),
        ("limit-volume-name", t(json!({"volumeName": "a".repeat(64)})), false),
        ("limit-paths", t(json!({"paths": vec!["p"; 101]})), false),
        ("limit-path-length", t(json!({"paths": ["p".repeat(4097)]})), false),
        ("limit-report-path", t(json!({"reportPath": format!("s3://ml-data/{}", "p".repeat(1020))})), false),
        ("unknown-type", t(json!({"type": "Copy"})), false),
    ]
}

#[tokio::test]
async fn apiserver_and_validate_task_agree_on_every_task_fixture() -> Result<()> {
    use lustre_api::task::{TASK_LIMITS, TASK_RULES};
    use lustre_api::{validate_task, LustreDataTask, LustreDataTaskSpec};
    let ns = testkit::namespace("cel-tasks").await?;
    testkit::install_crds(&ns.client).await?;
    let api: Api<DynamicObject> =
        Api::namespaced_with(ns.client.clone(), &ns.name, &ApiResource::erase::<LustreDataTask>(&()));
    let mut failures = Vec::new();
    let mut rejections = Vec::new();
    let mut operator_messages = BTreeSet::new();
    for (name, spec, valid) in task_fixtures() {
        let server = answer(api.create(&DRY_RUN, &of_kind("LustreDataTask", name, &spec, None)?).await, name)?;
        let operator = match serde_json::from_value::<LustreDataTaskSpec>(spec.clone()) {
            Err(e) => Err(vec![format!("does not deserialise: {e}")]),
            Ok(s) => validate_task(&s).map_err(|e| e.0.iter().map(|v| v.message.clone()).collect::<Vec<_>>()),
        };
        if server.is_ok() != valid || operator.is_ok() != valid {
            failures.push(format!("{name}: expected valid={valid}, apiserver {server:?}, operator {operator:?}"));
        }
        if let (Err(s), Err(o)) = (&server, &operator) {
            let a_rule = TASK_RULES.iter().any(|r| r.message == o[0].as_str());
            if o.len() == 1 && a_rule && !s.contains(&o[0]) {
                failures.push(format!("{name}: the apiserver's answer lacks the operator's message {:?}: {s}", o[0]));
            }
        }
        if let Err(s) = server {
            rejections.push(s);
        }
        if let Err(o) = operator {
            operator_messages.extend(o);
        }
    }
    for rule in TASK_RULES {
        if !rejections.iter().any(|m| m.contains(rule.message)) {
            failures.push(format!("no task fixture breaks the rule {:?}", rule.message));
        }
    }
    for limit in TASK_LIMITS {
        if !operator_messages.contains(limit.message) {
            failures.push(format!("no task fixture exceeds the limit {limit:?}"));
        }
    }
    // A task's spec is fixed once created.
    let created =
        api.create(&PostParams::default(), &of_kind("LustreDataTask", "fixed", &task_fixtures()[0].1, None)?).await?;
    let mut changed = of_kind("LustreDataTask", "fixed", &json!({"volumeName": "other", "type": "Export"}), None)?;
    changed.metadata.resource_version = created.metadata.resource_version;
    match answer(api.replace("fixed", &PostParams::default(), &changed).await, "replace")? {
        Ok(()) => failures.push("a task's spec could be changed".into()),
        Err(m) if !m.contains("a LustreDataTask's spec cannot change") => failures.push(format!("spec change: {m}")),
        Err(_) => {}
    }
    assert!(failures.is_empty(), "{} disagreements:\n{}", failures.len(), failures.join("\n"));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// the class's S3 prefixes: the admission policy and `lustre_api::policy::effective`

/// (importPath, accepted) for namespace `ns` under the prefix `s3://ml-data/${namespace}/`.
/// FSx reads a data repository path as a string prefix: without its slash the prefix would also
/// reach `s3://ml-data/<ns>b/`.
fn s3_prefix_fixtures(ns: &str) -> Vec<(String, bool)> {
    vec![
        (format!("s3://ml-data/{ns}"), false),
        (format!("s3://ml-data/{ns}/"), true),
        (format!("s3://ml-data/{ns}/x"), true),
        (format!("s3://ml-data/{ns}/x/"), true),
        (format!("s3://ml-data/{ns}b/"), false),
        (format!("s3://ml-data/{ns}b"), false),
        ("s3://ml-data".to_string(), false),
    ]
}

#[tokio::test]
async fn class_policy_and_effective_agree_on_the_s3_prefix_boundary() -> Result<()> {
    testkit::install_crypto_provider();
    let ns = testkit::namespace("cel-s3-prefix").await?;
    testkit::install_crds(&ns.client).await?;
    testkit::tenancy::apply_admission_policy(&ns.client).await?;
    let class_name = format!("s3-prefix-{}", ns.name);
    let class: LustreClass = serde_json::from_value(json!({
        "apiVersion": "lustre.fsx.dev/v1alpha1", "kind": "LustreClass", "metadata": {"name": class_name},
        "spec": {"network": {"subnets": [{"subnetId": SUBNET}]}, "s3Prefixes": ["s3://ml-data/${namespace}/"]}
    }))?;
    let classes: Api<LustreClass> = Api::all(ns.client.clone());
    let class = classes.create(&PostParams::default(), &class).await?;
    let volumes: Api<LustreVolume> = ns.api();
    let volume = |path: &str| -> Result<LustreVolume> {
        Ok(serde_json::from_value(json!({
            "apiVersion": "lustre.fsx.dev/v1alpha1", "kind": "LustreVolume",
            "metadata": {"name": "s3-prefix", "namespace": ns.name},
            "spec": {"storageCapacityGiB": 1200, "className": class_name, "s3": {"importPath": path}}
        }))?)
    };
    let server = |lv: LustreVolume| {
        let volumes = volumes.clone();
        async move {
            match volumes.create(&DRY_RUN, &lv).await {
                Ok(_) => Ok(Ok(())),
                Err(kube::Error::Api(s)) if matches!(s.code, 400 | 403 | 422) => Ok(Err(s.message)),
                Err(e) => Err(anyhow::Error::from(e)),
            }
        }
    };
    let fixtures = s3_prefix_fixtures(&ns.name);
    // The policy is enforced a moment after it is created: wait for the first refusal.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while server(volume("s3://elsewhere/data/")?).await?.is_ok() {
        if std::time::Instant::now() > deadline {
            bail!("the admission policy never took effect");
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    let mut failures = Vec::new();
    for (path, accepted) in &fixtures {
        let lv = volume(path)?;
        let operator = lustre_api::policy::effective(&lv, &class, &Default::default(), Default::default())
            .map(|_| ())
            .map_err(|e| e.to_string());
        let apiserver = server(lv).await?;
        if apiserver.is_ok() != *accepted || operator.is_ok() != *accepted {
            failures
                .push(format!("{path}: expected accepted={accepted}, apiserver {apiserver:?}, operator {operator:?}"));
        }
        if !accepted && fixtures.iter().any(|(p, ok)| *ok && *p == format!("{path}/")) {
            // The prefix itself without its slash: both say to add it.
            let add = format!("add the trailing slash: {path}/");
            if !operator.as_ref().err().is_some_and(|m| m.contains(&add)) {
                failures.push(format!("{path}: the operator's refusal lacks {add:?}: {operator:?}"));
            }
            if !apiserver.as_ref().err().is_some_and(|m| m.contains("add the trailing slash")) {
                failures.push(format!("{path}: the apiserver's refusal does not say to add the slash: {apiserver:?}"));
            }
        }
    }
    classes.delete(&class_name, &Default::default()).await?;
    println!("{} S3 prefix fixtures", fixtures.len());
    assert!(failures.is_empty(), "{} disagreements:\n{}", failures.len(), failures.join("\n"));
    Ok(())
}
