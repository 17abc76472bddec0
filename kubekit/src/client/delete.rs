//! delete and delete_all.

use std::{collections::BTreeSet, fmt, time::Duration};

use k8s_openapi::api::{
    apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet},
    batch::v1::{CronJob, Job},
    core::v1::{Pod, ReplicationController, Service},
};
use kube::{
    Resource, ResourceExt,
    api::{DeleteParams, ListParams},
};

use super::{ApiObject, Client, Error, ObjectRef, Result};

/// What happens to the objects a deleted object owns (a Deployment's ReplicaSets, a
/// ReplicaSet's Pods).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Propagation {
    /// The object goes at once; the garbage collector deletes its dependents afterwards
    /// (kubectl's default).
    #[default]
    Background,
    /// The object stays (with a deletionTimestamp) until the garbage collector has deleted
    /// its dependents.
    Foreground,
    /// The dependents are left in place, without an owner.
    Orphan,
}

/// Options of [`Client::delete`] and [`Client::delete_all_with`].
///
/// ```
/// use std::time::Duration;
/// use kubekit::client::{DeleteOptions, Propagation};
///
/// let options = DeleteOptions {
///     propagation: Propagation::Foreground,
///     wait: Some(Duration::from_secs(30)),
///     ..Default::default()
/// };
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeleteOptions {
    /// What happens to dependents.
    pub propagation: Propagation,
    /// Wait until the object is gone (finalizers done, graceful termination over), at most
    /// this long; `None` returns once the deletion has started.
    pub wait: Option<Duration>,
    /// Seconds a Pod gets to terminate (0: at once); `None` uses the object's own.
    pub grace_period: Option<u32>,
}

impl DeleteOptions {
    /// Options that wait up to `timeout` for the object to be gone.
    #[must_use]
    pub fn wait(timeout: Duration) -> Self {
        Self {
            wait: Some(timeout),
            ..Self::default()
        }
    }

    /// These options with `propagation`.
    #[must_use]
    pub fn propagation(mut self, propagation: Propagation) -> Self {
        self.propagation = propagation;
        self
    }

    /// These options with a grace period of `seconds`.
    #[must_use]
    pub fn grace_period(mut self, seconds: u32) -> Self {
        self.grace_period = Some(seconds);
        self
    }

    pub(crate) fn params(&self) -> DeleteParams {
        let mut params = match self.propagation {
            Propagation::Background => DeleteParams::background(),
            Propagation::Foreground => DeleteParams::foreground(),
            Propagation::Orphan => DeleteParams::orphan(),
        };
        if let Some(seconds) = self.grace_period {
            params = params.grace_period(seconds);
        }
        params
    }
}

/// What [`Client::delete_all`] deleted.
///
/// Displayed like kubectl, one line per object: `deployment.apps "web" deleted`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeleteReport {
    /// The objects whose deletion was started (or completed, when waiting), in the order
    /// they were deleted.
    pub deleted: Vec<ObjectRef>,
}

impl DeleteReport {
    /// Whether nothing was deleted.
    pub fn is_empty(&self) -> bool {
        self.deleted.is_empty()
    }
}

impl fmt::Display for DeleteReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.deleted.is_empty() {
            return f.write_str("No resources found\n");
        }
        for object in &self.deleted {
            let group = match object.kind.as_str() {
                "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet" => ".apps",
                "Job" | "CronJob" => ".batch",
                _ => "",
            };
            writeln!(
                f,
                "{}{group} \"{}\" deleted",
                object.kind.to_lowercase(),
                object.name
            )?;
        }
        Ok(())
    }
}

impl Client {
    /// Deletes object `name` of kind `K`, like `kubectl delete pod web`; with
    /// [`DeleteOptions::wait`] it returns only once the object is gone.
    ///
    /// ```no_run
    /// # async fn demo(client: kubekit::client::Client) -> kubekit::Result<()> {
    /// use std::time::Duration;
    /// use k8s_openapi::api::apps::v1::Deployment;
    /// use kubekit::client::{DeleteOptions, Propagation};
    ///
    /// client
    ///     .delete::<Deployment>(
    ///         "web",
    ///         DeleteOptions::wait(Duration::from_secs(60)).propagation(Propagation::Foreground),
    ///     )
    ///     .await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when there is no such object; [`Error::Timeout`] (with the
    /// object's state) when it is still there after `wait`; [`Error::Rejected`] /
    /// [`Error::Kube`] for other failures.
    #[tracing::instrument(
        level = "debug",
        skip_all,
        fields(kind = %K::kind(&Default::default()), namespace = <K::Scope as super::KnownScope>::NAMESPACED.then_some(self.namespace()), name = %name)
    )]
    pub async fn delete<K: ApiObject>(&self, name: &str, options: DeleteOptions) -> Result<()> {
        let object = self.object_ref::<K>(None, name);
        let deleted = self
            .api::<K>(None)
            .delete(name, &options.params())
            .await
            .map_err(|e| Error::from_kube(e, object.clone()))?;
        tracing::debug!("deleted");
        if let (Some(timeout), Some(pending)) = (options.wait, deleted.left()) {
            self.wait_gone::<K>(name, pending.uid(), timeout).await?;
        }
        Ok(())
    }

    /// Deletes everything `kubectl delete all --all` deletes in the client's namespace:
    /// Deployments, StatefulSets, DaemonSets, CronJobs, ReplicaSets, Jobs,
    /// ReplicationControllers, Pods and Services (but not the `kubernetes` Service of the
    /// `default` namespace), with background propagation and without waiting.
    ///
    /// ```no_run
    /// # async fn demo(client: kubekit::client::Client) -> kubekit::Result<()> {
    /// let report = client.delete_all().await?;
    /// print!("{report}"); // deployment.apps "web" deleted ...
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Rejected`] / [`Error::Kube`] when listing or deleting fails; what was deleted
    /// before the failure stays deleted.
    pub async fn delete_all(&self) -> Result<DeleteReport> {
        self.delete_all_with(DeleteOptions::default()).await
    }

    /// [`delete_all`](Self::delete_all) with [`DeleteOptions`], e.g. to wait until every
    /// deleted object is gone.
    ///
    /// ```no_run
    /// # async fn demo(client: kubekit::client::Client) -> kubekit::Result<()> {
    /// use std::time::Duration;
    /// use kubekit::client::DeleteOptions;
    ///
    /// let report = client.delete_all_with(DeleteOptions::wait(Duration::from_secs(60))).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`delete_all`](Self::delete_all); [`Error::Timeout`] listing what is left when the
    /// objects are not gone within `wait`.
    #[tracing::instrument(level = "debug", skip_all, fields(namespace = %self.namespace))]
    pub async fn delete_all_with(&self, options: DeleteOptions) -> Result<DeleteReport> {
        let mut report = DeleteReport::default();
        let mut uids = BTreeSet::new();
        // Owners first, so that their controllers do not replace what is deleted after them.
        self.delete_kind::<Deployment>(&options, &mut report, &mut uids)
            .await?;
        self.delete_kind::<StatefulSet>(&options, &mut report, &mut uids)
            .await?;
        self.delete_kind::<DaemonSet>(&options, &mut report, &mut uids)
            .await?;
        self.delete_kind::<CronJob>(&options, &mut report, &mut uids)
            .await?;
        self.delete_kind::<ReplicaSet>(&options, &mut report, &mut uids)
            .await?;
        self.delete_kind::<Job>(&options, &mut report, &mut uids)
            .await?;
        self.delete_kind::<ReplicationController>(&options, &mut report, &mut uids)
            .await?;
        self.delete_kind::<Pod>(&options, &mut report, &mut uids)
            .await?;
        self.delete_kind::<Service>(&options, &mut report, &mut uids)
            .await?;

        if let Some(timeout) = options.wait {
            let started = tokio::time::Instant::now();
            loop {
                let mut left = Vec::new();
                self.still_there::<Deployment>(&uids, &mut left).await?;
                self.still_there::<StatefulSet>(&uids, &mut left).await?;
                self.still_there::<DaemonSet>(&uids, &mut left).await?;
                self.still_there::<CronJob>(&uids, &mut left).await?;
                self.still_there::<ReplicaSet>(&uids, &mut left).await?;
                self.still_there::<Job>(&uids, &mut left).await?;
                self.still_there::<ReplicationController>(&uids, &mut left)
                    .await?;
                self.still_there::<Pod>(&uids, &mut left).await?;
                self.still_there::<Service>(&uids, &mut left).await?;
                if left.is_empty() {
                    break;
                }
                if started.elapsed() >= timeout {
                    return Err(Error::Timeout {
                        what: format!(
                            "the objects deleted in namespace {} to be gone",
                            self.namespace
                        ),
                        after: timeout,
                        state: format!("still there: {}", left.join(", ")),
                    });
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        Ok(report)
    }

    async fn delete_kind<K: ApiObject>(
        &self,
        options: &DeleteOptions,
        report: &mut DeleteReport,
        uids: &mut BTreeSet<String>,
    ) -> Result<()> {
        let api = self.api::<K>(None);
        let mut list = ListParams::default();
        if K::kind(&Default::default()) == "Service" && self.namespace == "default" {
            list = list.fields("metadata.name!=kubernetes");
        }
        let objects = api
            .list_metadata(&list)
            .await
            .map_err(|e| Error::from_kube(e, self.object_ref::<K>(None, "(all)")))?;
        let params = options.params();
        for object in objects.items {
            let name = object.name_any();
            match api.delete(&name, &params).await {
                Ok(_) => {}
                // Gone meanwhile (e.g. collected with its owner): nothing to do.
                Err(kube::Error::Api(status)) if status.code == 404 => continue,
                Err(e) => return Err(Error::from_kube(e, self.object_ref::<K>(None, &name))),
            }
            tracing::debug!(kind = %K::kind(&Default::default()), %name, "deleted");
            if let Some(uid) = object.uid() {
                uids.insert(uid);
            }
            report.deleted.push(self.object_ref::<K>(None, &name));
        }
        Ok(())
    }

    async fn still_there<K: ApiObject>(
        &self,
        uids: &BTreeSet<String>,
        left: &mut Vec<String>,
    ) -> Result<()> {
        let objects = self
            .api::<K>(None)
            .list_metadata(&ListParams::default())
            .await
            .map_err(|e| Error::from_kube(e, self.object_ref::<K>(None, "(all)")))?;
        for object in objects.items {
            if object.uid().is_some_and(|uid| uids.contains(&uid)) {
                left.push(format!(
                    "{}/{}{}",
                    K::kind(&Default::default()).to_lowercase(),
                    object.name_any(),
                    if object.meta().deletion_timestamp.is_some() {
                        " (Terminating)"
                    } else {
                        ""
                    }
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use k8s_openapi::api::core::v1::{Namespace, Pod};
    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Metadata, Subscriber};

    use super::*;

    /// The spans opened: name and fields (`Debug`-formatted).
    type Spans = Arc<Mutex<Vec<(String, Vec<(String, String)>)>>>;

    /// A subscriber that keeps the spans it is told about.
    struct Recorder(Spans);

    struct Fields(Vec<(String, String)>);

    impl Visit for Fields {
        fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
            self.0
                .push((field.name().to_string(), format!("{value:?}")));
        }
    }

    impl Subscriber for Recorder {
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, span: &Attributes<'_>) -> Id {
            let mut fields = Fields(Vec::new());
            span.record(&mut fields);
            let mut spans = self.0.lock().expect("not poisoned");
            spans.push((span.metadata().name().to_string(), fields.0));
            Id::from_u64(spans.len() as u64)
        }
        fn record(&self, _: &Id, _: &Record<'_>) {}
        fn record_follows_from(&self, _: &Id, _: &Id) {}
        fn event(&self, _: &Event<'_>) {}
        fn enter(&self, _: &Id) {}
        fn exit(&self, _: &Id) {}
    }

    /// A client whose API server answers every request with 404.
    fn not_found_client() -> Client {
        let service = tower::service_fn(|_: http::Request<kube::client::Body>| async {
            let status = serde_json::json!({
                "kind": "Status", "apiVersion": "v1", "status": "Failure",
                "reason": "NotFound", "code": 404, "message": "not found",
            });
            let body = kube::client::Body::from(status.to_string().into_bytes());
            http::Response::builder().status(404).body(body)
        });
        Client::new(kube::Client::new(service, "shop"))
    }

    fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
        fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn delete_spans_name_the_object() {
        let spans = Spans::default();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        tracing::subscriber::with_default(Recorder(spans.clone()), || {
            runtime.block_on(async {
                let client = not_found_client();
                let pod = client.delete::<Pod>("web", DeleteOptions::default()).await;
                assert!(matches!(pod, Err(Error::NotFound { .. })), "{pod:?}");
                let ns = client
                    .delete::<Namespace>("team", DeleteOptions::default())
                    .await;
                assert!(matches!(ns, Err(Error::NotFound { .. })), "{ns:?}");
            });
        });
        let spans = spans.lock().expect("not poisoned");
        let deletes: Vec<_> = spans.iter().filter(|(n, _)| n == "delete").collect();
        assert_eq!(deletes.len(), 2, "{spans:?}");
        let pod = &deletes[0].1;
        assert_eq!(field(pod, "kind"), Some("Pod"));
        assert_eq!(field(pod, "namespace"), Some("\"shop\""));
        assert_eq!(field(pod, "name"), Some("web"));
        // Cluster-scoped: no namespace.
        let ns = &deletes[1].1;
        assert_eq!(field(ns, "kind"), Some("Namespace"));
        assert_eq!(field(ns, "namespace"), None);
        assert_eq!(field(ns, "name"), Some("team"));
    }
}
