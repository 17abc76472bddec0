//! Services, standalone or made for a Deployment, ReplicaSet or Pod.

// Struct literals end in `..Default::default()` even when every field is set: the fields of
// the k8s-openapi types depend on the Kubernetes version feature the final build picks.
#![allow(clippy::needless_update)]

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::api::apps::v1 as apps;
use k8s_openapi::api::core::v1 as core;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::ValidationError;
use super::container::{PortRef, Protocol, non_empty_map};
use super::pod::{labels_from, metadata_setters};
use super::validate::{Ctx, Validate};

/// How a Service is exposed (`spec.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ServiceType {
    /// A virtual IP inside the cluster only (Kubernetes' default).
    #[default]
    ClusterIp,
    /// Also a port on every node (`nodePort`, by default from 30000-32767).
    NodePort,
    /// Also an external load balancer, where the cluster provides one.
    LoadBalancer,
}

impl ServiceType {
    /// The value Kubernetes uses: `ClusterIP`, `NodePort` or `LoadBalancer`.
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceType::ClusterIp => "ClusterIP",
            ServiceType::NodePort => "NodePort",
            ServiceType::LoadBalancer => "LoadBalancer",
        }
    }
}

impl fmt::Display for ServiceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A port of a Service: the port clients connect to, the pods' port it forwards to (a number
/// or the name of a container port), and optionally a name, a protocol and a node port.
///
/// A port whose target is a name takes that name as its own unless given another.
///
/// ```
/// use kubekit::builders::{Protocol, ServicePort};
/// let http = ServicePort::new(80, "http");
/// let dns = ServicePort::new(53, 5353).name("dns").protocol(Protocol::Udp);
/// let node = ServicePort::new(80, "http").node_port(30080);
/// let k8s: kubekit::k8s_openapi::api::core::v1::ServicePort = http.into();
/// assert_eq!(k8s.name.as_deref(), Some("http"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServicePort {
    /// The port clients connect to (`port`).
    pub port: i32,
    /// The pods' port the traffic goes to (`targetPort`).
    pub target: PortRef,
    /// The port's name; required when a Service has several ports.
    pub name: Option<String>,
    /// The protocol; left out (Kubernetes then uses TCP) when `None`.
    pub protocol: Option<Protocol>,
    /// The port on every node for `NodePort` and `LoadBalancer` Services; Kubernetes picks
    /// one when `None`.
    pub node_port: Option<i32>,
}

impl ServicePort {
    /// A port `port` forwarding to `target` (a number or a container port's name).
    pub fn new(port: i32, target: impl Into<PortRef>) -> Self {
        Self {
            port,
            target: target.into(),
            name: None,
            protocol: None,
            node_port: None,
        }
    }

    /// Sets the port's name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the protocol.
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = Some(protocol);
        self
    }

    /// Sets the node port (`NodePort` and `LoadBalancer` Services only).
    pub fn node_port(mut self, node_port: i32) -> Self {
        self.node_port = Some(node_port);
        self
    }
}

impl From<ServicePort> for core::ServicePort {
    fn from(p: ServicePort) -> Self {
        let name = p.name.or_else(|| match &p.target {
            PortRef::Name(name) => Some(name.clone()),
            PortRef::Number(_) => None,
        });
        core::ServicePort {
            port: p.port,
            target_port: Some(p.target.into()),
            name,
            protocol: p.protocol.map(|p| p.as_str().to_string()),
            node_port: p.node_port,
            ..Default::default()
        }
    }
}

/// Adds `port`, `port_spec`, `and_port` and `and_port_spec` to a Service builder with a
/// required `port` member (whose generated setter is `port_internal`) and an `extra_ports`
/// field.
macro_rules! port_setters {
    (impl [$($impl_gen:tt)*] $builder:ident [$($ty_gen:tt)*] state $state:ident) => {
        impl<$($impl_gen)* S: $state::State> $builder<$($ty_gen)* S> {
            /// Sets the Service's first port: clients connect to `port`, traffic goes to
            /// `target` on the pods (a number, or the name of a container port, which also
            /// becomes this port's name). Add more ports with `and_port`.
            pub fn port(
                self,
                port: i32,
                target: impl Into<PortRef>,
            ) -> $builder<$($ty_gen)* $state::SetPort<S>>
            where
                S::Port: $state::IsUnset,
            {
                self.port_internal(ServicePort::new(port, target))
            }

            /// Sets the Service's first port from a [`ServicePort`] (for a name, protocol or
            /// node port).
            pub fn port_spec(
                self,
                port: ServicePort,
            ) -> $builder<$($ty_gen)* $state::SetPort<S>>
            where
                S::Port: $state::IsUnset,
            {
                self.port_internal(port)
            }

            /// Adds another port (see `port`). With several ports, each needs a name: use a
            /// named target or [`and_port_spec`](Self::and_port_spec) with a name.
            pub fn and_port(mut self, port: i32, target: impl Into<PortRef>) -> Self {
                self.extra_ports.push(ServicePort::new(port, target));
                self
            }

            /// Adds another port from a [`ServicePort`].
            pub fn and_port_spec(mut self, port: ServicePort) -> Self {
                self.extra_ports.push(port);
                self
            }
        }
    };
}

pub(crate) fn service_object(
    name: String,
    namespace: Option<String>,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    selector: BTreeMap<String, String>,
    ports: Vec<core::ServicePort>,
    service_type: Option<ServiceType>,
) -> core::Service {
    core::Service {
        metadata: ObjectMeta {
            name: Some(name),
            namespace,
            labels: non_empty_map(labels),
            annotations: non_empty_map(annotations),
            ..Default::default()
        },
        spec: Some(core::ServiceSpec {
            selector: non_empty_map(selector),
            ports: Some(ports),
            type_: service_type.map(|t| t.as_str().to_string()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Builds a [`Service`](k8s_openapi::api::core::v1::Service) that selects pods by labels.
///
/// `name`, `selector` and a first `port` are required: a Service without any of them does not
/// compile. To make a Service for a Deployment, ReplicaSet or Pod, whose selector and named
/// ports are checked against it, use [`service_for`](crate::builders::service_for).
///
/// ```
/// use kubekit::builders::{service, ServicePort, ServiceType};
///
/// let s = service()
///     .name("web")
///     .selector([("app", "web")])
///     .port(80, "http")
///     .and_port_spec(ServicePort::new(443, "https").node_port(30443))
///     .service_type(ServiceType::NodePort)
///     .build()?;
/// assert_eq!(s.spec.and_then(|s| s.ports).map(|p| p.len()), Some(2));
/// # Ok::<(), kubekit::builders::ValidationError>(())
/// ```
#[bon::builder(finish_fn = build, on(String, into))]
pub fn service(
    #[builder(field)] labels: BTreeMap<String, String>,
    #[builder(field)] annotations: BTreeMap<String, String>,
    #[builder(field)] extra_ports: Vec<ServicePort>,
    /// The Service's name, a DNS-1035 label (it starts with a letter): it becomes a DNS name.
    name: String,
    /// The namespace; left to the client (its default namespace) when not set.
    namespace: Option<String>,
    /// The labels of the pods the Service sends traffic to: anything that iterates over
    /// `(key, value)` pairs, e.g. `[("app", "web")]`.
    #[builder(with = |labels: impl IntoIterator<Item = (impl Into<String>, impl Into<String>)>| labels_from(labels))]
    selector: BTreeMap<String, String>,
    /// The first port; see [`port`](ServiceBuilder::port).
    #[builder(setters(vis = "", name = port_internal))]
    port: ServicePort,
    /// How the Service is exposed (`type`, Kubernetes' default: `ClusterIP`).
    service_type: Option<ServiceType>,
) -> Result<core::Service, ValidationError> {
    let ctx = Ctx {
        kind: "Service",
        name: &name,
    };
    if selector.is_empty() {
        return Err(ctx.err(
            "spec.selector",
            "",
            "must not be empty: a Service built by kubekit sends traffic to the pods it selects",
        ));
    }
    let ports = std::iter::once(port)
        .chain(extra_ports)
        .map(core::ServicePort::from)
        .collect();
    let service = service_object(
        name.clone(),
        namespace,
        labels,
        annotations,
        selector,
        ports,
        service_type,
    );
    service.validate()?;
    Ok(service)
}

metadata_setters!(ServiceBuilder, service_builder::State, "Service");
// (Brace-delimited so that rustfmt leaves the generics alone.)
port_setters! { impl [] ServiceBuilder [] state service_builder }

mod sealed {
    pub trait Sealed {}
    impl Sealed for k8s_openapi::api::apps::v1::Deployment {}
    impl Sealed for k8s_openapi::api::apps::v1::ReplicaSet {}
    impl Sealed for k8s_openapi::api::core::v1::Pod {}
    impl Sealed for k8s_openapi::api::apps::v1::StatefulSet {}
    impl Sealed for k8s_openapi::api::apps::v1::DaemonSet {}
    impl Sealed for k8s_openapi::api::batch::v1::Job {}
}

/// Something a Service can be made for with [`service_for`]: a [`Deployment`](apps::Deployment),
/// a [`ReplicaSet`](apps::ReplicaSet), a [`StatefulSet`](apps::StatefulSet), a
/// [`DaemonSet`](apps::DaemonSet), a [`Pod`](core::Pod) or a
/// [`Job`](k8s_openapi::api::batch::v1::Job) (whose pods have template labels). The same trait
/// names the pods of a PodDisruptionBudget or a NetworkPolicy (and a policy's peers).
pub trait ServiceTarget: sealed::Sealed {
    /// The target's kind, e.g. `Deployment`.
    fn kind(&self) -> &'static str;
    /// The target's metadata (name and namespace).
    fn metadata(&self) -> &ObjectMeta;
    /// The labels that select the target's pods, or why there are none usable.
    fn selector_labels(&self) -> Result<BTreeMap<String, String>, &'static str>;
    /// The spec of the target's pods, whose containers' named ports the Service can target.
    fn pod_spec(&self) -> Option<&core::PodSpec>;
}

fn selector_of(
    selector: &k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector,
) -> Result<BTreeMap<String, String>, &'static str> {
    if selector
        .match_expressions
        .as_ref()
        .is_some_and(|e| !e.is_empty())
    {
        return Err("uses matchExpressions, which a Service selector cannot express");
    }
    match &selector.match_labels {
        Some(labels) if !labels.is_empty() => Ok(labels.clone()),
        _ => Err("has no matchLabels to select its pods by"),
    }
}

impl ServiceTarget for apps::Deployment {
    fn kind(&self) -> &'static str {
        "Deployment"
    }
    fn metadata(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn selector_labels(&self) -> Result<BTreeMap<String, String>, &'static str> {
        match &self.spec {
            Some(spec) => selector_of(&spec.selector),
            None => Err("has no spec"),
        }
    }
    fn pod_spec(&self) -> Option<&core::PodSpec> {
        self.spec.as_ref()?.template.spec.as_ref()
    }
}

impl ServiceTarget for apps::ReplicaSet {
    fn kind(&self) -> &'static str {
        "ReplicaSet"
    }
    fn metadata(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn selector_labels(&self) -> Result<BTreeMap<String, String>, &'static str> {
        match &self.spec {
            Some(spec) => selector_of(&spec.selector),
            None => Err("has no spec"),
        }
    }
    fn pod_spec(&self) -> Option<&core::PodSpec> {
        self.spec.as_ref()?.template.as_ref()?.spec.as_ref()
    }
}

/// `ServiceTarget` for a controller whose spec has a `selector` and a `template`.
macro_rules! workload_target {
    ($ty:ty, $kind:literal) => {
        impl ServiceTarget for $ty {
            fn kind(&self) -> &'static str {
                $kind
            }
            fn metadata(&self) -> &ObjectMeta {
                &self.metadata
            }
            fn selector_labels(&self) -> Result<BTreeMap<String, String>, &'static str> {
                match &self.spec {
                    Some(spec) => selector_of(&spec.selector),
                    None => Err("has no spec"),
                }
            }
            fn pod_spec(&self) -> Option<&core::PodSpec> {
                self.spec.as_ref()?.template.spec.as_ref()
            }
        }
    };
}

workload_target!(apps::StatefulSet, "StatefulSet");
workload_target!(apps::DaemonSet, "DaemonSet");

/// A Job's pods, by its template's labels (the Job's own selector is the API server's): a
/// peer for a NetworkPolicy (a migration Job reaching its database).
impl ServiceTarget for k8s_openapi::api::batch::v1::Job {
    fn kind(&self) -> &'static str {
        "Job"
    }
    fn metadata(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn selector_labels(&self) -> Result<BTreeMap<String, String>, &'static str> {
        let labels = self
            .spec
            .as_ref()
            .and_then(|s| s.template.metadata.as_ref())
            .and_then(|m| m.labels.as_ref());
        match labels {
            Some(labels) if !labels.is_empty() => Ok(labels.clone()),
            _ => Err("has no pod template labels to select its pods by"),
        }
    }
    fn pod_spec(&self) -> Option<&core::PodSpec> {
        self.spec.as_ref()?.template.spec.as_ref()
    }
}

impl ServiceTarget for core::Pod {
    fn kind(&self) -> &'static str {
        "Pod"
    }
    fn metadata(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn selector_labels(&self) -> Result<BTreeMap<String, String>, &'static str> {
        match &self.metadata.labels {
            Some(labels) if !labels.is_empty() => Ok(labels.clone()),
            _ => Err("has no labels to select it by"),
        }
    }
    fn pod_spec(&self) -> Option<&core::PodSpec> {
        self.spec.as_ref()
    }
}

/// Builds a [`Service`](k8s_openapi::api::core::v1::Service) for a Deployment, ReplicaSet or
/// Pod (see [`ServiceTarget`]).
///
/// The selector is the target's selector (a Pod's labels), and the namespace is the target's,
/// so the Service always finds its pods. Named target ports are resolved against the target's
/// containers: `.port(80, "http")` must name a container port `http` with the same protocol,
/// or `build()` fails naming it. `name` and a first `port` are required.
///
/// ```
/// use kubekit::builders::{container, deployment, pod_template, service_for, ContainerPort};
///
/// let d = deployment()
///     .name("web")
///     .template(
///         pod_template()
///             .label("app", "web")
///             .container(
///                 container().name("web").image("nginx:1.28").port(ContainerPort::http(80)).build()?,
///             )
///             .build(),
///     )
///     .build()?;
/// let s = service_for(&d).name("web").port(80, "http").build()?;
/// assert_eq!(
///     s.spec.and_then(|s| s.selector).map(|l| l["app"].clone()).as_deref(),
///     Some("web")
/// );
///
/// let err = service_for(&d).name("web").port(80, "https").build().unwrap_err();
/// assert_eq!(err.field, "spec.ports[0].targetPort");
/// assert_eq!(err.value, "https");
/// # Ok::<(), kubekit::builders::ValidationError>(())
/// ```
#[bon::builder(finish_fn = build, on(String, into))]
pub fn service_for<T: ServiceTarget>(
    #[builder(start_fn)] target: &T,
    #[builder(field)] labels: BTreeMap<String, String>,
    #[builder(field)] annotations: BTreeMap<String, String>,
    #[builder(field)] extra_ports: Vec<ServicePort>,
    /// The Service's name, a DNS-1035 label (it starts with a letter).
    name: String,
    /// The first port; see [`port`](ServiceForBuilder::port).
    #[builder(setters(vis = "", name = port_internal))]
    port: ServicePort,
    /// How the Service is exposed (`type`, Kubernetes' default: `ClusterIP`).
    service_type: Option<ServiceType>,
) -> Result<core::Service, ValidationError> {
    let ctx = Ctx {
        kind: "Service",
        name: &name,
    };
    let target_name = target.metadata().name.as_deref().unwrap_or("");
    let target_desc = format!("{} \"{target_name}\"", target.kind());
    let selector = target.selector_labels().map_err(|why| {
        ctx.err(
            "spec.selector",
            "",
            format!("cannot be derived: {target_desc} {why}"),
        )
    })?;
    let ports: Vec<ServicePort> = std::iter::once(port).chain(extra_ports).collect();
    check_target_ports(ctx, target, &target_desc, &ports)?;
    let service = service_object(
        name.clone(),
        target.metadata().namespace.clone(),
        labels,
        annotations,
        selector,
        ports.into_iter().map(core::ServicePort::from).collect(),
        service_type,
    );
    service.validate()?;
    Ok(service)
}

/// Checks that every named target port of `ports` is a container port of `target`, with the
/// same protocol.
pub(crate) fn check_target_ports<T: ServiceTarget>(
    ctx: Ctx<'_>,
    target: &T,
    target_desc: &str,
    ports: &[ServicePort],
) -> Result<(), ValidationError> {
    for (i, port) in ports.iter().enumerate() {
        let PortRef::Name(wanted) = &port.target else {
            continue;
        };
        let container_ports = target
            .pod_spec()
            .map(|spec| spec.containers.as_slice())
            .unwrap_or_default()
            .iter()
            .flat_map(|c| c.ports.iter().flatten());
        let mut known = Vec::new();
        let mut found = None;
        for cp in container_ports {
            if let Some(name) = &cp.name {
                if name == wanted && found.is_none() {
                    found = Some(cp);
                }
                known.push(name.as_str());
            }
        }
        let Some(found) = found else {
            let known = if known.is_empty() {
                "it has no named ports".to_string()
            } else {
                format!("its named ports are: {}", known.join(", "))
            };
            return Err(ctx.err(
                format!("spec.ports[{i}].targetPort"),
                wanted,
                format!("does not name a container port of {target_desc} ({known})"),
            ));
        };
        let wanted_protocol = port.protocol.unwrap_or_default().as_str();
        let found_protocol = found.protocol.as_deref().unwrap_or("TCP");
        if wanted_protocol != found_protocol {
            return Err(ctx.err(
                format!("spec.ports[{i}].protocol"),
                wanted_protocol,
                format!(
                    "does not match the protocol {found_protocol} of container port \"{wanted}\" \
                     of {target_desc}"
                ),
            ));
        }
    }
    Ok(())
}

impl<'a, T: ServiceTarget, S: service_for_builder::State> ServiceForBuilder<'a, T, S> {
    metadata_setters!(@methods "Service");
}
port_setters! { impl ['a, T: ServiceTarget,] ServiceForBuilder ['a, T,] state service_for_builder }

/// Starts a [`service_for`] builder for a Deployment.
///
/// ```
/// use kubekit::builders::{container, deployment, pod_template, service_for_deployment};
///
/// let d = deployment()
///     .name("web")
///     .template(pod_template().container(container().name("web").image("nginx").build()?).build())
///     .build()?;
/// let s = service_for_deployment(&d).name("web").port(80, 80).build()?;
/// # Ok::<(), kubekit::builders::ValidationError>(())
/// ```
pub fn service_for_deployment(
    deployment: &apps::Deployment,
) -> ServiceForBuilder<'_, apps::Deployment> {
    service_for(deployment)
}

/// Starts a [`service_for`] builder for a Pod (which must have labels).
///
/// ```
/// use kubekit::builders::{container, pod, service_for_pod, ContainerPort};
///
/// let p = pod()
///     .name("web")
///     .label("app", "web")
///     .container(container().name("web").image("nginx").port(ContainerPort::http(80)).build()?)
///     .build()?;
/// let s = service_for_pod(&p).name("web").port(8080, "http").build()?;
/// # Ok::<(), kubekit::builders::ValidationError>(())
/// ```
pub fn service_for_pod(pod: &core::Pod) -> ServiceForBuilder<'_, core::Pod> {
    service_for(pod)
}
