//! Pods, pod templates and volumes.

// Struct literals end in `..Default::default()` even when every field is set: the fields of
// the k8s-openapi types depend on the Kubernetes version feature the final build picks.
#![allow(clippy::needless_update)]

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::api::core::v1 as core;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::ValidationError;
use super::built::{BuiltContainer, BuiltPodTemplate, BuiltVolume, PodChecks, SourceRef};
use super::container::{non_empty, non_empty_map};
use super::validate::{Ctx, Validate, with_validated_containers};

/// What the kubelet does when a pod's container exits (`restartPolicy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RestartPolicy {
    /// Always restart (the only policy a Deployment's or ReplicaSet's pods may have).
    Always,
    /// Restart only containers that exited with a non-zero status.
    OnFailure,
    /// Never restart.
    Never,
}

impl RestartPolicy {
    /// The value Kubernetes uses: `Always`, `OnFailure` or `Never`.
    pub fn as_str(self) -> &'static str {
        match self {
            RestartPolicy::Always => "Always",
            RestartPolicy::OnFailure => "OnFailure",
            RestartPolicy::Never => "Never",
        }
    }
}

impl fmt::Display for RestartPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An `emptyDir` volume named `name`: scratch space on the node's disk that lives as long as
/// the pod, shared by the containers that mount it (e.g. an app and its log shipper).
///
/// ```
/// let v = kubekit::builders::empty_dir("logs");
/// assert_eq!(v.name, "logs");
/// assert!(v.empty_dir.is_some());
/// ```
pub fn empty_dir(name: impl Into<String>) -> core::Volume {
    core::Volume {
        name: name.into(),
        empty_dir: Some(core::EmptyDirVolumeSource::default()),
        ..Default::default()
    }
}

/// An `emptyDir` volume backed by memory (tmpfs), optionally limited to `size_limit`
/// (a quantity such as `64Mi`).
///
/// ```
/// let v = kubekit::builders::empty_dir_in_memory("cache", Some("64Mi"));
/// assert_eq!(v.empty_dir.and_then(|e| e.medium).as_deref(), Some("Memory"));
/// ```
pub fn empty_dir_in_memory(name: impl Into<String>, size_limit: Option<&str>) -> core::Volume {
    core::Volume {
        name: name.into(),
        empty_dir: Some(core::EmptyDirVolumeSource {
            medium: Some("Memory".into()),
            size_limit: size_limit.map(|s| Quantity(s.into())),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A volume named `name` holding the keys of the ConfigMap `config_map` as files.
///
/// ```
/// let v = kubekit::builders::config_map_volume("config", "web-config");
/// assert_eq!(v.config_map.map(|c| c.name), Some("web-config".to_string()));
/// ```
pub fn config_map_volume(name: impl Into<String>, config_map: impl Into<String>) -> core::Volume {
    core::Volume {
        name: name.into(),
        config_map: Some(core::ConfigMapVolumeSource {
            name: config_map.into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A volume named `name` holding the keys of the Secret `secret` as files.
///
/// ```
/// let v = kubekit::builders::secret_volume("tls", "web-tls");
/// assert_eq!(v.secret.and_then(|s| s.secret_name).as_deref(), Some("web-tls"));
/// ```
pub fn secret_volume(name: impl Into<String>, secret: impl Into<String>) -> core::Volume {
    core::Volume {
        name: name.into(),
        secret: Some(core::SecretVolumeSource {
            secret_name: Some(secret.into()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub(crate) fn labels_from(
    labels: impl IntoIterator<Item = (impl Into<String>, impl Into<String>)>,
) -> BTreeMap<String, String> {
    labels
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect()
}

/// Adds `label`, `labels`, `annotation` and `annotations` to a builder that has `labels` and
/// `annotations` fields.
macro_rules! metadata_setters {
    ($builder:ident, $state:path, $what:literal) => {
        impl<S: $state> $builder<S> {
            $crate::builders::pod::metadata_setters!(@methods $what);
        }
    };
    (@methods $what:literal) => {
        #[doc = concat!("Adds a label to the ", $what, ".")]
        pub fn label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
            self.labels.insert(key.into(), value.into());
            self
        }

        #[doc = concat!(
            "Adds labels to the ", $what,
            ": anything that iterates over `(key, value)` pairs, e.g. `[(\"app\", \"web\")]`."
        )]
        pub fn labels(
            mut self,
            labels: impl IntoIterator<Item = (impl Into<String>, impl Into<String>)>,
        ) -> Self {
            self.labels.extend($crate::builders::pod::labels_from(labels));
            self
        }

        #[doc = concat!("Adds an annotation to the ", $what, ".")]
        pub fn annotation(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
            self.annotations.insert(key.into(), value.into());
            self
        }

        #[doc = concat!("Adds annotations to the ", $what, ".")]
        pub fn annotations(
            mut self,
            annotations: impl IntoIterator<Item = (impl Into<String>, impl Into<String>)>,
        ) -> Self {
            self.annotations
                .extend($crate::builders::pod::labels_from(annotations));
            self
        }
    };
}
pub(crate) use metadata_setters;

/// Adds the pod spec list setters to a builder that has `containers`, `init_containers`,
/// `volumes`, `node_selector`, `tolerations` and `topology_spread_constraints` fields.
macro_rules! pod_spec_setters {
    ($builder:ident, $state:path) => {
        impl<S: $state> $builder<S> {
            /// Adds a container after the one given to `container` (e.g. a log shipper that
            /// shares an [`empty_dir`](crate::builders::empty_dir) volume with it).
            /// Takes a [`BuiltContainer`](crate::builders::BuiltContainer) (not validated
            /// again) or a raw `Container` (validated by the workload).
            pub fn and_container(
                mut self,
                container: impl Into<$crate::builders::BuiltContainer>,
            ) -> Self {
                self.containers.push(container.into());
                self
            }

            /// Adds an init container: it runs to completion, in the order added, before the
            /// containers start.
            pub fn init_container(
                mut self,
                container: impl Into<$crate::builders::BuiltContainer>,
            ) -> Self {
                self.init_containers.push(container.into());
                self
            }

            /// Adds a volume the containers can mount, e.g.
            /// [`empty_dir("logs")`](crate::builders::empty_dir) or
            /// [`volume_from(...)`](crate::builders::volume_from).
            pub fn volume(mut self, volume: impl Into<$crate::builders::BuiltVolume>) -> Self {
                self.volumes.push(volume.into());
                self
            }

            /// Lets the pod run on nodes with a matching taint (`tolerations`).
            pub fn toleration(
                mut self,
                toleration: k8s_openapi::api::core::v1::Toleration,
            ) -> Self {
                self.tolerations.push(toleration);
                self
            }

            /// Spreads the pods over a topology, e.g. zones or nodes
            /// (`topologySpreadConstraints`).
            pub fn topology_spread(
                mut self,
                constraint: k8s_openapi::api::core::v1::TopologySpreadConstraint,
            ) -> Self {
                self.topology_spread_constraints.push(constraint);
                self
            }

            /// Only schedules the pod on nodes that have this label (`nodeSelector`).
            pub fn node_selector(
                mut self,
                key: impl Into<String>,
                value: impl Into<String>,
            ) -> Self {
                self.node_selector.insert(key.into(), value.into());
                self
            }
        }
    };
}

/// The parts of a pod spec the pod and pod template builders share.
struct SpecParts {
    container: Box<BuiltContainer>,
    containers: Vec<BuiltContainer>,
    init_containers: Vec<BuiltContainer>,
    volumes: Vec<BuiltVolume>,
    node_selector: BTreeMap<String, String>,
    restart_policy: Option<RestartPolicy>,
    service_account: Option<String>,
    termination_grace_period_seconds: Option<i64>,
    security_context: Option<core::PodSecurityContext>,
    affinity: Option<core::Affinity>,
    tolerations: Vec<core::Toleration>,
    topology_spread_constraints: Vec<core::TopologySpreadConstraint>,
}

impl SpecParts {
    /// The pod spec, and which containers were validated and which ConfigMaps and Secrets
    /// (with a namespace) the pod reads.
    fn into_spec(self) -> (core::PodSpec, PodChecks) {
        let mut checks = PodChecks::default();
        let mut containers = Vec::with_capacity(1 + self.containers.len());
        // Moved field by field out of the box (a container is 2 kB).
        let first = self.container;
        checks.validated |= u64::from(first.validated);
        add_sources(&mut checks, "containers", 0, first.sources);
        containers.push(first.container);
        for (i, built) in self.containers.into_iter().enumerate() {
            let i = i + 1;
            if built.validated && i < 64 {
                checks.validated |= 1 << i;
            }
            add_sources(&mut checks, "containers", i, built.sources);
            containers.push(built.container);
        }
        let mut init_containers = Vec::with_capacity(self.init_containers.len());
        for (i, built) in self.init_containers.into_iter().enumerate() {
            add_sources(&mut checks, "initContainers", i, built.sources);
            init_containers.push(built.container);
        }
        let mut volumes = Vec::with_capacity(self.volumes.len());
        for (i, built) in self.volumes.into_iter().enumerate() {
            if let Some(mut source) = built.source {
                source.field.list = "volumes";
                source.field.index = i;
                checks.sources.push(source);
            }
            volumes.push(built.volume);
        }
        let spec = core::PodSpec {
            containers,
            init_containers: non_empty(init_containers),
            volumes: non_empty(volumes),
            node_selector: non_empty_map(self.node_selector),
            restart_policy: self.restart_policy.map(|p| p.as_str().to_string()),
            service_account_name: self.service_account,
            termination_grace_period_seconds: self.termination_grace_period_seconds,
            security_context: self.security_context,
            affinity: self.affinity,
            tolerations: non_empty(self.tolerations),
            topology_spread_constraints: non_empty(self.topology_spread_constraints),
            ..Default::default()
        };
        (spec, checks)
    }
}

fn add_sources(checks: &mut PodChecks, list: &'static str, index: usize, sources: Vec<SourceRef>) {
    for mut source in sources {
        source.field.list = list;
        source.field.index = index;
        checks.sources.push(source);
    }
}

/// Builds a [`Pod`](k8s_openapi::api::core::v1::Pod).
///
/// `name` and `container` (the first container) are required: a pod without either does not
/// compile. More containers go in with [`and_container`](PodBuilder::and_container).
/// `build()` checks the whole pod against Kubernetes' rules (names, duplicate containers and
/// ports, volume mounts naming existing volumes, ...).
///
/// ```
/// use kubekit::builders::{container, empty_dir, pod, ContainerPort, PullPolicy, RestartPolicy};
///
/// let web = container()
///     .name("web")
///     .image("nginx:1.28")
///     .pull_policy(PullPolicy::IfNotPresent)
///     .port(ContainerPort::http(80))
///     .mount("logs", "/var/log/nginx")
///     .build()?;
/// let shipper = container()
///     .name("log-shipper")
///     .image("busybox:1.37")
///     .command(["sh", "-c", "tail -F /logs/access.log"])
///     .mount_read_only("logs", "/logs")
///     .build()?;
/// let p = pod()
///     .name("web")
///     .namespace("demo")
///     .label("app", "web")
///     .container(web)
///     .and_container(shipper)
///     .volume(empty_dir("logs"))
///     .restart_policy(RestartPolicy::Always)
///     .build()?;
/// assert_eq!(p.spec.map(|s| s.containers.len()), Some(2));
/// # Ok::<(), kubekit::builders::ValidationError>(())
/// ```
#[bon::builder(finish_fn = build, on(String, into))]
pub fn pod(
    #[builder(field)] labels: BTreeMap<String, String>,
    #[builder(field)] annotations: BTreeMap<String, String>,
    #[builder(field)] containers: Vec<BuiltContainer>,
    #[builder(field)] init_containers: Vec<BuiltContainer>,
    #[builder(field)] volumes: Vec<BuiltVolume>,
    #[builder(field)] node_selector: BTreeMap<String, String>,
    #[builder(field)] tolerations: Vec<core::Toleration>,
    #[builder(field)] topology_spread_constraints: Vec<core::TopologySpreadConstraint>,
    /// The pod's name, a DNS-1123 subdomain.
    name: String,
    /// The namespace; left to the client (its default namespace) when not set.
    namespace: Option<String>,
    /// The pod's first container; add more with
    /// [`and_container`](PodBuilder::and_container).
    #[builder(with = |container: impl Into<BuiltContainer>| Box::new(container.into()))]
    container: Box<BuiltContainer>,
    /// What happens when a container exits (`restartPolicy`, Kubernetes' default: `Always`).
    restart_policy: Option<RestartPolicy>,
    /// The service account the pod runs as (`serviceAccountName`).
    service_account: Option<String>,
    /// Seconds the pod gets to shut down after SIGTERM (`terminationGracePeriodSeconds`).
    termination_grace_period_seconds: Option<i64>,
    /// Pod-wide privileges and access control (`securityContext`): users, groups,
    /// `fsGroup`, seccomp.
    security_context: Option<core::PodSecurityContext>,
    /// Which nodes (and next to which pods) the pod may or should be scheduled (`affinity`).
    affinity: Option<core::Affinity>,
) -> Result<core::Pod, ValidationError> {
    let (spec, checks) = SpecParts {
        container,
        containers,
        init_containers,
        volumes,
        node_selector,
        restart_policy,
        service_account,
        termination_grace_period_seconds,
        security_context,
        affinity,
        tolerations,
        topology_spread_constraints,
    }
    .into_spec();
    let ctx = Ctx {
        kind: "Pod",
        name: &name,
    };
    checks.check_namespace(ctx, namespace.as_deref(), "spec")?;
    let pod = core::Pod {
        metadata: ObjectMeta {
            name: Some(name),
            namespace,
            labels: non_empty_map(labels),
            annotations: non_empty_map(annotations),
            ..Default::default()
        },
        spec: Some(spec),
        ..Default::default()
    };
    with_validated_containers(checks.validated, || pod.validate())?;
    Ok(pod)
}

metadata_setters!(PodBuilder, pod_builder::State, "pod");
pod_spec_setters!(PodBuilder, pod_builder::State);

/// Builds a [`PodTemplateSpec`](k8s_openapi::api::core::v1::PodTemplateSpec), the pods of a
/// [`deployment`](crate::builders::deployment) or [`replica_set`](crate::builders::replica_set).
///
/// `container` (the first container) is required. The template is checked when the Deployment
/// or ReplicaSet is built, where errors can name it, so `build()` here cannot fail. Its labels
/// become the Deployment's selector. It returns a [`BuiltPodTemplate`]: the `k8s-openapi`
/// `PodTemplateSpec` plus what the workload checks (which containers were validated already,
/// the namespaces of the ConfigMaps and Secrets the pods read).
///
/// ```
/// use kubekit::builders::{container, pod_template};
///
/// let template = pod_template()
///     .label("app", "web")
///     .container(container().name("web").image("nginx:1.28").port(80).build()?)
///     .build();
/// assert_eq!(
///     template.into_inner().metadata.and_then(|m| m.labels).map(|l| l["app"].clone()).as_deref(),
///     Some("web")
/// );
/// # Ok::<(), kubekit::builders::ValidationError>(())
/// ```
#[bon::builder(finish_fn = build, on(String, into))]
pub fn pod_template(
    #[builder(field)] labels: BTreeMap<String, String>,
    #[builder(field)] annotations: BTreeMap<String, String>,
    #[builder(field)] containers: Vec<BuiltContainer>,
    #[builder(field)] init_containers: Vec<BuiltContainer>,
    #[builder(field)] volumes: Vec<BuiltVolume>,
    #[builder(field)] node_selector: BTreeMap<String, String>,
    #[builder(field)] tolerations: Vec<core::Toleration>,
    #[builder(field)] topology_spread_constraints: Vec<core::TopologySpreadConstraint>,
    /// The pods' first container; add more with
    /// [`and_container`](PodTemplateBuilder::and_container).
    #[builder(with = |container: impl Into<BuiltContainer>| Box::new(container.into()))]
    container: Box<BuiltContainer>,
    /// What happens when a container exits (`restartPolicy`); Deployments and ReplicaSets only
    /// accept `Always`, Kubernetes' default.
    restart_policy: Option<RestartPolicy>,
    /// The service account the pods run as (`serviceAccountName`).
    service_account: Option<String>,
    /// Seconds a pod gets to shut down after SIGTERM (`terminationGracePeriodSeconds`).
    termination_grace_period_seconds: Option<i64>,
    /// Pod-wide privileges and access control (`securityContext`): users, groups,
    /// `fsGroup`, seccomp.
    security_context: Option<core::PodSecurityContext>,
    /// Which nodes (and next to which pods) the pod may or should be scheduled (`affinity`).
    affinity: Option<core::Affinity>,
) -> BuiltPodTemplate {
    let metadata = if labels.is_empty() && annotations.is_empty() {
        None
    } else {
        Some(ObjectMeta {
            labels: non_empty_map(labels),
            annotations: non_empty_map(annotations),
            ..Default::default()
        })
    };
    let (spec, checks) = SpecParts {
        container,
        containers,
        init_containers,
        volumes,
        node_selector,
        restart_policy,
        service_account,
        termination_grace_period_seconds,
        security_context,
        affinity,
        tolerations,
        topology_spread_constraints,
    }
    .into_spec();
    BuiltPodTemplate {
        template: core::PodTemplateSpec {
            metadata,
            spec: Some(spec),
            ..Default::default()
        },
        checks,
    }
}

metadata_setters!(PodTemplateBuilder, pod_template_builder::State, "pods");
pod_spec_setters!(PodTemplateBuilder, pod_template_builder::State);

impl<S: pod_builder::State> PodBuilder<S> {
    /// Runs the pod as a built ServiceAccount (`serviceAccountName`): its name comes from the
    /// ServiceAccount.
    ///
    /// ```
    /// use kubekit::builders::{container, pod, service_account};
    /// let reader = service_account().name("reader").build()?;
    /// let p = pod()
    ///     .name("p")
    ///     .container(container().name("c").image("busybox:1.37").build()?)
    ///     .service_account_from(&reader)
    ///     .build()?;
    /// assert_eq!(p.spec.and_then(|s| s.service_account_name).as_deref(), Some("reader"));
    /// # Ok::<(), kubekit::builders::ValidationError>(())
    /// ```
    pub fn service_account_from(
        self,
        account: &core::ServiceAccount,
    ) -> PodBuilder<pod_builder::SetServiceAccount<S>>
    where
        S::ServiceAccount: pod_builder::IsUnset,
    {
        self.service_account(account.metadata.name.clone().unwrap_or_default())
    }
}

impl<S: pod_template_builder::State> PodTemplateBuilder<S> {
    /// Runs the pods as a built ServiceAccount (`serviceAccountName`): its name comes from the
    /// ServiceAccount (which must be in the workload's namespace).
    ///
    /// ```
    /// use kubekit::builders::{container, pod_template, service_account};
    /// let worker = service_account().name("worker").build()?;
    /// let t = pod_template()
    ///     .container(container().name("c").image("busybox:1.37").build()?)
    ///     .service_account_from(&worker)
    ///     .build();
    /// assert_eq!(t.into_inner().spec.and_then(|s| s.service_account_name).as_deref(), Some("worker"));
    /// # Ok::<(), kubekit::builders::ValidationError>(())
    /// ```
    pub fn service_account_from(
        self,
        account: &core::ServiceAccount,
    ) -> PodTemplateBuilder<pod_template_builder::SetServiceAccount<S>>
    where
        S::ServiceAccount: pod_template_builder::IsUnset,
    {
        self.service_account(account.metadata.name.clone().unwrap_or_default())
    }
}
