//! Deployment rollouts: change the pod template, follow the rollout to its end, list the
//! revision history, undo, restart, pause, resume and scale — `kubectl rollout` and
//! `kubectl set image` / `kubectl scale` as a typed API.
//!
//! Everything starts from a [`Rollout`] handle, [`Client::rollout`](crate::Client::rollout):
//!
//! ```no_run
//! # async fn demo(client: kubekit::Client) -> kubekit::Result<()> {
//! use std::time::Duration;
//! use kubekit::rollout::Update;
//!
//! let web = client.rollout("web");
//!
//! // 1. Change the template: here the image of container "web", with a change cause that
//! //    `history` shows.
//! web.update(Update::new().image("web", "nginx:1.28").change_cause("nginx 1.28"))
//!     .await?;
//!
//! // 2. Follow it, like `kubectl rollout status`: every change of the counts is reported,
//! //    and the wait ends when the rollout is complete — or fails with the reason.
//! web.wait_with(Duration::from_secs(300), |status| println!("{status}"))
//!     .await?;
//! // Waiting for deployment "web" rollout to finish: 1 out of 3 new replicas have been updated...
//! // Waiting for deployment "web" rollout to finish: 1 old replicas are pending termination...
//! // deployment "web" successfully rolled out
//!
//! // 3. The history, like `kubectl rollout history`.
//! println!("{}", web.history().await?);
//!
//! // 4. Back to the previous revision (or any other with `undo_to`).
//! web.undo().await?;
//! web.wait(Duration::from_secs(300)).await?;
//! # Ok(()) }
//! ```
//!
//! # Following a rollout
//!
//! [`Rollout::watch`] is a stream of [`RolloutStatus`]es built on watches of the Deployment,
//! its ReplicaSets and their pods (no polling). It yields a status whenever the counts or the
//! new pods' problems change, ends after the status that is complete, and ends with an error
//! when the rollout cannot finish:
//!
//! - [`RolloutError::Failed`] when the controller reports `ProgressDeadlineExceeded` (after
//!   `spec.progressDeadlineSeconds`, 600 s unless set), or at once when a new pod waits for a
//!   reason listed by [`Rollout::fail_fast`] (by default those that never resolve by
//!   themselves: `ErrImageNeverPull`, `InvalidImageName`). The error lists the new pods'
//!   waiting reasons.
//! - [`RolloutError::Paused`] when the Deployment is paused before the rollout is complete.
//!
//! Completion is kubectl's rule ([`RolloutStatus::is_complete`]): the controller has seen the
//! latest spec (`observedGeneration >= generation`), every desired pod is updated, no old pod
//! is left and every updated pod is available.
//!
//! [`Rollout::wait`] and [`Rollout::wait_with`] run the stream with a timeout
//! ([`RolloutError::Timeout`] carries the last status seen).
//!
//! # Changing the template
//!
//! [`Rollout::update`] applies an [`Update`] (images of one or all containers, environment
//! variables, any edit of the [`PodTemplateSpec`], a change cause) with a read-modify-write
//! that retries on conflicts, so concurrent writers are never overwritten. An update that
//! changes nothing writes nothing and starts no rollout. The shortcuts
//! [`set_image`](Rollout::set_image), [`set_image_all`](Rollout::set_image_all) and
//! [`restart`](Rollout::restart) cover the common cases.
//!
//! The change cause (annotation `kubernetes.io/change-cause`) is copied by the controller to
//! the revision's ReplicaSet. An update that changes the template without a cause removes the
//! previous cause, so a new revision never carries an old revision's description.
//!
//! # History and undo
//!
//! [`Rollout::history`] reads the ReplicaSets the Deployment owns (by owner reference) and
//! their `deployment.kubernetes.io/revision` annotation, oldest first; a [`History`] displays
//! as a table. [`Rollout::undo`] and [`Rollout::undo_to`] copy a revision's pod template
//! (without the `pod-template-hash` label) and annotations back into the Deployment, as
//! `kubectl rollout undo [--to-revision N]` does; the controller then gives that ReplicaSet
//! the next revision number. How many old ReplicaSets are kept is `revisionHistoryLimit`
//! (default 10).
//!
//! # Pods
//!
//! [`Rollout::pods`] lists the Deployment's pods through its ReplicaSets, by owner
//! references: a pod that only happens to carry the same labels is not included.

mod error;
mod history;
mod status;

use std::{fmt, sync::Arc, time::Duration};

use futures::stream::BoxStream;
use k8s_openapi::{
    api::{
        apps::v1::{Deployment, ReplicaSet},
        core::v1::{Container, EnvVar, Pod, PodTemplateSpec},
    },
    apimachinery::pkg::apis::meta::v1::ObjectMeta,
    jiff::Timestamp,
};
use kube::{
    Api,
    api::{ListParams, Patch, PatchParams, PostParams},
    core::Selector,
};

use crate::Client;

pub use error::RolloutError;

use crate::{Error, ObjectRef, Result};
pub use history::{History, Revision, RolledBack};
pub use status::{DEFAULT_FAIL_FAST, PROGRESS_DEADLINE_EXCEEDED, PodProblem, RolloutStatus};

/// The annotation with a Deployment's (and its ReplicaSets') revision number.
pub const REVISION_ANNOTATION: &str = "deployment.kubernetes.io/revision";
/// The annotation that records why a revision was made; `kubectl rollout history` shows it.
pub const CHANGE_CAUSE_ANNOTATION: &str = "kubernetes.io/change-cause";
/// The pod template annotation `kubectl rollout restart` sets to the time of the restart.
pub const RESTARTED_AT_ANNOTATION: &str = "kubectl.kubernetes.io/restartedAt";
/// The label the Deployment controller adds to each ReplicaSet's pods and selector.
pub const POD_TEMPLATE_HASH_LABEL: &str = "pod-template-hash";

/// How often a read-modify-write is retried when another writer changed the Deployment in
/// between.
const CONFLICT_RETRIES: usize = 5;

impl Client {
    /// A handle on the rollouts of Deployment `name` in the client's namespace. Creating it
    /// makes no request.
    ///
    /// ```no_run
    /// # async fn demo(client: kubekit::Client) -> kubekit::Result<()> {
    /// use std::time::Duration;
    ///
    /// let web = client.rollout("web");
    /// web.set_image("web", "nginx:1.28").await?;
    /// web.wait(Duration::from_secs(120)).await?;
    /// # Ok(()) }
    /// ```
    pub fn rollout(&self, name: impl Into<String>) -> Rollout {
        Rollout {
            client: self.clone(),
            name: name.into(),
            fail_fast: DEFAULT_FAIL_FAST.iter().map(|s| s.to_string()).collect(),
        }
    }
}

/// The rollouts of one Deployment: update, follow, history, undo, restart, pause, resume,
/// scale and its pods. Made by [`Client::rollout`](crate::Client::rollout); cheap to clone.
#[derive(Debug, Clone)]
pub struct Rollout {
    client: Client,
    name: String,
    fail_fast: Vec<String>,
}

/// An edit of a pod template, as [`Update::template`] takes it.
type TemplateEdit = Arc<dyn Fn(&mut PodTemplateSpec) + Send + Sync>;

/// A change to a Deployment's pod template, applied by [`Rollout::update`]: container images,
/// environment variables, any other edit, and the change cause to record.
///
/// ```
/// use kubekit::rollout::Update;
///
/// let update = Update::new()
///     .image("web", "nginx:1.28")
///     .env("web", "MODE", "fast")
///     .template(|t| {
///         if let Some(spec) = t.spec.as_mut() {
///             spec.termination_grace_period_seconds = Some(5);
///         }
///     })
///     .change_cause("nginx 1.28, fast mode");
/// ```
#[derive(Clone, Default)]
pub struct Update {
    images: Vec<(Option<String>, String)>,
    env: Vec<(String, String, String)>,
    edits: Vec<TemplateEdit>,
    change_cause: Option<String>,
    restart: bool,
}

impl fmt::Debug for Update {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Update")
            .field("images", &self.images)
            .field("env", &self.env)
            .field("edits", &self.edits.len())
            .field("change_cause", &self.change_cause)
            .field("restart", &self.restart)
            .finish()
    }
}

impl Update {
    /// An update that changes nothing yet.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the image of container (or init container) `container`; the update fails with
    /// [`RolloutError::NoSuchContainer`] when there is none of that name.
    #[must_use]
    pub fn image(mut self, container: impl Into<String>, image: impl Into<String>) -> Self {
        self.images.push((Some(container.into()), image.into()));
        self
    }

    /// Sets the image of every container and init container.
    #[must_use]
    pub fn image_all(mut self, image: impl Into<String>) -> Self {
        self.images.push((None, image.into()));
        self
    }

    /// Sets environment variable `name` of container `container` to `value` (replacing the
    /// variable's previous value or source).
    #[must_use]
    pub fn env(
        mut self,
        container: impl Into<String>,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Self {
        self.env.push((container.into(), name.into(), value.into()));
        self
    }

    /// Any other change to the pod template (command, resources, probes, labels, ...). It
    /// may run more than once: after a write conflict the template is read again and the
    /// update applied anew.
    #[must_use]
    pub fn template(mut self, edit: impl Fn(&mut PodTemplateSpec) + Send + Sync + 'static) -> Self {
        self.edits.push(Arc::new(edit));
        self
    }

    /// Records why this change is made (annotation `kubernetes.io/change-cause`), shown by
    /// [`Rollout::history`].
    #[must_use]
    pub fn change_cause(mut self, cause: impl Into<String>) -> Self {
        self.change_cause = Some(cause.into());
        self
    }

    /// Restarts every pod, as `kubectl rollout restart` does: sets the template annotation
    /// `kubectl.kubernetes.io/restartedAt` to now.
    #[must_use]
    pub fn restart(mut self) -> Self {
        self.restart = true;
        self
    }

    /// Applies the changes to `template`; `deployment` names it in errors.
    fn apply_to(&self, deployment: &ObjectRef, template: &mut PodTemplateSpec) -> Result<()> {
        let spec = template.spec.get_or_insert_with(Default::default);
        let names: Vec<String> = spec
            .init_containers
            .iter()
            .flatten()
            .chain(spec.containers.iter())
            .map(|c| c.name.clone())
            .collect();
        let missing = |container: &str| RolloutError::NoSuchContainer {
            deployment: Box::new(deployment.clone()),
            container: container.to_string(),
            available: names.clone(),
        };
        for (container, image) in &self.images {
            let mut found = false;
            for c in containers_mut(spec) {
                if container.as_deref().is_none_or(|n| n == c.name) {
                    c.image = Some(image.clone());
                    found = true;
                }
            }
            if let Some(name) = container.as_deref().filter(|_| !found) {
                return Err(missing(name).into());
            }
        }
        for (container, name, value) in &self.env {
            let c = containers_mut(spec)
                .find(|c| c.name == *container)
                .ok_or_else(|| missing(container))?;
            let env = c.env.get_or_insert_with(Vec::new);
            let var = EnvVar {
                name: name.clone(),
                value: Some(value.clone()),
                ..Default::default()
            };
            match env.iter_mut().find(|e| e.name == *name) {
                Some(existing) => *existing = var,
                None => env.push(var),
            }
        }
        for edit in &self.edits {
            edit(template);
        }
        if self.restart {
            template
                .metadata
                .get_or_insert_with(Default::default)
                .annotations
                .get_or_insert_with(Default::default)
                .insert(
                    RESTARTED_AT_ANNOTATION.to_string(),
                    Timestamp::now().to_string(),
                );
        }
        Ok(())
    }
}

fn containers_mut(
    spec: &mut k8s_openapi::api::core::v1::PodSpec,
) -> impl Iterator<Item = &mut Container> {
    spec.init_containers
        .iter_mut()
        .flatten()
        .chain(spec.containers.iter_mut())
}

/// The revision number in an object's `deployment.kubernetes.io/revision` annotation.
pub(crate) fn revision_of(meta: &ObjectMeta) -> Option<u64> {
    meta.annotations
        .as_ref()?
        .get(REVISION_ANNOTATION)?
        .parse()
        .ok()
}

/// The uid of the object's controller (its owner reference with `controller: true`).
pub(crate) fn controller_uid(meta: &ObjectMeta) -> Option<&str> {
    meta.owner_references
        .as_ref()?
        .iter()
        .find(|o| o.controller == Some(true))
        .map(|o| o.uid.as_str())
}

impl Rollout {
    /// The Deployment's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The client the handle uses (its namespace is the Deployment's).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The same handle, failing a followed rollout at once when a new pod waits for one of
    /// `reasons` (instead of when the progress deadline passes). The default is
    /// [`DEFAULT_FAIL_FAST`]; pass an empty list to rely on the deadline only, or add e.g.
    /// `CrashLoopBackOff` or `ImagePullBackOff` to fail sooner.
    ///
    /// ```no_run
    /// # async fn demo(client: kubekit::Client) -> kubekit::Result<()> {
    /// use std::time::Duration;
    ///
    /// let web = client.rollout("web").fail_fast(["ErrImageNeverPull", "CrashLoopBackOff"]);
    /// web.wait(Duration::from_secs(120)).await?;
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn fail_fast<S: Into<String>>(mut self, reasons: impl IntoIterator<Item = S>) -> Self {
        self.fail_fast = reasons.into_iter().map(Into::into).collect();
        self
    }

    /// The Deployment, as errors name it.
    pub(crate) fn qualified_name(&self) -> ObjectRef {
        ObjectRef::new("Deployment", Some(self.client.namespace()), &self.name)
    }

    fn api<K>(&self) -> Api<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
        K::DynamicType: Default,
    {
        Api::namespaced(self.client.kube().clone(), self.client.namespace())
    }

    fn kube_error(&self, source: kube::Error) -> Error {
        Error::from_kube(source, self.qualified_name())
    }

    /// The field manager of the handle's writes: the client's, with `-rollout` (like
    /// kubectl's `kubectl-rollout`), so a later server-side apply of the manifest by the
    /// client's own manager sees who changed the image.
    fn field_manager(&self) -> String {
        format!("{}-rollout", self.client.field_manager())
    }

    /// The Deployment as the server holds it now.
    ///
    /// ```no_run
    /// # async fn demo(client: kubekit::Client) -> kubekit::Result<()> {
    /// let deployment = client.rollout("web").get().await?;
    /// println!("generation {:?}", deployment.metadata.generation);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when it does not exist; [`Error::Kube`] when the
    /// server cannot be asked.
    pub async fn get(&self) -> Result<Deployment> {
        self.api::<Deployment>()
            .get(&self.name)
            .await
            .map_err(|e| self.kube_error(e))
    }

    fn selector_of(deployment: &Deployment) -> Selector {
        let selector = deployment
            .spec
            .as_ref()
            .map(|s| s.selector.clone())
            .unwrap_or_default();
        // A selector the server accepted parses; should it not, every object of the namespace
        // is looked at and the owner references still decide.
        Selector::try_from(selector).unwrap_or_default()
    }

    async fn owned_replica_sets(&self, deployment: &Deployment) -> Result<Vec<ReplicaSet>> {
        let selector = Self::selector_of(deployment);
        let uid = deployment.metadata.uid.as_deref();
        let list = self
            .api::<ReplicaSet>()
            .list(&ListParams::default().labels_from(&selector))
            .await
            .map_err(|e| self.kube_error(e))?;
        let mut owned: Vec<ReplicaSet> = list
            .items
            .into_iter()
            .filter(|rs| uid.is_some() && controller_uid(&rs.metadata) == uid)
            .collect();
        owned.sort_by_key(|rs| (revision_of(&rs.metadata), rs.metadata.name.clone()));
        Ok(owned)
    }

    /// The ReplicaSets the Deployment owns (by owner reference), oldest revision first.
    ///
    /// ```no_run
    /// # async fn demo(client: kubekit::Client) -> kubekit::Result<()> {
    /// for rs in client.rollout("web").replica_sets().await? {
    ///     println!("{:?}", rs.metadata.name);
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when the Deployment does not exist;
    /// [`Error::Kube`] when the server cannot be asked.
    pub async fn replica_sets(&self) -> Result<Vec<ReplicaSet>> {
        let deployment = self.get().await?;
        self.owned_replica_sets(&deployment).await
    }

    async fn owned_pods(
        &self,
        deployment: &Deployment,
        replica_sets: &[ReplicaSet],
    ) -> Result<Vec<Pod>> {
        let selector = Self::selector_of(deployment);
        let uids: Vec<&str> = replica_sets
            .iter()
            .filter_map(|rs| rs.metadata.uid.as_deref())
            .collect();
        let list = self
            .api::<Pod>()
            .list(&ListParams::default().labels_from(&selector))
            .await
            .map_err(|e| self.kube_error(e))?;
        Ok(list
            .items
            .into_iter()
            .filter(|p| controller_uid(&p.metadata).is_some_and(|u| uids.contains(&u)))
            .collect())
    }

    /// The Deployment's pods, old and new: the pods whose controller is one of its
    /// ReplicaSets. Pods that merely carry matching labels are not included; pods being
    /// deleted (`metadata.deletionTimestamp` set) are, as `kubectl get pods` shows them.
    ///
    /// ```no_run
    /// # async fn demo(client: kubekit::Client) -> kubekit::Result<()> {
    /// let pods = client.rollout("web").pods().await?;
    /// println!("{}", kubekit::client::table::pods(&pods));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when the Deployment does not exist;
    /// [`Error::Kube`] when the server cannot be asked.
    pub async fn pods(&self) -> Result<Vec<Pod>> {
        let deployment = self.get().await?;
        let replica_sets = self.owned_replica_sets(&deployment).await?;
        self.owned_pods(&deployment, &replica_sets).await
    }

    /// The rollout's status now: the Deployment's counts and, when new pods are not ready,
    /// why (their containers' waiting reasons). One look; see [`watch`](Self::watch) to
    /// follow it.
    ///
    /// ```no_run
    /// # async fn demo(client: kubekit::Client) -> kubekit::Result<()> {
    /// let status = client.rollout("web").status().await?;
    /// println!("{status}"); // deployment "web" successfully rolled out
    /// println!("{} updated, {} available, {} old", status.updated, status.available, status.old());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when the Deployment does not exist;
    /// [`Error::Kube`] when the server cannot be asked.
    pub async fn status(&self) -> Result<RolloutStatus> {
        let deployment = self.get().await?;
        let replica_sets = self.owned_replica_sets(&deployment).await?;
        let pods = self.owned_pods(&deployment, &replica_sets).await?;
        Ok(status::full_status(&deployment, &replica_sets, &pods))
    }

    /// Follows the rollout, like `kubectl rollout status --watch`: a stream of statuses, one
    /// whenever the counts or the new pods' problems change, that ends after the complete
    /// status. It ends with [`RolloutError::Failed`] when the progress deadline passes or a
    /// new pod waits for a [`fail_fast`](Self::fail_fast) reason, and with
    /// [`RolloutError::Paused`] when the Deployment is paused before it is complete.
    ///
    /// Built on watches of the Deployment, its ReplicaSets and pods; nothing is requested
    /// until the stream is polled. Add a timeout with [`wait`](Self::wait) or
    /// `tokio::time::timeout`.
    ///
    /// ```no_run
    /// # async fn demo(client: kubekit::Client) -> kubekit::Result<()> {
    /// use futures::StreamExt;
    ///
    /// let mut statuses = client.rollout("web").watch();
    /// while let Some(status) = statuses.next().await {
    ///     let status = status?;
    ///     println!("{status}: {} ready, {} old pods left", status.ready, status.old());
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// The stream's items: [`RolloutError::Failed`], [`RolloutError::Paused`],
    /// [`Error::NotFound`], [`RolloutError::Deleted`], [`Error::Watch`].
    pub fn watch(&self) -> BoxStream<'static, Result<RolloutStatus>> {
        status::Follow::new(self.clone()).into_stream()
    }

    /// Waits until the rollout is complete, at most `timeout`; see [`watch`](Self::watch).
    /// Returns at once when it already is.
    ///
    /// ```no_run
    /// # async fn demo(client: kubekit::Client) -> kubekit::Result<()> {
    /// use std::time::Duration;
    /// use kubekit::rollout::RolloutError;
    ///
    /// match client.rollout("web").wait(Duration::from_secs(300)).await {
    ///     Ok(status) => println!("{status}"),
    ///     Err(kubekit::Error::Rollout(RolloutError::Failed { reason, pods, .. })) => {
    ///         eprintln!("rollout failed: {reason}");
    ///         for pod in pods {
    ///             eprintln!("  {pod}"); // pod web-7d9-x2x container web: ErrImageNeverPull (...)
    ///         }
    ///     }
    ///     Err(other) => return Err(other),
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`RolloutError::Timeout`] with the last status seen; [`RolloutError::Failed`] when the
    /// rollout cannot finish; [`RolloutError::Paused`]; [`Error::NotFound`] /
    /// [`RolloutError::Deleted`]; [`Error::Watch`].
    pub async fn wait(&self, timeout: Duration) -> Result<RolloutStatus> {
        status::wait(self, timeout, |_| {}).await
    }

    /// [`wait`](Self::wait), handing every status to `on_progress` (e.g. to print kubectl's
    /// `Waiting for deployment "web" rollout to finish: ...` lines).
    ///
    /// ```no_run
    /// # async fn demo(client: kubekit::Client) -> kubekit::Result<()> {
    /// use std::time::Duration;
    ///
    /// client
    ///     .rollout("web")
    ///     .wait_with(Duration::from_secs(300), |status| println!("{status}"))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`wait`](Self::wait).
    pub async fn wait_with(
        &self,
        timeout: Duration,
        on_progress: impl FnMut(&RolloutStatus) + Send,
    ) -> Result<RolloutStatus> {
        status::wait(self, timeout, on_progress).await
    }

    /// Reads the Deployment, lets `change` edit it and writes it back, retrying from a fresh
    /// read when another writer got in between. Writes nothing when `change` changed
    /// nothing.
    async fn modify<T>(
        &self,
        change: impl Fn(&mut Deployment) -> Result<T>,
    ) -> Result<(Deployment, T)> {
        let api = self.api::<Deployment>();
        let params = PostParams {
            field_manager: Some(self.field_manager()),
            ..Default::default()
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let current = self.get().await?;
            let mut changed = current.clone();
            let outcome = change(&mut changed)?;
            if changed == current {
                return Ok((current, outcome));
            }
            match api.replace(&self.name, &params, &changed).await {
                Ok(written) => return Ok((written, outcome)),
                Err(kube::Error::Api(status))
                    if status.code == 409 && attempt < CONFLICT_RETRIES =>
                {
                    continue;
                }
                Err(e) => return Err(self.kube_error(e)),
            }
        }
    }

    /// Changes the pod template as `update` says and records its change cause, starting a
    /// rollout when the template changed. Returns the Deployment as written (its
    /// `metadata.generation` is the one the rollout is for).
    ///
    /// ```no_run
    /// # async fn demo(client: kubekit::Client) -> kubekit::Result<()> {
    /// use std::time::Duration;
    /// use kubekit::rollout::Update;
    ///
    /// let web = client.rollout("web");
    /// web.update(
    ///     Update::new()
    ///         .image("web", "nginx:1.28")
    ///         .env("web", "LOG_LEVEL", "debug")
    ///         .change_cause("nginx 1.28 with debug logs"),
    /// )
    /// .await?;
    /// web.wait(Duration::from_secs(300)).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`RolloutError::NoSuchContainer`] when a named container does not exist (nothing is
    /// written); [`Error::NotFound`]; [`Error::Kube`] when the server refuses
    /// the change (e.g. an invalid template, with the server's message).
    pub async fn update(&self, update: Update) -> Result<Deployment> {
        let deployment = self.qualified_name();
        let (written, ()) = self
            .modify(|d| {
                let spec = d.spec.get_or_insert_with(Default::default);
                let before = spec.template.clone();
                update.apply_to(&deployment, &mut spec.template)?;
                let template_changed = spec.template != before;
                let annotations = d.metadata.annotations.get_or_insert_with(Default::default);
                match &update.change_cause {
                    Some(cause) => {
                        annotations.insert(CHANGE_CAUSE_ANNOTATION.to_string(), cause.clone());
                    }
                    None if template_changed => {
                        annotations.remove(CHANGE_CAUSE_ANNOTATION);
                    }
                    None => {}
                }
                if annotations.is_empty() {
                    d.metadata.annotations = None;
                }
                Ok(())
            })
            .await?;
        Ok(written)
    }

    /// Sets the image of container `container`, like `kubectl set image
    /// deployment/web web=nginx:1.28`.
    ///
    /// ```no_run
    /// # async fn demo(client: kubekit::Client) -> kubekit::Result<()> {
    /// client.rollout("web").set_image("web", "nginx:1.28").await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`update`](Self::update).
    pub async fn set_image(&self, container: &str, image: &str) -> Result<Deployment> {
        self.update(Update::new().image(container, image)).await
    }

    /// Sets the image of every container, like `kubectl set image deployment/web
    /// '*=nginx:1.28'`.
    ///
    /// ```no_run
    /// # async fn demo(client: kubekit::Client) -> kubekit::Result<()> {
    /// client.rollout("web").set_image_all("nginx:1.28").await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`update`](Self::update).
    pub async fn set_image_all(&self, image: &str) -> Result<Deployment> {
        self.update(Update::new().image_all(image)).await
    }

    /// Replaces every pod with a new one, like `kubectl rollout restart`: sets the template
    /// annotation `kubectl.kubernetes.io/restartedAt` to now.
    ///
    /// ```no_run
    /// # async fn demo(client: kubekit::Client) -> kubekit::Result<()> {
    /// use std::time::Duration;
    ///
    /// let web = client.rollout("web");
    /// web.restart().await?;
    /// web.wait(Duration::from_secs(120)).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`RolloutError::Paused`] when the Deployment is paused (the restart would not happen
    /// until resumed, as kubectl refuses it too); otherwise as [`update`](Self::update).
    pub async fn restart(&self) -> Result<Deployment> {
        if self.get().await?.spec.and_then(|s| s.paused) == Some(true) {
            return Err(RolloutError::Paused {
                deployment: Box::new(self.qualified_name()),
                action: "restart".into(),
            }
            .into());
        }
        self.update(Update::new().restart()).await
    }

    async fn set_paused(&self, paused: bool) -> Result<Deployment> {
        let patch = serde_json::json!({ "spec": { "paused": paused } });
        self.api::<Deployment>()
            .patch(
                &self.name,
                &PatchParams {
                    field_manager: Some(self.field_manager()),
                    ..Default::default()
                },
                &Patch::Merge(&patch),
            )
            .await
            .map_err(|e| self.kube_error(e))
    }

    /// Pauses the Deployment (`spec.paused: true`), like `kubectl rollout pause`: template
    /// changes are recorded but not rolled out until [`resume`](Self::resume). Scaling still
    /// works.
    ///
    /// ```no_run
    /// # async fn demo(client: kubekit::Client) -> kubekit::Result<()> {
    /// let web = client.rollout("web");
    /// web.pause().await?;
    /// web.set_image("web", "nginx:1.28").await?; // not rolled out yet
    /// web.resume().await?; // now it is
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`]; [`Error::Kube`].
    pub async fn pause(&self) -> Result<Deployment> {
        self.set_paused(true).await
    }

    /// Resumes a paused Deployment (`spec.paused: false`), like `kubectl rollout resume`:
    /// the changes made meanwhile roll out as one revision.
    ///
    /// ```no_run
    /// # async fn demo(client: kubekit::Client) -> kubekit::Result<()> {
    /// client.rollout("web").resume().await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`]; [`Error::Kube`].
    pub async fn resume(&self) -> Result<Deployment> {
        self.set_paused(false).await
    }

    /// Sets the desired number of pods through the `scale` subresource, like `kubectl scale
    /// --replicas`. See [`scale_and_wait`](Self::scale_and_wait) to wait for them.
    ///
    /// ```no_run
    /// # async fn demo(client: kubekit::Client) -> kubekit::Result<()> {
    /// client.rollout("web").scale(5).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`]; [`Error::Kube`] when the server refuses (e.g. a
    /// negative count).
    pub async fn scale(&self, replicas: i32) -> Result<()> {
        let patch = serde_json::json!({ "spec": { "replicas": replicas } });
        self.api::<Deployment>()
            .patch_scale(
                &self.name,
                &PatchParams {
                    field_manager: Some(self.field_manager()),
                    ..Default::default()
                },
                &Patch::Merge(&patch),
            )
            .await
            .map_err(|e| self.kube_error(e))?;
        Ok(())
    }

    /// Scales to `replicas` and waits, at most `timeout`, until exactly that many pods are
    /// updated and available and no others are left: after a scale-down, the surplus pods
    /// are gone, not merely Terminating (what `kubectl rollout status` does not wait for).
    ///
    /// ```no_run
    /// # async fn demo(client: kubekit::Client) -> kubekit::Result<()> {
    /// use std::time::Duration;
    ///
    /// let status = client.rollout("web").scale_and_wait(5, Duration::from_secs(120)).await?;
    /// assert_eq!(status.available, 5);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`scale`](Self::scale) and [`wait`](Self::wait).
    pub async fn scale_and_wait(&self, replicas: i32, timeout: Duration) -> Result<RolloutStatus> {
        let began = std::time::Instant::now();
        self.scale(replicas).await?;
        let status = self.wait(timeout).await?;
        let left = timeout.saturating_sub(began.elapsed());
        self.wait_pod_count(usize::try_from(replicas).unwrap_or(0), left, timeout)
            .await?;
        Ok(status)
    }

    /// Waits (watching the Deployment's pods) until exactly `count` of its pods exist and
    /// none is terminating; the Deployment's status does not count Terminating pods.
    async fn wait_pod_count(&self, count: usize, left: Duration, timeout: Duration) -> Result<()> {
        use futures::StreamExt;
        use k8s_openapi::api::core::v1::Pod;
        use kube::runtime::watcher;

        let deployment = self.get().await?;
        let owners: std::collections::HashSet<String> = self
            .owned_replica_sets(&deployment)
            .await?
            .into_iter()
            .filter_map(|rs| rs.metadata.uid)
            .collect();
        let is_ours = |pod: &Pod| controller_uid(&pod.metadata).is_some_and(|u| owners.contains(u));
        let selector = Self::selector_of(&deployment);
        let config = watcher::Config::default().labels_from(&selector);
        // Pod name -> whether it is terminating, for the Deployment's pods.
        let mut pods: std::collections::BTreeMap<String, bool> = Default::default();
        let mut listing: std::collections::BTreeMap<String, bool> = Default::default();
        let done = |pods: &std::collections::BTreeMap<String, bool>| {
            pods.len() == count && pods.values().all(|terminating| !terminating)
        };
        let watch = async {
            let mut events = std::pin::pin!(kube::runtime::WatchStreamExt::default_backoff(
                watcher(self.api::<Pod>(), config)
            ));
            while let Some(event) = events.next().await {
                let event = event.map_err(|source| Error::Watch {
                    object: Box::new(self.qualified_name()),
                    source: Box::new(source),
                })?;
                match event {
                    watcher::Event::Init => listing.clear(),
                    watcher::Event::InitApply(pod) => {
                        if let (true, Some(name)) = (is_ours(&pod), pod.metadata.name.clone()) {
                            listing.insert(name, pod.metadata.deletion_timestamp.is_some());
                        }
                    }
                    watcher::Event::InitDone => pods = std::mem::take(&mut listing),
                    watcher::Event::Apply(pod) => {
                        if let (true, Some(name)) = (is_ours(&pod), pod.metadata.name.clone()) {
                            pods.insert(name, pod.metadata.deletion_timestamp.is_some());
                        }
                    }
                    watcher::Event::Delete(pod) => {
                        if let Some(name) = &pod.metadata.name {
                            pods.remove(name);
                        }
                    }
                }
                if done(&pods) {
                    return Ok(());
                }
            }
            Ok(())
        };
        match tokio::time::timeout(left, watch).await {
            Ok(result) => result,
            Err(_) => {
                let terminating = pods.values().filter(|t| **t).count();
                Err(Error::Timeout {
                    what: format!(
                        "{} to have exactly {count} pods, none terminating",
                        self.qualified_name()
                    ),
                    after: timeout,
                    state: format!("{} pods, {terminating} of them terminating", pods.len()),
                })
            }
        }
    }

    /// The revision history, like `kubectl rollout history`: the ReplicaSets the Deployment
    /// owns, with their revision numbers, images and change causes, oldest first.
    ///
    /// ```no_run
    /// # async fn demo(client: kubekit::Client) -> kubekit::Result<()> {
    /// let history = client.rollout("web").history().await?;
    /// print!("{history}");
    /// // deployment.apps/web
    /// // REVISION   REPLICASET       READY   IMAGES       CHANGE-CAUSE
    /// // 1          web-6c8f7d9b45   0/0     nginx:1.27   <none>
    /// // 2          web-5f7b9c6d4    3/3     nginx:1.28   nginx 1.28 (current)
    /// for revision in &history.revisions {
    ///     println!("{} {:?}", revision.number, revision.image("web"));
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`]; [`Error::Kube`].
    pub async fn history(&self) -> Result<History> {
        let deployment = self.get().await?;
        let owned = self.owned_replica_sets(&deployment).await?;
        Ok(History::of(&deployment, &owned))
    }

    /// Rolls back to the revision before the current one, like `kubectl rollout undo`.
    ///
    /// ```no_run
    /// # async fn demo(client: kubekit::Client) -> kubekit::Result<()> {
    /// use std::time::Duration;
    ///
    /// let web = client.rollout("web");
    /// let undone = web.undo().await?;
    /// println!("{undone}"); // rolled back to revision 2
    /// web.wait(Duration::from_secs(300)).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`RolloutError::NoPreviousRevision`] when there is none; [`RolloutError::Paused`]
    /// when the Deployment is paused (as kubectl, it must be resumed first);
    /// [`Error::NotFound`]; [`Error::Kube`].
    pub async fn undo(&self) -> Result<RolledBack> {
        self.undo_impl(None).await
    }

    /// Rolls back to revision `revision`, like `kubectl rollout undo --to-revision`: its
    /// pod template (without the `pod-template-hash` label) and annotations (e.g. its change
    /// cause) go back into the Deployment.
    ///
    /// ```no_run
    /// # async fn demo(client: kubekit::Client) -> kubekit::Result<()> {
    /// client.rollout("web").undo_to(1).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`RolloutError::NoSuchRevision`] naming the revision and the ones there are;
    /// [`RolloutError::Paused`]; [`Error::NotFound`]; [`Error::Kube`].
    pub async fn undo_to(&self, revision: u64) -> Result<RolledBack> {
        self.undo_impl(Some(revision)).await
    }

    async fn undo_impl(&self, to: Option<u64>) -> Result<RolledBack> {
        let api = self.api::<Deployment>();
        let params = PostParams {
            field_manager: Some(self.field_manager()),
            ..Default::default()
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut deployment = self.get().await?;
            let current = revision_of(&deployment.metadata);
            let owned = self.owned_replica_sets(&deployment).await?;
            let history = History::of(&deployment, &owned);
            let target = match to {
                Some(n) => history.get(n).ok_or_else(|| RolloutError::NoSuchRevision {
                    deployment: Box::new(self.qualified_name()),
                    revision: n,
                    available: history.numbers(),
                })?,
                None => history
                    .previous()
                    .ok_or_else(|| RolloutError::NoPreviousRevision {
                        deployment: Box::new(self.qualified_name()),
                        available: history.numbers(),
                    })?,
            };
            if deployment.spec.as_ref().and_then(|s| s.paused) == Some(true) {
                return Err(RolloutError::Paused {
                    deployment: Box::new(self.qualified_name()),
                    action: "roll back".into(),
                }
                .into());
            }
            let rs_annotations = owned
                .iter()
                .find(|rs| rs.metadata.name.as_deref() == Some(target.replica_set.as_str()))
                .and_then(|rs| rs.metadata.annotations.clone());
            let spec = deployment.spec.get_or_insert_with(Default::default);
            let mut without_hash = spec.template.clone();
            if let Some(labels) = without_hash
                .metadata
                .as_mut()
                .and_then(|m| m.labels.as_mut())
            {
                labels.remove(POD_TEMPLATE_HASH_LABEL);
            }
            let outcome = RolledBack {
                from: current,
                to: target.number,
                changed: without_hash != target.template,
            };
            if !outcome.changed {
                return Ok(outcome);
            }
            spec.template = target.template.clone();
            let annotations = history::annotations_after_undo(
                deployment.metadata.annotations.as_ref(),
                rs_annotations.as_ref(),
            );
            deployment.metadata.annotations = (!annotations.is_empty()).then_some(annotations);
            match api.replace(&self.name, &params, &deployment).await {
                Ok(_) => return Ok(outcome),
                Err(kube::Error::Api(status))
                    if status.code == 409 && attempt < CONFLICT_RETRIES =>
                {
                    continue;
                }
                Err(e) => return Err(self.kube_error(e)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::PodSpec;

    fn template() -> PodTemplateSpec {
        PodTemplateSpec {
            metadata: None,
            spec: Some(PodSpec {
                containers: vec![
                    Container {
                        name: "web".into(),
                        image: Some("nginx:1".into()),
                        ..Default::default()
                    },
                    Container {
                        name: "sidecar".into(),
                        image: Some("busybox:1".into()),
                        ..Default::default()
                    },
                ],
                ..Default::default()
            }),
        }
    }

    fn images(t: &PodTemplateSpec) -> Vec<Option<String>> {
        t.spec
            .iter()
            .flat_map(|s| s.containers.iter().map(|c| c.image.clone()))
            .collect()
    }

    #[test]
    fn update_sets_one_image_or_all() -> Result<()> {
        let mut t = template();
        Update::new()
            .image("web", "nginx:2")
            .apply_to(&ObjectRef::new("Deployment", Some("ns"), "web"), &mut t)?;
        assert_eq!(
            images(&t),
            [Some("nginx:2".into()), Some("busybox:1".into())]
        );
        Update::new()
            .image_all("x:3")
            .apply_to(&ObjectRef::new("Deployment", Some("ns"), "web"), &mut t)?;
        assert_eq!(images(&t), [Some("x:3".into()), Some("x:3".into())]);
        Ok(())
    }

    #[test]
    fn update_of_a_missing_container_names_the_ones_there_are() {
        let mut t = template();
        let err = Update::new()
            .image("db", "postgres")
            .apply_to(&ObjectRef::new("Deployment", Some("ns"), "web"), &mut t)
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("Deployment ns/web has no container \"db\" (its containers: web, sidecar)")
        );
    }

    #[test]
    fn env_replaces_or_adds() -> Result<()> {
        let mut t = template();
        let update = Update::new()
            .env("web", "A", "1")
            .env("web", "A", "2")
            .env("web", "B", "3");
        update.apply_to(&ObjectRef::new("Deployment", Some("ns"), "web"), &mut t)?;
        let env: Vec<(String, Option<String>)> = t
            .spec
            .iter()
            .flat_map(|s| s.containers[0].env.iter().flatten())
            .map(|e| (e.name.clone(), e.value.clone()))
            .collect();
        assert_eq!(
            env,
            [
                ("A".into(), Some("2".into())),
                ("B".into(), Some("3".into()))
            ]
        );
        Ok(())
    }

    #[test]
    fn undo_keeps_the_deployments_bookkeeping_annotations() {
        let d = [
            (REVISION_ANNOTATION.to_string(), "5".to_string()),
            ("team".to_string(), "a".to_string()),
        ]
        .into();
        let rs = [
            (REVISION_ANNOTATION.to_string(), "2".to_string()),
            (CHANGE_CAUSE_ANNOTATION.to_string(), "v2".to_string()),
        ]
        .into();
        let out = history::annotations_after_undo(Some(&d), Some(&rs));
        assert_eq!(out.get(REVISION_ANNOTATION).map(String::as_str), Some("5"));
        assert_eq!(
            out.get(CHANGE_CAUSE_ANNOTATION).map(String::as_str),
            Some("v2")
        );
        assert!(!out.contains_key("team"));
    }
}
