//! Deployments and ReplicaSets.

// Struct literals end in `..Default::default()` even when every field is set: the fields of
// the k8s-openapi types depend on the Kubernetes version feature the final build picks.
#![allow(clippy::needless_update)]

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::api::apps::v1 as apps;
use k8s_openapi::api::core::v1 as core;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::ValidationError;
use super::built::BuiltPodTemplate;
use super::container::non_empty_map;
use super::pod::metadata_setters;
use super::validate::{Ctx, Validate, fmt_labels, with_validated_containers};

/// A count of pods, absolute or as a percentage of the desired replicas: the `maxSurge` and
/// `maxUnavailable` of a rolling update.
///
/// Converts from an integer: `1.into()` is `IntOrPercent::Int(1)`.
///
/// ```
/// use kubekit::builders::IntOrPercent;
/// assert_eq!(IntOrPercent::percent(25).to_string(), "25%");
/// assert_eq!(IntOrPercent::from(1).to_string(), "1");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IntOrPercent {
    /// An absolute number of pods.
    Int(i32),
    /// A percentage of the desired replicas.
    Percent(u32),
}

impl IntOrPercent {
    /// A percentage of the desired replicas.
    pub fn percent(percent: u32) -> Self {
        IntOrPercent::Percent(percent)
    }
}

impl From<i32> for IntOrPercent {
    fn from(n: i32) -> Self {
        IntOrPercent::Int(n)
    }
}

impl fmt::Display for IntOrPercent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IntOrPercent::Int(n) => write!(f, "{n}"),
            IntOrPercent::Percent(p) => write!(f, "{p}%"),
        }
    }
}

impl From<IntOrPercent> for IntOrString {
    fn from(v: IntOrPercent) -> Self {
        match v {
            IntOrPercent::Int(n) => IntOrString::Int(n),
            IntOrPercent::Percent(_) => IntOrString::String(v.to_string()),
        }
    }
}

/// How a Deployment replaces old pods with new ones.
///
/// ```
/// use kubekit::builders::{IntOrPercent, Strategy};
/// let s = Strategy::rolling_update(1, IntOrPercent::percent(0));
/// let k8s: kubekit::k8s_openapi::api::apps::v1::DeploymentStrategy = s.into();
/// assert_eq!(k8s.type_.as_deref(), Some("RollingUpdate"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Strategy {
    /// Replace pods a few at a time (Kubernetes' default, with 25% / 25%).
    RollingUpdate {
        /// How many pods may exist above the desired count during the update; Kubernetes'
        /// default when `None`.
        max_surge: Option<IntOrPercent>,
        /// How many pods may be unavailable during the update; Kubernetes' default when
        /// `None`.
        max_unavailable: Option<IntOrPercent>,
    },
    /// Stop all old pods before starting new ones.
    Recreate,
}

impl Strategy {
    /// A rolling update with both limits given.
    pub fn rolling_update(
        max_surge: impl Into<IntOrPercent>,
        max_unavailable: impl Into<IntOrPercent>,
    ) -> Self {
        Strategy::RollingUpdate {
            max_surge: Some(max_surge.into()),
            max_unavailable: Some(max_unavailable.into()),
        }
    }
}

impl From<Strategy> for apps::DeploymentStrategy {
    fn from(s: Strategy) -> Self {
        match s {
            Strategy::Recreate => apps::DeploymentStrategy {
                type_: Some("Recreate".into()),
                ..Default::default()
            },
            Strategy::RollingUpdate {
                max_surge,
                max_unavailable,
            } => apps::DeploymentStrategy {
                type_: Some("RollingUpdate".into()),
                rolling_update: if max_surge.is_none() && max_unavailable.is_none() {
                    None
                } else {
                    Some(apps::RollingUpdateDeployment {
                        max_surge: max_surge.map(Into::into),
                        max_unavailable: max_unavailable.map(Into::into),
                        ..Default::default()
                    })
                },
                ..Default::default()
            },
        }
    }
}

/// The label a Deployment or ReplicaSet puts on its pods when neither the template nor the
/// builder's `selector` gives one: `app: <name>`.
pub const DEFAULT_SELECTOR_KEY: &str = "app";

/// Works out the selector and the template labels so that they agree.
///
/// - With no explicit selector, the selector is the template's labels (and if the template
///   has none, both become `app: <name>`).
/// - With an explicit selector, its labels are added to the template's; a template label with
///   a different value for the same key is an error.
pub(crate) fn derive_selector(
    ctx: Ctx<'_>,
    name: &str,
    selector: BTreeMap<String, String>,
    template: &mut core::PodTemplateSpec,
) -> Result<LabelSelector, ValidationError> {
    let metadata = template.metadata.get_or_insert_with(Default::default);
    let labels = metadata.labels.get_or_insert_with(Default::default);
    let match_labels = if selector.is_empty() {
        if labels.is_empty() {
            labels.insert(DEFAULT_SELECTOR_KEY.to_string(), name.to_string());
        }
        labels.clone()
    } else {
        for (key, value) in &selector {
            match labels.get(key) {
                Some(existing) if existing != value => {
                    return Err(ctx.err(
                        format!("spec.template.metadata.labels.{key}"),
                        existing,
                        format!(
                            "conflicts with the selector {}: the pods must carry the selector's \
                             labels",
                            fmt_labels(&selector)
                        ),
                    ));
                }
                _ => {
                    labels.insert(key.clone(), value.clone());
                }
            }
        }
        selector
    };
    Ok(LabelSelector {
        match_labels: Some(match_labels),
        ..Default::default()
    })
}

/// Builds a [`Deployment`](k8s_openapi::api::apps::v1::Deployment).
///
/// `name` and `template` (see [`pod_template`](crate::builders::pod_template)) are required: a
/// Deployment without either does not compile.
///
/// The selector cannot disagree with the pods: by default it is the template's labels (and
/// when the template has none, both get `app: <name>`). To keep the (immutable) selector
/// narrower than the template's labels, name its labels with
/// [`selector`](DeploymentBuilder::selector); they are added to the template.
///
/// ```
/// use kubekit::builders::{container, deployment, pod_template, IntOrPercent};
///
/// let d = deployment()
///     .name("web")
///     .label("team", "frontend")
///     .replicas(3)
///     .template(
///         pod_template()
///             .label("app", "web")
///             .container(container().name("web").image("nginx:1.28").port(80).build()?)
///             .build(),
///     )
///     .rolling_update(1, IntOrPercent::percent(0))
///     .revision_history_limit(5)
///     .build()?;
/// let spec = d.spec.expect("a deployment has a spec");
/// assert_eq!(spec.selector.match_labels.map(|l| l["app"].clone()).as_deref(), Some("web"));
/// # Ok::<(), kubekit::builders::ValidationError>(())
/// ```
#[bon::builder(finish_fn = build, on(String, into))]
pub fn deployment(
    #[builder(field)] labels: BTreeMap<String, String>,
    #[builder(field)] annotations: BTreeMap<String, String>,
    #[builder(field)] selector: BTreeMap<String, String>,
    /// The Deployment's name, a DNS-1123 subdomain.
    name: String,
    /// The namespace; left to the client (its default namespace) when not set.
    namespace: Option<String>,
    /// The pods to run, e.g. from [`pod_template`](crate::builders::pod_template).
    // Boxed in the builder: bon moves the builder on every setter call, and a pod template
    // is 1.8 kB (BENCHMARKS.md, "Builders").
    #[builder(with = |template: impl Into<BuiltPodTemplate>| Box::new(template.into()))]
    template: Box<BuiltPodTemplate>,
    /// How many pods to run (Kubernetes' default: 1).
    replicas: Option<i32>,
    /// How to replace old pods; see also [`rolling_update`](DeploymentBuilder::rolling_update)
    /// and [`recreate`](DeploymentBuilder::recreate).
    strategy: Option<Strategy>,
    /// How many old ReplicaSets to keep for rollbacks (`revisionHistoryLimit`, default 10).
    revision_history_limit: Option<i32>,
    /// Seconds before a stalled rollout is reported as failed (`progressDeadlineSeconds`,
    /// default 600); must be greater than `min_ready_seconds`.
    progress_deadline_seconds: Option<i32>,
    /// Seconds a new pod must be ready before it counts as available (`minReadySeconds`).
    min_ready_seconds: Option<i32>,
    /// Create the Deployment paused: changes to it do not roll out until resumed.
    paused: Option<bool>,
) -> Result<apps::Deployment, ValidationError> {
    let ctx = Ctx {
        kind: "Deployment",
        name: &name,
    };
    // The template stays in its box until it is moved into the object (one copy of it).
    let mut template = template;
    let checks = std::mem::take(&mut template.checks);
    checks.check_namespace(ctx, namespace.as_deref(), "spec.template.spec")?;
    let selector = derive_selector(ctx, &name, selector, &mut template.template)?;
    let deployment = apps::Deployment {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            namespace,
            labels: non_empty_map(labels),
            annotations: non_empty_map(annotations),
            ..Default::default()
        },
        spec: Some(apps::DeploymentSpec {
            replicas,
            selector,
            template: template.template,
            strategy: strategy.map(Into::into),
            revision_history_limit,
            progress_deadline_seconds,
            min_ready_seconds,
            paused,
            ..Default::default()
        }),
        ..Default::default()
    };
    with_validated_containers(checks.validated, || deployment.validate())?;
    Ok(deployment)
}

metadata_setters!(
    DeploymentBuilder,
    deployment_builder::State,
    "Deployment itself (not its pods)"
);

impl<S: deployment_builder::State> DeploymentBuilder<S> {
    /// Selects the pods by these labels only (instead of all the template's labels) and adds
    /// them to the template. A Deployment's selector cannot be changed after creation, so keep
    /// it to labels that identify the app, e.g. `[("app", "web")]`.
    pub fn selector(
        mut self,
        labels: impl IntoIterator<Item = (impl Into<String>, impl Into<String>)>,
    ) -> Self {
        self.selector.extend(super::pod::labels_from(labels));
        self
    }

    /// Uses a rolling update with the given limits; both may not be zero.
    pub fn rolling_update(
        self,
        max_surge: impl Into<IntOrPercent>,
        max_unavailable: impl Into<IntOrPercent>,
    ) -> DeploymentBuilder<deployment_builder::SetStrategy<S>>
    where
        S::Strategy: deployment_builder::IsUnset,
    {
        self.strategy(Strategy::rolling_update(max_surge, max_unavailable))
    }

    /// Uses the `Recreate` strategy: all old pods stop before new ones start.
    pub fn recreate(self) -> DeploymentBuilder<deployment_builder::SetStrategy<S>>
    where
        S::Strategy: deployment_builder::IsUnset,
    {
        self.strategy(Strategy::Recreate)
    }
}

/// Builds a [`ReplicaSet`](k8s_openapi::api::apps::v1::ReplicaSet).
///
/// `name` and `template` are required. The selector is derived from the template as for
/// [`deployment`](crate::builders::deployment). (Usually a Deployment manages ReplicaSets for
/// you.)
///
/// ```
/// use kubekit::builders::{container, pod_template, replica_set};
///
/// let rs = replica_set()
///     .name("web")
///     .replicas(2)
///     .template(
///         pod_template()
///             .label("app", "web")
///             .container(container().name("web").image("nginx:1.28").build()?)
///             .build(),
///     )
///     .build()?;
/// assert_eq!(rs.spec.and_then(|s| s.replicas), Some(2));
/// # Ok::<(), kubekit::builders::ValidationError>(())
/// ```
#[bon::builder(finish_fn = build, on(String, into))]
pub fn replica_set(
    #[builder(field)] labels: BTreeMap<String, String>,
    #[builder(field)] annotations: BTreeMap<String, String>,
    #[builder(field)] selector: BTreeMap<String, String>,
    /// The ReplicaSet's name, a DNS-1123 subdomain.
    name: String,
    /// The namespace; left to the client (its default namespace) when not set.
    namespace: Option<String>,
    /// The pods to run, e.g. from [`pod_template`](crate::builders::pod_template).
    // Boxed in the builder: bon moves the builder on every setter call, and a pod template
    // is 1.8 kB (BENCHMARKS.md, "Builders").
    #[builder(with = |template: impl Into<BuiltPodTemplate>| Box::new(template.into()))]
    template: Box<BuiltPodTemplate>,
    /// How many pods to run (Kubernetes' default: 1).
    replicas: Option<i32>,
    /// Seconds a new pod must be ready before it counts as available (`minReadySeconds`).
    min_ready_seconds: Option<i32>,
) -> Result<apps::ReplicaSet, ValidationError> {
    let ctx = Ctx {
        kind: "ReplicaSet",
        name: &name,
    };
    // The template stays in its box until it is moved into the object (one copy of it).
    let mut template = template;
    let checks = std::mem::take(&mut template.checks);
    checks.check_namespace(ctx, namespace.as_deref(), "spec.template.spec")?;
    let selector = derive_selector(ctx, &name, selector, &mut template.template)?;
    let replica_set = apps::ReplicaSet {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            namespace,
            labels: non_empty_map(labels),
            annotations: non_empty_map(annotations),
            ..Default::default()
        },
        spec: Some(apps::ReplicaSetSpec {
            replicas,
            selector,
            template: Some(template.template),
            min_ready_seconds,
            ..Default::default()
        }),
        ..Default::default()
    };
    with_validated_containers(checks.validated, || replica_set.validate())?;
    Ok(replica_set)
}

metadata_setters!(
    ReplicaSetBuilder,
    replica_set_builder::State,
    "ReplicaSet itself (not its pods)"
);

impl<S: replica_set_builder::State> ReplicaSetBuilder<S> {
    /// Selects the pods by these labels only (instead of all the template's labels) and adds
    /// them to the template.
    pub fn selector(
        mut self,
        labels: impl IntoIterator<Item = (impl Into<String>, impl Into<String>)>,
    ) -> Self {
        self.selector.extend(super::pod::labels_from(labels));
        self
    }
}

/// How a DaemonSet replaces its pods when its template changes (`updateStrategy`).
///
/// ```
/// use kubekit::builders::{IntOrPercent, UpdateStrategy};
/// let s = UpdateStrategy::rolling_update(IntOrPercent::percent(20));
/// let k8s: kubekit::k8s_openapi::api::apps::v1::DaemonSetUpdateStrategy = s.into();
/// assert_eq!(k8s.type_.as_deref(), Some("RollingUpdate"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UpdateStrategy {
    /// Replace pods node by node (Kubernetes' default: one unavailable node at a time).
    RollingUpdate {
        /// How many nodes' pods may be unavailable during the update (default 1).
        max_unavailable: Option<IntOrPercent>,
        /// How many nodes may run an old and a new pod at once (default 0).
        max_surge: Option<IntOrPercent>,
    },
    /// Replace a pod only when it is deleted.
    OnDelete,
}

impl UpdateStrategy {
    /// A rolling update with at most `max_unavailable` nodes' pods down at a time.
    pub fn rolling_update(max_unavailable: impl Into<IntOrPercent>) -> Self {
        UpdateStrategy::RollingUpdate {
            max_unavailable: Some(max_unavailable.into()),
            max_surge: None,
        }
    }
}

impl From<UpdateStrategy> for apps::DaemonSetUpdateStrategy {
    fn from(s: UpdateStrategy) -> Self {
        match s {
            UpdateStrategy::OnDelete => apps::DaemonSetUpdateStrategy {
                type_: Some("OnDelete".into()),
                ..Default::default()
            },
            UpdateStrategy::RollingUpdate {
                max_unavailable,
                max_surge,
            } => apps::DaemonSetUpdateStrategy {
                type_: Some("RollingUpdate".into()),
                rolling_update: if max_unavailable.is_none() && max_surge.is_none() {
                    None
                } else {
                    Some(apps::RollingUpdateDaemonSet {
                        max_unavailable: max_unavailable.map(Into::into),
                        max_surge: max_surge.map(Into::into),
                        ..Default::default()
                    })
                },
                ..Default::default()
            },
        }
    }
}

/// Builds a [`DaemonSet`](k8s_openapi::api::apps::v1::DaemonSet): one pod on every node (or
/// every node the template's `node_selector` picks).
///
/// `name` and `template` are required. The selector is derived from the template as for
/// [`deployment`](crate::builders::deployment). `build()` checks the template (pods restart
/// `Always`), the update strategy and the counts; the DaemonSet is ready when every node
/// that should run its pod runs an updated, available one.
///
/// ```
/// use kubekit::builders::{container, daemon_set, pod_template, IntOrPercent, UpdateStrategy};
///
/// let agent = daemon_set()
///     .name("log-agent")
///     .template(
///         pod_template()
///             .label("app", "log-agent")
///             .container(container().name("agent").image("fluent/fluent-bit:4.0").build()?)
///             .build(),
///     )
///     .update_strategy(UpdateStrategy::rolling_update(IntOrPercent::percent(25)))
///     .build()?;
/// let spec = agent.spec.expect("a DaemonSet has a spec");
/// assert_eq!(
///     spec.selector.match_labels.map(|l| l["app"].clone()).as_deref(),
///     Some("log-agent")
/// );
/// # Ok::<(), kubekit::builders::ValidationError>(())
/// ```
#[bon::builder(finish_fn = build, on(String, into))]
pub fn daemon_set(
    #[builder(field)] labels: BTreeMap<String, String>,
    #[builder(field)] annotations: BTreeMap<String, String>,
    #[builder(field)] selector: BTreeMap<String, String>,
    /// The DaemonSet's name, a DNS-1123 subdomain.
    name: String,
    /// The namespace; left to the client (its default namespace) when not set.
    namespace: Option<String>,
    /// The pod to run on each node, e.g. from [`pod_template`](crate::builders::pod_template).
    // Boxed in the builder: bon moves the builder on every setter call, and a pod template
    // is 1.8 kB (BENCHMARKS.md, "Builders").
    #[builder(with = |template: impl Into<BuiltPodTemplate>| Box::new(template.into()))]
    template: Box<BuiltPodTemplate>,
    /// How to replace pods when the template changes (`updateStrategy`, Kubernetes' default:
    /// a rolling update, one node at a time).
    update_strategy: Option<UpdateStrategy>,
    /// Seconds a new pod must be ready before it counts as available (`minReadySeconds`).
    min_ready_seconds: Option<i32>,
    /// How many old revisions to keep (`revisionHistoryLimit`, default 10).
    revision_history_limit: Option<i32>,
) -> Result<apps::DaemonSet, ValidationError> {
    let ctx = Ctx {
        kind: "DaemonSet",
        name: &name,
    };
    // The template stays in its box until it is moved into the object (one copy of it).
    let mut template = template;
    let checks = std::mem::take(&mut template.checks);
    checks.check_namespace(ctx, namespace.as_deref(), "spec.template.spec")?;
    let selector = derive_selector(ctx, &name, selector, &mut template.template)?;
    let daemon_set = apps::DaemonSet {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            namespace,
            labels: non_empty_map(labels),
            annotations: non_empty_map(annotations),
            ..Default::default()
        },
        spec: Some(apps::DaemonSetSpec {
            selector,
            template: template.template,
            update_strategy: update_strategy.map(Into::into),
            min_ready_seconds,
            revision_history_limit,
            ..Default::default()
        }),
        ..Default::default()
    };
    with_validated_containers(checks.validated, || daemon_set.validate())?;
    Ok(daemon_set)
}

metadata_setters!(
    DaemonSetBuilder,
    daemon_set_builder::State,
    "DaemonSet itself (not its pods)"
);

impl<S: daemon_set_builder::State> DaemonSetBuilder<S> {
    /// Selects the pods by these labels only (instead of all the template's labels) and adds
    /// them to the template.
    pub fn selector(
        mut self,
        labels: impl IntoIterator<Item = (impl Into<String>, impl Into<String>)>,
    ) -> Self {
        self.selector.extend(super::pod::labels_from(labels));
        self
    }
}
