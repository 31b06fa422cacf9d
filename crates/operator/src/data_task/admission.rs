//! Step 1 of a data task: may it start, and on which file system? Pure: the task, its volume as
//! the cache has it (looked up in the task's own namespace only) and the volume's class. No AWS
//! call and no Kubernetes call.

use std::sync::Arc;
use std::time::Duration;

use kube::ResourceExt;
use lustre_api::class::s3_path_within;
use lustre_api::{validate_task, LustreClass, LustreDataTask, LustreVolume};

use crate::aws::Lifecycle;
use crate::class_policy::Refusal;
use lustre_api::conditions::READY;

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

/// The file system the task may start on, or why not. `volume` is the LustreVolume named by
/// `spec.volumeName` in the task's namespace (None: there is none); `class_of` finds its class.
pub(crate) fn admit(
    task: &LustreDataTask,
    volume: Option<&LustreVolume>,
    class_of: impl FnOnce(&LustreVolume) -> Result<Arc<LustreClass>, Refusal>,
) -> Result<String, Blocked> {
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
    ready_file_system(lv).ok_or_else(|| not_ready(lv))
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

    fn reason(b: Result<String, Blocked>) -> (&'static str, bool) {
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
        assert_eq!(admit(&t, Some(&lv), |_| class(&[])), Ok("fs-0123456789abcdef0".to_string()));
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

    #[test]
    fn an_invalid_spec_is_refused_first() {
        let t = task(serde_json::json!({"volumeName": "train", "type": "Export", "paths": ["/abs"]}));
        assert_eq!(reason(admit(&t, None, |_| class(&[]))), ("InvalidSpec", false));
    }
}
