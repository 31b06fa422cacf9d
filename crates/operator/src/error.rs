//! The controller's errors. `category()` is bounded: it labels metrics and names event reasons;
//! the `Display` text goes to logs, events and conditions.

use crate::aws::{AwsError, ErrorKind};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),

    #[error("AWS {0}")]
    Aws(#[from] AwsError),

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

    #[error("finalizer: {0}")]
    Finalizer(String),
}

impl Error {
    /// A bounded label for metrics and event reasons.
    pub fn category(&self) -> &'static str {
        match self {
            Error::Kube(_) => "kubernetes",
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
            Error::Waiting(_) => "waiting",
            Error::Finalizer(_) => "finalizer",
        }
    }

    /// Event reason (PascalCase).
    pub fn reason(&self) -> &'static str {
        match self {
            Error::Kube(_) => "KubernetesError",
            Error::Aws(_) => "AwsError",
            Error::Network(_) => "NetworkNotReady",
            Error::Conflict(_) => "OwnershipConflict",
            Error::AdoptionRefused(_) => "AdoptionRefused",
            Error::Waiting(_) => "Waiting",
            Error::Finalizer(_) => "FinalizerError",
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
