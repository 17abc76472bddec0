//! Waits with timeouts whose errors tell the object's state.

use std::time::Duration;

use k8s_openapi::api::{apps::v1::Deployment, core::v1::Pod};
use kube::runtime::wait::{Condition, await_condition};
use serde_json::Value;

use super::{ApiObject, Client, Error, ObjectRef, Result};
use crate::kinds::{Kind, Readiness};

impl Client {
    /// Waits until object `name` of kind `K` exists and `condition` holds for it, at most
    /// `timeout`, watching the object (no polling). Returns the object that satisfied it.
    ///
    /// ```no_run
    /// # async fn demo(client: kubekit::client::Client) -> kubekit::Result<()> {
    /// use std::time::Duration;
    /// use k8s_openapi::api::core::v1::Pod;
    ///
    /// let pod: Pod = client
    ///     .wait_until("web", Duration::from_secs(30), |pod: &Pod| {
    ///         pod.spec.as_ref().is_some_and(|s| s.node_name.is_some())
    ///     })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] naming the object and telling its state (phase, conditions,
    /// container waiting reasons, replica counts) when `timeout` passes first;
    /// [`Error::Watch`] when the watch fails.
    pub async fn wait_until<K: ApiObject>(
        &self,
        name: &str,
        timeout: Duration,
        condition: impl Fn(&K) -> bool + Send,
    ) -> Result<K> {
        let what = format!("{} to meet the condition", self.object_ref::<K>(None, name));
        self.wait_for(name, timeout, what, move |obj: Option<&K>| {
            obj.is_some_and(&condition)
        })
        .await?
        .ok_or_else(|| Error::NotFound {
            object: Box::new(self.object_ref::<K>(None, name)),
        })
    }

    /// Waits until object `name` of a kind kubekit knows is ready by its kind's rule
    /// ([`Kind::readiness`]: a Pod Ready, a Deployment rolled
    /// out, a Job complete, a PVC bound, a ConfigMap existing, ...), at most `timeout`,
    /// watching it.
    ///
    /// ```no_run
    /// # async fn demo(client: kubekit::Client) -> kubekit::Result<()> {
    /// use std::time::Duration;
    /// use k8s_openapi::api::batch::v1::Job;
    ///
    /// let job: Job = client.wait_ready("migrate", Duration::from_secs(120)).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Unreachable`] when the object reaches a state it will not come back from (a
    /// failed Job, with the controller's reason); [`Error::Timeout`] with the object's state
    /// and why it is not ready; [`Error::Watch`] when the watch fails.
    pub async fn wait_ready<K: Kind + ApiObject>(
        &self,
        name: &str,
        timeout: Duration,
    ) -> Result<K> {
        let object = self.object_ref::<K>(None, name);
        let what = format!("{object} to be ready");
        let waited = self
            .wait_for(name, timeout, what.clone(), |o: Option<&K>| {
                o.is_some_and(|o| !matches!(o.readiness(), Readiness::NotReady(_)))
            })
            .await;
        let found = match waited {
            Err(Error::Timeout { what, after, state }) => {
                // Say why by the kind's rule, next to the object's raw state.
                let why = match self.get_opt::<K>(name).await {
                    Ok(Some(current)) => match current.readiness() {
                        Readiness::NotReady(why) | Readiness::Failed(why) => format!("{why}; "),
                        Readiness::Ready => String::new(),
                    },
                    _ => String::new(),
                };
                return Err(Error::Timeout {
                    what,
                    after,
                    state: format!("{why}{state}"),
                });
            }
            other => other?.ok_or(Error::NotFound {
                object: Box::new(object),
            })?,
        };
        match found.readiness() {
            Readiness::Failed(why) => Err(Error::Unreachable { what, state: why }),
            _ => Ok(found),
        }
    }

    /// Waits until Pod `name` is running (phase `Running`), at most `timeout`.
    ///
    /// ```no_run
    /// # async fn demo(client: kubekit::client::Client) -> kubekit::Result<()> {
    /// use std::time::Duration;
    ///
    /// let pod = client.wait_pod_running("web", Duration::from_secs(60)).await?;
    /// println!("running on {:?}", pod.spec.and_then(|s| s.node_name));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] with the Pod's phase, conditions and container reasons (e.g.
    /// `ErrImageNeverPull: Container image "x" is not present with pull policy of Never`);
    /// [`Error::Unreachable`] when the Pod ends (`Succeeded`/`Failed`) before running.
    pub async fn wait_pod_running(&self, name: &str, timeout: Duration) -> Result<Pod> {
        let object = self.object_ref::<Pod>(None, name);
        let what = format!("{object} to be running");
        let pod = self
            .wait_for(name, timeout, what.clone(), |pod: Option<&Pod>| {
                matches!(pod_phase(pod), Some("Running" | "Succeeded" | "Failed"))
            })
            .await?
            .ok_or(Error::NotFound {
                object: Box::new(object),
            })?;
        if pod_phase(Some(&pod)) == Some("Running") {
            Ok(pod)
        } else {
            Err(Error::Unreachable {
                what,
                state: describe(&pod),
            })
        }
    }

    /// Waits until Pod `name` is ready (condition `Ready` is `True`), at most `timeout`.
    ///
    /// ```no_run
    /// # async fn demo(client: kubekit::client::Client) -> kubekit::Result<()> {
    /// use std::time::Duration;
    ///
    /// client.wait_pod_ready("web", Duration::from_secs(60)).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] with the Pod's state; [`Error::Unreachable`] when the Pod ends
    /// before it is ready.
    pub async fn wait_pod_ready(&self, name: &str, timeout: Duration) -> Result<Pod> {
        let object = self.object_ref::<Pod>(None, name);
        let what = format!("{object} to be ready");
        let pod = self
            .wait_for(name, timeout, what.clone(), |pod: Option<&Pod>| {
                pod.is_some_and(|p| !matches!(p.readiness(), Readiness::NotReady(_)))
            })
            .await?
            .ok_or(Error::NotFound {
                object: Box::new(object),
            })?;
        if pod.readiness().is_ready() {
            Ok(pod)
        } else {
            Err(Error::Unreachable {
                what,
                state: describe(&pod),
            })
        }
    }

    /// Waits until Deployment `name` has rolled out and is available: the controller has seen
    /// its latest generation and all replicas are updated and available, at most `timeout`.
    ///
    /// ```no_run
    /// # async fn demo(client: kubekit::client::Client) -> kubekit::Result<()> {
    /// use std::time::Duration;
    ///
    /// client.wait_deployment_available("web", Duration::from_secs(120)).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] with the Deployment's replica counts and conditions, and the state of
    /// each of its Pods (phase, conditions, container waiting reasons).
    pub async fn wait_deployment_available(
        &self,
        name: &str,
        timeout: Duration,
    ) -> Result<Deployment> {
        let object = self.object_ref::<Deployment>(None, name);
        let what = format!("{object} to be available");
        let waited = self
            .wait_for(name, timeout, what, |d: Option<&Deployment>| {
                d.is_some_and(|d| d.readiness().is_ready())
            })
            .await;
        match waited {
            Ok(found) => found.ok_or(Error::NotFound {
                object: Box::new(object),
            }),
            Err(Error::Timeout { what, after, state }) => Err(Error::Timeout {
                what,
                after,
                state: format!("{state}{}", self.deployment_pods_state(name).await),
            }),
            Err(other) => Err(other),
        }
    }

    /// `; pods: <name>: <state> | ...` for the Pods Deployment `name` selects, so a timeout says why they are not available; empty when there are none
    /// or they cannot be read.
    async fn deployment_pods_state(&self, name: &str) -> String {
        let Ok(Some(deployment)) = self.get_opt::<Deployment>(name).await else {
            return String::new();
        };
        let selector = deployment
            .spec
            .as_ref()
            .and_then(|s| crate::selector::string(&s.selector))
            .unwrap_or_default();
        if selector.is_empty() {
            return String::new();
        }
        let params = kube::api::ListParams::default().labels(&selector);
        let Ok(pods) = self.api::<Pod>(None).list(&params).await else {
            return String::new();
        };
        if pods.items.is_empty() {
            return format!("; no pods match {selector}");
        }
        let states: Vec<String> = pods
            .items
            .iter()
            .map(|p| {
                let name = p.metadata.name.as_deref().unwrap_or("?");
                format!("{name}: {}", describe(p))
            })
            .collect();
        format!("; pods: {}", states.join(" | "))
    }

    /// Waits until object `name` of kind `K` does not exist, at most `timeout`.
    ///
    /// ```no_run
    /// # async fn demo(client: kubekit::client::Client) -> kubekit::Result<()> {
    /// use std::time::Duration;
    /// use k8s_openapi::api::core::v1::Pod;
    ///
    /// client.wait_deleted::<Pod>("web", Duration::from_secs(30)).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] with the object's state (e.g. `Terminating`, its finalizers).
    pub async fn wait_deleted<K: ApiObject>(&self, name: &str, timeout: Duration) -> Result<()> {
        self.wait_gone::<K>(name, None, timeout).await
    }

    /// Waits until object `name` is gone, or replaced by one with another uid than `uid`.
    pub(crate) async fn wait_gone<K: ApiObject>(
        &self,
        name: &str,
        uid: Option<String>,
        timeout: Duration,
    ) -> Result<()> {
        let what = format!("{} to be deleted", self.object_ref::<K>(None, name));
        self.wait_for(name, timeout, what, move |obj: Option<&K>| match obj {
            None => true,
            Some(obj) => uid.is_some() && obj.meta().uid != uid,
        })
        .await?;
        Ok(())
    }

    #[tracing::instrument(
        name = "wait",
        level = "debug",
        skip_all,
        fields(kind = %K::kind(&Default::default()), namespace = <K::Scope as super::KnownScope>::NAMESPACED.then_some(self.namespace()), name = %name, ?timeout)
    )]
    async fn wait_for<K: ApiObject>(
        &self,
        name: &str,
        timeout: Duration,
        what: String,
        condition: impl Condition<K> + Send,
    ) -> Result<Option<K>> {
        let object = self.object_ref::<K>(None, name);
        // Registered for failure reports, with the state of each object the watch sees.
        let registered = super::waits::begin(object.namespace.as_deref(), what.clone());
        let guard = &registered;
        let observed = move |obj: Option<&K>| {
            guard.observe(match obj {
                Some(obj) => describe(obj),
                None => "not found".to_string(),
            });
            condition.matches_object(obj)
        };
        let result = self
            .wait_result(&object, name, timeout, what, observed)
            .await;
        registered.end_with(&result);
        result
    }

    /// [`wait_for`](Self::wait_for) without the registration.
    async fn wait_result<K: ApiObject>(
        &self,
        object: &ObjectRef,
        name: &str,
        timeout: Duration,
        what: String,
        condition: impl Condition<K> + Send,
    ) -> Result<Option<K>> {
        let object = object.clone();
        let api = self.api::<K>(None);
        match tokio::time::timeout(timeout, await_condition(api, name, condition)).await {
            Ok(Ok(found)) => {
                tracing::debug!("condition met");
                Ok(found)
            }
            Ok(Err(source)) => Err(Error::Watch {
                object: Box::new(object),
                source: Box::new(source),
            }),
            Err(_elapsed) => {
                let state = match self.get_opt::<K>(name).await {
                    Ok(Some(current)) => describe(&current),
                    Ok(None) => "not found".to_string(),
                    Err(e) => format!("unknown ({e})"),
                };
                tracing::debug!(%state, "wait timed out");
                Err(Error::Timeout {
                    what,
                    after: timeout,
                    state,
                })
            }
        }
    }
}

fn pod_phase(pod: Option<&Pod>) -> Option<&str> {
    pod?.status.as_ref()?.phase.as_deref()
}

/// A one-line account of an object's state from its status: phase, reason, conditions,
/// container states and the other scalar status fields.
pub(crate) fn describe<K: serde::Serialize>(object: &K) -> String {
    match serde_json::to_value(object) {
        Ok(value) => describe_value(&value),
        Err(e) => format!("unknown ({e})"),
    }
}

fn describe_value(value: &Value) -> String {
    let mut parts: Vec<String> = Vec::new();
    let meta = &value["metadata"];
    if let Some(ts) = meta["deletionTimestamp"].as_str() {
        let finalizers = meta["finalizers"]
            .as_array()
            .map(|f| {
                f.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        parts.push(if finalizers.is_empty() {
            format!("Terminating since {ts}")
        } else {
            format!("Terminating since {ts}, finalizers: {finalizers}")
        });
    }
    let status = &value["status"];
    if let Some(phase) = status["phase"].as_str() {
        parts.push(format!("phase {phase}"));
    }
    for key in ["reason", "message"] {
        if let Some(text) = status[key].as_str() {
            parts.push(format!("{key}: {text}"));
        }
    }
    if let Some(conditions) = status["conditions"].as_array() {
        let described: Vec<String> = conditions
            .iter()
            .map(|c| {
                let mut s = format!(
                    "{}={}",
                    c["type"].as_str().unwrap_or("?"),
                    c["status"].as_str().unwrap_or("?")
                );
                match (c["reason"].as_str(), c["message"].as_str()) {
                    (Some(r), Some(m)) if !m.is_empty() => s.push_str(&format!(" ({r}: {m})")),
                    (Some(r), _) => s.push_str(&format!(" ({r})")),
                    (None, Some(m)) if !m.is_empty() => s.push_str(&format!(" ({m})")),
                    _ => {}
                }
                s
            })
            .collect();
        if !described.is_empty() {
            parts.push(format!("conditions: {}", described.join(", ")));
        }
    }
    for (key, label) in [
        ("initContainerStatuses", "init container"),
        ("containerStatuses", "container"),
    ] {
        for c in status[key].as_array().into_iter().flatten() {
            let name = c["name"].as_str().unwrap_or("?");
            let state = &c["state"];
            let text = if let Some(w) = state.get("waiting") {
                let reason = w["reason"].as_str().unwrap_or("Waiting");
                match w["message"].as_str() {
                    Some(m) if !m.is_empty() => format!("waiting, {reason}: {m}"),
                    _ => format!("waiting, {reason}"),
                }
            } else if let Some(t) = state.get("terminated") {
                format!(
                    "terminated, {} (exit code {})",
                    t["reason"].as_str().unwrap_or("Terminated"),
                    t["exitCode"]
                )
            } else if state.get("running").is_some() {
                let ready = c["ready"].as_bool().unwrap_or(false);
                format!("running{}", if ready { ", ready" } else { ", not ready" })
            } else {
                "unknown".to_string()
            };
            let restarts = c["restartCount"].as_u64().unwrap_or(0);
            if restarts > 0 {
                parts.push(format!("{label} {name} {text}, {restarts} restarts"));
            } else {
                parts.push(format!("{label} {name} {text}"));
            }
        }
    }
    if let Some(map) = status.as_object() {
        let scalars: Vec<String> = map
            .iter()
            .filter(|(k, v)| {
                !matches!(k.as_str(), "phase" | "reason" | "message")
                    && (v.is_number() || v.is_string() || v.is_boolean())
            })
            .map(|(k, v)| match v.as_str() {
                Some(s) => format!("{k}={s}"),
                None => format!("{k}={v}"),
            })
            .collect();
        if !scalars.is_empty() {
            let mut s = scalars.join(", ");
            if let Some(generation) = meta["generation"].as_i64() {
                s.push_str(&format!(" (generation {generation})"));
            }
            parts.push(s);
        }
    }
    if parts.is_empty() {
        "no status reported yet".to_string()
    } else {
        parts.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_of_a_pod_that_cannot_pull() {
        let pod = serde_json::json!({
            "metadata": {"name": "web"},
            "status": {
                "phase": "Pending",
                "conditions": [{"type": "PodScheduled", "status": "True"},
                               {"type": "Ready", "status": "False", "reason": "ContainersNotReady",
                                "message": "containers with unready status: [web]"}],
                "containerStatuses": [{"name": "web", "ready": false, "restartCount": 0,
                    "state": {"waiting": {"reason": "ErrImageNeverPull",
                        "message": "Container image \"x\" is not present with pull policy of Never"}}}]
            }
        });
        let state = describe_value(&pod);
        assert!(state.starts_with("phase Pending; conditions: PodScheduled=True, Ready=False (ContainersNotReady: containers with unready status: [web])"), "{state}");
        assert!(
            state.contains(
                "container web waiting, ErrImageNeverPull: Container image \"x\" is not present with pull policy of Never"
            ),
            "{state}"
        );
    }

    #[test]
    fn state_of_a_deployment() {
        let d = serde_json::json!({
            "metadata": {"name": "web", "generation": 2},
            "status": {"observedGeneration": 1, "replicas": 3, "updatedReplicas": 1}
        });
        assert_eq!(
            describe_value(&d),
            "observedGeneration=1, replicas=3, updatedReplicas=1 (generation 2)"
        );
        assert_eq!(
            describe_value(&serde_json::json!({"metadata": {}})),
            "no status reported yet"
        );
    }
}
