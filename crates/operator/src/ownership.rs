//! Ownership in one place: the tags and labels that mark what a LustreVolume owns, the names
//! derived from its UID, and the two checks every step uses on every path (delete included):
//! "which of these carries this owner's tag (0 -> none, 1 -> it, more -> conflict)" and
//! "is this one ours".

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Resource;
use lustre_api::{tags, LustreDataTask, LustreVolume};

use crate::aws::{Association, FileSystem, SecurityGroup, Task};
use crate::error::{Error, Result};

/// The finalizer with which a LustreVolume's cleanup runs.
pub(crate) const FINALIZER: &str = "lustre.fsx.dev/cleanup";
/// The one field manager of every write the operator makes.
pub(crate) const FIELD_MANAGER: &str = "lustre-operator";

/// The owner's UID ("" for an object not read from the apiserver).
pub(crate) fn uid(lv: &LustreVolume) -> &str {
    lv.metadata.uid.as_deref().unwrap_or_default()
}

/// "namespace/name", for messages.
pub(crate) fn display(lv: &LustreVolume) -> String {
    format!(
        "{}/{}",
        lv.metadata.namespace.as_deref().unwrap_or_default(),
        lv.metadata.name.as_deref().unwrap_or_default()
    )
}

/// Name of the StorageClass and the PersistentVolume (cluster-scoped, so named by UID).
pub(crate) fn cluster_object_name(lv: &LustreVolume) -> String {
    format!("lustre-{}", uid(lv))
}

/// Name of the managed security group (unique per VPC).
pub(crate) fn security_group_name(lv: &LustreVolume) -> String {
    format!("lustre-operator-{}", uid(lv))
}

/// What an idempotency token is for: its prefix, and part of what is hashed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenPurpose {
    /// CreateFileSystem, once per LustreVolume.
    FileSystem,
    /// CreateDataRepositoryAssociation, once per volume and (file system path, S3 path).
    Association,
    /// CreateDataRepositoryTask for a LustreDataTask, once per task.
    Task,
    /// The export before deletion, once per volume and retry attempt.
    Export,
    /// UpdateFileSystem, once per volume and set of values asked for.
    Update,
}

impl TokenPurpose {
    fn prefix(self) -> &'static str {
        match self {
            TokenPurpose::FileSystem => "fs",
            TokenPurpose::Association => "dra",
            TokenPurpose::Task => "task",
            TokenPurpose::Export => "export",
            TokenPurpose::Update => "update",
        }
    }
}

/// Every idempotency token (`ClientRequestToken`) the operator sends to FSx, by one fixed rule:
/// `<prefix>-<40 hex digits>`, the digits being the first 20 bytes of SHA-256 over
/// `lustre-operator/v1`, the prefix, the owner's UID and then each of `parts`, every one of them
/// followed by a 0 byte. SHA-256 is fixed by its standard (unlike `std`'s `DefaultHasher`, whose
/// output may change between Rust releases), so an operator upgraded between a lost answer and its
/// retry sends the same token and FSx answers with what it made. At most 47 characters of
/// `[a-z0-9-]` (FSx: 1-63 of `[A-Za-z0-9_.-]`).
pub(crate) fn idempotency_token(purpose: TokenPurpose, owner_uid: &str, parts: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    use std::fmt::Write as _;
    let mut hash = Sha256::new();
    for field in ["lustre-operator/v1", purpose.prefix(), owner_uid].iter().chain(parts) {
        hash.update(field.as_bytes());
        hash.update([0u8]);
    }
    let digest = hash.finalize();
    let mut token = format!("{}-", purpose.prefix());
    for byte in digest.iter().take(20) {
        let _ = write!(token, "{byte:02x}");
    }
    token
}

/// CreateFileSystem's idempotency token.
pub(crate) fn client_request_token(lv: &LustreVolume) -> String {
    idempotency_token(TokenPurpose::FileSystem, uid(lv), &[])
}

/// The AWS tags every resource of this volume carries (the user's extra tags first, so the
/// operator's own always win).
pub(crate) fn owner_tags(lv: &LustreVolume) -> BTreeMap<String, String> {
    let mut t: BTreeMap<String, String> = lv.spec.tags.clone();
    t.insert(tags::OWNER_UID.into(), uid(lv).to_string());
    t.insert(tags::OWNER_NAMESPACE.into(), lv.metadata.namespace.clone().unwrap_or_default());
    t.insert(tags::OWNER_NAME.into(), lv.metadata.name.clone().unwrap_or_default());
    t.insert(tags::MANAGED_BY.into(), tags::MANAGED_BY_VALUE.into());
    t.insert("Name".into(), display(lv));
    t
}

/// The UID of any of the operator's objects ("" for an object not read from the apiserver).
pub(crate) fn uid_of<K: Resource>(object: &K) -> &str {
    object.meta().uid.as_deref().unwrap_or_default()
}

/// CreateDataRepositoryTask's idempotency token for a LustreDataTask.
pub(crate) fn task_request_token(task: &LustreDataTask) -> String {
    idempotency_token(TokenPurpose::Task, uid_of(task), &[])
}

/// The AWS tags of the FSx task a LustreDataTask starts: its owner (the LustreDataTask, found
/// again by its UID after a crash) and the managed-by tag the IAM policy asks for.
pub(crate) fn task_tags(task: &LustreDataTask) -> BTreeMap<String, String> {
    let (namespace, name) = (task.metadata.namespace.clone().unwrap_or_default(), task.metadata.name.clone());
    BTreeMap::from([
        (tags::OWNER_UID.to_string(), uid_of(task).to_string()),
        (tags::OWNER_NAMESPACE.to_string(), namespace.clone()),
        (tags::OWNER_NAME.to_string(), name.clone().unwrap_or_default()),
        (tags::MANAGED_BY.to_string(), tags::MANAGED_BY_VALUE.to_string()),
        ("Name".to_string(), format!("{namespace}/{}", name.unwrap_or_default())),
    ])
}

/// Labels on the Kubernetes objects the volume owns, pointing back at it.
pub(crate) fn owner_labels(lv: &LustreVolume) -> BTreeMap<String, String> {
    BTreeMap::from([
        (tags::OWNER_UID.to_string(), uid(lv).to_string()),
        (tags::LABEL_OWNER_NAMESPACE.to_string(), lv.metadata.namespace.clone().unwrap_or_default()),
        (tags::LABEL_OWNER_NAME.to_string(), lv.metadata.name.clone().unwrap_or_default()),
        (tags::MANAGED_BY.to_string(), tags::MANAGED_BY_VALUE.to_string()),
    ])
}

/// An AWS resource that carries tags.
pub(crate) trait Tagged {
    /// What it is, for messages ("file system", "security group").
    const KIND: &'static str;
    fn id(&self) -> &str;
    fn tag(&self, key: &str) -> Option<&str>;
}

/// `Tagged` for a resource with `id` and `tags` fields.
macro_rules! tagged {
    ($($kind:ty => $name:literal),* $(,)?) => {$(
        impl Tagged for $kind {
            const KIND: &'static str = $name;
            fn id(&self) -> &str {
                &self.id
            }
            fn tag(&self, key: &str) -> Option<&str> {
                self.tags.get(key).map(String::as_str)
            }
        }
    )*};
}

tagged!(FileSystem => "file system", Association => "data repository association", Task => "data repository task", SecurityGroup => "security group");

/// Whether `resource` carries the owner tag of the volume with `owner_uid`.
pub(crate) fn is_ours<T: Tagged>(resource: &T, owner_uid: &str) -> bool {
    !owner_uid.is_empty() && resource.tag(tags::OWNER_UID) == Some(owner_uid)
}

/// Whether `resource` is one the operator made for the owner with `owner_uid` (None), or what it
/// carries instead, for messages ("no owner tag", "another owner's tag", "no managed-by tag"; the
/// other owner's UID is not shown). Both tags are asked for: the managed-by tag is what the IAM
/// policy's `aws:ResourceTag` conditions look at. Read from AWS, never from a status.
pub(crate) fn ownership_mismatch<T: Tagged>(resource: &T, owner_uid: &str) -> Option<String> {
    let owner = match resource.tag(tags::OWNER_UID) {
        None => Some(format!("no {} tag", tags::OWNER_UID)),
        Some(o) if owner_uid.is_empty() || o != owner_uid => Some(format!("another owner's {} tag", tags::OWNER_UID)),
        Some(_) => None,
    };
    let managed = match resource.tag(tags::MANAGED_BY) {
        Some(tags::MANAGED_BY_VALUE) => None,
        _ => Some(format!("no {}={} tag", tags::MANAGED_BY, tags::MANAGED_BY_VALUE)),
    };
    match (owner, managed) {
        (None, None) => None,
        (Some(o), Some(m)) => Some(format!("{o} and {m}")),
        (Some(one), None) | (None, Some(one)) => Some(one),
    }
}

/// `Ok` when `resource` is ours; the conflict to report otherwise.
pub(crate) fn check_ours<T: Tagged>(resource: &T, owner_uid: &str) -> Result<()> {
    if is_ours(resource, owner_uid) {
        Ok(())
    } else {
        Err(Error::Conflict(format!(
            "{} {} is not tagged {}={owner_uid}; refusing to manage it",
            T::KIND,
            resource.id(),
            tags::OWNER_UID
        )))
    }
}

/// Of `found`, the one resource that carries the owner tag: none, it, or a conflict when
/// several do (they are named, so a person can delete the extra ones).
pub(crate) fn the_one_owned<T: Tagged>(found: Vec<T>, owner_uid: &str) -> Result<Option<T>> {
    let mut ours: Vec<T> = found.into_iter().filter(|r| is_ours(r, owner_uid)).collect();
    match ours.len() {
        0 => Ok(None),
        1 => Ok(ours.pop()),
        n => Err(Error::Conflict(format!(
            "{n} {}s carry {}={owner_uid}: {}; delete the extra ones",
            T::KIND,
            tags::OWNER_UID,
            ours.iter().map(|r| r.id()).collect::<Vec<_>>().join(", ")
        ))),
    }
}

/// Whether the volume owns the namespaced object (owner reference with its UID).
pub(crate) fn owns_object(meta: &ObjectMeta, lv: &LustreVolume) -> bool {
    meta.owner_references.iter().flatten().any(|o| Some(&o.uid) == lv.metadata.uid.as_ref())
}

/// Whether a cluster-scoped object carries the owner label of the volume.
pub(crate) fn labelled_for(meta: &ObjectMeta, lv: &LustreVolume) -> bool {
    meta.labels.as_ref().and_then(|l| l.get(tags::OWNER_UID)).map(String::as_str) == Some(uid(lv))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fs(id: &str, owner: Option<&str>) -> FileSystem {
        let mut f = FileSystem { id: id.into(), ..Default::default() };
        if let Some(o) = owner {
            f.tags.insert(tags::OWNER_UID.into(), o.into());
        }
        f
    }

    #[test]
    fn zero_one_or_many_owned() {
        assert_eq!(the_one_owned(vec![fs("fs-1", Some("b"))], "a").ok(), Some(None));
        assert_eq!(
            the_one_owned(vec![fs("fs-1", Some("a")), fs("fs-2", None)], "a").ok().flatten().map(|f| f.id),
            Some("fs-1".into())
        );
        let err = the_one_owned(vec![fs("fs-1", Some("a")), fs("fs-2", Some("a"))], "a").err().map(|e| e.to_string());
        assert!(err.is_some_and(|m| m.contains("2 file systems") && m.contains("fs-1, fs-2")));
    }

    #[test]
    fn ours_needs_the_exact_uid() {
        assert!(is_ours(&fs("fs-1", Some("a")), "a"));
        assert!(!is_ours(&fs("fs-1", Some("b")), "a"));
        assert!(!is_ours(&fs("fs-1", None), ""));
        assert!(check_ours(&fs("fs-1", None), "a").is_err());
    }

    #[test]
    fn managed_for_an_owner_needs_the_managed_by_tag_and_the_exact_uid() {
        let tagged = |pairs: &[(&str, &str)]| {
            let mut f = fs("fs-1", None);
            f.tags.extend(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
            f
        };
        let managed = (tags::MANAGED_BY, tags::MANAGED_BY_VALUE);
        // (what, tags, owner asked for, managed for it, what the message says is wrong)
        type Row<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str, bool, Option<&'a str>);
        let table: Vec<Row> = vec![
            ("both tags", vec![managed, (tags::OWNER_UID, "a")], "a", true, None),
            ("another owner", vec![managed, (tags::OWNER_UID, "uid-of-b")], "a", false, Some("another owner's")),
            ("no owner tag", vec![managed], "a", false, Some("no lustre.fsx.dev/owner-uid tag")),
            ("no managed-by tag", vec![(tags::OWNER_UID, "a")], "a", false, Some("no lustre.fsx.dev/managed-by=")),
            (
                "managed by someone else",
                vec![(tags::MANAGED_BY, "other"), (tags::OWNER_UID, "a")],
                "a",
                false,
                Some("managed-by"),
            ),
            ("no tags at all", vec![], "a", false, Some(" and no lustre.fsx.dev/managed-by")),
            (
                "an owner without a UID owns nothing",
                vec![managed, (tags::OWNER_UID, "")],
                "",
                false,
                Some("another owner's"),
            ),
        ];
        for (what, pairs, owner, want, says) in table {
            let f = tagged(&pairs);
            let mismatch = ownership_mismatch(&f, owner);
            assert_eq!(mismatch.is_none(), want, "{what}: {mismatch:?}");
            if let Some(says) = says {
                assert!(mismatch.as_deref().is_some_and(|m| m.contains(says)), "{what}: {mismatch:?}");
                assert!(!mismatch.as_deref().unwrap_or_default().contains("uid-of-b"), "{what}: no other UID shown");
            }
        }
    }

    #[test]
    fn a_task_is_tagged_and_tokened_by_its_uid() {
        let mut task: LustreDataTask = serde_json::from_value(serde_json::json!({
            "apiVersion": "lustre.fsx.dev/v1alpha1", "kind": "LustreDataTask",
            "metadata": {"name": "export", "namespace": "ml"},
            "spec": {"volumeName": "train", "type": "Export"}
        }))
        .expect("fixture parses");
        task.metadata.uid = Some("0f8e7a4c-1b2d-4c3e-9f00-123456789abc".into());
        let token = task_request_token(&task);
        assert!(token.len() <= 63, "{token}");
        assert!(token.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c)), "{token}");
        let t = task_tags(&task);
        assert_eq!(t[tags::OWNER_UID], "0f8e7a4c-1b2d-4c3e-9f00-123456789abc");
        assert_eq!((t[tags::OWNER_NAMESPACE].as_str(), t["Name"].as_str()), ("ml", "ml/export"));
        assert_eq!(t[tags::MANAGED_BY], tags::MANAGED_BY_VALUE);
    }

    #[test]
    fn tokens_follow_the_documented_rule_and_never_change() {
        // Pinned values: a change here means upgraded operators send new tokens for work in flight.
        let uid = "0f8e7a4c-1b2d-4c3e-9f00-123456789abc";
        let pinned = [
            (idempotency_token(TokenPurpose::FileSystem, uid, &[]), PINNED_FS),
            (idempotency_token(TokenPurpose::Task, uid, &[]), PINNED_TASK),
            (idempotency_token(TokenPurpose::Association, uid, &["/data", "s3://b/p/"]), PINNED_DRA),
            (idempotency_token(TokenPurpose::Export, uid, &["0"]), PINNED_EXPORT),
        ];
        for (token, want) in &pinned {
            assert_eq!(token, want);
            assert!(token.len() <= 63 && !token.is_empty(), "{token}");
            assert!(token.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c)), "{token}");
        }
        // The rule itself, computed here by hand: SHA-256 of the fields, each ended by a 0 byte.
        use sha2::{Digest, Sha256};
        let by_hand = Sha256::digest(b"lustre-operator/v1\x00fs\x000f8e7a4c-1b2d-4c3e-9f00-123456789abc\x00");
        let hex: String = by_hand.iter().take(20).map(|b| format!("{b:02x}")).collect();
        assert_eq!(PINNED_FS, format!("fs-{hex}"));
        // Each input matters, and the parts are not merely concatenated.
        let a = idempotency_token(TokenPurpose::Association, uid, &["/data", "s3://b/p/"]);
        assert_ne!(a, idempotency_token(TokenPurpose::Association, uid, &["/dat", "as3://b/p/"]));
        assert_ne!(a, idempotency_token(TokenPurpose::Association, "another-uid", &["/data", "s3://b/p/"]));
        assert_ne!(pinned[0].0, pinned[1].0, "the purpose is hashed too");
    }

    const PINNED_FS: &str = "fs-b003897e97960621d51721df5e30c7322805b5b4";
    const PINNED_TASK: &str = "task-9d9fc30df3f019349b1ee7f03effe735fb713ec7";
    const PINNED_DRA: &str = "dra-2cd9d3a6d26d7b3852adedae5b356bdfb035a201";
    const PINNED_EXPORT: &str = "export-06d967db8cd78b92be1ab6b22c59508e05059e2e";

    #[test]
    fn operator_tags_override_user_tags() {
        let spec = serde_json::json!({"storageCapacityGiB": 1200, "network": {"subnetId": "subnet-0123456789abcdef0"},
                                      "tags": {"Name": "mine", "team": "ml"}});
        let lv = crate::fixtures::volume("ns", "v", "u-1", spec);
        let t = owner_tags(&lv);
        assert_eq!(t["Name"], "ns/v");
        assert_eq!(t["team"], "ml");
        assert_eq!(t[tags::OWNER_UID], "u-1");
    }
}
