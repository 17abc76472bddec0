//! Applying objects as one set and removing what the set no longer holds: the ApplySet
//! specification (KEP-3659) that `kubectl apply --prune --applyset` implements.

use std::{
    collections::{BTreeSet, HashMap},
    fmt,
};

use base64::Engine as _;
use futures::{StreamExt as _, TryStreamExt as _};
use kube::{
    Api,
    api::{DeleteParams, DynamicObject, ListParams, Patch, PatchParams, Preconditions},
    discovery::{ApiResource, Scope},
};
use serde_json::{Value, json};
use sha2::Digest as _;

use super::{
    ApplyOptions, ApplyReport, Client, Error, ObjectRef, Result,
    manifest::{CONCURRENCY, Planned, group_kind},
};
use crate::manifest::Object;

/// A member of a set found on the server: its `Kind.group`, resource, scope and metadata.
type Member = (
    String,
    ApiResource,
    Scope,
    kube::api::PartialObjectMeta<DynamicObject>,
);

/// The label that makes an object an ApplySet's parent; its value is the set's id.
pub const APPLYSET_ID_LABEL: &str = "applyset.kubernetes.io/id";
/// The label that makes an object a member of the ApplySet whose id it holds.
pub const APPLYSET_PART_OF_LABEL: &str = "applyset.kubernetes.io/part-of";
/// The parent's annotation naming the tool that manages the set (`kubekit/0.1.0`).
pub const APPLYSET_TOOLING_ANNOTATION: &str = "applyset.kubernetes.io/tooling";
/// The parent's annotation listing the kinds of the members (`ConfigMap,Deployment.apps`).
pub const APPLYSET_GROUP_KINDS_ANNOTATION: &str = "applyset.kubernetes.io/contains-group-kinds";
/// The parent's annotation listing the namespaces of members beyond the parent's own.
pub const APPLYSET_NAMESPACES_ANNOTATION: &str = "applyset.kubernetes.io/additional-namespaces";
/// The deprecated form of [`APPLYSET_GROUP_KINDS_ANNOTATION`] (`deployments.apps`), which
/// older kubectl versions wrote; read, and replaced on the next apply.
const APPLYSET_GROUP_RESOURCES_ANNOTATION: &str = "applyset.kubernetes.io/contains-group-resources";

/// The kind of object that records an [`ApplySet`]: a Secret (kubectl's default) or a
/// ConfigMap.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum ParentKind {
    /// A Secret (no data), as `kubectl apply --applyset=NAME` makes.
    #[default]
    Secret,
    /// A ConfigMap (no data), as `kubectl apply --applyset=configmaps/NAME` makes.
    ConfigMap,
}

impl ParentKind {
    fn kind(self) -> &'static str {
        match self {
            ParentKind::Secret => "Secret",
            ParentKind::ConfigMap => "ConfigMap",
        }
    }

    fn resource(self) -> ApiResource {
        let (kind, plural) = match self {
            ParentKind::Secret => ("Secret", "secrets"),
            ParentKind::ConfigMap => ("ConfigMap", "configmaps"),
        };
        ApiResource {
            group: String::new(),
            version: "v1".into(),
            api_version: "v1".into(),
            kind: kind.into(),
            plural: plural.into(),
        }
    }
}

/// A set of objects applied together and pruned together, recorded on a parent object as
/// the ApplySet specification (KEP-3659) says, so that kubectl and other tools see the same
/// set: each member carries the label `applyset.kubernetes.io/part-of=<id>`, and the parent
/// (a Secret or ConfigMap) the id label and annotations listing the members' kinds and
/// namespaces and the tool that manages it.
///
/// [`Client::apply_set`] applies the set's objects and deletes the members that are no
/// longer among them — only objects that carry this set's label, never objects of another
/// set, never objects a controller owns (a Deployment's ReplicaSets and Pods), never objects
/// without the label that merely look alike.
///
/// ```
/// use kubekit::client::ApplySet;
///
/// let set = ApplySet::new("shop", "demo");
/// // The id kubectl computes for `kubectl apply --applyset=shop -n demo`.
/// assert_eq!(set.id(), "applyset-HExlOfNdfcFQiu4Wt7znmAXtMS3i1Pw_9p5-efVUBWA-v1");
/// assert_eq!(set.tooling(), concat!("kubekit/", env!("CARGO_PKG_VERSION")));
/// ```
///
/// Tools refuse sets another tool manages (the parent's `tooling` annotation), and so do
/// kubekit and kubectl: a set applied by kubekit is kubekit's. To share one set with
/// `kubectl apply --prune --applyset`, give it kubectl's tooling with
/// [`with_tooling`](Self::with_tooling), and kubectl and kubekit then prune each other's
/// applies.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ApplySet {
    parent: ParentKind,
    name: String,
    namespace: String,
    tooling: String,
}

impl ApplySet {
    /// The set recorded on Secret `name` in `namespace` (kubectl's default parent).
    pub fn new(name: impl Into<String>, namespace: impl Into<String>) -> Self {
        Self {
            parent: ParentKind::Secret,
            name: name.into(),
            namespace: namespace.into(),
            tooling: concat!("kubekit/", env!("CARGO_PKG_VERSION")).into(),
        }
    }

    /// The same set recorded on a parent of `kind` instead (a ConfigMap).
    ///
    /// ```
    /// use kubekit::client::{ApplySet, ParentKind};
    /// let set = ApplySet::new("shop", "demo").with_parent_kind(ParentKind::ConfigMap);
    /// assert_eq!(set.parent().kind, "ConfigMap");
    /// ```
    #[must_use]
    pub fn with_parent_kind(mut self, kind: ParentKind) -> Self {
        self.parent = kind;
        self
    }

    /// The same set managed as `tooling` (`name/version`), e.g. `kubectl/v1.37.0` to share it
    /// with `kubectl apply --prune --applyset`, which refuses sets of other tools.
    ///
    /// ```
    /// use kubekit::client::ApplySet;
    /// let set = ApplySet::new("shop", "demo").with_tooling("kubectl/v1.37.0");
    /// assert_eq!(set.tooling(), "kubectl/v1.37.0");
    /// ```
    #[must_use]
    pub fn with_tooling(mut self, tooling: impl Into<String>) -> Self {
        self.tooling = tooling.into();
        self
    }

    /// The tool that manages the set, as the parent's annotation says it (`kubekit/0.1.0`).
    pub fn tooling(&self) -> &str {
        &self.tooling
    }

    /// The parent object.
    pub fn parent(&self) -> ObjectRef {
        ObjectRef::new(self.parent.kind(), Some(&self.namespace), &self.name)
    }

    /// The set's id, the value of its labels: `applyset-` + base64url(sha256(`name.namespace.
    /// Kind.group`)) + `-v1`, as the specification defines it.
    pub fn id(&self) -> String {
        let base = format!("{}.{}.{}.", self.name, self.namespace, self.parent.kind());
        let hash = sha2::Sha256::digest(base.as_bytes());
        format!(
            "applyset-{}-v1",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(hash)
        )
    }

    /// The label selector of the set's members (`applyset.kubernetes.io/part-of=<id>`).
    pub fn member_selector(&self) -> String {
        format!("{APPLYSET_PART_OF_LABEL}={}", self.id())
    }

    /// The tool's name: the tooling without its version.
    fn tool_name(&self) -> &str {
        tool_name(&self.tooling)
    }

    fn field_manager(&self) -> String {
        format!("{}-applyset", self.tool_name())
    }
}

/// `kubectl/v1.37.0` -> `kubectl` (what precedes the last `/`).
fn tool_name(tooling: &str) -> &str {
    tooling.rsplit_once('/').map_or(tooling, |(name, _)| name)
}

/// What [`Client::apply_set`] did: the applied objects and the pruned ones.
///
/// Displayed like `kubectl apply --prune --applyset`: `deployment.apps/web created`, then
/// `configmap/old pruned`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApplySetReport {
    /// The set's id.
    pub id: String,
    /// What the apply did to each member.
    pub applied: ApplyReport,
    /// The members deleted because they are no longer in the set (or that would be, in a
    /// dry run), in the order they were deleted.
    pub pruned: Vec<PrunedObject>,
    /// Whether this was a server-side dry run (nothing stored, nothing deleted).
    pub dry_run: bool,
}

/// A member pruned from a set.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PrunedObject {
    /// The member's `Kind.group` (`Deployment.apps`, `ConfigMap`).
    pub group_kind: String,
    /// The member.
    pub object: ObjectRef,
}

impl fmt::Display for PrunedObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (kind, group) = self
            .group_kind
            .split_once('.')
            .map_or((self.group_kind.as_str(), None), |(k, g)| (k, Some(g)));
        match group {
            Some(group) => write!(f, "{}.{group}/{}", kind.to_lowercase(), self.object.name),
            None => write!(f, "{}/{}", kind.to_lowercase(), self.object.name),
        }
    }
}

impl fmt::Display for ApplySetReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.applied)?;
        for pruned in &self.pruned {
            write!(f, "{pruned} pruned")?;
            if self.dry_run {
                f.write_str(" (server dry run)")?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

/// What the parent says of the set before this apply.
#[derive(Debug, Default)]
struct Recorded {
    group_kinds: BTreeSet<String>,
    namespaces: BTreeSet<String>,
}

impl Client {
    /// Applies `objects` as the set `set` and prunes the members no longer among them, like
    /// `kubectl apply --server-side --prune --applyset=NAME -n NS`:
    ///
    /// 1. every object is checked as [`apply_all`](Self::apply_all) checks it (validation,
    ///    served kinds, the server's dry run) and labelled as a member — nothing is written
    ///    when one fails;
    /// 2. the parent is created or updated to list the kinds and namespaces of the old and
    ///    the new members (so an interrupted apply leaves nothing untracked);
    /// 3. the objects are applied (Namespaces and CRDs first; custom resources of a CRD in
    ///    the set once it is established and they passed a dry run — see
    ///    [`apply_manifest`](Self::apply_manifest) for what is checked before the first write);
    /// 4. members of the set that are not among `objects` are deleted (background
    ///    propagation): objects of the kinds and namespaces the parent lists that carry this
    ///    set's label — not objects a controller owns, not objects of other sets;
    /// 5. the parent is updated to list exactly the new members' kinds and namespaces.
    ///
    /// ```no_run
    /// # async fn demo(client: kubekit::client::Client, objects: Vec<kubekit::manifest::Object>) -> kubekit::Result<()> {
    /// use kubekit::client::ApplySet;
    ///
    /// let set = ApplySet::new("shop", client.namespace());
    /// let report = client.apply_set(&set, &objects).await?;
    /// print!("{report}"); // deployment.apps/web configured, configmap/old-settings pruned
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// Before anything is written: as [`apply_all`](Self::apply_all); [`Error::ApplySet`]
    /// when the parent exists but belongs to another tool or set, or an object carries
    /// another set's label. After: [`Error::Incomplete`] when an apply fails (nothing is
    /// pruned then); [`Error::Rejected`] / [`Error::Kube`] when a prune fails.
    pub async fn apply_set(&self, set: &ApplySet, objects: &[Object]) -> Result<ApplySetReport> {
        self.apply_set_with(set, objects, ApplyOptions::default())
            .await
    }

    /// [`apply_set`](Self::apply_set) with [`ApplyOptions`]: `dry_run` checks everything
    /// and reports what would be applied and pruned, changing nothing.
    ///
    /// ```no_run
    /// # async fn demo(client: kubekit::client::Client, objects: Vec<kubekit::manifest::Object>) -> kubekit::Result<()> {
    /// use kubekit::client::{ApplyOptions, ApplySet};
    ///
    /// let set = ApplySet::new("shop", client.namespace());
    /// let plan = client.apply_set_with(&set, &objects, ApplyOptions::dry_run()).await?;
    /// for gone in &plan.pruned {
    ///     println!("would prune {gone}");
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`apply_set`](Self::apply_set).
    #[tracing::instrument(level = "debug", skip_all, fields(set = %set.parent(), objects = objects.len()))]
    pub async fn apply_set_with(
        &self,
        set: &ApplySet,
        objects: &[Object],
        options: ApplyOptions,
    ) -> Result<ApplySetReport> {
        let id = set.id();
        let mut planned = self.plan_objects(objects).await?;
        for p in &mut planned {
            label_member(p, &id)?;
        }
        let recorded = self.recorded(set).await?;
        let group_kinds: BTreeSet<String> = planned.iter().map(Planned::group_kind).collect();
        let namespaces: BTreeSet<String> = planned
            .iter()
            .filter_map(|p| p.object.namespace.clone())
            .collect();

        // Superset first: an apply interrupted after this leaves every member tracked.
        if !options.dry_run {
            self.write_parent(
                set,
                &recorded.group_kinds.union(&group_kinds).cloned().collect(),
                &recorded.namespaces.union(&namespaces).cloned().collect(),
            )
            .await?;
        }
        let applied = self.apply_planned_set(planned.as_slice(), options).await?;
        let candidates = self.prune_candidates(set, &recorded, &planned).await?;
        let pruned = self.prune(candidates, options.dry_run).await?;
        if !options.dry_run {
            self.write_parent(set, &group_kinds, &namespaces).await?;
        }
        Ok(ApplySetReport {
            id,
            applied,
            pruned,
            dry_run: options.dry_run,
        })
    }

    /// The members of `set` that a prune would delete if `objects` were applied: what
    /// [`apply_set_with`](Self::apply_set_with) in a dry run reports as pruned, without
    /// checking the objects.
    pub(crate) async fn would_prune(
        &self,
        set: &ApplySet,
        planned: &[Planned],
    ) -> Result<Vec<PrunedObject>> {
        let recorded = self.recorded(set).await?;
        Ok(self
            .prune_candidates(set, &recorded, planned)
            .await?
            .iter()
            .map(|(gk, resource, _, object)| PrunedObject {
                group_kind: gk.clone(),
                object: member_ref(resource, object),
            })
            .collect())
    }

    /// The members of `set` (listed in the kinds and namespaces it `recorded` and those of
    /// `planned`) that `planned` does not hold: what a prune deletes.
    async fn prune_candidates(
        &self,
        set: &ApplySet,
        recorded: &Recorded,
        planned: &[Planned],
    ) -> Result<Vec<Member>> {
        let namespaces: BTreeSet<String> = recorded
            .namespaces
            .iter()
            .cloned()
            .chain(planned.iter().filter_map(|p| p.object.namespace.clone()))
            .collect();
        let keep: BTreeSet<(String, Option<String>, String)> = planned
            .iter()
            .map(|p| {
                (
                    p.group_kind(),
                    p.object.namespace.clone(),
                    p.object.name.clone(),
                )
            })
            .collect();
        let mut resources: HashMap<String, (ApiResource, Scope)> = planned
            .iter()
            .map(|p| (p.group_kind(), (p.resource.clone(), p.scope.clone())))
            .collect();
        let mut members = self
            .members(set, &recorded.group_kinds, &namespaces, &mut resources)
            .await?;
        members.retain(|(gk, _, _, object)| {
            let name = object.metadata.name.clone().unwrap_or_default();
            !keep.contains(&(gk.clone(), object.metadata.namespace.clone(), name))
        });
        Ok(members)
    }

    /// Deletes the `candidates`, [`CONCURRENCY`] at a time, each only if it is still the
    /// object that was listed (a UID precondition, as kubectl's prune sets: one deleted and
    /// created again by someone else meanwhile is not the set's to delete). One already gone,
    /// or replaced, is skipped. The result is in the order of `candidates`.
    async fn prune(&self, candidates: Vec<Member>, dry_run: bool) -> Result<Vec<PrunedObject>> {
        let deletions = candidates
            .into_iter()
            .map(|(gk, resource, scope, object)| async move {
                let name = object.metadata.name.clone().unwrap_or_default();
                let namespace = object.metadata.namespace.clone();
                let object_ref = member_ref(&resource, &object);
                let mut params = DeleteParams::background();
                params.dry_run = dry_run;
                if let Some(uid) = object.metadata.uid.clone() {
                    params = params.preconditions(Preconditions {
                        uid: Some(uid),
                        resource_version: None,
                    });
                }
                let api = dynamic(self, &resource, &scope, namespace.as_deref());
                match api.delete(&name, &params).await {
                    Ok(_) => {}
                    // Gone already, or replaced by an object the set did not make.
                    Err(kube::Error::Api(status)) if status.code == 404 || status.code == 409 => {
                        return Ok(None);
                    }
                    Err(e) => return Err(Error::from_kube(e, object_ref)),
                }
                tracing::debug!(object = %object_ref, dry_run, "pruned");
                Ok(Some(PrunedObject {
                    group_kind: gk,
                    object: object_ref,
                }))
            });
        let done: Vec<Option<PrunedObject>> = futures::stream::iter(deletions)
            .buffered(CONCURRENCY)
            .try_collect()
            .await?;
        Ok(done.into_iter().flatten().collect())
    }

    async fn apply_planned_set(
        &self,
        planned: &[Planned],
        options: ApplyOptions,
    ) -> Result<ApplyReport> {
        // `apply_planned` takes ownership; the set needs the plan afterwards for pruning.
        self.apply_planned(planned.to_vec(), options).await
    }

    /// Reads the parent: the kinds and namespaces it lists (empty when it does not exist),
    /// after checking that it is this set's and this tool's.
    async fn recorded(&self, set: &ApplySet) -> Result<Recorded> {
        let parent = set.parent();
        let api: Api<DynamicObject> =
            Api::namespaced_with(self.inner.clone(), &set.namespace, &set.parent.resource());
        let Some(live) = api
            .get_opt(&set.name)
            .await
            .map_err(|e| Error::from_kube(e, parent.clone()))?
        else {
            return Ok(Recorded::default());
        };
        let refuse = |message: String| Error::ApplySet {
            parent: Box::new(parent.clone()),
            message,
        };
        let annotations = live.metadata.annotations.clone().unwrap_or_default();
        let labels = live.metadata.labels.clone().unwrap_or_default();
        let Some(tooling) = annotations.get(APPLYSET_TOOLING_ANNOTATION) else {
            return Err(refuse(format!(
                "exists but has no {APPLYSET_TOOLING_ANNOTATION} annotation, so it is not an \
                 ApplySet parent; choose another name for the set"
            )));
        };
        if tool_name(tooling) != set.tool_name() {
            return Err(refuse(format!(
                "belongs to the tool {:?} ({APPLYSET_TOOLING_ANNOTATION}={tooling}), not {:?}; \
                 tools do not change each other's sets (use ApplySet::with_tooling({tooling:?}) \
                 to share it)",
                tool_name(tooling),
                set.tool_name()
            )));
        }
        match labels.get(APPLYSET_ID_LABEL) {
            Some(id) if *id == set.id() => {}
            Some(id) => {
                return Err(refuse(format!(
                    "has {APPLYSET_ID_LABEL}={id}, not this set's id {}",
                    set.id()
                )));
            }
            None => {
                return Err(refuse(format!(
                    "exists but has no {APPLYSET_ID_LABEL} label"
                )));
            }
        }
        let mut recorded = Recorded::default();
        if let Some(list) = annotations.get(APPLYSET_GROUP_KINDS_ANNOTATION) {
            recorded.group_kinds = split_list(list);
        } else if let Some(list) = annotations.get(APPLYSET_GROUP_RESOURCES_ANNOTATION) {
            // `deployments.apps` -> `Deployment.apps`, through discovery.
            let resources = self.api_resources().await?;
            for gr in split_list(list) {
                let (plural, group) = gr.split_once('.').unwrap_or((gr.as_str(), ""));
                let found = resources
                    .iter()
                    .find(|r| r.name == plural && r.group() == group)
                    .ok_or_else(|| {
                        refuse(format!(
                            "lists {gr} in {APPLYSET_GROUP_RESOURCES_ANNOTATION}, which the \
                             cluster does not serve"
                        ))
                    })?;
                recorded.group_kinds.insert(group_kind(group, &found.kind));
            }
        } else {
            return Err(refuse(format!(
                "has no {APPLYSET_GROUP_KINDS_ANNOTATION} annotation to find its members by"
            )));
        }
        recorded.namespaces = annotations
            .get(APPLYSET_NAMESPACES_ANNOTATION)
            .map(|l| split_list(l))
            .unwrap_or_default();
        recorded.namespaces.insert(set.namespace.clone());
        Ok(recorded)
    }

    /// Creates or updates the parent (server-side apply, as kubectl does it, forcing over a
    /// conflict on its own fields).
    async fn write_parent(
        &self,
        set: &ApplySet,
        group_kinds: &BTreeSet<String>,
        namespaces: &BTreeSet<String>,
    ) -> Result<()> {
        let additional: Vec<&str> = namespaces
            .iter()
            .map(String::as_str)
            .filter(|ns| *ns != set.namespace)
            .collect();
        let body = json!({
            "apiVersion": "v1",
            "kind": set.parent.kind(),
            "metadata": {
                "name": set.name,
                "namespace": set.namespace,
                "labels": {APPLYSET_ID_LABEL: set.id()},
                "annotations": {
                    APPLYSET_TOOLING_ANNOTATION: set.tooling,
                    APPLYSET_GROUP_KINDS_ANNOTATION:
                        group_kinds.iter().map(String::as_str).collect::<Vec<_>>().join(","),
                    APPLYSET_NAMESPACES_ANNOTATION: additional.join(","),
                }
            }
        });
        let api: Api<DynamicObject> =
            Api::namespaced_with(self.inner.clone(), &set.namespace, &set.parent.resource());
        let params = PatchParams::apply(&set.field_manager()).force();
        api.patch(&set.name, &params, &Patch::Apply(&body))
            .await
            .map_err(|e| Error::from_kube(e, set.parent()))?;
        Ok(())
    }

    /// The objects of `group_kinds` in `namespaces` (cluster-scoped kinds: everywhere) that
    /// carry the set's label, except those a controller owns.
    async fn members(
        &self,
        set: &ApplySet,
        group_kinds: &BTreeSet<String>,
        namespaces: &BTreeSet<String>,
        resources: &mut HashMap<String, (ApiResource, Scope)>,
    ) -> Result<Vec<Member>> {
        let missing: Vec<&String> = group_kinds
            .iter()
            .filter(|gk| !resources.contains_key(*gk))
            .collect();
        if !missing.is_empty() {
            let served = self.api_resources().await?;
            for gk in missing {
                let (kind, group) = gk.split_once('.').unwrap_or((gk.as_str(), ""));
                // A kind the cluster no longer serves (its CRD deleted) has no members left.
                if let Some(r) = served.iter().find(|r| r.kind == kind && r.group() == group) {
                    resources.insert(gk.clone(), r.api_resource());
                }
            }
        }
        let selector = ListParams::default().labels(&set.member_selector());
        let mut found = Vec::new();
        let id = set.id();
        for gk in group_kinds {
            let Some((resource, scope)) = resources.get(gk) else {
                continue;
            };
            let places: Vec<Option<&str>> = match scope {
                Scope::Namespaced => namespaces.iter().map(|ns| Some(ns.as_str())).collect(),
                Scope::Cluster => vec![None],
            };
            for namespace in places {
                let api = dynamic(self, resource, scope, namespace);
                let list = match api.list_metadata(&selector).await {
                    Ok(list) => list,
                    // A namespace listed in the parent that is gone has no members left.
                    Err(kube::Error::Api(status)) if status.code == 404 => continue,
                    Err(e) => {
                        return Err(Error::from_kube(
                            e,
                            ObjectRef::new(&resource.kind, namespace, "(members)"),
                        ));
                    }
                };
                for mut object in list.items {
                    let labelled = object
                        .metadata
                        .labels
                        .as_ref()
                        .and_then(|l| l.get(APPLYSET_PART_OF_LABEL))
                        .is_some_and(|v| *v == id);
                    let controlled = object
                        .metadata
                        .owner_references
                        .as_ref()
                        .is_some_and(|owners| owners.iter().any(|o| o.controller == Some(true)));
                    if labelled && !controlled {
                        if object.metadata.namespace.is_none() {
                            object.metadata.namespace = namespace.map(str::to_string);
                        }
                        found.push((gk.clone(), resource.clone(), scope.clone(), object));
                    }
                }
            }
        }
        Ok(found)
    }
}

fn dynamic(
    client: &Client,
    resource: &ApiResource,
    scope: &Scope,
    namespace: Option<&str>,
) -> Api<DynamicObject> {
    match (scope, namespace) {
        (Scope::Namespaced, Some(ns)) => Api::namespaced_with(client.inner.clone(), ns, resource),
        _ => Api::all_with(client.inner.clone(), resource),
    }
}

/// A comma-separated list, without empty entries.
fn split_list(list: &str) -> BTreeSet<String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Puts the set's label on a planned object; an object of another set is refused.
pub(crate) fn label_member(planned: &mut Planned, id: &str) -> Result<()> {
    let labels = planned
        .body
        .as_object_mut()
        .and_then(|o| o.get_mut("metadata"))
        .and_then(Value::as_object_mut)
        .map(|meta| {
            meta.entry("labels")
                .or_insert_with(|| Value::Object(Default::default()))
        })
        .and_then(Value::as_object_mut);
    let Some(labels) = labels else {
        return Err(Error::Document {
            document: planned.document,
            source: Box::new(Error::BadObject {
                object: Box::new(planned.object.clone()),
                message: "metadata.labels is not a map".into(),
            }),
        });
    };
    match labels.get(APPLYSET_PART_OF_LABEL) {
        Some(Value::String(v)) if v == id => Ok(()),
        Some(other) => Err(Error::Document {
            document: planned.document,
            source: Box::new(Error::BadObject {
                object: Box::new(planned.object.clone()),
                message: format!(
                    "carries the label {APPLYSET_PART_OF_LABEL}={} of another ApplySet; an \
                     object belongs to one set",
                    other.as_str().unwrap_or_default()
                ),
            }),
        }),
        None => {
            labels.insert(APPLYSET_PART_OF_LABEL.into(), Value::String(id.into()));
            Ok(())
        }
    }
}

/// The reference of a listed member, for reports and errors.
fn member_ref(
    resource: &ApiResource,
    object: &kube::api::PartialObjectMeta<DynamicObject>,
) -> ObjectRef {
    ObjectRef::new(
        &resource.kind,
        object.metadata.namespace.as_deref(),
        object.metadata.name.as_deref().unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_the_specifications() {
        // base64url(sha256("my-set.test.Secret.")), computed apart (Python's hashlib); the
        // cluster tests compare with the id kubectl writes.
        let id = ApplySet::new("my-set", "test").id();
        assert_eq!(
            id,
            "applyset-0eFHV8ySqp7XoShsGvyWFQD3s96yqwHmzc4e0HR1dsY-v1"
        );
        assert_ne!(
            id,
            ApplySet::new("my-set", "test")
                .with_parent_kind(ParentKind::ConfigMap)
                .id()
        );
    }

    #[test]
    fn tool_names_drop_the_version() {
        assert_eq!(tool_name("kubectl/v1.37.0"), "kubectl");
        assert_eq!(tool_name("example.com/tool/v2"), "example.com/tool");
        assert_eq!(tool_name("bare"), "bare");
    }

    #[test]
    fn pruned_objects_print_like_kubectl() {
        let p = PrunedObject {
            group_kind: "Deployment.apps".into(),
            object: ObjectRef::new("Deployment", Some("ns"), "web"),
        };
        assert_eq!(p.to_string(), "deployment.apps/web");
        let p = PrunedObject {
            group_kind: "ConfigMap".into(),
            object: ObjectRef::new("ConfigMap", Some("ns"), "old"),
        };
        assert_eq!(p.to_string(), "configmap/old");
    }
}
