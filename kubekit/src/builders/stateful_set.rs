//! StatefulSets, their volume claim templates and the headless Service that names their pods.

// Struct literals end in `..Default::default()` even when every field is set: the fields of
// the k8s-openapi types depend on the Kubernetes version feature the final build picks.
#![allow(clippy::needless_update)]

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::api::apps::v1 as apps;
use k8s_openapi::api::core::v1 as core;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::ValidationError;
use super::built::BuiltPodTemplate;
use super::container::{PortRef, non_empty, non_empty_map};
use super::pod::metadata_setters;
use super::service::{ServicePort, ServiceTarget, check_target_ports};
use super::validate::{Ctx, Validate, with_validated_containers};
use super::workload::derive_selector;

/// How a StatefulSet starts and stops its pods (`podManagementPolicy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PodManagementPolicy {
    /// One at a time, in order: pod `n+1` starts once pod `n` is ready (Kubernetes' default).
    #[default]
    OrderedReady,
    /// All at once.
    Parallel,
}

impl PodManagementPolicy {
    /// The value Kubernetes uses: `OrderedReady` or `Parallel`.
    ///
    /// ```
    /// assert_eq!(kubekit::builders::PodManagementPolicy::Parallel.as_str(), "Parallel");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            PodManagementPolicy::OrderedReady => "OrderedReady",
            PodManagementPolicy::Parallel => "Parallel",
        }
    }
}

impl fmt::Display for PodManagementPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Builds a [`StatefulSet`](k8s_openapi::api::apps::v1::StatefulSet): pods with stable names
/// (`<name>-0`, `<name>-1`, ...), stable DNS names and, with
/// [`volume_claim_template`](StatefulSetBuilder::volume_claim_template), a volume of their own
/// each.
///
/// `name` and `template` are required. The selector is derived from the template as for
/// [`deployment`](crate::builders::deployment).
///
/// # The headless Service
///
/// A StatefulSet's pods get their DNS names (`db-0.db.<namespace>.svc`) from the headless
/// Service its `serviceName` names. Here `serviceName` is the StatefulSet's name unless set
/// with [`service_name`](StatefulSetBuilder::service_name), and the Service is made from the
/// StatefulSet with [`headless_service_for`](crate::builders::headless_service_for), which takes
/// its name from `serviceName` and its namespace and selector from the StatefulSet: the two
/// cannot disagree.
///
/// # Volume claim templates
///
/// Each [`volume_claim_template`](StatefulSetBuilder::volume_claim_template) is a claim built
/// with [`persistent_volume_claim`](crate::builders::persistent_volume_claim); every pod gets
/// its own claim, `<claim>-<pod>`, which its containers mount by the claim's name
/// (`.mount("data", "/var/lib/data")`). `build()` checks that the claims are valid, that their
/// names are unique and no pod volume's name, and that a claim with a namespace has the
/// StatefulSet's (the namespace is then left out: claims are made in the StatefulSet's).
///
/// ```
/// use kubekit::builders::{
///     container, headless_service_for, persistent_volume_claim, pod_template, stateful_set,
///     ContainerPort,
/// };
///
/// let db = stateful_set()
///     .name("db")
///     .replicas(2)
///     .template(
///         pod_template()
///             .label("app", "db")
///             .container(
///                 container()
///                     .name("postgres")
///                     .image("postgres:17")
///                     .port(ContainerPort::named("postgres", 5432))
///                     .mount("data", "/var/lib/postgresql/data")
///                     .build()?,
///             )
///             .build(),
///     )
///     .volume_claim_template(persistent_volume_claim().name("data").storage("1Gi").build()?)
///     .build()?;
/// let service = headless_service_for(&db).port(5432, "postgres").build()?;
///
/// assert_eq!(service.metadata.name.as_deref(), Some("db"));
/// assert_eq!(db.spec.as_ref().and_then(|s| s.service_name.as_deref()), Some("db"));
/// assert_eq!(service.spec.as_ref().and_then(|s| s.cluster_ip.as_deref()), Some("None"));
/// # Ok::<(), kubekit::builders::ValidationError>(())
/// ```
#[bon::builder(finish_fn = build, on(String, into))]
pub fn stateful_set(
    #[builder(field)] labels: BTreeMap<String, String>,
    #[builder(field)] annotations: BTreeMap<String, String>,
    #[builder(field)] selector: BTreeMap<String, String>,
    #[builder(field)] volume_claim_templates: Vec<core::PersistentVolumeClaim>,
    /// The StatefulSet's name, a DNS-1123 subdomain; its pods are `<name>-<ordinal>`.
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
    /// The headless Service that gives the pods their DNS names (`serviceName`); the
    /// StatefulSet's name when not set. Make it with
    /// [`headless_service_for`](crate::builders::headless_service_for).
    service_name: Option<String>,
    /// Start pods one by one (Kubernetes' default) or all at once (`podManagementPolicy`).
    pod_management_policy: Option<PodManagementPolicy>,
    /// Seconds a new pod must be ready before it counts as available (`minReadySeconds`).
    min_ready_seconds: Option<i32>,
    /// How many old revisions to keep (`revisionHistoryLimit`, default 10).
    revision_history_limit: Option<i32>,
) -> Result<apps::StatefulSet, ValidationError> {
    let ctx = Ctx {
        kind: "StatefulSet",
        name: &name,
    };
    // The template stays in its box until it is moved into the object (one copy of it).
    let mut template = template;
    let checks = std::mem::take(&mut template.checks);
    checks.check_namespace(ctx, namespace.as_deref(), "spec.template.spec")?;
    let selector = derive_selector(ctx, &name, selector, &mut template.template)?;
    let mut claims = volume_claim_templates;
    for (i, claim) in claims.iter_mut().enumerate() {
        if let Some(claim_namespace) = claim.metadata.namespace.take()
            && namespace.as_ref().is_some_and(|ns| *ns != claim_namespace)
        {
            return Err(ctx.err(
                format!("spec.volumeClaimTemplates[{i}].metadata.namespace"),
                claim_namespace,
                format!(
                    "does not match the StatefulSet's namespace \"{}\": its claims are made in \
                     the StatefulSet's namespace",
                    namespace.as_deref().unwrap_or_default()
                ),
            ));
        }
        claim.status = None;
    }
    let service_name = service_name.unwrap_or_else(|| name.clone());
    let set = apps::StatefulSet {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            namespace,
            labels: non_empty_map(labels),
            annotations: non_empty_map(annotations),
            ..Default::default()
        },
        spec: Some(apps::StatefulSetSpec {
            replicas,
            selector,
            template: template.template,
            service_name: Some(service_name),
            pod_management_policy: pod_management_policy.map(|p| p.as_str().to_string()),
            min_ready_seconds,
            revision_history_limit,
            volume_claim_templates: non_empty(claims),
            ..Default::default()
        }),
        ..Default::default()
    };
    with_validated_containers(checks.validated, || set.validate())?;
    Ok(set)
}

metadata_setters!(
    StatefulSetBuilder,
    stateful_set_builder::State,
    "StatefulSet itself (not its pods)"
);

impl<S: stateful_set_builder::State> StatefulSetBuilder<S> {
    /// Selects the pods by these labels only (instead of all the template's labels) and adds
    /// them to the template.
    pub fn selector(
        mut self,
        labels: impl IntoIterator<Item = (impl Into<String>, impl Into<String>)>,
    ) -> Self {
        self.selector.extend(super::pod::labels_from(labels));
        self
    }

    /// Adds a volume claim template: each pod gets a claim made from it (named
    /// `<claim>-<pod>`), which its containers mount by the claim's name. Build it with
    /// [`persistent_volume_claim`](crate::builders::persistent_volume_claim).
    pub fn volume_claim_template(mut self, claim: core::PersistentVolumeClaim) -> Self {
        self.volume_claim_templates.push(claim);
        self
    }
}

/// Builds the headless [`Service`](k8s_openapi::api::core::v1::Service) (`clusterIP: None`) a
/// StatefulSet's pods get their DNS names from.
///
/// Nothing is required: the name is the StatefulSet's `serviceName`, the namespace and the
/// selector are the StatefulSet's, so the Service and the StatefulSet cannot disagree. Ports
/// are optional for a headless Service (DNS needs none); a port whose target is a name must
/// name a container port of the StatefulSet's pods.
///
/// ```
/// use kubekit::builders::{container, headless_service_for, pod_template, stateful_set};
///
/// let db = stateful_set()
///     .name("db")
///     .service_name("db-peers")
///     .template(
///         pod_template().container(container().name("db").image("postgres:17").build()?).build(),
///     )
///     .build()?;
/// let peers = headless_service_for(&db).build()?;
/// assert_eq!(peers.metadata.name.as_deref(), Some("db-peers"));
///
/// // A named target port must be one of the pods' ports.
/// let err = headless_service_for(&db).port(5432, "postgres").build().unwrap_err();
/// assert_eq!(err.field, "spec.ports[0].targetPort");
/// # Ok::<(), kubekit::builders::ValidationError>(())
/// ```
#[bon::builder(finish_fn = build)]
pub fn headless_service_for(
    #[builder(start_fn)] set: &apps::StatefulSet,
    #[builder(field)] labels: BTreeMap<String, String>,
    #[builder(field)] annotations: BTreeMap<String, String>,
    #[builder(field)] ports: Vec<ServicePort>,
    /// Publish the DNS records of pods before they are ready (`publishNotReadyAddresses`), as
    /// peers that find each other while starting need.
    publish_not_ready_addresses: Option<bool>,
) -> Result<core::Service, ValidationError> {
    let set_name = set.metadata.name.as_deref().unwrap_or_default();
    let target_desc = format!("StatefulSet \"{set_name}\"");
    let name = set
        .spec
        .as_ref()
        .and_then(|s| s.service_name.clone())
        .filter(|n| !n.is_empty())
        .ok_or_else(|| {
            ValidationError::new(
                "Service",
                "",
                "metadata.name",
                "",
                format!("cannot be derived: {target_desc} has no spec.serviceName"),
            )
        })?;
    let ctx = Ctx {
        kind: "Service",
        name: &name,
    };
    let selector = set.selector_labels().map_err(|why| {
        ctx.err(
            "spec.selector",
            "",
            format!("cannot be derived: {target_desc} {why}"),
        )
    })?;
    check_target_ports(ctx, set, &target_desc, &ports)?;
    let mut service = super::service::service_object(
        name.clone(),
        set.metadata.namespace.clone(),
        labels,
        annotations,
        selector,
        ports.into_iter().map(core::ServicePort::from).collect(),
        None,
    );
    if let Some(spec) = service.spec.as_mut() {
        spec.cluster_ip = Some("None".into());
        spec.ports = spec.ports.take().and_then(non_empty);
        spec.publish_not_ready_addresses = publish_not_ready_addresses;
    }
    service.validate()?;
    Ok(service)
}

impl<'a, S: headless_service_for_builder::State> HeadlessServiceForBuilder<'a, S> {
    metadata_setters!(@methods "Service");

    /// Adds a port: clients connect to `port`, traffic goes to `target` on the pods (a number,
    /// or the name of a container port, which also becomes this port's name).
    pub fn port(mut self, port: i32, target: impl Into<PortRef>) -> Self {
        self.ports.push(ServicePort::new(port, target));
        self
    }

    /// Adds a port from a [`ServicePort`] (for a name or a protocol).
    pub fn port_spec(mut self, port: ServicePort) -> Self {
        self.ports.push(port);
        self
    }
}
