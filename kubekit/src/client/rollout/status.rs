//! Rollout status: kubectl's completion logic, the new pods' problems, and the watch that
//! follows a rollout to its end.

use std::{collections::BTreeMap, fmt, time::Duration};

use futures::{StreamExt, stream::BoxStream};
use k8s_openapi::api::{
    apps::v1::{Deployment, ReplicaSet},
    core::v1::Pod,
};
use kube::{
    Resource,
    runtime::{WatchStreamExt, watcher},
};

use super::{REVISION_ANNOTATION, Rollout, controller_uid, error::RolloutError, revision_of};
use crate::{Error, Result};

/// The reason the Deployment controller gives (condition `Progressing=False`) when a rollout
/// made no progress within `progressDeadlineSeconds`.
pub const PROGRESS_DEADLINE_EXCEEDED: &str = "ProgressDeadlineExceeded";

/// The pod waiting reasons that fail a followed rollout at once by default: they do not go
/// away without a change to the pod template.
pub const DEFAULT_FAIL_FAST: [&str; 2] = ["ErrImageNeverPull", "InvalidImageName"];

/// Waiting reasons that are a normal part of a container's start, not problems.
const STARTING: [&str; 2] = ["ContainerCreating", "PodInitializing"];

/// Why one of the rollout's new pods is not ready: a container's waiting reason (e.g.
/// `ErrImageNeverPull`, `CrashLoopBackOff`) or the pod's (e.g. `Unschedulable`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PodProblem {
    /// The pod's name.
    pub pod: String,
    /// The container concerned; `None` when the problem is the pod's (e.g. it cannot be
    /// scheduled).
    pub container: Option<String>,
    /// The machine-readable reason, e.g. `ErrImageNeverPull`.
    pub reason: String,
    /// What the kubelet or scheduler says, e.g. `Container image "x" is not present with pull
    /// policy of Never`.
    pub message: Option<String>,
}

impl fmt::Display for PodProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pod {}", self.pod)?;
        if let Some(container) = &self.container {
            write!(f, " container {container}")?;
        }
        write!(f, ": {}", self.reason)?;
        match &self.message {
            Some(m) if !m.is_empty() => write!(f, " ({m})"),
            _ => Ok(()),
        }
    }
}

/// Where a Deployment's rollout stands: the replica counts of `kubectl rollout status`, the
/// `Progressing` condition, and why new pods are not ready.
///
/// Displays as kubectl's message, e.g. `Waiting for deployment "web" rollout to finish: 1 of 3
/// updated replicas are available...` or `deployment "web" successfully rolled out`, followed
/// by the new pods' problems while there are any. The alternate form (`{:#}`) adds every count:
/// `... (desired 3, updated 1, ready 3, available 3, old 3)`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RolloutStatus {
    /// The Deployment's name.
    pub deployment: String,
    /// The Deployment's current revision (annotation `deployment.kubernetes.io/revision`).
    pub revision: Option<u64>,
    /// `metadata.generation`: bumped by every change to the spec.
    pub generation: i64,
    /// `status.observedGeneration`: the generation the controller has acted on.
    pub observed_generation: i64,
    /// `spec.replicas`: the desired number of pods.
    pub desired: i32,
    /// `status.replicas`: the pods of all its ReplicaSets, old and new.
    pub total: i32,
    /// `status.updatedReplicas`: the pods with the current template.
    pub updated: i32,
    /// `status.readyReplicas`: the ready pods, old and new.
    pub ready: i32,
    /// `status.availableReplicas`: the pods ready for at least `minReadySeconds`.
    pub available: i32,
    /// `spec.paused`.
    pub paused: bool,
    /// The reason of the `Progressing` condition, e.g. `NewReplicaSetAvailable`,
    /// `ReplicaSetUpdated` or `ProgressDeadlineExceeded`.
    pub progressing_reason: Option<String>,
    /// The message of the `Progressing` condition.
    pub progressing_message: Option<String>,
    /// The name of the ReplicaSet of the current revision, once the controller made it.
    pub new_replica_set: Option<String>,
    /// Why new pods are not ready (empty when they are, or when pods were not looked at).
    pub pod_problems: Vec<PodProblem>,
}

impl RolloutStatus {
    /// The status as the Deployment object tells it (without pod problems).
    ///
    /// ```
    /// use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, DeploymentStatus};
    /// use kubekit::rollout::RolloutStatus;
    ///
    /// let mut d = Deployment::default();
    /// d.metadata.name = Some("web".into());
    /// d.metadata.generation = Some(2);
    /// d.spec = Some(DeploymentSpec { replicas: Some(3), ..Default::default() });
    /// d.status = Some(DeploymentStatus {
    ///     observed_generation: Some(2),
    ///     replicas: Some(4),
    ///     updated_replicas: Some(3),
    ///     ready_replicas: Some(4),
    ///     available_replicas: Some(4),
    ///     ..Default::default()
    /// });
    /// let status = RolloutStatus::of(&d);
    /// assert_eq!(status.old(), 1);
    /// assert!(!status.is_complete());
    /// assert_eq!(
    ///     status.to_string(),
    ///     "Waiting for deployment \"web\" rollout to finish: 1 old replicas are pending termination..."
    /// );
    /// ```
    pub fn of(deployment: &Deployment) -> Self {
        let spec = deployment.spec.as_ref();
        let status = deployment.status.as_ref();
        let progressing = status
            .and_then(|s| s.conditions.as_ref())
            .and_then(|cs| cs.iter().find(|c| c.type_ == "Progressing"));
        RolloutStatus {
            deployment: deployment.metadata.name.clone().unwrap_or_default(),
            revision: revision_of(&deployment.metadata),
            generation: deployment.metadata.generation.unwrap_or(0),
            observed_generation: status.and_then(|s| s.observed_generation).unwrap_or(0),
            desired: spec.and_then(|s| s.replicas).unwrap_or(1),
            total: status.and_then(|s| s.replicas).unwrap_or(0),
            updated: status.and_then(|s| s.updated_replicas).unwrap_or(0),
            ready: status.and_then(|s| s.ready_replicas).unwrap_or(0),
            available: status.and_then(|s| s.available_replicas).unwrap_or(0),
            paused: spec.and_then(|s| s.paused).unwrap_or(false),
            progressing_reason: progressing.and_then(|c| c.reason.clone()),
            progressing_message: progressing.and_then(|c| c.message.clone()),
            new_replica_set: None,
            pod_problems: Vec::new(),
        }
    }

    /// Old pods still running: `total - updated` (at least 0).
    pub fn old(&self) -> i32 {
        (self.total - self.updated).max(0)
    }

    /// Whether the controller has seen the latest change to the spec
    /// (`observedGeneration >= generation`). Until then the counts describe the previous spec.
    pub fn is_observed(&self) -> bool {
        self.observed_generation >= self.generation
    }

    /// Whether the rollout is complete, by kubectl's rule: the latest spec is observed, every
    /// desired pod is updated, no old pods are left and every updated pod is available.
    pub fn is_complete(&self) -> bool {
        self.is_observed()
            && self.updated == self.desired
            && self.total == self.updated
            && self.available == self.updated
    }

    /// Whether the controller gave up on the rollout: condition `Progressing` with reason
    /// `ProgressDeadlineExceeded` for the latest spec.
    pub fn deadline_exceeded(&self) -> bool {
        self.is_observed() && self.progressing_reason.as_deref() == Some(PROGRESS_DEADLINE_EXCEEDED)
    }
}

impl fmt::Display for RolloutStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = &self.deployment;
        if !self.is_observed() {
            return f.write_str("Waiting for deployment spec update to be observed...");
        }
        if self.deadline_exceeded() {
            return write!(f, "deployment \"{name}\" exceeded its progress deadline");
        }
        let waiting = format!("Waiting for deployment \"{name}\" rollout to finish: ");
        if self.updated < self.desired {
            write!(
                f,
                "{waiting}{} out of {} new replicas have been updated...",
                self.updated, self.desired
            )?;
        } else if self.total > self.updated {
            write!(
                f,
                "{waiting}{} old replicas are pending termination...",
                self.old()
            )?;
        } else if self.updated > self.desired {
            write!(
                f,
                "{waiting}{} extra replicas are pending termination...",
                self.updated - self.desired
            )?;
        } else if self.available < self.updated {
            write!(
                f,
                "{waiting}{} of {} updated replicas are available...",
                self.available, self.updated
            )?;
        } else {
            return write!(f, "deployment \"{name}\" successfully rolled out");
        }
        if self.paused {
            f.write_str(" (paused)")?;
        }
        if f.alternate() {
            write!(
                f,
                " (desired {}, updated {}, ready {}, available {}, old {})",
                self.desired,
                self.updated,
                self.ready,
                self.available,
                self.old()
            )?;
        }
        for (i, p) in self.pod_problems.iter().enumerate() {
            f.write_str(if i == 0 { " [" } else { "; " })?;
            write!(f, "{p}")?;
            if i + 1 == self.pod_problems.len() {
                f.write_str("]")?;
            }
        }
        Ok(())
    }
}

/// The ReplicaSet of the Deployment's current revision among `replica_sets` (those it owns).
pub(crate) fn new_replica_set<'a>(
    deployment: &Deployment,
    replica_sets: impl IntoIterator<Item = &'a ReplicaSet>,
) -> Option<&'a ReplicaSet> {
    let uid = deployment.metadata.uid.as_deref()?;
    let revision = deployment
        .metadata
        .annotations
        .as_ref()?
        .get(REVISION_ANNOTATION)?;
    replica_sets.into_iter().find(|rs| {
        controller_uid(&rs.metadata) == Some(uid)
            && rs
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(REVISION_ANNOTATION))
                == Some(revision)
    })
}

/// Why the pods of ReplicaSet `rs` among `pods` are not ready.
pub(crate) fn pod_problems<'a>(
    rs: &ReplicaSet,
    pods: impl IntoIterator<Item = &'a Pod>,
) -> Vec<PodProblem> {
    let Some(uid) = rs.metadata.uid.as_deref() else {
        return Vec::new();
    };
    let mut problems = Vec::new();
    for pod in pods {
        if controller_uid(&pod.metadata) != Some(uid) || pod.metadata.deletion_timestamp.is_some() {
            continue;
        }
        let name = pod.metadata.name.clone().unwrap_or_default();
        let Some(status) = &pod.status else { continue };
        let conditions = status.conditions.as_deref().unwrap_or_default();
        if conditions
            .iter()
            .any(|c| c.type_ == "Ready" && c.status == "True")
        {
            continue;
        }
        if let Some(c) = conditions
            .iter()
            .find(|c| c.type_ == "PodScheduled" && c.status == "False")
        {
            problems.push(PodProblem {
                pod: name.clone(),
                container: None,
                reason: c.reason.clone().unwrap_or_else(|| "NotScheduled".into()),
                message: c.message.clone(),
            });
        }
        let containers = status
            .init_container_statuses
            .iter()
            .flatten()
            .chain(status.container_statuses.iter().flatten());
        for cs in containers {
            let Some(waiting) = cs.state.as_ref().and_then(|s| s.waiting.as_ref()) else {
                continue;
            };
            let Some(reason) = waiting.reason.clone() else {
                continue;
            };
            if STARTING.contains(&reason.as_str()) {
                continue;
            }
            problems.push(PodProblem {
                pod: name.clone(),
                container: Some(cs.name.clone()),
                reason,
                message: waiting.message.clone(),
            });
        }
    }
    problems.sort_by(|a, b| (&a.pod, &a.container).cmp(&(&b.pod, &b.container)));
    problems
}

/// The full status: the Deployment's counts plus the new ReplicaSet's pod problems.
pub(crate) fn full_status<'a>(
    deployment: &Deployment,
    replica_sets: impl IntoIterator<Item = &'a ReplicaSet>,
    pods: impl IntoIterator<Item = &'a Pod>,
) -> RolloutStatus {
    let mut status = RolloutStatus::of(deployment);
    if let Some(rs) = new_replica_set(deployment, replica_sets) {
        status.new_replica_set = rs.metadata.name.clone();
        status.pod_problems = pod_problems(rs, pods);
    }
    status
}

/// A watcher's view of a set of objects, replaced atomically on a re-list.
struct Cache<K> {
    objects: BTreeMap<String, K>,
    relisting: Option<BTreeMap<String, K>>,
}

impl<K: Resource> Cache<K> {
    fn new() -> Self {
        Self {
            objects: BTreeMap::new(),
            relisting: None,
        }
    }

    fn apply(&mut self, event: watcher::Event<K>) {
        let key = |o: &K| o.meta().name.clone().unwrap_or_default();
        match event {
            watcher::Event::Apply(o) => {
                self.objects.insert(key(&o), o);
            }
            watcher::Event::Delete(o) => {
                self.objects.remove(&key(&o));
            }
            watcher::Event::Init => self.relisting = Some(BTreeMap::new()),
            watcher::Event::InitApply(o) => {
                self.relisting
                    .get_or_insert_with(BTreeMap::new)
                    .insert(key(&o), o);
            }
            watcher::Event::InitDone => {
                if let Some(objects) = self.relisting.take() {
                    self.objects = objects;
                }
            }
        }
    }
}

enum Event {
    Deployment(watcher::Result<watcher::Event<Deployment>>),
    ReplicaSet(watcher::Result<watcher::Event<ReplicaSet>>),
    Pod(watcher::Result<watcher::Event<Pod>>),
}

/// Consecutive watch errors tolerated (the watchers back off and re-list in between).
const MAX_WATCH_ERRORS: u32 = 8;

/// The state of a followed rollout.
pub(crate) struct Follow {
    rollout: Rollout,
    events: Option<BoxStream<'static, Event>>,
    deployment: Option<Deployment>,
    replica_sets: Cache<ReplicaSet>,
    pods: Cache<Pod>,
    last: Option<RolloutStatus>,
    errors: u32,
    finished: bool,
}

impl Follow {
    pub(crate) fn new(rollout: Rollout) -> Self {
        Self {
            rollout,
            events: None,
            deployment: None,
            replica_sets: Cache::new(),
            pods: Cache::new(),
            last: None,
            errors: 0,
            finished: false,
        }
    }

    pub(crate) fn into_stream(self) -> BoxStream<'static, Result<RolloutStatus>> {
        futures::stream::unfold(self, |mut follow| async move {
            let item = follow.next().await?;
            Some((item, follow))
        })
        .boxed()
    }

    async fn start(&mut self) -> Result<RolloutStatus> {
        let deployment = self.rollout.get().await?;
        let selector = Rollout::selector_of(&deployment);
        let client = self.rollout.client.kube().clone();
        let ns = self.rollout.client.namespace().to_string();
        let by_name =
            watcher::Config::default().fields(&format!("metadata.name={}", self.rollout.name));
        let by_selector = watcher::Config::default().labels_from(&selector);
        let deployments = watcher(
            kube::Api::<Deployment>::namespaced(client.clone(), &ns),
            by_name,
        )
        .default_backoff()
        .map(Event::Deployment);
        let replica_sets = watcher(
            kube::Api::<ReplicaSet>::namespaced(client.clone(), &ns),
            by_selector.clone(),
        )
        .default_backoff()
        .map(Event::ReplicaSet);
        let pods = watcher(kube::Api::<Pod>::namespaced(client, &ns), by_selector)
            .default_backoff()
            .map(Event::Pod);
        self.events = Some(
            futures::stream::select_all([deployments.boxed(), replica_sets.boxed(), pods.boxed()])
                .boxed(),
        );
        let status = RolloutStatus::of(&deployment);
        self.deployment = Some(deployment);
        Ok(status)
    }

    async fn next(&mut self) -> Option<Result<RolloutStatus>> {
        if self.finished {
            return None;
        }
        if self.events.is_none() {
            return match self.start().await {
                Ok(status) => self.judge(status),
                Err(e) => {
                    self.finished = true;
                    Some(Err(e))
                }
            };
        }
        loop {
            let event = self.events.as_mut()?.next().await;
            let Some(event) = event else {
                self.finished = true;
                return None;
            };
            if let Err(source) = self.apply(event) {
                self.errors += 1;
                tracing::warn!(error = %source, errors = self.errors, "rollout watch error; retrying");
                if self.errors >= MAX_WATCH_ERRORS {
                    self.finished = true;
                    return Some(Err(Error::Watch {
                        object: Box::new(self.rollout.qualified_name()),
                        source: Box::new(source),
                    }));
                }
                continue;
            }
            self.errors = 0;
            let Some(deployment) = &self.deployment else {
                self.finished = true;
                return Some(Err(RolloutError::Deleted {
                    deployment: Box::new(self.rollout.qualified_name()),
                }
                .into()));
            };
            let status = full_status(
                deployment,
                self.replica_sets.objects.values(),
                self.pods.objects.values(),
            );
            if let Some(item) = self.judge(status) {
                return Some(item);
            }
        }
    }

    fn apply(&mut self, event: Event) -> std::result::Result<(), watcher::Error> {
        match event {
            Event::Deployment(e) => match e? {
                watcher::Event::Apply(d) | watcher::Event::InitApply(d) => {
                    self.deployment = Some(d);
                }
                watcher::Event::Delete(_) => self.deployment = None,
                watcher::Event::Init | watcher::Event::InitDone => {}
            },
            Event::ReplicaSet(e) => self.replica_sets.apply(e?),
            Event::Pod(e) => self.pods.apply(e?),
        }
        Ok(())
    }

    /// What to report for `status`: the status when it changed, an error when the rollout
    /// cannot finish, nothing when nothing changed.
    fn judge(&mut self, status: RolloutStatus) -> Option<Result<RolloutStatus>> {
        let deployment = self.rollout.qualified_name();
        if status.deadline_exceeded() {
            self.finished = true;
            let reason = match &status.progressing_message {
                Some(m) => format!("{PROGRESS_DEADLINE_EXCEEDED}: {m}"),
                None => PROGRESS_DEADLINE_EXCEEDED.to_string(),
            };
            return Some(Err(RolloutError::Failed {
                deployment: Box::new(deployment.clone()),
                reason,
                pods: status.pod_problems,
            }
            .into()));
        }
        if status.is_observed() && !status.is_complete() {
            let mut fatal: Vec<&str> = status
                .pod_problems
                .iter()
                .filter(|p| self.rollout.fail_fast.contains(&p.reason))
                .map(|p| p.reason.as_str())
                .collect();
            if !fatal.is_empty() {
                fatal.sort_unstable();
                fatal.dedup();
                self.finished = true;
                return Some(Err(RolloutError::Failed {
                    deployment: Box::new(deployment.clone()),
                    reason: format!("new pods cannot start ({})", fatal.join(", ")),
                    pods: status.pod_problems,
                }
                .into()));
            }
            if status.paused {
                self.finished = true;
                return Some(Err(RolloutError::Paused {
                    deployment: Box::new(deployment.clone()),
                    action: "finish the rollout".into(),
                }
                .into()));
            }
        }
        if status.is_complete() {
            self.finished = true;
            return Some(Ok(status));
        }
        if self.last.as_ref() == Some(&status) {
            return None;
        }
        self.last = Some(status.clone());
        Some(Ok(status))
    }
}

/// Runs `follow` until the rollout completes, at most `timeout`, handing each status to
/// `on_progress`.
#[tracing::instrument(
    name = "rollout_wait",
    level = "debug",
    skip_all,
    fields(kind = "Deployment", namespace = %rollout.client.namespace(), name = %rollout.name, ?timeout)
)]
pub(crate) async fn wait(
    rollout: &Rollout,
    timeout: Duration,
    mut on_progress: impl FnMut(&RolloutStatus) + Send,
) -> Result<RolloutStatus> {
    let mut stream = Follow::new(rollout.clone()).into_stream();
    let mut last: Option<RolloutStatus> = None;
    let run = async {
        while let Some(item) = stream.next().await {
            let status = item?;
            tracing::debug!(%status, "rollout status");
            on_progress(&status);
            if status.is_complete() {
                return Ok(status);
            }
            last = Some(status);
        }
        Err(RolloutError::Deleted {
            deployment: Box::new(rollout.qualified_name()),
        }
        .into())
    };
    let outcome = tokio::time::timeout(timeout, run).await;
    match outcome {
        Ok(result) => result,
        Err(_elapsed) => {
            let status = match last {
                Some(status) => status,
                None => rollout.status().await.unwrap_or_default(),
            };
            Err(RolloutError::Timeout {
                deployment: Box::new(rollout.qualified_name()),
                after: timeout,
                status: Box::new(status),
            }
            .into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::{DeploymentCondition, DeploymentSpec, DeploymentStatus};

    fn deployment(generation: i64, status: DeploymentStatus) -> Deployment {
        let mut d = Deployment::default();
        d.metadata.name = Some("web".into());
        d.metadata.generation = Some(generation);
        d.spec = Some(DeploymentSpec {
            replicas: Some(3),
            ..Default::default()
        });
        d.status = Some(status);
        d
    }

    #[test]
    fn kubectl_messages() {
        let s = |observed, total, updated, available| {
            RolloutStatus::of(&deployment(
                2,
                DeploymentStatus {
                    observed_generation: Some(observed),
                    replicas: Some(total),
                    updated_replicas: Some(updated),
                    available_replicas: Some(available),
                    ..Default::default()
                },
            ))
            .to_string()
        };
        assert_eq!(
            s(1, 3, 3, 3),
            "Waiting for deployment spec update to be observed..."
        );
        assert_eq!(
            s(2, 4, 1, 3),
            "Waiting for deployment \"web\" rollout to finish: 1 out of 3 new replicas have been updated..."
        );
        assert_eq!(
            s(2, 4, 3, 3),
            "Waiting for deployment \"web\" rollout to finish: 1 old replicas are pending termination..."
        );
        assert_eq!(
            s(2, 3, 3, 1),
            "Waiting for deployment \"web\" rollout to finish: 1 of 3 updated replicas are available..."
        );
        assert_eq!(s(2, 3, 3, 3), "deployment \"web\" successfully rolled out");
        let mid = RolloutStatus::of(&deployment(
            2,
            DeploymentStatus {
                observed_generation: Some(2),
                replicas: Some(4),
                updated_replicas: Some(1),
                ready_replicas: Some(4),
                available_replicas: Some(3),
                ..Default::default()
            },
        ));
        assert_eq!(
            format!("{mid:#}"),
            "Waiting for deployment \"web\" rollout to finish: 1 out of 3 new replicas have been \
             updated... (desired 3, updated 1, ready 4, available 3, old 3)"
        );
    }

    #[test]
    fn deadline_is_only_trusted_for_the_observed_generation() {
        let status = |observed| DeploymentStatus {
            observed_generation: Some(observed),
            conditions: Some(vec![DeploymentCondition {
                type_: "Progressing".into(),
                status: "False".into(),
                reason: Some(PROGRESS_DEADLINE_EXCEEDED.into()),
                ..Default::default()
            }]),
            ..Default::default()
        };
        assert!(RolloutStatus::of(&deployment(2, status(2))).deadline_exceeded());
        assert!(!RolloutStatus::of(&deployment(2, status(1))).deadline_exceeded());
    }
}
