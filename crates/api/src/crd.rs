//! The CustomResourceDefinition: the schema derived from the Rust types plus the admission rules
//! (CEL `x-kubernetes-validations`) and the length limits that keep those rules within the
//! apiserver's cost budget.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;
use serde_json::{json, Value};

use crate::types::LustreVolume;

/// One admission rule on `spec`. `rule` is CEL with `self` bound to the spec (and `oldSelf` to the
/// previous spec for transition rules); `message` says what to change.
#[derive(Debug, Clone, Copy)]
pub struct SpecRule {
    pub rule: &'static str,
    pub message: &'static str,
    /// Field the rule is about, relative to `spec` (shown in the apiserver's answer).
    pub field_path: &'static str,
}

const fn r(rule: &'static str, message: &'static str, field_path: &'static str) -> SpecRule {
    SpecRule { rule, message, field_path }
}

/// Rules evaluated on create and update.
pub const SPEC_RULES: &[SpecRule] = &[
    r("has(self.fileSystemId) || has(self.storageCapacityGiB)",
      "storageCapacityGiB is required unless fileSystemId adopts an existing file system",
      ".storageCapacityGiB"),
    r("!has(self.storageCapacityGiB) || self.storageCapacityGiB >= 1200",
      "storageCapacityGiB must be at least 1200",
      ".storageCapacityGiB"),
    r("!has(self.storageCapacityGiB) || self.deploymentType != 'SCRATCH_1' || self.storageCapacityGiB == 1200 || self.storageCapacityGiB == 2400 || self.storageCapacityGiB % 3600 == 0",
      "storageCapacityGiB for SCRATCH_1 must be 1200, 2400 or a multiple of 3600",
      ".storageCapacityGiB"),
    r("!has(self.storageCapacityGiB) || self.deploymentType == 'SCRATCH_1' || self.storageType != 'SSD' || self.storageCapacityGiB == 1200 || self.storageCapacityGiB == 2400 || self.storageCapacityGiB % 2400 == 0",
      "storageCapacityGiB for SCRATCH_2, PERSISTENT_1 and PERSISTENT_2 on SSD must be 1200, 2400 or a multiple of 2400",
      ".storageCapacityGiB"),
    r("!has(self.storageCapacityGiB) || self.storageType != 'HDD' || !has(self.perUnitStorageThroughput) || (self.perUnitStorageThroughput == 12 ? self.storageCapacityGiB % 6000 == 0 : self.storageCapacityGiB % 1800 == 0)",
      "storageCapacityGiB on HDD must be a multiple of 6000 with perUnitStorageThroughput 12, or of 1800 with 40",
      ".storageCapacityGiB"),
    r("!(self.deploymentType in ['SCRATCH_1', 'SCRATCH_2']) || !has(self.perUnitStorageThroughput)",
      "perUnitStorageThroughput is not allowed for SCRATCH_1 and SCRATCH_2 deployments; remove it",
      ".perUnitStorageThroughput"),
    r("!(self.deploymentType in ['PERSISTENT_1', 'PERSISTENT_2']) || has(self.perUnitStorageThroughput)",
      "perUnitStorageThroughput is required for PERSISTENT_1 (SSD: 50, 100, 200; HDD: 12, 40) and PERSISTENT_2 (125, 250, 500, 1000)",
      ".perUnitStorageThroughput"),
    r("self.deploymentType != 'PERSISTENT_1' || self.storageType != 'SSD' || !has(self.perUnitStorageThroughput) || self.perUnitStorageThroughput in [50, 100, 200]",
      "perUnitStorageThroughput for PERSISTENT_1 on SSD must be 50, 100 or 200",
      ".perUnitStorageThroughput"),
    r("self.deploymentType != 'PERSISTENT_1' || self.storageType != 'HDD' || !has(self.perUnitStorageThroughput) || self.perUnitStorageThroughput in [12, 40]",
      "perUnitStorageThroughput for PERSISTENT_1 on HDD must be 12 or 40",
      ".perUnitStorageThroughput"),
    r("self.deploymentType != 'PERSISTENT_2' || !has(self.perUnitStorageThroughput) || self.perUnitStorageThroughput in [125, 250, 500, 1000]",
      "perUnitStorageThroughput for PERSISTENT_2 must be 125, 250, 500 or 1000",
      ".perUnitStorageThroughput"),
    r("self.storageType != 'HDD' || self.deploymentType == 'PERSISTENT_1'",
      "storageType HDD is only available with deploymentType PERSISTENT_1; use SSD",
      ".storageType"),
    r("self.storageType != 'HDD' || has(self.driveCacheType)",
      "driveCacheType (NONE or READ) is required with storageType HDD",
      ".driveCacheType"),
    r("self.storageType == 'HDD' || !has(self.driveCacheType)",
      "driveCacheType is only allowed with storageType HDD; remove it",
      ".driveCacheType"),
    r("!has(self.kmsKeyId) || self.deploymentType in ['PERSISTENT_1', 'PERSISTENT_2']",
      "kmsKeyId is only allowed for PERSISTENT_1 and PERSISTENT_2 (scratch file systems are encrypted with an AWS-owned key); remove it",
      ".kmsKeyId"),
    r("self.deploymentType != 'PERSISTENT_2' || self.lustreVersion != '2.10'",
      "PERSISTENT_2 needs lustreVersion 2.12 or 2.15",
      ".lustreVersion"),
    r("!has(self.s3) || self.deploymentType != 'PERSISTENT_2'",
      "s3 (the S3 import/export link) is only available for SCRATCH_1, SCRATCH_2 and PERSISTENT_1; remove it or change deploymentType",
      ".s3"),
    r("!has(self.s3) || has(self.s3.importPath) || (!has(self.s3.exportPath) && !has(self.s3.autoImportPolicy))",
      "s3.exportPath and s3.autoImportPolicy need s3.importPath",
      ".s3"),
    r("!has(self.s3) || !has(self.s3.importPath) || self.s3.importPath.startsWith('s3://')",
      "s3.importPath must be an S3 URL (s3://bucket/prefix)",
      ".s3"),
    r("!has(self.s3) || !has(self.s3.exportPath) || self.s3.exportPath.startsWith('s3://')",
      "s3.exportPath must be an S3 URL (s3://bucket/prefix)",
      ".s3"),
    r("!has(self.automaticBackupRetentionDays) || (self.automaticBackupRetentionDays >= 0 && self.automaticBackupRetentionDays <= 90)",
      "automaticBackupRetentionDays must be between 0 and 90",
      ".automaticBackupRetentionDays"),
    r("!has(self.automaticBackupRetentionDays) || self.automaticBackupRetentionDays == 0 || self.deploymentType in ['PERSISTENT_1', 'PERSISTENT_2']",
      "automaticBackupRetentionDays is only available for PERSISTENT_1 and PERSISTENT_2; remove it",
      ".automaticBackupRetentionDays"),
    r("!has(self.weeklyMaintenanceStartTime) || self.weeklyMaintenanceStartTime.matches('^[1-7]:([01][0-9]|2[0-3]):[0-5][0-9]$')",
      "weeklyMaintenanceStartTime must be d:HH:MM in UTC, with d from 1 (Monday) to 7 (Sunday), for example 7:03:00",
      ".weeklyMaintenanceStartTime"),
    r("self.network.subnetId.matches('^subnet-[0-9a-f]{8,17}$')",
      "network.subnetId must be a subnet ID such as subnet-0123456789abcdef0",
      ".network.subnetId"),
    r("!has(self.network.securityGroupIds) || size(self.network.securityGroupIds) == 0 || ((!has(self.network.clientSecurityGroupIds) || size(self.network.clientSecurityGroupIds) == 0) && (!has(self.network.clientCidrs) || size(self.network.clientCidrs) == 0))",
      "network.clientSecurityGroupIds and network.clientCidrs configure the managed security group; with network.securityGroupIds, open the Lustre ports in those groups instead",
      ".network"),
    r("!has(self.fileSystemId) || self.fileSystemId.matches('^fs-[0-9a-f]{8,17}$')",
      "fileSystemId must be a file system ID such as fs-0123456789abcdef0",
      ".fileSystemId"),
];

/// Transition rules: evaluated on update only, with `oldSelf` the previous spec.
pub const SPEC_TRANSITION_RULES: &[SpecRule] = &[
    r("self.deploymentType == oldSelf.deploymentType",
      "deploymentType is immutable; create a new LustreVolume to change it",
      ".deploymentType"),
    r("self.storageType == oldSelf.storageType",
      "storageType is immutable; create a new LustreVolume to change it",
      ".storageType"),
    r("self.network.subnetId == oldSelf.network.subnetId",
      "network.subnetId is immutable; create a new LustreVolume to move it",
      ".network.subnetId"),
    r("has(self.kmsKeyId) == has(oldSelf.kmsKeyId) && (!has(self.kmsKeyId) || self.kmsKeyId == oldSelf.kmsKeyId)",
      "kmsKeyId is immutable: it cannot be added, changed or removed after creation",
      ".kmsKeyId"),
    r("self.lustreVersion == oldSelf.lustreVersion",
      "lustreVersion is immutable",
      ".lustreVersion"),
    r("has(self.fileSystemId) == has(oldSelf.fileSystemId) && (!has(self.fileSystemId) || self.fileSystemId == oldSelf.fileSystemId)",
      "fileSystemId is immutable: it cannot be added, changed or removed after creation",
      ".fileSystemId"),
    r("!has(oldSelf.storageCapacityGiB) || (has(self.storageCapacityGiB) && self.storageCapacityGiB >= oldSelf.storageCapacityGiB)",
      "storageCapacityGiB can only grow: FSx cannot shrink a file system",
      ".storageCapacityGiB"),
    r("self.deploymentType != 'SCRATCH_1' || !has(oldSelf.storageCapacityGiB) || !has(self.storageCapacityGiB) || self.storageCapacityGiB == oldSelf.storageCapacityGiB",
      "SCRATCH_1 file systems cannot grow; use SCRATCH_2 or a persistent type",
      ".storageCapacityGiB"),
    r("(has(self.claim.name) ? self.claim.name : '') == (has(oldSelf.claim.name) ? oldSelf.claim.name : '')",
      "claim.name is immutable",
      ".claim"),
    r("has(self.s3) == has(oldSelf.s3) && (!has(self.s3) || ((has(self.s3.importPath) ? self.s3.importPath : '') == (has(oldSelf.s3.importPath) ? oldSelf.s3.importPath : '') && (has(self.s3.exportPath) ? self.s3.exportPath : '') == (has(oldSelf.s3.exportPath) ? oldSelf.s3.exportPath : '')))",
      "s3.importPath and s3.exportPath are immutable (only s3.autoImportPolicy can change)",
      ".s3"),
];

/// Length limits (JSON pointer below the spec schema, keyword, value). They bound CEL's cost
/// estimate and reject absurd input early.
const LIMITS: &[(&str, &str, u64)] = &[
    ("/properties/kmsKeyId", "maxLength", 2048),
    ("/properties/weeklyMaintenanceStartTime", "maxLength", 16),
    ("/properties/fileSystemId", "maxLength", 32),
    ("/properties/tags", "maxProperties", 40),
    ("/properties/tags/additionalProperties", "maxLength", 256),
    ("/properties/mountOptions", "maxItems", 32),
    ("/properties/mountOptions/items", "maxLength", 128),
    ("/properties/network/properties/subnetId", "maxLength", 32),
    ("/properties/network/properties/securityGroupIds", "maxItems", 5),
    ("/properties/network/properties/securityGroupIds/items", "maxLength", 32),
    ("/properties/network/properties/clientSecurityGroupIds", "maxItems", 20),
    ("/properties/network/properties/clientSecurityGroupIds/items", "maxLength", 32),
    ("/properties/network/properties/clientCidrs", "maxItems", 20),
    ("/properties/network/properties/clientCidrs/items", "maxLength", 43),
    ("/properties/s3/properties/importPath", "maxLength", 1024),
    ("/properties/s3/properties/exportPath", "maxLength", 1024),
    ("/properties/claim/properties/name", "maxLength", 253),
];

/// The LustreVolume CRD as installed: schema from the types, plus rules and limits.
pub fn crd() -> CustomResourceDefinition {
    let mut value = serde_json::to_value(LustreVolume::crd()).expect("a CRD always serialises");
    if let Some(versions) = value.pointer_mut("/spec/versions").and_then(Value::as_array_mut) {
        for version in versions {
            if let Some(Value::Object(root)) = version.pointer_mut("/schema/openAPIV3Schema") {
                root.insert(
                    "description".into(),
                    json!("LustreVolume is a shared Amazon FSx for Lustre file system that lustre-operator creates (or adopts) together with its security group, StorageClass, PersistentVolume and a bound PersistentVolumeClaim in the same namespace."),
                );
            }
            if let Some(spec) = version.pointer_mut("/schema/openAPIV3Schema/properties/spec") {
                decorate_spec_schema(spec);
            }
        }
    }
    serde_json::from_value(value).expect("the decorated CRD is still a CRD")
}

/// The CRD as YAML, as committed in manifests/ and the chart.
pub fn crd_yaml() -> String {
    let body = serde_yaml::to_string(&crd()).expect("a CRD always serialises to YAML");
    format!("# Generated by `lustre-operator crd`; do not edit by hand.\n{body}")
}

fn decorate_spec_schema(spec: &mut Value) {
    for (pointer, keyword, limit) in LIMITS {
        if let Some(Value::Object(node)) = spec.pointer_mut(pointer) {
            node.insert((*keyword).to_string(), json!(limit));
        }
    }
    let rules: Vec<Value> = SPEC_RULES
        .iter()
        .chain(SPEC_TRANSITION_RULES)
        .map(|r| json!({ "rule": r.rule, "message": r.message, "fieldPath": r.field_path }))
        .collect();
    if let Value::Object(node) = spec {
        node.insert("x-kubernetes-validations".into(), Value::Array(rules));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `kubectl explain lustrevolume.spec` shows these descriptions: every field must have one.
    #[test]
    fn every_spec_field_is_documented_and_every_rule_has_a_message() {
        let value = serde_json::to_value(crd()).expect("serialises");
        let spec = value.pointer("/spec/versions/0/schema/openAPIV3Schema/properties/spec").expect("spec schema");
        fn walk(path: &str, node: &Value, missing: &mut Vec<String>) {
            if let Some(props) = node.get("properties").and_then(Value::as_object) {
                for (name, child) in props {
                    let p = format!("{path}.{name}");
                    if child.get("description").and_then(Value::as_str).is_none_or(str::is_empty) {
                        missing.push(p.clone());
                    }
                    walk(&p, child, missing);
                }
            }
        }
        let mut missing = Vec::new();
        walk("spec", spec, &mut missing);
        assert!(missing.is_empty(), "fields without a description: {missing:?}");
        let rules = spec["x-kubernetes-validations"].as_array().expect("rules");
        assert_eq!(rules.len(), SPEC_RULES.len() + SPEC_TRANSITION_RULES.len());
        assert!(rules.iter().all(|r| r["message"].as_str().is_some_and(|m| !m.is_empty())));
    }
}
