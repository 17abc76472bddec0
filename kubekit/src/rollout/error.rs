//! The error type of rollout calls.

use std::{fmt, time::Duration};

use super::status::{PodProblem, RolloutStatus};

/// Why a rollout call failed. Every variant names the Deployment (as `namespace/name`) and,
/// where it matters, the revision, container or pods concerned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RolloutError {
    /// The Deployment does not exist.
    #[error("deployment \"{deployment}\" not found")]
    NotFound {
        /// The Deployment, as `namespace/name`.
        deployment: String,
    },

    /// The rollout cannot finish: the progress deadline passed (condition `Progressing=False`,
    /// reason `ProgressDeadlineExceeded`), or new pods are stuck for a reason that will not
    /// resolve by itself (see [`Rollout::fail_fast`](super::Rollout::fail_fast)).
    #[error("rollout of deployment \"{deployment}\" failed: {reason}{}", Pods(.pods))]
    Failed {
        /// The Deployment, as `namespace/name`.
        deployment: String,
        /// What went wrong, e.g. `ProgressDeadlineExceeded: ReplicaSet "web-5f7b" has timed
        /// out progressing.` or `new pods cannot start (ErrImageNeverPull)`.
        reason: String,
        /// The new pods that are not ready and why (their containers' waiting reasons).
        pods: Vec<PodProblem>,
    },

    /// An undo named a revision the Deployment does not have (any more).
    #[error(
        "deployment \"{deployment}\" has no revision {revision} (its revisions: {})",
        Numbers(.available)
    )]
    NoSuchRevision {
        /// The Deployment, as `namespace/name`.
        deployment: String,
        /// The revision that was asked for.
        revision: u64,
        /// The revisions the Deployment has, oldest first.
        available: Vec<u64>,
    },

    /// An undo to the previous revision found no revision before the current one.
    #[error(
        "deployment \"{deployment}\" has no previous revision to roll back to (its revisions: {})",
        Numbers(.available)
    )]
    NoPreviousRevision {
        /// The Deployment, as `namespace/name`.
        deployment: String,
        /// The revisions the Deployment has, oldest first.
        available: Vec<u64>,
    },

    /// An update named a container the pod template does not have.
    #[error(
        "deployment \"{deployment}\" has no container \"{container}\" (its containers: {})",
        .available.join(", ")
    )]
    NoSuchContainer {
        /// The Deployment, as `namespace/name`.
        deployment: String,
        /// The container that was named.
        container: String,
        /// The containers (and init containers) of the pod template.
        available: Vec<String>,
    },

    /// The Deployment is paused (`spec.paused`), so the action cannot happen until it is
    /// resumed.
    #[error("cannot {action}: deployment \"{deployment}\" is paused; resume it first")]
    Paused {
        /// The Deployment, as `namespace/name`.
        deployment: String,
        /// What could not be done, e.g. `roll back` or `finish the rollout`.
        action: String,
    },

    /// A wait ran out of time before the rollout completed.
    #[error(
        "timed out after {after:?} waiting for deployment \"{deployment}\" to roll out; \
         last status: {status}"
    )]
    Timeout {
        /// The Deployment, as `namespace/name`.
        deployment: String,
        /// How long the wait lasted.
        after: Duration,
        /// The last status seen.
        status: Box<RolloutStatus>,
    },

    /// The Deployment was deleted while its rollout was followed.
    #[error("deployment \"{deployment}\" was deleted during the rollout")]
    Deleted {
        /// The Deployment, as `namespace/name`.
        deployment: String,
    },

    /// Watching the Deployment, its ReplicaSets or its pods failed repeatedly.
    #[error("watching deployment \"{deployment}\" failed: {source}")]
    Watch {
        /// The Deployment, as `namespace/name`.
        deployment: String,
        /// The watcher's error.
        #[source]
        source: kube::runtime::watcher::Error,
    },

    /// A request to the API server failed.
    #[error("deployment \"{deployment}\": {source}")]
    Kube {
        /// The Deployment, as `namespace/name`.
        deployment: String,
        /// The client's error (for API errors, the server's status with code and message).
        #[source]
        source: kube::Error,
    },
}

impl RolloutError {
    /// The Deployment the error is about, as `namespace/name`.
    pub fn deployment(&self) -> &str {
        match self {
            RolloutError::NotFound { deployment }
            | RolloutError::Failed { deployment, .. }
            | RolloutError::NoSuchRevision { deployment, .. }
            | RolloutError::NoPreviousRevision { deployment, .. }
            | RolloutError::NoSuchContainer { deployment, .. }
            | RolloutError::Paused { deployment, .. }
            | RolloutError::Timeout { deployment, .. }
            | RolloutError::Deleted { deployment }
            | RolloutError::Watch { deployment, .. }
            | RolloutError::Kube { deployment, .. } => deployment,
        }
    }
}

struct Pods<'a>(&'a [PodProblem]);

impl fmt::Display for Pods<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, pod) in self.0.iter().enumerate() {
            f.write_str(if i == 0 { "; pods: " } else { "; " })?;
            write!(f, "{pod}")?;
        }
        Ok(())
    }
}

struct Numbers<'a>(&'a [u64]);

impl fmt::Display for Numbers<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("none");
        }
        for (i, n) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{n}")?;
        }
        Ok(())
    }
}

/// The result type of rollout calls.
pub type Result<T, E = RolloutError> = std::result::Result<T, E>;
