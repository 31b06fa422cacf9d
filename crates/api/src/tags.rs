//! The AWS tags and Kubernetes labels the operator puts on what it creates. The IAM policy in
//! manifests/ scopes deletes and rule changes to resources carrying [`OWNER_UID`] and
//! [`MANAGED_BY`].

/// Prefix of every tag and label the operator owns; users may not set tags under it.
pub(crate) const RESERVED_PREFIX: &str = "lustre.fsx.dev/";
/// AWS tag (and Kubernetes label) holding the owning LustreVolume's UID.
pub const OWNER_UID: &str = "lustre.fsx.dev/owner-uid";
/// AWS tag holding the owning LustreVolume's namespace.
pub const OWNER_NAMESPACE: &str = "lustre.fsx.dev/owner-namespace";
/// AWS tag holding the owning LustreVolume's name.
pub const OWNER_NAME: &str = "lustre.fsx.dev/owner-name";
/// AWS tag and Kubernetes label marking what the operator manages.
pub const MANAGED_BY: &str = "lustre.fsx.dev/managed-by";
/// AWS tag on a file system the operator created: the deletion policy in force for it
/// (`Delete` or `Retain`), recorded at creation from the volume and its class as they were then,
/// and changed only by an edit of the volume's own `spec.deletionPolicy`. A deletion reads it, not
/// the class as it is at that moment (as a StorageClass's reclaim policy is copied into its PVs).
pub const DELETION_POLICY: &str = "lustre.fsx.dev/deletion-policy";
/// Annotation on a LustreVolume re-created under the namespace and name of an earlier one whose
/// file system still exists (a restore from backup, a GitOps replace, or a volume deleted with
/// Retain and made again): `fs-...` takes that file system over, with its data; `none` makes a
/// new, empty one. Without it, such a volume waits and its status says both ways.
pub const RESTORE_FROM_ANNOTATION: &str = "lustre.fsx.dev/restore-from";
/// Value of [`RESTORE_FROM_ANNOTATION`] asking for a new file system.
pub const RESTORE_NONE: &str = "none";
/// Value of [`MANAGED_BY`].
pub const MANAGED_BY_VALUE: &str = "lustre-operator";
/// Kubernetes label on the PV and StorageClass naming the owner's namespace.
pub const LABEL_OWNER_NAMESPACE: &str = "lustre.fsx.dev/owner-namespace";
/// Kubernetes label on the PV and StorageClass naming the owner.
pub const LABEL_OWNER_NAME: &str = "lustre.fsx.dev/owner-name";
