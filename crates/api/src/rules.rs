//! The admission rules (CEL `x-kubernetes-validations`) of the LustreVolume and LustreClass
//! CRDs, and the length limits and integer bounds that keep those rules within the apiserver's
//! cost budget. [`crate::crd`] puts them into the CRDs.
//!
//! Every rule is a named constant so that [`crate::validation::validate`] reports the very same
//! message when it finds the same problem (the operator re-checks specs before any AWS call).

use serde_json::Value;

/// One admission rule on `spec`. `rule` is CEL with `self` bound to the spec (and `oldSelf` to the
/// previous spec for transition rules); `message` says what to change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpecRule {
    pub rule: &'static str,
    pub message: &'static str,
    /// Field the rule is about, relative to `spec` (shown in the apiserver's answer).
    pub field_path: &'static str,
}

pub(crate) const fn r(rule: &'static str, message: &'static str, field_path: &'static str) -> SpecRule {
    SpecRule { rule, message, field_path }
}

// ---- rules evaluated on create and update -------------------------------------------------------

pub(crate) const CAPACITY_REQUIRED: SpecRule = r(
    "has(self.fileSystemId) || has(self.storageCapacityGiB)",
    "storageCapacityGiB is required unless fileSystemId adopts an existing file system",
    ".storageCapacityGiB",
);
pub(crate) const CAPACITY_MINIMUM: SpecRule = r(
    "!has(self.storageCapacityGiB) || self.storageCapacityGiB >= 1200",
    "storageCapacityGiB must be at least 1200",
    ".storageCapacityGiB",
);
pub(crate) const CAPACITY_SCRATCH_1: SpecRule = r(
    "!has(self.storageCapacityGiB) || self.deploymentType != 'SCRATCH_1' || self.storageCapacityGiB == 1200 || self.storageCapacityGiB == 2400 || self.storageCapacityGiB % 3600 == 0",
    "storageCapacityGiB for SCRATCH_1 must be 1200, 2400 or a multiple of 3600",
    ".storageCapacityGiB",
);
pub(crate) const CAPACITY_SSD: SpecRule = r(
    "!has(self.storageCapacityGiB) || self.deploymentType == 'SCRATCH_1' || self.storageType != 'SSD' || self.storageCapacityGiB == 1200 || self.storageCapacityGiB == 2400 || self.storageCapacityGiB % 2400 == 0",
    "storageCapacityGiB for SCRATCH_2, PERSISTENT_1 and PERSISTENT_2 on SSD must be 1200, 2400 or a multiple of 2400",
    ".storageCapacityGiB",
);
pub(crate) const CAPACITY_HDD: SpecRule = r(
    "!has(self.storageCapacityGiB) || self.storageType != 'HDD' || !has(self.perUnitStorageThroughput) || (self.perUnitStorageThroughput == 12 ? self.storageCapacityGiB % 6000 == 0 : self.storageCapacityGiB % 1800 == 0)",
    "storageCapacityGiB on HDD must be a multiple of 6000 with perUnitStorageThroughput 12, or of 1800 with 40",
    ".storageCapacityGiB",
);
pub(crate) const THROUGHPUT_NOT_FOR_SCRATCH: SpecRule = r(
    "!(self.deploymentType in ['SCRATCH_1', 'SCRATCH_2']) || !has(self.perUnitStorageThroughput)",
    "perUnitStorageThroughput is not allowed for SCRATCH_1 and SCRATCH_2 deployments; remove it",
    ".perUnitStorageThroughput",
);
pub(crate) const THROUGHPUT_REQUIRED: SpecRule = r(
    "!(self.deploymentType in ['PERSISTENT_1', 'PERSISTENT_2']) || has(self.perUnitStorageThroughput)",
    "perUnitStorageThroughput is required for PERSISTENT_1 (SSD: 50, 100, 200; HDD: 12, 40) and PERSISTENT_2 (125, 250, 500, 1000)",
    ".perUnitStorageThroughput",
);
pub(crate) const THROUGHPUT_PERSISTENT_1_SSD: SpecRule = r(
    "self.deploymentType != 'PERSISTENT_1' || self.storageType != 'SSD' || !has(self.perUnitStorageThroughput) || self.perUnitStorageThroughput in [50, 100, 200]",
    "perUnitStorageThroughput for PERSISTENT_1 on SSD must be 50, 100 or 200",
    ".perUnitStorageThroughput",
);
pub(crate) const THROUGHPUT_PERSISTENT_1_HDD: SpecRule = r(
    "self.deploymentType != 'PERSISTENT_1' || self.storageType != 'HDD' || !has(self.perUnitStorageThroughput) || self.perUnitStorageThroughput in [12, 40]",
    "perUnitStorageThroughput for PERSISTENT_1 on HDD must be 12 or 40",
    ".perUnitStorageThroughput",
);
pub(crate) const THROUGHPUT_PERSISTENT_2: SpecRule = r(
    "self.deploymentType != 'PERSISTENT_2' || !has(self.perUnitStorageThroughput) || self.perUnitStorageThroughput in [125, 250, 500, 1000]",
    "perUnitStorageThroughput for PERSISTENT_2 must be 125, 250, 500 or 1000",
    ".perUnitStorageThroughput",
);
pub(crate) const HDD_ONLY_PERSISTENT_1: SpecRule = r(
    "self.storageType != 'HDD' || self.deploymentType == 'PERSISTENT_1'",
    "storageType HDD is only available with deploymentType PERSISTENT_1; use SSD",
    ".storageType",
);
pub(crate) const DRIVE_CACHE_REQUIRED: SpecRule = r(
    "self.storageType != 'HDD' || has(self.driveCacheType)",
    "driveCacheType (NONE or READ) is required with storageType HDD",
    ".driveCacheType",
);
pub(crate) const DRIVE_CACHE_ONLY_HDD: SpecRule = r(
    "self.storageType == 'HDD' || !has(self.driveCacheType)",
    "driveCacheType is only allowed with storageType HDD; remove it",
    ".driveCacheType",
);
pub(crate) const KMS_ONLY_PERSISTENT: SpecRule = r(
    "!has(self.kmsKeyId) || self.deploymentType in ['PERSISTENT_1', 'PERSISTENT_2']",
    "kmsKeyId is only allowed for PERSISTENT_1 and PERSISTENT_2 (scratch file systems are encrypted with an AWS-owned key); remove it",
    ".kmsKeyId",
);
pub(crate) const PERSISTENT_2_VERSION: SpecRule = r(
    "self.deploymentType != 'PERSISTENT_2' || self.lustreVersion != '2.10'",
    "PERSISTENT_2 needs lustreVersion 2.12 or 2.15",
    ".lustreVersion",
);
pub(crate) const S3_NOT_PERSISTENT_2: SpecRule = r(
    "!has(self.s3) || self.deploymentType != 'PERSISTENT_2' || (!has(self.s3.importPath) && !has(self.s3.exportPath) && !has(self.s3.autoImportPolicy))",
    "s3.importPath, s3.exportPath and s3.autoImportPolicy (the legacy S3 link) are only available for SCRATCH_1, SCRATCH_2 and PERSISTENT_1; use s3.associations on PERSISTENT_2",
    ".s3",
);
/// `has(self.s3) && has(self.s3.associations) && size(...) > 0`, the guard of the association rules.
macro_rules! with_associations {
    ($rule:literal) => {
        concat!("!has(self.s3) || !has(self.s3.associations) || size(self.s3.associations) == 0 || ", $rule)
    };
}
pub(crate) const ASSOCIATIONS_SUPPORTED: SpecRule = r(
    with_associations!("(self.deploymentType != 'SCRATCH_1' && self.lustreVersion != '2.10')"),
    "s3.associations need lustreVersion 2.12 or 2.15 and a deploymentType other than SCRATCH_1",
    ".s3.associations",
);
pub(crate) const ASSOCIATIONS_NOT_WITH_LEGACY: SpecRule = r(
    with_associations!("(!has(self.s3.importPath) && !has(self.s3.exportPath) && !has(self.s3.autoImportPolicy))"),
    "s3.associations cannot be combined with s3.importPath, s3.exportPath or s3.autoImportPolicy; use one or the other",
    ".s3",
);
pub(crate) const ASSOCIATION_PATH_FORMAT: SpecRule = r(
    with_associations!(r"self.s3.associations.all(a, a.fileSystemPath.matches('^/([^/]+(/[^/]+)*)?$') && !a.fileSystemPath.matches('(^|/)\\.\\.?(/|$)'))"),
    "each fileSystemPath of s3.associations must start with /, such as /datasets, with no trailing /, empty, . or .. segment",
    ".s3.associations",
);
pub(crate) const ASSOCIATION_REPOSITORY_URL: SpecRule = r(
    with_associations!(r"self.s3.associations.all(a, a.dataRepositoryPath.matches('^s3://[a-z0-9.-]{3,63}(/|$)') && !a.dataRepositoryPath.matches('/\\.\\.(/|$)'))"),
    "each dataRepositoryPath of s3.associations must be an S3 URL (s3://bucket/prefix/) whose bucket name has 3 to 63 lowercase letters, digits, '.' or '-', without .. segments",
    ".s3.associations",
);
pub(crate) const ASSOCIATION_PATHS_DISJOINT: SpecRule = r(
    with_associations!("self.s3.associations.all(a, self.s3.associations.all(b, a.fileSystemPath == b.fileSystemPath || (a.fileSystemPath != '/' && b.fileSystemPath != '/' && !b.fileSystemPath.startsWith(a.fileSystemPath + '/'))))"),
    "the fileSystemPaths of s3.associations must not overlap: none may lie inside another, and / must be the only association",
    ".s3.associations",
);
pub(crate) const ASSOCIATION_REPOSITORIES_DISJOINT: SpecRule = r(
    with_associations!("self.s3.associations.all(a, self.s3.associations.all(b, a.fileSystemPath == b.fileSystemPath || !(b.dataRepositoryPath.endsWith('/') ? b.dataRepositoryPath : b.dataRepositoryPath + '/').startsWith(a.dataRepositoryPath.endsWith('/') ? a.dataRepositoryPath : a.dataRepositoryPath + '/')))"),
    "the dataRepositoryPaths of s3.associations must not overlap: none may be the same as or lie inside another",
    ".s3.associations",
);
pub(crate) const ASSOCIATION_CHUNK_SIZE: SpecRule = r(
    with_associations!("self.s3.associations.all(a, !has(a.importedFileChunkSize) || (a.importedFileChunkSize >= 1 && a.importedFileChunkSize <= 512000))"),
    "importedFileChunkSize of s3.associations must be between 1 and 512000 MiB",
    ".s3.associations",
);
pub(crate) const EXPORT_ON_DELETE_NEEDS_LINK: SpecRule = r(
    "!has(self.onDelete) || !self.onDelete.exportToS3 || (has(self.s3) && (has(self.s3.importPath) || (has(self.s3.associations) && size(self.s3.associations) > 0)))",
    "onDelete.exportToS3 needs an S3 link to export to: s3.associations, or s3.importPath (with s3.exportPath)",
    ".onDelete",
);
pub(crate) const S3_NEEDS_IMPORT_PATH: SpecRule = r(
    "!has(self.s3) || has(self.s3.importPath) || (!has(self.s3.exportPath) && !has(self.s3.autoImportPolicy))",
    "s3.exportPath and s3.autoImportPolicy need s3.importPath",
    ".s3",
);
pub(crate) const S3_IMPORT_PATH_URL: SpecRule = r(
    "!has(self.s3) || !has(self.s3.importPath) || self.s3.importPath.matches('^s3://[a-z0-9.-]{3,63}(/|$)')",
    "s3.importPath must be an S3 URL (s3://bucket/prefix) whose bucket name has 3 to 63 lowercase letters, digits, '.' or '-'",
    ".s3.importPath",
);
pub(crate) const S3_EXPORT_PATH_URL: SpecRule = r(
    "!has(self.s3) || !has(self.s3.exportPath) || self.s3.exportPath.matches('^s3://[a-z0-9.-]{3,63}(/|$)')",
    "s3.exportPath must be an S3 URL (s3://bucket/prefix) whose bucket name has 3 to 63 lowercase letters, digits, '.' or '-'",
    ".s3.exportPath",
);
pub(crate) const BACKUP_DAYS_RANGE: SpecRule = r(
    "!has(self.automaticBackupRetentionDays) || (self.automaticBackupRetentionDays >= 0 && self.automaticBackupRetentionDays <= 90)",
    "automaticBackupRetentionDays must be between 0 and 90",
    ".automaticBackupRetentionDays",
);
pub(crate) const BACKUP_ONLY_PERSISTENT: SpecRule = r(
    "!has(self.automaticBackupRetentionDays) || self.automaticBackupRetentionDays == 0 || self.deploymentType in ['PERSISTENT_1', 'PERSISTENT_2']",
    "automaticBackupRetentionDays is only available for PERSISTENT_1 and PERSISTENT_2; remove it",
    ".automaticBackupRetentionDays",
);
pub(crate) const WEEKLY_MAINTENANCE_FORMAT: SpecRule = r(
    "!has(self.weeklyMaintenanceStartTime) || self.weeklyMaintenanceStartTime.matches('^[1-7]:([01][0-9]|2[0-3]):[0-5][0-9]$')",
    "weeklyMaintenanceStartTime must be d:HH:MM in UTC, with d from 1 (Monday) to 7 (Sunday), for example 7:03:00",
    ".weeklyMaintenanceStartTime",
);
pub(crate) const SUBNET_ID_FORMAT: SpecRule = r(
    "size(self.network.subnets) > 0 && self.network.subnets.all(s, s.subnetId.matches('^subnet-[0-9a-f]{8,17}$'))",
    "network.subnets must list at least one subnet, each with a subnet ID such as subnet-0123456789abcdef0",
    ".network.subnets",
);
pub(crate) const CLIENT_CIDR_FORMAT: SpecRule = r(
    "!has(self.network.clientCidrs) || self.network.clientCidrs.all(c, isCIDR(c) && cidr(c).ip().family() == 4 && cidr(c).prefixLength() >= 8)",
    "network.clientCidrs must be IPv4 CIDRs no wider than /8, such as 10.0.0.0/16 (Lustre has no authentication of its own: 0.0.0.0/0 would open the file systems to anyone)",
    ".network.clientCidrs",
);
pub(crate) const SECURITY_GROUP_ID_FORMAT: SpecRule = r(
    "!has(self.network.securityGroupIds) || self.network.securityGroupIds.all(g, g.matches('^sg-[0-9a-f]{8,17}$'))",
    "network.securityGroupIds must be security group IDs such as sg-0123456789abcdef0",
    ".network.securityGroupIds",
);
pub(crate) const CLIENT_SECURITY_GROUP_ID_FORMAT: SpecRule = r(
    "!has(self.network.clientSecurityGroupIds) || self.network.clientSecurityGroupIds.all(g, g.matches('^sg-[0-9a-f]{8,17}$'))",
    "network.clientSecurityGroupIds must be security group IDs such as sg-0123456789abcdef0",
    ".network.clientSecurityGroupIds",
);
pub(crate) const NETWORK_EXCLUSIVE: SpecRule = r(
    "!has(self.network.securityGroupIds) || size(self.network.securityGroupIds) == 0 || ((!has(self.network.clientSecurityGroupIds) || size(self.network.clientSecurityGroupIds) == 0) && (!has(self.network.clientCidrs) || size(self.network.clientCidrs) == 0))",
    "network.clientSecurityGroupIds and network.clientCidrs configure the managed security group; with network.securityGroupIds, open the Lustre ports in those groups instead",
    ".network",
);
pub(crate) const FILE_SYSTEM_ID_FORMAT: SpecRule = r(
    "!has(self.fileSystemId) || self.fileSystemId.matches('^fs-[0-9a-f]{8,17}$')",
    "fileSystemId must be a file system ID such as fs-0123456789abcdef0",
    ".fileSystemId",
);
pub(crate) const CLAIM_NAME_FORMAT: SpecRule = r(
    "!has(self.claim.name) || self.claim.name.matches('^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$')",
    "claim.name must be a DNS label: lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters",
    ".claim.name",
);
/// Whitespace as Rust's `char::is_whitespace` sees it (Unicode White_Space), written for RE2.
pub(crate) const MOUNT_OPTIONS_FORMAT: SpecRule = r(
    r"!has(self.mountOptions) || self.mountOptions.all(o, size(o) > 0 && !o.matches('[\\s\\x0B\\x{85}\\p{Z}]'))",
    "mountOptions must be non-empty and contain no whitespace",
    ".mountOptions",
);

pub(crate) const METADATA_ONLY_PERSISTENT_2: SpecRule = r(
    "!has(self.metadataConfiguration) || (self.deploymentType == 'PERSISTENT_2' && self.lustreVersion == '2.15')",
    "metadataConfiguration is only for PERSISTENT_2 with lustreVersion 2.15",
    ".metadataConfiguration",
);
pub(crate) const METADATA_IOPS: SpecRule = r(
    "!has(self.metadataConfiguration) || (self.metadataConfiguration.mode == 'AUTOMATIC' ? !has(self.metadataConfiguration.iops) : (has(self.metadataConfiguration.iops) && (self.metadataConfiguration.iops in [1500, 3000, 6000, 12000] || (self.metadataConfiguration.iops % 12000 == 0 && self.metadataConfiguration.iops <= 192000))))",
    "metadataConfiguration: AUTOMATIC takes no iops; USER_PROVISIONED needs iops 1500, 3000, 6000, 12000 or a multiple of 12000 up to 192000",
    ".metadataConfiguration",
);

/// Rules evaluated on create and update.
pub const SPEC_RULES: &[SpecRule] = &[
    METADATA_ONLY_PERSISTENT_2,
    METADATA_IOPS,
    CAPACITY_REQUIRED,
    CAPACITY_MINIMUM,
    CAPACITY_SCRATCH_1,
    CAPACITY_SSD,
    CAPACITY_HDD,
    THROUGHPUT_NOT_FOR_SCRATCH,
    THROUGHPUT_REQUIRED,
    THROUGHPUT_PERSISTENT_1_SSD,
    THROUGHPUT_PERSISTENT_1_HDD,
    THROUGHPUT_PERSISTENT_2,
    HDD_ONLY_PERSISTENT_1,
    DRIVE_CACHE_REQUIRED,
    DRIVE_CACHE_ONLY_HDD,
    KMS_ONLY_PERSISTENT,
    PERSISTENT_2_VERSION,
    S3_NOT_PERSISTENT_2,
    ASSOCIATIONS_SUPPORTED,
    ASSOCIATIONS_NOT_WITH_LEGACY,
    ASSOCIATION_PATH_FORMAT,
    ASSOCIATION_REPOSITORY_URL,
    ASSOCIATION_PATHS_DISJOINT,
    ASSOCIATION_REPOSITORIES_DISJOINT,
    ASSOCIATION_CHUNK_SIZE,
    EXPORT_ON_DELETE_NEEDS_LINK,
    S3_NEEDS_IMPORT_PATH,
    S3_IMPORT_PATH_URL,
    S3_EXPORT_PATH_URL,
    BACKUP_DAYS_RANGE,
    BACKUP_ONLY_PERSISTENT,
    WEEKLY_MAINTENANCE_FORMAT,
    FILE_SYSTEM_ID_FORMAT,
    CLAIM_NAME_FORMAT,
    MOUNT_OPTIONS_FORMAT,
];

/// Rules on the LustreClass spec (create and update).
pub const CLASS_RULES: &[SpecRule] = &[
    SUBNET_ID_FORMAT,
    SECURITY_GROUP_ID_FORMAT,
    CLIENT_SECURITY_GROUP_ID_FORMAT,
    NETWORK_EXCLUSIVE,
    CLIENT_CIDR_FORMAT,
    r(
        "size(self.deploymentTypes) > 0 && size(self.storageTypes) > 0 && size(self.lustreVersions) > 0",
        "deploymentTypes, storageTypes and lustreVersions must each allow at least one value",
        ".deploymentTypes",
    ),
    r(
        "!has(self.s3Prefixes) || self.s3Prefixes.all(p, p.matches('^s3://[a-z0-9.-]{3,63}/'))",
        "s3Prefixes must be S3 URLs with a bucket and a path, such as s3://ml-data/${namespace}/",
        ".s3Prefixes",
    ),
    r(
        "!has(self.tags) || self.tags.all(k, !k.startsWith('lustre.fsx.dev/') && !k.startsWith('aws:'))",
        "tag keys starting with lustre.fsx.dev/ or aws: are reserved",
        ".tags",
    ),
];

/// Transition rules: evaluated on update only, with `oldSelf` the previous spec. The operator never
/// sees the previous spec, so these live in the CRD only.
pub const SPEC_TRANSITION_RULES: &[SpecRule] = &[
    r("self.deploymentType == oldSelf.deploymentType",
      "deploymentType is immutable; create a new LustreVolume to change it",
      ".deploymentType"),
    r("self.storageType == oldSelf.storageType",
      "storageType is immutable; create a new LustreVolume to change it",
      ".storageType"),
    r("(has(self.className) ? self.className : '') == (has(oldSelf.className) ? oldSelf.className : '')",
      "className is immutable; create a new LustreVolume to use another class",
      ".className"),
    r("(has(self.availabilityZone) ? self.availabilityZone : '') == (has(oldSelf.availabilityZone) ? oldSelf.availabilityZone : '')",
      "availabilityZone is immutable; create a new LustreVolume to move it",
      ".availabilityZone"),
    r("has(self.kmsKeyId) == has(oldSelf.kmsKeyId) && (!has(self.kmsKeyId) || self.kmsKeyId == oldSelf.kmsKeyId)",
      "kmsKeyId is immutable: it cannot be added, changed or removed after creation",
      ".kmsKeyId"),
    r("self.lustreVersion == oldSelf.lustreVersion || oldSelf.lustreVersion == '2.10' || (oldSelf.lustreVersion == '2.12' && self.lustreVersion == '2.15')",
      "lustreVersion can only be upgraded (2.10 -> 2.12 -> 2.15), in place; FSx cannot go back",
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
    r("!has(oldSelf.metadataConfiguration) || has(self.metadataConfiguration)",
      "metadataConfiguration cannot be removed",
      ".metadataConfiguration"),
    r("!has(oldSelf.metadataConfiguration) || !has(oldSelf.metadataConfiguration.iops) || !has(self.metadataConfiguration) || !has(self.metadataConfiguration.iops) || self.metadataConfiguration.iops >= oldSelf.metadataConfiguration.iops",
      "metadataConfiguration.iops can only grow: FSx cannot lower metadata IOPS",
      ".metadataConfiguration"),
    r("has(self.driveCacheType) == has(oldSelf.driveCacheType) && (!has(self.driveCacheType) || self.driveCacheType == oldSelf.driveCacheType)",
      "driveCacheType cannot be changed yet: the operator does not apply it to an existing file system; create a new LustreVolume",
      ".driveCacheType"),
    r("has(self.tags) == has(oldSelf.tags) && (!has(self.tags) || self.tags == oldSelf.tags)",
      "tags cannot be changed yet: the operator does not apply it to an existing file system; create a new LustreVolume",
      ".tags"),
    r("(has(self.claim.name) ? self.claim.name : '') == (has(oldSelf.claim.name) ? oldSelf.claim.name : '')",
      "claim.name is immutable",
      ".claim"),
    r("(has(self.s3) && has(self.s3.importPath) ? self.s3.importPath : '') == (has(oldSelf.s3) && has(oldSelf.s3.importPath) ? oldSelf.s3.importPath : '') && (has(self.s3) && has(self.s3.exportPath) ? self.s3.exportPath : '') == (has(oldSelf.s3) && has(oldSelf.s3.exportPath) ? oldSelf.s3.exportPath : '') && (has(self.s3) && has(self.s3.autoImportPolicy) ? self.s3.autoImportPolicy : '') == (has(oldSelf.s3) && has(oldSelf.s3.autoImportPolicy) ? oldSelf.s3.autoImportPolicy : '')",
      "s3.importPath, s3.exportPath and s3.autoImportPolicy are immutable: the operator does not change an existing file system's legacy S3 link",
      ".s3"),
    r("!has(self.s3) || !has(self.s3.associations) || !has(oldSelf.s3) || !has(oldSelf.s3.associations) || self.s3.associations.all(a, oldSelf.s3.associations.all(o, o.fileSystemPath != a.fileSystemPath || (o.dataRepositoryPath == a.dataRepositoryPath && o.batchImportMetadataOnCreate == a.batchImportMetadataOnCreate)))",
      "an association's dataRepositoryPath and batchImportMetadataOnCreate cannot change; remove the association, then add it again",
      ".s3.associations"),
];

/// What a [`Limit`] bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// `maxLength` of the string field itself.
    Length,
    /// `maxLength` of every item of the list field.
    ItemLength,
    /// `maxLength` of the named field of every item of the list field (a list of objects).
    ItemFieldLength(&'static str),
    /// `maxLength` of every value of the map field.
    ValueLength,
    /// `maxItems` of the list field.
    Items,
    /// `maxProperties` of the map field.
    Entries,
}

/// A size limit in the schema. Limits bound CEL's cost estimate and reject absurd input early;
/// [`crate::validation::validate`] checks the same table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// The field, relative to `spec` (`.network.clientCidrs`).
    pub field: &'static str,
    pub bound: Bound,
    pub max: u64,
    /// What the operator reports when the limit is exceeded.
    pub message: &'static str,
}

const fn limit(field: &'static str, bound: Bound, max: u64, message: &'static str) -> Limit {
    Limit { field, bound, max, message }
}

/// The size limits of the spec.
pub const LIMITS: &[Limit] = &[
    limit(".kmsKeyId", Bound::Length, 2048, "kmsKeyId must be at most 2048 characters"),
    limit(".weeklyMaintenanceStartTime", Bound::Length, 16, "weeklyMaintenanceStartTime must be at most 16 characters"),
    limit(".fileSystemId", Bound::Length, 32, "fileSystemId must be at most 32 characters"),
    limit(".tags", Bound::Entries, 40, "at most 40 tags (FSx allows 50 and the operator adds its own)"),
    limit(".tags", Bound::ValueLength, 256, "tag values must be at most 256 characters"),
    limit(".mountOptions", Bound::Items, 32, "at most 32 mountOptions"),
    limit(".mountOptions", Bound::ItemLength, 128, "each mount option must be at most 128 characters"),
    limit(".s3.importPath", Bound::Length, 1024, "s3.importPath must be at most 1024 characters"),
    limit(".s3.exportPath", Bound::Length, 1024, "s3.exportPath must be at most 1024 characters"),
    limit(".s3.associations", Bound::Items, 8, "at most 8 s3.associations (FSx's limit per file system)"),
    limit(
        ".s3.associations",
        Bound::ItemFieldLength("fileSystemPath"),
        4096,
        "each fileSystemPath of s3.associations must be at most 4096 characters",
    ),
    limit(
        ".s3.associations",
        Bound::ItemFieldLength("dataRepositoryPath"),
        900,
        "each dataRepositoryPath of s3.associations must be at most 900 characters",
    ),
    limit(".claim.name", Bound::Length, 253, "claim.name must be at most 253 characters"),
    limit(".className", Bound::Length, 253, "className must be at most 253 characters"),
    limit(".availabilityZone", Bound::Length, 32, "availabilityZone must be at most 32 characters"),
];

/// The size limits of the LustreClass spec.
pub const CLASS_LIMITS: &[Limit] = &[
    limit(".network.subnets", Bound::Items, 16, "at most 16 network.subnets"),
    // Without it the subnet rule's estimated cost is over the apiserver's budget (CRD refused).
    limit(
        ".network.subnets",
        Bound::ItemFieldLength("subnetId"),
        32,
        "each of network.subnets must have a subnetId of at most 32 characters",
    ),
    limit(
        ".network.subnets",
        Bound::ItemFieldLength("availabilityZone"),
        32,
        "each of network.subnets must have an availabilityZone of at most 32 characters",
    ),
    limit(".network.securityGroupIds", Bound::Items, 5, "at most 5 network.securityGroupIds"),
    limit(
        ".network.securityGroupIds",
        Bound::ItemLength,
        32,
        "each of network.securityGroupIds must be at most 32 characters",
    ),
    limit(".network.clientSecurityGroupIds", Bound::Items, 20, "at most 20 network.clientSecurityGroupIds"),
    limit(
        ".network.clientSecurityGroupIds",
        Bound::ItemLength,
        32,
        "each of network.clientSecurityGroupIds must be at most 32 characters",
    ),
    limit(".network.clientCidrs", Bound::Items, 20, "at most 20 network.clientCidrs"),
    limit(".network.clientCidrs", Bound::ItemLength, 43, "each of network.clientCidrs must be at most 43 characters"),
    limit(".s3Prefixes", Bound::Items, 16, "at most 16 s3Prefixes"),
    limit(".s3Prefixes", Bound::ItemLength, 1024, "each of s3Prefixes must be at most 1024 characters"),
    limit(".kmsKeyIds", Bound::Items, 8, "at most 8 kmsKeyIds"),
    limit(".kmsKeyIds", Bound::ItemLength, 2048, "each of kmsKeyIds must be at most 2048 characters"),
    limit(".allowedMountOptions", Bound::Items, 32, "at most 32 allowedMountOptions"),
    limit(".allowedMountOptions", Bound::ItemLength, 128, "each of allowedMountOptions must be at most 128 characters"),
    limit(".tags", Bound::Entries, 8, "at most 8 class tags (FSx allows 50 in all)"),
    limit(".tags", Bound::ValueLength, 256, "tag values must be at most 256 characters"),
    limit(".weeklyMaintenanceStartTime", Bound::Length, 16, "weeklyMaintenanceStartTime must be at most 16 characters"),
];

/// Integer bounds (FSx's) in the schemas: (field below spec, minimum, maximum). Without them the
/// apiserver stores any int64, and one out-of-range object would break every list of the kind.
pub const VOLUME_INT_BOUNDS: &[(&str, i64, i64)] = &[
    (".storageCapacityGiB", 0, 2_147_483_647),
    (".perUnitStorageThroughput", 12, 1000),
    (".automaticBackupRetentionDays", 0, 90),
];

/// Integer bounds of the LustreClass spec.
pub const CLASS_INT_BOUNDS: &[(&str, i64, i64)] = &[
    (".maxBackupRetentionDays", 0, 90),
    (".limits.minCapacityGiB", 0, 2_147_483_647),
    (".limits.maxCapacityGiB", 0, 2_147_483_647),
    (".limits.maxCapacityGiBPerNamespace", 0, 9_007_199_254_740_991),
    (".limits.maxVolumesPerNamespace", 0, 100_000),
];

impl Limit {
    /// The JSON pointer of the limited schema node below the spec schema.
    pub(crate) fn schema_pointer(&self) -> String {
        let mut pointer: String =
            self.field.split('.').filter(|s| !s.is_empty()).map(|s| format!("/properties/{s}")).collect();
        match self.bound {
            Bound::ItemLength => pointer.push_str("/items"),
            Bound::ItemFieldLength(field) => pointer.push_str(&format!("/items/properties/{field}")),
            Bound::ValueLength => pointer.push_str("/additionalProperties"),
            Bound::Length | Bound::Items | Bound::Entries => {}
        }
        pointer
    }

    /// The OpenAPI keyword that expresses the limit.
    pub(crate) fn keyword(&self) -> &'static str {
        match self.bound {
            Bound::Length | Bound::ItemLength | Bound::ItemFieldLength(_) | Bound::ValueLength => "maxLength",
            Bound::Items => "maxItems",
            Bound::Entries => "maxProperties",
        }
    }

    /// Whether `spec` (the spec as JSON) exceeds the limit. Lengths count characters, as the
    /// apiserver does.
    pub(crate) fn exceeded_by(&self, spec: &Value) -> bool {
        let pointer: String = self.field.replace('.', "/");
        let Some(node) = spec.pointer(&pointer) else { return false };
        let too_long = |v: &Value| v.as_str().is_some_and(|s| s.chars().count() as u64 > self.max);
        match self.bound {
            Bound::Length => too_long(node),
            Bound::ItemLength => node.as_array().is_some_and(|items| items.iter().any(too_long)),
            Bound::ItemFieldLength(field) => {
                node.as_array().is_some_and(|items| items.iter().any(|item| item.get(field).is_some_and(too_long)))
            }
            Bound::ValueLength => node.as_object().is_some_and(|map| map.values().any(too_long)),
            Bound::Items => node.as_array().is_some_and(|items| items.len() as u64 > self.max),
            Bound::Entries => node.as_object().is_some_and(|map| map.len() as u64 > self.max),
        }
    }
}

/// Rule on the whole LustreVolume: its name ends up in label values (63 characters at most).
pub const NAME_RULE: SpecRule = r(
    "size(self.metadata.name) <= 63",
    "a LustreVolume name must be at most 63 characters (it labels the StorageClass and PersistentVolume)",
    ".metadata.name",
);
