//! [`RolloutError`], the rollout part of [`kubekit::Error`](crate::Error).

use std::{fmt, time::Duration};

use super::status::{PodProblem, RolloutStatus};
use crate::ObjectRef;

/// Why a rollout failed for a reason of its own, the [`Rollout`](crate::Error::Rollout) part
/// of [`kubekit::Error`](crate::Error). Every variant names the Deployment and, where it
/// matters, the revision, container or pods concerned. A Deployment that does not exist is
/// [`Error::NotFound`](crate::Error::NotFound); a failed watch is
/// [`Error::Watch`](crate::Error::Watch).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RolloutError {
    /// The rollout cannot finish: the progress deadline passed (condition `Progressing=False`,
    /// reason `ProgressDeadlineExceeded`), or new pods are stuck for a reason that will not
    /// resolve by itself (see [`Rollout::fail_fast`](super::Rollout::fail_fast)).
    #[error("rollout of {deployment} failed: {reason}{}", Pods(.pods))]
    Failed {
        /// The Deployment.
        deployment: Box<ObjectRef>,
        /// What went wrong, e.g. `ProgressDeadlineExceeded: ReplicaSet "web-5f7b" has timed
        /// out progressing.` or `new pods cannot start (ErrImageNeverPull)`.
        reason: String,
        /// The new pods that are not ready and why (their containers' waiting reasons).
        pods: Vec<PodProblem>,
    },

    /// An undo named a revision the Deployment does not have (any more).
    #[error(
        "{deployment} has no revision {revision} (its revisions: {})",
        Numbers(.available)
    )]
    NoSuchRevision {
        /// The Deployment.
        deployment: Box<ObjectRef>,
        /// The revision that was asked for.
        revision: u64,
        /// The revisions the Deployment has, oldest first.
        available: Vec<u64>,
    },

    /// An undo to the previous revision found no revision before the current one.
    #[error(
        "{deployment} has no previous revision to roll back to (its revisions: {})",
        Numbers(.available)
    )]
    NoPreviousRevision {
        /// The Deployment.
        deployment: Box<ObjectRef>,
        /// The revisions the Deployment has, oldest first.
        available: Vec<u64>,
    },

    /// An update named a container the pod template does not have.
    #[error(
        "{deployment} has no container \"{container}\" (its containers: {})",
        .available.join(", ")
    )]
    NoSuchContainer {
        /// The Deployment.
        deployment: Box<ObjectRef>,
        /// The container that was named.
        container: String,
        /// The containers (and init containers) of the pod template.
        available: Vec<String>,
    },

    /// The Deployment is paused (`spec.paused`), so the action cannot happen until it is
    /// resumed.
    #[error("cannot {action}: {deployment} is paused; resume it first")]
    Paused {
        /// The Deployment.
        deployment: Box<ObjectRef>,
        /// What could not be done, e.g. `roll back` or `finish the rollout`.
        action: String,
    },

    /// A wait ran out of time before the rollout completed.
    #[error(
        "timed out after {after:?} waiting for {deployment} to roll out; \
         last status: {status}"
    )]
    Timeout {
        /// The Deployment.
        deployment: Box<ObjectRef>,
        /// How long the wait lasted.
        after: Duration,
        /// The last status seen.
        status: Box<RolloutStatus>,
    },

    /// The Deployment was deleted while its rollout was followed.
    #[error("{deployment} was deleted during the rollout")]
    Deleted {
        /// The Deployment.
        deployment: Box<ObjectRef>,
    },
}

impl RolloutError {
    /// The Deployment the error is about.
    pub fn deployment(&self) -> &ObjectRef {
        match self {
            RolloutError::Failed { deployment, .. }
            | RolloutError::NoSuchRevision { deployment, .. }
            | RolloutError::NoPreviousRevision { deployment, .. }
            | RolloutError::NoSuchContainer { deployment, .. }
            | RolloutError::Paused { deployment, .. }
            | RolloutError::Timeout { deployment, .. }
            | RolloutError::Deleted { deployment } => deployment,
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
