//! The condition types the operator writes in a LustreVolume's status, and the reasons that other
//! tools (the data-task controller, dashboards, `kubectl wait`) match on. One place, so that the
//! writer and every reader agree.

/// The managed security group exists with the Lustre rules (or the class's groups passed the check).
pub const SECURITY_GROUP_READY: &str = "SecurityGroupReady";
/// The file system is AVAILABLE (or being changed while mountable).
pub const FILE_SYSTEM_READY: &str = "FileSystemReady";
/// kube-controller-manager has bound the claim to the volume's PV.
pub const CLAIM_BOUND: &str = "ClaimBound";
/// Every data repository association is AVAILABLE as asked.
pub const ASSOCIATIONS_READY: &str = "AssociationsReady";
/// The export to S3 before deletion succeeded (only while deleting with `onDelete.exportToS3`).
pub const DATA_EXPORTED: &str = "DataExported";
/// The volume can be mounted; its message says what it waits for otherwise.
pub const READY: &str = "Ready";

/// A data task's reason while its volume is not Ready yet.
pub const VOLUME_NOT_READY: &str = "VolumeNotReady";
