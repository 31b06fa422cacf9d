//! Step 1 of a data task: may it start, and on which file system? Pure: the task, its volume as
//! the cache has it (looked up in the task's own namespace only), the volume's class and, for
//! [`check_target`], the file system as FSx describes it. No AWS call and no Kubernetes call.
//!
//! The volume's status only says where to look; whether the task may run there is decided by
//! the file system's own tags (or the volume's adoption), never by a status field: anyone who
//! can write a status could otherwise point a task at another tenant's file system.

use std::sync::Arc;
use std::time::Duration;

use kube::ResourceExt;
use lustre_api::class::s3_path_within;
use lustre_api::{validate_task, LustreClass, LustreDataTask, LustreVolume};

use crate::aws::{FileSystem, Lifecycle};
use crate::class_policy::Refusal;
use crate::ownership;
use lustre_api::class::ClassAdoption;
use lustre_api::conditions::READY;

/// The reason of a task refused because what a status names is not its volume's or its own.
pub(crate) const NOT_OWNED: &str = "NotOwned";

/// How long a task waits before looking for its missing volume again (cache reads only).
pub(crate) const VOLUME_NOT_FOUND_RETRY: Duration = Duration::from_secs(10);
/// How long a task waits before looking again at a volume that is not ready yet.
pub(crate) const VOLUME_NOT_READY_RETRY: Duration = Duration::from_secs(3);

/// Why a task cannot start now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Blocked {
    /// It never will: the spec (which cannot change) or the class forbids it. The task fails.
    Refused { reason: &'static str, message: String },
    /// Not yet: look again after `retry`.
    Waiting { reason: &'static str, message: String, retry: Duration },
}

/// The volume and the file system (as its status names it, to be checked by [`check_target`])
/// the task may start on, or why not. `volume` is the LustreVolume named by `spec.volumeName` in
/// the task's namespace (None: there is none); `class_of` finds its class.
pub(crate) fn admit<'a>(
    task: &LustreDataTask,
    volume: Option<&'a LustreVolume>,
    class_of: impl FnOnce(&LustreVolume) -> Result<Arc<LustreClass>, Refusal>,
) -> Result<(&'a LustreVolume, String), Blocked> {
    let ns = task.namespace().unwrap_or_default();
    let name = &task.spec.volume_name;
    validate_task(&task.spec).map_err(|e| Blocked::Refused {
        reason: "InvalidSpec",
        message: format!("{e}; create a new LustreDataTask (its spec cannot change)"),
    })?;
    let Some(lv) = volume else {
        return Err(Blocked::Waiting {
            reason: "VolumeNotFound",
            message: format!(
                "LustreVolume {name} not found in namespace {ns} (a task runs only on a volume of its own namespace)"
            ),
            retry: VOLUME_NOT_FOUND_RETRY,
        });
    };
    if !lv.spec.is_s3_linked() {
        return Err(Blocked::Refused {
            reason: "VolumeNotLinked",
            message: format!(
                "LustreVolume {ns}/{name} is not linked to S3 (spec.s3.associations or spec.s3.importPath); \
                 data repository tasks need a linked file system"
            ),
        });
    }
    check_s3_paths(task, lv, class_of)?;
    ready_file_system(lv).map(|id| (lv, id)).ok_or_else(|| not_ready(lv))
}

/// Every S3 location the task touches is under the class's S3 prefixes for the namespace.
fn check_s3_paths(
    task: &LustreDataTask,
    lv: &LustreVolume,
    class_of: impl FnOnce(&LustreVolume) -> Result<Arc<LustreClass>, Refusal>,
) -> Result<(), Blocked> {
    let paths = task.s3_paths();
    if paths.is_empty() {
        return Ok(());
    }
    let class = class_of(lv).map_err(|r| Blocked::Waiting {
        reason: r.reason,
        message: format!("the volume's class is needed to check the task's S3 paths: {}", r.message),
        retry: VOLUME_NOT_FOUND_RETRY,
    })?;
    let ns = task.namespace().unwrap_or_default();
    let prefixes = class.spec.s3_prefixes_for(&ns);
    match paths.into_iter().find(|p| !prefixes.iter().any(|prefix| s3_path_within(p, prefix))) {
        None => Ok(()),
        Some(outside) => {
            let allowed = if prefixes.is_empty() { "no S3 location".to_string() } else { prefixes.join(", ") };
            Err(Blocked::Refused {
                reason: "ClassRejected",
                message: format!(
                    "{outside} is outside what LustreClass {} allows namespace {ns} to use: {allowed}",
                    class.name_any()
                ),
            })
        }
    }
}

/// The volume's file system ID once it is ready for tasks: in status, the volume Ready (or its
/// file system AVAILABLE), and not being deleted.
fn ready_file_system(lv: &LustreVolume) -> Option<String> {
    let st = lv.status.as_ref()?;
    let ready = st.conditions.iter().any(|c| c.type_ == READY && c.status == "True")
        || st.lifecycle.as_deref().map(Lifecycle::from_fsx) == Some(Lifecycle::Available);
    if lv.metadata.deletion_timestamp.is_some() || !ready {
        return None;
    }
    st.file_system_id.clone()
}

/// Whether a task of volume `lv` may run on file system `file_system_id` (what the volume's
/// status names), given `fs`, that file system as FSx describes it (None: FSx does not know it).
/// A file system the operator created must carry the managed-by tag and the owner tag with the
/// volume's UID; an adopted one must be the volume's `spec.fileSystemId` and still adoptable
/// under the class's `adoption` (namespace included; `owner_alive`: whether the UID in its owner
/// tag, if any, is another live volume), as the volume controller checks before adopting.
pub(crate) fn check_target(
    lv: &LustreVolume,
    file_system_id: &str,
    fs: Option<&FileSystem>,
    adoption: Option<&ClassAdoption>,
    owner_alive: bool,
) -> Result<(), Blocked> {
    let volume = ownership::display(lv);
    let refuse = |why: String| Blocked::Refused {
        reason: NOT_OWNED,
        message: format!(
            "file system {file_system_id}, named by LustreVolume {volume}'s status.fileSystemId, {why}; \
             nothing was done: no data repository task was started (create a new LustreDataTask once the \
             volume's status is right)"
        ),
    };
    if let Some(adopted) = &lv.spec.file_system_id {
        if adopted != file_system_id {
            return Err(refuse(format!("is not the file system the volume adopted ({adopted}, spec.fileSystemId)")));
        }
    }
    let Some(fs) = fs else {
        return Err(Blocked::Waiting {
            reason: "FileSystemNotFound",
            message: format!(
                "FSx does not know file system {file_system_id}, named by LustreVolume {volume}'s status.fileSystemId"
            ),
            retry: VOLUME_NOT_READY_RETRY,
        });
    };
    if lv.spec.file_system_id.is_some() {
        let ns = lv.namespace().unwrap_or_default();
        let adoption = adoption.filter(|a| a.namespaces.contains(&ns));
        return crate::volume::file_system::check_adoptable(fs, lv, adoption, owner_alive, None)
            .map_err(|e| refuse(format!("may not be used by the volume: {e}")));
    }
    match ownership::ownership_mismatch(fs, ownership::uid(lv)) {
        None => Ok(()),
        Some(found) => Err(refuse(format!(
            "is not that volume's: it carries {found} (the volume's UID is {})",
            ownership::uid(lv)
        ))),
    }
}

fn not_ready(lv: &LustreVolume) -> Blocked {
    let what = if lv.metadata.deletion_timestamp.is_some() {
        "is being deleted".to_string()
    } else {
        let phase = lv.status.as_ref().and_then(|s| s.phase).map(|p| p.as_str()).unwrap_or("Pending");
        format!("is not ready yet (phase {phase})")
    };
    Blocked::Waiting {
        reason: lustre_api::conditions::VOLUME_NOT_READY,
        message: format!("LustreVolume {}/{} {what}", lv.namespace().unwrap_or_default(), lv.name_any()),
        retry: VOLUME_NOT_READY_RETRY,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(spec: serde_json::Value) -> LustreDataTask {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "lustre.fsx.dev/v1alpha1", "kind": "LustreDataTask",
            "metadata": {"name": "export", "namespace": "team-a", "uid": "t-1"}, "spec": spec
        }))
        .expect("task fixture parses")
    }

    fn volume(status: serde_json::Value) -> LustreVolume {
        let spec = serde_json::json!({"storageCapacityGiB": 1200, "className": "standard",
                                      "s3": {"importPath": "s3://ml-data/team-a/in"}});
        crate::fixtures::volume_with_status("team-a", "train", "v-1", spec, status)
    }

    fn ready() -> LustreVolume {
        volume(serde_json::json!({"phase": "Available", "fileSystemId": "fs-0123456789abcdef0",
            "conditions": [{"type": "Ready", "status": "True", "reason": "Bound", "message": "",
                            "lastTransitionTime": "2026-01-01T00:00:00Z"}]}))
    }

    fn class(prefixes: &[&str]) -> Result<Arc<LustreClass>, Refusal> {
        let c: LustreClass = serde_json::from_value(serde_json::json!({
            "apiVersion": "lustre.fsx.dev/v1alpha1", "kind": "LustreClass", "metadata": {"name": "standard"},
            "spec": {"network": {"subnets": [{"subnetId": "subnet-0123456789abcdef0"}]}, "s3Prefixes": prefixes}
        }))
        .expect("class fixture parses");
        Ok(Arc::new(c))
    }

    fn reason<T>(b: Result<T, Blocked>) -> (&'static str, bool) {
        match b {
            Err(Blocked::Refused { reason, .. }) => (reason, false),
            Err(Blocked::Waiting { reason, .. }) => (reason, true),
            Ok(_) => ("started", false),
        }
    }

    #[test]
    fn a_ready_linked_volume_gives_its_file_system() {
        let t = task(serde_json::json!({"volumeName": "train", "type": "Export"}));
        let lv = ready();
        let admitted = admit(&t, Some(&lv), |_| class(&[])).map(|(_, id)| id);
        assert_eq!(admitted, Ok("fs-0123456789abcdef0".to_string()));
    }

    #[test]
    fn a_missing_volume_waits_and_names_the_namespace_searched() {
        let t = task(serde_json::json!({"volumeName": "train", "type": "Export"}));
        match admit(&t, None, |_| class(&[])) {
            Err(Blocked::Waiting { reason, message, retry }) => {
                assert_eq!((reason, retry), ("VolumeNotFound", VOLUME_NOT_FOUND_RETRY));
                assert!(message.contains("namespace team-a"), "{message}");
            }
            other => panic!("expected VolumeNotFound, got {other:?}"),
        }
    }

    #[test]
    fn s3_paths_must_be_under_the_class_prefixes() {
        let prefixes = ["s3://ml-data/${namespace}/"];
        let lv = ready();
        let inside = task(serde_json::json!({"volumeName": "train", "type": "Export",
                                             "reportPath": "s3://ml-data/team-a/reports"}));
        assert_eq!(reason(admit(&inside, Some(&lv), |_| class(&prefixes))), ("started", false));
        let outside = task(serde_json::json!({"volumeName": "train", "type": "Export",
                                              "reportPath": "s3://ml-data/team-b/reports"}));
        match admit(&outside, Some(&lv), |_| class(&prefixes)) {
            Err(Blocked::Refused { reason, message }) => {
                assert_eq!(reason, "ClassRejected");
                assert!(message.contains("s3://ml-data/team-b/reports") && message.contains("s3://ml-data/team-a/"));
            }
            other => panic!("expected ClassRejected, got {other:?}"),
        }
        let import = task(serde_json::json!({"volumeName": "train", "type": "ImportMetadata",
                                             "paths": ["s3://ml-data/team-a/x", "s3://other/y"]}));
        assert_eq!(reason(admit(&import, Some(&lv), |_| class(&prefixes))), ("ClassRejected", false));
        // No S3 path: no class needed.
        let plain = task(serde_json::json!({"volumeName": "train", "type": "Release"}));
        let no_class = |_: &LustreVolume| Err(Refusal { reason: "ClassNotFound", message: "gone".into() });
        assert_eq!(reason(admit(&plain, Some(&lv), no_class)), ("started", false));
        assert_eq!(reason(admit(&inside, Some(&lv), no_class)), ("ClassNotFound", true));
    }

    #[test]
    fn the_volume_must_be_linked_ready_and_not_deleting() {
        let t = task(serde_json::json!({"volumeName": "train", "type": "Export"}));
        let mut unlinked = ready();
        unlinked.spec.s3 = None;
        assert_eq!(reason(admit(&t, Some(&unlinked), |_| class(&[]))), ("VolumeNotLinked", false));
        let creating = volume(serde_json::json!({"phase": "Creating", "fileSystemId": "fs-0123456789abcdef0"}));
        assert_eq!(reason(admit(&t, Some(&creating), |_| class(&[]))), ("VolumeNotReady", true));
        let available = volume(serde_json::json!({"fileSystemId": "fs-0123456789abcdef0", "lifecycle": "AVAILABLE"}));
        assert_eq!(reason(admit(&t, Some(&available), |_| class(&[]))), ("started", false));
        let mut deleting = ready();
        deleting.metadata.deletion_timestamp =
            deleting.metadata.creation_timestamp.clone().or(Some(
                k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH),
            ));
        assert_eq!(reason(admit(&t, Some(&deleting), |_| class(&[]))), ("VolumeNotReady", true));
    }

    fn described(id: &str, tags: &[(&str, &str)]) -> FileSystem {
        FileSystem {
            id: id.into(),
            is_lustre: true,
            lifecycle: Lifecycle::Available,
            tags: tags.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn only_the_volumes_own_or_adopted_file_system_is_a_target() {
        use lustre_api::tags::{MANAGED_BY, MANAGED_BY_VALUE, OWNER_UID};
        let owned = ready();
        let mut adopting = ready();
        adopting.spec.file_system_id = Some("fs-0aaaaaaaaaaaaaaa0".into());
        let listed = ClassAdoption {
            file_system_ids: vec!["fs-0aaaaaaaaaaaaaaa0".into()],
            namespaces: vec!["team-a".into()],
            ..Default::default()
        };
        let other_namespace = ClassAdoption { namespaces: vec!["team-b".into()], ..listed.clone() };
        let ours = [(MANAGED_BY, MANAGED_BY_VALUE), (OWNER_UID, "v-1")];
        let (mine, adopted) = ("fs-0123456789abcdef0", "fs-0aaaaaaaaaaaaaaa0");
        let not_lustre = FileSystem { is_lustre: false, ..described(adopted, &[]) };
        // (what, volume, the ID its status names, FSx's answer, class adoption, owner alive, outcome)
        type Row<'a> =
            (&'a str, &'a LustreVolume, &'a str, Option<FileSystem>, Option<&'a ClassAdoption>, bool, &'a str);
        let table: Vec<Row> = vec![
            ("its own file system", &owned, mine, Some(described(mine, &ours)), None, false, "ok"),
            (
                "another tenant's file system (a forged status)",
                &owned,
                mine,
                Some(described(mine, &[(MANAGED_BY, MANAGED_BY_VALUE), (OWNER_UID, "v-2")])),
                None,
                false,
                "NotOwned",
            ),
            ("an untagged file system", &owned, mine, Some(described(mine, &[])), None, false, "NotOwned"),
            (
                "the owner tag without the managed-by tag",
                &owned,
                mine,
                Some(described(mine, &[(OWNER_UID, "v-1")])),
                None,
                false,
                "NotOwned",
            ),
            ("a file system FSx does not know", &owned, mine, None, None, false, "FileSystemNotFound"),
            (
                "the adopted one, listed by the class",
                &adopting,
                adopted,
                Some(described(adopted, &[])),
                Some(&listed),
                false,
                "ok",
            ),
            (
                "not the adopted one, though tagged as the volume's",
                &adopting,
                mine,
                Some(described(mine, &ours)),
                Some(&listed),
                false,
                "NotOwned",
            ),
            (
                "the class no longer allows adoption",
                &adopting,
                adopted,
                Some(described(adopted, &[])),
                None,
                false,
                "NotOwned",
            ),
            (
                "the class allows adoption in other namespaces only",
                &adopting,
                adopted,
                Some(described(adopted, &[])),
                Some(&other_namespace),
                false,
                "NotOwned",
            ),
            (
                "the adopted one belongs to another live volume",
                &adopting,
                adopted,
                Some(described(adopted, &[(OWNER_UID, "v-2")])),
                Some(&listed),
                true,
                "NotOwned",
            ),
            ("the adopted one is not Lustre", &adopting, adopted, Some(not_lustre), Some(&listed), false, "NotOwned"),
        ];
        for (what, lv, id, fs, adoption, owner_alive, want) in table {
            let got = check_target(lv, id, fs.as_ref(), adoption, owner_alive);
            match (&got, want) {
                (Ok(()), "ok") => {}
                (Err(Blocked::Refused { reason, message }), "NotOwned") => {
                    assert_eq!(*reason, NOT_OWNED, "{what}");
                    assert!(message.contains(id) && message.contains("nothing was done"), "{what}: {message}");
                    assert!(message.contains("team-a/train"), "{what}: names the volume: {message}");
                    assert!(!message.contains("v-2"), "{what}: another owner's UID is not shown: {message}");
                }
                (Err(Blocked::Waiting { reason, .. }), "FileSystemNotFound") => assert_eq!(*reason, want, "{what}"),
                _ => panic!("{what}: expected {want}, got {got:?}"),
            }
        }
    }

    #[test]
    fn an_invalid_spec_is_refused_first() {
        let t = task(serde_json::json!({"volumeName": "train", "type": "Export", "paths": ["/abs"]}));
        assert_eq!(reason(admit(&t, None, |_| class(&[]))), ("InvalidSpec", false));
    }
}
