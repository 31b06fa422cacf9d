//! The association step: makes the file system's data repository associations (DRAs) match
//! `spec.s3.associations`. Ours are the file system's associations carrying this volume's owner
//! tag; each wanted one is matched by (fileSystemPath, dataRepositoryPath), created when missing
//! (client request token and owner tags, after the lookup), updated when its chunk size or
//! automatic import/export events differ, and ours that are no longer wanted are deleted (their
//! files kept unless `onAssociationRemoval: DeleteData`). Once everything is AVAILABLE and as
//! asked, the step is skipped until the next resync or a spec change: a stable volume costs no
//! AWS call.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use lustre_api::{AssociationRemoval, AssociationSpec, AssociationStatus, LustreVolume, S3Event};

use crate::aws::{Association, AssociationLifecycle, AssociationRequest, FileSystem, Lifecycle};
use crate::context::{Check, Context};
use crate::error::Result;
use crate::ownership;

/// What the step saw: one entry per wanted association (in spec order), then ours being removed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Associations {
    pub(crate) statuses: Vec<AssociationStatus>,
    /// Every wanted association is AVAILABLE as asked and nothing of ours is left to remove.
    pub(crate) settled: bool,
}

/// A fingerprint of what the spec asks of the associations, kept in this process only (never sent
/// to AWS, so `DefaultHasher` may change between releases without harm).
fn version(lv: &LustreVolume) -> u64 {
    let mut h = DefaultHasher::new();
    serde_json::to_string(lv.spec.associations()).unwrap_or_default().hash(&mut h);
    removal(lv).eq(&AssociationRemoval::DeleteData).hash(&mut h);
    h.finish()
}

fn removal(lv: &LustreVolume) -> AssociationRemoval {
    lv.spec.s3.as_ref().and_then(|s3| s3.on_association_removal).unwrap_or_default()
}

/// CreateDataRepositoryAssociation's token: 1-63 characters, one per volume and association.
fn token(lv: &LustreVolume, a: &AssociationSpec) -> String {
    ownership::idempotency_token(
        ownership::TokenPurpose::Association,
        ownership::uid(lv),
        &[&a.file_system_path, &a.data_repository_path],
    )
}

fn sorted(events: &[S3Event]) -> Vec<S3Event> {
    let mut v = events.to_vec();
    v.sort();
    v.dedup();
    v
}

/// Whether an existing association differs from the spec in what UpdateDataRepositoryAssociation
/// can change.
fn needs_update(have: &Association, want: &AssociationSpec) -> bool {
    want.imported_file_chunk_size.is_some_and(|c| have.imported_file_chunk_size != Some(c))
        || sorted(&have.import_events) != sorted(&want.auto_import_events)
        || sorted(&have.export_events) != sorted(&want.auto_export_events)
}

fn same_link(have: &Association, want: &AssociationSpec) -> bool {
    have.file_system_path == want.file_system_path
        && have.data_repository_path.trim_end_matches('/') == want.data_repository_path.trim_end_matches('/')
}

fn status_of(want: &AssociationSpec, have: Option<&Association>, message: Option<String>) -> AssociationStatus {
    AssociationStatus {
        file_system_path: want.file_system_path.clone(),
        data_repository_path: want.data_repository_path.clone(),
        association_id: have.map(|a| a.id.clone()),
        lifecycle: have.map(|a| a.lifecycle.to_string()),
        message: message.or_else(|| have.and_then(|a| a.failure.clone())),
    }
}

/// Settles the associations of `fs`; `None` when nothing needs looking at (no association
/// asked for or reported, or all settled since the last resync and reported so).
pub(crate) async fn settle(
    ctx: &Context,
    lv: &LustreVolume,
    fs: &FileSystem,
    reported: &[AssociationStatus],
) -> Result<Option<Associations>> {
    let wanted = lv.spec.associations();
    let uid = ownership::uid(lv);
    let version = version(lv);
    if wanted.is_empty() && reported.is_empty() {
        return Ok(None);
    }
    // Skipped only while the status already shows them settled: a pass whose status write was
    // put off (a new claim) must not leave AVAILABLE unreported until the resync.
    if ctx.fresh(Check::Associations, uid, version) && all_available(lv, reported) {
        return Ok(None);
    }
    // FSx takes associations while the file system is being created, not once it is going away.
    if !matches!(fs.lifecycle, Lifecycle::Creating | Lifecycle::Available | Lifecycle::Updating) {
        return Ok(None);
    }
    let ours: Vec<Association> =
        ctx.aws.associations_of(&fs.id).await?.into_iter().filter(|a| ownership::is_ours(a, uid)).collect();
    let mut statuses = Vec::new();
    let mut settled = true;
    for want in wanted {
        let (status, done) = Box::pin(settle_one(ctx, lv, fs, &ours, want)).await?;
        statuses.push(status);
        settled &= done;
    }
    let (removed, any_unwanted) = Box::pin(remove_unwanted(ctx, lv, &ours)).await?;
    settled &= !any_unwanted;
    statuses.extend(removed);
    ctx.checked(Check::Associations, uid, version, settled);
    Ok(Some(Associations { statuses, settled }))
}

/// One wanted association: created if missing, updated if its settings differ; its status and
/// whether it is settled (AVAILABLE as asked).
async fn settle_one(
    ctx: &Context,
    lv: &LustreVolume,
    fs: &FileSystem,
    ours: &[Association],
    want: &AssociationSpec,
) -> Result<(AssociationStatus, bool)> {
    let have = ours.iter().find(|a| same_link(a, want) && a.lifecycle != AssociationLifecycle::Deleting);
    match have {
        None if ours.iter().any(|a| a.file_system_path == want.file_system_path) => {
            let message = "waiting for the previous association of this path to be deleted".to_string();
            Ok((status_of(want, None, Some(message)), false))
        }
        None => {
            let request = AssociationRequest {
                client_request_token: token(lv, want),
                file_system_id: fs.id.clone(),
                spec: want.clone(),
                tags: ownership::owner_tags(lv),
            };
            match ctx.aws.create_association(&request).await {
                Ok(created) => Ok((status_of(want, Some(&created), None), false)),
                Err(e) if e.is_retryable() => Err(e.into()),
                // FSx's refusal (an overlap with an association it holds, a limit) is shown on
                // the entry; the others go on.
                Err(e) => {
                    let message = format!("FSx refused the association: {}: {}", e.code, e.message);
                    Ok((status_of(want, None, Some(message)), false))
                }
            }
        }
        Some(a) if a.lifecycle == AssociationLifecycle::Available && needs_update(a, want) => {
            ctx.aws
                .update_association(
                    &a.id,
                    want.imported_file_chunk_size,
                    &want.auto_import_events,
                    &want.auto_export_events,
                )
                .await?;
            let status = AssociationStatus {
                lifecycle: Some(AssociationLifecycle::Updating.to_string()),
                ..status_of(want, Some(a), None)
            };
            Ok((status, false))
        }
        Some(a) => Ok((status_of(want, Some(a), None), a.lifecycle == AssociationLifecycle::Available)),
    }
}

/// Deletes our associations the spec no longer names (with their files when the spec says so):
/// the status of each one still going, and whether there was any.
async fn remove_unwanted(
    ctx: &Context,
    lv: &LustreVolume,
    ours: &[Association],
) -> Result<(Vec<AssociationStatus>, bool)> {
    let wanted = lv.spec.associations();
    let delete_data = removal(lv) == AssociationRemoval::DeleteData;
    let mut statuses = Vec::new();
    let mut any = false;
    for extra in ours.iter().filter(|a| !wanted.iter().any(|w| same_link(a, w))) {
        any = true;
        if extra.lifecycle != AssociationLifecycle::Deleting {
            match ctx.aws.delete_association(&extra.id, delete_data).await {
                Ok(()) => {}
                Err(e) if e.is_not_found() => continue,
                Err(e) => return Err(e.into()),
            }
        }
        statuses.push(AssociationStatus {
            file_system_path: extra.file_system_path.clone(),
            data_repository_path: extra.data_repository_path.clone(),
            association_id: Some(extra.id.clone()),
            lifecycle: Some(AssociationLifecycle::Deleting.to_string()),
            message: Some(if delete_data {
                "removed from the spec: deleting it and its files in the file system".into()
            } else {
                "removed from the spec: deleting it (its files stay in the file system)".into()
            }),
        });
    }
    Ok((statuses, any))
}

/// Whether the reported associations are all AVAILABLE and match the spec (what Ready needs).
pub(crate) fn all_available(lv: &LustreVolume, reported: &[AssociationStatus]) -> bool {
    let wanted = lv.spec.associations();
    reported.len() == wanted.len()
        && wanted.iter().all(|w| {
            reported.iter().any(|r| {
                r.file_system_path == w.file_system_path
                    && r.data_repository_path == w.data_repository_path
                    && r.lifecycle.as_deref().map(AssociationLifecycle::from_fsx)
                        == Some(AssociationLifecycle::Available)
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(fs: &str, repo: &str) -> AssociationSpec {
        AssociationSpec { file_system_path: fs.into(), data_repository_path: repo.into(), ..Default::default() }
    }

    #[test]
    fn an_update_is_needed_only_for_what_fsx_can_change() {
        let have = Association {
            file_system_path: "/d".into(),
            data_repository_path: "s3://b/d/".into(),
            imported_file_chunk_size: Some(1024),
            export_events: vec![S3Event::New, S3Event::Changed],
            ..Default::default()
        };
        let mut want = spec("/d", "s3://b/d");
        want.auto_export_events = vec![S3Event::Changed, S3Event::New];
        assert!(same_link(&have, &want));
        assert!(!needs_update(&have, &want), "event order does not matter; chunk size unset keeps FSx's");
        want.auto_export_events.push(S3Event::Deleted);
        assert!(needs_update(&have, &want));
        want.auto_export_events = vec![S3Event::New, S3Event::Changed];
        want.imported_file_chunk_size = Some(2048);
        assert!(needs_update(&have, &want));
        assert!(!same_link(&have, &spec("/d", "s3://b/other/")));
    }

    #[test]
    fn status_shows_fsx_spelling_and_only_available_counts() {
        let want = spec("/d", "s3://b/d/");
        let have = |lifecycle| Association {
            id: "dra-1".into(),
            file_system_path: "/d".into(),
            data_repository_path: "s3://b/d/".into(),
            lifecycle,
            ..Default::default()
        };
        let spec = serde_json::json!({"storageCapacityGiB": 1200, "s3": {"associations": [
            {"fileSystemPath": "/d", "dataRepositoryPath": "s3://b/d/"}
        ]}});
        let lv = crate::fixtures::volume("ml", "v", crate::fixtures::UID, spec);
        for (lifecycle, spelled) in [
            (AssociationLifecycle::Creating, "CREATING"),
            (AssociationLifecycle::Available, "AVAILABLE"),
            (AssociationLifecycle::Misconfigured, "MISCONFIGURED"),
            (AssociationLifecycle::Updating, "UPDATING"),
            (AssociationLifecycle::Deleting, "DELETING"),
            (AssociationLifecycle::Failed, "FAILED"),
            (AssociationLifecycle::Other("NEW_STATE".into()), "NEW_STATE"),
        ] {
            let available = lifecycle == AssociationLifecycle::Available;
            let status = status_of(&want, Some(&have(lifecycle)), None);
            assert_eq!(status.lifecycle.as_deref(), Some(spelled));
            assert_eq!(all_available(&lv, &[status]), available, "{spelled}");
        }
        assert!(!all_available(&lv, &[status_of(&want, None, None)]), "not created yet");
        assert!(!all_available(&lv, &[]), "nothing reported");
    }

    #[test]
    fn tokens_are_short_and_differ_per_association() {
        let lv =
            crate::fixtures::volume("ml", "v", crate::fixtures::UID, serde_json::json!({"storageCapacityGiB": 1200}));
        let a = token(&lv, &spec("/a", "s3://b/a/"));
        let b = token(&lv, &spec("/b", "s3://b/b/"));
        assert_ne!(a, b);
        assert!(a.len() <= 63 && a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'), "{a}");
    }
}
