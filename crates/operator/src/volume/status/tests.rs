//! Status composition from fixtures: no client, no clock but the one passed in.

use k8s_openapi::jiff::Timestamp;
use lustre_api::{LustreVolume, LustreVolumeStatus, Phase};

use super::*;
use crate::aws::{AssociationLifecycle, AwsError, ErrorKind, FileSystem, Lifecycle};
use crate::class_policy::Refusal;
use crate::error::Error;
use crate::volume::file_system::Observed;
use crate::volume::kubernetes_objects::ClaimPhase;
use crate::volume::security_group::SecurityGroups;

fn volume(extra: serde_json::Value) -> LustreVolume {
    let mut spec = serde_json::json!({"storageCapacityGiB": 1200, "network": {"subnetId": "subnet-0123456789abcdef0"}});
    if let (Some(spec), Some(extra)) = (spec.as_object_mut(), extra.as_object()) {
        spec.extend(extra.clone());
    }
    let mut lv = crate::fixtures::volume("ml", "train", "u-1", spec);
    lv.metadata.generation = Some(3);
    lv
}

fn lv() -> LustreVolume {
    volume(serde_json::json!({}))
}

fn fs(lifecycle: Lifecycle) -> FileSystem {
    FileSystem {
        id: "fs-0123456789abcdef0".into(),
        lifecycle,
        dns_name: Some("fs-0123456789abcdef0.fsx.us-east-1.amazonaws.com".into()),
        mount_name: Some("abcdefgh".into()),
        capacity_gib: Some(1200),
        ..Default::default()
    }
}

fn managed() -> SecurityGroups {
    SecurityGroups { ids: vec!["sg-0123456789abcdef0".into()], managed: true }
}

fn seen(file_system: Observed, claim: Option<ClaimPhase>) -> Observation {
    Observation { file_system, security_groups: Some(managed()), claim, ..Default::default() }
}

fn t(seconds: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + seconds).expect("a valid timestamp")
}

fn compose_fresh(lv: &LustreVolume, obs: &Observation) -> LustreVolumeStatus {
    compose(lv, &LustreVolumeStatus::default(), obs, t(0))
}

/// (status, reason) of a condition.
fn cond<'a>(st: &'a LustreVolumeStatus, type_: &str) -> Option<(&'a str, &'a str)> {
    st.conditions.iter().find(|c| c.type_ == type_).map(|c| (c.status.as_str(), c.reason.as_str()))
}

fn message<'a>(st: &'a LustreVolumeStatus, type_: &str) -> &'a str {
    st.conditions.iter().find(|c| c.type_ == type_).map(|c| c.message.as_str()).unwrap_or_default()
}

fn invalid(message: &str) -> Refusal {
    Refusal { reason: "InvalidSpec", message: message.into() }
}

fn aws_error(code: &str, kind: ErrorKind) -> Error {
    Error::Aws(AwsError {
        operation: "CreateFileSystem",
        kind,
        code: code.into(),
        message: "the account's file-system quota is used up".into(),
    })
}

#[test]
fn invalid_spec_is_pending_with_the_message_and_nothing_else() {
    let obs = Observation { refusal: Some(invalid("spec.storageCapacityGiB: use 1200")), ..Default::default() };
    let st = compose_fresh(&lv(), &obs);
    assert_eq!(st.phase, Some(Phase::Pending));
    assert_eq!(cond(&st, READY), Some(("False", "InvalidSpec")));
    assert_eq!(message(&st, READY), "spec.storageCapacityGiB: use 1200");
    assert_eq!(st.conditions.len(), 1);
    assert_eq!(
        (st.observed_generation, st.claim_name.as_deref()),
        (None, Some("train")),
        "a refused spec is not observed"
    );
    assert_eq!(next(&obs), Next::AwaitChange);
}

#[test]
fn invalid_spec_keeps_an_existing_phase() {
    let previous = LustreVolumeStatus { phase: Some(Phase::Available), ..Default::default() };
    let obs = Observation { refusal: Some(invalid("bad")), ..Default::default() };
    assert_eq!(compose(&lv(), &previous, &obs, t(0)).phase, Some(Phase::Available));
}

#[test]
fn a_lost_file_system_is_lost_and_waits_for_a_person() {
    let previous = LustreVolumeStatus { lifecycle: Some("AVAILABLE".into()), ..Default::default() };
    let obs = seen(Observed::Lost("fs-0123456789abcdef0".into()), None);
    let st = compose(&lv(), &previous, &obs, t(0));
    assert_eq!(st.phase, Some(Phase::Lost));
    assert_eq!(st.lifecycle, None);
    assert_eq!(cond(&st, FILE_SYSTEM_READY), Some(("False", "Lost")));
    assert_eq!(cond(&st, READY), Some(("False", "Lost")));
    assert!(message(&st, READY).contains("fs-0123456789abcdef0 no longer exists"));
    assert_eq!(next(&obs), Next::AwaitChange);
}

#[test]
fn creating_reports_the_id_the_group_and_the_lifecycle() {
    let obs = seen(Observed::Present(fs(Lifecycle::Creating)), None);
    let st = compose_fresh(&lv(), &obs);
    assert_eq!(st.phase, Some(Phase::Creating));
    assert_eq!(st.file_system_id.as_deref(), Some("fs-0123456789abcdef0"));
    assert_eq!(st.security_group_id.as_deref(), Some("sg-0123456789abcdef0"));
    assert_eq!(st.lifecycle.as_deref(), Some("CREATING"));
    assert_eq!(cond(&st, SECURITY_GROUP_READY), Some(("True", "Managed")));
    assert_eq!(cond(&st, FILE_SYSTEM_READY), Some(("False", "Creating")));
    assert_eq!(cond(&st, READY), Some(("False", "Creating")));
    assert_eq!(cond(&st, CLAIM_BOUND), None);
    assert_eq!(st.storage_class_name, None);
    assert_eq!(st.observed_generation, Some(3));
    assert_eq!(next(&obs), Next::Soon);
}

#[test]
fn available_with_a_bound_claim_is_ready_and_stable() {
    let obs = seen(Observed::Present(fs(Lifecycle::Available)), Some(ClaimPhase::Bound));
    let st = compose_fresh(&lv(), &obs);
    assert_eq!(st.phase, Some(Phase::Available));
    assert_eq!(cond(&st, FILE_SYSTEM_READY), Some(("True", "Available")));
    assert_eq!(cond(&st, CLAIM_BOUND), Some(("True", "Bound")));
    assert_eq!(cond(&st, READY), Some(("True", "Bound")));
    assert_eq!(message(&st, READY), "mount PersistentVolumeClaim train");
    assert_eq!(st.claim_phase.as_deref(), Some("Bound"));
    assert_eq!(st.storage_class_name.as_deref(), Some("lustre-u-1"));
    assert_eq!(st.persistent_volume_name.as_deref(), Some("lustre-u-1"));
    assert_eq!(
        (st.dns_name.is_some(), st.mount_name.as_deref(), st.capacity_gib),
        (true, Some("abcdefgh"), Some(1200))
    );
    assert_eq!(next(&obs), Next::Resync);
}

#[test]
fn available_with_a_pending_claim_waits_for_the_binder() {
    let obs = seen(Observed::Present(fs(Lifecycle::Available)), Some(ClaimPhase::Pending));
    let st = compose_fresh(&volume(serde_json::json!({"claim": {"name": "data"}})), &obs);
    assert_eq!(cond(&st, CLAIM_BOUND), Some(("False", "Pending")));
    assert_eq!(message(&st, CLAIM_BOUND), "PersistentVolumeClaim data is Pending");
    assert_eq!(cond(&st, READY), Some(("False", "ClaimPending")));
    assert_eq!(st.claim_name.as_deref(), Some("data"));
    assert_eq!(next(&obs), Next::Soon);
}

#[test]
fn an_administrative_action_makes_an_available_file_system_updating() {
    let mut growing = fs(Lifecycle::Available);
    growing.actions_in_progress = vec!["FILE_SYSTEM_UPDATE IN_PROGRESS 40%".into()];
    let obs = seen(Observed::Present(growing), Some(ClaimPhase::Bound));
    let st = compose_fresh(&lv(), &obs);
    assert_eq!(st.phase, Some(Phase::Updating));
    assert_eq!(cond(&st, FILE_SYSTEM_READY), Some(("True", "Updating")));
    assert!(message(&st, FILE_SYSTEM_READY).contains("FILE_SYSTEM_UPDATE IN_PROGRESS 40%"));
    assert_eq!(cond(&st, READY), Some(("True", "Bound")), "still mountable while it grows");
    assert_eq!(next(&obs), Next::Soon);
}

#[test]
fn the_updating_lifecycle_is_updating_and_mountable() {
    let st = compose_fresh(&lv(), &seen(Observed::Present(fs(Lifecycle::Updating)), Some(ClaimPhase::Bound)));
    assert_eq!(st.phase, Some(Phase::Updating));
    assert_eq!(cond(&st, FILE_SYSTEM_READY), Some(("True", "Updating")));
}

#[test]
fn failed_carries_fsx_failure_details_and_is_terminal() {
    let mut failed = fs(Lifecycle::Failed);
    failed.failure = Some("subnet has no free IP addresses".into());
    let obs = seen(Observed::Present(failed), None);
    let st = compose_fresh(&lv(), &obs);
    assert_eq!(st.phase, Some(Phase::Failed));
    assert_eq!(cond(&st, FILE_SYSTEM_READY), Some(("False", "Failed")));
    assert!(message(&st, FILE_SYSTEM_READY).ends_with("failed: subnet has no free IP addresses"));
    assert_eq!(cond(&st, READY), Some(("False", "Failed")));
    assert_eq!(next(&obs), Next::AwaitChange);
}

#[test]
fn misconfigured_is_failed_but_recoverable() {
    let obs = seen(Observed::Present(fs(Lifecycle::Misconfigured)), None);
    let st = compose_fresh(&lv(), &obs);
    assert_eq!(st.phase, Some(Phase::Failed));
    assert_eq!(cond(&st, FILE_SYSTEM_READY), Some(("False", "Misconfigured")));
    assert!(message(&st, FILE_SYSTEM_READY).contains("recoverable"));
    assert_eq!(next(&obs), Next::Soon, "MISCONFIGURED is followed until it recovers");
}

#[test]
fn deleting_and_unknown_lifecycles_have_their_own_reasons() {
    let st = compose_fresh(&lv(), &seen(Observed::Present(fs(Lifecycle::Deleting)), None));
    assert_eq!(st.phase, Some(Phase::Deleting));
    assert_eq!(cond(&st, FILE_SYSTEM_READY), Some(("False", "Deleting")));
    let st = compose_fresh(&lv(), &seen(Observed::Present(fs(Lifecycle::from_fsx("MISCONFIGURED_UNAVAILABLE"))), None));
    assert_eq!(cond(&st, FILE_SYSTEM_READY), Some(("False", "MisconfiguredUnavailable")));
    let st = compose_fresh(&lv(), &seen(Observed::Present(fs(Lifecycle::from_fsx("HIBERNATING"))), None));
    assert_eq!(st.phase, Some(Phase::Pending));
    assert_eq!(cond(&st, FILE_SYSTEM_READY), Some(("False", "Hibernating")));
}

#[test]
fn existing_and_adopted_groups_have_their_own_reasons() {
    let existing = SecurityGroups { ids: vec!["sg-1".into(), "sg-2".into()], managed: false };
    let obs = Observation { security_groups: Some(existing), ..seen(Observed::Present(fs(Lifecycle::Creating)), None) };
    let st = compose_fresh(&lv(), &obs);
    assert_eq!(cond(&st, SECURITY_GROUP_READY), Some(("True", "Existing")));
    assert_eq!(message(&st, SECURITY_GROUP_READY), "using existing security groups sg-1, sg-2");
    assert_eq!(st.security_group_id.as_deref(), Some("sg-1"));

    let adopted = volume(serde_json::json!({"fileSystemId": "fs-0123456789abcdef0"}));
    let none = SecurityGroups { ids: vec![], managed: false };
    let obs = Observation { security_groups: Some(none), ..seen(Observed::Present(fs(Lifecycle::Available)), None) };
    let st = compose_fresh(&adopted, &obs);
    assert_eq!(cond(&st, SECURITY_GROUP_READY), Some(("True", "Adopted")));
    assert_eq!(st.security_group_id, None);
}

#[test]
fn a_network_failure_of_the_group_step_is_reported_on_both_conditions() {
    let obs = Observation {
        security_groups: None,
        failure: Some((Step::SecurityGroup, Error::Network("sg-1 does not admit TCP 1018-1023".into()))),
        ..Default::default()
    };
    let st = compose_fresh(&lv(), &obs);
    assert_eq!(st.phase, Some(Phase::Pending));
    assert_eq!(cond(&st, SECURITY_GROUP_READY), Some(("False", "NetworkNotReady")));
    assert_eq!(cond(&st, READY), Some(("False", "NetworkNotReady")));
    assert_eq!(message(&st, READY), "sg-1 does not admit TCP 1018-1023");
}

#[test]
fn an_ownership_conflict_of_the_group_step_names_the_conflict() {
    let obs = Observation {
        security_groups: None,
        failure: Some((Step::SecurityGroup, Error::Conflict("2 security groups carry ...".into()))),
        ..Default::default()
    };
    let st = compose_fresh(&lv(), &obs);
    assert_eq!(cond(&st, SECURITY_GROUP_READY), Some(("False", "OwnershipConflict")));
    assert_eq!(cond(&st, READY), Some(("False", "OwnershipConflict")));
}

#[test]
fn an_aws_failure_after_the_group_step_keeps_the_group_ready() {
    let obs = Observation {
        failure: Some((Step::FileSystem, aws_error("ServiceLimitExceeded", ErrorKind::Terminal))),
        ..seen(Observed::Absent, None)
    };
    let st = compose_fresh(&lv(), &obs);
    assert_eq!(st.phase, Some(Phase::Pending));
    assert_eq!(cond(&st, SECURITY_GROUP_READY), Some(("True", "Managed")));
    assert_eq!(cond(&st, READY), Some(("False", "AwsError")));
    assert!(message(&st, READY).contains("ServiceLimitExceeded"));
    assert_eq!(st.observed_generation, None, "a failed pass did not apply the generation");
}

#[test]
fn a_failure_in_the_kubernetes_step_overrides_ready_but_keeps_what_fsx_said() {
    let obs = Observation {
        failure: Some((Step::KubernetesObjects, Error::Conflict("a PersistentVolumeClaim named train exists".into()))),
        ..seen(Observed::Present(fs(Lifecycle::Available)), None)
    };
    let st = compose_fresh(&lv(), &obs);
    assert_eq!(st.phase, Some(Phase::Available));
    assert_eq!(cond(&st, FILE_SYSTEM_READY), Some(("True", "Available")));
    assert_eq!(cond(&st, SECURITY_GROUP_READY), Some(("True", "Managed")), "not a group failure");
    assert_eq!(cond(&st, READY), Some(("False", "OwnershipConflict")));
}

#[test]
fn recomposing_an_unchanged_volume_changes_nothing_not_even_transition_times() {
    let obs = seen(Observed::Present(fs(Lifecycle::Available)), Some(ClaimPhase::Bound));
    let first = compose(&lv(), &LustreVolumeStatus::default(), &obs, t(0));
    let second = compose(&lv(), &first, &obs, t(600));
    assert_eq!(first, second, "a stable volume needs no status write");
}

#[test]
fn transition_time_moves_only_when_a_condition_flips() {
    let creating =
        compose(&lv(), &LustreVolumeStatus::default(), &seen(Observed::Present(fs(Lifecycle::Creating)), None), t(0));
    let ready_time = |st: &LustreVolumeStatus| {
        st.conditions.iter().find(|c| c.type_ == READY).map(|c| c.last_transition_time.0).expect("Ready is set")
    };
    // Still false, another reason: the time stays.
    let pending =
        compose(&lv(), &creating, &seen(Observed::Present(fs(Lifecycle::Available)), Some(ClaimPhase::Pending)), t(10));
    assert_eq!(ready_time(&pending), t(0));
    assert_eq!(cond(&pending, READY), Some(("False", "ClaimPending")));
    // False -> True: the time moves.
    let bound =
        compose(&lv(), &pending, &seen(Observed::Present(fs(Lifecycle::Available)), Some(ClaimPhase::Bound)), t(20));
    assert_eq!(ready_time(&bound), t(20));
}

#[test]
fn deleting_status_says_what_the_cleanup_waits_for() {
    let previous = compose_fresh(&lv(), &seen(Observed::Present(fs(Lifecycle::Available)), Some(ClaimPhase::Bound)));
    let waiting = Error::Waiting("waiting for pod(s) trainer to stop using PersistentVolumeClaim train".into());
    let st = deleting(&lv(), &previous, &waiting, t(5));
    assert_eq!(st.phase, Some(Phase::Deleting));
    assert_eq!(cond(&st, READY), Some(("False", "Waiting")));
    assert!(message(&st, READY).contains("trainer"));
    assert_eq!(st.file_system_id, previous.file_system_id, "the rest is kept");
}

#[test]
fn the_early_write_after_create_is_the_pass_s_final_status() {
    // What the controller writes right after CreateFileSystem (the partial observation) equals
    // what the end of that pass composes, so the pass writes once.
    let obs = seen(Observed::Present(fs(Lifecycle::Creating)), None);
    let early = compose(&lv(), &LustreVolumeStatus::default(), &obs, t(1));
    assert_eq!(early.phase, Some(Phase::Creating));
    assert_eq!(early.file_system_id.as_deref(), Some("fs-0123456789abcdef0"));
    assert_eq!(early.security_group_id.as_deref(), Some("sg-0123456789abcdef0"));
    assert_eq!(compose(&lv(), &early, &obs, t(2)), early);
}

#[test]
fn long_messages_are_cut_to_what_a_condition_holds() {
    let obs = Observation { refusal: Some(invalid(&"x".repeat(5000))), ..Default::default() };
    assert_eq!(message(&compose_fresh(&lv(), &obs), READY).len(), 1024);
}

#[test]
fn a_class_refusal_names_its_reason() {
    let refusal = Refusal { reason: "ClassRejected", message: "LustreClass scratch allows at most 4800 GiB".into() };
    let obs = Observation { refusal: Some(refusal), ..Default::default() };
    let st = compose_fresh(&lv(), &obs);
    assert_eq!(cond(&st, READY), Some(("False", "ClassRejected")));
    assert_eq!(next(&obs), Next::AwaitChange);
}

#[test]
fn a_refused_adoption_shows_nothing_of_the_file_system() {
    let obs = Observation {
        failure: Some((Step::FileSystem, Error::AdoptionRefused("fs-1 belongs to another LustreVolume".into()))),
        ..seen(Observed::Absent, None)
    };
    let st = compose_fresh(&lv(), &obs);
    assert_eq!((st.file_system_id.as_deref(), st.dns_name.as_deref(), st.mount_name.as_deref()), (None, None, None));
    assert_eq!(cond(&st, READY), Some(("False", "AdoptionRefused")));
}

#[test]
fn association_lifecycles_in_status_decide_the_associations_condition() {
    let lv = volume(serde_json::json!({"s3": {"associations": [
        {"fileSystemPath": "/a", "dataRepositoryPath": "s3://b/a/"},
        {"fileSystemPath": "/b", "dataRepositoryPath": "s3://b/b/"}
    ]}}));
    let entry = |path: &str, lifecycle: Option<AssociationLifecycle>| lustre_api::AssociationStatus {
        file_system_path: path.into(),
        data_repository_path: format!("s3://b{path}/"),
        association_id: Some(format!("dra-{}", path.trim_start_matches('/'))),
        lifecycle: lifecycle.map(|l| l.to_string()),
        message: None,
    };
    let with = |a: Option<AssociationLifecycle>, b: Option<AssociationLifecycle>| Observation {
        associations: Some(Associations { statuses: vec![entry("/a", a), entry("/b", b)], settled: false }),
        ..seen(Observed::Present(fs(Lifecycle::Available)), Some(ClaimPhase::Bound))
    };
    let reason = |obs: &Observation| {
        let st = compose_fresh(&lv, obs);
        (cond(&st, ASSOCIATIONS_READY).map(|(s, r)| (s.to_string(), r.to_string())), st.associations)
    };
    use AssociationLifecycle::*;

    let (ready, statuses) = reason(&with(Some(Available), Some(Available)));
    assert_eq!(ready, Some(("True".into(), "Available".into())));
    assert_eq!(statuses[0].lifecycle.as_deref(), Some("AVAILABLE"), "status keeps FSx's spelling");
    for pending in [Creating, Updating, Deleting, Other("NEW_STATE".into())] {
        let (ready, _) = reason(&with(Some(Available), Some(pending.clone())));
        assert_eq!(ready, Some(("False".into(), "AssociationsPending".into())), "{pending}");
    }
    for failed in [Failed, Misconfigured] {
        let (ready, _) = reason(&with(Some(failed.clone()), Some(Available)));
        assert_eq!(ready, Some(("False".into(), "AssociationFailed".into())), "{failed}");
    }
    let (ready, _) = reason(&with(Some(Available), None));
    assert_eq!(ready, Some(("False".into(), "AssociationsPending".into())), "not created yet, no message");
}
