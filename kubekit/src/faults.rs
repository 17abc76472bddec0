//! Faults on demand, for tests of apps that must survive them: a container killed (the
//! kubelet restarts it), a pod deleted (its controller replaces it), a pod made unready and
//! ready again (its Service's endpoints follow). Each returns once the cluster has reacted.
//!
//! ```no_run
//! use std::time::Duration;
//! use kubekit::testing::{TestNamespace, faults};
//!
//! #[kubekit::test]
//! async fn survives_a_crash(client: kubekit::Client, ns: &TestNamespace) -> kubekit::Result<()> {
//!     // ... a Deployment `web` whose pods are ready ...
//!     let pod = faults::kill_container(&client, ns.cluster(), "web-abc12", "web", Duration::from_secs(60)).await?;
//!     assert!(pod.status.unwrap().container_statuses.unwrap()[0].restart_count >= 1);
//!     Ok(())
//! }
//! # fn main() {}
//! ```

use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;

use crate::{
    Client, Error, Result,
    builders::Probe,
    client::{DeleteOptions, ObjectRef},
    exec::ExecOptions,
};

/// The file [`readiness_probe`] checks: a container is ready while it exists.
pub const READY_FILE: &str = "/tmp/kubekit-ready";

/// A readiness probe that passes while [`READY_FILE`] exists in the container (checked every
/// second, one failure is enough), so that [`set_ready`] can toggle a pod's readiness.
/// The container's command must create the file at start (e.g. `touch /tmp/kubekit-ready &&
/// exec nginx ...`) and the image must have `sh`, `test`, `touch` and `rm`.
///
/// ```
/// let probe = kubekit::testing::faults::readiness_probe();
/// let container = kubekit::builders::container()
///     .name("web")
///     .image("nginx")
///     .readiness_probe(probe)
///     .build()?;
/// let exec = container.into_inner().readiness_probe.unwrap().exec.unwrap();
/// assert_eq!(exec.command.unwrap(), ["test", "-f", "/tmp/kubekit-ready"]);
/// # Ok::<(), kubekit::builders::ValidationError>(())
/// ```
pub fn readiness_probe() -> Probe {
    Probe::exec(["test", "-f", READY_FILE])
        .period_seconds(1)
        .failure_threshold(1)
}

fn container_status(pod: &Pod, container: &str) -> Option<(i32, Option<String>)> {
    pod.status
        .as_ref()?
        .container_statuses
        .as_ref()?
        .iter()
        .find(|c| c.name == container)
        .map(|c| (c.restart_count, c.container_id.clone()))
}

/// Kills `container` of `pod` on the node (`SIGKILL`, as a crash or an OOM kill ends it) and
/// returns the pod once the kubelet has restarted it (its `restartCount` went up and it
/// runs again).
///
/// # Errors
///
/// [`Error::BadObject`] when the container has not started (no container id);
/// [`Error::Cluster`] when the cluster's node cannot be reached ([`Cluster::kill_container`](
/// crate::testing::Cluster::kill_container)); [`Error::Timeout`] when no restart is seen
/// within `timeout`.
pub async fn kill_container(
    client: &Client,
    cluster: &crate::testing::Cluster,
    pod: &str,
    container: &str,
    timeout: Duration,
) -> Result<Pod> {
    let current: Pod = client.get(pod).await?;
    let object = ObjectRef::new("Pod", Some(client.namespace()), pod);
    let Some((restarts, Some(id))) = container_status(&current, container) else {
        return Err(Error::BadObject {
            object: Box::new(object),
            message: format!("container {container:?} has not started: nothing to kill"),
        });
    };
    cluster.kill_container(&id).await?;
    client
        .wait_until(pod, timeout, move |p: &Pod| {
            let running = p
                .status
                .as_ref()
                .and_then(|s| s.container_statuses.as_ref())
                .and_then(|c| c.iter().find(|c| c.name == container))
                .is_some_and(|c| c.state.as_ref().is_some_and(|s| s.running.is_some()));
            container_status(p, container).is_some_and(|(n, _)| n > restarts) && running
        })
        .await
}

/// Deletes `pod` (at once, as a node failure or `kubectl delete --force` would) and returns
/// the pod its controller made to replace it, once that one runs.
///
/// # Errors
///
/// [`Error::BadObject`] when the pod has no controller (nothing would replace it);
/// [`Error::Timeout`] when no replacement runs within `timeout`.
pub async fn delete_pod(client: &Client, pod: &str, timeout: Duration) -> Result<Pod> {
    let current: Pod = client.get(pod).await?;
    let object = ObjectRef::new("Pod", Some(client.namespace()), pod);
    let Some(owner) = current
        .metadata
        .owner_references
        .iter()
        .flatten()
        .find(|o| o.controller == Some(true))
        .cloned()
    else {
        return Err(Error::BadObject {
            object: Box::new(object),
            message: "has no controller: nothing would replace it".into(),
        });
    };
    let old_uid = current.metadata.uid.clone();
    client
        .delete::<Pod>(pod, DeleteOptions::wait(timeout).grace_period(0))
        .await?;
    let started = tokio::time::Instant::now();
    loop {
        let pods: Vec<Pod> = client.list(crate::client::Labels::any()).await?;
        let replacement = pods.into_iter().find(|p| {
            p.metadata.uid != old_uid
                && p.metadata
                    .owner_references
                    .iter()
                    .flatten()
                    .any(|o| o.uid == owner.uid)
                && p.status
                    .as_ref()
                    .is_some_and(|s| s.phase.as_deref() == Some("Running"))
        });
        if let Some(replacement) = replacement {
            return Ok(replacement);
        }
        if started.elapsed() >= timeout {
            return Err(Error::Timeout {
                what: format!("a replacement of {object} by {} {}", owner.kind, owner.name),
                after: timeout,
                state: "no new running pod of the same owner".into(),
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Makes `pod` unready (`ready: false`: removes [`READY_FILE`] from `container`) or ready
/// again, and returns it once its `Ready` condition says so — and with it the endpoints of
/// the Services that select it. The pod's readiness probe must be [`readiness_probe`].
///
/// # Errors
///
/// As [`Client::exec_ok`](crate::Client::exec_ok); [`Error::Timeout`] when the condition
/// does not follow within `timeout` (is the probe [`readiness_probe`]?).
pub async fn set_ready(
    client: &Client,
    pod: &str,
    container: &str,
    ready: bool,
    timeout: Duration,
) -> Result<Pod> {
    let script = if ready {
        format!("touch {READY_FILE}")
    } else {
        format!("rm -f {READY_FILE}")
    };
    client
        .exec_ok(
            pod,
            ["sh", "-c", &script],
            ExecOptions::new().container(container),
        )
        .await?;
    let want = if ready { "True" } else { "False" };
    client
        .wait_until(pod, timeout, move |p: &Pod| {
            p.status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == want))
        })
        .await
}
