//! Applying a multi-document YAML manifest: all documents checked before any is sent.

use std::{
    collections::{BTreeSet, HashMap},
    fmt,
};

use futures::{StreamExt, TryStreamExt};
use kube::{
    Api,
    api::DynamicObject,
    discovery::{ApiResource, Scope},
};
use serde_json::Value;

use super::{
    ApplyOptions, ApplyOutcome, Client, Error, ObjectRef, Result,
    apply::{apply_known, prepare_body},
};
use crate::{
    kinds::Readiness,
    manifest::{self, Object},
};

/// One object of an applied manifest and what the apply did to it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AppliedObject {
    /// The 1-based number of the document the object came from.
    pub document: usize,
    /// The object's apiVersion, e.g. `apps/v1`.
    pub api_version: String,
    /// The object's kind, e.g. `Deployment`.
    pub kind: String,
    /// The object's name.
    pub name: String,
    /// The object's namespace; `None` for cluster-scoped kinds.
    pub namespace: Option<String>,
    /// Whether it was created, changed or left as it was.
    pub outcome: ApplyOutcome,
}

impl AppliedObject {
    /// The reference to the object.
    pub fn object_ref(&self) -> ObjectRef {
        ObjectRef::new(&self.kind, self.namespace.as_deref(), &self.name)
    }
}

/// What [`Client::apply_manifest`] did, object by object, in the order they were applied
/// (Namespaces first, then the rest in document order).
///
/// Displayed like `kubectl apply`: `namespace/shop created`, `deployment.apps/web configured`,
/// `pod/web2 unchanged`, one a line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApplyReport {
    /// The applied objects.
    pub objects: Vec<AppliedObject>,
    /// Whether this was a server-side dry run (nothing stored).
    pub dry_run: bool,
}

impl ApplyReport {
    /// The entry for `kind` `name`, if the manifest had one.
    pub fn find(&self, kind: &str, name: &str) -> Option<&AppliedObject> {
        self.objects
            .iter()
            .find(|o| o.kind == kind && o.name == name)
    }

    /// How many objects had `outcome`.
    pub fn count(&self, outcome: ApplyOutcome) -> usize {
        self.objects.iter().filter(|o| o.outcome == outcome).count()
    }
}

impl fmt::Display for ApplyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for o in &self.objects {
            let group = o
                .api_version
                .rsplit_once('/')
                .map_or(String::new(), |(g, _)| format!(".{g}"));
            write!(
                f,
                "{}{group}/{} {}",
                o.kind.to_lowercase(),
                o.name,
                o.outcome
            )?;
            if self.dry_run {
                f.write_str(" (server dry run)")?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

/// One object, checked and resolved, ready to send.
#[derive(Clone)]
pub(crate) struct Planned {
    pub(crate) document: usize,
    pub(crate) api_version: String,
    pub(crate) resource: ApiResource,
    pub(crate) scope: Scope,
    pub(crate) object: ObjectRef,
    pub(crate) body: Value,
    /// For a custom resource whose CustomResourceDefinition is in the same set and not yet
    /// served: that CRD's name. Its kind, version and scope were checked against the CRD;
    /// the server checks the rest once the CRD is established, before the CR is written.
    pub(crate) after_crd: Option<String>,
}

impl Planned {
    /// `Kind.group` (`Deployment.apps`; `Service` for the core group), as the ApplySet
    /// specification writes kinds.
    pub(crate) fn group_kind(&self) -> String {
        group_kind(&self.resource.group, &self.resource.kind)
    }

    /// Whether it must exist before others can be applied (Namespaces, then CRDs).
    fn rank(&self) -> u8 {
        match (self.resource.group.as_str(), self.resource.kind.as_str()) {
            ("", "Namespace") => 0,
            ("apiextensions.k8s.io", "CustomResourceDefinition") => 1,
            _ => 2,
        }
    }
}

/// `Kind.group`, or `Kind` for the core group.
pub(crate) fn group_kind(group: &str, kind: &str) -> String {
    if group.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}.{group}")
    }
}

/// How many requests an apply of many objects has in flight at once: enough to hide the round
/// trips of a large set, far below the API server's default limit of 200 mutating requests in
/// flight (`--max-mutating-requests-inflight`), so one apply never crowds out other clients.
pub(crate) const CONCURRENCY: usize = 16;

/// How long an apply waits for a CustomResourceDefinition of the set to be established
/// before applying its custom resources (the API server usually takes well under a second).
const ESTABLISHED_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// How long discovery may trail an established CRD before its kind counts as not served.
const DISCOVERY_WAIT: std::time::Duration = std::time::Duration::from_secs(15);

/// A CustomResourceDefinition of the set being applied: what its custom resources in the same
/// set are checked against before the CRD exists.
#[derive(Debug, Clone)]
pub(crate) struct SetCrd {
    /// The CRD's name (`widgets.example.com`).
    name: String,
    group: String,
    kind: String,
    plural: String,
    namespaced: bool,
    /// `(version, served, has an openAPIV3Schema)`, in the CRD's order.
    versions: Vec<(String, bool, bool)>,
}

impl SetCrd {
    /// The CRD `object` describes, if it is one (`apiextensions.k8s.io/v1`).
    fn of(object: &Object) -> Option<SetCrd> {
        if object.api_version() != "apiextensions.k8s.io/v1"
            || object.kind() != "CustomResourceDefinition"
        {
            return None;
        }
        let value = object.to_value().ok()?;
        let spec = &value["spec"];
        let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
        Some(SetCrd {
            name: object.name().unwrap_or_default().to_string(),
            group: text(&spec["group"]),
            kind: text(&spec["names"]["kind"]),
            plural: text(&spec["names"]["plural"]),
            namespaced: spec["scope"] != "Cluster",
            versions: spec["versions"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|v| {
                    (
                        text(&v["name"]),
                        v["served"] == true,
                        v["schema"]["openAPIV3Schema"].is_object(),
                    )
                })
                .collect(),
        })
    }

    /// Whether it defines `kind` in the group of `api_version` (any version).
    fn defines(&self, api_version: &str, kind: &str) -> bool {
        let group = api_version.rsplit_once('/').map_or("", |(group, _)| group);
        self.group == group && self.kind == kind
    }

    /// The API of its custom resource `name` in `api_version`: the version must be one the
    /// CRD serves, with a schema.
    fn resource(&self, api_version: &str, name: &str) -> Result<(ApiResource, Scope)> {
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let refuse = |message: String| Error::BadObject {
            object: Box::new(ObjectRef::new(&self.kind, None, name)),
            message,
        };
        let served: Vec<&str> = self
            .versions
            .iter()
            .filter(|(_, served, _)| *served)
            .map(|(v, _, _)| v.as_str())
            .collect();
        match self.versions.iter().find(|(v, _, _)| v == version) {
            Some((_, true, true)) => {}
            Some((_, true, false)) => {
                return Err(refuse(format!(
                    "apiVersion {api_version}: version {version} of CustomResourceDefinition {} \
                     in this set has no schema (spec.versions[].schema.openAPIV3Schema)",
                    self.name
                )));
            }
            _ => {
                return Err(refuse(format!(
                    "apiVersion {api_version}: CustomResourceDefinition {} in this set does not \
                     serve version {version} (served: {})",
                    self.name,
                    served.join(", ")
                )));
            }
        }
        let resource = ApiResource {
            group: group.to_string(),
            version: version.to_string(),
            api_version: api_version.to_string(),
            kind: self.kind.clone(),
            plural: self.plural.clone(),
        };
        let scope = if self.namespaced {
            Scope::Namespaced
        } else {
            Scope::Cluster
        };
        Ok((resource, scope))
    }
}

/// From how many objects of one kind in one namespace their live states are read with one
/// list instead of one read each.
const LIST_FROM: usize = 8;

/// Whether the server refused `failed`'s dry run because another object of the manifest does
/// not exist yet: its message names that object as not found (`serviceaccount "app" not
/// found`), in the same namespace.
fn needs_planned(error: &Error, failed: &Planned, planned: &[Planned]) -> bool {
    let message = error.to_string();
    planned.iter().any(|other| {
        !std::ptr::eq(other, failed)
            && other.object.namespace == failed.object.namespace
            && message.contains(&format!(
                "{} \"{}\" not found",
                other.resource.kind.to_lowercase(),
                other.object.name
            ))
    })
}

/// What the dry run found for one object.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Checked {
    /// The server accepted it, with this outcome.
    Passed(ApplyOutcome),
    /// It could not be checked before another object of the set exists (its Namespace, or an
    /// object admission looks up); the real apply checks it, after the others.
    Later,
}

/// Where a wait for a set of objects stands, as
/// [`Client::wait_all_ready_with`] reports it; its `Display` is one line:
/// `2 of 3 ready after 1.4 s; waiting for Deployment shop/web: 1/3 replicas available`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SetProgress {
    /// How many objects are ready.
    pub ready: usize,
    /// How many objects the wait is for.
    pub total: usize,
    /// Each object not ready yet, with why (its kind's readiness rule: `1/3 replicas
    /// available`, `not found`, `phase Pending`), in the order the objects were given.
    pub not_ready: Vec<(ObjectRef, String)>,
    /// Time since the wait started.
    pub elapsed: std::time::Duration,
}

impl SetProgress {
    /// Whether every object is ready (the last report of a wait that succeeds).
    #[must_use]
    pub fn is_done(&self) -> bool {
        self.ready == self.total
    }
}

impl fmt::Display for SetProgress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} of {} ready after {:.1} s",
            self.ready,
            self.total,
            self.elapsed.as_secs_f64()
        )?;
        if !self.not_ready.is_empty() {
            write!(f, "; waiting for {}", not_ready_text(&self.not_ready))?;
        }
        Ok(())
    }
}

/// `Kind ns/name: why; ...` of objects not ready.
fn not_ready_text(not_ready: &[(ObjectRef, String)]) -> String {
    not_ready
        .iter()
        .map(|(object, why)| format!("{object}: {why}"))
        .collect::<Vec<_>>()
        .join("; ")
}

impl Client {
    /// Applies every object of a multi-document YAML manifest, like
    /// `kubectl apply --server-side -f web-pod.yaml`, all or nothing as far as checking goes:
    ///
    /// 1. the YAML is read with [`manifest::from_yaml`] (syntax, unknown fields, wrong
    ///    apiVersions are errors);
    /// 2. every document is validated with the builders' rules (known kinds), must have a
    ///    name, and its apiVersion and kind must be served by the cluster (discovery);
    /// 3. every object is sent as a server-side dry run;
    /// 4. only when all of that passed are the objects applied: Namespaces first, then
    ///    CustomResourceDefinitions, then the rest (up to 16 requests at once).
    ///
    /// Custom resources whose CustomResourceDefinition is in the same manifest (and not yet
    /// served) are checked in two steps. Before the first write: their kind is the CRD's
    /// `spec.names.kind` in its `spec.group`, their apiVersion's version is one the CRD
    /// serves and has a schema (`openAPIV3Schema`), and the CRD's `spec.scope` decides
    /// whether they get a namespace (an error names the resource and the CRD otherwise). After
    /// the Namespaces and CRDs are applied, and before anything else is written: each such CRD
    /// must become `Established` (60 s at most; a `NamesAccepted=False` fails at once), its
    /// kinds must appear in discovery, and each custom resource is dry-run, so the server
    /// checks it against the CRD's schema. A failure there is [`Error::Incomplete`] with only
    /// the Namespaces and CRDs applied. In a dry run (`ApplyOptions::dry_run`) such resources
    /// get the first step only, and are reported as created.
    ///
    /// ```no_run
    /// # async fn demo(client: kubekit::client::Client) -> kubekit::Result<()> {
    /// let report = client.apply_manifest(&std::fs::read_to_string("web-pod.yaml").expect("file")).await?;
    /// print!("{report}"); // pod/web2 created
    /// # Ok(()) }
    /// ```
    ///
    /// Objects in a Namespace the same manifest creates cannot be dry-run before it exists,
    /// nor objects the server refuses because another object of the manifest does not exist
    /// yet (a Pod whose ServiceAccount the manifest creates); they are checked by the real
    /// apply, which creates what they need first, as `kubectl apply -f` does.
    ///
    /// # Errors
    ///
    /// Nothing is sent when
    /// - the YAML cannot be read: [`Error::Manifest`] (with document, line and column);
    /// - a document breaks a validation rule or has no name: [`Error::Document`] wrapping
    ///   [`Error::Validation`] / [`Error::BadObject`];
    /// - a kind is not served: [`Error::UnknownKind`] naming the document, apiVersion and kind;
    /// - the server's dry run rejects a document: [`Error::Document`] wrapping
    ///   [`Error::Invalid`], [`Error::Conflict`], ...
    ///
    /// An error while applying for real (after the checks passed) is [`Error::Incomplete`]:
    /// the objects applied before it (they stay applied) and the failed document's error.
    pub async fn apply_manifest(&self, yaml: &str) -> Result<ApplyReport> {
        self.apply_manifest_with(yaml, ApplyOptions::default())
            .await
    }

    /// [`apply_manifest`](Self::apply_manifest) with [`ApplyOptions`] (`force`, or `dry_run`
    /// to stop after the checks).
    ///
    /// ```no_run
    /// # async fn demo(client: kubekit::client::Client, yaml: &str) -> kubekit::Result<()> {
    /// use kubekit::client::ApplyOptions;
    ///
    /// let report = client.apply_manifest_with(yaml, ApplyOptions::dry_run()).await?;
    /// print!("{report}"); // pod/web2 created (server dry run)
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`apply_manifest`](Self::apply_manifest).
    pub async fn apply_manifest_with(
        &self,
        yaml: &str,
        options: ApplyOptions,
    ) -> Result<ApplyReport> {
        let documents = manifest::from_yaml_documents(yaml)?;
        let planned = self
            .plan_all(documents.into_iter().map(|d| (d.index, d.object)))
            .await?;
        self.apply_planned(planned, options).await
    }

    /// Applies `objects` as [`apply_manifest`](Self::apply_manifest) applies a manifest's
    /// documents (all checked before the first write; Namespaces and CRDs first): for the
    /// [`Object`]s [`manifest::from_yaml`] returns or builders make (`Object::from(deployment)`),
    /// whatever their kinds. Errors number the objects from 1, as documents.
    ///
    /// ```no_run
    /// # async fn demo(client: kubekit::client::Client) -> kubekit::Result<()> {
    /// let objects = kubekit::manifest::from_yaml(&std::fs::read_to_string("app.yaml")?)?;
    /// let report = client.apply_all(&objects).await?;
    /// print!("{report}");
    /// client.delete_objects(&objects, Default::default()).await?; // kubectl delete -f app.yaml
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`apply_manifest`](Self::apply_manifest), without the YAML errors.
    pub async fn apply_all(&self, objects: &[Object]) -> Result<ApplyReport> {
        self.apply_all_with(objects, ApplyOptions::default()).await
    }

    /// [`apply_all`](Self::apply_all) with [`ApplyOptions`].
    ///
    /// ```no_run
    /// # async fn demo(client: kubekit::client::Client, objects: Vec<kubekit::manifest::Object>) -> kubekit::Result<()> {
    /// let report = client.apply_all_with(&objects, kubekit::client::ApplyOptions::dry_run()).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`apply_all`](Self::apply_all).
    pub async fn apply_all_with(
        &self,
        objects: &[Object],
        options: ApplyOptions,
    ) -> Result<ApplyReport> {
        let planned = self.plan_objects(objects).await?;
        self.apply_planned(planned, options).await
    }

    /// Deletes `objects`, like `kubectl delete -f`: in the reverse of the order
    /// [`apply_all`](Self::apply_all) applies them (Namespaces last), an object that is not
    /// there is skipped, and with [`DeleteOptions::wait`](super::DeleteOptions::wait) it returns once every deleted object
    /// is gone. Objects need not be valid, only named and of a served kind.
    ///
    /// ```no_run
    /// # async fn demo(client: kubekit::client::Client) -> kubekit::Result<()> {
    /// use std::time::Duration;
    /// use kubekit::client::DeleteOptions;
    ///
    /// let objects = kubekit::manifest::from_yaml(&std::fs::read_to_string("app.yaml")?)?;
    /// let report = client
    ///     .delete_objects(&objects, DeleteOptions::wait(Duration::from_secs(60)))
    ///     .await?;
    /// print!("{report}"); // deployment.apps "web" deleted ...
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::UnknownKind`] / [`Error::Document`] (no name) before anything is deleted;
    /// [`Error::Rejected`] / [`Error::Kube`] when a deletion fails (what was deleted before
    /// stays deleted); [`Error::Timeout`] naming what is left after `wait`.
    pub async fn delete_objects(
        &self,
        objects: &[Object],
        options: super::DeleteOptions,
    ) -> Result<super::DeleteReport> {
        let mut cache = HashMap::new();
        let mut planned = Vec::with_capacity(objects.len());
        for (i, object) in objects.iter().enumerate() {
            planned.push(
                self.plan(object.clone(), i + 1, &mut cache, &[], false)
                    .await?,
            );
        }
        planned.sort_by_key(Planned::rank);
        let mut report = super::DeleteReport::default();
        let mut deleted = Vec::new();
        for p in planned.iter().rev() {
            let api = self.dynamic_api(p);
            match api.delete(&p.object.name, &options.params()).await {
                Ok(either) => {
                    let uid = either.left().and_then(|o| o.metadata.uid);
                    report.deleted.push(p.object.clone());
                    deleted.push((p, uid));
                }
                Err(kube::Error::Api(status)) if status.code == 404 => {}
                Err(e) => return Err(Error::from_kube(e, p.object.clone())),
            }
        }
        if let Some(timeout) = options.wait {
            let started = tokio::time::Instant::now();
            loop {
                let mut left = Vec::new();
                for (p, uid) in &deleted {
                    let live = self
                        .dynamic_api(p)
                        .get_opt(&p.object.name)
                        .await
                        .map_err(|e| Error::from_kube(e, p.object.clone()))?;
                    // Gone, or replaced by a new object of the same name.
                    if live.is_some_and(|o| uid.is_none() || o.metadata.uid == *uid) {
                        left.push(p.object.to_string());
                    }
                }
                if left.is_empty() {
                    break;
                }
                if started.elapsed() >= timeout {
                    return Err(Error::Timeout {
                        what: "the deleted objects to be gone".into(),
                        after: timeout,
                        state: format!("still there: {}", left.join(", ")),
                    });
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
        Ok(report)
    }

    /// Waits until every object of `objects` is ready by its kind's rule
    /// ([`Kind::readiness`](crate::kinds::Kind::readiness): a Deployment rolled out, a Job
    /// complete, a PVC bound, ...; a kind kubekit does not know: it exists and, if it has
    /// conditions, `Ready` or else `Available` is `True`), at most `timeout` — e.g. after
    /// [`apply_all`](Self::apply_all) or [`apply_set`](Self::apply_set). Progress (`3 of 5
    /// ready; waiting for deployment/web: 1/3 replicas available`) is logged as `tracing`
    /// events at info level whenever it changes.
    ///
    /// ```no_run
    /// # async fn demo(client: kubekit::client::Client, objects: Vec<kubekit::manifest::Object>) -> kubekit::Result<()> {
    /// use std::time::Duration;
    ///
    /// client.apply_all(&objects).await?;
    /// client.wait_all_ready(&objects, Duration::from_secs(120)).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] listing each object that is not ready and why;
    /// [`Error::Unreachable`] as soon as one will not become ready without a change (a failed
    /// Job, with its reason); [`Error::UnknownKind`] for a kind the cluster does not serve.
    pub async fn wait_all_ready(
        &self,
        objects: &[Object],
        timeout: std::time::Duration,
    ) -> Result<()> {
        self.wait_all_ready_with(objects, timeout, |progress| {
            tracing::info!("{progress}");
        })
        .await
    }

    /// [`wait_all_ready`](Self::wait_all_ready), telling `on_progress` where the wait
    /// stands: when it first looks (unless all are ready already), whenever which objects
    /// are not ready (or why) changes, and once when all are ready — e.g. to drive a
    /// progress bar or print a line per change.
    /// (`wait_all_ready` logs the same as `tracing` events.)
    ///
    /// ```no_run
    /// # async fn demo(client: kubekit::client::Client, objects: Vec<kubekit::manifest::Object>) -> kubekit::Result<()> {
    /// use std::time::Duration;
    ///
    /// client
    ///     .wait_all_ready_with(&objects, Duration::from_secs(120), |progress| {
    ///         // 2 of 3 ready after 1.4 s; waiting for Deployment shop/web: 1/3 replicas available
    ///         eprintln!("{progress}");
    ///     })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`wait_all_ready`](Self::wait_all_ready).
    pub async fn wait_all_ready_with(
        &self,
        objects: &[Object],
        timeout: std::time::Duration,
        mut on_progress: impl FnMut(&SetProgress),
    ) -> Result<()> {
        let mut cache = HashMap::new();
        let mut waiting = Vec::with_capacity(objects.len());
        for (i, object) in objects.iter().enumerate() {
            waiting.push(
                self.plan(object.clone(), i + 1, &mut cache, &[], false)
                    .await?,
            );
        }
        let total = waiting.len();
        let started = tokio::time::Instant::now();
        // Registered for failure reports, per namespace of the objects.
        let mut namespaces: Vec<&str> = waiting
            .iter()
            .filter_map(|p| p.object.namespace.as_deref())
            .collect();
        namespaces.sort_unstable();
        namespaces.dedup();
        let registered: Vec<super::waits::WaitGuard> = namespaces
            .iter()
            .map(|ns| super::waits::begin(Some(ns), format!("{total} objects to be ready")))
            .collect();
        let result = self
            .wait_planned_ready(waiting, timeout, started, &registered, &mut on_progress)
            .await;
        for guard in registered {
            guard.end_with(&result);
        }
        result
    }

    /// [`wait_all_ready`](Self::wait_all_ready) of planned objects, telling `registered` what
    /// it sees.
    async fn wait_planned_ready(
        &self,
        mut waiting: Vec<Planned>,
        timeout: std::time::Duration,
        started: tokio::time::Instant,
        registered: &[super::waits::WaitGuard],
        on_progress: &mut dyn FnMut(&SetProgress),
    ) -> Result<()> {
        let total = waiting.len();
        let mut last_said = None;
        let mut delay = std::time::Duration::from_millis(100);
        loop {
            let states = futures::stream::iter(waiting.iter().map(|p| async move {
                let live = self
                    .dynamic_api(p)
                    .get_opt(&p.object.name)
                    .await
                    .map_err(|e| Error::from_kube(e, p.object.clone()))?;
                Ok::<_, Error>(match live {
                    None => Readiness::NotReady("not found".into()),
                    Some(live) => readiness_of(serde_json::to_value(live).unwrap_or(Value::Null)),
                })
            }))
            .buffered(CONCURRENCY)
            .try_collect::<Vec<_>>()
            .await?;
            let mut still = Vec::new();
            for (p, state) in waiting.into_iter().zip(states) {
                match state {
                    Readiness::Ready => {}
                    Readiness::Failed(why) => {
                        return Err(Error::Unreachable {
                            what: format!("{} to be ready", p.object),
                            state: why,
                        });
                    }
                    Readiness::NotReady(why) => still.push((p, why)),
                }
            }
            if still.is_empty() {
                on_progress(&SetProgress {
                    ready: total,
                    total,
                    not_ready: Vec::new(),
                    elapsed: started.elapsed(),
                });
                return Ok(());
            }
            let not_ready: Vec<(ObjectRef, String)> = still
                .iter()
                .map(|(p, why)| (p.object.clone(), why.clone()))
                .collect();
            if started.elapsed() >= timeout {
                return Err(Error::Timeout {
                    what: format!("{total} objects to be ready ({} are not)", still.len()),
                    after: timeout,
                    state: not_ready_text(&not_ready),
                });
            }
            if last_said.as_ref() != Some(&not_ready) {
                let progress = SetProgress {
                    ready: total - still.len(),
                    total,
                    not_ready,
                    elapsed: started.elapsed(),
                };
                for guard in registered {
                    guard.observe(format!(
                        "{} of {total} ready; not: {}",
                        progress.ready,
                        not_ready_text(&progress.not_ready)
                    ));
                }
                on_progress(&progress);
                last_said = Some(progress.not_ready);
            }
            waiting = still.into_iter().map(|(p, _)| p).collect();
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(std::time::Duration::from_secs(1));
        }
    }

    /// [`plan_all`](Self::plan_all) of objects numbered from 1.
    pub(crate) async fn plan_objects(&self, objects: &[Object]) -> Result<Vec<Planned>> {
        self.plan_all(objects.iter().cloned().enumerate().map(|(i, o)| (i + 1, o)))
            .await
    }

    /// Checks and resolves every object (validation, a name, a served kind), in the order
    /// they will be applied: Namespaces, CRDs, then the rest as given.
    pub(crate) async fn plan_all(
        &self,
        objects: impl IntoIterator<Item = (usize, Object)>,
    ) -> Result<Vec<Planned>> {
        let objects: Vec<(usize, Object)> = objects.into_iter().collect();
        let crds: Vec<SetCrd> = objects
            .iter()
            .filter_map(|(_, object)| SetCrd::of(object))
            .collect();
        let mut cache = HashMap::new();
        let mut planned = Vec::new();
        for (document, object) in objects {
            planned.push(self.plan(object, document, &mut cache, &crds, true).await?);
        }
        planned.sort_by_key(Planned::rank);
        let mut seen = BTreeSet::new();
        for p in &planned {
            if !seen.insert((p.group_kind(), &p.object.namespace, &p.object.name)) {
                return Err(Error::Document {
                    document: p.document,
                    source: Box::new(Error::BadObject {
                        object: Box::new(p.object.clone()),
                        message: "appears twice in the set of objects to apply".into(),
                    }),
                });
            }
        }
        Ok(planned)
    }

    /// The live state of every planned object (`None`: not there): one list per kind and
    /// namespace that holds many of them, one read each otherwise, [`CONCURRENCY`] at a time.
    async fn live_states(&self, planned: &[Planned]) -> Result<Vec<Option<DynamicObject>>> {
        let mut groups: HashMap<(String, String, Option<String>), Vec<usize>> = HashMap::new();
        // Custom resources of a CRD the set creates cannot exist yet (nor be asked for).
        for (i, p) in planned
            .iter()
            .enumerate()
            .filter(|(_, p)| p.after_crd.is_none())
        {
            groups
                .entry((
                    p.resource.group.clone(),
                    p.resource.plural.clone(),
                    p.object.namespace.clone(),
                ))
                .or_default()
                .push(i);
        }
        let mut states: Vec<Option<DynamicObject>> = vec![None; planned.len()];
        let reads = groups.into_values().map(|indices| async move {
            let first = &planned[indices[0]];
            let api = self.dynamic_api(first);
            let mut found = Vec::new();
            if indices.len() >= LIST_FROM {
                let mut by_name: HashMap<String, DynamicObject> = api
                    .list(&kube::api::ListParams::default())
                    .await
                    .map_err(|e| Error::from_kube(e, first.object.clone()))?
                    .items
                    .into_iter()
                    .filter_map(|o| Some((o.metadata.name.clone()?, o)))
                    .collect();
                for i in indices {
                    found.push((i, by_name.remove(&planned[i].object.name)));
                }
            } else {
                for i in indices {
                    let p = &planned[i];
                    let live = api
                        .get_opt(&p.object.name)
                        .await
                        .map_err(|e| Error::from_kube(e, p.object.clone()))?;
                    found.push((i, live));
                }
            }
            Ok::<_, Error>(found)
        });
        let mut reads = futures::stream::iter(reads).buffer_unordered(CONCURRENCY);
        while let Some(found) = reads.next().await {
            for (i, live) in found? {
                states[i] = live;
            }
        }
        Ok(states)
    }

    /// The server's dry run of every planned object, [`CONCURRENCY`] at a time, against
    /// their live states `before`.
    async fn dry_run_all(
        &self,
        planned: &[Planned],
        before: &[Option<DynamicObject>],
        options: ApplyOptions,
    ) -> Result<Vec<Checked>> {
        let created_namespaces: BTreeSet<&str> = planned
            .iter()
            .filter(|p| p.rank() == 0)
            .map(|p| p.object.name.as_str())
            .collect();
        let dry = self.patch_params(ApplyOptions {
            dry_run: true,
            ..options
        });
        let checks = planned.iter().zip(before).map(|(p, before)| {
            let dry = &dry;
            let created_namespaces = &created_namespaces;
            async move {
                if p.after_crd.is_some() {
                    // Its CRD does not exist yet: checked once the CRD is established.
                    return Ok(Checked::Later);
                }
                match apply_known(
                    &self.dynamic_api(p),
                    &p.object,
                    &p.body,
                    dry,
                    before.as_ref(),
                )
                .await
                {
                    Ok((_, outcome)) => Ok(Checked::Passed(outcome)),
                    // Its namespace is created by this very manifest: the real apply checks it.
                    Err(Error::NotFound { .. })
                        if p.object
                            .namespace
                            .as_deref()
                            .is_some_and(|ns| created_namespaces.contains(ns)) =>
                    {
                        Ok(Checked::Later)
                    }
                    // It needs an object this manifest creates (a Pod's ServiceAccount, which
                    // admission looks up): `kubectl apply -f` creates that first, and so does
                    // the real apply; it checks this one.
                    Err(e) if needs_planned(&e, p, planned) => Ok(Checked::Later),
                    Err(e) => Err(Error::Document {
                        document: p.document,
                        source: Box::new(e),
                    }),
                }
            }
        });
        futures::stream::iter(checks)
            .buffered(CONCURRENCY)
            .try_collect()
            .await
    }

    /// Dry-runs every planned object, then applies them (unless `options.dry_run`).
    pub(crate) async fn apply_planned(
        &self,
        planned: Vec<Planned>,
        options: ApplyOptions,
    ) -> Result<ApplyReport> {
        let before = self.live_states(&planned).await?;
        let checked = self.dry_run_all(&planned, &before, options).await?;
        self.write_planned(planned, &before, checked, options).await
    }

    /// Applies checked objects: those that others need first (Namespaces, CRDs) one by one;
    /// then, when custom resources of those CRDs are in the set, waits until the CRDs are
    /// established, resolves the resources through discovery again and dry-runs them; then
    /// the rest [`CONCURRENCY`] at a time, then those whose check waited for the others, one
    /// by one in order. The report lists them in the planned order.
    async fn write_planned(
        &self,
        mut planned: Vec<Planned>,
        before: &[Option<DynamicObject>],
        checked: Vec<Checked>,
        options: ApplyOptions,
    ) -> Result<ApplyReport> {
        let total = planned.len();
        let mut outcomes: Vec<Option<ApplyOutcome>> = vec![None; total];
        if options.dry_run {
            for (slot, check) in outcomes.iter_mut().zip(&checked) {
                *slot = Some(match check {
                    Checked::Passed(outcome) => *outcome,
                    Checked::Later => ApplyOutcome::Created,
                });
            }
            return Ok(report_of(&planned, &outcomes, true));
        }
        let real = self.patch_params(options);
        let first = (0..total).filter(|&i| planned[i].rank() < 2);
        let mut failure = self
            .apply_in_order(first, &planned, before, &checked, &real, &mut outcomes)
            .await
            .err();
        if failure.is_none()
            && let Err(e) = self.establish_crds(&mut planned, options).await
        {
            failure = Some(e);
        }
        if failure.is_none() {
            let middle = (0..total)
                .filter(|&i| planned[i].rank() == 2 && checked[i] != Checked::Later)
                .map(|i| {
                    let (planned, real, checked) = (&planned, &real, &checked);
                    async move {
                        (
                            i,
                            self.apply_one(&planned[i], &before[i], &checked[i], real)
                                .await,
                        )
                    }
                });
            let mut results = futures::stream::iter(middle).buffer_unordered(CONCURRENCY);
            while let Some((i, result)) = results.next().await {
                match result {
                    Ok(outcome) => outcomes[i] = Some(outcome),
                    // The first failure in document order is the one to report.
                    Err(e) => {
                        if failure
                            .as_ref()
                            .is_none_or(|f| document_of(&e) < document_of(f))
                        {
                            failure = Some(e);
                        }
                    }
                }
            }
        }
        if failure.is_none() {
            let last =
                (0..total).filter(|&i| planned[i].rank() == 2 && checked[i] == Checked::Later);
            failure = self
                .apply_in_order(last, &planned, before, &checked, &real, &mut outcomes)
                .await
                .err();
        }
        if let Some(source) = failure {
            let applied = report_of(&planned, &outcomes, false);
            return Err(Error::Incomplete {
                applied: Box::new(applied),
                total,
                source: Box::new(source),
            });
        }
        Ok(report_of(&planned, &outcomes, false))
    }

    /// Applies the planned objects at `indices` one by one, in that order, recording each
    /// outcome; the first failure stops it and is returned.
    async fn apply_in_order(
        &self,
        indices: impl IntoIterator<Item = usize>,
        planned: &[Planned],
        before: &[Option<DynamicObject>],
        checked: &[Checked],
        real: &kube::api::PatchParams,
        outcomes: &mut [Option<ApplyOutcome>],
    ) -> Result<()> {
        for i in indices {
            outcomes[i] = Some(
                self.apply_one(&planned[i], &before[i], &checked[i], real)
                    .await?,
            );
        }
        Ok(())
    }

    /// Applies one checked object: against the live state the dry run found, unless another
    /// object of the set had to come first (then it may have appeared meanwhile: read again).
    async fn apply_one(
        &self,
        p: &Planned,
        before: &Option<DynamicObject>,
        checked: &Checked,
        real: &kube::api::PatchParams,
    ) -> Result<ApplyOutcome> {
        let in_document = |e: Error| Error::Document {
            document: p.document,
            source: Box::new(e),
        };
        let api = self.dynamic_api(p);
        let before = if *checked == Checked::Later {
            api.get_opt(&p.object.name)
                .await
                .map_err(|e| in_document(Error::from_kube(e, p.object.clone())))?
        } else {
            before.clone()
        };
        apply_known(&api, &p.object, &p.body, real, before.as_ref())
            .await
            .map(|(_, outcome)| outcome)
            .map_err(in_document)
    }

    /// For the custom resources whose CRD the set creates (just applied): waits until each
    /// CRD is established, resolves each resource through discovery (so it is served as the
    /// CRD said) and dry-runs it, so that the server checks it against the CRD's schema
    /// before anything else of the set is written.
    async fn establish_crds(&self, planned: &mut [Planned], options: ApplyOptions) -> Result<()> {
        let pending: BTreeSet<String> =
            planned.iter().filter_map(|p| p.after_crd.clone()).collect();
        for name in &pending {
            let crd = planned
                .iter()
                .find(|p| p.rank() == 1 && p.object.name == *name)
                .ok_or_else(|| Error::BadObject {
                    object: Box::new(ObjectRef::new("CustomResourceDefinition", None, name)),
                    message: "is not in the set".into(),
                })?;
            let document = crd.document;
            self.wait_established(crd)
                .await
                .map_err(|e| Error::Document {
                    document,
                    source: Box::new(e),
                })?;
        }
        let dry = self.patch_params(ApplyOptions {
            dry_run: true,
            ..options
        });
        for p in planned.iter_mut().filter(|p| p.after_crd.is_some()) {
            let in_document = |e: Error| Error::Document {
                document: p.document,
                source: Box::new(e),
            };
            let started = std::time::Instant::now();
            let (resource, scope) = loop {
                let mut cache = HashMap::new();
                let found = self
                    .resolve_kind(&p.api_version, &p.object.kind, &mut cache)
                    .await
                    .map_err(in_document)?;
                match found {
                    Some(found) => break found,
                    // Discovery may trail the Established condition by a moment.
                    None if started.elapsed() < DISCOVERY_WAIT => {
                        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
                    }
                    None => {
                        return Err(Error::UnknownKind {
                            document: p.document,
                            api_version: p.api_version.clone(),
                            kind: p.object.kind.clone(),
                        });
                    }
                }
            };
            p.resource = resource;
            p.scope = scope;
            p.after_crd = None;
            loop {
                match apply_known(&self.dynamic_api(p), &p.object, &p.body, &dry, None).await {
                    Ok(_) => break,
                    // The API server may answer `404 page not found` for a moment after it
                    // reports the CRD established and serves it in discovery.
                    Err(Error::Rejected { code: 404, .. } | Error::NotFound { .. })
                        if started.elapsed() < DISCOVERY_WAIT =>
                    {
                        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
                    }
                    Err(e) => {
                        return Err(Error::Document {
                            document: p.document,
                            source: Box::new(e),
                        });
                    }
                }
            }
        }
        Ok(())
    }

    /// Waits until the CRD `crd` (just applied) is established; fails at once when its names
    /// are not accepted (they clash with another CRD's).
    async fn wait_established(&self, crd: &Planned) -> Result<()> {
        let api = self.dynamic_api(crd);
        let started = std::time::Instant::now();
        let mut state = String::from("not found");
        while started.elapsed() < ESTABLISHED_WAIT {
            if let Some(live) = api
                .get_opt(&crd.object.name)
                .await
                .map_err(|e| Error::from_kube(e, crd.object.clone()))?
            {
                let conditions = live.data["status"]["conditions"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                let find = |type_: &str| conditions.iter().find(|c| c["type"] == type_);
                if find("Established").is_some_and(|c| c["status"] == "True") {
                    return Ok(());
                }
                if let Some(names) = find("NamesAccepted").filter(|c| c["status"] == "False") {
                    return Err(Error::Unreachable {
                        what: format!("{} to be established", crd.object),
                        state: format!(
                            "NamesAccepted=False: {}: {}",
                            names["reason"].as_str().unwrap_or_default(),
                            names["message"].as_str().unwrap_or_default()
                        ),
                    });
                }
                state = match crate::kinds::readiness_of_conditions(&live.data) {
                    Readiness::NotReady(why) | Readiness::Failed(why) => why,
                    Readiness::Ready => "no Established condition yet".into(),
                };
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        Err(Error::Timeout {
            what: format!("{} to be established", crd.object),
            after: ESTABLISHED_WAIT,
            state,
        })
    }

    async fn plan(
        &self,
        object: Object,
        document: usize,
        cache: &mut HashMap<
            (String, String),
            Option<(ApiResource, kube::discovery::ApiCapabilities)>,
        >,
        crds: &[SetCrd],
        validate: bool,
    ) -> Result<Planned> {
        let in_document = |e: Error| Error::Document {
            document,
            source: Box::new(e),
        };
        if validate {
            object.validate().map_err(|e| in_document(Error::from(e)))?;
        }
        let api_version = object.api_version().to_string();
        let kind = object.kind().to_string();
        let (resource, scope, after_crd) =
            match self.resolve_kind(&api_version, &kind, cache).await? {
                Some((resource, scope)) => (resource, scope, None),
                // Not served yet: a custom resource of a CRD this set creates.
                None => match crds.iter().find(|crd| crd.defines(&api_version, &kind)) {
                    Some(crd) => {
                        let (resource, scope) = crd
                            .resource(&api_version, object.name().unwrap_or_default())
                            .map_err(in_document)?;
                        (resource, scope, Some(crd.name.clone()))
                    }
                    None => {
                        return Err(Error::UnknownKind {
                            document,
                            api_version,
                            kind,
                        });
                    }
                },
            };
        let namespace = match scope {
            Scope::Namespaced => Some(object.namespace().unwrap_or(&self.namespace).to_string()),
            Scope::Cluster => None,
        };
        let name = object.name().unwrap_or_default().to_string();
        let object_ref = ObjectRef {
            kind: kind.clone(),
            namespace: namespace.clone(),
            name: name.clone(),
        };
        if name.is_empty() {
            return Err(in_document(Error::BadObject {
                object: Box::new(object_ref),
                message: "metadata.name is required for apply".into(),
            }));
        }
        let mut body = object
            .to_value()
            .map_err(|e| in_document(Error::Manifest(e)))?;
        prepare_body(&mut body);
        if let (Some(ns), Some(meta)) = (
            &namespace,
            body.get_mut("metadata").and_then(Value::as_object_mut),
        ) {
            meta.insert("namespace".into(), Value::String(ns.clone()));
        }
        Ok(Planned {
            document,
            api_version,
            resource,
            scope,
            object: object_ref,
            body,
            after_crd,
        })
    }

    pub(crate) fn dynamic_api(&self, planned: &Planned) -> Api<DynamicObject> {
        let api = Api::dynamic(self.inner.clone(), &planned.resource, &planned.scope);
        match &planned.object.namespace {
            Some(ns) => api.constrain(ns),
            None => api,
        }
    }
}

/// The report of the planned objects that have an outcome, in the planned order.
fn report_of(planned: &[Planned], outcomes: &[Option<ApplyOutcome>], dry_run: bool) -> ApplyReport {
    ApplyReport {
        objects: planned
            .iter()
            .zip(outcomes)
            .filter_map(|(p, outcome)| {
                Some(AppliedObject {
                    document: p.document,
                    api_version: p.api_version.clone(),
                    kind: p.object.kind.clone(),
                    name: p.object.name.clone(),
                    namespace: p.object.namespace.clone(),
                    outcome: (*outcome)?,
                })
            })
            .collect(),
        dry_run,
    }
}

/// The readiness of a live object by its kind's rule (a kind kubekit knows) or its
/// conditions (any other).
fn readiness_of(live: Value) -> Readiness {
    match Object::from_value(live.clone()) {
        Ok(object) => object.readiness(),
        Err(_) => crate::kinds::readiness_of_conditions(&live),
    }
}

fn document_of(error: &Error) -> usize {
    match error {
        Error::Document { document, .. } => *document,
        _ => usize::MAX,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn set_progress_reads_as_one_line() {
        let waiting = SetProgress {
            ready: 1,
            total: 3,
            not_ready: vec![
                (
                    ObjectRef::new("Deployment", Some("shop"), "web"),
                    "1/3 replicas available".into(),
                ),
                (
                    ObjectRef::new("Job", Some("shop"), "migrate"),
                    "not found".into(),
                ),
            ],
            elapsed: std::time::Duration::from_millis(1420),
        };
        assert!(!waiting.is_done());
        assert_eq!(
            waiting.to_string(),
            "1 of 3 ready after 1.4 s; waiting for Deployment shop/web: 1/3 replicas \
             available; Job shop/migrate: not found"
        );
        let done = SetProgress {
            ready: 3,
            total: 3,
            not_ready: Vec::new(),
            elapsed: std::time::Duration::from_secs(2),
        };
        assert!(done.is_done());
        assert_eq!(done.to_string(), "3 of 3 ready after 2.0 s");
    }

    fn crd(scope: &str, versions: &str) -> SetCrd {
        let yaml = format!(
            "apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {{name: widgets.example.com}}
spec:
  group: example.com
  scope: {scope}
  names: {{kind: Widget, plural: widgets}}
  versions: {versions}
"
        );
        SetCrd::of(&manifest::from_yaml(&yaml).unwrap()[0]).unwrap()
    }

    const SCHEMA: &str = "{openAPIV3Schema: {type: object}}";

    /// A custom resource of a CRD in the same set is checked against the CRD before anything
    /// is written: its group and kind, a served version with a schema, and the CRD's scope.
    #[test]
    fn custom_resources_are_checked_against_a_crd_of_the_set() {
        let widgets = crd(
            "Namespaced",
            &format!(
                "[{{name: v1, served: true, storage: true, schema: {SCHEMA}}}, \
                 {{name: v0, served: false, storage: false, schema: {SCHEMA}}}, \
                 {{name: v2, served: true, storage: false}}]"
            ),
        );
        assert!(widgets.defines("example.com/v1", "Widget"));
        assert!(
            widgets.defines("example.com/v9", "Widget"),
            "any version: checked next"
        );
        assert!(!widgets.defines("example.com/v1", "Gadget"));
        assert!(!widgets.defines("other.com/v1", "Widget"));

        let (resource, scope) = widgets.resource("example.com/v1", "small").unwrap();
        assert_eq!(
            (resource.plural.as_str(), resource.version.as_str()),
            ("widgets", "v1")
        );
        assert!(matches!(scope, Scope::Namespaced));

        let not_served = widgets.resource("example.com/v0", "small").unwrap_err();
        assert_eq!(
            not_served.to_string(),
            "Widget small: apiVersion example.com/v0: CustomResourceDefinition \
             widgets.example.com in this set does not serve version v0 (served: v1, v2)"
        );
        let no_schema = widgets.resource("example.com/v2", "small").unwrap_err();
        assert!(
            no_schema.to_string().contains("has no schema"),
            "{no_schema}"
        );

        let cluster = crd(
            "Cluster",
            &format!("[{{name: v1, served: true, storage: true, schema: {SCHEMA}}}]"),
        );
        let (_, scope) = cluster.resource("example.com/v1", "big").unwrap();
        assert!(matches!(scope, Scope::Cluster));
    }
}
