//! The controller's errors. `category()` is bounded: it labels metrics and names event reasons;
//! the `Display` text goes to logs, events and conditions.

use crate::aws::{AwsError, ErrorKind};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),

    #[error("AWS {0}{hint}", hint = retry_hint(.0))]
    Aws(AwsError),

    /// AWS refused the request for a reason a retry cannot fix (quota, permissions, a subnet
    /// that does not exist): retried only at the resync interval, and the message says what to do.
    #[error("AWS refused {0}; {hint}", hint = terminal_hint(.0))]
    AwsRefused(AwsError),

    /// The network does not admit Lustre traffic yet (missing rule, eventual consistency).
    #[error("{0}")]
    Network(String),

    /// More than one AWS resource carries this owner's tag, or a resource's tag names another owner.
    #[error("{0}")]
    Conflict(String),

    /// The file system named in `fileSystemId` may not be adopted by this volume.
    #[error("{0}")]
    AdoptionRefused(String),

    /// An asynchronous step is still running (deletion, pods still using the claim).
    #[error("{0}")]
    Waiting(String),

    /// The volume's claim was deleted moments ago. kube-controller-manager lets a claim no pod
    /// uses go within moments, and its removal wakes the volume: nothing is written meanwhile
    /// (after `CLAIM_HELD_AFTER` the wait becomes a [`Error::Waiting`] naming what holds it).
    #[error("{0}")]
    ClaimGoing(String),

    /// The volume's claim has been in deletion for a while: a pod uses it, or a finalizer other
    /// than kube-controller-manager's holds it (the message says which). Its removal wakes the
    /// volume; the passes in between only refresh the message.
    #[error("{0}")]
    ClaimHeld(String),

    /// FSx is deleting the file system. The shared poller follows it and wakes the volume once
    /// it is gone, so the volume is not looked at again meanwhile (but at a slow safety net).
    #[error("{0}")]
    FileSystemDeleting(String),

    /// The export to S3 before deletion is running.
    #[error("{0}")]
    Exporting(String),

    /// The export to S3 before deletion failed: the file system is kept until a person retries
    /// the export or gives it up.
    #[error("{0}")]
    ExportFailed(String),

    #[error("finalizer: {0}")]
    Finalizer(String),
    /// FSx refused an update for a rule the operator does not model: reported, tried again at
    /// the resync.
    #[error("{0}")]
    UpdateRefused(String),
    /// An earlier volume of the same namespace and name left its file system: the volume's
    /// restore-from annotation must say whether to take it over or make a new one.
    #[error("{0}")]
    PreviousFileSystem(String),
}

impl Error {
    /// A bounded label for metrics and event reasons.
    pub fn category(&self) -> &'static str {
        match self {
            Error::Kube(_) => "kubernetes",
            Error::AwsRefused(_) => "aws_refused",
            Error::Aws(e) => match e.kind {
                ErrorKind::Throttled => "aws_throttled",
                ErrorKind::Transient => "aws_transient",
                ErrorKind::NotFound => "aws_not_found",
                ErrorKind::Conflict => "aws_conflict",
                ErrorKind::Terminal => "aws_terminal",
            },
            Error::Network(_) => "network",
            Error::Conflict(_) => "conflict",
            Error::AdoptionRefused(_) => "adoption_refused",
            Error::Waiting(_) | Error::ClaimGoing(_) | Error::ClaimHeld(_) | Error::FileSystemDeleting(_) => "waiting",
            Error::Exporting(_) => "exporting",
            Error::ExportFailed(_) => "export_failed",
            Error::Finalizer(_) => "finalizer",
            Error::PreviousFileSystem(_) => "previous_file_system",
            Error::UpdateRefused(_) => "update_refused",
        }
    }

    /// Event reason (PascalCase).
    pub fn reason(&self) -> &'static str {
        match self {
            Error::Kube(_) => "KubernetesError",
            Error::Aws(e) if e.kind == ErrorKind::Throttled => "AwsThrottled",
            Error::Aws(_) => "AwsError",
            Error::AwsRefused(_) => "AwsRefused",
            Error::Network(_) => "NetworkNotReady",
            Error::Conflict(_) => "OwnershipConflict",
            Error::AdoptionRefused(_) => "AdoptionRefused",
            Error::Waiting(_) | Error::ClaimGoing(_) | Error::ClaimHeld(_) | Error::FileSystemDeleting(_) => "Waiting",
            Error::Exporting(_) => "Exporting",
            Error::ExportFailed(_) => "ExportFailed",
            Error::Finalizer(_) => "FinalizerError",
            Error::PreviousFileSystem(_) => "PreviousFileSystemFound",
            Error::UpdateRefused(_) => "UpdateRefused",
        }
    }
}

impl From<AwsError> for Error {
    fn from(e: AwsError) -> Error {
        let subnet_missing = e.kind == ErrorKind::NotFound && e.code.starts_with("InvalidSubnetID");
        if e.kind == ErrorKind::Terminal || subnet_missing {
            Error::AwsRefused(e)
        } else {
            Error::Aws(e)
        }
    }
}

/// The finalizer helper's error: the step's own error, or the finalizer patch that failed.
impl From<kube::runtime::finalizer::Error<Error>> for Error {
    fn from(e: kube::runtime::finalizer::Error<Error>) -> Error {
        use kube::runtime::finalizer::Error as F;
        match e {
            F::ApplyFailed(e) | F::CleanupFailed(e) => e,
            F::AddFinalizer(e) | F::RemoveFinalizer(e) => Error::Kube(e),
            other => Error::Finalizer(other.to_string()),
        }
    }
}

/// What to change after a terminal AWS error.
fn terminal_hint(e: &AwsError) -> &'static str {
    match e.code.as_str() {
        "ServiceLimitExceeded" => "raise the account's FSx quota (Service Quotas) or delete file systems you no longer need",
        "AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation" => {
            "the operator's IAM role lacks this permission: compare it with manifests/iam-policy.json"
        }
        "InvalidNetworkSettings" | "InvalidSubnetID.NotFound" | "InvalidSubnetID.Malformed" => {
            "the LustreClass names a subnet or security group that does not exist in this account and region: fix the class"
        }
        _ => "change the LustreVolume or its LustreClass; the operator retries at each resync only",
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What the operator does about a retryable AWS error, for the condition message.
fn retry_hint(e: &AwsError) -> &'static str {
    match e.kind {
        ErrorKind::Throttled => {
            "; AWS is throttling this account's calls: the operator retries with backoff per volume and keeps its own calls under --aws-max-calls-per-second"
        }
        ErrorKind::Transient => "; retrying with backoff",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aws(code: &str, kind: ErrorKind) -> AwsError {
        AwsError { operation: "CreateFileSystem", kind, code: code.into(), message: "no".into() }
    }

    #[test]
    fn terminal_aws_errors_are_refusals_that_say_what_to_do() {
        let quota = Error::from(aws("ServiceLimitExceeded", ErrorKind::Terminal));
        assert_eq!((quota.reason(), quota.category()), ("AwsRefused", "aws_refused"));
        assert!(quota.to_string().contains("raise the account's FSx quota"), "{quota}");
        let subnet = Error::from(aws("InvalidSubnetID.NotFound", ErrorKind::NotFound));
        assert!(subnet.to_string().contains("fix the class"), "{subnet}");
        let throttled = Error::from(aws("ThrottlingException", ErrorKind::Throttled));
        assert_eq!((throttled.reason(), throttled.category()), ("AwsThrottled", "aws_throttled"));
        assert!(throttled.to_string().contains("AWS is throttling"), "{throttled}");
        let gone = Error::from(aws("FileSystemNotFound", ErrorKind::NotFound));
        assert_eq!(gone.reason(), "AwsError");
    }
}
